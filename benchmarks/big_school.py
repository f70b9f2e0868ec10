"""Benchmark: one big school (1,200 pupils, 550 pickup visits), search variants at equal work.

Run::

    .venv/bin/python benchmarks/big_school.py                 # 300 units of work each
    .venv/bin/python benchmarks/big_school.py --work 100 --time-limit 120

The instance (``_instances.make_big_school``: 1,200 pupils, a fifth picked up at home and the
others at 350 collection points; crow-fly travel, the fixture's vehicle types) is searched with
the same work (units of a million local-search moves, so the comparison does not depend on the
machine or its load) by:

``one search, 20 neighbours``   one PyVRP search as the engine ran it before (school-sized
                                granular neighbourhoods)
``one search, 40 neighbours``   the neighbourhood the engine now gives problems of 150+ visits
``engine (work mode)``          ``plan_routes`` with ``--work-limit``: 40 neighbours, the search
                                restarted from its best plan with a new seed every sixth of the
                                work

and, with ``--time-limit``, the engine in time mode on both cores (a second search of the
school on the other core, both restarting from the common best), against one search on one
core for the same time. Costs are the contract's annual cost of the routes (£).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _instances import make_big_school  # noqa: E402

import transport.routing._pyvrp as pyvrp_backend  # noqa: E402
from transport.model import Parameters  # noqa: E402
from transport.routing import RoutingOptions, plan_routes  # noqa: E402
from transport.routing._local import CapLedger, repair  # noqa: E402
from transport.routing._pipeline import _group, _subproblem  # noqa: E402
from transport.routing._problem import draft_cost  # noqa: E402
from transport.routing._solve import WORK_UNIT_MOVES  # noqa: E402
from transport.travel import CrowFlyModel  # noqa: E402


def one_search(sub, *, moves=None, seconds=None, neighbours=None) -> tuple[float, int]:
    """One PyVRP search of the school, repaired and priced (£, routes)."""
    saved = pyvrp_backend.LARGE_NEIGHBOURS_FROM, pyvrp_backend.NEIGHBOURS
    if neighbours is not None:
        pyvrp_backend.NEIGHBOURS, pyvrp_backend.LARGE_NEIGHBOURS_FROM = neighbours, 10**9
    try:
        sol = pyvrp_backend.solve_pyvrp(sub, moves=moves, time_limit_s=seconds)
    finally:
        pyvrp_backend.LARGE_NEIGHBOURS_FROM, pyvrp_backend.NEIGHBOURS = saved
    drafts, left = repair(sub, list(sol.drafts), CapLedger({}))
    assert not left
    return sum(draft_cost(sub, d) for d in drafts) / 100.0, len(drafts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=float, default=300.0, help="units of work per variant")
    parser.add_argument("--time-limit", type=float, default=0.0, help="also time mode (s)")
    parser.add_argument("--pupils", type=int, default=1200)
    parser.add_argument("--stops", type=int, default=350)
    args = parser.parse_args()
    data, placements = make_big_school(args.pupils, args.stops)
    by_school, _ = _group(data, placements, CrowFlyModel())
    (st,) = by_school.values()
    sub = _subproblem(
        st, list(st.pupils), data, Parameters(), CapLedger({}), seed=0, strict_limits=False
    )
    print(
        f"one school: {sub.pupils:,} pupils, {sub.n:,} pickup visits; load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    moves = int(args.work * WORK_UNIT_MOVES)
    rows = []
    for label, neighbours in (("one search, 20 neighbours", 20), ("one search, 40 neighbours", 40)):
        start = time.perf_counter()
        cost, routes = one_search(sub, moves=moves, neighbours=neighbours)
        rows.append((label, f"{args.work:g} units", cost, routes, time.perf_counter() - start))
        print(rows[-1], flush=True)
    start = time.perf_counter()
    plan = plan_routes(data, placements, options=RoutingOptions(work_limit=args.work))
    rows.append(
        (
            "engine (work mode)",
            f"{args.work:g} units",
            plan.annual_transport_cost,
            len(plan.routes),
            time.perf_counter() - start,
        )
    )
    print(rows[-1], flush=True)
    if args.time_limit > 0:
        start = time.perf_counter()
        cost, routes = one_search(sub, seconds=args.time_limit)
        rows.append(
            (
                "one search, one core",
                f"{args.time_limit:g} s",
                cost,
                routes,
                time.perf_counter() - start,
            )
        )
        start = time.perf_counter()
        plan = plan_routes(data, placements, options=RoutingOptions(time_limit_s=args.time_limit))
        rows.append(
            (
                "engine (time mode, 2 cores)",
                f"{args.time_limit:g} s",
                plan.annual_transport_cost,
                len(plan.routes),
                time.perf_counter() - start,
            )
        )
    print("\n| search | effort | annual £ | routes | wall s |\n|---|---|---:|---:|---:|")
    for label, effort, cost, routes, wall in rows:
        print(f"| {label} | {effort} | {cost:,.0f} | {routes} | {wall:.0f} |")


if __name__ == "__main__":
    main()
