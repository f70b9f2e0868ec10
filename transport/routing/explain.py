"""Why each ride is as long as it is, and the afternoon run: a post-pass over a finished plan.

Nothing here changes a route. For every pupil on a route it states (docs/formats.md,
"stops.csv"; the contract's "Limits and reasons" and "Afternoon run"):

* ``limit_min``: the pupil's own limit (``max_ride_min``, else 45 up to age 10 and 75 from
  11); ``direct_min``: their pickup point → school alone, no dwell; ``over_min``: the ride as
  stops.csv writes it (one decimal) less the limit, 0 within it;
* for a ride over its limit, ``reason_code`` and a sentence a complaints officer can quote:
  ``long-direct`` when ``direct_min > limit_min − 15`` (the contract's allowance of
  ``direct_min + 15`` then passes the limit: the sentence says whether even riding alone
  would pass it), else ``shared-saving``; and ``sharing_saving``, the annual cost of the same
  route without the pupil (same vehicle type, same order) plus the cheapest vehicle carrying
  the pupil alone, less the route's annual cost;
* the afternoon run: the same vehicle and pupils leave the school ``AFTERNOON_GAP_MIN`` (5)
  minutes after its ``finish_at`` and drop the pupils in reverse pickup order, with the same
  dwell rule; ``pm_ride_min`` is the driving time from the school to the pupil's home along
  that order plus the dwell of each visit before theirs, ``dropoff`` the time they are home.
  Afternoon rides are held to the same limits: a ride over its limit gets a reason as the
  morning's does, and one beyond the allowance itself (possible only on a travel model whose
  roads differ by direction) ``afternoon-roads``.

Ride times and miles come from the routing layer's own functions
(:func:`transport.routing._plan.visit_rides_and_miles`, on the transposed matrices for the
afternoon) and costs from :func:`transport.costing.route_cost`: one definition of each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from transport.costing import route_cost
from transport.model import (
    AFTERNOON_GAP_MIN,
    Dataset,
    Parameters,
    Pupil,
    RideExplanation,
    Route,
    School,
    Stop,
    VehicleType,
    route_schools,
)
from transport.routing._plan import SchoolTravel, visit_rides_and_miles
from transport.routing._problem import carries_alone
from transport.travel import TravelModel, as_points, stack_points

REASON_CODES = ("long-direct", "shared-saving")
"""Why a ride passes its limit (morning and afternoon)."""
AFTERNOON_ROADS = "afternoon-roads"
"""An afternoon ride beyond even the allowance: the roads home differ from the roads to school."""
EPS = 1e-9


def _one(value: float) -> float:
    """A time as stops.csv writes it (one decimal)."""
    return round(float(value) + 0.0, 1)


def _money(value: float) -> str:
    sign = "−" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def _visits(route: Route, pupils: Mapping[str, Pupil]) -> list[tuple[str, ...]]:
    """The route's pickup visits: consecutive pupils of one stop board together."""
    out: list[list[str]] = []
    for pid in route.pupils:
        stop = pupils[pid].stop_id
        if out and stop is not None and pupils[out[-1][0]].stop_id == stop:
            out[-1].append(pid)
        else:
            out.append([pid])
    return [tuple(v) for v in out]


def cheapest_alone(
    pupil: Pupil, miles: float, vehicles: Sequence[VehicleType], params: Parameters
) -> tuple[str, float] | None:
    """The cheapest vehicle type (``available`` not 0) carrying the pupil alone over ``miles``
    (rounded as routes.csv writes them): its type and annual cost to the penny."""
    best: tuple[float, int, str] | None = None
    for k, v in enumerate(vehicles):
        if v.available == 0 or not carries_alone(v, pupil):
            continue
        cost = round(route_cost(v, round(miles, 2), pupil.needs_pa, params), 2)
        if best is None or (cost, k) < best[:2]:
            best = (cost, k, v.vehicle_type)
    return None if best is None else (best[2], best[0])


Basis = tuple[float | None, bool, str, float, bool]
"""What a ``sharing_saving`` is priced from: route miles without the pupil (``None``: nobody
left), whether a PA would still ride, the vehicle type carrying the pupil alone, its miles,
and whether the pupil needs a PA."""


