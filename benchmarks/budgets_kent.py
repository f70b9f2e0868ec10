"""Benchmark: personal transport budgets on the Kent data — savings, offers and uptake.

Run (after a solve; without one, the benchmark plans the routes itself with plan_routes):

    .venv/bin/sen-transport solve --data data/kent --out runs/kent --time-limit 120
    .venv/bin/python benchmarks/budgets_kent.py [--data data/kent] [--run runs/kent]

Targets: marginal savings of every trial-cohort pupil in under 60 s, of every pupil county-wide
in under 5 minutes (2 cores), a 1,000-draw uptake simulation in under 60 s. Each measurement
starts from an empty savings model (no route table cached). Then the figures a finance officer
asks for, trial cohort and county-wide, under the default scenario and three variants.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import replace
from pathlib import Path

from transport.budgets import SavingsModel, assess_cohort, resolve_districts, run_parameters
from transport.budgets.cohorts import TRIAL
from transport.budgets.uptake import simulate_uptake
from transport.data.validate import read_dataset
from transport.model import Parameters
from transport.runs.write import read_run, write_run
from transport.scenario import BudgetSettings
from transport.travel import CrowFlyModel

TARGET = 1_500_000.0


def solve_if_missing(data_dir: str, run_dir: Path, time_limit: float) -> None:
    """Plan the routes with plan_routes when no solved run exists."""
    if (run_dir / "routes.csv").exists():
        return
    from transport.placement import place_pupils
    from transport.routing import RoutingOptions, plan_routes

    print(f"no run at {run_dir}: planning routes ({time_limit:.0f} s) …")
    data = read_dataset(data_dir)
    params = Parameters()
    placements = place_pupils(data, policy="keep", params=params)
    plan = plan_routes(
        data, placements, params=params, options=RoutingOptions(time_limit_s=time_limit)
    )
    summary = {
        "stage": "solve",
        "pupils": len(data.pupils),
        "routes": len(plan.routes),
        "annual_transport_cost": plan.annual_transport_cost,
        "annual_place_cost": None,
        "unplaced": [u.pupil_id for u in placements.unplaced],
        "unrouted": [u.pupil_id for u in plan.unrouted],
        "parameters": {**params.to_dict(), "travel_model": CrowFlyModel().describe()},
    }
    write_run(run_dir, summary=summary, placements=placements, routes=plan.routes, stops=plan.stops)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def money(x: float | None) -> str:
    return "—" if x is None else f"£{x:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/kent")
    parser.add_argument("--run", default="runs/kent")
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()

    run_dir = Path(args.run)
    solve_if_missing(args.data, run_dir, args.time_limit)
    data, run = read_dataset(args.data), read_run(run_dir)
    params, _ = run_parameters(run.summary, Parameters())
    travel = CrowFlyModel(params.travel)
    trial = resolve_districts(TRIAL, {p.district for p in data.pupils})
    trial_ids = [p.pupil_id for p in data.pupils if p.district in trial]
    all_ids = [p.pupil_id for p in data.pupils]
    print(
        f"data {args.data}: {len(data.pupils):,} pupils; run {run_dir}: {len(run.routes):,} "
        f"routes, £{sum(r.annual_cost for r in run.routes):,.0f} a year; {os.cpu_count()} CPUs"
    )

    print("\nmarginal savings (fresh model each time: every route table built)")
    for label, ids, limit in (("trial", trial_ids, 60), ("countywide", all_ids, 300)):
        model = SavingsModel(data, run, params=params, travel=travel)
        marginal, secs = timed(lambda m=model, i=ids: {p: m.marginal_saving(p) for p in i})
        print(
            f"  {label:11} {len(ids):5,} pupils, {model.totals()['routes_tabulated']:4} routes: "
            f"{secs:6.2f} s (target < {limit} s)  total marginal saving "
            f"{money(sum(marginal.values()))}"
        )

    savings = SavingsModel(data, run, params=params, travel=travel)
    base = BudgetSettings()
    variants = {
        "default (kent-bands, fixed 30 %)": base,
        "logistic uptake": replace(base, uptake_model="logistic"),
        "logistic, levels 0.75/1/1.25": replace(
            base, uptake_model="logistic", offer_levels=(0.75, 1.0, 1.25)
        ),
        "fixed 30 %, allow_loss": replace(base, allow_loss=True),
        "mileage 45p, fixed 30 %": replace(base, rule="mileage"),
    }
    print(f"\noffers and uptake (target {money(TARGET)} net a year; 1,000 draws, seed 0)")
    header = (
        f"  {'scenario':34} {'cohort':10} {'offers':>6} {'uptake':>7} {'E[net]':>11} "
        f"{'simulated 5-95 %':>23} {'P(target)':>9} {'offers nd.':>10} {'uptake nd.':>10} {'s':>6}"
    )
    print(header)
    for name, settings in variants.items():
        for label, districts in (("trial", trial), ("countywide", None)):
            result, secs = timed(
                lambda s=settings, d=districts: assess_cohort(
                    data, run, savings, settings=s, target=TARGET, districts=d,
                    attendance={}, school_days=params.cost.school_days,
                )
            )  # fmt: skip
            t = result.totals()
            sim, need, offers = t["simulation"], t["target"], t["offers"]
            rng = f"{money(sim['p5_net_saving'])}–{money(sim['p95_net_saving'])}"
            uptake = "—" if need["uptake_needed"] is None else f"{need['uptake_needed']:.1%}"
            print(
                f"  {name:34} {label:10} {offers['offers']:6,} "
                f"{offers['expected_acceptances']:7.1f} {money(offers['expected_net_saving']):>11} "
                f"{rng:>23} {sim['probability_of_target']:9.1%} "
                f"{need['offers_needed'] or '—':>10} {uptake:>10} {secs:6.2f}"
            )

    print("\nuptake simulation alone (county-wide default offers)")
    county = assess_cohort(
        data, run, savings, settings=base, target=TARGET, districts=None,
        attendance={}, school_days=params.cost.school_days,
    )  # fmt: skip
    for draws in (1_000, 10_000):
        _, secs = timed(
            lambda n=draws: simulate_uptake(county.plan.packages, draws=n, seed=0, target=TARGET)
        )
        print(f"  {draws:6,} draws over {len(county.plan.offers):,} offers: {secs:.3f} s")
    print(f"\nrouting gain (not credited to budgets): {savings.totals()}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
