"""Cost of tagging points with province/city/district (netplan.regions.tag_points).

Run: PYTHONPATH=src python benchmarks/bench_regions.py [n_points]
Prints the one-off costs (loading the district polygons and the lookup grid,
from the disk cache when present) and the seconds per million points for two
spreads of points: the national sample's installed base resampled with ~5 km
of jitter (demand as it is: clustered in cities, so often near district
borders) and points uniform over eastern China; wall-clock and CPU time (the
latter is the fairer figure on a shared machine: tagging runs on one core).
Also the share of points that needed the exact point-in-polygon test (the
rest are answered by the grid).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from netplan import regions
from netplan.boundaries import load_boundaries

SAMPLE = Path(__file__).resolve().parents[1] / "data/samples/national/installed_base.csv"


def _timed(label: str, lon: np.ndarray, lat: np.ndarray) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    tags = regions.tag_points(lon, lat)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    grid = regions._grid().lookup(lon, lat)
    near = float((grid == -2).mean())
    outside = float((tags["province"] == regions.OUTSIDE).mean())
    print(
        f"{label}: {lon.size:,} points in {seconds:.2f} s = {seconds / lon.size * 1e6:.2f} s "
        f"per million (CPU {cpu / lon.size * 1e6:.2f} s per million); {near:.0%} near a border "
        f"(exact test), {outside:.1%} outside"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    start = time.perf_counter()
    load_boundaries("district")
    middle = time.perf_counter()
    regions._grid()
    regions._polygons()
    end = time.perf_counter()
    print(f"load districts {middle - start:.2f} s; lookup grid + tree {end - middle:.2f} s")

    rng = np.random.default_rng(0)
    base = pd.read_csv(SAMPLE, usecols=["lon", "lat"])
    pick = rng.integers(0, len(base), n)
    lon = base["lon"].to_numpy()[pick] + rng.normal(0.0, 0.05, n)
    lat = base["lat"].to_numpy()[pick] + rng.normal(0.0, 0.05, n)
    _timed("sample demand, jittered", lon, lat)
    _timed("uniform over eastern China", rng.uniform(98.0, 123.0, n), rng.uniform(20.0, 42.0, n))


if __name__ == "__main__":
    main()
