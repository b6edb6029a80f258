"""Rich tables for the terminal (presentation only; no logic)."""

from __future__ import annotations

from rich.table import Table

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
    if summary.total_weight is not None:
        table.add_row("total weight", f"{summary.total_weight:,.2f}")
    for column, counts in summary.by_value.items():
        table.add_row(column, ", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    table.add_row("columns", ", ".join(summary.columns))
    table.add_row("problems", str(summary.n_problems))
    return table
