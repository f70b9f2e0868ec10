"""An independent checker of a routing run: it reads only files and recomputes every rule.

It reads a run folder (routes.csv, stops.csv, placements.csv, summary.json) and the data
folder's CSV files with the standard library and numpy, recomputes travel with its own
crow-fly model (great-circle miles × circuity at the average speed, parameters from
summary.json), or reads the run's travel matrix file itself when the run used one, and returns
a list of violations; an empty list means the run keeps the contract.

Shared stops: consecutive pupils of a route with the same ``stop_id`` board at one visit (one
pickup time, one ride); a stop is never visited twice by one route, and a stop's pupils of one
school ride one vehicle unless no vehicle type could take them all (seats, wheelchair spaces,
a PA's seat) or two of them are incompatible. A visit's dwell is ``dwell_min`` plus
``dwell_per_pupil_min`` per pupil boarding, added to the ride of every pupil already aboard.

A mixed-school route names its schools in visiting order in ``school_id``, ``;``-separated;
it drives every pickup, then the schools in that order, and a stop at a school before the
last adds ``dwell_min`` to the ride of the pupils still aboard.

With ``strict_limits`` (summary.json ``parameters.routing``) a ride may not exceed the stated
limit unless the direct journey alone does, and then not the direct journey.

Usage::

    from tests.checker import check_run
    assert check_run("runs/tonight", "data/kent") == []
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

EARTH_RADIUS_MILES = 3958.7613
EPS = 1e-6


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [
            {k.strip().lower(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)
        ]


def _latlon(row: dict[str, str]) -> tuple[float, float]:
    if row.get("lat") and row.get("lon"):
        return float(row["lat"]), float(row["lon"])
    from pyproj import Transformer  # British National Grid, if a file gives it

    t = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = t.transform(float(row["easting"]), float(row["northing"]))
    return lat, lon


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _flag(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "y"}


class Travel:
    """The contract's crow-fly model, written again from its definition, or a travel matrix
    read from its file; points are named by travel id (school, stop or pupil id)."""

    def __init__(
        self,
        circuity: float,
        speed_mph: float,
        where: dict[str, tuple[float, float]],
        matrix: dict[tuple[str, str], tuple[float, float]] | None = None,
    ) -> None:
        self.circuity = circuity
        self.speed = speed_mph
        self.where = where
        self.matrix = matrix

    def _crowfly(self, a: str, b: str) -> float:
        lat1, lon1, lat2, lon2 = map(math.radians, (*self.where[a], *self.where[b]))
        h = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(min(1.0, max(0.0, h)))) * self.circuity

    def miles(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        if self.matrix is not None:
            return self.matrix[a, b][0]
        return self._crowfly(a, b)

    def minutes(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        if self.matrix is not None:
            return self.matrix[a, b][1]
        return self._crowfly(a, b) / self.speed * 60.0


def _read_matrix(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    out = {}
    for r in _rows(path):
        out[r["from_id"], r["to_id"]] = (float(r["miles"]), float(r["minutes"]))
    return out


def check_run(run_dir: str | Path, data_dir: str | Path) -> list[str]:
    """Every violation of the contract's route rules in a run folder (empty = good)."""
    run, data = Path(run_dir), Path(data_dir)
    out: list[str] = []
    summary: dict[str, Any] = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    par = summary["parameters"]
    dwell = float(par["travel"]["dwell_min"])
    per_pupil = float(par["travel"].get("dwell_per_pupil_min", 0.0))
    strict = bool(par.get("routing", {}).get("strict_limits", False))
    ride_par, cost_par = par["ride"], par["cost"]

    schools = {r["school_id"]: r for r in _rows(data / "schools.csv")}
    pupils = {r["pupil_id"]: r for r in _rows(data / "pupils.csv")}
    vehicles = {r["vehicle_type"]: r for r in _rows(data / "vehicles.csv")}
    pairs = []
    if (data / "incompatible.csv").exists():
        pairs = [(r["pupil_a"], r["pupil_b"]) for r in _rows(data / "incompatible.csv")]
    placed = {r["pupil_id"]: r["school_id"] for r in _rows(run / "placements.csv")}
    routes = _rows(run / "routes.csv")
    stops = _rows(run / "stops.csv")
    unrouted = set(summary.get("unrouted", []))
    stop_of = {pid: p.get("stop_id", "") for pid, p in pupils.items()}
    point = {pid: stop_of[pid] or pid for pid in pupils}  # travel id of a pupil's pickup
    where = {sid: _latlon(s) for sid, s in schools.items()}
    where |= {point[pid]: _latlon(p) for pid, p in pupils.items()}
    model = par.get("travel_model", {})
    matrix = None
    if model.get("backend") == "matrix":
        matrix = _read_matrix(Path(model["file"]))
    travel = Travel(par["travel"]["circuity"], par["travel"]["speed_mph"], where, matrix)

    # every placed, routable pupil on exactly one route; nobody else on any
    on_route = Counter(p for r in routes for p in r["pupils"].split(";") if p)
    for pid in placed:
        want = 0 if pid in unrouted else 1
        if on_route[pid] != want:
            out.append(f"pupil {pid} is on {on_route[pid]} routes, expected {want}")
    for pid in on_route:
        if pid not in placed:
            out.append(f"pupil {pid} is on a route but not placed")
    for pid in unrouted - set(placed):
        out.append(f"unrouted pupil {pid} is not placed")
    for pid in summary.get("unplaced", []):
        if pid in placed:
            out.append(f"pupil {pid} is both placed and unplaced")

    stops_by_route: dict[str, list[dict[str, str]]] = defaultdict(list)
    for s in stops:
        stops_by_route[s["route_id"]].append(s)
    pair_set = {frozenset(p) for p in pairs}
    total = 0.0
    by_type: Counter[str] = Counter()
    routes_of_stop: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in routes:
        rid = r["route_id"]
        members = [p for p in r["pupils"].split(";") if p]
        route_schools = r["school_id"].split(";")
        v = vehicles.get(r["vehicle_type"])
        if v is None or not members or any(s not in schools for s in route_schools):
            out.append(f"route {rid}: unknown vehicle type or school, or no pupils")
            continue
        by_type[r["vehicle_type"]] += 1
        has_pa = _flag(r["has_pa"])
        wheel = sum(_flag(pupils[p]["wheelchair"]) for p in members)
        if len(members) - wheel + int(has_pa) > int(v["seats"]):
            out.append(f"route {rid}: more seats used than the {v['vehicle_type']} has")
        if wheel > int(v["wheelchair_spaces"]):
            out.append(f"route {rid}: more wheelchairs than spaces")
        if has_pa != any(_flag(pupils[p]["needs_pa"]) for p in members):
            out.append(f"route {rid}: has_pa does not match its pupils' needs")
        if len(members) > 1 and any(_flag(pupils[p]["solo"]) for p in members):
            out.append(f"route {rid}: a solo pupil shares the vehicle")
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                if frozenset((members[a], members[b])) in pair_set:
                    out.append(f"route {rid}: incompatible pupils {members[a]} and {members[b]}")
        for p in members:
            if placed.get(p) not in route_schools:
                out.append(f"route {rid}: pupil {p} is placed at another school")
        visits: list[list[str]] = []
        for p in members:
            if visits and stop_of[p] and stop_of[visits[-1][0]] == stop_of[p]:
                visits[-1].append(p)
            else:
                visits.append([p])
        seen_stops = Counter(stop_of[vis[0]] for vis in visits if stop_of[vis[0]])
        for stop, k in seen_stops.items():
            if k > 1:
                out.append(f"route {rid}: stop {stop} is visited {k} times")
        for p in members:
            if stop_of[p] and not _flag(pupils[p]["solo"]):
                routes_of_stop[stop_of[p], placed.get(p, "")].add(rid)
        out += _check_times(
            r,
            visits,
            route_schools,
            stops_by_route.get(rid, []),
            travel,
            (dwell, per_pupil, strict),
            point,
            pupils,
            schools,
            placed,
            ride_par,
        )
        route_stops = stops_by_route.get(rid, [])
        if route_stops and "dropoff" in route_stops[0]:
            rules = (dwell, per_pupil, strict)
            where = (travel, point, pupils, schools, placed)
            out += _check_afternoon(r, visits, route_schools, route_stops, rules, where)
            out += _check_reasons(
                r, visits, route_schools, route_stops, where, vehicles, ride_par, cost_par
            )
        miles = _route_miles(visits, route_schools, travel, point)
        written = float(r["route_miles"])
        if abs(miles - written) > 0.0051:
            out.append(f"route {rid}: route_miles {written} but recomputed {miles:.4f}")
        day = float(v["day_rate"]) + float(v["per_mile"]) * 2 * written
        day += float(cost_par["pa_day_rate"]) if has_pa else 0.0
        cost = cost_par["school_days"] * day
        if abs(cost - float(r["annual_cost"])) > 0.011:
            out.append(f"route {rid}: annual_cost {r['annual_cost']} but recomputed {cost:.2f}")
        total += float(r["annual_cost"])
    out += _check_split_stops(routes_of_stop, pupils, stop_of, placed, vehicles, pair_set)
    if abs(total - float(summary["annual_transport_cost"])) > 0.011:
        out.append(
            f"summary annual_transport_cost {summary['annual_transport_cost']} != {total:.2f}"
        )
    if summary.get("routes") != len(routes):
        out.append(f"summary routes {summary.get('routes')} != {len(routes)}")
    for name, v in vehicles.items():
        if v.get("available") and by_type[name] > int(v["available"]):
            out.append(f"{by_type[name]} routes of {name} but only {v['available']} available")
    return out


