"""What a solving command shows while it solves: a live line on a terminal, the log with --verbose.

The solvers are silent by default (:mod:`netplan.locate.solve`). On a terminal
(standard output and standard error both), :func:`solving` shows one live
line on stderr: the elapsed time, the best plan's objective, the bound and
the gap, and "step k of n" for a curve; it disappears when the solve ends.
Piped or redirected, nothing extra is written. ``--verbose`` shows the
solver's own log (HiGHS's banner and search log, CBC's log) on stderr instead.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from netplan.cli._app import console, err_console

VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Show the solver's own log (HiGHS or CBC, banner included) on stderr.",
    ),
]


class Display:
    """The live line of one command: a solve's progress and, for a curve, the step."""

    def __init__(self, progress: Any | None) -> None:
        self._progress = progress
        self._task: Any = None
        self._step = ""
        self._state = "preparing the model"
        if progress is not None:
            self._task = progress.add_task(self._text(), total=None)

    def _text(self) -> str:
        return f"{self._step}{self._state}"

    def _show(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=self._text())

    def step(self, done: int, total: int) -> None:
        """Say which step of a curve or roadmap is being solved (``done`` counts from 1)."""
        self._step = f"step {done} of {total} · "
        self._state = "solving"
        self._show()

    def solver(self, state: Any) -> None:
        """Show a :class:`netplan.locate.solve.SolverProgress`."""
        parts = [f"solving ({state.solver})"]
        if state.objective is not None:
            parts.append(f"best plan {state.objective:,.2f}")
        if state.bound is not None:
            parts.append(f"bound {state.bound:,.2f}")
        if state.gap is not None:
            parts.append(f"gap {100 * state.gap:.2f}%")
        self._state = " · ".join(parts)
        self._show()


def interactive() -> bool:
    """Return ``True`` when both standard output and standard error are terminals."""
    return bool(console.is_terminal and err_console.is_terminal)


@contextlib.contextmanager
def solving(verbose: bool) -> Iterator[Display]:
    """Within the block, show the solve as asked: the solver log, a live line, or nothing.

    Parameters
    ----------
    verbose
        Send the solver's log (``netplan`` logger, INFO) to stderr; no live line.

    Yields
    ------
    Display
        Call :meth:`Display.step` for curves; the solver's progress is wired in.
    """
    from netplan.locate.solve import solver_feedback

    if verbose:
        with _log_to_stderr(), solver_feedback(verbose=True):
            yield Display(None)
        return
    if not interactive():
        yield Display(None)
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
    ) as progress:
        display = Display(progress)
        on_progress: Callable[[Any], None] = display.solver
        with solver_feedback(on_progress=on_progress):
            yield display


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """Print the ``netplan`` logger's INFO messages on stderr while the block runs."""
    logger = logging.getLogger("netplan")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
