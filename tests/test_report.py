"""The executive report: HTML sections and escaping, XLSX sheets, comparison, CLI."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import scenario_from_dict
from netplan.coverage import coverage_from_points
from netplan.errors import InputError
from netplan.locate import plan_from_points
from netplan.report import (
    compare_outputs,
    distance_curve,
    read_coverage_outputs,
    read_plan_outputs,
    read_scores,
    report_html,
    report_xlsx,
)
from netplan.scoring import score_sites

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "</td><script>alert(2)</script>"

SCENARIO = {
    "scenario": {"name": "tiny <b>scenario</b>"},
    "tiers": {
        "hub": {"label": HOSTILE, "label_zh": "区域<中心>", "radius_km": 120, "fixed_cost": 1000},
        "station": {"label": "Station", "label_zh": "服务站", "radius_km": 40, "fixed_cost": 100},
    },
    "plan": {"budget": 400},
}


def _demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    n = 60
    lon = np.concatenate([rng.normal(0.0, 0.2, 30), rng.normal(3.0, 0.2, 30)])
    lat = rng.normal(0.0, 0.2, n)
    ids = [f"d{i}" for i in range(n)]
    ids[0] = HOSTILE
    return gpd.GeoDataFrame(
        {"id": ids, "weight": rng.uniform(1.0, 3.0, n)},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["H1", "S1", "S2", HOSTILE_SCRIPT],
            "name": [HOSTILE, "Station one", "站二", "x"],
            "tier": ["hub", "station", "station", "station"],
            "status": ["existing", "candidate", "candidate", "candidate"],
            "fixed_cost": [1000.0, 100.0, 100.0, 300.0],
            "capacity": [np.inf] * 4,
        },
        geometry=gpd.points_from_xy([0.0, 3.0, 3.1, 1.5], [0.0, 0.0, 0.1, 0.0]),
        crs=4326,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    scenario = scenario_from_dict(SCENARIO, source="tiny.toml")
    base = tmp_path_factory.mktemp("outputs")
    demand, sites = _demand(), _sites()
    coverage_from_points(demand, sites, scenario).to_files(base / "coverage")
    plan_from_points(demand, sites, scenario).to_files(base / "plan")
    score_sites(demand, sites, scenario).to_files(base / "scores")
    return {"coverage": base / "coverage", "plan": base / "plan", "scores": base / "scores"}


@pytest.fixture(scope="module")
def loaded(outputs: dict[str, Path]) -> dict[str, object]:
    return {
        "coverage": read_coverage_outputs(outputs["coverage"]),
        "plan": read_plan_outputs(outputs["plan"]),
        "scores": read_scores(outputs["scores"]),
        "scenario": scenario_from_dict(SCENARIO, source="tiny.toml"),
    }


class Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tags: list[str] = []
        self.scripts = 0
        self.images = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(str(dict(attrs).get("id")))
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.images += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> Sections:
    parser = Sections()
    parser.feed(html)
    return parser


def test_html_has_every_section_and_no_external_resource(loaded: dict[str, object]) -> None:
    html = report_html(**loaded, lang="en", map_href="map.html")
    parsed = _parse(html)
    assert parsed.sections == [
        "headline",
        "kpis",
        "sites-by-tier",
        "staffing",
        "changes",
        "blindspots",
        "distance-curve",
        "scores",
        "map",
    ]
    assert parsed.scripts == 0 and parsed.images == 0
    assert not re.search(r"(src|href)=\"https?:", html)
    assert "<svg" in html and "<polyline" in html  # the distance curve, inline
    assert html.count("<polyline") == 2  # today and the plan
    text = "".join(parsed.text)
    assert "The plan moves weighted coverage from" in text
    assert "opened" in text


def test_user_strings_are_escaped(loaded: dict[str, object]) -> None:
    for lang in ("en", "zh"):
        html = report_html(**loaded, lang=lang, title=HOSTILE)
        assert HOSTILE not in html
        assert "<script>" not in html
        assert "<b>scenario</b>" not in html
        parsed = _parse(html)
        assert parsed.scripts == 0 and parsed.images == 0
        text = "".join(parsed.text)
        assert HOSTILE in text  # shown as text
        assert "tiny <b>scenario</b>" in text


def test_chinese_report(loaded: dict[str, object]) -> None:
    html = report_html(**loaded, lang="zh")
    assert 'lang="zh"' in html
    for word in (
        "核心结论",
        "关键指标",
        "各类型网点",
        "主要服务盲区",
        "候选网点评分排名",
        "服务站",
    ):
        assert word in html
    assert "区域&lt;中心&gt;" in html


def test_report_is_byte_identical(loaded: dict[str, object], tmp_path: Path) -> None:
    assert report_html(**loaded) == report_html(**loaded)
    first = report_xlsx(tmp_path / "a.xlsx", **loaded).read_bytes()
    second = report_xlsx(tmp_path / "b.xlsx", **loaded).read_bytes()
    assert first == second


def test_xlsx_sheets_and_rows(loaded: dict[str, object], tmp_path: Path) -> None:
    path = report_xlsx(tmp_path / "report.xlsx", **loaded)
    book = openpyxl.load_workbook(path)
    # A plan carries staffing: the workbook adds its Response sheet (today vs plan).
    assert book.sheetnames == [
        "Summary",
        "Sites",
        "Scores",
        "Blind spots",
        "Assignment",
        "Response",
    ]
    plan = loaded["plan"]
    assert isinstance(plan, object)
    assert book["Sites"].max_row == 1 + len(plan.sites)  # type: ignore[attr-defined]
    assert book["Scores"].max_row == 1 + len(loaded["scores"])  # type: ignore[arg-type]
    assert book["Assignment"].max_row == 1 + len(plan.assignment)  # type: ignore[attr-defined]
    zones = loaded["coverage"].blindspots  # type: ignore[attr-defined]
    assert book["Blind spots"].max_row == 1 + len(zones)
    header = [c.value for c in book["Sites"][1]]
    assert header[:4] == ["id", "name", "tier", "status_before"]
    ids = [row[0] for row in book["Sites"].iter_rows(min_row=2, values_only=True)]
    assert HOSTILE_SCRIPT in ids  # stored as the text it is
    summary = [row for row in book["Summary"].iter_rows(values_only=True)]
    assert any(row[0] == "Weighted coverage" for row in summary)


def test_compare_plan_against_coverage(outputs: dict[str, Path]) -> None:
    comparison = compare_outputs(outputs["coverage"], outputs["plan"])
    coverage = json.loads((outputs["coverage"] / "summary.json").read_text())
    plan = json.loads((outputs["plan"] / "summary.json").read_text())
    entry = comparison.kpis["weighted_coverage_rate"]
    assert entry["a"] == coverage["weighted_coverage_rate"]
    assert entry["b"] == plan["after"]["weighted_coverage_rate"]
    assert entry["delta"] == pytest.approx(entry["b"] - entry["a"])
    points = pd.read_csv(outputs["coverage"] / "coverage.csv", dtype={"id": str})
    assignment = pd.read_csv(outputs["plan"] / "assignment.csv", dtype={"demand_id": str})
    before = set(points.loc[points["covered"], "id"])
    after = set(assignment["demand_id"])
    assert comparison.newly_covered == sorted(after - before)
    assert comparison.newly_uncovered == sorted(before - after)
    weights = points.set_index("id")["weight"]
    assert comparison.newly_covered_weight == pytest.approx(weights[sorted(after - before)].sum())


def test_compare_two_plans_lists_sites(outputs: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "plan_b"
    other.mkdir()
    for name in ("summary.json", "assignment.csv"):
        (other / name).write_bytes((outputs["plan"] / name).read_bytes())
    table = pd.read_csv(outputs["plan"] / "plan.csv", dtype={"id": str})
    opened = table["decision"] == "opened"
    assert opened.any()
    table.loc[opened, "decision"] = "not_selected"
    table.to_csv(other / "plan.csv", index=False)
    comparison = compare_outputs(outputs["plan"], other)
    removed = sorted(table.loc[opened, "id"])
    tiers = {t: e for t, e in comparison.sites_by_tier.items() if e.get("removed")}
    assert sorted(site for e in tiers.values() for site in e["removed"]) == removed
    assert all(not e["added"] for e in comparison.sites_by_tier.values())


def test_distance_curve_by_hand() -> None:
    grid = np.array([0.0, 1.0, 2.0, 10.0])
    curve = distance_curve(np.array([0.5, 1.0, 3.0, np.inf]), np.array([1.0, 1.0, 1.0, 1.0]), grid)
    assert curve.tolist() == [0.0, 0.5, 0.5, 0.75]


def test_missing_folders_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="coverage folder not found"):
        read_coverage_outputs(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="summary file not found"):
        read_plan_outputs(tmp_path / "empty")
    with pytest.raises(InputError, match="scores table not found"):
        read_scores(tmp_path / "empty")


def test_cli_report_and_compare(outputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    xlsx = tmp_path / "report.xlsx"
    args = [
        "report",
        "--coverage", str(outputs["coverage"]),
        "--plan", str(outputs["plan"]),
        "--scores", str(outputs["scores"]),
        "--compare", str(outputs["coverage"]),
        "--out", str(out),
        "--xlsx", str(xlsx),
        "--lang", "zh",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'id="comparison"' in html and "方案对比" in html
    assert openpyxl.load_workbook(xlsx).sheetnames[0] == "Summary"
    compare_json = tmp_path / "compare.json"
    result = CliRunner().invoke(
        app,
        ["compare", str(outputs["coverage"]), str(outputs["plan"]), "--json", str(compare_json)],
    )
    assert result.exit_code == 0, result.output
    assert "Weighted coverage" in result.output
    data = json.loads(compare_json.read_text())
    assert data["n_newly_covered"] >= 0 and "kpis" in data
    bad = CliRunner().invoke(app, ["report", "--out", str(out)])
    assert bad.exit_code == 2


def test_report_from_library_results(tmp_path: Path) -> None:
    """The report takes CoverageResult and Plan objects as well as folders read back."""
    scenario = scenario_from_dict(SCENARIO, source="tiny.toml")
    demand, sites = _demand(), _sites()
    coverage = coverage_from_points(demand, sites, scenario)
    plan = plan_from_points(demand, sites, scenario)
    scores = score_sites(demand, sites, scenario).scores
    html = report_html(coverage=coverage, plan=plan, scores=scores, scenario=scenario)
    assert 'id="changes"' in html and html.count("<polyline") == 2
    assert HOSTILE not in html
    path = report_xlsx(tmp_path / "r.xlsx", coverage=coverage, plan=plan, scores=scores)
    book = openpyxl.load_workbook(path)
    assert book["Sites"].max_row == 1 + len(plan.sites)
    assert book["Assignment"].max_row == 1 + len(plan.assignment)


def test_plan_coverage_matches_the_plans_after_and_fills_blind_spots(
    loaded: dict[str, object],
) -> None:
    plan = loaded["plan"]
    after = plan.coverage  # type: ignore[attr-defined]  # computed with the plan
    assert after is not None
    summary = after.summary()
    plan_after = plan.summary()["after"]  # type: ignore[attr-defined]
    for key in ("weighted_coverage_rate", "coverage_rate", "n_covered", "uncovered_weight"):
        assert summary[key] == pytest.approx(plan_after[key]), key
    assert summary["blindspot_weight"] == pytest.approx(summary["uncovered_weight"])
    html = report_html(**loaded)
    parsed = _parse(html)
    assert parsed.tags.count("h3") == 2  # blind spots today and with the plan
    # The key-figure row for blind spots now has a value for the plan too.
    row = re.search(
        r"<td>Blind spots</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)", html
    )
    assert row is not None and row.group(2) == f"{summary['n_blindspots']:,}"


def test_pdf_without_chromium_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import netplan.report

    monkeypatch.setattr(netplan.report, "find_chromium", lambda: None)
    page = tmp_path / "r.html"
    page.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(InputError, match="apt-get install chromium"):
        netplan.report.report_pdf(page, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_xlsx_never_writes_formulas(tmp_path: Path) -> None:
    scores = pd.DataFrame(
        {
            "site_id": ["=1+1", "S2"],
            "tier": ["station", "station"],
            "total_score": [50.0, 40.0],
            "rank": [1, 2],
            "name": ['=HYPERLINK("http://x","click")', "@SUM(A1)"],
        }
    )
    path = report_xlsx(tmp_path / "f.xlsx", scores=scores)
    sheet = openpyxl.load_workbook(path)["Scores"]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert sheet["E2"].value.startswith("=HYPERLINK") and sheet["E2"].data_type == "s"