def _check_split_stops(routes_of_stop, pupils, stop_of, placed, vehicles, pair_set) -> list[str]:
    """A stop's (non-solo) pupils of one school on two or more routes: only when no vehicle
    type could take them all, or two of them are incompatible."""
    out = []
    for (stop, school), rids in routes_of_stop.items():
        if len(rids) < 2:
            continue
        group = [
            p
            for p, s in stop_of.items()
            if s == stop and placed.get(p) == school and not _flag(pupils[p]["solo"])
        ]
        wheel = sum(_flag(pupils[p]["wheelchair"]) for p in group)
        seats = len(group) - wheel + int(any(_flag(pupils[p]["needs_pa"]) for p in group))
        fits = any(
            int(v["seats"]) >= seats and int(v["wheelchair_spaces"]) >= wheel
            for v in vehicles.values()
        )
        clash = any(frozenset((a, b)) in pair_set for a in group for b in group if a < b)
        if fits and not clash:
            out.append(f"stop {stop} is split over {len(rids)} routes though one vehicle fits")
    return out


def _route_miles(visits, route_schools, travel, point) -> float:
    points = [point[v[0]] for v in visits] + list(route_schools)
    return sum(travel.miles(a, b) for a, b in zip(points, points[1:], strict=False))


def _check_times(
    r, visits, route_schools, stops, travel, rules, point, pupils, schools, placed, ride_par
) -> list[str]:
    """Each ride recomputed (travel + dwells) within its limit, matching stops.csv, on time."""
    dwell, per_pupil, strict = rules
    out: list[str] = []
    rid = r["route_id"]
    members = [p for v in visits for p in v]
    seqs = sorted(stops, key=lambda s: int(s["seq"]))
    in_order = [s["pupil_id"] for s in seqs] == members
    if not in_order or [int(s["seq"]) for s in seqs] != list(range(1, len(members) + 1)):
        return [f"route {rid}: stops.csv does not list its pupils in pickup order"]
    row = {s["pupil_id"]: s for s in seqs}
    points = [point[v[0]] for v in visits] + list(route_schools)
    legs = [travel.minutes(a, b) for a, b in zip(points, points[1:], strict=False)]
    # the dwell each point adds to the ride of the pupils already aboard
    waits = [dwell + per_pupil * len(v) for v in visits] + [dwell] * len(route_schools)
    k = len(visits)
    for j, visit in enumerate(visits):
        if len({row[p]["pickup"] for p in visit}) > 1:
            out.append(f"route {rid}: pupils of one visit have different pickup times")
        for p in visit:
            s = row[p]
            own = placed[p] if placed.get(p) in route_schools else route_schools[-1]
            target = k + route_schools.index(own)  # index of the pupil's school in ``points``
            ride = sum(legs[j:target]) + sum(waits[j + 1 : target])
            direct = travel.minutes(point[p], own)
            limit = _limit(pupils[p], ride_par)
            if strict:
                eff = max(limit, direct)
            else:
                eff = max(limit, direct + float(ride_par["direct_slack_min"]))
            if ride > eff + EPS:
                out.append(f"route {rid}: pupil {p} rides {ride:.2f} min, limit {eff:.2f}")
            if abs(ride - float(s["ride_min"])) > 0.1:
                out.append(
                    f"route {rid}: pupil {p} ride_min {s['ride_min']} but recomputed {ride:.2f}"
                )
            if _hhmm(s["pickup"]) + ride > _hhmm(schools[own]["arrive_by"]) + EPS:
                out.append(f"route {rid}: pupil {p} picked up at {s['pickup']} arrives late")
    return out


