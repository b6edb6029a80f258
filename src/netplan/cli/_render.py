"""Rich tables for the terminal (presentation only; no logic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from netplan.summary import InputSummary


def input_summary_table(summary: InputSummary) -> Table:
    """Return a two-column table of an :class:`InputSummary`."""
    table = Table(title=f"{summary.file} ({summary.kind})", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("rows", f"{summary.n_rows:,}")
    table.add_row("format", summary.format)
    table.add_row("coordinates", f"lon: {summary.lon_column}, lat: {summary.lat_column}")
    table.add_row("source CRS", f"{summary.source_crs} (read as EPSG:4326)")
    minx, miny, maxx, maxy = summary.bbox
    table.add_row("bounding box", f"lon {minx:.4f} .. {maxx:.4f}, lat {miny:.4f} .. {maxy:.4f}")
    if summary.weight_statement is not None:
        table.add_row("weight", Text(summary.weight_statement))
    if summary.total_weight is not None:
        table.add_row("total weight", f"{summary.total_weight:,.2f}")
    for column, counts in summary.by_value.items():
        table.add_row(column, ", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    table.add_row("columns", ", ".join(summary.columns))
    table.add_row("problems", str(summary.n_problems))
    return table


def inputs_text(*frames: Any) -> Text:
    """Return one line per input file read: kind, rows, how the weight was taken, the CRS.

    ``frames`` are frames returned by :func:`netplan.io.read_points` (``None``
    is skipped). The weight part says "weight: 1.0 for every row (no weight
    column)" when no column gave the weight; coordinates are always used as
    WGS84 (EPSG:4326), converted from the file's CRS when it differs.
    """
    from netplan.inputs import weight_statement

    lines = ["inputs:"]
    for frame in frames:
        if frame is None:
            continue
        source = frame.attrs.get("netplan_source", {})
        parts = [f"{len(frame):,} row{'s' if len(frame) != 1 else ''}"]
        statement = weight_statement(frame)
        if statement is not None:
            parts.append(statement)
        crs = str(source.get("source_crs") or "EPSG:4326")
        parts.append(
            "coordinates: WGS84 (EPSG:4326)"
            if crs == "EPSG:4326"
            else f"coordinates: {crs}"
            if "converted" in crs
            else f"coordinates: {crs}, converted to WGS84 (EPSG:4326)"
        )
        lines.append(f"  {source.get('kind', '')} {source.get('file', '')}: {'; '.join(parts)}")
    return Text("\n".join(lines))


def explanation_text(explanation: list[Mapping[str, Any]]) -> Text:
    """Return the lines of a plan's ``explanation``: why it opens nothing or spends little."""
    lines = ["why this plan:"]
    lines += [f"  - {entry.get('text', '')}" for entry in explanation]
    return Text("\n".join(lines))


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):,.{digits}f}"


def coverage_summary_tables(summary: Mapping[str, Any]) -> list[Table]:
    """Return the terminal tables of a coverage summary (headline, by tier, by grade)."""
    unit = "min" if summary.get("unit") == "minutes" else "km"
    head = Table(
        title=Text(
            f"Coverage ({summary.get('scenario', '')}, {summary.get('distance_model', '')})"
        ),
        show_header=False,
        title_justify="left",
    )
    head.add_column("what", style="bold")
    head.add_column("value", overflow="fold")
    head.add_row("demand points", f"{summary['n_demand']:,}")
    head.add_row("total weight", _number(summary["total_weight"], 2))
    head.add_row("outlets counted", f"{summary['n_sites']:,} (existing + required)")
    head.add_row(
        "weighted coverage",
        f"{_percent(summary['weighted_coverage_rate'])} "
        f"({_number(summary['covered_weight'], 2)} of {_number(summary['total_weight'], 2)})",
    )
    head.add_row(
        "coverage by count",
        f"{_percent(summary['coverage_rate'])} "
        f"({summary['n_covered']:,} of {summary['n_demand']:,})",
    )
    customers = summary.get("customers")
    if customers:
        head.add_row(
            "customers covered",
            f"{_percent(customers['coverage_rate'])} "
            f"({customers['n_covered']:,} of {customers['n_demand']:,})",
        )
    distance = summary["distance_km"]
    head.add_row(
        f"nearest outlet ({unit})",
        f"mean {_number(distance['mean'])}, p50 {_number(distance['p50'])}, "
        f"p90 {_number(distance['p90'])}, p95 {_number(distance['p95'])}, "
        f"max {_number(distance['max'])}",
    )
    head.add_row("overlap (covered weight reached by 2+)", _percent(summary["overlap_rate"]))
    head.add_row(
        "blind spots",
        f"{summary['n_blindspots']:,} zones, weight {_number(summary['blindspot_weight'], 2)}",
    )
    for tier, chain in summary.get("support_chain", {}).items():
        if chain["n_unsupported"]:
            head.add_row(
                Text(f"unsupported {tier}"),
                Text(
                    f"{chain['n_unsupported']} of {chain['n_sites']} farther than "
                    f"{chain['support_radius_km']:g} km from every {chain['parent']}"
                ),
            )
    for warning in summary.get("warnings", []):
        head.add_row("warning", Text(str(warning)))
    tables = [head]

    tiers = Table(title="By tier", title_justify="left")
    for column in ("tier", "outlets", "covered weight", "weighted rate", "rate by count"):
        tiers.add_column(column, justify="left" if column == "tier" else "right")
    for name, row in summary.get("by_tier", {}).items():
        tiers.add_row(
            Text(str(row.get("label", name))),
            f"{row['n_sites']:,}",
            _number(row["covered_weight"], 2),
            _percent(row["weighted_coverage_rate"]),
            _percent(row["coverage_rate"]),
        )
    tables.append(tiers)
    if summary.get("by_grade"):
        grades = Table(title="By region grade", title_justify="left")
        for column in ("grade", "points", "weight", "weighted rate", "rate by count"):
            grades.add_column(column, justify="left" if column == "grade" else "right")
        for name, row in summary["by_grade"].items():
            grades.add_row(
                Text(str(name)),
                f"{row['n_demand']:,}",
                _number(row["weight"], 2),
                _percent(row["weighted_coverage_rate"]),
                _percent(row["coverage_rate"]),
            )
        tables.append(grades)
    return tables


