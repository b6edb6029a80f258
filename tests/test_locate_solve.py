"""The solver layer on its own: HiGHS and CBC agree, limits, fallbacks and infeasibility claims."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.errors import InfeasibleError, SolverError, SolverWarning
from netplan.locate import solve as solve_module
from netplan.locate.solve import (
    MilpArrays,
    SolveOutcome,
    SolverSession,
    SolverSettings,
    confirm_infeasible,
    relative_gap,
    solve_milp,
)
from netplan.locate.tiered import TieredOptions, tiered


def knapsack(capacity: float = 10.0, *, weights: list[float] | None = None) -> MilpArrays:
    """Maximise value under one weight row: brute force gives the answer."""
    value = np.array([6.0, 5.0, 8.0, 9.0, 6.0, 7.0])
    weight = np.array(weights or [2.0, 3.0, 6.0, 7.0, 5.0, 9.0])
    return MilpArrays(
        objective=value,
        col_lower=np.zeros(6),
        col_upper=np.ones(6),
        integer=np.ones(6, dtype=bool),
        matrix=sp.csr_array(weight[None, :]),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([capacity]),
        maximize=True,
        offset=1.5,
    )


def knapsack_optimum(model: MilpArrays) -> float:
    best = -np.inf
    weight = model.matrix.toarray()[0]
    for bits in itertools.product([0.0, 1.0], repeat=model.n_columns):
        x = np.array(bits)
        if weight @ x <= model.row_upper[0] + 1e-9:
            best = max(best, float(model.objective @ x))
    return best + model.offset


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("capacity", [0.0, 5.0, 10.0, 17.0])
def test_both_solvers_match_brute_force(solver: str, capacity: float) -> None:
    model = knapsack(capacity)
    outcome = solve_milp(model, SolverSettings(solver=solver))
    assert outcome.status == "optimal"
    assert outcome.solver == solver
    assert outcome.objective == pytest.approx(knapsack_optimum(model))
    assert outcome.values is not None
    # The reported objective is the one the values achieve.
    assert float(model.objective @ outcome.values) + model.offset == pytest.approx(
        outcome.objective
    )
    assert outcome.gap == 0.0


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_infeasible_model_is_reported_and_confirmed(solver: str) -> None:
    model = knapsack()
    model.row_lower = np.array([100.0])  # weight >= 100 cannot hold with weights summing to 32
    model.row_upper = np.array([np.inf])
    outcome = solve_milp(model, SolverSettings(solver=solver))
    assert outcome.status == "infeasible"
    assert outcome.values is None
    assert len(outcome.extra["infeasible_confirmed_by"]) >= 2


def test_empty_model_is_its_offset() -> None:
    model = MilpArrays(
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, dtype=bool),
        sp.csr_array((0, 0)),
        np.zeros(0),
        np.zeros(0),
        offset=4.0,
    )
    outcome = solve_milp(model)
    assert (outcome.status, outcome.objective, outcome.best_bound) == ("optimal", 4.0, 4.0)


def test_relative_gap() -> None:
    assert relative_gap(100.0, 99.0) == pytest.approx(0.01)
    assert relative_gap(0.0, 0.0) == 0.0
    assert relative_gap(None, 1.0) is None
    assert relative_gap(1.0, float("inf")) is None


@pytest.mark.parametrize(
    "settings",
    [
        {"solver": "gurobi"},
        {"time_limit": 0.0},
        {"time_limit": -1.0},
        {"gap": 1.0},
        {"gap": -0.1},
    ],
)
def test_bad_settings_are_refused(settings: dict) -> None:
    with pytest.raises(SolverError):
        SolverSettings(**settings)


def test_a_failing_solver_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> SolveOutcome:
        raise RuntimeError("boom")

    monkeypatch.setattr(solve_module, "_solve_highs", broken)
    model = knapsack()
    with pytest.warns(SolverWarning, match="solved with cbc instead"):
        outcome = solve_milp(model, SolverSettings(solver="highs"))
    assert outcome.solver == "cbc"
    assert outcome.objective == pytest.approx(knapsack_optimum(model))


def test_both_solvers_failing_is_one_solver_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> SolveOutcome:
        raise RuntimeError("boom")

    monkeypatch.setattr(solve_module, "_solve_highs", broken)
    monkeypatch.setattr(solve_module, "_solve_cbc", broken)
    with pytest.raises(SolverError, match="failed too"):
        solve_milp(knapsack())


def _presolve_says_infeasible(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make HiGHS with presolve call every model infeasible (as it did on a tight instance)."""
    real = solve_module._solve_highs
    calls: list[bool] = []

    def fake(model: MilpArrays, settings: SolverSettings, *, presolve: bool = True) -> SolveOutcome:
        calls.append(presolve)
        if presolve:
            return SolveOutcome("infeasible", None, None, None, None, 0.01, "highs", "Infeasible")
        return real(model, settings, presolve=False)

    monkeypatch.setattr(solve_module, "_solve_highs", fake)
    return calls


