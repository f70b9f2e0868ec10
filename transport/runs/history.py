"""Run history: nightly runs kept under dated names, a ``latest`` pointer, and diffs.

Families must be told in good time when their child's school, route, vehicle or pickup time
changes. :func:`diff_runs` compares two run folders from their files alone.

A route has no identity across nights (route ids are per run), so a pupil's route counts as
changed when the set of pupils they travel with, or the vehicle type, changes.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transport.errors import InputError, Problem
from transport.data.validate import parse_hhmm

LATEST = "latest"
CHANGE_COLUMNS = ("pupil_id", "change", "before", "after")


def dated_run_dir(runs_root: str | Path, *, today: dt.date | None = None) -> Path:
    """A new folder under ``runs_root`` for tonight's run: ``YYYY-MM-DD`` (``-2``, … if taken)."""
    root = Path(runs_root)
    stem = (today or dt.date.today()).isoformat()
    candidate = root / stem
    n = 2
    while candidate.exists():
        candidate = root / f"{stem}-{n}"
        n += 1
    return candidate


def update_latest(runs_root: str | Path, run_dir: str | Path) -> Path:
    """Point ``runs_root/latest`` at ``run_dir`` atomically (a relative symbolic link)."""
    root = Path(runs_root)
    link = root / LATEST
    tmp = root / f".{LATEST}.tmp-{os.getpid()}-link"  # removed by output.clean_stale if left
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(Path(run_dir).resolve(), root.resolve()), tmp)
    os.replace(tmp, link)
    return link


@dataclass(frozen=True)
class PupilChange:
    pupil_id: str
    change: str  # school | route | vehicle | pickup | added | removed
    before: str
    after: str


@dataclass(frozen=True)
class RunDiff:
    changes: tuple[PupilChange, ...]
    pupils_compared: int

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.change] = out.get(c.change, 0) + 1
        return out

    def pupils_affected(self) -> int:
        return len({c.pupil_id for c in self.changes})


def _read(run: Path, name: str, *, required: bool) -> pd.DataFrame | None:
    path = run / name
    if not path.exists():
        if required:
            raise InputError([Problem(name, None, None, f"missing from run folder {run}")])
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _journeys(run: Path) -> dict[str, dict[str, str]]:
    """Per pupil: school, co-riders (route identity), vehicle type and pickup time."""
    placements = _read(run, "placements.csv", required=True)
    assert placements is not None
    out = {
        r.pupil_id: {"school": r.school_id, "route": "", "vehicle": "", "pickup": ""}
        for r in placements.itertuples()
    }
    routes = _read(run, "routes.csv", required=False)
    stops = _read(run, "stops.csv", required=False)
    if routes is not None:
        for r in routes.itertuples():
            riders = sorted(p for p in r.pupils.split(";") if p)
            for p in riders:
                if p in out:
                    out[p]["route"] = " + ".join(riders)
                    out[p]["vehicle"] = r.vehicle_type
    if stops is not None:
        for s in stops.itertuples():
            if s.pupil_id in out:
                out[s.pupil_id]["pickup"] = s.pickup
    return out


def diff_runs(run_a: str | Path, run_b: str | Path, *, minutes: float = 10.0) -> RunDiff:
    """Pupils whose school, route, vehicle or pickup time (by more than ``minutes``) changed.

    Parameters
    ----------
    run_a, run_b
        Run folders (the earlier and the later night), read from their files alone.
    minutes
        A pickup time that moves by at most this many minutes is not reported.
    """
    a, b = _journeys(Path(run_a)), _journeys(Path(run_b))
    changes: list[PupilChange] = []
    for pupil in sorted(set(a) | set(b)):
        if pupil not in b:
            changes.append(PupilChange(pupil, "removed", a[pupil]["school"], ""))
            continue
        if pupil not in a:
            changes.append(PupilChange(pupil, "added", "", b[pupil]["school"]))
            continue
        old, new = a[pupil], b[pupil]
        for key in ("school", "route", "vehicle"):
            if old[key] != new[key]:
                changes.append(PupilChange(pupil, key, old[key], new[key]))
        if old["pickup"] and new["pickup"]:
            moved = abs(parse_hhmm(new["pickup"]) - parse_hhmm(old["pickup"]))
            if moved > minutes:
                changes.append(PupilChange(pupil, "pickup", old["pickup"], new["pickup"]))
        elif old["pickup"] != new["pickup"]:
            changes.append(PupilChange(pupil, "pickup", old["pickup"], new["pickup"]))
    return RunDiff(tuple(changes), len(set(a) & set(b)))
