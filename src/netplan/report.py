"""Executive report (HTML and XLSX) and scenario comparison from netplan's output folders.

The report reads what the other commands wrote, so it can be re-run without
recomputing anything:

* a **coverage** folder (``netplan coverage --out DIR``): ``coverage.<fmt>``,
  ``blindspots.geojson``, ``summary.json``;
* a **plan** folder (``netplan optimize --out DIR``): ``plan.csv``,
  ``assignment.csv``, ``summary.json`` (with ``before`` / ``after``), and a
  trade-off curve ``frontier.csv`` when one was computed;
* a **scores** folder (``netplan score --out DIR``): ``scores.csv``.

:func:`report_html` renders one self-contained page (jinja2 with autoescaping,
charts drawn as inline SVG, no external resource) an executive reads in five
minutes; :func:`report_xlsx` writes the tables a planner forwards to finance
(sheets Summary, Sites, Scores, Blind spots, Assignment);
:func:`compare_outputs` sets two coverage or plan folders side by side.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import io
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from netplan import display
from netplan.config import Scenario
from netplan.errors import InputError
from netplan.i18n import STRINGS, check_lang, text
from netplan.io import atomic_path, output_set, staged, write_text
from netplan.results import (
    CoverageLike,
    CoverageOutputs,
    PlanLike,
    PlanOutputs,
    read_coverage_outputs,
    read_frontier,
    read_outputs,
    read_plan_outputs,
    read_scores,
    stable_json,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "Comparison",
    "CoverageOutputs",
    "PlanOutputs",
    "compare_outputs",
    "find_chromium",
    "read_coverage_outputs",
    "read_frontier",
    "read_outputs",
    "read_plan_outputs",
    "read_scores",
    "report_html",
    "report_pdf",
    "report_xlsx",
    "write_report",
]

# --------------------------------------------------------------------------- formatting


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _fmt_number(value: Any, digits: int = 0) -> str:
    return f"{float(value):,.{digits}f}" if _is_number(value) else "—"


def _fmt_percent(value: Any) -> str:
    return f"{100 * float(value):.1f}%" if _is_number(value) else "—"


def _fmt_points(value: Any) -> str:
    """Format a change of a rate in percentage points."""
    return f"{100 * float(value):+.1f} pp" if _is_number(value) else "—"


def _dig(data: Mapping[str, Any] | None, dotted: str) -> Any:
    if (
        dotted in ("n_blindspots", "blindspot_weight")
        and isinstance(data, Mapping)
        and "blindspot_method" in data
        and data["blindspot_method"] is None
    ):
        return None  # zones were not computed for this summary (e.g. a plan's before/after)
    current: Any = data
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


#: Key figures of a coverage summary: (key, i18n label, kind).
KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n_demand", "kpi_n_demand", "count"),
    ("total_weight", "kpi_total_weight", "number"),
    ("weighted_coverage_rate", "kpi_weighted_coverage", "rate"),
    ("coverage_rate", "kpi_coverage_rate", "rate"),
    ("covered_weight", "kpi_covered_weight", "number"),
    ("uncovered_weight", "kpi_uncovered_weight", "number"),
    ("distance_km.mean", "kpi_mean_distance", "km"),
    ("distance_km.p50", "kpi_p50_distance", "km"),
    ("distance_km.p95", "kpi_p95_distance", "km"),
    ("overlap_rate", "kpi_overlap_rate", "rate"),
    ("n_blindspots", "kpi_blindspots", "count"),
    ("blindspot_weight", "kpi_blindspot_weight", "number"),
)


def _format_kind(value: Any, kind: str) -> str:
    if kind == "rate":
        return _fmt_percent(value)
    if kind == "km":
        return _fmt_number(value, 1) + (" km" if _is_number(value) else "")
    if kind == "number":
        return _fmt_number(value, 1)
    return _fmt_number(value)


def _format_delta(before: Any, after: Any, kind: str) -> str:
    if not (_is_number(before) and _is_number(after)):
        return "—"
    delta = float(after) - float(before)
    if kind == "rate":
        return _fmt_points(delta)
    if kind == "km":
        return f"{delta:+,.1f} km"
    if kind == "number":
        return f"{delta:+,.1f}"
    return f"{delta:+,.0f}"


def kpi_table(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, lang: str = "en"
) -> list[dict[str, str]]:
    """Return the key-figure rows (label, today, plan, change) of two coverage summaries."""
    rows = []
    for key, label, kind in KPI_ROWS:
        first, second = _dig(before, key), _dig(after, key)
        if first is None and second is None:
            continue
        rows.append(
            {
                "key": key,
                "label": text(label, lang),
                "before": _format_kind(first, kind),
                "after": _format_kind(second, kind) if after is not None else "",
                "change": _format_delta(first, second, kind) if after is not None else "",
            }
        )
    return rows


# --------------------------------------------------------------------------- charts (inline SVG)


def _nice_ceiling(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _svg_line_chart(
    series: Sequence[tuple[str, str, Sequence[float], Sequence[float]]],
    *,
    x_label: str,
    y_label: str,
    x_max: float,
    y_max: float = 1.0,
    y_percent: bool = True,
    width: int = 640,
    height: int = 300,
) -> str:
    """Return an SVG line chart; labels are escaped here (the result is trusted markup)."""
    left, right, top, bottom = 60, 20, 16, 46
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + plot_w * min(max(x / x_max, 0.0), 1.0)

    def sy(y: float) -> float:
        return top + plot_h * (1.0 - min(max(y / y_max, 0.0), 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart">'
    ]
    for k in range(5):
        y = y_max * k / 4
        label = f"{100 * y:.0f}%" if y_percent else _fmt_number(y)
        parts.append(
            f'<line x1="{left}" y1="{sy(y):.1f}" x2="{left + plot_w}" y2="{sy(y):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{html.escape(label)}</text>"
        )
    for k in range(5):
        x = x_max * k / 4
        parts.append(
            f'<text x="{sx(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">'
            f"{html.escape(_fmt_number(x))}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12">'
        f"{html.escape(x_label)}</text>"
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{html.escape(y_label)}</text>'
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>'
    )
    for position, (name, colour, xs, ys) in enumerate(series):
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/>'
        )
        ly = top + 14 + 16 * position
        parts.append(
            f'<line x1="{left + 12}" y1="{ly - 4}" x2="{left + 32}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2.5"/>'
            f'<text x="{left + 38}" y="{ly}" font-size="12">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def distance_curve(
    distance_km: NDArray[np.float64], weight: NDArray[np.float64], grid_km: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the share of weight within each distance of ``grid_km`` (cumulative curve).

    Examples
    --------
    >>> distance_curve(np.array([1.0, 5.0, np.inf]), np.array([1.0, 1.0, 2.0]),
    ...                np.array([0.0, 1.0, 5.0, 10.0])).tolist()
    [0.0, 0.25, 0.5, 0.5]
    """
    d = np.asarray(distance_km, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return np.zeros(len(grid_km))
    order = np.argsort(d, kind="mergesort")
    sorted_d, cumulative = d[order], np.cumsum(w[order])
    index = np.searchsorted(sorted_d, grid_km, side="right")
    within = np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)
    return np.asarray(within / total, dtype=np.float64)


