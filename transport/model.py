"""The data model: frozen dataclasses that every pipeline stage takes and returns.

Stages (load → validate → place → route → price → report) import this module and earlier
stages only. Nothing here does input/output or optimisation.

Units inside the model are the user's units: miles, minutes, pounds. Integer units for the
solvers (metres, seconds, pence) are produced in :mod:`transport.units` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from transport.errors import ParameterError

NEED_CODES: tuple[str, ...] = (
    "ASD",
    "SEMH",
    "SLCN",
    "MLD",
    "SLD",
    "PMLD",
    "PD",
    "HI",
    "VI",
    "MSI",
    "SpLD",
    "OTH",
)
"""Primary need codes of the contract (DfE SEN2 categories)."""

SCHOOL_KINDS: tuple[str, ...] = ("special", "resourced", "mainstream", "independent")
ANY_NEED = "*"
DEFAULT_FINISH_AT = 15 * 60 + 15
"""The end of the school day when schools.csv gives no ``finish_at`` (contract: 15:15)."""
AFTERNOON_GAP_MIN = 5
"""The afternoon run leaves the school this many minutes after ``finish_at`` (contract)."""


def format_hhmm(minutes: float) -> str:
    """Format minutes after midnight as ``HH:MM`` (rounded down to the minute)."""
    total = int(minutes // 1)
    return f"{total // 60:02d}:{total % 60:02d}"


@dataclass(frozen=True, slots=True)
class School:
    """A school or specialist provision that can take pupils.

    ``needs`` holds need codes, or ``{"*"}`` for a school that serves any need.
    ``arrive_by`` (latest morning arrival) and ``finish_at`` (end of the school day, default
    15:15) are minutes after midnight.
    """

    school_id: str
    name: str
    lat: float
    lon: float
    district: str
    kind: str
    age_min: int
    age_max: int
    needs: frozenset[str]
    capacity: int
    place_cost: float
    arrive_by: int
    finish_at: int = DEFAULT_FINISH_AT

    def serves(self, need: str, age: int) -> bool:
        """Whether the school is suitable for a pupil of this need and age."""
        return (
            ANY_NEED in self.needs or need in self.needs
        ) and self.age_min <= age <= self.age_max


@dataclass(frozen=True, slots=True)
class Pupil:
    """A pupil entitled to transport; ``pupil_id`` is pseudonymous, never a name."""

    pupil_id: str
    lat: float
    lon: float
    district: str
    age: int
    need: str
    school_id: str | None
    wheelchair: bool
    needs_pa: bool
    solo: bool
    max_ride_min: int | None
    stop_id: str | None = None
    """A shared pickup point (siblings, a collection point): pupils with the same ``stop_id``
    board one vehicle at one visit. ``None``: picked up at their own door."""

    @property
    def travel_id(self) -> str:
        """The id of the pupil's pickup point in a travel matrix: the stop, else the pupil."""
        return self.stop_id if self.stop_id is not None else self.pupil_id


@dataclass(frozen=True, slots=True)
class VehicleType:
    """A vehicle type that can be contracted; ``available`` of ``None`` means no limit."""

    vehicle_type: str
    seats: int
    wheelchair_spaces: int
    day_rate: float
    per_mile: float
    available: int | None


@dataclass(frozen=True)
class Dataset:
    """A validated data folder: schools, pupils, vehicle types and incompatible pairs."""

    schools: tuple[School, ...]
    pupils: tuple[Pupil, ...]
    vehicles: tuple[VehicleType, ...]
    incompatible: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @cached_property
    def school_by_id(self) -> dict[str, School]:
        return {s.school_id: s for s in self.schools}

    @cached_property
    def pupil_by_id(self) -> dict[str, Pupil]:
        return {p.pupil_id: p for p in self.pupils}


# --------------------------------------------------------------------------------------------
# Parameters


