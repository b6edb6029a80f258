"""The matrix-free reach kernel gives exactly what the reach matrix gives."""

from __future__ import annotations

import numpy as np
import pytest

from netplan.config import default_scenario, scenario_from_dict
from netplan.errors import ConfigError
from netplan.reach import (
    reach_counts_from_arrays,
    reach_counts_from_matrix,
    reach_from_arrays,
)


def _scenario(model: str):
    return scenario_from_dict(
        {
            "scenario": {"distance_model": model},
            "tiers": {
                "hub": {"radius_km": 150},
                "station": {"radius_km": 60, "grade_radius_km": {"A": 30, "C": 120}},
                "point": {"response_hours": 1, "speed_kmh": 50, "detour_factor": 1.25},
            },
        }
    )


def _instance(seed: int, n: int, m: int, where: str):
    rng = np.random.default_rng(seed)
    if where == "antimeridian":
        lon, slon = rng.uniform(175, 185, n), rng.uniform(175, 185, m)
        lon, slon = np.where(lon > 180, lon - 360, lon), np.where(slon > 180, slon - 360, slon)
        lat, slat = rng.uniform(-10, 10, n), rng.uniform(-10, 10, m)
    elif where == "pole":
        lon, slon = rng.uniform(-180, 180, n), rng.uniform(-180, 180, m)
        lat, slat = rng.uniform(86, 90, n), rng.uniform(86, 90, m)
    else:
        lon, slon = rng.uniform(100, 110, n), rng.uniform(100, 110, m)
        lat, slat = rng.uniform(25, 32, n), rng.uniform(25, 32, m)
    # Some sites share a place (ties), some demand points sit on a site (zero distance).
    slon[1::9], slat[1::9] = slon[::9][: slon[1::9].size], slat[::9][: slat[1::9].size]
    lon[::50], lat[::50] = slon[0], slat[0]
    tiers = rng.choice(
        np.array(["hub", "station", "point", None], dtype=object), m, p=[0.03, 0.4, 0.4, 0.17]
    )
    tiers[0] = "station"
    grades = rng.choice(np.array(["A", "B", "C", None], dtype=object), n)
    return lon, lat, slon, slat, tiers, grades


def _assert_same(counts, expected) -> None:
    for name in (
        "nearest_site",
        "nearest_distance",
        "covering_site",
        "covering_distance",
        "n_covering",
        "reached_tiers",
    ):
        got, want = getattr(counts, name), getattr(expected, name)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert counts.tier_names == expected.tier_names
    assert (counts.unit, counts.distance_model) == (expected.unit, expected.distance_model)


@pytest.mark.parametrize("where", ["china", "antimeridian", "pole"])
@pytest.mark.parametrize("model", ["great_circle", "road_estimate"])
@pytest.mark.parametrize("tiered", [True, False])
def test_counts_equal_the_matrix_path(where: str, model: str, tiered: bool) -> None:
    lon, lat, slon, slat, tiers, grades = _instance(len(where) + len(model), 3000, 120, where)
    if tiered:  # every site has a tier: nearest sites are read from the pairs
        tiers = np.where(tiers == None, "point", tiers).astype(object)  # noqa: E711
    scenario = _scenario(model)
    expected = reach_counts_from_matrix(
        reach_from_arrays(lon, lat, slon, slat, tiers, scenario, grades=grades, chunk_size=211),
        scenario,
    )
    assert expected.n_covering.sum() > 100 and (expected.n_covering == 0).any()
    for workers in (1, 3):
        counts = reach_counts_from_arrays(
            lon, lat, slon, slat, tiers, scenario, grades=grades, chunk_size=211, workers=workers
        )
        _assert_same(counts, expected)


def test_counts_without_grades_sites_or_demand() -> None:
    lon, lat, slon, slat, tiers, _ = _instance(3, 2000, 60, "china")
    scenario = _scenario("great_circle")
    expected = reach_counts_from_matrix(
        reach_from_arrays(lon, lat, slon, slat, tiers, scenario), scenario
    )
    _assert_same(reach_counts_from_arrays(lon, lat, slon, slat, tiers, scenario), expected)
    none = reach_counts_from_arrays(lon, lat, slon[:0], slat[:0], tiers[:0], scenario)
    assert (none.nearest_site == -1).all() and np.isinf(none.nearest_distance).all()
    assert (none.n_covering == 0).all() and (none.reached_tiers == 0).all()
    empty = reach_counts_from_arrays(lon[:0], lat[:0], slon, slat, tiers, scenario)
    assert empty.n_covering.size == 0


def test_progress_is_reported_in_order() -> None:
    lon, lat, slon, slat, tiers, _ = _instance(4, 5000, 50, "china")
    seen: list[tuple[int, int]] = []
    reach_counts_from_arrays(
        lon,
        lat,
        slon,
        slat,
        tiers,
        _scenario("great_circle"),
        chunk_size=1024,
        workers=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (5000, 5000)


def test_counts_refuse_a_matrix_model_and_bad_arguments() -> None:
    scenario = scenario_from_dict(
        {"scenario": {"distance_model": "matrix"}, "tiers": {"s": {"radius_km": 10}}}
    )
    with pytest.raises(ConfigError, match="reach_counts_from_matrix"):
        reach_counts_from_arrays([0.0], [0.0], [0.0], [0.0], ["s"], scenario)
    with pytest.raises(ValueError, match="chunk_size"):
        reach_counts_from_arrays(
            [0.0], [0.0], [0.0], [0.0], ["s"], default_scenario(), chunk_size=0
        )
    with pytest.raises(ConfigError):
        reach_counts_from_arrays([0.0], [0.0], [0.0], [0.0], ["nope"], default_scenario())


def test_one_tier_beside_competitors() -> None:
    lon, lat, slon, slat, tiers, grades = _instance(8, 3000, 90, "china")
    tiers = np.where(tiers == None, None, "station").astype(object)  # noqa: E711
    scenario = _scenario("great_circle")
    expected = reach_counts_from_matrix(
        reach_from_arrays(lon, lat, slon, slat, tiers, scenario, grades=grades), scenario
    )
    assert set(expected.reached_tiers.tolist()) == {0, 2}
    counts = reach_counts_from_arrays(lon, lat, slon, slat, tiers, scenario, grades=grades)
    _assert_same(counts, expected)


def test_tiers_match_what_coverage_reads_from_the_matrix() -> None:
    from netplan.coverage import tier_reach

    lon, lat, slon, slat, tiers, grades = _instance(12, 3000, 100, "china")
    scenario = _scenario("road_estimate")
    reach = reach_from_arrays(lon, lat, slon, slat, tiers, scenario, grades=grades)
    counts = reach_counts_from_arrays(lon, lat, slon, slat, tiers, scenario, grades=grades)
    bits, covering_tier = tier_reach(reach, reach.covering_nearest()[0], scenario)
    np.testing.assert_array_equal(counts.reached_tiers, bits)
    np.testing.assert_array_equal(counts.covering_tier(), covering_tier)
    assert (covering_tier == -1).any() and len(set(covering_tier.tolist())) == 4