# --------------------------------------------------------------------------- comparison


@dataclass(repr=False)
class Comparison:
    """Two coverage or plan outputs side by side (A → B).

    Attributes
    ----------
    a, b
        The folders compared.
    kpis
        ``key -> {"a": value, "b": value, "delta": b - a}`` for the key figures.
    sites_by_tier
        ``tier -> {"a": n, "b": n, "added": [ids], "removed": [ids]}`` (ids
        only when both sides are plans; otherwise counts).
    newly_covered, newly_uncovered
        Demand ids covered in B but not in A, and the reverse.
    newly_covered_weight, newly_uncovered_weight
        Their weights.
    """

    a: str
    b: str
    kpis: dict[str, dict[str, Any]]
    sites_by_tier: dict[str, dict[str, Any]]
    newly_covered: list[str] = field(default_factory=list)
    newly_uncovered: list[str] = field(default_factory=list)
    newly_covered_weight: float = 0.0
    newly_uncovered_weight: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data (ids listed up to 1,000 per direction)."""
        return {
            "a": self.a,
            "b": self.b,
            "kpis": self.kpis,
            "sites_by_tier": self.sites_by_tier,
            "n_newly_covered": len(self.newly_covered),
            "newly_covered_weight": round(self.newly_covered_weight, 6),
            "n_newly_uncovered": len(self.newly_uncovered),
            "newly_uncovered_weight": round(self.newly_uncovered_weight, 6),
            "newly_covered": self.newly_covered[:1000],
            "newly_uncovered": self.newly_uncovered[:1000],
        }

    def to_json(self) -> str:
        """Return :meth:`summary` as stable JSON text."""
        return stable_json(self.summary())

    def __repr__(self) -> str:
        return display.comparison_repr(self)

    def _repr_html_(self) -> str:
        return display.comparison_html(self)


def _kpis_of(outputs: CoverageOutputs | PlanOutputs) -> dict[str, Any]:
    if isinstance(outputs, PlanOutputs):
        after = outputs.kpis.get("after")
        return dict(after) if isinstance(after, Mapping) else {}
    return outputs.summary()


def _covered_of(outputs: CoverageOutputs | PlanOutputs) -> pd.Series | None:
    """Return weight by demand id and whether it is covered, or ``None`` when unknown."""
    if isinstance(outputs, CoverageOutputs):
        points = outputs.points
        if not {"id", "covered"} <= set(points.columns):
            return None
        covered = points["covered"].map(lambda v: str(v).strip().lower() in ("true", "1", "yes"))
        return pd.Series(covered.to_numpy(bool), index=points["id"].astype(str))
    if outputs.assignment is None or "demand_id" not in outputs.assignment.columns:
        return None
    return pd.Series(True, index=pd.Index(outputs.assignment["demand_id"].astype(str).unique()))


def _weights_of(outputs: CoverageOutputs | PlanOutputs) -> pd.Series:
    if isinstance(outputs, CoverageOutputs) and {"id", "weight"} <= set(outputs.points.columns):
        points = outputs.points
        return pd.Series(points["weight"].to_numpy(float), index=points["id"].astype(str))
    if isinstance(outputs, PlanOutputs) and outputs.assignment is not None:
        frame = outputs.assignment
        if {"demand_id", "weight"} <= set(frame.columns):
            return frame.groupby(frame["demand_id"].astype(str))["weight"].sum()
    return pd.Series(dtype=float)


def _sites_of(outputs: CoverageOutputs | PlanOutputs) -> dict[str, list[str] | int]:
    if isinstance(outputs, PlanOutputs):
        open_sites = outputs.sites[outputs.sites["decision"].isin(["kept", "opened"])]
        return {
            str(tier): sorted(group["id"].astype(str))
            for tier, group in open_sites.groupby("tier", sort=True)
        }
    by_tier = outputs.kpis.get("by_tier") or {}
    return {str(t): int(v.get("n_sites", 0)) for t, v in sorted(by_tier.items())}


def compare_outputs(a: str | Path, b: str | Path) -> Comparison:
    """Compare two output folders (coverage or plan), A → B.

    KPI deltas come from each folder's coverage summary (a plan's ``after``);
    sites added/removed per tier from the plans' open sites (counts only for
    coverage folders); the demand that changes between covered and uncovered
    from ``coverage.<fmt>`` (``covered``) or a plan's ``assignment.csv``.

    Parameters
    ----------
    a, b
        Folders written by ``netplan coverage`` or ``netplan optimize``.

    Returns
    -------
    Comparison
        The differences.
    """
    first, second = read_outputs(a), read_outputs(b)
    kpi_a, kpi_b = _kpis_of(first), _kpis_of(second)
    kpis: dict[str, dict[str, Any]] = {}
    for key, _, _ in KPI_ROWS:
        va, vb = _dig(kpi_a, key), _dig(kpi_b, key)
        if va is None and vb is None:
            continue
        delta = float(vb) - float(va) if _is_number(va) and _is_number(vb) else None
        kpis[key] = {"a": va, "b": vb, "delta": delta}
    sites_a, sites_b = _sites_of(first), _sites_of(second)
    sites_by_tier: dict[str, dict[str, Any]] = {}
    for tier in sorted(set(sites_a) | set(sites_b)):
        sa, sb = sites_a.get(tier, []), sites_b.get(tier, [])
        entry: dict[str, Any] = {
            "a": len(sa) if isinstance(sa, list) else sa,
            "b": len(sb) if isinstance(sb, list) else sb,
        }
        if isinstance(sa, list) and isinstance(sb, list):
            entry["added"] = sorted(set(sb) - set(sa))
            entry["removed"] = sorted(set(sa) - set(sb))
        sites_by_tier[tier] = entry
    covered_a, covered_b = _covered_of(first), _covered_of(second)
    newly_covered: list[str] = []
    newly_uncovered: list[str] = []
    weight_in = weight_out = 0.0
    if covered_a is not None and covered_b is not None:
        ids = covered_a.index.union(covered_b.index)
        in_a = covered_a.reindex(ids, fill_value=False).to_numpy(bool)
        in_b = covered_b.reindex(ids, fill_value=False).to_numpy(bool)
        weights = _weights_of(first).combine_first(_weights_of(second)).reindex(ids).fillna(0.0)
        gained, lost = ids[in_b & ~in_a], ids[in_a & ~in_b]
        newly_covered, newly_uncovered = sorted(map(str, gained)), sorted(map(str, lost))
        weight_in = float(weights[gained].sum())
        weight_out = float(weights[lost].sum())
    return Comparison(
        a=str(a),
        b=str(b),
        kpis=kpis,
        sites_by_tier=sites_by_tier,
        newly_covered=newly_covered,
        newly_uncovered=newly_uncovered,
        newly_covered_weight=weight_in,
        newly_uncovered_weight=weight_out,
    )


# --------------------------------------------------------------------------- the report


def _zone_rows(zones: Any, top: int) -> list[dict[str, str]]:
    """Return the ``top`` heaviest blind-spot zones as display rows."""
    rows: list[dict[str, str]] = []
    if zones is None or not len(zones):
        return rows
    for _, row in (
        zones.sort_values("weight", ascending=False, kind="mergesort").head(top).iterrows()
    ):
        nearest = row.get("nearest_site")
        rows.append(
            {
                "zone": str(row.get("zone_id", "")),
                "points": _fmt_number(row.get("n_points")),
                "weight": _fmt_number(row.get("weight"), 1),
                "area": _fmt_number(row.get("area_km2"), 1),
                "nearest": "" if nearest is None or pd.isna(nearest) else str(nearest),
                "distance": _fmt_number(row.get("distance_km"), 1),
            }
        )
    return rows


def _decision_label(decision: Any, lang: str) -> str:
    key = f"decision_{decision}"
    return text(key, lang) if key in STRINGS else str(decision)


def _score_lookup(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    if scores is None or scores.empty:
        return None
    return (
        scores.assign(site_id=scores["site_id"].astype(str))
        .drop_duplicates("site_id")
        .set_index("site_id")
    )


def _tier_label(scenario: Scenario | None, tier: Any, lang: str, labels: Mapping[str, str]) -> str:
    name = "" if tier is None or (isinstance(tier, float) and math.isnan(tier)) else str(tier)
    if scenario is not None and name in scenario.tiers:
        return scenario.tier_label(name, lang)
    return labels.get(name, name)


@dataclass
class _Figures:
    """What every report section reads: the language, today's and the plan's figures."""

    lang: str
    t: dict[str, str]
    scenario: Scenario | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    plan_kpis: dict[str, Any] | None
    after_coverage: CoverageLike | None
    tier_labels: dict[str, str] = field(default_factory=dict)


def _figures(
    coverage: CoverageLike | None, plan: PlanLike | None, scenario: Scenario | None, lang: str
) -> _Figures:
    """Return today's figures (the coverage, else the plan's ``before``) and the plan's."""
    cov_kpis = coverage.summary() if coverage is not None else None
    plan_kpis = plan.summary() if plan is not None else None
    # Today's figures: the coverage folder when given (it has the blind-spot zones),
    # else the plan's own "before".
    before = cov_kpis or (plan_kpis or {}).get("before")
    after = (plan_kpis or {}).get("after") if plan_kpis else None
    # The plan's network coverage, computed with the plan (Plan.coverage, or plan/coverage/).
    after_coverage: CoverageLike | None = (
        getattr(plan, "coverage", None) if coverage is not None else None
    )
    if after_coverage is not None:
        # The plan's own "after" has no blind-spot zones; take them from the plan's coverage.
        after_kpis = after_coverage.summary()
        after = {
            **(after or {}),
            **{
                k: after_kpis.get(k)
                for k in ("n_blindspots", "blindspot_weight", "blindspot_method")
            },
        }
    tier_labels: dict[str, str] = {}
    for source in (before, after):
        for name, entry in ((source or {}).get("by_tier") or {}).items():
            if isinstance(entry, Mapping) and entry.get("label"):
                tier_labels[str(name)] = str(entry["label"])
    return _Figures(
        lang=lang,
        t={key: value[lang] for key, value in STRINGS.items()},
        scenario=scenario,
        before=before,
        after=after,
        plan_kpis=plan_kpis,
        after_coverage=after_coverage,
        tier_labels=tier_labels,
    )


