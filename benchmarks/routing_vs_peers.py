"""Benchmark: our routing against PyVRP alone (whole plans), and backends school by school.

Run::

    .venv/bin/python benchmarks/routing_vs_peers.py --plan      # whole plans, Kent + a county
    .venv/bin/python benchmarks/routing_vs_peers.py             # per school, Kent + generated
    .venv/bin/python benchmarks/routing_vs_peers.py --no-kent --sizes 30,80,150
    .venv/bin/python benchmarks/routing_vs_peers.py --calibrate # moves per second

``--plan`` compares whole plans at equal wall time: the shipped default (``plan_routes`` with
default options and ``--plan-limit`` seconds: shared stops, time shared among schools as they
need it, mixed-school routes when they are the default) against **PyVRP alone, run school by
school**: each school's pupils as PyVRP clients (one per pupil, as PyVRP would be used without
the engine), each school given its share of the same wall time on the same cores (in
proportion to pupils^1.3, the largest first), stopped on time. Solo pupils get their own
vehicle in both. Both plans are priced by the contract's formula; the ratio ours / PyVRP below
1 means the engine is cheaper. Instances: the Kent data (``--data``) and generated counties
(``--counties``, ``build_kent_dataset`` with those pupil counts).

Without ``--plan``, every solver gets the same per-school sub-problems (the reversed problem
of ``transport.routing``: start at the school, ride limits as time windows ``[0, limit]``, a
visit's dwell as service time, free return) and the same wall time per school: its share of a
plan of ``--plan-limit`` seconds (``--plan-limit 0``: ``--seconds-per-pupil`` × pupils, at
least ``--min-seconds``). ``auto`` runs first, as one slice of ``plan_routes``' time mode
would; then every peer gets, school by school, the wall time ``auto`` actually took
(``--equal auto-wall``, the default; at least 0.05 s) or the budget itself (``--equal budget``):

``auto``     our default search, stopped on its budget (or earlier, when converged)
``ortools``  our OR-Tools backend, stopped on time
``pyvrp``    our PyVRP backend, stopped on time
``vroom``    VROOM (pyvroom) with the same model: vehicles start at the school with no end,
             PA by skills, seats and wheelchair spaces as two capacities, exploration level 5

Run it on an otherwise idle machine: on a busy one every solver's wall time buys less work.

Every plan then goes through the same repair (incompatible pairs, which PyVRP and VROOM cannot
express, and unassigned pupils) and is priced with ``route_cost`` on the travel model's float
miles, so ratios compare like with like. Prints one row per school and totals per size band;
a ratio below 1 means ours is cheaper.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _instances import make_instance  # noqa: E402

from transport.model import Parameters  # noqa: E402
from transport.routing import RoutingOptions, plan_routes, route_cost  # noqa: E402
from transport.routing._local import CapLedger, repair  # noqa: E402
from transport.routing._pipeline import _group, _solo_route, _subproblem  # noqa: E402
from transport.routing._plan import SchoolTravel, rides_and_miles  # noqa: E402
from transport.routing._problem import Draft, SubProblem  # noqa: E402
from transport.routing._solve import solve_subproblem, weight  # noqa: E402
from transport.travel import CrowFlyModel  # noqa: E402

SOLVERS = ("auto", "ortools", "pyvrp", "vroom")
PEER_MIN_S = 0.05  # a peer's least time (``auto`` solves schools of up to 8 pupils in ms)
BANDS = ((0, 8), (9, 20), (21, 50), (51, 100), (101, 200), (201, 10_000))


def school_problems(
    data, placements, seed: int = 0, *, stops: bool = True
) -> list[tuple[SchoolTravel, SubProblem]]:
    """Each school's sub-problem (solo pupils left out, as the planner does); ``stops=False``
    makes every pupil a client of their own (as PyVRP alone would see them)."""
    from dataclasses import replace

    params, travel = Parameters(), CrowFlyModel()
    if not stops:
        data = replace(data, pupils=tuple(replace(p, stop_id=None) for p in data.pupils))
    by_school, _ = _group(data, placements, travel)
    out = []
    for st in by_school.values():
        regular = [p for p in st.pupils if not p.solo]
        if len(regular) >= 2:
            sub = _subproblem(
                st, regular, data, params, CapLedger({}), seed=seed, strict_limits=False
            )
            out.append((st, sub))
    return out


def solve_vroom(sub: SubProblem, seconds: float) -> list[Draft]:
    """VROOM on the reversed problem; returns drafts in pickup order."""
    import vroom

    n = sub.n
    problem = vroom.Input()
    problem.set_durations_matrix("car", sub.time_t.T.astype(np.uint32))
    problem.set_distances_matrix("car", sub.dist_cm.T.astype(np.uint32))
    owner = {}
    vid = 0
    for k, v in enumerate(sub.variants):
        for _ in range(v.copies):
            problem.add_vehicle(
                vroom.Vehicle(
                    vid,
                    start=0,
                    capacity=[v.seats, v.wheelchairs],
                    skills={1} if v.has_pa else set(),
                    costs=vroom.VehicleCosts(
                        fixed=v.fixed_pence, per_hour=0, per_km=v.pence_per_cm * 1000
                    ),
                )
            )
            owner[vid] = k
            vid += 1
    for i in range(n):
        problem.add_job(
            vroom.Job(
                i,
                location=i + 1,
                default_service=int(sub.dwell_t[i]),
                delivery=vroom.Amount([int(sub.seats[i]), int(sub.wheels[i])]),
                skills={1} if sub.needs_pa[i] else set(),
                time_windows=[vroom.TimeWindow(0, int(sub.limit_t[i]))],
            )
        )
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=seconds))
    routes = sol.routes
    jobs = routes[routes["type"] == "job"]
    drafts = []
    for vehicle, frame in jobs.groupby("vehicle_id", sort=True):
        rev = [int(x) for x in frame["id"]]
        drafts.append(Draft(owner[int(vehicle)], tuple(reversed(rev))))
    return drafts


def run_one(task: tuple[str, SubProblem, float]) -> tuple[str, str, list[Draft], float, bool]:
    """One solver on one school; returns its repaired drafts, wall seconds and whether
    ``auto`` was stopped by its wall clock rather than its work limit."""
    solver, sub, seconds = task
    start = time.perf_counter()
    clock = False
    if solver == "auto":
        sol = solve_subproblem(sub, "auto", seconds=seconds)
        drafts, clock = list(sol.drafts), sol.clock_stopped
    elif solver == "ortools":
        from transport.routing._ortools import solve_ortools

        drafts = list(solve_ortools(sub, solutions=None, time_limit_s=seconds).drafts)
    elif solver == "pyvrp":
        from transport.routing._pyvrp import solve_pyvrp

        drafts = list(solve_pyvrp(sub, moves=None, time_limit_s=seconds).drafts)
    else:
        drafts = solve_vroom(sub, seconds)
    wall = time.perf_counter() - start
    fixed, left = repair(sub, drafts, CapLedger({}))
    assert not left
    return solver, sub.school_id, fixed, wall, clock


def plan_cost(st: SchoolTravel, sub: SubProblem, drafts: list[Draft], data) -> float:
    """£ a year of a school's drafts, with the contract's route_cost on float miles."""
    params = Parameters()
    total = 0.0
    for d in drafts:
        v = sub.variants[d.variant]
        _, miles = rides_and_miles(st, sub.visit_pupils(d.seq), params.travel)
        has_pa = bool(sub.needs_pa[list(d.seq)].any())
        total += route_cost(data.vehicles[v.type_index], round(miles, 2), has_pa, params)
    return total


def budgets(problems: list[SubProblem], args) -> dict[str, float]:
    """Seconds per school: its budget in a plan of ``--plan-limit`` s, or per pupil."""
    plan = shares(problems, args.plan_limit, args.workers) if args.plan_limit > 0 else {}
    return {
        s.school_id: plan.get(s.school_id, max(args.min_seconds, args.seconds_per_pupil * s.n))
        for s in problems
    }


def shares(problems: list[SubProblem], seconds: float, workers: int) -> dict[str, float]:
    """Each school's share of ``seconds`` on ``workers`` cores, in proportion to its weight
    (pupils^1.3), less a second and a half for starting the worker processes."""
    weights = {s.school_id: weight(s) for s in problems}
    total = sum(weights.values())
    lanes = max(1, min(workers, len(problems)))
    usable = max(0.25 * seconds, seconds - 1.5) * lanes
    return {sid: max(PEER_MIN_S, usable * w / total) for sid, w in weights.items()}


def _import_solvers() -> None:
    """Worker start: import every solver, so no school's wall time includes an import."""
    import vroom  # noqa: F401

    import transport.routing._ortools  # noqa: F401
    import transport.routing._pyvrp  # noqa: F401


