"""Benchmark netplan's reach/coverage against a bare KD-tree floor and a haversine BallTree.

Same seeded data for every case: N demand points clustered round 300 "cities"
over China and S sites (2,000 by default) drawn round the same cities, one tier
with a 30 km radius. Each case runs in its own subprocess so its peak RSS
(``ru_maxrss``) is its own; wall time covers the query only (data loading and,
for netplan, building the GeoDataFrames are excluded and reported apart).

Cases
-----
floor
    lon/lat → xyz, ``cKDTree.query(k=1)`` + ``query_ball_point(return_length=True)``
floor-threads
    the same with ``workers=-1`` (every core)
balltree
    sklearn ``BallTree(metric="haversine")``: ``query(k=1)`` + ``query_radius(count_only=True)``
netplan-counts
    :func:`netplan.reach.reach_counts_from_arrays` (nearest, closest covering site,
    counts and tier bits per point: what coverage reads, no matrix; one thread per core)
netplan-arrays
    :func:`netplan.reach.reach_from_arrays` (nearest + the full sparse reach matrix, from arrays)
netplan-reach
    :func:`netplan.reach.reach_from_points` (the same from GeoDataFrames with string ids)
netplan-coverage
    :func:`netplan.coverage_from_points` (reach + per-point frame + KPIs + H3 blind spots)

Then the matrix build: N = 1e6 demand × 5,000 sites, non-zeros per second, with
canonical (sorted) rows and with ``sort_indices=False``.

Whole command (``--cli-sizes``, default 1e6): the demand written once to one
GeoParquet file (string ids ``d0``…, a ``weight`` column, WKB points), the sites
to a CSV, one 30 km tier in a scenario file; then, each in its own process,
timed from process start to exit (so reading, writing and start-up count):

cli-floor
    the hand-written floor: ``geopandas.read_parquet``, ``cKDTree`` nearest +
    count, ``GeoDataFrame.to_parquet`` of id, nearest distance, count, geometry
cli-netplan
    ``netplan coverage --demand pts.parquet --sites sites.csv --config
    scenario.toml --out DIR --format parquet``

Each row reports wall time, CPU time (user + system of the case's process, threads
included: fairer than wall time on a loaded machine), peak RSS and the machine's load
average (``os.getloadavg``) when it started: the machine is shared.

Usage::

    .venv/bin/python benchmarks/bench_coverage.py --sizes 1e5,1e6,1e7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHINA_LON = (98.0, 122.0)
CHINA_LAT = (22.0, 42.0)


def make_data(
    n: int, n_sites: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return clustered demand and site coordinates over China (degrees)."""
    rng = np.random.default_rng(seed)
    n_cities = 300
    city_lon = rng.uniform(*CHINA_LON, n_cities)
    city_lat = rng.uniform(*CHINA_LAT, n_cities)
    size = rng.pareto(1.2, n_cities) + 1.0
    share = size / size.sum()
    spread = rng.uniform(0.15, 0.8, n_cities)
    city = rng.choice(n_cities, n, p=share)
    lon = city_lon[city] + rng.normal(0.0, 1.0, n) * spread[city]
    lat = city_lat[city] + rng.normal(0.0, 0.75, n) * spread[city]
    site_city = rng.choice(n_cities, n_sites, p=np.sqrt(share) / np.sqrt(share).sum())
    site_lon = city_lon[site_city] + rng.normal(0.0, 1.0, n_sites) * spread[site_city]
    site_lat = city_lat[site_city] + rng.normal(0.0, 0.75, n_sites) * spread[site_city]
    return lon, np.clip(lat, -89.9, 89.9), site_lon, np.clip(site_lat, -89.9, 89.9)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_case(case: str, data: Path, radius_km: float) -> dict[str, float]:
    """Run one case in this process and return its figures (CPU seconds of the timed part)."""
    load = os.getloadavg()[0]
    result = _run_case(case, data, radius_km)
    result["load"] = load
    return result


