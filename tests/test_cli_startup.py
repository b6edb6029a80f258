"""The command line starts without the heavy libraries; they load inside the commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries a command imports when it runs, never at start-up.
HEAVY = ("geopandas", "folium", "highspy", "dask", "openpyxl", "pandas", "shapely", "scipy")


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("statement", ["import netplan.cli", "import netplan"])
def test_import_does_not_load_heavy_libraries(statement: str) -> None:
    loaded = _modules_after(statement)
    assert not [name for name in HEAVY if name in loaded]


def test_heavy_libraries_load_on_first_use() -> None:
    loaded = _modules_after("import netplan\nnetplan.read_points")
    assert "geopandas" in loaded


def test_help_lists_every_command_without_heavy_libraries() -> None:
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from netplan.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "print(json.dumps([result.exit_code, result.output, sorted(sys.modules)]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    exit_code, output, modules = json.loads(completed.stdout.strip().splitlines()[-1])
    assert exit_code == 0
    for name in ("coverage", "convert", "validate", "optimize", "frontier", "demo", "map"):
        assert name in output
    assert not [name for name in HEAVY if name in modules]


def test_option_defaults_match_the_library() -> None:
    from netplan import demo, stream
    from netplan.cli import convert, plan
    from netplan.cli import demo as demo_cli
    from netplan.locate.plan import MODELS

    assert demo_cli.DEMO_TIME_LIMIT == demo.DEMO_TIME_LIMIT
    assert convert.DEFAULT_CHUNK_ROWS == stream.DEFAULT_CHUNK_ROWS
    assert tuple(m.value for m in plan.Model) == MODELS


def test_public_names_resolve() -> None:
    import netplan

    for name in netplan.__all__:
        assert getattr(netplan, name) is not None
    with pytest.raises(AttributeError):
        _ = netplan.no_such_name  # type: ignore[attr-defined]


def test_version_fast_path_prints_what_typer_prints() -> None:
    from typer.testing import CliRunner

    from netplan.cli import app

    typer_output = CliRunner().invoke(app, ["--version"]).output
    completed = subprocess.run(
        [sys.executable, "-m", "netplan", "--version"], check=True, capture_output=True, text=True
    )
    assert completed.stdout == typer_output
    assert completed.stdout.startswith("netplan ")
