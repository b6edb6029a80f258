"""Progress of long library calls: a bar in notebooks, silent elsewhere unless asked.

The long calls (coverage of millions of points, the streamed and Dask engines,
a trade-off curve, a roadmap) take ``progress=``:

* ``None`` (the default): a progress bar when running in a Jupyter kernel,
  nothing elsewhere (scripts, the command line, tests stay quiet);
* ``True``: a bar always (a rich bar on standard error in a terminal; the
  notebook display in Jupyter);
* ``False``: silent;
* a callable: called as ``progress(done, total)``, no bar.

The bar is :mod:`rich`'s (a dependency already): in Jupyter it draws through
``ipywidgets`` when that is installed (the ``notebook`` extra), else as text.
Milestones are logged at ``DEBUG`` under the ``netplan`` logger; the library
never prints.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "LOGGER",
    "ProgressArg",
    "callback_of",
    "in_notebook",
    "progress_callback",
    "reports_progress",
]

P = ParamSpec("P")
R = TypeVar("R")

#: The library's logger: every module logs under it (``logging.getLogger("netplan")``).
LOGGER = logging.getLogger("netplan")

#: What ``progress=`` takes: ``None`` (auto), ``True``, ``False`` or ``progress(done, total)``.
ProgressArg = bool | Callable[[int, int], None] | None


def in_notebook() -> bool:
    """Return whether this process is a Jupyter kernel (JupyterLab, Notebook, VS Code).

    >>> in_notebook()
    False
    """
    shell_module = sys.modules.get("IPython")
    if shell_module is None:
        return False
    try:
        shell = shell_module.get_ipython()
    except AttributeError:  # pragma: no cover - a stub IPython module
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _console() -> Any:
    from rich.console import Console

    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            # Without widgets rich cannot update a notebook display: plain text on stderr.
            return Console(stderr=True, force_jupyter=False, force_terminal=False)
        return Console(force_jupyter=True)
    return Console(stderr=True)


@contextmanager
def progress_callback(
    progress: ProgressArg, description: str, unit: str = "points"
) -> Iterator[Callable[[int, int], None] | None]:
    """Yield the ``progress(done, total)`` callback a long call reports to, or ``None``.

    Parameters
    ----------
    progress
        What the caller gave: ``None`` (a bar in notebooks only), ``True``
        (a bar), ``False`` (nothing) or a callable (used as is).
    description
        What the bar says it counts (``"coverage"``, ``"frontier"``).
    unit
        What is counted (shown in the log line when the call ends).

    Examples
    --------
    >>> seen = []
    >>> with progress_callback(lambda done, total: seen.append(done), "demo") as update:
    ...     update(5, 10)
    >>> seen
    [5]
    >>> with progress_callback(False, "demo") as update:
    ...     print(update)
    None
    """
    if progress is False or (progress is None and not in_notebook()):
        yield None
        return
    if callable(progress):
        yield progress
        return
    state: dict[str, Any] = {"done": 0, "total": 0}

    def update(done: int, total: int) -> None:
        # The bar opens on the first report: a call that reports nothing shows nothing.
        if "bar" not in state:
            state["bar"] = _open_bar(description)
            state["task"] = state["bar"].add_task(description, total=None)
        state["done"], state["total"] = done, total
        state["bar"].update(state["task"], completed=done, total=max(total, done))

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
            LOGGER.debug("%s: %s of %s %s", description, state["done"], state["total"], unit)


def _open_bar(description: str) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=_console(), transient=False, refresh_per_second=4)
    bar.start()
    return bar


def reports_progress(
    description: str, unit: str = "points"
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a public function whose keyword ``progress=`` takes a :data:`ProgressArg`.

    The wrapper resolves ``progress`` with :func:`progress_callback` around the
    call and hands the function the callback, or ``False`` when nothing is to
    be reported (so a decorated function called from another one does not
    open a second bar); the function reads it with :func:`callback_of`.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            given: Any = kwargs.get("progress")
            with progress_callback(given, description, unit) as update:
                kwargs["progress"] = update if update is not None else False
                return function(*args, **kwargs)

        return wrapper

    return decorate


def callback_of(progress: ProgressArg) -> Callable[[int, int], None] | None:
    """Return the callback a :func:`reports_progress` wrapper left in ``progress`` (or ``None``).

    >>> callback_of(False) is None, callback_of(print) is print
    (True, True)
    """
    return progress if callable(progress) else None
