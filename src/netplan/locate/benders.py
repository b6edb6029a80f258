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

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from netplan.locate.solve import _import_highspy

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["BendersBound", "p_median_bound"]


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
        np.minimum.at(value, self.rows, np.where(open_mask[self.cols], self.dist, np.inf))
        return value

    def critical(self, y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        r"""Return, per point, the most violated level ``D`` and the cut's value at ``y``.

        The cut value :math:`D - \sum_{d_{ij} < D} (D - d_{ij}) y_j` is concave in
        :math:`D` with slope :math:`1 - \sum_{d_{ij} < D} y_j`, so it peaks at the
        first level where the nearer ``y`` reach 1.
        """
        weight_y = y[self.cols]
        cumulative = np.cumsum(weight_y)
        before = np.concatenate([[0.0], cumulative])[self.starts[:-1]]
        within = cumulative - before[self.rows]
        reached = within >= 1.0 - 1e-9
        # First position per row where the cumulative y reaches 1 (the last one if never).
        position = np.where(reached, np.arange(len(self.rows)), len(self.rows))
        first = np.minimum.reduceat(position, self.starts[:-1]) if len(position) else position
        last = self.starts[1:] - 1
        first = np.minimum(first, last)
        level = self.dist[first]
        # Cut value: D - sum over d < D of (D - d) y.
        gap = np.maximum(level[self.rows] - self.dist, 0.0) * weight_y
        value = level - np.bincount(self.rows, weights=gap, minlength=self.n_demand)
        return level, value

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

    Returns
    -------
    BendersBound
        A true lower bound and the sites it fixes.
    """
    started = time.perf_counter()
    highspy = _import_highspy()
    n_demand, n_sites = shape
    levels = _Levels(rows, cols, dist, n_demand)
    nearest_plan = levels.nearest(plan)
    upper = float(weight @ nearest_plan)
    first_distance = levels.dist[np.minimum(levels.starts[:-1], len(levels.dist) - 1)]

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("random_seed", 0)
    n_cols = n_sites + n_demand
    lower_col = np.concatenate([forced.astype(np.float64), first_distance])
    upper_col = np.concatenate([np.where(banned, 0.0, 1.0), np.full(n_demand, highspy.kHighsInf)])
    cost = np.concatenate([np.zeros(n_sites), weight])
    highs.addVars(n_cols, lower_col, upper_col)
    highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
    highs.addRow(float(p), float(p), n_sites, np.arange(n_sites, dtype=np.int32), np.ones(n_sites))
    # Points whose allowed sites are not every site need one of them open (feasibility cut).
    per_row = np.diff(levels.starts)
    n_allowed = int((~banned).sum())
    for point in np.flatnonzero(per_row < n_allowed).tolist():
        lo, hi = int(levels.starts[point]), int(levels.starts[point + 1])
        highs.addRow(
            1.0, highspy.kHighsInf, hi - lo, levels.cols[lo:hi].astype(np.int32), np.ones(hi - lo)
        )
    n_cuts = 0

    def add_cuts(points: NDArray[np.int64], level: NDArray[np.float64]) -> None:
        nonlocal n_cuts
        if points.size == 0:
            return
        starts, indices, values, bounds = levels.cut_rows(points, level, n_sites)
        highs.addRows(
            len(points),
            bounds,
            np.full(len(points), highspy.kHighsInf),
            len(indices),
            starts,
            indices,
            values,
        )
        n_cuts += len(points)

    # The plan's own cuts: tight at the plan, they make it optimal among its neighbours at once.
    plan_y = plan.astype(np.float64)
    level, _ = levels.critical(plan_y)
    add_cuts(np.arange(n_demand, dtype=np.int64), level)

    inner = plan_y.copy()
    lam = 0.5
    bound = -math.inf
    converged = solved = False
    iterations = 0
    y = plan_y
    while iterations < max_rounds:
        iterations += 1
        highs.run()
        solved = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if not solved:
            break
        values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        y, theta = values[:n_sites], values[n_sites:]
        bound = max(bound, float(highs.getInfo().objective_function_value))
        if time_limit is not None and time.perf_counter() - started > time_limit:
            break
        # In-out: separate at a point between the LP optimum and a good plan first (its cuts
        # move the bound more steadily), then at the LP optimum itself.
        tolerance = 1e-7 * np.maximum(1.0, np.abs(theta))
        middle = lam * y + (1 - lam) * inner
        level = levels.critical(middle)[0]
        violated = _cut_value(levels, level, y) > theta + tolerance
        if not violated.any():
            inner = middle
            level, value = levels.critical(y)
            violated = value > theta + tolerance
            if not violated.any():
                converged = True
                break
        add_cuts(np.flatnonzero(violated).astype(np.int64), level[violated])

    fix_closed = np.zeros(n_sites, dtype=bool)
    fix_open = np.zeros(n_sites, dtype=bool)
    if solved and math.isfinite(bound):
        # Reduced-cost fixing against the plan: valid for the LP over any subset of the cuts.
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
        n_cuts=n_cuts,
        seconds=time.perf_counter() - started,
        converged=converged,
    )


def _cut_value(
    levels: _Levels, level: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the right-hand side at ``y`` of every point's cut at its ``level``."""
    gap = np.maximum(level[levels.rows] - levels.dist, 0.0) * y[levels.cols]
    return level - np.bincount(levels.rows, weights=gap, minlength=levels.n_demand)
