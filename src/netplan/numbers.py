"""The one number parser of netplan: what a cell of an input file means as a number.

Every numeric column of an input (coordinates, weights, units, ages, install
years, costs) is read by :func:`numbers_from_cells`, so a value is never
understood one way when validated and another way when used. It sits below
the readers (:mod:`netplan.io` re-exports it) and the demand rates
(:mod:`netplan.rates`), which both use it.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["not_a_number", "numbers_from_cells", "parse_cells", "parse_number"]


def numbers_from_cells(cells: pd.Series, what: str = "value") -> NDArray[np.float64]:
    """Return the numbers a column's cells mean; NaN where a cell is missing or not a number.

    This is the one number parser of netplan: every numeric column of an
    input (coordinates, weights, units, ages, install years, costs) is read
    by it, so a value is never understood one way when validated and
    another way when used. Plain numbers are read by pandas; the text left
    over by :func:`parse_number` (thousands separators in quantities,
    degrees, minutes and seconds in coordinates). Date and time columns
    (a Parquet timestamp) are not numbers.

    Parameters
    ----------
    cells
        The column as read (text cells from a CSV, typed values otherwise).
    what
        What the numbers are (``"longitude"``, ``"weight"``, ``"age"``, ...),
        as for :func:`parse_number`.

    Returns
    -------
    numpy.ndarray
        One float per cell.

    Examples
    --------
    >>> import pandas as pd
    >>> numbers_from_cells(pd.Series(["2,020", "1e3", None, "x"]), "install year").tolist()
    [2020.0, 1000.0, nan, nan]
    """
    values, _ = parse_cells(cells, what)
    return values


def parse_cells(raw: pd.Series, what: str) -> tuple[NDArray[np.float64], dict[int, str]]:
    """Return the cells as floats and, per position not a number, why (``""``: the default)."""
    present = raw.notna().to_numpy()
    if _is_temporal(raw.dtype):
        reason = (
            f"{what} is a date/time value ({raw.dtype}), not a number; store the column as numbers"
        )
        return np.full(len(raw), np.nan), {int(i): reason for i in np.flatnonzero(present)}
    try:
        values = pd.to_numeric(raw, errors="coerce")
    except (TypeError, ValueError):  # lists, dicts or bytes in a Parquet/GeoJSON column
        values = pd.Series([_scalar_number(v) for v in raw], index=raw.index, dtype=np.float64)
    as_float = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    reasons: dict[int, str] = {}
    bad = np.isnan(as_float) & present
    if bad.any():
        shown = raw.to_numpy()
        for position in np.flatnonzero(bad):
            value = shown[position]
            if not isinstance(value, str):
                reasons[int(position)] = ""
                continue
            try:
                as_float[position] = parse_number(value, what)
            except ValueError as exc:
                reasons[int(position)] = str(exc)
    return as_float, reasons


def _is_temporal(dtype: Any) -> bool:
    """Return whether ``dtype`` holds dates, times or durations."""
    return bool(
        pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)
    )


def _scalar_number(value: Any) -> float:
    """Return ``value`` as a float, NaN when it is not a plain number."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number | str):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


#: A quantity with thousands separators, as spreadsheets export it: "1,234" or "-1,234,567.5".
_GROUPED_NUMBER = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
#: Hemisphere marks before or after a coordinate, and the sign and axis they give.
_HEMISPHERES = {
    "N": (1, "latitude"), "S": (-1, "latitude"), "E": (1, "longitude"), "W": (-1, "longitude"),
    "北纬": (1, "latitude"), "南纬": (-1, "latitude"),
    "东经": (1, "longitude"), "西经": (-1, "longitude"),
    "北": (1, "latitude"), "南": (-1, "latitude"), "东": (1, "longitude"), "西": (-1, "longitude"),
}  # fmt: skip
_HEMISPHERE = "北纬|南纬|东经|西经|[NSEW北南东西]"
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
#: A coordinate in degrees (°, º or 度), optional minutes (', ′ or 分) and seconds
#: (", ″, '' or 秒), with a sign or a hemisphere mark (N/S/E/W, 北纬/东经...).
_DMS_COORDINATE = re.compile(
    rf"^(?P<before>{_HEMISPHERE})?\s*(?P<sign>[-+])?\s*"
    rf"(?P<degrees>{_NUMBER})\s*[°º˚度]\s*"
    rf"(?:(?P<minutes>{_NUMBER})\s*['′’分]\s*)?"
    rf"(?:(?P<seconds>{_NUMBER})\s*(?:\"|″|”|''|′′|秒)\s*)?"
    rf"(?P<after>{_HEMISPHERE})?$",
    re.IGNORECASE,
)


