"""District boundaries: blank districts filled by point in polygon, stated ones checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.data.districts import district_key, read_dataset_in_districts, read_districts
from transport.data.validate import read_dataset
from transport.errors import InputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
KENT_DISTRICTS = SHARED / "geo" / "kent_districts.geojson"
KENT = Path(__file__).resolve().parents[1] / "data" / "kent"


def box(name: str, west: float, east: float) -> dict:
    ring = [[west, 50.5], [east, 50.5], [east, 52.0], [west, 52.0], [west, 50.5]]
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


@pytest.fixture
def halves(tmp_path: Path) -> Path:
    """Two made-up districts: West of longitude 1.0 and East of it (offline, in the test)."""
    path = tmp_path / "halves.geojson"
    doc = {"type": "FeatureCollection", "features": [box("West", 0.0, 1.0), box("East", 1.0, 2.0)]}
    path.write_text(json.dumps(doc))
    return path


def set_district(folder: Path, pupil: str, district: str) -> None:
    path = folder / "pupils.csv"
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == pupil:
            cells[3] = district
            lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def test_blank_districts_are_filled_from_the_location(tiny_copy, halves):
    set_district(tiny_copy, "P01", "")  # 51.15, 0.88: West
    set_district(tiny_copy, "P04", "")  # 51.29, 1.07: East
    with pytest.raises(InputError, match="district.*is blank"):
        read_dataset(tiny_copy)  # without boundaries a blank district is a problem
    data = read_dataset_in_districts(tiny_copy, halves)
    by_id = data.pupil_by_id
    assert by_id["P01"].district == "West" and by_id["P04"].district == "East"
    assert by_id["P02"].district == "Ashford"  # a district the file does not hold: kept


def test_a_district_far_from_the_location_is_a_problem_with_row(tiny_copy, halves):
    set_district(tiny_copy, "P01", "East")  # P01 lies about 8 km west of the East border
    set_district(tiny_copy, "P03", "")
    with pytest.raises(InputError) as err:
        read_dataset_in_districts(tiny_copy, halves)
    text = str(err.value)
    assert "pupils.csv, row 2, column 'district': 'East' does not match" in text
    assert "lies in West" in text and "51.15" not in text and "0.88" not in text


def test_boundary_file_problems(tmp_path, halves):
    with pytest.raises(InputError, match="not found"):
        read_districts(tmp_path / "nowhere.geojson")
    bad = tmp_path / "points.geojson"
    point = {"type": "Feature", "properties": {"name": "A"}}
    point["geometry"] = {"type": "Point", "coordinates": [1.0, 51.0]}
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}))
    with pytest.raises(InputError, match="needs polygons with a name column"):
        read_districts(bad)
    assert read_districts(halves).names == ("West", "East")


def test_district_names_compare_like_the_cohorts():
    assert district_key("Shepway") == district_key(" folkestone &  Hythe ")
    assert district_key("Tonbridge & Malling") == "tonbridge and malling"


def test_cli_districts_file(tiny_copy, halves, tmp_path):
    set_district(tiny_copy, "P01", "")
    out = tmp_path / "run"
    args = ["place", "--data", str(tiny_copy), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--districts-file", str(halves)])
    assert result.exit_code == 0, result.output
    set_district(tiny_copy, "P01", "East")
    result = CliRunner().invoke(cli, [*args, "--districts-file", str(halves)])
    assert result.exit_code == 2 and "row 2, column 'district'" in result.output


@pytest.mark.skipif(not KENT_DISTRICTS.exists(), reason=f"no boundaries at {KENT_DISTRICTS}")
def test_kent_data_agrees_with_kent_boundaries():
    """Every home and school of the embedded data lies in (or within 1 km of) its district."""
    data = read_dataset_in_districts(KENT, KENT_DISTRICTS)
    assert data == read_dataset(KENT)
    boundaries = read_districts(KENT_DISTRICTS)
    assert {p.district for p in data.pupils} <= set(boundaries.names)
    sample = data.pupils[:200]
    found = boundaries.locate([p.lat for p in sample], [p.lon for p in sample])
    agree = sum(f == p.district for f, p in zip(found, sample, strict=True))
    assert agree >= 0.97 * len(sample)  # simplified borders move a few homes next door
