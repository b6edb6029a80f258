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
