"""`netplan demo`: the main job on the bundled samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netplan.cli._app import app, command, console
from netplan.cli._render import input_summary_table
from netplan.demo import run_demo


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
) -> None:
    """Run the main job on the bundled national sample and say where the outputs are.

    Example: netplan demo --out out/demo
    """
    try:
        result = run_demo(out, samples=samples)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--samples") from None
    for summary in result.inputs.values():
        console.print(input_summary_table(summary))
    console.print("outputs:")
    for name, path in result.outputs.items():
        console.print(f"  {name}: {path}")
