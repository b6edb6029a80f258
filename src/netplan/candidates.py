"""Candidate sites: from a file, or generated from where the demand is.

Two generators place candidate outlets on the demand itself:

* :func:`candidates_from_kmeans`: weighted k-means (scikit-learn, seeded) on
  the points' unit-sphere coordinates — no flat-degree distortion — with each
  centroid projected back to the sphere;
* :func:`candidates_from_h3`: the H3 cells holding the most demand (cells
  with at least ``min_weight``, or the ``n_sites`` heaviest), one candidate at
  the weighted centre of each cell's points.

Each generated site gets a tier chosen by the demand density around it
(:func:`tier_by_density`): tiers are tried from the smallest reach to the
largest, and a site takes the first tier whose reach holds at least ``fill``
× that tier's capacity of demand weight — a dense city gets community points,
a town a city station, a sparse region a hub. Optional tiers (authorised
partners) are left out unless named. ``tier="all"`` instead proposes every
tier at every location and lets the optimiser choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netplan.config import Scenario
from netplan.demand import h3_cells
from netplan.errors import ConfigError, InputError
from netplan.geo import chord_from_km, unit_xyz

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CANDIDATE_METHODS",
    "candidates_from_demand",
    "candidates_from_h3",
    "candidates_from_kmeans",
    "merge_sites",
    "tier_by_density",
]

#: Generators :func:`candidates_from_demand` knows.
CANDIDATE_METHODS = ("kmeans", "h3")


def _check_demand(gdf_demand: gpd.GeoDataFrame) -> NDArray[np.float64]:
    if len(gdf_demand) == 0:
        msg = "the demand is empty; candidates are generated from demand points"
        raise InputError(msg)
    weight = (
        gdf_demand["weight"].to_numpy(dtype=np.float64)
        if "weight" in gdf_demand.columns
        else np.ones(len(gdf_demand))
    )
    if not np.isfinite(weight).all() or (weight < 0).any() or weight.sum() <= 0:
        msg = "demand weights must be finite, 0 or more, and not all 0"
        raise InputError(msg)
    return weight


def _lonlat_from_xyz(xyz: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    norm = np.linalg.norm(xyz, axis=1, keepdims=True)
    unit = xyz / np.where(norm > 0, norm, 1.0)
    lat = np.degrees(np.arcsin(np.clip(unit[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(unit[:, 1], unit[:, 0]))
    return lon, lat


def tier_by_density(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    gdf_demand: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    fill: float = 0.5,
    tiers: Sequence[str] | None = None,
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Return the tier for sites at ``lon``/``lat`` and the demand weight its reach holds.

    Parameters
    ----------
    lon, lat
        Site coordinates (degrees).
    gdf_demand
        Demand points with ``weight``.
    scenario
        Tiers with radii and capacities.
    fill
        Share of a tier's capacity its reach must hold for the tier to fit.
    tiers
        Tiers to choose from; every non-optional tier when ``None``.

    Returns
    -------
    tuple of numpy.ndarray
        Tier name per site, and the demand weight within that tier's
        (default-grade) reach of the site.
    """
    weight = _check_demand(gdf_demand)
    names = (
        list(tiers)
        if tiers is not None
        else [t.name for t in scenario.tiers.values() if not t.optional]
    )
    for name in names:
        scenario.tier(name)
    if not names:
        msg = (
            f"{scenario.source}: no tier to choose from (every tier is optional); "
            "name one with --tier"
        )
        raise ConfigError(msg)
    reach = {
        name: scenario.tiers[name].reach_km(distance_model=scenario.distance_model)
        for name in names
    }
    ordered = sorted(names, key=lambda name: (reach[name], name))
    tree = cKDTree(unit_xyz(gdf_demand.geometry.x.to_numpy(), gdf_demand.geometry.y.to_numpy()))
    sites = unit_xyz(lon, lat)
    chosen = np.full(len(sites), None, dtype=object)
    held = np.zeros(len(sites))
    best_ratio = np.full(len(sites), -np.inf)
    fallback = np.full(len(sites), None, dtype=object)
    fallback_held = np.zeros(len(sites))
    for name in ordered:
        tier = scenario.tiers[name]
        neighbours = tree.query_ball_point(sites, float(chord_from_km(reach[name])))
        within = np.array([weight[np.asarray(n, dtype=np.int64)].sum() for n in neighbours])
        capacity = tier.capacity if tier.capacity is not None else np.inf
        fits = (chosen == None) & (within >= fill * capacity)  # noqa: E711 (object array)
        chosen[fits] = name
        held[fits] = within[fits]
        ratio = within / capacity if np.isfinite(capacity) else np.zeros(len(sites))
        better = ratio > best_ratio
        best_ratio[better] = ratio[better]
        fallback[better] = name
        fallback_held[better] = within[better]
    unset = chosen == None  # noqa: E711
    chosen[unset] = fallback[unset]
    held[unset] = fallback_held[unset]
    return chosen, held


