"""`netplan roadmap`: phase the roll-out of sites over several years in one model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netplan.cli._app import (
    ConfigOption,
    ForceOption,
    InputOption,
    app,
    command,
    console,
    scenario_from_option,
)
from netplan.cli._outputs import print_outputs, read_demand, write_outputs
from netplan.cli._progress import VerboseOption, solving
from netplan.cli._render import inputs_text

ROADMAP_OUTPUTS = ("roadmap.csv", "by_year.csv", "summary.json", "roadmap.geojson")


def _numbers(text: str | None, option: str) -> list[float] | None:
    """Return the comma-separated numbers of ``option`` (``None`` when not given)."""
    if text is None:
        return None
    values = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            values.append(float(part.strip()))
        except ValueError:
            raise typer.BadParameter(
                f"expected numbers separated by commas such as 8e6 or 0.5,0.7,0.8, got {text!r}",
                param_hint=option,
            ) from None
    if not values:
        raise typer.BadParameter("give at least one number", param_hint=option)
    return values


@app.command()
@command
def roadmap(
    demand: Annotated[
        Path,
        typer.Option(
            "--demand",
            "-d",
            help="Customers (CSV/GeoJSON/GPKG/Parquet; `weight` column, default 1).",
            dir_okay=False,
        ),
    ],
    sites: Annotated[
        Path,
        typer.Option(
            "--sites",
            "-s",
            help="Sites: existing outlets and candidates (tier, status, cost).",
            dir_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")],
    years: Annotated[int, typer.Option("--years", min=1, help="Number of years to phase.")],
    installed_base: Annotated[
        Path | None,
        typer.Option(
            "--installed-base",
            help=(
                "Installed base (weight = units x service rate); when given it is the demand "
                "planned (and `product` drives [roadmap] demand_growth by product)."
            ),
            dir_okay=False,
        ),
    ] = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    budget_per_year: Annotated[
        str | None,
        typer.Option(
            "--budget-per-year",
            help=(
                "Most net new yearly fixed cost added each year: one value for every year "
                "(8e6) or one per year (8e6,6e6,4e6)."
            ),
        ),
    ] = None,
    coverage_target_by_year: Annotated[
        str | None,
        typer.Option(
            "--coverage-target-by-year",
            help=(
                "Share of demand weight to cover each year, e.g. 0.5,0.7,0.8 (or one share "
                "for every year); given, the cheapest roadmap meeting them (a budget caps it)."
            ),
        ),
    ] = None,
    allow_close: Annotated[
        bool | None,
        typer.Option(
            "--allow-close/--keep-existing", help="Let the roadmap close existing outlets."
        ),
    ] = None,
    aggregate: Annotated[
        str | None,
        typer.Option(
            "--aggregate",
            help="Solve on demand aggregated to H3 cells, e.g. h3:7; coverage is re-checked raw.",
        ),
    ] = None,
    solver: Annotated[
        str | None,
        typer.Option("--solver", help="MILP solver: highs (default), cbc, scip or cpsat."),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit", min=0.001, help="Seconds before returning the best roadmap found."
        ),
    ] = None,
    gap: Annotated[
        float | None,
        typer.Option("--gap", min=0.0, max=0.999, help="Relative MIP gap to stop at (0.01 = 1%)."),
    ] = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Phase the roll-out: which sites open in which year, in one multi-year model.

    A site opened in a year stays open; each year's net new yearly fixed cost
    stays within that year's budget; the support chain holds every year; the
    objective is the year-weighted covered demand ([roadmap] discount and
    demand_growth in the scenario), so early years get the sites that matter
    most. With --coverage-target-by-year it is the cheapest roadmap meeting
    every year's target. Writes DIR/roadmap.csv (site_id, name, tier,
    decision, year_opened, fixed_cost, score), DIR/by_year.csv (year,
    sites_open, new_sites, spend, weighted_coverage_rate, covered_weight,
    n_blindspots), DIR/summary.json and DIR/roadmap.geojson. An infeasible
    roadmap writes DIR/summary.json with the diagnosis and exits with code 3.

    Example: netplan roadmap --demand data/samples/national/customers.csv
    --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --config data/samples/national/scenario.toml
    --years 3 --budget-per-year 8e6 --out out/roadmap
    """
    from rich.table import Table

    from netplan.errors import InfeasibleError, InputError, SolverError
    from netplan.io import check_output_folder, read_sites, write_text
    from netplan.locate.plan import plan_json
    from netplan.locate.roadmap import roadmap_from_points

    if solver is not None and solver not in ("highs", "cbc", "scip", "cpsat"):
        msg = f"--solver: use highs, cbc, scip or cpsat, got {solver!r}"
        raise InputError(msg)
    inputs = (demand, sites, installed_base, config)
    check_output_folder(out, owned=ROADMAP_OUTPUTS, force=force, inputs=inputs)
    budgets = _numbers(budget_per_year, "--budget-per-year")
    targets = _numbers(coverage_target_by_year, "--coverage-target-by-year")
    scenario = scenario_from_option(config, input_options)
    gdf_sites = read_sites(sites, scenario=scenario)
    gdf_demand = read_demand(demand, installed_base, scenario)
    try:
        with solving(verbose):
            result = roadmap_from_points(
                gdf_demand,
                gdf_sites,
                scenario,
                years=years,
                budget_per_year=budgets,
                coverage_target_by_year=targets,
                allow_close=allow_close,
                aggregate=aggregate,
                solver=solver,
                time_limit=time_limit,
                gap=gap,
            )
    except InfeasibleError as exc:
        payload = {
            "status": "infeasible",
            "message": str(exc),
            "diagnosis": getattr(exc, "diagnosis", {}),
            "years": years,
            "budget_per_year": budgets,
            "coverage_target_by_year": targets,
        }
        write_outputs(
            out,
            ROADMAP_OUTPUTS,
            force,
            lambda stage: {"summary": write_text(stage / "summary.json", plan_json(payload))},
        )
        raise
    paths = write_outputs(out, ROADMAP_OUTPUTS, force, result.to_files)
    gap_text = "—" if result.gap is None else f"{100 * result.gap:.2f}%"
    table = Table(
        title=(
            f"Roadmap over {years} year(s): {result.status}, gap {gap_text}, "
            f"solve {result.solve_seconds:.1f} s"
        ),
        title_justify="left",
    )
    for column in ("year", "open", "new", "spend", "coverage", "blind spots", "opened by tier"):
        table.add_column(column, justify="left" if column == "opened by tier" else "right")
    for row in result.by_year.to_dict(orient="records"):
        opened = result.sites[result.sites["year_opened"] == row["year"]]
        names = ", ".join(
            f"{tier} {count}" for tier, count in sorted(opened.groupby("tier").size().items())
        )
        table.add_row(
            str(row["year"]),
            str(row["sites_open"]),
            str(row["new_sites"]),
            f"{row['spend']:,.0f}",
            f"{100 * row['weighted_coverage_rate']:.1f}%",
            str(row["n_blindspots"]),
            names,
        )
    console.print(table)
    console.print(inputs_text(gdf_demand, gdf_sites))
    print_outputs(paths)
    if result.status == "no_solution":
        msg = "the solver found no roadmap within the time limit; raise --time-limit"
        raise SolverError(msg)
