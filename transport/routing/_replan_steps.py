"""The steps of a re-plan (:func:`transport.routing.replan.replan_routes`), in order.

Seeds and their checks for every school (:mod:`transport.routing._replan_school`), solo pupils,
the vehicle caps held across the plan, the searches of the schools that changed (adopted
component by component), the route specs with their ids, and summary.json's ``stability``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from transport.changes import Journey, disturbance, journeys, plan_stability
from transport.model import Dataset, Parameters, PlacementResult, Pupil, Route, Stop, Unrouted
from transport.routing._local import CapLedger, enforce_caps, repair
from transport.routing._pipeline import (
    CAPS_USED_UP,
    _group,
    _solo_route,
)
from transport.routing._plan import RouteSpec, SchoolTravel, rides_and_miles
from transport.routing._problem import (
    Draft,
    SubProblem,
    build_subproblem,
    make_variants,
    route_cost,
)
from transport.routing._replan_mixed import MixedInForce
from transport.routing._replan_school import (
    REASON_CAP,
    REASON_FIT,
    REASON_MOVED,
    REASON_SCHOOL,
    REASON_STOP,
    REASON_WITHDRAWN,
    REPAIR_REASONS,
    Context,
    SchoolReplan,
)
from transport.routing._solve import (
    BUDGET_EXPONENT,
    WORK_UNIT_MOVES,
    Effort,
    SearchReport,
    needs_search,
    run_searches,
)
from transport.scenario import RoutingSettings
from transport.travel import TravelModel
from transport.units import PENCE_PER_POUND

if TYPE_CHECKING:
    from transport.routing.replan import PreviousPlan


INLINE_WORK = 25
"""Units of work up to which a re-plan searches in this process: starting worker processes
takes longer than such searches (the plan does not depend on the number of workers)."""
INLINE_S = 5.0
"""The same in time mode, in seconds."""


# --------------------------------------------------------------------------------------------


@dataclass
class _Solo:
    """A solo pupil's route: its spec, the previous route it continues, its lock."""

    spec: RouteSpec
    origin: str | None
    locked: bool


@dataclass
class _State:
    """Everything one re-plan works on."""

    data: Dataset
    previous: PreviousPlan
    params: Parameters
    options: RoutingSettings
    by_school: dict[str, SchoolTravel]
    schools: dict[str, SchoolReplan]
    solos: dict[str, list[_Solo]]
    unrouted: list[Unrouted]
    repairs: list[tuple[str, str]]
    placed: dict[str, str] = field(default_factory=dict)  # tonight's pupil → school
    ctx: Context | None = None
    travel: TravelModel | None = None
    mixed: dict[str, MixedInForce] = field(default_factory=dict)  # pinned mixed routes by id


# -- seeds ------------------------------------------------------------------------------------


