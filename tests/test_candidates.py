"""Candidate sites generated from demand: k-means, dense H3 cells, tier by density."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from netplan.candidates import (
    candidates_from_demand,
    candidates_from_h3,
    candidates_from_kmeans,
    merge_sites,
    tier_by_density,
)
from netplan.config import Scenario, scenario_from_dict
from netplan.errors import InputError


@pytest.fixture
def scenario() -> Scenario:
    return scenario_from_dict(
        {
            "tiers": {
                "hub": {"radius_km": 200, "fixed_cost": 1000, "capacity": 2000},
                "station": {"radius_km": 40, "parent": "hub", "fixed_cost": 200, "capacity": 300},
                "point": {"radius_km": 8, "parent": "station", "fixed_cost": 20, "capacity": 40},
                "partner": {"radius_km": 50, "parent": "hub", "optional": True, "capacity": 100},
            }
        },
        source="cand.toml",
    )


@pytest.fixture
def demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(2)
    # a dense city (many heavy points within a few km), a town, and scattered rural points
    city = rng.normal([121.47, 31.23], 0.02, size=(300, 2))
    town = rng.normal([118.8, 32.0], 0.3, size=(80, 2))
    rural = rng.uniform([100, 25], [110, 35], size=(60, 2))
    xy = np.vstack([city, town, rural])
    weight = np.concatenate([np.full(300, 1.0), np.full(80, 5.0), np.full(60, 1.0)])
    return gpd.GeoDataFrame(
        {"id": [f"P{k}" for k in range(len(xy))], "weight": weight},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:4326",
    )


def test_kmeans_is_seeded_and_weighted(demand, scenario) -> None:
    first = candidates_from_kmeans(demand, scenario, 6, seed=4)
    again = candidates_from_kmeans(demand, scenario, 6, seed=4)
    assert first.drop(columns="geometry").equals(again.drop(columns="geometry"))
    assert len(first) == 6
    assert first["demand_weight"].sum() == pytest.approx(demand["weight"].sum())
    assert (np.diff(first["demand_weight"].to_numpy()) <= 0).all()
    assert first["id"].tolist()[0] == "KM0001"
    assert set(first["status"]) == {"candidate"}
    # the dense city gets a centre of its own
    near_city = (abs(first["lon"] - 121.47) < 0.1) & (abs(first["lat"] - 31.23) < 0.1)
    assert near_city.any()


def test_tier_follows_density(demand, scenario) -> None:
    lon = np.array([121.47, 118.8, 104.0])
    lat = np.array([31.23, 32.0, 30.0])
    tiers, held = tier_by_density(lon, lat, demand, scenario)
    assert tiers[0] == "point"  # a dense city: a neighbourhood outlet fills up
    assert tiers[1] == "station"  # a town
    assert tiers[2] == "hub"  # sparse: only the widest reach gathers demand
    assert held[0] >= 0.5 * 40
    assert "partner" not in set(tiers)  # optional tiers only when named


def test_h3_cells_and_all_tiers(demand, scenario) -> None:
    dense = candidates_from_h3(demand, scenario, resolution=5, min_weight=50)
    assert len(dense) >= 1
    assert (dense["demand_weight"] >= 50).all()
    assert dense["id"].str.startswith("H3-").all()
    top2 = candidates_from_h3(demand, scenario, resolution=5, n_sites=2, tier="all")
    assert len(top2) == 2 * 4
    assert set(top2["tier"]) == {"hub", "station", "point", "partner"}
    with pytest.raises(InputError, match="give `min_weight`"):
        candidates_from_h3(demand, scenario)
    with pytest.raises(InputError, match="lower --min-weight"):
        candidates_from_h3(demand, scenario, min_weight=1e9)


def test_dispatch_and_errors(demand, scenario) -> None:
    assert (
        len(candidates_from_demand(demand, scenario, method="kmeans", n_sites=3, tier="station"))
        == 3
    )
    with pytest.raises(InputError, match="unknown candidate method"):
        candidates_from_demand(demand, scenario, method="grid")
    with pytest.raises(InputError, match="needs the number"):
        candidates_from_demand(demand, scenario, method="kmeans")
    with pytest.raises(InputError, match="between 1 and"):
        candidates_from_kmeans(demand, scenario, 10_000)


def test_merge_sites_rejects_clashing_ids(demand, scenario) -> None:
    generated = candidates_from_kmeans(demand, scenario, 2)
    existing = generated.iloc[:1][["id", "tier", "status", "geometry"]].copy()
    with pytest.raises(InputError, match="clash"):
        merge_sites(existing, generated)
    existing["id"] = ["E1"]
    merged = merge_sites(existing, generated)
    assert merged["id"].tolist()[0] == "E1" and len(merged) == 3
