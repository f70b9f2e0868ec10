"""Pricing: a personal transport budget (PTB) for each pupil, under the scenario's rule.

Rules (``[budgets] rule``):

``kent-bands``
    Kent's fixed bands by *straight-line* home → school miles: under 5 miles £2,000 a year,
    5 up to and including 10 miles £3,000, over 10 miles £5,000. Edges: exactly 5 miles is in
    the £3,000 band, and so is exactly 10 miles. The band is read from ``straight_miles`` as
    written to budgets.csv (rounded to the hundredth of a mile), so the file explains itself.
``bands``
    Custom bands ``[[upper_miles, amount], …]`` on straight-line miles: a pupil is in the first
    band whose upper limit is at least their miles (upper limits included; ``inf`` allowed);
    beyond the last upper limit the last band's amount applies.
``mileage``
    ``mileage_rate`` (default 45p) × 4 legs (two return journeys a day) × home → school *road*
    miles (placements.csv) × school days.
``share``
    ``share`` (default 0.8) × the pupil's current transport cost: their route's annual cost
    divided equally among the pupils on it.

Then, for every rule: pro rata for part-time pupils (``attendance.csv`` in the data folder,
columns ``pupil_id, fraction``, a fraction in (0, 1] or a percentage; pupils not listed attend
full time), and for pupils aged 16 to 19 the price of the council's 16+ Travel Saver
(``travel_saver_cost``, an assumption to set) is deducted, never below £0. The budget is paid in
11 monthly instalments (September to July): ``monthly_instalment = annual_budget / 11``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from transport.audit import record_input
from transport.data.load import decode_text, parse_csv_text, read_file_bytes
from transport.errors import InputError, Problem
from transport.scenario import BudgetSettings

INSTALMENTS = 11
"""Monthly instalments a year (paid on the 15th, September to July)."""

LEGS_PER_DAY = 4
"""Two return journeys a day: to school and back, twice."""

TRAVEL_SAVER_AGES = (16, 19)
"""Ages (inclusive) whose budget has the 16+ Travel Saver price deducted."""

KENT_BANDS = ((5.0, 2000.0), (10.0, 3000.0), (math.inf, 5000.0))
"""Kent's bands: under 5 miles, 5 to 10 miles (both included), over 10 miles."""

ATTENDANCE_FILE = "attendance.csv"


@dataclass(frozen=True, slots=True)
class PricedPupil:
    """One pupil's budget at the rule's level, with what the letter needs to explain it."""

    pupil_id: str
    district: str
    school_id: str
    route_id: str
    age: int
    straight_miles: float
    road_miles: float
    current_cost: float
    rule: str
    rule_amount: float
    rule_basis: str
    attendance: float
    travel_saver: float

    def annual(self, level: float = 1.0) -> float:
        """The annual budget at ``level`` × the rule's amount (pro rata, Travel Saver off)."""
        return max(0.0, round(self.rule_amount * level * self.attendance - self.travel_saver, 2))

    def monthly(self, level: float = 1.0) -> float:
        return round(self.annual(level) / INSTALMENTS, 2)

    def basis(self, level: float = 1.0) -> str:
        """How the budget is worked out, e.g. ``band 5-10 miles × 0.60 attendance``."""
        text = self.rule_basis
        if level != 1.0:
            text += f" × {level:g} offer level"
        if self.attendance < 1.0:
            text += f" × {self.attendance:.2f} attendance"
        if self.travel_saver > 0:
            text += f" − £{self.travel_saver:,.2f} 16+ Travel Saver"
        return text


def kent_band(miles: float) -> tuple[float, str]:
    """Kent's band for straight-line ``miles``: exactly 5 and exactly 10 → £3,000.

    Examples
    --------
    >>> kent_band(4.99), kent_band(5.0), kent_band(10.0), kent_band(10.01)
    ((2000.0, 'band under 5 miles'), (3000.0, 'band 5-10 miles'), \
(3000.0, 'band 5-10 miles'), (5000.0, 'band over 10 miles'))
    """
    if miles < 5.0:
        return 2000.0, "band under 5 miles"
    if miles <= 10.0:
        return 3000.0, "band 5-10 miles"
    return 5000.0, "band over 10 miles"


def custom_band(miles: float, bands: tuple[tuple[float, float], ...]) -> tuple[float, str]:
    """The first band whose upper limit is at least ``miles`` (the last band beyond them all).

    Examples
    --------
    >>> custom_band(5.0, ((5.0, 2000.0), (math.inf, 4000.0)))
    (2000.0, 'band up to 5 miles')
    >>> custom_band(7.5, ((5.0, 2000.0), (math.inf, 4000.0)))
    (4000.0, 'band over 5 miles')
    """
    lower = 0.0
    for upper, amount in bands:
        if miles <= upper:
            if math.isinf(upper):
                return amount, f"band over {lower:g} miles"
            if lower == 0.0:
                return amount, f"band up to {upper:g} miles"
            return amount, f"band {lower:g}-{upper:g} miles"
        lower = upper
    return bands[-1][1], f"band over {lower:g} miles (last band)"


