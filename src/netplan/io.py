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
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from netplan.config import SITE_STATUSES, Scenario, Tier, default_scenario
from netplan.errors import InputError, InputWarning, Problem
from netplan.inputs import ID_NAMES, LAT_NAMES, LON_NAMES, WEIGHT_NAMES, prepare_frame, spec_for
from netplan.normalise import unknown_status_message, unknown_tier_message
from netplan.numbers import not_a_number, numbers_from_cells, parse_cells, parse_number
from netplan.rates import demand_weights

if TYPE_CHECKING:
    import pyarrow as pa
    from numpy.typing import NDArray

__all__ = [
    "ID_NAMES",
    "LAT_NAMES",
    "LON_NAMES",
    "WEIGHT_NAMES",
    "OutputFolder",
    "PointKind",
    "atomic_path",
    "check_input_file",
    "check_output_folder",
    "clean_matrix",
    "csv_encoding",
    "csv_safe",
    "detect_encoding",
    "display_name",
    "numbers_from_cells",
    "output_folder",
    "parse_number",
    "points_from_frame",
    "read_csv_chunks",
    "read_customers",
    "read_installed_base",
    "read_matrix",
    "read_points",
    "read_sites",
    "return_freed_memory",
    "set_csv_encoding",
    "source_file",
    "write_frame",
    "write_point_geoparquet",
    "write_text",
]

PointKind = Literal["customers", "installed-base", "sites"]

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
    if not raw or raw.isspace():  # (what `not raw.strip()` says, without copying the file)
        msg = "the file is empty; it needs a header row and data"
        raise InputError([Problem(name, None, None, msg)])
    encoding = detect_encoding(raw, name=name)
    if encoding in ("utf-8", "utf-8-sig") and len(raw) > CSV_SAMPLE_BYTES:
        # A large UTF-8 file: the delimiter and header from its first lines (as
        # read_csv_chunks does), the cells parsed by Arrow's multithreaded reader.
        sample = _text_sample(raw, encoding)
        if sample is not None:
            delimiter = _csv_delimiter(sample, name)
            fast = _arrow_csv_frame(raw, delimiter)
            if fast is not None:
                return fast
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


def _text_sample(raw: bytes, encoding: str) -> str | None:
    """Return the first complete lines of a large file (at least 51), or ``None``.

    Enough for :func:`_sniff_delimiter` (which looks at the first 50 lines) and
    the header to read as they read in the whole text.
    """
    cut = raw.rfind(b"\n", 0, CSV_SAMPLE_BYTES) + 1
    if cut <= 0:
        return None
    text = raw[:cut].decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text if len(text.splitlines()) > 50 else None


def _starts_with_blank(array: pa.StringArray) -> bool:
    """Whether a cell of a string array starts with a space or a tab (read off its bytes)."""
    n = len(array)
    if n == 0 or array.buffers()[2] is None:
        return False
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + n + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]  # non-empty cells (nulls are empty)
    first = data[starts]
    return bool(((first == 0x20) | (first == 0x09)).any())


def _arrow_csv_frame(raw: bytes, delimiter: str) -> pd.DataFrame | None:
    """Return a UTF-8 CSV's cells as pandas reads them (text, empty cells ``None``), by Arrow.

    ``None`` when the file has anything pandas and Arrow could read apart:
    a cell starting with a space or tab (pandas skips initial spaces), a
    lone carriage return, a ragged row, a blank or odd first line; the
    caller then reads it with pandas (and its error messages).
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return None
    names = _arrow_header(body, delimiter)
    if names is None:
        return None
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(body), **_arrow_csv_options(names, delimiter, b'"' in body)
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    if table.num_rows == 0 or any(_starts_with_blank(c.combine_chunks()) for c in table.columns):
        return None
    return _pandas_text_frame(table, names, 0)


def _arrow_header(body: bytes, delimiter: str) -> list[str] | None:
    """Return the column names of a CSV's first line for Arrow, or ``None`` when odd."""
    if body[:1] in (b"\r", b"\n", b" ", b"\t"):
        return None
    header_end = body.find(b"\n")
    header_line = body[: header_end if header_end >= 0 else len(body)].rstrip(b"\r")
    try:
        names = next(csv.reader([header_line.decode("utf-8")], delimiter=delimiter))
    except (csv.Error, StopIteration, UnicodeDecodeError):
        return None
    if header_line.count(b'"') % 2 or len(set(names)) != len(names):
        return None
    if any(n != n.strip() or not n for n in names):
        return None
    return names


def _arrow_csv_options(names: list[str], delimiter: str, quotes: bool) -> dict[str, Any]:
    """Arrow CSV options reading every cell as text, empty cells null, the header skipped."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    return {
        "read_options": pa_csv.ReadOptions(column_names=names, skip_rows=1),
        "parse_options": pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=quotes),
        "convert_options": pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    }


def _pandas_text_frame(table: pa.Table, names: list[str], start: int) -> pd.DataFrame:
    """Return Arrow text columns as ``pandas.read_csv(dtype=str)`` + ``replace({"": None})`` would.

    Text columns, and object columns holding ``None`` where a column has
    empty cells; indexed from ``start`` (the rows before, as pandas' chunks).
    """
    reference = pd.read_csv(_io.StringIO("a\nx\n"), **_CSV_OPTIONS)["a"].dtype
    index = pd.RangeIndex(start, start + table.num_rows)
    columns = {}
    for name, column in zip(names, table.columns, strict=True):
        if column.null_count:
            values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
            values[~np.asarray(column.is_valid())] = None
            columns[name] = pd.Series(values, index=index, dtype=object)
        else:
            columns[name] = pd.Series(column.to_pandas(), dtype=reference).set_axis(index)
    return pd.DataFrame(columns, index=index)


def _arrow_csv_chunks(path: Path, delimiter: str, chunk_rows: int) -> Iterator[pd.DataFrame] | None:
    """Return a UTF-8 CSV's chunks as :func:`read_csv_chunks` reads them, parsed by Arrow.

    The file is checked first in one streamed Arrow pass (memory bounded by
    a block): ``None`` when anything could make Arrow and pandas read it
    apart (see :func:`_arrow_csv_frame`); then the chunks, ``chunk_rows``
    rows each, from a second pass.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    block = 1 << 24
    with path.open("rb") as handle:
        head = handle.read(CSV_SAMPLE_BYTES)
        body_head = head[len(codecs.BOM_UTF8) :] if head.startswith(codecs.BOM_UTF8) else head
        names = _arrow_header(body_head, delimiter)
        if names is None:
            return None
        handle.seek(0)
        carriage = crlf = 0
        quotes = False
        previous = b""
        while piece := handle.read(block):
            carriage += piece.count(b"\r")
            crlf += piece.count(b"\r\n") + (previous.endswith(b"\r") and piece[:1] == b"\n")
            quotes = quotes or b'"' in piece
            previous = piece
    if carriage != crlf:
        return None
    options = _arrow_csv_options(names, delimiter, quotes)
    rows = 0
    try:
        with pa_csv.open_csv(path, **options) as reader:
            for batch in reader:
                rows += batch.num_rows
                if any(_starts_with_blank(column) for column in batch.columns):
                    return None
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    if rows == 0:
        return None

    def chunks() -> Iterator[pd.DataFrame]:
        pending: list[pa.RecordBatch] = []
        pending_rows = done = 0
        with pa_csv.open_csv(path, **options) as reader:
            for batch in reader:
                pending.append(batch)
                pending_rows += batch.num_rows
                while pending_rows >= chunk_rows:
                    table = pa.Table.from_batches(pending)
                    yield _pandas_text_frame(table.slice(0, chunk_rows), names, done)
                    done += chunk_rows
                    rest = table.slice(chunk_rows)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            yield _pandas_text_frame(pa.Table.from_batches(pending), names, done)

    return chunks()


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
    path = check_input_file(path)
    name = display_name(path)
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
    if encoding in ("utf-8", "utf-8-sig") and path.stat().st_size > CSV_SAMPLE_BYTES:
        fast = _arrow_csv_chunks(path, delimiter, chunk_rows)
        if fast is not None:
            try:
                yield from fast
            except UnicodeDecodeError:  # (checked by the first pass; a file changed since)
                msg = "the file changed while it was read; read it again"
                raise InputError([Problem(name, None, None, msg)]) from None
            return
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

    if layer is None:
        _check_single_layer(path, name)
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several GDAL error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            [Problem(name, None, None, f"cannot read as a vector file: {first}")]
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame)
    if path.suffix.lower() in (".geojson", ".json"):
        _check_declared_crs(path, name)
    return frame


