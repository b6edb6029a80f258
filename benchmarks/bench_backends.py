"""Solve the same location instances with several MILP back-ends, side by side.

Run from the repository root (the instances live in ``../shared/benchmarks``)::

    .venv/bin/python benchmarks/bench_backends.py                       # the default set
    .venv/bin/python benchmarks/bench_backends.py --backends highs,scip,cpsat,cpsat:8
    .venv/bin/python benchmarks/bench_backends.py --no-tiered --pmed 1,6 --no-sjc

The instances are ``bench_locate.py``'s own (imported from it, not copied):
the tiered national rows (10,000 demand cells x 2,000 candidates x 3 tiers;
max coverage within a budget of 2.5e7, and min cost for an 80 % target; 60 s
limit, gap 0.5 %), OR-Library ``pmed`` under the radius formulation, the SJC
maximal-covering series and a seeded random MCLP. Each (instance, back-end)
pair runs in a fresh process in which every solve that would use HiGHS uses
the back-end instead (``cpsat:8`` = CP-SAT with 8 workers), so the whole
pipeline (preprocessing, start heuristics, local search, polish) is the same
and only the solver differs. A back-end that refuses or fails shows its
message in the status column; nothing falls back silently.

Each row: instance, back-end, status, objective, bound, gap, wall and CPU
seconds (CPU counts every thread and child process; above the wall time on a
multi-threaded solve), and the machine's load average when the row started.
The machine may be shared: a multi-worker solver suffers most from load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_locate  # the instances are bench_locate's


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _use_backend(backend: str, threads: int | None) -> None:
    """Make every solver setting of this process that names HiGHS name ``backend``."""
    from netplan.locate import solve

    original = solve.SolverSettings.__post_init__

    def post_init(self: Any) -> None:
        if self.solver == "highs":
            object.__setattr__(self, "solver", backend)
        if threads is not None and self.threads is None:
            object.__setattr__(self, "threads", threads)
        original(self)

    solve.SolverSettings.__post_init__ = post_init  # type: ignore[method-assign]

    def no_fallback(model: Any, settings: Any, failure: Exception) -> Any:
        raise failure  # a back-end that refuses or fails says so in its row

    solve._fall_back = no_fallback


def run_case(
    backend: str, threads: int | None, kind: str, arguments: tuple[Any, ...]
) -> dict[str, Any]:
    """Run one bench_locate case with ``backend`` (in a child process)."""
    import warnings

    _use_backend(backend, threads)
    results: list[Any] = []
    original_row = bench_locate._row

    def capture(label: str, result: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        results.append(result)
        return original_row(label, result, *args, **kwargs)

    bench_locate._row = capture
    function: Callable[..., dict[str, Any]] = {
        "tiered": bench_locate.case_tiered,
        "pmed": bench_locate.case_pmed,
        "sjc": bench_locate.case_sjc,
        "MCLP": bench_locate.case_random,
    }[kind]
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            row = function(*arguments)
        except Exception as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return {
                "status": f"failed: {text[:160]}",
                "wall_s": time.perf_counter() - started,
                "cpu_s": _cpu_seconds() - cpu,
            }
    row["wall_s"] = time.perf_counter() - started
    row["cpu_s"] = _cpu_seconds() - cpu
    row["warnings"] = sorted({str(w.message)[:160] for w in caught})
    if results:
        result = results[-1]
        row["objective"] = result.objective
        row["bound"] = result.best_bound
        row["solver"] = result.solver
    return row


def _run_isolated(*arguments: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_case, *arguments).result()


def _cases(args: argparse.Namespace) -> list[tuple[str, str, tuple[Any, ...]]]:
    cases: list[tuple[str, str, tuple[Any, ...]]] = []
    if args.tiered:
        for objective in ("max_coverage", "min_cost"):
            label = (
                "tiered max coverage, budget 2.5e7"
                if objective == "max_coverage"
                else "tiered min cost, 80% target"
            )
            cases.append((label, "tiered", (10_000, 2_000, 0.005, objective, args.tiered_method)))
    for number in bench_locate._numbers(args.pmed, 40):
        cases.append((f"pmed{number} (radius)", "pmed", (number, "radius", args.time_limit)))
    if args.sjc:
        for name, service in bench_locate.SJC_REFERENCE:
            if args.sjc_only is None or name in args.sjc_only.split(","):
                count = len(bench_locate.SJC_REFERENCE[(name, service)])
                cases.append((f"{name} S={service} p=1..{count}", "sjc", (name, service)))
    if args.random:
        cases.append(("MCLP 20,000x1,000 p=50", "MCLP", ("MCLP", 20_000, 1_000, 50)))
    return cases


def _format(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends",
        default="highs,scip,cpsat",
        help="back-ends, comma-separated, side by side: highs, cbc, scip, cpsat, "
        "name:N for N threads/workers (cpsat:8)",
    )
    parser.add_argument("--pmed", default="1,6,16,22,36", help="pmed numbers: 1-5, 16,40, none")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per pmed case")
    parser.add_argument("--no-tiered", dest="tiered", action="store_false", default=True)
    parser.add_argument("--tiered-method", default="auto", help="auto (with local search), plain")
    parser.add_argument("--no-sjc", dest="sjc", action="store_false", default=True)
    parser.add_argument("--sjc-only", help="SJC instances to run, e.g. SJC818 (default: all)")
    parser.add_argument("--no-random", dest="random", action="store_false", default=True)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    if not bench_locate.BENCHMARKS.is_dir():
        sys.exit(f"benchmark instances not found at {bench_locate.BENCHMARKS}")
    backends: list[tuple[str, int | None]] = []
    for spec in args.backends.split(","):
        name, _, count = spec.strip().partition(":")
        backends.append((name, int(count) if count else None))

    print(
        f"# bench_backends on {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    header = ["instance", "back-end", "status", "objective", "bound", "gap", "wall s", "CPU s"]
    print(" | ".join([*header, "load", "note"]))
    rows = []
    for label, kind, arguments in _cases(args):
        for name, threads in backends:
            load = os.getloadavg()[0]
            row = _run_isolated(name, threads, kind, arguments)
            shown = name + (f":{threads}" if threads else "")
            solved_by = row.get("solver")
            note = "; ".join(row.get("warnings", []))
            if solved_by and solved_by != name:
                note = f"solved by {solved_by}; " + note
            objective = row.get("objective")
            cells = [
                label,
                shown,
                str(row.get("status")),
                objective if isinstance(objective, str) else _format(objective),
                _format(row.get("bound")),
                _format(row.get("gap"), 5),
                _format(row.get("wall_s"), 1),
                _format(row.get("cpu_s"), 1),
                f"{load:.1f}",
                note,
            ]
            print(" | ".join(cells), flush=True)
            rows.append({"instance": label, "backend": shown, "load": load, **row})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
