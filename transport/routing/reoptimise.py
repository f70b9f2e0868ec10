"""Re-plan one route's pupils without some of them: the cost of every remaining set at once.

A personal transport budget takes a pupil off council transport; what the council saves is the
fall in the cost of that pupil's route once the pupils left on it are re-planned (a solo route
disappears, a minibus may step down to an MPV, a full taxi may not change at all). This module
answers that question with the routing engine's own rules (:mod:`transport.routing._problem`:
integer ticks rounded up, limits rounded down, seats, wheelchair spaces, a PA on board when
a pupil needs one, solo pupils alone, incompatible pupils apart) and its cost formula.

:func:`subset_costs` solves a route of up to :data:`EXACT_SUBSET_MAX` pupils for *every* subset
of its pupils in one pass, so that savings of any combination of acceptances are table look-ups:

1. a dynamic programme over (visits aboard, last visit) builds each set of pickup visits'
   shortest feasible single route, driven backwards from the school like the engine's solvers;
   each state keeps two labels, the shortest and the quickest partial route, so a slightly
   longer but quicker order that keeps a ride limit is not lost (pupils of a shared stop are
   one visit; its dwell and ride limit are those of all its pupils, which a subset of them can
   only keep more easily);
2. each subset of pupils gets its cheapest vehicle type (with a PA when one is needed);
3. a second dynamic programme over subsets splits each remaining set into routes at least cost,
   never splitting a stop's pupils between two routes.

The result is the optimum whenever travel time grows with distance (the contract's crow-fly
model, up to a second's rounding per leg). A larger route is re-planned by the engine's own
search (:func:`replan_route`). :func:`keep_order_cost` prices the plainest re-plan: the same
order with the leavers' stops skipped, in the cheapest vehicle type that fits.

Costs are in £, computed like ``routes.csv``: route miles rounded to the hundredth of a mile,
then ``route_cost`` rounded to the penny.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from transport.costing import route_cost
from transport.model import Parameters, Pupil, School, VehicleType
from transport.routing._local import CapLedger, repair
from transport.routing._problem import (
    SubProblem,
    Variant,
    build_subproblem,
    make_variants,
    times_ok,
    travel_for,
)
from transport.routing._solve import solve_subproblem
from transport.travel import TravelModel

EXACT_SUBSET_MAX = 14
"""Routes of up to this many pupils get the exact table of every subset (2**n entries)."""

REPLAN_MOVES_PER_S = 3_000_000
"""Work of a re-plan by search per second of ``time_limit_s`` (about a second of one core)."""

IMPOSSIBLE = -1
"""Table entry of a set of pupils no plan can carry (in pence)."""

_BIG_T = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class SubsetCosts:
    """The least annual cost (pence) of re-planning every subset of one route's pupils.

    Bit ``i`` of an index stands for ``pupil_ids[i]``; ``pence[0]`` is 0 (nobody left, no
    route) and an entry of :data:`IMPOSSIBLE` marks a set no plan can carry.
    """

    school_id: str
    pupil_ids: tuple[str, ...]
    pence: np.ndarray

    def mask(self, pupil_ids: Iterable[str]) -> int:
        """The index of a set of this route's pupils."""
        bit = {p: i for i, p in enumerate(self.pupil_ids)}
        out = 0
        for p in pupil_ids:
            out |= 1 << bit[p]
        return out

    def cost(self, remaining: Iterable[str]) -> float | None:
        """The least annual cost in £ of the pupils ``remaining``, or ``None`` if impossible."""
        value = int(self.pence[self.mask(remaining)])
        return None if value == IMPOSSIBLE else value / 100.0


@dataclass(frozen=True)
class _Route:
    """One school's pupils as the engine's integer sub-problem (visits) plus float miles."""

    sub: SubProblem
    miles: np.ndarray  # over [school, *visits]
    solo: np.ndarray  # per pupil
    vehicles: tuple[VehicleType, ...]
    visit_mask: np.ndarray  # pupil mask → mask of the visits it touches
    closure: np.ndarray  # pupil mask → every pupil of the visits it touches
    wheel: np.ndarray  # per pupil
    needs_pa: np.ndarray  # per pupil
    pairs: tuple[tuple[int, int], ...]  # incompatible pupils (indices)


