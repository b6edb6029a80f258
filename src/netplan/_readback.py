"""Checks of the ``summary.json`` files that ``report``, ``compare`` and ``map`` read back.

netplan writes every summary with finite numbers (NaN and infinity become
``null``), rates from 0 to 1 and counts and weights of 0 or more. A file that
breaks one of those rules was edited by hand or belongs to another command
(a ``compare`` output copied over a coverage summary); reading it on would
print "Weighted coverage is 500.0%" or "—". :func:`check_summary` refuses it
instead, naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from netplan.errors import InputError, Problem

__all__ = ["check_summary"]

SummaryKind = Literal["coverage", "plan"]

#: Keys every coverage summary (and a plan's ``before``/``after``) holds.
COVERAGE_KEYS = ("n_demand", "total_weight", "weighted_coverage_rate")
#: Keys every plan summary holds.
PLAN_KEYS = ("model", "status")
#: Keys of the JSON ``netplan compare --json`` writes: a sign the file is one.
COMPARE_KEYS = frozenset({"a", "b", "kpis", "sites_by_tier"})
#: Slack on rates: a rate written as 1.0000000001 is still a rate.
_RATE_SLACK = 1e-9
#: Which command writes each kind of folder, for the message.
_COMMANDS = {"coverage": "netplan coverage", "plan": "netplan optimize"}


def check_summary(data: Mapping[str, Any], path: str | Path, kind: SummaryKind) -> None:
    """Raise when a ``summary.json`` read back is not one netplan wrote.

    Parameters
    ----------
    data
        The parsed JSON object.
    path
        The file, for the message.
    kind
        ``"coverage"`` (``netplan coverage``) or ``"plan"`` (``netplan optimize``).

    Raises
    ------
    InputError
        Naming the file and the key: a required key missing, a summary of
        another kind, or an impossible value (a rate outside 0..1, a negative
        count or weight, NaN, an infinity).
    """
    name = str(path)
    command = _COMMANDS[kind]

    def fail(message: str) -> InputError:
        return InputError(
            [Problem(name, None, None, f"{message}; write the folder again with `{command}`")]
        )

    if set(data) >= COMPARE_KEYS:
        raise fail(f"is a `netplan compare` output, not the summary of `{command}`")
    required = COVERAGE_KEYS if kind == "coverage" else PLAN_KEYS
    missing = [key for key in required if key not in data]
    if missing:
        what = "empty" if not data else f"missing {', '.join(f'`{k}`' for k in missing)}"
        raise fail(f"is not a summary of `{command}` ({what})")
    if kind == "plan":
        for side in ("before", "after"):
            block = data.get(side)
            if block is None:
                continue
            if not isinstance(block, Mapping):
                raise fail(f"`{side}` must be an object, got {type(block).__name__}")
            absent = [key for key in COVERAGE_KEYS if key not in block]
            if absent:
                raise fail(f"`{side}` lacks {', '.join(f'`{k}`' for k in absent)}")
    problem = _first_impossible(data, "")
    if problem is not None:
        raise fail(problem)


def _first_impossible(value: Any, key: str) -> str | None:
    """Return what is wrong with the first impossible value under ``key``, or ``None``."""
    if isinstance(value, Mapping):
        for child, item in value.items():
            found = _first_impossible(item, f"{key}.{child}" if key else str(child))
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for position, item in enumerate(value):
            found = _first_impossible(item, f"{key}[{position}]")
            if found is not None:
                return found
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number):
        return f"`{key}` is {value!r}, which netplan never writes"
    last = key.rsplit(".", 1)[-1]
    if last.endswith("_rate") and not -_RATE_SLACK <= number <= 1 + _RATE_SLACK:
        return f"`{key}` is {number:g}, not a rate from 0 to 1"
    if (last.startswith("n_") or last.endswith("weight") or last == "gap") and number < 0:
        return f"`{key}` is {number:g}, but it cannot be negative"
    return None