def _limit(pupil: dict[str, str], ride_par: dict[str, Any]) -> float:
    if pupil.get("max_ride_min"):
        return float(pupil["max_ride_min"])
    age = int(pupil["age"])
    if age <= ride_par["primary_max_age"]:
        return float(ride_par["primary_limit_min"])
    return float(ride_par["secondary_limit_min"])


# --------------------------------------------------------------------------------------------
# Placement reasons (placements.csv reason_code, reason, nearer_full)

PLACEMENT_REASON_CODES = {"current", "nearest-suitable", "nearer-full", "optimal"}


def _serves(school: dict[str, str], need: str, age: int) -> bool:
    needs = {n.strip() for n in school["needs"].split(";")}
    return ("*" in needs or need in needs) and int(school["age_min"]) <= age <= int(
        school["age_max"]
    )


def placement_reason_problems(
    rows: list[dict[str, str]],
    schools: dict[str, dict[str, str]],
    pupils: dict[str, dict[str, str]],
    miles: Any,
    capacity: dict[str, int],
    *,
    policy: str,
    school_days: float = 190.0,
    cost_per_pupil_mile: float = 1.25,
) -> list[str]:
    """Every reason of placements.csv rows that the data contradicts (empty = all explained).

    ``miles(pupil_id, school_id)`` is the road miles of the travel model; ``capacity`` each
    school's places (capacity changes included). Recomputed here: suitability, which suitable
    schools are nearer (fewer miles, ties to the lower school_id), which are full (the pupils
    placed reach capacity), and for ``optimal`` that the chosen school costs no more than the
    nearest suitable school with a free place.
    """
    out: list[str] = []
    count = Counter(r["school_id"] for r in rows)
    full = {sid: count[sid] >= capacity[sid] for sid in schools}
    for r in rows:
        pid, chosen, code = r["pupil_id"], r["school_id"], r.get("reason_code", "")
        pupil = pupils[pid]
        if code not in PLACEMENT_REASON_CODES or not r.get("reason"):
            out.append(f"pupil {pid}: reason_code {code!r} or its reason is missing")
            continue
        listed = [s for s in r.get("nearer_full", "").split(";") if s]
        if code != "nearer-full" and listed:
            out.append(f"pupil {pid}: nearer_full filled for reason {code}")
        if code == "current":
            if pupil.get("school_id", "") != chosen:
                out.append(f"pupil {pid}: 'current' but the data names another school")
            continue
        need, age = pupil["need"], int(pupil["age"])
        own = miles(pid, chosen)
        suitable = [s for s in schools if _serves(schools[s], need, age)]
        if chosen not in suitable:
            out.append(f"pupil {pid}: placed at a school that does not suit them")
            continue
        nearer = sorted(
            (s for s in suitable if (miles(pid, s), s) < (own, chosen)),
            key=lambda s: (miles(pid, s), s),
        )
        if code == "nearest-suitable":
            if nearer:
                out.append(f"pupil {pid}: 'nearest-suitable' but {nearer[0]} is nearer")
        elif code == "nearer-full":
            if listed != nearer:
                out.append(f"pupil {pid}: nearer_full {listed} but nearer suitable {nearer}")
            for s in listed:
                if s not in suitable or s not in nearer or not full[s]:
                    out.append(f"pupil {pid}: listed school {s} is not suitable, nearer and full")
            free = [s for s in nearer if not full[s]]
            if free:
                out.append(f"pupil {pid}: nearer suitable school {free[0]} has a free place")
        elif code == "optimal":
            free = [s for s in nearer if not full[s]]
            if policy != "optimal" or not free:
                out.append(f"pupil {pid}: 'optimal' without the optimal policy or a free place")
                continue
            per_mile = school_days * 2.0 * cost_per_pupil_mile
            est = [
                float(schools[s]["place_cost"]) + per_mile * miles(pid, s)
                for s in (chosen, free[0])
            ]
            if est[0] > est[1] + 0.01:
                out.append(f"pupil {pid}: 'optimal' but {free[0]} costs less")
    return out