def test_a_presolve_infeasibility_is_checked_before_it_is_believed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 11: HiGHS presolve declared a tight, feasible model infeasible; CBC solved it.
    calls = _presolve_says_infeasible(monkeypatch)
    model = knapsack()
    outcome = solve_milp(model, SolverSettings(solver="highs"))
    assert calls == [True, False]
    assert outcome.status == "optimal"
    assert outcome.objective == pytest.approx(knapsack_optimum(model))
    assert outcome.extra["infeasible_overruled"] == "highs (presolve)"


def test_the_session_checks_infeasibility_too(monkeypatch: pytest.MonkeyPatch) -> None:
    session = SolverSession(SolverSettings())
    monkeypatch.setattr(
        session,
        "_solve_highs",
        lambda model, settings: SolveOutcome("infeasible", None, None, None, None, 0.0, "highs"),
    )
    model = knapsack()
    outcome = session.solve(model)
    assert outcome.status == "optimal"
    assert outcome.objective == pytest.approx(knapsack_optimum(model))


def test_confirm_leaves_other_outcomes_alone() -> None:
    outcome = SolveOutcome("feasible", 1.0, 0.5, 0.5, np.ones(6), 0.1, "highs")
    assert confirm_infeasible(knapsack(), SolverSettings(), outcome) is outcome


def test_session_reuses_the_model_when_only_bounds_change() -> None:
    session = SolverSession(SolverSettings())
    results = []
    for capacity in (5.0, 10.0, 17.0):
        model = knapsack(capacity)
        outcome = session.solve(model)
        results.append((outcome.objective, knapsack_optimum(model)))
    assert session.n_reused == 2
    for got, expected in results:
        assert got == pytest.approx(expected)


def test_time_limited_solve_returns_an_incumbent_with_an_honest_gap() -> None:
    # A random set-covering instance big enough not to finish in a few milliseconds.
    rng = np.random.default_rng(7)
    n_rows, n_cols = 400, 300
    matrix = sp.random_array((n_rows, n_cols), density=0.03, rng=rng, format="csr")
    matrix.data[:] = 1.0
    matrix = sp.csr_array(sp.hstack([matrix, sp.eye_array(n_rows, format="csr")], format="csr"))
    cost = np.concatenate([rng.uniform(1, 3, n_cols), np.full(n_rows, 50.0)])
    model = MilpArrays(
        cost,
        np.zeros(len(cost)),
        np.ones(len(cost)),
        np.ones(len(cost), dtype=bool),
        matrix,
        np.ones(n_rows),
        np.full(n_rows, np.inf),
    )
    outcome = solve_milp(model, SolverSettings(time_limit=0.05))
    assert outcome.status in ("optimal", "feasible", "no_solution")
    if outcome.values is not None:
        assert outcome.objective == pytest.approx(float(cost @ outcome.values))
        assert (matrix @ outcome.values >= 1 - 1e-6).all()
    if outcome.best_bound is not None and outcome.objective is not None:
        assert outcome.best_bound <= outcome.objective + 1e-6


# --------------------------------------------------------------------------- issue 11 in tiered