def seed_schools(
    data: Dataset,
    placements: PlacementResult,
    previous: PreviousPlan,
    params: Parameters,
    options: RoutingSettings,
    travel: TravelModel,
    minutes: float,
) -> _State:
    """Every school's routes in force, checked against tonight's rules."""
    by_school, unrouted = _group(data, placements, travel)
    changes = previous.pupils
    route_of = {p: r.route_id for r in previous.routes for p in r.pupils}
    schools_of = {r.route_id: set(r.school_id.split(";")) for r in previous.routes}
    now = placements.school_of
    same_school = {
        p
        for p, rid in route_of.items()
        if now.get(p) is not None
        and now.get(p) == previous.school_of.get(p)
        and now[p] in schools_of[rid]
    }
    not_moved = same_school - changes.moved - changes.new
    seedable = frozenset(not_moved - changes.changed)
    stays_if_locked = frozenset(not_moved & changes.changed)
    before = journeys(previous.routes, previous.stops, school_of=previous.school_of)
    routed_now = frozenset(p.pupil_id for st in by_school.values() for p in st.pupils)
    # Each school re-plans its part of a mixed-school route in force as a route of its own:
    # the part, as seeded, is the journey the school's steps keep (``view``), so they neither
    # take its pupils for disturbed nor reorganise them for free; the merge pass then judges
    # the whole journey (``state.ctx``: the journeys in force) and so restores the route.
    view = dict(before)
    ctx = Context(
        before=view,
        counted=frozenset(p for p in before if p not in changes.moved and p not in changes.new),
        routed_now=routed_now,
        change_pence=int(round(options.change_cost * PENCE_PER_POUND)),
        minutes=minutes,
        params=params,
    )
    usable = {v.vehicle_type for v in data.vehicles if v.available is None or v.available > 0}
    variants = [v for v in make_variants(data.vehicles, params) if v.vehicle_type in usable]
    state = _State(
        data, previous, params, options, by_school, {}, {}, unrouted, [], dict(now),
        replace(ctx, before=before), travel,
    )  # fmt: skip
    mixed_ids = {r.route_id for r in previous.routes if ";" in r.school_id}
    for r in previous.routes:
        if not set(r.school_id.split(";")) & data.school_by_id.keys():
            state.repairs.append((r.route_id, REASON_SCHOOL))
    locked = previous.locks
    for sid, st in by_school.items():
        regular = [p for p in st.pupils if not p.solo]
        solos = [p for p in st.pupils if p.solo]
        here = [
            r
            for r in previous.routes
            if sid in schools_of[r.route_id]
            and not all(data.pupil_by_id.get(p) in solos for p in r.pupils)
        ]
        if regular:
            sub = _subproblem(st, regular, data, params, variants, options)
            school = SchoolReplan(st, sub, ctx)
            school.seed(
                here,
                route_of=route_of,
                seedable=seedable,
                locked=locked,
                stays_if_locked=stays_if_locked,
            )
            for line in school.lines:
                if line.origin in mixed_ids:
                    view.update(school.journeys(line.draft))
            school.check(CapLedger({}))
            state.schools[sid] = school
            state.repairs.extend(school.repairs)
        elif here:
            state.schools[sid] = _empty(st, data, params, variants, options, ctx)
        state.solos[sid] = _seed_solos(
            st, solos, previous, data, params, seedable | stays_if_locked, route_of, state
        )
    # schools with routes in force but no pupil tonight: their routes end
    for r in previous.routes:
        for sid in schools_of[r.route_id] & data.school_by_id.keys():
            if sid not in by_school:
                state.schools.setdefault(sid, _gone(data, sid, params, ctx))
    return state


def _subproblem(
    st: SchoolTravel,
    pupils: list[Pupil],
    data: Dataset,
    params: Parameters,
    variants: list[Any],
    options: RoutingSettings,
) -> SubProblem:
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
        strict_limits=options.strict_limits,
        seed=options.seed,
    )


def _empty(
    st: SchoolTravel,
    data: Dataset,
    params: Parameters,
    variants: list[Any],
    options: RoutingSettings,
    ctx: Context,
) -> SchoolReplan:
    """A school whose routes in force all end (no regular pupil tonight)."""
    school = SchoolReplan(st, _subproblem(st, [], data, params, variants, options), ctx)
    school.touched = True
    return school


def _gone(data: Dataset, sid: str, params: Parameters, ctx: Context) -> SchoolReplan:
    """A school with routes in force and nobody placed there tonight."""
    import numpy as np

    st = SchoolTravel(data.school_by_id[sid], (), np.zeros((1, 1)), np.zeros((1, 1)), {})
    sub = _subproblem(st, [], data, params, [], RoutingSettings())
    school = SchoolReplan(st, sub, ctx)
    school.touched = True
    return school


# -- solo pupils --------------------------------------------------------------------------------


def _carries(v: Any, pupil: Pupil) -> bool:
    pa = 1 if pupil.needs_pa else 0
    if pupil.wheelchair:
        return v.wheelchair_spaces >= 1 and v.seats >= pa
    return v.seats >= 1 + pa


