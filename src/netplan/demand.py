"""Demand weights: how much service an installed base will need.

Every installed unit will need service; how much depends on the product and
its age. netplan weights each installed-base row by

    weight = units × service_rate(product) × age_factor(age)

where ``service_rate`` comes from ``[demand.service_rates]`` in the scenario
(calls per unit and year; ``default_rate`` for products not listed, and for
rows with no ``product``) and ``age_factor`` from ``[demand.age_bands]``
(1.0 when the scenario gives no bands). The age is ``age_years`` or, failing
that, ``reference_year - install_year``.

Aggregation for large inputs
----------------------------
:func:`aggregate_h3` turns millions of demand points into one row per H3
cell (and region grade), placed at the cell centre, with the summed weight and
a stated error bound: no point moves by more than ``max_error_km`` (the
great-circle distance from the cell centre to its farthest vertex), so no
distance to a site changes by more than that. Weights are summed exactly
(correctly rounded), so the sums do not depend on the order of the points or
on how they were split: :func:`h3_partials` on each part of a dataset and
:func:`h3_from_partials` on the parts give the same frame, bit for bit, as
:func:`aggregate_h3` on the whole (this is how :mod:`netplan.scale` aggregates
on Dask).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from netplan.config import DemandRates

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "age_factors",
    "aggregate_h3",
    "demand_weights",
    "h3_cells",
    "h3_from_partials",
    "h3_partials",
]


def age_factors(ages: pd.Series | np.ndarray, rates: DemandRates) -> np.ndarray:
    """Return the age factor for each age (years); NaN ages get factor 1.

    Parameters
    ----------
    ages
        Age of each unit in years.
    rates
        The scenario's demand rates; its ``age_bands`` are (upper bound,
        factor) pairs, ascending, upper bounds inclusive.

    Returns
    -------
    numpy.ndarray
        One factor per age.
    """
    values = np.asarray(ages, dtype=np.float64)
    factors = np.ones(len(values))
    if not rates.age_bands:
        return factors
    uppers = np.array([upper for upper, _ in rates.age_bands])
    band_factors = np.array([factor for _, factor in rates.age_bands])
    known = np.isfinite(values)
    # Ages are whole years in practice; a band "0-2" holds ages up to (not including) 3.
    index = np.searchsorted(uppers, np.floor(values[known]), side="left")
    index = np.minimum(index, len(uppers) - 1)
    factors[known] = band_factors[index]
    return factors


def demand_weights(frame: pd.DataFrame, rates: DemandRates) -> np.ndarray:
    """Return the service-demand weight of each installed-base row.

    Parameters
    ----------
    frame
        Installed-base rows with ``units`` and optionally ``product``,
        ``age_years`` or ``install_year`` (any case).
    rates
        The scenario's :class:`~netplan.config.DemandRates`.

    Returns
    -------
    numpy.ndarray
        ``units × service_rate(product) × age_factor(age)`` per row.

    Examples
    --------
    >>> import pandas as pd
    >>> from netplan.config import DemandRates
    >>> rates = DemandRates(service_rates={"excavator": 2.0}, default_rate=1.0)
    >>> frame = pd.DataFrame({"units": [3, 1], "product": ["excavator", "crane"]})
    >>> demand_weights(frame, rates).tolist()
    [6.0, 1.0]
    """
    from netplan.io import numbers_from_cells  # the one number parser (io imports this module)

    lower = {str(c).lower(): c for c in frame.columns}
    units = numbers_from_cells(frame[lower["units"]], "units")
    rate = np.full(len(frame), rates.default_rate)
    if "product" in lower and rates.service_rates:
        product = frame[lower["product"]].astype(object).to_numpy()
        mapped = pd.Series(product).map(dict(rates.service_rates)).to_numpy(dtype=np.float64)
        rate = np.where(np.isnan(mapped), rates.default_rate, mapped)
    if "age_years" in lower:
        ages = pd.Series(numbers_from_cells(frame[lower["age_years"]], "age"))
    elif "install_year" in lower:
        years = pd.Series(numbers_from_cells(frame[lower["install_year"]], "install year"))
        ages = (rates.reference_year - years).clip(lower=0)
    else:
        ages = pd.Series(np.full(len(frame), np.nan))
    weights: np.ndarray = units * rate * age_factors(ages.to_numpy(dtype=np.float64), rates)
    return weights


# --------------------------------------------------------------------------- H3 aggregation

#: Width in bits of the aligned slices used for exact sums (see :func:`_weight_slices`).
_SLICE_BITS = 26
#: Values one group may hold for its slice sums to stay exact in float64 (2**(53 - 26)).
_MAX_EXACT_GROUP = 2**27
_SLICE_PREFIX = "weight_slice_"


def h3_cells(lon: ArrayLike, lat: ArrayLike, resolution: int) -> NDArray[np.uint64]:
    """Return the H3 cell (as an unsigned 64-bit integer) holding each point.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees (EPSG:4326).
    resolution
        H3 resolution, 0 (continents) to 15 (about 1 m).

    Returns
    -------
    numpy.ndarray
        One cell per point; ``h3.int_to_str`` gives the usual hex string.
    """
    import h3.api.numpy_int as h3_int

    _check_resolution(resolution)
    lon_list = np.asarray(lon, dtype=np.float64).tolist()
    lat_list = np.asarray(lat, dtype=np.float64).tolist()
    cells = [
        h3_int.latlng_to_cell(y, x, resolution) for x, y in zip(lon_list, lat_list, strict=True)
    ]
    return np.asarray(cells, dtype=np.uint64)


def _check_resolution(resolution: int) -> None:
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int | np.integer)
        or not (0 <= int(resolution) <= 15)
    ):
        msg = f"H3 resolution must be an integer from 0 to 15, got {resolution!r}"
        raise ValueError(msg)


def _weight_slices(values: NDArray[np.float64]) -> dict[int, NDArray[np.float64]]:
    """Split each value into slices aligned on fixed 26-bit boundaries.

    Slice ``k`` of a value holds its binary digits of weight ``2**(26k)`` up
    to ``2**(26k + 25)``, so it is a multiple of ``2**(26k)`` with at most 26
    significant bits, and the slices add up to the value exactly. A sum of up
    to ``2**27`` such slices of the same ``k`` is exact in float64 whatever
    the order, which is what makes partitioned sums equal whole ones.
    """
    nonzero = values[values != 0]
    if nonzero.size == 0:
        return {}
    _, exponents = np.frexp(np.abs(nonzero))  # |v| = m * 2**e with 0.5 <= m < 1
    top = int(exponents.max())  # every |v| < 2**top
    bottom = max(int(exponents.min()) - 53, -1074)  # lowest binary digit any value has
    k_top = -(-top // _SLICE_BITS) - 1
    k_bottom = bottom // _SLICE_BITS
    slices: dict[int, NDArray[np.float64]] = {}
    rest = values.astype(np.float64, copy=True)
    for k in range(k_top, k_bottom - 1, -1):
        shift = k * _SLICE_BITS
        part = np.ldexp(np.trunc(np.ldexp(rest, -shift)), shift)
        rest -= part  # exact: removes the leading digits
        if np.any(part):
            slices[k] = part
    return slices


def h3_partials(gdf: gpd.GeoDataFrame | pd.DataFrame, resolution: int) -> pd.DataFrame:
    """Return the exact partial sums of an H3 aggregation of ``gdf``.

    Partials of disjoint parts of a dataset combine with
    :func:`h3_from_partials` into exactly the frame :func:`aggregate_h3`
    returns for the whole.

    Parameters
    ----------
    gdf
        Demand points (EPSG:4326) with ``weight`` and optionally ``grade``;
        point geometry, or ``lon``/``lat`` columns.
    resolution
        H3 resolution (0 to 15).

    Returns
    -------
    pandas.DataFrame
        One row per cell (and grade): ``cell`` (uint64), ``grade`` when the
        input has one, ``n_points`` and the weight's exact slice sums
        (``weight_slice_<k>`` columns).
    """
    import geopandas as gpd

    _check_resolution(resolution)
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
        lon = gdf.geometry.x.to_numpy(dtype=np.float64)
        lat = gdf.geometry.y.to_numpy(dtype=np.float64)
    else:  # a light frame with lon/lat columns (netplan.stream.iter_dataset_frames)
        lon = gdf["lon"].to_numpy(dtype=np.float64)
        lat = gdf["lat"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame({"cell": h3_cells(lon, lat, resolution)})
    keys = ["cell"]
    if "grade" in gdf.columns:
        frame["grade"] = gdf["grade"].astype(object).where(gdf["grade"].notna(), None).to_numpy()
        keys.append("grade")
    frame["n_points"] = np.ones(len(frame), dtype=np.int64)
    weights = gdf["weight"].to_numpy(dtype=np.float64)
    for k, part in _weight_slices(weights).items():
        frame[f"{_SLICE_PREFIX}{k}"] = part
    return frame.groupby(keys, sort=True, dropna=False).sum().reset_index()


def h3_from_partials(partials: Iterable[pd.DataFrame], resolution: int) -> gpd.GeoDataFrame:
    """Combine partial sums from :func:`h3_partials` into the aggregated demand.

    Parameters
    ----------
    partials
        Partial sums of disjoint parts of one dataset, all at ``resolution``.
    resolution
        The H3 resolution they were computed at.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`aggregate_h3`.
    """
    import geopandas as gpd
    import h3

    _check_resolution(resolution)
    frames = [p for p in partials if len(p)]
    if not frames:
        msg = "nothing to aggregate: the demand has no points"
        raise ValueError(msg)
    has_grade = any("grade" in f.columns for f in frames)
    keys = ["cell", "grade"] if has_grade else ["cell"]
    combined = pd.concat(frames, ignore_index=True)
    if has_grade and "grade" not in combined.columns:
        combined["grade"] = None
    slice_columns = sorted(
        (c for c in combined.columns if c.startswith(_SLICE_PREFIX)),
        key=lambda c: -int(c[len(_SLICE_PREFIX) :]),
    )
    combined[slice_columns] = combined[slice_columns].fillna(0.0)
    summed = combined.groupby(keys, sort=True, dropna=False)[["n_points", *slice_columns]].sum()
    summed = summed.reset_index()
    if len(summed) and int(summed["n_points"].max()) > _MAX_EXACT_GROUP:
        msg = (
            f"an H3 cell holds more than {_MAX_EXACT_GROUP:,} points; use a finer resolution "
            f"than {resolution}"
        )
        raise ValueError(msg)
    weight = _round_slice_sums(summed[slice_columns].to_numpy(dtype=np.float64))

    cells = summed["cell"].to_numpy(dtype=np.uint64)
    unique_cells, inverse = np.unique(cells, return_inverse=True)
    names = [h3.int_to_str(int(c)) for c in unique_cells]
    centres = np.array([h3.cell_to_latlng(n) for n in names], dtype=np.float64).reshape(-1, 2)
    error = _cell_radii_km(names, centres)
    cell_names = np.asarray(names, dtype=object)[inverse]
    if has_grade:
        grades = summed["grade"].to_numpy(dtype=object)
        ids = [
            c if g is None or g != g else f"{c}/{g}"
            for c, g in zip(cell_names, grades, strict=True)
        ]
    else:
        ids = list(cell_names)
    out = pd.DataFrame(
        {"id": pd.Series(ids, dtype=object), "cell": pd.Series(cell_names, dtype=object)}
    )
    if has_grade:
        out["grade"] = pd.Series(summed["grade"].to_numpy(dtype=object), dtype=object)
    out["n_points"] = summed["n_points"].to_numpy(dtype=np.int64)
    out["weight"] = weight
    out["max_error_km"] = error[inverse]
    gdf = gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(centres[inverse, 1], centres[inverse, 0]), crs="EPSG:4326"
    )
    gdf.attrs["netplan_aggregation"] = {
        "method": "h3",
        "resolution": int(resolution),
        "n_points": int(out["n_points"].sum()),
        "n_cells": len(unique_cells),
        "max_error_km": float(error.max()) if error.size else 0.0,
    }
    return gdf


def aggregate_h3(gdf: gpd.GeoDataFrame, resolution: int) -> gpd.GeoDataFrame:
    """Aggregate demand points to H3 cells, with a stated distance error bound.

    Each output row stands for the points of one H3 cell (and one region
    grade, when the input has a ``grade`` column, so grade-dependent promises
    still apply) and sits at the cell centre. A point moves by at most the
    row's ``max_error_km``, the great-circle distance from the cell centre to
    its farthest vertex (about the cell's edge length: 1.4 km at resolution 7,
    0.53 km at 8, 3.7 km at 6), so every point-to-site distance changes by at
    most that much. The whole frame's bound is in
    ``gdf.attrs["netplan_aggregation"]["max_error_km"]``.

    Parameters
    ----------
    gdf
        Demand points (EPSG:4326) with ``weight`` and optionally ``grade``,
        as :func:`netplan.io.read_points` returns them.
    resolution
        H3 resolution, 0 to 15.

    Returns
    -------
    geopandas.GeoDataFrame
        Sorted by cell (then grade): ``id`` (cell hex, ``cell/grade`` with
        grades), ``cell``, ``grade`` (when given), ``n_points``, ``weight``
        (the exact, correctly rounded sum), ``max_error_km`` and the cell
        centre as point geometry.

    Raises
    ------
    ValueError
        On a resolution outside 0..15 or an empty input.

    Examples
    --------
    >>> import geopandas as gpd
    >>> points = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c"], "weight": [1.0, 2.0, 4.0]},
    ...     geometry=gpd.points_from_xy([104.0, 104.001, 116.4], [30.5, 30.5, 39.9]),
    ...     crs="EPSG:4326",
    ... )
    >>> cells = aggregate_h3(points, 7)
    >>> cells["weight"].tolist(), cells["n_points"].tolist()
    ([4.0, 3.0], [1, 2])
    """
    return h3_from_partials([h3_partials(gdf, resolution)], resolution)


def _round_slice_sums(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return each row's exact total of slice sums, correctly rounded."""
    if sums.shape[1] == 0:
        return np.zeros(sums.shape[0])
    several = np.count_nonzero(sums, axis=1) > 1
    out: NDArray[np.float64] = sums.sum(axis=1)  # exact where a row has at most one slice
    for row in np.flatnonzero(several):
        out[row] = math.fsum(sums[row])
    return out


def _cell_radii_km(cells: list[str], centres: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return, per cell, the great-circle distance (km) from its centre to its farthest vertex.

    H3 cell edges are great-circle arcs, so the farthest point of a cell from
    its centre is a vertex.
    """
    import h3

    from netplan.reach import great_circle_km

    if not cells:
        return np.zeros(0)
    boundaries = [np.asarray(h3.cell_to_boundary(cell), dtype=np.float64) for cell in cells]
    counts = np.array([len(b) for b in boundaries])
    vertices = np.concatenate(boundaries)
    lat = np.repeat(centres[:, 0], counts)
    lon = np.repeat(centres[:, 1], counts)
    distances = great_circle_km(lon, lat, vertices[:, 1], vertices[:, 0])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.asarray(np.maximum.reduceat(distances, starts), dtype=np.float64)
