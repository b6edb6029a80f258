"""Points from files too large for memory: validated chunks, and partitioned GeoParquet.

A national installed base can hold tens of millions of rows. :func:`iter_points`
reads a CSV in chunks of rows, or a (Geo)Parquet file (or a folder of them) in
batches, and yields each chunk validated exactly as :func:`netplan.io.read_points`
validates a whole file: same encoding, delimiter and coordinate-column
detection, same CRS handling, same problems, with row numbers counted over the
whole file. Ids must be unique across the whole file, not only within a chunk.
Memory is bounded by the chunk (plus about 20 bytes per id for the uniqueness
check).

:func:`convert_to_geoparquet` (``netplan convert``) turns such a file into a
*dataset*: a folder of GeoParquet files of ``rows_per_partition`` rows each, in
input order, plus a ``_netplan.json`` manifest. A dataset is validated once and
then read fast, in parallel, by :mod:`netplan.scale` (one Dask partition per
file) or chunk by chunk by :func:`iter_points`.

Problems
--------
A chunk with problems is not yielded; reading goes on to collect the problems
of the rest of the file, and one :class:`~netplan.errors.InputError` lists them
all at the end (a problem with the file as a whole, such as a missing
coordinate column, is raised at once). Consumers therefore must not publish
anything before the iterator is exhausted; the writers here work in temporary
files and move them into place only on success.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan._sizes import DEFAULT_CHUNK_ROWS, DEFAULT_ROWS_PER_PARTITION
from netplan.config import Scenario
from netplan.demand import weight_slices
from netplan.errors import MAX_LISTED_PROBLEMS, InputError, Problem
from netplan.io import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    VECTOR_SUFFIXES,
    PointArrays,
    PointKind,
    check_input_file,
    display_name,
    point_coordinates,
    points_from_frame,
    read_csv_chunks,
    read_points,
    write_point_geoparquet,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "DATASET_MANIFEST",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_ROWS_PER_PARTITION",
    "ConvertResult",
    "ProgressCallback",
    "convert_to_geoparquet",
    "dataset_files",
    "iter_dataset_frames",
    "iter_points",
    "read_dataset_manifest",
    "read_light_frame",
    "write_dataset",
]

#: Name of the manifest a converted dataset carries (pyarrow and Dask skip ``_`` files).
DATASET_MANIFEST = "_netplan.json"
#: Progress callback: ``progress(rows done, rows in all)``; the total is an estimate for CSV.
ProgressCallback = Callable[[int, int], None]

_PART_NAME = "part-{:05d}.parquet"
_ROWS_PER_ROW_GROUP = 100_000


# --------------------------------------------------------------------------- reading chunks


def iter_points(
    path: str | Path,
    *,
    kind: PointKind = "customers",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    id_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    weight_col: str | None = None,
    crs: str | None = None,
    scenario: Scenario | None = None,
    progress: ProgressCallback | None = None,
    geometry: bool = True,
) -> Iterator[gpd.GeoDataFrame]:
    """Yield a large file's points in validated chunks, in file order.

    Parameters
    ----------
    path
        A CSV file, a (Geo)Parquet file, or a folder of Parquet files (a
        dataset from :func:`convert_to_geoparquet`, read in file-name order).
        GeoJSON and GeoPackage files are read whole, then yielded in chunks.
    kind, id_col, lon_col, lat_col, weight_col, crs, scenario
        As for :func:`netplan.io.read_points`.
    chunk_rows
        Rows per chunk (Parquet batches may be smaller at file ends).
    progress
        Called as ``progress(rows done, rows in all)`` after each chunk.
    geometry
        Build each chunk's point geometry (the default); when false, CSV and
        Parquet chunks are plain DataFrames with ``lon`` and ``lat`` columns
        instead, as :func:`iter_dataset_frames` yields them (no shapely object
        per point).

    Yields
    ------
    geopandas.GeoDataFrame
        Validated points as :func:`~netplan.io.read_points` returns them
        (see ``geometry``), indexed by their position in the whole file (0-based), so the
        concatenated chunks equal the whole file read at once.

    Raises
    ------
    InputError
        Once the file is read, listing every problem (rows counted over the
        whole file, as a spreadsheet shows them), duplicate ids across chunks
        included (the ids of a chunk with other problems are checked once
        those are fixed); at once for a problem with the file as a whole.

    Examples
    --------
    >>> total = 0.0
    >>> for chunk in iter_points("installed_base.csv", kind="installed-base"):  # doctest: +SKIP
    ...     total += chunk["weight"].sum()
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be 1 or more, got {chunk_rows}"
        raise ValueError(msg)
    path = Path(path)
    name = display_name(path)
    if not path.exists():
        raise InputError([Problem(name, None, None, "file not found")])
    options: dict[str, Any] = {
        "kind": kind,
        "id_col": id_col,
        "lon_col": lon_col,
        "lat_col": lat_col,
        "weight_col": weight_col,
        "crs": crs,
        "scenario": scenario,
    }
    suffix = path.suffix.lower()
    if not path.is_dir():
        check_input_file(path)  # a pipe or device would block the reader
    if path.is_dir():
        files = dataset_files(path)
        frames = _parquet_frames(files, name, chunk_rows)
        first_row, header_row, file_format, total = 1, None, "parquet", _parquet_rows(files)
    elif suffix in CSV_SUFFIXES:
        frames = ((frame, None) for frame in read_csv_chunks(path, chunk_rows=chunk_rows))
        first_row, header_row, file_format, total = 2, 1, suffix.lstrip("."), -1
    elif suffix in PARQUET_SUFFIXES:
        frames = _parquet_frames([path], name, chunk_rows)
        first_row, header_row, file_format = 1, None, suffix.lstrip(".")
        total = _parquet_rows([path])
    elif suffix in VECTOR_SUFFIXES:
        yield from _slices(read_points(path, **options), chunk_rows, progress)
        return
    else:
        # read_points names the supported types.
        read_points(path, **options)
        return

    checker = _ProblemCollector(name, header_row)
    ids = _IdRegistry(name, first_row)
    done = 0
    for frame, points in frames:
        if total < 0:
            total = _estimate_csv_rows(path, frame)
        try:
            chunk = points_from_frame(
                frame,
                name=name,
                row_offset=first_row + done,
                header_row=header_row,
                file_format=file_format,
                points=points,
                geometry=geometry,
                **options,
            )
        except InputError as exc:
            checker.add(exc)
        else:
            ids.add(done, chunk["id"])
            if not checker.failed:
                chunk.index = pd.RangeIndex(done, done + len(chunk))
                yield chunk
        done += len(frame)
        if progress is not None:
            progress(done, max(total, done))
    if done == 0:
        message = "the file has a header but no data rows"
        checker.add(InputError([Problem(name, None, None, message)]))
    checker.extend(*ids.duplicates())
    checker.raise_if_any()


