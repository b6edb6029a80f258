"""Impossible numbers reach the location models as one clear InputError (issue 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from netplan.errors import InputError, NetplanError
from netplan.locate._checks import MAX_AMOUNT, check_amounts
from netplan.locate.models import max_cover, p_median
from netplan.locate.tiered import TieredOptions, tiered
from netplan.locate.tradeoff import check_frontier_values


@pytest.mark.parametrize("budget", [math.nan, math.inf, -math.inf, 1e308, MAX_AMOUNT])
def test_budgets_that_are_not_amounts_are_refused(budget: float) -> None:
    with pytest.raises(InputError, match="`budget` must be a finite amount"):
        TieredOptions(budget=budget).check()


def test_closing_cost_nan_is_refused() -> None:
    with pytest.raises(InputError, match="closing_cost"):
        TieredOptions(budget=10.0, closing_cost=math.nan).check()


@pytest.mark.parametrize(
    "weights",
    [[1.0, math.nan], [1.0, math.inf], [1.0, -1.0], [1e15, 1.0], [9e14, 9e14], [1e308, 1e308]],
)
def test_weights_out_of_range_are_refused(weights: list[float]) -> None:
    with pytest.raises(InputError, match="weights"):
        check_amounts(np.array(weights), "demand weights")


def test_ordinary_weights_pass() -> None:
    check_amounts(np.array([0.0, 1.5, 1e12]), "demand weights")
    check_amounts(np.zeros(0), "demand weights")


def tiny_cover() -> sp.csr_array:
    return sp.csr_array(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))


def test_tiered_refuses_huge_weights_before_the_solver() -> None:
    with pytest.raises(InputError, match="too large to optimise"):
        tiered(
            tiny_cover(),
            weights=np.array([1e300, 1e300, 1e300]),
            site_tiers=np.array(["t", "t"], dtype=object),
            site_status=np.array(["candidate", "candidate"], dtype=object),
            fixed_costs=np.ones(2),
            capacities=np.full(2, np.inf),
            support=None,
            needs_support=np.zeros(2, dtype=bool),
            options=TieredOptions(budget=1.0),
        )


def test_classic_models_refuse_huge_weights() -> None:
    with pytest.raises(InputError, match="too large"):
        max_cover(tiny_cover(), p=1, weights=[1e200, 1e200, 1e200])
    with pytest.raises(InputError, match="too large"):
        p_median(np.ones((3, 2)), p=1, weights=[1.0, 1e16, 1.0])


@pytest.mark.parametrize(
    ("values", "by", "match"),
    [
        ([], "budget", "no frontier values"),
        ([math.nan], "budget", "finite"),
        ([1e6, math.inf], "budget", "finite"),
        ([1e308], "budget", "beyond any plan"),
        ([0.5], "sites", "whole numbers"),
        ([-1.0], "sites", "whole numbers"),
        ([math.nan], "sites", "finite"),
    ],
)
def test_frontier_values_are_checked(values: list[float], by: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as caught:
        check_frontier_values(values, by)
    assert isinstance(caught.value, NetplanError)
    assert "\n" not in str(caught.value)


def test_good_frontier_values_pass() -> None:
    check_frontier_values([0.0, 5e6, 1e7], "budget")
    check_frontier_values([1.0, 2.0, 3.0], "sites")
