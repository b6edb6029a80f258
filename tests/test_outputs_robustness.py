"""Output robustness (issue 11, output side): no file lost, replaced or half-written.

Each class of failure found by trying to break 0.1 has a regression test here,
and hypothesis fuzzes the output paths (devices, FIFOs, links, folders of
inputs, read-only and full file systems, a writer failing midway).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netplan.cli import app
from netplan.config import scenario_from_dict
from netplan.coverage import coverage_from_points
from netplan.errors import InputError
from netplan.io import (
    FORMULA_STARTS,
    csv_quoting,
    csv_safe,
    output_folder,
    output_set,
    write_frame,
    write_text,
)
from netplan.locate import plan_from_points

ROOT = os.geteuid() == 0
SRC = Path(__file__).resolve().parents[1] / "src"

SCENARIO = {
    "scenario": {"name": "tiny"},
    "tiers": {
        "hub": {"label": "Hub", "radius_km": 120, "fixed_cost": 1000},
        "station": {"label": "Station", "radius_km": 40, "fixed_cost": 100},
    },
    "plan": {"budget": 400},
}


def _demand() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    n = 40
    lon = np.concatenate([rng.normal(0.0, 0.2, 20), rng.normal(3.0, 0.2, 20)])
    return gpd.GeoDataFrame(
        {"id": [f"d{i}" for i in range(n)], "weight": rng.uniform(1.0, 3.0, n)},
        geometry=gpd.points_from_xy(lon, rng.normal(0.0, 0.2, n)),
        crs=4326,
    )


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["H1", "S1", "S2"],
            "name": ['=HYPERLINK("http://x")', "Station one", "-station two"],
            "tier": ["hub", "station", "station"],
            "status": ["existing", "candidate", "candidate"],
            "fixed_cost": [1000.0, 100.0, 100.0],
        },
        geometry=gpd.points_from_xy([0.0, 3.0, 3.1], [0.0, 0.0, 0.1]),
        crs=4326,
    )


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Coverage and plan output folders written by the library."""
    scenario = scenario_from_dict(SCENARIO, source="tiny.toml")
    base = tmp_path_factory.mktemp("outputs")
    demand, sites = _demand(), _sites()
    coverage_from_points(demand, sites, scenario).to_files(base / "coverage")
    plan_from_points(demand, sites, scenario).to_files(base / "plan")
    demand_csv = base / "demand.csv"
    sites_csv = base / "sites.csv"
    write_frame(demand, demand_csv)
    write_frame(sites, sites_csv)
    return {
        "coverage": base / "coverage",
        "plan": base / "plan",
        "demand": demand_csv,
        "sites": sites_csv,
    }


def _invoke(*argv: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in argv])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _char_device(path: Path) -> Path:
    """Make a character device like /dev/null at ``path`` (root only)."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


def _is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(os.stat(path).st_mode)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*") if ".netplan-" in p.name or ".tmp" in p.name]


def _python(*argv: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [sys.executable, "-c", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(done.stdout)


needs_root = pytest.mark.skipif(not ROOT, reason="needs root (mknod, mount)")


TOML = """
[scenario]
name = "tiny"

[tiers.hub]
label = "Hub"
radius_km = 120
fixed_cost = 1000

[tiers.station]
label = "Station"
radius_km = 40
fixed_cost = 100

[plan]
budget = 400
"""


@pytest.fixture(scope="module")
def config(folders: dict[str, Path]) -> Path:
    path = folders["demand"].parent / "scenario.toml"
    path.write_text(TOML, encoding="utf-8")
    return path


@contextlib.contextmanager
def _tmpfs(where: Path, *, size_kb: int = 64, read_only: bool = False) -> Iterator[Path]:
    """Mount a small tmpfs at ``where`` (skip the test when mounting is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k" + (",ro" if read_only else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@contextlib.contextmanager
def _full_disk(where: Path) -> Iterator[Path]:
    """A tmpfs with (almost) no space left."""
    with _tmpfs(where, size_kb=64) as mount:
        with (mount / "pad").open("wb", buffering=0) as pad, contextlib.suppress(OSError):
            for _ in range(1024):
                pad.write(b"\0" * 1024)
        yield mount


# --------------------------------------------------------------------------- devices


@needs_root
def test_atomic_writers_write_through_a_character_device(tmp_path: Path) -> None:
    device = _char_device(tmp_path / "null")
    write_text(device, "hello")
    write_frame(pd.DataFrame({"a": [1, 2]}), device, fmt="csv")
    assert _is_char_device(device)


def test_atomic_writers_write_through_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read)
    reader.start()
    write_text(fifo, '{"a": 1}')
    reader.join(timeout=10)
    assert received == [b'{"a": 1}']
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_link_to_a_file_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text(link, "new")
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8") == "new"


