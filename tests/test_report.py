"""The compare report: report.html and routes.geojson, checked against the compare folder.

The compare folder is a real ``sen-transport compare`` of shipped scenarios on the tiny data
(the session fixture ``compare_dir`` in conftest.py); every figure is checked against
comparison.json and the run files.
"""

from __future__ import annotations

import csv
import json
import random
import re
import stat
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import COMPARED
from transport.data.validate import read_dataset
from transport.errors import InputError
from transport.model import Dataset
from transport.report import PrivacyOptions, ReportOptions, write_report
from transport.report.charts import money_short, nice_ticks
from transport.report.geometry import PALETTE, home_grid, to_grid
from transport.report.html import money

TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture(scope="module")
def html(compare_dir: Path) -> str:
    return (compare_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def meta(compare_dir: Path) -> dict:
    return json.loads((compare_dir / "comparison.json").read_text(encoding="utf-8"))


def pupil_ids() -> list[str]:
    with open(TINY / "pupils.csv", newline="", encoding="utf-8") as fh:
        return [r["pupil_id"] for r in csv.DictReader(fh)]


class _Page(HTMLParser):
    """Collects external references, the comparison table and the map data blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.table: list[list[str]] = []
        self.maps: list[str] = []
        self._in_table = self._in_map = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "link", "source") and (a.get("src") or tag == "link"):
            self.external.append(f"{tag} {a}")
        if tag == "table" and a.get("id") == "comparison-table":
            self._in_table = True
        if self._in_table and tag == "tr":
            self.table.append([])
        if self._in_table and tag in ("td", "th"):
            self._cell = []
        if tag == "script" and a.get("class") == "map-data":
            self._in_map = True
            self.maps.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        if self._in_table and tag in ("td", "th") and self._cell is not None:
            self.table[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "script":
            self._in_map = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_map:
            self.maps[-1] += data


@pytest.fixture(scope="module")
def page(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


def test_report_is_one_self_contained_file(html: str, page: _Page) -> None:
    assert page.external == []
    assert "leaflet" in html.lower() and "L.map(" in html  # Leaflet itself is inlined
    # CSS loads nothing: every url() is inline data (or IE's VML behaviour, never fetched)
    urls = re.findall(r"url\(([^)]*)\)", html)
    assert all(u.startswith(("data:", "#default#VML")) for u in urls), urls
    assert "sourceMappingURL" not in html
    # the only web addresses fetched are the tile servers
    fetched = set(re.findall(r'"url":"(https?://[^"]+)"', html))
    assert fetched and all("{z}" in u for u in fetched)


def test_no_pupil_id_anywhere(compare_dir: Path, html: str) -> None:
    outputs = {"report.html": html}
    for path in compare_dir.glob("scenarios/*/routes.geojson"):
        outputs[str(path)] = path.read_text(encoding="utf-8")
    assert len(outputs) == 1 + len(COMPARED)
    for pid in pupil_ids():
        for name, text in outputs.items():
            assert not re.search(rf"\b{re.escape(pid)}\b", text), f"{pid} found in {name}"


def test_comparison_table_shows_every_scenarios_figures(page: _Page, meta: dict) -> None:
    header, *rows = page.table
    names = [s["scenario"] for s in meta["scenarios"]]
    assert [h.split()[0] for h in header[1:]] == names
    by_label = {r[0]: r[1:] for r in rows if len(r) == len(names) + 1}
    for label, key in [
        ("Total cost", "annual_total_cost"),
        ("Transport (routes)", "annual_transport_cost"),
        ("School places", "annual_place_cost"),
        ("Saving against the baseline", "saving_vs_baseline"),
        ("Expected saving from budgets (PTB)", "ptb_expected_saving"),
    ]:
        assert by_label[label] == [money(s[key]) for s in meta["scenarios"]], label
    for v in meta["vehicle_types"]:
        assert by_label[v] == [str(s["vehicles_by_type"][v]) for s in meta["scenarios"]]
    assert by_label["Routes"] == [str(s["routes"]) for s in meta["scenarios"]]
    assert "best" in header[1 + _best_index(meta)]


def _best_index(meta: dict) -> int:
    others = [(s["saving_vs_baseline"], -i) for i, s in enumerate(meta["scenarios"]) if i]
    return -max(others)[1]


def test_waterfall_and_headline_show_the_best_saving(html: str, meta: dict) -> None:
    best = meta["scenarios"][_best_index(meta)]
    base = meta["scenarios"][0]
    assert f"The net saving of {money(best['saving_vs_baseline'])}" in html
    assert f"Target {money_short(meta['target'])}" in html
    assert 'class="target-line"' in html
    # the waterfall's steps add up to the saving (display sums only)
    steps = [
        base["annual_transport_cost"] - best["annual_transport_cost"],
        base["annual_place_cost"] - best["annual_place_cost"],
        best["ptb_expected_saving"] - base["ptb_expected_saving"],
    ]
    assert sum(steps) == pytest.approx(best["saving_vs_baseline"], abs=0.02)
    for step in steps:
        assert ("+" if step > 0 else "") + money_short(step) in html


def test_sections_present(html: str) -> None:
    for anchor in ("comparison", "costs", "waterfall", "ride-times", "shortfall", "maps"):
        assert f'<section id="{anchor}">' in html
    # nearest-suitable's shortfall, school by school
    with open(TINY / "schools.csv", encoding="utf-8") as fh:
        names = {r["school_id"]: r["name"] for r in csv.DictReader(fh)}
    assert "places missing at" in html
    assert f"{names['S1']} (S1)" in html


def test_maps_draw_generalised_routes_only(page: _Page, compare_dir: Path, meta: dict) -> None:
    data = read_dataset(TINY)
    homes = {(p.lat, p.lon) for p in data.pupils}
    schools = {s.school_id: (round(s.lat, 6), round(s.lon, 6)) for s in data.schools}
    assert len(page.maps) == len(meta["scenarios"])
    for block, sc in zip(page.maps, meta["scenarios"], strict=True):
        d = json.loads(block)
        with open(compare_dir / sc["run_dir"] / "routes.csv", encoding="utf-8") as fh:
            routes = list(csv.DictReader(fh))
        assert len(d["routes"]) == len(routes)
        for r, drawn in zip(routes, d["routes"], strict=True):
            assert tuple(drawn["c"][-1]) == schools[r["school_id"]]
            assert drawn["v"] == r["vehicle_type"]
            for lat, lon in drawn["c"][:-1]:
                assert (lat, lon) not in homes
                assert _is_cell_centre(lat, lon), (lat, lon)


def _is_cell_centre(lat: float, lon: float) -> bool:
    (x, y), p = to_grid([lat], [lon])[0], PrivacyOptions()
    return any(
        abs(x % size - size / 2) < 1.0 and abs(y % size - size / 2) < 1.0
        for size in (p.cell_m, p.coarse_m)
    )


def test_routes_geojson_opens_with_fields(compare_dir: Path, meta: dict) -> None:
    gpd = pytest.importorskip("geopandas")
    data = read_dataset(TINY)
    colours = {}
    for sc in meta["scenarios"]:
        run = compare_dir / sc["run_dir"]
        frame = gpd.read_file(run / "routes.geojson")
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        lines = frame[frame["kind"] == "route"]
        points = frame[frame["kind"] == "school"]
        assert set(lines.geom_type) == {"LineString"} and set(points.geom_type) == {"Point"}
        for field in (
            "route_id",
            "school_id",
            "school_name",
            "vehicle_type",
            "colour",
            "has_pa",
            "pupils",
            "route_miles",
            "annual_cost",
        ):
            assert field in frame.columns, field
        with open(run / "routes.csv", encoding="utf-8") as fh:
            routes = {r["route_id"]: r for r in csv.DictReader(fh)}
        assert set(lines["route_id"]) == set(routes)
        for _, f in lines.iterrows():
            r = routes[f["route_id"]]
            assert f["pupils"] == len(r["pupils"].split(";"))
            assert f["annual_cost"] == pytest.approx(float(r["annual_cost"]))
            assert bool(f["has_pa"]) == (r["has_pa"] == "1")
            assert f["vehicle_type"] == r["vehicle_type"]
            assert colours.setdefault(f["vehicle_type"], f["colour"]) == f["colour"]
        assert len(points) == len(data.schools)
    assert len(set(colours.values())) == len(colours)  # one colour per vehicle type
    assert set(colours.values()) <= set(PALETTE)


def test_outputs_are_owner_only(compare_dir: Path) -> None:
    for path in [compare_dir / "report.html", *compare_dir.glob("scenarios/*/routes.geojson")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_data_folder_defaults_to_comparison_json(compare_dir: Path, tmp_path: Path) -> None:
    before = (compare_dir / "report.html").read_text(encoding="utf-8")
    write_report(compare_dir)  # comparison.json names tests/data/tiny
    assert (compare_dir / "report.html").read_text(encoding="utf-8") == before  # deterministic
    with pytest.raises(InputError, match="not a compare folder"):
        write_report(tmp_path, data_dir=TINY)


def test_tiles_option(compare_dir: Path) -> None:
    with pytest.raises(ValueError, match="tiles must be one of"):
        ReportOptions(tiles="google")
    write_report(compare_dir, data_dir=TINY, options=ReportOptions(tiles="none"))
    html = (compare_dir / "report.html").read_text(encoding="utf-8")
    assert "tile.openstreetmap.org" not in html
    write_report(compare_dir, data_dir=TINY)


def _crowd(n: int, seed: int) -> Dataset:
    """``n`` pupils: half in a dense cluster, half scattered over Kent."""
    base = read_dataset(TINY)
    rng = random.Random(seed)
    template = base.pupils[0]
    pupils = []
    for i in range(n):
        if i % 2:
            lat, lon = 51.27 + rng.gauss(0, 0.004), 1.08 + rng.gauss(0, 0.006)
        else:
            lat, lon = rng.uniform(51.05, 51.45), rng.uniform(0.2, 1.4)
        pupils.append(replace(template, pupil_id=f"Q{i:04d}", lat=lat, lon=lon))
    return replace(base, pupils=tuple(pupils))


@pytest.mark.parametrize("min_pupils", [1, 5, 10])
def test_home_grid_counts_everyone_once_and_hides_sparse_squares(min_pupils: int) -> None:
    data = _crowd(400, seed=min_pupils)
    options = PrivacyOptions(min_pupils=min_pupils)
    grid = home_grid(data, options=options)
    assert all(c.pupils >= min_pupils for c in grid.cells)
    assert sum(c.pupils for c in grid.cells) + grid.suppressed == len(data.pupils)
    assert set(grid.pickup) == {p.pupil_id for p in data.pupils}
    # every pickup is the centre of the home's 1 km square when that square is shown (at
    # least min_pupils homes in it), else the centre of its 5 km square
    xy = to_grid([p.lat for p in data.pupils], [p.lon for p in data.pupils])
    fine = Counter((x // options.cell_m, y // options.cell_m) for x, y in xy)
    for p, (x, y) in zip(data.pupils, xy, strict=True):
        (cx, cy) = to_grid(*zip(grid.pickup[p.pupil_id], strict=True))[0]
        shown = fine[(x // options.cell_m, y // options.cell_m)] >= min_pupils
        size = options.cell_m if shown else options.coarse_m
        assert abs(cx - (x // size + 0.5) * size) < 1.0
        assert abs(cy - (y // size + 0.5) * size) < 1.0
    if min_pupils == 1:
        assert grid.suppressed == 0 and all(c.size_m == options.cell_m for c in grid.cells)
    else:
        assert any(c.size_m == options.cell_m for c in grid.cells)  # the dense cluster shows


def test_privacy_options_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple"):
        PrivacyOptions(cell_m=1000, coarse_m=2500)
    with pytest.raises(ValueError, match="min_pupils"):
        PrivacyOptions(min_pupils=0)


def test_chart_helpers() -> None:
    assert money_short(17_168_712) == "£17.2m"
    assert money_short(1_500_000) == "£1.50m"
    assert money_short(-96_893.35) == "−£96.9k"
    assert money_short(850) == "£850"
    for lo, hi in [(0, 1_500_000), (-34_000, 96_000), (0, 0.3), (5, 5)]:
        ticks = nice_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi and ticks == sorted(ticks)
        assert len(ticks) <= 12


def test_report_of_a_real_comparison(compare_dir: Path, meta: dict, page: _Page) -> None:
    """The command line's report hook wrote report.html; its figures are comparison.json's."""
    assert [s["scenario"] for s in meta["scenarios"]] == list(COMPARED)  # baseline first
    assert page.external == [] and len(page.maps) == len(COMPARED)
    width = len(COMPARED) + 1
    by_label = {r[0]: r[1:] for r in page.table[1:] if len(r) == width}
    assert by_label["Total cost"] == [money(s["annual_total_cost"]) for s in meta["scenarios"]]
    ptb = next(s for s in meta["scenarios"] if s["scenario"] == "ptb-trial")
    assert ptb["ptb_offers"] > 0
    assert by_label["PTB saving, 5–95 % range"][COMPARED.index("ptb-trial")] == (
        f"{money(ptb['ptb_saving_p5'])} to {money(ptb['ptb_saving_p95'])}"
    )
    for s in meta["scenarios"]:
        geo = json.loads((compare_dir / s["run_dir"] / "routes.geojson").read_text("utf-8"))
        lines = [f for f in geo["features"] if f["properties"]["kind"] == "route"]
        assert len(lines) == s["routes"]
        assert sum(f["properties"]["annual_cost"] for f in lines) == pytest.approx(
            s["annual_transport_cost"], abs=0.05
        )


def test_geopackage_holds_routes_schools_and_home_squares(compare_dir: Path, meta: dict) -> None:
    """routes.gpkg (for QGIS): three layers in British National Grid metres, the same routes as
    routes.csv, every school, and home squares that count every pupil at most once, never a
    square under the privacy threshold, never a home or a pupil id."""
    gpd = pytest.importorskip("geopandas")
    import pyogrio

    data = read_dataset(TINY)
    homes = to_grid([p.lat for p in data.pupils], [p.lon for p in data.pupils])
    ids = pupil_ids()
    for sc in meta["scenarios"]:
        path = compare_dir / sc["run_dir"] / "routes.gpkg"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        layers = {name for name, _ in pyogrio.list_layers(path)}
        assert layers == {"routes", "schools", "home_squares"}
        routes = gpd.read_file(path, layer="routes")
        schools = gpd.read_file(path, layer="schools")
        squares = gpd.read_file(path, layer="home_squares")
        for frame in (routes, schools, squares):
            assert frame.crs.to_epsg() == 27700
        with open(compare_dir / sc["run_dir"] / "routes.csv", encoding="utf-8") as fh:
            written = {r["route_id"]: r for r in csv.DictReader(fh)}
        assert set(routes["route_id"]) == set(written)
        for _, r in routes.iterrows():
            assert r["annual_cost"] == pytest.approx(float(written[r["route_id"]]["annual_cost"]))
            assert r["pupils"] == len(written[r["route_id"]]["pupils"].split(";"))
        assert sorted(schools["school_id"]) == sorted(s.school_id for s in data.schools)
        assert (squares["pupils"] >= PrivacyOptions().min_pupils).all()  # tiny: none shown
        assert squares["pupils"].sum() <= len(data.pupils)
        vertices = [xy for line in routes.geometry for xy in line.coords]
        for hx, hy in homes:  # no vertex at a home: each is a square's centre or a school
            assert all(abs(hx - x) > 1.0 or abs(hy - y) > 1.0 for x, y in vertices[:-1])
        raw = path.read_bytes()
        assert not any(re.search(rf"\b{re.escape(pid)}\b".encode(), raw) for pid in ids)


def test_geopackage_home_squares_count_every_pupil_once(tmp_path: Path) -> None:
    gpd = pytest.importorskip("geopandas")
    from transport.report.gpkg import write_geopackage

    data = _crowd(400, seed=3)
    grid = home_grid(data, options=PrivacyOptions())
    path = write_geopackage(tmp_path / "routes.gpkg", [], [], grid)
    squares = gpd.read_file(path, layer="home_squares")
    assert len(squares) == len(grid.cells) > 0
    assert squares["pupils"].sum() + grid.suppressed == len(data.pupils)
    assert (squares["pupils"] >= 5).all() and set(squares["size_m"]) <= {1000, 5000}
    areas = dict(zip(squares["size_m"], squares.geometry.area, strict=False))
    for size, area in areas.items():  # true squares in British National Grid metres
        assert area == pytest.approx(size * size, rel=1e-5)  # corners kept to 6 decimals
    assert len(gpd.read_file(path, layer="routes")) == 0


def test_a_mixed_school_routes_map_line_reaches_each_of_its_schools(tmp_path) -> None:
    """A mixed-school route (tests/_mixed_fixture.py) is drawn on to each of its schools in
    visiting order and named by all of them; each school it serves counts it."""
    from tests._mixed_fixture import MIXED, mixed_route_of, solve_mixed
    from transport.model import route_schools
    from transport.report.geometry import route_lines, school_points
    from transport.runs.write import read_run

    run_dir = solve_mixed(tmp_path / "run")
    route = mixed_route_of(run_dir)
    data, run = read_dataset(MIXED), read_run(run_dir)
    schools = data.school_by_id
    lines = route_lines(run.routes, run.stops, schools=schools, grid=home_grid(data), colours={})
    (line,) = [x for x in lines if x.route_id == route.route_id]
    visits = [schools[s] for s in route_schools(route)]
    assert list(line.coords[-len(visits) :]) == [(round(s.lat, 6), round(s.lon, 6)) for s in visits]
    assert line.school_name == " then ".join(s.name for s in visits)
    served = {p.school_id: p.routes for p in school_points(data, {}, run.routes)}
    for sid in schools:
        assert served[sid] == sum(1 for r in run.routes if sid in route_schools(r))
