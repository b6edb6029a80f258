"""The reach engine: which sites reach which demand points, and how far they are.

Everything downstream (coverage, blind spots, the location models, site
scores) works on one sparse demand × site matrix built here once.

How distances are computed
--------------------------
Points are placed on the unit sphere (:func:`unit_xyz`). The straight-line
(chord) length between two such points is a monotone function of their
great-circle distance (:func:`km_from_chord`, :func:`chord_from_km`), so a
:class:`scipy.spatial.cKDTree` radius query on xyz returns *exactly* the pairs
within a great-circle radius, with no projection and no degrees. Distances are
great-circle kilometres on a sphere of radius
:data:`~netplan.config.EARTH_RADIUS_KM` (6371.0088 km).

Distance models and units
-------------------------
``great_circle`` (default)
    Stored values are great-circle km; a tier reaches a point when the
    distance is at most :meth:`Tier.reach_km <netplan.config.Tier.reach_km>`.
``road_estimate``
    Stored values are **road km** = great-circle km × the site tier's detour
    factor. A radius promise is read as road km; a response-time promise
    becomes road km = hours × speed. The matrix has one unit (km) even when
    tiers mix radius and response-time promises; a travel time in minutes is
    road km ÷ speed × 60 (see :func:`threshold`).
``matrix``
    Stored values are the user's costs (``scenario.matrix_unit``: ``km`` or
    ``minutes``), e.g. drive times from a routing engine; pairs absent from
    the file are unreachable. Promises are compared in that unit: with km, a
    radius is read as road km and a response time as hours × speed; with
    minutes, a response time is hours × 60 and a radius is the minutes needed
    to drive it at the tier's speed (radius ÷ speed × 60).

Region grades (a ``grade`` column on the demand) pick the tier's promise for
each point, so one site may reach a point of grade C that it would not reach
at grade A.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse
from scipy.spatial import cKDTree

from netplan._limits import check_memory
from netplan.config import EARTH_RADIUS_KM, Scenario, Tier
from netplan.errors import ConfigError, InputError, Problem
from netplan.geo import chord_from_km, great_circle_km, km_from_chord, unit_xyz
from netplan.io import clean_matrix, read_matrix

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EARTH_RADIUS_KM",
    "ProgressCallback",
    "ReachCounts",
    "ReachMatrix",
    "chord_from_km",
    "great_circle_km",
    "km_from_chord",
    "reach_counts_from_arrays",
    "reach_counts_from_matrix",
    "reach_from_arrays",
    "reach_from_points",
    "read_matrix",
    "threshold",
    "unit_xyz",
]

#: Demand points handled per chunk: bounds memory (a chunk needs tens of MB).
DEFAULT_CHUNK_SIZE = 250_000
#: Progress callback: called with (demand points done, demand points in all).
ProgressCallback = Callable[[int, int], None]

# Above this many candidate pairs per point, nearest sites come from a k=1 KD-tree
# query (cheaper than scanning the pairs); below it, from the pairs when exact.
_DENSE_PAIRS_PER_POINT = 16
# Chunks shrink or grow so that one chunk holds about this many candidate pairs: small
# enough for the row sort's scattered writes to stay in cache (1 M pairs builds the
# dense benchmark matrix ~20 % faster than 4 M), large enough for the KD-tree traversal.
_PAIRS_PER_CHUNK = 1_000_000
# From this many demand points chunks run on one thread per core (below, one thread).
_PARALLEL_FROM = 200_000

try:  # scipy's linear COO -> CSR counting sort (private, stable for a decade)
    from scipy.sparse._sparsetools import coo_tocsr as _coo_tocsr
except ImportError:  # pragma: no cover - fall back to the public conversion
    _coo_tocsr = None

# Radius queries use a chord enlarged by this relative margin, then filter on the
# exact kilometre distance, so rounding in the chord never drops a boundary pair.
_QUERY_MARGIN = 1e-9


# --------------------------------------------------------------------------- geometry


# --------------------------------------------------------------------------- promises


def threshold(
    tier: Tier, grade: str | None, *, distance_model: str, matrix_unit: str = "km"
) -> float:
    """Return the largest stored value at which ``tier`` still reaches a point of ``grade``.

    The value is in the unit of the :class:`ReachMatrix` the model builds:
    great-circle km (``great_circle``), road km (``road_estimate``), or the
    matrix's unit (``matrix``, ``matrix_unit`` km or minutes).

    Parameters
    ----------
    tier
        The site's tier.
    grade
        Region grade of the demand point, or ``None``.
    distance_model
        ``"great_circle"``, ``"road_estimate"`` or ``"matrix"``.
    matrix_unit
        ``"km"`` or ``"minutes"`` (matrix model only).

    Returns
    -------
    float
        The promise in the matrix's unit.
    """
    if distance_model == "great_circle":
        return tier.reach_km(grade, distance_model="great_circle")
    if distance_model == "road_estimate":
        return tier.reach_km(grade, distance_model="road_estimate") * tier.detour_factor
    if distance_model != "matrix":
        msg = (
            f"unknown distance model {distance_model!r}; use great_circle, road_estimate or matrix"
        )
        raise ConfigError(msg)
    radius: float | None = None
    hours: float | None = None
    if grade is not None and grade in tier.grade_radius_km:
        radius = tier.grade_radius_km[grade]
    elif grade is not None and grade in tier.grade_response_hours:
        hours = tier.grade_response_hours[grade]
    elif tier.radius_km is not None:
        radius = tier.radius_km
    else:
        hours = tier.response_hours
    if matrix_unit == "minutes":
        return radius / tier.speed_kmh * 60.0 if radius is not None else float(hours or 0.0) * 60.0
    return radius if radius is not None else float(hours or 0.0) * tier.speed_kmh


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True, eq=False)
class ReachMatrix:
    """Which sites reach which demand points, and the nearest site of each point.

    Attributes
    ----------
    demand_ids
        Demand ids (object array of str), input order; positions (int64) when
        built by :func:`reach_from_arrays` without ids.
    site_ids
        Site ids (object array of str), in the order of the sites passed.
    site_tiers
        Tier name of each site (``None`` for competitors and untiered sites,
        which never reach anything but count for :attr:`nearest_site`).
    matrix
        ``(n_demand, n_sites)`` CSR array; a stored entry ``(i, j)`` means site
        ``j`` reaches demand point ``i`` within its tier's promise for ``i``'s
        grade, and its value is the distance in :attr:`unit`. Zero distances
        are stored explicitly (never call ``eliminate_zeros()``); read the
        structure from ``indptr``/``indices``. Column indices are sorted
        within each row.
    nearest_site
        Index (into :attr:`site_ids`) of the nearest site of any tier, ``-1``
        when there is none.
    nearest_distance
        Distance to it in :attr:`unit` (``inf`` when there is none).
    unit
        ``"km"`` or ``"minutes"``.
    distance_model
        ``"great_circle"``, ``"road_estimate"`` or ``"matrix"``.
    demand_lon, demand_lat, site_lon, site_lat
        Coordinates in degrees (used to recompute nearest sites of a subset).
    site_scale
        Factor turning great-circle km into :attr:`unit` for each site (1 for
        great-circle, the tier's detour factor for road estimates; unused for
        a matrix).
    full_costs
        Matrix model only: every pair given in the matrix file (reaching or
        not), so a subset's nearest site can be recomputed.
    """

    demand_ids: np.ndarray
    site_ids: np.ndarray
    site_tiers: np.ndarray
    matrix: scipy.sparse.csr_array
    nearest_site: np.ndarray
    nearest_distance: np.ndarray
    unit: str
    distance_model: str
    demand_lon: np.ndarray
    demand_lat: np.ndarray
    site_lon: np.ndarray
    site_lat: np.ndarray
    site_scale: np.ndarray
    full_costs: scipy.sparse.csr_array | None = None

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return int(self.matrix.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return int(self.matrix.shape[1])

    def n_covering(self) -> NDArray[np.int64]:
        """Return, per demand point, the number of sites reaching it."""
        counts: NDArray[np.int64] = np.diff(self.matrix.indptr).astype(np.int64)
        return counts

    def covering_nearest(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return, per demand point, the closest site that reaches it and its distance.

        Returns
        -------
        tuple of numpy.ndarray
            Site index (``-1`` when no site reaches the point) and distance
            (``inf`` then). Ties go to the lower site index.
        """
        return _row_minimum(self.matrix)

    def subset_sites(self, mask_or_index: ArrayLike) -> ReachMatrix:
        """Return the same demand against a subset of the sites.

        The nearest site is recomputed exactly among the kept sites (from
        the coordinates, or from :attr:`full_costs` for a matrix), so a point
        no kept site reaches still gets its nearest kept site.

        Parameters
        ----------
        mask_or_index
            Boolean mask over the sites, or integer site indices (their order
            becomes the new column order).

        Returns
        -------
        ReachMatrix
            Columns are the kept sites, renumbered.
        """
        keep = np.asarray(mask_or_index)
        if keep.dtype == bool:
            if keep.shape != (self.n_sites,):
                msg = f"site mask has shape {keep.shape}; expected ({self.n_sites},)"
                raise ValueError(msg)
            index = np.flatnonzero(keep)
        else:
            index = keep.astype(np.int64).ravel()
            if index.size and (index.min() < 0 or index.max() >= self.n_sites):
                msg = f"site indices must lie in 0..{self.n_sites - 1}"
                raise IndexError(msg)
        matrix = _select_columns(self.matrix, index)
        full = None if self.full_costs is None else _select_columns(self.full_costs, index)
        if full is not None:
            nearest, distance = _row_minimum(full)
        else:
            nearest, distance = _nearest_by_scale(
                self.demand_lon,
                self.demand_lat,
                self.site_lon[index],
                self.site_lat[index],
                self.site_scale[index],
                DEFAULT_CHUNK_SIZE,
            )
        return ReachMatrix(
            demand_ids=self.demand_ids,
            site_ids=self.site_ids[index],
            site_tiers=self.site_tiers[index],
            matrix=matrix,
            nearest_site=nearest,
            nearest_distance=distance,
            unit=self.unit,
            distance_model=self.distance_model,
            demand_lon=self.demand_lon,
            demand_lat=self.demand_lat,
            site_lon=self.site_lon[index],
            site_lat=self.site_lat[index],
            site_scale=self.site_scale[index],
            full_costs=full,
        )


