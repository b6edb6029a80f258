"""Tests of the streaming readers and `netplan convert`: chunks equal whole-file reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from geopandas.testing import assert_geodataframe_equal
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import Scenario
from netplan.errors import InputError
from netplan.io import read_points
from netplan.stream import (
    DATASET_MANIFEST,
    convert_to_geoparquet,
    dataset_files,
    iter_points,
    read_dataset_manifest,
)


def _installed_base_rows(n: int, seed: int = 0) -> list[list[object]]:
    rng = np.random.default_rng(seed)
    rows: list[list[object]] = [["id", "经度", "纬度", "units", "product", "install_year", "城市"]]
    products = ["excavator", "crane", "loader"]
    for i in range(n):
        rows.append(
            [
                f"IB{i:06d}",
                f"{rng.uniform(100, 120):.6f}",
                f"{rng.uniform(22, 40):.6f}",
                int(rng.integers(1, 5)),
                products[i % 3],
                int(rng.integers(2010, 2026)),
                "成都" if i % 2 else "",
            ]
        )
    return rows


def _as_objects(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Text columns as objects with None for missing (Parquet gives `str` with NaN)."""
    out = gdf.copy()
    for column in out.columns:
        if column != out.geometry.name and not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def _concat(chunks: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    whole = pd.concat(chunks)
    assert isinstance(whole, gpd.GeoDataFrame)
    return whole


@pytest.mark.parametrize(
    ("delimiter", "encoding"), [(",", "utf-8"), (";", "gb18030"), ("\t", "utf-8-sig")]
)
def test_csv_chunks_equal_whole_read(
    write_csv: Callable[..., Path], small_scenario: Scenario, delimiter: str, encoding: str
) -> None:
    path = write_csv(_installed_base_rows(2_345), delimiter=delimiter, encoding=encoding)
    whole = read_points(path, kind="installed-base", scenario=small_scenario)
    chunks = list(iter_points(path, kind="installed-base", chunk_rows=500, scenario=small_scenario))
    assert [len(c) for c in chunks] == [500, 500, 500, 500, 345]
    assert chunks[1].index[0] == 500
    assert_geodataframe_equal(_concat(chunks), whole)


def test_csv_chunks_use_a_sample_for_detection(
    write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import netplan.io

    monkeypatch.setattr(netplan.io, "CSV_SAMPLE_BYTES", 300)  # cut inside the data
    path = write_csv(_installed_base_rows(200), delimiter=";", encoding="gb18030")
    chunks = list(iter_points(path, kind="installed-base", chunk_rows=64))
    assert_geodataframe_equal(_concat(chunks), read_points(path, kind="installed-base"))


def test_parquet_batches_equal_whole_read(tmp_path: Path, points_gdf: gpd.GeoDataFrame) -> None:
    rng = np.random.default_rng(4)
    n = 1_000
    gdf = gpd.GeoDataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "weight": rng.uniform(0, 5, n),
            "grade": ["A", "B"] * 500,
        },
        geometry=gpd.points_from_xy(rng.uniform(100, 120, n), rng.uniform(20, 40, n)),
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    path = tmp_path / "points.parquet"
    gdf.to_parquet(path, index=False, row_group_size=300)
    whole = read_points(path)
    chunks = list(iter_points(path, chunk_rows=256))
    assert_geodataframe_equal(_concat(chunks), whole)
    assert chunks[0].attrs["netplan_source"]["source_crs"] == "EPSG:3857"


def test_errors_carry_global_rows_and_every_chunk_is_checked(
    write_csv: Callable[..., Path],
) -> None:
    rows = _installed_base_rows(1_000)
    rows[1 + 150][1] = "abc"  # data row 150 → spreadsheet row 152
    rows[1 + 777][2] = "95"  # latitude out of range, row 779
    rows[1 + 900][0] = "IB000003"  # duplicate of a row in the first chunk, row 902
    path = write_csv(rows)
    with pytest.raises(InputError) as caught:
        list(iter_points(path, kind="installed-base", chunk_rows=100))
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}, row 152, column '经度': longitude 'abc' is not a number",
        f"{path}, row 779, column '纬度': latitude 95 is outside -90..90",
        f"{path}, row 902: duplicate id 'IB000003' (first at row 5); ids must be unique",
    ]
    assert caught.value.total == 3


