from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from netplan.blindspots import BLINDSPOT_COLUMNS, BlindspotOptions, blindspots_from_points


def clustered(rng, centres, per_cluster, spread_deg):
    lon = np.concatenate([rng.normal(c[0], spread_deg, per_cluster) for c in centres])
    lat = np.concatenate([rng.normal(c[1], spread_deg, per_cluster) for c in centres])
    return lon, lat


def run(lon, lat, weight, options=None):
    n = len(lon)
    nearest = np.array([f"S{i % 3}" for i in range(n)], dtype=object)
    distance = np.arange(n, dtype=float) + 10.0
    return blindspots_from_points(lon, lat, weight, nearest, distance, options)


@pytest.mark.parametrize("method", ["h3", "dbscan"])
def test_separate_clusters_make_separate_zones(method):
    rng = np.random.default_rng(3)
    lon, lat = clustered(rng, [(100, 30), (110, 35), (120, 25)], 60, 0.02)
    weight = np.r_[np.full(60, 1.0), np.full(60, 3.0), np.full(60, 2.0)]
    zones, zone_of_point = run(lon, lat, weight, BlindspotOptions(method=method, eps_km=8.0))
    assert list(zones.columns) == [*BLINDSPOT_COLUMNS, "geometry"]
    assert zones["zone_id"].tolist() == ["Z0001", "Z0002", "Z0003"]
    assert zones["weight"].tolist() == [180.0, 120.0, 60.0]
    assert zones["n_points"].tolist() == [60, 60, 60]
    assert zones["centroid_lon"].to_numpy() == pytest.approx([110, 120, 100], abs=0.02)
    assert zones["weight"].sum() == pytest.approx(weight.sum())
    assert zone_of_point[:60].tolist() == [2] * 60
    assert zones.geometry.is_valid.all()
    assert zones.crs.to_epsg() == 4326


def test_weights_add_up_on_random_points():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(100, 104, 800), rng.uniform(28, 31, 800)
    weight = rng.exponential(2.0, 800)
    for method in ("h3", "dbscan"):
        zones, zone_of_point = run(
            lon, lat, weight, BlindspotOptions(method=method, h3_resolution=5)
        )
        assert zones["weight"].sum() == pytest.approx(weight.sum())
        assert zones["n_points"].sum() == 800
        assert (zone_of_point >= 0).all()
        assert zones["weight"].is_monotonic_decreasing


def test_adjacent_cells_join_and_area_is_geodesic():
    import h3

    # A line of points 0.2 km apart (cells are 1.2 km across): consecutive cells touch.
    lat = np.full(200, 30.0)
    lon = 100.0 + np.arange(200) * 0.2 / 96.3
    zones, _ = run(lon, lat, np.ones(200), BlindspotOptions(h3_resolution=7))
    assert len(zones) == 1
    cells = {h3.latlng_to_cell(y, x, 7) for x, y in zip(lon, lat, strict=True)}
    assert zones["area_km2"].iloc[0] == pytest.approx(
        sum(h3.cell_area(c, unit="km^2") for c in cells)
    )
    geodesic, _ = Geod(ellps="WGS84").geometry_area_perimeter(zones.geometry.iloc[0])
    assert zones["area_km2"].iloc[0] == pytest.approx(abs(geodesic) / 1e6, rel=0.01)


def test_dbscan_noise_points_are_zones_of_their_own():
    lon = np.array([100.0, 100.01, 100.02, 105.0])
    lat = np.array([30.0, 30.0, 30.0, 30.0])
    zones, zone_of_point = run(
        lon, lat, np.ones(4), BlindspotOptions(method="dbscan", eps_km=5, min_samples=3)
    )
    assert zones["n_points"].tolist() == [3, 1]
    assert zone_of_point.tolist() == [0, 0, 0, 1]


def test_min_zone_weight_and_nearest():
    lon = np.array([100.0, 100.001, 110.0])
    lat = np.array([30.0, 30.0, 30.0])
    nearest = np.array(["A", "B", "C"], dtype=object)
    distance = np.array([50.0, 40.0, 90.0])
    zones, zone_of_point = blindspots_from_points(
        lon,
        lat,
        np.array([1.0, 1.0, 0.5]),
        nearest,
        distance,
        BlindspotOptions(min_zone_weight=1.0),
    )
    assert len(zones) == 1
    assert zones["nearest_site"].iloc[0] == "B" and zones["distance_km"].iloc[0] == 40.0
    assert zone_of_point.tolist() == [0, 0, -1]


def test_centroid_across_antimeridian():
    lon = np.array([179.99, -179.99])
    lat = np.array([10.0, 10.0])
    zones, _ = run(lon, lat, np.ones(2), BlindspotOptions(method="dbscan", eps_km=5))
    assert abs(zones["centroid_lon"].iloc[0]) == pytest.approx(180.0, abs=1e-6)


def test_no_nearest_site_and_empty_input():
    zones, _ = blindspots_from_points(
        np.array([100.0]),
        np.array([30.0]),
        np.array([1.0]),
        np.array([None], dtype=object),
        np.array([np.inf]),
    )
    assert zones["nearest_site"].isna().all() and zones["distance_km"].isna().all()
    empty, zone_of_point = run(np.array([]), np.array([]), np.array([]))
    assert len(empty) == 0 and list(empty.columns) == [*BLINDSPOT_COLUMNS, "geometry"]
    assert zone_of_point.size == 0


def test_deterministic():
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(100, 101, 300), rng.uniform(30, 31, 300)
    weight = np.ones(300)
    a, _ = run(lon, lat, weight)
    b, _ = run(lon, lat, weight)
    assert a.to_json() == b.to_json()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "kmeans"}, "blind-spot method 'kmeans' is unknown"),
        ({"h3_resolution": 16}, "H3 resolution must lie in 0..15"),
        ({"min_zone_weight": -1}, "minimum zone weight must be 0 or more"),
        ({"eps_km": 0}, "DBSCAN eps must be greater than 0 km"),
        ({"min_samples": 0}, "DBSCAN min_samples must be 1 or more"),
    ],
)
def test_options_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BlindspotOptions(**kwargs)


def test_latlng_to_cells_matches_h3_serial_and_parallel() -> None:
    import h3.api.basic_int as h3

    from netplan._h3 import latlng_to_cells

    rng = np.random.default_rng(11)
    lon = rng.uniform(-180, 180, 3001)
    lat = rng.uniform(-90, 90, 3001)
    for resolution in (0, 5, 9):
        expected = np.array(
            [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat, strict=True)],
            dtype=np.uint64,
        )
        np.testing.assert_array_equal(latlng_to_cells(lon, lat, resolution, workers=1), expected)
    np.testing.assert_array_equal(latlng_to_cells(lon, lat, 9, workers=2), expected)
    assert latlng_to_cells(lon[:0], lat[:0], 5).dtype == np.uint64
