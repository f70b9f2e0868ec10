"""All Kent letters as PDFs, and a ``--since`` run after one night's changes: wall time, CPU
time and peak memory of the whole process tree (the command and its worker processes).

    .venv/bin/python benchmarks/letters_kent.py                    # solves Kent first if needed
    .venv/bin/python benchmarks/letters_kent.py --run /tmp/lt-kent --workers 2

Steps (each a real ``sen-transport`` command in a subprocess):

1. ``solve --data data/kent --out RUN --quiet --time-limit 60`` (skipped when RUN exists);
2. ``letters RUN --contacts … --operators …``: every family's letter, with synthetic contacts
   (one per pupil) and a synthetic route-operators.csv (every other route);
3. one night's changes: a copy of data/kent where a few pupils moved house, a few changed school
   and a few new pupils arrived, solved again with the same seed and limit;
4. ``letters RUN2 --since RUN``: letters to the new, moved and disturbed families only.

The machine's cores are shared: the load average (``uptime``) is printed beside each timing,
with the CPU time (user + system of the command and its workers), which depends far less on
the load: CPU time ÷ workers is what the wall time would be on free cores.
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


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def measure(args: list[str], label: str) -> dict[str, float]:
    """Run a command; its wall time, CPU time (with its workers) and peak tree memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            done.wait(0.05)

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
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak memory {peak / 2**20:,.0f} MB")
    print(f"  {output.strip().splitlines()[0] if output.strip() else ''}")
    print(f"  load: {load()}")
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": peak / 2**20}


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
    parser.add_argument("--skip-since", action="store_true")
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
    letters = [str(BIN), "letters", "--workers", str(args.workers), "--effective", "2026-09-07"]
    results["all"] = measure(
        [*letters, str(args.run), "--data", str(args.data), "--out", str(tmp / "all"),
         "--contacts", str(contacts), "--operators", str(operators)],
        f"letters, every Kent family ({args.workers} workers)",
    )  # fmt: skip
    summary = json.loads((tmp / "all" / "summary.json").read_text())
    results["all"].update(letters=summary["letters"], pages=summary["pages"])  # type: ignore[union-attr]
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
    print(json.dumps(results, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
