"""netplan._h3 gives exactly h3's cells, on awkward places too (poles, antimeridian, pentagons)."""

from __future__ import annotations

import h3 as h3_errors
import h3.api.basic_int as h3
import numpy as np
import pytest

from netplan._h3 import latlng_to_cells


def _awkward_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points on the globe plus crowds near the poles, the antimeridian and pentagons."""
    lon = [rng.uniform(-180, 180, n), rng.uniform(-180, 180, n // 4)]
    lat = [np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-90, 90, n // 4)]
    lon[1][: n // 8] = rng.choice([-180.0, 180.0], n // 8) + rng.normal(0, 1e-6, n // 8)
    near_pole = rng.uniform(89.999, 90.0, n // 8) * rng.choice([-1.0, 1.0], n // 8)
    lon.append(rng.uniform(-180, 180, n // 8))
    lat.append(near_pole)
    for resolution in (0, 4, 9, 15):
        centres = np.array([h3.cell_to_latlng(p) for p in h3.get_pentagons(resolution)])
        picks = centres[rng.integers(0, len(centres), n // 16)]
        scale = 0.1 / 2.0**resolution
        lat.append(np.clip(picks[:, 0] + rng.normal(0, scale, len(picks)), -90, 90))
        lon.append(picks[:, 1] + rng.normal(0, scale, len(picks)))
    lon.append(np.array([-180.0, 180.0, 0.0, 0.0, 179.9999999999, -179.9999999999]))
    lat.append(np.array([0.0, 0.0, 90.0, -90.0, 45.0, -45.0]))
    return np.concatenate(lon), np.concatenate(lat)


def _expected(lon: np.ndarray, lat: np.ndarray, resolution: int) -> np.ndarray:
    return np.array(
        [
            h3.latlng_to_cell(y, x, resolution)
            for x, y in zip(lon.tolist(), lat.tolist(), strict=True)
        ],
        dtype=np.uint64,
    )


@pytest.mark.parametrize("resolution", range(16))
def test_cells_equal_h3_at_every_resolution(resolution: int) -> None:
    lon, lat = _awkward_points(np.random.default_rng(resolution), 20_000)
    np.testing.assert_array_equal(
        latlng_to_cells(lon, lat, resolution), _expected(lon, lat, resolution)
    )


@pytest.mark.slow
@pytest.mark.parametrize("resolution", [5, 7, 10])
def test_cells_equal_h3_on_millions_of_points(resolution: int) -> None:
    lon, lat = _awkward_points(np.random.default_rng(100 + resolution), 2_000_000)
    np.testing.assert_array_equal(
        latlng_to_cells(lon, lat, resolution, workers=2), _expected(lon, lat, resolution)
    )


def test_bad_coordinates_raise_h3s_error() -> None:
    with pytest.raises(h3_errors.H3LatLngDomainError):
        h3.latlng_to_cell(float("nan"), 0.0, 5)
    with pytest.raises(h3_errors.H3LatLngDomainError):
        latlng_to_cells(np.array([0.0, np.nan]), np.array([0.0, 1.0]), 5)
