"""District boundaries: the district a home or school lies in, by point in polygon.

The engine needs a pupil's district to choose budget cohorts (the Kent trial is Ashford and
Folkestone and Hythe). With a boundary file (``--districts-file``: GeoJSON, GeoPackage or a
shapefile whose features have a ``name``; ``../shared/geo/kent_districts.geojson`` holds
Kent's), the data step

* fills a blank ``district`` from the row's location (a postcode already gives one), and
* checks a stated district against the location: a row whose point lies more than
  ``tolerance_m`` outside the district it names is a problem (file, row, column), reported
  with every other problem of the data folder. Simplified boundaries move a border by a few
  hundred metres (the Kent file: up to 252 m for the embedded data's homes), hence the
  tolerance; a district the file does not hold is not checked.

Points are matched in the British National Grid (metres) with geopandas' spatial join; no home
location appears in any message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from transport.audit import record_input
from transport.data.load import RawTables, load_tables
from transport.errors import InputError, Problem

GRID_CRS = "EPSG:27700"
TOLERANCE_M = 1000.0
NAME_COLUMNS = ("name", "district", "lad24nm", "lad23nm", "lad22nm", "lad21nm")
"""Columns that may hold a boundary's name (ONS boundary files name it LADyyNM)."""

DISTRICT_ALIASES = {"shepway": "folkestone and hythe"}
"""Former names: Shepway has been Folkestone and Hythe since 2018."""


def district_key(name: str) -> str:
    """A district name compared whatever its case, spacing, ``&``/``and`` or former name."""
    text = name.strip().lower().replace("&", " and ")
    text = re.sub(r"\s+", " ", text).strip()
    return DISTRICT_ALIASES.get(text, text)


@dataclass(frozen=True, eq=False)
class DistrictMap:
    """District polygons in British National Grid metres, by name."""

    frame: Any  # geopandas.GeoDataFrame with columns name, key, geometry
    source: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.frame["name"])

    def locate(self, lat: Sequence[float], lon: Sequence[float]) -> list[str | None]:
        """The district each point lies in; a point in none, the nearest within
        :data:`TOLERANCE_M`; else ``None``."""
        import geopandas as gpd

        if not len(lat):
            return []
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(
            GRID_CRS
        )
        inside = gpd.sjoin(points, self.frame, how="left", predicate="within")
        inside = inside[~inside.index.duplicated(keep="first")]
        out: list[str | None] = [None if isinstance(n, float) else n for n in inside["name"]]
        lost = [i for i, n in enumerate(out) if n is None]
        if lost:
            near = gpd.sjoin_nearest(
                points.iloc[lost], self.frame, how="left", max_distance=TOLERANCE_M
            )
            near = near[~near.index.duplicated(keep="first")]
            for i, name in zip(lost, near["name"], strict=True):
                out[i] = None if isinstance(name, float) else name
        return out

    def metres_outside(
        self, districts: Sequence[str], lat: Sequence[float], lon: Sequence[float]
    ) -> list[float | None]:
        """How far each point lies outside the district named for it (0 inside; None when the
        map has no district of that name)."""
        import geopandas as gpd

        points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(GRID_CRS)
        keys = [district_key(d) for d in districts]
        out: list[float | None] = [None] * len(keys)
        for key in set(keys):
            match = self.frame[self.frame["key"] == key]
            if match.empty:
                continue
            area = match.geometry.union_all()
            rows = [i for i, k in enumerate(keys) if k == key]
            for i, metres in zip(rows, points.iloc[rows].distance(area), strict=True):
                out[i] = float(metres)
        return out


def read_districts(path: str | Path) -> DistrictMap:
    """District boundaries from a vector file (GeoJSON, GeoPackage, shapefile).

    Raises
    ------
    InputError
        A missing or unreadable file, or one with no name column or no polygon.
    """
    import geopandas as gpd

    p = Path(path)
    if not p.is_file():
        raise InputError([Problem(str(p), None, None, "district boundary file not found")])
    record_input(p, role="districts")
    try:
        frame = gpd.read_file(p)
    except Exception as exc:  # GDAL raises many types; each means an unusable file
        problem = Problem(p.name, None, None, f"not a readable boundary file: {exc}")
        raise InputError([problem]) from None
    columns = {c.lower(): c for c in frame.columns}
    column = next((columns[c] for c in NAME_COLUMNS if c in columns), None)
    polygons = frame.geom_type.isin(["Polygon", "MultiPolygon"]) if len(frame) else []
    if column is None or not len(frame) or not polygons.all():
        raise InputError(
            [
                Problem(
                    p.name,
                    None,
                    None,
                    "needs polygons with a name column (one of: " + ", ".join(NAME_COLUMNS) + ")",
                )
            ]
        )
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    out = gpd.GeoDataFrame(
        {"name": frame[column].astype(str), "key": frame[column].astype(str).map(district_key)},
        geometry=frame.geometry,
        crs=frame.crs,
    ).to_crs(GRID_CRS)
    return DistrictMap(out, str(p))


def apply_districts(
    raw: RawTables, districts: DistrictMap, *, tolerance_m: float = TOLERANCE_M
) -> tuple[RawTables, list[Problem]]:
    """Fill blank districts from locations and check stated ones, in schools and pupils.

    Only rows with a readable ``lat`` and ``lon`` are located (rows located by postcode get
    their district from the postcode directory in validation).

    Returns
    -------
    RawTables, list of Problem
        The tables with blank districts filled, and one problem per row whose location lies
        more than ``tolerance_m`` outside the district it names.
    """
    problems: list[Problem] = []
    tables = {}
    for attr, file in (("schools", "schools.csv"), ("pupils", "pupils.csv")):
        frame = getattr(raw, attr).copy()
        tables[attr] = frame
        if "lat" not in frame.columns or "lon" not in frame.columns:
            continue
        if "district" not in frame.columns:
            frame["district"] = ""
        rows, lat, lon = [], [], []
        for i, (a, b) in enumerate(zip(frame["lat"], frame["lon"], strict=True)):
            x, y = _number(a), _number(b)
            if x is not None and y is not None:
                rows.append(i)
                lat.append(x)
                lon.append(y)
        column = frame.columns.get_loc("district")
        stated = [str(frame.iat[i, column]).strip() for i in rows]
        found = districts.locate(lat, lon)
        outside_by_row = districts.metres_outside(stated, lat, lon)
        for i, name, where, outside in zip(rows, stated, found, outside_by_row, strict=True):
            if not name:
                if where is not None:
                    frame.iat[i, column] = where
                continue
            if outside is not None and outside > tolerance_m:
                lies = f"in {where}" if where else "outside every district of the boundary file"
                problems.append(
                    Problem(
                        file,
                        i + 2,
                        "district",
                        f"{name!r} does not match the location, which lies {lies} "
                        f"({outside / 1000:.1f} km outside {name})",
                    )
                )
    return replace(raw, schools=tables["schools"], pupils=tables["pupils"]), problems


def _number(text: Any) -> float | None:
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if value == value else None


def read_dataset_in_districts(folder: str | Path, districts_file: str | Path) -> Any:
    """:func:`transport.data.validate.read_dataset` with district boundaries: blank districts
    filled and stated ones checked, every problem of the folder reported at once."""
    from transport.data.validate import validate_tables

    districts = read_districts(districts_file)
    raw, problems = apply_districts(load_tables(folder), districts)
    try:
        data = validate_tables(raw)
    except InputError as exc:
        raise InputError([*exc.problems, *problems]) from None
    if problems:
        raise InputError(problems)
    return data
