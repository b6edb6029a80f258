"""How results show themselves: the figures of the CLI's tables, as rows and as HTML.

One place builds the figures a person reads about a result — the headline of a
coverage run, its by-tier and by-grade tables, the top blind spots, a plan's
status, bound and gap, before and after — as rows of plain strings:

* the command line renders them as rich tables (:mod:`netplan.cli._render`);
* the result classes render them as HTML in Jupyter (their ``_repr_html_``
  calls the ``*_html`` functions here), every string escaped with
  :func:`html.escape`.

The module sits low in the layers (it imports only :mod:`netplan.errors`; the
result classes above it import it) and reads results by duck typing: a
``summary()`` dict, ``blindspots`` and the like. ``result.map()`` and
``result.explore()`` reach the map renderers through :func:`map_of` and
:func:`explore_of`, which import :mod:`netplan.notebook` by name when called
(see ``docs/architecture.md``: the one place a low layer calls up, as a
plug-in, so that ``import netplan`` stays light and the layers stay acyclic).
"""

from __future__ import annotations

import html
import importlib
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "BEFORE_AFTER_COLUMNS",
    "GRADE_COLUMNS",
    "TIER_COLUMNS",
    "before_after_rows",
    "comparison_html",
    "comparison_repr",
    "coverage_headline",
    "coverage_html",
    "coverage_repr",
    "coverage_title",
    "explore_of",
    "frontier_html",
    "frontier_repr",
    "grade_rows",
    "locate_html",
    "locate_repr",
    "map_of",
    "number",
    "percent",
    "plan_html",
    "plan_repr",
    "plan_rows",
    "plan_title",
    "roadmap_html",
    "roadmap_repr",
    "score_html",
    "score_repr",
    "tier_rows",
    "top_blindspot_rows",
    "top_place_rows",
]

#: Columns of the by-tier table.
TIER_COLUMNS = ("tier", "outlets", "covered weight", "weighted rate", "rate by count")
#: Columns of the by-region-grade table.
GRADE_COLUMNS = ("grade", "points", "weight", "weighted rate", "rate by count")
#: Columns of the today-vs-plan table.
BEFORE_AFTER_COLUMNS = ("", "today", "plan")
#: Columns of the top blind-spot zones (``place``: the zone's city and province, when known).
BLINDSPOT_COLUMNS = (
    "zone",
    "place",
    "points",
    "weight",
    "area km²",
    "centre",
    "nearest outlet",
    "km",
)
#: How many blind-spot zones and places a rich display lists.
TOP = 5

# --------------------------------------------------------------------------- numbers


def percent(value: Any, missing: str = "-") -> str:
    """Return a rate as a percentage with one decimal (``missing`` for ``None``/NaN).

    >>> percent(0.12345), percent(None)
    ('12.3%', '-')
    """
    if value is None:
        return missing
    number_ = float(value)
    return missing if not math.isfinite(number_) else f"{100 * number_:.1f}%"


def number(value: Any, digits: int = 1, missing: str = "-") -> str:
    """Return a number with thousands separators (``missing`` for ``None``/NaN).

    >>> number(12345.678, 2), number(None)
    ('12,345.68', '-')
    """
    if value is None:
        return missing
    number_ = float(value)
    return missing if not math.isfinite(number_) else f"{number_:,.{digits}f}"


