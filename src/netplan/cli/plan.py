"""`netplan optimize` and `netplan frontier`: choose sites, and trace coverage against cost."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from netplan.cli._app import (
    ConfigOption,
    ForceOption,
    InputOption,
    app,
    command,
    console,
    err_console,
    scenario_from_option,
)
from netplan.cli._outputs import print_outputs, read_demand, write_outputs
from netplan.cli._progress import VerboseOption, solving
from netplan.cli._render import (
    before_after_table,
    explanation_text,
    inputs_text,
    plan_table,
)
from netplan.errors import InfeasibleError, InputError, SolverError


class Model(StrEnum):
    """Location model."""

    tiered = "tiered"
    set_cover = "set-cover"
    max_cover = "max-cover"
    p_median = "p-median"
    capacitated = "capacitated"


class Solver(StrEnum):
    """MILP solver."""

    highs = "highs"
    cbc = "cbc"
    scip = "scip"
    cpsat = "cpsat"


class Objective(StrEnum):
    """Objective of the tiered model."""

    min_cost = "min_cost"
    max_coverage = "max_coverage"


class FrontierBy(StrEnum):
    """What the trade-off curve steps over."""

    budget = "budget"
    sites = "sites"


# Model lists netplan.locate.plan.MODELS (a test keeps the two equal; the MILP layer is
# imported only when a command runs).

DemandOption = Annotated[
    Path,
    typer.Option(
        "--demand",
        "-d",
        help="Customers (CSV/GeoJSON/GPKG/Parquet; `weight` column, default 1).",
        dir_okay=False,
    ),
]
InstalledBaseOption = Annotated[
    Path | None,
    typer.Option(
        "--installed-base",
        help=(
            "Installed base (weight = units x service rate); when given it is the demand optimised."
        ),
        dir_okay=False,
    ),
]
SitesOption = Annotated[
    Path,
    typer.Option(
        "--sites",
        "-s",
        help="Sites: existing outlets and candidates (tier, status, cost).",
        dir_okay=False,
    ),
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")]
MatrixOption = Annotated[
    Path | None,
    typer.Option(
        "--matrix",
        help="Cost matrix (demand_id, site_id, cost) instead of computed distances.",
        dir_okay=False,
    ),
]
SolverOption = Annotated[
    Solver | None,
    typer.Option(
        "--solver",
        help=(
            "MILP solver (default: [solver] name, else highs); scip and cpsat need "
            "pip install 'netplan[scip]' / 'netplan[cpsat]'."
        ),
    ),
]
TimeLimitOption = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        min=0.001,
        help="Seconds before returning the best plan found, with its gap.",
    ),
]
GapOption = Annotated[
    float | None,
    typer.Option("--gap", min=0.0, max=0.999, help="Relative MIP gap to stop at (0.01 = 1%)."),
]
AggregateOption = Annotated[
    str | None,
    typer.Option(
        "--aggregate",
        help=(
            "Solve on demand aggregated to H3 cells, e.g. h3:7; "
            "coverage is re-checked on the raw points."
        ),
    ),
]


PLAN_FILES = ("plan.csv", "plan.geojson", "assignment.csv", "summary.json", "coverage")
FRONTIER_FILES = ("frontier.csv", "frontier.svg", "frontier.json")


@app.command()
@command
def optimize(
    demand: DemandOption,
    sites: SitesOption,
    out: OutOption,
    installed_base: InstalledBaseOption = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    model: Annotated[
        Model | None,
        typer.Option("--model", "-m", help="Location model (default: [plan] model, else tiered)."),
    ] = None,
    p: Annotated[
        int | None,
        typer.Option("--p", min=0, help="Most open sites in total (exactly p for p-median)."),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            help=(
                "Budget = the most NET CHANGE IN YEARLY FIXED COST: cost of new sites opened, "
                "less savings from closing existing ones (kept sites cost nothing; 0 = today's "
                "network). Tiered and max-cover models; alone, maximise coverage within it."
            ),
        ),
    ] = None,
    coverage_target: Annotated[
        float | None,
        typer.Option(
            "--coverage-target",
            min=0.0,
            max=1.0,
            help=(
                "Share of demand weight to cover, e.g. 0.95; "
                "without --budget, the cheapest plan reaching it."
            ),
        ),
    ] = None,
    objective: Annotated[
        Objective | None,
        typer.Option(
            "--objective",
            help="Tiered model: min_cost (needs a target) or max_coverage (needs a budget or p).",
        ),
    ] = None,
    allow_close: Annotated[
        bool | None,
        typer.Option("--allow-close/--keep-existing", help="Let the plan close existing outlets."),
    ] = None,
    capacitated: Annotated[
        bool | None,
        typer.Option(
            "--capacitated/--uncapacitated", help="Tiered model: respect site capacities."
        ),
    ] = None,
    aggregate: AggregateOption = None,
    matrix: MatrixOption = None,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Choose which sites to open, keep or close, and write the plan.

    Writes DIR/plan.csv and DIR/plan.geojson (every site with its decision:
    kept, opened, closed, not_selected), DIR/assignment.csv (demand_id, site_id,
    distance) and DIR/summary.json (status, objective, bound, gap, times,
    open sites by tier, coverage before and after), and DIR/coverage/ (the
    plan's network coverage, as `netplan coverage` writes it: per point and
    its blind spots, which map and report draw). A time-limited run writes
    its best plan with status feasible and its gap. An infeasible model writes
    DIR/summary.json with the diagnosis and exits with code 3.

    Example: netplan optimize --demand data/samples/national/customers.csv
    --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --config data/samples/national/scenario.toml
    --out out/plan --budget 15000000 --objective max_coverage
    """
    from netplan.io import check_output_folder, read_sites, write_text
    from netplan.locate.plan import infeasible_summary, plan_from_points, plan_json, plan_options

    started = time.perf_counter()
    inputs = (demand, sites, installed_base, matrix, config)
    check_output_folder(out, owned=PLAN_FILES, force=force, inputs=inputs)
    scenario = scenario_from_option(config, input_options)
    options = plan_options(
        scenario,
        model=model.value if model is not None else None,
        p=p,
        budget=budget,
        coverage_target=coverage_target,
        objective=objective.value if objective is not None else None,
        allow_close=allow_close,
        capacitated=capacitated,
        aggregate=aggregate,
    )
    if objective is None:
        options = options.with_limit(budget=budget, coverage_target=coverage_target)
    gdf_sites = read_sites(sites, scenario=scenario)
    gdf_demand = read_demand(demand, installed_base, scenario)
    read_done = time.perf_counter()
    try:
        with solving(verbose):
            plan = plan_from_points(
                gdf_demand,
                gdf_sites,
                scenario,
                options=options,
                matrix=matrix,
                solver=solver.value if solver is not None else None,
                time_limit=time_limit,
                gap=gap,
            )
    except InfeasibleError as exc:
        payload = infeasible_summary(options, exc)
        write_outputs(
            out,
            PLAN_FILES,
            force,
            lambda stage: {"summary": write_text(stage / "summary.json", plan_json(payload))},
        )
        raise
    seconds = _command_seconds(plan, started, read_done, time.perf_counter())
    plan.details["command_seconds"] = seconds
    paths = write_outputs(out, PLAN_FILES, force, plan.to_files)
    summary = plan.summary()
    console.print(plan_table(summary))
    console.print(before_after_table(summary))
    if summary.get("explanation"):
        console.print(explanation_text(summary["explanation"]))
    console.print(inputs_text(gdf_demand, gdf_sites))
    if summary.get("coverage_target_met") is False and options.coverage_target is not None:
        err_console.print(
            f"warning: coverage target {100 * options.coverage_target:.1f}% not met: "
            "the plan covers "
            f"{100 * summary['after']['weighted_coverage_rate']:.1f}% within the other limits "
            "(use --objective min_cost to require the target)",
            markup=False,
        )
    print_outputs(paths)
    limit = time_limit if time_limit is not None else scenario.solver.time_limit
    if time_limit is not None and limit is not None and seconds["total"] > limit + 1.0:
        err_console.print(
            f"warning: --time-limit {limit:g} s bounds the solver; the command took "
            f"{seconds['total']:.1f} s: reading the inputs {seconds['reading_inputs']:.1f} s, "
            f"reach and coverage {seconds['reach_and_coverage']:.1f} s, building the model "
            f"{seconds['building_model']:.1f} s, solving {seconds['solving']:.1f} s "
            "(summary.json: details.command_seconds)",
            markup=False,
        )
    if plan.status == "no_solution":
        msg = (
            "the solver found no plan within the time limit; raise --time-limit "
            "(the summary says so too)"
        )
        raise SolverError(msg)


