from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from netplan import CoverageResult, coverage_from_points
from netplan.blindspots import BlindspotOptions
from netplan.config import EARTH_RADIUS_KM, scenario_from_dict
from netplan.coverage import POINT_COLUMNS, summary_json
from netplan.errors import ConfigError, InputError, InputWarning

KM_PER_DEGREE = np.pi / 180 * EARTH_RADIUS_KM

SCENARIO = scenario_from_dict(
    {
        "scenario": {"name": "tiny"},
        "tiers": {
            "hub": {"radius_km": 100},
            "station": {
                "radius_km": 20,
                "grade_radius_km": {"A": 10},
                "parent": "hub",
                "support_radius_km": 50,
            },
        },
    }
)


def deg(km: float) -> float:
    return km / KM_PER_DEGREE


def tiny_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["S1", "S2", "S3", "S4", "S5"],
            "tier": ["hub", "station", "station", None, "station"],
            "status": ["existing", "existing", "candidate", "competitor", "closed"],
            "fixed_cost": [0.0] * 5,
            "capacity": [np.inf] * 5,
        },
        geometry=gpd.points_from_xy([0.0, 1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 0.5, 2.0, 0.0]),
        crs="EPSG:4326",
    )


def tiny_demand() -> gpd.GeoDataFrame:
    lon = [deg(5), 1 + deg(15), 1 - deg(15), 1 + deg(15), 3.0]
    return gpd.GeoDataFrame(
        {
            "id": ["d1", "d2", "d3", "d4", "d5"],
            "weight": [10.0, 5.0, 3.0, 2.0, 4.0],
            "grade": ["A", "B", "B", "A", "C"],
            "province": ["P1", "P1", "P2", "P2", "P2"],
        },
        geometry=gpd.points_from_xy(lon, [0.0] * 5),
        crs="EPSG:4326",
    )


@pytest.fixture
def tiny() -> CoverageResult:
    return coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO)


def test_points_frame(tiny):
    points = tiny.points
    assert list(points.columns) == [*POINT_COLUMNS, "grade", "province", "geometry"]
    assert points["province"].tolist() == ["P1", "P1", "P2", "P2", "P2"]  # passed through
    assert points["id"].tolist() == ["d1", "d2", "d3", "d4", "d5"]
    assert points["covered"].tolist() == [True, True, True, False, False]
    assert points["n_covering"].tolist() == [1, 1, 2, 0, 0]
    assert points["covering_site"].fillna("-").tolist() == ["S1", "S2", "S2", "-", "-"]
    # S5 is closed: d5's nearest counting outlet is S2, 222 km away
    assert points["nearest_site"].tolist() == ["S1", "S2", "S2", "S2", "S2"]
    assert points["nearest_tier"].tolist() == ["hub", "station", "station", "station", "station"]
    assert points["distance_km"].to_numpy() == pytest.approx([5, 15, 15, 15, 2 * KM_PER_DEGREE])
    assert tiny.reach.site_ids.tolist() == ["S1", "S2"]


def test_hand_computed_kpis(tiny):
    s = tiny.summary()
    assert s["n_demand"] == 5
    assert s["total_weight"] == 24
    assert s["n_covered"] == 3
    assert s["covered_weight"] == 18
    assert s["coverage_rate"] == pytest.approx(0.6)
    assert s["weighted_coverage_rate"] == pytest.approx(0.75)
    assert s["overlap_rate"] == pytest.approx(3 / 18)
    assert s["by_tier"]["hub"]["covered_weight"] == 13
    assert s["by_tier"]["hub"]["weighted_coverage_rate"] == pytest.approx(13 / 24)
    assert s["by_tier"]["station"]["covered_weight"] == 8
    assert s["by_tier"]["station"]["n_sites"] == 1
    assert s["by_tier"]["station"]["n_primary"] == 2  # d2 and d3 (S2 is closer to d3 than S1)
    assert s["by_grade"]["A"]["weighted_coverage_rate"] == pytest.approx(10 / 12)
    assert s["by_grade"]["B"]["weighted_coverage_rate"] == 1.0
    assert s["by_grade"]["C"]["weighted_coverage_rate"] == 0.0
    assert s["by_region"]["province"]["P1"]["weighted_coverage_rate"] == 1.0
    assert s["by_region"]["province"]["P2"]["covered_weight"] == 3
    dist = np.array([5, 15, 15, 15, 2 * KM_PER_DEGREE])
    assert s["distance_km"]["mean"] == pytest.approx(dist.mean())
    assert s["distance_km"]["p50"] == pytest.approx(15)
    assert s["distance_km"]["p95"] == pytest.approx(np.percentile(dist, 95))
    assert s["distance_km"]["max"] == pytest.approx(dist.max())
    chain = s["support_chain"]["station"]
    assert chain["n_unsupported"] == 1 and chain["unsupported_sites"] == ["S2"]
    assert s["n_blindspots"] == 2
    assert s["blindspot_weight"] == 6
    assert s["distance_model"] == "great_circle"
    assert s["warnings"] == []
    assert s["sites_by_status"] == {"candidate": 1, "closed": 1, "competitor": 1, "existing": 2}


