"""The tiered local search keeps every plan feasible and never makes it dearer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.locate.heuristics import CoverNeighbourhood, improve_min_cost


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
