"""The steps of a plan: group by school, solo pupils, solve, share vehicle caps, repair, write.

1. Placed pupils are grouped by school; a pupil no vehicle type can carry is unrouted. Travel
   among each school's pickup points is checked: a pair without a travel time (a travel
   matrix that lacks it) is reported, all at once.
2. Solo pupils get a route of their own in the cheapest type that can carry them.
3. Each school's other pupils are one sub-problem of pickup visits (a shared stop's pupils in
   one visit); all are searched in parallel, sharing the time (or work) limit
   (:mod:`transport.routing._solve`).
4. If the plan uses more routes of a capped type than ``available``, the routes left are shared
   among schools in proportion to what they used and the schools over their share are solved
   again with caps (phase 2, warm-started from the plan cut down to the caps).
5. Every school's answer is repaired (:func:`transport.routing._local.repair`): rules checked,
   dropped visits inserted, each route in its cheapest type; the vehicle caps are held by one
   ledger across the plan.
6. Optionally routes of nearby schools are merged (mixed-school routes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transport.errors import InputError
from transport.executor import Executor
from transport.model import (
    Dataset,
    Parameters,
    PlacementResult,
    Pupil,
    RideExplanation,
    Route,
    Stop,
    Unrouted,
)
from transport.routing._caps import cap_shares, type_usage
from transport.routing._local import CapLedger, all_ok, enforce_caps, repair, warm_start
from transport.routing._plan import RouteSpec, SchoolTravel, build_routes
from transport.routing._problem import (
    Draft,
    SubProblem,
    SubSolution,
    build_subproblem,
    carries_alone,
    draft_cost,
    draft_ok,
    make_variants,
    pickup_places,
    route_cost,
    travel_for,
    unroutable_reason,
)
from transport.routing._solve import WORK_UNIT_MOVES, Effort, SearchReport, run_searches
from transport.routing.explain import explain_routes
from transport.travel import TravelModel
from transport.travel.matrix import missing_pairs, missing_problem

PHASE1_SHARE_WITH_CAPS = 0.6  # of the search time or work, when a vehicle cap may bind
CAPS_USED_UP = "the available cap of every vehicle type that can carry this pupil is used up"
NO_ROUTE_IN_LIMIT = "no vehicle can carry this pupil within their ride limit"

Report = Callable[[int, int, int, float, str, str | None], None]


@dataclass
class PlanResult:
    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]
    unrouted: tuple[Unrouted, ...]
    status: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)
    explanations: tuple[RideExplanation, ...] = ()


def _group(
    data: Dataset, placements: PlacementResult, travel: TravelModel
) -> tuple[dict[str, SchoolTravel], list[Unrouted]]:
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    by_school: dict[str, list[Pupil]] = {}
    unrouted: list[Unrouted] = []
    for pl in sorted(placements.placements, key=lambda pl: rank[pl.pupil_id]):
        pupil = data.pupil_by_id[pl.pupil_id]
        reason = unroutable_reason(pupil, data.vehicles)
        if reason is not None:
            unrouted.append(Unrouted(pupil.pupil_id, reason))
            continue
        by_school.setdefault(pl.school_id, []).append(pupil)
    out = {}
    missing, examples = 0, []
    for sid in sorted(by_school):
        school = data.school_by_id[sid]
        miles, minutes, places = travel_for(school, by_school[sid], travel)
        if not np.isfinite(minutes[:, 0]).all() or not np.isfinite(minutes[1:, 1:]).all():
            reps, _ = pickup_places(by_school[sid])
            ids = [sid, *(p.travel_id for p in reps)]
            needed = np.zeros(minutes.shape, dtype=bool)
            needed[1:, :] = True  # every pickup point to the school and to one another
            count, first = missing_pairs(minutes, ids, ids, needed)
            missing += count
            examples += first[: max(0, 5 - len(examples))]
        out[sid] = SchoolTravel(school, tuple(by_school[sid]), miles, minutes, places)
    if missing:
        raise InputError([missing_problem(missing, examples, "the routes need", _source(travel))])
    return out, unrouted


def _source(travel: TravelModel) -> str:
    from pathlib import Path

    source = travel.describe().get("file")
    return Path(source).name if source else "travel model"


def _solo_route(
    st: SchoolTravel, pupil: Pupil, data: Dataset, params: Parameters, ledger: CapLedger
) -> RouteSpec | None:
    """The cheapest type (with a route left) that can carry a solo pupil alone."""
    miles = round(float(st.miles[st.node(pupil.pupil_id), 0]), 2)
    usable = ledger.usable()
    best = None
    for k, v in enumerate(data.vehicles):
        ok = carries_alone(v, pupil)
        if not ok or (usable is not None and v.vehicle_type not in usable):
            continue
        cost = route_cost(v, miles, pupil.needs_pa, params)
        if best is None or (cost, k) < best[:2]:
            best = (cost, k, v)
    if best is None:
        return None
    ledger.swap(None, best[2].vehicle_type)
    return RouteSpec(st.school.school_id, best[2], pupil.needs_pa, ((pupil.pupil_id,),))


def _solo_cost(spec: RouteSpec, st: SchoolTravel, params: Parameters) -> float:
    miles = round(float(st.miles[st.node(spec.pupils[0]), 0]), 2)
    return route_cost(spec.vehicle, miles, spec.has_pa, params)


def _subproblem(
    st: SchoolTravel,
    pupils: list[Pupil],
    data: Dataset,
    params: Parameters,
    ledger: CapLedger,
    *,
    seed: int,
    strict_limits: bool,
) -> SubProblem:
    usable = ledger.usable()
    variants = [
        v
        for v in make_variants(data.vehicles, params)
        if usable is None or v.vehicle_type in usable
    ]
    return build_subproblem(
        st.school,
        pupils,
        st.miles,
        st.minutes,
        st.places,
        variants=variants,
        incompatible={frozenset(p) for p in data.incompatible},
        params=params,
        dwell_min=params.travel.dwell_min,
        strict_limits=strict_limits,
        seed=seed,
    )


def _enforce_caps(
    subs: dict[str, SubProblem], drafts: dict[str, list[Draft]], ledger: CapLedger
) -> dict[str, list[int]]:
    """Safety net: take routes off a type used beyond its cap; returns visits to re-insert."""
    loose: dict[str, list[int]] = {}
    for sid in sorted(drafts):
        before = {i for d in drafts[sid] for i in d.seq}
        drafts[sid] = enforce_caps(subs[sid], drafts[sid], ledger)
        loose[sid] = sorted(before - {i for d in drafts[sid] for i in d.seq})
    return loose


def _split(
    data: Dataset,
    by_school: dict[str, SchoolTravel],
    params: Parameters,
    ledger: CapLedger,
    *,
    seed: int,
    strict_limits: bool,
) -> tuple[list[RouteSpec], dict[str, SubProblem], list[Unrouted]]:
    """Solo pupils' routes, and one sub-problem per school for everyone else."""
    specs: list[RouteSpec] = []
    subs: dict[str, SubProblem] = {}
    unrouted: list[Unrouted] = []
    for sid, st in by_school.items():
        regular = []
        for p in st.pupils:
            if not p.solo:
                regular.append(p)
                continue
            spec = _solo_route(st, p, data, params, ledger)
            if spec is None:
                unrouted.append(Unrouted(p.pupil_id, CAPS_USED_UP))
            else:
                specs.append(spec)
        if regular:
            subs[sid] = _subproblem(
                st, regular, data, params, ledger, seed=seed, strict_limits=strict_limits
            )
    return specs, subs, unrouted