def _bounded(name: str, value: Any, low: float, high: float) -> None:
    """A parameter must be a finite number within ``[low, high]`` (docs/formats.md)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ParameterError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


@dataclass(frozen=True)
class TravelParams:
    """The default crow-fly travel model of the contract."""

    circuity: float = 1.3
    speed_mph: float = 25.0
    dwell_min: float = 2.0
    dwell_per_pupil_min: float = 0.0
    """Minutes added to a pickup's dwell for each pupil boarding there (default 0: a visit's
    dwell is ``dwell_min`` whoever boards)."""

    def __post_init__(self) -> None:
        _bounded("circuity", self.circuity, 1.0, 3.0)
        _bounded("speed_mph", self.speed_mph, 1.0, 80.0)
        _bounded("dwell_min", self.dwell_min, 0.0, 30.0)
        _bounded("dwell_per_pupil_min", self.dwell_per_pupil_min, 0.0, 5.0)

    def dwell_of_visit(self, boarding: int) -> float:
        """Minutes a pickup visit adds to the ride of every pupil already aboard."""
        return self.dwell_min + self.dwell_per_pupil_min * boarding


@dataclass(frozen=True)
class RideParams:
    """Ride-time limits: age defaults and the slack over a pupil's direct time."""

    primary_limit_min: int = 45
    secondary_limit_min: int = 75
    primary_max_age: int = 10
    direct_slack_min: float = 15.0

    def __post_init__(self) -> None:
        _bounded("primary_limit_min", self.primary_limit_min, 1, 300)
        _bounded("secondary_limit_min", self.secondary_limit_min, 1, 300)
        _bounded("primary_max_age", self.primary_max_age, 2, 25)
        _bounded("direct_slack_min", self.direct_slack_min, 0.0, 120.0)

    def limit_for(self, pupil: Pupil) -> int:
        """The pupil's own limit: ``max_ride_min`` or the age default."""
        if pupil.max_ride_min is not None:
            return pupil.max_ride_min
        return (
            self.primary_limit_min
            if pupil.age <= self.primary_max_age
            else self.secondary_limit_min
        )

    def effective_limit(self, pupil: Pupil, direct_min: float, *, strict: bool = False) -> float:
        """The contract's effective limit: ``max(limit, direct_min + slack)``.

        With ``strict`` (``--strict-limits``), no slack: ``max(limit, direct_min)``, so a pupil
        whose direct journey alone exceeds the limit rides direct (last pickup, or alone).
        """
        if strict:
            return max(float(self.limit_for(pupil)), direct_min)
        return max(float(self.limit_for(pupil)), direct_min + self.direct_slack_min)


@dataclass(frozen=True)
class CostParams:
    """Money: school days, PA day rate and the placement policies' transport estimate."""

    school_days: int = 190
    pa_day_rate: float = 55.0
    est_cost_per_pupil_mile: float = 1.25

    def __post_init__(self) -> None:
        _bounded("school_days", self.school_days, 1, 366)
        _bounded("pa_day_rate", self.pa_day_rate, 0.0, 10_000.0)
        _bounded("est_cost_per_pupil_mile", self.est_cost_per_pupil_mile, 0.0, 100.0)


@dataclass(frozen=True)
class Parameters:
    """Every parameter of a run; written in full to summary.json."""

    travel: TravelParams = field(default_factory=TravelParams)
    ride: RideParams = field(default_factory=RideParams)
    cost: CostParams = field(default_factory=CostParams)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Placement results


