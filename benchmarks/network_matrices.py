"""Benchmark: road-network matrices for a county — placement and routing, cold and cached.

Run:  .venv/bin/python benchmarks/network_matrices.py [--nodes 200000] [--workers N]
      [--skip-rutland]

A county-sized synthetic road graph is built directly as arrays (no OSMnx): a perturbed grid
of local roads over about 60 × 40 km (40 km/h ± 20%), A-roads every 4 km (65 km/h) and three
motorways (100 km/h) with junctions every 3 km. 4,200 pupils live around 100 schools (groups
of about 42, spread 6 km around their school). The model then computes every matrix a night
run asks for:

- placement: pupils × schools (one call, 4,200 × 100);
- routing: for each school, ``[school, *its pupils]`` among themselves (100 calls of 43 × 43).

It prints the wall time of each phase, peak memory (this process and the largest worker
process; ``--workers`` sets how many share the trees), and the time of a cached re-run
(a new model on the saved graph arrays and the pair cache, as tomorrow night). Targets: cold
< 3 minutes on 2 cores, peak < 4 GB, cached < 10 s. Then it times the real Rutland network
(``../shared/osm/rutland-drive.osm.bz2``): build, cached load and a 2,000 × 20 matrix.
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from pyproj import Transformer

from transport.travel.network import RoadGraph, RoadNetworkModel, load_road_graph

RUTLAND = Path(__file__).resolve().parents[1].parent / "shared" / "osm" / "rutland-drive.osm.bz2"
ORIGIN = (560_000.0, 130_000.0)  # British National Grid, mid Kent


def synthetic_county(n_nodes: int, seed: int = 0) -> tuple[RoadGraph, np.ndarray]:
    """A perturbed grid road network of about ``n_nodes`` nodes over 60 × 40 km (3:2)."""
    rng = np.random.default_rng(seed)
    nx_ = int(round(math.sqrt(n_nodes * 1.5)))
    ny_ = int(round(n_nodes / nx_))
    dx, dy = 60_000.0 / nx_, 40_000.0 / ny_
    gx, gy = np.meshgrid(np.arange(nx_), np.arange(ny_))
    x = ORIGIN[0] + gx.ravel() * dx + rng.normal(0, dx * 0.15, gx.size)
    y = ORIGIN[1] + gy.ravel() * dy + rng.normal(0, dy * 0.15, gy.size)
    idx = np.arange(nx_ * ny_).reshape(ny_, nx_)
    a_every_x, a_every_y = int(4000 / dx), int(4000 / dy)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    horizontal = np.arange(u.size) < idx[:, :-1].size
    a_road = np.where(
        horizontal, (u // nx_) % a_every_y == 0, (u % nx_) % a_every_x == 0
    )  # A-roads run along every 4 km grid line
    keep = a_road | (rng.random(u.size) > 0.08)  # a few local roads missing: irregular blocks
    u, v, a_road = u[keep], v[keep], a_road[keep]
    speed = np.where(a_road, 65.0, 40.0 * rng.uniform(0.8, 1.2, u.size))
    # three motorways: two east-west, one north-south, junctions every 3 km
    mu, mv, mspeed = [], [], []
    extra_x, extra_y = [], []
    n = x.size
    for horizontal_line, at in ((True, ny_ // 3), (True, 2 * ny_ // 3), (False, nx_ // 2)):
        line = idx[at, :] if horizontal_line else idx[:, at]
        step = int(3000 / (dx if horizontal_line else dy))
        junctions = line[::step]
        ids = np.arange(n, n + junctions.size)
        n += junctions.size
        extra_x.append(x[junctions])
        extra_y.append(y[junctions])
        mu += [ids[:-1], ids[1:], ids, junctions]
        mv += [ids[1:], ids[:-1], junctions, ids]
        mspeed += [np.full(ids.size - 1, 100.0)] * 2 + [np.full(ids.size, 30.0)] * 2
    x, y = np.concatenate([x, *extra_x]), np.concatenate([y, *extra_y])
    u = np.concatenate([u, v, *mu])
    v_all = np.concatenate([v, u[: v.size], *mv])
    speed = np.concatenate([speed, speed, *mspeed])
    metres = np.hypot(x[u] - x[v_all], y[u] - y[v_all])
    metres = np.where(speed == 30.0, 150.0, metres)  # slip roads
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(x, y)
    graph = RoadGraph.from_edges(
        lat=lat,
        lon=lon,
        u=u,
        v=v_all,
        seconds=metres / (speed / 3.6),
        metres=metres,
        source=f"synthetic county grid {nx_}x{ny_} seed {seed}",
    ).largest_component()
    return graph, _to_xy(graph)


def _to_xy(graph: RoadGraph) -> np.ndarray:
    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    return np.column_stack(to_grid.transform(graph.lon, graph.lat))


def synthetic_pupils(
    xy: np.ndarray, n_pupils: int, n_schools: int, seed: int = 0
) -> tuple[np.ndarray, list[np.ndarray]]:
    """School points and, per school, its pupils' points (lat, lon)."""
    rng = np.random.default_rng(seed + 1)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    schools = lo + (hi - lo) * rng.uniform(0.05, 0.95, (n_schools, 2))
    group = rng.integers(0, n_schools, n_pupils)
    homes = np.clip(schools[group] + rng.normal(0, 6000, (n_pupils, 2)), lo, hi)
    to_ll = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def ll(p: np.ndarray) -> np.ndarray:
        lon, lat = to_ll.transform(p[:, 0], p[:, 1])
        return np.column_stack([lat, lon])

    return ll(schools), [ll(homes[group == s]) for s in range(n_schools)]


