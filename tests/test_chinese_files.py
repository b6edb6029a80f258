"""A Chinese company's own files, end to end: GB18030, Chinese headers and values, GCJ-02.

The done-when test of issue 14: customers with headers ``编号,经度,纬度,年服务次数`` in
GCJ-02 and sites with ``编号,名称,经度,纬度,网点类型,状态`` (values ``区域服务中心``/
``城市服务站`` and ``现有``/``候选``), mapped by the scenario's ``[inputs.*]``; every
command runs on them and coverage equals a brute-force haversine on the WGS84 truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.chinacrs import wgs84_to_gcj02
from netplan.cli import app
from netplan.config import load_scenario
from netplan.io import read_customers, read_sites

EARTH_RADIUS_KM = 6371.0088

SCENARIO = """\
[scenario]
name = "own files"

[tiers.regional_hub]
label = "Regional hub"
label_zh = "区域服务中心"
radius_km = 150
fixed_cost = 3000000

[tiers.city_station]
label = "City station"
label_zh = "城市服务站"
radius_km = 60
parent = "regional_hub"
support_radius_km = 400
fixed_cost = 400000

[inputs.customers]
id = "编号"
lon = "经度"
lat = "纬度"
weight = "年服务次数"
crs = "GCJ-02"

[inputs.sites]
id = "编号"
lon = "经度"
lat = "纬度"
crs = "GCJ-02"
tier = "网点类型"
status = "状态"
name = "名称"
"""

SITES_WGS84 = [
    ("S0", "武汉中心", 115.0, 30.0, "区域服务中心", "现有"),
    ("S1", "岳阳站", 113.5, 28.5, "城市服务站", "现有"),
    ("S2", "安庆站", 116.5, 31.5, "城市服务站", "候选"),
    ("S3", "咸宁站", 114.2, 29.1, "城市服务站", "候选"),
    ("S4", "南昌站", 116.0, 28.6, "城市服务站", "候选"),
    ("S5", "孝感站", 113.6, 31.4, "城市服务站", "现有"),
    ("S6", "黄冈站", 115.5, 31.0, "城市服务站", "候选"),
]
RADIUS = {"区域服务中心": 150.0, "城市服务站": 60.0}


def _haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: float, lat2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Write the company's files (GB18030, GCJ-02) and keep the WGS84 truth."""
    folder = tmp_path_factory.mktemp("company")
    rng = np.random.default_rng(14)
    n = 300
    lon = rng.uniform(113.0, 117.0, n)
    lat = rng.uniform(28.0, 32.0, n)
    weight = rng.integers(1, 50, n)
    glon, glat = wgs84_to_gcj02(lon, lat)
    offsets = _haversine_km(lon, lat, 0.0, 0.0) - _haversine_km(glon, glat, 0.0, 0.0)
    assert np.abs(offsets).max() > 0.05  # the files really are offset (tens of metres+)
    rows = ["编号,经度,纬度,年服务次数"] + [
        f"C{i:04d},{glon[i]:.9f},{glat[i]:.9f},{weight[i]}" for i in range(n)
    ]
    customers = folder / "客户.csv"
    customers.write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))
    site_lon = np.array([s[2] for s in SITES_WGS84])
    site_lat = np.array([s[3] for s in SITES_WGS84])
    sg_lon, sg_lat = wgs84_to_gcj02(site_lon, site_lat)
    rows = ["编号,名称,经度,纬度,网点类型,状态"] + [
        f"{s[0]},{s[1]},{sg_lon[i]:.9f},{sg_lat[i]:.9f},{s[4]},{s[5]}"
        for i, s in enumerate(SITES_WGS84)
    ]
    sites = folder / "网点.csv"
    sites.write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))
    scenario = folder / "scenario.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    return {
        "folder": folder,
        "customers": customers,
        "sites": sites,
        "scenario": scenario,
        "lon": lon,
        "lat": lat,
        "weight": weight.astype(float),
    }


def _brute_force(company: dict[str, object]) -> np.ndarray:
    lon, lat = company["lon"], company["lat"]
    covered = np.zeros(len(lon), dtype=bool)  # type: ignore[arg-type]
    for _id, _name, s_lon, s_lat, tier, status in SITES_WGS84:
        if status == "现有":
            covered |= _haversine_km(lon, lat, s_lon, s_lat) <= RADIUS[tier]  # type: ignore[arg-type]
    return covered


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_library_reads_the_files_as_wgs84(company: dict[str, object]) -> None:
    scenario = load_scenario(company["scenario"])  # type: ignore[arg-type]
    customers = read_customers(company["customers"], scenario=scenario)  # type: ignore[arg-type]
    sites = read_sites(company["sites"], scenario=scenario)  # type: ignore[arg-type]
    # Outputs are WGS84: the GCJ-02 offset is undone to well under a metre.
    error_km = _haversine_km(
        customers.geometry.x.to_numpy(), customers.geometry.y.to_numpy(), 0.0, 0.0
    ) - _haversine_km(company["lon"], company["lat"], 0.0, 0.0)  # type: ignore[arg-type]
    assert np.abs(error_km).max() < 1e-3
    np.testing.assert_allclose(customers.geometry.x, company["lon"], atol=1e-8)
    np.testing.assert_allclose(customers.geometry.y, company["lat"], atol=1e-8)
    assert customers["weight"].tolist() == list(company["weight"])  # type: ignore[call-overload]
    assert customers.attrs["netplan_source"]["source_crs"] == "GCJ-02 (converted to WGS84)"
    assert sites["tier"].tolist() == ["regional_hub"] + ["city_station"] * 6
    assert sites["status"].tolist() == [
        "existing", "existing", "candidate", "candidate", "candidate", "existing", "candidate",
    ]  # fmt: skip
    assert sites["name"].tolist()[0] == "武汉中心"


