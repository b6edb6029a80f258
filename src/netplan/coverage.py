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

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netplan.blindspots import BlindspotOptions, blindspots_from_points, empty_blindspots
from netplan.config import Scenario
from netplan.errors import InputError, InputWarning
from netplan.inputs import input_notes
from netplan.io import OUTPUT_FORMATS, write_frame, write_text
from netplan.reach import (
    ProgressCallback,
    ReachMatrix,
    great_circle_km,
    km_from_chord,
    reach_from_points,
    read_matrix,
    unit_xyz,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "ADMIN_COLUMNS",
    "COUNTING_STATUSES",
    "POINT_COLUMNS",
    "CoverageResult",
    "coverage_from_points",
    "summary_json",
]

#: Site statuses whose outlets count for coverage.
COUNTING_STATUSES = ("existing", "required")
#: Admin/region columns reported when the demand has them, in this order.
ADMIN_COLUMNS = ("province", "city", "district", "region")
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
#: Significant digits of floats in ``summary.json``.
SUMMARY_DIGITS = 10


@dataclass
class CoverageResult:
    """Coverage of a network: per-point results, blind spots and KPIs.

    Attributes
    ----------
    points
        One row per demand point, input order: :data:`POINT_COLUMNS`
        (+ ``grade``, + ``travel_minutes`` with a minutes matrix), point geometry.
    blindspots
        Blind-spot zones (see :mod:`netplan.blindspots`), heaviest first.
    reach
        The reach matrix of the counting outlets (columns are those sites).
    kpis
        The figures :meth:`summary` returns.
    """

    points: gpd.GeoDataFrame
    blindspots: gpd.GeoDataFrame
    reach: ReachMatrix
    kpis: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Return the KPIs as plain JSON-ready data (a copy).

        Keys include ``n_demand``, ``total_weight``, ``n_covered``,
        ``covered_weight``, ``coverage_rate``, ``weighted_coverage_rate``,
        ``by_tier``, ``by_grade``, ``by_region``, ``distance_km`` (``mean``,
        ``p50``, ``p90``, ``p95``, ``max``), ``overlap_rate``,
        ``support_chain``, ``n_blindspots``, ``blindspot_weight``,
        ``distance_model`` and ``warnings``.
        """
        result: dict[str, Any] = json.loads(json.dumps(_plain(self.kpis)))
        return result

    def to_files(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write ``coverage.<fmt>``, ``blindspots.geojson`` and ``summary.json``.

        Every file is written atomically and is byte-identical across runs on
        the same input.

        Parameters
        ----------
        out_dir
            Output folder (created).
        fmt
            Format of the per-point file: ``csv``, ``geojson``, ``parquet`` or ``gpkg``.

        Returns
        -------
        dict
            Written paths by name (``coverage``, ``blindspots``, ``summary``).
        """
        if fmt not in OUTPUT_FORMATS:
            msg = f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}"
            raise ValueError(msg)
        out = Path(out_dir)
        paths = {
            "coverage": write_frame(self.points, out / f"coverage.{fmt}", fmt=fmt),
            "blindspots": _write_blindspots(self.blindspots, out / "blindspots.geojson"),
            "summary": write_text(out / "summary.json", summary_json(self.summary())),
        }
        return paths


