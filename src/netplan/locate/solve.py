"""The solver layer: a MILP held as arrays, solved with HiGHS, CBC, SCIP or CP-SAT.

Every model in :mod:`netplan.locate` builds a :class:`MilpArrays` — objective,
bounds, integrality and a CSR constraint matrix with row bounds — from numpy
and scipy arrays, without Python loops over demand-site pairs. It is then
solved by

* **HiGHS** (default), passed whole to ``highspy`` (``passModel``); the best
  bound is HiGHS's ``mip_dual_bound``;
* **CBC**, PuLP's bundled binary, through a PuLP model built from the same
  arrays (:meth:`MilpArrays.to_pulp`); the best bound and gap are read from
  CBC's log;
* **SCIP** (optional extra ``netplan[scip]``), through ``pyscipopt``, built
  from the same arrays; the bound is SCIP's dual bound;
* **CP-SAT** (optional extra ``netplan[cpsat]``), OR-Tools' constraint solver,
  which takes integer data only: the arrays are translated exactly
  (:func:`cpsat_program`) or the model is refused with the reason; the bound
  is CP-SAT's ``BestObjectiveBound`` made a true bound of the model as given.

A solve that stops on its time limit returns its incumbent with status
``"feasible"`` and its gap; only a model without any solution comes back as
``"infeasible"`` or ``"no_solution"``. Statuses are the strings
:data:`STATUSES`.

Solvers are silent: HiGHS's banner ("Running HiGHS ... Copyright") and CBC's
log never reach the terminal; they go to the ``netplan.locate.solve`` logger
(the banner at DEBUG; the whole solver log at INFO inside
:func:`solver_feedback` with ``verbose=True``). A caller that wants a live
progress line passes ``on_progress`` to :func:`solver_feedback`: HiGHS then
reports the elapsed time, the best plan's objective, the bound and the gap
while it searches (:class:`SolverProgress`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netplan.errors import MissingExtraError, SolverError, SolverWarning

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "SOLVERS",
    "SOLVER_EXTRAS",
    "STATUSES",
    "MilpArrays",
    "SolveOutcome",
    "SolverProgress",
    "SolverSession",
    "SolverSettings",
    "confirm_infeasible",
    "cpsat_program",
    "new_highs",
    "require_solver",
    "solve_milp",
    "solver_feedback",
]

logger = logging.getLogger(__name__)

#: Solvers understood by :func:`solve_milp`.
SOLVERS = ("highs", "cbc", "scip", "cpsat")
#: The optional extra (``pip install 'netplan[...]'``) and Python module each optional
#: solver needs.
SOLVER_EXTRAS = {"scip": ("scip", "pyscipopt"), "cpsat": ("cpsat", "ortools")}
#: Result statuses: proven optimal (within the requested gap), a feasible incumbent
#: (time limit), proven infeasible, or stopped without any solution.
STATUSES = ("optimal", "feasible", "infeasible", "no_solution")


@dataclass(frozen=True)
class SolverSettings:
    """How to solve a model.

    Attributes
    ----------
    solver
        ``"highs"`` (default), ``"cbc"``, ``"scip"`` or ``"cpsat"``.
    time_limit
        Seconds before the solver stops and returns its incumbent; ``None``
        for no limit.
    gap
        Relative MIP gap at which the solver may stop (0: prove optimality).
    threads
        Solver threads (``None``: the solver's default; CP-SAT's workers; SCIP
        always solves on one thread).
    seed
        Random seed, for reproducible runs.
    """

    solver: str = "highs"
    time_limit: float | None = None
    gap: float = 0.0
    threads: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            msg = f"unknown solver {self.solver!r}; use one of {', '.join(SOLVERS)}"
            raise SolverError(msg)
        require_solver(self.solver)
        if self.time_limit is not None and not self.time_limit > 0:
            msg = f"`time_limit` must be more than 0 seconds, got {self.time_limit}"
            raise SolverError(msg)
        if not 0 <= self.gap < 1:
            msg = f"`gap` must be a relative gap in [0, 1), got {self.gap}"
            raise SolverError(msg)


@dataclass(frozen=True)
class SolverProgress:
    """Where a running solve stands.

    Attributes
    ----------
    seconds
        Time since this solver call started.
    objective
        Objective of the best plan found so far (``None`` before the first).
    bound
        Best proven bound on the optimum (``None`` while unknown).
    gap
        Relative gap between the two (``None`` while either is unknown).
    solver
        One of :data:`SOLVERS`.
    """

    seconds: float
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str


@dataclass(frozen=True)
class _Feedback:
    verbose: bool = False
    on_progress: Callable[[SolverProgress], None] | None = None


_FEEDBACK: contextvars.ContextVar[_Feedback | None] = contextvars.ContextVar(
    "netplan_solver_feedback", default=None
)


def _feedback() -> _Feedback:
    """Return what the innermost :func:`solver_feedback` asked for (nothing, outside one)."""
    return _FEEDBACK.get() or _Feedback()


#: Seconds between two progress reports of one solve.
PROGRESS_INTERVAL = 0.25


@contextlib.contextmanager
def solver_feedback(
    *, verbose: bool = False, on_progress: Callable[[SolverProgress], None] | None = None
) -> Iterator[None]:
    """Within the block, log the solvers' own output and/or report their progress.

    Parameters
    ----------
    verbose
        Send the solver's whole log (HiGHS's banner and search log, CBC's log)
        to the ``netplan.locate.solve`` logger at INFO. Without it, the solvers
        say nothing (the HiGHS banner goes to DEBUG).
    on_progress
        Called with a :class:`SolverProgress` while HiGHS searches (at most
        every :data:`PROGRESS_INTERVAL` seconds, and at each better plan).

    Examples
    --------
    >>> with solver_feedback(on_progress=lambda state: None):
    ...     pass
    """
    token = _FEEDBACK.set(_Feedback(verbose, on_progress))
    try:
        yield
    finally:
        _FEEDBACK.reset(token)


@dataclass
class MilpArrays:
    """A mixed-integer linear program as arrays.

    ``optimise objective @ x + offset`` subject to
    ``row_lower <= matrix @ x <= row_upper``, ``col_lower <= x <= col_upper``
    and ``x[integer]`` integral.

    Attributes
    ----------
    objective
        Objective coefficients, one per column.
    col_lower, col_upper
        Column bounds (``±inf`` allowed).
    integer
        ``True`` for integer columns.
    matrix
        Constraint matrix, CSR, shape ``(n_rows, n_columns)``.
    row_lower, row_upper
        Row bounds (``±inf`` allowed).
    maximize
        ``True`` to maximise.
    offset
        Constant added to the objective.
    start
        An optional feasible starting solution (HiGHS uses it).
    highs_options
        Extra HiGHS options for this model (e.g. less primal-heuristic effort
        when a good start is given).
    """

    objective: NDArray[np.float64]
    col_lower: NDArray[np.float64]
    col_upper: NDArray[np.float64]
    integer: NDArray[np.bool_]
    matrix: sp.csr_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    maximize: bool = False
    offset: float = 0.0
    start: NDArray[np.float64] | None = None
    highs_options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_columns(self) -> int:
        """Return the number of columns (variables)."""
        return len(self.objective)

    @property
    def n_rows(self) -> int:
        """Return the number of constraint rows."""
        return len(self.row_lower)

    def to_pulp(self, name: str = "netplan") -> tuple[Any, list[Any]]:
        """Return the model as a :class:`pulp.LpProblem` and its variables ``x0``, ``x1``, ...

        The objective is always a minimisation (a maximisation is negated) and
        leaves out :attr:`offset`, so that solver logs and bounds read the same
        way for every model.
        """
        import pulp

        sign = -1.0 if self.maximize else 1.0
        problem = pulp.LpProblem(name, pulp.LpMinimize)
        variables = [
            problem.add_variable(
                f"x{k}",
                lowBound=None if math.isinf(lo) else float(lo),
                upBound=None if math.isinf(hi) else float(hi),
                cat=pulp.LpInteger if is_int else pulp.LpContinuous,
            )
            for k, (lo, hi, is_int) in enumerate(
                zip(
                    self.col_lower.tolist(),
                    self.col_upper.tolist(),
                    self.integer.tolist(),
                    strict=True,
                )
            )
        ]
        cost = sign * self.objective
        nonzero = np.flatnonzero(cost)
        problem += pulp.LpAffineExpression(
            [(variables[k], float(cost[k])) for k in nonzero.tolist()]
        )
        matrix = self.matrix.tocsr()
        indptr, indices, data = matrix.indptr, matrix.indices.tolist(), matrix.data.tolist()
        for row in range(self.n_rows):
            lo, hi = float(self.row_lower[row]), float(self.row_upper[row])
            start, end = int(indptr[row]), int(indptr[row + 1])
            terms = [(variables[indices[k]], data[k]) for k in range(start, end)]
            if lo == hi:
                problem += pulp.LpConstraint(
                    pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"r{row}", lo
                )
                continue
            if not math.isinf(lo):
                problem += pulp.LpConstraint(
                    pulp.LpAffineExpression(terms), pulp.LpConstraintGE, f"r{row}l", lo
                )
            if not math.isinf(hi):
                problem += pulp.LpConstraint(
                    pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"r{row}u", hi
                )
        return problem, variables


@dataclass
class SolveOutcome:
    """What a solve returned.

    Attributes
    ----------
    status
        One of :data:`STATUSES`.
    objective
        Objective of the incumbent (``None`` without one).
    best_bound
        Best proven bound on the optimum (``None`` when unknown).
    gap
        Relative gap ``|objective - best_bound| / max(|objective|, 1e-9)``.
    values
        Column values of the incumbent (``None`` without one).
    solve_seconds
        Wall time of the solver call.
    solver
        The solver that solved (one of :data:`SOLVERS`).
    detail
        The solver's own status word, for messages.
    """

    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    values: NDArray[np.float64] | None
    solve_seconds: float
    solver: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Return ``|objective - bound| / max(|objective|, 1e-9)``, 0 when both are 0."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    difference = abs(objective - bound)
    if difference <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return difference / max(abs(objective), 1e-9)


def solve_milp(model: MilpArrays, settings: SolverSettings | None = None) -> SolveOutcome:
    """Solve ``model`` with the solver ``settings`` name.

    Parameters
    ----------
    model
        The program.
    settings
        Solver, time limit, gap, threads, seed.

    Returns
    -------
    SolveOutcome
        Status, incumbent, bound, gap and solve time. A time-limited solve
        returns its incumbent (status ``"feasible"``).

    Raises
    ------
    SolverError
        When the solver is not available or fails outright.
    """
    settings = settings or SolverSettings()
    if model.n_columns == 0:
        return SolveOutcome(
            "optimal", model.offset, model.offset, 0.0, np.zeros(0), 0.0, settings.solver
        )
    try:
        outcome = _solve_with(settings.solver, model, settings)
    except MissingExtraError:  # the user asked for a solver that is not installed
        raise
    except Exception as exc:  # a missing solver, or one that crashes: try the other one
        outcome = _fall_back(model, settings, exc)
    return confirm_infeasible(model, settings, outcome)


def require_solver(solver: str) -> None:
    """Raise when the optional package ``solver`` needs is not installed.

    HiGHS and CBC come with netplan; SCIP and CP-SAT are optional extras. The
    check looks the module up without importing it (so it costs nothing).

    Raises
    ------
    MissingExtraError
        Naming the extra to install, e.g. ``pip install 'netplan[scip]'``.
    """
    if solver not in SOLVER_EXTRAS:
        return
    import importlib.util

    extra, module = SOLVER_EXTRAS[solver]
    if importlib.util.find_spec(module) is None:
        msg = f"solver {solver} needs {module}: pip install 'netplan[{extra}]' (or use highs)"
        raise MissingExtraError(msg)


def _solve_with(
    solver: str, model: MilpArrays, settings: SolverSettings, *, presolve: bool = True
) -> SolveOutcome:
    if solver == "cbc":
        return _solve_cbc(model, settings)
    if solver == "scip":
        return _solve_scip(model, settings)
    if solver == "cpsat":
        return _solve_cpsat(model, settings)
    return _solve_highs(model, settings, presolve=presolve)


def confirm_infeasible(
    model: MilpArrays, settings: SolverSettings, outcome: SolveOutcome
) -> SolveOutcome:
    """Return ``outcome``, or a better one when its "infeasible" does not survive a second path.

    A presolve can declare a tight but feasible model infeasible (a row met
    with equality within the feasibility tolerance). Before netplan reports
    "no plan", the claim is checked: HiGHS again without presolve, then the
    other solver (each within the run's time limit, or 20 times the first
    solve's time and at least 30 s). The first path that finds a plan wins;
    otherwise the outcome stays infeasible and says which paths agreed
    (``extra["infeasible_confirmed_by"]``; a path that stops without an answer
    neither confirms nor refutes).
    """
    if outcome.status != "infeasible":
        return outcome
    paths: list[tuple[str, bool]] = [("highs", False)]
    paths.append(("cbc", True) if outcome.solver == "highs" else ("highs", True))
    confirmed = [f"{outcome.solver}" + (" (presolve)" if outcome.solver == "highs" else "")]
    spent = outcome.solve_seconds
    # A second opinion gets the run's own limit, or a generous multiple of the first solve.
    limit = settings.time_limit or max(30.0, 20.0 * outcome.solve_seconds)
    for solver, presolve in paths:
        check = replace(settings, solver=solver, time_limit=limit)
        try:
            second = _solve_with(solver, model, check, presolve=presolve)
        except Exception:  # a missing or failing second solver confirms nothing
            continue
        spent += second.solve_seconds
        if second.values is not None:  # a plan: the first "infeasible" was wrong
            second.solve_seconds = spent
            second.extra["infeasible_overruled"] = confirmed[0]
            return second
        if second.status == "infeasible":
            confirmed.append(solver + ("" if presolve or solver == "cbc" else " (no presolve)"))
    outcome.solve_seconds = spent
    outcome.extra["infeasible_confirmed_by"] = confirmed
    return outcome


def _failure_text(failure: Exception) -> str:
    if isinstance(failure, SolverError):
        return str(failure)
    return f"{type(failure).__name__}: {failure}"


def _fall_back(model: MilpArrays, settings: SolverSettings, failure: Exception) -> SolveOutcome:
    """Solve with the other solver after ``settings.solver`` failed, warning that it did.

    Raises
    ------
    SolverError
        When the other solver fails too; the message gives both reasons.
    """
    # HiGHS falls back on CBC; every other solver (CBC, SCIP, CP-SAT) on HiGHS.
    other = "cbc" if settings.solver == "highs" else "highs"
    try:
        outcome = _solve_with(other, model, replace(settings, solver=other))
    except Exception as second:
        msg = (
            f"{settings.solver} failed ({_failure_text(failure)}) and the fallback {other} "
            f"failed too ({_failure_text(second)}); check the solvers: pip install highspy pulp"
        )
        raise SolverError(msg) from None
    msg = f"solver {settings.solver} failed ({_failure_text(failure)}); solved with {other} instead"
    warnings.warn(msg, SolverWarning, stacklevel=3)
    return outcome


# --------------------------------------------------------------------------- HiGHS


def _import_highspy() -> Any:
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency
        msg = "HiGHS is not installed; run `pip install highspy` or pass --solver cbc"
        raise SolverError(msg) from None
    return highspy


#: HiGHS prints its banner once per process, from its constructor, before any option can
#: silence it: the first construction has the process's standard output caught.
_BANNER_LOCK = threading.Lock()
_banner_caught = False


def new_highs() -> Any:
    """Return a ``highspy.Highs``; its once-per-process banner goes to the log, not stdout."""
    global _banner_caught
    highspy = _import_highspy()
    with _BANNER_LOCK:
        if _banner_caught:
            return highspy.Highs()
        _banner_caught = True
        banner, highs = _caught_stdout(highspy.Highs)
    if banner.strip():
        level = logging.INFO if _feedback().verbose else logging.DEBUG
        for line in banner.splitlines():
            logger.log(level, "%s", line)
    return highs


def _caught_stdout(make: Callable[[], Any]) -> tuple[str, Any]:
    """Return what ``make()`` writes to file descriptor 1 (C code included), and its result."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing to catch
        return "", make()
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 1)
        try:
            result = make()
        finally:
            _flush_c_stdout()
            os.dup2(saved, 1)
            os.close(saved)
        caught.seek(0)
        text = caught.read().decode("utf-8", errors="replace")
    return text, result


