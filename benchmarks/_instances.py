"""Generated routing instances for the benchmarks: schools with Kent-like pupils around them.

Every pupil here is synthetic. Pupils live at lognormal distances from their school (median
about 5 miles, a tail beyond 20), with the need flags in roughly the proportions of SEN
transport (wheelchair 10 %, PA 25 %, solo 4 %) and the vehicle types of the tiny fixture.
"""

from __future__ import annotations

import math

import numpy as np

from transport.model import (
    Dataset,
    Placement,
    PlacementResult,
    Pupil,
    School,
    VehicleType,
)
from transport.travel import CrowFlyModel, as_points

VEHICLES = (
    VehicleType("taxi", 4, 0, 38.0, 0.95, None),
    VehicleType("mpv", 6, 0, 52.0, 1.10, None),
    VehicleType("minibus", 12, 0, 85.0, 1.40, None),
    VehicleType("wav_taxi", 3, 1, 60.0, 1.20, None),
    VehicleType("wav_minibus", 8, 4, 110.0, 1.70, None),
)
MILES_PER_DEG_LAT = 69.0


def make_school(rng: np.random.Generator, k: int, centre=(51.2, 0.9)) -> School:
    lat = centre[0] + rng.uniform(-0.25, 0.25)
    lon = centre[1] + rng.uniform(-0.5, 0.5)
    arrive = int(rng.choice([525, 530, 540, 555]))
    return School(
        f"G{k:03d}",
        f"School {k}",
        lat,
        lon,
        "Ashford",
        "special",
        4,
        19,
        frozenset({"*"}),
        1000,
        20000.0,
        arrive,
    )


def make_pupils(
    rng: np.random.Generator, school: School, n: int, start: int, *, solo: float = 0.04
) -> list[Pupil]:
    out = []
    for i in range(n):
        r = min(35.0, float(rng.lognormal(math.log(5.0), 0.7)))
        ang = rng.uniform(0, 2 * math.pi)
        lat = school.lat + r * math.sin(ang) / MILES_PER_DEG_LAT
        lon = school.lon + r * math.cos(ang) / (MILES_PER_DEG_LAT * math.cos(math.radians(lat)))
        age = int(rng.integers(5, 19))
        out.append(
            Pupil(
                f"X{start + i:05d}",
                lat,
                lon,
                "Ashford",
                age,
                "ASD",
                school.school_id,
                bool(rng.random() < 0.10),
                bool(rng.random() < 0.25),
                bool(rng.random() < solo),
                None,
            )
        )
    return out


def make_instance(
    sizes: list[int], *, seed: int = 0, pairs: int = 0, vehicles=VEHICLES
) -> tuple[Dataset, PlacementResult]:
    """A data set with one school per size and its pupils, all placed (policy ``keep``)."""
    rng = np.random.default_rng(seed)
    schools, pupils = [], []
    for k, n in enumerate(sizes):
        school = make_school(rng, k)
        schools.append(school)
        pupils += make_pupils(rng, school, n, len(pupils))
    inc = []
    by_school: dict[str, list[str]] = {}
    for p in pupils:
        by_school.setdefault(p.school_id, []).append(p.pupil_id)
    for ids in by_school.values():
        for _ in range(pairs if len(ids) > 1 else 0):
            a, b = rng.choice(len(ids), size=2, replace=False)
            inc.append((ids[int(a)], ids[int(b)]))
    data = Dataset(tuple(schools), tuple(pupils), tuple(vehicles), tuple(dict.fromkeys(inc)))
    return data, place_all(data)


def place_all(data: Dataset) -> PlacementResult:
    model = CrowFlyModel()
    out = []
    for p in data.pupils:
        s = data.school_by_id[p.school_id]
        m = model.travel_matrix(as_points([p]), as_points([s]))
        out.append(
            Placement(p.pupil_id, s.school_id, "keep", float(m.miles[0, 0]), float(m.minutes[0, 0]))
        )
    return PlacementResult("keep", tuple(out), ())


def make_big_school(
    pupils: int = 1200, stops: int = 350, *, seed: int = 0, door_to_door: float = 0.2
) -> tuple[Dataset, PlacementResult]:
    """One large school: ``door_to_door`` of its pupils picked up at home, the others at
    ``stops`` collection points (1-12 pupils each) spread like homes around the school."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    school = replace(make_school(rng, 0), capacity=pupils + 1)
    homes = make_pupils(rng, school, pupils, 0, solo=0.0)
    points = make_pupils(rng, school, stops, 10_000, solo=0.0)
    out = []
    for p in homes:
        if rng.random() < door_to_door:
            out.append(p)
            continue
        # the collection point nearest to home among a few drawn at random
        cand = rng.choice(stops, size=6, replace=False)
        k = min(cand, key=lambda c: (points[c].lat - p.lat) ** 2 + (points[c].lon - p.lon) ** 2)
        out.append(replace(p, lat=points[k].lat, lon=points[k].lon, stop_id=f"CP{k:04d}"))
    data = Dataset((school,), tuple(out), VEHICLES)
    return data, place_all(data)
