"""Hardening: nothing a user feeds netplan makes it crash, hang, lie or lose data.

Each section makes one claim of the README's "Validation and errors" checkable:

* readers, the scenario parser and the CLI, fuzzed with hypothesis: every outcome
  is a valid result or a ``NetplanError`` naming file, row and column; the CLI
  exits 0, 2 or 3 and never prints a traceback;
* model edge cases give clear results or exit code 3 with a diagnosis, and a
  missing or crashing solver falls back to the other one and says so;
* inputs are never written, a run killed mid-write leaves the previous outputs
  or none, ``--out`` refuses to mix its files with others unless ``--force``;
* user text is escaped, the scenario is data only, no network is used;
* memory-hungry runs are refused up front; outputs are byte-identical across runs.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import signal
import string
import subprocess
import sys
import time
import tomllib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netplan._limits import MEMORY_LIMIT_ENV, memory_limit_bytes
from netplan.cli import app
from netplan.config import DEFAULT_SCENARIO_TOML, Scenario, scenario_from_dict
from netplan.errors import (
    ConfigError,
    InfeasibleError,
    InputError,
    ResourceError,
    SolverError,
    SolverWarning,
)
from netplan.errors import NetplanWarning as NetplanWarningType
from netplan.io import MAX_WEIGHT, numbers_from_cells, parse_number, read_points
from netplan.locate import plan_from_points
from netplan.maps import network_map

#: Settings shared by the fuzz tests: few examples (the default run stays fast), no deadline
#: (the 2-core machine is shared), and tmp_path reused across examples on purpose.
#: ``NETPLAN_FUZZ_EXAMPLES=2000 pytest tests/test_robustness.py`` fuzzes harder.
FUZZ = settings(
    max_examples=int(os.environ.get("NETPLAN_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ----------------------------------------------------------------------------------------- readers


#: Cells a spreadsheet export may hold: numbers in every spelling, text, blanks, NaN/inf.
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1e-300, max_value=1e-300).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=0, max_value=10**9).map(lambda n: f"{n:,}"),
    st.floats(min_value=0, max_value=1e9, allow_nan=False).map(lambda x: f"{x:,.2f}"),
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "N/A",
            "#DIV/0!",
            "116,4",
            "1,23",
            "1e309",
            "104°3'36\"E",
            "30°40'12\"N",
            "30°70'",
            "北纬30度40分12秒",
            "=1+1",
            "'quoted",
            '"',
            "a,b",
            "\t",
            "\u00a0",
            "😀",
            "None",
            "TRUE",
            "0x10",
            "1_000",
            "--1",
        ]
    ),
    st.text(max_size=12),
)
HEADERS = st.sampled_from(
    ["id", "ID", "lon", "LON", "lat", "lng", "x", "y", "weight", "权重", "经度", "纬度", "编号",
     "tier", "status", "fixed_cost", "capacity", "units", "age_years", "install_year", "name",
     "", " ", "lon ", "weight.1", "grade"]
)  # fmt: skip
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1", "cp1252"])
KINDS = st.sampled_from(["customers", "installed-base", "sites"])


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def _check_points(gdf: gpd.GeoDataFrame, kind: str) -> None:
    """Assert a reader's result keeps the contract: ids unique strings, finite in-range points."""
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    assert gdf["id"].is_unique
    assert all(isinstance(v, str) and v for v in gdf["id"])
    lon, lat = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    assert np.isfinite(lon).all() and np.isfinite(lat).all()
    assert (np.abs(lon) <= 180).all() and (np.abs(lat) <= 90).all()
    if kind != "sites":
        weight = gdf["weight"].to_numpy(dtype=float)
        assert np.isfinite(weight).all() and (weight >= 0).all()
    else:
        assert gdf["status"].notna().all()


def _check_error(exc: InputError, path: Path) -> None:
    """Assert an InputError names the file on every problem and says something."""
    assert exc.problems, "an InputError lists at least one problem"
    for problem in exc.problems:
        assert problem.file == str(path)
        assert problem.message.strip()
        assert "Traceback" not in problem.message
    assert str(path) in str(exc)


class _no_crash:
    """Context manager: netplan warnings are allowed, anything but an InputError fails."""

    def __enter__(self) -> None:
        import warnings

        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        from netplan.errors import NetplanWarning

        warnings.simplefilter("ignore", NetplanWarning)

    def __exit__(self, *exc_info: Any) -> None:
        self._catcher.__exit__(*exc_info)


def _read(path: Path, kind: str) -> None:
    try:
        gdf = read_points(path, kind=kind)  # type: ignore[arg-type]
    except InputError as exc:
        _check_error(exc, path)
    else:
        _check_points(gdf, kind)


@FUZZ
@given(
    header=st.lists(HEADERS, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=7), min_size=0, max_size=5),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=ENCODINGS,
    kind=KINDS,
)
def test_arbitrary_csv_tables_give_points_or_an_input_error(
    tmp_path: Path,
    header: list[str],
    rows: list[list[str]],
    delimiter: str,
    encoding: str,
    kind: str,
) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(_encode(_csv_text(header, rows, delimiter), encoding))
    with _no_crash():
        _read(path, kind)


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".txt", ".tsv"]))
def test_arbitrary_bytes_give_points_or_an_input_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"bytes{suffix}"
    path.write_bytes(data)
    with _no_crash():
        _read(path, "customers")


@FUZZ
@given(text=st.text(max_size=300), encoding=ENCODINGS)
def test_arbitrary_text_gives_points_or_an_input_error(
    tmp_path: Path, text: str, encoding: str
) -> None:
    path = tmp_path / "text.csv"
    path.write_bytes(_encode("lon,lat\n" + text, encoding))
    with _no_crash():
        _read(path, "customers")


@FUZZ
@given(
    lon=st.floats(allow_nan=True, allow_infinity=True),
    lat=st.floats(allow_nan=True, allow_infinity=True),
    weight=st.floats(allow_nan=True, allow_infinity=True),
)
def test_one_row_files_with_any_float_are_read_exactly_or_refused_by_row_and_column(
    tmp_path: Path, lon: float, lat: float, weight: float
) -> None:
    path = tmp_path / "one.csv"
    path.write_text(f"id,lon,lat,weight\na,{lon!r},{lat!r},{weight!r}\n", encoding="utf-8")
    valid = (
        math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90
        and math.isfinite(weight) and 0 <= weight < MAX_WEIGHT
    )  # fmt: skip
    with _no_crash():
        if valid:
            gdf = read_points(path)
            assert gdf.geometry.x.iloc[0] == lon and gdf.geometry.y.iloc[0] == lat
            assert gdf["weight"].iloc[0] == weight
        else:
            with pytest.raises(InputError) as caught:
                read_points(path)
            problems = caught.value.problems
            assert any(p.row == 2 for p in problems)
            assert all(p.row == 2 or "swapped" in p.message for p in problems)
            assert all(p.column in ("lon", "lat", "weight", None) for p in caught.value.problems)
            assert "path" not in str(caught.value) and "one.csv, row 2" in str(caught.value)


@FUZZ
@given(
    header=st.lists(HEADERS, min_size=1, max_size=5),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=6), min_size=0, max_size=6),
    encoding=ENCODINGS,
    chunk_rows=st.integers(min_value=1, max_value=4),
)
def test_the_streamed_reader_agrees_with_the_whole_file_reader(
    tmp_path: Path, header: list[str], rows: list[list[str]], encoding: str, chunk_rows: int
) -> None:
    """Chunk by chunk (netplan.stream, for files too large for memory) as read whole."""
    import pandas as pd

    from netplan.stream import iter_points

    path = tmp_path / "stream.csv"
    path.write_bytes(_encode(_csv_text(header, rows, ","), encoding))
    with _no_crash():
        try:
            whole = read_points(path)
        except InputError as exc:
            whole, expected = None, exc
        try:
            chunks = list(iter_points(path, chunk_rows=chunk_rows))
        except InputError as exc:
            assert whole is None, f"the streamed reader refused a valid file: {exc}"
            _check_error(exc, path)
            assert expected.problems  # both refuse (the first problems found may differ)
        else:
            assert whole is not None, "the streamed reader accepted an invalid file"
            streamed = pd.concat(chunks)
            assert streamed["id"].tolist() == whole["id"].tolist()
            assert streamed.geometry.x.tolist() == whole.geometry.x.tolist()


@FUZZ
@given(text=st.text(max_size=200) | st.sampled_from(
    ['{"type": "FeatureCollection", "features": []}',
     '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, '
     '"properties": {"id": 1}}]}',
     '{"type": "Point", "coordinates": [1e400, "x"]}', "[]", "null", '{"type": 5}']
))  # fmt: skip
def test_arbitrary_geojson_gives_points_or_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "points.geojson"
    path.write_text(text, encoding="utf-8")
    with _no_crash():
        _read(path, "customers")