def _slices(
    gdf: gpd.GeoDataFrame, chunk_rows: int, progress: ProgressCallback | None
) -> Iterator[gpd.GeoDataFrame]:
    for start in range(0, len(gdf), chunk_rows):
        yield gdf.iloc[start : start + chunk_rows]
        if progress is not None:
            progress(min(start + chunk_rows, len(gdf)), len(gdf))


def _estimate_csv_rows(path: Path, first_chunk: pd.DataFrame) -> int:
    """Estimate a CSV's data rows from its size and its first chunk (for progress)."""
    size = path.stat().st_size
    sample = first_chunk.head(1000).astype(object).fillna("")
    if len(sample) == 0:
        return 0
    text_bytes = sum(len(str(v).encode("utf-8")) + 1 for v in sample.to_numpy().ravel())
    per_row = max(text_bytes / len(sample), 1.0)
    return max(len(first_chunk), int(size / per_row))


class _ProblemCollector:
    """Gathers the problems of every chunk into one error."""

    def __init__(self, name: str, header_row: int | None) -> None:
        self.name = name
        self.header_row = header_row
        self.problems: list[Problem] = []
        self.total = 0
        self.file_messages: set[str] = set()

    @property
    def failed(self) -> bool:
        return self.total > 0

    def add(self, error: InputError) -> None:
        file_level = [p for p in error.problems if p.row is None or p.row == self.header_row]
        if len(file_level) == len(error.problems):
            # A problem with the file as a whole: every chunk would repeat it.
            raise error
        self.total += error.total
        for problem in error.problems:
            if problem in file_level:
                if problem.message in self.file_messages:
                    self.total -= 1
                    continue
                self.file_messages.add(problem.message)
            if len(self.problems) < 5 * MAX_LISTED_PROBLEMS:
                self.problems.append(problem)

    def extend(self, problems: list[Problem], total: int) -> None:
        self.total += total
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.total:
            ordered = sorted(self.problems, key=lambda p: (p.row is not None, p.row or 0))
            raise InputError(ordered, total=self.total)


