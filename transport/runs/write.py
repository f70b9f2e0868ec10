"""Write a run folder: the contract's CSV files and summary.json, atomically.

A run is written into a temporary folder beside its destination and moved into place only when
every file is complete, so a run that is killed never leaves a partial folder and never
destroys the previous run. Files are created readable by their owner only (pupil data is
special-category personal data).

Formats (columns in order; money in £ with two decimals, times in minutes with one decimal):

``placements.csv``
    pupil_id, school_id, policy, road_miles, direct_min, reason_code, reason, nearer_full
    (school ids, ``;``-separated)
``shortfall.csv`` (``nearest-suitable`` only)
    school_id, need, demand, capacity, missing
``routes.csv``
    route_id, school_id, vehicle_type, has_pa (0/1), pupils (pupil ids in pickup order,
    ``;``-separated), route_miles, annual_cost
``stops.csv``
    route_id, seq (1 = first pickup), pupil_id, pickup (HH:MM), ride_min
``summary.json``
    pupils, routes, annual_transport_cost, annual_place_cost, unplaced, unrouted,
    parameters, and whatever the stage adds.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.audit import record_input
from transport.errors import InputError, Problem
from transport.model import Placement, PlacementResult, Route, Stop, format_hhmm
from transport.runs.manifest import MANIFEST, check_unchanged, write_manifest

PLACEMENT_COLUMNS = (
    "pupil_id",
    "school_id",
    "policy",
    "road_miles",
    "direct_min",
    "reason_code",
    "reason",
    "nearer_full",
)
SHORTFALL_COLUMNS = ("school_id", "need", "demand", "capacity", "missing")
ROUTE_COLUMNS = (
    "route_id",
    "school_id",
    "vehicle_type",
    "has_pa",
    "pupils",
    "route_miles",
    "annual_cost",
)
STOP_COLUMNS = ("route_id", "seq", "pupil_id", "pickup", "ride_min")
FILE_MODE = 0o600
DIR_MODE = 0o700


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write one CSV file, readable by its owner only."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    os.chmod(path, FILE_MODE)


def placement_rows(result: PlacementResult) -> list[tuple[Any, ...]]:
    return [
        (
            p.pupil_id,
            p.school_id,
            p.policy,
            f"{p.road_miles:.2f}",
            f"{p.direct_min:.1f}",
            p.reason_code,
            p.reason,
            ";".join(p.nearer_full),
        )
        for p in result.placements
    ]


def route_rows(routes: Sequence[Route]) -> list[tuple[Any, ...]]:
    return [
        (
            r.route_id,
            r.school_id,
            r.vehicle_type,
            int(r.has_pa),
            ";".join(r.pupils),
            f"{r.route_miles:.2f}",
            f"{r.annual_cost:.2f}",
        )
        for r in routes
    ]


def stop_rows(stops: Sequence[Stop]) -> list[tuple[Any, ...]]:
    return [
        (s.route_id, s.seq, s.pupil_id, format_hhmm(s.pickup), f"{s.ride_min:.1f}") for s in stops
    ]


def write_run(
    out_dir: str | Path,
    *,
    summary: dict[str, Any],
    placements: PlacementResult | None = None,
    routes: Sequence[Route] | None = None,
    stops: Sequence[Stop] | None = None,
    extra: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] | None = None,
    texts: dict[str, str] | None = None,
    binaries: dict[str, bytes] | None = None,
    kind: str = "run",
) -> Path:
    """Write a run folder atomically and return its path.

    Parameters
    ----------
    out_dir
        The run folder; an existing one is replaced only once the new one is complete.
    summary
        The JSON-able summary.
    placements, routes, stops
        Results to write as the contract's CSV files (each optional).
    extra
        More CSV files: ``{file_name: (columns, rows)}``.
    texts
        More text files (HTML, Markdown): ``{file_name: text}``.
    binaries
        More files written as bytes (PDF): ``{file_name: data}``.
    kind
        The folder's kind (``run``, ``sheets``, ``budgets`` …), written to its manifest.json
        (:mod:`transport.runs.manifest`), which lists every file with its sha256.

    Notes
    -----
    The files are written into ``.<name>.tmp-<pid>-<random>`` beside ``out_dir``, which then
    takes the place of ``out_dir`` in one atomic exchange (``renameat2(RENAME_EXCHANGE)`` on
    Linux; elsewhere two renames with SIGTERM/SIGINT held back between them). A run that
    fails or is stopped by a signal Python can catch removes its temporary folder; one killed
    outright (SIGKILL, power cut) may leave it behind, hidden, and the next run writing beside
    it removes it (:func:`clean_stale`). The previous run is never touched until the new one
    is complete.
    """
    target = Path(out_dir).resolve()
    make_private_dirs(target.parent)
    clean_stale(target.parent, name=target.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_TAG}{os.getpid()}-", dir=target.parent))
    try:
        if placements is not None:
            write_csv(tmp / "placements.csv", PLACEMENT_COLUMNS, placement_rows(placements))
            if placements.shortfall:
                write_csv(
                    tmp / "shortfall.csv",
                    SHORTFALL_COLUMNS,
                    [
                        (s.school_id, s.need, s.demand, s.capacity, s.missing)
                        for s in placements.shortfall
                    ],
                )
        if routes is not None:
            write_csv(tmp / "routes.csv", ROUTE_COLUMNS, route_rows(routes))
        if stops is not None:
            write_csv(tmp / "stops.csv", STOP_COLUMNS, stop_rows(stops))
        for name, (columns, rows) in (extra or {}).items():
            write_csv(tmp / name, columns, rows)
        for name, text in (texts or {}).items():
            write_text(tmp / name, text)
        for name, data in (binaries or {}).items():
            write_bytes(tmp / name, data)
        write_text(tmp / "summary.json", json.dumps(summary, indent=2, sort_keys=False) + "\n")
        write_manifest(tmp, kind=kind)
        os.chmod(tmp, 0o700)
        _replace_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the new run's leftovers, or the old run
    return target


def write_text(path: str | Path, text: str) -> None:
    """Write one text file, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, FILE_MODE)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write one binary file, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, FILE_MODE)


