r"""Benders bound and variable fixing for the p-median problem.

The radius formulation of the p-median (García, Labbé & Marín 2011) has,
for every demand point, one variable per distinct distance level. Projected
onto the site variables :math:`y` it becomes, for every point :math:`i` and
every level :math:`D` among its distances, the optimality cut

.. math::

    \theta_i \;\ge\; D - \sum_{j:\, d_{ij} < D} (D - d_{ij})\, y_j ,

where :math:`\theta_i` is the distance from :math:`i` to its nearest open site
(Duran-Mateluna, Ales & Elloumi, *An efficient Benders decomposition for the
p-median problem*, EJOR 2023). Every cut is valid for every plan: if the
nearest open site lies at :math:`d^* \le D` the right side is at most
:math:`d^*`, otherwise it is :math:`D < d^*`. Over all levels the cuts give the
same LP bound as the radius formulation, with only :math:`n + m` columns.

This module solves that LP relaxation by cutting planes, separating exactly
(for a fractional :math:`y`, the most violated level of point :math:`i` is
the first at which the :math:`y` of its nearer sites add up to 1, found for
every point at once with cumulative sums), with in-out stabilisation around
a good plan. Its bound and reduced costs then fix sites: a closed site whose
reduced cost lifts the bound above a known plan's cost cannot be in any
better plan (and symmetrically for open sites). The caller solves the
remaining, much smaller, problem exactly.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from netplan.locate.solve import _import_highspy, new_highs

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["BendersBound", "BendersSolution", "p_median_benders", "p_median_bound"]


@dataclass
class BendersBound:
    """What the Benders LP proved.

    Attributes
    ----------
    lower
        A true lower bound on the p-median optimum (the LP relaxation's value
        over the cuts found; every cut is valid, so any subset gives a bound).
    fix_closed, fix_open
        Sites that no plan costing less than ``upper`` can open / can close.
    upper
        Cost of the plan the fixing was measured against.
    iterations, n_cuts, seconds
        Cutting-plane rounds, cuts added, wall time.
    converged
        ``True`` when no violated cut remained (the bound is the LP optimum).
    """

    lower: float
    fix_closed: NDArray[np.bool_]
    fix_open: NDArray[np.bool_]
    upper: float
    iterations: int
    n_cuts: int
    seconds: float
    converged: bool


class _Levels:
    """Every point's allowed sites sorted by distance, as flat arrays with row starts."""

    def __init__(
        self,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        dist: NDArray[np.float64],
        n_demand: int,
    ) -> None:
        order = np.lexsort((cols, dist, rows))
        self.rows = rows[order]
        self.cols = cols[order]
        self.dist = dist[order]
        counts = np.bincount(self.rows, minlength=n_demand)
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.n_demand = n_demand

    def nearest(self, open_mask: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Return each point's distance to its nearest open site (``inf`` for none)."""
        value = np.full(self.n_demand, np.inf)
        # Pairs are sorted by point then distance: a point's first open pair is its nearest.
        hits = np.flatnonzero(open_mask[self.cols])
        if hits.size:
            points = self.rows[hits]
            first = np.ones(len(hits), dtype=bool)
            first[1:] = points[1:] != points[:-1]
            value[points[first]] = self.dist[hits[first]]
        return value

    def critical(self, y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        r"""Return, per point, the most violated level ``D`` and the cut's value at ``y``.

        The cut value :math:`D - \sum_{d_{ij} < D} (D - d_{ij}) y_j` is concave in
        :math:`D` with slope :math:`1 - \sum_{d_{ij} < D} y_j`, so it peaks at the
        first level where the nearer ``y`` reach 1.
        """
        # Only pairs whose site has y > 0 move the cumulative sum: work on those alone.
        weight_y = y[self.cols]
        positive = weight_y > 1e-12
        rows, dist, share = self.rows[positive], self.dist[positive], weight_y[positive]
        cumulative = np.cumsum(share)
        row_start = np.searchsorted(rows, np.arange(self.n_demand))
        before = np.concatenate([[0.0], cumulative])[row_start]
        within = cumulative - before[rows]
        reached = within >= 1.0 - 1e-9
        # First position per row where the cumulative y reaches 1; if it never does (only
        # within the LP's tolerance), the row's farthest allowed distance.
        first = np.full(self.n_demand, len(rows), dtype=np.int64)
        np.minimum.at(first, rows[reached], np.flatnonzero(reached))
        farthest = self.dist[self.starts[1:] - 1]
        found = first < len(rows)
        level = np.where(found, dist[np.minimum(first, max(len(rows) - 1, 0))], farthest)
        gap = np.maximum(level[rows] - dist, 0.0) * share
        value = level - np.bincount(rows, weights=gap, minlength=self.n_demand).astype(np.float64)
        return level.astype(np.float64), value

    def cut_rows(
        self, points: NDArray[np.int64], level: NDArray[np.float64], n_sites: int
    ) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64], NDArray[np.float64]]:
        r"""Return CSR pieces (starts, indices, values) and lower bounds of the cuts of ``points``.

        Columns ``0 .. n_sites - 1`` are the sites, ``n_sites + i`` is :math:`\theta_i`.
        """
        starts = [0]
        indices: list[NDArray[np.int64]] = []
        values: list[NDArray[np.float64]] = []
        for point, bound in zip(points.tolist(), level.tolist(), strict=True):
            lo, hi = int(self.starts[point]), int(self.starts[point + 1])
            d = self.dist[lo:hi]
            closer = d < bound
            indices.append(np.concatenate([self.cols[lo:hi][closer], [n_sites + point]]))
            values.append(np.concatenate([bound - d[closer], [1.0]]))
            starts.append(starts[-1] + int(closer.sum()) + 1)
        return (
            np.asarray(starts[:-1], dtype=np.int32),
            np.concatenate(indices).astype(np.int32),
            np.concatenate(values),
            np.asarray(level, dtype=np.float64),
        )