def _check_single_layer(path: Path, name: str) -> None:
    """Raise when a vector file holds several layers and none was named."""
    import pyogrio

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception:  # unreadable: the read that follows reports it
        return
    if len(layers) > 1:
        msg = (
            f"the file has {len(layers)} layers ({', '.join(layers)}); name the one to read "
            'with --layer (validate, convert), layer = "..." under the scenario\'s '
            "[inputs.<kind>] section or --input KIND.layer=NAME (every command), or layer= "
            "in the library"
        )
        raise InputError([Problem(name, None, None, msg)])


#: The (deprecated, still written) ``crs`` member of a GeoJSON file: its ``name``.
_GEOJSON_CRS = re.compile(
    rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]{1,200})"'
)
#: Bytes of a GeoJSON file searched for its ``crs`` member (it comes before the features).
_GEOJSON_HEAD_BYTES = 1 << 16


def _check_declared_crs(path: Path, name: str) -> None:
    """Raise when a GeoJSON file declares a CRS that does not exist.

    GDAL reads such a file as EPSG:4326 without a word; coordinates in an
    unknown CRS would then be taken as degrees.
    """
    with path.open("rb") as handle:
        head = handle.read(_GEOJSON_HEAD_BYTES)
    match = _GEOJSON_CRS.search(head)
    if match is None:
        return
    declared = match.group(1).decode("utf-8", errors="replace")
    try:
        CRS.from_user_input(declared)
    except CRSError:
        msg = (
            f"the file declares the CRS {declared!r}, which is unknown; give its coordinates "
            'in EPSG:4326 (or a known CRS) and fix its "crs" member'
        )
        raise InputError([Problem(name, None, None, msg)]) from None


class PointArrays(NamedTuple):
    """Point coordinates decoded straight from a file, without shapely objects."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    crs: CRS | None


def _read_parquet(path: Path, name: str) -> tuple[pd.DataFrame, PointArrays | None]:
    """Read a (Geo)Parquet file: the table, and its points when decoded as arrays.

    A GeoParquet file whose one geometry column holds only 2D points (WKB or
    GeoArrow ``point`` encoding) is read with pyarrow and its coordinates
    decoded with NumPy; anything else goes through ``geopandas.read_parquet``
    (centroids of other geometries, missing and empty geometries reported).
    """
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise InputError(
            [Problem(name, None, None, f"not a readable Parquet file: {exc}")]
        ) from None
    frame: pd.DataFrame
    if schema.metadata and b"geo" in schema.metadata:
        fast = _read_geoparquet_points(path, schema)
        if fast is not None:
            return fast
        frame = gpd.read_parquet(path)
    else:
        frame = pd.read_parquet(path)
    return frame, None


def _read_geoparquet_points(
    path: Path, schema: pa.Schema
) -> tuple[pd.DataFrame, PointArrays] | None:
    """Return a GeoParquet file's other columns and its points, or ``None`` when not points."""
    import copy

    import pyarrow.parquet as pq

    try:
        from geopandas.io.arrow import (
            _remove_id_from_member_of_ensembles,
            _validate_and_decode_metadata,
        )

        geo = _validate_and_decode_metadata(schema.metadata)
    except (ImportError, ValueError):
        return None
    columns = geo.get("columns", {})
    column = geo.get("primary_column")
    if len(columns) != 1 or column not in columns or column not in schema.names:
        return None
    info = columns[column]
    if "covering" in info or info.get("encoding") not in ("WKB", "point"):
        return None
    table = pq.read_table(path)
    xy = point_coordinates(table.column(column), exact=True)
    if xy is None:
        return None
    crs_value = copy.deepcopy(info.get("crs", "OGC:CRS84"))  # the GeoParquet default
    if isinstance(crs_value, dict):
        _remove_id_from_member_of_ensembles(crs_value)
    crs = None if crs_value is None else CRS.from_user_input(crs_value)
    frame = table.drop_columns([column]).to_pandas()
    return frame, PointArrays(xy[0], xy[1], crs)


