"""Journey reasons and the afternoon run (transport/routing/explain.py).

Every figure is recomputed by the independent checker (tests/checker.py) from the run's files,
the data and the rate card: each ride's limit, direct time and excess, a reason exactly for the
rides over their limit (``long-direct`` only when the direct journey is longer than the limit
less 15 minutes), ``sharing_saving`` from routes.csv and vehicles.csv, and the afternoon's
rides and drop-off times (on a symmetric and on an asymmetric travel matrix).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.checker import check_run
from tests.test_routing import FAST, pupil, school, solve, write_data
from transport.cli.main import cli
from transport.costing import route_cost
from transport.data.validate import read_dataset
from transport.model import Parameters
from transport.routing import RoutingOptions
from transport.routing.explain import cheapest_alone, price_saving, reprice_explanations


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["pupil_id"]: r for r in csv.DictReader(fh)}


def far_clusters() -> list[dict]:
    """Four pupils whose direct journey (about 32 min) passes their 20-minute limit, four whose
    direct journey (about 21 min) is within 15 minutes of their 30-minute limit, and four near
    the school: sharing puts the first two groups over their limits."""
    out = [pupil(f"F{i}", 0.30 + 0.002 * i, 0.2, limit="20") for i in range(4)]
    out += [pupil(f"M{i}", 0.20 + 0.002 * i, 0.1, limit="30") for i in range(4)]
    out += [pupil(f"N{i}", 0.02 + 0.003 * i, 0.01) for i in range(4)]
    return out


@pytest.fixture(scope="module")
def explained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("explain")
    data = write_data(root / "d", far_clusters())
    _, out = solve(root, data)  # solve() asserts check_run(out, data) == []
    return out, data


def test_every_ride_over_its_limit_is_explained(explained):
    out, data = explained
    assert check_run(out, data) == []  # limits, reasons, savings, afternoon: recomputed
    rows = rows_of(out / "stops.csv")
    over = {p: r for p, r in rows.items() if float(r["over_min"]) > 0}
    assert {p[0] for p in over} >= {"F", "M"}
    for pid, r in rows.items():
        assert bool(r["reason_code"]) == (pid in over) == bool(r["reason"])
        assert float(r["limit_min"]) == (20 if pid[0] == "F" else 30 if pid[0] == "M" else 75)
    for r in over.values():
        direct, limit = float(r["direct_min"]), float(r["limit_min"])
        assert r["reason_code"] == "long-direct" and direct > limit - 15
        assert (
            f"{direct:.1f} min" in r["reason"] and f"{float(r['ride_min']):.1f} min" in r["reason"]
        )
        assert r["sharing_saving"] and f"£{abs(float(r['sharing_saving'])):,.2f}" in r["reason"]
        if direct > limit:
            assert "longer than the limit" in r["reason"]
        else:
            assert "within 15 minutes of the limit" in r["reason"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["transport"]["over_limit_by_reason"]["long-direct"] == len(over)
    assert summary["transport"]["pupils_over_limit"] == len(over)


def test_price_saving_is_the_contract_formula():
    """sharing_saving = the same route without the pupil (same type, same order) + the
    cheapest vehicle carrying the pupil alone − the route's annual cost, each to the penny.
    (The checker recomputes it for every run from routes.csv, the miles and vehicles.csv.)"""
    from transport.model import Route, VehicleType

    params = Parameters()
    minibus = VehicleType("minibus", 12, 0, 85.0, 1.40, None)
    taxi = VehicleType("taxi", 4, 0, 38.0, 0.95, None)
    vehicles = {"minibus": minibus, "taxi": taxi}
    cost = round(route_cost(minibus, 7.25, True, params), 2)
    route = Route("R0001", "S1", "minibus", True, ("A", "B", "C"), 7.25, cost)
    basis = (5.0, False, "taxi", 3.1, True)  # without the pupil no PA rides; alone they need one
    expected = (
        round(route_cost(minibus, 5.0, False, params), 2)
        + round(route_cost(taxi, 3.1, True, params), 2)
        - cost
    )
    assert price_saving(basis, route, vehicles, params) == pytest.approx(expected, abs=1e-9)
    alone = (None, False, "taxi", 7.25, True)  # the pupil was alone: nothing left without them
    assert price_saving(alone, route, vehicles, params) == pytest.approx(
        round(route_cost(taxi, 7.25, True, params), 2) - cost, abs=1e-9
    )
    wheel = read_dataset(Path(__file__).parent / "data" / "tiny").pupil_by_id["P04"]
    kind, _ = cheapest_alone(
        wheel, 2.0, read_dataset(Path(__file__).parent / "data" / "tiny").vehicles, params
    )
    assert kind.startswith("wav")  # a wheelchair user alone needs a wheelchair space


def test_reasons_are_repriced_with_the_routes(tmp_path):
    """At today's prices (every rate × f) the saving is re-priced from its basis exactly."""
    from dataclasses import replace

    from transport.costing import price_factors, reprice_dataset, reprice_params, reprice_routes
    from transport.placement import place_pupils
    from transport.routing import plan_routes

    data = read_dataset(write_data(tmp_path / "d", far_clusters()))
    plan = plan_routes(data, place_pupils(data, policy="keep"), options=FAST)
    factors = price_factors("today")
    dear = reprice_dataset(data, factors)
    params = reprice_params(Parameters(), factors)
    routes = reprice_routes(plan.routes, dear, params)
    explained = reprice_explanations(plan.explanations, routes, dear, params)
    vehicles = {v.vehicle_type: v for v in dear.vehicles}
    by_id = {r.route_id: r for r in routes}
    saw = 0
    for before, after in zip(plan.explanations, explained, strict=True):
        if before.sharing_saving is None:
            assert after == before
            continue
        saw += 1
        route = by_id[after.route_id]
        assert after.sharing_saving == price_saving(after.saving_basis, route, vehicles, params)
        assert after.sharing_saving == pytest.approx(
            before.sharing_saving * factors.transport, abs=0.05
        )
        assert f"£{abs(after.sharing_saving):,.2f}" in after.reason
        assert replace(after, sharing_saving=None, reason="", pm_reason="") == replace(
            before, sharing_saving=None, reason="", pm_reason=""
        )
    assert saw


