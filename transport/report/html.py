"""report.html: one self-contained page comparing scenarios, for finance officers.

Everything is inline (CSS, SVG charts, Leaflet and the map data), so the file can be emailed
and opened offline; only the maps' background tiles need the internet. The page renders the
compare folder's figures and computes nothing new (sums and differences for display only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from transport import formatting
from transport.report import charts
from transport.report._read import CompareView, ScenarioView, read_compare
from transport.report.geojson import feature_collection, write_geojson, write_private_text
from transport.report.geometry import (
    PrivacyOptions,
    home_grid,
    route_lines,
    school_points,
    vehicle_colours,
)
from transport.report.gpkg import write_geopackage
from transport.report.maps import (
    TILES,
    AddedPlaces,
    asset,
    map_data,
    map_head,
    map_html,
    map_scripts,
)
from transport.runs.manifest import MANIFEST, add_outputs

NEED_COLOURS = {
    "ASD": "#0072B2",
    "SEMH": "#D55E00",
    "SLCN": "#009E73",
    "MLD": "#E69F00",
    "SLD": "#CC79A7",
    "PMLD": "#56B4E9",
    "PD": "#8C6D31",
    "HI": "#6A3D9A",
    "VI": "#999999",
    "MSI": "#F0E442",
    "SpLD": "#9ACD32",
    "OTH": "#444444",
}


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """How the report is drawn.

    Parameters
    ----------
    privacy
        How homes are aggregated and pickups generalised (maps and routes.geojson).
    tiles
        The maps' first background: ``"osm"`` (OpenStreetMap), ``"carto"`` or ``"none"``.
    title
        The page title.
    """

    privacy: PrivacyOptions = field(default_factory=PrivacyOptions)
    tiles: str = "osm"
    title: str = "SEN home-to-school transport: scenario comparison"

    def __post_init__(self) -> None:
        keys = [t.key for t in TILES] + ["none"]
        if self.tiles not in keys:
            raise ValueError(f"tiles must be one of {', '.join(keys)}, not {self.tiles!r}")


def write_report(
    compare_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    options: ReportOptions | None = None,
) -> Path:
    """Write ``report.html`` in a compare folder, and routes.geojson and routes.gpkg (routes,
    schools and home squares for QGIS) for each scenario.

    Parameters
    ----------
    compare_dir
        A folder written by ``sen-transport compare`` (comparison.json and scenarios/).
    data_dir
        The data folder the scenarios were run on; by default comparison.json's ``data``.
    options
        Map tiles and privacy settings (defaults: 1 km squares, at least 5 pupils).

    Returns
    -------
    Path
        The report's path. Files are written atomically and readable by their owner only.

    Examples
    --------
    >>> write_report("runs/compare", data_dir="data/kent")  # doctest: +SKIP
    PosixPath('runs/compare/report.html')
    """
    options = options or ReportOptions()
    view = read_compare(compare_dir, data_dir=data_dir)
    grid = home_grid(view.data, options=options.privacy)
    colours = vehicle_colours(view.vehicle_types)
    schools = {s.school_id: s for s in view.data.schools}
    maps = []
    for i, sc in enumerate(view.scenarios):
        lines = route_lines(
            sc.run.routes, sc.run.stops, schools=schools, grid=grid, colours=colours
        )
        placed: dict[str, int] = {}
        for p in sc.run.placements:
            placed[p.school_id] = placed.get(p.school_id, 0) + 1
        points = school_points(view.data, placed, sc.run.routes)
        write_geojson(sc.folder / "routes.geojson", feature_collection(lines, points, name=sc.name))
        write_geopackage(sc.folder / "routes.gpkg", lines, points, grid)
        add_outputs(sc.folder, ["routes.geojson", "routes.gpkg"])
        added = [
            AddedPlaces(s.lat, s.lon, int(r["places_added"]), s.name, f"need {r.get('need', '')}")
            for r in sc.capacity
            if (s := schools.get(r.get("school_id", ""))) is not None
        ]
        data = map_data(lines, points, grid, colours=colours, tiles=options.tiles, added=added)
        maps.append(map_html(i, data, title=f"Map of routes, {sc.name}"))
    page = render_page(view, maps, suppressed=grid.suppressed, options=options)
    path = write_private_text(view.folder / "report.html", page)
    nested = [
        f"{sc.folder.relative_to(view.folder).as_posix()}/{MANIFEST}" for sc in view.scenarios
    ]
    add_outputs(view.folder, ["report.html", *nested])
    return path


def render_page(
    view: CompareView, maps: Sequence[str], *, suppressed: int, options: ReportOptions
) -> str:
    """The whole page as one HTML string."""
    best = view.best()
    sections = [
        _headline(view, best),
        _section("comparison", "Scenarios side by side", _table(view, best)),
        _section("costs", "Costs by scenario (£ a year)", _costs(view, best)),
        _section("waterfall", "From the baseline to the best scenario", _waterfall(view, best)),
        _section("ride-times", "Ride times", _ride_times(view)),
        _section("shortfall", "Places missing under nearest-suitable", _shortfall(view)),
        _capacity(view),
        _section("maps", "Maps of routes", _maps(view, maps)),
        _section("notes", "Notes", _notes(view, suppressed, options)),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(options.title)}</title>"
        f"<style>{asset('report.css')}</style>{map_head()}</head><body>"
        f'<header><h1>{escape(options.title)}</h1><p class="meta">{_meta(view)}</p></header>'
        "<main>" + "".join(s for s in sections if s) + "</main>"
        f"{map_scripts()}</body></html>\n"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def money(value: Any) -> str:
    """£ with thousands separators and no pence: ``£1,234,567`` (``–`` when blank)."""
    return formatting.money(value, blank="–")


def _meta(view: CompareView) -> str:
    n = len(view.scenarios)
    return (
        f"Data: {escape(str(view.meta.get('data') or view.data.source))}. "
        f"{n} scenario{'s' if n != 1 else ''}; savings are measured against "
        f"<b>{escape(view.baseline)}</b>. Target: a net saving of "
        f"<b>{money(view.target)}</b> a year."
    )


def _headline(view: CompareView, best: ScenarioView | None) -> str:
    base = view.scenarios[0]
    if best is None:
        return (
            '<section id="headline"><p>Only one scenario was compared: run '
            "<code>sen-transport compare</code> with two or more to see savings.</p></section>"
        )
    saving = best.number("saving_vs_baseline")
    progress = saving / view.target if view.target else 0.0
    bar = max(0.0, min(progress, 1.0)) * 100
    status = "met" if progress >= 1 else "not met"
    desc = escape(str(best.row.get("description") or ""))
    return (
        '<section id="headline" class="cards">'
        f'<div class="card"><div class="label">Best scenario</div>'
        f'<div class="big">{escape(best.name)}</div><div class="small">{desc}</div></div>'
        f'<div class="card"><div class="label">Net saving against {escape(base.name)}</div>'
        f'<div class="big {"good" if saving >= 0 else "bad"}">{money(saving)}</div>'
        f'<div class="small">a year: {money(base.number("annual_total_cost"))} → '
        f"{money(best.number('annual_total_cost'))}</div></div>"
        f'<div class="card"><div class="label">Progress to the {money(view.target)} target</div>'
        f'<div class="big">{progress:.0%}</div><div class="progress" role="progressbar" '
        f'aria-valuenow="{bar:.0f}" aria-valuemin="0" aria-valuemax="100">'
        f'<span style="width:{bar:.1f}%"></span></div>'
        f'<div class="small">target {status}</div></div></section>'
    )


def _int(v: Any) -> str:
    if isinstance(v, list | tuple):
        v = len(v)
    if v is None or v == "":
        return "–"
    return f"{float(v):,.0f}"


def _minutes(v: Any) -> str:
    return "–" if v is None or v == "" else f"{float(v):.1f} min"


def _pct(v: Any) -> str:
    return formatting.percent(v, decimals=0, blank="–")


def _text(v: Any) -> str:
    return "–" if v is None or v == "" else escape(str(v))


def _seconds(v: Any) -> str:
    return "–" if v is None or v == "" else f"{float(v):,.1f} s"


def _rows(view: CompareView) -> list[tuple[str, str, Callable[[ScenarioView], str]]]:
    """(section, label, cell) for every row of the comparison table."""

    def get(key: str, fmt: Callable[[Any], str]) -> Callable[[ScenarioView], str]:
        return lambda s: fmt(s.row.get(key))

    def ptb_range(s: ScenarioView) -> str:
        if not s.number("ptb_offers"):
            return "–"
        return f"{money(s.row.get('ptb_saving_p5'))} to {money(s.row.get('ptb_saving_p95'))}"

    def signed(key: str) -> Callable[[ScenarioView], str]:
        def cell(s: ScenarioView) -> str:
            v = s.number(key)
            cls = "good" if v > 0 else "bad" if v < 0 else ""
            return f'<span class="{cls}">{money(v)}</span>'

        return cell

    rows: list[tuple[str, str, Callable[[ScenarioView], str]]] = [
        ("Scenario", "What it does", get("description", _text)),
        ("Scenario", "Placement policy", get("policy", _text)),
        ("Scenario", "Pupils re-placed", get("scope", _text)),
        ("Scenario", "Prices", get("prices", _text)),
        ("Scenario", "Travel network", get("network", _text)),
        ("Money (£ a year)", "Transport (routes)", get("annual_transport_cost", money)),
        ("Money (£ a year)", "School places", get("annual_place_cost", money)),
        (
            "Money (£ a year)",
            "Expected saving from budgets (PTB)",
            get("ptb_expected_saving", money),
        ),
        ("Money (£ a year)", "PTB saving, 5–95 % range", ptb_range),
        (
            "Money (£ a year)",
            "<b>Total cost</b>",
            lambda s: f"<b>{money(s.row.get('annual_total_cost'))}</b>",
        ),
        ("Money (£ a year)", "<b>Saving against the baseline</b>", signed("saving_vs_baseline")),
        ("Money (£ a year)", "Progress to the target", get("target_progress", _pct)),
        ("Money (£ a year)", "PTB offers", get("ptb_offers", _int)),
        ("Pupils", "Pupils", get("pupils", _int)),
        ("Pupils", "On a route", get("pupils_routed", _int)),
        ("Pupils", "Not routed", get("unrouted", _int)),
        ("Pupils", "Not placed", get("unplaced", _int)),
        (
            "Pupils",
            "In independent or out-of-county places",
            get("independent_or_out_of_county", _int),
        ),
        ("Fleet", "Routes", get("routes", _int)),
    ]
    for v in view.vehicle_types:
        rows.append(("Fleet", escape(v), _vehicles(v)))
    rows += [
        ("Fleet", "Passenger assistants", get("passenger_assistants", _int)),
        ("Ride times", "Mean ride", get("mean_ride_min", _minutes)),
        ("Ride times", "Longest ride", get("max_ride_min", _minutes)),
        ("Ride times", "Pupils over 45 min", get("pupils_over_45_min", _int)),
        ("Ride times", "Pupils over 75 min", get("pupils_over_75_min", _int)),
        ("Ride times", "Rides over the pupil's own limit", get("pupils_over_limit", _int)),
        (
            "Ride times",
            "… long-direct: direct journey within 15 min of the limit, or over it",
            get("over_limit_long_direct", _int),
        ),
        (
            "Ride times",
            "… shared-saving: longer because sharing saves money",
            get("over_limit_shared_saving", _int),
        ),
        ("Ride times", "Afternoon rides over the limit", get("pm_pupils_over_limit", _int)),
        ("Places", "Places missing", get("places_missing", _int)),
        ("Places", "Places added", get("places_added", _int)),
        ("Run", "Solve time", get("wall_time_s", _seconds)),
    ]
    return rows


def _vehicles(vtype: str) -> Callable[[ScenarioView], str]:
    def cell(s: ScenarioView) -> str:
        if f"vehicles_{vtype}" in s.row:
            return _int(s.row[f"vehicles_{vtype}"])
        return _int((s.row.get("vehicles_by_type") or {}).get(vtype))

    return cell


def _table(view: CompareView, best: ScenarioView | None) -> str:
    names = [s.name for s in view.scenarios]

    def th(s: ScenarioView) -> str:
        tags = []
        if s.name == view.baseline:
            tags.append('<span class="tag">baseline</span>')
        if best is not None and s.name == best.name:
            tags.append('<span class="tag best">best</span>')
        cls = ' class="best"' if best is not None and s.name == best.name else ""
        return f'<th scope="col"{cls}>{escape(s.name)} {"".join(tags)}</th>'

    head = '<tr><th scope="col">Measure</th>' + "".join(th(s) for s in view.scenarios) + "</tr>"
    body, current = [], None
    for section, label, cell in _rows(view):
        if section != current:
            body.append(
                f'<tr class="group"><th colspan="{len(names) + 1}" scope="rowgroup">'
                f"{escape(section)}</th></tr>"
            )
            current = section
        cells = "".join(
            f"<td{' class=best' if best is not None and s.name == best.name else ''}>{cell(s)}</td>"
            for s in view.scenarios
        )
        cls = ' class="text"' if section == "Scenario" else ""
        body.append(f'<tr{cls}><th scope="row">{label}</th>{cells}</tr>')
    return (
        '<div class="table-wrap"><table id="comparison-table" class="comparison">'
        f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table></div>"
        '<p class="note">Total cost = transport + school places − expected saving from '
        "personal transport budgets. Saving = the baseline's total cost − the scenario's. "
        "Money is £ a year at the scenario's prices.</p>"
    )


def _costs(view: CompareView, best: ScenarioView | None) -> str:
    names = [s.name for s in view.scenarios]
    panels = [
        ("Transport", [s.number("annual_transport_cost") for s in view.scenarios]),
        ("School places", [s.number("annual_place_cost") for s in view.scenarios]),
        ("Budget saving (PTB)", [s.number("ptb_expected_saving") for s in view.scenarios]),
        ("Net total cost", [s.number("annual_total_cost") for s in view.scenarios]),
    ]
    svg = charts.bar_panels(
        names,
        panels,
        highlight=best.name if best else None,
        label="Annual transport cost, place cost, budget saving and net total by scenario",
    )
    return (
        f'<figure class="chart-wrap">{svg}<figcaption>Each panel has its own scale, from '
        "zero.</figcaption></figure>"
    )


def _waterfall(view: CompareView, best: ScenarioView | None) -> str:
    if best is None:
        return "<p>Only one scenario: there is nothing to compare it with.</p>"
    base = view.scenarios[0]
    steps = [
        ("Transport", base.number("annual_transport_cost") - best.number("annual_transport_cost")),
        ("School places", base.number("annual_place_cost") - best.number("annual_place_cost")),
        ("Budgets (PTB)", best.number("ptb_expected_saving") - base.number("ptb_expected_saving")),
    ]
    svg = charts.waterfall(
        steps,
        total_label="Net saving",
        target=view.target,
        label=f"Savings from {base.name} to {best.name} against the target",
    )
    total = sum(d for _, d in steps)
    gap = view.target - total
    verdict = (
        f"meets the target with {money(-gap)} to spare"
        if gap <= 0
        else f"is {money(gap)} short of the target"
    )
    return (
        f'<figure class="chart-wrap">{svg}<figcaption>Savings a year moving from '
        f"<b>{escape(base.name)}</b> to <b>{escape(best.name)}</b>, the scenario that saves "
        f"most: green bars save money, red bars cost more. The net saving of {money(total)} "
        f"{verdict} (dashed line).</figcaption></figure>"
    )


def _ride_times(view: CompareView) -> str:
    series = [(s.name, [st.ride_min for st in s.run.stops]) for s in view.scenarios]
    if not any(v for _, v in series):
        return "<p>No scenario has routes, so there are no ride times to show.</p>"
    svg = charts.ride_time_chart(
        series, label="Share of pupils by ride time, one line per scenario"
    )
    return (
        f'<figure class="chart-wrap">{svg}<figcaption>Share of routed pupils by minutes on '
        "board, in 5-minute bands. Dashed red lines: the usual limits of 45 minutes (age 10 "
        "and under) and 75 minutes (11 and over).</figcaption></figure>"
    )


def _shortfall(view: CompareView) -> str:
    names = {s.school_id: s.name for s in view.data.schools}
    parts = []
    for sc in view.scenarios:
        if not sc.shortfall:
            continue
        by_school: dict[str, dict[str, float]] = {}
        for r in sc.shortfall:
            need = r.get("need", "")
            by_school.setdefault(r.get("school_id", ""), {})[need] = float(r.get("missing") or 0)
        order = sorted(by_school, key=lambda k: (-sum(by_school[k].values()), k))
        needs = sorted({n for v in by_school.values() for n in v})
        rows = [(f"{charts.clip(names.get(k, k), 36)} ({k})", by_school[k]) for k in order[:25]]
        svg = charts.stacked_bars(
            rows,
            needs,
            NEED_COLOURS,
            label=f"Places missing by school and need, {sc.name}",
        )
        total = sum(sum(v.values()) for v in by_school.values())
        more = f" The {len(order) - 25} other schools are in the table." if len(order) > 25 else ""
        table = "".join(
            f"<tr><td>{escape(names.get(r.get('school_id', ''), ''))}</td>"
            f"<td>{escape(r.get('school_id', ''))}</td><td>{escape(r.get('need', ''))}</td>"
            f"<td>{_int(r.get('demand'))}</td><td>{_int(r.get('capacity'))}</td>"
            f"<td>{_int(r.get('missing'))}</td></tr>"
            for r in sorted(
                sc.shortfall, key=lambda r: (-float(r.get("missing") or 0), r.get("school_id", ""))
            )
        )
        parts.append(
            f"<h3>{escape(sc.name)}: {total:,.0f} places missing at {len(order)} schools</h3>"
            f'<figure class="chart-wrap">{svg}<figcaption>Places that would be missing if every '
            f"pupil went to the nearest suitable school, by school and need.{more}"
            "</figcaption></figure>"
            '<details><summary>Table by school and need</summary><div class="table-wrap">'
            '<table class="plain"><thead><tr><th>School</th><th>School id</th><th>Need</th>'
            "<th>Pupils sent</th><th>Capacity (all needs)</th><th>Places missing</th></tr>"
            f"</thead><tbody>{table}</tbody></table></div></details>"
        )
    if not parts:
        return "<p>No scenario places pupils at the nearest suitable school ignoring capacity.</p>"
    return "".join(parts)


def _capacity(view: CompareView) -> str:
    rows = [(sc.name, r) for sc in view.scenarios for r in sc.capacity]
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{escape(n)}</td><td>{escape(r.get('school_id', ''))}</td>"
        f"<td>{escape(r.get('need', ''))}</td><td>{_int(r.get('places_added'))}</td>"
        f"<td>{escape(r.get('reason', ''))}</td></tr>"
        for n, r in rows
    )
    return _section(
        "capacity",
        "Places added by scenarios",
        '<div class="table-wrap"><table class="plain"><thead><tr><th>Scenario</th>'
        "<th>School id</th><th>Need</th><th>Places added</th><th>Why</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>",
    )


def _maps(view: CompareView, maps: Sequence[str]) -> str:
    parts = []
    for sc, m in zip(view.scenarios, maps, strict=True):
        desc = escape(str(sc.row.get("description") or ""))
        parts.append(
            f'<div class="map-block"><h3>{escape(sc.name)}</h3>'
            f'<p class="small">{desc}{". " if desc else ""}{_int(sc.row.get("routes"))} routes, '
            f"{money(sc.row.get('annual_transport_cost'))} a year. Hover over a route or a "
            "school for details; the layer button (top right) turns layers on and off.</p>"
            f"{m}</div>"
        )
    return "".join(parts)


def _notes(view: CompareView, suppressed: int, options: ReportOptions) -> str:
    p = options.privacy
    files = "".join(
        f"<li><code>{escape(str(sc.folder.relative_to(view.folder) / 'routes.geojson'))}"
        "</code></li>"
        if sc.folder.is_relative_to(view.folder)
        else f"<li><code>{escape(str(sc.folder / 'routes.geojson'))}</code></li>"
        for sc in view.scenarios
    )
    return (
        "<h3>Privacy</h3><p>Pupils' homes are never shown. The maps count homes in "
        f"{p.cell_m / 1000:g} km squares of the British National Grid, and only squares with at "
        f"least {p.min_pupils} pupils are drawn; pupils of sparser squares are counted in "
        f"{p.coarse_m / 1000:g} km squares (again only where there are at least "
        f"{p.min_pupils}), and the {suppressed:,} pupils of still sparser areas are not drawn "
        "at all. Route lines never pass through homes: each pickup is moved to the centre of its "
        f"{p.cell_m / 1000:g} km square when that square is drawn, else to the centre of its "
        f"{p.coarse_m / 1000:g} km square, and the lines are straight, not the roads driven. "
        "This page holds no pupil identifier.</p>"
        "<h3>Files for a GIS</h3><p>Each scenario's routes and schools are also written as "
        "GeoJSON (WGS84), with the same generalised lines, for QGIS: colour routes by the "
        "<code>colour</code> field or categorise on <code>vehicle_type</code>.</p>"
        f"<ul>{files}</ul>"
        "<h3>Working offline</h3><p>Everything on this page is in this one file. Only the "
        "maps' background (map tiles) needs the internet; without it the routes, schools and "
        "squares are drawn on a plain background. Map data © OpenStreetMap contributors. "
        "Maps drawn with Leaflet (© Volodymyr Agafonkin, BSD 2-Clause licence).</p>"
    )
