"""Atomic file writes: the one helper every writer of the engine uses.

A file is written to a hidden temporary file beside its destination, flushed to disk and then
renamed over the destination in one step, so a reader never sees half a file and a run killed
half-way (or a full disk) leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
"""Files the engine writes are readable by their owner only (pupil data is personal data)."""


@contextlib.contextmanager
def atomic_open(
    path: str | Path, *, mode: int = FILE_MODE, binary: bool = False, newline: str | None = None
) -> Iterator[IO]:
    """Open a temporary file that takes the place of ``path`` when the block ends without error.

    Parameters
    ----------
    path
        The destination file; its folder must exist.
    mode
        Permission bits of the file written (default 0600).
    binary
        Open in binary mode; text mode is UTF-8.
    newline
        Passed to :func:`open` in text mode (``""`` for the csv module).

    Notes
    -----
    On any exception (or a signal that unwinds) the temporary file is removed and ``path`` is
    left untouched.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        if binary:
            fh: IO = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, *, mode: int = FILE_MODE) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_open(path, mode=mode) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, mode=mode, binary=True) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_with(
    path: str | Path, write: Callable[[IO], None], *, mode: int = FILE_MODE, binary: bool = True
) -> Path:
    """Call ``write(fh)`` on a temporary file that then atomically becomes ``path``.

    For writers that want a file object (``numpy.savez``, ``networkx.write_graphml``).
    """
    with atomic_open(path, mode=mode, binary=binary) as fh:
        write(fh)
    return Path(path)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, mode: int = FILE_MODE) -> Iterator[Path]:
    """A fresh temporary path that takes the place of ``path`` when the block ends without error.

    For writers that insist on a file name rather than a file object (GDAL's GeoPackage driver,
    ``osmnx.save_graphml``). The name keeps ``path``'s suffix, in a private folder beside
    ``path``; on any exception the folder is removed and ``path`` is left untouched.
    """
    target = Path(path)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp = folder / f"part{target.suffix}"
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
