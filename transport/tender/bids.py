"""Bids and bidders: bids.csv and operators.csv, every problem found at once.

``bids.csv``: ``operator_id, lot_id, daily_price`` (one row per bid; other columns are
ignored). ``daily_price`` is pounds and pence per school day (``61.45``; a leading ``£`` and
thousands separators are accepted), finite, not negative, in whole pence. An operator bids for
a lot at most once.

``operators.csv`` (optional): ``operator_id`` (required), ``name``, ``phone``, ``max_lots`` and
one column per vehicle type of the tender (how many vehicles of that type the operator can
run); a blank cell means no limit. Any other column is an error (a misspelt vehicle type must
not silently lift a limit). When the file is given, every bidder must be in it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from transport.data.load import read_csv_file
from transport.errors import InputError, Problem
from transport.tender.lots import LotRecord

BID_COLUMNS: tuple[str, ...] = ("operator_id", "lot_id", "daily_price")
OPERATOR_COLUMNS: tuple[str, ...] = ("operator_id", "name", "phone", "max_lots")
MAX_DAILY_PRICE = 100_000
"""A daily price above this many pounds is taken for a typing error (an annual price?)."""


@dataclass(frozen=True, slots=True)
class Bid:
    """One operator's daily price for one lot; ``row`` is its line in bids.csv."""

    row: int
    operator_id: str
    lot_id: str
    daily_pence: int

    @property
    def daily_price(self) -> Decimal:
        return Decimal(self.daily_pence) / 100


@dataclass(frozen=True)
class Operator:
    """A bidder: contact details and limits (``None`` = no limit)."""

    operator_id: str
    name: str = ""
    phone: str = ""
    max_lots: int | None = None
    vehicles: Mapping[str, int] = field(default_factory=dict)

    def can_run(self, needed: Mapping[str, int]) -> bool:
        """Whether the operator's fleet could run a lot needing these vehicles on its own."""
        if self.max_lots is not None and self.max_lots < 1:
            return False
        return all(self.vehicles.get(t, n) >= n for t, n in needed.items())


@dataclass(frozen=True)
class BidBook:
    """Validated bids and bidders."""

    bids: tuple[Bid, ...]
    operators: dict[str, Operator]
    operators_given: bool


def parse_price(text: str) -> int:
    """A price in pounds (``"61.45"``, ``"£1,061.45"``) → whole pence.

    Raises
    ------
    ValueError
        With the reason, when the text is not a finite, non-negative amount in whole pence.

    Examples
    --------
    >>> parse_price("£1,061.45")
    106145
    """
    cleaned = text.strip().lstrip("£").replace(",", "").strip()
    if not cleaned:
        raise ValueError("is blank; expected a daily price in pounds")
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite amount")
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    if value > MAX_DAILY_PRICE:
        raise ValueError(f"{text!r} is over £{MAX_DAILY_PRICE:,} a day: not a daily price")
    pence = value * 100
    if pence != pence.to_integral_value():
        raise ValueError(f"{text!r} has fractions of a penny: give pounds and pence")
    return int(pence)


