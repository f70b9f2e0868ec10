"""Capacity changes: named schools, and places sited where they save most (against brute force):
exactly by the min-cost flow (the default), or greedily (``method = "greedy"``)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from transport.data.validate import read_dataset
from transport.errors import ScenarioError
from transport.model import Parameters
from transport.placement import capacity as cap_module
from transport.placement import place_pupils, summarise_placement
from transport.placement.capacity import apply_capacity, default_candidates, with_capacity
from transport.scenario import CapacityChange, load_scenario, parse_scenario
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
    assert default_candidates(tiny, ("ASD",), ("independent",)) == ("S4",)
    with pytest.raises(ScenarioError, match="no school of kind special or resourced serves VI"):
        apply(tiny, [CapacityChange(add=1, needs=("VI",), where="best")])


@pytest.mark.parametrize("policy", ["nearest-with-capacity", "optimal", "keep"])
def test_one_batch_goes_where_brute_force_says(tiny, policy):
    add = 2
    out = apply(
        tiny,
        [CapacityChange(add=add, needs=("ASD", "SEMH"), where="best", batch=add, method="greedy")],
        policy,
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
    out = apply(
        tiny, [CapacityChange(add=5, needs=("ASD", "SEMH"), where="best", batch=2, method="greedy")]
    )
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
    out = apply(tiny, [CapacityChange(add=1, needs=("ASD", "SEMH"), where="best", method="greedy")])
    assert out.places_added == 1 and out.rows[0].school_id in ("S1", "S3")


def test_nothing_full_falls_back_to_the_fullest(tiny):
    roomy = with_capacity(tiny, {s.school_id: 50 for s in tiny.schools})
    change = CapacityChange(add=3, needs=("ASD", "SEMH"), where="best", batch=3, method="greedy")
    out = apply(roomy, [change])
    (row,) = out.rows
    assert "no full candidate" in row.reason and row.estimated_saving == 0.0


def test_greedy_respects_max_per_school(tiny):
    change = CapacityChange(
        add=5, needs=("ASD", "SEMH"), where="best", batch=3, method="greedy", max_per_school=2
    )
    out = apply(tiny, [change])
    assert all(r.places_added <= 2 for r in out.rows)
    assert out.places_added <= 4  # two candidates, two places each at most


# -------------------------------------------------------------------------------------------
# Exact siting


def optimal_cost(data, capacity, scope="all"):
    """(−placed, place + estimated transport) of the optimal placement with these capacities."""
    trial = with_capacity(data, capacity)
    result = place_pupils(trial, policy="optimal", scope=scope, params=PARAMS)
    t = summarise_placement(trial, result, PARAMS)
    return (-t["placed"], t["annual_place_cost"] + t["estimated_annual_transport_cost"])


def allocations(candidates, add, cap):
    """Every way to add at most ``add`` places, at most ``cap`` at each candidate."""
    for split in itertools.product(range(cap + 1), repeat=len(candidates)):
        if sum(split) <= add:
            yield dict(zip(candidates, split, strict=True))


@pytest.mark.parametrize("scope", ["all", "new-entrants"])
@pytest.mark.parametrize(("add", "cap"), [(1, None), (3, None), (4, 2), (6, 3)])
def test_exact_siting_equals_brute_force(tiny, scope, add, cap):
    change = CapacityChange(add=add, needs=("ASD", "SEMH"), where="best", max_per_school=cap)
    out = apply(tiny, [change], policy="optimal", scope=scope)
    base = {s.school_id: s.capacity for s in tiny.schools}
    new = {s.school_id: s.capacity for s in out.data.schools}
    best = min(
        optimal_cost(tiny, {s: base[s] + a.get(s, 0) for s in base}, scope)
        for a in allocations(("S1", "S3"), add, cap or add)
    )
    got = optimal_cost(tiny, new, scope)
    assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=0.5 * len(tiny.pupils))
    assert all(r.places_added <= (cap or add) for r in out.rows)
    assert out.places_added <= add
    # no place is added where no pupil takes it
    placed = place_pupils(out.data, policy="optimal", scope=scope, params=PARAMS)
    load = {s: sum(p.school_id == s for p in placed.placements) for s in new}
    for r in out.rows:
        assert load[r.school_id] > base[r.school_id]


def test_exact_changes_are_sited_together_within_their_caps(tiny):
    changes = [
        CapacityChange(add=2, needs=("ASD",), where="best", max_per_school=1),
        CapacityChange(add=3, needs=("SEMH",), where="best", max_growth=1.0),
        CapacityChange(add=1, school_id="S2"),
    ]
    out = apply(tiny, changes, policy="nearest-with-capacity")
    base = {s.school_id: s.capacity for s in tiny.schools}
    assert [r.change for r in out.rows][0] == 3  # named first, then the exact changes
    for r in out.rows:
        if r.change == 1:
            assert r.school_id == "S1" and r.places_added <= 1
        if r.change == 2:
            assert r.school_id == "S3" and r.places_added <= base["S3"]
            assert "sited exactly" in r.reason
    new = {s.school_id: s.capacity for s in out.data.schools}
    assert new["S2"] == base["S2"] + 1
    result = place_pupils(out.data, policy="nearest-with-capacity", params=PARAMS)
    for school_id, cap in new.items():
        assert sum(p.school_id == school_id for p in result.placements) <= cap


def test_estimated_saving_is_the_leave_one_out_cost(tiny):
    change = CapacityChange(add=3, needs=("ASD", "SEMH"), where="best")
    out = apply(tiny, [change], policy="optimal")
    new = {s.school_id: s.capacity for s in out.data.schools}
    for r in out.rows:
        without = {**new, r.school_id: new[r.school_id] - r.places_added}
        saving = optimal_cost(tiny, without)[1] - optimal_cost(tiny, new)[1]
        assert r.estimated_saving == pytest.approx(saving, abs=0.5 * len(tiny.pupils))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("add = 2\nschool_id = 'S1'\nmax_per_school = 2", "applies to where"),
        ("add = 2\nneeds = ['ASD']\nwhere = 'best'\nmax_per_school = 0", "max_per_school"),
        ("add = 2\nneeds = ['ASD']\nwhere = 'best'\nmax_growth = -1.0", "max_growth"),
        ("add = 2\nneeds = ['ASD']\nwhere = 'best'\nmethod = 'magic'", "method"),
        ("add = 2\nneeds = ['ASD']\nwhere = 'best'\nkinds = ['castle']", "unknown kind"),
    ],
)
def test_bad_capacity_keys_are_named(table, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario("[[capacity]]\n" + table)


def test_strategy_places_scenario_holds_the_plan():
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "strategy-places.toml")
    assert sum(c.add for c in sc.capacity) == 209 + 100
    special, asd_units, other_units = sc.capacity
    assert special.kinds == ("special",) and special.add == 3700 - 3491
    assert asd_units.kinds == other_units.kinds == ("resourced",)
    assert special.add + asd_units.add == 275
    assert all(c.method == "exact" and c.max_per_school for c in sc.capacity)
    assert not set(asd_units.needs) & set(other_units.needs)
