"""routes.gpkg: a scenario's routes, schools and home squares as one GeoPackage for QGIS.

Three layers in the British National Grid (EPSG:27700, metres, so QGIS measures in metres):

``routes``
    a LineString per route through its generalised pickups to its school, with the fields of
    routes.geojson (route_id, school_id, school_name, vehicle_type, colour, has_pa, pupils,
    route_miles, annual_cost);
``schools``
    a Point per school (school_id, school_name, school_kind, pupils placed, routes);
``home_squares``
    the squares homes are counted in (size_m, pupils): only squares with at least the
    privacy threshold of pupils (:mod:`transport.report.geometry`), never a home.

No pupil id and no home location is written. geopandas builds the layers and GDAL's GeoPackage
driver writes them; the file is written beside its destination and renamed into place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from transport.report.geometry import GRID_CRS, HomeGrid, RouteLine, SchoolPoint
from transport.runs.atomic import atomic_path

WGS84 = "EPSG:4326"
LAYERS = ("routes", "schools", "home_squares")


def write_geopackage(
    path: str | Path,
    lines: Sequence[RouteLine],
    schools: Sequence[SchoolPoint],
    grid: HomeGrid,
) -> Path:
    """Write the three layers to ``path`` atomically, readable by its owner only.

    Examples
    --------
    >>> write_geopackage("scenarios/baseline/routes.gpkg", lines, points, grid)  # doctest: +SKIP
    """
    import geopandas as gpd
    from shapely.geometry import LineString, Point, Polygon

    routes = gpd.GeoDataFrame(
        {
            "route_id": [r.route_id for r in lines],
            "school_id": [r.school_id for r in lines],
            "school_name": [r.school_name for r in lines],
            "vehicle_type": [r.vehicle_type for r in lines],
            "colour": [r.colour for r in lines],
            "has_pa": [bool(r.has_pa) for r in lines],
            "pupils": [int(r.pupils) for r in lines],
            "route_miles": [round(r.route_miles, 2) for r in lines],
            "annual_cost": [round(r.annual_cost, 2) for r in lines],
        },
        geometry=[LineString([(lon, lat) for lat, lon in r.coords]) for r in lines],
        crs=WGS84,
    )
    points = gpd.GeoDataFrame(
        {
            "school_id": [s.school_id for s in schools],
            "school_name": [s.name for s in schools],
            "school_kind": [s.kind for s in schools],
            "pupils": [int(s.pupils) for s in schools],
            "routes": [int(s.routes) for s in schools],
        },
        geometry=[Point(s.lon, s.lat) for s in schools],
        crs=WGS84,
    )
    squares = gpd.GeoDataFrame(
        {
            "size_m": [int(c.size_m) for c in grid.cells],
            "pupils": [int(c.pupils) for c in grid.cells],
        },
        geometry=[Polygon([(lon, lat) for lat, lon in c.corners]) for c in grid.cells],
        crs=WGS84,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        for name, kind, frame in zip(
            LAYERS, ("LineString", "Point", "Polygon"), (routes, points, squares), strict=True
        ):
            frame.to_crs(GRID_CRS).to_file(
                tmp, layer=name, driver="GPKG", engine="pyogrio", geometry_type=kind
            )
    return target
