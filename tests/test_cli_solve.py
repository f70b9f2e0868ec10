"""``sen-transport solve``: a run on the tiny data keeps every rule; bad input → exit 2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import cli
from tests.checker import check_run

FAST = ["--time-limit", "2", "--workers", "1", "--quiet"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_solve_tiny_keeps_every_rule(tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke("solve", "--data", str(tiny_dir), "--out", str(out), *FAST)
    assert result.exit_code == 0, result.output
    assert check_run(out, tiny_dir) == []
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pupils"] == 12 and summary["policy"] == "keep"
    for key in (
        "routes",
        "annual_transport_cost",
        "annual_place_cost",
        "unplaced",
        "unrouted",
        "vehicles_by_type",
        "passenger_assistants",
        "mean_ride_min",
        "max_ride_min",
        "pupils_over_45_min",
        "pupils_over_75_min",
        "cost_per_pupil",
        "school_status",
        "wall_time_s",
    ):
        assert key in summary, key
    routing = summary["parameters"]["routing"]
    assert routing["time_limit_s"] == 2 and routing["backend"] == "auto"
    assert summary["parameters"]["travel_model"]["backend"] == "crow-fly"
    assert "Routes" in result.output and "annual transport cost" in result.output
    assert "P0" not in result.output  # never a pupil id on the terminal
    assert "51.1" not in result.output  # nor a coordinate


def test_solve_options_reach_the_run(tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "solve",
        "--data",
        str(tiny_dir),
        "--out",
        str(out),
        "--policy",
        "optimal",
        "--backend",
        "ortools",
        "--seed",
        "4",
        "--mixed-school",
        "--dwell-min",
        "3",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policy"] == "optimal"
    assert summary["parameters"]["routing"]["seed"] == 4
    assert summary["parameters"]["routing"]["mixed_school"] is True
    assert summary["parameters"]["travel"]["dwell_min"] == 3
    assert check_run(out, tiny_dir) == []


def test_solve_reads_a_scenario(tiny_dir, tmp_path):
    scenario = tmp_path / "slow.toml"
    scenario.write_text("[ride]\nprimary_limit_min = 40\n[routing]\ntime_limit_s = 3\nseed = 9\n")
    out = tmp_path / "run"
    result = invoke(
        "solve",
        "--data",
        str(tiny_dir),
        "--out",
        str(out),
        "--scenario",
        str(scenario),
        "--workers",
        "1",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "slow"
    assert summary["parameters"]["ride"]["primary_limit_min"] == 40
    assert summary["parameters"]["routing"]["seed"] == 9
    assert check_run(out, tiny_dir) == []


def test_bad_data_exit_2(tiny_copy, tmp_path):
    (tiny_copy / "vehicles.csv").write_text(
        "vehicle_type,seats,wheelchair_spaces,day_rate,per_mile,available\n"
    )
    result = CliRunner().invoke(
        cli, ["solve", "--data", str(tiny_copy), "--out", str(tmp_path / "r"), *FAST]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_bad_options_exit_2(tiny_dir, tmp_path):
    for args in (["--time-limit", "0"], ["--workers", "-1"], ["--backend", "gurobi"]):
        result = CliRunner().invoke(
            cli, ["solve", "--data", str(tiny_dir), "--out", str(tmp_path / "r"), "--quiet", *args]
        )
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_bad_scenario_exit_2(tiny_dir, tmp_path):
    scenario = tmp_path / "typo.toml"
    scenario.write_text("[routing]\ntime_limt_s = 3\n")
    result = CliRunner().invoke(
        cli,
        [
            "solve",
            "--data",
            str(tiny_dir),
            "--out",
            str(tmp_path / "r"),
            "--scenario",
            str(scenario),
            "--quiet",
        ],
    )
    assert result.exit_code == 2 and "time_limt_s" in result.output
