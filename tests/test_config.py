"""The scenario: the built-in default, TOML loading, promises → reach, invalid keys."""

from __future__ import annotations

import copy
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from netplan.config import (
    DEFAULT_SCENARIO_TOML,
    DemandRates,
    Scenario,
    default_scenario,
    load_scenario,
    scenario_from_dict,
)
from netplan.errors import ConfigError, NetplanError

MINIMAL: dict[str, Any] = {
    "tiers": {
        "hub": {"radius_km": 300, "fixed_cost": 100},
        "station": {"radius_km": 50, "parent": "hub", "support_radius_km": 400},
    }
}


def _build(changes: dict[str, Any], *, drop: tuple[str, ...] = ()) -> Scenario:
    """Return MINIMAL deep-merged with ``changes`` (dotted ``drop`` keys removed)."""
    data = copy.deepcopy(MINIMAL)

    def merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                merge(target[key], value)
            else:
                target[key] = value

    merge(data, changes)
    for dotted in drop:
        *parents, last = dotted.split(".")
        table = data
        for part in parents:
            table = table[part]
        del table[last]
    return scenario_from_dict(data, source="test.toml")


def _fails(changes: dict[str, Any], message: str, *, drop: tuple[str, ...] = ()) -> None:
    with pytest.raises(ConfigError, match=f"^test.toml: {re.escape(message)}"):
        _build(changes, drop=drop)


# --------------------------------------------------------------------------- the default


def test_default_scenario_tiers_and_labels() -> None:
    scenario = default_scenario()
    assert list(scenario.tiers) == ["regional_hub", "city_station", "community_point", "partner"]
    assert scenario.source == "<default>"
    assert scenario.distance_model == "great_circle"
    hub = scenario.tiers["regional_hub"]
    assert (hub.label, hub.label_zh) == ("Regional hub", "区域服务中心")
    assert scenario.tier_label("city_station", "zh") == "城市服务站"
    assert scenario.tier_label("community_point") == "Community point"
    assert scenario.tier_label("partner", "zh") == "授权服务合作商"
    assert scenario.tier_label("nowhere") == "nowhere"
    assert [t.optional for t in scenario.tiers.values()] == [False, False, False, True]
    assert [t.parent for t in scenario.tiers.values()] == [
        None,
        "regional_hub",
        "city_station",
        "regional_hub",
    ]
    assert scenario.tiers["city_station"].support_radius_km == 500
    assert scenario.tiers["regional_hub"].capacity == 60000
    assert scenario.tiers["community_point"].fixed_cost == 60000


def test_default_scenario_grades_and_reach() -> None:
    scenario = default_scenario()
    station = scenario.tiers["city_station"]
    assert scenario.grades == ["A", "B", "C"]
    assert dict(station.grade_radius_km) == {"A": 30.0, "B": 50.0, "C": 80.0}
    assert [station.reach_km(g) for g in (None, "A", "B", "C", "D")] == [50, 30, 50, 80, 50]
    assert station.max_reach_km() == 80
    assert scenario.tiers["regional_hub"].reach_km("A") == 300  # no grade promise: the default


def test_response_hours_become_kilometres() -> None:
    scenario = _build(
        {
            "scenario": {"distance_model": "road_estimate", "detour_factor": 1.25, "speed_kmh": 80},
            "tiers": {
                "hub": {"response_hours": 48, "speed_kmh": 50, "detour_factor": 1.5},
                "station": {"grade_response_hours": {"A": 2}},
            },
        },
        drop=("tiers.hub.radius_km",),
    )
    hub = scenario.tiers["hub"]
    station = scenario.tiers["station"]
    assert hub.reach_km(distance_model="road_estimate") == pytest.approx(48 * 50 / 1.5)
    assert hub.reach_km(distance_model="great_circle") == pytest.approx(1600)
    # a radius under road_estimate is road km: great-circle reach = radius / detour
    assert station.reach_km(distance_model="road_estimate") == pytest.approx(50 / 1.25)
    assert station.reach_km(distance_model="great_circle") == 50
    assert station.reach_km(distance_model="matrix") == 50
    # tiers inherit the scenario's speed and detour; a grade's hours convert with them
    assert (station.speed_kmh, station.detour_factor) == (80, 1.25)
    assert station.reach_km("A") == pytest.approx(2 * 80 / 1.25)
    assert station.max_reach_km(distance_model="road_estimate") == pytest.approx(128)


