"""The travel-matrix backend: a council's own miles and minutes, asymmetric, checked at once."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.checker import check_run
from tests.test_routing import pupil, school, write_data
from transport.cli.main import cli
from transport.errors import InputError, TravelModelError
from transport.travel import Points, as_points
from transport.travel.matrix import MatrixModel


def matrix_data(folder: Path, *, drop: tuple[str, str] | None = None) -> Path:
    """Six pupils (two siblings at stop F1) and one school, with an asymmetric travel.csv:
    going towards the school is 20 % slower than coming back."""
    pupils = [pupil(f"P{i}", 0.02 + 0.015 * i, 0.01 * i) for i in range(4)]
    for p in pupils:
        p["stop_id"] = ""
    for pid in ("F_a", "F_b"):
        row = pupil(pid, 0.05, -0.03)
        row["stop_id"] = "F1"
        pupils.append(row)
    write_data(folder, pupils, schools=[school("S1")])
    where = {"S1": (0.0, 0.0)} | {f"P{i}": (0.02 + 0.015 * i, 0.01 * i) for i in range(4)}
    where["F1"] = (0.05, -0.03)
    rows = []
    for a, pa in where.items():
        for b, pb in where.items():
            if a == b or (a, b) == drop:
                continue
            miles = 60 * (abs(pa[0] - pb[0]) + abs(pa[1] - pb[1])) + 0.3
            slower = 1.2 if b == "S1" else 1.0
            rows.append([a, b, f"{miles:.3f}", f"{miles * 2.4 * slower:.3f}"])
    with open(folder / "travel.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["from_id", "to_id", "miles", "minutes"])
        w.writerows(rows)
    return folder


def test_lookup_is_asymmetric_and_needs_ids():
    m = MatrixModel(["A", "B", "A"], ["B", "A", "C"], [1.0, 2.0, 5.0], [10.0, 20.0, 50.0])
    pts = Points([[51.0, 1.0], [51.1, 1.0], [51.2, 1.0]], ["A", "B", "Z"])
    out = m.travel_matrix(pts, pts)
    assert out.minutes[0, 1] == 10.0 and out.minutes[1, 0] == 20.0
    assert out.minutes[0, 0] == 0.0 and np.isinf(out.minutes[0, 2])
    with pytest.raises(TravelModelError):
        m.travel_matrix(np.asarray(pts), np.asarray(pts))
    assert as_points(pts) is pts


def test_solve_with_a_matrix_keeps_every_rule(tmp_path):
    data = matrix_data(tmp_path / "d")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        ["solve", "--data", str(data), "--out", str(out), "--network", "matrix"]
        + ["--time-limit", "2", "--workers", "1", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["travel_model"]["backend"] == "matrix"
    assert summary["pupils_routed"] == 6
    # the checker reads travel.csv itself: miles, rides and costs recomputed from the matrix
    assert check_run(out, data) == []


def test_place_with_a_matrix(tmp_path):
    data = matrix_data(tmp_path / "d")
    out = tmp_path / "run"
    args = ["place", "--policy", "keep", "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--network", "matrix"])
    assert result.exit_code == 0, result.output
    with open(out / "placements.csv", newline="") as fh:
        rows = {r["pupil_id"]: r for r in csv.DictReader(fh)}
    # F_a boards at stop F1: 0.05 + 0.03 degrees × 60 + 0.3 miles, towards the school
    assert float(rows["F_a"]["road_miles"]) == pytest.approx(5.1, abs=0.01)


@pytest.mark.parametrize("drop", [("F1", "S1"), ("P1", "F1")])
def test_missing_pair_is_reported_with_exit_2(tmp_path, drop):
    """Placement needs each pupil's way to school, routing the ways between pickups."""
    data = matrix_data(tmp_path / "d", drop=drop)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        ["solve", "--data", str(data), "--out", str(out), "--network", "matrix", "--quiet"],
    )
    assert result.exit_code == 2, result.output
    assert "travel.csv" in result.output and f"{drop[0]} → {drop[1]}" in result.output
    assert "1 pair " in result.output
    assert not out.exists()


def test_bad_rows_are_all_reported(tmp_path):
    path = tmp_path / "travel.csv"
    path.write_text(
        "from_id,to_id,miles,minutes\nA,B,1,2\nA,B,1,2\nB,A,-1,2\nB,C,x,\n,C,1,1\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        MatrixModel.from_csv(path)
    text = str(err.value)
    for expected in ("row 3", "row 4", "row 5", "row 6", "also on row 2", "is blank"):
        assert expected in text
    with pytest.raises(TravelModelError):
        MatrixModel.from_csv(tmp_path / "nope.csv")


def test_compare_and_budgets_with_a_matrix(tmp_path):
    """A scenario on the council's matrix compares, and budgets re-plan its routes with it."""
    data = matrix_data(tmp_path / "d")
    scenario = tmp_path / "matrix.toml"
    scenario.write_text(
        '[travel]\nnetwork = "matrix"\n[routing]\nwork_limit = 2\nworkers = 1\n', encoding="utf-8"
    )
    out = tmp_path / "cmp"
    args = ["compare", str(scenario), "--data", str(data), "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--no-report"])
    assert result.exit_code == 0, result.output
    run = out / "scenarios" / "matrix"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["parameters"]["travel_model"]["backend"] == "matrix"
    assert check_run(run, data) == []
    budgets = tmp_path / "ptb"
    result = CliRunner().invoke(
        cli,
        ["budgets", "--data", str(data), "--run", str(run), "--out", str(budgets)]
        + ["--network", "matrix", "--districts", "Ashford"],
    )
    assert result.exit_code == 0, result.output
    assert (budgets / "budgets.csv").exists()