def _flush_c_stdout() -> None:
    """Flush the C library's stdout buffer (text a library printed but not yet written)."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(Exception):
        name = ctypes.util.find_library("c") or ctypes.util.find_library("msvcrt")
        ctypes.CDLL(name).fflush(None)


def _watch_highs(highs: Any) -> Callable[[], None]:
    """Send the solve's log and progress where :func:`solver_feedback` asks; return the undo."""
    feedback = _feedback()
    undo: list[Callable[[], None]] = []
    if feedback.verbose:
        highs.setOptionValue("output_flag", True)
        highs.setOptionValue("log_to_console", False)

        def on_log(event: Any) -> None:
            text = str(event.message).rstrip("\n")
            if text:
                logger.info("%s", text)

        highs.cbLogging.subscribe(on_log)
        undo.append(lambda: highs.cbLogging.unsubscribe(on_log))
    report = feedback.on_progress
    if report is not None:
        started = time.perf_counter()
        last = [-math.inf]
        improving_type = _import_highspy().cb.HighsCallbackType.kCallbackMipImprovingSolution

        def on_search(event: Any) -> None:
            now = time.perf_counter()
            improving = event.callback_type == improving_type
            if not improving and now - last[0] < PROGRESS_INTERVAL:
                return
            last[0] = now
            data = event.data_out
            objective = _finite(data.mip_primal_bound)
            bound = _finite(data.mip_dual_bound)
            report(
                SolverProgress(
                    seconds=now - started,
                    objective=objective,
                    bound=bound,
                    gap=relative_gap(objective, bound),
                    solver="highs",
                )
            )

        highs.cbMipInterrupt.subscribe(on_search)
        highs.cbMipImprovingSolution.subscribe(on_search)
        undo.append(lambda: highs.cbMipInterrupt.unsubscribe(on_search))
        undo.append(lambda: highs.cbMipImprovingSolution.unsubscribe(on_search))

    def restore() -> None:
        for step in undo:
            with contextlib.suppress(Exception):
                step()
        if feedback.verbose:
            highs.setOptionValue("output_flag", False)

    return restore


