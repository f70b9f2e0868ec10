"""Write a run folder: the contract's CSV files and summary.json, atomically.

A run is written into a temporary folder beside its destination and moved into place only when
every file is complete, so a run that is killed never leaves a partial folder and never
destroys the previous run. Files are created readable by their owner only (pupil data is
special-category personal data). Where a folder may be written at all is decided by
:mod:`transport.runs.destination`; a lock (:mod:`transport.runs.lock`) keeps a second run from
writing the same destination at the same time.

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
import errno
import functools
import inspect
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from transport.audit import job_session
from transport.errors import OutputError
from transport.model import PlacementResult, RideExplanation, Route, Stop, format_hhmm
from transport.runs.atomic import atomic_open, atomic_write_bytes
from transport.runs.destination import (
    MARKER,
    Inputs,
    check_not_input,
    check_output_dir,
    make_private_dirs,
    private_tree,
    remove_created,
    write_marker,
)
from transport.runs.lock import output_lock, remove_stale_locks
from transport.runs.manifest import write_manifest
from transport.runs.read import RunFiles, read_run

__all__ = [
    "MARKER",
    "RunFiles",
    "claim_output",
    "clean_stale",
    "link_copy",
    "make_private_dirs",
    "read_run",
    "write_csv",
    "write_folder",
    "write_run",
    "write_text",
    "writes_output",
]

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
STOP_COLUMNS = (
    "route_id",
    "seq",
    "pupil_id",
    "pickup",
    "ride_min",
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
"""stops.csv: the contract's five columns, then each ride's limit and reason and the afternoon
run (:class:`transport.model.RideExplanation`; blank when a plan has none)."""
FILE_MODE = 0o600
DIR_MODE = 0o700
F = TypeVar("F", bound=Callable[..., Any])
MANIFEST_EXCLUDES: dict[str, tuple[str, ...]] = {"compare": ("cache",)}
"""Top-level entries of a folder kind that are not outputs (the compare stage cache)."""


def write_csv(
    path: str | Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    staged: bool = False,
) -> None:
    """Write one CSV file, readable by its owner only: atomically (:mod:`.atomic`), or — with
    ``staged``, for a file of a folder being built by :func:`write_folder`, which swaps the
    whole folder in one step — directly."""
    import csv

    with _open_text(path, staged=staged, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def write_text(path: str | Path, text: str, *, staged: bool = False) -> None:
    """Write one text file, readable by its owner only (``staged``: see :func:`write_csv`)."""
    with _open_text(path, staged=staged) as fh:
        fh.write(text)


def _open_text(path: str | Path, *, staged: bool, newline: str | None = None) -> Any:
    if not staged:
        return atomic_open(path, newline=newline)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    return open(fd, "w", encoding="utf-8", newline=newline)


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


def stop_rows(
    stops: Sequence[Stop], explanations: Sequence[RideExplanation] = ()
) -> list[tuple[Any, ...]]:
    """stops.csv's rows (``explanations`` in the order of ``stops``, or none)."""
    for s in stops:  # the routing stage unroutes pupils whose pickup would fall before 00:00
        if not (math.isfinite(s.pickup) and 0 <= s.pickup < 24 * 60):
            raise ValueError(f"internal error: a pickup at {s.pickup!r} minutes after midnight")
    why = dict(zip(((e.route_id, e.pupil_id) for e in explanations), explanations, strict=True))
    rows = []
    for s in stops:
        base = (s.route_id, s.seq, s.pupil_id, format_hhmm(s.pickup), f"{s.ride_min:.1f}")
        e = why.get((s.route_id, s.pupil_id))
        rows.append(base + (explanation_cells(e) if e is not None else ("",) * 11))
    return rows


def explanation_cells(e: RideExplanation) -> tuple[str, ...]:
    """The limit, reason and afternoon cells of one stop (money 2 decimals, minutes 1)."""
    saving = f"{e.sharing_saving:.2f}" if e.sharing_saving is not None else ""
    dropoff = format_hhmm(e.dropoff) if e.dropoff is not None else ""
    pm_ride = f"{e.pm_ride_min:.1f}" if e.pm_ride_min is not None else ""
    return (
        f"{e.limit_min:g}",
        f"{e.direct_min:.1f}",
        f"{e.over_min:.1f}",
        e.reason_code,
        e.reason,
        saving,
        dropoff,
        pm_ride,
        f"{e.pm_over_min:.1f}",
        e.pm_reason_code,
        e.pm_reason,
    )


