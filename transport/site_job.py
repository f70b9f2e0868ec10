"""The ``site`` job: from a data folder and a candidates file to a written siting run folder.

Like :mod:`transport.jobs` (kept apart so that the capacity-planning command can change without
touching the other commands' jobs), this sits at the top of the pipeline: it reads and
validates the inputs, calls :func:`transport.placement.siting.site_places` and writes

* ``sites.csv`` — one row per opened site or expanded school
  (:data:`transport.placement.siting.SITE_COLUMNS`);
* ``placements.csv`` — every pupil's school under the new places (policy ``optimal``);
* ``summary.json`` — costs before and after, build cost, payback, pupils out of county,
  how the model was solved and every parameter;
* ``sites.geojson`` — the opened sites and expanded schools as points, for a GIS;
* ``report.html`` — the figures, the sites and a map with the opened sites as a layer.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from transport.jobs import read_data, scenario_travel
from transport.model import Parameters
from transport.placement.candidates import read_candidates
from transport.placement.siting import SITE_COLUMNS, SiteResult, SitingOptions, site_places
from transport.runs.write import clean_stale, write_run, writes_output
from transport.scenario import Scenario
from transport.travel import TravelModel

OUT_OF_COUNTY = (
    "pupils placed at an independent or non-maintained school, or at a school in a district "
    "where none of the data's pupils lives (outside the county)"
)
ANNUAL_SAVING = (
    "leave-one-out: the annual place + estimated transport cost with every other site and "
    "school as chosen and this one's added places removed (pupils re-placed exactly), minus "
    "the cost with them; net of the annualised build cost in net_annual_saving. Savings of "
    "sites that compete for the same pupils overlap, so the rows need not add up to the total"
)


def site_summary(
    result: SiteResult,
    *,
    data_source: str,
    candidates: str,
    params: Parameters,
    travel: TravelModel,
) -> dict[str, Any]:
    """The summary.json of a siting run (the contract's keys first)."""
    opts = result.options
    annualised = (
        f"simple: build_cost / {opts.years} years"
        if opts.discount_rate == 0
        else f"annuity: build_cost × r / (1 − (1 + r)^−{opts.years}), r = {opts.discount_rate}"
    )
    payback = result.payback_years
    return {
        "stage": "site",
        "data": data_source,
        "candidates": candidates,
        "pupils": len(result.data.pupils),
        "routes": 0,
        "annual_transport_cost": None,
        "annual_place_cost": round(result.after.place, 2),
        "unplaced": [u.pupil_id for u in result.placements.unplaced],
        "unplaced_reasons": {u.pupil_id: u.reason for u in result.placements.unplaced},
        "unrouted": [],
        "solved_exactly": result.info.exact,
        "status": result.info.status,
        "optimality_gap": result.info.gap,
        "annual_cost_before": round(result.before.total, 2),
        "annual_cost_after": round(result.after.total, 2),
        "annual_saving": round(result.annual_saving, 2),
        "build_cost": round(result.build_cost, 2),
        "annual_build_cost": round(result.annual_build_cost, 2),
        "net_annual_saving": round(result.net_annual_saving, 2),
        "payback_years": None if payback is None else round(payback, 2),
        "pupils_out_of_county": {
            "before": result.before.out_of_county,
            "after": result.after.out_of_county,
        },
        "sites_opened": sum(1 for r in result.rows if r.type == "new site"),
        "schools_expanded": sum(1 for r in result.rows if r.type == "expansion"),
        "places_added": sum(r.places for r in result.rows),
        "candidates_considered": result.candidates,
        "sites": [asdict(r) for r in result.rows],
        "before": result.before.to_dict(),
        "after": result.after.to_dict(),
        "objective": {
            "annual_cost": round(result.info.objective, 2),
            "lower_bound": round(result.info.bound, 2),
            "terms": "Σ pupils (place_cost + school_days × 2 × road_miles × "
            "est_cost_per_pupil_mile) + Σ opened (build_cost × annualisation)",
        },
        "solve": {**result.info.to_dict(), **result.extra},
        "definitions": {
            "out_of_county": OUT_OF_COUNTY,
            "annual_saving": ANNUAL_SAVING,
            "before": "the optimal placement (least place + estimated transport cost) with "
            "today's places",
            "annualisation": annualised,
        },
        "parameters": {
            **params.to_dict(),
            "travel_model": travel.describe(),
            "siting": {
                "places": opts.places,
                "needs": list(opts.needs),
                "years": opts.years,
                "discount_rate": opts.discount_rate,
                "annual_factor": round(opts.annual_factor, 8),
                "max_sites": opts.max_sites,
                "budget": opts.budget,
                "solver": opts.solver,
                "time_limit_s": opts.time_limit_s,
                "seed": opts.seed,
                "scope": opts.scope,
            },
        },
    }


def site_rows(result: SiteResult) -> list[tuple[Any, ...]]:
    """The rows of sites.csv (money with 2 decimals, coordinates with 6)."""
    return [
        (
            r.site_id,
            r.name,
            r.type,
            r.kind,
            r.district,
            r.need,
            r.places,
            r.pupils,
            f"{r.build_cost:.2f}",
            f"{r.annual_build_cost:.2f}",
            f"{r.annual_saving:.2f}",
            f"{r.net_annual_saving:.2f}",
            r.unplaced_without,
            f"{r.lat:.6f}",
            f"{r.lon:.6f}",
        )
        for r in result.rows
    ]


def sites_geojson(result: SiteResult) -> dict[str, Any]:
    """The opened sites and expanded schools as GeoJSON points (WGS84; no pupil data)."""
    return {
        "type": "FeatureCollection",
        "name": "sites",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(r.lon, 6), round(r.lat, 6)]},
                "properties": {
                    "site_id": r.site_id,
                    "name": r.name,
                    "type": r.type,
                    "kind": r.kind,
                    "need": r.need,
                    "places": r.places,
                    "pupils": r.pupils,
                    "build_cost": r.build_cost,
                    "annual_saving": r.annual_saving,
                    "net_annual_saving": r.net_annual_saving,
                },
            }
            for r in result.rows
        ],
    }


