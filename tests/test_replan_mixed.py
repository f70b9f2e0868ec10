"""A mixed-school route in force stays one journey through a re-plan (routing/_replan_mixed).

tests/data/mixed: one vehicle takes two pupils of S1 and two of S2 from one far village (the
mixed-school route), and a pupil of S2 travels alone. Here the taxi has a fifth seat (so a new
pupil may join the mixed route) and B2 is nine (a 45-minute limit, so that where a new pupil
boards matters to the other school's pupils). Every plan is checked by tests/checker.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests._mixed_fixture import MIXED
from tests.checker import check_run
from tests.test_replan import rows as _rows
from tests.test_replan import write_rows as _write
from transport.changes import disturbances, journeys
from transport.jobs import solve_job
from transport.model import route_schools
from transport.runs.write import read_run
from transport.scenario import RoutingSettings, Scenario

SCENARIO = Scenario(routing=RoutingSettings(work_limit=5, workers=1, seed=0))
IN_FORCE = ("A1", "A2", "B1", "B2")


def _solve(data: Path, out: Path, previous: Path | None = None) -> dict:
    summary = solve_job(data, out, scenario=SCENARIO, unnamed=True, previous_dir=previous)
    assert check_run(out, data) == []
    return summary.to_dict()


@pytest.fixture
def in_force(tmp_path: Path) -> tuple[Path, Path]:
    """The data folder and the plan in force (one mixed route of A1, A2, B1, B2)."""
    data = tmp_path / "d"
    shutil.copytree(MIXED, data)
    vehicles = (data / "vehicles.csv").read_text(encoding="utf-8")
    (data / "vehicles.csv").write_text(vehicles.replace("taxi,4,0", "taxi,5,0", 1), "utf-8")
    rows = _rows(data / "pupils.csv")
    for r in rows:
        if r["pupil_id"] == "B2":
            r["age"] = "9"
    _write(data / "pupils.csv", rows)
    _solve(data, tmp_path / "a")
    (mixed,) = [r for r in read_run(tmp_path / "a").routes if len(route_schools(r)) > 1]
    assert sorted(mixed.pupils) == list(IN_FORCE)
    return data, tmp_path / "a"


def _mixed_route(run: Path):
    (route,) = [r for r in read_run(run).routes if set(IN_FORCE) & set(r.pupils)]
    return route


@pytest.mark.parametrize(
    ("dlat", "dlon", "school"),
    [(-0.06, 0.04, "S2"), (-0.03, 0.04, "S2"), (0.0, 0.04, "S1"), (0.06, -0.08, "S1")],
)
def test_a_new_pupil_never_splits_a_mixed_route_in_force(in_force, dlat, dlon, school):
    """A new pupil of one of its schools joins the mixed route only where the whole route
    keeps its rules and the families of both schools are priced; its four pupils stay
    together under its id and no family is disturbed (a new route costs less than the
    disturbances here). Before, the part was judged alone and the route re-merged after."""
    data, before = in_force
    rows = _rows(data / "pupils.csv")
    lat, lon = 51.32 + dlat, 1.0 + dlon
    rows.append(dict(rows[0], pupil_id="N1", lat=f"{lat:.4f}", lon=f"{lon:.4f}", school_id=school))
    _write(data / "pupils.csv", rows)
    after = before.parent / "b"
    summary = _solve(data, after, before)
    assert summary["stability"]["disturbed"] == 0
    old, new = _mixed_route(before), _mixed_route(after)
    assert new.route_id == old.route_id and len(route_schools(new)) == 2
    assert set(IN_FORCE) <= set(new.pupils) <= {*IN_FORCE, "N1"}
    a, b = read_run(before), read_run(after)
    assert disturbances(journeys(a.routes, a.stops), journeys(b.routes, b.stops)) == {}


@pytest.mark.parametrize("leaver", ["A2", "B1"])
def test_a_leaver_keeps_the_rest_of_a_mixed_route_together(in_force, leaver):
    """A pupil of either school leaving a mixed route: the three left ride on together in
    the same vehicle under the same id, still to both schools, none of them disturbed."""
    data, before = in_force
    _write(data / "pupils.csv", [r for r in _rows(data / "pupils.csv") if r["pupil_id"] != leaver])
    after = before.parent / "b"
    summary = _solve(data, after, before)
    old, new = _mixed_route(before), _mixed_route(after)
    assert new.route_id == old.route_id and new.vehicle_type == old.vehicle_type
    assert new.pupils == tuple(p for p in old.pupils if p != leaver)
    assert route_schools(new) == route_schools(old)
    assert summary["stability"]["disturbed"] == 0
    assert summary["stability"]["routes"]["changed"] == 1


def test_a_locked_mixed_route_keeps_its_order_but_for_a_leaver(in_force):
    """A locked mixed route a pupil leaves runs on exactly as it ran but for the leaver (its
    vehicle, its pupils in their order, its schools in their order), even at a change cost of
    nothing (when another arrangement might be cheaper); the lock holds."""
    data, before = in_force
    old = _mixed_route(before)
    locks = before.parent / "locks.csv"
    locks.write_text(f"route_id\n{old.route_id}\n", encoding="utf-8")
    _write(data / "pupils.csv", [r for r in _rows(data / "pupils.csv") if r["pupil_id"] != "A1"])
    after = before.parent / "b"
    scenario = Scenario(routing=RoutingSettings(work_limit=5, workers=1, seed=0, change_cost=0))
    summary = solve_job(
        data, after, scenario=scenario, unnamed=True, previous_dir=before, locks_file=locks
    ).to_dict()
    assert check_run(after, data) == []
    new = _mixed_route(after)
    assert new.route_id == old.route_id and new.vehicle_type == old.vehicle_type
    assert new.pupils == tuple(p for p in old.pupils if p != "A1")
    assert route_schools(new) == route_schools(old)
    lock = summary["stability"]["locks"]
    assert lock["held"] == 1 and lock["broken"] == []
