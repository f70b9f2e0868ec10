"""Road-network travel: miles and minutes along OpenStreetMap roads, the second travel backend.

:class:`RoadNetworkModel` implements the :class:`~transport.travel.TravelModel` protocol, so
placement and routing use it exactly as they use the crow-fly model.

Pipeline
--------
1. :func:`load_graph` builds a drivable ``networkx.MultiDiGraph`` with OSMnx from an OSM XML
   file (``.osm``, ``.osm.bz2``, ``.osm.gz``), a saved GraphML or a place name (online), adds
   edge speeds (km/h) and travel times (s), and keeps the largest strongly connected part, so
   every pair of nodes has a path.
2. :class:`RoadGraph` holds it as compact arrays: node coordinates and one edge per ``(u, v)``
   in CSR form, the quickest of any parallel edges, with its seconds and metres.
   :func:`load_road_graph` caches these arrays on disk, keyed by the map's bytes (or place
   name) and the speed overrides.
3. :meth:`RoadNetworkModel.travel_matrix` snaps points to their nearest node (a k-d tree on
   British National Grid coordinates), then grows one shortest-path tree on travel time per
   distinct source node with :func:`scipy.sparse.csgraph.dijkstra` — from the origins, or from
   the destinations on the transposed graph when those are fewer (placement asks 4,200 pupils
   × 100 schools: 100 trees). Metres are summed along each time-shortest path by walking the
   predecessor arrays back from the targets, vectorised over all pairs of a batch: the length
   of the quickest path, not the shortest length. Pairs already computed on the same graph
   come from the pair cache, so a nightly run only grows trees for what changed.
   A large call shares its trees among worker processes (SciPy's Dijkstra holds the GIL).

The peak factor multiplies every travel time; a uniform factor changes no shortest path, so
cached pairs are stored without it and shared by every scenario on the same graph.
"""

from __future__ import annotations

import json
import logging
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from transport.audit import record_digest
from transport.errors import FarFromRoadWarning, TravelModelError
from transport.executor import LocalExecutor, cpu_count
from transport.scenario import PEAK_FACTOR_RANGE
from transport.travel import TravelMatrix, _files, _grid, _osm, _pairs, _trees
from transport.travel._osm import UK_SPEEDS_KPH
from transport.travel.crowfly import as_points

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

METRES_PER_MILE = 1609.344

LIMIT_MIN_SOURCES = 8
"""From this many sources a call first bounds each tree's search radius through a pivot node."""
PARALLEL_MIN_WORK = 2_000_000
"""Trees × nodes from which a call shares its trees among the worker processes."""


# --------------------------------------------------------------------------------------------
# Building the graph


def load_graph(
    *,
    osm_file: str | Path | None = None,
    place: str | None = None,
    graphml: str | Path | None = None,
    cache_dir: str | Path | None = None,
    speeds: Mapping[str, float] | None = None,
) -> nx.MultiDiGraph:
    """A drivable road graph with ``speed_kph`` and ``travel_time`` on every edge.

    Parameters
    ----------
    osm_file
        OSM XML (``.osm``, ``.osm.bz2`` or ``.osm.gz``); ways a car may not use are dropped.
    place
        A place name for OSMnx's geocoder, e.g. ``"Kent, England"`` (needs the internet the
        first time; the download is kept in the cache folder as GraphML).
    graphml
        A graph saved by :func:`save_graph` (``sen-transport graph build``).
    cache_dir
        Cache folder for place downloads (default ``$SEN_TRANSPORT_CACHE`` or
        ``~/.cache/sen-transport``).
    speeds
        Scenario speeds in km/h by ``highway`` class; each replaces the speed of every edge of
        that class. Other edges keep their ``maxspeed`` tag, or :data:`UK_SPEEDS_KPH`.

    Returns
    -------
    networkx.MultiDiGraph
        The largest strongly connected part, unprojected (``x`` = lon, ``y`` = lat).

    Raises
    ------
    TravelModelError
        Not exactly one source, a missing or unreadable file, or a failed download.
    """
    import osmnx as ox

    kind, value = _osm.one_source(osm_file=osm_file, place=place, graphml=graphml)
    overrides = _osm.check_speeds(speeds)
    if kind == "osm_file":
        G = _osm.read_map(
            _osm.graph_from_xml, _osm.existing_file(value, "OSM file"), "OSM XML file"
        )
    elif kind == "graphml":
        G = _osm.read_map(
            ox.load_graphml, _osm.existing_file(value, "GraphML file"), "GraphML file"
        )
    else:
        G = _osm.graph_from_place(str(value), _files.resolve_cache_dir(cache_dir))
    G = ox.truncate.largest_component(_osm.add_speeds(G, overrides), strongly=True)
    log.info("road graph from %s: %d nodes, %d edges", kind, len(G), G.number_of_edges())
    return G


