"""The command line: version, help on every command, validate, demo, error handling."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
import typer
import typer.main
from typer.testing import CliRunner

from netplan import __version__
from netplan.cli import app
from netplan.cli._app import command as netplan_command
from netplan.errors import ConfigError, InfeasibleError, InputError, InputWarning
from netplan.io import write_frame

WriteCsv = Callable[..., Path]

GOOD = [
    ["id", "lon", "lat", "weight", "grade"],
    ["a", 104.0665, 30.5723, 2.5, "A"],
    ["b", 116.4074, 39.9042, 1, "B"],
    ["c", 121.4737, 31.2304, 4, "A"],
]
BAD = [
    ["id", "lon", "lat", "weight"],
    ["a", 216.4, 39.9, 2],
    ["a", 121.5, 31.2, -3],
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Yield every command under ``command`` with its full name (``"netplan validate"``).

    typer vendors its own click, so groups are recognised by their ``commands``.
    """
    name = " ".join(("netplan", *path))
    yield name, command
    for sub_name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, sub_name))


# --------------------------------------------------------------------------- version and help


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"netplan {__version__}\n"


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.stdout and "demo" in result.stdout
    assert "Example: netplan validate" in result.stdout
    assert "--debug" in result.stdout and "--version" in result.stdout


def test_every_command_has_help_with_an_example_and_every_option_has_help(
    runner: CliRunner,
) -> None:
    root = typer.main.get_command(app)
    commands = list(_walk(root))
    assert {"netplan", "netplan validate", "netplan demo"} <= {name for name, _ in commands}
    for name, command in commands:
        assert command.help and "Example" in command.help, f"{name}: help needs an Example"
        for param in command.params:
            help_text = getattr(param, "help", None)
            assert help_text and help_text.strip(), f"{name}: {param.name} has no help text"
        args = name.split()[1:]
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"{name} --help: {result.output}"
        assert "Example" in result.stdout, f"{name} --help shows no example"


def test_python_dash_m_and_console_script(tmp_path: Path) -> None:
    commands = [[sys.executable, "-m", "netplan", "--version"]]
    script = shutil.which("netplan", path=str(Path(sys.executable).parent))
    if script is not None:
        commands.append([script, "--version"])
    for command in commands:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"netplan {__version__}\n"
    assert script is not None, "the `netplan` console script is not installed beside python"


# --------------------------------------------------------------------------- validate