def _count(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


# --------------------------------------------------------------------------- coverage figures


def coverage_title(summary: Mapping[str, Any]) -> str:
    """Return the title of a coverage summary's headline table."""
    return f"Coverage ({summary.get('scenario', '')}, {summary.get('distance_model', '')})"


def coverage_headline(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the headline figures of a coverage summary as ``(what, value)`` rows.

    The rows of ``netplan coverage``'s first table: demand, weight, outlets,
    weighted coverage, coverage by count, customers, distance percentiles,
    overlap, blind spots, unsupported outlets and warnings.
    """
    unit = "min" if summary.get("unit") == "minutes" else "km"
    rows = [
        ("demand points", _count(summary["n_demand"])),
        ("total weight", number(summary["total_weight"], 2)),
        ("outlets counted", f"{summary['n_sites']:,} (existing + required)"),
        (
            "weighted coverage",
            f"{percent(summary['weighted_coverage_rate'])} "
            f"({number(summary['covered_weight'], 2)} of {number(summary['total_weight'], 2)})",
        ),
        (
            "coverage by count",
            f"{percent(summary['coverage_rate'])} "
            f"({summary['n_covered']:,} of {summary['n_demand']:,})",
        ),
    ]
    customers = summary.get("customers")
    if customers:
        rows.append(
            (
                "customers covered",
                f"{percent(customers['coverage_rate'])} "
                f"({customers['n_covered']:,} of {customers['n_demand']:,})",
            )
        )
    distance = summary["distance_km"]
    rows.append(
        (
            f"nearest outlet ({unit})",
            f"mean {number(distance['mean'])}, p50 {number(distance['p50'])}, "
            f"p90 {number(distance['p90'])}, p95 {number(distance['p95'])}, "
            f"max {number(distance['max'])}",
        )
    )
    rows.append(("overlap (covered weight reached by 2+)", percent(summary["overlap_rate"])))
    rows.append(
        (
            "blind spots",
            f"{summary['n_blindspots']:,} zones, weight {number(summary['blindspot_weight'], 2)}",
        )
    )
    for tier, chain in summary.get("support_chain", {}).items():
        if chain["n_unsupported"]:
            rows.append(
                (
                    f"unsupported {tier}",
                    f"{chain['n_unsupported']} of {chain['n_sites']} farther than "
                    f"{chain['support_radius_km']:g} km from every {chain['parent']}",
                )
            )
    rows.extend(("warning", str(warning)) for warning in summary.get("warnings", []))
    return rows


def tier_rows(summary: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Return the by-tier rows of a coverage summary (columns :data:`TIER_COLUMNS`)."""
    return [
        (
            str(row.get("label", name)),
            f"{row['n_sites']:,}",
            number(row["covered_weight"], 2),
            percent(row["weighted_coverage_rate"]),
            percent(row["coverage_rate"]),
        )
        for name, row in summary.get("by_tier", {}).items()
    ]


def grade_rows(summary: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Return the by-region-grade rows of a coverage summary (columns :data:`GRADE_COLUMNS`)."""
    return [
        (
            str(name),
            f"{row['n_demand']:,}",
            number(row["weight"], 2),
            percent(row["weighted_coverage_rate"]),
            percent(row["coverage_rate"]),
        )
        for name, row in (summary.get("by_grade") or {}).items()
    ]


def top_blindspot_rows(zones: Any, top: int = TOP) -> list[tuple[str, ...]]:
    """Return the ``top`` heaviest blind-spot zones (columns :data:`BLINDSPOT_COLUMNS`)."""
    if zones is None or not len(zones):
        return []
    heaviest = zones.sort_values("weight", ascending=False, kind="mergesort").head(top)
    rows: list[tuple[str, ...]] = []
    for row in heaviest.to_dict(orient="records"):
        nearest = row.get("nearest_site")
        lon, lat = row.get("centroid_lon"), row.get("centroid_lat")
        place = ", ".join(
            str(row[key])
            for key in ("city", "province")
            if row.get(key) is not None and row.get(key) == row.get(key) and str(row[key])
        )
        rows.append(
            (
                str(row.get("zone_id", "")),
                place,
                _count(row.get("n_points")),
                number(row.get("weight")),
                number(row.get("area_km2")),
                "" if lon is None or lat is None else f"{float(lat):.3f}, {float(lon):.3f}",
                "" if nearest is None or nearest != nearest else str(nearest),
                number(row.get("distance_km")),
            )
        )
    return rows


def top_place_rows(summary: Mapping[str, Any], top: int = TOP) -> tuple[str, list[tuple[str, ...]]]:
    """Return the places with the most uncovered weight: ``(level, rows)``.

    The level is the first of ``province``, ``city``, ``district``, ``region``
    the summary's ``by_region`` holds (``""`` and no rows when it holds none);
    each row is ``place, points, uncovered weight, weighted rate``.
    """
    by_region = summary.get("by_region") or {}
    for level in ("province", "city", "district", "region"):
        places = by_region.get(level)
        if not places:
            continue
        uncovered = sorted(
            (
                (float(row["weight"]) - float(row["covered_weight"]), str(name), row)
                for name, row in places.items()
            ),
            key=lambda item: (-item[0], item[1]),
        )
        rows: list[tuple[str, ...]] = [
            (name, _count(row["n_demand"]), number(gap), percent(row["weighted_coverage_rate"]))
            for gap, name, row in uncovered[:top]
            if gap > 0
        ]
        return level, rows
    return "", []


# --------------------------------------------------------------------------- plan figures


def plan_title(summary: Mapping[str, Any]) -> str:
    """Return the title of a plan summary's table."""
    return f"Plan ({summary.get('model', '')})"


def plan_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the solve figures of a plan summary (status, objective, bound, gap, sites)."""
    gap = summary.get("gap")
    rows = [
        ("status", str(summary.get("status", ""))),
        ("objective", number(summary.get("objective"), 2, "—")),
        ("best bound", number(summary.get("best_bound"), 2, "—")),
        ("gap", "—" if gap is None else f"{100 * gap:.3f}%"),
        (
            "build / solve",
            f"{summary.get('build_seconds') or 0:.2f} s / "
            f"{summary.get('solve_seconds') or 0:.2f} s ({summary.get('solver', '')})",
        ),
        (
            "open by tier",
            ", ".join(f"{k}: {v}" for k, v in (summary.get("n_open_by_tier") or {}).items())
            or "none",
        ),
        (
            "decisions",
            ", ".join(f"{k}: {v}" for k, v in (summary.get("n_by_decision") or {}).items()),
        ),
        ("total fixed cost", number(summary.get("total_fixed_cost"), 0)),
        ("net cost change", number(summary.get("net_cost_change"), 0)),
    ]
    details = summary.get("details") or {}
    if "aggregation" in details:
        rows.append(
            (
                "aggregation",
                f"{details['aggregation']}: {details['aggregation_n_points']:,} points → "
                f"{details['aggregation_n_cells']:,} cells, max displacement "
                f"{details['aggregation_max_displacement_km']:.2f} km; coverage on cells "
                f"{100 * (details.get('aggregated_weighted_coverage_rate') or 0):.2f}%, "
                "on raw points below",
            )
        )
    return rows


def before_after_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Return today-vs-plan key figures of a plan summary (columns :data:`BEFORE_AFTER_COLUMNS`)."""
    before, after = summary.get("before") or {}, summary.get("after") or {}

    def rate(value: Any) -> str:
        return percent(value, "—")

    def whole(value: Any) -> str:
        return number(value, 0, "—")

    before_km, after_km = before.get("distance_km") or {}, after.get("distance_km") or {}
    return [
        (
            "weighted coverage",
            rate(before.get("weighted_coverage_rate")),
            rate(after.get("weighted_coverage_rate")),
        ),
        ("coverage (count)", rate(before.get("coverage_rate")), rate(after.get("coverage_rate"))),
        ("covered weight", whole(before.get("covered_weight")), whole(after.get("covered_weight"))),
        ("outlets", whole(before.get("n_sites")), whole(after.get("n_sites"))),
        ("median km to outlet", whole(before_km.get("p50")), whole(after_km.get("p50"))),
        ("p90 km to outlet", whole(before_km.get("p90")), whole(after_km.get("p90"))),
    ]


# --------------------------------------------------------------------------- HTML

#: Styles of the rich displays (scoped to ``.netplan``; no script, no external asset).
_STYLE = (
    "<style>"
    ".netplan{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px}"
    ".netplan h4{margin:.4em 0 .2em;font-size:14px}"
    ".netplan table{border-collapse:collapse;margin:0 1.5em .6em 0;display:inline-table;"
    "vertical-align:top}"
    ".netplan caption{text-align:left;font-weight:600;padding:.2em 0}"
    ".netplan th,.netplan td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
    ".netplan th:first-child,.netplan td:first-child{text-align:left}"
    ".netplan .np-kv td:first-child{font-weight:600}"
    ".netplan .np-note{color:#666;margin:.2em 0}"
    ".netplan .np-bad{color:#b00020}"
    "</style>"
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _kv_table(rows: Iterable[tuple[str, str]], caption: str = "") -> str:
    cells = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    head = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<table class="np-kv">{head}<tbody>{cells}</tbody></table>'


def _table(columns: Sequence[str], rows: Iterable[Sequence[str]], caption: str = "") -> str:
    rows = list(rows)
    if not rows:
        return ""
    head = f"<caption>{_e(caption)}</caption>" if caption else ""
    header = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _box(title: str, *parts: str, note: str = "") -> str:
    footer = f'<p class="np-note">{_e(note)}</p>' if note else ""
    return f'<div class="netplan">{_STYLE}<h4>{_e(title)}</h4>{"".join(parts)}{footer}</div>'


def _coverage_parts(summary: Mapping[str, Any], zones: Any) -> list[str]:
    parts = [_kv_table(coverage_headline(summary))]
    parts.append(_table(TIER_COLUMNS, tier_rows(summary), "By tier"))
    parts.append(_table(GRADE_COLUMNS, grade_rows(summary), "By region grade"))
    parts.append(
        _table(BLINDSPOT_COLUMNS, top_blindspot_rows(zones), f"Top {TOP} blind spots (weight)")
    )
    level, places = top_place_rows(summary)
    parts.append(
        _table(
            (level, "points", "uncovered weight", "weighted rate"),
            places,
            f"Most uncovered demand by {level}",
        )
    )
    return parts


def coverage_html(result: Any) -> str:
    """Return the rich display of a coverage result (``summary()`` and ``blindspots``)."""
    summary = result.summary()
    if "n_demand" not in summary:  # tables without figures (built by hand)
        return _box(coverage_repr(result))
    return _box(
        coverage_title(summary),
        *_coverage_parts(summary, getattr(result, "blindspots", None)),
        note=".map() draws it; .points, .blindspots and .summary() hold every figure.",
    )


def coverage_repr(result: Any) -> str:
    """Return a one-line ``repr`` of a coverage result."""
    kpis = getattr(result, "kpis", {}) or {}
    name = type(result).__name__
    if not kpis:
        return f"{name}(points={len(result.points):,})"
    return (
        f"{name}(scenario={kpis.get('scenario', '')!r}, points={kpis.get('n_demand', 0):,}, "
        f"weighted_coverage={percent(kpis.get('weighted_coverage_rate'))}, "
        f"blindspots={kpis.get('n_blindspots', 0):,})"
    )


def plan_html(plan: Any) -> str:
    """Return the rich display of a plan (its ``summary()``, ``coverage`` when it has one)."""
    summary = plan.summary()
    parts = [
        _kv_table(plan_rows(summary)),
        _table(BEFORE_AFTER_COLUMNS, before_after_rows(summary), "Before and after"),
    ]
    coverage = getattr(plan, "coverage", None)
    if coverage is not None:
        parts.append(
            _table(
                BLINDSPOT_COLUMNS,
                top_blindspot_rows(coverage.blindspots),
                f"Top {TOP} blind spots left (weight)",
            )
        )
        parts.append(_table(TIER_COLUMNS, tier_rows(coverage.summary()), "Plan by tier"))
    return _box(
        plan_title(summary),
        *parts,
        note=".map() draws it; .sites, .assignment, .coverage and .summary() hold the rest.",
    )


def plan_repr(plan: Any) -> str:
    """Return a one-line ``repr`` of a plan (a ``Plan`` or a plan folder read back)."""
    summary = plan.summary()
    before, after = summary.get("before") or {}, summary.get("after") or {}
    gap = summary.get("gap")
    return (
        f"{type(plan).__name__}(model={summary.get('model', '')!r}, "
        f"status={summary.get('status', '')!r}, "
        f"gap={'-' if gap is None else f'{100 * gap:.3f}%'}, "
        f"open={summary.get('n_open', 0):,}, "
        f"weighted_coverage={percent(before.get('weighted_coverage_rate'))} -> "
        f"{percent(after.get('weighted_coverage_rate'))})"
    )


def _solve_rows(result: Any) -> list[tuple[str, str]]:
    gap = result.gap
    return [
        ("status", str(result.status)),
        ("objective", number(result.objective, 2, "—")),
        ("best bound", number(result.best_bound, 2, "—")),
        ("gap", "—" if gap is None else f"{100 * gap:.3f}%"),
        ("build / solve", f"{result.build_seconds:.2f} s / {result.solve_seconds:.2f} s"),
    ]


def locate_html(result: Any) -> str:
    """Return the rich display of a model's answer on a matrix (``LocateResult``)."""
    rows = [
        *_solve_rows(result),
        ("solver", str(result.solver)),
        ("open sites", f"{int(result.open_sites.sum()):,} of {len(result.open_sites):,}"),
        (
            "demand served",
            f"{int((result.assigned_site >= 0).sum()):,} of {len(result.assigned_site):,}",
        ),
    ]
    return _box(f"Model ({result.model})", _kv_table(rows))


def locate_repr(result: Any) -> str:
    """Return a one-line ``repr`` of a ``LocateResult``."""
    gap = result.gap
    return (
        f"LocateResult(model={result.model!r}, status={result.status!r}, "
        f"objective={number(result.objective, 2)}, "
        f"gap={'-' if gap is None else f'{100 * gap:.3f}%'}, "
        f"open={int(result.open_sites.sum()):,})"
    )


def frontier_html(frontier: Any, svg: str = "") -> str:
    """Return the rich display of a trade-off curve (``svg``: its chart, already safe SVG)."""
    table = frontier.table
    limit = "budget" if frontier.by == "budget" else "sites"
    rows = [
        (
            number(row.get("limit"), 0),
            str(row.get("status", "")),
            percent(row.get("weighted_coverage_rate")),
            number(row.get("net_cost"), 0),
            _count(row.get("n_open")),
            "—" if row.get("gap") is None else percent(row.get("gap"), "—"),
        )
        for row in table.to_dict(orient="records")
    ]
    columns = (limit, "status", "weighted coverage", "net cost", "open", "gap")
    tier = f", tier {frontier.tier}" if frontier.tier else ""
    chart = f"<div>{svg}</div>" if svg else ""
    return _box(f"Trade-off by {frontier.by}{tier}", chart, _table(columns, rows))


def frontier_repr(frontier: Any) -> str:
    """Return a one-line ``repr`` of a trade-off curve."""
    rates = frontier.table.get("weighted_coverage_rate")
    span = ""
    if rates is not None and len(rates.dropna()):
        span = f", weighted_coverage={percent(rates.min())}..{percent(rates.max())}"
    return (
        f"Frontier(by={frontier.by!r}, tier={frontier.tier!r}, steps={len(frontier.table)}{span})"
    )


def score_html(result: Any) -> str:
    """Return the rich display of site scores: weights and the best sites of each tier."""
    weights = [
        (name, f"{result.weights[name]:.3f}", result.directions.get(name, ""))
        for name in result.factors
    ]
    scores = result.scores
    parts = [_table(("factor", "weight", "direction"), weights, "Factors")]
    for tier, group in scores.groupby("tier", sort=False):
        rows = [
            (
                _count(row.get("rank")),
                str(row.get("site_id", "")),
                ""
                if row.get("name") is None or row.get("name") != row.get("name")
                else str(row.get("name")),
                number(row.get("total_score"), 3),
                str(row.get("reasons_en", "")),
            )
            for row in group.head(TOP).to_dict(orient="records")
        ]
        parts.append(_table(("rank", "site", "name", "score", "why"), rows, f"Best {TOP}: {tier}"))
    title = f"Site scores ({result.scenario_name}): {len(scores):,} sites"
    return _box(title, *parts, note=".scores holds every factor value and score.")


def score_repr(result: Any) -> str:
    """Return a one-line ``repr`` of site scores."""
    return (
        f"ScoreResult(scenario={result.scenario_name!r}, scored={len(result.scores):,}, "
        f"factors={list(result.factors)!r})"
    )


def comparison_html(comparison: Any) -> str:
    """Return the rich display of a comparison of two outputs (A → B)."""
    rows = [
        (
            key,
            _comparison_value(key, value.get("a")),
            _comparison_value(key, value.get("b")),
            _comparison_value(key, value.get("delta")),
        )
        for key, value in comparison.kpis.items()
    ]
    sites = [
        (
            tier,
            _comparison_value("n", value.get("a")),
            _comparison_value("n", value.get("b")),
            ", ".join(map(str, value.get("added", [])[:20])),
            ", ".join(map(str, value.get("removed", [])[:20])),
        )
        for tier, value in comparison.sites_by_tier.items()
    ]
    note = (
        f"newly covered: {len(comparison.newly_covered):,} points "
        f"(weight {number(comparison.newly_covered_weight)}); newly uncovered: "
        f"{len(comparison.newly_uncovered):,} (weight {number(comparison.newly_uncovered_weight)})"
    )
    return _box(
        f"Comparison: {comparison.a} → {comparison.b}",
        _table(("figure", "A", "B", "B − A"), rows),
        _table(("tier", "A", "B", "added", "removed"), sites, "Sites by tier"),
        note=note,
    )


def _comparison_value(key: str, value: Any) -> str:
    if value is None or isinstance(value, (list, dict)):
        return "—" if value is None else str(len(value))
    if "rate" in key:
        return percent(value, "—")
    return number(value, 0 if float(value).is_integer() else 2, "—")


def comparison_repr(comparison: Any) -> str:
    """Return a one-line ``repr`` of a comparison."""
    return (
        f"Comparison(a={comparison.a!r}, b={comparison.b!r}, "
        f"newly_covered={len(comparison.newly_covered):,}, "
        f"newly_uncovered={len(comparison.newly_uncovered):,})"
    )


def roadmap_html(roadmap: Any) -> str:
    """Return the rich display of a roadmap: the solve record and each year's coverage."""
    rows = [
        (
            _count(row.get("year")),
            _count(row.get("new_sites")),
            _count(row.get("sites_open")),
            number(row.get("spend"), 0),
            percent(row.get("weighted_coverage_rate")),
            _count(row.get("n_blindspots")),
        )
        for row in roadmap.by_year.to_dict(orient="records")
    ]
    return _box(
        f"Roadmap ({roadmap.options.years} years)",
        _kv_table(_solve_rows(roadmap)),
        _table(
            ("year", "opened", "open", "spend", "weighted coverage", "blind spots"), rows, "By year"
        ),
    )


def roadmap_repr(roadmap: Any) -> str:
    """Return a one-line ``repr`` of a roadmap."""
    gap = roadmap.gap
    return (
        f"Roadmap(years={roadmap.options.years}, status={roadmap.status!r}, "
        f"gap={'-' if gap is None else f'{100 * gap:.3f}%'})"
    )


# --------------------------------------------------------------------------- maps (plug-in)

#: The module that draws results (imported by name on first ``.map()``/``.explore()``).
MAP_PLUGIN = "netplan.notebook"


def map_of(result: Any, **options: Any) -> Any:
    """Return the folium map of ``result`` (see :func:`netplan.notebook.result_map`)."""
    return importlib.import_module(MAP_PLUGIN).result_map(result, **options)


def explore_of(result: Any, **options: Any) -> Any:
    """Return the GPU map of ``result``'s points (see :func:`netplan.notebook.explore`)."""
    return importlib.import_module(MAP_PLUGIN).explore(result, **options)