def small_tiered() -> dict:
    rng = np.random.default_rng(3)
    n_demand, n_sites = 30, 8
    within = rng.uniform(size=(n_demand, n_sites)) < 0.2
    within[0, :] = False  # one point nobody reaches: the best share is below 1
    cover = sp.csr_array((np.ones(int(within.sum())), np.nonzero(within)), shape=within.shape)
    return {
        "cover": cover,
        "weights": rng.uniform(0.1, 3.0, n_demand),
        "site_tiers": np.array(["point"] * n_sites, dtype=object),
        "site_status": np.array(["candidate"] * n_sites, dtype=object),
        "fixed_costs": rng.uniform(1.0, 5.0, n_sites),
        "capacities": np.full(n_sites, np.inf),
        "support": None,
        "needs_support": np.zeros(n_sites, dtype=bool),
    }


def best_share(inst: dict) -> float:
    reached = (inst["cover"] @ np.ones(inst["cover"].shape[1])) > 0
    return float(inst["weights"][reached].sum() / inst["weights"].sum())


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("nudge", [0.0, 5e-10, -5e-10])
def test_a_target_equal_to_the_best_reachable_share_gives_a_plan(solver: str, nudge: float) -> None:
    # Issue 11: a target equal (within rounding) to the most coverage reachable must be met.
    inst = small_tiered()
    target = best_share(inst) + nudge
    result = tiered(
        **inst,
        options=TieredOptions(objective="min_cost", coverage_target=target),
        settings=SolverSettings(solver=solver),
    )
    assert result.status == "optimal"
    reached = (inst["cover"] @ result.open_sites.astype(float)) > 0
    assert reached.sum() == ((inst["cover"] @ np.ones(8)) > 0).sum()
    assert result.details["covered_weight"] >= (best_share(inst) - 1e-9) * inst["weights"].sum()


def test_a_target_truly_above_the_best_share_is_still_refused() -> None:
    inst = small_tiered()
    with pytest.raises(InfeasibleError, match="cannot be met"):
        tiered(
            **inst,
            options=TieredOptions(objective="min_cost", coverage_target=best_share(inst) + 1e-6),
        )


def test_min_cost_survives_a_false_infeasible_from_presolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inst = small_tiered()
    expected = tiered(**inst, options=TieredOptions(coverage_target=0.5))
    _presolve_says_infeasible(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = tiered(**inst, options=TieredOptions(coverage_target=0.5))
    assert result.status == "optimal"
    assert result.details["net_cost"] == pytest.approx(expected.details["net_cost"])


# --------------------------------------------------------------------------- feedback


def hard_knapsack(seed: int = 0, n: int = 60, m: int = 30) -> MilpArrays:
    """A multi-row knapsack that needs a branch-and-bound search (not solved at the root)."""
    rng = np.random.default_rng(seed)
    matrix = rng.integers(1, 50, size=(m, n)).astype(float)
    return MilpArrays(
        objective=rng.integers(10, 100, size=n).astype(float),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
        matrix=sp.csr_array(matrix),
        row_lower=np.full(m, -np.inf),
        row_upper=matrix.sum(axis=1) / 3,
        maximize=True,
    )


def test_progress_reports_the_search_and_the_library_prints_nothing(capfd, caplog) -> None:
    import logging

    seen: list[solve_module.SolverProgress] = []
    with solve_module.solver_feedback(on_progress=seen.append):
        outcome = solve_milp(hard_knapsack(), SolverSettings(time_limit=1.0))
    assert seen, "no progress reported"
    assert all(s.solver == "highs" and s.seconds >= 0 for s in seen)
    with_plan = [s for s in seen if s.objective is not None]
    assert with_plan
    assert max(s.objective for s in with_plan) <= outcome.objective + 1e-6
    assert all(s.bound is None or s.bound >= s.objective - 1e-6 for s in with_plan)
    # Outside the block nothing is reported, and the solver writes nothing to the terminal.
    after = len(seen)
    solve_milp(knapsack(), SolverSettings())
    assert len(seen) == after
    captured = capfd.readouterr()
    assert "HiGHS" not in captured.out + captured.err
    with (
        caplog.at_level(logging.INFO, logger="netplan"),
        solve_module.solver_feedback(verbose=True),
    ):
        solve_milp(knapsack(), SolverSettings())
    assert any("MIP" in r.getMessage() or "HiGHS" in r.getMessage() for r in caplog.records)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