def _solo_spec(st: SchoolTravel, pupil: Pupil, v: Any, origin: str | None) -> RouteSpec:
    return RouteSpec(st.school.school_id, v, pupil.needs_pa, ((pupil.pupil_id,),), route_id=origin)


def _seed_solos(
    st: SchoolTravel,
    solos: list[Pupil],
    previous: PreviousPlan,
    data: Dataset,
    params: Parameters,
    stays: frozenset[str],
    route_of: Mapping[str, str],
    state: _State,
) -> list[_Solo]:
    """Solo pupils who stay in their own route keep its vehicle type where it still fits (a
    cheaper type only when the saving is worth the change); the others are placed later."""
    out: list[_Solo] = []
    prev = {r.route_id: r for r in previous.routes}
    change = state.options.change_cost
    usable = [v for v in data.vehicles if v.available is None or v.available > 0]
    for p in solos:
        rid = route_of.get(p.pupil_id)
        r = prev.get(rid) if rid else None
        if r is None or p.pupil_id not in stays or len(r.pupils) != 1:
            continue
        locked = r.route_id in previous.locks
        miles = round(float(st.miles[st.node(p.pupil_id), 0]), 2)
        fitting = [v for v in usable if _carries(v, p)]
        if not fitting:
            continue
        cheapest = min(fitting, key=lambda v: route_cost(v, miles, p.needs_pa, params))
        own = next((v for v in fitting if v.vehicle_type == r.vehicle_type), None)
        if own is None:
            reason = REASON_WITHDRAWN
            if any(v.vehicle_type == r.vehicle_type for v in data.vehicles):
                reason = REASON_FIT
            state.repairs.append((r.route_id, reason))
            own = cheapest
        elif not locked:
            saving = route_cost(own, miles, p.needs_pa, params) - route_cost(
                cheapest, miles, p.needs_pa, params
            )
            if saving > change:
                own = cheapest
        out.append(_Solo(_solo_spec(st, p, own, r.route_id), r.route_id, locked))
    return out


def place_loose_solos(state: _State, ledger: CapLedger) -> None:
    """Solo pupils without a route in force: each in the cheapest type left."""
    for sid in sorted(state.by_school):
        st = state.by_school[sid]
        kept = {s.spec.pupils[0] for s in state.solos.get(sid, [])}
        for p in st.pupils:
            if not p.solo or p.pupil_id in kept:
                continue
            spec = _solo_route(st, p, state.data, state.params, ledger)
            if spec is None:
                state.unrouted.append(Unrouted(p.pupil_id, CAPS_USED_UP))
            else:
                state.solos.setdefault(sid, []).append(_Solo(spec, None, False))
                if sid in state.schools:
                    state.schools[sid].touched = True


# -- vehicle caps -------------------------------------------------------------------------------


def count_routes(state: _State) -> CapLedger:
    """A ledger of the plan's caps with every route in force counted."""
    caps = {v.vehicle_type: v.available for v in state.data.vehicles if v.available is not None}
    ledger = CapLedger(caps)
    for school in state.schools.values():
        for line in school.lines:
            ledger.swap(None, school.sub.variants[line.draft.variant].vehicle_type)
    for solos in state.solos.values():
        for s in solos:
            ledger.swap(None, s.spec.vehicle.vehicle_type)
    return ledger


