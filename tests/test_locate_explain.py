"""Plans that explain themselves: each reason on a small instance built to trigger it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import Scenario, scenario_from_dict
from netplan.errors import InputWarning
from netplan.locate import plan_from_points

HUB, STATION = 1000.0, 100.0


def chained(**plan: Any) -> Scenario:
    """Hubs (100 km) support stations (30 km) within 150 km."""
    return scenario_from_dict(
        {
            "scenario": {"name": "explain"},
            "tiers": {
                "hub": {
                    "radius_km": 100,
                    "fixed_cost": HUB,
                    "label": "regional hub",
                    "label_zh": "区域服务中心",
                },
                "station": {
                    "radius_km": 30,
                    "fixed_cost": STATION,
                    "parent": "hub",
                    "support_radius_km": 150,
                    "label": "city station",
                    "label_zh": "城市服务站",
                },
            },
            "plan": plan,
        },
        source="explain.toml",
    )


def flat(**plan: Any) -> Scenario:
    """One tier, no support chain."""
    return scenario_from_dict(
        {
            "scenario": {"name": "explain-flat"},
            "tiers": {"station": {"radius_km": 30, "fixed_cost": STATION, "capacity": 10}},
            "plan": plan,
        },
        source="explain-flat.toml",
    )


def cluster(lon: float, lat: float, n: int, prefix: str, weight: float = 1.0) -> pd.DataFrame:
    """``n`` demand points within about 5 km of (lon, lat)."""
    rng = np.random.default_rng(int(lon * 100 + lat))
    return pd.DataFrame(
        {
            "id": [f"{prefix}{k}" for k in range(n)],
            "lon": lon + rng.uniform(-0.04, 0.04, n),
            "lat": lat + rng.uniform(-0.04, 0.04, n),
            "weight": weight,
        }
    )


def points(*clusters: pd.DataFrame) -> gpd.GeoDataFrame:
    frame = pd.concat(clusters, ignore_index=True)
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame.lon, frame.lat),
        crs="EPSG:4326",
    )


def site_frame(rows: list[tuple[Any, ...]], costs: dict[str, float]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", "tier", "status"])
    frame["fixed_cost"] = [costs[t] for t in frame["tier"]]
    frame["capacity"] = 10.0
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame.lon, frame.lat),
        crs="EPSG:4326",
    )


def reasons(plan: Any) -> dict[str, dict[str, Any]]:
    explanation = plan.summary().get("explanation", [])
    for entry in explanation:
        assert entry["text"] and entry["text_zh"] and entry["text"] != entry["text_zh"]
    return {entry["reason"]: entry for entry in explanation}


COSTS = {"hub": HUB, "station": STATION}


@pytest.fixture
def far_cluster() -> gpd.GeoDataFrame:
    # Cluster A around today's hub (covered); cluster B 380 km east, outside its reach.
    return points(cluster(110.0, 30.0, 20, "A"), cluster(114.0, 30.0, 30, "B"))


def test_support_chain_names_the_parent_that_would_allow_the_stations(far_cluster) -> None:
    sites = site_frame(
        [
            ("H0", 110.0, 30.0, "hub", "existing"),
            ("H1", 112.6, 30.0, "hub", "candidate"),  # 135 km from B: supports, misses B
            ("S1", 114.0, 30.0, "station", "candidate"),
            ("S2", 114.02, 30.02, "station", "candidate"),
        ],
        COSTS,
    )
    plan = plan_from_points(far_cluster, sites, chained(), budget=500.0, gap=0.0)
    assert plan.summary()["n_by_decision"]["opened"] == 0
    found = reasons(plan)
    assert found["spend"]["figures"]["spent"] == 0.0
    support = found["support_chain"]
    figures = support["figures"]
    assert figures["n_candidates"] == 2
    assert figures["gain"] == pytest.approx(30.0)
    assert figures["cheapest_parent_cost"] == HUB
    assert figures["cheapest_parent_and_candidate_cost"] == HUB + STATION
    assert figures["budget_left"] == 500.0
    assert "farther than support_radius_km (150 km) from an open regional hub" in support["text"]
    assert "opening a regional hub would allow them" in support["text"]
    assert "more than the 500 left of the budget" in support["text"]
    assert "区域服务中心" in support["text_zh"] and "城市服务站" in support["text_zh"]
    # The hub cannot open either (1,000 > 500), but it reaches none of B: no budget sentence.
    assert "budget" not in found
    # With the budget for a hub and a station, the plan does open them.
    bought = plan_from_points(far_cluster, sites, chained(), budget=1100.0, gap=0.0)
    assert set(bought.sites.loc[bought.sites["decision"] == "opened", "id"]) >= {"H1"}


def test_support_chain_without_any_parent_near_says_they_cannot_open(far_cluster) -> None:
    sites = site_frame(
        [
            ("H0", 110.0, 30.0, "hub", "existing"),
            ("S1", 114.0, 30.0, "station", "candidate"),
        ],
        COSTS,
    )
    plan = plan_from_points(far_cluster, sites, chained(), budget=5000.0, gap=0.0)
    support = reasons(plan)["support_chain"]
    assert "cheapest_parent_cost" not in support["figures"]
    assert (
        "open or candidate, within support_radius_km (150 km): they cannot open"
        in (support["text"])
    )


def test_budget_names_the_cheapest_useful_candidate_against_the_budget_left() -> None:
    demand = points(cluster(110.0, 30.0, 10, "A"), cluster(112.0, 30.0, 10, "B"))
    sites = site_frame(
        [
            ("E", 110.0, 30.0, "station", "existing"),
            ("C1", 112.0, 30.0, "station", "candidate"),
            ("C2", 112.01, 30.0, "station", "candidate"),
        ],
        {"station": 100.0},
    )
    sites.loc[sites["id"] == "C1", "fixed_cost"] = 700.0
    sites.loc[sites["id"] == "C2", "fixed_cost"] = 650.0
    for model in ("tiered", "max-cover"):
        plan = plan_from_points(demand, sites, flat(), model=model, budget=600.0, gap=0.0)
        budget = reasons(plan)["budget"]
        assert budget["figures"]["site_id"] == "C2", model
        assert budget["figures"]["cost"] == 650.0
        assert budget["figures"]["budget_left"] == 600.0
        assert budget["figures"]["gain"] == pytest.approx(10.0)
        assert "costs 650 a year, more than the 600 left of the budget 600" in budget["text"]


def test_tier_counts_and_p_name_the_count_reached() -> None:
    demand = points(cluster(110.0, 30.0, 10, "A"), cluster(112.0, 30.0, 10, "B"))
    sites = site_frame(
        [("E", 110.0, 30.0, "station", "existing"), ("C", 112.0, 30.0, "station", "candidate")],
        {"station": 100.0},
    )
    capped = flat(tier_counts={"station": 1})
    plan = plan_from_points(demand, sites, capped, budget=1000.0, gap=0.0)
    count = reasons(plan)["tier_counts"]
    assert count["figures"] == {"tier": "station", "n_open": 1, "limit": 1}
    assert "the most tier_counts allows (1)" in count["text"]
    plan = plan_from_points(demand, sites, flat(), p=1, budget=1000.0, gap=0.0)
    assert reasons(plan)["p"]["figures"] == {"n_open": 1, "p": 1}


def test_capacity_names_full_sites_and_the_demand_they_leave() -> None:
    demand = points(cluster(110.0, 30.0, 25, "A", weight=2.0))  # 50 within reach of E (cap 10)
    sites = site_frame(
        [("E", 110.0, 30.0, "station", "existing"), ("C", 110.01, 30.0, "station", "candidate")],
        {"station": 100.0},
    )
    sites.loc[sites["id"] == "C", "fixed_cost"] = 900.0
    with pytest.warns(InputWarning, match="capacities limit the plan"):
        plan = plan_from_points(demand, sites, flat(capacitated=True), budget=500.0, gap=0.0)
    found = reasons(plan)
    assert found["capacity"]["figures"] == {"n_full": 1, "unserved_weight": pytest.approx(40.0)}
    assert found["budget"]["figures"]["site_id"] == "C"
    assert "reach" not in found  # the demand left out is within reach of a full site


def test_required_sites_and_unreachable_demand() -> None:
    demand = points(cluster(110.0, 30.0, 10, "A"), cluster(120.0, 40.0, 30, "Z"))
    sites = site_frame(
        [("R", 110.0, 30.0, "station", "required"), ("X", 120.0, 40.0, "station", "closed")],
        {"station": 300.0},
    )
    plan = plan_from_points(demand, sites, flat(), budget=1000.0, gap=0.0)
    found = reasons(plan)
    assert found["spend"]["figures"]["spent"] == 300.0
    assert "spends 300 of the budget 1,000 (30.0%)" in found["spend"]["text"]
    assert found["required"]["figures"] == {"n_required": 1, "cost": 300.0, "budget": 1000.0}
    reach = found["reach"]["figures"]
    assert reach["uncovered_rate"] == pytest.approx(0.75)
    assert reach["n_uncovered"] == 30
    assert reach["reached_only_by_closed_or_competitor"] == pytest.approx(30.0)


def test_target_met_by_today_and_plans_that_need_no_excuse() -> None:
    demand = points(cluster(110.0, 30.0, 10, "A"), cluster(112.0, 30.0, 10, "B"))
    sites = site_frame(
        [("E", 110.0, 30.0, "station", "existing"), ("C", 112.0, 30.0, "station", "candidate")],
        {"station": 100.0},
    )
    plan = plan_from_points(demand, sites, flat(), coverage_target=0.4, gap=0.0)
    assert reasons(plan)["target_met"]["figures"]["coverage_target"] == 0.4
    # Spending the budget, or covering everything: no explanation, no key in the summary.
    spent = plan_from_points(demand, sites, flat(), budget=150.0, gap=0.0)
    assert spent.summary()["after"]["weighted_coverage_rate"] == 1.0
    assert "explanation" not in spent.summary()
    assert spent.explanation == []


def test_the_cli_prints_the_explanation_and_writes_it(tmp_path: Path, far_cluster) -> None:
    demand = pd.DataFrame(
        {
            "id": far_cluster["id"],
            "lon": far_cluster.geometry.x,
            "lat": far_cluster.geometry.y,
            "weight": far_cluster["weight"],
        }
    )
    sites = pd.DataFrame(
        [
            ("H0", 110.0, 30.0, "hub", "existing", HUB),
            ("H1", 112.6, 30.0, "hub", "candidate", HUB),
            ("S1", 114.0, 30.0, "station", "candidate", STATION),
        ],
        columns=["id", "lon", "lat", "tier", "status", "fixed_cost"],
    )
    demand.to_csv(tmp_path / "customers.csv", index=False)
    sites.to_csv(tmp_path / "sites.csv", index=False)
    config = tmp_path / "scenario.toml"
    config.write_text(
        '[scenario]\nname = "x"\n[tiers.hub]\nradius_km = 100\nfixed_cost = 1000\n'
        'label = "regional hub"\n[tiers.station]\nradius_km = 30\nfixed_cost = 100\n'
        'parent = "hub"\nsupport_radius_km = 150\nlabel = "city station"\n',
        encoding="utf-8",
    )
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        app,
        [
            "optimize",
            "--demand",
            str(tmp_path / "customers.csv"),
            "--sites",
            str(tmp_path / "sites.csv"),
            "--config",
            str(config),
            "--out",
            str(out),
            "--budget",
            "500",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "why this plan:" in result.stdout
    assert "The plan opens no new site although the budget is 500" in result.stdout
    assert "from an open regional hub; opening a regional hub would allow them" in result.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [e["reason"] for e in summary["explanation"]] == ["spend", "support_chain"]
    assert "支撑半径" in summary["explanation"][1]["text_zh"]


def test_the_report_headline_carries_the_explanation_in_both_languages(far_cluster) -> None:
    from netplan.report import report_context, report_html

    sites = site_frame(
        [
            ("H0", 110.0, 30.0, "hub", "existing"),
            ("H1", 112.6, 30.0, "hub", "candidate"),
            ("S1", 114.0, 30.0, "station", "candidate"),
        ],
        COSTS,
    )
    scenario = chained()
    plan = plan_from_points(far_cluster, sites, scenario, budget=500.0, gap=0.0)
    english = report_context(plan=plan, scenario=scenario, lang="en")["headline"]
    chinese = report_context(plan=plan, scenario=scenario, lang="zh")["headline"]
    assert any("opening a regional hub would allow them" in line for line in english)
    assert any("新开一个区域服务中心即可开设它们" in line for line in chinese)
    html = report_html(plan=plan, scenario=scenario, lang="zh")
    assert "新开一个区域服务中心即可开设它们" in html


def three_tiers() -> Scenario:
    """Hubs support stations within 150 km; stations support points within 60 km."""
    return scenario_from_dict(
        {
            "scenario": {"name": "explain-3"},
            "tiers": {
                "hub": {"radius_km": 50, "fixed_cost": HUB, "label": "regional hub"},
                "station": {
                    "radius_km": 20,
                    "fixed_cost": STATION,
                    "parent": "hub",
                    "support_radius_km": 150,
                    "label": "city station",
                },
                "point": {
                    "radius_km": 10,
                    "fixed_cost": 10.0,
                    "parent": "station",
                    "support_radius_km": 60,
                    "label": "community point",
                },
            },
        },
        source="explain-3.toml",
    )


@pytest.mark.parametrize("hub_near_station", [True, False])
def test_support_chain_two_levels_up(hub_near_station: bool) -> None:
    # Today: a hub at A. Demand B at 114 E; a point candidate at B, a station candidate 40 km
    # west of B (within the point's 60 km, outside B's reach), and a hub candidate 100 km west
    # of that station (or none).
    demand = points(cluster(110.0, 30.0, 10, "A"), cluster(114.0, 30.0, 10, "B"))
    rows = [
        ("H0", 110.0, 30.0, "hub", "existing"),
        ("P1", 114.0, 30.0, "point", "candidate"),
        ("S1", 113.6, 30.0, "station", "candidate"),
    ]
    if hub_near_station:
        rows.append(("H1", 112.6, 30.0, "hub", "candidate"))
    sites = site_frame(rows, {"hub": HUB, "station": STATION, "point": 10.0})
    plan = plan_from_points(demand, sites, three_tiers(), budget=50.0, gap=0.0)
    support = reasons(plan)["support_chain"]
    assert support["figures"]["tier"] == "point"
    assert support["figures"]["parent_needs"] == "hub"
    if hub_near_station:
        assert (
            "every city station that could support them needs a regional hub opened first"
            in (support["text"])
        )
    else:
        assert (
            "no city station near them can open (none has a supporting regional hub)"
            in (support["text"])
        )