def write_run(
    out_dir: str | Path,
    *,
    summary: dict[str, Any],
    placements: PlacementResult | None = None,
    routes: Sequence[Route] | None = None,
    stops: Sequence[Stop] | None = None,
    explanations: Sequence[RideExplanation] = (),
    extra: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] | None = None,
    texts: dict[str, str] | None = None,
    binaries: dict[str, bytes] | None = None,
    kind: str = "run",
) -> Path:
    """Write a run folder atomically and return its path.

    Parameters
    ----------
    out_dir
        The run folder; an existing one is replaced only once the new one is complete, and
        only when it is one the engine may replace (:func:`~transport.runs.destination.
        check_output_dir`).
    summary
        The JSON-able summary (strict JSON: a non-finite number is an error).
    placements, routes, stops
        Results to write as the contract's CSV files (each optional).
    explanations
        Each stop's limit, reason and afternoon run (``RoutePlan.explanations``), written in
        stops.csv's columns after the contract's.
    extra
        More CSV files: ``{file_name: (columns, rows)}``.
    texts
        More text files (HTML, Markdown): ``{file_name: text}``.
    binaries
        More files written as bytes (PDF): ``{file_name: data}``.
    kind
        The folder's kind, written to its marker (``run``, ``sheets``, ``budgets``, ``tender``,
        …).

    Notes
    -----
    The files are written into ``.<name>.tmp-<pid>-<random>`` beside ``out_dir``, which then
    takes the place of ``out_dir`` in one atomic exchange (``renameat2(RENAME_EXCHANGE)`` on
    Linux; elsewhere two renames with SIGTERM/SIGINT held back between them). A run that
    fails or is stopped by a signal Python can catch removes its temporary folder; one killed
    outright (SIGKILL, power cut) may leave it behind, hidden, and the next run writing beside
    it removes it (:func:`clean_stale`). The previous run is never touched until the new one
    is complete. A full disk or a refused write raises :class:`~transport.errors.OutputError`.
    """

    def build(tmp: Path) -> None:
        if placements is not None:
            write_csv(
                tmp / "placements.csv", PLACEMENT_COLUMNS, placement_rows(placements), staged=True
            )
            if placements.shortfall:
                write_csv(
                    tmp / "shortfall.csv",
                    SHORTFALL_COLUMNS,
                    [
                        (s.school_id, s.need, s.demand, s.capacity, s.missing)
                        for s in placements.shortfall
                    ],
                    staged=True,
                )
        if routes is not None:
            write_csv(tmp / "routes.csv", ROUTE_COLUMNS, route_rows(routes), staged=True)
        if stops is not None:
            rows = stop_rows(stops, explanations)
            write_csv(tmp / "stops.csv", STOP_COLUMNS, rows, staged=True)
        for name, (columns, rows) in (extra or {}).items():
            write_csv(tmp / name, columns, rows, staged=True)
        for name, text in (texts or {}).items():
            write_text(tmp / name, text, staged=True)
        for name, data in (binaries or {}).items():
            write_bytes(tmp / name, data, staged=True)
        text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=False)
        write_text(tmp / "summary.json", text + "\n", staged=True)

    return write_folder(out_dir, build, kind=kind)


@contextlib.contextmanager
def claim_output(out_dir: str | Path, *, kind: str, inputs: Inputs = ()) -> Iterator[Path]:
    """Check a destination folder, create its parents (0700) and hold its lock.

    Yields the destination's absolute path. When the block fails, the parent folders it
    created are removed again. Temporary folders and lock files left beside the destination by
    runs killed outright are removed first.

    Raises
    ------
    OutputError
        When the folder may not be written (see :mod:`transport.runs.destination`) or
        another run is writing it.
    """
    target = check_output_dir(out_dir, kind=kind, inputs=inputs)
    try:
        created = make_private_dirs(target.parent)
    except OSError as exc:
        raise OutputError(f"cannot create {target.parent}: {exc.strerror}") from None
    try:
        with output_lock(target, what="output folder"):
            clean_stale(target.parent, name=target.name)
            yield target
    except BaseException:
        remove_created(created)
        raise