@dataclass(frozen=True)
class Clock:
    """When the plan started, and the effort it may spend."""

    started: float  # seconds since the epoch
    effort: Effort
    reserve_s: float  # kept after the searches for repair, mixed-school routes and writing

    @property
    def search_end(self) -> float:
        return self.started + max(0.05, self.effort.time_limit_s - self.reserve_s)

    def at(self, share: float) -> float:
        return self.started + share * (self.search_end - self.started)


def reserve_seconds(time_limit_s: float, pupils: int, mixed: bool) -> float:
    """Seconds the steps after the searches take (measured on Kent: repair and route building
    about 0.2 ms a pupil, mixed-school pairing about 0.5 ms), with a margin."""
    per_pupil = 0.0003 + (0.0008 if mixed else 0.0)
    return min(0.15 * time_limit_s, 0.2 + 0.01 * time_limit_s + per_pupil * pupils)


def _solve(
    subs: dict[str, SubProblem],
    ledger: CapLedger,
    *,
    backend: str,
    clock: Clock,
    workers: int,
    seed: int,
    on_first: Callable[[SubSolution], None],
    executor: Executor | None = None,
) -> tuple[dict[str, SubProblem], SearchReport, list[str]]:
    """The searches, then phase 2 for the schools over their share of a vehicle cap.

    When a cap may bind, the searches stop at :data:`PHASE1_SHARE_WITH_CAPS` of the time (or
    work); the rest goes to the schools solved again with caps, or, when no cap is broken, to
    more search for every school still searching.
    """
    effort = clock.effort
    capped = any(k > 0 for k in ledger.left.values())
    share1 = PHASE1_SHARE_WITH_CAPS if capped else 1.0
    total_moves = int((effort.work_limit or 0) * WORK_UNIT_MOVES)

    def search(jobs: list[SubProblem], share_from: float, share_to: float) -> SearchReport:
        return run_searches(
            jobs,
            backend=backend,
            workers=workers,
            effort=effort,
            deadline=clock.at(share_to),
            work_moves=int(total_moves * (share_to - share_from)),
            seed=seed,
            on_first=on_first,
            executor=executor,
        )

    report = search(list(subs.values()), 0.0, share1)
    sols = report.solutions
    again, caps_by_school = cap_shares(ledger.left, type_usage(subs, sols))
    if again:
        redo = {
            sid: subs[sid].with_caps(
                caps_by_school[sid], warm_start(subs[sid], sols[sid].drafts, caps_by_school[sid])
            )
            for sid in again
        }
        subs.update(redo)
        report.merge(search(list(redo.values()), share1, 1.0))
    elif share1 < 1.0:
        more = [
            subs[sid].with_initial(sols[sid].drafts)
            for sid in sorted(subs)
            if sols[sid].status.startswith("feasible") and sid not in report.converged
        ]
        if more:
            report.merge(search(more, share1, 1.0))
    return subs, report, sorted(again)


