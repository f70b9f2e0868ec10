"""Sub-problems: one school's pupils as integer matrices, and the exact route rules on them.

A :class:`SubProblem` is what a solver backend sees: no pupil ids in the matrices, integer
seconds, hundredths of a mile and pence (converted once, with :mod:`transport.units`), and the
vehicle *variants* it may use. Node 0 is the school, node ``i + 1`` is pupil ``i``; matrices are
*forward* (``time_s[a, b]`` is the time from ``a`` to ``b``). Backends solve the problem
reversed (from the school, dropping off in reverse pickup order) and return pickup orders.

Times are rounded *up* to the next whole second and limits *down*, so that a route feasible in
integers is feasible in the travel model's own minutes too.

The functions :func:`route_rides_s`, :func:`route_cm` and :func:`route_feasible` state every
rule of a route once; repair, the exact small-school solver and the plan extraction use them.
"""

from __future__ import annotations

import math
from collections.abc import Container, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from transport.costing import route_cost as route_cost  # the one definition, re-exported
from transport.costing import route_rate
from transport.model import Parameters, Pupil, School, VehicleType
from transport.travel import TravelModel, as_points
from transport.units import PENCE_PER_POUND, to_centimiles, to_pence, to_seconds


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

    def carries(self, wheelchair: bool, needs_pa: bool) -> bool:
        """Whether a pupil with these needs may ride this variant at all."""
        if needs_pa and not self.has_pa:
            return False
        return self.wheelchairs >= 1 if wheelchair else self.seats >= 1


@dataclass(frozen=True)
class Draft:
    """A solved route inside a sub-problem: variant index and pupils in pickup order."""

    variant: int
    seq: tuple[int, ...]


@dataclass(frozen=True)
class SubProblem:
    """One school's routable, non-solo pupils: picklable input of a solver backend."""

    school_id: str
    pupil_ids: tuple[str, ...]
    wheelchair: np.ndarray
    needs_pa: np.ndarray
    limit_s: np.ndarray
    time_s: np.ndarray
    dist_cm: np.ndarray
    dwell_s: int
    variants: tuple[Variant, ...]
    incompatible: tuple[tuple[int, int], ...] = ()
    caps: dict[str, int] = field(default_factory=dict)
    budget_s: float = 1.0
    seed: int = 0
    initial: tuple[Draft, ...] = ()

    @property
    def n(self) -> int:
        return len(self.pupil_ids)

    def allowed(self, i: int) -> list[int]:
        """Indices of the variants pupil ``i`` may ride."""
        w, pa = bool(self.wheelchair[i]), bool(self.needs_pa[i])
        return [k for k, v in enumerate(self.variants) if v.carries(w, pa)]

    def with_budget(self, budget_s: float) -> SubProblem:
        return replace(self, budget_s=budget_s)

    def with_caps(
        self, caps: dict[str, int], budget_s: float, initial: Sequence[Draft] = ()
    ) -> SubProblem:
        """The same problem with per-type route caps, a new budget and a warm start.

        Variant indices do not change: a type capped at 0 keeps its variants, with no copies.
        """
        variants = tuple(
            replace(v, copies=min(v.copies, caps[v.vehicle_type])) if v.vehicle_type in caps else v
            for v in self.variants
        )
        return replace(
            self, variants=variants, caps=dict(caps), budget_s=budget_s, initial=tuple(initial)
        )


@dataclass(frozen=True)
class SubSolution:
    """What a backend returns for one sub-problem."""

    school_id: str
    drafts: tuple[Draft, ...]
    dropped: tuple[int, ...]
    status: str
    backend: str
    wall_s: float = 0.0
    work: int = 0  # PyVRP local-search moves or OR-Tools solutions
    clock_stopped: bool = False  # the wall-clock safety stop came before the work limit


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
# Building


def travel_for(
    school: School, pupils: Sequence[Pupil], travel: TravelModel
) -> tuple[np.ndarray, np.ndarray]:
    """Float miles and minutes among ``[school, *pupils]`` (forward, node 0 = school)."""
    points = np.vstack([as_points([school]), as_points(list(pupils))])
    m = travel.travel_matrix(points, points)
    miles = np.array(m.miles, dtype=float)
    minutes = np.array(m.minutes, dtype=float)
    np.fill_diagonal(miles, 0.0)
    np.fill_diagonal(minutes, 0.0)
    return miles, minutes