def hold_caps(state: _State, ledger: CapLedger) -> None:
    """Routes in force of a type now over its ``available`` cap move to another type (or give
    their pupils back for insertion), unlocked routes first; each is reported."""
    if all(k >= 0 for k in ledger.left.values()):
        return
    for locked in (False, True):
        for sid in sorted(state.schools):
            school = state.schools[sid]
            lines = [ln for ln in school.lines if ln.locked == locked]
            if not lines or all(k >= 0 for k in ledger.left.values()):
                continue
            drafts = enforce_caps(school.sub, [ln.draft for ln in lines], ledger)
            kept = {d.seq: d for d in drafts}
            for ln in lines:
                new = kept.get(ln.draft.seq)
                if new is None or new.variant != ln.draft.variant:
                    state.repairs.append((ln.origin or "", REASON_CAP))
                    ln.touched = school.touched = True
                if new is None:
                    school.loose.extend(ln.draft.seq)
                    ln.draft = Draft(ln.draft.variant, ())
                else:
                    ln.draft = new
            school.lines = [ln for ln in school.lines if ln.draft.seq]
    for sid in sorted(state.solos):  # solo routes last: the cheapest other type that fits
        for s in state.solos[sid]:
            t = s.spec.vehicle.vehicle_type
            if ledger.left.get(t, 0) >= 0:
                continue
            pupil = state.data.pupil_by_id[s.spec.pupils[0]]
            usable = ledger.usable()
            other = [
                v
                for v in state.data.vehicles
                if v.vehicle_type != t
                and _carries(v, pupil)
                and (usable is None or v.vehicle_type in usable)
            ]
            if other:
                st = state.by_school[sid]
                miles = round(float(st.miles[st.node(pupil.pupil_id), 0]), 2)
                v = min(other, key=lambda v: route_cost(v, miles, pupil.needs_pa, state.params))
                ledger.swap(t, v.vehicle_type)
                s.spec = replace(s.spec, vehicle=v)
                state.repairs.append((s.origin or "", REASON_CAP))


# -- the searches -------------------------------------------------------------------------------


def improve(state: _State, ledger: CapLedger) -> tuple[SearchReport, dict[str, int]]:
    """Search each changed school again (its share of the limit) and adopt what is worth it."""
    options = state.options
    effort = Effort(options.time_limit_s, options.work_limit)
    jobs: dict[str, tuple[SchoolReplan, SubProblem]] = {}
    for sid in sorted(state.schools):
        school = state.schools[sid]
        free = school.free_lines()
        if not school.touched or not free:
            continue
        keep = sorted(i for ln in free for k in ln.draft.seq for i in school.sub.members[k])
        pupils = [state.data.pupil_by_id[school.sub.pupil_ids[i]] for i in keep]
        sub = _subproblem(
            school.st, pupils, state.data, state.params, list(school.sub.variants), options
        )
        initial = [_to(school.sub, sub, ln.draft) for ln in free]
        jobs[sid] = (school, sub.with_initial([d for d in initial if d is not None]))
    weight = {
        sid: float(s.sub.pupils) ** BUDGET_EXPONENT
        for sid, s in state.schools.items()
        if needs_search(s.sub)
    }
    total = sum(weight.values()) or 1.0
    share = sum(weight.get(sid, 0.0) for sid in jobs) / total
    moves = int((options.work_limit or 0) * WORK_UNIT_MOVES * share)
    seconds = max(0.5, options.time_limit_s * share)
    small = moves <= INLINE_WORK * WORK_UNIT_MOVES if effort.mode == "work" else seconds <= INLINE_S
    report = run_searches(
        [sub for _, sub in jobs.values()],
        backend=options.backend,
        workers=1 if small else options.worker_count,
        effort=effort,
        deadline=time.time() + seconds,
        work_moves=moves,
        seed=options.seed,
        search_again=False,  # a re-plan is meant to be quick: it ends when its searches converge
    )
    counts = {"schools_searched": len(jobs), "adopted": 0, "pence_saved": 0, "disturbed": 0}
    for sid, (school, sub) in jobs.items():
        sol = report.solutions.get(sid)
        if sol is None:
            continue
        drafts, left = repair(sub, list(sol.drafts), CapLedger({}))
        found = [_to(sub, school.sub, d) for d in drafts]
        ours = sorted(k for ln in school.free_lines() for k in ln.draft.seq)
        theirs = sorted(k for d in found if d is not None for k in d.seq)
        if left or any(d is None for d in found) or ours != theirs:
            continue  # the search's plan does not cover the same visits: keep the routes
        got = school.adopt([d for d in found if d is not None], ledger)
        for key in ("adopted", "pence_saved", "disturbed"):
            counts[key] += got[key]
    return report, counts


