"""Scenarios: small TOML files that say which policy, prices, limits and budgets a run uses.

A scenario file has optional tables; every key has a default, so an empty file is the baseline
at 2013 prices. Unknown tables and keys are rejected with their name, and impossible values with
the key and the reason (:class:`~transport.errors.ScenarioError`), so a typo never silently
changes a result::

    name = "nearest-suitable"
    description = "Every pupil at the nearest suitable school, ignoring capacity"

    [placement]
    policy = "nearest-suitable"   # nearest-with-capacity | nearest-suitable | optimal | keep
    scope = "all"                 # all | new-entrants (pupils already placed keep their school)

    [[capacity]]                  # capacity changes, applied before placement
    school_id = "119056"          # a school ...
    add = 20                      # ... gains 20 places
    # or: needs = ["ASD", "SEMH"], add = 275, where = "best"  (sited where they save most,
    #     candidates = [...] school ids, kinds = ["special", "resourced"], max_per_school = 30,
    #     max_growth = 1.0, method = "exact" | "greedy" (batch = 25 places at a time);
    #     see placement/capacity.py)

    [prices]
    basis = "2013"                # 2013 | today  (today = the domain file's 2023-24 unit costs)
    # transport_factor = 1.906    # × vehicle day rates, £ a mile, PA day rate (default by basis)
    # place_factor = 1.0          # × place costs (default by basis; see transport.costing)

    [travel]
    network = "crow-fly"          # crow-fly | osm | matrix
    # matrix = "travel.csv"       # network = "matrix": the file (default DATA/travel.csv)
    circuity = 1.3
    speed_mph = 25.0
    dwell_min = 2.0
    dwell_per_pupil_min = 0.0     # added to a pickup's dwell for each pupil boarding

    [ride]
    primary_limit_min = 45
    secondary_limit_min = 75

    [cost]
    school_days = 190
    pa_day_rate = 55.0
    est_cost_per_pupil_mile = 1.25

    [routing]
    time_limit_s = 120
    # work_limit = 500            # deterministic mode: units of a million local-search moves
    seed = 0
    backend = "auto"              # auto | ortools | pyvrp
    workers = 0                   # worker processes; 0 = one per CPU
    mixed_school = true           # nearby schools' pupils may share a vehicle (measured: saves)
    strict_limits = false         # no ride over the stated limit unless riding direct
    change_cost = 3000.0          # re-plans: £ a year per disturbed family (solve --previous)
    mixed_school_radius_miles = 3.0

    [budgets]
    offer = false                 # true: sen-transport compare prices budgets for this scenario
    rule = "kent-bands"           # kent-bands | mileage | share | bands
    districts = ["Ashford", "Folkestone and Hythe"]   # ["*"] = county-wide
    mileage_rate = 0.45           # £ a mile, × 4 legs × road miles × school days
    share = 0.8                   # share rule: fraction of the pupil's share of route cost
    bands = [[5, 2000], [10, 3000], [inf, 5000]]      # bands rule: [upper_miles, amount]
    travel_saver_cost = 400.0     # deducted for ages 16-19 (an assumption to set)
    uptake_model = "fixed"        # fixed | logistic
    uptake = 0.3                  # fixed: probability a family accepts
    uptake_intercept = -3.0       # logistic: a + b × budget / current cost
    uptake_slope = 3.0
    offer_levels = [1.0]          # multiples of the rule's budget an offer may use
    allow_loss = false            # allow offers that may cost more than they save
    draws = 1000
    seed = 0

    [target]
    annual_saving = 1500000

A :class:`Scenario` is the complete settings object of a run. Command-line options do not carry
settings of their own: each one names a scenario key, and :meth:`Scenario.with_overrides`
applies them, in this one place, to the scenario file's values (or to the defaults), with the
same validation as the file.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from transport.audit import record_input
from transport.costing import PriceFactors, price_factors
from transport.errors import ParameterError, ScenarioError
from transport.model import NEED_CODES, CostParams, Parameters, RideParams, TravelParams

# The choices of every setting that has a fixed set of values, defined once: the settings
# below, the stages and the command line's options all use these.
PLACEMENT_POLICIES = ("nearest-with-capacity", "nearest-suitable", "optimal", "keep")
SCOPES = ("all", "new-entrants")
PRICE_BASES = ("2013", "today")
NETWORKS = ("crow-fly", "osm", "matrix")
BACKENDS = ("auto", "ortools", "pyvrp")
MAX_SCENARIO_BYTES = 1_000_000
MAX_TIME_LIMIT_S = 86_400.0
MAX_SEED = 2**31 - 1
MAX_WORKERS = 256
MAX_DRAWS = 1_000_000
MAX_PLACES_ADDED = 100_000
MAX_BUDGET = 100_000.0  # £ a year for one pupil
MAX_TARGET = 1_000_000_000.0  # £ a year
BUDGET_RULES = ("kent-bands", "mileage", "share", "bands")
UPTAKE_MODELS = ("fixed", "logistic")
MAP_SOURCES = ("graphml", "osm_file", "osm_place")
"""The keys of ``[travel]`` that name the road map of ``network = "osm"`` (one of them)."""
PEAK_FACTOR_RANGE = (0.5, 3.0)


@dataclass(frozen=True)
class PlacementSettings:
    policy: str = "keep"
    scope: str = "all"

    def __post_init__(self) -> None:
        _choice("placement.policy", self.policy, PLACEMENT_POLICIES)
        _choice("placement.scope", self.scope, SCOPES)


@dataclass(frozen=True)
class CapacityChange:
    """Add places: at one school, or ``add`` places for ``needs`` sited where they save most.

    ``where = "best"`` sites the places among ``candidates`` (default: the schools of
    ``kinds``, special schools and resourced units, serving one of ``needs``), at most
    ``max_per_school`` at any one school and at most ``max_growth`` times its places today
    (1.0: it may double), by the exact model (``method = "exact"``, the
    default) or ``batch`` at a time by the greedy (``method = "greedy"``); see
    :mod:`transport.placement.capacity` for both.
    """

    add: int
    school_id: str | None = None
    needs: tuple[str, ...] = ()
    where: str | None = None
    candidates: tuple[str, ...] = ()
    batch: int = 25
    max_per_school: int | None = None
    max_growth: float | None = None
    method: str = "exact"
    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.add, bool) or not isinstance(self.add, int):
            raise ParameterError(f"capacity.add must be a whole number, got {self.add!r}")
        if self.add < 0:
            raise ParameterError(f"capacity.add must not be negative, got {self.add}")
        if self.add > MAX_PLACES_ADDED:
            raise ParameterError(
                f"capacity.add must be at most {MAX_PLACES_ADDED:,}, got {self.add}"
            )
        if self.where not in (None, "best"):
            raise ParameterError(f'capacity.where must be "best", got {self.where!r}')
        if self.school_id is None and self.where != "best":
            raise ParameterError('a capacity change needs school_id, or needs with where = "best"')
        if self.school_id is not None and self.where == "best":
            raise ParameterError('capacity: give school_id or where = "best", not both')
        if self.school_id is not None and not isinstance(self.school_id, str):
            raise ParameterError(f"capacity.school_id must be a string, got {self.school_id!r}")
        if self.where == "best" and not self.needs:
            raise ParameterError('capacity.needs must list need codes when where = "best"')
        for need in self.needs:
            if need not in NEED_CODES:
                raise ParameterError(
                    f"capacity.needs: unknown need {need!r} (known: {', '.join(NEED_CODES)})"
                )
        if not all(isinstance(c, str) and c for c in self.candidates):
            raise ParameterError("capacity.candidates must list school ids (strings)")
        if (
            isinstance(self.batch, bool)
            or not isinstance(self.batch, int)
            or not 1 <= self.batch <= MAX_PLACES_ADDED
        ):
            raise ParameterError(
                f"capacity.batch must be a whole number from 1 to {MAX_PLACES_ADDED:,}, "
                f"got {self.batch!r}"
            )
        cap = self.max_per_school
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ParameterError(f"capacity.max_per_school must be a whole number ≥ 1, got {cap!r}")
        if cap is not None and self.where != "best":
            raise ParameterError('capacity.max_per_school applies to where = "best" only')
        growth = self.max_growth
        if growth is not None and (
            isinstance(growth, bool)
            or not isinstance(growth, int | float)
            or not (math.isfinite(growth) and growth > 0)
        ):
            raise ParameterError(f"capacity.max_growth must be a number > 0, got {growth!r}")
        if growth is not None and self.where != "best":
            raise ParameterError('capacity.max_growth applies to where = "best" only')
        if self.method not in ("exact", "greedy"):
            raise ParameterError(
                f'capacity.method must be "exact" or "greedy", got {self.method!r}'
            )
        for kind in self.kinds:
            if kind not in ("special", "resourced", "mainstream", "independent"):
                raise ParameterError(
                    f"capacity.kinds: unknown kind {kind!r} "
                    "(special, resourced, mainstream, independent)"
                )


@dataclass(frozen=True)
class PriceSettings:
    """Unit costs: the data's own (2013) or today's; factors by basis (transport.costing)."""

    basis: str = "2013"
    transport_factor: float | None = None
    place_factor: float | None = None

    def __post_init__(self) -> None:
        _choice("prices.basis", self.basis, PRICE_BASES)
        for key in ("transport_factor", "place_factor"):
            value = getattr(self, key)
            if value is None:
                continue
            number = _number(f"prices.{key}", value)
            if not 0.1 <= number <= 10.0:
                raise ParameterError(f"prices.{key} must be between 0.1 and 10, got {value!r}")
            object.__setattr__(self, key, number)

    def factors(self) -> PriceFactors:
        """The multipliers applied to the data's unit costs."""
        return price_factors(self.basis, transport=self.transport_factor, place=self.place_factor)


