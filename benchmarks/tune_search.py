"""Benchmark: the local search's late-acceptance history, measured on Kent's own schools.

Run::

    .venv/bin/python benchmarks/tune_search.py                        # histories 5,10,20,50,300
    .venv/bin/python benchmarks/tune_search.py --histories 10,300 --seeds 4 --scale 5

The Kent plan's sub-problems (one per school) are taken from a solve of the embedded data; seven
schools of 20-187 visits are then searched from scratch, each for the seconds a 120 s plan
gives it (``--scale`` multiplies them), with ``--seeds`` seeds, for each late-acceptance history
length of PyVRP's iterated local search (``transport.routing._pyvrp.ACCEPT_HISTORY``). The table
gives the mean searched cost (£ a year) of each school and their total. Two searches run at
once; the seconds are wall-clock, so the machine should otherwise be idle.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# school → seconds of search a 120 s Kent plan gives it (measured: summary.json's
# routing.search_s_by_school)
SCHOOLS = {
    "119040": 8.0,
    "134783": 8.0,
    "147870": 12.0,
    "119044": 9.0,
    "119050": 2.5,
    "RP003": 0.8,
    "147833": 10.0,
}


def sub_problems(data: Path) -> dict:
    """Every school's sub-problem of a (short, deterministic) Kent plan."""
    import transport.routing._pipeline as pipeline
    from transport.jobs import solve_job
    from transport.routing import RoutingOptions
    from transport.scenario import Scenario

    seen: list = []
    run_searches = pipeline.run_searches

    def capture(subs, **kwargs):  # type: ignore[no-untyped-def]
        seen.extend(subs)
        return run_searches(subs, **kwargs)

    pipeline.run_searches = capture
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scenario = Scenario(routing=RoutingOptions(work_limit=20, seed=0))
            solve_job(data, Path(tmp) / "run", scenario=scenario)
    finally:
        pipeline.run_searches = run_searches
    return {s.school_id: s for s in seen}


def trial(args: tuple) -> tuple[str, int, int, float]:
    sub, seconds, seed, history = args
    import transport.routing._pyvrp as backend
    from transport.routing._solve import _served_cost, solve_subproblem

    backend.ACCEPT_HISTORY = history
    sol = solve_subproblem(sub, "pyvrp", seconds=seconds, seed=seed)
    return sub.school_id, history, seed, -_served_cost(sub, sol.drafts)[1] / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/kent"))
    parser.add_argument("--histories", default="5,10,20,50,300")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--scale", type=float, default=1.0, help="× each school's seconds")
    args = parser.parse_args()
    subs = sub_problems(args.data)
    histories = [int(h) for h in args.histories.split(",")]
    jobs = [
        (subs[sid], secs * args.scale, seed, h)
        for h in histories
        for sid, secs in SCHOOLS.items()
        for seed in range(args.seeds)
    ]
    costs: dict[tuple[int, str], list[float]] = {}
    with ProcessPoolExecutor(2) as pool:
        for sid, h, _, cost in pool.map(trial, jobs):
            costs.setdefault((h, sid), []).append(cost)
    print(f"{'history':>7} " + " ".join(f"{s:>9}" for s in SCHOOLS) + f" {'total £':>10}")
    for h in histories:
        means = [statistics.mean(costs[h, s]) for s in SCHOOLS]
        print(f"{h:>7} " + " ".join(f"{m:>9,.0f}" for m in means) + f" {sum(means):>10,.0f}")


if __name__ == "__main__":
    main()