class _Master:
    r"""The Benders master: sites, one :math:`\theta` per point, ``sum y = p`` and the cuts."""

    def __init__(
        self,
        levels: _Levels,
        weight: NDArray[np.float64],
        p: int,
        forced: NDArray[np.bool_],
        banned: NDArray[np.bool_],
    ) -> None:
        highspy = _import_highspy()
        self.highspy = highspy
        self.levels = levels
        self.weight = weight
        n_demand, n_sites = levels.n_demand, len(forced)
        self.n_sites = n_sites
        self.n_cuts = 0
        # The (point, level) of every cut, in row order after the first ``cut_row`` rows.
        self.cut_points: list[NDArray[np.int64]] = []
        self.cut_levels: list[NDArray[np.float64]] = []
        highs = new_highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("random_seed", 0)
        n_cols = n_sites + n_demand
        first_distance = levels.dist[np.minimum(levels.starts[:-1], len(levels.dist) - 1)]
        lower = np.concatenate([forced.astype(np.float64), first_distance])
        upper = np.concatenate([np.where(banned, 0.0, 1.0), np.full(n_demand, highspy.kHighsInf)])
        highs.addVars(n_cols, lower, upper)
        cost = np.concatenate([np.zeros(n_sites), weight])
        highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
        every = np.arange(n_sites, dtype=np.int32)
        highs.addRow(float(p), float(p), n_sites, every, np.ones(n_sites))
        # Points whose allowed sites are not every site need one of them open (feasibility cut).
        per_row = np.diff(levels.starts)
        for point in np.flatnonzero(per_row < int((~banned).sum())).tolist():
            lo, hi = int(levels.starts[point]), int(levels.starts[point + 1])
            columns = levels.cols[lo:hi].astype(np.int32)
            highs.addRow(1.0, highspy.kHighsInf, hi - lo, columns, np.ones(hi - lo))
        self.highs = highs
        self.cut_row = int(highs.getNumRow())

    def add_cuts(self, points: NDArray[np.int64], level: NDArray[np.float64]) -> None:
        """Add the optimality cut of each of ``points`` at its ``level``."""
        if points.size == 0:
            return
        starts, indices, values, bounds = self.levels.cut_rows(points, level, self.n_sites)
        infinite = np.full(len(points), self.highspy.kHighsInf)
        self.highs.addRows(len(points), bounds, infinite, len(indices), starts, indices, values)
        self.n_cuts += len(points)
        self.cut_points.append(points.copy())
        self.cut_levels.append(np.asarray(level, dtype=np.float64).copy())

    def binding_cuts(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return the (point, level) of the cuts tight or priced at the last LP solution."""
        if not self.cut_points:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        solution = self.highs.getSolution()
        row_value = np.asarray(solution.row_value, dtype=np.float64)[self.cut_row :]
        row_dual = np.asarray(solution.row_dual, dtype=np.float64)[self.cut_row :]
        points = np.concatenate(self.cut_points)
        levels = np.concatenate(self.cut_levels)
        if len(row_value) != len(points) or len(row_dual) != len(points):
            return points, levels  # no solution of the LP as it stands: keep every cut
        slack = row_value - levels
        keep = (np.abs(row_dual) > 1e-12) | (slack <= 1e-6 * np.maximum(1.0, np.abs(levels)))
        return points[keep], levels[keep]

    def add_plan_cuts(self, y: NDArray[np.float64], theta: NDArray[np.float64] | None) -> int:
        """Add the cuts ``y`` violates (all of them when ``theta`` is None); return how many."""
        level, value = self.levels.critical(y)
        if theta is None:
            violated = np.ones(len(level), dtype=bool)
        else:
            violated = value > theta + 1e-7 * np.maximum(1.0, np.abs(theta))
        self.add_cuts(np.flatnonzero(violated).astype(np.int64), level[violated])
        return int(violated.sum())

    def run(self) -> tuple[bool, NDArray[np.float64], float]:
        """Solve; return (solved, column values, objective)."""
        self.highs.run()
        status = self.highs.getModelStatus()
        solved = status == self.highspy.HighsModelStatus.kOptimal
        values = np.asarray(self.highs.getSolution().col_value, dtype=np.float64)
        return solved, values, float(self.highs.getInfo().objective_function_value)


def p_median_bound(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    dist: NDArray[np.float64],
    shape: tuple[int, int],
    weight: NDArray[np.float64],
    p: int,
    forced: NDArray[np.bool_],
    banned: NDArray[np.bool_],
    plan: NDArray[np.bool_],
    *,
    time_limit: float | None = None,
    max_rounds: int = 400,
    master: _Master | None = None,
) -> BendersBound:
    """Return the Benders LP bound of a p-median and the sites it fixes against ``plan``.

    Parameters
    ----------
    rows, cols, dist
        Allowed (point, site) pairs and their distances; every point has at
        least one, and every point's pairs must include every site it may use.
    shape
        ``(n_demand, n_sites)``.
    weight
        Demand weights (0 or more).
    p
        Sites to open.
    forced, banned
        Sites that must / may not open.
    plan
        ``p`` open sites (a good heuristic plan); its cost is the upper bound
        the fixing is measured against, and it anchors the stabilisation.
    time_limit
        Seconds to spend; the bound found so far is returned when they run out.
    max_rounds
        Most cutting-plane rounds.
    master
        The master to add cuts to (a new one when ``None``).

    Returns
    -------
    BendersBound
        A true lower bound and the sites it fixes.
    """
    started = time.perf_counter()
    n_demand, n_sites = shape
    if master is None:
        master = _Master(_Levels(rows, cols, dist, n_demand), weight, p, forced, banned)
    levels = master.levels
    upper = float(weight @ levels.nearest(plan))
    # The plan's own cuts: tight at the plan.
    plan_y = plan.astype(np.float64)
    master.add_plan_cuts(plan_y, None)

    inner = plan_y.copy()
    lam = 0.5
    bound = -math.inf
    converged = solved = False
    iterations = rows_solved = 0
    y = plan_y
    while iterations < max_rounds:
        iterations += 1
        solved, values, objective = master.run()
        rows_solved = master.highs.getNumRow()
        if not solved:
            break
        y, theta = values[:n_sites], values[n_sites:]
        bound = max(bound, objective)
        if time_limit is not None and time.perf_counter() - started > time_limit:
            break
        # In-out: separate at a point between the LP optimum and a good plan first (its cuts
        # move the bound more steadily), then at the LP optimum itself.
        tolerance = 1e-7 * np.maximum(1.0, np.abs(theta))
        middle = lam * y + (1 - lam) * inner
        level = levels.critical(middle)[0]
        violated = _cut_value(levels, level, y) > theta + tolerance
        if violated.any():
            master.add_cuts(np.flatnonzero(violated).astype(np.int64), level[violated])
            continue
        inner = middle
        if master.add_plan_cuts(y, theta) == 0:
            converged = True
            break

    if solved and master.highs.getNumRow() != rows_solved:
        # The rounds ran out right after adding cuts: solve once more, so that the duals
        # used below (and the cuts kept for the search) belong to the LP as it stands.
        solved, values, objective = master.run()
        if solved:
            y = values[:n_sites]
            bound = max(bound, objective)
    fix_closed = np.zeros(n_sites, dtype=bool)
    fix_open = np.zeros(n_sites, dtype=bool)
    if solved and math.isfinite(bound):
        # Reduced-cost fixing against the plan: valid for the LP over any subset of the cuts.
        highs = master.highs
        reduced = np.asarray(highs.getSolution().col_dual, dtype=np.float64)[:n_sites]
        final = float(highs.getInfo().objective_function_value)
        margin = 1e-7 * max(1.0, abs(upper))
        free = ~forced & ~banned
        fix_closed = free & (y <= 1e-9) & (final + reduced > upper + margin)
        fix_open = free & (y >= 1 - 1e-9) & (final - reduced > upper + margin)
    return BendersBound(
        lower=bound if math.isfinite(bound) else -math.inf,
        fix_closed=fix_closed,
        fix_open=fix_open,
        upper=upper,
        iterations=iterations,
        n_cuts=master.n_cuts,
        seconds=time.perf_counter() - started,
        converged=converged,
    )


@dataclass
class BendersSolution:
    """A p-median plan proved (or bounded) by Benders' master problem.

    Attributes
    ----------
    plan
        The best plan found (``p`` open sites).
    objective
        Its cost, evaluated exactly.
    lower
        A true lower bound on the optimum.
    optimal
        ``True`` when the bound meets the plan's cost (within 1e-9 relative).
    root
        The LP phase (bound, fixing).
    master_rounds
        Nodes of the search tree solved.
    seconds
        Wall time of the whole method.
    lp_solves, strong_solves
        Node LP solves (each after a round of cuts) and strong-branching probes.
    """

    plan: NDArray[np.bool_]
    objective: float
    lower: float
    optimal: bool
    root: BendersBound
    master_rounds: int
    seconds: float
    lp_solves: int = 0
    strong_solves: int = 0


def p_median_benders(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    dist: NDArray[np.float64],
    shape: tuple[int, int],
    weight: NDArray[np.float64],
    p: int,
    forced: NDArray[np.bool_],
    banned: NDArray[np.bool_],
    plan: NDArray[np.bool_],
    *,
    time_limit: float | None = None,
    gap: float = 0.0,
    strong: bool = True,
    reduce: bool = True,
) -> BendersSolution:
    """Solve a p-median by branch-and-Benders-cut on the radius formulation's projection.

    The root is :func:`p_median_bound` (cuts, bound, fixed sites). Each node of
    the search tree then solves the same LP with its branching bounds, warm
    started from its parent's basis, adds the cuts its point violates (they
    are valid everywhere and stay), prunes when its bound reaches the best
    plan's cost, fixes sites by reduced cost for its subtree, tries the plan
    of its ``p`` largest ``y``, and branches. The branching site is chosen by
    pseudo-costs (the bound each site's branches gained per unit of change so
    far), measured by strong branching (a few dual simplex iterations on each
    branch) while a site has too few measurements; a branch whose LP already
    reaches the best plan's cost is dropped. Nodes are taken best bound first,
    so the smallest open bound is always a true lower bound.

    Parameters
    ----------
    rows, cols, dist, shape, weight, p, forced, banned, plan
        As for :func:`p_median_bound`.
    time_limit
        Seconds for the whole method; the best plan and bound so far come back.
    gap
        Relative gap at which to stop.
    strong
        Choose branching sites by pseudo-costs with strong branching
        (``False``: the most fractional site, as a baseline).
    reduce
        Search on a master rebuilt without the sites the root fixed closed
        and without the cuts slack at the root's LP optimum.

    Returns
    -------
    BendersSolution
        The best plan, its exact cost and a true lower bound.
    """
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit
    master = _Master(_Levels(rows, cols, dist, shape[0]), weight, p, forced, banned)
    root = p_median_bound(
        rows, cols, dist, shape, weight, p, forced, banned, plan,
        time_limit=None if time_limit is None else 0.5 * time_limit, master=master,
    )  # fmt: skip
    forced_tree, banned_tree = forced | root.fix_open, banned | root.fix_closed
    if reduce and root.fix_closed.any() and math.isfinite(root.lower):
        # Start the tree on a smaller master: without the sites fixed closed (pairs, columns
        # in the cuts) and with only the cuts the root LP's optimum rests on.
        points, levels = master.binding_cuts()
        keep = ~banned_tree[cols]
        served = np.bincount(rows[keep], minlength=shape[0]) > 0
        if not served.all():
            # Some point may only use sites fixed closed: no plan cheaper than ``plan`` exists.
            return BendersSolution(
                plan=plan.copy(),
                objective=root.upper,
                lower=root.upper,
                optimal=True,
                root=root,
                master_rounds=0,
                seconds=time.perf_counter() - started,
            )
        master = _Master(
            _Levels(rows[keep], cols[keep], dist[keep], shape[0]),
            weight, p, forced_tree, banned_tree,
        )  # fmt: skip
        master.add_cuts(points, levels)
    search = _Search(master, weight, p, forced_tree, banned_tree, plan, root.upper, strong=strong)
    heap: list[tuple[float, int, _Node]] = [(root.lower, 0, _Node((), None, root.lower))]
    counter = 0
    nodes = 0
    while heap:
        if _closed(search.best, heap[0][0], gap):
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        node_lower, _, node = heapq.heappop(heap)
        nodes += 1
        result = search.node(node, deadline)
        if result is None:
            continue
        bound, children = result
        for child in children:
            counter += 1
            heapq.heappush(heap, (max(bound, node_lower), counter, child))
    lower = heap[0][0] if heap else search.best
    lower = min(max(lower, root.lower), search.best)
    highs = master.highs
    highs.setOptionValue("time_limit", math.inf)
    return BendersSolution(
        plan=search.best_plan,
        objective=search.best,
        lower=lower,
        optimal=_closed(search.best, lower, 0.0),
        root=root,
        master_rounds=nodes,
        seconds=time.perf_counter() - started,
        lp_solves=search.lp_solves,
        strong_solves=search.strong_solves,
    )


@dataclass
class _Node:
    """An open node: its branching bounds, its parent's basis, and how it was made."""

    fixes: tuple[tuple[int, int], ...]
    basis: tuple[list[object], list[object]] | None
    parent_bound: float
    site: int = -1
    up: bool = False
    change: float = 0.0