def peak_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_of(pid: int) -> float:
    """Peak resident memory of a running process in MB (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def all_matrices(model: RoadNetworkModel, schools: np.ndarray, groups: list[np.ndarray]):
    t = time.perf_counter()
    pupils = np.vstack(groups)
    placement = model.travel_matrix(pupils, schools)
    t_place = time.perf_counter() - t
    routing = []
    for s, homes in enumerate(groups):
        points = np.vstack([schools[s : s + 1], homes])
        routing.append(model.travel_matrix(points, points))
    return placement, routing, t_place, time.perf_counter() - t - t_place


def county(args: argparse.Namespace, cache_dir: Path) -> None:
    t = time.perf_counter()
    graph, xy = synthetic_county(args.nodes)
    schools, groups = synthetic_pupils(xy, args.pupils, args.schools)
    print(
        f"synthetic county: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges, "
        f"{sum(map(len, groups)):,} pupils, {len(schools)} schools "
        f"(built in {time.perf_counter() - t:.1f} s)"
    )
    saved = cache_dir / "county.npz"
    graph.save(saved)

    t0 = time.perf_counter()
    model = RoadNetworkModel(graph, cache_dir=cache_dir, workers=args.workers)
    placement, routing, t_place, t_route = all_matrices(model, schools, groups)
    cold = time.perf_counter() - t0
    worker_mb = max(map(_peak_of, model._pool._processes)) if model._pool else 0.0
    model.close()
    print(f"cold:   placement {t_place:6.1f} s   routing ({len(groups)} calls) {t_route:6.1f} s")
    print(f"        total {cold:6.1f} s with {model.workers} worker(s) (target < 180 s on 2 cores)")
    print(
        f"        peak memory {peak_mb():,.0f} MB, largest worker {worker_mb:,.0f} MB "
        "(target < 4,096 MB)"
    )
    print(
        f"        placement median {np.median(placement.minutes):.1f} min, "
        f"{np.median(placement.miles):.1f} miles; routing median "
        f"{np.median(np.concatenate([r.minutes.ravel() for r in routing])):.1f} min"
    )

    t0 = time.perf_counter()
    again = RoadNetworkModel(RoadGraph.load(saved), cache_dir=cache_dir, workers=args.workers)
    placement2, routing2, t_place, t_route = all_matrices(again, schools, groups)
    cached = time.perf_counter() - t0
    same = np.array_equal(placement.miles, placement2.miles) and all(
        np.array_equal(a.minutes, b.minutes) for a, b in zip(routing, routing2, strict=True)
    )
    print(f"cached: total {cached:6.1f} s incl. graph load (target < 10 s); identical: {same}")


def rutland(cache_dir: Path) -> None:
    if not RUTLAND.exists():
        print(f"Rutland: skipped ({RUTLAND} not found)")
        return
    t = time.perf_counter()
    graph = load_road_graph(osm_file=RUTLAND, cache_dir=cache_dir)
    build = time.perf_counter() - t
    t = time.perf_counter()
    load_road_graph(osm_file=RUTLAND, cache_dir=cache_dir)
    load = time.perf_counter() - t
    model = RoadNetworkModel(graph, cache_dir=cache_dir, cache_pairs=False)
    rng = np.random.default_rng(3)
    pts = np.column_stack([graph.lat, graph.lon])[rng.integers(0, graph.n_nodes, 2020)]
    t = time.perf_counter()
    model.travel_matrix(pts[:2000], pts[2000:])
    matrix = time.perf_counter() - t
    print(
        f"Rutland: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges; build {build:.1f} s, "
        f"cached load {load:.2f} s, 2,000 x 20 matrix {matrix:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--pupils", type=int, default=4200)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None, help="default: CPUs, at most 4")
    parser.add_argument("--skip-rutland", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sen-bench-") as tmp:
        county(args, Path(tmp))
        if not args.skip_rutland:
            rutland(Path(tmp))


if __name__ == "__main__":
    main()
