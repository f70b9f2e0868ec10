"""Private helpers of the road-network backend: OSM maps, shortest-path trees and the cache.

OSM maps: reading an OSM XML file keeping only drivable ways, downloading a place (kept as
GraphML), edge speeds with scenario overrides, and atomic GraphML writes.

:class:`Trees` grows shortest-path trees on travel time over the CSR arrays of a road graph
and sums metres along them, in this process or in worker processes (:func:`worker_pool`);
:func:`cover` chooses which trees a matrix needs.

The cache holds two kinds of file, both written atomically (a temporary file in the same
folder, then :func:`os.replace`), so that a run killed half-way never leaves a torn file and
two runs sharing a folder never read one:

``graphs/<key>.npz``
    A built road graph as arrays (see :class:`transport.travel.network.RoadGraph`), keyed by a
    digest of the map's bytes (or the place name) and the speed overrides.
``pairs/<graph digest>/<segment>.npz``
    Travel seconds and metres between graph nodes already computed, in append-only segments.
    Seconds are stored before the peak factor (a uniform factor changes no shortest path), so
    every scenario on the same graph shares them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from transport.errors import TravelModelError

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger("transport.travel.network")

CACHE_ENV = "SEN_TRANSPORT_CACHE"
FORMAT_VERSION = 1
COMPACT_SEGMENTS = 32
GRID_CRS = "EPSG:27700"
BATCH_CELLS = 6_000_000
"""Trees × nodes grown before their paths are walked (the predecessor array of one batch)."""


UK_SPEEDS_KPH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 65.0,
    "primary_link": 45.0,
    "secondary": 55.0,
    "secondary_link": 40.0,
    "tertiary": 48.0,
    "tertiary_link": 35.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 15.0,
    "road": 30.0,
}
"""Speeds (km/h) for edges without a usable ``maxspeed`` tag, by OSM ``highway`` class."""

_NOT_DRIVABLE = frozenset(
    ("abandoned", "bridleway", "bus_guideway", "busway", "construction", "corridor", "cycleway")
    + ("elevator", "escalator", "footway", "no", "path", "pedestrian", "planned", "platform")
    + ("proposed", "raceway", "razed", "steps", "track")
)
_PRIVATE_SERVICE = frozenset(
    ("alley", "driveway", "emergency_access", "parking", "parking_aisle", "private")
)


# --------------------------------------------------------------------------------------------
# Map sources, coordinates, OSM maps


def one_source(**sources: Any) -> tuple[str, Any]:
    """The one map source given, as ``(keyword, value)``."""
    given = [(k, v) for k, v in sources.items() if v not in (None, "")]
    if len(given) != 1:
        names = ", ".join(sources)
        raise TravelModelError(f"give exactly one map source ({names}); got {len(given)}")
    return given[0]


def existing_file(value: str | Path, what: str) -> Path:
    """``value`` as the path of an existing file."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise TravelModelError(f"{what} not found: {path}")
    return path


def check_speeds(speeds: Mapping[str, float] | None) -> dict[str, float]:
    """Speed overrides as a sorted dict of floats, each between 1 and 130 km/h."""
    out = {str(k): float(v) for k, v in (speeds or {}).items()}
    bad = [f"{k}={v:g}" for k, v in out.items() if not 1.0 <= v <= 130.0]
    if bad:
        raise TravelModelError(f"speeds must be between 1 and 130 km/h: {', '.join(bad)}")
    return dict(sorted(out.items()))


@functools.lru_cache(maxsize=1)
def _grid_transformer() -> Any:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", GRID_CRS, always_xy=True)


