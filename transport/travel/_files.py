"""The road-network cache folder: where it is, digests that key its files, ``.npz`` files.

The cache holds two kinds of file, both written atomically (:mod:`transport.runs.atomic`), so
that a run killed half-way never leaves a torn file and two runs sharing a folder never read
one:

``graphs/<key>.npz``
    A built road graph as arrays (see :class:`transport.travel.network.RoadGraph`), keyed by a
    digest of the map's bytes (or the place name) and the speed overrides.
``pairs/<graph digest>/<segment>.npz``
    Travel seconds and metres between graph nodes already computed, in append-only segments
    (:class:`transport.travel._pairs.PairStore`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from transport.runs.atomic import atomic_write_with

log = logging.getLogger("transport.travel.network")

CACHE_ENV = "SEN_TRANSPORT_CACHE"
FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$SEN_TRANSPORT_CACHE`` when set, else ``~/.cache/sen-transport``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sen-transport"


def resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    """The cache folder to use: ``cache_dir`` or the default."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def text_digest(*parts: Any) -> str:
    """SHA-256 of JSON-serialisable parts (dict keys sorted), with the cache format version."""
    blob = json.dumps([FORMAT_VERSION, *parts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def arrays_digest(arrays: Iterable[np.ndarray]) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays to a compressed ``.npz`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_with(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an ``.npz`` file, or ``None`` when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable cache file %s (%s)", path, exc)
        return None
