"""The synthetic Kent data set generator: determinism, the contract's columns, its invariants
(homes per postcode, sibling stops, documented shares, designations, capacity) and the Kent
figures README reports."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transport.data.geocode import KENT_DISTRICTS
from transport.datagen import _kent_facts as facts
from transport.datagen.kent import (
    INCOMPATIBLE_COLUMNS,
    PUPIL_COLUMNS,
    SCHOOL_COLUMNS,
    VEHICLE_COLUMNS,
    VEHICLE_TYPES,
    KentData,
    build_kent_dataset,
    district_weights,
    need_mix,
    write_kent_dataset,
)
from transport.errors import ParameterError
from transport.model import NEED_CODES, SCHOOL_KINDS

N = 300
ROOT = Path(__file__).resolve().parents[1]
KENT_DIR = ROOT / "data" / "kent"
COMMITTED_POSTCODE_VERSION = "2026.1.1"
"""The postcode directory release data/kent/ was built with (a later one may move points)."""


@pytest.fixture(scope="module")
def small() -> KentData:
    return build_kent_dataset(seed=2013, pupils=N)


@pytest.fixture(scope="module")
def small_again() -> KentData:
    return build_kent_dataset(seed=2013, pupils=N)


@pytest.fixture(scope="module")
def other_seed() -> KentData:
    return build_kent_dataset(seed=7, pupils=N)


@pytest.fixture(scope="module")
def full() -> KentData:
    """The committed data set's build (seed 2013, 4,200 pupils): about 2 s once loaded."""
    return build_kent_dataset(seed=2013)


def _frames(data: KentData) -> tuple[pd.DataFrame, ...]:
    return data.schools, data.pupils, data.vehicles, data.incompatible


# --------------------------------------------------------------------------------------------
# Determinism and files


def test_same_seed_same_frames_and_bytes(
    small: KentData, small_again: KentData, tmp_path: Path
) -> None:
    for a, b in zip(_frames(small), _frames(small_again), strict=True):
        pd.testing.assert_frame_equal(a, b)
    one = write_kent_dataset(small, tmp_path / "one")
    two = write_kent_dataset(small_again, tmp_path / "two")
    assert [p.name for p in one] == [
        "schools.csv",
        "pupils.csv",
        "vehicles.csv",
        "incompatible.csv",
    ]
    for p, q in zip(one, two, strict=True):
        assert p.read_bytes() == q.read_bytes()


def test_committed_data_is_the_seeds_rebuild(full: KentData, tmp_path: Path) -> None:
    if full.notes["postcode_package_version"] != COMMITTED_POSTCODE_VERSION:
        pytest.skip("another release of the postcode directory: points may move")
    for path in write_kent_dataset(full, tmp_path):
        assert path.read_bytes() == (KENT_DIR / path.name).read_bytes(), path.name


def test_writer_leaves_other_files_alone(small: KentData, tmp_path: Path) -> None:
    (tmp_path / "candidates.csv").write_text("site_id\nX\n", encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "a.toml").write_text("", encoding="utf-8")
    write_kent_dataset(small, tmp_path)
    assert (tmp_path / "candidates.csv").read_text(encoding="utf-8") == "site_id\nX\n"
    assert (tmp_path / "scenarios" / "a.toml").exists()


def test_different_seed_different_pupils(small: KentData, other_seed: KentData) -> None:
    assert not small.pupils.equals(other_seed.pupils)


def test_columns_are_the_contracts(small: KentData) -> None:
    assert tuple(small.schools.columns) == SCHOOL_COLUMNS
    assert tuple(small.pupils.columns) == PUPIL_COLUMNS
    assert tuple(small.vehicles.columns) == VEHICLE_COLUMNS
    assert tuple(small.incompatible.columns) == INCOMPATIBLE_COLUMNS
    assert SCHOOL_COLUMNS == (
        "school_id", "name", "lat", "lon", "district", "kind", "age_min", "age_max",
        "needs", "capacity", "place_cost", "arrive_by", "finish_at",
    )  # fmt: skip
    assert PUPIL_COLUMNS == (
        "pupil_id", "lat", "lon", "district", "age", "need", "school_id", "wheelchair",
        "needs_pa", "solo", "max_ride_min", "stop_id", "postcode",
    )  # fmt: skip


