"""routes.geojson: a scenario's routes and schools for QGIS (or any GIS), privacy-safe.

One FeatureCollection in WGS84 (RFC 7946 GeoJSON has no other CRS): a LineString per route
through its generalised pickups (see :mod:`transport.report.geometry`) to its school, and a
Point per school. No pupil id and no home location is written. The ``colour`` field (hex, by
vehicle type) suits QGIS's data-defined colour or a categorised style on ``vehicle_type``;
``stroke`` repeats it for viewers that read the simplestyle convention.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transport.report.geometry import RouteLine, SchoolPoint
from transport.runs.atomic import atomic_write_text

#: The properties of a route feature, in order (documented in docs/formats.md).
ROUTE_FIELDS = (
    "kind",
    "route_id",
    "school_id",
    "school_name",
    "vehicle_type",
    "colour",
    "has_pa",
    "pupils",
    "route_miles",
    "annual_cost",
)
SCHOOL_COLOUR = "#222222"


def feature_collection(
    lines: Sequence[RouteLine], schools: Sequence[SchoolPoint], *, name: str
) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of one scenario (coordinates as [lon, lat])."""
    features: list[dict[str, Any]] = []
    for r in lines:
        props = {
            "kind": "route",
            "route_id": r.route_id,
            "school_id": r.school_id,
            "school_name": r.school_name,
            "vehicle_type": r.vehicle_type,
            "colour": r.colour,
            "has_pa": r.has_pa,
            "pupils": r.pupils,
            "route_miles": round(r.route_miles, 2),
            "annual_cost": round(r.annual_cost, 2),
            "stroke": r.colour,
        }
        coords = [[lon, lat] for lat, lon in r.coords]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": props,
            }
        )
    for s in schools:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "kind": "school",
                    "school_id": s.school_id,
                    "school_name": s.name,
                    "school_kind": s.kind,
                    "colour": SCHOOL_COLOUR,
                    "pupils": s.pupils,
                    "routes": s.routes,
                },
            }
        )
    return {"type": "FeatureCollection", "name": name, "features": features}


def write_geojson(path: str | Path, collection: dict[str, Any]) -> Path:
    """Write a FeatureCollection atomically, readable by its owner only."""
    return write_private_text(path, json.dumps(collection, separators=(",", ":")) + "\n")


def write_private_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically, mode 0600 (:func:`transport.runs.atomic.atomic_write_text`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text)
