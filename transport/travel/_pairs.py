"""Node pairs already computed on a road graph, kept in append-only cache segments.

Seconds are stored before the peak factor (a uniform factor changes no shortest path), so every
scenario on the same graph shares them.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np

from transport.travel._files import arrays_digest, load_npz, save_npz

log = logging.getLogger("transport.travel.network")

COMPACT_SEGMENTS = 32


class PairStore:
    """Seconds and metres between graph nodes, looked up by ``(source, target)`` node index.

    Parameters
    ----------
    folder
        Where the segments of this graph live; ``None`` keeps the store in memory only.
    n_nodes
        Nodes of the graph, so that a pair's key is ``source * n_nodes + target``.
    """

    def __init__(self, folder: Path | None, n_nodes: int) -> None:
        self.folder = folder
        self.n = int(n_nodes)
        self.keys = np.empty(0, dtype=np.int64)
        self.seconds = np.empty(0, dtype=np.float64)
        self.metres = np.empty(0, dtype=np.float64)
        if folder is not None:
            self._read()

    def __len__(self) -> int:
        return int(self.keys.size)

    def _read(self) -> None:
        assert self.folder is not None
        paths = sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []
        parts = [z for z in map(load_npz, paths) if z is not None and "keys" in z]
        if parts:
            self._merge(
                np.concatenate([z["keys"] for z in parts]),
                np.concatenate([z["seconds"] for z in parts]),
                np.concatenate([z["metres"] for z in parts]),
            )
        if len(paths) > COMPACT_SEGMENTS and self.keys.size:
            merged = self._write(self.keys, self.seconds, self.metres)
            for p in paths:
                if merged is not None and p != merged:
                    with contextlib.suppress(OSError):
                        p.unlink()
        log.info("pair cache: %d node pairs from %d segments", self.keys.size, len(paths))

    def _merge(self, keys: np.ndarray, seconds: np.ndarray, metres: np.ndarray) -> None:
        all_keys = np.concatenate([self.keys, keys])
        uniq, first = np.unique(all_keys, return_index=True)
        self.seconds = np.concatenate([self.seconds, seconds])[first]
        self.metres = np.concatenate([self.metres, metres])[first]
        self.keys = uniq

    def _write(self, keys: np.ndarray, seconds: np.ndarray, metres: np.ndarray) -> Path | None:
        assert self.folder is not None
        path = self.folder / f"{arrays_digest([keys, seconds, metres])[:24]}.npz"
        try:
            save_npz(path, keys=keys, seconds=seconds, metres=metres)
        except OSError as exc:  # a read-only or full cache folder must not stop a run
            log.warning("could not write the pair cache in %s (%s)", self.folder, exc)
            return None
        return path

    def lookup(self, sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds, metres)`` matrices for every source × target; NaN where not known."""
        keys = sources.astype(np.int64)[:, None] * self.n + targets.astype(np.int64)[None, :]
        seconds = np.full(keys.shape, np.nan)
        metres = np.full(keys.shape, np.nan)
        if self.keys.size and keys.size:
            pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
            hit = self.keys[pos] == keys
            seconds[hit] = self.seconds[pos[hit]]
            metres[hit] = self.metres[pos[hit]]
        return seconds, metres

    def add(
        self, sources: np.ndarray, targets: np.ndarray, seconds: np.ndarray, metres: np.ndarray
    ) -> None:
        """Remember finite pairs (flat arrays of equal length) and write them as one segment."""
        ok = np.isfinite(seconds)
        if not ok.any():
            return
        keys = sources[ok].astype(np.int64) * self.n + targets[ok].astype(np.int64)
        keys, first = np.unique(keys, return_index=True)
        sec, met = seconds[ok][first], metres[ok][first]
        self._merge(keys, sec, met)
        if self.folder is not None:
            self._write(keys, sec, met)
