"""Benchmark netplan's location models on public instances with known optima, and against spopt.

Run from the repository root (the instances live in ``../shared/benchmarks``)::

    .venv/bin/python benchmarks/bench_locate.py                 # everything netplan runs
    .venv/bin/python benchmarks/bench_locate.py --pmed 1-10     # a subset of pmed
    .venv/bin/python benchmarks/bench_locate.py --spopt-python /path/to/env/bin/python

Each case runs in a fresh process (so the peak RSS is the case's own) and
prints one row: instance, objective, the published optimum, match, status,
gap, build / solve / wall seconds and peak RSS. With ``--spopt-python`` the
same instances are also solved by spopt (``spopt.locate`` with CBC, as spopt
uses it, capped at ``--spopt-limit`` seconds) in that interpreter's
environment, and the table gains spopt's time and the ratio spopt ÷ netplan.

Cases
-----
* OR-Library ``pmed1``–``pmed40`` (p-median): objective must equal ``pmedopt``.
* OR-Library ``cap41``–``cap134`` (capacitated, splittable) against ``capopt``,
  and the uncapacitated set against ``uncapopt`` (``--large`` adds capa/b/c).
* SJC maximal covering (every reference value of the benchmarks README).
* Seeded random MCLP and LSCP, 2,000 × 500 and 20,000 × 1,000 (build from
  coordinates + solve).
* A tiered national run: 10,000 demand cells × 2,000 candidates × 3 tiers
  with the support chain: max coverage within a budget (stops at gap 0.1 %)
  and min cost for 80 % coverage (stops at 0.5 %), 60 s each, with each
  ``--tiered-method`` side by side.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The instances live in ``shared/benchmarks`` next to the checkout (or one level up from a
# worktree folder); NETPLAN_BENCHMARKS overrides.
BENCHMARKS = Path(
    os.environ.get("NETPLAN_BENCHMARKS")
    or next(
        (
            str(parent / "shared" / "benchmarks")
            for parent in ROOT.parents
            if (parent / "shared" / "benchmarks").is_dir()
        ),
        str(ROOT.parent / "shared" / "benchmarks"),
    )
)

SJC_REFERENCE = {
    ("SJC324", 800): [5461, 8790, 11604, 12106, 12152],
    ("SJC324", 1200): [9932, 11555, 12152],
    ("SJC402", 800): [6555, 11339, 14690, 15658, 15970, 15984],
    ("SJC402", 1200): [10607, 14832, 15984],
    ("SJC500", 800): [7944, 12454, 15730, 17794, 18859, 19525, 19692, 19707],
    ("SJC500", 1200): [10726, 18070, 19393, 19707],
    ("SJC708", 800): [8393, 13306, 17272, 20338, 21486, 22504, 23151, 23684, 24024, 24190, 24192],
    ("SJC708", 1200): [11612, 20376, 22422, 23884, 24142, 24192],
    ("SJC818", 800): [
        8393,
        13306,
        17507,
        21428,
        24531,
        25908,
        26974,
        27813,
        28408,
        28838,
        29093,
        29159,
    ],
    ("SJC818", 1200): [11612, 20290, 25211, 27029, 28513, 29137, 29168],
}


# --------------------------------------------------------------------------- cases (run in a child)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def case_pmed(number: int, method: str = "auto", time_limit: float | None = None) -> dict[str, Any]:
    from netplan.locate.instances import read_pmed, read_pmed_optima
    from netplan.locate.models import p_median
    from netplan.locate.solve import SolverSettings

    started = time.perf_counter()
    cpu_started = time.process_time()
    instance = read_pmed(BENCHMARKS / "orlib-pmed" / f"pmed{number}.txt")
    optimum = read_pmed_optima(BENCHMARKS / "orlib-pmed" / "pmedopt.txt")[f"pmed{number}"]
    result = p_median(
        instance.distances,
        p=instance.p,
        method=method,
        settings=SolverSettings(time_limit=time_limit),
    )
    row = _row(
        f"pmed{number} (n={len(instance.distances)}, p={instance.p})", result, optimum, started
    )
    row["cpu_s"] = time.process_time() - cpu_started
    fixed = result.details.get("n_sites_fixed_closed")
    if fixed is not None:
        row["method"] += f" ({fixed} sites fixed, {result.details['benders_nodes']} nodes)"
    return row


def case_cap(name: str, capacity: float | None, uncapacitated: bool) -> dict[str, Any]:
    from netplan.locate.instances import read_cap, read_cap_optima
    from netplan.locate.models import capacitated

    started = time.perf_counter()
    placeholder = name in ("capa", "capb", "capc")
    reader_capacity = capacity if capacity is not None else (1e12 if placeholder else None)
    instance = read_cap(BENCHMARKS / "orlib-cap" / f"{name}.txt", capacity=reader_capacity)
    table = "uncapopt.txt" if uncapacitated else "capopt.txt"
    optimum = read_cap_optima(BENCHMARKS / "orlib-cap" / table)[
        (name, None if uncapacitated else capacity)
    ]
    result = capacitated(
        instance.allocation_costs / instance.demands[:, None],
        weights=instance.demands,
        fixed_costs=instance.fixed_costs,
        capacities=None if uncapacitated else instance.capacities,
        assignment_costs=instance.allocation_costs,
    )
    at = f"@{capacity:g}" if capacity else ""
    label = f"{name}{at} {'uncap' if uncapacitated else 'cap'}"
    return _row(label, result, optimum, started, tolerance=0.01)


def case_sjc(name: str, service: int) -> dict[str, Any]:
    from netplan.locate.instances import read_mclp_sjc
    from netplan.locate.models import max_cover

    started = time.perf_counter()
    instance = read_mclp_sjc(BENCHMARKS / "mclp-sjc" / f"{name}.txt")
    cover = instance.cover(service)
    build = solve = 0.0
    matched = 0
    expected = SJC_REFERENCE[(name, service)]
    worst_gap = 0.0
    for p, value in enumerate(expected, start=1):
        result = max_cover(cover, weights=instance.demand, p=p)
        build += result.build_seconds
        solve += result.solve_seconds
        matched += int(abs((result.objective or 0) - value) < 1e-6 and result.status == "optimal")
        worst_gap = max(worst_gap, result.gap or 0.0)
    return {
        "case": f"{name} S={service} p=1..{len(expected)}",
        "objective": f"{matched}/{len(expected)} match",
        "optimum": "reference",
        "match": matched == len(expected),
        "status": "optimal" if matched == len(expected) else "mismatch",
        "gap": worst_gap,
        "build_s": build,
        "solve_s": solve,
        "wall_s": time.perf_counter() - started,
        "rss_mb": _peak_rss_mb(),
    }


def random_cover_instance(n_demand: int, n_sites: int, seed: int) -> tuple[Any, Any, Any, float]:
    """Return demand xy (km), site xy, weights and a service radius for a seeded random instance."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 1000, size=(n_demand, 2))
    sites = rng.uniform(0, 1000, size=(n_sites, 2))
    weights = rng.integers(1, 100, size=n_demand).astype(np.float64)
    return demand, sites, weights, 60.0 if n_sites <= 500 else 45.0


