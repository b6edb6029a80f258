r"""The classic location models on a sparse demand × site matrix.

Each function takes the matrix (rows: demand points, columns: candidate
sites; a stored entry is an allowed pair and its value the distance or cost)
and returns a :class:`LocateResult`. They never loop over pairs in Python:
constraints are assembled from the CSR arrays.

Models
------
:func:`set_cover`
    :math:`\min \sum_j f_j y_j` s.t. every demand point is covered
    (:math:`\sum_{j \in N(i)} y_j \ge 1`), or, with ``coverage_target``, a
    share of demand weight is (:math:`z_i \le \sum_{j \in N(i)} y_j`,
    :math:`\sum_i w_i z_i \ge t W`).
:func:`max_cover`
    :math:`\max \sum_i w_i z_i` s.t. :math:`z_i \le \sum_{j \in N(i)} y_j`,
    at most ``p`` sites (in total or per group) and/or a budget.
:func:`p_median`
    :math:`\min \sum_i w_i d_{i,\sigma(i)}` with ``p`` sites, in the radius
    formulation over each demand point's sorted distinct distances
    :math:`D_i^0 < D_i^1 < \dots` (Elloumi 2010; García, Labbé & Marín 2011):
    :math:`z_i^k \ge 0` says "i's distance is at least :math:`D_i^k`", the
    objective is :math:`\sum_i w_i (D_i^0 + \sum_k (D_i^k - D_i^{k-1}) z_i^k)`
    and the chained rows :math:`\sum_{j: d_{ij} = D_i^k} y_j + z_i^{k+1} - z_i^k \ge [k = 0]`
    hold each pair once (as many non-zeros as the textbook model has
    variables, and no assignment variables). Levels beyond each point's
    ``(m - p + 1)``-th nearest candidate are dropped (one of those is open).
:func:`capacitated`
    :math:`\min \sum_j f_j y_j + \sum_{ij} c_{ij} x_{ij}` s.t.
    :math:`\sum_j x_{ij} = 1`, :math:`\sum_i w_i x_{ij} \le s_j y_j`,
    :math:`x_{ij} \le y_j`; splittable (:math:`x \in [0, 1]`) or single-source
    (:math:`x \in \{0, 1\}`).

Preprocessing that keeps every model exact: demand points with identical
covering sets are merged (weights summed), points already covered by a
forced-open site leave the model, and in the covering models a candidate that
another covers a superset of, at no more cost (and in the same tier when
counts are per tier), is dropped.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan import display
from netplan.errors import InfeasibleError, InputError
from netplan.locate._checks import COVERAGE_TOLERANCE, MAX_AMOUNT, check_amounts
from netplan.locate._matrix import (
    as_csr,
    dominated_columns,
    merge_identical_rows,
    nearest_open,
    row_ids,
    select_columns,
    structure,
)
from netplan.locate.benders import p_median_benders
from netplan.locate.solve import (
    MilpArrays,
    SolveOutcome,
    SolverSettings,
    relative_gap,
    solve_milp,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LocateResult",
    "capacitated",
    "max_cover",
    "net_cost_terms",
    "p_median",
    "set_cover",
]


@dataclass(repr=False)
class LocateResult:
    """The answer of a location model on a matrix.

    Attributes
    ----------
    model
        ``"set-cover"``, ``"max-cover"``, ``"p-median"``, ``"capacitated"`` or ``"tiered"``.
    status
        ``"optimal"``, ``"feasible"`` (incumbent at the time limit),
        ``"infeasible"`` or ``"no_solution"``.
    objective, best_bound, gap
        The incumbent's objective, the best proven bound and their relative gap.
    build_seconds, solve_seconds
        Time to build the model and to solve it.
    solver
        ``"highs"`` or ``"cbc"``.
    open_sites
        ``True`` for every site open in the solution (per column of the input).
    assigned_site
        Per demand point, the site serving it (the nearest open covering site,
        or the site carrying most of its demand under capacities); ``-1`` if none.
    assigned_distance
        The matrix value of that pair (``inf`` if none).
    covered_share
        Per demand point, the share of its weight covered (0 or 1, or a
        fraction under capacities).
    assignment
        Under capacities, the share of each demand point served by each site
        (CSR, demand × site); ``None`` otherwise.
    details
        Model sizes and preprocessing counts (``n_rows``, ``n_columns``,
        ``n_demand_merged``, ``n_sites_dominated``, ...).
    """

    model: str
    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    build_seconds: float
    solve_seconds: float
    solver: str
    open_sites: NDArray[np.bool_]
    assigned_site: NDArray[np.int64]
    assigned_distance: NDArray[np.float64]
    covered_share: NDArray[np.float64]
    assignment: sp.csr_array | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """Return ``True`` when the result carries a solution (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    def __repr__(self) -> str:
        return display.locate_repr(self)

    def _repr_html_(self) -> str:
        return display.locate_html(self)

    def summary(self) -> dict[str, Any]:
        """Return status, objective, bound, gap, times and counts as plain data."""
        return {
            "model": self.model,
            "status": self.status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "solver": self.solver,
            "n_open": int(self.open_sites.sum()),
            **{k: v for k, v in self.details.items() if isinstance(v, int | float | str)},
        }


# --------------------------------------------------------------------------- shared


def _weights(weights: ArrayLike | None, n_demand: int) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n_demand)
    values = np.asarray(weights, dtype=np.float64)
    if values.shape != (n_demand,):
        msg = (
            f"`weights` must hold one value per demand point ({n_demand}), got shape {values.shape}"
        )
        raise InputError(msg)
    check_amounts(values, "`weights`")
    return values


def _site_vector(
    values: ArrayLike | None, n_sites: int, name: str, default: float
) -> NDArray[np.float64]:
    if values is None:
        return np.full(n_sites, default)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(n_sites, float(array))
    if array.shape != (n_sites,):
        msg = f"`{name}` must hold one value per site ({n_sites}), got shape {array.shape}"
        raise InputError(msg)
    if np.isnan(array).any() or (array < 0).any():
        msg = f"`{name}` must be numbers 0 or more (inf allowed for capacities), without NaN"
        raise InputError(msg)
    return array


def _site_mask(values: ArrayLike | None, n_sites: int, name: str) -> NDArray[np.bool_]:
    if values is None:
        return np.zeros(n_sites, dtype=bool)
    array = np.asarray(values)
    if array.dtype != bool:
        mask = np.zeros(n_sites, dtype=bool)
        mask[array.astype(np.int64)] = True
        return mask
    if array.shape != (n_sites,):
        msg = f"`{name}` must hold one flag per site ({n_sites}), got shape {array.shape}"
        raise InputError(msg)
    return array.copy()


