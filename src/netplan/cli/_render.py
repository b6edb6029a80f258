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


def _kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=Text(title), show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for what, value in rows:
        table.add_row(Text(what), Text(value))
    return table


def _columns_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def coverage_summary_tables(summary: Mapping[str, Any]) -> list[Table]:
    """Return the terminal tables of a coverage summary (headline, by tier, by grade).

    The figures come from :mod:`netplan.display`, as in a notebook's rich display.
    """
    from netplan import display

    tables = [_kv_table(display.coverage_title(summary), display.coverage_headline(summary))]
    tables.append(_columns_table("By tier", display.TIER_COLUMNS, display.tier_rows(summary)))
    if summary.get("by_grade"):
        tables.append(
            _columns_table("By region grade", display.GRADE_COLUMNS, display.grade_rows(summary))
        )
    return tables


def before_after_table(summary: dict[str, Any]) -> Table:
    """Return today-vs-plan key figures of a plan summary."""
    from netplan import display

    table = Table(title="Before and after", title_justify="left")
    table.add_column("")
    table.add_column("today", justify="right")
    table.add_column("plan", justify="right")
    for row in display.before_after_rows(summary):
        table.add_row(*(Text(cell) for cell in row))
    return table


def plan_table(summary: dict[str, Any]) -> Table:
    """Return the solve figures of a plan summary (status, objective, bound, gap, sites)."""
    from netplan import display

    return _kv_table(display.plan_title(summary), display.plan_rows(summary))


#: Files `netplan optimize` / `netplan frontier` write into --out (an earlier run's are replaced).