def make_private_dirs(folder: str | Path) -> None:
    """Create ``folder`` and any missing parents, the ones created readable by the owner only."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=DIR_MODE)


TMP_TAG = ".tmp-"
_STALE_TAGS = (TMP_TAG, ".old-", ".stage-")  # .stage-: transport.budgets.export
STALE_AFTER_S = 600.0  # a temporary folder without a process id: stale after this long


def clean_stale(folder: str | Path, *, name: str | None = None) -> list[Path]:
    """Remove temporary folders left in ``folder`` by runs that were killed outright.

    A temporary folder is ``.<run name><tag><pid>-<random>`` (tags ``.tmp-``, ``.old-``,
    ``.stage-``): it is stale when that process no longer runs (or, when the name carries no
    process id, when it is older than ``STALE_AFTER_S``). Only folders of the run ``name``
    are considered when it is given. Returns the folders removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        owner = _temp_owner(path.name, name)
        if owner is False:
            continue
        if owner is None:
            try:
                stale = time.time() - path.lstat().st_mtime > STALE_AFTER_S
            except OSError:
                continue
        else:
            stale = not _alive(owner)
        if stale:
            if path.is_symlink() or not path.is_dir():
                path.unlink(missing_ok=True)
            else:
                shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _temp_owner(file_name: str, name: str | None) -> int | None | bool:
    """The process id a temporary folder's name carries, None without one, False if not one."""
    if not file_name.startswith("."):
        return False
    for tag in _STALE_TAGS:
        head, sep, tail = file_name[1:].rpartition(tag)
        if sep and head and (name is None or head == name):
            pid = tail.split("-", 1)[0]
            return int(pid) if pid.isdigit() and "-" in tail else None
    return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _replace_dir(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target`` and remove the previous ``target``.

    ``target`` is never missing: on Linux the two folders are exchanged in one system call
    (``new`` then holds the previous run until it is removed); elsewhere SIGTERM and SIGINT
    are held back between the two renames.
    """
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=target.parent))
    old.rmdir()
    held = {signal.SIGTERM, signal.SIGINT}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            os.rename(old, target)
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    shutil.rmtree(old, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is not available."""
    if sys.platform != "linux":
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.ENOTSUP):
        return False  # not supported by this kernel or file system
    raise OSError(err, os.strerror(err), str(b))


@dataclass(frozen=True)
class RunFiles:
    """A run folder read back from its files (what a later stage or a checker starts from)."""

    folder: Path
    summary: dict[str, Any]
    placements: tuple[Placement, ...]
    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]


def read_run(run_dir: str | Path) -> RunFiles:
    """Read a run folder written by :func:`write_run` (routes and stops may be absent).

    Raises
    ------
    InputError
        When the folder, placements.csv or summary.json is missing or a file is malformed.
    RunChangedError
        When the folder's files no longer match its manifest.json (edited after writing).
    """
    folder = Path(run_dir)
    problems: list[Problem] = []
    for name in ("placements.csv", "summary.json"):
        if not (folder / name).exists():
            problems.append(Problem(name, None, None, f"missing from run folder {folder}"))
    if problems:
        raise InputError(problems)
    check_unchanged(folder)
    for name in ("placements.csv", "routes.csv", "stops.csv", "summary.json", MANIFEST):
        if (folder / name).is_file():
            record_input(folder / name, role="run")
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        placements = tuple(
            Placement(
                r["pupil_id"],
                r["school_id"],
                r["policy"],
                float(r["road_miles"]),
                float(r["direct_min"]),
                r.get("reason_code") or "",
                r.get("reason") or "",
                tuple(s for s in (r.get("nearer_full") or "").split(";") if s),
            )
            for r in _rows(folder / "placements.csv")
        )
        routes: tuple[Route, ...] = ()
        stops: tuple[Stop, ...] = ()
        if (folder / "routes.csv").exists():
            routes = tuple(
                Route(
                    r["route_id"],
                    r["school_id"],
                    r["vehicle_type"],
                    r["has_pa"] == "1",
                    tuple(p for p in r["pupils"].split(";") if p),
                    float(r["route_miles"]),
                    float(r["annual_cost"]),
                )
                for r in _rows(folder / "routes.csv")
            )
        if (folder / "stops.csv").exists():
            stops = tuple(
                Stop(
                    r["route_id"],
                    int(r["seq"]),
                    r["pupil_id"],
                    _minutes(r["pickup"]),
                    float(r["ride_min"]),
                )
                for r in _rows(folder / "stops.csv")
            )
    except (KeyError, ValueError, json.JSONDecodeError) as exc:
        raise InputError([Problem(str(folder), None, None, f"not a readable run: {exc}")]) from None
    return RunFiles(folder, summary, placements, routes, stops)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _minutes(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")[:2]
    return int(hours) * 60 + int(minutes)
