"""What changed for each pupil between two runs: the one count behind ``diff`` and ``impact``.

:func:`run_changes` compares two run folders (read with :func:`transport.runs.write.read_run`)
pupil by pupil and :func:`count_changes` counts the result; ``sen-transport diff`` and
``sen-transport impact`` both use them, so their counts always agree. Kinds, in the order they
are reported:

``school``
    the pupil's school (placements.csv) changes;
``route``
    the set of pupils they travel with (themselves included) changes: route ids are per run,
    so a route is known by its riders;
``vehicle``
    their vehicle type changes;
``pa``
    a passenger assistant appears on or leaves their vehicle;
``pickup``
    their morning pickup time moves by more than ``minutes`` (or they gain or lose one);
``added``, ``removed``
    the pupil is placed in only the later, or only the earlier, run.

Whether a change *disturbs* a family is :mod:`transport.changes`' definition (co-riders count
there by the half that stay, not by any change): see :func:`transport.changes.disturbances`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from transport.changes import PICKUP_MINUTES, plan_stability, pupil_changes
from transport.errors import ParameterError
from transport.model import format_hhmm
from transport.runs.write import RunFiles

CHANGE_KINDS: tuple[str, ...] = ("school", "route", "vehicle", "pa", "pickup", "added", "removed")


class Change(NamedTuple):
    """One change for one pupil: ``kind`` (see the module docstring), before and after."""

    pupil_id: str
    kind: str
    before: str
    after: str


class _Trip(NamedTuple):
    school: str
    route: str
    vehicle: str
    pa: str
    pickup: float | None


def _trips(run: RunFiles) -> dict[str, _Trip]:
    out = {p.pupil_id: _Trip(p.school_id, "", "", "", None) for p in run.placements}
    pickup = {s.pupil_id: s.pickup for s in run.stops}
    for r in run.routes:
        riders = " + ".join(sorted(r.pupils))
        for p in r.pupils:
            if p in out:
                pa = "yes" if r.has_pa else "no"
                out[p] = out[p]._replace(
                    route=riders, vehicle=r.vehicle_type, pa=pa, pickup=pickup.get(p)
                )
    return out


def _hhmm(minutes: float | None) -> str:
    return "" if minutes is None else format_hhmm(minutes)


def run_changes(
    before: RunFiles, after: RunFiles, *, minutes: float = PICKUP_MINUTES
) -> tuple[Change, ...]:
    """Every change between two runs, by pupil id, kinds in :data:`CHANGE_KINDS` order.

    Parameters
    ----------
    before, after
        The earlier and the later run.
    minutes
        A pickup that moves by at most this many minutes is not a change.
    """
    check_minutes(minutes)
    a, b = _trips(before), _trips(after)
    out: list[Change] = []
    for pupil in sorted(set(a) | set(b)):
        if pupil not in b:
            out.append(Change(pupil, "removed", a[pupil].school, ""))
            continue
        if pupil not in a:
            out.append(Change(pupil, "added", "", b[pupil].school))
            continue
        old, new = a[pupil], b[pupil]
        for kind in ("school", "route", "vehicle", "pa"):
            if getattr(old, kind) != getattr(new, kind):
                out.append(Change(pupil, kind, getattr(old, kind), getattr(new, kind)))
        if old.pickup is not None and new.pickup is not None:
            if abs(new.pickup - old.pickup) > minutes:
                out.append(Change(pupil, "pickup", _hhmm(old.pickup), _hhmm(new.pickup)))
        elif (old.pickup is None) != (new.pickup is None):
            out.append(Change(pupil, "pickup", _hhmm(old.pickup), _hhmm(new.pickup)))
    return tuple(out)


def check_minutes(minutes: float) -> float:
    """A pickup threshold must be a finite number of minutes from 0 to 1,440 (a day)."""
    if isinstance(minutes, bool) or not (
        isinstance(minutes, int | float) and math.isfinite(minutes) and 0 <= minutes <= 24 * 60
    ):
        raise ParameterError(f"minutes must be between 0 and 1440, got {minutes!r}")
    return float(minutes)


def count_changes(changes: Iterable[Change]) -> dict[str, int]:
    """Pupils with each kind of change (every kind listed, 0 when none)."""
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    for c in changes:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    return counts


def run_stability(
    before: RunFiles, after: RunFiles, *, minutes: float = PICKUP_MINUTES
) -> dict[str, object]:
    """The stability numbers of ``after`` against ``before``, as a re-plan writes them.

    :func:`transport.changes.plan_stability` (the one function ``solve`` uses for summary.json's
    ``stability``) on the two runs' routes and stops, with who is new, left or changed told
    by the runs' pupil digests (pupil-digests.csv) when both have them with the same salt;
    otherwise pupils are told apart by their placements and nobody counts as changed.
    """
    from transport.runs.previous import read_digests

    a = read_digests(before.folder, before.summary) if isinstance(before.summary, dict) else None
    b = read_digests(after.folder, after.summary) if isinstance(after.summary, dict) else None
    if a is not None and b is not None and a[0] == b[0]:
        pupils = pupil_changes(a[1], b[1])
    else:
        pupils = pupil_changes(
            None,
            None,
            before_ids={p.pupil_id for p in before.placements},
            after_ids={p.pupil_id for p in after.placements},
        )
    return plan_stability(
        (before.routes, before.stops),
        (after.routes, after.stops),
        pupils=pupils,
        minutes=minutes,
        school_of=(placed(before), placed(after)),
    )


def placed(run: RunFiles) -> dict[str, str]:
    """Each placed pupil's school in a run (what a mixed-school route's journeys read)."""
    return {p.pupil_id: p.school_id for p in run.placements}


def pupils_compared(before: RunFiles, after: RunFiles) -> int:
    """Pupils placed in both runs."""
    return len({p.pupil_id for p in before.placements} & {p.pupil_id for p in after.placements})
