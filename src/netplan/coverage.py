"""Coverage of a given outlet network: who is reached, by which outlet, and how well.

Which outlets count: sites with status ``existing`` or ``required``; ``candidate``,
``closed`` and ``competitor`` sites do not. For every demand point netplan finds
the nearest counting outlet (any tier), whether an outlet reaches it within
its tier's promise for the point's region grade (covered), the closest such
outlet (covering site) and how many reach it.

KPIs (:meth:`CoverageResult.summary`): count and **weighted** coverage rates
(weights are the installed-base service demand), by tier, by region grade and
by an admin column when the demand has one (``province``, ``city``,
``district``, ``region``); distance percentiles to the nearest outlet; the
overlap rate (share of covered weight reached by two or more outlets);
support-chain health (outlets farther than their tier's support radius from
every outlet of the parent tier); blind-spot totals.

Distances: ``distance_km`` is great-circle km (``great_circle``), road km
(``road_estimate``: great-circle × detour), or the matrix cost with a km matrix.
With a matrix in minutes, ``distance_km`` is the great-circle km to the
nearest-by-time outlet and the points gain a ``travel_minutes`` column.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netplan.blindspots import BlindspotOptions, blindspots_from_points, empty_blindspots
from netplan.config import Scenario
from netplan.errors import InputError, InputWarning, Problem
from netplan.geo import great_circle_km, km_from_chord, unit_xyz
from netplan.inputs import input_notes
from netplan.io import (
    atomic_path,
    read_matrix,
    source_file,
    write_frame,
    write_point_geoparquet,
)
from netplan.progress import ProgressArg, callback_of, reports_progress
from netplan.reach import (
    ProgressCallback,
    ReachCounts,
    ReachMatrix,
    demand_grades,
    point_coordinates,
    reach_counts_from_arrays,
    reach_counts_from_matrix,
    reach_from_arrays,
    reach_from_points,
    site_arrays,
)
from netplan.regions import tag_points
from netplan.results import CoverageTables, stable_json

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "ADMIN_COLUMNS",
    "COUNTING_STATUSES",
    "PLACE_COLUMNS",
    "POINT_COLUMNS",
    "CoverageResult",
    "coverage_from_points",
    "summary_json",
]

#: Site statuses whose outlets count for coverage.
COUNTING_STATUSES = ("existing", "required")
#: Admin/region columns reported when the demand has them, in this order.
ADMIN_COLUMNS = ("province", "city", "district", "region")
#: Admin columns taken from the built-in boundaries when the demand has none
#: (:func:`netplan.regions.tag_points`); also the blind spots' place properties.
PLACE_COLUMNS = ("province", "city")
#: Columns of :attr:`CoverageResult.points`, in order (``grade`` follows when present).
POINT_COLUMNS = (
    "id",
    "lon",
    "lat",
    "weight",
    "nearest_site",
    "nearest_tier",
    "distance_km",
    "covered",
    "covering_site",
    "n_covering",
)


@dataclass(repr=False)
class CoverageResult(CoverageTables):
    """Coverage of a network: per-point results, blind spots, KPIs and the reach matrix.

    The tables, :meth:`summary`, :meth:`to_files` and :meth:`from_files` are
    those of :class:`netplan.results.CoverageTables`.

    Attributes
    ----------
    points
        One row per demand point, input order: :data:`POINT_COLUMNS`
        (+ ``grade``, + ``travel_minutes`` with a minutes matrix), point geometry.
    blindspots
        Blind-spot zones (see :mod:`netplan.blindspots`), heaviest first.
    kpis
        The figures :meth:`summary` returns.
    reach
        The reach matrix of the counting outlets (columns are those sites).
        When coverage was computed from distances alone (no matrix given,
        none passed in), the per-point figures come from the matrix-free
        kernel :func:`netplan.reach.reach_counts_from_arrays` and the matrix is
        built on first access of this attribute (the same matrix).
    """

    reach_source: ReachMatrix | Callable[[], ReachMatrix] = field(kw_only=True, repr=False)

    @property
    def reach(self) -> ReachMatrix:
        """The reach matrix of the counting outlets, built on first access if need be."""
        if not isinstance(self.reach_source, ReachMatrix):
            self.reach_source = self.reach_source()
        return self.reach_source

    def write_points(self, path: Path, fmt: str) -> Path:
        """Write the per-point table; points read as ``lon``/``lat`` are written from the arrays.

        The same bytes as the GeoDataFrame of those points would give
        (:func:`netplan.io.write_point_geoparquet` for GeoParquet).
        """
        points = self.points
        if _has_geometry(points) or fmt == "csv":
            return super().write_points(path, fmt)
        lon = points["lon"].to_numpy(dtype=np.float64)
        lat = points["lat"].to_numpy(dtype=np.float64)
        if fmt == "parquet":
            with atomic_path(path) as tmp:
                if not write_point_geoparquet(points, tmp, lon, lat):
                    _with_geometry(points, lon, lat).to_parquet(tmp, index=False)
            return path
        return write_frame(_with_geometry(points, lon, lat), path, fmt=fmt)


#: Stable JSON of a coverage summary (the one rule: :func:`netplan.results.stable_json`).
summary_json = stable_json


# --------------------------------------------------------------------------- figures


def rate(part: float, whole: float) -> float | None:
    """Return ``part / whole``, or ``None`` when ``whole`` is 0.

    Examples
    --------
    >>> rate(1.0, 4.0), rate(1.0, 0.0)
    (0.25, None)
    """
    return part / whole if whole > 0 else None


def group_stats(
    codes: NDArray[np.int64],
    labels: list[str],
    weight: NDArray[np.float64],
    covered: NDArray[np.bool_],
) -> dict[str, dict[str, Any]]:
    """Return counts, weights and coverage rates per group (``codes`` index ``labels``)."""
    size = len(labels)
    n = np.bincount(codes, minlength=size)
    w = np.bincount(codes, weights=weight, minlength=size)
    n_cov = np.bincount(codes, weights=covered.astype(np.float64), minlength=size)
    w_cov = np.bincount(codes, weights=np.where(covered, weight, 0.0), minlength=size)
    out: dict[str, dict[str, Any]] = {}
    for k, label in enumerate(labels):
        out[label] = {
            "n_demand": int(n[k]),
            "weight": float(w[k]),
            "n_covered": int(n_cov[k]),
            "covered_weight": float(w_cov[k]),
            "coverage_rate": rate(float(n_cov[k]), float(n[k])),
            "weighted_coverage_rate": rate(float(w_cov[k]), float(w[k])),
        }
    return out


def group_codes(values: pd.Series) -> tuple[NDArray[np.int64], list[str]]:
    """Return each value's group code and the sorted labels (missing values are ``(none)``).

    Labels are the values' text (``str``), sorted; values with the same text
    share a code. Vectorised: the distinct values are found first
    (``pandas.factorize``, or a categorical's own categories) and only those
    are turned into text.

    Examples
    --------
    >>> codes, labels = group_codes(pd.Series(["B", None, "A", "B"]))
    >>> codes.tolist(), labels
    ([2, 0, 1, 2], ['(none)', 'A', 'B'])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        raw = np.asarray(values.cat.codes.to_numpy(), dtype=np.int64)
        uniques = list(values.cat.categories)
    else:
        raw, found = pd.factorize(values, use_na_sentinel=True)
        raw = np.asarray(raw, dtype=np.int64)
        uniques = list(found)
        if values.dtype == object and not all(isinstance(u, str) for u in uniques):
            # Mixed objects (1 and 1.0 are one value but two texts): go by text.
            text = values.astype(object).where(values.notna(), "(none)").map(str)
            raw, found = pd.factorize(text)
            raw = np.asarray(raw, dtype=np.int64)
            uniques = list(found)
    texts = [str(u) for u in uniques] + ["(none)"]  # -1 (missing) picks the last
    used = np.bincount(raw + 1, minlength=len(texts)) > 0  # (an unused category has no label)
    labels = sorted({texts[k - 1] for k in np.flatnonzero(used).tolist()})
    position = {label: k for k, label in enumerate(labels)}
    lookup = np.array([position.get(text, -1) for text in texts], dtype=np.int64)
    codes: NDArray[np.int64] = lookup[raw]
    return codes, labels


def percentiles(
    values: NDArray[np.float64], weight: NDArray[np.float64]
) -> dict[str, float | None]:
    """Return mean, p50, p90, p95, max and weighted mean of the finite ``values``."""
    finite = np.isfinite(values)
    if not finite.any():
        return {
            "mean": None,
            "p50": None,
            "p90": None,
            "p95": None,
            "max": None,
            "weighted_mean": None,
        }
    v = values[finite]
    w = weight[finite]
    p50, p90, p95 = np.percentile(v, [50, 90, 95])
    return {
        "mean": float(v.mean()),
        "p50": float(p50),
        "p90": float(p90),
        "p95": float(p95),
        "max": float(v.max()),
        "weighted_mean": float(np.average(v, weights=w)) if w.sum() > 0 else None,
    }


def tier_reach(
    reach: ReachMatrix, covering: NDArray[np.int64], scenario: Scenario
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return, per demand point, the tiers reaching it and the tier of its covering outlet.

    Returns
    -------
    tuple
        A bit mask (bit ``k`` set: an outlet of the scenario's ``k``-th tier
        reaches the point) and the index of the covering outlet's tier (-1: none).
    """
    names = list(scenario.tiers)
    if len(names) > 62:
        msg = f"{scenario.source}: at most 62 tiers are supported, got {len(names)}"
        raise InputError(msg)
    site_code = np.array(
        [names.index(t) if t in scenario.tiers else -1 for t in reach.site_tiers], dtype=np.int64
    )
    rows = np.repeat(np.arange(reach.n_demand), np.diff(reach.matrix.indptr))
    entry_code = site_code[reach.matrix.indices] if reach.matrix.nnz else np.zeros(0, np.int64)
    bits = np.zeros(reach.n_demand, dtype=np.int64)
    for k in range(len(names)):
        hit = np.zeros(reach.n_demand, dtype=bool)
        hit[rows[entry_code == k]] = True
        bits |= hit.astype(np.int64) << k
    covering_tier = np.full(reach.n_demand, -1, dtype=np.int64)
    has_covering = covering >= 0
    if reach.n_sites:
        covering_tier[has_covering] = site_code[covering[has_covering]]
    return bits, covering_tier


def tier_stats(
    scenario: Scenario,
    site_tiers: NDArray[np.object_],
    reached_bits: NDArray[np.int64],
    covering_tier: NDArray[np.int64],
    weight: NDArray[np.float64],
) -> dict[str, dict[str, Any]]:
    """Return the ``by_tier`` KPIs from :func:`tier_reach`'s columns.

    ``site_tiers`` are the tiers of the counting outlets.
    """
    n_demand = len(weight)
    total_weight = float(weight.sum())
    out: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(scenario.tiers):
        reached = (np.asarray(reached_bits, dtype=np.int64) >> k) & 1 == 1
        primary = covering_tier == k
        out[name] = {
            "label": scenario.tiers[name].label,
            "n_sites": int((site_tiers == name).sum()),
            "n_covered": int(reached.sum()),
            "covered_weight": float(weight[reached].sum()),
            "coverage_rate": rate(float(reached.sum()), float(n_demand)),
            "weighted_coverage_rate": rate(float(weight[reached].sum()), total_weight),
            "n_primary": int(primary.sum()),
            "primary_weight": float(weight[primary].sum()),
        }
    return out


def support_chain(sites: gpd.GeoDataFrame, scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Return, per tier with a parent, the outlets with no parent outlet within support radius."""
    lon = np.asarray(sites.geometry.x, dtype=np.float64)
    lat = np.asarray(sites.geometry.y, dtype=np.float64)
    tiers = sites["tier"].astype(object).to_numpy() if "tier" in sites.columns else np.array([])
    ids = sites["id"].astype(str).to_numpy()
    out: dict[str, dict[str, Any]] = {}
    for tier in scenario.tiers.values():
        if tier.parent is None or tier.support_radius_km is None:
            continue
        children = np.flatnonzero(tiers == tier.name)
        parents = np.flatnonzero(tiers == tier.parent)
        if children.size == 0 or parents.size == 0:
            unsupported = children
        else:
            tree = cKDTree(unit_xyz(lon[parents], lat[parents]))
            chord, _ = tree.query(unit_xyz(lon[children], lat[children]), k=1)
            unsupported = children[km_from_chord(chord) > tier.support_radius_km]
        out[tier.name] = {
            "parent": tier.parent,
            "support_radius_km": tier.support_radius_km,
            "n_sites": int(children.size),
            "n_unsupported": int(unsupported.size),
            "unsupported_sites": [str(ids[i]) for i in unsupported],
        }
    return out


def check_demand(gdf: pd.DataFrame, what: str) -> NDArray[np.float64]:
    """Return the demand weights, checking there are points and the weights are 0 or more."""
    if len(gdf) == 0:
        msg = f"{what}: no demand points; give at least one row"
        raise InputError(msg)
    if "weight" not in gdf.columns:
        msg = f"{what}: no 'weight' column; read the file with netplan.io.read_points"
        raise InputError(msg)
    values = pd.to_numeric(gdf["weight"], errors="coerce")
    weight: NDArray[np.float64] = np.asarray(values, dtype=np.float64)
    if not np.isfinite(weight).all() or (weight < 0).any():
        msg = f"{what}: weights must be finite numbers 0 or more"
        raise InputError(msg)
    return weight


def check_total_weight(weight: NDArray[np.float64], what: str) -> float:
    """Return the total demand weight; a total of 0 raises :class:`InputError`."""
    total_weight = float(weight.sum())
    if total_weight <= 0:
        msg = (
            f"{what}: the total demand weight is 0, so weighted coverage means nothing; "
            "check the weight (or units) column"
        )
        raise InputError(msg)
    return total_weight


#: The file a frame was read from, for messages (:func:`netplan.io.source_file`).
source_name = source_file


def site_notes(status: NDArray[np.object_], sites_name: str) -> list[str]:
    """Return (and warn) the notes on which sites count: none, or required ones only."""
    counting = np.isin(status, COUNTING_STATUSES)
    notes: list[str] = []
    if not counting.any():
        notes.append(
            f"{sites_name}: no site has status existing or required, so nothing is covered "
            "and all demand is a blind spot"
        )
    elif int((status == "existing").sum()) == 0:
        notes.append(
            f"{sites_name}: no site has status existing; coverage counts the "
            f"{int(counting.sum())} required site(s) only"
        )
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=3)
    return notes


def customer_kpis(
    name: str, weight: NDArray[np.float64], covered: NDArray[np.bool_]
) -> dict[str, Any]:
    """Return the ``customers`` block: customers reached, by count and by weight."""
    covered_weight = float(weight[covered].sum())
    return {
        "file": name,
        "n_demand": len(weight),
        "n_covered": int(covered.sum()),
        "coverage_rate": rate(float(covered.sum()), float(len(weight))),
        "total_weight": float(weight.sum()),
        "covered_weight": covered_weight,
        "weighted_coverage_rate": rate(covered_weight, float(weight.sum())),
    }


def headline_kpis(
    weight: NDArray[np.float64],
    covered: NDArray[np.bool_],
    total_weight: float,
    counting: NDArray[np.bool_],
    status: NDArray[np.object_],
) -> dict[str, Any]:
    """Return the headline coverage figures: counts, weights and rates, sites by status."""
    n_demand = len(covered)
    covered_weight = float(weight[covered].sum())
    return {
        "n_demand": n_demand,
        "total_weight": total_weight,
        "n_covered": int(covered.sum()),
        "covered_weight": covered_weight,
        "n_uncovered": int((~covered).sum()),
        "uncovered_weight": float(weight[~covered].sum()),
        "coverage_rate": rate(float(covered.sum()), float(n_demand)),
        "weighted_coverage_rate": rate(covered_weight, total_weight),
        "n_sites": int(counting.sum()),
        "sites_by_status": {
            str(k): int(v) for k, v in sorted(pd.Series(status).value_counts().items())
        },
    }


def coverage_kpis(
    points: pd.DataFrame,
    *,
    status: NDArray[np.object_],
    counting_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    tiers: tuple[NDArray[np.int64], NDArray[np.int64]],
    grades: pd.Series | None,
    admin: Mapping[str, pd.Series],
    source: Mapping[str, str],
    blindspots: BlindspotOptions | None,
    customers: dict[str, Any] | None,
    notes: list[str],
) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    """Return every coverage KPI and the blind-spot zones from the per-point columns.

    The one KPI function of every coverage engine: :func:`coverage_from_points`
    (in memory) and the streamed and Dask engines of :mod:`netplan.scale`
    call it with the same columns, so they report the same figures.

    Parameters
    ----------
    points
        One row per demand point with :data:`POINT_COLUMNS` (+ ``travel_minutes``).
    status
        Every site's status (``sites_by_status``, the count of counting outlets).
    counting_sites
        The outlets that count (support-chain health).
    scenario
        Tiers and the support chain.
    tiers
        :func:`tier_reach`'s columns: tiers reaching each point, covering tier.
    grades
        Each point's region grade, or ``None``.
    admin
        Admin columns present (``province``, ...) by name.
    source
        ``scenario``, ``demand_file``, ``demand_kind``, ``sites_file``,
        ``distance_model`` and ``unit``, copied into the KPIs.
    blindspots
        How to group uncovered demand; ``None`` skips blind spots.
    customers
        The :func:`customer_kpis` block, or ``None``.
    notes
        Warnings for the summary (:func:`site_notes`).
    """
    weight = points["weight"].to_numpy(dtype=np.float64)
    covered = points["covered"].to_numpy(dtype=bool)
    total_weight = float(weight.sum())
    counting = np.isin(status, COUNTING_STATUSES)
    kpis = headline_kpis(weight, covered, total_weight, counting, status)
    kpis.update(source)
    reached_bits, covering_tier = tiers
    site_tiers = (
        counting_sites["tier"].astype(object).to_numpy()
        if "tier" in counting_sites.columns
        else np.full(len(counting_sites), None, dtype=object)
    )
    kpis["by_tier"] = tier_stats(scenario, site_tiers, reached_bits, covering_tier, weight)
    if grades is not None:
        codes, labels = group_codes(grades)
        kpis["by_grade"] = group_stats(codes, labels, weight, covered)
    else:
        kpis["by_grade"] = {}
    admin, tags = place_columns(points, admin)
    by_region: dict[str, Any] = {}
    for column in ADMIN_COLUMNS:
        if column in admin:
            codes, labels = group_codes(admin[column])
            by_region[column] = group_stats(codes, labels, weight, covered)
    kpis["by_region"] = by_region
    distance = points["distance_km"].to_numpy(dtype=np.float64)
    kpis["distance_km"] = percentiles(distance, weight)
    if "travel_minutes" in points.columns:
        kpis["travel_minutes"] = percentiles(
            points["travel_minutes"].to_numpy(dtype=np.float64), weight
        )
    zones = overlap_and_blindspots(
        kpis,
        points["lon"].to_numpy(dtype=np.float64),
        points["lat"].to_numpy(dtype=np.float64),
        weight,
        covered,
        points["n_covering"].to_numpy(dtype=np.int64),
        points["nearest_site"].to_numpy(dtype=object),
        distance,
        counting_sites,
        scenario,
        blindspots,
        tags=tags,
    )
    if customers is not None:
        kpis["customers"] = customers
    kpis["warnings"] = notes
    return kpis, zones


def overlap_and_blindspots(
    kpis: dict[str, Any],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    weight: NDArray[np.float64],
    covered: NDArray[np.bool_],
    n_covering: NDArray[np.int64],
    nearest_site: NDArray[np.object_],
    distance_km: NDArray[np.float64],
    counting_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    blindspots: BlindspotOptions | None,
    *,
    tags: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Add the overlap, support-chain and blind-spot KPIs to ``kpis``; return the zones.

    Shared by :func:`coverage_from_points` and the streamed and Dask engines
    (:mod:`netplan.scale`), so every engine computes these figures alike.
    The zones are named by place (:func:`zone_places`) from ``tags``, every
    point's :func:`netplan.regions.tag_points` row when already computed
    (else the points in zones are tagged here).
    """
    covered_weight = float(weight[covered].sum())
    overlap = covered & (n_covering >= 2)
    kpis["n_overlap"] = int(overlap.sum())
    kpis["overlap_weight"] = float(weight[overlap].sum())
    kpis["overlap_rate"] = rate(float(weight[overlap].sum()), covered_weight)
    kpis["support_chain"] = support_chain(counting_sites, scenario)

    zones = empty_blindspots()
    uncovered = np.flatnonzero(~covered)
    if blindspots is not None:
        zones, zone_of_point = blindspots_from_points(
            lon[uncovered],
            lat[uncovered],
            weight[uncovered],
            nearest_site[uncovered],
            distance_km[uncovered],
            blindspots,
        )
        in_zone = zone_of_point >= 0
        kpis["blindspot_method"] = blindspots.method
        kpis["h3_resolution"] = blindspots.h3_resolution
        kpis["min_zone_weight"] = blindspots.min_zone_weight
        if blindspots.method == "dbscan":
            kpis["eps_km"] = blindspots.eps_km
            kpis["min_samples"] = blindspots.min_samples
        in_zone_rows = uncovered[in_zone]
        if tags is not None:
            zone_tags = tags.iloc[in_zone_rows]
        else:
            zone_tags = tag_points(lon[in_zone_rows], lat[in_zone_rows])
        zones = zone_places(zones, zone_of_point[in_zone], weight[in_zone_rows], zone_tags)
        kpis["n_blindspot_points"] = int(in_zone.sum())
        kpis["blindspot_weight"] = float(weight[uncovered][in_zone].sum())
        kpis["dropped_zone_weight"] = float(weight[uncovered][~in_zone].sum())
    else:
        kpis["blindspot_method"] = None
        kpis["n_blindspot_points"] = 0
        kpis["blindspot_weight"] = 0.0
    kpis["n_blindspots"] = len(zones)
    if "province" not in zones.columns:  # no blind spots asked for
        zones = zone_places(zones, np.zeros(0, dtype=np.int64), weight[:0], tag_points([], []))
    return zones


def place_columns(
    points: pd.DataFrame, admin: Mapping[str, pd.Series]
) -> tuple[dict[str, pd.Series], pd.DataFrame | None]:
    """Return the admin columns with ``province`` and ``city`` filled from the boundaries.

    A column the demand has is kept as it is; a missing ``province`` or
    ``city`` is computed from the points' coordinates with
    :func:`netplan.regions.tag_points` (official Chinese names; ``(outside)``
    for points in no boundary). Also returns the tags when computed, else
    ``None``.
    """
    out = dict(admin)
    missing = [column for column in PLACE_COLUMNS if column not in admin]
    if not missing:
        return out, None
    tags = tag_points(
        points["lon"].to_numpy(dtype=np.float64),
        points["lat"].to_numpy(dtype=np.float64),
        categorical=True,
    )
    for column in missing:
        out[column] = pd.Series(tags[column].array, index=points.index)
    return out, tags


def zone_places(
    zones: gpd.GeoDataFrame,
    zone_of_point: NDArray[np.int64],
    weight: NDArray[np.float64],
    tags: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Return the zones with ``province`` and ``city`` properties: where most weight is.

    Always from the built-in boundaries (official Chinese names, whatever
    admin columns the demand has), so zones are named alike in every run:
    ``province`` is the province holding most of the zone's weight and
    ``city`` the heaviest city among the zone's points in that province (so
    the two nest); ties go to the name first in sort order. The columns come
    last, before the geometry.

    Parameters
    ----------
    zones
        The blind-spot zones.
    zone_of_point
        The zone row of each point in a zone.
    weight
        Those points' weights.
    tags
        Those points' :func:`netplan.regions.tag_points` rows.
    """
    out = zones.copy()
    n_zones = len(zones)
    keep = np.ones(zone_of_point.size, dtype=bool)
    for column in PLACE_COLUMNS:
        labels, code = _sorted_codes(tags[column])
        if n_zones == 0:
            out[column] = pd.Series([], index=zones.index, dtype=object)
            continue
        size = len(labels)
        cell = zone_of_point[keep] * size + code[keep]
        totals = np.bincount(cell, weights=weight[keep], minlength=n_zones * size)
        counts = np.bincount(cell, minlength=n_zones * size).astype(np.float64)
        totals, counts = totals.reshape(n_zones, size), counts.reshape(n_zones, size)
        # A zone of weightless points is named by where most of its points are.
        score = np.where(totals.sum(axis=1, keepdims=True) > 0, totals, counts)
        heaviest = score.argmax(axis=1)
        out[column] = pd.Series(labels[heaviest], index=zones.index, dtype=object)
        keep &= code == heaviest[zone_of_point]
    geometry = out.geometry.name
    ordered = [c for c in out.columns if c != geometry] + [geometry]
    return out[ordered]


def _sorted_codes(values: pd.Series) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Return the sorted distinct values and each value's position among them.

    ``np.unique(values, return_inverse=True)``, from the codes when ``values``
    is a categorical with sorted categories (:func:`netplan.regions.tag_points`).
    """
    if (
        isinstance(values.dtype, pd.CategoricalDtype)
        and values.cat.categories.is_monotonic_increasing
    ):
        categories = np.asarray(values.cat.categories, dtype=object)
        present, code = np.unique(values.cat.codes.to_numpy(), return_inverse=True)
        return categories[present], np.asarray(code, dtype=np.int64).ravel()
    labels, code = np.unique(values.to_numpy(dtype=object), return_inverse=True)
    return labels, np.asarray(code, dtype=np.int64).ravel()


# --------------------------------------------------------------------------- the analysis


@reports_progress("coverage")
def coverage_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    matrix: pd.DataFrame | str | Path | None = None,
    blindspots: BlindspotOptions | None = BlindspotOptions(),  # noqa: B008 (frozen, immutable)
    customers: gpd.GeoDataFrame | None = None,
    progress: ProgressArg = None,
    reach: ReachMatrix | None = None,
) -> CoverageResult:
    """Compute the coverage of today's network (existing and required outlets).

    Parameters
    ----------
    gdf_demand
        The weighted demand (installed base or customers) as
        :func:`netplan.io.read_points` returns it: ``id``, ``weight``,
        optional ``grade`` and admin columns, points in EPSG:4326; or the
        plain frame with ``lon``/``lat`` columns that ``read_points(...,
        geometry=False)`` returns (then :attr:`CoverageResult.points` has
        ``lon``/``lat`` and no geometry, and is written from them: the same
        files). Same for ``customers``.
    gdf_sites
        All sites; only status ``existing`` and ``required`` count.
    scenario
        Tiers, promises and the distance model.
    matrix
        A user cost matrix (file or frame with ``demand_id``, ``site_id``,
        ``cost``); pairs absent from it are unreachable.
    blindspots
        How to group uncovered demand into zones; ``None`` skips blind spots.
    customers
        Customers to report by count beside the weighted demand (the
        ``customers`` block of the summary), e.g. when the weighted demand is
        the installed base.
    progress
        ``progress(done, total)`` callback over the demand points while the
        reach matrix is built, or ``True``/``False`` for a progress bar or
        none; ``None`` shows a bar in notebooks only (:mod:`netplan.progress`).
    reach
        The reach matrix of ``gdf_demand`` against every site of
        ``gdf_sites`` (in that order), already built, e.g. the one a plan was
        solved on: its counting columns are used and none is built for the
        demand (``matrix`` then serves the customers only).

    Returns
    -------
    CoverageResult
        Per-point results, blind-spot zones, the reach matrix and KPIs.

    Raises
    ------
    InputError
        No demand points, total demand weight 0, bad weights, or a matrix
        naming unknown ids.
    ConfigError
        A site's tier is not defined in the scenario.

    Warns
    -----
    InputWarning
        When no site is an ``existing`` outlet (the warning is also in the
        summary's ``warnings``).

    Examples
    --------
    >>> from netplan import coverage_from_points, load_scenario
    >>> from netplan.io import read_installed_base, read_sites
    >>> national = "data/samples/national/"
    >>> scenario = load_scenario(national + "scenario.toml")  # doctest: +SKIP
    >>> base = national + "installed_base.csv"
    >>> demand = read_installed_base(base, scenario=scenario)  # doctest: +SKIP
    >>> sites = read_sites(national + "sites.csv", scenario=scenario)  # doctest: +SKIP
    >>> result = coverage_from_points(demand, sites, scenario)  # doctest: +SKIP
    >>> result.summary()["weighted_coverage_rate"]  # doctest: +SKIP
    """
    demand_name = source_name(gdf_demand, "demand")
    weight = check_demand(gdf_demand, demand_name)
    check_total_weight(weight, demand_name)
    status = (
        gdf_sites["status"].astype(str).to_numpy()
        if "status" in gdf_sites.columns
        else np.full(len(gdf_sites), "existing", dtype=object)
    )
    counting = np.isin(status, COUNTING_STATUSES)
    sites_name = source_name(gdf_sites, "sites")
    notes = site_notes(status, sites_name)

    customer_ids = (
        customers["id"].astype(str).to_numpy(dtype=object) if customers is not None else None
    )
    demand_ids = gdf_demand["id"].astype(str).to_numpy(dtype=object)
    id_sets = [demand_ids] if customer_ids is None else [demand_ids, customer_ids]
    matrices = _matrix_for(matrix, *id_sets)
    counting_sites = gdf_sites[counting]
    figures: _Figures
    reach_source: ReachMatrix | Callable[[], ReachMatrix]
    if reach is None and matrices[0] is None and scenario.distance_model != "matrix":
        # Distances alone: the matrix-free kernel gives every per-point figure coverage
        # reads; the matrix itself is built only if somebody asks for result.reach.
        figures = _counts_figures(
            gdf_demand, counting_sites, scenario, demand_ids, callback_of(progress)
        )

        def reach_source() -> ReachMatrix:
            return _counting_reach(gdf_demand, gdf_sites, counting, scenario, None)

    else:
        built = _counting_reach(
            gdf_demand,
            gdf_sites,
            counting,
            scenario,
            matrices[0],
            reach=reach,
            progress=callback_of(progress),
        )
        figures = _matrix_figures(built, scenario)
        reach_source = built
    points = _points_frame(gdf_demand, weight, figures)
    lower = {str(c).lower(): c for c in gdf_demand.columns}
    customer_block = None
    if customers is not None:
        customer_name = source_name(customers, "customers")
        customer_weight = check_demand(customers, customer_name)
        if matrices[-1] is None and scenario.distance_model != "matrix":
            customer_ids = customers["id"].astype(str).to_numpy(dtype=object)
            reached = _counts_figures(customers, counting_sites, scenario, customer_ids, None)
            customer_covered = reached.counts.n_covering > 0
        else:
            customer_reach = _counting_reach(customers, gdf_sites, counting, scenario, matrices[-1])
            customer_covered = customer_reach.n_covering() > 0
        customer_block = customer_kpis(customer_name, customer_weight, customer_covered)
    kpis, zones = coverage_kpis(
        points,
        status=status,
        counting_sites=counting_sites,
        scenario=scenario,
        tiers=(figures.counts.reached_tiers, figures.counts.covering_tier()),
        grades=gdf_demand["grade"] if "grade" in gdf_demand.columns else None,
        admin={c: gdf_demand[lower[c]] for c in ADMIN_COLUMNS if c in lower},
        source={
            "scenario": scenario.name,
            "demand_file": demand_name,
            "demand_kind": str(gdf_demand.attrs.get("netplan_source", {}).get("kind", "")),
            "sites_file": sites_name,
            "distance_model": figures.counts.distance_model,
            "unit": figures.counts.unit,
        },
        blindspots=blindspots,
        customers=customer_block,
        notes=[*input_notes(gdf_demand, gdf_sites, customers), *notes],
    )
    return CoverageResult(points=points, blindspots=zones, reach_source=reach_source, kpis=kpis)


@dataclass(frozen=True)
class _Figures:
    """The per-point figures coverage reads (``counts``), with the points and sites they are of.

    ``counts`` comes from the matrix-free kernel, or from a built reach matrix
    (:func:`netplan.reach.reach_counts_from_matrix`): the same numbers.
    """

    counts: ReachCounts
    demand_ids: NDArray[np.object_]
    demand_lon: NDArray[np.float64]
    demand_lat: NDArray[np.float64]
    site_ids: NDArray[np.object_]
    site_lon: NDArray[np.float64]
    site_lat: NDArray[np.float64]


def _matrix_figures(reach: ReachMatrix, scenario: Scenario) -> _Figures:
    return _Figures(
        counts=reach_counts_from_matrix(reach, scenario),
        demand_ids=reach.demand_ids,
        demand_lon=reach.demand_lon,
        demand_lat=reach.demand_lat,
        site_ids=reach.site_ids,
        site_lon=reach.site_lon,
        site_lat=reach.site_lat,
    )


def _counts_figures(
    demand: pd.DataFrame,
    counting_sites: pd.DataFrame,
    scenario: Scenario,
    demand_ids: NDArray[np.object_],
    progress: ProgressCallback | None,
) -> _Figures:
    """Return the figures from :func:`netplan.reach.reach_counts_from_arrays` (no matrix)."""
    arrays = _KernelArrays.of(demand, counting_sites, scenario)
    counts = reach_counts_from_arrays(
        arrays.lon, arrays.lat, arrays.site_lon, arrays.site_lat, arrays.site_tiers, scenario,
        grades=arrays.grades, progress=progress,
    )  # fmt: skip
    return _Figures(
        counts=counts,
        demand_ids=np.asarray(demand_ids, dtype=object),
        demand_lon=arrays.lon,
        demand_lat=arrays.lat,
        site_ids=arrays.site_ids,
        site_lon=arrays.site_lon,
        site_lat=arrays.site_lat,
    )


@dataclass(frozen=True)
class _KernelArrays:
    """Demand and sites as the array kernels take them (no shapely point read)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    grades: NDArray[np.object_] | None
    site_ids: NDArray[np.object_]
    site_tiers: NDArray[np.object_]
    site_lon: NDArray[np.float64]
    site_lat: NDArray[np.float64]

    @classmethod
    def of(cls, demand: pd.DataFrame, sites: pd.DataFrame, scenario: Scenario) -> _KernelArrays:
        lon, lat = _demand_lon_lat(demand)
        site_ids, site_tiers, site_lon, site_lat = site_arrays(sites, scenario)
        grades = demand_grades(demand) if "grade" in demand.columns else None
        return cls(lon, lat, grades, site_ids, site_tiers, site_lon, site_lat)


def _counting_reach(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    counting: NDArray[np.bool_],
    scenario: Scenario,
    matrix: pd.DataFrame | None,
    *,
    reach: ReachMatrix | None = None,
    progress: ProgressCallback | None = None,
) -> ReachMatrix:
    """Return the reach matrix of the demand against the counting outlets.

    From ``reach`` (the demand against every site) when given; with a
    matrix, built against every site (the matrix may name candidates) and
    then cut; else built against the counting outlets only.
    """
    if reach is not None:
        if reach.n_demand != len(gdf_demand) or reach.n_sites != len(gdf_sites):
            msg = (
                f"the reach matrix given is {reach.n_demand} × {reach.n_sites}; expected "
                f"{len(gdf_demand)} demand points × {len(gdf_sites)} sites"
            )
            raise InputError(msg)
        return reach.subset_sites(counting)
    if matrix is not None:
        return _reach(gdf_demand, gdf_sites, scenario, matrix, progress).subset_sites(counting)
    return _reach(gdf_demand, gdf_sites[counting], scenario, None, progress)


def _reach(
    demand: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    scenario: Scenario,
    matrix: pd.DataFrame | None,
    progress: ProgressCallback | None,
) -> ReachMatrix:
    """Return :func:`netplan.reach.reach_from_points`, also for demand given as ``lon``/``lat``.

    A plain DataFrame with ``lon`` and ``lat`` columns (EPSG:4326, as
    :func:`netplan.io.read_points` returns it with ``geometry=False``) goes
    to :func:`netplan.reach.reach_from_arrays`: no shapely point is read.
    """
    if _has_geometry(demand):
        return reach_from_points(demand, sites, scenario, matrix=matrix, progress=progress)
    arrays = _KernelArrays.of(demand, sites, scenario)
    return reach_from_arrays(
        arrays.lon, arrays.lat, arrays.site_lon, arrays.site_lat, arrays.site_tiers, scenario,
        demand_ids=np.asarray(demand["id"].astype(str).to_numpy(), dtype=object),
        site_ids=arrays.site_ids, grades=arrays.grades, matrix=matrix, progress=progress,
    )  # fmt: skip


def _with_geometry(
    frame: pd.DataFrame, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _has_geometry(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is a GeoDataFrame with its geometry (else: ``lon``/``lat`` columns)."""
    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns


def _demand_lon_lat(demand: pd.DataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the demand's coordinates from its point geometry or its ``lon``/``lat`` columns."""
    if _has_geometry(demand):
        return point_coordinates(demand, "demand points")
    if "id" not in demand.columns:
        msg = "demand points have no 'id' column; read them with netplan.io.read_points"
        raise InputError(msg)
    return _lon_lat(demand, "demand points")


def _lon_lat(frame: pd.DataFrame, what: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the ``lon``/``lat`` columns of a frame without geometry, checked."""
    if "lon" not in frame.columns or "lat" not in frame.columns:
        msg = f"{what} have no geometry nor lon/lat columns; read them with netplan.io.read_points"
        raise InputError(msg)
    lon = frame["lon"].to_numpy(dtype=np.float64)
    lat = frame["lat"].to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        msg = f"{what}: {int(bad.sum())} point(s) without coordinates (first at position {first})"
        raise InputError(msg)
    return lon, lat


def _matrix_for(
    matrix: pd.DataFrame | str | Path | None, *id_sets: NDArray[np.object_]
) -> list[pd.DataFrame | None]:
    """Split a matrix between demand sets (customers and installed base), checking ids once."""
    if matrix is None:
        return [None] * len(id_sets)
    frame = read_matrix(matrix) if isinstance(matrix, str | Path) else matrix
    if len(id_sets) == 1:
        return [frame]
    source = frame.attrs.get("netplan_source", {})
    name = str(source.get("file", "matrix"))
    offset = int(source.get("row_offset", 1))
    known = pd.Index(np.concatenate(id_sets))
    unknown = np.flatnonzero(~frame["demand_id"].isin(known).to_numpy())
    if unknown.size:
        problems = [
            Problem(
                name,
                int(p) + offset,
                "demand_id",
                f"unknown demand id '{frame['demand_id'].iat[int(p)]}'; "
                "it is not among the demand points given",
            )
            for p in unknown[:20]
        ]
        raise InputError(problems, total=int(unknown.size))
    parts: list[pd.DataFrame | None] = []
    for ids in id_sets:
        part = frame[frame["demand_id"].isin(pd.Index(ids)).to_numpy()].reset_index(drop=True)
        part.attrs["netplan_source"] = dict(source)
        parts.append(part)
    return parts


def _points_frame(
    gdf_demand: gpd.GeoDataFrame, weight: NDArray[np.float64], reach: _Figures
) -> gpd.GeoDataFrame:
    counts = reach.counts
    covering = counts.covering_site
    nearest = counts.nearest_site
    has_nearest = nearest >= 0
    site_ids = np.concatenate([reach.site_ids.astype(object), np.array([None], dtype=object)])
    site_tiers = np.concatenate([counts.site_tiers.astype(object), np.array([None], dtype=object)])
    # Object columns stay object (pandas would otherwise copy every string into Arrow).
    frame = pd.DataFrame(
        {
            "id": pd.Series(reach.demand_ids, dtype=object),
            "lon": reach.demand_lon,
            "lat": reach.demand_lat,
            "weight": weight,
            "nearest_site": pd.Series(site_ids[np.where(has_nearest, nearest, -1)], dtype=object),
            "nearest_tier": pd.Series(site_tiers[np.where(has_nearest, nearest, -1)], dtype=object),
            "distance_km": counts.nearest_distance,
            "covered": covering >= 0,
            "covering_site": pd.Series(
                site_ids[np.where(covering >= 0, covering, -1)], dtype=object
            ),
            "n_covering": counts.n_covering,
        }
    )
    if counts.unit == "minutes":
        frame["travel_minutes"] = counts.nearest_distance
        km = np.full(len(frame), np.inf)
        km[has_nearest] = great_circle_km(
            reach.demand_lon[has_nearest],
            reach.demand_lat[has_nearest],
            reach.site_lon[nearest[has_nearest]],
            reach.site_lat[nearest[has_nearest]],
        )
        frame["distance_km"] = km
    frame["distance_km"] = frame["distance_km"].where(np.isfinite(frame["distance_km"]), np.nan)
    if "travel_minutes" in frame.columns:
        frame["travel_minutes"] = frame["travel_minutes"].where(
            np.isfinite(frame["travel_minutes"]), np.nan
        )
    if "grade" in gdf_demand.columns:
        grade = gdf_demand["grade"].astype(object)
        frame["grade"] = grade.where(grade.notna(), None).to_numpy()
    frame = with_passthrough(frame, gdf_demand)
    if not _has_geometry(gdf_demand):
        return frame  # lon/lat demand: the points stay arrays (written from lon/lat)
    return gpd.GeoDataFrame(frame, geometry=gdf_demand.geometry.to_numpy(), crs="EPSG:4326")


def passthrough_columns(columns: Iterable[Any], fixed: Iterable[str]) -> list[str]:
    """Return the demand file's own columns (name, city, ...) that the per-point output keeps.

    Every column but ``id``, ``weight``, coordinates, geometry and the names
    the output already has (``fixed``), in the file's order.
    """
    skip = {"id", "weight", "lon", "lat", "geometry", *fixed}
    return [str(c) for c in columns if str(c) not in skip and not str(c).startswith("_")]


def with_passthrough(frame: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Return the per-point ``frame`` with the demand's pass-through columns after its own."""
    geometry = demand.geometry.name if isinstance(demand, gpd.GeoDataFrame) else None
    extra = [c for c in passthrough_columns(demand.columns, frame.columns) if c != geometry]
    if not extra:
        return frame
    kept = pd.DataFrame(demand[extra]).reset_index(drop=True)
    kept.index = frame.index
    return pd.concat([frame, kept], axis=1)
