"""Benchmark ``netplan validate`` and ``netplan convert`` against a bare ``pyarrow.csv`` read.

One seeded CSV of N customers (``id,lon,lat,weight``: text ids ``c0``…,
coordinates with six decimals, integer weights) is written once; then, each in
its own process, timed from process start to exit:

arrow-read
    ``pyarrow.csv.read_csv(FILE)`` and nothing else (the floor: the file
    parsed into typed columns, multithreaded)
validate
    ``netplan validate FILE`` (every row checked, the summary printed)
convert
    ``netplan convert FILE OUT`` (every row checked, a partitioned
    GeoParquet dataset written)

Each row reports wall and CPU seconds (user + system, all threads), peak RSS
and the load average when it started (the machine is shared: CPU seconds and
the CPU ratio are the fairer figures under load), and the ratio to the floor.

Usage::

    .venv/bin/python benchmarks/bench_io.py --sizes 1e6,1e7
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

# The same child-process timer as the whole-command cases of bench_coverage (this folder).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage import time_command

_ARROW_READ = "import sys, pyarrow.csv as c; t = c.read_csv(sys.argv[1]); print(t.num_rows)"


def write_csv(path: Path, n: int, seed: int) -> None:
    """Write N customers as CSV (pyarrow's writer: fast, no quoting of plain cells)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "id": pa.array(np.char.add("c", np.arange(n).astype(str))),
            "lon": np.round(rng.uniform(98.0, 122.0, n), 6),
            "lat": np.round(rng.uniform(22.0, 42.0, n), 6),
            "weight": rng.integers(1, 5, n),
        }
    )
    pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="none"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e6", help="rows, comma-separated (e.g. 1e6,1e7)")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument(
        "--cases", default="arrow-read,validate,convert", help="cases to run, comma-separated"
    )
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    netplan = [sys.executable, "-m", "netplan"]
    print(f"# {os.cpu_count()} cores (shared); CSV id,lon,lat,weight")
    header = (
        f"{'N':>10} {'case':<11} {'MB':>6} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} "
        f"{'load':>6}  ratio to arrow-read (wall, CPU)"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="netplan-bench-io-") as tmp:
            csv_path = Path(tmp) / "customers.csv"
            write_csv(csv_path, n, args.seed)
            size_mb = csv_path.stat().st_size / 1e6
            commands = {
                "arrow-read": [sys.executable, "-c", _ARROW_READ, str(csv_path)],
                "validate": [*netplan, "validate", str(csv_path)],
                "convert": [*netplan, "convert", str(csv_path), str(Path(tmp) / "dataset")],
            }
            floor: dict[str, float] | None = None
            for case in cases:
                f = time_command(commands[case])
                if case == "arrow-read":
                    floor = f
                ratio = (
                    f"{f['wall_s'] / floor['wall_s']:.2f}, {f['cpu_s'] / floor['cpu_s']:.2f}"
                    if floor is not None and case != "arrow-read"
                    else ""
                )
                print(
                    f"{n:>10} {case:<11} {size_mb:>6.0f} {f['wall_s']:>8.2f} {f['cpu_s']:>8.2f} "
                    f"{f['peak_rss_mb']:>12,.0f} {f['load']:>6.2f}  {ratio}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
