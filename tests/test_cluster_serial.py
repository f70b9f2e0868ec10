"""The client's serial work made faster for #18 (2 workers ≥ 1.8× one): the same numbers.

On a cluster the client's own work (reading, placement, building sub-problems, repair,
mixed-school pairing, writing) does not shrink with more workers, so it was made faster:
suitability in numpy, the great-circle matrix and the placement reasons in cache-sized blocks,
no cache keys without a cache, the mixed-school pairing without repeated work (the small
schools' exact answers stay in the client: as tasks they made a cluster slower). Each must give
the very same plan: these tests hold each fast path to its plain definition.
"""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import transport.placement.explain as placement_explain
import transport.routing._mixed as mixed_module
from tests.test_placement import datasets
from tests.test_routing import pupil, school, spread, write_data
from transport import geo
from transport.data.load import RowNumbers, parse_csv_text
from transport.data.validate import read_dataset
from transport.placement import place_pupils
from transport.placement.policies import suitable_matrix
from transport.routing import RoutingOptions, plan_routes
from transport.routing._local import EXACT_MAX_VISITS
from transport.routing._plan import rides_and_miles
from transport.routing._problem import route_cost
from transport.routing._solve import Effort, _Inline, needs_search, run_searches, solve_subproblem
from transport.scenario import Scenario
from transport.travel import CrowFlyModel, as_points

# ---------------------------------------------------------------------------------------------
# placement


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(max_schools=8, max_pupils=40))
def test_suitability_in_numpy_is_school_serves(data):
    schools = sorted(data.schools, key=lambda s: s.school_id)
    plain = np.array(
        [[s.serves(p.need, p.age) for s in schools] for p in data.pupils], dtype=bool
    ).reshape(len(data.pupils), len(schools))
    assert np.array_equal(suitable_matrix(data.pupils, schools), plain)


def test_great_circle_in_blocks_gives_the_same_numbers(monkeypatch):
    rng = np.random.default_rng(7)
    origins = np.column_stack([rng.uniform(50.0, 55.0, 301), rng.uniform(-3.0, 1.5, 301)])
    destinations = np.column_stack([rng.uniform(50.0, 55.0, 37), rng.uniform(-3.0, 1.5, 37)])
    monkeypatch.setattr(geo, "BLOCK_ELEMENTS", 10**9)
    whole = geo.great_circle_miles(origins, destinations)
    for block in (1, 37, 100, 1000):  # one row at a time, exact rows, ragged, a few rows
        monkeypatch.setattr(geo, "BLOCK_ELEMENTS", block)
        got = geo.great_circle_miles(origins, destinations)
        assert got.shape == whole.shape
        assert got.tobytes() == whole.tobytes()  # bit for bit, not approximately
    assert geo.great_circle_miles(np.zeros((0, 2)), destinations).shape == (0, 37)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(max_schools=6, max_pupils=30))
def test_placement_reasons_in_blocks_are_the_same(data):
    travel = CrowFlyModel()
    results = {}
    original = placement_explain.BLOCK_ELEMENTS
    try:
        for block in (1, 10**9):  # a block of one placement, and every placement at once
            placement_explain.BLOCK_ELEMENTS = block
            for policy in ("nearest-with-capacity", "nearest-suitable", "optimal"):
                results[block, policy] = place_pupils(data, policy=policy, travel=travel)
    finally:
        placement_explain.BLOCK_ELEMENTS = original
    for policy in ("nearest-with-capacity", "nearest-suitable", "optimal"):
        assert results[1, policy] == results[10**9, policy]


# ---------------------------------------------------------------------------------------------
# reading


def test_row_numbers_are_shared_not_copied_by_every_column_read():
    frame = parse_csv_text("a,b\n1,2\n\n3,4\n", file="x.csv")
    rows = frame.attrs["rows"]
    assert isinstance(rows, RowNumbers) and rows == (2, 4)  # the blank row 3 is skipped
    assert frame["a"].attrs["rows"] is rows  # pandas' deep copy of attrs is the object itself
    assert copy.deepcopy(rows) is rows and list(rows) == [2, 4]
    assert pickle.loads(pickle.dumps(rows)) == rows
    assert (frame.attrs.get("rows") or "none") == rows  # truthy as a list of rows was
    empty = parse_csv_text("a,b\n", file="y.csv").attrs["rows"]
    assert not empty


