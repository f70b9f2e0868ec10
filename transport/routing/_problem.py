"""Sub-problems: one school's pickup visits as integer matrices, and the exact route rules.

A :class:`SubProblem` is what a solver backend sees: no pupil ids in the matrices, integer
ticks (tenths of a second), hundredths of a mile and pence (converted once, with
:mod:`transport.units`), and the vehicle *variants* it may use.

Its nodes are *visits*: node 0 is the school and node ``k + 1`` is visit ``k``, the pupils who
board together (one pupil at their own door, or every pupil of a shared stop). A stop that no
single vehicle could take (too many pupils, wheelchairs or an incompatible pair among them)
is split into as few visits as fit (:func:`visit_groups`). A visit's dwell is ``dwell_min``
plus ``dwell_per_pupil_min`` for each pupil boarding, and it is added to the ride of every
pupil already aboard; all pupils of a visit share one ride, so a visit's limit is the least
of its pupils' limits. Matrices are *forward* (``time_t[a, b]`` is the time from ``a`` to
``b``); backends solve the problem reversed (from the school, dropping off in reverse pickup
order) and return pickup orders of visits.

Times are rounded *up* to the next tick and limits *down*, so that a route feasible in
integers is feasible in the travel model's own minutes too.

The functions :func:`route_rides_t`, :func:`route_cm` and :func:`draft_ok` state every rule of
a route once; repair, the exact small-school solver and the plan extraction use them.
"""

from __future__ import annotations

import math
from collections.abc import Container, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from transport.costing import route_cost as route_cost  # the one definition, re-exported
from transport.costing import route_rate
from transport.model import Parameters, Pupil, School, VehicleType
from transport.travel import TravelModel, as_points, stack_points
from transport.units import PENCE_PER_POUND, TICKS_PER_MINUTE, to_centimiles, to_pence, to_ticks


@dataclass(frozen=True)
class Variant:
    """A vehicle type with or without a passenger assistant (PA), as the solvers see it.

    ``seats`` are seats left for pupils (one fewer with a PA); ``copies`` bounds how many
    vehicles of this variant a sub-problem may use.
    """

    type_index: int
    vehicle_type: str
    has_pa: bool
    seats: int
    wheelchairs: int
    fixed_pence: int
    pence_per_cm: int
    copies: int = 0

    def carries(self, seats: int, wheelchairs: int, needs_pa: bool) -> bool:
        """Whether one visit of these needs fits this variant on its own."""
        if needs_pa and not self.has_pa:
            return False
        return seats <= self.seats and wheelchairs <= self.wheelchairs


@dataclass(frozen=True)
class Draft:
    """A solved route inside a sub-problem: variant index and visits in pickup order."""

    variant: int
    seq: tuple[int, ...]


@dataclass(frozen=True)
class SubProblem:
    """One school's routable, non-solo pupils as visits: the picklable input of a backend.

    Per visit ``k``: ``members[k]`` (indices into ``pupil_ids``), ``seats[k]`` (pupils not in
    a wheelchair), ``wheels[k]``, ``needs_pa[k]``, ``limit_t[k]`` (ticks) and ``dwell_t[k]``
    (ticks added to the ride of the pupils already aboard). ``incompatible`` pairs are pairs
    of visits.
    """

    school_id: str
    pupil_ids: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]
    seats: np.ndarray
    wheels: np.ndarray
    needs_pa: np.ndarray
    limit_t: np.ndarray
    dwell_t: np.ndarray
    time_t: np.ndarray
    dist_cm: np.ndarray
    variants: tuple[Variant, ...]
    incompatible: tuple[tuple[int, int], ...] = ()
    caps: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    initial: tuple[Draft, ...] = ()

    @property
    def n(self) -> int:
        """Visits (the size of the search)."""
        return len(self.members)

    @property
    def pupils(self) -> int:
        return len(self.pupil_ids)

    def allowed(self, k: int) -> list[int]:
        """Indices of the variants visit ``k`` may ride."""
        s, w, pa = int(self.seats[k]), int(self.wheels[k]), bool(self.needs_pa[k])
        return [j for j, v in enumerate(self.variants) if v.carries(s, w, pa)]

    def with_caps(self, caps: dict[str, int], initial: Sequence[Draft] = ()) -> SubProblem:
        """The same problem with per-type route caps and a warm start.

        Variant indices do not change: a type capped at 0 keeps its variants, with no copies.
        """
        variants = tuple(
            replace(v, copies=min(v.copies, caps[v.vehicle_type])) if v.vehicle_type in caps else v
            for v in self.variants
        )
        return replace(self, variants=variants, caps=dict(caps), initial=tuple(initial))

    def with_initial(self, initial: Sequence[Draft]) -> SubProblem:
        return replace(self, initial=tuple(initial))

    def visit_pupils(self, seq: Sequence[int]) -> tuple[tuple[str, ...], ...]:
        """The pupil ids boarding at each visit of a pickup order."""
        return tuple(tuple(self.pupil_ids[i] for i in self.members[k]) for k in seq)


