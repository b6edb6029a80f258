"""`netplan candidates`: candidate sites generated from demand (k-means or dense H3 cells)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from netplan.cli._app import (
    ConfigOption,
    InputOption,
    app,
    command,
    console,
    frame_output_format,
    scenario_from_option,
)
from netplan.cli._outputs import read_demand
from netplan.cli._render import inputs_text


class Method(StrEnum):
    """How candidates are generated."""

    kmeans = "kmeans"
    h3 = "h3"


@app.command()
@command
def candidates(
    demand: Annotated[
        Path,
        typer.Option(
            "--demand",
            "-d",
            help="Customers (CSV/GeoJSON/GPKG/Parquet; `weight` column).",
            dir_okay=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Sites file to write (.csv, .geojson, .gpkg, .parquet).",
            dir_okay=False,
        ),
    ],
    installed_base: Annotated[
        Path | None,
        typer.Option(
            "--installed-base",
            help="Installed base; when given it is the demand clustered.",
            dir_okay=False,
        ),
    ] = None,
    sites: Annotated[
        Path | None,
        typer.Option(
            "--sites",
            "-s",
            help="Existing sites file; the output lists them first, then the new candidates.",
            dir_okay=False,
        ),
    ] = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    method: Annotated[
        Method, typer.Option("--method", help="Weighted k-means or dense H3 cells.")
    ] = Method.kmeans,
    n: Annotated[
        int | None,
        typer.Option("--n", min=1, help="Number of candidates (k-means), or most cells (h3)."),
    ] = None,
    h3_resolution: Annotated[
        int, typer.Option("--h3-resolution", min=0, max=15, help="H3 resolution (h3 method).")
    ] = 6,
    min_weight: Annotated[
        float | None,
        typer.Option(
            "--min-weight", min=0.0, help="h3: keep cells holding at least this demand weight."
        ),
    ] = None,
    tier: Annotated[
        str,
        typer.Option(
            "--tier",
            help=(
                "`density` (tier by demand density), `all` (every tier at each place) "
                "or a tier name."
            ),
        ),
    ] = "density",
    fill: Annotated[
        float,
        typer.Option(
            "--fill", min=0.0, help="A tier fits where its reach holds this share of its capacity."
        ),
    ] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for k-means.")] = 0,
) -> None:
    """Generate candidate sites from demand and write a sites file for `netplan optimize`.

    Example: netplan candidates --demand data/samples/national/customers.csv
    --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --config data/samples/national/scenario.toml
    --method kmeans --n 80 --out out/candidates.csv
    """
    import pandas as pd

    from netplan.candidates import candidates_from_demand, merge_sites
    from netplan.io import read_sites, write_frame

    frame_output_format(out, "--out")
    scenario = scenario_from_option(config, input_options)
    gdf_demand = read_demand(demand, installed_base, scenario)
    generated = candidates_from_demand(
        gdf_demand,
        scenario,
        method=method.value,
        n_sites=n,
        resolution=h3_resolution,
        min_weight=min_weight,
        tier=tier,
        fill=fill,
        seed=seed,
    )
    result = generated
    gdf_sites = read_sites(sites, scenario=scenario) if sites is not None else None
    if gdf_sites is not None:
        result = merge_sites(gdf_sites, generated)
    path = write_frame(result, out)
    counts = pd.Series(generated["tier"]).value_counts().sort_index()
    table = Table(title=f"Candidates ({method.value})", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("generated", f"{len(generated):,}")
    table.add_row("by tier", ", ".join(f"{k}: {v}" for k, v in counts.items()))
    if sites is not None:
        table.add_row("with the sites file", f"{len(result):,} sites in all")
    console.print(table)
    console.print(inputs_text(gdf_demand, gdf_sites))
    console.print(f"output: {path}", markup=False)
