"""Reading points and sites from every format, validating them, writing atomically."""

from __future__ import annotations

import math
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from netplan.config import Scenario
from netplan.errors import InputError, InputWarning, Problem
from netplan.io import (
    LAT_NAMES,
    LON_NAMES,
    atomic_path,
    detect_encoding,
    read_customers,
    read_points,
    read_sites,
    write_frame,
    write_text,
)

WriteCsv = Callable[..., Path]
WriteFile = Callable[..., Path]

HEADER = ["id", "lon", "lat", "weight"]
ROWS = [["a", 116.4074, 39.9042, 2.5], ["b", 121.4737, 31.2304, 1], ["c", 104.0665, 30.5723, 0]]


def _xy(gdf: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    return [(round(p.x, 7), round(p.y, 7)) for p in gdf.geometry]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["csv", "geojson", "parquet", "gpkg"])
def test_round_trip_every_format(tmp_path: Path, points_gdf: gpd.GeoDataFrame, fmt: str) -> None:
    path = write_frame(points_gdf, tmp_path / f"points.{fmt}")
    result = read_points(path)
    assert result.crs == "EPSG:4326"
    assert list(result.columns) == ["id", "weight", "name", "geometry"]
    assert result["id"].tolist() == ["beijing", "shanghai", "chengdu"]
    assert result["weight"].tolist() == [2.5, 1.0, 0.0]
    assert result["name"].tolist() == ["北京", "上海", "成都"]
    expected = points_gdf.astype({"id": object, "name": object})
    assert_geodataframe_equal(
        result.astype({"name": object}), expected, check_less_precise=True, check_dtype=False
    )
    assert result.attrs["netplan_source"]["format"] == fmt


def test_round_trip_plain_parquet_with_lon_lat_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": [7, 8], "Longitude": [116.4, 121.5], "LATITUDE": [39.9, 31.2], "weight": [3, 4]}
    )
    path = tmp_path / "plain.parquet"
    frame.to_parquet(path)
    result = read_points(path)
    assert result["id"].tolist() == ["7", "8"]  # integer ids become "7", never "7.0"
    assert result["weight"].tolist() == [3.0, 4.0]
    assert _xy(result) == [(116.4, 39.9), (121.5, 31.2)]
    source = result.attrs["netplan_source"]
    assert (source["lon_column"], source["lat_column"]) == ("Longitude", "LATITUDE")


@pytest.mark.parametrize("fmt", ["csv", "geojson", "parquet", "gpkg"])
def test_write_frame_is_byte_identical_across_runs(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame, fmt: str
) -> None:
    first = write_frame(points_gdf, tmp_path / "one" / f"points.{fmt}").read_bytes()
    second = write_frame(points_gdf, tmp_path / "two" / f"points.{fmt}").read_bytes()
    assert first == second


def test_write_frame_csv_has_lon_lat_in_wgs84_and_wkt_for_polygons(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame
) -> None:
    projected = points_gdf.to_crs("EPSG:3857")
    projected.loc[2, "geometry"] = shapely.box(0, 0, 2000, 2000)
    path = write_frame(projected, tmp_path / "mixed.csv")
    table = pd.read_csv(path)
    assert list(table.columns) == ["id", "weight", "name", "lon", "lat", "wkt"]
    assert table.loc[0, "lon"] == pytest.approx(116.4074)
    assert table.loc[0, "lat"] == pytest.approx(39.9042)
    assert table.loc[2, "lon"] == pytest.approx(0.0089831528, rel=1e-6)  # the box's centroid
    assert table.loc[2, "wkt"].startswith("POLYGON")
    assert table.loc[0, "wkt"] == "POINT (116.4074 39.9042)"  # every row, in EPSG:4326


def test_write_frame_unknown_format(tmp_path: Path, points_gdf: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="unknown output format 'xlsx'; use one of csv, geojson"):
        write_frame(points_gdf, tmp_path / "points.xlsx")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- CSV dialects


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_csv_delimiters(write_csv: WriteCsv, delimiter: str) -> None:
    rows = [*ROWS, ["d", 113.2644, 23.1291, 4]]
    path = write_csv([[*HEADER, "note"], *[[*r, "x, y; z"] for r in rows]], delimiter=delimiter)
    result = read_points(path)
    assert result["id"].tolist() == ["a", "b", "c", "d"]
    assert result["note"].tolist() == ["x, y; z"] * 4
    assert _xy(result)[1] == (121.4737, 31.2304)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings(write_csv: WriteCsv, encoding: str) -> None:
    path = write_csv(
        [["id", "lon", "lat", "city"], ["a", 116.4, 39.9, "北京市"]], encoding=encoding
    )
    result = read_points(path)
    assert result.columns.tolist() == ["id", "weight", "city", "geometry"]  # no BOM in "id"
    assert result["city"].tolist() == ["北京市"]