def writes_output(
    param: str, *, kind: str, inputs: Mapping[str, str] | None = None
) -> Callable[[F], F]:
    """Decorate a job that writes the folder named by its argument ``param``.

    The job runs in the command's audit session (or one of its own, called from the library:
    :func:`transport.audit.job_session`), which gathers its manifest. Before the job starts,
    the destination is checked against the job's inputs (``inputs``
    maps an argument name to how it is described, e.g. ``{"data_dir": "the data folder"}``)
    and locked until the job returns (:func:`claim_output`), so that a bad destination is
    refused before any work and two runs never write the same folder at once. A job's
    ``cache_dir`` (the road-graph cache, which only ever adds files of its own) must not be,
    hold or lie inside one of those inputs either (:func:`~transport.runs.destination.
    check_not_input`).
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            read = [(desc, bound.arguments.get(name)) for name, desc in (inputs or {}).items()]
            if bound.arguments.get("cache_dir") is not None:
                check_not_input(bound.arguments["cache_dir"], inputs=read, what="cache folder")
            with job_session(), claim_output(bound.arguments[param], kind=kind, inputs=read):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def write_folder(
    out_dir: str | Path,
    build: Callable[[Path], None],
    *,
    kind: str,
    inputs: Inputs = (),
    keep_foreign: bool = False,
) -> Path:
    """Build a folder with ``build(tmp)`` in a temporary folder, then swap it into place.

    The one way the engine writes a folder: the destination is checked and locked
    (:func:`claim_output`), ``build`` fills a hidden temporary folder beside it, manifest.json
    (:mod:`transport.runs.manifest`: the command, its inputs and settings, the sha256 of every
    file built) and the marker (``.sen-transport``, listing the files built) are added, every
    file made 0600 and folder 0700, and the folder takes the destination's place in one atomic
    step. ``keep_foreign``
    (data folders) carries the files of the previous folder that ``build`` did not write (a
    README) into the new one as hard links: they are never rewritten.

    Raises
    ------
    OutputError
        When the destination may not be written, or the disk refuses the write (full,
        read-only, permission denied): the previous folder is then unchanged and no temporary
        folder is left.
    """
    with claim_output(out_dir, kind=kind, inputs=inputs) as target:
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}{TMP_TAG}{os.getpid()}-", dir=target.parent)
        )
        try:
            build(tmp)
            foreign = []
            if keep_foreign and target.is_dir():
                foreign = sorted(set(os.listdir(target)) - set(os.listdir(tmp)) - {MARKER})
            write_manifest(tmp, kind=kind, exclude=(*MANIFEST_EXCLUDES.get(kind, ()), *foreign))
            write_marker(tmp, kind)
            private_tree(tmp)
            if keep_foreign and target.is_dir():
                made = set(os.listdir(tmp))
                for name in sorted(os.listdir(target)):
                    if name not in made:
                        _carry(target / name, tmp / name)
            _replace_dir(tmp, target)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno == errno.ENOSPC:
                reason = "the disk is full"
            raise OutputError(
                f"cannot write {target}: {reason}; nothing was changed (the previous output, "
                "if any, is as it was)"
            ) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the new run's leftovers, or the old run
    return target


def link_copy(src: str | Path, dst: str | Path) -> None:
    """Copy the folder ``src`` to ``dst`` as hard links (a copy where links are impossible).

    For caches carried into a new folder: their entries are only ever replaced whole (never
    rewritten in place), so sharing the files is safe and costs no space.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir() or src.is_symlink():
        return
    for dirpath, dirnames, filenames in os.walk(src):
        here = dst / os.path.relpath(dirpath, src)
        here.mkdir(mode=DIR_MODE, exist_ok=True)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            try:
                os.link(path, here / name)
            except OSError:
                shutil.copy2(path, here / name)


def _carry(src: Path, dst: Path) -> None:
    """A file the engine did not write, carried into the new folder unchanged."""
    if src.is_symlink() or not src.is_file():
        raise OutputError(
            f"{src.parent} holds {src.name!r}, which is not a file sen-transport wrote: move it "
            "away first"
        )
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def write_bytes(path: str | Path, data: bytes, *, staged: bool = False) -> None:
    """Write one binary file, readable by its owner only (``staged``: see :func:`write_csv`)."""
    if not staged:
        atomic_write_bytes(path, data)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    with open(fd, "wb") as fh:
        fh.write(data)


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
    removed += remove_stale_locks(folder)
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
            return int(pid) if pid.isascii() and pid.isdigit() and "-" in tail else None
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
