"""Shortest-path trees on travel time over a road graph's CSR arrays, and which trees to grow.

:class:`Trees` grows trees and sums metres along them, in this process or in worker processes
(:func:`grow_task` through a :class:`transport.executor.Executor`, the trees shared once per
worker); :func:`cover` chooses which trees a matrix needs.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

BATCH_CELLS = 6_000_000
"""Trees × nodes grown before their paths are walked (the predecessor array of one batch)."""


class Trees:
    """Shortest-path trees on travel time, on a road graph's CSR arrays or on their transpose.

    Metres are summed along each tree's time-shortest paths (not a second search on
    length, which would pair a quickest time with a shortest distance of another path): from
    each target, the predecessor array is walked back to the root, all pairs of a batch at
    once, each step finding the tree edge in its tail node's CSR row.
    """

    def __init__(
        self, indptr: np.ndarray, indices: np.ndarray, seconds: np.ndarray, metres: np.ndarray
    ) -> None:
        self.n = n = indptr.size - 1
        self.fwd = sp.csr_matrix((seconds, indices, indptr), shape=(n, n))
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.metres = metres

    @functools.cached_property
    def rev(self) -> sp.csr_matrix:
        return self.fwd.T.tocsr()

    def distances(self, node: int, *, reverse: bool) -> np.ndarray:
        """Seconds from ``node`` to every node (from every node to ``node`` when reversed)."""
        return dijkstra(self.rev if reverse else self.fwd, indices=node)

    def grow(
        self,
        sources: np.ndarray,
        targets: np.ndarray,
        *,
        reverse: bool,
        limits: np.ndarray,
        cols: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and metres, sources × targets, along time-shortest paths.

        Source ``i``'s search stops at ``limits[i]`` seconds, a radius known to reach every
        target. When the sources are targets too (``cols[i]`` is source ``i``'s column), the
        rows already grown give a tighter guess, assuming roads about as quick both ways:
        ``d(s, t) <= d(s, a) + d(a, t)`` with ``d(s, a) ~ d(a, s)``. A tree grown to a guess is
        kept only when every target came within it (it is then exact); otherwise it is grown
        again to the safe radius. On the transposed graph (``reverse``) row ``i`` holds the
        travel from each target *to* ``sources[i]``.
        """
        seconds = np.empty((sources.size, targets.size))
        metres = np.empty((sources.size, targets.size))
        per_batch = max(1, BATCH_CELLS // self.n)
        for lo in range(0, sources.size, per_batch):
            hi = min(lo + per_batch, sources.size)
            preds = []
            for i in range(lo, hi):
                source, limit = int(sources[i]), float(limits[i])
                found = None
                if cols is not None and i >= 2:
                    via = seconds[:i, cols[i], None] + seconds[:i]
                    guess = float(via.min(axis=0).max()) * 1.05 + 1.0
                    if guess < limit:
                        found = self.tree(source, targets, reverse=reverse, limit=guess)
                        if not np.isfinite(found[0]).all():
                            found = None
                if found is None:
                    found = self.tree(source, targets, reverse=reverse, limit=limit)
                if not np.isfinite(found[0]).all() and np.isfinite(limit):
                    found = self.tree(source, targets, reverse=reverse)  # a cut-off graph
                seconds[i] = found[0]
                preds.append(found[1])
            metres[lo:hi] = self._walk(np.stack(preds), targets, reverse)
        return seconds, metres

    def tree(
        self, source: int, targets: np.ndarray, *, reverse: bool, limit: float = np.inf
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from ``source`` to each target (on the transposed graph: from each target
        to ``source``) and the tree's predecessor array; the search stops at ``limit`` seconds
        and targets beyond it come back infinite."""
        graph = self.rev if reverse else self.fwd
        dist, pred = dijkstra(graph, indices=source, return_predecessors=True, limit=limit)
        return dist[targets], pred

    def _walk(self, pred: np.ndarray, targets: np.ndarray, reverse: bool) -> np.ndarray:
        n, b, t = self.n, pred.shape[0], targets.size
        flat = pred.ravel()
        base = np.repeat(np.arange(b, dtype=np.int64) * n, t)
        cur = np.tile(targets.astype(np.int64), b)
        slot = np.arange(b * t)
        out = np.zeros(b * t)
        while slot.size:
            prev = flat[base + cur].astype(np.int64)
            live = prev >= 0  # the root and unreached nodes have no predecessor
            if not live.all():
                base, cur, slot, prev = base[live], cur[live], slot[live], prev[live]
            tail, head = (cur, prev) if reverse else (prev, cur)
            out[slot] += self.metres[self._edge(tail, head)]
            cur = prev
        return out.reshape(b, t)

    def _edge(self, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Edge positions of ``tail → head`` pairs: a scan of the (short) CSR rows."""
        pos = self.indptr[tail]
        todo = np.flatnonzero(self.indices[pos] != head)
        step = 1
        while todo.size:
            cand = pos[todo] + step
            hit = self.indices[cand] == head[todo]
            pos[todo[hit]] = cand[hit]
            todo = todo[~hit]
            step += 1
        return pos


def grow_task(trees: Trees, task: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Trees.grow` as an executor task: ``trees`` is shared, ``task`` its arguments."""
    sources, targets, reverse, limits, cols = task
    return trees.grow(sources, targets, reverse=reverse, limits=limits, cols=cols)


def cover(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns whose trees between them cover every missing pair, chosen greedily
    (the row or column with the most pairs still missing first; rows win ties)."""
    m = missing.copy()
    row_n, col_n = m.sum(axis=1), m.sum(axis=0)
    rows: list[int] = []
    cols: list[int] = []
    while m.size:
        r, c = int(row_n.argmax()), int(col_n.argmax())
        if row_n[r] == 0:
            break
        if row_n[r] >= col_n[c]:
            rows.append(r)
            col_n -= m[r]
            m[r] = False
            row_n[r] = 0
        else:
            cols.append(c)
            row_n -= m[:, c]
            m[:, c] = False
            col_n[c] = 0
    return np.array(sorted(rows), dtype=np.int64), np.array(sorted(cols), dtype=np.int64)
