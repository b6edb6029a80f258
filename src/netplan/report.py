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

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netplan.errors import InputError, Problem

__all__ = [
    "CoverageOutputs",
    "PlanOutputs",
    "read_coverage_outputs",
    "read_plan_outputs",
    "read_scores",
]

_ID_COLUMNS = (
    "id",
    "site_id",
    "demand_id",
    "nearest_site",
    "covering_site",
    "zone_id",
    "tier",
    "nearest_tier",
    "status_before",
    "decision",
    "grade",
)


def _missing(path: Path, what: str, hint: str) -> InputError:
    return InputError([Problem(str(path), None, None, f"{what} not found; {hint}")])


def _read_json(path: Path, hint: str) -> dict[str, Any]:
    if not path.is_file():
        raise _missing(path, "summary file", hint)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(str(path), None, None, f"not readable JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), None, None, "expected a JSON object")])
    return data


def _read_table(path: Path) -> pd.DataFrame:
    """Read a CSV/Parquet/GeoJSON/GPKG table written by netplan, ids as text, lon/lat columns."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            header = pd.read_csv(path, nrows=0).columns
            dtypes = {c: str for c in header if c in _ID_COLUMNS}
            frame = pd.read_csv(path, dtype=dtypes, keep_default_na=True)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = gpd.read_file(path)
    except Exception as exc:  # readers raise many error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError([Problem(str(path), None, None, f"cannot read: {first}")]) from None
    if "geometry" in frame.columns:
        geometry = gpd.GeoSeries(frame["geometry"])
        if geometry.notna().all() and (geometry.geom_type == "Point").all():
            frame["lon"] = shapely.get_x(np.asarray(geometry.values))
            frame["lat"] = shapely.get_y(np.asarray(geometry.values))
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    for column in _ID_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
            frame[column] = frame[column].map(lambda v: v if v is None else str(v))
    return frame


@dataclass
class CoverageOutputs:
    """A coverage folder read back (the shape of :class:`netplan.coverage.CoverageResult`).

    Attributes
    ----------
    points
        One row per demand point: ``id, lon, lat, weight, nearest_site,
        nearest_tier, distance_km, covered, covering_site, n_covering``.
    blindspots
        Zones with polygons (``zone_id, n_points, weight, area_km2, ...``).
    kpis
        The folder's ``summary.json``.
    source
        The folder.
    """

    points: pd.DataFrame
    blindspots: gpd.GeoDataFrame
    kpis: dict[str, Any]
    source: str = ""

    def summary(self) -> dict[str, Any]:
        """Return the coverage KPIs (``summary.json``)."""
        return dict(self.kpis)


@dataclass
class PlanOutputs:
    """A plan folder read back.

    Attributes
    ----------
    sites
        ``plan.csv``: ``id, tier, status_before, decision, fixed_cost,
        assigned_weight, capacity, utilisation`` (+ coordinates when given).
    assignment
        ``assignment.csv`` (``demand_id, site_id, distance``), or ``None``.
    kpis
        ``summary.json`` with ``before`` and ``after``.
    frontier
        ``frontier.csv`` (trade-off curve), or ``None``.
    source
        The folder.
    """

    sites: pd.DataFrame
    assignment: pd.DataFrame | None
    kpis: dict[str, Any]
    frontier: pd.DataFrame | None = None
    source: str = ""

    def summary(self) -> dict[str, Any]:
        """Return the plan's summary (``summary.json``)."""
        return dict(self.kpis)


def read_coverage_outputs(folder: str | Path) -> CoverageOutputs:
    """Read the folder written by ``netplan coverage`` (or ``CoverageResult.to_files``).

    Parameters
    ----------
    folder
        The ``--out`` folder: ``coverage.<csv|parquet|geojson|gpkg>``,
        ``blindspots.geojson``, ``summary.json``.

    Raises
    ------
    InputError
        A file is missing or unreadable (the message names it).
    """
    folder = Path(folder)
    hint = "pass the --out folder of `netplan coverage`"
    if not folder.is_dir():
        raise _missing(folder, "coverage folder", hint)
    kpis = _read_json(folder / "summary.json", hint)
    found = [folder / f"coverage.{fmt}" for fmt in ("csv", "parquet", "geojson", "gpkg")]
    found = [p for p in found if p.is_file()]
    if not found:
        raise _missing(folder / "coverage.csv", "per-point coverage file", hint)
    points = _read_table(found[0])
    zones_path = folder / "blindspots.geojson"
    if zones_path.is_file():
        text = zones_path.read_text(encoding="utf-8")
        data = json.loads(text)
        if data.get("features"):
            zones = gpd.read_file(zones_path)
            for column in ("zone_id", "nearest_site"):
                if column in zones.columns:
                    zones[column] = zones[column].map(lambda v: None if v is None else str(v))
        else:
            zones = gpd.GeoDataFrame({"zone_id": []}, geometry=[], crs=4326)
    else:
        zones = gpd.GeoDataFrame({"zone_id": []}, geometry=[], crs=4326)
    return CoverageOutputs(points=points, blindspots=zones, kpis=kpis, source=str(folder))


def read_plan_outputs(folder: str | Path) -> PlanOutputs:
    """Read the folder written by ``netplan optimize`` (``plan.csv``, ``summary.json``, ...).

    Raises
    ------
    InputError
        ``plan.csv`` or ``summary.json`` is missing or unreadable, or
        ``plan.csv`` lacks ``id`` or ``decision``.
    """
    folder = Path(folder)
    hint = "pass the --out folder of `netplan optimize`"
    if not folder.is_dir():
        raise _missing(folder, "plan folder", hint)
    kpis = _read_json(folder / "summary.json", hint)
    plan_path = folder / "plan.csv"
    if not plan_path.is_file():
        raise _missing(plan_path, "plan table", hint)
    sites = _read_table(plan_path)
    missing = [c for c in ("id", "decision") if c not in sites.columns]
    if missing:
        msg = f"columns {', '.join(missing)} missing; expected the plan.csv of `netplan optimize`"
        raise InputError([Problem(str(plan_path), 1, None, msg)])
    assignment_path = folder / "assignment.csv"
    assignment = _read_table(assignment_path) if assignment_path.is_file() else None
    frontier_path = folder / "frontier.csv"
    frontier = _read_table(frontier_path) if frontier_path.is_file() else None
    return PlanOutputs(
        sites=sites, assignment=assignment, kpis=kpis, frontier=frontier, source=str(folder)
    )


def read_scores(folder: str | Path) -> pd.DataFrame:
    """Read ``scores.csv`` from the folder written by ``netplan score``.

    Raises
    ------
    InputError
        The file is missing or lacks ``site_id`` / ``total_score``.
    """
    path = Path(folder)
    if path.is_dir():
        path = path / "scores.csv"
    if not path.is_file():
        raise _missing(path, "scores table", "pass the --out folder of `netplan score`")
    frame = _read_table(path)
    missing = [c for c in ("site_id", "tier", "total_score", "rank") if c not in frame.columns]
    if missing:
        msg = f"columns {', '.join(missing)} missing; expected the scores.csv of `netplan score`"
        raise InputError([Problem(str(path), 1, None, msg)])
    return frame
