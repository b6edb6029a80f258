"""The tiered local search keeps every plan feasible and never makes it dearer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.locate.heuristics import CoverNeighbourhood, improve_max_coverage, improve_min_cost


def instance(seed: int) -> tuple[CoverNeighbourhood, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_rows, n_cols = 60, 25
    cover = sp.csr_array((rng.uniform(size=(n_rows, n_cols)) < 0.12).astype(float))
    tiers = np.array(["hub"] * 5 + ["station"] * 20, dtype=object)
    chained = tiers == "station"
    parents = np.zeros((n_cols, n_cols))
    parents[5:, :5] = rng.uniform(size=(20, 5)) < 0.4
    cost = np.where(tiers == "hub", 10.0, 3.0) + rng.integers(0, 3, n_cols)
    forced = np.zeros(n_cols, dtype=bool)
    forced[0] = True
    space = CoverNeighbourhood(
        cover=cover,
        weight=rng.uniform(0.5, 2.0, n_rows),
        cost=cost,
        forced=forced,
        chained=chained,
        parents=sp.csr_array(parents),
        tiers=tiers,
        tier_limits={},
        p=None,
    )
    # Start: every site that has an open parent chain (all hubs, supported stations).
    start = ~chained.copy()
    start |= chained & ((sp.csr_array(parents) @ start.astype(float)) > 0)
    return space, start


def feasible(space: CoverNeighbourhood, plan: np.ndarray, needed: float) -> bool:
    covered = float(space.weight[space.counts(plan) > 0].sum())
    supported = space.supported(plan)
    return covered >= needed - 1e-9 and bool((supported | ~plan).all()) and plan[space.forced].all()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("share", [0.3, 0.6, 0.9])
def test_local_search_keeps_feasibility_and_never_costs_more(seed: int, share: float) -> None:
    space, start = instance(seed)
    reachable = float(space.weight[space.counts(start) > 0].sum())
    needed = share * reachable
    assert feasible(space, start, needed)
    better = improve_min_cost(space, start.copy(), needed)
    assert feasible(space, better, needed)
    assert space.cost[better].sum() <= space.cost[start].sum() + 1e-9


def test_local_search_drops_what_is_not_needed() -> None:
    space, start = instance(1)
    better = improve_min_cost(space, start.copy(), 0.0)
    # Nothing is needed: only the forced site stays.
    assert better.sum() == 1
    assert better[0]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("budget", [12.0, 25.0, 60.0])
def test_max_coverage_search_keeps_the_budget_and_never_covers_less(
    seed: int, budget: float
) -> None:
    space, _ = instance(seed)
    start = space.forced.copy()
    covered_before = float(space.weight[space.counts(start) > 0].sum())
    better = improve_max_coverage(space, start.copy(), budget)
    assert feasible(space, better, covered_before)
    assert space.cost[better].sum() <= budget + 1e-9
    # No affordable, supported site with new weight is left closed.
    counts = space.counts(better)
    spare = budget - space.cost[better].sum()
    gain = space.by_column @ np.where(counts > 0, 0.0, space.weight)
    addable = ~better & (gain > 0) & space.supported(better) & (space.cost <= spare + 1e-9)
    assert not addable.any()
