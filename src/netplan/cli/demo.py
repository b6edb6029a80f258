"""`netplan demo`: the main job on the bundled samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netplan.cli._app import ForceOption, app, command, console, err_console
from netplan.cli._render import (
    before_after_table,
    coverage_summary_tables,
    input_summary_table,
    plan_table,
)

#: Seconds the demo's MILP may take: :data:`netplan.demo.DEMO_TIME_LIMIT`, repeated here so
#: that the command line starts without importing the demo (a test keeps the two equal).
DEMO_TIME_LIMIT = 60.0

#: What `netplan demo` writes into --out (an earlier run's outputs are replaced).
DEMO_OUTPUTS = (
    "inputs.json",
    "coverage",
    "plan",
    "scores",
    "map.html",
    "report.html",
    "report.xlsx",
)


@app.command()
@command
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")] = Path(
        "out/demo"
    ),
    samples: Annotated[
        Path | None,
        typer.Option("--samples", help="Samples folder (default: the bundled data/samples)."),
    ] = None,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", min=1.0, help="Seconds the site-selection MILP may take."),
    ] = DEMO_TIME_LIMIT,
    force: ForceOption = False,
) -> None:
    """Run the main job on the bundled national sample and say where the outputs are.

    Loads and validates the sample, computes today's coverage and blind spots,
    chooses sites with the tiered MILP under the scenario's budget, scores the
    candidates, and writes a map and a report.

    Example: netplan demo --out out/demo
    """
    from netplan.demo import run_demo
    from netplan.io import output_folder

    try:
        with output_folder(out, owned=DEMO_OUTPUTS, force=force) as folder:
            result = run_demo(
                folder.stage,
                samples=samples,
                time_limit=time_limit,
                step=lambda text: err_console.print(f"netplan demo: {text} ...", markup=False),
            )
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--samples") from None
    for summary in result.inputs.values():
        console.print(input_summary_table(summary))
    if result.coverage is not None:
        for table in coverage_summary_tables(result.coverage.summary()):
            console.print(table)
    if result.plan is not None:
        plan_summary = result.plan.summary()
        console.print(plan_table(plan_summary))
        console.print(before_after_table(plan_summary))
    console.print("outputs:", markup=False)
    for name, path in result.outputs.items():
        console.print(f"  {name}: {folder.final(path)}", markup=False)
