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
change the promise through ``grade_radius_km`` / ``grade_response_hours``. They
may also be given by place in the scenario's ``[grades]`` table
(:class:`RegionGrades`: ``by_city``, ``by_province``, ``default``), applied to
demand points as they are read (a grade in the file wins).
"""

from __future__ import annotations

import difflib
import math
import re
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
    "PLAN_KEYS",
    "PLAN_MODELS",
    "SITE_STATUSES",
    "DemandRates",
    "PlanOptions",
    "RegionGrades",
    "RoadmapSettings",
    "Scenario",
    "ScoringAttribute",
    "ScoringOptions",
    "SolverOptions",
    "Tier",
    "default_scenario",
    "load_scenario",
    "parse_aggregate",
    "parse_plan",
    "scenario_from_dict",
]

#: Distance models understood by the reach engine.
DISTANCE_MODELS = ("great_circle", "road_estimate", "matrix")
#: Status values a site may carry.
SITE_STATUSES = ("existing", "candidate", "required", "closed", "competitor")
#: On-site promise (hours) of a tier that states none: the brief's "engineer on site within 48 h".
DEFAULT_RESPONSE_HOURS = 48.0
#: Mean Earth radius (IUGG), km: the sphere every great-circle distance uses.
EARTH_RADIUS_KM = 6371.0088

#: The built-in scenario, as a planner would write it.
DEFAULT_SCENARIO_TOML = """\
[scenario]
name = "default"
distance_model = "great_circle"   # great_circle | road_estimate | matrix
detour_factor = 1.3               # road km per great-circle km (road_estimate, response times)
speed_kmh = 60                    # travel speed for response-time promises
currency = "CNY"                  # ISO 4217 code of every cost (reports: 万元/百万元 in Chinese)

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
    hours_per_call
        Engineer hours one service call takes at the outlet or on site (travel not included).
    engineer_hours_per_year
        Working hours of one engineer in a year.
    onsite_share
        Share of calls served on site (the engineer travels there and back).
    revenue_per_call
        Revenue of one call, for output per engineer; ``None`` when not known.
    dispatch_hours
        Delay from the call to the engineer leaving, in the response-time estimate.
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
    hours_per_call: float = 2.0
    engineer_hours_per_year: float = 1760.0
    onsite_share: float = 0.5
    revenue_per_call: float | None = None
    dispatch_hours: float = 0.0

    def response_promise_hours(self, grade: str | None = None) -> float:
        """Return the on-site promise (hours) for a point of ``grade`` served by this tier.

        ``grade_response_hours`` for the grade, else ``response_hours``, else
        :data:`DEFAULT_RESPONSE_HOURS` (the brief's "engineer on site within 48 h").
        """
        if grade is not None and grade in self.grade_response_hours:
            return self.grade_response_hours[grade]
        if self.response_hours is not None:
            return self.response_hours
        return DEFAULT_RESPONSE_HOURS

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
class RegionGrades:
    """Region grades by place: the scenario's ``[grades]`` table.

    Service standards often grade whole cities or provinces (A: core markets
    with the tightest promise, ...). A demand point's grade is, in order: the
    ``grade`` in its own file when it has one (row-level data wins), else its
    city's entry in ``by_city``, else its province's in ``by_province``, else
    ``default``, else none (the tier's default promise). The point's city and
    province come from the built-in boundaries (:func:`netplan.regions.tag_points`),
    so the names are the official Chinese ones (``深圳市``, ``广东省``); a name
    the boundaries do not know is an error naming the key, with the closest
    official name.

    Example::

        [grades]
        by_city = { "深圳市" = "A", "广州市" = "A" }
        by_province = { "广东省" = "B" }
        default = "C"

    Attributes
    ----------
    by_city, by_province
        Grade by official city / province name.
    default
        Grade of points matched by neither, or ``None``.
    """

    by_city: Mapping[str, str] = field(default_factory=dict)
    by_province: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    @property
    def active(self) -> bool:
        """Return whether the table grades anything."""
        return bool(self.by_city or self.by_province or self.default is not None)


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
class RoadmapSettings:
    """The scenario's ``[roadmap]`` table: how a multi-year roll-out values the years.

    Attributes
    ----------
    discount
        Yearly discount rate of covered demand (and of cost): year ``t`` counts
        ``1 / (1 + discount) ** (t - 1)``.
    demand_growth
        Yearly growth of demand weight: one rate for all demand, or rates by
        product (the demand's ``product`` column; products not listed do not grow).
    """

    discount: float = 0.0
    demand_growth: float | Mapping[str, float] = 0.0


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
        The ``[plan]`` table as written (budget, coverage target, ...);
        :attr:`plan_options` is it parsed and checked.
    roadmap
        Discount and demand growth of multi-year roll-outs (``[roadmap]``).
    region_grades
        Region grades by city and province (``[grades]``, :class:`RegionGrades`).
    inputs
        The ``[inputs.customers]``/``[inputs.installed_base]``/``[inputs.sites]``
        sections: which column holds what, CRS and layer of each kind of file
        (see :mod:`netplan.inputs`).
    source
        File the scenario was read from, or ``"<default>"``.
    currency
        ISO 4217 code of the costs (fixed costs, budget), ``"CNY"`` by default;
        reports show it with the amounts.
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
    roadmap: RoadmapSettings = field(default_factory=RoadmapSettings)
    inputs: Mapping[str, InputSpec] = field(default_factory=dict)
    currency: str = "CNY"
    region_grades: RegionGrades = field(default_factory=RegionGrades)

    @property
    def plan_options(self) -> PlanOptions:
        """Return the ``[plan]`` table parsed and checked (:func:`parse_plan`)."""
        return parse_plan(self.plan, self.tiers, source=self.source)

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