def point_coordinates(
    values: pa.Array | pa.ChunkedArray, *, exact: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Return x and y of a column of points, decoded with NumPy (no shapely object per point).

    Parameters
    ----------
    values
        WKB points (binary; little-endian 2D points are 21 bytes each) or
        GeoArrow points (a struct of ``x`` and ``y``).
    exact
        When true, return ``None`` unless every value is a non-empty 2D point
        decoded this way (callers then read the column with shapely); when
        false, other WKB geometries are decoded with shapely.

    Returns
    -------
    tuple of numpy.ndarray, or None
        The x (longitude) and y (latitude) arrays.
    """
    import pyarrow as pa
    import shapely

    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(array)
    xy: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    if array.null_count == 0 and pa.types.is_struct(array.type):
        names = [array.type.field(i).name for i in range(array.type.num_fields)]
        if names == ["x", "y"]:
            xy = (
                array.field("x").to_numpy(zero_copy_only=False).astype(np.float64),
                array.field("y").to_numpy(zero_copy_only=False).astype(np.float64),
            )
    elif n and array.null_count == 0 and pa.types.is_binary(array.type):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
        offsets = offsets[array.offset : array.offset + n + 1]
        if np.all(np.diff(offsets) == 21):
            data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
            block = data[offsets[0] : offsets[0] + 21 * n].reshape(n, 21)
            kind = block[:, 1:5].copy().view("<u4")[:, 0]
            if np.all(block[:, 0] == 1) and np.all(kind == 1):
                xy = (
                    block[:, 5:13].copy().view("<f8")[:, 0],
                    block[:, 13:21].copy().view("<f8")[:, 0],
                )
    if xy is not None and exact and (np.isnan(xy[0]).any() or np.isnan(xy[1]).any()):
        return None  # empty points (NaN in WKB): let the shapely path report them
    if xy is not None or exact:
        return xy
    geometry = shapely.from_wkb(np.asarray(array.to_pylist(), dtype=object))
    return shapely.get_x(geometry), shapely.get_y(geometry)


def point_wkb(x: NDArray[np.float64], y: NDArray[np.float64]) -> pa.BinaryArray:
    """Return 2D points as little-endian WKB (21 bytes each), built with NumPy.

    The bytes are those ``shapely.to_wkb`` writes for the same points (on a
    little-endian machine), without a shapely object per point.
    """
    import pyarrow as pa

    x = np.ascontiguousarray(x, dtype="<f8")
    y = np.ascontiguousarray(y, dtype="<f8")
    n = x.size
    block = np.empty((n, 21), dtype=np.uint8)
    block[:, 0] = 1  # little-endian
    block[:, 1:5] = np.frombuffer(np.uint32(1).astype("<u4").tobytes(), dtype=np.uint8)
    block[:, 5:13] = x.view(np.uint8).reshape(n, 8)
    block[:, 13:21] = y.view(np.uint8).reshape(n, 8)
    offsets = np.arange(0, 21 * (n + 1), 21, dtype=np.int32)
    wkb: pa.BinaryArray = pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    )
    return wkb


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
    found = [lower[candidate] for candidate in candidates if candidate in lower]
    if len(found) > 1 and option:
        shown = " and ".join(f"'{c}'" for c in found)
        msg = (
            f"both {shown} could be the {role} column; name the one to use with {option} "
            f"(e.g. {option} {found[0]})"
        )
        raise InputError([Problem(name, 1, None, msg)])
    return found[0] if found else None


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


def _arrow_numbers(raw: pd.Series) -> NDArray[np.float64] | None:
    """Return a text column of plain numbers as floats (NaN where missing), by Arrow's parser.

    ``None`` unless every present cell is a plain number Arrow reads (it
    reads those exactly as pandas and Python do): anything else (spaces,
    thousands separators, degrees, ``nan``, non-text cells) goes through
    :func:`netplan.numbers.parse_cells`, which reports what is wrong.
    """
    text_column = raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)
    if not text_column or len(raw) < _ARROW_NUMBERS_FROM:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(raw, type=pa.string(), from_pandas=True)
        values = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    numbers = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    if values.null_count:
        present = np.asarray(values.is_valid())
        if np.isnan(numbers[present]).any():
            return None
    elif np.isnan(numbers).any():
        return None
    return numbers


#: Text columns from which :func:`_numeric` tries Arrow's number parser first.
_ARROW_NUMBERS_FROM = 10_000


def _numeric(
    frame: pd.DataFrame, column: str, collector: _Collector, what: str
) -> NDArray[np.float64]:
    """Return ``column`` as floats read by :func:`numbers_from_cells`, reporting non-numbers."""
    raw = frame[column]
    fast = _arrow_numbers(raw)
    if fast is not None:
        return fast
    as_float, reasons = parse_cells(raw, what)
    shown = raw.to_numpy()
    bad = np.zeros(len(as_float), dtype=bool)
    bad[list(reasons)] = True
    collector.rows(bad, column, lambda i: reasons.get(i) or not_a_number(what, shown[i]))
    return as_float


# --------------------------------------------------------------------------- the reader


def display_name(path: str | Path) -> str:
    r"""Return ``path`` as text that can be printed and written to UTF-8 files.

    A file name that is not valid UTF-8 (a GBK name such as ``客户.csv`` copied
    from a Chinese Windows archive) reaches Python with "surrogate escapes",
    which cannot be printed or written to JSON. Each such part of the path is
    shown decoded as GB18030 when that reads, else with ``\xNN`` escapes;
    a UTF-8 path is returned unchanged.

    Examples
    --------
    >>> display_name("data/customers.csv")
    'data/customers.csv'
    >>> display_name(os.fsdecode("客户.csv".encode("gbk")))
    '客户.csv'
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        parts = []
        for part in text.split(os.sep):
            try:
                part.encode("utf-8")
            except UnicodeEncodeError:
                raw = part.encode("utf-8", "surrogateescape")
                try:
                    part = raw.decode("gb18030")
                except UnicodeDecodeError:
                    part = raw.decode("utf-8", "backslashreplace")
            parts.append(part)
        return os.sep.join(parts)
    return text


def check_input_file(path: str | Path, *, what: str = "file") -> Path:
    """Check that ``path`` names a regular file netplan can read, and return it.

    A pipe (FIFO), device or socket would block a reader or never end, so
    only regular files (or symbolic links to them) are accepted.

    Parameters
    ----------
    path
        The input file.
    what
        What the file is, for the "not found" message (``"matrix file"``, ...).

    Raises
    ------
    InputError
        When the path does not exist, is a folder, is not a regular file, or
        cannot be looked at (a symbolic link loop, a name too long, no permission).
    """
    import stat

    path = Path(path)
    name = display_name(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError([Problem(name, None, None, f"{what} not found")]) from None
    except OSError as exc:
        msg = f"cannot open: {exc.strerror or type(exc).__name__}"
        raise InputError([Problem(name, None, None, msg)]) from None
    if stat.S_ISDIR(mode):
        raise InputError([Problem(name, None, None, "is a folder; pass a file")])
    if not stat.S_ISREG(mode):
        kind = "a pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
        msg = f"is {kind}, not a regular file; save the data to a file and pass that"
        raise InputError([Problem(name, None, None, msg)])
    return path


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
    geometry: bool = True,
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
    geometry
        Build the point geometry (the default). ``False`` returns a plain
        DataFrame with ``lon``/``lat`` columns (EPSG:4326) last instead: no
        shapely object per point, what large inputs want (see
        :func:`points_from_frame`); :func:`netplan.coverage_from_points`
        takes either.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``id`` (str) first, then ``weight`` (float,
        customers and installed base) or ``tier``/``status``/``fixed_cost``/
        ``capacity`` (sites), the other columns as read, and ``geometry``
        (a plain DataFrame with ``lon``/``lat`` when ``geometry`` is false).

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
    name = display_name(path)
    check_input_file(path)
    if layer is None:
        layer = spec_for(scenario, kind).layer
    suffix = path.suffix.lower()
    points: PointArrays | None = None
    if suffix in CSV_SUFFIXES:
        frame: pd.DataFrame = _read_csv(path, name)
        row_offset = 2
    elif suffix in VECTOR_SUFFIXES:
        frame = _read_vector(path, name, layer)
        row_offset = 1
    elif suffix in PARQUET_SUFFIXES:
        frame, points = _read_parquet(path, name)
        row_offset = 1
    else:
        msg = f"unknown file type '{suffix or '(none)'}'; use .csv, .geojson, .gpkg or .parquet"
        raise InputError([Problem(name, None, None, msg)])
    gdf = points_from_frame(
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
        points=points,
        geometry=geometry,
    )
    assert not geometry or isinstance(gdf, gpd.GeoDataFrame)
    return gdf  # a plain DataFrame when geometry=False


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
    points: PointArrays | None = None,
    geometry: bool = True,
) -> gpd.GeoDataFrame | pd.DataFrame:
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
    points
        The frame's geometry decoded as coordinate arrays (by a reader that
        did so instead of building a GeoDataFrame); used like a geometry.
    geometry
        Build the point geometry (a GeoDataFrame, the default); when false,
        return a plain DataFrame with ``lon`` and ``lat`` columns (EPSG:4326)
        last instead, as :func:`netplan.stream.iter_dataset_frames` does: no
        shapely object per point. A file whose other columns already use
        those names gets the geometry all the same.

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        As :func:`read_points`, indexed from 0 (see ``geometry``).

    Raises
    ------
    InputError
        Listing every problem found, rows numbered from ``row_offset``.
    """
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
            points=points,
            geometry=geometry,
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
    points: PointArrays | None,
    geometry: bool,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Validate a table whose columns the scenario's ``[inputs]`` mapping has prepared."""
    frame, shapes, source_crs = _split_geometry(frame, points)
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    _check_columns(list(frame.columns), name, row=header_row)
    collector = _Collector(name, row_offset)
    if len(frame) == 0:
        collector.file("the file has a header but no data rows")
        collector.raise_if_any()
    source_crs = _with_user_crs(crs, source_crs, name)

    used: set[str] = set()
    lon, lat, lon_label, lat_label = _frame_coordinates(
        frame, shapes, lon_col, lat_col, header_row, collector, used
    )
    lon, lat = _to_wgs84(lon, lat, source_crs, collector, check_degrees=crs is not None)
    _check_ranges(lon, lat, lon_label, lat_label, collector)

    ids = _ids(frame, id_col, row_offset, collector, used)
    out = pd.DataFrame({"id": ids})
    _add_kind_columns(out, frame, kind, weight_col, scenario, collector, used)
    collector.raise_if_any()

    extra = frame.drop(columns=[c for c in frame.columns if c in used or c in out.columns])
    out = pd.concat([out, extra], axis=1)
    if kind != "sites" and scenario.region_grades.active:
        _apply_region_grades(out, lon, lat, scenario)
    gdf: gpd.GeoDataFrame | pd.DataFrame
    if geometry or "lon" in out.columns or "lat" in out.columns:
        gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    else:
        gdf = out
        gdf["lon"] = lon
        gdf["lat"] = lat
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


