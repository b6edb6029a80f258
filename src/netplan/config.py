"""The scenario: tiers, promises, region grades, demand rates, scoring and solver options.

A scenario is read from a TOML file with :func:`load_scenario` or taken from
:func:`default_scenario`. Every key is checked: an unknown key, a wrong type or
an impossible value raises :class:`~netplan.errors.ConfigError` naming the key
(``tiers.city_station.radius_km``), so a typo never passes silently.

How a promise becomes a reach
-----------------------------
A tier promises either a service radius (``radius_km``) or a response time
(``response_hours`` with ``speed_kmh`` and ``detour_factor``). Both become a
maximum great-circle distance for the radius query (:meth:`Tier.reach_km`):

* ``radius_km`` is a distance under the scenario's distance model: great-circle
  kilometres with ``distance_model = "great_circle"``, road kilometres
  (great-circle × detour factor) with ``"road_estimate"``;
* ``response_hours`` is converted with the travel speed and the detour factor:
  reach = hours × speed ÷ detour factor great-circle kilometres.

Region grades (a ``grade`` column on the demand, values such as ``A``/``B``/``C``)
change the promise through ``grade_radius_km`` / ``grade_response_hours``.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from netplan.errors import ConfigError
from netplan.inputs import InputSpec, parse_inputs

__all__ = [
    "DEFAULT_SCENARIO_TOML",
    "DISTANCE_MODELS",
    "SITE_STATUSES",
    "DemandRates",
    "Scenario",
    "ScoringAttribute",
    "ScoringOptions",
    "SolverOptions",
    "Tier",
    "default_scenario",
    "load_scenario",
    "scenario_from_dict",
]

#: Distance models understood by the reach engine.
DISTANCE_MODELS = ("great_circle", "road_estimate", "matrix")
#: Status values a site may carry.
SITE_STATUSES = ("existing", "candidate", "required", "closed", "competitor")
#: Mean Earth radius (IUGG), km: the sphere every great-circle distance uses.
EARTH_RADIUS_KM = 6371.0088

#: The built-in scenario, as a planner would write it.
DEFAULT_SCENARIO_TOML = """\
[scenario]
name = "default"
distance_model = "great_circle"   # great_circle | road_estimate | matrix
detour_factor = 1.3               # road km per great-circle km (road_estimate, response times)
speed_kmh = 60                    # travel speed for response-time promises

[tiers.regional_hub]
label = "Regional hub"
label_zh = "区域服务中心"
radius_km = 300
fixed_cost = 3000000
capacity = 60000

[tiers.city_station]
label = "City station"
label_zh = "城市服务站"
radius_km = 50
parent = "regional_hub"
support_radius_km = 500
fixed_cost = 400000
capacity = 8000

[tiers.city_station.grade_radius_km]
A = 30
B = 50
C = 80

[tiers.community_point]
label = "Community point"
label_zh = "社区服务点"
radius_km = 10
parent = "city_station"
support_radius_km = 60
fixed_cost = 60000
capacity = 1500