@writes_output(
    "out_dir",
    kind="site",
    inputs={
        "data_dir": "the data folder",
        "candidates_file": "the candidates file",
        "districts_file": "the districts file",
    },
)
def site_job(
    data_dir: str | Path,
    candidates_file: str | Path,
    out_dir: str | Path,
    *,
    options: SitingOptions | None = None,
    scenario: Scenario | None = None,
    travel: TravelModel | None = None,
    cache_dir: str | Path | None = None,
    districts_file: str | Path | None = None,
) -> dict[str, Any]:
    """Read the inputs, choose the sites exactly, write the run folder; return the summary.

    The scenario (default: the defaults) gives the travel model and the cost parameters of
    the estimate (``[travel]``, ``[cost]``); ``options`` the siting's own limits.

    Raises
    ------
    InputError
        Every problem of the data folder, then of the candidates file (exit status 2).
    """
    from transport.report.sites import render_site_report

    scenario = scenario or Scenario()
    params = scenario.parameters()
    options = options or SitingOptions()
    clean_stale(Path(out_dir).resolve().parent, name=Path(out_dir).resolve().name)
    data = read_data(data_dir, districts_file=districts_file)
    candidates = read_candidates(candidates_file, data)
    with scenario_travel(scenario, travel, cache_dir=cache_dir) as model:
        result = site_places(data, candidates, options=options, travel=model, params=params)
        summary = site_summary(
            result,
            data_source=data.source,
            candidates=str(candidates_file),
            params=params,
            travel=model,
        )
    rows = site_rows(result)
    write_run(
        out_dir,
        summary=summary,
        placements=result.placements,
        extra={"sites.csv": (SITE_COLUMNS, rows)},
        texts={
            "sites.geojson": json.dumps(sites_geojson(result), indent=1) + "\n",
            "report.html": render_site_report(data, summary, SITE_COLUMNS, rows, result.placements),
        },
        kind="site",
    )
    return summary