def test_default_scenario_toml_is_what_default_scenario_parses() -> None:
    parsed = scenario_from_dict(tomllib.loads(DEFAULT_SCENARIO_TOML), source="<default>")
    assert parsed == default_scenario()


def test_with_tiers_changes_a_copy() -> None:
    scenario = default_scenario()
    changed = scenario.with_tiers(city_station={"radius_km": 40})
    assert changed.tiers["city_station"].radius_km == 40
    assert scenario.tiers["city_station"].radius_km == 50
    with pytest.raises(ConfigError, match="tier 'depot' is not defined in the scenario"):
        scenario.with_tiers(depot={"radius_km": 1})


def test_scenario_tier_lookup_names_the_choices() -> None:
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "<default>: tier 'hubb' is not defined in the scenario; defined tiers: regional_hub, "
            "city_station, community_point, partner"
        ),
    ):
        default_scenario().tier("hubb")


# --------------------------------------------------------------------------- loading TOML


SCENARIO_TOML = """\
[scenario]
name = "national"
distance_model = "road_estimate"

[tiers.regional_hub]
label = "Regional hub"
label_zh = "区域服务中心"
response_hours = 48
fixed_cost = 3000000
capacity = 60000

[tiers.city_station]
label = "City station"
label_zh = "城市服务站"
radius_km = 50
parent = "regional_hub"
support_radius_km = 500

[tiers.city_station.grade_radius_km]
A = 30
B = 50
C = 80

[demand]
default_rate = 0.8
reference_year = 2025
[demand.service_rates]
crawler_excavator = 1.6
[demand.age_bands]
"0-2" = 0.6
"3-5" = 1.0
"6+" = 1.5

[scoring.weights]
demand = 0.5
[scoring.attributes.transport_access]
weight = 0.1
direction = "benefit"

[solver]
name = "cbc"
time_limit = 60
gap = 0.01

[plan]
budget = 5000000
"""


def test_load_scenario_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.name == "national"
    assert scenario.source == str(path)
    assert scenario.distance_model == "road_estimate"
    hub = scenario.tiers["regional_hub"]
    assert (hub.response_hours, hub.radius_km, hub.label_zh) == (48, None, "区域服务中心")
    assert hub.reach_km(distance_model="road_estimate") == pytest.approx(48 * 60 / 1.3)
    assert scenario.tiers["city_station"].reach_km("C", distance_model="road_estimate") == (
        pytest.approx(80 / 1.3)
    )
    assert scenario.demand == DemandRates(
        service_rates={"crawler_excavator": 1.6},
        default_rate=0.8,
        age_bands=((2.0, 0.6), (5.0, 1.0), (math.inf, 1.5)),
        reference_year=2025,
    )
    assert scenario.scoring.weights["demand"] == 0.5
    assert scenario.scoring.weights["cost"] == 0.15  # unspecified factors keep their default
    assert [(a.column, a.weight, a.direction) for a in scenario.scoring.attributes] == [
        ("transport_access", 0.1, "benefit")
    ]
    assert (scenario.solver.name, scenario.solver.time_limit, scenario.solver.gap) == (
        "cbc",
        60,
        0.01,
    )
    assert scenario.plan == {"budget": 5000000}


def test_load_scenario_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(SCENARIO_TOML.encode("utf-8-sig"))
    assert load_scenario(path).name == "national"


def test_scenario_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "chengdu_metro.toml"
    path.write_text("[tiers.point]\nradius_km = 5\n", encoding="utf-8")
    assert load_scenario(path).name == "chengdu_metro"


def test_invalid_toml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[tiers.hub]\nradius_km = = 3\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"broken.toml: not valid TOML: .*\(at line 2, column 13\)"
    ):
        load_scenario(path)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"nowhere.toml: scenario file not found; pass an existing TOML file or omit --config",
    ):
        load_scenario(tmp_path / "nowhere.toml")