def test_dangling_link_and_folder_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "dangling.json"
    link.symlink_to(tmp_path / "missing" / "x.json")
    with pytest.raises(InputError, match="symbolic link to a missing file"):
        write_text(link, "x")
    assert link.is_symlink()
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match="cannot write"):
        write_text(loop, "x")
    with pytest.raises(InputError, match="is a folder"):
        write_text(tmp_path, "x")


@needs_root
def test_cli_never_replaces_a_device(tmp_path: Path, folders: dict[str, Path]) -> None:
    html, xlsx, as_json, map_html = (
        _char_device(tmp_path / name) for name in ("report", "book", "json", "map")
    )
    code, output = _invoke("map", "--coverage", folders["coverage"], "--out", map_html)
    assert code == 0, output
    code, output = _invoke(
        "report", "--coverage", folders["coverage"], "--out", html, "--xlsx", xlsx
    )
    assert code == 0, output
    code, output = _invoke("compare", folders["coverage"], folders["plan"], "--json", as_json)
    assert code == 0, output
    assert all(_is_char_device(p) for p in (html, xlsx, as_json, map_html))


# --------------------------------------------------------------------------- inputs in folders


def _protected(folders: dict[str, Path]) -> list[tuple[list[str | Path], Path]]:
    cov, plan = folders["coverage"], folders["plan"]
    return [
        (["compare", cov, plan, "--json", cov / "summary.json"], cov / "summary.json"),
        (["report", "--coverage", cov, "--out", cov / "summary.json"], cov / "summary.json"),
        (
            [
                "report",
                "--plan",
                plan,
                "--out",
                plan.parent / "r.html",
                "--xlsx",
                plan / "plan.csv",
            ],
            plan / "plan.csv",
        ),
        (["map", "--coverage", cov, "--out", cov / "coverage.csv"], cov / "coverage.csv"),
    ]


def test_outputs_never_overwrite_a_file_of_an_input_folder(folders: dict[str, Path]) -> None:
    for argv, victim in _protected(folders):
        before = victim.read_bytes()
        code, output = _invoke(*argv)
        assert code == 2, (argv, output)
        assert "input folder" in output and str(victim) in output
        assert victim.read_bytes() == before


def test_an_input_folder_reached_through_a_link_is_still_protected(
    tmp_path: Path, folders: dict[str, Path]
) -> None:
    link = tmp_path / "cov-link"
    link.symlink_to(folders["coverage"])
    before = (folders["coverage"] / "summary.json").read_bytes()
    code, output = _invoke(
        "compare", folders["coverage"], folders["plan"], "--json", link / "summary.json"
    )
    assert code == 2, output
    assert (folders["coverage"] / "summary.json").read_bytes() == before


def test_a_new_report_inside_an_input_folder_is_allowed(folders: dict[str, Path]) -> None:
    report = folders["coverage"] / "report.html"
    try:
        for _ in range(2):  # the second run replaces the report: it is no input
            code, output = _invoke("report", "--coverage", folders["coverage"], "--out", report)
            assert code == 0, output
    finally:
        report.unlink(missing_ok=True)


# --------------------------------------------------------------------------- two runs, one folder