def test_no_chunk_is_yielded_after_a_bad_one(write_csv: Callable[..., Path]) -> None:
    rows = _installed_base_rows(300)
    rows[150][1] = ""
    path = write_csv(rows)
    yielded = []
    with pytest.raises(InputError, match="row 151, column '经度': longitude is missing"):
        for chunk in iter_points(path, kind="installed-base", chunk_rows=100):
            yielded.append(len(chunk))
    assert yielded == [100]


def test_file_level_problem_is_raised_at_once(write_csv: Callable[..., Path]) -> None:
    path = write_csv([["id", "a", "b"], ["1", "2", "3"]])
    with pytest.raises(InputError, match=r"row 1: no longitude column found"):
        list(iter_points(path))


def test_header_only_csv(write_csv: Callable[..., Path]) -> None:
    path = write_csv([["id", "lon", "lat"]])
    with pytest.raises(InputError, match="the file has a header but no data rows"):
        list(iter_points(path))


def test_progress_reaches_the_total(write_csv: Callable[..., Path]) -> None:
    path = write_csv(_installed_base_rows(1_000))
    calls: list[tuple[int, int]] = []
    list(
        iter_points(
            path, kind="installed-base", chunk_rows=400, progress=lambda d, t: calls.append((d, t))
        )
    )
    assert [d for d, _ in calls] == [400, 800, 1_000]
    assert all(t >= d for d, t in calls)


# --------------------------------------------------------------------------- convert


def test_convert_writes_deterministic_partitions(
    write_csv: Callable[..., Path], tmp_path: Path, small_scenario: Scenario
) -> None:
    path = write_csv(_installed_base_rows(2_500))
    first = convert_to_geoparquet(
        path,
        tmp_path / "a",
        kind="installed-base",
        rows_per_partition=1_000,
        chunk_rows=300,
        scenario=small_scenario,
    )
    second = convert_to_geoparquet(
        path,
        tmp_path / "b",
        kind="installed-base",
        rows_per_partition=1_000,
        chunk_rows=700,
        scenario=small_scenario,
    )
    assert first.files == (
        ("part-00000.parquet", 1_000),
        ("part-00001.parquet", 1_000),
        ("part-00002.parquet", 500),
    )
    assert second.files == first.files
    for name, _ in first.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    whole = read_points(path, kind="installed-base", scenario=small_scenario)
    back = gpd.read_parquet(tmp_path / "a")
    assert_geodataframe_equal(_as_objects(back), _as_objects(whole))
    assert first.total_weight == pytest.approx(float(whole["weight"].sum()), rel=1e-12)
    manifest = read_dataset_manifest(tmp_path / "a")
    assert (
        manifest is not None
        and manifest["n_rows"] == 2_500
        and manifest["kind"] == "installed-base"
    )
    assert pq.ParquetFile(tmp_path / "a" / "part-00000.parquet").metadata.num_row_groups == 1
    assert [p.name for p in dataset_files(tmp_path / "a")] == [n for n, _ in first.files]
    # The dataset reads back through the streaming reader, unchanged.
    again = _concat(
        list(
            iter_points(
                tmp_path / "a", kind="installed-base", chunk_rows=999, scenario=small_scenario
            )
        )
    )
    assert again["id"].tolist() == whole["id"].tolist()
    assert np.array_equal(again["weight"].to_numpy(), whole["weight"].to_numpy())