def _frame(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    ids: Sequence[str],
    demand_weight: NDArray[np.float64],
    gdf_demand: gpd.GeoDataFrame,
    scenario: Scenario,
    tier: str,
    fill: float,
    method: str,
) -> gpd.GeoDataFrame:
    if tier == "density":
        tiers, held = tier_by_density(lon, lat, gdf_demand, scenario, fill=fill)
        frames = [pd.DataFrame({"id": list(ids), "tier": tiers, "reach_weight": held})]
        lons, lats, weights = [lon], [lat], [demand_weight]
    else:
        names = [t.name for t in scenario.tiers.values()] if tier == "all" else [tier]
        for name in names:
            scenario.tier(name)
        frames, lons, lats, weights = [], [], [], []
        for name in names:
            _, held = tier_by_density(lon, lat, gdf_demand, scenario, fill=fill, tiers=[name])
            suffix = f"-{name}" if len(names) > 1 else ""
            frames.append(
                pd.DataFrame(
                    {"id": [f"{i}{suffix}" for i in ids], "tier": name, "reach_weight": held}
                )
            )
            lons.append(lon)
            lats.append(lat)
            weights.append(demand_weight)
    frame = pd.concat(frames, ignore_index=True)
    frame["status"] = "candidate"
    frame["fixed_cost"] = [scenario.tiers[t].fixed_cost for t in frame["tier"]]
    frame["capacity"] = [
        scenario.tiers[t].capacity if scenario.tiers[t].capacity is not None else np.inf
        for t in frame["tier"]
    ]
    frame["demand_weight"] = np.concatenate(weights)
    frame["method"] = method
    all_lon, all_lat = np.concatenate(lons), np.concatenate(lats)
    frame["lon"] = np.round(all_lon, 6)
    frame["lat"] = np.round(all_lat, 6)
    columns = [
        "id",
        "tier",
        "status",
        "fixed_cost",
        "capacity",
        "demand_weight",
        "reach_weight",
        "method",
        "lon",
        "lat",
    ]
    return gpd.GeoDataFrame(
        frame[columns], geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )


def candidates_from_kmeans(
    gdf_demand: gpd.GeoDataFrame,
    scenario: Scenario,
    n_sites: int,
    *,
    tier: str = "density",
    fill: float = 0.5,
    seed: int = 0,
    id_prefix: str = "KM",
) -> gpd.GeoDataFrame:
    """Place ``n_sites`` candidates at weighted k-means centres of the demand.

    Parameters
    ----------
    gdf_demand
        Demand points (EPSG:4326) with ``weight``.
    scenario
        Tiers (radii, capacities, costs).
    n_sites
        Number of clusters (candidate locations).
    tier
        ``"density"`` (choose by demand density), ``"all"`` (every tier at
        every location) or a tier name.
    fill
        See :func:`tier_by_density`.
    seed
        Random seed: the same seed gives the same candidates.
    id_prefix
        Ids are ``{id_prefix}0001``, ... in order of decreasing cluster weight.

    Returns
    -------
    geopandas.GeoDataFrame
        Sites ready for :func:`netplan.locate.plan_from_points`: ``id``,
        ``tier``, ``status`` (``candidate``), ``fixed_cost``, ``capacity``,
        ``demand_weight`` (of the cluster), ``reach_weight`` (within the tier's
        reach), ``method``, ``lon``, ``lat``.
    """
    from sklearn.cluster import KMeans

    weight = _check_demand(gdf_demand)
    n_points = int((weight > 0).sum())
    if not 1 <= n_sites <= n_points:
        msg = (
            "`n_sites` must be between 1 and the number of weighted demand points "
            f"({n_points}), got {n_sites}"
        )
        raise InputError(msg)
    positive = weight > 0
    xyz = unit_xyz(
        gdf_demand.geometry.x.to_numpy()[positive], gdf_demand.geometry.y.to_numpy()[positive]
    )
    model = KMeans(n_clusters=n_sites, random_state=seed, n_init=4)
    labels = model.fit_predict(xyz, sample_weight=weight[positive])
    cluster_weight = np.bincount(labels, weights=weight[positive], minlength=n_sites).astype(
        np.float64
    )
    centres = np.zeros((n_sites, 3))
    for axis in range(3):
        centres[:, axis] = np.bincount(
            labels, weights=weight[positive] * xyz[:, axis], minlength=n_sites
        )
    lon, lat = _lonlat_from_xyz(centres)
    order = np.lexsort((lat, lon, -cluster_weight))
    ids = [f"{id_prefix}{k + 1:04d}" for k in range(n_sites)]
    return _frame(
        lon[order],
        lat[order],
        ids,
        cluster_weight[order],
        gdf_demand,
        scenario,
        tier,
        fill,
        "kmeans",
    )


