r"""Lagrangian relaxation of the tiered model's coverage rows: a bound, fixing and a heuristic.

The uncapacitated tiered model (over its site columns :math:`y` and merged
demand rows :math:`z`) is

.. math::

    \min c^\top y \;\text{s.t.}\; w^\top z \ge N
    \quad\text{or}\quad
    \max w^\top z \;\text{s.t.}\; c^\top y \le B,

with the coverage rows :math:`z_i \le \sum_{j \in N(i)} y_j` (multipliers
:math:`\lambda_i \ge 0`), the support rows :math:`y_k \le \sum_{h \in P(k)} y_h`
(:math:`\mu_k \ge 0`) and the count rows :math:`G y \le g` (site count ``p``,
counts per tier, and a budget on a min-cost model; :math:`\nu \ge 0`).
Relaxing all of them leaves a problem that splits:

* the sites: each free column is open when its reduced cost
  :math:`r_j = c_j - \sum_i \lambda_i a_{ij} + \mu_j - \sum_{k: j \in P(k)} \mu_k
  + \sum_r \nu_r g_{rj}` is negative (min cost); under a budget (max
  coverage) the budget row stays and is priced by one more multiplier
  :math:`\beta \ge 0`, chosen where the fractional knapsack puts it;
* the demand rows: a continuous knapsack :math:`\min \sum_i \lambda_i z_i`
  s.t. :math:`w^\top z \ge N` (min cost), or :math:`z_i = 1` exactly when
  :math:`w_i > \lambda_i` (max coverage).

For any non-negative multipliers the value of the split problem is a bound
(a lower bound on the cheapest plan, an upper bound on the best coverage);
subgradient steps (Polyak step towards the incumbent, step factor halved when
the bound stalls) drive it towards the LP bound. Three uses:

* **the bound** itself, kept when it beats the MILP solver's;
* **reduced-cost fixing**: a column whose flip would move the bound past the
  incumbent cannot be in any plan strictly better than the incumbent, so it
  is fixed before the MILP (the incumbent itself stays feasible);
* **a Lagrangian heuristic**: the split problem's sites, repaired into a plan
  (parents added, coverage or budget restored) and improved by the local
  search of :mod:`netplan.locate.heuristics`, feed the MILP start.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from netplan.locate.heuristics import (
    CoverNeighbourhood,
    improve_max_coverage,
    improve_min_cost,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["LagrangianProblem", "LagrangianResult", "dominated_columns", "lagrangian_bound"]

#: Relative tolerance under which a flip is not counted as crossing the incumbent.
FIX_TOLERANCE = 1e-7


@dataclass
class LagrangianProblem:
    """The uncapacitated tiered model over its columns, as the relaxation sees it.

    Attributes
    ----------
    space
        The columns, merged rows, costs, forced and chained columns, parents
        and count limits (the local search's view of the same model).
    maximize
        ``True`` for maximum coverage within ``budget``; ``False`` for minimum
        cost covering ``needed``.
    needed
        Weight of merged rows to cover (min cost).
    budget
        Most cost of the columns (max coverage: the knapsack row; min cost: a
        count row like the others); ``None`` for none.
    row_lower
        Lower bound of every row's ``z`` (1 when a target asks for every row).
    offset
        Constant of the model's objective (kept sites' cost or kept coverage).
    """

    space: CoverNeighbourhood
    maximize: bool
    needed: float | None
    budget: float | None
    row_lower: NDArray[np.float64]
    offset: float
    side: NDArray[np.float64] = field(init=False)
    side_limit: NDArray[np.float64] = field(init=False)
    chained: NDArray[np.int64] = field(init=False)
    parents_of_chained: sp.csr_array = field(init=False)
    parents_by_column: sp.csr_array = field(init=False)

    def __post_init__(self) -> None:
        space = self.space
        n_y = len(space.cost)
        rows: list[NDArray[np.float64]] = []
        limits: list[float] = []
        if space.p is not None:
            rows.append(np.ones(n_y))
            limits.append(float(space.p))
        for tier, limit in sorted(space.tier_limits.items()):
            rows.append((space.tiers == tier).astype(np.float64))
            limits.append(float(limit))
        if self.budget is not None and not self.maximize:
            rows.append(space.cost.astype(np.float64))
            limits.append(float(self.budget))
        self.side = np.vstack(rows) if rows else np.zeros((0, n_y))
        self.side_limit = np.asarray(limits, dtype=np.float64)
        self.chained = np.flatnonzero(space.chained).astype(np.int64)
        # Support rows over the chained columns: y_k - sum_{h in P(k)} y_h <= 0.
        self.parents_of_chained = sp.csr_array(space.parents[self.chained])
        self.parents_by_column = sp.csr_array(self.parents_of_chained.T)

    def fits(self, is_open: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Return, per column, whether opening it keeps every count row (and a min-cost budget)."""
        if self.side.shape[0] == 0:
            return np.ones(self.n_columns, dtype=bool)
        room = self.side_limit - self.side @ is_open.astype(np.float64)
        slack = 1e-9 * np.maximum(1.0, np.abs(self.side_limit))
        return np.asarray(((self.side - room[:, None]) <= slack[:, None]).all(axis=0))

    @property
    def n_columns(self) -> int:
        """Return the number of site columns."""
        return len(self.space.cost)

    def feasible(self, is_open: NDArray[np.bool_]) -> bool:
        """Return ``True`` when ``is_open`` keeps every row: forced, support, counts, limits."""
        space = self.space
        if (space.forced & ~is_open).any() or (is_open & ~space.supported(is_open)).any():
            return False
        if self.side.shape[0]:
            slack = 1e-9 * np.maximum(1.0, np.abs(self.side_limit))
            if (self.side @ is_open.astype(np.float64) > self.side_limit + slack).any():
                return False
        if self.maximize and self.budget is not None:
            spent = float(space.cost[is_open].sum())
            if spent > self.budget + 1e-9 * max(1.0, abs(self.budget)):
                return False
        if self.needed is not None:
            covered = float(space.weight[space.counts(is_open) > 0].sum())
            if covered < self.needed - 1e-9 * max(1.0, self.needed):
                return False
        return True

    def value(self, is_open: NDArray[np.bool_]) -> float:
        """Return a plan's objective (cost or covered weight), the offset included."""
        if self.maximize:
            covered = self.space.counts(is_open) > 0
            return float(self.space.weight[covered].sum()) + self.offset
        return float(self.space.cost[is_open].sum()) + self.offset


