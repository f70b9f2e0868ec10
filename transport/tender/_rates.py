"""The rate card a solved run was priced with: vehicle rates, PA day rate and school days.

Tender, award and impact price nothing of their own: each route's annual cost is the contract's
``school_days × (day_rate + per_mile × 2 × route_miles + pa_day_rate if has_pa)``, computed by
the one rate-card function :func:`route_cost` and rounded to the penny, exactly as the run's
routes.csv was written. The run's summary.json gives the school days and PA day rate it used
and, for a scenario priced at today's rates (``sen-transport compare``), the price factor on
the data's vehicle rates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from transport.costing import price_factors, reprice_dataset, route_cost
from transport.errors import InputError, Problem
from transport.model import CostParams, Dataset, Parameters, Route, VehicleType

__all__ = ["RateCard", "rate_card", "route_cost"]


@dataclass(frozen=True)
class RateCard:
    """What prices a run's routes: its vehicle types (at the run's prices) and parameters."""

    vehicles: dict[str, VehicleType]
    params: Parameters
    transport_factor: float = 1.0

    @property
    def school_days(self) -> int:
        return self.params.cost.school_days

    @property
    def pa_day_rate(self) -> float:
        return self.params.cost.pa_day_rate

    def annual_cost(self, route: Route) -> float:
        """The route's annual cost to the penny, as routes.csv gives it."""
        vehicle = self.vehicles[route.vehicle_type]
        return round(route_cost(vehicle, round(route.route_miles, 2), route.has_pa, self.params), 2)

    def describe(self) -> dict[str, Any]:
        return {
            "school_days": self.school_days,
            "pa_day_rate": self.pa_day_rate,
            "transport_factor": self.transport_factor,
            "vehicles": {
                v.vehicle_type: {
                    "seats": v.seats,
                    "wheelchair_spaces": v.wheelchair_spaces,
                    "day_rate": v.day_rate,
                    "per_mile": v.per_mile,
                }
                for v in self.vehicles.values()
            },
        }


def rate_card(summary: dict[str, Any], data: Dataset) -> RateCard:
    """The rate card of a run: ``data``'s vehicle types and the run's cost parameters.

    Parameters
    ----------
    summary
        The run's summary.json. ``parameters.cost`` gives ``school_days`` and ``pa_day_rate``
        (defaults when absent); ``prices.transport_factor`` (a scenario at today's prices)
        multiplies the data's vehicle rates, as the run did.
    data
        The data folder the run was solved from.

    Raises
    ------
    InputError
        When the run's cost parameters are impossible.
    """
    cost_given = (summary.get("parameters") or {}).get("cost") or {}
    names = {f.name for f in fields(CostParams)}
    try:
        cost = CostParams(**{k: v for k, v in cost_given.items() if k in names})
    except (TypeError, ValueError) as exc:
        raise InputError([Problem("summary.json", None, "parameters.cost", str(exc))]) from None
    factor = float((summary.get("prices") or {}).get("transport_factor", 1.0) or 1.0)
    priced = reprice_dataset(data, price_factors("run", transport=factor))
    return RateCard(
        vehicles={v.vehicle_type: v for v in priced.vehicles},
        params=Parameters(cost=cost),
        transport_factor=factor,
    )