@dataclass(frozen=True, slots=True)
class Placement:
    """One pupil at one school; ``road_miles`` and ``direct_min`` are home → school alone.

    ``reason_code`` and ``reason`` say why the pupil is at this school
    (:mod:`transport.placement.explain`); ``nearer_full`` lists the nearer suitable schools
    that were full (reason ``nearer-full``), nearest first.
    """

    pupil_id: str
    school_id: str
    policy: str
    road_miles: float
    direct_min: float
    reason_code: str = ""
    reason: str = ""
    nearer_full: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unplaced:
    pupil_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Places missing at a school for a need under ``nearest-suitable``."""

    school_id: str
    need: str
    demand: int
    capacity: int
    missing: int


@dataclass(frozen=True)
class PlacementResult:
    """What a placement policy returns."""

    policy: str
    placements: tuple[Placement, ...]
    unplaced: tuple[Unplaced, ...]
    shortfall: tuple[Shortfall, ...] = ()

    @cached_property
    def school_of(self) -> dict[str, str]:
        return {p.pupil_id: p.school_id for p in self.placements}


# --------------------------------------------------------------------------------------------
# Routing results


@dataclass(frozen=True, slots=True)
class Stop:
    """A pickup on a route; ``pickup`` is minutes after midnight, ``ride_min`` to school."""

    route_id: str
    seq: int
    pupil_id: str
    pickup: float
    ride_min: float


@dataclass(frozen=True, slots=True)
class RideExplanation:
    """Why a pupil's ride is as long as it is, and their afternoon run: stops.csv's columns
    beyond the contract's first five (:mod:`transport.routing.explain` computes them).

    ``limit_min`` is the pupil's stated limit (``max_ride_min``, else the age default);
    ``direct_min`` their pickup point → school alone; ``over_min`` the ride (as written, one
    decimal) less the limit, 0 within it. A ride over its limit has ``reason_code``
    (``long-direct`` or ``shared-saving``), ``reason`` and ``sharing_saving`` (£ a year). The
    afternoon: ``dropoff`` (minutes after midnight) and ``pm_ride_min``, with ``pm_over_min``,
    ``pm_reason_code`` and ``pm_reason`` as for the morning. ``saving_basis`` is what
    ``sharing_saving`` was priced from (route miles without the pupil, whether a PA would
    still ride, the vehicle type carrying the pupil alone, its miles, whether the pupil needs
    a PA), so that a re-priced
    plan re-prices it exactly; it is not written.
    """

    route_id: str
    pupil_id: str
    limit_min: float
    direct_min: float
    over_min: float
    reason_code: str = ""
    reason: str = ""
    sharing_saving: float | None = None
    dropoff: float | None = None
    pm_ride_min: float | None = None
    pm_over_min: float = 0.0
    pm_reason_code: str = ""
    pm_reason: str = ""
    saving_basis: tuple[float | None, bool, str, float, bool] | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle of one type taking pupils (in pickup order) to one school, or to two or
    more in turn (a mixed-school route: :func:`route_schools`)."""

    route_id: str
    school_id: str
    vehicle_type: str
    has_pa: bool
    pupils: tuple[str, ...]
    route_miles: float
    annual_cost: float


SCHOOL_SEPARATOR = ";"
"""Joins the schools of a mixed-school route, in visiting order, in its ``school_id``."""


def route_schools(route: Route | str) -> tuple[str, ...]:
    """The schools a route takes its pupils to, in visiting order (one for most routes).

    The one reading of a route's ``school_id``: a mixed-school route (pupils of nearby
    schools on one vehicle) names its schools in visiting order joined by
    :data:`SCHOOL_SEPARATOR`; each pupil's own school is their placement's.

    Parameters
    ----------
    route
        A route, or a routes.csv ``school_id``.

    Returns
    -------
    tuple of str
        The school ids, in visiting order.

    Examples
    --------
    >>> route_schools("S012;S031"), route_schools("S1")
    (('S012', 'S031'), ('S1',))
    """
    text = route if isinstance(route, str) else route.school_id
    return tuple(s for s in text.split(SCHOOL_SEPARATOR) if s) or (text,)


def pupil_school(route: Route, pupil_id: str, placed: Mapping[str, str]) -> str:
    """The school a pupil of ``route`` goes to: their placement's, else the route's first.

    Parameters
    ----------
    route
        The pupil's route.
    pupil_id
        The pupil.
    placed
        ``{pupil_id: school_id}`` of the run's placements.

    Returns
    -------
    str
        The pupil's school when it is one of the route's; else (a placement missing or
        contradicting the route) the route's first school.
    """
    schools = route_schools(route)
    own = placed.get(pupil_id, "")
    return own if own in schools else schools[0]


@dataclass(frozen=True, slots=True)
class Unrouted:
    pupil_id: str
    reason: str