def _prepare(
    school: School,
    pupils: Sequence[Pupil],
    vehicles: Sequence[VehicleType],
    *,
    params: Parameters,
    travel: TravelModel,
    incompatible: Iterable[tuple[str, str]],
    usable: Container[str] | None,
    strict_limits: bool = False,
    seed: int = 0,
    masks: bool = True,
) -> _Route:
    miles, minutes, places = travel_for(school, pupils, travel)
    variants = [
        v for v in make_variants(vehicles, params) if usable is None or v.vehicle_type in usable
    ]
    params = replace(params, travel=replace(params.travel, dwell_min=travel.dwell_min))
    sub = build_subproblem(
        school,
        pupils,
        miles,
        minutes,
        places,
        variants=variants,
        incompatible={frozenset(p) for p in incompatible},
        params=params,
        dwell_min=travel.dwell_min,
        strict_limits=strict_limits,
        seed=seed,
    )
    idx = [0] + [places[pupils[g[0]].pupil_id] for g in sub.members]
    solo = np.array([p.solo for p in pupils], dtype=bool)
    n = len(pupils)
    visit_of = np.zeros(n, dtype=np.int64)
    for k, g in enumerate(sub.members):
        visit_of[list(g)] = k
    if masks and n <= EXACT_SUBSET_MAX:
        pm = np.arange(1 << n, dtype=np.int64)
        member = (pm[:, None] >> np.arange(n)) & 1
        vmask = (member << visit_of[None, :]).astype(np.int64)
        visit_mask = np.bitwise_or.reduce(vmask, axis=1) if n else np.zeros(1, dtype=np.int64)
        full = np.zeros(sub.n, dtype=np.int64)
        for k, g in enumerate(sub.members):
            for i in g:
                full[k] |= 1 << i
        vm = (visit_mask[:, None] >> np.arange(sub.n)) & 1
        closure = np.bitwise_or.reduce(vm * full[None, :], axis=1) if sub.n else pm * 0
    else:
        visit_mask = closure = np.zeros(1, dtype=np.int64)
    ids = {p.pupil_id: i for i, p in enumerate(pupils)}
    pairs = tuple(
        sorted(
            (min(ids[a], ids[b]), max(ids[a], ids[b]))
            for a, b in incompatible
            if a in ids and b in ids and a != b
        )
    )
    return _Route(
        sub,
        miles[np.ix_(idx, idx)],
        solo,
        tuple(vehicles),
        visit_mask,
        closure,
        np.array([p.wheelchair for p in pupils], dtype=bool),
        np.array([p.needs_pa for p in pupils], dtype=bool),
        pairs,
    )


def _variant_pence(r: _Route, v: Variant, miles: np.ndarray, params: Parameters) -> np.ndarray:
    """Annual cost in pence of routes of these (unrounded) miles in one variant."""
    vehicle = r.vehicles[v.type_index]
    cost = route_cost(vehicle, np.round(miles, 2), v.has_pa, params)
    return np.rint(cost * 100.0).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Exact table of every subset


@lru_cache(maxsize=EXACT_SUBSET_MAX + 1)
def _submasks(n: int) -> tuple[np.ndarray, ...]:
    """For each mask of ``n`` bits, its submasks that contain its lowest bit."""
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for mask in range(1, 1 << n):
        low = mask & -mask
        rest = mask ^ low
        bits = np.array([1 << b for b in range(n) if rest >> b & 1], dtype=np.int64)
        combos = (np.arange(1 << len(bits))[:, None] >> np.arange(len(bits))) & 1
        out.append(combos @ bits + low if len(bits) else np.array([low], dtype=np.int64))
    return tuple(out)


