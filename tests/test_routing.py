"""Routing: every rule of a route on tiny data sets, both backends, determinism, properties.

Each case writes a small data folder, solves it through ``solve_job`` (so the run folder is the
one users get) and hands the folder to the independent checker in ``tests/checker.py``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checker import check_run
from transport.data.validate import read_dataset
from transport.jobs import solve_job
from transport.model import Parameters, VehicleType
from transport.placement import place_pupils
from transport.routing import RoutingOptions, plan_routes, route_cost
from transport.scenario import Scenario

SCHOOL = {"lat": 51.20, "lon": 0.90}
VEHICLES = [
    ("taxi", 4, 0, 38.0, 0.95, ""),
    ("mpv", 6, 0, 52.0, 1.10, ""),
    ("minibus", 12, 0, 85.0, 1.40, ""),
    ("wav_taxi", 3, 1, 60.0, 1.20, ""),
    ("wav_minibus", 8, 4, 110.0, 1.70, ""),
]
FAST = RoutingOptions(time_limit_s=1.0, workers=1)


def pupil(pid, dlat=0.02, dlon=0.0, *, school="S1", age=12, wheel=0, pa=0, solo=0, limit=""):
    return {
        "pupil_id": pid,
        "lat": f"{SCHOOL['lat'] + dlat:.6f}",
        "lon": f"{SCHOOL['lon'] + dlon:.6f}",
        "district": "Ashford",
        "age": age,
        "need": "ASD",
        "school_id": school,
        "wheelchair": wheel,
        "needs_pa": pa,
        "solo": solo,
        "max_ride_min": limit,
    }


def school(sid="S1", dlat=0.0, dlon=0.0, arrive="09:00"):
    return {
        "school_id": sid,
        "name": f"School {sid}",
        "lat": f"{SCHOOL['lat'] + dlat:.6f}",
        "lon": f"{SCHOOL['lon'] + dlon:.6f}",
        "district": "Ashford",
        "kind": "special",
        "age_min": 4,
        "age_max": 19,
        "needs": "*",
        "capacity": 500,
        "place_cost": 20000,
        "arrive_by": arrive,
    }


def write_data(folder: Path, pupils, *, schools=None, vehicles=VEHICLES, pairs=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "schools.csv": schools or [school()],
        "pupils.csv": pupils,
        "vehicles.csv": [
            dict(
                zip(
                    (
                        "vehicle_type",
                        "seats",
                        "wheelchair_spaces",
                        "day_rate",
                        "per_mile",
                        "available",
                    ),
                    v,
                    strict=True,
                )
            )
            for v in vehicles
        ],
        "incompatible.csv": [{"pupil_a": a, "pupil_b": b} for a, b in pairs],
    }
    for name, rows in tables.items():
        if name == "incompatible.csv" and not rows:
            continue
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder


def solve(tmp_path: Path, data_dir: Path, options: RoutingOptions = FAST) -> tuple[dict, Path]:
    out = tmp_path / "run"
    summary = solve_job(data_dir, out, scenario=Scenario(routing=options)).to_dict()
    violations = check_run(out, data_dir)
    assert violations == [], violations
    return summary, out


def routes_of(out: Path) -> list[dict[str, str]]:
    with open(out / "routes.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def route_with(out: Path, pid: str) -> dict[str, str]:
    (row,) = [r for r in routes_of(out) if pid in r["pupils"].split(";")]
    return row


# --------------------------------------------------------------------------------------------
# one rule at a time


def test_solo_pupil_travels_alone_in_the_cheapest_type(tmp_path):
    pupils = [pupil("A", 0.02), pupil("B", 0.021), pupil("C", 0.019, solo=1)]
    _, out = solve(tmp_path, write_data(tmp_path / "d", pupils))
    solo = route_with(out, "C")
    assert solo["pupils"] == "C" and solo["vehicle_type"] == "taxi"
    assert route_with(out, "A") == route_with(out, "B")


def test_wheelchair_user_gets_a_wheelchair_space(tmp_path):
    pupils = [pupil("A", 0.02), pupil("W", 0.021, wheel=1), pupil("B", 0.022)]
    _, out = solve(tmp_path, write_data(tmp_path / "d", pupils))
    assert route_with(out, "W")["vehicle_type"] in {"wav_taxi", "wav_minibus"}


def test_pa_takes_a_seat_and_is_paid_for(tmp_path):
    # four pupils and a PA pupil at one spot: 5 pupils + PA do not fit a taxi or a wav_taxi
    pupils = [pupil(f"P{i}", 0.03) for i in range(4)] + [pupil("Q", 0.03, pa=1)]
    summary, out = solve(tmp_path, write_data(tmp_path / "d", pupils))
    with_pa = route_with(out, "Q")
    assert with_pa["has_pa"] == "1"
    seats = {v[0]: v[1] for v in VEHICLES}
    assert len(with_pa["pupils"].split(";")) + 1 <= seats[with_pa["vehicle_type"]]
    assert summary["passenger_assistants"] == sum(r["has_pa"] == "1" for r in routes_of(out))


def test_incompatible_pupils_never_share(tmp_path):
    pupils = [pupil("A", 0.02), pupil("B", 0.02), pupil("C", 0.02)]
    data = write_data(tmp_path / "d", pupils, pairs=[("A", "B")])
    _, out = solve(tmp_path, data)
    assert route_with(out, "A")["route_id"] != route_with(out, "B")["route_id"]


def test_pupil_no_vehicle_can_carry_is_unrouted_and_the_rest_planned(tmp_path):
    no_wav = [v for v in VEHICLES if v[2] == 0]
    pupils = [pupil("A", 0.02), pupil("W", 0.02, wheel=1), pupil("B", 0.03)]
    summary, out = solve(tmp_path, write_data(tmp_path / "d", pupils, vehicles=no_wav))
    assert summary["unrouted"] == ["W"]
    assert "wheelchair space" in summary["unrouted_reasons"]["W"]
    assert {p for r in routes_of(out) for p in r["pupils"].split(";")} == {"A", "B"}


def test_pa_pupil_needs_two_seats_without_a_wheelchair():
    from transport.model import Pupil
    from transport.routing._problem import unroutable_reason

    p = Pupil("Q", 51.2, 0.9, "Ashford", 9, "ASD", "S1", False, True, False, None)
    one_seat = [VehicleType("bike", 1, 0, 10.0, 0.5, None)]
    assert "passenger assistant" in unroutable_reason(p, one_seat)
    assert unroutable_reason(p, [VehicleType("taxi", 2, 0, 10.0, 0.5, None)]) is None


def test_ride_limit_binds_so_one_vehicle_cannot_take_everyone(tmp_path):
    # primary pupils (45 min) strung out 6-14 miles east: one minibus round would exceed limits
    pupils = [pupil(f"P{i}", 0.0, 0.09 + 0.03 * i, age=7) for i in range(8)]
    pupils += [pupil(f"N{i}", 0.0, -0.09 - 0.03 * i, age=7) for i in range(4)]
    summary, out = solve(tmp_path, write_data(tmp_path / "d", pupils))
    assert summary["routes"] >= 2
    assert summary["max_ride_min"] <= 45.0 + 1e-6 or summary["pupils_over_45_min"] > 0


def test_available_cap_is_global_across_schools(tmp_path):
    capped = [("taxi", 4, 0, 38.0, 0.95, "1"), ("mpv", 6, 0, 52.0, 1.10, "")]
    schools = [school("S1"), school("S2", 0.1, 0.1)]
    pupils = [pupil(f"A{i}", 0.02 * (i + 1), 0.04 * (-1) ** i) for i in range(6)]
    pupils += [pupil(f"B{i}", 0.1 + 0.02 * (i + 1), 0.1, school="S2") for i in range(6)]
    _, out = solve(tmp_path, write_data(tmp_path / "d", pupils, schools=schools, vehicles=capped))
    assert sum(r["vehicle_type"] == "taxi" for r in routes_of(out)) <= 1


def test_caps_that_cannot_carry_everyone_leave_pupils_unrouted_with_a_reason(tmp_path):
    vehicles = [("taxi", 4, 0, 38.0, 0.95, ""), ("wav_taxi", 3, 1, 60.0, 1.20, "1")]
    schools = [school("S1"), school("S2", 0.3, 0.3)]
    pupils = [pupil("W1", 0.02, wheel=1), pupil("W2", 0.32, 0.3, wheel=1, school="S2")]
    pupils += [pupil("A", 0.03)]
    summary, _ = solve(
        tmp_path, write_data(tmp_path / "d", pupils, schools=schools, vehicles=vehicles)
    )
    assert len(summary["unrouted"]) == 1
    assert "used up" in summary["unrouted_reasons"][summary["unrouted"][0]]


def test_unplaced_pupils_are_not_routed(tmp_path):
    pupils = [pupil("A", 0.02), pupil("B", 0.03, school="")]
    schools = [dict(school(), capacity=1)]
    summary, out = solve(tmp_path, write_data(tmp_path / "d", pupils, schools=schools))
    assert summary["unplaced"] == ["B"] and summary["unrouted"] == []
    assert [r["pupils"] for r in routes_of(out)] == ["A"]


def test_route_cost_is_the_contract_formula():
    taxi = VehicleType("taxi", 4, 0, 38.0, 0.95, None)
    params = Parameters()
    assert route_cost(taxi, 10.0, False, params) == pytest.approx(190 * (38 + 0.95 * 20))
    assert route_cost(taxi, 10.0, True, params) == pytest.approx(190 * (38 + 19 + 55))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backend": "best"},
        {"time_limit_s": 0},
        {"time_limit_s": float("nan")},
        {"seed": -1},
        {"workers": -2},
        {"mixed_school_radius_miles": 0},
    ],
)
def test_impossible_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        RoutingOptions(**kwargs)


# --------------------------------------------------------------------------------------------
# backends, determinism, mixed schools


def spread(n: int, school_id: str = "S1", *, seed: int = 1, dlat=0.0, dlon=0.0) -> list[dict]:
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        r, a = rng.uniform(0.02, 0.15), rng.uniform(0, 2 * math.pi)
        out.append(
            pupil(
                f"{school_id}-{i:02d}",
                dlat + r * math.sin(a),
                dlon + r * math.cos(a) * 1.6,
                school=school_id,
                age=rng.randint(5, 18),
                wheel=int(rng.random() < 0.15),
                pa=int(rng.random() < 0.25),
                solo=int(rng.random() < 0.05),
            )
        )
    return out


@pytest.mark.parametrize("backend", ["ortools", "pyvrp", "auto"])
def test_each_backend_keeps_every_rule(tmp_path, backend):
    pupils = spread(16, seed=3)
    pairs = [
        (pupils[0]["pupil_id"], pupils[1]["pupil_id"]),
        (pupils[2]["pupil_id"], pupils[3]["pupil_id"]),
    ]
    data = write_data(tmp_path / "d", pupils, pairs=pairs)
    summary, _ = solve(tmp_path, data, RoutingOptions(time_limit_s=1.5, workers=1, backend=backend))
    assert summary["school_status"]["S1"].startswith("feasible")
    assert summary["routing"]["backend_by_school"]["S1"] == (
        "ortools" if backend == "ortools" else "pyvrp"
    )


def two_schools(tmp_path):
    schools = [school("S1"), school("S2", 0.2, -0.2, "08:45")]
    pupils = spread(14, "S1", seed=5) + spread(12, "S2", seed=6, dlat=0.2, dlon=-0.2)
    data = read_dataset(write_data(tmp_path / "d", pupils, schools=schools))
    return data, place_pupils(data, policy="keep")


def test_same_seed_same_plan_by_work_limits(tmp_path):
    data, placements = two_schools(tmp_path)
    options = RoutingOptions(work_limit=5, workers=1, seed=3)
    one = plan_routes(data, placements, options=options)
    two = plan_routes(data, placements, options=options)
    assert one.routes == two.routes and one.stops == two.stops
    assert one.info["mode"] == "work" and 0 < one.info["work_done"] <= 5 * 1.05
    assert one.info["schools_stopped_by_clock"] == []
    other = plan_routes(data, placements, options=RoutingOptions(work_limit=5, workers=1, seed=4))
    assert len(other.routes) > 0


def test_time_mode_uses_the_limit_and_never_overruns(tmp_path):
    """--time-limit means what it says: never more than 5 % past it, and (while a school
    still has searching to do) at least 90 % of it used."""
    pupils = spread(60, "S1", seed=5) + spread(45, "S2", seed=6, dlat=0.2)
    schools = [school("S1"), school("S2", 0.2, 0.0, "08:45")]
    data = read_dataset(write_data(tmp_path / "d", pupils, schools=schools))
    placements = place_pupils(data, policy="keep")
    limit = 6.0
    plan = plan_routes(data, placements, options=RoutingOptions(time_limit_s=limit, workers=2))
    assert plan.info["mode"] == "time" and plan.info["time_limit_s"] == limit
    assert plan.info["wall_s"] <= limit * 1.05
    searched = [sid for sid, s in plan.school_status.items() if s.startswith("feasible")]
    if plan.info["schools_converged"] < len(searched):
        assert plan.info["wall_s"] >= 0.9 * limit
    assert set(plan.info["search_s_by_school"]) == set(searched)


def test_time_left_after_convergence_is_spent_searching_again(tmp_path):
    """Two small schools converge in a fraction of the limit: the time left goes to new
    searches of them, never past the limit."""
    pupils = spread(10, "S1", seed=5) + spread(10, "S2", seed=6, dlat=0.2, dlon=-0.2)
    schools = [school("S1"), school("S2", 0.2, -0.2, "08:45")]
    data = read_dataset(write_data(tmp_path / "d", pupils, schools=schools))
    placements = place_pupils(data, policy="keep")
    limit = 6.0
    plan = plan_routes(data, placements, options=RoutingOptions(time_limit_s=limit, workers=2))
    assert plan.info["schools_searched_again"] >= 1
    assert 0.9 * limit <= plan.info["wall_s"] <= 1.05 * limit
    assert plan.info["search_s"] >= 0.9 * limit  # time searching, not waiting


def test_search_again_off_ends_at_convergence(tmp_path):
    """Without ``search_again`` (re-plans) the searches end when every school converged."""
    import time

    from transport.routing._solve import Effort, run_searches

    subs = _sub_problems(tmp_path)
    start = time.time()
    report = run_searches(
        subs,
        backend="pyvrp",
        workers=1,
        effort=Effort(30.0),
        deadline=start + 30.0,
        search_again=False,
    )
    assert sorted(report.converged) == sorted(s.school_id for s in subs)
    assert report.searched_again == [] and time.time() - start < 20.0


def test_work_left_after_convergence_is_searched_again_identically(tmp_path):
    """Work mode: every school converged with work left → searched again in the next round;
    the work limit is used (less than one slice's minimum left over) and the plan is the same
    on two runs."""
    from transport.routing._solve import MIN_SLICE_WORK, WORK_UNIT_MOVES, Effort, run_searches

    subs = _sub_problems(tmp_path)
    ends = run_searches(
        subs,
        backend="pyvrp",
        workers=1,
        effort=Effort(work_limit=400),
        work_moves=400 * WORK_UNIT_MOVES,
        search_again=False,
    )
    assert sorted(ends.converged) == sorted(s.school_id for s in subs)
    used = sum(ends.work.values())
    limit = used + 4 * MIN_SLICE_WORK  # converged with this much left over
    runs = [
        run_searches(
            subs, backend="pyvrp", workers=1, effort=Effort(work_limit=1), work_moves=limit, seed=0
        )
        for _ in range(2)
    ]
    assert runs[0].searched_again == sorted(s.school_id for s in subs)
    assert sum(runs[0].work.values()) > used
    plans = [{sid: (s.drafts, s.work) for sid, s in r.solutions.items()} for r in runs]
    assert plans[0] == plans[1]


def _sub_problems(tmp_path):
    """The two schools' sub-problems (as the routing builds them)."""
    import transport.routing._pipeline as pipeline

    data, placements = two_schools(tmp_path)
    seen: list = []
    original = pipeline.run_searches

    def capture(subs, **kwargs):
        seen.extend(subs)
        return original(subs, **kwargs)

    pipeline.run_searches = capture
    try:
        plan_routes(data, placements, options=RoutingOptions(work_limit=1, workers=1))
    finally:
        pipeline.run_searches = original
    return [s for s in seen if s.n > 8]


def _burn(seconds: float) -> None:
    """Busy-loop one core (artificial load)."""
    import time

    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def test_work_limit_gives_identical_files_under_load(tmp_path):
    """The deterministic mode: the same data, seed and work limit give byte-identical plans,
    in parallel, one of the two runs with every core busy with other work."""
    import multiprocessing
    import os

    pupils = spread(40, "S1", seed=5) + spread(30, "S2", seed=6, dlat=0.2)
    schools = [school("S1"), school("S2", 0.2, 0.0, "08:45")]
    data_dir = write_data(tmp_path / "d", pupils, schools=schools)
    options = RoutingOptions(work_limit=8, workers=2, seed=1)
    solve_job(data_dir, tmp_path / "quiet", scenario=Scenario(routing=options))
    ctx = multiprocessing.get_context("spawn")
    burners = [ctx.Process(target=_burn, args=(30.0,)) for _ in range(os.cpu_count() or 2)]
    for b in burners:
        b.start()
    try:
        summary = solve_job(data_dir, tmp_path / "busy", scenario=Scenario(routing=options))
    finally:
        for b in burners:
            b.terminate()
            b.join()
    for name in ("routes.csv", "stops.csv", "placements.csv"):
        assert (tmp_path / "quiet" / name).read_bytes() == (tmp_path / "busy" / name).read_bytes()
    assert summary.routing["mode"] == "work"
    assert check_run(tmp_path / "busy", data_dir) == []


def test_mixed_school_routes_keep_every_rule_and_save(tmp_path):
    schools = [school("S1"), school("S2", 0.01, 0.02, "09:10")]
    # each school's pupils in the same far village: one vehicle can take both groups
    pupils = [pupil("A1", 0.12, 0.1), pupil("A2", 0.121, 0.1)]
    pupils += [pupil("B1", 0.12, 0.102, school="S2"), pupil("B2", 0.122, 0.101, school="S2")]
    schools[1]["capacity"] = 3
    pupils += [pupil("B3", 0.121, 0.102, school="")]  # a new entrant, placed at S2 by keep
    data = write_data(tmp_path / "d", pupils, schools=schools)
    single = RoutingOptions(time_limit_s=1.0, workers=1, mixed_school=False)
    plain, _ = solve(tmp_path / "plain", data, single)
    mixed, out = solve(tmp_path / "mixed", data)  # mixed-school routes are the default
    assert mixed["routing"]["mixed_school"]["mixed_routes"] == 1
    assert mixed["annual_transport_cost"] < plain["annual_transport_cost"]
    saving = plain["annual_transport_cost"] - mixed["annual_transport_cost"]
    assert mixed["routing"]["mixed_school"]["annual_saving"] == pytest.approx(saving, abs=0.02)
    assert any(";" in r["school_id"] for r in routes_of(out))


def test_progress_events_reach_every_school(tmp_path):
    data_dir = write_data(tmp_path / "d", spread(10, seed=2))
    data = read_dataset(data_dir)
    events = []
    plan_routes(data, place_pupils(data, policy="keep"), options=FAST, progress=events.append)
    assert events[-1].stage == "done" and events[-1].schools_done == events[-1].schools_total
    assert events[-1].annual_cost == pytest.approx(
        sum(
            r.annual_cost
            for r in plan_routes(data, place_pupils(data, policy="keep"), options=FAST).routes
        ),
        abs=0.05,
    )


# --------------------------------------------------------------------------------------------
# property: random small instances keep every rule


@st.composite
def instances(draw):
    n_schools = draw(st.integers(1, 2))
    schools = [
        school(f"S{k}", 0.15 * k, 0.1 * k, draw(st.sampled_from(["08:45", "09:00"])))
        for k in range(n_schools)
    ]
    pupils = []
    for i in range(draw(st.integers(1, 14))):
        k = draw(st.integers(0, n_schools - 1))
        pupils.append(
            pupil(
                f"P{i:02d}",
                0.15 * k + draw(st.floats(-0.2, 0.2)),
                0.1 * k + draw(st.floats(-0.3, 0.3)),
                school=f"S{k}" if draw(st.integers(0, 4)) else "",  # blank: a new entrant
                age=draw(st.integers(5, 18)),
                wheel=int(draw(st.booleans()) and draw(st.booleans())),
                pa=int(draw(st.booleans()) and draw(st.booleans())),
                solo=int(draw(st.integers(0, 9)) == 0),
                limit=draw(st.sampled_from(["", "", "30", "90"])),
            )
        )
    vehicles = draw(st.lists(st.sampled_from(VEHICLES), min_size=1, max_size=4, unique=True))
    caps = draw(
        st.lists(
            st.sampled_from(["", "", "1", "3"]), min_size=len(vehicles), max_size=len(vehicles)
        )
    )
    vehicles = [(*v[:5], c) for v, c in zip(vehicles, caps, strict=True)]
    ids = [p["pupil_id"] for p in pupils]
    pairs = []
    if len(ids) > 1 and draw(st.booleans()):
        pairs = [(ids[0], ids[-1])]
    mixed = draw(st.booleans())
    return schools, pupils, vehicles, pairs, mixed


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(instances())
def test_random_instances_keep_every_rule(tmp_path_factory, instance):
    schools, pupils, vehicles, pairs, mixed = instance
    tmp = tmp_path_factory.mktemp("prop")
    data = write_data(tmp / "d", pupils, schools=schools, vehicles=vehicles, pairs=pairs)
    options = RoutingOptions(time_limit_s=0.5, workers=1, mixed_school=mixed)
    summary, out = solve(tmp, data, options)
    routed = {p for r in routes_of(out) for p in r["pupils"].split(";") if p}
    assert routed | set(summary["unrouted"]) == {p["pupil_id"] for p in pupils} - set(
        summary["unplaced"]
    )
    json.dumps(summary)  # the summary is plain JSON
