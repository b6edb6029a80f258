"""The optional MILP back-ends (SCIP, CP-SAT) against brute force and HiGHS.

Each back-end is skipped when its package is not installed, except under
``CI=true`` where the ``dev`` extra installs both and a missing one fails.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.config import _SOLVERS
from netplan.errors import MissingExtraError, SolverError, SolverWarning
from netplan.locate import solve as solve_module
from netplan.locate.models import max_cover, p_median, set_cover
from netplan.locate.solve import (
    SOLVER_EXTRAS,
    SOLVERS,
    MilpArrays,
    SolverSettings,
    cpsat_program,
    require_solver,
    solve_milp,
    solver_feedback,
)

sys.path.insert(0, os.path.dirname(__file__))
from test_locate_solve import knapsack as solve_knapsack

OPTIONAL = ("scip", "cpsat")


def _installed(backend: str) -> bool:
    return importlib.util.find_spec(SOLVER_EXTRAS[backend][1]) is not None


@pytest.fixture(params=OPTIONAL)
def backend(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if not _installed(name):
        extra, module = SOLVER_EXTRAS[name]
        message = f"{module} is not installed (pip install 'netplan[{extra}]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return name


@pytest.fixture
def cpsat() -> str:
    if not _installed("cpsat"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but ortools is not installed")
        pytest.skip("ortools is not installed (pip install 'netplan[cpsat]')")
    return "cpsat"


# --------------------------------------------------------------------------- small programs


def knapsack(capacity: float, *, weights: list[float] | None = None) -> MilpArrays:
    """test_locate_solve's knapsack with decimal weights (CP-SAT scales the row by 100)."""
    return solve_knapsack(capacity, weights=weights or [2.25, 3.5, 6.0, 7.75, 5.0, 9.1])


def brute_force(model: MilpArrays) -> float | None:
    """Return the optimum of a 0-1 program by enumeration (``None`` when infeasible)."""
    dense = model.matrix.toarray()
    best = None
    for bits in itertools.product([0.0, 1.0], repeat=model.n_columns):
        x = np.array(bits)
        if (x < model.col_lower).any() or (x > model.col_upper).any():
            continue
        activity = dense @ x
        if (activity < model.row_lower - 1e-9).any() or (activity > model.row_upper + 1e-9).any():
            continue
        value = float(model.objective @ x) + model.offset
        if best is None or (value > best if model.maximize else value < best):
            best = value
    return best


def random_cover(
    seed: int, n_demand: int = 40, n_sites: int = 12
) -> tuple[sp.csr_array, np.ndarray]:
    rng = np.random.default_rng(seed)
    cover = sp.csr_array((rng.random((n_demand, n_sites)) < 0.18).astype(np.float64))
    weights = np.round(rng.gamma(2.0, 5.0, n_demand), 3)  # three decimals
    return cover, weights


def cover_brute_force(cover: sp.csr_array, weights: np.ndarray, p: int) -> float:
    dense = cover.toarray() > 0
    return max(
        float(weights[dense[:, list(chosen)].any(axis=1)].sum())
        for chosen in itertools.combinations(range(dense.shape[1]), p)
    )


def median_brute_force(distance: np.ndarray, p: int) -> float:
    return min(
        float(distance[:, list(chosen)].min(axis=1).sum())
        for chosen in itertools.combinations(range(distance.shape[1]), p)
    )


# --------------------------------------------------------------------------- correctness


def test_every_solver_is_listed_in_the_config_and_the_cli() -> None:
    from netplan.cli.plan import Solver

    assert SOLVERS == _SOLVERS
    assert tuple(member.value for member in Solver) == SOLVERS


