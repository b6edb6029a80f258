r"""Split a site-selection MILP by how many sites of each tier it opens.

Every plan opens a whole number :math:`k_t` of sites of each tier :math:`t`, so
the plans fall into *cells*, one per count vector, and the optimum is the best
cell's optimum. The LP relaxation with a count fixed,
:math:`\sum_{j \in t} y_j = k`, is often much stronger than without: the plain
LP buys 8.47 hubs where every plan buys a whole number of them, and fixing the
count takes away what the fraction bought. This module

1. solves the LP with the counts of the first tier fixed, one value after the
   other outward from the LP's own count, until the LP bound is no better than
   the incumbent (the LP bound is convex in the right-hand side :math:`k`, so
   the values worth a look form one interval and the scan stops at its ends);
2. splits each surviving cell by the next tier's count in the same way;
3. solves the surviving cells' MILPs, the best LP bound first, each with the
   incumbent's objective as a cutoff and a share of the time left.

Every step keeps a true bound: a cell the LP prunes cannot hold a plan better
than the incumbent, a cell whose MILP finished holds none better than what it
found (or than its cutoff), and a cell cut short keeps the better of its LP
bound and the solver's. The bound reported is the weakest over all cells, so
the gap it gives is honest whether or not every cell was closed.

Used by :func:`netplan.locate.tiered.tiered` with HiGHS (``method="auto"`` on
large models, or ``"counts"``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan.locate.solve import (
    MilpArrays,
    SolveOutcome,
    SolverSettings,
    _highs_options,
    _highs_pass,
    _highs_run,
    _import_highspy,
    new_highs,
    relative_gap,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["CountSplit", "solve_by_counts"]

#: Most count values one cell is split into for one tier (more: the tier stays free there).
MAX_VALUES = 8
#: Most cells the split may make.
MAX_CELLS = 32
#: Most groups split, the first ones given (on the national benchmark, splitting the
#: third tier too made three small cells out of each, none closed in time; two tiers
#: leave two cells, both closed).
MAX_GROUPS = 2
#: Share of the time limit the LP scans may take before the cells are solved.
SCAN_SHARE = 0.3
#: A cell is not started with less time than this (seconds).
MIN_CELL_SECONDS = 1.0


@dataclass
class _Cell:
    """A set of plans: those with the given count per group (groups not named are free)."""

    counts: dict[int, int]
    bound: float  # in the minimising sense (objective × sign)
    lp_counts: NDArray[np.float64]
    state: str = "open"  # open, pruned, solved, cut_short


@dataclass
class CountSplit:
    """What the split did (``SolveOutcome.extra["count_split"]``).

    Attributes
    ----------
    n_cells
        Cells the scans left worth solving.
    n_solved
        Cells whose MILP finished (or that a better incumbent pruned before their turn).
    n_lps
        LP relaxations solved by the scans.
    scan_seconds
        Wall time of the scans.
    root_bound
        The LP bound before any count is fixed (in the objective's own sense;
        ``None`` when that LP did not finish or is infeasible).
    cells
        Per cell: its counts (by group name), its bound when the split ended (LP,
        solver or found plan, whichever is known best) and how it ended
        (``solved``, ``pruned``, ``cut_short`` or ``open`` when time ran out first).
    """

    n_cells: int
    n_solved: int
    n_lps: int
    scan_seconds: float
    root_bound: float | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)


def _count_rows(groups: Sequence[NDArray[np.int64]], n_columns: int) -> sp.csr_array:
    rows = np.concatenate([np.full(len(g), k, dtype=np.int64) for k, g in enumerate(groups)])
    cols = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    return sp.csr_array((np.ones(len(cols)), (rows, cols)), shape=(len(groups), n_columns))


def _feasible(program: MilpArrays, values: NDArray[np.float64] | None) -> bool:
    """Return ``True`` when ``values`` meet every bound, row and integrality of ``program``."""
    if values is None or len(values) != program.n_columns:
        return False
    tolerance = 1e-6
    if np.any(values < program.col_lower - tolerance) or np.any(
        values > program.col_upper + tolerance
    ):
        return False
    integral = values[program.integer]
    if np.any(np.abs(integral - np.round(integral)) > tolerance):
        return False
    activity = program.matrix @ values
    return bool(
        np.all(activity >= program.row_lower - tolerance)
        and np.all(activity <= program.row_upper + tolerance)
    )


class _Search:
    """The scans and the cell solves, in the minimising sense (objective × sign)."""

    def __init__(
        self,
        program: MilpArrays,
        groups: Sequence[NDArray[np.int64]],
        settings: SolverSettings,
        step: float,
        started: float,
    ) -> None:
        self.program = program
        self.groups = [np.asarray(g, dtype=np.int64) for g in groups]
        self.settings = settings
        self.step = step
        self.started = started
        self.sign = -1.0 if program.maximize else 1.0
        counts = _count_rows(self.groups, program.n_columns)
        self.first_count_row = program.n_rows
        self.split = replace(
            program,
            matrix=sp.csr_array(sp.vstack([program.matrix, counts], format="csr")),
            row_lower=np.concatenate([program.row_lower, np.zeros(len(self.groups))]),
            row_upper=np.concatenate(
                [program.row_upper, np.array([len(g) for g in self.groups], dtype=np.float64)]
            ),
            start=None,
            highs_options=dict(program.highs_options),
        )
        self.counts = counts
        self.n_lps = 0
        self.root_bound: float | None = None
        #: Rounded LP bounds of the count values the scans pruned (each a true bound).
        self.pruned_bounds: list[float] = []
        self.best: NDArray[np.float64] | None = None
        self.best_cost = math.inf
        self.best_bound_free: float | None = None
        self._lp: Any = None

    # ----------------------------------------------------------------- time

    def remaining(self) -> float:
        if self.settings.time_limit is None:
            return math.inf
        return self.settings.time_limit - (time.perf_counter() - self.started)

    # ------------------------------------------------------------- incumbent

    def offer(self, values: NDArray[np.float64] | None) -> bool:
        """Keep ``values`` as the incumbent when it is a plan and better; say whether it was."""
        if not _feasible(self.program, values):
            return False
        assert values is not None
        cost = self.sign * (float(self.program.objective @ values) + self.program.offset)
        if cost < self.best_cost:
            self.best, self.best_cost = values.copy(), cost
            return True
        return False

    def rounded(self, cost: float) -> float:
        """Return a cell bound rounded up to the objective's step (min cost only)."""
        if self.step <= 0 or self.sign < 0 or not math.isfinite(cost):
            return cost
        offset = self.program.offset
        slack = 1e-6 * max(1.0, abs(cost))
        return max(cost, offset + math.ceil((cost - slack - offset) / self.step) * self.step)

    def prunes(self, bound: float) -> bool:
        """Return ``True`` when no plan in a cell of this bound is better than the incumbent."""
        if not math.isfinite(self.best_cost):
            return False
        tolerance = max(
            1e-9 * max(1.0, abs(self.best_cost)), self.settings.gap * abs(self.best_cost)
        )
        return self.rounded(bound) >= self.best_cost - tolerance

    # -------------------------------------------------------------------- LPs

    def _lp_solver(self) -> Any:
        if self._lp is None:
            relaxed = replace(self.split, integer=np.zeros(self.split.n_columns, dtype=bool))
            self._lp = new_highs()
            _highs_options(self._lp, self.settings)
            _highs_pass(self._lp, relaxed)
        return self._lp

    def lp(self, counts: dict[int, int]) -> tuple[float, NDArray[np.float64]] | None:
        """Return the LP bound and the LP's count per group with ``counts`` fixed, or ``None``."""
        highspy = _import_highspy()
        highs = self._lp_solver()
        lower = np.zeros(len(self.groups))
        upper = np.array([len(g) for g in self.groups], dtype=np.float64)
        for group, value in counts.items():
            lower[group] = upper[group] = value
        rows = self.first_count_row + np.arange(len(self.groups), dtype=np.int32)
        highs.changeRowsBounds(len(rows), rows, lower, upper)
        highs.setOptionValue("time_limit", max(self.remaining(), 0.01))
        highs.run()
        self.n_lps += 1
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            if status in (
                highspy.HighsModelStatus.kInfeasible,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                return None
            msg = f"LP of a count cell ended {highs.modelStatusToString(status)}"
            raise _ScanStopped(msg)
        values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        objective = float(highs.getInfo().objective_function_value)
        return self.sign * objective, self.counts @ values

    # ------------------------------------------------------------------ scans

    def split_cell(self, cell: _Cell, group: int, room: int) -> list[_Cell] | None:
        """Return ``cell`` split by ``group``'s count, or ``None`` to leave that count free."""
        centre = math.floor(cell.lp_counts[group] + 1e-9)
        children: list[_Cell] = []
        for direction, first in ((-1, centre), (1, centre + 1)):
            value = first
            while 0 <= value <= len(self.groups[group]):
                if len(children) >= min(MAX_VALUES, room):
                    return None
                counts = {**cell.counts, group: value}
                found = self.lp(counts)
                if found is None:
                    break
                bound, lp_counts = found
                if self.prunes(bound):
                    self.pruned_bounds.append(self.rounded(bound))
                    break
                children.append(_Cell(counts, bound, lp_counts))
                value += direction
        return children


class _ScanStopped(Exception):
    """An LP of the scans did not finish (time); the cells made so far are solved as they are."""


def solve_by_counts(
    program: MilpArrays,
    groups: Sequence[NDArray[np.int64]],
    settings: SolverSettings,
    *,
    names: Sequence[str] | None = None,
    step: float = 0.0,
    max_groups: int = MAX_GROUPS,
) -> SolveOutcome:
    """Solve ``program`` cell by cell, split by the number of open columns per group.

    Parameters
    ----------
    program
        The MILP (HiGHS solves it); ``program.start``, when it is a feasible
        plan, is the first incumbent and prunes the scans.
    groups
        Column indices of each group (the site columns of one tier), in the
        order they are split (most expensive tier first works best).
    settings
        Solver settings; the time limit covers the scans and every cell.
    names
        A name per group, for the report.
    step
        Every plan's objective is the offset plus a whole multiple of ``step``
        (0 when not): cell bounds of a minimisation are rounded up to it.
    max_groups
        Split by the counts of at most this many groups (the first ones with
        two or more free columns); the others stay free in every cell.

    Returns
    -------
    SolveOutcome
        The best plan over all cells with the weakest cell bound as its bound;
        ``status`` is ``"optimal"`` when that bound is within ``settings.gap``
        of the plan. ``extra["count_split"]`` is a :class:`CountSplit`.
    """
    started = time.perf_counter()
    search = _Search(program, groups, settings, step, started)
    names = list(names) if names is not None else [str(k) for k in range(len(groups))]
    search.offer(program.start)
    free = [
        k
        for k, g in enumerate(search.groups)
        if int(np.sum(program.col_upper[g] > program.col_lower[g])) >= 2
    ]
    # Until the root LP answers, the one cell is the whole program, with no bound.
    cells = [_Cell({}, -math.inf, np.zeros(len(search.groups)))]
    scan_deadline = math.inf if settings.time_limit is None else SCAN_SHARE * settings.time_limit
    try:
        root = search.lp({})
        if root is not None:
            search.root_bound = search.sign * root[0]
        if root is None:
            cells = []  # the LP relaxation is infeasible: so is every plan
        else:
            cells = [_Cell({}, root[0], root[1])]
            for group in free[:max_groups]:
                split: list[_Cell] = []
                for position, cell in enumerate(cells):
                    elapsed = time.perf_counter() - started
                    room = MAX_CELLS - len(split) - (len(cells) - position - 1)
                    children = (
                        search.split_cell(cell, group, room) if elapsed < scan_deadline else None
                    )
                    split.extend([cell] if children is None else children)
                cells = split
    except _ScanStopped:
        pass
    scan_seconds = time.perf_counter() - started

    # Cells, best LP bound first; each MILP gets a share of what is left. Time a
    # pruned cell leaves goes to a second pass over the cells cut short.
    cells.sort(key=lambda c: c.bound)
    for round_ in ("open", "cut_short"):
        todo = [c for c in cells if c.state == round_]
        for position, cell in enumerate(todo):
            if search.prunes(cell.bound):
                cell.state = "pruned"
                continue
            left = search.remaining()
            if left < MIN_CELL_SECONDS:
                break
            waiting = sum(1 for c in todo[position:] if c.state == round_)
            _solve_cell(search, cell, left / max(waiting, 1))

    # The bound: the weakest over every part of the split (each is a true bound of its part).
    if not cells and not math.isfinite(search.best_cost):
        bound_cost = math.inf  # the LP itself is infeasible: so is every plan
    else:
        bound_cost = min([search.best_cost, *(c.bound for c in cells), *search.pruned_bounds])
    return _outcome(search, cells, names, bound_cost, scan_seconds, started)


def _solve_cell(search: _Search, cell: _Cell, share: float) -> None:
    """Solve ``cell``'s MILP for ``share`` seconds; update the incumbent and the cell's bound."""
    program = search.split
    lower = program.row_lower.copy()
    upper = program.row_upper.copy()
    for group, value in cell.counts.items():
        lower[search.first_count_row + group] = upper[search.first_count_row + group] = value
    cell_program = replace(program, row_lower=lower, row_upper=upper)
    start = None
    if search.best is not None and _feasible(cell_program, search.best):
        start = search.best
    highs = new_highs()
    _highs_options(highs, replace(search.settings, time_limit=max(share, 0.05)))
    _highs_pass(highs, cell_program)
    cutoff = None
    if math.isfinite(search.best_cost) and start is None:
        cutoff = search.best_cost
        # HiGHS takes the cutoff in the model's own sense.
        highs.setOptionValue("objective_bound", search.sign * cutoff)
    outcome = _highs_run(highs, cell_program, start)
    if outcome.values is not None:
        search.offer(outcome.values)
    solver_bound = None if outcome.best_bound is None else search.sign * outcome.best_bound
    finished = outcome.status in ("optimal", "infeasible")
    if finished:
        cell.state = "solved"
        cell.bound = math.inf if cutoff is None else cutoff
        if outcome.objective is not None:
            cell.bound = min(cell.bound, search.sign * outcome.objective)
        return
    cell.state = "cut_short"
    if solver_bound is not None:
        if cutoff is not None:
            solver_bound = min(solver_bound, cutoff)
        cell.bound = max(cell.bound, search.rounded(solver_bound))


def _outcome(
    search: _Search,
    cells: list[_Cell],
    names: list[str],
    bound_cost: float,
    scan_seconds: float,
    started: float,
) -> SolveOutcome:
    seconds = time.perf_counter() - started
    report = CountSplit(
        n_cells=len(cells),
        n_solved=sum(1 for c in cells if c.state in ("solved", "pruned")),
        n_lps=search.n_lps,
        root_bound=search.root_bound,
        scan_seconds=scan_seconds,
        cells=[
            {
                "counts": {names[g]: v for g, v in c.counts.items()},
                "bound": search.sign * c.bound if math.isfinite(c.bound) else None,
                "state": c.state,
            }
            for c in cells
        ],
    )
    if search.best is None:
        status = "infeasible" if bound_cost == math.inf else "no_solution"
        return SolveOutcome(
            status=status,
            objective=None,
            best_bound=None,
            gap=None,
            values=None,
            solve_seconds=seconds,
            solver="highs",
            detail="count split: no plan",
            extra={"count_split": report},
        )
    objective = search.sign * search.best_cost
    bound = search.sign * bound_cost if math.isfinite(bound_cost) else objective
    gap = relative_gap(objective, bound)
    optimal = gap is not None and gap <= max(search.settings.gap, 1e-9)
    return SolveOutcome(
        status="optimal" if optimal else "feasible",
        objective=objective,
        best_bound=bound,
        gap=gap,
        values=search.best,
        solve_seconds=seconds,
        solver="highs",
        detail=f"count split: {report.n_solved} of {report.n_cells} cells closed",
        extra={"count_split": report},
    )