def _apply_region_grades(
    out: pd.DataFrame, lon: NDArray[np.float64], lat: NDArray[np.float64], scenario: Scenario
) -> None:
    """Fill ``grade`` from the scenario's ``[grades]`` table where the file gives none.

    A grade in the file wins (row-level data is the more specific); blank and
    missing grades, or every row when the file has no ``grade`` column, take
    the grade of the point's city or province (:func:`netplan.regions.grades_from_places`).
    """
    from netplan.regions import grades_from_places

    by_place = grades_from_places(lon, lat, scenario.region_grades, source=scenario.source)
    if "grade" not in out.columns:
        out["grade"] = pd.Series(by_place, index=out.index, dtype=object)
        return
    given = out["grade"].astype(object)
    blank = given.isna().to_numpy() | (given.map(str).str.strip() == "").to_numpy()
    out["grade"] = given.where(~blank, pd.Series(by_place, index=out.index, dtype=object))


def _split_geometry(
    frame: pd.DataFrame, points: PointArrays | None
) -> tuple[pd.DataFrame, Any, CRS | None]:
    """Return the frame without its geometry, the geometry (or decoded points) and its CRS."""
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geometry = frame.geometry
        return pd.DataFrame(frame.drop(columns=frame.geometry.name)), geometry, frame.crs
    if points is not None:
        return frame, points, points.crs
    return frame, None, None


def _with_user_crs(crs: str | None, source_crs: CRS | None, name: str) -> CRS | None:
    """Return the CRS to read coordinates in: the file's, or ``--crs`` (which must agree)."""
    if crs is None:
        return source_crs
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
    return user_crs


def _frame_coordinates(
    frame: pd.DataFrame,
    geometry: Any,
    lon_col: str | None,
    lat_col: str | None,
    header_row: int | None,
    collector: _Collector,
    used: set[str],
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, str]:
    """Return longitudes, latitudes and the labels problems name them by.

    From the geometry (or decoded points) unless ``--lon``/``--lat`` name
    columns; else from the detected coordinate columns (added to ``used``).
    """
    name = collector.name
    if geometry is not None and lon_col is None and lat_col is None:
        if isinstance(geometry, PointArrays):
            return geometry.x, geometry.y, "geometry", "geometry"
        lon, lat = _coordinates_from_geometry(geometry, collector)
        return lon, lat, "geometry", "geometry"
    columns = list(frame.columns)
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
    if lon_name == lat_name:
        msg = (
            f"'{lon_name}' is named as both the longitude and the latitude column; "
            "give two different columns with --lon and --lat"
        )
        raise InputError([Problem(name, header_row, lon_name, msg)])
    used |= {lon_name, lat_name}
    lon = _numeric(frame, lon_name, collector, "longitude")
    lat = _numeric(frame, lat_name, collector, "latitude")
    for column, what in ((lon_name, "longitude"), (lat_name, "latitude")):
        missing_mask = frame[column].isna().to_numpy()
        collector.rows(missing_mask, column, _same(f"{what} is missing"))
    return lon, lat, lon_name, lat_name


