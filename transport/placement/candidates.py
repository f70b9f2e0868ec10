"""Candidates for new places: new sites that could open and existing schools that could grow.

``candidates.csv`` (documented column by column in docs/formats.md) holds two kinds of row:

* a **new site** (``site_id`` filled): ``site_id, name, lat, lon, needs, age_min, age_max,
  max_places, place_cost, build_cost`` and, optionally, ``kind`` (``special`` or
  ``resourced``, default ``special``), ``district`` and ``arrive_by`` (default 09:00);
* an **expansion** (``school_id`` filled): an existing school of schools.csv may gain at most
  ``max_extra`` places; ``build_cost`` (optional, default 0) is the one-off cost of expanding it
  at all.

The file is validated like every input: every problem is collected (file, row, column, what is
wrong) and raised once as an :class:`~transport.errors.InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transport.data.load import read_csv_file
from transport.data.validate import parse_hhmm
from transport.errors import InputError, Problem
from transport.model import ANY_NEED, NEED_CODES, Dataset, School

SITE_COLUMNS = (
    "site_id",
    "name",
    "lat",
    "lon",
    "needs",
    "age_min",
    "age_max",
    "max_places",
    "place_cost",
    "build_cost",
)
EXPANSION_COLUMNS = ("school_id", "max_extra")
OPTIONAL_COLUMNS = ("kind", "district", "arrive_by")
SITE_KINDS = ("special", "resourced")
DEFAULT_ARRIVE_BY = 9 * 60
GB_LAT = (49.8, 60.9)
GB_LON = (-8.7, 1.8)
MIN_AGE, MAX_AGE = 2, 25
_NEED_LOOKUP = {code.upper(): code for code in NEED_CODES}


@dataclass(frozen=True, slots=True)
class NewSite:
    """A site where a new school (or unit) could open, with its places and costs."""

    site_id: str
    name: str
    lat: float
    lon: float
    needs: frozenset[str]
    age_min: int
    age_max: int
    max_places: int
    place_cost: float
    build_cost: float
    kind: str = "special"
    district: str = ""
    arrive_by: int = DEFAULT_ARRIVE_BY

    def serves(self, need: str, age: int) -> bool:
        """Whether the site would suit a pupil of this need and age."""
        return (
            ANY_NEED in self.needs or need in self.needs
        ) and self.age_min <= age <= self.age_max

    def as_school(self, capacity: int) -> School:
        """The site as a school of the data set, with ``capacity`` places."""
        return School(
            school_id=self.site_id,
            name=self.name,
            lat=self.lat,
            lon=self.lon,
            district=self.district,
            kind=self.kind,
            age_min=self.age_min,
            age_max=self.age_max,
            needs=self.needs,
            capacity=capacity,
            place_cost=self.place_cost,
            arrive_by=self.arrive_by,
        )


@dataclass(frozen=True, slots=True)
class Expansion:
    """An existing school that may gain at most ``max_extra`` places."""

    school_id: str
    max_extra: int
    build_cost: float = 0.0


@dataclass(frozen=True)
class Candidates:
    """The new sites and expansions of a candidates file."""

    sites: tuple[NewSite, ...] = ()
    expansions: tuple[Expansion, ...] = ()
    source: str = ""

    def only_serving(self, needs: Sequence[str], data: Dataset) -> Candidates:
        """The candidates serving at least one of ``needs`` (all of them when empty)."""
        if not needs:
            return self
        wanted = set(needs)

        def ok(served: frozenset[str]) -> bool:
            return ANY_NEED in served or bool(served & wanted)

        schools = data.school_by_id
        return Candidates(
            sites=tuple(s for s in self.sites if ok(s.needs)),
            expansions=tuple(e for e in self.expansions if ok(schools[e.school_id].needs)),
            source=self.source,
        )


def _in_great_britain(lat: float, lon: float) -> bool:
    return GB_LAT[0] <= lat <= GB_LAT[1] and GB_LON[0] <= lon <= GB_LON[1]


def _number(text: str, *, whole: bool) -> float | int:
    value = float(text.replace(",", "").replace("£", ""))
    if not math.isfinite(value):
        raise ValueError(text)
    if whole:
        if value != int(value):
            raise ValueError(text)
        return int(value)
    return value


class _Rows:
    """The rows of the candidates file, with typed accessors that record every problem."""

    def __init__(self, frame: pd.DataFrame, file: str) -> None:
        self.frame = frame
        self.file = file
        self.columns = set(frame.columns)
        self.problems: list[Problem] = []

    def add(self, i: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, None if i is None else i + 2, column, message))

    def cell(self, i: int, column: str) -> str:
        return str(self.frame.iloc[i][column]).strip() if column in self.columns else ""

    def number(
        self, i: int, column: str, *, whole: bool, minimum: float, blank: float | None = None
    ) -> float | None:
        """A finite number ≥ ``minimum`` (``blank`` when the cell is empty and that is allowed)."""
        text = self.cell(i, column)
        what = "a whole number" if whole else "a number"
        if text == "":
            if blank is not None:
                return blank
            self.add(i, column, f"is blank; expected {what}")
            return None
        try:
            value = _number(text, whole=whole)
        except (ValueError, TypeError):
            self.add(i, column, f"{text!r} is not {what} (finite)")
            return None
        if value < minimum:
            self.add(i, column, f"{value:g} is below the least allowed, {minimum:g}")
            return None
        return value


def read_candidates(path: str | Path, data: Dataset) -> Candidates:
    """Read and validate a candidates file against the data set it will extend.

    Parameters
    ----------
    path
        The candidates CSV file.
    data
        The validated data set (schools named by expansion rows must be in it; new site ids
        must not clash with its school ids).

    Returns
    -------
    Candidates
        New sites and expansions, in file order.

    Raises
    ------
    InputError
        Listing every problem: missing columns, rows that are neither a site nor an
        expansion, duplicate site ids, unknown schools, unknown need codes, negative or
        non-finite numbers, impossible ages or locations.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), None, None, "the candidates file does not exist")])
    rows = _Rows(read_csv_file(path), path.name)
    if "site_id" not in rows.columns and "school_id" not in rows.columns:
        rows.add(None, "site_id", "the file needs a site_id column (new sites) or school_id rows")
        raise InputError(rows.problems)
    if "site_id" in rows.columns:
        for col in SITE_COLUMNS:
            if col not in rows.columns:
                rows.add(None, col, "required column is missing (new-site rows need it)")
    if "school_id" in rows.columns and "max_extra" not in rows.columns:
        rows.add(None, "max_extra", "required column is missing (expansion rows need it)")
    if rows.problems:
        raise InputError(rows.problems)
    schools = data.school_by_id
    sites: list[NewSite] = []
    expansions: list[Expansion] = []
    seen_sites: dict[str, int] = {}
    seen_schools: dict[str, int] = {}
    for i in range(len(rows.frame)):
        site_id, school_id = rows.cell(i, "site_id"), rows.cell(i, "school_id")
        if site_id and school_id:
            rows.add(i, "school_id", "give site_id (a new site) or school_id, not both")
        elif not site_id and not school_id:
            rows.add(i, "site_id", "is blank; give site_id (a new site) or school_id (a school)")
        elif school_id:
            expansion = _expansion(rows, i, school_id, schools, seen_schools)
            if expansion is not None:
                expansions.append(expansion)
        else:
            clash = site_id in seen_sites or site_id in schools
            if site_id in seen_sites:
                first = seen_sites[site_id] + 2
                rows.add(i, "site_id", f"duplicate site id {site_id!r} (first on row {first})")
            elif site_id in schools:
                rows.add(i, "site_id", f"site id {site_id!r} is already a school in schools.csv")
            seen_sites.setdefault(site_id, i)
            site = _site(rows, i, site_id)
            if site is not None and not clash:
                sites.append(site)
    if rows.problems:
        raise InputError(rows.problems)
    return Candidates(tuple(sites), tuple(expansions), source=str(path))