def price_saving(
    basis: Basis,
    route: Route,
    vehicles: Mapping[str, VehicleType],
    params: Parameters,
) -> float:
    """``sharing_saving`` from its basis: the route without the pupil (0 when they ride alone)
    plus the pupil alone, each priced by :func:`transport.costing.route_cost` to the penny,
    less the route's annual cost."""
    without_miles, without_pa, alone_type, alone_miles, pupil_pa = basis
    without = 0.0
    if without_miles is not None:
        vehicle = vehicles[route.vehicle_type]
        without = round(route_cost(vehicle, round(without_miles, 2), without_pa, params), 2)
    alone_vehicle = vehicles[alone_type]
    alone = round(route_cost(alone_vehicle, round(alone_miles, 2), pupil_pa, params), 2)
    return round(without + alone - route.annual_cost, 2)


class _Geometry:
    """Minutes and miles among one route's schools and pickup points (forward matrices)."""

    def __init__(
        self,
        route: Route,
        visits: list[tuple[str, ...]],
        by_school: Mapping[str, SchoolTravel],
        pupils: Mapping[str, Pupil],
        schools: Mapping[str, School],
        travel: TravelModel,
    ) -> None:
        self.school_ids = list(route_schools(route))
        self.schools = [schools[s] for s in self.school_ids]
        if len(self.school_ids) == 1:
            st = by_school[self.school_ids[0]]
            self.minutes, self.miles = st.minutes, st.miles
            self.node = {pid: st.node(pid) for v in visits for pid in v}
            self.school_node = [0]
        else:  # a mixed-school route: travel among its schools and pickup points
            reps = [pupils[v[0]] for v in visits]
            points = stack_points(as_points(self.schools), as_points(reps))
            m = travel.travel_matrix(points, points)
            self.minutes = np.array(m.minutes, dtype=float)
            self.miles = np.array(m.miles, dtype=float)
            np.fill_diagonal(self.minutes, 0.0)
            np.fill_diagonal(self.miles, 0.0)
            k = len(self.schools)
            self.node = {pid: k + i for i, v in enumerate(visits) for pid in v}
            self.school_node = list(range(k))

    def school_of(self, placed: str) -> int:
        """The index (in visiting order) of a pupil's school on this route."""
        return self.school_ids.index(placed) if placed in self.school_ids else 0

    def path_miles(self, visits: Sequence[tuple[str, ...]], schools: Sequence[int]) -> float:
        """Miles from the first pickup through the visits to the schools, in order."""
        nodes = [self.node[v[0]] for v in visits] + [self.school_node[s] for s in schools]
        return float(sum(self.miles[a, b] for a, b in zip(nodes, nodes[1:], strict=False)))


def _afternoon(
    geo: _Geometry,
    visits: list[tuple[str, ...]],
    placed: Mapping[str, str],
    params: Parameters,
) -> dict[str, tuple[float, float]]:
    """Each pupil's afternoon ride and the time they leave school (minutes after midnight).

    One school: the vehicle leaves ``finish_at + 5`` and drops in reverse pickup order. A
    mixed-school route leaves the school it reached last in the morning first and calls at the
    other (leaving no earlier than 5 minutes after that school's end of day, with a dwell),
    then drops in reverse order: a pupil of the school left first rides the leg between the
    schools, the dwell and any wait too.
    """
    nodes = [geo.node[v[0]] for v in visits]
    sizes = [len(v) for v in visits]
    first = geo.school_node[0]
    rides, _ = visit_rides_and_miles(
        geo.minutes.T, geo.miles.T, nodes, sizes, params.travel, end=first
    )
    leave = geo.schools[0].finish_at + AFTERNOON_GAP_MIN
    extra = [0.0] * len(geo.schools)
    start = [float(leave)] * len(geo.schools)
    if len(geo.schools) > 1:
        last = len(geo.schools) - 1
        out = geo.schools[last].finish_at + AFTERNOON_GAP_MIN
        at_first = out + float(geo.minutes[geo.school_node[last], first]) + params.travel.dwell_min
        depart = max(at_first, float(leave))
        start = [depart] + [float(out)] * last
        extra = [0.0] + [depart - out] * last
    result: dict[str, tuple[float, float]] = {}
    for visit, ride in zip(visits, rides, strict=True):
        for pid in visit:
            s = geo.school_of(placed[pid])
            result[pid] = (ride + extra[s], start[s])
    return result