_SCENARIO_KEYS = {
    "name",
    "distance_model",
    "detour_factor",
    "speed_kmh",
    "matrix_unit",
    "currency",
}
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
    "hours_per_call",
    "engineer_hours_per_year",
    "onsite_share",
    "revenue_per_call",
    "dispatch_hours",
}
_TOP_KEYS = {
    "scenario",
    "tiers",
    "demand",
    "scoring",
    "solver",
    "plan",
    "roadmap",
    "inputs",
    "grades",
}
_GRADES_KEYS = {"by_city", "by_province", "default"}
_ROADMAP_KEYS = {"discount", "demand_growth"}
_DEMAND_KEYS = {"service_rates", "default_rate", "age_bands", "reference_year"}
_SCORING_KEYS = {"weights", "attributes"}
_SOLVER_KEYS = {"name", "time_limit", "gap", "threads", "seed"}
_SOLVERS = ("highs", "cbc", "scip", "cpsat")  # scip, cpsat: optional extras
#: Years ``[demand] reference_year`` may take.
YEAR_RANGE = (1900, 2200)
#: Largest cost or rate a scenario may give (as for weights: sums stay exact).
MAX_AMOUNT = 1e15


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
        if math.isfinite(value) and abs(value) >= MAX_AMOUNT:
            raise self.fail(where, f"is too large ({value:g}; the limit is {MAX_AMOUNT:g})")
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
    # Both given: the radius is the reach; `response_hours` is the on-site promise the
    # response-time KPI checks (see Tier.response_promise_hours).
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
        **_service_keys(reader, data, prefix),
    )