# --------------------------------------------------------------------------- sparse helpers


def _csr_from_entries(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    values: NDArray[np.float64],
    shape: tuple[int, int],
) -> scipy.sparse.csr_array:
    """Build a canonical CSR array (sorted, zeros kept) from unique (row, col) entries."""
    order = np.lexsort((cols, rows))
    rows = rows[order]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    index_dtype = np.int32 if max(shape[1], len(order)) < 2**31 - 1 else np.int64
    return scipy.sparse.csr_array(
        (values[order], cols[order].astype(index_dtype), indptr.astype(index_dtype)),
        shape=shape,
    )


def _csr_from_sorted(
    row_counts: NDArray[np.int64],
    cols: NDArray[np.int32],
    values: NDArray[np.float64],
    shape: tuple[int, int],
    sorted_columns: bool = True,
) -> scipy.sparse.csr_array:
    """Build a CSR array from entries grouped by row and the count per row.

    Columns are sorted within rows when ``sorted_columns``.
    """
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(row_counts, out=indptr[1:])
    index_dtype = np.int32 if max(shape[1], len(cols)) < 2**31 - 1 else np.int64
    matrix = scipy.sparse.csr_array(
        (values, cols.astype(index_dtype, copy=False), indptr.astype(index_dtype)), shape=shape
    )
    if sorted_columns:
        matrix.has_sorted_indices = True  # known by construction: spare scipy the check
    return matrix


def _select_columns(
    matrix: scipy.sparse.csr_array, index: NDArray[np.int64]
) -> scipy.sparse.csr_array:
    n_rows, n_cols = matrix.shape
    new_col = np.full(n_cols, -1, dtype=np.int64)
    new_col[index] = np.arange(index.size)
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    mapped = new_col[matrix.indices]
    kept = mapped >= 0
    return _csr_from_entries(
        rows[kept], mapped[kept], np.asarray(matrix.data)[kept], (n_rows, int(index.size))
    )


def _row_minimum(
    matrix: scipy.sparse.csr_array,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return each row's smallest stored value and its column (-1 / inf for empty rows).

    Ties go to the lowest column (columns are sorted within rows).
    """
    n_rows = matrix.shape[0]
    site = np.full(n_rows, -1, dtype=np.int64)
    distance = np.full(n_rows, np.inf)
    if matrix.nnz == 0:
        return site, distance
    if not matrix.has_sorted_indices:
        matrix = matrix.sorted_indices()
    _nearest_from_pairs(
        np.diff(matrix.indptr).astype(np.int64),
        np.asarray(matrix.indices),
        np.asarray(matrix.data, dtype=np.float64),
        distance,
        site,
    )
    return site, distance


# --------------------------------------------------------------------------- nearest


def _nearest_by_scale(
    demand_lon: NDArray[np.float64],
    demand_lat: NDArray[np.float64],
    site_lon: NDArray[np.float64],
    site_lat: NDArray[np.float64],
    site_scale: NDArray[np.float64],
    chunk_size: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Nearest site by scaled great-circle distance (one KD-tree per scale value)."""
    n = demand_lon.size
    nearest = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.inf)
    if site_lon.size == 0 or n == 0:
        return nearest, distance
    site_xyz = unit_xyz(site_lon, site_lat)
    groups = [np.flatnonzero(site_scale == s) for s in np.unique(site_scale)]
    trees = [(cKDTree(site_xyz[g]), g, float(site_scale[g[0]])) for g in groups]
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        xyz = unit_xyz(demand_lon[start:stop], demand_lat[start:stop])
        best = np.full(stop - start, np.inf)
        best_site = np.full(stop - start, -1, dtype=np.int64)
        for tree, members, scale in trees:
            chord, position = tree.query(xyz, k=1)
            km = km_from_chord(chord) * scale
            better = km < best
            best[better] = km[better]
            best_site[better] = members[position[better]]
        nearest[start:stop] = best_site
        distance[start:stop] = best
    return nearest, distance


# --------------------------------------------------------------------------- inputs