[tiers.partner]
label = "Authorised partner"
label_zh = "授权服务合作商"
radius_km = 40
parent = "regional_hub"
support_radius_km = 600
fixed_cost = 120000
capacity = 4000
optional = true
"""


@dataclass(frozen=True)
class Tier:
    """One outlet tier and its promise.

    Attributes
    ----------
    name
        Key used in the sites file's ``tier`` column (``city_station``).
    label, label_zh
        Display names in English and Chinese.
    radius_km
        Service radius, under the scenario's distance model; ``None`` when the
        tier promises a response time instead.
    response_hours
        Response-time promise (on site within this many hours).
    speed_kmh, detour_factor
        Travel speed and road detour used to turn hours into kilometres.
    fixed_cost
        Cost of opening (or keeping) one outlet of this tier.
    capacity
        Demand weight one outlet can serve; ``None`` for unlimited.
    parent
        Tier that supports this one (hub → station → point), or ``None``.
    support_radius_km
        Great-circle distance within which a supporting parent outlet must lie.
    grade_radius_km, grade_response_hours
        The promise by region grade, overriding the default for demand points
        whose ``grade`` matches.
    optional
        ``True`` for tiers a plan may leave out entirely (authorised partners).
    """

    name: str
    label: str
    label_zh: str
    radius_km: float | None = None
    response_hours: float | None = None
    speed_kmh: float = 60.0
    detour_factor: float = 1.3
    fixed_cost: float = 0.0
    capacity: float | None = None
    parent: str | None = None
    support_radius_km: float | None = None
    grade_radius_km: Mapping[str, float] = field(default_factory=dict)
    grade_response_hours: Mapping[str, float] = field(default_factory=dict)
    optional: bool = False

    def display(self, lang: str = "en") -> str:
        """Return the tier's label in ``lang`` (``"en"`` or ``"zh"``)."""
        return self.label_zh if lang == "zh" else self.label

    def grades(self) -> set[str]:
        """Return the region grades that carry their own promise for this tier."""
        return set(self.grade_radius_km) | set(self.grade_response_hours)

    def reach_km(self, grade: str | None = None, *, distance_model: str = "great_circle") -> float:
        """Return the maximum great-circle distance (km) this tier's promise reaches.

        Parameters
        ----------
        grade
            Region grade of the demand point, or ``None`` for the default promise.
        distance_model
            ``"great_circle"`` (radii are great-circle km), ``"road_estimate"``
            (radii are road km = great-circle km × detour factor) or ``"matrix"``
            (radii are compared with the matrix costs; the value returned is
            the radius itself).
        """
        if grade is not None and grade in self.grade_radius_km:
            return _radius_to_reach(self.grade_radius_km[grade], self, distance_model)
        if grade is not None and grade in self.grade_response_hours:
            return self.grade_response_hours[grade] * self.speed_kmh / self.detour_factor
        if self.radius_km is not None:
            return _radius_to_reach(self.radius_km, self, distance_model)
        assert self.response_hours is not None  # guaranteed by validation
        return self.response_hours * self.speed_kmh / self.detour_factor

    def max_reach_km(self, *, distance_model: str = "great_circle") -> float:
        """Return the largest reach over the default promise and every grade."""
        grades: list[str | None] = [None, *sorted(self.grades())]
        return max(self.reach_km(g, distance_model=distance_model) for g in grades)


def _radius_to_reach(radius_km: float, tier: Tier, distance_model: str) -> float:
    if distance_model == "road_estimate":
        return radius_km / tier.detour_factor
    return radius_km


@dataclass(frozen=True)
class DemandRates:
    """How installed units turn into service demand.

    ``weight = units × service_rates[product] × age_factor(age)``; products
    missing from ``service_rates`` use ``default_rate``; the age factor is 1
    unless ``age_bands`` is given.

    Attributes
    ----------
    service_rates
        Expected service calls per unit and year, by product.
    default_rate
        Rate for products not listed (and rows without a product).
    age_bands
        Upper bounds (years, inclusive) of age bands with their factors,
        ascending, e.g. ``((2, 0.6), (5, 1.0), (inf, 1.5))``.
    reference_year
        Year used to turn ``install_year`` into an age.
    """

    service_rates: Mapping[str, float] = field(default_factory=dict)
    default_rate: float = 1.0
    age_bands: tuple[tuple[float, float], ...] = ()
    reference_year: int = 2026


@dataclass(frozen=True)
class ScoringAttribute:
    """An attribute column of the sites file used as a scoring factor."""

    column: str
    weight: float
    direction: str = "benefit"  # "benefit": higher is better; "cost": lower is better


@dataclass(frozen=True)
class ScoringOptions:
    """Weights of the site-selection factors (normalised when used)."""

    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "demand": 0.30,
            "gap_fill": 0.25,
            "overlap": 0.10,
            "distance_to_outlet": 0.10,
            "competitors": 0.10,
            "cost": 0.15,
        }
    )
    attributes: tuple[ScoringAttribute, ...] = ()


