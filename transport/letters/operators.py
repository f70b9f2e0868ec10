"""Which operator runs each route: ``route-operators.csv`` (written by ``award``) for letters.

Columns (the format decided for the project, COORDINATION.md): ``route_id``, ``operator_id``,
``operator_name``, ``phone`` (optional). A route not in the file simply has no operator line
in its families' letters.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from transport.errors import InputError, Problem
from transport.letters._table import read_table

_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,24}$")


@dataclass(frozen=True, slots=True)
class RouteOperator:
    route_id: str
    operator_id: str
    name: str
    phone: str


def read_route_operators(path: str | Path, *, routes: Collection[str]) -> dict[str, RouteOperator]:
    """Read ``route-operators.csv``; returns ``{route_id: RouteOperator}``.

    Raises
    ------
    InputError
        Listing every problem: a missing or malformed file, a route listed twice or not in the
        run (the file belongs to another plan), an operator with neither id nor name, a phone
        number that is not one.
    """
    name = str(path)
    rows = read_table(
        path,
        required=("route_id", "operator_id", "operator_name"),
        optional=("phone",),
        what="route operators file",
    )
    known = set(routes)
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    out: dict[str, RouteOperator] = {}
    for number, row in rows:
        route = row["route_id"]
        if not route:
            problems.append(Problem(name, number, "route_id", "is blank"))
            continue
        if route in seen:
            problems.append(Problem(name, number, "route_id", f"listed again (row {seen[route]})"))
            continue
        seen[route] = number
        if route not in known:
            problems.append(
                Problem(name, number, "route_id", "not a route of this run (another plan's file?)")
            )
            continue
        label = row["operator_name"] or row["operator_id"]
        if not label:
            problems.append(Problem(name, number, "operator_name", "no operator name or id"))
            continue
        phone = " ".join(row["phone"].split())
        if phone and not _PHONE.match(phone):
            problems.append(Problem(name, number, "phone", "not a telephone number"))
            continue
        out[route] = RouteOperator(route, row["operator_id"], label, phone)
    if problems:
        raise InputError(problems)
    return out