def _read(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    if not path.is_file():
        problems.append(Problem(path.name, None, None, f"file not found: {path}"))
        return None
    try:
        return read_csv_file(path)
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def read_operators(
    path: str | Path, *, vehicle_types: Collection[str], problems: list[Problem]
) -> dict[str, Operator] | None:
    """Read operators.csv, appending its problems to ``problems`` (None if unreadable)."""
    path = Path(path)
    frame = _read(path, problems)
    if frame is None:
        return None
    name = path.name
    known = set(OPERATOR_COLUMNS) | set(vehicle_types)
    for col in frame.columns:
        if col not in known:
            types = ", ".join(sorted(vehicle_types)) or "none"
            problems.append(
                Problem(
                    name,
                    1,
                    col,
                    f"unknown column: not operator_id, name, phone, max_lots or a vehicle "
                    f"type of the tender ({types})",
                )
            )
    if "operator_id" not in frame.columns:
        problems.append(Problem(name, 1, "operator_id", "required column is missing"))
        return None
    out: dict[str, Operator] = {}
    seen: dict[str, int] = {}
    limits = [c for c in frame.columns if c == "max_lots" or c in vehicle_types]
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2
        op = str(row["operator_id"]).strip()
        bad = False
        if not op:
            problems.append(Problem(name, line, "operator_id", "is blank"))
            bad = True
        elif op in seen:
            problems.append(Problem(name, line, "operator_id", f"{op} already on row {seen[op]}"))
            bad = True
        else:
            seen[op] = line
        values: dict[str, int] = {}
        for col in limits:
            text = str(row[col]).strip()
            if not text:
                continue
            try:
                values[col] = _whole(text)
            except (ValueError, ArithmeticError):
                problems.append(
                    Problem(name, line, col, f"{text!r} is not a whole number of 0 or more")
                )
                bad = True
        if bad:
            continue
        out[op] = Operator(
            operator_id=op,
            name=str(row.get("name", "") or "").strip(),
            phone=str(row.get("phone", "") or "").strip(),
            max_lots=values.pop("max_lots", None),
            vehicles=values,
        )
    return out


def _whole(text: str) -> int:
    value = Decimal(text.replace(",", ""))
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def read_bid_book(
    bids_path: str | Path,
    *,
    lots: Mapping[str, LotRecord],
    operators_path: str | Path | None = None,
    vehicle_types: Collection[str] = (),
) -> BidBook:
    """Read and check bids.csv (and operators.csv when given), every problem at once.

    Parameters
    ----------
    bids_path
        bids.csv.
    lots
        The tender's lots by id (bids for other lots are errors).
    operators_path
        operators.csv, or None (then every bidder is an operator without limits).
    vehicle_types
        The vehicle types operators.csv may have a column for.

    Raises
    ------
    InputError
        Naming every problem with its file, row and column: unknown lot or operator, a price
        that is blank, not a number, not finite, negative or in fractions of a penny, a
        duplicate bid, a bidder missing from operators.csv, malformed operators.csv rows.
    """
    problems: list[Problem] = []
    operators = None
    if operators_path is not None:
        operators = read_operators(operators_path, vehicle_types=vehicle_types, problems=problems)
    bids_path = Path(bids_path)
    frame = _read(bids_path, problems)
    bids: list[Bid] = []
    name = bids_path.name
    if frame is not None:
        missing = [c for c in BID_COLUMNS if c not in frame.columns]
        for col in missing:
            problems.append(Problem(name, 1, col, "required column is missing"))
        if not missing:
            if frame.empty:
                problems.append(Problem(name, None, None, "no bids: at least one row is needed"))
            seen: dict[tuple[str, str], int] = {}
            for i, row in enumerate(frame.to_dict("records")):
                line = i + 2
                op = str(row["operator_id"]).strip()
                lot = str(row["lot_id"]).strip()
                bad = False
                if not op:
                    problems.append(Problem(name, line, "operator_id", "is blank"))
                    bad = True
                elif operators is not None and op not in operators:
                    problems.append(
                        Problem(
                            name,
                            line,
                            "operator_id",
                            f"operator {op} is not in {Path(operators_path or '').name}",
                        )
                    )
                    bad = True
                if not lot:
                    problems.append(Problem(name, line, "lot_id", "is blank"))
                    bad = True
                elif lot not in lots:
                    problems.append(Problem(name, line, "lot_id", f"no lot {lot} in the tender"))
                    bad = True
                try:
                    pence = parse_price(str(row["daily_price"]))
                except ValueError as exc:
                    problems.append(Problem(name, line, "daily_price", str(exc)))
                    bad = True
                if op and lot:
                    if (op, lot) in seen:
                        problems.append(
                            Problem(
                                name,
                                line,
                                None,
                                f"duplicate bid: operator {op} already bid for lot {lot} "
                                f"on row {seen[(op, lot)]}",
                            )
                        )
                        bad = True
                    else:
                        seen[(op, lot)] = line
                if not bad:
                    bids.append(Bid(line, op, lot, pence))
    if problems:
        raise InputError(problems)
    if operators is None:
        operators = {b.operator_id: Operator(b.operator_id) for b in bids}
    return BidBook(tuple(bids), operators, operators_path is not None)
