"""Benchmark: the published school-bus instances (Park, Tae & Kim 2012), solved and scored.

Run::

    .venv/bin/python benchmarks/school_bus.py                      # every instance, both limits
    .venv/bin/python benchmarks/school_bus.py --instances RSRB01 --limits 2700 --time-limit 60

Each instance of ``../shared/bench/school-bus`` (read from there, never copied) is converted to
our data contract in a temporary folder:

* schools.csv: each school at its position (feet → metres on the British National Grid, an
  arbitrary offset), ``arrive_by`` = its AMLATE;
* pupils.csv: one row per pupil, ``stop_id`` = their stop, ``max_ride_min`` = 45 or 90;
* vehicles.csv: one bus type, 66 seats, a day rate that makes a run worth far more than any
  mileage (so the engine minimises runs first, then miles);
* travel.csv: the benchmark's exact Manhattan distances (miles) and times at 20 mph (minutes),
  between every school and its stops and among the stops of one school;

and solved with ``solve_job`` exactly as ``sen-transport solve --network matrix
--strict-limits --no-mixed-school --dwell-min 0.3167 --dwell-per-pupil-min 0.04333`` would
(19 s a visit, 2.6 s a pupil, no ride over the limit, single-school runs). Each plan is then
scored by :func:`score`, an independent implementation of the benchmark's rules that reads only
the instance files and our routes.csv and stops.csv: runs, pupils whose ride exceeds the limit,
stops split over two runs without need, buses over 66, late arrivals, and total drive time. The
table compares our runs with the best published single-school run counts and the capacity
bound (``published_runs.csv``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench" / "school-bus"
FT_PER_MILE = 5280.0
FT_PER_S = 20 * FT_PER_MILE / 3600.0  # 20 mph
SERVICE_S, PER_PUPIL_S = 19.0, 2.6
CAPACITY = 66
EAST0, NORTH0 = 520_000.0, 120_000.0  # where the 40-mile square sits on the grid (metres)


@dataclass(frozen=True)
class Instance:
    name: str
    schools: dict[str, tuple[float, float, int]]  # id → x, y (ft), AMLATE (minutes)
    stops: dict[str, tuple[float, float, str, int]]  # id → x, y, school, pupils


def read_instance(folder: Path) -> Instance:
    def rows(name: str) -> list[dict[str, str]]:
        with open(folder / name, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh, delimiter="\t"))

    schools = {
        r["ID"]: (float(r["X"]), float(r["Y"]), _hmm(r["AMLATE"])) for r in rows("Schools.txt")
    }
    stops = {
        r["ID"]: (
            float(r["X_COORD"]),
            float(r["Y_COORD"]),
            r["EP_ID"],
            int(r["STUDENT_COUNT"]),
        )
        for r in rows("Stops.txt")
    }
    return Instance(folder.name, schools, stops)


def _hmm(text: str) -> int:
    """``735`` → 7:35 in minutes after midnight."""
    value = int(text)
    return (value // 100) * 60 + value % 100


def manhattan_ft(a: tuple[float, float], b: tuple[float, float]) -> float:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


# --------------------------------------------------------------------------------------------
# Conversion


def write_data(inst: Instance, folder: Path, max_ride_s: int) -> Path:
    """The instance as a data folder of our contract (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, header: list[str], rows: list[list[object]]) -> None:
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)

    def grid(x: float, y: float) -> tuple[str, str]:
        return f"{EAST0 + x * 0.3048:.2f}", f"{NORTH0 + y * 0.3048:.2f}"

    pupils_at = defaultdict(int)
    for _, _, school, n in inst.stops.values():
        pupils_at[school] += n
    write(
        "schools.csv",
        [
            *("school_id", "name", "easting", "northing", "district", "kind"),
            *("age_min", "age_max", "needs", "capacity", "place_cost", "arrive_by"),
        ],
        [
            [sid, f"School {sid}", *grid(x, y), "Bench", "special", 4, 19, "*"]
            + [max(1, pupils_at[sid]), 0, f"{late // 60:02d}:{late % 60:02d}"]
            for sid, (x, y, late) in inst.schools.items()
        ],
    )
    limit = max_ride_s // 60
    pupils = []
    for stop, (x, y, school, n) in inst.stops.items():
        for k in range(n):
            pupils.append(
                [f"{stop}-{k:02d}", *grid(x, y), "Bench", 12, "OTH", school, 0, 0, 0, limit, stop]
            )
    write(
        "pupils.csv",
        [
            *("pupil_id", "easting", "northing", "district", "age", "need", "school_id"),
            *("wheelchair", "needs_pa", "solo", "max_ride_min", "stop_id"),
        ],
        pupils,
    )
    write(
        "vehicles.csv",
        ["vehicle_type", "seats", "wheelchair_spaces", "day_rate", "per_mile", "available"],
        [["bus", CAPACITY, 0, 1000.0, 1.0, ""]],
    )
    rows: list[list[object]] = []
    by_school: dict[str, list[str]] = defaultdict(list)
    for stop, (_, _, school, _) in inst.stops.items():
        by_school[school].append(stop)
    point = {s: (x, y) for s, (x, y, _) in inst.schools.items()}
    point |= {s: (x, y) for s, (x, y, _, _) in inst.stops.items()}
    for school, stops in by_school.items():
        ids = [school, *stops]
        for a in ids:
            for b in ids:
                if a != b:
                    ft = manhattan_ft(point[a], point[b])
                    rows.append([a, b, f"{ft / FT_PER_MILE:.6f}", f"{ft / FT_PER_S / 60:.6f}"])
    write("travel.csv", ["from_id", "to_id", "miles", "minutes"], rows)
    return folder


