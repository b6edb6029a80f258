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
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import jinja2
import numpy as np
import pandas as pd

from netplan import display
from netplan.config import Scenario
from netplan.errors import InputError, NetplanError
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


def _is_number(value: Any) -> TypeGuard[float]:
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


# --------------------------------------------------------------------------- money


def _fmt_money(value: Any, currency: str, lang: str) -> str:
    """Format an amount for people: ``CNY 15.0 M`` in English, ``1,499.9 万元`` in Chinese.

    Examples
    --------
    >>> _fmt_money(14_999_000, "CNY", "en"), _fmt_money(14_999_000, "CNY", "zh")
    ('CNY 15.0 M', '1,499.9 万元')
    >>> _fmt_money(120_000, "USD", "en"), _fmt_money(120_000, "USD", "zh")
    ('USD 120,000', '12.0 万 USD')
    """
    if not _is_number(value):
        return "—"
    amount = float(value)
    if lang == "zh":
        suffix = "元" if currency == "CNY" else f" {currency}"
        if abs(amount) >= 1e8:
            return f"{amount / 1e8:,.2f} 亿{suffix}"
        if abs(amount) >= 1e4:
            return f"{amount / 1e4:,.1f} 万{suffix}"
        return f"{amount:,.0f} {suffix.strip()}"
    if abs(amount) >= 1e6:
        return f"{currency} {amount / 1e6:,.1f} M"
    return f"{currency} {amount:,.0f}"