class _IdRegistry:
    """Keeps every id (as compact Arrow strings) to find duplicates across chunks."""

    def __init__(self, name: str, first_row: int) -> None:
        self.name = name
        self.first_row = first_row
        self.starts: list[int] = []
        self.arrays: list[pa.Array] = []

    def add(self, start: int, ids: pd.Series) -> None:
        import pyarrow as pa

        self.starts.append(start)
        self.arrays.append(pa.array(ids.to_numpy(dtype=object), type=pa.large_string()))

    def duplicates(self) -> tuple[list[Problem], int]:
        """Return the first problems for ids repeated across chunks, and how many there are.

        Repeats within one chunk are reported by the chunk's validation.
        """
        if len(self.arrays) < 2:
            return [], 0
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.chunked_array(self.arrays, type=pa.large_string())
        if pc.count_distinct(ids, mode="all").as_py() == len(ids):
            return [], 0  # every id once (the usual case): no copy, no sort
        encoded = pa.concat_arrays(self.arrays).dictionary_encode()
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        lengths = np.array([len(a) for a in self.arrays])
        chunk_of = np.repeat(np.arange(len(self.arrays)), lengths)
        _, first = np.unique(codes, return_index=True)
        first_of_code = np.empty(int(codes.max()) + 1, dtype=np.int64)
        first_of_code[codes[first]] = first
        origin = first_of_code[codes]
        other_chunk = chunk_of[origin] != chunk_of
        repeated = np.flatnonzero((origin != np.arange(len(codes))) & other_chunk)
        positions = np.concatenate(
            [np.arange(s, s + n) for s, n in zip(self.starts, lengths, strict=True)]
        )
        dictionary = encoded.dictionary
        problems = []
        for entry in repeated[:MAX_LISTED_PROBLEMS]:
            value = dictionary[int(codes[entry])].as_py()
            row = int(positions[entry]) + self.first_row
            first_row = int(positions[origin[entry]]) + self.first_row
            message = f"duplicate id '{value}' (first at row {first_row}); ids must be unique"
            problems.append(Problem(self.name, row, None, message))
        return problems, len(repeated)


# --------------------------------------------------------------------------- Parquet


def dataset_files(path: str | Path) -> list[Path]:
    """Return the Parquet files of a dataset folder, in name order.

    Raises
    ------
    InputError
        When the folder holds no ``.parquet`` file.
    """
    path = Path(path)
    files = sorted(
        p for p in path.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES and p.name[0] not in "._"
    )
    if not files:
        msg = "the folder holds no .parquet files; convert a CSV with `netplan convert FILE DIR`"
        raise InputError([Problem(str(path), None, None, msg)])
    return files


