"""``sen-transport budgets``: the export checked through the library, bad input → exit 2."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from transport.budgets import SavingsModel, price_pupil
from transport.budgets.export import BUDGET_COLUMNS
from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.model import Parameters
from transport.placement import place_pupils
from transport.routing import RoutingOptions, plan_routes
from transport.runs.write import read_run, write_run
from transport.scenario import BudgetSettings
from transport.travel import CrowFlyModel, straight_line_miles

TINY = Path(__file__).parent / "data" / "tiny"
CONTRACT_SUMMARY_KEYS = (
    "pupils",
    "routes",
    "annual_transport_cost",
    "annual_place_cost",
    "unplaced",
    "unrouted",
    "parameters",
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The tiny data set solved with plan_routes (1 s) and written like a solve run."""
    data = read_dataset(TINY)
    params = Parameters()
    placements = place_pupils(data, policy="keep", params=params)
    plan = plan_routes(
        data, placements, params=params, options=RoutingOptions(time_limit_s=1, workers=1)
    )
    summary = {
        "stage": "solve",
        "pupils": len(data.pupils),
        "routes": len(plan.routes),
        "annual_transport_cost": plan.annual_transport_cost,
        "annual_place_cost": None,
        "unplaced": [u.pupil_id for u in placements.unplaced],
        "unrouted": [u.pupil_id for u in plan.unrouted],
        "parameters": {**params.to_dict(), "travel_model": CrowFlyModel().describe()},
    }
    out = tmp_path_factory.mktemp("solved") / "run"
    write_run(out, summary=summary, placements=placements, routes=plan.routes, stops=plan.stops)
    return out


def invoke(*args: str):
    return CliRunner().invoke(cli, ["budgets", *args])


def test_budgets_csv_is_what_the_library_computes(run_dir, tmp_path):
    out = tmp_path / "ptb"
    result = invoke(
        "--data", str(TINY), "--run", str(run_dir), "--out", str(out),
        "--cohort", "countywide", "--draws", "200", "--seed", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "P0" not in result.output and "P1" not in result.output  # counts and totals only
    rows = pd.read_csv(out / "budgets.csv", dtype={"pupil_id": str, "school_id": str})
    assert tuple(rows.columns) == BUDGET_COLUMNS
    # net_saving recomputes from the file
    assert (rows.net_saving - (rows.marginal_saving - rows.annual_budget)).abs().max() < 0.011
    assert (rows.monthly_instalment - rows.annual_budget / 11).abs().max() < 0.006
    assert set(rows.offered) <= {0, 1}
    assert (rows[rows.offered == 1].net_saving >= 0).all()  # no offer loses money by default
    # and the library agrees, pupil by pupil
    data, run = read_dataset(TINY), read_run(run_dir)
    savings = SavingsModel(data, run, params=Parameters(), travel=CrowFlyModel())
    placement = {p.pupil_id: p for p in run.placements}
    for row in rows.itertuples():
        assert row.marginal_saving == pytest.approx(
            savings.marginal_saving(row.pupil_id), abs=0.006
        )
        pl = placement[row.pupil_id]
        route = savings.routes[savings.route_of[row.pupil_id]]
        priced = price_pupil(
            BudgetSettings(),
            pupil_id=row.pupil_id,
            district=row.district,
            age=data.pupil_by_id[row.pupil_id].age,
            school_id=pl.school_id,
            route_id=route.route_id,
            straight_miles=straight_line_miles(
                data.pupil_by_id[row.pupil_id], data.school_by_id[pl.school_id]
            ),
            road_miles=pl.road_miles,
            route_cost=route.annual_cost,
            route_pupils=len(route.pupils),
            school_days=190,
        )
        assert row.annual_budget == pytest.approx(priced.annual(), abs=0.006)
        assert row.basis == priced.basis() and row.straight_miles == priced.straight_miles
    summary = json.loads((out / "summary.json").read_text())
    for key in CONTRACT_SUMMARY_KEYS:
        assert key in summary
    assert summary["pupils"] == 12 and summary["countywide"] is None
    assert summary["budgets"]["offers"]["offers"] == int(rows.offered.sum())
    assert summary["parameters"]["budgets"]["rule"] == "kent-bands"
    assert summary["parameters"]["parameters_from"] == "run"
    for name in ("budgets.csv", "summary.json", "budget-summary.md", "budget-summary.html"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    page = (out / "budget-summary.html").read_text()
    assert "<style>" in page and "http" not in page and "<script" not in page
    assert "probability of reaching £1,500,000" in (out / "budget-summary.md").read_text()


def test_trial_cohort_by_district_alias_and_same_seed(run_dir, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = invoke(
            "--data", str(TINY), "--run", str(run_dir), "--out", str(out),
            "--districts", "Ashford,Shepway", "--seed", "5",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outs.append(json.loads((out / "summary.json").read_text()))
    rows = pd.read_csv(tmp_path / "a" / "budgets.csv")
    assert set(rows.district) <= {"Ashford", "Folkestone and Hythe"}
    assert outs[0]["budgets"]["cohort"] == "trial" and outs[0]["countywide"]["priced"] == 12
    assert outs[0]["budgets"]["simulation"] == outs[1]["budgets"]["simulation"]


def test_scenario_rule_and_attendance_file(run_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TINY, data)
    (data / "attendance.csv").write_text("pupil_id,fraction\nP01,0.5\n")
    scenario = tmp_path / "ptb.toml"
    scenario.write_text('[budgets]\nrule = "mileage"\nmileage_rate = 0.5\ndistricts = ["*"]\n')
    out = tmp_path / "out"
    result = invoke(
        "--data", str(data), "--run", str(run_dir), "--out", str(out), "--scenario", str(scenario)
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "budgets.csv").set_index("pupil_id")
    assert rows.basis.str.contains("road miles × 4 legs × 190 days × £0.50").all()
    assert rows.loc["P01", "basis"].endswith("× 0.50 attendance")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--districts", "Narnia"], "unknown district 'Narnia'"),
        (["--districts", "Ashford", "--cohort", "trial"], "not both"),
        (["--rule", "bands"], "needs budgets.bands"),
    ],
)
def test_bad_options_exit_2(run_dir, tmp_path, args, message):
    out = tmp_path / "out"
    result = invoke("--data", str(TINY), "--run", str(run_dir), "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_missing_or_unsolved_run_folder_exit_2(tmp_path):
    result = invoke(
        "--data", str(TINY), "--run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 2 and "run folder not found" in result.output
    placed = tmp_path / "placed"
    assert (
        CliRunner().invoke(cli, ["place", "--data", str(TINY), "--out", str(placed)]).exit_code == 0
    )
    result = invoke("--data", str(TINY), "--run", str(placed), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "no routes.csv" in result.output
    assert not (tmp_path / "o").exists()


def test_unknown_scenario_key_exit_2(run_dir, tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[budgets]\nuptak = 0.5\n")
    result = invoke(
        "--data", str(TINY), "--run", str(run_dir), "--out", str(tmp_path / "o"),
        "--scenario", str(scenario),
    )  # fmt: skip
    assert result.exit_code == 2 and "budgets.uptak" in result.output
