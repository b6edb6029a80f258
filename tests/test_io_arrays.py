"""The vectorised readers give exactly what the per-cell rules give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan import io


def _reference(values: pd.Series) -> list[str | None]:
    return [io._text(v) for v in values]


def test_python_whitespace_list_is_complete() -> None:
    assert set(io._PY_SPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


_cells = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["", " ", " a ", "\u3000id\u3000", "\x1cx", "x\x85", "\ufeffx", "a b"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_cells, max_size=30))
def test_text_cells(cells: list[str | None]) -> None:
    for values in (
        pd.Series(cells, dtype=object),
        pd.Series(cells, dtype="string"),
        pd.Series(cells, dtype=pd.ArrowDtype(__import__("pyarrow").string())),
    ):
        assert list(io._texts(values)) == _reference(values)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(-(2**60), 2**60).map(float),
            st.sampled_from([0.0, -0.0, 3.0, 2.0**53, 2.0**70, 1e-7, 0.1]),
        ),
        max_size=30,
    )
)
def test_float_cells(cells: list[float]) -> None:
    values = pd.Series(cells, dtype=np.float64)
    assert list(io._texts(values)) == _reference(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=30))
def test_integer_cells(cells: list[int]) -> None:
    values = pd.Series(cells, dtype=np.int64)
    assert list(io._texts(values)) == _reference(values)
    nullable = pd.Series([*cells, None], dtype="Int64")
    assert list(io._texts(nullable)) == _reference(nullable)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([True, False]),
        pd.Series([1.5, 3.0], dtype=np.float32),
        pd.Series(["a", 3, 4.0, None, float("nan")], dtype=object),
        pd.Series(pd.Categorical(["a", " b", None])),
        pd.Series(pd.to_datetime(["2024-01-01", None])),
    ],
)
def test_other_columns(values: pd.Series) -> None:
    assert list(io._texts(values)) == _reference(values)


def test_result_is_object_series_with_index() -> None:
    values = pd.Series(["a", " ", None], index=[5, 6, 7])
    texts = io._texts(values)
    assert texts.dtype == object
    assert list(texts.index) == [5, 6, 7]
    assert list(texts) == ["a", None, None]


# --------------------------------------------------------------------------- GeoParquet points


def _frame(n: int, crs: str = "EPSG:4326") -> object:
    import geopandas as gpd

    rng = np.random.default_rng(3)
    lon = rng.uniform(100, 120, n)
    lat = rng.uniform(20, 40, n)
    gdf = gpd.GeoDataFrame(
        {"id": [f" c{i}" if i % 7 == 0 else f"c{i}" for i in range(n)], "weight": rng.random(n)},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    return gdf.to_crs(crs)


def _both_ways(path: object, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple:
    fast = io.read_points(path, **options)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr(io, "_read_geoparquet_points", lambda *a: None)
        slow = io.read_points(path, **options)  # type: ignore[arg-type]
    return fast, slow


@pytest.mark.parametrize("encoding", ["WKB", "geoarrow"])
@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857"])
def test_geoparquet_points_read_as_arrays(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, encoding: str, crs: str
) -> None:
    from geopandas.testing import assert_geodataframe_equal

    path = tmp_path / "points.parquet"  # type: ignore[operator]
    _frame(50, crs).to_parquet(path, geometry_encoding=encoding)  # type: ignore[attr-defined]
    calls = []
    original = io._read_geoparquet_points
    monkeypatch.setattr(io, "_read_geoparquet_points", lambda *a: calls.append(1) or original(*a))
    fast, slow = _both_ways(path, monkeypatch)
    assert calls  # the array path was taken
    assert_geodataframe_equal(fast, slow, check_less_precise=False)
    assert fast.attrs == slow.attrs


def test_geoparquet_other_geometries_go_through_shapely(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shapely
    from geopandas.testing import assert_geodataframe_equal

    gdf = _frame(10)
    geometry = gdf.geometry.to_numpy().copy()  # type: ignore[attr-defined]
    geometry[3] = shapely.buffer(geometry[3], 0.1)
    gdf = gdf.set_geometry(geometry)  # type: ignore[attr-defined]
    path = tmp_path / "mixed.parquet"  # type: ignore[operator]
    gdf.to_parquet(path)
    table = __import__("pyarrow.parquet").parquet.read_table(path)
    assert io._read_geoparquet_points(path, table.schema) is None
    with pytest.warns(io.InputWarning, match="centroid"):
        fast, slow = _both_ways(path, monkeypatch)
    assert_geodataframe_equal(fast, slow)


def test_geoparquet_empty_point_reported(tmp_path: object) -> None:
    import shapely

    gdf = _frame(5)
    geometry = gdf.geometry.to_numpy().copy()  # type: ignore[attr-defined]
    geometry[2] = shapely.Point()
    path = tmp_path / "empty.parquet"  # type: ignore[operator]
    gdf.set_geometry(geometry).to_parquet(path)  # type: ignore[attr-defined]
    with pytest.raises(io.InputError, match="missing or empty"):
        io.read_points(path)


def test_point_coordinates_of_wkb_and_geoarrow() -> None:
    import pyarrow as pa
    import shapely

    lon = np.array([1.5, -2.25, 179.0])
    lat = np.array([0.0, 45.5, -89.0])
    wkb = pa.array(list(shapely.to_wkb(shapely.points(lon, lat))), type=pa.binary())
    struct = pa.StructArray.from_arrays([pa.array(lon), pa.array(lat)], names=["x", "y"])
    for values in (wkb, struct, pa.chunked_array([wkb[:1], wkb[1:]])):
        xy = io.point_coordinates(values, exact=True)
        assert xy is not None
        np.testing.assert_array_equal(xy[0], lon)
        np.testing.assert_array_equal(xy[1], lat)
    big_endian = pa.array(list(shapely.to_wkb(shapely.points(lon, lat), byte_order=0)))
    assert io.point_coordinates(big_endian, exact=True) is None
    xy = io.point_coordinates(big_endian)
    assert xy is not None
    np.testing.assert_array_equal(xy[0], lon)
