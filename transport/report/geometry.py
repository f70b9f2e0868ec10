"""Privacy-safe geometry for the report's maps and routes.geojson.

Pupils' homes are special-category personal data, so nothing drawn or written here holds a home
location or a pupil id:

* homes are counted in squares of the British National Grid (EPSG:27700), ``cell_m`` metres a
  side (1 km by default); a square with fewer than ``min_pupils`` pupils is not shown: its
  pupils are counted in the enclosing ``coarse_m`` square (5 km) instead, and a coarse square
  that still has fewer than ``min_pupils`` is suppressed (its pupils are only counted in a
  total);
* a route's line joins *generalised* pickup points, not homes: each pickup moves to the centre
  of the shown 1 km square holding the home, or else to the centre of its 5 km square;
  consecutive pickups in the same square become one vertex; the line ends at the school
  (schools are public places, drawn where they are).

This module only re-draws what the run folders hold; it computes no new result.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from transport.model import Dataset, Route, School, Stop, route_schools

GRID_CRS = "EPSG:27700"
"""The British National Grid: homes are counted in its squares."""

#: Colours of vehicle types, in the order of vehicles.csv (colour-blind-safe, Okabe-Ito first).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#8C6D31",
    "#6A3D9A",
    "#000000",
    "#999999",
)


@dataclass(frozen=True, kw_only=True)
class PrivacyOptions:
    """How homes are aggregated and pickups generalised.

    Parameters
    ----------
    cell_m
        Side of the grid squares homes are counted in, in metres (British National Grid).
    coarse_m
        Side of the larger squares that collect the pupils of sparse squares.
    min_pupils
        A square is shown only when it holds at least this many pupils.
    """

    cell_m: int = 1000
    coarse_m: int = 5000
    min_pupils: int = 5

    def __post_init__(self) -> None:
        if self.cell_m <= 0 or self.coarse_m <= 0:
            raise ValueError("grid squares must be larger than 0 metres")
        if self.coarse_m % self.cell_m:
            raise ValueError("coarse_m must be a multiple of cell_m")
        if self.min_pupils < 1:
            raise ValueError("min_pupils must be at least 1")


@dataclass(frozen=True)
class Cell:
    """A grid square shown on the map: its corners (lat, lon), its size and its pupil count."""

    corners: tuple[tuple[float, float], ...]
    size_m: int
    pupils: int


@dataclass(frozen=True)
class HomeGrid:
    """Homes counted in squares; ``pickup`` maps each pupil to a generalised (lat, lon)."""

    cells: tuple[Cell, ...]
    suppressed: int
    pickup: Mapping[str, tuple[float, float]]
    options: PrivacyOptions


@dataclass(frozen=True)
class RouteLine:
    """One route drawn through generalised pickups to its school."""

    route_id: str
    school_id: str
    school_name: str
    vehicle_type: str
    colour: str
    has_pa: bool
    pupils: int
    route_miles: float
    annual_cost: float
    coords: tuple[tuple[float, float], ...]  # (lat, lon), last = the school


@dataclass(frozen=True)
class SchoolPoint:
    """A school with the number of pupils placed there and routes serving it."""

    school_id: str
    name: str
    kind: str
    lat: float
    lon: float
    pupils: int
    routes: int


@lru_cache(maxsize=2)
def _transformer(to_grid: bool):  # noqa: ANN202 - pyproj type
    from pyproj import Transformer

    if to_grid:
        return Transformer.from_crs("EPSG:4326", GRID_CRS, always_xy=True)
    return Transformer.from_crs(GRID_CRS, "EPSG:4326", always_xy=True)


def to_grid(lats: Sequence[float], lons: Sequence[float]) -> list[tuple[float, float]]:
    """WGS84 (lat, lon) → British National Grid (easting, northing) in metres."""
    if not lats:
        return []
    xs, ys = _transformer(True).transform(list(lons), list(lats))
    return list(zip((float(x) for x in xs), (float(y) for y in ys), strict=True))


def from_grid(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """British National Grid (easting, northing) → WGS84 (lat, lon), 6 decimals."""
    if not points:
        return []
    lons, lats = _transformer(False).transform([p[0] for p in points], [p[1] for p in points])
    return [(round(float(a), 6), round(float(o), 6)) for a, o in zip(lats, lons, strict=True)]


def home_grid(data: Dataset, *, options: PrivacyOptions | None = None) -> HomeGrid:
    """Count homes in grid squares and generalise every pupil's pickup point.

    Every pupil is counted in exactly one shown square or in ``suppressed``; no shown square
    holds fewer than ``options.min_pupils`` pupils.
    """
    options = options or PrivacyOptions()
    pupils = data.pupils
    xy = to_grid([p.lat for p in pupils], [p.lon for p in pupils])
    fine = [_key(x, y, options.cell_m) for x, y in xy]
    coarse = [_key(x, y, options.coarse_m) for x, y in xy]
    fine_count = Counter(fine)
    shown_fine = {k for k, n in fine_count.items() if n >= options.min_pupils}
    coarse_count = Counter(c for f, c in zip(fine, coarse, strict=True) if f not in shown_fine)
    shown_coarse = {k for k, n in coarse_count.items() if n >= options.min_pupils}
    suppressed = sum(n for k, n in coarse_count.items() if k not in shown_coarse)

    cells = [_cell(k, options.cell_m, fine_count[k]) for k in sorted(shown_fine)] + [
        _cell(k, options.coarse_m, coarse_count[k]) for k in sorted(shown_coarse)
    ]

    centres: list[tuple[float, float]] = []
    for f, c in zip(fine, coarse, strict=True):
        key, size = (f, options.cell_m) if f in shown_fine else (c, options.coarse_m)
        centres.append(((key[0] + 0.5) * size, (key[1] + 0.5) * size))
    pickup = dict(zip((p.pupil_id for p in pupils), from_grid(centres), strict=True))
    return HomeGrid(tuple(cells), suppressed, pickup, options)


def _key(x: float, y: float, size: int) -> tuple[int, int]:
    return (math.floor(x / size), math.floor(y / size))


def _cell(key: tuple[int, int], size: int, count: int) -> Cell:
    x0, y0 = key[0] * size, key[1] * size
    corners = from_grid([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])
    return Cell(tuple(corners), size, count)


def vehicle_colours(vehicle_types: Iterable[str]) -> dict[str, str]:
    """A colour per vehicle type, in the given order."""
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(vehicle_types)}


def route_lines(
    routes: Sequence[Route],
    stops: Sequence[Stop],
    *,
    schools: Mapping[str, School],
    grid: HomeGrid,
    colours: Mapping[str, str],
) -> list[RouteLine]:
    """Each route as a line through its generalised pickups, in pickup order, to its school.

    A mixed-school route's line goes on to each of its schools in visiting order; its
    ``school_id`` is routes.csv's (the schools joined by ``;``) and its ``school_name`` names
    them all ("A then B"). A pickup whose pupil is not in the data set is left out of the line
    (it is still counted).
    """
    by_route: dict[str, list[Stop]] = {}
    for s in stops:
        by_route.setdefault(s.route_id, []).append(s)
    lines = []
    for r in routes:
        order = sorted(by_route.get(r.route_id, ()), key=lambda s: s.seq)
        pupil_order = [s.pupil_id for s in order] or list(r.pupils)
        coords: list[tuple[float, float]] = []
        for pid in pupil_order:
            point = grid.pickup.get(pid)
            if point is not None and (not coords or coords[-1] != point):
                coords.append(point)
        visited = [schools[s] for s in route_schools(r) if s in schools]
        for school in visited:
            coords.append((round(school.lat, 6), round(school.lon, 6)))
        if len(coords) == 1:
            coords.append(coords[0])
        lines.append(
            RouteLine(
                route_id=r.route_id,
                school_id=r.school_id,
                school_name=" then ".join(s.name for s in visited) or r.school_id,
                vehicle_type=r.vehicle_type,
                colour=colours.get(r.vehicle_type, PALETTE[-1]),
                has_pa=r.has_pa,
                pupils=len(r.pupils),
                route_miles=r.route_miles,
                annual_cost=r.annual_cost,
                coords=tuple(coords),
            )
        )
    return lines


def school_points(
    data: Dataset, placed: Mapping[str, int], routes: Sequence[Route]
) -> list[SchoolPoint]:
    """Every school of the data set, with its pupils placed and the routes serving it (a
    mixed-school route serves each of its schools)."""
    served = Counter(s for r in routes for s in route_schools(r))
    return [
        SchoolPoint(
            s.school_id,
            s.name,
            s.kind,
            round(s.lat, 6),
            round(s.lon, 6),
            placed.get(s.school_id, 0),
            served.get(s.school_id, 0),
        )
        for s in data.schools
    ]
