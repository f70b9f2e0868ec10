"""Placement reasons: every placement explained, and the explanation true of the data.

The reasons are checked by an independent recomputation (tests/checker.py): suitability,
which suitable schools are nearer, which are full, and the optimal policy's saving.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checker import EARTH_RADIUS_MILES, check_placements, placement_reason_problems
from tests.test_placement import datasets
from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.model import Dataset, Parameters
from transport.placement import place_pupils
from transport.placement.explain import PLACEMENT_REASONS

KENT = Path(__file__).resolve().parents[1] / "data" / "kent"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("policy", ["nearest-with-capacity", "nearest-suitable", "optimal", "keep"])
def test_every_placement_of_the_tiny_data_is_explained_truly(tiny_dir, tmp_path, policy):
    out = tmp_path / "run"
    args = ["place", "--policy", policy, "--data", str(tiny_dir), "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = _rows(out / "placements.csv")
    assert rows and all(r["reason_code"] in PLACEMENT_REASONS and r["reason"] for r in rows)
    assert check_placements(out, tiny_dir) == []
    for r in rows:  # the sentence states the miles written in the row
        assert f"{float(r['road_miles']):.1f} road mile" in r["reason"]
    if policy == "keep":
        data = read_dataset(tiny_dir)
        kept = {p.pupil_id for p in data.pupils if p.school_id is not None}
        assert {r["pupil_id"] for r in rows if r["reason_code"] == "current"} == kept


def test_kent_nearest_with_capacity_names_the_full_schools(tmp_path):
    """On Kent, current practice sends many pupils past full schools: each is listed."""
    out = tmp_path / "run"
    args = ["place", "--policy", "nearest-with-capacity", "--data", str(KENT), "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = _rows(out / "placements.csv")
    codes = Counter(r["reason_code"] for r in rows)
    assert codes["nearer-full"] > 100 and codes["nearest-suitable"] > 100
    assert set(codes) <= {"nearest-suitable", "nearer-full"}
    assert check_placements(out, KENT) == []
    listed = next(r for r in rows if r["reason_code"] == "nearer-full")
    for school in listed["nearer_full"].split(";"):
        assert school in listed["reason"]


def test_optimal_reasons_state_a_saving_that_holds(tmp_path):
    out = tmp_path / "run"
    args = ["place", "--policy", "optimal", "--data", str(KENT), "--out", str(out)]
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    rows = _rows(out / "placements.csv")
    optimal = [r for r in rows if r["reason_code"] == "optimal"]
    assert optimal and all("a year less" in r["reason"] for r in optimal)
    assert check_placements(out, KENT) == []


def _haversine(a: tuple[float, float], b: tuple[float, float], circuity: float) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(min(1.0, max(0.0, h)))) * circuity


def _as_rows(data: Dataset) -> tuple[dict, dict]:
    schools = {
        s.school_id: {
            "needs": ";".join(sorted(s.needs)),
            "age_min": str(s.age_min),
            "age_max": str(s.age_max),
            "place_cost": str(s.place_cost),
        }
        for s in data.schools
    }
    pupils = {
        p.pupil_id: {"need": p.need, "age": str(p.age), "school_id": p.school_id or ""}
        for p in data.pupils
    }
    return schools, pupils


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=datasets(),
    policy=st.sampled_from(["nearest-with-capacity", "nearest-suitable", "optimal", "keep"]),
    scope=st.sampled_from(["all", "new-entrants"]),
)
def test_reasons_hold_on_random_instances(data, policy, scope):
    """Property: every placement has a reason the data bears out; for ``nearer-full`` every
    listed school is suitable, nearer and full, and no unlisted nearer suitable school has a
    free place (a nearer suitable school with a place would contradict the policy)."""
    params = Parameters()
    result = place_pupils(data, policy=policy, scope=scope, params=params)
    schools, pupils = _as_rows(data)
    where = {s.school_id: (s.lat, s.lon) for s in data.schools}
    home = {p.pupil_id: (p.lat, p.lon) for p in data.pupils}
    circuity = params.travel.circuity

    def miles(pid: str, sid: str) -> float:
        return _haversine(home[pid], where[sid], circuity)

    rows = [
        {
            "pupil_id": p.pupil_id,
            "school_id": p.school_id,
            "reason_code": p.reason_code,
            "reason": p.reason,
            "nearer_full": ";".join(p.nearer_full),
        }
        for p in result.placements
    ]
    capacity = {s.school_id: s.capacity for s in data.schools}
    problems = placement_reason_problems(rows, schools, pupils, miles, capacity, policy=policy)
    assert problems == []
    if policy in ("nearest-with-capacity", "nearest-suitable"):
        assert all(p.reason_code != "optimal" for p in result.placements)
    if policy == "nearest-suitable":
        assert {p.reason_code for p in result.placements} <= {"nearest-suitable", "current"}


def test_trial_placements_skip_the_reasons(tiny_dir):
    """Capacity siting scores thousands of trial placements: they carry no reasons."""
    data = read_dataset(tiny_dir)
    quick = place_pupils(data, policy="nearest-with-capacity", explain=False)
    full = place_pupils(data, policy="nearest-with-capacity")
    assert quick.school_of == full.school_of
    assert all(p.reason_code == "" for p in quick.placements)
    assert all(p.reason_code for p in full.placements)
