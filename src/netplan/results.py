"""Result types shared by the computing modules and the renderers, and their files.

Coverage (:mod:`netplan.coverage`, :mod:`netplan.scale`) and site selection
(:mod:`netplan.locate`) compute results; maps and reports
(:mod:`netplan.maps`, :mod:`netplan.report`) only draw them. What they share
lives here, below both:

* :class:`CoverageTables`: per-point coverage, blind-spot zones and KPIs, with
  the one writer (:meth:`CoverageTables.to_files`) and reader
  (:meth:`CoverageTables.from_files`) of a coverage folder. It is the base of
  :class:`netplan.coverage.CoverageResult` and
  :class:`netplan.scale.LargeCoverageResult`.
* :class:`PlanOutputs`: a plan folder read back (``Plan.from_files``).
* :class:`CoverageLike` and :class:`PlanLike`: what a renderer reads.
* :func:`stable_json`: the one rule for netplan's JSON files (sorted keys,
  floats to 10 significant digits, NaN/inf as ``null``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netplan import display
from netplan._readback import check_summary
from netplan.errors import InputError, Problem
from netplan.io import OUTPUT_FORMATS, write_frame, write_text

__all__ = [
    "SUMMARY_DIGITS",
    "ZONE_KEYS",
    "CoverageLike",
    "CoverageOutputs",
    "CoverageTables",
    "PlanLike",
    "PlanOutputs",
    "plain",
    "read_coverage_outputs",
    "read_frontier",
    "read_outputs",
    "read_plan_outputs",
    "read_scores",
    "stable_json",
    "without_zones",
    "write_blindspots",
]

#: Significant digits of floats in netplan's JSON files.
SUMMARY_DIGITS = 10
#: KPI keys that only a coverage run with blind spots has.
ZONE_KEYS = (
    "blindspot_method",
    "h3_resolution",
    "min_zone_weight",
    "eps_km",
    "min_samples",
    "n_blindspot_points",
    "blindspot_weight",
    "dropped_zone_weight",
    "n_blindspots",
)


# --------------------------------------------------------------------------- plain data


def plain(value: Any) -> Any:
    """Return ``value`` as plain Python data: numpy scalars as numbers, floats rounded.

    Floats keep :data:`SUMMARY_DIGITS` significant digits; NaN and infinities
    become ``None``; mappings get string keys; tuples become lists.

    Examples
    --------
    >>> plain({"a": np.float64(1 / 3), "b": (np.int64(2), float("nan"))})
    {'a': 0.3333333333, 'b': [2, None]}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return float(f"{number:.{SUMMARY_DIGITS}g}") if math.isfinite(number) else None
    return value