def _coordinates(
    gdf: gpd.GeoDataFrame, what: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geometry = gdf.geometry
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        msg = (
            f"{what} are in {gdf.crs.to_string()}; reach needs EPSG:4326 longitudes and latitudes: "
            f"call gdf.to_crs('EPSG:4326') or read the file with netplan.io.read_points"
        )
        raise InputError(msg)
    lon = np.asarray(geometry.x, dtype=np.float64)
    lat = np.asarray(geometry.y, dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        msg = f"{what}: {int(bad.sum())} point(s) without coordinates (first at position {first})"
        raise InputError(msg)
    return lon, lat


def _ids(gdf: pd.DataFrame, what: str) -> NDArray[np.object_]:
    if "id" not in gdf.columns:
        msg = f"{what} have no 'id' column; read them with netplan.io.read_points"
        raise InputError(msg)
    return np.asarray(gdf["id"].astype(str).to_numpy(), dtype=object)


def _grades(gdf_demand: pd.DataFrame) -> NDArray[np.object_]:
    if "grade" not in gdf_demand.columns:
        return np.full(len(gdf_demand), None, dtype=object)
    raw = gdf_demand["grade"]
    text = raw.astype(object).where(raw.notna(), None)
    return np.asarray([None if v is None else str(v).strip() for v in text], dtype=object)


def _site_tiers(gdf_sites: pd.DataFrame, scenario: Scenario) -> NDArray[np.object_]:
    n = len(gdf_sites)
    if "tier" in gdf_sites.columns:
        tiers = gdf_sites["tier"].astype(object).where(gdf_sites["tier"].notna(), None).to_numpy()
    else:
        tiers = np.full(n, None, dtype=object)
    tiers = np.asarray(tiers, dtype=object).copy()
    if "status" in gdf_sites.columns:
        competitor = (gdf_sites["status"].astype(str) == "competitor").to_numpy()
        tiers[competitor] = None
    for name in pd.unique(tiers[pd.notna(tiers)]):
        scenario.tier(str(name))  # raises ConfigError naming the defined tiers
    return tiers


def _promise_per_point(
    tier: Tier, grades: NDArray[np.object_] | None, n: int, scenario: Scenario, model: str
) -> NDArray[np.float64]:
    """Return the tier's promise (in the matrix unit) for every demand point.

    Without grades the result is a read-only broadcast view of one value (no memory).
    """
    default = threshold(tier, None, distance_model=model, matrix_unit=scenario.matrix_unit)
    if grades is None:
        return np.broadcast_to(np.float64(default), (n,))
    codes, uniques = pd.factorize(pd.Series(grades, dtype=object), use_na_sentinel=True)
    values = np.array(
        [
            threshold(tier, str(g), distance_model=model, matrix_unit=scenario.matrix_unit)
            for g in uniques
        ]
        + [default],
        dtype=np.float64,
    )
    return values[np.where(codes < 0, len(uniques), codes)]


# --------------------------------------------------------------------------- matrix files


def _matrix_costs(
    matrix: pd.DataFrame | str | Path,
    demand_ids: np.ndarray,
    site_ids: np.ndarray,
) -> scipy.sparse.csr_array:
    """Return the matrix file as a (n_demand, n_sites) CSR array of every given pair."""
    if isinstance(matrix, str | Path):
        frame = read_matrix(matrix)
    else:
        source = matrix.attrs.get("netplan_source", {})
        frame = clean_matrix(
            matrix, str(source.get("file", "matrix")), int(source.get("row_offset", 1))
        )
    source = frame.attrs.get("netplan_source", {})
    name = str(source.get("file", "matrix"))
    row_offset = int(source.get("row_offset", 1))
    rows = pd.Index(demand_ids).get_indexer(pd.Index(frame["demand_id"]))
    cols = pd.Index(site_ids).get_indexer(pd.Index(frame["site_id"]))
    problems: list[Problem] = []
    total = 0
    for positions, column, what, values in (
        (np.flatnonzero(rows < 0), "demand_id", "demand", frame["demand_id"].to_numpy()),
        (np.flatnonzero(cols < 0), "site_id", "site", frame["site_id"].to_numpy()),
    ):
        total += positions.size
        for position in positions[:20]:
            message = (
                f"unknown {what} id '{values[position]}'; it is not among the {what} points given"
            )
            problems.append(Problem(name, int(position) + row_offset, column, message))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InputError(problems, total=total)
    key = rows.astype(np.int64) * max(len(site_ids), 1) + cols
    duplicated = pd.Series(key).duplicated().to_numpy()
    if duplicated.any():
        positions = np.flatnonzero(duplicated)
        problems = [
            Problem(
                name,
                int(p) + row_offset,
                "site_id",
                f"duplicate pair ({frame['demand_id'].iat[int(p)]}, "
                f"{frame['site_id'].iat[int(p)]}); give each demand/site pair once",
            )
            for p in positions[:20]
        ]
        raise InputError(problems, total=int(positions.size))
    return _csr_from_entries(
        rows.astype(np.int64),
        cols.astype(np.int64),
        frame["cost"].to_numpy(dtype=np.float64),
        (len(demand_ids), len(site_ids)),
    )


# --------------------------------------------------------------------------- the builder


def _chunk_pairs(
    xyz: NDArray[np.float64],
    tier_trees: list[tuple[str, cKDTree, NDArray[np.int64], float]],
    promises: dict[str, NDArray[np.float64]],
    start: int,
    stop: int,
    n_sites: int,
) -> tuple[
    NDArray[np.int32], NDArray[np.int32], NDArray[np.float64], NDArray[np.bool_] | None, float
]:
    """Return one chunk's candidate pairs (unsorted), or empty arrays when there are none.

    Each tier's sites are queried at the tier's largest promise in the chunk, so the
    pairs hold every site within that distance. Returns the pairs' local rows, site
    indices and distances (in the model's unit), ``keep`` (the pairs inside the promise
    for the point's grade; ``None`` when all are) and the cover limit: a point whose
    closest pair lies within it has no closer site outside the pairs.
    """
    rows: list[NDArray[np.int32]] = []
    cols: list[NDArray[np.int32]] = []
    values: list[NDArray[np.float64]] = []
    keeps: list[NDArray[np.bool_] | None] = []
    cover_limit = np.inf
    if tier_trees:
        # Fastest build; leaves of 64 points make the dual traversal ~10-20 % faster than 16.
        chunk_tree = cKDTree(xyz, leafsize=64, balanced_tree=False, compact_nodes=False)
    for name, tree, members, scale in tier_trees:
        promise = promises[name][start:stop]
        largest = float(promise.max())
        cover_limit = min(cover_limit, largest)
        radius = float(chord_from_km(largest / scale)) * (1.0 + _QUERY_MARGIN) + 1e-15
        pairs = tree.sparse_distance_matrix(chunk_tree, radius, output_type="ndarray")
        if pairs.size == 0:
            continue
        local = pairs["j"].astype(np.int32)
        # km_from_chord in place (one buffer, four passes): 2 R asin(min(chord / 2, 1)) × scale
        value = np.multiply(pairs["v"], 0.5)
        np.minimum(value, 1.0, out=value)
        np.arcsin(value, out=value)
        value *= 2.0 * EARTH_RADIUS_KM * scale
        site = pairs["i"].astype(np.int32)
        rows.append(local)
        cols.append(members[site].astype(np.int32) if members.size != n_sites else site)
        values.append(value)
        # Grades with different promises need the per-point limit.
        keep = value <= (promise[local] if float(promise.min()) < largest else largest)
        keeps.append(None if keep.all() else keep)
    if not rows:
        empty = np.empty(0, dtype=np.int32)
        return empty, empty, np.empty(0, dtype=np.float64), None, cover_limit
    if len(rows) == 1:  # one tier: no copies
        return rows[0], cols[0], values[0], keeps[0], cover_limit
    keep_all: NDArray[np.bool_] | None = None
    if any(k is not None for k in keeps):
        keep_all = np.concatenate(
            [
                np.ones(v.size, dtype=bool) if k is None else k
                for k, v in zip(keeps, values, strict=True)
            ]
        )
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values), keep_all, cover_limit


def _sort_by_row_col(
    rows: NDArray[np.int32],
    cols: NDArray[np.int32],
    data: NDArray[np.float64],
    n_rows: int,
    n_cols: int,
    sort_columns: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float64]]:
    """Sort unique (row, col) entries by row then column; return row counts, cols and data.

    Linear time for up to 32,767 columns: a stable radix sort on the columns (16-bit),
    then scipy's stable counting sort by row (COO → CSR). Otherwise scipy's COO → CSR
    conversion followed by a sort of each row. With ``sort_columns=False`` only the
    counting sort by row runs (columns keep their input order within a row). Explicit
    zeros are kept.
    """
    shape = (n_rows, max(n_cols, 1))
    if not sort_columns and _coo_tocsr is not None:
        indptr = np.empty(n_rows + 1, dtype=np.int32)
        indices = np.empty(cols.size, dtype=np.int32)
        out = np.empty(cols.size, dtype=np.float64)
        _coo_tocsr(n_rows, shape[1], cols.size, rows, cols, data, indptr, indices, out)
        return np.diff(indptr).astype(np.int64), indices, out
    if n_cols <= np.iinfo(np.int16).max and _coo_tocsr is not None:
        by_col = np.argsort(cols.astype(np.int16), kind="stable")
        indptr = np.empty(n_rows + 1, dtype=np.int32)
        indices = np.empty(cols.size, dtype=np.int32)
        sorted_data = np.empty(cols.size, dtype=np.float64)
        _coo_tocsr(
            n_rows,
            shape[1],
            cols.size,
            rows[by_col],
            cols[by_col],
            data[by_col],
            indptr,
            indices,
            sorted_data,
        )
        return np.diff(indptr).astype(np.int64), indices, sorted_data
    matrix = scipy.sparse.coo_array((data, (rows, cols)), shape=shape).tocsr()
    return (
        np.diff(matrix.indptr).astype(np.int64),
        matrix.indices.astype(np.int32, copy=False),
        np.asarray(matrix.data, dtype=np.float64),
    )


