"""The road-network travel model on the real Rutland network (and a hand-made map)."""

from __future__ import annotations

import bz2
import json
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.errors import FarFromRoadWarning, ParameterError, TravelModelError
from transport.model import TravelParams
from transport.placement import place_pupils
from transport.scenario import NetworkSettings
from transport.travel import CrowFlyModel, _pairs, _trees, network, travel_model
from transport.travel.network import (
    METRES_PER_MILE,
    RoadGraph,
    RoadNetworkModel,
    load_graph,
    load_road_graph,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RUTLAND = SHARED / "osm" / "rutland-drive.osm.bz2"

needs_rutland = pytest.mark.skipif(
    not RUTLAND.exists(), reason=f"the Rutland OSM extract is not at {RUTLAND}"
)

TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="52.6500" lon="-0.7000"/>
  <node id="2" lat="52.6500" lon="-0.6900"/>
  <node id="3" lat="52.6600" lon="-0.7000"/>
  <node id="4" lat="52.6400" lon="-0.7000"/>
  <node id="5" lat="52.6550" lon="-0.6950"/>
  <node id="6" lat="52.6400" lon="-0.7100"/>
  <way id="10"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="trunk"/><tag k="maxspeed" v="70 mph"/></way>
  <way id="11"><nd ref="1"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="12"><nd ref="1"/><nd ref="4"/><tag k="highway" v="unclassified"/></way>
  <way id="13"><nd ref="2"/><nd ref="5"/><nd ref="3"/><tag k="highway" v="footway"/></way>
  <way id="14"><nd ref="4"/><nd ref="6"/>
    <tag k="highway" v="tertiary"/><tag k="oneway" v="yes"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sen-cache")


@pytest.fixture(scope="module")
def rutland(cache_dir) -> tuple[nx.MultiDiGraph, RoadGraph]:
    """The Rutland graph, built once: OSMnx's graph and the arrays now in the cache."""
    if not RUTLAND.exists():
        pytest.skip(f"the Rutland OSM extract is not at {RUTLAND}")
    built = []

    def spy(**kwargs):
        built.append(load_graph(**kwargs))
        return built[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network, "load_graph", spy)
        arrays = load_road_graph(osm_file=RUTLAND, cache_dir=cache_dir)
    assert len(built) == 1
    return built[0], arrays


@pytest.fixture
def model(rutland) -> RoadNetworkModel:
    return RoadNetworkModel(rutland[1], cache_pairs=False)


def node_points(G: nx.MultiDiGraph, nodes) -> np.ndarray:
    return np.array([[G.nodes[n]["y"], G.nodes[n]["x"]] for n in nodes])


def sample_nodes(G: nx.MultiDiGraph, k: int, seed: int) -> list:
    nodes = sorted(G.nodes)
    rng = np.random.default_rng(seed)
    return [nodes[i] for i in rng.choice(len(nodes), k, replace=False)]


def length_along(G: nx.MultiDiGraph, path: list) -> float:
    """Metres along a path, each step on its quickest parallel edge."""
    return sum(
        min(G[a][b].values(), key=lambda d: d["travel_time"])["length"]
        for a, b in zip(path, path[1:], strict=False)
    )


def assert_matches_networkx(G, matrix, origins, destinations) -> None:
    for i, u in enumerate(origins):
        seconds, paths = nx.single_source_dijkstra(G, u, weight="travel_time")
        for j, v in enumerate(destinations):
            assert matrix.minutes[i, j] * 60 == pytest.approx(seconds[v], rel=1e-6, abs=1e-9)
            metres = length_along(G, paths[v])
            assert matrix.miles[i, j] * METRES_PER_MILE == pytest.approx(metres, rel=1e-6, abs=1e-9)


# --------------------------------------------------------------------------------------------
# Exactness


@needs_rutland
def test_times_and_lengths_equal_networkx_from_the_destinations(rutland, model):
    G, _ = rutland
    origins, destinations = sample_nodes(G, 10, seed=1), sample_nodes(G, 3, seed=2)
    m = model.travel_matrix(node_points(G, origins), node_points(G, destinations))
    assert m.miles.shape == (10, 3)  # 30 pairs, 3 trees on the transposed graph
    assert_matches_networkx(G, m, origins, destinations)


@needs_rutland
def test_times_and_lengths_equal_networkx_square_with_search_limits(rutland, model):
    G, _ = rutland
    nodes = sample_nodes(G, 12, seed=3)  # >= LIMIT_MIN_SOURCES: bounded searches
    m = model.travel_matrix(node_points(G, nodes), node_points(G, nodes))
    assert np.all(np.diag(m.minutes) == 0) and np.all(np.diag(m.miles) == 0)
    assert_matches_networkx(G, m, nodes, nodes)


@needs_rutland
def test_transposed_path_gives_the_direct_matrix(rutland):
    G, arrays = rutland
    pts_o = node_points(G, sample_nodes(G, 30, seed=4))
    pts_d = node_points(G, sample_nodes(G, 4, seed=5))
    transposed = RoadNetworkModel(arrays, cache_pairs=False).travel_matrix(pts_o, pts_d)
    direct_model = RoadNetworkModel(arrays, cache_pairs=False)
    rows = [direct_model.travel_matrix(pts_o[i : i + 1], pts_d) for i in range(len(pts_o))]
    np.testing.assert_allclose(transposed.minutes, np.vstack([r.minutes for r in rows]), rtol=1e-12)
    np.testing.assert_allclose(transposed.miles, np.vstack([r.miles for r in rows]), rtol=1e-9)


@needs_rutland
def test_worker_processes_give_the_same_matrices(rutland, monkeypatch):
    G, arrays = rutland
    monkeypatch.setattr(network, "PARALLEL_MIN_WORK", 0)
    nodes = node_points(G, sample_nodes(G, 16, seed=13))
    schools = node_points(G, sample_nodes(G, 3, seed=14))
    serial = RoadNetworkModel(arrays, cache_pairs=False, workers=1)
    shared = RoadNetworkModel(arrays, cache_pairs=False, workers=2)
    try:
        for o, d in ((nodes, nodes), (nodes, schools), (schools, nodes)):
            a, b = serial.travel_matrix(o, d), shared.travel_matrix(o, d)
            np.testing.assert_allclose(b.minutes, a.minutes, rtol=1e-12)
            np.testing.assert_allclose(b.miles, a.miles, rtol=1e-12)
        assert shared._executor is not None and shared.workers == 2
    finally:
        shared.close()


@needs_rutland
def test_peak_factor_scales_minutes_only(rutland):
    G, arrays = rutland
    pts = node_points(G, sample_nodes(G, 6, seed=6))
    base = RoadNetworkModel(arrays, cache_pairs=False).travel_matrix(pts, pts)
    peak = RoadNetworkModel(arrays, cache_pairs=False, peak_factor=1.2).travel_matrix(pts, pts)
    np.testing.assert_allclose(peak.minutes, base.minutes * 1.2, rtol=1e-12)
    np.testing.assert_array_equal(peak.miles, base.miles)


# --------------------------------------------------------------------------------------------
# Snapping


def haversine_m(lat, lon, lats, lons) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(lats)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


@needs_rutland
def test_snapping_finds_the_nearest_node(rutland, model):
    _, arrays = rutland
    rng = np.random.default_rng(7)
    lat = rng.uniform(arrays.lat.min(), arrays.lat.max(), 15)
    lon = rng.uniform(arrays.lon.min(), arrays.lon.max(), 15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FarFromRoadWarning)
        idx, metres = model.snap(np.column_stack([lat, lon]))
    for k in range(15):
        brute = haversine_m(lat[k], lon[k], arrays.lat, arrays.lon)
        assert idx[k] == int(np.argmin(brute))
        assert metres[k] == pytest.approx(brute.min(), rel=0.005, abs=0.5)


@needs_rutland
def test_a_point_far_from_roads_is_reported_once(rutland, model):
    _, arrays = rutland
    on_road = np.array([[arrays.lat[0], arrays.lon[0]]])
    outside = np.array([[arrays.lat.max() + 0.05, arrays.lon.mean()]])  # ~5.5 km north
    with pytest.warns(FarFromRoadWarning, match="1 point"):
        model.travel_matrix(np.vstack([on_road, outside, outside]), on_road)
    assert len(model.far_snaps) == 1
    far = model.far_snaps[0]
    assert (far.lat, far.lon) == (outside[0, 0], outside[0, 1]) and far.metres > 5000
    with warnings.catch_warnings():
        warnings.simplefilter("error", FarFromRoadWarning)  # known point: no second warning
        model.travel_matrix(outside, on_road)
    assert model.describe()["far_snaps"] == 1


# --------------------------------------------------------------------------------------------
# Caches


@needs_rutland
def test_graph_cache_skips_the_build(rutland, cache_dir, monkeypatch):
    _, arrays = rutland

    def no_build(**kwargs):
        raise AssertionError("the road graph was built again")

    monkeypatch.setattr(network, "load_graph", no_build)
    again = load_road_graph(osm_file=RUTLAND, cache_dir=cache_dir)
    assert again.digest == arrays.digest and again.source == arrays.source
    with pytest.raises(AssertionError, match="built again"):  # new speeds: a new key
        load_road_graph(osm_file=RUTLAND, cache_dir=cache_dir, speeds={"trunk": 60})


@needs_rutland
def test_cached_matrix_is_identical_and_needs_no_tree(rutland, tmp_path, monkeypatch):
    G, arrays = rutland
    pts_o = node_points(G, sample_nodes(G, 25, seed=8))
    pts_d = node_points(G, sample_nodes(G, 5, seed=9))
    first = RoadNetworkModel(arrays, cache_dir=tmp_path).travel_matrix(pts_o, pts_d)
    assert list((tmp_path / "pairs" / arrays.digest).glob("*.npz"))

    def no_tree(*args, **kwargs):
        raise AssertionError("a shortest-path tree was grown")

    monkeypatch.setattr(_trees.Trees, "tree", no_tree)
    reloaded = RoadGraph.load(_saved(arrays, tmp_path))  # as tomorrow night: from disk
    second = RoadNetworkModel(reloaded, cache_dir=tmp_path).travel_matrix(pts_o, pts_d)
    np.testing.assert_array_equal(second.miles, first.miles)
    np.testing.assert_array_equal(second.minutes, first.minutes)
    peak = RoadNetworkModel(arrays, cache_dir=tmp_path, peak_factor=1.5)
    np.testing.assert_array_equal(peak.travel_matrix(pts_o, pts_d).miles, first.miles)
    # a new pupil reuses every cached pair and grows one tree for itself only
    monkeypatch.undo()
    grown = []
    real = _trees.Trees.tree

    def count(self, source, *args, **kwargs):
        grown.append(source)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(_trees.Trees, "tree", count)
    new_pupil = node_points(G, sample_nodes(G, 1, seed=10))
    third = RoadNetworkModel(arrays, cache_dir=tmp_path).travel_matrix(
        np.vstack([pts_o, new_pupil]), pts_d
    )
    assert len(grown) == 1
    np.testing.assert_array_equal(third.miles[:-1], first.miles)


def _saved(arrays: RoadGraph, folder: Path) -> Path:
    path = folder / "graph.npz"
    arrays.save(path)
    return path


def test_pair_store_compacts_its_segments(tmp_path):
    store = _pairs.PairStore(tmp_path, 100)
    for k in range(_pairs.COMPACT_SEGMENTS + 3):
        store.add(np.array([k]), np.array([k + 1]), np.array([float(k)]), np.array([10.0 * k]))
    assert len(list(tmp_path.glob("*.npz"))) == _pairs.COMPACT_SEGMENTS + 3
    again = _pairs.PairStore(tmp_path, 100)
    assert len(list(tmp_path.glob("*.npz"))) == 1 and len(again) == len(store)
    seconds, metres = again.lookup(np.array([3, 4]), np.array([4, 9]))
    assert seconds[0, 0] == 3.0 and metres[0, 0] == 30.0 and np.isnan(seconds[1, 1])


# --------------------------------------------------------------------------------------------
# Building graphs: speeds, drivable roads, strong connectivity, errors


@pytest.fixture
def tiny_osm(tmp_path) -> Path:
    path = tmp_path / "tiny.osm.bz2"
    path.write_bytes(bz2.compress(TINY_OSM.encode()))
    return path


def test_load_graph_speeds_footways_and_one_way_spurs(tiny_osm):
    G = load_graph(osm_file=tiny_osm)
    assert sorted(G.nodes) == [1, 2, 3, 4]  # footway node 5 and one-way dead end 6 dropped
    speed = {d["highway"]: d["speed_kph"] for *_, d in G.edges(data=True)}
    assert speed == {
        "trunk": pytest.approx(70 * 1.609344, rel=1e-4),
        "residential": 30.0,
        "unclassified": 40.0,
    }
    for *_, d in G.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))
    slow = load_graph(osm_file=tiny_osm, speeds={"trunk": 50})
    assert {d["speed_kph"] for *_, d in slow.edges(data=True) if d["highway"] == "trunk"} == {50.0}