def _repair(
    data: Dataset,
    subs: dict[str, SubProblem],
    sols: dict[str, SubSolution],
    ledger: CapLedger,
) -> tuple[list[RouteSpec], list[Unrouted], dict[str, int]]:
    """Every school's answer made correct and complete, within the plan's caps."""
    drafts: dict[str, list[Draft]] = {}
    for sid in sorted(sols):
        drafts[sid] = list(sols[sid].drafts)
        for d in drafts[sid]:
            ledger.swap(None, subs[sid].variants[d.variant].vehicle_type)
    loose = _enforce_caps(subs, drafts, ledger)
    specs: list[RouteSpec] = []
    unrouted: list[Unrouted] = []
    inserted = broken = 0
    for sid in sorted(sols):
        sub, sol = subs[sid], sols[sid]
        broken += sum(1 for d in drafts[sid] if not draft_ok(sub, d))
        fixed, left = repair(sub, drafts[sid], ledger)
        inserted += len(set(sol.dropped) | set(loose[sid]))
        assert all_ok(sub, fixed), f"repair left a broken route at school {sid}"
        for k in left:
            # a visit no vehicle left can carry: its pupils are unrouted, with the reason
            reason = CAPS_USED_UP if _fits_alone(sub, k) else NO_ROUTE_IN_LIMIT
            unrouted.extend(Unrouted(sub.pupil_ids[i], reason) for i in sub.members[k])
        for d in fixed:
            v = sub.variants[d.variant]
            has_pa = bool(sub.needs_pa[list(d.seq)].any())
            specs.append(
                RouteSpec(sid, data.vehicles[v.type_index], has_pa, sub.visit_pupils(d.seq))
            )
    counts = {"pupils_inserted_by_repair": inserted, "routes_fixed_by_repair": broken}
    return specs, unrouted, counts


def _fits_alone(sub: SubProblem, k: int) -> bool:
    """Whether visit ``k`` alone keeps its ride limit (riding direct)."""
    return int(sub.time_t[k + 1, 0]) <= int(sub.limit_t[k])