def _row_col_order(
    rows: NDArray[np.int32], cols: NDArray[np.int32], n_rows: int, n_cols: int
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.intp]] | None:
    """Sort unique (row, col) pairs by row then column with one sort of packed 64-bit keys.

    Each key holds the row, the column and the pair's position in its bits, so a
    plain (SIMD) sort of the keys orders the pairs and carries the permutation along:
    several times faster than an argsort or a counting sort with scattered writes.
    Returns the count per row, the sorted columns and the permutation, or ``None``
    when the three do not fit in 64 bits (the caller sorts another way).
    """
    n_pairs = rows.size
    col_bits = max(int(n_cols - 1).bit_length(), 1)
    position_bits = max(int(n_pairs - 1).bit_length(), 1)
    if int(max(n_rows - 1, 1)).bit_length() + col_bits + position_bits > 64:
        return None
    key = rows.astype(np.uint64)
    key <<= np.uint64(col_bits)
    key |= cols.astype(np.uint64)
    key <<= np.uint64(position_bits)
    key |= np.arange(n_pairs, dtype=np.uint64)
    key.sort()
    order = (key & np.uint64((1 << position_bits) - 1)).astype(np.intp)
    key >>= np.uint64(position_bits)
    key &= np.uint64((1 << col_bits) - 1)
    counts = np.bincount(rows, minlength=n_rows).astype(np.int64, copy=False)
    return counts, key.astype(np.int32), order


def _nearest_from_pairs(
    counts: NDArray[np.int64],
    cols: NDArray[np.int32] | NDArray[np.int64],
    values: NDArray[np.float64],
    best: NDArray[np.float64],
    best_site: NDArray[np.int64],
) -> None:
    """Fill ``best``/``best_site`` with each row's closest pair (ties: lowest site index).

    ``cols`` need not be sorted within rows.
    """
    rows = np.flatnonzero(counts)
    if rows.size == 0:
        return
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[rows]
    row_min = np.minimum.reduceat(values, starts)
    full_min = np.full(counts.size, np.inf)
    full_min[rows] = row_min
    row_of_entry = np.repeat(np.arange(counts.size), counts)
    hits = np.flatnonzero(values == full_min[row_of_entry])
    hit_rows = row_of_entry[hits]
    first = np.flatnonzero(np.concatenate([[True], hit_rows[1:] != hit_rows[:-1]]))
    best[hit_rows[first]] = values[hits[first]]
    best_site[hit_rows[first]] = np.minimum.reduceat(cols[hits], first)


def reach_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    matrix: pd.DataFrame | str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    sort_indices: bool = True,
    workers: int | None = None,
) -> ReachMatrix:
    """Build the sparse demand × site reach matrix and each point's nearest site.

    Parameters
    ----------
    gdf_demand
        Demand points in EPSG:4326 with ``id`` and optionally ``grade``
        (as :func:`netplan.io.read_points` returns them).
    gdf_sites
        Sites with ``id``, ``tier`` and ``status``. Competitors (and sites
        without a tier) reach nothing but count as nearest sites.
    scenario
        Tiers, promises and the distance model.
    matrix
        A user cost matrix (path to a CSV/Parquet file, or a frame with
        ``demand_id``, ``site_id``, ``cost``). When given, the distance model
        is ``"matrix"`` whatever the scenario says; pairs absent from it are
        unreachable.
    chunk_size
        Demand points per chunk (memory stays bounded by the chunk).
    progress
        Called as ``progress(done, total)`` after each chunk.
    sort_indices
        Sort the site indices within each row (canonical CSR, the default).
        ``False`` skips that sort (about half the build time on dense
        networks); rows then hold their sites in a fixed but unsorted order
        (``matrix.has_sorted_indices`` tells; ``matrix.sort_indices()`` sorts).
    workers
        Threads building chunks side by side (the result is the same for any
        number); ``None``: one per core from 200,000 demand points, else one.

    Returns
    -------
    ReachMatrix
        The reach matrix in the distance model's unit.

    Raises
    ------
    ConfigError
        A site's tier is not in the scenario, or the scenario asks for the
        matrix model without a matrix.
    InputError
        The matrix names unknown ids or has bad costs; coordinates missing.

    Examples
    --------
    >>> from netplan import default_scenario, read_customers, read_sites
    >>> demand, sites = read_customers("c.csv"), read_sites("s.csv")  # doctest: +SKIP
    >>> reach = reach_from_points(demand, sites, default_scenario())  # doctest: +SKIP
    >>> reach.n_covering()  # doctest: +SKIP
    """
    demand_lon, demand_lat = _coordinates(gdf_demand, "demand points")
    site_lon, site_lat = _coordinates(gdf_sites, "sites")
    return reach_from_arrays(
        demand_lon,
        demand_lat,
        site_lon,
        site_lat,
        _site_tiers(gdf_sites, scenario),
        scenario,
        demand_ids=_ids(gdf_demand, "demand points"),
        site_ids=_ids(gdf_sites, "sites"),
        grades=_grades(gdf_demand) if "grade" in gdf_demand.columns else None,
        matrix=matrix,
        chunk_size=chunk_size,
        progress=progress,
        sort_indices=sort_indices,
        workers=workers,
    )


#: Bytes per stored pair while the reach matrix is built (int32 column + float64 value,
#: held in chunks and once more in the final CSR) and per demand point (row arrays).
_REACH_BYTES_PER_PAIR = 24
_REACH_BYTES_PER_POINT = 48


def reach_memory_estimate(n_pairs: float, n_demand: int) -> float:
    """Return the bytes a reach matrix of ``n_pairs`` pairs over ``n_demand`` points needs."""
    return n_pairs * _REACH_BYTES_PER_PAIR + n_demand * _REACH_BYTES_PER_POINT


def _check_reach_memory(stored_pairs: int, done: int, n_demand: int) -> None:
    """Refuse the build once the pairs seen so far project past the memory limit."""
    projected = stored_pairs / max(done, 1) * n_demand
    check_memory(
        reach_memory_estimate(projected, n_demand),
        f"the reach matrix ({n_demand:,} demand points, about {projected:,.0f} demand-site "
        f"pairs within reach, estimated from the first {done:,} points)",
        "aggregate the demand to H3 cells (netplan optimize --aggregate h3:7, or netplan "
        "convert --cells), run coverage on the Dask engine (netplan coverage --engine dask), "
        "or shorten the radii",
    )