def test_afternoon_run_mirrors_the_morning_on_symmetric_travel(explained):
    """Crow-fly travel is the same both ways: the afternoon ride equals the morning's, and
    the pupil is home finish_at + 5 + that ride later (15:15 by default)."""
    out, data = explained
    rows = rows_of(out / "stops.csv")
    for r in rows.values():
        assert float(r["pm_ride_min"]) == pytest.approx(float(r["ride_min"]), abs=0.05)
        h, m = map(int, r["dropoff"].split(":"))
        assert h * 60 + m == int(15 * 60 + 20 + float(r["pm_ride_min"]) + 1e-6) or (
            abs(h * 60 + m - (15 * 60 + 20 + float(r["pm_ride_min"]))) < 1.01
        )
        assert r["pm_reason_code"] == r["reason_code"]


def test_finish_at_moves_the_afternoon(tmp_path):
    schools = [{**school("S1"), "finish_at": "14:30"}]
    data = write_data(
        tmp_path / "d", [pupil(f"N{i}", 0.02 + 0.01 * i) for i in range(3)], schools=schools
    )
    _, out = solve(tmp_path, data)
    for r in rows_of(out / "stops.csv").values():
        home = 14 * 60 + 35 + float(r["pm_ride_min"])
        h, m = map(int, r["dropoff"].split(":"))
        assert h * 60 + m <= home < h * 60 + m + 1.01


