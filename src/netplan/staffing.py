"""Service capacity and response time: engineers per outlet, and the share served within promise.

A network plan says where the outlets are; a staffing plan says how many
engineers each needs and how fast they arrive (售后网点的人员配置计划, 服务响应时效).

Assignment
    Every demand point is served by the nearest open outlet that reaches it
    (or, with capacities, by the shares of a capacitated assignment). Its
    weight is its yearly service calls (installed-base units × call rate, as
    the weights already are).
Engineer hours (per outlet, per year)
    ``calls × hours_per_call`` plus travel for on-site calls:
    ``calls × onsite_share × 2 × travel hours`` (there and back), with the
    serving tier's keys. Travel hours are the distance ÷ speed on the road
    (great-circle km × detour factor ÷ speed; road km ÷ speed; minutes ÷ 60).
Engineers
    ``ceil(engineer_hours ÷ engineer_hours_per_year)``;
    ``engineer_utilisation`` is the hours over the engineers' working hours;
    ``output_per_engineer`` is ``calls × revenue_per_call ÷ engineers`` when
    the tier gives ``revenue_per_call``.
Response time
    The estimated arrival at a point is its travel hours from the serving
    outlet (the nearest open outlet reaching it, else the nearest open outlet
    of any tier) plus the tier's ``dispatch_hours``; it is within promise when
    no later than the tier's ``response_hours`` for the point's grade
    (:meth:`netplan.config.Tier.response_promise_hours`). Reported as a
    weighted share overall, by grade and by province (or region column).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from netplan.config import Scenario
from netplan.reach import reach_from_points

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

    from netplan.reach import ReachMatrix

__all__ = [
    "REGION_COLUMNS",
    "STAFFING_COLUMNS",
    "Staffing",
    "response_kpis",
    "staffing_from_points",
]

#: Columns the staffing adds to a plan's sites, in order.
STAFFING_COLUMNS = (
    "annual_calls",
    "engineer_hours",
    "engineers",
    "engineer_utilisation",
    "output_per_engineer",
)
#: Demand columns the response share is broken down by, first found wins.
REGION_COLUMNS = ("province", "region", "state")


@dataclass
class Staffing:
    """Engineers per outlet and response times of a network.

    Attributes
    ----------
    per_site
        One row per site (input order): :data:`STAFFING_COLUMNS` (zeros and
        NaN for sites that are not open).
    response
        ``{"today": ..., "plan": ...}``: response KPIs of today's network and
        of the plan (:func:`response_kpis`).
    assumptions
        Defaults the figures rest on (tiers without their own keys), for
        ``summary.json`` warnings.
    """

    per_site: pd.DataFrame
    response: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)

    def summary(self, tiers: NDArray[Any] | None = None) -> dict[str, Any]:
        """Return the ``staffing`` block of ``summary.json``.

        Keys: ``engineers`` (total), ``engineers_by_tier``, ``annual_calls``,
        ``engineer_hours``, ``unassigned_calls``, ``output_per_engineer``
        (network, when revenues are given), ``response`` (today and plan)
        and ``assumptions``.
        """
        table = self.per_site
        engineers = int(table["engineers"].sum())
        by_tier: dict[str, int] = {}
        if tiers is not None:
            frame = pd.DataFrame({"tier": tiers, "engineers": table["engineers"].to_numpy()})
            frame = frame[frame["engineers"] > 0]
            by_tier = {
                str(k): int(v) for k, v in sorted(frame.groupby("tier")["engineers"].sum().items())
            }
        revenue = table["output_per_engineer"] * table["engineers"]
        has_revenue = bool(table["output_per_engineer"].notna().any())
        return {
            "engineers": engineers,
            "engineers_by_tier": by_tier,
            "annual_calls": float(table["annual_calls"].sum()),
            "engineer_hours": float(table["engineer_hours"].sum()),
            "unassigned_calls": float(self.response.get("plan", {}).get("unassigned_calls", 0.0)),
            "output_per_engineer": (
                float(revenue.sum() / engineers) if has_revenue and engineers > 0 else None
            ),
            "response": self.response,
            "assumptions": list(self.assumptions),
        }

    def add_columns(self, sites: pd.DataFrame) -> pd.DataFrame:
        """Return ``sites`` (same row order) with :data:`STAFFING_COLUMNS` added."""
        out = sites.copy()
        for column in STAFFING_COLUMNS:
            out[column] = self.per_site[column].to_numpy()
        return out


def _travel_hours(
    distance: NDArray[np.float64], site_tier: NDArray[Any], reach: ReachMatrix, scenario: Scenario
) -> NDArray[np.float64]:
    """Return road travel hours for distances in ``reach.unit`` from sites of ``site_tier``."""
    if reach.unit == "minutes":
        return np.asarray(distance / 60.0, dtype=np.float64)
    speed = np.array(
        [
            scenario.tiers[t].speed_kmh if t in scenario.tiers else scenario.speed_kmh
            for t in site_tier
        ],
        dtype=np.float64,
    )
    detour = np.ones(len(distance))
    if reach.distance_model == "great_circle":
        detour = np.array(
            [
                scenario.tiers[t].detour_factor if t in scenario.tiers else scenario.detour_factor
                for t in site_tier
            ],
            dtype=np.float64,
        )
    return np.asarray(distance * detour / speed, dtype=np.float64)


def _tier_value(
    scenario: Scenario, tiers: NDArray[Any], key: str, missing: float
) -> NDArray[np.float64]:
    values = []
    for t in tiers.tolist():
        tier = scenario.tiers.get(t) if isinstance(t, str) else None
        value = getattr(tier, key) if tier is not None else None
        values.append(missing if value is None else float(value))
    return np.asarray(values, dtype=np.float64)


def _region_column(gdf_demand: pd.DataFrame) -> str | None:
    for column in REGION_COLUMNS:
        if column in gdf_demand.columns:
            return column
    return None


def _share_table(
    keys: NDArray[Any], weight: NDArray[np.float64], within: NDArray[np.bool_]
) -> dict[str, dict[str, float]]:
    frame = pd.DataFrame({"key": keys, "weight": weight, "within": weight * within})
    frame = frame[frame["key"].notna()]
    out: dict[str, dict[str, float]] = {}
    for key, group in frame.groupby("key", sort=True):
        total = float(group["weight"].sum())
        inside = float(group["within"].sum())
        out[str(key)] = {
            "weight": total,
            "weight_within_promise": inside,
            "share_within_promise": inside / total if total > 0 else math.nan,
        }
    return out


def response_kpis(
    gdf_demand: pd.DataFrame,
    reach: ReachMatrix,
    open_mask: NDArray[np.bool_],
    scenario: Scenario,
) -> dict[str, Any]:
    """Return the response-time KPIs of the network whose open sites ``open_mask`` marks.

    Parameters
    ----------
    gdf_demand
        The demand (``weight``, optional ``grade`` and ``province``/``region``).
    reach
        Its reach matrix against every site (:func:`netplan.reach.reach_from_points`).
    open_mask
        ``True`` for open sites.
    scenario
        Tiers with their speed, detour, ``dispatch_hours`` and promises.

    Returns
    -------
    dict
        ``share_within_promise`` (weighted), ``weight_within_promise``,
        ``total_weight``, ``arrival_hours`` (weighted ``mean``, ``p50``,
        ``p90``), ``by_grade``, ``by_region`` (with ``region_column``) and
        ``unassigned_calls`` (weight no open outlet reaches).
    """
    weight = gdf_demand["weight"].to_numpy(dtype=np.float64)
    open_index = np.flatnonzero(open_mask)
    total = float(weight.sum())
    if open_index.size == 0:
        return {
            "n_open": 0,
            "total_weight": total,
            "weight_within_promise": 0.0,
            "share_within_promise": 0.0 if total > 0 else math.nan,
            "unassigned_calls": total,
        }
    subset = reach.subset_sites(open_index)
    site, distance = subset.covering_nearest()
    unassigned = site < 0
    site = np.where(unassigned, subset.nearest_site, site)
    distance = np.where(unassigned, subset.nearest_distance, distance)
    has_site = site >= 0
    tiers = np.full(len(weight), None, dtype=object)
    tiers[has_site] = subset.site_tiers[site[has_site]]
    arrival = np.full(len(weight), np.inf)
    arrival[has_site] = _travel_hours(
        distance[has_site], tiers[has_site], reach, scenario
    ) + _tier_value(scenario, tiers[has_site], "dispatch_hours", 0.0)
    grades = (
        gdf_demand["grade"].astype(object).to_numpy()
        if "grade" in gdf_demand.columns
        else np.full(len(weight), None, dtype=object)
    )
    promise = np.array(
        [
            scenario.tiers[t].response_promise_hours(None if g is None or g != g else str(g))
            if isinstance(t, str) and t in scenario.tiers
            else -np.inf
            for t, g in zip(tiers.tolist(), grades.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    within = arrival <= promise + 1e-9
    inside = float(weight[within].sum())
    finite = np.isfinite(arrival)
    order = np.argsort(arrival[finite], kind="stable")
    sorted_arrival = arrival[finite][order]
    cumulative = np.cumsum(weight[finite][order])

    def percentile(q: float) -> float | None:
        if cumulative.size == 0 or cumulative[-1] <= 0:
            return None
        return float(sorted_arrival[np.searchsorted(cumulative, q * cumulative[-1])])

    result: dict[str, Any] = {
        "n_open": int(open_index.size),
        "total_weight": total,
        "weight_within_promise": inside,
        "share_within_promise": inside / total if total > 0 else math.nan,
        "arrival_hours": {
            "mean": (
                float(weight[finite] @ arrival[finite] / weight[finite].sum())
                if weight[finite].sum() > 0
                else None
            ),
            "p50": percentile(0.5),
            "p90": percentile(0.9),
        },
        "unassigned_calls": float(weight[unassigned].sum()),
    }
    if "grade" in gdf_demand.columns:
        result["by_grade"] = _share_table(grades, weight, within)
    region = _region_column(gdf_demand)
    if region is not None:
        result["region_column"] = region
        result["by_region"] = _share_table(
            gdf_demand[region].astype(object).to_numpy(), weight, within
        )
    return result


def staffing_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    open_mask: NDArray[np.bool_],
    today_mask: NDArray[np.bool_] | None = None,
    reach: ReachMatrix | None = None,
    shares: Mapping[str, Any] | None = None,
    matrix: Any = None,
) -> Staffing:
    """Return the engineers each open outlet needs and the response times, today and planned.

    Parameters
    ----------
    gdf_demand
        The raw demand (``id``, ``weight`` = yearly calls, optional ``grade``
        and ``province``).
    gdf_sites
        Every site (``id``, ``tier``).
    scenario
        Tiers with the staffing keys (``hours_per_call``,
        ``engineer_hours_per_year``, ``onsite_share``, ``revenue_per_call``,
        ``dispatch_hours``) and the response promises.
    open_mask
        ``True`` for the plan's open outlets.
    today_mask
        ``True`` for today's outlets (response "today"); ``None`` skips it.
    reach
        The reach matrix of this demand against every site, when already built.
    shares
        A capacitated assignment: ``{"rows", "cols", "share"}`` arrays of
        (demand index, site index, share of the point's weight); ``None`` to
        assign each point to the nearest open outlet reaching it.
    matrix
        A user cost matrix, as for :func:`netplan.reach.reach_from_points`.

    Returns
    -------
    Staffing
        Per-site figures and response KPIs.
    """
    if reach is None:
        reach = reach_from_points(gdf_demand, gdf_sites, scenario, matrix=matrix)
    weight = gdf_demand["weight"].to_numpy(dtype=np.float64)
    n_sites = len(gdf_sites)
    tiers = (
        np.array(
            [t if isinstance(t, str) else None for t in gdf_sites["tier"].tolist()], dtype=object
        )
        if "tier" in gdf_sites.columns
        else np.full(n_sites, None, dtype=object)
    )
    open_mask = np.asarray(open_mask, dtype=bool)
    if shares is not None:
        rows = np.asarray(shares["rows"], dtype=np.int64)
        cols = np.asarray(shares["cols"], dtype=np.int64)
        part = np.asarray(shares["share"], dtype=np.float64)
        distance = np.asarray(reach.matrix[rows, cols], dtype=np.float64).ravel()
    else:
        open_index = np.flatnonzero(open_mask)
        subset = reach.subset_sites(open_index)
        site, nearest = subset.covering_nearest()
        rows = np.flatnonzero(site >= 0)
        cols = open_index[site[rows]] if open_index.size else np.zeros(0, dtype=np.int64)
        part = np.ones(len(rows))
        distance = nearest[rows]
    calls_pair = weight[rows] * part
    pair_tiers = tiers[cols]
    travel = _travel_hours(distance, pair_tiers, reach, scenario)
    hours_pair = calls_pair * (
        _tier_value(scenario, pair_tiers, "hours_per_call", 0.0)
        + _tier_value(scenario, pair_tiers, "onsite_share", 0.0) * 2.0 * travel
    )
    calls = np.bincount(cols, weights=calls_pair, minlength=n_sites)
    hours = np.bincount(cols, weights=hours_pair, minlength=n_sites)
    per_year = _tier_value(scenario, tiers, "engineer_hours_per_year", math.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        engineers = np.where(open_mask & (hours > 0), np.ceil(hours / per_year - 1e-9), 0.0)
        engineers = np.where(np.isfinite(engineers), engineers, 0.0)
        utilisation = np.where(engineers > 0, hours / (engineers * per_year), math.nan)
        revenue = _tier_value(scenario, tiers, "revenue_per_call", math.nan)
        output = np.where(engineers > 0, calls * revenue / engineers, math.nan)
    per_site = pd.DataFrame(
        {
            "annual_calls": np.round(calls, 9),
            "engineer_hours": np.round(hours, 9),
            "engineers": engineers.astype(np.int64),
            "engineer_utilisation": np.round(utilisation, 9),
            "output_per_engineer": np.round(output, 9),
        }
    )
    response = {"plan": response_kpis(gdf_demand, reach, open_mask, scenario)}
    if today_mask is not None:
        response["today"] = response_kpis(
            gdf_demand, reach, np.asarray(today_mask, dtype=bool), scenario
        )
    used = sorted({t for t in tiers[open_mask].tolist() if isinstance(t, str)})
    assumptions = []
    for name in used:
        tier = scenario.tiers.get(name)
        if tier is not None and tier.response_hours is None and not tier.grade_response_hours:
            assumptions.append(
                f"tier {name} states no response_hours: its on-site promise is taken as "
                f"{tier.response_promise_hours():g} h"
            )
    return Staffing(per_site=per_site, response=response, assumptions=assumptions)
