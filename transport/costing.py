"""Costing: the rate card, the cost of a route, and prices of 2013 or today.

The contract's annual cost of a route is defined here and nowhere else
(:func:`route_cost`): ``school_days × (day_rate + per_mile × 2 × route_miles + pa_day_rate if
has_pa)``; the factor 2 stands for the afternoon run, planned as the mirror of the morning.
:func:`route_rate` splits it into a fixed part and a part per route mile (the rate card the
routing solvers price in pence).

Prices: the data's unit costs (2013) or today's, as multipliers of the data's own.

The embedded data and the contract price everything at 2013 rates (the strategy's own year).
A scenario's ``[prices] basis = "today"`` multiplies them by two factors:

``transport`` (default for today: 8,100 / 4,250 = 1.906)
    multiplies every vehicle type's ``day_rate`` and ``per_mile``, the passenger assistants'
    ``pa_day_rate`` and the placement estimate ``est_cost_per_pupil_mile``. Source
    (../shared/domain.md, "Unit costs"): Kent's 2023 average SEN transport cost per pupil,
    £8,100 a year, against 2013's £17m for 4,000+ pupils, about £4,250 per pupil. The ratio
    of costs per pupil also holds longer and more single-occupancy journeys, so it is an
    upper estimate of the rise in unit prices alone. (England 2023-24: £8,116 per child, NAO.)
``place`` (default for today: 1.0)
    multiplies every school's ``place_cost``. The domain file states no 2023-24 place costs
    (only 2013's: £15,000 resourced, £20,000 Kent special, £30,000 independent day), so place
    costs stay at 2013 rates unless the scenario sets ``place_factor`` (for instance the
    consumer price index's rise since 2013, an outside figure to choose and cite).

Why re-price and not re-solve: multiplying every day rate, per-mile rate and the PA day rate
by the same factor multiplies every route's cost by that factor, so the routing optimum is the
same plan; ``sen-transport compare`` therefore plans routes at the data's own rates (re-using
the 2013 plan from its cache) and re-prices each route exactly with :func:`reprice_routes`.
Placement policies that ignore prices (``nearest-with-capacity``, ``nearest-suitable``,
``keep``) place the same pupils; ``optimal``, whose objective mixes place and transport costs,
is solved again at the scaled prices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from transport.model import (
    CostParams,
    Dataset,
    Parameters,
    Route,
    VehicleType,
    pupil_school,
    route_schools,
)


def route_cost(vehicle: VehicleType, route_miles: Any, has_pa: bool, params: Parameters) -> Any:
    """The contract's annual cost of a route, in £ (unrounded).

    ``school_days × (day_rate + per_mile × 2 × route_miles + pa_day_rate if has_pa)``.
    ``route_miles`` may be a number or a numpy array (then so is the cost).

    Examples
    --------
    >>> taxi = VehicleType("taxi", 4, 0, 38.0, 0.95, None)
    >>> round(route_cost(taxi, 10.0, False, Parameters()), 2)
    10830.0
    """
    cost = params.cost
    day = vehicle.day_rate + vehicle.per_mile * 2.0 * route_miles
    if has_pa:
        day += cost.pa_day_rate
    return cost.school_days * day


@dataclass(frozen=True)
class RouteRate:
    """The rate card of one vehicle type, with or without a PA, in £ a year.

    ``fixed + per_route_mile × route_miles`` is :func:`route_cost` (to rounding).
    """

    vehicle_type: str
    has_pa: bool
    fixed: float
    per_route_mile: float


def route_rate(vehicle: VehicleType, has_pa: bool, params: Parameters) -> RouteRate:
    """The annual fixed cost (vehicle and PA day rates) and cost per one-way route mile."""
    days = params.cost.school_days
    day = vehicle.day_rate + (params.cost.pa_day_rate if has_pa else 0.0)
    return RouteRate(vehicle.vehicle_type, has_pa, days * day, days * 2.0 * vehicle.per_mile)


KENT_2013_COST_PER_PUPIL = 4_250.0
"""£17m a year for 4,000+ SEN pupils (Kent SEND Strategy 2013; ../shared/domain.md)."""

KENT_2023_COST_PER_PUPIL = 8_100.0
"""Kent's 2023 average SEN transport cost per pupil (../shared/domain.md, "Unit costs")."""