def case_random(kind: str, n_demand: int, n_sites: int, p: int) -> dict[str, Any]:
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    from netplan.locate.models import max_cover, set_cover

    started = time.perf_counter()
    demand, sites, weights, radius = random_cover_instance(
        n_demand, n_sites, seed=n_demand + n_sites
    )
    built = time.perf_counter()
    pairs = cKDTree(sites).sparse_distance_matrix(cKDTree(demand), radius, output_type="coo_matrix")
    cover = sp.csr_array((pairs.data, (pairs.col, pairs.row)), shape=(n_demand, n_sites))
    matrix_seconds = time.perf_counter() - built
    if kind == "MCLP":
        result = max_cover(cover, weights=weights, p=p)
    else:
        coverable = np.diff(cover.indptr) > 0
        result = set_cover(cover[np.flatnonzero(coverable)])
    row = _row(
        f"{kind} {n_demand:,}x{n_sites:,}" + (f" p={p}" if kind == "MCLP" else ""),
        result,
        None,
        started,
    )
    row["build_s"] += matrix_seconds
    return row


def case_tiered(
    n_cells: int, n_sites: int, gap: float, objective: str = "max_coverage", method: str = "auto"
) -> dict[str, Any]:
    import geopandas as gpd

    from netplan.config import default_scenario
    from netplan.locate.plan import plan_options, prepare_inputs, solve_tiered, solver_settings

    # "plain" (the MILP alone) is the library's "milp"; the others are its methods.
    library_method = {"plain": "milp"}.get(method, method)

    started = time.perf_counter()
    rng = np.random.default_rng(2026)
    scenario = default_scenario()
    # Demand cells clustered around 60 "cities" in China's extent.
    cities = np.column_stack([rng.uniform(100, 122, 60), rng.uniform(22, 42, 60)])
    which = rng.integers(0, 60, n_cells)
    spread = rng.uniform(0.1, 0.8, 60)[which]
    lon = cities[which, 0] + rng.normal(0, 1, n_cells) * spread
    lat = cities[which, 1] + rng.normal(0, 1, n_cells) * spread
    grades = rng.choice(["A", "B", "C"], size=n_cells, p=[0.2, 0.5, 0.3])
    demand = gpd.GeoDataFrame(
        {
            "id": [f"D{k}" for k in range(n_cells)],
            "weight": rng.gamma(2.0, 5.0, n_cells),
            "grade": grades,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    tier_names = np.array(
        ["regional_hub"] * 150 + ["city_station"] * 750 + ["community_point"] * (n_sites - 900)
    )
    site_pick = rng.integers(0, n_cells, n_sites)
    sites = gpd.GeoDataFrame(
        {
            "id": [f"S{k}" for k in range(n_sites)],
            "tier": tier_names,
            "status": np.where(np.arange(n_sites) % 97 == 0, "existing", "candidate"),
            "fixed_cost": [scenario.tiers[t].fixed_cost for t in tier_names],
            "capacity": [scenario.tiers[t].capacity for t in tier_names],
        },
        geometry=gpd.points_from_xy(
            lon[site_pick] + rng.normal(0, 0.05, n_sites),
            lat[site_pick] + rng.normal(0, 0.05, n_sites),
        ),
        crs="EPSG:4326",
    )
    if objective == "max_coverage":
        options = plan_options(scenario, budget=2.5e7, objective="max_coverage")
    else:
        options = plan_options(scenario, coverage_target=0.8, objective="min_cost")
    settings = solver_settings(scenario, gap=gap, time_limit=60)
    inputs = prepare_inputs(demand, sites, scenario, options)
    result = solve_tiered(inputs, options, scenario, settings, method=library_method)
    label = "max coverage, budget 2.5e7" if objective == "max_coverage" else "min cost, 80% target"
    row = _row(f"tiered {n_cells:,} x {n_sites:,} x 3 tiers, {label}", result, None, started)
    split = result.details.get("count_split")
    parts = []
    if "lagrangian_bound" in result.details:
        parts.append("Lagrangian")
    parts.append("MILP split by tier counts" if split else "MILP")
    if library_method != "milp":
        parts.append("local search")
    row["method"] = f"{method}: {' + '.join(parts)} / {result.solver}"
    if split:
        row["method"] += (
            f" ({split['cells_closed']} of {split['cells']} count cells closed,"
            f" {split['lps']} LPs in {split['scan_seconds']:.1f} s,"
            f" root LP bound {_format(split['root_lp_bound'])})"
        )
    if "n_sites_fixed" in result.details:
        row["method"] += f" ({result.details['n_sites_fixed']} sites fixed)"
    if "bound_source" in result.details:
        row["method"] += f", bound: {result.details['bound_source']}"
    share = 100 * result.details["covered_weight"] / inputs.weights.sum()
    row["objective"] = f"{share:.2f}% covered, cost {result.details['net_cost']:,.0f}"
    return row


def _row(
    label: str, result: Any, optimum: float | None, started: float, tolerance: float = 1e-6
) -> dict[str, Any]:
    match = (
        None
        if optimum is None
        else bool(result.objective is not None and abs(result.objective - optimum) <= tolerance)
    )
    return {
        "case": label,
        "method": str(result.details.get("method", result.model)) + f" / {result.solver}",
        "objective": result.objective,
        "optimum": optimum,
        "match": match,
        "status": result.status,
        "gap": result.gap,
        "build_s": result.build_seconds,
        "solve_s": result.solve_seconds,
        "wall_s": time.perf_counter() - started,
        "rss_mb": _peak_rss_mb(),
    }


def _run_isolated(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


# --------------------------------------------------------------------------- spopt

SPOPT_RUNNER = r"""
import json, resource, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
import pulp
from spopt.locate import LSCP, MCLP, PMedian
kind, path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = np.load(path)
solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit)
started = time.perf_counter()
status, objective = "error", None
try:
    if kind == "pmed":
        model = PMedian.from_cost_matrix(data["cost"], data["weights"], p_facilities=int(data["p"]))
    elif kind == "mclp":
        model = MCLP.from_cost_matrix(
            data["cost"], data["weights"],
            service_radius=float(data["radius"]), p_facilities=int(data["p"]),
        )
    else:
        model = LSCP.from_cost_matrix(data["cost"], service_radius=float(data["radius"]))
    built = time.perf_counter()
    model = model.solve(solver)
    status = pulp.LpStatus[model.problem.status]
    objective = pulp.value(model.problem.objective)
except Exception as exc:
    built = locals().get("built", time.perf_counter())
    status = type(exc).__name__ + ": " + str(exc)[:80]
print(json.dumps({"status": status, "objective": objective, "build_s": built - started,
                  "wall_s": time.perf_counter() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def run_spopt(python: str, kind: str, arrays: dict[str, Any], limit: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-spopt-") as folder:
        data = Path(folder) / "case.npz"
        np.savez(data, **arrays)
        script = Path(folder) / "run.py"
        script.write_text(SPOPT_RUNNER, encoding="utf-8")
        try:
            done = subprocess.run(
                [python, str(script), kind, str(data), str(limit)],
                capture_output=True,
                text=True,
                timeout=limit * 3 + 600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"status": "killed", "wall_s": limit * 3 + 600}
        lines = done.stdout.strip().splitlines()
        if not lines:
            return {
                "status": "failed: " + done.stderr.strip().splitlines()[-1][:80]
                if done.stderr.strip()
                else "failed"
            }
        return json.loads(lines[-1])


def spopt_arrays(case: tuple[str, Any]) -> tuple[str, dict[str, Any]] | None:
    kind, argument = case
    if kind == "pmed":
        from netplan.locate.instances import read_pmed

        instance = read_pmed(BENCHMARKS / "orlib-pmed" / f"pmed{argument}.txt")
        n = len(instance.distances)
        return "pmed", {"cost": instance.distances, "weights": np.ones(n), "p": instance.p}
    if kind in ("MCLP", "LSCP"):
        n_demand, n_sites, p = argument
        demand, sites, weights, radius = random_cover_instance(
            n_demand, n_sites, seed=n_demand + n_sites
        )
        cost = np.sqrt(((demand[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
        if kind == "LSCP":
            keep = (cost <= radius).any(axis=1)
            return "lscp", {"cost": cost[keep], "radius": radius}
        return "mclp", {"cost": cost, "weights": weights, "radius": radius, "p": p}
    return None


# --------------------------------------------------------------------------- main


def _numbers(text: str, upper: int) -> list[int]:
    if text == "all":
        return list(range(1, upper + 1))
    if text == "none":
        return []
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            out.extend(range(int(low), int(high) + 1))
        else:
            out.append(int(part))
    return out


def _format(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


Case = tuple[str, Callable[..., dict[str, Any]], tuple[Any, ...], tuple[str, Any] | None]


def _cases(args: argparse.Namespace) -> list[Case]:
    """Return the cases the command line asks for, in the order they run."""
    cases: list[Case] = []
    for number in _numbers(args.pmed, 40):
        for method in args.pmed_method.split(","):
            cases.append(("pmed", case_pmed, (number, method, args.time_limit), ("pmed", number)))
    if args.cap:
        for name in [
            "cap41",
            "cap42",
            "cap43",
            "cap44",
            "cap51",
            "cap61",
            "cap62",
            "cap63",
            "cap64",
            "cap71",
            "cap72",
            "cap73",
            "cap74",
            "cap81",
            "cap82",
            "cap83",
            "cap84",
            "cap91",
            "cap92",
            "cap93",
            "cap94",
            "cap101",
            "cap102",
            "cap103",
            "cap104",
            "cap111",
            "cap112",
            "cap113",
            "cap114",
            "cap121",
            "cap122",
            "cap123",
            "cap124",
            "cap131",
            "cap132",
            "cap133",
            "cap134",
        ]:
            cases.append(("cap", case_cap, (name, None, False), None))
        for name in ["cap71", "cap74", "cap101", "cap104", "cap131", "cap134"]:
            cases.append(("uncap", case_cap, (name, None, True), None))
        if args.large:
            for name in ("capa", "capb", "capc"):
                cases.append(("uncap", case_cap, (name, None, True), None))
    if args.sjc:
        for name, service in SJC_REFERENCE:
            cases.append(("sjc", case_sjc, (name, service), None))
    if args.random:
        for n_demand, n_sites, p in ((2_000, 500, 20), (20_000, 1_000, 50)):
            cases.append(
                (
                    "MCLP",
                    case_random,
                    ("MCLP", n_demand, n_sites, p),
                    ("MCLP", (n_demand, n_sites, p)),
                )
            )
            cases.append(
                (
                    "LSCP",
                    case_random,
                    ("LSCP", n_demand, n_sites, p),
                    ("LSCP", (n_demand, n_sites, p)),
                )
            )
    if args.tiered:
        # Each objective stops at its target gap (issue 13): 0.1 % max coverage, 0.5 % min cost.
        for objective, gap in (("max_coverage", 0.001), ("min_cost", 0.005)):
            for method in args.tiered_method.split(","):
                cases.append(("tiered", case_tiered, (10_000, 2_000, gap, objective, method), None))

    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmed", default="all", help="pmed numbers: all, none, 1-5, 16,40")
    parser.add_argument("--cap", action="store_true", default=True, help="run the cap instances")
    parser.add_argument("--no-cap", dest="cap", action="store_false")
    parser.add_argument("--large", action="store_true", help="add capa/capb/capc (uncapacitated)")
    parser.add_argument("--no-sjc", dest="sjc", action="store_false", default=True)
    parser.add_argument("--no-random", dest="random", action="store_false", default=True)
    parser.add_argument("--no-tiered", dest="tiered", action="store_false", default=True)
    parser.add_argument("--spopt-python", help="python of an environment with spopt installed")
    parser.add_argument("--spopt-limit", type=float, default=180.0, help="spopt time cap (s)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--pmed-method",
        default="auto",
        help="p-median method(s), comma-separated, side by side: auto, radius, benders",
    )
    parser.add_argument(
        "--time-limit", type=float, help="seconds per pmed case (default: none, prove optimal)"
    )
    parser.add_argument(
        "--tiered-method",
        default="auto",
        help=(
            "tiered method(s), comma-separated, side by side: auto (Lagrangian + MILP split "
            "by tier counts), counts (the split without the Lagrangian phase), lagrangian "
            "(Lagrangian + one MILP), local (MILP + local search), plain (the MILP alone)"
        ),
    )
    args = parser.parse_args()
    if not BENCHMARKS.is_dir():
        sys.exit(f"benchmark instances not found at {BENCHMARKS}")

    cases = _cases(args)
    header = [
        "case",
        "method",
        "objective",
        "optimum",
        "match",
        "status",
        "gap",
        "build s",
        "solve s",
        "wall s",
        "cpu s",
        "RSS MB",
    ]
    if args.spopt_python:
        header += ["spopt status", "spopt s", "spopt MB", "spopt/netplan"]
    print(
        f"# bench_locate on {os.cpu_count()} cores; HiGHS via highspy; "
        f"{time.strftime('%Y-%m-%d %H:%M')}; load average {os.getloadavg()[0]:.1f}"
    )
    print(" | ".join(header))
    rows = []
    for _kind, function, arguments, spopt_case in cases:
        row = _run_isolated(function, *arguments)
        cells = [
            row["case"],
            row.get("method", ""),
            _format(row["objective"]),
            _format(row["optimum"]),
            _format(row["match"]),
            row["status"],
            _format(row["gap"], 4),
            _format(row["build_s"]),
            _format(row["solve_s"]),
            _format(row["wall_s"]),
            _format(row.get("cpu_s")),
            _format(row["rss_mb"], 0),
        ]
        if args.spopt_python and spopt_case is not None:
            prepared = spopt_arrays(spopt_case)
            if prepared is not None:
                spopt = run_spopt(args.spopt_python, prepared[0], prepared[1], args.spopt_limit)
                row["spopt"] = spopt
                ratio = spopt.get("wall_s", 0.0) / row["wall_s"] if row["wall_s"] else None
                cells += [
                    str(spopt.get("status")),
                    _format(spopt.get("wall_s")),
                    _format(spopt.get("rss_mb"), 0),
                    _format(ratio, 1),
                ]
        rows.append(row)
        print(" | ".join(cells), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
