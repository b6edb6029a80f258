"""Regression tests of issue 11 (input side): every class of wrong answer or crash found
by trying to break netplan 0.1 ends in a correct result or a one-line error."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import Scenario
from netplan.demand import demand_weights
from netplan.errors import InputError
from netplan.io import numbers_from_cells, read_customers, read_installed_base
from netplan.reach import read_matrix

WriteCsv = Callable[..., Path]


# --------------------------------------------------------------------------- numbers read two ways


def test_grouped_install_year_and_age_weight_the_demand(
    write_csv: WriteCsv, small_scenario: Scenario
) -> None:
    # "2,020" passes validation, so the weight must use 2020 (age 6: factor 2), not "missing".
    path = write_csv(
        [
            ["id", "lon", "lat", "units", "product", "install_year"],
            ["a", 116.4, 39.9, 1, "excavator", "2,020"],
            ["b", 116.5, 39.9, "1,000", "excavator", "2020"],
        ]
    )
    gdf = read_installed_base(path, scenario=small_scenario)
    assert gdf["weight"].tolist() == [2.0 * 2.0, 1000 * 2.0 * 2.0]
    aged = write_csv(
        [["id", "lon", "lat", "units", "age_years"], ["a", 116.4, 39.9, 1, "1,006"]],
        name="aged.csv",
    )
    assert read_installed_base(aged, scenario=small_scenario)["weight"].tolist() == [0.5 * 2.0]


def test_demand_weights_read_numbers_as_the_reader_does(small_scenario: Scenario) -> None:
    frame = pd.DataFrame({"units": ["1,000", "2"], "install_year": ["2,025", " 2021 "]})
    assert demand_weights(frame, small_scenario.demand).tolist() == [
        1000 * 0.5 * 0.5,
        2 * 0.5 * 1.0,
    ]


def test_numbers_from_cells_is_the_reader_parser() -> None:
    values = numbers_from_cells(pd.Series(["1,234.5", "7", None, "x", "nan"]), "weight")
    assert values[:2].tolist() == [1234.5, 7.0]
    assert np.isnan(values[2:]).all()


def test_matrix_costs_with_thousands_separators(write_csv: WriteCsv) -> None:
    path = write_csv([["demand_id", "site_id", "cost"], ["a", "s", "1,200"]], name="m.csv")
    assert read_matrix(path)["cost"].tolist() == [1200.0]


# --------------------------------------------------------------------------- datetime weights


def test_datetime_weight_column_in_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "points.parquet"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "lon": [116.4, 121.5],
            "lat": [39.9, 31.2],
            "weight": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    ).to_parquet(path)
    with pytest.raises(InputError, match=r"row 1, column 'weight': weight is a date/time value"):
        read_customers(path)


# --------------------------------------------------------------------------- empty matrix


def test_header_only_matrix_is_refused(write_csv: WriteCsv) -> None:
    path = write_csv([["demand_id", "site_id", "cost"]], name="m.csv")
    with pytest.raises(InputError, match="header but no rows"):
        read_matrix(path)


# --------------------------------------------------------------------------- non-regular inputs


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".geojson"])
def test_fifo_input_is_refused_without_blocking(tmp_path: Path, suffix: str) -> None:
    fifo = tmp_path / f"points{suffix}"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a pipe \(FIFO\), not a regular file"):
        read_customers(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_matrix(fifo)


# --------------------------------------------------------------------------- helpers for the CLI

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
METRO = SAMPLES / "metro"


def run(*args: str | Path) -> tuple[int, str]:
    """Run the CLI; return the exit code and stderr."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stderr


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


# ---------------------------------------------------------------- huge and non-finite numbers


def test_weights_of_1e15_or_more_are_refused(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "weight"], ["a", 116.4, 39.9, "1e15"]])
    with pytest.raises(InputError, match=r"row 2, column 'weight': weight 1e\+15 is too large"):
        read_customers(path)