def _to_wgs84(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    source_crs: CRS | None,
    collector: _Collector,
    *,
    check_degrees: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the coordinates in EPSG:4326; points that fail to transform become NaN.

    ``check_degrees`` (the user named the CRS): refuse a projected CRS whose
    coordinates are all plainly degrees.
    """
    if source_crs is None or source_crs.equals(_WGS84):
        return lon, lat
    finite = np.isfinite(lon) & np.isfinite(lat)
    if check_degrees:
        _check_not_degrees(lon[finite], lat[finite], source_crs, collector.name)
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
    return lon, lat


def _add_kind_columns(
    out: pd.DataFrame,
    frame: pd.DataFrame,
    kind: PointKind,
    weight_col: str | None,
    scenario: Scenario,
    collector: _Collector,
    used: set[str],
) -> None:
    """Add the columns of the kind of points to ``out``: site columns, or the weight."""
    columns = list(frame.columns)
    name = collector.name
    if kind == "sites":
        site_columns = _site_columns(frame, scenario, collector, used)
        for column, values in site_columns.items():
            out[column] = values
    elif kind == "installed-base":
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
            _check_not_too_large(units, units_col, "units", collector)
        _check_age_columns(frame, collector)
        collector.raise_if_any()
        out["units"] = units
        passthrough = frame.drop(columns=[c for c in frame.columns if c in used])
        out["weight"] = demand_weights(
            pd.concat([out[["units"]], passthrough], axis=1), scenario.demand
        )
        weight = np.nan_to_num(out["weight"].to_numpy(dtype=np.float64), posinf=np.inf)
        weight[np.isinf(weight)] = np.finfo(np.float64).max  # overflowed: report as too large
        _check_not_too_large(weight, units_col, "weight (units × rate)", collector)
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
            _check_not_too_large(weight, weight_name, "weight", collector)
            out["weight"] = weight


def _check_not_degrees(x: NDArray[np.float64], y: NDArray[np.float64], crs: CRS, name: str) -> None:
    """Raise when ``--crs`` names a projected CRS but every coordinate is plainly degrees.

    Projected coordinates are metres (or feet) from a false origin; values all
    within ±180 and ±90 would put every point within 200 m of that origin
    (the sea off West Africa for EPSG:3857), which is never what was meant.
    """
    if not crs.is_projected or x.size == 0:
        return
    if np.abs(x).max() <= 180 and np.abs(y).max() <= 90:
        msg = (
            f"--crs {crs.to_string()} is a projected CRS (metres) but every coordinate lies "
            "within ±180/±90, i.e. is in degrees; drop --crs (degrees are EPSG:4326)"
        )
        raise InputError([Problem(name, None, None, msg)])


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
        warnings.warn(message, InputWarning, stacklevel=4)
        values = values.copy()
        values[non_point] = shapely.centroid(values[non_point])
    points = np.where(missing, None, values)
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    present = ~missing
    if present.any():
        lon[present] = shapely.get_x(points[present])
        lat[present] = shapely.get_y(points[present])
    not_a_number = present & (np.isnan(lon) | np.isnan(lat))
    collector.rows(
        not_a_number,
        "geometry",
        lambda i: "geometry has NaN (not a number) coordinates; fix or drop the feature",
    )
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


#: Largest weight (or units) a row may carry: sums of millions of such rows stay exact
#: to far better than a unit in float64, and the solvers' tolerances stay meaningful.
MAX_WEIGHT = 1e15


def _check_not_too_large(
    values: NDArray[np.float64], column: str | None, what: str, collector: _Collector
) -> None:
    large = np.isfinite(values) & (values >= MAX_WEIGHT)
    collector.rows(
        large,
        column,
        lambda i: (
            f"{what} {values[i]:g} is too large (the limit is {MAX_WEIGHT:g}); "
            "check the column, or rescale (thousands of units)"
        ),
    )


def _ids(
    frame: pd.DataFrame, id_col: str | None, row_offset: int, collector: _Collector, used: set[str]
) -> pd.Series:
    column = _find_column(list(frame.columns), id_col, ID_NAMES, "id", "--id", collector.name)
    if column is None:
        return pd.Series([str(i + row_offset) for i in range(len(frame))], dtype=object)
    used.add(column)
    raw = frame[column]
    arrow = _normalised_text_array(raw)
    if arrow is not None:
        # Text ids: duplicates found by Arrow's hashing, on the Arrow strings.
        ids = pd.Series(
            arrow.to_numpy(zero_copy_only=False).astype(object, copy=False),
            index=raw.index,
            dtype=object,
        )
        first_seen = _first_occurrences(arrow)
        duplicated = np.ones(len(ids), dtype=bool)
        duplicated[first_seen] = False
    else:
        ids = _texts(raw)
        duplicated = ids.duplicated(keep="first").to_numpy()
    missing = ids.isna().to_numpy()
    collector.rows(missing, column, lambda i: "id is missing")
    duplicated = duplicated & ~missing
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


def _first_occurrences(array: pa.StringArray) -> NDArray[np.intp]:
    """Return the position of each distinct value's first occurrence (nulls count as one)."""
    if len(array) == 0:
        return np.zeros(0, dtype=np.intp)
    encoded = array.dictionary_encode()
    if array.null_count == 0 and len(encoded.dictionary) == len(array):
        return np.arange(len(array), dtype=np.intp)  # all distinct (the usual case): no sort
    indices = np.asarray(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    _, first = np.unique(indices, return_index=True)
    return np.asarray(first, dtype=np.intp)


def _text(value: Any) -> str | None:
    """Return a cell as stripped text (``3.0`` → ``"3"``); ``None`` when missing or blank."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _texts(values: pd.Series) -> pd.Series:
    """Return :func:`_text` of every cell, as an object Series (``None`` for missing).

    Text, integer and float columns are normalised with Arrow's vectorised
    kernels (a million ids in a tenth of a second, against two seconds cell by
    cell); the cells the kernels cannot treat exactly as :func:`_text` does
    (text with surrounding whitespace, a float with a fraction) and columns of
    other types go through :func:`_text` itself, so the result is the same.
    """
    arrow = _normalised_text_array(values)
    if arrow is not None:
        texts = arrow.to_numpy(zero_copy_only=False).astype(object, copy=False)
    else:
        texts = _number_texts(values)
        if texts is None:
            texts = np.array([_text(v) for v in values], dtype=object)
    return pd.Series(texts, index=values.index, dtype=object)


#: Every character ``str.strip()`` removes: Python's whitespace, wider than RE2's ``\\s``
#: (a test checks the list against ``str.isspace``).
_PY_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: First bytes (UTF-8) of those characters, and the bytes they can end with.
_SPACE_FIRST_BYTES = np.zeros(256, dtype=bool)
_SPACE_LAST_BYTES = np.zeros(256, dtype=bool)
for _char in _PY_SPACE:
    _SPACE_FIRST_BYTES[_char.encode()[0]] = True
    _SPACE_LAST_BYTES[_char.encode()[-1]] = True
del _char


def _normalised_text_array(values: pd.Series) -> pa.StringArray | None:
    """Return a text column stripped, blanks as nulls; ``None`` when it is not all text."""
    import pyarrow as pa

    dtype = values.dtype
    if (
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_numeric_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        return None
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        array = array.cast(pa.string())
    if not pa.types.is_string(array.type):
        return None
    edged = _edge_space_rows(array)
    if edged.size:
        texts = array.to_pylist()
        for i in edged:
            texts[i] = texts[i].strip()
        array = pa.array(texts, type=pa.string())
    blank: pa.StringArray = _blank_as_null(array)
    return blank


def _blank_as_null(array: pa.StringArray) -> pa.StringArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(array):
        return array
    lengths = pc.binary_length(array)
    if pc.min(lengths).as_py() != 0:
        return array
    result: pa.StringArray = pc.if_else(pc.equal(lengths, 0), pa.scalar(None, pa.string()), array)
    return result


def _edge_space_rows(array: pa.StringArray) -> NDArray[np.intp]:
    """Return the rows of a string array that start or end with Python whitespace."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + n + 1]
    data_buffer = array.buffers()[2]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if array.null_count:
        filled &= np.asarray(array.is_valid())
    candidate = np.zeros(n, dtype=bool)
    if filled.any():
        candidate[filled] = (
            _SPACE_FIRST_BYTES[data[starts[filled]]] | _SPACE_LAST_BYTES[data[ends[filled] - 1]]
        )
    rows = np.flatnonzero(candidate)
    if rows.size == 0:
        return rows
    text = pc.take(array, pa.array(rows))
    edge = pc.match_substring_regex(text, _EDGE_SPACE).to_numpy(zero_copy_only=False)
    edged: NDArray[np.intp] = rows[edge.astype(bool)]
    return edged


_PY_SPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _PY_SPACE) + "]"
#: Cells that start or end with whitespace (stripped in Python: they are rare).
_EDGE_SPACE = f"^{_PY_SPACE_CLASS}|{_PY_SPACE_CLASS}$"


def _number_texts(values: pd.Series) -> NDArray[np.object_] | None:
    """Return :func:`_texts` of an integer or float64 column (vectorised where exact)."""
    import pyarrow as pa

    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if pd.api.types.is_integer_dtype(values.dtype):
        texts = pa.array(values, from_pandas=True).cast(pa.string())
        ints: NDArray[np.object_] = texts.to_numpy(zero_copy_only=False).astype(object, copy=False)
        return ints
    if values.dtype != np.float64:  # float32 cells print as "3.0", not "3": keep _text's way
        return None
    numbers = values.to_numpy(dtype=np.float64)
    result = np.full(len(numbers), None, dtype=object)
    whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2.0**53)
    digits = pa.array(numbers[whole].astype(np.int64)).cast(pa.string())
    result[whole] = digits.to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~whole & ~np.isnan(numbers)):
        result[i] = _text(float(numbers[i]))
    return result


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


# --------------------------------------------------------------------------- cost matrices