def solve_all(tasks: list[tuple[str, SubProblem, float]], workers: int) -> list[tuple]:
    tasks = sorted(tasks, key=lambda t: (-t[2], t[1].school_id, t[0]))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_import_solvers) as pool:
        return list(pool.map(run_one, tasks))


def compare(label, data, placements, args) -> dict[str, float]:
    everyone = school_problems(data, placements)
    seconds = budgets([sub for _, sub in everyone], args)
    problems = [(st, sub) for st, sub in everyone if args.min_pupils <= sub.n <= args.max_pupils]
    problems.sort(key=lambda x: (-x[1].n, x[1].school_id))
    if args.top:
        problems = problems[: args.top]
    peers = [s for s in args.solvers if s != "auto"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n[{time.strftime('%H:%M:%S')}] {label}: load average {load}", flush=True)
    results = solve_all(
        [("auto", sub, seconds[sub.school_id]) for _, sub in problems], args.workers
    )
    given = {sid: seconds[sid] for _, sid, *_ in results}
    if args.equal == "auto-wall":
        given = {sid: max(PEER_MIN_S, wall) for _, sid, _, wall, _ in results}
    results += solve_all(
        [(p, sub, given[sub.school_id]) for _, sub in problems for p in peers], args.workers
    )
    stopped = sum(1 for s, _, _, _, clock in results if s == "auto" and clock)
    cost = {
        (s, sid): plan_cost(st, sub, dr, data)
        for s, sid, dr, _, _ in results
        for st, sub in problems
        if sub.school_id == sid
    }
    walls = {(s, sid): w for s, sid, _, w, _ in results}
    how = (
        f"budgets of a {args.plan_limit:g} s plan"
        if args.plan_limit > 0
        else f"{args.seconds_per_pupil} s per pupil, at least {args.min_seconds} s"
    )
    print(
        f"== {label}: {len(problems)} schools, {sum(s.n for _, s in problems)} pupils "
        f"(solo pupils apart), {how}; peers given "
        + ("auto's wall time per school" if args.equal == "auto-wall" else "the budget")
        + f"; auto stopped by its clock at {stopped} schools"
    )
    head = (
        f"{'school':>8} {'n':>4} {'pairs':>5} {'auto £':>12} "
        + " ".join(f"{'auto/' + p:>14}" for p in peers)
        + f" {'budget s':>8}  wall s ("
        + " ".join(args.solvers)
        + ")"
    )
    print(head)
    for _, sub in problems:
        sid = sub.school_id
        row = f"{sid:>8} {sub.n:>4} {len(sub.incompatible):>5} {cost['auto', sid]:>12,.0f} "
        row += " ".join(f"{cost['auto', sid] / cost[p, sid]:>14.4f}" for p in peers)
        print(
            row
            + f" {seconds[sid]:>8.2f}  "
            + " ".join(f"{walls[s, sid]:.2f}" for s in args.solvers)
        )
    print(
        f"{'band':>10} {'schools':>8} {'pupils':>7} "
        + " ".join(f"{'auto/' + p:>14}" for p in peers)
    )
    totals = {}
    for lo, hi in (*BANDS, (0, 10_000)):
        sids = [s.school_id for _, s in problems if lo <= s.n <= hi]
        if not sids:
            continue
        n = sum(s.n for _, s in problems if lo <= s.n <= hi)
        auto = sum(cost["auto", sid] for sid in sids)
        ratios = [auto / sum(cost[p, sid] for sid in sids) for p in peers]
        name = "all" if (lo, hi) == (0, 10_000) else f"{lo}-{hi}"
        print(f"{name:>10} {len(sids):>8} {n:>7} " + " ".join(f"{r:>14.4f}" for r in ratios))
        if name == "all":
            totals = {p: auto / sum(cost[p, sid] for sid in sids) for p in peers}
            totals["auto_cost"] = auto
    used = {s: sum(w for (x, _), w in walls.items() if x == s) for s in args.solvers}
    print("wall seconds used: " + ", ".join(f"{s} {w:.0f}" for s, w in used.items()))
    return totals


def pyvrp_alone(task: tuple[SubProblem, float]) -> tuple[str, list[Draft], float]:
    """PyVRP alone on one school, stopped on time; its drafts repaired (incompatible pairs)."""
    from transport.routing._pyvrp import solve_pyvrp

    sub, seconds = task
    start = time.perf_counter()
    sol = solve_pyvrp(sub, moves=None, time_limit_s=seconds)
    fixed, left = repair(sub, list(sol.drafts), CapLedger({}))
    assert not left
    return sub.school_id, fixed, time.perf_counter() - start


def compare_plans(label: str, data, placements, args) -> dict[str, float]:
    """The shipped default plan against PyVRP alone school by school, at equal wall time."""
    params, travel = Parameters(), CrowFlyModel()
    limit = args.plan_limit
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n[{time.strftime('%H:%M:%S')}] {label}: {limit:g} s; load average {load}", flush=True)
    start = time.perf_counter()
    options = RoutingOptions(time_limit_s=limit, seed=args.seed, workers=args.workers)
    ours = plan_routes(data, placements, travel=travel, params=params, options=options)
    ours_wall = time.perf_counter() - start
    # PyVRP alone: one client per pupil, each school its share of the same wall time
    start = time.perf_counter()
    by_school, _ = _group(data, placements, travel)
    solo = 0.0
    for st in by_school.values():
        for p in st.pupils:
            if p.solo:
                spec = _solo_route(st, p, data, params, CapLedger({}))
                assert spec is not None
                _, miles = rides_and_miles(st, spec.visits, params.travel)
                solo += route_cost(spec.vehicle, round(miles, 2), spec.has_pa, params)
    problems = school_problems(data, placements, args.seed, stops=False)
    given = shares([sub for _, sub in problems], limit, args.workers)
    tasks = sorted(((sub, given[sub.school_id]) for _, sub in problems), key=lambda t: -t[1])
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_import_solvers) as pool:
        results = list(pool.map(pyvrp_alone, tasks))
    peer_wall = time.perf_counter() - start
    found = {sid: drafts for sid, drafts, _ in results}
    peer = solo + sum(plan_cost(st, sub, found[sub.school_id], data) for st, sub in problems)
    routes = sum(len(found[sub.school_id]) for _, sub in problems)
    pooled = ours.info.get("mixed_school") or {}
    print(
        f"ours      £{ours.annual_transport_cost:>12,.0f}  {len(ours.routes):>5} routes "
        f"({pooled.get('mixed_routes', 0)} mixed-school, saving "
        f"£{pooled.get('annual_saving', 0):,.0f}), {ours_wall:5.1f} s wall, "
        f"{ours.info['work_done']:.0f} units, {len(ours.unrouted)} unrouted"
    )
    print(
        f"PyVRP     £{peer:>12,.0f}  {routes + sum(1 for p in data.pupils if p.solo):>5} routes, "
        f"{peer_wall:5.1f} s wall"
    )
    ratio = ours.annual_transport_cost / peer
    print(f"ours / PyVRP alone = {ratio:.4f}", flush=True)
    return {
        "ours": ours.annual_transport_cost,
        "pyvrp": peer,
        "ratio": ratio,
        "single": ours.annual_transport_cost + pooled.get("annual_saving", 0.0),
    }


