"""OpenStreetMap maps for the road-network backend: sources, reading, downloading, speeds.

Reading an OSM XML file keeps only the ways a car may use; a place name is downloaded once
(online) and kept as GraphML in the cache folder; every edge gets a speed (its ``maxspeed``, else
a UK default by road class, scenario overrides replacing whole classes) and a travel time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transport.errors import TravelModelError
from transport.runs.atomic import atomic_path
from transport.travel._files import text_digest

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger("transport.travel.network")

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
    umask = os.umask(0)
    os.umask(umask)
    with atomic_path(path, mode=0o666 & ~umask) as tmp:  # a shared file, not a private one
        ox.save_graphml(G, tmp)
    return path
