"""Interactive Leaflet maps for the report, with Leaflet itself inlined (no CDN).

Leaflet 1.9.4 (BSD-2-Clause, ``assets/LICENSE-leaflet.txt``) and the small script that draws
the maps (``assets/report.js``) are embedded in the page; each map's data is a JSON block in
the page. Only the background tiles come from the internet: offline, the map shows the routes,
schools and home squares on a plain background.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from typing import Any

from transport.formatting import money
from transport.report.geometry import HomeGrid, RouteLine, SchoolPoint


@dataclass(frozen=True)
class TileSource:
    """A background tile layer."""

    key: str
    name: str
    url: str
    attribution: str


TILES = (
    TileSource(
        "osm",
        "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    ),
    TileSource(
        "carto",
        "CARTO light",
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        'contributors &copy; <a href="https://carto.com/attributions">CARTO</a>',
    ),
)
#: Hosts the maps may fetch tiles from (the only network use of the report).
TILE_HOSTS = ("tile.openstreetmap.org", "basemaps.cartocdn.com")


def asset(name: str) -> str:
    """The text of a file shipped in ``transport/report/assets``."""
    return resources.files("transport.report").joinpath("assets", name).read_text("utf-8")


def map_head() -> str:
    """Leaflet's CSS, to put once in the page's ``<head>``."""
    return f"<style>{asset('leaflet.css')}</style>"


def map_scripts() -> str:
    """Leaflet and the map-drawing script, to put once at the end of the page's ``<body>``."""
    return f"<script>{asset('leaflet.js')}</script><script>{asset('report.js')}</script>"


def tile_layers(first: str) -> list[dict[str, str]]:
    """The tile layers offered, ``first`` (a key of :data:`TILES`, or ``"none"``) first."""
    if first == "none":
        return []
    layers = sorted(TILES, key=lambda t: t.key != first)
    return [{"name": t.name, "url": t.url, "attribution": t.attribution} for t in layers]


@dataclass(frozen=True)
class AddedPlaces:
    """Places added at a school, or a new site opened: a marker of the "places added" layer."""

    lat: float
    lon: float
    places: int
    name: str
    detail: str


def map_data(
    lines: Sequence[RouteLine],
    schools: Sequence[SchoolPoint],
    grid: HomeGrid,
    *,
    colours: dict[str, str],
    tiles: str = "osm",
    added: Sequence[AddedPlaces] = (),
) -> dict[str, Any]:
    """The JSON a map is drawn from: generalised routes, schools, home squares and the places
    added (capacity changes, opened sites) only."""
    routes = [
        {"c": [list(p) for p in r.coords], "v": r.vehicle_type, "t": _route_tip(r)} for r in lines
    ]
    used = [s for s in schools if s.pupils or s.routes]
    school_items = [
        {"p": [s.lat, s.lon], "n": s.pupils, "t": _school_tip(s)}
        for s in sorted(used, key=lambda s: -s.pupils)
    ]
    cells = [
        {
            "b": [list(c) for c in cell.corners],
            "n": cell.pupils,
            "coarse": cell.size_m != grid.options.cell_m,
            "t": f"{cell.pupils} pupils live in this {cell.size_m / 1000:g} km square"
            + (
                f" (outside the {grid.options.cell_m / 1000:g} km squares shown)"
                if cell.size_m != grid.options.cell_m
                else ""
            ),
        }
        for cell in grid.cells
    ]
    points = [p for r in lines for p in r.coords] + [(s.lat, s.lon) for s in used]
    points += [(a.lat, a.lon) for a in added]
    if not points:
        points = [(s.lat, s.lon) for s in schools] or [(51.2, 0.8)]
    counts: dict[str, int] = {}
    for r in lines:
        counts[r.vehicle_type] = counts.get(r.vehicle_type, 0) + 1
    return {
        "bounds": [
            [min(p[0] for p in points), min(p[1] for p in points)],
            [max(p[0] for p in points), max(p[1] for p in points)],
        ],
        "tiles": tile_layers(tiles),
        "vehicles": [
            {"name": v, "colour": c, "routes": counts.get(v, 0)} for v, c in colours.items()
        ],
        "routes": routes,
        "schools": school_items,
        "cells": cells,
        "maxCell": max((c.pupils for c in grid.cells), default=1),
        "added": [
            {
                "p": [round(a.lat, 6), round(a.lon, 6)],
                "n": a.places,
                "t": f"<b>{escape(a.name)}</b><br>{a.places} places added<br>{escape(a.detail)}",
            }
            for a in added
        ],
    }


def map_html(index: int, data: dict[str, Any], *, title: str) -> str:
    """A map's container and its data block."""
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    added = ""
    if data.get("added"):
        added = ' <span class="added-key"></span> places added / site opened'
    legend = "".join(
        f'<span class="swatch" style="background:{v["colour"]}"></span>'
        f"{escape(v['name'])} ({v['routes']}) "
        for v in data["vehicles"]
        if v["routes"]
    )
    return (
        f'<div class="map" id="map-{index}" role="region" aria-label="{escape(title)}" '
        f'data-source="map-data-{index}"></div>'
        f'<p class="legend">Routes by vehicle type: {legend}'
        '<span class="school-key"></span> school (size: pupils placed) '
        '<span class="cell-key"></span> pupils\' homes, counted by square'
        f"{added}</p>"
        f'<script type="application/json" id="map-data-{index}" class="map-data">'
        f"{payload}</script>"
    )


def _route_tip(r: RouteLine) -> str:
    pa = " with a passenger assistant" if r.has_pa else ""
    pupils = f"{r.pupils} pupil{'s' if r.pupils != 1 else ''}"
    return (
        f"<b>{escape(r.route_id)}</b> to {escape(r.school_name)}<br>"
        f"{escape(r.vehicle_type)}{pa}, {pupils}<br>"
        f"{r.route_miles:,.1f} miles, {money(r.annual_cost)} a year"
    )


def _school_tip(s: SchoolPoint) -> str:
    return (
        f"<b>{escape(s.name)}</b> ({escape(s.kind)})<br>"
        f"{s.pupils} pupils placed, {s.routes} route{'s' if s.routes != 1 else ''}"
    )
