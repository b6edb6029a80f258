"""Tests of scale-out: exact H3 aggregation, the Dask engine and its equality with the local one."""

from __future__ import annotations

import filecmp
import math
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from geopandas.testing import assert_geodataframe_equal
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import default_scenario
from netplan.coverage import coverage_from_points
from netplan.demand import aggregate_h3, h3_cells, h3_from_partials, h3_partials
from netplan.errors import ConfigError, InputError
from netplan.io import read_points
from netplan.reach import great_circle_km
from netplan.scale import (
    aggregate_h3_dask,
    aggregate_h3_local,
    coverage_dask,
    coverage_local,
    dask_client,
    network_from_plan,
    streams,
)
from netplan.stream import convert_to_geoparquet


def _random_points(n: int, seed: int = 0, *, grades: bool = True) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    weight = rng.lognormal(0.0, 3.0, n)
    weight[::7] = 0.1
    weight[::11] = 1e-9
    weight[::13] = 0.0
    data: dict[str, object] = {"id": [f"p{i}" for i in range(n)], "weight": weight}
    if grades:
        data["grade"] = rng.choice(np.array(["A", "B", "C", None], dtype=object), n)
    return gpd.GeoDataFrame(
        data,
        geometry=gpd.points_from_xy(rng.normal(110.0, 0.4, n), rng.normal(30.0, 0.4, n)),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- H3 aggregation


def test_aggregate_h3_weights_are_exact_sums() -> None:
    points = _random_points(20_000)
    cells = aggregate_h3(points, 6)
    keys = pd.DataFrame(
        {
            "cell": h3_cells(points.geometry.x, points.geometry.y, 6),
            "grade": points["grade"].astype(object),
            "weight": points["weight"],
        }
    )
    expected = keys.groupby(["cell", "grade"], dropna=False, sort=True)["weight"].agg(
        lambda s: math.fsum(s)
    )
    assert cells["weight"].tolist() == expected.tolist()
    assert int(cells["n_points"].sum()) == len(points)
    assert cells["id"].is_unique


def test_aggregate_h3_is_independent_of_order_and_partitioning() -> None:
    points = _random_points(30_000, seed=3)
    whole = aggregate_h3(points, 7)
    shuffled = points.sample(frac=1.0, random_state=5)
    parts = [h3_partials(shuffled.iloc[s : s + 7_000], 7) for s in range(0, len(points), 7_000)]
    assert_geodataframe_equal(h3_from_partials(parts, 7), whole)
    assert_geodataframe_equal(h3_from_partials(parts[::-1], 7), whole)


def test_aggregate_h3_error_bound_holds_for_every_point() -> None:
    points = _random_points(5_000, seed=9, grades=False)
    cells = aggregate_h3(points, 6)
    point_cells = h3_cells(points.geometry.x, points.geometry.y, 6)
    import h3

    row_of_cell = {cell: i for i, cell in enumerate(cells["cell"])}
    rows = np.array([row_of_cell[h3.int_to_str(int(c))] for c in point_cells])
    moved = great_circle_km(
        points.geometry.x.to_numpy(),
        points.geometry.y.to_numpy(),
        cells.geometry.x.to_numpy()[rows],
        cells.geometry.y.to_numpy()[rows],
    )
    assert np.all(moved <= cells["max_error_km"].to_numpy()[rows])
    bound = cells.attrs["netplan_aggregation"]["max_error_km"]
    assert 3.0 < bound < 4.5  # resolution 6 cells: edge about 3.7 km
    assert moved.max() > 0.5 * bound  # the bound is not loose by orders of magnitude


def test_aggregate_h3_keeps_grades_apart() -> None:
    points = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "weight": [1.0, 2.0, 4.0], "grade": ["A", "B", "A"]},
        geometry=gpd.points_from_xy([104.0, 104.0001, 104.0002], [30.5, 30.5, 30.5]),
        crs="EPSG:4326",
    )
    cells = aggregate_h3(points, 5)
    assert cells["grade"].tolist() == ["A", "B"]
    assert cells["weight"].tolist() == [5.0, 2.0]
    assert cells["id"].tolist() == [f"{cells['cell'][0]}/A", f"{cells['cell'][0]}/B"]


@pytest.mark.parametrize("resolution", [-1, 16, 2.5, True])
def test_aggregate_h3_rejects_bad_resolution(resolution: object) -> None:
    with pytest.raises(ValueError, match="H3 resolution must be an integer from 0 to 15"):
        aggregate_h3(_random_points(10), resolution)  # type: ignore[arg-type]


def test_aggregate_h3_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="nothing to aggregate"):
        aggregate_h3(_random_points(10).iloc[:0], 7)


# --------------------------------------------------------------------------- coverage engines

N_POINTS = 200_000
N_SMALL = 30_000


