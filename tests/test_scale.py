"""Tests of scale-out: exact H3 aggregation, the Dask engine and its equality with the local one."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from netplan.demand import aggregate_h3, h3_cells, h3_from_partials, h3_partials
from netplan.reach import great_circle_km


def _random_points(n: int, seed: int = 0, *, grades: bool = True) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    weight = rng.lognormal(0.0, 3.0, n)
    weight[::7] = 0.1
    weight[::11] = 1e-9
    weight[::13] = 0.0
    data: dict[str, object] = {"id": [f"p{i}" for i in range(n)], "weight": weight}
    if grades:
        data["grade"] = rng.choice(np.array(["A", "B", "C", None], dtype=object), n)
    return gpd.GeoDataFrame(
        data,
        geometry=gpd.points_from_xy(rng.normal(110.0, 0.4, n), rng.normal(30.0, 0.4, n)),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- H3 aggregation


def test_aggregate_h3_weights_are_exact_sums() -> None:
    points = _random_points(20_000)
    cells = aggregate_h3(points, 6)
    keys = pd.DataFrame(
        {
            "cell": h3_cells(points.geometry.x, points.geometry.y, 6),
            "grade": points["grade"].astype(object),
            "weight": points["weight"],
        }
    )
    expected = keys.groupby(["cell", "grade"], dropna=False, sort=True)["weight"].agg(
        lambda s: math.fsum(s)
    )
    assert cells["weight"].tolist() == expected.tolist()
    assert int(cells["n_points"].sum()) == len(points)
    assert cells["id"].is_unique


def test_aggregate_h3_is_independent_of_order_and_partitioning() -> None:
    points = _random_points(30_000, seed=3)
    whole = aggregate_h3(points, 7)
    shuffled = points.sample(frac=1.0, random_state=5)
    parts = [h3_partials(shuffled.iloc[s : s + 7_000], 7) for s in range(0, len(points), 7_000)]
    assert_geodataframe_equal(h3_from_partials(parts, 7), whole)
    assert_geodataframe_equal(h3_from_partials(parts[::-1], 7), whole)


def test_aggregate_h3_error_bound_holds_for_every_point() -> None:
    points = _random_points(5_000, seed=9, grades=False)
    cells = aggregate_h3(points, 6)
    point_cells = h3_cells(points.geometry.x, points.geometry.y, 6)
    import h3

    row_of_cell = {cell: i for i, cell in enumerate(cells["cell"])}
    rows = np.array([row_of_cell[h3.int_to_str(int(c))] for c in point_cells])
    moved = great_circle_km(
        points.geometry.x.to_numpy(),
        points.geometry.y.to_numpy(),
        cells.geometry.x.to_numpy()[rows],
        cells.geometry.y.to_numpy()[rows],
    )
    assert np.all(moved <= cells["max_error_km"].to_numpy()[rows])
    bound = cells.attrs["netplan_aggregation"]["max_error_km"]
    assert 3.0 < bound < 4.5  # resolution 6 cells: edge about 3.7 km
    assert moved.max() > 0.5 * bound  # the bound is not loose by orders of magnitude


def test_aggregate_h3_keeps_grades_apart() -> None:
    points = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "weight": [1.0, 2.0, 4.0], "grade": ["A", "B", "A"]},
        geometry=gpd.points_from_xy([104.0, 104.0001, 104.0002], [30.5, 30.5, 30.5]),
        crs="EPSG:4326",
    )
    cells = aggregate_h3(points, 5)
    assert cells["grade"].tolist() == ["A", "B"]
    assert cells["weight"].tolist() == [5.0, 2.0]
    assert cells["id"].tolist() == [f"{cells['cell'][0]}/A", f"{cells['cell'][0]}/B"]


@pytest.mark.parametrize("resolution", [-1, 16, 2.5, True])
def test_aggregate_h3_rejects_bad_resolution(resolution: object) -> None:
    with pytest.raises(ValueError, match="H3 resolution must be an integer from 0 to 15"):
        aggregate_h3(_random_points(10), resolution)  # type: ignore[arg-type]


def test_aggregate_h3_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="nothing to aggregate"):
        aggregate_h3(_random_points(10).iloc[:0], 7)
