"""Points on the sphere: unit vectors, great-circle distances, chord ↔ km.

The geometry every other module shares (reach, coverage, blind spots,
candidates, scores, the location models). Points are placed on the unit
sphere (:func:`unit_xyz`); the straight-line (chord) length between two such
points is a monotone function of their great-circle distance
(:func:`km_from_chord`, :func:`chord_from_km`), so a KD-tree radius query on
xyz returns exactly the pairs within a great-circle radius. Distances are km
on a sphere of radius :data:`~netplan.config.EARTH_RADIUS_KM`.

Examples
--------
>>> round(float(km_from_chord(chord_from_km(500.0))), 9)
500.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from netplan.config import EARTH_RADIUS_KM

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["EARTH_RADIUS_KM", "chord_from_km", "great_circle_km", "km_from_chord", "unit_xyz"]


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
