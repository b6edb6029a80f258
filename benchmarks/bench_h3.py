"""Time the H3 cells of blind spots: CPU seconds per million points, vectorised and per point.

``netplan._h3.latlng_to_cells`` (h3ronpy's vectorised kernel over the H3 C
library) beside h3's own function called once per point (the path netplan
takes without h3ronpy), on the same seeded points over China, resolution 7,
in one process (``workers=1``). Both give the same cells (checked here too).

Usage::

    .venv/bin/python benchmarks/bench_h3.py [--n 1e6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6, help="points")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the fastest counts)")
    parser.add_argument("--resolution", type=int, default=7)
    args = parser.parse_args()

    import h3

    from netplan._h3 import latlng_to_cells

    n = int(args.n)
    rng = np.random.default_rng(20261203)
    lon, lat = rng.uniform(90, 125, n), rng.uniform(20, 45, n)

    def per_point() -> np.ndarray:
        cell = h3.api.basic_int.latlng_to_cell
        return np.fromiter(
            map(cell, lat.tolist(), lon.tolist(), itertools.repeat(args.resolution, n)),
            dtype=np.uint64,
            count=n,
        )

    cases = {
        "netplan latlng_to_cells": lambda: latlng_to_cells(lon, lat, args.resolution, workers=1),
        "h3, one call per point": per_point,
    }
    print(f"# {n:,} points, resolution {args.resolution}; load {os.getloadavg()[0]:.2f}")
    print(f"{'case':<26} {'CPU s':>8} {'CPU s per 1e6':>14}")
    results = {}
    for name, run in cases.items():
        best = np.inf
        for _ in range(args.repeat):
            started = time.process_time()
            results[name] = run()
            best = min(best, time.process_time() - started)
        print(f"{name:<26} {best:>8.3f} {best / n * 1e6:>14.3f}")
    first, second = results.values()
    print("same cells:", bool(np.array_equal(first, second)))


if __name__ == "__main__":
    main()
