"""`netplan coverage`: coverage and blind spots of today's network."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
from netplan.cli._outputs import print_outputs, write_outputs
from netplan.cli._render import coverage_summary_tables, inputs_text

if TYPE_CHECKING:
    from netplan.reach import ProgressCallback

#: Demand sizes from which a progress bar is shown.
PROGRESS_FROM = 200_000


class OutputFormat(StrEnum):
    """Format of the per-point output file."""

    csv = "csv"
    geojson = "geojson"
    parquet = "parquet"
    gpkg = "gpkg"


class Engine(StrEnum):
    """Where coverage is computed."""

    local = "local"
    dask = "dask"


class BlindspotMethod(StrEnum):
    """How uncovered demand is grouped into zones."""

    h3 = "h3"
    dbscan = "dbscan"


@contextmanager
def _progress_bar(total: int) -> Iterator[ProgressCallback | None]:
    if total < PROGRESS_FROM or not err_console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("reach"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("reach", total=total)

        def update(done: int, total_now: int) -> None:
            progress.update(task, completed=done, total=max(total_now, done))

        yield update


#: Files `netplan coverage` writes into --out (an earlier run's are replaced).
COVERAGE_FILES = ("coverage.*", "blindspots.geojson", "summary.json")


@app.command()
@command
def coverage(
    demand: Annotated[
        Path,
        typer.Option(
            "--demand",
            "-d",
            help=(
                "Customers (CSV/GeoJSON/GPKG/Parquet, or a `netplan convert` dataset folder; "
                "`weight` column, default 1)."
            ),
        ),
    ],
    sites: Annotated[
        Path,
        typer.Option(
            "--sites", "-s", help="Outlet sites; status existing/required count.", dir_okay=False
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")],
    installed_base: Annotated[
        Path | None,
        typer.Option(
            "--installed-base",
            help=(
                "Installed base (weight = units x service rate). When given it is the weighted "
                "demand of every KPI and the customers are reported by count beside it."
            ),
        ),
    ] = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    matrix: Annotated[
        Path | None,
        typer.Option(
            "--matrix",
            help=(
                "Cost matrix (demand_id, site_id, cost; CSV or Parquet); "
                "absent pairs are unreachable."
            ),
            dir_okay=False,
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Format of coverage.<fmt>.")
    ] = OutputFormat.csv,
    blindspot_method: Annotated[
        BlindspotMethod,
        typer.Option("--blindspot-method", help="Group uncovered demand by H3 cells or DBSCAN."),
    ] = BlindspotMethod.h3,
    h3_resolution: Annotated[
        int,
        typer.Option("--h3-resolution", min=0, max=15, help="H3 resolution of blind-spot cells."),
    ] = 5,
    min_zone_weight: Annotated[
        float,
        typer.Option("--min-zone-weight", min=0.0, help="Drop blind-spot zones lighter than this."),
    ] = 0.0,
    eps_km: Annotated[
        float,
        typer.Option("--eps-km", help="DBSCAN neighbourhood radius, km (greater than 0)."),
    ] = 10.0,
    min_samples: Annotated[
        int, typer.Option("--min-samples", min=1, help="DBSCAN core-point threshold.")
    ] = 1,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help=(
                "local: one process (a dataset folder or a file over 256 MB is streamed in "
                "chunks); dask: a Dask cluster. Same results either way."
            ),
        ),
    ] = Engine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address (tcp://host:8786); default: a local cluster.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Workers of the local Dask cluster (default: cores)"),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Compute coverage and blind spots of the existing network and write the outputs.

    Writes DIR/coverage.<fmt> (one row per demand point), DIR/blindspots.geojson
    (one polygon per zone) and DIR/summary.json, and prints a summary table.

    Example: netplan coverage --demand data/samples/national/customers.csv
    --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --config data/samples/national/scenario.toml
    --out out/coverage
    """
    from netplan.blindspots import BlindspotOptions
    from netplan.coverage import coverage_from_points
    from netplan.io import (
        check_output_folder,
        read_customers,
        read_installed_base,
        read_sites,
        return_freed_memory,
    )
    from netplan.scale import coverage_from_files, use_large_engine

    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file; pass a folder", param_hint="--out")
    return_freed_memory()
    inputs = (demand, sites, installed_base, matrix, config)
    check_output_folder(out, owned=COVERAGE_FILES, force=force, inputs=inputs)
    scenario = scenario_from_option(config, input_options)
    gdf_sites = read_sites(sites, scenario=scenario)
    if not eps_km > 0:
        raise typer.BadParameter(f"must be greater than 0, got {eps_km:g}", param_hint="--eps-km")
    options = BlindspotOptions(
        method=blindspot_method.value,
        h3_resolution=h3_resolution,
        min_zone_weight=min_zone_weight,
        eps_km=eps_km,
        min_samples=min_samples,
    )
    if use_large_engine(
        demand, installed_base, engine=engine.value, scheduler=scheduler, workers=workers
    ):
        # Large inputs: netplan.scale streams them (or runs on Dask); same outputs.
        with _progress_bar(PROGRESS_FROM) as progress:
            large = coverage_from_files(
                demand,
                gdf_sites,
                scenario,
                installed_base=installed_base,
                engine=engine.value,
                scheduler=scheduler,
                workers=workers,
                blindspots=options,
                matrix=matrix,
                progress=progress,
            )
        large_paths = write_outputs(
            out, COVERAGE_FILES, force, lambda stage: large.to_files(stage, fmt=fmt.value)
        )
        for table in coverage_summary_tables(large.summary()):
            console.print(table)
        console.print(inputs_text(gdf_sites))
        print_outputs(large_paths)
        return
    # The points stay lon/lat arrays from reader to writer (no shapely object per point).
    gdf_customers = read_customers(demand, scenario=scenario, geometry=False)
    if installed_base is not None:
        gdf_demand = read_installed_base(installed_base, scenario=scenario, geometry=False)
        customers = gdf_customers
    else:
        gdf_demand = gdf_customers
        customers = None
    with _progress_bar(len(gdf_demand)) as progress:
        result = coverage_from_points(
            gdf_demand,
            gdf_sites,
            scenario,
            matrix=matrix,
            blindspots=options,
            customers=customers,
            progress=progress,
        )
    paths = write_outputs(
        out, COVERAGE_FILES, force, lambda stage: result.to_files(stage, fmt=fmt.value)
    )
    for table in coverage_summary_tables(result.summary()):
        console.print(table)
    console.print(inputs_text(gdf_demand, customers, gdf_sites))
    print_outputs(paths)
