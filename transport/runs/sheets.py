"""Route sheets: each route's pickups in order, for planners and (redacted) for operators.

A report stage: it renders a solved run folder with the data set it was solved from and
computes nothing new. One row per pickup, ordered by route and ``seq``.

Redacted sheets (``redact=True``) hold only what a driver must know: where and when to pick
each pupil up, whether they travel in a wheelchair and whether a passenger assistant rides —
never a need, an age, a ride limit, why a pupil travels alone or any other health data. The
pickup point is the home location as the operator needs it: the pupil's postcode when the data
folder gives one, else lat/lon rounded to 4 decimals (about 10 m). It is there by design: a
driver cannot collect a child without it. Both show the afternoon drop-off time (the
afternoon run leaves 5 minutes after the school's ``finish_at`` and drops in reverse order).
Planner sheets add the pupil's need, whether they need a PA, travel alone, their age, their
morning and afternoon rides in minutes, their limit, how far a ride passes it and why
(stops.csv's reason, morning and afternoon).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transport.data.load import load_tables
from transport.errors import InputError, Problem
from transport.model import (
    Dataset,
    Pupil,
    RideExplanation,
    format_hhmm,
    pupil_school,
    route_schools,
)
from transport.runs.read import RunFiles, check_run_data

SHEET_CSV = "route-sheets.csv"
SHEET_HTML = "route-sheets.html"
SHEET_COLUMNS = (
    "route_id",
    "school_id",
    "school_name",
    "arrive_by",
    "vehicle_type",
    "passenger_assistant",
    "seq",
    "pupil_id",
    "pickup_point",
    "pickup_time",
    "dropoff_time",
    "wheelchair",
)
PLANNER_COLUMNS = (
    "need",
    "needs_pa",
    "solo",
    "age",
    "ride_min",
    "pm_ride_min",
    "limit_min",
    "over_min",
    "reason",
)
# Columns a redacted sheet must never hold (health and personal data beyond the pickup).
NEVER_REDACTED = (*PLANNER_COLUMNS, "max_ride_min", "district", "lat", "lon", "postcode")


def pupil_postcodes(data_dir: str | Path) -> dict[str, str]:
    """Each pupil's postcode as the data folder's pupils.csv gives it (empty without one)."""
    pupils = load_tables(data_dir).pupils
    if "postcode" not in pupils.columns:
        return {}
    return {
        str(pid): " ".join(str(pc).upper().split())
        for pid, pc in zip(pupils["pupil_id"], pupils["postcode"], strict=True)
        if str(pc).strip()
    }


def pickup_point(pupil: Pupil, postcodes: dict[str, str]) -> str:
    """The pupil's postcode, else home lat/lon rounded to 4 decimals."""
    return postcodes.get(pupil.pupil_id) or f"{pupil.lat:.4f}, {pupil.lon:.4f}"


def route_school_times(data: Dataset, run: RunFiles) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """Each route's schools in visiting order, as ``(school_id, name, arrive_by)``.

    One school for most routes; a mixed-school route's schools in the order it visits them
    (:func:`transport.model.route_schools`), each with its own arrive-by time (HH:MM). A
    school the data lacks is named by its id alone.
    """
    schools = data.school_by_id
    out: dict[str, tuple[tuple[str, str, str], ...]] = {}
    for r in run.routes:
        out[r.route_id] = tuple(
            (sid, schools[sid].name, format_hhmm(schools[sid].arrive_by))
            if sid in schools
            else (sid, sid, "")
            for sid in route_schools(r)
        )
    return out


def sheet_columns(*, redact: bool) -> tuple[str, ...]:
    return SHEET_COLUMNS if redact else SHEET_COLUMNS + PLANNER_COLUMNS


