"""The schools of the synthetic Kent data set: special, resourced and independent, with bell times.

The special schools are Kent's real ones at their real postcodes; the resourced provisions are
the 14 named units plus 33 generated ones; the independent and out-of-county schools are generic.
Every figure and assumption is in ``_kent_facts``; ``data/kent/README.md`` gives the sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from transport.data.geocode import KENT_DISTRICTS, geocode_postcodes, nearest_postcodes
from transport.datagen import _kent_facts as facts

SCHOOL_COLUMNS: tuple[str, ...] = (
    "school_id",
    "name",
    "lat",
    "lon",
    "district",
    "kind",
    "age_min",
    "age_max",
    "needs",
    "capacity",
    "place_cost",
    "arrive_by",
    "finish_at",
)

SPECIAL_PLACE_COST = 20_000.0
RESOURCED_PLACE_COST = 15_000.0
TOWN_RADIUS_POSTCODES = 40
"""A generated site takes one of the 40 postcodes nearest its town point, at random."""


def _district_name(code: str) -> str:
    return KENT_DISTRICTS.get(code) or facts.OTHER_AUTHORITIES.get(code, code)


def _pick_site(rng: np.random.Generator, table: pd.DataFrame, lat: float, lon: float) -> pd.Series:
    """A random one of the postcodes of ``table`` nearest a town point."""
    near = nearest_postcodes(table, lat, lon, k=TOWN_RADIUS_POSTCODES)
    return near.iloc[int(rng.integers(len(near)))]


def _pick(rng: np.random.Generator, choices: Sequence[tuple[Any, float]]) -> Any:
    """One value of ``(value, weight)`` pairs, drawn by weight."""
    p = np.array([w for _, w in choices], dtype=float)
    return choices[int(rng.choice(len(choices), p=p / p.sum()))][0]


def _clock(start: str, minutes: int) -> str:
    """``HH:MM`` ``minutes`` after ``start``."""
    hh, mm = (int(x) for x in start.split(":"))
    total = hh * 60 + mm + int(minutes)
    return f"{total // 60:02d}:{total % 60:02d}"


def _special_schools(rng: np.random.Generator) -> pd.DataFrame:
    rows = list(facts.SPECIAL_SCHOOLS)
    found = geocode_postcodes([s.postcode for s in rows])
    missing = [s.postcode for s, ok in zip(rows, found["found"], strict=True) if not ok]
    if missing:
        raise RuntimeError(f"special-school postcodes not in the directory: {missing}")
    out = []
    for i, s in enumerate(rows):
        arrive_by = str(_pick(rng, facts.SPECIAL_ARRIVE_BY))
        day = int(_pick(rng, facts.SPECIAL_DAY_MINUTES))
        out.append(
            {
                "school_id": s.urn,
                "name": s.name,
                "lat": float(found["lat"].iloc[i]),
                "lon": float(found["lon"].iloc[i]),
                "district": _district_name(str(found["district_code"].iloc[i])),
                "kind": "special",
                "age_min": s.age_min,
                "age_max": s.age_max,
                "needs": facts.DESIGNATION_NEEDS[s.designation],
                "capacity": s.capacity,
                "place_cost": SPECIAL_PLACE_COST,
                "arrive_by": arrive_by,
                "finish_at": _clock(arrive_by, day),
            }
        )
    return pd.DataFrame(out, columns=list(SCHOOL_COLUMNS))


def _resourced(rng: np.random.Generator, kent: pd.DataFrame) -> pd.DataFrame:
    town = {d.name: (d.lat, d.lon) for d in facts.DISTRICTS}
    units: list[dict[str, Any]] = []
    for r in facts.RESOURCED_LISTED:
        units.append(
            {"label": r.name, "need": r.need, "phase": "primary", "capacity": r.capacity,
             "at": (r.lat, r.lon), "district_hint": None}
        )  # fmt: skip
    for district in sorted(facts.RESOURCED_EXTRA):
        counter: dict[tuple[str, str], int] = {}
        for need, phase in facts.RESOURCED_EXTRA[district]:
            counter[need, phase] = counter.get((need, phase), 0) + 1
            lo, hi = facts.RESOURCED_CAPACITY[need]
            units.append(
                {
                    "label": f"Resourced provision ({need}) — {district} {phase} "
                    f"{counter[need, phase]}",
                    "need": need,
                    "phase": phase,
                    "capacity": int(rng.integers(lo, hi + 1)),
                    "at": town[district],
                    "district_hint": district,
                }
            )
    out = []
    for k, u in enumerate(units, start=1):
        table = kent
        if u["district_hint"] is not None:
            table = kent[kent["district"] == u["district_hint"]]
        site = _pick_site(rng, table, *u["at"])
        if u["phase"] == "primary":
            age_min, age_max = 4, 11
        else:
            age_min, age_max = 11, int(rng.choice([16, 19]))
        name = u["label"]
        if u["district_hint"] is None:
            name = f"{u['label']} ({u['need']} resourced provision)"
        cost = float(np.clip(np.round(rng.normal(RESOURCED_PLACE_COST, 2000.0), -2), 1e4, 1.9e4))
        arrive_by = str(_pick(rng, facts.RESOURCED_ARRIVE_BY))
        day = facts.MAINSTREAM_DAY_MINUTES
        if rng.random() < facts.SHORT_DAY_SHARE[u["phase"]]:
            day -= 30  # one of the schools that finish before 15:00
        out.append(
            {
                "school_id": f"RP{k:03d}",
                "name": name,
                "lat": float(site["lat"]),
                "lon": float(site["lon"]),
                "district": str(site["district"]),
                "kind": "resourced",
                "age_min": age_min,
                "age_max": age_max,
                "needs": u["need"],
                "capacity": u["capacity"],
                "place_cost": cost,
                "arrive_by": arrive_by,
                "finish_at": _clock(arrive_by, day),
            }
        )
    return pd.DataFrame(out, columns=list(SCHOOL_COLUMNS))


def _independent(rng: np.random.Generator, table: pd.DataFrame) -> pd.DataFrame:
    out = []
    for s in facts.INDEPENDENT:
        site = _pick_site(rng, table[table["district_code"] == s.district_code], s.lat, s.lon)
        out.append(
            {
                "school_id": s.key,
                "name": s.name,
                "lat": float(site["lat"]),
                "lon": float(site["lon"]),
                "district": _district_name(s.district_code),
                "kind": "independent",
                "age_min": 5,
                "age_max": 19,
                "needs": s.needs,
                "capacity": s.capacity,
                "place_cost": float(s.place_cost),
                "arrive_by": s.arrive_by,
                "finish_at": _clock(s.arrive_by, facts.INDEPENDENT_DAY_MINUTES),
            }
        )
    return pd.DataFrame(out, columns=list(SCHOOL_COLUMNS))


def build_schools(
    rng: np.random.Generator, kent: pd.DataFrame, table: pd.DataFrame
) -> pd.DataFrame:
    """Special, resourced and independent schools, in the contract's columns plus ``finish_at``.

    ``kent`` is the postcode table of the Kent districts (with a ``district`` name column),
    ``table`` every postcode of the areas around Kent (for out-of-county schools).
    """
    return pd.concat(
        [_special_schools(rng), _resourced(rng, kent), _independent(rng, table)],
        ignore_index=True,
    )
