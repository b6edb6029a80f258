"""Exceptions and warnings raised by netplan.

Every error a planner can cause (a bad file, a bad scenario, an infeasible
model) is a subclass of :class:`NetplanError`; the CLI turns these into one
line per problem on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "InfeasibleError",
    "InputError",
    "InputWarning",
    "MissingExtraError",
    "NetplanError",
    "NetplanWarning",
    "Problem",
    "ResourceError",
    "SolverError",
    "SolverWarning",
]

#: How many problems an :class:`InputError` lists before summarising the rest.
MAX_LISTED_PROBLEMS = 20


class NetplanError(Exception):
    """Base class of every error netplan raises on purpose."""

    #: Exit code the CLI uses for this kind of error.
    exit_code: int = 2

    def lines(self) -> list[str]:
        """Return the message as the lines the CLI prints, one per problem."""
        return [line for line in str(self).splitlines() if line.strip()]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    file
        The file the problem is in (as the user named it); empty when the
        problem concerns no file (the message then stands alone).
    row
        1-based row as a spreadsheet shows it (the CSV header is row 1), or the
        1-based feature number for GeoJSON / GeoPackage / Parquet; ``None``
        when the problem concerns the whole file.
    column
        The column concerned, or ``None``.
    message
        What is wrong and how to fix it.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InputError(NetplanError, ValueError):
    """An input file cannot be used as it is.

    Parameters
    ----------
    problems
        The problems found, or one message that concerns no particular file
        (shown as it is); the message lists the first
        :data:`MAX_LISTED_PROBLEMS` and counts the rest.
    total
        How many problems were found in all, when more were found than kept.
    """

    exit_code = 2

    def __init__(self, problems: Sequence[Problem] | str, *, total: int | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="", row=None, column=None, message=problems)]
        self.problems: list[Problem] = list(problems)
        #: Number of problems found, which may exceed the problems kept.
        self.total: int = max(total or 0, len(self.problems))
        shown = [str(p) for p in self.problems[:MAX_LISTED_PROBLEMS]]
        hidden = self.total - len(shown)
        if hidden > 0:
            shown.append(f"... and {hidden} more problem(s) not listed")
        super().__init__("\n".join(shown))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the problems (not the message) when unpickled, e.g. by
        # a Dask worker sending the error back: the message stays identical.
        return (_rebuild_input_error, (type(self), self.problems, self.total))


def _rebuild_input_error(cls: type[InputError], problems: list[Problem], total: int) -> InputError:
    return cls(problems, total=total)


class ResourceError(InputError):
    """A run would need more memory than allowed; refused before it starts.

    The message gives the estimated size, the limit (``NETPLAN_MEMORY_LIMIT_GB``)
    and the option that avoids it (aggregation, H3 blind spots, the Dask engine).
    """


class ConfigError(NetplanError, ValueError):
    """The scenario file is invalid; the message names the key."""

    exit_code = 2


class InfeasibleError(NetplanError):
    """An optimisation model has no feasible solution; the message says why."""

    exit_code = 3


class SolverError(NetplanError):
    """The solver failed or is not available."""

    exit_code = 3


class MissingExtraError(NetplanError, ImportError):
    """An optional feature needs a package that is not installed (the message names the extra)."""

    exit_code = 2


class NetplanWarning(UserWarning):
    """Base class of netplan's warnings."""


class InputWarning(NetplanWarning):
    """An input was usable but something in it deserves a look."""


class SolverWarning(NetplanWarning):
    """The requested solver failed or is missing; the other solver was used instead."""