def check_placements(run_dir: str | Path, data_dir: str | Path) -> list[str]:
    """Every placement reason of a run (crow-fly travel) that the data contradicts."""
    run, data = Path(run_dir), Path(data_dir)
    summary: dict[str, Any] = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    par = summary["parameters"]
    schools = {r["school_id"]: r for r in _rows(data / "schools.csv")}
    pupils = {r["pupil_id"]: r for r in _rows(data / "pupils.csv")}
    capacity = {sid: int(s["capacity"]) for sid, s in schools.items()}
    if (run / "capacity.csv").exists():
        for r in _rows(run / "capacity.csv"):
            capacity[r["school_id"]] += int(r["places_added"])
    circuity = float(par["travel"]["circuity"])
    where = {sid: _latlon(s) for sid, s in schools.items()}
    home = {pid: _latlon(p) for pid, p in pupils.items()}

    def miles(pid: str, sid: str) -> float:
        lat1, lon1, lat2, lon2 = map(math.radians, (*home[pid], *where[sid]))
        h = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(min(1.0, max(0.0, h)))) * circuity

    return placement_reason_problems(
        _rows(run / "placements.csv"),
        schools,
        pupils,
        miles,
        capacity,
        policy=summary["policy"],
        school_days=float(par["cost"]["school_days"]),
        cost_per_pupil_mile=float(par["cost"]["est_cost_per_pupil_mile"]),
    )


