"""`netplan optimize`, `netplan frontier` and `netplan candidates` on small files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app

SCENARIO = """\
[scenario]
name = "cli-plan"

[tiers.hub]
radius_km = 150
fixed_cost = 1000
capacity = 400

[tiers.station]
radius_km = 30
parent = "hub"
support_radius_km = 250
fixed_cost = 100
capacity = 60

[solver]
time_limit = 60

[plan]
coverage_target = 0.5
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


def test_optimize_writes_the_plan(files, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["optimize", *base_args(files, out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "plan.csv",
        "plan.geojson",
        "assignment.csv",
        "summary.json",
        "coverage",  # the plan's network coverage (issue 17)
    }
    assert {p.name for p in (out / "coverage").iterdir()} == {
        "coverage.csv",
        "blindspots.geojson",
        "summary.json",
    }
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "model",
        "status",
        "objective",
        "best_bound",
        "gap",
        "build_seconds",
        "solve_seconds",
        "n_open_by_tier",
        "total_fixed_cost",
        "before",
        "after",
    ):
        assert key in summary
    assert summary["status"] == "optimal"
    assert summary["after"]["weighted_coverage_rate"] >= 0.5
    assert "Before and after" in result.stdout
    plan = pd.read_csv(out / "plan.csv")
    assert plan.loc[plan["id"] == "H1", "decision"].item() == "kept"


def test_optimize_budget_flag_maximises_coverage(files, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        app, ["optimize", *base_args(files, out), "--budget", "100", "--solver", "cbc"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["details"]["objective_kind"] == "max_coverage"
    assert summary["solver"] == "cbc"
    assert summary["net_cost_change"] <= 100


def test_optimize_p_median_and_time_limit(files, tmp_path: Path) -> None:
    out = tmp_path / "pm"
    args = [
        "optimize",
        *base_args(files, out),
        "--model",
        "p-median",
        "--p",
        "2",
        "--time-limit",
        "30",
        "--gap",
        "0",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assignment = pd.read_csv(out / "assignment.csv")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective"] == pytest.approx(
        float((assignment["weight"] * assignment["distance"]).sum()), rel=1e-9
    )


def test_infeasible_target_exits_3_with_a_diagnosis(files, tmp_path: Path) -> None:
    out = tmp_path / "bad"
    result = CliRunner().invoke(
        app, ["optimize", *base_args(files, out), "--coverage-target", "1.0"]
    )
    assert result.exit_code == 3
    assert result.stderr.startswith("error: coverage target 100.00% cannot be met")
    assert "no candidate reaches" in result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "infeasible"
    assert summary["diagnosis"]["unreached_demand_ids"]


def test_bad_plan_key_exits_2(files, tmp_path: Path) -> None:
    files["config"].write_text(
        SCENARIO.replace("coverage_target = 0.5", "coverage_target = 5"), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["optimize", *base_args(files, tmp_path / "x")])
    assert result.exit_code == 2
    assert "`plan.coverage_target`: must be a share" in result.stderr


def test_frontier_writes_csv_and_chart(files, tmp_path: Path) -> None:
    out = tmp_path / "frontier"
    args = ["frontier", *base_args(files, out), "--by", "budget", "--values", "0,100,1100"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "frontier.csv")
    assert table["limit"].tolist() == [0, 100, 1100]
    assert (out / "frontier.svg").read_text(encoding="utf-8").startswith("<svg")
    bad = CliRunner().invoke(app, ["frontier", *base_args(files, out), "--values", "1,x"])
    assert bad.exit_code == 2


def test_candidates_kmeans_is_seeded_and_feeds_optimize(files, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        args = [
            "candidates",
            "--demand",
            str(files["customers"]),
            "--config",
            str(files["config"]),
            "--sites",
            str(files["sites"]),
            "--n",
            "5",
            "--seed",
            "3",
            "--out",
            str(path),
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    table = pd.read_csv(first)
    assert len(table) == 6 + 5
    assert set(table["status"]) == {"existing", "candidate"}
    files["sites"] = first
    result = CliRunner().invoke(app, ["optimize", *base_args(files, tmp_path / "plan")])
    assert result.exit_code == 0, result.output


def test_candidates_h3_needs_a_density_rule(files, tmp_path: Path) -> None:
    args = [
        "candidates",
        "--demand",
        str(files["customers"]),
        "--config",
        str(files["config"]),
        "--method",
        "h3",
        "--out",
        str(tmp_path / "c.csv"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "give `min_weight`, `n_sites` or both" in result.stderr


def test_optimize_with_a_cost_matrix(files, tmp_path: Path) -> None:
    customers = pd.read_csv(files["customers"])
    sites = pd.read_csv(files["sites"])
    rows = []
    for _, c in customers.iterrows():
        for _, s in sites.iterrows():
            km = 111.0 * float(np.hypot(c["lon"] - s["lon"], c["lat"] - s["lat"]))
            if km <= 400:
                rows.append((c["id"], s["id"], round(km * 1.2, 3)))
    matrix = tmp_path / "matrix.csv"
    pd.DataFrame(rows, columns=["demand_id", "site_id", "cost"]).to_csv(matrix, index=False)
    out = tmp_path / "pm"
    args = [
        "optimize",
        *base_args(files, out),
        "--matrix",
        str(matrix),
        "--model",
        "p-median",
        "--p",
        "3",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["details"]["distance_model"] == "matrix"
    assignment = pd.read_csv(out / "assignment.csv")
    costs = pd.DataFrame(rows, columns=["demand_id", "site_id", "cost"])
    merged = assignment.merge(costs, on=["demand_id", "site_id"], how="left")
    assert merged["cost"].notna().all()
    assert np.allclose(merged["distance"], merged["cost"])
    assert summary["objective"] == pytest.approx(float((merged["weight"] * merged["cost"]).sum()))
    tiered = CliRunner().invoke(
        app, ["optimize", *base_args(files, tmp_path / "t"), "--matrix", str(matrix)]
    )
    assert tiered.exit_code == 0, tiered.output


# --------------------------------------------------------------------------- solver output

BANNERS = ("Running HiGHS", "Copyright", "Welcome to the CBC")


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solver_banners_only_with_verbose(files, tmp_path: Path, solver: str) -> None:
    import os
    import subprocess
    import sys

    import netplan

    env = {**os.environ, "PYTHONPATH": str(Path(netplan.__file__).resolve().parents[1])}
    outputs = {}
    for verbose in (False, True):
        out = tmp_path / f"plan-{verbose}"
        command = [sys.executable, "-m", "netplan", "optimize", *base_args(files, out)]
        command += ["--solver", solver] + (["--verbose"] if verbose else [])
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=300, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        outputs[verbose] = done
    quiet, verbose_run = outputs[False], outputs[True]
    # Piped: no banner, no solver log, no progress line; stderr holds nothing at all.
    for text in BANNERS:
        assert text not in quiet.stdout + quiet.stderr
    assert quiet.stderr == ""
    assert "solving" not in quiet.stdout
    # --verbose: the solver's own log, banner included, on stderr (stdout keeps the tables).
    expected = "Running HiGHS" if solver == "highs" else "Welcome to the CBC"
    assert expected in verbose_run.stderr
    assert expected not in verbose_run.stdout
    assert verbose_run.stdout.splitlines()[0] == quiet.stdout.splitlines()[0]


def test_frontier_and_roadmap_take_verbose(files, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["frontier", *base_args(files, tmp_path / "f"), "--values", "0,200", "--verbose"],
    )
    assert result.exit_code == 0, result.output
    assert "Trade-off by budget" in result.stdout
    assert "Running HiGHS" not in result.stdout
    result = CliRunner().invoke(
        app,
        [
            "roadmap",
            *base_args(files, tmp_path / "r"),
            "--years",
            "2",
            "--budget-per-year",
            "200",
            "--verbose",
        ],
    )
    assert result.exit_code == 0, result.output


def test_live_line_text_and_nothing_when_piped() -> None:
    from netplan.cli._progress import Display, interactive, solving
    from netplan.locate.solve import SolverProgress

    class Recorder:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def add_task(self, description: str, total: Any = None) -> int:
            self.lines.append(description)
            return 0

        def update(self, task: int, description: str) -> None:
            self.lines.append(description)

    recorder = Recorder()
    display = Display(recorder)
    display.step(2, 5)
    display.solver(SolverProgress(3.0, 1234.5, 1300.0, 0.053, "highs"))
    assert recorder.lines[0] == "preparing the model"
    assert recorder.lines[-1] == (
        "step 2 of 5 · solving (highs) · best plan 1,234.50 · bound 1,300.00 · gap 5.30%"
    )
    # Under pytest the output is captured, not a terminal: the block shows nothing.
    assert not interactive()
    with solving(False) as quiet:
        quiet.step(1, 1)
