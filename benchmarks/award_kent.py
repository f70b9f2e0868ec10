"""Benchmark: the optimal award of every Kent lot to 40 operators with limited fleets.

Run (after a solve; without one, the benchmark solves Kent itself with ``solve_job``):

    .venv/bin/sen-transport solve --data data/kent --out /tmp/td-kent --quiet --time-limit 60
    .venv/bin/python benchmarks/award_kent.py --run /tmp/td-kent [--operators 40] [--seed 0]

It writes a tender of the run (lots by route, no PDF), then seeded bids: each operator has a
fleet (a few vehicle types, 2 to 25 of each) and a lot limit (none for a quarter of them, else
10 to 40), and a price level (0.85 to 1.15 × notional); each lot draws 2 to 7 bidders among
the operators that can run its vehicle, each bidding notional × its level × a lognormal factor
(sigma 0.15), rounded to the penny: some bids land over the 1.3 × notional ceiling and some
under the 0.7 abnormally-low line. Then it times ``award_job`` (reading, validating, the three
CP-SAT phases, writing) and reports lots awarded, the solver's proof, and the saving against
notional. Target: under 30 s on 2 cores for 800 lots and 40 operators. The machine's load
average is printed beside the timings (2 shared cores: timings move with other work).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from transport.tender.jobs import award_job, tender_job
from transport.tender.lots import read_lots

TYPES_PER_OPERATOR = (1, 4)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def ensure_run(data: Path, run: Path, time_limit: float) -> None:
    if (run / "routes.csv").exists():
        return
    from transport.jobs import solve_job
    from transport.routing import RoutingOptions

    print(f"no run at {run}: solving Kent ({time_limit:.0f} s) …")
    solve_job(data, run, options=RoutingOptions(time_limit_s=time_limit))


def write_bids(
    tender: Path, out: Path, *, operators: int, seed: int, lots_cap: int | None
) -> tuple[Path, Path, int]:
    """Seeded operators.csv and bids.csv for the tender's lots; returns paths and lot count."""
    rng = random.Random(seed)
    lots = read_lots(tender / "lots.csv")
    if lots_cap is not None:
        lots = lots[:lots_cap]
    types = sorted({t for lot in lots for t in lot.vehicle_types})
    fleet: dict[str, dict[str, int]] = {}
    limit: dict[str, int | None] = {}
    level: dict[str, float] = {}
    for k in range(1, operators + 1):
        op = f"OP{k:02d}"
        runs = rng.sample(types, rng.randint(*TYPES_PER_OPERATOR))
        fleet[op] = {t: rng.randint(2, 25) for t in runs}
        limit[op] = None if rng.random() < 0.25 else rng.randint(10, 40)
        level[op] = rng.uniform(0.85, 1.15)
    out.mkdir(parents=True, exist_ok=True)
    ops_path, bids_path = out / "operators.csv", out / "bids.csv"
    with open(ops_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["operator_id", "name", "phone", "max_lots", *types])
        for op in fleet:
            w.writerow(
                [
                    op,
                    f"Operator {op[2:]}",
                    f"01622 {rng.randint(100000, 999999)}",
                    "" if limit[op] is None else limit[op],
                    *(fleet[op].get(t, 0) for t in types),
                ]
            )
    n_bids = 0
    with open(bids_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["operator_id", "lot_id", "daily_price"])
        for lot in lots:
            need = lot.vehicles()
            able = [op for op in fleet if all(fleet[op].get(t, 0) >= n for t, n in need.items())]
            for op in rng.sample(able, min(len(able), rng.randint(2, 7))):
                factor = level[op] * math.exp(rng.gauss(0.0, 0.15))
                price = (lot.notional_daily * Decimal(repr(factor))).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_EVEN
                )
                w.writerow([op, lot.lot_id, f"{price:.2f}"])
                n_bids += 1
    print(f"bids: {n_bids:,} for {len(lots):,} lots from {operators} operators (seed {seed})")
    return bids_path, ops_path, len(lots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/kent"))
    parser.add_argument("--run", type=Path, default=Path("/tmp/td-kent"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/award-kent"))
    parser.add_argument("--operators", type=int, default=40)
    parser.add_argument("--lots", type=int, default=None, help="use only the first N lots")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--solve-time-limit", type=float, default=60.0)
    args = parser.parse_args()

    ensure_run(args.data, args.run, args.solve_time_limit)
    tender = args.work / "tender"
    start = time.perf_counter()
    summary = tender_job(args.run, args.data, tender, pdf=False)
    print(
        f"tender: {summary['lots']:,} lots (by route), notional £{summary['notional_daily']:,.2f}"
        f" a day, £{summary['notional_annual']:,.2f} a year; "
        f"{time.perf_counter() - start:.1f} s; {load()}"
    )
    if args.lots is not None:
        # a smaller tender: the first N lots only
        lots_csv = (tender / "lots.csv").read_text(encoding="utf-8").splitlines(True)
        (tender / "lots.csv").write_text("".join(lots_csv[: args.lots + 1]), encoding="utf-8")
    bids, ops, n_lots = write_bids(
        tender, args.work / "bids", operators=args.operators, seed=args.seed, lots_cap=args.lots
    )
    print(f"before the award: {load()}")
    start = time.perf_counter()
    result = award_job(
        tender,
        bids,
        args.work / "award",
        operators_file=ops,
        time_limit_s=args.time_limit,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    print(f"after the award: {load()}")
    solver = result["solver"]
    print(
        f"award of {n_lots:,} lots, {result['bids']:,} bids, {args.operators} operators: "
        f"{wall:.2f} s wall (target 30 s); {solver['variables']:,} variables"
    )
    for p in solver["phases"]:
        print(f"  {p['objective']}: {p['status']} in {p['wall_s']:.2f} s (value {p['value']:,})")
    print(f"  proven optimal: {solver['proven_optimal']}")
    print(
        f"lots awarded {result['lots_awarded']:,} of {result['lots']:,}; not awarded: "
        + ", ".join(f"{k} {v}" for k, v in result["unawarded_by_reason"].items())
    )
    print(
        f"bids over 1.3 × notional: {result['bids_over_max_ratio']:,}; abnormally low bids "
        f"{result['abnormally_low_bids']:,} (awarded {len(result['abnormally_low_awarded'])})"
    )
    print(
        f"annual price £{result['annual_price']:,.2f} against notional "
        f"£{result['notional_annual_awarded']:,.2f} for the awarded lots: saving "
        f"£{result['saving_vs_notional']:,.2f} ({1 - (result['price_to_notional'] or 1):.1%})"
    )
    print(f"operators winning lots: {len(result['lots_by_operator'])} of {args.operators}")
    (args.work / "benchmark.json").write_text(
        json.dumps({"wall_s": round(wall, 3), "load": load(), "summary": result}, indent=2)
    )


if __name__ == "__main__":
    main()
