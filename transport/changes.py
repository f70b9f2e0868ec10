"""What a new plan changes for a family: the one definition of a *disturbed* journey.

A council must tell each family of every change to their child's journey, and many SEN
children are distressed by a new vehicle, new co-riders or a new pickup time. Re-planning
(``solve --previous``), ``diff``, letters and impact reports all count changes with
:func:`disturbances`, so they always agree.

A pupil routed in both plans, whose own data did not change, is **disturbed** when any of
these holds (the reason codes, in this order):

``school``
    their school changes;
``pickup``
    their morning pickup time moves by more than ``minutes`` (default 10);
``vehicle``
    their vehicle type changes;
``pa``
    a passenger assistant appears on or leaves their vehicle;
``co-riders``
    fewer than half of their previous co-riders who are still routed ride with them now.

This module imports only the data model, so every stage can use it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from transport.model import Pupil, Route, Stop, pupil_school, route_schools

DISTURBANCE_REASONS: tuple[str, ...] = ("school", "pickup", "vehicle", "pa", "co-riders")
"""Reason codes of a disturbance, in the order they are reported."""

PICKUP_MINUTES = 10.0
"""A pickup that moves by more than this many minutes disturbs (``--minutes``)."""


@dataclass(frozen=True, slots=True)
class Journey:
    """One pupil's morning journey in a plan: what a family is told."""

    pupil_id: str
    route_id: str
    school_id: str
    vehicle_type: str
    has_pa: bool
    pickup: float  # minutes after midnight
    co_riders: frozenset[str]


def journeys(
    routes: Iterable[Route],
    stops: Iterable[Stop],
    *,
    school_of: Mapping[str, str] | None = None,
) -> dict[str, Journey]:
    """Every routed pupil's journey, from a plan's routes and stops.

    A pupil on a route without a stop (a malformed plan) is left out rather than guessed.
    A journey's ``school_id`` is the pupil's own school: on a mixed-school route, their
    placement's in ``school_of`` (:func:`transport.model.pupil_school`), so that a route
    becoming mixed is no change of school; without ``school_of``, the route's ``school_id``.
    """
    pickup = {s.pupil_id: s.pickup for s in stops}
    out: dict[str, Journey] = {}
    for r in routes:
        riders = frozenset(r.pupils)
        mixed = len(route_schools(r)) > 1
        for p in r.pupils:
            if p in pickup:
                school = r.school_id
                if mixed and school_of is not None:
                    school = pupil_school(r, p, school_of)
                out[p] = Journey(
                    p, r.route_id, school, r.vehicle_type, r.has_pa, pickup[p], riders - {p}
                )
    return out


def disturbance(
    before: Journey,
    after: Journey,
    *,
    still_routed: Collection[str],
    minutes: float = PICKUP_MINUTES,
) -> tuple[str, ...]:
    """The reasons (see the module docstring) why ``after`` disturbs a family; () if none.

    Parameters
    ----------
    before, after
        The pupil's journey in the previous and the new plan.
    still_routed
        Pupils routed in the new plan: only previous co-riders among them count.
    minutes
        A pickup moving by more than this disturbs.
    """
    reasons: list[str] = []
    if before.school_id != after.school_id:
        reasons.append("school")
    if abs(after.pickup - before.pickup) > minutes:
        reasons.append("pickup")
    if before.vehicle_type != after.vehicle_type:
        reasons.append("vehicle")
    if before.has_pa != after.has_pa:
        reasons.append("pa")
    previous = [p for p in before.co_riders if p in still_routed]
    if previous:
        kept = sum(1 for p in previous if p in after.co_riders)
        if 2 * kept < len(previous):
            reasons.append("co-riders")
    return tuple(reasons)


