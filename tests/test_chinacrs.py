"""GCJ-02 / BD-09 conversions against published reference values, and exact round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netplan.chinacrs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    normalise_china_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

EARTH_RADIUS_M = 6_371_008.8


def _metres(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    """Haversine distance in metres (independent of the module under test)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


# Reference pairs (WGS84 lon, lat -> GCJ-02 lon, lat) published with the eviltransform
# project's test suite (github.com/googollee/eviltransform, python/test.py, TESTS:
# Shanghai, Shenzhen, Beijing), which checks them to 6 decimals.
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]

# Reference values of the gcoord project's unit tests (github.com/hujiulong/gcoord,
# test/unit/crs/WGS84.spec.ts, GCJ02.spec.js and BD09.spec.ts), checked to 5 decimals.
GCOORD_WGS84_TO_GCJ02 = ((123.0, 45.0), (123.00607541, 45.00197815))
GCOORD_WGS84_TO_BD09 = ((123.0, 45.0), (123.0124491, 45.0083293))
GCOORD_GCJ02_TO_BD09 = ((123.0, 45.0), (123.00636499, 45.00636899))
GCOORD_GCJ02_TO_WGS84 = ((123.0, 45.0), (122.99395597, 44.99804071))
GCOORD_BD09_TO_GCJ02 = ((123.0, 45.0), (122.99363304, 44.99365430))
GCOORD_BD09_TO_WGS84 = ((123.0, 45.0), (122.98762210, 44.99171540))


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_forward_gcj02_matches_published_values(
    wlon: float, wlat: float, glon: float, glat: float
) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon[0] == pytest.approx(glon, abs=1e-6)
    assert lat[0] == pytest.approx(glat, abs=1e-6)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_inverse_gcj02_recovers_published_wgs84_within_centimetres(
    wlon: float, wlat: float, glon: float, glat: float
) -> None:
    lon, lat = gcj02_to_wgs84(glon, glat)
    # The published table is rounded to ~1e-7 degrees (~1 cm); eviltransform asks 0.5 m.
    assert _metres(lon, lat, wlon, wlat)[0] < 0.05


@pytest.mark.parametrize(
    ("function", "case"),
    [
        (wgs84_to_gcj02, GCOORD_WGS84_TO_GCJ02),
        (wgs84_to_bd09, GCOORD_WGS84_TO_BD09),
        (gcj02_to_bd09, GCOORD_GCJ02_TO_BD09),
        (gcj02_to_wgs84, GCOORD_GCJ02_TO_WGS84),
        (bd09_to_gcj02, GCOORD_BD09_TO_GCJ02),
        (bd09_to_wgs84, GCOORD_BD09_TO_WGS84),
    ],
)
def test_matches_gcoord_reference_values(function: object, case: tuple) -> None:
    (x, y), (ex, ey) = case
    lon, lat = function(x, y)  # type: ignore[operator]
    assert lon[0] == pytest.approx(ex, abs=1e-5)
    assert lat[0] == pytest.approx(ey, abs=1e-5)


def _china_points(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 53.5, n)


def test_gcj02_round_trip_is_exact_to_a_millimetre() -> None:
    lon, lat = _china_points(20_000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    offset = _metres(lon, lat, glon, glat)
    assert offset.min() > 1.0 and offset.max() < 1500.0  # the offset is real
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, back_lon, back_lat).max() < 0.001


def test_bd09_round_trip_is_exact_to_a_millimetre() -> None:
    lon, lat = _china_points(20_000, seed=11)
    blon, blat = wgs84_to_bd09(lon, lat)
    back_lon, back_lat = bd09_to_wgs84(blon, blat)
    assert _metres(lon, lat, back_lon, back_lat).max() < 0.001
    glon, glat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert _metres(lon, lat, glon, glat).max() < 0.001


def test_inverse_beats_the_one_step_approximation() -> None:
    lon, lat = _china_points(20_000, seed=3)
    glon, glat = wgs84_to_gcj02(lon, lat)
    # The usual approximation subtracts the offset computed at the GCJ-02 point.
    dlon, dlat = glon - lon, glat - lat
    approx_lon = glon - (wgs84_to_gcj02(glon, glat)[0] - glon)
    approx_lat = glat - (wgs84_to_gcj02(glon, glat)[1] - glat)
    approx_error = _metres(lon, lat, approx_lon, approx_lat)
    exact_lon, exact_lat = gcj02_to_wgs84(glon, glat)
    exact_error = _metres(lon, lat, exact_lon, exact_lat)
    assert approx_error.max() > 0.5  # metres: why the exact inverse is needed
    assert exact_error.max() < 0.001
    assert np.abs(dlon).max() > 0.001 and np.abs(dlat).max() > 0.001


def test_points_outside_china_and_missing_values_stay() -> None:
    lon = np.array([2.35, -74.0, 183.0, 116.4, np.nan, 151.2])
    lat = np.array([48.85, 40.7, 45.0, np.nan, 39.9, -33.9])
    for function in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        out_lon, out_lat = function(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    assert in_china(116.4, 39.9).tolist() == [True]
    assert in_china(2.35, 48.85).tolist() == [False]


def test_inputs_are_not_modified() -> None:
    lon, lat = np.array([116.4, 121.5]), np.array([39.9, 31.2])
    before = lon.copy(), lat.copy()
    gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, before[0])
    np.testing.assert_array_equal(lat, before[1])


def test_names_and_dispatch() -> None:
    for spelling in ("GCJ-02", "gcj02", "GCJ_02", " gcj-02 ", "火星坐标"):
        assert normalise_china_crs(spelling) == "GCJ-02"
    for spelling in ("BD-09", "bd09", "BD09LL", "百度坐标"):
        assert normalise_china_crs(spelling) == "BD-09"
    assert normalise_china_crs("EPSG:4326") is None
    lon, lat = to_wgs84(116.38404722455657, 39.91334545536069, "gcj02")
    assert _metres(lon, lat, 116.377817, 39.911954)[0] < 0.05
    with pytest.raises(ValueError, match="GCJ-02 or BD-09"):
        to_wgs84(1.0, 1.0, "EPSG:4326")
    assert math.isclose(float(to_wgs84(2.0, 3.0, "BD-09")[0][0]), 2.0)
