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
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan.errors import InfeasibleError, InputError
from netplan.locate._checks import MAX_AMOUNT, check_amounts
from netplan.locate._matrix import merge_identical_rows, nearest_open, row_ids, structure
from netplan.locate.models import LocateResult, uncovered_message
from netplan.locate.solve import MilpArrays, SolveOutcome, SolverSession, SolverSettings, solve_milp

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["OBJECTIVES", "TieredOptions", "openable_sites", "tiered"]

#: Objectives of the tiered model.
OBJECTIVES = ("min_cost", "max_coverage")
#: Shares of total weight closer than this count as equal when a coverage target is compared
#: with what can be reached or what a plan achieves (far above rounding, far below any figure
#: printed; the solver's own feasibility tolerance, 1e-7 absolute, is tighter still).
COVERAGE_TOLERANCE = 1e-9


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
    options.check()
    objective_kind = options.resolved_objective()
    cover = sp.csr_array(cover)
    n_demand, n_sites = cover.shape
    weight = np.asarray(weights, dtype=np.float64)
    tiers = np.asarray(site_tiers, dtype=object)
    status = np.asarray(site_status, dtype=object)
    fixed = np.asarray(fixed_costs, dtype=np.float64)
    capacity = np.asarray(capacities, dtype=np.float64)
    ids = np.asarray(demand_ids, dtype=object) if demand_ids is not None else np.arange(n_demand)
    check_amounts(weight, "demand weights")
    check_amounts(fixed, "site fixed costs")
    total = float(weight.sum())

    has_tier = np.array([t is not None and t == t for t in tiers.tolist()], dtype=bool)
    existing = (status == "existing") & has_tier
    required = (status == "required") & has_tier
    allowed = has_tier & np.isin(status, ["existing", "candidate", "required"])
    forced = required | (existing & (not options.allow_close))
    need_support = np.asarray(needs_support, dtype=bool) & ~existing & bool(options.support)
    if support is None or not options.support:
        support_matrix = sp.csr_array((n_sites, n_sites))
        need_support = np.zeros(n_sites, dtype=bool)
    else:
        support_matrix = sp.csr_array(support)
    can_open = openable_sites(tiers, allowed, forced, support_matrix, need_support)
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

    def diagnosis(prefix: str) -> InfeasibleError:
        parts = [
            prefix,
            f"opening every site that can open covers {best_share:.2%} of demand weight",
        ]
        if (~reachable_any).any():
            parts.append(uncovered_message(ids[~reachable_any]))
        only_unsupported = reachable_any & ~reachable
        if only_unsupported.any():
            parts.append(
                f"{int(only_unsupported.sum())} more point(s) are reached only by sites "
                "that lack a supporting parent site"
            )
        error = InfeasibleError("; ".join(parts))
        error.diagnosis = {  # type: ignore[attr-defined]
            "best_weighted_coverage_rate": best_share,
            "unreached_demand_ids": [str(x) for x in ids[~reachable_any]],
        }
        return error

    target = options.coverage_target
    if target is not None and best_share < target - COVERAGE_TOLERANCE:
        raise diagnosis(f"coverage target {options.coverage_target:.2%} cannot be met")

    # Net cost coefficients: new sites cost f; keeping an existing site forgoes (f - closing cost).
    keep_value = fixed - options.closing_cost
    cost_coef = np.where(existing, keep_value, fixed)
    cost_constant = -float(keep_value[existing].sum())
    forced_cost = float(cost_coef[forced].sum()) + cost_constant
    if options.budget is not None and forced_cost > options.budget + 1e-6:
        msg = (
            f"the budget {options.budget:,.2f} is less than the cost of the sites that must open "
            f"({forced_cost:,.2f}: required sites, and kept sites unless closing is allowed)"
        )
        raise InfeasibleError(msg)

    # Columns: the sites that can open.
    columns = np.flatnonzero(can_open)
    n_y = len(columns)
    column_of = np.full(n_sites, -1, dtype=np.int64)
    column_of[columns] = np.arange(n_y)
    entry_keep = can_open[pattern.indices]
    entry_rows = row_ids(pattern)[entry_keep]
    entry_cols = column_of[pattern.indices[entry_keep]]
    site_cover = sp.csr_array(
        (np.ones(len(entry_rows)), (entry_rows, entry_cols)), shape=(n_demand, n_y)
    )
    site_cover.sort_indices()

    # Grade requirements: the covering sites of an allowed tier, per point.
    requirement_group = np.full(n_demand, -1, dtype=np.int64)
    allowed_for_group: list[NDArray[np.bool_]] = []
    if options.grade_min_tier:
        if demand_grades is None:
            msg = "`grade_min_tier` needs demand grades (a `grade` column)"
            raise InputError(msg)
        grades = np.asarray(demand_grades, dtype=object)
        for code, (grade, tier_name) in enumerate(sorted(options.grade_min_tier.items())):
            better = set(tier_ranks.get(tier_name, [tier_name]) if tier_ranks else [tier_name])
            allowed_for_group.append(
                np.array([t in better for t in tiers[columns].tolist()], dtype=bool)
            )
            requirement_group[grades == grade] = code

    always = forced[columns]
    if options.capacitated:
        by_forced = np.zeros(n_demand, dtype=bool)
    else:
        by_forced = (site_cover @ always.astype(np.float64)) > 0
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

    blocks: list[sp.csr_array] = []
    lower: list[NDArray[np.float64]] = []
    upper: list[NDArray[np.float64]] = []
    x_rows = x_cols = np.zeros(0, dtype=np.int64)
    n_x = 0
    if options.capacitated:
        x_rows = row_ids(merged)
        x_cols = merged.indices.astype(np.int64)
        n_x = len(x_rows)
    n_cols = n_y + n_z + n_x
    z_index = n_y + np.arange(n_z)
    x_index = n_y + n_z + np.arange(n_x)

    def single_row(columns_: NDArray[np.int64], values: NDArray[np.float64]) -> sp.csr_array:
        return sp.csr_array(
            (values, (np.zeros(len(columns_), dtype=np.int64), columns_)), shape=(1, n_cols)
        )

    if options.capacitated:
        # z_i - sum_j x_ij = 0; x_ij - y_j <= 0; sum_i w_i x_ij - s_j y_j <= 0.
        blocks.append(
            sp.csr_array(
                (
                    np.concatenate([np.ones(n_z), -np.ones(n_x)]),
                    (np.concatenate([np.arange(n_z), x_rows]), np.concatenate([z_index, x_index])),
                ),
                shape=(n_z, n_cols),
            )
        )
        lower.append(np.zeros(n_z))
        upper.append(np.zeros(n_z))
        blocks.append(
            sp.csr_array(
                (
                    np.concatenate([np.ones(n_x), -np.ones(n_x)]),
                    (
                        np.concatenate([np.arange(n_x), np.arange(n_x)]),
                        np.concatenate([x_index, x_cols]),
                    ),
                ),
                shape=(n_x, n_cols),
            )
        )
        lower.append(np.full(n_x, -np.inf))
        upper.append(np.zeros(n_x))
        site_capacity = capacity[columns]
        limited = np.isfinite(site_capacity)
        if limited.any():
            limited_row = np.cumsum(limited) - 1
            entry_limited = limited[x_cols]
            n_limited = int(limited.sum())
            blocks.append(
                sp.csr_array(
                    (
                        np.concatenate(
                            [merged_weight[x_rows[entry_limited]], -site_capacity[limited]]
                        ),
                        (
                            np.concatenate(
                                [limited_row[x_cols[entry_limited]], np.arange(n_limited)]
                            ),
                            np.concatenate([x_index[entry_limited], np.flatnonzero(limited)]),
                        ),
                    ),
                    shape=(n_limited, n_cols),
                )
            )
            lower.append(np.full(n_limited, -np.inf))
            upper.append(np.zeros(n_limited))
    else:
        counts = np.diff(merged.indptr)
        blocks.append(
            sp.csr_array(
                (
                    np.concatenate([np.ones(n_z), -np.ones(len(merged.indices))]),
                    (
                        np.concatenate([np.arange(n_z), np.repeat(np.arange(n_z), counts)]),
                        np.concatenate([z_index, merged.indices.astype(np.int64)]),
                    ),
                ),
                shape=(n_z, n_cols),
            )
        )
        lower.append(np.full(n_z, -np.inf))
        upper.append(np.zeros(n_z))

    # Support chain among the open-able columns: y_j - sum_{h in P(j)} y_h <= 0.
    chained = need_support[columns]
    if chained.any():
        sub = support_matrix[columns][:, columns]
        sub = sp.csr_array(sub)[np.flatnonzero(chained)]
        chained_cols = np.flatnonzero(chained)
        counts = np.diff(sub.indptr)
        blocks.append(
            sp.csr_array(
                (
                    np.concatenate([np.ones(len(chained_cols)), -np.ones(len(sub.indices))]),
                    (
                        np.concatenate(
                            [
                                np.arange(len(chained_cols)),
                                np.repeat(np.arange(len(chained_cols)), counts),
                            ]
                        ),
                        np.concatenate([chained_cols, sub.indices.astype(np.int64)]),
                    ),
                ),
                shape=(len(chained_cols), n_cols),
            )
        )
        lower.append(np.full(len(chained_cols), -np.inf))
        upper.append(np.zeros(len(chained_cols)))

    # Grade requirements: sum over allowed covering columns >= 1 (rows not already met).
    requirement_rows = 0
    for code, allowed_columns in enumerate(allowed_for_group):
        rows_here = np.flatnonzero(merged_requirement == code)
        if rows_here.size == 0:
            continue
        sub = merged[rows_here]
        keep = allowed_columns[sub.indices]
        entry_rows_here = row_ids(sub)[keep]
        entry_cols_here = sub.indices[keep].astype(np.int64)
        has_allowed = np.bincount(entry_rows_here, minlength=len(rows_here)) > 0
        met = np.zeros(len(rows_here), dtype=bool)
        if always.any():
            met = (
                np.bincount(
                    entry_rows_here,
                    weights=always[entry_cols_here].astype(np.float64),
                    minlength=len(rows_here),
                )
                > 0
            )
        active = has_allowed & ~met
        if not active.any():
            continue
        renumber = np.cumsum(active) - 1
        take = active[entry_rows_here]
        blocks.append(
            sp.csr_array(
                (
                    np.ones(int(take.sum())),
                    (renumber[entry_rows_here[take]], entry_cols_here[take]),
                ),
                shape=(int(active.sum()), n_cols),
            )
        )
        lower.append(np.ones(int(active.sum())))
        upper.append(np.full(int(active.sum()), np.inf))
        requirement_rows += int(active.sum())

    y_cost = cost_coef[columns]
    if options.p is not None:
        blocks.append(single_row(np.arange(n_y), np.ones(n_y)))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([float(options.p)]))
    for tier_name, limit in sorted(options.tier_counts.items()):
        members = np.flatnonzero(tiers[columns] == tier_name)
        blocks.append(single_row(members, np.ones(len(members))))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([float(limit)]))
    if options.budget is not None:
        blocks.append(single_row(np.arange(n_y), y_cost))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([options.budget - cost_constant]))
    coverage_needed = 0.0
    if objective_kind == "min_cost":
        assert options.coverage_target is not None
        # A target at (or within the tolerance of) all the weight the model can reach asks
        # for every reachable row: say so with bounds (z = 1), not with a row that a presolve
        # may find a hair short of its right-hand side.
        reachable_weight = float(merged_weight.sum())
        coverage_needed = min(options.coverage_target * total - offset_weight, reachable_weight)
        every_row = coverage_needed >= reachable_weight - COVERAGE_TOLERANCE * max(total, 1.0)
        blocks.append(single_row(z_index, merged_weight))
        lower.append(np.array([coverage_needed - COVERAGE_TOLERANCE * max(total, 1.0)]))
        upper.append(np.array([np.inf]))
    else:
        every_row = False

    col_lower = np.concatenate(
        [always.astype(np.float64), np.full(n_z, 1.0 if every_row else 0.0), np.zeros(n_x)]
    )
    col_upper = np.ones(n_cols)
    integer = np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_z + n_x, dtype=bool)])
    coverage_objective = np.concatenate([np.zeros(n_y), merged_weight, np.zeros(n_x)])
    cost_objective = np.concatenate([y_cost, np.zeros(n_z + n_x)])
    matrix = sp.csr_array(sp.vstack(blocks, format="csr")) if blocks else sp.csr_array((0, n_cols))
    row_lower = np.concatenate(lower) if lower else np.zeros(0)
    row_upper = np.concatenate(upper) if upper else np.zeros(0)
    if objective_kind == "min_cost":
        program = MilpArrays(
            cost_objective,
            col_lower,
            col_upper,
            integer,
            matrix,
            row_lower,
            row_upper,
            offset=cost_constant,
        )
    else:
        program = MilpArrays(
            coverage_objective,
            col_lower,
            col_upper,
            integer,
            matrix,
            row_lower,
            row_upper,
            maximize=True,
            offset=offset_weight,
        )
    if not options.capacitated and requirement_rows == 0 and n_y:
        program.start = _greedy_start(
            program,
            merged=merged,
            merged_weight=merged_weight,
            y_cost=y_cost,
            always=always,
            chained=chained,
            column_support=sp.csr_array(support_matrix[columns][:, columns]),
            column_tiers=tiers[columns],
            options=options,
            budget_left=None if options.budget is None else options.budget - cost_constant,
            coverage_needed=coverage_needed if objective_kind == "min_cost" else None,
        )
    build = time.perf_counter() - started
    settings = settings or SolverSettings()
    outcome = (
        session.solve(program, settings) if session is not None else solve_milp(program, settings)
    )
    second: SolveOutcome | None = None
    if outcome.status == "infeasible":
        prefix = "no plan meets every limit at once"
        limits = []
        if options.coverage_target is not None:
            limits.append(f"coverage target {options.coverage_target:.2%}")
        if options.budget is not None:
            limits.append(f"budget {options.budget:,.2f}")
        if options.p is not None:
            limits.append(f"p = {options.p}")
        if options.tier_counts:
            limits.append(
                "tier counts "
                + ", ".join(f"{k}={v}" for k, v in sorted(options.tier_counts.items()))
            )
        if requirement_rows:
            limits.append("grade requirements")
        if options.capacitated:
            limits.append("capacities")
        message = f"{prefix} ({', '.join(limits)}); relax one of them"
        best_within: float | None = None
        best: SolveOutcome | None = None
        if objective_kind == "min_cost" and n_cols:
            # The best coverage the other limits allow: drop the coverage row, maximise coverage.
            relaxed = MilpArrays(
                coverage_objective,
                np.concatenate([always.astype(np.float64), np.zeros(n_z + n_x)]),
                col_upper,
                integer,
                sp.csr_array(matrix[: matrix.shape[0] - 1]),
                row_lower[:-1],
                row_upper[:-1],
                maximize=True,
                offset=offset_weight,
            )
            best = solve_milp(relaxed, settings)
            assert target is not None
            if (
                best.values is not None
                and best.objective is not None
                and best.objective >= (target - COVERAGE_TOLERANCE) * total
            ):
                # The other limits allow the target after all: the "infeasible" was the
                # solver's tolerance, not the instance. Solve again from this plan.
                outcome = _solve_from(program, best.values, settings)
        if (
            outcome.status == "infeasible"
            and best is not None
            and best.objective is not None
            and total > 0
        ):
            best_within = best.objective / total
            word = "is" if best.status == "optimal" else "is at least"
            message += (
                f"; the best weighted coverage within the other limits {word} {best_within:.2%}"
            )
        if outcome.status == "infeasible":
            error = diagnosis(message)
            if best_within is not None:
                error.diagnosis["best_weighted_coverage_within_limits"] = best_within  # type: ignore[attr-defined]
            raise error
    if (
        polish
        and outcome.status == "optimal"
        and outcome.values is not None
        and outcome.objective is not None
    ):
        # Lexicographic pass: keep the primary objective at its optimum, improve the other.
        primary = outcome.objective
        extra_lower = row_lower.copy()
        extra_upper = row_upper.copy()
        if objective_kind == "min_cost":
            fix_row = single_row(np.arange(n_y), y_cost)
            fix_lower, fix_upper = -np.inf, primary - cost_constant + 1e-9 * max(1.0, abs(primary))
            objective2, maximize2, offset2 = coverage_objective, True, offset_weight
        else:
            fix_row = single_row(z_index, merged_weight)
            fix_lower, fix_upper = primary - offset_weight - 1e-9 * max(1.0, abs(primary)), np.inf
            objective2, maximize2, offset2 = cost_objective, False, cost_constant
        polish_program = MilpArrays(
            objective2,
            col_lower,
            col_upper,
            integer,
            sp.csr_array(sp.vstack([matrix, fix_row], format="csr")),
            np.concatenate([extra_lower, [fix_lower]]),
            np.concatenate([extra_upper, [fix_upper]]),
            maximize=maximize2,
            offset=offset2,
            start=outcome.values,
        )
        remaining = None
        if settings.time_limit is not None:
            remaining = max(
                settings.time_limit - outcome.solve_seconds, 0.1 * settings.time_limit, 1.0
            )
        second = solve_milp(
            polish_program,
            SolverSettings(
                settings.solver, remaining, max(settings.gap, 1e-6), settings.threads, settings.seed
            ),
        )
    values = outcome.values
    if second is not None and second.values is not None:
        values = second.values
    open_sites = np.zeros(n_sites, dtype=bool)
    assignment = None
    covered_share = np.zeros(n_demand)
    if values is not None:
        open_sites[columns[values[:n_y] > 0.5]] = True
        open_sites[forced] = True
        if options.capacitated:
            x = np.clip(values[n_y + n_z :], 0.0, 1.0)
            x[x < 1e-9] = 0.0
            # Spread each merged row's assignment to its member points.
            merged_x = sp.csr_array((x, (x_rows, columns[x_cols])), shape=(n_z, n_sites))
            expand = sp.csr_array(
                (np.ones(len(live_rows)), (live_rows, group)), shape=(n_demand, n_z)
            )
            assignment = sp.csr_array(expand @ merged_x)
            assignment.eliminate_zeros()
            covered_share = np.minimum(np.asarray(assignment.sum(axis=1)).ravel(), 1.0)
        else:
            covered_share = ((pattern @ open_sites.astype(np.float64)) > 0).astype(np.float64)
    if assignment is not None:
        main = sp.csr_array(assignment)
        main.data = -main.data
        site, _ = nearest_open(main, np.ones(n_sites, dtype=bool))
        distance = np.full(n_demand, np.inf)
        has = site >= 0
        distance[has] = np.asarray(cover[np.flatnonzero(has), site[has]]).ravel()
    else:
        site, distance = nearest_open(cover, open_sites)
    covered_weight = float(weight @ covered_share)
    net_cost = float(cost_coef[open_sites].sum() + cost_constant) if values is not None else None
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
            "n_rows": program.n_rows,
            "n_columns": program.n_columns,
            "n_demand_rows": n_z,
            "n_demand_merged": int(live.sum() - n_z),
            "n_demand_covered_by_kept": int(by_forced.sum()),
            "n_sites_unsupportable": int((allowed & ~can_open).sum()),
            "n_grade_requirement_rows": requirement_rows,
            "covered_weight": covered_weight,
            "net_cost": net_cost,
            "best_weighted_coverage_rate": best_share,
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
