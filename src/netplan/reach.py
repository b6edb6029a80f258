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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse
from scipy.spatial import cKDTree

from netplan.config import EARTH_RADIUS_KM, Scenario, Tier
from netplan.errors import ConfigError, InputError, Problem

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EARTH_RADIUS_KM",
    "ProgressCallback",
    "ReachMatrix",
    "chord_from_km",
    "great_circle_km",
    "km_from_chord",
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
# Chunks shrink or grow so that one chunk holds about this many candidate pairs.
_PAIRS_PER_CHUNK = 4_000_000

try:  # scipy's linear COO -> CSR counting sort (private, stable for a decade)
    from scipy.sparse._sparsetools import coo_tocsr as _coo_tocsr
except ImportError:  # pragma: no cover - fall back to the public conversion
    _coo_tocsr = None

# Radius queries use a chord enlarged by this relative margin, then filter on the
# exact kilometre distance, so rounding in the chord never drops a boundary pair.
_QUERY_MARGIN = 1e-9


# --------------------------------------------------------------------------- geometry


def unit_xyz(lon_deg: ArrayLike, lat_deg: ArrayLike) -> NDArray[np.float64]:
    """Return the unit-sphere coordinates of points given in degrees.

    Parameters
    ----------
    lon_deg, lat_deg
        Longitudes and latitudes in degrees (EPSG:4326), same length.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(n, 3)``.
    """
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    out = np.empty((lon.size, 3), dtype=np.float64)
    out[:, 0] = cos_lat * np.cos(lon)
    out[:, 1] = cos_lat * np.sin(lon)
    out[:, 2] = np.sin(lat)
    return out