def _sentence(
    *,
    ride: float,
    limit: float,
    direct: float,
    code: str,
    saving: float | None,
    slack: float,
    strict: bool,
    afternoon: bool = False,
) -> str:
    run = "The afternoon ride home" if afternoon else "The ride"
    head = f"{run} takes {ride:.1f} min, {ride - limit:.1f} min over the {limit:g}-minute limit"
    share = (
        f"; sharing the vehicle saves {_money(saving)} a year against carrying this pupil alone"
        if saving is not None
        else ""
    )
    if code == AFTERNOON_ROADS:
        return (
            f"{head}: the roads home are slower than the roads to school, and the ride passes "
            f"even the allowance of the direct journey home ({direct:.1f} min) plus "
            f"{slack:g} minutes. Review this route's order for the afternoon."
        )
    if code == "long-direct" and direct > limit:
        rides = (
            "rides direct (picked up last, or alone)"
            if strict
            else f"may ride up to {direct + slack:.1f} min (the direct time plus {slack:g} minutes)"
        )
        return (
            f"{head}: the direct journey alone takes {direct:.1f} min, longer than the limit, so "
            f"no route can keep to it; the pupil {rides}{share}."
        )
    if code == "long-direct":
        return (
            f"{head}: the direct journey alone takes {direct:.1f} min, within {slack:g} minutes "
            f"of the limit, so the allowance (direct time plus {slack:g} minutes, "
            f"{direct + slack:.1f} min) passes the limit{share}."
        )
    return (
        f"{head} (the direct journey takes {direct:.1f} min) because sharing the vehicle saves "
        f"money: {_money(saving or 0.0)} a year against the same route without this pupil and "
        f"a vehicle carrying them alone."
    )


def explain_routes(
    routes: Sequence[Route],
    stops: Sequence[Stop],
    by_school: Mapping[str, SchoolTravel],
    data: Dataset,
    params: Parameters,
    *,
    travel: TravelModel,
    placed: Mapping[str, str],
    strict_limits: bool = False,
) -> tuple[RideExplanation, ...]:
    """Every stop's limit, direct time, reason and afternoon run, in the order of ``stops``.

    Parameters
    ----------
    routes, stops
        The finished plan.
    by_school
        Each school's travel among its pupils' pickup points (the plan's own matrices).
    data
        The data set planned (pupils, schools with ``finish_at``, vehicle types).
    params
        The plan's parameters (ride limits, dwell, costs).
    travel
        The travel model (for mixed-school routes, whose schools share no matrix).
    placed
        Each routed pupil's school.
    strict_limits
        Whether the plan kept strict limits (the allowance is then the direct time alone).
    """
    pupils, schools = data.pupil_by_id, data.school_by_id
    vehicles = {v.vehicle_type: v for v in data.vehicles}
    code_slack = float(params.ride.direct_slack_min)  # the contract's rule for the codes
    slack = 0.0 if strict_limits else code_slack  # the allowance the plan kept
    by_key: dict[tuple[str, str], RideExplanation] = {}
    ride_of = {(s.route_id, s.pupil_id): s.ride_min for s in stops}
    for route in routes:
        visits = _visits(route, pupils)
        geo = _Geometry(route, visits, by_school, pupils, schools, travel)
        pm = _afternoon(geo, visits, placed, params)
        for visit in visits:
            for pid in visit:
                pupil = pupils[pid]
                s = geo.school_of(placed[pid])
                node, school = geo.node[pid], geo.school_node[s]
                limit = float(params.ride.limit_for(pupil))
                direct = _one(geo.minutes[node, school])
                ride = _one(ride_of[route.route_id, pid])
                pm_ride, leave = pm[pid]
                pm_direct = _one(geo.minutes[school, node])
                over = max(0.0, round(ride - limit, 1))
                pm_over = max(0.0, round(_one(pm_ride) - limit, 1))
                basis = saving = None
                if over > 0 or pm_over > 0:
                    basis = _saving_basis(route, visits, pid, geo, data, params, placed)
                    if basis is not None:
                        saving = price_saving(basis, route, vehicles, params)
                code = text = ""
                if over > 0:
                    code = "long-direct" if direct > limit - code_slack + EPS else "shared-saving"
                    text = _sentence(
                        ride=ride,
                        limit=limit,
                        direct=direct,
                        code=code,
                        saving=saving,
                        slack=slack,
                        strict=strict_limits,
                    )
                pm_code = pm_text = ""
                if pm_over > 0:
                    allowance = max(limit, pm_direct + slack)
                    if _one(pm_ride) > allowance + 0.05:
                        pm_code = AFTERNOON_ROADS
                    elif pm_direct > limit - code_slack + EPS:
                        pm_code = "long-direct"
                    else:
                        pm_code = "shared-saving"
                    pm_text = _sentence(
                        ride=_one(pm_ride),
                        limit=limit,
                        direct=pm_direct,
                        code=pm_code,
                        saving=saving,
                        slack=slack,
                        strict=strict_limits,
                        afternoon=True,
                    )
                by_key[route.route_id, pid] = RideExplanation(
                    route_id=route.route_id,
                    pupil_id=pid,
                    limit_min=limit,
                    direct_min=direct,
                    over_min=over,
                    reason_code=code,
                    reason=text,
                    sharing_saving=saving if over > 0 else None,
                    dropoff=leave + pm_ride,
                    pm_ride_min=pm_ride,
                    pm_over_min=pm_over,
                    pm_reason_code=pm_code,
                    pm_reason=pm_text,
                    saving_basis=basis,
                )
    return tuple(by_key[s.route_id, s.pupil_id] for s in stops)