def _run_case(case: str, data: Path, radius_km: float) -> dict[str, float]:
    lon = np.load(data / "lon.npy")
    lat = np.load(data / "lat.npy")
    site_lon = np.load(data / "site_lon.npy")
    site_lat = np.load(data / "site_lat.npy")
    n = lon.size
    result: dict[str, float] = {"n": n, "setup_s": 0.0}
    if case in ("floor", "floor-threads"):
        from scipy.spatial import cKDTree

        from netplan.reach import chord_from_km, unit_xyz

        workers = -1 if case == "floor-threads" else 1
        rss_before = _rss_mb()
        start = time.perf_counter()
        cpu_start = _cpu_s()
        tree = cKDTree(unit_xyz(site_lon, site_lat))
        xyz = unit_xyz(lon, lat)
        tree.query(xyz, k=1, workers=workers)
        counts = tree.query_ball_point(
            xyz, float(chord_from_km(radius_km)), return_length=True, workers=workers
        )
        result["wall_s"] = time.perf_counter() - start
        result["cpu_s"] = _cpu_s() - cpu_start
        result["nnz"] = float(np.asarray(counts).sum())
    elif case == "netplan-counts":
        from netplan.config import scenario_from_dict
        from netplan.reach import reach_counts_from_arrays

        scenario = scenario_from_dict({"tiers": {"station": {"radius_km": radius_km}}})
        tiers = np.full(site_lon.size, "station", dtype=object)
        rss_before = _rss_mb()
        start = time.perf_counter()
        cpu_start = _cpu_s()
        counts_only = reach_counts_from_arrays(lon, lat, site_lon, site_lat, tiers, scenario)
        result["wall_s"] = time.perf_counter() - start
        result["cpu_s"] = _cpu_s() - cpu_start
        result["nnz"] = float(counts_only.n_covering.sum())
    elif case == "balltree":
        from sklearn.neighbors import BallTree

        from netplan.config import EARTH_RADIUS_KM

        rss_before = _rss_mb()
        start = time.perf_counter()
        cpu_start = _cpu_s()
        tree = BallTree(np.radians(np.column_stack([site_lat, site_lon])), metric="haversine")
        points = np.radians(np.column_stack([lat, lon]))
        tree.query(points, k=1)
        counts = tree.query_radius(points, r=radius_km / EARTH_RADIUS_KM, count_only=True)
        result["wall_s"] = time.perf_counter() - start
        result["cpu_s"] = _cpu_s() - cpu_start
        result["nnz"] = float(np.asarray(counts).sum())
    elif case in ("netplan-arrays", "netplan-arrays-unsorted"):
        from netplan.config import scenario_from_dict
        from netplan.reach import reach_from_arrays

        scenario = scenario_from_dict({"tiers": {"station": {"radius_km": radius_km}}})
        tiers = np.full(site_lon.size, "station", dtype=object)
        rss_before = _rss_mb()
        start = time.perf_counter()
        cpu_start = _cpu_s()
        reach = reach_from_arrays(
            lon, lat, site_lon, site_lat, tiers, scenario, sort_indices=case == "netplan-arrays"
        )
        result["wall_s"] = time.perf_counter() - start
        result["cpu_s"] = _cpu_s() - cpu_start
        result["nnz"] = float(reach.matrix.nnz)
    else:
        import geopandas as gpd

        from netplan.config import scenario_from_dict

        setup = time.perf_counter()
        demand = gpd.GeoDataFrame(
            {"id": np.char.add("d", np.arange(n).astype(str)).astype(object), "weight": np.ones(n)},
            geometry=gpd.points_from_xy(lon, lat),
            crs="EPSG:4326",
        )
        sites = gpd.GeoDataFrame(
            {
                "id": [f"s{i}" for i in range(site_lon.size)],
                "tier": ["station"] * site_lon.size,
                "status": ["existing"] * site_lon.size,
            },
            geometry=gpd.points_from_xy(site_lon, site_lat),
            crs="EPSG:4326",
        )
        scenario = scenario_from_dict({"tiers": {"station": {"radius_km": radius_km}}})
        result["setup_s"] = time.perf_counter() - setup
        rss_before = _rss_mb()
        if case == "netplan-reach":
            from netplan.reach import reach_from_points

            start = time.perf_counter()

            cpu_start = _cpu_s()
            reach = reach_from_points(demand, sites, scenario)
            result["wall_s"] = time.perf_counter() - start
            result["cpu_s"] = _cpu_s() - cpu_start
            result["nnz"] = float(reach.matrix.nnz)
        elif case == "netplan-coverage":
            from netplan import coverage_from_points

            start = time.perf_counter()

            cpu_start = _cpu_s()
            coverage = coverage_from_points(demand, sites, scenario)
            result["wall_s"] = time.perf_counter() - start
            result["cpu_s"] = _cpu_s() - cpu_start
            result["nnz"] = float(coverage.reach.matrix.nnz)
            result["n_blindspots"] = float(len(coverage.blindspots))
        else:
            msg = f"unknown case {case!r}"
            raise SystemExit(msg)
    result["rss_before_mb"] = rss_before
    result["peak_rss_mb"] = _rss_mb()
    return result