def test_units_whose_weight_overflows_are_refused(
    write_csv: WriteCsv, small_scenario: Scenario
) -> None:
    path = write_csv(
        [["id", "lon", "lat", "units"], ["a", 116.4, 39.9, "1e300"], ["b", 116.4, 39.9, "1e308"]]
    )
    with pytest.raises(InputError, match="too large") as caught:
        read_installed_base(path, scenario=small_scenario)
    assert {p.row for p in caught.value.problems} == {2, 3}


@pytest.mark.parametrize(
    ("option", "value"),
    [("--budget", "nan"), ("--budget", "inf"), ("--time-limit", "nan"), ("--gap", "nan")],
)
def test_non_finite_number_options_exit_2_naming_the_option(
    tmp_path: Path, option: str, value: str
) -> None:
    code, stderr = run(
        "optimize", "--demand", METRO / "customers.csv", "--sites", METRO / "sites.csv",
        "--config", METRO / "scenario.toml", "--out", tmp_path / "out", option, value,
    )  # fmt: skip
    assert code == 2
    assert option in stderr and "Traceback" not in stderr, stderr  # ours or click's range check
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("by", "values", "message"),
    [
        ("budget", "nan", "is not a limit"),
        ("budget", "1e308", "is not a limit"),
        ("budget", ",", "--values is empty"),
        ("sites", "0.5", "not a whole number of sites"),
    ],
)
def test_frontier_values_are_checked(tmp_path: Path, by: str, values: str, message: str) -> None:
    code, stderr = run(
        "frontier", "--demand", METRO / "customers.csv", "--sites", METRO / "sites.csv",
        "--config", METRO / "scenario.toml", "--out", tmp_path / "out", "--by", by,
        "--values", values,
    )  # fmt: skip
    assert code == 2
    assert message in one_error_line(stderr)


# --------------------------------------------------------------------------- nonsense and ambiguity


def test_one_column_as_both_coordinates_is_refused(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat"], ["a", 116.4, 39.9]])
    with pytest.raises(InputError, match="'lat' is named as both the longitude and the latitude"):
        read_customers(path, lon_col="lat", lat_col="lat")


@pytest.mark.parametrize(
    ("header", "option"),
    [
        (["id", "lon", "longitude", "lat"], "--lon"),
        (["id", "lon", "lat", "y"], "--lat"),
        (["id", "编号", "lon", "lat"], "--id"),
        (["id", "lon", "lat", "weight", "权重"], "--weight"),
    ],
)
def test_two_candidate_columns_are_ambiguous(
    write_csv: WriteCsv, header: list[str], option: str
) -> None:
    row = ["a", 116.4, 116.4, 39.9, 1][: len(header)]
    path = write_csv([header, row])
    with pytest.raises(InputError, match=rf"both '.+' and '.+' could be .*with {option}"):
        read_customers(path)


def test_naming_the_column_resolves_the_ambiguity(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "longitude", "lat"], ["a", 116.4, 0.0, 39.9]])
    assert read_customers(path, lon_col="lon").geometry.x.tolist() == [116.4]


def test_projected_crs_on_degrees_is_refused(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat"], ["a", 116.4, 39.9], ["b", 121.5, 31.2]])
    with pytest.raises(InputError, match=r"--crs EPSG:3857 is a projected CRS .* in degrees"):
        read_customers(path, crs="EPSG:3857")


def test_projected_crs_on_metres_is_read(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "x", "y"], ["a", 12958000.0, 4852000.0]])
    lon = read_customers(path, crs="EPSG:3857").geometry.x.tolist()
    assert lon == pytest.approx([116.4], abs=0.05)


def test_geojson_declaring_an_unknown_crs_is_refused(write_file: Callable[..., Path]) -> None:
    path = write_file(
        "points.geojson",
        '{"type":"FeatureCollection","crs":{"type":"name","properties":'
        '{"name":"urn:ogc:def:crs:EPSG::99999"}},"features":[{"type":"Feature",'
        '"properties":{"id":"a"},"geometry":{"type":"Point","coordinates":[116.4,39.9]}}]}',
    )
    with pytest.raises(InputError, match="declares the CRS 'urn:ogc:def:crs:EPSG::99999'"):
        read_customers(path)