@pytest.mark.parametrize("capacity", [0.0, 5.0, 10.0, 17.3])
def test_knapsack_equals_brute_force(backend: str, capacity: float) -> None:
    model = knapsack(capacity)
    outcome = solve_milp(model, SolverSettings(solver=backend))
    assert (outcome.status, outcome.solver) == ("optimal", backend)
    assert outcome.objective == pytest.approx(brute_force(model))
    assert outcome.values is not None
    assert float(model.objective @ outcome.values) + model.offset == pytest.approx(
        outcome.objective
    )
    assert outcome.best_bound == pytest.approx(outcome.objective)
    assert outcome.gap == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_max_cover_equals_brute_force_and_highs(backend: str, seed: int) -> None:
    cover, weights = random_cover(seed)
    for p in (1, 3):
        expected = cover_brute_force(cover, weights, p)
        result = max_cover(cover, weights=weights, p=p, settings=SolverSettings(solver=backend))
        highs = max_cover(cover, weights=weights, p=p)
        assert (result.status, result.solver) == ("optimal", backend)
        assert result.objective == pytest.approx(expected)
        assert highs.objective == pytest.approx(expected)
        # The plan achieves what is printed.
        covered = (cover.toarray()[:, result.open_sites] > 0).any(axis=1)
        assert float(weights[covered].sum()) == pytest.approx(result.objective)
        assert result.best_bound is not None
        assert result.best_bound >= expected - 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_p_median_radius_formulation_equals_brute_force(backend: str, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    distance = rng.integers(1, 50, size=(15, 7)).astype(np.float64)
    for p in (1, 2, 3):
        result = p_median(distance, p=p, method="radius", settings=SolverSettings(solver=backend))
        assert (result.status, result.solver) == ("optimal", backend)
        assert result.objective == pytest.approx(median_brute_force(distance, p))


def test_set_cover_matches_highs(backend: str) -> None:
    cover, _ = random_cover(7, n_demand=60, n_sites=15)
    cover = cover[np.flatnonzero(np.diff(cover.indptr) > 0)]
    result = set_cover(cover, settings=SolverSettings(solver=backend))
    assert (result.status, result.solver) == ("optimal", backend)
    assert result.objective == pytest.approx(set_cover(cover).objective)


def test_infeasible_model_is_detected_and_confirmed(backend: str) -> None:
    model = knapsack(10.0)
    model.row_lower, model.row_upper = np.array([100.0]), np.array([np.inf])
    outcome = solve_milp(model, SolverSettings(solver=backend))
    assert outcome.status == "infeasible"
    assert outcome.values is None
    confirmed = outcome.extra["infeasible_confirmed_by"]
    assert confirmed[0] == backend
    assert len(confirmed) >= 2


@pytest.mark.slow  # about 40 s on a loaded 2-core machine (HiGHS proves the optimum first)
def test_a_time_limited_solve_returns_a_feasible_plan_and_a_true_bound(backend: str) -> None:
    rng = np.random.default_rng(5)
    n_demand, n_sites, p = 2_000, 200, 10
    cover = sp.csr_array((rng.random((n_demand, n_sites)) < 0.015).astype(np.float64))
    weights = rng.gamma(2.0, 5.0, n_demand)
    optimum = max_cover(cover, weights=weights, p=p)  # HiGHS after netplan's preprocessing
    assert optimum.status == "optimal"
    assert optimum.objective is not None
    model = max_cover_program(cover, weights, p, start=True)
    limited = solve_milp(model, SolverSettings(solver=backend, time_limit=1.0))
    assert limited.status in ("optimal", "feasible")
    assert limited.solver == backend
    assert limited.values is not None
    x = limited.values
    activity = model.matrix @ x
    assert (activity >= model.row_lower - 1e-6).all()
    assert (activity <= model.row_upper + 1e-6).all()
    assert float(model.objective @ x) + model.offset == pytest.approx(limited.objective)
    assert limited.objective <= optimum.objective + 1e-6
    if limited.status == "optimal":
        assert limited.objective == pytest.approx(optimum.objective)
    elif limited.best_bound is None:  # stopped before its first bound: none is claimed
        assert limited.gap is None
    else:
        assert limited.gap is not None
        assert limited.gap > 0
    if limited.best_bound is not None:  # any bound claimed is a true one
        assert limited.best_bound >= optimum.objective - 1e-9 * optimum.objective


def max_cover_program(
    cover: sp.csr_array, weights: np.ndarray, p: int, *, start: bool = False
) -> MilpArrays:
    """Max cover as arrays: y sites (integer), z demand (continuous); start = first p sites."""
    n_demand, n_sites = cover.shape
    matrix = sp.vstack(
        [
            sp.hstack([-cover, sp.eye(n_demand)]),  # z_i - sum_j a_ij y_j <= 0
            sp.hstack([sp.csr_array(np.ones((1, n_sites))), sp.csr_array((1, n_demand))]),
        ],
        format="csr",
    )
    model = MilpArrays(
        objective=np.concatenate([np.zeros(n_sites), weights]),
        col_lower=np.zeros(n_sites + n_demand),
        col_upper=np.ones(n_sites + n_demand),
        integer=np.concatenate([np.ones(n_sites, dtype=bool), np.zeros(n_demand, dtype=bool)]),
        matrix=sp.csr_array(matrix),
        row_lower=np.full(n_demand + 1, -np.inf),
        row_upper=np.concatenate([np.zeros(n_demand), [float(p)]]),
        maximize=True,
    )
    if start:
        y = (np.arange(n_sites) < p).astype(np.float64)
        z = np.minimum(cover @ y, 1.0)
        model.start = np.concatenate([y, z])
    return model


def test_progress_is_reported(backend: str) -> None:
    cover, weights = random_cover(3)
    seen: list[solve_module.SolverProgress] = []
    with solver_feedback(on_progress=seen.append):
        result = max_cover(cover, weights=weights, p=3, settings=SolverSettings(solver=backend))
    assert result.status == "optimal"
    assert seen
    assert {state.solver for state in seen} == {backend}
    best = max(state.objective for state in seen if state.objective is not None)
    assert best <= result.objective + 1e-6


def test_verbose_sends_the_solver_log_to_the_logger(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="netplan.locate.solve"), solver_feedback(verbose=True):
        solve_milp(knapsack(10.0), SolverSettings(solver=backend))
    assert caplog.records


# --------------------------------------------------------------------------- CP-SAT's translation


def test_cpsat_scales_decimal_rows_and_keeps_fractional_objectives_honest(cpsat: str) -> None:
    model = knapsack(10.0)
    model.objective = np.array([6.1, 5.123456789123, 8.0, 9.0, 6.0, 7.0]) / 3.0
    program = cpsat_program(replace_maximize(model))
    assert program.matrix.data.tolist() == [225, 350, 600, 775, 500, 910]
    assert program.row_upper == [1000]
    assert program.objective_error > 0  # a third has no exact decimal
    outcome = solve_milp(model, SolverSettings(solver=cpsat))
    expected = brute_force(model)
    assert outcome.objective == pytest.approx(expected, rel=1e-12)
    assert outcome.best_bound is not None
    assert outcome.best_bound >= expected  # a true upper bound of a maximisation
    assert outcome.status == "optimal"


def replace_maximize(model: MilpArrays) -> MilpArrays:
    from dataclasses import replace

    return replace(model, objective=-model.objective, maximize=False)


def test_cpsat_rounds_row_bounds_to_what_an_integral_row_can_reach(cpsat: str) -> None:
    # 0.1 x + 0.2 y >= 0.30000000000000004 is x + 2y >= 3 (decimal intent), not >= 4.
    model = MilpArrays(
        objective=np.array([1.0, 1.0]),
        col_lower=np.zeros(2),
        col_upper=np.full(2, 5.0),
        integer=np.ones(2, dtype=bool),
        matrix=sp.csr_array(np.array([[0.1, 0.2]])),
        row_lower=np.array([0.1 + 0.2]),
        row_upper=np.array([np.inf]),
    )
    program = cpsat_program(model)
    assert (program.matrix.data.tolist(), program.row_lower) == ([1, 2], [3])
    outcome = solve_milp(model, SolverSettings(solver=cpsat))
    assert outcome.objective == pytest.approx(2.0)  # y = 2 (x + 2y = 4) or x=1, y=1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("two continuous", "sums 3 continuous"),
        ("same sign", "not a difference"),
        ("fractional weight row", "no power of ten"),
        ("unbounded pulled", "unbounded on a side"),
        ("fractional bound", "bounds that are not integers"),
    ],
)
def test_cpsat_refuses_what_it_cannot_translate_exactly(change: str, reason: str) -> None:
    # Columns 0-1 integer, 2-4 continuous in [0, 1].
    matrix = np.array(
        [
            [1.0, 1.0, -1.0, 0.0, 0.0],  # z0 <= y0 + y1 (written y0 + y1 - z0 >= 0)
            [0.0, 1.0, 0.0, -1.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, -1.0],
            [1.0, 1.0, 0.0, 0.0, 0.0],
        ]
    )
    model = MilpArrays(
        objective=np.array([0.0, 0.0, 3.0, 2.0, 1.0]),
        col_lower=np.zeros(5),
        col_upper=np.ones(5),
        integer=np.array([True, True, False, False, False]),
        matrix=sp.csr_array(matrix),
        row_lower=np.array([0.0, 0.0, 0.0, -np.inf]),
        row_upper=np.array([np.inf, np.inf, np.inf, 1.0]),
        maximize=True,
    )
    assert cpsat_program(model).n_implied_integer == 3  # as built, it translates
    if change == "two continuous":
        matrix[3, 2:] = 1.0
    elif change == "same sign":
        matrix[1, 2] = -1.0
    elif change == "fractional weight row":
        matrix[3, :2] = [1 / 3, 1.0]
    elif change == "unbounded pulled":
        model.col_upper[2] = np.inf  # maximising 3 z0 pulls it up
    else:
        model.col_upper[3] = 0.5
    model.matrix = sp.csr_array(matrix)
    with pytest.raises(SolverError, match=reason):
        cpsat_program(model)


