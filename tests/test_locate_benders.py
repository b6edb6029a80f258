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
    m = distance.shape[1]
    chosen = np.array(list(itertools.combinations(range(m), p)))
    keep = np.ones(len(chosen), dtype=bool)
    for site in forced:
        keep &= (chosen == site).any(axis=1)
    for site in banned:
        keep &= ~(chosen == site).any(axis=1)
    if not keep.any():
        return np.inf
    return float((weight @ distance[:, chosen[keep]].min(axis=2)).min())


def gapped_instance(seed: int, n: int = 30, m: int = 18) -> tuple[np.ndarray, np.ndarray]:
    """Random (non-metric) distances: LP roots are fractional, so the search tree works."""
    rng = np.random.default_rng(seed)
    return rng.integers(1, 100, (n, m)).astype(float), rng.integers(1, 6, n).astype(float)


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


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("strong", "reduce"), [(True, True), (True, False), (False, True)])
def test_strong_branching_and_the_reduced_master_keep_the_optimum(
    seed: int, strong: bool, reduce: bool
) -> None:
    distance, weight = gapped_instance(seed)
    n, m = distance.shape
    rows, cols, dist = pairs(distance)
    none = np.zeros(m, dtype=bool)
    for p in (3, 5):
        optimum = brute_force(distance, weight, p)
        plan = _p_median_start(rows, cols, dist, (n, m), weight, p, none, none)
        solution = p_median_benders(
            rows, cols, dist, (n, m), weight, p, none, none, plan, strong=strong, reduce=reduce
        )
        assert solution.optimal
        assert solution.objective == pytest.approx(optimum)
        assert solution.lower == pytest.approx(optimum)
        assert float(weight @ distance[:, solution.plan].min(axis=1)) == pytest.approx(optimum)


def test_the_search_really_branches_and_fixes() -> None:
    # Guard against the tests above passing without exercising the tree: on these
    # instances the root fixes sites, the tree has nodes and some are strong-branched.
    fixed = probes = nodes = 0
    for seed in range(3):
        distance, weight = gapped_instance(seed)
        n, m = distance.shape
        rows, cols, dist = pairs(distance)
        none = np.zeros(m, dtype=bool)
        plan = _p_median_start(rows, cols, dist, (n, m), weight, 3, none, none)
        solution = p_median_benders(rows, cols, dist, (n, m), weight, 3, none, none, plan)
        assert solution.root.lower < solution.objective  # a fractional root
        fixed += int(solution.root.fix_closed.sum())
        probes += solution.strong_solves
        nodes += solution.master_rounds
    assert fixed > 0
    assert probes > 0
    assert nodes > 3


def test_sparse_pairs_with_sites_fixed_closed() -> None:
    # Points allowed only their 10 nearest sites: feasibility rows, and a reduced master
    # where some points keep few sites.
    distance, weight = gapped_instance(5)
    allowed = distance <= np.sort(distance, axis=1)[:, 9][:, None]
    rows, cols = np.nonzero(allowed)
    dist = distance[rows, cols].astype(float)
    n, m = distance.shape
    none = np.zeros(m, dtype=bool)
    masked = np.where(allowed, distance, np.inf)
    solved = 0
    for p in (3, 4, 5):
        plan = _p_median_start(rows, cols, dist, (n, m), weight, p, none, none)
        assert plan is not None
        if not np.isfinite(masked[:, plan].min(axis=1)).all():
            continue  # the start serves some point by no allowed site: not a plan
        solution = p_median_benders(rows, cols, dist, (n, m), weight, p, none, none, plan)
        assert solution.optimal
        assert solution.objective == pytest.approx(brute_force(masked, weight, p))
        solved += 1
    assert solved > 0


def test_nearest_matches_brute_force() -> None:
    from netplan.locate.benders import _Levels

    distance, _ = instance(2, n=30, m=12)
    rows, cols, dist = pairs(distance)
    levels = _Levels(rows, cols, dist, 30)
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random(12) < 0.3
        mask[0] = True
        assert np.array_equal(levels.nearest(mask), distance[:, mask].min(axis=1))
    assert np.isinf(levels.nearest(np.zeros(12, dtype=bool))).all()


@pytest.mark.parametrize("rounds", [1, 2, 3])
def test_a_root_cut_short_still_bounds_and_fixes_correctly(rounds: int) -> None:
    # The rounds may run out right after cuts were added: the duals used for fixing must
    # still be the LP's as it stands.
    distance, weight = gapped_instance(4)
    n, m = distance.shape
    rows, cols, dist = pairs(distance)
    none = np.zeros(m, dtype=bool)
    plan = _p_median_start(rows, cols, dist, (n, m), weight, 3, none, none)
    bound = p_median_bound(rows, cols, dist, (n, m), weight, 3, none, none, plan, max_rounds=rounds)
    optimum = brute_force(distance, weight, 3)
    assert bound.lower <= optimum + 1e-6
    closed = np.flatnonzero(bound.fix_closed).tolist()
    opened = np.flatnonzero(bound.fix_open).tolist()
    assert brute_force(distance, weight, 3, forced=opened, banned=closed) == pytest.approx(optimum)