def disturbances(
    before: Mapping[str, Journey],
    after: Mapping[str, Journey],
    *,
    changed: Collection[str] = (),
    minutes: float = PICKUP_MINUTES,
) -> dict[str, tuple[str, ...]]:
    """Disturbed pupils between two plans, with their reasons (pupils in ``before`` order).

    Parameters
    ----------
    before, after
        Journeys of the previous and the new plan (:func:`journeys`).
    changed
        Pupils whose own data changed (a house move, a new school, new needs): their journey
        changes for their own reasons, so they are never counted as disturbed.
    minutes
        A pickup moving by more than this disturbs.

    Returns
    -------
    dict
        ``{pupil_id: reasons}`` for every disturbed pupil; pupils routed in only one plan, and
        changed pupils, are not in it.
    """
    routed_now = after.keys()
    out: dict[str, tuple[str, ...]] = {}
    skip = set(changed)
    for pupil, old in before.items():
        new = after.get(pupil)
        if new is None or pupil in skip:
            continue
        reasons = disturbance(old, new, still_routed=routed_now, minutes=minutes)
        if reasons:
            out[pupil] = reasons
    return out


def count_by_reason(disturbed: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """Pupils disturbed for each reason (a pupil counts once under each of their reasons)."""
    counts = {r: 0 for r in DISTURBANCE_REASONS}
    for reasons in disturbed.values():
        for r in reasons:
            counts[r] += 1
    return counts


# --------------------------------------------------------------------------------------------
# Whose own data changed: per-pupil digests

HOME_FIELDS: tuple[str, ...] = ("lat", "lon", "stop_id", "school_id")
"""Where the pupil is picked up and where they go (pupils.csv): a change means the pupil's
journey must be planned again (a house move, a new collection point, a school move)."""

NEEDS_FIELDS: tuple[str, ...] = (
    "need",
    "wheelchair",
    "needs_pa",
    "solo",
    "age",
    "max_ride_min",
)
"""The pupil's own travel needs (pupils.csv): a change may or may not move their journey."""


def new_salt() -> str:
    """A random salt for a new series of runs (carried from night to night by re-plans)."""
    import secrets

    return secrets.token_hex(16)


def _digest(salt: str, pupil_id: str, values: Iterable[object]) -> str:
    import hashlib

    text = "\x1f".join([salt, pupil_id, *("" if v is None else repr(v) for v in values)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def pupil_digests(pupil: Pupil, salt: str) -> tuple[str, str]:
    """The pupil's two digests: of :data:`HOME_FIELDS` and of :data:`NEEDS_FIELDS`.

    A salted sha256 (128 bits shown) of the fields as read (numbers as parsed, so ``51.15``
    and ``51.1500`` agree): equal digests mean equal data; the digest itself holds no
    personal data in the clear. The salt is not a secret (it is written beside the digests):
    it stops a digest being looked up in a precomputed table and makes digests of different
    series incomparable.
    """
    home = _digest(salt, pupil.pupil_id, (getattr(pupil, f) for f in HOME_FIELDS))
    needs = _digest(salt, pupil.pupil_id, (getattr(pupil, f) for f in NEEDS_FIELDS))
    return home, needs


@dataclass(frozen=True)
class PupilChanges:
    """Which pupils are new, have left, or changed their own data between two plans.

    ``moved`` are the changed pupils whose home, stop or school changed (their journey must be
    planned again); the other changed pupils changed only their needs (age, PA, wheelchair,
    solo, ride limit). ``known`` is False when the two plans' digests cannot be compared
    (different series, or a run without digests): then nobody counts as changed.
    """

    new: frozenset[str]
    left: frozenset[str]
    changed: frozenset[str]
    moved: frozenset[str]
    known: bool = True


def pupil_changes(
    before: Mapping[str, tuple[str, str]] | None,
    after: Mapping[str, tuple[str, str]] | None,
    *,
    before_ids: Collection[str] = (),
    after_ids: Collection[str] = (),
) -> PupilChanges:
    """New, leaving and changed pupils from two plans' digests (``{pupil: (home, needs)}``).

    Without digests on one side (``None``), pupils are told apart by ``before_ids`` and
    ``after_ids`` (the pupils each plan placed) and nobody counts as changed.
    """
    if before is None or after is None:
        a, b = set(before_ids), set(after_ids)
        return PupilChanges(frozenset(b - a), frozenset(a - b), frozenset(), frozenset(), False)
    both = before.keys() & after.keys()
    changed = frozenset(p for p in both if before[p] != after[p])
    moved = frozenset(p for p in changed if before[p][0] != after[p][0])
    return PupilChanges(
        frozenset(after.keys() - before.keys()),
        frozenset(before.keys() - after.keys()),
        changed,
        moved,
    )


# --------------------------------------------------------------------------------------------
# Stability: the numbers summary.json, the terminal and ``diff`` report

ROUTE_OUTCOMES: tuple[str, ...] = ("kept", "changed", "new", "ended")
"""What became of each route id between two plans, in the order reported."""


def route_outcomes(before: Iterable[Route], after: Iterable[Route]) -> dict[str, int]:
    """Routes kept (same id, school, vehicle type, PA and pupils in the same order), changed
    (same id, anything of those different), new (an id the earlier plan lacks) and ended (an
    id the later plan lacks). Route ids persist across re-plans (``solve --previous``); plans
    of different series share no route identity and count as all new and all ended."""
    old = {r.route_id: r for r in before}
    new = {r.route_id: r for r in after}
    counts = dict.fromkeys(ROUTE_OUTCOMES, 0)
    for rid, r in new.items():
        o = old.get(rid)
        if o is None:
            counts["new"] += 1
        elif (o.school_id, o.vehicle_type, o.has_pa, o.pupils) == (
            r.school_id,
            r.vehicle_type,
            r.has_pa,
            r.pupils,
        ):
            counts["kept"] += 1
        else:
            counts["changed"] += 1
    counts["ended"] = sum(1 for rid in old if rid not in new)
    return counts


def plan_stability(
    before: tuple[Iterable[Route], Iterable[Stop]],
    after: tuple[Iterable[Route], Iterable[Stop]],
    *,
    pupils: PupilChanges,
    minutes: float = PICKUP_MINUTES,
    school_of: tuple[Mapping[str, str], Mapping[str, str]] | None = None,
) -> dict[str, object]:
    """The stability of a plan against the plan before it: one function for every report.

    ``solve`` (summary.json ``stability``, the terminal), ``diff`` and the nightly benchmark
    all count with it. Returns a JSON-able dict: ``pupils`` (new, left, changed, of which
    moved; ``changed_known``), ``disturbed`` (families disturbed who did not change
    themselves: :func:`disturbances` with ``changed``), ``disturbed_by_reason``
    (:func:`count_by_reason`), ``routes`` (:func:`route_outcomes`) and the annual cost of
    both plans and its change (£, from the routes' ``annual_cost``). ``school_of`` (each
    plan's ``{pupil_id: school_id}``) tells a mixed-school route's pupils' schools apart
    (:func:`journeys`).
    """
    routes_a, stops_a = (tuple(x) for x in before)
    routes_b, stops_b = (tuple(x) for x in after)
    school_a, school_b = school_of or (None, None)
    disturbed = disturbances(
        journeys(routes_a, stops_a, school_of=school_a),
        journeys(routes_b, stops_b, school_of=school_b),
        changed=pupils.changed,
        minutes=minutes,
    )
    cost_a = round(sum(r.annual_cost for r in routes_a), 2)
    cost_b = round(sum(r.annual_cost for r in routes_b), 2)
    return {
        "pupils": {
            "new": len(pupils.new),
            "left": len(pupils.left),
            "changed": len(pupils.changed),
            "moved": len(pupils.moved),
            "changed_known": pupils.known,
        },
        "disturbed": len(disturbed),
        "disturbed_by_reason": count_by_reason(disturbed),
        "routes": route_outcomes(routes_a, routes_b),
        "annual_cost_before": cost_a,
        "annual_cost_after": cost_b,
        "annual_cost_change": round(cost_b - cost_a, 2),
        "minutes": minutes,
    }