TODAY_TRANSPORT_FACTOR = KENT_2023_COST_PER_PUPIL / KENT_2013_COST_PER_PUPIL
TODAY_PLACE_FACTOR = 1.0


@dataclass(frozen=True)
class PriceFactors:
    """Multipliers of the data's unit costs: ``transport`` (vehicles, PAs) and ``place``."""

    basis: str = "2013"
    transport: float = 1.0
    place: float = 1.0

    @property
    def is_identity(self) -> bool:
        return self.transport == 1.0 and self.place == 1.0

    def describe(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "transport_factor": round(self.transport, 6),
            "place_factor": round(self.place, 6),
        }


def price_factors(
    basis: str, *, transport: float | None = None, place: float | None = None
) -> PriceFactors:
    """The factors of a basis (``"2013"`` or ``"today"``), each overridable."""
    if basis == "today":
        default_t, default_p = TODAY_TRANSPORT_FACTOR, TODAY_PLACE_FACTOR
    else:
        default_t, default_p = 1.0, 1.0
    return PriceFactors(
        basis=basis,
        transport=float(transport) if transport is not None else default_t,
        place=float(place) if place is not None else default_p,
    )


def reprice_dataset(data: Dataset, factors: PriceFactors) -> Dataset:
    """The data set with vehicle rates × ``transport`` and place costs × ``place``."""
    if factors.is_identity:
        return data
    vehicles = tuple(
        replace(v, day_rate=v.day_rate * factors.transport, per_mile=v.per_mile * factors.transport)
        for v in data.vehicles
    )
    schools = tuple(replace(s, place_cost=s.place_cost * factors.place) for s in data.schools)
    return Dataset(
        schools=schools,
        pupils=data.pupils,
        vehicles=vehicles,
        incompatible=data.incompatible,
        source=data.source,
    )


def reprice_params(params: Parameters, factors: PriceFactors) -> Parameters:
    """Parameters with the PA day rate and the £ per pupil-mile estimate × ``transport``."""
    if factors.transport == 1.0:
        return params
    cost: CostParams = replace(
        params.cost,
        pa_day_rate=params.cost.pa_day_rate * factors.transport,
        est_cost_per_pupil_mile=params.cost.est_cost_per_pupil_mile * factors.transport,
    )
    return replace(params, cost=cost)


def reprice_routes(routes: Sequence[Route], data: Dataset, params: Parameters) -> tuple[Route, ...]:
    """Each route's annual cost recomputed (to the penny) from ``data``'s vehicle rates.

    ``data`` and ``params`` are the re-priced ones; the cost is :func:`route_cost`.
    """
    vehicles = {v.vehicle_type: v for v in data.vehicles}
    return tuple(
        replace(
            r,
            annual_cost=round(
                route_cost(vehicles[r.vehicle_type], r.route_miles, r.has_pa, params), 2
            ),
        )
        for r in routes
    )


def cost_by_school(route: Route, placed: Mapping[str, str]) -> dict[str, float]:
    """A route's annual cost attributed to the schools it serves (£, to the penny).

    A single-school route's whole cost goes to its school. A mixed-school route's cost is
    shared equally per pupil, each pupil's share going to their own school (their placement,
    :func:`transport.model.pupil_school`): a school with 3 of the route's 4 pupils carries 3/4
    of it. Shares are whole pence and the remainder goes to the route's first school, so the
    shares always sum to the route's cost.

    Parameters
    ----------
    route
        The route (routes.csv's ``annual_cost``).
    placed
        ``{pupil_id: school_id}`` of the run's placements.

    Returns
    -------
    dict
        ``{school_id: £ a year}``, the schools in visiting order.

    Examples
    --------
    >>> r = Route("R1", "S1;S2", "taxi", False, ("A", "B", "C"), 5.0, 100.0)
    >>> cost_by_school(r, {"A": "S1", "B": "S2", "C": "S2"})
    {'S1': 33.34, 'S2': 66.66}
    """
    schools = route_schools(route)
    if len(schools) == 1 or not route.pupils:
        return {schools[0]: route.annual_cost}
    pence = round(route.annual_cost * 100)
    riders = dict.fromkeys(schools, 0)
    for p in route.pupils:
        riders[pupil_school(route, p, placed)] += 1
    shares = {s: pence * n // len(route.pupils) for s, n in riders.items()}
    shares[schools[0]] += pence - sum(shares.values())
    return {s: v / 100 for s, v in shares.items()}