def summary_json(summary: Mapping[str, Any]) -> str:
    """Return ``summary`` as stable JSON: sorted keys, floats to 10 significant digits."""
    return json.dumps(_plain(summary), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    """Return ``value`` with numpy scalars as Python numbers and floats rounded; NaN/inf → None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return float(f"{number:.{SUMMARY_DIGITS}g}")
    return value


def _write_blindspots(zones: gpd.GeoDataFrame, path: Path) -> Path:
    if len(zones):
        return write_frame(zones, path, fmt="geojson")
    # GDAL cannot infer a geometry type from no rows: write the empty collection directly.
    empty = {"type": "FeatureCollection", "name": path.stem, "features": []}
    return write_text(path, json.dumps(empty, indent=1) + "\n")


# --------------------------------------------------------------------------- helpers


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _group_stats(
    codes: NDArray[np.int64],
    labels: list[str],
    weight: NDArray[np.float64],
    covered: NDArray[np.bool_],
) -> dict[str, dict[str, Any]]:
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
            "coverage_rate": _rate(float(n_cov[k]), float(n[k])),
            "weighted_coverage_rate": _rate(float(w_cov[k]), float(w[k])),
        }
    return out


def _codes(values: pd.Series) -> tuple[NDArray[np.int64], list[str]]:
    text = values.astype(object).where(values.notna(), "(none)").map(str)
    labels = sorted(pd.unique(text))
    codes = pd.Categorical(text, categories=labels).codes.astype(np.int64)
    return codes, labels


def _percentiles(
    values: NDArray[np.float64], weight: NDArray[np.float64]
) -> dict[str, float | None]:
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


def _support_chain(sites: gpd.GeoDataFrame, scenario: Scenario) -> dict[str, dict[str, Any]]:
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


def _matrix_for(
    matrix: pd.DataFrame | str | Path | None, *id_sets: NDArray[np.object_]
) -> list[pd.DataFrame | None]:
    """Split a matrix between demand sets (customers and installed base), checking ids once."""
    if matrix is None:
        return [None] * len(id_sets)
    frame = read_matrix(matrix) if isinstance(matrix, str | Path) else matrix
    if len(id_sets) == 1:
        return [frame]
    from netplan.errors import Problem

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


def _check_demand(gdf: gpd.GeoDataFrame, what: str) -> NDArray[np.float64]:
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


def _source_name(gdf: gpd.GeoDataFrame, default: str) -> str:
    source = gdf.attrs.get("netplan_source", {})
    return str(source.get("file") or default)


# --------------------------------------------------------------------------- the analysis


def coverage_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    matrix: pd.DataFrame | str | Path | None = None,
    blindspots: BlindspotOptions | None = BlindspotOptions(),  # noqa: B008 (frozen, immutable)
    customers: gpd.GeoDataFrame | None = None,
    progress: ProgressCallback | None = None,
) -> CoverageResult:
    """Compute the coverage of today's network (existing and required outlets).

    Parameters
    ----------
    gdf_demand
        The weighted demand (installed base or customers) as
        :func:`netplan.io.read_points` returns it: ``id``, ``weight``,
        optional ``grade`` and admin columns, points in EPSG:4326.
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
        ``progress(done, total)`` callback over the demand points.

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
    demand_name = _source_name(gdf_demand, "demand")
    weight = _check_demand(gdf_demand, demand_name)
    total_weight = float(weight.sum())
    if total_weight <= 0:
        msg = (
            f"{demand_name}: the total demand weight is 0, so weighted coverage means nothing; "
            "check the weight (or units) column"
        )
        raise InputError(msg)

    status = (
        gdf_sites["status"].astype(str).to_numpy()
        if "status" in gdf_sites.columns
        else np.full(len(gdf_sites), "existing", dtype=object)
    )
    counting = np.isin(status, COUNTING_STATUSES)
    notes: list[str] = []
    n_existing = int((status == "existing").sum())
    sites_name = _source_name(gdf_sites, "sites")
    if not counting.any():
        notes.append(
            f"{sites_name}: no site has status existing or required, so nothing is covered "
            "and all demand is a blind spot"
        )
    elif n_existing == 0:
        notes.append(
            f"{sites_name}: no site has status existing; coverage counts the "
            f"{int(counting.sum())} required site(s) only"
        )
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=2)

    demand_ids = gdf_demand["id"].astype(str).to_numpy(dtype=object)
    customer_ids = (
        customers["id"].astype(str).to_numpy(dtype=object) if customers is not None else None
    )
    id_sets = [demand_ids] if customer_ids is None else [demand_ids, customer_ids]
    matrices = _matrix_for(matrix, *id_sets)
    counting_sites = gdf_sites[counting]
    if matrices[0] is not None:
        # Check the matrix against every site (it may name candidates), then keep the counting ones.
        reach = reach_from_points(
            gdf_demand, gdf_sites, scenario, matrix=matrices[0], progress=progress
        ).subset_sites(counting)
    else:
        reach = reach_from_points(gdf_demand, counting_sites, scenario, progress=progress)

    covering_index, _ = reach.covering_nearest()
    points = _points_frame(gdf_demand, weight, reach, covering_index)
    covered = points["covered"].to_numpy(dtype=bool)
    n_covering = points["n_covering"].to_numpy(dtype=np.int64)

    kpis = headline_kpis(weight, covered, total_weight, counting, status)
    kpis.update(
        scenario=scenario.name,
        demand_file=demand_name,
        demand_kind=str(gdf_demand.attrs.get("netplan_source", {}).get("kind", "")),
        sites_file=sites_name,
        distance_model=reach.distance_model,
        unit=reach.unit,
    )
    kpis["by_tier"] = _by_tier(reach, weight, covering_index, scenario)
    if "grade" in gdf_demand.columns:
        codes, labels = _codes(gdf_demand["grade"])
        kpis["by_grade"] = _group_stats(codes, labels, weight, covered)
    else:
        kpis["by_grade"] = {}
    by_region: dict[str, Any] = {}
    lower = {str(c).lower(): c for c in gdf_demand.columns}
    for column in ADMIN_COLUMNS:
        if column in lower:
            codes, labels = _codes(gdf_demand[lower[column]])
            by_region[column] = _group_stats(codes, labels, weight, covered)
    kpis["by_region"] = by_region
    kpis["distance_km"] = _percentiles(points["distance_km"].to_numpy(dtype=np.float64), weight)
    if "travel_minutes" in points.columns:
        kpis["travel_minutes"] = _percentiles(
            points["travel_minutes"].to_numpy(dtype=np.float64), weight
        )
    zones = overlap_and_blindspots(
        kpis,
        points["lon"].to_numpy(dtype=np.float64),
        points["lat"].to_numpy(dtype=np.float64),
        weight,
        covered,
        n_covering,
        points["nearest_site"].to_numpy(dtype=object),
        points["distance_km"].to_numpy(dtype=np.float64),
        counting_sites,
        scenario,
        blindspots,
    )

    if customers is not None:
        kpis["customers"] = _customer_block(
            customers, counting_sites, gdf_sites, counting, scenario, matrices
        )
    kpis["warnings"] = [*input_notes(gdf_demand, gdf_sites, customers), *notes]
    return CoverageResult(points=points, blindspots=zones, reach=reach, kpis=kpis)