def test_csv_with_windows_line_ends_blank_lines_and_padded_headers(write_file: WriteFile) -> None:
    text = " id , Lon , Lat \r\na, 116.4, 39.9\r\n\r\nb, 121.5, 31.2\r\n\r\n"
    result = read_points(write_file("excel.csv", text))
    assert result["id"].tolist() == ["a", "b"]
    assert _xy(result) == [(116.4, 39.9), (121.5, 31.2)]


def test_gb18030_csv_with_chinese_headers(write_csv: WriteCsv) -> None:
    rows = [
        ["编号", "经度", "纬度", "客户名称", "地址"],
        ["C001", 116.4074, 39.9042, "北京重工", "北京市朝阳区建国路"],
        ["C002", 104.0665, 30.5723, "成都机械", "成都市武侯区天府大道"],
    ]
    path = write_csv(rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    assert detect_encoding(path.read_bytes()) == "gb18030"
    result = read_points(path)  # 编号 is found as the id
    assert result["id"].tolist() == ["C001", "C002"]
    assert result["客户名称"].tolist() == ["北京重工", "成都机械"]
    assert result["地址"].tolist() == ["北京市朝阳区建国路", "成都市武侯区天府大道"]
    assert _xy(result) == [(116.4074, 39.9042), (104.0665, 30.5723)]
    source = result.attrs["netplan_source"]
    assert (source["lon_column"], source["lat_column"]) == ("经度", "纬度")


@pytest.mark.parametrize("name", LON_NAMES)
@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_longitude_column_detected_case_insensitively(
    write_csv: WriteCsv, name: str, case: Callable[[str], str]
) -> None:
    path = write_csv([["id", case(name), "lat"], ["a", 116.4, 39.9]])
    result = read_points(path)
    assert result.attrs["netplan_source"]["lon_column"] == case(name)
    assert _xy(result) == [(116.4, 39.9)]


@pytest.mark.parametrize("name", LAT_NAMES)
@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_latitude_column_detected_case_insensitively(
    write_csv: WriteCsv, name: str, case: Callable[[str], str]
) -> None:
    path = write_csv([["id", "lon", case(name)], ["a", 116.4, 39.9]])
    result = read_points(path)
    assert result.attrs["netplan_source"]["lat_column"] == case(name)
    assert _xy(result) == [(116.4, 39.9)]


def test_chinese_id_and_weight_columns_are_detected(write_csv: WriteCsv) -> None:
    path = write_csv(
        [["编号", "经度", "纬度", "权重"], ["k1", 116.4, 39.9, 12]], encoding="gb18030"
    )
    result = read_points(path)
    assert result["id"].tolist() == ["k1"]
    assert result["weight"].tolist() == [12.0]
    assert result.columns.tolist() == ["id", "weight", "geometry"]


def test_column_options(write_csv: WriteCsv) -> None:
    path = write_csv(
        [
            ["code", "east", "north", "calls", "lon"],
            ["k1", 116.4, 39.9, 12, 0],
            ["k2", 121.5, 31.2, 3, 0],
        ]
    )
    result = read_points(path, id_col="CODE", lon_col="East", lat_col="north", weight_col="calls")
    assert result["id"].tolist() == ["k1", "k2"]
    assert result["weight"].tolist() == [12.0, 3.0]
    assert _xy(result) == [(116.4, 39.9), (121.5, 31.2)]
    assert result["lon"].tolist() == ["0", "0"]  # the unused `lon` column passes through


def test_column_option_naming_a_missing_column(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ROWS[0]])
    with pytest.raises(
        InputError,
        match=r"row 1, column 'east': longitude column 'east' \(from --lon\) not found; "
        "columns are: id, lon, lat, weight",
    ):
        read_points(path, lon_col="east")


