"""Site values as planners write them: tier labels, Chinese statuses, Chinese headers.

A sites file exported from a Chinese system says ``城市服务站`` where the
scenario's tier key is ``city_station``, ``现有`` where netplan says
``existing``, and heads its columns ``网点类型``/``状态``/``名称``. This module
turns those into netplan's values before validation:

* a **tier** value may be the tier key, its ``label`` or its ``label_zh``;
* a **status** value may be netplan's English word or a Chinese one
  (:data:`STATUS_ALIASES`);
* both are compared after :func:`canonical_text`: Unicode NFKC (full-width
  letters and digits become ASCII), case folded, spaces removed;
* unknown values are left as they are, and validation reports them with the
  accepted values and a "did you mean" (:func:`unknown_tier_message`,
  :func:`unknown_status_message`).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netplan.config import Scenario

__all__ = [
    "HEADER_ALIASES",
    "STATUS_ALIASES",
    "canonical_text",
    "did_you_mean",
    "normalise_statuses",
    "normalise_tiers",
    "status_lookup",
    "tier_lookup",
    "unknown_status_message",
    "unknown_tier_message",
]

#: Chinese words accepted for each site status (besides the English status itself).
STATUS_ALIASES: Mapping[str, tuple[str, ...]] = {
    "existing": ("现有", "已有", "在营"),
    "candidate": ("候选",),
    "required": ("必选", "必建"),
    "closed": ("关闭", "已关闭", "撤销"),
    "competitor": ("竞品", "竞争对手"),
}

#: Column headers read as a sites file's ``tier``, ``status`` and ``name`` when the file
#: has no column of that name (compared by :func:`canonical_text`), in order of preference.
HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "tier": ("网点类型", "类型", "层级"),
    "status": ("状态",),
    "name": ("网点名称", "名称"),
}


def canonical_text(value: str) -> str:
    """Return ``value`` as values are compared: NFKC, case-folded, without any spaces.

    Examples
    --------
    >>> canonical_text(" Ｃｉｔｙ  Station ")
    'citystation'
    >>> canonical_text("城市 服务站")
    '城市服务站'
    """
    text = unicodedata.normalize("NFKC", value).casefold()
    return "".join(text.split()).replace("_", "").replace("-", "")


def tier_lookup(scenario: Scenario) -> dict[str, str]:
    """Return every accepted spelling of the scenario's tiers, canonical text → tier key."""
    lookup: dict[str, str] = {}
    for key, tier in scenario.tiers.items():
        for spelling in (tier.label_zh, tier.label, key):  # the key wins a clash
            lookup[canonical_text(spelling)] = key
    return lookup


def status_lookup() -> dict[str, str]:
    """Return every accepted spelling of the site statuses, canonical text → status."""
    lookup: dict[str, str] = {}
    for status, aliases in STATUS_ALIASES.items():
        for spelling in (*aliases, status):
            lookup[canonical_text(spelling)] = status
    return lookup


def _normalise(values: Iterable[Any], lookup: Mapping[str, str]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            out.append(lookup.get(canonical_text(value), value))
        else:
            out.append(value)
    return out


def normalise_tiers(values: Iterable[Any], scenario: Scenario) -> list[Any]:
    """Return tier values as tier keys where they spell one; others (and non-text) unchanged.

    Examples
    --------
    >>> from netplan.config import default_scenario
    >>> values = ["城市服务站", " Regional HUB", "ｃｉｔｙ＿ｓｔａｔｉｏｎ", "x"]
    >>> normalise_tiers(values, default_scenario())
    ['city_station', 'regional_hub', 'city_station', 'x']
    """
    return _normalise(values, tier_lookup(scenario))


def normalise_statuses(values: Iterable[Any]) -> list[Any]:
    """Return status values as netplan's statuses where they spell one; others unchanged.

    Examples
    --------
    >>> normalise_statuses(["现有", "候选", " Existing ", "必建", "撤销", "竞品", "open"])
    ['existing', 'candidate', 'existing', 'required', 'closed', 'competitor', 'open']
    """
    return _normalise(values, status_lookup())


def did_you_mean(value: str, lookup: Mapping[str, str], *, show: Mapping[str, str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest accepted spelling, or ``""``.

    Parameters
    ----------
    value
        The unknown value as written.
    lookup
        Accepted spellings (canonical text) → the value they stand for.
    show
        How to show each value the suggestion names (value → text).
    """
    close = difflib.get_close_matches(canonical_text(value), list(lookup), n=1, cutoff=0.5)
    if not close:
        return ""
    target = lookup[close[0]]
    return f" (did you mean '{show.get(target, target)}'?)"


def unknown_tier_message(value: str, scenario: Scenario) -> str:
    """Return the message for a tier value the scenario does not define."""
    keys = {key: key for key in scenario.tiers}
    hint = did_you_mean(value, tier_lookup(scenario), show=keys)
    labels = [
        "/".join(dict.fromkeys((tier.label, tier.label_zh))) for tier in scenario.tiers.values()
    ]
    return (
        f"tier '{value}' is not defined in the scenario ({scenario.source}){hint}; "
        f"defined tiers: {', '.join(keys)} (or their labels: {', '.join(labels)})"
    )


def unknown_status_message(value: str) -> str:
    """Return the message for a status value that is not one of netplan's."""
    hint = did_you_mean(value, status_lookup(), show={s: s for s in STATUS_ALIASES})
    chinese = ", ".join(
        f"{'/'.join(aliases)} = {status}" for status, aliases in STATUS_ALIASES.items()
    )
    return (
        f"unknown status '{value}'{hint}; use one of {', '.join(STATUS_ALIASES)} "
        f"(or in Chinese: {chinese})"
    )
