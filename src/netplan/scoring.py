"""Multi-criteria scores of candidate sites, with a per-factor breakdown and reasons.

:func:`score_sites` scores every candidate site (status ``candidate`` by
default) on the selection factors a planner weighs (see DOMAIN.md), each as a
raw value and as a 0–100 sub-score:

=========================  ==========================================================  =========
factor                     raw value                                                   better
=========================  ==========================================================  =========
``demand``                 demand weight the site reaches (its tier's promise, by      higher
                           each point's grade)
``gap_fill``               of that, the weight no outlet of today's network reaches    higher
``overlap``                share of the reached weight today's network already         lower
                           reaches (0 when the site reaches nothing)
``distance_to_outlet``     great-circle km to the nearest outlet of today's network    higher
                           (spreads the network; empty when there is none: sub-score
                           100)
``competitors``            competitors' outlets within the tier's default reach        lower
``cost``                   the site's ``fixed_cost``                                   lower
attribute columns          the column's value (``[scoring.attributes]``: weight and    per
                           direction ``benefit`` or ``cost``)                          direction
=========================  ==========================================================  =========

Today's network is the sites with status ``existing`` or ``required`` (a
scored site that belongs to it is left out of it for its own factors).
Sub-scores are min–max normalised **within each tier** (a hub's 300 km
catchment is not compared with a community point's 10 km): the best value in
the tier scores 100, the worst 0, and a factor on which every site of the tier
is equal scores 50. A missing attribute value scores 0 (with a warning).
The total is the weighted mean of the sub-scores (weights from
``[scoring.weights]`` and ``[scoring.attributes]``, normalised to sum to 1),
so it lies in 0–100. ``rank`` is the rank within the tier (1 = best; ties go
to the lower site id). The reasons name the (up to three) factors that
contribute most to a site's total, in English and Chinese.

Scores are deterministic: same input, same numbers and order.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netplan import display
from netplan.config import Scenario, default_scenario
from netplan.errors import ConfigError, InputError, InputWarning, Problem
from netplan.geo import chord_from_km, km_from_chord, unit_xyz
from netplan.i18n import text
from netplan.inputs import input_notes
from netplan.io import numbers_from_cells, source_file, write_frame, write_text
from netplan.reach import ProgressCallback, ReachMatrix, reach_from_points

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

__all__ = ["FACTORS", "FACTOR_DIRECTIONS", "ScoreResult", "normalise_scores", "score_sites"]

#: The built-in factors, in column order.
FACTORS = ("demand", "gap_fill", "overlap", "distance_to_outlet", "competitors", "cost")
#: Whether a higher raw value is better (``benefit``) or worse (``cost``).
FACTOR_DIRECTIONS = {
    "demand": "benefit",
    "gap_fill": "benefit",
    "overlap": "cost",
    "distance_to_outlet": "benefit",
    "competitors": "cost",
    "cost": "cost",
}
#: Statuses of today's network.
NETWORK_STATUSES = ("existing", "required")
#: How many reasons are given per site.
N_REASONS = 3


@dataclass(repr=False)
class ScoreResult:
    """Scores of candidate sites.

    Attributes
    ----------
    scores
        One row per scored site, best first within each tier (tiers in
        scenario order): ``site_id, tier, total_score, rank``, then
        ``<factor>_value`` and ``<factor>_score`` for each factor, then
        ``name``, ``reasons_en`` and ``reasons_zh``.
    factors
        Factor names in column order (built-ins, then attribute columns).
    weights
        Normalised weight of each factor (sums to 1).
    directions
        ``benefit`` or ``cost`` per factor.
    scenario_name
        Name of the scenario the weights came from.
    """

    scores: pd.DataFrame
    factors: list[str]
    weights: dict[str, float]
    directions: dict[str, str]
    scenario_name: str = ""
    n_network_sites: int = 0
    n_competitors: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the scoring set-up and the best site of each tier."""
        best: dict[str, dict[str, Any]] = {}
        for tier, group in self.scores.groupby("tier", sort=False):
            top = group.iloc[0]
            best[str(tier)] = {
                "site_id": str(top["site_id"]),
                "total_score": float(top["total_score"]),
                "reasons_en": str(top["reasons_en"]),
            }
        return {
            "scenario": self.scenario_name,
            "n_scored": len(self.scores),
            "n_network_sites": self.n_network_sites,
            "n_competitors": self.n_competitors,
            "factors": list(self.factors),
            "weights": {k: round(v, 10) for k, v in self.weights.items()},
            "directions": dict(self.directions),
            "best_by_tier": best,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return display.score_repr(self)

    def _repr_html_(self) -> str:
        return display.score_html(self)

    def to_files(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``scores.csv`` and ``summary.json`` to ``out_dir``; return the paths."""
        out = Path(out_dir)
        return {
            "scores": write_frame(self.scores, out / "scores.csv"),
            "summary": write_text(
                out / "summary.json",
                json.dumps(self.summary(), indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            ),
        }


def normalise_scores(values: NDArray[np.float64], direction: str) -> NDArray[np.float64]:
    """Return 0–100 sub-scores of ``values`` (min–max; all equal → 50; NaN → 0).

    Parameters
    ----------
    values
        Raw values; ``+inf`` counts as the best possible for ``benefit``.
    direction
        ``"benefit"`` (higher is better) or ``"cost"`` (lower is better).

    Examples
    --------
    >>> normalise_scores(np.array([1.0, 2.0, 3.0]), "benefit").tolist()
    [0.0, 50.0, 100.0]
    >>> normalise_scores(np.array([1.0, 2.0, 3.0]), "cost").tolist()
    [100.0, 50.0, 0.0]
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(values))
    finite = np.isfinite(values)
    if finite.any():
        low, high = float(values[finite].min()), float(values[finite].max())
        if high > low:
            share = (values[finite] - low) / (high - low)
            out[finite] = 100.0 * (share if direction == "benefit" else 1.0 - share)
        else:
            out[finite] = 50.0
    out[np.isposinf(values)] = 100.0 if direction == "benefit" else 0.0
    out[np.isneginf(values)] = 0.0 if direction == "benefit" else 100.0
    return out


def _factor_setup(scenario: Scenario) -> tuple[list[str], dict[str, float], dict[str, str]]:
    factors = list(FACTORS)
    weights = {name: float(scenario.scoring.weights.get(name, 0.0)) for name in FACTORS}
    directions = dict(FACTOR_DIRECTIONS)
    for attribute in scenario.scoring.attributes:
        if attribute.column in factors:
            msg = (
                f"{scenario.source}: `scoring.attributes.{attribute.column}`: the name is taken by "
                f"a built-in factor ({', '.join(FACTORS)}); rename the column"
            )
            raise ConfigError(msg)
        factors.append(attribute.column)
        weights[attribute.column] = float(attribute.weight)
        directions[attribute.column] = attribute.direction
    total = sum(weights.values())
    if total <= 0:
        msg = f"{scenario.source}: `scoring`: every factor weight is 0; give at least one a weight"
        raise ConfigError(msg)
    return factors, {k: v / total for k, v in weights.items()}, directions


def score_sites(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario | None = None,
    *,
    statuses: Sequence[str] = ("candidate",),
    matrix: pd.DataFrame | str | Path | None = None,
    progress: ProgressCallback | None = None,
    reach: ReachMatrix | None = None,
) -> ScoreResult:
    """Score sites on the selection factors and rank them within their tier.

    Parameters
    ----------
    gdf_demand
        Demand points (``id``, ``weight``, optional ``grade``), EPSG:4326.
    gdf_sites
        Sites (``id``, ``tier``, ``status``, ``fixed_cost``, optional ``name``
        and the attribute columns the scenario names).
    scenario
        Tiers, promises and scoring weights; the built-in default when ``None``.
    statuses
        Statuses of the sites to score (default: candidates only).
    matrix
        Optional user cost matrix for the reach (see :func:`netplan.reach.reach_from_points`).
    progress
        Progress callback for the reach computation.
    reach
        The reach matrix of ``gdf_demand`` against every site of
        ``gdf_sites``, already built (e.g. the one coverage and the plan
        used): the scored and network columns are taken from it and none is
        built.

    Returns
    -------
    ScoreResult
        The scores table and the set-up.

    Raises
    ------
    InputError
        No site has one of ``statuses``, or an attribute column is missing.
    ConfigError
        Every weight is 0, or an attribute is named like a built-in factor.

    Examples
    --------
    >>> result = score_sites(demand, sites, scenario)  # doctest: +SKIP
    >>> result.scores[["site_id", "tier", "total_score", "rank"]].head()  # doctest: +SKIP
    """
    scenario = scenario or default_scenario()
    factors, weights, directions = _factor_setup(scenario)
    sites = gdf_sites.reset_index(drop=True)
    status = sites["status"].astype(object).fillna("existing").astype(str).to_numpy()
    tiers = sites["tier"].astype(object).to_numpy()
    scored = _scored_sites(sites, gdf_sites, status, tiers, statuses, scenario)
    network = np.flatnonzero(np.isin(status, NETWORK_STATUSES) & pd.notna(tiers))
    competitors = np.flatnonzero(status == "competitor")
    used = np.union1d(scored, network)
    if reach is not None:
        if reach.n_demand != len(gdf_demand) or reach.n_sites != len(sites):
            msg = (
                f"the reach matrix given is {reach.n_demand} × {reach.n_sites}; expected "
                f"{len(gdf_demand)} demand points × {len(sites)} sites"
            )
            raise InputError(msg)
        reach = reach.subset_sites(used)
    else:
        reach = reach_from_points(
            gdf_demand, sites.iloc[used], scenario, matrix=matrix, progress=progress
        )
    weights_demand = np.asarray(gdf_demand["weight"], dtype=np.float64)
    values = _demand_factors(reach, used, network, scored, weights_demand, factors)
    notes = [  # the inputs' notes were warned when read; the summary keeps them
        *input_notes(gdf_demand, gdf_sites),
        *_site_factors(values, sites, scored, network, competitors, tiers, scenario),
    ]
    frame = _score_table(sites, scored, tiers, values, factors, weights, directions, scenario)
    return ScoreResult(
        scores=frame,
        factors=factors,
        weights=weights,
        directions=directions,
        scenario_name=scenario.name,
        n_network_sites=int(network.size),
        n_competitors=int(competitors.size),
        notes=notes,
    )


def _scored_sites(
    sites: pd.DataFrame,
    gdf_sites: pd.DataFrame,
    status: NDArray[np.object_],
    tiers: NDArray[np.object_],
    statuses: Sequence[str],
    scenario: Scenario,
) -> NDArray[np.int64]:
    """Return the positions of the sites to score, checking there are some and their columns."""
    scored = np.flatnonzero(np.isin(status, list(statuses)) & pd.notna(tiers))
    if scored.size == 0:
        msg = (
            f"no site to score: none has status {' or '.join(statuses)} and a tier "
            f"({len(sites)} sites read); mark candidate sites with status 'candidate'"
        )
        raise InputError([Problem(source_file(gdf_sites, "sites"), None, None, msg)])
    missing = [a.column for a in scenario.scoring.attributes if a.column not in sites.columns]
    if missing:
        msg = (
            f"the sites have no column {', '.join(repr(c) for c in missing)}, named under "
            f"[scoring.attributes] in {scenario.source}; add the column or remove the attribute"
        )
        raise InputError([Problem(source_file(gdf_sites, "sites"), None, None, msg)])
    return scored


def _demand_factors(
    reach: ReachMatrix,
    used: NDArray[np.int64],
    network: NDArray[np.int64],
    scored: NDArray[np.int64],
    weights_demand: NDArray[np.float64],
    factors: list[str],
) -> dict[str, NDArray[np.float64]]:
    """Return every factor with the demand factors filled: demand reached, gap filled, overlap.

    ``reach`` has the ``used`` sites (scored and network) as columns.
    """
    column_of = {int(site): k for k, site in enumerate(used)}
    in_network = np.isin(used, network)
    # Per demand point, how many network sites reach it (read from the structure:
    # zero distances are stored entries).
    indptr = reach.matrix.indptr
    entry_rows = np.repeat(np.arange(reach.n_demand), np.diff(indptr))
    entry_in_network = in_network[reach.matrix.indices]
    network_count = np.bincount(entry_rows[entry_in_network], minlength=reach.n_demand)
    csc = reach.matrix.tocsc()
    csc.sort_indices()

    values: dict[str, NDArray[np.float64]] = {name: np.zeros(scored.size) for name in factors}
    for position, site in enumerate(scored):
        column = column_of[int(site)]
        rows = csc.indices[csc.indptr[column] : csc.indptr[column + 1]]
        reached = float(weights_demand[rows].sum())
        others = network_count[rows] - (1 if in_network[column] else 0)
        uncovered = float(weights_demand[rows][others <= 0].sum())
        values["demand"][position] = reached
        values["gap_fill"][position] = uncovered
        values["overlap"][position] = (reached - uncovered) / reached if reached > 0 else 0.0

    return values


def _site_factors(
    values: dict[str, NDArray[np.float64]],
    sites: pd.DataFrame,
    scored: NDArray[np.int64],
    network: NDArray[np.int64],
    competitors: NDArray[np.int64],
    tiers: NDArray[np.object_],
    scenario: Scenario,
) -> list[str]:
    """Fill the site factors (distance, competitors, cost, attributes); return notes."""
    lon = np.asarray(sites.geometry.x, dtype=np.float64)
    lat = np.asarray(sites.geometry.y, dtype=np.float64)
    xyz = unit_xyz(lon, lat)
    values["distance_to_outlet"] = _nearest_other_km(xyz, scored, network)
    values["competitors"] = _competitors_within(xyz, scored, competitors, tiers, scenario)
    values["cost"] = np.asarray(sites["fixed_cost"], dtype=np.float64)[scored]
    notes: list[str] = []
    for attribute in scenario.scoring.attributes:
        raw = numbers_from_cells(sites[attribute.column], attribute.column)[scored]
        n_missing = int(np.isnan(raw).sum())
        if n_missing:
            note = (
                f"{n_missing} scored site(s) have no numeric '{attribute.column}'; "
                "they score 0 on that factor"
            )
            notes.append(note)
            warnings.warn(note, InputWarning, stacklevel=2)
        values[attribute.column] = raw

    return notes


def _score_table(
    sites: pd.DataFrame,
    scored: NDArray[np.int64],
    tiers: NDArray[np.object_],
    values: dict[str, NDArray[np.float64]],
    factors: list[str],
    weights: dict[str, float],
    directions: dict[str, str],
    scenario: Scenario,
) -> pd.DataFrame:
    """Return the scores table: factor values and scores, total, rank within tier, reasons."""
    n = scored.size
    scored_tiers = tiers[scored].astype(str)
    sub: dict[str, NDArray[np.float64]] = {name: np.zeros(n) for name in factors}
    for tier in pd.unique(scored_tiers):
        members = np.flatnonzero(scored_tiers == tier)
        for name in factors:
            sub[name][members] = normalise_scores(values[name][members], directions[name])
    total = sum(weights[name] * sub[name] for name in factors)
    assert isinstance(total, np.ndarray)

    ids = sites["id"].astype(str).to_numpy()[scored]
    names = (
        sites["name"].astype(object).fillna("").astype(str).to_numpy()[scored]
        if "name" in sites.columns
        else np.full(n, "", dtype=object)
    )
    frame = pd.DataFrame(
        {"site_id": ids, "tier": scored_tiers, "total_score": np.round(total, 4), "rank": 0}
    )
    for name in factors:
        raw = values[name]
        frame[f"{name}_value"] = np.where(np.isposinf(raw), np.nan, raw)
        frame[f"{name}_score"] = np.round(sub[name], 4)
    frame["name"] = names
    frame["reasons_en"] = [
        _reasons(i, factors, weights, directions, values, sub, "en") for i in range(n)
    ]
    frame["reasons_zh"] = [
        _reasons(i, factors, weights, directions, values, sub, "zh") for i in range(n)
    ]
    tier_order = {name: k for k, name in enumerate(scenario.tiers)}
    frame["_tier_order"] = frame["tier"].map(tier_order).fillna(len(tier_order))
    frame = frame.sort_values(
        ["_tier_order", "total_score", "site_id"], ascending=[True, False, True], kind="mergesort"
    )
    frame["rank"] = frame.groupby("tier", sort=False).cumcount() + 1
    frame = frame.drop(columns="_tier_order").reset_index(drop=True)
    return frame


def _nearest_other_km(
    xyz: NDArray[np.float64], scored: NDArray[np.int64], network: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Great-circle km from each scored site to the nearest network site other than itself."""
    out = np.full(scored.size, np.inf)
    if network.size == 0:
        return out
    tree = cKDTree(xyz[network])
    k = min(2, network.size)
    chord, index = tree.query(xyz[scored], k=k)
    chord = np.asarray(chord).reshape(scored.size, k)
    index = np.asarray(index).reshape(scored.size, k)
    is_self = network[index] == scored[:, None]
    chord = np.where(is_self, np.inf, chord)
    best = chord.min(axis=1)
    finite = np.isfinite(best)
    out[finite] = km_from_chord(best[finite])
    return out


def _competitors_within(
    xyz: NDArray[np.float64],
    scored: NDArray[np.int64],
    competitors: NDArray[np.int64],
    tiers: NDArray[Any],
    scenario: Scenario,
) -> NDArray[np.float64]:
    """Count competitors within each scored site's default tier reach (great-circle km).

    Under ``road_estimate`` a radius in road km reaches radius ÷ detour great-circle
    km; under ``matrix`` (no coordinates-based reach) the radius is read as
    great-circle km.
    """
    if competitors.size == 0:
        return np.zeros(scored.size)
    tree = cKDTree(xyz[competitors])
    model = "great_circle" if scenario.distance_model == "matrix" else scenario.distance_model
    radius_km = np.array(
        [scenario.tiers[str(tiers[s])].reach_km(distance_model=model) for s in scored]
    )
    counts = tree.query_ball_point(
        xyz[scored], chord_from_km(radius_km) * (1 + 1e-12), return_length=True
    )
    return np.asarray(counts, dtype=np.float64)


def _format_value(name: str, value: float, lang: str) -> str:
    if not math.isfinite(value):
        return ""
    if name == "overlap":
        return f"{100 * value:.0f}%"
    if name == "distance_to_outlet":
        return f"{value:,.0f}"
    if name == "competitors":
        return f"{value:.0f}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _reasons(
    i: int,
    factors: list[str],
    weights: dict[str, float],
    directions: dict[str, str],
    values: dict[str, NDArray[np.float64]],
    sub: dict[str, NDArray[np.float64]],
    lang: str,
) -> str:
    """Return the top reasons for site ``i`` as one line of text."""
    contributions = [(weights[name] * sub[name][i], -k, name) for k, name in enumerate(factors)]
    ranked = [c for c in sorted(contributions, reverse=True) if c[0] > 0]
    strong = [c for c in ranked if sub[c[2]][i] >= 50.0][:N_REASONS] or ranked[:1]
    phrases = []
    for _, _, name in strong:
        value = float(values[name][i])
        shown = _format_value(name, value, lang)
        if name == "distance_to_outlet" and not math.isfinite(value):
            phrases.append(text("reason_distance_to_outlet_none", lang))
        elif name == "competitors" and value == 0:
            phrases.append(text("reason_competitors_none", lang))
        elif name in FACTORS:
            phrases.append(text(f"reason_{name}", lang, value=shown))
        else:
            phrases.append(
                text(f"reason_attribute_{directions[name]}", lang, column=name, value=shown)
            )
    return ("; " if lang == "en" else "；").join(phrases)