def test_every_command_runs_and_coverage_equals_brute_force(
    company: dict[str, object], tmp_path: Path
) -> None:
    files = [
        "--sites", str(company["sites"]), "--config", str(company["scenario"]),
    ]  # fmt: skip
    demand = ["--demand", str(company["customers"])]
    out = tmp_path
    _run(["coverage", *demand, *files, "--out", str(out / "coverage")])
    _run(["optimize", *demand, *files, "--out", str(out / "plan"), "--budget", "1000000"])
    _run(["score", *demand, *files, "--out", str(out / "scores")])
    _run(
        [
            "map", *demand, *files, "--coverage", str(out / "coverage"),
            "--plan", str(out / "plan"), "--scores", str(out / "scores"),
            "--out", str(out / "map.html"),
        ]
    )  # fmt: skip
    _run(
        [
            "report", "--coverage", str(out / "coverage"), "--plan", str(out / "plan"),
            "--scores", str(out / "scores"), "--config", str(company["scenario"]),
            "--out", str(out / "report.html"),
        ]
    )  # fmt: skip
    assert (out / "map.html").stat().st_size > 0
    assert (out / "report.html").stat().st_size > 0

    truth = _brute_force(company)
    weight = company["weight"]
    points = pd.read_csv(out / "coverage" / "coverage.csv", dtype={"id": str})
    points = points.set_index("id").loc[[f"C{i:04d}" for i in range(len(truth))]]
    assert points["covered"].to_numpy(dtype=bool).tolist() == truth.tolist()
    # The written coordinates are the WGS84 truth, not the GCJ-02 of the file.
    np.testing.assert_allclose(points["lon"], company["lon"], atol=1e-7)
    np.testing.assert_allclose(points["lat"], company["lat"], atol=1e-7)
    summary = json.loads((out / "coverage" / "summary.json").read_text(encoding="utf-8"))
    assert summary["coverage_rate"] == pytest.approx(truth.mean())
    expected = float(weight[truth].sum() / weight.sum())  # type: ignore[index, union-attr]
    assert summary["weighted_coverage_rate"] == pytest.approx(expected)
    assert summary["total_weight"] == pytest.approx(float(weight.sum()))  # type: ignore[union-attr]
    plan = pd.read_csv(out / "plan" / "plan.csv", dtype={"id": str})
    assert set(plan["tier"]) == {"regional_hub", "city_station"}


def test_the_same_with_input_options_and_no_scenario_sections(
    company: dict[str, object], tmp_path: Path
) -> None:
    scenario = tmp_path / "plain.toml"
    scenario.write_text(SCENARIO.split("[inputs.customers]")[0], encoding="utf-8")
    options = [
        "--input", "customers.weight=年服务次数", "--input", "customers.crs=GCJ-02",
        "--input", "sites.crs=gcj02", "--input", "sites.tier=网点类型",
    ]  # fmt: skip
    _run(
        [
            "coverage", "--demand", str(company["customers"]), "--sites", str(company["sites"]),
            "--config", str(scenario), "--out", str(tmp_path / "coverage"), *options,
        ]
    )  # fmt: skip
    summary = json.loads((tmp_path / "coverage" / "summary.json").read_text(encoding="utf-8"))
    truth = _brute_force(company)
    assert summary["coverage_rate"] == pytest.approx(truth.mean())


def test_csv_outputs_have_a_bom_by_default_and_read_back(
    company: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codecs

    import pyogrio

    args = [
        "coverage", "--demand", str(company["customers"]), "--sites", str(company["sites"]),
        "--config", str(company["scenario"]),
    ]  # fmt: skip
    _run([*args, "--out", str(tmp_path / "bom")])
    _run(["--plain-csv", *args, "--out", str(tmp_path / "plain")])
    with_bom = (tmp_path / "bom" / "coverage.csv").read_bytes()
    plain = (tmp_path / "plain" / "coverage.csv").read_bytes()
    assert with_bom.startswith(codecs.BOM_UTF8)
    assert not plain.startswith(codecs.BOM_UTF8)
    assert with_bom == codecs.BOM_UTF8 + plain
    for folder in ("bom", "plain"):
        path = tmp_path / folder / "coverage.csv"
        by_pandas = pd.read_csv(path, dtype={"id": str})
        by_gdal = pyogrio.read_dataframe(path)
        assert by_pandas.columns[0] == "id" == by_gdal.columns[0]
        assert by_pandas["id"].tolist() == by_gdal["id"].tolist()
    monkeypatch.setenv("NETPLAN_CSV_ENCODING", "utf-8")
    _run([*args, "--out", str(tmp_path / "env")])
    assert (tmp_path / "env" / "coverage.csv").read_bytes() == plain


def test_plain_csv_lasts_for_its_run_only(tmp_path: Path) -> None:
    import codecs

    from netplan.io import write_frame

    sites = Path(__file__).parent.parent / "data" / "samples" / "metro" / "sites.csv"
    _run(["--plain-csv", "validate", str(sites), "--kind", "sites"])
    path = write_frame(pd.DataFrame({"名称": ["甲"]}), tmp_path / "t.csv")
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
