"""Where every point is: province, city and district from the built-in boundaries.

:func:`tag_points` names the administrative units holding each point, for
millions of points at a time, from :mod:`netplan.boundaries` (WGS84).

**Rule.** The district polygons decide; a point's city and province are those
of its district, so the three names always nest. A point on the border of two
districts belongs to the one with the smaller adcode. A point in no district
(the sea, abroad) or with missing coordinates is ``"(outside)"`` (:data:`OUTSIDE`)
in all three columns; no column is ever empty.

**Method.** A lookup grid of 0.02° cells (about 2 km) over the districts'
extent answers most points with one array read: a cell no district border
crosses (nor its eight neighbours: borders are densified to one vertex per
cell, so a border through a cell always leaves a vertex in a neighbour) lies
wholly inside one district, or outside all, and carries its answer; the grid is
labelled by connected components of such cells, testing one centre per
component. Points in the other cells (near a border) are tested exactly
(``shapely.intersects_xy`` on the prepared polygons) against the districts whose
border passes through or next to their cell, listed per cell when the grid is
built; a point in none of them (the sea by a coast) against every district whose
bounding box holds it (``STRtree``). The grid takes a few seconds to build once
and is cached on disk beside the boundaries
(:func:`netplan.boundaries.cache_folder`).
``benchmarks/bench_regions.py`` measures the cost per million points.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from netplan.boundaries import cache_folder, load_boundaries, write_cache_file
from netplan.config import RegionGrades
from netplan.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    import shapely
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GRID_STEP_DEG",
    "OUTSIDE",
    "TAG_COLUMNS",
    "check_place_names",
    "district_index",
    "grades_from_places",
    "tag_points",
]

#: The name given to points outside every boundary (all three columns).
OUTSIDE = "(outside)"
#: Columns of :func:`tag_points`, coarsest first.
TAG_COLUMNS = ("province", "city", "district")
#: Cell size of the lookup grid, degrees.
GRID_STEP_DEG = 0.02

# Grid values besides a district's row: outside every district; near a border.
_OUTSIDE_CELL = -1
_BORDER_CELL = -2
# Points tested exactly at a time (bounds the candidate pairs held in memory).
_EXACT_CHUNK = 1_000_000
_GRID_FORMAT = 2


@dataclass(frozen=True)
class _Grid:
    """The lookup grid and the candidate districts of its border cells.

    ``cells[row, col]``: a district's row, -1 outside every district, -2
    near a border. ``border`` (sorted flat cell numbers of the border cells
    that some district's border touches), ``offsets`` and ``candidates``: the
    districts whose border passes through or next to each such cell (CSR).
    """

    x0: float
    y0: float
    step: float
    cells: NDArray[np.int16]
    border: NDArray[np.int64]
    offsets: NDArray[np.int64]
    candidates: NDArray[np.int16]

    def flat_cells(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
        """Return each point's flat cell number, -1 off the grid (or not finite)."""
        ny, nx = self.cells.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((lon - self.x0) / self.step)
            row = np.floor((lat - self.y0) / self.step)
            inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        out = np.full(lon.shape, -1, dtype=np.int64)
        out[inside] = row[inside].astype(np.int64) * nx + col[inside].astype(np.int64)
        return out

    def lookup(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
        """Return each point's cell value (see the class docstring); -1 off the grid."""
        flat = self.flat_cells(lon, lat)
        out = np.full(lon.shape, _OUTSIDE_CELL, dtype=np.int64)
        on = flat >= 0
        out[on] = self.cells.ravel()[flat[on]]
        return out


def tag_points(lon: ArrayLike, lat: ArrayLike, *, categorical: bool = False) -> pd.DataFrame:
    """Return the province, city and district of each point (WGS84 degrees).

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes, EPSG:4326, same length.
    categorical
        Return the columns as pandas categoricals (the same names, sorted
        categories, one small integer per point instead of a string object):
        what millions of points need.

    Returns
    -------
    pandas.DataFrame
        One row per point, in order, with :data:`TAG_COLUMNS` holding the
        official Chinese names (``广东省``, ``深圳市``, ``南山区``), or
        :data:`OUTSIDE` for a point in no district (see the module's rule).

    Examples
    --------
    >>> tag_points([114.06, 116.40], [22.54, 39.90])  # doctest: +SKIP
      province city district
    0      广东省  深圳市      福田区
    1      北京市  北京市      东城区
    """
    index = district_index(lon, lat)
    districts = load_boundaries("district")
    columns: dict[str, object] = {}
    for column, source in zip(TAG_COLUMNS, ("province", "city", "name"), strict=True):
        names = np.append(districts[source].to_numpy(dtype=object), OUTSIDE)
        if categorical:
            labels, code = np.unique(names.astype(str), return_inverse=True)
            columns[column] = pd.Categorical.from_codes(
                code.astype(np.int16)[index], categories=pd.Index(labels.astype(object))
            )
        else:
            columns[column] = names[index]  # -1 picks the trailing OUTSIDE
    return pd.DataFrame(columns)


def district_index(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int64]:
    """Return each point's row in ``load_boundaries("district")``, or -1 when in none.

    The grid first; the exact test for the points near a border (see the
    module docstring).
    """
    x = np.asarray(lon, dtype=np.float64).ravel()
    y = np.asarray(lat, dtype=np.float64).ravel()
    if x.shape != y.shape:
        msg = f"lon and lat must have the same length, got {x.size} and {y.size}"
        raise ValueError(msg)
    grid = _grid()
    index = grid.lookup(x, y)
    near = np.flatnonzero(index == _BORDER_CELL)
    for start in range(0, near.size, _EXACT_CHUNK):
        chunk = near[start : start + _EXACT_CHUNK]
        index[chunk] = _near_border_index(grid, x[chunk], y[chunk])
    return index


def grades_from_places(
    lon: ArrayLike, lat: ArrayLike, grades: RegionGrades, *, source: str = "scenario"
) -> NDArray[np.object_]:
    """Return each point's region grade from the scenario's ``[grades]`` table.

    The city's grade (``by_city``), else the province's (``by_province``),
    else ``default``, else ``None``; city and province from :func:`tag_points`.
    (Combining with a ``grade`` column of the file is the reader's business:
    :func:`netplan.io.points_from_frame` keeps the file's grade where given.)

    Parameters
    ----------
    lon, lat
        Points, WGS84 degrees.
    grades
        The ``[grades]`` table.
    source
        The scenario file, named in errors.

    Raises
    ------
    ConfigError
        A city or province name the boundaries do not know (the message
        names the key and the closest official name).
    """
    check_place_names(grades, source=source)
    tags = tag_points(lon, lat)
    out = np.full(len(tags), grades.default, dtype=object)
    province = tags["province"].to_numpy(dtype=object)
    city = tags["city"].to_numpy(dtype=object)
    for name, grade in grades.by_province.items():
        out[province == name] = grade
    for name, grade in grades.by_city.items():
        out[city == name] = grade
    return out


def check_place_names(grades: RegionGrades, *, source: str = "scenario") -> None:
    """Raise :class:`~netplan.errors.ConfigError` for a ``[grades]`` name not in the boundaries."""
    for key, level in (("by_province", "province"), ("by_city", "city")):
        table: dict[str, str] = dict(getattr(grades, key))
        if not table:
            continue
        known = sorted(set(load_boundaries(level)["name"]))
        known_set = set(known)
        for name in table:
            if name in known_set:
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.3)
            starts = [k for k in known if k.startswith(name)]
            hint = starts[0] if len(starts) == 1 else (close[0] if close else None)
            suggestion = f"; did you mean `{hint}`?" if hint else ""
            msg = (
                f"{source}: `grades.{key}.{name}`: no {level} of that name in the built-in "
                f"boundaries; use the official Chinese name (e.g. 深圳市, 广东省){suggestion}"
            )
            raise ConfigError(msg)


# --------------------------------------------------------------------------- phases


@functools.cache
def _polygons() -> tuple[NDArray[np.object_], shapely.STRtree]:
    """Return the district polygons (prepared) and their tree."""
    import shapely

    geometries = load_boundaries("district").geometry.to_numpy().copy()
    shapely.prepare(geometries)
    return geometries, shapely.STRtree(geometries)


def _exact_index(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
    """Return the district row of each point by exact point-in-polygon tests, -1 when none.

    Candidates are the districts whose bounding box holds the point (``STRtree``).
    """
    import shapely

    out = np.full(x.shape, _OUTSIDE_CELL, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if finite.size == 0:
        return out
    _, tree = _polygons()
    point_pos, polygon = tree.query(shapely.points(x[finite], y[finite]))
    _test_pairs(out, finite[point_pos], polygon.astype(np.int64), x, y)
    return out


def _near_border_index(
    grid: _Grid, x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Return the district row of points in border cells, -1 when in none.

    Each point is tested against its cell's candidate districts (the
    districts whose border passes through or next to the cell); a point in
    none of them (the sea by a coast; a district overlapping another's
    border, if the data had one) is tested against every district whose
    bounding box holds it.
    """
    if grid.border.size == 0:
        return _exact_index(x, y)
    flat = grid.flat_cells(x, y)
    row = np.minimum(np.searchsorted(grid.border, flat), grid.border.size - 1)
    listed = grid.border[row] == flat
    starts = np.where(listed, grid.offsets[row], 0)
    counts = np.where(listed, grid.offsets[row + 1] - grid.offsets[row], 0)
    point_pos = np.repeat(np.arange(x.size), counts)
    within = np.arange(point_pos.size) - np.repeat(np.cumsum(counts) - counts, counts)
    polygon = grid.candidates[np.repeat(starts, counts) + within].astype(np.int64)
    out = np.full(x.shape, _OUTSIDE_CELL, dtype=np.int64)
    _test_pairs(out, point_pos, polygon, x, y)
    rest = np.flatnonzero(out == _OUTSIDE_CELL)
    if rest.size:
        out[rest] = _exact_index(x[rest], y[rest])
    return out


def _test_pairs(
    out: NDArray[np.int64],
    point_pos: NDArray[np.int64],
    polygon: NDArray[np.int64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
) -> None:
    """Set ``out[p] = k`` for each candidate pair (p, k) whose point lies in polygon k.

    Polygons are tried in ascending row order and a point keeps its first
    hit: a point on a shared border goes to the smaller adcode. Large sets
    of pairs are split between two threads (alternate polygons; shapely
    releases the GIL), each keeping its first hits, and a point takes the
    smaller of the two: the same answer.
    """
    if point_pos.size == 0:
        return
    order = np.lexsort((point_pos, polygon))
    point_pos, polygon = point_pos[order], polygon[order]
    starts = np.flatnonzero(np.r_[True, polygon[1:] != polygon[:-1]])
    stops = np.r_[starts[1:], polygon.size]
    groups = list(zip(starts.tolist(), stops.tolist(), strict=True))
    if point_pos.size < _THREADED_PAIRS or len(groups) < 2:
        _first_hits(out, groups, point_pos, polygon, x, y)
        return
    from concurrent.futures import ThreadPoolExecutor

    halves = [out.copy(), out.copy()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [
            pool.submit(_first_hits, halves[k], groups[k::2], point_pos, polygon, x, y)
            for k in range(2)
        ]:
            future.result()
    first, second = halves
    # A hit in both halves: the smaller row (the first polygon tried).
    out[:] = np.where(
        (first != _OUTSIDE_CELL) & ((second == _OUTSIDE_CELL) | (first < second)), first, second
    )


#: Candidate pairs from which :func:`_test_pairs` uses two threads.
_THREADED_PAIRS = 100_000


def _first_hits(
    out: NDArray[np.int64],
    groups: list[tuple[int, int]],
    point_pos: NDArray[np.int64],
    polygon: NDArray[np.int64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
) -> None:
    """Test the pairs of ``groups`` (runs of one polygon, ascending); first hit wins."""
    import shapely

    geometries, _ = _polygons()
    for start, stop in groups:
        members = point_pos[start:stop]
        members = members[out[members] == _OUTSIDE_CELL]
        if members.size:
            hit = shapely.intersects_xy(geometries[polygon[start]], x[members], y[members])
            out[members[hit]] = polygon[start]


@functools.cache
def _grid() -> _Grid:
    """Return the lookup grid, from the disk cache or built (and cached)."""
    path = cache_folder() / f"district-grid-{GRID_STEP_DEG:g}-v{_GRID_FORMAT}.npz"
    grid = _read_grid(path)
    if grid is None:
        grid = _build_grid(GRID_STEP_DEG)
        write_cache_file(path, lambda temporary: _save_grid(temporary, grid))
    return grid


def _save_grid(path: Path, grid: _Grid) -> None:
    with path.open("wb") as handle:
        np.savez(
            handle,
            origin=np.array([grid.x0, grid.y0, grid.step]),
            cells=grid.cells,
            border=grid.border,
            offsets=grid.offsets,
            candidates=grid.candidates,
        )


def _read_grid(path: Path) -> _Grid | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("origin", "cells", "border", "offsets", "candidates")}
    except (OSError, ValueError, KeyError):
        return None
    origin, cells = arrays["origin"], arrays["cells"]
    border, offsets, candidates = arrays["border"], arrays["offsets"], arrays["candidates"]
    n_districts = len(load_boundaries("district"))
    if (
        origin.shape != (3,)
        or cells.ndim != 2
        or cells.dtype != np.int16
        or candidates.dtype != np.int16
        or offsets.shape != (border.size + 1,)
        or int(offsets[-1]) != candidates.size
        or int(cells.max(initial=-1)) >= n_districts
        or int(candidates.max(initial=-1)) >= n_districts
    ):
        return None
    return _Grid(
        float(origin[0]),
        float(origin[1]),
        float(origin[2]),
        cells,
        border.astype(np.int64),
        offsets.astype(np.int64),
        candidates,
    )


def _build_grid(step: float) -> _Grid:
    """Label every cell of the districts' extent (see the module docstring)."""
    import shapely
    from scipy import ndimage

    geometries = load_boundaries("district").geometry.to_numpy()
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(geometries))
    x0 = (np.floor(xmin / step) - 1) * step
    y0 = (np.floor(ymin / step) - 1) * step
    nx = int(np.ceil((xmax - x0) / step)) + 2
    ny = int(np.ceil((ymax - y0) / step)) + 2
    # Borders densified to a vertex at least every `step`: every cell a border
    # crosses has a vertex in it or in one of its eight neighbours.
    rings = shapely.segmentize(shapely.boundary(geometries), step)
    vertices, owner = shapely.get_coordinates(rings, return_index=True)
    row = np.floor((vertices[:, 1] - y0) / step).astype(np.int64)
    col = np.floor((vertices[:, 0] - x0) / step).astype(np.int64)
    # (cell, district) pairs of every vertex cell and its eight neighbours.
    pairs = np.unique((row * nx + col) * len(geometries) + owner)
    cell, district = np.divmod(pairs, len(geometries))
    r, c = np.divmod(cell, nx)
    shifted = [
        ((r + dr) * nx + (c + dc)) * len(geometries) + district
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
    ]
    pairs = np.unique(np.concatenate(shifted))
    cell, district = np.divmod(pairs, len(geometries))
    border_cells, first = np.unique(cell, return_index=True)
    offsets = np.r_[first, cell.size].astype(np.int64)
    is_border = np.zeros(ny * nx, dtype=bool)
    is_border[border_cells] = True
    border = is_border.reshape(ny, nx)
    # Cells off every border, 4-connected, lie inside one district or outside all.
    components, n_components = ndimage.label(~border)
    flat = components.ravel()
    labelled = np.flatnonzero(flat)
    component, first_cell = np.unique(flat[labelled], return_index=True)
    crow, ccol = np.divmod(labelled[first_cell], nx)
    centre_x = x0 + (ccol + 0.5) * step
    centre_y = y0 + (crow + 0.5) * step
    value = np.full(n_components + 1, _OUTSIDE_CELL, dtype=np.int16)
    value[component] = _exact_index(centre_x, centre_y).astype(np.int16)
    cells = np.where(border, np.int16(_BORDER_CELL), value[components]).astype(np.int16)
    return _Grid(
        float(x0),
        float(y0),
        float(step),
        cells,
        border_cells.astype(np.int64),
        offsets,
        district.astype(np.int16),
    )
