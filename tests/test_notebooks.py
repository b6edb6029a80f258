"""The notebooks run top to bottom on the samples, and are committed without outputs.

Each notebook is executed with nbclient in a kernel started with this test's own
Python (``sys.executable``), from a temporary working folder (the notebooks find the
samples with :func:`netplan.demo.samples_dir` and write under ``out/``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

# jupyter_client / zmq emit deprecation noise unrelated to netplan while a kernel starts.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:jupyter_client.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:zmq.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets.*"),
    pytest.mark.filterwarnings("ignore:.*Jupyter is migrating.*:DeprecationWarning"),
]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = (
    "01_quickstart.ipynb",
    "02_site_selection.ipynb",
    "03_your_data.ipynb",
    "04_large_installed_base.ipynb",
    "05_large_points_map.ipynb",
)
#: Demand points notebook 05 draws in the tests (a million when run by hand or for the docs).
TEST_POINTS = "100000"
#: Seconds one cell may take before the run is called hung (a guard, not a benchmark: the
#: notebooks take well under a minute each on an idle machine; CI machines may be loaded).
TIME_LIMIT = 600
KERNEL_NAME = "netplan-test-python"


def test_every_notebook_is_there() -> None:
    names = {path.name for path in NOTEBOOKS}
    missing = [name for name in EXPECTED if name not in names]
    assert not missing, f"missing notebooks: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"cell {index} has outputs: clear them before committing"
        assert cell.execution_count is None, f"cell {index} has an execution count"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A kernelspec running ipykernel in this very interpreter (the project's venv)."""
    root = tmp_path_factory.mktemp("kernels")
    spec_dir = root / KERNEL_NAME
    spec_dir.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "netplan tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return [str(root)]


def _manager_class(kernel_dirs: list[str]) -> type[AsyncKernelManager]:
    """A kernel manager that finds kernelspecs only in ``kernel_dirs``.

    nbclient creates (and so shuts down and closes) the manager itself when given its
    class rather than an instance.
    """

    class VenvKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _only_our_kernelspecs(self) -> KernelSpecManager:
            return KernelSpecManager(kernel_dirs=kernel_dirs)

    return VenvKernelManager


def _execute(path: Path, workdir: Path, kernel_dirs: list[str]) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=_manager_class(kernel_dirs),
        timeout=TIME_LIMIT,
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=False,
    )
    client.execute(cwd=str(workdir))
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, kernel_dirs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETPLAN_NOTEBOOK_POINTS", TEST_POINTS)  # the kernel inherits it
    try:
        executed = _execute(path, tmp_path, kernel_dirs)
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}")
    errors = [
        output
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    code_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells)
    assert (tmp_path / "out").is_dir(), "the notebook writes its outputs under out/"


def _render_script() -> ModuleType:
    path = ROOT / "scripts" / "render_notebooks.py"
    spec = importlib.util.spec_from_file_location("render_notebooks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_notebooks", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_rendered_copy_is_fresh(path: Path) -> None:
    """docs/notebooks/<name>.md was rendered from the notebook as committed."""
    render = _render_script()
    rendered = ROOT / "docs" / "notebooks" / f"{path.stem}.md"
    hint = "run `python scripts/render_notebooks.py` (make docs) and commit docs/notebooks/"
    assert rendered.is_file(), f"{rendered.name} is missing: {hint}"
    assert render.recorded_hash(rendered) == (path.name, render.cells_hash(path)), (
        f"docs/notebooks/{rendered.name} is stale: {hint}"
    )
    text = rendered.read_text(encoding="utf-8")
    assert "Traceback" not in text
    # Every code cell is there, with its outputs after it.
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.source.strip() in text


def test_rendering_of_outputs(tmp_path: Path) -> None:
    """Markdown cells pass through, stream text is fenced, big maps and widgets become notes."""
    render = _render_script()
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "# Title"},
            {
                "cell_type": "code",
                "source": "print('hi')",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": "\x1b[1mhi\x1b[0m\n"},
                    {
                        "output_type": "display_data",
                        "data": {"text/html": "<div class='folium-map'></div>"},
                    },
                    {
                        "output_type": "display_data",
                        "data": {"application/vnd.jupyter.widget-view+json": {}},
                    },
                    {
                        "output_type": "execute_result",
                        "data": {
                            "text/html": "<style>p{}</style>\n<table>\n\n<tr><td>1</td></tr>"
                            "</table>"
                        },
                    },
                ],
            },
        ]
    }
    notebook["cells"][1]["outputs"].append(
        {"output_type": "display_data", "data": {"text/html": "<pre style='x'></pre>"}}
    )
    text = render.render(notebook, "x.ipynb", "0" * 64)
    assert "<pre" not in text  # an empty print (a progress bar's last refresh) is dropped
    assert text.startswith(f"<!-- rendered from notebooks/x.ipynb cells sha256:{'0' * 64} -->")
    assert "# Title" in text
    assert "```text\nhi\n```" in text  # ANSI colours dropped
    assert "*(an interactive map: run the notebook to see it)*" in text
    assert "*(an interactive widget: run the notebook to see it)*" in text
    assert "<div>\n<table>\n<tr><td>1</td></tr></table>\n</div>" in text  # no style, no blank line
    copy = tmp_path / "x.md"
    copy.write_text(text, encoding="utf-8")
    assert render.recorded_hash(copy) == ("x.ipynb", "0" * 64)
