"""Benchmark the network map: build time, file size and browser load time by demand size.

Seeded clustered demand over China and 2,000 sites in four tiers; for each
demand size the map is built (offline, the default, and with web tiles),
written, and, when headless Chromium is installed, opened through the DevTools
pipe with the network cut off (the same harness as tests/test_browser.py) to
time the page load. First prints the one-off cost of the first map in a
process (the province and city outlines are read from the boundaries cache and
encoded once per process), then one table.

Run: .venv/bin/python benchmarks/bench_maps.py [--sizes 100000,1000000] [--sites 2000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from netplan.config import default_scenario
from netplan.maps import network_map

HERE = Path(__file__).resolve().parent


def clustered_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres_lon = rng.uniform(100, 122, 60)
    centres_lat = rng.uniform(22, 41, 60)
    which = rng.integers(0, 60, n)
    lon = centres_lon[which] + rng.normal(0, 0.6, n)
    lat = centres_lat[which] + rng.normal(0, 0.45, n)
    return lon, lat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--sites", type=int, default=2000)
    args = parser.parse_args()
    sizes = [int(float(v)) for v in args.sizes.split(",")]
    rng = np.random.default_rng(42)
    m = args.sites
    site_lon, site_lat = clustered_points(m, 7)
    tiers = np.array(["regional_hub", "city_station", "community_point", "partner"])
    sites = gpd.GeoDataFrame(
        {
            "id": [f"S{i:05d}" for i in range(m)],
            "name": [f"site {i}" for i in range(m)],
            "tier": tiers[rng.choice(4, m, p=[0.02, 0.38, 0.4, 0.2])],
            "status": np.where(rng.random(m) < 0.15, "existing", "candidate"),
        },
        geometry=gpd.points_from_xy(site_lon, site_lat),
        crs=4326,
    )
    chromium = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    load_page = None
    if chromium:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from test_browser import DOM_PROBE, load_page  # type: ignore[import-not-found]

    scenario = default_scenario()
    start = time.perf_counter()
    first = network_map(None, sites.head(10), scenario)
    print(
        f"first map in this process (outlines loaded and encoded): "
        f"{time.perf_counter() - start:.2f} s, {first.n_regions} outlines"
    )
    print(
        f"{'demand':>10} {'mode':>8} {'build s':>8} {'write s':>8} {'MB':>6} "
        f"{'heat cells':>10} {'load s':>7} {'js errors':>9}"
    )
    for n in sizes:
        lon, lat = clustered_points(n, 1)
        demand = gpd.GeoDataFrame(
            {"id": np.arange(n).astype(str), "weight": rng.gamma(2.0, 1.0, n)},
            geometry=gpd.points_from_xy(lon, lat),
            crs=4326,
        )
        for offline in (True, False):
            start = time.perf_counter()
            result = network_map(demand, sites, scenario, offline=offline)
            built = time.perf_counter() - start
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                path = result.to_file(Path(folder) / "map.html")
                written = time.perf_counter() - start
                size = path.stat().st_size / 1e6
                load = errors = "-"
                if load_page is not None and offline:
                    start = time.perf_counter()
                    _, events, _ = load_page(
                        chromium, path, Path(folder) / "profile", expression=DOM_PROBE
                    )
                    load = f"{time.perf_counter() - start:.1f}"
                    errors = str(sum(e.get("method") == "Runtime.exceptionThrown" for e in events))
            mode = "offline" if offline else "tiles"
            print(
                f"{n:>10,} {mode:>8} {built:>8.2f} {written:>8.2f} {size:>6.2f} "
                f"{result.n_heat_cells:>10,} {load:>7} {errors:>9}"
            )


if __name__ == "__main__":
    main()
