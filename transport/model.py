"""The data model: frozen dataclasses that every pipeline stage takes and returns.

Stages (load → validate → place → route → price → report) import this module and earlier
stages only. Nothing here does input/output or optimisation.

Units inside the model are the user's units: miles, minutes, pounds. Integer units for the
solvers (metres, seconds, pence) are produced in :mod:`transport.units` only.
"""

from __future__ import annotations

import math
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


def format_hhmm(minutes: float) -> str:
    """Format minutes after midnight as ``HH:MM`` (rounded down to the minute)."""
    total = int(minutes // 1)
    return f"{total // 60:02d}:{total % 60:02d}"


@dataclass(frozen=True, slots=True)
class School:
    """A school or specialist provision that can take pupils.

    ``needs`` holds need codes, or ``{"*"}`` for a school that serves any need.
    ``arrive_by`` is minutes after midnight.
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

    def __post_init__(self) -> None:
        _bounded("circuity", self.circuity, 1.0, 3.0)
        _bounded("speed_mph", self.speed_mph, 1.0, 80.0)
        _bounded("dwell_min", self.dwell_min, 0.0, 30.0)


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

    def effective_limit(self, pupil: Pupil, direct_min: float) -> float:
        """The contract's effective limit: ``max(limit, direct_min + slack)``."""
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
    """One pupil at one school; ``road_miles`` and ``direct_min`` are home → school alone."""

    pupil_id: str
    school_id: str
    policy: str
    road_miles: float
    direct_min: float


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
class Route:
    """One vehicle of one type taking pupils (in pickup order) to one school."""

    route_id: str
    school_id: str
    vehicle_type: str
    has_pa: bool
    pupils: tuple[str, ...]
    route_miles: float
    annual_cost: float


@dataclass(frozen=True, slots=True)
class Unrouted:
    pupil_id: str
    reason: str
