"""The plan in force, read from a run folder for ``solve --previous``; the digests for ``diff``.

A solve run writes ``pupil-digests.csv``: for every pupil of its data set, two salted sha256
digests (:func:`transport.changes.pupil_digests`) of their home (location, stop, school) and
their needs (need, wheelchair, PA, solo, age, ride limit). Tonight's pupils hashed with the
previous run's salt tell who is new, who left and whose own data changed, without the run
folder holding any of that data in the clear. summary.json's ``pupil_digests`` names the
file, the salt and the fields; ``route_ids.last`` is the highest route number the series has
used.

:func:`read_previous` reads and checks a previous run and returns the routing stage's
:class:`transport.routing.PreviousPlan`; every problem is an :class:`~transport.errors.InputError`
(exit status 2) naming the file.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transport.changes import HOME_FIELDS, NEEDS_FIELDS, pupil_changes, pupil_digests
from transport.errors import InputError, Problem
from transport.model import Dataset
from transport.routing import PreviousPlan
from transport.routing.replan import last_route_number

DIGEST_FILE = "pupil-digests.csv"
DIGEST_COLUMNS = ("pupil_id", "home", "needs")
_HEX = set("0123456789abcdef")


def digest_table(data: Dataset, salt: str) -> tuple[tuple[str, ...], list[tuple[str, str, str]]]:
    """pupil-digests.csv of a data set: ``(columns, rows)``, one row per pupil in data order."""
    rows = [(p.pupil_id, *pupil_digests(p, salt)) for p in data.pupils]
    return DIGEST_COLUMNS, rows


def digest_summary(salt: str) -> dict[str, Any]:
    """summary.json's ``pupil_digests``: the file, the salt and the fields of each digest."""
    return {
        "file": DIGEST_FILE,
        "salt": salt,
        "home": list(HOME_FIELDS),
        "needs": list(NEEDS_FIELDS),
    }


def current_digests(data: Dataset, salt: str) -> dict[str, tuple[str, str]]:
    return {p.pupil_id: pupil_digests(p, salt) for p in data.pupils}


def read_digests(folder: str | Path, summary: Mapping[str, Any]) -> tuple[str, dict] | None:
    """A run's salt and digests (``{pupil: (home, needs)}``), or None when it has none.

    Raises
    ------
    InputError
        A digest file that is named but missing, or malformed.
    """
    folder = Path(folder)
    meta = summary.get("pupil_digests")
    if not isinstance(meta, Mapping):
        return None
    salt = meta.get("salt")
    name = str(meta.get("file") or DIGEST_FILE)
    path = folder / name
    if not isinstance(salt, str) or not salt or "/" in name:
        raise InputError([Problem("summary.json", None, "pupil_digests", "no valid salt or file")])
    if not path.is_file():
        raise InputError([Problem(name, None, None, f"missing from run folder {folder}")])
    out: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != DIGEST_COLUMNS:
                raise InputError(
                    [Problem(name, 1, None, f"columns must be {', '.join(DIGEST_COLUMNS)}")]
                )
            for row, r in enumerate(reader, start=2):
                pid, home, needs = (r.get(c) or "" for c in DIGEST_COLUMNS)
                if not pid or not _is_digest(home) or not _is_digest(needs):
                    problems.append(Problem(name, row, None, "not a pupil id and two digests"))
                elif pid in out:
                    problems.append(Problem(name, row, "pupil_id", "a pupil listed twice"))
                else:
                    out[pid] = (home, needs)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(name, None, None, f"not readable: {type(exc).__name__}"))
    if problems:
        raise InputError(problems)
    return salt, out


def _is_digest(text: str) -> bool:
    return len(text) == 32 and set(text) <= _HEX


def read_locks(path: str | Path, route_ids: set[str]) -> frozenset[str]:
    """Route ids to keep exactly, from a CSV file with a ``route_id`` column (other columns,
    such as route-operators.csv's, are ignored).

    Raises
    ------
    InputError
        A missing or unreadable file, no ``route_id`` column, or ids the previous plan lacks
        (each with its row).
    """
    path = Path(path)
    name = path.name
    problems: list[Problem] = []
    out: set[str] = set()
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip().lower() for c in reader.fieldnames or ()]
            if "route_id" not in columns:
                raise InputError([Problem(name, 1, None, "needs a route_id column")])
            key = (reader.fieldnames or ())[columns.index("route_id")]
            for row, r in enumerate(reader, start=2):
                rid = (r.get(key) or "").strip()
                if not rid:
                    continue
                if rid not in route_ids:
                    problems.append(
                        # the row, not the value: a mistyped cell may hold a pupil id
                        Problem(name, row, "route_id", "not a route of the previous plan")
                    )
                out.add(rid)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(name, None, None, f"not readable: {type(exc).__name__}"))
    if problems:
        raise InputError(problems)
    return frozenset(out)


def read_previous(
    run_dir: str | Path,
    data: Dataset,
    *,
    locks_file: str | Path | None = None,
    need_digests: bool = True,
) -> tuple[PreviousPlan, str | None]:
    """The plan in force in ``run_dir`` for re-planning ``data``, and the series' salt.

    With ``need_digests`` false (a plan from scratch compared with it) a run without
    pupil digests is accepted: nobody counts as changed and the salt is None.

    Raises
    ------
    InputError
        A folder that is not a solved run (placements.csv, routes.csv, stops.csv, summary.json
        and pupil-digests.csv must be there and readable), a run made from other data (no pupil
        in common), or a bad locks file.
    """
    from transport.runs.read import read_run

    folder = Path(run_dir)
    run = read_run(folder, routes=True)  # the one validated reader: every problem at once
    found = read_digests(folder, run.summary)
    if found is None and not need_digests:
        placed = {p.pupil_id for p in run.placements}
        ids = set(data.pupil_by_id)
        changes, salt = pupil_changes(None, None, before_ids=placed, after_ids=ids), None
        common = bool(placed & ids)
    elif found is None:
        raise InputError(
            [
                Problem(
                    DIGEST_FILE,
                    None,
                    None,
                    f"missing from previous run {folder} (summary.json names no pupil digests): "
                    "re-planning needs a run made by 'sen-transport solve' of this version; "
                    "use --from-scratch",
                )
            ]
        )
    else:
        salt, before = found
        after = current_digests(data, salt)
        changes, common = pupil_changes(before, after), bool(before.keys() & after.keys())
    if not common:
        raise InputError(
            [
                Problem(
                    str(folder),
                    None,
                    None,
                    "the previous run has no pupil in common with the data: it was made from "
                    "other data (use --from-scratch for a new plan)",
                )
            ]
        )
    recorded = run.summary.get("route_ids")
    last = recorded.get("last") if isinstance(recorded, Mapping) else None
    locks = frozenset()
    if locks_file is not None:
        locks = read_locks(locks_file, {r.route_id for r in run.routes})
    plan = PreviousPlan(
        routes=run.routes,
        stops=run.stops,
        school_of={p.pupil_id: p.school_id for p in run.placements},
        pupils=changes,
        last_route_number=last_route_number(run.routes, last if isinstance(last, int) else 0),
        locks=locks,
        source=str(run_dir),
    )
    return plan, salt