def test_weight_defaults_to_one_and_ids_to_row_numbers(write_csv: WriteCsv) -> None:
    path = write_csv([["lon", "lat"], [116.4, 39.9], [121.5, 31.2]])
    result = read_customers(path)
    assert result["weight"].tolist() == [1.0, 1.0]
    assert result["weight"].dtype == np.float64
    assert result["id"].tolist() == ["2", "3"]  # the spreadsheet row


def test_no_coordinate_columns(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "place"], ["a", "Beijing"]])
    with pytest.raises(
        InputError,
        match=r"row 1: no longitude column found "
        r"\(looked for lon, lng, long, longitude, 经度, x\); "
        r"columns are: id, place; name it with --lon",
    ):
        read_points(path)


# --------------------------------------------------------------------------- CRS


def test_geopackage_in_web_mercator_is_returned_in_wgs84(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame
) -> None:
    path = write_frame(points_gdf.to_crs("EPSG:3857"), tmp_path / "mercator.gpkg")
    assert gpd.read_file(path).crs == "EPSG:3857"
    result = read_points(path)
    assert result.crs == "EPSG:4326"
    assert result.attrs["netplan_source"]["source_crs"] == "EPSG:3857"
    np.testing.assert_allclose(result.geometry.x, points_gdf.geometry.x, atol=1e-9)
    np.testing.assert_allclose(result.geometry.y, points_gdf.geometry.y, atol=1e-9)


def test_csv_in_cgcs2000_gauss_kruger_with_crs_option(write_csv: WriteCsv) -> None:
    lon = np.array([114.3055, 113.6253, 112.9388])  # Wuhan, Zhengzhou, Changsha: near CM 114E
    lat = np.array([30.5928, 34.7466, 28.2282])
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    easting, northing = to_gk.transform(lon, lat)
    assert 300_000 < easting.min() < easting.max() < 700_000  # metres from the false easting
    rows = [
        ["id", "x", "y"],
        *[
            [f"p{i}", f"{e:.3f}", f"{n:.3f}"]
            for i, (e, n) in enumerate(zip(easting, northing, strict=True))
        ],
    ]
    path = write_csv(rows)
    result = read_points(path, crs="EPSG:4547")
    assert result.crs == "EPSG:4326"
    assert result.attrs["netplan_source"]["source_crs"] == "EPSG:4547"
    np.testing.assert_allclose(result.geometry.x, lon, atol=1e-7)
    np.testing.assert_allclose(result.geometry.y, lat, atol=1e-7)


def test_crs_option_conflicting_with_the_file(tmp_path: Path, points_gdf: gpd.GeoDataFrame) -> None:
    path = write_frame(points_gdf.to_crs("EPSG:3857"), tmp_path / "mercator.gpkg")
    with pytest.raises(
        InputError, match="declares CRS EPSG:3857 but --crs says EPSG:4547; drop --crs"
    ):
        read_points(path, crs="EPSG:4547")
    assert len(read_points(path, crs="EPSG:3857")) == 3  # agreeing with the file is fine


def test_unknown_crs(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ROWS[0]])
    with pytest.raises(
        InputError, match="unknown CRS 'EPSG:999999'; use an EPSG code such as 'EPSG:4547'"
    ):
        read_points(path, crs="EPSG:999999")


def test_coordinates_that_cannot_be_transformed(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "x", "y"], ["ok", 500_000, 4_400_000], ["far", 1e9, 1e9]])
    with pytest.raises(
        InputError, match=r"row 3: coordinates cannot be transformed from EPSG:4547$"
    ):
        read_points(path, crs="EPSG:4547")


def test_northing_and_easting_swapped_warns(write_csv: WriteCsv) -> None:
    # Chinese surveys call the northing X: read as easting it lands in the Pacific.
    path = write_csv([["id", "x", "y"], ["wuhan", 3_386_000, 529_300]])
    with pytest.warns(
        InputWarning,
        match=re.escape(
            "1 of 1 points lie far outside the area EPSG:4547 is defined for (China - onshore "
            "between 112°30'E and 115°30'E: longitude 112.5..115.5, latitude 21.52..45.45); "
            "check --crs, and that the longitude (x) column holds eastings"
        ),
    ):
        result = read_points(path, crs="EPSG:4547")
    assert result.geometry.x.iloc[0] > 130


# --------------------------------------------------------------------------- sites


SITE_HEADER = ["id", "lon", "lat", "tier", "status", "fixed_cost", "capacity", "name", "rent"]