# --------------------------------------------------------------------------------------------
# Journey reasons and the afternoon run (stops.csv's columns after the contract's five)

FINISH_AT = "15:15"  # the contract's default end of the school day
AFTERNOON_GAP = 5  # minutes after finish_at the afternoon run leaves
JOURNEY_CODES = {"long-direct", "shared-saving"}


def _finish(school: dict[str, str]) -> int:
    return _hhmm(school.get("finish_at") or FINISH_AT)


def _afternoon_rides(visits, route_schools, rules, where) -> dict[str, tuple[float, float]]:
    """Each pupil's afternoon ride and when they leave school, from the contract: the vehicle
    leaves the school 5 minutes after finish_at and drops in reverse pickup order, a visit's
    dwell added for each visit before a pupil's. A mixed-school route leaves its last school
    first, calls at the first (a dwell; not before its own finish_at + 5), then drops."""
    dwell, per_pupil, _ = rules
    travel, point, pupils, schools, placed = where
    first = route_schools[0]
    ride_from_first: list[float] = [0.0] * len(visits)
    t = 0.0
    at = first
    for j in range(len(visits) - 1, -1, -1):  # drop order: the last pickup first
        t += travel.minutes(at, point[visits[j][0]])
        ride_from_first[j] = t
        t += dwell + per_pupil * len(visits[j])
        at = point[visits[j][0]]
    leave = _finish(schools[first]) + AFTERNOON_GAP
    out = {}
    if len(route_schools) == 1:
        for j, visit in enumerate(visits):
            for p in visit:
                out[p] = (ride_from_first[j], float(leave))
        return out
    last = route_schools[-1]
    start_last = _finish(schools[last]) + AFTERNOON_GAP
    depart = max(start_last + travel.minutes(last, first) + dwell, float(leave))
    for j, visit in enumerate(visits):
        for p in visit:
            if placed.get(p) == first:
                out[p] = (ride_from_first[j], depart)
            else:
                out[p] = (ride_from_first[j] + depart - start_last, float(start_last))
    return out


