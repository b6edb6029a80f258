"""Local search for the tiered model's plans: drop what is not needed, then swap for cheaper.

The MILP solver gets a good incumbent early (its start) and a time-limited
solve gets its incumbent polished before it is reported. Every move keeps the
plan feasible: coverage of at least the needed weight, every new site of a
chained tier with an open parent, the site counts and the budget; forced
sites never move. The result is only ever as good as or better than the plan
given, and the caller evaluates it exactly from the reach matrix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["CoverNeighbourhood", "improve_max_coverage", "improve_min_cost"]


@dataclass
class CoverNeighbourhood:
    """The parts of a tiered model a local search moves in (over the model's columns).

    Attributes
    ----------
    cover
        Merged demand rows × columns, CSR (1 where the column covers the row).
    weight
        Weight of every merged row.
    cost
        Net cost of opening every column.
    forced
        Columns that stay open.
    chained
        Columns that need an open parent column.
    parents
        Columns × columns, CSR: entry ``(j, h)`` when ``h`` can support ``j``.
    tiers
        Tier of every column (for per-tier counts).
    tier_limits
        Most open columns per tier.
    p
        Most open columns in total (``None``: no limit).
    """

    cover: sp.csr_array
    weight: NDArray[np.float64]
    cost: NDArray[np.float64]
    forced: NDArray[np.bool_]
    chained: NDArray[np.bool_]
    parents: sp.csr_array
    tiers: NDArray[Any]
    tier_limits: dict[str, int]
    p: int | None

    def __post_init__(self) -> None:
        self.by_column = sp.csr_array(self.cover.T)
        self.children = sp.csr_array(self.parents.T)

    def counts(self, is_open: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Return how many open columns cover every row."""
        return np.asarray(self.cover @ is_open.astype(np.float64))

    def rows_of(self, column: int) -> NDArray[np.int32]:
        """Return the rows ``column`` covers."""
        start, end = self.by_column.indptr[column], self.by_column.indptr[column + 1]
        return np.asarray(self.by_column.indices[start:end])

    def supported(self, is_open: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Return, per column, whether it may be open (no chain, or an open parent)."""
        has_parent = np.asarray(self.parents @ is_open.astype(np.float64)) > 0
        return np.asarray(~self.chained | has_parent, dtype=bool)

    def removable(self, is_open: NDArray[np.bool_], column: int) -> bool:
        """Return ``True`` when closing ``column`` leaves every open chained child a parent."""
        start, end = self.children.indptr[column], self.children.indptr[column + 1]
        kids = self.children.indices[start:end]
        kids = kids[is_open[kids] & self.chained[kids]]
        if kids.size == 0:
            return True
        others = is_open.copy()
        others[column] = False
        return bool(((self.parents[kids] @ others.astype(np.float64)) > 0).all())

    def limits_allow(self, is_open: NDArray[np.bool_], column: int) -> bool:
        """Return ``True`` when opening ``column`` keeps the total and per-tier counts."""
        if self.p is not None and int(is_open.sum()) + 1 > self.p:
            return False
        tier = self.tiers[column]
        limit = self.tier_limits.get(tier)
        return limit is None or int((is_open & (self.tiers == tier)).sum()) + 1 <= limit


def improve_min_cost(
    space: CoverNeighbourhood,
    is_open: NDArray[np.bool_],
    needed: float,
    *,
    time_limit: float = 5.0,
) -> NDArray[np.bool_]:
    """Return a plan covering at least ``needed`` weight that costs no more than ``is_open``.

    Moves, repeated until none helps or ``time_limit`` seconds pass:

    * **drop**: close an open site (dearest first) when coverage stays at
      ``needed`` and no open site loses its last parent;
    * **drop and refill**: close one dear site, then reopen greedily by weight
      gained per unit cost among supported sites, keeping the result when it
      is cheaper.
    """
    started = time.perf_counter()
    best = _drop(space, is_open.copy(), needed)
    best_cost = float(space.cost[best].sum())
    improved = True
    while improved and time.perf_counter() - started < time_limit:
        improved = False
        order = np.flatnonzero(best & ~space.forced)
        order = order[np.argsort(-space.cost[order], kind="stable")]
        for column in order.tolist():
            if time.perf_counter() - started >= time_limit:
                break
            if not space.removable(best, column):
                continue
            reduced = best.copy()
            reduced[column] = False
            banned = np.zeros(len(reduced), dtype=bool)
            banned[column] = True
            refilled = _refill(space, reduced, needed, banned, best_cost)
            if refilled is None:
                continue
            trial = _drop(space, refilled, needed)
            cost = float(space.cost[trial].sum())
            if cost < best_cost - 1e-9 * max(1.0, abs(best_cost)):
                best, best_cost, improved = trial, cost, True
                break
    return best


def _drop(
    space: CoverNeighbourhood, is_open: NDArray[np.bool_], needed: float
) -> NDArray[np.bool_]:
    """Close every open site, dearest first, that the plan does without."""
    counts = space.counts(is_open)
    covered = float(space.weight[counts > 0].sum())
    order = np.flatnonzero(is_open & ~space.forced)
    for column in order[np.argsort(-space.cost[order], kind="stable")].tolist():
        if space.cost[column] <= 0:
            continue
        rows = space.rows_of(column)
        lost = float(space.weight[rows[counts[rows] == 1]].sum())
        if covered - lost < needed or not space.removable(is_open, column):
            continue
        is_open[column] = False
        counts[rows] -= 1
        covered -= lost
    return is_open


def _refill(
    space: CoverNeighbourhood,
    is_open: NDArray[np.bool_],
    needed: float,
    banned: NDArray[np.bool_],
    ceiling: float,
) -> NDArray[np.bool_] | None:
    """Open sites greedily until ``needed`` is covered; ``None`` past ``ceiling`` or stuck."""
    counts = space.counts(is_open)
    spent = float(space.cost[is_open].sum())
    while True:
        uncovered = np.where(counts > 0, 0.0, space.weight)
        covered = float(space.weight.sum() - uncovered.sum())
        if covered >= needed:
            return is_open
        gain = space.by_column @ uncovered
        eligible = ~is_open & ~banned & (gain > 0) & space.supported(is_open)
        if not eligible.any():
            return None
        short = needed - covered
        # Weight gained per unit cost, but never credit more weight than is still needed.
        score = np.where(eligible, np.minimum(gain, short) / np.maximum(space.cost, 1e-9), -np.inf)
        for column in np.argsort(-score, kind="stable")[:8].tolist():
            if not eligible[column]:
                break
            if space.limits_allow(is_open, column):
                break
        else:
            return None
        if not eligible[column] or not space.limits_allow(is_open, column):
            return None
        spent += float(space.cost[column])
        if spent >= ceiling:
            return None
        is_open[column] = True
        counts[space.rows_of(column)] += 1


def improve_max_coverage(
    space: CoverNeighbourhood,
    is_open: NDArray[np.bool_],
    budget: float,
    *,
    time_limit: float = 5.0,
) -> NDArray[np.bool_]:
    """Return a plan within ``budget`` covering at least as much weight as ``is_open``.

    Moves, repeated until none helps or ``time_limit`` seconds pass:

    * **fill**: open supported sites greedily by uncovered weight gained per
      unit cost while the budget and the counts allow;
    * **drop and fill**: close one open site (least weight lost first), fill
      again without it, and keep the result when it covers more.
    """
    started = time.perf_counter()
    best = _fill(space, is_open.copy(), budget, np.zeros(len(is_open), dtype=bool))
    best_covered = _covered(space, best)
    improved = True
    while improved and time.perf_counter() - started < time_limit:
        improved = False
        counts = space.counts(best)
        order = np.flatnonzero(best & ~space.forced)
        lost = np.array([_unique_weight(space, counts, column) for column in order.tolist()])
        for column in order[np.argsort(lost, kind="stable")].tolist():
            if time.perf_counter() - started >= time_limit:
                break
            if not space.removable(best, column):
                continue
            trial = best.copy()
            trial[column] = False
            banned = np.zeros(len(trial), dtype=bool)
            banned[column] = True
            trial = _fill(space, trial, budget, banned)
            covered = _covered(space, trial)
            if covered > best_covered + 1e-9 * max(1.0, best_covered):
                best, best_covered, improved = trial, covered, True
                break
    return best


def _unique_weight(space: CoverNeighbourhood, counts: NDArray[np.float64], column: int) -> float:
    """Return the weight only ``column`` covers."""
    rows = space.rows_of(column)
    return float(space.weight[rows[counts[rows] == 1]].sum())


def _covered(space: CoverNeighbourhood, is_open: NDArray[np.bool_]) -> float:
    """Return the weight ``is_open`` covers."""
    return float(space.weight[space.counts(is_open) > 0].sum())


def _fill(
    space: CoverNeighbourhood,
    is_open: NDArray[np.bool_],
    budget: float,
    banned: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Open affordable supported sites greedily by weight gained per unit cost."""
    counts = space.counts(is_open)
    spent = float(space.cost[is_open].sum())
    while True:
        uncovered = np.where(counts > 0, 0.0, space.weight)
        gain = space.by_column @ uncovered
        eligible = ~is_open & ~banned & (gain > 0) & space.supported(is_open)
        eligible &= spent + space.cost <= budget + 1e-9 * max(1.0, abs(budget))
        if not eligible.any():
            return is_open
        score = np.where(eligible, gain / np.maximum(space.cost, 1e-9), -np.inf)
        chosen = -1
        for column in np.argsort(-score, kind="stable")[:16].tolist():
            if not eligible[column]:
                break
            if space.limits_allow(is_open, column):
                chosen = column
                break
        if chosen < 0:
            return is_open
        is_open[chosen] = True
        spent += float(space.cost[chosen])
        counts[space.rows_of(chosen)] += 1
