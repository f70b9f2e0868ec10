"""``sen-transport compare``: scenarios side by side on the tiny data, checked from the files."""

from __future__ import annotations

import bz2
import csv
import json
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.checker import check_run
from transport.cli.main import cli
from transport.compare import columns, compare_scenarios
from transport.costing import TODAY_TRANSPORT_FACTOR, price_factors, reprice_dataset
from transport.costing import reprice_params as scaled_params
from transport.data.validate import read_dataset
from transport.model import Parameters
from transport.placement import place_pupils
from transport.placement.capacity import with_capacity
from transport.routing import route_cost
from transport.runs.write import read_run

SCENARIOS = Path(__file__).parents[1] / "scenarios"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RUTLAND = SHARED / "osm" / "rutland-drive.osm.bz2"
FAST = {
    "routing.time_limit_s": 2,
    "routing.work_limit": 5,
    "routing.workers": 1,
    "budgets.draws": 50,
}
FAST_ARGS = ["--time-limit", "2", "--workers", "1", "--draws", "50", "--quiet", "--no-report"]

TINY_SCENARIOS = {
    "more-places": """
        # two places for ASD or SEMH, one at a time, where they save most
        description = "Baseline + 2 ASD/SEMH places"
        [placement]
        policy = "nearest-with-capacity"
        [[capacity]]
        needs = ["ASD", "SEMH"]
        add = 2
        where = "best"
        batch = 1
    """,
    "ptb": """
        [placement]
        policy = "nearest-with-capacity"
        [budgets]
        offer = true
        districts = ["*"]
        uptake = 0.5
    """,
    "today": """
        [placement]
        policy = "nearest-with-capacity"
        [prices]
        basis = "today"
    """,
}