#: Measurements per branch direction before a site's pseudo-cost is trusted.
RELIABLE = 1
#: Sites strong-branched on at most per node, and dual simplex iterations per probe.
STRONG_CANDIDATES = 4
STRONG_ITERATIONS = 60
#: Strong branching stops after this many probes in a row that found no better site.
LOOKAHEAD = 2


class _Search:
    """The node work of the branch-and-cut: bounds, cut loop, rounding, fixing, branching."""

    def __init__(
        self,
        master: _Master,
        weight: NDArray[np.float64],
        p: int,
        forced: NDArray[np.bool_],
        banned: NDArray[np.bool_],
        plan: NDArray[np.bool_],
        plan_cost: float,
        *,
        strong: bool = True,
    ) -> None:
        self.master = master
        self.weight = weight
        self.p = p
        self.forced = forced
        self.banned = banned
        self.n_sites = len(forced)
        self.sites = np.arange(self.n_sites, dtype=np.int32)
        # ``plan`` may use sites this master no longer has: its cost comes from the caller.
        self.best = plan_cost
        self.best_plan = plan.copy()
        self.strong = strong
        # Pseudo-costs: summed bound gain per unit change, and counts, per site and direction.
        self.gain_sum = np.zeros((2, self.n_sites))
        self.gain_count = np.zeros((2, self.n_sites))
        self.lp_solves = 0
        self.strong_solves = 0

    def cost(self, is_open: NDArray[np.bool_]) -> float:
        """Return the exact cost of a plan."""
        return float(self.weight @ self.master.levels.nearest(is_open))

    def offer(self, is_open: NDArray[np.bool_]) -> None:
        """Keep ``is_open`` if it is a cheaper plan of ``p`` sites."""
        cost = self.cost(is_open)
        if cost < self.best - 1e-9 * max(1.0, abs(self.best)):
            self.best, self.best_plan = cost, is_open.copy()

    def _record(self, site: int, up: bool, change: float, gain: float) -> None:
        """Add one measurement of the bound gained by branching ``site`` (per unit change)."""
        if site < 0 or change <= 1e-9 or not math.isfinite(gain):
            return
        self.gain_sum[int(up), site] += max(gain, 0.0) / change
        self.gain_count[int(up), site] += 1

    def _set_basis(self, basis: tuple[list[object], list[object]] | None) -> None:
        """Warm start from ``basis`` (a parent's), its rows extended by the cuts added since."""
        if basis is None:
            return
        highspy = self.master.highspy
        col_status, row_status = basis
        n_rows = self.master.highs.getNumRow()
        warm = highspy.HighsBasis()
        warm.col_status = col_status
        warm.row_status = row_status + [highspy.HighsBasisStatus.kBasic] * (
            n_rows - len(row_status)
        )
        warm.valid = True
        self.master.highs.setBasis(warm)

    def _get_basis(self) -> tuple[list[object], list[object]]:
        basis = self.master.highs.getBasis()
        return list(basis.col_status), list(basis.row_status)

    def node(self, node: _Node, deadline: float | None) -> tuple[float, list[_Node]] | None:
        """Solve one node; return its bound and children, or ``None`` when it is pruned."""
        fixes = node.fixes
        lower = self.forced.astype(np.float64)
        upper = np.where(self.banned, 0.0, 1.0)
        for site, value in fixes:
            lower[site] = upper[site] = float(value)
        if lower.sum() > self.p + 0.5 or upper.sum() < self.p - 0.5:
            return None
        highs = self.master.highs
        highs.changeColsBounds(self.n_sites, self.sites, lower, upper)
        self._set_basis(node.basis)
        bound = -math.inf
        y = lower
        while True:
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None if bound == -math.inf else (bound, [node])
                highs.setOptionValue("time_limit", float(left))
            solved, values, objective = self.master.run()
            self.lp_solves += 1
            if not solved:
                if deadline is not None and time.perf_counter() >= deadline:
                    return (max(bound, node.parent_bound), [node])
                return None
            bound = objective
            y, theta = values[: self.n_sites], values[self.n_sites :]
            if bound >= self.best or _closed(self.best, bound, 0.0):
                self._record(node.site, node.up, node.change, bound - node.parent_bound)
                return None
            if self.master.add_plan_cuts(y, theta) == 0:
                break
        self._record(node.site, node.up, node.change, bound - node.parent_bound)
        if (np.abs(y - np.round(y)) < 1e-6).all():
            self.offer(y > 0.5)
            return None
        # Rounding: the p sites of largest y (fixed ones first).
        order = np.argsort(-(y + 2.0 * lower), kind="stable")
        rounded = np.zeros(self.n_sites, dtype=bool)
        rounded[order[: self.p]] = True
        self.offer(rounded)
        # Reduced-cost fixing for the subtree.
        reduced = np.asarray(highs.getSolution().col_dual, dtype=np.float64)[: self.n_sites]
        free = lower < upper
        margin = 1e-9 * max(1.0, abs(self.best))
        close = free & (y <= 1e-9) & (bound + reduced > self.best + margin)
        keep = free & (y >= 1 - 1e-9) & (bound - reduced > self.best + margin)
        extra = tuple((int(j), 0) for j in np.flatnonzero(close)) + tuple(
            (int(j), 1) for j in np.flatnonzero(keep)
        )
        fractional = free & ~close & ~keep & (np.abs(y - np.round(y)) >= 1e-6)
        if not fractional.any():  # pragma: no cover - an integral y was handled above
            return None
        basis = self._get_basis()
        base = fixes + extra
        if self.strong:
            choice = self._choose(y, fractional, lower, upper, basis, bound, deadline)
            if choice is None:
                return None
            site, directions = choice
        else:
            site = int(np.argmax(np.where(fractional, -np.abs(y - 0.5), -np.inf)))
            directions = (1, 0)
        children = [
            _Node(
                (*base, (site, direction)),
                basis,
                bound,
                site,
                bool(direction),
                float(1.0 - y[site] if direction else y[site]),
            )
            for direction in directions
        ]
        return bound, children

    def _choose(
        self,
        y: NDArray[np.float64],
        fractional: NDArray[np.bool_],
        lower: NDArray[np.float64],
        upper: NDArray[np.float64],
        basis: tuple[list[object], list[object]],
        bound: float,
        deadline: float | None,
    ) -> tuple[int, tuple[int, ...]] | None:
        """Return the branching site and the directions worth exploring (``None``: prune).

        Pseudo-cost scores rank the fractional sites; the best-ranked ones
        whose pseudo-costs are not yet reliable are strong-branched: each
        branch's LP (over the cuts found so far, a relaxation of the branch)
        is solved for a few iterations from this node's basis. A branch whose
        LP is solved and reaches the best plan's cost holds no better plan.
        """
        candidates = np.flatnonzero(fractional)
        down_change = y[candidates]
        up_change = 1.0 - y[candidates]
        counts = self.gain_count[:, candidates]
        # Unmeasured directions take the average pseudo-cost over measured sites.
        average = [
            float(self.gain_sum[k].sum() / self.gain_count[k].sum())
            if self.gain_count[k].sum() > 0
            else 1.0
            for k in (0, 1)
        ]
        unit = [
            np.where(
                counts[k] > 0, self.gain_sum[k, candidates] / np.maximum(counts[k], 1), average[k]
            )
            for k in (0, 1)
        ]
        estimate_down = unit[0] * down_change
        estimate_up = unit[1] * up_change
        score = _score(estimate_down, estimate_up)
        order = np.argsort(-score, kind="stable")
        unreliable = (counts.min(axis=0) < RELIABLE)[order]
        probe = order[unreliable][:STRONG_CANDIDATES]
        if probe.size == 0:
            return int(candidates[order[0]]), (1, 0)
        highs = self.master.highs
        highspy = self.master.highspy
        highs.setOptionValue("simplex_iteration_limit", STRONG_ITERATIONS)
        best_score, best_site, best_dirs = -math.inf, int(candidates[order[0]]), (1, 0)
        stale = 0
        try:
            for index in probe.tolist():
                site = int(candidates[index])
                if deadline is not None and time.perf_counter() > deadline:
                    break
                results: dict[int, float] = {}
                alive: list[int] = []
                for direction in (1, 0):
                    value = float(direction)
                    highs.changeColsBounds(
                        1, np.array([site], dtype=np.int32), np.array([value]), np.array([value])
                    )
                    self._set_basis(basis)
                    highs.run()
                    self.strong_solves += 1
                    status = highs.getModelStatus()
                    objective = float(highs.getInfo().objective_function_value)
                    if status == highspy.HighsModelStatus.kInfeasible:
                        results[direction] = math.inf
                    elif status == highspy.HighsModelStatus.kOptimal:
                        results[direction] = objective
                        if objective < self.best and not _closed(self.best, objective, 0.0):
                            alive.append(direction)
                    else:
                        results[direction] = max(objective, bound)
                        alive.append(direction)
                highs.changeColsBounds(
                    1,
                    np.array([site], dtype=np.int32),
                    np.array([lower[site]]),
                    np.array([upper[site]]),
                )
                change = {1: 1.0 - y[site], 0: y[site]}
                for direction in (1, 0):
                    gain = min(results[direction], self.best) - bound
                    self._record(site, bool(direction), change[direction], gain)
                if not alive:
                    return None
                if len(alive) == 1:
                    # Only one branch can hold a better plan: a node with one child.
                    return site, (alive[0],)
                site_score = float(
                    _score(np.array([results[0] - bound]), np.array([results[1] - bound]))[0]
                )
                if site_score > best_score:
                    best_score, best_site, stale = site_score, site, 0
                else:
                    stale += 1
                    if stale >= LOOKAHEAD:
                        break
        finally:
            highs.setOptionValue("simplex_iteration_limit", 2147483647)
            self._set_basis(basis)
        return best_site, best_dirs


def _score(down: NDArray[np.float64], up: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the product score of two branches' bound gains (the usual MIP choice)."""
    return np.maximum(down, 1e-6) * np.maximum(up, 1e-6)


def _closed(upper: float, lower: float, gap: float) -> bool:
    """Return ``True`` when ``lower`` proves ``upper`` optimal within ``gap`` (relative)."""
    return upper - lower <= max(gap, 1e-9) * max(1.0, abs(upper))


def _cut_value(
    levels: _Levels, level: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the right-hand side at ``y`` of every point's cut at its ``level``."""
    weight_y = y[levels.cols]
    positive = weight_y > 1e-12
    rows = levels.rows[positive]
    gap = np.maximum(level[rows] - levels.dist[positive], 0.0) * weight_y[positive]
    return level - np.bincount(rows, weights=gap, minlength=levels.n_demand)
