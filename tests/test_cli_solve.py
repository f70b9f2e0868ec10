"""``sen-transport solve``: a run on the tiny data keeps every rule; bad input → exit 2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.checker import check_run
from transport.cli.main import cli

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


# --------------------------------------------------------------------------------------------
# Time limit, dated runs, ids on the terminal


def crowded_school(folder, pupils: int = 40):
    """One special school and ``pupils`` pupils around it: a search, not an exact solve."""
    import numpy as np

    rng = np.random.default_rng(7)
    folder.mkdir()
    (folder / "schools.csv").write_text(
        "school_id,name,lat,lon,district,kind,age_min,age_max,needs,capacity,place_cost,"
        "arrive_by\nS1,Ashford Special,51.1470,0.8700,Ashford,special,4,19,*,100,20000,09:00\n"
    )
    rows = [
        f"Q{i:03d},{51.147 + rng.uniform(-0.08, 0.08):.4f},{0.87 + rng.uniform(-0.12, 0.12):.4f},"
        f"Ashford,{int(rng.integers(5, 18))},ASD,S1,0,{int(rng.random() < 0.2)},0,"
        for i in range(pupils)
    ]
    (folder / "pupils.csv").write_text(
        "pupil_id,lat,lon,district,age,need,school_id,wheelchair,needs_pa,solo,max_ride_min\n"
        + "\n".join(rows)
        + "\n"
    )
    (folder / "vehicles.csv").write_text(
        "vehicle_type,seats,wheelchair_spaces,day_rate,per_mile,available\n"
        "taxi,4,0,38.00,0.95,\nminibus,12,0,85.00,1.40,\n"
    )
    return folder


def test_time_limit_reached_is_flagged_with_the_best_plan(tmp_path):
    data = crowded_school(tmp_path / "crowded")
    out = tmp_path / "run"
    result = invoke(
        "solve", "--data", str(data), "--out", str(out), "--time-limit", "0.5", "--workers", "1"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["time_limit_reached"] is True
    assert summary["time_limit_schools"] == ["S1"]
    assert "time limit" in summary["school_status"]["S1"]
    assert check_run(out, data) == []  # still a whole plan that keeps every rule
    assert summary["transport"]["pupils_routed"] == 40 and summary["unrouted"] == []
    assert "Time limit reached at 1 schools" in result.output


def test_time_limit_not_reached_when_every_school_is_solved_exactly(tiny_dir, tmp_path):
    out = tmp_path / "run"
    assert invoke("solve", "--data", str(tiny_dir), "--out", str(out), *FAST).exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["time_limit_reached"] is False and summary["time_limit_schools"] == []
    assert all(s in ("optimal", "trivial") for s in summary["school_status"].values())


def test_runs_dir_writes_dated_runs_and_moves_latest(tiny_dir, tmp_path):
    import datetime as dt
    import os
    import stat

    root = tmp_path / "runs"
    first = invoke("solve", "--data", str(tiny_dir), "--runs-dir", str(root), *FAST)
    second = invoke("solve", "--data", str(tiny_dir), "--runs-dir", str(root), *FAST)
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    today = dt.date.today().isoformat()
    assert sorted(p.name for p in root.iterdir()) == [today, f"{today}-2", "latest"]
    assert os.readlink(root / "latest") == f"{today}-2"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700  # created by the run: owner only
    for run in (root / today, root / f"{today}-2"):
        assert check_run(run, tiny_dir) == []
    assert (root / today / "routes.csv").read_bytes() == (root / "latest/routes.csv").read_bytes()
    assert f"Wrote {root / (today + '-2')}" in second.output.replace("\n", "")


def test_exactly_one_of_out_and_runs_dir(tiny_dir, tmp_path):
    both = CliRunner().invoke(
        cli,
        ["solve", "--data", str(tiny_dir), "--out", str(tmp_path / "a"), "--runs-dir",
         str(tmp_path / "b"), *FAST],
    )  # fmt: skip
    neither = CliRunner().invoke(cli, ["solve", "--data", str(tiny_dir), *FAST])
    for result in (both, neither):
        assert result.exit_code == 2 and "exactly one of --out and --runs-dir" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_left_out_pupils_counted_by_reason_ids_only_when_asked(tiny_copy, tmp_path):
    pupils = tiny_copy / "pupils.csv"
    home = "P06,51.2600,1.0500,Canterbury,"
    pupils.write_text(pupils.read_text().replace(home + "10", home + "3"))  # no school at 3
    vehicles = tiny_copy / "vehicles.csv"
    vehicles.write_text("".join(vehicles.read_text().splitlines(True)[:4]))  # no wheelchair space
    plain = invoke("solve", "--data", str(tiny_copy), "--out", str(tmp_path / "a"), *FAST)
    verbose = invoke(
        "solve", "--data", str(tiny_copy), "--out", str(tmp_path / "b"), *FAST, "--verbose-ids"
    )
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["unplaced"] == ["P06"] and sorted(summary["unrouted"]) == ["P04", "P05", "P11"]
    text = plain.output.replace("\n", " ")
    assert "1 × no school serves need MLD at age 3" in text
    assert "3 × no vehicle type has a wheelchair space" in text
    for pid in ("P04", "P05", "P06", "P11"):
        assert pid not in plain.output
        assert pid in verbose.output
