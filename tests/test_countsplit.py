"""The support-chain closure rows and the tier-count split against brute force.

* The closure rows are valid: every plan that keeps the support chain keeps
  them (checked on every subset of sites), and they lift the LP bound where
  the plain rows let fractional stations lean on thin hubs.
* ``tiered(method="counts")`` returns the brute-force optimum (both
  objectives, with budgets, counts, closures and capacities), with a bound that
  holds and an honest gap, also when the split is cut short by its time limit.
* ``solve_by_counts`` on its own: an infeasible program, a program without a
  start, and the report of the cells.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.locate.countsplit import CountSplit, solve_by_counts
from netplan.locate.solve import MilpArrays, SolverSettings, relative_gap, solve_milp
from netplan.locate.tiered import TieredOptions

sys.path.insert(0, str(Path(__file__).parent))
from test_locate_tiered import RANKS, random_instance, solve
from test_locate_tiered import brute_force as tiered_brute_force

# ``netplan.locate.tiered`` is shadowed by the function of that name in the package.
tiered_module = importlib.import_module("netplan.locate.tiered")

CASES = [
    TieredOptions(budget=60.0),
    TieredOptions(budget=110.0),
    TieredOptions(coverage_target=0.6),
    TieredOptions(coverage_target=0.8),
    TieredOptions(coverage_target=0.5, allow_close=True, closing_cost=3.0),
    TieredOptions(p=4),
    TieredOptions(budget=90.0, tier_counts={"station": 2}),
    TieredOptions(coverage_target=0.6, capacitated=True),
]


def build(inst: dict, options: TieredOptions):
    """Return the tiered model's internals: the sites and the model arrays."""
    sites = tiered_module._site_setup(
        inst["cover"], inst["weights"], inst["tiers"], inst["status"], inst["fixed"],
        inst["capacity"], inst["support"], inst["needs"], options, None,
    )  # fmt: skip
    model = tiered_module._build_model(
        sites, options, options.resolved_objective(), RANKS, inst["grades"]
    )
    return sites, model


# --------------------------------------------------------------------------- closure rows


def _chain_block(model) -> tuple[sp.csr_array, np.ndarray]:
    """Return the closure rows of ``model`` alone (built again from its parts)."""
    rows = tiered_module._Rows(model.program.n_columns)
    column_support = _column_support(model)
    added = tiered_module._chain_rows(
        rows, model.merged, model.chained, column_support, model.always
    )
    matrix, _, upper = rows.arrays()
    assert matrix.shape[0] == added
    return matrix, upper


def _column_support(model) -> sp.csr_array:
    # The support rows (y_j - sum P(j) y_h <= 0) hold P over the model's columns.
    n_y = model.n_y
    matrix = model.program.matrix.tocsr()
    parents = sp.lil_array((n_y, n_y))
    for r in range(matrix.shape[0]):
        cols = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
        vals = matrix.data[matrix.indptr[r] : matrix.indptr[r + 1]]
        if len(cols) and cols.max() < n_y and (vals > 0).sum() == 1 and vals.max() == 1.0:
            j = cols[vals > 0][0]
            if model.chained[j]:
                for h in cols[vals < 0]:
                    parents[j, h] = 1.0
    return sp.csr_array(parents)


@pytest.mark.parametrize("seed", range(12))
def test_closure_rows_hold_for_every_plan(seed: int) -> None:
    inst = random_instance(seed, n_demand=16, n_sites=10)
    _, model = build(inst, TieredOptions(coverage_target=0.3))
    block, upper = _chain_block(model)
    assert np.all(upper == 0.0)
    column_support = _column_support(model).toarray() > 0
    n_y = model.n_y
    checked = 0
    for bits in itertools.product([False, True], repeat=n_y):
        y = np.array(bits)
        if (model.always & ~y).any():
            continue
        if any(y[j] and not (column_support[j] & y).any() for j in np.flatnonzero(model.chained)):
            continue  # breaks the support chain: not a plan
        z = (model.merged @ y.astype(float)) > 0
        values = np.zeros(model.program.n_columns)
        values[:n_y] = y
        values[n_y : n_y + model.n_z] = z
        assert np.all(block @ values <= 1e-9)
        checked += 1
    assert checked > 0