def test_graph_build_command_round_trips_through_graphml(tiny_osm, tmp_path):
    out = tmp_path / "tiny.graphml"
    result = CliRunner().invoke(
        cli, ["graph", "build", "--osm-file", str(tiny_osm), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "4 nodes" in result.output
    from_file = RoadGraph.from_networkx(load_graph(osm_file=tiny_osm))
    from_graphml = RoadGraph.from_networkx(load_graph(graphml=out))
    assert from_graphml.digest == from_file.digest


def test_unreachable_pairs_are_counted():
    one_way = RoadGraph.from_edges(
        lat=np.array([52.60, 52.61, 52.62]),
        lon=np.array([-0.70, -0.70, -0.70]),
        u=np.array([0, 1]),
        v=np.array([1, 2]),
        seconds=np.array([60.0, 60.0]),
        metres=np.array([1000.0, 1000.0]),
    )
    model = RoadNetworkModel(one_way, cache_pairs=False)
    pts = np.column_stack([one_way.lat, one_way.lon])
    with pytest.raises(TravelModelError, match="3 of 9 origin-destination pairs"):
        model.travel_matrix(pts, pts)
    assert one_way.largest_component().n_nodes == 1


def test_one_way_ring_is_exact_when_the_symmetry_guess_fails(monkeypatch):
    """A one-way ring makes d(s, a) far from d(a, s): guessed radii fail and are grown again."""
    n = 12
    angle = np.arange(n) * 2 * np.pi / n
    lat, lon = 52.65 + 0.01 * np.sin(angle), -0.70 + 0.016 * np.cos(angle)
    u = np.concatenate([np.arange(n), [0, 6]])
    v = np.concatenate([(np.arange(n) + 1) % n, [6, 0]])
    rng = np.random.default_rng(12)
    seconds = np.concatenate([rng.uniform(40, 80, n), [200.0, 200.0]])
    metres = np.concatenate([rng.uniform(600, 1400, n), [1500.0, 1500.0]])
    ring = RoadGraph.from_edges(lat=lat, lon=lon, u=u, v=v, seconds=seconds, metres=metres)
    calls = []
    real = _trees.Trees.tree

    def count(self, source, *args, **kwargs):
        calls.append(source)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(_trees.Trees, "tree", count)
    pts = np.column_stack([lat, lon])
    m = RoadNetworkModel(ring, cache_pairs=False).travel_matrix(pts, pts)
    assert len(calls) > n  # some guesses failed and were grown again
    D = nx.DiGraph()
    for a, b, t, length in zip(u, v, seconds, metres, strict=True):
        D.add_edge(int(a), int(b), travel_time=t, length=length)
    for i in range(n):
        best, paths = nx.single_source_dijkstra(D, i, weight="travel_time")
        for j in range(n):
            along = sum(D[a][b]["length"] for a, b in zip(paths[j], paths[j][1:], strict=False))
            assert m.minutes[i, j] * 60 == pytest.approx(best[j], rel=1e-12)
            assert m.miles[i, j] * METRES_PER_MILE == pytest.approx(along, rel=1e-12)


def test_place_download_offline_explains_the_graphml_route(tmp_path, monkeypatch):
    import osmnx as ox

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    with pytest.raises(TravelModelError, match="graph build --place") as err:
        load_graph(place="Rutland, England", cache_dir=tmp_path)
    assert "--graphml" in str(err.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"network": "osm"}, "exactly one map"),
        ({"network": "osm", "osm_file": "a.osm", "graphml": "b.graphml"}, "exactly one map"),
        ({"network": "crow-fly", "graphml": "kent.graphml"}, 'needs travel.network = "osm"'),
        ({"network": "crow-fly", "peak_factor": 1.2}, "travel.peak_factor applies"),
        ({"network": "osm", "graphml": "k.graphml", "peak_factor": 4.0}, "between 0.5 and 3"),
        ({"network": "ferry"}, "travel.network must be one of"),
    ],
)
def test_network_settings_errors(options, message):
    with pytest.raises(ParameterError, match=message):
        NetworkSettings(**options)


