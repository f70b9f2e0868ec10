"""Lots: a solved run's routes as the council would tender them, each with its notional price.

A lot is one route (``lot_by="route"``) or every route of one school (``lot_by="school"``).
A mixed-school route (pupils of nearby schools on one vehicle, its ``school_id`` the schools in
visiting order joined by ``;``) names all its schools: its lot's ``school_id`` is that joined
id and ``arrive_by`` and ``finish_at`` give each school's time in the same order, ``;``-joined.
By school, a mixed-school route is lotted with the routes to exactly the same schools in the
same order (usually alone), never split or counted twice: every route is in exactly one lot,
so the lots' prices sum to the run's routes' costs.
Its **notional price** is what the rate card (vehicles.csv and the run's parameters) pays for
it, split into the contract's three parts, each per school day:

``day_rate_part``
    the vehicle type's day rate (morning and afternoon runs);
``mileage_part``
    ``per_mile × 2 × route_miles`` (the afternoon run mirrors the morning);
``pa_part``
    the passenger assistant's day rate when the route carries one, else 0.

``notional_daily`` is their sum, exact: with rates in whole pence and route miles in
hundredths (as routes.csv writes them) it has at most 4 decimals, and lots.csv writes it with
4. ``notional_annual`` is the route's annual cost as the rate card prices it, to the penny
(:meth:`transport.tender._rates.RateCard.annual_cost`, the figure routes.csv gives), which is
``school_days × notional_daily`` rounded to the nearest penny. At 190 school days and
whole-pence rates that product never falls on a half penny (the daily price's fourth decimal
is always even), so the rounding is unambiguous. For rates with fractions of a penny (a run at
today's prices) the daily figures are written with 6, or if need be 8, decimals, as many as
keep ``school_days × notional_daily`` within half a penny of ``notional_annual``.

A school lot's figures are the sums of its routes' (its annual price is the sum of the
routes' annual costs, each to the penny), so its daily price × school days can differ from
its annual price by up to half a penny per route.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from transport.errors import InputError, Problem
from transport.model import (
    DEFAULT_FINISH_AT,
    SCHOOL_SEPARATOR,
    Dataset,
    format_hhmm,
    route_schools,
)
from transport.runs.write import RunFiles
from transport.tender._rates import RateCard
from transport.tender.areas import area_counts

LOTS_CSV = "lots.csv"
LOT_COLUMNS: tuple[str, ...] = (
    "lot_id",
    "routes",
    "vehicle_type",
    "seats",
    "wheelchair_spaces",
    "has_pa",
    "school_id",
    "arrive_by",
    "finish_at",
    "daily_miles",
    "notional_daily",
    "notional_annual",
    "day_rate_part",
    "mileage_part",
    "pa_part",
)
LOT_BY: tuple[str, ...] = ("route", "school")

PENNY = Decimal("0.01")
HALF_PENNY = Decimal("0.005")


def money(value: float) -> Decimal:
    """A float from a file or the rate card as the decimal it was written as."""
    return Decimal(repr(float(value)))


@dataclass(frozen=True)
class LotRoute:
    """One route of a lot, priced by the rate card, with what a specification may say."""

    route_id: str
    vehicle_type: str
    seats: int
    wheelchair_spaces: int
    has_pa: bool
    route_miles: Decimal
    day_rate_part: Decimal
    mileage_part: Decimal
    pa_part: Decimal
    annual: Decimal
    passengers: int
    wheelchair_users: int
    first_pickup: float | None  # minutes after midnight
    morning_minutes: float | None  # first pickup to school
    areas: tuple[tuple[str, int], ...]  # (postcode district, pickups)

    @property
    def daily(self) -> Decimal:
        return self.day_rate_part + self.mileage_part + self.pa_part

    @property
    def daily_miles(self) -> Decimal:
        return 2 * self.route_miles


@dataclass(frozen=True)
class LotSchool:
    """One school a lot's routes take pupils to, with its times (minutes after midnight)."""

    school_id: str
    name: str
    district: str
    arrive_by: int
    finish_at: int