def test_sites_take_defaults_from_the_scenario_tier(
    write_csv: WriteCsv, small_scenario: Scenario
) -> None:
    path = write_csv(
        [
            SITE_HEADER,
            ["h1", 104.07, 30.57, "hub", "existing", "", "", "成都中心", 120],
            ["s1", 116.40, 39.90, "station", "Candidate", 80, 90, "Beijing", 95.5],
            ["s2", 121.47, 31.23, "station", "required", "", "", "", ""],
            ["x1", 113.26, 23.13, "", "competitor", "", "", "Rival", ""],
        ]
    )
    sites = read_sites(path, scenario=small_scenario)
    assert sites.columns.tolist() == [
        "id",
        "tier",
        "status",
        "fixed_cost",
        "capacity",
        "name",
        "rent",
        "geometry",
    ]
    assert sites["tier"].tolist() == ["hub", "station", "station", None]
    assert sites["status"].tolist() == ["existing", "candidate", "required", "competitor"]
    assert sites["fixed_cost"].tolist()[:3] == [1000.0, 80.0, 100.0]
    assert sites["capacity"].tolist()[:3] == [500.0, 90.0, math.inf]  # station: unlimited
    assert sites["name"].tolist() == ["成都中心", "Beijing", "", "Rival"]
    assert sites["rent"].tolist() == ["120", "95.5", None, None]  # passes through untouched


