"""Benchmark: the whole nightly solve of the Kent data; wall time, memory, cost and the plan.

Run::

    .venv/bin/python benchmarks/solve_kent.py                        # default limit (120 s)
    .venv/bin/python benchmarks/solve_kent.py --reference-factor 5   # + every backend at 5×

Solves ``--data`` (placement ``keep``) with the default options through ``solve_job`` (so the
run folder is the one users get), checks the run with the independent checker
(``tests/checker.py``) and prints: wall seconds, peak memory of this process and of its worker
processes (``ru_maxrss``), annual transport cost, routes, vehicles by type, PAs, ride times.

With ``--reference-factor F`` each backend (``auto``, ``pyvrp``, ``ortools``) is also run at
F × the time limit, and the default plan's cost is compared with the best of them (target:
within 2 %).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.checker import check_run  # noqa: E402
from transport.jobs import solve_job  # noqa: E402
from transport.routing import RoutingOptions  # noqa: E402
from transport.scenario import Scenario  # noqa: E402


def peak_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of this process and of its largest finished child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def run(data: str, out: Path, options: RoutingOptions) -> tuple[dict, float]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n[{time.strftime('%H:%M:%S')}] {options.backend} at {options.time_limit_s:g} s; "
        f"load average {load}",
        flush=True,
    )
    start = time.perf_counter()
    summary = solve_job(data, out, scenario=Scenario(routing=options)).to_dict()
    return summary, time.perf_counter() - start


def report(label: str, summary: dict, wall: float) -> None:
    t = summary["transport"]
    print(f"\n== {label}")
    budget = summary["parameters"]["routing"]["time_limit_s"]
    print(f"wall time            {wall:8.1f} s (time limit {budget:.0f} s)")
    print(f"annual transport     £{summary['annual_transport_cost']:,.0f}")
    print(
        f"routes               {summary['routes']:,} "
        f"({t['mean_pupils_per_route']:.2f} pupils a route, {t['solo_routes']} solo)"
    )
    print("vehicles by type     " + ", ".join(f"{k} {v}" for k, v in t["vehicles_by_type"].items()))
    print(f"passenger assistants {t['passenger_assistants']:,}")
    print(
        f"ride (min)           mean {t['mean_ride_min']:.1f}, max {t['max_ride_min']:.1f}; "
        f"over 45: {t['pupils_over_45_min']}, over 75: {t['pupils_over_75_min']}"
    )
    print(f"cost per pupil       £{t['cost_per_pupil']:,.0f}; unrouted {len(summary['unrouted'])}")
    print(
        "school status        "
        + ", ".join(f"{k} {v}" for k, v in t["school_status_counts"].items())
    )
    stopped = summary["routing"].get("schools_stopped_by_clock", [])
    print(
        f"stopped by the clock {len(stopped)} schools (0: the plan is the work limits' own, "
        "the same for the same seed and limit)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/kent")
    parser.add_argument("--time-limit", type=float, default=RoutingOptions().time_limit_s)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-factor", type=float, default=0.0)
    parser.add_argument("--backends", default="auto,pyvrp,ortools")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        summary, wall = run(
            args.data, out, RoutingOptions(time_limit_s=args.time_limit, seed=args.seed)
        )
        report(f"default (auto, {args.time_limit:.0f} s)", summary, wall)
        own, kids = peak_mb()
        print(f"peak memory          {own:,.0f} MB main process, {kids:,.0f} MB largest worker")
        problems = check_run(out, args.data)
        print(
            f"checker              {len(problems)} violations"
            + (f": {problems[:3]}" if problems else "")
        )
        if args.reference_factor <= 0:
            return
        best = None
        limit = args.time_limit * args.reference_factor
        for backend in args.backends.split(","):
            ref, ref_wall = run(
                args.data,
                Path(tmp) / backend,
                RoutingOptions(time_limit_s=limit, seed=args.seed, backend=backend),
            )
            report(f"{backend} at {args.reference_factor:g}× ({limit:.0f} s)", ref, ref_wall)
            cost = ref["annual_transport_cost"]
            if best is None or cost < best[0]:
                best = (cost, backend)
        gap = summary["annual_transport_cost"] / best[0] - 1
        print(
            f"\ndefault plan is {gap:+.2%} against the best at {args.reference_factor:g}× "
            f"({best[1]}, £{best[0]:,.0f}); target within 2 %"
        )


if __name__ == "__main__":
    main()