@dataclass(frozen=True)
class Lot:
    """A lot put out to tender: one route, or the routes of one school.

    ``school_*``, ``arrive_by`` and ``finish_at`` are the first school's; ``schools`` lists
    every school of the lot in visiting order (two or more for a mixed-school route), and
    ``school_id`` is then their ids joined by ``;``.
    """

    lot_id: str
    school_id: str
    school_name: str
    school_district: str
    arrive_by: int
    finish_at: int
    routes: tuple[LotRoute, ...]
    schools: tuple[LotSchool, ...] = ()

    @property
    def route_ids(self) -> tuple[str, ...]:
        return tuple(r.route_id for r in self.routes)

    @property
    def notional_daily(self) -> Decimal:
        return sum((r.daily for r in self.routes), Decimal(0))

    @property
    def notional_annual(self) -> Decimal:
        return sum((r.annual for r in self.routes), Decimal(0))

    @property
    def daily_miles(self) -> Decimal:
        return sum((r.daily_miles for r in self.routes), Decimal(0))

    def part(self, name: str) -> Decimal:
        return sum((getattr(r, name) for r in self.routes), Decimal(0))

    def vehicles(self) -> dict[str, int]:
        """Vehicles the lot needs, by type."""
        return dict(Counter(r.vehicle_type for r in self.routes))

    def areas(self) -> tuple[tuple[str, int], ...]:
        return area_counts(a for r in self.routes for a, n in r.areas for _ in range(n))


def build_lots(
    run: RunFiles,
    data: Dataset,
    card: RateCard,
    *,
    lot_by: str = "route",
    finish_at: Mapping[str, int] | None = None,
    areas: Mapping[str, str] | None = None,
) -> tuple[Lot, ...]:
    """The lots of a solved run, priced by its rate card.

    Parameters
    ----------
    run
        The solved run (routes.csv and stops.csv).
    data
        The data folder it was solved from (schools and vehicle types).
    card
        The run's rate card (:func:`transport.tender._rates.rate_card`).
    lot_by
        ``"route"``: one lot per route, in routes.csv order; ``"school"``: one lot per
        school, the schools in order of their first route (a mixed-school route: one lot per
        sequence of schools, see the module docstring).
    finish_at
        ``{school_id: minutes after midnight}``; schools missing get 15:15.
    areas
        ``{pupil_id: pickup area}`` (:func:`transport.tender.areas.pickup_districts`).

    Raises
    ------
    InputError
        When the run has no routes, names a school or vehicle type the data lacks, or a
        route's annual cost does not recompute from the rate card (another data folder or
        other prices).
    """
    if lot_by not in LOT_BY:
        raise InputError([Problem("--lot-by", None, None, f"must be one of {', '.join(LOT_BY)}")])
    check_run(run, data, card)
    finish_at = finish_at or {}
    areas = areas or {}
    stops_by_route: dict[str, list[Any]] = {}
    for s in run.stops:
        stops_by_route.setdefault(s.route_id, []).append(s)
    pupils = data.pupil_by_id
    priced: list[tuple[tuple[str, ...], LotRoute]] = []
    for r in run.routes:
        v = card.vehicles[r.vehicle_type]
        miles = Decimal(f"{r.route_miles:.2f}")
        stops = stops_by_route.get(r.route_id, [])
        route_areas = [areas[p] for p in r.pupils if p in areas]
        priced.append(
            (
                route_schools(r),
                LotRoute(
                    route_id=r.route_id,
                    vehicle_type=r.vehicle_type,
                    seats=v.seats,
                    wheelchair_spaces=v.wheelchair_spaces,
                    has_pa=r.has_pa,
                    route_miles=miles,
                    day_rate_part=money(v.day_rate),
                    mileage_part=money(v.per_mile) * 2 * miles,
                    pa_part=money(card.pa_day_rate) if r.has_pa else Decimal(0),
                    annual=Decimal(f"{card.annual_cost(r):.2f}"),
                    passengers=len(r.pupils),
                    wheelchair_users=sum(1 for p in r.pupils if pupils[p].wheelchair),
                    first_pickup=min((s.pickup for s in stops), default=None),
                    morning_minutes=max((s.ride_min for s in stops), default=None),
                    areas=area_counts(route_areas),
                ),
            )
        )
    groups: list[tuple[tuple[str, ...], list[LotRoute]]] = []
    if lot_by == "route":
        groups = [(school_ids, [lr]) for school_ids, lr in priced]
    else:  # a mixed-school route goes with the routes to the same schools in the same order
        by_school: dict[tuple[str, ...], list[LotRoute]] = {}
        for school_ids, lr in priced:
            by_school.setdefault(school_ids, []).append(lr)
        groups = list(by_school.items())
    width = max(3, len(str(len(groups))))
    lots: list[Lot] = []
    for k, (school_ids, routes) in enumerate(groups, start=1):
        schools = tuple(
            LotSchool(
                s.school_id,
                s.name,
                s.district,
                s.arrive_by,
                finish_at.get(s.school_id, DEFAULT_FINISH_AT),
            )
            for s in (data.school_by_id[sid] for sid in school_ids)
        )
        first = schools[0]
        lots.append(
            Lot(
                lot_id=f"L{k:0{width}d}",
                school_id=SCHOOL_SEPARATOR.join(s.school_id for s in schools),
                school_name=first.name,
                school_district=first.district,
                arrive_by=first.arrive_by,
                finish_at=first.finish_at,
                routes=tuple(routes),
                schools=schools,
            )
        )
    return tuple(lots)


