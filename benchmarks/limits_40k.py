"""Benchmark: the limits of one run — ten counties, about 42,000 pupils, placement + routing.

Run::

    .venv/bin/python benchmarks/limits_40k.py                     # build, then solve (600 s)
    .venv/bin/python benchmarks/limits_40k.py --time-limit 120 --counties 10 --keep-data /tmp/d

Builds ten synthetic counties (:func:`transport.datagen.kent.build_kent_dataset` with seeds 2013,
2014, …, each county's homes and schools shifted north/west so that counties do not overlap
and stay inside Great Britain; ids, school ids and districts prefixed ``C0-`` … ``C9-``; vehicle
caps multiplied by the number of counties), writes them as one data folder and runs
``sen-transport solve --data D --out RUN --time-limit T --quiet`` in a child process, sampling
the resident memory of that process *and all its worker processes* (summed, from ``/proc``)
every 0.2 s. Prints wall time, peak RSS (tree sum and largest single process), the annual
transport cost, routes, schools by solver status and ``time_limit_reached``.

The run must complete, or stop cleanly (exit 2 with one clear message), within bounded memory:
placement holds pupil × school matrices (linear in pupils for a fixed number of schools per
county, but quadratic county-wide if schools grow with pupils); routing is decomposed by
school. ``transport.jobs.check_memory`` refuses, before reading the matrices, a run whose
estimate exceeds the memory available.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transport.datagen.kent import KentData, build_kent_dataset, write_kent_dataset  # noqa: E402

LAT_STEP = 0.8  # degrees north per row of counties
LON_STEP = 1.8  # degrees west per column


def build_counties(n: int, folder: Path) -> dict[str, int]:
    """Write ``n`` shifted synthetic counties as one data folder; return the counts."""
    schools, pupils, vehicles, incompatible = [], [], None, []
    for k in range(n):
        data = build_kent_dataset(seed=2013 + k)
        tag = f"C{k}-"
        dlat, dlon = LAT_STEP * (k // 2), -LON_STEP * (k % 2)
        s = data.schools.copy()
        s["school_id"] = tag + s["school_id"].astype(str)
        s["district"] = tag + s["district"].astype(str)
        s["lat"] = s["lat"] + dlat
        s["lon"] = s["lon"] + dlon
        p = data.pupils.copy()
        p["pupil_id"] = tag + p["pupil_id"].astype(str)
        p["school_id"] = [tag + x if isinstance(x, str) and x else x for x in p["school_id"]]
        p["stop_id"] = [tag + x if isinstance(x, str) and x else x for x in p["stop_id"]]
        p["district"] = tag + p["district"].astype(str)
        p["lat"] = p["lat"] + dlat
        p["lon"] = p["lon"] + dlon
        inc = data.incompatible.copy()
        for col in inc.columns:
            inc[col] = tag + inc[col].astype(str)
        schools.append(s)
        pupils.append(p)
        incompatible.append(inc)
        if vehicles is None:
            vehicles = data.vehicles.copy()
            vehicles["available"] = vehicles["available"] * n
    assert vehicles is not None
    merged = KentData(
        pd.concat(schools, ignore_index=True),
        pd.concat(pupils, ignore_index=True),
        vehicles,
        pd.concat(incompatible, ignore_index=True),
        {},
    )
    write_kent_dataset(merged, folder)
    return {"pupils": len(merged.pupils), "schools": len(merged.schools)}


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """(sum, max) resident kB of ``root`` and its descendants, from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = largest = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb = int(line.split()[1])
                    total += kb
                    largest = max(largest, kb)
        except OSError:
            pass
    return total, largest


def solve(data: Path, out: Path, time_limit: float) -> dict[str, float | int]:
    cmd = [
        sys.executable,
        "-m",
        "transport",
        "solve",
        "--data",
        str(data),
        "--out",
        str(out),
        "--time-limit",
        str(time_limit),
        "--quiet",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = {"sum": 0, "max": 0}

    def sample() -> None:
        while proc.poll() is None:
            total, largest = _tree_rss_kb(proc.pid)
            peak["sum"] = max(peak["sum"], total)
            peak["max"] = max(peak["max"], largest)
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - start
    thread.join()
    text = output.decode("utf-8", "replace")
    print(text[-3000:])
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_tree_mb": round(peak["sum"] / 1024),
        "peak_rss_largest_mb": round(peak["max"] / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--keep-data", type=Path, default=None, help="write the data here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep_data or Path(tmp) / "data"
        start = time.perf_counter()
        if not (data / "pupils.csv").exists():
            counts = build_counties(args.counties, data)
        else:
            lines = (data / "pupils.csv").read_text(encoding="utf-8").count("\n")
            counts = {"pupils": lines - 1}
        print(f"data: {counts} in {time.perf_counter() - start:.0f} s -> {data}", flush=True)
        figures = solve(data, Path(tmp) / "run", args.time_limit)
        summary_path = Path(tmp) / "run" / "summary.json"
        if summary_path.exists():
            s = json.loads(summary_path.read_text())
            figures |= {
                "pupils": s["pupils"],
                "pupils_routed": s["pupils_routed"],
                "routes": s["routes"],
                "annual_transport_cost": s["annual_transport_cost"],
                "unplaced": len(s["unplaced"]),
                "unrouted": len(s["unrouted"]),
                "routing_wall_s": s["routing"].get("wall_s"),
                "time_limit_reached": s.get("time_limit_reached"),
                "school_status_counts": s["transport"]["school_status_counts"],
            }
        figures["cpus"] = os.cpu_count() or 0
        print(json.dumps(figures, indent=2))
    return 0 if figures["exit"] in (0, 2) else 1


if __name__ == "__main__":
    sys.exit(main())
