"""What several commands share: which demand to read, and writing and listing outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from netplan.cli._app import console

if TYPE_CHECKING:
    import geopandas as gpd

DEMAND_NEEDED = "give the demand with --demand FILE (customers) or --installed-base FILE"


def read_demand(
    demand: Path | None, installed_base: Path | None, scenario: Any
) -> gpd.GeoDataFrame:
    """Return the demand a command works on: the installed base when given, else the customers.

    The installed base's weight is its service demand (units × service rate);
    the customers' is their ``weight`` column. Neither given: a usage error
    naming ``--demand``.
    """
    gdf = read_demand_if_given(demand, installed_base, scenario)
    if gdf is None:
        raise typer.BadParameter(DEMAND_NEEDED, param_hint="--demand")
    return gdf


def read_demand_if_given(
    demand: Path | None, installed_base: Path | None, scenario: Any
) -> gpd.GeoDataFrame | None:
    """Return :func:`read_demand`'s choice, or ``None`` when neither file is given."""
    from netplan.io import read_customers, read_installed_base

    if installed_base is not None:
        return read_installed_base(installed_base, scenario=scenario)
    if demand is not None:
        return read_customers(demand, scenario=scenario)
    return None


def write_outputs(
    out: Path,
    owned: Iterable[str],
    force: bool,
    write: Callable[[Path], Mapping[str, Path]],
) -> dict[str, Path]:
    """Stage ``write(folder)``'s files and move them into ``out`` together; return final paths."""
    from netplan.io import output_folder

    with output_folder(out, owned=owned, force=force) as folder:
        staged = write(folder.stage)
    return {name: folder.final(path) for name, path in staged.items()}


def print_outputs(paths: Mapping[str, Path], *, heading: str | None = "outputs:") -> None:
    """List written files, one ``name: path`` a line (indented under ``heading``)."""
    if heading is not None:
        console.print(heading)
    indent = "  " if heading is not None else ""
    for name, path in paths.items():
        console.print(f"{indent}{name}: {path}", markup=False)