@dataclass(frozen=True)
class SolverOptions:
    """Options for the MILP solver."""

    name: str = "highs"
    time_limit: float | None = 300.0
    gap: float = 0.0
    threads: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class Scenario:
    """A complete planning scenario.

    Attributes
    ----------
    name
        Scenario name (shown in reports).
    tiers
        Tiers by name, from the top of the support chain down.
    distance_model
        ``"great_circle"``, ``"road_estimate"`` or ``"matrix"``.
    detour_factor, speed_kmh
        Scenario-wide road detour and travel speed (defaults for tiers).
    matrix_unit
        Unit of a user-supplied matrix's costs, ``"km"`` or ``"minutes"``.
    grades
        Region grades in use (from the tiers' grade promises).
    demand
        Service-call rates for installed-base weighting.
    scoring
        Site-scoring weights.
    solver
        MILP solver options.
    plan
        Free-form optimisation options (budget, coverage target, ...), checked
        by :mod:`netplan.locate`.
    inputs
        The ``[inputs.customers]``/``[inputs.installed_base]``/``[inputs.sites]``
        sections: which column holds what, CRS and layer of each kind of file
        (see :mod:`netplan.inputs`).
    source
        File the scenario was read from, or ``"<default>"``.
    """

    name: str
    tiers: Mapping[str, Tier]
    distance_model: str = "great_circle"
    detour_factor: float = 1.3
    speed_kmh: float = 60.0
    matrix_unit: str = "km"
    demand: DemandRates = field(default_factory=DemandRates)
    scoring: ScoringOptions = field(default_factory=ScoringOptions)
    solver: SolverOptions = field(default_factory=SolverOptions)
    plan: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<default>"
    inputs: Mapping[str, InputSpec] = field(default_factory=dict)

    @property
    def grades(self) -> list[str]:
        """Return every region grade any tier gives its own promise, sorted."""
        found: set[str] = set()
        for tier in self.tiers.values():
            found |= tier.grades()
        return sorted(found)

    def tier(self, name: str) -> Tier:
        """Return the tier called ``name`` or raise a :class:`ConfigError` naming the choices."""
        try:
            return self.tiers[name]
        except KeyError:
            msg = (
                f"{self.source}: tier '{name}' is not defined in the scenario; "
                f"defined tiers: {', '.join(self.tiers)}"
            )
            raise ConfigError(msg) from None

    def tier_label(self, name: str, lang: str = "en") -> str:
        """Return the display label of tier ``name`` in ``lang``, or the name if unknown."""
        tier = self.tiers.get(name)
        return tier.display(lang) if tier is not None else name

    def with_tiers(self, **changes: Mapping[str, Any]) -> Scenario:
        """Return a copy with some tiers' fields replaced.

        Example: ``scenario.with_tiers(city_station={"radius_km": 40})``.
        """
        tiers = dict(self.tiers)
        for name, fields in changes.items():
            tiers[name] = replace(self.tier(name), **fields)
        return replace(self, tiers=tiers)


# --------------------------------------------------------------------------- parsing


_SCENARIO_KEYS = {"name", "distance_model", "detour_factor", "speed_kmh", "matrix_unit"}
_TIER_KEYS = {
    "label",
    "label_zh",
    "radius_km",
    "response_hours",
    "speed_kmh",
    "detour_factor",
    "fixed_cost",
    "capacity",
    "parent",
    "support_radius_km",
    "grade_radius_km",
    "grade_response_hours",
    "optional",
}
_TOP_KEYS = {"scenario", "tiers", "demand", "scoring", "solver", "plan", "inputs"}
_DEMAND_KEYS = {"service_rates", "default_rate", "age_bands", "reference_year"}
_SCORING_KEYS = {"weights", "attributes"}
_SOLVER_KEYS = {"name", "time_limit", "gap", "threads", "seed"}
_SOLVERS = ("highs", "cbc")