def test_closure_rows_lift_the_lp_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # One demand point, reached by two stations that both need the one hub (cost 10), which
    # does not reach it. Budget 6. Plain LP: hub 1/2 supports both stations at 1/2, whose sum
    # covers the point fully. Closure row: the point covered needs the hub itself, z <= y_hub,
    # so the LP covers only 6/11 (10 t + t <= 6). No plan covers anything.
    inst = {
        "cover": sp.csr_array(np.array([[0.0, 1.0, 1.0]])),
        "weights": np.array([1.0]),
        "tiers": np.array(["hub", "station", "station"], dtype=object),
        "status": np.array(["candidate"] * 3, dtype=object),
        "fixed": np.array([10.0, 1.0, 1.0]),
        "capacity": np.full(3, np.inf),
        "support": sp.csr_array(np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0]], dtype=float)),
        "needs": np.array([False, True, True]),
        "grades": None,
    }
    options = TieredOptions(budget=6.0)

    def lp_bound() -> float:
        _, model = build(inst, options)
        program = model.program
        relaxed = replace(program, integer=np.zeros(program.n_columns, dtype=bool), start=None)
        value = solve_milp(relaxed).objective
        assert value is not None
        return value

    with_rows = lp_bound()
    monkeypatch.setattr(tiered_module, "_chain_rows", lambda *args: 0)
    without = lp_bound()
    assert without == pytest.approx(1.0)
    assert with_rows == pytest.approx(6.0 / 11.0)
    monkeypatch.undo()
    result = solve(inst, options, "milp", SolverSettings())
    assert result.objective == pytest.approx(0.0)


# --------------------------------------------------------------------------- the split


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_counts_method_is_optimal_with_an_honest_bound(seed: int, case: int) -> None:
    inst = random_instance(seed, n_demand=18, n_sites=11)
    options = CASES[case]
    expected = tiered_brute_force(inst, options)
    if expected is None:
        pytest.skip("no feasible plan on this instance")
    kind = options.resolved_objective()
    optimum = expected[0] if kind == "min_cost" else -expected[0]
    result = solve(inst, options, "counts", SolverSettings())
    plain = solve(inst, options, "milp", SolverSettings())
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optimum, abs=1e-6)
    assert plain.objective == pytest.approx(optimum, abs=1e-6)
    # The lexicographic second objective is the same as the MILP alone's.
    assert result.details["net_cost"] == pytest.approx(plain.details["net_cost"], abs=1e-6)
    assert result.details["covered_weight"] == pytest.approx(
        plain.details["covered_weight"], abs=1e-6
    )
    split = result.details["count_split"]
    assert split["cells"] >= 0 and split["lps"] >= 1
    bound = result.best_bound
    assert bound is not None
    if kind == "min_cost":
        assert bound <= optimum + 1e-6
    else:
        assert bound >= optimum - 1e-6
    assert result.gap == pytest.approx(relative_gap(result.objective, bound), abs=1e-9)


def test_split_happens_on_a_model_with_tiers_to_split() -> None:
    splits = 0
    for seed in range(6):
        inst = random_instance(seed, n_demand=18, n_sites=11)
        result = solve(inst, TieredOptions(coverage_target=0.8), "counts", SolverSettings())
        by_cell = result.details["count_split"]["by_cell"]
        splits += sum(1 for cell in by_cell if cell["counts"])
        for cell in by_cell:
            assert cell["state"] in ("solved", "pruned")
            assert set(cell["counts"]) <= {"hub", "station", "point"}
    assert splits > 0