def scenario_files(folder: Path) -> list[Path]:
    """The tiny scenarios, the shipped baseline last (compare must move it first)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, text in TINY_SCENARIOS.items():
        path = folder / f"{name}.toml"
        path.write_text(text)
        files.append(path)
    return [*files, SCENARIOS / "baseline.toml"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[Path, dict, float]:
    root = tmp_path_factory.mktemp("compare")
    files = scenario_files(root / "scenarios")
    start = time.perf_counter()
    doc = compare_scenarios(
        files, Path(__file__).parent / "data" / "tiny", root / "out", overrides=FAST
    )
    return root / "out", doc, time.perf_counter() - start


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_comparison_csv_has_the_agreed_columns_baseline_first(compared, tiny_dir):
    out, doc, _ = compared
    data = read_dataset(tiny_dir)
    types = [v.vehicle_type for v in data.vehicles]
    with open(out / "comparison.csv", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    assert tuple(header) == columns(types)
    assert header[:3] == ["scenario", "description", "policy"]
    assert [f"vehicles_{t}" for t in types] == header[21 : 21 + len(types)]
    rows = read_csv(out / "comparison.csv")
    assert [r["scenario"] for r in rows] == ["baseline", "more-places", "ptb", "today"]
    assert doc["baseline"] == "baseline" and doc["target"] == 1_500_000.0
    assert doc["vehicle_types"] == types
    assert (out / "comparison.json").stat().st_mode & 0o077 == 0
    written = json.loads((out / "comparison.json").read_text())
    for r in written["scenarios"]:
        assert set(columns(types)) <= set(r)
        for key in ("run_dir", "budgets_dir", "shortfall_csv", "capacity_csv", "reused"):
            assert key in r
        assert sum(r["vehicles_by_type"].values()) == r["routes"]


def test_every_row_is_recomputed_from_its_run_folder(compared, tiny_dir):
    out, doc, _ = compared
    data = read_dataset(tiny_dir)
    base_total = doc["scenarios"][0]["annual_total_cost"]
    for row in doc["scenarios"]:
        run = read_run(out / row["run_dir"])
        assert (out / row["run_dir"] / "scenario.toml").exists()
        transport = round(sum(r.annual_cost for r in run.routes), 2)
        assert row["annual_transport_cost"] == pytest.approx(transport, abs=0.011)
        assert row["routes"] == len(run.routes)
        by_type = Counter(r.vehicle_type for r in run.routes)
        for v in data.vehicles:
            assert row[f"vehicles_{v.vehicle_type}"] == by_type[v.vehicle_type]
        assert row["passenger_assistants"] == sum(r.has_pa for r in run.routes)
        rides = [s.ride_min for s in run.stops]
        assert row["pupils_routed"] == len(rides)
        assert row["pupils_over_45_min"] == sum(x > 45 for x in rides)
        assert row["max_ride_min"] == pytest.approx(max(rides), abs=0.051)
        schools = data.school_by_id
        independent = sum(schools[p.school_id].kind == "independent" for p in run.placements)
        assert row["independent_or_out_of_county"] == independent
        total = row["annual_transport_cost"] + row["annual_place_cost"] - row["ptb_expected_saving"]
        assert row["annual_total_cost"] == pytest.approx(total, abs=0.011)
        assert row["saving_vs_baseline"] == pytest.approx(base_total - total, abs=0.011)
        assert row["target_progress"] == pytest.approx(row["saving_vs_baseline"] / 1.5e6, abs=1e-4)
        if row["prices"] == "2013":
            assert check_run(out / row["run_dir"], tiny_dir) == []


def test_capacity_places_are_sited_and_placed(compared, tiny_dir):
    out, doc, _ = compared
    row = next(r for r in doc["scenarios"] if r["scenario"] == "more-places")
    assert row["capacity_csv"] == "scenarios/more-places/capacity.csv"
    cap = read_csv(out / row["capacity_csv"])
    assert sum(int(r["places_added"]) for r in cap) == 2 == row["places_added"]
    data = read_dataset(tiny_dir)
    for r in cap:
        school = data.school_by_id[r["school_id"]]
        assert school.kind in ("special", "resourced") and set(r["need"].split(";")) & school.needs
    capacity = {s.school_id: s.capacity for s in data.schools}
    for r in cap:
        capacity[r["school_id"]] += int(r["places_added"])
    expected = place_pupils(with_capacity(data, capacity), policy="nearest-with-capacity")
    run = read_run(out / row["run_dir"])
    assert {p.pupil_id: p.school_id for p in run.placements} == expected.school_of
    base = doc["scenarios"][0]
    assert row["annual_place_cost"] <= base["annual_place_cost"]


def test_prices_today_re_prices_the_baseline_routes(compared, tiny_dir):
    out, doc, _ = compared
    base = read_run(out / "scenarios" / "baseline")
    today = read_run(out / "scenarios" / "today")
    assert [(r.pupils, r.vehicle_type, r.route_miles) for r in today.routes] == [
        (r.pupils, r.vehicle_type, r.route_miles) for r in base.routes
    ]
    factors = price_factors("today")
    assert factors.transport == pytest.approx(8100 / 4250) == TODAY_TRANSPORT_FACTOR
    data = reprice_dataset(read_dataset(tiny_dir), factors)
    params = scaled_params(Parameters(), factors)
    vehicles = {v.vehicle_type: v for v in data.vehicles}
    for r, b in zip(today.routes, base.routes, strict=True):
        cost = route_cost(vehicles[r.vehicle_type], r.route_miles, r.has_pa, params)
        assert r.annual_cost == pytest.approx(cost, abs=0.006)
        assert r.annual_cost == pytest.approx(b.annual_cost * factors.transport, abs=0.02)
    row = next(r for r in doc["scenarios"] if r["scenario"] == "today")
    assert row["prices"] == "today" and row["reused"] == ["placement", "routes"]
    assert row["annual_place_cost"] == doc["scenarios"][0]["annual_place_cost"]


def test_budgets_are_offered_on_the_baseline_routes(compared):
    out, doc, _ = compared
    row = next(r for r in doc["scenarios"] if r["scenario"] == "ptb")
    assert "routes" in row["reused"]  # the baseline's plan, from the cache
    assert row["budgets_dir"] == "scenarios/ptb/budgets"
    budgets = read_csv(out / row["budgets_dir"] / "budgets.csv")
    assert row["ptb_offers"] == sum(r["offered"] == "1" for r in budgets)
    summary = json.loads((out / row["budgets_dir"] / "summary.json").read_text())
    assert row["ptb_expected_saving"] == summary["budgets"]["offers"]["expected_net_saving"]
    assert row["ptb_saving_p5"] <= row["ptb_saving_p95"]
    assert summary["budgets"]["simulation"]["draws"] == 50
    assert (out / row["budgets_dir"] / "budget-summary.html").exists()
    for other in doc["scenarios"]:
        if other["scenario"] != "ptb":
            assert other["ptb_offers"] == 0 and other["budgets_dir"] is None


def test_a_second_run_re_uses_every_stage(compared, tmp_path):
    out, doc, _ = compared
    files = scenario_files(tmp_path / "again")
    again = compare_scenarios(files, Path(__file__).parent / "data" / "tiny", out, overrides=FAST)
    # every stage re-used (no placement, search or pricing ran), whatever the machine's load:
    # a wall-clock comparison of two sub-second runs was flaky on a busy machine
    for row in again["scenarios"]:
        stages = {"placement", "routes"} | ({"budgets"} if row["budgets_dir"] else set())
        assert set(row["reused"]) == stages, row["scenario"]
    drop = {"wall_time_s", "reused"}
    for a, b in zip(doc["scenarios"], again["scenarios"], strict=True):
        assert {k: v for k, v in a.items() if k not in drop} == {
            k: v for k, v in b.items() if k not in drop
        }


def test_a_change_to_the_routing_code_re_plans_the_routes_only(compared, tiny_dir, monkeypatch):
    from transport.pipeline import cache

    out, _, _ = compared
    monkeypatch.setitem(cache._CODE, "routes", "another routing engine")
    doc = compare_scenarios([SCENARIOS / "baseline.toml"], tiny_dir, out, overrides=FAST)
    assert doc["scenarios"][0]["reused"] == ["placement"]


def test_a_changed_time_limit_re_plans_the_routes_only(compared, tiny_dir, tmp_path):
    out, _, _ = compared
    files = [SCENARIOS / "baseline.toml"]
    opts = {**FAST, "routing.time_limit_s": 1.5}
    doc = compare_scenarios(files, tiny_dir, out, overrides=opts)
    assert doc["scenarios"][0]["reused"] == ["placement"]


# -------------------------------------------------------------------------------------------
# Command line


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_compare_prints_the_table(tiny_dir, tmp_path):
    files = scenario_files(tmp_path / "sc")
    out = tmp_path / "out"
    args = ["compare", str(files[-1]), str(files[2]), "--data", str(tiny_dir), "--out", str(out)]
    result = invoke(*args, *FAST_ARGS)
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "today" in result.output
    assert "annual total cost" in result.output and "progress to target" in result.output
    assert "P0" not in result.output and "51.1" not in result.output
    doc = json.loads((out / "comparison.json").read_text())
    assert [s["scenario"] for s in doc["scenarios"]] == ["baseline", "today"]
    assert f"£{doc['scenarios'][1]['annual_transport_cost']:,.0f}" in result.output


@pytest.mark.parametrize(
    "text,named",
    [
        ("[placement]\npolicie = 'optimal'", "placement.policie"),
        ("[budgets]\noffer = 'yes'", "budgets.offer"),
        ("[prices]\nbasis = 'tomorrow'", "prices.basis"),
        ("[[capacity]]\nneeds = ['ASD']\nadd = 5\nwhere = 'best'\nbatch = 0", "capacity.batch"),
    ],
)
def test_cli_bad_scenario_exits_2_naming_the_key(tiny_dir, tmp_path, text, named):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    out = tmp_path / "out"
    args = ["compare", str(SCENARIOS / "baseline.toml"), str(bad), "--data", str(tiny_dir)]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), *FAST_ARGS])
    assert result.exit_code == 2, result.output
    assert named in result.output and "bad.toml" in result.output
    assert "Traceback" not in result.output
    assert not (out / "scenarios").exists()  # every file is checked before anything runs


def test_cli_unknown_school_in_capacity_exits_2(tiny_dir, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[capacity]]\nschool_id = 'NOPE'\nadd = 5\n")
    result = CliRunner().invoke(
        cli,
        ["compare", str(bad), "--data", str(tiny_dir), "--out", str(tmp_path / "o"), *FAST_ARGS],
    )
    assert result.exit_code == 2 and "capacity[1].school_id" in result.output


def test_cli_duplicate_names_exit_2(tiny_dir, tmp_path):
    base = str(SCENARIOS / "baseline.toml")
    result = CliRunner().invoke(
        cli,
        ["compare", base, base, "--data", str(tiny_dir), "--out", str(tmp_path / "o"), *FAST_ARGS],
    )
    assert result.exit_code == 2 and "two scenarios are named 'baseline'" in result.output


def test_cli_map_options_need_network_osm(tiny_dir, tmp_path):
    osm = tmp_path / "map.osm"
    osm.write_text("<osm/>")
    args = ["compare", str(SCENARIOS / "baseline.toml"), "--data", str(tiny_dir)]
    result = CliRunner().invoke(
        cli, [*args, "--out", str(tmp_path / "o"), "--osm-file", str(osm), *FAST_ARGS]
    )
    assert result.exit_code == 2 and "--network osm" in result.output


# -------------------------------------------------------------------------------------------
# --network osm: a hand-made map (always) and the real Rutland network (when ../shared is there)

# a star of dead-end roads, so that the graph keeps every node (OSMnx simplifies the others)
HAND_MADE_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="52.6500" lon="-0.7000"/>
  <node id="2" lat="52.6500" lon="-0.6900"/>
  <node id="3" lat="52.6600" lon="-0.7000"/>
  <node id="4" lat="52.6400" lon="-0.7000"/>
  <node id="5" lat="52.6600" lon="-0.6900"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="unclassified"/></way>
  <way id="11"><nd ref="1"/><nd ref="3"/><tag k="highway" v="unclassified"/></way>
  <way id="12"><nd ref="1"/><nd ref="4"/><tag k="highway" v="unclassified"/></way>
  <way id="13"><nd ref="1"/><nd ref="5"/><tag k="highway" v="unclassified"/></way>
</osm>
"""


