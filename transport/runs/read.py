"""Read a run folder back from its files: the one validated reader every command uses.

``sheets``, ``diff``, ``budgets`` and the comparison report read run folders that may have
been edited, truncated, copied half-way or made from another data folder. :func:`read_run`
checks everything it reads and reports every problem at once, each with its file and row
(as a spreadsheet numbers it: the header is row 1), as an :class:`~transport.errors.InputError`:

* a missing, empty or unreadable file, a folder where a file should be, NUL bytes, a quote
  left open, short or long rows, a missing column;
* a value that is not what the format says (docs/formats.md, "Run folder"): a number that is
  not finite or is negative, a pickup that is not ``HH:MM``, a ``seq`` that is not a whole
  number from 1, ``has_pa`` other than 0/1, a blank id;
* a run that contradicts itself: a pupil placed twice, on two routes or with two stops, a
  routed pupil who is not placed, a stop on a route routes.csv lacks, a route whose stops are
  not its pupils;
* summary.json that is not a JSON object, holds ``NaN`` or ``Infinity``, is nested absurdly
  deeply, or whose ``parameters``, ``unplaced`` or ``unrouted`` have the wrong shape;
* with ``data``: a pupil, school or vehicle type that the data folder lacks (a run made from
  other data).

Messages never repeat a pupil id: rows are named by number.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transport.audit import record_input
from transport.data.load import csv_records, decode_text, read_file_bytes
from transport.errors import InputError, Problem
from transport.model import Dataset, Placement, RideExplanation, Route, Stop, route_schools
from transport.runs.manifest import CHANGED_HINT, MANIFEST, changed_files

PLACEMENTS = "placements.csv"
ROUTES = "routes.csv"
STOPS = "stops.csv"
SUMMARY = "summary.json"
MAX_SUMMARY_BYTES = 200 * 2**20


@dataclass(frozen=True)
class RunFiles:
    """A run folder read back from its files (what a later stage or a checker starts from).

    ``rows`` maps a file name to the spreadsheet row of each record read from it, in order,
    so that a later check can name the row of a record. ``explanations`` are stops.csv's
    limits, reasons and afternoon times (empty for a run written without them).
    """

    folder: Path
    summary: dict[str, Any]
    placements: tuple[Placement, ...]
    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]
    rows: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    explanations: tuple[RideExplanation, ...] = ()

    def explanation_of(self) -> dict[tuple[str, str], RideExplanation]:
        """Each stop's explanation by ``(route_id, pupil_id)``."""
        return {(e.route_id, e.pupil_id): e for e in self.explanations}

    def row_of(self, file: str, index: int) -> int | None:
        """The spreadsheet row of the ``index``-th record of ``file`` (None if unknown)."""
        rows = self.rows.get(file, ())
        return rows[index] if 0 <= index < len(rows) else None


