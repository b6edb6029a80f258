"""The ``netplan`` command line: a thin layer over the library.

Each command lives in its own module and registers itself on
:data:`netplan.cli._app.app` when imported here.
"""

from __future__ import annotations

from netplan.cli import demo, validate  # noqa: F401  (register the commands)
from netplan.cli import convert  # noqa: F401  (netplan convert)
from netplan.cli import coverage  # noqa: F401  (netplan coverage)
from netplan.cli import score  # noqa: F401  (netplan score)
from netplan.cli import map  # noqa: F401  (netplan map)
from netplan.cli import report  # noqa: F401  (netplan report, netplan compare)
from netplan.cli import plan  # noqa: F401  (netplan optimize, netplan frontier)
from netplan.cli import candidates  # noqa: F401  (netplan candidates)
from netplan.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the ``netplan`` command line."""
    app()