def in_subprocess(case: str, data: Path, radius_km: float) -> dict[str, float]:
    """Run a case in a fresh Python process and return its JSON figures."""
    command = [
        sys.executable,
        __file__,
        "--case",
        case,
        "--data",
        str(data),
        "--radius",
        str(radius_km),
    ]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def save(data: Path, arrays: tuple[np.ndarray, ...]) -> None:
    data.mkdir(parents=True, exist_ok=True)
    for name, values in zip(("lon", "lat", "site_lon", "site_lat"), arrays, strict=True):
        np.save(data / f"{name}.npy", values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1e5,1e6", help="demand sizes, comma-separated (e.g. 1e5,1e6,1e7)"
    )
    parser.add_argument("--sites", type=int, default=2000, help="number of sites")
    parser.add_argument("--radius", type=float, default=30.0, help="tier radius, km")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--balltree-max",
        type=float,
        default=1e6,
        help="skip the BallTree case above this N (it is slow)",
    )
    parser.add_argument(
        "--matrix-sites", type=int, default=5000, help="sites of the matrix-build case"
    )
    parser.add_argument(
        "--matrix-n", type=float, default=1e6, help="demand of the matrix-build case (0: skip)"
    )
    parser.add_argument(
        "--cli-sizes",
        default="1e6",
        help="demand sizes of the whole-command cases (e.g. 1e6,1e7; empty: skip)",
    )
    parser.add_argument("--only-cli", action="store_true", help="run only the whole-command cases")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case:
        print(json.dumps(run_case(args.case, Path(args.data), args.radius)))
        return

    cli_sizes = [int(float(s)) for s in args.cli_sizes.split(",") if s.strip()]
    if args.only_cli:
        run_cli_cases(cli_sizes, args.sites, args.radius, args.seed)
        return
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    header = (
        f"{'N':>10} {'case':<17} {'wall s':>8} {'CPU s':>7} {'points/s':>12} {'peak RSS MB':>12} "
        f"{'input RSS MB':>12} {'non-zeros':>11} {'load':>5}"
    )
    print(f"# {args.sites} sites, radius {args.radius:g} km, seed {args.seed}; 2 shared cores")
    print(header)
    print("-" * len(header))
    ratios = []
    with tempfile.TemporaryDirectory(prefix="netplan-bench-") as tmp:
        for n in sizes:
            data = Path(tmp) / f"n{n}"
            save(data, make_data(n, args.sites, args.seed))
            figures: dict[str, dict[str, float]] = {}
            for case in (
                "floor",
                "floor-threads",
                "balltree",
                "netplan-counts",
                "netplan-arrays",
                "netplan-reach",
                "netplan-coverage",
            ):
                if case == "balltree" and n > args.balltree_max:
                    print(f"{n:>10} {case:<17} {'skipped (N > --balltree-max)':>30}")
                    continue
                figures[case] = f = in_subprocess(case, data, args.radius)
                print(
                    f"{n:>10} {case:<17} {f['wall_s']:>8.2f} {f['cpu_s']:>7.2f} "
                    f"{n / f['wall_s']:>12,.0f} {f['peak_rss_mb']:>12,.0f} "
                    f"{f['rss_before_mb']:>12,.0f} {f['nnz']:>11,.0f} {f['load']:>5.1f}",
                    flush=True,
                )
            floor = figures["floor"]["wall_s"]
            row = {
                "n": n,
                "counts/floor": figures["netplan-counts"]["wall_s"] / floor,
                "arrays/floor": figures["netplan-arrays"]["wall_s"] / floor,
                "reach/floor": figures["netplan-reach"]["wall_s"] / floor,
                "coverage/floor": figures["netplan-coverage"]["wall_s"] / floor,
                "balltree/reach": (
                    figures["balltree"]["wall_s"] / figures["netplan-reach"]["wall_s"]
                    if "balltree" in figures
                    else float("nan")
                ),
            }
            ratios.append(row)
        print()
        print(
            f"{'N':>10} {'counts / floor':>15} {'arrays / floor':>15} {'reach / floor':>14} "
            f"{'coverage / floor':>17} {'BallTree / reach':>17}"
        )
        for row in ratios:
            print(
                f"{row['n']:>10} {row['counts/floor']:>15.2f} {row['arrays/floor']:>15.2f} "
                f"{row['reach/floor']:>14.2f} {row['coverage/floor']:>17.2f} "
                f"{row['balltree/reach']:>17.2f}"
            )
        if args.matrix_n > 0:
            n = int(args.matrix_n)
            data = Path(tmp) / "matrix"
            save(data, make_data(n, args.matrix_sites, args.seed + 1))
            print()
            for case in ("netplan-arrays", "netplan-arrays-unsorted"):
                f = in_subprocess(case, data, args.radius)
                rows = "sorted" if case == "netplan-arrays" else "unsorted"
                print(
                    f"matrix build {n:,} x {args.matrix_sites:,} sites, radius {args.radius:g} km, "
                    f"{rows} rows: "
                    f"{f['nnz']:,.0f} non-zeros in {f['wall_s']:.2f} s = "
                    f"{f['nnz'] / f['wall_s'] / 1e6:.1f} M non-zeros/s "
                    f"({f['cpu_s']:.2f} CPU s = {f['nnz'] / f['cpu_s'] / 1e6:.1f} M/CPU s; "
                    f"peak RSS {f['peak_rss_mb']:,.0f} MB; load {f['load']:.1f})"
                )
    run_cli_cases(cli_sizes, args.sites, args.radius, args.seed)


