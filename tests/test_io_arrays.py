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


# --------------------------------------------------------------------------- Arrow CSV reads


def _big_csv(rows: list[str], header: str = "id,lon,lat,weight,name") -> bytes:
    """A CSV over the (lowered) sample size: the rows given, then plain rows."""
    plain = [f"p{i},{100 + i / 1000:.6f},{30 + i / 1000:.6f},{i % 5},n{i}" for i in range(300)]
    return ("\n".join([header, *rows, *plain]) + "\n").encode()


_CSV_CASES = {
    "plain": _big_csv([]),
    "crlf": _big_csv([]).replace(b"\n", b"\r\n"),
    "bom": b"\xef\xbb\xbf" + _big_csv([]),
    "quoted": _big_csv(['"q1","101.5","31.5","2","a, b"', 'q2,101,31,1,""']),
    "newline in a cell": _big_csv(['q1,101,31,1,"two\nlines"']),
    "empty cells": _big_csv(["q1,101,31,,", "q2,,31,1,x"]),
    "blank lines": _big_csv(["", "q1,101,31,1,x", ""]),
    "initial space": _big_csv(["q1, 101,31,1,x"]),
    "ragged": _big_csv(["q1,101,31,1,x,extra"]),
    "short row": _big_csv(["q1,101,31"]),
    "bad numbers": _big_csv(["q1,x,31,1,a", "q2,1,1,nan,b", "q3,101°E,31,1,c", "q4,101,31,1,200"]),
    "duplicate id": _big_csv(["p7,101,31,1,a"]),
    "thousands": _big_csv(['q1,101,31,"1,234",a']),
    "chinese": _big_csv(["甲,101,31,1,北京"], header="编号,经度,纬度,权重,名称"),
    "semicolons": _big_csv([]).replace(b",", b";"),
    "quoted header": _big_csv([], header='"id","lon","lat","weight","name"'),
}


def _read_both(path: object, monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], list[object]]:
    """Read a CSV with the Arrow path allowed and with it refused: frames or error texts."""
    outcomes: list[list[object]] = []
    original = io._arrow_csv_frame
    for allowed in (True, False):
        monkeypatch.setattr(
            io, "_arrow_csv_frame", original if allowed else (lambda raw, delimiter: None)
        )
        try:
            frame = io.read_points(path, geometry=False)  # type: ignore[arg-type]
            outcomes.append([frame, frame.dtypes.tolist(), frame.attrs])
        except io.InputError as exc:
            outcomes.append([str(exc)])
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize("case", sorted(_CSV_CASES))
def test_arrow_csv_read_equals_the_pandas_read(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    from pathlib import Path

    monkeypatch.setattr(io, "CSV_SAMPLE_BYTES", 2048)
    monkeypatch.setattr(io, "_ARROW_NUMBERS_FROM", 1)
    path = Path(str(tmp_path)) / "points.csv"
    path.write_bytes(_CSV_CASES[case])
    fast, slow = _read_both(path, monkeypatch)
    if len(fast) == 1 or len(slow) == 1:
        assert fast == slow
        return
    assert fast[1:] == slow[1:]
    pd.testing.assert_frame_equal(fast[0], slow[0])  # type: ignore[arg-type]


def test_arrow_csv_read_is_used_on_large_plain_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "CSV_SAMPLE_BYTES", 2048)
    frame = io._arrow_csv_frame(_CSV_CASES["plain"], ",")
    assert frame is not None and len(frame) == 300
    assert io._arrow_csv_frame(_CSV_CASES["initial space"], ",") is None
    assert io._arrow_csv_frame(_CSV_CASES["ragged"], ",") is None


def test_arrow_numbers_match_pandas() -> None:
    rng = np.random.default_rng(3)
    cells = [f"{v:.{d}f}" for d in range(12) for v in rng.uniform(-200, 200, 2000)]
    cells += [
        repr(float(v)) for v in rng.standard_normal(2000) * 10.0 ** rng.integers(-20, 20, 2000)
    ]
    values = pd.Series([*cells, None, "1e5", "-.5"], dtype=object)
    fast = io._arrow_numbers(values)
    assert fast is not None
    expected = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    assert np.array_equal(fast, expected, equal_nan=True)
    assert io._arrow_numbers(pd.Series([*cells, " 1"], dtype=object)) is None
    assert io._arrow_numbers(pd.Series([*cells, "nan"], dtype=object)) is None


@pytest.mark.parametrize("case", sorted(_CSV_CASES))
@pytest.mark.parametrize("chunk_rows", [1, 7, 100, 1000])
def test_arrow_csv_chunks_equal_pandas_chunks(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, case: str, chunk_rows: int
) -> None:
    from pathlib import Path

    monkeypatch.setattr(io, "CSV_SAMPLE_BYTES", 2048)
    path = Path(str(tmp_path)) / "points.csv"
    path.write_bytes(_CSV_CASES[case])
    outcomes = []
    original = io._arrow_csv_chunks
    for allowed in (True, False):
        monkeypatch.setattr(io, "_arrow_csv_chunks", original if allowed else (lambda *args: None))
        try:
            outcomes.append(list(io.read_csv_chunks(path, chunk_rows=chunk_rows)))
        except io.InputError as exc:
            outcomes.append([str(exc)])
    fast, slow = outcomes
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        if isinstance(b, str):
            assert a == b
            continue
        assert a.dtypes.tolist() == b.dtypes.tolist()
        pd.testing.assert_frame_equal(a, b)
    if case == "plain":
        assert original(path, ",", chunk_rows) is not None  # the Arrow path was taken
