"""The synthetic Kent data set generator: determinism, the contract's columns, feasibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transport.data.geocode import KENT_DISTRICTS
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
from transport.model import NEED_CODES, SCHOOL_KINDS

N = 300


@pytest.fixture(scope="module")
def small() -> KentData:
    return build_kent_dataset(seed=2013, pupils=N)


@pytest.fixture(scope="module")
def small_again() -> KentData:
    return build_kent_dataset(seed=2013, pupils=N)


@pytest.fixture(scope="module")
def other_seed() -> KentData:
    return build_kent_dataset(seed=7, pupils=N)


def _frames(data: KentData) -> tuple[pd.DataFrame, ...]:
    return data.schools, data.pupils, data.vehicles, data.incompatible


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


def test_different_seed_different_pupils(small: KentData, other_seed: KentData) -> None:
    assert not small.pupils.equals(other_seed.pupils)


def test_columns_are_the_contracts(small: KentData) -> None:
    assert tuple(small.schools.columns) == SCHOOL_COLUMNS
    assert tuple(small.pupils.columns) == PUPIL_COLUMNS
    assert tuple(small.vehicles.columns) == VEHICLE_COLUMNS
    assert tuple(small.incompatible.columns) == INCOMPATIBLE_COLUMNS
    assert SCHOOL_COLUMNS == (
        "school_id", "name", "lat", "lon", "district", "kind", "age_min", "age_max",
        "needs", "capacity", "place_cost", "arrive_by",
    )  # fmt: skip
    assert PUPIL_COLUMNS == (
        "pupil_id", "lat", "lon", "district", "age", "need", "school_id", "wheelchair",
        "needs_pa", "solo", "max_ride_min",
    )  # fmt: skip


def test_written_files_parse_back(small: KentData, tmp_path: Path) -> None:
    write_kent_dataset(small, tmp_path)
    schools = pd.read_csv(tmp_path / "schools.csv", dtype=str, keep_default_na=False)
    pupils = pd.read_csv(tmp_path / "pupils.csv", dtype=str, keep_default_na=False)
    vehicles = pd.read_csv(tmp_path / "vehicles.csv", dtype=str, keep_default_na=False)
    assert len(pupils) == N
    assert pupils["lat"].str.match(r"^\d+\.\d{6}$").all()
    assert schools["place_cost"].str.match(r"^\d+\.\d{2}$").all()
    assert (vehicles["available"] == "").all()
    assert vehicles["day_rate"].str.match(r"^\d+\.\d{2}$").all()
    assert b"\r\n" not in (tmp_path / "pupils.csv").read_bytes()


def test_the_data_validates(small: KentData) -> None:
    from transport.data.validate import dataset_from_frames

    data = dataset_from_frames(*_frames(small))
    assert len(data.pupils) == N
    assert len(data.schools) == len(small.schools)


def test_ids_unique_and_pseudonymous(small: KentData) -> None:
    assert small.schools["school_id"].is_unique
    assert small.pupils["pupil_id"].is_unique
    assert small.pupils["pupil_id"].str.match(r"^P\d{5}$").all()
    assert small.vehicles["vehicle_type"].is_unique


def test_schools(small: KentData) -> None:
    s = small.schools
    assert (s["capacity"] >= 0).all()
    assert set(s["kind"]) <= set(SCHOOL_KINDS)
    kinds = s["kind"].value_counts()
    assert kinds["resourced"] == 47
    special = s[s["kind"] == "special"]
    assert special["capacity"].sum() == 3491
    assert "Ridge View School" in set(special["name"])
    assert set(special["district"]) <= set(KENT_DISTRICTS.values())
    pscn = special[special["needs"].str.contains("PMLD")]["capacity"].sum()
    assert pscn >= special["capacity"].sum() / 2
    assert (s["age_min"] <= s["age_max"]).all()
    for needs in s["needs"]:
        assert needs == "*" or set(needs.split(";")) <= set(NEED_CODES)
    indep = s[s["kind"] == "independent"]
    assert 400 <= indep["capacity"].sum() <= 500
    assert (~indep["district"].isin(list(KENT_DISTRICTS.values()))).any()
    assert s["arrive_by"].str.match(r"^\d\d:\d\d$").all()


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
    assert pupils["school_id"].iloc[int(0.85 * N) + 1 :].isna().all()
    counts = placed["school_id"].value_counts()
    assert (counts <= schools.loc[counts.index, "capacity"]).all()
    for _, p in placed.iterrows():
        s = schools.loc[p["school_id"]]
        assert s["needs"] == "*" or p["need"] in s["needs"].split(";")
        assert s["age_min"] <= p["age"] <= s["age_max"]


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
    assert v.loc["taxi", "day_rate"] == pytest.approx(38.0)
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


def test_rejects_too_few_pupils() -> None:
    with pytest.raises(ValueError):
        build_kent_dataset(pupils=5)
