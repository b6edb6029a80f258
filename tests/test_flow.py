"""One flow, one reach matrix: outputs render what locate computed, with one distance model."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import netplan.reach
import netplan.report
from netplan.config import scenario_from_dict
from netplan.coverage import coverage_from_points
from netplan.demo import run_demo
from netplan.locate import plan_from_points
from netplan.reach import great_circle_km
from netplan.report import read_plan_outputs, report_context

SCENARIO: dict[str, Any] = {
    "scenario": {"name": "flow", "distance_model": "road_estimate", "detour_factor": 1.4},
    "tiers": {
        "hub": {"label": "Hub", "radius_km": 150, "fixed_cost": 1000},
        "station": {"label": "Station", "radius_km": 50, "fixed_cost": 100},
    },
    "plan": {"budget": 300},
}


def _demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    lon = np.concatenate([rng.normal(0.0, 0.3, 40), rng.normal(3.0, 0.3, 40)])
    lat = rng.normal(0.0, 0.3, 80)
    return gpd.GeoDataFrame(
        {"id": [f"d{i}" for i in range(80)], "weight": rng.uniform(1.0, 3.0, 80)},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["H1", "S1", "S2", "S3"],
            "tier": ["hub", "station", "station", "station"],
            "status": ["existing", "candidate", "candidate", "candidate"],
            "fixed_cost": [1000.0, 100.0, 100.0, 100.0],
            "capacity": [np.inf] * 4,
        },
        geometry=gpd.points_from_xy([0.0, 3.0, 3.2, 1.5], [0.0, 0.0, 0.2, 0.0]),
        crs=4326,
    )


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count reach-matrix builds (every build goes through ``reach_from_arrays``)."""
    calls: list[int] = []
    original = netplan.reach.reach_from_arrays

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(netplan.reach, "reach_from_arrays", counted)
    return calls