# --------------------------------------------------------------------------- whole command

_FLOOR_SCRIPT = """
import sys
import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

demand, sites_csv, radius_km, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
gdf = gpd.read_parquet(demand)
sites = np.loadtxt(sites_csv, delimiter=",", skiprows=1, usecols=(1, 2))

def xyz(lon, lat):
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])

tree = cKDTree(xyz(sites[:, 0], sites[:, 1]))
points = xyz(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
chord, _ = tree.query(points, k=1, workers=-1)
radius = 2.0 * np.sin(radius_km / 6371.0088 / 2.0)
count = tree.query_ball_point(points, radius, return_length=True, workers=-1)
km = 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0)) * 6371.0088
out_gdf = gpd.GeoDataFrame(
    {"id": gdf["id"], "nearest_km": km, "n_sites": count}, geometry=gdf.geometry, crs=gdf.crs
)
out_gdf.to_parquet(out)
"""


def write_cli_inputs(folder: Path, n: int, n_sites: int, radius_km: float, seed: int) -> None:
    """Write the whole-command inputs: demand GeoParquet, sites CSV, scenario TOML."""
    import geopandas as gpd

    lon, lat, site_lon, site_lat = make_data(n, n_sites, seed)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 7)
    demand = gpd.GeoDataFrame(
        {
            "id": np.char.add("d", np.arange(n).astype(str)).astype(object),
            "weight": rng.integers(1, 5, n).astype(np.float64),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    demand.to_parquet(folder / "demand.parquet")
    del demand
    with (folder / "sites.csv").open("w", encoding="utf-8") as handle:
        handle.write("id,lon,lat,tier,status\n")
        for i in range(n_sites):
            handle.write(f"s{i},{site_lon[i]:.6f},{site_lat[i]:.6f},station,existing\n")
    (folder / "scenario.toml").write_text(
        f'[tiers.station]\nlabel = "Station"\nradius_km = {radius_km:g}\n', encoding="utf-8"
    )


def time_command(command: list[str]) -> dict[str, float]:
    """Run a command in a child process; return wall and CPU seconds, peak RSS (MB), the load.

    CPU seconds (user + system, all threads) say more than wall time on a
    loaded shared machine, where a process gets a fraction of a core.
    """
    import os

    load = os.getloadavg()[0]
    script = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - t\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "rss = usage.ru_maxrss / 1024.0\n"
        "cpu = usage.ru_utime + usage.ru_stime\n"
        "print(json.dumps({'wall_s': wall, 'cpu_s': cpu, 'peak_rss_mb': rss}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, *command], check=True, capture_output=True, text=True
    )
    figures: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["load"] = load
    return figures


def run_cli_cases(sizes: list[int], n_sites: int, radius_km: float, seed: int) -> None:
    """Time the whole ``netplan coverage`` command beside the hand-written floor."""
    if not sizes:
        return
    print()
    print(f"# whole command: {n_sites} sites, one {radius_km:g} km tier, --format parquet")
    header = (
        f"{'N':>10} {'case':<12} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} "
        f"{'load (1 min)':>13}"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="netplan-bench-cli-") as tmp:
            folder = Path(tmp)
            write_cli_inputs(folder, n, n_sites, radius_km, seed)
            floor = time_command(
                [
                    sys.executable,
                    "-c",
                    _FLOOR_SCRIPT,
                    str(folder / "demand.parquet"),
                    str(folder / "sites.csv"),
                    str(radius_km),
                    str(folder / "floor.parquet"),
                ]
            )
            print(
                f"{n:>10} {'cli-floor':<12} {floor['wall_s']:>8.2f} {floor['cpu_s']:>8.2f} "
                f"{floor['peak_rss_mb']:>12,.0f} {floor['load']:>13.2f}",
                flush=True,
            )
            netplan = time_command(
                [
                    sys.executable,
                    "-m",
                    "netplan",
                    "coverage",
                    "--demand",
                    str(folder / "demand.parquet"),
                    "--sites",
                    str(folder / "sites.csv"),
                    "--config",
                    str(folder / "scenario.toml"),
                    "--out",
                    str(folder / "out"),
                    "--format",
                    "parquet",
                ]
            )
            print(
                f"{n:>10} {'cli-netplan':<12} {netplan['wall_s']:>8.2f} {netplan['cpu_s']:>8.2f} "
                f"{netplan['peak_rss_mb']:>12,.0f} {netplan['load']:>13.2f}   "
                f"ratio wall {netplan['wall_s'] / floor['wall_s']:.2f}, "
                f"CPU {netplan['cpu_s'] / floor['cpu_s']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
