"""The Lagrangian relaxation of the tiered model against brute-force enumeration.

On small random tiered instances (every subset of sites enumerated):
the bound never crosses the optimum in either sense, for the subgradient's
best multipliers and for arbitrary ones; reduced-cost fixing never removes
the optimum; the heuristic's plan is feasible; and ``tiered`` with the
Lagrangian phase returns the optimum with an honest bound and gap.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.errors import InputError
from netplan.locate.heuristics import CoverNeighbourhood
from netplan.locate.lagrangian import (
    LagrangianProblem,
    _Multipliers,
    _solve_split,
    lagrangian_bound,
)
from netplan.locate.solve import SolveOutcome, SolverSettings, relative_gap
from netplan.locate.tiered import TieredOptions

TIERS = ("hub", "station", "point")
PARENT = {"station": "hub", "point": "station"}


def make_problem(
    seed: int, *, maximize: bool, n_rows: int = 16, n_columns: int = 10
) -> tuple[LagrangianProblem, dict]:
    """Return a random uncapacitated tiered model over its columns, and its raw arrays."""
    rng = np.random.default_rng(seed)
    row_xy = rng.uniform(0, 100, size=(n_rows, 2))
    column_xy = rng.uniform(0, 100, size=(n_columns, 2))
    tiers = np.array([TIERS[k] for k in rng.integers(0, 3, size=n_columns)], dtype=object)
    tiers[0] = "hub"
    radius = np.array([{"hub": 45.0, "station": 30.0, "point": 18.0}[t] for t in tiers])
    distance = np.linalg.norm(row_xy[:, None, :] - column_xy[None, :, :], axis=2)
    within = distance <= radius[None, :]
    keep = within.any(axis=1)
    within = within[keep]
    weight = rng.integers(1, 20, size=int(keep.sum())).astype(float)
    cost = np.array([{"hub": 50.0, "station": 20.0, "point": 7.0}[t] for t in tiers])
    cost += rng.integers(0, 5, size=n_columns)
    forced = np.zeros(n_columns, dtype=bool)
    if seed % 2:
        forced[int(rng.integers(0, n_columns))] = True
    column_distance = np.linalg.norm(column_xy[:, None, :] - column_xy[None, :, :], axis=2)
    parents = np.zeros((n_columns, n_columns), dtype=bool)
    chained = np.zeros(n_columns, dtype=bool)
    for j, tier in enumerate(tiers):
        if tier in PARENT and not forced[j]:
            chained[j] = True
            parents[j] = (tiers == PARENT[tier]) & (column_distance[j] <= 70.0)
    tier_limits = {"station": 2} if seed % 3 == 0 else {}
    p = 4 if seed % 4 == 1 else None
    space = CoverNeighbourhood(
        cover=sp.csr_array(within.astype(float)),
        weight=weight,
        cost=cost,
        forced=forced,
        chained=chained,
        parents=sp.csr_array(parents.astype(float)),
        tiers=tiers,
        tier_limits=tier_limits,
        p=p,
    )
    total = float(weight.sum())
    needed = None if maximize else 0.6 * total
    budget = 90.0 + float(cost[forced].sum()) if maximize else None
    if not maximize and seed % 5 == 2:
        budget = 400.0  # a min-cost model with a budget cap (a relaxed count row)
    problem = LagrangianProblem(
        space,
        maximize=maximize,
        needed=needed,
        budget=budget,
        row_lower=np.zeros(len(weight)),
        offset=0.0,
    )
    arrays = {"within": within, "parents": parents}
    return problem, arrays


def feasible(problem: LagrangianProblem, arrays: dict, is_open: np.ndarray) -> bool:
    """Return ``True`` when ``is_open`` keeps every row of the model."""
    space = problem.space
    if (space.forced & ~is_open).any():
        return False
    for j in np.flatnonzero(is_open & space.chained):
        if not (arrays["parents"][j] & is_open).any():
            return False
    if space.p is not None and is_open.sum() > space.p:
        return False
    for tier, limit in space.tier_limits.items():
        if (is_open & (space.tiers == tier)).sum() > limit:
            return False
    spent = float(space.cost[is_open].sum())
    if problem.budget is not None and spent > problem.budget + 1e-9:
        return False
    covered = float(space.weight[(arrays["within"] & is_open[None, :]).any(axis=1)].sum())
    return problem.needed is None or covered >= problem.needed - 1e-9


def brute_force(
    problem: LagrangianProblem,
    arrays: dict,
    closed: np.ndarray | None = None,
    opened: np.ndarray | None = None,
) -> float | None:
    """Return the optimum over every feasible subset (respecting fixings), or ``None``."""
    n = problem.n_columns
    best: float | None = None
    for bits in itertools.product([False, True], repeat=n):
        is_open = np.array(bits)
        if closed is not None and (is_open & closed).any():
            continue
        if opened is not None and (opened & ~is_open).any():
            continue
        if not feasible(problem, arrays, is_open):
            continue
        value = problem.value(is_open)
        if best is None or (value > best if problem.maximize else value < best):
            best = value
    return best


def a_start(problem: LagrangianProblem, arrays: dict) -> np.ndarray | None:
    """Return a feasible plan to start from (the first one enumerated), or ``None``."""
    for bits in itertools.product([True, False], repeat=problem.n_columns):
        is_open = np.array(bits)
        if feasible(problem, arrays, is_open):
            return is_open
    return None


SEEDS = range(24)


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_bound_never_crosses_the_optimum(seed: int, maximize: bool) -> None:
    problem, arrays = make_problem(seed, maximize=maximize)
    optimum = brute_force(problem, arrays)
    start = a_start(problem, arrays)
    if optimum is None or start is None:
        pytest.skip("no feasible plan on this instance")
    result = lagrangian_bound(problem, start, time_limit=2.0, max_iterations=400)
    tolerance = 1e-6 * max(1.0, abs(optimum))
    if maximize:
        assert result.bound >= optimum - tolerance
        assert result.plan_value <= optimum + tolerance
    else:
        assert result.bound <= optimum + tolerance
        assert result.plan_value >= optimum - tolerance
    # The heuristic's plan is a real plan, worth what it says.
    assert feasible(problem, arrays, result.plan)
    assert problem.value(result.plan) == pytest.approx(result.plan_value)
    # Never worse than the start.
    start_value = problem.value(start)
    assert (result.plan_value >= start_value) if maximize else (result.plan_value <= start_value)


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_any_multipliers_give_a_bound(seed: int, maximize: bool) -> None:
    problem, arrays = make_problem(seed, maximize=maximize)
    optimum = brute_force(problem, arrays)
    if optimum is None:
        pytest.skip("no feasible plan on this instance")
    rng = np.random.default_rng(100 + seed)
    n_rows = len(problem.space.weight)
    for _ in range(30):
        multipliers = _Multipliers(
            rng.exponential(rng.uniform(0.1, 30.0), size=n_rows),
            rng.exponential(rng.uniform(0.1, 30.0), size=len(problem.chained)),
            rng.exponential(rng.uniform(0.1, 30.0), size=problem.side.shape[0]),
        )
        value = _solve_split(problem, multipliers).value
        if maximize:
            assert value >= optimum - 1e-6
        else:
            assert value <= optimum + 1e-6


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_fixing_keeps_the_optimum(seed: int, maximize: bool) -> None:
    problem, arrays = make_problem(seed, maximize=maximize)
    optimum = brute_force(problem, arrays)
    start = a_start(problem, arrays)
    if optimum is None or start is None:
        pytest.skip("no feasible plan on this instance")
    step = 0.0 if maximize else 1.0  # the costs are whole numbers
    result = lagrangian_bound(
        problem, start, time_limit=2.0, max_iterations=400, integral_step=step
    )
    # The plan the fixing was made against is kept.
    assert not (result.plan & result.fixed_closed).any()
    assert not (result.fixed_open & ~result.plan).any()
    restricted = brute_force(problem, arrays, result.fixed_closed, result.fixed_open)
    assert restricted == pytest.approx(optimum)


def test_fixing_happens() -> None:
    """Fixing is not vacuous: on these instances it fixes some columns."""
    n_fixed = 0
    for seed in range(12):
        for maximize in (False, True):
            problem, arrays = make_problem(seed, maximize=maximize)
            start = a_start(problem, arrays)
            if start is None:
                continue
            result = lagrangian_bound(problem, start, time_limit=2.0, max_iterations=400)
            n_fixed += int(result.fixed_closed.sum() + result.fixed_open.sum())
    assert n_fixed > 0


# --------------------------------------------------------------------------- through `tiered`

sys.path.insert(0, str(Path(__file__).parent))
from test_locate_tiered import brute_force as tiered_brute_force  # noqa: E402
from test_locate_tiered import random_instance, solve  # noqa: E402

TIERED_CASES = [
    TieredOptions(budget=60.0),
    TieredOptions(coverage_target=0.6),
    TieredOptions(coverage_target=0.5, allow_close=True, closing_cost=3.0),
    TieredOptions(p=3),
    TieredOptions(budget=90.0, tier_counts={"station": 1}),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("case", range(len(TIERED_CASES)))
def test_tiered_lagrangian_is_optimal_with_an_honest_bound(seed: int, case: int) -> None:
    inst = random_instance(seed)
    options = TIERED_CASES[case]
    expected = tiered_brute_force(inst, options)
    if expected is None:
        pytest.skip("no feasible plan on this instance")
    result = solve(inst, options, "lagrangian", SolverSettings())
    plain = solve(inst, options, "milp", SolverSettings())
    kind = options.resolved_objective()
    optimum = expected[0] if kind == "min_cost" else -expected[0]
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    assert plain.objective == pytest.approx(optimum, abs=1e-6)
    # The same plan as the MILP alone (lexicographic second objective included).
    assert result.details["net_cost"] == pytest.approx(plain.details["net_cost"], abs=1e-6)
    assert result.details["covered_weight"] == pytest.approx(
        plain.details["covered_weight"], abs=1e-6
    )
    assert result.details["bound_source"] in ("solver", "lagrangian")
    assert "lagrangian_bound" in result.details
    bound = result.best_bound
    assert bound is not None
    if kind == "min_cost":
        assert bound <= optimum + 1e-6
        assert result.details["lagrangian_bound"] <= optimum + 1e-6
    else:
        assert bound >= optimum - 1e-6
        assert result.details["lagrangian_bound"] >= optimum - 1e-6
    assert result.gap == pytest.approx(relative_gap(result.objective, bound), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_time_limited_gap_is_honest(seed: int) -> None:
    """A gap reported is between the re-evaluated plan and a bound that holds."""
    inst = random_instance(seed, n_demand=18, n_sites=10)
    options = TieredOptions(coverage_target=0.7)
    expected = tiered_brute_force(inst, options)
    if expected is None:
        pytest.skip("no feasible plan on this instance")
    result = solve(inst, options, "lagrangian", SolverSettings(time_limit=5.0, gap=0.2))
    optimum = expected[0]
    assert result.details["net_cost"] == pytest.approx(result.objective)
    assert result.objective >= optimum - 1e-6
    assert result.best_bound <= optimum + 1e-6
    assert result.gap == pytest.approx(relative_gap(result.objective, result.best_bound), abs=1e-9)


def test_unknown_method_is_an_input_error() -> None:
    inst = random_instance(0)
    with pytest.raises(InputError, match="unknown tiered method 'fast'"):
        solve(inst, TieredOptions(budget=60.0), "fast", SolverSettings())


@pytest.mark.parametrize(
    "options", [TieredOptions(coverage_target=0.6), TieredOptions(budget=60.0)]
)
def test_plan_and_bound_survive_a_solver_without_answer(
    monkeypatch: pytest.MonkeyPatch, options: TieredOptions
) -> None:
    """A solve that stops with nothing keeps the heuristic's plan and the Lagrangian bound."""
    tiered_module = sys.modules["netplan.locate.tiered"]

    def no_answer(program: object, settings: object = None) -> SolveOutcome:
        return SolveOutcome("no_solution", None, None, None, None, 0.0, "highs")

    monkeypatch.setattr(tiered_module, "solve_milp", no_answer)
    inst = random_instance(2)
    expected = tiered_brute_force(inst, options)
    assert expected is not None
    result = solve(inst, options, "lagrangian", SolverSettings())
    kind = options.resolved_objective()
    optimum = expected[0] if kind == "min_cost" else -expected[0]
    assert result.status == "feasible"
    assert result.details["bound_source"] == "lagrangian"
    assert result.objective == pytest.approx(result.details["lagrangian_plan"])
    value = result.details["net_cost"] if kind == "min_cost" else result.details["covered_weight"]
    assert result.objective == pytest.approx(value)
    if kind == "min_cost":
        assert result.best_bound <= optimum + 1e-6 <= result.objective + 2e-6
    else:
        assert result.best_bound >= optimum - 1e-6 >= result.objective - 2e-6
    assert result.gap == pytest.approx(relative_gap(result.objective, result.best_bound), abs=1e-9)