def test_empty_and_header_only_and_duplicate_header_files_are_input_errors(tmp_path: Path) -> None:
    cases = {
        "empty.csv": ("", r"empty.csv: the file is empty"),
        "blank.csv": ("\n\n  \n", r"blank.csv: the file is empty"),
        "header.csv": ("id,lon,lat\n", r"header.csv: the file has a header but no data rows"),
        "dup.csv": ("lon,lat,LON\n1,2,3\n", r"dup.csv, row 1, column 'LON': duplicate column name"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=message):
            read_points(path)


# -------------------------------------------------------------------- numbers as people write them


@pytest.mark.parametrize(
    ("text", "what", "expected"),
    [
        ("1,234", "weight", 1234.0),
        ("1,234.5", "weight", 1234.5),
        ("-1,234,567.25", "fixed cost", -1234567.25),
        (" 12 ", "units", 12.0),
        ("104°3'36\"E", "longitude", 104.06),
        ("104°3′36″E", "longitude", 104.06),
        ("104° 3' 36\" W", "longitude", -104.06),
        ("30°40'12\"N", "latitude", 30.67),
        ("30°40'12\"S", "latitude", -30.67),
        ("N30°40.2'", "latitude", 30.67),
        ("-30°40'12\"", "latitude", -30.67),
        ("30.67°", "latitude", 30.67),
        ("北纬30度40分12秒", "latitude", 30.67),
        ("东经104度3分36秒", "longitude", 104.06),
        ("30°40'12''N", "latitude", 30.67),
    ],
)
def test_parse_number_reads_thousands_separators_and_dms(
    text: str, what: str, expected: float
) -> None:
    assert parse_number(text, what) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "what", "message"),
    [
        ("116,4", "longitude", r"is not a number \(write numbers with a dot"),
        ("116,404", "longitude", r"is not a number"),  # never a thousands separator in degrees
        ("1,23", "weight", r"a thousands separator groups three digits"),
        ("12,34,567", "weight", r"is not a number"),
        ("30°40'12\"N", "longitude", r"hemisphere mark 'N' of a latitude"),
        ("104°3'36\"E", "latitude", r"hemisphere mark 'E' of a longitude"),
        ("-30°40'12\"S", "latitude", r"two signs or hemisphere marks"),
        ("30°70'", "latitude", r"minutes and seconds must be below 60"),
        ("30°40'75\"", "latitude", r"minutes and seconds must be below 60"),
        ("104°3'36\"E", "weight", r"is not a number"),  # DMS is for coordinates only
        ("nan", "weight", r"is not a number"),
    ],
)
def test_parse_number_refuses_what_it_cannot_read_without_guessing(
    text: str, what: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_number(text, what)


def test_excel_style_csv_with_quoted_thousands_and_dms_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        'id,lon,lat,weight\na,"104°3\'36""E","30°40\'12""N","1,234.5"\nb,104.1,30.7,"2,000"\n',
        encoding="utf-8",
    )
    gdf = read_points(path)
    assert gdf.geometry.x.tolist() == pytest.approx([104.06, 104.1])
    assert gdf.geometry.y.tolist() == pytest.approx([30.67, 30.7])
    assert gdf["weight"].tolist() == [1234.5, 2000.0]


def test_unreadable_dms_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "dms.csv"
    path.write_text("id,lon,lat\na,104.1,30.7\nb,104°3'36\"E,30°40'12\"E\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"dms.csv, row 3, column 'lat': latitude .* hemisphere mark 'E'"
    ):
        read_points(path)


@FUZZ
@given(value=st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_grouped_quantities_round_trip(value: float) -> None:
    assert parse_number(f"{value:,.3f}", "weight") == pytest.approx(round(value, 3), rel=1e-15)


@FUZZ
@given(
    degrees=st.integers(min_value=0, max_value=179),
    minutes=st.integers(min_value=0, max_value=59),
    seconds=st.floats(min_value=0, max_value=59.99, allow_nan=False).map(lambda s: round(s, 2)),
    west=st.booleans(),
)
def test_dms_longitudes_round_trip(degrees: int, minutes: int, seconds: float, west: bool) -> None:
    text = f"{degrees}°{minutes}'{seconds}\"{'W' if west else 'E'}"
    expected = (degrees + minutes / 60 + seconds / 3600) * (-1 if west else 1)
    assert parse_number(text, "longitude") == pytest.approx(expected, abs=1e-9)


@FUZZ
@given(text=st.text(max_size=30), what=st.sampled_from(["longitude", "latitude", "weight"]))
def test_parse_number_raises_only_value_error(text: str, what: str) -> None:
    try:
        value = parse_number(text, what)
    except ValueError as exc:
        assert str(exc)
    else:
        assert isinstance(value, float)


# ------------------------------------------------------------------------------------ the scenario


def _default_data() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_SCENARIO_TOML)


#: TOML values of every type, including the wrong ones.
TOML_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
        st.sampled_from(["regional_hub", "city_station", "great_circle", "matrix", "A", "cbc"]),
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
KEY_PATHS = st.sampled_from(
    [
        ("scenario", "name"), ("scenario", "distance_model"), ("scenario", "detour_factor"),
        ("scenario", "speed_kmh"), ("scenario", "matrix_unit"), ("scenario", "unknown"),
        ("tiers",), ("tiers", "city_station"), ("tiers", "city_station", "radius_km"),
        ("tiers", "city_station", "parent"), ("tiers", "city_station", "support_radius_km"),
        ("tiers", "city_station", "grade_radius_km"), ("tiers", "city_station", "capacity"),
        ("tiers", "city_station", "fixed_cost"), ("tiers", "regional_hub", "response_time_h"),
        ("tiers", "partner", "optional"), ("tiers", "new_tier"), ("demand",),
        ("demand", "service_rate"), ("scoring",), ("scoring", "weights"),
        ("scoring", "weights", "demand"), ("scoring", "attributes"), ("solver",),
        ("solver", "name"), ("solver", "time_limit"), ("solver", "gap"), ("solver", "seed"),
        ("solver", "threads"), ("plan",), ("plan", "budget"), ("plan", "coverage_target"),
        ("plan", "model"), ("extra",), ("demand", "age_bands"), ("demand", "age_bands", "0-2"),
        ("demand", "age_bands", "3+"), ("demand", "reference_year"), ("demand", "default_rate"),
        ("demand", "service_rates", "crane"),
    ]
)  # fmt: skip


