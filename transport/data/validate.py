"""Validate: turn text tables into a :class:`~transport.model.Dataset`, or report every problem.

Every check runs over every row; the problems are collected and raised once as an
:class:`~transport.errors.InputError`, each with its file, row (as a spreadsheet numbers it)
and column. Locations may be given as ``lat,lon``, as British National Grid
``easting,northing`` or as a ``postcode`` column geocoded offline.

Every number must be finite and within the bounds below (documented in docs/formats.md,
"Output folders and safety rules"), so that no absurd value (``1e300``, ``inf``) reaches a
cost or a time. Messages name the file, the row and the column; they never repeat a pupil id,
a home coordinate or a postcode (pupil data is personal data).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transport.data.bounds import (
    LOCATION_COLUMNS,
    MAX_AGE,
    MAX_CAPACITY,
    MAX_PLACE_COST,
    MAX_RIDE_LIMIT,
    MIN_AGE,
    MIN_RIDE_LIMIT,
    check_arrive_by,
    check_grid_bounds,
    check_id_characters,
    check_vehicle_bounds,
)
from transport.data.load import RawTables, load_tables
from transport.errors import InputError, Problem
from transport.model import (
    ANY_NEED,
    DEFAULT_FINISH_AT,
    NEED_CODES,
    SCHOOL_KINDS,
    Dataset,
    Pupil,
    School,
    VehicleType,
)

SCHOOL_COLUMNS = (
    "school_id",
    "name",
    "district",
    "kind",
    "age_min",
    "age_max",
    "needs",
    "capacity",
    "place_cost",
    "arrive_by",
)
PUPIL_COLUMNS = (
    "pupil_id",
    "district",
    "age",
    "need",
    "school_id",
    "wheelchair",
    "needs_pa",
    "solo",
    "max_ride_min",
)
VEHICLE_COLUMNS = (
    "vehicle_type",
    "seats",
    "wheelchair_spaces",
    "day_rate",
    "per_mile",
    "available",
)
INCOMPATIBLE_COLUMNS = ("pupil_a", "pupil_b")

# Great Britain's bounding box, generously: anything outside is not an English home or school.
GB_LAT = (49.8, 60.9)
GB_LON = (-8.7, 1.8)
_NEED_LOOKUP = {code.upper(): code for code in NEED_CODES}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class _Table:
    """One text table with a problem list: typed accessors that record what is wrong."""

    def __init__(self, frame: pd.DataFrame, file: str, problems: list[Problem]) -> None:
        self.frame = frame
        self.file = file
        self.problems = problems
        rows = frame.attrs.get("rows")
        self.rows = list(rows) if rows is not None and len(rows) == len(frame) else None

    def row(self, i: int) -> int:
        """The spreadsheet row of the ``i``-th data row."""
        return self.rows[i] if self.rows is not None else i + 2

    def add(self, i: int | None, column: str | None, message: str) -> None:
        self.problems.append(
            Problem(self.file, None if i is None else self.row(i), column, message)
        )

    def require_columns(self, columns: tuple[str, ...]) -> bool:
        present = list(self.frame.columns)
        ok = True
        for col in columns:
            if col not in present:
                close = difflib.get_close_matches(col, present, n=1, cutoff=0.7)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(None, col, f"required column is missing{hint}")
                ok = False
        return ok

    def cells(self, column: str) -> list[str]:
        if column not in self.frame.columns:
            return [""] * len(self.frame)
        return [str(v).strip() for v in self.frame[column].tolist()]

    def parse(
        self, column: str, convert: Callable[[str], Any], what: str, *, blank: Any = ...
    ) -> list[Any]:
        out: list[Any] = []
        for i, text in enumerate(self.cells(column)):
            if text == "" and blank is not ...:
                out.append(blank)
                continue
            if text == "":
                self.add(i, column, f"is blank; expected {what}")
                out.append(None)
                continue
            try:
                out.append(convert(text))
            except (ValueError, TypeError, OverflowError):
                shown = "the value" if column in LOCATION_COLUMNS else repr(text)
                self.add(i, column, f"{shown} is not {what}")
                out.append(None)
        return out

    def ints(self, column: str, *, blank: Any = ...) -> list[Any]:
        return self.parse(column, _to_int, "a whole number", blank=blank)

    def floats(self, column: str, *, blank: Any = ...) -> list[Any]:
        return self.parse(column, _to_float, "a number", blank=blank)

    def flags(self, column: str) -> list[bool | None]:
        return self.parse(column, _to_flag, "0 or 1", blank=False)

    def ids(self, column: str, *, personal: bool = False) -> list[str]:
        """A column of unique ids; a personal id (a pupil's) is never repeated in a message."""
        values = self.cells(column)
        seen: dict[str, int] = {}
        for i, v in enumerate(values):
            if v == "":
                self.add(i, column, "is blank; every row needs an id")
            elif v in seen:
                what = "id" if personal else f"id {v!r}"
                self.add(i, column, f"duplicate {what} (first on row {self.row(seen[v])})")
            else:
                seen[v] = i
        check_id_characters(self, column, values, personal=personal)
        return values

    def bounded(
        self, column: str, values: list[Any], low: float, high: float, unit: str = ""
    ) -> list[Any]:
        """Record values outside ``[low, high]`` (and drop them); ``None`` is left alone."""
        for i, v in enumerate(values):
            if v is not None and not low <= v <= high:
                self.add(i, column, f"{v:g}{unit} is outside the possible {low:g}-{high:g}{unit}")
                values[i] = None
        return values


def _to_int(text: str) -> int:
    value = float(text.replace(",", ""))
    if not math.isfinite(value) or value != int(value) or abs(value) > 2**53:
        raise ValueError(text)
    return int(value)


def _to_float(text: str) -> float:
    value = float(text.replace(",", "").replace("£", ""))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _to_flag(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(text)


def parse_hhmm(text: str) -> int:
    """``HH:MM`` (or ``H:MM``, or ``HH:MM:SS``) → minutes after midnight."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    hours, minutes = int(parts[0]), int(parts[1])
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(text)
    return hours * 60 + minutes


# --------------------------------------------------------------------------------------------
# Locations


def _locations(table: _Table) -> tuple[list[float | None], list[float | None], list[str | None]]:
    """Latitudes, longitudes and (geocoded) district codes of a table's rows."""
    cols = set(table.frame.columns)
    n = len(table.frame)
    lat: list[float | None] = [None] * n
    lon: list[float | None] = [None] * n
    codes: list[str | None] = [None] * n
    has_latlon = {"lat", "lon"} <= cols
    has_bng = {"easting", "northing"} <= cols
    has_postcode = "postcode" in cols
    if not (has_latlon or has_bng or has_postcode):
        table.add(None, "lat", "no location columns: give lat,lon or easting,northing or postcode")
        return lat, lon, codes
    if has_latlon:
        lat = table.floats("lat", blank=None)
        lon = table.floats("lon", blank=None)
    if has_bng:
        east = table.floats("easting", blank=None)
        north = table.floats("northing", blank=None)
        check_grid_bounds(table, east, north)
        rows = [
            i for i in range(n) if lat[i] is None and east[i] is not None and north[i] is not None
        ]
        if rows:
            from transport.data.geocode import bng_to_wgs84

            la, lo = bng_to_wgs84([east[i] for i in rows], [north[i] for i in rows])
            for k, i in enumerate(rows):
                lat[i], lon[i] = float(la[k]), float(lo[k])
    if has_postcode:
        postcodes = table.cells("postcode")
        rows = [i for i in range(n) if lat[i] is None and postcodes[i]]
        if rows:
            from transport.data.geocode import geocode_postcodes

            found = geocode_postcodes([postcodes[i] for i in rows])
            for k, i in enumerate(rows):
                rec = found.iloc[k]
                if bool(rec["found"]):
                    lat[i], lon[i] = float(rec["lat"]), float(rec["lon"])
                    codes[i] = str(rec["district_code"])
                else:
                    table.add(i, "postcode", "unknown postcode (not in the ONS postcode directory)")
                    lat[i] = lon[i] = math.nan
    for i in range(n):
        la_i, lo_i = lat[i], lon[i]
        if la_i is None or lo_i is None:
            if not (has_postcode and table.cells("postcode")[i]):
                table.add(
                    i, "lat", "location is missing (no lat/lon, easting/northing or postcode)"
                )
            lat[i] = lon[i] = None
            continue
        if math.isnan(la_i) or math.isnan(lo_i):
            lat[i] = lon[i] = None
            continue
        if not (GB_LAT[0] <= la_i <= GB_LAT[1] and GB_LON[0] <= lo_i <= GB_LON[1]):
            if GB_LAT[0] <= lo_i <= GB_LAT[1] and GB_LON[0] <= la_i <= GB_LON[1]:
                table.add(i, "lat", "lat and lon look swapped")
            else:
                table.add(
                    i,
                    "lat",
                    f"the location is outside Great Britain (lat {GB_LAT[0]} to {GB_LAT[1]}, "
                    f"lon {GB_LON[0]} to {GB_LON[1]})",
                )
            lat[i] = lon[i] = None
    return lat, lon, codes


def _far_outside(
    table: _Table,
    lat: list[float | None],
    lon: list[float | None],
    centre: tuple[float, float],
    *,
    limit_miles: float,
) -> None:
    from transport.geo import great_circle_miles

    rows = [i for i in range(len(lat)) if lat[i] is not None and lon[i] is not None]
    if not rows:
        return
    pts = np.array([(lat[i], lon[i]) for i in rows], dtype=float)
    dist = great_circle_miles(pts, np.array([centre]))[:, 0]
    for k, i in enumerate(rows):
        if dist[k] > limit_miles:
            table.add(
                i,
                "lat",
                f"the location is {dist[k]:.0f} miles from the centre of the data's county, "
                "far outside it",
            )
            lat[i] = lon[i] = None


def _county_centre(lat: list[float | None], lon: list[float | None]) -> tuple[float, float, float]:
    """The median home and the radius beyond which a home is far outside the county."""
    from transport.geo import great_circle_miles

    pts = np.array(
        [(a, b) for a, b in zip(lat, lon, strict=True) if a is not None and b is not None]
    )
    if len(pts) == 0:
        return (0.0, 0.0, math.inf)
    centre = (float(np.median(pts[:, 0])), float(np.median(pts[:, 1])))
    dist = great_circle_miles(pts, np.array([centre]))[:, 0]
    radius = max(60.0, 3.0 * float(np.percentile(dist, 75)))
    return centre[0], centre[1], radius


# --------------------------------------------------------------------------------------------
# Tables


def _district(table: _Table, codes: list[str | None]) -> list[str]:
    names = table.cells("district")
    if any(codes):
        from transport.data.geocode import KENT_DISTRICTS

        names = [
            n or (KENT_DISTRICTS.get(c, c) if c else "") for n, c in zip(names, codes, strict=True)
        ]
    for i, name in enumerate(names):
        if not name:
            table.add(i, "district", "is blank")
    return names


def _schools(table: _Table) -> list[School | None]:
    if not table.require_columns(SCHOOL_COLUMNS):
        return []
    ids = table.ids("school_id")
    lat, lon, codes = _locations(table)
    district = _district(table, codes)
    kinds = table.cells("kind")
    age_min, age_max = table.ints("age_min"), table.ints("age_max")
    capacity = table.ints("capacity")
    cost = table.floats("place_cost")
    arrive = table.parse("arrive_by", parse_hhmm, "a time HH:MM")
    finish = table.parse("finish_at", parse_hhmm, "a time HH:MM", blank=DEFAULT_FINISH_AT)
    needs: list[frozenset[str] | None] = []
    for i, text in enumerate(table.cells("needs")):
        codes_i = [c.strip() for c in text.replace(",", ";").split(";") if c.strip()]
        bad = [c for c in codes_i if c != ANY_NEED and c.upper() not in _NEED_LOOKUP]
        if not codes_i:
            table.add(i, "needs", "is blank; give need codes separated by ';' or '*'")
        for c in bad:
            table.add(i, "needs", f"unknown need code {c!r}")
        needs.append(
            frozenset(c if c == ANY_NEED else _NEED_LOOKUP.get(c.upper(), c) for c in codes_i)
        )
    for i in range(len(ids)):
        kind = kinds[i].lower()
        if kind not in SCHOOL_KINDS:
            table.add(i, "kind", f"{kinds[i]!r} is not one of {', '.join(SCHOOL_KINDS)}")
        for col, v in (("age_min", age_min[i]), ("age_max", age_max[i])):
            if v is not None and not MIN_AGE <= v <= MAX_AGE:
                table.add(
                    i, col, f"age {v} is impossible for a school (expected {MIN_AGE}-{MAX_AGE})"
                )
        if age_min[i] is not None and age_max[i] is not None and age_min[i] > age_max[i]:
            table.add(i, "age_max", f"age_max {age_max[i]} is below age_min {age_min[i]}")
        if capacity[i] is not None and capacity[i] < 0:
            table.add(i, "capacity", f"capacity {capacity[i]} is negative")
            capacity[i] = None
        if cost[i] is not None and cost[i] < 0:
            table.add(i, "place_cost", f"place cost {cost[i]} is negative")
            cost[i] = None
        if arrive[i] is not None and finish[i] is not None and finish[i] <= arrive[i]:
            table.add(i, "finish_at", "the school day must end after arrive_by")
    table.bounded("capacity", capacity, 0, MAX_CAPACITY, " places")
    table.bounded("place_cost", cost, 0, MAX_PLACE_COST)
    check_arrive_by(table, arrive)
    out: list[School | None] = []
    for i in range(len(ids)):
        values = (lat[i], lon[i], age_min[i], age_max[i], capacity[i], cost[i], arrive[i])
        if any(v is None for v in values):
            out.append(None)
            continue
        out.append(
            School(
                school_id=ids[i],
                name=table.cells("name")[i],
                lat=float(lat[i]),  # type: ignore[arg-type]
                lon=float(lon[i]),  # type: ignore[arg-type]
                district=district[i],
                kind=kinds[i].lower(),
                age_min=age_min[i],
                age_max=age_max[i],
                needs=needs[i] or frozenset(),
                capacity=capacity[i],
                place_cost=cost[i],
                arrive_by=arrive[i],
                finish_at=finish[i] if finish[i] is not None else DEFAULT_FINISH_AT,
            )
        )
    return out


def _pupils(table: _Table, school_ids: set[str]) -> list[Pupil | None]:
    if not table.require_columns(PUPIL_COLUMNS):
        return []
    ids = table.ids("pupil_id", personal=True)
    lat, lon, codes = _locations(table)
    clat, clon, radius = _county_centre(lat, lon)
    _far_outside(table, lat, lon, (clat, clon), limit_miles=radius)
    district = _district(table, codes)
    ages = table.ints("age")
    wheelchair, pa, solo = table.flags("wheelchair"), table.flags("needs_pa"), table.flags("solo")
    max_ride = table.ints("max_ride_min", blank=None)
    stops = _stop_ids(table, ids, lat, lon, school_ids)
    needs = table.cells("need")
    schools = table.cells("school_id")
    out: list[Pupil | None] = []
    for i in range(len(ids)):
        need = _NEED_LOOKUP.get(needs[i].upper())
        if need is None:
            table.add(
                i,
                "need",
                f"unknown need code {needs[i]!r} (expected one of {', '.join(NEED_CODES)})",
            )
        if ages[i] is not None and not MIN_AGE <= ages[i] <= MAX_AGE:
            table.add(i, "age", f"age {ages[i]} is impossible (expected {MIN_AGE}-{MAX_AGE})")
            ages[i] = None
        if schools[i] and schools[i] not in school_ids:
            table.add(i, "school_id", f"unknown school_id {schools[i]!r}")
        if max_ride[i] is not None and not MIN_RIDE_LIMIT <= max_ride[i] <= MAX_RIDE_LIMIT:
            table.add(
                i,
                "max_ride_min",
                f"{max_ride[i]} minutes is not a possible ride limit "
                f"({MIN_RIDE_LIMIT}-{MAX_RIDE_LIMIT})",
            )
            max_ride[i] = None
        values = (lat[i], lon[i], ages[i], need, wheelchair[i], pa[i], solo[i])
        if any(v is None for v in values):
            out.append(None)
            continue
        out.append(
            Pupil(
                pupil_id=ids[i],
                lat=float(lat[i]),  # type: ignore[arg-type]
                lon=float(lon[i]),  # type: ignore[arg-type]
                district=district[i],
                age=ages[i],
                need=need,  # type: ignore[arg-type]
                school_id=schools[i] or None,
                wheelchair=bool(wheelchair[i]),
                needs_pa=bool(pa[i]),
                solo=bool(solo[i]),
                max_ride_min=max_ride[i],
                stop_id=stops[i],
            )
        )
    return out


STOP_TOLERANCE_M = 25.0
"""Pupils of one stop must be within this distance of the stop's first pupil (a shared point)."""


def _stop_ids(
    table: _Table,
    ids: list[str],
    lat: list[float | None],
    lon: list[float | None],
    school_ids: set[str],
) -> list[str | None]:
    """The optional ``stop_id`` column: a shared pickup point (siblings, a collection point).

    Pupils with the same stop_id board at one visit, so they must be at the same point (within
    :data:`STOP_TOLERANCE_M`). A stop may serve pupils of several schools (each school's
    vehicle visits it for its own pupils). A stop id names a point in a travel matrix beside
    school ids and the ids of pupils without a stop, so it must not equal either.
    """
    from transport.geo import great_circle_miles

    if "stop_id" not in table.frame.columns:
        return [None] * len(ids)
    cells = table.cells("stop_id")
    door_to_door = {pid for pid, stop in zip(ids, cells, strict=True) if pid and not stop}
    first: dict[str, int] = {}
    for i, stop in enumerate(cells):
        if not stop:
            continue
        if stop in school_ids:
            table.add(i, "stop_id", f"stop_id {stop!r} is also a school_id: give stops own ids")
        elif stop in door_to_door:
            table.add(
                i, "stop_id", f"stop_id {stop!r} is also the pupil_id of a pupil without a stop"
            )
        if stop not in first:
            first[stop] = i
            continue
        j = first[stop]
        if None in (lat[i], lon[i], lat[j], lon[j]):
            continue
        metres = 1609.344 * float(
            great_circle_miles(np.array([[lat[i], lon[i]]]), np.array([[lat[j], lon[j]]]))[0, 0]
        )
        if metres > STOP_TOLERANCE_M:
            table.add(
                i,
                "stop_id",
                f"stop_id {stop!r} is {metres:,.0f} m from the same stop on row {j + 2}: "
                "pupils of one stop board at one point",
            )
    return [c or None for c in cells]


def _vehicles(table: _Table) -> list[VehicleType | None]:
    if not table.require_columns(VEHICLE_COLUMNS):
        return []
    if len(table.frame) == 0:
        table.add(None, None, "no vehicle types: at least one row is needed")
    ids = table.ids("vehicle_type")
    seats, wc = table.ints("seats"), table.ints("wheelchair_spaces")
    day, mile = table.floats("day_rate"), table.floats("per_mile")
    available = table.ints("available", blank=None)
    out: list[VehicleType | None] = []
    for i in range(len(ids)):
        if seats[i] is not None and seats[i] < 1:
            table.add(i, "seats", f"a vehicle with {seats[i]} seats cannot carry anyone")
        if wc[i] is not None and wc[i] < 0:
            table.add(i, "wheelchair_spaces", f"{wc[i]} is negative")
        for col, v in (("day_rate", day[i]), ("per_mile", mile[i])):
            if v is not None and v < 0:
                table.add(i, col, f"{v:g} is negative")
        if available[i] is not None and available[i] < 0:
            table.add(i, "available", f"{available[i]} is negative")
    check_vehicle_bounds(table, seats, wc, day, mile, available)
    for i in range(len(ids)):
        if any(v is None for v in (seats[i], wc[i], day[i], mile[i])):
            out.append(None)
            continue
        out.append(VehicleType(ids[i], seats[i], wc[i], day[i], mile[i], available[i]))
    return out


def _incompatible(table: _Table, pupil_ids: set[str]) -> list[tuple[str, str]]:
    if not table.require_columns(INCOMPATIBLE_COLUMNS):
        return []
    pairs: list[tuple[str, str]] = []
    a_ids, b_ids = table.cells("pupil_a"), table.cells("pupil_b")
    for i, (a, b) in enumerate(zip(a_ids, b_ids, strict=True)):
        ok = True
        for col, v in (("pupil_a", a), ("pupil_b", b)):
            if v not in pupil_ids:
                table.add(i, col, "unknown pupil_id (not in pupils.csv)" if v else "is blank")
                ok = False
        if ok and a == b:
            table.add(i, "pupil_b", "a pupil cannot be incompatible with themselves")
            ok = False
        if ok:
            pairs.append((a, b) if a < b else (b, a))
    return sorted(set(pairs))


def validate_tables(raw: RawTables) -> Dataset:
    """Check every row of every table and build the :class:`Dataset`.

    Raises
    ------
    InputError
        Listing every problem found, each with file, row and column.
    """
    problems: list[Problem] = []
    schools_t = _Table(raw.schools, "schools.csv", problems)
    pupils_t = _Table(raw.pupils, "pupils.csv", problems)
    vehicles_t = _Table(raw.vehicles, "vehicles.csv", problems)
    if len(raw.schools) == 0:
        schools_t.add(None, None, "no schools: at least one row is needed")
    if len(raw.pupils) == 0:
        pupils_t.add(None, None, "no pupils: at least one row is needed")
    schools = _schools(schools_t)
    school_ids = set(schools_t.cells("school_id")) - {""}
    pupils = _pupils(pupils_t, school_ids)
    vehicles = _vehicles(vehicles_t)
    pairs: list[tuple[str, str]] = []
    if raw.incompatible is not None:
        pupil_ids = set(pupils_t.cells("pupil_id")) - {""}
        pairs = _incompatible(_Table(raw.incompatible, "incompatible.csv", problems), pupil_ids)
    if problems:
        order = {"schools.csv": 0, "pupils.csv": 1, "vehicles.csv": 2, "incompatible.csv": 3}
        problems.sort(key=lambda p: (order.get(p.file, 9), p.row or 0))
        raise InputError(problems)
    return Dataset(
        schools=tuple(s for s in schools if s is not None),
        pupils=tuple(p for p in pupils if p is not None),
        vehicles=tuple(v for v in vehicles if v is not None),
        incompatible=tuple(pairs),
        source=raw.source,
    )


def dataset_from_frames(
    schools: pd.DataFrame,
    pupils: pd.DataFrame,
    vehicles: pd.DataFrame,
    incompatible: pd.DataFrame | None = None,
    *,
    source: str = "<frames>",
) -> Dataset:
    """Validate DataFrames laid out as the contract's CSV files (any dtypes)."""

    def text(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out.columns = [str(c).strip().lower() for c in out.columns]
        return out.astype(object).where(out.notna(), "").astype(str)

    raw = RawTables(
        schools=text(schools),
        pupils=text(pupils),
        vehicles=text(vehicles),
        incompatible=None if incompatible is None else text(incompatible),
        source=source,
    )
    return validate_tables(raw)


def read_dataset(folder: str | Path) -> Dataset:
    """Load and validate a data folder (the usual entry point).

    Examples
    --------
    >>> data = read_dataset("data/kent")  # doctest: +SKIP
    >>> len(data.pupils)  # doctest: +SKIP
    4200
    """
    return validate_tables(load_tables(folder))