@dataclass
class LagrangianResult:
    """What the relaxation found.

    Attributes
    ----------
    bound
        The best bound (a lower bound on the cost, or an upper bound on the
        coverage), the offset included.
    plan
        The best plan the heuristic and the given start reached (open columns).
    plan_value
        Its objective, the offset included.
    fixed_closed, fixed_open
        Columns proven closed (open) in every plan strictly better than ``plan``
        (closed: also the columns :func:`dominated_columns` finds).
    iterations
        Subgradient steps taken.
    seconds
        Wall time.
    """

    bound: float
    plan: NDArray[np.bool_]
    plan_value: float
    fixed_closed: NDArray[np.bool_]
    fixed_open: NDArray[np.bool_]
    iterations: int
    seconds: float


@dataclass
class _Multipliers:
    cover: NDArray[np.float64]
    support: NDArray[np.float64]
    side: NDArray[np.float64]

    def copy(self) -> _Multipliers:
        return _Multipliers(self.cover.copy(), self.support.copy(), self.side.copy())


@dataclass
class _Split:
    """The split problem's solution at one set of multipliers."""

    value: float
    is_open: NDArray[np.bool_]
    z: NDArray[np.float64]
    # Per column: what the bound moves by when the column is flipped from its value here.
    flip: NDArray[np.float64]


def _reduced_costs(problem: LagrangianProblem, m: _Multipliers) -> NDArray[np.float64]:
    """Return every column's Lagrangian cost (min sense: lower is more attractive)."""
    space = problem.space
    reduced = -(space.by_column @ m.cover)
    reduced[problem.chained] += m.support
    reduced -= problem.parents_by_column @ m.support
    if problem.side.shape[0]:
        reduced += m.side @ problem.side
    if not problem.maximize:
        reduced += space.cost
    return np.asarray(reduced, dtype=np.float64)


def _solve_split(problem: LagrangianProblem, m: _Multipliers) -> _Split:
    """Return the split problem's optimum (a valid bound) at multipliers ``m``."""
    space = problem.space
    forced = space.forced
    free = ~forced
    reduced = _reduced_costs(problem, m)
    side_term = float(m.side @ problem.side_limit)
    if not problem.maximize:
        # Sites: open the free columns with a negative Lagrangian cost.
        is_open = forced | (free & (reduced < 0))
        site_value = float(reduced[is_open].sum())
        z, z_value = _cheapest_rows(m.cover, space.weight, problem.row_lower, problem.needed)
        value = site_value + z_value - side_term + problem.offset
        flip = np.abs(reduced)
        flip[forced] = np.inf
        return _Split(value, is_open, z, flip)
    # Max coverage: profit of a column is -reduced; the budget row is priced by beta.
    profit = -reduced
    beta = 0.0
    if problem.budget is not None:
        spare = problem.budget - float(space.cost[forced].sum())
        beta = _knapsack_price(profit[free], space.cost[free], spare)
    priced = profit - beta * space.cost
    is_open = forced | (free & (priced > 0))
    site_value = float(priced[is_open].sum())
    if problem.budget is not None:
        site_value += beta * problem.budget
    gain = space.weight - m.cover
    z = np.where(gain > 0, 1.0, problem.row_lower)
    z_value = float((gain * z).sum())
    value = site_value + z_value + side_term + problem.offset
    flip = np.abs(priced)
    flip[forced] = np.inf
    return _Split(value, is_open, z, flip)