def test_sites_status_defaults_to_existing(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([["id", "lon", "lat", "tier"], ["h", 104.07, 30.57, "hub"]])
    sites = read_sites(path, scenario=small_scenario)
    assert sites["status"].tolist() == ["existing"]


def test_competitor_without_tier_column_is_allowed(
    write_csv: WriteCsv, small_scenario: Scenario
) -> None:
    path = write_csv([["id", "lon", "lat", "status"], ["r", 104.07, 30.57, "competitor"]])
    sites = read_sites(path, scenario=small_scenario)
    assert sites["tier"].tolist() == [None]
    assert np.isnan(sites["fixed_cost"].iloc[0])


def test_unknown_tier_names_tier_scenario_and_defined_tiers(
    write_csv: WriteCsv, small_scenario: Scenario
) -> None:
    path = write_csv(
        [
            SITE_HEADER[:5],
            ["a", 104.07, 30.57, "hub", "existing"],
            ["b", 104.1, 30.6, "depot", "candidate"],
        ]
    )
    with pytest.raises(
        InputError,
        match=re.escape(
            "row 3, column 'tier': tier 'depot' is not defined in the scenario (small.toml); "
            "defined tiers: hub, station"
        ),
    ):
        read_sites(path, scenario=small_scenario)


def test_sites_without_tier_column(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([["id", "lon", "lat"], ["a", 104.07, 30.57]])
    with pytest.raises(
        InputError, match=r"no 'tier' column; every site needs a tier \(hub, station\)"
    ):
        read_sites(path, scenario=small_scenario)


def test_site_tier_missing(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([["id", "lon", "lat", "tier"], ["a", 104.07, 30.57, ""]])
    with pytest.raises(
        InputError, match=r"row 2, column 'tier': tier is missing; use one of hub, station"
    ):
        read_sites(path, scenario=small_scenario)


def test_unknown_status(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([SITE_HEADER[:5], ["a", 104.07, 30.57, "hub", "open"]])
    with pytest.raises(
        InputError,
        match=re.escape(
            "row 2, column 'status': unknown status 'open'; use one of existing, candidate, "
            "required, closed, competitor"
        ),
    ):
        read_sites(path, scenario=small_scenario)


def test_missing_status(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([SITE_HEADER[:5], ["a", 104.07, 30.57, "hub", ""]])
    with pytest.raises(
        InputError, match=r"row 2, column 'status': status is missing; use one of existing"
    ):
        read_sites(path, scenario=small_scenario)


def test_sites_from_geojson_with_null_values(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame, small_scenario: Scenario
) -> None:
    sites = points_gdf.drop(columns="weight").assign(
        tier=["hub", None, "station"],
        status=["existing", "competitor", "candidate"],
        name=["北京", None, "成都"],
    )
    path = write_frame(sites, tmp_path / "sites.geojson")
    result = read_sites(path, scenario=small_scenario)
    assert result["tier"].tolist() == ["hub", None, "station"]
    assert result["name"].tolist() == ["北京", "", "成都"]


def test_negative_fixed_cost(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([SITE_HEADER[:6], ["a", 104.07, 30.57, "hub", "existing", -5]])
    with pytest.raises(InputError, match=r"row 2, column 'fixed_cost': fixed cost -5 is negative"):
        read_sites(path, scenario=small_scenario)


# --------------------------------------------------------------------------- validation problems


def test_missing_coordinates(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ROWS[0], ["b", 121.47, "", 1], ["c", "", 30.5, 1]])
    with pytest.raises(InputError) as info:
        read_points(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 3, column 'lat': latitude is missing",
        f"{path}, row 4, column 'lon': longitude is missing",
    ]


def test_non_numeric_coordinates(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ["a", "116.4E", 39.9, 1], ["b", 121.47, "N/A", 1]])
    with pytest.raises(
        InputError, match=r"row 2, column 'lon': longitude '116.4E' is not a number"
    ):
        read_points(path)
    with pytest.raises(InputError, match=r"row 3, column 'lat': latitude 'N/A' is not a number"):
        read_points(path)


def test_decimal_commas_get_a_hint(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat"], ["a", "116,4", "39,9"]], delimiter=";")
    with pytest.raises(
        InputError,
        match=r"row 2, column 'lon': longitude '116,4' is not a number \(write numbers with a dot "
        r"for decimals and no thousands separator\)",
    ):
        read_points(path)


def test_latitude_outside_range(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, *ROWS, ["d", 116.4, -95, 1]])
    with pytest.raises(InputError, match=r"row 5, column 'lat': latitude -95 is outside -90..90$"):
        read_points(path)


def test_longitude_outside_range(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, *ROWS, ["d", 190.5, 39.9, 1]])
    with pytest.raises(
        InputError, match=r"row 5, column 'lon': longitude 190.5 is outside -180..180"
    ):
        read_points(path)


def test_swapped_coordinates_are_one_file_level_problem(write_csv: WriteCsv) -> None:
    swapped = [[r[0], r[2], r[1], r[3]] for r in ROWS]
    path = write_csv([HEADER, *swapped])
    with pytest.raises(InputError) as info:
        read_points(path)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        f"{path}: 3 of 3 rows only make sense with latitude and longitude swapped: check that "
        "'lon' holds longitudes and 'lat' latitudes, or name them with --lon/--lat"
    )
    assert lines[1] == (
        f"{path}, row 2, column 'lat': latitude 116.407 is outside -90..90 "
        "(looks swapped with longitude)"
    )
    assert len(lines) == 4
    # named the other way round, the same file is fine
    assert _xy(read_points(path, lon_col="lat", lat_col="lon"))[0] == (116.4074, 39.9042)


def test_plausible_but_swapped_looking_points_warn(write_csv: WriteCsv) -> None:
    rows = [["id", "lon", "lat"], *[[f"p{i}", 40 + i, 75 + i] for i in range(6)]]
    path = write_csv(rows)
    with pytest.warns(InputWarning, match="check that longitude and latitude are not swapped"):
        result = read_points(path)
    assert len(result) == 6


def test_duplicate_ids_name_the_first_row(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, *ROWS, ["b", 113.26, 23.13, 1], ["b", 113.3, 23.2, 1]])
    with pytest.raises(InputError) as info:
        read_points(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 5, column 'id': duplicate id 'b' (first at row 3); ids must be unique",
        f"{path}, row 6, column 'id': duplicate id 'b' (first at row 3); ids must be unique",
    ]


def test_missing_id(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ROWS[0], ["", 121.47, 31.23, 1]])
    with pytest.raises(InputError, match=r"row 3, column 'id': id is missing"):
        read_points(path)


def test_negative_weight(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ROWS[0], ["b", 121.47, 31.23, -2]])
    with pytest.raises(InputError, match=r"row 3, column 'weight': weight -2 is negative"):
        read_points(path)


def test_missing_weight(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ROWS[0], ["b", 121.47, 31.23, ""]])
    with pytest.raises(
        InputError, match=r"row 3, column 'weight': weight is missing; give 0 or a positive number"
    ):
        read_points(path)


def test_non_numeric_weight(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ["a", 116.4, 39.9, "many"]])
    with pytest.raises(InputError, match=r"row 2, column 'weight': weight 'many' is not a number"):
        read_points(path)