def _finite(value: Any) -> float | None:
    """Return ``value`` as a float, or ``None`` when it is not a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e300 else None


def _highs_options(highs: Any, settings: SolverSettings) -> None:
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("random_seed", int(settings.seed))
    highs.setOptionValue("mip_rel_gap", max(settings.gap, 1e-9))
    highs.setOptionValue(
        "time_limit", float(settings.time_limit) if settings.time_limit is not None else math.inf
    )
    if settings.threads is not None:
        highs.setOptionValue("threads", int(settings.threads))


def _highs_pass(highs: Any, model: MilpArrays) -> None:
    highspy = _import_highspy()
    for name, value in model.highs_options.items():
        highs.setOptionValue(name, value)
    matrix = model.matrix.tocsr()
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_columns
    lp.num_row_ = model.n_rows
    lp.col_cost_ = np.ascontiguousarray(model.objective, dtype=np.float64)
    lp.col_lower_ = np.ascontiguousarray(model.col_lower, dtype=np.float64)
    lp.col_upper_ = np.ascontiguousarray(model.col_upper, dtype=np.float64)
    lp.row_lower_ = np.ascontiguousarray(model.row_lower, dtype=np.float64)
    lp.row_upper_ = np.ascontiguousarray(model.row_upper, dtype=np.float64)
    lp.offset_ = float(model.offset)
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.n_columns
    lp.a_matrix_.num_row_ = model.n_rows
    lp.a_matrix_.start_ = np.ascontiguousarray(matrix.indptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.ascontiguousarray(matrix.indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.ascontiguousarray(matrix.data, dtype=np.float64)
    if model.integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in model.integer.tolist()
        ]
    if highs.passModel(lp) == highspy.HighsStatus.kError:
        msg = "HiGHS rejected the model (an internal error in netplan's model builder)"
        raise SolverError(msg)


def _highs_run(highs: Any, model: MilpArrays, start: NDArray[np.float64] | None) -> SolveOutcome:
    highspy = _import_highspy()
    has_integers = bool(model.integer.any())
    if start is not None and has_integers:
        solution = highspy.HighsSolution()
        solution.col_value = list(np.asarray(start, dtype=np.float64))
        solution.value_valid = True
        highs.setSolution(solution)
    started = time.perf_counter()
    restore = _watch_highs(highs)
    try:
        highs.run()
    finally:
        restore()
    seconds = time.perf_counter() - started

    model_status = highs.getModelStatus()
    info = highs.getInfo()
    detail = highs.modelStatusToString(model_status)
    has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    values = np.asarray(highs.getSolution().col_value, dtype=np.float64) if has_solution else None
    objective = float(info.objective_function_value) if has_solution else None
    if values is not None and objective is not None:
        # HiGHS 1.16 can report the optimum's objective while returning other column values
        # after a MIP start (seen on a lexicographic second pass). The plan is built from the
        # values, so check they hold the reported objective; if not, solve again without the
        # start, and never report an objective the values do not have.
        achieved = float(model.objective @ values) + float(model.offset)
        if abs(achieved - objective) > 1e-6 * max(1.0, abs(objective)):
            if start is not None and has_integers:
                highs.clearSolver()
                return _highs_run(highs, model, None)
            objective = achieved
    bound: float | None
    if has_integers:
        bound = float(info.mip_dual_bound)
        if not math.isfinite(bound):
            bound = None
    else:
        bound = objective if model_status == highspy.HighsModelStatus.kOptimal else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        result = "optimal"
        if bound is None:
            bound = objective
    elif model_status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        result = "infeasible"
    elif model_status in (
        highspy.HighsModelStatus.kModelError,
        highspy.HighsModelStatus.kSolveError,
    ):
        msg = f"HiGHS failed: {detail}"
        raise SolverError(msg)
    else:
        result = "feasible" if has_solution else "no_solution"
    return SolveOutcome(
        status=result,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
        values=values,
        solve_seconds=seconds,
        solver="highs",
        detail=detail,
    )


def _solve_highs(
    model: MilpArrays, settings: SolverSettings, *, presolve: bool = True
) -> SolveOutcome:
    highs = new_highs()
    _highs_options(highs, settings)
    _highs_pass(highs, model)
    if not presolve:
        highs.setOptionValue("presolve", "off")
    return _highs_run(highs, model, model.start)


class SolverSession:
    """Solve a sequence of models that differ only in their bounds, reusing the solver.

    With HiGHS the first model is passed once; each later model with the same
    matrix, objective and integrality only changes the row and column bounds
    that differ and starts from the previous solution (when it is feasible
    there, HiGHS keeps it as its first incumbent). A model with another shape
    is passed anew. With CBC every model is solved from scratch.

    Parameters
    ----------
    settings
        Solver settings for every solve.
    """

    def __init__(self, settings: SolverSettings | None = None) -> None:
        self.settings = settings or SolverSettings()
        self._highs: Any = None
        self._model: MilpArrays | None = None
        self._last: NDArray[np.float64] | None = None
        #: How many solves reused the passed model (for reports and tests).
        self.n_reused = 0

    def _same_shape(self, model: MilpArrays) -> bool:
        old = self._model
        if old is None or old.n_rows != model.n_rows or old.n_columns != model.n_columns:
            return False
        if old.maximize != model.maximize or old.offset != model.offset:
            return False
        a, b = old.matrix.tocsr(), model.matrix.tocsr()
        return (
            np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data)
            and np.array_equal(old.objective, model.objective)
            and np.array_equal(old.integer, model.integer)
        )

    def solve(self, model: MilpArrays, settings: SolverSettings | None = None) -> SolveOutcome:
        """Solve ``model``, reusing the previous one's solver state when only bounds changed."""
        settings = settings or self.settings
        if settings.solver != "highs" or model.n_columns == 0:
            return solve_milp(model, settings)
        try:
            outcome = self._solve_highs(model, settings)
        except Exception as exc:  # HiGHS missing or crashed: CBC solves it from scratch
            self._highs = self._model = self._last = None
            outcome = _fall_back(model, settings, exc)
        return confirm_infeasible(model, settings, outcome)

    def _solve_highs(self, model: MilpArrays, settings: SolverSettings) -> SolveOutcome:
        if self._highs is not None and self._same_shape(model):
            assert self._model is not None
            highs = self._highs
            rows = np.flatnonzero(
                (self._model.row_lower != model.row_lower)
                | (self._model.row_upper != model.row_upper)
            )
            if rows.size:
                highs.changeRowsBounds(
                    len(rows), rows.astype(np.int32), model.row_lower[rows], model.row_upper[rows]
                )
            cols = np.flatnonzero(
                (self._model.col_lower != model.col_lower)
                | (self._model.col_upper != model.col_upper)
            )
            if cols.size:
                highs.changeColsBounds(
                    len(cols), cols.astype(np.int32), model.col_lower[cols], model.col_upper[cols]
                )
            self.n_reused += 1
        else:
            highs = new_highs()
            _highs_options(highs, settings)
            _highs_pass(highs, model)
            self._highs = highs
            self._last = None
        _highs_options(highs, settings)
        for name, value in model.highs_options.items():
            highs.setOptionValue(name, value)
        self._model = model
        start = model.start if model.start is not None else self._last
        outcome = _highs_run(highs, model, start)
        if outcome.values is not None:
            self._last = outcome.values
        return outcome