def _cheapest_rows(
    price: NDArray[np.float64],
    weight: NDArray[np.float64],
    lower: NDArray[np.float64],
    needed: float | None,
) -> tuple[NDArray[np.float64], float]:
    """Return the rows' cheapest fractional cover of ``needed`` weight at ``price`` per row."""
    z = lower.copy()
    short = (needed or 0.0) - float(weight @ z)
    if short > 0:
        # Rows at their lower bound 0, cheapest price per unit of weight first.
        open_rows = np.flatnonzero(z < 1)
        order = open_rows[np.argsort(price[open_rows] / weight[open_rows], kind="stable")]
        cumulative = np.cumsum(weight[order])
        full = int(np.searchsorted(cumulative, short, side="left"))
        z[order[:full]] = 1.0
        if full < len(order):
            before = float(cumulative[full - 1]) if full > 0 else 0.0
            z[order[full]] = (short - before) / float(weight[order[full]])
    return z, float(price @ z)


def _knapsack_price(profit: NDArray[np.float64], cost: NDArray[np.float64], spare: float) -> float:
    """Return the budget's price in the fractional knapsack (any price >= 0 gives a valid bound)."""
    paying = (cost > 0) & (profit > 0)
    if not paying.any():
        return 0.0
    ratio = profit[paying] / cost[paying]
    order = np.argsort(-ratio, kind="stable")
    cumulative = np.cumsum(cost[paying][order])
    spare -= float(cost[(cost <= 0) & (profit > 0)].sum())
    critical = int(np.searchsorted(cumulative, spare, side="right"))
    if critical >= len(order):
        return 0.0
    return float(max(ratio[order[critical]], 0.0))


