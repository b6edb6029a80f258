"""Results drawn in a notebook: the folium map of a result, and a GPU map of every point.

``result.map()`` and ``result.explore()`` (coverage results, plans) land here
through :func:`netplan.display.map_of` / :func:`netplan.display.explore_of`:

* :func:`result_map` builds the same folium map as ``netplan map`` (via
  :func:`netplan.maps.network_map`) and returns its :class:`folium.Map`,
  which Jupyter shows inline;
* :func:`explore` draws every demand point — a million and more, no
  sampling — coloured by covered / not covered or by distance to the nearest
  outlet, with `lonboard <https://developmentseed.org/lonboard/>`_ (deck.gl
  over GeoArrow, drawn on the GPU). It needs the ``notebook`` extra
  (``pip install 'netplan[notebook]'``); without it the call raises
  :class:`~netplan.errors.MissingExtraError` with that one line. Folium stays
  the map of exported HTML files.

Like :mod:`netplan.maps` this module renders and never computes: it reads
the results it is given by duck typing (``points``, ``blindspots``,
``sites``, ``coverage``, ``summary()``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from netplan.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    import folium

    from netplan.config import Scenario

__all__ = ["COLOR_BY", "explore", "point_colours", "points_table", "result_map"]

#: How :func:`explore` colours the points.
COLOR_BY = ("covered", "distance")
#: Covered / not covered (RGB): green and red, as the map's legend.
COVERED_RGB = (26, 152, 80)
UNCOVERED_RGB = (215, 48, 39)
#: Distance ramp from near to far (green, yellow, red).
DISTANCE_RAMP = ((26, 152, 80), (254, 224, 139), (215, 48, 39))
#: Colour of the outlets drawn over the points.
SITE_RGB = (33, 102, 172)
#: The one-line message when lonboard is missing.
MISSING_LONBOARD = (
    "the GPU point map needs lonboard: pip install 'netplan[notebook]' "
    "(or use result.map() for the folium map)"
)


def _is_plan(result: Any) -> bool:
    sites = getattr(result, "sites", None)
    return isinstance(sites, pd.DataFrame) and "decision" in sites.columns


def result_map(
    result: Any,
    *,
    sites: pd.DataFrame | None = None,
    scenario: Scenario | None = None,
    lang: str = "en",
    offline: bool = False,
    title: str | None = None,
    **options: Any,
) -> folium.Map:
    """Return the folium map of a coverage result or a plan, for inline display.

    Parameters
    ----------
    result
        A coverage result (``CoverageResult``, ``LargeCoverageResult``, a
        coverage folder read back) or a plan (``Plan``, a plan folder read back).
    sites
        Sites to draw (a coverage result does not hold them); a plan draws its own.
    scenario
        Tier labels, colours and radii; the built-in default when ``None``.
    lang, offline, title
        As for :func:`netplan.maps.network_map`.
    options
        Other keywords of :func:`netplan.maps.network_map` (``max_zones``,
        ``max_heat_cells``, ``scores``, ...).

    Returns
    -------
    folium.Map
        The map; ``netplan.maps.network_map(...).to_file(path)`` writes the
        same map as a file.
    """
    from netplan.maps import network_map

    if _is_plan(result):
        network = network_map(
            None,
            sites,
            scenario,
            coverage=getattr(result, "coverage", None),
            plan=result,
            lang=lang,
            offline=offline,
            title=title,
            **options,
        )
    else:
        network = network_map(
            None,
            sites,
            scenario,
            coverage=result,
            lang=lang,
            offline=offline,
            title=title,
            **options,
        )
    return network.map


def point_colours(
    points: pd.DataFrame, color_by: str = "covered", max_distance_km: float | None = None
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Return one RGB colour per point (``n × 3`` bytes).

    ``covered``: green when an outlet reaches the point, red when not.
    ``distance``: a green → yellow → red ramp over the distance to the
    nearest outlet, red from ``max_distance_km`` (the 95th percentile when
    ``None``); points with no outlet at all are red.

    >>> frame = pd.DataFrame({"covered": [True, False], "distance_km": [1.0, 9.0]})
    >>> point_colours(frame).tolist()
    [[26, 152, 80], [215, 48, 39]]
    >>> point_colours(frame, "distance", 9.0)[:, 0].tolist()
    [77, 215]
    """
    if color_by not in COLOR_BY:
        msg = f"unknown color_by {color_by!r}; use one of {', '.join(COLOR_BY)}"
        raise InputError(msg)
    n = len(points)
    if color_by == "covered":
        covered = points["covered"].to_numpy(dtype=bool)
        colours = np.empty((n, 3), dtype=np.uint8)
        colours[covered] = COVERED_RGB
        colours[~covered] = UNCOVERED_RGB
        return colours
    distance = points["distance_km"].to_numpy(dtype=np.float64)
    finite = np.isfinite(distance)
    if max_distance_km is None:
        max_distance_km = float(np.percentile(distance[finite], 95)) if finite.any() else 1.0
    scale = max(float(max_distance_km), 1e-9)
    share = np.clip(np.where(finite, distance, scale) / scale, 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(DISTANCE_RAMP))
    ramp = np.asarray(DISTANCE_RAMP, dtype=np.float64)
    channels = [np.interp(share, stops, ramp[:, c]) for c in range(3)]
    return np.rint(np.column_stack(channels)).astype(np.uint8)


