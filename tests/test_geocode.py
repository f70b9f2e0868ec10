"""Offline geocoding: postcodes (ONS Postcode Directory) and British National Grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from transport.data.geocode import (
    KENT_DISTRICTS,
    MEDWAY_CODE,
    bng_to_wgs84,
    format_postcode,
    geocode_postcodes,
    normalise_postcode,
    postcode_area,
    postcode_table,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ct1 1aa", "CT11AA"),
        (" CT1  1AA ", "CT11AA"),
        ("me10 4nl", "ME104NL"),
        ("CT11AA", "CT11AA"),
    ],
)
def test_normalise_postcode(text: str, key: str) -> None:
    assert normalise_postcode(text) == key


def test_format_and_area() -> None:
    assert format_postcode("me104nl") == "ME10 4NL"
    assert format_postcode("CT11AA") == "CT1 1AA"
    assert postcode_area("ct1 1aa") == "CT"
    assert postcode_area("B1 1AA") == "B"


def test_kent_districts() -> None:
    assert len(KENT_DISTRICTS) == 12
    assert KENT_DISTRICTS["E07000106"] == "Canterbury"
    assert KENT_DISTRICTS["E07000112"] == "Folkestone and Hythe"
    assert KENT_DISTRICTS["E07000115"] == "Tonbridge and Malling"
    assert all("&" not in name for name in KENT_DISTRICTS.values())
    assert MEDWAY_CODE == "E06000035"
    assert MEDWAY_CODE not in KENT_DISTRICTS


def test_ct1_1aa_is_canterbury() -> None:
    found = geocode_postcodes(["ct1 1aa"])
    row = found.iloc[0]
    assert bool(row["found"])
    assert row["district_code"] == "E07000106"
    assert KENT_DISTRICTS[row["district_code"]] == "Canterbury"
    assert row["lat"] == pytest.approx(51.2844, abs=5e-4)
    assert row["lon"] == pytest.approx(1.0944, abs=5e-4)


def test_unknown_and_blank_postcodes_are_not_found() -> None:
    found = geocode_postcodes(["ZZ9 9ZZ", "", "CT1 1AA", "CT99 9ZZ"])
    assert found["found"].tolist() == [False, False, True, False]
    assert found.loc[[0, 1, 3], "lat"].isna().all()
    assert found.loc[[0, 1, 3], "lon"].isna().all()
    assert found["found"].dtype == bool


def test_geocode_keeps_a_series_index() -> None:
    postcodes = pd.Series(["CT1 1AA", "ME10 4NL"], index=[10, 20])
    found = geocode_postcodes(postcodes)
    assert list(found.index) == [10, 20]
    assert list(found.columns) == ["lat", "lon", "district_code", "found"]
    assert KENT_DISTRICTS[found.loc[20, "district_code"]] == "Swale"


def test_bng_to_wgs84_known_point() -> None:
    # CT1 1AA's grid reference in the directory
    lat, lon = bng_to_wgs84([615886.0], [158470.0])
    assert lat.shape == (1,)
    assert float(lat[0]) == pytest.approx(51.2844, abs=5e-4)
    assert float(lon[0]) == pytest.approx(1.0944, abs=5e-4)
    # the true origin of the National Grid, 49°N 2°W, is at (400000, -100000)
    lat, lon = bng_to_wgs84(np.array([400000.0]), np.array([-100000.0]))
    assert float(lat[0]) == pytest.approx(49.0, abs=0.01)
    assert float(lon[0]) == pytest.approx(-2.0, abs=0.01)


def test_bng_to_wgs84_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        bng_to_wgs84([1.0, 2.0], [1.0])


def test_postcode_table_filters_areas() -> None:
    table = postcode_table(["CT"])
    assert list(table.columns) == [
        "postcode",
        "key",
        "district_code",
        "easting",
        "northing",
        "lat",
        "lon",
    ]
    assert table["key"].str.match(r"^CT\d").all()
    assert table[["lat", "lon", "easting", "northing"]].notna().all().all()
    assert table["key"].is_unique
    row = table[table["key"] == "CT11AA"].iloc[0]
    assert row["postcode"] == "CT1 1AA"
    assert not math.isnan(row["lat"])
    assert set(table["district_code"]) >= {"E07000106", "E07000114"}