def _to(a: SubProblem, b: SubProblem, d: Draft) -> Draft | None:
    """A draft of sub-problem ``a`` as a draft of ``b`` (visits by their first pupil, the
    variant by type and PA); None when ``b`` lacks the visit or the variant."""
    index = {p: k for k, g in enumerate(b.members) for p in (b.pupil_ids[i] for i in g)}
    seq = []
    for k in d.seq:
        first = a.pupil_ids[a.members[k][0]]
        if first not in index:
            return None
        seq.append(index[first])
    v = a.variants[d.variant]
    for j, w in enumerate(b.variants):
        if (w.vehicle_type, w.has_pa) == (v.vehicle_type, v.has_pa):
            return Draft(j, tuple(seq))
    return None


# -- the plan -----------------------------------------------------------------------------------


def route_specs(state: _State) -> list[RouteSpec]:
    """Every route as a spec, continuing routes carrying the id of the route they continue."""
    specs: list[RouteSpec] = []
    for sid in sorted(state.schools):
        school = state.schools[sid]
        for ln in school.lines:
            sub = school.sub
            v = sub.variants[ln.draft.variant]
            has_pa = bool(sub.needs_pa[list(ln.draft.seq)].any())
            specs.append(
                RouteSpec(
                    sid,
                    state.data.vehicles[v.type_index],
                    has_pa,
                    sub.visit_pupils(ln.draft.seq),
                    route_id=ln.origin,
                )
            )
    for sid in sorted(state.solos):
        specs.extend(s.spec for s in state.solos[sid])
    return specs


def assign_ids(specs: list[RouteSpec], previous: PreviousPlan) -> list[RouteSpec]:
    """Continuing routes keep their id (a route split by school: its larger part); a route
    the searches or merges made takes the id of the unclaimed previous route it shares most
    pupils with (same school); the others get new numbers (in :func:`build_routes`)."""
    claimed: set[str] = set()
    out = list(specs)
    order = sorted(
        (i for i, s in enumerate(out) if s.route_id is not None),
        key=lambda i: (-len(out[i].pupils), out[i].school_id, out[i].pupils),
    )
    for i in order:
        rid = out[i].route_id
        if rid in claimed:
            out[i] = replace(out[i], route_id=None)
        else:
            claimed.add(str(rid))
    prev_of = {p: r.route_id for r in previous.routes for p in r.pupils}
    schools_of = {r.route_id: set(r.school_id.split(";")) for r in previous.routes}
    pairs = []
    for i, s in enumerate(out):
        if s.route_id is not None:
            continue
        shared = Counter(prev_of[p] for p in s.pupils if p in prev_of)
        for rid, n in shared.items():
            if rid not in claimed and set(s.school_id.split(";")) & schools_of[rid]:
                pairs.append((-n, rid, s.school_id, s.pupils, i))
    for _, rid, _, _, i in sorted(pairs):
        if rid in claimed or out[i].route_id is not None:
            continue
        out[i] = replace(out[i], route_id=rid)
        claimed.add(rid)
    return out


def spec_disturbed(state: _State, spec: RouteSpec) -> int:
    """Families a finished route (one school's or a mixed one) disturbs, of those counted."""
    ctx = state.ctx
    assert ctx is not None
    if spec.rides is not None and spec.arrival is not None:
        rides, arrival = list(spec.rides), list(spec.arrival)
    else:
        st = state.by_school[spec.school_id]
        rides, _ = rides_and_miles(st, spec.visits, state.params.travel)
        arrival = [float(st.school.arrive_by)] * len(rides)
    riders = frozenset(spec.pupils)
    n = 0
    for p, ride, at in zip(spec.pupils, rides, arrival, strict=True):
        if p not in ctx.counted:
            continue
        school = state.placed.get(p, spec.school_id)
        journey = Journey(
            p, "", school, spec.vehicle.vehicle_type, spec.has_pa, float(math.floor(at - ride)),
            riders - {p},
        )  # fmt: skip
        if disturbance(ctx.before[p], journey, still_routed=ctx.routed_now, minutes=ctx.minutes):
            n += 1
    return n


