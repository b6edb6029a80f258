"""The tiered model against brute-force enumeration of every site subset."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from netplan.errors import InfeasibleError, InputError
from netplan.locate.solve import SolverSettings
from netplan.locate.tiered import TieredOptions, tiered

TIERS = ("hub", "station", "point")
PARENT = {"station": "hub", "point": "station"}
RANKS = {"hub": ["hub"], "station": ["station", "hub"], "point": ["point", "station", "hub"]}


def random_instance(seed: int, n_demand: int = 14, n_sites: int = 8) -> dict:
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, 100, size=(n_demand, 2))
    site_xy = rng.uniform(0, 100, size=(n_sites, 2))
    tiers = np.array([TIERS[k] for k in rng.integers(0, 3, size=n_sites)], dtype=object)
    tiers[0] = "hub"
    radius = {"hub": 45.0, "station": 30.0, "point": 18.0}
    support_radius = {"station": 70.0, "point": 40.0}
    status = np.array(["candidate"] * n_sites, dtype=object)
    status[rng.integers(0, n_sites)] = "existing"
    if seed % 3 == 0:
        status[rng.integers(0, n_sites)] = "closed"
    distance = np.linalg.norm(demand_xy[:, None, :] - site_xy[None, :, :], axis=2)
    grades = np.array(["A" if g < 0.3 else "B" for g in rng.uniform(size=n_demand)], dtype=object)
    reach_radius = np.array([radius[t] for t in tiers])
    within = distance <= reach_radius[None, :]
    cover = sp.csr_array(np.where(within, distance, 0.0))
    cover = sp.csr_array((distance[within], np.nonzero(within)), shape=within.shape)
    site_distance = np.linalg.norm(site_xy[:, None, :] - site_xy[None, :, :], axis=2)
    support = np.zeros((n_sites, n_sites), dtype=bool)
    needs = np.zeros(n_sites, dtype=bool)
    for j, tier in enumerate(tiers):
        if tier in PARENT:
            needs[j] = True
            support[j] = (tiers == PARENT[tier]) & (site_distance[j] <= support_radius[tier])
            support[j, j] = False
    return {
        "cover": cover,
        "within": within,
        "weights": rng.integers(1, 20, size=n_demand).astype(float),
        "tiers": tiers,
        "status": status,
        "fixed": np.array([{"hub": 50.0, "station": 20.0, "point": 7.0}[t] for t in tiers])
        + rng.integers(0, 5, size=n_sites),
        "capacity": np.array([{"hub": 120.0, "station": 45.0, "point": 20.0}[t] for t in tiers]),
        "support": sp.csr_array(support.astype(float)),
        "support_dense": support,
        "needs": needs,
        "grades": grades,
    }


def capacitated_coverage(inst: dict, open_mask: np.ndarray) -> float:
    """Most weight coverable by the open sites under capacities (an LP)."""
    pairs = np.argwhere(inst["within"] & open_mask[None, :])
    if len(pairs) == 0:
        return 0.0
    w = inst["weights"]
    n_demand = len(w)
    cost = -w[pairs[:, 0]]
    a_rows, b = [], []
    for i in range(n_demand):
        a_rows.append((pairs[:, 0] == i).astype(float))
        b.append(1.0)
    for j in np.flatnonzero(open_mask):
        if np.isfinite(inst["capacity"][j]):
            a_rows.append(np.where(pairs[:, 1] == j, w[pairs[:, 0]], 0.0))
            b.append(inst["capacity"][j])
    res = linprog(cost, A_ub=np.array(a_rows), b_ub=np.array(b), bounds=(0, 1), method="highs")
    return float(-res.fun)


def brute_force(inst: dict, options: TieredOptions) -> tuple[float, float] | None:
    """Return (best primary, secondary) over every feasible subset, or None if none is feasible."""
    tiers, status, fixed = inst["tiers"], inst["status"], inst["fixed"]
    n_sites = len(tiers)
    existing = status == "existing"
    allowed = status != "closed"
    forced = existing & ~options.allow_close
    w = inst["weights"]
    total = w.sum()
    best: tuple[float, float] | None = None
    kind = options.resolved_objective()
    for bits in itertools.product([False, True], repeat=n_sites):
        open_mask = np.array(bits)
        if (open_mask & ~allowed).any() or (forced & ~open_mask).any():
            continue
        if options.support:
            ok = True
            for j in np.flatnonzero(open_mask & inst["needs"] & ~existing):
                if not (inst["support_dense"][j] & open_mask).any():
                    ok = False
                    break
            if not ok:
                continue
        if options.p is not None and open_mask.sum() > options.p:
            continue
        if any((open_mask & (tiers == t)).sum() > c for t, c in options.tier_counts.items()):
            continue
        cost = (
            fixed[open_mask & ~existing].sum()
            - (fixed - options.closing_cost)[existing & ~open_mask].sum()
        )
        if options.budget is not None and cost > options.budget + 1e-9:
            continue
        covered_pts = (inst["within"] & open_mask[None, :]).any(axis=1)
        ok = True
        for grade, tier_name in options.grade_min_tier.items():
            good = np.isin(tiers, RANKS[tier_name])
            reachable = (inst["within"] & (good & allowed)[None, :]).any(axis=1)
            # only sites that can open at all count as "reaching" (support chain); the brute force
            # uses the same rule as the model: any allowed site of a good tier that can be opened.
            need = (inst["grades"] == grade) & reachable
            met = (inst["within"] & (good & open_mask)[None, :]).any(axis=1)
            if (need & ~met).any():
                ok = False
                break
        if not ok:
            continue
        coverage = (
            capacitated_coverage(inst, open_mask)
            if options.capacitated
            else float(w[covered_pts].sum())
        )
        if kind == "min_cost":
            if coverage + 1e-9 < options.coverage_target * total:
                continue
            key = (cost, -coverage)
        else:
            key = (-coverage, cost)
        if best is None or key < best:
            best = key
    return best


def solve(
    inst: dict, options: TieredOptions, method: str = "auto", settings: SolverSettings | None = None
):
    """Return ``tiered`` on a random instance (its default method and settings unless given)."""
    return tiered(
        inst["cover"],
        weights=inst["weights"],
        site_tiers=inst["tiers"],
        site_status=inst["status"],
        fixed_costs=inst["fixed"],
        capacities=inst["capacity"],
        support=inst["support"],
        needs_support=inst["needs"],
        options=options,
        tier_ranks=RANKS,
        demand_grades=inst["grades"],
        settings=settings or SolverSettings(),
        method=method,
    )


CASES = [
    TieredOptions(budget=60.0),
    TieredOptions(budget=90.0, tier_counts={"station": 1}),
    TieredOptions(coverage_target=0.6),
    TieredOptions(coverage_target=0.5, allow_close=True, closing_cost=3.0),
    TieredOptions(budget=40.0, allow_close=True),
    TieredOptions(p=3),
    TieredOptions(budget=100.0, capacitated=True),
    TieredOptions(coverage_target=0.4, capacitated=True),
    TieredOptions(budget=120.0, grade_min_tier={"A": "station"}),
    TieredOptions(budget=80.0, support=False),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_tiered_matches_brute_force(seed: int, case: int) -> None:
    inst = random_instance(seed)
    options = CASES[case]
    expected = brute_force(inst, options)
    if expected is None:
        with pytest.raises(InfeasibleError):
            solve(inst, options)
        return
    result = solve(inst, options)
    assert result.status == "optimal"
    primary, secondary = expected
    kind = options.resolved_objective()
    covered = result.details["covered_weight"]
    cost = result.details["net_cost"]
    if kind == "min_cost":
        assert cost == pytest.approx(primary, abs=1e-6)
        assert covered == pytest.approx(-secondary, rel=1e-6, abs=1e-6)
    else:
        assert covered == pytest.approx(-primary, rel=1e-6, abs=1e-6)
        assert cost == pytest.approx(secondary, abs=1e-6)
    # The returned plan itself respects the chain for new sites.
    open_mask = result.open_sites
    for j in np.flatnonzero(open_mask & inst["needs"] & (inst["status"] != "existing")):
        if options.support:
            assert (inst["support_dense"][j] & open_mask).any()


def test_unreachable_target_names_the_demand() -> None:
    inst = random_instance(1)
    inst["cover"] = sp.csr_array(inst["cover"].toarray() * 0)
    inst["cover"] = sp.csr_array(inst["within"].astype(float)[:, :])
    inst["within"][0] = False
    inst["cover"] = sp.csr_array(
        (np.ones(int(inst["within"].sum())), np.nonzero(inst["within"])), shape=inst["within"].shape
    )
    with pytest.raises(InfeasibleError, match=r"cannot be met.*no candidate reaches: 0"):
        solve(inst, TieredOptions(coverage_target=1.0))


def test_budget_below_required_cost_is_infeasible() -> None:
    inst = random_instance(2)
    inst["status"][:] = "candidate"
    inst["status"][0] = "required"
    with pytest.raises(InfeasibleError, match="budget"):
        solve(inst, TieredOptions(budget=1.0))


def test_missing_limit_is_an_input_error() -> None:
    inst = random_instance(3)
    with pytest.raises(InputError, match="needs a limit"):
        solve(inst, TieredOptions())