def to_grid(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """British National Grid metres ``(x, y)`` of WGS84 points."""
    x, y = _grid_transformer().transform(lon, lat)
    return np.column_stack([x, y])


def spatial_order(xy: np.ndarray) -> np.ndarray:
    """Indices of points along a Z-order (Morton) curve over their bounding box."""
    span = max(float(np.ptp(xy, axis=0).max()), 1.0)
    q = ((xy - xy.min(axis=0)) / span * 65535).astype(np.uint64)
    code = np.zeros(len(xy), dtype=np.uint64)
    for bit in range(16):
        one = np.uint64(1)
        code |= ((q[:, 0] >> np.uint64(bit)) & one) << np.uint64(2 * bit)
        code |= ((q[:, 1] >> np.uint64(bit)) & one) << np.uint64(2 * bit + 1)
    return np.argsort(code, kind="stable")


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_map(reader: Any, path: Path, what: str) -> nx.MultiDiGraph:
    """``reader(path)``, with any failure to parse reported as a :class:`TravelModelError`."""
    try:
        return reader(path)
    except Exception as exc:  # parsers raise many types; every one means an unusable file
        raise TravelModelError(f"cannot read {what} {path}: {type(exc).__name__}: {exc}") from exc


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _drivable(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Drop ways a car may not use (OSMnx's ``drive`` filter, as far as the tags kept allow)."""
    drop = []
    for u, v, k, d in G.edges(keys=True, data=True):
        hwy = d.get("highway")
        classes = set(hwy) if isinstance(hwy, list) else {hwy}
        if (
            classes & _NOT_DRIVABLE
            or None in classes
            or d.get("area") == "yes"
            or d.get("access") in ("private", "no")
            or d.get("service") in _PRIVATE_SERVICE
        ):
            drop.append((u, v, k))
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    return G


def graph_from_xml(path: Path) -> nx.MultiDiGraph:
    """The drivable ways of an OSM XML file (``.bz2``/``.gz`` read directly), simplified."""
    import osmnx as ox

    G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    return ox.simplify_graph(_drivable(G))


def graph_from_place(place: str, root: Path) -> nx.MultiDiGraph:
    """OSMnx's ``drive`` network of a place: downloaded once, then from ``root/places``."""
    import osmnx as ox

    saved = root / "places" / f"{text_digest('place', place)[:24]}.graphml"
    if saved.is_file():
        log.info("road network of %r from %s", place, saved)
        return read_map(ox.load_graphml, saved, "cached GraphML")
    old = ox.settings.cache_folder
    ox.settings.cache_folder = str(root / "osmnx-http")
    try:
        G = ox.graph_from_place(place, network_type="drive")
    except Exception as exc:  # offline, place not found, server error: the fix is the same
        raise TravelModelError(
            f"could not download the road network of {place!r} from OpenStreetMap "
            f"({type(exc).__name__}: {exc}). This needs the internet once: on a connected "
            f"machine run\n  sen-transport graph build --place {place!r} --out county.graphml\n"
            "then run offline with --network osm --graphml county.graphml"
        ) from exc
    finally:
        ox.settings.cache_folder = old
    save_graphml(G, saved)
    return G


def add_speeds(G: nx.MultiDiGraph, overrides: dict[str, float]) -> nx.MultiDiGraph:
    """``speed_kph`` (``maxspeed``, else :data:`UK_SPEEDS_KPH`; ``overrides`` replace whole
    classes) and ``travel_time`` on every edge; a merged edge counts as its main class."""
    import osmnx as ox

    if G.number_of_edges() == 0:
        raise TravelModelError("the map holds no drivable roads")
    rank = {hwy: i for i, hwy in enumerate(UK_SPEEDS_KPH)}
    for *_, d in G.edges(data=True):  # merged classes come in set order: most important first
        if isinstance(d.get("highway"), list):
            d["highway"] = sorted(set(d["highway"]), key=lambda h: (rank.get(h, len(rank)), h))
    G = ox.add_edge_speeds(G, hwy_speeds={**UK_SPEEDS_KPH, **overrides}, fallback=30.0)
    if overrides:
        for *_, d in G.edges(data=True):
            hwy = _first(d.get("highway"))
            if hwy in overrides:
                d["speed_kph"] = overrides[hwy]
    return ox.add_edge_travel_times(G)


def save_graphml(G: nx.MultiDiGraph, path: Path) -> Path:
    """Save a graph as GraphML atomically, readable by everyone the umask allows."""
    import osmnx as ox

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ox.save_graphml(G, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # a shared file, not mkstemp's private 0600
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return path


# --------------------------------------------------------------------------------------------
# Cache folder, digests, files


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
    """Write arrays to ``path`` atomically (temporary file in the same folder, then replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]  # stubs: allow_pickle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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


_WORKER: dict[str, Trees] = {}


def worker_init(trees: Trees) -> None:
    """Set up a worker process (under ``fork`` the trees are shared, not copied)."""
    _WORKER["trees"] = trees


def worker_grow(task: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Trees.grow` in a worker process."""
    sources, targets, reverse, limits, cols = task
    return _WORKER["trees"].grow(sources, targets, reverse=reverse, limits=limits, cols=cols)


def worker_pool(workers: int, trees: Trees) -> ProcessPoolExecutor:
    """Worker processes holding ``trees``: forked on Linux (the graph is shared, not copied)
    unless threads are running, else started by a fork server."""
    linux_fork = sys.platform.startswith("linux") and threading.active_count() == 1
    methods = multiprocessing.get_all_start_methods()
    method = "fork" if linux_fork else "forkserver" if "forkserver" in methods else "spawn"
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=worker_init,
        initargs=(trees,),
    )


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