def replan_stability(
    state: _State,
    routes: tuple[Route, ...],
    stops: tuple[Stop, ...],
    counts: dict[str, int],
    minutes: float,
) -> dict[str, Any]:
    """summary.json's ``stability`` of a re-plan."""
    previous = state.previous
    out: dict[str, Any] = {"mode": "replan", "previous_run": previous.source}
    out.update(
        plan_stability(
            (previous.routes, previous.stops),
            (routes, stops),
            pupils=previous.pupils,
            minutes=minutes,
            school_of=(
                previous.school_of,
                {p.pupil_id: sid for sid, st in state.by_school.items() for p in st.pupils},
            ),
        )
    )
    repairs = sorted(set(state.repairs), key=lambda r: (r[0], REPAIR_REASONS.index(r[1])))
    by_reason = Counter(reason for _, reason in repairs)
    out["change_cost"] = state.options.change_cost
    out["repairs"] = [{"route_id": rid, "reason": reason} for rid, reason in repairs if rid]
    out["repairs_by_reason"] = {r: by_reason.get(r, 0) for r in REPAIR_REASONS if r != REASON_MOVED}
    out["locks"] = _locks(state, routes, repairs)
    out["reoptimised"] = {
        "schools_searched": counts["schools_searched"],
        "components_adopted": counts["adopted"],
        "local_moves": counts.get("moves", 0),
        "annual_saving": round(counts["pence_saved"] / PENCE_PER_POUND, 2),
        "families_disturbed": counts["disturbed"],
    }
    return out


def _stop_rejoined(
    state: _State, expected: tuple[str, ...], new: Route | None, routes: tuple[Route, ...]
) -> str | None:
    """:data:`REASON_STOP` when the locked route changed only by pupils of a shared stop that
    is now one visit again: a stop is split over vehicles only while no one vehicle can take
    its pupils, so once a leaver makes room the contract's one-visit rule outranks the lock
    (pupils who travel alone are their own visit)."""
    pupil = state.data.pupil_by_id
    changed = set(expected) ^ set(new.pupils if new is not None else ())
    stops = {pupil[p].stop_id if p in pupil else None for p in changed}
    if not changed or None in stops:
        return None
    carried_by: dict[str | None, set[str]] = {}
    for route in routes:
        for p in route.pupils:
            if p in pupil and pupil[p].stop_id in stops and not pupil[p].solo:
                carried_by.setdefault(pupil[p].stop_id, set()).add(route.route_id)
    if all(len(carried_by.get(stop, ())) == 1 for stop in stops):
        return REASON_STOP
    return None


def _locks(
    state: _State, routes: tuple[Route, ...], repairs: list[tuple[str, str]]
) -> dict[str, Any]:
    """Locked routes: held exactly (but for leavers), ended (every pupil left), or broken
    (with the reasons)."""
    previous = state.previous
    now = {r.route_id: r for r in routes}
    prev = {r.route_id: r for r in previous.routes}
    left = previous.pupils.left
    broken, ended, held = [], [], 0
    for rid in sorted(previous.locks):
        r = prev[rid]
        reasons = [reason for route, reason in repairs if route == rid]
        staying = [p for p in r.pupils if p not in left]
        new = now.get(rid)
        if not staying and new is None:
            ended.append(rid)
            continue
        expected = tuple(p for p in r.pupils if p not in left)
        if (new is None or new.pupils != expected) and not reasons:
            reasons.append(_stop_rejoined(state, expected, new, routes) or REASON_MOVED)
        if new is not None and new.vehicle_type != r.vehicle_type and not reasons:
            reasons.append(REASON_WITHDRAWN if REASON_FIT not in reasons else REASON_FIT)
        if reasons:
            broken.append({"route_id": rid, "reasons": reasons})
        else:
            held += 1
    return {"requested": len(previous.locks), "held": held, "ended": ended, "broken": broken}