def _set(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node: Any = data
    for key in keys[:-1]:
        if not isinstance(node, dict):
            return
        node = node.setdefault(key, {})
    if isinstance(node, dict):
        node[keys[-1]] = value


@FUZZ
@given(edits=st.lists(st.tuples(KEY_PATHS, TOML_VALUES), min_size=1, max_size=4))
def test_any_edit_of_the_scenario_gives_a_scenario_or_a_config_error(
    edits: list[tuple[tuple[str, ...], Any]],
) -> None:
    data = _default_data()
    for keys, value in edits:
        _set(data, keys, value)
    try:
        scenario = scenario_from_dict(data, source="fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml"), str(exc)
    else:
        assert isinstance(scenario, Scenario) and scenario.tiers
        for tier in scenario.tiers.values():
            for grade in (None, "A", "B", "C"):
                reach = tier.reach_km(grade)
                assert reach is None or (math.isfinite(reach) and reach > 0)
            assert 0 <= tier.fixed_cost < MAX_WEIGHT
        # Nothing that makes no sense gets past the parser to fail later on the data.
        assert 0 <= scenario.solver.gap < 1
        assert scenario.solver.threads is None or scenario.solver.threads >= 1
        assert 0 <= scenario.solver.seed < 2**31
        demand = scenario.demand
        assert 1900 <= demand.reference_year <= 2200
        assert all(math.isfinite(f) and f >= 0 for _, f in demand.age_bands)
        assert all(math.isfinite(r) and 0 <= r < MAX_WEIGHT for r in demand.service_rates.values())
        assert math.isfinite(demand.default_rate) and demand.default_rate >= 0


@FUZZ
@given(data=st.dictionaries(st.text(max_size=8), TOML_VALUES, max_size=5))
def test_arbitrary_dicts_give_a_scenario_or_a_config_error(data: dict[str, Any]) -> None:
    try:
        scenario_from_dict(data, source="any.toml")
    except ConfigError as exc:
        assert "any.toml" in str(exc)


@FUZZ
@given(text=st.text(max_size=200))
def test_arbitrary_scenario_text_gives_a_scenario_or_a_config_error(
    tmp_path: Path, text: str
) -> None:
    from netplan.config import load_scenario

    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


# -------------------------------------------------------------------------------- the command line

#: Tiny valid inputs: four customers around Chengdu and three sites (a hub, a station, a candidate).
CUSTOMERS_CSV = (
    "id,lon,lat,weight,grade\n"
    "c1,104.06,30.67,3,A\nc2,104.10,30.70,1,B\nc3,104.50,30.40,2,C\nc4,103.90,30.80,1,C\n"
)
SITES_CSV = (
    "id,name,lon,lat,tier,status,fixed_cost,capacity\n"
    "h1,Hub <b>1</b>,104.07,30.66,regional_hub,existing,1000,100\n"
    "s1,Station & co,104.11,30.71,city_station,candidate,100,10\n"
    's2,Station "2",104.49,30.41,city_station,candidate,120,10\n'
)
BASE_CSV = (
    "id,lon,lat,units,product,install_year\n"
    "b1,104.06,30.67,4,excavator,2020\nb2,104.5,30.4,2,crane,2018\n"
)


@pytest.fixture
def tiny_inputs(tmp_path: Path) -> dict[str, Path]:
    """Write tiny valid and broken input files; return them by role."""
    files = {
        "customers": ("customers.csv", CUSTOMERS_CSV),
        "sites": ("sites.csv", SITES_CSV),
        "base": ("base.csv", BASE_CSV),
        "scenario": ("scenario.toml", DEFAULT_SCENARIO_TOML + "\n[plan]\nbudget = 1000\n"),
        "bad_csv": ("bad.csv", "id,lon,lat\nx,abc,95\n"),
        "empty": ("empty.csv", ""),
        "bad_toml": ("bad.toml", "[tiers\nradius_km = -1\n"),
        "bad_scenario": ("bad_scenario.toml", "[tiers.a]\nradius_km = -5\n"),
        "matrix": ("matrix.csv", "demand_id,site_id,cost\nc1,h1,2\nc2,s1,x\n"),
        "binary": ("binary.csv", "PK\x03\x04 not really a workbook"),
    }
    paths = {}
    for role, (name, text) in files.items():
        path = tmp_path / "inputs" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths[role] = path
    return paths


def _assert_clean_exit(result: Any) -> None:
    """Assert a CLI run ended with 0, 2 or 3 and no traceback (one-line errors)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"uncaught {type(result.exception).__name__}:\n{trace}")
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr


#: Commands and the options each may get (values drawn from VALUES). `demo` (the national
#: run), `--engine dask` (a cluster) and `--pdf` (Chromium) are left out: slow, not fragile.
CLI_COMMANDS: dict[str, list[str]] = {
    "validate": ["FILE", "--kind", "--lon", "--lat", "--id", "--weight", "--crs", "--config",
                 "--layer"],
    "coverage": ["--demand", "--sites", "--out", "--installed-base", "--config", "--matrix",
                 "--format", "--blindspot-method", "--h3-resolution", "--eps-km", "--min-samples",
                 "--min-zone-weight"],
    "optimize": ["--demand", "--sites", "--out", "--config", "--model", "--p", "--budget",
                 "--coverage-target", "--objective", "--allow-close", "--capacitated",
                 "--solver", "--time-limit", "--gap", "--matrix", "--installed-base"],
    "frontier": ["--demand", "--sites", "--out", "--config", "--by", "--tier", "--steps",
                 "--values", "--time-limit"],
    "candidates": ["--demand", "--out", "--method", "--n", "--h3-resolution", "--tier",
                   "--seed", "--config", "--sites", "--fill", "--min-weight"],
    "score": ["--out", "--sites", "--demand", "--installed-base", "--config", "--status",
              "--top", "--matrix"],
    "map": ["--out", "--sites", "--demand", "--coverage", "--plan", "--scores", "--config",
            "--lang", "--offline"],
    "report": ["--out", "--coverage", "--plan", "--scores", "--xlsx", "--frontier", "--lang",
               "--config", "--compare"],
    "compare": ["DIR", "DIR", "--json", "--lang"],
    "convert": ["FILE", "DIR", "--kind", "--rows-per-partition", "--chunk-rows", "--cells",
                "--h3-resolution"],
}  # fmt: skip
FLAGS = {"--offline", "--allow-close", "--capacitated"}


def _values(inputs: dict[str, Path], out: Path) -> st.SearchStrategy[str]:
    files = [str(p) for p in inputs.values()]
    folders = [str(out), str(out / "a"), str(out / "b"), str(inputs["customers"].parent)]
    return st.one_of(
        st.sampled_from(files),
        st.sampled_from(folders),
        st.sampled_from([str(out / "x.csv"), str(out / "m.html"), str(out / "r.xlsx"),
                         str(out / "c.parquet"), str(out / "j.json"), str(out / "a" / "b.csv")]),
        st.sampled_from(["0", "1", "-1", "0.5", "2", "1e309", "nan", "-inf", "3", "100000000",
                         "customers", "sites", "installed-base", "kmeans", "h3", "dbscan",
                         "tiered", "max_coverage", "set_cover", "p_median", "budget", "min_cost",
                         "highs", "cbc", "city_station", "density", "all", "zh", "en", "csv",
                         "geojson", "parquet", "gpkg", "EPSG:4547", "EPSG:99999", "lon",
                         "1,2,x", "", " ", "--", "-"]),
        st.text(alphabet=string.printable, max_size=8),
    )  # fmt: skip


@settings(
    max_examples=int(os.environ.get("NETPLAN_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_command_lines_exit_0_2_or_3_without_traceback(
    tmp_path: Path, tiny_inputs: dict[str, Path], data: st.DataObject
) -> None:
    out = tmp_path / "out"
    command = data.draw(st.sampled_from(sorted(CLI_COMMANDS)), label="command")
    options = data.draw(
        st.lists(st.sampled_from(CLI_COMMANDS[command]), max_size=8), label="options"
    )
    values = _values(tiny_inputs, out)
    argv = [command]
    for option in options:
        if option in FLAGS:
            argv.append(option)
        elif option in ("FILE", "DIR"):
            argv.append(data.draw(values, label=option))
        else:
            argv += [option, data.draw(values, label=option)]
    if data.draw(st.booleans(), label="valid core"):
        # Half the runs start from a valid call, so the fuzz reaches the library, not just typer.
        core = {
            "coverage": ["--demand", str(tiny_inputs["customers"]), "--sites",
                         str(tiny_inputs["sites"]), "--out", str(out / "cov")],
            "optimize": ["--demand", str(tiny_inputs["customers"]), "--sites",
                         str(tiny_inputs["sites"]), "--out", str(out / "plan"),
                         "--time-limit", "5"],
            "frontier": ["--demand", str(tiny_inputs["customers"]), "--sites",
                         str(tiny_inputs["sites"]), "--out", str(out / "front"), "--steps", "2"],
            "score": ["--demand", str(tiny_inputs["customers"]), "--sites",
                      str(tiny_inputs["sites"]), "--out", str(out / "score")],
            "candidates": ["--demand", str(tiny_inputs["customers"]), "--out",
                           str(out / "cand.csv"), "--n", "2"],
            "validate": [str(tiny_inputs["customers"])],
            "map": ["--sites", str(tiny_inputs["sites"]), "--out", str(out / "map.html")],
        }.get(command, [])  # fmt: skip
        argv = [argv[0], *core, *argv[1:]]
    # Relative paths drawn by the fuzz (e.g. `--out installed-base`) land in tmp_path, not the repo.
    with _no_crash(), contextlib.chdir(tmp_path):
        result = CliRunner().invoke(app, argv)
    _assert_clean_exit(result)
    for path in tiny_inputs.values():  # inputs are never written
        assert path.parent == tiny_inputs["customers"].parent
    assert sorted(p.name for p in tiny_inputs["customers"].parent.iterdir()) == sorted(
        p.name for p in tiny_inputs.values()
    )


# -------------------------------------------------------------------------------- model edge cases


@pytest.fixture
def edge_scenario() -> Scenario:
    """Hubs (20 km), stations (5 km, a hub within 30 km) and optional points (2 km)."""
    return scenario_from_dict(
        {
            "scenario": {"name": "edge"},
            "tiers": {
                "hub": {"radius_km": 20, "fixed_cost": 1000, "capacity": 100},
                "station": {"radius_km": 5, "parent": "hub", "support_radius_km": 30,
                            "fixed_cost": 100, "capacity": 10},
                "point": {"radius_km": 2, "parent": "station", "support_radius_km": 10,
                          "fixed_cost": 10, "capacity": 3, "optional": True},
            },
        },
        source="edge.toml",
    )  # fmt: skip


def _points(rows: list[tuple[Any, ...]], columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=["id", "lon", "lat", *columns])
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )


@pytest.fixture
def edge_demand() -> gpd.GeoDataFrame:
    """Six points of weight 5 along 5 km east of (104.0, 30.6)."""
    return _points([(f"d{i}", 104.0 + 0.01 * i, 30.6, 5.0) for i in range(6)], ["weight"])


@pytest.fixture
def edge_sites() -> gpd.GeoDataFrame:
    """An existing hub covering all demand, a nearby candidate station, a far one."""
    return _points(
        [
            ("h1", 104.0, 30.6, "hub", "existing", 1000.0, 100.0),
            ("s1", 104.03, 30.6, "station", "candidate", 100.0, 10.0),
            ("s2", 105.5, 30.6, "station", "candidate", 100.0, 10.0),
        ],
        ["tier", "status", "fixed_cost", "capacity"],
    )


def test_no_candidates_and_all_demand_covered_keeps_the_network(
    edge_demand: gpd.GeoDataFrame, edge_sites: gpd.GeoDataFrame, edge_scenario: Scenario
) -> None:
    existing = edge_sites[edge_sites["status"] == "existing"]
    plan = plan_from_points(edge_demand, existing, edge_scenario, coverage_target=0.9)
    assert plan.status == "optimal"
    assert plan.summary()["n_by_decision"] == {
        "kept": 1,
        "opened": 0,
        "closed": 0,
        "not_selected": 0,
    }
    assert plan.summary()["after"]["weighted_coverage_rate"] == 1.0
    # Demand already covered: a target needs no new site, whatever candidates exist.
    plan = plan_from_points(edge_demand, edge_sites, edge_scenario, coverage_target=1.0)
    assert plan.summary()["n_by_decision"]["opened"] == 0
    # The `point` tier has no site at all: it simply opens none.
    assert plan.summary()["n_open_by_tier"].get("point", 0) == 0
    assert plan.summary()["net_cost_change"] == 0


def test_zero_budget_opens_nothing_and_says_what_today_covers(
    edge_demand: gpd.GeoDataFrame, edge_sites: gpd.GeoDataFrame, edge_scenario: Scenario
) -> None:
    plan = plan_from_points(edge_demand, edge_sites, edge_scenario, budget=0.0)
    assert plan.status == "optimal"
    assert plan.summary()["n_by_decision"]["opened"] == 0
    assert plan.summary()["after"] == plan.summary()["before"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"coverage_target": 0.0}, r"`coverage_target` must be a share in \(0, 1\], got 0.0"),
        ({"coverage_target": 1.5}, r"`coverage_target` must be a share in \(0, 1\]"),
        ({"budget": -5.0}, r"`budget` must be 0 or more"),
    ],
)
def test_meaningless_limits_are_input_errors(
    edge_demand: gpd.GeoDataFrame,
    edge_sites: gpd.GeoDataFrame,
    edge_scenario: Scenario,
    overrides: dict[str, float],
    message: str,
) -> None:
    with pytest.raises(InputError, match=message):
        plan_from_points(edge_demand, edge_sites, edge_scenario, **overrides)  # type: ignore[arg-type]


def test_full_target_out_of_reach_is_infeasible_naming_the_demand(
    edge_demand: gpd.GeoDataFrame, edge_sites: gpd.GeoDataFrame, edge_scenario: Scenario
) -> None:
    far = edge_demand.copy()
    far["geometry"] = gpd.points_from_xy([106.0 + 0.01 * i for i in range(6)], [30.6] * 6)
    with pytest.raises(InfeasibleError, match=r"coverage target 100.00% cannot be met.*d0, d1"):
        plan_from_points(far, edge_sites, edge_scenario, coverage_target=1.0)


def test_no_sites_at_all_is_infeasible_not_a_crash(
    edge_demand: gpd.GeoDataFrame, edge_sites: gpd.GeoDataFrame, edge_scenario: Scenario
) -> None:
    with pytest.raises(InfeasibleError, match=r"covers 0.00% of demand weight"):
        plan_from_points(edge_demand, edge_sites.iloc[:0], edge_scenario, coverage_target=0.5)


def test_support_chain_no_hub_can_satisfy_is_diagnosed(
    edge_demand: gpd.GeoDataFrame, edge_sites: gpd.GeoDataFrame, edge_scenario: Scenario
) -> None:
    # A tier without candidates (point) and stations whose only hub is out of support reach.
    lonely = edge_sites[edge_sites["id"] == "s2"].copy()
    demand = edge_demand.copy()
    demand["geometry"] = gpd.points_from_xy([105.5 + 0.005 * i for i in range(6)], [30.6] * 6)
    with pytest.raises(
        InfeasibleError, match=r"reached only by sites that lack a supporting parent"
    ):
        plan_from_points(demand, lonely, edge_scenario, coverage_target=0.5)


def test_capacities_below_any_demand_point(
    edge_demand: gpd.GeoDataFrame, edge_sites: gpd.GeoDataFrame, edge_scenario: Scenario
) -> None:
    tiny = edge_sites.assign(capacity=1.0)  # every point weighs 5
    with pytest.raises(InfeasibleError, match=r"no plan meets every limit at once .*capacities"):
        plan_from_points(edge_demand, tiny, edge_scenario, capacitated_assignment=True,
                         coverage_target=1.0)  # fmt: skip
    with pytest.raises(InfeasibleError, match=r"total capacity 3.00 is less than total demand 30"):
        plan_from_points(edge_demand, tiny, edge_scenario, model="capacitated")
    # Under a budget the plan is made, and it does not pass reach off as service.
    with pytest.warns(NetplanWarningType, match=r"reach 100.0% .* can serve only 6.7%"):
        plan = plan_from_points(
            edge_demand, tiny, edge_scenario, capacitated_assignment=True, budget=1e6
        )
    assert plan.details["served_weight_rate"] == pytest.approx(2 / 30)


def _broken_highs(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("simulated HiGHS crash")


def test_a_crashing_solver_falls_back_to_the_other_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
    edge_demand: gpd.GeoDataFrame,
    edge_sites: gpd.GeoDataFrame,
    edge_scenario: Scenario,
) -> None:
    from netplan.locate import solve

    expected = plan_from_points(edge_demand, edge_sites, edge_scenario, budget=150.0)
    monkeypatch.setattr(solve, "_solve_highs", _broken_highs)
    monkeypatch.setattr(solve.SolverSession, "_solve_highs", _broken_highs)
    with pytest.warns(
        SolverWarning,
        match=r"solver highs failed \(RuntimeError: simulated HiGHS crash\); "
        r"solved with cbc instead",
    ):
        plan = plan_from_points(edge_demand, edge_sites, edge_scenario, budget=150.0)
    assert plan.summary()["solver"] == "cbc"
    assert plan.objective == pytest.approx(expected.objective)
    assert plan.summary()["n_by_decision"] == expected.summary()["n_by_decision"]


def test_a_missing_solver_falls_back_and_both_missing_is_exit_3(
    monkeypatch: pytest.MonkeyPatch,
    tiny_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    from netplan.locate import solve

    def missing_cbc(*_args: Any, **_kwargs: Any) -> Any:
        raise SolverError("CBC is not available (PuLP's bundled binary or `cbc` on PATH)")

    monkeypatch.setattr(solve, "_solve_cbc", missing_cbc)
    argv = ["optimize", "--demand", str(tiny_inputs["customers"]), "--sites",
            str(tiny_inputs["sites"]), "--budget", "1000", "--solver", "cbc"]  # fmt: skip
    result = CliRunner().invoke(app, [*argv, "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    assert "warning: solver cbc failed (CBC is not available" in result.stderr
    assert "solved with highs instead" in result.stderr
    monkeypatch.setattr(solve, "_solve_highs", _broken_highs)
    monkeypatch.setattr(solve.SolverSession, "_solve_highs", _broken_highs)
    result = CliRunner().invoke(app, [*argv, "--out", str(tmp_path / "two")])
    assert result.exit_code == 3, result.output
    assert "error: cbc failed (CBC is not available" in result.stderr
    assert "the fallback highs failed too (RuntimeError: simulated HiGHS crash)" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--budget", "0"], 0, None),
        (["--coverage-target", "1"], 0, None),
        (["--coverage-target", "0"], 2, r"coverage_target` must be a share"),
        (["--budget", "-1"], 2, r"`budget` must be 0 or more"),
        (["--coverage-target", "1", "--capacitated"], 3, r"no plan meets every limit"),
        (["--model", "p-median"], 2, r"p-median needs `p`"),
        (["--model", "p-median", "--p", "0"], None, None),
    ],
)
def test_optimize_edge_cases_exit_clearly(
    tiny_inputs: dict[str, Path],
    tmp_path: Path,
    extra: list[str],
    code: int | None,
    message: str | None,
) -> None:
    sites = tmp_path / "small_capacity.csv"
    sites.write_text(SITES_CSV.replace(",100\n", ",0.5\n").replace(",10\n", ",0.5\n"), "utf-8")
    out = tmp_path / "plan"
    argv = ["optimize", "--demand", str(tiny_inputs["customers"]), "--sites", str(sites),
            "--out", str(out), "--time-limit", "5", *extra]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    _assert_clean_exit(result)
    if code is not None:
        assert result.exit_code == code, result.output
    if message is not None:
        assert re.search(message, result.stderr), result.stderr
    if result.exit_code == 3:
        summary = (out / "summary.json").read_text(encoding="utf-8")
        assert '"status": "infeasible"' in summary and '"diagnosis"' in summary


# ------------------------------------------------------------- determinism and no writes to inputs


METRO = Path(__file__).resolve().parents[1] / "data" / "samples" / "metro"


def _fingerprint(paths: list[Path]) -> dict[str, tuple[int, str]]:
    """Return each file's mtime (ns) and SHA-256."""
    return {
        str(p): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths
    }


def _without_timings(value: Any) -> Any:
    """Drop the keys that hold wall-clock times (``*_seconds``), which vary by run."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _tree(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` by relative path; JSON files without timings."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".json":
                text = json.dumps(_without_timings(json.loads(data)), sort_keys=True)
                data = text.encode()
            files[path.relative_to(folder).as_posix()] = data
    return files


def _every_command(inputs: dict[str, Path], out: Path) -> list[list[str]]:
    """Return every command's argument list on ``inputs``, writing under ``out``."""
    demand, sites, scenario = (str(inputs[k]) for k in ("customers", "sites", "scenario"))
    common = ["--config", scenario]
    return [
        ["validate", demand, *common],
        ["validate", sites, "--kind", "sites", *common],
        ["coverage", "--demand", demand, "--sites", sites, "--out", f"{out}/cov", *common],
        ["optimize", "--demand", demand, "--sites", sites, "--out", f"{out}/plan",
         "--time-limit", "20", "--gap", "0", *common],
        ["candidates", "--demand", demand, "--out", f"{out}/cand.csv", "--n", "3", "--seed", "3",
         *common],
        ["frontier", "--demand", demand, "--sites", sites, "--out", f"{out}/front", "--steps",
         "2", "--time-limit", "20", *common],
        ["score", "--demand", demand, "--sites", sites, "--out", f"{out}/score", *common],
        ["map", "--sites", sites, "--demand", demand, "--coverage", f"{out}/cov", "--plan",
         f"{out}/plan", "--scores", f"{out}/score", "--out", f"{out}/map.html", "--offline",
         *common],
        ["report", "--coverage", f"{out}/cov", "--plan", f"{out}/plan", "--scores",
         f"{out}/score", "--frontier", f"{out}/front", "--out", f"{out}/report.html", "--xlsx",
         f"{out}/report.xlsx", *common],
        ["compare", f"{out}/cov", f"{out}/plan", "--json", f"{out}/compare.json"],
        ["convert", demand, f"{out}/dataset", "--rows-per-partition", "500", "--cells",
         f"{out}/cells.csv"],
    ]  # fmt: skip


def _run_all(inputs: dict[str, Path], out: Path) -> None:
    runner = CliRunner()
    for argv in _every_command(inputs, out):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, (argv, result.output)


def _metro_inputs(folder: Path, n_customers: int | None) -> dict[str, Path]:
    """Return the metro sample (its first ``n_customers`` customers when given)."""
    if n_customers is None:
        return {
            "customers": METRO / "customers.csv",
            "sites": METRO / "sites.csv",
            "scenario": METRO / "scenario.toml",
        }
    folder.mkdir(parents=True, exist_ok=True)
    lines = (METRO / "customers.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "customers.csv").write_text("".join(lines[: n_customers + 1]), encoding="utf-8")
    for name in ("sites.csv", "scenario.toml"):
        (folder / name).write_bytes((METRO / name).read_bytes())
    return {
        "customers": folder / "customers.csv",
        "sites": folder / "sites.csv",
        "scenario": folder / "scenario.toml",
    }


def _check_deterministic_and_read_only(inputs: dict[str, Path], tmp_path: Path) -> None:

    before = _fingerprint(list(inputs.values()))
    out = tmp_path / "run"  # the same folder both times: reports name their inputs' paths
    _run_all(inputs, out)
    first = _tree(out)
    shutil.rmtree(out)
    _run_all(inputs, out)
    second = _tree(out)
    assert _fingerprint(list(inputs.values())) == before, "an input file was written"
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"outputs differ between two identical runs: {different}"
    assert {"cov/coverage.csv", "plan/plan.csv", "map.html", "report.xlsx", "cells.csv"} <= set(
        first
    )


def test_every_command_is_deterministic_and_never_writes_its_inputs(tmp_path: Path) -> None:
    """The metro sample's sites with its first 1,500 customers, every command twice."""
    _check_deterministic_and_read_only(_metro_inputs(tmp_path / "inputs", 1500), tmp_path)


@pytest.mark.slow
def test_every_command_is_deterministic_on_the_whole_metro_sample(tmp_path: Path) -> None:
    _check_deterministic_and_read_only(_metro_inputs(tmp_path / "inputs", None), tmp_path)


# ------------------------------------------------------------------------ killed runs lose nothing


#: Runs `netplan coverage` for real, with each output file's write announced and slowed
#: down (a line on stdout, then a pause), so a test can kill it at a chosen point.
SLOW_WRITER = """
import sys, time
import netplan.results as coverage  # coverage folders are written by netplan.results
from netplan.cli import main

def slowed(write):
    def wrapper(*args, **kwargs):
        print("WRITING", flush=True)
        time.sleep(0.4)
        path = write(*args, **kwargs)
        print("WROTE", flush=True)
        time.sleep(0.4)
        return path
    return wrapper

coverage.write_frame = slowed(coverage.write_frame)
coverage.write_text = slowed(coverage.write_text)
coverage.write_blindspots = slowed(coverage.write_blindspots)
sys.argv = ["netplan", *sys.argv[1:]]
main()
"""


def _visible(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def _kill_at(argv: list[str], marker: str, count: int, sig: int) -> subprocess.Popen[str]:
    """Start the slowed CLI; send ``sig`` once ``marker`` was printed ``count`` times."""
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = 0
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == marker:
            seen += 1
            if seen == count:
                process.send_signal(sig)
                break
    return process


@pytest.mark.parametrize(
    ("marker", "count", "sig"),
    [
        ("WRITING", 1, signal.SIGKILL),  # inside the first file's write
        ("WROTE", 3, signal.SIGKILL),  # every file staged, none moved yet
        ("WRITING", 2, signal.SIGINT),  # Ctrl-C in the middle
    ],
    ids=["kill-mid-file", "kill-all-staged", "ctrl-c"],
)
def test_a_killed_run_leaves_the_previous_outputs(
    tmp_path: Path, tiny_inputs: dict[str, Path], marker: str, count: int, sig: int
) -> None:
    out = tmp_path / "coverage"
    base = ["coverage", "--demand", str(tiny_inputs["customers"]), "--out", str(out)]
    runner = CliRunner()
    assert runner.invoke(app, [*base, "--sites", str(tiny_inputs["sites"])]).exit_code == 0
    previous = _visible(out)
    fewer_sites = tmp_path / "fewer_sites.csv"  # the new run's outputs differ from the old
    fewer_sites.write_text("\n".join(SITES_CSV.splitlines()[:3]) + "\n", encoding="utf-8")
    process = _kill_at([*base, "--sites", str(fewer_sites)], marker, count, sig)
    _, stderr = process.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert "interrupted: no output was half-written" in stderr
        assert "Traceback" not in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    assert _visible(out) == previous
    # The next run cleans up what the killed one left and writes its outputs whole.
    assert runner.invoke(app, [*base, "--sites", str(fewer_sites)]).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(previous)
    assert _visible(out) != previous


def test_out_refuses_a_folder_of_other_files_unless_forced(
    tmp_path: Path, tiny_inputs: dict[str, Path]
) -> None:
    runner = CliRunner()
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "budget.xlsx").write_bytes(b"precious")
    base = ["--demand", str(tiny_inputs["customers"]), "--sites", str(tiny_inputs["sites"])]
    commands = {
        "coverage": ["coverage", *base],
        "optimize": ["optimize", *base, "--budget", "1000"],
        "frontier": ["frontier", *base, "--steps", "2"],
        "score": ["score", *base],
    }
    for name, argv in commands.items():
        result = runner.invoke(app, [*argv, "--out", str(folder)])
        assert result.exit_code == 2, (name, result.output)
        assert (
            f"error: {folder}: the folder holds files this command does not write (budget.xlsx); "
            "choose an empty or new folder for --out, or pass --force to write beside them"
        ) in result.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["budget.xlsx"]
    result = runner.invoke(app, [*commands["coverage"], "--out", str(folder), "--force"])
    assert result.exit_code == 0, result.output
    assert (folder / "budget.xlsx").read_bytes() == b"precious"
    assert sorted(p.name for p in folder.iterdir()) == [
        "blindspots.geojson", "budget.xlsx", "coverage.csv", "summary.json"
    ]  # fmt: skip
    # Its own earlier outputs (any format) are not "other files": a rerun needs no --force.
    own = tmp_path / "own"
    for fmt in ("csv", "parquet"):
        result = runner.invoke(app, [*commands["coverage"], "--out", str(own), "--format", fmt])
        assert result.exit_code == 0, result.output
    file_as_out = tmp_path / "file.txt"
    file_as_out.write_text("x", encoding="utf-8")
    result = runner.invoke(app, [*commands["score"], "--out", str(file_as_out)])
    assert result.exit_code == 2 and "--out takes a folder" in result.stderr
    assert file_as_out.read_text(encoding="utf-8") == "x"


def test_a_failed_first_run_leaves_no_folder(tmp_path: Path, tiny_inputs: dict[str, Path]) -> None:
    out = tmp_path / "plan"
    argv = ["optimize", "--demand", str(tiny_inputs["customers"]), "--sites",
            str(tiny_inputs["bad_csv"]), "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert not out.exists()


# ---------------------------------------------------------------------------------------- security


class _Markup(HTMLParser):
    """Counts what could run in a browser: tags, event-handler attributes, script URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.handlers: list[tuple[str, str]] = []
        self.script_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if value and value.strip().lower().startswith(("javascript:", "vbscript:")):
                self.script_urls.append(value)


def _markup(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser


#: Hostile text: markup, attribute and script breakers, template syntax, JS line breaks.
HOSTILE_PARTS = st.sampled_from(
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
     "'-alert(1)-'", "</script>", "</style>", "{{ 7*7 }}", "{% raw %}", "${alert(1)}",
     "javascript:alert(1)", "\u2028", "\u2029", "<!--", "]]>", "&amp;", "\\", "`", "</title>",
     "=cmd|' /C calc'!A0", "\ufeff", "网点<b>"]
)  # fmt: skip
HOSTILE_TEXT = st.lists(HOSTILE_PARTS | st.text(max_size=5), min_size=1, max_size=4).map("".join)


def _hostile_sites(names: list[str]) -> gpd.GeoDataFrame:
    sites = read_points_from_text(SITES_CSV, "sites")
    sites["name"] = names[: len(sites)]
    sites["id"] = [f"{name}#{i}" for i, name in enumerate(names[: len(sites)])]
    return sites


def read_points_from_text(text: str, kind: str) -> gpd.GeoDataFrame:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points.csv"
        path.write_text(text, encoding="utf-8")
        return read_points(path, kind=kind)  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(names=st.lists(HOSTILE_TEXT, min_size=3, max_size=3), label=HOSTILE_TEXT)
def test_hostile_names_never_become_markup_in_the_map(names: list[str], label: str) -> None:
    demand = read_points_from_text(CUSTOMERS_CSV, "customers")
    data = _default_data()
    data["scenario"]["name"] = label
    data["tiers"]["regional_hub"]["label"] = label
    data["tiers"]["city_station"]["label_zh"] = label
    try:
        scenario = scenario_from_dict(data, source="hostile.toml")
    except ConfigError:  # an empty label is refused, rightly
        assume(False)
    safe = network_map(demand, _hostile_sites(["a", "b", "c"]), scenario_from_dict(
        _default_data(), source="safe.toml"), offline=True, title="t").html()  # fmt: skip
    html = network_map(demand, _hostile_sites(names), scenario, offline=True, title=label).html()
    baseline, found = _markup(safe), _markup(html)
    assert found.tags == baseline.tags
    assert found.handlers == baseline.handlers
    assert found.script_urls == []


def test_hostile_names_through_every_html_output(
    tmp_path: Path, tiny_inputs: dict[str, Path]
) -> None:
    """Sites, tiers and the scenario named with hostile text: map and report stay inert."""
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\u2028{{7*7}}"
    runner = CliRunner()

    def run_all(sites_text: str, scenario_text: str, out: Path) -> tuple[str, str]:
        out.mkdir()
        sites, scenario = out / "sites.csv", out / "scenario.toml"
        sites.write_text(sites_text, encoding="utf-8")
        scenario.write_text(scenario_text, encoding="utf-8")
        base = ["--config", str(scenario)]
        points = ["--demand", str(tiny_inputs["customers"]), "--sites", str(sites)]
        for argv in (
            ["coverage", *points, "--out", str(out / "cov"), *base],
            ["optimize", *points, "--budget", "1000", "--out", str(out / "plan"), *base],
            ["score", *points, "--out", str(out / "score"), *base],
            ["map", *points, "--coverage", str(out / "cov"), "--plan", str(out / "plan"),
             "--scores", str(out / "score"), "--out", str(out / "map.html"), "--offline", *base],
            ["report", "--coverage", str(out / "cov"), "--plan", str(out / "plan"), "--scores",
             str(out / "score"), "--out", str(out / "report.html"), *base],
        ):  # fmt: skip
            result = runner.invoke(app, argv)
            assert result.exit_code == 0, (argv, result.output)
        return (
            (out / "map.html").read_text(encoding="utf-8"),
            (out / "report.html").read_text(encoding="utf-8"),
        )

    quoted = json.dumps(hostile)  # a TOML basic string is a JSON string here
    scenario_text = DEFAULT_SCENARIO_TOML.replace(
        'label = "Regional hub"', f"label = {quoted}", 1
    ).replace('name = "default"', f"name = {quoted}", 1)
    assert scenario_from_dict(tomllib.loads(scenario_text)).tiers["regional_hub"].label == hostile
    hostile_sites = SITES_CSV.replace("Hub <b>1</b>", json.dumps(hostile.replace('"', "'")))
    safe_sites = SITES_CSV.replace("Hub <b>1</b>", "Hub 1")
    safe_scenario = DEFAULT_SCENARIO_TOML
    safe = run_all(safe_sites, safe_scenario, tmp_path / "safe")
    bad = run_all(hostile_sites, scenario_text, tmp_path / "bad")
    for safe_html, bad_html in zip(safe, bad, strict=True):
        baseline, found = _markup(safe_html), _markup(bad_html)
        assert found.tags == baseline.tags
        assert found.handlers == baseline.handlers
        assert found.script_urls == []


def test_template_syntax_in_user_text_is_never_evaluated() -> None:
    """folium re-parses rendered scripts as Jinja templates: user braces must stay text."""
    payload = "{{ 'np' ~ 'EVALUATED' }}{% if false %}npHIDDEN{% endif %}{# c #}"
    demand = read_points_from_text(CUSTOMERS_CSV, "customers")
    data = _default_data()
    data["scenario"]["name"] = payload
    data["tiers"]["regional_hub"]["label"] = payload
    data["tiers"]["city_station"]["label"] = payload
    scenario = scenario_from_dict(data, source="braces.toml")
    html = network_map(
        demand, _hostile_sites([payload] * 3), scenario, offline=True, title=payload
    ).html()
    assert "npEVALUATED" not in html
    assert html.count("npHIDDEN") >= 5  # the title, the tier labels, the site names: as text
    assert "&#123;&#123; &#x27;np&#x27; ~ &#x27;EVALUATED&#x27; &#125;&#125;" in html  # as text


class NetworkUsed(AssertionError):
    """Raised by the blocked socket functions."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every outgoing connection and name lookup fail loudly."""
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkUsed(f"network access attempted: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_the_main_commands_run_without_network(
    no_network: None, tiny_inputs: dict[str, Path], tmp_path: Path
) -> None:
    import socket

    with pytest.raises(NetworkUsed):  # the block is real
        socket.create_connection(("example.com", 80))
    inputs = {"customers": tiny_inputs["customers"], "sites": tiny_inputs["sites"],
              "scenario": tiny_inputs["scenario"]}  # fmt: skip
    runner = CliRunner()
    for argv in _every_command(inputs, tmp_path / "out"):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, (argv, result.output, result.exception)
    # The online map only names basemap tiles and scripts for the viewer's browser to load.
    online = ["map", "--sites", str(inputs["sites"]), "--out", str(tmp_path / "online.html")]
    assert runner.invoke(app, online).exit_code == 0


def test_the_scenario_is_data_only(tmp_path: Path, tiny_inputs: dict[str, Path]) -> None:
    """Code-looking values stay text; keys that could name files or code are refused."""
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    data = _default_data()
    data["scenario"]["name"] = code
    data["tiers"]["city_station"]["label"] = "{{ cycler.__init__.__globals__.os.getcwd() }}"
    scenario = scenario_from_dict(data, source="code.toml")
    assert scenario.name == code  # just a string
    path = tmp_path / "code.toml"
    path.write_text(
        DEFAULT_SCENARIO_TOML.replace('name = "default"', f"name = {json.dumps(code)}"),
        encoding="utf-8",
    )
    runner = CliRunner()
    for argv in (
        ["coverage", "--demand", str(tiny_inputs["customers"]), "--sites",
         str(tiny_inputs["sites"]), "--config", str(path), "--out", str(tmp_path / "cov")],
        ["map", "--sites", str(tiny_inputs["sites"]), "--config", str(path), "--coverage",
         str(tmp_path / "cov"), "--out", str(tmp_path / "map.html"), "--offline"],
        ["report", "--coverage", str(tmp_path / "cov"), "--config", str(path), "--out",
         str(tmp_path / "report.html")],
    ):  # fmt: skip
        assert runner.invoke(app, argv).exit_code == 0
    assert not marker.exists()
    # No key takes a path: a file reference anywhere is an unknown key, named.
    for table, key in (("scenario", "matrix"), ("scenario", "include"), ("plan", "sites_file"),
                       ("demand", "file"), ("solver", "path")):  # fmt: skip
        data = _default_data()
        data.setdefault(table, {})[key] = "../../etc/passwd"
        with pytest.raises(ConfigError, match=rf"`{table}.{key}`|{key}"):
            from netplan.locate import plan_options

            plan_options(scenario_from_dict(data, source="paths.toml"))


def test_runtime_dependencies_are_pinned_to_compatible_ranges() -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["scale"]]
    assert len(requirements) >= 18
    for text in requirements:
        requirement = Requirement(text)
        operators = {spec.operator for spec in requirement.specifier}
        assert ">=" in operators, f"{text}: no lower bound"
        assert operators & {"<", "~=", "=="}, f"{text}: no upper bound"


# --------------------------------------------------------------------------------- resource guards


def _cluster_csv(path: Path, n: int, lon: float = 104.0, lat: float = 30.6) -> Path:
    rng = np.random.default_rng(7)
    rows = "".join(
        f"p{i},{lon + x:.6f},{lat + y:.6f},1\n"
        for i, (x, y) in enumerate(rng.normal(0, 0.05, size=(n, 2)))
    )
    path.write_text("id,lon,lat,weight\n" + rows, encoding="utf-8")
    return path


def test_a_reach_matrix_too_large_is_refused_up_front_with_the_way_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_inputs: dict[str, Path]
) -> None:
    demand = _cluster_csv(tmp_path / "dense.csv", 3000)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0.0001")  # about 100 kB
    # Coverage builds no reach matrix (the matrix-free kernel): it runs within the limit.
    covered = tmp_path / "covered"
    argv = ["coverage", "--demand", str(demand), "--sites", str(tiny_inputs["sites"]),
            "--out", str(covered)]  # fmt: skip
    assert CliRunner().invoke(app, argv).exit_code == 0
    assert (covered / "summary.json").is_file()
    # A plan needs the matrix: refused up front, nothing written.
    out = tmp_path / "cov"
    argv = ["optimize", "--demand", str(demand), "--sites", str(tiny_inputs["sites"]),
            "--config", str(tiny_inputs["scenario"]), "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert re.search(
        r"error: the reach matrix \(3,000 demand points, about [\d,]+ demand-site pairs within "
        r"reach, estimated from the first [\d,]+ points\) would need about [\d.]+ kB of memory, "
        r"more than the limit of [\d.]+ kB; aggregate the demand to H3 cells .*--engine dask.*"
        rf"raise the limit with {MEMORY_LIMIT_ENV}",
        result.stderr,
    ), result.stderr
    assert not out.exists()
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1")  # the same run within a 1 GB limit
    finished = CliRunner().invoke(app, argv)
    assert finished.exit_code == 0, finished.output


def test_dbscan_on_dense_demand_with_a_large_radius_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from netplan.blindspots import BlindspotOptions, blindspots_from_points

    rng = np.random.default_rng(3)
    n = 50_000
    lon, lat = 104 + rng.normal(0, 0.2, n), 30.6 + rng.normal(0, 0.2, n)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0.5")
    with pytest.raises(
        ResourceError,
        match=r"DBSCAN blind spots on 50,000 uncovered points with eps 50 km \(about [\d,]+ "
        r"neighbour pairs\) would need about [\d.]+ GB of memory, more than the limit of "
        r"512.0 MB; use H3 blind spots \(--blindspot-method h3\)",
    ):
        blindspots_from_points(
            lon, lat, np.ones(n), np.full(n, None, dtype=object), np.full(n, np.inf),
            BlindspotOptions(method="dbscan", eps_km=50.0),
        )  # fmt: skip
    # H3 blind spots on the same points stay within the limit.
    zones, _ = blindspots_from_points(
        lon, lat, np.ones(n), np.full(n, None, dtype=object), np.full(n, np.inf),
        BlindspotOptions(method="h3"),
    )  # fmt: skip
    assert zones["n_points"].sum() == n


def test_dbscan_guard_through_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    demand = _cluster_csv(tmp_path / "far.csv", 3000, lon=110.0)  # far from every site
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES_CSV, encoding="utf-8")
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0.01")  # 10 MB: the (empty) reach fits, DBSCAN not
    argv = ["coverage", "--demand", str(demand), "--sites", str(sites), "--out",
            str(tmp_path / "cov"), "--blindspot-method", "dbscan", "--eps-km", "50"]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "error: DBSCAN blind spots on 3,000 uncovered points with eps 50 km" in result.stderr
    assert "--blindspot-method h3" in result.stderr


