"""The ``netplan`` command line: a thin layer over the library.

Each command lives in its own module and registers itself on
:data:`netplan.cli._app.app` when imported here.
"""

from __future__ import annotations

import sys

try:
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
    from netplan.cli._app import app, state
except KeyboardInterrupt:  # Ctrl-C while starting up: one line, the usual exit code
    sys.stderr.write("interrupted while starting: nothing was done\n")
    raise SystemExit(130) from None

__all__ = ["app", "main"]


def main() -> None:
    """Run the ``netplan`` command line."""
    # File names that are not UTF-8 (surrogate escapes) print escaped instead of crashing.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    if sys.argv[1:] == ["--version"]:  # answered before typer builds every command's options
        from netplan import __version__

        print(f"netplan {__version__}")
        return
    try:
        app()
    except KeyboardInterrupt:  # between start-up and a command's own handling
        sys.stderr.write("interrupted: nothing was done\n")
        raise SystemExit(130) from None
    except SystemExit as exc:
        # typer turns Ctrl-C while it parses the arguments into a silent exit 130.
        if exc.code == 130 and not state.interrupt_reported:
            sys.stderr.write("interrupted: nothing was done\n")
        raise
