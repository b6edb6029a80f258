"""Blind spots: uncovered demand grouped into zones.

Two ways to group the uncovered points:

``h3`` (default)
    Each point falls in an H3 cell (``h3_resolution``, 5 by default: cells of
    about 250 km², 8.5 km edge, fitting station radii of 30–80 km; 7–8 suit a
    single city). Cells that hold uncovered demand and touch
    (share an edge) form one zone: the connected components of the cell
    adjacency graph. Zone polygons are the merged cells and zone areas the sum
    of the cells' spherical areas.
``dbscan``
    scikit-learn's DBSCAN with the haversine metric (ball tree) and a
    neighbourhood of ``eps_km``; points DBSCAN calls noise become zones of
    their own, so every uncovered point belongs to exactly one zone. The
    polygon is again the merged H3 cells holding the zone's points.

Zones lighter than ``min_zone_weight`` are dropped (the summary says how much
weight they held). Each zone reports its point count, weight, area (km²,
geodesic, never degrees), the weighted centroid (computed on the sphere, so a
zone across the antimeridian gets a sensible centroid), and its nearest outlet:
the counting outlet closest to any of the zone's points, with that distance.
Zones are sorted by weight (heaviest first; ties by number of points, then by
the first point's input position) and numbered ``Z0001``, ``Z0002``, ... in
that order, so the same input always gives the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse
import shapely
from scipy.sparse.csgraph import connected_components
from shapely.geometry import shape

from netplan._limits import check_memory
from netplan.config import EARTH_RADIUS_KM
from netplan.geo import unit_xyz

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "BLINDSPOT_COLUMNS",
    "BLINDSPOT_METHODS",
    "BlindspotOptions",
    "blindspots_from_points",
    "empty_blindspots",
]

#: Grouping methods.
BLINDSPOT_METHODS = ("h3", "dbscan")
#: Columns of the blind-spot frame, in order (then ``geometry``).
BLINDSPOT_COLUMNS = (
    "zone_id",
    "n_points",
    "weight",
    "area_km2",
    "centroid_lon",
    "centroid_lat",
    "nearest_site",
    "distance_km",
)


@dataclass(frozen=True)
class BlindspotOptions:
    """How uncovered demand is grouped into blind-spot zones.

    Attributes
    ----------
    method
        ``"h3"`` (connected H3 cells, the default) or ``"dbscan"``.
    h3_resolution
        H3 resolution of the cells (0–15; 5 ≈ 250 km² cells). Also used for
        the polygons of DBSCAN zones.
    min_zone_weight
        Zones with less demand weight than this are dropped.
    eps_km
        DBSCAN neighbourhood radius, great-circle km.
    min_samples
        DBSCAN core-point threshold (1: every point is a core point).
    """

    method: str = "h3"
    h3_resolution: int = 5
    min_zone_weight: float = 0.0
    eps_km: float = 10.0
    min_samples: int = 1

    def __post_init__(self) -> None:
        if self.method not in BLINDSPOT_METHODS:
            choices = ", ".join(BLINDSPOT_METHODS)
            msg = f"blind-spot method {self.method!r} is unknown; use one of {choices}"
            raise ValueError(msg)
        if not 0 <= self.h3_resolution <= 15:
            msg = f"H3 resolution must lie in 0..15, got {self.h3_resolution}"
            raise ValueError(msg)
        if not self.min_zone_weight >= 0:
            msg = f"minimum zone weight must be 0 or more, got {self.min_zone_weight:g}"
            raise ValueError(msg)
        if not self.eps_km > 0:
            msg = f"DBSCAN eps must be greater than 0 km, got {self.eps_km:g}"
            raise ValueError(msg)
        if self.min_samples < 1:
            msg = f"DBSCAN min_samples must be 1 or more, got {self.min_samples}"
            raise ValueError(msg)


def empty_blindspots() -> gpd.GeoDataFrame:
    """Return a blind-spot frame with the right columns and no rows."""
    frame = pd.DataFrame(
        {
            "zone_id": pd.Series([], dtype=object),
            "n_points": pd.Series([], dtype=np.int64),
            "weight": pd.Series([], dtype=np.float64),
            "area_km2": pd.Series([], dtype=np.float64),
            "centroid_lon": pd.Series([], dtype=np.float64),
            "centroid_lat": pd.Series([], dtype=np.float64),
            "nearest_site": pd.Series([], dtype=object),
            "distance_km": pd.Series([], dtype=np.float64),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _cells(
    lon: NDArray[np.float64], lat: NDArray[np.float64], resolution: int
) -> NDArray[np.uint64]:
    from netplan._h3 import latlng_to_cells

    return latlng_to_cells(lon, lat, resolution)


def _h3_labels(cells: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Label points by the connected component of their cell among the occupied cells."""
    unique, inverse = np.unique(cells, return_inverse=True)
    rows, cols = _neighbour_pairs(unique)
    graph = scipy.sparse.coo_array(
        (np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(unique.size, unique.size)
    )
    _, component = connected_components(graph, directed=False)
    return np.asarray(component[inverse.ravel()], dtype=np.int64)


def _neighbour_pairs(unique: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return the pairs (i, j), i != j, of sorted distinct cells that touch (share an edge).

    One compiled ``grid_disk`` call per distinct cell (not per point); the
    neighbours are matched to positions with one binary search over all of them.
    """
    disk = _grid_disk_function()
    disks = [np.asarray(disk(cell, 1), dtype=np.uint64) for cell in unique.tolist()]
    if not disks:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    neighbours = np.concatenate(disks)
    owner = np.repeat(np.arange(unique.size, dtype=np.int64), [d.size for d in disks])
    position = np.searchsorted(unique, neighbours)
    position[position == unique.size] = 0
    occupied = (unique[position] == neighbours) & (position != owner)
    return owner[occupied], position[occupied].astype(np.int64)


def _grid_disk_function() -> Callable[[int, int], Any]:
    """Return h3's compiled grid disk (an array of cells), without the list-building wrapper."""
    try:
        from h3._cy import grid_disk
    except ImportError:  # pragma: no cover - h3 reorganised: the public API, same cells
        from h3.api.basic_int import grid_disk
    return cast("Callable[[int, int], Any]", grid_disk)


#: Points sampled to estimate DBSCAN's neighbour pairs (the tree / the queries).
_DBSCAN_SAMPLE_TREE = 20_000
_DBSCAN_SAMPLE_QUERY = 1_000
#: Peak bytes DBSCAN holds per neighbour pair and per point (array overhead). A pair is
#: an int64 index in the final neighbourhoods, but the ball-tree query grows its buffers
#: and copies them, so the peak is higher: 12.2-15.5 bytes per pair measured on 2,000 to
#: 12,000 identical points (benchmarks/bench_dbscan_memory.py), 14.2 in the report of
#: 28,000 points peaking at 10.6 GB. 16 covers every measurement.
_DBSCAN_BYTES_PER_PAIR = 16
_DBSCAN_BYTES_PER_POINT = 200


def dbscan_memory_estimate(
    lon: NDArray[np.float64], lat: NDArray[np.float64], eps_km: float
) -> tuple[float, float]:
    """Return the estimated neighbour pairs and bytes DBSCAN would hold on these points.

    scikit-learn's DBSCAN keeps every point's neighbours within ``eps_km`` at
    once; the count is estimated from an evenly spaced sample (exact below
    :data:`_DBSCAN_SAMPLE_TREE` points).
    """
    from scipy.spatial import cKDTree

    n = lon.size
    if n == 0:
        return 0.0, 0.0
    tree_rows = np.linspace(0, n - 1, min(n, _DBSCAN_SAMPLE_TREE)).astype(np.int64)
    query_rows = np.linspace(0, n - 1, min(n, _DBSCAN_SAMPLE_QUERY)).astype(np.int64)
    xyz = unit_xyz(lon, lat)
    chord = 2.0 * np.sin(min(eps_km / EARTH_RADIUS_KM, np.pi) / 2.0)
    counts = cKDTree(xyz[tree_rows]).query_ball_point(xyz[query_rows], r=chord, return_length=True)
    pairs = float(np.mean(counts)) * (n / tree_rows.size) * n
    return pairs, pairs * _DBSCAN_BYTES_PER_PAIR + n * _DBSCAN_BYTES_PER_POINT


def _check_dbscan_memory(lon: NDArray[np.float64], lat: NDArray[np.float64], eps_km: float) -> None:
    pairs, size = dbscan_memory_estimate(lon, lat, eps_km)
    check_memory(
        size,
        f"DBSCAN blind spots on {lon.size:,} uncovered points with eps {eps_km:g} km "
        f"(about {pairs:,.0f} neighbour pairs)",
        "use H3 blind spots (--blindspot-method h3), a smaller --eps-km, or aggregate "
        "the demand to H3 cells first",
    )


def _dbscan_labels(
    lon: NDArray[np.float64], lat: NDArray[np.float64], eps_km: float, min_samples: int
) -> NDArray[np.int64]:
    from sklearn.cluster import DBSCAN

    _check_dbscan_memory(lon, lat, eps_km)
    coords = np.radians(np.column_stack([lat, lon]))
    labels = DBSCAN(
        eps=eps_km / EARTH_RADIUS_KM,
        min_samples=min_samples,
        metric="haversine",
        algorithm="ball_tree",
    ).fit_predict(coords)
    labels = np.asarray(labels, dtype=np.int64)
    noise = np.flatnonzero(labels < 0)
    if noise.size:
        labels[noise] = labels.max(initial=-1) + 1 + np.arange(noise.size)
    return labels


def _zone_polygon(cells: NDArray[np.uint64]) -> shapely.Geometry:
    """Return the merged polygon of a zone's (unique, sorted) cells."""
    import h3.api.basic_int as h3

    if cells.size == 1:  # most zones are one cell: skip the merge
        return _cell_polygons([int(cells[0])])[0]
    return shapely.normalize(shape(h3.cells_to_geo([int(c) for c in cells.tolist()])))


def _cell_polygons(cells: list[int]) -> NDArray[np.object_]:
    """Return each cell's hexagon (or pentagon) as a normalised polygon, built in one go."""
    import h3.api.basic_int as h3

    boundaries = [h3.cell_to_boundary(cell) for cell in cells]
    if not boundaries:
        return np.empty(0, dtype=object)
    lat_lng = np.array([vertex for boundary in boundaries for vertex in boundary], dtype=float)
    ring = np.repeat(np.arange(len(boundaries)), [len(b) for b in boundaries])
    rings = shapely.linearrings(lat_lng[:, ::-1], indices=ring)  # closed automatically
    polygons: NDArray[np.object_] = shapely.normalize(shapely.polygons(rings))
    return polygons


def _cell_areas_km2(cells: list[int]) -> list[float]:
    """Return the spherical area (km²) of each cell."""
    import h3.api.basic_int as h3

    return [float(h3.cell_area(cell, unit="km^2")) for cell in cells]


def _zone_cells(
    labels: NDArray[np.int64], cells: NDArray[np.uint64]
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Return every zone's distinct cells, sorted, and where each zone's run starts.

    Zone ``z`` (a label, 0-based and dense) holds ``cells[start[z]:start[z + 1]]``.
    """
    order = np.lexsort((cells, labels))
    zone, cell = labels[order], cells[order]
    first = np.r_[True, (zone[1:] != zone[:-1]) | (cell[1:] != cell[:-1])]
    zone, cell = zone[first], cell[first]
    start = np.searchsorted(zone, np.arange(int(labels.max()) + 2))
    return cell, start.astype(np.int64)


def blindspots_from_points(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    weight: NDArray[np.float64],
    nearest_site: NDArray[np.object_],
    nearest_distance: NDArray[np.float64],
    options: BlindspotOptions | None = None,
) -> tuple[gpd.GeoDataFrame, NDArray[np.int64]]:
    """Group uncovered demand points into blind-spot zones.

    Parameters
    ----------
    lon, lat
        Coordinates (degrees) of the uncovered points.
    weight
        Their demand weights.
    nearest_site
        Id of each point's nearest counting outlet (``None`` when there is none).
    nearest_distance
        Distance to it (``inf`` when there is none).
    options
        How to group; :class:`BlindspotOptions` defaults when ``None``.

    Returns
    -------
    tuple
        The zones (GeoDataFrame with :data:`BLINDSPOT_COLUMNS` and polygon
        geometry, EPSG:4326, heaviest first) and, per input point, the
        position of its zone in that frame (``-1`` when its zone was dropped
        for weighing less than ``min_zone_weight``).
    """
    options = options or BlindspotOptions()
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n = lon.size
    zone_of_point = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return empty_blindspots(), zone_of_point
    cells = _cells(lon, lat, options.h3_resolution)
    if options.method == "h3":
        labels = _h3_labels(cells)
    else:
        labels = _dbscan_labels(lon, lat, options.eps_km, options.min_samples)

    # Group points by label (stable: points keep input order inside a zone).
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    stops = np.r_[starts[1:], n]
    zone_weight = np.add.reduceat(weight[order], starts)
    zone_count = stops - starts
    first_point = order[starts]  # smallest input position in each zone
    kept = np.flatnonzero(zone_weight >= options.min_zone_weight)
    ranking = kept[np.lexsort((first_point[kept], -zone_count[kept], -zone_weight[kept]))]

    xyz = unit_xyz(lon, lat)
    distance = np.asarray(nearest_distance, dtype=np.float64)
    # Each zone's distinct cells (sorted) and their areas, found once for all zones.
    dense = np.empty(n, dtype=np.int64)
    dense[order] = np.cumsum(np.r_[False, sorted_labels[1:] != sorted_labels[:-1]])
    all_zone_cells, zone_start = _zone_cells(dense, cells)
    in_kept = np.zeros(all_zone_cells.size, dtype=bool)
    for zone in kept.tolist():
        in_kept[zone_start[zone] : zone_start[zone + 1]] = True
    kept_cells = np.unique(all_zone_cells[in_kept]).tolist()
    area_of = dict(zip(kept_cells, _cell_areas_km2(kept_cells), strict=True))
    records: list[dict[str, object]] = []
    geometries: list[shapely.Geometry | None] = []
    single: list[tuple[int, int]] = []
    width = max(4, len(str(ranking.size)))
    for rank, zone in enumerate(ranking.tolist()):
        members = order[starts[zone] : stops[zone]]
        w = weight[members]
        mean = (xyz[members] * (w if w.sum() > 0 else np.ones_like(w))[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            mean = mean / norm
            centroid_lon = float(np.degrees(np.arctan2(mean[1], mean[0])))
            centroid_lat = float(np.degrees(np.arcsin(np.clip(mean[2], -1.0, 1.0))))
        else:  # points spread evenly round the globe: take the first point
            centroid_lon, centroid_lat = float(lon[members[0]]), float(lat[members[0]])
        closest = members[int(np.argmin(distance[members]))]
        zone_cells = all_zone_cells[zone_start[zone] : zone_start[zone + 1]]
        has_site = np.isfinite(distance[closest])
        records.append(
            {
                "zone_id": f"Z{rank + 1:0{width}d}",
                "n_points": int(members.size),
                "weight": float(w.sum()),
                "area_km2": float(sum(area_of[c] for c in zone_cells.tolist())),
                "centroid_lon": centroid_lon,
                "centroid_lat": centroid_lat,
                "nearest_site": nearest_site[closest] if has_site else None,
                "distance_km": float(distance[closest]) if has_site else np.nan,
            }
        )
        if zone_cells.size == 1:  # one cell: its hexagon, built with the others below
            single.append((rank, int(zone_cells[0])))
            geometries.append(None)
        else:
            geometries.append(_zone_polygon(zone_cells))
        zone_of_point[members] = rank
    if not records:
        return empty_blindspots(), zone_of_point
    for (rank, _), polygon in zip(
        single, _cell_polygons([cell for _, cell in single]), strict=True
    ):
        geometries[rank] = polygon
    frame = pd.DataFrame.from_records(records, columns=list(BLINDSPOT_COLUMNS))
    frame["nearest_site"] = frame["nearest_site"].astype(object)
    zones = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"), crs="EPSG:4326"
    )
    return zones, zone_of_point
