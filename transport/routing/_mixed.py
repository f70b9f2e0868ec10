"""Mixed-school routes: a post-pass that merges two routes of nearby schools into one.

Two schools may share a vehicle when they are within the radius (road miles, either way) and
their ``arrive_by`` differ by at most :data:`ARRIVE_BY_GAP_MIN` minutes. A merged route drives
every pickup visit of both routes (one route's visits, then the other's), then both schools in
turn; two routes that both visit one shared stop are not merged (a stop is one visit). The
stop at the first school adds the dwell to the ride of the pupils still aboard; the
vehicle reaches the second school by its ``arrive_by`` and the first one by its own (so pupils
of the first school may arrive a little early). Every rule of a route is checked again on the
merged route, with the travel model's own minutes and miles, and a merge is made only when it
costs less than the two routes it replaces (greedily, best saving first, each route at most
once). The saving is reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from transport.model import Parameters, Pupil, VehicleType
from transport.routing._local import CapLedger
from transport.routing._plan import RouteSpec, SchoolTravel, Visits, rides_and_miles
from transport.routing._problem import route_cost
from transport.travel import TravelModel, as_points, stack_points

ARRIVE_BY_GAP_MIN = 15


def _fitting(
    pupils: Sequence[Pupil], vehicles: Sequence[VehicleType], ledger: CapLedger, freed: list[str]
) -> list[VehicleType]:
    """The types that fit these pupils and have a route left, counting those a merge frees."""
    has_pa = any(p.needs_pa for p in pupils)
    wheel = sum(p.wheelchair for p in pupils)
    return _fitting_counts(len(pupils), wheel, has_pa, vehicles, ledger, freed)


def _fitting_counts(
    pupils: int,
    wheel: int,
    has_pa: bool,
    vehicles: Sequence[VehicleType],
    ledger: CapLedger,
    freed: list[str],
) -> list[VehicleType]:
    """:func:`_fitting` of ``pupils`` pupils, ``wheel`` of them in wheelchairs."""
    seats = pupils - wheel + (1 if has_pa else 0)
    out = []
    for v in vehicles:
        if v.seats < seats or v.wheelchair_spaces < wheel:
            continue
        left = ledger.left.get(v.vehicle_type)
        if left is not None and left + freed.count(v.vehicle_type) <= 0:
            continue
        out.append(v)
    return out


class _Pair:
    """Two schools and their routes' pupils, with travel among all of them."""

    def __init__(self, a: SchoolTravel, b: SchoolTravel, pupils: list[Pupil], travel: TravelModel):
        self.schools = (a.school, b.school)
        self.pupils = {p.pupil_id: p for p in pupils}
        # the school each pupil is placed at (a new entrant's own school_id is blank)
        self.placed = {p.pupil_id: st.school.school_id for st in (a, b) for p in st.pupils}
        self.node = {p.pupil_id: 2 + i for i, p in enumerate(pupils)}
        pts = stack_points(as_points([a.school, b.school]), as_points(pupils))
        m = travel.travel_matrix(pts, pts)
        self.miles, self.minutes = np.asarray(m.miles), np.asarray(m.minutes)
        self._limits: dict[bool, dict[str, float]] = {False: {}, True: {}}

    def _limit(self, p: str, params: Parameters, strict: bool) -> float:
        """Pupil ``p``'s effective ride limit, riding direct to their own school."""
        own = 0 if self.placed[p] == self.schools[0].school_id else 1
        direct = self.minutes.item(self.node[p], own)
        limit = params.ride.effective_limit(self.pupils[p], direct, strict=strict)
        self._limits[strict][p] = limit
        return limit

    def evaluate(
        self, order: Visits, first: int, params: Parameters, strict: bool
    ) -> tuple[list[float], float, list[float], str] | None:
        """Rides (per pupil), miles and arrivals of a merged route, or None when a rule is
        broken."""
        second = 1 - first
        minutes, miles_of = self.minutes.item, self.miles.item
        dwell, per_pupil = params.travel.dwell_min, params.travel.dwell_per_pupil_min
        limits = self._limits[strict]
        s1, s2 = self.schools[first], self.schools[second]
        delta = minutes(first, second) + dwell
        if not math.isfinite(delta):
            return None
        node, placed, first_id = self.node, self.placed, s1.school_id
        # from the last pickup back to the first: each visit's ride to the first school,
        # checked against its pupils' limits as soon as it is known
        j = len(order) - 1
        to_first = [0.0] * len(order)
        here = node[order[j][0]]
        t = minutes(here, first)
        miles = miles_of(here, first) + miles_of(first, second)
        while True:
            to_first[j] = t
            for p in order[j]:
                ride = t + delta if placed[p] != first_id else t
                limit = limits.get(p)
                if ride > (self._limit(p, params, strict) if limit is None else limit):
                    return None
            if j == 0:
                break
            j, after = j - 1, here
            here = node[order[j][0]]
            t += minutes(here, after)
            t += dwell + per_pupil * len(order[j + 1])  # TravelParams.dwell_of_visit
            miles += miles_of(here, after)
        if not math.isfinite(miles):
            return None
        t1 = min(float(s1.arrive_by), float(s2.arrive_by) - delta)
        rides, arrival = [], []
        for visit, r in zip(order, to_first, strict=True):
            for p in visit:
                mine = placed[p] != first_id
                rides.append(r + delta if mine else r)
                arrival.append(t1 + delta if mine else t1)
        return rides, miles, arrival, f"{s1.school_id};{s2.school_id}"


