"""Memory guards: a run whose estimated size exceeds the limit is refused up front.

The limit is ``NETPLAN_MEMORY_LIMIT_GB`` (gigabytes) when set, else half of the
machine's physical memory. The heavy steps (the reach matrix, DBSCAN blind
spots) estimate what they would hold and call :func:`check_memory` before
they allocate it, so a planner gets a message with the estimated size and
the option that avoids it instead of a machine that swaps or a killed process.
"""

from __future__ import annotations

import os

from netplan.errors import InputError, ResourceError

#: Environment variable holding the memory limit in gigabytes.
MEMORY_LIMIT_ENV = "NETPLAN_MEMORY_LIMIT_GB"
#: Limit used when the physical memory cannot be read.
FALLBACK_LIMIT_BYTES = 8 * 1024**3


def memory_limit_bytes() -> int:
    """Return the memory a single netplan step may use, in bytes.

    Raises
    ------
    InputError
        When ``NETPLAN_MEMORY_LIMIT_GB`` is set but is not a positive number.
    """
    value = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if value:
        try:
            gigabytes = float(value)
        except ValueError:
            gigabytes = float("nan")
        if not gigabytes > 0 or gigabytes == float("inf"):
            msg = f"{MEMORY_LIMIT_ENV} must be a number of gigabytes above 0, got {value!r}"
            raise InputError(msg)
        return int(gigabytes * 1024**3)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_LIMIT_BYTES
    return int(physical // 2) if physical > 0 else FALLBACK_LIMIT_BYTES


def format_bytes(size: float) -> str:
    """Return ``size`` bytes as ``"1.5 GB"`` / ``"320 MB"`` / ``"12 kB"``."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,.0f} bytes"


def check_memory(estimate_bytes: float, what: str, remedy: str) -> None:
    """Raise :class:`~netplan.errors.ResourceError` when ``estimate_bytes`` exceeds the limit.

    Parameters
    ----------
    estimate_bytes
        The estimated memory of the step.
    what
        What would be built, e.g. ``"the reach matrix (120,000,000 demand-site pairs)"``.
    remedy
        What avoids it, e.g. ``"aggregate the demand to H3 cells (--aggregate h3:7)"``.
    """
    limit = memory_limit_bytes()
    if estimate_bytes > limit:
        msg = (
            f"{what} would need about {format_bytes(estimate_bytes)} of memory, more than the "
            f"limit of {format_bytes(limit)}; {remedy} (or raise the limit with "
            f"{MEMORY_LIMIT_ENV})"
        )
        raise ResourceError(msg)
