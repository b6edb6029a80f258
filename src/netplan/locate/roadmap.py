r"""The roadmap: one multi-year model of which sites open in which year.

A plan answers "which sites for this budget" once; a roadmap phases the
roll-out over ``T`` years in one model (not ``T`` independent plans), on the
same reach matrix, support pairs and site arrays as the tiered model
(:func:`netplan.locate.plan.prepare_inputs`) and solved by the same layer
(:func:`netplan.locate.solve.solve_milp`).

Variables: :math:`y_{jt} \in \{0, 1\}` (site :math:`j` open in year
:math:`t`) and :math:`z_{it} \in [0, 1]` (point :math:`i` covered in year
:math:`t`), for :math:`t = 1 .. T`; year 0 is today (existing sites open).

* Open once, stays open: :math:`y_{j,t-1} \le y_{jt}` for new sites; an
  existing site may close only with ``allow_close``, and once closed stays
  closed (:math:`y_{jt} \le y_{j,t-1}`). ``required`` sites (and existing
  ones unless closing is allowed) are open every year.
* Coverage: :math:`z_{it} \le \sum_{j \in N(i)} y_{jt}`.
* Support chain every year: :math:`y_{jt} \le \sum_{h \in P(j)} y_{ht}` for
  new sites of a tier with a parent.
* Budget per year on the net new yearly fixed cost:
  :math:`C_t(y) - C_{t-1}(y) \le B_t`, with :math:`C_t` the tiered model's
  net cost of the year-:math:`t` network against today
  (:math:`C_0 = 0`): new sites add their fixed cost, closed existing sites
  save theirs less the closing cost.
* Objective ``max_coverage`` (a budget per year): maximise
  :math:`\sum_t \delta_t \sum_i w_{it} z_{it}` with
  :math:`\delta_t = (1 + \text{discount})^{-(t-1)}` and
  :math:`w_{it} = w_i (1 + g_i)^{t-1}` (demand growth, overall or by
  product). Early years carry more weight, so they get the sites that matter
  most. A lexicographic second pass then takes the cheapest roadmap
  (discounted :math:`\sum_t \delta_t C_t`) at that coverage.
* Objective ``min_cost`` (coverage targets per year): minimise
  :math:`\sum_t \delta_t C_t(y)` subject to
  :math:`\sum_i w_{it} z_{it} \ge \tau_t \sum_i w_{it}`; a budget per year,
  if given too, is a cap.

With one year this is exactly the tiered model of ``netplan optimize``
(same rows, same objective, same polish).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from netplan import display
from netplan.blindspots import BlindspotOptions
from netplan.config import PlanOptions, Scenario
from netplan.coverage import coverage_from_points
from netplan.demand import aggregate_h3
from netplan.errors import InfeasibleError, InputError, InputWarning
from netplan.io import write_frame, write_text
from netplan.locate._matrix import merge_identical_rows, row_ids, structure
from netplan.locate.models import net_cost_terms, uncovered_message
from netplan.locate.plan import (
    plan_json,
    plan_options,
    prepare_inputs,
    solver_settings,
)
from netplan.locate.solve import MilpArrays, SolveOutcome, SolverSettings, solve_milp
from netplan.locate.tiered import site_roles
from netplan.progress import ProgressArg, callback_of, reports_progress
from netplan.reach import reach_from_points
from netplan.staffing import staffing_from_points

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from netplan.reach import ReachMatrix

__all__ = [
    "BY_YEAR_COLUMNS",
    "ROADMAP_COLUMNS",
    "ROADMAP_FILES",
    "Roadmap",
    "RoadmapOptions",
    "RoadmapResult",
    "demand_weights_by_year",
    "read_roadmap_by_year",
    "read_roadmap_sites",
    "roadmap",
    "roadmap_from_points",
]

#: Columns of ``roadmap.csv``, in order.
ROADMAP_COLUMNS = (
    "site_id",
    "name",
    "tier",
    "decision",
    "year_opened",
    "fixed_cost",
    "score",
    "status_before",
    "year_closed",
    "annual_calls",
    "engineers",
    "lon",
    "lat",
)
#: Columns of ``by_year.csv``, in order.
BY_YEAR_COLUMNS = (
    "year",
    "sites_open",
    "new_sites",
    "spend",
    "weighted_coverage_rate",
    "covered_weight",
    "n_blindspots",
    "closed_sites",
    "budget",
    "coverage_target",
    "total_weight",
    "engineers",
    "response_share_within_promise",
)
#: Least seconds the lexicographic second pass may take (it gets as long as the first pass).
POLISH_MIN_SECONDS = 5.0
#: Files :meth:`Roadmap.to_files` writes.
ROADMAP_FILES = ("roadmap.csv", "by_year.csv", "summary.json", "roadmap.geojson")


@dataclass(frozen=True)
class RoadmapOptions:
    """The limits of a roadmap.

    Attributes
    ----------
    years
        Number of years ``T`` (1 or more).
    budget_per_year
        Most net new yearly fixed cost added in each year (``T`` values), or
        ``None`` for no budget (then coverage targets are needed).
    coverage_target_by_year
        Share of that year's demand weight to cover (``T`` values), or ``None``.
        Given, the roadmap is the cheapest meeting every target.
    discount
        Yearly discount of the objective (covered demand, or cost).
    allow_close, closing_cost
        Let the roadmap close existing sites; the one-off cost of a closure
        (it reduces the saving).
    support
        Enforce the support chain in every year.
    """

    years: int
    budget_per_year: tuple[float, ...] | None = None
    coverage_target_by_year: tuple[float, ...] | None = None
    discount: float = 0.0
    allow_close: bool = False
    closing_cost: float = 0.0
    support: bool = True

    @property
    def objective(self) -> str:
        """Return ``"min_cost"`` with coverage targets, else ``"max_coverage"``."""
        return "min_cost" if self.coverage_target_by_year is not None else "max_coverage"

    def year_weights(self) -> NDArray[np.float64]:
        """Return the discount factor of every year, ``(1 + discount) ** -(t - 1)``."""
        return np.asarray(
            (1.0 + self.discount) ** -np.arange(self.years, dtype=np.float64), dtype=np.float64
        )

    def check(self) -> None:
        """Raise :class:`InputError` on impossible values or a missing limit."""
        if self.years < 1:
            msg = f"`years` must be 1 or more, got {self.years}"
            raise InputError(msg)
        if not 0 <= self.discount < 1:
            msg = f"`discount` must be a yearly rate in [0, 1), got {self.discount}"
            raise InputError(msg)
        if self.budget_per_year is None and self.coverage_target_by_year is None:
            msg = (
                "a roadmap needs a budget per year (--budget-per-year) or coverage targets "
                "per year (--coverage-target-by-year)"
            )
            raise InputError(msg)
        for name, values in (
            ("--budget-per-year", self.budget_per_year),
            ("--coverage-target-by-year", self.coverage_target_by_year),
        ):
            if values is not None and len(values) != self.years:
                msg = (
                    f"{name} gives {len(values)} values for {self.years} years; "
                    f"give one or {self.years}"
                )
                raise InputError(msg)
        if self.budget_per_year is not None:
            for year, value in enumerate(self.budget_per_year, start=1):
                if not math.isfinite(value) or (value < 0 and not self.allow_close):
                    msg = (
                        f"--budget-per-year: year {year} must be a number 0 or more, got {value:g}"
                    )
                    raise InputError(msg)
        if self.coverage_target_by_year is not None:
            for year, value in enumerate(self.coverage_target_by_year, start=1):
                if not 0 < value <= 1:
                    msg = (
                        f"--coverage-target-by-year: year {year} must be a share in (0, 1], "
                        f"got {value:g}"
                    )
                    raise InputError(msg)


@dataclass
class RoadmapResult:
    """What the roadmap model returns on arrays.

    Attributes
    ----------
    status, objective, best_bound, gap, build_seconds, solve_seconds, solver
        The solve record (objective: discounted covered weight, or discounted cost).
    open_by_year
        ``(T, n_sites)`` booleans: open in year ``t`` (row ``t - 1``).
    covered_by_year
        ``(T, n_demand)`` booleans: reached by an open site in that year.
    details
        Model size and preprocessing counts.
    """

    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    build_seconds: float
    solve_seconds: float
    solver: str
    open_by_year: NDArray[np.bool_]
    covered_by_year: NDArray[np.bool_]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """Return ``True`` when the solve returned a roadmap."""
        return self.status in ("optimal", "feasible")

    def year_opened(self, existing: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Return per site the first year it is open (0: open today and kept; -1: never)."""
        opened = np.where(self.open_by_year.any(axis=0), self.open_by_year.argmax(axis=0) + 1, -1)
        return np.asarray(np.where(existing & self.open_by_year[0], 0, opened), dtype=np.int64)

    def year_closed(self, existing: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Return per existing site the first year it is closed (-1: never closed)."""
        closed = ~self.open_by_year
        first = np.where(closed.any(axis=0), closed.argmax(axis=0) + 1, -1)
        return np.asarray(np.where(existing, first, -1), dtype=np.int64)


def roadmap(
    cover: sp.csr_array,
    *,
    weights_by_year: NDArray[np.float64],
    site_tiers: Sequence[Any] | NDArray[Any],
    site_status: Sequence[str] | NDArray[Any],
    fixed_costs: NDArray[np.float64],
    support: sp.csr_array | None,
    needs_support: NDArray[np.bool_],
    options: RoadmapOptions,
    settings: SolverSettings | None = None,
    demand_ids: Sequence[Any] | NDArray[Any] | None = None,
    polish: bool = True,
) -> RoadmapResult:
    """Solve the multi-year roll-out model on a reach matrix.

    Parameters
    ----------
    cover
        Demand × site CSR; a stored entry means the site reaches the point.
    weights_by_year
        ``(T, n_demand)`` demand weight in every year (growth applied).
    site_tiers, site_status
        Tier and status (``existing``, ``candidate``, ``required``, ``closed``,
        ``competitor``) of every site.
    fixed_costs
        Yearly fixed cost per site.
    support
        Site × site CSR of support pairs (``(j, h)``: ``h`` supports ``j``),
        ``None`` for no support chain.
    needs_support
        ``True`` for sites whose tier has a parent.
    options
        Years, budgets or targets, discount, closures.
    settings
        Solver settings.
    demand_ids
        Names of the demand points, for the diagnosis.
    polish
        Run the lexicographic second pass.

    Returns
    -------
    RoadmapResult
        Open sites and covered points by year, and the solve record.

    Raises
    ------
    InfeasibleError
        When no roadmap meets every limit, with the best reachable coverage.
    """
    started = time.perf_counter()
    options.check()
    n_years = options.years
    cover = sp.csr_array(cover)
    n_demand, n_sites = cover.shape
    weights = np.asarray(weights_by_year, dtype=np.float64).reshape(n_years, n_demand)
    tiers = np.asarray(site_tiers, dtype=object)
    status = np.asarray(site_status, dtype=object)
    fixed = np.asarray(fixed_costs, dtype=np.float64)
    ids = np.asarray(demand_ids, dtype=object) if demand_ids is not None else np.arange(n_demand)
    totals = weights.sum(axis=1)
    delta = options.year_weights()

    roles = site_roles(
        tiers, status, needs_support, support, use_support=bool(options.support),
        allow_close=options.allow_close,
    )  # fmt: skip
    existing, allowed, forced = roles.existing, roles.allowed, roles.forced
    need_support, support_matrix, can_open = roles.need_support, roles.support, roles.can_open
    if (forced & ~can_open).any():
        names = ", ".join(str(i) for i in np.flatnonzero(forced & ~can_open)[:10])
        msg = f"required site(s) at index {names} have no supporting parent site that can open"
        raise InfeasibleError(msg)
    pattern = structure(cover)
    reachable_any = (pattern @ allowed.astype(np.float64)) > 0
    reachable = (pattern @ can_open.astype(np.float64)) > 0
    best_share = [
        float(weights[t][reachable].sum() / totals[t]) if totals[t] > 0 else 1.0
        for t in range(n_years)
    ]

    def diagnosis(prefix: str) -> InfeasibleError:
        parts = [
            prefix,
            "opening every site that can open covers "
            + ", ".join(f"{share:.2%}" for share in best_share)
            + " of demand weight by year",
        ]
        if (~reachable_any).any():
            parts.append(uncovered_message(ids[~reachable_any]))
        error = InfeasibleError("; ".join(parts))
        error.diagnosis = {  # type: ignore[attr-defined]
            "best_weighted_coverage_rate_by_year": best_share,
            "unreached_demand_ids": [str(x) for x in ids[~reachable_any]],
        }
        return error

    targets = options.coverage_target_by_year
    if targets is not None:
        for year, target in enumerate(targets, start=1):
            if best_share[year - 1] + 1e-12 < target:
                raise diagnosis(f"coverage target {target:.2%} of year {year} cannot be met")

    cost_coef, cost_constant = net_cost_terms(fixed, existing, options.closing_cost)
    budgets = options.budget_per_year
    if budgets is not None:
        forced_cost = float(cost_coef[forced].sum()) + cost_constant
        if forced_cost > budgets[0] + 1e-6:
            msg = (
                f"the year-1 budget {budgets[0]:,.2f} is less than the cost of the sites that "
                f"must open ({forced_cost:,.2f}: required sites, and kept sites unless closing "
                "is allowed)"
            )
            raise InfeasibleError(msg)

    # Columns per year: y (the sites that can open), then z (merged demand rows).
    columns = np.flatnonzero(can_open)
    n_y = len(columns)
    column_of = np.full(n_sites, -1, dtype=np.int64)
    column_of[columns] = np.arange(n_y)
    keep = can_open[pattern.indices]
    site_cover = sp.csr_array(
        (
            np.ones(int(keep.sum())),
            (row_ids(pattern)[keep], column_of[pattern.indices[keep]]),
        ),
        shape=(n_demand, n_y),
    )
    site_cover.sort_indices()
    always = forced[columns]
    by_forced = (site_cover @ always.astype(np.float64)) > 0
    offset_weight = weights[:, by_forced].sum(axis=1)
    live = (np.diff(site_cover.indptr) > 0) & ~by_forced & (weights.sum(axis=0) > 0)
    live_rows = np.flatnonzero(live)
    group, representative = merge_identical_rows(site_cover[live_rows])
    merged = sp.csr_array(site_cover[live_rows][representative])
    n_z = merged.shape[0]
    merged_weight = np.stack(
        [np.bincount(group, weights=weights[t][live_rows], minlength=n_z) for t in range(n_years)]
    ).astype(np.float64)
    per_year = n_y + n_z
    n_cols = per_year * n_years

    def y_index(year: int) -> NDArray[np.int64]:
        return np.asarray(year * per_year + np.arange(n_y), dtype=np.int64)

    def z_index(year: int) -> NDArray[np.int64]:
        return np.asarray(year * per_year + n_y + np.arange(n_z), dtype=np.int64)

    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    vals: list[NDArray[np.float64]] = []
    lower: list[NDArray[np.float64]] = []
    upper: list[NDArray[np.float64]] = []
    n_rows = 0

    def add(
        row: NDArray[np.int64],
        col: NDArray[np.int64],
        val: NDArray[np.float64],
        lo: NDArray[np.float64],
        hi: NDArray[np.float64],
    ) -> None:
        nonlocal n_rows
        rows.append(row + n_rows)
        cols.append(col)
        vals.append(val)
        lower.append(lo)
        upper.append(hi)
        n_rows += len(lo)

    counts = np.diff(merged.indptr)
    entry_row = np.repeat(np.arange(n_z), counts)
    chained = need_support[columns]
    chained_cols = np.flatnonzero(chained)
    sub = sp.csr_array(sp.csr_array(support_matrix[columns][:, columns])[chained_cols])
    sub_counts = np.diff(sub.indptr)
    new_cols = np.flatnonzero(~existing[columns] & ~always)
    closable_cols = np.flatnonzero(existing[columns] & ~always)
    for year in range(n_years):
        y_cols, z_cols = y_index(year), z_index(year)
        # Coverage: z_it - sum_{j in N(i)} y_jt <= 0.
        add(
            np.concatenate([np.arange(n_z), entry_row]),
            np.concatenate([z_cols, y_cols[merged.indices]]),
            np.concatenate([np.ones(n_z), -np.ones(len(merged.indices))]),
            np.full(n_z, -np.inf),
            np.zeros(n_z),
        )
        # Support chain: y_jt - sum_{h in P(j)} y_ht <= 0.
        if chained_cols.size:
            add(
                np.concatenate(
                    [
                        np.arange(len(chained_cols)),
                        np.repeat(np.arange(len(chained_cols)), sub_counts),
                    ]
                ),
                np.concatenate([y_cols[chained_cols], y_cols[sub.indices]]),
                np.concatenate([np.ones(len(chained_cols)), -np.ones(len(sub.indices))]),
                np.full(len(chained_cols), -np.inf),
                np.zeros(len(chained_cols)),
            )
        if year > 0:
            previous = y_index(year - 1)
            # New sites stay open: y_{j,t-1} - y_jt <= 0;
            # closed sites stay closed: y_jt - y_{j,t-1} <= 0.
            for members, sign in ((new_cols, 1.0), (closable_cols, -1.0)):
                if members.size:
                    add(
                        np.concatenate([np.arange(members.size), np.arange(members.size)]),
                        np.concatenate([previous[members], y_cols[members]]),
                        np.concatenate([np.full(members.size, sign), np.full(members.size, -sign)]),
                        np.full(members.size, -np.inf),
                        np.zeros(members.size),
                    )
        # Budget: C_t - C_{t-1} <= B_t (C_0 = 0).
        if budgets is not None:
            coef = cost_coef[columns]
            if year == 0:
                add(
                    np.zeros(n_y, dtype=np.int64),
                    y_cols,
                    coef,
                    np.array([-np.inf]),
                    np.array([budgets[0] - cost_constant]),
                )
            else:
                add(
                    np.zeros(2 * n_y, dtype=np.int64),
                    np.concatenate([y_cols, y_index(year - 1)]),
                    np.concatenate([coef, -coef]),
                    np.array([-np.inf]),
                    np.array([budgets[year]]),
                )
        if targets is not None:
            needed = targets[year] * totals[year] - offset_weight[year]
            add(
                np.zeros(n_z, dtype=np.int64),
                z_cols,
                merged_weight[year],
                np.array([needed - 1e-9 * max(float(totals[year]), 1.0)]),
                np.array([np.inf]),
            )
    matrix = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )
    row_lower = np.concatenate(lower)
    row_upper = np.concatenate(upper)
    col_lower = np.tile(np.concatenate([always.astype(np.float64), np.zeros(n_z)]), n_years)
    col_upper = np.ones(n_cols)
    integer = np.tile(
        np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_z, dtype=bool)]), n_years
    )
    coverage_objective = np.concatenate(
        [np.concatenate([np.zeros(n_y), delta[t] * merged_weight[t]]) for t in range(n_years)]
    )
    cost_objective = np.concatenate(
        [np.concatenate([delta[t] * cost_coef[columns], np.zeros(n_z)]) for t in range(n_years)]
    )
    coverage_offset = float(delta @ offset_weight)
    cost_offset = float(delta.sum() * cost_constant)
    if options.objective == "min_cost":
        program = MilpArrays(
            cost_objective,
            col_lower,
            col_upper,
            integer,
            matrix,
            row_lower,
            row_upper,
            offset=cost_offset,
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
            offset=coverage_offset,
        )
    if n_y:
        program.start = _greedy_start(
            program,
            merged=merged,
            merged_weight=merged_weight,
            cost=cost_coef[columns],
            always=always,
            existing=existing[columns],
            chained=chained,
            column_support=sp.csr_array(support_matrix[columns][:, columns]),
            budgets=None if budgets is None else [b for b in budgets],
            cost_constant=cost_constant,
        )
    build = time.perf_counter() - started
    settings = settings or SolverSettings()
    outcome = solve_milp(program, settings)
    if outcome.status == "infeasible":
        limits = []
        if budgets is not None:
            limits.append("budget per year " + ", ".join(f"{b:,.0f}" for b in budgets))
        if targets is not None:
            limits.append("coverage targets " + ", ".join(f"{t:.0%}" for t in targets))
        raise diagnosis(
            f"no roadmap meets every limit at once ({'; '.join(limits)}); relax one of them"
        )
    second: SolveOutcome | None = None
    if polish and outcome.status == "optimal" and outcome.objective is not None:
        primary = outcome.objective
        tolerance = 1e-9 * max(1.0, abs(primary))
        if options.objective == "min_cost":
            fix_values, fix_lower, fix_upper = (
                cost_objective,
                -np.inf,
                primary - cost_offset + tolerance,
            )
            objective2, maximize2, offset2 = coverage_objective, True, coverage_offset
        else:
            fix_values, fix_lower, fix_upper = (
                coverage_objective,
                primary - coverage_offset - tolerance,
                np.inf,
            )
            objective2, maximize2, offset2 = cost_objective, False, cost_offset
        nonzero = np.flatnonzero(fix_values)
        fix_row = sp.csr_array(
            (fix_values[nonzero], (np.zeros(len(nonzero), dtype=np.int64), nonzero)),
            shape=(1, n_cols),
        )
        # The polish may take as long as the first pass did (at least POLISH_MIN_SECONDS),
        # never more than what the time limit leaves: it only trims cost at equal coverage.
        remaining = max(outcome.solve_seconds, POLISH_MIN_SECONDS)
        if settings.time_limit is not None:
            remaining = min(
                remaining,
                max(settings.time_limit - outcome.solve_seconds, 0.1 * settings.time_limit, 1.0),
            )
        second = solve_milp(
            MilpArrays(
                objective2,
                col_lower,
                col_upper,
                integer,
                sp.csr_array(sp.vstack([matrix, fix_row], format="csr")),
                np.concatenate([row_lower, [fix_lower]]),
                np.concatenate([row_upper, [fix_upper]]),
                maximize=maximize2,
                offset=offset2,
                start=outcome.values,
            ),
            SolverSettings(
                settings.solver, remaining, max(settings.gap, 1e-6), settings.threads, settings.seed
            ),
        )
    values = outcome.values
    if second is not None and second.values is not None:
        values = second.values
    open_by_year = np.zeros((n_years, n_sites), dtype=bool)
    covered = np.zeros((n_years, n_demand), dtype=bool)
    objective: float | None = None
    if values is not None:
        for year in range(n_years):
            open_by_year[year, columns[values[y_index(year)] > 0.5]] = True
            open_by_year[year, forced] = True
            covered[year] = (pattern @ open_by_year[year].astype(np.float64)) > 0
        if options.objective == "min_cost":
            net = cost_coef @ open_by_year.T.astype(np.float64) + cost_constant
            objective = float(delta @ net)
        else:
            objective = float(sum(delta[t] * weights[t][covered[t]].sum() for t in range(n_years)))
    return RoadmapResult(
        status=outcome.status,
        objective=objective,
        best_bound=outcome.best_bound,
        gap=outcome.gap,
        build_seconds=build,
        solve_seconds=outcome.solve_seconds + (second.solve_seconds if second is not None else 0.0),
        solver=outcome.solver,
        open_by_year=open_by_year,
        covered_by_year=covered,
        details={
            "objective_kind": options.objective,
            "n_rows": program.n_rows,
            "n_columns": program.n_columns,
            "n_site_columns_per_year": n_y,
            "n_demand_rows_per_year": n_z,
            "n_demand_covered_by_kept": int(by_forced.sum()),
            "n_sites_unsupportable": int((allowed & ~can_open).sum()),
            "best_weighted_coverage_rate_by_year": best_share,
            "polished": second is not None and second.values is not None,
            "first_pass_seconds": round(outcome.solve_seconds, 3),
            "polish_seconds": round(second.solve_seconds, 3) if second is not None else 0.0,
            "polish_status": second.status if second is not None else "",
        },
    )


def _greedy_start(
    program: MilpArrays,
    *,
    merged: sp.csr_array,
    merged_weight: NDArray[np.float64],
    cost: NDArray[np.float64],
    always: NDArray[np.bool_],
    existing: NDArray[np.bool_],
    chained: NDArray[np.bool_],
    column_support: sp.csr_array,
    budgets: list[float] | None,
    cost_constant: float,
) -> NDArray[np.float64] | None:
    """Return a feasible start: year by year, open sites by uncovered weight per unit of cost.

    Existing sites are all kept; only supported sites are eligible; the start
    is checked against every row and dropped when it is not feasible.
    """
    n_years = merged_weight.shape[0]
    n_y = len(cost)
    is_open = always | existing
    by_column = sp.csr_array(merged.T)
    spent_before = float(cost[is_open].sum()) + cost_constant
    parts = []
    for year in range(n_years):
        limit = None if budgets is None else budgets[year]
        spent = 0.0 if year > 0 else spent_before
        covered = (merged @ is_open.astype(np.float64)) > 0
        for _ in range(n_y):
            gain = by_column @ np.where(covered, 0.0, merged_weight[year])
            eligible = ~is_open & (gain > 0)
            if chained.any():
                eligible &= ~chained | ((column_support @ is_open.astype(np.float64)) > 0)
            if limit is not None:
                eligible &= spent + cost <= limit + 1e-9
            else:
                break  # targets only: the solver finds the cheapest; start from kept sites
            if not eligible.any():
                break
            best = int(np.argmax(np.where(eligible, gain / np.maximum(cost, 1e-9), -np.inf)))
            is_open[best] = True
            spent += float(cost[best])
            covered[by_column.indices[by_column.indptr[best] : by_column.indptr[best + 1]]] = True
        parts.append(np.concatenate([is_open.astype(np.float64), covered.astype(np.float64)]))
    start = np.concatenate(parts)
    activity = program.matrix @ start
    feasible = bool(
        (activity >= program.row_lower - 1e-6).all()
        and (activity <= program.row_upper + 1e-6).all()
    )
    return start if feasible else None


# --------------------------------------------------------------------------- on points


def demand_weights_by_year(
    gdf_demand: gpd.GeoDataFrame, scenario: Scenario, years: int
) -> NDArray[np.float64]:
    """Return the ``(years, n_demand)`` demand weight of every year with ``[roadmap]`` growth.

    Year ``t`` is ``weight × (1 + growth) ** (t - 1)``; with rates by product,
    each point grows at its ``product``'s rate (0 for products not listed).

    Raises
    ------
    InputError
        When growth is given by product and the demand has no ``product`` column.
    """
    weight = gdf_demand["weight"].to_numpy(dtype=np.float64)
    growth = scenario.roadmap.demand_growth
    if isinstance(growth, Mapping):
        if not growth:
            rate = np.zeros(len(weight))
        elif "product" not in gdf_demand.columns:
            msg = (
                f"{scenario.source}: `roadmap.demand_growth` gives rates by product but the demand "
                "has no `product` column; give one rate (demand_growth = 0.05) or use the "
                "installed base"
            )
            raise InputError(msg)
        else:
            products = gdf_demand["product"].astype(object).to_numpy()
            rate = np.array([float(growth.get(str(p), 0.0)) for p in products.tolist()])
    else:
        rate = np.full(len(weight), float(growth))
    steps = np.arange(years, dtype=np.float64)[:, None]
    return np.asarray(weight[None, :] * (1.0 + rate[None, :]) ** steps, dtype=np.float64)


@dataclass(repr=False)
class Roadmap:
    """A phased roll-out: which sites open in which year, and each year's coverage.

    Attributes
    ----------
    status, objective, best_bound, gap, build_seconds, solve_seconds
        The solve record.
    sites
        Every site with :data:`ROADMAP_COLUMNS`, point geometry.
    by_year
        One row per year with :data:`BY_YEAR_COLUMNS` (coverage re-checked
        on the raw demand, with that year's weights).
    options
        The roadmap options.
    details
        Solver, model size, demand growth, aggregation.
    staffing
        The final year's staffing block (:mod:`netplan.staffing`), with the
        response times of today's network and of the final one.
    """

    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    build_seconds: float
    solve_seconds: float
    sites: gpd.GeoDataFrame
    by_year: pd.DataFrame
    options: RoadmapOptions
    details: dict[str, Any] = field(default_factory=dict)
    staffing: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return display.roadmap_repr(self)

    def _repr_html_(self) -> str:
        return display.roadmap_html(self)

    def open_in_year(self, year: int) -> gpd.GeoDataFrame:
        """Return the sites open in ``year`` (1-based)."""
        opened = self.sites["year_opened"]
        closed = self.sites["year_closed"]
        is_open = opened.notna() & (opened <= year) & (closed.isna() | (closed > year))
        return self.sites[is_open]

    def summary(self) -> dict[str, Any]:
        """Return the roadmap's figures as plain JSON-ready data.

        Keys: ``status``, ``objective``, ``objective_kind``, ``best_bound``,
        ``gap``, ``build_seconds``, ``solve_seconds``, ``solver``, ``years``,
        ``options``, ``by_year`` (one entry per year, the columns of
        ``by_year.csv`` plus the sites opened that year), ``n_by_decision``,
        ``details`` and ``staffing`` (the final year's engineers and response
        times, today's too).
        """
        by_year = []
        for row in self.by_year.to_dict(orient="records"):
            year = int(row["year"])
            opened = self.sites[self.sites["year_opened"] == year]
            entry = dict(row)
            entry["opened_site_ids"] = opened["site_id"].astype(str).tolist()
            entry["opened_by_tier"] = {
                str(k): int(v) for k, v in sorted(opened.groupby("tier").size().items())
            }
            by_year.append(entry)
        decisions = self.sites["decision"].value_counts()
        payload = {
            "status": self.status,
            "objective": self.objective,
            "objective_kind": self.options.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "solver": self.details.get("solver", ""),
            "years": self.options.years,
            "options": {
                "years": self.options.years,
                "budget_per_year": (
                    None
                    if self.options.budget_per_year is None
                    else list(self.options.budget_per_year)
                ),
                "coverage_target_by_year": (
                    None
                    if self.options.coverage_target_by_year is None
                    else list(self.options.coverage_target_by_year)
                ),
                "discount": self.options.discount,
                "allow_close": self.options.allow_close,
                "closing_cost": self.options.closing_cost,
                "support_chain": self.options.support,
            },
            "n_by_decision": {
                d: int(decisions.get(d, 0)) for d in ("kept", "opened", "closed", "not_selected")
            },
            "by_year": by_year,
            "details": dict(sorted(self.details.items())),
        }
        if self.staffing is not None:
            payload["staffing"] = self.staffing
        result: dict[str, Any] = json.loads(plan_json(payload))
        return result

    def to_files(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``roadmap.csv``, ``by_year.csv``, ``summary.json`` and ``roadmap.geojson``.

        Every file is written atomically; the CSV and GeoJSON files are
        byte-identical across runs on the same input.

        Returns
        -------
        dict
            Written paths by name (``roadmap``, ``by_year``, ``summary``, ``roadmap_geojson``).
        """
        out = Path(out_dir)
        table = pd.DataFrame(self.sites.drop(columns=self.sites.geometry.name))
        return {
            "roadmap": write_frame(table, out / "roadmap.csv", fmt="csv"),
            "by_year": write_frame(self.by_year, out / "by_year.csv", fmt="csv"),
            "summary": write_text(out / "summary.json", plan_json(self.summary())),
            "roadmap_geojson": write_frame(self.sites, out / "roadmap.geojson", fmt="geojson"),
        }


def _expand(values: Sequence[float] | float | None, years: int) -> tuple[float, ...] | None:
    if values is None:
        return None
    if isinstance(values, int | float):
        return (float(values),) * years
    items = tuple(float(v) for v in values)
    return items * years if len(items) == 1 else items


@reports_progress("roadmap reach")
def roadmap_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    years: int,
    budget_per_year: Sequence[float] | float | None = None,
    coverage_target_by_year: Sequence[float] | float | None = None,
    allow_close: bool | None = None,
    aggregate: str | int | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    reach: ReachMatrix | None = None,
    blindspots: bool = True,
    progress: ProgressArg = None,
) -> Roadmap:
    """Phase the roll-out of sites over ``years`` and return the roadmap.

    Parameters
    ----------
    gdf_demand
        Weighted demand (``id``, ``weight``, optional ``grade`` and ``product``).
    gdf_sites
        Sites with ``id``, ``tier``, ``status``, ``fixed_cost``.
    scenario
        Tiers and promises; ``[roadmap]`` (discount, demand growth); ``[plan]``
        ``allow_close``, ``closing_cost``, ``support_chain`` and ``aggregate``;
        ``[solver]`` settings.
    years
        Number of years.
    budget_per_year
        One budget for every year, or one per year (net new yearly fixed cost).
    coverage_target_by_year
        One coverage target for every year, or one per year; given, the
        roadmap is the cheapest meeting them (a budget is then a cap).
    allow_close, aggregate
        Override ``[plan] allow_close`` / ``aggregate``.
    solver, time_limit, gap
        Override the ``[solver]`` settings.
    reach
        A reach matrix already built for exactly this demand and these sites.
    blindspots
        Count blind-spot zones per year (``n_blindspots``); ``False`` skips it (0).
    progress
        ``progress(done, total)`` while the reach matrix is built, or
        ``True``/``False`` for a progress bar or none; ``None`` shows a bar
        in notebooks only (:mod:`netplan.progress`).

    Returns
    -------
    Roadmap
        The roadmap; status ``feasible`` means the time limit stopped the solver.

    Raises
    ------
    InfeasibleError
        When no roadmap meets the limits, with the best reachable coverage.
    """
    started = time.perf_counter()
    base: PlanOptions = plan_options(scenario, allow_close=allow_close, aggregate=aggregate)
    options = RoadmapOptions(
        years=years,
        budget_per_year=_expand(budget_per_year, years),
        coverage_target_by_year=_expand(coverage_target_by_year, years),
        discount=scenario.roadmap.discount,
        allow_close=base.allow_close,
        closing_cost=base.closing_cost,
        support=base.support_chain,
    )
    options.check()
    notes = []
    if base.capacitated:
        notes.append("plan.capacitated is not applied by the roadmap (coverage within reach)")
    if base.grade_min_tier:
        notes.append("plan.grade_min_tier is not applied by the roadmap")
    for note in notes:
        warnings.warn(note, InputWarning, stacklevel=2)
    settings = solver_settings(scenario, solver=solver, time_limit=time_limit, gap=gap)
    inputs = prepare_inputs(
        gdf_demand, gdf_sites, scenario, base, reach=reach, progress=callback_of(progress)
    )
    raw_weights = demand_weights_by_year(gdf_demand, scenario, years)
    model_weights = _model_weights(gdf_demand, inputs.demand, raw_weights, base)
    result = roadmap(
        inputs.cover,
        weights_by_year=model_weights,
        site_tiers=inputs.tiers,
        site_status=inputs.statuses,
        fixed_costs=inputs.fixed_costs,
        support=inputs.support,
        needs_support=inputs.needs_support,
        options=options,
        settings=settings,
        demand_ids=inputs.demand_ids,
    )
    existing = inputs.existing
    opened_year = result.year_opened(existing)
    closed_year = result.year_closed(existing)
    ever_open = result.open_by_year.any(axis=0)
    decision = np.full(len(gdf_sites), "not_selected", dtype=object)
    decision[existing & (closed_year < 0)] = "kept"
    decision[existing & (closed_year > 0)] = "closed"
    decision[~existing & ever_open] = "opened"
    by_year, covered_raw = _by_year(
        gdf_demand, gdf_sites, scenario, result, raw_weights, options, inputs, blindspots
    )
    staffing = _staffing_by_year(gdf_demand, gdf_sites, scenario, result, raw_weights, inputs, base)
    by_year["engineers"] = [block["engineers"] for block in staffing]
    by_year["response_share_within_promise"] = [
        block["response"]["plan"]["share_within_promise"] for block in staffing
    ]
    final_site = staffing[-1]["per_site"] if staffing else None
    score = _scores(
        gdf_demand, gdf_sites, scenario, result, raw_weights, opened_year, inputs.reach, base
    )
    site_ids = gdf_sites["id"].astype(str).to_numpy(dtype=object)
    names = (
        gdf_sites["name"].astype(object).to_numpy()
        if "name" in gdf_sites.columns
        else np.full(len(gdf_sites), None, dtype=object)
    )
    frame = pd.DataFrame(
        {
            "site_id": site_ids,
            "name": names,
            "tier": inputs.tiers,
            "decision": decision,
            "year_opened": pd.array(np.where(opened_year >= 0, opened_year, 0), dtype="Int64"),
            "fixed_cost": inputs.fixed_costs,
            "score": score,
            "status_before": inputs.statuses,
            "year_closed": pd.array(np.where(closed_year > 0, closed_year, 0), dtype="Int64"),
            "annual_calls": (
                final_site["annual_calls"].to_numpy() if final_site is not None else 0.0
            ),
            "engineers": final_site["engineers"].to_numpy() if final_site is not None else 0,
            "lon": np.asarray(gdf_sites.geometry.x, dtype=np.float64),
            "lat": np.asarray(gdf_sites.geometry.y, dtype=np.float64),
        }
    )
    frame.loc[opened_year < 0, "year_opened"] = pd.NA
    frame.loc[closed_year <= 0, "year_closed"] = pd.NA
    sites = gpd.GeoDataFrame(frame, geometry=gdf_sites.geometry.to_numpy(), crs=gdf_sites.crs)
    details: dict[str, Any] = {
        "solver": result.solver or settings.solver,
        **inputs.details,
        **{k: v for k, v in result.details.items() if isinstance(v, int | float | str | bool)},
        "best_weighted_coverage_rate_by_year": result.details[
            "best_weighted_coverage_rate_by_year"
        ],
        "demand_growth": (
            dict(scenario.roadmap.demand_growth)
            if isinstance(scenario.roadmap.demand_growth, Mapping)
            else scenario.roadmap.demand_growth
        ),
        "distance_model": inputs.reach.distance_model,
        "model_covered_weight_by_year": [
            float(model_weights[t][result.covered_by_year[t]].sum()) for t in range(years)
        ],
        "warnings": notes,
    }
    del covered_raw
    final_staffing = None
    if staffing:
        final_staffing = {k: v for k, v in staffing[-1].items() if k != "per_site"}
        final_staffing["year"] = years
        final_staffing["response"]["today"] = staffing[0]["response"]["today"]
    details["total_seconds"] = round(time.perf_counter() - started, 3)
    return Roadmap(
        status=result.status,
        objective=result.objective,
        best_bound=result.best_bound,
        gap=result.gap,
        build_seconds=result.build_seconds,
        solve_seconds=result.solve_seconds,
        sites=sites,
        by_year=by_year,
        options=options,
        details=details,
        staffing=final_staffing,
    )


def _model_weights(
    gdf_demand: gpd.GeoDataFrame,
    model_demand: gpd.GeoDataFrame,
    raw_weights: NDArray[np.float64],
    base: PlanOptions,
) -> NDArray[np.float64]:
    """Return the model rows' weight in every year: the raw weights, or their H3 cell sums."""
    if base.aggregate is None:
        return raw_weights
    rows = []
    expected = model_demand["id"].astype(str).to_numpy()
    for year_weight in raw_weights:
        grown = gdf_demand.copy()
        grown["weight"] = year_weight
        cells = aggregate_h3(grown, base.aggregate)
        if not np.array_equal(cells["id"].astype(str).to_numpy(), expected):  # pragma: no cover
            msg = "the H3 cells of a year's demand differ from the model's cells"
            raise AssertionError(msg)
        rows.append(cells["weight"].to_numpy(dtype=np.float64))
    return np.stack(rows)


def _raw_reach(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    inputs_reach: ReachMatrix,
    base: PlanOptions,
) -> sp.csr_array:
    """Return the 0/1 reach pattern of the raw demand (the model's, unless it aggregated)."""
    if base.aggregate is None:
        return structure(sp.csr_array(inputs_reach.matrix))
    return structure(sp.csr_array(reach_from_points(gdf_demand, gdf_sites, scenario).matrix))


def _by_year(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    result: RoadmapResult,
    raw_weights: NDArray[np.float64],
    options: RoadmapOptions,
    inputs: Any,
    blindspots: bool,
) -> tuple[pd.DataFrame, NDArray[np.bool_]]:
    """Return the by-year table, re-checking each year's coverage on the raw demand."""
    n_years = options.years
    existing = inputs.existing
    cost_coef, cost_constant = net_cost_terms(inputs.fixed_costs, existing, options.closing_cost)
    records = []
    covered_all = np.zeros((n_years, len(gdf_demand)), dtype=bool)
    previous_cost = 0.0
    previous_open = existing.copy()
    statuses = inputs.statuses
    for year in range(n_years):
        is_open = result.open_by_year[year]
        sites = gdf_sites.copy()
        sites["status"] = np.where(
            is_open, "existing", np.where(statuses == "competitor", "competitor", "candidate")
        )
        demand = gdf_demand.copy()
        demand["weight"] = raw_weights[year]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InputWarning)
            coverage = coverage_from_points(
                demand,
                sites,
                scenario,
                blindspots=BlindspotOptions() if blindspots else None,
            )
        kpis = coverage.summary()
        covered_all[year] = coverage.points["covered"].to_numpy(dtype=bool)
        net = float(cost_coef[is_open].sum() + cost_constant) if result.has_solution else math.nan
        records.append(
            {
                "year": year + 1,
                "sites_open": int(is_open.sum()),
                "new_sites": int((is_open & ~previous_open).sum()),
                "spend": net - previous_cost,
                "weighted_coverage_rate": kpis["weighted_coverage_rate"],
                "covered_weight": kpis["covered_weight"],
                "n_blindspots": int(kpis["n_blindspots"]),
                "closed_sites": int((previous_open & ~is_open).sum()),
                "budget": (
                    options.budget_per_year[year] if options.budget_per_year is not None else None
                ),
                "coverage_target": (
                    options.coverage_target_by_year[year]
                    if options.coverage_target_by_year is not None
                    else None
                ),
                "total_weight": float(raw_weights[year].sum()),
            }
        )
        previous_cost = net
        previous_open = is_open
    return pd.DataFrame(records, columns=list(BY_YEAR_COLUMNS)), covered_all


def _staffing_by_year(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    result: RoadmapResult,
    raw_weights: NDArray[np.float64],
    inputs: Any,
    base: PlanOptions,
) -> list[dict[str, Any]]:
    """Return every year's staffing block (with its ``per_site`` table) of the roadmap's network."""
    if not result.has_solution:
        return []
    reach = inputs.reach if base.aggregate is None else None
    if reach is None:
        reach = reach_from_points(gdf_demand, gdf_sites, scenario)
    blocks = []
    for year in range(result.open_by_year.shape[0]):
        demand = gdf_demand.copy()
        demand["weight"] = raw_weights[year]
        staffing = staffing_from_points(
            demand,
            gdf_sites,
            scenario,
            open_mask=result.open_by_year[year],
            today_mask=inputs.existing if year == 0 else None,
            reach=reach,
        )
        block = staffing.summary(inputs.tiers)
        block["per_site"] = staffing.per_site
        blocks.append(block)
    return blocks


def _scores(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    result: RoadmapResult,
    raw_weights: NDArray[np.float64],
    opened_year: NDArray[np.int64],
    reach: ReachMatrix,
    base: PlanOptions,
) -> NDArray[np.float64]:
    """Return per site the demand weight only it reaches in the year it opened (0 if never open).

    Kept sites are scored in year 1. The score is what the roadmap would lose
    that year without the site: it ranks the sites of a year by how much they matter.
    """
    pattern = _raw_reach(gdf_demand, gdf_sites, scenario, reach, base)
    score = np.zeros(pattern.shape[1])
    if not result.has_solution:
        return score
    by_site = sp.csr_array(pattern.T)
    for year in range(result.open_by_year.shape[0]):
        is_open = result.open_by_year[year]
        n_covering = pattern @ is_open.astype(np.float64)
        only_one = np.where(n_covering == 1, raw_weights[year], 0.0)
        exclusive = by_site @ only_one
        scored = (opened_year == year + 1) | ((opened_year == 0) & (year == 0))
        score[scored & is_open] = exclusive[scored & is_open]
    return np.asarray(np.round(score, 6), dtype=np.float64)


def read_roadmap_sites(folder: str | Path) -> pd.DataFrame:
    """Return the ``roadmap.csv`` of a ``netplan roadmap`` output folder.

    Raises
    ------
    InputError
        When the folder has no ``roadmap.csv`` or it lacks the roadmap's columns.
    """
    path = Path(folder) / "roadmap.csv"
    if not path.is_file():
        msg = f"{folder}: no roadmap.csv here; run `netplan roadmap --out {folder}` first"
        raise InputError(msg)
    table = pd.read_csv(path, dtype={"site_id": str, "name": object, "tier": object})
    missing = [
        c for c in ("site_id", "tier", "decision", "year_opened", "lon", "lat") if c not in table
    ]
    if missing:
        msg = (
            f"{path}: columns {', '.join(missing)} are missing; this is not a roadmap.csv "
            "as netplan roadmap writes it"
        )
        raise InputError(msg)
    return table


def read_roadmap_by_year(folder: str | Path) -> pd.DataFrame:
    """Return the ``by_year.csv`` of a ``netplan roadmap`` output folder.

    Raises
    ------
    InputError
        When the folder has no ``by_year.csv`` or it lacks the roadmap's columns.
    """
    path = Path(folder) / "by_year.csv"
    if not path.is_file():
        msg = f"{folder}: no by_year.csv here; run `netplan roadmap --out {folder}` first"
        raise InputError(msg)
    table = pd.read_csv(path)
    missing = [c for c in BY_YEAR_COLUMNS[:7] if c not in table]
    if missing:
        msg = (
            f"{path}: columns {', '.join(missing)} are missing; this is not a by_year.csv "
            "as netplan roadmap writes it"
        )
        raise InputError(msg)
    return table
