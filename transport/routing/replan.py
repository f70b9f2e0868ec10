"""Stable nightly re-planning: start from the plan in force and change as few journeys as we can.

A council must tell each family of every change to their child's journey, and many SEN children
are distressed by a new vehicle, new co-riders or a new pickup time (the one definition of a
*disturbed* family is :mod:`transport.changes`). :func:`replan_routes` plans tonight's routes
from the previous plan (:class:`PreviousPlan`) instead of from scratch:

* pupils whose own data is unchanged keep their route, vehicle, co-riders and pickup order
  wherever the rules still allow; leavers drop out and their routes are re-timed;
* new pupils, pupils who moved home, stop or school, and (on unlocked routes) pupils whose
  needs changed are inserted where they cost least, each family they would disturb priced at
  ``change_cost`` (£ a year; :data:`DEFAULT_CHANGE_COST`);
* a route that breaks a rule now (a vehicle type withdrawn or over its cap, a ride over its
  limit, pupils who no longer fit, an incompatible pair) is repaired, with the reason reported;
* each school whose routes changed tonight is searched again with the effort a from-scratch
  plan would give it (its share of the time or work limit, by pupils ** 1.3), warm-started from
  the repaired routes, and the search's plan is taken component by component only where the
  saving is worth the families it disturbs (:mod:`transport.routing._replan_school`); schools
  nothing happened to keep their routes exactly, so unchanged data re-plans to the same plan;
* a mixed-school route in force stays one journey: its schools' parts are left alone by the
  searches, a new pupil joins a part only where the whole route keeps its rules (priced on the
  whole route), and the route is put back together (:mod:`transport.routing._replan_mixed`);
* locked routes (under contract) are kept exactly, except that leavers drop out; a lock that
  cannot hold is reported with its reason, never silently broken;
* a continuing route keeps its id; new routes are numbered after the highest id the series
  has used (``last_route_number``), so an id is never used for two routes.

Everything is deterministic in the work mode (``--work-limit``): the same previous plan, data,
seed and limit give the same plan on any machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from transport.changes import PICKUP_MINUTES, PupilChanges
from transport.errors import RoutingError
from transport.model import Dataset, Parameters, PlacementResult, Route, Stop, Unrouted
from transport.routing._pipeline import (
    CAPS_USED_UP,
    NO_ROUTE_IN_LIMIT,
    _effort_info,
    _fits_alone,
)
from transport.routing._plan import build_routes, route_number
from transport.routing._replan_mixed import mixed_in_force, pin_mixed, rebuild_mixed
from transport.routing._replan_steps import (
    assign_ids,
    count_routes,
    hold_caps,
    improve,
    place_loose_solos,
    replan_stability,
    route_specs,
    seed_schools,
    spec_disturbed,
)
from transport.routing._solve import (
    Effort,
)
from transport.routing.explain import explain_routes
from transport.scenario import RoutingSettings
from transport.travel import CrowFlyModel, TravelModel

if TYPE_CHECKING:
    from transport.routing import RoutePlan

DEFAULT_CHANGE_COST = RoutingSettings().change_cost
"""£ a year one disturbed family is worth (``[routing] change_cost``, ``--change-cost``).