def _subgradient(
    problem: LagrangianProblem, m: _Multipliers, split: _Split
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Return the violation of each relaxed row (cover, support, count) by the split solution."""
    space = problem.space
    y = split.is_open.astype(np.float64)
    cover = split.z - space.cover @ y
    support = y[problem.chained] - problem.parents_of_chained @ y
    side = problem.side @ y - problem.side_limit if problem.side.shape[0] else np.zeros(0)
    return (
        np.asarray(cover, dtype=np.float64),
        np.asarray(support, dtype=np.float64),
        np.asarray(side, dtype=np.float64),
    )


def _first_multipliers(problem: LagrangianProblem, reference: float) -> _Multipliers:
    """Return starting multipliers: every row priced at one cost per unit of weight."""
    space = problem.space
    n_chained = len(problem.chained)
    if problem.maximize:
        cover = 0.5 * space.weight
    else:
        needed = max(problem.needed or 0.0, 1e-9)
        per_weight = max(reference - problem.offset, 0.0) / needed
        cover = 0.5 * per_weight * space.weight
    return _Multipliers(cover, np.zeros(n_chained), np.zeros(problem.side.shape[0]))


def _better(problem: LagrangianProblem, a: float, b: float) -> bool:
    """Return ``True`` when bound ``a`` is tighter than bound ``b``."""
    return a < b if problem.maximize else a > b


def lagrangian_bound(
    problem: LagrangianProblem,
    start: NDArray[np.bool_],
    *,
    time_limit: float = 5.0,
    max_iterations: int = 3000,
    heuristic_every: int = 50,
    integral_step: float = 0.0,
) -> LagrangianResult:
    """Return the Lagrangian bound, the columns it fixes and the best plan the heuristic found.

    Parameters
    ----------
    problem
        The model.
    start
        A feasible plan (open columns); the incumbent the steps aim at.
    time_limit
        Seconds for the subgradient loop and the heuristic together.
    max_iterations
        Most subgradient steps.
    heuristic_every
        Repair the split solution into a plan every this many steps (and at
        every better bound).
    integral_step
        When every plan's objective is a multiple of this amount (0: unknown),
        a plan strictly better than the incumbent is better by at least it;
        fixing then uses it.

    Returns
    -------
    LagrangianResult
        The bound, the best plan and the fixed columns.
    """
    started = time.perf_counter()
    plan = start.copy()
    plan_value = problem.value(plan)
    m = _first_multipliers(problem, plan_value)
    split = _solve_split(problem, m)
    best = split
    factor, stalled, iteration = 2.0, 0, 0
    scale = max(1.0, abs(plan_value))
    while iteration < max_iterations and time.perf_counter() - started < time_limit:
        iteration += 1
        g_cover, g_support, g_side = _subgradient(problem, m, split)
        norm = float(g_cover @ g_cover + g_support @ g_support + g_side @ g_side)
        distance = abs(split.value - plan_value)
        if norm <= 1e-12 or distance <= 1e-9 * scale:
            break
        step = factor * distance / norm
        m.cover = np.maximum(m.cover + step * g_cover, 0.0)
        m.support = np.maximum(m.support + step * g_support, 0.0)
        m.side = np.maximum(m.side + step * g_side, 0.0)
        split = _solve_split(problem, m)
        if _better(problem, split.value, best.value):
            improved = abs(split.value - best.value) > 1e-6 * scale
            best = split
            stalled = 0 if improved else stalled + 1
        else:
            stalled += 1
        if stalled >= 20:
            factor /= 2.0
            stalled = 0
            if factor < 1e-4:
                break
        if heuristic_every and iteration % heuristic_every == 0:
            plan, plan_value = _keep_better(problem, plan, plan_value, split.is_open)
    # One more repair from the best multipliers' sites.
    plan, plan_value = _keep_better(problem, plan, plan_value, best.is_open)
    dominated = dominated_columns(problem.space)
    if (plan & dominated).any():
        plan = plan & ~dominated
        plan_value = problem.value(plan)
    fixed_closed, fixed_open = _fixings(problem, best, plan, plan_value, integral_step)
    fixed_closed |= dominated
    fixed_open &= ~dominated
    return LagrangianResult(
        bound=best.value,
        plan=plan,
        plan_value=plan_value,
        fixed_closed=fixed_closed,
        fixed_open=fixed_open,
        iterations=iteration,
        seconds=time.perf_counter() - started,
    )


def dominated_columns(space: CoverNeighbourhood) -> NDArray[np.bool_]:
    """Return the chained columns no plan needs: every parent covers all they cover.

    Such a column (a community point, say, whose every possible station covers
    its whole neighbourhood) adds no coverage once its parent is open, and no
    other column needs it as a parent; closing it keeps every row of a plan
    and saves its cost, so no best plan opens it (cost above 0, not forced).
    """
    parents = sp.csr_array(space.parents, dtype=np.float64)
    parents.data[:] = 1.0
    n_parents = np.diff(parents.indptr)
    is_parent = np.asarray(parents.T @ space.chained.astype(np.float64)) > 0
    cover = sp.csr_array(space.cover, dtype=np.float64)
    # For every entry (row i, column j): how many of j's parents cover row i too.
    shared = sp.csr_array(cover @ parents.T)
    rows = np.repeat(np.arange(cover.shape[0]), np.diff(cover.indptr))
    columns = cover.indices
    hits = np.asarray(shared[rows, columns]).ravel()
    own = np.bincount(columns[hits < n_parents[columns]], minlength=cover.shape[1])
    candidates = space.chained & ~space.forced & (space.cost > 0) & (n_parents > 0)
    return np.asarray(candidates & ~is_parent & (own == 0), dtype=bool)


def _keep_better(
    problem: LagrangianProblem,
    plan: NDArray[np.bool_],
    plan_value: float,
    sites: NDArray[np.bool_],
) -> tuple[NDArray[np.bool_], float]:
    """Return the repair of ``sites`` if it is feasible and better than ``plan``, else ``plan``."""
    candidate = repair(problem, sites)
    if candidate is None or not problem.feasible(candidate):
        return plan, plan_value
    value = problem.value(candidate)
    if _better(problem, plan_value, value):
        return candidate, value
    return plan, plan_value


def _fixings(
    problem: LagrangianProblem,
    best: _Split,
    plan: NDArray[np.bool_],
    incumbent: float,
    integral_step: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Return the columns whose flip moves the bound past the incumbent (closed, open).

    A plan with column ``j`` flipped from its value in the split solution is
    worth at most (max) / at least (min) ``bound -/+ flip[j]``; when that is
    worse than the incumbent by more than the tolerance (less one integral
    step), no plan strictly better than the incumbent flips ``j``.
    """
    margin = FIX_TOLERANCE * max(1.0, abs(incumbent)) - max(integral_step, 0.0)
    if problem.maximize:
        beyond = best.value - best.flip < incumbent - margin
    else:
        beyond = best.value + best.flip > incumbent + margin
    beyond &= np.isfinite(best.flip) & ~problem.space.forced
    # The incumbent stays feasible: a column is fixed only to the incumbent's own value.
    closed = beyond & ~best.is_open & ~plan
    opened = beyond & best.is_open & plan
    return closed, opened


def repair(problem: LagrangianProblem, is_open: NDArray[np.bool_]) -> NDArray[np.bool_] | None:
    """Return a plan made from ``is_open``, improved by the local search; ``None`` if stuck.

    Chained columns without an open parent get their cheapest parent (or
    close); then a min-cost plan is completed greedily to the needed weight
    (weight gained per unit cost), a max-coverage plan is trimmed to the
    budget and counts (least weight lost per unit cost first); then the local
    search of :mod:`netplan.locate.heuristics` improves it.
    """
    space = problem.space
    plan = (is_open | space.forced).copy()
    plan = _support(space, plan)
    if problem.maximize:
        plan = _trim(problem, plan)
        return improve_max_coverage(space, plan, _budget(problem), time_limit=2.0)
    plan = _trim_counts(problem, plan)
    completed = _complete(problem, plan)
    if completed is None:
        return None
    return improve_min_cost(space, completed, problem.needed or 0.0, time_limit=2.0)


def _budget(problem: LagrangianProblem) -> float:
    return math.inf if problem.budget is None else problem.budget


def _support(space: CoverNeighbourhood, plan: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Give every open chained column a parent (its cheapest), top tier down; close the rest."""
    for _ in range(len(plan)):
        lacking = np.flatnonzero(plan & ~space.supported(plan) & ~space.forced)
        if lacking.size == 0:
            return plan
        column = int(lacking[0])
        parents = space.parents.indices[
            space.parents.indptr[column] : space.parents.indptr[column + 1]
        ]
        if parents.size == 0:
            plan[column] = False
            continue
        cheapest = int(parents[np.argmin(space.cost[parents])])
        plan[cheapest] = True
    return plan


def _trim_counts(problem: LagrangianProblem, plan: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Close columns (least unique weight per cost first) until every count row holds."""
    for _ in range(len(plan)):
        if problem.side.shape[0] == 0:
            return plan
        excess = problem.side @ plan.astype(np.float64) - problem.side_limit
        if (excess <= 1e-9).all():
            return plan
        if not _drop_one(problem.space, plan):
            return plan
    return plan


def _trim(problem: LagrangianProblem, plan: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Close columns until the budget and the counts hold (least weight lost per cost first)."""
    budget = _budget(problem)
    space = problem.space
    for _ in range(len(plan)):
        spent = float(space.cost[plan].sum())
        over_counts = bool(
            ((problem.side @ plan.astype(np.float64) - problem.side_limit) > 1e-9).any()
        )
        if spent <= budget + 1e-9 * max(1.0, abs(budget)) and not over_counts:
            return plan
        if not _drop_one(space, plan):
            return plan
    return plan


def _drop_one(space: CoverNeighbourhood, plan: NDArray[np.bool_]) -> bool:
    """Close the removable column losing least unique weight per unit cost; ``False``: none."""
    counts = space.counts(plan)
    candidates = np.flatnonzero(plan & ~space.forced & (space.cost > 0))
    if candidates.size == 0:
        return False
    only = np.where(counts == 1, space.weight, 0.0)
    lost = space.by_column[candidates] @ only
    order = candidates[np.argsort(lost / space.cost[candidates], kind="stable")]
    for column in order.tolist():
        if space.removable(plan, column):
            plan[column] = False
            return True
    return False


def _complete(problem: LagrangianProblem, plan: NDArray[np.bool_]) -> NDArray[np.bool_] | None:
    """Open supported columns by uncovered weight per unit cost until the needed weight is met."""
    space = problem.space
    needed = problem.needed or 0.0
    counts = space.counts(plan)
    for _ in range(len(plan)):
        uncovered = np.where(counts > 0, 0.0, space.weight)
        short = needed - float(space.weight.sum() - uncovered.sum())
        if short <= 0:
            return plan
        gain = space.by_column @ uncovered
        eligible = ~plan & (gain > 0) & space.supported(plan)
        eligible &= problem.fits(plan)
        if not eligible.any():
            return None
        score = np.where(eligible, np.minimum(gain, short) / np.maximum(space.cost, 1e-9), -np.inf)
        column = int(np.argmax(score))
        plan[column] = True
        counts[space.rows_of(column)] += 1
    return None