def _empty_result(
    model: str, n_demand: int, n_sites: int, status: str, build: float
) -> LocateResult:
    return LocateResult(
        model=model,
        status=status,
        objective=None,
        best_bound=None,
        gap=None,
        build_seconds=build,
        solve_seconds=0.0,
        solver="",
        open_sites=np.zeros(n_sites, dtype=bool),
        assigned_site=np.full(n_demand, -1, dtype=np.int64),
        assigned_distance=np.full(n_demand, np.inf),
        covered_share=np.zeros(n_demand),
    )


def net_cost_terms(
    costs: NDArray[np.float64], existing: NDArray[np.bool_], closing_cost: float = 0.0
) -> tuple[NDArray[np.float64], float]:
    """Return the coefficients and constant of the net change in yearly fixed cost.

    The net change of a plan ``y`` (1 = open) is ``coef @ y + constant``: a new
    site adds its fixed cost; an existing site closed saves its fixed cost
    less ``closing_cost``. Today's network (every existing site open, nothing
    new) changes it by 0. Every model that takes a budget reads it this way.

    Examples
    --------
    >>> coef, constant = net_cost_terms(np.array([5.0, 3.0]), np.array([True, False]))
    >>> float(coef @ np.array([1.0, 1.0]) + constant)  # keep the existing one, open the new one
    3.0
    >>> float(coef @ np.array([0.0, 0.0]) + constant)  # close the existing one
    -5.0
    """
    keep_value = costs - closing_cost
    coef = np.where(existing, keep_value, costs).astype(np.float64)
    return coef, -float(keep_value[existing].sum())


def uncovered_message(demand_ids: NDArray[Any], *, limit: int = 10) -> str:
    """Return "N demand point(s) no candidate reaches: a, b, ..." for a diagnosis."""
    shown = ", ".join(str(x) for x in demand_ids[:limit])
    more = f" and {len(demand_ids) - limit} more" if len(demand_ids) > limit else ""
    return f"{len(demand_ids)} demand point(s) no candidate reaches: {shown}{more}"


@dataclass
class _CoverData:
    """A covering instance after preprocessing."""

    pattern: sp.csr_array  # merged demand × kept sites (0/1)
    weight: NDArray[np.float64]  # per merged row
    kept_sites: NDArray[np.int64]  # original site index of each column
    forced: NDArray[np.bool_]  # per kept column
    offset_weight: float  # weight covered by forced sites (left the model)
    n_merged: int
    n_dominated: int


def _prepare_cover(
    cover: sp.csr_array,
    weight: NDArray[np.float64],
    *,
    forced: NDArray[np.bool_],
    excluded: NDArray[np.bool_],
    costs: NDArray[np.float64] | None,
    groups: NDArray[np.int64] | None,
    dominance: bool,
) -> _CoverData:
    active, kept = select_columns(structure(cover), ~excluded)
    forced_kept = forced[kept]
    # Demand already covered by a forced-open site is covered whatever else opens.
    by_forced = np.zeros(cover.shape[0], dtype=bool)
    if forced_kept.any():
        by_forced = (active @ forced_kept.astype(np.float64)) > 0
    offset_weight = float(weight[by_forced].sum())
    coverable = (np.diff(active.indptr) > 0) & ~by_forced & (weight > 0)
    rows = active[np.flatnonzero(coverable)]
    group, representative = merge_identical_rows(rows)
    merged_weight = np.bincount(
        group, weights=weight[coverable], minlength=len(representative)
    ).astype(np.float64)
    merged = rows[representative]
    n_dominated = 0
    if dominance and merged.shape[1] > 1:
        dropped = dominated_columns(
            merged,
            costs[kept] if costs is not None else None,
            protected=forced_kept,
            groups=groups[kept] if groups is not None else None,
        )
        # Columns that cover nothing in the reduced model but must stay open (forced) are kept.
        n_dominated = int(dropped.sum())
        if n_dominated:
            merged, keep_local = select_columns(merged, ~dropped)
            kept = kept[keep_local]
            forced_kept = forced_kept[keep_local]
    return _CoverData(
        pattern=sp.csr_array(merged),
        weight=merged_weight,
        kept_sites=kept,
        forced=forced_kept,
        offset_weight=offset_weight,
        n_merged=int(coverable.sum() - len(representative)),
        n_dominated=n_dominated,
    )


def _cover_rows(pattern: sp.csr_array, n_y: int, z_offset: int) -> sp.csr_array:
    """Return rows ``z_i - sum_{j in N(i)} y_j <= 0`` over columns ``[y | z]``."""
    n_rows = pattern.shape[0]
    counts = np.diff(pattern.indptr)
    indptr = np.concatenate([[0], np.cumsum(counts + 1)])
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1])
    # Each row: its y entries, then its own z.
    z_positions = indptr[1:] - 1
    y_mask = np.ones(indptr[-1], dtype=bool)
    y_mask[z_positions] = False
    indices[y_mask] = pattern.indices
    data[y_mask] = -1.0
    indices[z_positions] = z_offset + np.arange(n_rows)
    data[z_positions] = 1.0
    return sp.csr_array((data, indices, indptr), shape=(n_rows, z_offset + n_rows))


def _finish_cover(
    model: str,
    cover: sp.csr_array,
    weight: NDArray[np.float64],
    data: _CoverData,
    outcome: SolveOutcome,
    n_sites: int,
    forced: NDArray[np.bool_],
    build_seconds: float,
    details: dict[str, Any],
    objective: float | None = None,
) -> LocateResult:
    open_sites = np.zeros(n_sites, dtype=bool)
    open_sites[forced] = True
    if outcome.values is not None:
        open_sites[data.kept_sites[outcome.values[: len(data.kept_sites)] > 0.5]] = True
    elif outcome.status not in ("optimal", "feasible"):
        open_sites[:] = False
    site, distance = nearest_open(cover, open_sites)
    covered = (site >= 0).astype(np.float64)
    return LocateResult(
        model=model,
        status=outcome.status,
        objective=objective if objective is not None else outcome.objective,
        best_bound=outcome.best_bound,
        gap=outcome.gap,
        build_seconds=build_seconds,
        solve_seconds=outcome.solve_seconds,
        solver=outcome.solver,
        open_sites=open_sites,
        assigned_site=site,
        assigned_distance=distance,
        covered_share=covered,
        details={
            **details,
            "n_demand_merged": data.n_merged,
            "n_sites_dominated": data.n_dominated,
            "covered_weight": float(weight @ covered),
        },
    )


# --------------------------------------------------------------------------- set cover


