"""Which families to write to after a re-plan (``letters --since PREVIOUS_RUN``), and what changed.

A family gets a letter when their child is

``new``
    routed in this run and not in the previous one (a new entrant, or a pupil who was unplaced
    or unrouted before);
``moved``
    routed in both, and their *own data* changed (see below): they changed school, moved house
    or were given another pickup point;
``disturbed``
    routed in both, their own data unchanged, and the re-plan changed their journey:
    :func:`transport.changes.disturbances` — the one definition that ``solve --previous`` and
    ``diff`` use too (school, pickup by more than 10 minutes, vehicle, passenger assistant, or
    fewer than half of their previous co-riders still with them).

A family with none of these gets no letter.

How a pupil's own data is seen to change. When both runs hold pupil digests of one series
(pupil-digests.csv, written by ``solve``; :func:`transport.changes.pupil_digests`), exactly as
``solve --previous`` sees it: the pupil's digests differ (reason ``home`` for home, stop or
school, else ``needs``; ``school`` when the rule below sees the school change). Otherwise (runs
of other series, or older runs) a run folder holds no home location (privacy) and the previous
run may have been made from older data that is gone, so the rule compares the two runs' files
with the current data folder:

* **school** — the school differs between the runs' placements *and* the current pupils.csv
  names the new school as the pupil's school: the record changed, the engine did not choose it
  (a school change the engine chose is the disturbance ``school``);
* **home** — the school is the same in both runs but the pupil's home → school distance alone
  (placements.csv ``road_miles``, or ``direct_min``) differs by more than rounding (0.015 miles,
  0.15 minutes). Only when both runs used the same travel model (summary.json
  ``parameters.travel_model``); otherwise a house move cannot be told from a new travel model
  and the letters' summary says ``home_moves_detectable: false``;
* **pickup point** — both runs' stops.csv have a ``stop_id`` column and the pupil's differs.

Changes the runs cannot show (a new need, a wheelchair) surface as the disturbance they cause
(vehicle, passenger assistant): the family is written to either way, and the letter lists every
change of their journey, old → new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transport.changes import Journey, disturbances, journeys, pupil_changes
from transport.runs.write import RunFiles

MILES_TOLERANCE = 0.015
MINUTES_TOLERANCE = 0.15
KINDS = ("new", "moved", "disturbed")
"""Why a family is written to after a re-plan (``plan`` without ``--since``)."""


@dataclass(frozen=True)
class FamilyChange:
    """Why one family is written to: ``kind`` and its reasons (codes)."""

    pupil_id: str
    kind: str  # new | moved | disturbed
    reasons: tuple[str, ...]
    before: Journey | None
    after: Journey


@dataclass(frozen=True)
class SinceResult:
    changes: dict[str, FamilyChange]
    routed_before: frozenset[str]
    home_moves_detectable: bool


def own_data_changes(
    previous: RunFiles,
    run: RunFiles,
    *,
    school_in_data: Mapping[str, str | None],
    previous_stop_ids: Mapping[str, str] | None = None,
    stop_ids: Mapping[str, str] | None = None,
) -> tuple[dict[str, tuple[str, ...]], bool]:
    """Pupils placed in both runs whose own data changed (module docstring), with reasons.

    Returns ``({pupil_id: reasons}, home_moves_detectable)``; reasons are ``school``, ``home``
    and ``pickup-point``.
    """
    before = {p.pupil_id: p for p in previous.placements}
    after = {p.pupil_id: p for p in run.placements}
    model = _travel_model(previous)
    comparable = model is not None and model == _travel_model(run)
    out: dict[str, tuple[str, ...]] = {}
    for pupil, new in after.items():
        old = before.get(pupil)
        if old is None:
            continue
        reasons: list[str] = []
        if old.school_id != new.school_id:
            if school_in_data.get(pupil) == new.school_id:
                reasons.append("school")
        elif comparable and (
            abs(old.road_miles - new.road_miles) > MILES_TOLERANCE
            or abs(old.direct_min - new.direct_min) > MINUTES_TOLERANCE
        ):
            reasons.append("home")
        if (
            previous_stop_ids is not None
            and stop_ids is not None
            and previous_stop_ids.get(pupil, "") != stop_ids.get(pupil, "")
        ):
            reasons.append("pickup-point")
        if reasons:
            out[pupil] = tuple(reasons)
    return out, comparable


def digest_changes(previous: RunFiles, run: RunFiles) -> dict[str, tuple[str, ...]] | None:
    """Pupils whose own data changed by the two runs' pupil digests (``home``: home, stop or
    school; ``needs``: needs only), or None when the runs' digests cannot be compared."""
    from transport.runs.previous import read_digests

    a = read_digests(previous.folder, previous.summary or {})
    b = read_digests(run.folder, run.summary or {})
    if a is None or b is None or a[0] != b[0]:
        return None
    changes = pupil_changes(a[1], b[1])
    return {p: ("home",) if p in changes.moved else ("needs",) for p in sorted(changes.changed)}


def _placed(run: RunFiles) -> dict[str, str]:
    return {p.pupil_id: p.school_id for p in run.placements}


def _travel_model(run: RunFiles) -> object:
    return (run.summary.get("parameters") or {}).get("travel_model")


def families_to_write(
    previous: RunFiles,
    run: RunFiles,
    *,
    school_in_data: Mapping[str, str | None],
    previous_stop_ids: Mapping[str, str] | None = None,
    stop_ids: Mapping[str, str] | None = None,
    minutes: float = 10.0,
) -> SinceResult:
    """The families to write to after a re-plan: new, moved or disturbed (module docstring).

    Parameters
    ----------
    previous, run
        The previous and the new run folder (read with :func:`transport.runs.write.read_run`).
    school_in_data
        Each pupil's school in the current pupils.csv (None when blank).
    previous_stop_ids, stop_ids
        Each pupil's ``stop_id`` in the two runs' stops.csv, when both have the column.
    minutes
        A pickup moving by more than this disturbs (:mod:`transport.changes`).
    """
    old = journeys(previous.routes, previous.stops, school_of=_placed(previous))
    new = journeys(run.routes, run.stops, school_of=_placed(run))
    moved, detectable = own_data_changes(
        previous,
        run,
        school_in_data=school_in_data,
        previous_stop_ids=previous_stop_ids,
        stop_ids=stop_ids,
    )
    by_digest = digest_changes(previous, run)
    if by_digest is not None:  # the re-plan's own record of who changed
        moved = {p: moved.get(p) or reasons for p, reasons in by_digest.items()}
        detectable = True
    fresh = [p for p in new if p not in old]
    moved = {p: r for p, r in moved.items() if p in old and p in new}
    disturbed = disturbances(old, new, changed=set(moved) | set(fresh), minutes=minutes)
    out: dict[str, FamilyChange] = {}
    for pupil in fresh:
        out[pupil] = FamilyChange(pupil, "new", ("new",), None, new[pupil])
    for pupil, reasons in moved.items():
        out[pupil] = FamilyChange(pupil, "moved", reasons, old[pupil], new[pupil])
    for pupil, reasons in disturbed.items():
        out[pupil] = FamilyChange(pupil, "disturbed", reasons, old[pupil], new[pupil])
    return SinceResult(out, frozenset(old), detectable)