def _single_route_miles(r: _Route, max_visits: int) -> np.ndarray:
    """Shortest feasible single-route miles of every set of visits (``inf`` where none is)."""
    sub = r.sub
    n = sub.n
    size = 1 << n
    masks = np.arange(size, dtype=np.int64)
    popcount = np.array([bin(m).count("1") for m in range(size)], dtype=np.int64)
    # labels: A = shortest, B = quickest; distance (float miles) and ride time (int ticks)
    da = np.full((size, n), np.inf)
    ta = np.full((size, n), _BIG_T, dtype=np.int64)
    db = da.copy()
    tb = ta.copy()
    t0 = sub.time_t[1:, 0].astype(np.int64)
    ok = t0 <= sub.limit_t
    for x in (int(i) for i in np.flatnonzero(ok)):
        da[1 << x, x] = db[1 << x, x] = r.miles[x + 1, 0]
        ta[1 << x, x] = tb[1 << x, x] = t0[x]
    # [x, last]: from visit x to the next (later) visit, whose dwell x's pupils sit through
    leg_t = sub.time_t[1:, 1:].astype(np.int64) + sub.dwell_t[None, :].astype(np.int64)
    leg_d = r.miles[1:, 1:]
    for k in range(2, min(n, max_visits) + 1):
        layer = masks[popcount == k]
        for x in range(n):
            now = layer[(layer >> x) & 1 == 1]
            prev = now ^ (1 << x)
            d = np.concatenate([da[prev], db[prev]], axis=1) + np.tile(leg_d[x], 2)
            t = np.concatenate([ta[prev], tb[prev]], axis=1) + np.tile(leg_t[x], 2)
            feasible = (t <= sub.limit_t[x]) & np.isfinite(d)
            if not feasible.any():
                continue
            d_ok = np.where(feasible, d, np.inf)
            ia = np.argmin(d_ok, axis=1)
            rows = np.arange(len(now))
            da[now, x] = d_ok[rows, ia]
            ta[now, x] = np.where(np.isfinite(da[now, x]), t[rows, ia], _BIG_T)
            key = np.where(feasible, t + d / 1e6, np.inf)
            ib = np.argmin(key, axis=1)
            db[now, x] = np.where(feasible[rows, ib], d[rows, ib], np.inf)
            tb[now, x] = np.where(feasible[rows, ib], t[rows, ib], _BIG_T)
    best = da.min(axis=1) if n else np.zeros(1)
    best[0] = 0.0
    return best


def _route_pence(r: _Route, visit_miles: np.ndarray, params: Parameters) -> np.ndarray:
    """Cheapest single-route cost (pence) of every subset of pupils, or :data:`IMPOSSIBLE`.

    ``visit_miles`` are the miles of each set of visits; a subset of pupils drives the visits
    it touches.
    """
    sub = r.sub
    n = len(r.solo)
    size = 1 << n
    masks = np.arange(size, dtype=np.int64)
    member = ((masks[:, None] >> np.arange(n)) & 1).astype(bool)
    miles = visit_miles[r.visit_mask]
    wheel = member[:, r.wheel].sum(axis=1) if n else np.zeros(size, dtype=np.int64)
    seated = member.sum(axis=1) - wheel
    pa = member[:, r.needs_pa].any(axis=1)
    bad = ~np.isfinite(miles)
    if r.solo.any():
        bad |= member[:, r.solo].any(axis=1) & (member.sum(axis=1) > 1)
    for a, b in r.pairs:
        bad |= member[:, a] & member[:, b]
    best = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    safe = np.where(bad, 0.0, miles)
    for v in sub.variants:
        fit = (wheel <= v.wheelchairs) & (seated <= v.seats) & (pa == v.has_pa) & ~bad
        if fit.any():
            best = np.where(fit, np.minimum(best, _variant_pence(r, v, safe, params)), best)
    best[best == np.iinfo(np.int64).max] = IMPOSSIBLE
    best[0] = 0
    return best