_WRITER = """
import os, sys, time
from pathlib import Path
from netplan.io import output_folder, write_text
out, tag, delay = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
real = os.replace
def slow(source, target):  # slow moves into the folder: runs overlap while moving
    real(source, target)
    if Path(target).parent == out:
        time.sleep(delay)
os.replace = slow
(out.parent / f"ready-{tag}").touch()
while len(list(out.parent.glob("ready-*"))) < 2:  # start together
    time.sleep(0.01)
with output_folder(out, owned=["*.txt"]) as folder:
    for name in ("a.txt", "b.txt", "c.txt"):
        write_text(folder.stage / name, tag)
print("done", tag)
"""


def test_two_processes_writing_one_folder_leave_one_complete_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runs = [_python(_WRITER, str(out), tag, delay) for tag, delay in (("a", "0.5"), ("b", "0.05"))]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    contents = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert sorted(contents) == ["a.txt", "b.txt", "c.txt"]
    assert len(set(contents.values())) == 1, contents  # one run's set, never a mix


_HOLDER = """
import sys, time
from pathlib import Path
from netplan.io import folder_lock
with folder_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(30)
"""


def test_a_folder_in_use_is_refused_after_waiting(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = _python(_HOLDER, str(out))
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"locked"
        with (
            pytest.raises(InputError, match="in use by another netplan run"),
            output_folder(out, owned=["*.txt"], wait=0.2) as folder,
        ):
            write_text(folder.stage / "a.txt", "x")
        assert list(out.iterdir()) == []
    finally:
        holder.kill()
        holder.communicate()
    with output_folder(out, owned=["*.txt"], wait=5) as folder:  # the kill freed the lock
        write_text(folder.stage / "a.txt", "x")
    assert (out / "a.txt").read_text(encoding="utf-8") == "x"


def test_a_run_killed_while_moving_its_set_in_is_finished_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("new", encoding="utf-8")  # moved before the kill
    (out / "b.txt").write_text("old", encoding="utf-8")
    stage = out / f".netplan-staging-{_dead_pid()}-abc"
    stage.mkdir()
    (stage / "b.txt").write_text("new", encoding="utf-8")
    (stage / ".netplan-complete").touch()
    with output_folder(out, owned=["*.txt"]) as folder:
        assert (out / "b.txt").read_text(encoding="utf-8") == "new"  # finished first
        write_text(folder.stage / "c.txt", "newer")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "c.txt"]