# --------------------------------------------------------------------------- CBC

_LOG_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def _solve_cbc(model: MilpArrays, settings: SolverSettings) -> SolveOutcome:
    import pulp

    problem, variables = model.to_pulp()
    with tempfile.TemporaryDirectory(prefix="netplan-cbc-") as folder:
        log_path = Path(folder) / "cbc.log"
        options = [f"randomCbcSeed {int(settings.seed) + 1}"]
        solver = pulp.COIN_CMD(
            path=_cbc_path(),
            msg=False,
            timeLimit=settings.time_limit,
            gapRel=settings.gap if settings.gap > 0 else None,
            threads=settings.threads,
            logPath=str(log_path),
            options=options,
        )
        if not solver.available():
            msg = (
                "CBC is not available (PuLP's bundled binary or `cbc` on PATH); pass --solver highs"
            )
            raise SolverError(msg)
        started = time.perf_counter()
        try:
            problem.solve(solver)
        except pulp.PulpSolverError as exc:
            msg = f"CBC failed: {exc}"
            raise SolverError(msg) from None
        seconds = time.perf_counter() - started
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    if _feedback().verbose:
        for line in log.splitlines():
            logger.info("%s", line)

    sign = -1.0 if model.maximize else 1.0
    solution_status = problem.sol_status
    has_solution = solution_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    values = None
    objective = None
    if has_solution:
        values = np.array([v.varValue if v.varValue is not None else 0.0 for v in variables])
        objective = float(model.objective @ values + model.offset)
    lower = _log_value(log, r"Lower bound:\s*" + _LOG_NUMBER)
    log_bound = None if lower is None else sign * lower + model.offset
    stopped = "Stopped on" in log
    bound: float | None
    if has_solution and not stopped and problem.status == pulp.LpStatusOptimal:
        result = "optimal"
        bound = objective
        if settings.gap > 0 and log_bound is not None:
            bound = log_bound
    elif solution_status == pulp.LpSolutionInfeasible or problem.status == pulp.LpStatusInfeasible:
        result, bound = "infeasible", None
    else:
        result = "feasible" if has_solution else "no_solution"
        bound = log_bound
    return SolveOutcome(
        status=result,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
        values=values,
        solve_seconds=seconds,
        solver="cbc",
        detail=pulp.LpStatus.get(problem.status, str(problem.status)),
    )


