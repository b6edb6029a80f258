"""Checks of the numbers the location models take (weights, costs, budgets)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from netplan.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["COVERAGE_TOLERANCE", "MAX_AMOUNT", "check_amounts"]

#: Shares of total weight closer than this count as equal when a coverage target is compared
#: with what can be reached or what a plan achieves (far above rounding, far below any figure
#: printed; the solver's own feasibility tolerance, 1e-7 absolute, is tighter still).
COVERAGE_TOLERANCE = 1e-9

#: Largest weight, cost or budget the models take: beyond it a double no longer holds whole
#: units exactly, and solvers treat such numbers as infinite.
MAX_AMOUNT = 1e15


def check_amounts(values: NDArray[np.float64], what: str) -> None:
    """Raise :class:`InputError` unless ``values`` are finite, 0 or more, below :data:`MAX_AMOUNT`.

    Their sum must stay below it too (a total past the float range makes every share NaN).
    """
    if values.size == 0:
        return
    if not np.isfinite(values).all() or (values < 0).any():
        msg = f"{what} must be finite numbers, 0 or more"
        raise InputError(msg)
    largest = float(values.max())
    # Compare the total without summing past the float range: largest first, then the sum.
    total = float(values.sum(dtype=np.float64)) if largest < MAX_AMOUNT else math.inf
    if not total < MAX_AMOUNT:
        msg = (
            f"{what} are too large to optimise exactly (largest {largest:.3g}, total "
            f"{total:.3g}; each and their total must stay below {MAX_AMOUNT:.0e}): "
            "rescale them (e.g. thousands instead of units)"
        )
        raise InputError(msg)