def reach_from_arrays(
    demand_lon: ArrayLike,
    demand_lat: ArrayLike,
    site_lon: ArrayLike,
    site_lat: ArrayLike,
    site_tiers: ArrayLike,
    scenario: Scenario,
    *,
    demand_ids: ArrayLike | None = None,
    site_ids: ArrayLike | None = None,
    grades: ArrayLike | None = None,
    matrix: pd.DataFrame | str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    sort_indices: bool = True,
    workers: int | None = None,
) -> ReachMatrix:
    """Build the reach matrix from coordinate arrays (the engine under :func:`reach_from_points`).

    For very large demand sets this skips building GeoDataFrames (ten million
    shapely points and string ids take several GB by themselves).

    Parameters
    ----------
    demand_lon, demand_lat, site_lon, site_lat
        Coordinates in degrees (EPSG:4326).
    site_tiers
        Tier name per site; ``None`` for sites that reach nothing (competitors).
    scenario
        Tiers, promises and the distance model.
    demand_ids, site_ids
        Ids stored in the result; positions (integers) when ``None``. Required
        with a ``matrix``, whose ids they resolve.
    grades
        Region grade per demand point (``None`` entries take the default promise).
    matrix, chunk_size, progress, sort_indices, workers
        As in :func:`reach_from_points`.

    Returns
    -------
    ReachMatrix
        The reach matrix in the distance model's unit.
    """
    if chunk_size < 1:
        msg = f"chunk_size must be 1 or more, got {chunk_size}"
        raise ValueError(msg)
    model = "matrix" if matrix is not None else scenario.distance_model
    if model == "matrix" and matrix is None:
        msg = (
            f'{scenario.source}: `scenario.distance_model` is "matrix" but no matrix was given; '
            "pass --matrix FILE (demand_id, site_id, cost) or use great_circle / road_estimate"
        )
        raise ConfigError(msg)
    inputs = _reach_inputs(
        demand_lon,
        demand_lat,
        site_lon,
        site_lat,
        site_tiers,
        scenario,
        model,
        demand_ids,
        site_ids,
        grades,
    )
    if model == "matrix":
        assert matrix is not None
        return _reach_from_matrix(inputs, matrix, progress)
    return _reach_by_tree(inputs, chunk_size, progress, sort_indices, workers)


@dataclass
class _ReachInputs:
    """Checked inputs of a reach build, and what every distance model derives from them."""

    demand_lon: NDArray[np.float64]
    demand_lat: NDArray[np.float64]
    site_lon: NDArray[np.float64]
    site_lat: NDArray[np.float64]
    tiers: NDArray[np.object_]
    demand_ids: NDArray[Any]
    site_ids: NDArray[Any]
    model: str
    unit: str
    site_scale: NDArray[np.float64]
    tier_names: list[str]
    promises: dict[str, NDArray[np.float64]]

    def result(
        self,
        matrix: scipy.sparse.csr_array,
        nearest: NDArray[np.int64],
        distance: NDArray[np.float64],
        full_costs: scipy.sparse.csr_array | None,
    ) -> ReachMatrix:
        return ReachMatrix(
            demand_ids=self.demand_ids,
            site_ids=self.site_ids,
            site_tiers=self.tiers,
            matrix=matrix,
            nearest_site=nearest,
            nearest_distance=distance,
            unit=self.unit,
            distance_model=self.model,
            demand_lon=self.demand_lon,
            demand_lat=self.demand_lat,
            site_lon=self.site_lon,
            site_lat=self.site_lat,
            site_scale=self.site_scale,
            full_costs=full_costs,
        )


def _reach_inputs(
    demand_lon: ArrayLike,
    demand_lat: ArrayLike,
    site_lon: ArrayLike,
    site_lat: ArrayLike,
    site_tiers: ArrayLike,
    scenario: Scenario,
    model: str,
    demand_ids: ArrayLike | None,
    site_ids: ArrayLike | None,
    grades: ArrayLike | None,
) -> _ReachInputs:
    """Check the arrays; derive the per-site distance scale and the per-point promises."""
    demand_lon = np.asarray(demand_lon, dtype=np.float64)
    demand_lat = np.asarray(demand_lat, dtype=np.float64)
    site_lon = np.asarray(site_lon, dtype=np.float64)
    site_lat = np.asarray(site_lat, dtype=np.float64)
    tiers = np.asarray(site_tiers, dtype=object)
    if demand_lon.shape != demand_lat.shape or site_lon.shape != site_lat.shape:
        msg = "longitude and latitude arrays must have the same length"
        raise ValueError(msg)
    if tiers.shape != site_lon.shape:
        msg = f"site_tiers has {tiers.size} entries for {site_lon.size} sites"
        raise ValueError(msg)
    for name in pd.unique(tiers[pd.notna(tiers)]):
        scenario.tier(str(name))  # raises ConfigError naming the defined tiers
    if model == "matrix" and (demand_ids is None or site_ids is None):
        msg = "a matrix names demand and site ids: pass demand_ids and site_ids"
        raise ValueError(msg)
    # Positions (int64) stand in for missing ids: no ten million Python objects.
    demand_id_array = (
        np.arange(demand_lon.size) if demand_ids is None else np.asarray(demand_ids, dtype=object)
    )
    site_id_array = (
        np.arange(site_lon.size) if site_ids is None else np.asarray(site_ids, dtype=object)
    )
    grade_array = None if grades is None else np.asarray(grades, dtype=object)
    n_demand, n_sites = len(demand_id_array), len(site_id_array)

    if model == "road_estimate":
        site_scale = np.array(
            [
                scenario.detour_factor if t is None else scenario.tiers[t].detour_factor
                for t in tiers
            ],
            dtype=np.float64,
        )
    else:
        site_scale = np.ones(n_sites, dtype=np.float64)
    tier_names = [str(t) for t in pd.unique(tiers[pd.notna(tiers)])]
    promises = {
        name: _promise_per_point(scenario.tiers[name], grade_array, n_demand, scenario, model)
        for name in tier_names
    }
    return _ReachInputs(
        demand_lon=demand_lon,
        demand_lat=demand_lat,
        site_lon=site_lon,
        site_lat=site_lat,
        tiers=tiers,
        demand_ids=demand_id_array,
        site_ids=site_id_array,
        model=model,
        unit=scenario.matrix_unit if model == "matrix" else "km",
        site_scale=site_scale,
        tier_names=tier_names,
        promises=promises,
    )


def _reach_from_matrix(
    inputs: _ReachInputs,
    matrix: pd.DataFrame | str | Path,
    progress: ProgressCallback | None,
) -> ReachMatrix:
    """Return the reach matrix of a user cost matrix: the pairs within each tier's promise."""
    n_demand, n_sites = len(inputs.demand_ids), len(inputs.site_ids)
    full = _matrix_costs(matrix, inputs.demand_ids, inputs.site_ids)
    counts = np.diff(full.indptr)
    rows = np.repeat(np.arange(n_demand, dtype=np.int64), counts)
    cols = full.indices.astype(np.int64)
    data = np.asarray(full.data, dtype=np.float64)
    limit = np.full(data.size, -np.inf)
    for name in inputs.tier_names:
        in_tier = inputs.tiers[cols] == name
        limit[in_tier] = inputs.promises[name][rows[in_tier]]
    reaches = data <= limit
    reach_matrix = _csr_from_entries(
        rows[reaches], cols[reaches], data[reaches], (n_demand, n_sites)
    )
    nearest, distance = _row_minimum(full)
    if progress is not None:
        progress(n_demand, n_demand)
    return inputs.result(reach_matrix, nearest, distance, full)


@dataclass
class _Trees:
    """KD-trees of the sites: one per tier (radius queries), one per distance scale (nearest)."""

    tier_trees: list[tuple[str, cKDTree, NDArray[np.int64], float]]
    nearest_trees: list[tuple[cKDTree, NDArray[np.int64], float]]
    #: Every site is in a tier tree, so a point's nearest site can be read from its pairs.
    every_site_tiered: bool


def _site_trees(inputs: _ReachInputs) -> _Trees:
    site_xyz = unit_xyz(inputs.site_lon, inputs.site_lat)
    tier_trees: list[tuple[str, cKDTree, NDArray[np.int64], float]] = []
    for name in inputs.tier_names:
        members = np.flatnonzero(inputs.tiers == name)
        scale = float(inputs.site_scale[members[0]])
        tier_trees.append((name, cKDTree(site_xyz[members]), members, scale))
    site_scale = inputs.site_scale
    scale_groups = [np.flatnonzero(site_scale == s) for s in np.unique(site_scale)]
    nearest_trees = [(cKDTree(site_xyz[g]), g, float(site_scale[g[0]])) for g in scale_groups]
    n_sites = len(inputs.site_ids)
    every_site_tiered = bool(n_sites) and all(t is not None for t in inputs.tiers)
    return _Trees(tier_trees, nearest_trees, every_site_tiered)


