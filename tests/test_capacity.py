"""Capacity changes: named schools, and places sited where they save most (by brute force)."""

from __future__ import annotations

import pytest

from transport.data.validate import read_dataset
from transport.errors import ScenarioError
from transport.model import Parameters
from transport.placement import capacity as cap_module
from transport.placement import place_pupils, summarise_placement
from transport.placement.capacity import apply_capacity, default_candidates, with_capacity
from transport.scenario import CapacityChange
from transport.travel import CrowFlyModel

PARAMS = Parameters()
TRAVEL = CrowFlyModel()


@pytest.fixture
def tiny(tiny_dir):
    return read_dataset(tiny_dir)


def apply(data, changes, policy="nearest-with-capacity", scope="all"):
    return apply_capacity(data, changes, policy=policy, scope=scope, travel=TRAVEL, params=PARAMS)


def score(data, capacity, policy):
    result = place_pupils(with_capacity(data, capacity), policy=policy, params=PARAMS)
    t = summarise_placement(with_capacity(data, capacity), result, PARAMS)
    return (
        t["unplaced"],
        t["places_missing"],
        round(t["estimated_annual_transport_cost"], 2),
        round(t["annual_place_cost"], 2),
    )


def test_a_named_school_gains_its_places(tiny):
    out = apply(tiny, [CapacityChange(add=5, school_id="S3", needs=("SEMH",))])
    assert out.data.school_by_id["S3"].capacity == tiny.school_by_id["S3"].capacity + 5
    assert out.data.school_by_id["S1"].capacity == tiny.school_by_id["S1"].capacity
    assert out.csv_rows() == [("S3", "SEMH", 5, "named in the scenario")]
    assert out.places_added == 5


def test_unknown_school_or_candidate_is_named(tiny):
    with pytest.raises(ScenarioError, match=r"capacity\[2\]\.school_id.*'NOPE'"):
        apply(
            tiny, [CapacityChange(add=1, school_id="S1"), CapacityChange(add=1, school_id="NOPE")]
        )
    with pytest.raises(ScenarioError, match=r"capacity\[1\]\.candidates.*'X9'"):
        apply(tiny, [CapacityChange(add=1, needs=("ASD",), where="best", candidates=("X9",))])


def test_default_candidates_are_maintained_schools_serving_the_needs(tiny):
    assert default_candidates(tiny, ("ASD", "SEMH")) == ("S1", "S3")  # S4 is independent
    assert default_candidates(tiny, ("PD",)) == ("S2",)
    with pytest.raises(ScenarioError, match="no special school or resourced unit serves VI"):
        apply(tiny, [CapacityChange(add=1, needs=("VI",), where="best")])


@pytest.mark.parametrize("policy", ["nearest-with-capacity", "optimal", "keep"])
def test_one_batch_goes_where_brute_force_says(tiny, policy):
    add = 2
    out = apply(
        tiny, [CapacityChange(add=add, needs=("ASD", "SEMH"), where="best", batch=add)], policy
    )
    (row,) = out.rows
    assert row.places_added == add
    base = {s.school_id: s.capacity for s in tiny.schools}
    placed = place_pupils(tiny, policy=policy, params=PARAMS)
    counts = {s: sum(p.school_id == s for p in placed.placements) for s in base}
    full = [c for c in ("S1", "S3") if counts[c] >= base[c]]
    assert full, "the tiny fixture fills a candidate"
    best = min(full, key=lambda c: (score(tiny, {**base, c: base[c] + add}, policy), c))
    assert row.school_id == best
    before = score(tiny, base, policy)
    after = score(tiny, {**base, best: base[best] + add}, policy)
    assert row.estimated_saving == pytest.approx(before[2] - after[2], abs=0.01)


def test_batches_add_up_and_never_cost_transport(tiny):
    out = apply(tiny, [CapacityChange(add=5, needs=("ASD", "SEMH"), where="best", batch=2)])
    assert out.places_added == 5
    assert all(r.places_added > 0 for r in out.rows)
    base = {s.school_id: s.capacity for s in tiny.schools}
    new = {s.school_id: s.capacity for s in out.data.schools}
    assert sum(new.values()) - sum(base.values()) == 5
    assert (
        score(tiny, new, "nearest-with-capacity")[2]
        <= score(tiny, base, "nearest-with-capacity")[2]
    )


def test_the_shortlist_keeps_the_estimate_best(tiny, monkeypatch):
    monkeypatch.setattr(cap_module, "SHORTLIST", 1)
    out = apply(tiny, [CapacityChange(add=1, needs=("ASD", "SEMH"), where="best")])
    assert out.places_added == 1 and out.rows[0].school_id in ("S1", "S3")


def test_nothing_full_falls_back_to_the_fullest(tiny):
    roomy = with_capacity(tiny, {s.school_id: 50 for s in tiny.schools})
    out = apply(roomy, [CapacityChange(add=3, needs=("ASD", "SEMH"), where="best", batch=3)])
    (row,) = out.rows
    assert "no full candidate" in row.reason and row.estimated_saving == 0.0