def test_blindspots_sorted_and_add_up(tiny):
    zones = tiny.blindspots
    assert zones["zone_id"].tolist() == ["Z0001", "Z0002"]
    assert zones["weight"].tolist() == [4.0, 2.0]
    assert zones["weight"].sum() == tiny.summary()["uncovered_weight"]
    assert zones["nearest_site"].tolist() == ["S2", "S2"]
    assert zones["distance_km"].to_numpy() == pytest.approx([2 * KM_PER_DEGREE, 15])
    assert (zones["area_km2"] > 0).all()


def test_support_chain_ok_when_hub_near():
    sites = tiny_sites()
    sites.loc[0, "geometry"] = gpd.points_from_xy([1.2], [0.0])[0]
    s = coverage_from_points(tiny_demand(), sites, SCENARIO).summary()
    assert s["support_chain"]["station"]["n_unsupported"] == 0


def test_no_existing_outlet_warns_in_summary():
    sites = tiny_sites()
    sites["status"] = ["candidate", "candidate", "candidate", "competitor", "closed"]
    with pytest.warns(InputWarning, match="no site has status existing or required"):
        result = coverage_from_points(tiny_demand(), sites, SCENARIO)
    s = result.summary()
    assert s["n_covered"] == 0 and s["weighted_coverage_rate"] == 0.0
    assert len(s["warnings"]) == 1
    assert result.points["nearest_site"].isna().all()
    assert s["distance_km"]["mean"] is None
    assert s["blindspot_weight"] == 24


def test_required_only_warns():
    sites = tiny_sites()
    sites["status"] = ["required", "required", "candidate", "competitor", "closed"]
    with pytest.warns(
        InputWarning, match="no site has status existing; coverage counts the 2 required"
    ):
        result = coverage_from_points(tiny_demand(), sites, SCENARIO)
    assert result.summary()["n_covered"] == 3


def test_zero_total_weight_is_an_error():
    demand = tiny_demand()
    demand["weight"] = 0.0
    with pytest.raises(InputError, match="total demand weight is 0"):
        coverage_from_points(demand, tiny_sites(), SCENARIO)


def test_unknown_tier_is_an_error():
    sites = tiny_sites()
    sites.loc[1, "tier"] = "depot"
    with pytest.raises(ConfigError, match="tier 'depot' is not defined in the scenario"):
        coverage_from_points(tiny_demand(), sites, SCENARIO)


def test_matrix_overrides_distances():
    # Only d5 has a pair with S2 (and a cheap one); every other pair is absent: unreachable.
    matrix = pd.DataFrame({"demand_id": ["d5", "d1"], "site_id": ["S2", "S3"], "cost": [12.0, 1.0]})
    result = coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO, matrix=matrix)
    points = result.points
    assert points["covered"].tolist() == [False, False, False, False, True]
    assert points["distance_km"].iloc[4] == 12.0
    assert pd.isna(points["nearest_site"].iloc[0])  # S3 is a candidate: it does not count
    assert result.summary()["distance_model"] == "matrix"


def test_matrix_unknown_site_is_an_error():
    matrix = pd.DataFrame({"demand_id": ["d5"], "site_id": ["S9"], "cost": [1.0]})
    with pytest.raises(InputError, match="unknown site id 'S9'"):
        coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO, matrix=matrix)


def test_customers_reported_by_count():
    customers = tiny_demand().iloc[[0, 3]].copy()
    customers["id"] = ["c1", "c2"]
    customers["weight"] = 1.0
    s = coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO, customers=customers).summary()
    assert s["customers"]["n_demand"] == 2
    assert s["customers"]["n_covered"] == 1
    assert s["customers"]["coverage_rate"] == 0.5


def test_min_zone_weight_drops_light_zones():
    options = BlindspotOptions(min_zone_weight=3.0)
    result = coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO, blindspots=options)
    s = result.summary()
    assert s["n_blindspots"] == 1
    assert s["blindspot_weight"] == 4 and s["dropped_zone_weight"] == 2


def test_no_blindspots_option():
    result = coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO, blindspots=None)
    assert len(result.blindspots) == 0
    assert result.summary()["n_blindspots"] == 0


