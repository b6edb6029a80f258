"""Site selection on real points: the options, the run and the :class:`Plan` it returns.

:func:`plan_from_points` reads the optimisation options from the scenario's
``[plan]`` table (overridden by keyword arguments), builds the reach matrix
(or takes one), runs a model from :mod:`netplan.locate`, and returns a
:class:`Plan`: every site with its decision, the assignment of demand to
sites, the solve record, and the coverage of today's network (``before``)
and of the plan (``after``) with the keys of
:meth:`netplan.coverage.CoverageResult.summary`.

The ``[plan]`` table
--------------------
``model``
    ``tiered`` (default), ``set-cover``, ``max-cover``, ``p-median``, ``capacitated``.
``objective``
    Tiered model: ``min_cost`` or ``max_coverage`` (default: ``min_cost`` with a
    coverage target, else ``max_coverage``).
``coverage_target``
    Share of demand weight to cover, in (0, 1].
``budget``
    The most net change in yearly fixed cost: the cost of new sites opened,
    less the savings from closing existing ones (existing sites kept cost
    nothing, so today's network with nothing new fits a budget of 0). The
    tiered and max-cover models spend it; the others warn that they do not.
``p``
    Most open sites in total (existing sites kept count); exactly ``p`` for p-median.
``tier_counts``
    Table ``{tier = most open sites of that tier}``.
``allow_close``, ``closing_cost``
    Let the model close existing sites; the one-off cost of a closure.
``capacitated``, ``single_source``
    Respect site capacities (tiered); serve each point from one site (capacitated model).
``grade_min_tier``
    Table ``{grade = tier}``: points of that grade need that tier or a higher one.
``support_chain``
    Enforce the hub → station → point support chain (default ``true``).
``max_distance_km``
    Largest assignment distance (p-median, capacitated).
``cost_per_km``
    Assignment cost per km and unit of weight (capacitated; default 1).
``aggregate``
    ``"h3:7"``: solve on demand aggregated to H3 cells of that resolution.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from netplan import display
from netplan.blindspots import BlindspotOptions
from netplan.config import PLAN_KEYS, PLAN_MODELS, PlanOptions, Scenario, parse_aggregate
from netplan.coverage import CoverageResult, coverage_from_points
from netplan.demand import aggregate_h3
from netplan.errors import InfeasibleError, InputError, InputWarning
from netplan.geo import chord_from_km, great_circle_km, unit_xyz
from netplan.io import write_frame, write_text
from netplan.locate.explain import PlanFacts, explain_plan
from netplan.locate.models import LocateResult, capacitated, max_cover, p_median, set_cover
from netplan.locate.solve import SolverSession, SolverSettings
from netplan.locate.tiered import TieredOptions, tiered
from netplan.reach import ReachMatrix, reach_from_points
from netplan.regions import tag_points
from netplan.results import PlanOutputs, plain, read_plan_outputs, stable_json
from netplan.staffing import staffing_from_points

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DECISIONS",
    "MODELS",
    "PLAN_KEYS",
    "Plan",
    "PlanOptions",
    "infeasible_summary",
    "plan_from_points",
    "plan_options",
]

#: Models :func:`plan_from_points` runs.
MODELS = PLAN_MODELS
#: Decision of every site in a plan.
DECISIONS = ("kept", "opened", "closed", "not_selected")
#: Most demand × site pairs held as a dense distance matrix (p-median, capacitated).
DENSE_PAIR_LIMIT = 30_000_000
#: Columns of :attr:`Plan.sites`, in order (``name`` follows ``id`` when present).
SITE_COLUMNS = (
    "id",
    "tier",
    "status_before",
    "decision",
    "fixed_cost",
    "capacity",
    "assigned_weight",
    "utilisation",
    "lon",
    "lat",
)


def plan_options(scenario: Scenario, **overrides: Any) -> PlanOptions:
    """Return the scenario's ``[plan]`` options (:attr:`Scenario.plan_options`) with overrides.

    ``overrides`` are :class:`PlanOptions` fields; ``None`` values keep the
    scenario's. ``aggregate`` may be written ``"h3:7"``.

    Raises
    ------
    ConfigError
        Naming the key (``plan.budget``) of an unknown key or a bad value in ``[plan]``.
    InputError
        An unknown override or model.
    """
    options = scenario.plan_options
    changes = {k: v for k, v in overrides.items() if v is not None}
    for key in changes:
        if key not in PLAN_KEYS:
            msg = f"unknown plan option {key!r}; expected one of: {', '.join(PLAN_KEYS)}"
            raise InputError(msg)
    if "aggregate" in changes:
        changes["aggregate"] = parse_aggregate(changes["aggregate"])
    if "model" in changes and changes["model"] not in MODELS:
        msg = f"unknown model {changes['model']!r}; use one of {', '.join(MODELS)}"
        raise InputError(msg)
    return replace(options, **changes)


def objective_from_limit(
    options: PlanOptions, *, budget: float | None, coverage_target: float | None
) -> PlanOptions:
    """Return ``options`` with the objective one limit given alone asks for.

    The rule lives with the options: :meth:`PlanOptions.with_limit`.
    """
    return options.with_limit(budget=budget, coverage_target=coverage_target)


def infeasible_summary(options: PlanOptions, error: InfeasibleError) -> dict[str, Any]:
    """Return the ``summary.json`` of a run with no feasible plan: the diagnosis and the options."""
    return {
        "model": options.model,
        "status": "infeasible",
        "message": str(error),
        "diagnosis": getattr(error, "diagnosis", {}),
        "options": options.to_dict(),
    }


def solver_settings(
    scenario: Scenario,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
) -> SolverSettings:
    """Return solver settings from the scenario's ``[solver]`` table with overrides applied."""
    options = scenario.solver
    return SolverSettings(
        solver=solver or options.name,
        time_limit=time_limit if time_limit is not None else options.time_limit,
        gap=gap if gap is not None else options.gap,
        threads=options.threads,
        seed=options.seed,
    )


