"""Bounds and characters of the data folder's values: what validation refuses beyond types.

Every number of a data folder must be finite and within these bounds (documented in
docs/formats.md, "Output folders and safety rules"), so that no absurd value (``1e300``,
``inf``) reaches a cost or a time; ids hold no character that would break an output; and no
pupil is given a pickup before midnight. :mod:`transport.data.validate` calls the checks;
each records its problems on the table it is given (file, row, column) and drops the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transport.model import Dataset, Pupil

if TYPE_CHECKING:
    from transport.data.validate import _Table

BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)
MIN_AGE, MAX_AGE = 2, 25
MAX_CAPACITY = 100_000
MAX_PLACE_COST = 1_000_000.0  # £ a year
MAX_SEATS = 100
MAX_WHEELCHAIR_SPACES = 50
MAX_DAY_RATE = 10_000.0  # £ a day
MAX_PER_MILE = 100.0  # £ a mile
MAX_AVAILABLE = 100_000
MIN_RIDE_LIMIT, MAX_RIDE_LIMIT = 1, 300  # minutes
ARRIVE_BY = (5 * 60, 12 * 60)
"""Earliest and latest ``arrive_by`` (05:00-12:00): a morning arrival, and never so early that
a ride of the longest limit a pupil may have (300 minutes) would start before midnight."""
LOCATION_COLUMNS = ("lat", "lon", "easting", "northing", "postcode")
ID_FORMULA_START = ("=", "+", "@")


def check_id_characters(table: _Table, column: str, values: list[str], *, personal: bool) -> None:
    """Ids hold no control characters, no ``;`` where ids are listed ``;``-separated (a pupil's,
    in routes.csv) and do not start like a spreadsheet formula (``=``, ``+``, ``@``)."""
    for i, v in enumerate(values):
        if not v:
            continue
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in v):
            table.add(i, column, "holds a control character (a tab, a line break…)")
        elif personal and ";" in v:
            table.add(i, column, "holds ';', which separates the pupils of a route in routes.csv")
        elif v.startswith(ID_FORMULA_START):
            table.add(
                i, column, "starts with '=', '+' or '@': a spreadsheet would read it as a formula"
            )


def check_grid_bounds(table: _Table, east: list[float | None], north: list[float | None]) -> None:
    """Eastings and northings inside the British National Grid (else dropped)."""
    for column, values, (low, high) in (
        ("easting", east, BNG_EASTING),
        ("northing", north, BNG_NORTHING),
    ):
        for i, v in enumerate(values):
            if v is not None and not low <= v <= high:
                table.add(
                    i,
                    column,
                    f"is outside the British National Grid ({low:,.0f}-{high:,.0f} metres)",
                )
                east[i] = north[i] = None


def check_arrive_by(table: _Table, arrive: list[int | None]) -> None:
    """``arrive_by`` between 05:00 and 12:00 (:data:`ARRIVE_BY`), else dropped."""
    low, high = ARRIVE_BY
    for i, v in enumerate(arrive):
        if v is not None and not low <= v <= high:
            table.add(
                i,
                "arrive_by",
                f"{v // 60:02d}:{v % 60:02d} is outside {low // 60:02d}:00-{high // 60:02d}:00: "
                "a morning arrival late enough that no pickup falls before midnight",
            )
            arrive[i] = None


def check_vehicle_bounds(
    table: _Table,
    seats: list[int | None],
    wheelchair: list[int | None],
    day_rate: list[float | None],
    per_mile: list[float | None],
    available: list[int | None],
) -> None:
    """Vehicle figures no larger than :data:`MAX_SEATS`, :data:`MAX_WHEELCHAIR_SPACES`,
    :data:`MAX_DAY_RATE`, :data:`MAX_PER_MILE`, :data:`MAX_AVAILABLE` (negatives are reported
    by the vehicle table itself); a value out of bounds is dropped."""
    for column, values, high, unit in (
        ("seats", seats, MAX_SEATS, " seats"),
        ("wheelchair_spaces", wheelchair, MAX_WHEELCHAIR_SPACES, " spaces"),
        ("day_rate", day_rate, MAX_DAY_RATE, ""),
        ("per_mile", per_mile, MAX_PER_MILE, ""),
        ("available", available, MAX_AVAILABLE, " vehicles"),
    ):
        for i, v in enumerate(values):
            if v is None:
                continue
            if v < 0 or (column == "seats" and v < 1):
                values[i] = None  # already reported
            elif v > high:
                table.add(i, column, f"{v:g}{unit} is more than the possible {high:g}{unit}")
                values[i] = None


def early_pickups(
    data: Dataset, placements: Any, *, longest_ride: Callable[[Pupil, float], float]
) -> dict[str, str]:
    """Pupils whose pickup could fall before midnight: those whose longest possible ride
    (``longest_ride(pupil, direct_min)``, their effective ride limit) is longer than the time
    from midnight to their school's ``arrive_by``. Returns ``{pupil_id: reason}``; the
    routing stage leaves them unrouted with that reason."""
    out: dict[str, str] = {}
    pupils, schools = data.pupil_by_id, data.school_by_id
    for p in placements.placements:
        pupil, school = pupils.get(p.pupil_id), schools.get(p.school_id)
        if pupil is None or school is None:
            continue
        longest = longest_ride(pupil, p.direct_min)
        if not math.isfinite(longest) or longest > school.arrive_by:
            out[p.pupil_id] = (
                f"a ride of up to {longest:.0f} min would start before midnight to arrive by "
                f"{school.arrive_by // 60:02d}:{school.arrive_by % 60:02d}"
            )
    return out