def calibrate(args) -> None:
    """Moves per second of each backend by size (the size of a unit of work)."""
    from transport.routing._ortools import solve_ortools
    from transport.routing._pyvrp import solve_pyvrp

    for n in (12, 25, 50, 100, 200, 300, 600):
        data, placements = make_instance([n], seed=n)
        ((_, sub),) = school_problems(data, placements)
        p = solve_pyvrp(sub, moves=None, time_limit_s=args.min_seconds)
        row = f"n={sub.n:4d} pyvrp {p.work / p.wall_s / 1e6:6.2f}M moves/s"
        if n <= 400:
            t = time.perf_counter()
            solve_ortools(sub, solutions=200, time_limit_s=120)
            row += f"   ortools {200 / (time.perf_counter() - t):6.1f} solutions/s"
        print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/kent")
    parser.add_argument("--no-kent", action="store_true")
    parser.add_argument("--sizes", default="10,20,40,80,160,300")
    parser.add_argument("--pairs", type=int, default=1, help="incompatible pairs per school")
    parser.add_argument(
        "--plan-limit",
        type=float,
        default=120.0,
        help="budget per school: its share of a plan of this limit (0: per pupil)",
    )
    parser.add_argument("--equal", choices=("auto-wall", "budget"), default="auto-wall")
    parser.add_argument("--top", type=int, default=0, help="only the largest N schools")
    parser.add_argument("--seconds-per-pupil", type=float, default=0.05)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min-pupils", type=int, default=0, help="skip smaller schools")
    parser.add_argument("--max-pupils", type=int, default=10_000, help="skip larger schools")
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--plan", action="store_true", help="whole plans against PyVRP alone")
    parser.add_argument("--counties", default="2500", help="--plan: generated county sizes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.solvers = args.solvers.split(",")
    if args.calibrate:
        calibrate(args)
        return
    if args.plan:
        plans(args)
        return
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
        data, placements = make_instance(sizes, seed=7, pairs=args.pairs)
        compare(f"generated ({args.sizes})", data, placements, args)
    if not args.no_kent and Path(args.data).exists():
        from transport.data.validate import read_dataset
        from transport.placement import place_pupils

        data = read_dataset(args.data)
        compare(f"Kent ({args.data}, policy keep)", data, place_pupils(data, policy="keep"), args)


def plans(args) -> None:
    """``--plan``: Kent and generated counties, whole plans against PyVRP alone."""
    import tempfile

    from transport.data.validate import read_dataset
    from transport.datagen.kent import build_kent_dataset, write_kent_dataset
    from transport.placement import place_pupils

    found = []
    if not args.no_kent and Path(args.data).exists():
        data = read_dataset(args.data)
        placed = place_pupils(data, policy="keep")
        found.append(("Kent", compare_plans(f"Kent ({args.data})", data, placed, args)))
    for n in (int(x) for x in args.counties.split(",") if x):
        with tempfile.TemporaryDirectory() as tmp:
            write_kent_dataset(build_kent_dataset(seed=7, pupils=n), Path(tmp))
            data = read_dataset(tmp)
        placed = place_pupils(data, policy="keep")
        label = f"generated county, {n:,} pupils"
        found.append((label, compare_plans(label, data, placed, args)))
    print(
        "\n| instance | ours £ | of which single-school routes would cost £ | PyVRP alone £ "
        "| ours / PyVRP |\n|---|---:|---:|---:|---:|"
    )
    for label, r in found:
        print(
            f"| {label} | {r['ours']:,.0f} | {r['single']:,.0f} | {r['pyvrp']:,.0f} "
            f"| {r['ratio']:.4f} |"
        )


if __name__ == "__main__":
    main()
