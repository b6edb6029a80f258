"""`netplan validate`: read a file, check it, print what was found."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from netplan.cli._app import (
    ConfigOption,
    CrsOption,
    IdOption,
    InputOption,
    LatOption,
    LayerOption,
    LonOption,
    WeightOption,
    app,
    command,
    console,
    read_options,
    scenario_from_option,
)
from netplan.cli._render import input_summary_table


class Kind(StrEnum):
    """What an input file holds."""

    customers = "customers"
    installed_base = "installed-base"
    sites = "sites"


@app.command()
@command
def validate(
    file: Annotated[
        Path, typer.Argument(help="CSV, GeoJSON, GeoPackage or Parquet file to check.")
    ],
    kind: Annotated[
        Kind, typer.Option("--kind", "-k", help="What the file holds.")
    ] = Kind.customers,
    config: ConfigOption = None,
    input_options: InputOption = None,
    lon: LonOption = None,
    lat: LatOption = None,
    id_col: IdOption = None,
    weight: WeightOption = None,
    crs: CrsOption = None,
    layer: LayerOption = None,
) -> None:
    """Check an input file and print a summary: rows, columns, CRS, extent, weight, problems.

    Every problem in the file is listed at once (file, row, column); the exit
    code is 0 when the file is usable and 2 when it is not.

    Example: netplan validate data/samples/national/installed_base.csv --kind installed-base
    """
    from netplan.io import read_points
    from netplan.summary import input_summary

    scenario = scenario_from_option(config, input_options)
    gdf = read_points(
        file,
        kind=kind.value,
        scenario=scenario,
        geometry=False,  # the summary needs the coordinates, not a shapely point per row
        **read_options(lon, lat, id_col, weight, crs, layer),
    )
    console.print(input_summary_table(input_summary(gdf)))