def _money_axis(currency: str, lang: str) -> tuple[str, float]:
    """Return the unit label and divisor of an axis of amounts (millions, or 万 in Chinese)."""
    if lang == "zh":
        return ("万元" if currency == "CNY" else f"万 {currency}"), 1e4
    return f"{currency} M", 1e6


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
    name_a, name_b
        How the report heads the two columns: the scenario name and the kind of
        folder (``national · today``, ``national · plan``), made unique with the
        folder name when both read the same.
    """

    a: str
    b: str
    kpis: dict[str, dict[str, Any]]
    sites_by_tier: dict[str, dict[str, Any]]
    newly_covered: list[str] = field(default_factory=list)
    newly_uncovered: list[str] = field(default_factory=list)
    newly_covered_weight: float = 0.0
    newly_uncovered_weight: float = 0.0
    name_a: str = ""
    name_b: str = ""

    def __post_init__(self) -> None:
        if not self.name_a:
            self.name_a = Path(self.a).name or self.a
        if not self.name_b:
            self.name_b = Path(self.b).name or self.b

    def summary(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data (ids listed up to 1,000 per direction)."""
        return {
            "a": self.a,
            "b": self.b,
            "name_a": self.name_a,
            "name_b": self.name_b,
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


def _name_of(outputs: CoverageOutputs | PlanOutputs, folder: Path) -> str:
    """Return ``"<scenario> · today"`` or ``"<scenario> · plan"`` (the folder name without one)."""
    kpis = _kpis_of(outputs)
    scenario = str(kpis.get("scenario") or "").strip()
    kind = "plan" if isinstance(outputs, PlanOutputs) else "today"
    return f"{scenario} · {kind}" if scenario else f"{folder.name or folder} · {kind}"


def _today_ids(
    outputs: CoverageOutputs | PlanOutputs,
    sites: dict[str, list[str] | int],
    other: CoverageOutputs | PlanOutputs,
) -> dict[str, list[str] | int]:
    """Return a coverage folder's site ids by tier from a plan's ``status_before``.

    A coverage folder keeps counts only; when it is the plan's "today" (same
    scenario, same number of sites per tier as the plan's existing sites), the
    plan's ``status_before`` names them, so added/removed can list ids.
    """
    if not isinstance(outputs, CoverageOutputs) or not isinstance(other, PlanOutputs):
        return sites
    table = other.sites
    if "status_before" not in table.columns or "tier" not in table.columns:
        return sites
    before = table[table["status_before"].astype(str).isin(["existing", "required"])]
    ids = {
        str(tier): sorted(group["id"].astype(str))
        for tier, group in before.groupby(before["tier"].astype(str), sort=True)
    }
    counts = {tier: n for tier, n in sites.items() if isinstance(n, int) and n}
    if counts != {tier: len(v) for tier, v in ids.items()}:
        return sites
    same = str(_kpis_of(outputs).get("scenario") or "") == str(
        _kpis_of(other).get("scenario") or ""
    )
    return dict(ids) if same else sites


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
    sites_a, sites_b = _today_ids(first, sites_a, second), _today_ids(second, sites_b, first)
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
    name_a, name_b = _name_of(first, Path(a)), _name_of(second, Path(b))
    if name_a == name_b:
        name_a, name_b = f"{name_a} ({Path(a).name})", f"{name_b} ({Path(b).name})"
    return Comparison(
        a=str(a),
        b=str(b),
        name_a=name_a,
        name_b=name_b,
        kpis=kpis,
        sites_by_tier=sites_by_tier,
        newly_covered=newly_covered,
        newly_uncovered=newly_uncovered,
        newly_covered_weight=weight_in,
        newly_uncovered_weight=weight_out,
    )


# --------------------------------------------------------------------------- the report


def _zone_rows(zones: Any, top: int, places: _Places | None = None) -> list[dict[str, str]]:
    """Return the ``top`` heaviest blind-spot zones as display rows (with their place)."""
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
                "place": places.of_zone(row) if places is not None else "",
                "province": _text_or_empty(row.get("province")),
                "city": _text_or_empty(row.get("city")),
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
    currency: str = "CNY"
    notes: list[str] = field(default_factory=list)


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
    figures = _Figures(
        lang=lang,
        t={key: value[lang] for key, value in STRINGS.items()},
        scenario=scenario,
        before=before,
        after=after,
        plan_kpis=plan_kpis,
        after_coverage=after_coverage,
        tier_labels=tier_labels,
        currency=scenario.currency if scenario is not None else "CNY",
    )
    if scenario is None and plan_kpis:  # costs shown in a currency nobody named: say so
        figures.notes.append(text("currency_assumed", lang))
    return figures


def _headline(
    f: _Figures,
    zones: Any,
    scores: pd.DataFrame | None,
    costs: Mapping[str, float | None] | None = None,
    plan: PlanLike | None = None,
) -> list[str]:
    """Return the headline sentences: coverage today and with the plan, cost, blind spots."""
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
                new_cost=text("per_year", lang, amount=_money(f, (costs or {}).get("new"))),
                budget=(
                    text("headline_budget", lang, budget=_money(f, (costs or {}).get("budget")))
                    if (costs or {}).get("budget") is not None
                    else ""
                ),
                network=text("per_year", lang, amount=_money(f, (costs or {}).get("network"))),
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
        decision = ""
        if plan is not None and "decision" in plan.sites.columns:
            match = plan.sites.loc[plan.sites["id"].astype(str) == str(best["site_id"]), "decision"]
            decision = str(match.iloc[0]) if len(match) else ""
        headline.append(
            text(
                "headline_scores_left_out" if decision == "not_selected" else "headline_scores",
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
                "value": text(
                    "per_year", f.lang, amount=_money(f, plan_kpis.get("total_fixed_cost"))
                ),
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
            "cost": _money(f, open_cost.get(name)) if plan is not None else "",
        }
        tiers.append(row)
    return tiers


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


def _nice_ceiling(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _distance_chart(f: _Figures, coverage: CoverageLike | None) -> str:
    """Return the distance curve (data URI): share of demand within each distance."""
    from netplan.charts import Series, line_chart

    t, after_coverage = f.t, f.after_coverage
    if coverage is None or not {"distance_km", "weight"} <= set(coverage.points.columns):
        return ""
    distances = pd.to_numeric(coverage.points["distance_km"], errors="coerce").to_numpy(float)
    distances = np.where(np.isnan(distances), np.inf, distances)
    weights = pd.to_numeric(coverage.points["weight"], errors="coerce").fillna(0.0).to_numpy(float)
    finite = distances[np.isfinite(distances)]
    x_max = _nice_ceiling(float(np.quantile(finite, 0.95))) if finite.size else 100.0
    grid = np.linspace(0.0, x_max, 101)
    series = [
        Series(t["col_before"], grid.tolist(), distance_curve(distances, weights, grid).tolist())
    ]
    if after_coverage is not None:
        after_points = after_coverage.points
        after_d = pd.to_numeric(after_points["distance_km"], errors="coerce").to_numpy(float)
        after_d = np.where(np.isnan(after_d), np.inf, after_d)
        after_w = pd.to_numeric(after_points["weight"], errors="coerce").fillna(0.0)
        curve = distance_curve(after_d, after_w.to_numpy(float), grid)
        series.append(Series(t["col_after"], grid.tolist(), curve.tolist()))
    return line_chart(
        series,
        x_label=t["curve_x"],
        y_label=t["curve_y"],
        x_max=x_max,
        x_format=lambda value: f"{value:,.0f}",
        notes=f.notes,
    )


def _tradeoff_chart(f: _Figures, frontier: pd.DataFrame | None, plan: PlanLike | None) -> str:
    """Return the trade-off curve (data URI): coverage by budget or by number of sites."""
    from netplan.charts import Series, line_chart

    t = f.t
    if frontier is None and plan is not None:
        frontier = getattr(plan, "frontier", None)
    if frontier is None or not len(frontier):
        return ""
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
    if x_col is None or y_col is None:
        return ""
    by_sites = x_col in ("n_sites", "n_open") or (
        x_col == "limit" and frontier.attrs.get("by") == "sites"
    )
    frame = frontier[[x_col, y_col]].apply(pd.to_numeric, errors="coerce").dropna()
    frame = frame.sort_values(x_col, kind="mergesort")
    if not len(frame):
        return ""
    if by_sites:
        x_label, divisor = t["tradeoff_x_sites"], 1.0
    else:
        unit, divisor = _money_axis(f.currency, f.lang)
        x_label = text("chart_money_axis", f.lang, label=t["tradeoff_x"], unit=unit)
    xs = (frame[x_col] / divisor).tolist()
    return line_chart(
        [Series(t["tradeoff_y"], xs, frame[y_col].tolist(), marker="o")],
        x_label=x_label,
        y_label=t["tradeoff_y"],
        x_format=lambda value: f"{value:,.0f}" if by_sites or divisor == 1e4 else f"{value:,.1f}",
        integer_x=by_sites,
        notes=f.notes,
    )


def _id_list(entry: Mapping[str, Any], key: str, lang: str, shown: int = 20) -> str:
    """Return the ids added or removed (up to ``shown``), or their count when ids are unknown."""
    if key in entry:
        ids = [str(i) for i in entry[key]]
        more = f" … (+{len(ids) - shown})" if len(ids) > shown else ""
        return ", ".join(ids[:shown]) + more
    a, b = entry.get("a"), entry.get("b")
    if not (_is_number(a) and _is_number(b)):
        return ""
    change = int(b) - int(a) if key == "added" else int(a) - int(b)
    return text("compare_count", lang, n=change) if change > 0 else ""


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
                    "added": _id_list(entry, "added", lang),
                    "removed": _id_list(entry, "removed", lang),
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


# --------------------------------------------------------------------------- places, costs, summary


def _lonlat(frame: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Return the lon/lat arrays of a table (``lon``/``lat`` columns, else point geometry)."""
    if frame is None or not len(frame):
        return None
    if {"lon", "lat"} <= set(frame.columns):
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
        return lon, lat
    geometry = getattr(frame, "geometry", None)
    if geometry is not None and "geometry" in frame.columns:
        with contextlib.suppress(Exception):
            return np.asarray(geometry.x, dtype=float), np.asarray(geometry.y, dtype=float)
    return None


def _text_or_empty(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _region_name(value: Any) -> str:
    """Return a province/city name, ``""`` when missing or outside every boundary."""
    from netplan.regions import OUTSIDE

    name = _text_or_empty(value)
    return "" if name == OUTSIDE else name


class _Places:
    """Names the place of a blind-spot zone: its ``province``/``city``, else its nearest site.

    Coverage folders name every zone's province and city (from the administrative
    boundaries); the report reads them and computes nothing.
    """

    def __init__(self, f: _Figures, plan: PlanLike | None) -> None:
        self.lang = f.lang
        self.site_names: dict[str, str] = {}
        if plan is not None and "name" in plan.sites.columns:
            for site_id, name in zip(plan.sites["id"], plan.sites["name"], strict=True):
                if _text_or_empty(name):
                    self.site_names[str(site_id)] = str(name)

    def of_zone(self, row: Any) -> str:
        """Return the place of one zone (``""`` when nothing is known)."""
        named = " ".join(
            p for p in (_region_name(row.get("province")), _region_name(row.get("city"))) if p
        )
        if named:
            return named
        nearest = _text_or_empty(row.get("nearest_site"))
        if nearest:
            return text("place_near", self.lang, site=self.site_names.get(nearest, nearest))
        return ""


def _site_places(plan: PlanLike | None) -> pd.DataFrame | None:
    """Return ``province``/``city`` of the plan's sites (index: site id), or ``None``.

    The plan's own columns when it has them, else the sites' coordinates looked up in
    the administrative boundaries (:func:`netplan.regions.tag_points`); ``None`` when
    neither is possible or no site lies in any boundary (a network outside China).
    """
    if plan is None or not len(plan.sites) or "id" not in plan.sites.columns:
        return None
    ids = plan.sites["id"].astype(str)
    if {"province", "city"} <= set(plan.sites.columns):
        table = pd.DataFrame(
            {
                "province": plan.sites["province"].map(_text_or_empty).to_numpy(),
                "city": plan.sites["city"].map(_text_or_empty).to_numpy(),
            },
            index=ids.to_numpy(),
        )
        return table[~table.index.duplicated()]
    xy = _lonlat(plan.sites)
    if xy is None:
        return None
    from netplan.regions import OUTSIDE, tag_points

    finite = np.isfinite(xy[0]) & np.isfinite(xy[1])
    if not finite.any():
        return None
    try:
        tags = tag_points(xy[0][finite], xy[1][finite])
    except (ImportError, NetplanError, OSError):  # the dataset is optional for the report
        return None
    inside = tags["province"].to_numpy() != OUTSIDE
    if not inside.any():
        return None
    table = pd.DataFrame(
        {
            "province": np.where(inside, tags["province"].to_numpy(), ""),
            "city": np.where(inside, tags["city"].to_numpy(), ""),
        },
        index=ids.to_numpy()[finite],
    )
    return table[~table.index.duplicated()]


def _plan_costs(f: _Figures, plan: PlanLike | None) -> dict[str, float | None]:
    """Return the plan's yearly fixed costs: new (opened), saved (closed), network, budget."""
    out: dict[str, float | None] = {"new": None, "saved": None, "network": None, "budget": None}
    if plan is None:
        return out
    sites = plan.sites
    cost = (
        pd.to_numeric(sites["fixed_cost"], errors="coerce").fillna(0.0)
        if "fixed_cost" in sites.columns
        else pd.Series(0.0, index=sites.index)
    )
    decision = sites["decision"].astype(str)
    out["new"] = float(cost[decision == "opened"].sum())
    out["saved"] = float(cost[decision == "closed"].sum())
    network = (f.plan_kpis or {}).get("total_fixed_cost")
    out["network"] = (
        float(network)
        if _is_number(network)
        else float(cost[decision.isin(["kept", "opened"])].sum())
    )
    budget = _dig(f.plan_kpis, "options.budget")
    out["budget"] = float(budget) if _is_number(budget) else None
    return out


def _money(f: _Figures, value: Any) -> str:
    return _fmt_money(value, f.currency, f.lang)


def _zone_labels(zones: Any, places: _Places, top: int) -> list[str]:
    """Return ``"Z0001 · 广东省 东莞市 — 8,031"`` for the ``top`` heaviest zones."""
    if zones is None or not len(zones):
        return []
    labels = []
    ordered = zones.sort_values("weight", ascending=False, kind="mergesort").head(top)
    for _, row in ordered.iterrows():
        place = places.of_zone(row)
        zone = str(row.get("zone_id", ""))
        name = f"{zone} · {place}" if place else zone
        labels.append(f"{name} — {_fmt_number(row.get('weight'), 0)}")
    return labels


def _summary_block(
    f: _Figures,
    plan: PlanLike | None,
    zones: Any,
    places: _Places,
    costs: Mapping[str, float | None],
) -> dict[str, Any]:
    """Return the one-screen summary: key cards, sites by tier and decision, top blind spots."""
    t, before, after = f.t, f.before, f.after
    cards: list[dict[str, str]] = []
    if before:
        value = _fmt_percent(before.get("weighted_coverage_rate"))
        detail = t["summary_today"]
        if after:
            value = f"{value} → {_fmt_percent(after.get('weighted_coverage_rate'))}"
            detail = _format_delta(
                before.get("weighted_coverage_rate"), after.get("weighted_coverage_rate"), "rate"
            )
        cards.append({"label": t["kpi_weighted_coverage"], "value": value, "detail": detail})
    if plan is not None:
        budget = costs["budget"]
        detail = (
            text(
                "summary_budget",
                f.lang,
                budget=_money(f, budget),
                share=_fmt_percent((costs["new"] or 0.0) / budget) if budget else "—",
            )
            if budget
            else t["summary_no_budget"]
        )
        cards.append(
            {
                "label": t["summary_new_cost"],
                "value": _money(f, costs["new"]),
                "detail": detail,
            }
        )
        counts = (f.plan_kpis or {}).get("n_by_decision") or {}
        cards.append(
            {
                "label": t["summary_sites"],
                "value": text(
                    "summary_opened_closed",
                    f.lang,
                    opened=int(counts.get("opened", 0) or 0),
                    closed=int(counts.get("closed", 0) or 0),
                ),
                "detail": text(
                    "summary_network",
                    f.lang,
                    n=_fmt_number((f.plan_kpis or {}).get("n_open")),
                    cost=text("per_year", f.lang, amount=_money(f, costs["network"])),
                ),
            }
        )
    n_today = _dig(before, "n_blindspots")
    if n_today is not None:
        n_plan = _dig(after, "n_blindspots") if after else None
        value = _fmt_number(n_today) + (f" → {_fmt_number(n_plan)}" if n_plan is not None else "")
        weight = _dig(after if n_plan is not None else before, "blindspot_weight")
        cards.append(
            {
                "label": t["kpi_blindspots"],
                "value": value,
                "detail": text("summary_blindspot_weight", f.lang, weight=_fmt_number(weight, 0)),
            }
        )
    tiers: list[dict[str, str]] = []
    if plan is not None and "tier" in plan.sites.columns:
        sites = plan.sites.assign(
            _tier=plan.sites["tier"].astype(str), _decision=plan.sites["decision"].astype(str)
        )
        for name in _tier_order(f, sites["_tier"]):
            group = sites[sites["_tier"] == name]
            count = {d: int((group["_decision"] == d).sum()) for d in ("kept", "opened", "closed")}
            if not any(count.values()):
                continue
            tiers.append(
                {
                    "tier": _tier_label(f.scenario, name, f.lang, f.tier_labels),
                    "kept": _fmt_number(count["kept"]),
                    "opened": _fmt_number(count["opened"]),
                    "closed": _fmt_number(count["closed"]),
                    "open": _fmt_number(count["kept"] + count["opened"]),
                }
            )
    after_zones = f.after_coverage.blindspots if f.after_coverage is not None else None
    return {
        "cards": cards,
        "tiers": tiers,
        "zones_today": _zone_labels(zones, places, 3),
        "zones_plan": _zone_labels(after_zones, places, 3) if after_zones is not None else None,
    }


def _tier_order(f: _Figures, present: Any) -> list[str]:
    """Return tier names in the scenario's order (hub first), then any other present."""
    names = list(f.scenario.tiers) if f.scenario is not None else []
    for name in f.tier_labels:
        if name not in names:
            names.append(name)
    for name in sorted({str(v) for v in present}):
        if name not in names:
            names.append(name)
    return names


# --------------------------------------------------------------------------- reasons


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?%?")


def _dedupe_reasons(reasons: str) -> str:
    """Return a reasons text without repeated clauses.

    A clause whose figures all appear in a longer clause (``serves 9,259 demand``
    beside ``captures 9,259 demand no outlet covers today``) says nothing more and is
    dropped; repeated clauses are said once.

    Examples
    --------
    >>> _dedupe_reasons("serves 9,259 demand; captures 9,259 new demand; serves 9,259 demand")
    'captures 9,259 new demand'
    """
    separator = "；" if "；" in reasons else "; "
    clauses = list(dict.fromkeys(_clauses(reasons)))  # exact repeats once, in order
    kept: list[str] = []
    for clause in clauses:
        figures = set(_NUMBER.findall(clause))
        if figures and any(
            len(other) > len(clause) and figures <= set(_NUMBER.findall(other)) for other in clauses
        ):
            continue  # a longer clause says the same figures, and more
        kept.append(clause)
    return separator.join(kept)


def _clauses(reasons: str) -> list[str]:
    return [c.strip() for c in re.split(r"[;；]\s*", reasons) if c.strip()]


def _join_clauses(clauses: Sequence[str], lang: str) -> str:
    return ("；" if lang == "zh" else "; ").join(clauses)


def _common_clauses(reasons: Sequence[str]) -> list[str]:
    """Return the clauses at least half of 3+ sites share (said once for their group)."""
    lists = [_clauses(r) for r in reasons if r]
    if len(lists) < 3:
        return []
    counts: dict[str, int] = {}
    for clauses in lists:
        for clause in dict.fromkeys(clauses):
            counts[clause] = counts.get(clause, 0) + 1
    return [c for c, n in counts.items() if 2 * n >= len(lists)]


def _site_groups(
    f: _Figures,
    plan: PlanLike | None,
    score_table: pd.DataFrame | None,
    places: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Return the plan's sites grouped by tier (hub first): opened, kept, then closed."""
    if plan is None or "tier" not in plan.sites.columns:
        return []
    sites = plan.sites[plan.sites["decision"].isin(["opened", "kept", "closed"])]
    sites = sites.assign(
        _tier=sites["tier"].astype(str),
        _order=sites["decision"].map({"opened": 0, "kept": 1, "closed": 2}),
    )
    groups = []
    for name in _tier_order(f, sites["_tier"]):
        group = sites[sites["_tier"] == name].sort_values(["_order", "id"], kind="mergesort")
        if not len(group):
            continue
        rows = []
        for _, site in group.iterrows():
            site_id = str(site["id"])
            score = (
                score_table.loc[site_id]
                if score_table is not None and site_id in score_table.index
                else None
            )
            reasons = ""
            if score is not None and f"reasons_{f.lang}" in score:
                reasons = _dedupe_reasons(_text_or_empty(score[f"reasons_{f.lang}"]))
            place = ""
            if places is not None and site_id in places.index:
                place = str(places.at[site_id, "city"] or places.at[site_id, "province"])
            rows.append(
                {
                    "site": site_id,
                    "name": _text_or_empty(site.get("name")),
                    "place": place,
                    "decision": _decision_label(site["decision"], f.lang),
                    "decision_key": str(site["decision"]),
                    "cost": _money(f, site.get("fixed_cost")),
                    "assigned": _fmt_number(site.get("assigned_weight"), 0),
                    "utilisation": _fmt_percent(site.get("utilisation")),
                    "score": _fmt_number(score["total_score"], 1) if score is not None else "—",
                    "reasons": reasons,
                }
            )
        common = _common_clauses([row["reasons"] for row in rows])
        for row in rows:
            row["reasons"] = _join_clauses(
                [c for c in _clauses(row["reasons"]) if c not in common][:2], f.lang
            )
        groups.append(
            {
                "tier": _tier_label(f.scenario, name, f.lang, f.tier_labels),
                "n_open": int(group["decision"].isin(["opened", "kept"]).sum()),
                "common": (
                    text("reasons_common", f.lang, reasons=_join_clauses(common, f.lang))
                    if common
                    else ""
                ),
                "rows": rows,
            }
        )
    return groups


def _why_not(
    f: _Figures,
    plan: PlanLike | None,
    scores: pd.DataFrame | None,
    coverage: CoverageLike | None,
    costs: Mapping[str, float | None],
    top: int = 5,
) -> list[dict[str, Any]]:
    """Return why the best-scored candidates the plan did not open were left out, with figures.

    Everything comes from the outputs: the candidate's score and cost (``scores.csv``,
    ``plan.csv``), the demand within its reach that the plan's network already covers
    (the plan's coverage points), the open sites of its parent tier (support chain),
    and the plan's cost per newly covered call and remaining budget.
    """
    if plan is None or scores is None or not len(scores) or "decision" not in plan.sites.columns:
        return []
    lang, scenario = f.lang, f.scenario
    sites = plan.sites.assign(id=plan.sites["id"].astype(str)).drop_duplicates("id")
    sites = sites.set_index("id")
    ranked = scores.sort_values(
        ["total_score", "site_id"], ascending=[False, True], kind="mergesort"
    )
    left_out = [
        row
        for _, row in ranked.iterrows()
        if str(row["site_id"]) in sites.index
        and str(sites.loc[str(row["site_id"]), "decision"]) == "not_selected"
    ][:top]
    if not left_out:
        return []
    site_xy = _lonlat(sites.reset_index())
    after_points = f.after_coverage.points if f.after_coverage is not None else None
    point_xy = _lonlat(after_points) if after_points is not None else None
    covered_after: NDArray[np.bool_] | None = None
    weights: NDArray[np.float64] | None = None
    if after_points is not None and point_xy is not None and "covered" in after_points.columns:
        covered_after = (
            after_points["covered"]
            .map(lambda v: str(v).strip().lower() in ("true", "1", "yes"))
            .to_numpy(bool)
        )
        weights = pd.to_numeric(after_points["weight"], errors="coerce").fillna(0.0).to_numpy(float)
    gained = None
    if f.before and f.after:
        b, a = f.before.get("covered_weight"), f.after.get("covered_weight")
        if _is_number(a) and _is_number(b) and float(a) > float(b):
            gained = float(a) - float(b)
    cost_per_call_plan = (costs["new"] or 0.0) / gained if gained and costs["new"] else None
    remaining = (
        costs["budget"] - (costs["new"] or 0.0) + (costs["saved"] or 0.0)
        if costs["budget"] is not None
        else None
    )
    support_chain = bool(_dig(f.plan_kpis, "options.support_chain"))
    positions = {site_id: k for k, site_id in enumerate(sites.index)}
    open_mask = sites["decision"].isin(["kept", "opened"]).to_numpy(bool)
    tier_of = sites["tier"].astype(str).to_numpy() if "tier" in sites.columns else None
    out = []
    for row in left_out:
        site_id = str(row["site_id"])
        site = sites.loc[site_id]
        tier_name = str(site.get("tier", row.get("tier", "")))
        tier = scenario.tiers.get(tier_name) if scenario is not None else None
        cost = site.get("fixed_cost")
        reasons: list[str] = []
        here = positions[site_id]
        # 1. the support chain: no open parent-tier site close enough
        if (
            support_chain
            and tier is not None
            and tier.parent
            and tier.support_radius_km
            and site_xy is not None
            and tier_of is not None
        ):
            parents = open_mask & (tier_of == tier.parent)
            if parents.any():
                from netplan.geo import great_circle_km

                distance = great_circle_km(
                    site_xy[0][here], site_xy[1][here], site_xy[0][parents], site_xy[1][parents]
                )
                nearest = float(np.nanmin(distance))
                if nearest > tier.support_radius_km:
                    reasons.append(
                        text(
                            "why_support",
                            lang,
                            parent=_tier_label(scenario, tier.parent, lang, f.tier_labels),
                            radius=_fmt_number(tier.support_radius_km),
                            nearest=_fmt_number(nearest),
                        )
                    )
            else:
                reasons.append(
                    text(
                        "why_support_none",
                        lang,
                        parent=_tier_label(scenario, tier.parent, lang, f.tier_labels),
                    )
                )
        # 2. its demand: how much the plan's sites already cover
        new_weight: float | None = None
        if (
            tier is not None
            and scenario is not None
            and scenario.distance_model != "matrix"
            and site_xy is not None
            and point_xy is not None
            and covered_after is not None
            and weights is not None
            and after_points is not None
        ):
            from netplan.geo import great_circle_km

            distance = great_circle_km(site_xy[0][here], site_xy[1][here], *point_xy)
            if "grade" in after_points.columns and tier.grades():
                grades = after_points["grade"].astype(str).to_numpy()
                reach = np.array(
                    [
                        tier.reach_km(
                            g if g in tier.grades() else None,
                            distance_model=scenario.distance_model,
                        )
                        for g in grades
                    ]
                )
            else:
                reach = np.full(
                    len(distance), tier.reach_km(distance_model=scenario.distance_model)
                )
            inside = distance <= reach
            in_reach = float(weights[inside].sum())
            covered = float(weights[inside & covered_after].sum())
            new_weight = in_reach - covered
            if in_reach > 0 and new_weight <= 1e-9 * in_reach:
                reasons.append(
                    text(
                        "why_all_covered",
                        lang,
                        demand=_fmt_number(in_reach),
                        cost=_money(f, cost),
                    )
                )
            elif in_reach > 0:
                reasons.append(
                    text(
                        "why_covered",
                        lang,
                        share=_fmt_percent(covered / in_reach),
                        demand=_fmt_number(in_reach),
                        new=_fmt_number(new_weight),
                    )
                )
            else:
                reasons.append(text("why_no_demand", lang))
        elif _is_number(row.get("gap_fill_value")):
            new_weight = float(row["gap_fill_value"])
        # 3. cost per newly covered call against the plan's
        if (
            _is_number(cost)
            and new_weight is not None
            and new_weight > 0
            and cost_per_call_plan is not None
        ):
            reasons.append(
                text(
                    "why_cost_per_call",
                    lang,
                    cost=_money(f, float(cost) / new_weight),
                    plan=_money(f, cost_per_call_plan),
                )
            )
        # 4. the budget left
        if remaining is not None and _is_number(cost) and float(cost) > remaining:
            reasons.append(
                text("why_budget", lang, cost=_money(f, cost), left=_money(f, max(remaining, 0.0)))
            )
        out.append(
            {
                "site": site_id,
                "name": _text_or_empty(row.get("name")) or _text_or_empty(site.get("name")),
                "tier": _tier_label(scenario, tier_name, lang, f.tier_labels),
                "score": _fmt_number(row.get("total_score"), 1),
                "score_value": (
                    float(row["total_score"]) if _is_number(row.get("total_score")) else None
                ),
                "rank": _fmt_number(row.get("rank")),
                "cost": _money(f, cost),
                "cost_value": float(cost) if _is_number(cost) else None,
                "reasons": reasons or [text("why_other", lang)],
            }
        )
    return out


# --------------------------------------------------------------------------- the static map


def _province_outlines(
    bounds: tuple[float, float, float, float] | None, lang: str
) -> tuple[list[Any], list[tuple[str, float, float]]]:
    """Return the province outlines near the data (``bounds``) and their name labels.

    From :func:`netplan.boundaries.outlines`; none when the boundary dataset is not
    installed or no province lies near the data (a network outside China).
    """
    if bounds is None:
        return [], []
    from netplan.boundaries import outlines

    try:
        frame = outlines("province")
    except (ImportError, NetplanError, OSError):  # the dataset is optional for the report
        return [], []
    west, south, east, north = bounds
    margin = 1.0
    frame = frame.cx[west - margin : east + margin, south - margin : north + margin]
    labels = [
        (str(name), float(lon), float(lat))
        for name, lon, lat in zip(
            frame["name"], frame["label_lon"], frame["label_lat"], strict=True
        )
        if west - margin <= lon <= east + margin and south - margin <= lat <= north + margin
    ]
    return [g for g in frame.geometry if g is not None], labels


def _extent(
    zones_today: Sequence[Any],
    zones_plan: Sequence[Any],
    groups: Sequence[tuple[str, list[float], list[float], str]],
) -> tuple[float, float, float, float] | None:
    """Return (west, south, east, north) of the zones and sites drawn."""
    boxes = [g.bounds for g in (*zones_today, *zones_plan) if g is not None and not g.is_empty]
    for _, lon, lat, _ in groups:
        if lon:
            boxes.append((min(lon), min(lat), max(lon), max(lat)))
    if not boxes:
        return None
    array = np.asarray(boxes, dtype=float)
    return (
        float(array[:, 0].min()),
        float(array[:, 1].min()),
        float(array[:, 2].max()),
        float(array[:, 3].max()),
    )


def _map_chart(f: _Figures, coverage: CoverageLike | None, plan: PlanLike | None) -> str:
    """Return the static network map (data URI): outlines, blind spots, sites by tier."""
    from netplan.charts import MapLayers, network_map_figure

    zones_today = (
        list(coverage.blindspots.geometry)
        if coverage is not None and len(coverage.blindspots) and "geometry" in coverage.blindspots
        else []
    )
    after = f.after_coverage
    zones_plan = (
        list(after.blindspots.geometry)
        if after is not None and len(after.blindspots) and "geometry" in after.blindspots
        else []
    )
    groups: list[tuple[str, list[float], list[float], str]] = []
    if plan is not None and "tier" in plan.sites.columns:
        xy = _lonlat(plan.sites)
        if xy is not None:
            tiers = plan.sites["tier"].astype(str).to_numpy()
            decisions = plan.sites["decision"].astype(str).to_numpy()
            for name in _tier_order(f, tiers):
                label = _tier_label(f.scenario, name, f.lang, f.tier_labels)
                for style in ("kept", "closed", "opened"):
                    mask = (tiers == name) & (decisions == style) & np.isfinite(xy[0])
                    if mask.any():
                        groups.append((label, xy[0][mask].tolist(), xy[1][mask].tolist(), style))
    if not (zones_today or zones_plan or groups):
        return ""
    t = f.t
    outlines, outline_labels = _province_outlines(_extent(zones_today, zones_plan, groups), f.lang)
    layers = MapLayers(
        outlines=outlines,
        outline_labels=outline_labels,
        zones_today=zones_today,
        zones_plan=zones_plan,
        sites=groups,
        labels={
            "zones_today": t["layer_blindspots_today"],
            "zones_plan": t["layer_blindspots_plan"],
            "opened": t["status_proposed"],
            "kept": t["map_kept"],
            "closed": t["status_closed"],
        },
    )
    return network_map_figure(layers, notes=f.notes)


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
    (``_headline``, ``_summary_block``, ``_site_groups``, ``_why_not``, ...); they read results
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
    places = _Places(f, plan)
    costs = _plan_costs(f, plan)
    comparison_rows, comparison_sites, comparison_demand = _comparison_rows(f, comparison)
    roadmap_rows, roadmap_chart = _roadmap_section(roadmap, roadmap_sites, before, t, f.notes)
    if map_href is not None and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", map_href):
        map_href = "./" + map_href  # a link to a file beside the report, never a script URL
    inputs = [
        (name, source)
        for name, source in (
            ("coverage", str(getattr(coverage, "source", "")) if coverage is not None else ""),
            ("plan", str(getattr(plan, "source", "")) if plan is not None else ""),
            (
                "comparison",
                f"{comparison.name_a} → {comparison.name_b}" if comparison is not None else "",
            ),
        )
        if source
    ]
    score_table = _score_lookup(scores)
    staffing_rows = _staffing_rows(f)
    site_places = _site_places(plan)
    context = {
        "lang": lang,
        "t": t,
        "title": title or text("report_title", lang),
        "scenario_name": scenario_name,
        "currency": f.currency,
        "inputs": inputs,
        "headline": _headline(f, zones, scores, costs, plan),
        "summary": _summary_block(f, plan, zones, places, costs),
        "costs": costs,
        "has_plan": plan is not None,
        "kpis": kpi_table(before, after, lang) if before or after else [],
        "plan_rows": _plan_rows(f),
        "tiers": _tier_rows(f, plan),
        "staffing_rows": staffing_rows,
        "staffing_rows_shown": _regions_shown(staffing_rows),
        "site_groups": _site_groups(f, plan, score_table, site_places),
        "has_site_places": site_places is not None,
        "why_not": _why_not(f, plan, scores, coverage, costs),
        "blindspots": _zone_rows(zones, top, places),
        "blindspots_after": (
            _zone_rows(after_coverage.blindspots, top, places)
            if after_coverage is not None
            else None
        ),
        "top_scores": _top_score_rows(f, scores, top),
        "map_chart": _map_chart(f, coverage, plan),
        "distance_chart": _distance_chart(f, coverage),
        "tradeoff_chart": _tradeoff_chart(f, frontier, plan),
        "comparison_rows": comparison_rows,
        "comparison_sites": comparison_sites,
        "comparison_demand": comparison_demand,
        "comparison_names": (
            (comparison.name_a, comparison.name_b) if comparison is not None else ("", "")
        ),
        "map_href": map_href,
        "roadmap_rows": roadmap_rows,
        "roadmap_chart": roadmap_chart,
    }
    context["notes"] = list(f.notes)
    context["_figures"] = f  # for the workbook: the numbers behind the texts
    context["_places"] = places
    context["_site_places"] = site_places
    return context


def _regions_shown(rows: list[dict[str, Any]], most: int = 8) -> list[dict[str, Any]]:
    """Return the staffing rows for the page, with at most ``most`` region rows.

    Every region row would make a long list of 100 %; the page shows only the
    regions furthest from the promise (below 100 %), the workbook all of them.
    """
    regions = [r for r in rows if "region_share" in r and r["region_share"] < 1.0 - 1e-9]
    regions.sort(key=lambda r: (r["region_share"], r["label"]))
    return [r for r in rows if "region_share" not in r] + regions[:most]


def _staffing_rows(f: _Figures) -> list[dict[str, Any]]:
    """Return the staffing and response-time rows of a plan's summary.

    Each row has its ``label``, the ``today`` and ``plan`` texts, and the numbers
    behind them (``today_value``, ``plan_value``, ``kind``) for the workbook.
    """
    staffing = (f.plan_kpis or {}).get("staffing")
    if not isinstance(staffing, Mapping):
        return []
    t = f.t
    response = staffing.get("response") or {}
    today, planned = response.get("today") or {}, response.get("plan") or {}

    def row(label: str, first: Any, second: Any, kind: str) -> dict[str, Any]:
        def shown(value: Any) -> str:
            if kind == "rate":
                return _fmt_percent(value)
            return _fmt_number(value, 1 if kind == "hours" else 0)

        return {
            "label": label,
            "today": shown(first) if first is not None else "",
            "plan": shown(second),
            "today_value": float(first) if _is_number(first) else None,
            "plan_value": float(second) if _is_number(second) else None,
            "kind": kind,
        }

    rows = [
        row(t["staffing_engineers"], None, staffing.get("engineers"), "count"),
        row(t["staffing_calls"], None, staffing.get("annual_calls"), "count"),
    ]
    if _is_number(staffing.get("output_per_engineer")):
        rows.append(row(t["staffing_output"], None, staffing.get("output_per_engineer"), "count"))
    rows.append(
        row(
            t["response_overall"],
            today.get("share_within_promise"),
            planned.get("share_within_promise"),
            "rate",
        )
    )
    rows.append(
        row(
            t["response_mean_hours"],
            _dig(today, "arrival_hours.mean"),
            _dig(planned, "arrival_hours.mean"),
            "hours",
        )
    )

    def share(block: Mapping[str, Any], table: str, key: str) -> Any:
        entry = (block.get(table) or {}).get(key)
        return entry.get("share_within_promise") if isinstance(entry, Mapping) else None

    for grade in sorted((planned.get("by_grade") or {}).keys()):
        rows.append(
            row(
                text("response_grade", f.lang, grade=grade),
                share(today, "by_grade", grade),
                share(planned, "by_grade", grade),
                "rate",
            )
        )
    for region in sorted((planned.get("by_region") or {}).keys()):
        entry = row(
            str(region),
            share(today, "by_region", region),
            share(planned, "by_region", region),
            "rate",
        )
        plan_share = entry["plan_value"]
        entry["region_share"] = plan_share if plan_share is not None else 1.0
        rows.append(entry)
    return rows


def _roadmap_section(
    by_year: pd.DataFrame | None,
    sites: pd.DataFrame | None,
    before: Mapping[str, Any] | None,
    t: Mapping[str, str],
    notes: list[str] | None = None,
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
    from netplan.charts import Series, line_chart

    years = [int(y) for y in by_year["year"].tolist()]
    rates = [float(r) for r in pd.to_numeric(by_year["weighted_coverage_rate"]).tolist()]
    today = (before or {}).get("weighted_coverage_rate")
    if today is not None and _is_number(today):
        years, rates = [0, *years], [float(today), *rates]
    chart = line_chart(
        [Series(t["tradeoff_y"], [float(y) for y in years], rates, marker="o")],
        x_label=t["roadmap_x"],
        y_label=t["tradeoff_y"],
        integer_x=True,
        x_format=lambda value: f"{value:.0f}",
        notes=notes,
    )
    return rows, chart


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

    The template autoescapes every value; charts and the static map are SVG
    images drawn by matplotlib (:mod:`netplan.charts`) and embedded as
    ``data:`` URIs, so the page loads nothing from elsewhere.
    """
    return _render_html(report_context(**options))


def _render_html(context: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(**context)


def report_xlsx(path: str | Path, **options: Any) -> Path:
    """Write ``report.xlsx`` (sheets Summary, Sites, Scores, Blind spots, Assignment).

    Options are those of :func:`report_context`; the sheets hold the raw tables
    (the plan's sites and assignment, the scores, the blind-spot zones). The
    file is byte-identical across runs (fixed document dates and zip
    timestamps), and text that looks like a formula stays text.
    """
    return _write_xlsx(path, report_context(**options), options)


#: Number formats of the workbook, by kind.
_FORMATS = {
    "rate": "0.0%",
    "pp": '+0.0" pp";-0.0" pp";0.0" pp"',
    "km": '#,##0.0" km"',
    "km2": '#,##0.0" km²"',
    "count": "#,##0",
    "number": "#,##0.0",
    "score": "0.0",
    "hours": '#,##0.0" h"',
    "degrees": "0.000000",
}


def _money_format(currency: str, lang: str) -> str:
    """Return the number format of amounts: ``"CNY "#,##0`` (``#,##0" 元"`` in Chinese)."""
    if lang == "zh" and currency == "CNY":
        return '#,##0" 元"'
    return f'"{currency} "#,##0'


def _column_kind(name: str, values: pd.Series) -> str | None:
    """Return the number-format kind of a table column from its name (and dtype)."""
    lower = name.lower()
    if lower in ("lon", "lat", "centroid_lon", "centroid_lat"):
        return "degrees"
    if lower in ("fixed_cost", "cost_value", "spend", "budget", "net_cost", "closing_cost") or (
        lower.endswith("_cost") or lower.endswith("cost_change")
    ):
        return "money"
    if lower == "area_km2":
        return "km2"
    if lower in ("distance", "distance_km", "distance_to_outlet_value") or lower.endswith("_km"):
        return "km"
    if (
        lower in ("utilisation", "engineer_utilisation", "overlap_value", "coverage_target")
        or lower.endswith("_rate")
        or lower.startswith("share")
        or lower.endswith("share_within_promise")
    ):
        return "rate"
    if lower.endswith("_score") or lower == "total_score":
        return "score"
    if lower.endswith("hours"):
        return "hours"
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        return "count"
    if pd.api.types.is_float_dtype(values):
        numbers = values.dropna()
        whole = bool(len(numbers)) and bool(np.all(np.mod(numbers.to_numpy(float), 1) == 0))
        return "count" if whole else "number"
    return None


def _display_width(value: Any) -> int:
    """Return the width of a value in Excel's character units (CJK characters count twice)."""
    shown = value if isinstance(value, str) else _fmt_number(value, 1)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in shown)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _xlsx_header(name: str, lang: str) -> str:
    """Return a table column's header: the column name, or its Chinese title under zh."""
    if lang != "zh":
        return name
    key = f"xcol_{name}"
    if key in STRINGS:
        return text(key, lang)
    for suffix, label in (("_value", "xcol__value"), ("_score", "xcol__score")):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            base = text(f"factor_{stem}", lang) if f"factor_{stem}" in STRINGS else stem
            return text(label, lang, name=base)
    return name


def _xlsx_values(frame: pd.DataFrame, f: _Figures) -> pd.DataFrame:
    """Return the table with coded values (decision, status, tier) in Chinese under zh."""
    if f.lang != "zh":
        return frame
    out = frame.copy()
    for column in ("decision", "status_before", "status"):
        if column in out.columns:
            out[column] = out[column].map(
                lambda v: (
                    _decision_label(v, "zh")
                    if f"decision_{v}" in STRINGS
                    else (text(f"status_{v}", "zh") if f"status_{v}" in STRINGS else v)
                )
            )
    if "tier" in out.columns:
        out["tier"] = out["tier"].map(
            lambda v: _tier_label(f.scenario, v, "zh", f.tier_labels) if isinstance(v, str) else v
        )
    return out


def _write_xlsx(path: str | Path, context: dict[str, Any], options: Mapping[str, Any]) -> Path:
    from openpyxl import Workbook

    coverage: CoverageLike | None = options.get("coverage")
    plan: PlanLike | None = options.get("plan")
    assignment = getattr(plan, "assignment", None) if plan is not None else None
    scores: pd.DataFrame | None = options.get("scores")
    f: _Figures = context["_figures"]
    t, lang = context["t"], context["lang"]
    book = Workbook(write_only=True)
    writer = _SheetWriter(book, _money_format(context["currency"], lang))
    writer.summary(context, f)
    sheets: list[tuple[str, pd.DataFrame]] = [
        (t["sheet_sites"], _sites_table(plan, context.get("_site_places"))),
        (t["sheet_scores"], scores if scores is not None else pd.DataFrame(columns=["site_id"])),
        (t["sheet_blindspots"], _zones_table(coverage, context.get("_places"))),
        (
            t["sheet_assignment"],
            (
                pd.DataFrame(assignment)
                if assignment is not None
                else pd.DataFrame(columns=["demand_id", "site_id", "distance"])
            ),
        ),
    ]
    roadmap: pd.DataFrame | None = options.get("roadmap")
    if roadmap is not None:
        sheets.append((t["sheet_roadmap"], roadmap))
    for name, frame in sheets:
        writer.table(name, _xlsx_values(frame, f), lang)
    if context.get("staffing_rows"):
        writer.response(t["sheet_response"], context["staffing_rows"], t)
    if context.get("why_not"):
        writer.why_not(t["sheet_why_not"], context["why_not"], t)
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


def _sites_table(plan: PlanLike | None, places: pd.DataFrame | None) -> pd.DataFrame:
    """Return the plan's sites as a table, with ``province``/``city`` after ``name`` if known."""
    if plan is None:
        return pd.DataFrame(columns=["id"])
    sites = pd.DataFrame(plan.sites.drop(columns="geometry", errors="ignore"))
    if places is None or {"province", "city"} <= set(sites.columns):
        return sites
    ids = sites["id"].astype(str)
    at = list(sites.columns).index("name") + 1 if "name" in sites.columns else 1
    for offset, column in enumerate(("province", "city")):
        values = ids.map(places[column]).fillna("").to_numpy()
        sites.insert(at + offset, column, values)
    return sites


def _zones_table(coverage: CoverageLike | None, places: _Places | None) -> pd.DataFrame:
    """Return the blind-spot zones as a table, with ``place`` when no province/city is given."""
    if coverage is None:
        return pd.DataFrame(columns=["zone_id"])
    zones = pd.DataFrame(coverage.blindspots.drop(columns="geometry", errors="ignore"))
    named = {"province", "city"} <= set(zones.columns) and bool(
        zones["province"].map(_region_name).astype(bool).any()
    )
    if named:  # the place right after the zone id
        order = ["zone_id", "province", "city"] if "zone_id" in zones.columns else []
        zones = zones[order + [c for c in zones.columns if c not in order]]
    if places is not None and len(zones) and not named:
        place = [places.of_zone(row) for _, row in zones.iterrows()]
        zones.insert(1 if "zone_id" in zones.columns else 0, "place", place)
    return zones


class _SheetWriter:
    """Writes the workbook's sheets: typed numbers with formats, frozen headers, filters, widths."""

    def __init__(self, book: Any, money_format: str) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        self.book = book
        self.money_format = money_format
        self.bold = Font(bold=True)
        self.title_font = Font(bold=True, size=14)
        self.header_fill = PatternFill("solid", fgColor="DDE7F0")
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def _cell(self, sheet: Any, value: Any, number_format: str | None = None, **style: Any) -> Any:
        from openpyxl.cell import WriteOnlyCell

        value = _cell(value)
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # netplan writes no formulas: such text stays text
        if number_format is not None and isinstance(value, int | float):
            cell.number_format = number_format
        for key, setting in style.items():
            setattr(cell, key, setting)
        return cell

    def _format(self, kind: str | None) -> str | None:
        if kind is None:
            return None
        return self.money_format if kind == "money" else _FORMATS[kind]

    def _widths(self, sheet: Any, columns: Sequence[Sequence[Any]]) -> None:
        for index, values in enumerate(columns, start=1):
            width = max((_display_width(v) for v in values if v is not None), default=8)
            sheet.column_dimensions[_column_letter(index)].width = float(min(max(width + 2, 8), 60))

    def _finish(self, sheet: Any, header_row: int, n_columns: int, last_row: int) -> None:
        sheet.freeze_panes = f"A{header_row + 1}"
        if n_columns:
            sheet.auto_filter.ref = (
                f"A{header_row}:{_column_letter(n_columns)}{max(last_row, header_row)}"
            )

    def table(self, name: str, frame: pd.DataFrame, lang: str) -> None:
        """Write one table sheet: header row, typed cells, formats by column."""
        sheet = self.book.create_sheet(name)
        columns = [str(c) for c in frame.columns]
        headers = [_xlsx_header(c, lang) for c in columns]
        kinds = [_column_kind(c, frame[c]) for c in columns]
        sample = frame.head(1000)
        self._widths(
            sheet,
            [
                [h, *(sample[c].map(lambda v, k=k: _sample_text(v, k)).tolist())]
                for h, c, k in zip(headers, columns, kinds, strict=True)
            ],
        )
        self._finish(sheet, 1, len(columns), len(frame) + 1)
        sheet.append([self._cell(sheet, h, font=self.bold, fill=self.header_fill) for h in headers])
        formats = [self._format(k) for k in kinds]
        for record in frame.itertuples(index=False, name=None):
            sheet.append(
                [
                    self._cell(sheet, v, fmt) if fmt is not None or isinstance(v, str) else _cell(v)
                    for v, fmt in zip(record, formats, strict=True)
                ]
            )

    def summary(self, context: Mapping[str, Any], f: _Figures) -> None:
        """Write the Summary sheet: title, the headline, then Today / Plan / Change columns."""
        t = context["t"]
        sheet = self.book.create_sheet(t["sheet_summary"])
        has_plan = context["has_plan"]
        header = [t["col_kpi"], t["col_before"]] + (
            [t["col_after"], t["col_change"]] if has_plan else []
        )
        rows: list[list[Any]] = []
        for key, label, kind in KPI_ROWS:
            first, second = _dig(f.before, key), _dig(f.after, key)
            if first is None and second is None:
                continue
            row: list[Any] = [
                text(label, f.lang),
                self._cell(sheet, first, self._format(kind)),
            ]
            if has_plan:
                change: Any = None
                if _is_number(first) and _is_number(second):
                    change = float(second) - float(first)
                    if kind == "rate":
                        change *= 100.0  # percentage points
                change_kind = "pp" if kind == "rate" else kind
                row += [
                    self._cell(sheet, second, self._format(kind)),
                    self._cell(sheet, change, self._format(change_kind)),
                ]
            rows.append(row)
        if has_plan:
            plan_kpis = f.plan_kpis or {}
            costs = context["costs"]
            money = self._format("money")
            rows += [
                [t["kpi_solver_status"], None, str(plan_kpis.get("status", "")), None],
                [t["kpi_gap"], None, self._cell(sheet, plan_kpis.get("gap"), "0.00%"), None],
                [
                    t["kpi_n_sites"],
                    self._cell(sheet, _dig(f.before, "n_sites"), _FORMATS["count"]),
                    self._cell(sheet, plan_kpis.get("n_open"), _FORMATS["count"]),
                    self._cell(
                        sheet,
                        (
                            float(plan_kpis["n_open"]) - float(f.before["n_sites"])
                            if f.before
                            and _is_number(f.before.get("n_sites"))
                            and _is_number(plan_kpis.get("n_open"))
                            else None
                        ),
                        "+#,##0;-#,##0;0",
                    ),
                ],
                [
                    t["summary_new_cost"],
                    None,
                    self._cell(sheet, costs.get("new"), money),
                    None,
                ],
                [t["xlsx_budget"], None, self._cell(sheet, costs.get("budget"), money), None],
                [
                    t["kpi_total_fixed_cost"],
                    None,
                    self._cell(sheet, costs.get("network"), money),
                    None,
                ],
            ]
        lines = [context["title"], context["scenario_name"], *context["headline"]]
        header_row = len(lines) + 2
        self._widths(
            sheet,
            [
                [header[0], *(r[0] for r in rows)],
                *([header[k], "x" * 16] for k in range(1, len(header))),
            ],
        )
        self._finish(sheet, header_row, len(header), header_row + len(rows))
        sheet.append([self._cell(sheet, lines[0], font=self.title_font)])
        for line in lines[1:]:
            sheet.append([self._cell(sheet, line)])
        sheet.append([])
        sheet.append([self._cell(sheet, h, font=self.bold, fill=self.header_fill) for h in header])
        for row in rows:
            sheet.append([self._cell(sheet, v) if isinstance(v, str) else v for v in row])

    def response(self, name: str, rows: Sequence[Mapping[str, Any]], t: Mapping[str, str]) -> None:
        """Write the staffing and response-time sheet (numbers with formats)."""
        sheet = self.book.create_sheet(name)
        header = [t["col_kpi"], t["col_before"], t["col_after"]]
        self._widths(
            sheet,
            [
                [header[0], *(r["label"] for r in rows)],
                [header[1], "x" * 10],
                [header[2], "x" * 10],
            ],
        )
        self._finish(sheet, 1, 3, len(rows) + 1)
        sheet.append([self._cell(sheet, h, font=self.bold, fill=self.header_fill) for h in header])
        for row in rows:
            fmt = _FORMATS[row["kind"]]
            sheet.append(
                [
                    self._cell(sheet, row["label"]),
                    self._cell(sheet, row.get("today_value"), fmt),
                    self._cell(sheet, row.get("plan_value"), fmt),
                ]
            )

    def why_not(self, name: str, rows: Sequence[Mapping[str, Any]], t: Mapping[str, str]) -> None:
        """Write the why-not sheet: one row per left-out candidate, its reasons in one cell."""
        sheet = self.book.create_sheet(name)
        header = [
            t["col_site"],
            t["col_name"],
            t["col_tier"],
            t["col_score"],
            t["col_cost_year"],
            t["col_reasons"],
        ]
        values = [
            [
                r["site"],
                r["name"],
                r["tier"],
                r["score_value"],
                r["cost_value"],
                "\n".join(r["reasons"]),
            ]
            for r in rows
        ]
        widths = [[h, *(v[k] for v in values)] for k, h in enumerate(header)]
        widths[-1] = [header[-1], "x" * 80]
        self._widths(sheet, widths)
        self._finish(sheet, 1, len(header), len(values) + 1)
        sheet.append([self._cell(sheet, h, font=self.bold, fill=self.header_fill) for h in header])
        for v in values:
            sheet.append(
                [
                    self._cell(sheet, v[0]),
                    self._cell(sheet, v[1]),
                    self._cell(sheet, v[2]),
                    self._cell(sheet, v[3], _FORMATS["score"]),
                    self._cell(sheet, v[4], self.money_format),
                    self._cell(sheet, v[5], alignment=self.wrap),
                ]
            )


def _sample_text(value: Any, kind: str | None) -> Any:
    """Return how a value shows in Excel (for column widths)."""
    if not _is_number(value):
        return (
            "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
        )
    if kind == "rate":
        return _fmt_percent(value)
    if kind in ("money", "count"):
        return _fmt_number(value) + "    "
    if kind == "degrees":
        return f"{float(value):.6f}"
    return _fmt_number(value, 1) + ("   " if kind in ("km", "km2", "hours") else "")


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
    if isinstance(value, int | float):
        return value
    return _xlsx_text(value if isinstance(value, str) else str(value))


def _xlsx_text(text: str) -> str:
    r"""Return text a worksheet can hold: control characters XML 1.0 forbids become U+FFFD.

    A hand-edited input or output (a name with ``\x1f`` in it) must not
    crash the workbook; the replacement character shows where one was.
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))


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