def _command_seconds(
    plan: Any, started: float, read_done: float, planned: float
) -> dict[str, float]:
    """Return where an optimize run's time went, for summary.json and the time-limit note."""
    build, solve = float(plan.build_seconds), float(plan.solve_seconds)
    return {
        "reading_inputs": round(read_done - started, 3),
        "reach_and_coverage": round(max(planned - read_done - build - solve, 0.0), 3),
        "building_model": round(build, 3),
        "solving": round(solve, 3),
        "total": round(planned - started, 3),
    }


def _frontier_values(values: str, by: FrontierBy) -> list[float]:
    """Return the limits of ``--values``: finite numbers 0 or more, whole with ``--by sites``."""
    import math

    try:
        limits = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        msg = f"--values: expected numbers separated by commas, got {values!r}"
        raise InputError(msg) from None
    if not limits:
        msg = "--values is empty; give numbers separated by commas, e.g. 5e6,1e7"
        raise InputError(msg)
    for limit in limits:
        if not math.isfinite(limit) or limit < 0 or limit >= 1e15:
            msg = f"--values: {limit:g} is not a limit; give finite numbers from 0 to below 1e15"
            raise InputError(msg)
        if by is FrontierBy.sites and not limit.is_integer():
            msg = f"--values: {limit:g} is not a whole number of sites (--by sites)"
            raise InputError(msg)
    return limits