def read_run(
    run_dir: str | Path,
    *,
    routes: bool | None = None,
    data: Dataset | None = None,
    need_summary: bool = True,
) -> RunFiles:
    """Read and check a run folder written by ``place``, ``solve`` or ``compare``.

    Parameters
    ----------
    run_dir
        The run folder (a link to one, such as ``runs/latest``, is followed).
    routes
        ``True``: routes.csv and stops.csv are required (a solved run); ``None``: read when
        present; ``False``: not read.
    data
        The data folder the run should have been made from: every pupil, school and vehicle
        type the run names must be in it.
    need_summary
        ``False``: summary.json may be absent (``diff`` compares placements, routes and stops
        alone); it is still checked when present.

    Raises
    ------
    InputError
        Listing every problem found, each with its file and row.
        A file that no longer matches the run's manifest.json (edited after the run was
        written) is one of the problems.
    """
    folder = Path(run_dir)
    _check_folder(folder)
    problems: list[Problem] = []
    changed = [  # files edited since the run was written: refused with any other problem
        Problem(c.file, None, None, f"no longer matches manifest.json ({c.status}): {CHANGED_HINT}")
        for c in changed_files(folder)
    ]
    if os.path.isfile(folder / MANIFEST):
        record_input(folder / MANIFEST, role="run")
    present = {name: os.path.lexists(folder / name) for name in (ROUTES, STOPS)}
    required = (
        [PLACEMENTS, SUMMARY] if need_summary or os.path.lexists(folder / SUMMARY) else [PLACEMENTS]
    )
    if routes:
        required += [ROUTES, STOPS]
        if not present[ROUTES]:
            hint = "a placement-only run? this needs a solved run ('sen-transport solve')"
            problems.append(Problem(str(folder), None, None, f"has no routes.csv: {hint}"))
            required.remove(ROUTES)
    for name in required:
        if not os.path.lexists(folder / name):
            problems.append(Problem(name, None, None, f"missing from run folder {folder}"))
    if problems:
        raise InputError([*changed, *problems])

    summary = _summary(folder / SUMMARY, problems) if SUMMARY in required else {}
    placements, place_rows = _placements(folder / PLACEMENTS, problems)
    route_list: list[Route] = []
    stop_list: list[Stop] = []
    route_rows: list[int] = []
    stop_rows: list[int] = []
    explained: list[RideExplanation] = []
    read_routes = routes is not False
    if read_routes and present[ROUTES]:
        route_list, route_rows = _routes(folder / ROUTES, problems)
    if read_routes and present[STOPS]:
        stop_list, stop_rows, explained = _stops(folder / STOPS, problems)
    if read_routes and present[ROUTES] != present[STOPS]:
        lacking = STOPS if present[ROUTES] else ROUTES
        problems.append(
            Problem(lacking, None, None, "missing: routes.csv and stops.csv go together")
        )
    if problems:
        raise InputError([*changed, *problems])
    run = RunFiles(
        folder,
        summary,
        tuple(placements),
        tuple(route_list),
        tuple(stop_list),
        {PLACEMENTS: tuple(place_rows), ROUTES: tuple(route_rows), STOPS: tuple(stop_rows)},
        tuple(explained),
    )
    _consistency(run, problems)
    if data is not None:
        problems += run_data_problems(run, data)
    if problems or changed:
        raise InputError([*changed, *problems])
    return run


def read_solved_run(run_dir: str | Path, *, data: Dataset | None = None) -> RunFiles:
    """A run folder written by ``sen-transport solve``: placements, routes, stops, summary."""
    return read_run(run_dir, routes=True, data=data)


def check_run_data(run: RunFiles, data: Dataset) -> None:
    """Raise an :class:`InputError` when the run names pupils, schools or vehicle types the
    data set lacks (a run made from another data folder)."""
    problems = run_data_problems(run, data)
    if problems:
        raise InputError(problems)


def run_data_problems(run: RunFiles, data: Dataset) -> list[Problem]:
    """Every record of ``run`` that names a pupil, school or vehicle type ``data`` lacks."""
    pupils, schools = data.pupil_by_id, data.school_by_id
    vehicles = {v.vehicle_type for v in data.vehicles}
    hint = "was the run made from another data folder?"
    out: list[Problem] = []
    for i, p in enumerate(run.placements):
        row = run.row_of(PLACEMENTS, i)
        if p.pupil_id not in pupils:
            out.append(Problem(PLACEMENTS, row, "pupil_id", f"a pupil the data lacks: {hint}"))
        if p.school_id not in schools:
            out.append(Problem(PLACEMENTS, row, "school_id", f"a school the data lacks: {hint}"))
    for i, r in enumerate(run.routes):
        row = run.row_of(ROUTES, i)
        # a mixed-school route names its schools in visiting order, ';'-separated
        if any(sid not in schools for sid in route_schools(r)):
            out.append(Problem(ROUTES, row, "school_id", f"a school the data lacks: {hint}"))
        if r.vehicle_type not in vehicles:
            out.append(
                Problem(ROUTES, row, "vehicle_type", f"a vehicle type the data lacks: {hint}")
            )
        if any(p not in pupils for p in r.pupils):
            out.append(Problem(ROUTES, row, "pupils", f"a pupil the data lacks: {hint}"))
    for i, s in enumerate(run.stops):
        if s.pupil_id not in pupils:
            row = run.row_of(STOPS, i)
            out.append(Problem(STOPS, row, "pupil_id", f"a pupil the data lacks: {hint}"))
    return out


# --------------------------------------------------------------------------------------------
# Files


def _check_folder(folder: Path) -> None:
    where = str(folder)
    if not os.path.lexists(folder):
        hint = "write one with 'sen-transport solve --data DIR --out RUN'"
        raise InputError([Problem(where, None, None, f"run folder not found: {hint}")])
    if folder.is_symlink() and not folder.exists():
        raise InputError([Problem(where, None, None, "is a broken link, not a run folder")])
    if not folder.is_dir():
        raise InputError([Problem(where, None, None, "is a file, not a run folder")])
    if not os.access(folder, os.R_OK | os.X_OK):
        raise InputError(
            [Problem(where, None, None, "run folder cannot be read: permission denied")]
        )


