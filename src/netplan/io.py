"""Reading and validating points and sites; writing outputs atomically.

Readers return GeoDataFrames in EPSG:4326 with a unique string ``id`` column,
a float ``weight`` column (customers and installed base) and point geometry;
every other column passes through untouched. Supported inputs:

* CSV (comma, semicolon or tab; UTF-8 with or without BOM, GB18030/GBK),
  coordinates in columns detected by name (:data:`LON_NAMES`, :data:`LAT_NAMES`)
  or named with ``lon_col`` / ``lat_col``; the id and weight columns likewise
  (:data:`ID_NAMES`, :data:`WEIGHT_NAMES`: ``id``/``编号``, ``weight``/``权重``);
* GeoJSON and GeoPackage (read with pyogrio);
* GeoParquet, or plain Parquet with coordinate columns.

Files in another CRS are reprojected to EPSG:4326. Validation collects every
problem in a file and raises one :class:`~netplan.errors.InputError` listing
them with file, row (as a spreadsheet shows it: the CSV header is row 1) and
column.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io as _io
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from netplan.config import SITE_STATUSES, Scenario, Tier, default_scenario
from netplan.errors import InputError, InputWarning, Problem
from netplan.normalise import unknown_status_message, unknown_tier_message

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "ID_NAMES",
    "LAT_NAMES",
    "LON_NAMES",
    "WEIGHT_NAMES",
    "OutputFolder",
    "PointKind",
    "atomic_path",
    "check_output_folder",
    "csv_encoding",
    "detect_encoding",
    "output_folder",
    "parse_number",
    "points_from_frame",
    "read_csv_chunks",
    "read_customers",
    "read_installed_base",
    "read_points",
    "read_sites",
    "set_csv_encoding",
    "write_frame",
    "write_text",
]

PointKind = Literal["customers", "installed-base", "sites"]

#: Column names taken as longitude (case-insensitive), in order of preference.
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "x")
#: Column names taken as latitude (case-insensitive), in order of preference.
LAT_NAMES = ("lat", "latitude", "纬度", "y")
#: Column names taken as the id / the weight (case-insensitive), in order of preference.
ID_NAMES = ("id", "编号")
WEIGHT_NAMES = ("weight", "权重")
#: Extensions read as CSV / vector files / Parquet.
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")
PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
#: Output formats of :func:`write_frame`.
OUTPUT_FORMATS = ("csv", "geojson", "parquet", "gpkg")
#: Encodings of CSV outputs: UTF-8 with a byte-order mark (the default, so that Excel in
#: China shows Chinese text right; pandas and GDAL read it alike) or plain UTF-8.
CSV_ENCODINGS = ("utf-8-sig", "utf-8")
#: The CSV output encoding chosen for this run (``netplan --plain-csv``); ``None``: default.
_CSV_ENCODING: ContextVar[str | None] = ContextVar("netplan_csv_encoding", default=None)

_WGS84 = CRS.from_epsg(4326)
_KEEP_PROBLEMS = 20  # problems kept per check; the rest are counted


# --------------------------------------------------------------------------- low level


#: Leading bytes of files that are not text (Excel workbooks, zip archives, ...).
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook (.xlsx) or a zip archive",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"SQLite format 3\x00": "a SQLite database or GeoPackage",
    b"PAR1": "a Parquet file",
}
#: Characters that do not occur in a real CSV: C0/C1 control characters other
#: than tab, line feed and carriage return, and the replacement character.
_GARBAGE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
#: Characters checked by the garbage test, and the share of them allowed.
_GARBAGE_SAMPLE = 100_000
_GARBAGE_SHARE = 0.001


def _looks_like_text(text: str) -> bool:
    sample = text[:_GARBAGE_SAMPLE]
    if not sample or "\x00" in sample:
        return False
    return len(_GARBAGE.findall(sample)) <= _GARBAGE_SHARE * len(sample)


def detect_encoding(raw: bytes, *, name: str = "input") -> str:
    """Return the text encoding of a CSV file's bytes.

    A byte-order mark decides (UTF-8 or UTF-16, as Excel's "Unicode text"
    writes); otherwise UTF-8 is tried first, then GB18030 (a superset of GBK
    and GB2312, what Chinese Excel saves as "CSV"), then charset-normalizer's
    best guess. An encoding is accepted only if the decoded text looks like
    text: no NUL bytes and almost no control characters, so random or binary
    bytes that happen to decode are still refused.

    Parameters
    ----------
    raw
        The file's bytes (or a large leading sample of them).
    name
        File name for the error message.

    Returns
    -------
    str
        A Python codec name (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``,
        ``"gb18030"``, ...).

    Raises
    ------
    InputError
        When the bytes are a known binary format (an Excel workbook, a
        GeoPackage, ...) or no encoding turns them into plausible text.

    Examples
    --------
    >>> detect_encoding("经度,纬度".encode("gb18030"))
    'gb18030'
    """
    for signature, what in _BINARY_SIGNATURES.items():
        if raw.startswith(signature):
            msg = (
                f"this is {what}, not CSV text; save it as CSV (UTF-8) "
                "or give it its proper extension"
            )
            raise InputError([Problem(name, None, None, msg)])
    if raw.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None and _looks_like_text(str(best)):
        return str(best.encoding)
    msg = (
        "cannot read the file as text: it is not UTF-8 or GB18030 and looks binary or "
        "garbled; save it as CSV UTF-8 (or GB18030)"
    )
    raise InputError([Problem(name, None, None, msg)])


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        msg = "the file is empty; it needs a header row and data"
        raise InputError([Problem(name, None, None, msg)])
    encoding = detect_encoding(raw, name=name)
    text = raw.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = _csv_delimiter(text, name)
    try:
        frame = pd.read_csv(_io.StringIO(text), sep=delimiter, **_CSV_OPTIONS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0]
        msg = f"not a readable CSV table: {first}"
        raise InputError([Problem(name, None, None, msg)]) from None
    return _tidy_csv_frame(frame)


#: ``pandas.read_csv`` options of every CSV read: cells as text, empty cells missing.
_CSV_OPTIONS: dict[str, Any] = {"dtype": str, "keep_default_na": False, "skipinitialspace": True}
#: Leading bytes :func:`read_csv_chunks` detects the encoding and delimiter on.
CSV_SAMPLE_BYTES = 1 << 20


def _csv_delimiter(text: str, name: str) -> str:
    """Return the delimiter of CSV ``text`` after checking its header for repeated names."""
    delimiter = _sniff_delimiter(text)
    # pandas renames repeated header names ("lon", "lon.1"); check the header as written.
    lines = _io.StringIO(text, newline="")  # "\r" alone ends a line too (old Mac exports)
    try:
        header = next(csv.reader(lines, delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error as exc:
        msg = f"not a readable CSV header: {exc}"
        raise InputError([Problem(name, 1, None, msg)]) from None
    _check_columns([str(c).strip() for c in header], name, row=1)
    return delimiter


def _tidy_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    tidy: pd.DataFrame = frame.replace({"": None})
    return tidy


def read_csv_chunks(path: str | Path, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Yield a CSV file's rows in chunks, each as :func:`read_points` reads a whole file.

    For files too large to hold in memory: the encoding and delimiter are
    detected on the first :data:`CSV_SAMPLE_BYTES` (cut at a line end) by the
    same rules as :func:`read_points`, then the file is parsed ``chunk_rows``
    rows at a time. Cells are text, empty cells ``None``; pass each chunk to
    :func:`points_from_frame` with ``row_offset = 2 + rows before it``.

    Parameters
    ----------
    path
        The CSV file.
    chunk_rows
        Data rows per chunk (1 or more).

    Raises
    ------
    InputError
        An empty or unreadable file, a repeated column name, or text that
        stops decoding in the detected encoding after the sample.
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be 1 or more, got {chunk_rows}"
        raise ValueError(msg)
    path = Path(path)
    name = str(path)
    with path.open("rb") as handle:
        sample = handle.read(CSV_SAMPLE_BYTES + 1)
    if not sample.strip():
        msg = "the file is empty; it needs a header row and data"
        raise InputError([Problem(name, None, None, msg)])
    if len(sample) > CSV_SAMPLE_BYTES:
        cut = sample.rfind(b"\n", 0, CSV_SAMPLE_BYTES) + 1
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and cut % 2:
            cut += 1  # the second byte of a UTF-16 line feed
        sample = sample[: cut or CSV_SAMPLE_BYTES]
    encoding = detect_encoding(sample, name=name)
    text = sample.decode(encoding)
    delimiter = _csv_delimiter(text[1:] if text.startswith("\ufeff") else text, name)
    try:
        reader = pd.read_csv(
            path, sep=delimiter, encoding=encoding, chunksize=chunk_rows, **_CSV_OPTIONS
        )
        with reader:
            for chunk in reader:
                yield _tidy_csv_frame(chunk)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0]
        msg = f"not a readable CSV table: {first}"
        raise InputError([Problem(name, None, None, msg)]) from None
    except UnicodeDecodeError:
        msg = (
            f"the text stops being {encoding} after the first {len(sample):,} bytes; "
            "save the whole file as CSV UTF-8"
        )
        raise InputError([Problem(name, None, None, msg)]) from None


def _check_columns(columns: list[str], name: str, *, row: int | None) -> None:
    """Raise when two columns share a name (case-insensitively)."""
    seen: dict[str, int] = {}
    for position, column in enumerate(columns):
        key = column.lower()
        if key in seen:
            msg = (
                f"duplicate column name (columns {seen[key] + 1} and {position + 1}); "
                "rename one of them"
            )
            raise InputError([Problem(name, row, column, msg)])
        seen[key] = position


def _read_vector(path: Path, name: str, layer: str | None) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several GDAL error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            [Problem(name, None, None, f"cannot read as a vector file: {first}")]
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame)
    return frame


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise InputError(
            [Problem(name, None, None, f"not a readable Parquet file: {exc}")]
        ) from None
    frame: pd.DataFrame
    if schema.metadata and b"geo" in schema.metadata:
        frame = gpd.read_parquet(path)
    else:
        frame = pd.read_parquet(path)
    return frame


def _find_column(
    columns: list[str],
    wanted: str | None,
    candidates: tuple[str, ...],
    role: str,
    option: str,
    name: str,
) -> str | None:
    if wanted is not None:
        if wanted in columns:
            return wanted
        lower = {c.lower(): c for c in columns}
        if wanted.lower() in lower:
            return lower[wanted.lower()]
        msg = (
            f"{role} column '{wanted}' (from {option}) not found; columns are: {', '.join(columns)}"
        )
        raise InputError([Problem(name, 1, wanted, msg)])
    lower = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    return None


# --------------------------------------------------------------------------- validation helpers


class _Collector:
    """Collects problems, keeping a few per check and counting the rest."""

    def __init__(self, name: str, row_offset: int) -> None:
        self.name = name
        self.row_offset = row_offset
        self.problems: list[Problem] = []
        self.total = 0

    def file(self, message: str, column: str | None = None) -> None:
        self.problems.append(Problem(self.name, None, column, message))
        self.total += 1

    def rows(
        self, mask: NDArray[np.bool_], column: str | None, message: Callable[[int], str]
    ) -> None:
        positions = np.flatnonzero(mask)
        self.total += len(positions)
        for position in positions[:_KEEP_PROBLEMS]:
            row = int(position) + self.row_offset
            self.problems.append(Problem(self.name, row, column, message(int(position))))

    def raise_if_any(self) -> None:
        if self.total:
            problems = sorted(self.problems, key=lambda p: (p.row is not None, p.row or 0))
            raise InputError(problems, total=self.total)


def _same(message: str) -> Callable[[int], str]:
    """Return a row-message function giving ``message`` for every row."""
    return lambda _row: message


def _negative_message(label: str, values: NDArray[np.float64]) -> Callable[[int], str]:
    """Return a row-message function saying that ``values[row]`` is negative."""
    return lambda row: f"{label} {values[row]:g} is negative"


def _numeric(
    frame: pd.DataFrame, column: str, collector: _Collector, what: str
) -> NDArray[np.float64]:
    """Return ``column`` as floats, reporting values that are not numbers.

    Plain numbers are read by pandas; the text left over is read by
    :func:`parse_number` (thousands separators in quantities, degrees, minutes
    and seconds in coordinates). ``"nan"`` is not a number; ``"inf"`` is read
    and reported by the range checks.
    """
    raw = frame[column]
    try:
        values = pd.to_numeric(raw, errors="coerce")
    except (TypeError, ValueError):  # lists, dicts or bytes in a Parquet/GeoJSON column
        values = pd.Series([_scalar_number(v) for v in raw], index=raw.index, dtype=np.float64)
    as_float = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    bad = np.isnan(as_float) & raw.notna().to_numpy()
    if bad.any():
        shown = raw.to_numpy()
        reasons: dict[int, str] = {}
        for position in np.flatnonzero(bad):
            value = shown[position]
            if not isinstance(value, str):
                continue
            try:
                as_float[position] = parse_number(value, what)
            except ValueError as exc:
                reasons[int(position)] = str(exc)
                continue
            bad[position] = False
        collector.rows(bad, column, lambda i: reasons.get(i) or _not_a_number(what, shown[i]))
    return as_float


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
            raise ValueError(_not_a_number(what, text))
        return number
    if what not in ("longitude", "latitude"):
        if _GROUPED_NUMBER.match(cleaned):
            return float(cleaned.replace(",", ""))
        raise ValueError(_not_a_number(what, text))
    match = _DMS_COORDINATE.match(cleaned)
    if match is None:
        raise ValueError(_not_a_number(what, text))
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


def _not_a_number(what: str, value: Any) -> str:
    hint = ""
    if isinstance(value, str) and _COMMA_NUMBER.match(value):
        hint = (
            " (write numbers with a dot for decimals and no thousands separator)"
            if what in ("longitude", "latitude")
            else " (write numbers with a dot for decimals; a thousands separator groups "
            "three digits: 1,234.5)"
        )
    return f"{what} {value!r} is not a number{hint}"


# --------------------------------------------------------------------------- the reader


def read_points(
    path: str | Path,
    *,
    kind: PointKind = "customers",
    id_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    weight_col: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    scenario: Scenario | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate customers, installed base or sites from a file.

    Parameters
    ----------
    path
        CSV, GeoJSON, GeoPackage or (Geo)Parquet file.
    kind
        ``"customers"`` (weight column, default 1.0), ``"installed-base"``
        (weight = units × service-call rate, see :func:`netplan.demand.demand_weights`)
        or ``"sites"`` (tier, status, fixed cost, capacity).
    id_col, lon_col, lat_col, weight_col
        Column names, when the defaults (``id`` or ``编号``, detected
        coordinates, ``weight`` or ``权重``) do not fit. Matching is
        case-insensitive.
    crs
        CRS of the coordinates (``"EPSG:4547"``) when the file does not carry
        one; CSV coordinates default to EPSG:4326.
    layer
        Layer of a multi-layer GeoPackage.
    scenario
        Scenario whose tiers sites must use and whose rates weight the
        installed base; the built-in default when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``id`` (str) first, then ``weight`` (float,
        customers and installed base) or ``tier``/``status``/``fixed_cost``/
        ``capacity`` (sites), the other columns as read, and ``geometry``.

    Raises
    ------
    InputError
        Listing every problem found, each with file, row and column.

    Examples
    --------
    >>> from netplan.io import read_points
    >>> sites = read_points("data/samples/national/sites.csv", kind="sites")  # doctest: +SKIP
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError([Problem(name, None, None, "file not found")])
    if path.is_dir():
        raise InputError([Problem(name, None, None, "is a folder; pass a file")])
    if layer is None:
        from netplan.inputs import spec_for

        layer = spec_for(scenario, kind).layer
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        frame: pd.DataFrame = _read_csv(path, name)
        row_offset = 2
    elif suffix in VECTOR_SUFFIXES:
        frame = _read_vector(path, name, layer)
        row_offset = 1
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path, name)
        row_offset = 1
    else:
        msg = f"unknown file type '{suffix or '(none)'}'; use .csv, .geojson, .gpkg or .parquet"
        raise InputError([Problem(name, None, None, msg)])
    return points_from_frame(
        frame,
        name=name,
        row_offset=row_offset,
        header_row=1 if suffix in CSV_SUFFIXES else None,
        file_format=suffix.lstrip("."),
        kind=kind,
        id_col=id_col,
        lon_col=lon_col,
        lat_col=lat_col,
        weight_col=weight_col,
        crs=crs,
        scenario=scenario,
    )


def points_from_frame(
    frame: pd.DataFrame,
    *,
    name: str,
    row_offset: int,
    header_row: int | None = None,
    file_format: str = "",
    kind: PointKind = "customers",
    id_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    weight_col: str | None = None,
    crs: str | None = None,
    scenario: Scenario | None = None,
) -> gpd.GeoDataFrame:
    """Validate a table read from a file, or one chunk of it, into points.

    This is :func:`read_points` after the file is read; readers that stream a
    large file (:mod:`netplan.stream`) call it once per chunk.

    Parameters
    ----------
    frame
        The rows as read: text cells from a CSV, typed columns from Parquet,
        or a GeoDataFrame whose geometry gives the coordinates.
    name
        File name used in problems.
    row_offset
        Row number of the frame's first row as the file shows it: 2 for a
        whole CSV (the header is row 1), 1 for other formats; plus the number
        of data rows before a chunk.
    header_row
        Row number of the header (1 for CSV), used for problems with column
        names; ``None`` for formats without one.
    file_format
        Format recorded in ``attrs["netplan_source"]`` (``"csv"``, ...).
    kind, id_col, lon_col, lat_col, weight_col, crs, scenario
        As for :func:`read_points`.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_points`, indexed from 0.

    Raises
    ------
    InputError
        Listing every problem found, rows numbered from ``row_offset``.
    """
    from netplan.inputs import prepare_frame

    scenario = scenario or default_scenario()
    # The scenario's [inputs.<kind>] section (columns, CRS, Chinese values): one place.
    prepared = prepare_frame(
        frame,
        kind=kind,
        scenario=scenario,
        name=name,
        id_col=id_col,
        lon_col=lon_col,
        lat_col=lat_col,
        weight_col=weight_col,
        crs=crs,
        header_row=header_row,
    )
    try:
        gdf = _validate_points(
            prepared.frame,
            name=name,
            row_offset=row_offset,
            header_row=header_row,
            file_format=file_format,
            kind=kind,
            scenario=scenario,
            **prepared.options,
        )
    except InputError as exc:
        raise prepared.rename_problems(exc) from None
    return prepared.finish(gdf)


def _validate_points(
    frame: pd.DataFrame,
    *,
    name: str,
    row_offset: int,
    header_row: int | None,
    file_format: str,
    kind: PointKind,
    id_col: str | None,
    lon_col: str | None,
    lat_col: str | None,
    weight_col: str | None,
    crs: str | None,
    scenario: Scenario,
) -> gpd.GeoDataFrame:
    """Validate a table whose columns the scenario's ``[inputs]`` mapping has prepared."""
    source_crs: CRS | None = None
    geometry: Any = None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geometry = frame.geometry
        source_crs = frame.crs
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    _check_columns(list(frame.columns), name, row=header_row)
    collector = _Collector(name, row_offset)
    if len(frame) == 0:
        collector.file("the file has a header but no data rows")
        collector.raise_if_any()

    if crs is not None:
        try:
            user_crs = CRS.from_user_input(crs)
        except CRSError:
            msg = f"unknown CRS {crs!r}; use an EPSG code such as 'EPSG:4547'"
            raise InputError([Problem(name, None, None, msg)]) from None
        if source_crs is not None and not source_crs.equals(user_crs):
            msg = (
                f"the file declares CRS {source_crs.to_string()} but --crs says "
                f"{user_crs.to_string()}; drop --crs to use the file's CRS"
            )
            raise InputError([Problem(name, None, None, msg)])
        source_crs = user_crs

    columns = list(frame.columns)
    used: set[str] = set()
    if geometry is not None and lon_col is None and lat_col is None:
        lon, lat = _coordinates_from_geometry(geometry, collector)
    else:
        lon_name = _find_column(columns, lon_col, LON_NAMES, "longitude", "--lon", name)
        lat_name = _find_column(columns, lat_col, LAT_NAMES, "latitude", "--lat", name)
        if lon_name is None or lat_name is None:
            missing = "longitude" if lon_name is None else "latitude"
            names = LON_NAMES if lon_name is None else LAT_NAMES
            option = "--lon" if lon_name is None else "--lat"
            msg = (
                f"no {missing} column found (looked for {', '.join(names)}); "
                f"columns are: {', '.join(columns)}; name it with {option}"
            )
            raise InputError([Problem(name, header_row, None, msg)])
        used |= {lon_name, lat_name}
        lon = _numeric(frame, lon_name, collector, "longitude")
        lat = _numeric(frame, lat_name, collector, "latitude")
        for column, what in ((lon_name, "longitude"), (lat_name, "latitude")):
            missing_mask = frame[column].isna().to_numpy()
            collector.rows(missing_mask, column, _same(f"{what} is missing"))
        lon_label, lat_label = lon_name, lat_name

    if source_crs is not None and not source_crs.equals(_WGS84):
        finite = np.isfinite(lon) & np.isfinite(lat)
        transformer = Transformer.from_crs(source_crs, _WGS84, always_xy=True)
        new_lon, new_lat = transformer.transform(lon[finite], lat[finite])
        lon = lon.copy()
        lat = lat.copy()
        lon[finite], lat[finite] = new_lon, new_lat
        bad = finite & ~(np.isfinite(lon) & np.isfinite(lat))
        collector.rows(
            bad, None, lambda i: f"coordinates cannot be transformed from {source_crs.to_string()}"
        )
        lon[bad] = lat[bad] = np.nan  # reported once, not again as out of range
    if geometry is not None and lon_col is None and lat_col is None:
        lon_label, lat_label = "geometry", "geometry"

    _check_ranges(lon, lat, lon_label, lat_label, collector)

    ids = _ids(frame, id_col, row_offset, collector, used)
    out = pd.DataFrame({"id": ids})
    if kind == "sites":
        site_columns = _site_columns(frame, scenario, collector, used)
        for column, values in site_columns.items():
            out[column] = values
    elif kind == "installed-base":
        from netplan.demand import demand_weights

        units_col = _find_column(columns, None, ("units",), "units", "", name)
        units = (
            np.ones(len(frame))
            if units_col is None
            else _numeric(frame, units_col, collector, "units")
        )
        if units_col is not None:
            used.add(units_col)
            _check_non_negative(
                units, frame[units_col].isna().to_numpy(), units_col, "units", collector
            )
        _check_age_columns(frame, collector)
        collector.raise_if_any()
        out["units"] = units
        passthrough = frame.drop(columns=[c for c in frame.columns if c in used])
        out["weight"] = demand_weights(
            pd.concat([out[["units"]], passthrough], axis=1), scenario.demand
        )
    else:
        weight_name = _find_column(columns, weight_col, WEIGHT_NAMES, "weight", "--weight", name)
        if weight_name is None:
            out["weight"] = 1.0
        else:
            used.add(weight_name)
            weight = _numeric(frame, weight_name, collector, "weight")
            _check_non_negative(
                weight, frame[weight_name].isna().to_numpy(), weight_name, "weight", collector
            )
            out["weight"] = weight
    collector.raise_if_any()

    extra = frame.drop(columns=[c for c in frame.columns if c in used or c in out.columns])
    out = pd.concat([out, extra], axis=1)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    _warn_if_swapped(lon, lat, name)
    if source_crs is not None and not source_crs.equals(_WGS84):
        _warn_if_outside_area_of_use(lon, lat, source_crs, name)
    gdf.attrs["netplan_source"] = {
        "file": name,
        "kind": kind,
        "format": file_format,
        "lon_column": lon_label,
        "lat_column": lat_label,
        "source_crs": (source_crs or _WGS84).to_string(),
    }
    return gdf


def _coordinates_from_geometry(
    geometry: gpd.GeoSeries, collector: _Collector
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    values = geometry.to_numpy()
    missing = shapely.is_missing(values) | shapely.is_empty(values)
    collector.rows(missing, "geometry", lambda i: "geometry is missing or empty")
    kinds = shapely.get_type_id(values)
    non_point = ~missing & (kinds != 0)
    if non_point.any():
        count = int(non_point.sum())
        message = (
            f"{collector.name}: {count} non-point geometr{'y' if count == 1 else 'ies'} "
            "(polygons or lines) replaced by their centroid"
        )
        warnings.warn(message, InputWarning, stacklevel=3)
        values = values.copy()
        values[non_point] = shapely.centroid(values[non_point])
    points = np.where(missing, None, values)
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    present = ~missing
    if present.any():
        lon[present] = shapely.get_x(points[present])
        lat[present] = shapely.get_y(points[present])
    return lon, lat


def _check_ranges(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    lon_label: str,
    lat_label: str,
    collector: _Collector,
) -> None:
    finite_lat = np.isfinite(lat)
    finite_lon = np.isfinite(lon)
    bad_lat = finite_lat & (np.abs(lat) > 90)
    bad_lon = finite_lon & (np.abs(lon) > 180)
    both = finite_lat & finite_lon
    swapped = bad_lat & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    if both.any() and swapped.sum() > 0.5 * both.sum():
        collector.file(
            f"{int(swapped.sum())} of {int(both.sum())} rows only make sense with latitude and "
            f"longitude swapped: check that '{lon_label}' holds longitudes and '{lat_label}' "
            "latitudes, or name them with --lon/--lat"
        )
    collector.rows(
        bad_lat,
        lat_label,
        lambda i: (
            f"latitude {lat[i]:g} is outside -90..90"
            + (" (looks swapped with longitude)" if swapped[i] else "")
        ),
    )
    collector.rows(bad_lon, lon_label, lambda i: f"longitude {lon[i]:g} is outside -180..180")
    infinite = np.isinf(lat) | np.isinf(lon)
    collector.rows(infinite, None, lambda i: "coordinates are infinite")


def _warn_if_swapped(lon: NDArray[np.float64], lat: NDArray[np.float64], name: str) -> None:
    """Warn when valid coordinates look like a swapped China/Asia dataset.

    Points whose latitude lies in 60..90 and longitude in 0..60 while the
    swapped reading (lat 0..60, lon 60..90) would be the usual case are
    common when a Chinese export has its columns mislabelled; warn when most
    points are like that.
    """
    if len(lon) < 5:
        return
    suspicious = (np.abs(lat) > 60) & (np.abs(lon) < 60)
    if suspicious.mean() > 0.5:
        msg = (
            f"{name}: most points have |latitude| > 60 and |longitude| < 60, which only a few "
            "places on Earth do; check that longitude and latitude are not swapped"
        )
        warnings.warn(msg, InputWarning, stacklevel=3)


def _check_age_columns(frame: pd.DataFrame, collector: _Collector) -> None:
    """Report ages and install years that are not numbers, and negative ages.

    Missing values are allowed (the age factor is then 1); the columns stay
    in the frame for :func:`netplan.demand.demand_weights`.
    """
    columns = list(frame.columns)
    age_col = _find_column(columns, None, ("age_years",), "age", "", collector.name)
    if age_col is not None:
        ages = _numeric(frame, age_col, collector, "age")
        negative = np.isfinite(ages) & (ages < 0)
        collector.rows(negative, age_col, lambda i: f"age {ages[i]:g} is negative")
    year_col = _find_column(columns, None, ("install_year",), "install year", "", collector.name)
    if year_col is not None:
        _numeric(frame, year_col, collector, "install year")


#: Degrees a point may lie beyond its CRS's area of use before a warning.
_AREA_OF_USE_MARGIN = 10.0


def _warn_if_outside_area_of_use(
    lon: NDArray[np.float64], lat: NDArray[np.float64], crs: CRS, name: str
) -> None:
    """Warn when reprojected points lie far outside the area their CRS is made for.

    A CSV read with the wrong ``--crs``, or with northing and easting swapped
    (Chinese surveys call the northing X), reprojects to valid but absurd
    places; this is the only sign of it.
    """
    area = crs.area_of_use
    if area is None or area.west > area.east:  # unknown, or crossing the antimeridian
        return
    margin = _AREA_OF_USE_MARGIN
    outside = (
        (lon < area.west - margin)
        | (lon > area.east + margin)
        | (lat < area.south - margin)
        | (lat > area.north + margin)
    )
    if outside.any():
        msg = (
            f"{name}: {int(outside.sum())} of {len(lon)} points lie far outside the area "
            f"{crs.to_string()} is defined for ({area.name.rstrip('.')}: "
            f"longitude {area.west:g}..{area.east:g}, "
            f"latitude {area.south:g}..{area.north:g}); "
            "check --crs, and that the longitude (x) column holds eastings and the "
            "latitude (y) column northings"
        )
        warnings.warn(msg, InputWarning, stacklevel=3)


def _check_non_negative(
    values: NDArray[np.float64],
    missing: NDArray[np.bool_],
    column: str,
    what: str,
    collector: _Collector,
) -> None:
    collector.rows(missing, column, lambda i: f"{what} is missing; give 0 or a positive number")
    negative = np.isfinite(values) & (values < 0)
    collector.rows(negative, column, lambda i: f"{what} {values[i]:g} is negative")
    infinite = np.isinf(values)
    collector.rows(infinite, column, lambda i: f"{what} is infinite")


def _ids(
    frame: pd.DataFrame, id_col: str | None, row_offset: int, collector: _Collector, used: set[str]
) -> pd.Series:
    column = _find_column(list(frame.columns), id_col, ID_NAMES, "id", "--id", collector.name)
    if column is None:
        return pd.Series([str(i + row_offset) for i in range(len(frame))], dtype=object)
    used.add(column)
    raw = frame[column]
    ids = _texts(raw)
    missing = ids.isna().to_numpy()
    collector.rows(missing, column, lambda i: "id is missing")
    duplicated = ids.duplicated(keep="first").to_numpy() & ~missing
    if duplicated.any():
        first_row: dict[str, int] = {}
        for position, value in enumerate(ids):
            first_row.setdefault(value, position + row_offset)
        values = ids.to_numpy()
        collector.rows(
            duplicated,
            column,
            lambda i: (
                f"duplicate id '{values[i]}' (first at row {first_row[values[i]]}); "
                "ids must be unique"
            ),
        )
    return ids.astype(object)


def _text(value: Any) -> str | None:
    """Return a cell as stripped text (``3.0`` → ``"3"``); ``None`` when missing or blank."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _texts(values: pd.Series) -> pd.Series:
    """Return :func:`_text` of every cell, as an object Series (``None`` for missing)."""
    return pd.Series([_text(v) for v in values], index=values.index, dtype=object)


def _site_columns(
    frame: pd.DataFrame, scenario: Scenario, collector: _Collector, used: set[str]
) -> dict[str, Any]:
    columns = list(frame.columns)
    name = collector.name
    status_col = _find_column(columns, None, ("status",), "status", "", name)
    if status_col is None:
        status = pd.Series(["existing"] * len(frame), dtype=object)
    else:
        used.add(status_col)
        raw = _texts(frame[status_col])
        status = pd.Series([None if v is None else v.lower() for v in raw], dtype=object)
        missing_status = status.isna().to_numpy()
        collector.rows(
            missing_status,
            status_col,
            lambda i: f"status is missing; use one of {', '.join(SITE_STATUSES)}",
        )
        unknown = ~missing_status & ~status.isin(SITE_STATUSES).to_numpy()
        collector.rows(unknown, status_col, lambda i: unknown_status_message(str(raw[i])))
    is_competitor = (status == "competitor").to_numpy()

    tier_col = _find_column(columns, None, ("tier",), "tier", "", name)
    if tier_col is None:
        if not is_competitor.all():
            collector.file(
                f"no 'tier' column; every site needs a tier ({', '.join(scenario.tiers)})"
            )
        tier = pd.Series([None] * len(frame), dtype=object)
    else:
        used.add(tier_col)
        tier = _texts(frame[tier_col])
        missing = tier.isna().to_numpy() & ~is_competitor
        collector.rows(
            missing, tier_col, lambda i: f"tier is missing; use one of {', '.join(scenario.tiers)}"
        )
        unknown = tier.notna().to_numpy() & ~tier.isin(list(scenario.tiers)).to_numpy()
        tier_values = tier.to_numpy()
        collector.rows(
            unknown, tier_col, lambda i: unknown_tier_message(str(tier_values[i]), scenario)
        )

    out: dict[str, Any] = {"tier": tier.astype(object), "status": status.astype(object)}
    tier_defaults: dict[str, Callable[[Tier], float]] = {
        "fixed_cost": lambda t: t.fixed_cost,
        "capacity": lambda t: np.inf if t.capacity is None else t.capacity,
    }
    for field, default_of in tier_defaults.items():
        defaults = np.array(
            [
                default_of(scenario.tiers[t]) if t in scenario.tiers else np.nan
                for t in tier.to_numpy()
            ],
            dtype=np.float64,
        )
        column = _find_column(columns, None, (field,), field, "", name)
        if column is None:
            out[field] = defaults
            continue
        used.add(column)
        label = field.replace("_", " ")
        values = _numeric(frame, column, collector, label)
        negative = np.isfinite(values) & (values < 0)
        collector.rows(negative, column, _negative_message(label, values))
        out[field] = np.where(np.isnan(values), defaults, values)
    name_col = _find_column(columns, None, ("name",), "name", "", name)
    if name_col is not None:
        used.add(name_col)
        out["name"] = pd.Series([_text(v) or "" for v in frame[name_col]], dtype=object)
    return out


def read_customers(path: str | Path, **options: Any) -> gpd.GeoDataFrame:
    """Read customers (``weight`` column, default 1.0); see :func:`read_points`."""
    return read_points(path, kind="customers", **options)


def read_installed_base(path: str | Path, **options: Any) -> gpd.GeoDataFrame:
    """Read an installed base (weight = units × service-call rate); see :func:`read_points`."""
    return read_points(path, kind="installed-base", **options)


def read_sites(path: str | Path, **options: Any) -> gpd.GeoDataFrame:
    """Read outlet sites (tier, status, fixed cost, capacity); see :func:`read_points`."""
    return read_points(path, kind="sites", **options)


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place on success.

    The temporary file lives in the same folder (so the final rename is
    atomic); if the block raises, or the process dies, ``path`` keeps its
    previous content (or stays absent) and the temporary file is removed.

    Examples
    --------
    >>> with atomic_path("out/summary.json") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name ends with the target's suffix: GDAL picks drivers by it.
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as GDAL want to create the file themselves
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


#: Name prefix of the hidden folder :func:`output_folder` stages a command's files in.
STAGING_PREFIX = ".netplan-staging-"


class OutputFolder:
    """The folder a command writes, and the hidden staging folder inside it.

    Returned by :func:`output_folder`: write every file into :attr:`stage`;
    :meth:`final` gives the path a staged file has once moved into place.
    """

    def __init__(self, path: Path, stage: Path) -> None:
        #: The folder the outputs end up in.
        self.path = path
        #: The hidden folder the outputs are written to first.
        self.stage = stage

    def final(self, staged: str | Path) -> Path:
        """Return where ``staged`` (a path inside :attr:`stage`) lands in :attr:`path`."""
        return self.path / Path(staged).relative_to(self.stage)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _remove_dead_stages(folder: Path) -> None:
    """Remove staging folders left by runs that were killed (their process is gone)."""
    for entry in folder.glob(f"{STAGING_PREFIX}*"):
        pid_text = entry.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if entry.is_dir() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)


def check_output_folder(
    out: str | Path,
    *,
    owned: Iterable[str] = (),
    force: bool = False,
    option: str = "--out",
    inputs: Iterable[str | Path | None] = (),
) -> Path:
    """Check that a command may write its files into the folder ``out``.

    Parameters
    ----------
    out
        The output folder (it may not exist yet).
    owned
        Names (glob patterns such as ``coverage.*``) of the files the command
        writes; an earlier run's files are replaced.
    force
        Write even when the folder holds other files (they are left alone).
    option
        The option naming the folder, for the message.
    inputs
        The command's input files: one the outputs would replace is refused,
        even with ``force`` (inputs are never written).

    Returns
    -------
    pathlib.Path
        ``out`` as a path.

    Raises
    ------
    InputError
        When ``out`` is a file, an input would be overwritten, or (without
        ``force``) the folder holds files the command would not write.
    """
    import fnmatch

    out = Path(out)
    if out.exists() and not out.is_dir():
        msg = f"is a file; {option} takes a folder"
        raise InputError([Problem(str(out), None, None, msg)])
    patterns = tuple(owned)
    for given in inputs:
        if given is None or not out.is_dir():
            continue
        source = Path(given)
        if source.parent.resolve() == out.resolve() and any(
            fnmatch.fnmatchcase(source.name, pattern) for pattern in patterns
        ):
            msg = (
                f"is an input of this command and its outputs would overwrite it; "
                f"choose another folder for {option}"
            )
            raise InputError([Problem(str(source), None, None, msg)])
    if force or not out.is_dir():
        return out
    foreign = sorted(
        entry.name
        for entry in out.iterdir()
        if not entry.name.startswith(STAGING_PREFIX)
        and not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns)
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        msg = (
            f"the folder holds files this command does not write ({shown}); choose an empty or "
            f"new folder for {option}, or pass --force to write beside them"
        )
        raise InputError([Problem(str(out), None, None, msg)])
    return out


@contextlib.contextmanager
def output_folder(
    out: str | Path, *, owned: Iterable[str] = (), force: bool = False, option: str = "--out"
) -> Iterator[OutputFolder]:
    """Stage a command's output files and move them into ``out`` together at the end.

    The files are written into a hidden folder inside ``out``
    (``.netplan-staging-<pid>-...``); when the block ends without error they
    are moved into place with one rename each (files and folders alike), so
    ``out`` never holds half-written files. If the block raises, is
    interrupted (Ctrl-C) or the process is killed, ``out`` keeps its previous
    outputs untouched; the staging folder is removed at once, or (after a
    kill) by the next run writing to ``out``.

    Parameters
    ----------
    out, owned, force, option
        As for :func:`check_output_folder`, which is called first.

    Yields
    ------
    OutputFolder
        Write into ``folder.stage``; ``folder.final(path)`` is where a file ends up.

    Examples
    --------
    >>> with output_folder("out/coverage", owned=["summary.json"]) as folder:  # doctest: +SKIP
    ...     write_text(folder.stage / "summary.json", "{}")
    """
    out = check_output_folder(out, owned=owned, force=force, option=option)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    _remove_dead_stages(out)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))
    done = False
    try:
        yield OutputFolder(out, stage)
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            if entry.is_dir() and target.is_dir():
                old = stage / f".old-{entry.name}"
                os.replace(target, old)
                os.replace(entry, target)
            else:
                os.replace(entry, target)
        done = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if created and not done:  # a failed first run leaves no empty folder behind
            with contextlib.suppress(OSError):
                out.rmdir()


def csv_encoding() -> str:
    """Return the encoding CSV outputs are written in: ``"utf-8-sig"`` (BOM) or ``"utf-8"``.

    UTF-8 with a byte-order mark unless plain UTF-8 was chosen, by
    :func:`set_csv_encoding` (the CLI's ``netplan --plain-csv``) or the
    environment variable ``NETPLAN_CSV_ENCODING=utf-8``.
    """
    chosen = _CSV_ENCODING.get() or os.environ.get("NETPLAN_CSV_ENCODING") or CSV_ENCODINGS[0]
    key = chosen.strip().lower().replace("_", "-")
    if key in ("utf-8-sig", "utf8-sig", "utf-8-bom", "bom"):
        return "utf-8-sig"
    if key in ("utf-8", "utf8", "plain"):
        return "utf-8"
    msg = f"NETPLAN_CSV_ENCODING={chosen!r}: use utf-8-sig (with BOM, the default) or utf-8"
    raise ValueError(msg)


def set_csv_encoding(encoding: str | None) -> None:
    """Choose the encoding of CSV outputs for this run (``None``: back to the default)."""
    if encoding is not None and encoding not in CSV_ENCODINGS:
        msg = f"unknown CSV encoding {encoding!r}; use one of {', '.join(CSV_ENCODINGS)}"
        raise ValueError(msg)
    _CSV_ENCODING.set(encoding)


def write_frame(
    gdf: gpd.GeoDataFrame | pd.DataFrame,
    path: str | Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
) -> Path:
    """Write a (Geo)DataFrame atomically as CSV, GeoJSON, GeoParquet or GeoPackage.

    Outputs are deterministic (same frame → same bytes): CSV with ``lon``/``lat``
    columns (EPSG:4326) instead of geometry (plus ``wkt`` for non-point
    geometries), GeoJSON/GeoPackage through pyogrio, Parquet
    without pandas' index.

    Parameters
    ----------
    gdf
        The frame; geometry is written where the format holds geometry.
    path
        Target file; its folder is created.
    fmt
        ``"csv"``, ``"geojson"``, ``"parquet"`` or ``"gpkg"``; taken from the
        suffix when ``None``.
    encoding
        CSV only: ``"utf-8-sig"`` (with BOM) or ``"utf-8"``; :func:`csv_encoding`
        when ``None``.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in OUTPUT_FORMATS:
        msg = f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}"
        raise ValueError(msg)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            _csv_frame(gdf).to_csv(
                tmp,
                index=False,
                lineterminator="\n",
                float_format="%.10g",
                encoding=encoding or csv_encoding(),
            )
        elif fmt == "parquet":
            gdf.to_parquet(tmp, index=False)
        else:
            import pyogrio

            driver = "GeoJSON" if fmt == "geojson" else "GPKG"
            layer_options: dict[str, Any] = {}
            if driver == "GeoJSON":
                layer_options["COORDINATE_PRECISION"] = 7
                layer_options["WRITE_BBOX"] = "NO"
            pyogrio.write_dataframe(gdf, tmp, driver=driver, layer=path.stem, **layer_options)
            if driver == "GPKG":
                _strip_gpkg_timestamps(tmp)
    return path


def _csv_frame(gdf: gpd.GeoDataFrame | pd.DataFrame) -> pd.DataFrame:
    """Return ``gdf`` as a plain table: geometry becomes ``lon``/``lat`` in EPSG:4326.

    Non-point geometries are written as the ``lon``/``lat`` of their centroid
    plus their WKT in a ``wkt`` column, so nothing is lost. A plain DataFrame
    is returned unchanged.
    """
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        return pd.DataFrame(gdf)
    geometry = gdf.geometry
    if geometry.crs is not None and not geometry.crs.equals(_WGS84):
        geometry = geometry.to_crs(_WGS84)
    values = geometry.to_numpy()
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    points = values.copy()
    points[~present] = None
    non_point = present & (shapely.get_type_id(values) != 0)
    if non_point.any():
        points[non_point] = shapely.centroid(values[non_point])
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    lon[present] = shapely.get_x(points[present])
    lat[present] = shapely.get_y(points[present])
    frame = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name]))
    frame["lon"] = lon
    frame["lat"] = lat
    if non_point.any():
        wkt = np.asarray(shapely.to_wkt(values, rounding_precision=7), dtype=object)
        wkt[~present] = None
        frame["wkt"] = wkt
    return frame


def _strip_gpkg_timestamps(path: Path) -> None:
    """Make a GeoPackage byte-identical across runs by fixing its timestamps."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE gpkg_contents SET last_change = '1970-01-01T00:00:00.000Z'")
        connection.commit()
