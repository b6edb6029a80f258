"""`netplan map`: draw the network, its radii, demand and blind spots on a folium map."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from netplan.cli._app import (
    ConfigOption,
    InputOption,
    app,
    command,
    console,
    reading_outputs,
    scenario_from_option,
)
from netplan.cli._render import inputs_text
from netplan.io import read_points
from netplan.maps import network_map
from netplan.report import read_coverage_outputs, read_plan_outputs, read_scores


class Language(StrEnum):
    """Language of a map or report."""

    en = "en"
    zh = "zh"


@app.command("map")
@command
def map_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.", dir_okay=False)],
    demand: Annotated[
        Path | None, typer.Option("--demand", help="Demand points (customers) for the heat map.")
    ] = None,
    installed_base: Annotated[
        Path | None,
        typer.Option(
            "--installed-base", help="Installed base for the heat map (used over --demand)."
        ),
    ] = None,
    sites: Annotated[Path | None, typer.Option("--sites", help="Sites file.")] = None,
    coverage: Annotated[
        Path | None,
        typer.Option(
            "--coverage",
            help="Output folder of `netplan coverage` (blind spots, KPIs).",
            file_okay=False,
        ),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Output folder of `netplan optimize` (opened/closed sites).",
            file_okay=False,
        ),
    ] = None,
    scores: Annotated[
        Path | None,
        typer.Option(
            "--scores", help="Output folder of `netplan score` (scores in popups).", file_okay=False
        ),
    ] = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    lang: Annotated[
        Language, typer.Option("--lang", help="Labels in English or Chinese.")
    ] = Language.en,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Inline Leaflet (no basemap): the file opens with no internet."
        ),
    ] = False,
) -> None:
    """Write a folium map: sites by tier, service radii, demand heat map, blind spots, KPIs.

    Every layer can be toggled; tier labels come from the scenario. Without
    --offline the page loads Leaflet and basemap tiles (OpenStreetMap, CartoDB
    positron) from the internet; with --offline it carries Leaflet inline and
    needs no network (no basemap).

    Example: netplan map --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --coverage out/coverage
    --config data/samples/national/scenario.toml --out out/map.html --offline
    """
    scenario = scenario_from_option(config, input_options)
    if all(v is None for v in (demand, installed_base, sites, coverage, plan)):
        msg = "nothing to draw: give --demand/--installed-base, --sites, --coverage or --plan"
        raise typer.BadParameter(msg, param_hint="--sites")
    if installed_base is not None:
        gdf_demand = read_points(installed_base, kind="installed-base", scenario=scenario)
    elif demand is not None:
        gdf_demand = read_points(demand, kind="customers", scenario=scenario)
    else:
        gdf_demand = None
    gdf_sites = read_points(sites, kind="sites", scenario=scenario) if sites is not None else None
    with reading_outputs(coverage, plan, scores):
        result = network_map(
            gdf_demand,
            gdf_sites,
            scenario,
            coverage=read_coverage_outputs(coverage) if coverage is not None else None,
            plan=read_plan_outputs(plan) if plan is not None else None,
            scores=read_scores(scores) if scores is not None else None,
            lang=lang.value,
            offline=offline,
        )
    path = result.to_file(out)
    if gdf_demand is not None or gdf_sites is not None:
        console.print(inputs_text(gdf_demand, gdf_sites))
    size_mb = path.stat().st_size / 1e6
    console.print(
        f"map: {path} ({size_mb:.1f} MB; {result.n_sites} sites, {result.n_heat_cells} heat cells, "
        f"{result.n_zones} blind spots; {'offline' if offline else 'online basemaps'})",
        markup=False,
    )