def test_a_dense_distance_matrix_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    edge_demand: gpd.GeoDataFrame,
    edge_sites: gpd.GeoDataFrame,
    edge_scenario: Scenario,
) -> None:
    from netplan.locate import plan

    monkeypatch.setattr(plan, "DENSE_PAIR_LIMIT", 10)
    with pytest.raises(
        InputError, match=r"6 demand points × 3 sites is too many pairs .*--aggregate"
    ):
        plan_from_points(edge_demand, edge_sites, edge_scenario, model="p-median", p=1)


@pytest.mark.parametrize("value", ["0", "-1", "lots", "inf", "nan"])
def test_a_bad_memory_limit_is_an_input_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, value)
    with pytest.raises(InputError, match=rf"{MEMORY_LIMIT_ENV} must be a number of gigabytes"):
        memory_limit_bytes()


def test_the_default_memory_limit_is_half_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_limit_bytes() == physical // 2


def test_an_output_never_overwrites_an_input(tmp_path: Path, tiny_inputs: dict[str, Path]) -> None:
    runner = CliRunner()
    customers, sites = tiny_inputs["customers"], tiny_inputs["sites"]
    before = _fingerprint([customers, sites])
    for argv, option in (
        (["candidates", "--demand", str(customers), "--out", str(customers), "--n", "2"], "--out"),
        (["map", "--sites", str(sites), "--out", str(sites)], "--out"),
        (["convert", str(customers), str(tmp_path / "ds"), "--cells", str(customers)], "--cells"),
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, (argv, result.output)
        assert f"is an input of this command; {option} would overwrite it" in result.stderr
    # A previous plan fed back as sites, with --out its own folder: refused even with --force.
    plan_dir = tmp_path / "plan"
    base = ["optimize", "--demand", str(customers), "--budget", "1000", "--out", str(plan_dir)]
    assert runner.invoke(app, [*base, "--sites", str(sites)]).exit_code == 0
    fed_back = plan_dir / "plan.csv"
    snapshot = _fingerprint([fed_back])
    result = runner.invoke(app, [*base, "--sites", str(fed_back), "--force"])
    assert result.exit_code == 2, result.output
    assert f"error: {fed_back}: is an input of this command and its outputs would overwrite it" in (
        result.stderr
    )
    assert _fingerprint([fed_back]) == snapshot
    assert _fingerprint([customers, sites]) == before


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0])
def test_a_real_run_killed_at_any_moment_leaves_old_or_new_outputs(
    tmp_path: Path, delay: float
) -> None:
    """`netplan coverage` on the metro sample (unslowed), SIGKILLed after ``delay`` seconds."""
    base = ["coverage", "--demand", str(METRO / "customers.csv"), "--config",
            str(METRO / "scenario.toml")]  # fmt: skip
    sites = METRO / "sites.csv"
    fewer = tmp_path / "fewer_sites.csv"
    fewer.write_text(
        "".join(sites.read_text(encoding="utf-8").splitlines(keepends=True)[:120]),
        encoding="utf-8",
    )
    runner = CliRunner()
    new_dir = tmp_path / "new"
    assert runner.invoke(app, [*base, "--sites", str(fewer), "--out", str(new_dir)]).exit_code == 0
    out = tmp_path / "out"
    assert runner.invoke(app, [*base, "--sites", str(sites), "--out", str(out)]).exit_code == 0
    previous, new = _visible(out), _visible(new_dir)
    argv = [*base, "--sites", str(fewer), "--out", str(out)]
    process = subprocess.Popen(
        [sys.executable, "-m", "netplan", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    process.kill()
    process.wait(timeout=60)
    # `summary.json` names the sites file, which differs from the reference run's folder only
    # through --out: compare the per-point files byte for byte and the set of names.
    state = _visible(out)
    assert sorted(state) == sorted(previous)
    assert state == previous or state["coverage.csv"] == new["coverage.csv"]
    if state != previous:
        assert state["blindspots.geojson"] == new["blindspots.geojson"]


# ------------------------------------------------------------------ output folders edited by hand


@pytest.fixture(scope="module")
def written_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Coverage, plan and score folders of a tiny run (written once for the module)."""
    root = tmp_path_factory.mktemp("outputs")
    (root / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    (root / "sites.csv").write_text(SITES_CSV, encoding="utf-8")
    points = ["--demand", str(root / "customers.csv"), "--sites", str(root / "sites.csv")]
    runner = CliRunner()
    for argv in (
        ["coverage", *points, "--out", str(root / "cov")],
        ["optimize", *points, "--budget", "1000", "--out", str(root / "plan")],
        ["score", *points, "--out", str(root / "score")],
    ):
        assert runner.invoke(app, argv).exit_code == 0
    return root


def test_control_characters_in_a_hand_edited_folder_reach_the_workbook_as_a_mark(
    tmp_path: Path, written_outputs: Path
) -> None:
    """A control character XML forbids (found by the fuzz test below) used to crash the
    workbook (exit 1); it is now written as U+FFFD and the workbook opens."""
    import openpyxl

    work = tmp_path / "run"
    shutil.copytree(written_outputs, work)
    summary_path = work / "cov" / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["scenario"] = "north\x1fsouth"
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    argv = ["report", "--coverage", str(work / "cov"), "--plan", str(work / "plan"),
            "--out", str(work / "report.html"), "--xlsx", str(work / "r.xlsx")]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(work / "r.xlsx")
    texts = [
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]
    assert any("north\ufffdsouth" in text for text in texts)
    assert not any("\x1f" in text for text in texts)


def _json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _json_paths(item, (*prefix, index))
    return paths


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=4,
)


@settings(
    max_examples=int(os.environ.get("NETPLAN_FUZZ_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_hand_edited_output_folders_give_a_report_or_an_error(
    tmp_path: Path, written_outputs: Path, data: st.DataObject
) -> None:
    import tempfile

    work = Path(tempfile.mkdtemp(dir=tmp_path)) / "run"  # a fresh copy per example
    shutil.copytree(written_outputs, work)
    folder = data.draw(st.sampled_from(["cov", "plan", "score"]), label="folder")
    summary_path = work / folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        paths = _json_paths(summary)
        where = data.draw(st.sampled_from(paths), label="key")
        node = summary
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = data.draw(JSON_VALUES, label="value")
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    table = data.draw(st.sampled_from(sorted((work / folder).glob("*.csv"))), label="table")
    lines = table.read_text(encoding="utf-8").splitlines()
    if len(lines) > 1 and data.draw(st.booleans(), label="edit the table"):
        row = data.draw(st.integers(1, len(lines) - 1), label="row")
        cells = lines[row].split(",")
        cells[data.draw(st.integers(0, len(cells) - 1), label="cell")] = data.draw(
            st.sampled_from(["", "x", "-1", "nan", "1e999", "opened"]), label="text"
        )
        lines[row] = ",".join(cells)
        table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    folders = ["--coverage", str(work / "cov"), "--plan", str(work / "plan"), "--scores",
               str(work / "score")]  # fmt: skip
    for argv in (
        ["report", *folders, "--out", str(work / "report.html"), "--xlsx", str(work / "r.xlsx")],
        ["map", *folders, "--out", str(work / "map.html"), "--offline"],
        ["compare", str(work / "cov"), str(work / "plan")],
    ):
        with _no_crash():
            result = runner.invoke(app, argv)
        _assert_clean_exit(result)


def test_an_unexpected_failure_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, tiny_inputs: dict[str, Path]
) -> None:
    import netplan.io as io_module  # the command imports read_points when it runs

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(io_module, "read_points", broken)
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(tiny_inputs["customers"])])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: internal error (RuntimeError: simulated bug); ")
    assert "--debug" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["--debug", "validate", str(tiny_inputs["customers"])])
    assert isinstance(result.exception, RuntimeError)


def test_output_folder_moves_files_and_folders_together(tmp_path: Path) -> None:
    from netplan.io import STAGING_PREFIX, output_folder, write_text

    out = tmp_path / "demo"
    for round_ in ("old", "new"):
        with output_folder(out, owned=["summary.json", "coverage"]) as folder:
            write_text(folder.stage / "summary.json", round_)
            write_text(folder.stage / "coverage" / "coverage.csv", round_)
        assert folder.final(folder.stage / "coverage" / "coverage.csv") == (
            out / "coverage" / "coverage.csv"
        )
        assert (out / "summary.json").read_text() == round_
        assert (out / "coverage" / "coverage.csv").read_text() == round_
        assert sorted(p.name for p in out.iterdir()) == ["coverage", "summary.json"]
    owned = ["summary.json", "coverage"]
    with pytest.raises(RuntimeError), output_folder(out, owned=owned) as folder:
        write_text(folder.stage / "summary.json", "half")
        raise RuntimeError("stopped")
    assert (out / "summary.json").read_text() == "new"
    # A staging folder of a process that no longer exists is removed by the next run.
    dead = out / f"{STAGING_PREFIX}999999999-x"
    dead.mkdir()
    with output_folder(out, owned=["summary.json", "coverage"]) as folder:
        pass
    assert not dead.exists()


# ----------------------------------------------------------- input classes of issue 11 stay closed

#: Spellings of a whole number a spreadsheet export may use.
SPELLINGS = st.sampled_from(
    [str, lambda n: f"{n:,}", lambda n: f" {n} ", lambda n: f"{n}.0", lambda n: f"{n:.6e}"]
)


@FUZZ
@given(
    units=st.integers(min_value=0, max_value=10**7),
    year=st.integers(min_value=1950, max_value=2026),
    age=st.integers(min_value=0, max_value=80),
    spell_units=SPELLINGS,
    spell_year=SPELLINGS,
    use_age=st.booleans(),
)
def test_numbers_are_read_one_way_validated_and_weighted(
    tmp_path: Path,
    units: int,
    year: int,
    age: int,
    spell_units: Any,
    spell_year: Any,
    use_age: bool,
) -> None:
    """However a number is spelled, the weight uses the value the validation accepted."""
    from netplan.config import DemandRates
    from netplan.demand import age_factors

    rates = DemandRates(
        service_rates={"crane": 3.0},
        default_rate=0.5,
        age_bands=((2.0, 0.5), (5.0, 1.0), (math.inf, 2.0)),
        reference_year=2026,
    )
    scenario = scenario_from_dict(
        {**_default_data(), "demand": {"default_rate": 0.5, "reference_year": 2026,
                                       "service_rates": {"crane": 3.0},
                                       "age_bands": {"0-2": 0.5, "3-5": 1.0, "6+": 2.0}}},
        source="fuzz.toml",
    )  # fmt: skip
    column, value = ("age_years", age) if use_age else ("install_year", year)
    path = tmp_path / "base.csv"
    path.write_text(
        f'id,lon,lat,units,product,{column}\na,104.06,30.67,"{spell_units(units)}",crane,'
        f'"{spell_year(value)}"\n',
        encoding="utf-8",
    )
    gdf = read_points(path, kind="installed-base", scenario=scenario)
    expected_age = age if use_age else max(2026 - year, 0)
    factor = age_factors(np.array([float(expected_age)]), rates)[0]
    assert gdf["weight"].iloc[0] == units * 3.0 * factor


@FUZZ
@given(cells=st.lists(CELLS, min_size=1, max_size=6), what=st.sampled_from(
    ["longitude", "latitude", "weight", "units", "age", "install year"]
))  # fmt: skip
def test_the_one_number_parser_agrees_with_parse_number_cell_by_cell(
    cells: list[str], what: str
) -> None:
    values = numbers_from_cells(pd.Series(cells, dtype=object), what)
    for cell, value in zip(cells, values, strict=True):
        try:
            expected = parse_number(cell, what)
        except ValueError:
            assert math.isnan(value), (cell, value)
        else:
            assert value == expected or (math.isnan(value) and math.isnan(expected)), (cell, value)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 20))
@given(kind=st.sampled_from(
    ["datetime", "datetime-tz", "timedelta", "int", "float", "text", "bool", "category"]
))  # fmt: skip
def test_typed_parquet_weight_columns_are_numbers_or_refused(tmp_path: Path, kind: str) -> None:
    weight: Any = {
        "datetime": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        "datetime-tz": pd.to_datetime(["2024-01-01", "2024-02-01"]).tz_localize("Asia/Shanghai"),
        "timedelta": pd.to_timedelta([1, 2], unit="D"),
        "int": [1, 2],
        "float": [1.5, 2.0],
        "text": ["1,000", "2"],
        "bool": [True, False],
        "category": pd.Categorical(["1", "2"]),
    }[kind]
    path = tmp_path / f"{kind}.parquet"
    frame = pd.DataFrame({"id": ["a", "b"], "lon": [104.0, 104.1], "lat": [30.6, 30.7]})
    frame["weight"] = weight
    frame.to_parquet(path)
    with _no_crash():
        if kind.startswith(("datetime", "timedelta")):
            with pytest.raises(InputError, match=r"row 1, column 'weight': weight is a date/time"):
                read_points(path)
        else:
            try:
                gdf = read_points(path)
            except InputError as exc:
                _check_error(exc, path)
            else:
                _check_points(gdf, "customers")


#: Options of the CLI that take a float, by command (with a valid call around them).
FLOAT_OPTIONS = {
    "optimize": ["--budget", "--coverage-target", "--time-limit", "--gap"],
    "frontier": ["--time-limit", "--gap"],
    "coverage": ["--eps-km", "--min-zone-weight"],
    "candidates": ["--min-weight"],
}


@settings(
    max_examples=int(os.environ.get("NETPLAN_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_float_option_value_exits_0_2_or_3_and_non_finite_names_the_option(
    tmp_path: Path, tiny_inputs: dict[str, Path], data: st.DataObject
) -> None:
    command = data.draw(st.sampled_from(sorted(FLOAT_OPTIONS)), label="command")
    option = data.draw(st.sampled_from(FLOAT_OPTIONS[command]), label="option")
    value = data.draw(
        st.floats(allow_nan=True, allow_infinity=True).map(repr)
        | st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "-1e309", "1e308"]),
        label="value",
    )
    out = tmp_path / f"out-{command}"
    argv = [command, "--demand", str(tiny_inputs["customers"]), "--out"]
    argv.append(str(out / "c.csv") if command == "candidates" else str(out))
    if command != "candidates":
        argv += ["--sites", str(tiny_inputs["sites"])]
    if command in ("optimize", "frontier"):
        argv += ["--time-limit", "5"] if option != "--time-limit" else []
        argv += ["--steps", "2"] if command == "frontier" else []
    argv += [option, value]
    with _no_crash():
        result = CliRunner().invoke(app, argv)
    _assert_clean_exit(result)
    if not math.isfinite(float(value)):
        assert result.exit_code == 2, result.output
        assert option in result.stderr, result.stderr


#: Column names that each could be the same column: a file holding two of them is ambiguous.
AMBIGUOUS = {
    "--lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "--lat": ("lat", "latitude", "纬度", "y"),
    "--id": ("id", "编号"),
    "--weight": ("weight", "权重"),
}


@FUZZ
@given(data=st.data())
def test_two_candidate_columns_are_refused_until_one_is_named(
    tmp_path: Path, data: st.DataObject
) -> None:
    option = data.draw(st.sampled_from(sorted(AMBIGUOUS)), label="option")
    first, second = data.draw(
        st.lists(st.sampled_from(AMBIGUOUS[option]), min_size=2, max_size=2, unique=True),
        label="names",
    )
    columns = {"--lon": "lon", "--lat": "lat", "--id": "id", "--weight": "weight"}
    header = [columns[o] for o in sorted(AMBIGUOUS) if o != option] + [first, second]
    values = {"--lon": "104.06", "--lat": "30.67", "--id": "a", "--weight": "2"}
    row = [values[o] for o in sorted(AMBIGUOUS) if o != option] + [values[option]] * 2
    path = tmp_path / "ambiguous.csv"
    path.write_text(_csv_text(header, [row], ","), encoding="utf-8")
    with pytest.raises(InputError, match=f"could be the .* column; .* with {option}") as caught:
        read_points(path)
    assert f"'{first}'" in str(caught.value) and f"'{second}'" in str(caught.value)
    keyword = {"--lon": "lon_col", "--lat": "lat_col", "--id": "id_col", "--weight": "weight_col"}
    _check_points(read_points(path, **{keyword[option]: second}), "customers")


@FUZZ
@given(name=st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\0" not in b))
def test_any_byte_file_name_is_read_and_shown_as_text(tmp_path: Path, name: bytes) -> None:
    assume(name not in (b".", b".."))
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + name + b".csv"))
    path.write_text(CUSTOMERS_CSV, encoding="utf-8")
    with _no_crash():
        gdf = read_points(path)
    shown = gdf.attrs["netplan_source"]["file"]
    shown.encode("utf-8")  # printable and writable to JSON, whatever the bytes were
    result = CliRunner().invoke(app, ["validate", str(path)])
    _assert_clean_exit(result)
    assert result.exit_code == 0, result.output


GEOJSON_NUMBERS = st.floats(allow_nan=True, allow_infinity=True).map(
    lambda x: "NaN" if x != x else ("Infinity" if x == math.inf else
                                    "-Infinity" if x == -math.inf else repr(x))
)  # fmt: skip


@FUZZ
@given(coordinates=st.lists(st.tuples(GEOJSON_NUMBERS, GEOJSON_NUMBERS), min_size=1, max_size=4))
def test_geometries_with_any_coordinates_give_finite_points_or_name_the_feature(
    tmp_path: Path, coordinates: list[tuple[str, str]]
) -> None:
    features = ",".join(
        f'{{"type":"Feature","properties":{{"id":"f{i}"}},'
        f'"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}'
        for i, (x, y) in enumerate(coordinates)
    )
    path = tmp_path / "points.geojson"
    path.write_text(f'{{"type":"FeatureCollection","features":[{features}]}}', encoding="utf-8")
    with _no_crash():
        try:
            gdf = read_points(path)
        except InputError as exc:
            _check_error(exc, path)
        else:
            _check_points(gdf, "customers")


#: Summary keys whose values have a range, and values outside it.
IMPOSSIBLE = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, -1e-3, 5.0, 1.5, 1e999])


@settings(
    max_examples=int(os.environ.get("NETPLAN_FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_impossible_summary_values_exit_2_naming_the_file_and_key(
    tmp_path: Path, written_outputs: Path, data: st.DataObject
) -> None:
    import tempfile

    work = Path(tempfile.mkdtemp(dir=tmp_path)) / "run"
    shutil.copytree(written_outputs, work)
    folder = data.draw(st.sampled_from(["cov", "plan"]), label="folder")
    summary_path = work / folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    ranged = [
        path
        for path in _json_paths(summary)
        if isinstance(path[-1], str)
        and (path[-1].endswith(("_rate", "weight")) or path[-1].startswith("n_"))
        and isinstance(_dig(summary, path), int | float)
        and not isinstance(_dig(summary, path), bool)
    ]
    where = data.draw(st.sampled_from(ranged), label="key")
    value = data.draw(IMPOSSIBLE, label="value")
    assume(where[-1].endswith("_rate") or value < 0 or not math.isfinite(value))
    node = summary
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    dotted = ".".join(str(k) for k in where)
    for argv in (
        ["report", f"--{'coverage' if folder == 'cov' else 'plan'}", str(work / folder),
         "--out", str(work / "r.html")],
        ["compare", str(work / folder), str(work / ("plan" if folder == "cov" else "cov"))],
    ):  # fmt: skip
        with _no_crash():
            result = CliRunner().invoke(app, argv)
        _assert_clean_exit(result)
        assert result.exit_code == 2, result.output
        assert str(summary_path) in result.stderr and dotted in result.stderr, result.stderr


def _dig(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value
