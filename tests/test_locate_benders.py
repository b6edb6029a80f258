"""Benders for the p-median: every bound a true bound, every plan the brute-force optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from netplan.locate.benders import p_median_benders, p_median_bound
from netplan.locate.models import _p_median_start, p_median
from netplan.locate.solve import SolverSettings


def instance(seed: int, n: int = 14, m: int = 9) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 100, size=(n, 2))
    sites = rng.uniform(0, 100, size=(m, 2))
    distance = np.round(np.linalg.norm(demand[:, None] - sites[None], axis=2))
    return distance, rng.integers(1, 6, size=n).astype(float)


def brute_force(distance: np.ndarray, weight: np.ndarray, p: int, forced=(), banned=()) -> float:
    best = np.inf
    m = distance.shape[1]
    for chosen in itertools.combinations(range(m), p):
        if set(forced) - set(chosen) or set(banned) & set(chosen):
            continue
        best = min(best, float(weight @ distance[:, list(chosen)].min(axis=1)))
    return best


def pairs(distance: np.ndarray):
    n, m = distance.shape
    return np.repeat(np.arange(n), m), np.tile(np.arange(m), n), distance.ravel().astype(float)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 4])
def test_bound_is_a_true_bound_and_fixing_keeps_the_optimum(seed: int, p: int) -> None:
    distance, weight = instance(seed)
    n, m = distance.shape
    rows, cols, dist = pairs(distance)
    none = np.zeros(m, dtype=bool)
    plan = _p_median_start(rows, cols, dist, (n, m), weight, p, none, none)
    assert plan is not None
    bound = p_median_bound(rows, cols, dist, (n, m), weight, p, none, none, plan)
    optimum = brute_force(distance, weight, p)
    assert bound.lower <= optimum + 1e-6
    # No optimal plan uses a site fixed closed or skips one fixed open.
    closed = set(np.flatnonzero(bound.fix_closed).tolist())
    opened = set(np.flatnonzero(bound.fix_open).tolist())
    assert brute_force(distance, weight, p, forced=opened, banned=closed) == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_branch_and_cut_finds_the_optimum(seed: int, p: int) -> None:
    distance, weight = instance(seed)
    n, m = distance.shape
    rows, cols, dist = pairs(distance)
    none = np.zeros(m, dtype=bool)
    # Start from a poor plan on purpose: the search has to find the optimum itself.
    plan = np.zeros(m, dtype=bool)
    plan[m - p :] = True
    solution = p_median_benders(rows, cols, dist, (n, m), weight, p, none, none, plan)
    optimum = brute_force(distance, weight, p)
    assert solution.optimal
    assert solution.objective == pytest.approx(optimum)
    assert solution.lower == pytest.approx(optimum)
    assert int(solution.plan.sum()) == p
    assert float(weight @ distance[:, solution.plan].min(axis=1)) == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(4))
def test_methods_agree_with_forced_and_excluded_sites(seed: int) -> None:
    distance, weight = instance(seed, n=12, m=8)
    forced, banned = [1], [0, 5]
    expected = brute_force(distance, weight, 3, forced=forced, banned=banned)
    for method in ("benders", "radius"):
        result = p_median(distance, p=3, weights=weight, forced_open=forced, excluded=banned,
                          method=method)  # fmt: skip
        assert result.status == "optimal"
        assert result.objective == pytest.approx(expected)
        assert result.best_bound == pytest.approx(expected)
        assert result.open_sites[1] and not result.open_sites[[0, 5]].any()
    assert p_median(distance, p=3, weights=weight).details["method"] == "benders"


@pytest.mark.parametrize("limit", [0.001, 0.05, None])
def test_a_time_limited_search_reports_an_honest_bound(limit: float | None) -> None:
    distance, weight = instance(3, n=40, m=30)
    optimum = p_median(distance, p=4, weights=weight, method="radius").objective
    result = p_median(
        distance, p=4, weights=weight, method="benders", settings=SolverSettings(time_limit=limit)
    )
    assert result.status in ("optimal", "feasible")
    assert result.best_bound <= optimum + 1e-6
    assert result.objective >= optimum - 1e-6
    assert result.objective == pytest.approx(float(weight @ result.assigned_distance))
    if result.status == "feasible":
        assert result.gap > 0
