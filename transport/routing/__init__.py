"""Route: plan the vehicles that take placed pupils to school, at the least annual cost.

The only module of the engine that imports a routing solver (OR-Tools, PyVRP). The plan is
decomposed by school; each school's pupils form a sub-problem solved *reversed* (from the
school, dropping off in reverse pickup order, with a free return), so that a pupil's ride is
the time from the school in the reversed route and a ride limit is a plain time window.

Every rule of the contract's "What a route is" holds in the plan: vehicle types and their
``available`` caps (shared among schools), seats and wheelchair spaces, a PA on any route with
a pupil who needs one (taking a seat), solo pupils alone, incompatible pupils apart, each ride
within the pupil's effective limit, and arrival at ``arrive_by``.

Examples
--------
>>> from transport.data.validate import read_dataset  # doctest: +SKIP
>>> from transport.placement import place_pupils  # doctest: +SKIP
>>> data = read_dataset("tests/data/tiny")  # doctest: +SKIP
>>> plan = plan_routes(data, place_pupils(data, policy="keep"),
...                    options=RoutingOptions(time_limit_s=5))  # doctest: +SKIP
>>> plan.summary(data, Parameters())["annual_transport_cost"]  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from transport.costing import route_cost
from transport.data.bounds import early_pickups
from transport.errors import RoutingError
from transport.executor import Executor
from transport.model import (
    Dataset,
    Parameters,
    PlacementResult,
    RideExplanation,
    Route,
    Stop,
    Unrouted,
)
from transport.routing._pipeline import run_plan
from transport.routing._plan import summarise_routes
from transport.routing._solve import WORK_UNIT_MOVES, Effort, RoutingWarning
from transport.routing.explain import summarise_explanations
from transport.routing.replan import PreviousPlan, replan_routes
from transport.scenario import BACKENDS, RoutingSettings
from transport.travel import CrowFlyModel, TravelModel

__all__ = [
    "BACKENDS",
    "ProgressEvent",
    "RoutePlan",
    "RoutingOptions",
    "RoutingSettings",
    "RoutingWarning",
    "WORK_UNIT_MOVES",
    "PreviousPlan",
    "plan_routes",
    "replan_routes",
    "route_cost",
]

RoutingOptions = RoutingSettings
"""How to solve (backend, time or work limit, seed, workers, strict limits, mixed-school
routes): the scenario's ``[routing]`` settings, :class:`transport.scenario.RoutingSettings`
(the same class)."""


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of a plan, sent to the ``progress`` callback as schools are solved."""

    schools_done: int
    schools_total: int
    pupils_routed: int
    annual_cost: float
    stage: str = "solve"
    school_id: str | None = None


@dataclass(frozen=True)
class RoutePlan:
    """A routing plan: routes, their stops, the pupils left unrouted and each school's status.

    ``school_status`` maps a school to ``"optimal"`` (proved), ``"feasible (time limit)"``
    (best found by a search within its budget), ``"trivial"`` (one pupil, or solo pupils only)
    or ``"failed: <reason>"`` (the search found nothing; its pupils were routed by repair).
    """

    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]
    unrouted: tuple[Unrouted, ...]
    school_status: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)
    stability: dict[str, Any] | None = None
    """Against the plan in force (a re-plan, or a plan made with one known): summary.json's
    ``stability`` (:func:`transport.routing.replan.replan_routes`)."""
    explanations: tuple[RideExplanation, ...] = ()
    """Each stop's limit, direct time, reason for a ride over its limit and afternoon run, in
    the order of ``stops`` (:mod:`transport.routing.explain`)."""

    @property
    def annual_transport_cost(self) -> float:
        return round(sum(r.annual_cost for r in self.routes), 2)

    def summary(self, data: Dataset, params: Parameters) -> dict[str, Any]:
        """Totals of the plan: vehicles by type, PAs, ride times, pupils over 45/75 minutes,
        cost per pupil, annual transport cost and routes (money in £, times in minutes)."""
        out = summarise_routes(
            self.routes,
            self.stops,
            vehicles=data.vehicles,
            pupils_placed=len(self.stops) + len(self.unrouted),
            unrouted=len(self.unrouted),
        )
        statuses: dict[str, int] = {}
        for s in self.school_status.values():
            key = s.split(":")[0]
            statuses[key] = statuses.get(key, 0) + 1
        out["school_status_counts"] = dict(sorted(statuses.items()))
        out["school_days"] = params.cost.school_days
        out.update(summarise_explanations(self.explanations))
        return out


