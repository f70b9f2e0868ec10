"""report.html of a ``sen-transport site`` run: the figures, the sites and a map.

It renders the run's summary and sites.csv rows and computes nothing new. The map is the
compare report's (Leaflet inlined, homes counted by square, no pupil id or home location),
with the opened sites and the expanded schools as a "places added / sites opened" layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

from transport.model import Dataset, PlacementResult
from transport.report.geometry import PrivacyOptions, home_grid, school_points
from transport.report.maps import AddedPlaces, asset, map_data, map_head, map_html, map_scripts


def _money(value: Any) -> str:
    return "—" if value is None else f"£{float(value):,.0f}"


def render_site_report(
    data: Dataset,
    summary: dict[str, Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    placements: PlacementResult,
    *,
    privacy: PrivacyOptions | None = None,
) -> str:
    """The page as one HTML string (owner-only file, written by the job)."""
    row_dicts = [dict(zip(columns, r, strict=True)) for r in rows]
    placed = Counter(p.school_id for p in placements.placements)
    grid = home_grid(data, options=privacy)
    points = school_points(data, placed, [])
    added = [
        AddedPlaces(
            float(r["lat"]),
            float(r["lon"]),
            int(r["places"]),
            str(r["name"]),
            f"{r['type']}, need {r['need']}; saves {_money(r['annual_saving'])} a year",
        )
        for r in row_dicts
    ]
    the_map = map_html(
        0, map_data([], points, grid, colours={}, added=added), title="Map of the sites"
    )
    exact = (
        "solved exactly (proven optimal)"
        if summary["solved_exactly"]
        else f"stopped at the time limit: optimality gap {summary['optimality_gap']:.2%}"
    )
    out = summary["pupils_out_of_county"]
    payback = summary["payback_years"]
    annualised = summary["definitions"]["annualisation"]
    figures = [
        ("Annual cost before (optimal placement, today's places)", summary["annual_cost_before"]),
        ("Annual cost after", summary["annual_cost_after"]),
        ("Annual saving (places + estimated transport)", summary["annual_saving"]),
        ("Build cost", summary["build_cost"]),
        (f"Build cost a year ({annualised})", summary["annual_build_cost"]),
        ("Net annual saving", summary["net_annual_saving"]),
    ]
    figures = [(k, _money(v)) for k, v in figures] + [
        ("Payback", "never" if payback is None else f"{payback:.1f} years"),
        ("Pupils out of county", f"{out['before']:,} → {out['after']:,}"),
        ("Places added", f"{summary['places_added']:,}"),
    ]
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in figures)
    shown = ("site_id", "name", "type", "need", "places", "pupils", "build_cost", "annual_saving")
    table = "".join(
        "<tr>" + "".join(f"<td>{escape(str(r[c]))}</td>" for c in shown) + "</tr>"
        for r in row_dicts
    )
    head = "".join(f"<th>{escape(c)}</th>" for c in shown)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Capacity planning: where to open places</title>"
        f"<style>{asset('report.css')}</style>{map_head()}</head><body>"
        "<header><h1>Capacity planning: where to open places</h1>"
        f'<p class="meta">{escape(str(summary["data"]))}, candidates '
        f"{escape(str(summary['candidates']))}: {escape(exact)}</p></header><main>"
        f'<section id="figures"><h2>Figures</h2><table class="plain">{facts}</table></section>'
        f'<section id="sites"><h2>Sites opened and schools expanded</h2>'
        f'<div class="table-wrap"><table class="plain"><thead><tr>{head}</tr></thead>'
        f"<tbody>{table}</tbody></table></div></section>"
        f'<section id="map"><h2>Map</h2>{the_map}</section>'
        "</main>"
        f"{map_scripts()}</body></html>\n"
    )
