"""Measure DBSCAN's peak memory per neighbour pair, the figure behind netplan's memory guard.

Runs netplan's DBSCAN blind-spot labelling on n identical points (every pair is a
neighbour: the worst case) in a fresh process per size and prints the peak
resident memory above the process's baseline, per neighbour pair, next to
netplan's estimate. Usage: python benchmarks/bench_dbscan_memory.py [n ...]
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, resource, sys
import numpy as np
from netplan import blindspots
n = int(sys.argv[1])
lon = np.full(n, 104.06); lat = np.full(n, 30.67)
pairs, estimate = blindspots.dbscan_memory_estimate(lon, lat, 10.0)
import sklearn.cluster  # imported before the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
blindspots._dbscan_labels(lon, lat, 10.0, 1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"n": n, "pairs": pairs, "estimate": estimate, "used": peak - base}))
"""


def main() -> None:
    """Print the measured bytes per pair for each size."""
    sizes = [int(a) for a in sys.argv[1:]] or [2000, 4000, 8000]
    print(f"{'points':>8} {'pairs':>14} {'used MB':>10} {'B/pair':>8} {'estimate MB':>12}")
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n)], check=True, capture_output=True, text=True
        ).stdout
        row = json.loads(out)
        print(
            f"{row['n']:>8,} {row['pairs']:>14,.0f} {row['used'] / 2**20:>10,.0f} "
            f"{row['used'] / row['pairs']:>8.1f} {row['estimate'] / 2**20:>12,.0f}"
        )


if __name__ == "__main__":
    main()