@pytest.mark.parametrize("seed", range(4))
def test_time_limited_split_keeps_an_honest_bound(seed: int) -> None:
    inst = random_instance(seed, n_demand=18, n_sites=11)
    options = TieredOptions(coverage_target=0.7)
    expected = tiered_brute_force(inst, options)
    if expected is None:
        pytest.skip("no feasible plan on this instance")
    _, model = build(inst, options)
    program = model.program
    outcome = solve_by_counts(
        program,
        [np.arange(model.n_y)],
        SolverSettings(time_limit=0.05),
        names=["all"],
    )
    optimum = expected[0]
    if outcome.best_bound is not None:
        assert outcome.best_bound <= optimum + 1e-6
    if outcome.objective is not None:
        assert outcome.objective >= optimum - 1e-6
        assert outcome.gap == pytest.approx(
            relative_gap(outcome.objective, outcome.best_bound), abs=1e-9
        )


def _knapsack(maximize: bool, start: bool) -> MilpArrays:
    # Pick items of two groups; group 0 items weigh 5, group 1 items weigh 3; capacity 11.
    values = np.array([7.0, 6.5, 6.0, 3.0, 2.9, 2.8, 2.7])
    weights = np.array([5.0, 5.0, 5.0, 3.0, 3.0, 3.0, 3.0])
    program = MilpArrays(
        values if maximize else -values,
        np.zeros(7),
        np.ones(7),
        np.ones(7, dtype=bool),
        sp.csr_array(weights[None, :]),
        np.array([-np.inf]),
        np.array([11.0]),
        maximize=maximize,
    )
    if start:
        program.start = np.array([1.0, 0, 0, 1.0, 0, 0, 0])  # value 10
    return program


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("start", [True, False])
def test_solve_by_counts_matches_brute_force(maximize: bool, start: bool) -> None:
    program = _knapsack(maximize, start)
    best = None
    for bits in itertools.product([0.0, 1.0], repeat=7):
        x = np.array(bits)
        if program.matrix @ x <= 11.0:
            value = float(program.objective @ x)
            if best is None or (value > best if maximize else value < best):
                best = value
    groups = [np.arange(3), np.arange(3, 7)]
    outcome = solve_by_counts(program, groups, SolverSettings(), names=["big", "small"])
    assert outcome.status == "optimal"
    assert outcome.objective == pytest.approx(best)
    assert outcome.best_bound == pytest.approx(best)
    report = outcome.extra["count_split"]
    assert isinstance(report, CountSplit)
    assert report.n_lps >= 3
    # The root LP is a relaxation: never worse than the optimum.
    assert report.root_bound is not None
    assert (report.root_bound >= best - 1e-9) if maximize else (report.root_bound <= best + 1e-9)
    assert all(set(cell["counts"]) <= {"big", "small"} for cell in report.cells)


def test_solve_by_counts_on_an_infeasible_program() -> None:
    program = MilpArrays(
        np.ones(3),
        np.zeros(3),
        np.ones(3),
        np.ones(3, dtype=bool),
        sp.csr_array(np.ones((1, 3))),
        np.array([4.0]),
        np.array([np.inf]),
    )
    outcome = solve_by_counts(program, [np.arange(3)], SolverSettings())
    assert outcome.status == "infeasible"
    assert outcome.values is None


def test_a_root_lp_cut_short_is_no_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scans stop before the root LP answers: the plan must not be called optimal.
    countsplit = importlib.import_module("netplan.locate.countsplit")

    def stopped(self, counts):
        raise countsplit._ScanStopped("time")

    monkeypatch.setattr(countsplit._Search, "lp", stopped)
    program = _knapsack(maximize=True, start=True)
    outcome = solve_by_counts(program, [np.arange(3), np.arange(3, 7)], SolverSettings())
    # The whole program is then solved as one cell, and proven by the MILP itself.
    assert outcome.status == "optimal"
    assert outcome.objective == pytest.approx(13.5)
    assert outcome.extra["count_split"].n_cells == 1
    assert outcome.extra["count_split"].cells[0]["counts"] == {}