def test_missing_map_file_is_a_travel_model_error(tmp_path):
    settings = NetworkSettings(network="osm", osm_file=str(tmp_path / "nowhere.osm.bz2"))
    with pytest.raises(TravelModelError, match="not found"):
        travel_model(settings, TravelParams(), cache_dir=tmp_path)


def test_unreadable_map_file_is_a_travel_model_error(tmp_path):
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1' lat='x'")
    with pytest.raises(TravelModelError, match="cannot read OSM XML file"):
        travel_model(
            NetworkSettings(network="osm", osm_file=str(bad)), TravelParams(), cache_dir=tmp_path
        )


@needs_rutland
def test_travel_model_builds_both_models(rutland, cache_dir):
    params = TravelParams(dwell_min=3.0)
    assert isinstance(travel_model(NetworkSettings(), params), CrowFlyModel)
    settings = NetworkSettings(network="osm", osm_file=str(RUTLAND), peak_factor=1.1)
    osm = travel_model(settings, params, cache_dir=cache_dir)
    assert osm.name == "osm" and osm.dwell_min == 3.0
    described = osm.describe()
    assert described["backend"] == "osm" and described["peak_factor"] == 1.1
    assert described["graph_hash"] == rutland[1].digest
    assert described["nodes"] == rutland[1].n_nodes and described["edges"] == rutland[1].n_edges
    assert "rutland-drive.osm.bz2" in described["source"]