def test_negative_units(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "units"], ["a", 116.4, 39.9, 3], ["b", 121.5, 31.2, -1]])
    with pytest.raises(InputError, match=r"row 3, column 'units': units -1 is negative"):
        read_points(path, kind="installed-base")


def test_missing_units(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "units"], ["a", 116.4, 39.9, ""]])
    with pytest.raises(InputError, match=r"row 2, column 'units': units is missing"):
        read_points(path, kind="installed-base")


def test_empty_file(write_file: WriteFile) -> None:
    path = write_file("empty.csv", b"")
    with pytest.raises(
        InputError, match=r"empty.csv: the file is empty; it needs a header row and data$"
    ):
        read_points(path)


def test_header_only_file(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER])
    with pytest.raises(InputError, match=r"points.csv: the file has a header but no data rows$"):
        read_points(path)


def test_empty_geojson(tmp_path: Path, points_gdf: gpd.GeoDataFrame) -> None:
    path = write_frame(points_gdf.iloc[:0], tmp_path / "none.geojson")
    with pytest.raises(InputError, match="the file has a header but no data rows"):
        read_points(path)


def test_polygons_become_centroids_with_a_warning(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame
) -> None:
    shapes = points_gdf.copy()
    shapes.loc[0, "geometry"] = shapely.box(116.0, 39.5, 117.0, 40.5)
    shapes.loc[1, "geometry"] = shapely.LineString([(121.0, 31.0), (122.0, 31.0)])
    path = write_frame(shapes, tmp_path / "shapes.geojson")
    with pytest.warns(
        InputWarning,
        match=r"shapes.geojson: 2 non-point geometries \(polygons or lines\) replaced by their "
        "centroid",
    ):
        result = read_points(path)
    assert _xy(result) == [(116.5, 40.0), (121.5, 31.0), (104.0665, 30.5723)]
    assert (result.geom_type == "Point").all()


def test_missing_geometry(tmp_path: Path, points_gdf: gpd.GeoDataFrame) -> None:
    broken = points_gdf.copy()
    broken.loc[1, "geometry"] = None
    path = write_frame(broken, tmp_path / "broken.gpkg")
    with pytest.raises(
        InputError, match=r"broken.gpkg, row 2, column 'geometry': geometry is missing or empty"
    ):
        read_points(path)


def test_random_bytes_are_an_unreadable_encoding(write_file: WriteFile) -> None:
    raw = np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    for encoding in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            raw.decode(encoding)
    path = write_file("garbage.csv", raw)
    with pytest.raises(
        InputError,
        match=r"garbage.csv: cannot read the file as text: it is not UTF-8 or GB18030 and looks "
        r"binary or garbled",
    ):
        read_points(path)


def test_control_characters_that_decode_are_still_garbage() -> None:
    raw = bytes(range(32)) * 20  # valid UTF-8, but nothing a CSV holds
    raw.decode("utf-8")
    with pytest.raises(InputError, match="cannot read the file as text"):
        detect_encoding(raw, name="nul.csv")


def test_excel_workbook_saved_as_csv(write_file: WriteFile) -> None:
    path = write_file("book.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200))
    with pytest.raises(
        InputError,
        match=r"book.csv: this is an Excel workbook \(.xlsx\) or a zip archive, not CSV text; "
        "save it as CSV",
    ):
        read_points(path)


def test_detect_encoding_prefers_utf8_then_gb18030() -> None:
    assert detect_encoding(b"id,lon\n") == "utf-8"
    assert detect_encoding("\ufeffid,经度\n".encode()) == "utf-8-sig"
    assert detect_encoding("id,经度,纬度\n北京,116,39\n".encode("gb18030")) == "gb18030"
    assert detect_encoding("id,经度\n".encode("utf-16")) == "utf-16"


def test_unknown_file_suffix(write_file: WriteFile) -> None:
    path = write_file("points.xlsx", b"whatever")
    with pytest.raises(
        InputError,
        match=r"points.xlsx: unknown file type '.xlsx'; use .csv, .geojson, .gpkg or .parquet",
    ):
        read_points(path)


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere.csv: file not found$"):
        read_points(tmp_path / "nowhere.csv")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder; pass a file"):
        read_points(tmp_path)


def test_duplicate_column_names(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "lon"], ["a", 116.4, 39.9, 0]])
    with pytest.raises(
        InputError,
        match=r"row 1, column 'lon': duplicate column name \(columns 2 and 4\); rename one of them",
    ):
        read_points(path)


