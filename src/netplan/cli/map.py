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
from netplan.cli._outputs import read_demand_if_given
from netplan.cli._render import inputs_text


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
    roadmap: Annotated[
        Path | None,
        typer.Option(
            "--roadmap",
            help="Output folder of `netplan roadmap`: one layer per year of sites opened.",
            file_okay=False,
        ),
    ] = None,
    config: ConfigOption = None,
    input_options: InputOption = None,
    lang: Annotated[
        Language, typer.Option("--lang", help="Labels in English or Chinese.")
    ] = Language.en,
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--online",
            help=(
                "--offline (the default): no web tiles, the file opens with no internet. "
                "--online: add web tiles (AMap, OpenStreetMap, CartoDB positron) as base "
                "layers under the outlines."
            ),
        ),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            metavar="NAME[,NAME]",
            help=(
                "Web tile layers to add, comma-separated, the first shown: "
                "amap, amap_satellite, osm, positron (implies --online)."
            ),
        ),
    ] = None,
) -> None:
    """Write a folium map: sites by tier, service radii, demand heat map, blind spots, KPIs.

    Every layer can be toggled; tier labels come from the scenario. With
    --roadmap, one layer per year shows the sites opened (and closed) that year.
    The file is self-contained and opens with no internet: Leaflet is inlined and
    province and city outlines with province names make the basemap. --online
    or --tiles add web tiles as base layers (AMap tiles, which work in mainland
    China, are shifted from GCJ-02 so that points sit where they belong); if
    they cannot load, the map still works and says so.

    Example: netplan map --installed-base data/samples/national/installed_base.csv
    --sites data/samples/national/sites.csv --coverage out/coverage
    --config data/samples/national/scenario.toml --out out/map.html --tiles amap
    """
    from netplan.io import read_points
    from netplan.maps import network_map
    from netplan.report import read_coverage_outputs, read_plan_outputs, read_scores

    tile_names = _tile_names(tiles, offline)
    scenario = scenario_from_option(config, input_options)
    if all(v is None for v in (demand, installed_base, sites, coverage, plan, roadmap)):
        msg = (
            "nothing to draw: give --demand/--installed-base, --sites, --coverage, --plan "
            "or --roadmap"
        )
        raise typer.BadParameter(msg, param_hint="--sites")
    gdf_demand = read_demand_if_given(demand, installed_base, scenario)
    gdf_sites = read_points(sites, kind="sites", scenario=scenario) if sites is not None else None
    roadmap_sites = None
    if roadmap is not None:
        from netplan.locate.roadmap import read_roadmap_sites

        roadmap_sites = read_roadmap_sites(roadmap)
        if gdf_sites is None and plan is None:
            gdf_sites = roadmap_sites.rename(columns={"site_id": "id", "status_before": "status"})
    with reading_outputs(coverage, plan, scores, roadmap):
        result = network_map(
            gdf_demand,
            gdf_sites,
            scenario,
            coverage=read_coverage_outputs(coverage) if coverage is not None else None,
            plan=read_plan_outputs(plan) if plan is not None else None,
            scores=read_scores(scores) if scores is not None else None,
            lang=lang.value,
            tiles=tile_names,
        )
        if roadmap_sites is not None:
            from netplan.maps import add_roadmap_layers

            add_roadmap_layers(result, roadmap_sites, scenario)
    path = result.to_file(out)
    if gdf_demand is not None or gdf_sites is not None:
        console.print(inputs_text(gdf_demand, gdf_sites))
    size_mb = path.stat().st_size / 1e6
    console.print(
        f"map: {path} ({size_mb:.1f} MB; {result.n_sites} sites, {result.n_heat_cells} heat cells, "
        f"{result.n_zones} blind spots; "
        f"{'offline' if result.offline else 'web tiles: ' + ', '.join(result.tiles)})",
        markup=False,
    )


def _tile_names(tiles: str | None, offline: bool | None) -> list[str]:
    """Return the web tile layers asked for by --tiles / --online (none by default)."""
    from netplan.maps import DEFAULT_TILES, TILE_PROVIDERS

    names = [name.strip() for name in (tiles or "").split(",") if name.strip()]
    if offline and names:
        msg = "--offline draws no web tiles; drop --offline to add --tiles"
        raise typer.BadParameter(msg, param_hint="--tiles")
    unknown = [name for name in names if name not in TILE_PROVIDERS]
    if unknown:
        msg = f"unknown tile layer {unknown[0]!r}; choose from {', '.join(TILE_PROVIDERS)}"
        raise typer.BadParameter(msg, param_hint="--tiles")
    if tiles is not None and not names:
        msg = f"give at least one tile layer: {', '.join(TILE_PROVIDERS)}"
        raise typer.BadParameter(msg, param_hint="--tiles")
    if not names and offline is False:
        return list(DEFAULT_TILES)
    return names