def read_matrix(path: str | Path) -> pd.DataFrame:
    """Read a long-format cost matrix: columns ``demand_id``, ``site_id``, ``cost``.

    CSV files are read with the one CSV rule of every netplan reader
    (encoding detection, UTF-8 or GB18030, delimiter sniffing, a checked
    header); Parquet files as :func:`read_points` reads them.

    Parameters
    ----------
    path
        CSV (comma, semicolon, tab or pipe) or Parquet file.

    Returns
    -------
    pandas.DataFrame
        Columns ``demand_id`` and ``site_id`` (str) and ``cost`` (float);
        ``attrs["netplan_source"]`` records the file and the row offset used
        in error messages.

    Raises
    ------
    InputError
        When the file is missing or unreadable, a column is missing, or a
        cost is not a number 0 or more (listing file, row and column).
    """
    path = Path(path)
    name = display_name(path)
    check_input_file(path, what="matrix file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        frame, row_offset = _read_csv(path, name), 2
    elif suffix in PARQUET_SUFFIXES:
        frame, row_offset = _read_parquet(path, name)[0], 1
    else:
        msg = f"unknown matrix file type '{suffix or '(none)'}'; use .csv or .parquet"
        raise InputError([Problem(name, None, None, msg)])
    frame.attrs["netplan_source"] = {"file": name, "row_offset": row_offset}
    return clean_matrix(frame, name, row_offset)


def source_file(frame: pd.DataFrame, default: str) -> str:
    """Return the file a frame was read from (``attrs["netplan_source"]``), or ``default``.

    Examples
    --------
    >>> frame = pd.DataFrame()
    >>> frame.attrs["netplan_source"] = {"file": "sites.csv"}
    >>> source_file(frame, "sites"), source_file(pd.DataFrame(), "sites")
    ('sites.csv', 'sites')
    """
    source = frame.attrs.get("netplan_source", {}) if hasattr(frame, "attrs") else {}
    return str(source.get("file") or default)


def _id_texts(values: pd.Series) -> NDArray[np.object_]:
    """Return ids as stripped text (an empty cell is ``""``)."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return np.asarray(text.to_numpy(dtype=object), dtype=object)


def clean_matrix(frame: pd.DataFrame, name: str, row_offset: int) -> pd.DataFrame:
    """Return a cost matrix frame checked: ``demand_id``/``site_id`` as text, ``cost`` ≥ 0.

    ``name`` and ``row_offset`` (file row of the first data row) make the
    error messages name the file, row and column.
    """
    lower = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("demand_id", "site_id", "cost") if c not in lower]
    if missing:
        msg = (
            f"matrix needs columns demand_id, site_id, cost; missing: {', '.join(missing)} "
            f"(columns are: {', '.join(map(str, frame.columns))})"
        )
        raise InputError([Problem(name, 1 if row_offset == 2 else None, None, msg)])
    out = pd.DataFrame(
        {
            "demand_id": _id_texts(frame[lower["demand_id"]]),
            "site_id": _id_texts(frame[lower["site_id"]]),
        }
    )
    if len(frame) == 0:
        msg = (
            "the matrix has a header but no rows: every demand point would be unreachable; "
            "give the costs, or drop --matrix to compute distances"
        )
        raise InputError([Problem(name, None, None, msg)])
    raw_cost = frame[lower["cost"]]
    cost = numbers_from_cells(raw_cost, "cost")
    bad = ~np.isfinite(cost) | (cost < 0)
    problems: list[Problem] = []
    for position in np.flatnonzero(bad)[:20]:
        value = raw_cost.iloc[int(position)]
        value = "" if value is None else value  # an empty CSV cell
        problems.append(
            Problem(
                name,
                int(position) + row_offset,
                str(lower["cost"]),
                f"cost {value!r} is not a number 0 or more",
            )
        )
    if problems:
        raise InputError(problems, total=int(bad.sum()))
    out["cost"] = cost
    out.attrs["netplan_source"] = {"file": name, "row_offset": row_offset}
    return out


# --------------------------------------------------------------------------- writing


#: Marks the temporary files netplan writes beside a target
#: (``.<stem>.netplan-<pid>-<random>.tmp<suffix>``).
_TEMP_NAME = re.compile(r"\.netplan-(\d+)-[a-z0-9_]+\.tmp")

#: Folders written through rather than replaced (devices and the ``/dev/fd`` streams).
_WRITE_THROUGH_ROOTS = ("/dev/", "/proc/")

#: The :func:`output_set` blocks active in this process, innermost last.
_ACTIVE_SETS: list[_OutputSet] = []

#: Seconds a writer waits for a folder another netplan run is writing (see :func:`output_folder`).
LOCK_WAIT_SECONDS = 300.0


def cannot_write(path: str | Path, exc: OSError) -> InputError:
    """Return the one-line error for an output that the system refused to write.

    Parameters
    ----------
    path
        The output as the user named it.
    exc
        The error the system raised (no space left, read-only folder, ...).

    Returns
    -------
    InputError
        ``cannot write <path>: <reason>`` (exit code 2 in the CLI).
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    return InputError(f"cannot write {path}: {reason}")


class _OutputSet:
    """Files written by one command, moved into place together (see :func:`output_set`)."""

    def __init__(self) -> None:
        self.commits: list[tuple[Path, Path, Callable[[], None]]] = []
        self.cleanups: list[Callable[[], None]] = []

    def staged(self, path: Path) -> Path | None:
        for target, tmp, _ in self.commits:
            if target == path:
                return tmp
        return None


def _current_set() -> _OutputSet | None:
    return _ACTIVE_SETS[-1] if _ACTIVE_SETS else None


@contextlib.contextmanager
def output_set() -> Iterator[None]:
    """Make the files written inside the block one set: all new, or all as before.

    Every :func:`atomic_path` (so :func:`write_text`, :func:`write_frame`, the
    report and map writers) and :func:`atomic_folder` inside the block writes
    its temporary file as usual but moves it into place only when the whole
    block succeeds; if anything fails (or the process is killed), no target is
    touched and the temporary files are removed (after a kill, by the next
    run writing into the same folder). Nested blocks join the outermost one.

    Examples
    --------
    >>> with output_set():  # doctest: +SKIP
    ...     write_text("out/report.html", html)
    ...     write_text("out/report.json", data)  # a failure here leaves report.html as it was
    """
    if _ACTIVE_SETS:
        yield
        return
    current = _OutputSet()
    _ACTIVE_SETS.append(current)
    try:
        yield
        _ACTIVE_SETS.remove(current)
        for target, _, commit in current.commits:
            try:
                commit()
            except OSError as exc:
                raise cannot_write(target, exc) from None
    finally:
        if current in _ACTIVE_SETS:
            _ACTIVE_SETS.remove(current)
        for cleanup in current.cleanups:
            cleanup()


def staged(path: str | Path) -> Path:
    """Return where ``path`` is while its :func:`output_set` is still open.

    A file or folder written inside an :func:`output_set` stays under a
    temporary name until the set ends; read it back through this path (for
    instance to aggregate a dataset just converted). Outside a set, or for a
    path not written in it, ``path`` itself is returned.
    """
    path = Path(path)
    current = _current_set()
    found = current.staged(Path(os.path.realpath(path))) if current is not None else None
    return found if found is not None else path


def _pid_of_temp(name: str) -> int | None:
    found = None
    for match in _TEMP_NAME.finditer(name):
        found = match
    return int(found.group(1)) if found is not None else None


def _remove_dead_temps(folder: Path) -> None:
    """Remove the temporary files and folders of netplan runs that were killed."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        pid = _pid_of_temp(entry.name)
        if pid is None or pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)


def _output_target(path: Path) -> tuple[str, Path]:
    """Decide how ``path`` is written: ``("replace", file)`` or ``("through", device)``.

    A missing path or a regular file is replaced atomically (through symbolic
    links: the link stays, its target is replaced). A device, a FIFO or a
    ``/dev/fd`` stream is written through, never replaced. A folder or a
    dangling link is refused.
    """
    absolute = os.path.abspath(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            msg = (
                f"cannot write {path}: it is a symbolic link to a missing file "
                f"({os.readlink(path)}); remove the link or give another file name"
            )
            raise InputError(msg) from None
        return "replace", Path(os.path.realpath(path))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    import stat

    if stat.S_ISDIR(status.st_mode):
        msg = f"cannot write {path}: it is a folder; give a file name"
        raise InputError(msg)
    if not stat.S_ISREG(status.st_mode) or absolute.startswith(_WRITE_THROUGH_ROOTS):
        return "through", Path(path)
    return "replace", Path(os.path.realpath(path))


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path for ``path`` and move it into place on success.

    The temporary file lives in the same folder (so the final rename is
    atomic); if the block raises, or the process dies, ``path`` keeps its
    previous content (or stays absent) and the temporary file is removed
    (after a kill, by the next write into that folder). Inside an
    :func:`output_set` the move waits for the end of the set.

    Only a missing path or a regular file is ever replaced: a device such as
    ``/dev/null`` or ``/dev/stdout`` (or a FIFO) is written through, and a
    symbolic link keeps pointing to its (replaced) file. When the system
    refuses the write (no space left, read-only folder, permissions, a name
    too long) an :class:`~netplan.errors.InputError` ``cannot write <path>:
    <reason>`` is raised.

    Examples
    --------
    >>> with atomic_path("out/summary.json") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    how, target = _output_target(path)
    current = _current_set()
    try:
        if how == "through":
            folder = Path(tempfile.mkdtemp(prefix="netplan-"))
            tmp = folder / f"output{target.suffix}"

            def cleanup() -> None:
                shutil.rmtree(folder, ignore_errors=True)

            def commit() -> None:
                with tmp.open("rb") as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)

        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _remove_dead_temps(target.parent)
            # The temporary name ends with the target's suffix: GDAL picks drivers by it.
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{target.stem}.netplan-{os.getpid()}-",
                suffix=f".tmp{target.suffix}",
                dir=target.parent,
            )
            os.close(fd)
            tmp = Path(tmp_name)
            tmp.unlink()  # writers such as GDAL want to create the file themselves

            def cleanup() -> None:
                with contextlib.suppress(OSError):
                    tmp.unlink()

            def commit() -> None:
                os.replace(tmp, target)

    except OSError as exc:
        raise cannot_write(path, exc) from None
    if current is not None:
        current.cleanups.append(cleanup)
    try:
        yield tmp
        if current is not None:
            current.commits.append((target, tmp, commit))
        else:
            commit()
    except OSError as exc:
        raise cannot_write(path, exc) from None
    finally:
        if current is None:
            cleanup()


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` and move it into place on success.

    An existing folder at ``path`` is replaced (moved aside, then removed).
    Like :func:`atomic_path`: nothing changes if the block raises, temporary
    folders of killed runs are removed by the next run, the move waits for the
    end of an enclosing :func:`output_set`, and a refused write raises
    ``cannot write <path>: <reason>``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_temps(path.parent)
        tmp = Path(
            tempfile.mkdtemp(
                prefix=f".{path.name}.netplan-{os.getpid()}-", suffix=".tmp", dir=path.parent
            )
        )
    except OSError as exc:
        raise cannot_write(path, exc) from None

    def commit() -> None:
        if path.exists():
            old = Path(
                tempfile.mkdtemp(
                    prefix=f".{path.name}.netplan-{os.getpid()}-", suffix=".tmp", dir=path.parent
                )
            )
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)

    def cleanup() -> None:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

    current = _current_set()
    if current is not None:
        current.cleanups.append(cleanup)
    try:
        yield tmp
        if current is not None:
            current.commits.append((Path(os.path.realpath(path)), tmp, commit))
        else:
            commit()
    except OSError as exc:
        raise cannot_write(path, exc) from None
    finally:
        if current is None:
            cleanup()


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


#: Written into a staging folder once all its files are complete: the move may begin.
_STAGE_COMPLETE = ".netplan-complete"


def _move_stage(stage: Path, out: Path) -> None:
    """Move every entry of ``stage`` into ``out`` (one rename each; folders swapped whole)."""
    for entry in sorted(stage.iterdir()):
        if entry.name == _STAGE_COMPLETE or entry.name.startswith(".old-"):
            continue
        target = out / entry.name
        if entry.is_dir() and target.is_dir():
            old = stage / f".old-{entry.name}"
            if old.exists():
                shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(entry, target)
        else:
            os.replace(entry, target)


def _remove_dead_stages(folder: Path) -> None:
    """Finish or remove staging folders left by runs that were killed (their process is gone).

    A run killed while moving its complete set into place is finished (its
    remaining files moved in), so the folder holds that run's whole set; a
    run killed earlier leaves the folder as it was and its stage is removed.
    """
    for entry in folder.glob(f"{STAGING_PREFIX}*"):
        pid_text = entry.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if entry.is_dir() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
            if (entry / _STAGE_COMPLETE).exists():
                with contextlib.suppress(OSError):
                    _move_stage(entry, folder)
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def folder_lock(
    folder: Path, *, option: str = "--out", wait: float | None = None
) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (an existing folder) for the block.

    Another netplan run writing the same folder waits for the lock (up to
    ``wait`` seconds, :data:`LOCK_WAIT_SECONDS` by default) and then fails
    with an :class:`~netplan.errors.InputError` saying the folder is in use.
    The lock is the system's (``flock`` on the folder): it ends with the
    process, so a killed run never leaves the folder locked.
    """
    import fcntl
    import time

    wait = LOCK_WAIT_SECONDS if wait is None else wait
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise cannot_write(folder, exc) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    msg = (
                        f"{folder}: the folder is in use by another netplan run (waited "
                        f"{wait:g} s); wait for it to finish or choose another folder for {option}"
                    )
                    raise InputError(msg) from None
                time.sleep(0.05)
            except OSError:  # a file system without locks: write unlocked
                break
        yield
    finally:
        os.close(fd)


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
    out: str | Path,
    *,
    owned: Iterable[str] = (),
    force: bool = False,
    option: str = "--out",
    wait: float | None = None,
) -> Iterator[OutputFolder]:
    """Stage a command's output files and move them into ``out`` together at the end.

    The files are written into a hidden folder inside ``out``
    (``.netplan-staging-<pid>-...``); when the block ends without error they
    are moved into place with one rename each (files and folders alike), so
    ``out`` never holds half-written files. If the block raises, is
    interrupted (Ctrl-C) or the process is killed, ``out`` keeps its previous
    outputs untouched; the staging folder is removed at once, or (after a
    kill) by the next run writing to ``out`` (a run killed while moving its
    complete set in is finished by that next run instead).

    The folder is locked while files are staged and moved (see
    :func:`folder_lock`): two runs writing the same folder take turns, so it
    always holds one run's complete set, never a mix.

    Parameters
    ----------
    out, owned, force, option
        As for :func:`check_output_folder`, which is called first.
    wait
        Seconds to wait for another run writing ``out`` (default
        :data:`LOCK_WAIT_SECONDS`).

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
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    outer = list(_ACTIVE_SETS)  # files staged here are moved by this block, not by a set
    _ACTIVE_SETS.clear()
    done = False
    stage: Path | None = None
    try:
        with folder_lock(out, option=option, wait=wait):
            try:
                _remove_dead_stages(out)
                stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))
            except OSError as exc:
                raise cannot_write(out, exc) from None
            yield OutputFolder(out, stage)
            try:
                (stage / _STAGE_COMPLETE).touch()
                _move_stage(stage, out)
            except OSError as exc:
                raise cannot_write(out, exc) from None
            done = True
    finally:
        _ACTIVE_SETS[:] = outer
        if stage is not None:
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
    without pandas' index. In CSV, text that a spreadsheet would run as a
    formula is neutralised (see :func:`csv_safe`).

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
            frame = csv_safe(_csv_frame(gdf))
            frame.to_csv(
                tmp,
                index=False,
                lineterminator="\n",
                float_format="%.10g",
                quoting=csv_quoting(frame),
                encoding=encoding or csv_encoding(),
            )
        elif fmt == "parquet":
            if not write_point_geoparquet(gdf, tmp):
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


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_plain_number(text: str) -> bool:
    """Whether a spreadsheet reads ``text`` as a number (``-12.5``, ``+3``, ``-1e5``)."""
    if text != text.strip():
        return False
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def csv_safe_text(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading apostrophe (the OWASP advice against CSV injection), so
    Excel, LibreOffice and WPS show it as text instead of evaluating it. Text
    that is a plain number (``-12.5``) and every non-text value pass unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_plain_number(value):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with its text cells and column names made safe for spreadsheets.

    Applies :func:`csv_safe_text` to every text cell and column name; number
    columns are untouched (a negative number stays a number). Returns
    ``frame`` itself when nothing needs changing, so ordinary outputs are
    written exactly as before.
    """
    changed: dict[Any, pd.Series] = {}
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if not (
            series.dtype == object or isinstance(series.dtype, pd.StringDtype | pd.CategoricalDtype)
        ):
            continue
        try:
            starts = series.astype(object).str.startswith(FORMULA_STARTS, na=False)
        except AttributeError:  # no text in the column at all
            continue
        starts = starts.astype(bool)
        if not starts.any():
            continue
        values = series.astype(object).copy()
        values[starts] = values[starts].map(csv_safe_text)
        changed[position] = values
    names = [csv_safe_text(c) if isinstance(c, str) else c for c in frame.columns]
    if not changed and names == list(frame.columns):
        return frame
    out = frame.copy()
    for position, values in changed.items():
        out.isetitem(position, values.to_numpy(dtype=object))
    out.columns = pd.Index(names)
    return out