def test_geopackage_with_several_layers_needs_a_layer(tmp_path: Path) -> None:
    import geopandas as gpd

    path = tmp_path / "two.gpkg"
    for name, lon in (("north", 116.4), ("south", 113.3)):
        gpd.GeoDataFrame(
            {"id": [name]}, geometry=gpd.points_from_xy([lon], [30.0]), crs=4326
        ).to_file(path, layer=name)
    with pytest.raises(InputError, match=r"2 layers \(north, south\); .* --layer"):
        read_customers(path)
    assert read_customers(path, layer="south")["id"].tolist() == ["south"]
    code, stderr = run("validate", path)
    assert code == 2 and "--layer" in one_error_line(stderr)
    assert run("validate", path, "--layer", "north")[0] == 0


# --------------------------------------------------------------------------- NaN in geometries


def test_nan_coordinates_in_a_geojson_geometry_name_the_feature(
    write_file: Callable[..., Path],
) -> None:
    path = write_file(
        "points.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},'
        '"geometry":{"type":"Point","coordinates":[116.4,39.9]}},{"type":"Feature",'
        '"properties":{"id":"b"},"geometry":{"type":"Point","coordinates":[NaN,39.9]}}]}',
    )
    with pytest.raises(InputError, match=r"row 2, column 'geometry': geometry has NaN"):
        read_customers(path)


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet"])
def test_nan_coordinates_in_gpkg_and_geoparquet(tmp_path: Path, suffix: str) -> None:
    import geopandas as gpd
    import shapely

    path = tmp_path / f"points{suffix}"
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"]}, geometry=shapely.points([116.4, 1.0], [39.9, np.nan]), crs=4326
    )
    if suffix == ".gpkg":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: "NaN coordinate"
            gdf.to_file(path)
    else:
        gdf.to_parquet(path)
    with pytest.raises(InputError, match=r"row 2, column 'geometry': geometry has NaN"):
        read_customers(path)


# --------------------------------------------------------------------------- hand-edited outputs