def test_validate_prints_a_summary(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv(GOOD)
    result = runner.invoke(app, ["validate", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert f"{path} (customers)" in out
    assert "rows" in out and "│ 3 " in out
    assert "lon: lon, lat: lat" in out
    assert "EPSG:4326 (read as EPSG:4326)" in out
    assert "lon 104.0665 .. 121.4737, lat 30.5723 .. 39.9042" in out
    assert "total weight │ 7.50" in out
    assert "grade        │ A: 2, B: 1" in out
    assert "problems     │ 0" in out
    assert sorted(p.name for p in path.parent.iterdir()) == ["points.csv"]


def test_validate_sites_with_a_scenario(
    runner: CliRunner, write_csv: WriteCsv, tmp_path: Path
) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text("[tiers.depot]\nradius_km = 20\n", encoding="utf-8")
    path = write_csv(
        [["id", "lon", "lat", "tier", "status"], ["d1", 104.07, 30.57, "depot", "candidate"]],
        "sites.csv",
    )
    result = runner.invoke(
        app,
        ["validate", str(path), "--kind", "sites", "--config", str(scenario)],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "tier         │ depot: 1" in result.stdout
    assert "status       │ candidate: 1" in result.stdout
    assert "total weight" not in result.stdout


def test_validate_with_column_and_crs_options(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv([["code", "E", "N", "calls"], ["k", 12_958_000, 4_852_000, 5]])
    result = runner.invoke(
        app,
        [
            "validate",
            str(path),
            "--id",
            "code",
            "--lon",
            "E",
            "--lat",
            "N",
            "--weight",
            "calls",
            "--crs",
            "EPSG:3857",
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "lon: E, lat: N" in result.stdout
    assert "EPSG:3857 (read as EPSG:4326)" in result.stdout
    assert "total weight │ 5.00" in result.stdout


def test_validate_bad_file_lists_every_problem_on_stderr(
    runner: CliRunner, write_csv: WriteCsv
) -> None:
    path = write_csv(BAD)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {path}, row 2, column 'lon': longitude 216.4 is outside -180..180",
        f"error: {path}, row 3, column 'id': duplicate id 'a' (first at row 2); ids must be unique",
        f"error: {path}, row 3, column 'weight': weight -3 is negative",
    ]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in path.parent.iterdir()) == ["points.csv"]  # nothing written


def test_validate_prints_user_text_verbatim(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "[note]"], ["a", 104.07, 30.57, ":x:"]], "[x] pts.csv")
    result = runner.invoke(app, ["validate", str(path)], terminal_width=200)
    assert result.exit_code == 0
    assert "[x] pts.csv (customers)" in result.stdout  # no rich markup swallowed
    assert "id, weight, [note]" in result.stdout
    bad = write_csv([["id", "lon", "lat", "weight"], ["a", 104.07, 30.57, ":x:"]], "bad.csv")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.stderr == f"error: {bad}, row 2, column 'weight': weight ':x:' is not a number\n"


def test_validate_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: file not found\n"


def test_validate_bad_scenario(runner: CliRunner, write_csv: WriteCsv, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text("[tiers.hub]\nradius_kn = 20\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(write_csv(GOOD)), "--config", str(scenario)])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {scenario}: `tiers.hub.radius_kn`: unknown key (did you mean `radius_km`?); "
    )
    assert len(result.stderr.splitlines()) == 1


def test_validate_bad_kind_is_a_usage_error(runner: CliRunner, write_csv: WriteCsv) -> None:
    result = runner.invoke(app, ["validate", str(write_csv(GOOD)), "--kind", "outlets"])
    assert result.exit_code == 2
    assert "Invalid value for '--kind'" in result.stderr


def test_validate_shows_warnings_on_stderr(
    runner: CliRunner, tmp_path: Path, points_gdf: gpd.GeoDataFrame
) -> None:
    shapes = points_gdf.copy()
    shapes.loc[0, "geometry"] = shapely.box(116.0, 39.5, 117.0, 40.5)
    path = write_frame(shapes, tmp_path / "shapes.geojson")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.stderr == (
        f"warning: {path}: 1 non-point geometry (polygons or lines) replaced by their centroid\n"
    )


def test_debug_re_raises_with_the_traceback(runner: CliRunner, write_csv: WriteCsv) -> None:
    path = write_csv(BAD)
    result = runner.invoke(app, ["--debug", "validate", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert result.exception.total == 3
    # the flag does not stick to later runs
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 2


def test_debug_re_raises_config_errors(
    runner: CliRunner, write_csv: WriteCsv, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["--debug", "validate", str(write_csv(GOOD)), "--config", str(tmp_path / "no.toml")]
    )
    assert isinstance(result.exception, ConfigError)


# --------------------------------------------------------------------------- demo


def test_demo_on_the_bundled_samples(runner: CliRunner, repo_root: Path, tmp_path: Path) -> None:
    samples = repo_root / "data" / "samples"
    if not (samples / "national" / "scenario.toml").exists():
        pytest.skip("data/samples/national/scenario.toml is not generated yet (make samples)")
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    inputs = out / "inputs.json"
    assert inputs.is_file()
    assert f"inputs: {inputs}" in result.stdout
    assert "outputs:" in result.stdout
    summary = json.loads(inputs.read_text(encoding="utf-8"))
    assert {"installed_base", "customers", "sites"} <= set(summary)
    assert summary["sites"]["n_rows"] > 0
    assert not any(p.name.endswith(".tmp") or ".tmp." in p.name for p in out.rglob("*"))
    # Every output the demo announces exists, and the headline figures the README's
    # walkthrough quotes are what the demo computes.
    for name in ("coverage", "plan", "scores", "map", "report", "xlsx"):
        assert f"{name}: " in result.stdout
    for path in ("coverage/summary.json", "plan/plan.csv", "scores/scores.csv", "map.html",
                 "report.html", "report.xlsx"):  # fmt: skip
        assert (out / path).is_file(), path
    today = json.loads((out / "coverage" / "summary.json").read_text(encoding="utf-8"))
    plan = json.loads((out / "plan" / "summary.json").read_text(encoding="utf-8"))
    assert round(100 * today["weighted_coverage_rate"], 1) == 11.7
    assert today["n_blindspots"] == 373
    assert plan["status"] == "optimal"
    assert round(100 * plan["after"]["weighted_coverage_rate"], 1) == 70.4
    assert plan["n_open_by_tier"] == {
        "city_station": 7, "community_point": 1, "partner": 30, "regional_hub": 4
    }  # fmt: skip


def test_demo_with_a_missing_samples_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--samples", str(tmp_path / "none"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- the command wrapper


def _app_with(body: Callable[[], None]) -> typer.Typer:
    """Return a one-command app running ``body`` under netplan's error handling."""
    test_app = typer.Typer()

    @test_app.command()
    @netplan_command
    def run() -> None:
        """Run the body.

        Example: run
        """
        body()

    return test_app


def test_infeasible_model_exits_with_code_3(runner: CliRunner) -> None:
    def body() -> None:
        raise InfeasibleError("no plan covers 95% within the budget; raise the budget to 2.1e6")

    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 3
    assert result.stderr == (
        "error: no plan covers 95% within the budget; raise the budget to 2.1e6\n"
    )


def test_interrupt_exits_with_code_130(runner: CliRunner) -> None:
    def body() -> None:
        raise KeyboardInterrupt

    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 130
    assert result.stderr == "interrupted: no output was half-written\n"


def test_only_netplan_warnings_are_shown_once_each(runner: CliRunner) -> None:
    def body() -> None:
        for _ in range(3):
            warnings.warn("check the ids", InputWarning, stacklevel=1)
        warnings.warn("a library's own deprecation", DeprecationWarning, stacklevel=1)

    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 0
    assert result.stderr == "warning: check the ids\n"


def test_unexpected_errors_are_not_swallowed(runner: CliRunner) -> None:
    def body() -> None:
        raise ZeroDivisionError("a bug")

    # One line naming the bug and --debug, exit code 1: never a traceback, never silence.
    result = runner.invoke(_app_with(body), [])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: internal error (ZeroDivisionError: a bug); ")
    assert "--debug" in result.stderr
