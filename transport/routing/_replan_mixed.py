"""Mixed-school routes in force kept as one journey through a re-plan.

A mixed-school route (pupils of two nearby schools on one vehicle, :mod:`transport.routing.
_mixed`) is re-planned by each of its schools as a part of its own (a ``Line`` of the school's
:class:`~transport.routing._replan_school.SchoolReplan` carrying the route's id). Left alone,
each school would judge its part as if it were a route on its own: a new pupil inserted into
one part could break the whole route's ride limits or seats, the route could no longer be put
back together, and the other part's families, who had nothing to do with the change, would be
disturbed (a new vehicle, new co-riders, a new pickup time) and the plan would lose the
saving of the shared vehicle, night after night.

So a part whose route in force still has both its parts is *pinned*:

* the searches and local moves leave it alone (only a change worth the families of *both*
  parts may touch a mixed route, and they see one school);
* a new pupil may join it only where the whole route still keeps every rule, priced on the
  whole route (:func:`whole_value`: its annual cost + the change cost of every family of
  either school it disturbs);
* leavers drop out;
* :func:`rebuild_mixed` puts the route back together from its parts, in the order it ran (the
  first part's visits, then the other's; the schools in the same order), in its vehicle type
  when that still fits; exactly as it ran when nothing about it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transport.model import Route, Stop, VehicleType
from transport.routing._local import CapLedger
from transport.routing._mixed import _Pair
from transport.routing._plan import RouteSpec, Visits, rides_and_miles
from transport.routing._problem import Draft, route_cost

if TYPE_CHECKING:
    from transport.routing._replan_school import Line
    from transport.routing._replan_steps import _State


@dataclass
class MixedInForce:
    """A mixed-school route of the plan in force with both of its parts still routed."""

    route: Route
    schools: tuple[str, str]  # in visiting order (the route's school_id)
    parts: tuple[str, str]  # in pickup order: the school whose pupils board first, the other
    pairs: dict[tuple[str, ...], _Pair] = field(default_factory=dict)


def mixed_in_force(state: _State) -> dict[str, MixedInForce]:
    """Mixed-school routes in force of two schools whose both parts were seeded (a part each
    in its school's lines); their lines are pinned and given the whole-route objective."""
    out: dict[str, MixedInForce] = {}
    school_of = state.previous.school_of
    for r in state.previous.routes:
        schools = tuple(r.school_id.split(";"))
        if len(schools) != 2 or not all(s in state.schools for s in schools):
            continue
        lines = [_line(state, s, r.route_id) for s in schools]
        if any(ln is None for ln in lines):
            continue
        first = school_of.get(r.pupils[0])
        if first not in schools:
            continue
        parts = (first, schools[1] if first == schools[0] else schools[0])
        out[r.route_id] = MixedInForce(r, (schools[0], schools[1]), parts)
    return out


def pin_mixed(state: _State, units: dict[str, MixedInForce]) -> None:
    """Pin the parts of ``units`` and give their schools the whole-route objective."""
    for rid, unit in units.items():
        for sid in unit.schools:
            line = _line(state, sid, rid)
            assert line is not None
            line.pinned = True
            school = state.schools[sid]
            school.mixed[rid] = _objective(state, unit, sid)


def _line(state: _State, sid: str, rid: str) -> Line | None:
    school = state.schools.get(sid)
    if school is None:
        return None
    return next((ln for ln in school.lines if ln.origin == rid and ln.draft.seq), None)


def _objective(state: _State, unit: MixedInForce, sid: str) -> Callable[[Draft], int | None]:
    def value(draft: Draft) -> int | None:
        return whole_value(state, unit, {sid: draft})

    return value


def _visits(state: _State, unit: MixedInForce, drafts: dict[str, Draft]) -> dict[str, Visits]:
    out: dict[str, Visits] = {}
    for sid in unit.parts:
        school = state.schools[sid]
        d = drafts.get(sid)
        if d is None:
            line = _line(state, sid, unit.route.route_id)
            if line is None:
                return {}
            d = line.draft
        if not d.seq:
            return {}
        out[sid] = school.sub.visit_pupils(d.seq)
    return out


def whole_spec(
    state: _State,
    unit: MixedInForce,
    visits: dict[str, Visits],
    *,
    ledger: CapLedger | None = None,
    as_ran: bool = False,
) -> tuple[int, RouteSpec] | None:
    """The best whole mixed route with these parts (visits by school) and its objective
    (:func:`spec_value`); None when no arrangement keeps every rule.

    Each part keeps its own order; the parts board in either order and the schools are
    visited in either order (the order the route ran is tried first and wins ties; only that
    one with ``as_ran``, for a locked route), in the route's own vehicle type when it fits
    (else the cheapest that fits, within the caps of ``ledger``)."""
    data = state.data
    pupils = [data.pupil_by_id[p] for sid in unit.parts for v in visits[sid] for p in v]
    key = tuple(sorted(p.pupil_id for p in pupils))
    pair = unit.pairs.get(key)
    if pair is None:
        a, b = (state.by_school[s] for s in unit.schools)
        pair = _Pair(a, b, pupils, state.travel)
        unit.pairs[key] = pair
    has_pa = any(p.needs_pa for p in pupils)
    first, second = (visits[s] for s in unit.parts)
    best: tuple[int, RouteSpec] | None = None
    orders = (first + second,) if as_ran else (first + second, second + first)
    for order in orders:
        for school in (0,) if as_ran else (0, 1):
            got = pair.evaluate(order, school, state.params, state.options.strict_limits)
            if got is None:
                continue
            rides, miles, arrival, school_id = got
            vehicle = _vehicle(state, unit, pupils, has_pa, round(miles, 2), ledger)
            if vehicle is None:
                continue
            spec = RouteSpec(
                school_id,
                vehicle,
                has_pa,
                order,
                tuple(rides),
                miles,
                tuple(arrival),
                route_id=unit.route.route_id,
            )
            value = spec_value(state, spec)
            if best is None or value < best[0]:
                best = (value, spec)
    return best


def _vehicle(
    state: _State,
    unit: MixedInForce,
    pupils: list,
    has_pa: bool,
    miles: float,
    ledger: CapLedger | None,
) -> VehicleType | None:
    wheel = sum(1 for p in pupils if p.wheelchair)
    seats = len(pupils) - wheel + (1 if has_pa else 0)
    fitting = [v for v in state.data.vehicles if v.seats >= seats and v.wheelchair_spaces >= wheel]
    own = next((v for v in fitting if v.vehicle_type == unit.route.vehicle_type), None)
    if own is not None:
        return own
    if ledger is not None:
        usable = ledger.usable()
        fitting = [v for v in fitting if usable is None or v.vehicle_type in usable]
    if not fitting:
        return None
    return min(fitting, key=lambda v: (route_cost(v, miles, has_pa, state.params), v.vehicle_type))


def spec_value(state: _State, spec: RouteSpec) -> int:
    """A finished route's objective: annual cost in pence + change cost × families disturbed."""
    from transport.routing._replan_steps import spec_disturbed

    assert state.ctx is not None
    miles = spec.miles
    if miles is None:
        st = state.by_school[spec.school_id]
        _, miles = rides_and_miles(st, spec.visits, state.params.travel)
    pence = int(round(route_cost(spec.vehicle, round(miles, 2), spec.has_pa, state.params) * 100))
    return pence + state.ctx.change_pence * spec_disturbed(state, spec)


def whole_value(state: _State, unit: MixedInForce, drafts: dict[str, Draft]) -> int | None:
    """The objective of the whole route with some parts replaced by ``drafts`` (by school),
    the other parts as they stand; None when the route cannot run so."""
    visits = _visits(state, unit, drafts)
    if not visits:
        return None
    got = whole_spec(state, unit, visits)
    return None if got is None else got[0]


def rebuild_mixed(state: _State, specs: list[RouteSpec], ledger: CapLedger) -> list[RouteSpec]:
    """Put every mixed-school route in force back together from its parts (the specs that
    carry its id, one per school): exactly as it ran (vehicle, order, pickup times, miles)
    when its pupils are the same and none of them changed; else re-timed with its parts as
    they are now, when every rule holds and that is worth it against the parts apart. The
    merge pass (:func:`transport.routing._mixed.merge_mixed`) then works on the other routes."""
    previous = state.previous
    vehicles = {v.vehicle_type: v for v in state.data.vehicles}
    stops: dict[str, list[Stop]] = {}
    for s in previous.stops:
        stops.setdefault(s.route_id, []).append(s)
    parts: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        if spec.route_id is not None:
            parts.setdefault(spec.route_id, []).append(i)
    changed = previous.pupils.changed | previous.pupils.moved | previous.pupils.new
    units = getattr(state, "mixed", {})
    gone: set[int] = set()
    restored: list[RouteSpec] = []
    for r in previous.routes:
        got = parts.get(r.route_id, [])
        schools = r.school_id.split(";")
        if len(schools) < 2 or len(got) != len(schools):
            continue
        if sorted({specs[i].school_id for i in got}) != sorted(schools):
            continue
        on_parts = [p for i in got for p in specs[i].pupils]
        vehicle = vehicles.get(r.vehicle_type)
        exact = (
            vehicle is not None
            and sorted(on_parts) == sorted(r.pupils)
            and not any(p in changed for p in r.pupils)
        )
        spec: RouteSpec | None = None
        for i in got:
            ledger.swap(specs[i].vehicle.vehicle_type, None)
        if exact:
            assert vehicle is not None
            spec = _as_ran(state, r, vehicle, stops[r.route_id])
        elif r.route_id in units:
            unit = units[r.route_id]
            visits = {specs[i].school_id: specs[i].visits for i in got}
            locked = r.route_id in previous.locks
            whole = whole_spec(state, unit, visits, ledger=ledger, as_ran=locked)
            apart = sum(spec_value(state, specs[i]) for i in got)
            if whole is not None and whole[0] <= apart:
                spec = whole[1]
        left = ledger.left.get(spec.vehicle.vehicle_type) if spec is not None else None
        if spec is None or (left is not None and left <= 0):
            for i in got:
                ledger.swap(None, specs[i].vehicle.vehicle_type)
            continue
        ledger.swap(None, spec.vehicle.vehicle_type)
        restored.append(spec)
        gone.update(got)
    return [s for i, s in enumerate(specs) if i not in gone] + restored


def _as_ran(state: _State, r: Route, vehicle: VehicleType, rows: list[Stop]) -> RouteSpec:
    """A mixed route in force exactly as it ran (visits from its stops: pupils of one stop
    boarding one after another are one visit)."""
    rows = sorted(rows, key=lambda s: s.seq)
    visits: list[tuple[str, ...]] = []
    stop_of = {p: state.data.pupil_by_id[p].stop_id for p in r.pupils}
    for s in rows:
        last = visits[-1][-1] if visits else None
        if last is not None and stop_of[s.pupil_id] and stop_of[s.pupil_id] == stop_of[last]:
            visits[-1] = (*visits[-1], s.pupil_id)
        else:
            visits.append((s.pupil_id,))
    return RouteSpec(
        r.school_id,
        vehicle,
        r.has_pa,
        tuple(visits),
        rides=tuple(s.ride_min for s in rows),
        miles=r.route_miles,
        arrival=tuple(s.pickup + s.ride_min for s in rows),
        route_id=r.route_id,
    )