def _reach_by_tree(
    inputs: _ReachInputs,
    chunk_size: int,
    progress: ProgressCallback | None,
    sort_indices: bool,
    workers: int | None = None,
) -> ReachMatrix:
    """Return the reach matrix by great-circle (or scaled) distance, chunk by chunk."""
    n_demand, n_sites = len(inputs.demand_ids), len(inputs.site_ids)
    trees = _site_trees(inputs)
    threads = _thread_count(workers, n_demand)
    query_workers = 1 if threads > 1 else None
    nearest = np.full(n_demand, -1, dtype=np.int64)
    distance = np.full(n_demand, np.inf)
    row_counts = np.zeros(n_demand, dtype=np.int64)
    entries = _Entries()
    stored_pairs = 0

    def run(start: int, stop: int) -> _ChunkEntries:
        xyz = unit_xyz(inputs.demand_lon[start:stop], inputs.demand_lat[start:stop])
        chunk = _chunk_entries(xyz, inputs, trees, start, stop, sort_indices)
        if chunk.need.any() and trees.nearest_trees:
            _nearest_by_query(xyz, chunk.need, chunk.best, chunk.best_site, trees, query_workers)
        return chunk

    for start, stop, chunk in _map_chunks(n_demand, chunk_size, threads, run):
        if chunk.counts is not None and chunk.cols is not None and chunk.values is not None:
            row_counts[start:stop] = chunk.counts
        nearest[start:stop] = chunk.best_site
        distance[start:stop] = chunk.best
        stored_pairs += int(row_counts[start:stop].sum())
        _check_reach_memory(stored_pairs, stop, n_demand)
        if chunk.cols is not None and chunk.values is not None:
            # Room for the projected matrix once the first chunk has measured its density.
            entries.reserve(int(stored_pairs / stop * n_demand * 1.25) + chunk.cols.size)
            entries.append(chunk.cols, chunk.values)
        if progress is not None:
            progress(stop, n_demand)

    cols, values = entries.arrays()
    matrix = _csr_from_sorted(row_counts, cols, values, (n_demand, n_sites), sort_indices)
    return inputs.result(matrix, nearest, distance, None)


class _Entries:
    """The matrix's columns and values, written chunk by chunk into one buffer.

    The buffer is reserved once, for the size projected from the first chunk
    (pages untouched past the end cost no memory), so the final CSR arrays are
    that buffer: no second copy of every entry at the end, about half the peak
    memory of concatenating chunks. Entries beyond the projection go to a list
    and are joined at the end (one copy, as before).
    """

    def __init__(self) -> None:
        self.cols: NDArray[np.int32] | None = None
        self.values: NDArray[np.float64] | None = None
        self.size = 0
        self.overflow: list[tuple[NDArray[np.int32], NDArray[np.float64]]] = []

    def reserve(self, capacity: int) -> None:
        if self.cols is None:
            try:
                self.cols = np.empty(capacity, dtype=np.int32)  # site counts fit in int32
                self.values = np.empty(capacity, dtype=np.float64)
            except MemoryError:  # a projection the system will not map: join chunks instead
                self.cols = np.empty(0, dtype=np.int32)
                self.values = np.empty(0, dtype=np.float64)

    def append(self, cols: NDArray[np.int32], values: NDArray[np.float64]) -> None:
        assert self.cols is not None and self.values is not None
        end = self.size + cols.size
        if self.overflow or end > self.cols.size:
            self.overflow.append((cols, values))
            return
        self.cols[self.size : end] = cols
        self.values[self.size : end] = values
        self.size = end

    def arrays(self) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        if self.cols is None or self.values is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        cols, values = self.cols[: self.size], self.values[: self.size]
        if self.overflow:
            cols = np.concatenate([cols, *(c for c, _ in self.overflow)])
            values = np.concatenate([values, *(v for _, v in self.overflow)])
        return cols, values


class _Chunk(Protocol):
    """What the chunk scheduler reads from a chunk's result: how many pairs it held."""

    n_pairs: int


_ChunkT = TypeVar("_ChunkT", bound=_Chunk)


def _thread_count(workers: int | None, n_demand: int) -> int:
    """Return the threads to run chunks on: ``workers``, else every core for large inputs.

    The KD-tree traversals, sorts and NumPy passes of a chunk release the GIL, so
    chunks run side by side on threads (no copies, no processes to start).
    """
    if workers is not None:
        if workers < 1:
            msg = f"workers must be 1 or more, got {workers}"
            raise ValueError(msg)
        return workers
    if n_demand < _PARALLEL_FROM:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def _map_chunks(
    n_demand: int, chunk_size: int, threads: int, run: Callable[[int, int], _ChunkT]
) -> Iterator[tuple[int, int, _ChunkT]]:
    """Yield ``(start, stop, run(start, stop))`` over the demand in order, chunk by chunk.

    The first chunk (at most 65,536 points) measures how dense the pairs are; each
    later chunk is sized for about :data:`_PAIRS_PER_CHUNK` pairs from the chunk last
    finished (within 1,024..``chunk_size`` points). With ``threads`` > 1 up to
    ``threads + 1`` chunks are in flight (memory stays bounded) and results are
    still yielded in demand order.
    """
    start = 0
    size = min(chunk_size, 65_536)

    def resize(stop_minus_start: int, n_pairs: int) -> int:
        ideal = stop_minus_start * _PAIRS_PER_CHUNK / max(n_pairs, 1)
        return int(min(chunk_size, max(1_024, ideal)))

    if threads <= 1:
        while start < n_demand:
            stop = min(start + size, n_demand)
            result = run(start, stop)
            yield start, stop, result
            size = resize(stop - start, result.n_pairs)
            start = stop
        return
    pending: deque[tuple[int, int, Future[_ChunkT]]] = deque()
    measured = False
    with ThreadPoolExecutor(max_workers=threads) as pool:
        while start < n_demand or pending:
            while start < n_demand and len(pending) <= threads and (measured or not pending):
                stop = min(start + size, n_demand)
                pending.append((start, stop, pool.submit(run, start, stop)))
                start = stop
            first, last, future = pending.popleft()
            result = future.result()
            measured = True
            size = resize(last - first, result.n_pairs)
            yield first, last, result


@dataclass
class _ChunkEntries:
    """One chunk's reach entries (rows in order) and the nearest sites read from them."""

    counts: NDArray[np.int64] | None
    cols: NDArray[np.int32] | None
    values: NDArray[np.float64] | None
    best: NDArray[np.float64]
    best_site: NDArray[np.int64]
    #: Points whose nearest site is not known from the pairs (a k=1 query finds it).
    need: NDArray[np.bool_]
    n_pairs: int


def _chunk_entries(
    xyz: NDArray[np.float64],
    inputs: _ReachInputs,
    trees: _Trees,
    start: int,
    stop: int,
    sort_indices: bool,
) -> _ChunkEntries:
    """Return one chunk's entries sorted by row, and the nearest sites its pairs prove."""
    n_here = stop - start
    n_sites = len(inputs.site_ids)
    pair_rows, pair_cols, pair_values, pair_keep, cover_limit = _chunk_pairs(
        xyz, trees.tier_trees, inputs.promises, start, stop, n_sites
    )
    chunk = _ChunkEntries(
        counts=None,
        cols=None,
        values=None,
        best=np.full(n_here, np.inf),
        best_site=np.full(n_here, -1, dtype=np.int64),
        need=np.ones(n_here, dtype=bool),
        n_pairs=int(pair_rows.size),
    )
    if not pair_rows.size:
        return chunk
    if trees.every_site_tiered and pair_rows.size <= _DENSE_PAIRS_PER_POINT * n_here:
        # Sort the pair positions, read each point's nearest site from its pairs.
        packed = _row_col_order(pair_rows, pair_cols, n_here, n_sites)
        if packed is not None:
            counts, cols_sorted, order = packed
        else:
            counts, cols_sorted, position = _sort_by_row_col(
                pair_rows,
                pair_cols,
                np.arange(pair_rows.size, dtype=np.float64),
                n_here,
                n_sites,
                sort_indices,
            )
            order = position.astype(np.int64)
        values_sorted = pair_values[order]
        _nearest_from_pairs(counts, cols_sorted, values_sorted, chunk.best, chunk.best_site)
        chunk.need = ~(chunk.best <= cover_limit)
        if pair_keep is not None:
            keep_sorted = pair_keep[order]
            row_of_entry = np.repeat(np.arange(n_here), counts)
            counts = np.bincount(row_of_entry[keep_sorted], minlength=n_here)
            cols_sorted, values_sorted = cols_sorted[keep_sorted], values_sorted[keep_sorted]
    else:
        if pair_keep is not None:
            pair_rows, pair_cols, pair_values = (
                pair_rows[pair_keep],
                pair_cols[pair_keep],
                pair_values[pair_keep],
            )
        packed = _row_col_order(pair_rows, pair_cols, n_here, n_sites)
        if packed is not None:
            counts, cols_sorted, order = packed
            values_sorted = pair_values[order]
        else:
            counts, cols_sorted, values_sorted = _sort_by_row_col(
                pair_rows, pair_cols, pair_values, n_here, n_sites, sort_indices
            )
    chunk.counts, chunk.cols, chunk.values = counts, cols_sorted, values_sorted
    return chunk