def test_cpsat_falls_back_on_highs_with_a_warning_when_it_refuses(cpsat: str) -> None:
    # A coverage target over fractional weights: one row links every continuous column.
    cover, weights = random_cover(1)
    weights = weights / 7.0
    model = MilpArrays(
        objective=np.concatenate([np.ones(12), np.zeros(40)]),
        col_lower=np.zeros(52),
        col_upper=np.ones(52),
        integer=np.concatenate([np.ones(12, dtype=bool), np.zeros(40, dtype=bool)]),
        matrix=sp.csr_array(
            sp.vstack(
                [
                    sp.hstack([cover, -sp.eye(40)]),
                    sp.hstack([sp.csr_array((1, 12)), sp.csr_array(weights[None, :])]),
                ],
                format="csr",
            )
        ),
        row_lower=np.concatenate([np.zeros(40), [0.5 * weights.sum()]]),
        row_upper=np.full(41, np.inf),
    )
    with pytest.warns(SolverWarning, match="CP-SAT cannot solve this model exactly"):
        outcome = solve_milp(model, SolverSettings(solver=cpsat))
    assert (outcome.status, outcome.solver) == ("optimal", "highs")


# --------------------------------------------------------------------------- missing packages


def test_a_missing_package_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name in ("pyscipopt", "ortools") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    for name in OPTIONAL:
        with pytest.raises(MissingExtraError, match=rf"pip install 'netplan\[{name}\]'"):
            require_solver(name)
        with pytest.raises(MissingExtraError, match=rf"netplan\[{name}\]"):
            SolverSettings(solver=name)
    require_solver("highs")  # bundled: nothing to check
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SolverSettings(solver="cbc")


def test_the_cli_starts_without_the_optional_solvers() -> None:
    code = "import json, sys\nimport netplan.cli\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    loaded = set(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert not {"pyscipopt", "ortools"} & loaded