def _table(
    path: Path, columns: tuple[str, ...], problems: list[Problem]
) -> list[tuple[int, dict[str, str]]]:
    """The records of one CSV file of the run as ``(row, {column: cell})``."""
    file = path.name
    try:
        raw = read_file_bytes(path, file=file)
        record_input(path, raw, role="run")
        text = decode_text(raw, file=file)
        records = csv_records(text, file=file) if text.strip() else []
    except InputError as exc:
        problems.extend(exc.problems)
        return []
    if not records:
        problems.append(Problem(file, None, None, "is empty (no header row)"))
        return []
    header = [h.strip() for h in records[0][1]]
    missing = [c for c in columns if c not in header]
    for c in missing:
        problems.append(Problem(file, 1, c, "required column is missing"))
    if missing:
        return []
    out = []
    for row, cells in records[1:]:
        if not cells or not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            what = "short" if len(cells) < len(header) else "long"
            problems.append(
                Problem(
                    file,
                    row,
                    None,
                    f"has {len(cells)} cells but the header has {len(header)} "
                    f"(a {what} row: was the file cut or edited?)",
                )
            )
            continue
        out.append((row, dict(zip(header, (c.strip() for c in cells), strict=True))))
    return out


class _Cells:
    """Typed cells of one record, recording what is wrong with them (never their values: a
    cell may hold a pupil id where a number should be)."""

    def __init__(self, file: str, row: int, cells: dict[str, str], problems: list[Problem]):
        self.file, self.row, self.cells, self.problems = file, row, cells, problems
        self.ok = True

    def bad(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.row, column, message))
        self.ok = False

    def text(self, column: str, *, personal: bool = False) -> str:
        value = self.cells[column]
        if not value:
            self.bad(column, "is blank")
        elif personal and ";" in value:
            self.bad(column, "holds ';', the separator of routes.csv's pupil lists")
        return value

    def number(self, column: str, *, low: float = 0.0, high: float = 1e9) -> float:
        value = self.cells[column]
        try:
            number = float(value)
        except ValueError:
            self.bad(column, "is not a number")
            return 0.0
        if not (math.isfinite(number) and low <= number <= high):
            self.bad(column, f"is not a number from {low:g} to {high:g}")
            return 0.0
        return number

    def whole(self, column: str, *, low: int = 1, high: int = 10**9) -> int:
        value = self.cells[column]
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            self.bad(column, f"is not a whole number from {low} to {high}")
            return 0
        return int(value)

    def flag(self, column: str) -> bool:
        value = self.cells[column]
        if value not in ("0", "1"):
            self.bad(column, "is not 0 or 1")
        return value == "1"

    def time(self, column: str) -> int:
        value = self.cells[column]
        parts = value.split(":")
        if len(parts) == 2 and all(p.isascii() and p.isdigit() and len(p) <= 2 for p in parts):
            hours, minutes = int(parts[0]), int(parts[1])
            if hours < 24 and minutes < 60:
                return hours * 60 + minutes
        self.bad(column, "is not a time of day HH:MM (00:00-23:59)")
        return 0


def _parse(
    path: Path,
    columns: tuple[str, ...],
    make: Callable[[_Cells], Any],
    problems: list[Problem],
) -> tuple[list[Any], list[int]]:
    out, rows = [], []
    for row, cells in _table(path, columns, problems):
        typed = _Cells(path.name, row, cells, problems)
        item = make(typed)
        if typed.ok:
            out.append(item)
            rows.append(row)
    return out, rows


def _placements(path: Path, problems: list[Problem]) -> tuple[list[Placement], list[int]]:
    def make(c: _Cells) -> Placement:
        return Placement(
            c.text("pupil_id", personal=True),
            c.text("school_id"),
            c.text("policy"),
            c.number("road_miles", high=100_000),
            c.number("direct_min", high=100_000),
            c.cells.get("reason_code", ""),
            c.cells.get("reason", ""),
            tuple(s for s in c.cells.get("nearer_full", "").split(";") if s),
        )

    columns = ("pupil_id", "school_id", "policy", "road_miles", "direct_min")
    return _parse(path, columns, make, problems)


