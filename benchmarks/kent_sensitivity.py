"""Benchmark: how the Kent plan's routes and cost move when an unsourced share moves ±50 %.

Run::

    .venv/bin/python benchmarks/kent_sensitivity.py                 # 60 s a solve, ~10 solves
    .venv/bin/python benchmarks/kent_sensitivity.py --time-limit 120 --shares solo,siblings

For the committed data set (seed 2013) and for each share named in ``--shares`` at each
multiplier in ``--factors``, the data set is rebuilt with that share scaled
(``build_kent_dataset(scale={share: factor})``: every per-need rate × factor), placed
(``keep``) and routed with the default options at ``--time-limit`` seconds through
``solve_job``, exactly as ``sen-transport solve`` does. A rebuild at another seed (``--noise-seed``)
shows how much the figures move by chance alone, and the baseline solved again at the end shows
how much a change of machine load moved it: differences smaller than those are noise.

Prints one Markdown row per run (share, multiplier, the share achieved, routes, pupils per
route, solo routes, passenger assistants, annual transport cost, and the change from the
baseline) and the load average before each solve: the machine's cores are shared, and a
loaded machine stops more searches on the clock.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transport.datagen.kent import (  # noqa: E402
    SCALABLE_SHARES,
    build_kent_dataset,
    write_kent_dataset,
)
from transport.jobs import solve_job  # noqa: E402
from transport.routing import RoutingOptions  # noqa: E402


def solve_variant(
    *, seed: int, pupils: int, scale: dict[str, float], time_limit: float, work: Path
) -> dict[str, Any]:
    """Build, write and solve one variant; the figures of its plan."""
    data = build_kent_dataset(seed=seed, pupils=pupils, scale=scale)
    folder = work / f"data-{seed}-{'-'.join(f'{k}{v:g}' for k, v in scale.items()) or 'base'}"
    write_kent_dataset(data, folder)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    summary = solve_job(
        folder,
        work / f"run-{folder.name}",
        policy="keep",
        options=RoutingOptions(time_limit_s=time_limit),
    )
    routes = summary["routes"]
    routed = summary["pupils_routed"]
    solo_routes = summary["transport"].get("solo_routes")
    return {
        "shares": data.notes["shares"],
        "routes": routes,
        "routed": routed,
        "per_route": routed / routes if routes else 0.0,
        "solo_routes": solo_routes,
        "pas": summary["passenger_assistants"],
        "cost": summary["annual_transport_cost"],
        "wall": time.perf_counter() - start,
        "load": load,
        "limited": len(summary.get("time_limit_schools") or []),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--noise-seed", type=int, default=2014, help="0 = skip the noise row")
    parser.add_argument("--pupils", type=int, default=4200)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--shares", default=",".join(SCALABLE_SHARES))
    parser.add_argument("--factors", default="0.5,1.5")
    args = parser.parse_args()
    shares = [s for s in args.shares.split(",") if s]
    factors = [float(f) for f in args.factors.split(",") if f]

    print(
        f"Kent sensitivity: seed {args.seed}, {args.pupils} pupils, {args.time_limit:g} s a "
        f"solve; started {time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    header = (
        "| share | × | share achieved | routes | Δ routes | pupils / route | solo routes "
        "| PAs | annual cost | Δ cost | wall s | load |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="kent-sensitivity-") as tmp:
        work = Path(tmp)
        base = solve_variant(
            seed=args.seed, pupils=args.pupils, scale={}, time_limit=args.time_limit, work=work
        )

        def row(label: str, factor: str, share: str, r: dict[str, Any]) -> None:
            d_routes = r["routes"] - base["routes"]
            d_cost = (r["cost"] / base["cost"] - 1) * 100 if base["cost"] else 0.0
            solo = "—" if r["solo_routes"] is None else f"{r['solo_routes']:,}"
            print(
                f"| {label} | {factor} | {share} | {r['routes']:,} | {d_routes:+,} | "
                f"{r['per_route']:.2f} | {solo} "
                f"| {r['pas']:,} | £{r['cost'] / 1e6:.2f}m | {d_cost:+.1f} % | {r['wall']:.0f} "
                f"| {r['load']:.1f} |",
                flush=True,
            )

        row("baseline", "1", "—", base)
        if args.noise_seed:
            noise = solve_variant(
                seed=args.noise_seed,
                pupils=args.pupils,
                scale={},
                time_limit=args.time_limit,
                work=work,
            )
            row(f"noise: seed {args.noise_seed}", "1", "—", noise)
        for share in shares:
            for factor in factors:
                r = solve_variant(
                    seed=args.seed,
                    pupils=args.pupils,
                    scale={share: factor},
                    time_limit=args.time_limit,
                    work=work,
                )
                achieved = (
                    f"{r['shares'][share] * 100:.1f} % (base {base['shares'][share] * 100:.1f} %)"
                )
                row(share, f"{factor:g}", achieved, r)
        again = solve_variant(
            seed=args.seed, pupils=args.pupils, scale={}, time_limit=args.time_limit, work=work
        )
        row("baseline again (load drift)", "1", "—", again)


if __name__ == "__main__":
    main()
