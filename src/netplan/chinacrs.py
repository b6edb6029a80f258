"""GCJ-02 and BD-09: the offset coordinates of Chinese web maps, to and from WGS84.

Coordinates geocoded by AMap (高德), Tencent Maps or Google Maps in mainland
China are in **GCJ-02** (国测局坐标, "Mars coordinates"): WGS84 moved by a
published, deliberately irregular offset of 100–700 m. Baidu Maps adds its own
shift on top, **BD-09** (百度坐标). netplan computes on WGS84, so a file in
either system is converted on reading (``crs = "GCJ-02"`` or ``"BD-09"`` in
the scenario's ``[inputs.*]`` sections, or ``--input customers.crs=GCJ-02``).

The forward transforms (WGS84 → GCJ-02 → BD-09) are the published closed-form
formulas (Krasovsky 1940 ellipsoid, the well-known polynomial-and-sine
offset; Baidu's polar shift). Their inverses have no closed form; the usual
one-step approximation is off by up to a few metres. Here the inverse solves
``forward(w) = g`` by fixed-point iteration, ``w ← w − (forward(w) − g)``,
until the forward image is within :data:`TOLERANCE_DEG` (about 1 mm) of the
input: exact to well under a metre everywhere the offset applies. The offset
changes by at most a few metres per kilometre, so each step shrinks the error
a thousandfold and two or three steps suffice.

Every function is vectorised over numpy arrays (millions of rows at a time)
and leaves points outside China (the rectangle :func:`in_china` tests, where
the offset does not apply) and missing values (NaN) as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    _Arrays = tuple[NDArray[np.float64], NDArray[np.float64]]
    _Transform = Callable[[NDArray[np.float64], NDArray[np.float64]], _Arrays]

__all__ = [
    "CHINA_CRS",
    "TOLERANCE_DEG",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "normalise_china_crs",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: The Chinese offset systems netplan converts, by canonical name.
CHINA_CRS = ("GCJ-02", "BD-09")
#: Convergence tolerance of the iterative inverses, degrees (~1 mm).
TOLERANCE_DEG = 1e-8
#: Iterations of the inverse before giving up (it converges in 2–4).
_MAX_ITERATIONS = 30

# Krasovsky 1940 ellipsoid, which the GCJ-02 formula is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's constant: pi * 3000 / 180.
_X_PI = np.pi * 3000.0 / 180.0
# The bounding rectangle of China used to decide where the offset applies.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271


def normalise_china_crs(name: str) -> str | None:
    """Return ``"GCJ-02"``/``"BD-09"`` when ``name`` spells one of them, else ``None``.

    Spellings are case-, space-, dash- and underscore-insensitive:
    ``"gcj02"``, ``"GCJ-02"``, ``"gcj_02"``, ``"BD09"``, ``"bd-09"``,
    ``"bd09ll"`` (Baidu's own name), and the Chinese ``火星坐标``/``国测局``
    (GCJ-02) and ``百度坐标`` (BD-09).

    Examples
    --------
    >>> normalise_china_crs("gcj02"), normalise_china_crs("BD-09"), normalise_china_crs("WGS84")
    ('GCJ-02', 'BD-09', None)
    """
    key = "".join(ch for ch in name.strip().lower() if ch not in " -_")
    if key in ("gcj02", "gcj", "火星坐标", "火星坐标系", "国测局", "国测局坐标"):
        return "GCJ-02"
    if key in ("bd09", "bd09ll", "baidu", "百度", "百度坐标", "百度坐标系"):
        return "BD-09"
    return None


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.array(lon, dtype=np.float64, copy=True, ndmin=1)
    y = np.array(lat, dtype=np.float64, copy=True, ndmin=1)
    if x.shape != y.shape:
        msg = f"lon and lat must have the same shape, got {x.shape} and {y.shape}"
        raise ValueError(msg)
    return x, y


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return where the GCJ-02 offset applies: inside China's bounding rectangle.

    The rectangle (longitude 72.004..137.8347, latitude 0.8293..55.8271) is
    the one the published algorithm uses; points outside it, and missing
    coordinates, get ``False``.
    """
    x, y = _as_arrays(lon, lat)
    with np.errstate(invalid="ignore"):
        return (x >= _LON_MIN) & (x <= _LON_MAX) & (y >= _LAT_MIN) & (y <= _LAT_MAX)


def _offset(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the GCJ-02 offset (degrees of longitude, latitude) at WGS84 points."""
    x = lon - 105.0
    y = lat - 35.0
    root = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + common
    d_lat += (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + common
    d_lon += (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * 2.0 / 3.0
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _wgs_to_gcj(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _gcj_to_bd(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _wgs_to_bd(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return _gcj_to_bd(*_wgs_to_gcj(lon, lat))


def _forward(
    lon: ArrayLike,
    lat: ArrayLike,
    function: _Transform,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = _as_arrays(lon, lat)
    inside = in_china(x, y)
    if inside.any():
        fx, fy = function(x[inside], y[inside])
        x[inside], y[inside] = fx, fy
    return x, y


def _inverse(
    lon: ArrayLike,
    lat: ArrayLike,
    forward: _Transform,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Solve ``forward(w) = target`` for ``w`` by fixed-point iteration, point by point."""
    tx, ty = _as_arrays(lon, lat)
    inside = in_china(tx, ty)
    x, y = tx.copy(), ty.copy()
    if not inside.any():
        return x, y
    gx, gy = tx[inside], ty[inside]
    wx, wy = gx.copy(), gy.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(wx, wy)
        fx -= gx
        fy -= gy
        wx -= fx
        wy -= fy
        if max(float(np.abs(fx).max()), float(np.abs(fy).max())) <= TOLERANCE_DEG:
            break
    x[inside], y[inside] = wx, wy
    return x, y


def wgs84_to_gcj02(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return WGS84 points in GCJ-02 (the published forward formula).

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes, degrees (scalars or arrays).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitudes and latitudes; points outside China unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)
    (116.384047, 39.913345)
    """
    return _forward(lon, lat, _wgs_to_gcj)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return GCJ-02 points in WGS84, by the exact iterative inverse.

    The result maps back onto the input within :data:`TOLERANCE_DEG` (about
    a millimetre); points outside China and NaNs are returned unchanged.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.38404722455657, 39.91334545536069)
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)
    (116.377817, 39.911954)
    """
    return _inverse(lon, lat, _wgs_to_gcj)


def gcj02_to_bd09(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return GCJ-02 points in BD-09 (Baidu's published shift); outside China unchanged."""
    return _forward(lon, lat, _gcj_to_bd)


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return BD-09 points in GCJ-02, by the exact iterative inverse of :func:`gcj02_to_bd09`."""
    return _inverse(lon, lat, _gcj_to_bd)


def wgs84_to_bd09(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return WGS84 points in BD-09 (GCJ-02 offset, then Baidu's shift)."""
    return _forward(lon, lat, _wgs_to_bd)


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return BD-09 points in WGS84, by the exact iterative inverse of :func:`wgs84_to_bd09`."""
    return _inverse(lon, lat, _wgs_to_bd)


def to_wgs84(
    lon: ArrayLike, lat: ArrayLike, crs: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return points given in ``crs`` (``"GCJ-02"`` or ``"BD-09"``, any spelling) in WGS84.

    Raises
    ------
    ValueError
        When ``crs`` is not one of the two.
    """
    name = normalise_china_crs(crs)
    if name == "GCJ-02":
        return gcj02_to_wgs84(lon, lat)
    if name == "BD-09":
        return bd09_to_wgs84(lon, lat)
    msg = f"not a Chinese offset CRS: {crs!r}; use GCJ-02 or BD-09"
    raise ValueError(msg)
