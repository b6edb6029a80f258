"""Invariants of coverage and site selection, checked on generated instances (hypothesis)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan.config import scenario_from_dict
from netplan.coverage import coverage_from_points
from netplan.errors import InputWarning
from netplan.locate import plan_from_points, plan_options

SCENARIO = scenario_from_dict(
    {
        "scenario": {"name": "props"},
        "tiers": {
            "hub": {"radius_km": 120, "fixed_cost": 500},
            "station": {"radius_km": 45, "fixed_cost": 100},
        },
    },
    source="props.toml",
)
SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _demand(seed: int, n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {
            "id": [f"d{i}" for i in range(n)],
            "weight": rng.uniform(0.5, 3.0, n),
            "grade": rng.choice(["A", "B"], n),
        },
        geometry=gpd.points_from_xy(rng.uniform(0.0, 3.0, n), rng.uniform(0.0, 3.0, n)),
        crs=4326,
    )


def _sites(seed: int, n: int, n_existing: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed + 1)
    status = ["existing"] * n_existing + ["candidate"] * (n - n_existing)
    return gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "tier": rng.choice(["hub", "station"], n),
            "status": status,
            "fixed_cost": rng.choice([100.0, 150.0, 500.0], n),
            "capacity": [np.inf] * n,
        },
        geometry=gpd.points_from_xy(rng.uniform(0.0, 3.0, n), rng.uniform(0.0, 3.0, n)),
        crs=4326,
    )


def _coverage(demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        result = coverage_from_points(demand, sites, SCENARIO, blindspots=None)
    return pd.DataFrame(result.points.drop(columns="geometry")).set_index("id")


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), n_sites=st.integers(2, 8))
def test_adding_an_open_site_never_lowers_coverage(seed: int, n: int, n_sites: int) -> None:
    demand = _demand(seed, n)
    sites = _sites(seed, n_sites, n_existing=1)
    before = _coverage(demand, sites)
    more = sites.copy()
    more.loc[1, "status"] = "existing"
    after = _coverage(demand, more)
    # Point by point: covered stays covered, no fewer outlets reach it, it is no farther.
    assert (after["covered"] >= before["covered"]).all()
    assert (after["n_covering"] >= before["n_covering"]).all()
    assert (after["distance_km"] <= before["distance_km"] + 1e-9).all()


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), n_sites=st.integers(1, 8))
def test_coverage_is_invariant_under_row_order(seed: int, n: int, n_sites: int) -> None:
    demand = _demand(seed, n)
    sites = _sites(seed, n_sites, n_existing=n_sites)
    order = np.random.default_rng(seed + 2).permutation(n)
    site_order = np.random.default_rng(seed + 3).permutation(n_sites)
    straight = _coverage(demand, sites)
    shuffled = _coverage(
        demand.iloc[order].reset_index(drop=True), sites.iloc[site_order].reset_index(drop=True)
    ).loc[straight.index]
    for column in ("covered", "n_covering"):
        assert (shuffled[column] == straight[column]).all(), column
    np.testing.assert_allclose(shuffled["distance_km"], straight["distance_km"], rtol=1e-12)
    # The nearest outlet is the same one unless two are equally near.
    same = shuffled["nearest_site"] == straight["nearest_site"]
    assert same.all() or np.allclose(shuffled["distance_km"][~same], straight["distance_km"][~same])


@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10_000),
    low=st.floats(0.0, 600.0),
    extra=st.floats(0.0, 600.0),
)
def test_raising_the_budget_never_lowers_the_optimum(seed: int, low: float, extra: float) -> None:
    demand = _demand(seed, 25)
    sites = _sites(seed, 6, n_existing=1)

    def covered(budget: float) -> float:
        options = plan_options(SCENARIO, budget=budget, objective="max_coverage")
        plan = plan_from_points(demand, sites, SCENARIO, options=options, gap=0.0)
        assert plan.status == "optimal"
        assert plan.objective is not None
        return float(plan.objective)

    smaller = covered(low)
    assert covered(low + extra) >= smaller - 1e-6 * max(1.0, smaller)


def test_the_properties_can_fail() -> None:
    """The checks above would catch a network that loses a site (a sanity check of the oracle)."""
    demand = _demand(1, 40)
    sites = _sites(1, 6, n_existing=6)
    fewer = sites.copy()
    fewer.loc[0, "status"] = "candidate"
    full, cut = _coverage(demand, sites), _coverage(demand, fewer)
    assert (cut["n_covering"] <= full["n_covering"]).all()
    with pytest.raises(AssertionError):
        assert (cut["distance_km"] <= full["distance_km"] - 1e-9).all()