def seconds_up(minutes: np.ndarray | float) -> np.ndarray:
    """Minutes → whole seconds never below the true value (solver-feasible ⇒ truly feasible)."""
    arr = np.asarray(minutes, dtype=float)
    secs = to_seconds(arr)
    return secs + (secs < arr * 60.0 - 1e-9).astype(np.int64)


def limit_seconds(limit_min: float) -> int:
    """A ride limit in whole seconds, rounded down."""
    return int(math.floor(limit_min * 60.0 + 1e-9))


def build_subproblem(
    school: School,
    pupils: Sequence[Pupil],
    miles: np.ndarray,
    minutes: np.ndarray,
    *,
    variants: Sequence[Variant],
    incompatible: set[frozenset[str]],
    params: Parameters,
    dwell_min: float,
    seed: int,
) -> SubProblem:
    """A sub-problem from one school's pupils and their float travel matrices."""
    n = len(pupils)
    limits = [
        params.ride.effective_limit(p, float(minutes[i + 1, 0])) for i, p in enumerate(pupils)
    ]
    ids = tuple(p.pupil_id for p in pupils)
    pairs = tuple(
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if frozenset((ids[i], ids[j])) in incompatible
    )
    wheel = np.array([p.wheelchair for p in pupils], dtype=bool)
    pa = np.array([p.needs_pa for p in pupils], dtype=bool)
    sized = []
    for v in variants:
        eligible = sum(1 for i in range(n) if v.carries(bool(wheel[i]), bool(pa[i])))
        if eligible == 0:
            continue
        sized.append(replace(v, copies=copies_for(v, eligible)))
    time_s = seconds_up(minutes)
    np.fill_diagonal(time_s, 0)
    return SubProblem(
        school_id=school.school_id,
        pupil_ids=ids,
        wheelchair=wheel,
        needs_pa=pa,
        limit_s=np.array([limit_seconds(x) for x in limits], dtype=np.int64),
        time_s=time_s,
        dist_cm=to_centimiles(miles),
        dwell_s=int(seconds_up(dwell_min)),
        variants=tuple(sized),
        incompatible=pairs,
        seed=seed,
    )


def copies_for(v: Variant, eligible: int) -> int:
    """How many vehicles of a variant a sub-problem may use: enough, and no more."""
    room = max(1, v.seats + v.wheelchairs)
    return min(eligible, math.ceil(eligible / min(room, 3)) + 2)


# --------------------------------------------------------------------------------------------
# The rules of a route, in integers


def route_rides_s(sub: SubProblem, seq: Sequence[int]) -> list[int]:
    """Each pupil's ride in seconds (pickup order): travel to school plus later dwells."""
    rides = [0] * len(seq)
    t = int(sub.time_s[seq[-1] + 1, 0])
    rides[-1] = t
    for j in range(len(seq) - 2, -1, -1):
        t += int(sub.time_s[seq[j] + 1, seq[j + 1] + 1]) + sub.dwell_s
        rides[j] = t
    return rides


def route_cm(sub: SubProblem, seq: Sequence[int]) -> int:
    """Route distance in hundredths of a mile, first pickup to school."""
    d = int(sub.dist_cm[seq[-1] + 1, 0])
    for a, b in zip(seq, seq[1:], strict=False):
        d += int(sub.dist_cm[a + 1, b + 1])
    return d


def fits(sub: SubProblem, v: Variant, seq: Sequence[int]) -> bool:
    """Seats, wheelchair spaces and PA of one variant for these pupils."""
    wheel = int(sub.wheelchair[list(seq)].sum())
    seats = len(seq) - wheel
    if wheel > v.wheelchairs or seats > v.seats:
        return False
    return v.has_pa or not bool(sub.needs_pa[list(seq)].any())


def times_ok(sub: SubProblem, seq: Sequence[int]) -> bool:
    """Every ride within its limit and no incompatible pair on board."""
    rides = route_rides_s(sub, seq)
    if any(r > int(sub.limit_s[i]) for r, i in zip(rides, seq, strict=True)):
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
    """The cheapest variant that fits these pupils (of the usable types), or ``None``."""
    cm = route_cm(sub, seq) if cm is None else cm
    best, best_cost = None, None
    for k, v in enumerate(sub.variants):
        if usable is not None and v.vehicle_type not in usable:
            continue
        if not fits(sub, v, seq):
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