@app.command()
@command
def frontier(
    demand: DemandOption,
    sites: SitesOption,
    out: OutOption,
    installed_base: InstalledBaseOption = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    by: Annotated[
        FrontierBy, typer.Option("--by", help="Step the budget or the number of sites.")
    ] = FrontierBy.budget,
    tier: Annotated[
        str | None,
        typer.Option("--tier", help="With --by sites: step the count of this tier only."),
    ] = None,
    steps: Annotated[
        int, typer.Option("--steps", min=1, help="Number of steps when --values is not given.")
    ] = 10,
    values: Annotated[
        str | None,
        typer.Option("--values", help="Comma-separated limits to solve at, e.g. 5e6,1e7,2e7."),
    ] = None,
    aggregate: AggregateOption = None,
    matrix: MatrixOption = None,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Trace weighted coverage against the budget or the number of sites (per tier).

    Solves the tiered max-coverage model once per step, reusing the model
    between steps, and writes DIR/frontier.csv, DIR/frontier.svg (a chart for
    a slide) and DIR/frontier.json.

    Example: netplan frontier --demand data/samples/national/customers.csv
    --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --config data/samples/national/scenario.toml
    --out out/frontier --by budget --steps 8
    """
    from netplan.io import check_output_folder, read_sites
    from netplan.locate.tradeoff import frontier_from_points

    inputs = (demand, sites, installed_base, matrix, config)
    check_output_folder(out, owned=FRONTIER_FILES, force=force, inputs=inputs)
    scenario = scenario_from_option(config, input_options)
    limits = None if values is None else _frontier_values(values, by)
    gdf_sites = read_sites(sites, scenario=scenario)
    gdf_demand = read_demand(demand, installed_base, scenario)
    with solving(verbose) as display:
        curve = frontier_from_points(
            gdf_demand,
            gdf_sites,
            scenario,
            by=by.value,
            tier=tier,
            values=limits,
            n_steps=steps,
            aggregate=aggregate,
            matrix=matrix,
            solver=solver.value if solver is not None else None,
            time_limit=time_limit,
            gap=gap,
            on_step=display.step,
        )
    paths = write_outputs(out, FRONTIER_FILES, force, curve.to_files)
    table = Table(
        title=f"Trade-off by {by.value}" + (f" ({tier})" if tier else ""), title_justify="left"
    )
    for column in ("limit", "status", "coverage", "net cost", "open"):
        table.add_column(column, justify="right")
    for row in curve.table.to_dict(orient="records"):
        rate = row["weighted_coverage_rate"]
        table.add_row(
            f"{row['limit']:,.0f}",
            str(row["status"]),
            "—" if rate != rate else f"{100 * rate:.1f}%",
            "—"
            if row["net_cost"] is None or row["net_cost"] != row["net_cost"]
            else f"{row['net_cost']:,.0f}",
            str(row["n_open"]),
        )
    console.print(table)
    console.print(inputs_text(gdf_demand, gdf_sites))
    print_outputs(paths)