def check_run(run: RunFiles, data: Dataset, card: RateCard) -> None:
    """Every route's school, vehicle type and pupils are in the data, and its cost recomputes."""
    if not run.routes:
        raise InputError(
            [Problem("routes.csv", None, None, f"no routes in {run.folder}: solve it first")]
        )
    problems: list[Problem] = []
    for row, r in enumerate(run.routes, start=2):
        if any(s not in data.school_by_id for s in route_schools(r)):
            problems.append(
                Problem("routes.csv", row, "school_id", "school not in the data's schools.csv")
            )
        if r.vehicle_type not in card.vehicles:
            problems.append(
                Problem("routes.csv", row, "vehicle_type", "vehicle type not in vehicles.csv")
            )
            continue
        unknown = sum(1 for p in r.pupils if p not in data.pupil_by_id)
        if unknown:
            problems.append(
                Problem("routes.csv", row, "pupils", f"{unknown} pupils not in pupils.csv")
            )
        cost = card.annual_cost(r)
        if abs(cost - r.annual_cost) > 0.005:
            problems.append(
                Problem(
                    "routes.csv",
                    row,
                    "annual_cost",
                    f"£{r.annual_cost:,.2f} does not recompute from the rate card "
                    f"(£{cost:,.2f}): was the run solved from another data folder or prices?",
                )
            )
    if problems:
        raise InputError(problems)


def daily_decimals(lots: Sequence[Lot], school_days: int) -> int:
    """Decimals of the daily figures: 4, or more when rates have fractions of a penny.

    The fewest of 4, 6 and 8 that write every figure exactly, or else keep every route lot's
    ``school_days × notional_daily`` within half a penny of its ``notional_annual``.
    """
    for places in (4, 6, 8):
        quantum = Decimal(1).scaleb(-places)
        exact = all(
            r.daily.quantize(quantum) == r.daily
            and all(getattr(r, n).quantize(quantum) == getattr(r, n) for n in _PARTS)
            for lot in lots
            for r in lot.routes
        )
        close = all(
            abs(r.daily.quantize(quantum) * school_days - r.annual) <= HALF_PENNY
            for lot in lots
            for r in lot.routes
        )
        if exact or close:
            return places
    return 8