def save_graph(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Save a graph as GraphML atomically (for :func:`load_graph` with ``graphml=``)."""
    return _osm.save_graphml(G, Path(path))


# --------------------------------------------------------------------------------------------
# The graph as arrays


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A road graph as arrays: node ``i`` at ``(lat[i], lon[i])``; its out-edges go to
    ``indices[indptr[i]:indptr[i + 1]]`` (sorted) and take ``seconds`` and ``metres``."""

    node_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    seconds: np.ndarray
    metres: np.ndarray
    source: str = ""
    speeds: Mapping[str, float] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return int(self.lat.size)

    @property
    def n_edges(self) -> int:
        return int(self.indices.size)

    @cached_property
    def digest(self) -> str:
        """A 16-hex-digit hash of the arrays: the key of every matrix computed on them."""
        arrays = (self.node_ids, self.lat, self.lon, self.indptr, self.indices)
        return _files.arrays_digest([*arrays, self.seconds, self.metres])[:16]

    @cached_property
    def xy(self) -> np.ndarray:
        """Node coordinates in metres on the British National Grid."""
        return _grid.to_grid(self.lat, self.lon)

    @classmethod
    def from_edges(
        cls,
        *,
        lat: np.ndarray,
        lon: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        seconds: np.ndarray,
        metres: np.ndarray,
        node_ids: np.ndarray | None = None,
        source: str = "",
        speeds: Mapping[str, float] | None = None,
    ) -> RoadGraph:
        """Arrays from an edge list (node indices ``u → v``); the quickest parallel edge is
        kept with its own length, and self-loops are dropped."""
        n = len(lat)
        u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
        seconds = np.asarray(seconds, dtype=np.float64)
        metres = np.asarray(metres, dtype=np.float64)
        if not (np.isfinite(seconds).all() and np.isfinite(metres).all()):
            raise TravelModelError("every edge needs a finite travel time and length")
        if (seconds < 0).any() or (metres < 0).any():
            raise TravelModelError("edge travel times and lengths must not be negative")
        if u.size and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
            raise TravelModelError("edge end points must be node indices")
        keep = u != v
        u, v, seconds, metres = u[keep], v[keep], seconds[keep], metres[keep]
        lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        ids = np.arange(n, dtype=np.int64) if node_ids is None else np.asarray(node_ids, np.int64)
        if n:  # number nodes along a space-filling curve: trees run twice as fast as in id order
            order = _grid.spatial_order(_grid.to_grid(lat, lon))
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
            lat, lon, ids, u, v = lat[order], lon[order], ids[order], rank[u], rank[v]
        order = np.lexsort((metres, seconds, v, u))
        u, v, seconds, metres = u[order], v[order], seconds[order], metres[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, seconds, metres = u[first], v[first], seconds[first], metres[first]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n))]).astype(np.int64)
        return cls(
            node_ids=ids,
            lat=lat,
            lon=lon,
            indptr=indptr,
            indices=v.astype(np.int32),
            seconds=seconds,
            metres=metres,
            source=source,
            speeds=dict(speeds or {}),
        )

    @classmethod
    def from_networkx(
        cls, G: nx.MultiDiGraph, *, source: str = "", speeds: Mapping[str, float] | None = None
    ) -> RoadGraph:
        """Arrays from an unprojected OSMnx graph with ``travel_time`` and ``length`` edges."""
        crs = str(G.graph.get("crs", "epsg:4326")).lower()
        if crs not in ("epsg:4326", "wgs84", "wgs 84"):
            raise TravelModelError(f"the graph must be unprojected (EPSG:4326), not {crs}")
        nodes = sorted(G.nodes)
        pos = {node: i for i, node in enumerate(nodes)}
        lat = np.array([G.nodes[node]["y"] for node in nodes], dtype=np.float64)
        lon = np.array([G.nodes[node]["x"] for node in nodes], dtype=np.float64)
        rows = [
            (pos[a], pos[b], d.get("travel_time"), d.get("length"))
            for a, b, d in G.edges(data=True)
        ]
        if any(r[2] is None or r[3] is None for r in rows):
            raise TravelModelError(
                "every edge needs 'travel_time' and 'length': build the graph with load_graph"
            )
        arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
        try:
            ids = np.array(nodes, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            ids = None
        return cls.from_edges(
            lat=lat,
            lon=lon,
            u=arr[:, 0],
            v=arr[:, 1],
            seconds=arr[:, 2],
            metres=arr[:, 3],
            node_ids=ids,
            source=source or str(G.graph.get("name", "networkx graph")),
            speeds=speeds,
        )

    def largest_component(self) -> RoadGraph:
        """The largest strongly connected part, so that every node reaches every other."""
        from scipy.sparse.csgraph import connected_components

        u = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        pattern = sp.csr_matrix((np.ones(u.size), self.indices, self.indptr))
        count, labels = connected_components(pattern, directed=True, connection="strong")
        if count <= 1:
            return self
        keep = labels == np.bincount(labels).argmax()
        new = np.cumsum(keep) - 1
        edge = keep[u] & keep[self.indices]
        return RoadGraph.from_edges(
            lat=self.lat[keep],
            lon=self.lon[keep],
            u=new[u[edge]],
            v=new[self.indices[edge]],
            seconds=self.seconds[edge],
            metres=self.metres[edge],
            node_ids=self.node_ids[keep],
            source=self.source,
            speeds=self.speeds,
        )

    def save(self, path: str | Path) -> None:
        """Write the arrays to a compressed ``.npz`` atomically."""
        meta = json.dumps({"source": self.source, "speeds": dict(self.speeds)})
        arrays = {k: getattr(self, k) for k in _ARRAYS}
        _files.save_npz(Path(path), meta=np.array(meta), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph | None:
        """Arrays saved by :meth:`save`, or ``None`` when the file is missing or unreadable."""
        z = _files.load_npz(Path(path))
        if z is None or not set(_ARRAYS) <= set(z) or "meta" not in z:
            return None
        meta = json.loads(str(z["meta"]))
        return cls(**{k: z[k] for k in _ARRAYS}, source=meta["source"], speeds=meta["speeds"])


_ARRAYS = ("node_ids", "lat", "lon", "indptr", "indices", "seconds", "metres")


def load_road_graph(
    *,
    osm_file: str | Path | None = None,
    place: str | None = None,
    graphml: str | Path | None = None,
    cache_dir: str | Path | None = None,
    speeds: Mapping[str, float] | None = None,
    cache_graph: bool = True,
) -> RoadGraph:
    """:func:`load_graph` as :class:`RoadGraph` arrays, from the cache when built before.

    The key is a SHA-256 of the map file's bytes (or the place name) and the speed overrides:
    an edited map or a new scenario speed builds again; anything else loads in a second.
    """
    kind, value = _osm.one_source(osm_file=osm_file, place=place, graphml=graphml)
    overrides = _osm.check_speeds(speeds)
    if kind == "place":
        ident, label = str(value), f"place:{value}"
    else:
        path = _osm.existing_file(value, "OSM file" if kind == "osm_file" else "GraphML file")
        ident = _files.file_digest(path)
        record_digest(path, ident, role="road map")
        label = f"{kind}:{path.name} (sha256 {ident[:12]})"
    key = _files.text_digest(kind, ident, overrides)[:24]
    saved = _files.resolve_cache_dir(cache_dir) / "graphs" / f"{key}.npz"
    if cache_graph and (graph := RoadGraph.load(saved)) is not None:
        log.info("road graph %s from the cache (%d nodes)", label, graph.n_nodes)
        return graph
    G = load_graph(
        osm_file=osm_file, place=place, graphml=graphml, cache_dir=cache_dir, speeds=speeds
    )
    graph = RoadGraph.from_networkx(G, source=label, speeds=overrides)
    if cache_graph:
        try:
            graph.save(saved)
        except OSError as exc:
            log.warning("could not cache the road graph in %s (%s)", saved.parent, exc)
    return graph


# --------------------------------------------------------------------------------------------
# The travel model


@dataclass(frozen=True, slots=True)
class FarSnap:
    """A point more than ``snap_warn_m`` from the nearest road node."""

    lat: float
    lon: float
    metres: float


class RoadNetworkModel:
    """Road miles and minutes along the quickest paths of a road graph.

    Parameters
    ----------
    graph_or_arrays
        An OSMnx graph from :func:`load_graph` or :class:`RoadGraph` arrays.
    dwell_min
        Minutes added per pickup (the contract's dwell).
    peak_factor
        Multiplies every travel time (1.2 = journeys take 20% longer than free flow).
    snap_warn_m
        Points farther than this from the nearest road node are collected in ``far_snaps``
        and reported with a :class:`~transport.errors.FarFromRoadWarning`.
    cache_dir
        Cache folder for computed node pairs (default ``$SEN_TRANSPORT_CACHE`` or
        ``~/.cache/sen-transport``); ``cache_pairs=False`` keeps them in memory only.
    workers
        Processes sharing a large call's trees (default: the CPUs available, at most 4);
        SciPy's Dijkstra holds the interpreter lock, so threads would not help.

    Examples
    --------
    >>> model = RoadNetworkModel(load_graph(osm_file="rutland.osm.bz2"))  # doctest: +SKIP
    >>> model.travel_matrix(pupil_points, school_points).minutes  # doctest: +SKIP
    """

    name = "osm"

    def __init__(
        self,
        graph_or_arrays: nx.MultiDiGraph | RoadGraph,
        *,
        dwell_min: float = 2.0,
        peak_factor: float = 1.0,
        snap_warn_m: float = 1000.0,
        cache_dir: str | Path | None = None,
        cache_pairs: bool = True,
        workers: int | None = None,
    ) -> None:
        low, high = PEAK_FACTOR_RANGE
        if not low <= peak_factor <= high:
            raise ValueError(f"peak_factor must be between {low:g} and {high:g}, got {peak_factor}")
        if not 0.0 <= dwell_min <= 30.0:
            raise ValueError(f"dwell_min must be between 0 and 30, got {dwell_min}")
        if not snap_warn_m > 0:
            raise ValueError(f"snap_warn_m must be positive, got {snap_warn_m}")
        graph = graph_or_arrays
        if not isinstance(graph, RoadGraph):
            graph = RoadGraph.from_networkx(graph)
        if graph.n_nodes == 0:
            raise TravelModelError("the road graph has no nodes")
        self.graph = graph
        self.dwell_min = float(dwell_min)
        self.peak_factor = float(peak_factor)
        self.snap_warn_m = float(snap_warn_m)
        self.far_snaps: list[FarSnap] = []
        self._far_seen: set[tuple[float, float]] = set()
        self._kdtree = cKDTree(graph.xy)
        self._trees = _trees.Trees(graph.indptr, graph.indices, graph.seconds, graph.metres)
        folder = _files.resolve_cache_dir(cache_dir) / "pairs" / graph.digest
        self._store = _pairs.PairStore(folder if cache_pairs else None, graph.n_nodes)
        self.workers = max(1, workers if workers is not None else min(4, cpu_count()))
        self._executor: LocalExecutor | None = None

    # snapping ---------------------------------------------------------------------------------

    def snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest graph node to each ``(lat, lon)`` point and the metres to it."""
        pts = as_points(points)
        if not np.isfinite(pts).all():
            raise TravelModelError("every point needs a finite latitude and longitude")
        if pts.shape[0] == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        metres, idx = self._kdtree.query(_grid.to_grid(pts[:, 0], pts[:, 1]))
        far = np.flatnonzero(metres > self.snap_warn_m)
        new: list[FarSnap] = []
        for i in far:
            key = (float(pts[i, 0]), float(pts[i, 1]))
            if key not in self._far_seen:
                self._far_seen.add(key)
                new.append(FarSnap(*key, round(float(metres[i]), 1)))
        if new:
            self.far_snaps.extend(new)
            worst = max(f.metres for f in new)
            warnings.warn(
                f"{len(new)} point(s) lie more than {self.snap_warn_m:g} m from the road network "
                f"(farthest {worst:,.0f} m); they are measured from their nearest road node: "
                "check their coordinates (model.far_snaps lists them)",
                FarFromRoadWarning,
                stacklevel=3,
            )
        return idx.astype(np.int64), metres

    # matrices ---------------------------------------------------------------------------------

    def travel_matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        """Road miles and minutes from every origin to every destination along quickest paths.

        Raises
        ------
        TravelModelError
            When some origin cannot reach some destination on the graph (naming how many).
        """
        o, _ = self.snap(origins)
        d, _ = self.snap(destinations)
        uo, oi = np.unique(o, return_inverse=True)
        ud, di = np.unique(d, return_inverse=True)
        seconds, metres = self.node_matrix(uo, ud)
        seconds, metres = seconds[np.ix_(oi, di)], metres[np.ix_(oi, di)]
        bad = ~np.isfinite(seconds)
        if bad.any():
            raise TravelModelError(
                f"{int(bad.sum())} of {bad.size} origin-destination pairs have no road path "
                "between them on this graph; build it with load_graph, which keeps the largest "
                "strongly connected part of the network"
            )
        minutes = seconds * (self.peak_factor / 60.0)
        return TravelMatrix(miles=metres / METRES_PER_MILE, minutes=minutes)

    def node_matrix(
        self, sources: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Free-flow seconds and metres between distinct node indices (cached pairs reused)."""
        seconds, metres = self._store.lookup(sources, targets)
        same = sources[:, None] == targets[None, :]
        seconds[same], metres[same] = 0.0, 0.0
        missing = np.isnan(seconds)
        if not missing.any():
            return seconds, metres
        rows, cols = _trees.cover(missing)
        if rows.size:
            s, m = self._grow(sources[rows], targets, reverse=False)
            hole = missing[rows]
            seconds[rows] = np.where(hole, s, seconds[rows])
            metres[rows] = np.where(hole, m, metres[rows])
        if cols.size:
            s, m = self._grow(targets[cols], sources, reverse=True)
            hole = np.isnan(seconds[:, cols])
            seconds[:, cols] = np.where(hole, s.T, seconds[:, cols])
            metres[:, cols] = np.where(hole, m.T, metres[:, cols])
        r, c = np.nonzero(missing)
        self._store.add(sources[r], targets[c], seconds[r, c], metres[r, c])
        log.info(
            "road matrix %dx%d nodes: %d forward and %d reverse trees, %d pairs cached",
            sources.size,
            targets.size,
            rows.size,
            cols.size,
            int((~missing).sum()),
        )
        return seconds, metres

    def _limits(self, sources: np.ndarray, targets: np.ndarray, reverse: bool) -> np.ndarray:
        """A search radius per source that reaches every target: through a central pivot
        target ``p``, ``d(s, t) <= d(s, p) + max_t d(p, t)`` (infinite where ``p`` is cut off)."""
        xy = self.graph.xy
        centre = xy[np.concatenate([sources, targets])].mean(axis=0)
        pivot = int(targets[np.argmin(((xy[targets] - centre) ** 2).sum(axis=1))])
        reach = self._trees.distances(pivot, reverse=reverse)[targets].max()
        back = self._trees.distances(pivot, reverse=not reverse)[sources]
        return (back + reach) * (1.0 + 1e-9) + 1e-6

    def _grow(
        self, sources: np.ndarray, targets: np.ndarray, *, reverse: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and metres from each source (on the transposed graph: to each source),
        spread over worker processes when the work is large."""
        limits = np.full(sources.size, np.inf)
        cols = None
        if sources.size >= LIMIT_MIN_SOURCES:
            limits = self._limits(sources, targets, reverse)
            col = {int(t): j for j, t in enumerate(targets)}
            if all(int(s) in col for s in sources):
                cols = np.array([col[int(s)] for s in sources])
        parallel = self.workers > 1 and sources.size * self.graph.n_nodes >= PARALLEL_MIN_WORK
        chunks = np.array_split(np.arange(sources.size), min(sources.size, self.workers))
        if not parallel:
            chunks = [np.arange(sources.size)]
        tasks = [
            (sources[c], targets, reverse, limits[c], None if cols is None else cols[c])
            for c in chunks
        ]
        seconds = np.empty((sources.size, targets.size))
        metres = np.empty((sources.size, targets.size))
        for c, (s, m) in zip(chunks, self._run(tasks), strict=True):
            seconds[c], metres[c] = s, m
        return seconds, metres

    def _run(self, tasks: list[tuple]) -> list[tuple[np.ndarray, np.ndarray]]:
        if len(tasks) > 1:
            if self._executor is None:
                self._executor = LocalExecutor(self.workers)
                weakref.finalize(self, self._executor.close)
            out: list[Any] = [None] * len(tasks)
            for i, result in self._executor.map_unordered(
                _trees.grow_task, tasks, shared=self._trees
            ):
                out[i] = result
            return out
        return [_trees.grow_task(self._trees, task) for task in tasks]

    def close(self) -> None:
        """Stop the worker processes, if any were started (they stop at exit anyway)."""
        if self._executor is not None:
            self._executor.close()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_executor": None}

    def describe(self) -> dict[str, Any]:
        g = self.graph
        return {
            "backend": self.name,
            "source": g.source,
            "nodes": g.n_nodes,
            "edges": g.n_edges,
            "graph_hash": g.digest,
            "peak_factor": self.peak_factor,
            "speeds_kph": dict(g.speeds),
            "default_speeds_kph": dict(UK_SPEEDS_KPH),
            "dwell_min": self.dwell_min,
            "snap_warn_m": self.snap_warn_m,
            "far_snaps": len(self.far_snaps),
        }
