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

from transport.model import Route, Stop

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


def journeys(routes: Iterable[Route], stops: Iterable[Stop]) -> dict[str, Journey]:
    """Every routed pupil's journey, from a plan's routes and stops.

    A pupil on a route without a stop (a malformed plan) is left out rather than guessed.
    """
    pickup = {s.pupil_id: s.pickup for s in stops}
    out: dict[str, Journey] = {}
    for r in routes:
        riders = frozenset(r.pupils)
        for p in r.pupils:
            if p in pickup:
                out[p] = Journey(
                    p, r.route_id, r.school_id, r.vehicle_type, r.has_pa, pickup[p], riders - {p}
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