def _routes(path: Path, problems: list[Problem]) -> tuple[list[Route], list[int]]:
    def make(c: _Cells) -> Route:
        pupils = tuple(p.strip() for p in c.cells["pupils"].split(";"))
        if not pupils or any(not p for p in pupils):
            c.bad("pupils", "is not a ';'-separated list of pupil ids (a blank id?)")
        return Route(
            c.text("route_id"),
            c.text("school_id"),
            c.text("vehicle_type"),
            c.flag("has_pa"),
            pupils,
            c.number("route_miles", high=100_000),
            c.number("annual_cost", high=1e9),
        )

    columns = (
        "route_id",
        "school_id",
        "vehicle_type",
        "has_pa",
        "pupils",
        "route_miles",
        "annual_cost",
    )
    return _parse(path, columns, make, problems)


def _stops(
    path: Path, problems: list[Problem]
) -> tuple[list[Stop], list[int], list[RideExplanation]]:
    def make(c: _Cells) -> tuple[Stop, RideExplanation | None]:
        stop = Stop(
            c.text("route_id"),
            c.whole("seq", low=1, high=100_000),
            c.text("pupil_id", personal=True),
            float(c.time("pickup")),
            c.number("ride_min", high=24 * 60),
        )
        return stop, _explanation(c, stop)

    columns = ("route_id", "seq", "pupil_id", "pickup", "ride_min")
    items, rows = _parse(path, columns, make, problems)
    explained = [e for _, e in items if e is not None]
    return [s for s, _ in items], rows, explained if len(explained) == len(items) else []


EXPLANATION_COLUMNS = (
    "limit_min",
    "direct_min",
    "over_min",
    "reason_code",
    "reason",
    "sharing_saving",
    "dropoff",
    "pm_ride_min",
    "pm_over_min",
    "pm_reason_code",
    "pm_reason",
)


def _explanation(c: _Cells, stop: Stop) -> RideExplanation | None:
    """stops.csv's limit, reason and afternoon cells (``None`` when the run has none)."""
    if not all(k in c.cells for k in EXPLANATION_COLUMNS):
        return None  # a run written without them (or a header that lost one)
    if not c.cells["limit_min"] or not c.cells["dropoff"]:
        return None
    saving = c.cells["sharing_saving"]
    return RideExplanation(
        route_id=stop.route_id,
        pupil_id=stop.pupil_id,
        limit_min=c.number("limit_min", high=24 * 60),
        direct_min=c.number("direct_min", high=24 * 60),
        over_min=c.number("over_min", high=24 * 60),
        reason_code=c.cells["reason_code"],
        reason=c.cells["reason"],
        sharing_saving=c.number("sharing_saving", low=-1e9, high=1e9) if saving else None,
        dropoff=float(c.time("dropoff")),
        pm_ride_min=c.number("pm_ride_min", high=24 * 60),
        pm_over_min=c.number("pm_over_min", high=24 * 60) if c.cells["pm_over_min"] else 0.0,
        pm_reason_code=c.cells["pm_reason_code"],
        pm_reason=c.cells["pm_reason"],
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _summary(path: Path, problems: list[Problem]) -> dict[str, Any]:
    file = path.name
    try:
        raw = read_file_bytes(path, file=file)
        record_input(path, raw, role="run")
    except InputError as exc:
        problems.extend(exc.problems)
        return {}
    if len(raw) > MAX_SUMMARY_BYTES:
        problems.append(Problem(file, None, None, "is larger than 200 MB: not a run summary"))
        return {}
    if not raw.strip():
        problems.append(Problem(file, None, None, "is empty"))
        return {}
    if b"\x00" in raw:
        row = raw[: raw.index(b"\x00")].count(b"\n") + 1
        problems.append(Problem(file, row, None, "holds a NUL byte: not JSON text"))
        return {}
    try:
        doc = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        problems.append(Problem(file, None, None, "is not UTF-8 text"))
        return {}
    except json.JSONDecodeError as exc:
        problems.append(Problem(file, exc.lineno, None, f"is not valid JSON: {exc.msg}"))
        return {}
    except ValueError as exc:
        problems.append(Problem(file, None, None, f"is not valid JSON: {exc}"))
        return {}
    except RecursionError:
        problems.append(Problem(file, None, None, "is nested too deeply to be a run summary"))
        return {}
    if not isinstance(doc, dict):
        problems.append(Problem(file, None, None, "is not a JSON object ({...})"))
        return {}
    shapes: dict[str, tuple[type, ...]] = {
        "parameters": (dict,),
        "unplaced": (list,),
        "unrouted": (list,),
        "unplaced_reasons": (dict,),
        "unrouted_reasons": (dict,),
        "stage": (str,),
        "pupils": (int,),
        "routes": (int,),
        "annual_transport_cost": (int, float, type(None)),
        "annual_place_cost": (int, float, type(None)),
    }
    for key, types in shapes.items():
        if key in doc and (not isinstance(doc[key], types) or isinstance(doc[key], bool)):
            wanted = " or ".join(_JSON_NAMES[t] for t in types)
            problems.append(Problem(file, None, key, f"must be {wanted}"))
    for key in ("unplaced", "unrouted"):
        if isinstance(doc.get(key), list) and not all(isinstance(x, str) for x in doc[key]):
            problems.append(Problem(file, None, key, "must list pupil ids (strings)"))
    params = doc.get("parameters")
    if isinstance(params, dict):
        for key in ("travel", "ride", "cost"):
            if key in params and not isinstance(params[key], dict):
                problems.append(Problem(file, None, f"parameters.{key}", "must be an object"))
    return doc


_JSON_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a whole number",
    float: "a number",
    type(None): "null",
}


