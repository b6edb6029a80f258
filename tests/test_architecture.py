"""The layer contract (pyproject `[tool.importlinter]`, docs/architecture.md) holds."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "netplan"


def test_the_layer_contract_holds(repo_root: Path) -> None:
    pytest.importorskip("importlinter", reason="import-linter is in the dev extra")
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "importlinter.cli"]
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    result = subprocess.run(
        command, cwd=repo_root, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "outputs render, never compute" in result.stdout  # both contracts ran


def _private_imports() -> list[str]:
    """Return ``module: name`` for every ``from netplan.x import _name`` in src (any depth)."""
    found: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = ".".join(("netplan", *path.relative_to(SRC).with_suffix("").parts[:-1]))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            target = node.module
            if not target.startswith("netplan"):
                continue
            # A package's own private helpers (netplan.locate._matrix) are its business.
            if target.startswith(package + ".") or target == package:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.endswith("__"):
                    found.append(f"{path.relative_to(SRC)}: {target}.{alias.name}")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    assert _private_imports() == []


def test_by_name_imports_only_at_the_plugin_points() -> None:
    """`importlib.import_module` hides an import from lint-imports: only two places may use it.

    The package's lazy public names (``netplan/__init__.py``) and the plug-in
    point of ``result.map()`` / ``result.explore()`` (``netplan/display.py``,
    which imports ``display.MAP_PLUGIN``; docs/architecture.md says why).
    """
    allowed = {"__init__.py", "display.py"}
    found = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if "import_module" in path.read_text(encoding="utf-8")
        and str(path.relative_to(SRC)) not in allowed
    ]
    assert found == []
    from netplan import display

    assert display.MAP_PLUGIN == "netplan.notebook"