def _write_case(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write clustered demand (CSV), customers (CSV) and sites (CSV) over China."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform([100.0, 22.0], [120.0, 40.0], size=(60, 2))
    which = rng.integers(0, 60, n)
    lon = centres[which, 0] + rng.normal(0.0, 0.6, n)
    lat = centres[which, 1] + rng.normal(0.0, 0.4, n)
    base = pd.DataFrame(
        {
            "id": [f"IB{i:07d}" for i in range(n)],
            "lon": lon.round(6),
            "lat": lat.round(6),
            "units": rng.integers(1, 6, n),
            "product": rng.choice(["excavator", "crane", "loader"], n),
            "grade": rng.choice(["A", "B", "C"], n),
            "province": rng.choice(["四川", "陕西", "江苏"], n),
        }
    )
    n_sites = 300
    chosen = rng.integers(0, n, n_sites)
    sites = pd.DataFrame(
        {
            "id": [f"S{i:04d}" for i in range(n_sites)],
            "lon": (lon[chosen] + 0.01).round(6),
            "lat": lat[chosen].round(6),
            "tier": rng.choice(
                ["regional_hub", "city_station", "community_point", "partner"],
                n_sites,
                p=[0.05, 0.45, 0.4, 0.1],
            ),
            "status": rng.choice(
                ["existing", "candidate", "closed", "required"], n_sites, p=[0.7, 0.2, 0.05, 0.05]
            ),
        }
    )
    customers = base[["id", "lon", "lat"]].iloc[::10].assign(id=lambda f: "C" + f["id"])
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "installed_base.csv", folder / "customers.csv", folder / "sites.csv"
    base.to_csv(paths[0], index=False)
    customers.to_csv(paths[1], index=False)
    sites.to_csv(paths[2], index=False)
    return paths


@pytest.fixture(scope="module")
def small_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    folder = tmp_path_factory.mktemp("small")
    base, customers, sites = _write_case(folder, N_SMALL, seed=1)
    convert_to_geoparquet(
        base, folder / "base.parquet", kind="installed-base", rows_per_partition=N_SMALL // 3
    )
    return base, customers, sites, folder / "base.parquet"


@pytest.fixture(scope="module")
def large_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("large")
    base, _, sites = _write_case(folder, N_POINTS, seed=2)
    convert_to_geoparquet(
        base, folder / "base.parquet", kind="installed-base", rows_per_partition=N_POINTS // 4
    )
    return folder / "base.parquet", sites


def test_local_engine_equals_in_memory(
    small_case: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    base, customers, sites_csv, _ = small_case
    scenario = default_scenario()
    sites = read_points(sites_csv, kind="sites")
    demand = read_points(base, kind="installed-base")
    whole = coverage_from_points(demand, sites, scenario, customers=read_points(customers))
    streamed = coverage_local(
        base, sites, scenario, kind="installed-base", customers=customers, chunk_rows=7_000
    )
    assert streamed.summary() == whole.summary()
    assert streamed.points.astype(object).equals(
        pd.DataFrame(whole.points.drop(columns="geometry")).astype(object)
    )
    for fmt in ("csv", "geojson", "gpkg"):
        a = whole.to_files(tmp_path / "whole", fmt=fmt)
        b = streamed.to_files(tmp_path / "streamed", fmt=fmt)
        for name in ("coverage", "blindspots", "summary"):
            assert filecmp.cmp(a[name], b[name], shallow=False), (fmt, name)
    a = whole.to_files(tmp_path / "whole", fmt="parquet")["coverage"]
    b = streamed.to_files(tmp_path / "streamed", fmt="parquet")["coverage"]
    assert_geodataframe_equal(gpd.read_parquet(b), gpd.read_parquet(a), check_dtype=False)
    assert pq.ParquetFile(b).metadata.num_rows == N_SMALL


def test_dask_equals_local_on_four_partitions(large_case: tuple[Path, Path]) -> None:
    dataset, sites_csv = large_case
    scenario = default_scenario()
    sites = read_points(sites_csv, kind="sites")
    local = coverage_local(dataset, sites, scenario)
    done: list[tuple[int, int]] = []
    with dask_client(workers=2, processes=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        distributed = coverage_dask(
            dataset, sites, scenario, client=client, progress=lambda d, t: done.append((d, t))
        )
        cells = aggregate_h3_dask(dataset, 7, client=client)
    assert done[-1] == (4, 4)
    assert distributed.summary() == local.summary()
    assert distributed.points.equals(local.points)
    assert distributed.summary()["n_demand"] == N_POINTS
    assert 0.0 < distributed.summary()["weighted_coverage_rate"] < 1.0
    assert_geodataframe_equal(cells, aggregate_h3_local(dataset, 7, chunk_rows=50_000))
    assert_geodataframe_equal(cells, aggregate_h3(gpd.read_parquet(dataset), 7))


@pytest.fixture
def tcp_scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_cli_dask_engine_on_a_scheduler_equals_local(
    small_case: tuple[Path, Path, Path, Path], tcp_scheduler: str, tmp_path: Path
) -> None:
    base, customers, sites, dataset = small_case
    assert tcp_scheduler.startswith("tcp://127.0.0.1:")
    runner = CliRunner()
    common = ["coverage", "--demand", str(customers), "--sites", str(sites), "--format", "csv"]
    memory = runner.invoke(
        app, [*common, "--installed-base", str(base), "--out", str(tmp_path / "m")]
    )
    assert memory.exit_code == 0, memory.output
    on_cluster = runner.invoke(
        app,
        [
            *common,
            "--installed-base",
            str(dataset),
            "--out",
            str(tmp_path / "d"),
            "--engine",
            "dask",
            "--scheduler",
            tcp_scheduler,
        ],
    )
    assert on_cluster.exit_code == 0, on_cluster.output
    streamed = runner.invoke(
        app, [*common, "--installed-base", str(dataset), "--out", str(tmp_path / "l")]
    )
    assert streamed.exit_code == 0, streamed.output
    for name in ("coverage.csv", "blindspots.geojson", "summary.json"):
        assert filecmp.cmp(tmp_path / "m" / name, tmp_path / "d" / name, shallow=False), name
        assert filecmp.cmp(tmp_path / "m" / name, tmp_path / "l" / name, shallow=False), name


def test_streams_decides_by_size(small_case: tuple[Path, Path, Path, Path]) -> None:
    base, _, _, dataset = small_case
    assert streams(dataset)
    assert not streams(base)
    assert not streams(dataset / "part-00000.parquet")


def test_engines_refuse_a_matrix(small_case: tuple[Path, Path, Path, Path]) -> None:
    base, _, sites, _ = small_case
    with pytest.raises(ConfigError, match="do not take a cost matrix"):
        coverage_local(base, read_points(sites, kind="sites"), default_scenario(), matrix="m.csv")


def test_dask_engine_wants_a_dataset_folder(
    tmp_path: Path, small_case: tuple[Path, Path, Path, Path]
) -> None:
    _, _, sites, _ = small_case
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="reads a dataset written by `netplan convert`"):
        coverage_dask(tmp_path / "empty", read_points(sites, kind="sites"), default_scenario())


def test_unreachable_scheduler_is_one_error(
    monkeypatch: pytest.MonkeyPatch, small_case: tuple[Path, Path, Path, Path]
) -> None:
    import netplan.scale

    _, _, sites, dataset = small_case
    monkeypatch.setattr(netplan.scale, "_CONNECT_TIMEOUT", "0.5s")
    with pytest.raises(
        ConfigError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9: "
    ):
        coverage_dask(
            dataset,
            read_points(sites, kind="sites"),
            default_scenario(),
            scheduler="tcp://127.0.0.1:9",
        )


def test_cli_scheduler_needs_dask_engine(
    small_case: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    base, _, sites, _ = small_case
    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--demand",
            str(base),
            "--sites",
            str(sites),
            "--out",
            str(tmp_path),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2
    assert "--scheduler and --workers need --engine dask" in result.output


def test_path_from_a_large_file_to_a_plan(small_case: tuple[Path, Path, Path, Path]) -> None:
    """Dataset → exact H3 aggregation → tiered MILP → exact re-evaluation on the raw points."""
    from netplan.locate import PlanOptions, plan_from_points

    _, _, sites_csv, dataset = small_case
    scenario = default_scenario()
    sites = read_points(sites_csv, kind="sites", scenario=scenario)
    cells = aggregate_h3_local(dataset, 5)
    assert len(cells) < N_SMALL / 1.5
    assert cells["weight"].sum() == pytest.approx(
        coverage_local(dataset, sites, scenario).summary()["total_weight"]
    )
    options = PlanOptions(objective="max_coverage", budget=8_000_000, support_chain=False)
    plan = plan_from_points(cells, sites, scenario, options=options, time_limit=60)
    assert plan.status == "optimal"
    opened = int((plan.sites["decision"] == "opened").sum())
    assert opened > 0
    network = network_from_plan(plan.sites)
    assert (network["status"] == "existing").sum() == len(plan.open_sites)
    before = coverage_local(dataset, sites, scenario, blindspots=None).summary()
    after = coverage_local(dataset, network, scenario, blindspots=None).summary()
    assert after["weighted_coverage_rate"] > before["weighted_coverage_rate"]
    # The plan's own estimate (on cells) is off by at most what moving points by the
    # aggregation's error bound can change; here well under 5 points of coverage.
    assert abs(after["weighted_coverage_rate"] - plan.after["weighted_coverage_rate"]) < 0.05


def test_scheduler_wants_a_shared_dataset_folder(small_case: tuple[Path, Path, Path, Path]) -> None:
    base, _, sites, dataset = small_case
    gdf_sites = read_points(sites, kind="sites")
    with pytest.raises(ConfigError, match="convert it first"):
        coverage_dask(base, gdf_sites, default_scenario(), scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match="with --scheduler the cluster has its own workers"):
        coverage_dask(
            dataset, gdf_sites, default_scenario(), scheduler="tcp://127.0.0.1:9", workers=2
        )