def test_scenario_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes('[tiers.hub]\nlabel = "区域服务中心"\nradius_km = 3\n'.encode("gb18030"))
    with pytest.raises(
        ConfigError, match=r"gbk.toml: cannot read scenario file .*save it as UTF-8"
    ):
        load_scenario(path)


def test_config_error_is_a_netplan_error_with_exit_code_2() -> None:
    with pytest.raises(NetplanError) as info:
        scenario_from_dict({"tiers": {}})
    assert info.value.exit_code == 2
    assert str(info.value) == (
        "<dict>: `tiers`: define at least one tier, e.g. [tiers.city_station]"
    )


# --------------------------------------------------------------------------- invalid keys


def test_unknown_top_level_key() -> None:
    _fails(
        {"tier": {}},
        "`tier`: unknown key (did you mean `tiers`?); expected one of: demand, grades, inputs, "
        "plan, roadmap, scenario, scoring, solver, tiers",
    )


def test_unknown_tier_key_suggests_the_right_one() -> None:
    _fails(
        {"tiers": {"station": {"radius_kn": 40}}},
        "`tiers.station.radius_kn`: unknown key (did you mean `radius_km`?); expected one of: ",
    )


def test_unknown_scenario_key() -> None:
    _fails({"scenario": {"speed": 50}}, "`scenario.speed`: unknown key (did you mean `speed_kmh`?)")


def test_negative_radius() -> None:
    _fails(
        {"tiers": {"station": {"radius_km": -5}}},
        "`tiers.station.radius_km`: must be greater than 0, got -5",
    )


def test_radius_that_is_not_a_number() -> None:
    _fails(
        {"tiers": {"hub": {"radius_km": "300km"}}},
        "`tiers.hub.radius_km`: must be a number, got '300km'",
    )


def test_radius_with_response_hours_keeps_the_radius_as_reach() -> None:
    # The radius is the reach; response_hours is the on-site promise of the response KPI.
    scenario = scenario_from_dict(
        {"tiers": {"hub": {"radius_km": 300, "response_hours": 48}}}, source="t.toml"
    )
    hub = scenario.tiers["hub"]
    assert hub.reach_km() == 300
    assert hub.response_promise_hours() == 48


def test_neither_radius_nor_response_hours() -> None:
    _fails(
        {},
        "`tiers.hub`: give the promise as `radius_km` or as `response_hours`",
        drop=("tiers.hub.radius_km",),
    )


def test_unknown_parent() -> None:
    _fails(
        {"tiers": {"station": {"parent": "regional_hub"}}},
        "`tiers.station.parent`: names tier 'regional_hub', which is not defined; "
        "defined: hub, station",
    )


def test_parent_loop() -> None:
    _fails(
        {"tiers": {"hub": {"parent": "station"}}},
        "`tiers.hub.parent`: the support chain loops back to 'hub'",
    )


def test_tier_that_is_its_own_parent() -> None:
    _fails(
        {"tiers": {"hub": {"parent": "hub"}}},
        "`tiers.hub.parent`: the support chain loops back to 'hub'",
    )


def test_support_radius_without_parent() -> None:
    _fails(
        {"tiers": {"hub": {"support_radius_km": 100}}},
        "`tiers.hub.support_radius_km`: needs `parent` (the supporting tier)",
    )


def test_bad_distance_model() -> None:
    _fails(
        {"scenario": {"distance_model": "manhattan"}},
        "`scenario.distance_model`: must be one of great_circle, road_estimate, matrix, "
        "got 'manhattan'",
    )


def test_detour_factor_below_one() -> None:
    _fails(
        {"scenario": {"detour_factor": 0.9}}, "`scenario.detour_factor`: must be 1 or more, got 0.9"
    )
    _fails(
        {"tiers": {"hub": {"detour_factor": 0.5}}},
        "`tiers.hub.detour_factor`: must be 1 or more, got 0.5",
    )


def test_scenario_speed_that_is_not_a_number() -> None:
    _fails(
        {"scenario": {"speed_kmh": "fast"}}, "`scenario.speed_kmh`: must be a number, got 'fast'"
    )