@dataclass(frozen=True)
class NetworkSettings:
    """The travel backend: the contract's crow-fly model, OpenStreetMap roads, or a matrix.

    ``network = "osm"`` needs exactly one map (``graphml``, ``osm_file`` or ``osm_place``);
    ``peak_factor`` multiplies road travel times. ``network = "matrix"`` reads a council's own
    travel matrix: the file ``matrix`` (default ``travel.csv`` in the data folder; see
    :mod:`transport.travel.matrix`). Built into a model by
    :func:`transport.travel.travel_model`.
    """

    network: str = "crow-fly"
    osm_file: str | None = None
    osm_place: str | None = None
    graphml: str | None = None
    peak_factor: float = 1.0
    matrix: str | None = None

    def __post_init__(self) -> None:
        _choice("travel.network", self.network, NETWORKS)
        if self.matrix is not None and not isinstance(self.matrix, str):
            object.__setattr__(self, "matrix", str(self.matrix))
        for key in MAP_SOURCES:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, str(value))
        low, high = PEAK_FACTOR_RANGE
        peak = _number("travel.peak_factor", self.peak_factor)
        if not (math.isfinite(peak) and low <= peak <= high):
            raise ParameterError(
                f"travel.peak_factor must be between {low:g} and {high:g}, got {self.peak_factor}"
            )
        object.__setattr__(self, "peak_factor", peak)
        maps = self.maps()
        if self.network == "osm" and len(maps) != 1:
            raise ParameterError(
                'travel.network = "osm" needs exactly one map: travel.graphml (a road graph '
                "built once with 'sen-transport graph build'), travel.osm_file or "
                "travel.osm_place" + (f"; got {', '.join(maps)}" if maps else "")
            )
        if self.network != "osm":
            if maps:
                raise ParameterError(f'travel.{maps[0]} needs travel.network = "osm"')
            if self.peak_factor != 1.0:
                raise ParameterError('travel.peak_factor applies to travel.network = "osm" only')
        if self.matrix not in (None, "") and self.network != "matrix":
            raise ParameterError('travel.matrix needs travel.network = "matrix"')

    def maps(self) -> list[str]:
        """The map keys given (``travel.graphml`` …, without the table)."""
        return [k for k in MAP_SOURCES if getattr(self, k) not in (None, "")]

    def with_changes(self, changes: Mapping[str, Any]) -> NetworkSettings:
        """These settings with some keys replaced, as an override means it.

        A map replaces the map (the other two are cleared), and choosing ``crow-fly`` clears
        the map and the peak factor, unless those are given in the same changes.
        """
        base = asdict(self)
        if changes.get("matrix") not in (None, "") and "network" not in changes:
            changes = {**changes, "network": "matrix"}  # --matrix FILE alone means the matrix
        if any(k in changes for k in MAP_SOURCES):
            base.update(dict.fromkeys(MAP_SOURCES))
        if changes.get("network") in ("crow-fly", "matrix"):
            base.update(dict.fromkeys(MAP_SOURCES), peak_factor=1.0)
        if changes.get("network") in ("crow-fly", "osm"):
            base.update(matrix=None)
        return NetworkSettings(**{**base, **changes})