def set_cover(
    cover: Any,
    *,
    weights: ArrayLike | None = None,
    costs: ArrayLike | None = None,
    coverage_target: float | None = None,
    forced_open: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    settings: SolverSettings | None = None,
    demand_ids: ArrayLike | None = None,
) -> LocateResult:
    """Open the cheapest set of sites covering every demand point (or a share of the weight).

    Parameters
    ----------
    cover
        Demand × site matrix; a stored entry means the site covers the point
        (dense boolean, dense distances within reach, or sparse).
    weights
        Demand weights (for a partial cover); 1 each when ``None``.
    costs
        Fixed cost per site; 1 each (minimise the count) when ``None``.
    coverage_target
        Share of total demand weight to cover, in (0, 1]; ``None`` covers
        every point.
    forced_open, excluded
        Sites that must be open / may not open (boolean masks or indices).
    settings
        Solver settings.
    demand_ids
        Names of the demand points, for the infeasibility diagnosis.

    Returns
    -------
    LocateResult
        The open sites, the covering assignment and the solve record.

    Raises
    ------
    InfeasibleError
        When no choice of sites reaches the target; the message gives the
        best achievable coverage and the points no candidate reaches.
    """
    started = time.perf_counter()
    matrix = as_csr(cover, what="cover")
    n_demand, n_sites = matrix.shape
    weight = _weights(weights, n_demand)
    cost = _site_vector(costs, n_sites, "costs", 1.0)
    forced = _site_mask(forced_open, n_sites, "forced_open")
    banned = _site_mask(excluded, n_sites, "excluded") & ~forced
    ids = np.asarray(demand_ids, dtype=object) if demand_ids is not None else np.arange(n_demand)
    if coverage_target is not None and not 0 < coverage_target <= 1:
        msg = f"`coverage_target` must be a share in (0, 1], got {coverage_target}"
        raise InputError(msg)

    reachable = (structure(matrix) @ (~banned).astype(np.float64)) > 0
    total = float(weight.sum())
    best_share = float(weight[reachable].sum() / total) if total > 0 else 1.0
    if coverage_target is None:
        need = ~reachable
        if need.any():
            msg = (
                "set cover is infeasible: not every demand point can be covered "
                f"(best achievable weighted coverage {best_share:.2%}); "
                + uncovered_message(ids[need])
            )
            raise InfeasibleError(msg)
        cover_weight = np.ones(n_demand)
    else:
        if best_share < coverage_target - COVERAGE_TOLERANCE:
            msg = (
                f"coverage target {coverage_target:.2%} cannot be met: opening every candidate "
                f"covers {best_share:.2%} of demand weight; " + uncovered_message(ids[~reachable])
            )
            raise InfeasibleError(msg)
        cover_weight = weight
    data = _prepare_cover(
        matrix,
        cover_weight if coverage_target is not None else np.ones(n_demand),
        forced=forced,
        excluded=banned,
        costs=cost,
        groups=None,
        dominance=True,
    )
    program = _set_cover_program(data, cost, coverage_target, total)
    forced_cost = float(cost[forced].sum())
    kept_forced_cost = float(cost[data.kept_sites][data.forced].sum())
    program.offset = forced_cost - kept_forced_cost
    build = time.perf_counter() - started
    outcome = solve_milp(program, settings)
    return _finish_cover(
        "set-cover",
        matrix,
        weight,
        data,
        outcome,
        n_sites,
        forced,
        build,
        {"n_rows": program.n_rows, "n_columns": program.n_columns},
    )


def _set_cover_program(
    data: _CoverData, cost: NDArray[np.float64], coverage_target: float | None, total: float
) -> MilpArrays:
    """Return the set-cover MILP: cover every point, or a share of the weight."""
    n_y = len(data.kept_sites)
    n_z = data.pattern.shape[0]
    y_cost = cost[data.kept_sites]
    y_lower = data.forced.astype(np.float64)
    if coverage_target is None:
        # Every remaining point: sum_{j in N(i)} y_j >= 1.
        return MilpArrays(
            objective=y_cost,
            col_lower=y_lower,
            col_upper=np.ones(n_y),
            integer=np.ones(n_y, dtype=bool),
            matrix=sp.csr_array(data.pattern),
            row_lower=np.ones(n_z),
            row_upper=np.full(n_z, np.inf),
        )
    rows = _cover_rows(data.pattern, n_y, n_y)
    # The target, at most all the weight left in the model, less the shared tolerance; a
    # target at all of it asks for every row by bounds (z = 1) rather than by a tight row.
    reachable_weight = float(data.weight.sum())
    slack = COVERAGE_TOLERANCE * max(total, 1.0)
    need_weight = min(coverage_target * total - data.offset_weight, reachable_weight)
    every_row = need_weight >= reachable_weight - slack
    target_row = sp.csr_array(
        (data.weight, (np.zeros(n_z, dtype=np.int64), n_y + np.arange(n_z))),
        shape=(1, n_y + n_z),
    )
    return MilpArrays(
        objective=np.concatenate([y_cost, np.zeros(n_z)]),
        col_lower=np.concatenate([y_lower, np.full(n_z, 1.0 if every_row else 0.0)]),
        col_upper=np.ones(n_y + n_z),
        integer=np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_z, dtype=bool)]),
        matrix=sp.csr_array(sp.vstack([rows, target_row], format="csr")),
        row_lower=np.concatenate([np.full(n_z, -np.inf), [need_weight - slack]]),
        row_upper=np.concatenate([np.zeros(n_z), [np.inf]]),
    )


# --------------------------------------------------------------------------- max cover