def candidates_from_h3(
    gdf_demand: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    resolution: int = 6,
    min_weight: float | None = None,
    n_sites: int | None = None,
    tier: str = "density",
    fill: float = 0.5,
    id_prefix: str = "H3-",
) -> gpd.GeoDataFrame:
    """Place a candidate in each H3 cell with dense demand, at the weighted centre of its points.

    Parameters
    ----------
    gdf_demand
        Demand points with ``weight``.
    scenario
        Tiers.
    resolution
        H3 resolution of the cells (6: about 36 km², 5: about 250 km²).
    min_weight
        Keep cells holding at least this weight.
    n_sites
        Keep the ``n_sites`` heaviest cells (after ``min_weight``).
    tier, fill
        See :func:`candidates_from_kmeans`.
    id_prefix
        Ids are ``{id_prefix}{cell}``.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`candidates_from_kmeans`, heaviest cell first.
    """
    import h3

    weight = _check_demand(gdf_demand)
    if min_weight is None and n_sites is None:
        msg = "say which cells are dense: give `min_weight`, `n_sites` or both"
        raise InputError(msg)
    lon_all = gdf_demand.geometry.x.to_numpy()
    lat_all = gdf_demand.geometry.y.to_numpy()
    cells = h3_cells(lon_all, lat_all, resolution)
    unique, inverse = np.unique(cells, return_inverse=True)
    cell_weight = np.bincount(inverse, weights=weight, minlength=len(unique)).astype(np.float64)
    xyz = unit_xyz(lon_all, lat_all)
    centres = np.stack(
        [
            np.bincount(inverse, weights=weight * xyz[:, axis], minlength=len(unique))
            for axis in range(3)
        ],
        axis=1,
    )
    keep = cell_weight > 0
    if min_weight is not None:
        keep &= cell_weight >= min_weight
    index = np.flatnonzero(keep)
    index = index[np.lexsort((unique[index], -cell_weight[index]))]
    if n_sites is not None:
        if n_sites < 1:
            msg = f"`n_sites` must be 1 or more, got {n_sites}"
            raise InputError(msg)
        index = index[:n_sites]
    if index.size == 0:
        msg = (
            f"no H3 cell at resolution {resolution} holds weight {min_weight:g} or more; "
            "lower --min-weight"
        )
        raise InputError(msg)
    lon, lat = _lonlat_from_xyz(np.asarray(centres[index], dtype=np.float64))
    ids = [f"{id_prefix}{h3.int_to_str(int(c))}" for c in unique[index]]
    return _frame(
        lon, lat, ids, cell_weight[index], gdf_demand, scenario, tier, fill, f"h3:{resolution}"
    )


def candidates_from_demand(
    gdf_demand: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    method: str = "kmeans",
    n_sites: int | None = None,
    resolution: int = 6,
    min_weight: float | None = None,
    tier: str = "density",
    fill: float = 0.5,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Generate candidate sites from demand with ``method`` (``"kmeans"`` or ``"h3"``)."""
    if method == "kmeans":
        if n_sites is None:
            msg = "k-means needs the number of candidates (`n_sites`, --n)"
            raise InputError(msg)
        return candidates_from_kmeans(
            gdf_demand, scenario, n_sites, tier=tier, fill=fill, seed=seed
        )
    if method == "h3":
        return candidates_from_h3(
            gdf_demand,
            scenario,
            resolution=resolution,
            min_weight=min_weight,
            n_sites=n_sites,
            tier=tier,
            fill=fill,
        )
    msg = f"unknown candidate method {method!r}; use one of {', '.join(CANDIDATE_METHODS)}"
    raise InputError(msg)


def merge_sites(gdf_sites: gpd.GeoDataFrame, generated: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the sites of a file followed by generated candidates (ids must not clash)."""
    clash = sorted(set(gdf_sites["id"].astype(str)) & set(generated["id"].astype(str)))
    if clash:
        msg = f"generated candidate ids clash with the sites file: {', '.join(clash[:5])}"
        raise InputError(msg)
    base = gdf_sites.copy()
    base["lon"] = np.round(base.geometry.x.to_numpy(), 6)
    base["lat"] = np.round(base.geometry.y.to_numpy(), 6)
    merged = pd.concat([base, generated], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