def _check_afternoon(r, visits, route_schools, stops, rules, where) -> list[str]:
    """pm_ride_min and dropoff recomputed; pm_over_min against the pupil's limit."""
    out: list[str] = []
    rid = r["route_id"]
    rows = {s["pupil_id"]: s for s in stops}
    for p, (ride, leave) in _afternoon_rides(visits, route_schools, rules, where).items():
        s = rows.get(p)
        if s is None:
            continue
        if abs(ride - float(s["pm_ride_min"])) > 0.1:
            out.append(
                f"route {rid}: pupil {p} pm_ride_min {s['pm_ride_min']}, recomputed {ride:.2f}"
            )
        home = leave + ride  # dropoff is written to the minute, rounded down
        if not _hhmm(s["dropoff"]) - 0.01 <= home < _hhmm(s["dropoff"]) + 1.01:
            out.append(f"route {rid}: pupil {p} dropoff {s['dropoff']} but home at {home:.2f}")
        limit = float(s["limit_min"])
        over = max(0.0, round(float(s["pm_ride_min"]) - limit, 1))
        if abs(over - float(s["pm_over_min"])) > 0.051:
            out.append(f"route {rid}: pupil {p} pm_over_min {s['pm_over_min']}, expected {over}")
        if (over > 0) != bool(s["pm_reason_code"]) or bool(s["pm_reason_code"]) != bool(
            s["pm_reason"]
        ):
            out.append(f"route {rid}: pupil {p} afternoon reason present iff over its limit")
    return out


def cheapest_alone_cost(pupil, miles, vehicles, cost_par) -> float | None:
    """The cheapest vehicle type carrying a pupil alone (a wheelchair space or a seat, and a
    seat for a PA when needed; not a type with ``available`` 0), to the penny."""
    pa = _flag(pupil["needs_pa"])
    best = None
    for v in vehicles.values():
        if v.get("available", "") not in ("", None) and int(v["available"]) == 0:
            continue
        seats, spaces = int(v["seats"]), int(v["wheelchair_spaces"])
        fits = spaces >= 1 and seats >= int(pa) if _flag(pupil["wheelchair"]) else seats >= 1 + pa
        if not fits:
            continue
        cost = _route_cost(v, round(miles, 2), pa, cost_par)
        best = cost if best is None else min(best, cost)
    return best


def _route_cost(v, miles, has_pa, cost_par) -> float:
    day = float(v["day_rate"]) + float(v["per_mile"]) * 2 * miles
    day += float(cost_par["pa_day_rate"]) if has_pa else 0.0
    return round(cost_par["school_days"] * day, 2)