@dataclass(frozen=True)
class RoutingSettings:
    """How routes are solved: backend, time or work limit, seed, worker processes, strict
    limits, mixed-school routes.

    The one settings class of the routing stage (``transport.routing.RoutingOptions`` is the
    same class); the scenario's ``[routing]`` table.

    Parameters
    ----------
    backend
        ``"ortools"``, ``"pyvrp"`` or ``"auto"`` (PyVRP, measured best: see
        ``benchmarks/routing_vs_peers.py``). Schools of up to 8 pickup visits are solved
        exactly whatever the backend.
    time_limit_s
        Wall-clock limit for the whole plan, in seconds (time mode): the searches use it all
        whenever a school still has searching to do, shared among schools as they need it,
        and stop on the clock; plans of the same seed may differ between runs.
    seed
        Random seed.
    workers
        Worker processes; 0 means one per CPU.
    mixed_school
        Allow a vehicle to take pupils of two nearby schools whose ``arrive_by`` differ by at
        most 15 minutes (a post-pass that merges routes when that saves money and keeps every
        rule). On by default: on the Kent data it saves about 0.7 % of the annual cost
        (``benchmarks/routing_vs_peers.py --plan``); ``--no-mixed-school`` for single-school
        routes only.
    mixed_school_radius_miles
        How near (road miles) two schools must be to share a vehicle.
    work_limit
        Deterministic mode instead of time: the searches stop after this much work, in units
        of a million local-search move evaluations (``transport.routing.WORK_UNIT_MOVES``),
        never on the clock, so the same data, seed and work limit give the same plan on any
        machine and load. ``time_limit_s`` is then not used.
    strict_limits
        No ride over the pupil's stated limit (``max_ride_min``, else the age default) unless
        the direct journey alone is longer, in which case the pupil rides direct; without it
        a ride may reach ``direct_min + direct_slack_min`` (the contract's rule).
    change_cost
        Re-plans (``solve --previous``): £ a year that disturbing one family is worth. A
        re-plan moves a family's journey only where that saves more than this a year for
        each family disturbed (see ``transport.routing.replan``, ``DEFAULT_CHANGE_COST``).
    """

    backend: str = "auto"
    time_limit_s: float = 120.0
    seed: int = 0
    workers: int = 0
    mixed_school: bool = True
    mixed_school_radius_miles: float = 3.0
    strict_limits: bool = False
    work_limit: float | None = None
    change_cost: float = 3000.0

    def __post_init__(self) -> None:
        _choice("routing.backend", self.backend, BACKENDS)
        object.__setattr__(
            self, "change_cost", _finite("routing.change_cost", self.change_cost, 0.0, 1e7)
        )
        _finite("routing.time_limit_s", self.time_limit_s, 0.0, MAX_TIME_LIMIT_S)
        if self.time_limit_s <= 0:
            raise ParameterError(f"routing.time_limit_s must be positive, got {self.time_limit_s}")
        _whole("routing.seed", self.seed, 0, MAX_SEED)
        _whole("routing.workers", self.workers, 0, MAX_WORKERS)
        if self.work_limit is not None:
            limit = _number("routing.work_limit", self.work_limit)
            if not (math.isfinite(limit) and 0 < limit < 1e9):
                raise ParameterError(
                    f"routing.work_limit must be positive, got {self.work_limit!r}"
                )
            object.__setattr__(self, "work_limit", limit)
        if not isinstance(self.strict_limits, bool):
            raise ParameterError(
                f"routing.strict_limits must be true or false, got {self.strict_limits!r}"
            )
        if not isinstance(self.mixed_school, bool):
            raise ParameterError(
                f"routing.mixed_school must be true or false, got {self.mixed_school!r}"
            )
        _finite("routing.mixed_school_radius_miles", self.mixed_school_radius_miles, 0.0, 100.0)
        if not self.mixed_school_radius_miles > 0:
            raise ParameterError(
                "routing.mixed_school_radius_miles must be positive, got "
                f"{self.mixed_school_radius_miles}"
            )

    @property
    def worker_count(self) -> int:
        """Worker processes actually used."""
        return self.workers or os.cpu_count() or 1

    @property
    def mode(self) -> str:
        """``"time"`` (``time_limit_s``) or ``"work"`` (the deterministic ``work_limit``)."""
        return "time" if self.work_limit is None else "work"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "workers_used": self.worker_count}


