"""`netplan report` and `netplan compare`: the executive report and scenario comparison."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from netplan.cli._app import app, command, console, reading_outputs, scenario_from_option
from netplan.config import Scenario, load_scenario


class Language(StrEnum):
    """Language of a report."""

    en = "en"
    zh = "zh"


FolderOption = Annotated[Path | None, typer.Option(file_okay=False)]


def _scenario(config: Path | None) -> Scenario | None:
    return load_scenario(config) if config is not None else None


@app.command("report")
@command
def report_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML report to write.", dir_okay=False)],
    coverage: Annotated[
        Path | None,
        typer.Option("--coverage", help="Output folder of `netplan coverage`.", file_okay=False),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="Output folder of `netplan optimize`.", file_okay=False),
    ] = None,
    scores: Annotated[
        Path | None,
        typer.Option("--scores", help="Output folder of `netplan score`.", file_okay=False),
    ] = None,
    xlsx: Annotated[
        Path | None,
        typer.Option("--xlsx", help="Also write the tables as an Excel workbook.", dir_okay=False),
    ] = None,
    pdf: Annotated[
        Path | None,
        typer.Option(
            "--pdf", help="Also print the report to PDF (needs headless Chromium).", dir_okay=False
        ),
    ] = None,
    compare_with: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            help="Another coverage or plan folder: adds a comparison section (it → this run).",
            file_okay=False,
        ),
    ] = None,
    frontier: Annotated[
        Path | None,
        typer.Option(
            "--frontier",
            help="Output folder of `netplan frontier` (trade-off curve).",
            file_okay=False,
        ),
    ] = None,
    roadmap: Annotated[
        Path | None,
        typer.Option(
            "--roadmap",
            help="Output folder of `netplan roadmap`: a section with the table by year and a "
            "coverage-by-year chart (and a Roadmap sheet in the workbook).",
            file_okay=False,
        ),
    ] = None,
    map_file: Annotated[
        Path | None,
        typer.Option("--map", help="Map HTML file to link from the report.", dir_okay=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Scenario TOML: tier labels and order, currency, support chain (why-not).",
            dir_okay=False,
        ),
    ] = None,
    lang: Annotated[Language, typer.Option("--lang", help="English or Chinese.")] = Language.en,
) -> None:
    """Write the executive report (HTML, self-contained) and optionally report.xlsx.

    Reads the folders the other commands wrote: a one-screen summary (coverage today and
    with the plan, the new yearly cost against the budget, sites by tier and decision, the
    largest blind spots by place), a static map, key figures before and after, the plan's
    sites by tier with scores and reasons, why the best-scored candidates left out were
    not opened, the largest blind spots, coverage by distance, the trade-off curve
    (--frontier, or frontier.csv in the plan folder), the roll-out by year (--roadmap), and
    the top-scored candidates. The workbook has sheets Summary, Sites, Scores, Blind spots
    and Assignment (and Response when the plan carries staffing, Why not with a plan and
    scores, Roadmap with --roadmap); Chinese sheet names and headers with --lang zh.

    Example: netplan report --coverage out/coverage --plan out/plan --scores out/scores
    --out out/report.html --xlsx out/report.xlsx
    """
    from netplan.io import output_set
    from netplan.report import (
        compare_outputs,
        read_coverage_outputs,
        read_frontier,
        read_plan_outputs,
        read_scores,
        report_pdf,
        write_report,
    )

    if coverage is None and plan is None and scores is None and roadmap is None:
        msg = "give at least one of --coverage, --plan, --scores, --roadmap"
        raise typer.BadParameter(msg, param_hint="--coverage")
    if compare_with is not None and plan is None and coverage is None:
        msg = "--compare needs --coverage or --plan to compare against"
        raise typer.BadParameter(msg, param_hint="--compare")
    map_href = None
    if map_file is not None:
        map_href = Path(os.path.relpath(map_file.resolve(), out.resolve().parent)).as_posix()
    scenario = _scenario(config)
    roadmap_tables: dict[str, Any] = {}
    if roadmap is not None:
        from netplan.locate.roadmap import read_roadmap_by_year, read_roadmap_sites

        with reading_outputs(roadmap):
            roadmap_tables = {
                "roadmap": read_roadmap_by_year(roadmap),
                "roadmap_sites": read_roadmap_sites(roadmap),
            }
    with output_set(), reading_outputs(coverage, plan, scores, frontier, compare_with):
        coverage_outputs = read_coverage_outputs(coverage) if coverage is not None else None
        plan_outputs = read_plan_outputs(plan) if plan is not None else None
        comparison = None
        if compare_with is not None:
            target = plan if plan is not None else coverage
            assert target is not None
            comparison = compare_outputs(compare_with, target)
        paths = write_report(
            out,
            xlsx=xlsx,
            coverage=coverage_outputs,
            plan=plan_outputs,
            scores=read_scores(scores) if scores is not None else None,
            comparison=comparison,
            frontier=read_frontier(frontier) if frontier is not None else None,
            scenario=scenario,
            lang=lang.value,
            map_href=map_href,
            **roadmap_tables,
        )
        if pdf is not None:  # one set: report, workbook and PDF all new, or all as they were
            paths["pdf"] = report_pdf(paths["report"], pdf)
    for name, path in paths.items():
        console.print(f"{name}: {path}", markup=False)


@app.command("compare")
@command
def compare_command(
    a_dir: Annotated[
        Path, typer.Argument(help="First coverage or plan folder (the baseline).", file_okay=False)
    ],
    b_dir: Annotated[
        Path, typer.Argument(help="Second coverage or plan folder (compared).", file_okay=False)
    ],
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the comparison as JSON.", dir_okay=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Scenario TOML (tier labels); optional.", dir_okay=False
        ),
    ] = None,
    lang: Annotated[Language, typer.Option("--lang", help="English or Chinese.")] = Language.en,
) -> None:
    """Compare two coverage or plan outputs: KPI deltas, sites per tier, demand gained and lost.

    Columns are headed by each folder's scenario name and kind (``national · today``,
    ``national · plan``); sites added and removed are listed by id (a coverage folder's
    sites are named from the plan's ``status_before`` when it is that plan's today).

    Example: netplan compare out/coverage out/plan --json out/compare.json
    """
    from netplan.io import write_text
    from netplan.report import compare_outputs, report_context

    scenario = scenario_from_option(config)
    with reading_outputs(a_dir, b_dir):
        comparison = compare_outputs(a_dir, b_dir)
        context = report_context(comparison=comparison, scenario=scenario, lang=lang.value)
    t = context["t"]
    name_a, name_b = comparison.name_a, comparison.name_b
    table = Table(title=Text(f"{name_a} → {name_b}  ({a_dir} → {b_dir})"), title_justify="left")
    for column in (t["col_kpi"], name_a, name_b, t["col_change"]):
        table.add_column(Text(column))
    for row in context["comparison_rows"]:
        table.add_row(Text(row["label"]), Text(row["a"]), Text(row["b"]), Text(row["change"]))
    console.print(table)
    sites = Table(title=Text(t["section_sites_by_tier"]), title_justify="left")
    for column in (t["col_tier"], name_a, name_b, t["compare_added"], t["compare_removed"]):
        sites.add_column(Text(column), overflow="fold")
    for row in context["comparison_sites"]:
        sites.add_row(*(Text(row[k]) for k in ("tier", "a", "b", "added", "removed")))
    console.print(sites)
    for row in context["comparison_demand"]:
        console.print(f"{row['label']}: {row['count']} ({row['weight']})", markup=False)
    if json_out is not None:
        console.print(f"json: {write_text(json_out, comparison.to_json())}", markup=False)