def _cbc_path() -> str | None:
    """Return PuLP's bundled CBC binary, else a ``cbc`` on PATH, else ``None``."""
    import shutil

    from pulp.apis import coin_api

    bundled = getattr(coin_api, "pulp_cbc_path", None)
    if bundled and Path(bundled).exists():
        return str(bundled)
    return shutil.which("cbc")


def _log_value(log: str, pattern: str) -> float | None:
    found = re.findall(pattern, log)
    if not found:
        return None
    try:
        return float(found[-1])
    except ValueError:
        return None


# --------------------------------------------------------------------------- SCIP and CP-SAT


def _import_optional(solver: str) -> Any:
    """Return the module ``solver`` runs on; a missing package says which extra to install."""
    require_solver(solver)
    extra, module = SOLVER_EXTRAS[solver]
    try:
        if solver == "scip":
            import pyscipopt

            return pyscipopt
        from ortools.sat.python import cp_model

        return cp_model
    except ImportError as exc:
        msg = f"solver {solver} could not load {module} ({exc}): pip install 'netplan[{extra}]'"
        raise MissingExtraError(msg) from None


def _bound_or_none(value: float | None) -> float | None:
    """Return ``value`` for use in :func:`pyscipopt.Model.addVar`: ``None`` for ``±inf``."""
    return None if value is None or math.isinf(value) else float(value)


def _scip_build(pyscipopt: Any, model: MilpArrays) -> tuple[Any, list[Any]]:
    """Return a SCIP model of ``model`` (objective without its offset) and its variables."""
    from pyscipopt.scip import Expr, ExprCons, Term

    scip = pyscipopt.Model("netplan")
    scip.hideOutput(True)
    variables = [
        scip.addVar(
            name=f"x{k}",
            vtype="I" if is_int else "C",
            lb=_bound_or_none(lo),
            ub=_bound_or_none(hi),
            obj=float(cost),
        )
        for k, (lo, hi, is_int, cost) in enumerate(
            zip(
                model.col_lower.tolist(),
                model.col_upper.tolist(),
                model.integer.tolist(),
                model.objective.tolist(),
                strict=True,
            )
        )
    ]
    if model.maximize:
        scip.setMaximize()
    matrix = sp.csr_array(model.matrix, copy=True)
    matrix.sum_duplicates()
    indptr, indices, data = matrix.indptr, matrix.indices.tolist(), matrix.data.tolist()
    for row in range(model.n_rows):
        start, end = int(indptr[row]), int(indptr[row + 1])
        terms = {Term(variables[indices[k]]): data[k] for k in range(start, end)}
        lower = _bound_or_none(float(model.row_lower[row]))
        upper = _bound_or_none(float(model.row_upper[row]))
        if lower is None and upper is None:
            continue
        scip.addCons(ExprCons(Expr(terms), lhs=lower, rhs=upper), name=f"r{row}")
    return scip, variables


class _ScipProgress:
    """A SCIP event handler reporting each better plan and the bound to ``report``."""

    def __init__(self, pyscipopt: Any, report: Callable[[SolverProgress], None]) -> None:
        outer = self

        class Handler(pyscipopt.Eventhdlr):  # type: ignore[misc]
            def eventinit(self) -> None:
                self.model.catchEvent(pyscipopt.SCIP_EVENTTYPE.BESTSOLFOUND, self)

            def eventexit(self) -> None:
                self.model.dropEvent(pyscipopt.SCIP_EVENTTYPE.BESTSOLFOUND, self)

            def eventexec(self, event: Any) -> None:
                outer.tell(self.model)

        self.handler = Handler()
        self.report = report
        self.offset = 0.0
        self.started = time.perf_counter()

    def tell(self, scip: Any) -> None:
        objective = _scip_finite(scip, scip.getPrimalbound())
        bound = _scip_finite(scip, scip.getDualbound())
        if objective is not None:
            objective += self.offset
        if bound is not None:
            bound += self.offset
        self.report(
            SolverProgress(
                seconds=time.perf_counter() - self.started,
                objective=objective,
                bound=bound,
                gap=relative_gap(objective, bound),
                solver="scip",
            )
        )


def _scip_finite(scip: Any, value: float) -> float | None:
    """Return ``value``, or ``None`` when SCIP means infinity by it (1e20 by default)."""
    return None if scip.isInfinity(abs(value)) else _finite(value)