def stable_json(data: Any) -> str:
    """Return ``data`` as stable JSON text: :func:`plain`, sorted keys, indent 2, newline.

    Examples
    --------
    >>> print(stable_json({"b": 1, "a": [0.1 + 0.2]}), end="")
    {
      "a": [
        0.3
      ],
      "b": 1
    }
    """
    return json.dumps(plain(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def without_zones(kpis: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``kpis`` with the blind-spot keys of a coverage run made without blind spots.

    Examples
    --------
    >>> without_zones({"n_blindspots": 3, "h3_resolution": 6, "n_demand": 9})
    {'n_demand': 9, 'blindspot_method': None, 'n_blindspot_points': 0, \
'blindspot_weight': 0.0, 'n_blindspots': 0}
    """
    out = {k: v for k, v in kpis.items() if k not in ZONE_KEYS}
    out.update(blindspot_method=None, n_blindspot_points=0, blindspot_weight=0.0, n_blindspots=0)
    return out


# --------------------------------------------------------------------------- what renderers read


class CoverageLike(Protocol):
    """What a map or report reads from a coverage result.

    :class:`CoverageTables` and its subclasses fit.
    """

    points: Any
    blindspots: Any

    def summary(self) -> dict[str, Any]:
        """Return the coverage KPIs."""
        ...


class PlanLike(Protocol):
    """What a map or report reads from a plan (``netplan.locate.Plan``, :class:`PlanOutputs`).

    A plan may also carry ``coverage`` (its network's coverage, a
    :class:`CoverageLike`); renderers read it with ``getattr`` so that plain
    tables fit too.
    """

    sites: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """Return the plan's summary (``before``/``after`` KPIs)."""
        ...


# --------------------------------------------------------------------------- coverage tables


def write_blindspots(zones: gpd.GeoDataFrame, path: Path) -> Path:
    """Write blind-spot zones as GeoJSON atomically (an empty collection when there are none)."""
    if len(zones):
        return write_frame(zones, path, fmt="geojson")
    # GDAL cannot infer a geometry type from no rows: write the empty collection directly.
    empty = {"type": "FeatureCollection", "name": path.stem, "features": []}
    return write_text(path, json.dumps(empty, indent=1) + "\n")


@dataclass
class CoverageTables:
    """Coverage of a network as tables: per-point results, blind-spot zones and KPIs.

    The base of :class:`netplan.coverage.CoverageResult` (in memory, with its
    reach matrix) and :class:`netplan.scale.LargeCoverageResult` (large
    demand); also what :meth:`from_files` reads back.

    Attributes
    ----------
    points
        One row per demand point: ``id, lon, lat, weight, nearest_site,
        nearest_tier, distance_km, covered, covering_site, n_covering``
        (+ ``grade``, + ``travel_minutes`` with a minutes matrix).
    blindspots
        Blind-spot zones with polygons (``zone_id, n_points, weight, area_km2, ...``),
        heaviest first.
    kpis
        The figures :meth:`summary` returns.
    source
        The folder read, for tables read back from files.
    """

    points: pd.DataFrame
    blindspots: gpd.GeoDataFrame
    kpis: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def summary(self, *, zones: bool = True) -> dict[str, Any]:
        """Return the KPIs as plain JSON-ready data (a copy).

        Keys include ``n_demand``, ``total_weight``, ``n_covered``,
        ``covered_weight``, ``coverage_rate``, ``weighted_coverage_rate``,
        ``by_tier``, ``by_grade``, ``by_region``, ``distance_km`` (``mean``,
        ``p50``, ``p90``, ``p95``, ``max``), ``overlap_rate``,
        ``support_chain``, ``n_blindspots``, ``blindspot_weight``,
        ``distance_model`` and ``warnings``.

        Parameters
        ----------
        zones
            ``False`` returns the blind-spot keys as a run without blind
            spots has them (:func:`without_zones`): the figures a plan's
            ``before``/``after`` carry.
        """
        kpis = self.kpis if zones else without_zones(self.kpis)
        result: dict[str, Any] = json.loads(json.dumps(plain(kpis)))
        return result

    def write_points(self, path: Path, fmt: str) -> Path:
        """Write the per-point table to ``path`` atomically (subclasses may stream it)."""
        return write_frame(self.points, path, fmt=fmt)

    def to_files(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write ``coverage.<fmt>``, ``blindspots.geojson`` and ``summary.json``.

        Every file is written atomically and is byte-identical across runs on
        the same input.

        Parameters
        ----------
        out_dir
            Output folder (created).
        fmt
            Format of the per-point file: ``csv``, ``geojson``, ``parquet`` or ``gpkg``.

        Returns
        -------
        dict
            Written paths by name (``coverage``, ``blindspots``, ``summary``).
        """
        if fmt not in OUTPUT_FORMATS:
            msg = f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}"
            raise ValueError(msg)
        out = Path(out_dir)
        return {
            "coverage": self.write_points(out / f"coverage.{fmt}", fmt),
            "blindspots": write_blindspots(self.blindspots, out / "blindspots.geojson"),
            "summary": write_text(out / "summary.json", stable_json(self.summary())),
        }

    @staticmethod
    def from_files(folder: str | Path) -> CoverageTables:
        """Read a coverage folder back (see :func:`read_coverage_outputs`)."""
        return read_coverage_outputs(folder)

    def map(self, **options: Any) -> Any:
        """Return the folium map of this coverage (demand heat, blind spots, key figures).

        Shown inline in Jupyter. ``options`` go to :func:`netplan.notebook.result_map`:
        ``sites=`` (the sites to draw), ``scenario=``, ``lang=``, ``offline=``, ``title=``.
        """
        return display.map_of(self, **options)

    def explore(self, **options: Any) -> Any:
        """Return an interactive GPU map of every demand point (``netplan[notebook]`` extra).

        Points are coloured by ``covered`` (default) or ``distance``
        (``color_by="distance"``), all of them, no sampling; see
        :func:`netplan.notebook.explore`.
        """
        return display.explore_of(self, **options)

    def __repr__(self) -> str:
        return display.coverage_repr(self)

    def _repr_html_(self) -> str:
        return display.coverage_html(self)


#: A coverage folder read back (the name the report has always used).
CoverageOutputs = CoverageTables


# --------------------------------------------------------------------------- reading folders

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


@dataclass(repr=False)
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
    coverage
        ``coverage/``: the plan's network coverage, or ``None`` (older folders).
    """

    sites: pd.DataFrame
    assignment: pd.DataFrame | None
    kpis: dict[str, Any]
    frontier: pd.DataFrame | None = None
    source: str = ""
    coverage: CoverageTables | None = None

    def summary(self) -> dict[str, Any]:
        """Return the plan's summary (``summary.json``)."""
        return dict(self.kpis)

    def map(self, **options: Any) -> Any:
        """Return the folium map of this plan (see :func:`netplan.notebook.result_map`)."""
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


def read_coverage_outputs(folder: str | Path) -> CoverageTables:
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
    check_summary(kpis, folder / "summary.json", "coverage")
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
    return CoverageTables(points=points, blindspots=zones, kpis=kpis, source=str(folder))


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
    check_summary(kpis, folder / "summary.json", "plan")
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
    frontier = read_frontier(frontier_path) if frontier_path.is_file() else None
    coverage_path = folder / "coverage"
    coverage = read_coverage_outputs(coverage_path) if coverage_path.is_dir() else None
    return PlanOutputs(
        sites=sites,
        assignment=assignment,
        kpis=kpis,
        frontier=frontier,
        source=str(folder),
        coverage=coverage,
    )


def read_frontier(folder: str | Path) -> pd.DataFrame:
    """Read ``frontier.csv`` (and ``by`` from ``frontier.json``) written by ``netplan frontier``.

    Returns
    -------
    pandas.DataFrame
        One row per step (``limit``, ``weighted_coverage_rate``, ...); ``attrs["by"]``
        is ``"budget"`` or ``"sites"`` when known.

    Raises
    ------
    InputError
        ``frontier.csv`` is missing or unreadable.
    """
    path = Path(folder)
    if path.is_dir():
        path = path / "frontier.csv"
    if not path.is_file():
        raise _missing(path, "trade-off table", "pass the --out folder of `netplan frontier`")
    frame = _read_table(path)
    meta = path.with_suffix(".json")
    if meta.is_file():
        with contextlib.suppress(InputError):
            frame.attrs["by"] = str(_read_json(meta, "").get("by", ""))
    return frame


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


def read_outputs(folder: str | Path) -> CoverageTables | PlanOutputs:
    """Read a coverage folder or a plan folder, whichever ``folder`` is (``plan.csv`` decides)."""
    folder = Path(folder)
    if (folder / "plan.csv").is_file():
        return read_plan_outputs(folder)
    return read_coverage_outputs(folder)