def headline_kpis(
    weight: NDArray[np.float64],
    covered: NDArray[np.bool_],
    total_weight: float,
    counting: NDArray[np.bool_],
    status: NDArray[np.object_],
) -> dict[str, Any]:
    """Return the headline coverage figures: counts, weights and rates, sites by status.

    Shared by :func:`coverage_from_points` and the engines of :mod:`netplan.scale`.
    """
    n_demand = len(covered)
    covered_weight = float(weight[covered].sum())
    return {
        "n_demand": n_demand,
        "total_weight": total_weight,
        "n_covered": int(covered.sum()),
        "covered_weight": covered_weight,
        "n_uncovered": int((~covered).sum()),
        "uncovered_weight": float(weight[~covered].sum()),
        "coverage_rate": _rate(float(covered.sum()), float(n_demand)),
        "weighted_coverage_rate": _rate(covered_weight, total_weight),
        "n_sites": int(counting.sum()),
        "sites_by_status": {
            str(k): int(v) for k, v in sorted(pd.Series(status).value_counts().items())
        },
    }


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
) -> gpd.GeoDataFrame:
    """Add the overlap, support-chain and blind-spot KPIs to ``kpis``; return the zones.

    Shared by :func:`coverage_from_points` and the streamed and Dask engines
    (:mod:`netplan.scale`), so every engine computes these figures alike.
    """
    covered_weight = float(weight[covered].sum())
    overlap = covered & (n_covering >= 2)
    kpis["n_overlap"] = int(overlap.sum())
    kpis["overlap_weight"] = float(weight[overlap].sum())
    kpis["overlap_rate"] = _rate(float(weight[overlap].sum()), covered_weight)
    kpis["support_chain"] = _support_chain(counting_sites, scenario)

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
        kpis["n_blindspot_points"] = int(in_zone.sum())
        kpis["blindspot_weight"] = float(weight[uncovered][in_zone].sum())
        kpis["dropped_zone_weight"] = float(weight[uncovered][~in_zone].sum())
    else:
        kpis["blindspot_method"] = None
        kpis["n_blindspot_points"] = 0
        kpis["blindspot_weight"] = 0.0
    kpis["n_blindspots"] = len(zones)
    return zones


