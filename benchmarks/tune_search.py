"""Benchmark: settings of the local search, measured on Kent's own schools.

Run::

    .venv/bin/python benchmarks/tune_search.py                        # histories 5,10,20,50,300
    .venv/bin/python benchmarks/tune_search.py --histories 10,300 --seeds 4 --scale 5
    .venv/bin/python benchmarks/tune_search.py --setting perturbations --values 3,5,10,15,25

The Kent plan's sub-problems (one per school) are taken from a solve of the embedded data; the
schools below (12-314 pupils) are then searched from scratch, each for the seconds a 120 s plan
gives it (``--scale`` multiplies them), with ``--seeds`` seeds, for each value of one setting
of PyVRP's iterated local search: the late-acceptance history
(``transport.routing._pyvrp.ACCEPT_HISTORY``, the default) or the most perturbations an
iteration (``MAX_PERTURB``). The table gives the mean searched cost (£ a year) of each school
and their total. Two searches run at once; the seconds are wall-clock, so the machine should
otherwise be idle.
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
    "119055": 25.0,
    "134971": 19.0,
    "147870": 13.0,
    "147833": 11.0,
    "119041": 9.5,
    "119044": 9.5,
    "134783": 8.5,
    "119040": 8.5,
    "119045": 6.0,
    "119050": 2.5,
    "RP003": 0.8,
}
SETTINGS = {"history": "ACCEPT_HISTORY", "perturbations": "MAX_PERTURB"}


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
    sub, seconds, seed, setting, value = args
    import transport.routing._pyvrp as backend
    from transport.routing._solve import _served_cost, solve_subproblem

    setattr(backend, SETTINGS[setting], value)
    sol = solve_subproblem(sub, "pyvrp", seconds=seconds, seed=seed)
    return sub.school_id, value, seed, -_served_cost(sub, sol.drafts)[1] / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/kent"))
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="history")
    parser.add_argument("--values", "--histories", default="5,10,20,50,300")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--scale", type=float, default=1.0, help="× each school's seconds")
    args = parser.parse_args()
    subs = sub_problems(args.data)
    values = [int(v) for v in args.values.split(",")]
    jobs = [
        (subs[sid], secs * args.scale, seed, args.setting, v)
        for v in values
        for sid, secs in SCHOOLS.items()
        for seed in range(args.seeds)
    ]
    costs: dict[tuple[int, str], list[float]] = {}
    with ProcessPoolExecutor(2) as pool:
        for sid, v, _, cost in pool.map(trial, jobs):
            costs.setdefault((v, sid), []).append(cost)
    head = f"{args.setting:>13} " + " ".join(f"{s:>9}" for s in SCHOOLS)
    print(head + f" {'total £':>11}")
    for v in values:
        means = [statistics.mean(costs[v, s]) for s in SCHOOLS]
        print(f"{v:>13} " + " ".join(f"{m:>9,.0f}" for m in means) + f" {sum(means):>11,.0f}")


if __name__ == "__main__":
    main()
