"""From solved drafts to the contract's routes and stops, in the travel model's own units.

Everything here is in float miles and minutes from the :class:`~transport.travel.TravelModel`
(the integer matrices were only for the solvers). A route's ``route_miles`` is rounded to the
hundredth of a mile written in routes.csv and its annual cost is computed from that figure, so
that anyone can recompute the cost from the file. Pickup times are rounded *down* to the
minute, so that pickup + ride never passes ``arrive_by``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from transport.model import Parameters, Pupil, Route, School, Stop, TravelParams, VehicleType
from transport.routing._problem import route_cost


@dataclass(frozen=True)
class SchoolTravel:
    """One school's pupils (routable ones, solo included) and float travel among their pickup
    points: index 0 is the school, pupils of one stop share a point."""

    school: School
    pupils: tuple[Pupil, ...]
    miles: np.ndarray
    minutes: np.ndarray
    places: dict[str, int]

    def node(self, pupil_id: str) -> int:
        """The index of a pupil's pickup point in the matrices."""
        return self.places[pupil_id]

    def direct_min(self, pupil_id: str) -> float:
        return float(self.minutes[self.node(pupil_id), 0])


Visits = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class RouteSpec:
    """A finished route before numbering: school, vehicle type and pickup visits in order.

    ``visits`` holds the pupils boarding at each pickup (one pupil at their own door, or the
    pupils of a shared stop). A mixed-school route (``school_id`` ``"A;B"``, schools in visiting
    order) carries its own ``rides`` (per pupil, to their school), ``miles`` and each pupil's
    ``arrival`` at school, in minutes after midnight; a one-school route leaves them to
    :func:`build_routes`.
    """

    school_id: str
    vehicle: VehicleType
    has_pa: bool
    visits: Visits
    rides: tuple[float, ...] | None = None
    miles: float | None = None
    arrival: tuple[float, ...] | None = None

    @property
    def pupils(self) -> tuple[str, ...]:
        return tuple(p for visit in self.visits for p in visit)


def visit_rides_and_miles(
    minutes: np.ndarray,
    miles: np.ndarray,
    nodes: Sequence[int],
    sizes: Sequence[int],
    travel: TravelParams,
    end: int = 0,
) -> tuple[list[float], float]:
    """Ride (minutes) of each visit of a pickup order to point ``end``, and the route miles.

    ``nodes`` are the visits' points in the matrices and ``sizes`` the pupils boarding at each;
    a visit's dwell (``travel.dwell_of_visit``) is added to the ride of every earlier visit.
    """
    rides = [0.0] * len(nodes)
    t = float(minutes[nodes[-1], end])
    dist = float(miles[nodes[-1], end])
    rides[-1] = t
    for j in range(len(nodes) - 2, -1, -1):
        t += float(minutes[nodes[j], nodes[j + 1]]) + travel.dwell_of_visit(sizes[j + 1])
        dist += float(miles[nodes[j], nodes[j + 1]])
        rides[j] = t
    return rides, dist


def rides_and_miles(
    st: SchoolTravel, visits: Visits, travel: TravelParams
) -> tuple[list[float], float]:
    """Each pupil's ride in minutes (pickup order) and the route miles, first pickup to school."""
    nodes = [st.node(v[0]) for v in visits]
    rides, miles = visit_rides_and_miles(
        st.minutes, st.miles, nodes, [len(v) for v in visits], travel
    )
    return [r for r, v in zip(rides, visits, strict=True) for _ in v], miles


def build_routes(
    specs: Sequence[RouteSpec],
    travel_by_school: dict[str, SchoolTravel],
    *,
    params: Parameters,
) -> tuple[tuple[Route, ...], tuple[Stop, ...]]:
    """Number the routes (by school, then first pickup) and compute miles, costs and stops.

    Pupils of one visit are consecutive in stops.csv with the same pickup time and ride.
    """
    rows = []
    for spec in specs:
        if spec.rides is not None and spec.miles is not None and spec.arrival is not None:
            rides, miles, arrival = list(spec.rides), spec.miles, list(spec.arrival)
        else:
            st = travel_by_school[spec.school_id]
            rides, miles = rides_and_miles(st, spec.visits, params.travel)
            arrival = [float(st.school.arrive_by)] * len(rides)
        rows.append((spec, rides, round(miles, 2), arrival))
    rows.sort(key=lambda r: (r[0].school_id, -r[1][0], r[0].pupils))
    routes: list[Route] = []
    stops: list[Stop] = []
    for k, (spec, rides, miles, arrival) in enumerate(rows, start=1):
        route_id = f"R{k:04d}"
        cost = round(route_cost(spec.vehicle, miles, spec.has_pa, params), 2)
        routes.append(
            Route(
                route_id=route_id,
                school_id=spec.school_id,
                vehicle_type=spec.vehicle.vehicle_type,
                has_pa=spec.has_pa,
                pupils=spec.pupils,
                route_miles=miles,
                annual_cost=cost,
            )
        )
        for seq, (pupil_id, ride, at) in enumerate(
            zip(spec.pupils, rides, arrival, strict=True), start=1
        ):
            stops.append(
                Stop(
                    route_id=route_id,
                    seq=seq,
                    pupil_id=pupil_id,
                    pickup=float(math.floor(at - ride)),
                    ride_min=ride,
                )
            )
    return tuple(routes), tuple(stops)


def summarise_routes(
    routes: Sequence[Route],
    stops: Sequence[Stop],
    *,
    vehicles: Sequence[VehicleType],
    pupils_placed: int,
    unrouted: int,
) -> dict[str, Any]:
    """Totals of a plan: vehicles by type, PAs, ride times and costs (money in £)."""
    rides = np.array([s.ride_min for s in stops], dtype=float)
    total = round(sum(r.annual_cost for r in routes), 2)
    by_type = Counter(r.vehicle_type for r in routes)
    routed = len(stops)
    return {
        "routes": len(routes),
        "pupils_routed": routed,
        "pupils_placed": pupils_placed,
        "pupils_unrouted": unrouted,
        "annual_transport_cost": total,
        "cost_per_pupil": round(total / routed, 2) if routed else None,
        "vehicles_by_type": {v.vehicle_type: by_type.get(v.vehicle_type, 0) for v in vehicles},
        "passenger_assistants": sum(1 for r in routes if r.has_pa),
        "solo_routes": sum(1 for r in routes if len(r.pupils) == 1),
        "mean_pupils_per_route": round(routed / len(routes), 2) if routes else None,
        "route_miles": round(sum(r.route_miles for r in routes), 1),
        "mean_ride_min": round(float(rides.mean()), 1) if routed else None,
        "max_ride_min": round(float(rides.max()), 1) if routed else None,
        "pupils_over_45_min": int((rides > 45.0).sum()),
        "pupils_over_75_min": int((rides > 75.0).sum()),
    }