def _customer_block(
    customers: gpd.GeoDataFrame,
    counting_sites: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    counting: NDArray[np.bool_],
    scenario: Scenario,
    matrices: list[pd.DataFrame | None],
) -> dict[str, Any]:
    name = _source_name(customers, "customers")
    weight = _check_demand(customers, name)
    if matrices[-1] is not None:
        reach = reach_from_points(customers, gdf_sites, scenario, matrix=matrices[-1]).subset_sites(
            counting
        )
    else:
        reach = reach_from_points(customers, counting_sites, scenario)
    covered = reach.n_covering() > 0
    covered_weight = float(weight[covered].sum())
    return {
        "file": name,
        "n_demand": len(customers),
        "n_covered": int(covered.sum()),
        "coverage_rate": _rate(float(covered.sum()), float(len(customers))),
        "total_weight": float(weight.sum()),
        "covered_weight": covered_weight,
        "weighted_coverage_rate": _rate(covered_weight, float(weight.sum())),
    }


def _points_frame(
    gdf_demand: gpd.GeoDataFrame,
    weight: NDArray[np.float64],
    reach: ReachMatrix,
    covering: NDArray[np.int64],
) -> gpd.GeoDataFrame:
    nearest = reach.nearest_site
    has_nearest = nearest >= 0
    site_ids = np.concatenate([reach.site_ids.astype(object), np.array([None], dtype=object)])
    site_tiers = np.concatenate([reach.site_tiers.astype(object), np.array([None], dtype=object)])
    # Object columns stay object (pandas would otherwise copy every string into Arrow).
    frame = pd.DataFrame(
        {
            "id": pd.Series(reach.demand_ids, dtype=object),
            "lon": reach.demand_lon,
            "lat": reach.demand_lat,
            "weight": weight,
            "nearest_site": pd.Series(site_ids[np.where(has_nearest, nearest, -1)], dtype=object),
            "nearest_tier": pd.Series(site_tiers[np.where(has_nearest, nearest, -1)], dtype=object),
            "distance_km": reach.nearest_distance,
            "covered": covering >= 0,
            "covering_site": pd.Series(
                site_ids[np.where(covering >= 0, covering, -1)], dtype=object
            ),
            "n_covering": reach.n_covering(),
        }
    )
    if reach.unit == "minutes":
        frame["travel_minutes"] = reach.nearest_distance
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


def _by_tier(
    reach: ReachMatrix,
    weight: NDArray[np.float64],
    covering_index: NDArray[np.int64],
    scenario: Scenario,
) -> dict[str, dict[str, Any]]:
    names = list(scenario.tiers)
    code_of = {name: k for k, name in enumerate(names)}
    site_code = np.array([code_of.get(t, -1) if t is not None else -1 for t in reach.site_tiers])
    site_code = site_code.astype(np.int64) if site_code.size else np.empty(0, dtype=np.int64)
    counts = np.diff(reach.matrix.indptr)
    rows = np.repeat(np.arange(reach.n_demand), counts)
    entry_code = site_code[reach.matrix.indices]
    if site_code.size:
        covering_code = np.where(covering_index >= 0, site_code[np.maximum(covering_index, 0)], -1)
    else:
        covering_code = np.full(reach.n_demand, -1, dtype=np.int64)
    total_weight = float(weight.sum())
    out: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(names):
        reached = np.zeros(reach.n_demand, dtype=bool)
        reached[rows[entry_code == k]] = True
        primary = covering_code == k
        out[name] = {
            "label": scenario.tiers[name].label,
            "n_sites": int((site_code == k).sum()),
            "n_covered": int(reached.sum()),
            "covered_weight": float(weight[reached].sum()),
            "coverage_rate": _rate(float(reached.sum()), float(reach.n_demand)),
            "weighted_coverage_rate": _rate(float(weight[reached].sum()), total_weight),
            "n_primary": int(primary.sum()),
            "primary_weight": float(weight[primary].sum()),
        }
    return out