def test_duplicate_column_names_differing_in_case(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame
) -> None:
    frame = points_gdf.assign(ID=["x", "y", "z"])
    path = write_frame(frame, tmp_path / "cases.geojson")
    with pytest.raises(
        InputError, match=r"cases.geojson, column 'ID': duplicate column name \(columns 1 and 4\)"
    ):
        read_points(path)


def test_ragged_csv_row(write_file: WriteFile) -> None:
    path = write_file("ragged.csv", "id,lon,lat\na,116.4,39.9\nb,121.5,31.2,9,9\n")
    with pytest.raises(
        InputError, match=r"ragged.csv: not a readable CSV table: Error tokenizing data"
    ):
        read_points(path)


def test_every_problem_is_collected_at_once(write_csv: WriteCsv) -> None:
    path = write_csv([HEADER, ["a", 200, 39.9, 1], ["a", 116.4, "x", -1], ["c", "", 30.5, ""]])
    with pytest.raises(InputError) as info:
        read_points(path)
    assert info.value.total == 6
    assert [(p.row, p.column) for p in info.value.problems] == [
        (2, "lon"),
        (3, "lat"),
        (3, "id"),
        (3, "weight"),
        (4, "lon"),
        (4, "weight"),
    ]


def test_more_than_twenty_problems_are_counted(write_csv: WriteCsv) -> None:
    rows = [[f"p{i}", 116.4, 91 + i, 1] for i in range(25)]
    path = write_csv([HEADER, *rows])
    with pytest.raises(InputError) as info:
        read_points(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 21
    assert lines[0] == f"{path}, row 2, column 'lat': latitude 91 is outside -90..90"
    assert lines[19].startswith(f"{path}, row 21, column 'lat'")
    assert lines[20] == "... and 5 more problem(s) not listed"
    assert info.value.total == 25


def test_more_than_twenty_problems_across_checks(write_csv: WriteCsv) -> None:
    rows = [[f"p{i}", "bad", 91 + i, -1] for i in range(30)]
    path = write_csv([HEADER, *rows])
    with pytest.raises(InputError) as info:
        read_points(path)
    assert info.value.total == 90
    assert str(info.value).splitlines()[-1] == "... and 70 more problem(s) not listed"


# --------------------------------------------------------------------------- inputs, atomic writes


@pytest.mark.parametrize("fmt", ["csv", "gpkg", "parquet"])
def test_reading_never_modifies_the_input(
    tmp_path: Path, points_gdf: gpd.GeoDataFrame, fmt: str
) -> None:
    path = write_frame(points_gdf, tmp_path / f"points.{fmt}")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    read_points(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_atomic_path_keeps_old_content_on_error(tmp_path: Path) -> None:
    target = write_text(tmp_path / "result.json", "old\n")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        assert tmp.parent == target.parent and tmp != target
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_atomic_path_on_error_leaves_no_new_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "out.gpkg"
    with pytest.raises(KeyError), atomic_path(target) as tmp:
        assert tmp.suffix == ".gpkg"  # drivers that choose by suffix see the right one
        tmp.write_bytes(b"partial")
        raise KeyError("x")
    assert list(target.parent.iterdir()) == []


def test_atomic_path_replaces_on_success(tmp_path: Path) -> None:
    target = write_text(tmp_path / "result.txt", "old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible until the block ends
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]


# --------------------------------------------------------------------------- the error type


def test_input_error_lists_problems_and_survives_pickling() -> None:
    problems = [Problem("a.csv", 2, "lon", "bad"), Problem("a.csv", None, None, "empty")]
    error = InputError(problems, total=30)
    assert str(error).splitlines() == [
        "a.csv, row 2, column 'lon': bad",
        "a.csv: empty",
        "... and 28 more problem(s) not listed",
    ]
    assert error.lines() == str(error).splitlines()
    copy = pickle.loads(pickle.dumps(error))  # as a Dask worker sends it back
    assert type(copy) is InputError
    assert (str(copy), copy.total, copy.problems) == (str(error), 30, problems)


def test_input_error_from_a_plain_message() -> None:
    error = InputError("`budget` must be 0 or more, got -1")
    assert str(error) == "`budget` must be 0 or more, got -1"
    assert error.exit_code == 2
    assert isinstance(error, ValueError)
