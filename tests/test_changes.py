"""The one definition of a disturbed family (transport.changes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transport.changes import (
    DISTURBANCE_REASONS,
    Journey,
    count_by_reason,
    disturbance,
    disturbances,
    journeys,
)
from transport.model import Route, Stop


def _plan(rows):
    """rows: (route_id, school, vehicle, has_pa, [(pupil, pickup_min), ...])"""
    routes, stops = [], []
    for rid, school, vehicle, pa, riders in rows:
        routes.append(Route(rid, school, vehicle, pa, tuple(p for p, _ in riders), 1.0, 100.0))
        for seq, (p, t) in enumerate(riders, start=1):
            stops.append(Stop(rid, seq, p, float(t), 10.0))
    return journeys(routes, stops)


BASE = [
    ("R1", "S1", "minibus", False, [("a", 480), ("b", 485), ("c", 490), ("d", 495)]),
    ("R2", "S1", "taxi", True, [("e", 500)]),
]


def test_same_plan_disturbs_nobody():
    plan = _plan(BASE)
    assert disturbances(plan, plan) == {}


def test_each_reason_alone():
    before = _plan(BASE)
    cases = {
        "school": [
            ("R1", "S2", "minibus", False, [("a", 480), ("b", 485), ("c", 490), ("d", 495)])
        ],
        "pickup": [
            ("R1", "S1", "minibus", False, [("a", 469), ("b", 485), ("c", 490), ("d", 495)])
        ],
        "vehicle": [("R1", "S1", "mpv", False, [("a", 480), ("b", 485), ("c", 490), ("d", 495)])],
        "pa": [("R1", "S1", "minibus", True, [("a", 480), ("b", 485), ("c", 490), ("d", 495)])],
    }
    for reason, rows in cases.items():
        after = _plan(rows + BASE[1:])
        got = disturbances(before, after)
        assert got.get("a", ())[:1] == (reason,) or reason in got.get("a", ()), reason


def test_pickup_threshold_is_strict():
    before = _plan(BASE)
    moved = [("R1", "S1", "minibus", False, [("a", 490), ("b", 485), ("c", 490), ("d", 495)])]
    assert "a" not in disturbances(before, _plan(moved + BASE[1:]))
    assert "a" in disturbances(before, _plan(moved + BASE[1:]), minutes=9)


def test_co_riders_half_rule():
    before = _plan(BASE)
    # a keeps b only: 1 of 3 previous co-riders -> disturbed; b keeps a: 1 of 3 -> disturbed
    after = _plan(
        [
            ("R1", "S1", "minibus", False, [("a", 480), ("b", 485)]),
            ("R3", "S1", "minibus", False, [("c", 490), ("d", 495)]),
            BASE[1],
        ]
    )
    got = disturbances(before, after)
    assert got["a"] == ("co-riders",) and got["c"] == ("co-riders",)
    # leavers do not count: with c and d gone, a keeps b, all of its co-riders still routed
    after = _plan([("R1", "S1", "minibus", False, [("a", 480), ("b", 485)]), BASE[1]])
    assert disturbances(before, after) == {}


def test_changed_pupils_are_never_disturbed():
    before = _plan(BASE)
    after = _plan([("R1", "S2", "taxi", True, [("a", 300)]), BASE[1]])
    assert "a" in disturbances(before, after)
    assert "a" not in disturbances(before, after, changed={"a"})


def test_count_by_reason_lists_every_code():
    counts = count_by_reason({"a": ("school", "pickup"), "b": ("pickup",)})
    assert list(counts) == list(DISTURBANCE_REASONS)
    assert counts["pickup"] == 2 and counts["school"] == 1 and counts["pa"] == 0


@given(
    st.integers(0, 600),
    st.integers(0, 600),
    st.sets(st.sampled_from("bcdefg")),
    st.sets(st.sampled_from("bcdefg")),
)
def test_disturbance_is_symmetric_in_time_and_never_on_identity(t1, t2, old, new):
    a = Journey("a", "R", "S", "taxi", False, float(t1), frozenset(old))
    b = Journey("a", "R", "S", "taxi", False, float(t2), frozenset(new))
    assert disturbance(a, a, still_routed=set("abcdefg")) == ()
    moved = "pickup" in disturbance(a, b, still_routed=set("abcdefg"))
    assert moved == (abs(t1 - t2) > 10)
