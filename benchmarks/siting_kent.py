"""Benchmark: capacity planning on the Kent data — exact siting, greedy against exact, the
strategy's place plan.

Run:  .venv/bin/python benchmarks/siting_kent.py [--data data/kent] [--time-limit 60]
          [--parts site,mip,greedy,strategy] [--mip-solvers scip,cp-sat]

Parts:

``site``
    ``site_places`` with data/kent/candidates.csv (20 new sites, 8 expansions), by Benders
    decomposition (the default), unlimited and with ``--max-sites 3`` and a £40m budget: wall
    time, proven optimal or gap, sites opened, costs before/after, out of county.
``mip``
    The same model as one MIP in each of ``--mip-solvers`` (OR-Tools pywraplp SCIP / CBC /
    HiGHS, or CP-SAT) within ``--time-limit``: status, objective and bound against Benders.
``greedy``
    The strategy's 275 ASD/SEMH places sited by today's greedy (25 at a time, no cap), by the
    exact flow (no cap) and by the exact flow with asd-semh-275's caps (at most 30 and at most
    doubling per school), each then placed under ``nearest-with-capacity`` (the scenario's
    policy) and under ``optimal``: estimated transport, place cost, their sum, pupils out of
    county, wall time.
``strategy``
    scenarios/strategy-places.toml against the baseline, at the placement level (estimated
    transport; the routed figures come from ``sen-transport compare``); and the same plan with
    the pupils placed by ``optimal``, against optimal-placement.

Wall times depend on the load of the (shared) machine: the script prints ``os.getloadavg()``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

from transport.data.validate import read_dataset
from transport.model import Dataset, Parameters
from transport.placement import place_pupils, summarise_placement
from transport.placement.candidates import read_candidates
from transport.placement.capacity import apply_capacity
from transport.placement.siting import SitingOptions, out_of_county, site_places
from transport.scenario import CapacityChange, load_scenario
from transport.travel import CrowFlyModel

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} / {five:.2f}"


def placement_row(data: Dataset, policy: str, params: Parameters, travel: CrowFlyModel) -> dict:
    result = place_pupils(data, policy=policy, travel=travel, params=params)
    s = summarise_placement(data, result, params)
    schools = data.school_by_id
    away = sum(1 for p in result.placements if out_of_county(data, schools[p.school_id]))
    return {
        "transport": s["estimated_annual_transport_cost"],
        "place": s["annual_place_cost"],
        "total": s["estimated_annual_transport_cost"] + s["annual_place_cost"],
        "out": away,
        "unplaced": s["unplaced"],
    }


def part_site(data: Dataset, candidates_file: Path, limit: float) -> None:
    candidates = read_candidates(candidates_file, data)
    print(f"\n== site: {len(candidates.sites)} new sites, {len(candidates.expansions)} expansions")
    for label, opts in (
        ("no limit", SitingOptions(time_limit_s=limit)),
        ("max 3 sites", SitingOptions(time_limit_s=limit, max_sites=3)),
        ("budget £40m", SitingOptions(time_limit_s=limit, budget=40e6)),
        ("275 places", SitingOptions(time_limit_s=limit, places=275)),
    ):
        t = time.perf_counter()
        r = site_places(data, candidates, options=opts)
        wall = time.perf_counter() - t
        opened = ", ".join(f"{row.site_id}+{row.places}" for row in r.rows)
        payback = "never" if r.payback_years is None else f"{r.payback_years:.1f} y"
        print(
            f"{label:12} {wall:6.1f} s ({load()}) {r.info.status}, gap {r.info.gap:.4%}, "
            f"Benders {r.extra.get('benders', {})}\n"
            f"   before £{r.before.total:,.0f} ({r.before.out_of_county} out of county) → after "
            f"£{r.after.total:,.0f} ({r.after.out_of_county}); build £{r.build_cost:,.0f} "
            f"(£{r.annual_build_cost:,.0f} a year); net saving £{r.net_annual_saving:,.0f} a "
            f"year; payback {payback}\n   opened: {opened}"
        )


def part_mip(data: Dataset, candidates_file: Path, limit: float, solvers: list[str]) -> None:
    candidates = read_candidates(candidates_file, data)
    print(f"\n== the same model as one MIP (time limit {limit:g} s)")
    for solver in solvers:
        t = time.perf_counter()
        try:
            r = site_places(
                data, candidates, options=SitingOptions(solver=solver, time_limit_s=limit)
            )
        except Exception as exc:  # noqa: BLE001 - report any solver failure and go on
            print(f"{solver:8} {time.perf_counter() - t:6.1f} s ({load()}) failed: {exc}")
            continue
        print(
            f"{solver:8} {time.perf_counter() - t:6.1f} s ({load()}) {r.info.status}: "
            f"objective £{r.info.objective:,.2f}, bound £{r.info.bound:,.2f}, "
            f"gap {r.info.gap:.4%}, {r.info.variables} variables, {r.info.constraints} rows"
        )


def part_greedy(data: Dataset) -> None:
    params = Parameters()
    travel = CrowFlyModel(params.travel)
    print("\n== 275 ASD/SEMH places: greedy (batch 25) against exact")
    base = {p: placement_row(data, p, params, travel) for p in ("nearest-with-capacity", "optimal")}
    variants = {
        "greedy": CapacityChange(add=275, needs=("ASD", "SEMH"), where="best", method="greedy"),
        "exact": CapacityChange(add=275, needs=("ASD", "SEMH"), where="best"),
        "exact, ≤30 & ≤×2": CapacityChange(
            add=275, needs=("ASD", "SEMH"), where="best", max_per_school=30, max_growth=1.0
        ),
    }
    for method, change in variants.items():
        for policy in ("nearest-with-capacity", "optimal"):
            t = time.perf_counter()
            cap = apply_capacity(data, [change], policy=policy, travel=travel, params=params)
            wall = time.perf_counter() - t
            row = placement_row(cap.data, policy, params, travel)
            b = base[policy]
            where = ", ".join(f"{r.school_id}+{r.places_added}" for r in cap.rows)
            print(
                f"{method:16} placed by {policy:22} {wall:6.1f} s ({load()}): "
                f"{cap.places_added} places; transport £{row['transport']:,.0f} "
                f"place £{row['place']:,.0f} total £{row['total']:,.0f} (saves "
                f"£{b['total'] - row['total']:,.0f}; transport −£"
                f"{b['transport'] - row['transport']:,.0f}); out of county {b['out']} → "
                f"{row['out']}\n      {where}"
            )


def part_strategy(data: Dataset) -> None:
    params = Parameters()
    travel = CrowFlyModel(params.travel)
    print("\n== strategy-places against the baseline (placement level)")
    runs = [(n, None) for n in ("baseline", "strategy-places", "optimal-placement")]
    runs.append(("strategy-places", "optimal"))
    for name, policy in runs:
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        if policy is not None:
            sc = replace(sc, placement=replace(sc.placement, policy=policy))
            name = f"{name}, {policy}"
        t = time.perf_counter()
        cap = apply_capacity(
            data,
            sc.capacity,
            policy=sc.placement.policy,
            scope=sc.placement.scope,
            travel=travel,
            params=params,
        )
        row = placement_row(cap.data, sc.placement.policy, params, travel)
        by_kind: dict[str, int] = {}
        for r in cap.rows:
            kind = data.school_by_id[r.school_id].kind
            by_kind[kind] = by_kind.get(kind, 0) + r.places_added
        asd_semh = sum(
            r.places_added
            for r in cap.rows
            if {"ASD", "SEMH"} & set(data.school_by_id[r.school_id].needs)
        )
        print(
            f"{name:26} {time.perf_counter() - t:5.1f} s ({load()}): places added "
            f"{cap.places_added} {by_kind} (at ASD/SEMH schools {asd_semh}); transport "
            f"£{row['transport']:,.0f} place £{row['place']:,.0f} total £{row['total']:,.0f}; "
            f"out of county {row['out']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/kent")
    parser.add_argument("--candidates", default=None)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--parts", default="site,greedy,strategy")
    parser.add_argument("--mip-solvers", default="scip,cp-sat")
    args = parser.parse_args()
    data = read_dataset(args.data)
    candidates = Path(args.candidates or Path(args.data) / "candidates.csv")
    print(f"{len(data.pupils)} pupils, {len(data.schools)} schools; {load()}")
    parts = args.parts.split(",")
    if "site" in parts:
        part_site(data, candidates, args.time_limit)
    if "mip" in parts:
        part_mip(data, candidates, args.time_limit, args.mip_solvers.split(","))
    if "greedy" in parts:
        part_greedy(data)
    if "strategy" in parts:
        part_strategy(data)


if __name__ == "__main__":
    main()
