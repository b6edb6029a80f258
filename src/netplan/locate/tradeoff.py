"""Trade-off curves: covered demand against the number of sites or the budget.

:func:`frontier_from_points` solves the tiered max-coverage model once per
step of a limit — a budget, a total site count, or the count of one tier — and
tabulates coverage, cost and open sites per step. The inputs (reach matrix,
support chain) are prepared once; with HiGHS the solver model is passed once
and each step only changes the limit's bound, starting from the previous
step's plan (a plan within a smaller limit is feasible under a larger one).

The curve is written as ``frontier.csv`` and ``frontier.svg`` (a line chart a
planner can paste into a slide; SVG needs no plotting library and is
byte-identical across runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from netplan import display
from netplan.config import Scenario
from netplan.errors import InfeasibleError, InputError
from netplan.io import write_frame, write_text
from netplan.locate._checks import MAX_AMOUNT
from netplan.locate.plan import (
    PlanOptions,
    plan_json,
    plan_options,
    prepare_inputs,
    solve_tiered,
    solver_settings,
)
from netplan.locate.solve import SolverSession
from netplan.progress import LOGGER, ProgressArg, callback_of, reports_progress

if TYPE_CHECKING:
    import geopandas as gpd

    from netplan.reach import ReachMatrix

__all__ = ["FRONTIER_BY", "Frontier", "frontier_from_points", "frontier_svg"]

#: What a frontier steps over.
FRONTIER_BY = ("budget", "sites")


@dataclass(repr=False)
class Frontier:
    """A trade-off curve.

    Attributes
    ----------
    by
        ``"budget"`` or ``"sites"``.
    tier
        The tier whose count is stepped (``by="sites"``), or ``None`` for all sites.
    table
        One row per step: ``limit``, ``status``, ``weighted_coverage_rate``,
        ``covered_weight``, ``net_cost``, ``n_open``, ``n_open_<tier>`` per
        tier, ``gap``, ``solve_seconds``.
    details
        Totals and notes (``total_weight``, ``n_reused`` solver reuses, aggregation).
    """

    by: str
    tier: str | None
    table: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Return the curve and its notes as plain data."""
        return {
            "by": self.by,
            "tier": self.tier,
            "n_steps": len(self.table),
            "steps": self.table.to_dict(orient="records"),
            "details": dict(sorted(self.details.items())),
        }

    def to_files(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``frontier.csv``, ``frontier.svg`` and ``frontier.json``; return the paths."""
        out = Path(out_dir)
        stable = self.table.drop(columns=["solve_seconds"])
        return {
            "frontier": write_frame(stable, out / "frontier.csv", fmt="csv"),
            "chart": write_text(out / "frontier.svg", frontier_svg(self)),
            "summary": write_text(out / "frontier.json", plan_json(self.summary())),
        }

    def __repr__(self) -> str:
        return display.frontier_repr(self)

    def _repr_html_(self) -> str:
        return display.frontier_html(self, svg=frontier_svg(self) if len(self.table) else "")


@reports_progress("frontier", "steps")
def frontier_from_points(
    gdf_demand: gpd.GeoDataFrame,
    gdf_sites: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    by: str = "budget",
    tier: str | None = None,
    values: Sequence[float] | None = None,
    n_steps: int = 10,
    options: PlanOptions | None = None,
    aggregate: str | int | None = None,
    matrix: pd.DataFrame | str | Path | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    reach: ReachMatrix | None = None,
    progress: ProgressArg = None,
    on_step: Callable[[int, int], None] | None = None,
) -> Frontier:
    """Trace covered demand against a budget or a site count.

    Parameters
    ----------
    gdf_demand, gdf_sites, scenario
        As for :func:`~netplan.locate.plan_from_points`.
    by
        ``"budget"`` (net fixed-cost change) or ``"sites"`` (open sites, or
        open sites of ``tier``).
    tier
        With ``by="sites"``: step the count of this tier only.
    values
        The limits to solve at, ascending; ``None`` picks ``n_steps`` of them:
        budgets evenly up to the cost of the best achievable coverage, counts
        1, 2, ... (from the sites that must stay open) up to ``n_steps`` more.
    n_steps
        Number of steps when ``values`` is ``None``.
    options
        Plan options (other limits, capacities, grade requirements); the
        scenario's ``[plan]`` table when ``None``. Its coverage target and the
        stepped limit are replaced per step.
    aggregate, matrix, solver, time_limit, gap, reach
        As for :func:`~netplan.locate.plan_from_points` (the time limit is per step).
    progress
        ``progress(steps solved, steps)``, or ``True``/``False`` for a
        progress bar or none; ``None`` shows a bar in notebooks only
        (:mod:`netplan.progress`).
    on_step
        ``on_step(k, n)`` before the solve of step ``k`` (from 1) of ``n``.

    Returns
    -------
    Frontier
        One row per step; a step whose limit cannot hold the sites that must
        stay open has status ``infeasible``.
    """
    if by not in FRONTIER_BY:
        msg = f"unknown frontier axis {by!r}; use one of {', '.join(FRONTIER_BY)}"
        raise InputError(msg)
    if tier is not None and by != "sites":
        msg = "`tier` steps a site count; use it with by='sites'"
        raise InputError(msg)
    if tier is not None and tier not in scenario.tiers:
        msg = f"unknown tier {tier!r}; defined tiers: {', '.join(scenario.tiers)}"
        raise InputError(msg)
    if values is not None:
        check_frontier_values(values, by)
    base = options if options is not None else plan_options(scenario, aggregate=aggregate)
    if aggregate is not None and options is not None:
        base = plan_options(scenario, aggregate=aggregate)
    base = replace(base, model="tiered", objective="max_coverage", coverage_target=None)
    settings = solver_settings(scenario, solver=solver, time_limit=time_limit, gap=gap)
    inputs = prepare_inputs(gdf_demand, gdf_sites, scenario, base, matrix=matrix, reach=reach)
    total = float(inputs.weights.sum())
    forced = inputs.forced(base)
    existing = inputs.existing

    if values is None:
        values = _default_steps(inputs, base, scenario, settings, by, tier, n_steps, forced)
    steps = sorted(float(v) for v in values)
    session = SolverSession(settings)
    rows: list[dict[str, Any]] = []
    report = callback_of(progress)
    for number, limit in enumerate(steps, start=1):
        if on_step is not None:
            on_step(number, len(steps))
        if by == "budget":
            step_options = replace(base, budget=limit)
        elif tier is None:
            step_options = replace(base, p=int(limit))
        else:
            step_options = replace(base, tier_counts={**dict(base.tier_counts), tier: int(limit)})
        rows.append(_frontier_row(inputs, step_options, scenario, settings, session, limit, total))
        LOGGER.debug("frontier: %s %g solved (%s)", by, limit, rows[-1]["status"])
        if report is not None:
            report(len(rows), len(steps))
    table = pd.DataFrame(rows)
    details = {
        "total_weight": total,
        "n_kept_or_required": int(forced.sum()),
        "n_existing": int(existing.sum()),
        "n_reused": session.n_reused,
        "solver": settings.solver,
        **inputs.details,
    }
    return Frontier(by=by, tier=tier, table=table, details=details)


def _frontier_row(
    inputs: Any,
    step_options: PlanOptions,
    scenario: Scenario,
    settings: Any,
    session: SolverSession,
    limit: float,
    total: float,
) -> dict[str, Any]:
    """Solve one step of the frontier and return its row (``infeasible`` rows hold NaN)."""
    tier_names = list(scenario.tiers)
    row: dict[str, Any] = {"limit": limit}
    try:
        result = solve_tiered(
            inputs, step_options, scenario, settings, polish=False, session=session
        )
    except InfeasibleError:
        row.update(
            {
                "status": "infeasible",
                "weighted_coverage_rate": math.nan,
                "covered_weight": math.nan,
            }
        )
        row.update({"net_cost": math.nan, "n_open": 0, "gap": math.nan, "solve_seconds": 0.0})
        row.update({f"n_open_{name}": 0 for name in tier_names})
        return row
    open_sites = result.open_sites
    covered = float(result.details.get("covered_weight", 0.0))
    row.update(
        {
            "status": result.status,
            "weighted_coverage_rate": covered / total if total > 0 else math.nan,
            "covered_weight": covered,
            "net_cost": result.details.get("net_cost"),
            "n_open": int(open_sites.sum()),
            "gap": result.gap,
            "solve_seconds": round(result.solve_seconds, 3),
        }
    )
    row.update(
        {f"n_open_{name}": int((open_sites & (inputs.tiers == name)).sum()) for name in tier_names}
    )
    return row


def check_frontier_values(values: Sequence[float], by: str) -> None:
    """Raise :class:`InputError` unless ``values`` are limits a frontier can step through.

    At least one value; every one a finite number; budgets below
    :data:`~netplan.locate.tiered.MAX_AMOUNT` in size; site counts whole and 0 or more.
    """
    listed = list(values)
    if not listed:
        msg = "no frontier values given; list at least one limit (or leave them out for steps)"
        raise InputError(msg)
    for value in listed:
        number = float(value)
        if not math.isfinite(number):
            msg = f"frontier values must be finite numbers, got {value!r}"
            raise InputError(msg)
        if by == "budget" and abs(number) >= MAX_AMOUNT:
            msg = f"budget {number:g} is beyond any plan's cost; budgets must stay below 1e15"
            raise InputError(msg)
        if by == "sites" and not (number >= 0 and number == int(number) and number < 1e9):
            msg = f"site counts must be whole numbers, 0 or more, got {value!r}"
            raise InputError(msg)


def _default_steps(
    inputs: Any,
    base: PlanOptions,
    scenario: Scenario,
    settings: Any,
    by: str,
    tier: str | None,
    n_steps: int,
    forced: np.ndarray,
) -> list[float]:
    if n_steps < 1:
        msg = f"`n_steps` must be 1 or more, got {n_steps}"
        raise InputError(msg)
    if by == "sites":
        counted = forced if tier is None else forced & (inputs.tiers == tier)
        start = int(counted.sum())
        return [float(start + k) for k in range(1, n_steps + 1)]
    # Budgets up to the cheapest plan reaching the best achievable coverage.
    probe_options = replace(
        base, objective="min_cost", budget=None, coverage_target=_best_share(inputs, base, scenario)
    )
    probe = solve_tiered(inputs, probe_options, scenario, settings, polish=False)
    top = float(probe.details.get("net_cost") or 0.0)
    if top <= 0:
        return [0.0]
    return [top * k / n_steps for k in range(1, n_steps + 1)]


def _best_share(inputs: Any, base: PlanOptions, scenario: Scenario) -> float:
    """Return the weighted coverage reached by opening every site that can open."""
    from netplan.locate.tiered import openable_sites

    allowed = ~inputs.excluded
    forced = inputs.forced(base)
    needs = (
        inputs.needs_support & ~inputs.existing
        if base.support_chain
        else np.zeros(len(allowed), dtype=bool)
    )
    can = openable_sites(inputs.tiers, allowed, forced, inputs.support, needs)
    reached = (inputs.cover @ can.astype(np.float64)) > 0
    total = float(inputs.weights.sum())
    share = float(inputs.weights[reached].sum() / total) if total > 0 else 1.0
    return max(min(share * (1 - 1e-9), 1.0), 1e-12)


# --------------------------------------------------------------------------- the chart


def frontier_svg(frontier: Frontier, *, width: int = 720, height: int = 420) -> str:
    """Return the curve as a standalone SVG line chart (coverage % against the limit)."""
    table = frontier.table
    ok = table[table["status"].isin(["optimal", "feasible"])]
    x = ok["limit"].to_numpy(dtype=np.float64)
    y = 100.0 * ok["weighted_coverage_rate"].to_numpy(dtype=np.float64)
    left, right, top, bottom = 80, 24, 48, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    x_min, x_max = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
    if x_max == x_min:
        x_min, x_max = x_min - 1.0, x_max + 1.0
    y_min, y_max = 0.0, 100.0

    def px(value: float) -> float:
        return left + (value - x_min) / (x_max - x_min) * plot_w

    def py(value: float) -> float:
        return top + (1 - (value - y_min) / (y_max - y_min)) * plot_h

    if frontier.by == "budget":
        x_label = "Budget (net yearly fixed cost)"
    elif frontier.tier:
        x_label = f"Open sites of tier {frontier.tier}"
    else:
        x_label = "Open sites"
    title = escape("Weighted coverage against " + x_label.lower())
    parts = [
        _tag(
            "svg",
            xmlns="http://www.w3.org/2000/svg",
            width=width,
            height=height,
            viewBox=f"0 0 {width} {height}",
            font_family="Helvetica, Arial, sans-serif",
            font_size=12,
            close=False,
        ),
        _tag("rect", x=0, y=0, width=width, height=height, fill="#ffffff"),
        _tag("text", title, x=left, y=28, font_size=16, font_weight="bold"),
    ]
    for tick in range(0, 101, 20):
        y_tick = f"{py(tick):.1f}"
        parts.append(
            _tag("line", x1=left, y1=y_tick, x2=left + plot_w, y2=y_tick, stroke="#e5e5e5")
        )
        parts.append(
            _tag("text", f"{tick}%", x=left - 8, y=f"{py(tick) + 4:.1f}", text_anchor="end")
        )
    for value in np.linspace(x_min, x_max, 6):
        x_tick = f"{px(float(value)):.1f}"
        bottom_y = top + plot_h
        parts.append(
            _tag("line", x1=x_tick, y1=bottom_y, x2=x_tick, y2=bottom_y + 5, stroke="#333333")
        )
        label = escape(_short(float(value)))
        parts.append(_tag("text", label, x=x_tick, y=bottom_y + 20, text_anchor="middle"))
    parts.append(
        _tag("line", x1=left, y1=top + plot_h, x2=left + plot_w, y2=top + plot_h, stroke="#333333")
    )
    parts.append(_tag("line", x1=left, y1=top, x2=left, y2=top + plot_h, stroke="#333333"))
    middle_x, middle_y = f"{left + plot_w / 2:.1f}", f"{top + plot_h / 2:.1f}"
    parts.append(_tag("text", escape(x_label), x=middle_x, y=height - 18, text_anchor="middle"))
    parts.append(
        _tag(
            "text",
            escape("Weighted coverage (%)"),
            x=18,
            y=middle_y,
            text_anchor="middle",
            transform=f"rotate(-90 18 {middle_y})",
        )
    )
    if len(x):
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, y, strict=True))
        parts.append(
            _tag("polyline", points=points, fill="none", stroke="#1f77b4", stroke_width=2.5)
        )
        for a, b in zip(x, y, strict=True):
            tip = _tag("title", escape(f"{_short(a)}: {b:.1f}%"))
            circle = _tag(
                "circle",
                x=None,
                cx=f"{px(a):.1f}",
                cy=f"{py(b):.1f}",
                r=3.5,
                fill="#1f77b4",
                close=False,
            )
            parts.append(f"{circle}{tip}</circle>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _tag(name: str, text: str | None = None, *, close: bool = True, **attributes: Any) -> str:
    """Return an SVG element; ``font_size`` becomes ``font-size``; ``None`` values are left out."""
    rendered = " ".join(
        f'{key.replace("_", "-")}="{value}"'
        for key, value in attributes.items()
        if value is not None
    )
    opening = f"<{name} {rendered}" if rendered else f"<{name}"
    if text is not None:
        return f"{opening}>{text}</{name}>"
    return f"{opening}/>" if close else f"{opening}>"


def _short(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:.3g}B"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.4g}"
