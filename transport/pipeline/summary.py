"""RunSummary: what a place or solve run found, typed; its JSON form is summary.json.

The keys and their order are the contract's and docs/formats.md's ("summary.json"): the
dataclass only gives them types, so that the command line, the compare table and the tests
read ``summary.pupils_routed`` rather than ``summary["pupils_routed"]``. :meth:`RunSummary.to_dict`
gives the JSON document; :meth:`RunSummary.from_dict` reads one back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from transport.costing import PriceFactors
from transport.model import Dataset, Parameters, PlacementResult
from transport.placement import summarise_placement
from transport.placement.capacity import CapacityRow
from transport.scenario import Scenario
from transport.travel import TravelModel

if TYPE_CHECKING:
    from transport.routing import RoutePlan


@dataclass(frozen=True)
class ScenarioDetails:
    """What a scenario changed on top of the data: written by compare (and by solve when it
    applies capacity changes or other prices). ``prices`` holds the factors and the vehicle
    rates used; ``capacity`` the places added and the rows of capacity.csv; ``reused`` the
    stages taken from the cache."""

    description: str
    scope: str
    prices: Mapping[str, Any]
    capacity: Mapping[str, Any]
    reused: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunSummary:
    """summary.json of a placement run (``stage = "place"``) or a solve run (``"solve"``).

    ``unplaced`` and ``unrouted`` map each pupil left out to the reason. ``placement`` holds
    the placement's totals (:func:`transport.placement.summarise_placement`), ``transport`` the
    plan's (:meth:`transport.routing.RoutePlan.summary`), ``parameters`` every parameter used.
    """

    stage: str
    policy: str
    data: str
    pupils: int
    annual_place_cost: float
    unplaced: Mapping[str, str]
    placement: Mapping[str, Any]
    parameters: Mapping[str, Any]
    scenario: str | None = None
    shortfall_by_need: Mapping[str, int] = field(default_factory=dict)
    routes: int = 0
    annual_transport_cost: float | None = None
    unrouted: Mapping[str, str] = field(default_factory=dict)
    transport: Mapping[str, Any] = field(default_factory=dict)
    school_status: Mapping[str, str] = field(default_factory=dict)
    routing: Mapping[str, Any] = field(default_factory=dict)
    time_limit_schools: tuple[str, ...] = ()
    wall_time_s: float = 0.0
    details: ScenarioDetails | None = None
    route_ids: Mapping[str, Any] | None = None
    stability: Mapping[str, Any] | None = None
    pupil_digests: Mapping[str, Any] | None = None

    # the plan's headline figures, read from its totals -------------------------------------

    @property
    def pupils_routed(self) -> int:
        return int(self.transport.get("pupils_routed", 0))

    @property
    def vehicles_by_type(self) -> dict[str, int]:
        return dict(self.transport.get("vehicles_by_type", {}))

    @property
    def passenger_assistants(self) -> int:
        return int(self.transport.get("passenger_assistants", 0))

    @property
    def mean_ride_min(self) -> float | None:
        return self.transport.get("mean_ride_min")

    @property
    def max_ride_min(self) -> float | None:
        return self.transport.get("max_ride_min")

    @property
    def pupils_over_45_min(self) -> int:
        return int(self.transport.get("pupils_over_45_min", 0))

    @property
    def pupils_over_75_min(self) -> int:
        return int(self.transport.get("pupils_over_75_min", 0))

    @property
    def pupils_over_limit(self) -> int:
        """Pupils whose morning ride passes their own limit (each has a reason in stops.csv)."""
        return int(self.transport.get("pupils_over_limit", 0))

    @property
    def over_limit_by_reason(self) -> dict[str, int]:
        return dict(self.transport.get("over_limit_by_reason") or {})

    @property
    def pm_pupils_over_limit(self) -> int:
        return int(self.transport.get("pm_pupils_over_limit", 0))

    @property
    def cost_per_pupil(self) -> float | None:
        return self.transport.get("cost_per_pupil")

    @property
    def time_limit_reached(self) -> bool:
        """True when any school's search stopped at its share of the time limit (or on the
        clock) instead of proving its plan optimal: the plan is the best found in time."""
        return bool(self.time_limit_schools)

    @property
    def places_missing(self) -> int:
        return int(self.placement.get("places_missing", 0))

    @property
    def pupils_in_independent_places(self) -> int:
        return int(self.placement.get("pupils_in_independent_places", 0))

    # JSON ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The summary.json document, keys in the documented order."""
        if self.stage == "place":
            return {
                "stage": "place",
                "policy": self.policy,
                "data": self.data,
                "pupils": self.pupils,
                "routes": 0,
                "annual_transport_cost": None,
                "annual_place_cost": self.annual_place_cost,
                "unplaced": list(self.unplaced),
                "unplaced_reasons": dict(self.unplaced),
                "unrouted": [],
                "placement": dict(self.placement),
                "shortfall_by_need": dict(self.shortfall_by_need),
                "parameters": dict(self.parameters),
            }
        doc: dict[str, Any] = {
            "stage": self.stage,
            "scenario": self.scenario,
            "policy": self.policy,
            "data": self.data,
            "pupils": self.pupils,
            "routes": self.routes,
            "annual_transport_cost": self.annual_transport_cost,
            "annual_place_cost": self.annual_place_cost,
            "unplaced": list(self.unplaced),
            "unrouted": list(self.unrouted),
            "unplaced_reasons": dict(self.unplaced),
            "unrouted_reasons": dict(self.unrouted),
            "pupils_routed": self.pupils_routed,
            "vehicles_by_type": self.vehicles_by_type,
            "passenger_assistants": self.passenger_assistants,
            "mean_ride_min": self.mean_ride_min,
            "max_ride_min": self.max_ride_min,
            "pupils_over_45_min": self.pupils_over_45_min,
            "pupils_over_75_min": self.pupils_over_75_min,
            "cost_per_pupil": self.cost_per_pupil,
            "time_limit_reached": self.time_limit_reached,
            "time_limit_schools": list(self.time_limit_schools),
            "transport": dict(self.transport),
            "placement": dict(self.placement),
            "school_status": dict(self.school_status),
            "routing": dict(self.routing),
            "wall_time_s": self.wall_time_s,
            "parameters": dict(self.parameters),
            "route_ids": dict(self.route_ids) if self.route_ids is not None else None,
            "stability": dict(self.stability) if self.stability is not None else None,
        }
        if self.pupil_digests is not None:
            doc["pupil_digests"] = dict(self.pupil_digests)
        if self.details is not None:
            d = self.details
            doc.update(
                description=d.description,
                scope=d.scope,
                prices=dict(d.prices),
                capacity=dict(d.capacity),
                reused=list(d.reused),
            )
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunSummary:
        """A summary.json document read back (the inverse of :meth:`to_dict`)."""
        unplaced = doc.get("unplaced_reasons") or dict.fromkeys(doc.get("unplaced") or (), "")
        unrouted = doc.get("unrouted_reasons") or dict.fromkeys(doc.get("unrouted") or (), "")
        details = None
        if "reused" in doc:
            details = ScenarioDetails(
                description=doc.get("description", ""),
                scope=doc.get("scope", "all"),
                prices=doc.get("prices") or {},
                capacity=doc.get("capacity") or {},
                reused=tuple(doc.get("reused") or ()),
            )
        return cls(
            stage=doc["stage"],
            policy=doc["policy"],
            data=doc.get("data", ""),
            pupils=int(doc["pupils"]),
            annual_place_cost=doc["annual_place_cost"],
            unplaced=dict(unplaced),
            placement=doc.get("placement") or {},
            parameters=doc.get("parameters") or {},
            scenario=doc.get("scenario"),
            shortfall_by_need=doc.get("shortfall_by_need") or {},
            routes=int(doc.get("routes") or 0),
            annual_transport_cost=doc.get("annual_transport_cost"),
            unrouted=dict(unrouted),
            transport=doc.get("transport") or {},
            school_status=doc.get("school_status") or {},
            routing=doc.get("routing") or {},
            time_limit_schools=tuple(doc.get("time_limit_schools") or ()),
            wall_time_s=float(doc.get("wall_time_s") or 0.0),
            details=details,
            route_ids=doc.get("route_ids"),
            stability=doc.get("stability"),
            pupil_digests=doc.get("pupil_digests"),
        )


