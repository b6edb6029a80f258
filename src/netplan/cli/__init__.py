"""The ``netplan`` command line: a thin layer over the library.

Each command lives in its own module and registers itself on
:data:`netplan.cli._app.app` when imported. ``import netplan.cli`` itself is
light: the command modules (and typer, rich) load on first access to
:data:`app` (PEP 562), so ``netplan --version`` answers before any of them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]


def _load_app() -> tuple[typer.Typer, Any]:
    """Import every command module; return the app with all commands and its run state."""
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
    globals()["app"], globals()["state"] = app, state
    return app, state


def __getattr__(name: str) -> Any:
    """Build the app (every command registered) on first access to ``app`` or ``state``."""
    if name in ("app", "state"):
        app, state = _load_app()
        return app if name == "app" else state
    msg = f"module 'netplan.cli' has no attribute {name!r}"
    raise AttributeError(msg)


def _redeliver_swallowed_interrupts() -> None:
    """Send Ctrl-C again when CPython swallowed its ``KeyboardInterrupt``.

    Raised inside a callback from C (importlib's module-lock callbacks,
    pydantic-core building a schema), the exception is only reported as
    "Exception ignored in ..." and the command would run on as if never
    interrupted. The hook sends the signal again a moment later, where the
    command's own handling (one line, exit code 130) sees it.
    """
    import os
    import signal
    import threading

    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if unraisable.exc_type is KeyboardInterrupt:
            resend = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
            resend.daemon = True
            resend.start()
            return
        previous(unraisable)

    sys.unraisablehook = hook


def main() -> None:
    """Run the ``netplan`` command line."""
    # File names that are not UTF-8 (surrogate escapes) print escaped instead of crashing.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    if sys.argv[1:] == ["--version"]:  # answered before typer and the commands are imported
        from netplan import __version__

        print(f"netplan {__version__}")
        return
    _redeliver_swallowed_interrupts()
    app, state = _load_app()
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
