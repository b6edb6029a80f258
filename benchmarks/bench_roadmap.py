"""Benchmark the multi-year roadmap on the national sample: gap, time and coverage by year.

Run from the repository root::

    .venv/bin/python benchmarks/bench_roadmap.py                       # 3 years, 8 M a year
    .venv/bin/python benchmarks/bench_roadmap.py --years 5 --budget 5e6
    .venv/bin/python benchmarks/bench_roadmap.py --targets 0.5,0.7,0.8 # cheapest meeting targets

Cases (each prints one block):

* the roadmap asked for (``--years`` × ``--budget`` per year, or ``--targets``),
  on the installed base (50,000 points) × 414 sites of ``data/samples/national``
  with the scenario's solver settings (HiGHS, gap 0.5 %, 120 s) unless overridden:
  status, gap, model size, build / solve / wall seconds, and per year the sites
  opened, spend and weighted coverage (re-checked on the raw points);
* with ``--compare-optimize``, ``netplan optimize`` with the year-1 budget, whose
  coverage the year-1 roadmap may not beat (it is the best one year can do).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

NATIONAL = ROOT / "data" / "samples" / "national"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--budget", type=float, default=8e6, help="budget per year")
    parser.add_argument("--targets", default=None, help="coverage targets by year, e.g. 0.5,0.7")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--gap", type=float, default=None)
    parser.add_argument("--compare-optimize", action="store_true")
    args = parser.parse_args()

    from netplan.config import load_scenario
    from netplan.io import read_installed_base, read_sites
    from netplan.locate.plan import plan_from_points
    from netplan.locate.roadmap import roadmap_from_points

    scenario = load_scenario(NATIONAL / "scenario.toml")
    demand = read_installed_base(NATIONAL / "installed_base.csv", scenario=scenario)
    sites = read_sites(NATIONAL / "sites.csv", scenario=scenario)
    targets = None if args.targets is None else [float(t) for t in args.targets.split(",")]
    budget = None if targets is not None else args.budget
    started = time.perf_counter()
    result = roadmap_from_points(
        demand,
        sites,
        scenario,
        years=args.years,
        budget_per_year=budget,
        coverage_target_by_year=targets,
        time_limit=args.time_limit,
        gap=args.gap,
    )
    wall = time.perf_counter() - started
    limits = f"targets {args.targets}" if targets else f"budget {args.budget:,.0f} a year"
    print(
        f"roadmap: national sample, {len(demand):,} points x {len(sites):,} sites, "
        f"{args.years} years, {limits}"
    )
    gap = "n/a" if result.gap is None else f"{100 * result.gap:.3f}%"
    print(f"  status {result.status}, gap {gap}, objective {result.objective:,.2f}")
    print(
        f"  model {result.details['n_rows']:,} rows x {result.details['n_columns']:,} columns; "
        f"build {result.build_seconds:.2f} s, solve {result.solve_seconds:.1f} s, "
        f"wall {wall:.1f} s (with reach, coverage re-checks and blind spots)"
    )
    for row in result.by_year.to_dict(orient="records"):
        opened = result.sites[result.sites["year_opened"] == row["year"]]
        tiers = ", ".join(f"{t} {n}" for t, n in sorted(opened.groupby("tier").size().items()))
        print(
            f"  year {row['year']}: open {row['sites_open']}, new {row['new_sites']} ({tiers}), "
            f"spend {row['spend']:,.0f}, coverage {100 * row['weighted_coverage_rate']:.1f}%, "
            f"blind spots {row['n_blindspots']}"
        )
    if args.compare_optimize and budget is not None:
        started = time.perf_counter()
        plan = plan_from_points(
            demand, sites, scenario, budget=budget, time_limit=args.time_limit, gap=args.gap
        )
        gap = "n/a" if plan.gap is None else f"{100 * plan.gap:.3f}%"
        print(
            f"optimize with budget {budget:,.0f}: coverage "
            f"{100 * plan.after['weighted_coverage_rate']:.1f}%, status {plan.status}, gap {gap}, "
            f"wall {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
