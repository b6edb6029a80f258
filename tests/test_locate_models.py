"""Classic location models against brute force on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from netplan.errors import InfeasibleError, InputError, SolverError
from netplan.locate.models import capacitated, max_cover, p_median, set_cover
from netplan.locate.solve import SolverSettings


def instance(seed: int, n_demand: int = 12, n_sites: int = 7):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, size=(n_demand, 2))
    sites = rng.uniform(0, 10, size=(n_sites, 2))
    distance = np.round(np.linalg.norm(demand[:, None] - sites[None], axis=2), 3)
    weight = rng.integers(1, 10, size=n_demand).astype(float)
    cost = rng.integers(1, 6, size=n_sites).astype(float)
    return distance, weight, cost


def subsets(n: int):
    for bits in itertools.product([False, True], repeat=n):
        yield np.array(bits)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_set_cover_full_and_partial(seed: int, solver: str) -> None:
    distance, weight, cost = instance(seed)
    cover = distance <= 4.0
    settings = SolverSettings(solver=solver)
    coverable = cover.any(axis=1)
    if coverable.all():
        best = min(cost[m].sum() for m in subsets(7) if (cover[:, m].any(axis=1)).all())
        result = set_cover(cover, costs=cost, settings=settings)
        assert result.status == "optimal"
        assert result.objective == pytest.approx(best)
        assert cover[:, result.open_sites].any(axis=1).all()
    else:
        with pytest.raises(InfeasibleError, match="no candidate reaches"):
            set_cover(cover, costs=cost, settings=settings)
    target = 0.5
    feasible = [
        m for m in subsets(7) if weight[cover[:, m].any(axis=1)].sum() >= target * weight.sum()
    ]
    best = min(cost[m].sum() for m in feasible)
    result = set_cover(cover, weights=weight, costs=cost, coverage_target=target, settings=settings)
    assert result.objective == pytest.approx(best)
    assert weight @ result.covered_share >= target * weight.sum() - 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_max_cover_p_budget_and_groups(seed: int) -> None:
    distance, weight, cost = instance(seed)
    cover = sp.csr_array(np.where(distance <= 3.0, distance, 0.0) * (distance <= 3.0))
    cover = sp.csr_array(
        (distance[distance <= 3.0], np.nonzero(distance <= 3.0)), shape=distance.shape
    )
    within = distance <= 3.0
    groups = np.array(["a", "b", "a", "b", "a", "b", "a"])

    def covered(m):
        return weight[within[:, m].any(axis=1)].sum()

    for p in (1, 2, 3):
        best = max(covered(m) for m in subsets(7) if m.sum() <= p)
        result = max_cover(cover, weights=weight, p=p)
        assert result.objective == pytest.approx(best)
        assert result.open_sites.sum() <= p
    best = max(covered(m) for m in subsets(7) if cost[m].sum() <= 5)
    assert max_cover(cover, weights=weight, budget=5, costs=cost).objective == pytest.approx(best)
    best = max(
        covered(m)
        for m in subsets(7)
        if (m & (groups == "a")).sum() <= 1 and (m & (groups == "b")).sum() <= 2
    )
    result = max_cover(cover, weights=weight, groups=groups, p_by_group={"a": 1, "b": 2})
    assert result.objective == pytest.approx(best)
    forced = np.zeros(7, dtype=bool)
    forced[seed % 7] = True
    best = max(covered(m) for m in subsets(7) if m.sum() <= 2 and m[seed % 7])
    result = max_cover(cover, weights=weight, p=2, forced_open=forced)
    assert result.objective == pytest.approx(best)
    assert result.open_sites[seed % 7]


@pytest.mark.parametrize("seed", range(6))
def test_p_median_matches_enumeration(seed: int) -> None:
    distance, weight, _ = instance(seed)
    for p in (1, 2, 3):
        best = min(weight @ distance[:, m].min(axis=1) for m in subsets(7) if m.sum() == p)
        result = p_median(distance, p=p, weights=weight)
        assert result.status == "optimal"
        assert result.objective == pytest.approx(best)
        # the objective is exactly sum(weight x distance) over the reported assignment
        assert result.objective == pytest.approx(float(weight @ result.assigned_distance))
        assert np.allclose(result.assigned_distance, distance[np.arange(12), result.assigned_site])
    limit = float(np.sort(distance.min(axis=1))[-1]) + 1.5
    feasible = [
        m for m in subsets(7) if m.sum() == 3 and (distance[:, m] <= limit).any(axis=1).all()
    ]
    if feasible:
        best = min(weight @ distance[:, m].min(axis=1) for m in feasible)
        assert p_median(
            distance, p=3, weights=weight, max_distance=limit
        ).objective == pytest.approx(best)


def test_p_median_sparse_input_and_ties() -> None:
    distance = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [2.0, 2.0, 2.0]])
    result = p_median(distance, p=1)
    assert result.objective == pytest.approx(4.0)
    # a sparse matrix without the zero diagonal has no pair (i, i): no single site serves all
    with pytest.raises(InfeasibleError, match="raise `p`"):
        p_median(sp.csr_array(distance), p=1)
    assert p_median(sp.csr_array(distance), p=2).objective == pytest.approx(5.0)
    # explicit zeros are real pairs: a sparse matrix storing a zero distance keeps it
    zero = sp.csr_array((np.array([0.0, 5.0]), (np.array([0, 1]), np.array([0, 0]))), shape=(2, 2))
    assert p_median(zero, p=1).objective == pytest.approx(5.0)
    with pytest.raises(InfeasibleError, match="no allowed site"):
        p_median(sp.csr_array((np.array([1.0]), (np.array([0]), np.array([0]))), shape=(2, 2)), p=1)
    with pytest.raises(InputError, match="`p` must be between"):
        p_median(distance, p=0)


def capacitated_brute_force(distance, weight, fixed, capacity, single_source: bool) -> float:
    best = np.inf
    n_demand, n_sites = distance.shape
    for m in subsets(n_sites):
        if not m.any() or capacity[m].sum() < weight.sum():
            continue
        sites = np.flatnonzero(m)
        if single_source:
            for choice in itertools.product(sites, repeat=n_demand):
                load = np.bincount(choice, weights=weight, minlength=n_sites)
                if (load <= capacity + 1e-9).all():
                    best = min(
                        best,
                        fixed[m].sum()
                        + sum(weight[i] * distance[i, j] for i, j in enumerate(choice)),
                    )
            continue
        k = len(sites)
        c = (weight[:, None] * distance[:, sites]).ravel()
        a_eq = np.kron(np.eye(n_demand), np.ones(k))
        a_ub = np.kron(np.ones(n_demand), np.eye(k)) * np.repeat(weight, k)[None, :]
        res = linprog(
            c,
            A_ub=a_ub,
            b_ub=capacity[sites],
            A_eq=a_eq,
            b_eq=np.ones(n_demand),
            bounds=(0, 1),
            method="highs",
        )
        if res.status == 0:
            best = min(best, fixed[m].sum() + res.fun)
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("single_source", [False, True])
def test_capacitated_matches_enumeration(seed: int, single_source: bool) -> None:
    distance, weight, cost = instance(seed, n_demand=5 if single_source else 9, n_sites=4)
    capacity = np.full(4, weight.sum() / 2.2)
    fixed = cost * 10
    best = capacitated_brute_force(distance, weight, fixed, capacity, single_source)
    result = capacitated(
        distance,
        weights=weight,
        fixed_costs=fixed,
        capacities=capacity,
        single_source=single_source,
    )
    assert result.objective == pytest.approx(best, rel=1e-7)
    load = np.asarray(result.assignment.T @ weight).ravel()
    assert (load <= capacity + 1e-6).all()
    assert result.covered_share == pytest.approx(np.ones(len(weight)))
    if single_source:
        assert set(np.round(result.assignment.data, 6)) <= {1.0}


def test_capacitated_infeasible_capacity() -> None:
    distance, weight, cost = instance(0, n_demand=5, n_sites=3)
    with pytest.raises(InfeasibleError, match="total capacity"):
        capacitated(distance, weights=weight, fixed_costs=cost, capacities=np.ones(3))


def test_time_limited_run_returns_incumbent_with_gap() -> None:
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 100, size=(120, 2))
    distance = np.linalg.norm(points[:, None] - points[None], axis=2)
    limited = p_median(distance, p=4, settings=SolverSettings(time_limit=0.01))
    # the swap heuristic's plan is the incumbent, returned instead of an error
    assert limited.status in ("feasible", "optimal")
    assert limited.objective is not None
    assert limited.objective == pytest.approx(float(limited.assigned_distance.sum()))
    if limited.status == "feasible" and limited.best_bound is not None:
        assert limited.best_bound <= limited.objective + 1e-6
        assert limited.gap is not None and limited.gap >= 0
    full = p_median(distance, p=4)
    assert full.status == "optimal" and full.gap == 0.0
    assert full.objective <= limited.objective + 1e-9


def test_cbc_reports_bound_and_gap() -> None:
    distance, weight, _ = instance(3, n_demand=30, n_sites=12)
    result = p_median(distance, p=3, weights=weight, settings=SolverSettings(solver="cbc"))
    reference = p_median(distance, p=3, weights=weight)
    assert result.status == "optimal" and result.gap == 0.0
    assert result.objective == pytest.approx(reference.objective)


def test_bad_solver_name() -> None:
    with pytest.raises(SolverError, match="unknown solver"):
        SolverSettings(solver="gurobi")


def test_merging_and_dominance_are_reported() -> None:
    cover = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    result = max_cover(cover, weights=[1.0, 2.0, 3.0], p=1)
    assert result.objective == pytest.approx(6.0)
    assert result.details["n_demand_merged"] == 1
    assert result.details["n_sites_dominated"] == 2