def max_cover(
    cover: Any,
    *,
    weights: ArrayLike | None = None,
    p: int | None = None,
    budget: float | None = None,
    costs: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    p_by_group: dict[Any, int] | None = None,
    forced_open: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    settings: SolverSettings | None = None,
    existing: ArrayLike | None = None,
    closing_cost: float = 0.0,
) -> LocateResult:
    """Cover the most weight with at most ``p`` sites (in all or per group) and/or a ``budget``.

    Parameters
    ----------
    cover
        Demand × site matrix; a stored entry means the site covers the point.
    weights
        Demand weights (1 each when ``None``).
    p
        Most sites open in total (forced sites included).
    budget
        Most net change in yearly fixed cost: the cost of the sites opened
        that are not ``existing``, less the savings from closing ``existing``
        sites (their cost less ``closing_cost``). Sites open today cost
        nothing to keep, so today's network with nothing new fits a budget of 0.
        Negative with closures allowed: a saving to reach.
    costs
        Fixed cost per site (for ``budget``).
    groups, p_by_group
        A group label per site (e.g. its tier) and the most sites open per label.
    forced_open, excluded
        Sites that must be open / may not open.
    settings
        Solver settings.
    existing
        Sites open today (boolean mask or indices); ``None`` for none, when
        the budget is the total cost of the open sites.
    closing_cost
        Cost of closing an existing site (reduces its saving).

    Returns
    -------
    LocateResult
        ``objective`` is the covered weight.
    """
    started = time.perf_counter()
    matrix = as_csr(cover, what="cover")
    n_demand, n_sites = matrix.shape
    weight = _weights(weights, n_demand)
    if p is None and budget is None and not p_by_group:
        msg = "max cover needs `p`, `p_by_group` or `budget` (otherwise every site opens)"
        raise InputError(msg)
    cost = _site_vector(costs, n_sites, "costs", 0.0 if budget is None else 1.0)
    if budget is not None and costs is None:
        msg = "a `budget` needs the sites' `costs`"
        raise InputError(msg)
    forced = _site_mask(forced_open, n_sites, "forced_open")
    banned = _site_mask(excluded, n_sites, "excluded") & ~forced
    group_codes: NDArray[np.int64] | None = None
    labels: list[Any] = []
    if p_by_group:
        if groups is None:
            msg = "`p_by_group` needs `groups` (a label per site)"
            raise InputError(msg)
        group_array = np.asarray(groups, dtype=object)
        labels = sorted({str(g) for g in group_array})
        lookup = {label: code for code, label in enumerate(labels)}
        group_codes = np.array([lookup[str(g)] for g in group_array], dtype=np.int64)
    n_forced = int(forced.sum())
    if p is not None and n_forced > p:
        msg = f"{n_forced} sites are forced open but `p` is {p}; raise `p` or free some sites"
        raise InfeasibleError(msg)
    today = _site_mask(existing, n_sites, "existing")
    if not math.isfinite(closing_cost) or closing_cost < 0:
        msg = f"`closing_cost` must be a finite amount 0 or more, got {closing_cost}"
        raise InputError(msg)
    # The budget is the net change of yearly fixed cost (as in the tiered model): a new site
    # costs its fixed cost; keeping an existing one forgoes its saving (fixed cost less the
    # closing cost), counted against a constant that makes today's network cost 0.
    net_cost, net_constant = net_cost_terms(cost, today, closing_cost)
    if budget is not None:
        if not math.isfinite(budget) or abs(budget) >= MAX_AMOUNT:
            msg = f"`budget` must be a finite amount below {MAX_AMOUNT:.0e} in size, got {budget}"
            raise InputError(msg)
        must_spend = float(net_cost[forced].sum()) + net_constant
        if must_spend > budget + 1e-9 * max(1.0, abs(budget)):
            msg = (
                f"the sites that must open (required, and existing ones unless closing is "
                f"allowed) change the yearly fixed cost by {must_spend:,.2f}, more than the "
                f"budget {budget:,.2f} (the net change: new sites' cost less closure savings); "
                "raise the budget or free some sites"
            )
            raise InfeasibleError(msg)
    data = _prepare_cover(
        matrix,
        weight,
        forced=forced,
        excluded=banned,
        costs=net_cost if budget is not None else None,
        groups=group_codes if p_by_group else None,
        dominance=True,
    )
    program = _max_cover_program(
        data,
        net_cost,
        forced,
        p,
        None if budget is None else budget - net_constant,
        p_by_group,
        group_codes,
        labels,
    )
    if (program.row_upper < -1e-9).any():
        msg = "the forced-open sites already exceed a per-group count; raise `p_by_group`"
        raise InfeasibleError(msg)
    build = time.perf_counter() - started
    outcome = solve_milp(program, settings)
    return _finish_cover(
        "max-cover",
        matrix,
        weight,
        data,
        outcome,
        n_sites,
        forced,
        build,
        {"n_rows": program.n_rows, "n_columns": program.n_columns},
    )


def _max_cover_program(
    data: _CoverData,
    cost: NDArray[np.float64],
    forced: NDArray[np.bool_],
    p: int | None,
    budget: float | None,
    p_by_group: dict[Any, int] | None,
    group_codes: NDArray[np.int64] | None,
    labels: list[Any],
) -> MilpArrays:
    """Return the max-cover MILP: coverage rows, then the count, budget and per-group rows."""
    n_y = len(data.kept_sites)
    n_z = data.pattern.shape[0]
    rows = [_cover_rows(data.pattern, n_y, n_y)]
    lower = [np.full(n_z, -np.inf)]
    upper = [np.zeros(n_z)]
    n_cols = n_y + n_z
    # Forced sites outside the reduced model still count towards p and the budget.
    forced_outside = forced.copy()
    forced_outside[data.kept_sites] = False
    if p is not None:
        rows.append(
            sp.csr_array(
                (np.ones(n_y), (np.zeros(n_y, dtype=np.int64), np.arange(n_y))), shape=(1, n_cols)
            )
        )
        lower.append(np.array([-np.inf]))
        upper.append(np.array([p - forced_outside.sum()], dtype=np.float64))
    if budget is not None:
        kept_cost = cost[data.kept_sites]
        rows.append(
            sp.csr_array(
                (kept_cost, (np.zeros(n_y, dtype=np.int64), np.arange(n_y))), shape=(1, n_cols)
            )
        )
        lower.append(np.array([-np.inf]))
        upper.append(np.array([budget - float(cost[forced_outside].sum())]))
    if p_by_group and group_codes is not None:
        lookup = {label: code for code, label in enumerate(labels)}
        for label, limit in sorted(p_by_group.items(), key=lambda item: str(item[0])):
            code = lookup.get(str(label))
            if code is None:
                continue
            in_group = np.flatnonzero(group_codes[data.kept_sites] == code)
            outside = int((forced_outside & (group_codes == code)).sum())
            rows.append(
                sp.csr_array(
                    (np.ones(len(in_group)), (np.zeros(len(in_group), dtype=np.int64), in_group)),
                    shape=(1, n_cols),
                )
            )
            lower.append(np.array([-np.inf]))
            upper.append(np.array([float(limit - outside)]))
    return MilpArrays(
        objective=np.concatenate([np.zeros(n_y), data.weight]),
        col_lower=np.concatenate([data.forced.astype(np.float64), np.zeros(n_z)]),
        col_upper=np.ones(n_cols),
        integer=np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_z, dtype=bool)]),
        matrix=sp.csr_array(sp.vstack(rows, format="csr")),
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        maximize=True,
        offset=data.offset_weight,
    )


# --------------------------------------------------------------------------- p-median


