"""Locks: one run at a time writes a destination.

A destination ``D`` is locked with ``fcntl.flock`` on the hidden file ``.D.sen-transport.lock``
beside it,
which holds the locking process id. A second run asking for the same lock does not wait for
a solve that may take many minutes: it stops at once with
:class:`~transport.errors.OutputError` naming the destination and the process writing it.
The lock file is removed when the lock is released; one left by a run killed outright holds
no lock (the kernel releases it with the process) and is removed by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from transport.errors import OutputError

LOCK_SUFFIX = ".sen-transport.lock"
_HELD: dict[Path, int] = {}  # lock files this process holds → their descriptors


def lock_path(target: str | Path) -> Path:
    """The lock file of a destination: ``.NAME.sen-transport.lock`` in the same folder."""
    target = Path(target)
    return target.parent / f".{target.name}{LOCK_SUFFIX}"


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return f" (process {int(text)})"
    return ""


def try_lock(path: Path) -> int | None:
    """Lock ``path`` (created if missing) without waiting: its descriptor, or ``None`` when
    another process holds it. The file is the one at ``path`` when this returns."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return None
            raise
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # removed or replaced by its last holder meanwhile: lock the new one


@contextlib.contextmanager
def output_lock(target: str | Path, *, what: str = "output", wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the lock of ``target`` (its folder must exist) for the ``with`` block.

    Re-entrant within a process: a job that holds the lock may call a writer that asks for it.
    ``wait_s``: how long to wait for another process's lock (for locks held an instant, such
    as the ``latest`` link's); 0 refuses at once.

    Raises
    ------
    OutputError
        When another process holds it (still, after ``wait_s``).
    """
    path = lock_path(target)
    if path in _HELD:
        yield path
        return
    deadline = time.monotonic() + wait_s
    try:
        fd = try_lock(path)
        while fd is None and time.monotonic() < deadline:
            time.sleep(0.05)
            fd = try_lock(path)
    except OSError as exc:
        raise OutputError(f"cannot lock {what} {target}: {exc.strerror}") from None
    if fd is None:
        holder = ""
        with contextlib.suppress(OSError):
            probe = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            holder = _holder(probe)
            os.close(probe)
        raise OutputError(
            f"another sen-transport run{holder} is writing {what} {target}: wait for it to "
            "finish, or write elsewhere"
        )
    _HELD[path] = fd
    try:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        del _HELD[path]
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still locked, so no one locks the file being removed
        os.close(fd)


def remove_stale_locks(folder: str | Path) -> list[Path]:
    """Remove lock files in ``folder`` that no process holds (left by runs killed outright)."""
    removed: list[Path] = []
    folder = Path(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(".") and name.endswith(LOCK_SUFFIX)):
            continue
        path = folder / name
        if path in _HELD or not path.is_file() or path.is_symlink():
            continue
        try:
            fd = try_lock(path)
        except OSError:
            continue
        if fd is None:
            continue
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed.append(path)
        os.close(fd)
    return removed