def test_written_files_parse_back(small: KentData, tmp_path: Path) -> None:
    write_kent_dataset(small, tmp_path)
    schools = pd.read_csv(tmp_path / "schools.csv", dtype=str, keep_default_na=False)
    pupils = pd.read_csv(tmp_path / "pupils.csv", dtype=str, keep_default_na=False)
    vehicles = pd.read_csv(tmp_path / "vehicles.csv", dtype=str, keep_default_na=False)
    assert len(pupils) == N
    assert pupils["lat"].str.match(r"^\d+\.\d{6}$").all()
    assert pupils["stop_id"].str.match(r"^(S\d{4})?$").all()
    assert schools["place_cost"].str.match(r"^\d+\.\d{2}$").all()
    assert schools["finish_at"].str.match(r"^\d\d:\d\d$").all()
    assert (vehicles["available"] == "").all()
    assert vehicles["day_rate"].str.match(r"^\d+\.\d{2}$").all()
    assert b"\r\n" not in (tmp_path / "pupils.csv").read_bytes()


def test_the_data_validates(small: KentData) -> None:
    from transport.data.validate import dataset_from_frames

    data = dataset_from_frames(*_frames(small))
    assert len(data.pupils) == N
    assert len(data.schools) == len(small.schools)


def test_the_committed_folder_validates() -> None:
    from transport.data.validate import read_dataset

    data = read_dataset(KENT_DIR)
    assert len(data.pupils) == 4200


def test_ids_unique_and_pseudonymous(small: KentData) -> None:
    assert small.schools["school_id"].is_unique
    assert small.pupils["pupil_id"].is_unique
    assert small.pupils["pupil_id"].str.match(r"^P\d{5}$").all()
    assert small.vehicles["vehicle_type"].is_unique


# --------------------------------------------------------------------------------------------
# Schools: designations, capacity, bell times


def test_schools(small: KentData) -> None:
    s = small.schools
    assert (s["capacity"] >= 0).all()
    assert set(s["kind"]) <= set(SCHOOL_KINDS)
    kinds = s["kind"].value_counts()
    assert kinds["resourced"] == 47
    special = s[s["kind"] == "special"]
    assert "Ridge View School" in set(special["name"])
    assert set(special["district"]) <= set(KENT_DISTRICTS.values())
    assert (s["age_min"] <= s["age_max"]).all()
    for needs in s["needs"]:
        assert needs == "*" or set(needs.split(";")) <= set(NEED_CODES)
    indep = s[s["kind"] == "independent"]
    assert 400 <= indep["capacity"].sum() <= 500
    assert (~indep["district"].isin(list(KENT_DISTRICTS.values()))).any()
    assert s["arrive_by"].str.match(r"^\d\d:\d\d$").all()


def test_capacity_is_the_strategys_3491_special_places(small: KentData, full: KentData) -> None:
    for data in (small, full):
        special = data.schools[data.schools["kind"] == "special"]
        assert special["capacity"].sum() == 3491
        pscn = special[special["needs"] == facts.DESIGNATION_NEEDS["PSCN"]]["capacity"].sum()
        assert pscn > 3491 / 2  # over half of special places are PSCN


def test_every_special_school_keeps_its_designation(small: KentData) -> None:
    by_urn = {s.urn: s for s in facts.SPECIAL_SCHOOLS}
    special = small.schools[small.schools["kind"] == "special"]
    assert set(special["school_id"]) == set(by_urn)
    for row in special.itertuples():
        fact = by_urn[row.school_id]
        assert row.needs == facts.DESIGNATION_NEEDS[fact.designation], row.name
        assert (row.age_min, row.age_max, row.capacity) == (
            fact.age_min,
            fact.age_max,
            fact.capacity,
        )
    resourced = small.schools[small.schools["kind"] == "resourced"]
    listed = {r.name: r for r in facts.RESOURCED_LISTED}
    for row in resourced.itertuples():
        assert row.needs in {"ASD", "SLCN", "HI", "PD"}
        name = row.name.split(" (")[0]
        if name in listed:
            assert (row.needs, row.capacity) == (listed[name].need, listed[name].capacity)