def parse_number(text: str, what: str = "value") -> float:
    r"""Return the number a cell's text means, as a spreadsheet user wrote it.

    Plain numbers (``"116.4"``, ``"1e3"``) are read as floats. A quantity
    (any ``what`` but ``"longitude"``/``"latitude"``) may carry thousands
    separators as Excel exports them: ``"1,234"`` or ``"1,234.5"`` (groups of
    exactly three digits; ``"116,4"`` is refused as a decimal comma). A
    coordinate may be written in degrees, minutes and seconds:
    ``104°3'36"E``, ``30°40'12.5"N``, ``N30°40.2'``, ``-104°3'36"``,
    ``北纬30度40分12秒``; south and west are negative, and a hemisphere
    mark of the other axis (``N`` in a longitude) is refused.

    Parameters
    ----------
    text
        The cell text.
    what
        What the number is (``"longitude"``, ``"latitude"``, ``"weight"``, ...),
        used to pick the accepted forms and in the message.

    Returns
    -------
    float
        The value (degrees for coordinates).

    Raises
    ------
    ValueError
        When the text is not a number of an accepted form; the message says why.

    Examples
    --------
    >>> parse_number("1,234.5", "weight")
    1234.5
    >>> parse_number("104°3'36\"E", "longitude")
    104.06
    >>> parse_number("30°40'12\"S", "latitude")
    -30.67
    """
    cleaned = text.strip().replace("\u00a0", " ")
    try:
        number = float(cleaned)
    except ValueError:
        pass
    else:
        if math.isnan(number):
            raise ValueError(not_a_number(what, text))
        return number
    if what not in ("longitude", "latitude"):
        if _GROUPED_NUMBER.match(cleaned):
            return float(cleaned.replace(",", ""))
        raise ValueError(not_a_number(what, text))
    match = _DMS_COORDINATE.match(cleaned)
    if match is None:
        raise ValueError(not_a_number(what, text))
    marks = [m for m in (match["before"], match["after"]) if m]
    if len(marks) > 1 or (marks and match["sign"]):
        msg = (
            f"{what} {text!r} has two signs or hemisphere marks; "
            "give one (30°40'12\"S or -30°40'12\")"
        )
        raise ValueError(msg)
    sign = -1.0 if match["sign"] == "-" else 1.0
    if marks:
        hemisphere_sign, axis = _HEMISPHERES[marks[0].upper()]
        if axis != what:
            msg = (
                f"{what} {text!r} has the hemisphere mark {marks[0]!r} of a {axis}; "
                "check the column"
            )
            raise ValueError(msg)
        sign = float(hemisphere_sign)
    degrees = float(match["degrees"])
    minutes = float(match["minutes"] or 0.0)
    seconds = float(match["seconds"] or 0.0)
    if minutes >= 60 or seconds >= 60:
        msg = f"{what} {text!r}: minutes and seconds must be below 60"
        raise ValueError(msg)
    return round(sign * (degrees + minutes / 60 + seconds / 3600), 12)


#: A number written with a decimal comma ("116,4") or a thousands separator ("1,200").
_COMMA_NUMBER = re.compile(r"^\s*[-+]?\d+(,\d+)+\s*$")


def not_a_number(what: str, value: Any) -> str:
    """Return the message for a cell that is not a number, with a hint for comma numbers."""
    hint = ""
    if isinstance(value, str) and _COMMA_NUMBER.match(value):
        hint = (
            " (write numbers with a dot for decimals and no thousands separator)"
            if what in ("longitude", "latitude")
            else " (write numbers with a dot for decimals; a thousands separator groups "
            "three digits: 1,234.5)"
        )
    return f"{what} {value!r} is not a number{hint}"
