"""Rich displays in notebooks: `_repr_html_`, concise `__repr__`, `.map()`, `.explore()`, progress.

Every result class shows the figures of the CLI's tables (the same functions of
:mod:`netplan.display` build both) and escapes hostile names, ids and labels.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from netplan import display
from netplan.config import Scenario, scenario_from_dict
from netplan.coverage import coverage_from_points
from netplan.errors import InputError, MissingExtraError
from netplan.locate import plan_from_points
from netplan.locate.models import max_cover
from netplan.locate.tradeoff import frontier_from_points
from netplan.progress import callback_of, in_notebook, progress_callback, reports_progress
from netplan.report import Comparison
from netplan.results import CoverageTables, read_coverage_outputs
from netplan.scoring import score_sites

HOSTILE = "<script>alert(1)</script>"
HOSTILE_ID = '"><img src=x onerror=alert(2)>'


class _Tags(HTMLParser):
    """Collect the element names of an HTML fragment (a parser, not a regex, decides)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _assert_safe(html: str) -> None:
    assert HOSTILE not in html
    assert HOSTILE_ID not in html
    parsed = _tags(html)
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert not [name for name in parsed.attributes if name.startswith("on")]


def _scenario(name: str = "tiny") -> Scenario:
    return scenario_from_dict(
        {
            "scenario": {"name": name},
            "tiers": {
                "hub": {"label": HOSTILE, "radius_km": 120, "fixed_cost": 1000},
                "station": {"label": "Station", "radius_km": 40, "fixed_cost": 100},
            },
            "plan": {"budget": 150},
        },
        source="tiny.toml",
    )


def _demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    lon = np.concatenate(
        [rng.normal(0.0, 0.2, 30), rng.normal(3.0, 0.2, 30), rng.normal(6, 0.2, 20)]
    )
    return gpd.GeoDataFrame(
        {
            "id": [f"d{i}" for i in range(80)],
            "weight": np.ones(80),
            "province": [HOSTILE if i >= 60 else "Calm" for i in range(80)],
        },
        geometry=gpd.points_from_xy(lon, rng.normal(0.0, 0.2, 80)),
        crs=4326,
    )


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [HOSTILE_ID, "S1", "S2"],
            "name": [HOSTILE, "Station one", "Station two"],
            "tier": ["hub", "station", "station"],
            "status": ["existing", "candidate", "candidate"],
            "fixed_cost": [1000.0, 100.0, 100.0],
            "capacity": [np.inf] * 3,
        },
        geometry=gpd.points_from_xy([0.0, 3.0, 6.0], [0.0, 0.0, 0.0]),
        crs=4326,
    )


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    scenario = _scenario(HOSTILE)
    demand, sites = _demand(), _sites()
    coverage = coverage_from_points(demand, sites, scenario, progress=False)
    plan = plan_from_points(demand, sites, scenario)
    return {
        "scenario": scenario,
        "demand": demand,
        "sites": sites,
        "coverage": coverage,
        "plan": plan,
    }


# --------------------------------------------------------------------------- coverage


def test_coverage_html_shows_the_cli_figures_escaped(results: dict[str, Any]) -> None:
    coverage = results["coverage"]
    html = coverage._repr_html_()
    summary = coverage.summary()
    _assert_safe(html)
    # The headline and tier rows are the CLI's, cell for cell (escaped).
    for what, value in display.coverage_headline(summary):
        assert f"<td>{_escape(what)}</td><td>{_escape(value)}</td>" in html
    for row in display.tier_rows(summary):
        assert "".join(f"<td>{_escape(cell)}</td>" for cell in row) in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the hub label and the province
    assert "Top 5 blind spots" in html
    assert f"{summary['n_blindspots']:,} zones" in html
    # Places by uncovered weight, most first, as computed from the by-region figures.
    level, places = display.top_place_rows(summary)
    assert level == "province"
    provinces = summary["by_region"]["province"]
    expected = sorted(
        provinces, key=lambda p: provinces[p]["covered_weight"] - provinces[p]["weight"]
    )
    assert [row[0] for row in places] == expected == ["Calm", HOSTILE]
    for name, _, uncovered, _ in places:
        gap = provinces[name]["weight"] - provinces[name]["covered_weight"]
        assert float(uncovered.replace(",", "")) == pytest.approx(gap, abs=0.05)


def test_coverage_repr_is_one_line(results: dict[str, Any]) -> None:
    coverage = results["coverage"]
    text = repr(coverage)
    summary = coverage.summary()
    assert "\n" not in text and len(text) < 200
    assert text.startswith("CoverageResult(")
    assert display.percent(summary["weighted_coverage_rate"]) in text
    assert f"points={summary['n_demand']:,}" in text


def test_top_blindspots_are_the_heaviest(results: dict[str, Any]) -> None:
    zones = results["coverage"].blindspots
    rows = display.top_blindspot_rows(zones, top=2)
    heaviest = zones.sort_values("weight", ascending=False).head(2)
    assert [row[0] for row in rows] == [str(z) for z in heaviest["zone_id"]]
    assert display.top_blindspot_rows(zones.iloc[:0]) == []
    placed = zones.assign(city=["C1"] + [None] * (len(zones) - 1), province="P")
    rows = display.top_blindspot_rows(placed.sort_values("weight", ascending=False), top=2)
    assert [row[1] for row in rows] == ["C1, P", "P"]


