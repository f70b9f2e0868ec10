"""Cohorts: which pupils are priced, by the district of their home.

The Kent trial ran in Ashford and Shepway; Shepway has been the district of Folkestone and Hythe
since 2018, so "Shepway" is accepted as its alias. District names match whatever their case,
spacing or ``&``/``and`` spelling; a name the data set does not hold is an error, never an
empty cohort.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from transport.data.districts import DISTRICT_ALIASES, district_key
from transport.errors import ScenarioError

TRIAL = ("Ashford", "Folkestone and Hythe")
"""The Kent PTB trial's districts (Ashford and Shepway)."""

COUNTYWIDE = "*"
"""The districts entry that stands for every district."""

COHORTS = {"trial": TRIAL, "countywide": (COUNTYWIDE,)}

ALIASES = DISTRICT_ALIASES
_key = district_key


def resolve_districts(names: Sequence[str], known: Iterable[str]) -> tuple[str, ...] | None:
    """The data set's spelling of the named districts; ``None`` for county-wide (``"*"``).

    Raises
    ------
    ScenarioError
        When a name matches no district of the data set (all unknown names listed).
    """
    if any(n.strip() == COUNTYWIDE for n in names):
        return None
    spelling = {_key(k): k for k in known}
    unknown = [n for n in names if _key(n) not in spelling]
    if unknown:
        listed = ", ".join(sorted(spelling.values()))
        raise ScenarioError(
            f"unknown district{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)} (the data holds: {listed}; "
            f'"Shepway" means Folkestone and Hythe; "*" is county-wide)'
        )
    out: list[str] = []
    for n in names:
        if spelling[_key(n)] not in out:
            out.append(spelling[_key(n)])
    return tuple(out)


def split_districts(text: str) -> tuple[str, ...]:
    """``"Ashford, Folkestone and Hythe"`` → ``("Ashford", "Folkestone and Hythe")``."""
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if not parts:
        raise ScenarioError("--districts names no district")
    return parts


def cohort_label(districts: tuple[str, ...] | None) -> str:
    """A short name for a cohort: ``trial``, ``countywide`` or its districts."""
    if districts is None:
        return "countywide"
    if {_key(d) for d in districts} == {_key(d) for d in TRIAL}:
        return "trial"
    return ", ".join(districts)
