"""The models reproduce published optima of public instances (OR-Library, SJC MCLP).

The instances live in ``../shared/benchmarks`` beside the repository; every
optimum is recomputed from the instance file and compared with the value read
from the optimum file (or, for SJC, the reference table in the benchmarks README).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netplan.locate.instances import (
    read_cap,
    read_cap_optima,
    read_mclp_sjc,
    read_pmed,
    read_pmed_optima,
)
from netplan.locate.models import capacitated, max_cover, p_median
from netplan.locate.solve import SolverSettings

# ``shared/benchmarks`` beside the checkout, or beside a folder of worktrees; NETPLAN_BENCHMARKS
# overrides.
BENCHMARKS = Path(
    os.environ.get("NETPLAN_BENCHMARKS")
    or next(
        (
            str(parent / "shared" / "benchmarks")
            for parent in Path(__file__).resolve().parents
            if (parent / "shared" / "benchmarks").is_dir()
        ),
        str(Path(__file__).parents[2] / "shared" / "benchmarks"),
    )
)
pytestmark = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason=f"benchmark instances not found at {BENCHMARKS}"
)


@pytest.fixture(scope="module")
def pmed_optima() -> dict[str, float]:
    return read_pmed_optima(BENCHMARKS / "orlib-pmed" / "pmedopt.txt")


def check_pmed(number: int, optima: dict[str, float], solver: str = "highs") -> None:
    instance = read_pmed(BENCHMARKS / "orlib-pmed" / f"pmed{number}.txt")
    result = p_median(instance.distances, p=instance.p, settings=SolverSettings(solver=solver))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optima[f"pmed{number}"], abs=1e-6)
    assert result.best_bound == pytest.approx(result.objective, abs=1e-4)
    assert int(result.open_sites.sum()) == instance.p


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_pmed_small(number: int, pmed_optima: dict[str, float]) -> None:
    check_pmed(number, pmed_optima)


def test_pmed1_duplicate_edges_last_wins(pmed_optima: dict[str, float]) -> None:
    # keeping the first (or the minimum) of a repeated edge gives 5718, not 5819
    check_pmed(1, pmed_optima, solver="cbc")


@pytest.mark.slow
@pytest.mark.parametrize("number", range(6, 21))
def test_pmed_medium(number: int, pmed_optima: dict[str, float]) -> None:
    check_pmed(number, pmed_optima)


@pytest.fixture(scope="module")
def cap_optima() -> dict[tuple[str, float | None], float]:
    return read_cap_optima(BENCHMARKS / "orlib-cap" / "capopt.txt")


@pytest.fixture(scope="module")
def uncap_optima() -> dict[tuple[str, float | None], float]:
    return read_cap_optima(BENCHMARKS / "orlib-cap" / "uncapopt.txt")


def solve_cap(name: str, *, capacity: float | None = None, uncapacitated: bool = False):
    instance = read_cap(BENCHMARKS / "orlib-cap" / f"{name}.txt", capacity=capacity)
    unit = instance.allocation_costs / instance.demands[:, None]
    return capacitated(
        unit,
        weights=instance.demands,
        fixed_costs=instance.fixed_costs,
        capacities=None if uncapacitated else instance.capacities,
        assignment_costs=instance.allocation_costs,
    )


@pytest.mark.parametrize(
    "name", ["cap41", "cap42", "cap43", "cap44", "cap51", "cap61", "cap81", "cap111"]
)
def test_cap_splittable(name: str, cap_optima) -> None:
    result = solve_cap(name)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(cap_optima[(name, None)], abs=0.01)


@pytest.mark.parametrize("name", ["cap71", "cap72", "cap101", "cap131", "cap134"])
def test_cap_uncapacitated(name: str, uncap_optima) -> None:
    result = solve_cap(name, uncapacitated=True)
    assert result.objective == pytest.approx(uncap_optima[(name, None)], abs=0.01)
    # every customer is served from one warehouse when capacities do not bind
    assert result.assignment is not None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["capa", "capb", "capc"])
def test_cap_large_uncapacitated(name: str, uncap_optima) -> None:
    result = solve_cap(name, capacity=1e12, uncapacitated=True)
    assert result.objective == pytest.approx(uncap_optima[(name, None)], abs=0.01)


# Reference optima (covered demand) from the benchmarks README, p = 1, 2, 3.
SJC_REFERENCE = {
    ("SJC324", 800): [5461, 8790, 11604],
    ("SJC324", 1200): [9932, 11555, 12152],
    ("SJC402", 800): [6555, 11339, 14690],
    ("SJC402", 1200): [10607, 14832, 15984],
    ("SJC500", 1200): [10726, 18070, 19393],
}


@pytest.mark.parametrize(("name", "service"), sorted(SJC_REFERENCE))
def test_sjc_mclp(name: str, service: int) -> None:
    instance = read_mclp_sjc(BENCHMARKS / "mclp-sjc" / f"{name}.txt")
    cover = instance.cover(service)
    for p, expected in enumerate(SJC_REFERENCE[(name, service)], start=1):
        result = max_cover(cover, weights=instance.demand, p=p)
        assert result.status == "optimal"
        assert result.objective == pytest.approx(expected, abs=1e-6)


def test_sjc_distance_exactly_at_the_radius_counts_as_covered() -> None:
    instance = read_mclp_sjc(BENCHMARKS / "mclp-sjc" / "SJC324.txt")
    at_1200 = instance.cover(1200)
    below = instance.cover(1199.999)
    assert at_1200.nnz > below.nnz