class _Reader:
    """Typed access to a TOML table that reports errors by dotted key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: `{key}`: {message}")

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else key
                choices = ", ".join(sorted(allowed))
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                raise self.fail(where, f"unknown key{hint}; expected one of: {choices}")

    def table(self, data: Mapping[str, Any], key: str, prefix: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(_join(prefix, key), f"must be a table, got {type(value).__name__}")
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        prefix: str,
        default: float | None = None,
        *,
        positive: bool = False,
        non_negative: bool = False,
    ) -> float | None:
        if key not in data:
            return default
        value = data[key]
        where = _join(prefix, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value) and not (key.endswith("capacity") and value == math.inf):
            raise self.fail(where, f"must be finite, got {value!r}")
        if positive and value <= 0:
            raise self.fail(where, f"must be greater than 0, got {value:g}")
        if non_negative and value < 0:
            raise self.fail(where, f"must be 0 or more, got {value:g}")
        return value

    def string(
        self, data: Mapping[str, Any], key: str, prefix: str, default: str | None = None
    ) -> str | None:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(prefix, key), f"must be a non-empty string, got {value!r}")
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, prefix: str, choices: tuple[str, ...], default: str
    ) -> str:
        value = self.string(data, key, prefix, default)
        assert value is not None
        if value not in choices:
            raise self.fail(
                _join(prefix, key), f"must be one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def number_map(
        self, data: Mapping[str, Any], key: str, prefix: str, *, positive: bool = True
    ) -> dict[str, float]:
        table = self.table(data, key, prefix)
        out: dict[str, float] = {}
        for name in table:
            value = self.number(table, name, _join(prefix, key), positive=positive)
            assert value is not None
            out[str(name)] = value
        return out


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _parse_tier(reader: _Reader, name: str, data: Any, travel: Mapping[str, float]) -> Tier:
    prefix = f"tiers.{name}"
    if not isinstance(data, Mapping):
        raise reader.fail(prefix, "must be a table of tier settings")
    reader.check_keys(data, _TIER_KEYS, prefix)
    radius = reader.number(data, "radius_km", prefix, positive=True)
    hours = reader.number(data, "response_hours", prefix, positive=True)
    if radius is None and hours is None:
        raise reader.fail(prefix, "give the promise as `radius_km` or as `response_hours`")
    if radius is not None and hours is not None:
        raise reader.fail(prefix, "give either `radius_km` or `response_hours`, not both")
    speed = reader.number(data, "speed_kmh", prefix, travel["speed_kmh"], positive=True)
    detour = reader.number(data, "detour_factor", prefix, travel["detour_factor"], positive=True)
    assert speed is not None and detour is not None
    if detour < 1.0:
        raise reader.fail(_join(prefix, "detour_factor"), f"must be 1 or more, got {detour:g}")
    optional = data.get("optional", False)
    if not isinstance(optional, bool):
        raise reader.fail(_join(prefix, "optional"), f"must be true or false, got {optional!r}")
    parent = reader.string(data, "parent", prefix)
    support = reader.number(data, "support_radius_km", prefix, positive=True)
    if support is not None and parent is None:
        raise reader.fail(
            _join(prefix, "support_radius_km"), "needs `parent` (the supporting tier)"
        )
    fixed_cost = reader.number(data, "fixed_cost", prefix, 0.0, non_negative=True)
    assert fixed_cost is not None
    label = reader.string(data, "label", prefix, name.replace("_", " ").capitalize())
    assert label is not None
    return Tier(
        name=name,
        label=label,
        label_zh=reader.string(data, "label_zh", prefix, label) or label,
        radius_km=radius,
        response_hours=hours,
        speed_kmh=speed,
        detour_factor=detour,
        fixed_cost=fixed_cost,
        capacity=reader.number(data, "capacity", prefix, positive=True),
        parent=parent,
        support_radius_km=support,
        grade_radius_km=reader.number_map(data, "grade_radius_km", prefix),
        grade_response_hours=reader.number_map(data, "grade_response_hours", prefix),
        optional=optional,
    )


def _check_chain(reader: _Reader, tiers: Mapping[str, Tier]) -> None:
    for tier in tiers.values():
        if tier.parent is None:
            continue
        where = f"tiers.{tier.name}.parent"
        if tier.parent not in tiers:
            raise reader.fail(
                where,
                f"names tier '{tier.parent}', which is not defined; defined: {', '.join(tiers)}",
            )
        seen = {tier.name}
        current: Tier | None = tier
        while current is not None and current.parent is not None:
            if current.parent in seen:
                raise reader.fail(where, f"the support chain loops back to '{current.parent}'")
            seen.add(current.parent)
            current = tiers.get(current.parent)


def _parse_demand(reader: _Reader, data: Mapping[str, Any]) -> DemandRates:
    reader.check_keys(data, _DEMAND_KEYS, "demand")
    rates = reader.number_map(data, "service_rates", "demand", positive=False)
    for product, rate in rates.items():
        if rate < 0:
            raise reader.fail(f"demand.service_rates.{product}", f"must be 0 or more, got {rate:g}")
    bands_raw = reader.table(data, "age_bands", "demand")
    labelled: list[tuple[float, float, float, str]] = []
    for label, factor in bands_raw.items():
        where = f"demand.age_bands.{label}"
        limits = _band_limits(str(label))
        if limits is None:
            raise reader.fail(where, 'band names look like "0-2", "3-5" or "6+" (years)')
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 0:
            raise reader.fail(where, f"must be a number 0 or more, got {factor!r}")
        labelled.append((limits[1], limits[0], float(factor), str(label)))
    labelled.sort()
    expected_lower = 0.0
    for upper, lower, _, label in labelled:
        if lower != expected_lower:
            raise reader.fail(
                f"demand.age_bands.{label}",
                f"bands must run on from 0 without gaps or overlaps; expected a band starting "
                f"at {expected_lower:g} years",
            )
        expected_lower = upper + 1
    bands = [(upper, factor) for upper, _, factor, _ in labelled]
    reference_year = data.get("reference_year", 2026)
    if isinstance(reference_year, bool) or not isinstance(reference_year, int):
        raise reader.fail("demand.reference_year", f"must be a year, got {reference_year!r}")
    default_rate = reader.number(data, "default_rate", "demand", 1.0, non_negative=True)
    assert default_rate is not None
    return DemandRates(
        service_rates=rates,
        default_rate=default_rate,
        age_bands=tuple(bands),
        reference_year=reference_year,
    )


def _band_limits(label: str) -> tuple[float, float] | None:
    """Return the inclusive bounds of an age band label ("3-5" → (3, 5), "6+" → (6, inf))."""
    text = label.strip().replace(" ", "")
    if text.endswith("+") and text[:-1].isdigit():
        return float(text[:-1]), math.inf
    parts = text.split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) <= int(parts[1]):
        return float(parts[0]), float(parts[1])
    return None


def _parse_scoring(reader: _Reader, data: Mapping[str, Any]) -> ScoringOptions:
    reader.check_keys(data, _SCORING_KEYS, "scoring")
    defaults = ScoringOptions()
    weights = dict(defaults.weights)
    for key, value in reader.number_map(data, "weights", "scoring", positive=False).items():
        if key not in weights:
            raise reader.fail(
                f"scoring.weights.{key}",
                f"unknown factor; factors: {', '.join(weights)} "
                "(attribute columns go under [scoring.attributes])",
            )
        if value < 0:
            raise reader.fail(f"scoring.weights.{key}", f"must be 0 or more, got {value:g}")
        weights[key] = value
    attributes = []
    for column, spec in reader.table(data, "attributes", "scoring").items():
        prefix = f"scoring.attributes.{column}"
        if not isinstance(spec, Mapping):
            raise reader.fail(
                prefix, 'must be a table like { weight = 0.1, direction = "benefit" }'
            )
        reader.check_keys(spec, {"weight", "direction"}, prefix)
        weight = reader.number(spec, "weight", prefix, 1.0, non_negative=True)
        assert weight is not None
        direction = reader.choice(spec, "direction", prefix, ("benefit", "cost"), "benefit")
        attributes.append(ScoringAttribute(column=str(column), weight=weight, direction=direction))
    return ScoringOptions(weights=weights, attributes=tuple(attributes))


def _parse_solver(reader: _Reader, data: Mapping[str, Any]) -> SolverOptions:
    reader.check_keys(data, _SOLVER_KEYS, "solver")
    defaults = SolverOptions()
    threads = reader.number(data, "threads", "solver", positive=True)
    seed = data.get("seed", defaults.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise reader.fail("solver.seed", f"must be an integer, got {seed!r}")
    gap = reader.number(data, "gap", "solver", defaults.gap, non_negative=True)
    assert gap is not None
    return SolverOptions(
        name=reader.choice(data, "name", "solver", _SOLVERS, defaults.name),
        time_limit=reader.number(data, "time_limit", "solver", defaults.time_limit, positive=True),
        gap=gap,
        threads=int(threads) if threads is not None else None,
        seed=seed,
    )


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> Scenario:
    """Build and validate a :class:`Scenario` from parsed TOML.

    Parameters
    ----------
    data
        The scenario as nested mappings (what :func:`tomllib.loads` returns).
    source
        Name used in error messages (the file name).

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ConfigError
        On the first invalid key, naming it.
    """
    reader = _Reader(source)
    reader.check_keys(data, _TOP_KEYS, "")
    head = reader.table(data, "scenario", "")
    reader.check_keys(head, _SCENARIO_KEYS, "scenario")
    tiers_raw = reader.table(data, "tiers", "")
    if not tiers_raw:
        raise reader.fail("tiers", "define at least one tier, e.g. [tiers.city_station]")
    # Scenario-wide travel settings are checked first: tiers take them as defaults.
    detour = reader.number(head, "detour_factor", "scenario", 1.3, positive=True)
    speed = reader.number(head, "speed_kmh", "scenario", 60.0, positive=True)
    assert detour is not None and speed is not None
    if detour < 1.0:
        raise reader.fail("scenario.detour_factor", f"must be 1 or more, got {detour:g}")
    travel = {"speed_kmh": speed, "detour_factor": detour}
    tiers = {
        str(name): _parse_tier(reader, str(name), spec, travel) for name, spec in tiers_raw.items()
    }
    _check_chain(reader, tiers)
    plan = reader.table(data, "plan", "")
    return Scenario(
        name=reader.string(head, "name", "scenario", Path(source).stem) or "scenario",
        tiers=tiers,
        distance_model=reader.choice(
            head, "distance_model", "scenario", DISTANCE_MODELS, "great_circle"
        ),
        detour_factor=detour,
        speed_kmh=speed,
        matrix_unit=reader.choice(head, "matrix_unit", "scenario", ("km", "minutes"), "km"),
        demand=_parse_demand(reader, reader.table(data, "demand", "")),
        scoring=_parse_scoring(reader, reader.table(data, "scoring", "")),
        solver=_parse_solver(reader, reader.table(data, "solver", "")),
        plan=dict(plan),
        source=source,
        inputs=parse_inputs(data.get("inputs", {}), source=source),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Parameters
    ----------
    path
        The ``scenario.toml`` file.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or has an invalid key.

    Examples
    --------
    >>> from netplan.config import load_scenario
    >>> scenario = load_scenario("data/samples/national/scenario.toml")  # doctest: +SKIP
    >>> scenario.tiers["city_station"].reach_km("A")  # doctest: +SKIP
    30.0
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        msg = f"{path}: scenario file not found; pass an existing TOML file or omit --config"
        raise ConfigError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read scenario file ({exc}); save it as UTF-8 TOML"
        raise ConfigError(msg) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML: {exc}"
        raise ConfigError(msg) from None
    return scenario_from_dict(data, source=str(path))


def default_scenario() -> Scenario:
    """Return the built-in scenario (:data:`DEFAULT_SCENARIO_TOML`).

    Three tiers, ``regional_hub`` (300 km), ``city_station`` (50 km; 30/50/80 km
    in grades A/B/C; supported by a hub within 500 km) and ``community_point``
    (10 km; supported by a station within 60 km), plus the optional tier
    ``partner`` (40 km).
    """
    return scenario_from_dict(tomllib.loads(DEFAULT_SCENARIO_TOML), source="<default>")
