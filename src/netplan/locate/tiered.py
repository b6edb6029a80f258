r"""The tiered model: hubs, stations and points with the support chain.

Sites of several tiers are candidates at once; each reaches the demand within
its own (grade-dependent) promise, already encoded in the reach matrix.

Variables: :math:`y_j \in \{0, 1\}` (site open), :math:`z_i \in [0, 1]`
(share of point :math:`i` covered) and, with capacities,
:math:`x_{ij} \in [0, 1]` (share of :math:`i` served by :math:`j`).

* Status: ``existing`` sites are kept (:math:`y_j = 1`) unless
  ``allow_close``; ``required`` sites are forced open; ``closed`` and
  ``competitor`` sites (and sites without a tier) never open.
* Coverage: :math:`z_i \le \sum_{j \in N(i)} y_j`; with capacities
  :math:`z_i = \sum_j x_{ij}`, :math:`x_{ij} \le y_j`,
  :math:`\sum_i w_i x_{ij} \le s_j y_j`.
* Support chain: a new site of a tier with a parent needs an open parent-tier
  site within the support radius, :math:`y_j \le \sum_{h \in P(j)} y_h`
  (existing sites are exempt: they run today).
* Cost (the net change of yearly fixed cost):
  :math:`C(y) = \sum_{j\,new} f_j y_j - \sum_{j\,existing} (f_j - c^{close}) (1 - y_j)`
  — closing an existing site saves its fixed cost less the closing cost.
* Objective: ``"min_cost"``: minimise :math:`C(y)` s.t.
  :math:`\sum_i w_i z_i \ge t W` (coverage target :math:`t`, :math:`W` the
  total weight); ``"max_coverage"``: maximise :math:`\sum_i w_i z_i` s.t.
  :math:`C(y) \le B`. Either may add a budget, a total count ``p`` and counts
  per tier (at most that many open sites, kept ones included). A second,
  lexicographic pass then takes the cheapest plan at the optimal coverage (or
  the best-covering plan at the optimal cost), so no useless site is opened.
* Grade requirements: points of a grade listed in ``grade_min_tier`` must be
  covered by an open site of that tier or a tier above it in the support
  chain, wherever such a candidate reaches them.

On large uncapacitated models a Lagrangian phase
(:mod:`netplan.locate.lagrangian`) runs before the MILP: a second bound,
reduced-cost fixing and a heuristic start. The bound reported is the better
of the solver's and the Lagrangian's (``details["bound_source"]``), and the
gap compares it with the plan re-evaluated from the reach matrix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan.errors import InfeasibleError, InputError
from netplan.locate._checks import COVERAGE_TOLERANCE, MAX_AMOUNT, check_amounts
from netplan.locate._matrix import merge_identical_rows, nearest_open, row_ids, structure
from netplan.locate.countsplit import CountSplit, solve_by_counts
from netplan.locate.heuristics import (
    CoverNeighbourhood,
    improve_max_coverage,
    improve_min_cost,
)
from netplan.locate.lagrangian import LagrangianProblem, LagrangianResult, lagrangian_bound
from netplan.locate.models import LocateResult, net_cost_terms, uncovered_message
from netplan.locate.solve import (
    MilpArrays,
    SolveOutcome,
    SolverSession,
    SolverSettings,
    relative_gap,
    solve_milp,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["LAGRANGIAN_SIZE", "METHODS", "OBJECTIVES", "TieredOptions", "openable_sites", "tiered"]

#: Objectives of the tiered model.
OBJECTIVES = ("min_cost", "max_coverage")
#: How the tiered model is solved (see :func:`tiered`).
METHODS = ("auto", "counts", "lagrangian", "local", "milp")
#: Site columns × merged demand rows from which ``"auto"`` adds the Lagrangian phase.
LAGRANGIAN_SIZE = 4_000_000
#: Share of the time limit the Lagrangian phase may take (and at most this many seconds).
LAGRANGIAN_SHARE, LAGRANGIAN_SECONDS = 0.15, 10.0
#: Share of the time limit the tier-count split leaves to the lexicographic second pass.
POLISH_SHARE = 0.1


@dataclass(frozen=True)
class TieredOptions:
    """What the tiered model optimises and under which limits.

    Attributes
    ----------
    objective
        ``"min_cost"`` (needs ``coverage_target``; a budget is then a cap) or
        ``"max_coverage"`` (needs ``budget``, ``p`` or ``tier_counts``; a
        coverage target is then not a constraint); ``None`` picks ``min_cost``
        when a coverage target is given without a budget, else ``max_coverage``.
    coverage_target
        Share of total demand weight to cover, in (0, 1].
    budget
        Most net fixed-cost change (new sites' cost less savings from closures).
    p
        Most open sites in total (kept existing sites included).
    tier_counts
        Most open sites per tier.
    allow_close
        Let the model close existing sites.
    closing_cost
        One-off cost of closing an existing site (reduces its saving).
    capacitated
        Respect site capacities, assigning covered demand to covering sites.
    grade_min_tier
        ``{grade: tier}``: points of that grade must be covered by that tier
        or one above it in the support chain.
    support
        Enforce the support chain (hub → station → point).
    """

    objective: str | None = None
    coverage_target: float | None = None
    budget: float | None = None
    p: int | None = None
    tier_counts: Mapping[str, int] = field(default_factory=dict)
    allow_close: bool = False
    closing_cost: float = 0.0
    capacitated: bool = False
    grade_min_tier: Mapping[str, str] = field(default_factory=dict)
    support: bool = True

    def resolved_objective(self) -> str:
        """Return the objective, choosing it from the limits when not set."""
        if self.objective is not None:
            if self.objective not in OBJECTIVES:
                msg = f"unknown objective {self.objective!r}; use one of {', '.join(OBJECTIVES)}"
                raise InputError(msg)
            return self.objective
        if self.coverage_target is not None and self.budget is None:
            return "min_cost"
        # A budget (with or without a target) asks for the best coverage within it; the
        # target is then reported as met or not (set objective = "min_cost" to require it).
        return "max_coverage"

    def check(self) -> None:
        """Raise :class:`InputError` on impossible values or a missing limit."""
        for name, value in (("budget", self.budget), ("closing_cost", self.closing_cost)):
            if value is not None and not (math.isfinite(value) and abs(value) < MAX_AMOUNT):
                msg = (
                    f"`{name}` must be a finite amount below {MAX_AMOUNT:.0e} in size, got {value}"
                )
                raise InputError(msg)
        if self.coverage_target is not None and not 0 < self.coverage_target <= 1:
            msg = f"`coverage_target` must be a share in (0, 1], got {self.coverage_target}"
            raise InputError(msg)
        if self.budget is not None and self.budget < 0 and not self.allow_close:
            msg = f"`budget` must be 0 or more (or allow closing sites), got {self.budget}"
            raise InputError(msg)
        if self.p is not None and self.p < 0:
            msg = f"`p` must be 0 or more, got {self.p}"
            raise InputError(msg)
        objective = self.resolved_objective()
        if objective == "min_cost" and self.coverage_target is None:
            msg = "the min_cost objective needs a coverage target (--coverage-target)"
            raise InputError(msg)
        if (
            objective == "max_coverage"
            and self.budget is None
            and self.p is None
            and not self.tier_counts
        ):
            msg = (
                "maximising coverage needs a limit: a budget (--budget), a site count (--p) "
                "or counts per tier; or give a coverage target to minimise cost"
            )
            raise InputError(msg)


def openable_sites(
    site_tiers: NDArray[Any],
    allowed: NDArray[np.bool_],
    forced: NDArray[np.bool_],
    support: sp.csr_array,
    needs_support: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Return the sites that can open at all once the support chain is respected.

    A site needing support can open only when some site able to open lies
    in its support set; this is iterated to a fixed point (a station whose
    only hub cannot open cannot open either).
    """
    can = allowed.copy()
    while True:
        supported = (support @ can.astype(np.float64)) > 0
        new = allowed & (~needs_support | supported | forced)
        if np.array_equal(new, can):
            return can
        can = new


@dataclass(frozen=True)
class SiteRoles:
    """What each site may do in a tiered model (one boolean per site, and the support matrix).

    Attributes
    ----------
    existing, required
        Sites with a tier and that status.
    allowed
        Sites with a tier that may be open (existing, candidate, required).
    forced
        Sites that must be open: required ones, and existing ones unless closing is allowed.
    need_support
        Sites that open only with a supporting parent open (new sites of a child tier).
    support
        ``support[i, j]`` is non-zero when site ``j`` can support site ``i``.
    can_open
        Allowed sites that can open once the support chain is respected.
    """

    existing: NDArray[np.bool_]
    required: NDArray[np.bool_]
    allowed: NDArray[np.bool_]
    forced: NDArray[np.bool_]
    need_support: NDArray[np.bool_]
    support: sp.csr_array
    can_open: NDArray[np.bool_]


def site_roles(
    tiers: NDArray[Any],
    status: NDArray[Any],
    needs_support: Sequence[bool] | NDArray[np.bool_],
    support: Any,
    *,
    use_support: bool,
    allow_close: bool,
) -> SiteRoles:
    """Return the sites' roles from their tiers and statuses (tiered plans and roadmaps alike)."""
    n_sites = len(tiers)
    has_tier = np.array([t is not None and t == t for t in tiers.tolist()], dtype=bool)
    existing = (status == "existing") & has_tier
    required = (status == "required") & has_tier
    allowed = has_tier & np.isin(status, ["existing", "candidate", "required"])
    forced = required | (existing & (not allow_close))
    need_support = np.asarray(needs_support, dtype=bool) & ~existing & use_support
    if support is None or not use_support:
        support_matrix = sp.csr_array((n_sites, n_sites))
        need_support = np.zeros(n_sites, dtype=bool)
    else:
        support_matrix = sp.csr_array(support)
    can_open = openable_sites(tiers, allowed, forced, support_matrix, need_support)
    return SiteRoles(existing, required, allowed, forced, need_support, support_matrix, can_open)


@dataclass
class _Sites:
    """Phase 1: the sites and demand as the model sees them, and the diagnosis numbers."""

    cover: sp.csr_array
    pattern: sp.csr_array
    weight: NDArray[np.float64]
    total: float
    ids: NDArray[Any]
    tiers: NDArray[Any]
    capacity: NDArray[np.float64]
    existing: NDArray[np.bool_]
    allowed: NDArray[np.bool_]
    forced: NDArray[np.bool_]
    need_support: NDArray[np.bool_]
    support: sp.csr_array
    can_open: NDArray[np.bool_]
    reachable_any: NDArray[np.bool_]
    reachable: NDArray[np.bool_]
    best_share: float
    cost_coef: NDArray[np.float64]
    cost_constant: float

    @property
    def n_demand(self) -> int:
        """Return the number of demand points."""
        return int(self.cover.shape[0])

    @property
    def n_sites(self) -> int:
        """Return the number of sites."""
        return int(self.cover.shape[1])

    def diagnosis(self, prefix: str) -> InfeasibleError:
        """Return the infeasibility error: ``prefix``, the best share and the unreached demand."""
        parts = [
            prefix,
            f"opening every site that can open covers {self.best_share:.2%} of demand weight",
        ]
        unreached = ~self.reachable_any
        if unreached.any():
            parts.append(uncovered_message(self.ids[unreached]))
        only_unsupported = self.reachable_any & ~self.reachable
        if only_unsupported.any():
            parts.append(
                f"{int(only_unsupported.sum())} more point(s) are reached only by sites "
                "that lack a supporting parent site"
            )
        error = InfeasibleError("; ".join(parts))
        error.diagnosis = {  # type: ignore[attr-defined]
            "best_weighted_coverage_rate": self.best_share,
            "unreached_demand_ids": [str(x) for x in self.ids[unreached]],
        }
        return error


@dataclass
class _Model:
    """Phase 2: the MILP's arrays and what is needed to read its solution back."""

    program: MilpArrays
    columns: NDArray[np.int64]
    always: NDArray[np.bool_]
    chained: NDArray[np.bool_]
    y_cost: NDArray[np.float64]
    merged: sp.csr_array
    merged_weight: NDArray[np.float64]
    live: NDArray[np.bool_]
    live_rows: NDArray[np.int64]
    group: NDArray[np.int64]
    by_forced: NDArray[np.bool_]
    offset_weight: float
    x_rows: NDArray[np.int64]
    x_cols: NDArray[np.int64]
    coverage_objective: NDArray[np.float64]
    cost_objective: NDArray[np.float64]
    coverage_needed: float | None
    requirement_rows: int
    cost_constant: float
    budget_left: float

    @property
    def n_y(self) -> int:
        """Return the number of site columns."""
        return len(self.columns)

    @property
    def n_z(self) -> int:
        """Return the number of (merged) demand rows."""
        return int(self.merged.shape[0])

    def single_row(self, columns: NDArray[np.int64], values: NDArray[np.float64]) -> sp.csr_array:
        """Return one constraint row over the model's columns."""
        n_cols = self.program.n_columns
        rows = np.zeros(len(columns), dtype=np.int64)
        return sp.csr_array((values, (rows, columns)), shape=(1, n_cols))


def tiered(
    cover: sp.csr_array,
    *,
    weights: NDArray[np.float64],
    site_tiers: Sequence[Any] | NDArray[Any],
    site_status: Sequence[str] | NDArray[Any],
    fixed_costs: NDArray[np.float64],
    capacities: NDArray[np.float64],
    support: sp.csr_array | None,
    needs_support: NDArray[np.bool_],
    options: TieredOptions,
    tier_ranks: Mapping[str, Sequence[str]] | None = None,
    demand_grades: Sequence[Any] | NDArray[Any] | None = None,
    settings: SolverSettings | None = None,
    demand_ids: Sequence[Any] | NDArray[Any] | None = None,
    polish: bool = True,
    session: SolverSession | None = None,
    local_search: bool = True,
    method: str = "auto",
) -> LocateResult:
    """Solve the tiered model on a reach matrix.

    Parameters
    ----------
    cover
        Demand × site CSR; a stored entry means the site reaches the point
        within its tier's promise for the point's grade (value: distance).
    weights
        Demand weights.
    site_tiers, site_status
        Tier name and status (``existing``, ``candidate``, ``required``,
        ``closed``, ``competitor``) of every site.
    fixed_costs, capacities
        Per site (capacity ``inf`` for none).
    support
        Site × site CSR: entry ``(j, h)`` when ``h`` (of ``j``'s parent tier)
        lies within ``j``'s support radius; ``None`` for no support chain.
    needs_support
        ``True`` for sites whose tier has a parent.
    options
        Objective and limits.
    tier_ranks
        ``{tier: tiers counting as that tier or better}`` for grade requirements.
    demand_grades
        Grade of every demand point (for ``grade_min_tier``).
    settings
        Solver settings.
    demand_ids
        Names of the demand points, for the diagnosis.
    polish
        Run the lexicographic second pass (cheapest plan at the optimal
        coverage, or best coverage at the optimal cost).
    session
        A :class:`~netplan.locate.solve.SolverSession` to reuse between calls
        that differ only in their limits (trade-off curves).
    local_search
        Improve the greedy start, and a time-limited incumbent, by local
        search (:mod:`netplan.locate.heuristics`); models without capacities
        or grade requirements.
    method
        One of :data:`METHODS`: ``"auto"`` (local search; on models of at
        least :data:`LAGRANGIAN_SIZE` site × row pairs, the Lagrangian phase and,
        with HiGHS, the MILP split by tier counts), ``"counts"`` (local search
        and the tier-count split, :mod:`netplan.locate.countsplit`; HiGHS only),
        ``"lagrangian"`` (always the Lagrangian phase: a bound, reduced-cost
        fixing and a heuristic start, :mod:`netplan.locate.lagrangian`; then
        one MILP), ``"local"`` (local search, no Lagrangian phase) or
        ``"milp"`` (the MILP alone). The Lagrangian phase needs the local
        search's view of the model (no capacities, no grade requirements);
        elsewhere it is skipped. The split needs HiGHS; with another solver the
        model is solved whole.

    Returns
    -------
    LocateResult
        With ``details["net_cost"]``, ``details["covered_weight"]`` and, under
        capacities, the fractional ``assignment``.

    Raises
    ------
    InfeasibleError
        With the best achievable coverage and the demand no candidate reaches.
    """
    started = time.perf_counter()
    if method not in METHODS:
        msg = f"unknown tiered method {method!r}; use one of {', '.join(METHODS)}"
        raise InputError(msg)
    options.check()
    objective_kind = options.resolved_objective()
    sites = _site_setup(
        cover, weights, site_tiers, site_status, fixed_costs, capacities, support,
        needs_support, options, demand_ids,
    )  # fmt: skip
    model = _build_model(sites, options, objective_kind, tier_ranks, demand_grades)
    use_search = local_search and method != "milp"
    searcher = _neighbourhood(sites, model, options) if use_search else None
    if searcher is not None and model.program.start is not None:
        better = _search(searcher, model, model.program.start[: model.n_y] > 0.5)
        model.program.start = _values_for(model, better)
    settings = settings or SolverSettings()
    relaxation: _Relaxation | None = None
    if searcher is not None and _wants_lagrangian(method, model):
        relaxation = _lagrangian_phase(searcher, model, options, settings)
        settings = relaxation.settings
    build = time.perf_counter() - started
    if session is None and _wants_counts(method, model, settings):
        # The split keeps a share of the time for the lexicographic second pass.
        split_settings = settings
        if polish and settings.time_limit is not None:
            split_settings = replace(settings, time_limit=(1 - POLISH_SHARE) * settings.time_limit)
        outcome = _solve_by_tier_counts(sites, model, split_settings)
    elif session is not None:
        outcome = session.solve(model.program, settings)
    else:
        outcome = solve_milp(model.program, settings)
    if outcome.status == "infeasible":
        outcome = _explain_infeasible(
            sites, model, options, objective_kind, outcome, settings, searcher
        )
    if relaxation is not None:
        outcome = _keep_relaxation_plan(model, outcome, relaxation)
    if searcher is not None and _improvable(outcome):
        outcome = _improve_incumbent(searcher, model, outcome)
    second: SolveOutcome | None = None
    if polish and outcome.status == "optimal" and outcome.values is not None:
        second = _polish(model, objective_kind, outcome, settings)
    result = _decode(sites, model, options, objective_kind, outcome, second, build)
    split = outcome.extra.get("count_split")
    if isinstance(split, CountSplit):
        result.details["count_split"] = {
            "cells": split.n_cells,
            "cells_closed": split.n_solved,
            "lps": split.n_lps,
            "scan_seconds": split.scan_seconds,
            "root_lp_bound": split.root_bound,
            "by_cell": split.cells,
        }
    return _with_bound(result, model, outcome, relaxation)


def _site_setup(
    cover: sp.csr_array,
    weights: NDArray[np.float64],
    site_tiers: Sequence[Any] | NDArray[Any],
    site_status: Sequence[str] | NDArray[Any],
    fixed_costs: NDArray[np.float64],
    capacities: NDArray[np.float64],
    support: sp.csr_array | None,
    needs_support: NDArray[np.bool_],
    options: TieredOptions,
    demand_ids: Sequence[Any] | NDArray[Any] | None,
) -> _Sites:
    """Phase 1: statuses, the support chain, what can open, costs; refuse what cannot work."""
    cover = sp.csr_array(cover)
    n_demand = cover.shape[0]
    weight = np.asarray(weights, dtype=np.float64)
    tiers = np.asarray(site_tiers, dtype=object)
    status = np.asarray(site_status, dtype=object)
    fixed = np.asarray(fixed_costs, dtype=np.float64)
    ids = np.asarray(demand_ids, dtype=object) if demand_ids is not None else np.arange(n_demand)
    check_amounts(weight, "demand weights")
    check_amounts(fixed, "site fixed costs")
    total = float(weight.sum())

    roles = site_roles(
        tiers, status, needs_support, support, use_support=bool(options.support),
        allow_close=options.allow_close,
    )  # fmt: skip
    existing, allowed, forced = roles.existing, roles.allowed, roles.forced
    need_support, support_matrix, can_open = roles.need_support, roles.support, roles.can_open
    unsupported_forced = forced & ~can_open
    pattern = structure(cover)
    if unsupported_forced.any():
        names = ", ".join(str(i) for i in np.flatnonzero(unsupported_forced)[:10])
        msg = f"required site(s) at index {names} have no supporting parent site that can open"
        raise InfeasibleError(msg)

    # Diagnosis numbers: what opening everything that can open would cover.
    reachable_any = (pattern @ allowed.astype(np.float64)) > 0
    reachable = (pattern @ can_open.astype(np.float64)) > 0
    best_share = float(weight[reachable].sum() / total) if total > 0 else 1.0
    # Net cost coefficients: new sites cost f; keeping an existing site forgoes (f - closing cost).
    cost_coef, cost_constant = net_cost_terms(fixed, existing, options.closing_cost)
    sites = _Sites(
        cover=cover,
        pattern=pattern,
        weight=weight,
        total=total,
        ids=ids,
        tiers=tiers,
        capacity=np.asarray(capacities, dtype=np.float64),
        existing=existing,
        allowed=allowed,
        forced=forced,
        need_support=need_support,
        support=support_matrix,
        can_open=can_open,
        reachable_any=reachable_any,
        reachable=reachable,
        best_share=best_share,
        cost_coef=cost_coef,
        cost_constant=cost_constant,
    )
    target = options.coverage_target
    if target is not None and best_share < target - COVERAGE_TOLERANCE:
        raise sites.diagnosis(f"coverage target {target:.2%} cannot be met")
    forced_cost = float(sites.cost_coef[forced].sum()) + sites.cost_constant
    if options.budget is not None and forced_cost > options.budget + 1e-6:
        msg = (
            f"the budget {options.budget:,.2f} is less than the cost of the sites that must open "
            f"({forced_cost:,.2f}: required sites, and kept sites unless closing is allowed)"
        )
        raise InfeasibleError(msg)
    return sites


def _site_columns(sites: _Sites) -> tuple[NDArray[np.int64], sp.csr_array]:
    """Return the columns (the sites that can open) and the demand × column cover."""
    columns = np.flatnonzero(sites.can_open)
    column_of = np.full(sites.n_sites, -1, dtype=np.int64)
    column_of[columns] = np.arange(len(columns))
    pattern = sites.pattern
    entry_keep = sites.can_open[pattern.indices]
    entry_rows = row_ids(pattern)[entry_keep]
    entry_cols = column_of[pattern.indices[entry_keep]]
    site_cover = sp.csr_array(
        (np.ones(len(entry_rows)), (entry_rows, entry_cols)), shape=(sites.n_demand, len(columns))
    )
    site_cover.sort_indices()
    return columns, site_cover


def _requirement_groups(
    sites: _Sites,
    columns: NDArray[np.int64],
    options: TieredOptions,
    tier_ranks: Mapping[str, Sequence[str]] | None,
    demand_grades: Sequence[Any] | NDArray[Any] | None,
) -> tuple[NDArray[np.int64], list[NDArray[np.bool_]]]:
    """Return each point's grade-requirement group (-1: none) and each group's allowed columns."""
    requirement_group = np.full(sites.n_demand, -1, dtype=np.int64)
    allowed_for_group: list[NDArray[np.bool_]] = []
    if options.grade_min_tier:
        if demand_grades is None:
            msg = "`grade_min_tier` needs demand grades (a `grade` column)"
            raise InputError(msg)
        grades = np.asarray(demand_grades, dtype=object)
        column_tiers = sites.tiers[columns].tolist()
        for code, (grade, tier_name) in enumerate(sorted(options.grade_min_tier.items())):
            better = set(tier_ranks.get(tier_name, [tier_name]) if tier_ranks else [tier_name])
            allowed_for_group.append(np.array([t in better for t in column_tiers], dtype=bool))
            requirement_group[grades == grade] = code
    return requirement_group, allowed_for_group


class _Rows:
    """Constraint rows gathered block by block."""

    def __init__(self, n_cols: int) -> None:
        self.n_cols = n_cols
        self.blocks: list[sp.csr_array] = []
        self.lower: list[NDArray[np.float64]] = []
        self.upper: list[NDArray[np.float64]] = []

    def add(
        self,
        data: NDArray[np.float64],
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        n_rows: int,
        lower: float | NDArray[np.float64],
        upper: float | NDArray[np.float64],
    ) -> None:
        """Add ``n_rows`` rows from COO pieces with the bounds given (scalars broadcast)."""
        self.blocks.append(sp.csr_array((data, (rows, cols)), shape=(n_rows, self.n_cols)))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), n_rows).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), n_rows).copy())

    def arrays(self) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.float64]]:
        """Return the matrix and the row bounds."""
        if not self.blocks:
            return sp.csr_array((0, self.n_cols)), np.zeros(0), np.zeros(0)
        matrix = sp.csr_array(sp.vstack(self.blocks, format="csr"))
        return matrix, np.concatenate(self.lower), np.concatenate(self.upper)