def points_table(points: pd.DataFrame, columns: tuple[str, ...] = ()) -> Any:
    """Return the points as a GeoArrow table (``geoarrow.point``, WGS84) built from ``lon``/``lat``.

    No shapely object is made per point: the coordinates go straight into an
    Arrow array, so a million points take a fraction of a second.
    """
    import pyarrow as pa

    lon = points["lon"].to_numpy(dtype=np.float64)
    lat = points["lat"].to_numpy(dtype=np.float64)
    xy = np.column_stack([lon, lat]).ravel()
    point_type = pa.list_(pa.field("xy", pa.float64(), nullable=False), 2)
    geometry = pa.FixedSizeListArray.from_arrays(pa.array(xy), type=point_type)
    metadata = {
        b"ARROW:extension:name": b"geoarrow.point",
        b"ARROW:extension:metadata": json.dumps({"crs": "OGC:CRS84"}).encode(),
    }
    arrays = [pa.array(points[c].to_numpy()) for c in columns] + [geometry]
    fields = [pa.field(c, arrays[i].type) for i, c in enumerate(columns)]
    fields.append(pa.field("geometry", point_type, metadata=metadata))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def explore(
    result: Any,
    *,
    color_by: str = "covered",
    max_distance_km: float | None = None,
    radius_pixels: float = 2.0,
    sites: pd.DataFrame | None = None,
) -> Any:
    """Return an interactive GPU map (``lonboard.Map``) of every demand point of ``result``.

    Parameters
    ----------
    result
        A coverage result (its ``points``) or a plan (its ``coverage.points``).
    color_by
        ``"covered"`` (green / red) or ``"distance"`` (green → red with the
        distance to the nearest outlet, see :func:`point_colours`).
    max_distance_km
        Distance drawn full red with ``color_by="distance"``.
    radius_pixels
        Point size on screen.
    sites
        Outlets to draw over the points (``lon``/``lat`` or point geometry); a
        plan draws its kept and opened sites.

    Returns
    -------
    lonboard.Map
        Shown inline by Jupyter; hover a point for its id, weight, distance.

    Raises
    ------
    MissingExtraError
        lonboard (the ``notebook`` extra) is not installed.
    InputError
        The result holds no points, or ``color_by`` is unknown.
    """
    try:
        import lonboard
    except ImportError:
        raise MissingExtraError(MISSING_LONBOARD) from None
    points = getattr(result, "points", None)
    if points is None and getattr(result, "coverage", None) is not None:
        points = result.coverage.points
    if points is None or not {"lon", "lat"} <= set(points.columns):
        msg = "explore() draws demand points: give a coverage result or a plan with its coverage"
        raise InputError(msg)
    colours = point_colours(points, color_by, max_distance_km)
    shown = tuple(c for c in ("id", "weight", "covered", "distance_km") if c in points.columns)
    layers = [
        lonboard.ScatterplotLayer(
            points_table(points, shown),
            get_fill_color=colours,
            radius_min_pixels=radius_pixels,
            radius_max_pixels=max(radius_pixels, 8.0),
            stroked=False,
        )
    ]
    if sites is None and _is_plan(result):
        sites = result.sites[result.sites["decision"].isin(["kept", "opened"])]
    if sites is not None and len(sites):
        frame = pd.DataFrame(sites)
        if not {"lon", "lat"} <= set(frame.columns) and "geometry" in frame.columns:
            frame["lon"] = [g.x for g in frame["geometry"]]
            frame["lat"] = [g.y for g in frame["geometry"]]
        frame["id"] = frame["id"].astype(str)
        layers.append(
            lonboard.ScatterplotLayer(
                points_table(frame, ("id",)),
                get_fill_color=SITE_RGB,
                radius_min_pixels=max(radius_pixels * 3, 6.0),
                stroked=True,
                get_line_color=(255, 255, 255),
                line_width_min_pixels=1,
            )
        )
    return lonboard.Map(layers)
