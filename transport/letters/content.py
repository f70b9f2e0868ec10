"""What each family's letter says, from a solved run and its data folder (nothing computed anew).

One :class:`FamilyLetter` per routed pupil (or, with ``--since``, per family whose child is new,
moved or disturbed: :mod:`transport.letters.since`), and one :class:`NotSent` row per pupil of
the data folder who gets no letter because they have no route: unplaced, unrouted or not in the
run. Nobody is skipped silently.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from transport.changes import Journey
from transport.data.validate import parse_hhmm
from transport.errors import InputError, Problem
from transport.letters.operators import RouteOperator
from transport.letters.since import FamilyChange
from transport.model import Dataset, format_hhmm, pupil_school, route_schools
from transport.runs.write import RunFiles

VEHICLE_WORDS = {
    "taxi": "a taxi (car)",
    "mpv": "a people carrier (MPV)",
    "minibus": "a minibus",
    "wav_taxi": "a wheelchair-accessible taxi",
    "wav_minibus": "a wheelchair-accessible minibus",
    "coach": "a coach",
}
"""Plain words for the vehicle types of vehicles.csv; any other type reads "a <type> vehicle"."""


@dataclass(frozen=True, slots=True)
class Change:
    """One line of "what changes": ``what``, ``before`` → ``after`` (plain words)."""

    what: str
    before: str
    after: str


@dataclass(frozen=True)
class FamilyLetter:
    """Everything a family's letter states about their child's journey (no name or address)."""

    pupil_id: str
    kind: str  # plan | new | moved | disturbed
    reasons: tuple[str, ...]
    school_id: str
    school_name: str
    arrive_by: str
    pickup_point: str
    pickup_time: str
    dropoff_time: str | None
    vehicle_type: str
    vehicle: str
    wheelchair_accessible: bool
    passenger_assistant: bool
    route_id: str
    operator_name: str | None
    operator_phone: str | None
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class NotSent:
    """A pupil of the data folder who gets no letter, and why (for the transport team)."""

    pupil_id: str
    status: str  # unplaced | unrouted | not-in-run
    reason: str
    school_id: str
    previously_routed: str  # yes | no | "" (without --since)


@dataclass(frozen=True)
class StopColumns:
    """Optional stops.csv columns: afternoon ``dropoff`` (HH:MM) and ``stop_id``, by pupil."""

    dropoff: dict[str, str] | None
    stop_id: dict[str, str] | None


def read_stop_columns(run_dir: str | Path) -> StopColumns:
    """The optional columns of a run's stops.csv (None for a column the file lacks).

    Raises
    ------
    InputError
        When a ``dropoff`` is not a time (stops.csv, row, column).
    """
    path = Path(run_dir) / "stops.csv"
    if not path.exists():
        return StopColumns(None, None)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        rows = list(reader)
    dropoff = {} if "dropoff" in columns else None
    stop_id = {} if "stop_id" in columns else None
    problems = []
    for number, row in enumerate(rows, start=2):
        pupil = row.get("pupil_id", "")
        if dropoff is not None and row["dropoff"]:
            try:
                dropoff[pupil] = format_hhmm(parse_hhmm(row["dropoff"]))
            except ValueError:
                problems.append(Problem(str(path), number, "dropoff", "not a time (HH:MM)"))
        if stop_id is not None and row["stop_id"]:
            stop_id[pupil] = row["stop_id"]
    if problems:
        raise InputError(problems)
    return StopColumns(dropoff, stop_id)


def vehicle_words(vehicle_type: str) -> str:
    return VEHICLE_WORDS.get(vehicle_type) or f"a {vehicle_type.replace('_', ' ')} vehicle"


def check_run_matches(data: Dataset, run: RunFiles) -> None:
    """Refuse a run that names routes, pupils, schools or vehicles the data set lacks.

    Raises
    ------
    InputError
        When the run has no routes (a placement run) or was made from other data.
    """
    if not run.routes:
        raise InputError(
            [Problem("routes.csv", None, None, f"no routes in {run.folder}: solve it first")]
        )
    routes = {r.route_id for r in run.routes}
    vehicles = {v.vehicle_type for v in data.vehicles}
    missing = (
        {s.route_id for s in run.stops if s.route_id not in routes}
        | {s.pupil_id for s in run.stops if s.pupil_id not in data.pupil_by_id}
        | {
            s
            for r in run.routes
            for s in route_schools(r)  # a mixed-school route: each of its schools
            if s not in data.school_by_id
        }
        | {r.vehicle_type for r in run.routes if r.vehicle_type not in vehicles}
    )
    if missing:
        raise InputError(
            [
                Problem(
                    str(run.folder),
                    None,
                    None,
                    f"{len(missing)} routes, pupils, schools or vehicle types of the run are "
                    "not in the data set (was it solved from another data folder?)",
                )
            ]
        )


def family_letters(
    data: Dataset,
    run: RunFiles,
    *,
    pickup_points: Mapping[str, str],
    stops: StopColumns,
    operators: Mapping[str, RouteOperator],
    changes: Mapping[str, FamilyChange] | None = None,
    previous_stops: StopColumns | None = None,
) -> list[FamilyLetter]:
    """One letter per routed pupil (or per changed family with ``changes``), by pupil id.

    Parameters
    ----------
    data, run
        The data folder and the run solved from it (:func:`check_run_matches` first).
    pickup_points
        Each pupil's pickup point in words ("home (CT1 1AA)"); "home" when absent.
    stops
        The run's optional stops.csv columns (afternoon drop-off times).
    operators
        Route → operator (``--operators``); routes without one have no operator line.
    changes
        With ``--since``: the families to write to
        (:func:`transport.letters.since.families_to_write`); every other family gets no letter.
    previous_stops
        The previous run's optional stops.csv columns, for "what changes".
    """
    routes = {r.route_id: r for r in run.routes}
    vehicles = {v.vehicle_type: v for v in data.vehicles}
    schools = data.school_by_id
    placed = {p.pupil_id: p.school_id for p in run.placements}
    school_names = {s.school_id: s.name for s in data.schools}
    dropoff_before = (previous_stops.dropoff if previous_stops else None) or {}
    out: list[FamilyLetter] = []
    for stop in sorted(run.stops, key=lambda s: s.pupil_id):
        pupil = stop.pupil_id
        change = None
        if changes is not None:
            change = changes.get(pupil)
            if change is None:
                continue
        route = routes[stop.route_id]
        school = schools[pupil_school(route, pupil, placed)]  # theirs, on a mixed route too
        operator = operators.get(route.route_id)
        dropoff = (stops.dropoff or {}).get(pupil)
        point = pickup_points.get(pupil, "home")
        out.append(
            FamilyLetter(
                pupil_id=pupil,
                kind=change.kind if change else "plan",
                reasons=change.reasons if change else (),
                school_id=school.school_id,
                school_name=school.name,
                arrive_by=format_hhmm(school.arrive_by),
                pickup_point=point,
                pickup_time=format_hhmm(stop.pickup),
                dropoff_time=dropoff,
                vehicle_type=route.vehicle_type,
                vehicle=vehicle_words(route.vehicle_type),
                wheelchair_accessible=vehicles[route.vehicle_type].wheelchair_spaces > 0,
                passenger_assistant=route.has_pa,
                route_id=route.route_id,
                operator_name=operator.name if operator else None,
                operator_phone=(operator.phone or None) if operator else None,
                changes=what_changed(
                    change,
                    school_names=school_names,
                    point=point,
                    dropoff_before=dropoff_before.get(pupil),
                    dropoff_after=dropoff,
                )
                if change
                else (),
            )
        )
    return out


def what_changed(
    change: FamilyChange,
    *,
    school_names: Mapping[str, str],
    point: str,
    dropoff_before: str | None,
    dropoff_after: str | None,
) -> tuple[Change, ...]:
    """Every difference in the family's journey between the two plans, old → new, in words.

    A new family's letter lists none (the whole journey is new). Other children are counted,
    never named.
    """
    old, new = change.before, change.after
    if old is None:
        return ()
    rows: list[Change] = []
    if old.school_id != new.school_id:
        rows.append(
            Change(
                "School",
                school_names.get(old.school_id, old.school_id),
                school_names.get(new.school_id, new.school_id),
            )
        )
    if "home" in change.reasons:
        rows.append(Change("Pickup point", "your previous address", f"{point}: your new address"))
    elif "pickup-point" in change.reasons:
        rows.append(Change("Pickup point", "as before", point))
    if format_hhmm(old.pickup) != format_hhmm(new.pickup):
        rows.append(Change("Morning pickup time", format_hhmm(old.pickup), format_hhmm(new.pickup)))
    if dropoff_before and dropoff_after and dropoff_before != dropoff_after:
        rows.append(Change("Afternoon drop-off time", dropoff_before, dropoff_after))
    if old.vehicle_type != new.vehicle_type:
        rows.append(
            Change("Vehicle", vehicle_words(old.vehicle_type), vehicle_words(new.vehicle_type))
        )
    if old.has_pa != new.has_pa:
        rows.append(Change("Passenger assistant", _yes_no(old.has_pa), _yes_no(new.has_pa)))
    if old.co_riders != new.co_riders:
        rows.append(Change("Children travelling together", *_riders(old, new)))
    return tuple(rows)


def _yes_no(has_pa: bool) -> str:
    return "travels on the vehicle" if has_pa else "none"


def _riders(old: Journey, new: Journey) -> tuple[str, str]:
    def count(n: int) -> str:
        return "no other children" if n == 0 else f"{n} other child{'ren' if n > 1 else ''}"

    kept = len(old.co_riders & new.co_riders)
    after = count(len(new.co_riders))
    if new.co_riders and old.co_riders:
        after += (
            f", {kept} of them travelled with your child before"
            if kept
            else ", none of them travelled with your child before"
        )
    return count(len(old.co_riders)), after


def not_sent(
    data: Dataset,
    run: RunFiles,
    *,
    routed_before: frozenset[str] | None = None,
) -> list[NotSent]:
    """Pupils of the data folder with no route in the run, and why, by pupil id.

    ``routed_before`` (with ``--since``) fills ``previously_routed``: a pupil who had a route
    and has none now needs a call before term, not a letter.
    """
    summary = run.summary
    routed = {s.pupil_id for s in run.stops}
    placed = {p.pupil_id: p.school_id for p in run.placements}
    unplaced = dict(summary.get("unplaced_reasons") or {})
    for pupil in summary.get("unplaced") or ():
        unplaced.setdefault(pupil, "could not be placed")
    unrouted = dict(summary.get("unrouted_reasons") or {})
    for pupil in summary.get("unrouted") or ():
        unrouted.setdefault(pupil, "could not be routed")
    out: list[NotSent] = []
    for pupil in sorted(p.pupil_id for p in data.pupils):
        if pupil in routed:
            continue
        before = "" if routed_before is None else ("yes" if pupil in routed_before else "no")
        if pupil in unplaced:
            row = NotSent(pupil, "unplaced", unplaced[pupil], "", before)
        elif pupil in placed:
            reason = unrouted.get(pupil, "placed but on no route of this run")
            row = NotSent(pupil, "unrouted", reason, placed[pupil], before)
        else:
            reason = "not in this run (added to the data after the run was made?)"
            row = NotSent(pupil, "not-in-run", reason, "", before)
        out.append(row)
    return out