def _check_reasons(r, visits, route_schools, stops, where, vehicles, ride_par, cost_par):
    """limit, direct and over recomputed; a reason exactly when a ride passes its limit;
    long-direct only when direct_min > limit − 15, shared-saving only when not; sharing_saving
    recomputed from routes.csv and the rate card."""
    travel, point, pupils, schools, placed = where
    out: list[str] = []
    rid = r["route_id"]
    slack = float(ride_par["direct_slack_min"])
    members = [p for v in visits for p in v]
    rows = {s["pupil_id"]: s for s in stops}
    for p in members:
        s = rows.get(p)
        if s is None:
            continue
        own = placed[p] if placed.get(p) in route_schools else route_schools[-1]
        limit = _limit(pupils[p], ride_par)
        if float(s["limit_min"]) != limit:
            out.append(f"route {rid}: pupil {p} limit_min {s['limit_min']}, expected {limit:g}")
        direct = travel.minutes(point[p], own)
        if abs(direct - float(s["direct_min"])) > 0.051:
            out.append(f"route {rid}: pupil {p} direct_min {s['direct_min']}, {direct:.2f}")
        ride, written_direct = float(s["ride_min"]), float(s["direct_min"])
        over = max(0.0, round(ride - limit, 1))
        if abs(over - float(s["over_min"])) > 0.051:
            out.append(f"route {rid}: pupil {p} over_min {s['over_min']}, expected {over:.1f}")
        code = s["reason_code"]
        if (over > 0) != bool(code) or bool(code) != bool(s["reason"]):
            out.append(f"route {rid}: pupil {p} has a reason iff the ride passes its limit")
            continue
        if not code:
            if s["sharing_saving"]:
                out.append(f"route {rid}: pupil {p} sharing_saving without a reason")
            continue
        if code not in JOURNEY_CODES:
            out.append(f"route {rid}: pupil {p} unknown reason_code {code!r}")
        if code == "long-direct" and not written_direct > limit - slack:
            out.append(
                f"route {rid}: pupil {p} long-direct but direct {written_direct} <= limit−15"
            )
        if code == "shared-saving" and written_direct > limit - slack:
            out.append(f"route {rid}: pupil {p} shared-saving but direct > limit−15")
        if f"{written_direct:.1f} min" not in s["reason"]:
            out.append(f"route {rid}: pupil {p} reason does not state the direct time")
        out += _check_saving(r, visits, route_schools, p, s, where, vehicles, cost_par)
    return out


def _check_saving(r, visits, route_schools, p, s, where, vehicles, cost_par) -> list[str]:
    """sharing_saving = the same route without the pupil (same type, same order) + the
    cheapest vehicle carrying the pupil alone − the route's annual cost (routes.csv)."""
    travel, point, pupils, schools, placed = where
    rid = r["route_id"]
    rest = [tuple(q for q in v if q != p) for v in visits]
    rest = [v for v in rest if v]
    v = vehicles[r["vehicle_type"]]
    tol = 0.021  # pennies: each cost is rounded to the penny, as the engine rounds it
    without = 0.0
    if rest:
        remaining = [q for vis in rest for q in vis]
        drive_to = [sc for sc in route_schools if any(placed.get(q) == sc for q in remaining)]
        drive_to = drive_to or route_schools[-1:]
        miles = _route_miles(rest, drive_to, travel, point)
        has_pa = any(_flag(pupils[q]["needs_pa"]) for q in remaining)
        without = _route_cost(v, round(miles, 2), has_pa, cost_par)
    own = placed[p] if placed.get(p) in route_schools else route_schools[-1]
    alone_miles = travel.miles(point[p], own)
    alone = cheapest_alone_cost(pupils[p], alone_miles, vehicles, cost_par)
    if alone is None:
        return [] if not s["sharing_saving"] else [f"route {rid}: {p} no vehicle alone"]
    saving = without + alone - float(r["annual_cost"])
    if not s["sharing_saving"] or abs(float(s["sharing_saving"]) - saving) > tol:
        return [f"route {rid}: pupil {p} sharing_saving {s['sharing_saving']}, {saving:.2f}"]
    return []