def _small_samples(repo_root: Path, folder: Path) -> Path:
    """Write a small copy of the national sample (every site, part of the demand)."""
    source = repo_root / "data" / "samples" / "national"
    if not (source / "scenario.toml").exists():
        pytest.skip("data/samples/national is not generated yet (make samples)")
    target = folder / "national"
    target.mkdir(parents=True)
    shutil.copy(source / "scenario.toml", target / "scenario.toml")
    shutil.copy(source / "sites.csv", target / "sites.csv")
    for name, rows in (("installed_base.csv", 800), ("customers.csv", 200)):
        lines = (source / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (target / name).write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return folder


def test_run_demo_builds_the_reach_matrix_at_most_twice(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = _small_samples(repo_root, tmp_path / "samples")
    calls = _count_builds(monkeypatch)
    result = run_demo(tmp_path / "out", samples=samples, time_limit=5)
    # The installed base against every site (coverage, plan, scores) and the customers.
    assert len(calls) <= 2
    assert result.plan is not None and result.plan.coverage is not None
    assert (tmp_path / "out" / "plan" / "coverage" / "coverage.csv").is_file()


def test_a_plan_computes_its_coverage_from_the_matrix_it_was_solved_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = scenario_from_dict(SCENARIO, source="flow.toml")
    demand, sites = _demand(), _sites()
    calls = _count_builds(monkeypatch)
    plan = plan_from_points(demand, sites, scenario)
    assert len(calls) == 1  # before, after and the plan's coverage reuse the solve's matrix
    assert plan.coverage is not None
    assert plan.coverage.summary(zones=False) == plan.after
    # The same figures as an independent coverage run of the planned network.
    network = sites.copy()
    network["status"] = np.where(
        plan.sites["decision"].isin(["kept", "opened"]), "existing", "candidate"
    )
    fresh = coverage_from_points(demand, network, scenario)
    pd.testing.assert_frame_equal(
        pd.DataFrame(plan.coverage.points.drop(columns="geometry")),
        pd.DataFrame(fresh.points.drop(columns="geometry")),
    )
    assert len(plan.coverage.blindspots) == len(fresh.blindspots)


def test_report_distances_come_from_the_scenarios_distance_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scenario = scenario_from_dict(SCENARIO, source="flow.toml")
    demand, sites = _demand(), _sites()
    coverage = coverage_from_points(demand, sites, scenario)
    plan = plan_from_points(demand, sites, scenario)
    assert plan.coverage is not None
    curves: list[np.ndarray] = []
    original = netplan.report.distance_curve

    def recorded(distance_km: Any, weight: Any, grid_km: Any) -> Any:
        curves.append(np.asarray(distance_km, dtype=float))
        return original(distance_km, weight, grid_km)

    monkeypatch.setattr(netplan.report, "distance_curve", recorded)
    plan.to_files(tmp_path / "plan")
    for source in (plan, read_plan_outputs(tmp_path / "plan")):
        curves.clear()
        report_context(coverage=coverage, plan=source, scenario=scenario)
        assert len(curves) == 2  # today, with the plan
        today, after = curves
        np.testing.assert_allclose(today, coverage.points["distance_km"].to_numpy(float))
        np.testing.assert_allclose(after, plan.coverage.points["distance_km"].to_numpy(float))
    # Road km: great-circle km to the nearest open site times the detour factor.
    open_sites = plan.open_sites
    lon, lat = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    nearest = np.min(
        [
            great_circle_km(lon, lat, np.full_like(lon, x), np.full_like(lat, y))
            for x, y in zip(open_sites.geometry.x, open_sites.geometry.y, strict=True)
        ],
        axis=0,
    )
    np.testing.assert_allclose(after, 1.4 * nearest, rtol=1e-9)


def test_a_matrix_plans_coverage_uses_the_matrix_costs() -> None:
    scenario = scenario_from_dict(
        {**SCENARIO, "scenario": {"name": "flow", "distance_model": "matrix"}}, source="flow.toml"
    )
    demand, sites = _demand(), _sites()
    lon, lat = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    rows = []
    for site, x, y in zip(sites["id"], sites.geometry.x, sites.geometry.y, strict=True):
        km = great_circle_km(lon, lat, np.full_like(lon, x), np.full_like(lat, y))
        rows.append(pd.DataFrame({"demand_id": demand["id"], "site_id": site, "cost": 2.0 * km}))
    matrix = pd.concat(rows, ignore_index=True)
    plan = plan_from_points(demand, sites, scenario, matrix=matrix)
    assert plan.coverage is not None
    is_open = plan.sites["decision"].isin(["kept", "opened"]).to_numpy()
    costs = matrix.pivot(index="demand_id", columns="site_id", values="cost")
    expected = costs.loc[demand["id"], sites["id"][is_open]].min(axis=1).to_numpy()
    np.testing.assert_allclose(plan.coverage.points["distance_km"].to_numpy(float), expected)


def test_results_read_back_next_to_their_writers(tmp_path: Path) -> None:
    from netplan.coverage import CoverageResult
    from netplan.locate import Plan
    from netplan.results import CoverageTables, PlanOutputs
    from netplan.scale import LargeCoverageResult

    assert issubclass(CoverageResult, CoverageTables)
    assert issubclass(LargeCoverageResult, CoverageTables)
    scenario = scenario_from_dict(SCENARIO, source="flow.toml")
    demand, sites = _demand(), _sites()
    coverage = coverage_from_points(demand, sites, scenario)
    coverage.to_files(tmp_path / "coverage")
    back = CoverageResult.from_files(tmp_path / "coverage")
    assert back.summary() == coverage.summary()
    assert list(back.points["id"]) == list(coverage.points["id"])
    assert len(back.blindspots) == len(coverage.blindspots)
    plan = plan_from_points(demand, sites, scenario)
    plan.to_files(tmp_path / "plan")
    folder = Plan.from_files(tmp_path / "plan")
    assert isinstance(folder, PlanOutputs)
    assert folder.summary()["after"] == plan.summary()["after"]
    assert folder.coverage is not None and plan.coverage is not None
    assert folder.coverage.summary() == plan.coverage.summary()
    # The files read back write the same bytes again (one writer, one reader).
    folder.coverage.to_files(tmp_path / "again")
    for name in ("summary.json", "blindspots.geojson"):
        assert (tmp_path / "again" / name).read_bytes() == (
            tmp_path / "plan" / "coverage" / name
        ).read_bytes()


def test_a_typo_in_plan_fails_when_the_scenario_loads() -> None:
    from netplan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"`plan.budjet`: unknown key"):
        scenario_from_dict({**SCENARIO, "plan": {"budjet": 300}}, source="flow.toml")
    with pytest.raises(ConfigError, match=r"`plan.tier_counts.castle`: unknown tier"):
        scenario_from_dict({**SCENARIO, "plan": {"tier_counts": {"castle": 1}}}, source="f")
    scenario = scenario_from_dict(SCENARIO, source="flow.toml")
    assert scenario.plan_options.budget == 300.0


def test_plan_options_are_given_one_way() -> None:
    from netplan.errors import InputError
    from netplan.locate import plan_options

    scenario = scenario_from_dict(SCENARIO, source="flow.toml")
    options = plan_options(scenario)
    with pytest.raises(InputError, match="one way: options= or budget=, p="):
        plan_from_points(_demand(), _sites(), scenario, options=options, budget=5.0, p=2)
