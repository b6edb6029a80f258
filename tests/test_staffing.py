"""Engineers per outlet and response times, checked against hand computation."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from netplan.config import Scenario, scenario_from_dict
from netplan.errors import ConfigError
from netplan.locate import plan_from_points
from netplan.reach import great_circle_km
from netplan.staffing import STAFFING_COLUMNS, staffing_from_points


@pytest.fixture
def scenario() -> Scenario:
    return scenario_from_dict(
        {
            "scenario": {"name": "staffing-test", "speed_kmh": 50, "detour_factor": 1.25},
            "tiers": {
                "hub": {
                    "radius_km": 100,
                    "response_hours": 4,
                    "hours_per_call": 3,
                    "engineer_hours_per_year": 100,
                    "onsite_share": 0.5,
                    "revenue_per_call": 200,
                    "dispatch_hours": 1,
                },
                "station": {
                    "radius_km": 30,
                    "parent": "hub",
                    "grade_response_hours": {},
                    "hours_per_call": 1,
                    "engineer_hours_per_year": 50,
                    "onsite_share": 0,
                },
            },
        },
        source="staffing-test.toml",
    )


@pytest.fixture
def demand() -> gpd.GeoDataFrame:
    lon = [110.0, 110.3, 110.6, 111.0, 113.0]
    lat = [30.0, 30.0, 30.0, 30.0, 30.0]
    return gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "weight": [10.0, 20.0, 5.0, 8.0, 4.0],
            "grade": ["A", "B", "A", "B", "B"],
            "province": ["P1", "P1", "P2", "P2", "P3"],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "id": ["H", "S", "X"],
            "tier": ["hub", "station", "station"],
            "status": ["existing", "candidate", "candidate"],
            "fixed_cost": [100.0, 10.0, 10.0],
        }
    )
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy([110.0, 110.6, 112.0], [30.0, 30.0, 30.0]),
        crs="EPSG:4326",
    )


def test_engineers_and_response_by_hand(demand, sites, scenario) -> None:
    staffing = staffing_from_points(
        demand,
        sites,
        scenario,
        open_mask=np.array([True, True, False]),
        today_mask=np.array([True, False, False]),
    )
    table = staffing.per_site
    assert tuple(table.columns) == STAFFING_COLUMNS
    km = {
        name: great_circle_km(demand.geometry.x.to_numpy(), 30.0, lon, 30.0)
        for name, lon in (("H", 110.0), ("S", 110.6))
    }
    # a, b: nearest reaching open outlet is H (b is 28.9 km from H, 28.9 from S: H reaches it and
    # S too; the nearest wins). c: S (0 km). d: S (38.5 km > 30 km radius) -> H (96 km).
    to_s = km["S"][1] < km["H"][1]
    hub_points = [0, 3] + ([] if to_s else [1])
    station_points = [2] + ([1] if to_s else [])
    weight = demand["weight"].to_numpy()
    hub_calls = weight[hub_points].sum()
    hub_hours = sum(weight[i] * (3 + 0.5 * 2 * km["H"][i] * 1.25 / 50) for i in hub_points)
    station_calls = weight[station_points].sum()
    station_hours = station_calls * 1
    assert table.loc[0, "annual_calls"] == pytest.approx(hub_calls)
    assert table.loc[0, "engineer_hours"] == pytest.approx(hub_hours)
    assert table.loc[0, "engineers"] == math.ceil(hub_hours / 100)
    assert table.loc[0, "engineer_utilisation"] == pytest.approx(
        hub_hours / (math.ceil(hub_hours / 100) * 100)
    )
    assert table.loc[0, "output_per_engineer"] == pytest.approx(
        hub_calls * 200 / math.ceil(hub_hours / 100)
    )
    assert table.loc[1, "annual_calls"] == pytest.approx(station_calls)
    assert table.loc[1, "engineers"] == math.ceil(station_hours / 50)
    assert math.isnan(table.loc[1, "output_per_engineer"])  # the station states no revenue
    assert table.loc[2, "engineers"] == 0 and table.loc[2, "annual_calls"] == 0

    plan = staffing.response["plan"]
    # e (113°E) is reached by no open outlet: served by the nearest one (S), no promise kept.
    assert plan["unassigned_calls"] == pytest.approx(4.0)
    arrival_h = km["H"] * 1.25 / 50 + 1  # hub: dispatch 1 h, promise 4 h
    arrival_s = km["S"] * 1.25 / 50  # station: promise 48 h (default)
    within = np.zeros(5, dtype=bool)
    for i in hub_points:
        within[i] = arrival_h[i] <= 4
    for i in station_points:
        within[i] = arrival_s[i] <= 48
    within[4] = arrival_s[4] <= 48
    assert plan["weight_within_promise"] == pytest.approx(weight[within].sum())
    assert plan["by_region"]["P3"]["share_within_promise"] == pytest.approx(float(within[4]))
    assert set(plan["by_grade"]) == {"A", "B"}
    today = staffing.response["today"]
    within_today = km["H"] * 1.25 / 50 + 1 <= 4
    assert today["weight_within_promise"] == pytest.approx(weight[within_today].sum())
    block = staffing.summary(np.array(["hub", "station", "station"], dtype=object))
    assert block["engineers"] == table["engineers"].sum()
    assert block["engineers_by_tier"]["hub"] == table.loc[0, "engineers"]
    assert any("station states no response_hours" in a for a in block["assumptions"])


def test_plan_carries_staffing_columns_and_block(demand, sites, scenario) -> None:
    plan = plan_from_points(demand, sites, scenario, budget=10.0, gap=0.0)
    for column in STAFFING_COLUMNS:
        assert column in plan.sites.columns
    summary = plan.summary()
    staffing = summary["staffing"]
    assert staffing["engineers"] == int(plan.sites["engineers"].sum())
    assert staffing["annual_calls"] == pytest.approx(plan.assignment["weight"].sum())
    assert {"today", "plan"} <= set(staffing["response"])
    assert (plan.sites.loc[plan.sites["decision"] == "not_selected", "engineers"] == 0).all()


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("onsite_share", 1.5, r"`tiers.hub.onsite_share`: must be a share in \[0, 1\]"),
        ("hours_per_call", 0, "`tiers.hub.hours_per_call`: must be greater than 0"),
        ("engineer_hours_per_year", -5, "`tiers.hub.engineer_hours_per_year`: must be greater"),
        ("revenue_per_call", -1, "`tiers.hub.revenue_per_call`: must be 0 or more"),
        ("dispatch_hours", "2h", "`tiers.hub.dispatch_hours`: must be a number"),
    ],
)
def test_staffing_keys_are_validated(key: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        scenario_from_dict({"tiers": {"hub": {"radius_km": 10, key: value}}})


def test_capacitated_plan_staffs_from_the_assignment_shares(demand, sites, scenario) -> None:
    capped = scenario.with_tiers(hub={"capacity": 25.0}, station={"capacity": 30.0})
    plan = plan_from_points(
        demand, sites, capped, budget=10.0, capacitated_assignment=True, gap=0.0
    )
    served = plan.assignment.groupby("site_id")["weight"].sum()
    calls = plan.sites.set_index("id")["annual_calls"]
    for site_id, weight in served.items():
        assert calls[site_id] == pytest.approx(weight)
    assert calls.sum() == pytest.approx(plan.assignment["weight"].sum())
    assert (calls <= pd.Series({"H": 25.0, "S": 30.0, "X": 30.0}) + 1e-9).all()
