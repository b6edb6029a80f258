"""Demand weights of an installed base: units × service rate × age factor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netplan.config import DemandRates, Scenario, default_scenario
from netplan.demand import age_factors, demand_weights
from netplan.errors import InputError
from netplan.io import read_installed_base, read_points

WriteCsv = Callable[..., Path]

# small_scenario (conftest): default_rate 0.5, excavator 2.0, crane 3.0,
# age bands 0-2 → 0.5, 3-5 → 1.0, 6+ → 2.0, reference year 2026.


def test_age_factors_follow_the_bands(small_scenario: Scenario) -> None:
    ages = np.array([0, 1.5, 2, 2.9, 3, 5, 5.99, 6, 40, np.nan])
    factors = age_factors(ages, small_scenario.demand)
    assert factors.tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 2.0, 2.0, 1.0]


def test_age_factors_without_bands_are_one() -> None:
    assert age_factors(np.array([1.0, 30.0]), DemandRates()).tolist() == [1.0, 1.0]


def test_demand_weights_units_times_rate_times_age(small_scenario: Scenario) -> None:
    frame = pd.DataFrame(
        {
            "units": [3, 1, 2, 4],
            "Product": ["excavator", "crane", "loader", None],
            "age_years": [1, 4, 10, np.nan],
        }
    )
    weights = demand_weights(frame, small_scenario.demand)
    # excavator 3×2.0×0.5; crane 1×3.0×1.0; unknown product: default 0.5 × 2 × 2.0; no age: 1
    assert weights.tolist() == [3.0, 3.0, 2.0, 2.0]


def test_install_year_gives_the_age(small_scenario: Scenario) -> None:
    frame = pd.DataFrame({"units": [1, 1, 1, 1], "install_year": [2025, 2022, 2010, 2030]})
    weights = demand_weights(frame, small_scenario.demand)
    # ages 1, 4, 16 and (installed after the reference year) 0; default rate 0.5
    assert weights.tolist() == [0.25, 0.5, 1.0, 0.25]


def test_age_years_wins_over_install_year(small_scenario: Scenario) -> None:
    frame = pd.DataFrame({"units": [1], "age_years": [1], "install_year": [2000]})
    assert demand_weights(frame, small_scenario.demand).tolist() == [0.25]


def test_without_rates_the_weight_is_the_units() -> None:
    frame = pd.DataFrame({"units": [2, 5], "product": ["crane", "excavator"], "age_years": [1, 9]})
    assert demand_weights(frame, default_scenario().demand).tolist() == [2.0, 5.0]


def test_read_installed_base_weights_rows(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv(
        [
            ["id", "lon", "lat", "units", "product", "install_year", "grade"],
            ["m1", 104.07, 30.57, 3, "excavator", 2025, "A"],
            ["m2", 104.10, 30.60, 2, "crane", 2021, "B"],
            ["m3", 116.40, 39.90, "", "excavator", "", "C"],
        ]
    )
    with pytest.raises(InputError, match=r"row 4, column 'units': units is missing"):
        read_installed_base(path, scenario=small_scenario)
    path = write_csv(
        [
            ["id", "lon", "lat", "units", "product", "install_year", "grade"],
            ["m1", 104.07, 30.57, 3, "excavator", 2025, "A"],
            ["m2", 104.10, 30.60, 2, "crane", 2021, "B"],
            ["m3", 116.40, 39.90, 1, "excavator", "", "C"],
        ]
    )
    base = read_installed_base(path, scenario=small_scenario)
    assert base.columns.tolist() == [
        "id",
        "units",
        "weight",
        "product",
        "install_year",
        "grade",
        "geometry",
    ]
    # m1: 3 × 2.0 × 0.5 (age 1); m2: 2 × 3.0 × 1.0 (age 5); m3: 1 × 2.0 × 1 (no age)
    assert base["weight"].tolist() == [3.0, 6.0, 2.0]
    assert base["units"].tolist() == [3.0, 2.0, 1.0]
    assert base["grade"].tolist() == ["A", "B", "C"]


def test_units_default_to_one(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv([["id", "lon", "lat", "product"], ["m1", 104.07, 30.57, "crane"]])
    base = read_points(path, kind="installed-base", scenario=small_scenario)
    assert base["units"].tolist() == [1.0]
    assert base["weight"].tolist() == [3.0]


def test_installed_base_with_the_default_scenario(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "units"], ["m1", 104.07, 30.57, 7]])
    assert read_installed_base(path)["weight"].tolist() == [7.0]


def test_bad_ages_and_install_years(write_csv: WriteCsv, small_scenario: Scenario) -> None:
    path = write_csv(
        [
            ["id", "lon", "lat", "units", "age_years", "install_year"],
            ["m1", 104.07, 30.57, 1, -2, 2020],
            ["m2", 104.10, 30.60, 1, 3, "last year"],
        ]
    )
    with pytest.raises(InputError) as info:
        read_installed_base(path, scenario=small_scenario)
    assert [line.split(", ", 1)[1] for line in str(info.value).splitlines()] == [
        "row 2, column 'age_years': age -2 is negative",
        "row 3, column 'install_year': install year 'last year' is not a number",
    ]


def test_non_numeric_units(write_csv: WriteCsv) -> None:
    path = write_csv([["id", "lon", "lat", "units"], ["m1", 104.07, 30.57, "two"]])
    with pytest.raises(InputError, match=r"row 2, column 'units': units 'two' is not a number"):
        read_installed_base(path)
