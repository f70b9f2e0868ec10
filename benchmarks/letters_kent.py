"""All Kent letters as PDFs, and a ``--since`` run after one night's changes: wall time, CPU
time and peak memory of the whole process tree (the command, its browser or worker processes).

    .venv/bin/python benchmarks/letters_kent.py                    # solves Kent first if needed
    .venv/bin/python benchmarks/letters_kent.py --run /tmp/lt-kent --workers 2
    .venv/bin/python benchmarks/letters_kent.py --run /tmp/lt-kent --engine weasyprint

Steps (each a real ``sen-transport`` command in a subprocess):

1. ``solve --data data/kent --out RUN --quiet --time-limit 60`` (skipped when RUN exists);
2. ``letters RUN --contacts … --operators …``: every family's letter, with synthetic contacts
   (one per pupil) and a synthetic route-operators.csv (every other route);
3. one night's changes: a copy of data/kent where a few pupils moved house, a few changed school
   and a few new pupils arrived, solved again with the same seed and limit;
4. ``letters RUN2 --since RUN``: letters to the new, moved and disturbed families only;
5. ``sheets RUN --packs``: every route's crew packs (operator and passenger assistant copies).

How it measures: every 0.25 s the whole process tree of the command is read from /proc (the
command, Chromium's browser, renderer, GPU and utility processes, or WeasyPrint's workers).

- CPU time: per process, the last user + system time seen, summed over the tree (a process
  loses at most its last 0.25 s), or the command's own rusage with the children it waited
  for, whichever is larger.
- Memory: the peak over the samples of the tree's summed PSS (proportional set size: a page
  shared by several processes, as Chromium's processes share their code, is divided among
  them, so the sum is the memory the tree uses), and of its summed RSS, which counts every
  shared page once per process: an upper bound.

The machine's cores are shared: the load average (``uptime``) is printed beside each timing.
CPU time depends far less on the load: CPU time ÷ 2 is about what the wall time would be on
two free cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "sen-transport"


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def tree_sample(pid: int) -> dict[int, tuple[float, int, int]]:
    """``{pid: (cpu_s, rss, pss)}`` of ``pid`` and all its descendants, from /proc."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[float, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, cpu, pages = int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        stats[int(entry)] = (cpu / tick, pages * page)
    out: dict[int, tuple[float, int, int]] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            out[p] = (*stats[p], _pss(p))
        todo.extend(children.get(p, []))
    return out


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(args: list[str], label: str) -> dict[str, float]:
    """Run a command; its wall time, CPU time and peak memory (PSS, RSS) of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_pss = peak_rss = 0
    cpu_seen: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_pss, peak_rss
        while not done.is_set():
            now = tree_sample(proc.pid)
            for p, (cpu, _, _) in now.items():
                cpu_seen[p] = max(cpu_seen.get(p, 0.0), cpu)
            peak_rss = max(peak_rss, sum(rss for _, rss, _ in now.values()))
            peak_pss = max(peak_pss, sum(pss for _, _, pss in now.values()))
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(output)
        raise SystemExit(f"{label} failed with exit status {proc.returncode}")
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(waited, sum(cpu_seen.values()))
    print(
        f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU ({len(cpu_seen)} processes), peak memory "
        f"{peak_pss / 2**20:,.0f} MB PSS ({peak_rss / 2**20:,.0f} MB RSS summed)"
    )
    print(f"  {output.strip().splitlines()[0] if output.strip() else ''}")
    print(f"  load: {load()}")
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_pss_mb": round(peak_pss / 2**20),
        "peak_rss_sum_mb": round(peak_rss / 2**20),
        "processes": len(cpu_seen),
        "load_after": load(),
    }


def synthetic_contacts(data: Path, path: Path) -> None:
    """One synthetic family per pupil (names and addresses invented, valid postcode format)."""
    with open(data / "pupils.csv", encoding="utf-8") as fh:
        pupils = [r["pupil_id"] for r in csv.DictReader(fh)]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["pupil_id", "parent_name", "address_line_1", "address_line_2",
                      "postcode", "email"])  # fmt: skip
        for n, pupil in enumerate(pupils, start=1):
            out.writerow([
                pupil, f"Parent Carer {n}", f"{n} Example Road", "Kent",
                f"ME{n % 20 + 1} {n % 9 + 1}{'ABDEFGHJ'[n % 8]}{'LNPQRSTU'[n % 8]}",
                f"family{n}@example.org" if n % 3 == 0 else "",
            ])  # fmt: skip


def synthetic_operators(run: Path, path: Path) -> None:
    with open(run / "routes.csv", encoding="utf-8") as fh:
        routes = [r["route_id"] for r in csv.DictReader(fh)]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["route_id", "operator_id", "operator_name", "phone"])
        for n, route in enumerate(routes[::2]):
            out.writerow([route, f"OP{n % 40}", f"Operator {n % 40}", f"01622 {100000 + n}"])


def night_of_changes(data: Path, out: Path, *, seed: int = 7) -> dict[str, int]:
    """A copy of ``data`` with a few pupils changed: moves, school changes, new entrants."""
    shutil.copytree(data, out)
    rng = random.Random(seed)
    with open(out / "pupils.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    with open(out / "schools.csv", encoding="utf-8", newline="") as fh:
        schools = list(csv.DictReader(fh))
    chosen = rng.sample(range(len(rows)), 20)
    moves, transfers = chosen[:8], chosen[8:14]
    for i in moves:  # a house move of about a mile
        rows[i]["lat"] = f"{float(rows[i]['lat']) + rng.choice((-1, 1)) * 0.012:.6f}"
        rows[i]["lon"] = f"{float(rows[i]['lon']) + rng.choice((-1, 1)) * 0.012:.6f}"
    moved_school = 0
    for i in transfers:  # a new school named in the record, among the suitable ones
        row = rows[i]
        options = [
            s["school_id"] for s in schools
            if s["school_id"] != row["school_id"]
            and int(s["age_min"]) <= int(row["age"]) <= int(s["age_max"])
            and (s["needs"] == "*" or row["need"] in s["needs"].split(";"))
            and s["district"] == row["district"]
        ]  # fmt: skip
        if options:
            row["school_id"] = rng.choice(options)
            moved_school += 1
    new = []
    for n, i in enumerate(chosen[14:], start=1):  # new entrants: like an existing pupil
        row = dict(rows[i])
        row["pupil_id"] = f"N{n:05d}"
        row["lat"] = f"{float(row['lat']) + 0.004:.6f}"
        new.append(row)
    with open(out / "pupils.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows + new)
    return {"moved_house": len(moves), "changed_school": moved_school, "new": len(new)}


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "kent")
    parser.add_argument("--run", type=Path, default=Path("/tmp/lt-kent"))
    parser.add_argument("--run2", type=Path, default=Path("/tmp/lt-kent-night2"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--engine", default="auto", choices=("auto", "chromium", "weasyprint"))
    parser.add_argument("--skip-since", action="store_true")
    parser.add_argument("--skip-packs", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="letters-bench-"))
    os.chmod(tmp, 0o700)
    solve = [str(BIN), "solve", "--quiet", "--time-limit", str(args.time_limit)]
    if not (args.run / "stops.csv").exists():
        measure([*solve, "--data", str(args.data), "--out", str(args.run)], "solve Kent")
    contacts = tmp / "contacts.csv"
    operators = tmp / "route-operators.csv"
    synthetic_contacts(args.data, contacts)
    synthetic_operators(args.run, operators)
    results: dict[str, object] = {}
    letters = [str(BIN), "letters", "--workers", str(args.workers), "--effective", "2026-09-07",
               "--engine", args.engine]  # fmt: skip
    print(f"load before: {load()}")
    results["all"] = measure(
        [*letters, str(args.run), "--data", str(args.data), "--out", str(tmp / "all"),
         "--contacts", str(contacts), "--operators", str(operators)],
        f"letters, every Kent family ({args.workers} workers, engine {args.engine})",
    )  # fmt: skip
    summary = json.loads((tmp / "all" / "summary.json").read_text())
    results["all"].update(  # type: ignore[union-attr]
        letters=summary["letters"], pages=summary["pages"], engine=summary["engine"]
    )
    size = sum(p.stat().st_size for p in (tmp / "all").rglob("*") if p.is_file())
    print(f"  {summary['letters']:,} letters, {summary['pages']:,} pages, {size / 2**20:,.0f} MB")
    if not args.skip_since:
        night = night_of_changes(args.data, tmp / "data-night2")
        print(f"One night's changes: {night}")
        if args.run2.exists():
            shutil.rmtree(args.run2)
        measure([*solve, "--data", str(tmp / "data-night2"), "--out", str(args.run2)],
                "solve Kent after one night's changes")  # fmt: skip
        synthetic_contacts(tmp / "data-night2", contacts)
        results["since"] = measure(
            [*letters, str(args.run2), "--data", str(tmp / "data-night2"), "--out",
             str(tmp / "since"), "--contacts", str(contacts), "--since", str(args.run)],
            "letters --since the previous night",
        )  # fmt: skip
        summary = json.loads((tmp / "since" / "summary.json").read_text())
        print(f"  by kind: {summary['letters_by_kind']}; reasons: {summary['reasons']}")
        results["since"].update(  # type: ignore[union-attr]
            letters=summary["letters"], by_kind=summary["letters_by_kind"]
        )
    if not args.skip_packs:
        results["packs"] = measure(
            [str(BIN), "sheets", str(args.run), "--data", str(args.data), "--out",
             str(tmp / "packs"), "--packs", "--redact", "--engine", args.engine],
            f"sheets --packs, every Kent route (engine {args.engine})",
        )  # fmt: skip
        summary = json.loads((tmp / "packs" / "summary.json").read_text())
        packs = summary["packs"]
        print(f"  {packs['operator']:,} operator and {packs['pa']:,} passenger assistant packs")
        results["packs"].update(  # type: ignore[union-attr]
            operator=packs["operator"], pa=packs["pa"], engine=packs["engine"]
        )
    print(json.dumps(results, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