def _headline(f: _Figures, zones: Any, scores: pd.DataFrame | None) -> list[str]:
    """Return the headline sentences: coverage today and with the plan, blind spots, best site."""
    lang, scenario, tier_labels = f.lang, f.scenario, f.tier_labels
    before, after, plan_kpis = f.before, f.after, f.plan_kpis
    headline: list[str] = []
    if before and after:
        opened = int((plan_kpis or {}).get("n_by_decision", {}).get("opened", 0))
        closed = int((plan_kpis or {}).get("n_by_decision", {}).get("closed", 0))
        headline.append(
            text(
                "headline_plan",
                lang,
                before=_fmt_percent(before.get("weighted_coverage_rate")),
                after=_fmt_percent(after.get("weighted_coverage_rate")),
                delta=_format_delta(
                    before.get("weighted_coverage_rate"),
                    after.get("weighted_coverage_rate"),
                    "rate",
                ),
                opened=opened,
                closed=closed,
                cost=_fmt_number((plan_kpis or {}).get("total_fixed_cost")),
            )
        )
        # A plan that opens nothing or spends little says why (summary.json `explanation`).
        for entry in (plan_kpis or {}).get("explanation") or []:
            if isinstance(entry, Mapping):
                sentence = entry.get("text_zh" if lang == "zh" else "text")
                if sentence:
                    headline.append(str(sentence))
    elif before:
        headline.append(
            text(
                "headline_coverage", lang, value=_fmt_percent(before.get("weighted_coverage_rate"))
            )
        )
    if zones is not None and len(zones) and before:
        headline.append(
            text(
                "headline_blindspots",
                lang,
                n=_fmt_number(before.get("n_blindspots", len(zones))),
                weight=_fmt_number(before.get("blindspot_weight"), 1),
                largest=_fmt_number(float(zones["weight"].max()), 1),
            )
        )
    if scores is not None and len(scores):
        best = scores.sort_values(
            ["total_score", "site_id"], ascending=[False, True], kind="mergesort"
        ).iloc[0]
        headline.append(
            text(
                "headline_scores",
                lang,
                site=str(best["site_id"]),
                tier=_tier_label(scenario, best["tier"], lang, tier_labels),
                score=_fmt_number(best["total_score"], 1),
            )
        )
    return headline