@dataclass(frozen=True)
class BudgetSettings:
    """Personal transport budgets; interpreted by :mod:`transport.budgets`.

    ``districts`` names the cohort (``["*"]`` = county-wide; "Shepway" is accepted for
    Folkestone and Hythe). ``bands`` are ``[upper_miles, amount]`` pairs for ``rule = "bands"``.
    ``travel_saver_cost`` is the price of the council's 16+ Travel Saver deducted for pupils
    aged 16 to 19: £400 (Kent's full-year price from 2014; £520 before) is an assumption to set.
    The logistic uptake model is ``1 / (1 + exp(-(uptake_intercept + uptake_slope × budget /
    current cost)))``. ``offer_levels`` are multiples of the rule's budget an offer may use.
    ``offer`` says whether ``sen-transport compare`` prices budgets for the scenario
    (``sen-transport budgets`` always does).
    """

    offer: bool = False
    rule: str = "kent-bands"
    districts: tuple[str, ...] = ("Ashford", "Folkestone and Hythe")
    mileage_rate: float = 0.45
    share: float = 0.8
    bands: tuple[tuple[float, float], ...] = ()
    uptake: float = 0.3
    uptake_model: str = "fixed"
    uptake_intercept: float = -3.0
    uptake_slope: float = 3.0
    draws: int = 1000
    seed: int = 0
    allow_loss: bool = False
    travel_saver_cost: float = 400.0
    offer_levels: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        _choice("budgets.rule", self.rule, BUDGET_RULES)
        _choice("budgets.uptake_model", self.uptake_model, UPTAKE_MODELS)
        if not 0 <= self.uptake <= 1:
            raise ParameterError(f"budgets.uptake must be between 0 and 1, got {self.uptake}")
        if not 0 <= self.share <= 2:
            raise ParameterError(f"budgets.share must be between 0 and 2, got {self.share}")
        _finite("budgets.mileage_rate", self.mileage_rate, 0.0, 100.0)
        _whole("budgets.draws", self.draws, 1, MAX_DRAWS)
        _whole("budgets.seed", self.seed, 0, MAX_SEED)
        _finite("budgets.travel_saver_cost", self.travel_saver_cost, 0.0, MAX_BUDGET)
        _finite("budgets.uptake_intercept", self.uptake_intercept, -100.0, 100.0)
        _finite("budgets.uptake_slope", self.uptake_slope, -100.0, 100.0)
        if not self.districts or not all(isinstance(d, str) and d for d in self.districts):
            raise ParameterError('budgets.districts must list district names (or ["*"])')
        object.__setattr__(self, "bands", _bands(self.bands, needed=self.rule == "bands"))
        levels = tuple(_number("budgets.offer_levels", x) for x in self.offer_levels)
        if not levels or any(x <= 0 for x in levels) or len(set(levels)) != len(levels):
            raise ParameterError(
                "budgets.offer_levels must be distinct positive multiples, e.g. [1.0]"
            )
        for x in levels:
            _finite("budgets.offer_levels", x, 0.0, 10.0)
        object.__setattr__(self, "offer_levels", tuple(sorted(levels)))


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{key} must hold numbers, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ParameterError(f"{key}: {value} is too large") from None


