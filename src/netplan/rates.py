"""Service-demand rates: how installed units become yearly service calls.

``weight = units × service_rate(product) × age_factor(age)``, with the rates
of the scenario's ``[demand]`` table (:class:`~netplan.config.DemandRates`).
The rule sits below the readers: :func:`netplan.io.read_installed_base`
applies it to the rows it has read and checked; :mod:`netplan.demand`
re-exports it beside the aggregation of demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from netplan.config import DemandRates
from netplan.numbers import numbers_from_cells

__all__ = ["age_factors", "demand_weights"]


def age_factors(ages: pd.Series | np.ndarray, rates: DemandRates) -> np.ndarray:
    """Return the age factor for each age (years); NaN ages get factor 1.

    Parameters
    ----------
    ages
        Age of each unit in years.
    rates
        The scenario's demand rates; its ``age_bands`` are (upper bound,
        factor) pairs, ascending, upper bounds inclusive.

    Returns
    -------
    numpy.ndarray
        One factor per age.
    """
    values = np.asarray(ages, dtype=np.float64)
    factors = np.ones(len(values))
    if not rates.age_bands:
        return factors
    uppers = np.array([upper for upper, _ in rates.age_bands])
    band_factors = np.array([factor for _, factor in rates.age_bands])
    known = np.isfinite(values)
    # Ages are whole years in practice; a band "0-2" holds ages up to (not including) 3.
    index = np.searchsorted(uppers, np.floor(values[known]), side="left")
    index = np.minimum(index, len(uppers) - 1)
    factors[known] = band_factors[index]
    return factors


def demand_weights(frame: pd.DataFrame, rates: DemandRates) -> np.ndarray:
    """Return the service-demand weight of each installed-base row.

    Parameters
    ----------
    frame
        Installed-base rows with ``units`` and optionally ``product``,
        ``age_years`` or ``install_year`` (any case).
    rates
        The scenario's :class:`~netplan.config.DemandRates`.

    Returns
    -------
    numpy.ndarray
        ``units × service_rate(product) × age_factor(age)`` per row.

    Examples
    --------
    >>> import pandas as pd
    >>> from netplan.config import DemandRates
    >>> rates = DemandRates(service_rates={"excavator": 2.0}, default_rate=1.0)
    >>> frame = pd.DataFrame({"units": [3, 1], "product": ["excavator", "crane"]})
    >>> demand_weights(frame, rates).tolist()
    [6.0, 1.0]
    """
    lower = {str(c).lower(): c for c in frame.columns}
    units = numbers_from_cells(frame[lower["units"]], "units")
    rate = np.full(len(frame), rates.default_rate)
    if "product" in lower and rates.service_rates:
        product = frame[lower["product"]].astype(object).to_numpy()
        mapped = pd.Series(product).map(dict(rates.service_rates)).to_numpy(dtype=np.float64)
        rate = np.where(np.isnan(mapped), rates.default_rate, mapped)
    if "age_years" in lower:
        ages = pd.Series(numbers_from_cells(frame[lower["age_years"]], "age"))
    elif "install_year" in lower:
        years = pd.Series(numbers_from_cells(frame[lower["install_year"]], "install year"))
        ages = (rates.reference_year - years).clip(lower=0)
    else:
        ages = pd.Series(np.full(len(frame), np.nan))
    weights: np.ndarray = units * rate * age_factors(ages.to_numpy(dtype=np.float64), rates)
    return weights