# --------------------------------------------------------------------------- the result


@dataclass(repr=False)
class Plan:
    """A site-selection plan.

    Attributes
    ----------
    model
        The model solved.
    status
        ``optimal``, ``feasible`` (time limit; see ``gap``), ``infeasible`` or ``no_solution``.
    objective, best_bound, gap
        The plan's objective (net cost, covered weight, total weighted
        distance or total cost, by model), the best proven bound and the gap.
    build_seconds, solve_seconds
        Model build and solve time.
    sites
        Every site: :data:`SITE_COLUMNS` (+ ``name``), point geometry.
    assignment
        ``demand_id``, ``site_id``, ``distance``, ``weight`` (+ ``share`` under
        capacities): the demand the plan serves and from where.
    before, after
        Coverage summaries of today's network and of the plan (keys of
        :meth:`netplan.coverage.CoverageResult.summary` with ``zones=False``),
        on the raw demand.
    options
        The options used.
    details
        Solver, model size, preprocessing counts, aggregation.
    staffing
        The ``staffing`` block of the summary (:mod:`netplan.staffing`):
        engineers, calls and response times today and planned.
    coverage
        The plan's network coverage on the raw demand (per point, with its
        blind spots), computed from the reach matrix the plan was solved on;
        ``after`` is its summary. ``None`` for a plan read from an older
        folder without ``coverage/``.
    explanation
        Why a plan that opens nothing, or spends less than half its budget
        while demand is left uncovered, does so: sentences (``text``,
        ``text_zh``) naming the binding limits with their ``figures``
        (:func:`netplan.locate.explain.explain_plan`); empty otherwise.
    """

    model: str
    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    build_seconds: float
    solve_seconds: float
    sites: gpd.GeoDataFrame
    assignment: pd.DataFrame
    before: dict[str, Any]
    after: dict[str, Any]
    options: PlanOptions
    details: dict[str, Any] = field(default_factory=dict)
    coverage: CoverageResult | None = None
    staffing: dict[str, Any] | None = None
    explanation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_sites(self) -> gpd.GeoDataFrame:
        """Return the sites open in the plan (kept and opened)."""
        return self.sites[self.sites["decision"].isin(["kept", "opened"])]

    def summary(self) -> dict[str, Any]:
        """Return the plan's figures as plain JSON-ready data.

        Keys: ``model``, ``status``, ``objective``, ``best_bound``, ``gap``,
        ``build_seconds``, ``solve_seconds``, ``solver``, ``n_open_by_tier``,
        ``n_by_decision``, ``total_fixed_cost``, ``net_cost_change``,
        ``options``, ``details``, ``before`` and ``after``.
        """
        open_sites = self.open_sites
        n_open = open_sites.groupby("tier").size() if len(open_sites) else pd.Series(dtype=int)
        decisions = self.sites["decision"].value_counts()
        opened = self.sites["decision"] == "opened"
        closed = self.sites["decision"] == "closed"
        closing = float(self.options.closing_cost) * int(closed.sum())
        net = (
            float(
                self.sites.loc[opened, "fixed_cost"].sum()
                - self.sites.loc[closed, "fixed_cost"].sum()
            )
            + closing
        )
        payload = {
            "model": self.model,
            "status": self.status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "solver": self.details.get("solver", ""),
            "n_open": len(open_sites),
            "n_open_by_tier": {str(k): int(v) for k, v in sorted(n_open.items())},
            "n_by_decision": {d: int(decisions.get(d, 0)) for d in DECISIONS},
            "total_fixed_cost": float(open_sites["fixed_cost"].sum()),
            "net_cost_change": net,
            "options": self.options.to_dict(),
            "coverage_target_met": (
                None
                if self.options.coverage_target is None
                or self.after.get("weighted_coverage_rate") is None
                else bool(
                    self.after["weighted_coverage_rate"] >= self.options.coverage_target - 1e-9
                )
            ),
            "details": dict(sorted(self.details.items())),
            "before": self.before,
            "after": self.after,
        }
        if self.staffing is not None:
            payload["staffing"] = self.staffing
        if self.explanation:
            payload["explanation"] = self.explanation
        result: dict[str, Any] = json.loads(json.dumps(plain(payload)))
        return result

    def to_files(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the plan tables, ``summary.json`` and ``coverage/``.

        ``coverage/`` is the plan's network coverage as
        :meth:`netplan.coverage.CoverageResult.to_files` writes it (when the
        plan has one). Every file is written atomically. The CSV and GeoJSON
        files are byte-identical across runs on the same input;
        ``summary.json`` also holds the build and solve times, which vary.

        Returns
        -------
        dict
            Written paths by name (``plan``, ``plan_geojson``, ``assignment``,
            ``summary``; ``coverage``, ``coverage_blindspots``, ``coverage_summary``).
        """
        out = Path(out_dir)
        table = pd.DataFrame(self.sites.drop(columns=self.sites.geometry.name))
        paths = {
            "plan": write_frame(table, out / "plan.csv", fmt="csv"),
            "plan_geojson": write_frame(self.sites, out / "plan.geojson", fmt="geojson"),
            "assignment": write_frame(self.assignment, out / "assignment.csv", fmt="csv"),
            "summary": write_text(out / "summary.json", plan_json(self.summary())),
        }
        if self.coverage is not None:
            written = self.coverage.to_files(out / "coverage")
            paths["coverage"] = written["coverage"]
            paths["coverage_blindspots"] = written["blindspots"]
            paths["coverage_summary"] = written["summary"]
        return paths

    @staticmethod
    def from_files(folder: str | Path) -> PlanOutputs:
        """Read a plan folder back: the tables, ``summary.json`` and ``coverage/``.

        Returns
        -------
        netplan.results.PlanOutputs
            What maps and reports draw (``sites``, ``assignment``,
            ``summary()``, ``coverage``).

        Raises
        ------
        InputError
            ``plan.csv`` or ``summary.json`` is missing or unreadable.
        """
        return read_plan_outputs(folder)

    def map(self, **options: Any) -> Any:
        """Return the folium map of this plan: kept, opened and closed sites, blind spots left.

        Shown inline in Jupyter; ``options`` go to
        :func:`netplan.notebook.result_map` (``scenario=``, ``lang=``, ``offline=``, ...).
        """
        return display.map_of(self, **options)

    def explore(self, **options: Any) -> Any:
        """Return a GPU map of every demand point and the open sites (``netplan[notebook]``).

        See :func:`netplan.notebook.explore`.
        """
        return display.explore_of(self, **options)

    def __repr__(self) -> str:
        return display.plan_repr(self)

    def _repr_html_(self) -> str:
        return display.plan_html(self)


#: Stable JSON of a plan summary (the one rule: :func:`netplan.results.stable_json`).
plan_json = stable_json


# --------------------------------------------------------------------------- the run


def _statuses(gdf_sites: gpd.GeoDataFrame) -> NDArray[np.object_]:
    if "status" in gdf_sites.columns:
        return np.asarray(gdf_sites["status"].astype(object).to_numpy(), dtype=object)
    return np.full(len(gdf_sites), "existing", dtype=object)


def _tiers(gdf_sites: gpd.GeoDataFrame) -> NDArray[np.object_]:
    if "tier" not in gdf_sites.columns:
        msg = "the sites need a `tier` column"
        raise InputError(msg)
    return np.array(
        [None if t is None or t != t else str(t) for t in gdf_sites["tier"].tolist()], dtype=object
    )


def _support_matrix(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    tiers: NDArray[np.object_],
    scenario: Scenario,
) -> tuple[sp.csr_array, NDArray[np.bool_]]:
    """Return (site × site support pairs, needs-support flags) from great-circle distances."""
    n = len(lon)
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    needs = np.zeros(n, dtype=bool)
    xyz = unit_xyz(lon, lat)
    for tier in scenario.tiers.values():
        if tier.parent is None:
            continue
        children = np.flatnonzero(tiers == tier.name)
        needs[children] = True
        parents = np.flatnonzero(tiers == tier.parent)
        if children.size == 0 or parents.size == 0 or tier.support_radius_km is None:
            if tier.support_radius_km is None and parents.size:
                # No radius given: any parent-tier site supports.
                rows.append(np.repeat(children, parents.size))
                cols.append(np.tile(parents, children.size))
            continue
        tree = cKDTree(xyz[parents])
        found = tree.query_ball_point(
            xyz[children], float(chord_from_km(tier.support_radius_km)) * (1 + 1e-12)
        )
        counts = np.array([len(f) for f in found], dtype=np.int64)
        rows.append(np.repeat(children, counts))
        cols.append(
            parents[np.concatenate([np.asarray(f, dtype=np.int64) for f in found])]
            if counts.sum()
            else np.zeros(0, dtype=np.int64)
        )
    if rows:
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        # exact check of the radius on the candidate pairs
        keep = great_circle_km(lon[r], lat[r], lon[c], lat[c]) <= np.array(
            [scenario.tiers[t].support_radius_km or np.inf for t in tiers[r]], dtype=np.float64
        )
        r, c = r[keep], c[keep]
    else:
        r = c = np.zeros(0, dtype=np.int64)
    return sp.csr_array((np.ones(len(r)), (r, c)), shape=(n, n)), needs


def _tier_ranks(scenario: Scenario) -> dict[str, list[str]]:
    """Return, per tier, that tier and every tier above it in the support chain."""
    ranks: dict[str, list[str]] = {}
    for name, tier in scenario.tiers.items():
        chain = [name]
        current = tier
        while current.parent is not None and current.parent not in chain:
            chain.append(current.parent)
            current = scenario.tiers[current.parent]
        ranks[name] = chain
    return ranks


def _distances(
    reach: ReachMatrix, max_distance: float | None
) -> sp.csr_array | NDArray[np.float64]:
    """Return demand × site distances for p-median / capacitated models."""
    if reach.full_costs is not None:
        matrix = sp.csr_array(reach.full_costs)
        if max_distance is not None:
            keep = matrix.data <= max_distance
            rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
            matrix = sp.csr_array(
                (matrix.data[keep], (rows, matrix.indices[keep])), shape=matrix.shape
            )
        return matrix
    n_demand, n_sites = reach.n_demand, reach.n_sites
    if max_distance is None:
        if n_demand * n_sites > DENSE_PAIR_LIMIT:
            msg = (
                f"{n_demand:,} demand points × {n_sites:,} sites is too many pairs "
                "for a full distance "
                "matrix; aggregate the demand (--aggregate h3:6) or set plan.max_distance_km"
            )
            raise InputError(msg)
        out = np.empty((n_demand, n_sites))
        step = max(1, 2_000_000 // max(n_sites, 1))
        for start in range(0, n_demand, step):
            stop = min(start + step, n_demand)
            out[start:stop] = (
                great_circle_km(
                    reach.demand_lon[start:stop, None],
                    reach.demand_lat[start:stop, None],
                    reach.site_lon[None, :],
                    reach.site_lat[None, :],
                )
                * reach.site_scale[None, :]
            )
        return out
    tree = cKDTree(unit_xyz(reach.site_lon, reach.site_lat))
    points = unit_xyz(reach.demand_lon, reach.demand_lat)
    scale_min = float(reach.site_scale.min()) if len(reach.site_scale) else 1.0
    found = tree.query_ball_point(
        points, float(chord_from_km(max_distance / scale_min)) * (1 + 1e-12)
    )
    counts = np.array([len(f) for f in found], dtype=np.int64)
    rows = np.repeat(np.arange(n_demand), counts)
    cols = (
        np.concatenate([np.asarray(f, dtype=np.int64) for f in found])
        if counts.sum()
        else np.zeros(0, dtype=np.int64)
    )
    values = (
        great_circle_km(
            reach.demand_lon[rows],
            reach.demand_lat[rows],
            reach.site_lon[cols],
            reach.site_lat[cols],
        )
        * reach.site_scale[cols]
    )
    keep = values <= max_distance
    return sp.csr_array((values[keep], (rows[keep], cols[keep])), shape=(n_demand, n_sites))


def _network_coverage(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    reach: ReachMatrix,
    is_open: NDArray[np.bool_],
    statuses: NDArray[np.object_],
    *,
    blindspots: BlindspotOptions | None,
) -> CoverageResult:
    """Return the coverage of the network of the ``is_open`` sites, from the plan's reach matrix.

    ``reach`` is the raw demand against every site; the open sites count as
    outlets (status ``existing``), competitors stay competitors, the rest are
    candidates. No reach matrix is built.
    """
    sites = gdf_sites.copy()
    sites["status"] = np.where(
        is_open, "existing", np.where(statuses == "competitor", "competitor", "candidate")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return coverage_from_points(gdf_demand, sites, scenario, blindspots=blindspots, reach=reach)


@dataclass
class PlanInputs:
    """The arrays every model run needs, prepared once from the demand and the sites.

    Attributes
    ----------
    demand
        The demand the model sees (aggregated cells when aggregating).
    reach
        Its reach matrix against every site.
    statuses, tiers, fixed_costs, capacities
        Per site.
    weights, demand_ids, grades
        Per demand row.
    support, needs_support
        The support-chain pairs (site × site) and which sites need a parent.
    details
        Notes for the summary (aggregation).
    """

    demand: gpd.GeoDataFrame
    reach: ReachMatrix
    statuses: NDArray[np.object_]
    tiers: NDArray[np.object_]
    fixed_costs: NDArray[np.float64]
    capacities: NDArray[np.float64]
    weights: NDArray[np.float64]
    demand_ids: NDArray[np.object_]
    grades: NDArray[np.object_] | None
    support: sp.csr_array
    needs_support: NDArray[np.bool_]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def cover(self) -> sp.csr_array:
        """Return the reach matrix as CSR (demand × site)."""
        return sp.csr_array(self.reach.matrix)

    @property
    def has_tier(self) -> NDArray[np.bool_]:
        """Return ``True`` for sites with a tier."""
        return np.array([t is not None for t in self.tiers], dtype=bool)

    @property
    def existing(self) -> NDArray[np.bool_]:
        """Return ``True`` for today's outlets."""
        return np.asarray((self.statuses == "existing") & self.has_tier, dtype=bool)

    @property
    def excluded(self) -> NDArray[np.bool_]:
        """Return ``True`` for sites that never open (closed, competitors, no tier)."""
        allowed = np.isin(self.statuses, ["existing", "candidate", "required"])
        return np.asarray(~self.has_tier | ~allowed, dtype=bool)

    def forced(self, options: PlanOptions) -> NDArray[np.bool_]:
        """Return ``True`` for sites that must be open (required; existing unless closable)."""
        required = (self.statuses == "required") & self.has_tier
        return np.asarray(required | (self.existing & (not options.allow_close)), dtype=bool)


def prepare_inputs(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    options: PlanOptions,
    *,
    matrix: pd.DataFrame | str | Path | None = None,
    reach: ReachMatrix | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PlanInputs:
    """Aggregate the demand if asked, build the reach matrix and the per-site arrays."""
    details: dict[str, Any] = {}
    demand = gdf_demand
    if options.aggregate is not None:
        if matrix is not None:
            msg = "a cost matrix names raw demand ids; drop --aggregate or --matrix"
            raise InputError(msg)
        demand = aggregate_h3(gdf_demand, options.aggregate)
        details["aggregation"] = f"h3:{options.aggregate}"
        details["aggregation_n_points"] = len(gdf_demand)
        details["aggregation_n_cells"] = len(demand)
        details["aggregation_max_displacement_km"] = (
            float(demand["max_error_km"].max()) if len(demand) else 0.0
        )
        reach = None
    if reach is None:
        reach = reach_from_points(demand, gdf_sites, scenario, matrix=matrix, progress=progress)
    tiers = _tiers(gdf_sites)
    if "fixed_cost" in gdf_sites.columns:
        fixed = gdf_sites["fixed_cost"].to_numpy(dtype=np.float64)
    else:
        fixed = np.array(
            [scenario.tiers[t].fixed_cost if t in scenario.tiers else 0.0 for t in tiers]
        )
    if "capacity" in gdf_sites.columns:
        capacity = gdf_sites["capacity"].to_numpy(dtype=np.float64)
    else:
        capacity = np.array(
            [
                scenario.tiers[t].capacity or np.inf if t in scenario.tiers else np.inf
                for t in tiers
            ],
            dtype=np.float64,
        )
    fixed = np.where(np.isfinite(fixed), fixed, 0.0)
    capacity = np.where(np.isnan(capacity), np.inf, capacity)
    support, needs = _support_matrix(
        np.asarray(gdf_sites.geometry.x, dtype=np.float64),
        np.asarray(gdf_sites.geometry.y, dtype=np.float64),
        tiers,
        scenario,
    )
    return PlanInputs(
        demand=demand,
        reach=reach,
        statuses=_statuses(gdf_sites),
        tiers=tiers,
        fixed_costs=fixed,
        capacities=capacity,
        weights=demand["weight"].to_numpy(dtype=np.float64),
        demand_ids=demand["id"].astype(str).to_numpy(dtype=object),
        grades=demand["grade"].astype(object).to_numpy() if "grade" in demand.columns else None,
        support=support,
        needs_support=needs,
        details=details,
    )


def tiered_options(options: PlanOptions) -> TieredOptions:
    """Return the tiered model's options from plan options."""
    return TieredOptions(
        objective=options.objective,
        coverage_target=options.coverage_target,
        budget=options.budget,
        p=options.p,
        tier_counts=options.tier_counts,
        allow_close=options.allow_close,
        closing_cost=options.closing_cost,
        capacitated=options.capacitated,
        grade_min_tier=options.grade_min_tier,
        support=options.support_chain,
    )


def solve_tiered(
    inputs: PlanInputs,
    options: PlanOptions,
    scenario: Scenario,
    settings: SolverSettings,
    *,
    polish: bool = True,
    session: SolverSession | None = None,
    method: str = "auto",
) -> LocateResult:
    """Run the tiered model on prepared inputs (``method``: see :func:`netplan.locate.tiered`)."""
    return tiered(
        inputs.cover,
        weights=inputs.weights,
        site_tiers=inputs.tiers,
        site_status=inputs.statuses,
        fixed_costs=inputs.fixed_costs,
        capacities=inputs.capacities,
        support=inputs.support,
        needs_support=inputs.needs_support,
        options=tiered_options(options),
        tier_ranks=_tier_ranks(scenario),
        demand_grades=inputs.grades,
        settings=settings,
        demand_ids=inputs.demand_ids,
        polish=polish,
        session=session,
        method=method,
    )


def plan_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    model: str | None = None,
    coverage_target: float | None = None,
    budget: float | None = None,
    p: int | None = None,
    allow_close: bool | None = None,
    capacitated_assignment: bool | None = None,
    aggregate: str | int | None = None,
    matrix: pd.DataFrame | str | Path | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    options: PlanOptions | None = None,
    reach: ReachMatrix | None = None,
    progress: Callable[[int, int], None] | None = None,
    blindspots: BlindspotOptions | None = BlindspotOptions(),  # noqa: B008 (frozen, immutable)
) -> Plan:
    """Choose sites for the demand and return the plan with before/after coverage.

    Parameters
    ----------
    gdf_demand
        Weighted demand (``id``, ``weight``, optional ``grade``) in EPSG:4326.
    gdf_sites
        Sites with ``id``, ``tier``, ``status``, ``fixed_cost``, ``capacity``.
    scenario
        Tiers, promises, ``[plan]`` options and ``[solver]`` settings.
    model, coverage_target, budget, p, allow_close, capacitated_assignment, aggregate
        Override the scenario's ``[plan]`` keys (``capacitated_assignment`` is
        ``plan.capacitated``); ``None`` keeps the scenario's value.
    matrix
        A user cost matrix (``demand_id``, ``site_id``, ``cost``) instead of
        computed distances.
    solver, time_limit, gap
        Override the scenario's ``[solver]`` settings.
    options
        Complete options, used instead of the scenario's ``[plan]`` table;
        not together with the overrides above (one way to say it).
    reach
        A reach matrix already built for exactly this demand and these sites.
    progress
        ``progress(done, total)`` while the reach matrix is built.
    blindspots
        How to group the demand the plan leaves uncovered into zones
        (:attr:`Plan.coverage`); ``None`` skips them.

    Returns
    -------
    Plan
        The plan; ``status`` ``feasible`` means the time limit stopped the
        solver and ``gap`` says how far from optimal the plan may be.

    Raises
    ------
    InfeasibleError
        With the best achievable coverage and the demand no candidate reaches.
    ConfigError
        A bad ``[plan]`` key, naming it.
    """
    started = time.perf_counter()
    options = _options_one_way(
        scenario,
        options,
        model=model,
        coverage_target=coverage_target,
        budget=budget,
        p=p,
        allow_close=allow_close,
        capacitated=capacitated_assignment,
        aggregate=aggregate,
    )
    settings = solver_settings(scenario, solver=solver, time_limit=time_limit, gap=gap)
    inputs = prepare_inputs(
        gdf_demand, gdf_sites, scenario, options, matrix=matrix, reach=reach, progress=progress
    )
    result = solve_model(inputs, options, scenario, settings)
    details = _run_details(settings, inputs, result)
    open_sites = result.open_sites
    assignment, assigned_weight = _assignment(inputs, result, gdf_sites)
    sites = _site_table(gdf_sites, inputs, open_sites, assigned_weight)

    # Today's network and the plan's, from the reach matrix the plan was solved on.
    raw_reach = inputs.reach
    if options.aggregate is not None:  # the model saw cells: one reach matrix of the raw demand
        raw_reach = reach_from_points(gdf_demand, gdf_sites, scenario)
    statuses = inputs.statuses
    before_network = _network_coverage(
        gdf_demand, gdf_sites, scenario, raw_reach, inputs.existing, statuses, blindspots=None
    )
    planned = _network_coverage(
        gdf_demand, gdf_sites, scenario, raw_reach, open_sites, statuses, blindspots=blindspots
    )
    before, after = before_network.summary(zones=False), planned.summary(zones=False)
    details.update(_served_and_aggregated(options, inputs, result, assigned_weight, after))
    staffing = None
    if result.has_solution:
        sites, staffing = add_staffing(
            sites,
            gdf_demand,
            gdf_sites,
            scenario,
            result,
            inputs,
            options,
            inputs.existing,
            raw_reach,
        )
    explanation = (
        explain_plan(
            _plan_facts(inputs, options, result, gdf_sites, assigned_weight), options, scenario
        )
        if result.has_solution and options.model in ("tiered", "max-cover")
        else []
    )
    sites = _with_places(sites)
    details["total_seconds"] = round(time.perf_counter() - started, 3)
    return Plan(
        model=options.model,
        status=result.status,
        objective=result.objective,
        best_bound=result.best_bound,
        gap=result.gap,
        build_seconds=result.build_seconds,
        solve_seconds=result.solve_seconds,
        sites=sites,
        assignment=assignment,
        before=before,
        after=after,
        options=options,
        details=details,
        coverage=planned,
        staffing=staffing,
        explanation=explanation,
    )


def _plan_facts(
    inputs: PlanInputs,
    options: PlanOptions,
    result: LocateResult,
    gdf_sites: gpd.GeoDataFrame,
    assigned_weight: NDArray[np.float64],
) -> PlanFacts:
    """Return what the model saw and chose, for :func:`explain_plan`."""
    chain = options.model == "tiered" and options.support_chain
    return PlanFacts(
        cover=inputs.cover,
        weights=inputs.weights,
        tiers=inputs.tiers,
        statuses=inputs.statuses,
        site_ids=gdf_sites["id"].astype(str).to_numpy(dtype=object),
        fixed_costs=inputs.fixed_costs,
        capacities=inputs.capacities,
        support=inputs.support if chain else None,
        needs_support=inputs.needs_support,
        open_sites=result.open_sites,
        covered_share=result.covered_share,
        assigned_weight=assigned_weight,
    )


def _options_one_way(
    scenario: Scenario, options: PlanOptions | None, **overrides: Any
) -> PlanOptions:
    """Return ``options``, or the scenario's with ``overrides``; both given is an error."""
    given = [name for name, value in overrides.items() if value is not None]
    if options is not None and given:
        names = ["capacitated_assignment" if n == "capacitated" else n for n in given]
        msg = (
            f"give the plan options one way: options= or {'=, '.join(names)}=, not both "
            "(apply changes with dataclasses.replace(options, ...))"
        )
        raise InputError(msg)
    return options if options is not None else plan_options(scenario, **overrides)


def solve_model(
    inputs: PlanInputs, options: PlanOptions, scenario: Scenario, settings: SolverSettings
) -> LocateResult:
    """Run the model ``options.model`` names on prepared inputs."""
    forced, excluded = inputs.forced(options), inputs.excluded
    if options.model == "tiered":
        return solve_tiered(inputs, options, scenario, settings)
    if options.model == "set-cover":
        return set_cover(
            inputs.cover,
            weights=inputs.weights,
            costs=inputs.fixed_costs,
            coverage_target=options.coverage_target,
            forced_open=forced,
            excluded=excluded,
            settings=settings,
            demand_ids=inputs.demand_ids,
        )
    if options.model == "max-cover":
        return max_cover(
            inputs.cover,
            weights=inputs.weights,
            p=options.p,
            budget=options.budget,
            costs=inputs.fixed_costs,
            groups=inputs.tiers,
            p_by_group=dict(options.tier_counts) or None,
            forced_open=forced,
            excluded=excluded,
            settings=settings,
            existing=inputs.existing,
            closing_cost=options.closing_cost,
        )
    if options.budget is not None:
        msg = (
            f"the {options.model} model takes no budget: budget {options.budget:,.0f} is not "
            "applied (--model tiered or max-cover spend one); the plan's net_cost_change "
            "in the summary says what it costs"
        )
        warnings.warn(msg, InputWarning, stacklevel=3)
    if options.model == "p-median":
        if options.p is None:
            msg = "p-median needs `p` (--p N or plan.p)"
            raise InputError(msg)
        return p_median(
            _distances(inputs.reach, options.max_distance_km),
            p=options.p,
            weights=inputs.weights,
            forced_open=forced,
            excluded=excluded,
            settings=settings,
            demand_ids=inputs.demand_ids,
        )
    return capacitated(
        _distances(inputs.reach, options.max_distance_km),
        weights=inputs.weights,
        fixed_costs=inputs.fixed_costs,
        capacities=inputs.capacities,
        cost_per_unit_distance=options.cost_per_km,
        single_source=options.single_source,
        p=options.p,
        forced_open=forced,
        excluded=excluded,
        settings=settings,
        demand_ids=inputs.demand_ids,
    )


def _run_details(
    settings: SolverSettings, inputs: PlanInputs, result: LocateResult
) -> dict[str, Any]:
    """Return the summary's ``details``: solver, model size, aggregation, distance model."""
    details: dict[str, Any] = {"solver": settings.solver, **inputs.details}
    details.update(
        {
            k: v
            for k, v in result.details.items()
            if isinstance(v, int | float | str) and v is not None
        }
    )
    details["distance_model"] = inputs.reach.distance_model
    details["unit"] = inputs.reach.unit
    if result.solver:  # the solver that did solve (the other one after a fallback)
        details["solver"] = result.solver
    return details


def _assignment(
    inputs: PlanInputs, result: LocateResult, gdf_sites: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, NDArray[np.float64]]:
    """Return the assignment table (demand → site) and the weight assigned to each site."""
    demand_ids, weights, reach = inputs.demand_ids, inputs.weights, inputs.reach
    site_ids = gdf_sites["id"].astype(str).to_numpy(dtype=object)
    if result.assignment is not None:
        pairs = result.assignment.tocoo()
        order = np.lexsort((pairs.col, pairs.row))
        rows, cols, share = pairs.row[order], pairs.col[order], pairs.data[order]
        pair_distance = _pair_values(reach, result, rows, cols)
        assignment = pd.DataFrame(
            {
                "demand_id": demand_ids[rows],
                "site_id": site_ids[cols],
                "distance": pair_distance,
                "weight": weights[rows] * share,
                "share": share,
            }
        )
        assigned_weight = np.bincount(cols, weights=weights[rows] * share, minlength=len(gdf_sites))
    else:
        served = result.assigned_site >= 0
        rows = np.flatnonzero(served)
        cols = result.assigned_site[served]
        assignment = pd.DataFrame(
            {
                "demand_id": demand_ids[rows],
                "site_id": site_ids[cols],
                "distance": result.assigned_distance[served],
                "weight": weights[rows],
            }
        )
        assigned_weight = np.bincount(cols, weights=weights[rows], minlength=len(gdf_sites))
    return assignment, np.asarray(assigned_weight, dtype=np.float64)


def _with_places(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the plan's sites with ``province`` and ``city`` last (official names).

    From the built-in boundaries (:func:`netplan.regions.tag_points`), so the
    report and the map name every site alike whatever the sites file holds;
    ``(outside)`` for a site in no boundary.
    """
    tags = tag_points(
        sites["lon"].to_numpy(dtype=np.float64), sites["lat"].to_numpy(dtype=np.float64)
    )
    out = sites.copy()
    geometry = out.geometry.name
    out["province"] = tags["province"].to_numpy(dtype=object)
    out["city"] = tags["city"].to_numpy(dtype=object)
    return out[[c for c in out.columns if c != geometry] + [geometry]]


def _site_table(
    gdf_sites: gpd.GeoDataFrame,
    inputs: PlanInputs,
    open_sites: NDArray[np.bool_],
    assigned_weight: NDArray[np.float64],
) -> gpd.GeoDataFrame:
    """Return every site with its decision, cost, capacity and the weight it serves."""
    existing, capacity = inputs.existing, inputs.capacities
    decision = np.full(len(gdf_sites), "not_selected", dtype=object)
    decision[open_sites & existing] = "kept"
    decision[open_sites & ~existing] = "opened"
    decision[~open_sites & existing] = "closed"
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(
            np.isfinite(capacity) & (capacity > 0), assigned_weight / capacity, np.nan
        )
    frame = pd.DataFrame(
        {
            "id": gdf_sites["id"].astype(str).to_numpy(dtype=object),
            "tier": inputs.tiers,
            "status_before": inputs.statuses,
            "decision": decision,
            "fixed_cost": inputs.fixed_costs,
            "capacity": np.where(np.isfinite(capacity), capacity, np.nan),
            "assigned_weight": assigned_weight,
            "utilisation": utilisation,
            "lon": np.asarray(gdf_sites.geometry.x, dtype=np.float64),
            "lat": np.asarray(gdf_sites.geometry.y, dtype=np.float64),
        }
    )
    if "name" in gdf_sites.columns:
        frame.insert(1, "name", gdf_sites["name"].astype(object).to_numpy())
    return gpd.GeoDataFrame(frame, geometry=gdf_sites.geometry.to_numpy(), crs=gdf_sites.crs)


def _served_and_aggregated(
    options: PlanOptions,
    inputs: PlanInputs,
    result: LocateResult,
    assigned_weight: NDArray[np.float64],
    after: Mapping[str, Any],
) -> dict[str, Any]:
    """Return the served share under capacities (warning when below reach) and cell coverage."""
    details: dict[str, Any] = {}
    weights = inputs.weights
    capacity_bound = options.model == "capacitated" or (
        options.model == "tiered" and options.capacitated
    )
    total_weight = float(weights.sum())
    if capacity_bound and result.has_solution and total_weight > 0:
        # Within reach is not served: with capacities the plan may reach more than it serves.
        served_rate = float(assigned_weight.sum()) / total_weight
        details["served_weight_rate"] = served_rate
        reach_rate = after.get("weighted_coverage_rate")
        if isinstance(reach_rate, float) and served_rate < reach_rate - 1e-6:
            msg = (
                f"capacities limit the plan: its sites reach {100 * reach_rate:.1f}% of demand "
                f"weight within their radius but can serve only {100 * served_rate:.1f}% of it; "
                "raise capacities or open more sites (summary: details.served_weight_rate)"
            )
            warnings.warn(msg, InputWarning, stacklevel=3)
    if options.aggregate is not None and result.has_solution:
        details["aggregated_weighted_coverage_rate"] = (
            float(weights @ result.covered_share) / total_weight if total_weight > 0 else None
        )
    return details


def add_staffing(
    sites: gpd.GeoDataFrame,
    raw_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    result: LocateResult,
    inputs: PlanInputs,
    options: PlanOptions,
    today: NDArray[np.bool_],
    reach: ReachMatrix,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Return the plan's sites with the staffing columns, and the ``staffing`` summary block.

    Engineers and response times come from :mod:`netplan.staffing`, on the raw
    demand and its ``reach`` matrix against every site (the capacitated
    assignment's shares when the plan has one).
    """
    shares = None
    if result.assignment is not None and options.aggregate is None:
        pairs = result.assignment.tocoo()
        shares = {"rows": pairs.row, "cols": pairs.col, "share": pairs.data}
    staffing = staffing_from_points(
        raw_demand,
        gdf_sites,
        scenario,
        open_mask=result.open_sites,
        today_mask=today,
        reach=reach,
        shares=shares,
    )
    return staffing.add_columns(sites), staffing.summary(inputs.tiers)


def _pair_values(
    reach: ReachMatrix, result: LocateResult, rows: NDArray[np.int64], cols: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Return the distance of each (demand, site) pair of an assignment."""
    if reach.full_costs is not None:
        return np.asarray(sp.csr_array(reach.full_costs)[rows, cols], dtype=np.float64).ravel()
    distance = great_circle_km(
        reach.demand_lon[rows], reach.demand_lat[rows], reach.site_lon[cols], reach.site_lat[cols]
    )
    return np.asarray(distance * reach.site_scale[cols], dtype=np.float64)