def _plan_rows(f: _Figures) -> list[dict[str, str]]:
    """Return the plan's solve figures (status, gap, sites, cost)."""
    t, plan_kpis = f.t, f.plan_kpis
    plan_rows: list[dict[str, str]] = []
    if plan_kpis:
        plan_rows = [
            {"label": t["kpi_solver_status"], "value": str(plan_kpis.get("status", ""))},
            {"label": t["kpi_gap"], "value": _fmt_percent(plan_kpis.get("gap"))},
            {"label": t["kpi_n_sites"], "value": _fmt_number(plan_kpis.get("n_open"))},
            {
                "label": t["kpi_total_fixed_cost"],
                "value": _fmt_number(plan_kpis.get("total_fixed_cost")),
            },
        ]
    return plan_rows


def _tier_rows(f: _Figures, plan: PlanLike | None) -> list[dict[str, str]]:
    """Return one row per tier: outlets and coverage today, outlets and cost with the plan."""
    lang, scenario, tier_labels = f.lang, f.scenario, f.tier_labels
    before, after = f.before, f.after
    tiers: list[dict[str, str]] = []
    tier_names: list[str] = list(scenario.tiers) if scenario is not None else []
    for source in (before, after):
        for name in (source or {}).get("by_tier") or {}:
            if str(name) not in tier_names:
                tier_names.append(str(name))
    open_cost: dict[str, float] = {}
    open_count: dict[str, int] = {}
    if plan is not None and "tier" in plan.sites.columns:
        open_sites = plan.sites[plan.sites["decision"].isin(["kept", "opened"])]
        for name, group in open_sites.groupby(open_sites["tier"].astype(str)):
            open_count[str(name)] = len(group)
            if "fixed_cost" in group.columns:
                open_cost[str(name)] = float(pd.to_numeric(group["fixed_cost"]).sum())
    for name in tier_names:
        count_before = _dig(before, f"by_tier.{name}.n_sites")
        row = {
            "tier": _tier_label(scenario, name, lang, tier_labels),
            "before": _fmt_number(count_before),
            "before_coverage": _fmt_percent(_dig(before, f"by_tier.{name}.weighted_coverage_rate")),
            "after": _fmt_number(open_count.get(name, 0)) if plan is not None else "",
            "cost": _fmt_number(open_cost.get(name)) if plan is not None else "",
        }
        tiers.append(row)
    return tiers