#: Largest demand × site matrix the p-median start heuristic works on densely.
HEURISTIC_PAIR_LIMIT = 20_000_000
#: Operations the swap phase of the p-median start may spend (p × n × m per swap).
SWAP_WORK_LIMIT = 3e9


def _p_median_start(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    dist: NDArray[np.float64],
    shape: tuple[int, int],
    weight: NDArray[np.float64],
    p: int,
    forced: NDArray[np.bool_],
    banned: NDArray[np.bool_],
    max_swaps: int = 500,
) -> NDArray[np.bool_] | None:
    """Return ``p`` good open sites: greedy, then best-improvement swaps (Whitaker's interchange).

    The MILP solver receives it as its first incumbent, so its search starts
    from a near-optimal plan (and reduced-cost fixing bites at the root).
    """
    n_demand, n_sites = shape
    if n_demand * n_sites > HEURISTIC_PAIR_LIMIT or n_demand == 0:
        return None
    big = 10.0 * (float(dist.max()) + 1.0) if len(dist) else 1.0
    matrix = np.full(shape, big)
    matrix[rows, cols] = dist
    matrix[:, banned] = np.inf
    open_mask = forced.copy()

    def nearest_two(
        mask: NDArray[np.bool_],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
        sub = matrix[:, mask]
        index = np.flatnonzero(mask)
        if sub.shape[1] == 0:
            return np.full(n_demand, big * 10), np.full(n_demand, big * 10), np.full(n_demand, -1)
        if sub.shape[1] == 1:
            return sub[:, 0], np.full(n_demand, big * 10), np.full(n_demand, index[0])
        part = np.argpartition(sub, 1, axis=1)[:, :2]
        first = np.take_along_axis(sub, part, axis=1)
        swap = first[:, 1] < first[:, 0]
        part[swap] = part[swap][:, ::-1]
        first.sort(axis=1)
        return first[:, 0], first[:, 1], index[part[:, 0]]

    d1, d2, near = nearest_two(open_mask)
    while open_mask.sum() < p:
        gain = weight @ np.maximum(d1[:, None] - matrix, 0.0)
        gain[open_mask | banned] = -np.inf
        best = int(np.argmax(gain))
        if not np.isfinite(gain[best]):
            return None
        open_mask[best] = True
        d1, d2, near = nearest_two(open_mask)
    free = open_mask & ~forced
    # Each swap evaluation costs about p × n × m operations: bound the total work.
    work_per_swap = max(1, p * n_demand * n_sites)
    max_swaps = min(max_swaps, max(5, int(SWAP_WORK_LIMIT // work_per_swap)))
    for _ in range(max_swaps):
        if not free.any():
            break
        cost = float(weight @ d1)
        open_index = np.flatnonzero(open_mask)
        position = np.full(n_sites, -1)
        position[open_index] = np.arange(len(open_index))
        # gain(j): saving from adding j; loss(r): cost of removing r; extra(j, r): correction.
        closer = np.maximum(d1[:, None] - matrix, 0.0)
        gain = weight @ closer
        loss = np.bincount(position[near], weights=weight * (d2 - d1), minlength=len(open_index))
        correction = weight[:, None] * np.maximum(
            d2[:, None] - np.maximum(matrix, d1[:, None]), 0.0
        )
        assign = np.zeros((len(open_index), n_demand))
        assign[position[near], np.arange(n_demand)] = 1.0
        extra = (assign @ correction).T  # sites × open
        profit = gain[:, None] - loss[None, :] + extra
        profit[open_mask | banned, :] = -np.inf
        profit[:, forced[open_index]] = -np.inf
        j, r = np.unravel_index(int(np.argmax(profit)), profit.shape)
        if not profit[j, r] > 1e-9 * max(cost, 1.0):
            break
        open_mask[open_index[r]] = False
        open_mask[j] = True
        free = open_mask & ~forced
        d1, d2, near = nearest_two(open_mask)
    return open_mask


#: p-median methods: ``"radius"`` (the radius formulation, solved whole), ``"benders"``
#: (branch-and-Benders-cut on its projection, :mod:`netplan.locate.benders`) and ``"auto"``
#: (Benders whenever the start heuristic runs and the solver is HiGHS).
P_MEDIAN_METHODS = ("auto", "radius", "benders")


@dataclass
class _Pairs:
    """The allowed (point, site) pairs of a p-median, sorted by point then distance."""

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    dist: NDArray[np.float64]
    n_demand: int
    n_sites: int


def _p_median_pairs(
    matrix: sp.csr_array,
    weight: NDArray[np.float64],
    banned: NDArray[np.bool_],
    max_distance: float | None,
    ids: NDArray[Any],
) -> _Pairs:
    """Return the allowed pairs, or raise when a point has none (with the diagnosis)."""
    n_demand, n_sites = matrix.shape
    keep_entry = ~banned[matrix.indices]
    if max_distance is not None:
        keep_entry &= matrix.data <= max_distance
    rows = row_ids(matrix)[keep_entry]
    cols = matrix.indices[keep_entry].astype(np.int64)
    dist = matrix.data[keep_entry]
    per_row = np.bincount(rows, minlength=n_demand)
    if (per_row == 0).any():
        missing = np.flatnonzero(per_row == 0)
        share = float(weight[per_row > 0].sum() / max(weight.sum(), 1e-300))
        msg = (
            "p-median is infeasible: some demand points have no allowed site"
            + (f" within {max_distance:g}" if max_distance is not None else "")
            + f" (best achievable weighted coverage {share:.2%}); "
            + uncovered_message(ids[missing])
        )
        raise InfeasibleError(msg)
    order = np.lexsort((cols, dist, rows))
    return _Pairs(rows[order], cols[order], dist[order], n_demand, n_sites)


def _radius_program(
    pairs: _Pairs,
    weight: NDArray[np.float64],
    p: int,
    forced: NDArray[np.bool_],
    banned: NDArray[np.bool_],
    chosen: NDArray[np.bool_] | None,
) -> tuple[MilpArrays, int]:
    """Return the radius formulation over the pairs whose site is not ``banned``, and its levels.

    ``chosen`` (``p`` open sites, none banned) becomes the MIP start.
    """
    n_demand, n_sites = pairs.n_demand, pairs.n_sites
    keep = ~banned[pairs.cols]
    rows, cols, dist = pairs.rows[keep], pairs.cols[keep], pairs.dist[keep]
    per_row = np.bincount(rows, minlength=n_demand)
    starts = np.concatenate([[0], np.cumsum(per_row)])
    n_allowed = int((~banned).sum())
    # Rows listing every allowed site: one of the (m - p + 1) nearest is open, drop farther levels.
    complete = per_row == n_allowed
    if complete.any():
        cut_position = starts[:-1] + np.maximum(per_row - p, 0)
        cutoff = np.where(complete, dist[np.minimum(cut_position, len(dist) - 1)], np.inf)
        keep = dist <= cutoff[rows]
        rows, cols, dist = rows[keep], cols[keep], dist[keep]
    # Distinct distance levels per demand point.
    new_level = np.ones(len(rows), dtype=bool)
    new_level[1:] = (rows[1:] != rows[:-1]) | (dist[1:] != dist[:-1])
    level_global = np.cumsum(new_level) - 1  # constraint row of each entry
    n_levels = int(level_global[-1]) + 1
    level_row = rows[new_level]  # demand point of each level
    level_value = dist[new_level]
    first_level = np.ones(n_levels, dtype=bool)
    first_level[1:] = level_row[1:] != level_row[:-1]
    last_level = np.ones(n_levels, dtype=bool)
    last_level[:-1] = level_row[1:] != level_row[:-1]
    # z variable for every level except each point's first: z_(level) = "distance >= this level".
    z_of_level = np.cumsum(~first_level) - 1
    n_z = int((~first_level).sum())
    n_y = n_sites
    z_levels = np.flatnonzero(~first_level)
    z_cost = weight[level_row[z_levels]] * (level_value[z_levels] - level_value[z_levels - 1])
    offset = float(weight[level_row[first_level]] @ level_value[first_level])
    # Row L of point i: y(level L) + z(L+1) - z(L) >= [L is first].
    plus_levels = np.flatnonzero(~last_level)  # z of the next level enters with +1
    all_rows = np.concatenate([level_global, plus_levels, z_levels])
    all_cols = np.concatenate([cols, n_y + z_of_level[plus_levels + 1], n_y + z_of_level[z_levels]])
    all_data = np.concatenate(
        [np.ones(len(cols)), np.ones(len(plus_levels)), -np.ones(len(z_levels))]
    )
    body = sp.csr_array((all_data, (all_rows, all_cols)), shape=(n_levels, n_y + n_z))
    count_row = sp.csr_array(
        (np.ones(n_y), (np.zeros(n_y, dtype=np.int64), np.arange(n_y))), shape=(1, n_y + n_z)
    )
    start = None
    if chosen is not None:
        nearest = np.full(n_demand, np.inf)
        np.minimum.at(nearest, rows, np.where(chosen[cols], dist, np.inf))
        z_start = (level_value[z_levels] <= nearest[level_row[z_levels]]).astype(np.float64)
        start = np.concatenate([chosen.astype(np.float64), z_start])
    program = MilpArrays(
        start=start,
        # With a swap-optimised start, HiGHS's own primal heuristics mostly cost time.
        highs_options={"mip_heuristic_effort": 0.0} if start is not None else {},
        objective=np.concatenate([np.zeros(n_y), z_cost]),
        col_lower=np.concatenate([forced.astype(np.float64), np.zeros(n_z)]),
        col_upper=np.concatenate([np.where(banned, 0.0, 1.0), np.full(n_z, np.inf)]),
        integer=np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_z, dtype=bool)]),
        matrix=sp.csr_array(sp.vstack([body, count_row], format="csr")),
        row_lower=np.concatenate([first_level.astype(np.float64), [float(p)]]),
        row_upper=np.concatenate([np.full(n_levels, np.inf), [float(p)]]),
        offset=offset,
    )
    return program, n_levels


def _p_median_decode(
    matrix: sp.csr_array,
    weight: NDArray[np.float64],
    max_distance: float | None,
    outcome: SolveOutcome,
    bound: float | None,
    build: float,
    details: dict[str, Any],
) -> LocateResult:
    """Return the result, its objective re-evaluated exactly from ``matrix``."""
    n_sites = matrix.shape[1]
    open_sites = np.zeros(n_sites, dtype=bool)
    if outcome.values is not None:
        open_sites = outcome.values[:n_sites] > 0.5
    allowed = matrix.copy()
    if max_distance is not None:
        allowed.data = np.where(allowed.data <= max_distance, allowed.data, np.inf)
    site, distance = nearest_open(allowed, open_sites)
    distance = np.where(site >= 0, distance, np.inf)
    objective = (
        float(weight @ np.where(np.isfinite(distance), distance, 0.0))
        if outcome.values is not None
        else None
    )
    status = outcome.status
    if objective is not None and bound is not None and relative_gap(objective, bound) == 0.0:
        status = "optimal"
    return LocateResult(
        model="p-median",
        status=status,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
        build_seconds=build,
        solve_seconds=outcome.solve_seconds,
        solver=outcome.solver,
        open_sites=open_sites,
        assigned_site=site,
        assigned_distance=distance,
        covered_share=(site >= 0).astype(np.float64),
        details=details,
    )


def _p_median_by_benders(
    matrix: sp.csr_array,
    pairs: _Pairs,
    weight: NDArray[np.float64],
    p: int,
    forced: NDArray[np.bool_],
    banned: NDArray[np.bool_],
    chosen: NDArray[np.bool_],
    max_distance: float | None,
    settings: SolverSettings,
    started: float,
) -> LocateResult:
    """Solve the p-median by branch-and-Benders-cut from the plan ``chosen``."""
    solution = p_median_benders(
        pairs.rows,
        pairs.cols,
        pairs.dist,
        matrix.shape,
        weight,
        p,
        forced,
        banned,
        chosen,
        time_limit=settings.time_limit,
        gap=settings.gap,
    )
    build = time.perf_counter() - started - solution.seconds
    gap = relative_gap(solution.objective, solution.lower)
    proven = solution.optimal or (gap is not None and gap <= settings.gap)
    outcome = SolveOutcome(
        status="optimal" if proven else "feasible",
        objective=solution.objective,
        best_bound=solution.lower,
        gap=gap,
        values=solution.plan.astype(np.float64),
        solve_seconds=solution.seconds,
        solver="highs",
    )
    root = solution.root
    details = {
        "method": "benders",
        "benders_root_bound": root.lower,
        "benders_cuts": root.n_cuts,
        "benders_nodes": solution.master_rounds,
        "benders_lp_solves": solution.lp_solves,
        "benders_strong_probes": solution.strong_solves,
        "n_sites_fixed_closed": int(root.fix_closed.sum()),
        "n_sites_fixed_open": int(root.fix_open.sum()),
    }
    return _p_median_decode(matrix, weight, max_distance, outcome, solution.lower, build, details)


def p_median(
    distances: Any,
    *,
    p: int,
    weights: ArrayLike | None = None,
    max_distance: float | None = None,
    forced_open: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    settings: SolverSettings | None = None,
    demand_ids: ArrayLike | None = None,
    heuristic: bool = True,
    method: str = "auto",
) -> LocateResult:
    """Open ``p`` sites minimising the total weighted distance to the nearest open site.

    Parameters
    ----------
    distances
        Demand × site distances: a dense array (every pair allowed) or a
        sparse matrix whose stored entries are the allowed pairs.
    p
        Number of sites to open.
    weights
        Demand weights (1 each when ``None``).
    max_distance
        Pairs farther than this are not allowed (each point must then have an
        open site within it).
    forced_open, excluded
        Sites that must be open / may not open.
    settings
        Solver settings.
    demand_ids
        Names of the demand points, for the infeasibility diagnosis.
    heuristic
        Start the solver from a greedy + swap (fast interchange) solution.
    method
        ``"radius"``: the radius formulation solved whole by the MILP solver;
        ``"benders"`` / ``"auto"`` (default): branch-and-Benders-cut
        (:mod:`netplan.locate.benders`) whenever the start heuristic runs and
        the solver is HiGHS, else the radius formulation.

    Returns
    -------
    LocateResult
        ``objective`` is exactly ``sum(weight × distance)`` over the
        assignment of every point to its nearest open site; ``best_bound`` is
        the search's (or the solver's) proven lower bound.
    """
    started = time.perf_counter()
    if method not in P_MEDIAN_METHODS:
        msg = f"unknown p-median method {method!r}; use one of {', '.join(P_MEDIAN_METHODS)}"
        raise InputError(msg)
    matrix = as_csr(distances, what="distances")
    n_demand, n_sites = matrix.shape
    weight = _weights(weights, n_demand)
    forced = _site_mask(forced_open, n_sites, "forced_open")
    banned = _site_mask(excluded, n_sites, "excluded") & ~forced
    ids = np.asarray(demand_ids, dtype=object) if demand_ids is not None else np.arange(n_demand)
    if not 1 <= p <= int((~banned).sum()):
        n_allowed_sites = int((~banned).sum())
        msg = f"`p` must be between 1 and the number of allowed sites ({n_allowed_sites}), got {p}"
        raise InputError(msg)
    if int(forced.sum()) > p:
        msg = f"{int(forced.sum())} sites are forced open but `p` is {p}"
        raise InfeasibleError(msg)
    if (matrix.data < 0).any():
        msg = "`distances` must be 0 or more"
        raise InputError(msg)
    pairs = _p_median_pairs(matrix, weight, banned, max_distance, ids)
    settings = settings or SolverSettings()
    chosen = None
    if heuristic:
        chosen = _p_median_start(
            pairs.rows, pairs.cols, pairs.dist, matrix.shape, weight, p, forced, banned
        )
    if chosen is not None:
        # The start serves every point with an allowed site, or it is no plan (sparse input).
        nearest = np.full(n_demand, np.inf)
        np.minimum.at(nearest, pairs.rows, np.where(chosen[pairs.cols], pairs.dist, np.inf))
        feasible_start = bool(np.isfinite(nearest).all())
    if chosen is not None and feasible_start and method != "radius" and settings.solver == "highs":
        return _p_median_by_benders(
            matrix, pairs, weight, p, forced, banned, chosen, max_distance, settings, started
        )
    program, n_levels = _radius_program(pairs, weight, p, forced, banned, chosen)
    details = {
        "method": "radius",
        "n_rows": program.n_rows,
        "n_columns": program.n_columns,
        "n_levels": n_levels,
    }
    build = time.perf_counter() - started
    outcome = solve_milp(program, settings)
    if outcome.status == "infeasible":
        msg = (
            f"p-median is infeasible: no {p} open sites give every demand point an allowed site"
            + (f" within {max_distance:g}" if max_distance is not None else "")
            + "; raise `p` or the maximum distance"
        )
        raise InfeasibleError(msg)
    bound = outcome.best_bound
    return _p_median_decode(matrix, weight, max_distance, outcome, bound, build, details)


# --------------------------------------------------------------------------- capacitated


def capacitated(
    distances: Any,
    *,
    weights: ArrayLike | None = None,
    fixed_costs: ArrayLike | None = None,
    capacities: ArrayLike | None = None,
    cost_per_unit_distance: float = 1.0,
    assignment_costs: Any = None,
    single_source: bool = False,
    p: int | None = None,
    forced_open: ArrayLike | None = None,
    excluded: ArrayLike | None = None,
    settings: SolverSettings | None = None,
    demand_ids: ArrayLike | None = None,
) -> LocateResult:
    """Open sites and assign all demand minimising fixed plus assignment cost under capacities.

    Parameters
    ----------
    distances
        Demand × site distances (dense: every pair allowed; sparse: the
        stored pairs).
    weights
        Demand weights (1 each when ``None``).
    fixed_costs
        Fixed cost per site (0 when ``None``).
    capacities
        Most demand weight a site serves (``inf`` for none); ``None``: uncapacitated.
    cost_per_unit_distance
        Assignment cost of one unit of weight over one unit of distance:
        pair cost = ``cost_per_unit_distance × weight × distance``.
    assignment_costs
        Cost of serving a point's whole demand from a site, same shape as
        ``distances``; replaces the distance-based cost (OR-Library style).
    single_source
        ``True``: each point is served by one site; ``False``: demand may split.
    p
        Optional number of sites to open (at most).
    forced_open, excluded
        Sites that must be open / may not open.
    settings
        Solver settings.
    demand_ids
        Names of the demand points, for the infeasibility diagnosis.

    Returns
    -------
    LocateResult
        ``assignment`` holds each point's share served by each site.
    """
    started = time.perf_counter()
    matrix = as_csr(distances, what="distances")
    n_demand, n_sites = matrix.shape
    weight = _weights(weights, n_demand)
    fixed = _site_vector(fixed_costs, n_sites, "fixed_costs", 0.0)
    capacity = _site_vector(capacities, n_sites, "capacities", np.inf)
    forced = _site_mask(forced_open, n_sites, "forced_open")
    banned = _site_mask(excluded, n_sites, "excluded") & ~forced
    ids = np.asarray(demand_ids, dtype=object) if demand_ids is not None else np.arange(n_demand)
    rows, cols, pair_cost = _capacitated_pairs(
        matrix, weight, capacity, banned, ids, cost_per_unit_distance, assignment_costs
    )
    program = _capacitated_program(
        rows, cols, pair_cost, weight, fixed, capacity, forced, banned, single_source, p
    )
    build = time.perf_counter() - started
    outcome = solve_milp(program, settings)
    if outcome.status == "infeasible":
        msg = (
            "the capacitated model is infeasible: the sites allowed to open "
            "cannot serve all demand "
            "within their capacities"
            + (f" with at most {p} sites" if p is not None else "")
            + (" from one site each" if single_source else "")
            + "; add capacity or candidates"
        )
        raise InfeasibleError(msg)
    open_sites = np.zeros(n_sites, dtype=bool)
    assignment = None
    site = np.full(n_demand, -1, dtype=np.int64)
    distance = np.full(n_demand, np.inf)
    share = np.zeros(n_demand)
    if outcome.values is not None:
        open_sites = outcome.values[:n_sites] > 0.5
        x = np.clip(outcome.values[n_sites:], 0.0, 1.0)
        x[x < 1e-9] = 0.0
        assignment = sp.csr_array((x, (rows, cols)), shape=(n_demand, n_sites))
        assignment.eliminate_zeros()
        share = np.asarray(assignment.sum(axis=1)).ravel()
        # Main server: the site carrying the largest share (ties: lowest index).
        main = sp.csr_array(assignment)
        main.data = -main.data
        site, _ = nearest_open(main, np.ones(n_sites, dtype=bool))
        has = site >= 0
        distance[has] = np.asarray(matrix[np.flatnonzero(has), site[has]]).ravel()
    return LocateResult(
        model="capacitated",
        status=outcome.status,
        objective=outcome.objective,
        best_bound=outcome.best_bound,
        gap=outcome.gap,
        build_seconds=build,
        solve_seconds=outcome.solve_seconds,
        solver=outcome.solver,
        open_sites=open_sites,
        assigned_site=site,
        assigned_distance=distance,
        covered_share=share,
        assignment=assignment,
        details={"n_rows": program.n_rows, "n_columns": program.n_columns},
    )


def _capacitated_pairs(
    matrix: sp.csr_array,
    weight: NDArray[np.float64],
    capacity: NDArray[np.float64],
    banned: NDArray[np.bool_],
    ids: NDArray[Any],
    cost_per_unit_distance: float,
    assignment_costs: Any,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Return the allowed (point, site) pairs and their costs; refuse what cannot be served."""
    n_demand = matrix.shape[0]
    if assignment_costs is not None:
        pair_costs = as_csr(assignment_costs, what="assignment_costs")
        if pair_costs.shape != matrix.shape:
            msg = f"`assignment_costs` must have the shape of `distances` {matrix.shape}"
            raise InputError(msg)
        matrix = pair_costs
        pair_value = pair_costs.data
    else:
        pair_value = cost_per_unit_distance * weight[row_ids(matrix)] * matrix.data
    keep = ~banned[matrix.indices] & (weight[row_ids(matrix)] > 0)
    rows = row_ids(matrix)[keep]
    cols = matrix.indices[keep].astype(np.int64)
    served = np.bincount(rows, minlength=n_demand) > 0
    need = weight > 0
    if (need & ~served).any():
        missing = np.flatnonzero(need & ~served)
        best = float(weight[served].sum() / max(weight.sum(), 1e-300))
        msg = (
            "the capacitated model is infeasible: some demand points have no allowed site "
            f"(best achievable weighted coverage {best:.2%}); " + uncovered_message(ids[missing])
        )
        raise InfeasibleError(msg)
    if float(capacity[~banned].sum()) + 1e-9 < float(weight.sum()):
        msg = (
            "the capacitated model is infeasible: total capacity "
            f"{float(capacity[~banned].sum()):,.2f} "
            f"is less than total demand {float(weight.sum()):,.2f}"
        )
        raise InfeasibleError(msg)
    return rows, cols, pair_value[keep]


def _capacitated_program(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    pair_cost: NDArray[np.float64],
    weight: NDArray[np.float64],
    fixed: NDArray[np.float64],
    capacity: NDArray[np.float64],
    forced: NDArray[np.bool_],
    banned: NDArray[np.bool_],
    single_source: bool,
    p: int | None,
) -> MilpArrays:
    """Return the capacitated facility location MILP over the allowed pairs."""
    n_demand, n_y, n_x = len(weight), len(fixed), len(rows)
    n_cols = n_y + n_x
    x_index = n_y + np.arange(n_x)
    need = weight > 0
    # Each point fully served: sum_j x_ij = 1.
    assign_rows = sp.csr_array((np.ones(n_x), (rows, x_index)), shape=(n_demand, n_cols))
    assign_rows = assign_rows[np.flatnonzero(need)]
    # Linking x_ij <= y_j.
    link = sp.csr_array(
        (
            np.concatenate([np.ones(n_x), -np.ones(n_x)]),
            (np.concatenate([np.arange(n_x), np.arange(n_x)]), np.concatenate([x_index, cols])),
        ),
        shape=(n_x, n_cols),
    )
    blocks = [assign_rows, link]
    lower = [np.ones(assign_rows.shape[0]), np.full(n_x, -np.inf)]
    upper = [np.ones(assign_rows.shape[0]), np.zeros(n_x)]
    every_site = (np.zeros(n_y, dtype=np.int64), np.arange(n_y))
    limited = np.isfinite(capacity)
    if limited.any():
        # sum_i w_i x_ij - s_j y_j <= 0 for sites with a capacity.
        site_rows = np.cumsum(limited) - 1
        entry_limited = limited[cols]
        cap_matrix = sp.csr_array(
            (
                np.concatenate([weight[rows[entry_limited]], -capacity[limited]]),
                (
                    np.concatenate([site_rows[cols[entry_limited]], np.arange(int(limited.sum()))]),
                    np.concatenate([x_index[entry_limited], np.flatnonzero(limited)]),
                ),
            ),
            shape=(int(limited.sum()), n_cols),
        )
        blocks.append(cap_matrix)
        lower.append(np.full(int(limited.sum()), -np.inf))
        upper.append(np.zeros(int(limited.sum())))
        if limited.all():
            # Aggregate capacity: sum_j s_j y_j >= total demand (a valid, strengthening cut).
            blocks.append(sp.csr_array((capacity, every_site), shape=(1, n_cols)))
            lower.append(np.array([float(weight.sum())]))
            upper.append(np.array([np.inf]))
    if p is not None:
        blocks.append(sp.csr_array((np.ones(n_y), every_site), shape=(1, n_cols)))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([float(p)]))
    return MilpArrays(
        objective=np.concatenate([fixed, pair_cost]),
        col_lower=np.concatenate([forced.astype(np.float64), np.zeros(n_x)]),
        col_upper=np.concatenate([np.where(banned, 0.0, 1.0), np.ones(n_x)]),
        integer=np.concatenate([np.ones(n_y, dtype=bool), np.full(n_x, single_source)]),
        matrix=sp.csr_array(sp.vstack(blocks, format="csr")),
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
    )