@pytest.mark.slow
def test_two_coverage_runs_into_one_folder(
    tmp_path: Path, folders: dict[str, Path], config: Path
) -> None:
    out = tmp_path / "cov"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    argv = [sys.executable, "-m", "netplan", "coverage", "--demand", str(folders["demand"])]
    runs = [
        subprocess.Popen(
            [
                *argv,
                "--sites",
                str(folders["sites"]),
                "--config",
                str(config),
                "--out",
                str(out),
                "--format",
                fmt,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for fmt in ("csv", "csv")
    ]
    results = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    assert sorted(p.name for p in out.iterdir()) == [
        "blindspots.geojson",
        "coverage.csv",
        "summary.json",
    ]
    assert _no_temp_files(out)


# --------------------------------------------------------------------------- read-only, full disk


def _write_commands(where: Path, folders: dict[str, Path], config: Path) -> list[list[str | Path]]:
    cov, plan = folders["coverage"], folders["plan"]
    return [
        [
            "coverage",
            "--demand",
            folders["demand"],
            "--sites",
            folders["sites"],
            "--config",
            config,
            "--out",
            where / "cov",
        ],
        [
            "optimize",
            "--demand",
            folders["demand"],
            "--sites",
            folders["sites"],
            "--config",
            config,
            "--out",
            where / "plan",
        ],
        [
            "report",
            "--coverage",
            cov,
            "--plan",
            plan,
            "--out",
            where / "r.html",
            "--xlsx",
            where / "r.xlsx",
        ],
        ["map", "--coverage", cov, "--out", where / "map.html"],
        ["compare", cov, plan, "--json", where / "cmp.json"],
        ["convert", folders["demand"], where / "ds", "--cells", where / "cells.csv"],
        [
            "score",
            "--demand",
            folders["demand"],
            "--sites",
            folders["sites"],
            "--config",
            config,
            "--out",
            where / "scores",
        ],
        ["candidates", "--demand", folders["demand"], "--n", "2", "--out", where / "cand.csv"],
    ]


def _assert_cannot_write(code: int, output: str, argv: list[str | Path]) -> None:
    assert code == 2, (argv, output)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write" in errors[0], (argv, output)
    assert "internal error" not in output and "Traceback" not in output


@needs_root
def test_read_only_folder_every_command_exits_2(
    tmp_path: Path, folders: dict[str, Path], config: Path
) -> None:
    with _tmpfs(tmp_path / "ro", read_only=True) as where:
        for argv in _write_commands(where, folders, config):
            code, output = _invoke(*argv)
            _assert_cannot_write(code, output, argv)
        assert list(where.iterdir()) == []


@needs_root
def test_full_disk_every_command_exits_2_and_leaves_nothing(
    tmp_path: Path, folders: dict[str, Path], config: Path
) -> None:
    with _full_disk(tmp_path / "full") as where:
        for argv in _write_commands(where, folders, config):
            code, output = _invoke(*argv)
            _assert_cannot_write(code, output, argv)
            assert sorted(p.name for p in where.iterdir()) == ["pad"], argv


def test_a_refused_write_is_one_line_even_without_a_mount(
    tmp_path: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.replace

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(os, "replace", full)
    code, output = _invoke(
        "compare", folders["coverage"], folders["plan"], "--json", tmp_path / "c.json"
    )
    monkeypatch.setattr(os, "replace", real)
    _assert_cannot_write(code, output, ["compare"])
    assert not (tmp_path / "c.json").exists()
    assert _no_temp_files(tmp_path)


@pytest.mark.slow
@needs_root
def test_report_xlsx_on_a_full_disk_prints_no_exception_ignored(
    tmp_path: Path, folders: dict[str, Path]
) -> None:
    with _full_disk(tmp_path / "full") as where:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "netplan",
                "report",
                "--coverage",
                str(folders["coverage"]),
                "--out",
                str(where / "r.html"),
                "--xlsx",
                str(where / "r.xlsx"),
            ],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == 2, done.stderr
        assert "Exception ignored" not in done.stderr
        assert done.stderr.strip().startswith("error: cannot write")
        assert sorted(p.name for p in where.iterdir()) == ["pad"]


# --------------------------------------------------------------------------- one command, one set


def test_report_workbook_failing_leaves_the_old_report(
    tmp_path: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    html.write_text("old", encoding="utf-8")
    xlsx.write_bytes(b"old")

    def full(self: object, filename: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("openpyxl.Workbook.save", full)
    code, output = _invoke(
        "report", "--coverage", folders["coverage"], "--out", html, "--xlsx", xlsx
    )
    assert code == 2, output
    assert html.read_text(encoding="utf-8") == "old"
    assert xlsx.read_bytes() == b"old"
    assert _no_temp_files(tmp_path)


def test_convert_cells_failing_leaves_no_dataset(
    tmp_path: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "cells.csv"))

    monkeypatch.setattr("netplan.io.write_frame", broken)  # convert imports it when it runs
    code, output = _invoke(
        "convert", folders["demand"], tmp_path / "ds", "--cells", tmp_path / "cells.csv"
    )
    assert code == 2, output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_convert_with_cells_writes_both(tmp_path: Path, folders: dict[str, Path]) -> None:
    code, output = _invoke(
        "convert", folders["demand"], tmp_path / "ds", "--cells", tmp_path / "cells.csv"
    )
    assert code == 0, output
    assert (tmp_path / "ds" / "_netplan_dataset.json").exists() or any(
        (tmp_path / "ds").glob("*.json")
    )
    assert pd.read_csv(tmp_path / "cells.csv")["weight"].sum() == pytest.approx(
        _demand()["weight"].sum()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.csv", "ds"]


def test_output_set_is_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a", encoding="utf-8")
    with pytest.raises(RuntimeError), output_set():
        write_text(tmp_path / "a.txt", "new a")
        write_text(tmp_path / "b.txt", "new b")
        raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "old a"
    with output_set():
        write_text(tmp_path / "a.txt", "new a")
        assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "old a"  # not yet
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "new a"


def test_temp_files_of_a_killed_run_are_cleaned_by_the_next(tmp_path: Path) -> None:
    victim = _python(
        "import os, sys\n"
        "from netplan.io import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), 9)\n",
        str(tmp_path / "report.xlsx"),
    )
    victim.communicate(timeout=120)
    assert victim.returncode == -9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report.")]
    write_text(tmp_path / "report.html", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


# --------------------------------------------------------------------------- CSV injection


def _csv_cells(path: Path) -> list[list[str]]:
    # netplan writes CSV as UTF-8 with a byte-order mark by default (Excel in China).
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_csv_text_cells_that_are_formulas_are_neutralised(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "ok", "-12.5"],
            "weight": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "=name": ["a"] * 8,
        }
    )
    path = write_frame(frame, tmp_path / "t.csv")
    rows = _csv_cells(path)
    assert rows[0] == ["id", "weight", "'=name"]
    assert [r[0] for r in rows[1:]] == [
        "'=1+1",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "ok",
        "-12.5",
    ]
    assert [r[1] for r in rows[1:]][:3] == ["-1.5", "2", "-3"]  # numbers stay numbers


def test_plan_and_coverage_csv_carry_no_formula(tmp_path: Path, folders: dict[str, Path]) -> None:
    rows = _csv_cells(folders["plan"] / "plan.csv")
    names = [row[rows[0].index("name")] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names and "'-station two" in names
    for path in (folders["plan"] / "plan.csv", folders["coverage"] / "coverage.csv"):
        for row in _csv_cells(path):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS) or _number(cell), (path, cell)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_safe_leaves_ordinary_frames_alone() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "x": [-1.0, 2.0], "n": [None, None]})
    assert csv_safe(frame) is frame


# --------------------------------------------------------------------------- determinism


def test_pdf_dates_are_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    from netplan.report import fix_pdf_dates

    body = (
        b"%PDF-1.4\n1 0 obj <</Creator (x) /CreationDate (D:20261202234948+08'00') "
        b"/ModDate (D:20261203010203+00'00')>> endobj\nxref\n"
    )
    fixed = fix_pdf_dates(body)
    assert len(fixed) == len(body)  # cross-reference offsets stay valid
    assert b"/CreationDate (D:20000101000000+00'00')" in fixed
    assert b"/ModDate (D:20000101000000+00'00')" in fixed
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert b"(D:20231114221320+00'00')" in fix_pdf_dates(body)


@pytest.mark.slow
@pytest.mark.skipif(
    not any(Path(p, "chromium").exists() for p in os.environ.get("PATH", "").split(os.pathsep)),
    reason="no Chromium",
)
def test_report_pdf_is_byte_identical_on_rerun(tmp_path: Path, folders: dict[str, Path]) -> None:
    pdfs = []
    for run in range(2):
        pdf = tmp_path / f"r{run}.pdf"
        code, output = _invoke(
            "report", "--coverage", folders["coverage"], "--out", tmp_path / "r.html", "--pdf", pdf
        )
        assert code == 0, output
        pdfs.append(pdf.read_bytes())
        time.sleep(1.1)  # a different second: the old dates would differ
    assert pdfs[0] == pdfs[1]


# --------------------------------------------------------------------------- fuzzing

_KINDS = ("missing", "nested", "file", "link", "dangling", "folder", "fifo", "device")


def _make_target(base: Path, kind: str) -> Path:
    path = base / "target.csv"
    if kind == "nested":
        return base / "new" / "deeper" / "target.csv"
    if kind == "file":
        path.write_text("old", encoding="utf-8")
    elif kind == "link":
        (base / "real.csv").write_text("old", encoding="utf-8")
        path.symlink_to(base / "real.csv")
    elif kind == "dangling":
        path.symlink_to(base / "nowhere.csv")
    elif kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if not ROOT:
            return base / "target.csv"
        _char_device(path)
    return path


def _drain(path: Path) -> threading.Thread:
    def read() -> None:
        with contextlib.suppress(OSError), path.open("rb") as handle:
            handle.read()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(_KINDS),
    cells=st.lists(st.one_of(_TEXT, st.floats(allow_nan=False, width=32)), min_size=1, max_size=6),
    fail=st.booleans(),
)
def test_fuzz_output_paths(
    tmp_path_factory: pytest.TempPathFactory, kind: str, cells: list[object], fail: bool
) -> None:
    """Whatever the target, a write succeeds as asked or fails in one line; nothing is lost."""
    base = tmp_path_factory.mktemp("fuzz")
    path = _make_target(base, kind)
    mode = os.lstat(path).st_mode if os.path.lexists(path) else None
    before = path.read_bytes() if kind in ("file", "link") else None
    reader = _drain(path) if kind == "fifo" else None
    frame = pd.DataFrame({"value": pd.Series(cells, dtype=object)})
    try:
        with output_set():
            write_frame(frame, path, fmt="csv")
            if fail:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    except InputError as exc:
        assert kind in ("dangling", "folder"), exc
        assert "\n" not in str(exc)
    except OSError:
        assert fail
        if before is not None:
            assert path.read_bytes() == before  # the failed set replaced nothing
    else:
        assert not fail
        if kind in ("missing", "nested", "file", "link"):
            rows = _csv_cells(path)[1:]
            assert len(rows) == len(cells)
            for row, cell in zip(rows, cells, strict=True):
                if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _plain(cell):
                    assert row[0] == "'" + cell
    finally:
        if reader is not None:
            if reader.is_alive():  # unblock a reader left waiting (never block on no reader)
                with contextlib.suppress(OSError):
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(timeout=5)
    if mode is not None and kind in ("fifo", "device", "link", "folder", "dangling"):
        assert stat.S_IFMT(os.lstat(path).st_mode) == stat.S_IFMT(mode)  # never replaced
    assert _no_temp_files(base)


