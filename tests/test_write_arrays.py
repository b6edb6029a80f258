"""Coverage tables written from arrays are the bytes the shapely path wrote."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from netplan import io, scale


def test_point_wkb_is_shapely_wkb() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-180, 180, 500), [0.0, -0.0, 1e-300, 180.0]])
    y = np.concatenate([rng.uniform(-90, 90, 500), [0.0, 0.0, -1e-300, -90.0]])
    expected = shapely.to_wkb(shapely.points(x, y), byte_order=1)
    assert io.point_wkb(x, y).to_pylist() == list(expected)
    decoded = io.point_coordinates(io.point_wkb(x, y), exact=True)
    assert decoded is not None
    np.testing.assert_array_equal(decoded[0], x)
    assert io.point_wkb(x[:0], y[:0]).to_pylist() == []


@pytest.mark.parametrize("rows", [0, 1, 7, 23])
def test_streamed_parquet_writer_bytes_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    rng = np.random.default_rng(rows)
    points = pd.DataFrame(
        {
            "id": pd.Series([f"p{i}" for i in range(rows)], dtype=object),
            "lon": rng.uniform(100, 120, rows),
            "lat": np.where(np.arange(rows) % 5 == 0, 0.0, rng.uniform(20, 40, rows)),
            "weight": rng.uniform(0, 3, rows),
            "nearest_site": pd.Series([None if i % 3 == 0 else f"s{i}" for i in range(rows)]),
            "covered": np.arange(rows) % 2 == 0,
            "n_covering": np.arange(rows, dtype=np.int64),
        }
    )
    monkeypatch.setattr(scale, "_WRITE_ROWS", 5)
    old = tmp_path / "old.parquet"
    new = tmp_path / "new.parquet"
    scale._write_geoparquet_pieces(scale._point_pieces(points), old)
    scale._write_geoparquet_arrays(points, new)
    assert new.read_bytes() == old.read_bytes()


# --------------------------------------------------------------------------- whole tables


def _frames(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(100, 120, rows)
    y = rng.uniform(20, 40, rows)
    frame = pd.DataFrame(
        {
            "id": pd.Series([f"p{i}" for i in range(rows)], dtype=object),
            "lon": x,
            "lat": y,
            "weight": rng.uniform(0, 3, rows),
            "site": pd.Series([None if i % 3 else f"s{i}" for i in range(rows)], dtype=object),
            "covered": np.arange(rows) % 2 == 0,
            "n": np.arange(rows, dtype=np.int64),
        }
    )
    return frame, x, y


@pytest.mark.parametrize("rows", [0, 1, 9, 2000])
def test_point_geoparquet_is_the_bytes_geopandas_writes(tmp_path: Path, rows: int) -> None:
    import geopandas as gpd

    frame, x, y = _frames(rows, rows)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
    gdf.to_parquet(tmp_path / "geopandas.parquet", index=False)
    assert io.write_point_geoparquet(gdf, tmp_path / "gdf.parquet")
    assert io.write_point_geoparquet(frame, tmp_path / "arrays.parquet", x, y)
    expected = (tmp_path / "geopandas.parquet").read_bytes()
    assert (tmp_path / "gdf.parquet").read_bytes() == expected
    assert (tmp_path / "arrays.parquet").read_bytes() == expected
    # Frame attributes and another CRS, as geopandas stores them.
    projected = gdf.to_crs("EPSG:3857")
    projected.attrs["note"] = {"k": 1}
    projected.to_parquet(tmp_path / "geopandas.parquet", index=False)
    assert io.write_point_geoparquet(projected, tmp_path / "gdf.parquet")
    assert (tmp_path / "gdf.parquet").read_bytes() == (tmp_path / "geopandas.parquet").read_bytes()


def test_point_geoparquet_declines_what_it_cannot_write(tmp_path: Path) -> None:
    import geopandas as gpd

    frame, _, _ = _frames(4, 1)
    mixed = gpd.GeoDataFrame(
        frame,
        geometry=[shapely.Point(1, 2), shapely.box(0, 0, 1, 1), None, shapely.Point(1, 2, 3)],
        crs="EPSG:4326",
    )
    assert not io.write_point_geoparquet(mixed, tmp_path / "a.parquet")
    empty = gpd.GeoDataFrame(frame, geometry=[shapely.Point()] * 4, crs="EPSG:4326")
    assert not io.write_point_geoparquet(empty, tmp_path / "a.parquet")
    assert not io.write_point_geoparquet(frame, tmp_path / "a.parquet")  # no lon/lat given
    assert not (tmp_path / "a.parquet").exists()
    # write_frame falls back to geopandas for those.
    io.write_frame(mixed.iloc[:2], tmp_path / "b.parquet")
    assert len(gpd.read_parquet(tmp_path / "b.parquet")) == 2


def test_group_codes_match_the_text_definition() -> None:
    from netplan.coverage import group_codes

    def by_text(values: pd.Series) -> tuple[list[int], list[str]]:
        text = values.astype(object).where(values.notna(), "(none)").map(str)
        labels = sorted(pd.unique(text))
        return pd.Categorical(text, categories=labels).codes.astype(np.int64).tolist(), labels

    cases = [
        pd.Series(["B", None, "A", "B"]),
        pd.Series([3, 1, 3, 2]),
        pd.Series([1.0, np.nan, 2.5, 1.0]),
        pd.Series(["1", 1, None, "(none)", float("nan"), 1.0], dtype=object),
        pd.Series(pd.Categorical(["a", None, "b"], categories=["z", "b", "a"])),
        pd.Series(["x", None, "y"], dtype="string"),
        pd.Series([], dtype=object),
        pd.Series([True, False, None], dtype=object),
    ]
    for values in cases:
        codes, labels = group_codes(values)
        assert (codes.tolist(), labels) == by_text(values), values


@pytest.mark.parametrize("fmt", ["csv", "parquet", "geojson", "gpkg"])
def test_coverage_of_lon_lat_demand_writes_the_same_files(tmp_path: Path, fmt: str) -> None:
    import warnings

    from netplan import coverage_from_points, load_scenario

    national = Path(__file__).resolve().parents[1] / "data" / "samples" / "national"
    scenario = load_scenario(national / "scenario.toml")
    sites = io.read_sites(national / "sites.csv", scenario=scenario)
    outputs = {}
    for geometry in (True, False):
        base = io.read_installed_base(
            national / "installed_base.csv", scenario=scenario, geometry=geometry
        )
        customers = io.read_customers(
            national / "customers.csv", scenario=scenario, geometry=geometry
        )
        assert isinstance(base, gpd.GeoDataFrame) == geometry
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = coverage_from_points(base, sites, scenario, customers=customers)
        folder = tmp_path / str(geometry)
        paths = result.to_files(folder, fmt=fmt)
        outputs[geometry] = {name: path.read_bytes() for name, path in paths.items()}
    assert outputs[True] == outputs[False]