def great_circle_km(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Return great-circle distances in km (vectorised, broadcasting).

    Uses the atan2 (Vincenty sphere) form, accurate for every distance from
    zero to antipodal.

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        Coordinates in degrees.

    Returns
    -------
    numpy.ndarray
        Distances on a sphere of radius :data:`EARTH_RADIUS_KM`.

    Examples
    --------
    >>> round(float(great_circle_km(0, 0, 1, 0)), 3)
    111.195
    """
    lam1 = np.radians(np.asarray(lon1, dtype=np.float64))
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    lam2 = np.radians(np.asarray(lon2, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dlam = lam2 - lam1
    sin_phi1, cos_phi1 = np.sin(phi1), np.cos(phi1)
    sin_phi2, cos_phi2 = np.sin(phi2), np.cos(phi2)
    cos_dlam = np.cos(dlam)
    num = np.hypot(cos_phi2 * np.sin(dlam), cos_phi1 * sin_phi2 - sin_phi1 * cos_phi2 * cos_dlam)
    den = sin_phi1 * sin_phi2 + cos_phi1 * cos_phi2 * cos_dlam
    return np.asarray(EARTH_RADIUS_KM * np.arctan2(num, den), dtype=np.float64)


def chord_from_km(km: ArrayLike) -> NDArray[np.float64]:
    """Return the unit-sphere chord length of a great-circle distance in km."""
    angle = np.minimum(np.asarray(km, dtype=np.float64) / EARTH_RADIUS_KM, np.pi)
    return np.asarray(2.0 * np.sin(angle / 2.0), dtype=np.float64)


def km_from_chord(chord: ArrayLike) -> NDArray[np.float64]:
    """Return the great-circle distance in km of a unit-sphere chord length."""
    half = np.clip(np.asarray(chord, dtype=np.float64) / 2.0, 0.0, 1.0)
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(half), dtype=np.float64)


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


def read_matrix(path: str | Path) -> pd.DataFrame:
    """Read a long-format cost matrix: columns ``demand_id``, ``site_id``, ``cost``.

    Parameters
    ----------
    path
        CSV (comma, semicolon or tab; UTF-8 or GB18030) or Parquet file.

    Returns
    -------
    pandas.DataFrame
        Columns ``demand_id`` and ``site_id`` (str) and ``cost`` (float);
        ``attrs["netplan_source"]`` records the file and the row offset used
        in error messages.

    Raises
    ------
    InputError
        When the file is missing or unreadable, a column is missing, or a
        cost is not a number 0 or more (listing file, row and column).
    """
    from netplan.io import (
        CSV_SUFFIXES,
        PARQUET_SUFFIXES,
        check_input_file,
        detect_encoding,
        display_name,
    )

    path = Path(path)
    name = display_name(path)
    check_input_file(path, what="matrix file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        with path.open("rb") as handle:
            sample = handle.read(1 << 20)
        cut = sample.rfind(b"\n")
        encoding = detect_encoding(sample[: cut + 1] if cut > 0 else sample, name=name)
        header = sample.split(b"\n", 1)[0].decode(encoding, errors="replace")
        delimiter = max(",;\t", key=header.count)
        try:
            frame = pd.read_csv(
                path, sep=delimiter, dtype=str, keep_default_na=False, encoding=encoding
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                [Problem(name, None, None, f"not a readable CSV table: {first}")]
            ) from None
        row_offset = 2
    elif suffix in PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise InputError(
                [Problem(name, None, None, f"not a readable Parquet file: {exc}")]
            ) from None
        row_offset = 1
    else:
        msg = f"unknown matrix file type '{suffix or '(none)'}'; use .csv or .parquet"
        raise InputError([Problem(name, None, None, msg)])
    frame.attrs["netplan_source"] = {"file": name, "row_offset": row_offset}
    return _clean_matrix(frame, name, row_offset)


def _clean_matrix(frame: pd.DataFrame, name: str, row_offset: int) -> pd.DataFrame:
    lower = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("demand_id", "site_id", "cost") if c not in lower]
    if missing:
        msg = (
            f"matrix needs columns demand_id, site_id, cost; missing: {', '.join(missing)} "
            f"(columns are: {', '.join(map(str, frame.columns))})"
        )
        raise InputError([Problem(name, 1 if row_offset == 2 else None, None, msg)])
    out = pd.DataFrame(
        {
            "demand_id": frame[lower["demand_id"]].astype(str).str.strip().to_numpy(dtype=object),
            "site_id": frame[lower["site_id"]].astype(str).str.strip().to_numpy(dtype=object),
        }
    )
    if len(frame) == 0:
        msg = (
            "the matrix has a header but no rows: every demand point would be unreachable; "
            "give the costs, or drop --matrix to compute distances"
        )
        raise InputError([Problem(name, None, None, msg)])
    from netplan.io import numbers_from_cells

    raw_cost = frame[lower["cost"]]
    cost = numbers_from_cells(raw_cost, "cost")
    bad = ~np.isfinite(cost) | (cost < 0)
    problems: list[Problem] = []
    for position in np.flatnonzero(bad)[:20]:
        value = raw_cost.iloc[int(position)]
        problems.append(
            Problem(
                name,
                int(position) + row_offset,
                str(lower["cost"]),
                f"cost {value!r} is not a number 0 or more",
            )
        )
    if problems:
        raise InputError(problems, total=int(bad.sum()))
    out["cost"] = cost
    out.attrs["netplan_source"] = {"file": name, "row_offset": row_offset}
    return out


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
        frame = _clean_matrix(
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
        chunk_tree = cKDTree(xyz, balanced_tree=False, compact_nodes=False)  # fastest build
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
    from netplan._limits import check_memory

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
    matrix, chunk_size, progress, sort_indices
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
    demand_ids = (
        np.arange(demand_lon.size) if demand_ids is None else np.asarray(demand_ids, dtype=object)
    )
    site_ids = np.arange(site_lon.size) if site_ids is None else np.asarray(site_ids, dtype=object)
    grade_array = None if grades is None else np.asarray(grades, dtype=object)
    n_demand, n_sites = len(demand_ids), len(site_ids)
    unit = scenario.matrix_unit if model == "matrix" else "km"

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

    if model == "matrix":
        assert matrix is not None
        full = _matrix_costs(matrix, demand_ids, site_ids)
        counts = np.diff(full.indptr)
        rows = np.repeat(np.arange(n_demand, dtype=np.int64), counts)
        cols = full.indices.astype(np.int64)
        data = np.asarray(full.data, dtype=np.float64)
        limit = np.full(data.size, -np.inf)
        for name in tier_names:
            in_tier = tiers[cols] == name
            limit[in_tier] = promises[name][rows[in_tier]]
        reaches = data <= limit
        reach_matrix = _csr_from_entries(
            rows[reaches], cols[reaches], data[reaches], (n_demand, n_sites)
        )
        nearest, distance = _row_minimum(full)
        if progress is not None:
            progress(n_demand, n_demand)
        return ReachMatrix(
            demand_ids=demand_ids,
            site_ids=site_ids,
            site_tiers=tiers,
            matrix=reach_matrix,
            nearest_site=nearest,
            nearest_distance=distance,
            unit=unit,
            distance_model=model,
            demand_lon=demand_lon,
            demand_lat=demand_lat,
            site_lon=site_lon,
            site_lat=site_lat,
            site_scale=site_scale,
            full_costs=full,
        )

    site_xyz = unit_xyz(site_lon, site_lat)
    tier_trees: list[tuple[str, cKDTree, NDArray[np.int64], float]] = []
    for name in tier_names:
        members = np.flatnonzero(tiers == name)
        scale = float(site_scale[members[0]])
        tier_trees.append((name, cKDTree(site_xyz[members]), members, scale))
    scale_groups = [np.flatnonzero(site_scale == s) for s in np.unique(site_scale)]
    nearest_trees = [(cKDTree(site_xyz[g]), g, float(site_scale[g[0]])) for g in scale_groups]

    nearest = np.full(n_demand, -1, dtype=np.int64)
    distance = np.full(n_demand, np.inf)
    row_counts = np.zeros(n_demand, dtype=np.int64)
    chunk_cols: list[NDArray[np.int32]] = []  # site counts fit in int32
    chunk_values: list[NDArray[np.float64]] = []
    # With every site in a tier tree, a point's nearest site can be read from its pairs
    # (see _chunk_entries); sites outside every tree (competitors) need the full query.
    every_site_tiered = bool(n_sites) and all(t is not None for t in tiers)
    stored_pairs = 0
    start = 0
    size = min(chunk_size, 65_536)  # the first chunk measures how dense the pairs are
    while start < n_demand:
        stop = min(start + size, n_demand)
        n_here = stop - start
        xyz = unit_xyz(demand_lon[start:stop], demand_lat[start:stop])
        pair_rows, pair_cols, pair_values, pair_keep, cover_limit = _chunk_pairs(
            xyz, tier_trees, promises, start, stop, n_sites
        )
        best = np.full(n_here, np.inf)
        best_site = np.full(n_here, -1, dtype=np.int64)
        need = np.ones(n_here, dtype=bool)
        if (
            pair_rows.size
            and every_site_tiered
            and pair_rows.size <= _DENSE_PAIRS_PER_POINT * n_here
        ):
            # Sort the pair positions, read each point's nearest site from its pairs.
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
            _nearest_from_pairs(counts, cols_sorted, values_sorted, best, best_site)
            need = ~(best <= cover_limit)
            if pair_keep is not None:
                keep_sorted = pair_keep[order]
                row_of_entry = np.repeat(np.arange(n_here), counts)
                counts = np.bincount(row_of_entry[keep_sorted], minlength=n_here)
                cols_sorted, values_sorted = cols_sorted[keep_sorted], values_sorted[keep_sorted]
            row_counts[start:stop] = counts
            chunk_cols.append(cols_sorted)
            chunk_values.append(values_sorted)
        elif pair_rows.size:
            if pair_keep is not None:
                pair_rows, pair_cols, pair_values = (
                    pair_rows[pair_keep],
                    pair_cols[pair_keep],
                    pair_values[pair_keep],
                )
            counts, cols_sorted, values_sorted = _sort_by_row_col(
                pair_rows, pair_cols, pair_values, n_here, n_sites, sort_indices
            )
            row_counts[start:stop] = counts
            chunk_cols.append(cols_sorted)
            chunk_values.append(values_sorted)
        n_pairs = pair_rows.size
        del pair_rows, pair_cols, pair_values, pair_keep
        if need.any() and nearest_trees:
            query = xyz if need.all() else xyz[need]
            found = np.full(query.shape[0], np.inf)
            found_site = np.full(query.shape[0], -1, dtype=np.int64)
            for tree, members, scale in nearest_trees:
                chord, position = tree.query(query, k=1)
                value = km_from_chord(chord) * scale
                better = value < found
                found[better] = value[better]
                found_site[better] = members[position[better]]
            best[need] = found
            best_site[need] = found_site
        nearest[start:stop] = best_site
        distance[start:stop] = best
        stored_pairs += int(row_counts[start:stop].sum())
        _check_reach_memory(stored_pairs, stop, n_demand)
        if progress is not None:
            progress(stop, n_demand)
        start = stop
        # Size the next chunk for about _PAIRS_PER_CHUNK pairs (memory), within 1,024..chunk_size.
        size = int(min(chunk_size, max(1_024, n_here * _PAIRS_PER_CHUNK / max(n_pairs, 1))))

    cols = np.concatenate(chunk_cols) if chunk_cols else np.empty(0, dtype=np.int32)
    values = np.concatenate(chunk_values) if chunk_values else np.empty(0, dtype=np.float64)
    return ReachMatrix(
        demand_ids=demand_ids,
        site_ids=site_ids,
        site_tiers=tiers,
        matrix=_csr_from_sorted(row_counts, cols, values, (n_demand, n_sites), sort_indices),
        nearest_site=nearest,
        nearest_distance=distance,
        unit=unit,
        distance_model=model,
        demand_lon=demand_lon,
        demand_lat=demand_lat,
        site_lon=site_lon,
        site_lat=site_lat,
        site_scale=site_scale,
        full_costs=None,
    )