def _partition(route_pence: np.ndarray, n: int, closure: np.ndarray) -> np.ndarray:
    """Least cost of splitting every subset into routes (pence), or :data:`IMPOSSIBLE`; a
    route takes every pupil of the set at each visit it makes (``closure``)."""
    size = 1 << n
    big = np.iinfo(np.int64).max // 4
    single = np.where(route_pence == IMPOSSIBLE, big, route_pence)
    f = np.full(size, big, dtype=np.int64)
    f[0] = 0
    subs = _submasks(n)
    for mask in range(1, size):
        t = subs[mask]
        whole = (closure[t] & mask) == t
        cost = np.where(whole, single[t] + f[mask ^ t], big)
        f[mask] = min(big, int(cost.min()))
    f[f >= big] = IMPOSSIBLE
    return f


def subset_costs(
    school: School,
    pupils: Sequence[Pupil],
    vehicles: Sequence[VehicleType],
    *,
    params: Parameters,
    travel: TravelModel,
    incompatible: Iterable[tuple[str, str]] = (),
    usable: Container[str] | None = None,
    strict_limits: bool = False,
) -> SubsetCosts:
    """The least annual cost of re-planning every subset of a route's pupils for their school.

    Parameters
    ----------
    school
        The school the route serves.
    pupils
        The route's pupils in pickup order (at most :data:`EXACT_SUBSET_MAX`). Every entry of
        the table is at most the cost of driving its pupils in this order, the others' stops
        skipped, in the cheapest vehicle type that fits.
    vehicles
        Vehicle types that may be contracted.
    params, travel
        The run's parameters and travel model (the ones the route was planned with).
    incompatible
        Pairs of pupil ids that must not share a vehicle.
    usable
        Vehicle type names a re-plan may use (``None``: all of them).
    strict_limits
        The run's ``strict_limits`` (no ride over the stated limit unless riding direct).

    Returns
    -------
    SubsetCosts
        Optimal cost of every subset, in pence.
    """
    if len(pupils) > EXACT_SUBSET_MAX:
        raise ValueError(f"subset_costs takes at most {EXACT_SUBSET_MAX} pupils, got {len(pupils)}")
    r = _prepare(
        school,
        pupils,
        vehicles,
        params=params,
        travel=travel,
        incompatible=incompatible,
        usable=usable,
        strict_limits=strict_limits,
    )
    ids = tuple(p.pupil_id for p in pupils)
    if not pupils:
        return SubsetCosts(school.school_id, ids, np.zeros(1, dtype=np.int64))
    max_load = max((v.seats + v.wheelchairs for v in r.sub.variants), default=0)
    miles = _single_route_miles(r, max_load)
    best = _partition(_route_pence(r, miles, params), len(pupils), r.closure)
    same_order = _route_pence(r, _keep_order_miles(r), params)
    ok = same_order != IMPOSSIBLE
    best = np.where(ok & ((best == IMPOSSIBLE) | (same_order < best)), same_order, best)
    return SubsetCosts(school.school_id, ids, best)


def _keep_order_miles(r: _Route) -> np.ndarray:
    """Miles of every set of visits driven in the given order (``inf`` where a ride limit
    breaks).

    Bit ``i`` is the ``i``-th visit, so a set's first pickup is its lowest bit.
    """
    sub = r.sub
    size = 1 << sub.n
    miles = np.full(size, np.inf)
    ride = np.zeros(size, dtype=np.int64)
    miles[0] = 0.0
    for mask in range(1, size):
        low = mask & -mask
        first = low.bit_length() - 1
        rest = mask ^ low
        if rest == 0:
            d, t = float(r.miles[first + 1, 0]), int(sub.time_t[first + 1, 0])
        elif np.isfinite(miles[rest]):
            second = (rest & -rest).bit_length() - 1
            d = float(miles[rest]) + float(r.miles[first + 1, second + 1])
            t = int(ride[rest]) + int(sub.dwell_t[second]) + int(sub.time_t[first + 1, second + 1])
        else:
            continue
        if t <= int(sub.limit_t[first]):
            miles[mask], ride[mask] = d, t
    return miles


# --------------------------------------------------------------------------------------------
# One set at a time: the same order, and the engine's own search