@dataclass(frozen=True)
class SubSolution:
    """What a backend returns for one sub-problem (or one slice of search on it)."""

    school_id: str
    drafts: tuple[Draft, ...]
    dropped: tuple[int, ...]
    status: str
    backend: str
    wall_s: float = 0.0
    work: int = 0  # PyVRP local-search moves or OR-Tools solutions
    clock_stopped: bool = False  # a wall-clock stop came before the work limit
    converged: bool = False  # no better plan in many iterations: more time is unlikely to help
    history: tuple[int, int] = (0, 0)  # iterations since the best plan, longest wait for one


# --------------------------------------------------------------------------------------------
# Costs and capability


def make_variants(vehicles: Sequence[VehicleType], params: Parameters) -> list[Variant]:
    """Every vehicle type with a PA (one seat fewer) and without; copies left at 0."""
    out: list[Variant] = []
    for k, v in enumerate(vehicles):
        for has_pa in (False, True):
            seats = v.seats - (1 if has_pa else 0)
            if seats < 0 or (has_pa and v.seats < 1):
                continue
            rate = route_rate(v, has_pa, params)
            out.append(
                Variant(
                    type_index=k,
                    vehicle_type=v.vehicle_type,
                    has_pa=has_pa,
                    seats=seats,
                    wheelchairs=v.wheelchair_spaces,
                    fixed_pence=int(to_pence(rate.fixed)),
                    pence_per_cm=int(round(rate.per_route_mile * PENCE_PER_POUND / 100.0)),
                )
            )
    return out


def carries_alone(vehicle: VehicleType, pupil: Pupil) -> bool:
    """Whether a vehicle type can carry this pupil alone (a wheelchair space, or a seat; and a
    seat for a passenger assistant when the pupil needs one)."""
    pa = 1 if pupil.needs_pa else 0
    if pupil.wheelchair:
        return vehicle.wheelchair_spaces >= 1 and vehicle.seats >= pa
    return vehicle.seats >= 1 + pa


def unroutable_reason(pupil: Pupil, vehicles: Sequence[VehicleType]) -> str | None:
    """Why no vehicle type (with ``available`` not 0) can carry the pupil, or ``None``."""
    usable = [v for v in vehicles if v.available is None or v.available > 0]
    pa = 1 if pupil.needs_pa else 0
    if pupil.wheelchair:
        if not any(v.wheelchair_spaces >= 1 for v in usable):
            return "no vehicle type has a wheelchair space"
        if pa and not any(v.wheelchair_spaces >= 1 and v.seats >= 1 for v in usable):
            return "no vehicle type with a wheelchair space has a seat for a passenger assistant"
        return None
    if not any(v.seats >= 1 + pa for v in usable):
        if pa:
            return "no vehicle type has a seat for the pupil and one for a passenger assistant"
        return "no vehicle type has a seat"
    return None


# --------------------------------------------------------------------------------------------
# Travel among a school's pickup points


def place_key(pupil: Pupil) -> str:
    """A pupil's pickup point: their stop, else their own door (stop ids and pupil ids never
    collide: see ``transport.data.validate``)."""
    return pupil.travel_id


def pickup_places(pupils: Sequence[Pupil]) -> tuple[list[Pupil], dict[str, int]]:
    """One representative pupil per pickup point (first come) and each pupil's point index
    (1-based: 0 is the school)."""
    first: dict[str, int] = {}
    reps: list[Pupil] = []
    where: dict[str, int] = {}
    for p in pupils:
        key = place_key(p)
        if key not in first:
            first[key] = len(reps) + 1
            reps.append(p)
        where[p.pupil_id] = first[key]
    return reps, where