# --------------------------------------------------------------------------------------------
# End to end: placement (library and command line) and routing on Rutland


@pytest.fixture(scope="module")
def rutland_data(rutland, tmp_path_factory) -> Path:
    """3 schools and 20 pupils at random Rutland road nodes (seeded), as a data folder."""
    _, arrays = rutland
    rng = np.random.default_rng(11)
    pick = rng.choice(arrays.n_nodes, 23, replace=False)
    lat, lon = arrays.lat[pick], arrays.lon[pick]
    folder = tmp_path_factory.mktemp("rutland-data")
    pd.DataFrame(
        {
            "school_id": ["R1", "R2", "R3"],
            "name": ["Oakham Special", "Uppingham Unit", "Ketton Centre"],
            "lat": lat[:3],
            "lon": lon[:3],
            "district": "Rutland",
            "kind": ["special", "resourced", "special"],
            "age_min": 4,
            "age_max": 19,
            "needs": "*",
            "capacity": [8, 6, 8],
            "place_cost": [21000, 15000, 23000],
            "arrive_by": "09:00",
        }
    ).to_csv(folder / "schools.csv", index=False)
    pd.DataFrame(
        {
            "pupil_id": [f"P{i:02d}" for i in range(1, 21)],
            "lat": lat[3:],
            "lon": lon[3:],
            "district": "Rutland",
            "age": rng.integers(5, 17, 20),
            "need": rng.choice(["ASD", "SLCN", "SEMH", "MLD"], 20),
            "school_id": "",
            "wheelchair": [1 if i % 7 == 0 else 0 for i in range(20)],
            "needs_pa": [1 if i % 5 == 0 else 0 for i in range(20)],
            "solo": 0,
            "max_ride_min": "",
        }
    ).to_csv(folder / "pupils.csv", index=False)
    pd.DataFrame(
        {
            "vehicle_type": ["taxi", "minibus", "wav_minibus"],
            "seats": [4, 8, 6],
            "wheelchair_spaces": [0, 0, 2],
            "day_rate": [38.0, 95.0, 120.0],
            "per_mile": [0.95, 1.6, 1.8],
            "available": ["", "", ""],
        }
    ).to_csv(folder / "vehicles.csv", index=False)
    return folder