def _service_keys(reader: _Reader, data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Return the tier's staffing keys that are given, checked (defaults stay on :class:`Tier`)."""
    values: dict[str, Any] = {}
    for key in ("hours_per_call", "engineer_hours_per_year"):
        value = reader.number(data, key, prefix, positive=True)
        if value is not None:
            values[key] = value
    for key in ("revenue_per_call", "dispatch_hours"):
        value = reader.number(data, key, prefix, non_negative=True)
        if value is not None:
            values[key] = value
    share = reader.number(data, "onsite_share", prefix, non_negative=True)
    if share is not None:
        if share > 1:
            raise reader.fail(
                _join(prefix, "onsite_share"), f"must be a share in [0, 1], got {share:g}"
            )
        values["onsite_share"] = share
    return values


def _parse_roadmap(reader: _Reader, data: Mapping[str, Any]) -> RoadmapSettings:
    reader.check_keys(data, _ROADMAP_KEYS, "roadmap")
    discount = reader.number(data, "discount", "roadmap", 0.0, non_negative=True)
    assert discount is not None
    if discount >= 1:
        raise reader.fail("roadmap.discount", f"must be a yearly rate below 1, got {discount:g}")
    growth: float | dict[str, float] = 0.0
    raw = data.get("demand_growth", 0.0)
    if isinstance(raw, Mapping):
        growth = reader.number_map(data, "demand_growth", "roadmap", positive=False)
        rates = list(growth.items())
    else:
        value = reader.number(data, "demand_growth", "roadmap", 0.0)
        assert value is not None
        growth = value
        rates = [("", value)]
    for product, rate in rates:
        if rate <= -1:
            where = _join("roadmap.demand_growth", product) if product else "roadmap.demand_growth"
            raise reader.fail(where, f"must be a yearly rate above -1, got {rate:g}")
    return RoadmapSettings(discount=discount, demand_growth=growth)


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


def _parse_region_grades(
    reader: _Reader, data: Mapping[str, Any], tiers: Mapping[str, Tier]
) -> RegionGrades:
    """Parse ``[grades]``: every grade a string; one a tier promises when tiers grade at all."""
    reader.check_keys(data, _GRADES_KEYS, "grades")
    known: set[str] = set()
    for tier in tiers.values():
        known |= tier.grades()

    def grade(where: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise reader.fail(where, f'must be a grade such as "A", got {value!r}')
        if known and value not in known:
            raise reader.fail(
                where,
                f"grade {value!r} has no promise in any tier; "
                f"grades the tiers define: {', '.join(sorted(known))}",
            )
        return value

    tables: dict[str, dict[str, str]] = {}
    for key in ("by_city", "by_province"):
        table = reader.table(data, key, "grades")
        tables[key] = {}
        for name, value in table.items():
            where = f"grades.{key}.{name}"
            if not str(name).strip():
                raise reader.fail(where, "a place name must not be empty")
            tables[key][str(name)] = grade(where, value)
    default = grade("grades.default", data["default"]) if "default" in data else None
    return RegionGrades(
        by_city=tables["by_city"], by_province=tables["by_province"], default=default
    )


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
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not math.isfinite(factor)
            or factor < 0
        ):
            raise reader.fail(where, f"must be a finite number 0 or more, got {factor!r}")
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
    if not YEAR_RANGE[0] <= reference_year <= YEAR_RANGE[1]:
        raise reader.fail(
            "demand.reference_year",
            f"must be a year from {YEAR_RANGE[0]} to {YEAR_RANGE[1]}, got {reference_year}",
        )
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
    if threads is not None and not threads.is_integer():
        raise reader.fail("solver.threads", f"must be a whole number, got {threads:g}")
    seed = data.get("seed", defaults.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise reader.fail("solver.seed", f"must be an integer, got {seed!r}")
    if not 0 <= seed < 2**31:
        raise reader.fail("solver.seed", f"must be from 0 to {2**31 - 1}, got {seed}")
    gap = reader.number(data, "gap", "solver", defaults.gap, non_negative=True)
    assert gap is not None
    if gap >= 1:
        raise reader.fail("solver.gap", f"must be from 0 to below 1 (0.01 = 1%), got {gap:g}")
    return SolverOptions(
        name=reader.choice(data, "name", "solver", _SOLVERS, defaults.name),
        time_limit=reader.number(data, "time_limit", "solver", defaults.time_limit, positive=True),
        gap=gap,
        threads=int(threads) if threads is not None else None,
        seed=seed,
    )


# --------------------------------------------------------------------------- the [plan] table

#: Models site selection runs (``plan.model``).
PLAN_MODELS = ("tiered", "set-cover", "max-cover", "p-median", "capacitated")
#: Keys the scenario's ``[plan]`` table may hold.
PLAN_KEYS = (
    "model",
    "objective",
    "coverage_target",
    "budget",
    "p",
    "tier_counts",
    "allow_close",
    "closing_cost",
    "capacitated",
    "single_source",
    "grade_min_tier",
    "support_chain",
    "max_distance_km",
    "cost_per_km",
    "aggregate",
)


@dataclass(frozen=True)
class PlanOptions:
    """The optimisation options of a run: the ``[plan]`` table, parsed.

    See :mod:`netplan.locate.plan` for what each key means.
    """

    model: str = "tiered"
    objective: str | None = None
    coverage_target: float | None = None
    budget: float | None = None
    p: int | None = None
    tier_counts: Mapping[str, int] = field(default_factory=dict)
    allow_close: bool = False
    closing_cost: float = 0.0
    capacitated: bool = False
    single_source: bool = False
    grade_min_tier: Mapping[str, str] = field(default_factory=dict)
    support_chain: bool = True
    max_distance_km: float | None = None
    cost_per_km: float = 1.0
    aggregate: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the options as plain data (for ``summary.json``)."""
        return {
            "model": self.model,
            "objective": self.objective,
            "coverage_target": self.coverage_target,
            "budget": self.budget,
            "p": self.p,
            "tier_counts": dict(sorted(self.tier_counts.items())),
            "allow_close": self.allow_close,
            "closing_cost": self.closing_cost,
            "capacitated": self.capacitated,
            "single_source": self.single_source,
            "grade_min_tier": dict(sorted(self.grade_min_tier.items())),
            "support_chain": self.support_chain,
            "max_distance_km": self.max_distance_km,
            "cost_per_km": self.cost_per_km,
            "aggregate": None if self.aggregate is None else f"h3:{self.aggregate}",
        }

    def with_limit(self, *, budget: float | None, coverage_target: float | None) -> PlanOptions:
        """Return the options with the objective that one limit given alone asks for.

        A planner who names only a coverage target asks "what does this target
        cost?": the tiered model minimises cost and the scenario's budget does
        not cap it. One who names only a budget asks "what does this buy?": the
        model maximises coverage. Given both or neither, the options stand.
        ``netplan optimize`` applies this when ``--objective`` is not given.

        Parameters
        ----------
        budget, coverage_target
            The limits the planner gave for this run (not the scenario's).

        Examples
        --------
        >>> PlanOptions(budget=9.0).with_limit(budget=None, coverage_target=0.9).objective
        'min_cost'
        >>> PlanOptions().with_limit(budget=5.0, coverage_target=None).objective
        'max_coverage'
        """
        if self.model != "tiered":
            return self
        if coverage_target is not None and budget is None:
            return replace(self, objective="min_cost", budget=None)
        if budget is not None and coverage_target is None:
            return replace(self, objective="max_coverage")
        return self


def _plan_fail(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: `plan.{key}`: {message}")


def parse_aggregate(value: Any, *, where: str = "--aggregate") -> int | None:
    """Return the H3 resolution of ``"h3:7"`` (or ``7``); ``None`` for ``None``/``"none"``."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "off")):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        resolution = value
    else:
        match = re.fullmatch(r"\s*h3:(\d{1,2})\s*", str(value))
        if match is None:
            msg = f"{where}: expected h3:RESOLUTION such as h3:7, got {value!r}"
            raise ConfigError(msg)
        resolution = int(match.group(1))
    if not 0 <= resolution <= 15:
        msg = f"{where}: the H3 resolution must be 0 to 15, got {resolution}"
        raise ConfigError(msg)
    return resolution


def parse_plan(
    table: Mapping[str, Any], tiers: Mapping[str, Any], *, source: str = "<dict>"
) -> PlanOptions:
    """Return the ``[plan]`` table as :class:`PlanOptions`, every key checked.

    Parameters
    ----------
    table
        The ``[plan]`` table.
    tiers
        The scenario's tiers (``tier_counts`` and ``grade_min_tier`` name them).
    source
        The scenario file, for messages.

    Raises
    ------
    ConfigError
        Naming the key (``plan.budget``) of an unknown key or a bad value.

    Examples
    --------
    >>> parse_plan({"budget": 5e6, "aggregate": "h3:7"}, {}).aggregate
    7
    """
    table = dict(table)
    for key in table:
        if key not in PLAN_KEYS:
            raise _plan_fail(
                source, key, f"unknown key; expected one of: {', '.join(sorted(PLAN_KEYS))}"
            )
    values: dict[str, Any] = {}
    for key, allowed in (("model", PLAN_MODELS), ("objective", ("min_cost", "max_coverage"))):
        if key in table:
            if table[key] not in allowed:
                expected = " or ".join(allowed) if len(allowed) == 2 else ", ".join(allowed)
                word = "" if len(allowed) == 2 else "one of "
                raise _plan_fail(source, key, f"must be {word}{expected}, got {table[key]!r}")
            values[key] = table[key]
    values.update(_plan_numbers(table, source))
    for key in ("allow_close", "capacitated", "single_source", "support_chain"):
        if key in table:
            if not isinstance(table[key], bool):
                raise _plan_fail(source, key, f"must be true or false, got {table[key]!r}")
            values[key] = table[key]
    values.update(_plan_tier_tables(table, tiers, source))
    if "aggregate" in table:
        values["aggregate"] = parse_aggregate(
            table["aggregate"], where=f"{source}: `plan.aggregate`"
        )
    return PlanOptions(**values)


#: Numeric ``[plan]`` keys and their rule: (share in (0, 1], whole number, > 0).
_PLAN_NUMBERS = {
    "coverage_target": (True, False, False),
    "budget": (False, False, False),
    "p": (False, True, False),
    "closing_cost": (False, False, False),
    "max_distance_km": (False, False, True),
    "cost_per_km": (False, False, False),
}


def _plan_numbers(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Return the numeric ``[plan]`` keys checked (every one is 0 or more)."""
    values: dict[str, Any] = {}
    for key, (share, integer, positive) in _PLAN_NUMBERS.items():
        if key not in table:
            continue
        value = table[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise _plan_fail(source, key, f"must be a number, got {value!r}")
        if integer and (not float(value).is_integer() or value < 0):
            raise _plan_fail(source, key, f"must be a whole number 0 or more, got {value!r}")
        if positive and value <= 0:
            raise _plan_fail(source, key, f"must be greater than 0, got {value:g}")
        if share and not 0 < value <= 1:
            raise _plan_fail(source, key, f"must be a share in (0, 1], e.g. 0.95, got {value:g}")
        if value < 0:
            got = f", got {value:g}" if key == "budget" else ""
            raise _plan_fail(source, key, f"must be 0 or more{got}")
        values[key] = int(value) if integer else float(value)
    return values


def _plan_tier_tables(
    table: Mapping[str, Any], tiers: Mapping[str, Any], source: str
) -> dict[str, Any]:
    """Return ``tier_counts`` and ``grade_min_tier`` checked against the scenario's tiers."""
    values: dict[str, Any] = {}
    if "tier_counts" in table:
        counts = table["tier_counts"]
        if not isinstance(counts, Mapping):
            raise _plan_fail(source, "tier_counts", "must be a table like { city_station = 10 }")
        parsed: dict[str, int] = {}
        for tier_name, count in counts.items():
            where = f"tier_counts.{tier_name}"
            if tier_name not in tiers:
                raise _plan_fail(source, where, f"unknown tier; defined: {', '.join(tiers)}")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise _plan_fail(source, where, f"must be a whole number 0 or more, got {count!r}")
            parsed[str(tier_name)] = int(count)
        values["tier_counts"] = parsed
    if "grade_min_tier" in table:
        grades = table["grade_min_tier"]
        if not isinstance(grades, Mapping):
            message = 'must be a table like { A = "city_station" }'
            raise _plan_fail(source, "grade_min_tier", message)
        parsed_grades: dict[str, str] = {}
        for grade, tier_name in grades.items():
            if tier_name not in tiers:
                raise _plan_fail(
                    source,
                    f"grade_min_tier.{grade}",
                    f"unknown tier {tier_name!r}; defined: {', '.join(tiers)}",
                )
            parsed_grades[str(grade)] = str(tier_name)
        values["grade_min_tier"] = parsed_grades
    return values


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
    parse_plan(plan, tiers, source=source)  # a typo in [plan] fails here, like every section
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
        roadmap=_parse_roadmap(reader, reader.table(data, "roadmap", "")),
        inputs=parse_inputs(data.get("inputs", {}), source=source),
        currency=_parse_currency(reader, head),
        region_grades=_parse_region_grades(reader, reader.table(data, "grades", ""), tiers),
    )


def _parse_currency(reader: _Reader, head: Mapping[str, Any]) -> str:
    """Return ``[scenario] currency``: a three-letter ISO 4217 code such as ``CNY``."""
    value = reader.string(head, "currency", "scenario", "CNY")
    assert value is not None
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        msg = f'must be a three-letter ISO 4217 code such as "CNY", got {value!r}'
        raise reader.fail("scenario.currency", msg)
    return code


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
    if path.exists() and not path.is_file():  # a folder, pipe or device: never read it
        msg = f"{path}: the scenario must be a regular TOML file, not a folder, pipe or device"
        raise ConfigError(msg)
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