def finite_number(key: str, value: Any, low: float, high: float) -> float:
    """A finite number within ``[low, high]`` (the bounds documented in docs/formats.md).

    The one check of a bounded number, for settings and for the options of commands that are
    not scenario settings (``site --time-limit``, ``award --seed``…).

    Raises
    ------
    ParameterError
        Naming ``key`` and the bounds.
    """
    number = _number(key, value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ParameterError(f"{key} must be between {low:g} and {high:g}, got {value!r}")
    return number


def whole_number(key: str, value: Any, low: int, high: int) -> int:
    """A whole number within ``[low, high]`` (see :func:`finite_number`).

    Raises
    ------
    ParameterError
        Naming ``key`` and the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParameterError(
            f"{key} must be a whole number from {low:,} to {high:,}, got {value!r}"
        )
    return value


_finite, _whole = finite_number, whole_number


def _bands(bands: Any, *, needed: bool) -> tuple[tuple[float, float], ...]:
    """Custom bands as ``((upper_miles, amount), …)``, uppers strictly increasing."""
    out: list[tuple[float, float]] = []
    for band in bands:
        if not isinstance(band, tuple | list) or len(band) != 2:
            raise ParameterError(f"budgets.bands must be [upper_miles, amount] pairs, got {band!r}")
        upper, amount = (_number("budgets.bands", x) for x in band)
        if math.isnan(upper) or upper <= 0 or not (math.isfinite(amount) and amount >= 0):
            raise ParameterError(
                f"budgets.bands: miles must be > 0 (inf for the last band) and amounts finite "
                f"and ≥ 0, got {band!r}"
            )
        if amount > MAX_BUDGET:
            raise ParameterError(
                f"budgets.bands: an amount must be at most £{MAX_BUDGET:,.0f} a year, got {band!r}"
            )
        if out and upper <= out[-1][0]:
            raise ParameterError("budgets.bands: upper miles must increase from band to band")
        out.append((upper, amount))
    if needed and not out:
        raise ParameterError('rule = "bands" needs budgets.bands, e.g. [[5, 2000], [inf, 4000]]')
    return tuple(out)


@dataclass(frozen=True)
class TargetSettings:
    annual_saving: float = 1_500_000.0

    def __post_init__(self) -> None:
        _finite("target.annual_saving", self.annual_saving, 0.0, MAX_TARGET)


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario: every setting of a run, defaults filled in."""

    name: str = "baseline"
    description: str = ""
    placement: PlacementSettings = field(default_factory=PlacementSettings)
    capacity: tuple[CapacityChange, ...] = ()
    prices: PriceSettings = field(default_factory=PriceSettings)
    travel: TravelParams = field(default_factory=TravelParams)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    ride: RideParams = field(default_factory=RideParams)
    cost: CostParams = field(default_factory=CostParams)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    budgets: BudgetSettings = field(default_factory=BudgetSettings)
    target: TargetSettings = field(default_factory=TargetSettings)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Where each setting given came from: ``{"routing.seed": "option", …}`` (``scenario
    file`` or ``option``; a key not listed has its default). Written to manifest.json."""

    def parameters(self) -> Parameters:
        """The run parameters (travel, ride, cost) of the scenario."""
        return Parameters(travel=self.travel, ride=self.ride, cost=self.cost)

    def with_overrides(self, overrides: Mapping[str, Any], *, source: str = "option") -> Scenario:
        """This scenario with some settings replaced: what command-line options do.

        Parameters
        ----------
        overrides
            Scenario keys as in a scenario file (``"routing.seed"``, ``"travel.network"``,
            ``"budgets.districts"``, ``"placement.policy"``, ``"name"``) mapped to new values;
            ``None`` means "not given" and changes nothing.
        source
            Where the values came from, for :attr:`sources` (``option``; ``command`` when a
            command sets a key itself).

        Returns
        -------
        Scenario
            A new scenario; each value checked as the scenario file's are.

        Raises
        ------
        ParameterError
            An unknown key, or an impossible value (its key named).

        Examples
        --------
        >>> Scenario().with_overrides({"routing.seed": 7, "travel.circuity": None}).routing.seed
        7
        """
        top: dict[str, Any] = {}
        tables: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            if value is None:
                continue
            table, dot, name = key.partition(".")
            if not dot:
                if key not in ("name", "description"):
                    raise ParameterError(f"unknown setting {key!r}")
                top[key] = value
                continue
            attr = _table_attr(table, name)
            tables.setdefault(attr, {})[name] = tuple(value) if isinstance(value, list) else value
        changed: dict[str, Any] = dict(top)
        given = [k for k, v in overrides.items() if v is not None]
        changed["sources"] = {**self.sources, **dict.fromkeys(given, source)}
        for attr, values in tables.items():
            current = getattr(self, attr)
            try:
                if isinstance(current, NetworkSettings):
                    changed[attr] = current.with_changes(values)
                else:
                    changed[attr] = replace(current, **values)
            except (TypeError, ValueError) as exc:
                raise ParameterError(_keyed(_TABLE_OF[attr], values, str(exc))) from None
        return replace(self, **changed)


_TABLE_OF = {
    "placement": "placement",
    "prices": "prices",
    "travel": "travel",
    "network": "travel",
    "ride": "ride",
    "cost": "cost",
    "routing": "routing",
    "budgets": "budgets",
    "target": "target",
}
"""Scenario attribute → the scenario file's table that holds its keys."""


def _table_attr(table: str, name: str) -> str:
    """The :class:`Scenario` attribute holding ``table.name`` (``[travel]`` is two classes)."""
    if table == "travel" and name in {f.name for f in fields(NetworkSettings)}:
        return "network"
    if table not in _TABLE_OF or table == "network":
        raise ParameterError(f"unknown setting {table}.{name}")
    cls = type(getattr(Scenario(), table))
    if name not in {f.name for f in fields(cls)}:
        raise ParameterError(f"unknown setting {table}.{name}")
    return table


def _keyed(table: str, values: Mapping[str, Any], message: str) -> str:
    """A settings class's message with its key in full (``circuity …`` → ``travel.circuity …``)."""
    if message.startswith(f"{table}.") or f" {table}." in message:
        return message
    for name in values:
        if message.startswith(name):
            return f"{table}.{message}"
    return f"[{table}] {message}"


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")


def _build(cls: type, table: Any, where: str, *, source: str) -> Any:
    """Build a settings dataclass from a TOML table, naming any unknown key or bad value."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{source}: [{where}] must be a table")
    names = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in names:
            raise ScenarioError(
                f"{source}: unknown key {where}.{key} (known: {', '.join(sorted(names))})"
            )
    values: dict[str, Any] = {}
    for key, value in table.items():
        default = getattr(cls(), key) if _has_all_defaults(cls) else None
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ScenarioError(f"{source}: {where}.{key} must be true or false, got {value!r}")
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif default is not None and not isinstance(value, type(default)):
            raise ScenarioError(
                f"{source}: {where}.{key} must be a {type(default).__name__}, got {value!r}"
            )
        values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{source}: [{where}] {exc}") from None


def _has_all_defaults(cls: type) -> bool:
    try:
        cls()
    except TypeError:
        return False
    return True


def parse_scenario(
    text: str, *, source: str = "<scenario>", default_name: str = "scenario"
) -> Scenario:
    """Parse scenario TOML text (a pure function: tests parse strings directly)."""
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{source}: larger than 1 MB, not a scenario file")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: not valid TOML: nested too deeply") from None
    known = {
        "name",
        "description",
        "placement",
        "capacity",
        "prices",
        "travel",
        "ride",
        "cost",
        "routing",
        "budgets",
        "target",
    }
    for key in doc:
        if key not in known:
            listed = ", ".join(sorted(known))
            raise ScenarioError(f"{source}: unknown key {key!r} (known: {listed})")
    travel_table = dict(doc.get("travel", {}))
    network_keys = {f.name for f in fields(NetworkSettings)}
    network_table = {k: travel_table.pop(k) for k in list(travel_table) if k in network_keys}
    capacity = doc.get("capacity", [])
    if not isinstance(capacity, list):
        raise ScenarioError(f"{source}: capacity must be a list of [[capacity]] tables")
    changes = []
    for i, table in enumerate(capacity, start=1):
        if isinstance(table, dict):
            table = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
            unknown = set(table) - {f.name for f in fields(CapacityChange)}
            if unknown:
                raise ScenarioError(f"{source}: unknown key capacity[{i}].{sorted(unknown)[0]}")
            if "add" not in table:
                raise ScenarioError(f"{source}: capacity[{i}].add is required")
            if not isinstance(table["add"], int):
                raise ScenarioError(f"{source}: capacity[{i}].add must be a whole number")
        try:
            changes.append(CapacityChange(**table))
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{source}: capacity[{i}]: {exc}") from None
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{source}: name must be a non-empty string")
    given = [k for k in ("name", "description") if k in doc] + (["capacity"] if capacity else [])
    for table in ("placement", "prices", "travel", "ride", "cost", "routing", "budgets", "target"):
        section = doc.get(table, {})
        if isinstance(section, dict):
            given += [f"{table}.{key}" for key in section]
    return Scenario(
        sources=dict.fromkeys(given, "scenario file"),
        name=name,
        description=str(doc.get("description", "")),
        placement=_build(PlacementSettings, doc.get("placement", {}), "placement", source=source),
        capacity=tuple(changes),
        prices=_build(PriceSettings, doc.get("prices", {}), "prices", source=source),
        travel=_build(TravelParams, travel_table, "travel", source=source),
        network=_build(NetworkSettings, network_table, "travel", source=source),
        ride=_build(RideParams, doc.get("ride", {}), "ride", source=source),
        cost=_build(CostParams, doc.get("cost", {}), "cost", source=source),
        routing=_build(RoutingSettings, doc.get("routing", {}), "routing", source=source),
        budgets=_build(BudgetSettings, doc.get("budgets", {}), "budgets", source=source),
        target=_build(TargetSettings, doc.get("target", {}), "target", source=source),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and parse a scenario file; its name defaults to the file's stem."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ScenarioError(f"scenario {p} is a folder, not a file")
        if p.stat().st_size > MAX_SCENARIO_BYTES:
            raise ScenarioError(f"scenario {p} is larger than 1 MB, not a scenario file")
        raw = p.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"scenario {p} is not UTF-8 text (save it as UTF-8)") from None
    record_input(p, raw, role="scenario")
    return parse_scenario(text, source=p.name, default_name=p.stem)
