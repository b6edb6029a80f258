"""`netplan score`: score candidate sites on the selection factors, with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

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
from netplan.cli._render import inputs_text

#: Files `netplan score` writes into --out (an earlier run's are replaced).
SCORE_FILES = ("scores.csv", "summary.json")


@app.command()
@command
def score(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for scores.csv and summary.json.")
    ],
    sites: Annotated[
        Path, typer.Option("--sites", help="Sites file (candidates have status `candidate`).")
    ],
    demand: Annotated[
        Path | None,
        typer.Option("--demand", help="Demand points (customers) with a `weight` column."),
    ] = None,
    installed_base: Annotated[
        Path | None,
        typer.Option(
            "--installed-base",
            help="Installed base; its service demand is the weight (used over --demand).",
        ),
    ] = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", help="Status of the sites to score (repeatable; default: candidate)."
        ),
    ] = None,
    matrix: Annotated[
        Path | None,
        typer.Option(
            "--matrix",
            help="Cost matrix (demand_id, site_id, cost); pairs absent from it are unreachable.",
            dir_okay=False,
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Rows per tier shown on the terminal.")] = 5,
    force: ForceOption = False,
) -> None:
    """Score candidate sites (demand, gap fill, overlap, distance, competitors, cost, attributes).

    Writes OUT/scores.csv (site_id, tier, total_score, rank, then <factor>_value and
    <factor>_score per factor, then name and the reasons in English and Chinese) and
    OUT/summary.json (weights, directions, best site per tier). Sub-scores are 0-100
    within each tier; the weights come from [scoring] in the scenario.

    Example: netplan score --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --config data/samples/national/scenario.toml
    --out out/scores
    """
    from netplan.io import check_output_folder, read_points
    from netplan.scoring import score_sites

    inputs = (demand, sites, installed_base, matrix, config)
    check_output_folder(out, owned=SCORE_FILES, force=force, inputs=inputs)
    scenario = scenario_from_option(config, input_options)
    gdf_demand = read_demand(demand, installed_base, scenario)
    gdf_sites = read_points(sites, kind="sites", scenario=scenario)
    result = score_sites(
        gdf_demand, gdf_sites, scenario, statuses=tuple(status or ("candidate",)), matrix=matrix
    )
    paths = write_outputs(out, SCORE_FILES, force, result.to_files)

    table = Table(title=Text(f"site scores ({scenario.name})"), title_justify="left")
    for column in ("tier", "rank", "site", "score", "reasons"):
        table.add_column(column, overflow="fold")
    for _, group in result.scores.groupby("tier", sort=False):
        for _, row in group.head(top).iterrows():
            table.add_row(
                Text(scenario.tier_label(str(row["tier"]))),
                Text(str(int(row["rank"]))),
                Text(str(row["site_id"])),
                Text(f"{row['total_score']:.1f}"),
                Text(str(row["reasons_en"])),
            )
    console.print(table)
    console.print(inputs_text(gdf_demand, gdf_sites))
    print_outputs(paths, heading=None)
