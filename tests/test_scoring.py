"""Site scoring on a fixture small enough to check by hand.

Everything lies on the equator, where one degree of longitude is
2π·6371.0088/360 = 111.195 km, so reach and distances follow from longitudes.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import EARTH_RADIUS_KM, scenario_from_dict
from netplan.errors import ConfigError, InputError, InputWarning
from netplan.scoring import normalise_scores, score_sites

KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360

SCENARIO = {
    "scenario": {"name": "tiny"},
    "tiers": {
        "station": {"label": "Station", "label_zh": "服务站", "radius_km": 100, "fixed_cost": 50},
    },
    "scoring": {
        "weights": {
            "demand": 0.30,
            "gap_fill": 0.25,
            "overlap": 0.10,
            "distance_to_outlet": 0.10,
            "competitors": 0.10,
            "cost": 0.15,
        }
    },
}


def _demand() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["d1", "d2", "d3", "d4"], "weight": [10.0, 5.0, 8.0, 1.0]},
        geometry=gpd.points_from_xy([0.0, 0.5, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]),
        crs=4326,
    )


def _sites(**extra: list[object]) -> gpd.GeoDataFrame:
    frame = {
        "id": ["E1", "C1", "C2", "C3", "K1"],
        "name": ["Existing", "One", "Two", "Three", "Rival"],
        "tier": ["station", "station", "station", "station", None],
        "status": ["existing", "candidate", "candidate", "candidate", "competitor"],
        "fixed_cost": [50.0, 100.0, 300.0, 200.0, 0.0],
        "capacity": [np.inf] * 5,
    }
    frame.update(extra)
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy([0.0, 0.6, 2.5, 1.2, 2.4], [0.0, 0.0, 0.0, 0.0, 0.1]),
        crs=4326,
    )


@pytest.fixture
def scenario():  # type: ignore[no-untyped-def]
    return scenario_from_dict(SCENARIO, source="tiny.toml")


def test_values_sub_scores_and_ranks_by_hand(scenario) -> None:  # type: ignore[no-untyped-def]
    result = score_sites(_demand(), _sites(), scenario)
    table = result.scores.set_index("site_id")
    # C1 at lon 0.6 reaches d1 (66.7 km) and d2 (11.1 km), both reached by E1 already.
    # C2 at lon 2.5 reaches d3 and d4 (55.6 km each), which nothing reaches today.
    # C3 at lon 1.2 reaches d2 (77.8 km; E1 reaches it) and d3 (88.96 km; nobody does).
    assert table["demand_value"].to_dict() == {"C3": 13.0, "C1": 15.0, "C2": 9.0}
    assert table["gap_fill_value"].to_dict() == {"C3": 8.0, "C1": 0.0, "C2": 9.0}
    assert table.loc["C3", "overlap_value"] == pytest.approx(5 / 13)
    assert table.loc["C1", "overlap_value"] == 1.0 and table.loc["C2", "overlap_value"] == 0.0
    for site, lon in (("C1", 0.6), ("C2", 2.5), ("C3", 1.2)):
        assert table.loc[site, "distance_to_outlet_value"] == pytest.approx(
            lon * KM_PER_DEGREE, rel=1e-9
        )
    # K1 is 0.1° north of lon 2.4: 15 km from C2, 133 km from C3.
    assert table["competitors_value"].to_dict() == {"C3": 0.0, "C1": 0.0, "C2": 1.0}
    assert table["cost_value"].to_dict() == {"C3": 200.0, "C1": 100.0, "C2": 300.0}

    expected_sub = {
        "C1": {
            "demand": 100,
            "gap_fill": 0,
            "overlap": 0,
            "distance_to_outlet": 0,
            "competitors": 100,
            "cost": 100,
        },
        "C2": {
            "demand": 0,
            "gap_fill": 100,
            "overlap": 100,
            "distance_to_outlet": 100,
            "competitors": 0,
            "cost": 0,
        },
        "C3": {
            "demand": 100 * 4 / 6,
            "gap_fill": 100 * 8 / 9,
            "overlap": 100 * (1 - 5 / 13),
            "distance_to_outlet": 100 * 0.6 / 1.9,
            "competitors": 100,
            "cost": 50,
        },
    }
    weights = SCENARIO["scoring"]["weights"]
    for site, subs in expected_sub.items():
        for factor, value in subs.items():
            assert table.loc[site, f"{factor}_score"] == pytest.approx(value, abs=1e-4), (
                site,
                factor,
            )
        total = sum(weights[f] * v for f, v in subs.items())
        assert table.loc[site, "total_score"] == pytest.approx(total, abs=1e-4)
    assert table.loc["C1", "total_score"] == pytest.approx(55.0)
    assert table.loc["C2", "total_score"] == pytest.approx(45.0)
    assert list(result.scores["site_id"]) == ["C3", "C1", "C2"]
    assert list(result.scores["rank"]) == [1, 2, 3]


def test_reasons_in_english_and_chinese(scenario) -> None:  # type: ignore[no-untyped-def]
    table = score_sites(_demand(), _sites(), scenario).scores.set_index("site_id")
    assert table.loc["C3", "reasons_en"] == (
        "captures 8 demand no outlet covers today; serves 13 demand within its radius; "
        "no competitor within its radius"
    )
    assert (
        table.loc["C3", "reasons_zh"]
        == "可覆盖现有网点未覆盖的需求 8；服务半径内需求 13；半径内无竞争对手"
    )
    assert table.loc["C2", "reasons_en"].startswith("captures 9 demand no outlet covers today")


def test_columns_of_scores_csv(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = score_sites(_demand(), _sites(), scenario)
    paths = result.to_files(tmp_path)
    frame = pd.read_csv(paths["scores"])
    factors = ["demand", "gap_fill", "overlap", "distance_to_outlet", "competitors", "cost"]
    expected = ["site_id", "tier", "total_score", "rank"]
    for factor in factors:
        expected += [f"{factor}_value", f"{factor}_score"]
    assert list(frame.columns) == [*expected, "name", "reasons_en", "reasons_zh"]
    first = paths["scores"].read_bytes()
    score_sites(_demand(), _sites(), scenario).to_files(tmp_path)
    assert paths["scores"].read_bytes() == first
    assert '"n_scored": 3' in paths["summary"].read_text()


def test_attribute_columns_with_direction() -> None:
    data = dict(SCENARIO)
    data["scoring"] = {
        "weights": {k: 0.0 for k in SCENARIO["scoring"]["weights"]},
        "attributes": {
            "transport_access": {"weight": 1.0, "direction": "benefit"},
            "rent": {"weight": 1.0, "direction": "cost"},
        },
    }
    scenario = scenario_from_dict(data, source="attr.toml")
    sites = _sites(transport_access=[0, 2.0, 8.0, 5.0, 0], rent=[0, 30.0, 10.0, 20.0, 0])
    table = score_sites(_demand(), sites, scenario).scores.set_index("site_id")
    assert table["transport_access_score"].to_dict() == {"C2": 100.0, "C3": 50.0, "C1": 0.0}
    assert table["rent_score"].to_dict() == {"C2": 100.0, "C3": 50.0, "C1": 0.0}
    assert table["total_score"].to_dict() == {"C2": 100.0, "C3": 50.0, "C1": 0.0}
    assert table.loc["C2", "reasons_en"] == "transport_access is high (8); rent is low (10)"


def test_missing_attribute_values_score_zero_with_a_warning() -> None:
    data = dict(SCENARIO)
    data["scoring"] = {"attributes": {"transport_access": {"weight": 1.0}}}
    scenario = scenario_from_dict(data, source="attr.toml")
    sites = _sites(transport_access=[0, None, 8.0, 5.0, 0])
    with pytest.warns(InputWarning, match="1 scored site"):
        table = score_sites(_demand(), sites, scenario).scores.set_index("site_id")
    assert table.loc["C1", "transport_access_score"] == 0.0


def test_scores_within_each_tier() -> None:
    data = dict(SCENARIO)
    data["tiers"] = {
        "hub": {"radius_km": 300, "fixed_cost": 1000},
        "station": {"radius_km": 100, "fixed_cost": 50},
    }
    scenario = scenario_from_dict(data, source="two.toml")
    sites = _sites(tier=["station", "hub", "station", "station", None])
    result = score_sites(_demand(), sites, scenario)
    assert list(result.scores["tier"]) == ["hub", "station", "station"]
    assert list(result.scores["rank"]) == [1, 1, 2]
    hub = result.scores.iloc[0]
    # Alone in its tier, every factor is "all equal": 50 each, total 50.
    assert hub["total_score"] == pytest.approx(50.0)
    assert hub["demand_value"] == 24.0  # 300 km from lon 0.6 reaches every point


def test_existing_sites_scored_against_the_rest_of_the_network(scenario) -> None:  # type: ignore[no-untyped-def]
    result = score_sites(_demand(), _sites(), scenario, statuses=("existing",))
    row = result.scores.iloc[0]
    assert row["site_id"] == "E1"
    assert row["gap_fill_value"] == 15.0  # no other outlet reaches d1 or d2
    assert math.isnan(row["distance_to_outlet_value"])  # no other outlet at all
    assert row["distance_to_outlet_score"] == 100.0


def test_errors_name_the_fix(scenario) -> None:  # type: ignore[no-untyped-def]
    sites = _sites(status=["existing"] * 4 + ["competitor"])
    with pytest.raises(InputError, match="no site to score: none has status candidate"):
        score_sites(_demand(), sites, scenario)
    data = dict(SCENARIO)
    data["scoring"] = {"attributes": {"parking": {"weight": 1.0}}}
    with pytest.raises(InputError, match="no column 'parking'"):
        score_sites(_demand(), _sites(), scenario_from_dict(data, source="p.toml"))
    data["scoring"] = {"weights": {k: 0.0 for k in SCENARIO["scoring"]["weights"]}}
    with pytest.raises(ConfigError, match="every factor weight is 0"):
        score_sites(_demand(), _sites(), scenario_from_dict(data, source="z.toml"))
    data["scoring"] = {"attributes": {"cost": {"weight": 1.0}}}
    with pytest.raises(ConfigError, match="taken by a built-in factor"):
        score_sites(
            _demand(), _sites(cost=[1, 2, 3, 4, 5]), scenario_from_dict(data, source="c.toml")
        )


def test_normalise_scores_edges() -> None:
    assert normalise_scores(np.array([2.0, 2.0]), "benefit").tolist() == [50.0, 50.0]
    assert normalise_scores(np.array([1.0, np.nan, 3.0]), "cost").tolist() == [100.0, 0.0, 0.0]
    assert normalise_scores(np.array([1.0, np.inf, 3.0]), "benefit").tolist() == [0.0, 100.0, 100.0]


def _write_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    demand = _demand()
    demand_csv = tmp_path / "demand.csv"
    pd.DataFrame(
        {
            "id": demand["id"],
            "lon": demand.geometry.x,
            "lat": demand.geometry.y,
            "weight": demand["weight"],
        }
    ).to_csv(demand_csv, index=False)
    sites = _sites()
    sites_csv = tmp_path / "sites.csv"
    pd.DataFrame(
        {
            "id": sites["id"],
            "name": sites["name"],
            "lon": sites.geometry.x,
            "lat": sites.geometry.y,
            "tier": sites["tier"],
            "status": sites["status"],
            "fixed_cost": sites["fixed_cost"],
        }
    ).to_csv(sites_csv, index=False)
    config = tmp_path / "tiny.toml"
    config.write_text(
        '[scenario]\nname = "tiny"\n[tiers.station]\nradius_km = 100\nfixed_cost = 50\n',
        encoding="utf-8",
    )
    return demand_csv, sites_csv, config


def test_cli_score_writes_scores(tmp_path: Path) -> None:
    demand_csv, sites_csv, config = _write_inputs(tmp_path)
    out = tmp_path / "scores"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--demand",
            str(demand_csv),
            "--sites",
            str(sites_csv),
            "--config",
            str(config),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "scores.csv")
    assert list(frame["site_id"]) == ["C3", "C1", "C2"]
    assert "C3" in result.output


def test_cli_score_bad_input_is_one_line(tmp_path: Path) -> None:
    demand_csv, sites_csv, config = _write_inputs(tmp_path)
    frame = pd.read_csv(sites_csv)
    frame["status"] = ["existing"] * 4 + ["competitor"]
    frame.to_csv(sites_csv, index=False)
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--demand",
            str(demand_csv),
            "--sites",
            str(sites_csv),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "sites.csv: no site to score" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "scores.csv").exists()


def test_cli_score_with_a_cost_matrix(tmp_path: Path) -> None:
    demand_csv, sites_csv, config = _write_inputs(tmp_path)
    matrix = tmp_path / "matrix.csv"
    # Only C2 reaches anything (d4 at cost 5): C2 has all the demand and gap fill.
    pd.DataFrame({"demand_id": ["d4"], "site_id": ["C2"], "cost": [5.0]}).to_csv(
        matrix, index=False
    )
    out = tmp_path / "scores"
    args = [
        "score",
        "--demand",
        str(demand_csv),
        "--sites",
        str(sites_csv),
        "--config",
        str(config),
    ]
    result = CliRunner().invoke(app, [*args, "--matrix", str(matrix), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "scores.csv").set_index("site_id")
    assert frame["demand_value"].to_dict() == {"C2": 1.0, "C1": 0.0, "C3": 0.0}
    assert frame["gap_fill_value"].to_dict() == {"C2": 1.0, "C1": 0.0, "C3": 0.0}
