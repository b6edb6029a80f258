"""How a planner's own files map onto netplan: the ``[inputs.*]`` scenario sections.

A scenario may say, once, which column of each input file holds what::

    [inputs.customers]          # also [inputs.installed_base] and [inputs.sites]
    id = "编号"
    lon = "经度"
    lat = "纬度"
    weight = "年服务次数"
    crs = "GCJ-02"              # "WGS84" (default), "GCJ-02", "BD-09" or any "EPSG:nnnn"
    layer = "customers"         # GeoPackage layer

    [inputs.installed_base]     # units, product, install_year as well
    [inputs.sites]              # tier, status, name, fixed_cost, capacity as well

Every reader (:func:`netplan.io.read_points` and so every command and library
function reading customers, an installed base or sites, the streaming readers
included) applies the section of its kind through :func:`prepare_frame`, the
one place the mapping is applied. Explicit reader arguments (``lon_col=``,
``--lon``) win over the section. On the command line, ``--input
KIND.KEY=VALUE`` (repeatable, the same key names) says the same for one run:
``--input customers.weight=年服务次数 --input sites.crs=GCJ-02``.

Applying a section
------------------
* ``id``/``lon``/``lat``/``weight`` name the columns the reader uses;
  ``units``/``product``/``install_year`` (installed base) and
  ``tier``/``status``/``name``/``fixed_cost``/``capacity`` (sites) are read
  as if the column had that name; problems still name the file's column.
* Sites without a mapped or literal ``tier``/``status``/``name`` column use a
  Chinese header (``网点类型``/``类型``/``层级``, ``状态``, ``网点名称``/``名称``).
* Tier and status values are normalised (:mod:`netplan.normalise`).
* ``crs = "GCJ-02"``/``"BD-09"`` converts the coordinates to WGS84 with the
  exact inverse of :mod:`netplan.chinacrs`; outputs are WGS84, and the
  frame's ``attrs["netplan_source"]["source_crs"]`` says what was converted.
* A customers file whose weight comes from no column, but which has a numeric
  column that looks like one, gets a warning naming the column and how to
  use it (also kept in ``attrs["netplan_source"]["warnings"]`` for the
  commands' ``summary.json``).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from netplan.errors import ConfigError, InputError, InputWarning, Problem

if TYPE_CHECKING:
    import pandas as pd

    from netplan.config import Scenario

#: A table of points: a GeoDataFrame, or a frame with ``lon``/``lat`` columns.
FrameT = TypeVar("FrameT", bound="pd.DataFrame")

__all__ = [
    "INPUT_KEYS",
    "INPUT_KINDS",
    "InputSpec",
    "PreparedFrame",
    "input_notes",
    "parse_input_options",
    "parse_inputs",
    "prepare_frame",
    "spec_for",
    "weight_statement",
    "with_inputs",
]

#: Column names taken as longitude (case-insensitive), in order of preference.
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "x")
#: Column names taken as latitude (case-insensitive), in order of preference.
LAT_NAMES = ("lat", "latitude", "纬度", "y")
#: Column names taken as the id / the weight (case-insensitive), in order of preference.
ID_NAMES = ("id", "编号")
WEIGHT_NAMES = ("weight", "权重")

#: The ``[inputs.*]`` sections, and the reader kind (:data:`netplan.io.PointKind`) of each.
INPUT_KINDS: Mapping[str, str] = {
    "customers": "customers",
    "installed_base": "installed-base",
    "sites": "sites",
}
_COMMON_KEYS = ("id", "lon", "lat", "crs", "layer")
#: The keys each section accepts.
INPUT_KEYS: Mapping[str, tuple[str, ...]] = {
    "customers": (*_COMMON_KEYS, "weight"),
    "installed_base": (*_COMMON_KEYS, "units", "product", "install_year"),
    "sites": (*_COMMON_KEYS, "tier", "status", "name", "fixed_cost", "capacity"),
}
#: Keys that name a column the reader is told about (the others rename a column).
_READER_KEYS = ("id", "lon", "lat", "weight")
#: Spellings of WGS84 (nothing to convert).
_WGS84_NAMES = ("wgs84", "wgs-84", "wgs 84", "epsg:4326", "4326", "crs84", "ogc:crs84")


@dataclass(frozen=True)
class InputSpec:
    """One ``[inputs.<kind>]`` section: the columns, CRS and layer of one kind of file.

    Attributes
    ----------
    kind
        ``"customers"``, ``"installed_base"`` or ``"sites"``.
    columns
        Key (``"weight"``, ``"tier"``, ...) → column name in the file.
    crs
        ``"GCJ-02"``, ``"BD-09"``, a pyproj CRS string, or ``None`` (WGS84 for
        CSV, the file's own CRS otherwise).
    layer
        GeoPackage layer, or ``None``.
    origins
        Key → where the setting came from (``"scenario.toml [inputs.sites]"``
        or ``"--input"``), for messages.
    """

    kind: str
    columns: Mapping[str, str] = field(default_factory=dict)
    crs: str | None = None
    layer: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """Return where ``key`` was set, e.g. ``"--input sites.tier"``."""
        where = self.origins.get(key, f"[inputs.{self.kind}]")
        return f"{where} {self.kind}.{key}" if where == "--input" else f"{key} in {where}"


def _section_for(kind: str) -> str:
    """Return the ``[inputs.*]`` section of a reader kind (``"installed-base"`` too)."""
    return kind.replace("-", "_")


def _suggest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _check_crs(value: str, fail: Any) -> str:
    from netplan.chinacrs import normalise_china_crs

    china = normalise_china_crs(value)
    if china is not None:
        return china
    if value.strip().lower() in _WGS84_NAMES:
        return "EPSG:4326"
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        raise fail(
            f"unknown CRS {value!r}; use WGS84, GCJ-02, BD-09 or an EPSG code such as 'EPSG:4547'"
        ) from None
    return value


def _build_spec(kind: str, table: Mapping[str, Any], origin: str, fail_key: Any) -> InputSpec:
    allowed = INPUT_KEYS[kind]
    columns: dict[str, str] = {}
    crs: str | None = None
    layer: str | None = None
    for key, value in table.items():
        key = str(key)
        if key not in allowed:
            elsewhere = [k for k, keys in INPUT_KEYS.items() if key in keys and k != kind]
            hint = (
                f" (`{key}` belongs in [inputs.{elsewhere[0]}])"
                if elsewhere
                else _suggest(key, allowed)
            )
            raise fail_key(key, f"unknown key{hint}; expected one of: {', '.join(allowed)}")
        if not isinstance(value, str) or not value.strip():
            raise fail_key(key, f"must be a non-empty string (a column name), got {value!r}")
        if key == "crs":
            crs = _check_crs(value, lambda message, key=key: fail_key(key, message))
        elif key == "layer":
            layer = value
        else:
            columns[key] = value.strip()
    used: dict[str, str] = {}
    for key, column in columns.items():
        if column.lower() in used:
            other = used[column.lower()]
            raise fail_key(key, f"column '{column}' is also given for `{other}`; one column each")
        used[column.lower()] = key
    return InputSpec(
        kind=kind,
        columns=columns,
        crs=crs,
        layer=layer,
        origins=dict.fromkeys(table, origin),
    )


def parse_inputs(data: Any, *, source: str) -> dict[str, InputSpec]:
    """Validate the scenario's ``[inputs]`` table into one :class:`InputSpec` per kind.

    Parameters
    ----------
    data
        The ``inputs`` table as parsed TOML (``{}`` when absent).
    source
        The scenario file's name, for messages.

    Returns
    -------
    dict
        Section name (``"customers"``, ``"installed_base"``, ``"sites"``) →
        its spec; kinds without a section are absent.

    Raises
    ------
    ConfigError
        Naming the key (``inputs.sites.teir``) with a suggestion.
    """

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: `{key}`: {message}")

    if not isinstance(data, Mapping):
        raise fail("inputs", f"must be a table, got {type(data).__name__}")
    specs: dict[str, InputSpec] = {}
    for kind, table in data.items():
        kind = str(kind)
        if kind not in INPUT_KEYS:
            hint = _suggest(kind.replace("-", "_"), INPUT_KEYS)
            raise fail(
                f"inputs.{kind}",
                f"unknown section{hint}; expected one of: {', '.join(INPUT_KEYS)}",
            )
        if not isinstance(table, Mapping):
            raise fail(f"inputs.{kind}", 'must be a table like { lon = "经度", lat = "纬度" }')
        origin = f"[inputs.{kind}] of {source}"
        specs[kind] = _build_spec(
            kind,
            table,
            origin,
            lambda key, message, kind=kind: fail(f"inputs.{kind}.{key}", message),
        )
    return specs


_OPTION = re.compile(r"^\s*(?P<kind>[A-Za-z_-]+)\s*\.\s*(?P<key>[A-Za-z_]+)\s*=(?P<value>.*)$")


def parse_input_options(values: Iterable[str], *, option: str = "--input") -> dict[str, InputSpec]:
    """Parse repeated ``--input KIND.KEY=VALUE`` options into specs, one per kind.

    ``KIND`` is ``customers``, ``installed_base`` (or ``installed-base``) or
    ``sites``; ``KEY`` any key of that ``[inputs.KIND]`` section.

    Raises
    ------
    ConfigError
        Naming the option value, with a suggestion for a misspelt kind or key.

    Examples
    --------
    >>> specs = parse_input_options(["customers.weight=年服务次数", "customers.crs=gcj02"])
    >>> specs["customers"].columns["weight"], specs["customers"].crs
    ('年服务次数', 'GCJ-02')
    """
    tables: dict[str, dict[str, str]] = {}
    for text in values:
        match = _OPTION.match(text)
        if match is None:
            msg = (
                f"{option} {text!r}: write KIND.KEY=VALUE, e.g. {option} "
                "customers.weight=年服务次数 (KIND: customers, installed_base, sites)"
            )
            raise ConfigError(msg)
        kind = match["kind"].replace("-", "_").lower()
        if kind not in INPUT_KEYS:
            hint = _suggest(kind, INPUT_KEYS)
            msg = (
                f"{option} {text!r}: unknown kind '{match['kind']}'{hint}; "
                f"use one of: {', '.join(INPUT_KEYS)}"
            )
            raise ConfigError(msg)
        tables.setdefault(kind, {})[match["key"]] = match["value"].strip()

    specs: dict[str, InputSpec] = {}
    for kind, table in tables.items():

        def fail(key: str, message: str, kind: str = kind) -> ConfigError:
            return ConfigError(f"{option} {kind}.{key}: {message}")

        specs[kind] = _build_spec(kind, table, option, fail)
    return specs


def _merge(base: InputSpec | None, extra: InputSpec) -> InputSpec:
    if base is None:
        return extra
    return InputSpec(
        kind=base.kind,
        columns={**base.columns, **extra.columns},
        crs=extra.crs if extra.crs is not None else base.crs,
        layer=extra.layer if extra.layer is not None else base.layer,
        origins={**base.origins, **extra.origins},
    )


def with_inputs(scenario: Scenario, options: Iterable[str] | None) -> Scenario:
    """Return ``scenario`` with ``--input KIND.KEY=VALUE`` options laid over its ``[inputs.*]``.

    Parameters
    ----------
    scenario
        The scenario (its own sections stay unless an option sets the same key).
    options
        The option values; ``None`` or empty returns ``scenario`` itself.

    Raises
    ------
    ConfigError
        On a malformed option, unknown kind or key.
    """
    values = list(options or [])
    if not values:
        return scenario
    merged = dict(scenario.inputs)
    for kind, spec in parse_input_options(values).items():
        merged[kind] = _merge(merged.get(kind), spec)
    return replace(scenario, inputs=merged)


def spec_for(scenario: Scenario | None, kind: str) -> InputSpec:
    """Return the ``[inputs.*]`` spec for a reader kind (an empty one when absent)."""
    section = _section_for(kind)
    if scenario is None:
        return InputSpec(kind=section)
    return scenario.inputs.get(section) or InputSpec(kind=section)


# --------------------------------------------------------------------------- applying


@dataclass
class PreparedFrame:
    """A table made ready for validation by :func:`prepare_frame`.

    Attributes
    ----------
    frame
        The table with mapped columns renamed and site values normalised (a
        copy; the caller's frame is untouched).
    options
        ``id_col``, ``lon_col``, ``lat_col``, ``weight_col`` and ``crs`` to
        validate with.
    china_crs
        ``"GCJ-02"`` or ``"BD-09"`` when :meth:`finish` converts the points.
    renamed
        Canonical column name → the file's column, to name problems as the
        file does.
    notes
        Warnings about the input (also issued as :class:`InputWarning`).
    weight_column
        The column the weight comes from (customers), ``None`` for 1.0 each.
    """

    frame: pd.DataFrame
    options: dict[str, Any]
    china_crs: str | None = None
    renamed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    weight_column: str | None = None

    def rename_problems(self, error: InputError) -> InputError:
        """Return ``error`` with problems naming the file's columns, not the renamed ones."""
        if not self.renamed:
            return error
        problems = [
            replace(p, column=self.renamed.get(p.column, p.column)) if p.column else p
            for p in error.problems
        ]
        return type(error)(problems, total=error.total)

    def finish(self, gdf: FrameT) -> FrameT:
        """Convert GCJ-02/BD-09 points to WGS84 and record the mapping in ``attrs``.

        ``gdf`` is a GeoDataFrame of points, or a plain frame with ``lon`` and
        ``lat`` columns (the streamed readers' chunks).
        """
        source = dict(gdf.attrs.get("netplan_source", {}))
        if self.china_crs is not None:
            import geopandas as gpd

            from netplan.chinacrs import to_wgs84

            if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
                if len(gdf):
                    lon, lat = to_wgs84(
                        gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), self.china_crs
                    )
                    gdf = gdf.set_geometry(gpd.points_from_xy(lon, lat, crs="EPSG:4326"))
            elif len(gdf):
                lon, lat = to_wgs84(
                    gdf["lon"].to_numpy(dtype=float),
                    gdf["lat"].to_numpy(dtype=float),
                    self.china_crs,
                )
                gdf = gdf.assign(lon=lon, lat=lat)
            source["source_crs"] = f"{self.china_crs} (converted to WGS84)"
        if source.get("kind") != "sites":
            source["weight_column"] = self.weight_column
        if self.notes:
            source["warnings"] = list(self.notes)
        if self.renamed:
            source["columns_mapped"] = {k: v for k, v in sorted(self.renamed.items())}
        gdf.attrs["netplan_source"] = source
        return gdf


def _lookup_column(columns: list[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    lower = {c.lower(): c for c in columns}
    return lower.get(wanted.lower())


def _missing_column(
    name: str, spec: InputSpec, key: str, wanted: str, columns: list[str]
) -> InputError:
    close = difflib.get_close_matches(wanted, columns, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    msg = (
        f"{key} column '{wanted}' (from {spec.origin(key)}) not found{hint}; "
        f"columns are: {', '.join(columns)}"
    )
    return InputError([Problem(name, 1, wanted, msg)])


def prepare_frame(
    frame: pd.DataFrame,
    *,
    kind: str,
    scenario: Scenario,
    name: str,
    id_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    weight_col: str | None = None,
    crs: str | None = None,
    header_row: int | None = None,
) -> PreparedFrame:
    """Apply the scenario's ``[inputs.<kind>]`` section to a table read from a file.

    Parameters
    ----------
    frame
        The rows as read (text cells for CSV); not modified.
    kind
        The reader kind (``"customers"``, ``"installed-base"``, ``"sites"``).
    scenario
        Holds the ``[inputs.*]`` sections and the tiers values are matched to.
    name
        File name for messages.
    id_col, lon_col, lat_col, weight_col, crs
        The reader's explicit arguments; they win over the section.
    header_row
        Row of the header (1 for CSV), for problems with column names.

    Returns
    -------
    PreparedFrame
        The table and the options to validate it with.

    Raises
    ------
    InputError
        When a mapped column is not in the file.
    """
    import pandas as pd

    from netplan.chinacrs import normalise_china_crs

    spec = spec_for(scenario, kind)
    columns = [str(c) for c in frame.columns]
    explicit = {"id": id_col, "lon": lon_col, "lat": lat_col, "weight": weight_col}
    options: dict[str, Any] = {}
    for key in _READER_KEYS:
        given = explicit[key]
        if given is None and key in spec.columns:
            wanted = spec.columns[key]
            found = _lookup_column(columns, wanted)
            if found is None:
                raise _missing_column(name, spec, key, wanted, columns)
            given = found
        options[f"{key}_col"] = given

    china: str | None = None
    chosen_crs = crs if crs is not None else spec.crs
    if chosen_crs is not None:
        china = normalise_china_crs(chosen_crs)
        if china is not None:
            declared = getattr(frame, "crs", None)
            if declared is not None and not declared.equals("EPSG:4326"):
                msg = (
                    f"the file declares CRS {declared.to_string()}, but {chosen_crs} is "
                    "given; GCJ-02 and BD-09 are longitude/latitude only: drop the crs setting"
                )
                raise InputError([Problem(name, None, None, msg)])
            chosen_crs = None
        elif chosen_crs.strip().lower() in _WGS84_NAMES:
            chosen_crs = "EPSG:4326"
    options["crs"] = chosen_crs

    renames: dict[str, str] = {}
    for key, wanted in spec.columns.items():
        if key in _READER_KEYS:
            continue
        found = _lookup_column(columns, wanted)
        if found is None:
            raise _missing_column(name, spec, key, wanted, columns)
        if found != key:
            renames[found] = key
    if kind == "sites":
        from netplan.normalise import HEADER_ALIASES, canonical_text

        lower = {c.lower() for c in columns}
        canon = {canonical_text(c): c for c in columns}
        for key, aliases in HEADER_ALIASES.items():
            if key in spec.columns or key in lower:
                continue
            for alias in aliases:
                found = canon.get(canonical_text(alias))
                if found is not None and found not in renames:
                    renames[found] = key
                    break

    out = frame.copy(deep=False)
    if renames:
        targets = {target.lower() for target in renames.values()}
        clashes = {c: f"{c}_unmapped" for c in columns if c.lower() in targets and c not in renames}
        out = out.rename(columns={**clashes, **renames})
    renamed_back = {target: source for source, target in renames.items()}

    if kind == "sites":
        from netplan.normalise import normalise_statuses, normalise_tiers

        out_columns = {str(c).lower(): c for c in out.columns}
        if "tier" in out_columns:
            column = out_columns["tier"]
            out[column] = pd.Series(
                normalise_tiers(out[column].tolist(), scenario), index=out.index, dtype=object
            )
        if "status" in out_columns:
            column = out_columns["status"]
            out[column] = pd.Series(
                normalise_statuses(out[column].tolist()), index=out.index, dtype=object
            )

    prepared = PreparedFrame(frame=out, options=options, china_crs=china, renamed=renamed_back)
    if kind == "customers":
        _weight_notes(prepared, name)
    elif kind == "installed-base" and "units" not in spec.columns:
        _units_notes(prepared, name)
    return prepared


#: Column-name fragments that suggest a weight or a count of units.
_WEIGHT_HINTS = (
    "weight", "count", "calls", "visits", "orders", "demand", "qty", "quantity", "volume",
    "units", "times", "num", "次数", "数量", "台数", "单量", "工单", "需求", "权重", "订单",
    "服务量", "保有", "台", "次", "量",
)  # fmt: skip
#: Column names never taken for a weight (codes, years, coordinates, ages).
_NOT_WEIGHT = re.compile(
    r"(^|_)(id|code|zip|postcode|phone|tel|year|age|grade|lon|lng|lat|x|y)($|_)|"
    r"编号|代码|邮编|电话|手机|年份|年龄|等级|经度|纬度|坐标|id$",
    re.IGNORECASE,
)


def _numeric_share(values: pd.Series) -> float:
    import pandas as pd

    sample = values.dropna().head(2000)
    if sample.empty:
        return 0.0
    numbers = pd.to_numeric(sample, errors="coerce")
    ok = numbers.notna() & (numbers >= 0)
    if ok.sum() == 0 or numbers[ok].nunique() < 2:
        return 0.0
    return float(ok.mean())


def _looks_like(frame: pd.DataFrame, skip: set[str]) -> list[str]:
    found: list[str] = []
    for column in frame.columns:
        text = str(column)
        lowered = text.lower()
        if text in skip or lowered in skip or _NOT_WEIGHT.search(text):
            continue
        if not any(hint in lowered for hint in _WEIGHT_HINTS):
            continue
        if _numeric_share(frame[column]) >= 0.95:
            found.append(text)
    return found


def _weight_notes(prepared: PreparedFrame, name: str) -> None:
    frame = prepared.frame
    given = prepared.options.get("weight_col")
    if given is not None:
        prepared.weight_column = str(given)
        return
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for candidate in WEIGHT_NAMES:
        if candidate in lower:
            prepared.weight_column = lower[candidate]
            return
    skip = {str(v).lower() for v in prepared.options.values() if isinstance(v, str)}
    for column in _looks_like(frame, skip):
        note = (
            f"{name}: no weight column, so every row weighs 1.0, but column '{column}' holds "
            f'numbers that look like a weight; to use it, add weight = "{column}" under '
            f"[inputs.customers] in the scenario, or pass --input customers.weight={column}"
        )
        prepared.notes.append(note)
        warnings.warn(note, InputWarning, stacklevel=4)


def _units_notes(prepared: PreparedFrame, name: str) -> None:
    frame = prepared.frame
    if any(str(c).lower() == "units" for c in frame.columns):
        return
    skip = {str(v).lower() for v in prepared.options.values() if isinstance(v, str)}
    for column in _looks_like(frame, skip | {"install_year", "age_years"}):
        note = (
            f"{name}: no units column, so every row counts 1 unit, but column '{column}' holds "
            f'numbers that look like units; to use it, add units = "{column}" under '
            "[inputs.installed_base] in the scenario, or pass "
            f"--input installed_base.units={column}"
        )
        prepared.notes.append(note)
        warnings.warn(note, InputWarning, stacklevel=4)


def input_notes(*frames: pd.DataFrame | None) -> list[str]:
    """Return the input warnings recorded on frames read by :func:`netplan.io.read_points`."""
    notes: list[str] = []
    for frame in frames:
        if frame is None:
            continue
        for note in frame.attrs.get("netplan_source", {}).get("warnings", []):
            if note not in notes:
                notes.append(str(note))
    return notes


def weight_statement(frame: pd.DataFrame) -> str | None:
    """Return how the weight of a frame read by netplan was taken, for input tables.

    ``"weight: 1.0 for every row (no weight column)"`` when no column gave
    it; ``"weight: column '年服务次数'"`` otherwise; ``None`` for sites or
    frames not read by :func:`netplan.io.read_points`.
    """
    source = frame.attrs.get("netplan_source", {})
    if "weight_column" not in source:
        return None
    column = source["weight_column"]
    if column is None:
        if source.get("kind") == "installed-base":
            return "weight: units × service rate (see [demand])"
        return "weight: 1.0 for every row (no weight column)"
    return f"weight: column '{column}'"
