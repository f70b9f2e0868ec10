"""Benchmark: how the routing uses the time it is given, and what more time buys.

Run::

    .venv/bin/python benchmarks/time_use.py                           # Kent + a 2,500-pupil county
    .venv/bin/python benchmarks/time_use.py --limits 60,120 --instances kent

For each instance (the embedded Kent data, placement ``keep``; a generated 2,500-pupil county,
``build_kent_dataset(seed=7, pupils=2500)``) and each time limit, the plan is solved in time
mode (``--time-limit T``) and then in the deterministic work mode with the work the time-mode
plan did (``--work-limit W``, W rounded to a whole unit): the table gives each plan's cost, the
routing's wall time against the limit (target: at least 90 % of it when schools still have
searching to do, never more than 5 % past it), the work done, the schools converged, and the
load average when the plan started. The last lines compare each instance's plans with its
longest-limit plan (target for Kent: the 120 s plan within 1 % of the 600 s plan).

Timings are only meaningful on an otherwise idle 2-core machine; the work-mode costs are the
same on any machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transport.jobs import solve_job  # noqa: E402
from transport.routing import RoutingOptions  # noqa: E402
from transport.scenario import Scenario  # noqa: E402


def county(folder: Path, pupils: int, seed: int) -> Path:
    from transport.datagen.kent import build_kent_dataset, write_kent_dataset

    if not (folder / "pupils.csv").exists():
        write_kent_dataset(build_kent_dataset(seed=seed, pupils=pupils), folder)
    return folder


def run(data: Path, out: Path, options: RoutingOptions) -> tuple[dict, float]:
    load = os.getloadavg()[0]
    summary = solve_job(data, out, scenario=Scenario(routing=options)).to_dict()
    return summary, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/kent")
    parser.add_argument("--instances", default="kent,county2500")
    parser.add_argument("--limits", default="60,120,300,600")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-work", action="store_true", help="time mode only")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="time-use-"))
    limits = [float(x) for x in args.limits.split(",")]
    print(
        f"{'instance':>10} {'limit s':>7} {'mode':>5} {'annual £':>12} {'routes':>6} "
        f"{'wall s':>7} {'used':>5} {'work':>8} {'conv':>5} {'cut':>4}  load",
        flush=True,
    )
    costs: dict[tuple[str, float, str], float] = {}
    for name in args.instances.split(","):
        data = Path(args.data) if name == "kent" else county(root / name, 2500, 7)
        for limit in limits:
            out = root / f"{name}-{limit:g}-time"
            s, load = run(data, out, RoutingOptions(time_limit_s=limit, seed=args.seed))
            r = s["routing"]
            costs[name, limit, "time"] = s["annual_transport_cost"]
            print(
                f"{name:>10} {limit:>7g} {'time':>5} {s['annual_transport_cost']:>12,.0f} "
                f"{s['routes']:>6} {r['wall_s']:>7.1f} {r['wall_s'] / limit:>5.0%} "
                f"{r['work_done']:>8.0f} {r['schools_converged']:>5} "
                f"{len(r['schools_stopped_by_clock']):>4}  {load:.2f}",
                flush=True,
            )
            if args.no_work:
                continue
            work = max(1.0, round(r["work_done"]))
            out = root / f"{name}-{limit:g}-work"
            options = RoutingOptions(work_limit=work, seed=args.seed)
            s, load = run(data, out, options)
            r = s["routing"]
            costs[name, limit, "work"] = s["annual_transport_cost"]
            print(
                f"{name:>10} {limit:>7g} {'work':>5} {s['annual_transport_cost']:>12,.0f} "
                f"{s['routes']:>6} {r['wall_s']:>7.1f} {'':>5} {r['work_done']:>8.0f} "
                f"{r['schools_converged']:>5} {'':>4}  {load:.2f}",
                flush=True,
            )
    longest = max(limits)
    for (name, limit, mode), cost in sorted(costs.items()):
        ref = costs.get((name, longest, mode))
        if ref and limit != longest:
            gap = cost / ref - 1
            print(
                f"{name} {mode} mode: the {limit:g} s plan is {gap:+.2%} on the {longest:g} s one"
            )
    print(f"(runs in {root}; {time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