def placement_summary(
    data: Dataset, result: PlacementResult, params: Parameters, travel: TravelModel
) -> RunSummary:
    totals = summarise_placement(data, result, params)
    return RunSummary(
        stage="place",
        policy=result.policy,
        data=data.source,
        pupils=len(data.pupils),
        annual_place_cost=totals["annual_place_cost"],
        unplaced={u.pupil_id: u.reason for u in result.unplaced},
        placement=totals,
        shortfall_by_need=_shortfall_by_need(result),
        parameters={**params.to_dict(), "travel_model": travel.describe(), "policy": result.policy},
    )


def _shortfall_by_need(result: PlacementResult) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in result.shortfall:
        out[s.need] = out.get(s.need, 0) + s.missing
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def solve_summary(
    data: Dataset,
    placements: PlacementResult,
    plan: RoutePlan,
    params: Parameters,
    travel: TravelModel,
    sc: Scenario,
    wall_s: float,
    details: ScenarioDetails | None,
) -> RunSummary:
    """A solve run's summary: ``time_limit_schools`` are the schools whose search stopped at
    its share of the time limit (status ``feasible (time limit)``, or no solution within it, or
    a wall-clock stop) rather than proving its plan optimal."""
    totals = summarise_placement(data, placements, params)
    limited = {sid for sid, status in plan.school_status.items() if "time limit" in status}
    limited |= set((plan.info or {}).get("schools_stopped_by_clock") or ())
    return RunSummary(
        stage="solve",
        scenario=sc.name,
        policy=placements.policy,
        data=data.source,
        pupils=len(data.pupils),
        routes=len(plan.routes),
        annual_transport_cost=plan.annual_transport_cost,
        annual_place_cost=totals["annual_place_cost"],
        unplaced={u.pupil_id: u.reason for u in placements.unplaced},
        unrouted={u.pupil_id: u.reason for u in plan.unrouted},
        transport=plan.summary(data, params),
        placement=totals,
        school_status=dict(sorted(plan.school_status.items())),
        routing=plan.info,
        time_limit_schools=tuple(sorted(limited)),
        wall_time_s=round(wall_s, 2),
        parameters={
            **params.to_dict(),
            "travel_model": travel.describe(),
            "policy": placements.policy,
            "routing": sc.routing.to_dict(),
        },
        details=details,
    )


def scenario_details(
    sc: Scenario,
    data: Dataset,
    factors: PriceFactors,
    rows: list[CapacityRow],
    reused: list[str],
) -> ScenarioDetails:
    return ScenarioDetails(
        description=sc.description,
        scope=sc.placement.scope,
        prices={
            **factors.describe(),
            "vehicles": {
                v.vehicle_type: {
                    "day_rate": round(v.day_rate, 4),
                    "per_mile": round(v.per_mile, 4),
                }
                for v in data.vehicles
            },
        },
        capacity={
            "places_added": sum(r.places_added for r in rows),
            "changes": [asdict(r) for r in rows],
        },
        reused=tuple(reused),
    )