@pytest.fixture(scope="module")
def output_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run coverage, optimize and compare once on the metro sample."""
    root = tmp_path_factory.mktemp("outputs")
    common = ["--sites", METRO / "sites.csv", "--config", METRO / "scenario.toml"]
    demand = ["--demand", METRO / "customers.csv"]
    assert run("coverage", *demand, *common, "--out", root / "coverage")[0] == 0
    code, _ = run("optimize", *demand, *common, "--out", root / "plan", "--budget", "1e6")
    assert code == 0
    assert run("compare", root / "coverage", root / "plan", "--json", root / "cmp.json")[0] == 0
    return {"coverage": root / "coverage", "plan": root / "plan", "compare": root / "cmp.json"}


def _edited(folder: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """Copy ``folder`` and rewrite its summary.json as ``edit`` returns it (1e999 kept literal)."""
    import json
    import shutil

    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    summary = copy / "summary.json"
    data = edit(json.loads(summary.read_text(encoding="utf-8")))
    text = json.dumps(data).replace('"__1e999__"', "1e999")
    summary.write_text(text, encoding="utf-8")
    return copy


def _set(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: {**data, **changes}


@pytest.mark.parametrize(
    ("kind", "edit", "message"),
    [
        ("coverage", lambda _: {}, "is not a summary of `netplan coverage` (empty)"),
        ("plan", lambda _: {}, "is not a summary of `netplan optimize` (empty)"),
        ("coverage", None, "is a `netplan compare` output"),
        (
            "coverage",
            _set(weighted_coverage_rate=5),
            "`weighted_coverage_rate` is 5, not a rate from 0 to 1",
        ),
        ("coverage", _set(total_weight=-3.0), "`total_weight` is -3, but it cannot be negative"),
        ("coverage", _set(covered_weight=math.nan), "`covered_weight` is nan"),
        ("plan", _set(objective="__1e999__"), "`objective` is inf"),
        ("plan", _set(after=[]), "`after` must be an object"),
    ],
)
@pytest.mark.parametrize("command", ["report", "compare", "map"])
def test_hand_edited_summaries_exit_2_naming_folder_and_key(
    output_folders: dict[str, Path],
    tmp_path: Path,
    kind: str,
    edit: Callable[[dict[str, Any]], Any] | None,
    message: str,
    command: str,
) -> None:
    import json

    compare_data = json.loads(output_folders["compare"].read_text(encoding="utf-8"))
    folder = _edited(output_folders[kind], tmp_path, edit or (lambda _: compare_data))
    args: list[str | Path]
    if command == "compare":
        other = output_folders["plan" if kind == "coverage" else "coverage"]
        args = ["compare", folder, other]
    else:
        args = [command, f"--{kind}", folder, "--out", tmp_path / "out.html"]
    code, stderr = run(*args)
    line = one_error_line(stderr)
    assert code == 2
    assert str(folder / "summary.json") in line and message in line, line


# --------------------------------------------------------------------------- paths that crashed

GBK_NAME = os.fsdecode("客户.csv".encode("gbk"))  # as a Chinese Windows archive unpacks


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_input_named_in_gbk_is_read_and_shown_decoded(tmp_path: Path) -> None:
    import json
    import shutil

    demand = tmp_path / GBK_NAME
    shutil.copy(METRO / "customers.csv", demand)
    code, stderr = run(
        "coverage", "--demand", demand, "--sites", METRO / "sites.csv",
        "--config", METRO / "scenario.toml", "--out", tmp_path / "out",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["demand_file"] == str(tmp_path / "客户.csv")
    code, stderr = run("convert", demand, tmp_path / "dataset")
    assert code == 0, stderr


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_output_named_in_gbk_exits_2(tmp_path: Path) -> None:
    code, stderr = run(
        "coverage", "--demand", METRO / "customers.csv", "--sites", METRO / "sites.csv",
        "--out", tmp_path / GBK_NAME,
    )  # fmt: skip
    assert code == 2
    assert "the name is not valid UTF-8" in one_error_line(stderr)
    assert not (tmp_path / GBK_NAME).exists()


@pytest.mark.parametrize("case", ["dangling", "loop", "loop-parent", "too-long"])
def test_unusable_out_paths_exit_2(tmp_path: Path, case: str) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "missing" / "folder")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    out = {
        "dangling": tmp_path / "dangling",
        "loop": tmp_path / "loop1",
        "loop-parent": tmp_path / "loop1" / "out",
        "too-long": tmp_path / ("a" * 300),
    }[case]
    for args in (
        ["coverage", "--demand", METRO / "customers.csv", "--sites", METRO / "sites.csv"],
        ["map", "--demand", METRO / "customers.csv"],
    ):
        code, stderr = run(*args, "--out", out)
        line = one_error_line(stderr)
        assert code == 2
        assert "too long" in line if case == "too-long" else "leads nowhere" in line, line
    assert (tmp_path / "loop1").is_symlink() and (tmp_path / "dangling").is_symlink()


def test_table_outputs_without_extension_name_the_formats(tmp_path: Path) -> None:
    code, stderr = run(
        "candidates", "--demand", METRO / "customers.csv", "--out", tmp_path / "candidates"
    )
    assert code == 2
    assert "has no extension; end the name with one of .csv" in one_error_line(stderr)
    code, stderr = run(
        "convert", METRO / "customers.csv", tmp_path / "dataset", "--cells", tmp_path / "cells"
    )
    assert code == 2
    assert "--cells" in one_error_line(stderr) and ".parquet" in stderr
    assert not (tmp_path / "dataset").exists()


def test_ctrl_c_while_starting_exits_130_with_one_line(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    # Wait past the bare interpreter's start-up (measured now, so a loaded machine waits
    # longer): the signal must land in netplan's start-up, not in Python's own.
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
    bare = time.perf_counter() - started
    process = subprocess.Popen(
        [sys.executable, "-m", "netplan", "validate", str(METRO / "sites.csv"), "-k", "sites"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    time.sleep(max(0.5, 2.5 * bare))  # Python is up; netplan's imports take longer than that
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    assert process.returncode == 130, text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text


def test_demand_at_the_poles_maps(write_csv: WriteCsv, tmp_path: Path) -> None:
    demand = write_csv(
        [["id", "lon", "lat"], ["north", 0, 90], ["beijing", 116.4, 39.9], ["south", 10, -90]]
    )
    sites = METRO / "sites.csv"
    assert run("coverage", "--demand", demand, "--sites", sites, "--out", tmp_path / "c")[0] == 0
    code, stderr = run("map", "--coverage", tmp_path / "c", "--out", tmp_path / "map.html")
    assert code == 0, stderr
    assert (
        "3 blind spots"
        in CliRunner()
        .invoke(
            app, ["map", "--coverage", str(tmp_path / "c"), "--out", str(tmp_path / "again.html")]
        )
        .stdout
    )


# --------------------------------------------------------------------------- DBSCAN memory guard


def test_dbscan_guard_refuses_the_reported_case(monkeypatch: pytest.MonkeyPatch) -> None:
    from netplan.blindspots import _check_dbscan_memory
    from netplan.errors import ResourceError

    # 28,000 identical points peaked at 10.6 GB; a 6.5 GB limit must refuse them up front.
    monkeypatch.setenv("NETPLAN_MEMORY_LIMIT_GB", "6.5")
    lon, lat = np.full(28_000, 104.06), np.full(28_000, 30.67)
    with pytest.raises(ResourceError, match="DBSCAN blind spots on 28,000 uncovered points"):
        _check_dbscan_memory(lon, lat, 10.0)


@pytest.mark.slow
def test_dbscan_estimate_covers_the_measured_peak() -> None:
    import json
    import subprocess
    import sys

    child = (
        "import json, resource, numpy as np, sklearn.cluster\n"
        "from netplan import blindspots\n"
        "lon, lat = np.full(4000, 104.06), np.full(4000, 30.67)\n"
        "_, estimate = blindspots.dbscan_memory_estimate(lon, lat, 10.0)\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "blindspots._dbscan_labels(lon, lat, 10.0, 1)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(json.dumps([estimate, peak - base]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env["NETPLAN_MEMORY_LIMIT_GB"] = "4"
    out = subprocess.run(
        [sys.executable, "-c", child], check=True, capture_output=True, text=True, env=env
    ).stdout
    estimate, used = json.loads(out)
    assert used <= estimate, f"DBSCAN used {used / 2**20:.0f} MB, estimated {estimate / 2**20:.0f}"


# --------------------------------------------------------------------------- time limit


def test_time_limit_overrun_is_explained(tmp_path: Path) -> None:
    import json

    result = CliRunner().invoke(
        app,
        [
            "optimize", "--demand", str(METRO / "customers.csv"),
            "--sites", str(METRO / "sites.csv"), "--config", str(METRO / "scenario.toml"),
            "--out", str(tmp_path / "plan"), "--budget", "1e6", "--time-limit", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    seconds = json.loads((tmp_path / "plan" / "summary.json").read_text(encoding="utf-8"))[
        "details"
    ]["command_seconds"]
    parts = ("reading_inputs", "reach_and_coverage", "building_model", "solving")
    assert set(seconds) == {*parts, "total"}
    assert sum(seconds[p] for p in parts) == pytest.approx(seconds["total"], abs=0.01)
    explained = "--time-limit 1 s bounds the solver; the command took" in result.stderr
    assert explained == (seconds["total"] > 2.0), result.stderr


def test_a_swallowed_ctrl_c_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # CPython reports a KeyboardInterrupt raised inside a C callback as "Exception ignored"
    # and runs on; the CLI's hook sends SIGINT again so the command's handling sees it.
    import signal
    import sys
    import threading
    import time

    from netplan import cli

    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    received = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.set())
    try:
        cli._redeliver_swallowed_interrupts()
        unraisable = type("Unraisable", (), {"exc_type": KeyboardInterrupt})()
        sys.unraisablehook(unraisable)
        deadline = time.monotonic() + 5
        while not received.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert received.is_set()