def rule_amount(
    settings: BudgetSettings,
    *,
    straight_miles: float,
    road_miles: float,
    route_cost: float,
    route_pupils: int,
    school_days: int,
) -> tuple[float, str]:
    """The rule's full-time annual amount (before pro rata and Travel Saver) and its basis."""
    rule = settings.rule
    if rule == "kent-bands":
        return kent_band(straight_miles)
    if rule == "bands":
        return custom_band(straight_miles, settings.bands)
    if rule == "mileage":
        amount = settings.mileage_rate * LEGS_PER_DAY * road_miles * school_days
        basis = (
            f"{road_miles:.2f} road miles × {LEGS_PER_DAY} legs × {school_days} days × "
            f"£{settings.mileage_rate:.2f}"
        )
        return round(amount, 2), basis
    if rule == "share":
        amount = settings.share * route_cost / max(route_pupils, 1)
        basis = (
            f"{settings.share:.0%} of £{route_cost:,.2f} route cost ÷ {route_pupils} "
            f"pupil{'s' if route_pupils != 1 else ''}"
        )
        return round(amount, 2), basis
    raise ValueError(f"unknown budget rule {rule!r}")  # BudgetSettings rejects it earlier


def price_pupil(
    settings: BudgetSettings,
    *,
    pupil_id: str,
    district: str,
    age: int,
    school_id: str,
    route_id: str,
    straight_miles: float,
    road_miles: float,
    route_cost: float,
    route_pupils: int,
    school_days: int,
    attendance: float = 1.0,
) -> PricedPupil:
    """Price one pupil's budget under the scenario's rule.

    ``straight_miles`` and ``road_miles`` are rounded to the hundredth of a mile first, as
    budgets.csv shows them; ``route_cost`` is the annual cost of the pupil's route, shared
    equally among its ``route_pupils`` for the pupil's current cost.
    """
    straight = round(straight_miles, 2)
    road = round(road_miles, 2)
    amount, basis = rule_amount(
        settings,
        straight_miles=straight,
        road_miles=road,
        route_cost=route_cost,
        route_pupils=route_pupils,
        school_days=school_days,
    )
    lo, hi = TRAVEL_SAVER_AGES
    return PricedPupil(
        pupil_id=pupil_id,
        district=district,
        school_id=school_id,
        route_id=route_id,
        age=age,
        straight_miles=straight,
        road_miles=road,
        current_cost=round(route_cost / max(route_pupils, 1), 2),
        rule=settings.rule,
        rule_amount=amount,
        rule_basis=basis,
        attendance=attendance,
        travel_saver=settings.travel_saver_cost if lo <= age <= hi else 0.0,
    )


# --------------------------------------------------------------------------------------------
# Part-time attendance


def parse_attendance(
    text: str, known: set[str], *, file: str = ATTENDANCE_FILE
) -> dict[str, float]:
    """Parse attendance.csv text (``pupil_id, fraction``) into part-time fractions.

    A fraction is in (0, 1] (``0.6``) or a percentage (``60%``). Every problem is reported at
    once, with its row.

    Raises
    ------
    InputError
        Missing columns, unknown or repeated pupils, fractions that are not numbers in (0, 1].
    """
    frame = parse_csv_text(text, file=file)
    missing = [c for c in ("pupil_id", "fraction") if c not in frame.columns]
    if missing:
        raise InputError([Problem(file, 1, c, "required column is missing") for c in missing])
    out: dict[str, float] = {}
    problems: list[Problem] = []
    rows = frame.attrs.get("rows") or range(2, len(frame) + 2)
    for row, pid, raw in zip(rows, frame["pupil_id"], frame["fraction"], strict=True):
        try:
            value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
        except ValueError:
            problems.append(Problem(file, row, "fraction", f"not a number: {raw!r}"))
            continue
        if not 0.0 < value <= 1.0 or math.isnan(value):
            problems.append(Problem(file, row, "fraction", f"must be in (0, 1], got {raw!r}"))
        elif pid not in known:
            problems.append(Problem(file, row, "pupil_id", "a pupil not in pupils.csv"))
        elif pid in out:
            problems.append(Problem(file, row, "pupil_id", "the pupil is listed twice"))
        else:
            out[pid] = value
    if problems:
        raise InputError(problems)
    return out


def read_attendance(folder: str | Path, known: set[str]) -> dict[str, float]:
    """Part-time fractions from ``attendance.csv`` in the data folder (``{}`` when absent)."""
    path = Path(folder) / ATTENDANCE_FILE
    if not os.path.lexists(path):
        return {}
    raw = read_file_bytes(path)  # a folder, NUL, Excel: named
    record_input(path, raw, role="data")
    text = decode_text(raw, file=path.name)
    return parse_attendance(text, known, file=path.name)