def _coverage_rows(
    rows: _Rows,
    sites: _Sites,
    merged: sp.csr_array,
    merged_weight: NDArray[np.float64],
    columns: NDArray[np.int64],
    capacitated: bool,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Add the coverage rows (with capacities, the assignment rows); return the x pairs."""
    n_y, n_z = len(columns), merged.shape[0]
    z_index = n_y + np.arange(n_z)
    if not capacitated:
        # z_i - sum_{j in N(i)} y_j <= 0.
        counts = np.diff(merged.indptr)
        rows.add(
            np.concatenate([np.ones(n_z), -np.ones(len(merged.indices))]),
            np.concatenate([np.arange(n_z), np.repeat(np.arange(n_z), counts)]),
            np.concatenate([z_index, merged.indices.astype(np.int64)]),
            n_z,
            -np.inf,
            0.0,
        )
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # z_i - sum_j x_ij = 0; x_ij - y_j <= 0; sum_i w_i x_ij - s_j y_j <= 0.
    x_rows = row_ids(merged)
    x_cols = merged.indices.astype(np.int64)
    n_x = len(x_rows)
    x_index = n_y + n_z + np.arange(n_x)
    rows.add(
        np.concatenate([np.ones(n_z), -np.ones(n_x)]),
        np.concatenate([np.arange(n_z), x_rows]),
        np.concatenate([z_index, x_index]),
        n_z,
        0.0,
        0.0,
    )
    rows.add(
        np.concatenate([np.ones(n_x), -np.ones(n_x)]),
        np.concatenate([np.arange(n_x), np.arange(n_x)]),
        np.concatenate([x_index, x_cols]),
        n_x,
        -np.inf,
        0.0,
    )
    site_capacity = sites.capacity[columns]
    limited = np.isfinite(site_capacity)
    if limited.any():
        limited_row = np.cumsum(limited) - 1
        entry_limited = limited[x_cols]
        n_limited = int(limited.sum())
        rows.add(
            np.concatenate([merged_weight[x_rows[entry_limited]], -site_capacity[limited]]),
            np.concatenate([limited_row[x_cols[entry_limited]], np.arange(n_limited)]),
            np.concatenate([x_index[entry_limited], np.flatnonzero(limited)]),
            n_limited,
            -np.inf,
            0.0,
        )
    return x_rows, x_cols


def _support_rows(
    rows: _Rows, sites: _Sites, columns: NDArray[np.int64]
) -> tuple[NDArray[np.bool_], sp.csr_array]:
    """Add y_j - sum_{h in P(j)} y_h <= 0 for chained columns; return them and P over columns."""
    chained = sites.need_support[columns]
    column_support = sp.csr_array(sites.support[columns][:, columns])
    if chained.any():
        chained_cols = np.flatnonzero(chained)
        sub = column_support[chained_cols]
        counts = np.diff(sub.indptr)
        n_chained = len(chained_cols)
        rows.add(
            np.concatenate([np.ones(n_chained), -np.ones(len(sub.indices))]),
            np.concatenate([np.arange(n_chained), np.repeat(np.arange(n_chained), counts)]),
            np.concatenate([chained_cols, sub.indices.astype(np.int64)]),
            n_chained,
            -np.inf,
            0.0,
        )
    return chained, column_support


def _chain_rows(
    rows: _Rows,
    merged: sp.csr_array,
    chained: NDArray[np.bool_],
    column_support: sp.csr_array,
    always: NDArray[np.bool_],
) -> int:
    r"""Add the support chain's closure of every coverage row; return how many rows.

    A point is covered only by an open site that reaches it, and a new chained
    site opens only with an open parent, so a covered point needs an open site
    in its neighbourhood with each chained site replaced by its parents, and
    theirs by their own, up the chain: :math:`z_i \le \sum_{h \in L(N(i))} y_h`.
    These are valid inequalities (every plan keeps them) that forbid what the
    plain rows allow the LP: a point served by stations whose hubs are open too
    thinly to support them all. On the national benchmark they raise the
    min-cost LP bound from 22.20 M to 22.69 M. Each row goes up the chain as far
    as it stays useful: a level holding a forced-open site is slack, so the row
    stops at the level below it; rows that no level changes are left out.
    """
    if not chained.any() or merged.shape[0] == 0:
        return 0
    n_y, n_z = len(chained), merged.shape[0]
    # lift: a chained column maps to its parents, any other column to itself.
    keep = sp.diags_array((~chained).astype(np.float64))
    to_parents = sp.diags_array(chained.astype(np.float64)) @ structure(column_support)
    lift = sp.csr_array(keep + to_parents)
    forced = always.astype(np.float64)
    level = structure(merged)
    levels: list[sp.csr_array] = []
    chosen = np.full(n_z, -1, dtype=np.int64)
    for _ in range(n_y):
        lifted = structure(sp.csr_array(level @ lift))
        if not (np.diff(sp.csr_array(lifted != level).indptr) > 0).any():
            break
        useful = ((lifted @ forced) == 0) & (np.diff(sp.csr_array(lifted != merged).indptr) > 0)
        chosen[useful] = len(levels)
        levels.append(lifted)
        level = lifted
    added = 0
    for depth, lifted in enumerate(levels):
        wanted = np.flatnonzero(chosen == depth)
        if not len(wanted):
            continue
        sub = lifted[wanted]
        rows.add(
            np.concatenate([np.ones(len(wanted)), -np.ones(len(sub.indices))]),
            np.concatenate([np.arange(len(wanted)), row_ids(sub)]),
            np.concatenate([n_y + wanted, sub.indices.astype(np.int64)]),
            len(wanted),
            -np.inf,
            0.0,
        )
        added += len(wanted)
    return added


def _requirement_rows(
    rows: _Rows,
    merged: sp.csr_array,
    merged_requirement: NDArray[np.int64],
    allowed_for_group: list[NDArray[np.bool_]],
    always: NDArray[np.bool_],
) -> int:
    """Add sum over allowed covering columns >= 1 for rows not already met; return how many."""
    added = 0
    for code, allowed_columns in enumerate(allowed_for_group):
        rows_here = np.flatnonzero(merged_requirement == code)
        if rows_here.size == 0:
            continue
        sub = merged[rows_here]
        keep = allowed_columns[sub.indices]
        entry_rows = row_ids(sub)[keep]
        entry_cols = sub.indices[keep].astype(np.int64)
        has_allowed = np.bincount(entry_rows, minlength=len(rows_here)) > 0
        met = np.zeros(len(rows_here), dtype=bool)
        if always.any():
            hits = always[entry_cols].astype(np.float64)
            met = np.bincount(entry_rows, weights=hits, minlength=len(rows_here)) > 0
        active = has_allowed & ~met
        if not active.any():
            continue
        renumber = np.cumsum(active) - 1
        take = active[entry_rows]
        n_active = int(active.sum())
        rows.add(
            np.ones(int(take.sum())),
            renumber[entry_rows[take]],
            entry_cols[take],
            n_active,
            1.0,
            np.inf,
        )
        added += n_active
    return added


def _limit_rows(
    rows: _Rows,
    sites: _Sites,
    options: TieredOptions,
    objective_kind: str,
    y_cost: NDArray[np.float64],
    column_tiers: NDArray[Any],
    merged_weight: NDArray[np.float64],
    offset_weight: float,
) -> tuple[float | None, bool]:
    """Add the count, per-tier, budget and coverage-target rows; return the weight needed.

    The second value is ``True`` when the target asks for every reachable row.
    """
    n_y, n_z = len(y_cost), len(merged_weight)
    z_index = n_y + np.arange(n_z)
    one = np.zeros(1, dtype=np.int64)
    if options.p is not None:
        rows.add(np.ones(n_y), np.repeat(one, n_y), np.arange(n_y), 1, -np.inf, float(options.p))
    for tier_name, limit in sorted(options.tier_counts.items()):
        members = np.flatnonzero(column_tiers == tier_name)
        rows.add(
            np.ones(len(members)), np.repeat(one, len(members)), members, 1, -np.inf, float(limit)
        )
    if options.budget is not None:
        rows.add(y_cost, np.repeat(one, n_y), np.arange(n_y), 1, -np.inf,
                 options.budget - sites.cost_constant)  # fmt: skip
    if objective_kind != "min_cost":
        return None, False
    assert options.coverage_target is not None
    # A target at (or within the tolerance of) all the weight the model can reach asks
    # for every reachable row: say so with bounds (z = 1), not with a row that a presolve
    # may find a hair short of its right-hand side.
    reachable_weight = float(merged_weight.sum())
    slack = COVERAGE_TOLERANCE * max(sites.total, 1.0)
    coverage_needed = min(options.coverage_target * sites.total - offset_weight, reachable_weight)
    rows.add(merged_weight, np.repeat(one, n_z), z_index, 1, coverage_needed - slack, np.inf)
    return coverage_needed, coverage_needed >= reachable_weight - slack


def _build_model(
    sites: _Sites,
    options: TieredOptions,
    objective_kind: str,
    tier_ranks: Mapping[str, Sequence[str]] | None,
    demand_grades: Sequence[Any] | NDArray[Any] | None,
) -> _Model:
    """Phase 2: merge demand rows, assemble every constraint block, and the greedy start."""
    columns, site_cover = _site_columns(sites)
    requirement_group, allowed_for_group = _requirement_groups(
        sites, columns, options, tier_ranks, demand_grades
    )
    n_y = len(columns)
    always = sites.forced[columns]
    if options.capacitated:
        by_forced = np.zeros(sites.n_demand, dtype=bool)
    else:
        by_forced = (site_cover @ always.astype(np.float64)) > 0
    weight = sites.weight
    offset_weight = float(weight[by_forced].sum())
    live = (np.diff(site_cover.indptr) > 0) & ~by_forced & (weight > 0)
    live_rows = np.flatnonzero(live)
    live_pattern = site_cover[live_rows]
    group, representative = merge_identical_rows(live_pattern, requirement_group[live_rows])
    merged = live_pattern[representative]
    merged_weight = np.bincount(
        group, weights=weight[live_rows], minlength=len(representative)
    ).astype(np.float64)
    merged_requirement = requirement_group[live_rows][representative]
    n_z = merged.shape[0]
    n_x = len(merged.indices) if options.capacitated else 0
    n_cols = n_y + n_z + n_x

    rows = _Rows(n_cols)
    x_rows, x_cols = _coverage_rows(
        rows, sites, merged, merged_weight, columns, options.capacitated
    )
    chained, column_support = _support_rows(rows, sites, columns)
    _chain_rows(rows, merged, chained, column_support, always)
    requirement_rows = _requirement_rows(
        rows, merged, merged_requirement, allowed_for_group, always
    )
    y_cost = sites.cost_coef[columns]
    column_tiers = sites.tiers[columns]
    coverage_needed, every_row = _limit_rows(
        rows, sites, options, objective_kind, y_cost, column_tiers, merged_weight, offset_weight
    )
    matrix, row_lower, row_upper = rows.arrays()
    col_lower = np.concatenate(
        [always.astype(np.float64), np.full(n_z, 1.0 if every_row else 0.0), np.zeros(n_x)]
    )
    integer = np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_z + n_x, dtype=bool)])
    coverage_objective = np.concatenate([np.zeros(n_y), merged_weight, np.zeros(n_x)])
    cost_objective = np.concatenate([y_cost, np.zeros(n_z + n_x)])
    minimise = objective_kind == "min_cost"
    program = MilpArrays(
        cost_objective if minimise else coverage_objective,
        col_lower,
        np.ones(n_cols),
        integer,
        matrix,
        row_lower,
        row_upper,
        maximize=not minimise,
        offset=sites.cost_constant if minimise else offset_weight,
    )
    if not options.capacitated and requirement_rows == 0 and n_y:
        program.start = _greedy_start(
            program,
            merged=merged,
            merged_weight=merged_weight,
            y_cost=y_cost,
            always=always,
            chained=chained,
            column_support=column_support,
            column_tiers=column_tiers,
            options=options,
            budget_left=None if options.budget is None else options.budget - sites.cost_constant,
            coverage_needed=coverage_needed,
        )
    return _Model(
        program=program,
        columns=columns,
        always=always,
        chained=chained,
        y_cost=y_cost,
        merged=merged,
        merged_weight=merged_weight,
        live=live,
        live_rows=live_rows,
        group=group,
        by_forced=by_forced,
        offset_weight=offset_weight,
        x_rows=x_rows,
        x_cols=x_cols,
        coverage_objective=coverage_objective,
        cost_objective=cost_objective,
        coverage_needed=coverage_needed,
        requirement_rows=requirement_rows,
        cost_constant=sites.cost_constant,
        budget_left=math.inf if options.budget is None else options.budget - sites.cost_constant,
    )


def _neighbourhood(
    sites: _Sites, model: _Model, options: TieredOptions
) -> CoverNeighbourhood | None:
    """Return the local-search view of a model it can move in, else ``None``.

    Min-cost moves never raise the cost, so a budget holds by itself; max-coverage
    moves keep to the budget; counts and the support chain are checked by both.
    """
    if options.capacitated or model.requirement_rows:
        return None
    if model.n_y == 0:
        return None
    return CoverNeighbourhood(
        cover=model.merged,
        weight=model.merged_weight,
        cost=model.y_cost,
        forced=model.always,
        chained=model.chained,
        parents=sp.csr_array(sites.support[model.columns][:, model.columns]),
        tiers=sites.tiers[model.columns],
        tier_limits=dict(options.tier_counts),
        p=options.p,
    )


def _values_for(model: _Model, is_open: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Return the column values of an uncapacitated plan: y, and z = covered rows."""
    covered = (model.merged @ is_open.astype(np.float64)) > 0
    n_rest = model.program.n_columns - model.n_y - model.n_z
    return np.concatenate(
        [is_open.astype(np.float64), covered.astype(np.float64), np.zeros(n_rest)]
    )


def _search(
    searcher: CoverNeighbourhood, model: _Model, is_open: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Return ``is_open`` improved by the local search of the model's objective."""
    if model.coverage_needed is not None:
        return improve_min_cost(searcher, is_open, model.coverage_needed)
    return improve_max_coverage(searcher, is_open, model.budget_left)


def _improvable(outcome: SolveOutcome) -> bool:
    """Return ``True`` for a plan the local search may still improve (not proven best)."""
    if outcome.values is None:
        return False
    if outcome.status == "feasible":
        return True
    # "optimal" within a gap tolerance: a better plan may lie inside the gap.
    return outcome.status == "optimal" and bool(outcome.gap)


def _improve_incumbent(
    searcher: CoverNeighbourhood, model: _Model, outcome: SolveOutcome
) -> SolveOutcome:
    """Return ``outcome`` with its incumbent improved by local search (a time-limited solve)."""
    assert outcome.values is not None
    started = time.perf_counter()
    better = _search(searcher, model, outcome.values[: model.n_y] > 0.5)
    values = _values_for(model, better)
    objective = float(model.program.objective @ values) + model.program.offset
    seconds = outcome.solve_seconds + time.perf_counter() - started
    sign = -1.0 if model.program.maximize else 1.0
    if outcome.objective is not None and sign * objective >= sign * outcome.objective:
        outcome.solve_seconds = seconds
        return outcome
    return replace(
        outcome,
        objective=objective,
        values=values,
        gap=relative_gap(objective, outcome.best_bound),
        solve_seconds=seconds,
        detail=outcome.detail + " (incumbent improved by local search)",
    )


@dataclass
class _Relaxation:
    """What the Lagrangian phase left for the solve: its result, and the solver's time."""

    result: LagrangianResult
    settings: SolverSettings
    n_fixed: int


def _wants_lagrangian(method: str, model: _Model) -> bool:
    """Return ``True`` when ``method`` asks for the Lagrangian phase on this model."""
    if model.program.start is None or model.n_z == 0:
        return False
    if method == "lagrangian":
        return True
    return method == "auto" and model.n_y * model.n_z >= LAGRANGIAN_SIZE


def _wants_counts(method: str, model: _Model, settings: SolverSettings) -> bool:
    """Return ``True`` when ``method`` asks for the tier-count split on this model (HiGHS only)."""
    if settings.solver != "highs" or model.n_y < 2:
        return False
    if method == "counts":
        return True
    return method == "auto" and model.n_y * max(model.n_z, 1) >= LAGRANGIAN_SIZE


def _solve_by_tier_counts(sites: _Sites, model: _Model, settings: SolverSettings) -> SolveOutcome:
    """Solve the model split by the number of open sites per tier, dearest tier first."""
    column_tiers = np.asarray([str(t) for t in sites.tiers[model.columns]], dtype=object)
    names = sorted(
        set(column_tiers.tolist()),
        key=lambda t: (-float(model.y_cost[column_tiers == t].max()), t),
    )
    groups = [np.flatnonzero(column_tiers == name) for name in names]
    step = 0.0 if model.program.maximize else _objective_step(model.y_cost)
    return solve_by_counts(model.program, groups, settings, names=names, step=step)


def _objective_step(values: NDArray[np.float64]) -> float:
    """Return the amount every plan's objective is a whole multiple of (0 when not integral)."""
    values = np.abs(values[values != 0])
    if values.size == 0 or not np.all(np.isfinite(values)) or values.max() > 2.0**52:
        return 0.0
    if not np.array_equal(values, np.round(values)):
        return 0.0
    return float(np.gcd.reduce(values.astype(np.int64)))


def _lagrangian_phase(
    searcher: CoverNeighbourhood, model: _Model, options: TieredOptions, settings: SolverSettings
) -> _Relaxation:
    """Run the Lagrangian relaxation: better start, fixed columns, and what time is left.

    Columns the reduced costs prove closed (open) in every plan strictly better
    than the heuristic's plan get their bounds fixed; that plan is the MILP's
    start, so the fixed model keeps it and every better plan.
    """
    program = model.program
    assert program.start is not None
    problem = LagrangianProblem(
        searcher,
        maximize=program.maximize,
        needed=model.coverage_needed,
        budget=None if options.budget is None else model.budget_left,
        row_lower=program.col_lower[model.n_y : model.n_y + model.n_z],
        offset=program.offset,
    )
    limit = LAGRANGIAN_SECONDS
    if settings.time_limit is not None:
        limit = min(limit, LAGRANGIAN_SHARE * settings.time_limit)
    step = 0.0 if program.maximize else _objective_step(model.y_cost)
    result = lagrangian_bound(
        problem, program.start[: model.n_y] > 0.5, time_limit=limit, integral_step=step
    )
    program.start = _values_for(model, result.plan)
    program.col_lower = program.col_lower.copy()
    program.col_upper = program.col_upper.copy()
    program.col_upper[: model.n_y][result.fixed_closed] = 0.0
    program.col_lower[: model.n_y][result.fixed_open] = 1.0
    remaining = settings
    if settings.time_limit is not None:
        remaining = replace(
            settings,
            time_limit=max(settings.time_limit - result.seconds, 0.05 * settings.time_limit),
        )
    n_fixed = int(result.fixed_closed.sum() + result.fixed_open.sum())
    return _Relaxation(result, remaining, n_fixed)


def _keep_relaxation_plan(
    model: _Model, outcome: SolveOutcome, relaxation: _Relaxation
) -> SolveOutcome:
    """Return ``outcome``, or the Lagrangian heuristic's plan when the solve ended worse.

    The plan is the solver's start, so a solve normally keeps it or betters it;
    should a solver drop the start (or stop without any plan), the plan is not lost.
    """
    if outcome.status not in ("feasible", "no_solution"):
        return outcome
    plan_value = relaxation.result.plan_value
    if outcome.objective is not None:
        sign = -1.0 if model.program.maximize else 1.0
        if sign * outcome.objective <= sign * plan_value:
            return outcome
    return replace(
        outcome,
        status="feasible",
        objective=plan_value,
        values=_values_for(model, relaxation.result.plan),
        gap=relative_gap(plan_value, outcome.best_bound),
        detail=outcome.detail + " (plan of the Lagrangian heuristic)",
    )


def _with_bound(
    result: LocateResult, model: _Model, outcome: SolveOutcome, relaxation: _Relaxation | None
) -> LocateResult:
    """Return ``result`` with the best true bound (solver's or Lagrangian) and its honest gap.

    With columns fixed, the solver's bound holds for the fixed model only; the
    plans fixing excluded are no better than the plan it was fixed against, so
    the bound for the whole model is the weaker of the two. The gap compares
    the bound with the plan's objective evaluated from the reach matrix.
    """
    details = dict(result.details)
    bound = outcome.best_bound
    source = "solver" if bound is not None else None
    if relaxation is not None:
        lagrangian = relaxation.result
        maximize = model.program.maximize
        if bound is not None and relaxation.n_fixed:
            bound = (
                min(bound, lagrangian.plan_value)
                if not maximize
                else max(bound, lagrangian.plan_value)
            )
        tighter = bound is None or (
            lagrangian.bound < bound if maximize else lagrangian.bound > bound
        )
        if tighter:
            bound, source = lagrangian.bound, "lagrangian"
        step = 0.0 if maximize else _objective_step(model.y_cost)
        if bound is not None and step > 0:
            # Every plan costs the offset plus a whole number of steps: round the bound up.
            # (Less a tolerance first: a solver's bound may sit a hair above a plan's cost.)
            offset = model.program.offset
            slack = 1e-6 * max(1.0, abs(bound))
            steps = math.ceil((bound - slack - offset) / step)
            bound = max(bound, offset + steps * step)
        details.update(
            {
                "lagrangian_bound": lagrangian.bound,
                "lagrangian_plan": lagrangian.plan_value,
                "lagrangian_iterations": lagrangian.iterations,
                "lagrangian_seconds": lagrangian.seconds,
                "n_sites_fixed": relaxation.n_fixed,
            }
        )
    if source is not None:
        details["bound_source"] = source
    gap = result.gap
    objective = result.objective
    if objective is not None and (
        bound != outcome.best_bound
        or outcome.objective is None
        or abs(objective - outcome.objective) > 1e-9 * max(1.0, abs(objective))
    ):
        gap = relative_gap(objective, bound)
    return replace(result, best_bound=bound, gap=gap, details=details)


def _explain_infeasible(
    sites: _Sites,
    model: _Model,
    options: TieredOptions,
    objective_kind: str,
    outcome: SolveOutcome,
    settings: SolverSettings,
    searcher: CoverNeighbourhood | None = None,
) -> SolveOutcome:
    """Raise the diagnosis of an infeasible model, unless a plan meeting every limit turns up.

    For a minimum-cost model the best coverage within the other limits is
    solved for; if it reaches the target after all, the "infeasible" was the
    solver's tolerance, and the plan found is solved on instead. A figure the
    solver proved only within its gap is improved by the local search and
    printed with the solver's bound beside it.
    """
    limits = []
    if options.coverage_target is not None:
        limits.append(f"coverage target {options.coverage_target:.2%}")
    if options.budget is not None:
        limits.append(f"budget {options.budget:,.2f}")
    if options.p is not None:
        limits.append(f"p = {options.p}")
    if options.tier_counts:
        limits.append(
            "tier counts " + ", ".join(f"{k}={v}" for k, v in sorted(options.tier_counts.items()))
        )
    if model.requirement_rows:
        limits.append("grade requirements")
    if options.capacitated:
        limits.append("capacities")
    message = f"no plan meets every limit at once ({', '.join(limits)}); relax one of them"
    program = model.program
    best_within: float | None = None
    if objective_kind == "min_cost" and program.n_columns:
        # The best coverage the other limits allow: drop the coverage row, maximise coverage.
        n_rest = program.n_columns - model.n_y
        relaxed = MilpArrays(
            model.coverage_objective,
            np.concatenate([model.always.astype(np.float64), np.zeros(n_rest)]),
            program.col_upper,
            program.integer,
            sp.csr_array(program.matrix[: program.n_rows - 1]),
            program.row_lower[:-1],
            program.row_upper[:-1],
            maximize=True,
            offset=model.offset_weight,
        )
        best = solve_milp(relaxed, settings)
        exact = best.status == "optimal" and not best.gap
        if not exact and searcher is not None and best.values is not None:
            # The local search of the max-coverage model: no target, the budget left.
            as_max = replace(model, program=relaxed, coverage_needed=None)
            best = _improve_incumbent(searcher, as_max, best)
        target = options.coverage_target
        assert target is not None
        if best.values is not None and best.objective is not None:
            if best.objective >= (target - COVERAGE_TOLERANCE) * sites.total:
                return _solve_from(program, best.values, settings)
            if sites.total > 0:
                best_within = best.objective / sites.total
                figure = f"is {best_within:.2%}"
                if not exact:
                    figure += " or a little more"
                    if best.best_bound is not None:
                        figure += f" (at most {min(best.best_bound / sites.total, 1.0):.2%})"
                message += f"; the best weighted coverage within the other limits {figure}"
    error = sites.diagnosis(message)
    if best_within is not None:
        error.diagnosis["best_weighted_coverage_within_limits"] = best_within  # type: ignore[attr-defined]
    raise error


def _polish(
    model: _Model, objective_kind: str, outcome: SolveOutcome, settings: SolverSettings
) -> SolveOutcome:
    """Lexicographic pass: keep the primary objective at its optimum, improve the other."""
    assert outcome.objective is not None
    primary = outcome.objective
    program = model.program
    tolerance = 1e-9 * max(1.0, abs(primary))
    if objective_kind == "min_cost":
        fix_row = model.single_row(np.arange(model.n_y), model.y_cost)
        fix_lower, fix_upper = -np.inf, primary - model.cost_constant + tolerance
        objective2, maximize2, offset2 = model.coverage_objective, True, model.offset_weight
    else:
        z_index = model.n_y + np.arange(model.n_z)
        fix_row = model.single_row(z_index, model.merged_weight)
        fix_lower, fix_upper = primary - model.offset_weight - tolerance, np.inf
        objective2, maximize2, offset2 = model.cost_objective, False, model.cost_constant
    polish_program = MilpArrays(
        objective2,
        program.col_lower,
        program.col_upper,
        program.integer,
        sp.csr_array(sp.vstack([program.matrix, fix_row], format="csr")),
        np.concatenate([program.row_lower, [fix_lower]]),
        np.concatenate([program.row_upper, [fix_upper]]),
        maximize=maximize2,
        offset=offset2,
        start=outcome.values,
    )
    remaining = None
    if settings.time_limit is not None:
        remaining = max(settings.time_limit - outcome.solve_seconds, 0.1 * settings.time_limit, 1.0)
    return solve_milp(
        polish_program,
        SolverSettings(
            settings.solver, remaining, max(settings.gap, 1e-6), settings.threads, settings.seed
        ),
    )


def _decode(
    sites: _Sites,
    model: _Model,
    options: TieredOptions,
    objective_kind: str,
    outcome: SolveOutcome,
    second: SolveOutcome | None,
    build: float,
) -> LocateResult:
    """Phase 3: open sites, assignment and coverage, evaluated exactly from the reach matrix."""
    values = outcome.values
    if second is not None and second.values is not None:
        values = second.values
    n_demand, n_sites = sites.n_demand, sites.n_sites
    open_sites = np.zeros(n_sites, dtype=bool)
    assignment = None
    covered_share = np.zeros(n_demand)
    if values is not None:
        open_sites[model.columns[values[: model.n_y] > 0.5]] = True
        open_sites[sites.forced] = True
        if options.capacitated:
            x = np.clip(values[model.n_y + model.n_z :], 0.0, 1.0)
            x[x < 1e-9] = 0.0
            # Spread each merged row's assignment to its member points.
            merged_x = sp.csr_array(
                (x, (model.x_rows, model.columns[model.x_cols])), shape=(model.n_z, n_sites)
            )
            expand = sp.csr_array(
                (np.ones(len(model.live_rows)), (model.live_rows, model.group)),
                shape=(n_demand, model.n_z),
            )
            assignment = sp.csr_array(expand @ merged_x)
            assignment.eliminate_zeros()
            covered_share = np.minimum(np.asarray(assignment.sum(axis=1)).ravel(), 1.0)
        else:
            covered_share = ((sites.pattern @ open_sites.astype(np.float64)) > 0).astype(np.float64)
    if assignment is not None:
        main = sp.csr_array(assignment)
        main.data = -main.data
        site, _ = nearest_open(main, np.ones(n_sites, dtype=bool))
        distance = np.full(n_demand, np.inf)
        has = site >= 0
        distance[has] = np.asarray(sites.cover[np.flatnonzero(has), site[has]]).ravel()
    else:
        site, distance = nearest_open(sites.cover, open_sites)
    covered_weight = float(sites.weight @ covered_share)
    net_cost = (
        float(sites.cost_coef[open_sites].sum() + sites.cost_constant)
        if values is not None
        else None
    )
    objective_value = None
    if values is not None:
        objective_value = net_cost if objective_kind == "min_cost" else covered_weight
    return LocateResult(
        model="tiered",
        status=outcome.status,
        objective=objective_value,
        best_bound=outcome.best_bound,
        gap=outcome.gap,
        build_seconds=build,
        solve_seconds=outcome.solve_seconds + (second.solve_seconds if second is not None else 0.0),
        solver=outcome.solver,
        open_sites=open_sites,
        assigned_site=site,
        assigned_distance=distance,
        covered_share=covered_share,
        assignment=assignment,
        details={
            "objective_kind": objective_kind,
            "n_rows": model.program.n_rows,
            "n_columns": model.program.n_columns,
            "n_demand_rows": model.n_z,
            "n_demand_merged": int(model.live.sum() - model.n_z),
            "n_demand_covered_by_kept": int(model.by_forced.sum()),
            "n_sites_unsupportable": int((sites.allowed & ~sites.can_open).sum()),
            "n_grade_requirement_rows": model.requirement_rows,
            "covered_weight": covered_weight,
            "net_cost": net_cost,
            "best_weighted_coverage_rate": sites.best_share,
        },
    )


def _solve_from(
    program: MilpArrays,
    values: NDArray[np.float64],
    settings: SolverSettings,
) -> SolveOutcome:
    """Solve ``program`` (min cost) from a plan known to meet its limits; never "infeasible".

    Used when a solver called the model infeasible but a plan meeting every
    limit was found another way: the solve starts from it, and if the solver
    still will not take it, the plan itself is returned as a feasible
    incumbent without a bound.
    """
    program.start = values
    outcome = solve_milp(program, settings)
    if outcome.status != "infeasible":
        return outcome
    objective = float(program.objective @ values) + program.offset
    return SolveOutcome(
        status="feasible",
        objective=objective,
        best_bound=None,
        gap=None,
        values=values,
        solve_seconds=outcome.solve_seconds,
        solver=outcome.solver,
        detail="plan from the coverage check",
    )


def _greedy_start(
    program: MilpArrays,
    *,
    merged: sp.csr_array,
    merged_weight: NDArray[np.float64],
    y_cost: NDArray[np.float64],
    always: NDArray[np.bool_],
    chained: NDArray[np.bool_],
    column_support: sp.csr_array,
    column_tiers: NDArray[Any],
    options: TieredOptions,
    budget_left: float | None,
    coverage_needed: float | None,
) -> NDArray[np.float64] | None:
    """Return a feasible start: open sites greedily by uncovered weight gained per unit of cost.

    Only sites whose support is already open are eligible (hubs first, then
    the stations they support, ...); the start is checked against every row
    and dropped if it is not feasible.
    """
    n_y = len(y_cost)
    n_z = merged.shape[0]
    is_open = always.copy()
    covered = (merged @ is_open.astype(np.float64)) > 0
    spent = float(y_cost[is_open].sum())
    by_column = sp.csr_array(merged.T)
    tier_limits = dict(options.tier_counts)
    tier_open = {t: int((is_open & (column_tiers == t)).sum()) for t in tier_limits}
    for _ in range(n_y):
        if coverage_needed is not None and float(merged_weight[covered].sum()) >= coverage_needed:
            break
        if options.p is not None and int(is_open.sum()) >= options.p:
            break
        gain = by_column @ np.where(covered, 0.0, merged_weight)
        eligible = ~is_open & (gain > 0)
        if chained.any():
            supported = (column_support @ is_open.astype(np.float64)) > 0
            eligible &= ~chained | supported
        if budget_left is not None:
            eligible &= spent + y_cost <= budget_left + 1e-9
        for tier_name, limit in tier_limits.items():
            if tier_open[tier_name] >= limit:
                eligible &= column_tiers != tier_name
        if not eligible.any():
            break
        score = np.where(eligible, gain / np.maximum(y_cost, 1e-9), -np.inf)
        best = int(np.argmax(score))
        is_open[best] = True
        spent += float(y_cost[best])
        if column_tiers[best] in tier_open:
            tier_open[column_tiers[best]] += 1
        covered |= _column_rows(by_column, best, n_z)
    start = np.concatenate(
        [
            is_open.astype(np.float64),
            covered.astype(np.float64),
            np.zeros(program.n_columns - n_y - n_z),
        ]
    )
    activity = program.matrix @ start
    feasible = bool(
        (activity >= program.row_lower - 1e-6).all()
        and (activity <= program.row_upper + 1e-6).all()
    )
    return start if feasible else None


def _column_rows(by_column: sp.csr_array, column: int, n_rows: int) -> NDArray[np.bool_]:
    """Return the rows a column covers as a boolean mask."""
    mask = np.zeros(n_rows, dtype=bool)
    mask[by_column.indices[by_column.indptr[column] : by_column.indptr[column + 1]]] = True
    return mask
