"""Benchmark: every shipped scenario compared on the Kent data, cold and then from the cache.

Run::

    .venv/bin/python benchmarks/compare_kent.py [--time-limit 60] [--out /tmp/kent-compare]

Runs ``compare_scenarios`` on ``scenarios/*.toml`` twice into the same folder: first with an
empty cache (every placement, capacity siting, route plan and budget offer computed; scenarios
that share a placement and routes plan them once), then again (every stage re-used). Prints
each scenario's wall time and stages re-used, the comparison's key figures, and the checks
that a second run re-used every stage and reproduced every figure. Wall times on a shared
2-core machine are approximate.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transport.compare import compare_scenarios  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "kent"))
    ap.add_argument("--out", default="/tmp/kent-compare-bench")
    ap.add_argument("--time-limit", type=float, default=None, help="routing s per scenario")
    ap.add_argument("--keep-cache", action="store_true", help="start from the existing cache")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists() and not args.keep_cache:
        shutil.rmtree(out)
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    overrides = {"routing.time_limit_s": args.time_limit}
    runs = []
    for label in ("cold", "warm"):
        start = time.perf_counter()
        doc = compare_scenarios(files, args.data, out, overrides=overrides, progress=print)
        wall = time.perf_counter() - start
        runs.append(doc)
        print(f"\n{label} run: {wall:.1f} s")
        for s in doc["scenarios"]:
            print(
                f"  {s['scenario']:<18} {s['wall_time_s']:7.1f} s   re-used: "
                f"{', '.join(s['reused']) or '—'}"
            )
    print(
        "\nscenario             transport £     places £   PTB exp. £     total £   saving £"
        "  progress  routes"
    )
    for s in runs[-1]["scenarios"]:
        print(
            f"{s['scenario']:<18} {s['annual_transport_cost']:>12,.0f}"
            f" {s['annual_place_cost']:>12,.0f}"
            f" {s['ptb_expected_saving']:>12,.0f} {s['annual_total_cost']:>11,.0f}"
            f" {s['saving_vs_baseline']:>10,.0f} {100 * s['target_progress']:>8.1f}%"
            f" {s['routes']:>7,}"
        )
    drop = {"wall_time_s", "reused"}
    same = all(
        {k: v for k, v in a.items() if k not in drop}
        == {k: v for k, v in b.items() if k not in drop}
        for a, b in zip(runs[0]["scenarios"], runs[1]["scenarios"], strict=True)
    )
    all_reused = all({"placement", "routes"} <= set(s["reused"]) for s in runs[1]["scenarios"])
    print(f"\nwarm run reproduced every figure: {same}; re-used every stage: {all_reused}")
    return 0 if same and all_reused else 1


if __name__ == "__main__":
    raise SystemExit(main())