def before_after_table(summary: dict[str, Any]) -> Table:
    """Return today-vs-plan key figures of a plan summary."""
    table = Table(title="Before and after", title_justify="left")
    table.add_column("")
    table.add_column("today", justify="right")
    table.add_column("plan", justify="right")
    before, after = summary.get("before", {}), summary.get("after", {})

    def percent(value: Any) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    def number(value: Any) -> str:
        return "—" if value is None else f"{value:,.0f}"

    table.add_row(
        "weighted coverage",
        percent(before.get("weighted_coverage_rate")),
        percent(after.get("weighted_coverage_rate")),
    )
    table.add_row(
        "coverage (count)",
        percent(before.get("coverage_rate")),
        percent(after.get("coverage_rate")),
    )
    table.add_row(
        "covered weight", number(before.get("covered_weight")), number(after.get("covered_weight"))
    )
    table.add_row("outlets", number(before.get("n_sites")), number(after.get("n_sites")))
    before_km, after_km = before.get("distance_km") or {}, after.get("distance_km") or {}
    table.add_row("median km to outlet", number(before_km.get("p50")), number(after_km.get("p50")))
    table.add_row("p90 km to outlet", number(before_km.get("p90")), number(after_km.get("p90")))
    return table


def plan_table(summary: dict[str, Any]) -> Table:
    """Return the solve figures of a plan summary (status, objective, bound, gap, sites)."""
    table = Table(title=f"Plan ({summary['model']})", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    gap = summary.get("gap")
    table.add_row("status", str(summary["status"]))
    table.add_row(
        "objective", "—" if summary.get("objective") is None else f"{summary['objective']:,.2f}"
    )
    table.add_row(
        "best bound", "—" if summary.get("best_bound") is None else f"{summary['best_bound']:,.2f}"
    )
    table.add_row("gap", "—" if gap is None else f"{100 * gap:.3f}%")
    table.add_row(
        "build / solve",
        f"{summary['build_seconds']:.2f} s / {summary['solve_seconds']:.2f} s "
        f"({summary.get('solver', '')})",
    )
    table.add_row(
        "open by tier",
        ", ".join(f"{k}: {v}" for k, v in summary["n_open_by_tier"].items()) or "none",
    )
    table.add_row("decisions", ", ".join(f"{k}: {v}" for k, v in summary["n_by_decision"].items()))
    table.add_row("total fixed cost", f"{summary['total_fixed_cost']:,.0f}")
    table.add_row("net cost change", f"{summary['net_cost_change']:,.0f}")
    details = summary.get("details", {})
    if "aggregation" in details:
        table.add_row(
            "aggregation",
            f"{details['aggregation']}: {details['aggregation_n_points']:,} points → "
            f"{details['aggregation_n_cells']:,} cells, max displacement "
            f"{details['aggregation_max_displacement_km']:.2f} km; coverage on cells "
            f"{100 * (details.get('aggregated_weighted_coverage_rate') or 0):.2f}%, "
            "on raw points below",
        )
    return table


#: Files `netplan optimize` / `netplan frontier` write into --out (an earlier run's are replaced).