def run_plan(
    data: Dataset,
    placements: PlacementResult,
    *,
    travel: TravelModel,
    params: Parameters,
    backend: str,
    effort: Effort,
    seed: int,
    workers: int,
    mixed_school: bool,
    mixed_radius: float,
    strict_limits: bool,
    report: Report,
    started: float,
    last_route_number: int = 0,
    executor: Executor | None = None,
) -> PlanResult:
    """Every step of a plan (see the module docstring)."""
    by_school, unrouted = _group(data, placements, travel)
    caps = {v.vehicle_type: v.available for v in data.vehicles if v.available is not None}
    ledger = CapLedger(caps)
    specs, subs, more = _split(
        data, by_school, params, ledger, seed=seed, strict_limits=strict_limits
    )
    unrouted += more
    total = len(by_school)
    solo_cost = sum(_solo_cost(s, by_school[s.school_id], params) for s in specs)
    tally = {"done": total - len(subs), "routed": len(specs), "pence": 0.0}

    def on_first(sol: SubSolution) -> None:
        sub = subs[sol.school_id]
        tally["done"] += 1
        tally["routed"] += sum(len(sub.members[k]) for d in sol.drafts for k in d.seq)
        tally["pence"] += sum(draft_cost(sub, d) for d in sol.drafts)
        cost = solo_cost + tally["pence"] / 100.0
        report(int(tally["done"]), total, int(tally["routed"]), cost, "solve", sol.school_id)

    pupils = sum(s.pupils for s in subs.values())
    clock = Clock(started, effort, reserve_seconds(effort.time_limit_s, pupils, mixed_school))
    subs, search, again = _solve(
        subs,
        ledger,
        backend=backend,
        clock=clock,
        workers=workers,
        seed=seed,
        on_first=on_first,
        executor=executor,
    )
    sols = search.solutions
    searched = time.time()
    more_specs, more, counts = _repair(data, subs, sols, ledger)
    specs += more_specs
    unrouted += more
    status = {sid: "trivial" for sid in by_school} | {sid: sols[sid].status for sid in sols}
    info: dict[str, Any] = {
        **_effort_info(effort, search),
        "backend_by_school": {sid: sols[sid].backend for sid in sorted(sols)},
        "schools_solved_again_for_caps": again,
        "schools_stopped_by_clock": search.cut_short,
        "schools_converged": len(search.converged),
        "visits": sum(s.n for s in subs.values()),
        **counts,
    }
    if mixed_school:
        from transport.routing._mixed import merge_mixed

        specs, info["mixed_school"] = merge_mixed(
            specs,
            by_school,
            travel=travel,
            params=params,
            radius_miles=mixed_radius,
            ledger=ledger,
            incompatible={frozenset(p) for p in data.incompatible},
            vehicles=data.vehicles,
            strict_limits=strict_limits,
        )
    routes, stops = build_routes(specs, by_school, params=params, last_number=last_route_number)
    explained = explain_routes(
        routes,
        stops,
        by_school,
        data,
        params,
        travel=travel,
        placed={p.pupil_id: p.school_id for p in placements.placements},
        strict_limits=strict_limits,
    )
    info["finish_s"] = round(time.time() - searched, 2)  # repair, mixed routes, building
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    unrouted.sort(key=lambda u: rank[u.pupil_id])
    report(total, total, len(stops), sum(r.annual_cost for r in routes), "done", None)
    return PlanResult(routes, stops, tuple(unrouted), status, info, explained)


def _effort_info(effort: Effort, search: SearchReport) -> dict[str, Any]:
    """The mode, the limit, and the time and work each school's search used."""
    units = {sid: round(w / WORK_UNIT_MOVES, 3) for sid, w in sorted(search.work.items())}
    return {
        "mode": effort.mode,
        "time_limit_s": effort.time_limit_s if effort.mode == "time" else None,
        "work_limit": effort.work_limit,
        "work_done": round(sum(search.work.values()) / WORK_UNIT_MOVES, 3),
        "search_wall_s": round(search.wall_s, 2),
        "search_s": round(sum(search.seconds.values()), 2),
        "search_s_by_school": dict(sorted(search.seconds.items())),
        "work_by_school": units,
        "slices_by_school": dict(sorted(search.slices.items())),
        "schools_searched_again": len(search.searched_again),
    }
