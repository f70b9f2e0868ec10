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
    change: str  # school | route | vehicle | pa | pickup | added | removed
    before: str
    after: str


@dataclass(frozen=True)
class RunDiff:
    changes: tuple[PupilChange, ...]
    pupils_compared: int

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
    from transport.runs.changes_report import pupils_compared, run_changes
    from transport.runs.write import read_run

    a, b = read_run(run_a), read_run(run_b)
    changes = tuple(PupilChange(*c) for c in run_changes(a, b, minutes=minutes))
    return RunDiff(changes, pupils_compared(a, b))