def _change_rows(
    f: _Figures, plan: PlanLike | None, score_table: pd.DataFrame | None
) -> list[dict[str, str]]:
    """Return the sites the plan opens or closes, with their scores and reasons."""
    lang, scenario, tier_labels = f.lang, f.scenario, f.tier_labels
    changes: list[dict[str, str]] = []
    if plan is not None:
        changed = plan.sites[plan.sites["decision"].isin(["opened", "closed"])]
        order = {"opened": 0, "closed": 1}
        changed = changed.assign(_order=changed["decision"].map(order)).sort_values(
            ["_order", "tier", "id"], kind="mergesort"
        )
        for _, change in changed.iterrows():
            site_id = str(change["id"])
            score = (
                score_table.loc[site_id]
                if score_table is not None and site_id in score_table.index
                else None
            )
            changes.append(
                {
                    "site": site_id,
                    "name": "" if pd.isna(change.get("name")) else str(change.get("name", "")),
                    "tier": _tier_label(scenario, change.get("tier"), lang, tier_labels),
                    "decision": _decision_label(change["decision"], lang),
                    "cost": _fmt_number(change.get("fixed_cost")),
                    "assigned": _fmt_number(change.get("assigned_weight"), 1),
                    "score": _fmt_number(score["total_score"], 1) if score is not None else "—",
                    "reasons": str(score[f"reasons_{lang}"])
                    if score is not None and f"reasons_{lang}" in score
                    else "",
                }
            )
    return changes


def _top_score_rows(f: _Figures, scores: pd.DataFrame | None, top: int) -> list[dict[str, str]]:
    """Return the ``top`` best-scored candidate sites."""
    lang, scenario, tier_labels = f.lang, f.scenario, f.tier_labels
    top_scores: list[dict[str, str]] = []
    if scores is not None and len(scores):
        best_rows = scores.sort_values(
            ["total_score", "site_id"], ascending=[False, True], kind="mergesort"
        ).head(top)
        for _, best_row in best_rows.iterrows():
            top_scores.append(
                {
                    "site": str(best_row["site_id"]),
                    "name": "" if pd.isna(best_row.get("name")) else str(best_row.get("name", "")),
                    "tier": _tier_label(scenario, best_row["tier"], lang, tier_labels),
                    "score": _fmt_number(best_row["total_score"], 1),
                    "rank": _fmt_number(best_row["rank"]),
                    "reasons": ""
                    if pd.isna(best_row.get(f"reasons_{lang}"))
                    else str(best_row.get(f"reasons_{lang}", "")),
                }
            )
    return top_scores


def _distance_svg(f: _Figures, coverage: CoverageLike | None) -> str:
    """Return the distance curve: share of demand within each distance, today and with the plan."""
    t, after_coverage = f.t, f.after_coverage
    distance_svg = ""
    if coverage is not None and {"distance_km", "weight"} <= set(coverage.points.columns):
        distances = pd.to_numeric(coverage.points["distance_km"], errors="coerce").to_numpy(float)
        distances = np.where(np.isnan(distances), np.inf, distances)
        weights = (
            pd.to_numeric(coverage.points["weight"], errors="coerce").fillna(0.0).to_numpy(float)
        )
        finite = distances[np.isfinite(distances)]
        x_max = _nice_ceiling(float(np.quantile(finite, 0.95))) if finite.size else 100.0
        grid = np.linspace(0.0, x_max, 101)
        series = [(t["col_before"], "#0072b2", grid, distance_curve(distances, weights, grid))]
        if after_coverage is not None:
            after_points = after_coverage.points
            after_d = pd.to_numeric(after_points["distance_km"], errors="coerce").to_numpy(float)
            after_d = np.where(np.isnan(after_d), np.inf, after_d)
            after_w = pd.to_numeric(after_points["weight"], errors="coerce").fillna(0.0)
            series.append(
                (
                    t["col_after"],
                    "#d55e00",
                    grid,
                    distance_curve(after_d, after_w.to_numpy(float), grid),
                )
            )
        distance_svg = _svg_line_chart(
            [(n, c, list(map(float, x)), list(map(float, y))) for n, c, x, y in series],
            x_label=t["curve_x"],
            y_label=t["curve_y"],
            x_max=x_max,
        )
    return distance_svg


def _tradeoff_svg(f: _Figures, frontier: pd.DataFrame | None, plan: PlanLike | None) -> str:
    """Return the trade-off curve (coverage by budget or by number of sites), if any."""
    t = f.t
    tradeoff_svg = ""
    if frontier is None and plan is not None:
        frontier = getattr(plan, "frontier", None)
    if frontier is not None and len(frontier):
        x_col = next(
            (
                c
                for c in ("limit", "total_fixed_cost", "budget", "net_cost", "n_sites", "n_open")
                if c in frontier.columns
            ),
            None,
        )
        y_col = next(
            (
                c
                for c in ("weighted_coverage_rate", "coverage_rate", "coverage")
                if c in frontier.columns
            ),
            None,
        )
        if x_col is not None and y_col is not None:
            by_sites = x_col in ("n_sites", "n_open") or (
                x_col == "limit" and frontier.attrs.get("by") == "sites"
            )
            frame = frontier[[x_col, y_col]].apply(pd.to_numeric, errors="coerce").dropna()
            frame = frame.sort_values(x_col, kind="mergesort")
            if len(frame):
                tradeoff_svg = _svg_line_chart(
                    [(t["tradeoff_y"], "#009e73", frame[x_col].tolist(), frame[y_col].tolist())],
                    x_label=t["tradeoff_x_sites"] if by_sites else t["tradeoff_x"],
                    y_label=t["tradeoff_y"],
                    x_max=_nice_ceiling(float(frame[x_col].max())),
                )
    return tradeoff_svg


