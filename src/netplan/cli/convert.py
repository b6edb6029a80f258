"""`netplan convert`: a large points file → a validated, partitioned GeoParquet dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from netplan._sizes import DEFAULT_CHUNK_ROWS, DEFAULT_ROWS_PER_PARTITION
from netplan.cli._app import (
    ConfigOption,
    CrsOption,
    IdOption,
    InputOption,
    LatOption,
    LonOption,
    WeightOption,
    app,
    command,
    console,
    err_console,
    frame_output_format,
    read_options,
    scenario_from_option,
)
from netplan.cli.validate import Kind


@app.command()
@command
def convert(
    file: Annotated[Path, typer.Argument(help="CSV, (Geo)Parquet, GeoJSON or GeoPackage file.")],
    out: Annotated[
        Path, typer.Argument(help="Dataset folder to write (replaced if an earlier dataset).")
    ],
    kind: Annotated[
        Kind, typer.Option("--kind", "-k", help="What the file holds.")
    ] = Kind.customers,
    rows_per_partition: Annotated[
        int,
        typer.Option(
            "--rows-per-partition",
            min=1,
            help="Points per GeoParquet file (one Dask partition each).",
        ),
    ] = DEFAULT_ROWS_PER_PARTITION,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows", min=1, help="Rows read and validated at a time (bounds memory)."
        ),
    ] = DEFAULT_CHUNK_ROWS,
    cells: Annotated[
        Path | None,
        typer.Option(
            "--cells",
            help=(
                "Also aggregate the points to H3 cells and write them here (.csv, .geojson, "
                ".parquet, .gpkg): the demand to optimise a 10-million-point base on."
            ),
            dir_okay=False,
        ),
    ] = None,
    h3_resolution: Annotated[
        int, typer.Option("--h3-resolution", min=0, max=15, help="H3 resolution of --cells.")
    ] = 7,
    config: ConfigOption = None,
    input_options: InputOption = None,
    lon: LonOption = None,
    lat: LatOption = None,
    id_col: IdOption = None,
    weight: WeightOption = None,
    crs: CrsOption = None,
) -> None:
    """Convert a large points file into a partitioned GeoParquet dataset, validating every row.

    The file is read in chunks with bounded memory and checked exactly as
    `netplan validate` checks it (every problem listed, rows counted over the
    whole file); nothing is written unless every row is valid. The dataset is
    a folder of GeoParquet files in input order, which `netplan coverage
    --engine dask` and the library (netplan.scale, netplan.stream) read fast
    and in parallel.

    With --cells, the dataset is then aggregated to H3 cells (exact weight
    sums, one row per cell and grade, at the cell centre; the largest
    displacement of a point is printed) for `netplan optimize`.

    Example: netplan convert installed_base.csv base.parquet --kind installed-base
    --cells cells.parquet --h3-resolution 7
    """
    from netplan.io import output_set, staged, write_frame
    from netplan.scale import aggregate_h3_local
    from netplan.stream import convert_to_geoparquet

    if cells is not None:
        frame_output_format(cells, "--cells")
    scenario = scenario_from_option(config, input_options)
    with output_set():  # the dataset and --cells: both written, or neither
        with Progress(
            TextColumn("converting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("convert", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = convert_to_geoparquet(
                file,
                out,
                kind=kind.value,
                rows_per_partition=rows_per_partition,
                chunk_rows=chunk_rows,
                scenario=scenario,
                progress=progress,
                **read_options(lon, lat, id_col, weight, crs),
            )
        aggregated = None
        if cells is not None:
            aggregated = aggregate_h3_local(staged(result.path), h3_resolution)
            write_frame(aggregated, cells)
    weight_text = (
        "" if result.total_weight is None else f", total weight {result.total_weight:,.2f}"
    )
    files = f"{result.n_partitions} file{'s' if result.n_partitions != 1 else ''}"
    console.print(
        f"wrote {result.n_rows:,} points in {files}{weight_text} to {result.path}", markup=False
    )
    if aggregated is not None:
        bound = aggregated.attrs["netplan_aggregation"]["max_error_km"]
        console.print(
            f"wrote {len(aggregated):,} H3 cells (resolution {h3_resolution}; no point moved "
            f"more than {bound:.2f} km) to {cells}",
            markup=False,
        )