@needs_rutland
def test_cli_place_with_the_osm_network(rutland, rutland_data, cache_dir, tmp_path):
    out = tmp_path / "run"
    args = ["place", "--network", "osm", "--osm-file", str(RUTLAND), "--cache-dir", str(cache_dir)]
    args += ["--data", str(rutland_data), "--out", str(out), "--peak-factor", "1.2"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    travel = summary["parameters"]["travel_model"]
    assert travel["backend"] == "osm" and travel["peak_factor"] == 1.2
    assert travel["graph_hash"] == rutland[1].digest
    written = pd.read_csv(out / "placements.csv", dtype={"school_id": str})
    model = RoadNetworkModel(rutland[1], cache_dir=cache_dir, peak_factor=1.2)
    expected = place_pupils(
        read_dataset(rutland_data), policy="nearest-with-capacity", travel=model
    )
    assert dict(zip(written.pupil_id, written.school_id, strict=True)) == expected.school_of


@needs_rutland
def test_cli_osm_without_a_map_exits_2(rutland_data, tmp_path):
    result = CliRunner().invoke(
        cli,
        ["place", "--network", "osm", "--data", str(rutland_data), "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 2 and "exactly one map" in result.output
    assert "Traceback" not in result.output


@needs_rutland
def test_placement_goes_to_the_nearest_school_by_road(rutland, rutland_data, model):
    data = read_dataset(rutland_data)
    result = place_pupils(data, policy="nearest-suitable", travel=model)
    assert not result.unplaced and len(result.placements) == 20
    schools = sorted(data.schools, key=lambda s: s.school_id)
    pupils = np.array([[p.lat, p.lon] for p in data.pupils])
    m = model.travel_matrix(pupils, np.array([[s.lat, s.lon] for s in schools]))
    for i, pl in enumerate(result.placements):
        assert pl.school_id == schools[int(np.argmin(m.miles[i]))].school_id
        assert pl.road_miles == pytest.approx(m.miles[i].min(), abs=1e-3)


@needs_rutland
def test_routing_end_to_end_with_the_osm_model(rutland_data, model):
    import transport.routing as routing

    data = read_dataset(rutland_data)
    placements = place_pupils(data, policy="nearest-with-capacity", travel=model)
    plan = routing.plan_routes(
        data, placements, travel=model, options=routing.RoutingOptions(time_limit_s=2, workers=1)
    )
    routed = {s.pupil_id for s in plan.stops}
    assert routed | {u.pupil_id for u in plan.unrouted} == set(placements.school_of)
    assert plan.routes
    for route in plan.routes:  # route miles run along the roads, first pickup to school
        school = data.school_by_id[route.school_id]
        stops = [data.pupil_by_id[p] for p in route.pupils]
        pts = np.array([[x.lat, x.lon] for x in [*stops, school]])
        legs = model.travel_matrix(pts, pts).miles
        road = sum(legs[i, i + 1] for i in range(len(stops)))
        assert route.route_miles == pytest.approx(road, abs=0.011)