def _saving_basis(
    route: Route,
    visits: list[tuple[str, ...]],
    pid: str,
    geo: _Geometry,
    data: Dataset,
    params: Parameters,
    placed: Mapping[str, str],
) -> Basis | None:
    """What ``sharing_saving`` is priced from (``None`` when no vehicle type can carry the
    pupil alone): the same route without the pupil (same vehicle type, same order; a school
    none of its pupils is left for is not driven to) and the pupil alone."""
    pupils = data.pupil_by_id
    rest = [v for v in (tuple(p for p in visit if p != pid) for visit in visits) if v]
    without_miles: float | None = None
    without_pa = False
    if rest:
        remaining = [p for v in rest for p in v]
        drive_to = sorted({geo.school_of(placed[p]) for p in remaining})
        without_miles = geo.path_miles(rest, drive_to)
        without_pa = any(pupils[p].needs_pa for p in remaining)
    alone_miles = float(geo.miles[geo.node[pid], geo.school_node[geo.school_of(placed[pid])]])
    alone = cheapest_alone(pupils[pid], alone_miles, data.vehicles, params)
    if alone is None or not math.isfinite(alone_miles):
        return None
    return (without_miles, without_pa, alone[0], alone_miles, pupils[pid].needs_pa)


def reprice_explanations(
    explanations: Sequence[RideExplanation],
    routes: Sequence[Route],
    data: Dataset,
    params: Parameters,
) -> tuple[RideExplanation, ...]:
    """``sharing_saving`` (and the sentences that state it) at other prices: ``routes``,
    ``data`` and ``params`` are the re-priced ones."""
    vehicles = {v.vehicle_type: v for v in data.vehicles}
    by_id = {r.route_id: r for r in routes}
    out = []
    for e in explanations:
        if e.saving_basis is None or e.sharing_saving is None:
            out.append(e)
            continue
        saving = price_saving(e.saving_basis, by_id[e.route_id], vehicles, params)
        old, new = _money(e.sharing_saving), _money(saving)
        out.append(
            replace(
                e,
                sharing_saving=saving,
                reason=e.reason.replace(old, new),
                pm_reason=e.pm_reason.replace(old, new),
            )
        )
    return tuple(out)


def summarise_explanations(explanations: Sequence[RideExplanation]) -> dict[str, Any]:
    """Totals of a plan's reasons and afternoon run for summary.json: rides over their limit
    by reason code (morning and afternoon), the afternoon's ride times."""
    over = [e for e in explanations if e.over_min > 0]
    pm = [e for e in explanations if e.pm_over_min > 0]
    pm_rides = np.array(
        [e.pm_ride_min for e in explanations if e.pm_ride_min is not None], dtype=float
    )
    by_reason = {code: sum(1 for e in over if e.reason_code == code) for code in REASON_CODES}
    pm_reason = {
        code: sum(1 for e in pm if e.pm_reason_code == code)
        for code in (*REASON_CODES, AFTERNOON_ROADS)
    }
    return {
        "pupils_over_limit": len(over),
        "over_limit_by_reason": by_reason,
        "max_over_limit_min": round(max((e.over_min for e in over), default=0.0), 1),
        "sharing_saving_over_limit": round(
            sum(e.sharing_saving or 0.0 for e in over if e.reason_code == "shared-saving"), 2
        ),
        "pm_mean_ride_min": round(float(pm_rides.mean()), 1) if len(pm_rides) else None,
        "pm_max_ride_min": round(float(pm_rides.max()), 1) if len(pm_rides) else None,
        "pm_pupils_over_45_min": int((pm_rides > 45.0).sum()),
        "pm_pupils_over_75_min": int((pm_rides > 75.0).sum()),
        "pm_pupils_over_limit": len(pm),
        "pm_over_limit_by_reason": pm_reason,
    }
