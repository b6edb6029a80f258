"""`netplan coverage`: outputs, byte-identical reruns, read-back, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from netplan.cli import app

REPO_ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """\
[scenario]
name = "cli-tiny"

[tiers.hub]
radius_km = 100

[tiers.station]
radius_km = 20
parent = "hub"
support_radius_km = 50

[tiers.station.grade_radius_km]
A = 10
"""

# Chengdu hub, a station ~110 km east, customers around them and far away.
SITES = """\
id,lon,lat,tier,status
S1,104.0665,30.5723,hub,existing
S2,105.2,30.5723,station,existing
S3,110.0,30.0,station,candidate
S4,104.1,30.6,hub,competitor
"""
CUSTOMERS = """\
id,lon,lat,weight,grade,province
c1,104.10,30.60,3,B,Sichuan
c2,105.25,30.57,2,B,Sichuan
c3,105.30,30.57,1,A,Sichuan
c4,110.00,30.00,5,C,Hubei
c5,110.02,30.01,1,C,Hubei
"""
INSTALLED = """\
id,lon,lat,units,grade
i1,104.10,30.60,10,B
i2,110.00,30.00,30,C
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in (
        ("scenario.toml", SCENARIO),
        ("sites.csv", SITES),
        ("customers.csv", CUSTOMERS),
        ("installed.csv", INSTALLED),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths[name.split(".")[0]] = path
    return paths


def invoke(files: dict[str, Path], out: Path, *extra: str):
    args = [
        "coverage",
        "--demand",
        str(files["customers"]),
        "--sites",
        str(files["sites"]),
        "--config",
        str(files["scenario"]),
        "--out",
        str(out),
        *extra,
    ]
    return CliRunner().invoke(app, args)


def test_writes_outputs_and_prints_summary(files, tmp_path):
    result = invoke(files, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "weighted coverage" in result.stdout
    assert "By tier" in result.stdout
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "blindspots.geojson",
        "coverage.csv",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "n_demand",
        "total_weight",
        "n_covered",
        "covered_weight",
        "coverage_rate",
        "weighted_coverage_rate",
        "by_tier",
        "by_grade",
        "distance_km",
        "overlap_rate",
        "n_blindspots",
        "blindspot_weight",
        "distance_model",
    ):
        assert key in summary, key
    assert set(summary["distance_km"]) >= {"mean", "p50", "p90", "p95", "max"}
    # c1 (hub), c2 (station 5 km); c3 is grade A, 9.6 km from the station: covered
    # c4/c5 only near a candidate: uncovered.
    assert summary["n_covered"] == 3
    assert summary["weighted_coverage_rate"] == pytest.approx(6 / 12)
    assert summary["n_blindspots"] == 1 and summary["blindspot_weight"] == 6
    assert summary["by_region"]["province"]["Hubei"]["weighted_coverage_rate"] == 0.0
    frame = pd.read_csv(out / "coverage.csv")
    assert frame.columns.tolist() == [
        "id",
        "lon",
        "lat",
        "weight",
        "nearest_site",
        "nearest_tier",
        "distance_km",
        "covered",
        "covering_site",
        "n_covering",
        "grade",
        "province",  # the demand file's own columns follow
    ]
    assert frame["id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    text = (out / "summary.json").read_text(encoding="utf-8")
    assert text == json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg", "parquet"])
def test_reruns_are_byte_identical_and_readable(files, tmp_path, fmt):
    for run in ("a", "b"):
        result = invoke(files, tmp_path / run, "--format", fmt)
        assert result.exit_code == 0, result.output
    for name in (f"coverage.{fmt}", "blindspots.geojson", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    zones = pyogrio.read_dataframe(tmp_path / "a" / "blindspots.geojson")
    assert zones.columns.tolist() == [
        "zone_id",
        "n_points",
        "weight",
        "area_km2",
        "centroid_lon",
        "centroid_lat",
        "nearest_site",
        "distance_km",
        "province",  # where most of the zone's weight is (built-in boundaries)
        "city",
        "geometry",
    ]
    if fmt in ("geojson", "gpkg"):
        points = pyogrio.read_dataframe(tmp_path / "a" / f"coverage.{fmt}")
        assert points["id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
        assert points["covered"].tolist() == [True, True, True, False, False]


def test_installed_base_is_the_weighted_demand(files, tmp_path):
    result = invoke(files, tmp_path / "out", "--installed-base", str(files["installed"]))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_demand"] == 2
    assert summary["total_weight"] == 40  # units x default rate 1
    assert summary["weighted_coverage_rate"] == pytest.approx(10 / 40)
    assert summary["customers"]["n_demand"] == 5 and summary["customers"]["n_covered"] == 3
    assert "customers covered" in result.stdout


def test_dbscan_option(files, tmp_path):
    result = invoke(files, tmp_path / "out", "--blindspot-method", "dbscan", "--eps-km", "5")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["blindspot_method"] == "dbscan" and summary["n_blindspots"] == 1


def test_matrix_option(files, tmp_path):
    matrix = tmp_path / "matrix.csv"
    matrix.write_text("demand_id,site_id,cost\nc4,S2,15\nc1,S3,1\n", encoding="utf-8")
    result = invoke(files, tmp_path / "out", "--matrix", str(matrix))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "out" / "coverage.csv")
    assert frame["covered"].tolist() == [False, False, False, True, False]


def test_matrix_with_unknown_ids_fails_with_one_line(files, tmp_path):
    matrix = tmp_path / "matrix.csv"
    matrix.write_text("demand_id,site_id,cost\nc9,S2,15\n", encoding="utf-8")
    result = invoke(files, tmp_path / "out", "--matrix", str(matrix))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {matrix}, row 2, column 'demand_id': unknown demand id 'c9'; "
        "it is not among the demand points given"
    )
    assert not (tmp_path / "out").exists()


def test_unknown_tier_fails(files, tmp_path):
    files["sites"].write_text(SITES.replace("S2,105.2,30.5723,station", "S2,105.2,30.5723,depot"))
    result = invoke(files, tmp_path / "out")
    assert result.exit_code == 2
    assert "tier 'depot' is not defined in the scenario" in result.stderr
    assert not (tmp_path / "out").exists()


def test_zero_total_weight_fails(files, tmp_path):
    files["customers"].write_text(
        "id,lon,lat,weight\nc1,104.1,30.6,0\nc2,110,30,0\n", encoding="utf-8"
    )
    result = invoke(files, tmp_path / "out")
    assert result.exit_code == 2
    assert "total demand weight is 0" in result.stderr
    assert not (tmp_path / "out").exists()


def test_no_existing_outlet_is_a_warning(files, tmp_path):
    files["sites"].write_text(SITES.replace("existing", "candidate"), encoding="utf-8")
    result = invoke(files, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (
        "warning:" in result.stderr and "no site has status existing or required" in result.stderr
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_covered"] == 0 and len(summary["warnings"]) == 1


def test_bad_eps_is_a_usage_error(files, tmp_path):
    result = invoke(files, tmp_path / "out", "--blindspot-method", "dbscan", "--eps-km", "0")
    assert result.exit_code == 2
    assert "--eps-km" in result.output


def test_national_sample(tmp_path):
    national = REPO_ROOT / "data" / "samples" / "national"
    needed = ["customers.csv", "installed_base.csv", "sites.csv", "scenario.toml"]
    if not all((national / name).exists() for name in needed):
        pytest.skip("the national sample is not generated yet")
    args = [
        "coverage",
        "--demand",
        str(national / "customers.csv"),
        "--installed-base",
        str(national / "installed_base.csv"),
        "--sites",
        str(national / "sites.csv"),
        "--config",
        str(national / "scenario.toml"),
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert 0 < summary["weighted_coverage_rate"] < 1
    zones = pyogrio.read_dataframe(tmp_path / "blindspots.geojson")
    assert zones["weight"].sum() == pytest.approx(summary["uncovered_weight"])


def test_out_must_be_a_folder(files, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    result = invoke(files, target)
    assert result.exit_code == 2
    assert "is a file; pass a folder" in result.output
