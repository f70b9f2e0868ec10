"""The command line: results checked through the library, bad input → exit 2, no traceback."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.placement import place_pupils


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("policy", ["nearest-with-capacity", "nearest-suitable", "optimal", "keep"])
def test_place_writes_what_the_library_computes(tiny_dir, tmp_path, policy):
    out = tmp_path / "run"
    result = invoke("place", "--policy", policy, "--data", str(tiny_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out / "placements.csv", dtype={"school_id": str})
    assert list(written.columns) == [
        "pupil_id",
        "school_id",
        "policy",
        "road_miles",
        "direct_min",
        "reason_code",
        "reason",
        "nearer_full",
    ]
    expected = place_pupils(read_dataset(tiny_dir), policy=policy)
    assert dict(zip(written.pupil_id, written.school_id, strict=True)) == expected.school_of
    assert (written.policy == policy).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pupils"] == 12
    assert summary["unplaced"] == [u.pupil_id for u in expected.unplaced]
    params = summary["parameters"]
    assert params["travel"] == {
        "circuity": 1.3,
        "speed_mph": 25.0,
        "dwell_min": 2.0,
        "dwell_per_pupil_min": 0.0,
    }
    assert params["cost"]["school_days"] == 190 and params["policy"] == policy
    # the report never prints pupil ids
    assert "P01" not in result.output
    if policy == "nearest-suitable":
        shortfall = pd.read_csv(out / "shortfall.csv")
        assert shortfall.missing.sum() == summary["placement"]["places_missing"] == 3


def test_travel_options_reach_the_run(tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "place",
        "--data",
        str(tiny_dir),
        "--out",
        str(out),
        "--circuity",
        "1.5",
        "--speed-mph",
        "20",
    )
    assert result.exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["travel"]["circuity"] == 1.5
    assert summary["parameters"]["travel_model"]["speed_mph"] == 20


def test_bad_input_exit_2_with_every_problem(tiny_copy, tmp_path):
    (tiny_copy / "pupils.csv").write_text(
        (tiny_copy / "pupils.csv").read_text().replace("P02,", "P01,").replace(",12,SLCN", ",12,XX")
    )
    result = CliRunner().invoke(
        cli, ["place", "--data", str(tiny_copy), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "duplicate id (first on row 2)" in result.output  # rows named, never the pupil id
    assert "P01" not in result.output and "unknown need code 'XX'" in result.output
    assert not (tmp_path / "r").exists()


def test_impossible_option_value_exit_2(tiny_dir, tmp_path):
    result = CliRunner().invoke(
        cli, ["place", "--data", str(tiny_dir), "--out", str(tmp_path / "r"), "--circuity", "0.2"]
    )
    assert result.exit_code == 2 and "circuity" in result.output


def test_unknown_policy_exit_2(tiny_dir, tmp_path):
    result = CliRunner().invoke(
        cli, ["place", "--policy", "best", "--data", str(tiny_dir), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2


def test_every_command_documented_in_readme():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in cli.commands:
        assert f"sen-transport {name}" in readme, f"command {name} is not in the README"
