"""Summaries of inputs: what a planner checks before trusting a file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np

from netplan.inputs import weight_statement

__all__ = ["InputSummary", "input_summary"]


@dataclass(frozen=True)
class InputSummary:
    """What :func:`input_summary` reports about one loaded file.

    Attributes
    ----------
    file, kind, format
        Where the points came from and what they are.
    n_rows
        Number of rows (points).
    columns
        Every column of the loaded frame except geometry.
    lon_column, lat_column
        The columns read as coordinates (``"geometry"`` for vector files).
    source_crs
        CRS of the file before reprojection to EPSG:4326.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` in EPSG:4326.
    total_weight
        Sum of ``weight`` (``None`` for sites).
    by_value
        Counts of ``tier`` and ``status`` values (sites) or ``grade`` values.
    n_problems
        Problems found (0: a file with problems raises instead).
    weight_statement
        How the weight was taken (``"weight: 1.0 for every row (no weight
        column)"``, ``"weight: column 'x'"``); ``None`` for sites.
    """

    file: str
    kind: str
    format: str
    n_rows: int
    columns: list[str]
    lon_column: str
    lat_column: str
    source_crs: str
    bbox: tuple[float, float, float, float]
    total_weight: float | None
    by_value: dict[str, dict[str, int]] = field(default_factory=dict)
    n_problems: int = 0
    weight_statement: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready data."""
        return asdict(self)


def input_summary(gdf: gpd.GeoDataFrame) -> InputSummary:
    """Summarise a frame returned by :func:`netplan.io.read_points`.

    Parameters
    ----------
    gdf
        Loaded points or sites (or the plain frame with ``lon``/``lat`` that
        ``read_points(..., geometry=False)`` returns).

    Returns
    -------
    InputSummary
        Rows, columns, detected coordinate columns, CRS, extent, weight and
        value counts.
    """
    source = gdf.attrs.get("netplan_source", {})
    if isinstance(gdf, gpd.GeoDataFrame):
        geometry_columns = [gdf.geometry.name]
        bounds = gdf.total_bounds if len(gdf) else None
    else:  # lon/lat arrays last, in place of the geometry
        geometry_columns = ["lon", "lat"]
        lon, lat = gdf["lon"].to_numpy(dtype=float), gdf["lat"].to_numpy(dtype=float)
        bounds = (lon.min(), lat.min(), lon.max(), lat.max()) if len(gdf) else None
    minx, miny, maxx, maxy = (float(v) for v in bounds) if bounds is not None else (np.nan,) * 4
    by_value: dict[str, dict[str, int]] = {}
    for column in ("tier", "status", "grade", "product"):
        if column in gdf.columns:
            counts = gdf[column].fillna("(none)").astype(str).value_counts().sort_index()
            by_value[column] = {str(k): int(v) for k, v in counts.items()}
    weight = float(gdf["weight"].sum()) if "weight" in gdf.columns else None
    return InputSummary(
        file=str(source.get("file", "")),
        kind=str(source.get("kind", "")),
        format=str(source.get("format", "")),
        n_rows=len(gdf),
        columns=[c for c in gdf.columns if c not in geometry_columns],
        lon_column=str(source.get("lon_column", "")),
        lat_column=str(source.get("lat_column", "")),
        source_crs=str(source.get("source_crs", "")),
        bbox=(minx, miny, maxx, maxy),
        total_weight=weight,
        by_value=by_value,
        weight_statement=weight_statement(gdf),
    )