def solve(data_dir: Path, out: Path, *, time_limit_s: float, work_limit: float | None, seed: int):
    """Our engine on a converted instance, as ``sen-transport solve`` runs it."""
    from transport.jobs import solve_job
    from transport.model import TravelParams
    from transport.scenario import NetworkSettings, RoutingSettings, Scenario

    scenario = Scenario(
        travel=TravelParams(dwell_min=SERVICE_S / 60.0, dwell_per_pupil_min=PER_PUPIL_S / 60.0),
        network=NetworkSettings(network="matrix"),  # the data folder's travel.csv
        routing=RoutingSettings(
            time_limit_s=time_limit_s,
            work_limit=work_limit,
            seed=seed,
            strict_limits=True,
            mixed_school=False,  # the benchmark's runs serve one school each
        ),
    )
    return solve_job(data_dir, out, scenario=scenario)


# --------------------------------------------------------------------------------------------
# Scoring: the benchmark's rules, written again from its README (no engine code)


@dataclass(frozen=True)
class Score:
    runs: int
    violations: int  # pupils whose ride exceeds the limit
    worst_over_s: float
    split_stops: int  # stops served by two runs though one bus could take them
    over_capacity: int
    late: int  # runs reaching their school after AMLATE
    unserved: int
    drive_h: float  # total driving time, first stop to school, hours