def _parquet_rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _parquet_frames(
    files: list[Path], name: str, chunk_rows: int
) -> Iterator[tuple[pd.DataFrame, PointArrays | None]]:
    """Yield the rows of Parquet files in batches, GeoParquet geometry decoded.

    Points come as coordinate arrays beside the other columns (no shapely
    object per point); other geometries as a GeoDataFrame's geometry.
    """
    import pyarrow.parquet as pq

    for file in files:
        try:
            parquet = pq.ParquetFile(file)
        except Exception as exc:
            msg = f"not a readable Parquet file: {exc}"
            raise InputError([Problem(str(file), None, None, msg)]) from None
        with contextlib.closing(parquet):
            geo = _geo_metadata(parquet.schema_arrow.metadata, str(file))
            simple = geo is not None and _points_column(geo) is not None
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                if geo is None:
                    yield batch.to_pandas(), None
                    continue
                column = geo["primary_column"]
                xy = point_coordinates(batch.column(column), exact=True) if simple else None
                if xy is None:
                    yield _decode_geometry(batch.to_pandas(), geo, name), None
                else:
                    frame = batch.drop_columns([column]).to_pandas()
                    yield frame, PointArrays(xy[0], xy[1], _geo_crs(geo))


def _points_column(geo: dict[str, Any]) -> str | None:
    """Return the geometry column when it may hold plain points (one column, no covering)."""
    column = geo["primary_column"]
    info = geo["columns"][column]
    if len(geo["columns"]) != 1 or "covering" in info:
        return None
    return str(column) if str(info.get("encoding", "WKB")).lower() in ("wkb", "point") else None


def _geo_crs(geo: dict[str, Any]) -> Any:
    """Return the CRS of the GeoParquet primary column (OGC:CRS84 when the key is absent)."""
    from pyproj import CRS

    info = geo["columns"][geo["primary_column"]]
    crs_value = info.get("crs", "OGC:CRS84")  # the GeoParquet default when the key is absent
    return None if crs_value is None else CRS.from_user_input(crs_value)


def _geo_metadata(metadata: dict[bytes, bytes] | None, name: str) -> dict[str, Any] | None:
    if not metadata or b"geo" not in metadata:
        return None
    try:
        geo: dict[str, Any] = json.loads(metadata[b"geo"])
        column = geo["primary_column"]
        if not isinstance(geo["columns"][column], dict):
            raise TypeError(column)
    except (ValueError, KeyError, TypeError):
        msg = "the GeoParquet metadata ('geo') is not readable; rewrite the file with geopandas"
        raise InputError([Problem(name, None, None, msg)]) from None
    return geo


def _decode_geometry(frame: pd.DataFrame, geo: dict[str, Any], name: str) -> gpd.GeoDataFrame:
    """Turn a GeoParquet batch into a GeoDataFrame, as ``geopandas.read_parquet`` does."""
    column = geo["primary_column"]
    info = geo["columns"][column]
    crs = _geo_crs(geo)
    encoding = str(info.get("encoding", "WKB")).lower()
    values = frame[column]
    if encoding == "wkb":
        geometry = gpd.GeoSeries.from_wkb(values.to_numpy(dtype=object), crs=crs)
    elif encoding == "point":
        x = values.map(lambda v: np.nan if v is None else v["x"]).to_numpy(dtype=np.float64)
        y = values.map(lambda v: np.nan if v is None else v["y"]).to_numpy(dtype=np.float64)
        geometry = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=crs)
    else:
        msg = (
            f"GeoParquet geometry encoding '{info.get('encoding')}' is not supported here; "
            "rewrite the file with WKB geometry (geopandas' default)"
        )
        raise InputError([Problem(name, None, None, msg)])
    geometry.index = frame.index
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=geometry.rename(column))


# --------------------------------------------------------------------------- datasets


