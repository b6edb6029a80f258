"""Throughput of the GCJ-02 / BD-09 conversions (netplan.chinacrs) on random points in China.

Run: PYTHONPATH=src python benchmarks/bench_chinacrs.py [n_points]
Prints points per second for each direction and the worst round-trip error in metres.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from netplan.chinacrs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 53.5, n)
    for name, forward, inverse in (
        ("GCJ-02", wgs84_to_gcj02, gcj02_to_wgs84),
        ("BD-09", wgs84_to_bd09, bd09_to_wgs84),
    ):
        start = time.perf_counter()
        x, y = forward(lon, lat)
        middle = time.perf_counter()
        back_lon, back_lat = inverse(x, y)
        end = time.perf_counter()
        error_m = float(
            np.max(np.hypot((back_lon - lon) * np.cos(np.radians(lat)), back_lat - lat)) * 111_195
        )
        print(
            f"{name}: {n:,} points; WGS84 -> {name} {n / (middle - start):,.0f} points/s, "
            f"{name} -> WGS84 {n / (end - middle):,.0f} points/s; "
            f"worst round-trip error {error_m:.2e} m"
        )


if __name__ == "__main__":
    main()