_PARTS = ("day_rate_part", "mileage_part", "pa_part")


def _times(lot: Lot, name: str) -> str:
    """A lot's ``arrive_by`` or ``finish_at`` (HH:MM), one per school, ``;``-joined."""
    if not lot.schools:
        return format_hhmm(getattr(lot, name))
    return SCHOOL_SEPARATOR.join(format_hhmm(getattr(s, name)) for s in lot.schools)


def lot_rows(lots: Sequence[Lot], *, decimals: int = 4) -> list[tuple[Any, ...]]:
    """lots.csv's rows in :data:`LOT_COLUMNS` order."""
    quantum = Decimal(1).scaleb(-decimals)

    def day(x: Decimal) -> str:
        return f"{x.quantize(quantum, rounding=ROUND_HALF_EVEN):.{decimals}f}"

    rows = []
    for lot in lots:
        rows.append(
            (
                lot.lot_id,
                ";".join(lot.route_ids),
                ";".join(r.vehicle_type for r in lot.routes),
                ";".join(str(r.seats) for r in lot.routes),
                ";".join(str(r.wheelchair_spaces) for r in lot.routes),
                ";".join(str(int(r.has_pa)) for r in lot.routes),
                lot.school_id,
                _times(lot, "arrive_by"),
                _times(lot, "finish_at"),
                f"{lot.daily_miles:.2f}",
                day(lot.notional_daily),
                f"{lot.notional_annual.quantize(PENNY):.2f}",
                *(day(lot.part(n)) for n in _PARTS),
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# Reading a tender folder back (for award)


@dataclass(frozen=True)
class LotRecord:
    """A lot as lots.csv gives it: what the award needs."""

    lot_id: str
    routes: tuple[str, ...]
    vehicle_types: tuple[str, ...]
    school_id: str
    notional_daily: Decimal
    notional_annual: Decimal

    def vehicles(self) -> dict[str, int]:
        return dict(Counter(self.vehicle_types))


def read_lots(path: str | Path) -> tuple[LotRecord, ...]:
    """Read lots.csv (written by :func:`lot_rows`), checking every row.

    Raises
    ------
    InputError
        When the file is missing, lacks a column, or a row is malformed (all problems at once).
    """
    path = Path(path)
    if not path.exists():
        raise InputError([Problem(path.name, None, None, f"missing: {path}")])
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in LOT_COLUMNS if c not in header]
        if missing:
            raise InputError([Problem(path.name, 1, c, "column missing") for c in missing])
        rows = list(reader)
    problems: list[Problem] = []
    lots: list[LotRecord] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        lot_id = (row.get("lot_id") or "").strip()
        if not lot_id:
            problems.append(Problem(path.name, line, "lot_id", "blank"))
            continue
        if lot_id in seen:
            problems.append(
                Problem(path.name, line, "lot_id", f"{lot_id} already on row {seen[lot_id]}")
            )
            continue
        seen[lot_id] = line
        routes = tuple(x for x in row["routes"].split(";") if x)
        types = tuple(x for x in row["vehicle_type"].split(";") if x)
        if not routes or len(types) != len(routes):
            problems.append(
                Problem(path.name, line, "vehicle_type", "one vehicle type per route is needed")
            )
            continue
        try:
            daily = Decimal(row["notional_daily"])
            annual = Decimal(row["notional_annual"])
            if not (daily.is_finite() and annual.is_finite()) or daily < 0 or annual < 0:
                raise ValueError
        except (ValueError, ArithmeticError):
            problems.append(
                Problem(path.name, line, "notional_daily", "not a non-negative amount of money")
            )
            continue
        lots.append(LotRecord(lot_id, routes, types, row["school_id"], daily, annual))
    if problems:
        raise InputError(problems)
    return tuple(lots)
