"""Benchmark: our routing backends against each other and against VROOM, school by school.

Run::

    .venv/bin/python benchmarks/routing_vs_peers.py                      # Kent + generated
    .venv/bin/python benchmarks/routing_vs_peers.py --no-kent --sizes 30,80,150
    .venv/bin/python benchmarks/routing_vs_peers.py --sizes "" --top 10   # 10 largest Kent
    .venv/bin/python benchmarks/routing_vs_peers.py --calibrate          # iteration rates

Every solver gets the same per-school sub-problems (the reversed problem of
``transport.routing``: start at the school, ride limits as time windows ``[0, limit]``, the
pickup dwell as service time, free return) and the same wall time per school. Each school's
budget is what a plan of ``--plan-limit`` seconds gives it (default 120 s, the default limit;
``--plan-limit 0``: ``--seconds-per-pupil`` × pupils, at least ``--min-seconds``). ``auto``
runs first, exactly as ``plan_routes`` runs it (a work limit from the budget); then every peer
gets, school by school, the wall time ``auto`` actually took (``--equal auto-wall``, the
default; at least 0.05 s) or the budget itself (``--equal budget``):

``auto``     our default, exactly as ``plan_routes`` runs it (work limits from the budget)
``ortools``  our OR-Tools backend, stopped on time
``pyvrp``    our PyVRP backend, stopped on time
``vroom``    VROOM (pyvroom) with the same model: vehicles start at the school with no end,
             PA by skills, seats and wheelchair spaces as two capacities, exploration level 5

Run it on an otherwise idle machine: on a busy one every solver's wall time buys less work,
and ``auto`` may be stopped by its wall-clock safety net (the count is printed).

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
from transport.routing import route_cost  # noqa: E402
from transport.routing._local import CapLedger, repair  # noqa: E402
from transport.routing._pipeline import PHASE1_SHARE, _group, _seconds, _subproblem  # noqa: E402
from transport.routing._plan import SchoolTravel, rides_and_miles  # noqa: E402
from transport.routing._problem import Draft, SubProblem  # noqa: E402
from transport.routing._solve import share_budget, solve_subproblem  # noqa: E402
from transport.travel import CrowFlyModel  # noqa: E402

SOLVERS = ("auto", "ortools", "pyvrp", "vroom")
PEER_MIN_S = 0.05  # a peer's least time (``auto`` solves schools of up to 8 pupils in ms)
BANDS = ((0, 8), (9, 20), (21, 50), (51, 100), (101, 200), (201, 10_000))


def school_problems(data, placements, seed: int = 0) -> list[tuple[SchoolTravel, SubProblem]]:
    """Each school's sub-problem (solo pupils left out, as the planner does)."""
    params, travel = Parameters(), CrowFlyModel()
    by_school, _ = _group(data, placements, travel)
    out = []
    for st in by_school.values():
        regular = [p for p in st.pupils if not p.solo]
        if len(regular) >= 2:
            out.append((st, _subproblem(st, regular, data, params, travel, CapLedger({}), seed)))
    return out


def solve_vroom(sub: SubProblem, seconds: float) -> list[Draft]:
    """VROOM on the reversed problem; returns drafts in pickup order."""
    import vroom

    n = sub.n
    problem = vroom.Input()
    problem.set_durations_matrix("car", sub.time_s.T.astype(np.uint32))
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
        w = int(sub.wheelchair[i])
        problem.add_job(
            vroom.Job(
                i,
                location=i + 1,
                default_service=sub.dwell_s,
                delivery=vroom.Amount([1 - w, w]),
                skills={1} if sub.needs_pa[i] else set(),
                time_windows=[vroom.TimeWindow(0, int(sub.limit_s[i]))],
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
        sol = solve_subproblem(sub.with_caps({}, seconds), "auto")
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
        pupils = [sub.pupil_ids[i] for i in d.seq]
        _, miles = rides_and_miles(st, pupils, params.travel.dwell_min)
        has_pa = bool(sub.needs_pa[list(d.seq)].any())
        total += route_cost(data.vehicles[v.type_index], round(miles, 2), has_pa, params)
    return total


def budgets(problems: list[SubProblem], args) -> dict[str, float]:
    """Seconds per school: its budget in a plan of ``--plan-limit`` s, or per pupil."""
    if args.plan_limit > 0:
        subs = {s.school_id: s for s in problems}
        share = _seconds(args.plan_limit * PHASE1_SHARE, subs, args.workers)
        plan = share_budget(problems, share, args.workers)
    else:
        plan = {}
    return {
        s.school_id: plan.get(s.school_id, max(args.min_seconds, args.seconds_per_pupil * s.n))
        for s in problems
    }


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


def calibrate(args) -> None:
    """Iterations per second of each backend by size (for the tables in _solve.py)."""
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
    args = parser.parse_args()
    args.solvers = args.solvers.split(",")
    if args.calibrate:
        calibrate(args)
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


if __name__ == "__main__":
    main()
