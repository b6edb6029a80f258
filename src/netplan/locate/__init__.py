"""Site selection as a MILP: which sites, of which tier, give the best coverage for the money.

The models work on the sparse demand × site reach matrix (:mod:`netplan.reach`)
and are solved with HiGHS (default) or CBC:

* :func:`set_cover`, :func:`max_cover`, :func:`p_median`, :func:`capacitated`:
  the classic models on a matrix (:mod:`netplan.locate.models`);
* :func:`tiered`: hubs, stations and points with the support chain
  (:mod:`netplan.locate.tiered`);
* :func:`plan_from_points`: the whole run on points and sites, returning a
  :class:`Plan` with before/after coverage (:mod:`netplan.locate.plan`);
* :func:`frontier_from_points`: the trade-off curve of coverage against
  sites or budget (:mod:`netplan.locate.tradeoff`).
"""

from __future__ import annotations

from netplan.locate.models import LocateResult, capacitated, max_cover, p_median, set_cover
from netplan.locate.plan import (
    MODELS,
    PLAN_KEYS,
    Plan,
    PlanOptions,
    objective_from_limit,
    plan_from_points,
    plan_options,
)
from netplan.locate.solve import SOLVERS, STATUSES, MilpArrays, SolverSettings, solve_milp
from netplan.locate.tiered import TieredOptions, tiered

__all__ = [
    "MODELS",
    "PLAN_KEYS",
    "SOLVERS",
    "STATUSES",
    "LocateResult",
    "MilpArrays",
    "Plan",
    "PlanOptions",
    "SolverSettings",
    "TieredOptions",
    "capacitated",
    "max_cover",
    "objective_from_limit",
    "p_median",
    "plan_from_points",
    "plan_options",
    "set_cover",
    "solve_milp",
    "tiered",
]
