"""`netplan roadmap` on small files: outputs, limits, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app

SCENARIO = """\
[scenario]
name = "cli-roadmap"

[tiers.hub]
radius_km = 150
fixed_cost = 1000

[tiers.station]
radius_km = 30
parent = "hub"
support_radius_km = 250
fixed_cost = 100

[solver]
time_limit = 60

[roadmap]
discount = 0.05
demand_growth = 0.1
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    centres = np.array([[110.0, 30.0], [111.5, 30.4], [113.5, 31.0], [118.0, 25.0]])
    which = rng.integers(0, 4, size=120)
    customers = pd.DataFrame(
        {
            "id": [f"C{k:03d}" for k in range(120)],
            "lon": np.round(centres[which, 0] + rng.normal(0, 0.15, size=120), 5),
            "lat": np.round(centres[which, 1] + rng.normal(0, 0.15, size=120), 5),
            "weight": rng.integers(1, 5, size=120),
        }
    )
    sites = pd.DataFrame(
        [
            ("H1", 110.2, 30.1, "hub", "existing"),
            ("H2", 113.3, 30.9, "hub", "candidate"),
            ("S1", 110.0, 30.0, "station", "candidate"),
            ("S2", 111.5, 30.4, "station", "candidate"),
            ("S3", 113.5, 31.0, "station", "candidate"),
            ("S4", 118.0, 25.0, "station", "candidate"),
        ],
        columns=["id", "lon", "lat", "tier", "status"],
    )
    paths = {
        "customers": tmp_path / "customers.csv",
        "sites": tmp_path / "sites.csv",
        "config": tmp_path / "scenario.toml",
    }
    customers.to_csv(paths["customers"], index=False)
    sites.to_csv(paths["sites"], index=False)
    paths["config"].write_text(SCENARIO, encoding="utf-8")
    return paths


def base_args(files: dict[str, Path], out: Path) -> list[str]:
    return [
        "--demand",
        str(files["customers"]),
        "--sites",
        str(files["sites"]),
        "--config",
        str(files["config"]),
        "--out",
        str(out),
    ]


def test_roadmap_writes_every_output(files, tmp_path: Path) -> None:
    out = tmp_path / "roadmap"
    result = CliRunner().invoke(
        app,
        ["roadmap", *base_args(files, out), "--years", "3", "--budget-per-year", "1100,200,1000"],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "roadmap.csv",
        "by_year.csv",
        "summary.json",
        "roadmap.geojson",
    }
    table = pd.read_csv(out / "roadmap.csv")
    assert list(table.columns[:7]) == [
        "site_id",
        "name",
        "tier",
        "decision",
        "year_opened",
        "fixed_cost",
        "score",
    ]
    by_year = pd.read_csv(out / "by_year.csv")
    assert list(by_year.columns[:7]) == [
        "year",
        "sites_open",
        "new_sites",
        "spend",
        "weighted_coverage_rate",
        "covered_weight",
        "n_blindspots",
    ]
    assert by_year["year"].tolist() == [1, 2, 3]
    assert (by_year["spend"] <= pd.Series([1100, 200, 1000]) + 1e-6).all()
    assert by_year["weighted_coverage_rate"].is_monotonic_increasing
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "optimal"
    assert summary["options"]["budget_per_year"] == [1100, 200, 1000]
    assert "Roadmap over 3 year(s)" in result.stdout


