"""The roadmap: multi-year model against brute force, files re-checked, one year = optimize."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from netplan.config import Scenario, scenario_from_dict
from netplan.errors import ConfigError, InfeasibleError, InputError
from netplan.locate import plan_from_points
from netplan.locate.roadmap import (
    BY_YEAR_COLUMNS,
    ROADMAP_COLUMNS,
    RoadmapOptions,
    demand_weights_by_year,
    roadmap,
    roadmap_from_points,
)
from netplan.locate.solve import SolverSettings
from netplan.locate.tiered import TieredOptions, tiered
from netplan.reach import great_circle_km

EXACT = SolverSettings(gap=0.0)
TIERS = ("hub", "station", "point")
PARENT = {"station": "hub", "point": "station"}


def random_instance(seed: int, n_demand: int = 12, n_sites: int = 6) -> dict:
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, 100, size=(n_demand, 2))
    site_xy = rng.uniform(0, 100, size=(n_sites, 2))
    tiers = np.array([TIERS[k] for k in rng.integers(0, 3, size=n_sites)], dtype=object)
    tiers[0] = "hub"
    radius = {"hub": 40.0, "station": 30.0, "point": 18.0}
    support_radius = {"station": 70.0, "point": 45.0}
    status = np.array(["candidate"] * n_sites, dtype=object)
    status[rng.integers(1, n_sites)] = "existing"
    if seed % 4 == 1:
        status[rng.integers(1, n_sites)] = "closed"
    distance = np.linalg.norm(demand_xy[:, None, :] - site_xy[None, :, :], axis=2)
    within = distance <= np.array([radius[t] for t in tiers])[None, :]
    site_distance = np.linalg.norm(site_xy[:, None, :] - site_xy[None, :, :], axis=2)
    support = np.zeros((n_sites, n_sites), dtype=bool)
    needs = np.zeros(n_sites, dtype=bool)
    for j, tier in enumerate(tiers):
        if tier in PARENT:
            needs[j] = True
            support[j] = (tiers == PARENT[tier]) & (site_distance[j] <= support_radius[tier])
    weights = rng.integers(1, 20, size=n_demand).astype(float)
    growth = rng.uniform(0.0, 0.3, size=n_demand)
    return {
        "cover": sp.csr_array((distance[within], np.nonzero(within)), shape=within.shape),
        "within": within,
        "weights": weights,
        "growth": growth,
        "tiers": tiers,
        "status": status,
        "fixed": np.array([{"hub": 50.0, "station": 20.0, "point": 7.0}[t] for t in tiers])
        + rng.integers(0, 5, size=n_sites),
        "support": sp.csr_array(support.astype(float)),
        "support_dense": support,
        "needs": needs,
    }


def weights_by_year(inst: dict, years: int) -> np.ndarray:
    return inst["weights"][None, :] * (1 + inst["growth"][None, :]) ** np.arange(years)[:, None]


def brute_force(inst: dict, options: RoadmapOptions) -> tuple[float, float] | None:
    """Return (best primary, its secondary) over every nested order of openings and closures."""
    tiers, status, fixed = inst["tiers"], inst["status"], inst["fixed"]
    n_sites, years = len(tiers), options.years
    existing = status == "existing"
    w = weights_by_year(inst, years)
    delta = (1 + options.discount) ** -np.arange(years, dtype=float)
    keep_value = fixed - options.closing_cost
    # per site: the year it opens (new) or closes (existing); years + 1 = never.
    choices = []
    for j in range(n_sites):
        if status[j] == "closed" or (existing[j] and not options.allow_close):
            choices.append([years + 1])
        else:
            choices.append(list(range(1, years + 2)))
    best: tuple[float, float] | None = None
    for combo in itertools.product(*choices):
        year_of = np.array(combo)
        ok = True
        cost_before = 0.0
        coverage_value = 0.0
        cost_value = 0.0
        for t in range(1, years + 1):
            is_open = np.where(existing, year_of > t, year_of <= t) & (status != "closed")
            for j in np.flatnonzero(is_open & inst["needs"] & ~existing):
                if not (inst["support_dense"][j] & is_open).any():
                    ok = False
            net = fixed[is_open & ~existing].sum() - keep_value[existing & ~is_open].sum()
            if options.budget_per_year is not None and (
                net - cost_before > options.budget_per_year[t - 1] + 1e-9
            ):
                ok = False
            covered = (inst["within"] & is_open[None, :]).any(axis=1)
            covered_weight = w[t - 1][covered].sum()
            if options.coverage_target_by_year is not None and (
                covered_weight < options.coverage_target_by_year[t - 1] * w[t - 1].sum() - 1e-9
            ):
                ok = False
            if not ok:
                break
            coverage_value += delta[t - 1] * covered_weight
            cost_value += delta[t - 1] * net
            cost_before = net
        if not ok:
            continue
        if options.objective == "max_coverage":
            key = (coverage_value, -cost_value)
        else:
            key = (-cost_value, coverage_value)
        if best is None or (
            key > (best[0], best[1])
            and (
                key[0] > best[0] + 1e-7
                or (abs(key[0] - best[0]) <= 1e-7 and key[1] > best[1] + 1e-7)
            )
        ):
            best = key
    return best


def solve(inst: dict, options: RoadmapOptions):
    return roadmap(
        inst["cover"],
        weights_by_year=weights_by_year(inst, options.years),
        site_tiers=inst["tiers"],
        site_status=inst["status"],
        fixed_costs=inst["fixed"],
        support=inst["support"],
        needs_support=inst["needs"],
        options=options,
        settings=EXACT,
    )


def evaluate(inst: dict, options: RoadmapOptions, open_by_year: np.ndarray) -> tuple[float, float]:
    """Return (discounted covered weight, discounted net cost) of a roadmap, checking its rules."""
    existing = inst["status"] == "existing"
    w = weights_by_year(inst, options.years)
    delta = (1 + options.discount) ** -np.arange(options.years, dtype=float)
    keep_value = inst["fixed"] - options.closing_cost
    previous_open = existing.copy()
    cost_before = 0.0
    coverage_value = cost_value = 0.0
    for t in range(options.years):
        is_open = open_by_year[t]
        assert not (is_open & (inst["status"] == "closed")).any()
        assert not (previous_open & ~is_open & ~existing).any(), "a new site closed again"
        assert not (is_open & ~previous_open & existing).any(), "a closed site reopened"
        if not options.allow_close:
            assert is_open[existing].all()
        for j in np.flatnonzero(is_open & inst["needs"] & ~existing):
            assert (inst["support_dense"][j] & is_open).any(), f"site {j} unsupported in year {t}"
        net = inst["fixed"][is_open & ~existing].sum() - keep_value[existing & ~is_open].sum()
        if options.budget_per_year is not None:
            assert net - cost_before <= options.budget_per_year[t] + 1e-6
        covered = (inst["within"] & is_open[None, :]).any(axis=1)
        coverage_value += delta[t] * w[t][covered].sum()
        cost_value += delta[t] * net
        cost_before, previous_open = net, is_open
    return coverage_value, cost_value


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("years", [2, 3])
def test_max_coverage_matches_brute_force(seed: int, years: int) -> None:
    inst = random_instance(seed)
    options = RoadmapOptions(
        years=years,
        budget_per_year=tuple([40.0, 30.0, 60.0][:years]),
        discount=0.1 * (seed % 2),
        allow_close=seed % 3 == 0,
        closing_cost=2.0,
    )
    best = brute_force(inst, options)
    assert best is not None
    result = solve(inst, options)
    assert result.status == "optimal"
    coverage_value, cost_value = evaluate(inst, options, result.open_by_year)
    assert result.objective == pytest.approx(best[0], abs=1e-6)
    assert coverage_value == pytest.approx(best[0], abs=1e-6)
    assert -cost_value == pytest.approx(best[1], abs=1e-5)  # the polish: cheapest at that coverage


@pytest.mark.parametrize("seed", range(6))
def test_min_cost_with_targets_matches_brute_force(seed: int) -> None:
    inst = random_instance(seed + 20)
    options = RoadmapOptions(
        years=3, coverage_target_by_year=(0.3, 0.5, 0.6), discount=0.05, allow_close=seed % 2 == 0
    )
    best = brute_force(inst, options)
    if best is None:
        with pytest.raises(InfeasibleError, match=r"coverage target|no roadmap meets"):
            solve(inst, options)
        return
    result = solve(inst, options)
    coverage_value, cost_value = evaluate(inst, options, result.open_by_year)
    assert result.objective == pytest.approx(-best[0], abs=1e-6)
    assert cost_value == pytest.approx(-best[0], abs=1e-6)
    assert coverage_value == pytest.approx(best[1], abs=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_one_year_roadmap_equals_the_tiered_model(seed: int) -> None:
    inst = random_instance(seed + 40, n_demand=20, n_sites=8)
    budget = 45.0
    plan = tiered(
        inst["cover"],
        weights=inst["weights"],
        site_tiers=inst["tiers"],
        site_status=inst["status"],
        fixed_costs=inst["fixed"],
        capacities=np.full(len(inst["tiers"]), np.inf),
        support=inst["support"],
        needs_support=inst["needs"],
        options=TieredOptions(budget=budget),
        settings=EXACT,
    )
    one = roadmap(
        inst["cover"],
        weights_by_year=inst["weights"][None, :],
        site_tiers=inst["tiers"],
        site_status=inst["status"],
        fixed_costs=inst["fixed"],
        support=inst["support"],
        needs_support=inst["needs"],
        options=RoadmapOptions(years=1, budget_per_year=(budget,)),
        settings=EXACT,
    )
    assert one.objective == pytest.approx(plan.details["covered_weight"], abs=1e-6)
    existing = inst["status"] == "existing"
    cost = inst["fixed"][one.open_by_year[0] & ~existing].sum()
    assert cost == pytest.approx(plan.details["net_cost"], abs=1e-6)


def test_options_are_checked() -> None:
    with pytest.raises(InputError, match="needs a budget per year"):
        RoadmapOptions(years=2).check()
    with pytest.raises(InputError, match="gives 2 values for 3 years"):
        RoadmapOptions(years=3, budget_per_year=(1.0, 2.0)).check()
    with pytest.raises(InputError, match="year 2 must be a share"):
        RoadmapOptions(years=2, coverage_target_by_year=(0.5, 1.5)).check()
    with pytest.raises(InputError, match="`years` must be 1 or more"):
        RoadmapOptions(years=0, budget_per_year=()).check()


# --------------------------------------------------------------------------- on points


@pytest.fixture
def scenario() -> Scenario:
    return scenario_from_dict(
        {
            "scenario": {"name": "roadmap-test"},
            "tiers": {
                "hub": {"radius_km": 150, "fixed_cost": 1000},
                "station": {
                    "radius_km": 30,
                    "parent": "hub",
                    "support_radius_km": 250,
                    "fixed_cost": 100,
                    "grade_radius_km": {"A": 20},
                },
            },
            "roadmap": {"discount": 0.05, "demand_growth": {"big": 0.2}},
        },
        source="roadmap-test.toml",
    )


@pytest.fixture
def demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(5)
    centres = np.array([[110.0, 30.0], [111.5, 30.4], [113.5, 31.0], [116.0, 28.0]])
    which = rng.integers(0, 4, size=160)
    lon = centres[which, 0] + rng.normal(0, 0.15, size=160)
    lat = centres[which, 1] + rng.normal(0, 0.15, size=160)
    return gpd.GeoDataFrame(
        {
            "id": [f"D{k:03d}" for k in range(160)],
            "weight": rng.integers(1, 5, size=160).astype(float),
            "grade": np.where(which == 0, "A", "B"),
            "product": np.where(which == 2, "big", "small"),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    rows = [
        ("H1", 110.2, 30.1, "hub", "existing"),
        ("H2", 113.3, 30.9, "hub", "candidate"),
        ("H3", 115.8, 28.1, "hub", "candidate"),
        ("S1", 110.0, 30.0, "station", "candidate"),
        ("S2", 111.5, 30.4, "station", "candidate"),
        ("S3", 113.5, 31.0, "station", "candidate"),
        ("S4", 116.0, 28.0, "station", "candidate"),
        ("S5", 111.4, 30.3, "station", "closed"),
        ("C1", 110.1, 30.0, None, "competitor"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", "tier", "status"])
    frame["fixed_cost"] = [
        {"hub": 1000.0, "station": 100.0}.get(t, np.nan) if isinstance(t, str) else np.nan
        for t in frame["tier"]
    ]
    frame["name"] = [f"site {i}" for i in frame["id"]]
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame.lon, frame.lat),
        crs="EPSG:4326",
    )


def test_roadmap_files_re_evaluate_exactly(
    demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, scenario: Scenario, tmp_path: Path
) -> None:
    budgets = (1100.0, 250.0, 1000.0)
    result = roadmap_from_points(demand, sites, scenario, years=3, budget_per_year=budgets, gap=0.0)
    paths = result.to_files(tmp_path)
    table = pd.read_csv(paths["roadmap"])
    by_year = pd.read_csv(paths["by_year"])
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert tuple(table.columns) == ROADMAP_COLUMNS
    assert tuple(by_year.columns) == BY_YEAR_COLUMNS
    assert summary["status"] == "optimal"
    assert [entry["year"] for entry in summary["by_year"]] == [1, 2, 3]
    assert (tmp_path / "roadmap.geojson").exists()

    # Independent re-evaluation from the files: distances, radii, support, budget, growth.
    lon = demand.geometry.x.to_numpy()
    lat = demand.geometry.y.to_numpy()
    weight = demand["weight"].to_numpy()
    growth = np.where(demand["product"] == "big", 0.2, 0.0)
    site_xy = sites.set_index("id").geometry
    previous_net = 0.0
    for year in (1, 2, 3):
        opened = table["year_opened"].fillna(99)
        closed = table["year_closed"].fillna(99)
        open_rows = table[(opened <= year) & (closed > year)]
        covered = np.zeros(len(demand), dtype=bool)
        for row in open_rows.itertuples():
            tier = scenario.tiers[row.tier]
            point = site_xy[row.site_id]
            distance = great_circle_km(lon, lat, point.x, point.y)
            radius = np.array([tier.reach_km(g) for g in demand["grade"]], dtype=float)
            covered |= distance <= radius + 1e-9
            if tier.parent is not None and row.status_before != "existing":
                parents = open_rows[open_rows["tier"] == tier.parent]
                gaps = [
                    great_circle_km(point.x, point.y, site_xy[p].x, site_xy[p].y)
                    for p in parents["site_id"]
                ]
                assert min(gaps, default=np.inf) <= tier.support_radius_km, (row.site_id, year)
        year_weight = weight * (1 + growth) ** (year - 1)
        line = by_year[by_year["year"] == year].iloc[0]
        assert line["covered_weight"] == pytest.approx(year_weight[covered].sum(), rel=1e-9)
        assert line["weighted_coverage_rate"] == pytest.approx(
            year_weight[covered].sum() / year_weight.sum(), rel=1e-9
        )
        assert line["total_weight"] == pytest.approx(year_weight.sum(), rel=1e-9)
        net = open_rows.loc[open_rows["status_before"] != "existing", "fixed_cost"].sum()
        assert line["spend"] == pytest.approx(net - previous_net)
        assert line["spend"] <= budgets[year - 1] + 1e-6
        assert line["sites_open"] == len(open_rows)
        assert line["new_sites"] == int((table["year_opened"] == year).sum())
        previous_net = net
    # Kept sites are open from today (year 0); never-selected ones carry no year.
    assert table.loc[table["decision"] == "kept", "year_opened"].eq(0).all()
    assert table.loc[table["decision"] == "not_selected", "year_opened"].isna().all()
    assert (table.loc[table["decision"] == "opened", "score"] >= 0).all()
    # Engineers: the final year's network, per site and in total.
    assert (
        table["engineers"].sum()
        == by_year["engineers"].iloc[-1]
        == summary["staffing"]["engineers"]
    )
    assert (table.loc[table["decision"] == "not_selected", "engineers"] == 0).all()
    assert table["annual_calls"].sum() <= by_year["covered_weight"].iloc[-1] + 1e-6
    assert {"today", "plan"} <= set(summary["staffing"]["response"])


def test_one_year_roadmap_equals_optimize(
    demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, scenario: Scenario
) -> None:
    for budget in (150.0, 1100.0, 1300.0):
        plan = plan_from_points(demand, sites, scenario, budget=budget, gap=0.0)
        one = roadmap_from_points(
            demand, sites, scenario, years=1, budget_per_year=budget, gap=0.0, blindspots=False
        )
        plan_open = set(plan.open_sites["id"])
        row = one.by_year.iloc[0]
        assert row["covered_weight"] == pytest.approx(plan.after["covered_weight"], rel=1e-12)
        opened = set(one.sites.loc[one.sites["decision"].isin(["kept", "opened"]), "site_id"])
        assert len(opened) == len(plan_open)
        assert row["spend"] == pytest.approx(plan.summary()["net_cost_change"])


def test_targets_by_year_give_the_cheapest_roadmap(
    demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, scenario: Scenario
) -> None:
    result = roadmap_from_points(
        demand,
        sites,
        scenario,
        years=2,
        coverage_target_by_year=[0.3, 0.5],
        gap=0.0,
        blindspots=False,
    )
    assert result.options.objective == "min_cost"
    rates = result.by_year["weighted_coverage_rate"].tolist()
    assert rates[0] >= 0.3 - 1e-9 and rates[1] >= 0.5 - 1e-9
    with pytest.raises(InfeasibleError, match="no roadmap meets every limit"):
        roadmap_from_points(
            demand,
            sites,
            scenario,
            years=2,
            coverage_target_by_year=[0.3, 1.0],
            budget_per_year=[1100.0, 100.0],
            gap=0.0,
        )


def test_demand_growth_by_product_and_overall(demand: gpd.GeoDataFrame, scenario: Scenario) -> None:
    weights = demand_weights_by_year(demand, scenario, 3)
    big = (demand["product"] == "big").to_numpy()
    base = demand["weight"].to_numpy()
    assert np.allclose(weights[2][big], base[big] * 1.44)
    assert np.allclose(weights[2][~big], base[~big])
    no_product = demand.drop(columns=["product"])
    with pytest.raises(InputError, match="has no `product` column"):
        demand_weights_by_year(no_product, scenario, 2)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"discount": 1.5}, "`roadmap.discount`: must be a yearly rate below 1"),
        ({"discount": -0.1}, "`roadmap.discount`: must be 0 or more"),
        ({"demand_growth": -2}, "`roadmap.demand_growth`: must be a yearly rate above -1"),
        ({"demand_growth": {"x": "a"}}, "`roadmap.demand_growth.x`: must be a number"),
        ({"grow": 0.1}, "`roadmap.grow`: unknown key"),
    ],
)
def test_roadmap_keys_are_validated(table: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        scenario_from_dict({"tiers": {"hub": {"radius_km": 10}}, "roadmap": table})


def test_aggregated_roadmap_rechecks_coverage_on_raw_points(
    demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, scenario: Scenario
) -> None:
    result = roadmap_from_points(
        demand,
        sites,
        scenario,
        years=2,
        budget_per_year=[1100.0, 300.0],
        aggregate="h3:6",
        gap=0.0,
        blindspots=False,
    )
    assert result.details["aggregation"] == "h3:6"
    assert result.details["aggregation_n_points"] == len(demand)
    # by_year is the raw demand's coverage under the roadmap's open sites, re-computed.
    weights = demand_weights_by_year(demand, scenario, 2)
    for year in (1, 2):
        open_ids = set(result.open_in_year(year)["site_id"])
        plan_like = sites[sites["id"].isin(open_ids)]
        covered = np.zeros(len(demand), dtype=bool)
        for site in plan_like.itertuples():
            radius = np.array([scenario.tiers[site.tier].reach_km(g) for g in demand["grade"]])
            distance = great_circle_km(
                demand.geometry.x.to_numpy(),
                demand.geometry.y.to_numpy(),
                site.geometry.x,
                site.geometry.y,
            )
            covered |= distance <= radius + 1e-9
        row = result.by_year.iloc[year - 1]
        assert row["covered_weight"] == pytest.approx(weights[year - 1][covered].sum(), rel=1e-9)


def test_closing_existing_sites_frees_budget(
    demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, scenario: Scenario
) -> None:
    result = roadmap_from_points(
        demand,
        sites,
        scenario,
        years=2,
        budget_per_year=[0.0, 0.0],
        allow_close=True,
        gap=0.0,
        blindspots=False,
    )
    # With no money, the only way to open anything is to close H1 (saving 1000) in some year.
    spend = result.by_year["spend"].to_numpy()
    assert (spend <= 1e-6).all()
    if (result.sites["decision"] == "opened").any():
        assert (result.sites["decision"] == "closed").any()
        closed_year = result.sites.loc[result.sites["decision"] == "closed", "year_closed"].iloc[0]
        assert closed_year in (1, 2)
