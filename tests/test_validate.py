"""Validation: every problem of an input is reported at once, with file, row and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from transport.data.validate import dataset_from_frames, parse_hhmm, read_dataset
from transport.errors import InputError


def edit(folder: Path, name: str, func) -> None:
    path = folder / name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = func(frame)
    frame.to_csv(path, index=False)


def problems_of(folder: Path) -> list:
    with pytest.raises(InputError) as err:
        read_dataset(folder)
    return list(err.value.problems)


def test_tiny_is_valid(tiny_dir):
    data = read_dataset(tiny_dir)
    assert len(data.pupils) == 12
    assert data.school_by_id["S1"].needs == frozenset({"ASD", "SLCN"})
    assert data.school_by_id["S2"].arrive_by == 8 * 60 + 45
    assert data.pupil_by_id["P10"].max_ride_min == 60
    assert data.pupil_by_id["P04"].wheelchair and data.pupil_by_id["P04"].needs_pa
    assert data.incompatible == (("P08", "P09"),)


def test_missing_column_named_with_a_suggestion(tiny_copy):
    edit(tiny_copy, "pupils.csv", lambda f: f.rename(columns={"needs_pa": "need_pa"}))
    [p] = problems_of(tiny_copy)
    assert (p.file, p.column) == ("pupils.csv", "needs_pa")
    assert "did you mean 'need_pa'" in p.message


def test_every_problem_reported_together(tiny_copy):
    def pupils(f):
        f.loc[0, "age"] = "seven"  # wrong type
        f.loc[1, "pupil_id"] = "P01"  # duplicate
        f.loc[2, "need"] = "DYSLEXIA"  # unknown need
        f.loc[3, "school_id"] = "S99"  # unknown school
        f.loc[4, "age"] = "40"  # impossible age
        f.loc[5, "lat"], f.loc[5, "lon"] = f.loc[5, "lon"], f.loc[5, "lat"]  # swapped
        f.loc[6, "lat"] = ""  # missing
        f.loc[7, "lat"], f.loc[7, "lon"] = "55.95", "-3.19"  # Edinburgh: far outside Kent
        f.loc[8, "wheelchair"] = "maybe"
        return f

    def schools(f):
        f.loc[0, "capacity"] = "-2"
        f.loc[1, "arrive_by"] = "nine"
        f.loc[2, "kind"] = "academy"
        f.loc[3, "needs"] = "ASD;XYZ"
        return f

    def vehicles(f):
        f.loc[0, "seats"] = "0"
        return f

    edit(tiny_copy, "pupils.csv", pupils)
    edit(tiny_copy, "schools.csv", schools)
    edit(tiny_copy, "vehicles.csv", vehicles)
    found = {(p.file, p.row, p.column) for p in problems_of(tiny_copy)}
    expected = {
        ("pupils.csv", 2, "age"),
        ("pupils.csv", 3, "pupil_id"),
        ("pupils.csv", 4, "need"),
        ("pupils.csv", 5, "school_id"),
        ("pupils.csv", 6, "age"),
        ("pupils.csv", 7, "lat"),
        ("pupils.csv", 8, "lat"),
        ("pupils.csv", 9, "lat"),
        ("pupils.csv", 10, "wheelchair"),
        ("schools.csv", 2, "capacity"),
        ("schools.csv", 3, "arrive_by"),
        ("schools.csv", 4, "kind"),
        ("schools.csv", 5, "needs"),
        ("vehicles.csv", 2, "seats"),
    }
    assert expected <= found
    messages = " ".join(str(p) for p in problems_of(tiny_copy))
    assert "look swapped" in messages and "far outside" in messages


def test_incompatible_unknown_and_self_pairs(tiny_copy):
    (tiny_copy / "incompatible.csv").write_text("pupil_a,pupil_b\nP01,P99\nP02,P02\n")
    found = {(p.row, p.column) for p in problems_of(tiny_copy)}
    assert found == {(2, "pupil_b"), (3, "pupil_b")}


def test_easting_northing_converted(tiny_copy):
    # Canterbury Cathedral is about E615000 N157900 (lat 51.2798, lon 1.0828)
    def schools(f):
        f = f.drop(columns=["lat", "lon"])
        f["easting"] = ["615000"] * len(f)
        f["northing"] = ["157900"] * len(f)
        return f

    edit(tiny_copy, "schools.csv", schools)
    data = read_dataset(tiny_copy)
    s = data.school_by_id["S1"]
    assert s.lat == pytest.approx(51.2798, abs=0.002) and s.lon == pytest.approx(1.0828, abs=0.003)


def test_postcodes_geocoded_offline_and_unknown_reported(tiny_copy):
    def pupils(f):
        f = f.drop(columns=["lat", "lon"])
        f["postcode"] = ["CT1 1AA"] * len(f)
        f.loc[3, "postcode"] = "ZZ9 9ZZ"
        f.loc[4, "district"] = ""
        return f

    edit(tiny_copy, "pupils.csv", pupils)
    [p] = problems_of(tiny_copy)
    assert (p.row, p.column) == (5, "postcode") and "unknown postcode" in p.message
    edit(
        tiny_copy,
        "pupils.csv",
        lambda f: f.assign(postcode=f["postcode"].replace("ZZ9 9ZZ", "ct1 1aa")),
    )
    data = read_dataset(tiny_copy)
    assert data.pupils[0].lat == pytest.approx(51.2844, abs=0.001)
    assert data.pupils[4].district == "Canterbury"


def test_frames_with_numeric_dtypes(tiny_dir):
    frames = [pd.read_csv(tiny_dir / n) for n in ("schools.csv", "pupils.csv", "vehicles.csv")]
    data = dataset_from_frames(*frames)
    assert len(data.pupils) == 12 and data.pupils[0].school_id == "S1"
    assert data.pupils[2].school_id is None


@pytest.mark.parametrize("text,minutes", [("09:00", 540), ("8:45", 525), ("08:30:00", 510)])
def test_times(text, minutes):
    assert parse_hhmm(text) == minutes


@pytest.mark.parametrize("text", ["9.00", "25:00", "08:61", "", "nine"])
def test_bad_times(text):
    with pytest.raises(ValueError):
        parse_hhmm(text)


def test_finish_at_is_optional_with_the_contract_default(tiny_copy):
    """schools.csv's optional finish_at: blank or absent is 15:15, a time is read, a bad one
    (or one before arrive_by) is a problem named with its row."""
    data = read_dataset(tiny_copy)
    assert {s.finish_at for s in data.schools} == {15 * 60 + 15}

    def schools(f):
        f["finish_at"] = ["15:30", "", "3:05 pm", "08:00"]
        return f

    edit(tiny_copy, "schools.csv", schools)
    found = problems_of(tiny_copy)
    assert [(p.row, p.column) for p in found] == [(4, "finish_at"), (5, "finish_at")]
    assert "not a time HH:MM" in found[0].message and "after arrive_by" in found[1].message

    def fixed(f):
        f["finish_at"] = ["15:30", "", "14:50", "15:00"]
        return f

    edit(tiny_copy, "schools.csv", fixed)
    data = read_dataset(tiny_copy)
    got = {s.school_id: s.finish_at for s in data.schools}
    assert got == {"S1": 930, "S2": 915, "S3": 890, "S4": 900}
