"""One meaning of budget: every model reads it as the net change in yearly fixed cost.

The instance is small enough to enumerate every plan: the tiered and max-cover
models must both find the best coverage a brute force finds among the plans
whose net change (new sites' cost less the savings from closures) is within
the budget, and both must accept today's network with a budget of 0.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from netplan.config import Scenario, scenario_from_dict
from netplan.errors import InputWarning
from netplan.locate import plan_from_points
from netplan.locate.models import max_cover, net_cost_terms
from netplan.locate.tradeoff import frontier_from_points

RADIUS_KM = {"hub": 120.0, "station": 40.0}
COST = {"hub": 900.0, "station": 250.0}


@pytest.fixture
def scenario() -> Scenario:
    return scenario_from_dict(
        {
            "scenario": {"name": "budget-test"},
            "tiers": {
                "hub": {"radius_km": RADIUS_KM["hub"], "fixed_cost": COST["hub"]},
                "station": {"radius_km": RADIUS_KM["station"], "fixed_cost": COST["station"]},
            },
        },
        source="budget-test.toml",
    )


@pytest.fixture
def demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(14)
    lon = rng.uniform(110.0, 114.0, size=40)
    lat = rng.uniform(28.0, 31.0, size=40)
    return gpd.GeoDataFrame(
        {"id": [f"D{k:02d}" for k in range(40)], "weight": rng.integers(1, 9, size=40) * 1.0},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    rows = [
        ("E1", 110.5, 28.5, "hub", "existing"),
        ("E2", 113.6, 30.6, "station", "existing"),
        ("H1", 112.0, 29.5, "hub", "candidate"),
        ("H2", 113.2, 28.7, "hub", "candidate"),
        ("S1", 110.8, 30.5, "station", "candidate"),
        ("S2", 111.9, 28.4, "station", "candidate"),
        ("S3", 112.8, 30.2, "station", "candidate"),
        ("S4", 113.7, 29.2, "station", "candidate"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", "tier", "status"])
    frame["fixed_cost"] = [COST[t] for t in frame["tier"]]
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame.lon, frame.lat),
        crs="EPSG:4326",
    )


def _haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: float, lat2: float) -> np.ndarray:
    """Great-circle distance on a 6371.0088 km sphere, written out independently."""
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def _brute_force(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    budget: float,
    *,
    allow_close: bool,
    closing_cost: float = 0.0,
) -> float:
    """Return the most weight any plan covers whose net change is within ``budget``."""
    lon, lat = demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()
    weight = demand["weight"].to_numpy()
    reach = np.array(
        [
            _haversine_km(lon, lat, site.geometry.x, site.geometry.y) <= RADIUS_KM[site.tier]
            for site in sites.itertuples()
        ]
    )
    existing = (sites["status"] == "existing").to_numpy()
    cost = sites["fixed_cost"].to_numpy()
    best = -1.0
    for choice in itertools.product([False, True], repeat=len(sites)):
        is_open = np.array(choice)
        if not allow_close and not is_open[existing].all():
            continue
        closed = existing & ~is_open
        net = cost[is_open & ~existing].sum() - (cost[closed] - closing_cost).sum()
        if net > budget + 1e-9:
            continue
        covered = reach[is_open].any(axis=0) if is_open.any() else np.zeros(len(weight), bool)
        best = max(best, float(weight[covered].sum()))
    return best


def _net_change(plan_sites: pd.DataFrame, closing_cost: float = 0.0) -> float:
    opened = plan_sites["decision"] == "opened"
    closed = plan_sites["decision"] == "closed"
    return float(
        plan_sites.loc[opened, "fixed_cost"].sum()
        - (plan_sites.loc[closed, "fixed_cost"] - closing_cost).sum()
    )


@pytest.mark.parametrize(
    ("budget", "allow_close"),
    [(0.0, False), (250.0, False), (700.0, False), (1200.0, False), (0.0, True), (-300.0, True)],
)
def test_max_cover_and_tiered_read_the_budget_as_the_net_change(
    demand, sites, scenario, budget: float, allow_close: bool
) -> None:
    best = _brute_force(demand, sites, budget, allow_close=allow_close)
    for model in ("tiered", "max-cover"):
        plan = plan_from_points(
            demand, sites, scenario, model=model, budget=budget, allow_close=allow_close, gap=0.0
        )
        summary = plan.summary()
        assert summary["status"] == "optimal", model
        # What the budget bought: new yearly fixed cost less closure savings, within it.
        assert _net_change(plan.sites) == pytest.approx(summary["net_cost_change"])
        assert summary["net_cost_change"] <= budget + 1e-9, model
        assert summary["after"]["covered_weight"] == pytest.approx(best), model
        if not allow_close:
            kept = plan.sites[plan.sites["status_before"] == "existing"]
            assert (kept["decision"] == "kept").all(), model


def test_closing_cost_reduces_the_saving_in_both_models(demand, sites, scenario) -> None:
    base = plan_from_points(demand, sites, scenario, budget=0.0).options
    for budget in (-500.0, 100.0):
        best = _brute_force(demand, sites, budget, allow_close=True, closing_cost=200.0)
        for model in ("tiered", "max-cover"):
            options = replace(
                base,
                model=model,
                budget=budget,
                allow_close=True,
                closing_cost=200.0,
                objective="max_coverage",
            )
            plan = plan_from_points(demand, sites, scenario, options=options, gap=0.0)
            assert _net_change(plan.sites, 200.0) <= budget + 1e-9, (model, budget)
            assert plan.summary()["after"]["covered_weight"] == pytest.approx(best), model


def test_an_existing_network_fits_a_budget_of_zero_in_max_cover() -> None:
    # Two existing sites costing 3.4 million between them: keeping them is no change.
    cover = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    costs = np.array([1_700_000.0, 1_700_000.0, 500_000.0])
    existing = np.array([True, True, False])
    kept = max_cover(cover, budget=0.0, costs=costs, forced_open=existing, existing=existing)
    assert kept.status == "optimal"
    assert kept.open_sites.tolist() == [True, True, False]
    bought = max_cover(
        cover, budget=500_000.0, costs=costs, forced_open=existing, existing=existing
    )
    assert bought.open_sites.tolist() == [True, True, True]
    coef, constant = net_cost_terms(costs, existing)
    assert float(coef @ bought.open_sites + constant) == pytest.approx(500_000.0)


def test_frontier_by_budget_uses_the_same_meaning(demand, sites, scenario) -> None:
    steps: list[tuple[int, int]] = []
    curve = frontier_from_points(
        demand,
        sites,
        scenario,
        by="budget",
        values=[0.0, 250.0, 1200.0],
        gap=0.0,
        on_step=lambda k, n: steps.append((k, n)),
    )
    assert steps == [(1, 3), (2, 3), (3, 3)]
    table = curve.table
    assert list(table["status"]) == ["optimal"] * 3
    for row in table.to_dict(orient="records"):
        assert row["net_cost"] <= row["limit"] + 1e-9
        best = _brute_force(demand, sites, row["limit"], allow_close=False)
        assert row["covered_weight"] == pytest.approx(best)


def test_models_without_a_budget_say_they_do_not_spend_it(demand, sites, scenario) -> None:
    with pytest.warns(InputWarning, match=r"p-median model takes no budget: budget 500"):
        plan_from_points(demand, sites, scenario, model="p-median", p=3, budget=500.0)
