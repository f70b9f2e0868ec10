"""Run history: nightly runs kept under dated names, a ``latest`` pointer, and diffs.

Families must be told in good time when their child's school, route, vehicle or pickup time
changes. :func:`diff_runs` compares two run folders from their files alone.

A route has no identity across nights (route ids are per run), so a pupil's route counts as
changed when the set of pupils they travel with, or the vehicle type, changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from transport.errors import OutputError, ParameterError
from transport.model import format_hhmm
from transport.runs.atomic import atomic_open
from transport.runs.destination import Inputs, check_output_file, make_private_dirs
from transport.runs.lock import output_lock
from transport.runs.read import RunFiles, read_run

LATEST = "latest"
CHANGE_COLUMNS = ("pupil_id", "change", "before", "after")


def dated_run_dir(runs_root: str | Path, *, today: dt.date | None = None) -> Path:
    """The first free name for tonight's run: ``YYYY-MM-DD`` (``-2``, … if taken).

    Only a hint: two runs may both see a name free. :func:`claim_dated_run` claims one.
    """
    root = Path(runs_root)
    stem = (today or dt.date.today()).isoformat()
    candidate = root / stem
    n = 2
    while os.path.lexists(candidate):
        candidate = root / f"{stem}-{n}"
        n += 1
    return candidate


@contextlib.contextmanager
def claim_dated_run(runs_root: str | Path, *, today: dt.date | None = None) -> Iterator[Path]:
    """Claim tonight's run name under ``runs_root`` for the ``with`` block.

    The name is ``YYYY-MM-DD`` (``-2``, ``-3``, … when taken or claimed by a run still
    writing it): it is claimed by taking its lock (:mod:`transport.runs.lock`), so two runs
    started at once never get the same name, and no folder appears until the run is complete.
    ``runs_root`` must exist.
    """
    root = Path(runs_root)
    stem = (today or dt.date.today()).isoformat()
    with contextlib.ExitStack() as stack:
        for n in itertools.count(1):
            candidate = root / (stem if n == 1 else f"{stem}-{n}")
            if os.path.lexists(candidate):
                continue
            try:
                stack.enter_context(output_lock(candidate, what="run folder"))
            except OutputError:
                continue  # another run is writing this name
            if os.path.lexists(candidate):  # finished by its writer just before we locked
                stack.close()
                continue
            break
        yield candidate


def update_latest(runs_root: str | Path, run_dir: str | Path) -> Path:
    """Point ``runs_root/latest`` at ``run_dir`` atomically (a relative symbolic link).

    Raises
    ------
    OutputError
        When ``latest`` exists and is not a symbolic link: it is never replaced.
    """
    root = Path(runs_root)
    link = root / LATEST
    with output_lock(link, what="the latest link"):
        if os.path.lexists(link) and not link.is_symlink():
            kind = "a folder" if link.is_dir() else "a file"
            raise OutputError(
                f"{link} is {kind}, not a link: sen-transport moves only a 'latest' link it "
                f"made and never replaces anything else; the run is in {run_dir}"
            )
        tmp = root / f".{LATEST}.tmp-{os.getpid()}-link"  # removed by clean_stale if left
        if os.path.lexists(tmp):
            tmp.unlink()
        os.symlink(os.path.relpath(Path(run_dir).resolve(), root.resolve()), tmp)
        held = {signal.SIGTERM, signal.SIGINT}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            os.replace(tmp, link)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
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


def _journeys(run: RunFiles) -> dict[str, dict[str, str]]:
    """Per pupil: school, co-riders (route identity), vehicle type and pickup time."""
    out = {
        p.pupil_id: {"school": p.school_id, "route": "", "vehicle": "", "pickup": ""}
        for p in run.placements
    }
    for r in run.routes:
        riders = sorted(r.pupils)
        for p in riders:
            if p in out:
                out[p]["route"] = " + ".join(riders)
                out[p]["vehicle"] = r.vehicle_type
    for s in run.stops:
        if s.pupil_id in out:
            out[s.pupil_id]["pickup"] = format_hhmm(s.pickup)
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
    if isinstance(minutes, bool) or not (
        isinstance(minutes, int | float) and math.isfinite(minutes) and 0 <= minutes <= 24 * 60
    ):
        raise ParameterError(f"minutes must be between 0 and 1440, got {minutes!r}")
    a = _journeys(read_run(run_a, need_summary=False))
    b = _journeys(read_run(run_b, need_summary=False))
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
            moved = abs(_minutes(new["pickup"]) - _minutes(old["pickup"]))
            if moved > minutes:
                changes.append(PupilChange(pupil, "pickup", old["pickup"], new["pickup"]))
        elif old["pickup"] != new["pickup"]:
            changes.append(PupilChange(pupil, "pickup", old["pickup"], new["pickup"]))
    return RunDiff(tuple(changes), len(set(a) & set(b)))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _is_changes_file(path: Path) -> bool:
    """Whether ``path`` is a changes file ``diff`` wrote (its header row)."""
    with open(path, "rb") as fh:
        first = fh.readline(200)
    return first.rstrip(b"\r\n") == ",".join(CHANGE_COLUMNS).encode("ascii")


def check_changes_file(path: str | Path, *, inputs: Inputs = ()) -> Path:
    """Check that ``diff --out`` may write ``path`` (never on or inside a run it reads; an
    existing file only when it is a changes file). Returns it, absolute."""
    return check_output_file(path, inputs=inputs, recognise=_is_changes_file, what="changes file")


def write_changes(path: str | Path, result: RunDiff, *, inputs: Inputs = ()) -> Path:
    """Write every change of ``result`` to a CSV file (pupil_id, change, before, after),
    atomically and readable by its owner only, after :func:`check_changes_file`."""
    import csv

    target = check_changes_file(path, inputs=inputs)
    try:
        make_private_dirs(target.parent)
        with output_lock(target, what="changes file"), atomic_open(target, newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(CHANGE_COLUMNS)
            writer.writerows((c.pupil_id, c.change, c.before, c.after) for c in result.changes)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}; nothing was changed") from None
    return target