def write_data(folder: Path, points: list[tuple[float, float]]) -> Path:
    """2 schools at the first two points, a pupil at each other point, tiny's vehicles."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schools.csv").write_text(
        "school_id,name,lat,lon,district,kind,age_min,age_max,needs,capacity,place_cost,arrive_by\n"
        f"A,School A,{points[0][0]},{points[0][1]},Rutland,special,4,19,*,2,20000,09:00\n"
        f"B,School B,{points[1][0]},{points[1][1]},Rutland,special,4,19,*,20,21000,09:00\n"
    )
    lines = ["pupil_id,lat,lon,district,age,need,school_id,wheelchair,needs_pa,solo,max_ride_min"]
    for i, (lat, lon) in enumerate(points[2:], start=1):
        lines.append(f"Q{i:02d},{lat},{lon},Rutland,{6 + i % 10},ASD,,0,0,0,")
    (folder / "pupils.csv").write_text("\n".join(lines) + "\n")
    (folder / "vehicles.csv").write_text(
        (Path(__file__).parent / "data" / "tiny" / "vehicles.csv").read_text()
    )
    return folder


def test_compare_with_network_osm_uses_the_road_map(tmp_path):
    osm = tmp_path / "hand.osm.bz2"
    osm.write_bytes(bz2.compress(HAND_MADE_OSM.encode()))
    points = [(52.65, -0.70), (52.65, -0.69), (52.66, -0.70), (52.64, -0.70), (52.66, -0.69)]
    data = write_data(tmp_path / "data", points)
    out = tmp_path / "out"
    args = ["compare", str(SCENARIOS / "baseline.toml"), str(SCENARIOS / "prices-today.toml")]
    args += ["--data", str(data), "--out", str(out), "--network", "osm", "--osm-file", str(osm)]
    args += ["--cache-dir", str(tmp_path / "cache"), *FAST_ARGS]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "comparison.json").read_text())
    assert [s["network"] for s in doc["scenarios"]] == ["osm", "osm"]
    summary = json.loads((out / "scenarios" / "baseline" / "summary.json").read_text())
    assert summary["parameters"]["travel_model"]["backend"] == "osm"
    assert "hand.osm.bz2" in summary["parameters"]["travel_model"]["source"]
    assert (tmp_path / "cache" / "compare" / "routes").is_dir()  # stages cached beside graphs
    assert doc["scenarios"][1]["reused"] == ["placement", "routes"]


@pytest.mark.skipif(not RUTLAND.exists(), reason=f"the Rutland OSM extract is not at {RUTLAND}")
def test_compare_on_the_rutland_road_network(tmp_path):
    from transport.travel.network import load_road_graph

    cache = tmp_path / "cache"
    graph = load_road_graph(osm_file=RUTLAND, cache_dir=cache)
    pick = [0, 997, 1999, 2501, 3011, 3517, 4003, 4519, 5011]
    points = [(float(graph.lat[i]), float(graph.lon[i])) for i in pick]
    data = write_data(tmp_path / "data", points)
    out = tmp_path / "out"
    args = ["compare", str(SCENARIOS / "baseline.toml"), "--data", str(data), "--out", str(out)]
    args += ["--network", "osm", "--osm-file", str(RUTLAND), "--cache-dir", str(cache)]
    result = invoke(*args, *FAST_ARGS)
    assert result.exit_code == 0, result.output
    row = json.loads((out / "comparison.json").read_text())["scenarios"][0]
    assert row["network"] == "osm" and row["pupils_routed"] == 7 and row["unplaced"] == 0
    summary = json.loads((out / "scenarios" / "baseline" / "summary.json").read_text())
    assert summary["parameters"]["travel_model"]["graph_hash"] == graph.digest


def test_cli_compare_writes_the_report(tiny_dir, tmp_path):
    out = tmp_path / "out"
    args = ["compare", str(SCENARIOS / "baseline.toml"), "--data", str(tiny_dir), "--out", str(out)]
    fast = [a for a in FAST_ARGS if a != "--no-report"]
    result = invoke(*args, *fast)
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists() and "report.html" in result.output


def test_scenarios_through_worker_processes_give_the_same_table(compared, tiny_dir, tmp_path):
    """The executor seam: scenarios as independent tasks in worker processes."""
    from transport.executor import LocalExecutor

    _, doc, _ = compared
    files = scenario_files(tmp_path / "sc")
    with LocalExecutor(2) as executor:
        again = compare_scenarios(
            files, tiny_dir, tmp_path / "out", overrides=FAST, executor=executor
        )
    drop = {"wall_time_s", "reused"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in again["scenarios"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in doc["scenarios"]
    ]
