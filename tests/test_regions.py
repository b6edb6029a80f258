"""Province/city/district tagging (netplan.regions) and where it shows: by_region, zones, grades."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from netplan import regions
from netplan.blindspots import BlindspotOptions
from netplan.boundaries import load_boundaries
from netplan.config import scenario_from_dict
from netplan.coverage import coverage_from_points
from netplan.errors import ConfigError
from netplan.io import read_points
from netplan.regions import OUTSIDE, TAG_COLUMNS, district_index, grades_from_places, tag_points
from netplan.scale import coverage_local

KNOWN = [
    # lon, lat, province, city
    (116.40, 39.90, "北京市", "北京市"),
    (114.06, 22.54, "广东省", "深圳市"),
    (113.26, 23.13, "广东省", "广州市"),
    (104.07, 30.66, "四川省", "成都市"),
    (121.47, 31.23, "上海市", "上海市"),
    (87.62, 43.83, "新疆维吾尔自治区", "乌鲁木齐市"),
    (123.0, 25.0, OUTSIDE, OUTSIDE),  # the East China Sea
    (115.0, 15.0, OUTSIDE, OUTSIDE),  # the South China Sea, off every island
    (2.35, 48.86, OUTSIDE, OUTSIDE),  # Paris
]


def test_known_places() -> None:
    lon, lat, province, city = zip(*KNOWN, strict=True)
    tags = tag_points(lon, lat)
    assert tuple(tags.columns) == TAG_COLUMNS
    assert tags["province"].tolist() == list(province)
    assert tags["city"].tolist() == list(city)
    assert tags.loc[tags["province"] == OUTSIDE, "district"].eq(OUTSIDE).all()
    assert tags.loc[1, "district"] == "福田区"


def test_missing_coordinates_and_empty_input_are_outside() -> None:
    tags = tag_points([np.nan, 114.06], [22.54, np.nan])
    assert tags.to_numpy().tolist() == [[OUTSIDE] * 3, [OUTSIDE] * 3]
    assert len(tag_points([], [])) == 0
    with pytest.raises(ValueError, match="same length"):
        tag_points([1.0, 2.0], [1.0])


def _random_and_border_points(n_random: int, n_border: int, seed: int) -> np.ndarray:
    """Points over eastern China plus points within ~1 km of district borders."""
    rng = np.random.default_rng(seed)
    scattered = rng.uniform([98.0, 20.0], [123.0, 42.0], size=(n_random, 2))
    vertices = shapely.get_coordinates(load_boundaries("district").geometry.to_numpy())
    near = vertices[rng.integers(0, len(vertices), n_border)]
    near = near + rng.uniform(-0.01, 0.01, size=near.shape)
    return np.vstack([scattered, near])


def test_tags_agree_with_an_independent_spatial_join() -> None:
    xy = _random_and_border_points(300, 300, seed=7)
    tags = tag_points(xy[:, 0], xy[:, 1])
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326")
    for level, column in (("district", "district"), ("city", "city"), ("province", "province")):
        units = load_boundaries(level)[["name", "geometry"]]
        joined = gpd.sjoin(points, units, how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        expected = joined["name"].astype(object).where(joined["name"].notna(), OUTSIDE)
        # The city and province polygons are drawn independently of the
        # districts; at these points (fixed seed) they agree everywhere.
        assert (tags[column].to_numpy() == expected.to_numpy()).all(), level
    # District polygons decide: the names nest.
    districts = load_boundaries("district")
    index = district_index(xy[:, 0], xy[:, 1])
    inside = index >= 0
    assert (
        tags["province"].to_numpy()[inside] == districts["province"].to_numpy()[index[inside]]
    ).all()


def test_the_grid_agrees_with_exact_tests_everywhere() -> None:
    xy = _random_and_border_points(2000, 2000, seed=11)
    fast = district_index(xy[:, 0], xy[:, 1])
    exact = regions._exact_index(xy[:, 0].copy(), xy[:, 1].copy())
    assert np.array_equal(fast, exact)


def test_two_threads_tag_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Border points (many candidate pairs, ties on shared borders included: vertices
    # themselves) tagged in two threads and in one give the same rows.
    xy = _random_and_border_points(3000, 6000, seed=13)
    vertices = shapely.get_coordinates(load_boundaries("district").geometry.to_numpy())[::997]
    xy = np.vstack([xy, vertices])
    monkeypatch.setattr(regions, "_THREADED_PAIRS", 1)
    threaded = district_index(xy[:, 0], xy[:, 1])
    monkeypatch.setattr(regions, "_THREADED_PAIRS", 10**12)
    single = district_index(xy[:, 0], xy[:, 1])
    assert np.array_equal(threaded, single)
    assert (threaded >= 0).sum() > len(xy) // 2


def test_categorical_tags_equal_the_names() -> None:
    xy = _random_and_border_points(500, 500, seed=17)
    plain = tag_points(xy[:, 0], xy[:, 1])
    categorical = tag_points(xy[:, 0], xy[:, 1], categorical=True)
    for column in TAG_COLUMNS:
        assert isinstance(categorical[column].dtype, pd.CategoricalDtype)
        assert categorical[column].cat.categories.is_monotonic_increasing
        assert categorical[column].astype(object).tolist() == plain[column].tolist()


# --------------------------------------------------------------------------- coverage


def _demand_around(places: list[tuple[float, float]], n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centre = np.asarray(places)[rng.integers(0, len(places), n)]
    xy = centre + rng.normal(0.0, 0.15, size=(n, 2))
    return pd.DataFrame(
        {
            "id": [f"D{i:05d}" for i in range(n)],
            "lon": xy[:, 0].round(6),
            "lat": xy[:, 1].round(6),
            "weight": rng.integers(1, 5, n),
        }
    )


@pytest.fixture
def no_admin_case(tmp_path: Path) -> tuple[Path, Path]:
    demand = _demand_around([(114.06, 22.54), (113.26, 23.13), (116.40, 39.90)], 3000, seed=3)
    sites = pd.DataFrame({"id": ["S1"], "lon": [116.40], "lat": [39.90], "tier": ["regional_hub"]})
    demand.to_csv(tmp_path / "demand.csv", index=False)
    sites.to_csv(tmp_path / "sites.csv", index=False)
    return tmp_path / "demand.csv", tmp_path / "sites.csv"


def test_by_region_gets_province_and_city_blocks_in_every_engine(
    no_admin_case: tuple[Path, Path], tmp_path: Path
) -> None:
    demand_csv, sites_csv = no_admin_case
    scenario = scenario_from_dict({"tiers": {"regional_hub": {"radius_km": 100}}})
    demand = read_points(demand_csv)
    sites = read_points(sites_csv, kind="sites")
    whole = coverage_from_points(demand, sites, scenario)
    summary = whole.summary()
    by_province = summary["by_region"]["province"]
    assert {"广东省", "北京市"} <= set(by_province)
    assert sum(v["weight"] for v in by_province.values()) == pytest.approx(summary["total_weight"])
    assert sum(v["n_demand"] for v in summary["by_region"]["city"].values()) == len(demand)
    assert by_province["北京市"]["weighted_coverage_rate"] > 0.9
    assert by_province["广东省"]["weighted_coverage_rate"] == 0.0
    # Blind spots named by place: the Guangdong clusters are not covered.
    zones = whole.blindspots
    assert list(zones.columns[-3:]) == ["province", "city", "geometry"]
    assert set(zones["province"]) == {"广东省"}
    cities = load_boundaries("city")
    guangdong = set(cities.loc[cities["province"] == "广东省", "name"])
    assert len(zones) and set(zones["city"]) <= guangdong
    streamed = coverage_local(demand_csv, sites, scenario, chunk_rows=700)
    assert streamed.summary() == summary
    a = whole.to_files(tmp_path / "whole")
    b = streamed.to_files(tmp_path / "streamed")
    for name in ("blindspots", "summary"):
        assert Path(a[name]).read_bytes() == Path(b[name]).read_bytes(), name


def test_the_demands_own_columns_win_and_zones_still_get_official_names() -> None:
    demand = _demand_around([(114.06, 22.54)], 200, seed=5)
    demand["province"] = "Guangdong"
    gdf = gpd.GeoDataFrame(
        demand, geometry=gpd.points_from_xy(demand["lon"], demand["lat"]), crs="EPSG:4326"
    )
    sites = gpd.GeoDataFrame(
        {"id": ["S1"], "tier": ["hub"], "status": ["existing"]},
        geometry=gpd.points_from_xy([100.0], [30.0]),
        crs="EPSG:4326",
    )
    scenario = scenario_from_dict({"tiers": {"hub": {"radius_km": 10}}})
    result = coverage_from_points(gdf, sites, scenario, blindspots=BlindspotOptions())
    by_region = result.summary()["by_region"]
    assert list(by_region["province"]) == ["Guangdong"]  # the file's column, as given
    assert "深圳市" in by_region["city"]  # no city column: from the boundaries
    assert result.blindspots["province"].iloc[0] == "广东省"
    assert result.blindspots["city"].iloc[0] == "深圳市"


def test_zone_places_nest_and_break_ties_by_name() -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"]}, geometry=[shapely.Point(0, 0)] * 2, crs="EPSG:4326"
    )
    from netplan.coverage import zone_places

    tags = pd.DataFrame(
        {
            "province": ["乙省", "乙省", "甲省", "甲省", "甲省"],
            "city": ["b1", "b1", "a1", "a2", "a2"],
            "district": ["x"] * 5,
        }
    )
    # Zone 0: 乙省 weighs 5, 甲省 4 (a1 3 + a2 1): 乙省/b1. Zone 1: one weightless point.
    named = zone_places(zones, np.array([0, 0, 0, 0, 1]), np.array([2.0, 3.0, 3.0, 1.0, 0.0]), tags)
    assert named["province"].tolist() == ["乙省", "甲省"]
    assert named["city"].tolist() == ["b1", "a2"]


# --------------------------------------------------------------------------- grades


GRADES = {
    "tiers": {
        "station": {"radius_km": 50, "grade_radius_km": {"A": 30, "B": 50, "C": 80}},
    },
    "grades": {
        "by_city": {"深圳市": "A"},
        "by_province": {"广东省": "B"},
        "default": "C",
    },
}


def test_grades_by_place_city_first_then_province_then_default() -> None:
    scenario = scenario_from_dict(GRADES)
    grades = grades_from_places(
        [114.06, 113.26, 116.40, 123.0], [22.54, 23.13, 39.90, 25.0], scenario.region_grades
    )
    assert grades.tolist() == ["A", "B", "C", "C"]


def test_grades_apply_as_demand_is_read_and_a_file_grade_wins(write_csv) -> None:
    scenario = scenario_from_dict(GRADES)
    path = write_csv(
        [
            ["id", "lon", "lat", "grade"],
            ["p1", 114.06, 22.54, ""],
            ["p2", 113.26, 23.13, "C"],
            ["p3", 116.40, 39.90, ""],
        ]
    )
    gdf = read_points(path, scenario=scenario)
    assert gdf["grade"].tolist() == ["A", "C", "C"]
    no_column = write_csv([["id", "lon", "lat"], ["p1", 114.06, 22.54]], name="b.csv")
    assert read_points(no_column, scenario=scenario)["grade"].tolist() == ["A"]
    sites = write_csv([["id", "lon", "lat", "tier"], ["s1", 114.06, 22.54, "station"]], "s.csv")
    assert "grade" not in read_points(sites, kind="sites", scenario=scenario).columns


def test_an_unknown_place_name_is_one_error_with_the_official_name(write_csv) -> None:
    scenario = scenario_from_dict({**GRADES, "grades": {"by_city": {"深圳": "A"}}}, source="s.toml")
    path = write_csv([["id", "lon", "lat"], ["p1", 114.06, 22.54]])
    with pytest.raises(
        ConfigError, match=r"s.toml: `grades.by_city.深圳`: .*did you mean `深圳市`"
    ):
        read_points(path, scenario=scenario)


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        ({"by_town": {}}, r"`grades.by_town`: unknown key"),
        ({"by_city": {"深圳市": "D"}}, r"`grades.by_city.深圳市`: grade 'D' has no promise"),
        ({"by_province": {"广东省": 1}}, r"`grades.by_province.广东省`: must be a grade"),
        ({"default": ""}, r"`grades.default`: must be a grade"),
        ({"by_city": "A"}, r"`grades.by_city`: must be a table"),
    ],
)
def test_bad_grade_tables_name_the_key(grades: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        scenario_from_dict({**GRADES, "grades": grades})


def test_cli_names_a_bad_place_in_one_line_and_exits_2(write_csv, write_file) -> None:
    from typer.testing import CliRunner

    from netplan.cli import app

    demand = write_csv([["id", "lon", "lat"], ["p1", 114.06, 22.54]])
    sites = write_csv([["id", "lon", "lat", "tier"], ["s1", 114.0, 22.5, "station"]], "s.csv")
    config = write_file(
        "s.toml",
        "[tiers.station]\nradius_km = 50\ngrade_radius_km = { A = 30 }\n"
        '[grades]\nby_province = { "广东" = "A" }\n',
    )
    result = CliRunner().invoke(
        app,
        ["coverage", "--demand", str(demand), "--sites", str(sites), "--config", str(config),
         "--out", str(config.parent / "out")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "`grades.by_province.广东`" in result.output
    assert "did you mean `广东省`?" in result.output
    assert len(result.output.strip().splitlines()) == 1