def test_convert_writes_nothing_on_bad_input(
    write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    rows = _installed_base_rows(500)
    rows[400][3] = "-2"
    path = write_csv(rows)
    out = tmp_path / "dataset"
    with pytest.raises(InputError, match="row 401, column 'units': units -2 is negative"):
        convert_to_geoparquet(path, out, kind="installed-base", rows_per_partition=100)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_convert_replaces_a_dataset_but_not_other_folders(
    write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_csv(_installed_base_rows(50))
    out = tmp_path / "dataset"
    convert_to_geoparquet(path, out, rows_per_partition=20, kind="installed-base")
    convert_to_geoparquet(path, out, rows_per_partition=30, kind="installed-base")
    assert sorted(p.name for p in out.iterdir()) == [
        DATASET_MANIFEST,
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="the folder exists and is not a netplan dataset"):
        convert_to_geoparquet(path, other, kind="installed-base")
    assert (other / "notes.txt").read_text() == "keep me"


def test_cli_convert(write_csv: Callable[..., Path], tmp_path: Path) -> None:
    path = write_csv(_installed_base_rows(300))
    out = tmp_path / "base.parquet"
    result = CliRunner().invoke(
        app,
        ["convert", str(path), str(out), "--kind", "installed-base", "--rows-per-partition", "120"],
    )
    assert result.exit_code == 0, result.output
    assert "300" in result.output and "3 files" in result.output
    manifest = json.loads((out / DATASET_MANIFEST).read_text())
    assert manifest["n_partitions"] == 3


def test_cli_convert_bad_input_exit_2(write_csv: Callable[..., Path], tmp_path: Path) -> None:
    path = write_csv([["id", "lon", "lat"], ["a", "200", "30"]])
    result = CliRunner().invoke(app, ["convert", str(path), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "row 2, column 'lon': longitude 200 is outside -180..180" in result.output


def test_cli_convert_with_cells(write_csv: Callable[..., Path], tmp_path: Path) -> None:
    path = write_csv(_installed_base_rows(400))
    cells = tmp_path / "cells.csv"
    result = CliRunner().invoke(
        app,
        [
            "convert",
            str(path),
            str(tmp_path / "base"),
            "--kind",
            "installed-base",
            "--cells",
            str(cells),
            "--h3-resolution",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "H3 cells (resolution 4; no point moved more than" in result.output
    back = read_points(cells)
    whole = read_points(path, kind="installed-base")
    assert pd.to_numeric(back["n_points"]).sum() == 400
    assert back["weight"].sum() == pytest.approx(whole["weight"].sum())


@pytest.mark.parametrize("encoding", ["WKB", "geoarrow"])
def test_parquet_points_stream_as_arrays_like_shapely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    import netplan.stream as stream_module

    rng = np.random.default_rng(5)
    n = 700
    gdf = gpd.GeoDataFrame(
        {"id": [f"c{i}" for i in range(n)], "weight": rng.uniform(0, 5, n)},
        geometry=gpd.points_from_xy(rng.uniform(100, 120, n), rng.uniform(20, 40, n)),
        crs="EPSG:4326",
    )
    path = tmp_path / "points.parquet"
    gdf.to_parquet(path, index=False, row_group_size=200, geometry_encoding=encoding)
    decoded: list[int] = []
    original = stream_module.point_coordinates

    def counting(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        decoded.append(result is not None)
        return result

    monkeypatch.setattr(stream_module, "point_coordinates", counting)
    fast = list(iter_points(path, chunk_rows=256))
    assert decoded and all(decoded)
    monkeypatch.setattr(stream_module, "point_coordinates", lambda *a, **k: None)
    slow = list(iter_points(path, chunk_rows=256))
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert_geodataframe_equal(a, b)
        assert a.attrs == b.attrs


def test_chunks_without_geometry_hold_lon_lat(write_csv: Callable[..., Path]) -> None:
    rows = _installed_base_rows(300)
    path = write_csv(rows, "base.csv")
    with_geometry = list(iter_points(path, kind="installed-base", chunk_rows=128))
    light = list(iter_points(path, kind="installed-base", chunk_rows=128, geometry=False))
    assert len(light) == len(with_geometry)
    for a, b in zip(with_geometry, light, strict=True):
        assert not isinstance(b, gpd.GeoDataFrame)
        assert list(b.columns) == [c for c in a.columns if c != "geometry"] + ["lon", "lat"]
        np.testing.assert_array_equal(b["lon"].to_numpy(), a.geometry.x.to_numpy())
        np.testing.assert_array_equal(b["lat"].to_numpy(), a.geometry.y.to_numpy())
        pd.testing.assert_frame_equal(
            b.drop(columns=["lon", "lat"]), pd.DataFrame(a.drop(columns="geometry"))
        )
        assert b.attrs == a.attrs
