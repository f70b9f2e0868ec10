"""Run history: nightly runs kept under dated names, a ``latest`` pointer, and diffs.

Families must be told in good time when their child's school, route, vehicle or pickup time
changes. :func:`diff_runs` compares two run folders from their files alone.

A pupil's route counts as changed when the set of pupils they travel with, or the vehicle type,
changes. Route ids persist across re-plans (``solve --previous``), so :attr:`RunDiff.stability`
also counts routes kept, changed, new and ended by id, with the re-plan's other numbers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from transport.errors import OutputError
from transport.runs.atomic import atomic_open
from transport.runs.destination import Inputs, check_output_file, make_private_dirs
from transport.runs.lock import output_lock
from transport.runs.read import read_run

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


LATEST_WAIT_S = 10.0
"""Moving ``latest`` takes an instant: a run finishing beside another waits for it this long."""


def update_latest(runs_root: str | Path, run_dir: str | Path) -> Path:
    """Point ``runs_root/latest`` at ``run_dir`` atomically (a relative symbolic link).

    Raises
    ------
    OutputError
        When ``latest`` exists and is not a symbolic link: it is never replaced.
    """
    root = Path(runs_root)
    link = root / LATEST
    with output_lock(link, what="the latest link", wait_s=LATEST_WAIT_S):
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
    change: str  # school | route | vehicle | pa | pickup | added | removed
    before: str
    after: str


@dataclass(frozen=True)
class RunDiff:
    changes: tuple[PupilChange, ...]
    pupils_compared: int
    stability: dict = field(default_factory=dict)
    """The re-plan's numbers for these two runs (:func:`transport.changes.plan_stability`:
    pupils new / left / changed, families disturbed by reason, routes kept / changed / new /
    ended, the cost change), as ``solve`` writes them in summary.json's ``stability``."""

    def counts(self) -> dict[str, int]:
        from transport.runs.changes_report import Change, count_changes

        return count_changes(Change(c.pupil_id, c.change, c.before, c.after) for c in self.changes)

    def pupils_affected(self) -> int:
        return len({c.pupil_id for c in self.changes})


def diff_runs(run_a: str | Path, run_b: str | Path, *, minutes: float = 10.0) -> RunDiff:
    """Pupils whose school, route, vehicle or pickup time (by more than ``minutes``) changed.

    Parameters
    ----------
    run_a, run_b
        Run folders (the earlier and the later night), read from their files alone.
    minutes
        A pickup time that moves by at most this many minutes is not reported.
    """
    from transport.runs.changes_report import (
        check_minutes,
        pupils_compared,
        run_changes,
        run_stability,
    )

    check_minutes(minutes)  # before any work

    a, b = read_run(run_a, need_summary=False), read_run(run_b, need_summary=False)
    changes = tuple(PupilChange(*c) for c in run_changes(a, b, minutes=minutes))
    return RunDiff(changes, pupils_compared(a, b), run_stability(a, b, minutes=minutes))


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