def _nearest_by_query(
    xyz: NDArray[np.float64],
    need: NDArray[np.bool_],
    best: NDArray[np.float64],
    best_site: NDArray[np.int64],
    trees: _Trees,
    workers: int | None = None,
) -> None:
    """Fill ``best``/``best_site`` where ``need``: the nearest site of any tier, by k=1 queries.

    ``workers`` threads per query (``None``: all cores for large queries).
    """
    query = xyz if need.all() else xyz[need]
    found = np.full(query.shape[0], np.inf)
    found_site = np.full(query.shape[0], -1, dtype=np.int64)
    threads = _query_workers(query.shape[0]) if workers is None else workers
    for tree, members, scale in trees.nearest_trees:
        chord, position = tree.query(query, k=1, workers=threads)
        value = km_from_chord(chord) * scale
        better = value < found
        found[better] = value[better]
        found_site[better] = members[position[better]]
    best[need] = found
    best_site[need] = found_site


def _query_workers(n: int) -> int:
    """Threads for a KD-tree query of ``n`` points: all cores for large queries (same result)."""
    return -1 if n >= 50_000 else 1


# --------------------------------------------------------------------------- counts only


@dataclass(frozen=True, eq=False)
class ReachCounts:
    """What coverage reads from a reach matrix, per demand point, without the matrix.

    Every array equals what the same inputs' :class:`ReachMatrix` gives:
    :attr:`nearest_site`/:attr:`nearest_distance` are its attributes,
    :attr:`covering_site`/:attr:`covering_distance` its
    :meth:`~ReachMatrix.covering_nearest`, :attr:`n_covering` its
    :meth:`~ReachMatrix.n_covering`.

    Attributes
    ----------
    nearest_site
        Index of the nearest site of any tier (``-1`` when there are no sites).
    nearest_distance
        Distance to it in :attr:`unit` (``inf`` when there is none).
    covering_site
        Index of the closest site that reaches the point (``-1``: none reaches
        it); ties go to the lower site index.
    covering_distance
        Distance to it (``inf`` when none reaches the point).
    n_covering
        Number of sites reaching the point.
    reached_tiers
        Bit mask: bit ``k`` is set when a site of ``tier_names[k]`` reaches the point.
    tier_names
        The scenario's tier names, in its order (the bit positions).
    site_tiers
        Tier name of each site (``None`` for sites that reach nothing).
    unit
        ``"km"``.
    distance_model
        ``"great_circle"`` or ``"road_estimate"``.
    """

    nearest_site: NDArray[np.int64]
    nearest_distance: NDArray[np.float64]
    covering_site: NDArray[np.int64]
    covering_distance: NDArray[np.float64]
    n_covering: NDArray[np.int64]
    reached_tiers: NDArray[np.int64]
    tier_names: tuple[str, ...]
    site_tiers: NDArray[np.object_]
    unit: str
    distance_model: str

    def covering_tier(self) -> NDArray[np.int64]:
        """Return, per point, the position in :attr:`tier_names` of its covering site's tier.

        ``-1`` where no site reaches the point. With :attr:`reached_tiers` this
        is what :func:`netplan.coverage.tier_reach` returns from a matrix.
        """
        position = {name: k for k, name in enumerate(self.tier_names)}
        site_code = np.array([position.get(t, -1) for t in self.site_tiers.tolist()] + [-1])
        return np.asarray(site_code[self.covering_site], dtype=np.int64)