def _minutes(hhmm: str) -> int:
    hh, mm = hhmm.split(":")
    return int(hh) * 60 + int(mm)


def test_bell_times_are_a_school_day(full: KentData) -> None:
    s = full.schools
    start = s["arrive_by"].map(_minutes)
    end = s["finish_at"].map(_minutes)
    assert start.between(8 * 60 + 30, 9 * 60 + 30).all()
    assert (end - start).between(6 * 60, 6 * 60 + 30).all()
    assert end.between(14 * 60 + 30, 16 * 60).all()


# --------------------------------------------------------------------------------------------
# Pupils: homes, siblings, shares


def test_every_pupil_has_a_suitable_school(small: KentData) -> None:
    schools = small.schools
    needs = [set(x.split(";")) for x in schools["needs"]]
    for need, age in zip(small.pupils["need"], small.pupils["age"], strict=True):
        assert any(
            ("*" in n or need in n) and lo <= age <= hi
            for n, lo, hi in zip(needs, schools["age_min"], schools["age_max"], strict=True)
        ), (need, age)


def test_placed_pupils_fit_and_suit(small: KentData) -> None:
    pupils, schools = small.pupils, small.schools.set_index("school_id")
    placed = pupils[pupils["school_id"].notna()]
    assert 0.8 <= len(placed) / len(pupils) <= 0.9
    # the first ~85 % in file order are placed, the rest are new entrants
    assert pupils["school_id"].iloc[int(0.85 * N) + 3 :].isna().all()
    counts = placed["school_id"].value_counts()
    assert (counts <= schools.loc[counts.index, "capacity"]).all()
    for _, p in placed.iterrows():
        s = schools.loc[p["school_id"]]
        assert s["needs"] == "*" or p["need"] in s["needs"].split(";")
        assert s["age_min"] <= p["age"] <= s["age_max"]


def test_keep_places_as_nearest_with_capacity_from_scratch(small: KentData) -> None:
    from transport.data.validate import dataset_from_frames
    from transport.placement import place_pupils

    data = dataset_from_frames(*_frames(small))
    keep = place_pupils(data, policy="keep").school_of
    fresh = place_pupils(data, policy="nearest-with-capacity").school_of
    assert keep == fresh
    for pid, school in zip(small.pupils["pupil_id"], small.pupils["school_id"], strict=True):
        if school is not None:
            assert keep[pid] == school


def test_pupils_attributes(small: KentData) -> None:
    p = small.pupils
    assert set(p["district"]) <= set(KENT_DISTRICTS.values())
    assert set(p["need"]) <= set(NEED_CODES)
    assert p["age"].between(4, 19).all()
    for col in ("wheelchair", "needs_pa", "solo"):
        assert set(p[col]) <= {0, 1}
    limits = p["max_ride_min"].dropna()
    assert limits.between(30, 60).all()
    assert p["lat"].between(50.8, 51.6).all() and p["lon"].between(0.0, 1.5).all()


def test_pupils_per_postcode_within_the_cap(full: KentData) -> None:
    p = full.pupils
    per_postcode = p["postcode"].value_counts()
    assert per_postcode.max() <= facts.MAX_PUPILS_PER_POSTCODE
    # one household per postcode: pupils sharing a postcode are one sibling group
    shared = p[p["postcode"].isin(per_postcode[per_postcode > 1].index)]
    assert shared["stop_id"].notna().all()
    assert (shared.groupby("postcode")["stop_id"].nunique() == 1).all()


def test_homes_are_distinct_points_unless_they_share_a_stop(full: KentData) -> None:
    p = full.pupils
    key = p["stop_id"].fillna(p["pupil_id"])
    points = p.assign(key=key).drop_duplicates("key")
    assert not points.duplicated(["lat", "lon"]).any()