def keep_order_cost(
    school: School,
    pupils: Sequence[Pupil],
    vehicles: Sequence[VehicleType],
    *,
    params: Parameters,
    travel: TravelModel,
    usable: Container[str] | None = None,
    strict_limits: bool = False,
) -> float | None:
    """Annual cost (£) of one route taking ``pupils`` in this order (a shared stop's pupils at
    one visit), in the cheapest type that fits; ``None`` when a ride limit or a solo pupil
    forbids it (the ride limits are checked even though skipping a stop cannot lengthen a ride
    under the crow-fly model)."""
    if not pupils:
        return 0.0
    if len(pupils) > 1 and any(p.solo for p in pupils):
        return None
    r = _prepare(
        school,
        pupils,
        vehicles,
        params=params,
        travel=travel,
        incompatible=(),
        usable=usable,
        strict_limits=strict_limits,
        masks=False,
    )
    seq = tuple(range(r.sub.n))
    if not times_ok(r.sub, seq):
        return None
    miles = float(r.miles[r.sub.n, 0]) + sum(
        float(r.miles[a + 1, a + 2]) for a in range(r.sub.n - 1)
    )
    return _cheapest(r, seq, miles, params)


def _cheapest(r: _Route, seq: Sequence[int], miles: float, params: Parameters) -> float | None:
    """The cheapest variant's annual cost (£) of a route of these visits."""
    sub = r.sub
    wheel = int(sub.wheels[list(seq)].sum())
    seated = int(sub.seats[list(seq)].sum())
    pa = bool(sub.needs_pa[list(seq)].any())
    best = None
    for v in sub.variants:
        if v.wheelchairs >= wheel and v.seats >= seated and v.has_pa == pa:
            pence = int(_variant_pence(r, v, np.array([miles]), params)[0])
            best = pence if best is None else min(best, pence)
    return None if best is None else best / 100.0


def replan_route(
    school: School,
    pupils: Sequence[Pupil],
    vehicles: Sequence[VehicleType],
    *,
    params: Parameters,
    travel: TravelModel,
    incompatible: Iterable[tuple[str, str]] = (),
    usable: Container[str] | None = None,
    time_limit_s: float = 1.0,
    seed: int = 0,
    strict_limits: bool = False,
) -> float | None:
    """The least annual cost (£) found for re-planning ``pupils`` to their school.

    Exact (:func:`subset_costs`) up to :data:`EXACT_SUBSET_MAX` pupils; beyond, the engine's
    own search on one sub-problem (in this process, deterministic for a seed: its work is
    ``time_limit_s`` × :data:`REPLAN_MOVES_PER_S`, never stopped by the clock) with its repair,
    solo pupils in routes of their own. ``None`` when no plan can carry them.
    """
    pupils = list(pupils)
    if not pupils:
        return 0.0
    if len(pupils) <= EXACT_SUBSET_MAX:
        table = subset_costs(
            school,
            pupils,
            vehicles,
            params=params,
            travel=travel,
            incompatible=incompatible,
            usable=usable,
            strict_limits=strict_limits,
        )
        return table.cost(table.pupil_ids)
    total = 0.0
    regular = [p for p in pupils if not p.solo]
    for p in pupils:
        if p.solo:
            alone = keep_order_cost(
                school,
                [p],
                vehicles,
                params=params,
                travel=travel,
                usable=usable,
                strict_limits=strict_limits,
            )
            if alone is None:
                return None
            total += alone
    if not regular:
        return round(total, 2)
    r = _prepare(
        school,
        regular,
        vehicles,
        params=params,
        travel=travel,
        incompatible=incompatible,
        usable=usable,
        strict_limits=strict_limits,
        seed=seed,
        masks=False,
    )
    sub = r.sub
    sol = solve_subproblem(sub, "auto", moves=int(time_limit_s * REPLAN_MOVES_PER_S), seed=seed)
    drafts, left = repair(sub, list(sol.drafts), CapLedger({}))
    if left:
        return None
    for d in drafts:
        miles = float(r.miles[d.seq[-1] + 1, 0]) + sum(
            float(r.miles[a + 1, b + 1]) for a, b in zip(d.seq, d.seq[1:], strict=False)
        )
        cost = _cheapest(r, d.seq, miles, params)
        if cost is None:
            return None
        total += cost
    return round(total, 2)
