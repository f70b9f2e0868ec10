"""Benchmark: place every Kent pupil under each policy; time, memory and per-policy totals.

Run:  .venv/bin/python benchmarks/placement_kent.py [--data data/kent] [--repeat 3]

Prints one row per policy: wall seconds (best of --repeat), pupils placed/unplaced, total road
miles home → school, pupils over 20 miles, pupils in independent / out-of-county places,
places missing (nearest-suitable), annual place cost, estimated annual transport cost; and the
process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time

from transport.data.validate import read_dataset
from transport.model import Parameters
from transport.placement import POLICIES, place_pupils, summarise_placement
from transport.travel import CrowFlyModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/kent")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = read_dataset(args.data)
    load_s = time.perf_counter() - t0
    print(
        f"data: {args.data}: {len(data.pupils)} pupils, {len(data.schools)} schools "
        f"(load + validate {load_s:.2f} s)"
    )
    params = Parameters()
    travel = CrowFlyModel(params.travel)
    header = (
        f"{'policy':24} {'wall s':>7} {'placed':>7} {'unpl.':>6} {'road miles':>11} "
        f"{'>20 mi':>7} {'indep.':>7} {'missing':>8} {'place £':>13} {'est. transport £':>17}"
    )
    print(header)
    print("-" * len(header))
    for policy in POLICIES:
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = place_pupils(data, policy=policy, travel=travel, params=params)
            best = min(best, time.perf_counter() - t)
        s = summarise_placement(data, result, params)
        print(
            f"{policy:24} {best:7.2f} {s['placed']:7d} {s['unplaced']:6d} "
            f"{s['total_road_miles']:11,.0f} {s['pupils_over_20_miles']:7d} "
            f"{s['pupils_in_independent_places']:7d} {s['places_missing']:8d} "
            f"{s['annual_place_cost']:13,.0f} {s['estimated_annual_transport_cost']:17,.0f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