def test_roadmap_targets_and_one_budget_for_every_year(files, tmp_path: Path) -> None:
    out = tmp_path / "targets"
    result = CliRunner().invoke(
        app,
        ["roadmap", *base_args(files, out), "--years", "2", "--coverage-target-by-year", "0.3,0.5"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective_kind"] == "min_cost"
    rates = [entry["weighted_coverage_rate"] for entry in summary["by_year"]]
    assert rates[0] >= 0.3 - 1e-9 and rates[1] >= 0.5 - 1e-9


def test_roadmap_errors_exit_2_and_infeasible_exits_3(files, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["roadmap", *base_args(files, tmp_path / "a"), "--years", "3", "--budget-per-year", "1,2"],
    )
    assert result.exit_code == 2
    assert "error: --budget-per-year gives 2 values for 3 years; give one or 3" in result.stderr
    result = runner.invoke(
        app,
        ["roadmap", *base_args(files, tmp_path / "b"), "--years", "2", "--budget-per-year", "8M"],
    )
    assert result.exit_code == 2
    assert "expected numbers separated by commas" in result.output
    result = runner.invoke(app, ["roadmap", *base_args(files, tmp_path / "c"), "--years", "2"])
    assert result.exit_code == 2
    assert "needs a budget per year (--budget-per-year)" in result.stderr
    out = tmp_path / "d"
    result = runner.invoke(
        app,
        ["roadmap", *base_args(files, out), "--years", "2", "--coverage-target-by-year", "1.0"],
    )
    assert result.exit_code == 3
    assert result.stderr.startswith("error: coverage target 100.00% of year 1 cannot be met")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "infeasible"
    assert {p.name for p in out.iterdir()} == {"summary.json"}


def test_map_draws_one_layer_per_roadmap_year(files, tmp_path: Path) -> None:
    out = tmp_path / "roadmap"
    runner = CliRunner()
    result = runner.invoke(
        app, ["roadmap", *base_args(files, out), "--years", "2", "--budget-per-year", "1100,300"]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "roadmap.csv")
    pages = []
    for name in ("a.html", "b.html"):
        result = runner.invoke(
            app,
            [
                "map",
                "--roadmap",
                str(out),
                "--config",
                str(files["config"]),
                "--out",
                str(tmp_path / name),
                "--offline",
            ],
        )
        assert result.exit_code == 0, result.output
        pages.append((tmp_path / name).read_text(encoding="utf-8"))
    assert pages[0] == pages[1]  # byte-identical reruns
    for year in (1, 2):
        n_opened = int((table["year_opened"] == year).sum())
        if n_opened:
            assert f"Roadmap year {year}: {n_opened} opened" in pages[0]
    result = runner.invoke(
        app, ["map", "--roadmap", str(tmp_path), "--out", str(tmp_path / "c.html")]
    )
    assert result.exit_code == 2
    assert "no roadmap.csv here" in result.stderr


def test_report_has_a_roadmap_section_and_sheet(files, tmp_path: Path) -> None:
    sites = pd.read_csv(files["sites"])
    sites["name"] = [f"<b>{i}</b>" for i in sites["id"]]  # user text reaching HTML is escaped
    sites.to_csv(files["sites"], index=False)
    out = tmp_path / "roadmap"
    runner = CliRunner()
    result = runner.invoke(
        app, ["roadmap", *base_args(files, out), "--years", "2", "--budget-per-year", "1100,300"]
    )
    assert result.exit_code == 0, result.output
    html_path, xlsx_path = tmp_path / "report.html", tmp_path / "report.xlsx"
    result = runner.invoke(
        app,
        ["report", "--roadmap", str(out), "--out", str(html_path), "--xlsx", str(xlsx_path)],
    )
    assert result.exit_code == 0, result.output
    page = html_path.read_text(encoding="utf-8")
    assert '<section id="roadmap">' in page and "Roll-out roadmap" in page
    assert "<b>H2</b>" not in page
    by_year = pd.read_csv(out / "by_year.csv")
    assert f"{100 * by_year['weighted_coverage_rate'].iloc[-1]:.1f}%" in page
    sheet = pd.read_excel(xlsx_path, sheet_name="Roadmap")
    assert sheet["year"].tolist() == [1, 2]


def test_report_shows_staffing_and_response_today_vs_plan(files, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    runner = CliRunner()
    result = runner.invoke(app, ["optimize", *base_args(files, out), "--budget", "1100"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    staffing = summary["staffing"]
    plan = pd.read_csv(out / "plan.csv")
    assert staffing["engineers"] == plan["engineers"].sum() > 0
    html_path, xlsx_path = tmp_path / "report.html", tmp_path / "report.xlsx"
    result = runner.invoke(
        app, ["report", "--plan", str(out), "--out", str(html_path), "--xlsx", str(xlsx_path)]
    )
    assert result.exit_code == 0, result.output
    page = html_path.read_text(encoding="utf-8")
    assert '<section id="staffing">' in page
    share = staffing["response"]["plan"]["share_within_promise"]
    assert f"{100 * share:.1f}%" in page
    sheet = pd.read_excel(xlsx_path, sheet_name="Response")
    assert (
        sheet.iloc[0, 2] == str(staffing["engineers"]) or sheet.iloc[0, 2] == staffing["engineers"]
    )