def sheet_rows(
    data: Dataset, run: RunFiles, *, redact: bool, postcodes: dict[str, str] | None = None
) -> list[tuple[Any, ...]]:
    """One row per pickup of ``run`` in :func:`sheet_columns` order (route, then seq).

    A row's school is the pupil's own (their placement's), so a mixed-school route's rows
    name each of its schools (:func:`transport.model.pupil_school`).

    Raises
    ------
    InputError
        When the run has no routes, or names a route, pupil or school the data set lacks.
    """
    if not run.routes:
        raise InputError(
            [Problem("routes.csv", None, None, f"no routes in {run.folder}: solve it first")]
        )
    postcodes = postcodes or {}
    pupils = data.pupil_by_id
    schools = data.school_by_id
    routes = {r.route_id: r for r in run.routes}
    school_of = {p.pupil_id: p.school_id for p in run.placements}
    why = run.explanation_of()
    check_run_data(run, data)  # a run made from another data folder: named by file and row
    if any(s.route_id not in routes for s in run.stops):
        raise InputError([Problem("stops.csv", None, "route_id", "a route routes.csv lacks")])
    rows: list[tuple[Any, ...]] = []
    order = {r.route_id: i for i, r in enumerate(run.routes)}
    for stop in sorted(run.stops, key=lambda s: (order[s.route_id], s.seq)):
        route = routes[stop.route_id]
        pupil = pupils[stop.pupil_id]
        e = why.get((stop.route_id, stop.pupil_id))
        school = schools[pupil_school(route, pupil.pupil_id, school_of)]
        row: tuple[Any, ...] = (
            route.route_id,
            school.school_id,
            school.name,
            format_hhmm(school.arrive_by),
            route.vehicle_type,
            "yes" if route.has_pa else "no",
            stop.seq,
            pupil.pupil_id,
            pickup_point(pupil, postcodes),
            format_hhmm(stop.pickup),
            format_hhmm(e.dropoff) if e is not None and e.dropoff is not None else "",
            "yes" if pupil.wheelchair else "no",
        )
        if not redact:
            row += (
                pupil.need,
                "yes" if pupil.needs_pa else "no",
                "yes" if pupil.solo else "no",
                pupil.age,
                f"{stop.ride_min:.1f}",
                f"{e.pm_ride_min:.1f}" if e is not None and e.pm_ride_min is not None else "",
                f"{e.limit_min:g}" if e is not None else "",
                f"{e.over_min:.1f}" if e is not None else "",
                _reasons(e),
            )
        rows.append(row)
    return rows


def _reasons(e: RideExplanation | None) -> str:
    """A ride's reasons for passing its limit (morning, then afternoon when it differs)."""
    if e is None:
        return ""
    parts = [e.reason] if e.reason else []
    if e.pm_reason and e.pm_reason_code != e.reason_code or (e.pm_reason and not e.reason):
        parts.append(e.pm_reason)
    return " ".join(parts)


def render_html(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    redact: bool,
    schools: Mapping[str, Sequence[tuple[str, str, str]]] | None = None,
) -> str:
    """A printable, self-contained page: one table per route, each on its own page.

    Parameters
    ----------
    columns, rows
        The sheet (:func:`sheet_columns`, :func:`sheet_rows`).
    redact
        Whether the sheet is the operator's (redacted) one.
    schools
        Each route's schools in visiting order (:func:`route_school_times`): a mixed-school
        route's heading names every one with its arrive-by time. Without it, the heading
        names the first row's school.
    """
    kind = "operator (redacted)" if redact else "planner"
    by_route: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        by_route.setdefault(str(row[0]), []).append(row)
    stop_cols = [c for c in columns if c not in SHEET_COLUMNS[:6]]
    index = [columns.index(c) for c in stop_cols]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Route sheets ({kind})</title>",
        "<style>body{font-family:sans-serif;font-size:11pt}section{page-break-after:always;"
        "margin-bottom:2em}table{border-collapse:collapse}th,td{border:1px solid #888;"
        "padding:2px 6px;text-align:left}</style></head><body>",
        f"<h1>Route sheets ({kind})</h1>",
    ]
    esc = html.escape
    for route_id, stops in by_route.items():
        first = stops[0]
        visits = (schools or {}).get(route_id) or [(str(first[1]), str(first[2]), str(first[3]))]
        where = "; then ".join(
            f"{esc(name)} ({esc(sid)}), arrive by {esc(arrive)}" for sid, name, arrive in visits
        )
        parts.append(
            f"<section><h2>Route {esc(route_id)}</h2><p>School{'s' if len(visits) > 1 else ''} "
            f"{where}; vehicle "
            f"{esc(str(first[4]))}; passenger assistant: {esc(str(first[5]))}</p><table><tr>"
            + "".join(f"<th>{esc(c.replace('_', ' '))}</th>" for c in stop_cols)
            + "</tr>"
        )
        for row in stops:
            parts.append("<tr>" + "".join(f"<td>{esc(str(row[i]))}</td>" for i in index) + "</tr>")
        parts.append("</table></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
