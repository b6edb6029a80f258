from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import netplan.reach as reach_module
from netplan.config import EARTH_RADIUS_KM, default_scenario, scenario_from_dict
from netplan.errors import ConfigError, InputError
from netplan.reach import (
    chord_from_km,
    great_circle_km,
    km_from_chord,
    reach_from_arrays,
    reach_from_points,
    read_matrix,
    threshold,
    unit_xyz,
)


def haversine_km(lon1, lat1, lon2, lat2):
    """Textbook haversine, independent of the engine's atan2 form."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def demand_frame(lon, lat, grade=None):
    data = {"id": [f"d{i}" for i in range(len(lon))], "weight": np.ones(len(lon))}
    if grade is not None:
        data["grade"] = grade
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def site_frame(lon, lat, tiers, status=None):
    n = len(lon)
    return gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "tier": list(tiers),
            "status": list(status) if status is not None else ["existing"] * n,
            "fixed_cost": np.zeros(n),
            "capacity": np.full(n, np.inf),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


SCENARIO = scenario_from_dict(
    {
        "tiers": {
            "hub": {"radius_km": 400},
            "station": {"radius_km": 60, "grade_radius_km": {"A": 30, "C": 120}},
            "point": {"response_hours": 1, "speed_kmh": 50, "detour_factor": 1.25},
        }
    }
)


def random_instance(rng, n, m, where):
    if where == "antimeridian":
        lon = rng.uniform(175, 185, n)
        slon = rng.uniform(175, 185, m)
        lat = rng.uniform(-10, 10, n)
        slat = rng.uniform(-10, 10, m)
        lon = np.where(lon > 180, lon - 360, lon)
        slon = np.where(slon > 180, slon - 360, slon)
    elif where == "pole":
        lon = rng.uniform(-180, 180, n)
        slon = rng.uniform(-180, 180, m)
        lat = rng.uniform(86, 90, n)
        slat = rng.uniform(86, 90, m)
    else:
        lon = rng.uniform(100, 110, n)
        slon = rng.uniform(100, 110, m)
        lat = rng.uniform(25, 32, n)
        slat = rng.uniform(25, 32, m)
    return lon, lat, slon, slat


def test_geometry_helpers():
    assert great_circle_km(0, 0, 180, 0) == pytest.approx(np.pi * EARTH_RADIUS_KM)
    assert great_circle_km(179.9, 0, -179.9, 0) == pytest.approx(
        0.2 * np.pi / 180 * EARTH_RADIUS_KM
    )
    km = np.array([0.0, 0.001, 12.5, 3000.0, 20000.0])
    assert km_from_chord(chord_from_km(km)) == pytest.approx(km, rel=1e-12, abs=1e-9)
    xyz = unit_xyz([0, 90, 0], [0, 0, 90])
    assert xyz == pytest.approx(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), abs=1e-15)
    rng = np.random.default_rng(1)
    a, b, c, d = (
        rng.uniform(-180, 180, 50),
        rng.uniform(-90, 90, 50),
        rng.uniform(-180, 180, 50),
        rng.uniform(-90, 90, 50),
    )
    assert great_circle_km(a, b, c, d) == pytest.approx(
        haversine_km(a, b, c, d), rel=1e-9, abs=1e-6
    )


@pytest.mark.parametrize("where", ["china", "antimeridian", "pole"])
@pytest.mark.parametrize("model", ["great_circle", "road_estimate"])
@pytest.mark.parametrize(
    "route", ["pairs", "dense", "public-sort", "unsorted", "no-packed-sort", "threads"]
)
def test_matches_brute_force(where, model, route, monkeypatch):
    # Every internal route must give the brute-force answer: nearest sites read from
    # the pairs or from a k=1 query, the packed-key, radix or public CSR sort, and
    # chunks built on several threads.
    if route in ("public-sort", "no-packed-sort"):
        monkeypatch.setattr(reach_module, "_row_col_order", lambda *args: None)
    if route == "dense":
        monkeypatch.setattr(reach_module, "_DENSE_PAIRS_PER_POINT", 0)
    elif route == "public-sort":
        monkeypatch.setattr(reach_module, "_coo_tocsr", None)
    elif route == "pairs":
        monkeypatch.setattr(reach_module, "_DENSE_PAIRS_PER_POINT", 10**9)
    rng = np.random.default_rng([len(where), len(model), ord(where[0])])
    lon, lat, slon, slat = random_instance(rng, 700, 40, where)
    grades = rng.choice(np.array(["A", "B", "C", None], dtype=object), 700)
    tiers = rng.choice(["hub", "station", "point"], 40, p=[0.1, 0.5, 0.4])
    scenario = scenario_from_dict(
        {
            "scenario": {"distance_model": model},
            "tiers": {
                "hub": {"radius_km": 400},
                "station": {"radius_km": 60, "grade_radius_km": {"A": 30, "C": 120}},
                "point": {"response_hours": 1, "speed_kmh": 50, "detour_factor": 1.25},
            },
        }
    )
    demand = demand_frame(lon, lat, grades)
    sites = site_frame(slon, slat, tiers)
    reach = reach_from_points(
        demand,
        sites,
        scenario,
        chunk_size=97,
        sort_indices=route != "unsorted",
        workers=3 if route == "threads" else None,
    )
    if route != "unsorted":
        assert reach.matrix.has_sorted_indices
    reach.matrix.sort_indices()

    gc = haversine_km(lon[:, None], lat[:, None], slon[None, :], slat[None, :])
    scale = np.array(
        [scenario.tiers[t].detour_factor if model == "road_estimate" else 1.0 for t in tiers]
    )
    dist = gc * scale[None, :]
    limit = np.array(
        [[threshold(scenario.tiers[t], g, distance_model=model) for t in tiers] for g in grades]
    )
    expected = dist <= limit
    dense = np.zeros_like(expected)
    rows = np.repeat(np.arange(700), np.diff(reach.matrix.indptr))
    dense[rows, reach.matrix.indices] = True
    assert (dense == expected).all()
    assert expected.sum() > 50  # the instance is not trivial
    assert np.asarray(reach.matrix.data) == pytest.approx(
        dist[rows, reach.matrix.indices], rel=1e-9, abs=1e-6
    )
    assert reach.nearest_site.tolist() == dist.argmin(axis=1).tolist()
    assert reach.nearest_distance == pytest.approx(dist.min(axis=1), rel=1e-9, abs=1e-6)
    assert reach.n_covering().tolist() == expected.sum(axis=1).tolist()
    assert reach.unit == "km"
    assert reach.distance_model == model


def test_grade_radii_and_response_time():
    # Station at (0, 0); demand points due north at 25, 45, 100 km.
    lat = np.array([25.0, 45.0, 100.0, 25.0, 45.0, 100.0, 45.0]) / (np.pi / 180 * EARTH_RADIUS_KM)
    lon = np.zeros(7)
    grades = ["A", "A", "A", "C", "C", "C", None]
    reach = reach_from_points(
        demand_frame(lon, lat, grades), site_frame([0.0], [0.0], ["station"]), SCENARIO
    )
    assert reach.n_covering().tolist() == [1, 0, 0, 1, 1, 1, 1]
    # response time 1 h at 50 km/h with detour 1.25 reaches 40 great-circle km
    point = reach_from_points(
        demand_frame(lon, lat, grades), site_frame([0.0], [0.0], ["point"]), SCENARIO
    )
    assert point.n_covering().tolist() == [1, 0, 0, 1, 0, 0, 0]
    assert threshold(
        SCENARIO.tiers["point"], None, distance_model="road_estimate"
    ) == pytest.approx(50.0)


def test_zero_distance_stored_and_covering_nearest():
    demand = demand_frame([10.0, 10.1, 50.0], [20.0, 20.0, 0.0])
    sites = site_frame([10.0, 10.05, 10.0], [20.0, 20.0, 20.0], ["station", "station", "hub"])
    reach = reach_from_points(demand, sites, SCENARIO)
    assert reach.matrix.nnz == 6
    assert 0.0 in np.asarray(reach.matrix.data)
    site, dist = reach.covering_nearest()
    assert site.tolist() == [0, 1, -1]
    assert dist[0] == 0.0 and np.isinf(dist[2])
    assert reach.nearest_site[2] == 1  # (10.05, 20) is the closest to (50, 0)


def test_competitors_reach_nothing_but_are_nearest():
    demand = demand_frame([10.0], [20.0])
    sites = site_frame([10.0, 10.5], [20.0, 20.0], [None, "station"], ["competitor", "existing"])
    reach = reach_from_points(demand, sites, SCENARIO)
    assert reach.site_tiers.tolist() == [None, "station"]
    assert reach.nearest_site.tolist() == [0]
    assert reach.matrix.indices.tolist() == [1]


def test_subset_sites_recomputes_nearest():
    rng = np.random.default_rng(5)
    lon, lat, slon, slat = random_instance(rng, 300, 30, "china")
    tiers = rng.choice(["hub", "station"], 30, p=[0.2, 0.8])
    reach = reach_from_points(demand_frame(lon, lat), site_frame(slon, slat, tiers), SCENARIO)
    keep = np.zeros(30, dtype=bool)
    keep[[3, 7, 20]] = True
    sub = reach.subset_sites(keep)
    direct = reach_from_points(
        demand_frame(lon, lat), site_frame(slon, slat, tiers)[keep], SCENARIO
    )
    assert sub.site_ids.tolist() == ["s3", "s7", "s20"]
    assert (sub.matrix != direct.matrix).nnz == 0
    assert sub.matrix.nnz == direct.matrix.nnz
    assert sub.nearest_site.tolist() == direct.nearest_site.tolist()
    assert sub.nearest_distance == pytest.approx(direct.nearest_distance)
    again = reach.subset_sites([20, 3])
    assert again.site_ids.tolist() == ["s20", "s3"]
    assert again.n_covering().tolist() == reach.subset_sites([3, 20]).n_covering().tolist()


def test_progress_callback_and_empty_sites():
    calls = []
    demand = demand_frame(np.linspace(100, 101, 25), np.full(25, 30.0))
    reach = reach_from_points(
        demand,
        site_frame([], [], []),
        SCENARIO,
        chunk_size=10,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(10, 25), (20, 25), (25, 25)]
    assert (reach.nearest_site == -1).all() and np.isinf(reach.nearest_distance).all()
    assert reach.matrix.shape == (25, 0)


def test_unknown_tier_is_a_config_error():
    with pytest.raises(ConfigError, match="tier 'depot' is not defined"):
        reach_from_points(demand_frame([0.0], [0.0]), site_frame([0.0], [0.0], ["depot"]), SCENARIO)


def test_matrix_model_requires_a_matrix():
    scenario = scenario_from_dict(
        {"scenario": {"distance_model": "matrix"}, "tiers": {"hub": {"radius_km": 5}}}
    )
    with pytest.raises(ConfigError, match="pass --matrix FILE"):
        reach_from_points(demand_frame([0.0], [0.0]), site_frame([0.0], [0.0], ["hub"]), scenario)


def test_matrix_overrides_distances(tmp_path):
    demand = demand_frame([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], ["A", "B", None])
    sites = site_frame([0.0, 0.0], [0.0, 0.0], ["station", "hub"])
    path = tmp_path / "matrix.csv"
    path.write_text(
        "demand_id,site_id,cost\n"
        "d0,s0,35\n"  # A: station reaches 30 -> no
        "d1,s0,35\n"  # default 60 -> yes
        "d1,s1,500\n"  # hub 400 -> no
        "d2,s1,399.5\n",  # hub -> yes; d2 has no pair with s0: unreachable although co-located
        encoding="utf-8",
    )
    reach = reach_from_points(demand, sites, SCENARIO, matrix=path)
    assert reach.distance_model == "matrix" and reach.unit == "km"
    assert reach.n_covering().tolist() == [0, 1, 1]
    assert reach.nearest_site.tolist() == [0, 0, 1]
    assert reach.nearest_distance.tolist() == [35.0, 35.0, 399.5]
    sub = reach.subset_sites([1])
    assert sub.nearest_site.tolist() == [-1, 0, 0]
    assert sub.nearest_distance[1] == 500.0


def test_matrix_in_minutes():
    scenario = scenario_from_dict(
        {
            "scenario": {"matrix_unit": "minutes"},
            "tiers": {"hub": {"response_hours": 2}, "station": {"radius_km": 30, "speed_kmh": 60}},
        }
    )
    demand = demand_frame([0.0, 0.0], [0.0, 0.0])
    sites = site_frame([0.0, 0.0], [0.0, 0.0], ["hub", "station"])
    frame = pd.DataFrame(
        {"demand_id": ["d0", "d0", "d1"], "site_id": ["s0", "s1", "s1"], "cost": [120, 31, 30]}
    )
    reach = reach_from_points(demand, sites, scenario, matrix=frame)
    assert reach.unit == "minutes"
    assert reach.n_covering().tolist() == [1, 1]
    assert reach.matrix.indices.tolist() == [0, 1]


def test_matrix_unknown_ids_name_file_row_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("demand_id,site_id,cost\nd0,s0,1\nd9,s0,2\nd0,s7,3\n", encoding="utf-8")
    demand = demand_frame([0.0], [0.0])
    sites = site_frame([0.0], [0.0], ["hub"])
    with pytest.raises(InputError) as info:
        reach_from_points(demand, sites, SCENARIO, matrix=path)
    lines = info.value.lines()
    expected = "unknown demand id 'd9'; it is not among the demand points given"
    assert lines[0] == f"{path}, row 3, column 'demand_id': {expected}"
    assert lines[1].startswith(f"{path}, row 4, column 'site_id': unknown site id 's7'")


def test_matrix_bad_cost_and_columns(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("demand_id,site_id,cost\nd0,s0,-1\nd0,s0,x\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"row 2, column 'cost': cost '-1' is not a number 0 or more"
    ):
        read_matrix(path)
    path.write_text("demand,site_id,cost\nd0,s0,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing: demand_id"):
        read_matrix(path)
    path.write_text("demand_id,site_id,cost\nd0,s0,1\nd0,s0,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column 'site_id': duplicate pair \(d0, s0\)"):
        reach_from_points(
            demand_frame([0.0], [0.0]), site_frame([0.0], [0.0], ["hub"]), SCENARIO, matrix=path
        )


def test_matrix_parquet(tmp_path):
    path = tmp_path / "m.parquet"
    pd.DataFrame({"demand_id": ["d0"], "site_id": ["s0"], "cost": [3.0]}).to_parquet(path)
    reach = reach_from_points(
        demand_frame([0.0], [0.0]), site_frame([0.0], [0.0], ["hub"]), SCENARIO, matrix=path
    )
    assert reach.matrix.nnz == 1


def test_projected_frames_are_refused():
    demand = demand_frame([100.0], [30.0]).to_crs("EPSG:3857")
    with pytest.raises(InputError, match="to_crs"):
        reach_from_points(demand, site_frame([0.0], [0.0], ["hub"]), default_scenario())


def test_reach_from_arrays_matches_the_frame_api():
    rng = np.random.default_rng(21)
    lon, lat, slon, slat = random_instance(rng, 400, 25, "china")
    grades = rng.choice(np.array(["A", "B", "C"], dtype=object), 400)
    tiers = rng.choice(["hub", "station", "point"], 25)
    frames = reach_from_points(
        demand_frame(lon, lat, grades), site_frame(slon, slat, tiers), SCENARIO
    )
    arrays = reach_from_arrays(lon, lat, slon, slat, tiers, SCENARIO, grades=grades, chunk_size=64)
    assert (frames.matrix != arrays.matrix).nnz == 0
    assert frames.matrix.nnz == arrays.matrix.nnz
    assert arrays.nearest_site.tolist() == frames.nearest_site.tolist()
    assert arrays.demand_ids.tolist() == list(range(400))  # positions stand in for ids
    no_grades = reach_from_arrays(lon, lat, slon, slat, tiers, SCENARIO)
    assert (
        no_grades.n_covering().tolist()
        == reach_from_points(demand_frame(lon, lat), site_frame(slon, slat, tiers), SCENARIO)
        .n_covering()
        .tolist()
    )
    with pytest.raises(ValueError, match="pass demand_ids and site_ids"):
        reach_from_arrays(lon, lat, slon, slat, tiers, SCENARIO, matrix=pd.DataFrame())
    with pytest.raises(ValueError, match="site_tiers has 2 entries for 25 sites"):
        reach_from_arrays(lon, lat, slon, slat, ["hub", "hub"], SCENARIO)


def test_threads_build_the_same_matrix_as_one_thread():
    rng = np.random.default_rng(5)
    lon, lat, slon, slat = random_instance(rng, 20_000, 300, "china")
    tiers = rng.choice(["hub", "station", "point"], 300, p=[0.02, 0.5, 0.48])
    grades = rng.choice(np.array(["A", "B", "C", None], dtype=object), 20_000)
    built = [
        reach_from_arrays(
            lon, lat, slon, slat, tiers, SCENARIO, grades=grades, chunk_size=1500, workers=w
        )
        for w in (1, 2, 5)
    ]
    for other in built[1:]:
        for name in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(
                getattr(other.matrix, name), getattr(built[0].matrix, name)
            )
        np.testing.assert_array_equal(other.nearest_site, built[0].nearest_site)
        np.testing.assert_array_equal(other.nearest_distance, built[0].nearest_distance)
    with pytest.raises(ValueError, match="workers must be 1 or more"):
        reach_from_arrays(lon, lat, slon, slat, tiers, SCENARIO, workers=0)


def test_packed_key_sort_matches_the_counting_sort():
    rng = np.random.default_rng(9)
    for n_rows, n_cols, n_pairs in ((1, 1, 1), (50, 7, 200), (3000, 40_000, 60_000)):
        key = rng.choice(n_rows * n_cols, size=min(n_pairs, n_rows * n_cols), replace=False)
        rows, cols = (key // n_cols).astype(np.int32), (key % n_cols).astype(np.int32)
        data = rng.random(rows.size)
        packed = reach_module._row_col_order(rows, cols, n_rows, n_cols)
        assert packed is not None
        counts, sorted_cols, order = packed
        expected = reach_module._sort_by_row_col(rows, cols, data, n_rows, n_cols)
        np.testing.assert_array_equal(counts, expected[0])
        np.testing.assert_array_equal(sorted_cols, expected[1])
        np.testing.assert_array_equal(data[order], expected[2])
    wide = np.zeros(1, dtype=np.int32)
    assert reach_module._row_col_order(wide, wide, 2**40, 2**30) is None


@pytest.mark.parametrize("order", ["far-first", "near-first"])
def test_matrix_buffer_sized_from_the_first_chunk(order, monkeypatch):
    # The entries go into one buffer reserved from the first chunk's density; points
    # sorted so that the projection is far too small (or too large) still give the
    # same matrix as chunks joined at the end.
    rng = np.random.default_rng(17)
    lon, lat, slon, slat = random_instance(rng, 6000, 80, "china")
    far = np.arange(6000) < 3000
    lon = np.where(far, lon - 60.0, lon)  # half the demand 60 degrees west: no site near
    key = far if order == "near-first" else ~far
    lon, lat = lon[np.argsort(key, kind="stable")], lat[np.argsort(key, kind="stable")]
    tiers = np.full(80, "station", dtype=object)
    built = reach_from_arrays(lon, lat, slon, slat, tiers, SCENARIO, chunk_size=500)
    monkeypatch.setattr(reach_module._Entries, "reserve", lambda self, capacity: None)
    monkeypatch.setattr(
        reach_module._Entries,
        "append",
        lambda self, c, v: self.overflow.append((c, v)),
    )

    def joined(self):
        return np.concatenate([c for c, _ in self.overflow]), np.concatenate(
            [v for _, v in self.overflow]
        )

    monkeypatch.setattr(reach_module._Entries, "arrays", joined)
    expected = reach_from_arrays(lon, lat, slon, slat, tiers, SCENARIO, chunk_size=500)
    assert built.matrix.nnz > 1000
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(built.matrix, name), getattr(expected.matrix, name))