# --------------------------------------------------------------------------------------------
# The run against itself


def _duplicates(values: Iterable[str]) -> dict[int, int]:
    """``{index: index of the first occurrence}`` for every repeated value."""
    first: dict[str, int] = {}
    out: dict[int, int] = {}
    for i, v in enumerate(values):
        if v in first:
            out[i] = first[v]
        else:
            first[v] = i
    return out


def _consistency(run: RunFiles, problems: list[Problem]) -> None:
    def row(file: str, i: int) -> int | None:
        return run.row_of(file, i)

    for i, j in _duplicates(p.pupil_id for p in run.placements).items():
        problems.append(
            Problem(
                PLACEMENTS,
                row(PLACEMENTS, i),
                "pupil_id",
                f"the pupil of row {row(PLACEMENTS, j)} is placed again",
            )
        )
    for i, j in _duplicates(r.route_id for r in run.routes).items():
        problems.append(
            Problem(
                ROUTES,
                row(ROUTES, i),
                "route_id",
                f"duplicate route_id (first on row {row(ROUTES, j)})",
            )
        )
    on_route: dict[str, int] = {}
    for i, r in enumerate(run.routes):
        if len(set(r.pupils)) != len(r.pupils):
            problems.append(Problem(ROUTES, row(ROUTES, i), "pupils", "lists a pupil twice"))
        for p in set(r.pupils):
            if p in on_route:
                problems.append(
                    Problem(
                        ROUTES,
                        row(ROUTES, i),
                        "pupils",
                        f"a pupil of this route is also on the route of row "
                        f"{row(ROUTES, on_route[p])}",
                    )
                )
            else:
                on_route[p] = i
    placed = {p.pupil_id for p in run.placements}
    for i, r in enumerate(run.routes):
        if any(p not in placed for p in r.pupils):
            problems.append(
                Problem(
                    ROUTES,
                    row(ROUTES, i),
                    "pupils",
                    "a pupil of this route has no row in placements.csv",
                )
            )
    if not run.routes and not run.stops:
        return
    routes = {r.route_id: r for r in run.routes}
    seen_stop: dict[str, int] = {}
    seen_seq: dict[tuple[str, int], int] = {}
    for i, s in enumerate(run.stops):
        where = row(STOPS, i)
        route = routes.get(s.route_id)
        if route is None:
            problems.append(Problem(STOPS, where, "route_id", "a route routes.csv lacks"))
        elif s.pupil_id not in route.pupils:
            problems.append(
                Problem(STOPS, where, "pupil_id", "a pupil the route's row in routes.csv lacks")
            )
        if s.pupil_id in seen_stop:
            problems.append(
                Problem(
                    STOPS,
                    where,
                    "pupil_id",
                    f"the pupil of row {row(STOPS, seen_stop[s.pupil_id])} has a second stop",
                )
            )
        else:
            seen_stop[s.pupil_id] = i
        key = (s.route_id, s.seq)
        if key in seen_seq:
            problems.append(
                Problem(
                    STOPS,
                    where,
                    "seq",
                    f"the route's stop {s.seq} is also on row {row(STOPS, seen_seq[key])}",
                )
            )
        else:
            seen_seq[key] = i
    for i, r in enumerate(run.routes):
        missing = [p for p in r.pupils if p not in seen_stop]
        if missing:
            problems.append(
                Problem(
                    ROUTES,
                    row(ROUTES, i),
                    "pupils",
                    f"{len(missing)} pupil(s) of this route have no row in stops.csv",
                )
            )