def travel_for(
    school: School, pupils: Sequence[Pupil], travel: TravelModel
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Float miles and minutes among ``[school, *pickup points]`` (forward, 0 = school), and
    each pupil's point index; pupils of one stop share a point."""
    reps, where = pickup_places(pupils)
    points = stack_points(as_points([school]), as_points(reps))
    m = travel.travel_matrix(points, points)
    miles = np.array(m.miles, dtype=float)
    minutes = np.array(m.minutes, dtype=float)
    np.fill_diagonal(miles, 0.0)
    np.fill_diagonal(minutes, 0.0)
    return miles, minutes, where


def ticks_up(minutes: np.ndarray | float) -> np.ndarray:
    """Minutes → whole ticks never below the true value (solver-feasible ⇒ truly feasible)."""
    arr = np.asarray(minutes, dtype=float)
    ticks = to_ticks(arr)
    return ticks + (ticks < arr * TICKS_PER_MINUTE - 1e-9).astype(np.int64)


def limit_ticks(limit_min: float) -> int:
    """A ride limit in whole ticks, rounded down."""
    return int(math.floor(limit_min * TICKS_PER_MINUTE + 1e-9))


# --------------------------------------------------------------------------------------------
# Visits


def _fits_any(
    group: Sequence[int],
    wheel: Sequence[bool],
    pa: Sequence[bool],
    variants: Sequence[Variant],
    clash: set[frozenset[int]],
) -> bool:
    w = sum(1 for i in group if wheel[i])
    s = len(group) - w
    need_pa = any(pa[i] for i in group)
    if any(frozenset((a, b)) in clash for a in group for b in group if a < b):
        return False
    return any(v.carries(s, w, need_pa) for v in variants)


def visit_groups(
    pupils: Sequence[Pupil],
    variants: Sequence[Variant],
    incompatible: set[frozenset[str]],
) -> list[list[int]]:
    """Pupils (indices) grouped into visits: a stop's pupils together, others one by one.

    A stop that no single variant can take (seats, wheelchair spaces, a PA's seat, or an
    incompatible pair among its pupils) is split first-fit into as few visits as fit, pupils
    in wheelchairs and needing a PA placed first.
    """
    groups: list[list[int]] = []
    by_stop: dict[str, list[int]] = {}
    for i, p in enumerate(pupils):
        if p.stop_id is None:
            groups.append([i])
            continue
        if p.stop_id not in by_stop:
            by_stop[p.stop_id] = []
            groups.append(by_stop[p.stop_id])
        by_stop[p.stop_id].append(i)
    wheel = [p.wheelchair for p in pupils]
    pa = [p.needs_pa for p in pupils]
    ids = [p.pupil_id for p in pupils]
    out: list[list[int]] = []
    for g in groups:
        clash = {
            frozenset((a, b))
            for a in g
            for b in g
            if a < b and frozenset((ids[a], ids[b])) in incompatible
        }
        if len(g) == 1 or _fits_any(g, wheel, pa, variants, clash):
            out.append(g)
            continue
        parts: list[list[int]] = []
        for i in sorted(g, key=lambda i: (not wheel[i], not pa[i], i)):
            for part in parts:
                if _fits_any([*part, i], wheel, pa, variants, clash):
                    part.append(i)
                    break
            else:
                parts.append([i])
        out.extend(sorted(part) for part in parts)
    return out


def build_subproblem(
    school: School,
    pupils: Sequence[Pupil],
    miles: np.ndarray,
    minutes: np.ndarray,
    place_of: dict[str, int],
    *,
    variants: Sequence[Variant],
    incompatible: set[frozenset[str]],
    params: Parameters,
    dwell_min: float,
    strict_limits: bool = False,
    seed: int = 0,
) -> SubProblem:
    """A sub-problem from one school's pupils and the float travel among their points.

    ``miles`` and ``minutes`` are over ``[school, *points]``; ``place_of`` maps each pupil to
    their point (see :func:`travel_for`).
    """
    groups = visit_groups(pupils, variants, incompatible)
    places = [place_of[pupils[g[0]].pupil_id] for g in groups]
    idx = [0, *places]
    time_t = ticks_up(minutes[np.ix_(idx, idx)])
    np.fill_diagonal(time_t, 0)
    dist = to_centimiles(miles[np.ix_(idx, idx)])
    np.fill_diagonal(dist, 0)
    per_pupil = params.travel.dwell_per_pupil_min
    limits, dwell = [], []
    for k, g in enumerate(groups):
        direct = float(minutes[places[k], 0])
        eff = min(params.ride.effective_limit(pupils[i], direct, strict=strict_limits) for i in g)
        # riding direct (the last pickup) always keeps a limit of at least the direct time
        limits.append(max(limit_ticks(eff), int(time_t[k + 1, 0])))
        dwell.append(int(ticks_up(dwell_min + per_pupil * len(g))))
    ids = tuple(p.pupil_id for p in pupils)
    group_of = {i: k for k, g in enumerate(groups) for i in g}
    index = {pid: i for i, pid in enumerate(ids)}
    pairs = sorted(
        {
            tuple(sorted((group_of[index[a]], group_of[index[b]])))
            for a, b in (tuple(pair) for pair in incompatible if len(pair) == 2)
            if a in index and b in index
        }
    )
    wheels = np.array([sum(pupils[i].wheelchair for i in g) for g in groups], dtype=np.int64)
    seats = np.array([len(g) for g in groups], dtype=np.int64) - wheels
    pa = np.array([any(pupils[i].needs_pa for i in g) for g in groups], dtype=bool)
    sized = []
    needs = list(zip(seats.tolist(), wheels.tolist(), pa.tolist(), strict=True))  # per visit
    for v in variants:
        eligible = [k for k, (s, w, a) in enumerate(needs) if v.carries(s, w, a)]
        if not eligible:
            continue
        load = sum(needs[k][0] + needs[k][1] for k in eligible)
        sized.append(replace(v, copies=copies_for(v, len(eligible), load)))
    return SubProblem(
        school_id=school.school_id,
        pupil_ids=ids,
        members=tuple(tuple(g) for g in groups),
        seats=seats,
        wheels=wheels,
        needs_pa=pa,
        limit_t=np.array(limits, dtype=np.int64),
        dwell_t=np.array(dwell, dtype=np.int64),
        time_t=time_t,
        dist_cm=dist,
        variants=tuple(sized),
        incompatible=tuple((int(a), int(b)) for a, b in pairs if a != b),
        seed=seed,
    )


def copies_for(v: Variant, visits: int, pupils: int | None = None) -> int:
    """How many vehicles of a variant a sub-problem may use: enough, and no more."""
    room = max(1, v.seats + v.wheelchairs)
    base = math.ceil(visits / min(room, 3))
    if pupils is not None and pupils > visits:  # shared stops: half-full vehicles at worst
        base = max(base, math.ceil(2 * pupils / room))
    return min(visits, base + 2)


# --------------------------------------------------------------------------------------------
# The rules of a route, in integers


def route_rides_t(sub: SubProblem, seq: Sequence[int]) -> list[int]:
    """Each visit's ride in ticks (pickup order): travel to school plus later visits' dwells."""
    rides = [0] * len(seq)
    t = int(sub.time_t[seq[-1] + 1, 0])
    rides[-1] = t
    for j in range(len(seq) - 2, -1, -1):
        t += int(sub.time_t[seq[j] + 1, seq[j + 1] + 1]) + int(sub.dwell_t[seq[j + 1]])
        rides[j] = t
    return rides


def route_cm(sub: SubProblem, seq: Sequence[int]) -> int:
    """Route distance in hundredths of a mile, first pickup to school."""
    d = int(sub.dist_cm[seq[-1] + 1, 0])
    for a, b in zip(seq, seq[1:], strict=False):
        d += int(sub.dist_cm[a + 1, b + 1])
    return d


def fits(sub: SubProblem, v: Variant, seq: Sequence[int]) -> bool:
    """Seats, wheelchair spaces and PA of one variant for these visits."""
    idx = list(seq)
    if int(sub.wheels[idx].sum()) > v.wheelchairs or int(sub.seats[idx].sum()) > v.seats:
        return False
    return v.has_pa or not bool(sub.needs_pa[idx].any())


def times_ok(sub: SubProblem, seq: Sequence[int]) -> bool:
    """Every ride within its limit and no incompatible pair on board."""
    rides = route_rides_t(sub, seq)
    if any(r > int(sub.limit_t[k]) for r, k in zip(rides, seq, strict=True)):
        return False
    members = set(seq)
    return not any(a in members and b in members for a, b in sub.incompatible)


def best_variant(
    sub: SubProblem,
    seq: Sequence[int],
    *,
    cm: int | None = None,
    usable: Container[str] | None = None,
) -> int | None:
    """The cheapest variant that fits these visits (of the usable types), or ``None``."""
    cm = route_cm(sub, seq) if cm is None else cm
    idx = list(seq)  # what fits() checks, summed once for every variant
    wheels, seats = int(sub.wheels[idx].sum()), int(sub.seats[idx].sum())
    needs_pa = bool(sub.needs_pa[idx].any())
    best, best_cost = None, None
    for k, v in enumerate(sub.variants):
        if usable is not None and v.vehicle_type not in usable:
            continue
        if wheels > v.wheelchairs or seats > v.seats or (needs_pa and not v.has_pa):
            continue
        cost = v.fixed_pence + v.pence_per_cm * cm
        if best_cost is None or cost < best_cost:
            best, best_cost = k, cost
    return best


def draft_cost(sub: SubProblem, d: Draft) -> int:
    v = sub.variants[d.variant]
    return v.fixed_pence + v.pence_per_cm * route_cm(sub, d.seq)


def draft_ok(sub: SubProblem, d: Draft) -> bool:
    """Whether a solved route keeps every rule (in integers)."""
    return bool(d.seq) and fits(sub, sub.variants[d.variant], d.seq) and times_ok(sub, d.seq)
