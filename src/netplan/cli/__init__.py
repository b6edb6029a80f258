"""The ``netplan`` command line: a thin layer over the library.

Each command lives in its own module and registers itself on
:data:`netplan.cli._app.app` when imported here.
"""

from __future__ import annotations

import sys

# Importing a command module registers its commands on the app.
from netplan.cli import (  # noqa: F401
    candidates,  # netplan candidates
    convert,  # netplan convert
    coverage,  # netplan coverage
    demo,  # netplan demo
    map,  # netplan map
    plan,  # netplan optimize, netplan frontier
    report,  # netplan report, netplan compare
    roadmap,  # netplan roadmap
    score,  # netplan score
    validate,  # netplan validate
)
from netplan.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the ``netplan`` command line."""
    if sys.argv[1:] == ["--version"]:  # answered before typer builds every command's options
        from netplan import __version__

        print(f"netplan {__version__}")
        return
    app()
