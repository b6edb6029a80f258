"""Screenshot a rich netplan result in JupyterLab (headless Chromium) for the README.

    python scripts/jupyter_screenshot.py [docs/img/jupyter_coverage.png]

Runs a three-cell notebook on the national sample (the last cell shows a
``CoverageResult``), saves it with its outputs in a temporary folder, starts
JupyterLab there on a free local port with a random token, opens the notebook
in headless Chromium, writes the screenshot and stops the server. Needs
JupyterLab (``make lab``) and Chromium; nothing is fetched from the network.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

CELLS = [
    "from netplan import coverage_from_points, load_scenario, read_installed_base, read_sites\n"
    "from netplan.demo import samples_dir\n\n"
    'national = samples_dir() / "national"\n'
    'scenario = load_scenario(national / "scenario.toml")\n'
    'installed_base = read_installed_base(national / "installed_base.csv", scenario=scenario)\n'
    'sites = read_sites(national / "sites.csv", scenario=scenario)',
    "result = coverage_from_points(installed_base, sites, scenario, progress=False)\nresult",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _notebook(folder: Path) -> Path:
    import nbformat
    import nbformat.sign
    from render_notebooks import _kernel_dirs, execute

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (netplan)",
        "language": "python",
    }
    source = folder / "source.ipynb"
    nbformat.write(notebook, source)
    executed = execute(source, folder, _kernel_dirs(folder / "kernels"))
    executed["metadata"]["kernelspec"] = notebook.metadata["kernelspec"]
    path = folder / "netplan_in_jupyterlab.ipynb"
    signed = nbformat.reads(json.dumps(executed), as_version=4)
    # Trusted, as a notebook one has just run: JupyterLab then keeps the display's <style>.
    nbformat.sign.NotebookNotary().sign(signed)
    nbformat.write(signed, path)
    source.unlink()
    return path


def main(target: Path) -> int:
    from netplan.report import find_chromium

    chromium = find_chromium()
    if chromium is None:
        print("Chromium not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="netplan-lab-") as tmp:
        folder = Path(tmp)
        notebook = _notebook(folder)
        config = folder / "config"
        (config / "labconfig").mkdir(parents=True)
        disabled = {"@jupyterlab/apputils-extension:announcements": True}
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": disabled}), encoding="utf-8"
        )
        port, token = _free_port(), secrets.token_hex(16)
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--ServerApp.token={token}",
                f"--ServerApp.root_dir={folder}",
                "--LabApp.news_url=",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/doc/tree/{notebook.name}?token={token}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api?token={token}", timeout=2)
                    break
                except OSError:
                    time.sleep(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            shot = subprocess.run(
                [
                    chromium,
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--window-size=1400,880",
                    "--no-first-run",
                    "--disable-background-networking",
                    f"--user-data-dir={folder / 'chromium'}",
                    "--virtual-time-budget=40000",
                    f"--screenshot={target}",
                    url,
                ],
                check=False,
                timeout=300,
                capture_output=True,
                text=True,
            )
            if not target.is_file():
                print(shot.stderr[-2000:], file=sys.stderr)
                return 1
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    default = ROOT / "docs" / "img" / "jupyter_coverage.png"
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