def test_coverage_read_back_displays_too(results: dict[str, Any], tmp_path: Path) -> None:
    results["coverage"].to_files(tmp_path / "cov")
    back = read_coverage_outputs(tmp_path / "cov")
    assert isinstance(back, CoverageTables)
    _assert_safe(back._repr_html_())
    assert repr(back).startswith("CoverageTables(")


def test_coverage_map_returns_a_folium_map(results: dict[str, Any]) -> None:
    network = results["coverage"].map(
        sites=results["sites"], scenario=results["scenario"], offline=True
    )
    assert isinstance(network, folium.Map)
    page = network.get_root().render()
    assert HOSTILE not in page


# --------------------------------------------------------------------------- plan


def test_plan_html_shows_status_gap_and_before_after(results: dict[str, Any]) -> None:
    plan = results["plan"]
    html = plan._repr_html_()
    _assert_safe(html)
    summary = plan.summary()
    for what, value in display.plan_rows(summary):
        if what != "build / solve":
            assert f"<td>{_escape(what)}</td><td>{_escape(value)}</td>" in html
    assert "<td>status</td><td>optimal</td>" in html
    assert "<td>gap</td>" in html
    for row in display.before_after_rows(summary):
        assert "".join(f"<td>{_escape(cell)}</td>" for cell in row) in html
    text = repr(plan)
    assert "\n" not in text
    assert "status='optimal'" in text
    assert "open=2" in text  # the hub kept and one station opened


def test_plan_map_returns_a_folium_map(results: dict[str, Any]) -> None:
    network = results["plan"].map(scenario=results["scenario"], offline=True)
    assert isinstance(network, folium.Map)
    assert HOSTILE not in network.get_root().render()


def test_plan_read_back_displays(results: dict[str, Any], tmp_path: Path) -> None:
    from netplan.results import read_plan_outputs

    results["plan"].to_files(tmp_path / "plan")
    back = read_plan_outputs(tmp_path / "plan")
    html = back._repr_html_()
    _assert_safe(html)
    assert "<td>status</td><td>optimal</td>" in html
    assert "status='optimal'" in repr(back)
    assert isinstance(back.map(offline=True), folium.Map)


def test_plan_rows_match_the_cli_table(results: dict[str, Any]) -> None:
    from rich.console import Console

    from netplan.cli._render import plan_table

    summary = results["plan"].summary()
    console = Console(width=200, record=True)
    console.print(plan_table(summary))
    text = console.export_text()
    for what, value in display.plan_rows(summary):
        assert what in text and value in text


# --------------------------------------------------------------------------- other results


def test_locate_result_display() -> None:
    cover = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
    import scipy.sparse as sp

    result = max_cover(sp.csr_array(cover), weights=np.ones(3), p=1)
    html = result._repr_html_()
    assert "<td>status</td><td>optimal</td>" in html
    assert "<td>open sites</td><td>1 of 2</td>" in html
    assert repr(result).startswith("LocateResult(model='max-cover', status='optimal'")


def test_frontier_display(results: dict[str, Any]) -> None:
    frontier = frontier_from_points(
        results["demand"], results["sites"], results["scenario"], values=[0, 100, 200]
    )
    html = frontier._repr_html_()
    _assert_safe(html)
    assert html.count("<tr>") == 1 + 3  # header and one row per step
    assert "<svg" in html
    for rate in frontier.table["weighted_coverage_rate"]:
        assert display.percent(rate) in html
    assert repr(frontier).startswith("Frontier(by='budget', tier=None, steps=3")