def test_progress_is_reported():
    calls: list[tuple[int, int]] = []
    coverage_from_points(
        tiny_demand(), tiny_sites(), SCENARIO, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (5, 5)


@pytest.mark.parametrize("fmt", ["csv", "geojson", "parquet", "gpkg"])
def test_to_files_byte_identical_and_readable(tmp_path: Path, fmt: str):
    first = coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO).to_files(
        tmp_path / "a", fmt=fmt
    )
    second = coverage_from_points(tiny_demand(), tiny_sites(), SCENARIO).to_files(
        tmp_path / "b", fmt=fmt
    )
    for name in ("coverage", "blindspots", "summary"):
        assert first[name].read_bytes() == second[name].read_bytes(), name
    assert first["coverage"].name == f"coverage.{fmt}"
    if fmt == "parquet":  # GDAL's Parquet driver is optional; GeoParquet reads with geopandas
        back = gpd.read_parquet(first["coverage"])
        assert back["id"].tolist() == ["d1", "d2", "d3", "d4", "d5"]
    elif fmt != "csv":
        back = pyogrio.read_dataframe(first["coverage"])
        assert back["id"].tolist() == ["d1", "d2", "d3", "d4", "d5"]
        assert back["covered"].tolist() == [True, True, True, False, False]
    else:
        back = pd.read_csv(first["coverage"])
        assert list(back.columns) == [*POINT_COLUMNS, "grade", "province"]
    zones = pyogrio.read_dataframe(first["blindspots"])
    assert zones["zone_id"].tolist() == ["Z0001", "Z0002"]
    summary = json.loads(first["summary"].read_text(encoding="utf-8"))
    assert summary["weighted_coverage_rate"] == 0.75


def test_summary_json_is_stable():
    text = summary_json({"b": 1 / 3, "a": np.float64(2.0), "c": [np.int64(1), float("nan")]})
    assert text == '{\n  "a": 2.0,\n  "b": 0.3333333333,\n  "c": [\n    1,\n    null\n  ]\n}\n'


def test_empty_blindspots_file_is_readable(tmp_path: Path):
    sites = tiny_sites()
    sites.loc[0, "tier"] = "hub"
    demand = tiny_demand().iloc[[0]]
    paths = coverage_from_points(demand, sites, SCENARIO).to_files(tmp_path)
    assert len(pyogrio.read_dataframe(paths["blindspots"])) == 0


def _random_network(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    n, m = 3_000, 40
    demand = gpd.GeoDataFrame(
        {
            "id": [f"d{k}" for k in range(n)],
            "weight": rng.integers(1, 9, n).astype(float),
            "grade": rng.choice(["A", "B", None], n),
        },
        geometry=gpd.points_from_xy(rng.uniform(0, 3, n), rng.uniform(-1, 1, n)),
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {
            "id": [f"S{k}" for k in range(m)],
            "tier": rng.choice(["hub", "station"], m),
            "status": rng.choice(["existing", "existing", "candidate", "competitor"], m),
        },
        geometry=gpd.points_from_xy(rng.uniform(0, 3, m), rng.uniform(-1, 1, m)),
        crs="EPSG:4326",
    )
    return demand, sites


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_without_a_matrix_builds_none_and_equals_the_matrix_route(seed, monkeypatch):
    """Distances alone: the matrix-free kernel gives the per-point figures and the KPIs, equal
    to those read from a reach matrix; ``result.reach`` builds the matrix on first access."""
    import netplan.reach
    from netplan.reach import reach_from_points

    demand, sites = _random_network(seed)
    counting = sites["status"].isin(["existing", "required"]).to_numpy()
    matrix = reach_from_points(demand, sites, SCENARIO)  # against every site, as a plan has it
    by_matrix = coverage_from_points(demand, sites, SCENARIO, reach=matrix)

    builds: list[int] = []
    original = netplan.reach.reach_from_arrays

    def counted(*args, **kwargs):
        builds.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(netplan.reach, "reach_from_arrays", counted)
    free = coverage_from_points(demand, sites, SCENARIO)
    assert builds == []  # no matrix built for the figures
    pd.testing.assert_frame_equal(free.points, by_matrix.points)
    assert free.summary() == by_matrix.summary()
    assert free.blindspots.to_json() == by_matrix.blindspots.to_json()
    reach = free.reach  # built now, once, and kept
    assert builds == [1]
    assert free.reach is reach
    expected = matrix.subset_sites(counting)
    assert reach.site_ids.tolist() == expected.site_ids.tolist()
    assert (reach.matrix != expected.matrix).nnz == 0