def csv_quoting(frame: pd.DataFrame) -> Literal[0, 2]:
    """Return the :mod:`csv` quoting that keeps ``frame``'s rows whole.

    Python's CSV writer quotes a cell holding a line feed but not one holding
    a lone carriage return, which a spreadsheet (and :mod:`csv`) then reads as
    a line break. Such a frame is written with every text cell quoted; any
    other frame as usual (minimal quoting), byte for byte as before.
    """
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
            continue
        try:
            if series.astype(object).str.contains("\r", regex=False, na=False).any():
                return 2  # csv.QUOTE_NONNUMERIC
        except AttributeError:
            continue
    return 0  # csv.QUOTE_MINIMAL


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


def return_freed_memory() -> None:
    """Let Arrow allocate with the system allocator, which hands freed blocks back at once.

    Arrow's default pool (mimalloc) keeps freed memory for reuse: reading,
    checking and writing millions of points leaves hundreds of MB resident
    that the next phase cannot use (``netplan coverage`` on 2e6 points: peak
    RSS 1.28 → 1.08 GB). The commands that read large inputs call it first.
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def write_point_geoparquet(
    frame: pd.DataFrame,
    path: str | Path,
    lon: NDArray[np.float64] | None = None,
    lat: NDArray[np.float64] | None = None,
    **options: Any,
) -> bool:
    """Write a table of points as GeoParquet from coordinate arrays; ``False`` when it cannot.

    The bytes are those ``GeoDataFrame.to_parquet(path, index=False)`` writes
    (same schema, pandas and ``geo`` metadata, WKB), but the WKB is built
    with NumPy from the coordinates (:func:`point_wkb`): no shapely object
    per point, and no ``shapely.to_wkb``.

    Parameters
    ----------
    frame
        A GeoDataFrame whose geometry is all non-empty 2D points (their
        coordinates are read with ``shapely.get_x``/``get_y``), or a plain
        DataFrame with ``lon``/``lat`` given: it is written as the
        GeoDataFrame with those points (EPSG:4326) appended as ``geometry``.
    path
        The file to write (not atomically: :func:`write_frame` does that).
    lon, lat
        The points of a plain ``frame``.
    **options
        ``pyarrow.parquet.write_table`` options, as ``to_parquet`` passes
        them on (``compression`` defaults to snappy, as there).

    Returns
    -------
    bool
        ``False`` (nothing written) for a geometry this path does not write
        (missing, empty, non-point or 3D geometries, another geometry column,
        column names that are not text): write it with geopandas then.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        import geopandas as geopandas_module
        from geopandas.io.arrow import METADATA_VERSION, _remove_id_from_member_of_ensembles
    except ImportError:  # pragma: no cover - a geopandas without these names
        return False
    if not all(isinstance(c, str) for c in frame.columns):
        return False
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.geometry.name not in frame.columns or lon is not None:
            return False
        geometry_name = frame.geometry.name
        if int((frame.dtypes == "geometry").sum()) != 1:
            return False
        values = frame.geometry.to_numpy()
        if len(values) and not (
            bool(np.all(shapely.get_type_id(values) == 0))
            and not bool(shapely.is_empty(values).any())
            and not bool(shapely.has_z(values).any())
        ):
            return False
        x = np.asarray(shapely.get_x(values), dtype=np.float64)
        y = np.asarray(shapely.get_y(values), dtype=np.float64)
        crs = frame.crs
        columns = pd.DataFrame(frame.copy(deep=False))
        columns[geometry_name] = None
    else:
        if lon is None or lat is None or "geometry" in frame.columns:
            return False
        geometry_name = "geometry"
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        crs = _WGS84
        columns = pd.DataFrame(frame.copy(deep=False))
        columns[geometry_name] = None
    if np.isnan(x).any() or np.isnan(y).any():  # empty points: geopandas writes them
        return False
    table = pa.Table.from_pandas(columns, preserve_index=False)
    extension = {"ARROW:extension:name": "geoarrow.wkb"}
    extension["ARROW:extension:metadata"] = (
        "{}" if crs is None else json.dumps({"crs": crs.to_json_dict()})
    )
    field = pa.field(geometry_name, type=pa.binary(), nullable=True, metadata=extension)
    table = table.set_column(table.schema.get_field_index(geometry_name), field, point_wkb(x, y))
    crs_json = None
    if crs:
        crs_json = crs.to_json_dict()
        _remove_id_from_member_of_ensembles(crs_json)
    column: dict[str, Any] = {
        "encoding": "WKB",
        "crs": crs_json,
        "geometry_types": ["Point"] if len(x) else [],
    }
    if len(x):
        column["bbox"] = [float(x.min()), float(y.min()), float(x.max()), float(y.max())]
    geo = {
        "primary_column": geometry_name,
        "columns": {geometry_name: column},
        "version": METADATA_VERSION,
        "creator": {"library": "geopandas", "version": geopandas_module.__version__},
    }
    metadata = dict(table.schema.metadata or {})
    metadata[b"geo"] = json.dumps(geo).encode("utf-8")
    if frame.attrs:
        metadata["PANDAS_ATTRS"] = json.dumps(frame.attrs)
    options.setdefault("compression", "snappy")
    pq.write_table(table.replace_schema_metadata(metadata), path, **options)
    return True


def _strip_gpkg_timestamps(path: Path) -> None:
    """Make a GeoPackage byte-identical across runs by fixing its timestamps."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE gpkg_contents SET last_change = '1970-01-01T00:00:00.000Z'")
        connection.commit()


def strip_gpkg_timestamps(path: Path) -> None:
    """Make a GeoPackage byte-identical across runs by fixing its timestamps (in place)."""
    _strip_gpkg_timestamps(path)