def iter_dataset_frames(
    path: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield a converted dataset's points as light frames: ``lon``/``lat`` columns, no geometry.

    A dataset written by :func:`convert_to_geoparquet` was validated when it
    was written, so it is read back without validating again and without
    building shapely geometries (10 million of them take 2.4 GB): the point
    coordinates are decoded straight from the WKB bytes.

    Parameters
    ----------
    path
        The dataset folder (or one of its files).
    chunk_rows
        Rows per frame at most (frames do not span files).
    progress
        Called as ``progress(rows done, rows in all)``.

    Yields
    ------
    pandas.DataFrame
        The dataset's columns with ``lon`` and ``lat`` in place of the
        geometry, indexed by position in the whole dataset.
    """
    path = Path(path)
    files = dataset_files(path) if path.is_dir() else [path]
    manifest = read_dataset_manifest(path if path.is_dir() else path.parent) or {}
    total = _parquet_rows(files)
    done = 0
    for file in files:
        for frame in _light_frames(file, chunk_rows):
            frame.index = pd.RangeIndex(done, done + len(frame))
            frame.attrs["netplan_source"] = {
                "file": str(manifest.get("source") or path),
                "kind": str(manifest.get("kind", "")),
                "format": "parquet",
            }
            done += len(frame)
            yield frame
            if progress is not None:
                progress(done, total)


def read_light_frame(path: str | Path) -> pd.DataFrame:
    """Read one file of a converted dataset whole, as :func:`iter_dataset_frames` does."""
    frames = list(_light_frames(Path(path), None))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _light_frames(file: Path, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with contextlib.closing(pq.ParquetFile(file)) as parquet:
        geo = _geo_metadata(parquet.schema_arrow.metadata, str(file))
        if geo is None:
            msg = "not a GeoParquet file (no 'geo' metadata); write it with `netplan convert`"
            raise InputError([Problem(str(file), None, None, msg)])
        column = geo["primary_column"]
        batches = (
            parquet.iter_batches(batch_size=chunk_rows)
            if chunk_rows is not None
            else iter([parquet.read()])
        )
        for batch in batches:
            lon, lat = _wkb_point_coordinates(batch.column(column))
            frame = batch.drop_columns([column]).to_pandas()
            frame["lon"] = lon
            frame["lat"] = lat
            yield frame


def _wkb_point_coordinates(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return x and y of WKB points: :func:`netplan.io.point_coordinates`."""
    xy = point_coordinates(values)
    assert xy is not None  # not exact: other geometries are decoded with shapely
    return xy


# --------------------------------------------------------------------------- convert


@dataclass(frozen=True)
class ConvertResult:
    """A partitioned GeoParquet dataset written by :func:`convert_to_geoparquet`.

    Attributes
    ----------
    path
        The dataset folder.
    source
        The file it was converted from.
    kind
        What the points are (``customers``, ``installed-base``, ``sites``).
    n_rows
        Points written.
    files
        The GeoParquet files, in input order, and their row counts.
    columns
        Columns of every file (geometry last).
    total_weight
        Sum of ``weight`` (exact, correctly rounded); ``None`` for sites.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)``.
    """

    path: Path
    source: str
    kind: str
    n_rows: int
    files: tuple[tuple[str, int], ...]
    columns: tuple[str, ...]
    total_weight: float | None
    bbox: tuple[float, float, float, float]

    @property
    def n_partitions(self) -> int:
        """Number of files (Dask partitions)."""
        return len(self.files)

    def summary(self) -> dict[str, Any]:
        """Return the dataset's description as plain JSON-ready data."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["files"] = [{"name": n, "n_rows": r} for n, r in self.files]
        data["columns"] = list(self.columns)
        data["bbox"] = list(self.bbox)
        data["n_partitions"] = self.n_partitions
        return data


def convert_to_geoparquet(
    path: str | Path,
    out_dir: str | Path,
    *,
    kind: PointKind = "customers",
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    id_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    weight_col: str | None = None,
    crs: str | None = None,
    scenario: Scenario | None = None,
    progress: ProgressCallback | None = None,
) -> ConvertResult:
    """Convert a large points file into a validated, partitioned GeoParquet dataset.

    The file is read in chunks (:func:`iter_points`), so memory stays bounded
    by one partition. The dataset is a folder of ``part-00000.parquet``,
    ``part-00001.parquet``, ... of ``rows_per_partition`` points each, in
    input order (row groups of at most 100,000 rows), plus
    :data:`DATASET_MANIFEST`. The same input and options give byte-identical
    files. The folder is written beside ``out_dir`` and moved into place only
    when every row is valid; an existing dataset at ``out_dir`` is replaced.

    Parameters
    ----------
    path
        CSV, (Geo)Parquet, GeoJSON or GeoPackage file.
    out_dir
        Folder to write (must not exist, or be an earlier dataset or empty).
    kind, id_col, lon_col, lat_col, weight_col, crs, scenario
        As for :func:`netplan.io.read_points`.
    rows_per_partition
        Points per file: one Dask partition each.
    chunk_rows
        Rows read at a time.
    progress
        Called as ``progress(rows done, rows in all)``.

    Returns
    -------
    ConvertResult
        Where the files are and what they hold.

    Raises
    ------
    InputError
        Listing the input's problems; nothing is written then.

    Examples
    --------
    >>> result = convert_to_geoparquet("installed_base.csv", "base.parquet",  # doctest: +SKIP
    ...                                kind="installed-base")
    >>> result.n_partitions  # doctest: +SKIP
    10
    """
    if rows_per_partition < 1:
        msg = f"rows_per_partition must be 1 or more, got {rows_per_partition}"
        raise ValueError(msg)
    path = Path(path)
    out_dir = Path(out_dir)
    _check_target(out_dir)
    chunks = iter_points(
        path,
        kind=kind,
        chunk_rows=chunk_rows,
        id_col=id_col,
        lon_col=lon_col,
        lat_col=lat_col,
        weight_col=weight_col,
        crs=crs,
        scenario=scenario,
        progress=progress,
        geometry=False,  # lon/lat arrays: the WKB is built from them (write_point_geoparquet)
    )
    return write_dataset(
        chunks, out_dir, source=display_name(path), kind=kind, rows_per_partition=rows_per_partition
    )


def write_dataset(
    chunks: Iterable[gpd.GeoDataFrame],
    out_dir: str | Path,
    *,
    source: str,
    kind: str,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
) -> ConvertResult:
    """Write validated point chunks as a partitioned GeoParquet dataset.

    What :func:`convert_to_geoparquet` does after reading; use it directly for
    points already validated (or generated) in memory.

    Parameters
    ----------
    chunks
        Points in EPSG:4326 as :func:`netplan.io.read_points` returns them
        (GeoDataFrames, or plain frames with ``lon``/``lat`` last, written
        as the same GeoParquet).
    out_dir
        Folder to write (must not exist, or be an earlier dataset or empty).
    source, kind
        Recorded in the manifest.
    rows_per_partition
        Points per file.

    Returns
    -------
    ConvertResult
        Where the files are and what they hold.
    """
    if rows_per_partition < 1:
        msg = f"rows_per_partition must be 1 or more, got {rows_per_partition}"
        raise ValueError(msg)
    out_dir = Path(out_dir)
    _check_target(out_dir)
    with _atomic_directory(out_dir) as tmp:
        writer = _PartitionWriter(tmp, rows_per_partition)
        for chunk in chunks:
            writer.add(chunk)
        writer.close()
        if writer.n_rows == 0:
            msg = "the file has no data rows"
            raise InputError([Problem(source, None, None, msg)])
        result = ConvertResult(
            path=out_dir,
            source=source,
            kind=kind,
            n_rows=writer.n_rows,
            files=tuple(writer.files),
            columns=tuple(writer.columns),
            total_weight=writer.total_weight(),
            bbox=writer.bbox(),
        )
        manifest = result.summary()
        manifest.pop("path")
        manifest = {"format": "netplan-geoparquet-dataset", "version": 1, **manifest}
        text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        (tmp / DATASET_MANIFEST).write_text(text, encoding="utf-8")
    return result


def read_dataset_manifest(path: str | Path) -> dict[str, Any] | None:
    """Return the manifest of a dataset written by :func:`convert_to_geoparquet`, or ``None``."""
    manifest = Path(path) / DATASET_MANIFEST
    if not manifest.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return data if data.get("format") == "netplan-geoparquet-dataset" else None


class _PartitionWriter:
    """Cuts a stream of chunks into GeoParquet files of a fixed number of rows."""

    def __init__(self, folder: Path, rows_per_partition: int) -> None:
        self.folder = folder
        self.rows_per_partition = rows_per_partition
        self.pending: list[gpd.GeoDataFrame] = []
        self.pending_rows = 0
        self.files: list[tuple[str, int]] = []
        self.columns: list[str] = []
        self.n_rows = 0
        self.weight_slices: dict[int, float] = {}
        self.has_weight = False
        self.bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])

    def add(self, chunk: gpd.GeoDataFrame) -> None:
        self.n_rows += len(chunk)
        if "weight" in chunk.columns:
            self.has_weight = True
            for k, part in weight_slices(chunk["weight"].to_numpy(dtype=np.float64)).items():
                self.weight_slices[k] = self.weight_slices.get(k, 0.0) + float(part.sum())
        if len(chunk):
            minx, miny, maxx, maxy = _bounds(chunk)
            low = np.minimum(self.bounds[:2], [minx, miny])
            high = np.maximum(self.bounds[2:], [maxx, maxy])
            self.bounds = np.concatenate([low, high])
        start = 0
        while start < len(chunk):
            take = min(self.rows_per_partition - self.pending_rows, len(chunk) - start)
            self.pending.append(chunk.iloc[start : start + take])
            self.pending_rows += take
            start += take
            if self.pending_rows == self.rows_per_partition:
                self._flush()

    def close(self) -> None:
        if self.pending_rows:
            self._flush()

    def _flush(self) -> None:
        part = pd.concat(self.pending) if len(self.pending) > 1 else self.pending[0]
        part = part.reset_index(drop=True)
        part.attrs = {}
        name = _PART_NAME.format(len(self.files))
        options: dict[str, Any] = {"row_group_size": _ROWS_PER_ROW_GROUP, "compression": "zstd"}
        if _has_geometry(part):
            if not write_point_geoparquet(part, self.folder / name, **options):
                part.to_parquet(self.folder / name, index=False, **options)
        else:
            lon = part["lon"].to_numpy(dtype=np.float64)
            lat = part["lat"].to_numpy(dtype=np.float64)
            part = part.drop(columns=["lon", "lat"])
            if not write_point_geoparquet(part, self.folder / name, lon, lat, **options):
                gpd.GeoDataFrame(
                    part, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
                ).to_parquet(self.folder / name, index=False, **options)
            part["geometry"] = None  # (for the column list)
        if not self.columns:
            self.columns = [str(c) for c in part.columns]
        self.files.append((name, len(part)))
        self.pending, self.pending_rows = [], 0

    def total_weight(self) -> float | None:
        return math.fsum(self.weight_slices.values()) if self.has_weight else None

    def bbox(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = (float(v) for v in self.bounds)
        return (minx, miny, maxx, maxy)


def _has_geometry(frame: pd.DataFrame) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns


def _bounds(chunk: pd.DataFrame) -> tuple[float, float, float, float]:
    """Return a chunk's extent, from its geometry or its ``lon``/``lat`` columns."""
    if _has_geometry(chunk):
        minx, miny, maxx, maxy = (float(v) for v in chunk.total_bounds)
        return minx, miny, maxx, maxy
    lon = chunk["lon"].to_numpy(dtype=np.float64)
    lat = chunk["lat"].to_numpy(dtype=np.float64)
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        msg = "exists and is not a folder; choose a folder name for the dataset"
        raise InputError([Problem(str(out_dir), None, None, msg)])
    if out_dir.is_dir() and any(out_dir.iterdir()) and read_dataset_manifest(out_dir) is None:
        msg = (
            "the folder exists and is not a netplan dataset; choose a new folder name "
            "(an earlier `netplan convert` output is replaced)"
        )
        raise InputError([Problem(str(out_dir), None, None, msg)])


@contextlib.contextmanager
def _atomic_directory(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` and move it into place on success."""
    from netplan.io import atomic_folder

    with atomic_folder(path) as tmp:
        yield tmp
