"""Shared stops and strict limits: one visit and one dwell per stop, every pupil rule kept.

Each case solves a tiny data folder through ``solve_job`` and hands the run to the independent
checker (``tests/checker.py``), which recomputes visits, dwells, rides and split stops itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.checker import check_run
from tests.test_routing import pupil, route_with, routes_of, school, write_data
from transport.data.validate import read_dataset
from transport.errors import InputError
from transport.jobs import solve_job
from transport.model import TravelParams
from transport.routing import RoutingOptions
from transport.scenario import Scenario

FAST = RoutingOptions(time_limit_s=1.0, workers=1)


def solve(tmp_path: Path, data_dir: Path, *, travel=None, options=FAST) -> tuple[dict, Path]:
    out = tmp_path / "run"
    scenario = Scenario(routing=options, travel=travel or TravelParams())
    summary = solve_job(data_dir, out, scenario=scenario).to_dict()
    assert check_run(out, data_dir) == []
    return summary, out


def at_stop(pid: str, stop: str, dlat: float, **kw) -> dict:
    row = pupil(pid, dlat, 0.05, **kw)
    row["stop_id"] = stop
    return row


def door(pid: str, dlat: float, dlon: float = 0.05, **kw) -> dict:
    row = pupil(pid, dlat, dlon, **kw)
    row["stop_id"] = ""
    return row


def stops_rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "stops.csv", newline="") as fh:
        return {r["pupil_id"]: r for r in csv.DictReader(fh)}


def test_a_stop_is_one_visit_with_one_dwell(tmp_path):
    """Three siblings board at one visit: consecutive rows, one pickup time, one ride; the
    pupil picked up before them waits one dwell (plus the per-pupil part), not three."""
    pupils = [at_stop(f"K{i}", "ST1", 0.05) for i in range(3)] + [door("D1", 0.08)]
    data = write_data(tmp_path / "d", pupils)
    travel = TravelParams(dwell_min=2.0, dwell_per_pupil_min=0.5)
    summary, out = solve(tmp_path, data, travel=travel)
    route = route_with(out, "K0")
    members = route["pupils"].split(";")
    assert members == ["D1", "K0", "K1", "K2"] or members[:3] == ["K0", "K1", "K2"]
    rows = stops_rows(out)
    assert len({rows[p]["pickup"] for p in ("K0", "K1", "K2")}) == 1
    assert len({rows[p]["ride_min"] for p in ("K0", "K1", "K2")}) == 1
    if members[0] == "D1":  # D1 sits through one visit's dwell: 2 + 3 × 0.5 minutes
        gap = float(rows["D1"]["ride_min"]) - float(rows["K0"]["ride_min"])
        assert 3.5 < gap < 3.5 + 10.0
    assert summary["parameters"]["travel"]["dwell_per_pupil_min"] == 0.5


def test_coinciding_homes_without_a_stop_are_separate_pickups(tmp_path):
    """Two pupils at one postcode centroid but no stop_id: two visits, two dwells."""
    pupils = [door("A", 0.06), door("B", 0.06), door("C", 0.09)]
    data = write_data(tmp_path / "d", pupils)
    _, out = solve(tmp_path, data)
    rows = stops_rows(out)
    route = route_with(out, "A")["pupils"].split(";")
    first, second = (route[0], route[1]) if route.index("A") < route.index("B") else ("B", "A")
    if route.index(first) + 1 == route.index(second):
        gap = float(rows[first]["ride_min"]) - float(rows[second]["ride_min"])
        assert gap == pytest.approx(2.0, abs=0.05)  # the same point: only the dwell


def test_a_stop_too_big_for_any_vehicle_is_split(tmp_path):
    """15 pupils at one stop, 12 seats at most: two vehicles (the checker allows the split
    only because no vehicle takes them all)."""
    pupils = [at_stop(f"Q{i:02d}", "BIG", 0.07) for i in range(15)]
    data = write_data(tmp_path / "d", pupils)
    summary, out = solve(tmp_path, data)
    assert summary["pupils_routed"] == 15
    assert len(routes_of(out)) == 2


def test_every_pupil_rule_holds_at_a_stop(tmp_path):
    """A solo pupil rides alone, an incompatible pair rides apart (the stop is split), a
    wheelchair user and a pupil needing a PA ride a vehicle with a space and a PA."""
    pupils = [
        at_stop("S1", "ST", 0.06, solo=1),
        at_stop("S2", "ST", 0.06),
        at_stop("S3", "ST", 0.06),
        at_stop("W1", "WS", 0.09, wheel=1),
        at_stop("W2", "WS", 0.09, pa=1),
    ]
    data = write_data(tmp_path / "d", pupils, pairs=[("S2", "S3")])
    _, out = solve(tmp_path, data)
    assert route_with(out, "S1")["pupils"] == "S1"
    assert route_with(out, "S2")["route_id"] != route_with(out, "S3")["route_id"]
    wheel = route_with(out, "W1")
    assert wheel["route_id"] == route_with(out, "W2")["route_id"]
    assert wheel["has_pa"] in ("1", "True", "true")


def test_strict_limits_keep_the_stated_limit(tmp_path):
    """Without strict limits a ride may reach direct + 15; with them, never past the stated
    limit, and a pupil whose direct journey is longer than the limit rides direct."""
    far = door("FAR", 0.30, 0.2, limit="10")  # direct about 32 minutes, limit 10
    pupils = [far] + [door(f"N{i}", 0.02 + 0.004 * i, 0.004 * i, limit="12") for i in range(6)]
    data = write_data(tmp_path / "d", pupils)
    options = RoutingOptions(time_limit_s=1.0, workers=1, strict_limits=True)
    summary, out = solve(tmp_path, data, options=options)
    assert summary["parameters"]["routing"]["strict_limits"] is True
    rows = stops_rows(out)
    for pid in (f"N{i}" for i in range(6)):
        assert float(rows[pid]["ride_min"]) <= 12.0 + 0.05  # stops.csv rounds to 0.1
    far_route = route_with(out, "FAR")["pupils"].split(";")
    assert far_route[-1] == "FAR"  # last pickup: the ride is the direct journey


def test_stop_validation(tmp_path):
    """Pupils of one stop far apart, or a stop named like a school, are refused at once."""
    pupils = [at_stop("A", "X1", 0.05), at_stop("B", "X1", 0.15), at_stop("C", "S1", 0.06)]
    data = write_data(tmp_path / "d", pupils)
    with pytest.raises(InputError) as err:
        read_dataset(data)
    text = str(err.value)
    assert "2 problems" in text and "X1" in text and "school_id" in text


def test_stops_across_schools(tmp_path):
    """A collection point serving two schools: each school's vehicle visits it for its own."""
    schools = [school("S1"), school("S2", 0.01, 0.01, "09:00")]
    pupils = [at_stop("A1", "CP", 0.08), at_stop("A2", "CP", 0.08)]
    pupils += [at_stop("B1", "CP", 0.08, school="S2"), at_stop("B2", "CP", 0.08, school="S2")]
    data = write_data(tmp_path / "d", pupils, schools=schools)
    summary, out = solve(tmp_path, data)
    assert route_with(out, "A1")["route_id"] == route_with(out, "A2")["route_id"]
    assert route_with(out, "B1")["route_id"] == route_with(out, "B2")["route_id"]
    assert summary["pupils_routed"] == 4