def _comparison_rows(
    f: _Figures, comparison: Comparison | None
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    """Return the comparison's key figures, sites by tier and demand that changed."""
    lang, t, scenario, tier_labels = f.lang, f.t, f.scenario, f.tier_labels
    comparison_rows: list[dict[str, str]] = []
    comparison_sites: list[dict[str, str]] = []
    comparison_demand: list[dict[str, str]] = []
    if comparison is not None:
        kinds = {key: kind for key, _, kind in KPI_ROWS}
        labels = {key: text(label, lang) for key, label, _ in KPI_ROWS}
        for key, entry in comparison.kpis.items():
            comparison_rows.append(
                {
                    "label": labels[key],
                    "a": _format_kind(entry["a"], kinds[key]),
                    "b": _format_kind(entry["b"], kinds[key]),
                    "change": _format_delta(entry["a"], entry["b"], kinds[key]),
                }
            )
        for tier, entry in comparison.sites_by_tier.items():
            comparison_sites.append(
                {
                    "tier": _tier_label(scenario, tier, lang, tier_labels),
                    "a": _fmt_number(entry["a"]),
                    "b": _fmt_number(entry["b"]),
                    "added": ", ".join(entry.get("added", [])[:20]),
                    "removed": ", ".join(entry.get("removed", [])[:20]),
                }
            )
        comparison_demand = [
            {
                "label": t["compare_newly_covered"],
                "count": _fmt_number(len(comparison.newly_covered)),
                "weight": _fmt_number(comparison.newly_covered_weight, 1),
            },
            {
                "label": t["compare_newly_uncovered"],
                "count": _fmt_number(len(comparison.newly_uncovered)),
                "weight": _fmt_number(comparison.newly_uncovered_weight, 1),
            },
        ]
    return comparison_rows, comparison_sites, comparison_demand


def report_context(
    *,
    coverage: CoverageLike | None = None,
    plan: PlanLike | None = None,
    scores: pd.DataFrame | None = None,
    comparison: Comparison | None = None,
    frontier: pd.DataFrame | None = None,
    scenario: Scenario | None = None,
    lang: str = "en",
    map_href: str | None = None,
    title: str | None = None,
    top: int = 10,
    roadmap: pd.DataFrame | None = None,
    roadmap_sites: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Return everything the report shows, as plain strings and numbers (not yet escaped).

    The HTML template and the XLSX writer both read this; every value is
    escaped by the template's autoescaping. Each section has its builder
    (``_headline``, ``_tier_rows``, ``_change_rows``, ...); they read results
    and compute nothing.
    """
    lang = check_lang(lang)
    f = _figures(coverage, plan, scenario, lang)
    t, before, after = f.t, f.before, f.after
    scenario_name = (
        scenario.name if scenario is not None else str((before or {}).get("scenario") or "")
    )
    zones = coverage.blindspots if coverage is not None else None
    after_coverage = f.after_coverage
    comparison_rows, comparison_sites, comparison_demand = _comparison_rows(f, comparison)
    roadmap_rows, roadmap_svg = _roadmap_section(roadmap, roadmap_sites, before, t)
    if map_href is not None and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", map_href):
        map_href = "./" + map_href  # a link to a file beside the report, never a script URL
    inputs = [
        (name, source)
        for name, source in (
            ("coverage", str(getattr(coverage, "source", "")) if coverage is not None else ""),
            ("plan", str(getattr(plan, "source", "")) if plan is not None else ""),
            ("comparison", f"{comparison.a} → {comparison.b}" if comparison is not None else ""),
        )
        if source
    ]
    return {
        "lang": lang,
        "t": t,
        "title": title or text("report_title", lang),
        "scenario_name": scenario_name,
        "inputs": inputs,
        "headline": _headline(f, zones, scores),
        "has_plan": plan is not None,
        "kpis": kpi_table(before, after, lang) if before or after else [],
        "plan_rows": _plan_rows(f),
        "tiers": _tier_rows(f, plan),
        "staffing_rows": _staffing_rows(f),
        "changes": _change_rows(f, plan, _score_lookup(scores)),
        "blindspots": _zone_rows(zones, top),
        "blindspots_after": (
            _zone_rows(after_coverage.blindspots, top) if after_coverage is not None else None
        ),
        "top_scores": _top_score_rows(f, scores, top),
        "distance_svg": _distance_svg(f, coverage),
        "tradeoff_svg": _tradeoff_svg(f, frontier, plan),
        "comparison_rows": comparison_rows,
        "comparison_sites": comparison_sites,
        "comparison_demand": comparison_demand,
        "map_href": map_href,
        "roadmap_rows": roadmap_rows,
        "roadmap_svg": roadmap_svg,
    }


def _staffing_rows(f: _Figures) -> list[dict[str, str]]:
    """Return the staffing and response-time rows (label, today, plan) of a plan's summary."""
    staffing = (f.plan_kpis or {}).get("staffing")
    if not isinstance(staffing, Mapping):
        return []
    t = f.t
    response = staffing.get("response") or {}
    today, planned = response.get("today") or {}, response.get("plan") or {}
    rows = [
        {
            "label": t["staffing_engineers"],
            "today": "",
            "plan": _fmt_number(staffing.get("engineers")),
        },
        {
            "label": t["staffing_calls"],
            "today": "",
            "plan": _fmt_number(staffing.get("annual_calls")),
        },
    ]
    if _is_number(staffing.get("output_per_engineer")):
        rows.append(
            {
                "label": t["staffing_output"],
                "today": "",
                "plan": _fmt_number(staffing.get("output_per_engineer")),
            }
        )
    rows.append(
        {
            "label": t["response_overall"],
            "today": _fmt_percent(today.get("share_within_promise")),
            "plan": _fmt_percent(planned.get("share_within_promise")),
        }
    )
    rows.append(
        {
            "label": t["response_mean_hours"],
            "today": _fmt_number(_dig(today, "arrival_hours.mean"), 1),
            "plan": _fmt_number(_dig(planned, "arrival_hours.mean"), 1),
        }
    )

    def share(block: Mapping[str, Any], table: str, key: str) -> str:
        entry = (block.get(table) or {}).get(key)
        return _fmt_percent(
            entry.get("share_within_promise") if isinstance(entry, Mapping) else None
        )

    for grade in sorted((planned.get("by_grade") or {}).keys()):
        rows.append(
            {
                "label": text("response_grade", f.lang, grade=grade),
                "today": share(today, "by_grade", grade),
                "plan": share(planned, "by_grade", grade),
            }
        )
    for region in sorted((planned.get("by_region") or {}).keys()):
        rows.append(
            {
                "label": str(region),
                "today": share(today, "by_region", region),
                "plan": share(planned, "by_region", region),
            }
        )
    return rows


def _roadmap_section(
    by_year: pd.DataFrame | None,
    sites: pd.DataFrame | None,
    before: Mapping[str, Any] | None,
    t: Mapping[str, str],
) -> tuple[list[dict[str, str]], str]:
    """Return the roadmap table rows and its coverage-by-year chart (``""`` without a roadmap)."""
    if by_year is None or not len(by_year):
        return [], ""
    rows = []
    for record in by_year.to_dict(orient="records"):
        year = int(record["year"])
        opened: list[str] = []
        if sites is not None and "year_opened" in sites.columns:
            chosen = sites[pd.to_numeric(sites["year_opened"], errors="coerce") == year]
            names = chosen["name"] if "name" in chosen.columns else chosen["site_id"]
            opened = [
                str(n) if isinstance(n, str) and n else str(i)
                for i, n in zip(chosen["site_id"], names, strict=True)
            ]
        shown = ", ".join(opened[:12]) + (f" … (+{len(opened) - 12})" if len(opened) > 12 else "")
        rows.append(
            {
                "year": str(year),
                "open": _fmt_number(record.get("sites_open")),
                "new": _fmt_number(record.get("new_sites")),
                "spend": _fmt_number(record.get("spend")),
                "coverage": _fmt_percent(record.get("weighted_coverage_rate")),
                "blindspots": _fmt_number(record.get("n_blindspots")),
                "engineers": _fmt_number(record.get("engineers")),
                "opened": shown,
            }
        )
    years = [int(y) for y in by_year["year"].tolist()]
    rates = [float(r) for r in pd.to_numeric(by_year["weighted_coverage_rate"]).tolist()]
    today = (before or {}).get("weighted_coverage_rate")
    if today is not None and _is_number(today):
        years, rates = [0, *years], [float(today), *rates]
    svg = _svg_line_chart(
        [(t["tradeoff_y"], "#0072b2", years, rates)],
        x_label=t["roadmap_x"],
        y_label=t["tradeoff_y"],
        x_max=float(max(years)),
    )
    return rows, svg


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("netplan", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def report_html(**options: Any) -> str:
    """Return the self-contained HTML report; options as for :func:`report_context`.

    The template autoescapes every value; the two charts are SVG built by
    netplan with their labels escaped (:func:`markupsafe.Markup` marks them trusted).
    """
    return _render_html(report_context(**options))


def _render_html(context: dict[str, Any]) -> str:
    context = dict(context)
    context["distance_svg"] = markupsafe.Markup(context["distance_svg"])
    context["tradeoff_svg"] = markupsafe.Markup(context["tradeoff_svg"])
    context["roadmap_svg"] = markupsafe.Markup(context["roadmap_svg"])
    return _environment().get_template("report.html.j2").render(**context)


def report_xlsx(path: str | Path, **options: Any) -> Path:
    """Write ``report.xlsx`` (sheets Summary, Sites, Scores, Blind spots, Assignment).

    Options are those of :func:`report_context`; the sheets hold the raw tables
    (the plan's sites and assignment, the scores, the blind-spot zones). The
    file is byte-identical across runs (fixed document dates and zip
    timestamps), and text that looks like a formula stays text.
    """
    return _write_xlsx(path, report_context(**options), options)


def _write_xlsx(path: str | Path, context: dict[str, Any], options: Mapping[str, Any]) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    coverage: CoverageLike | None = options.get("coverage")
    plan: PlanLike | None = options.get("plan")
    assignment = getattr(plan, "assignment", None) if plan is not None else None
    scores: pd.DataFrame | None = options.get("scores")
    t = context["t"]
    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def cells(sheet: Any, values: Sequence[Any], *, header: bool = False) -> list[Any]:
        out = []
        for value in values:
            value = _cell(value)
            if header or (isinstance(value, str) and value.startswith("=")):
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # netplan writes no formulas: such text stays text
                if header:
                    cell.font = bold
                out.append(cell)
            else:
                out.append(value)
        return out

    summary = book.create_sheet("Summary")
    header = [t["col_kpi"], t["col_before"]] + (
        [t["col_after"], t["col_change"]] if context["has_plan"] else []
    )
    summary.append(cells(summary, [context["title"]]))
    summary.append(cells(summary, [context["scenario_name"]]))
    summary.append(cells(summary, header, header=True))
    for row in context["kpis"]:
        values = [row["label"], row["before"]]
        if context["has_plan"]:
            values += [row["after"], row["change"]]
        summary.append(cells(summary, values))
    for row in context["plan_rows"]:
        summary.append(cells(summary, [row["label"], row["value"]]))
    for line in context["headline"]:
        summary.append(cells(summary, [line]))
    sheets = {
        "Sites": (
            pd.DataFrame(plan.sites.drop(columns="geometry", errors="ignore"))
            if plan is not None
            else pd.DataFrame(columns=["id"])
        ),
        "Scores": scores if scores is not None else pd.DataFrame(columns=["site_id"]),
        "Blind spots": (
            pd.DataFrame(coverage.blindspots.drop(columns="geometry", errors="ignore"))
            if coverage is not None
            else pd.DataFrame(columns=["zone_id"])
        ),
        "Assignment": (
            pd.DataFrame(assignment)
            if assignment is not None
            else pd.DataFrame(columns=["demand_id", "site_id", "distance"])
        ),
    }
    roadmap: pd.DataFrame | None = options.get("roadmap")
    if roadmap is not None:
        sheets["Roadmap"] = roadmap
    if context.get("staffing_rows"):
        sheets["Response"] = pd.DataFrame(
            [[r["label"], r["today"], r["plan"]] for r in context["staffing_rows"]],
            columns=[t["col_kpi"], t["col_before"], t["col_after"]],
        )
    for name, frame in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(cells(sheet, [str(c) for c in frame.columns], header=True))
        for record in frame.itertuples(index=False, name=None):
            sheet.append(cells(sheet, record))
    fixed = datetime.datetime(2000, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    book.properties.creator = "netplan"
    path = Path(path)
    # Built in memory first: a full disk then fails on one plain write (no half-closed
    # openpyxl sheet streams left to complain when collected).
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    except BaseException:
        for sheet in book.worksheets:  # end the sheets' row streams now, quietly
            rows = getattr(sheet, "_rows", None)
            if rows is not None:
                with contextlib.suppress(Exception):
                    rows.close()
        raise
    data = _normalise_zip(buffer.getvalue())
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, int | float | str):
        return value
    return str(value)


_FIXED_MODIFIED = (
    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>'
)


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip (XLSX) with fixed timestamps so the same content gives the same bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    fixed = re.compile(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, content in entries:
            if name == "docProps/core.xml":
                content = fixed.sub(_FIXED_MODIFIED, content)
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return out.getvalue()


def write_report(
    out: str | Path,
    *,
    xlsx: str | Path | None = None,
    **options: Any,
) -> dict[str, Path]:
    """Write the HTML report (and the XLSX when ``xlsx`` is given); return the paths.

    The files are one set (:func:`netplan.io.output_set`): if the workbook
    cannot be written, the HTML report is not replaced either.
    """
    context = report_context(**options)  # computed once for both files
    with output_set():  # both files new, or both as they were
        paths = {"report": write_text(out, _render_html(context))}
        if xlsx is not None:
            paths["xlsx"] = _write_xlsx(xlsx, context, options)
    return paths


#: Browsers :func:`report_pdf` looks for, in order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """Return the path of a Chromium-family browser on this machine, or ``None``."""
    import shutil

    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def report_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout: float = 120.0) -> Path:
    """Print an HTML report to PDF with headless Chromium (no network needed).

    Parameters
    ----------
    html_path
        The report written by :func:`write_report`.
    pdf_path
        The PDF to write (atomically).
    timeout
        Seconds to wait for the browser.

    The PDF's creation and modification dates are fixed (to
    ``SOURCE_DATE_EPOCH`` when set, else 2000-01-01 as in the workbook), so the
    same report gives the same bytes.

    Raises
    ------
    InputError
        No Chromium is installed (the message gives the install line), or the
        browser failed.
    """
    import subprocess
    import tempfile

    browser = find_chromium()
    if browser is None:
        msg = (
            "a PDF needs headless Chromium, which is not installed "
            "(Debian/Ubuntu: apt-get install chromium); or print the HTML report from a browser"
        )
        raise InputError(msg)
    source = staged(html_path).resolve()  # the report may still be staged in an output set
    with atomic_path(pdf_path) as tmp, tempfile.TemporaryDirectory() as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            source.as_uri(),
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=timeout)
        except (subprocess.SubprocessError, OSError) as exc:
            msg = f"{source}: Chromium could not print the report to PDF ({type(exc).__name__})"
            raise InputError(msg) from None
        if not tmp.is_file() or tmp.stat().st_size == 0:
            msg = f"{source}: Chromium wrote no PDF"
            raise InputError(msg)
        tmp.write_bytes(fix_pdf_dates(tmp.read_bytes()))
    return Path(pdf_path)


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) ?\(D:(\d{4,14})([^)]*)\)")


def fixed_timestamp() -> datetime.datetime:
    """Return the date written into reports: ``SOURCE_DATE_EPOCH`` if set, else 2000-01-01 UTC."""
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    return datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def fix_pdf_dates(data: bytes) -> bytes:
    """Return a PDF with its creation and modification dates set to :func:`fixed_timestamp`.

    Dates are replaced in place with text of the same length, so the file's
    cross-reference offsets stay valid.
    """
    stamp = fixed_timestamp().strftime("%Y%m%d%H%M%S").encode()

    def replace(match: re.Match[bytes]) -> bytes:
        digits = stamp[: len(match.group(2))]
        zone = match.group(3)
        if re.fullmatch(rb"[+-]\d\d'\d\d'?", zone):
            zone = b"+00'00'"[: len(zone)]
        head = match.group(0)[: match.start(2) - match.start(0)]
        return head + digits + zone + b")"

    return _PDF_DATE.sub(replace, data)
