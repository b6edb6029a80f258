"""Site selection on points: options, plans, before/after coverage, outputs, trade-off curves."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from netplan.config import Scenario, scenario_from_dict
from netplan.errors import ConfigError, InfeasibleError, InputError
from netplan.locate import objective_from_limit, plan_from_points, plan_options
from netplan.locate.tradeoff import frontier_from_points


@pytest.fixture
def scenario() -> Scenario:
    return scenario_from_dict(
        {
            "scenario": {"name": "plan-test"},
            "tiers": {
                "hub": {"radius_km": 150, "fixed_cost": 1000, "capacity": 400},
                "station": {
                    "radius_km": 30,
                    "parent": "hub",
                    "support_radius_km": 250,
                    "fixed_cost": 100,
                    "capacity": 60,
                    "grade_radius_km": {"A": 20},
                },
            },
            "plan": {"coverage_target": 0.6},
        },
        source="plan-test.toml",
    )


@pytest.fixture
def demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(5)
    centres = np.array([[110.0, 30.0], [111.5, 30.4], [113.5, 31.0], [118.0, 25.0]])
    which = rng.integers(0, 4, size=160)
    lon = centres[which, 0] + rng.normal(0, 0.15, size=160)
    lat = centres[which, 1] + rng.normal(0, 0.15, size=160)
    grade = np.where(which == 0, "A", "B")
    return gpd.GeoDataFrame(
        {
            "id": [f"D{k:03d}" for k in range(160)],
            "weight": rng.integers(1, 5, size=160).astype(float),
            "grade": grade,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    rows = [
        ("H1", 110.2, 30.1, "hub", "existing"),
        ("H2", 113.3, 30.9, "hub", "candidate"),
        ("S1", 110.0, 30.0, "station", "candidate"),
        ("S2", 111.5, 30.4, "station", "candidate"),
        ("S3", 113.5, 31.0, "station", "candidate"),
        ("S4", 118.0, 25.0, "station", "candidate"),  # no hub within 250 km: never supported
        ("S5", 111.4, 30.3, "station", "closed"),
        ("C1", 110.1, 30.0, None, "competitor"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", "tier", "status"])
    tiers = {"hub": (1000.0, 400.0), "station": (100.0, 60.0)}
    frame["fixed_cost"] = [tiers[t][0] if isinstance(t, str) else np.nan for t in frame["tier"]]
    frame["capacity"] = [tiers[t][1] if isinstance(t, str) else np.nan for t in frame["tier"]]
    frame["name"] = [f"site {i}" for i in frame["id"]]
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame.lon, frame.lat),
        crs="EPSG:4326",
    )


def test_tiered_plan_meets_target_at_least_cost(demand, sites, scenario) -> None:
    plan = plan_from_points(demand, sites, scenario, gap=0.0)
    summary = plan.summary()
    assert summary["status"] == "optimal"
    assert summary["options"]["coverage_target"] == 0.6
    decisions = dict(zip(plan.sites["id"], plan.sites["decision"], strict=True))
    assert decisions["H1"] == "kept"
    assert decisions["S4"] == "not_selected" and decisions["S5"] == "not_selected"
    assert decisions["C1"] == "not_selected"
    assert summary["after"]["weighted_coverage_rate"] >= 0.6 - 1e-9
    assert summary["before"]["weighted_coverage_rate"] < summary["after"]["weighted_coverage_rate"]
    assert summary["coverage_target_met"] is True
    opened = plan.sites[plan.sites["decision"] == "opened"]
    assert summary["objective"] == pytest.approx(opened["fixed_cost"].sum())
    assert summary["net_cost_change"] == pytest.approx(opened["fixed_cost"].sum())
    assert sum(summary["n_open_by_tier"].values()) == summary["n_open"]
    for key in (
        "best_bound",
        "gap",
        "build_seconds",
        "solve_seconds",
        "total_fixed_cost",
        "before",
        "after",
    ):
        assert key in summary
    # every demand row assigned to an open site
    open_ids = set(plan.open_sites["id"])
    assert set(plan.assignment["site_id"]) <= open_ids
    load = plan.assignment.groupby("site_id")["weight"].sum()
    assigned = plan.sites.set_index("id")["assigned_weight"]
    assert load.to_dict() == pytest.approx(assigned[assigned > 0].to_dict())


def test_budget_maximises_coverage_and_reports_the_target(demand, sites, scenario) -> None:
    plan = plan_from_points(demand, sites, scenario, budget=150.0, gap=0.0)
    summary = plan.summary()
    assert summary["details"]["objective_kind"] == "max_coverage"
    assert summary["net_cost_change"] <= 150.0
    assert summary["objective"] == pytest.approx(summary["after"]["covered_weight"])
    assert summary["coverage_target_met"] in (True, False)


def test_allow_close_with_budget_can_fund_openings(demand, sites, scenario) -> None:
    kept = plan_from_points(demand, sites, scenario, budget=0.0, gap=0.0)
    assert set(kept.sites.loc[kept.sites["decision"] == "opened", "id"]) == set()
    freed = plan_from_points(demand, sites, scenario, budget=0.0, allow_close=True, gap=0.0)
    assert freed.summary()["net_cost_change"] <= 1e-9


def test_outputs_are_written_and_stable(demand, sites, scenario, tmp_path: Path) -> None:
    plan = plan_from_points(demand, sites, scenario)
    first = plan.to_files(tmp_path / "a")
    again = plan_from_points(demand, sites, scenario).to_files(tmp_path / "b")
    for name in ("plan", "plan_geojson", "assignment"):
        assert first[name].read_bytes() == again[name].read_bytes()
    table = pd.read_csv(first["plan"])
    assert list(table.columns[:5]) == ["id", "name", "tier", "status_before", "decision"]
    assert set(table["decision"]) <= {"kept", "opened", "closed", "not_selected"}
    assignment = pd.read_csv(first["assignment"])
    assert list(assignment.columns[:3]) == ["demand_id", "site_id", "distance"]
    summary = json.loads(first["summary"].read_text(encoding="utf-8"))
    assert summary["status"] in ("optimal", "feasible")
    assert "weighted_coverage_rate" in summary["after"]


def test_p_median_objective_is_the_assignment_sum(demand, sites, scenario, tmp_path: Path) -> None:
    plan = plan_from_points(demand, sites, scenario, model="p-median", p=3, gap=0.0)
    assignment = plan.assignment
    assert len(assignment) == len(demand)
    assert plan.objective == pytest.approx(
        float((assignment["weight"] * assignment["distance"]).sum())
    )
    assert len(plan.open_sites) == 3


def test_other_models_run_on_points(demand, sites, scenario) -> None:
    cover = plan_from_points(demand, sites, scenario, model="set-cover", gap=0.0)
    assert cover.summary()["after"]["weighted_coverage_rate"] >= 0.6 - 1e-9
    best = plan_from_points(demand, sites, scenario, model="max-cover", p=3, gap=0.0)
    assert len(best.open_sites) <= 3
    assert best.objective == pytest.approx(best.summary()["after"]["covered_weight"])
    options = replace(plan_options(scenario), model="capacitated", cost_per_km=0.5)
    flows = plan_from_points(demand, sites, scenario, options=options, gap=0.0)
    assert "share" in flows.assignment.columns
    used = flows.sites.dropna(subset=["capacity"])
    assert (used["assigned_weight"] <= used["capacity"] + 1e-6).all()


def test_unreachable_target_is_infeasible_with_a_diagnosis(demand, sites, scenario) -> None:
    with pytest.raises(InfeasibleError, match=r"cannot be met.*no candidate reaches: D") as caught:
        plan_from_points(demand, sites, scenario, coverage_target=1.0)
    diagnosis = caught.value.diagnosis
    assert 0 < diagnosis["best_weighted_coverage_rate"] < 1
    assert diagnosis["unreached_demand_ids"]


def test_aggregation_reports_displacement_and_raw_coverage(demand, sites, scenario) -> None:
    plan = plan_from_points(demand, sites, scenario, aggregate="h3:5")
    details = plan.summary()["details"]
    assert details["aggregation"] == "h3:5"
    assert details["aggregation_n_cells"] < len(demand)
    assert details["aggregation_max_displacement_km"] > 0
    assert plan.summary()["after"]["n_demand"] == len(demand)


@pytest.mark.parametrize(
    ("plan", "match"),
    [
        ({"colour": 1}, r"`plan.colour`: unknown key"),
        ({"coverage_target": 1.5}, r"`plan.coverage_target`: must be a share"),
        ({"budget": "lots"}, r"`plan.budget`: must be a number"),
        ({"tier_counts": {"castle": 2}}, r"`plan.tier_counts.castle`: unknown tier"),
        ({"grade_min_tier": {"A": "castle"}}, r"`plan.grade_min_tier.A`: unknown tier"),
        ({"model": "magic"}, r"`plan.model`: must be one of"),
        ({"aggregate": "h3:99"}, r"resolution must be 0 to 15"),
        ({"allow_close": "yes"}, r"`plan.allow_close`: must be true or false"),
    ],
)
def test_plan_keys_are_validated(scenario, plan, match) -> None:
    bad = replace(scenario, plan=plan)
    with pytest.raises(ConfigError, match=match):
        plan_options(bad)


def test_p_median_needs_p(demand, sites, scenario) -> None:
    with pytest.raises(InputError, match="p-median needs `p`"):
        plan_from_points(demand, sites, scenario, model="p-median")


def test_frontier_by_budget_and_sites(demand, sites, scenario, tmp_path: Path) -> None:
    curve = frontier_from_points(
        demand, sites, scenario, by="budget", values=[0, 100, 200, 1200], gap=0.0
    )
    rates = curve.table["weighted_coverage_rate"].to_numpy()
    assert (np.diff(rates) >= -1e-9).all()
    assert curve.details["n_reused"] >= 1
    paths = curve.to_files(tmp_path)
    svg = paths["chart"].read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "polyline" in svg
    assert pd.read_csv(paths["frontier"])["limit"].tolist() == [0, 100, 200, 1200]
    by_sites = frontier_from_points(
        demand, sites, scenario, by="sites", tier="station", n_steps=3, gap=0.0
    )
    assert by_sites.table["n_open_station"].max() <= 3
    with pytest.raises(InputError, match="unknown frontier axis"):
        frontier_from_points(demand, sites, scenario, by="colour")


def test_one_limit_alone_chooses_the_objective(scenario) -> None:
    base = plan_options(scenario, budget=500.0, coverage_target=0.9)
    # A target alone: what does it cost? The scenario's budget no longer caps it.
    target = objective_from_limit(base, budget=None, coverage_target=0.9)
    assert (target.objective, target.budget) == ("min_cost", None)
    # A budget alone: what does it buy?
    bought = objective_from_limit(base, budget=500.0, coverage_target=None)
    assert (bought.objective, bought.budget) == ("max_coverage", 500.0)
    # Both or neither: the options stand as given.
    assert objective_from_limit(base, budget=500.0, coverage_target=0.9) == base
    assert objective_from_limit(base, budget=None, coverage_target=None) == base
    # Only the tiered model has an objective to choose.
    p_median = replace(base, model="p-median")
    assert objective_from_limit(p_median, budget=None, coverage_target=0.9) == p_median


def test_plan_sites_are_named_by_province_and_city_last(demand, sites, scenario) -> None:
    plan = plan_from_points(demand, sites, scenario, gap=0.0)
    assert list(plan.sites.columns[-3:]) == ["province", "city", "geometry"]
    pairs = zip(plan.sites["province"], plan.sites["city"], strict=True)
    places = dict(zip(plan.sites["id"], pairs, strict=True))
    assert places["H1"] == ("湖北省", "恩施土家族苗族自治州")  # 110.2, 30.1
    assert places["S4"] == ("福建省", "泉州市")  # 118.0, 25.0