def merge_mixed(
    specs: list[RouteSpec],
    by_school: dict[str, SchoolTravel],
    *,
    travel: TravelModel,
    params: Parameters,
    radius_miles: float,
    ledger: CapLedger,
    incompatible: set[frozenset[str]],
    vehicles: Sequence[VehicleType],
    strict_limits: bool = False,
    disturbed: Callable[[RouteSpec], int] | None = None,
    change_cost: float = 0.0,
) -> tuple[list[RouteSpec], dict[str, Any]]:
    """Merge pairs of routes of nearby schools where that saves money; returns the saving.

    In a re-plan, ``disturbed`` counts the families a route would disturb against the plan in
    force: a merge then has to save more than ``change_cost`` (£ a year) for each family it
    disturbs beyond the two routes it replaces (a merge that restores a mixed route in force
    undoes disturbances and gains by them).
    """
    pupil = {p.pupil_id: p for st in by_school.values() for p in st.pupils}

    def cost(s: RouteSpec) -> float:
        _, miles = rides_and_miles(by_school[s.school_id], s.visits, params.travel)
        return route_cost(s.vehicle, round(miles, 2), s.has_pa, params)

    def stops_of(s: RouteSpec) -> set[str]:
        return {sid for p in s.pupils if (sid := pupil[p].stop_id) is not None}

    mergeable = [  # one school's routes (a mixed route in force, restored, stays as it is)
        k
        for k, s in enumerate(specs)
        if ";" not in s.school_id and not any(pupil[p].solo for p in s.pupils)
    ]
    by_sid: dict[str, list[int]] = {}
    for k in mergeable:
        by_sid.setdefault(specs[k].school_id, []).append(k)
    sids = sorted(by_sid)
    if len(sids) < 2:
        return specs, {
            "school_pairs": 0,
            "routes_merged": 0,
            "mixed_routes": 0,
            "annual_saving": 0.0,
        }
    pts = as_points([by_school[s].school for s in sids])
    m = travel.travel_matrix(pts, pts)
    near = np.minimum(np.asarray(m.miles), np.asarray(m.miles).T) <= radius_miles
    old_cost = {k: cost(specs[k]) for k in mergeable}
    old_disturbed = {k: disturbed(specs[k]) for k in mergeable} if disturbed else {}
    # what each mergeable route's checks need, computed once (not once per pair of routes)
    members_of = {k: specs[k].pupils for k in mergeable}
    stops = {k: stops_of(specs[k]) for k in mergeable}
    partners: dict[str, set[str]] = {}  # pupil → pupils they must not ride with
    for pair_ids in incompatible:
        if len(pair_ids) == 2:
            x, y = tuple(pair_ids)
            partners.setdefault(x, set()).add(y)
            partners.setdefault(y, set()).add(x)
    avoid = {k: set().union(*(partners.get(p, ()) for p in members_of[k])) for k in mergeable}
    counts = {  # pupils, wheelchairs, whether a PA rides
        k: (
            len(members_of[k]),
            sum(pupil[p].wheelchair for p in members_of[k]),
            any(pupil[p].needs_pa for p in members_of[k]),
        )
        for k in mergeable
    }
    candidates = []
    pairs = 0
    for i, j in itertools.combinations(range(len(sids)), 2):
        a, b = by_school[sids[i]], by_school[sids[j]]
        if not near[i, j] or abs(a.school.arrive_by - b.school.arrive_by) > ARRIVE_BY_GAP_MIN:
            continue
        pairs += 1
        members = [pupil[p] for k in by_sid[sids[i]] + by_sid[sids[j]] for p in members_of[k]]
        pair: _Pair | None = None  # travel among the pair's pupils, once a merge needs it
        for ka, kb in itertools.product(by_sid[sids[i]], by_sid[sids[j]]):
            if stops[ka] & stops[kb]:
                continue  # a shared stop is one visit
            if avoid[ka] and not avoid[ka].isdisjoint(members_of[kb]):
                continue  # an incompatible pair of pupils
            (na, wa, pa), (nb, wb, pb) = counts[ka], counts[kb]
            has_pa = pa or pb
            freed = [specs[ka].vehicle.vehicle_type, specs[kb].vehicle.vehicle_type]
            fitting = _fitting_counts(na + nb, wa + wb, has_pa, vehicles, ledger, freed)
            if not fitting:
                continue
            if pair is None:
                pair = _Pair(a, b, members, travel)
            best = None
            for order in (specs[ka].visits + specs[kb].visits, specs[kb].visits + specs[ka].visits):
                for first in (0, 1):
                    got = pair.evaluate(order, first, params, strict_limits)
                    if got is None:
                        continue
                    miles = round(got[1], 2)
                    new, vehicle = min(
                        ((route_cost(v, miles, has_pa, params), v) for v in fitting),
                        key=lambda x: x[0],
                    )
                    saving = old_cost[ka] + old_cost[kb] - new
                    spec = RouteSpec(
                        got[3], vehicle, has_pa, order, tuple(got[0]), got[1], tuple(got[2])
                    )
                    gain = saving
                    if disturbed is not None and saving > 0.005:
                        extra = disturbed(spec) - old_disturbed[ka] - old_disturbed[kb]
                        gain = saving - change_cost * extra
                    if saving > 0.005 and gain > 0.005 and (best is None or gain > best[0]):
                        best = (gain, spec, saving)
            if best is not None:
                candidates.append((best[0], ka, kb, best[1], best[2]))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used: set[int] = set()
    merged: list[RouteSpec] = []
    saving = 0.0
    for _gain, ka, kb, spec, gain in candidates:
        if ka in used or kb in used:
            continue
        ledger.swap(specs[ka].vehicle.vehicle_type, None)
        ledger.swap(specs[kb].vehicle.vehicle_type, None)
        left = ledger.left.get(spec.vehicle.vehicle_type)
        if left is not None and left <= 0:
            ledger.swap(None, specs[ka].vehicle.vehicle_type)
            ledger.swap(None, specs[kb].vehicle.vehicle_type)
            continue
        ledger.swap(None, spec.vehicle.vehicle_type)
        used.update((ka, kb))
        merged.append(spec)
        saving += gain
    out = [s for k, s in enumerate(specs) if k not in used] + merged
    info = {
        "school_pairs": pairs,
        "routes_merged": 2 * len(merged),
        "mixed_routes": len(merged),
        "annual_saving": round(saving, 2),
    }
    return out, info
