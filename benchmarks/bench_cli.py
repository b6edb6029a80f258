"""Time the command line's start-up: ``netplan --help`` and ``netplan --version``.

Each command runs ``--repeat`` times in a fresh process (``python -m netplan``,
the same code as the ``netplan`` script); the table gives the median and the
fastest run and the median CPU time (user + system: what a loaded machine
distorts least), beside two floors: a bare ``python -c pass`` and ``import typer``
with the rich tables (what any typer CLI pays). The machine is shared, so the
load average is printed with the figures.

Compiled bytecode is cached for the runs (in a temporary ``PYTHONPYCACHEPREFIX``,
even when ``PYTHONDONTWRITEBYTECODE`` is set), as an installed package has it:
without it every run compiles netplan's sources again (about 0.1 s of the start-up
on this machine), which no user pays. The warm-up run writes the cache.

Usage::

    .venv/bin/python benchmarks/bench_cli.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "import typer + rich (floor)": [
        sys.executable,
        "-c",
        "import typer, rich.table, rich.progress",
    ],
    "netplan --version": [sys.executable, "-m", "netplan", "--version"],
    "netplan --help": [sys.executable, "-m", "netplan", "--help"],
    "netplan coverage --help": [sys.executable, "-m", "netplan", "coverage", "--help"],
}


def time_once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Return the wall and CPU (user + system) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7, help="runs per command")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"# start-up, {args.repeat} runs each; load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} on {os.cpu_count()} cores"
    )
    header = f"{'command':<30} {'median s':>9} {'fastest s':>10} {'median CPU s':>13}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="netplan-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for name, command in CASES.items():
            time_once(command, env)  # warm the file cache and write the bytecode
            runs = [time_once(command, env) for _ in range(args.repeat)]
            _print_row(name, runs)


def _print_row(name: str, runs: list[tuple[float, float]]) -> None:
    walls = [wall for wall, _ in runs]
    cpus = [cpu for _, cpu in runs]
    print(
        f"{name:<30} {statistics.median(walls):>9.3f} {min(walls):>10.3f} "
        f"{statistics.median(cpus):>13.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