def _expansion(
    rows: _Rows, i: int, school_id: str, schools: dict[str, School], seen: dict[str, int]
) -> Expansion | None:
    """One expansion row, or None (its problems recorded)."""
    ok = True
    if school_id not in schools:
        rows.add(i, "school_id", f"no school {school_id!r} in schools.csv")
        ok = False
    elif school_id in seen:
        first = seen[school_id] + 2
        rows.add(i, "school_id", f"school {school_id!r} already has a row (row {first})")
        ok = False
    else:
        seen[school_id] = i
    extra = rows.number(i, "max_extra", whole=True, minimum=1)
    build = rows.number(i, "build_cost", whole=False, minimum=0, blank=0.0)
    if not ok or extra is None or build is None:
        return None
    return Expansion(school_id, int(extra), float(build))


def _site(rows: _Rows, i: int, site_id: str) -> NewSite | None:
    """One new-site row, or None (its problems recorded)."""
    ok = True
    name = rows.cell(i, "name")
    if not name:
        rows.add(i, "name", "is blank; name the site")
        ok = False
    lat = rows.number(i, "lat", whole=False, minimum=-90.0)
    lon = rows.number(i, "lon", whole=False, minimum=-180.0)
    if lat is not None and lon is not None and not _in_great_britain(lat, lon):
        rows.add(i, "lat", f"({lat}, {lon}) is outside Great Britain")
        ok = False
    needs: set[str] = set()
    codes = [c.strip() for c in rows.cell(i, "needs").replace(",", ";").split(";") if c.strip()]
    if not codes:
        rows.add(i, "needs", "is blank; give need codes separated by ';' or '*'")
        ok = False
    for code in codes:
        if code == ANY_NEED:
            needs.add(ANY_NEED)
        elif code.upper() in _NEED_LOOKUP:
            needs.add(_NEED_LOOKUP[code.upper()])
        else:
            known = ", ".join(NEED_CODES)
            rows.add(i, "needs", f"unknown need code {code!r} (known: {known}, *)")
            ok = False
    age_min = rows.number(i, "age_min", whole=True, minimum=MIN_AGE)
    age_max = rows.number(i, "age_max", whole=True, minimum=MIN_AGE)
    for col, age in (("age_min", age_min), ("age_max", age_max)):
        if age is not None and age > MAX_AGE:
            rows.add(i, col, f"age {age:g} is impossible for a school ({MIN_AGE}-{MAX_AGE})")
            ok = False
    if age_min is not None and age_max is not None and age_min > age_max:
        rows.add(i, "age_max", f"age_max {age_max:g} is below age_min {age_min:g}")
        ok = False
    max_places = rows.number(i, "max_places", whole=True, minimum=1)
    place_cost = rows.number(i, "place_cost", whole=False, minimum=0)
    build_cost = rows.number(i, "build_cost", whole=False, minimum=0)
    kind = (rows.cell(i, "kind") or "special").lower()
    if kind not in SITE_KINDS:
        rows.add(i, "kind", f"{kind!r} is not one of {', '.join(SITE_KINDS)}")
        ok = False
    arrive_by = DEFAULT_ARRIVE_BY
    text = rows.cell(i, "arrive_by")
    if text:
        try:
            arrive_by = parse_hhmm(text)
        except ValueError:
            rows.add(i, "arrive_by", f"{text!r} is not a time HH:MM")
            ok = False
    if not ok:
        return None
    if None in (lat, lon, age_min, age_max, max_places, place_cost, build_cost):
        return None
    return NewSite(
        site_id=site_id,
        name=name,
        lat=float(lat),  # type: ignore[arg-type]
        lon=float(lon),  # type: ignore[arg-type]
        needs=frozenset(needs),
        age_min=int(age_min),  # type: ignore[arg-type]
        age_max=int(age_max),  # type: ignore[arg-type]
        max_places=int(max_places),  # type: ignore[arg-type]
        place_cost=float(place_cost),  # type: ignore[arg-type]
        build_cost=float(build_cost),  # type: ignore[arg-type]
        kind=kind,
        district=rows.cell(i, "district"),
        arrive_by=arrive_by,
    )