def score(inst: Instance, run_dir: Path, max_ride_s: float) -> Score:
    """Score a run folder under the benchmark's rules (see the README of the instances)."""

    def rows(name: str) -> list[dict[str, str]]:
        with open(run_dir / name, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    routes = rows("routes.csv")
    stops_rows = rows("stops.csv")
    pickup = {r["pupil_id"]: r["pickup"] for r in stops_rows}
    stop_of = lambda pid: pid.rsplit("-", 1)[0]  # noqa: E731  (pupil ids are STOP-k)
    served_by: dict[str, set[str]] = defaultdict(set)
    violations = over_cap = late = 0
    worst = 0.0
    drive_s = 0.0
    served = 0
    for r in routes:
        pupils = [p for p in r["pupils"].split(";") if p]
        served += len(pupils)
        school = r["school_id"]
        sx, sy, amlate = inst.schools[school]
        if len(pupils) > CAPACITY:
            over_cap += 1
        visits: list[list[str]] = []
        for p in pupils:  # consecutive pupils of one stop board at one visit
            if visits and stop_of(visits[-1][0]) == stop_of(p):
                visits[-1].append(p)
            else:
                visits.append([p])
        for v in visits:
            served_by[stop_of(v[0])].add(r["route_id"])
        points = [inst.stops[stop_of(v[0])][:2] for v in visits] + [(sx, sy)]
        legs = [manhattan_ft(a, b) / FT_PER_S for a, b in zip(points, points[1:], strict=False)]
        drive_s += sum(legs)
        for j, v in enumerate(visits):
            ride = sum(legs[j:])
            ride += sum(SERVICE_S + PER_PUPIL_S * len(w) for w in visits[j + 1 :])
            if ride > max_ride_s + 1e-6:
                violations += len(v)
                worst = max(worst, ride - max_ride_s)
            h, m = pickup[v[0]].split(":")
            if (int(h) * 60 + int(m)) * 60 + ride > amlate * 60 + 1e-6:
                late += 1
                break
    split = sum(
        1 for stop, rs in served_by.items() if len(rs) > 1 and inst.stops[stop][3] <= CAPACITY
    )
    total = sum(n for *_, n in inst.stops.values())
    return Score(
        len(routes), violations, worst, split, over_cap, late, total - served, drive_s / 3600
    )


def published(bench: Path) -> dict[tuple[str, int], dict[str, str]]:
    with open(bench / "published_runs.csv", newline="", encoding="utf-8") as fh:
        return {(r["instance"], int(r["max_ride_s"])): r for r in csv.DictReader(fh)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=BENCH)
    parser.add_argument("--instances", default="", help="comma-separated (default: all)")
    parser.add_argument("--limits", default="2700,5400", help="max ride in seconds")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per plan")
    parser.add_argument("--work-limit", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="keep data and runs here")
    args = parser.parse_args()
    names = [n for n in args.instances.split(",") if n] or sorted(
        p.name for p in args.bench.iterdir() if (p / "Stops.txt").exists()
    )
    limits = [int(x) for x in args.limits.split(",")]
    best = published(args.bench)
    mode = f"work limit {args.work_limit:g}" if args.work_limit else f"{args.time_limit:g} s"
    print(f"school-bus benchmark: {mode} a plan, seed {args.seed}, {os.cpu_count()} CPUs")
    head = (
        f"{'instance':>8} {'ride':>5} {'pupils':>6} {'ours':>5} {'best':>5} {'bound':>5} "
        f"{'viol':>4} {'split':>5} {'late':>4} {'drive h':>8} {'wall s':>7}  load"
    )
    print(head, flush=True)
    root = args.keep or Path(tempfile.mkdtemp(prefix="school-bus-"))
    table = []
    for name in names:
        inst = read_instance(args.bench / name)
        for limit in limits:
            folder = root / f"{name}-{limit}"
            data = write_data(inst, folder / "data", limit)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            solve(
                data,
                folder / "run",
                time_limit_s=args.time_limit,
                work_limit=args.work_limit,
                seed=args.seed,
            )
            wall = time.perf_counter() - start
            s = score(inst, folder / "run", limit)
            ref = best[(name, limit)]
            pupils = sum(n for *_, n in inst.stops.values())
            row = (
                f"{name:>8} {limit:>5} {pupils:>6,} {s.runs:>5} {ref['best_routes']:>5} "
                f"{ref['cap_lb']:>5} {s.violations:>4} {s.split_stops:>5} {s.late:>4} "
                f"{s.drive_h:>8.1f} {wall:>7.0f}  {load:.2f}"
            )
            if s.unserved or s.over_capacity:
                row += f"  UNSERVED {s.unserved} OVER {s.over_capacity}"
            print(row, flush=True)
            table.append((name, limit, s, int(ref["best_routes"]), int(ref["cap_lb"]), wall))
    ours = sum(t[2].runs for t in table)
    bests = sum(t[3] for t in table)
    worse = [f"{t[0]}@{t[1]}" for t in table if t[2].runs > t[3]]
    print(
        f"\ntotal runs {ours} against {bests} best published; violations "
        f"{sum(t[2].violations for t in table)}; more runs than published on "
        f"{', '.join(worse) or 'none'}; longest plan {max(t[5] for t in table):.0f} s"
    )
    if args.keep is None:
        print(f"(data and runs in {root})")


if __name__ == "__main__":
    main()
