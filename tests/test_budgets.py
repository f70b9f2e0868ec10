"""Personal transport budgets: pricing, exact savings, offers and the uptake simulation."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from transport.budgets import (
    Candidate,
    RoutePackage,
    SavingsModel,
    choose_offers,
    custom_band,
    kent_band,
    price_pupil,
    resolve_districts,
    simulate_uptake,
    target_needs,
    uptake_probability,
)
from transport.budgets.offers import _evaluate, _exhaustive, _local_search, _options
from transport.budgets.pricing import parse_attendance
from transport.budgets.uptake import Offer
from transport.errors import InputError, ScenarioError
from transport.model import Dataset, Parameters, Pupil, School, VehicleType
from transport.placement import place_pupils
from transport.routing import RoutingOptions, plan_routes
from transport.routing.reoptimise import keep_order_cost, subset_costs
from transport.runs.write import RunFiles
from transport.scenario import BudgetSettings
from transport.travel import CrowFlyModel

SCHOOL = School(
    "S1", "Ashford Special", 51.15, 0.87, "Ashford", "special", 4, 19,
    frozenset({"*"}), 50, 20000.0, 540,
)  # fmt: skip
VEHICLES = (
    VehicleType("taxi", 4, 0, 38.0, 0.95, None),
    VehicleType("mpv", 6, 0, 52.0, 1.10, None),
    VehicleType("minibus", 12, 0, 85.0, 1.40, None),
    VehicleType("wav_taxi", 3, 1, 60.0, 1.20, None),
    VehicleType("wav_minibus", 8, 4, 110.0, 1.70, None),
)
PARAMS = Parameters()
TRAVEL = CrowFlyModel(PARAMS.travel)


def pupil(pid: str, north: float, east: float, *, school: School = SCHOOL, **kw) -> Pupil:
    """A pupil ``north`` and ``east`` miles from the school."""
    lat = school.lat + north / 69.0
    lon = school.lon + east / (69.0 * math.cos(math.radians(school.lat)))
    fields = {"district": "Ashford", "age": 10, "need": "ASD", "wheelchair": False}
    fields |= {"needs_pa": False, "solo": False, "max_ride_min": None} | kw
    return Pupil(pid, lat, lon, school_id=school.school_id, **fields)


def solved(pupils: list[Pupil], schools: tuple[School, ...] = (SCHOOL,)):
    """A data set and its solved run (in memory), as ``sen-transport solve`` would plan it."""
    data = Dataset(schools=schools, pupils=tuple(pupils), vehicles=VEHICLES)
    placements = place_pupils(data, policy="keep", params=PARAMS)
    options = RoutingOptions(time_limit_s=1, workers=1, mixed_school=False)
    plan = plan_routes(data, placements, params=PARAMS, options=options)
    summary = {"parameters": {**PARAMS.to_dict(), "travel_model": TRAVEL.describe()}}
    run = RunFiles(Path("."), summary, placements.placements, plan.routes, plan.stops)
    return data, run, SavingsModel(data, run, params=PARAMS, travel=TRAVEL)


def route_of(run: RunFiles, pid: str):
    return next(r for r in run.routes if pid in r.pupils)


# --------------------------------------------------------------------------------------------
# Pricing


def test_kent_band_edges():
    assert kent_band(4.99)[0] == 2000.0
    assert kent_band(5.0) == (3000.0, "band 5-10 miles")  # exactly 5 miles: the 5-10 band
    assert kent_band(10.0) == (3000.0, "band 5-10 miles")  # exactly 10 miles: still 5-10
    assert kent_band(10.01)[0] == 5000.0


def test_band_is_read_from_the_miles_the_file_shows():
    def price(miles: float):
        return price_pupil(BudgetSettings(), **_pricing_args(straight_miles=miles))

    at_edge = price(4.996)  # shown as 5.00 in budgets.csv, so priced as 5.00
    assert at_edge.straight_miles == 5.0 and at_edge.annual() == 3000.0
    assert at_edge.basis() == "band 5-10 miles"
    assert price(9.999).annual() == 3000.0 and price(10.004).annual() == 3000.0
    assert price(10.005).annual() == 5000.0


def test_custom_bands_include_their_upper_limit():
    bands = ((5.0, 2000.0), (10.0, 3000.0), (math.inf, 5000.0))
    assert custom_band(5.0, bands) == (2000.0, "band up to 5 miles")
    assert custom_band(10.0, bands) == (3000.0, "band 5-10 miles")
    assert custom_band(10.5, bands) == (5000.0, "band over 10 miles")
    assert custom_band(30.0, ((5.0, 2000.0), (20.0, 3500.0)))[0] == 3500.0  # past the last


def _pricing_args(**kw):
    args = dict(
        pupil_id="P1",
        district="Ashford",
        age=10,
        school_id="S1",
        route_id="R0001",
        straight_miles=7.0,
        road_miles=12.3,
        route_cost=9000.0,
        route_pupils=3,
        school_days=190,
    )
    return args | kw


def test_pro_rata_for_part_time():
    p = price_pupil(BudgetSettings(), **_pricing_args(attendance=0.6))
    assert p.annual() == 1800.0
    assert p.monthly() == round(1800.0 / 11, 2) == 163.64
    assert p.basis() == "band 5-10 miles × 0.60 attendance"


def test_travel_saver_deducted_for_ages_16_to_19():
    settings = BudgetSettings(travel_saver_cost=400.0)
    for age, expected in ((15, 3000.0), (16, 2600.0), (19, 2600.0), (20, 3000.0)):
        assert price_pupil(settings, **_pricing_args(age=age)).annual() == expected
    p = price_pupil(settings, **_pricing_args(age=17, attendance=0.5))
    assert p.annual() == 1100.0  # pro rata first, then the pass
    assert p.basis().endswith("− £400.00 16+ Travel Saver")
    dear = BudgetSettings(travel_saver_cost=5000.0)
    assert price_pupil(dear, **_pricing_args(age=17)).annual() == 0.0  # never below £0
    assert BudgetSettings().travel_saver_cost == 400.0


def test_mileage_and_share_rules():
    mileage = price_pupil(BudgetSettings(rule="mileage"), **_pricing_args())
    assert mileage.annual() == round(0.45 * 4 * 12.3 * 190, 2) == 4206.6
    assert mileage.basis() == "12.30 road miles × 4 legs × 190 days × £0.45"
    share = price_pupil(BudgetSettings(rule="share", share=0.8), **_pricing_args())
    assert share.annual() == 2400.0 and share.current_cost == 3000.0
    assert share.basis() == "80% of £9,000.00 route cost ÷ 3 pupils"
    level = price_pupil(BudgetSettings(), **_pricing_args())
    assert level.annual(1.25) == 3750.0 and "× 1.25 offer level" in level.basis(1.25)


def test_attendance_file_problems_all_reported():
    good = parse_attendance("pupil_id,fraction\nP1,0.6\nP2,40%\n", {"P1", "P2"})
    assert good == {"P1": 0.6, "P2": 0.4}
    with pytest.raises(InputError) as err:
        parse_attendance("pupil_id,fraction\nP1,1.5\nP9,0.5\nP2,x\nP2,0.5\nP2,0.4\n", {"P1", "P2"})
    text = str(err.value)
    assert "row 2" in text and "row 3" in text and "row 4" in text and "row 6" in text
    assert "a pupil not in pupils.csv" in text and "listed twice" in text
    assert "P9" not in text and "P2" not in text  # rows are named, never pupil ids


def test_cohorts_accept_shepway_and_reject_unknown_districts():
    known = {"Ashford", "Folkestone and Hythe", "Dover"}
    assert resolve_districts(["ashford", "Shepway"], known) == ("Ashford", "Folkestone and Hythe")
    assert resolve_districts(["Folkestone & Hythe"], known) == ("Folkestone and Hythe",)
    assert resolve_districts(["*"], known) is None
    with pytest.raises(ScenarioError, match="unknown district 'Narnia'"):
        resolve_districts(["Ashford", "Narnia"], known)


# --------------------------------------------------------------------------------------------
# Savings


def test_solo_pupil_saves_their_whole_route():
    data, run, savings = solved(
        [pupil("A", 6, 1, solo=True), pupil("B", 5, 0), pupil("C", 5.2, 0.3)]
    )
    route = route_of(run, "A")
    assert route.pupils == ("A",)
    assert savings.marginal_saving("A") == route.annual_cost > 0


def test_sibling_on_a_shared_route_saves_nothing():
    # two siblings at one address and a neighbour: one taxi, which stays a taxi
    data, run, savings = solved([pupil("S1a", 6, 2), pupil("S1b", 6, 2), pupil("N", 6.5, 2.2)])
    route = route_of(run, "S1a")
    assert set(route.pupils) == {"S1a", "S1b", "N"} and route.vehicle_type == "taxi"
    assert savings.marginal_saving("S1a") == 0.0
    assert savings.marginal_saving("S1b") == 0.0
    assert savings.marginal_saving("N") > 0  # the neighbour's stop is a detour


def test_joint_saving_of_two_who_empty_a_route_is_its_cost():
    data, run, savings = solved([pupil("S1a", 6, 2), pupil("S1b", 6, 2)])
    (route,) = run.routes
    assert savings.marginal_saving("S1a") == savings.marginal_saving("S1b") == 0.0
    assert savings.joint_saving(["S1a", "S1b"]) == route.annual_cost  # not additive


def test_minibus_steps_down_to_an_mpv():
    cluster = [pupil(f"M{i}", 10 + 0.05 * i, 0.05 * i) for i in range(7)]
    data, run, savings = solved(cluster)
    (route,) = run.routes
    assert route.vehicle_type == "minibus"
    mpv = keep_order_cost(
        SCHOOL, [data.pupil_by_id[p] for p in route.pupils[1:]], VEHICLES,
        params=PARAMS, travel=TRAVEL,
    )  # fmt: skip
    step_down = route.annual_cost - mpv
    assert step_down > 5000
    assert savings.marginal_saving(route.pupils[0]) >= step_down - 0.005


def test_replanned_costs_never_exceed_the_same_order_and_match_the_engine():
    rng = np.random.default_rng(3)
    pupils = [
        pupil(f"X{i}", *rng.uniform(-8, 8, size=2), needs_pa=bool(i % 3 == 0)) for i in range(6)
    ]
    table = subset_costs(SCHOOL, pupils, VEHICLES, params=PARAMS, travel=TRAVEL)
    for k in range(1, 7):
        for subset in itertools.combinations(pupils, k):
            cost = table.cost(p.pupil_id for p in subset)
            same_order = keep_order_cost(
                SCHOOL, list(subset), VEHICLES, params=PARAMS, travel=TRAVEL
            )
            assert same_order is None or cost <= same_order + 1e-9
    for subset in (pupils[:3], pupils[1:5], pupils):
        data = Dataset(schools=(SCHOOL,), pupils=tuple(subset), vehicles=VEHICLES)
        engine = plan_routes(
            data, place_pupils(data, policy="keep"), params=PARAMS,
            options=RoutingOptions(time_limit_s=1, workers=1),
        )  # fmt: skip
        assert table.cost(p.pupil_id for p in subset) == pytest.approx(
            engine.annual_transport_cost, abs=0.011
        )


def test_large_routes_are_replanned_by_search_with_the_same_answer(monkeypatch):
    import transport.budgets.savings as savings_module
    import transport.routing.reoptimise as reoptimise

    pupils = [pupil(f"L{i}", 6 + 0.4 * i, 1 + 0.3 * (i % 3)) for i in range(5)]
    data, run, exact = solved(pupils)
    monkeypatch.setattr(savings_module, "EXACT_SUBSET_MAX", 2)
    monkeypatch.setattr(reoptimise, "EXACT_SUBSET_MAX", 2)
    search = SavingsModel(data, run, params=PARAMS, travel=TRAVEL)
    ids = [p.pupil_id for p in pupils]
    assert {search.route(r.route_id).method for r in run.routes} == {"search"}
    for pid in ids:
        assert search.marginal_saving(pid) == pytest.approx(exact.marginal_saving(pid), abs=0.01)
    assert search.joint_saving(ids[:3]) == pytest.approx(exact.joint_saving(ids[:3]), abs=0.01)


def test_mixed_school_route_saves_only_when_everybody_leaves():
    other = School(
        "S9", "Second", 51.16, 0.88, "Ashford", "special", 4, 19, frozenset({"*"}), 9, 1.0, 540
    )
    data, run, _ = solved([pupil("A", 6, 2), pupil("B", 6.2, 2, school=other)], (SCHOOL, other))
    (first, second) = run.routes
    mixed = replace(first, pupils=("A", "B"), annual_cost=first.annual_cost + 1000)
    run = replace(run, routes=(mixed,))
    savings = SavingsModel(data, run, params=PARAMS, travel=TRAVEL)
    assert savings.route(mixed.route_id).method == "mixed-school"
    assert savings.marginal_saving("A") == 0.0
    assert savings.joint_saving(["A", "B"]) == mixed.annual_cost


def test_a_capped_vehicle_type_in_full_use_is_not_stepped_down_to():
    cluster = [pupil(f"M{i}", 10 + 0.05 * i, 0.05 * i) for i in range(7)]
    data, run, free = solved(cluster)
    capped = replace(data, vehicles=tuple(replace(v, available=0) if v.vehicle_type == "mpv"
                                          else v for v in VEHICLES))  # fmt: skip
    savings = SavingsModel(capped, run, params=PARAMS, travel=TRAVEL)
    first = run.routes[0].pupils[0]
    assert savings.marginal_saving(first) < free.marginal_saving(first)


def test_savings_model_totals_report_routing_gain_apart():
    data, run, savings = solved([pupil("A", 3, 3), pupil("B", -4, 1), pupil("C", 2, -5)])
    savings.prepare(["A", "B", "C"])
    totals = savings.totals()
    assert totals["routes_whose_cost_does_not_recompute"] == 0
    assert totals["routing_gain"] == 0.0 and totals["routes_by_method"] == {
        "exact": len(run.routes)
    }


# --------------------------------------------------------------------------------------------
# Uptake and offers


def _package(values: dict[int, float], budgets: list[float], p: float = 0.3) -> RoutePackage:
    offers = tuple(Offer(f"P{i}", "R1", 1.0, b, p) for i, b in enumerate(budgets))
    saving = np.array([values.get(m, 0.0) for m in range(1 << len(budgets))])
    accept = (np.arange(1 << len(budgets))[:, None] >> np.arange(len(budgets))) & 1
    return RoutePackage("R1", offers, saving, saving - accept @ np.array(budgets))


def test_same_seed_same_simulation():
    packages = (_package({1: 5000, 2: 3000, 3: 9000}, [2000, 2000]),)
    a = simulate_uptake(packages, draws=500, seed=11, target=4000)
    b = simulate_uptake(packages, draws=500, seed=11, target=4000)
    c = simulate_uptake(packages, draws=500, seed=12, target=4000)
    assert a == b and a != c
    assert a.p5_net <= a.mean_net <= a.p95_net
    exact = packages[0].expected()[0]
    assert a.mean_net == pytest.approx(exact, rel=0.15)


def test_uptake_models():
    fixed = BudgetSettings(uptake=0.25)
    assert uptake_probability(fixed, budget=100, current_cost=9000) == 0.25
    logistic = BudgetSettings(uptake_model="logistic")
    low = uptake_probability(logistic, budget=1000, current_cost=8000)
    high = uptake_probability(logistic, budget=6000, current_cost=8000)
    assert 0 < low < high < 1
    assert uptake_probability(logistic, budget=1000, current_cost=0) == 1.0


def test_offers_never_lose_money_unless_allowed():
    # siblings who empty a £10,000 route together and save nothing alone; a solo pupil; a
    # pupil whose saving is below their budget
    data, run, savings = solved(
        [
            pupil("S1a", 6, 2),
            pupil("S1b", 6, 2),
            pupil("SOLO", -7, 3, solo=True),
            pupil("NEAR", 0.5, 0.2, school=SCHOOL),
        ]
    )

    def cand(pid: str, budget: float, p: float = 0.9) -> Candidate:
        return Candidate(pid, savings.route_of[pid], (1.0,), (budget,), (p,))

    cands = [cand("S1a", 2000), cand("S1b", 2000), cand("SOLO", 3000), cand("NEAR", 2000)]
    safe = choose_offers(cands, savings, allow_loss=False)
    offered = {o.pupil_id for o in safe.offers}
    assert "SOLO" in offered and not offered & {"S1a", "S1b"}
    for pkg in safe.packages:
        assert (pkg.net >= -0.005).all()  # no combination of acceptances loses money
    for o in safe.offers:
        assert savings.marginal_saving(o.pupil_id) >= o.annual_budget
    risky = choose_offers(cands, savings, allow_loss=True)
    assert {"S1a", "S1b"} <= {o.pupil_id for o in risky.offers}
    assert risky.expected()["expected_net_saving"] >= safe.expected()["expected_net_saving"]


def test_offer_choice_is_the_best_of_every_choice():
    rng = np.random.default_rng(5)
    k = 4
    g = np.zeros(1 << k)
    for m in range(1, 1 << k):  # a saving that grows with who leaves, with interactions
        g[m] = max(g[m & (m - 1)], rng.uniform(0, 9000))
    group = [
        Candidate(f"P{i}", "R1", (0.75, 1.0, 1.25), tuple(b * x for x in (0.75, 1.0, 1.25)),
                  (0.2, 0.3, 0.4))
        for i, b in enumerate(rng.uniform(1500, 4000, size=k))
    ]  # fmt: skip
    opts = _options(group)
    for allow_loss in (False, True):
        best = max(
            _evaluate(opts, g, list(c))[0]
            for c in itertools.product(range(4), repeat=k)
            if allow_loss or _evaluate(opts, g, list(c))[1] >= -0.005
        )
        chosen = _exhaustive(opts, g, allow_loss)
        assert _evaluate(opts, g, chosen)[0] == pytest.approx(best, abs=1e-3)
        assert _evaluate(opts, g, _local_search(opts, g, allow_loss))[0] <= best + 1e-6


def test_target_needs():
    plan_packages = (_package({1: 3000}, [1000], p=0.3), _package({1: 5000}, [1000], p=0.3))
    from transport.budgets.offers import OfferPlan

    plan = OfferPlan(plan_packages, candidates=2, allow_loss=False)
    assert plan.expected()["expected_net_saving"] == pytest.approx(0.3 * 2000 + 0.3 * 4000)
    needs = target_needs(plan, 3000.0)  # 6,000 × q ≥ 3,000 → q = 0.5
    assert needs["uptake_needed"] == pytest.approx(0.5) and needs["reachable_at_full_take_up"]
    assert needs["offers_needed"] is None  # 1,800 expected at 30 % uptake
    assert target_needs(plan, 1000.0)["offers_needed"] == 1  # the £4,000 offer first
    assert target_needs(plan, 7000.0)["uptake_needed"] is None
    assert target_needs(plan, 3500.0)["offers_needed_at_full_take_up"] == 1
    assert target_needs(plan, 5000.0)["offers_needed_at_full_take_up"] == 2


# --------------------------------------------------------------------------------------------
# Through an executor (a cluster's path): the same savings, offers and draws


def test_savings_and_offers_through_an_executor_are_the_same(monkeypatch):
    import transport.budgets.savings as savings_module
    import transport.routing.reoptimise as reoptimise
    from transport.budgets.assess import assess_cohort
    from transport.executor import InlineExecutor

    pupils = [pupil(f"L{i}", 6 + 0.4 * i, 1 + 0.3 * (i % 3)) for i in range(9)]
    pupils += [pupil(f"N{i}", -5 - 0.3 * i, -2 + 0.2 * i) for i in range(4)]
    data, run, _ = solved(pupils)
    monkeypatch.setattr(savings_module, "EXACT_SUBSET_MAX", 3)  # some routes searched
    monkeypatch.setattr(reoptimise, "EXACT_SUBSET_MAX", 3)
    settings = BudgetSettings(
        rule="share", share=0.3, districts=("*",), draws=2500, uptake=0.4, allow_loss=True
    )
    found = []
    for executor in (None, InlineExecutor()):
        savings = SavingsModel(data, run, params=PARAMS, travel=TRAVEL, executor=executor)
        found.append(
            assess_cohort(
                data, run, savings, settings=settings, target=1000.0, districts=None,
                attendance={}, school_days=190, executor=executor,
            )
        )  # fmt: skip
    assert {r.route_id for r in run.routes if savings.route(r.route_id).method == "search"}
    assert found[0].plan.packages
    assert found[0].rows() == found[1].rows()
    assert found[0].totals() == found[1].totals()


def test_uptake_draws_in_blocks_are_the_draws_in_one_stream(monkeypatch):
    import transport.budgets.uptake as uptake
    from transport.executor import InlineExecutor

    packages = (
        _package({1: 3000.0, 2: 2500.0, 3: 9000.0}, [1000.0, 800.0], 0.35),
        replace(_package({1: 4000.0}, [1500.0], 0.6), route_id="R2"),
    )
    whole = simulate_uptake(packages, draws=2345, seed=9, target=4000)
    monkeypatch.setattr(uptake, "DRAWS_PER_TASK", 700)  # four blocks, not whole chunks
    blocks = simulate_uptake(packages, draws=2345, seed=9, target=4000, executor=InlineExecutor())
    assert blocks == whole