def _plain(text: str) -> bool:
    if text != text.strip():
        return False
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            _TEXT, st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False)
        ),
        max_size=20,
    )
)
def test_fuzz_csv_cells_are_never_formulas(cells: list[object]) -> None:
    """Every text cell read back is safe, and removing the added quote gives the original."""
    frame = pd.DataFrame({"v": pd.Series(cells, dtype=object)})
    buffer = io.StringIO()
    safe = csv_safe(frame)
    safe.to_csv(buffer, index=False, lineterminator="\n", quoting=csv_quoting(safe))
    buffer.seek(0)
    rows = list(csv.reader(buffer))[1:]
    for row, cell in zip(rows, cells, strict=True):
        text = row[0] if row else ""
        if isinstance(cell, str):
            if text.startswith("'") and cell.startswith(FORMULA_STARTS):
                assert text[1:] == cell
            else:
                assert not text.startswith(FORMULA_STARTS) or _plain(text) or text == ""
        elif isinstance(cell, (int, float)):
            assert float(text) == pytest.approx(float(cell))


@needs_root
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(1, 200_000), n_files=st.integers(1, 4), fail_at=st.integers(0, 4))
def test_fuzz_full_disk_sets(
    tmp_path_factory: pytest.TempPathFactory, size: int, n_files: int, fail_at: int
) -> None:
    """On a small file system, a set of files is written whole or not at all, in one line."""
    base = tmp_path_factory.mktemp("disk")
    with _tmpfs(base / "m", size_kb=128) as where:
        (where / "keep.txt").write_text("old", encoding="utf-8")
        try:
            with output_set():
                for i in range(n_files):
                    write_text(where / f"f{i}.txt", "x" * size)
                    if i == fail_at:
                        write_text(where / "keep.txt", "new")
        except InputError as exc:
            assert str(exc).startswith("cannot write")
            assert sorted(p.name for p in where.iterdir()) == ["keep.txt"]
            assert (where / "keep.txt").read_text(encoding="utf-8") == "old"
        else:
            names = sorted(p.name for p in where.iterdir())
            assert names == sorted(["keep.txt", *(f"f{i}.txt" for i in range(n_files))])