# ---------------------------------------------------------------------------------------------
# the stage cache


def test_without_a_cache_no_key_or_json_form_is_computed(tmp_path, monkeypatch):
    import transport.pipeline.run as run_module
    from transport.pipeline import StageCache, run_scenario

    data = read_dataset(write_data(tmp_path / "d", spread(12, seed=4)))
    scenario = Scenario(routing=RoutingOptions(work_limit=5, workers=1, seed=1))
    travel = CrowFlyModel(scenario.parameters().travel)
    calls: list[str] = []
    for name in ("dataset_digest", "placement_json", "plan_json"):
        real = getattr(run_module, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(run_module, name, counted)
    plain = run_scenario(scenario, data, travel, until="route")
    assert calls == []  # nothing would read them
    cached = run_scenario(scenario, data, travel, until="route", cache=StageCache(tmp_path / "c"))
    assert {"dataset_digest", "placement_json", "plan_json"} <= set(calls)
    assert plain.plan.routes == cached.plan.routes and plain.plan.stops == cached.plan.stops
    assert StageCache(None).active is False and StageCache(tmp_path).active is True


# ---------------------------------------------------------------------------------------------
# mixed-school routes: the pairing against its plain definition (the code before #18's work)


def _plain_evaluate(pair: Any, order: Any, first: int, params: Any, strict: bool) -> Any:
    second = 1 - first
    nodes = [pair.node[v[0]] for v in order]
    to_first = [0.0] * len(nodes)
    t = float(pair.minutes[nodes[-1], first])
    miles = float(pair.miles[nodes[-1], first]) + float(pair.miles[first, second])
    to_first[-1] = t
    for j in range(len(nodes) - 2, -1, -1):
        t += float(pair.minutes[nodes[j], nodes[j + 1]])
        t += params.travel.dwell_of_visit(len(order[j + 1]))
        miles += float(pair.miles[nodes[j], nodes[j + 1]])
        to_first[j] = t
    delta = float(pair.minutes[first, second]) + params.travel.dwell_min
    if not np.isfinite(delta) or not np.isfinite(miles):
        return None
    s1, s2 = pair.schools[first], pair.schools[second]
    t1 = min(float(s1.arrive_by), float(s2.arrive_by) - delta)
    rides, arrival = [], []
    for visit, r in zip(order, to_first, strict=True):
        for p in visit:
            mine = 0 if pair.placed[p] == s1.school_id else 1
            ride = r if mine == 0 else r + delta
            direct = float(pair.minutes[pair.node[p], first if mine == 0 else second])
            if ride > params.ride.effective_limit(pair.pupils[p], direct, strict=strict):
                return None
            rides.append(ride)
            arrival.append(t1 if mine == 0 else t1 + delta)
    return rides, miles, arrival, f"{s1.school_id};{s2.school_id}"


def _plain_merge(
    specs, by_school, *, travel, params, radius_miles, ledger, incompatible, vehicles,
    strict_limits=False,
):  # fmt: skip
    """merge_mixed as it was written before it was made faster (no re-plan arguments)."""
    from transport.routing._plan import RouteSpec

    pupil = {p.pupil_id: p for st in by_school.values() for p in st.pupils}

    def cost(s):
        _, miles = rides_and_miles(by_school[s.school_id], s.visits, params.travel)
        return route_cost(s.vehicle, round(miles, 2), s.has_pa, params)

    def stops_of(s):
        return {sid for p in s.pupils if (sid := pupil[p].stop_id) is not None}

    mergeable = [
        k
        for k, s in enumerate(specs)
        if ";" not in s.school_id and not any(pupil[p].solo for p in s.pupils)
    ]
    by_sid: dict[str, list[int]] = {}
    for k in mergeable:
        by_sid.setdefault(specs[k].school_id, []).append(k)
    sids = sorted(by_sid)
    if len(sids) < 2:
        return specs, None
    pts = as_points([by_school[s].school for s in sids])
    m = travel.travel_matrix(pts, pts)
    near = np.minimum(np.asarray(m.miles), np.asarray(m.miles).T) <= radius_miles
    old_cost = {k: cost(specs[k]) for k in mergeable}
    candidates, pairs = [], 0
    for i, j in itertools.combinations(range(len(sids)), 2):
        a, b = by_school[sids[i]], by_school[sids[j]]
        gap = abs(a.school.arrive_by - b.school.arrive_by)
        if not near[i, j] or gap > mixed_module.ARRIVE_BY_GAP_MIN:
            continue
        pairs += 1
        members = [pupil[p] for k in by_sid[sids[i]] + by_sid[sids[j]] for p in specs[k].pupils]
        pair = mixed_module._Pair(a, b, members, travel)
        for ka, kb in itertools.product(by_sid[sids[i]], by_sid[sids[j]]):
            both = specs[ka].pupils + specs[kb].pupils
            if any(
                frozenset((x, y)) in incompatible
                for x in specs[ka].pupils
                for y in specs[kb].pupils
            ):
                continue
            freed = [specs[ka].vehicle.vehicle_type, specs[kb].vehicle.vehicle_type]
            fitting = mixed_module._fitting([pupil[p] for p in both], vehicles, ledger, freed)
            if not fitting or stops_of(specs[ka]) & stops_of(specs[kb]):
                continue
            has_pa = any(pupil[p].needs_pa for p in both)
            best = None
            for order in (specs[ka].visits + specs[kb].visits, specs[kb].visits + specs[ka].visits):
                for first in (0, 1):
                    got = _plain_evaluate(pair, order, first, params, strict_limits)
                    if got is None:
                        continue
                    miles = round(got[1], 2)
                    new, vehicle = min(
                        ((route_cost(v, miles, has_pa, params), v) for v in fitting),
                        key=lambda x: x[0],
                    )
                    saving = old_cost[ka] + old_cost[kb] - new
                    spec = RouteSpec(
                        got[3], vehicle, has_pa, order, tuple(got[0]), got[1], tuple(got[2])
                    )
                    if saving > 0.005 and (best is None or saving > best[0]):
                        best = (saving, spec)
            if best is not None:
                candidates.append((best[0], ka, kb, best[1]))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    return candidates, pairs


def _mixed_data(tmp_path, seed: int, strict: bool):
    """Four schools close together, pupils around them, shared stops and incompatible pairs."""
    import random

    rng = random.Random(seed)
    schools = [
        school("S1"),
        school("S2", 0.01, 0.02, "09:10"),
        school("S3", -0.01, 0.01, "09:05"),
        school("S4", 0.02, -0.01, "08:55"),
    ]
    pupils = []
    offsets = {"S1": (0, 0), "S2": (0.01, 0.02), "S3": (-0.01, 0.01), "S4": (0.02, -0.01)}
    villages = ((0.12, 0.1), (-0.1, 0.12), (0.05, -0.15))
    for sid, (dlat, dlon) in offsets.items():
        pupils += spread(4, sid, seed=rng.randint(0, 10**6), dlat=dlat, dlon=dlon)
        for v, (vlat, vlon) in enumerate(villages):  # far villages: a shared vehicle pays
            for k in range(rng.randint(1, 3)):
                jitter = rng.uniform(-0.004, 0.004)
                pupils.append(pupil(f"{sid}-v{v}{k}", vlat + jitter, vlon - jitter, school=sid))
    for p in pupils[::5]:
        p["max_ride_min"] = rng.choice(("", "30", "45", "60"))
    for p in pupils:
        p["solo"] = 0
    ids = [p["pupil_id"] for p in pupils]
    pairs = [(ids[k], ids[-1 - k]) for k in range(0, len(ids) // 2, 3)]
    folder = write_data(tmp_path / f"d{seed}", pupils, schools=schools, pairs=pairs)
    options = RoutingOptions(
        work_limit=3, workers=1, seed=seed, mixed_school=True, strict_limits=strict
    )
    return read_dataset(folder), options


@pytest.mark.parametrize(("seed", "strict"), [(1, False), (2, False), (3, True)])
def test_mixed_school_pairing_makes_the_merges_of_its_plain_definition(tmp_path, monkeypatch,
                                                                         seed, strict):  # fmt: skip
    data, options = _mixed_data(tmp_path, seed, strict)
    seen: list[tuple[Any, Any, dict[str, Any]]] = []
    real = mixed_module.merge_mixed

    def capture(specs: Any, by_school: Any, **kwargs: Any) -> Any:
        seen.append((list(specs), by_school, {**kwargs, "ledger": copy.deepcopy(kwargs["ledger"])}))
        return real(specs, by_school, **kwargs)

    monkeypatch.setattr(mixed_module, "merge_mixed", capture)
    placements = place_pupils(data, policy="keep", travel=CrowFlyModel())
    plan_routes(data, placements, options=options)
    ((specs, by_school, kwargs),) = seen
    candidates, pairs = _plain_merge(specs, by_school, **copy.deepcopy(kwargs))
    out, info = real(specs, by_school, **kwargs)
    assert info["school_pairs"] == pairs > 0
    # the greedy choice of the plain candidates, without vehicle caps (none in this data)
    used: set[int] = set()
    chosen = []
    for saving, ka, kb, spec in candidates:
        if ka not in used and kb not in used:
            used.update((ka, kb))
            chosen.append((spec, saving))
    expected = [s for k, s in enumerate(specs) if k not in used] + [s for s, _ in chosen]
    assert out == expected
    assert info["mixed_routes"] == len(chosen) > 0
    assert info["annual_saving"] == round(sum(s for _, s in chosen), 2)


# ---------------------------------------------------------------------------------------------
# the small schools' exact answers: in the client, never a task (measured: as 162 more tasks on a
# 2-worker Dask cluster the ten-county solve took 147.5 s against 141.2 s)


class _Recording(_Inline):
    """Runs every task at once, remembering the sub-problems in the order submitted."""

    def __init__(self) -> None:
        self.order: list[Any] = []

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future:
        self.order.append(kwargs.get("sub", args[0] if args else None))
        return super().submit(fn, *args, **kwargs)


class _Cluster:
    cluster = True
    workers = 2

    def __init__(self) -> None:
        self.recording = _Recording()

    def pool(self) -> _Recording:
        return self.recording


def test_small_schools_are_answered_in_the_client_and_searches_go_largest_first(
    tmp_path, monkeypatch
):
    pupils = spread(30, "S1", seed=3) + spread(4, "S2", seed=4) + spread(6, "S3", seed=5)
    pupils += spread(3, "S4", seed=6)
    for p in pupils:
        p["solo"] = 0
    schools = [school("S1"), school("S2", 0.3), school("S3", -0.3), school("S4", 0.0, 0.5)]
    data = read_dataset(write_data(tmp_path / "d", pupils, schools=schools))
    import transport.routing._pipeline as pipeline_module

    seen: list[list[Any]] = []
    real = pipeline_module.run_searches

    def capture(subs: Any, **kwargs: Any) -> Any:
        seen.append(list(subs))
        return real(subs, **kwargs)

    monkeypatch.setattr(pipeline_module, "run_searches", capture)
    options = RoutingOptions(work_limit=4, workers=1, seed=0, mixed_school=False)
    placements = place_pupils(data, policy="keep", travel=CrowFlyModel())
    plan_routes(data, placements, options=options)
    subs = seen[0]
    light = [s for s in subs if not needs_search(s)]
    heavy = [s for s in subs if needs_search(s)]
    assert light and heavy and all(s.n <= EXACT_MAX_VISITS for s in light)

    effort = Effort(work_limit=4)
    cluster = _Cluster()
    common = {"backend": "auto", "effort": effort, "work_moves": 4_000_000, "seed": 0}
    on_cluster = run_searches(subs, workers=2, executor=cluster, **common)  # type: ignore[arg-type]
    here = run_searches(subs, workers=1, **common)
    order = [s.school_id for s in cluster.recording.order]
    assert order[: len(heavy)] == [
        s.school_id for s in sorted(heavy, key=lambda s: (-s.n, s.school_id))
    ]
    assert set(order) <= {s.school_id for s in heavy}  # no small school is a task

    def plans(report: Any) -> dict[str, Any]:  # every field but the wall time
        return {sid: replace(sol, wall_s=0.0) for sid, sol in report.solutions.items()}

    assert plans(on_cluster) == plans(here)
    for s in light:  # each is the exact answer
        direct = solve_subproblem(s, "auto")
        assert on_cluster.solutions[s.school_id].drafts == direct.drafts


def test_math_isfinite_is_numpys_for_floats():
    for x in (0.0, 1.5, math.inf, -math.inf, math.nan):
        assert math.isfinite(x) == bool(np.isfinite(x))
