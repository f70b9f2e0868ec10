"""Benchmark: stable nightly re-planning on the Kent data, night after night.

Run (one command; every figure of README's "Nightly re-planning" table)::

    .venv/bin/python benchmarks/nightly_stability.py --nights 20 --work-limit 200

A base plan of the embedded Kent data (from scratch), then ``--nights`` nights of seeded random
events on a copy of the data: each night 0-5 new pupils (attributes of a random pupil, a home
near another pupil's, no school yet: the ``keep`` policy places them), 0-5 leavers, 0-2 house
moves (to near another pupil's home) and 0-1 school change (to one of the five nearest other
suitable schools). Each night is solved twice through the command line, at the same limit:

* ``solve --previous LAST_NIGHT`` — the re-plan from the plan in force, which becomes the plan
  in force for the next night;
* ``solve --previous LAST_NIGHT --from-scratch`` — a new plan, for comparison (its
  ``stability`` counts the families it would disturb against the same plan in force).

Per night it prints the events, pupils changed (new + left + changed), families disturbed who
did not change themselves (re-plan vs from scratch), annual cost (re-plan / from scratch) and
wall time of each command (with the load average, as the machine may be shared); every re-plan
is checked by the independent checker (``tests/checker.py``). Targets (issue #13): disturbed
families at most 1 per changed pupil (median over the nights), cost within 2 % of the
from-scratch plan every night, each re-plan under 60 s wall on 2 cores.

Options: ``--nights``, ``--work-limit N`` (deterministic, default 200) or ``--time-limit S``,
``--change-cost £``, ``--seed``, ``--workers``, ``--markdown FILE`` (the table for README),
``--keep DIR`` (keep every run folder there).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.checker import check_run  # noqa: E402

KENT = ROOT / "data" / "kent"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def miles(a: dict[str, str], b: dict[str, str]) -> float:
    lat1, lon1, lat2, lon2 = (
        math.radians(float(x)) for x in (a["lat"], a["lon"], b["lat"], b["lon"])
    )
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.76 * math.asin(math.sqrt(min(1.0, h)))


def near(rng: random.Random, row: dict[str, str], radius_deg: float = 0.01) -> tuple[str, str]:
    """A point within about half a mile of a home (homes are synthetic)."""
    lat = float(row["lat"]) + rng.uniform(-radius_deg, radius_deg)
    lon = float(row["lon"]) + rng.uniform(-1.5 * radius_deg, 1.5 * radius_deg)
    return f"{lat:.6f}", f"{lon:.6f}"


def serves(school: dict[str, str], pupil: dict[str, str]) -> bool:
    needs = set(school["needs"].split(";"))
    age = int(pupil["age"])
    fits = int(school["age_min"]) <= age <= int(school["age_max"])
    return fits and ("*" in needs or pupil["need"] in needs)


class Events:
    """The seeded random events of every night, applied to a copy of the data folder."""

    def __init__(self, data: Path, seed: int) -> None:
        self.data = data
        self.seed = seed
        self.next_id = 900_001
        _, self.schools = read_csv(data / "schools.csv")

    def night(self, n: int) -> dict[str, int]:
        rng = random.Random(f"{self.seed}-{n}")
        columns, pupils = read_csv(self.data / "pupils.csv")
        counts = {
            "new": rng.randint(0, 5),
            "left": rng.randint(0, 5),
            "moved": rng.randint(0, 2),
            "school": rng.randint(0, 1),
        }
        leavers = set(rng.sample([p["pupil_id"] for p in pupils], counts["left"]))
        pupils = [p for p in pupils if p["pupil_id"] not in leavers]
        chosen = rng.sample(range(len(pupils)), counts["moved"] + counts["school"])
        for i in chosen[: counts["moved"]]:
            other = rng.choice(pupils)
            p = pupils[i]
            p["lat"], p["lon"] = near(rng, other)
            p["district"] = other["district"]
            for blank in ("stop_id", "postcode", "easting", "northing"):
                if blank in p:
                    p[blank] = ""
        for i in chosen[counts["moved"] :]:
            p = pupils[i]
            options = [s for s in self.schools if serves(s, p) and s["school_id"] != p["school_id"]]
            options.sort(key=lambda s: (miles(s, p), s["school_id"]))
            if options:
                p["school_id"] = rng.choice(options[:5])["school_id"]
        for _ in range(counts["new"]):
            model = dict(rng.choice(pupils))
            home = rng.choice(pupils)
            model["pupil_id"] = f"P{self.next_id}"
            self.next_id += 1
            model["lat"], model["lon"] = near(rng, home)
            model["district"] = home["district"]
            model["school_id"] = ""
            for blank in ("stop_id", "postcode", "easting", "northing"):
                if blank in model:
                    model[blank] = ""
            pupils.append(model)
        write_csv(self.data / "pupils.csv", columns, pupils)
        pairs = self.data / "incompatible.csv"
        if pairs.exists():
            cols, rows = read_csv(pairs)
            rows = [r for r in rows if r["pupil_a"] not in leavers and r["pupil_b"] not in leavers]
            write_csv(pairs, cols, rows)
        return counts


def solve(data: Path, out: Path, limit: list[str], *extra: str) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "transport", "solve", "--data", str(data), "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run([*cmd, *limit, "--quiet", *extra], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"solve failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads((out / "summary.json").read_text(encoding="utf-8")), wall


def chain_label(cost: float | None) -> str:
    return "default" if cost is None else f"£{cost:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--nights", type=int, default=20)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--work-limit", type=float, default=None)
    group.add_argument("--time-limit", type=float, default=None)
    ap.add_argument(
        "--change-cost",
        default=None,
        help="£ a year per disturbed family (default: the engine's); a comma-separated list "
        "re-plans one chain of nights per value (the table shows the first)",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of the events")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--data", type=Path, default=KENT)
    ap.add_argument("--markdown", type=Path, default=None, help="write the table here")
    ap.add_argument("--keep", type=Path, default=None, help="keep every run folder here")
    args = ap.parse_args()
    if args.time_limit is not None:
        limit = ["--time-limit", f"{args.time_limit:g}"]
        label = f"--time-limit {args.time_limit:g}"
    else:
        work = args.work_limit if args.work_limit is not None else 200.0
        limit = ["--work-limit", f"{work:g}"]
        label = f"--work-limit {work:g}"
    limit += ["--workers", str(args.workers)]
    costs: list[float | None] = [None]
    if args.change_cost is not None:
        costs = [float(x) for x in str(args.change_cost).split(",")]
    work_dir = Path(tempfile.mkdtemp(prefix="nightly-")) if args.keep is None else args.keep
    work_dir.mkdir(parents=True, exist_ok=True)
    data = work_dir / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(args.data, data)
    events = Events(data, args.seed)
    print(f"Nightly re-planning on {args.data} ({label}, events seed {args.seed}); load {load()}")
    base, wall = solve(data, work_dir / "night-00", limit)
    print(
        f"base plan: {base['routes']:,} routes, £{base['annual_transport_cost']:,.0f}, "
        f"{wall:.0f} s wall (load {load()})",
        flush=True,
    )
    for k in range(1, len(costs)):
        shutil.copytree(work_dir / "night-00", work_dir / f"c{k}-night-00")
    header = (
        "| night | new | left | moved | school | changed pupils | disturbed re-plan | "
        "disturbed from scratch | cost re-plan | cost from scratch | re-plan / scratch | "
        "wall re-plan (s) | wall from scratch (s) | load |"
    )
    rows = [header, "|" + "---:|" * 14]
    print(header)
    per_change = {k: [] for k in range(len(costs))}
    ratio_of = {k: [] for k in range(len(costs))}
    walls = {k: [] for k in range(len(costs))}
    total = {k: 0 for k in range(len(costs))}
    scratch_total = 0
    violations = 0

    def folder(k: int, n: int) -> Path:
        return work_dir / (f"night-{n:02d}" if k == 0 else f"c{k}-night-{n:02d}")

    for n in range(1, args.nights + 1):
        counts = events.night(n)
        results = []
        for k, cost in enumerate(costs):
            extra = [] if cost is None else ["--change-cost", f"{cost:g}"]
            summary, wall_r = solve(
                data, folder(k, n), limit, "--previous", str(folder(k, n - 1)), *extra
            )
            violations += len(check_run(folder(k, n), data))
            results.append((summary, wall_r))
        scratch_dir = work_dir / f"scratch-{n:02d}"
        scratch, wall_s = solve(
            data, scratch_dir, limit, "--previous", str(folder(0, n - 1)), "--from-scratch"
        )
        ss = scratch["stability"]
        scratch_total += ss["disturbed"]
        for k, (summary, wall_r) in enumerate(results):
            st = summary["stability"]
            p = st["pupils"]
            changed = p["new"] + p["left"] + p["changed"]
            ratio = summary["annual_transport_cost"] / scratch["annual_transport_cost"]
            ratio_of[k].append(ratio)
            walls[k].append(wall_r)
            total[k] += st["disturbed"]
            if changed:
                per_change[k].append(st["disturbed"] / changed)
            if k == 0:
                row = (
                    f"| {n} | {counts['new']} | {counts['left']} | {counts['moved']} | "
                    f"{counts['school']} | {changed} | {st['disturbed']} | {ss['disturbed']} | "
                    f"£{summary['annual_transport_cost']:,.0f} | "
                    f"£{scratch['annual_transport_cost']:,.0f} | {ratio:.4f} | {wall_r:.1f} | "
                    f"{wall_s:.1f} | {load()} |"
                )
                rows.append(row)
                print(row, flush=True)
            else:
                print(
                    f"    change cost {chain_label(costs[k])}: disturbed {st['disturbed']}, "
                    f"cost ratio {ratio:.4f}, {wall_r:.1f} s",
                    flush=True,
                )
        if args.keep is None:
            shutil.rmtree(scratch_dir, ignore_errors=True)
            for k in range(len(costs)):
                if n >= 2:
                    shutil.rmtree(folder(k, n - 2), ignore_errors=True)
    lines = [""]
    for k, cost in enumerate(costs):
        median = statistics.median(per_change[k]) if per_change[k] else 0.0
        r = ratio_of[k]
        lines += [
            f"change cost {chain_label(cost)}: median disturbed families per changed pupil "
            f"{median:.2f} (target ≤ 1); re-plan / from-scratch cost min {min(r):.4f}, "
            f"max {max(r):.4f} (target ≤ 1.02), first night {r[0]:.4f}, last {r[-1]:.4f}; "
            f"re-plan wall max {max(walls[k]):.1f} s, median {statistics.median(walls[k]):.1f} s "
            f"(target < 60 s); disturbed over all nights {total[k]:,}",
        ]
    lines += [
        f"from scratch: disturbed over all nights {scratch_total:,} (against the default "
        "chain's plan in force)",
        f"checker violations in the re-plans: {violations}",
        f"load average at the end: {load()}",
    ]
    for line in lines:
        print(line)
    if args.markdown is not None:
        args.markdown.write_text("\n".join(rows + lines) + "\n", encoding="utf-8")
    if args.keep is None:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