def asymmetric_data(folder: Path) -> Path:
    """Eight pupils in two groups and a school, with a travel.csv whose roads away from the
    school take 60 % longer than the roads towards it (a one-way system): afternoon rides are
    longer than the morning's."""
    spots = {f"A{i}": (0.10 + 0.01 * i, 0.02 * i) for i in range(4)}
    spots |= {f"B{i}": (0.05 + 0.004 * i, -0.03) for i in range(4)}
    pupils = [pupil(pid, lat, lon, limit="14") for pid, (lat, lon) in spots.items()]
    write_data(folder, pupils, schools=[school("S1")])
    where = {"S1": (0.0, 0.0), **spots}
    rows = []
    for a, pa in where.items():
        for b, pb in where.items():
            if a == b:
                continue
            miles = 60 * (abs(pa[0] - pb[0]) + abs(pa[1] - pb[1])) * 0.5 + 0.3
            towards = abs(pb[0]) + abs(pb[1]) < abs(pa[0]) + abs(pa[1])
            minutes = miles * 2.4 * (1.0 if towards else 1.6)
            rows.append([a, b, f"{miles:.3f}", f"{minutes:.3f}"])
    with open(folder / "travel.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["from_id", "to_id", "miles", "minutes"])
        w.writerows(rows)
    return folder


def test_afternoon_on_an_asymmetric_matrix_is_recomputed_and_explained(tmp_path):
    data = asymmetric_data(tmp_path / "d")
    out = tmp_path / "run"
    args = ["solve", "--data", data, "--out", out, "--network", "matrix", "--time-limit", "2"]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--workers", "1", "--quiet"]])
    assert result.exit_code == 0, result.output
    assert check_run(out, data) == []  # the checker reads travel.csv: afternoon recomputed
    rows = rows_of(out / "stops.csv")
    assert all(float(r["pm_ride_min"]) > float(r["ride_min"]) for r in rows.values())
    late = [r for r in rows.values() if float(r["pm_over_min"]) > 0]
    assert late, "the slower roads home put afternoon rides over the limit"
    for r in late:
        assert r["pm_reason_code"] in ("long-direct", "shared-saving", "afternoon-roads")
        assert r["pm_reason"].startswith("The afternoon ride home takes")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["transport"]["pm_pupils_over_limit"] == len(late)
    assert summary["transport"]["pm_max_ride_min"] > summary["transport"]["max_ride_min"]


def test_strict_limits_leave_only_long_direct_rides_over_the_limit(tmp_path):
    """--strict-limits: a ride passes its limit only when the direct journey does, and then
    the pupil rides direct; every such ride says so."""
    data = write_data(tmp_path / "d", far_clusters())
    options = RoutingOptions(time_limit_s=1.0, workers=1, strict_limits=True)
    _, out = solve(tmp_path, data, options=options)
    rows = rows_of(out / "stops.csv")
    for r in rows.values():
        ride, limit, direct = (float(r[k]) for k in ("ride_min", "limit_min", "direct_min"))
        assert ride <= max(limit, direct) + 0.1
        if float(r["over_min"]) > 0:
            assert r["reason_code"] == "long-direct" and direct > limit
            assert ride == pytest.approx(direct, abs=0.1)  # rides direct
            assert "rides direct" in r["reason"]
    assert any(float(r["over_min"]) > 0 for r in rows.values())


def test_no_slack_and_tight_limits_never_crash(tmp_path):
    """direct_slack_min = 0 with limits below the direct journeys (which stopped an earlier
    engine with an AssertionError in repair): every pupil is routed or unrouted with a reason."""
    from transport.jobs import solve_job
    from transport.scenario import Scenario

    pupils = [pupil(f"T{i}", 0.05 + 0.02 * i, 0.01 * i, limit="5") for i in range(8)]
    data = write_data(tmp_path / "d", pupils)
    scenario = Scenario().with_overrides(
        {"ride.direct_slack_min": 0.0, "routing.time_limit_s": 1.0, "routing.workers": 1}
    )
    out = tmp_path / "run"
    summary = solve_job(data, out, scenario=scenario)
    assert summary.pupils_routed + len(summary.unrouted) == 8
    assert all(summary.unrouted.values())
    assert check_run(out, data) == []


def test_the_checker_catches_a_wrong_reason_saving_or_dropoff(explained, tmp_path):
    """The recomputation is not vacuous: each kind of error in stops.csv is reported."""
    import shutil

    out, data = explained
    with open(out / "stops.csv", newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    edits = {
        "reason_code": lambda r: {**r, "reason_code": "", "reason": ""},
        "sharing_saving": lambda r: {**r, "sharing_saving": f"{float(r['sharing_saving']) + 10}"},
        "dropoff": lambda r: {**r, "dropoff": "17:59"},
        "pm_ride_min": lambda r: {**r, "pm_ride_min": f"{float(r['pm_ride_min']) + 3:.1f}"},
    }
    for name, change in edits.items():
        run = tmp_path / name
        shutil.copytree(out, run)
        rows = list(rows_of(run / "stops.csv").values())
        k = next(i for i, r in enumerate(rows) if r["reason_code"])
        rows[k] = change(rows[k])
        with open(run / "stops.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        found = check_run(run, data)
        assert found and all(rows[k]["pupil_id"] in v for v in found), (name, found)