def test_bad_solver_name() -> None:
    _fails(
        {"solver": {"name": "gurobi"}},
        "`solver.name`: must be one of highs, cbc, scip, cpsat, got 'gurobi'",
    )


def test_bad_solver_seed() -> None:
    _fails({"solver": {"seed": 1.5}}, "`solver.seed`: must be an integer, got 1.5")


def test_bad_age_band_label() -> None:
    _fails(
        {"demand": {"age_bands": {"old": 2.0}}},
        '`demand.age_bands.old`: band names look like "0-2", "3-5" or "6+" (years)',
    )
    _fails({"demand": {"age_bands": {"5-2": 2.0}}}, "`demand.age_bands.5-2`: band names look like")


def test_negative_service_rate() -> None:
    _fails(
        {"demand": {"service_rates": {"crane": -1}}},
        "`demand.service_rates.crane`: must be 0 or more, got -1",
    )


def test_scoring_weight_for_an_unknown_factor() -> None:
    _fails(
        {"scoring": {"weights": {"rent": 0.2}}},
        "`scoring.weights.rent`: unknown factor; factors: demand, gap_fill, overlap, "
        "distance_to_outlet, competitors, cost (attribute columns go under [scoring.attributes])",
    )


def test_scoring_attribute_with_a_bad_direction() -> None:
    _fails(
        {"scoring": {"attributes": {"rent": {"weight": 0.1, "direction": "lower"}}}},
        "`scoring.attributes.rent.direction`: must be one of benefit, cost, got 'lower'",
    )


def test_grade_radius_must_be_positive() -> None:
    _fails(
        {"tiers": {"station": {"grade_radius_km": {"A": 0}}}},
        "`tiers.station.grade_radius_km.A`: must be greater than 0, got 0",
    )


def test_tier_that_is_not_a_table() -> None:
    _fails({"tiers": {"hub": 300}}, "`tiers.hub`: must be a table of tier settings")


def test_optional_must_be_boolean() -> None:
    _fails(
        {"tiers": {"hub": {"optional": "yes"}}},
        "`tiers.hub.optional`: must be true or false, got 'yes'",
    )


def test_age_bands_with_a_gap() -> None:
    _fails(
        {"demand": {"age_bands": {"0-2": 0.5, "5+": 2.0}}},
        "`demand.age_bands.5+`: bands must run on from 0 without gaps or overlaps; expected a "
        "band starting at 3 years",
    )


def test_age_bands_overlapping_or_not_starting_at_zero() -> None:
    _fails(
        {"demand": {"age_bands": {"0-4": 0.5, "3-6": 1.0}}},
        "`demand.age_bands.3-6`: bands must run on from 0 without gaps",
    )
    _fails(
        {"demand": {"age_bands": {"1-4": 0.5}}},
        "`demand.age_bands.1-4`: bands must run on from 0 without gaps or overlaps; expected a "
        "band starting at 0 years",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"solver": {"gap": 1.0}}, "`solver.gap`: must be from 0 to below 1"),
        ({"solver": {"gap": 5}}, "`solver.gap`: must be from 0 to below 1"),
        ({"solver": {"gap": math.nan}}, "`solver.gap`: must be finite"),
        ({"solver": {"threads": 2.5}}, "`solver.threads`: must be a whole number"),
        ({"solver": {"seed": -1}}, "`solver.seed`: must be from 0 to"),
        ({"demand": {"age_bands": {"0-2": math.nan}}}, "`demand.age_bands.0-2`: must be a finite"),
        ({"demand": {"age_bands": {"0+": math.inf}}}, "`demand.age_bands.0+`: must be a finite"),
        ({"demand": {"reference_year": -5000}}, "`demand.reference_year`: must be a year from"),
        ({"demand": {"default_rate": 1e300}}, "`demand.default_rate`: is too large"),
        ({"tiers": {"hub": {"fixed_cost": 1e20}}}, "`tiers.hub.fixed_cost`: is too large"),
    ],
)
def test_nonsense_values_are_refused_naming_the_key(changes: dict[str, Any], message: str) -> None:
    _fails(changes, message)


def test_scenario_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a regular TOML file"):
        load_scenario(tmp_path)