def test_homes_lie_within_their_postcode(small: KentData) -> None:
    from transport.data.geocode import geocode_postcodes
    from transport.travel import great_circle_miles

    p = small.pupils
    at = geocode_postcodes(p["postcode"].tolist())
    assert at["found"].all()
    miles = great_circle_miles(
        p[["lat", "lon"]].to_numpy(dtype=float), at[["lat", "lon"]].to_numpy(dtype=float)
    ).diagonal()
    assert (miles * 1609.344 <= facts.JITTER_MAX_M + 1).all()
    assert (miles > 0).all()


def test_sibling_groups_share_school_home_and_need(full: KentData) -> None:
    from transport.data.validate import dataset_from_frames
    from transport.placement import place_pupils

    p = full.pupils
    groups = p[p["stop_id"].notna()].groupby("stop_id")
    sizes = groups.size()
    assert sizes.between(2, facts.MAX_SIBLINGS).all()
    for col in ("lat", "lon", "postcode", "district", "need"):
        assert (groups[col].nunique() == 1).all(), col
    assert (groups["school_id"].nunique(dropna=False) == 1).all()
    assert (p.loc[p["stop_id"].notna(), "solo"] == 0).all()
    # new-entrant siblings are placed together too
    data = dataset_from_frames(*_frames(full))
    school_of = place_pupils(data, policy="keep").school_of
    placed = p.assign(placed=p["pupil_id"].map(school_of))
    assert (placed[placed["stop_id"].notna()].groupby("stop_id")["placed"].nunique() == 1).all()
    # siblings are adjacent in file order and never incompatible with each other
    rows = p.index[p["stop_id"].notna()]
    for _, members in groups.groups.items():
        assert list(members) == list(range(members.min(), members.max() + 1))
    stop_of = dict(zip(p["pupil_id"], p["stop_id"], strict=True))
    for a, b in zip(full.incompatible["pupil_a"], full.incompatible["pupil_b"], strict=True):
        assert stop_of[a] is None or stop_of[a] != stop_of[b]
    assert len(rows) == full.notes["sibling_pupils"]


def test_shares_within_their_documented_ranges(full: KentData) -> None:
    p = full.pupils
    lo, hi = facts.SOLO_SHARE_RANGE
    assert lo <= p["solo"].mean() <= hi
    lo, hi = facts.PA_SHARE_RANGE
    assert lo <= p["needs_pa"].mean() <= hi
    lo, hi = facts.WHEELCHAIR_SHARE_RANGE
    assert lo <= p["wheelchair"].mean() <= hi
    lo, hi = facts.SIBLING_SHARE_RANGE
    assert lo <= p["stop_id"].notna().mean() <= hi
    lo, hi = facts.POST16_SHARE_RANGE
    assert lo <= p["age"].between(16, 19).mean() <= hi
    share = p["need"].value_counts(normalize=True)
    for need, target in need_mix().items():
        assert abs(share.get(need, 0.0) - target) < 0.02, need


def test_scaled_shares_for_sensitivity(small: KentData) -> None:
    scaled = build_kent_dataset(
        seed=2013, pupils=N, scale={"solo": 0.0, "siblings": 0.0, "needs_pa": 1.5}
    )
    assert scaled.pupils["solo"].sum() == 0
    assert scaled.pupils["stop_id"].isna().all()
    assert scaled.pupils["needs_pa"].sum() > small.pupils["needs_pa"].sum()
    assert scaled.notes["share_multipliers"]["needs_pa"] == 1.5
    with pytest.raises(ParameterError):
        build_kent_dataset(pupils=N, scale={"taxis": 2.0})
    with pytest.raises(ParameterError):
        build_kent_dataset(pupils=N, scale={"solo": -1.0})


def test_incompatible_pairs(small: KentData) -> None:
    inc = small.incompatible
    pupils = small.pupils.set_index("pupil_id")
    assert len(inc) >= 1
    for a, b in zip(inc["pupil_a"], inc["pupil_b"], strict=True):
        assert a < b
        assert pupils.loc[a, "district"] == pupils.loc[b, "district"]
        assert {pupils.loc[a, "need"], pupils.loc[b, "need"]} <= {"ASD", "SEMH"}
    assert not inc.duplicated().any()


