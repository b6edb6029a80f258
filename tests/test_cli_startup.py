"""The command line starts without the heavy libraries; they load inside the commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


#: Not even the CLI framework loads on `import netplan.cli` or `netplan --version`.
FRAMEWORK = ("typer", "click", "rich", "pydantic", "netplan.config", "netplan.cli._app")
#: What `--help` (top level or a command's) must not pay for: the heavy libraries, the
#: reading layer, and pydantic (typer coerces option values through it, not help flags).
NOT_FOR_HELP = (*HEAVY, "pydantic", "netplan.io", "netplan.coverage", "netplan.reach")


def test_import_cli_loads_no_framework() -> None:
    loaded = _modules_after("import netplan.cli")
    assert not [name for name in FRAMEWORK if name in loaded]


def _modules_after_main(args: list[str], tmp_path: Path) -> tuple[int, str, set[str]]:
    """Run ``netplan ARGS`` through the console-script entry; return exit code, stdout, modules."""
    listing = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"out = open({str(listing)!r}, 'w')\n"
        "atexit.register(lambda: out.write(json.dumps(sorted(sys.modules))) and out.close())\n"
        f"sys.argv = ['netplan', *{args!r}]\n"
        "from netplan.cli import main\n"
        "main()\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return completed.returncode, completed.stdout, set(json.loads(listing.read_text()))


def test_version_loads_no_framework(tmp_path: Path) -> None:
    exit_code, output, loaded = _modules_after_main(["--version"], tmp_path)
    assert (exit_code, output.startswith("netplan ")) == (0, True)
    assert not [name for name in FRAMEWORK if name in loaded]


@pytest.mark.parametrize(
    "args", [["--help"], ["coverage", "--help"], ["optimize", "--help"], ["convert", "--help"]]
)
def test_help_loads_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    exit_code, output, loaded = _modules_after_main(args, tmp_path)
    assert exit_code == 0
    assert "Usage" in output
    assert not [name for name in NOT_FOR_HELP if name in loaded]


def test_plain_csv_still_reaches_the_writer(tmp_path: Path) -> None:
    """--plain-csv loads the reading layer to set the encoding (it is lazy otherwise)."""
    exit_code, _, loaded = _modules_after_main(["--plain-csv", "coverage", "--help"], tmp_path)
    assert exit_code == 0
    assert "netplan.io" in loaded


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