£3,000 is about 70 % of a Kent pupil's transport in 2013 (£4,250 a year) and about 40 % of a
taxi's annual day rate (190 × £38): a re-plan gives up a saving smaller than that for each
family it would disturb, and takes one larger. A whole vehicle saved (£7,000 to £16,000 a year
with its miles) still justifies moving the few families it carried; shaving a few miles off a
route does not justify a new pickup time. Measured on the embedded Kent data over 20 nights
(``benchmarks/nightly_stability.py``; README "Nightly re-planning"): see the README for the
effect of other values.
"""


@dataclass(frozen=True)
class PreviousPlan:
    """The plan in force, as the routing stage needs it (read from a run folder by the jobs).

    Parameters
    ----------
    routes, stops
        The previous plan's routes (with their ids) and stops (pickup times).
    school_of
        Each pupil's school in the previous plan (its placements).
    pupils
        Who is new, has left, or changed their own data since (:func:`transport.changes.
        pupil_changes` on the two runs' digests).
    last_route_number
        The highest route number the series has used (``R0042`` → 42): new routes are
        numbered after it.
    locks
        Route ids of the previous plan to keep exactly (``--locks``).
    source
        Where the plan was read from (for summary.json).
    """

    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]
    school_of: Mapping[str, str]
    pupils: PupilChanges
    last_route_number: int = 0
    locks: frozenset[str] = frozenset()
    source: str = ""


def schools_in_force(data: Dataset, previous: PreviousPlan) -> Dataset:
    """The data set with each pupil's school in force: a pupil without a ``school_id`` who
    was placed in the previous plan keeps that school (if it still serves them) unless they
    moved home, so that the ``keep`` policy places only tonight's new entrants into the places
    left, instead of re-placing every pupil without a school in file order (where one leaver
    would move others' schools)."""
    schools = data.school_by_id
    moved = previous.pupils.moved
    pupils = []
    changed = False
    for p in data.pupils:
        sid = previous.school_of.get(p.pupil_id)
        if (
            p.school_id is None
            and sid in schools
            and p.pupil_id not in moved
            and schools[sid].serves(p.need, p.age)
        ):
            p = replace(p, school_id=sid)
            changed = True
        pupils.append(p)
    return replace(data, pupils=tuple(pupils)) if changed else data


def last_route_number(routes: tuple[Route, ...], recorded: int = 0) -> int:
    """The highest route number of a plan, at least ``recorded`` (what summary.json keeps)."""
    numbers = [n for r in routes if (n := route_number(r.route_id)) is not None]
    return max([recorded, *numbers])


def replan_routes(
    data: Dataset,
    placements: PlacementResult,
    previous: PreviousPlan,
    *,
    travel: TravelModel | None = None,
    params: Parameters | None = None,
    options: RoutingSettings | None = None,
    minutes: float = PICKUP_MINUTES,
    progress: Callable[[str], None] | None = None,
) -> RoutePlan:
    """Re-plan tonight's routes from the plan in force (see the module docstring).

    Parameters
    ----------
    data
        Tonight's validated data set.
    placements
        Tonight's placements (unplaced pupils are not routed).
    previous
        The plan in force and who changed since (:class:`PreviousPlan`).
    travel, params, options
        As :func:`transport.routing.plan_routes`; ``options.change_cost`` is the £ a year a
        disturbed family is worth, and the time or work limit bounds the searches.
    minutes
        A pickup moving by more than this disturbs (:data:`transport.changes.PICKUP_MINUTES`).
    progress
        Called with a short message (no pupil data) as the steps start.

    Returns
    -------
    transport.routing.RoutePlan
        The plan, with ``stability`` (summary.json's ``stability``: pupils new / left /
        changed, disturbed by reason, routes kept / changed / new / ended, the cost change,
        repairs and locks by reason and route, what the searches changed).

    Raises
    ------
    RoutingError
        No vehicle types, or placements naming pupils or schools the data lacks.
    """
    from transport.routing import RoutePlan

    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    options = options or RoutingSettings()
    say = progress or (lambda _msg: None)
    if not data.vehicles:
        raise RoutingError("vehicles.csv lists no vehicle types: nothing can be routed")
    start = time.perf_counter()
    params = replace(params, travel=replace(params.travel, dwell_min=travel.dwell_min))
    say("re-planning: routes in force as seeds")
    state = seed_schools(data, placements, previous, params, options, travel, minutes)
    if options.mixed_school:
        state.mixed = mixed_in_force(state)
        pin_mixed(state, state.mixed)
    ledger = count_routes(state)
    hold_caps(state, ledger)
    say("re-planning: inserting new and changed pupils")
    for sid in sorted(state.schools):
        school = state.schools[sid]
        for k in school.insert_loose(ledger):
            reason = CAPS_USED_UP if _fits_alone(school.sub, k) else NO_ROUTE_IN_LIMIT
            state.unrouted.extend(
                Unrouted(school.sub.pupil_ids[i], reason) for i in school.sub.members[k]
            )
        school.downgrade(ledger)
    place_loose_solos(state, ledger)
    say("re-planning: searching the schools that changed")
    search, counts = improve(state, ledger)
    say("re-planning: local moves worth their disturbance")
    for sid in sorted(state.schools):
        school = state.schools[sid]
        if school.touched:
            got = school.polish(ledger)
            counts["moves"] = counts.get("moves", 0) + got["moves"]
            counts["pence_saved"] += got["pence_saved"]
            counts["disturbed"] += got["disturbed"]
    specs = route_specs(state)
    info: dict[str, Any] = {
        **_effort_info(Effort(options.time_limit_s, options.work_limit), search)
    }
    if options.mixed_school:
        from transport.routing._mixed import merge_mixed

        specs = rebuild_mixed(state, specs, ledger)
        specs, info["mixed_school"] = merge_mixed(
            specs,
            state.by_school,
            travel=travel,
            params=params,
            radius_miles=options.mixed_school_radius_miles,
            ledger=ledger,
            incompatible={frozenset(p) for p in data.incompatible},
            vehicles=data.vehicles,
            strict_limits=options.strict_limits,
            disturbed=lambda spec: spec_disturbed(state, spec),
            change_cost=options.change_cost,
        )
    specs = assign_ids(specs, previous)
    routes, stops = build_routes(
        specs, state.by_school, params=params, last_number=previous.last_route_number
    )
    explained = explain_routes(
        routes,
        stops,
        state.by_school,
        data,
        params,
        travel=travel,
        placed={p.pupil_id: p.school_id for p in placements.placements},
        strict_limits=options.strict_limits,
    )
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    unrouted = sorted(state.unrouted, key=lambda u: rank[u.pupil_id])
    status = {
        sid: "re-planned" if sid in state.schools and state.schools[sid].touched else "kept"
        for sid in state.by_school
    }
    info.update(
        schools_stopped_by_clock=search.cut_short,
        schools_converged=len(search.converged),
        visits=sum(s.sub.n for s in state.schools.values()),
        wall_s=round(time.perf_counter() - start, 2),
    )
    stability = replan_stability(state, routes, stops, counts, minutes)
    return RoutePlan(
        routes=routes,
        stops=stops,
        unrouted=tuple(unrouted),
        school_status=dict(sorted(status.items())),
        info=info,
        stability=stability,
        explanations=explained,
    )