def _solve_scip(model: MilpArrays, settings: SolverSettings) -> SolveOutcome:
    """Solve ``model`` with SCIP (``pyscipopt``), from ``model.start`` when it has one."""
    pyscipopt = _import_optional("scip")
    scip, variables = _scip_build(pyscipopt, model)
    scip.setParam("limits/time", float(settings.time_limit) if settings.time_limit else 1e20)
    scip.setParam("limits/gap", float(settings.gap))
    scip.setParam("randomization/randomseedshift", int(settings.seed))
    feedback = _feedback()
    progress = None
    if feedback.on_progress is not None:
        progress = _ScipProgress(pyscipopt, feedback.on_progress)
        scip.includeEventhdlr(progress.handler, "netplan_progress", "reports progress")
    if model.start is not None and model.integer.any():
        solution = scip.createSol()
        for variable, value in zip(variables, model.start.tolist(), strict=True):
            scip.setSolVal(solution, variable, float(value))
        scip.addSol(solution, free=True)  # SCIP checks it; an infeasible start is dropped
    with tempfile.TemporaryDirectory(prefix="netplan-scip-") as folder:
        log_path = Path(folder) / "scip.log"
        if feedback.verbose:
            scip.setLogfile(str(log_path))
        started = time.perf_counter()
        if progress is not None:
            progress.started = started
        scip.optimize()
        seconds = time.perf_counter() - started
        if feedback.verbose and log_path.exists():
            scip.setLogfile(None)
            for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                logger.info("%s", line)

    detail = str(scip.getStatus())
    values = objective = None
    if scip.getNSols() > 0:
        best = scip.getBestSol()
        values = np.array([scip.getSolVal(best, v) for v in variables], dtype=np.float64)
        objective = float(model.objective @ values) + float(model.offset)
    dual = _scip_finite(scip, scip.getDualbound()) if detail != "infeasible" else None
    bound = None if dual is None else dual + float(model.offset)
    if detail in ("optimal", "gaplimit") and values is not None:
        result = "optimal"
        if detail == "optimal" and settings.gap == 0:
            bound = objective if bound is None else bound
    elif detail == "infeasible":
        result, values, objective, bound = "infeasible", None, None, None
    elif detail in ("unbounded", "inforunbd") and values is None:
        result = "infeasible"  # as HiGHS's "unbounded or infeasible"
    else:
        result = "feasible" if values is not None else "no_solution"
    return SolveOutcome(
        status=result,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
        values=values,
        solve_seconds=seconds,
        solver="scip",
        detail=detail,
    )


#: Relative tolerance to which CP-SAT's translation reads a number as an integer
#: (finer than the solvers' feasibility tolerances, about 1e-6 absolute).
INTEGRAL_TOLERANCE = 1e-12
#: Largest power of ten a constraint row is scaled by to make its data integral.
_MAX_ROW_DIGITS = 9
#: Every row's and the objective's largest possible activity must stay below this.
_CPSAT_LIMIT = float(2**60)