def test_frontier_reports_progress_per_step(results: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    frontier_from_points(
        results["demand"],
        results["sites"],
        results["scenario"],
        values=[0, 100, 200],
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_score_display_escapes_names_and_reasons(results: dict[str, Any]) -> None:
    sites = results["sites"].copy()
    sites["status"] = "candidate"
    scores = score_sites(results["demand"], sites, results["scenario"])
    html = scores._repr_html_()
    _assert_safe(html)
    assert "&lt;script&gt;" in html  # the hostile site name, escaped
    for factor in scores.factors:
        assert f"<td>{factor}</td>" in html
    assert repr(scores).startswith("ScoreResult(scenario=")


def test_comparison_display() -> None:
    comparison = Comparison(
        a=HOSTILE,
        b="plan",
        kpis={"weighted_coverage_rate": {"a": 0.5, "b": 0.75, "delta": 0.25}},
        sites_by_tier={"hub": {"a": 1, "b": 2, "added": [HOSTILE_ID], "removed": []}},
        newly_covered=["d1", "d2"],
        newly_covered_weight=3.5,
    )
    html = comparison._repr_html_()
    _assert_safe(html)
    assert "<td>weighted_coverage_rate</td><td>50.0%</td><td>75.0%</td><td>25.0%</td>" in html
    assert "newly covered: 2 points (weight 3.5)" in html
    assert repr(comparison) == (
        f"Comparison(a={HOSTILE!r}, b='plan', newly_covered=2, newly_uncovered=0)"
    )


# --------------------------------------------------------------------------- GPU point map


def test_explore_colours_every_point(results: dict[str, Any]) -> None:
    from netplan.notebook import point_colours, points_table

    points = results["coverage"].points
    colours = point_colours(points)
    assert colours.shape == (len(points), 3)
    covered = points["covered"].to_numpy()
    assert (colours[covered] == (26, 152, 80)).all()
    assert (colours[~covered] == (215, 48, 39)).all()
    far = point_colours(points, "distance", max_distance_km=1e-6)
    assert (far == (215, 48, 39)).all()
    table = points_table(points, ("id", "covered"))
    assert table.num_rows == len(points)
    assert table.schema.field("geometry").metadata[b"ARROW:extension:name"] == b"geoarrow.point"
    xy = np.asarray(table.column("geometry").combine_chunks().flatten()).reshape(-1, 2)
    np.testing.assert_array_equal(xy[:, 0], points["lon"].to_numpy())
    with pytest.raises(InputError, match="color_by"):
        point_colours(points, "colour")


def test_explore_draws_all_points_or_names_the_extra(
    results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    coverage = results["coverage"]
    try:
        import lonboard  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match=r"pip install 'netplan\[notebook\]'"):
            coverage.explore()
    else:
        widget = coverage.explore(color_by="distance")
        assert widget.layers[0].table.num_rows == len(coverage.points)
        plan_widget = results["plan"].explore()
        assert len(plan_widget.layers) == 2  # points, then the open sites
    monkeypatch.setitem(__import__("sys").modules, "lonboard", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'netplan\[notebook\]'"):
        coverage.explore()


# --------------------------------------------------------------------------- progress and logging


def test_progress_is_silent_outside_notebooks_unless_asked() -> None:
    assert not in_notebook()
    with progress_callback(None, "x") as update:
        assert update is None
    with progress_callback(False, "x") as update:
        assert update is None
    calls: list[int] = []
    with progress_callback(lambda done, total: calls.append(done), "x") as update:
        assert update is not None
        update(3, 4)
    assert calls == [3]


def test_progress_true_draws_a_bar(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_callback(True, "coverage") as update:
        assert update is not None
        update(5, 10)
        update(10, 10)
    assert "coverage" in capsys.readouterr().err


def test_progress_true_reporting_nothing_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_callback(True, "coverage"):
        pass
    assert capsys.readouterr().err == ""


def test_nested_decorated_calls_open_one_bar() -> None:
    seen: list[Any] = []

    @reports_progress("inner")
    def inner(*, progress: Any = None) -> None:
        seen.append(progress)

    @reports_progress("outer")
    def outer(*, progress: Any = None) -> None:
        inner(progress=progress)

    outer()
    assert seen == [False]  # resolved once: the inner call is told to stay quiet
    assert callback_of(seen[0]) is None


def test_coverage_progress_bar_on_request(
    results: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_from_points(results["demand"], results["sites"], results["scenario"], progress=True)
    assert "coverage" in capsys.readouterr().err
    coverage_from_points(results["demand"], results["sites"], results["scenario"])
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_library_logs_under_the_netplan_logger(
    results: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="netplan"):
        frontier_from_points(results["demand"], results["sites"], results["scenario"], values=[100])
    assert any(record.name.startswith("netplan") for record in caplog.records)


def test_no_print_in_the_library() -> None:
    root = Path(__file__).resolve().parents[1] / "src" / "netplan"
    offenders = []
    for path in root.rglob("*.py"):
        if "cli" in path.relative_to(root).parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            doctest = line.strip().startswith((">>>", "..."))
            if re.search(r"(?<![\w.])print\(", code) and not doctest:
                offenders.append(f"{path.relative_to(root)}:{number}")
    assert not offenders, f"use logging.getLogger('netplan'), not print: {offenders}"


def _escape(value: str) -> str:
    import html

    return html.escape(value, quote=True)


def test_frames_in_rows_are_plain_text() -> None:
    summary = {
        "by_tier": {
            "hub": {
                "label": HOSTILE,
                "n_sites": 1,
                "covered_weight": 1.0,
                "weighted_coverage_rate": 0.5,
                "coverage_rate": None,
            }
        },
    }
    assert display.tier_rows(summary) == [(HOSTILE, "1", "1.00", "50.0%", "-")]
    assert display.number(float("nan")) == "-"


def test_tables_without_figures_still_display() -> None:
    tables = CoverageTables(points=pd.DataFrame({"id": [HOSTILE]}), blindspots=gpd.GeoDataFrame())
    html = tables._repr_html_()
    _assert_safe(html)
    assert "CoverageTables(points=1)" in html
    infeasible = display.plan_rows({"model": "tiered", "status": "infeasible"})
    assert ("status", "infeasible") in infeasible
    assert ("gap", "—") in infeasible
