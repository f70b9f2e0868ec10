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


# --------------------------------------------------------------------------------------------
# digests, who changed, and the stability numbers


def _pupil(pid="P1", **kw):
    from transport.model import Pupil

    base = dict(
        pupil_id=pid,
        lat=51.15,
        lon=0.88,
        district="Ashford",
        age=9,
        need="ASD",
        school_id="S1",
        wheelchair=False,
        needs_pa=False,
        solo=False,
        max_ride_min=None,
        stop_id=None,
    )
    return Pupil(**{**base, **kw})


def test_digests_tell_home_from_needs_and_hide_the_data():
    from transport.changes import pupil_digests

    salt = "a" * 32
    home, needs = pupil_digests(_pupil(), salt)
    assert len(home) == len(needs) == 32 and home != needs
    assert "51.15" not in home + needs
    assert pupil_digests(_pupil(lat=51.1500), salt) == (home, needs)  # numbers as parsed
    assert pupil_digests(_pupil(lat=51.16), salt)[0] != home
    assert pupil_digests(_pupil(stop_id="T1"), salt)[0] != home
    assert pupil_digests(_pupil(school_id="S2"), salt)[0] != home
    for field, value in [("age", 10), ("needs_pa", True), ("wheelchair", True), ("solo", True),
                         ("max_ride_min", 30), ("need", "SEMH")]:  # fmt: skip
        moved, changed = pupil_digests(_pupil(**{field: value}), salt)
        assert moved == home and changed != needs, field
    assert pupil_digests(_pupil(), "b" * 32) != (home, needs)  # another series
    assert pupil_digests(_pupil("P2"), salt) != (home, needs)  # salted per pupil too


def test_pupil_changes_new_left_changed_moved():
    from transport.changes import pupil_changes

    before = {"a": ("h1", "n1"), "b": ("h2", "n2"), "c": ("h3", "n3")}
    after = {"a": ("h1", "n1"), "b": ("h2", "nX"), "c": ("hX", "n3"), "d": ("h4", "n4")}
    got = pupil_changes(before, after)
    assert got.new == {"d"} and got.left == set() and got.changed == {"b", "c"}
    assert got.moved == {"c"} and got.known
    blind = pupil_changes(None, after, before_ids={"a", "z"}, after_ids={"a", "d"})
    assert blind.new == {"d"} and blind.left == {"z"} and blind.changed == set()
    assert not blind.known


def test_plan_stability_counts_routes_by_id_and_disturbed_by_reason():
    from transport.changes import PupilChanges, plan_stability, route_outcomes

    def plan(rows):
        routes, stops = [], []
        for rid, vehicle, riders in rows:
            routes.append(Route(rid, "S1", vehicle, False, tuple(p for p, _ in riders), 1, 100.0))
            stops += [Stop(rid, i, p, float(t), 5.0) for i, (p, t) in enumerate(riders, 1)]
        return tuple(routes), tuple(stops)

    before = plan([("R1", "taxi", [("a", 480), ("b", 485)]), ("R2", "taxi", [("c", 490)]),
                   ("R3", "mpv", [("d", 470)])])  # fmt: skip
    after = plan([("R1", "taxi", [("a", 480), ("b", 485)]), ("R2", "mpv", [("c", 490)]),
                  ("R4", "taxi", [("e", 500)])])  # fmt: skip
    assert route_outcomes(before[0], after[0]) == {"kept": 1, "changed": 1, "new": 1, "ended": 1}
    none = frozenset()
    pupils = PupilChanges(frozenset({"e"}), frozenset({"d"}), none, none)
    s = plan_stability(before, after, pupils=pupils)
    assert s["disturbed"] == 1 and s["disturbed_by_reason"]["vehicle"] == 1
    assert s["pupils"] == {"new": 1, "left": 1, "changed": 0, "moved": 0, "changed_known": True}
    assert s["annual_cost_change"] == 0.0
    changed = PupilChanges(frozenset({"e"}), frozenset({"d"}), frozenset({"c"}), none)
    assert plan_stability(before, after, pupils=changed)["disturbed"] == 0


def test_joining_a_mixed_school_route_is_no_change_of_school():
    """A mixed-school route's school_id is 'A;B': the journey's school is the pupil's own."""
    before = [
        Route("R1", "S1", "minibus", False, ("a", "b"), 1.0, 100.0),
        Route("R2", "S2", "minibus", False, ("x",), 1.0, 100.0),
    ]
    after = [Route("R1", "S1;S2", "minibus", False, ("a", "b", "x"), 2.0, 150.0)]
    stops_b = [Stop("R1", 1, "a", 480.0, 30.0), Stop("R1", 2, "b", 480.0, 30.0)]
    stops_a = [*stops_b, Stop("R2", 1, "x", 490.0, 20.0)]
    stops_after = [*stops_b, Stop("R1", 3, "x", 490.0, 20.0)]
    school_of = {"a": "S1", "b": "S1", "x": "S2"}
    old = journeys(before, stops_a, school_of=school_of)
    new = journeys(after, stops_after, school_of=school_of)
    assert new["x"].school_id == "S2" and new["a"].school_id == "S1"
    assert disturbances(old, new) == {}  # same schools, times, vehicles; co-riders only added
    # without the placements a mixed route's journeys name the route's schools
    assert journeys(after, stops_after)["x"].school_id == "S1;S2"
    moved = {**school_of, "x": "S1"}  # x now placed at S1 and riding the mixed route
    assert disturbances(old, journeys(after, stops_after, school_of=moved))["x"] == ("school",)