def plan_routes(
    data: Dataset,
    placements: PlacementResult,
    *,
    travel: TravelModel | None = None,
    params: Parameters | None = None,
    options: RoutingOptions | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    last_route_number: int = 0,
    executor: Executor | None = None,
) -> RoutePlan:
    """Plan the routes that take every placed pupil to school at the least annual cost.

    Parameters
    ----------
    data
        The validated data set (vehicle types, pupils, incompatible pairs).
    placements
        Where each pupil goes; unplaced pupils are not routed.
    travel
        The travel model (default: the contract's crow-fly model with ``params.travel``).
    params
        Run parameters: ride limits, dwell, school days, PA day rate.
    options
        Backend, time budget, seed, workers, mixed-school routes.
    progress
        Called with a :class:`ProgressEvent` as each school is solved.
    last_route_number
        Routes are numbered after it (``R0001``… by default; a plan made from scratch in a
        series of runs never reuses an id the series has used).
    executor
        A cluster's executor (:mod:`transport.cluster`) to run the per-school searches on its
        workers; default: ``options.workers`` local worker processes. In work mode
        (``options.work_limit``) the plan is the same on any executor; in time mode
        ``workers = 0`` shares the time among the cluster's workers.

    Returns
    -------
    RoutePlan
        Routes and stops; pupils no vehicle type can carry (or none is left for, under the
        ``available`` caps) are listed in ``unrouted`` with the reason.

    Raises
    ------
    RoutingError
        When the data set has no vehicle types or a placement names an unknown pupil or school.
    """
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    options = options or RoutingOptions()
    if not data.vehicles:
        raise RoutingError("vehicles.csv lists no vehicle types: nothing can be routed")
    pupils = data.pupil_by_id
    schools = data.school_by_id
    bad = [p.pupil_id for p in placements.placements if p.pupil_id not in pupils]
    bad += [p.school_id for p in placements.placements if p.school_id not in schools]
    if bad:
        raise RoutingError(
            f"placements name {len(bad)} pupils or schools missing from the data set "
            f"(first: {bad[0]})"
        )
    start = time.perf_counter()
    started = time.time()
    # the travel model's dwell is the one its matrices were made with
    params = replace(params, travel=replace(params.travel, dwell_min=travel.dwell_min))

    def report(done: int, total: int, routed: int, cost: float, stage: str, sid: str | None):
        if progress is not None:
            progress(ProgressEvent(done, total, routed, round(cost, 2), stage, sid))

    early = early_pickups(data, placements, longest_ride=params.ride.effective_limit)
    if early:  # no pickup before midnight: these pupils are left unrouted, with the reason
        kept = tuple(p for p in placements.placements if p.pupil_id not in early)
        placements = replace(placements, placements=kept)
    result = run_plan(
        data,
        placements,
        travel=travel,
        params=params,
        backend=options.backend,
        effort=Effort(options.time_limit_s, options.work_limit),
        seed=options.seed,
        workers=_lanes(options, executor),
        mixed_school=options.mixed_school,
        mixed_radius=options.mixed_school_radius_miles,
        strict_limits=options.strict_limits,
        report=report,
        started=started,
        last_route_number=last_route_number,
        executor=executor,
    )
    result.info["wall_s"] = round(time.perf_counter() - start, 2)
    return RoutePlan(
        routes=result.routes,
        stops=result.stops,
        unrouted=result.unrouted + tuple(Unrouted(p, why) for p, why in early.items()),
        school_status=result.status,
        info=result.info,
        explanations=result.explanations,
    )


def _lanes(options: RoutingOptions, executor: Executor | None) -> int:
    """Searches at once: ``options.workers``, or with 0 one per CPU here, or per cluster worker."""
    if executor is not None and not options.workers:
        return max(1, executor.workers)
    return options.worker_count
