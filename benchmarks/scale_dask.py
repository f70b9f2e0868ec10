"""Benchmark: the engine on a real Dask cluster of 1 and 2 workers, and a projection to 128.

One command (run it on a quiet machine: every figure is printed with the load average)::

    .venv/bin/python benchmarks/scale_dask.py                    # the full measurement
    .venv/bin/python benchmarks/scale_dask.py --quick            # a smoke test (minutes)

It starts a real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (one thread
each, no nanny) for every cluster run, runs the command line against them in a child process,
and stops them after. Measured:

1. **The ten-county solve** (``benchmarks/limits_40k.py``'s data: ten synthetic Kents, 42,000
   pupils, 860 schools; ``--counties``): ``sen-transport solve --work-limit W`` (routing's
   deterministic mode: the searches stop on work, never on the clock, so every run does the
   same work and makes the same plan, whatever the machine's load) on this machine's pool of
   2 processes, and on clusters of 2 and of 1 worker. The cluster's *overhead* is its 2-worker
   wall time against the local pool's; the *speed-up* is the 1-worker wall time over the
   2-worker one. Every run's routes.csv is compared byte for byte with the local one.
2. **A sweep of N scenarios on Kent** (``--sweep 40``): the baseline placement under four
   budget rules × N/4 routing seeds, budgets offered in the trial districts, each plan with
   ``--work-limit`` and a fresh cache, on 1 and on 2 workers; the two comparison tables must
   be equal.
3. **A projection** onto 8, 32 and 128 workers from the task durations the scheduler recorded
   (its task stream) on the 1-worker runs. The model: each fan-out (one ``map_unordered``
   call: a placement, a plan's searches, a cap re-solve, a budget's route tables, uptake draws)
   is a wave of independent tasks; a wave on *m* workers takes the makespan of list scheduling
   of its measured task durations, longest first, each plus the measured per-task overhead
   (the 1-worker gap between tasks: scheduling, transfer, deserialising); the client's own
   serial work (reading data, building sub-problems, repair, writing) is the 1-worker wall time
   less the waves' spans, and does not shrink. A solve is serial + the sum of its waves; a
   sweep of S scenarios runs its scenarios' waves side by side, so it takes at least the
   client's serial work of S scenarios (it runs in the client's threads) and at least the
   list-scheduling makespan of every task of S scenarios (the N measured, repeated S/N times).

Results: a table on the terminal and ``OUT/scale_dask.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from limits_40k import build_counties  # noqa: E402

PROJECT_TO = (8, 32, 128)


# ---------------------------------------------------------------------------------------------
# A cluster of real processes


def load() -> str:
    """The load averages, as ``uptime`` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``dask scheduler`` and ``workers`` × ``dask worker --nthreads 1`` on 127.0.0.1."""

    def __init__(self, workers: int) -> None:
        from distributed import Client

        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1"]
                + ["--port", str(port), "--no-dashboard"],
                **quiet,
            )
        ]
        for _ in range(workers):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dask", "worker", self.address, "--nthreads", "1"]
                    + ["--no-nanny", "--no-dashboard", "--memory-limit", "0"],
                    cwd=ROOT,
                    **quiet,
                )
            )
        start = time.perf_counter()
        self.client = Client(self.address, timeout=60, set_as_default=False)
        self.client.wait_for_workers(workers, timeout=300)
        self.started_s = time.perf_counter() - start
        self.client.get_task_stream(start=time.time())  # installs the scheduler's recorder

    def tasks(self, since: float) -> list[dict[str, Any]]:
        """Every task the scheduler ran since ``since``: its fan-out, worker and durations."""
        out = []
        for t in self.client.get_task_stream(start=since):
            compute = [s for s in t.get("startstops", ()) if s.get("action") == "compute"]
            if not compute:
                continue
            key = t["key"] if isinstance(t["key"], str) else str(t["key"])
            name = key.partition("-")[0]
            if name == "warm_up":  # imports at connect, beside the client's own reading
                continue
            out.append(
                {
                    "kind": name,
                    "wave": key.rsplit("-", 1)[0],
                    "worker": t.get("worker"),
                    "start": min(s["start"] for s in compute),
                    "stop": max(s["stop"] for s in compute),
                    "compute_s": sum(s["stop"] - s["start"] for s in compute),
                }
            )
        return out

    def stop(self) -> None:
        self.client.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_cli(args: list[str]) -> tuple[float, str, str]:
    """``sen-transport ARGS`` in a child process: wall seconds, load before, load after."""
    before = load()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "transport", *args], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sen-transport {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return wall, before, load()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def stopped_by_clock(run: Path) -> int:
    summary = json.loads((run / "summary.json").read_text())
    return len(summary["routing"]["schools_stopped_by_clock"])


# ---------------------------------------------------------------------------------------------
# The projection


def lpt(durations: list[float], workers: int) -> float:
    """Makespan of list scheduling, longest task first, on ``workers`` identical workers."""
    if not durations:
        return 0.0
    lanes = [0.0] * min(workers, len(durations))
    heapq.heapify(lanes)
    for d in sorted(durations, reverse=True):
        heapq.heappush(lanes, heapq.heappop(lanes) + d)
    return max(lanes)


def waves(tasks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        out[t["wave"]].append(t)
    return out


def per_task_overhead(tasks: list[dict[str, Any]]) -> float:
    """On one worker: the mean gap between a task's end and the next task's start within a
    wave (scheduling, transfer, deserialising), over the waves of more than one task."""
    gaps: list[float] = []
    for wave in waves(tasks).values():
        ordered = sorted(wave, key=lambda t: t["start"])
        gaps += [
            max(0.0, b["start"] - a["stop"]) for a, b in zip(ordered, ordered[1:], strict=False)
        ]
    return sum(gaps) / len(gaps) if gaps else 0.0


def project_solve(tasks: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    """Wall time of the measured 1-worker solve projected to more workers (module docstring)."""
    overhead = per_task_overhead(tasks)
    spans = sum(
        max(t["stop"] for t in w) - min(t["start"] for t in w) for w in waves(tasks).values()
    )
    serial = max(0.0, wall - spans)
    out = {"serial_s": round(serial, 1), "overhead_per_task_s": round(overhead, 4)}
    for m in (1, 2, *PROJECT_TO):
        parallel = sum(
            lpt([t["compute_s"] + overhead for t in w], m) for w in waves(tasks).values()
        )
        out[f"workers_{m}_s"] = round(serial + parallel, 1)
    return out


def project_sweep(
    tasks: list[dict[str, Any]], wall: float, scenarios: int, target: int
) -> dict[str, Any]:
    """A sweep of ``target`` scenarios from ``scenarios`` measured ones (module docstring)."""
    overhead = per_task_overhead(tasks)
    spans = sum(
        max(t["stop"] for t in w) - min(t["start"] for t in w) for w in waves(tasks).values()
    )
    serial = max(0.0, wall - spans) * target / scenarios
    durations = [t["compute_s"] + overhead for t in tasks] * max(1, round(target / scenarios))
    out = {
        "scenarios": target,
        "client_serial_s": round(serial, 1),
        "overhead_per_task_s": round(overhead, 4),
        "tasks": len(durations),
    }
    for m in (1, 2, *PROJECT_TO):
        out[f"workers_{m}_s"] = round(max(serial, lpt(durations, m)), 1)
    return out


# ---------------------------------------------------------------------------------------------
# The measurements


def measure_solve(data: Path, work: Path, work_limit: float) -> dict[str, Any]:
    out: dict[str, Any] = {"work_limit": work_limit, "runs": {}}
    common = ["solve", "--data", str(data), "--work-limit", f"{work_limit:g}", "--quiet"]
    common += ["--workers", "2"]

    def record(name: str, wall: float, before: str, after: str, run: Path, **extra: Any) -> None:
        out["runs"][name] = {
            "wall_s": round(wall, 1),
            "load_before": before,
            "load_after": after,
            "routes_sha": sha(run / "routes.csv"),
            "schools_stopped_by_clock": stopped_by_clock(run),
            **extra,
        }
        print(f"  {name}: {wall:.1f} s (load {before} → {after})", flush=True)

    run = work / "local"
    record("local pool of 2", *run_cli([*common, "--out", str(run)]), run)
    for n in (2, 1):
        cluster = Cluster(n)
        try:
            since = time.time()
            run = work / f"dask{n}"
            args = [*common, "--out", str(run), "--scheduler", cluster.address]
            wall, before, after = run_cli(args)
            tasks = cluster.tasks(since)
        finally:
            cluster.stop()
        name = f"{n} worker{'s' * (n > 1)}"
        record(name, wall, before, after, run, tasks=len(tasks), cluster_start_s=cluster.started_s)
        if n == 1:
            out["tasks_1_worker"] = tasks
            out["wall_1_worker"] = wall
    r = out["runs"]
    local, d2, d1 = r["local pool of 2"], r["2 workers"], r["1 worker"]
    out["overhead_vs_local_pool"] = round(d2["wall_s"] / local["wall_s"] - 1.0, 3)
    out["speed_up_2_workers"] = round(d1["wall_s"] / d2["wall_s"], 2)
    out["same_plan_everywhere"] = local["routes_sha"] == d2["routes_sha"] == d1["routes_sha"]
    out["projection"] = project_solve(out.pop("tasks_1_worker"), out.pop("wall_1_worker"))
    return out


def sweep_grid(path: Path, size: int) -> None:
    seeds = max(1, size // 4)
    path.write_text(
        'name = "bench"\n'
        f'base = "{ROOT / "scenarios" / "baseline.toml"}"\n'
        '[set]\n"budgets.offer" = true\n'
        "[axes.rule]\n"
        'kent-bands = { budgets = { rule = "kent-bands" } }\n'
        'mileage = { budgets = { rule = "mileage" } }\n'
        'share = { budgets = { rule = "share" } }\n'
        'bands = { budgets = { rule = "bands", bands = [[5, 2500], [10, 3500], [inf, 4500]] } }\n'
        f'[axes]\n"routing.seed" = {list(range(seeds))}\n'
    )


def measure_sweep(data: Path, work: Path, size: int, work_limit: float) -> dict[str, Any]:
    grid = work / "grid.toml"
    sweep_grid(grid, size)
    out: dict[str, Any] = {"scenarios": size, "work_limit": work_limit, "runs": {}}
    tables = {}
    for n in (1, 2):
        cluster = Cluster(n)
        folder = work / f"sweep-{n}"
        try:
            since = time.time()
            args = ["sweep", str(grid), "--data", str(data), "--out", str(folder)]
            args += ["--work-limit", f"{work_limit:g}", "--workers", "1", "--no-cache"]
            args += ["--no-report", "--quiet", "--scheduler", cluster.address]
            wall, before, after = run_cli(args)
            tasks = cluster.tasks(since)
        finally:
            cluster.stop()
        doc = json.loads((folder / "comparison.json").read_text())
        rows = doc["scenarios"]
        for row in rows:
            row.pop("wall_time_s", None)
            row.pop("reused", None)
        tables[n] = rows
        out["runs"][f"{n} worker{'s' * (n > 1)}"] = {
            "wall_s": round(wall, 1),
            "load_before": before,
            "load_after": after,
            "tasks": len(tasks),
            "rows": len(rows),
        }
        print(f"  sweep on {n} worker(s): {wall:.1f} s (load {before} → {after})", flush=True)
        if n == 1:
            measured = (tasks, wall)
    r = out["runs"]
    out["speed_up_2_workers"] = round(r["1 worker"]["wall_s"] / r["2 workers"]["wall_s"], 2)
    out["same_table_1_and_2_workers"] = tables[1] == tables[2]
    out["projection"] = project_sweep(*measured, scenarios=size + 1, target=10 * size + 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", type=int, default=10, help="synthetic counties to solve")
    ap.add_argument("--work-limit", type=float, default=3000.0, help="solve's --work-limit")
    ap.add_argument("--sweep", type=int, default=40, help="scenarios of the sweep (4 × seeds)")
    ap.add_argument("--sweep-work-limit", type=float, default=100.0, help="each plan's")
    ap.add_argument("--quick", action="store_true", help="one county, small limits, 8 scenarios")
    ap.add_argument("--skip-solve", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--keep-data", type=Path, default=None, help="the counties' data folder")
    ap.add_argument("--out", type=Path, default=Path("/tmp/scale-dask"))
    args = ap.parse_args()
    if args.quick:
        args.counties, args.work_limit, args.sweep, args.sweep_work_limit = 1, 100.0, 8, 20.0
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_at_start": load()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_solve:
            data = args.keep_data or work / "counties"
            if not (data / "pupils.csv").exists():
                counts = build_counties(args.counties, data)
                print(f"data: {counts} in {data}", flush=True)
            print(f"solve ({args.counties} counties, --work-limit {args.work_limit:g}):")
            results["solve"] = measure_solve(data, work, args.work_limit)
        if not args.skip_sweep:
            print(f"sweep ({args.sweep} on Kent, --work-limit {args.sweep_work_limit:g} a plan):")
            results["sweep"] = measure_sweep(
                ROOT / "data" / "kent", work, args.sweep, args.sweep_work_limit
            )
        shutil.rmtree(work, ignore_errors=True)
    results["load_at_end"] = load()
    (args.out / "scale_dask.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"Wrote {args.out / 'scale_dask.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
