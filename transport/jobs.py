"""Jobs: the whole pipeline for one command, from a data folder to a written run folder.

This is the top of the one-way pipeline: it may import every stage. Each job returns the
summary it wrote, so that the command line can render it and tests can check it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from transport.data.validate import read_dataset
from transport.errors import TransportError
from transport.model import Dataset, Parameters, PlacementResult
from transport.placement import place_pupils, summarise_placement
from transport.runs.destination import check_runs_dir, remove_created
from transport.runs.history import claim_dated_run, update_latest
from transport.runs.write import clean_stale, make_private_dirs, write_run, writes_output
from transport.travel import CrowFlyModel, TravelModel

# Placement holds pupil × school matrices (suitability, road miles, minutes and temporaries):
# measured 1.9 GB peak for 42,000 pupils × 860 schools (benchmarks/limits_40k.py), about 50 bytes
# a cell with the interpreter; the guard assumes 64.
BYTES_PER_CELL = 64
MEMORY_SHARE = 0.8  # of the memory available, at most


class LimitError(TransportError):
    """A run too large for this machine: refused before it starts, with what to do instead."""


def available_memory() -> int | None:
    """Bytes of memory available now (``MemAvailable``; None where it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(pupils: int, schools: int, *, available: int | None = None) -> int:
    """Refuse a placement whose pupil × school matrices would not fit in memory.

    Parameters
    ----------
    pupils, schools
        Size of the data set.
    available
        Bytes available (default: :func:`available_memory`; the environment variable
        ``SEN_TRANSPORT_MEMORY_MB`` overrides it).

    Returns
    -------
    int
        The estimate in bytes.

    Raises
    ------
    LimitError
        When the estimate exceeds ``MEMORY_SHARE`` of the memory available.
    """
    need = pupils * max(schools, 1) * BYTES_PER_CELL
    if available is None:
        forced = os.environ.get("SEN_TRANSPORT_MEMORY_MB", "").strip()
        available = int(float(forced) * 2**20) if forced else available_memory()
    if available is not None and need > MEMORY_SHARE * available:
        raise LimitError(
            f"{pupils:,} pupils × {schools:,} schools need about {need / 2**30:.1f} GB for "
            f"placement, more than this machine has free ({available / 2**30:.1f} GB): "
            "run the counties (or districts) as separate data folders"
        )
    return need


def _read_checked(data_dir: str | Path) -> Dataset:
    data = read_dataset(data_dir)
    check_memory(len(data.pupils), len(data.schools))
    return data


def placement_summary(
    data: Dataset, result: PlacementResult, *, params: Parameters, travel: TravelModel
) -> dict[str, Any]:
    """The summary.json of a placement run (contract keys first)."""
    totals = summarise_placement(data, result, params)
    return {
        "stage": "place",
        "policy": result.policy,
        "data": data.source,
        "pupils": len(data.pupils),
        "routes": 0,
        "annual_transport_cost": None,
        "annual_place_cost": totals["annual_place_cost"],
        "unplaced": [u.pupil_id for u in result.unplaced],
        "unplaced_reasons": {u.pupil_id: u.reason for u in result.unplaced},
        "unrouted": [],
        "placement": totals,
        "shortfall_by_need": _shortfall_by_need(result),
        "parameters": {
            **params.to_dict(),
            "travel_model": travel.describe(),
            "policy": result.policy,
        },
    }


def _shortfall_by_need(result: PlacementResult) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in result.shortfall:
        out[s.need] = out.get(s.need, 0) + s.missing
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


@writes_output("out_dir", kind="run", inputs={"data_dir": "the data folder"})
def place_job(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    policy: str,
    params: Parameters | None = None,
    travel: TravelModel | None = None,
) -> dict[str, Any]:
    """Read a data folder, place every pupil under ``policy`` and write the run folder.

    Writes placements.csv, summary.json and, for ``nearest-suitable``, shortfall.csv.
    Returns the summary.
    """
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    data = _read_checked(data_dir)
    result = place_pupils(data, policy=policy, travel=travel, params=params)
    summary = placement_summary(data, result, params=params, travel=travel)
    write_run(out_dir, summary=summary, placements=result)
    return summary


def solve_summary(
    data: Dataset,
    placements: PlacementResult,
    plan: Any,
    *,
    params: Parameters,
    travel: TravelModel,
    options: Any,
    wall_s: float,
    scenario: str | None = None,
) -> dict[str, Any]:
    """The summary.json of a solve run: contract keys first, then the plan's totals.

    ``time_limit_reached`` is true when any school's search stopped at its share of the time
    limit (status ``feasible (time limit)``, or no solution within it, or a wall-clock stop)
    rather than proving its plan optimal: the plan is then the best found in the time given.
    ``time_limit_schools`` names those schools.
    """
    totals = summarise_placement(data, placements, params)
    transport = plan.summary(data, params)
    limited = {sid for sid, status in plan.school_status.items() if "time limit" in status}
    limited |= set((plan.info or {}).get("schools_stopped_by_clock") or ())
    return {
        "stage": "solve",
        "scenario": scenario,
        "policy": placements.policy,
        "data": data.source,
        "pupils": len(data.pupils),
        "routes": len(plan.routes),
        "annual_transport_cost": plan.annual_transport_cost,
        "annual_place_cost": totals["annual_place_cost"],
        "unplaced": [u.pupil_id for u in placements.unplaced],
        "unrouted": [u.pupil_id for u in plan.unrouted],
        "unplaced_reasons": {u.pupil_id: u.reason for u in placements.unplaced},
        "unrouted_reasons": {u.pupil_id: u.reason for u in plan.unrouted},
        "pupils_routed": transport["pupils_routed"],
        "vehicles_by_type": transport["vehicles_by_type"],
        "passenger_assistants": transport["passenger_assistants"],
        "mean_ride_min": transport["mean_ride_min"],
        "max_ride_min": transport["max_ride_min"],
        "pupils_over_45_min": transport["pupils_over_45_min"],
        "pupils_over_75_min": transport["pupils_over_75_min"],
        "cost_per_pupil": transport["cost_per_pupil"],
        "time_limit_reached": bool(limited),
        "time_limit_schools": sorted(limited),
        "transport": transport,
        "placement": totals,
        "school_status": dict(sorted(plan.school_status.items())),
        "routing": plan.info,
        "wall_time_s": round(wall_s, 2),
        "parameters": {
            **params.to_dict(),
            "travel_model": travel.describe(),
            "policy": placements.policy,
            "routing": options.to_dict(),
        },
    }


@writes_output("out_dir", kind="run", inputs={"data_dir": "the data folder"})
def solve_job(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    policy: str = "keep",
    scope: str = "all",
    params: Parameters | None = None,
    travel: TravelModel | None = None,
    options: Any = None,
    progress: Any = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """Read a data folder, place pupils, plan their routes and write the run folder.

    Writes placements.csv, routes.csv, stops.csv and summary.json (and shortfall.csv for
    ``nearest-suitable``). ``options`` is a :class:`transport.routing.RoutingOptions`;
    ``progress`` receives :class:`transport.routing.ProgressEvent` objects. Returns the summary.
    """
    import time

    from transport.routing import RoutingOptions, plan_routes

    start = time.perf_counter()
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    options = options or RoutingOptions()
    data = _read_checked(data_dir)
    placements = place_pupils(data, policy=policy, scope=scope, travel=travel, params=params)
    plan = plan_routes(
        data, placements, travel=travel, params=params, options=options, progress=progress
    )
    summary = solve_summary(
        data,
        placements,
        plan,
        params=params,
        travel=travel,
        options=options,
        wall_s=time.perf_counter() - start,
        scenario=scenario,
    )
    write_run(out_dir, summary=summary, placements=placements, routes=plan.routes, stops=plan.stops)
    return summary


def solve_nightly_job(
    data_dir: str | Path,
    runs_root: str | Path,
    *,
    today: dt.date | None = None,
    **options: Any,
) -> tuple[dict[str, Any], Path]:
    """:func:`solve_job` into a dated folder of ``runs_root``, then point ``latest`` at it.

    The run goes to ``runs_root/YYYY-MM-DD`` (``-2``, ``-3``, … when that exists or another run
    is writing it, see :func:`transport.runs.history.claim_dated_run`); ``runs_root/latest``
    moves only once the run is complete, and is never replaced when it is not a link.
    Temporary folders left by runs killed outright are removed first. ``options`` are
    :func:`solve_job`'s. Returns the summary and the run folder.
    """
    root = check_runs_dir(runs_root, inputs=[("the data folder", data_dir)])
    created = make_private_dirs(root)
    try:
        clean_stale(root)
        with claim_dated_run(root, today=today) as run_dir:
            summary = solve_job(data_dir, run_dir, **options)
            update_latest(root, run_dir)
    except BaseException:
        remove_created(created)
        raise
    return summary, run_dir


@writes_output(
    "out_dir",
    kind="sheets",
    inputs={"run_dir": "the run folder read", "data_dir": "the data folder"},
)
def sheets_job(
    run_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    redact: bool = False,
) -> dict[str, Any]:
    """Write route sheets of a solved run: route-sheets.csv, route-sheets.html, summary.json.

    ``redact`` leaves out everything but what a driver must know (see
    :mod:`transport.runs.sheets`). Returns the summary (counts only).
    """
    from transport.runs.sheets import (
        SHEET_CSV,
        SHEET_HTML,
        pupil_postcodes,
        render_html,
        sheet_columns,
        sheet_rows,
    )
    from transport.runs.write import read_run

    run = read_run(run_dir)
    data = read_dataset(data_dir)
    postcodes = pupil_postcodes(data_dir)
    columns = sheet_columns(redact=redact)
    rows = sheet_rows(data, run, redact=redact, postcodes=postcodes)
    summary = {
        "stage": "sheets",
        "source_run": str(run_dir),
        "data": data.source,
        "redacted": redact,
        "routes": len({r[0] for r in rows}),
        "pickups": len(rows),
        "pickup_point": "postcode" if postcodes else "lat/lon to 4 decimals",
        "columns": list(columns),
    }
    write_run(
        out_dir,
        summary=summary,
        extra={SHEET_CSV: (columns, rows)},
        texts={SHEET_HTML: render_html(columns, rows, redact=redact)},
        kind="sheets",
    )
    return summary


@writes_output(
    "out_dir",
    kind="budgets",
    inputs={"run_dir": "the run folder read", "data_dir": "the data folder"},
)
def budgets_job(
    data_dir: str | Path,
    run_dir: str | Path,
    out_dir: str | Path,
    *,
    scenario: Any = None,
    rule: str | None = None,
    districts: list[str] | tuple[str, ...] | None = None,
    draws: int | None = None,
    seed: int | None = None,
    allow_loss: bool | None = None,
    compare_countywide: bool = True,
    travel: TravelModel | None = None,
) -> dict[str, Any]:
    """Price personal transport budgets for a cohort of a solved run and write the export.

    Reads the data folder (and its optional attendance.csv) and the run folder written by
    ``sen-transport solve``; the options override the scenario's ``[budgets]`` settings
    (``districts`` of ``["*"]`` is county-wide); ``scenario`` is a
    :class:`transport.scenario.Scenario` (default: every default). Writes budgets.csv,
    budget-summary.md, budget-summary.html and summary.json to ``out_dir`` and returns the
    summary. When the cohort is not county-wide, the summary also holds the county-wide
    figures.
    """
    import time
    from dataclasses import asdict, replace

    from transport.budgets import SavingsModel, assess_cohort, read_attendance, resolve_districts
    from transport.budgets.export import budget_summary, write_budget_run
    from transport.budgets.savings import check_travel_backend, read_solved_run, run_parameters
    from transport.scenario import Scenario

    start = time.perf_counter()
    scenario = scenario or Scenario()
    overrides = {
        "rule": rule,
        "districts": tuple(districts) if districts is not None else None,
        "draws": draws,
        "seed": seed,
        "allow_loss": allow_loss,
    }
    settings = replace(scenario.budgets, **{k: v for k, v in overrides.items() if v is not None})
    run = read_solved_run(run_dir)
    data = read_dataset(data_dir)
    params, source = run_parameters(run.summary, scenario.parameters())
    travel = travel or CrowFlyModel(params.travel)
    check_travel_backend(run.summary, travel)
    cohort = resolve_districts(settings.districts, {p.district for p in data.pupils})
    attendance = read_attendance(data_dir, set(data.pupil_by_id))
    savings = SavingsModel(data, run, params=params, travel=travel, seed=settings.seed)
    common = {
        "settings": settings,
        "target": scenario.target.annual_saving,
        "attendance": attendance,
        "school_days": params.cost.school_days,
    }
    main = assess_cohort(data, run, savings, districts=cohort, **common)
    county = None
    if compare_countywide and cohort is not None:
        county = assess_cohort(data, run, savings, districts=None, **common)
    parameters = {
        **params.to_dict(),
        "parameters_from": source,
        "travel_model": travel.describe(),
        "budgets": asdict(settings),
        "target": asdict(scenario.target),
        "attendance_file": bool(attendance),
    }
    summary = budget_summary(
        main,
        county,
        data_source=data.source,
        run_dir=str(run_dir),
        target=scenario.target.annual_saving,
        savings=savings.totals(),
        parameters=parameters,
        wall_s=time.perf_counter() - start,
    )
    write_budget_run(out_dir, summary=summary, rows=main.rows())
    return summary
