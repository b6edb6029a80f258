"""Scale-out benchmark: local engine vs Dask LocalCluster(2 workers) vs the bare KD-tree floor.

On the same seeded data (clustered points over China, written once as a
netplan dataset of 250,000-point GeoParquet files) and 2,000 existing sites of
one tier with a 30 km radius, for N = 1e6 and 1e7 demand points, it times:

* ``floor``: a bare ``scipy.spatial.cKDTree`` on unit-sphere xyz, nearest
  site + number of sites within 30 km for every point, on coordinates already
  in memory (reading them is reported apart as ``load_s``);
* ``local``: :func:`netplan.scale.coverage_local` on the dataset (reading,
  reach, per-point columns and every KPI; no blind spots), one thread, and
  ``local-2threads`` with two chunks computed at once (equal cores to Dask);
* ``dask``: :func:`netplan.scale.coverage_dask` on a ``LocalCluster`` of 2
  worker processes (one thread each), started (and netplan imported in the
  workers) before the clock; start-up reported apart. It runs twice: the
  table shows the second (warm) run and notes the first.

Each measurement runs in its own process so peak RSS (``ru_maxrss``) is its
own; for Dask the workers' peaks are asked from the workers. Prints a
Markdown table.

Usage::

    python benchmarks/bench_scale.py                 # N = 1e6 and 1e7
    python benchmarks/bench_scale.py --sizes 1000000 # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 20261123
N_SITES = 2_000
RADIUS_KM = 30.0
PART_ROWS = 250_000  # 4 partitions at 1e6, 40 at 1e7


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _scenario():  # type: ignore[no-untyped-def]
    from netplan.config import scenario_from_dict

    return scenario_from_dict(
        {
            "scenario": {"name": "bench"},
            "tiers": {"station": {"label": "Station", "radius_km": RADIUS_KM}},
        },
        source="bench",
    )


def _points(rng: np.random.Generator, n: int, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    which = rng.integers(0, len(centres), n)
    lon = centres[which, 0] + rng.normal(0.0, 0.5, n)
    lat = centres[which, 1] + rng.normal(0.0, 0.35, n)
    return lon, lat


def make_data(folder: Path, n: int) -> tuple[Path, Path]:
    """Write the dataset (n points) and the sites file; reuse them when present."""
    import geopandas as gpd
    import pandas as pd

    from netplan.stream import write_dataset

    dataset = folder / f"demand_{n}"
    sites_path = folder / "sites.parquet"
    rng = np.random.default_rng(SEED)
    centres = rng.uniform([98.0, 22.0], [122.0, 41.0], size=(300, 2))
    if not sites_path.exists():
        lon, lat = _points(np.random.default_rng(SEED + 1), N_SITES, centres)
        sites = gpd.GeoDataFrame(
            {
                "id": [f"S{i:05d}" for i in range(N_SITES)],
                "tier": "station",
                "status": "existing",
                "fixed_cost": 1.0,
                "capacity": np.inf,
            },
            geometry=gpd.points_from_xy(lon, lat),
            crs="EPSG:4326",
        )
        sites.to_parquet(sites_path, index=False)
    if not dataset.exists():

        def chunks():  # type: ignore[no-untyped-def]
            for start in range(0, n, PART_ROWS):
                size = min(PART_ROWS, n - start)
                part_rng = np.random.default_rng([SEED, start])
                lon, lat = _points(part_rng, size, centres)
                frame = pd.DataFrame(
                    {
                        "id": pd.array([f"P{i:08d}" for i in range(start, start + size)], "str"),
                        "weight": part_rng.gamma(2.0, 1.0, size),
                    }
                )
                yield gpd.GeoDataFrame(
                    frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
                )

        write_dataset(
            chunks(),
            dataset,
            source=f"generated {n}",
            kind="customers",
            rows_per_partition=PART_ROWS,
        )
    return dataset, sites_path


def run_one(engine: str, dataset: Path, sites_path: Path) -> dict[str, float]:
    """Time one engine in this process and return its figures."""
    import geopandas as gpd

    from netplan.io import read_points
    from netplan.stream import iter_dataset_frames

    scenario = _scenario()
    sites = read_points(sites_path, kind="sites", scenario=scenario)
    out: dict[str, float] = {}
    if engine == "floor":
        from scipy.spatial import cKDTree

        from netplan.reach import chord_from_km, km_from_chord, unit_xyz

        start = time.perf_counter()
        frames = list(iter_dataset_frames(dataset))
        lon = np.concatenate([f["lon"].to_numpy() for f in frames])
        lat = np.concatenate([f["lat"].to_numpy() for f in frames])
        del frames
        out["load_s"] = time.perf_counter() - start
        site_lon = sites.geometry.x.to_numpy()
        site_lat = sites.geometry.y.to_numpy()
        start = time.perf_counter()
        tree = cKDTree(unit_xyz(site_lon, site_lat))
        n_covered = 0
        nearest_sum = 0.0
        for s in range(0, len(lon), 1_000_000):
            xyz = unit_xyz(lon[s : s + 1_000_000], lat[s : s + 1_000_000])
            chord, _ = tree.query(xyz, k=1)
            counts = tree.query_ball_point(xyz, float(chord_from_km(RADIUS_KM)), return_length=True)
            n_covered += int((counts > 0).sum())
            nearest_sum += float(km_from_chord(chord).sum())
        out["wall_s"] = time.perf_counter() - start
        out["n"] = float(len(lon))
        out["coverage_rate"] = n_covered / len(lon)
    elif engine in ("local", "local-2threads"):
        from netplan.scale import coverage_local

        threads = 2 if engine == "local-2threads" else 1
        start = time.perf_counter()
        result = coverage_local(
            dataset, sites, scenario, blindspots=None, chunk_rows=500_000, threads=threads
        )
        out["wall_s"] = time.perf_counter() - start
        out["n"] = float(len(result.points))
        out["coverage_rate"] = float(result.summary()["coverage_rate"])
    elif engine == "dask":
        from distributed import Client, LocalCluster

        from netplan.scale import coverage_dask

        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("netplan.scale"))  # warm the workers' imports
            out["startup_s"] = time.perf_counter() - start
            start = time.perf_counter()
            result = coverage_dask(dataset, sites, scenario, client=client, blindspots=None)
            out["cold_s"] = time.perf_counter() - start  # first run: workers load their code
            start = time.perf_counter()
            result = coverage_dask(dataset, sites, scenario, client=client, blindspots=None)
            out["wall_s"] = time.perf_counter() - start
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
            out["worker_rss_mb"] = max(peaks.values())
        out["n"] = float(len(result.points))
        out["coverage_rate"] = float(result.summary()["coverage_rate"])
    else:
        raise SystemExit(f"unknown engine {engine}")
    del gpd
    out["driver_rss_mb"] = _peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--data", type=Path, default=None, help="Folder for the generated data.")
    parser.add_argument(
        "--run", nargs=3, metavar=("ENGINE", "DATASET", "SITES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.run:
        engine, dataset, sites = args.run
        print(json.dumps(run_one(engine, Path(dataset), Path(sites))))
        return
    folder = args.data or Path(tempfile.mkdtemp(prefix="netplan-bench-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        start = time.perf_counter()
        dataset, sites = make_data(folder, n)
        print(f"data N={n:,}: {time.perf_counter() - start:.1f} s in {dataset}", file=sys.stderr)
        for engine in ("floor", "local", "local-2threads", "dask"):
            done = subprocess.run(
                [sys.executable, __file__, "--run", engine, str(dataset), str(sites)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{engine} failed for N={n}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            figures.update(engine=engine, N=n)
            print(json.dumps(figures), file=sys.stderr)
            rows.append(figures)
    print(
        "| N | engine | wall s | points/s | vs floor | vs local "
        "| driver peak RSS MB | worker peak RSS MB | notes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        same = [r for r in rows if r["N"] == row["N"]]
        floor = next(r for r in same if r["engine"] == "floor")["wall_s"]
        local = next(r for r in same if r["engine"] == "local")["wall_s"]
        notes = []
        if "load_s" in row:
            notes.append(f"reading coordinates {row['load_s']:.1f} s not counted")
        if "startup_s" in row:
            notes.append(f"cluster start {row['startup_s']:.1f} s not counted")
        if "cold_s" in row:
            notes.append(f"second run; first (cold) run {row['cold_s']:.2f} s")
        notes.append(f"coverage {row['coverage_rate']:.4f}")
        worker = f"{row['worker_rss_mb']:,.0f}" if "worker_rss_mb" in row else "-"
        wall = row["wall_s"]
        print(
            f"| {row['N']:,} | {row['engine']} | {wall:.2f} | {row['N'] / wall:,.0f} "
            f"| {wall / floor:.2f}x | {wall / local:.2f}x | {row['driver_rss_mb']:,.0f} "
            f"| {worker} | {'; '.join(notes)} |"
        )


if __name__ == "__main__":
    main()