def _integral(values: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Return ``True`` where ``values`` are integers to :data:`INTEGRAL_TOLERANCE`."""
    return np.abs(values - np.round(values)) <= INTEGRAL_TOLERANCE * np.maximum(1.0, np.abs(values))


@dataclass(frozen=True)
class CpsatProgram:
    """A MILP translated exactly to integers for CP-SAT (:func:`cpsat_program`).

    Attributes
    ----------
    col_lower, col_upper
        Integer bounds of every column.
    matrix
        The rows, scaled to integer coefficients (CSR, int64).
    row_lower, row_upper
        Integer row bounds (``None`` for a row without that side).
    objective
        Integer objective coefficients: the model's times :attr:`scale`, rounded.
    scale
        The objective's scale.
    objective_error
        Largest difference, over every point within the column bounds, between
        the model's objective (without offset) and ``objective @ x / scale``:
        CP-SAT's bound widened by it is a true bound of the model as given.
    n_implied_integer
        Continuous columns taken as integers (see :func:`cpsat_program`).
    """

    col_lower: NDArray[np.int64]
    col_upper: NDArray[np.int64]
    matrix: sp.csr_array
    row_lower: list[int | None]
    row_upper: list[int | None]
    objective: NDArray[np.int64]
    scale: float
    objective_error: float
    n_implied_integer: int


def _refuse(reason: str) -> SolverError:
    return SolverError(f"CP-SAT cannot solve this model exactly: {reason}; use highs or scip")


def _row_scale(coefficients: NDArray[np.float64]) -> int | None:
    """Return the least power of ten making every coefficient an integer, else ``None``."""
    for digits in range(_MAX_ROW_DIGITS + 1):
        scaled = coefficients * 10.0**digits
        if _integral(scaled).all():
            return int(10**digits)
    return None


def _side(value: float, scale: float, *, lower: bool) -> int | None:
    """Return a row bound times ``scale`` as the tightest integer bound (``None`` if infinite)."""
    if math.isinf(value):
        return None
    scaled = value * scale
    slack = INTEGRAL_TOLERANCE * max(1.0, abs(scaled))
    return math.ceil(scaled - slack) if lower else math.floor(scaled + slack)


def cpsat_program(model: MilpArrays) -> CpsatProgram:
    """Translate ``model`` to integer data for CP-SAT, exactly, or refuse.

    CP-SAT solves integer programs with integer coefficients and finite
    domains. The translation keeps the model's optimum, and every point it
    allows is a point of the model:

    * an integer column's bounds must be finite; they are rounded inwards;
    * the continuous columns are taken as integers only when that cannot change
      the optimum. Each row may hold at most two of them; after dividing the
      row by the first one's coefficient, a second one must have coefficient
      -1, and every other coefficient and the row's bounds must be integers;
      the continuous columns' bounds must be integers. Once the integer columns
      are fixed, the continuous ones then face a network matrix (totally
      unimodular) with integer right-hand sides, so the best of them is
      integral. A continuous column may be unbounded on one side only, the side
      the objective pushes it away from (then the best of them is a vertex and
      no vertex lies beyond the sum of every row's largest right-hand side and
      the largest column bound, which becomes its bound). Anything else is
      refused (a coverage-target row over fractional demand weights, say);
    * a row of integer columns is multiplied by the least power of ten (up to
      ``10**9``) that makes its coefficients integers (to
      :data:`INTEGRAL_TOLERANCE`), and its bounds are rounded to the values its
      integral activity can take; a row no such power makes integral is refused;
    * the objective is scaled (by a power of ten when one makes it integral,
      else by a power of two) and rounded; the largest error this can make on
      any point is kept (:attr:`CpsatProgram.objective_error`), so that the
      bound reported is a true one.

    Raises
    ------
    SolverError
        When the model cannot be translated exactly; the message says why.
    """
    matrix = sp.csr_array(model.matrix, copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    n_rows, n_columns = model.n_rows, model.n_columns
    integer = model.integer.astype(bool)
    lower, upper = model.col_lower.astype(np.float64), model.col_upper.astype(np.float64)
    if not (np.isfinite(lower[integer]).all() and np.isfinite(upper[integer]).all()):
        raise _refuse("an integer column has an infinite bound")
    col_lower = np.where(integer, np.ceil(lower - INTEGRAL_TOLERANCE), lower)
    col_upper = np.where(integer, np.floor(upper + INTEGRAL_TOLERANCE), upper)
    continuous = ~integer
    finite_lower = np.where(np.isfinite(lower), lower, 0.0)
    finite_upper = np.where(np.isfinite(upper), upper, 0.0)
    if not (
        _integral(finite_lower[continuous]).all() and _integral(finite_upper[continuous]).all()
    ):
        raise _refuse("a continuous column has bounds that are not integers")
    col_lower = np.where(continuous & np.isfinite(lower), np.round(finite_lower), col_lower)
    col_upper = np.where(continuous & np.isfinite(upper), np.round(finite_upper), col_upper)

    row_of = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    is_continuous = continuous[matrix.indices]
    n_continuous = np.bincount(row_of[is_continuous], minlength=n_rows)
    if (n_continuous > 2).any():
        row = int(np.flatnonzero(n_continuous > 2)[0])
        raise _refuse(
            f"row {row} sums {int(n_continuous[row])} continuous columns (as a coverage "
            "target or floor over demand weights does)"
        )
    # Divide each row holding continuous columns by its first one's coefficient (flipping the
    # sides when it is negative): its continuous entries become 1 (and -1).
    entries = np.flatnonzero(is_continuous)
    first = (
        entries[np.r_[True, row_of[entries][1:] != row_of[entries][:-1]]]
        if entries.size
        else entries
    )
    divisor = np.ones(n_rows)
    divisor[row_of[first]] = matrix.data[first]
    data = matrix.data / divisor[row_of]
    row_lower = np.where(divisor > 0, model.row_lower, model.row_upper) / divisor
    row_upper = np.where(divisor > 0, model.row_upper, model.row_lower) / divisor
    linked = n_continuous > 0
    if linked.any():
        second = np.setdiff1d(entries, first)
        if not np.allclose(data[second], -1.0, rtol=0.0, atol=INTEGRAL_TOLERANCE):
            off = np.flatnonzero(np.abs(data[second] + 1) > INTEGRAL_TOLERANCE)[0]
            row = int(row_of[second[off]])
            raise _refuse(
                f"row {row} holds two continuous columns that are not a difference (x - y)"
            )
        bad_entry = linked[row_of] & ~_integral(data)
        side_lower = np.where(np.isfinite(row_lower), row_lower, 0.0)
        side_upper = np.where(np.isfinite(row_upper), row_upper, 0.0)
        bad_row = linked & ~(_integral(side_lower) & _integral(side_upper))
        if bad_entry.any() or bad_row.any():
            row = int(row_of[bad_entry][0]) if bad_entry.any() else int(np.flatnonzero(bad_row)[0])
            raise _refuse(
                f"row {row} gives its continuous columns values that need not be integers"
            )
    scales = np.ones(n_rows)
    for row in np.flatnonzero(~linked).tolist():
        entries_of_row = data[matrix.indptr[row] : matrix.indptr[row + 1]]
        scale = _row_scale(entries_of_row) if entries_of_row.size else 1
        if scale is None:
            example = float(entries_of_row[~_integral(entries_of_row)][0])
            raise _refuse(
                f"row {row} has coefficients (e.g. {example!r}) that no power of ten up to "
                "1e9 makes integers"
            )
        scales[row] = scale
    scaled = np.round(data * scales[row_of])
    _bound_unbounded_columns(
        model, matrix, row_of, scaled, row_lower, row_upper, col_lower, col_upper
    )
    span = np.maximum(np.abs(col_lower), np.abs(col_upper))
    activity = np.bincount(row_of, weights=np.abs(scaled) * span[matrix.indices], minlength=n_rows)
    if (span > _CPSAT_LIMIT).any() or (activity > _CPSAT_LIMIT).any():
        raise _refuse("a row or column is too large for 64-bit integers once scaled")
    lowers = [
        _side(value, scale, lower=True)
        for value, scale in zip(row_lower.tolist(), scales.tolist(), strict=True)
    ]
    uppers = [
        _side(value, scale, lower=False)
        for value, scale in zip(row_upper.tolist(), scales.tolist(), strict=True)
    ]
    objective, objective_scale, error = _integer_objective(model.objective, span)
    return CpsatProgram(
        col_lower=col_lower.astype(np.int64),
        col_upper=col_upper.astype(np.int64),
        matrix=sp.csr_array(
            (scaled.astype(np.int64), matrix.indices, matrix.indptr), shape=(n_rows, n_columns)
        ),
        row_lower=lowers,
        row_upper=uppers,
        objective=objective,
        scale=objective_scale,
        objective_error=error,
        n_implied_integer=int(continuous.sum()),
    )


def _bound_unbounded_columns(
    model: MilpArrays,
    matrix: sp.csr_array,
    row_of: NDArray[np.int64],
    scaled: NDArray[np.float64],
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    col_lower: NDArray[np.float64],
    col_upper: NDArray[np.float64],
) -> None:
    """Give the continuous columns unbounded on one side a bound no best point exceeds.

    Refuses a column unbounded on both sides, or on the side its objective
    coefficient pulls it to (the model might then be unbounded).
    """
    open_lower, open_upper = np.isinf(col_lower), np.isinf(col_upper)
    if not (open_lower | open_upper).any():
        return
    cost = -model.objective if model.maximize else model.objective
    if (
        (open_lower & open_upper).any()
        or (open_upper & (cost < 0)).any()
        or (open_lower & (cost > 0)).any()
    ):
        raise _refuse("a continuous column is unbounded on a side the objective can push it to")
    integer = model.integer.astype(bool)
    entry_span = np.where(
        integer[matrix.indices],
        np.abs(scaled)
        * np.maximum(np.abs(col_lower), np.abs(col_upper))[matrix.indices].clip(max=_CPSAT_LIMIT),
        0.0,
    )
    integer_part = np.bincount(row_of, weights=entry_span, minlength=model.n_rows)
    # Only the rows holding continuous columns shape the continuous part's vertices.
    linked = np.bincount(row_of[~integer[matrix.indices]], minlength=model.n_rows) > 0
    sides = linked * np.maximum(
        np.where(np.isfinite(row_lower), np.abs(row_lower), 0.0),
        np.where(np.isfinite(row_upper), np.abs(row_upper), 0.0),
    )
    finite = np.concatenate([col_lower[~open_lower], col_upper[~open_upper]])
    reach = float((sides + linked * integer_part).sum()) + float(np.abs(finite).max(initial=0.0))
    limit = float(math.ceil(reach)) + 1.0
    if limit > _CPSAT_LIMIT:
        raise _refuse("an unbounded continuous column would need a bound beyond 64-bit integers")
    col_lower[open_lower] = -limit
    col_upper[open_upper] = limit


def _integer_objective(
    cost: NDArray[np.float64], span: NDArray[np.float64]
) -> tuple[NDArray[np.int64], float, float]:
    """Return integer objective coefficients, their scale and the largest rounding error."""
    reach = float(np.abs(cost) @ span)
    if reach == 0:
        return np.zeros(len(cost), dtype=np.int64), 1.0, 0.0
    for digits in range(_MAX_ROW_DIGITS + 1):
        scale = 10.0**digits
        if reach * scale > _CPSAT_LIMIT:
            break
        if _integral(cost * scale).all():
            rounded = np.round(cost * scale)
            error = float(np.abs(cost * scale - rounded) @ span) / scale
            return rounded.astype(np.int64), scale, error
    # No power of ten: the largest power of two keeping every activity within 2**53, where
    # the products are exact; the rounding error is then computed exactly too.
    scale = 2.0 ** math.floor(math.log2(2.0**53 / reach))
    rounded = np.round(cost * scale)
    error = float(np.abs(cost * scale - rounded) @ span) / scale
    return rounded.astype(np.int64), scale, error


def _cpsat_proto(cp_model: Any, program: CpsatProgram, start: Any) -> Any:
    """Return a ``CpModel`` holding ``program`` (and ``start`` as its hint)."""
    built = cp_model.CpModel()
    proto = built.proto
    for lo, hi in zip(program.col_lower.tolist(), program.col_upper.tolist(), strict=True):
        proto.variables.add().domain.extend([lo, hi])
    matrix = program.matrix
    indptr = matrix.indptr
    indices, data = matrix.indices.tolist(), matrix.data.tolist()
    for row, (lo, hi) in enumerate(zip(program.row_lower, program.row_upper, strict=True)):
        if lo is None and hi is None:
            continue
        start_at, end_at = int(indptr[row]), int(indptr[row + 1])
        linear = proto.constraints.add().linear
        linear.vars.extend(indices[start_at:end_at])
        linear.coeffs.extend(data[start_at:end_at])
        linear.domain.extend([lo if lo is not None else -(2**62), hi if hi is not None else 2**62])
    nonzero = np.flatnonzero(program.objective)
    proto.objective.vars.extend(nonzero.tolist())
    proto.objective.coeffs.extend(program.objective[nonzero].tolist())
    if start is not None:
        hint = np.clip(np.round(start), program.col_lower, program.col_upper).astype(np.int64)
        proto.solution_hint.vars.extend(range(len(hint)))
        proto.solution_hint.values.extend(hint.tolist())
    return built


def _solve_cpsat(model: MilpArrays, settings: SolverSettings) -> SolveOutcome:
    """Solve ``model`` with OR-Tools CP-SAT after translating it exactly (:func:`cpsat_program`).

    A maximisation is negated into a minimisation; the objective and bound
    reported are the model's own (the values' objective, and CP-SAT's bound
    widened by the objective's rounding error).
    """
    cp_model = _import_optional("cpsat")
    sign = -1.0 if model.maximize else 1.0
    program = cpsat_program(replace(model, objective=sign * model.objective))
    built = _cpsat_proto(cp_model, program, model.start if model.integer.any() else None)
    invalid = built.validate()
    if invalid:
        msg = f"CP-SAT rejected the model netplan built: {invalid}"
        raise SolverError(msg)
    solver = cp_model.CpSolver()
    parameters = solver.parameters
    if settings.time_limit is not None:
        parameters.max_time_in_seconds = float(settings.time_limit)
    parameters.relative_gap_limit = float(settings.gap)
    parameters.random_seed = int(settings.seed)
    # One worker unless told otherwise: deterministic, and on these 0-1 covering models
    # with the full LP relaxation (linearization level 2) it proved pmed6 where two
    # workers of the default portfolio did not come near (bench_backends.py).
    parameters.num_workers = int(settings.threads) if settings.threads is not None else 1
    parameters.linearization_level = 2
    feedback = _feedback()
    offset = float(model.offset)
    scale, error = program.scale, program.objective_error

    def true_bound(scaled: float) -> float:
        # minimise sign*c: bound/scale - error is below every point's value; undo the sign.
        return sign * (scaled / scale - error) + offset

    if feedback.verbose:
        parameters.log_search_progress = True
        parameters.log_to_stdout = False
        solver.log_callback = lambda line: logger.info("%s", line)
    callback = None
    if feedback.on_progress is not None:
        report = feedback.on_progress
        started_at = time.perf_counter()

        class Progress(cp_model.CpSolverSolutionCallback):  # type: ignore[misc, name-defined]
            def on_solution_callback(self) -> None:
                objective = sign * self.objective_value / scale + offset
                bound = true_bound(self.best_objective_bound)
                report(
                    SolverProgress(
                        seconds=time.perf_counter() - started_at,
                        objective=objective,
                        bound=bound,
                        gap=relative_gap(objective, bound),
                        solver="cpsat",
                    )
                )

        callback = Progress()
    started = time.perf_counter()
    status = solver.solve(built, callback)
    seconds = time.perf_counter() - started
    detail = solver.status_name(status)
    if status == cp_model.MODEL_INVALID:
        msg = f"CP-SAT rejected the model netplan built: {built.validate() or detail}"
        raise SolverError(msg)
    values = objective = bound = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.asarray(solver.response_proto.solution, dtype=np.float64)
        objective = float(model.objective @ values) + offset
        bound = true_bound(float(solver.best_objective_bound))
        # A true bound is never on the wrong side of a plan the model allows (this only
        # removes the last bits of floating-point noise).
        bound = max(bound, objective) if model.maximize else min(bound, objective)
    gap = relative_gap(objective, bound)
    if status == cp_model.OPTIMAL and gap is not None and gap <= max(settings.gap, 1e-9):
        result = "optimal"
    elif status == cp_model.INFEASIBLE:
        result = "infeasible"
    else:
        result = "feasible" if values is not None else "no_solution"
    outcome = SolveOutcome(
        status=result,
        objective=objective,
        best_bound=bound,
        gap=gap,
        values=values,
        solve_seconds=seconds,
        solver="cpsat",
        detail=detail,
    )
    outcome.extra["cpsat_objective_error"] = error
    outcome.extra["cpsat_implied_integer"] = program.n_implied_integer
    return outcome