def reach_counts_from_arrays(
    demand_lon: ArrayLike,
    demand_lat: ArrayLike,
    site_lon: ArrayLike,
    site_lat: ArrayLike,
    site_tiers: ArrayLike,
    scenario: Scenario,
    *,
    grades: ArrayLike | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> ReachCounts:
    """Return each point's nearest and closest covering site and reach counts, matrix-free.

    The fused kernel under coverage: the same KD-tree pairs as
    :func:`reach_from_arrays`, reduced chunk by chunk to per-point numbers
    (minimum per row, counts, tier bits) as they are found, with no sort and
    no sparse matrix, on one thread per core. Memory stays at a few arrays per
    demand point whatever the density of the network.

    Parameters
    ----------
    demand_lon, demand_lat, site_lon, site_lat
        Coordinates in degrees (EPSG:4326).
    site_tiers
        Tier name per site; ``None`` for sites that reach nothing (competitors).
    scenario
        Tiers, promises and the distance model (``great_circle`` or
        ``road_estimate``).
    grades
        Region grade per demand point (``None`` entries take the default promise).
    chunk_size
        Most demand points per chunk.
    progress
        Called as ``progress(done, total)`` after each chunk, in order.
    workers
        Threads (the result is the same for any number); ``None``: one per core
        from 200,000 demand points, else one.

    Returns
    -------
    ReachCounts
        Per-point arrays equal to those of :func:`reach_from_arrays`'s result.

    Raises
    ------
    ConfigError
        A site's tier is not in the scenario, the scenario's distance model is
        ``matrix`` (build the matrix with :func:`reach_from_arrays` and call
        :func:`reach_counts_from_matrix`), or it has more than 62 tiers.

    Examples
    --------
    >>> import numpy as np
    >>> from netplan import default_scenario
    >>> scenario = default_scenario()
    >>> tier = next(iter(scenario.tiers))
    >>> counts = reach_counts_from_arrays(
    ...     [116.40, 121.47], [39.90, 31.23], [116.41], [39.91], [tier], scenario
    ... )
    >>> counts.nearest_site.tolist(), counts.n_covering.tolist()
    ([0, 0], [1, 0])
    """
    if chunk_size < 1:
        msg = f"chunk_size must be 1 or more, got {chunk_size}"
        raise ValueError(msg)
    model = scenario.distance_model
    if model == "matrix":
        msg = (
            f"{scenario.source}: reach counts need distances (great_circle or road_estimate); "
            "with a cost matrix build reach_from_arrays(..., matrix=...) and pass it to "
            "reach_counts_from_matrix"
        )
        raise ConfigError(msg)
    tier_names = _bit_tiers(scenario)
    inputs = _reach_inputs(
        demand_lon, demand_lat, site_lon, site_lat, site_tiers, scenario, model, None, None, grades
    )
    n_demand = len(inputs.demand_ids)
    trees = _site_trees(inputs)
    site_bit = _site_bits(inputs.tiers, tier_names)
    threads = _thread_count(workers, n_demand)
    query_workers = 1 if threads > 1 else None
    out = _ChunkCounts.empty(n_demand)

    def run(start: int, stop: int) -> _ChunkCounts:
        xyz = unit_xyz(inputs.demand_lon[start:stop], inputs.demand_lat[start:stop])
        return _chunk_counts(xyz, inputs, trees, start, stop, site_bit, query_workers)

    for start, stop, chunk in _map_chunks(n_demand, chunk_size, threads, run):
        out.put(start, stop, chunk)
        if progress is not None:
            progress(stop, n_demand)
    return out.result(tier_names, inputs.tiers, inputs.unit, model)


def reach_counts_from_matrix(reach: ReachMatrix, scenario: Scenario) -> ReachCounts:
    """Return the per-point numbers of :func:`reach_counts_from_arrays` from a built matrix.

    For cost matrices (which the matrix-free kernel cannot read) and as its
    reference in tests.

    Parameters
    ----------
    reach
        A reach matrix, e.g. from :func:`reach_from_arrays`.
    scenario
        The scenario whose tiers number the bits of
        :attr:`ReachCounts.reached_tiers`.

    Returns
    -------
    ReachCounts
        The matrix's nearest sites, closest covering sites, counts and tier bits.
    """
    tier_names = _bit_tiers(scenario)
    covering_site, covering_distance = reach.covering_nearest()
    site_bit = _site_bits(reach.site_tiers, tier_names)
    rows = np.repeat(np.arange(reach.n_demand), np.diff(reach.matrix.indptr))
    reached = np.zeros(reach.n_demand, dtype=np.int64)
    np.bitwise_or.at(reached, rows, site_bit[np.asarray(reach.matrix.indices)])
    return ReachCounts(
        nearest_site=reach.nearest_site,
        nearest_distance=reach.nearest_distance,
        covering_site=covering_site,
        covering_distance=covering_distance,
        n_covering=reach.n_covering(),
        reached_tiers=reached,
        tier_names=tier_names,
        site_tiers=reach.site_tiers,
        unit=reach.unit,
        distance_model=reach.distance_model,
    )


def _bit_tiers(scenario: Scenario) -> tuple[str, ...]:
    names = tuple(scenario.tiers)
    if len(names) > 62:
        msg = f"{scenario.source}: at most 62 tiers are supported, got {len(names)}"
        raise ConfigError(msg)
    return names


def _site_bits(tiers: NDArray[np.object_], tier_names: tuple[str, ...]) -> NDArray[np.int64]:
    """Return each site's tier bit (``1 << k`` for ``tier_names[k]``; 0 without a tier)."""
    position = {name: k for k, name in enumerate(tier_names)}
    return np.array(
        [0 if t is None or t not in position else 1 << position[t] for t in tiers.tolist()],
        dtype=np.int64,
    )


@dataclass
class _ChunkCounts:
    """Per-point reach numbers of a chunk (or, via :meth:`put`, of all the demand)."""

    best: NDArray[np.float64]
    best_site: NDArray[np.int64]
    covering: NDArray[np.float64]
    covering_site: NDArray[np.int64]
    n_covering: NDArray[np.int64]
    reached: NDArray[np.int64]
    n_pairs: int = 0

    @classmethod
    def empty(cls, n: int) -> _ChunkCounts:
        return cls(
            best=np.full(n, np.inf),
            best_site=np.full(n, -1, dtype=np.int64),
            covering=np.full(n, np.inf),
            covering_site=np.full(n, -1, dtype=np.int64),
            n_covering=np.zeros(n, dtype=np.int64),
            reached=np.zeros(n, dtype=np.int64),
        )

    def put(self, start: int, stop: int, chunk: _ChunkCounts) -> None:
        for name in ("best", "best_site", "covering", "covering_site", "n_covering", "reached"):
            getattr(self, name)[start:stop] = getattr(chunk, name)

    def result(
        self, tier_names: tuple[str, ...], site_tiers: NDArray[np.object_], unit: str, model: str
    ) -> ReachCounts:
        return ReachCounts(
            nearest_site=self.best_site,
            nearest_distance=self.best,
            covering_site=self.covering_site,
            covering_distance=self.covering,
            n_covering=self.n_covering,
            reached_tiers=self.reached,
            tier_names=tier_names,
            site_tiers=site_tiers,
            unit=unit,
            distance_model=model,
        )


def _chunk_counts(
    xyz: NDArray[np.float64],
    inputs: _ReachInputs,
    trees: _Trees,
    start: int,
    stop: int,
    site_bit: NDArray[np.int64],
    query_workers: int | None,
) -> _ChunkCounts:
    """Reduce one chunk's pairs to per-point numbers, as :func:`_chunk_entries` would read them."""
    n_here = stop - start
    rows, cols, values, keep, cover_limit = _chunk_pairs(
        xyz, trees.tier_trees, inputs.promises, start, stop, len(inputs.site_ids)
    )
    chunk = _ChunkCounts.empty(n_here)
    chunk.n_pairs = int(rows.size)
    need = np.ones(n_here, dtype=bool)
    if rows.size and trees.every_site_tiered and rows.size <= _DENSE_PAIRS_PER_POINT * n_here:
        _minimum_by_row(rows, cols, values, chunk.best, chunk.best_site)  # as the matrix path
        need = ~(chunk.best <= cover_limit)
    if keep is not None:
        rows, cols, values = rows[keep], cols[keep], values[keep]
    if rows.size:
        chunk.n_covering = np.bincount(rows, minlength=n_here).astype(np.int64, copy=False)
        _minimum_by_row(rows, cols, values, chunk.covering, chunk.covering_site)
        _tier_bits(rows, cols, site_bit, chunk.n_covering, chunk.reached)
    if need.any() and trees.nearest_trees:
        _nearest_by_query(xyz, need, chunk.best, chunk.best_site, trees, query_workers)
    return chunk


def _tier_bits(
    rows: NDArray[np.int32],
    cols: NDArray[np.int32],
    site_bit: NDArray[np.int64],
    n_covering: NDArray[np.int64],
    reached: NDArray[np.int64],
) -> None:
    """Set bit ``k`` of ``reached[row]`` when a site of the ``k``-th tier reaches the row."""
    bits = np.unique(site_bit[site_bit != 0])
    if bits.size == 1:  # pairs come from tiered sites only: one tier, any reach is it
        reached[n_covering > 0] |= bits[0]
        return
    pair_bit = site_bit[cols]
    for bit in bits.tolist():
        hit = np.zeros(reached.size, dtype=bool)
        hit[rows[pair_bit == bit]] = True
        reached[hit] |= bit


def _minimum_by_row(
    rows: NDArray[np.int32],
    cols: NDArray[np.int32],
    values: NDArray[np.float64],
    best: NDArray[np.float64],
    best_site: NDArray[np.int64],
) -> None:
    """Fill ``best``/``best_site`` (all ``inf``/-1) with each row's smallest value and column.

    Ties go to the lowest column, as :func:`_nearest_from_pairs` breaks them; unsorted
    pairs, no sort (two unbuffered ``ufunc.at`` passes).
    """
    np.minimum.at(best, rows, values)
    hit = values == best[rows]
    site = np.full(best.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(site, rows[hit], cols[hit].astype(np.int64))
    found = site != np.iinfo(np.int64).max
    best_site[found] = site[found]


# --------------------------------------------------------------------------- for other engines


def site_arrays(
    gdf_sites: pd.DataFrame, scenario: Scenario
) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.float64], NDArray[np.float64]]:
    """Return the sites' ids, tiers and coordinates, checked as :func:`reach_from_points` does.

    For engines that call :func:`reach_from_arrays` chunk by chunk
    (:mod:`netplan.scale`).
    """
    lon, lat = _coordinates(gdf_sites, "sites")
    return _ids(gdf_sites, "sites"), _site_tiers(gdf_sites, scenario), lon, lat


def point_coordinates(
    gdf: gpd.GeoDataFrame, what: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return points' longitudes and latitudes (EPSG:4326), checked; ``what`` names them."""
    return _coordinates(gdf, what)


def demand_grades(gdf_demand: pd.DataFrame) -> NDArray[np.object_]:
    """Return each demand point's region grade as text (``None`` where missing)."""
    return _grades(gdf_demand)
