"""The steps of a plan: group by school, solo pupils, solve, share vehicle caps, repair, write.

1. Placed pupils are grouped by school; a pupil no vehicle type can carry is unrouted.
2. Solo pupils get a route of their own in the cheapest type that can carry them.
3. Each school's other pupils are one sub-problem; all are solved in parallel (phase 1) with
   every type not yet used up.
4. If the plan uses more routes of a capped type than ``available``, the routes left are shared
   among schools in proportion to what they used and the schools over their share are solved
   again with caps (phase 2, OR-Tools, which can cap a type across both PA variants).
5. Every school's answer is repaired (:func:`transport.routing._local.repair`): rules checked,
   dropped pupils inserted, each route in its cheapest type; the vehicle caps are held by one
   ledger across the plan.
6. Optionally routes of nearby schools are merged (mixed-school routes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transport.executor import Executor
from transport.model import Dataset, Parameters, PlacementResult, Pupil, Route, Stop, Unrouted
from transport.routing._local import CapLedger, all_ok, enforce_caps, repair, warm_start
from transport.routing._plan import RouteSpec, SchoolTravel, build_routes
from transport.routing._problem import (
    Draft,
    SubProblem,
    SubSolution,
    build_subproblem,
    draft_cost,
    draft_ok,
    make_variants,
    route_cost,
    travel_for,
    unroutable_reason,
)
from transport.routing._solve import (
    cap_shares,
    needs_search,
    run_subproblems,
    share_budget,
    type_usage,
)
from transport.travel import TravelModel

PHASE1_SHARE = 0.8
PHASE1_SHARE_WITH_CAPS = 0.5
PHASE2_SHARE = 0.2
POOL_START_S = 1.5  # starting worker processes (spawn, importing the solvers)
DEADLINE = 0.9  # no search runs past this share of the time limit (the rest: setup and repair)
CAPS_USED_UP = "the available cap of every vehicle type that can carry this pupil is used up"

Report = Callable[[int, int, int, float, str, str | None], None]


@dataclass
class PlanResult:
    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]
    unrouted: tuple[Unrouted, ...]
    status: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)


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
    for sid in sorted(by_school):
        school = data.school_by_id[sid]
        miles, minutes = travel_for(school, by_school[sid], travel)
        out[sid] = SchoolTravel(school, tuple(by_school[sid]), miles, minutes)
    return out, unrouted


def _solo_route(
    st: SchoolTravel, pupil: Pupil, data: Dataset, params: Parameters, ledger: CapLedger
) -> RouteSpec | None:
    """The cheapest type (with a route left) that can carry a solo pupil alone."""
    miles = round(float(st.miles[st.node(pupil.pupil_id), 0]), 2)
    pa = 1 if pupil.needs_pa else 0
    usable = ledger.usable()
    best = None
    for k, v in enumerate(data.vehicles):
        ok = v.wheelchair_spaces >= 1 and v.seats >= pa if pupil.wheelchair else v.seats >= 1 + pa
        if not ok or (usable is not None and v.vehicle_type not in usable):
            continue
        cost = route_cost(v, miles, pupil.needs_pa, params)
        if best is None or (cost, k) < best[:2]:
            best = (cost, k, v)
    if best is None:
        return None
    ledger.swap(None, best[2].vehicle_type)
    return RouteSpec(st.school.school_id, best[2], pupil.needs_pa, (pupil.pupil_id,))


def _solo_cost(spec: RouteSpec, st: SchoolTravel, params: Parameters) -> float:
    miles = round(float(st.miles[st.node(spec.pupils[0]), 0]), 2)
    return route_cost(spec.vehicle, miles, spec.has_pa, params)


def _subproblem(
    st: SchoolTravel,
    pupils: list[Pupil],
    data: Dataset,
    params: Parameters,
    travel: TravelModel,
    ledger: CapLedger,
    seed: int,
) -> SubProblem:
    idx = [0] + [st.node(p.pupil_id) for p in pupils]
    usable = ledger.usable()
    variants = [
        v
        for v in make_variants(data.vehicles, params)
        if usable is None or v.vehicle_type in usable
    ]
    return build_subproblem(
        st.school,
        pupils,
        st.miles[np.ix_(idx, idx)],
        st.minutes[np.ix_(idx, idx)],
        variants=variants,
        incompatible={frozenset(p) for p in data.incompatible},
        params=params,
        dwell_min=travel.dwell_min,
        seed=seed,
    )


def _with_budgets(subs: dict[str, SubProblem], seconds: float, workers: int) -> list[SubProblem]:
    budgets = share_budget(subs.values(), seconds, workers)
    return [s.with_budget(budgets[sid]) if sid in budgets else s for sid, s in subs.items()]


def _enforce_caps(
    subs: dict[str, SubProblem], drafts: dict[str, list[Draft]], ledger: CapLedger
) -> dict[str, list[int]]:
    """Safety net: take routes off a type used beyond its cap; returns pupils to re-insert."""
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
    travel: TravelModel,
    ledger: CapLedger,
    seed: int,
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
            subs[sid] = _subproblem(st, regular, data, params, travel, ledger, seed)
    return specs, subs, unrouted


def _seconds(share: float, subs: dict[str, SubProblem], workers: int) -> float:
    """Search seconds in a share of the time limit, less the start of worker processes."""
    parallel = workers > 1 and sum(1 for s in subs.values() if needs_search(s)) > 1
    return max(0.25 * share, share - POOL_START_S) if parallel else share


def _solve(
    subs: dict[str, SubProblem],
    ledger: CapLedger,
    *,
    backend: str,
    time_limit_s: float,
    workers: int,
    on_done: Callable[[SubProblem, SubSolution], None],
    started: float,
    executor: Executor | None = None,
) -> tuple[dict[str, SubProblem], dict[str, SubSolution], list[str]]:
    """Phase 1 for every school, then phase 2 for the schools over their share of a cap.

    ``started`` (seconds since the epoch) is when the plan began: no search runs past
    ``DEADLINE`` × the time limit from then (phase 1 with caps: its own share and a little).
    """
    again_possible = any(k > 0 for k in ledger.left.values())
    share1 = PHASE1_SHARE_WITH_CAPS if again_possible else PHASE1_SHARE
    jobs = _with_budgets(subs, _seconds(time_limit_s * share1, subs, workers), workers)
    subs = {s.school_id: s for s in jobs}
    sols = run_subproblems(
        jobs,
        backend=backend,
        workers=workers,
        on_done=lambda sol: on_done(subs[sol.school_id], sol),
        deadline=started + time_limit_s * (share1 + 0.1 if again_possible else DEADLINE),
        executor=executor,
    )
    again, caps_by_school = cap_shares(ledger.left, type_usage(subs, sols))
    if again:
        redo = {
            sid: subs[sid].with_caps(
                caps_by_school[sid],
                subs[sid].budget_s,
                warm_start(subs[sid], sols[sid].drafts, caps_by_school[sid]),
            )
            for sid in again
        }
        seconds = _seconds(time_limit_s * PHASE2_SHARE, redo, workers)
        redo = {s.school_id: s for s in _with_budgets(redo, seconds, workers)}
        subs.update(redo)
        sols.update(
            run_subproblems(
                list(redo.values()),
                backend=backend,
                workers=workers,
                deadline=started + time_limit_s * DEADLINE,
                executor=executor,
            )
        )
    return subs, sols, sorted(again)


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
        unrouted.extend(Unrouted(sub.pupil_ids[i], CAPS_USED_UP) for i in left)
        for d in fixed:
            v = sub.variants[d.variant]
            seq = tuple(sub.pupil_ids[i] for i in d.seq)
            has_pa = bool(sub.needs_pa[list(d.seq)].any())
            specs.append(RouteSpec(sid, data.vehicles[v.type_index], has_pa, seq))
    counts = {"pupils_inserted_by_repair": inserted, "routes_fixed_by_repair": broken}
    return specs, unrouted, counts


def run_plan(
    data: Dataset,
    placements: PlacementResult,
    *,
    travel: TravelModel,
    params: Parameters,
    backend: str,
    time_limit_s: float,
    seed: int,
    workers: int,
    mixed_school: bool,
    mixed_radius: float,
    report: Report,
    executor: Executor | None = None,
) -> PlanResult:
    """Every step of a plan (see the module docstring)."""
    started = time.time()
    by_school, unrouted = _group(data, placements, travel)
    caps = {v.vehicle_type: v.available for v in data.vehicles if v.available is not None}
    ledger = CapLedger(caps)
    specs, subs, more = _split(data, by_school, params, travel, ledger, seed)
    unrouted += more
    total = len(by_school)
    solo_cost = sum(_solo_cost(s, by_school[s.school_id], params) for s in specs)
    tally = {"done": total - len(subs), "routed": len(specs), "pence": 0.0}

    def on_done(sub: SubProblem, sol: SubSolution) -> None:
        tally["done"] += 1
        tally["routed"] += sum(len(d.seq) for d in sol.drafts)
        tally["pence"] += sum(draft_cost(sub, d) for d in sol.drafts)
        cost = solo_cost + tally["pence"] / 100.0
        report(int(tally["done"]), total, int(tally["routed"]), cost, "solve", sol.school_id)

    subs, sols, again = _solve(
        subs,
        ledger,
        backend=backend,
        time_limit_s=time_limit_s,
        workers=workers,
        on_done=on_done,
        started=started,
        executor=executor,
    )
    more_specs, more, counts = _repair(data, subs, sols, ledger)
    specs += more_specs
    unrouted += more
    status = {sid: "trivial" for sid in by_school} | {sid: sols[sid].status for sid in sols}
    info: dict[str, Any] = {
        "backend_by_school": {sid: sols[sid].backend for sid in sorted(sols)},
        "schools_solved_again_for_caps": again,
        "schools_stopped_by_clock": sorted(sid for sid, sol in sols.items() if sol.clock_stopped),
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
        )
    routes, stops = build_routes(specs, by_school, params=params, dwell_min=travel.dwell_min)
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    unrouted.sort(key=lambda u: rank[u.pupil_id])
    report(total, total, len(stops), sum(r.annual_cost for r in routes), "done", None)
    return PlanResult(routes, stops, tuple(unrouted), status, info)
