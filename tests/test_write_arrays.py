"""Coverage tables written from arrays are the bytes the shapely path wrote."""

from __future__ import annotations

from pathlib import Path

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