def test_vehicles(small: KentData) -> None:
    v = small.vehicles.set_index("vehicle_type")
    assert list(v.index) == list(VEHICLE_TYPES)
    for name, spec in VEHICLE_TYPES.items():
        assert v.loc[name, "day_rate"] == pytest.approx(spec["day_rate"])
    assert v.loc["wav_minibus", "wheelchair_spaces"] == 4
    assert v["available"].isna().all()


def test_district_weights_roughly_respected(small: KentData, other_seed: KentData) -> None:
    weights = district_weights()
    assert weights["Swale"] > weights["Maidstone"] * 151_700 / 175_800
    both = pd.concat([small.pupils, other_seed.pupils])
    share = both["district"].value_counts(normalize=True)
    for name, w in weights.items():
        assert abs(share.get(name, 0.0) - w) < 0.045, name
    assert np.isclose(sum(need_mix().values()), 1.0)


def test_notes(small: KentData) -> None:
    notes = small.notes
    assert notes["pupils"] == N
    assert notes["capacity_by_kind"]["special"] == 3491
    assert notes["placed"] == small.pupils["school_id"].notna().sum()
    assert notes["max_pupils_per_postcode"] <= facts.MAX_PUPILS_PER_POSTCODE


def test_rejects_too_few_pupils() -> None:
    with pytest.raises(ValueError):
        build_kent_dataset(pupils=5)


# --------------------------------------------------------------------------------------------
# README's Kent figures


def _money_m(text: str) -> float:
    match = re.fullmatch(r"£([\d.]+)m", text.strip())
    assert match, text
    return float(match.group(1))


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _readme_placement_table() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Figures on the embedded Kent data", 1)[1]
    lines = section.split("| policy |", 1)[1].splitlines()[2:]
    rows: dict[str, list[str]] = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_readme_placement_table_matches_a_fresh_run() -> None:
    """README's Kent placement table is what ``benchmarks/placement_kent.py`` measures now."""
    from transport.data.validate import read_dataset
    from transport.model import Parameters
    from transport.placement import POLICIES, place_pupils, summarise_placement

    table = _readme_placement_table()
    assert set(table) == set(POLICIES)
    data = read_dataset(KENT_DIR)
    params = Parameters()
    for policy in POLICIES:
        s = summarise_placement(data, place_pupils(data, policy=policy, params=params), params)
        placed, miles, far, indep, missing, place, transport = table[policy]
        assert _int(placed) == s["placed"], policy
        assert _int(miles) == round(s["total_road_miles"]), policy
        assert _int(far) == s["pupils_over_20_miles"], policy
        assert _int(indep) == s["pupils_in_independent_places"], policy
        assert _int(missing) == s["places_missing"], policy
        assert _money_m(place) == round(s["annual_place_cost"] / 1e6, 1), policy
        assert _money_m(transport) == round(s["estimated_annual_transport_cost"] / 1e6, 1), policy


def test_home_pool_uses_each_postcode_once_before_any_twice() -> None:
    from transport.datagen._homes import HomePool, household_sizes

    frame = pd.DataFrame(
        {
            "postcode": [f"CT1 {i}AA" for i in range(5)],
            "district": ["Canterbury"] * 5,
            "easting": [615_000.0 + 100 * i for i in range(5)],
            "northing": [158_000.0] * 5,
        }
    )
    pool = HomePool(frame)
    rng = np.random.default_rng(0)
    first = pool.draw(rng, ["Canterbury"] * 5)
    assert sorted(first) == [0, 1, 2, 3, 4]
    more = pool.draw(rng, ["Canterbury"] * 7)
    assert np.bincount(more, minlength=5).max() == 2
    homes = pool.place(rng, first)
    assert not homes.duplicated(["lat", "lon"]).any()
    sizes = household_sizes(rng, 1000, sibling_share=0.05, triple_share=0.1)
    assert sizes.sum() == 1000 and set(sizes) <= {1, 2, 3}
    assert 45 <= sizes[sizes > 1].sum() <= 55
