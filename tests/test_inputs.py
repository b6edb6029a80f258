"""The [inputs.*] scenario sections, --input options, Chinese values and weight warnings."""

from __future__ import annotations

import json
import re
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from netplan.chinacrs import wgs84_to_bd09, wgs84_to_gcj02
from netplan.cli import app
from netplan.config import DEFAULT_SCENARIO_TOML, default_scenario, scenario_from_dict
from netplan.errors import ConfigError, InputError, InputWarning
from netplan.inputs import parse_input_options, weight_statement, with_inputs
from netplan.io import read_customers, read_installed_base, read_points, read_sites
from netplan.normalise import canonical_text, normalise_statuses, normalise_tiers
from netplan.stream import iter_points


def _scenario(inputs: str) -> object:
    data = tomllib.loads(DEFAULT_SCENARIO_TOML + "\n" + inputs)
    return scenario_from_dict(data, source="s.toml")


def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- config


def test_inputs_sections_are_parsed() -> None:
    scenario = _scenario(
        """
[inputs.customers]
id = "编号"
lon = "经度"
lat = "纬度"
weight = "年服务次数"
crs = "GCJ-02"
layer = "customers"

[inputs.installed_base]
units = "台数"
product = "产品"
install_year = "安装年份"
crs = "bd09"

[inputs.sites]
tier = "网点类型"
status = "状态"
name = "名称"
fixed_cost = "年成本"
capacity = "产能"
crs = "EPSG:4326"
"""
    )
    customers = scenario.inputs["customers"]  # type: ignore[attr-defined]
    assert customers.columns == {"id": "编号", "lon": "经度", "lat": "纬度", "weight": "年服务次数"}
    assert customers.crs == "GCJ-02" and customers.layer == "customers"
    assert scenario.inputs["installed_base"].crs == "BD-09"  # type: ignore[attr-defined]
    assert scenario.inputs["sites"].columns["capacity"] == "产能"  # type: ignore[attr-defined]
    assert default_scenario().inputs == {}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            '[inputs.customers]\nwieght = "w"',
            "s.toml: `inputs.customers.wieght`: unknown key (did you mean `weight`?); "
            "expected one of: id, lon, lat, crs, layer, weight",
        ),
        (
            '[inputs.sites]\nweight = "w"',
            "s.toml: `inputs.sites.weight`: unknown key (`weight` belongs in [inputs.customers])",
        ),
        (
            '[inputs.customer]\nid = "x"',
            "s.toml: `inputs.customer`: unknown section (did you mean `customers`?)",
        ),
        ("[inputs.sites]\ntier = 3", "s.toml: `inputs.sites.tier`: must be a non-empty string"),
        ('[inputs.sites]\ncrs = "GCJ-03"', "s.toml: `inputs.sites.crs`: unknown CRS 'GCJ-03'"),
        (
            '[inputs.customers]\nlon = "x"\nlat = "X"',
            "s.toml: `inputs.customers.lat`: column 'X' is also given for `lon`",
        ),
    ],
)
def test_inputs_errors_name_the_key(inputs: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        _scenario(inputs)


def test_input_options() -> None:
    specs = parse_input_options(
        ["customers.weight=年服务次数", "installed-base.units = 台数", "sites.crs=BD-09"]
    )
    assert specs["customers"].columns == {"weight": "年服务次数"}
    assert specs["installed_base"].columns == {"units": "台数"}
    assert specs["sites"].crs == "BD-09"
    for bad, message in [
        ("weight=x", "write KIND.KEY=VALUE"),
        ("customer.weight=x", "unknown kind 'customer' (did you mean `customers`?)"),
        ("customers.wieght=x", "--input customers.wieght: unknown key (did you mean `weight`?)"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_input_options([bad])


def test_input_options_lay_over_the_scenario() -> None:
    scenario = _scenario('[inputs.customers]\nlon = "经度"\nweight = "权重2"')
    merged = with_inputs(scenario, ["customers.weight=次数"])  # type: ignore[arg-type]
    assert merged.inputs["customers"].columns == {"lon": "经度", "weight": "次数"}
    assert with_inputs(scenario, None) is scenario  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reading


def test_mapping_applies_to_every_reader(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "c.csv",
        "编码,东经,北纬,年服务次数,城市\nA,116.4,39.9,3,北京\nB,121.5,31.2,5,上海\n",
    )
    scenario = _scenario(
        '[inputs.customers]\nid = "编码"\nlon = "东经"\nlat = "北纬"\nweight = "年服务次数"'
    )
    whole = read_customers(path, scenario=scenario)  # type: ignore[arg-type]
    assert whole["id"].tolist() == ["A", "B"]
    assert whole["weight"].tolist() == [3.0, 5.0]
    assert "城市" in whole.columns and "年服务次数" not in whole.columns
    chunks = list(iter_points(path, kind="customers", chunk_rows=1, scenario=scenario))  # type: ignore[arg-type]
    assert [c["weight"].iloc[0] for c in chunks] == [3.0, 5.0]
    # An explicit argument (the CLI's --weight) wins over the section.
    scenario2 = _scenario('[inputs.customers]\nweight = "nope"')
    explicit = read_points(
        path, weight_col="年服务次数", lon_col="东经", lat_col="北纬", scenario=scenario2
    )  # type: ignore[arg-type]
    assert explicit["weight"].tolist() == [3.0, 5.0]


def test_missing_mapped_column_names_the_setting(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", "id,lon,lat,年服务次数\nA,116.4,39.9,3\n")
    scenario = _scenario('[inputs.customers]\nweight = "年服务次"')
    with pytest.raises(InputError, match=re.escape(
        "row 1, column '年服务次': weight column '年服务次' (from weight in [inputs.customers] of "
        "s.toml) not found (did you mean '年服务次数'?)"
    )):  # fmt: skip
        read_customers(path, scenario=scenario)  # type: ignore[arg-type]


def test_installed_base_and_sites_keys(tmp_path: Path) -> None:
    base = _csv(
        tmp_path / "b.csv",
        "id,lon,lat,台数,机型,安装年份\nA,116.4,39.9,10,x,2020\nB,121.5,31.2,4,y,2024\n",
    )
    scenario = _scenario(
        '[inputs.installed_base]\nunits = "台数"\nproduct = "机型"\ninstall_year = "安装年份"\n'
        "[demand]\nservice_rates = { x = 0.5, y = 2.0 }\n"
    )
    gdf = read_installed_base(base, scenario=scenario)  # type: ignore[arg-type]
    assert gdf["units"].tolist() == [10.0, 4.0]
    assert gdf["weight"].tolist() == [5.0, 8.0]
    sites = _csv(
        tmp_path / "s.csv",
        "id,lon,lat,级别,现状,网点名,年成本,产能\n"
        "S1,116.4,39.9,Regional Hub,在营,总部,1000,50\n"
        "S2,121.5,31.2,ｃｉｔｙ＿ｓｔａｔｉｏｎ, 候选 ,上海站,,\n",
    )
    scenario = _scenario(
        '[inputs.sites]\ntier = "级别"\nstatus = "现状"\nname = "网点名"\n'
        'fixed_cost = "年成本"\ncapacity = "产能"'
    )
    gdf = read_sites(sites, scenario=scenario)  # type: ignore[arg-type]
    assert gdf["tier"].tolist() == ["regional_hub", "city_station"]
    assert gdf["status"].tolist() == ["existing", "candidate"]
    assert gdf["name"].tolist() == ["总部", "上海站"]
    assert gdf["fixed_cost"].tolist() == [1000.0, 400000.0]
    assert gdf["capacity"].tolist() == [50.0, 8000.0]


def test_chinese_headers_and_values_without_any_mapping(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "s.csv",
        "编号,网点名称,经度,纬度,类型,状态\n"
        "S1,总部,116.4,39.9,区域服务中心,现有\nS2,站,121.5,31.2,城市服务站,必建\n"
        "S3,点,113.3,23.1,社区服务点,已关闭\nS4,对手,114.1,22.5,,竞争对手\n",
        "gb18030",
    )
    gdf = read_sites(path)
    assert gdf["tier"].tolist()[:3] == ["regional_hub", "city_station", "community_point"]
    assert gdf["status"].tolist() == ["existing", "required", "closed", "competitor"]
    assert gdf["name"].tolist() == ["总部", "站", "点", "对手"]


def test_unknown_values_say_did_you_mean(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "s.csv",
        "id,lon,lat,tier,status\nS1,116.4,39.9,城市服务点,现有\nS2,121.5,31.2,city_station,候补\n",
    )
    with pytest.raises(InputError) as caught:
        read_sites(path)
    text = str(caught.value)
    assert (
        "tier '城市服务点' is not defined in the scenario (<default>) "
        "(did you mean 'city_station'?)" in text
    )
    assert "城市服务站" in text  # the accepted labels are listed
    assert "unknown status '候补' (did you mean 'candidate'?); use one of existing" in text
    assert "现有/已有/在营 = existing" in text


def test_problems_name_the_files_column(tmp_path: Path) -> None:
    path = _csv(tmp_path / "s.csv", "id,lon,lat,网点类型\nS1,116.4,39.9,depot\n")
    with pytest.raises(InputError, match="column '网点类型': tier 'depot' is not defined"):
        read_sites(path)


def test_values_normalisation() -> None:
    assert canonical_text(" Ｒｅｇｉｏｎａｌ　Hub ") == "regionalhub"
    scenario = default_scenario()
    assert normalise_tiers(["授权服务合作商", "Authorised partner", None, 3], scenario) == [
        "partner", "partner", None, 3,
    ]  # fmt: skip
    assert normalise_statuses(["关闭", "撤销", "竞品", "必选", "已有", "CANDIDATE"]) == [
        "closed", "closed", "competitor", "required", "existing", "candidate",
    ]  # fmt: skip


@pytest.mark.parametrize(("crs", "forward"), [("GCJ-02", wgs84_to_gcj02), ("BD-09", wgs84_to_bd09)])
def test_china_crs_converts_to_wgs84(tmp_path: Path, crs: str, forward: object) -> None:
    lon = np.array([116.397, 121.4737, 2.35])  # the last is Paris: left as it is
    lat = np.array([39.908, 31.2304, 48.85])
    glon, glat = forward(lon, lat)  # type: ignore[operator]
    rows = "\n".join(f"P{i},{glon[i]:.10f},{glat[i]:.10f}" for i in range(3))
    path = _csv(tmp_path / "p.csv", f"id,lon,lat\n{rows}\n")
    gdf = read_customers(path, scenario=_scenario(f'[inputs.customers]\ncrs = "{crs}"'))  # type: ignore[arg-type]
    np.testing.assert_allclose(gdf.geometry.x, lon, atol=1e-8)
    np.testing.assert_allclose(gdf.geometry.y, lat, atol=1e-8)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.attrs["netplan_source"]["source_crs"] == f"{crs} (converted to WGS84)"
    # The explicit crs= (validate's --crs) accepts the same names.
    again = read_customers(path, crs=crs.lower())
    np.testing.assert_allclose(again.geometry.x, lon, atol=1e-8)


def test_china_crs_on_a_geojson(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(116.397, 39.908)
    feature = {
        "type": "Feature",
        "properties": {"id": "A"},
        "geometry": {"type": "Point", "coordinates": [float(glon[0]), float(glat[0])]},
    }
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    gdf = read_customers(path, scenario=_scenario('[inputs.customers]\ncrs = "GCJ-02"'))  # type: ignore[arg-type]
    assert gdf.geometry.x.iloc[0] == pytest.approx(116.397, abs=1e-8)


# --------------------------------------------------------------------------- weight warning


def test_a_weight_like_column_is_pointed_out(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "c.csv",
        "id,lon,lat,年服务次数,邮编\nA,116.4,39.9,3,100000\nB,121.5,31.2,5,200000\n",
    )
    with pytest.warns(InputWarning, match=re.escape(
        "no weight column, so every row weighs 1.0, but column '年服务次数' holds numbers that "
        "look like a weight; to use it, add weight = \"年服务次数\" under [inputs.customers]"
    )):  # fmt: skip
        gdf = read_customers(path)
    assert gdf.attrs["netplan_source"]["warnings"]
    assert weight_statement(gdf) == "weight: 1.0 for every row (no weight column)"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mapped = read_customers(path, weight_col="年服务次数")
    assert weight_statement(mapped) == "weight: column '年服务次数'"


def test_no_warning_without_a_weight_like_column(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "c.csv",
        "id,lon,lat,城市,邮编\nA,116.4,39.9,北京,100000\nB,121.5,31.2,上海,200000\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gdf = read_customers(path)
    assert "warnings" not in gdf.attrs["netplan_source"]


def test_weight_warning_reaches_the_cli_and_summary(tmp_path: Path) -> None:
    customers = _csv(tmp_path / "c.csv", "id,lon,lat,calls\nA,116.4,39.9,3\nB,121.5,31.2,5\n")
    sites = _csv(
        tmp_path / "s.csv", "id,lon,lat,tier,status\nS1,116.4,39.9,regional_hub,existing\n"
    )
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "coverage",
            "--demand",
            str(customers),
            "--sites",
            str(sites),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "column 'calls' holds numbers that look like a weight" in result.output
    assert "weight: 1.0 for every row (no weight column)" in result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert any("'calls'" in w for w in summary["warnings"])
    result = runner.invoke(app, ["validate", str(customers)])
    assert "1.0 for every row (no weight column)" in result.output
    result = runner.invoke(
        app,
        [
            "coverage", "--demand", str(customers), "--sites", str(sites),
            "--out", str(tmp_path / "o2"), "--input", "customers.weight=calls",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["total_weight"] == 8.0 and summary["warnings"] == []


def test_cli_input_option_errors_exit_2(tmp_path: Path) -> None:
    customers = _csv(tmp_path / "c.csv", "id,lon,lat\nA,116.4,39.9\n")
    result = CliRunner().invoke(app, ["validate", str(customers), "--input", "customers.wieght=x"])
    assert result.exit_code == 2
    assert "did you mean `weight`" in result.output


# --------------------------------------------------------------------------- enum typos


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["optimize", "--model", "max-cvoer"], "did you mean 'max-cover'?"),
        (["optimize", "--objective", "maxcoverage"], "did you mean 'max_coverage'?"),
        (["frontier", "--by", "bugdet"], "did you mean 'budget'?"),
        (["coverage", "--format", "jsn"], "did you mean 'geojson'?"),
        (["report", "--lang", "zn"], "did you mean 'zh'?"),
    ],
)
def test_choice_typos_say_did_you_mean(args: list[str], expected: str, tmp_path: Path) -> None:
    common = ["--demand", "d.csv", "--sites", "s.csv", "--out", str(tmp_path / "o")]
    if args[0] == "report":
        common = ["--out", str(tmp_path / "r.html")]
    result = CliRunner().invoke(app, [*args, *common])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Value error" not in result.output


# --------------------------------------------------------------------------- pass-through


def test_coverage_keeps_the_demand_files_columns(tmp_path: Path) -> None:
    import pandas as pd

    customers = _csv(
        tmp_path / "c.csv",
        "id,name,lon,lat,weight,city,province\n"
        "A,甲,116.4,39.9,3,北京,北京\nB,乙,121.5,31.2,5,上海,上海\nC,丙,116.5,39.95,2,北京,北京\n",
    )
    sites = _csv(
        tmp_path / "s.csv", "id,lon,lat,tier,status\nS1,116.4,39.9,regional_hub,existing\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--demand",
            str(customers),
            "--sites",
            str(sites),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    points = pd.read_csv(tmp_path / "o" / "coverage.csv", dtype=str, keep_default_na=False)
    assert list(points.columns) == [
        "id", "lon", "lat", "weight", "nearest_site", "nearest_tier", "distance_km", "covered",
        "covering_site", "n_covering", "name", "city", "province",
    ]  # fmt: skip
    assert points["city"].tolist() == ["北京", "上海", "北京"]
    uncovered = points[points["covered"] == "False"]
    assert uncovered["city"].tolist() == ["上海"]


def test_layer_of_a_geopackage_comes_from_the_section(tmp_path: Path) -> None:
    import geopandas as gpd

    path = tmp_path / "both.gpkg"
    for layer, lon in (("customers", 116.4), ("other", 100.0)):
        frame = gpd.GeoDataFrame(
            {"编号": ["A"], "次数": [4.0]},
            geometry=gpd.points_from_xy([lon], [39.9]),
            crs="EPSG:4326",
        )
        frame.to_file(path, layer=layer, driver="GPKG")
    scenario = _scenario('[inputs.customers]\nlayer = "customers"\nid = "编号"\nweight = "次数"')
    gdf = read_customers(path, scenario=scenario)  # type: ignore[arg-type]
    assert gdf.geometry.x.iloc[0] == pytest.approx(116.4)
    assert gdf["id"].tolist() == ["A"] and gdf["weight"].tolist() == [4.0]


def test_validate_prints_the_weight_and_converts_gcj02(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(116.397, 39.908)
    path = _csv(tmp_path / "p.csv", f"id,lon,lat\nA,{glon[0]:.10f},{glat[0]:.10f}\n")
    result = CliRunner().invoke(app, ["validate", str(path), "--crs", "GCJ-02"])
    assert result.exit_code == 0, result.output
    assert "GCJ-02 (converted to WGS84)" in result.output
    assert "1.0 for every row (no weight column)" in result.output
    assert "116.3970" in result.output  # the bounding box is WGS84


def test_missing_column_from_an_input_option_names_the_option(tmp_path: Path) -> None:
    path = _csv(tmp_path / "s.csv", "id,lon,lat,tier\nS1,116.4,39.9,regional_hub\n")
    result = CliRunner().invoke(
        app, ["validate", str(path), "--kind", "sites", "--input", "sites.status=状況"]
    )
    assert result.exit_code == 2
    assert "status column '状況' (from --input sites.status) not found" in result.output
