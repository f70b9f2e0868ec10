"""Jobs: one command's work, from input folders to a written folder.

A job reads its inputs (the data folder, a run folder), builds the travel model of the
scenario's ``[travel]`` settings, calls the one pipeline (:func:`transport.pipeline.run_scenario`)
and writes the result. It computes nothing itself. Each job returns the summary it wrote, so
that the command line can render it and tests can check it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from transport.audit import record_scenario, scenario_settings
from transport.data.validate import read_dataset
from transport.errors import TransportError
from transport.executor import Executor
from transport.model import Dataset
from transport.pipeline import RunSummary, run_scenario
from transport.runs.destination import check_runs_dir, remove_created
from transport.runs.history import LATEST, claim_dated_run, update_latest
from transport.runs.write import clean_stale, make_private_dirs, write_run, writes_output
from transport.scenario import Scenario
from transport.travel import TravelModel, travel_model

# Placement holds pupil × school matrices (suitability, road miles, minutes and temporaries):
# measured 1.9 GB peak for 42,000 pupils × 860 schools (benchmarks/limits_40k.py), about 50 bytes
# a cell with the interpreter; the guard assumes 64.
RUN_TABLES = ("travel", "ride", "cost")
"""The tables whose values ``budgets`` takes from the run it prices (its summary.json)."""
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


def read_data(data_dir: str | Path, *, districts_file: str | Path | None = None) -> Dataset:
    """Read and validate a data folder, refusing one too large for this machine.

    With ``districts_file`` (district boundaries), blank districts are filled from each
    row's location and stated ones checked against it
    (:func:`transport.data.districts.read_dataset_in_districts`).
    """
    if districts_file is not None:
        from transport.data.districts import read_dataset_in_districts

        data = read_dataset_in_districts(data_dir, districts_file)
    else:
        data = read_dataset(data_dir)
    check_memory(len(data.pupils), len(data.schools))
    return data


@contextlib.contextmanager
def scenario_travel(
    scenario: Scenario,
    travel: TravelModel | None = None,
    *,
    cache_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> Iterator[TravelModel]:
    """The travel model of the scenario's ``[travel]`` (``travel`` when given), closed after;
    a travel matrix is looked for in ``data_dir`` unless the scenario names its file."""
    model = travel or travel_model(
        scenario.network, scenario.travel, cache_dir=cache_dir, data_dir=data_dir
    )
    try:
        yield model
    finally:
        close = getattr(model, "close", None)
        if travel is None and close is not None:
            close()


def _prepare(out_dir: str | Path) -> None:
    target = Path(out_dir).resolve()
    clean_stale(target.parent, name=target.name)


@writes_output(
    "out_dir",
    kind="run",
    inputs={"data_dir": "the data folder", "districts_file": "the districts file"},
)
def place_job(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    scenario: Scenario | None = None,
    travel: TravelModel | None = None,
    cache_dir: str | Path | None = None,
    districts_file: str | Path | None = None,
) -> RunSummary:
    """Read a data folder, place every pupil under the scenario's policy, write the run folder.

    Writes placements.csv, summary.json and, for ``nearest-suitable``, shortfall.csv.
    ``cache_dir`` holds road graphs (``--network osm``); ``districts_file`` as in
    :func:`read_data`. Returns the summary.
    """
    scenario = scenario or Scenario()
    record_scenario(scenario)
    _prepare(out_dir)
    data = read_data(data_dir, districts_file=districts_file)
    with scenario_travel(scenario, travel, cache_dir=cache_dir, data_dir=data_dir) as model:
        result = run_scenario(scenario, data, model, until="place")
    assert result.summary is not None
    write_run(out_dir, summary=result.summary.to_dict(), placements=result.placements)
    return result.summary


@writes_output(
    "out_dir",
    kind="run",
    inputs={
        "data_dir": "the data folder",
        "districts_file": "the districts file",
        "previous_dir": "the previous run",
        "locks_file": "the locks file",
    },
)
def solve_job(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    scenario: Scenario | None = None,
    travel: TravelModel | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[Any], None] | None = None,
    unnamed: bool = False,
    districts_file: str | Path | None = None,
    previous_dir: str | Path | None = None,
    from_scratch: bool = False,
    locks_file: str | Path | None = None,
    executor: Executor | None = None,
) -> RunSummary:
    """Read a data folder, place pupils, plan their routes and write the run folder.

    Writes placements.csv, routes.csv, stops.csv, pupil-digests.csv and summary.json (and
    shortfall.csv for ``nearest-suitable``, capacity.csv when the scenario adds places).
    ``scenario`` holds every setting (default: every default); summary.json's ``scenario`` is
    its name, or null when there is none or ``unnamed`` (no scenario file, only options).
    ``progress`` receives :class:`transport.routing.ProgressEvent` objects.

    ``previous_dir`` is the plan in force: routes are re-planned from it (keeping unchanged
    families' journeys, :func:`transport.routing.replan_routes`), or with ``from_scratch``
    planned anew and compared with it; ``locks_file`` lists route ids of it to keep exactly.
    ``executor`` runs the stages' work elsewhere (a Dask cluster, :mod:`transport.cluster`);
    the folder is written here, once everything is computed. Returns the summary.
    """
    from transport.changes import new_salt
    from transport.errors import ParameterError
    from transport.runs.previous import DIGEST_FILE, digest_summary, digest_table, read_previous

    if locks_file is not None and (previous_dir is None or from_scratch):
        raise ParameterError("--locks keeps routes of the plan in force: it needs a re-plan")
    named = scenario is not None and not unnamed
    scenario = scenario or Scenario()
    record_scenario(scenario)
    _prepare(out_dir)
    data = read_data(data_dir, districts_file=districts_file)
    previous, salt = None, None
    if previous_dir is not None:
        previous, salt = read_previous(
            previous_dir, data, locks_file=locks_file, need_digests=not from_scratch
        )
    salt = salt or new_salt()
    with scenario_travel(scenario, travel, cache_dir=cache_dir, data_dir=data_dir) as model:
        result = run_scenario(
            scenario,
            data,
            model,
            until="route",
            route_progress=progress,
            previous=previous,
            from_scratch=from_scratch,
            executor=executor,
        )
    assert result.summary is not None
    summary = result.summary if named else replace(result.summary, scenario=None)
    summary = replace(summary, pupil_digests=digest_summary(salt))
    write_run(
        out_dir,
        summary=summary.to_dict(),
        placements=result.placements,
        routes=result.plan.routes if result.plan else (),
        stops=result.plan.stops if result.plan else (),
        explanations=result.plan.explanations if result.plan else (),
        extra={**result.extra_tables(), DIGEST_FILE: digest_table(data, salt)},
    )
    return summary


def solve_nightly_job(
    data_dir: str | Path,
    runs_root: str | Path,
    *,
    today: dt.date | None = None,
    **options: Any,
) -> tuple[RunSummary, Path]:
    """:func:`solve_job` into a dated folder of ``runs_root``, then point ``latest`` at it.

    The run goes to ``runs_root/YYYY-MM-DD`` (``-2``, ``-3``, … when that exists or another run
    is writing it, see :func:`transport.runs.history.claim_dated_run`); ``runs_root/latest``
    moves only once the run is complete, and is never replaced when it is not a link.
    Temporary folders left by runs killed outright are removed first. ``options`` are
    :func:`solve_job`'s; without ``previous_dir``, ``runs_root/latest`` (when there is one) is
    the plan in force, re-planned from unless ``from_scratch``. Returns the summary and the
    run folder.
    """
    read = [("the data folder", data_dir), ("the districts file", options.get("districts_file"))]
    root = check_runs_dir(runs_root, inputs=read)
    created = make_private_dirs(root)
    try:
        clean_stale(root)
        latest = root / LATEST
        if options.get("previous_dir") is None and latest.exists():
            options["previous_dir"] = latest
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
    packs: bool = False,
    workers: int = 1,
    engine: str = "auto",
) -> dict[str, Any]:
    """Write route sheets of a solved run: route-sheets.csv, route-sheets.html, summary.json.

    ``redact`` leaves out everything but what a driver must know (see
    :mod:`transport.runs.sheets`). ``packs`` adds a crew pack PDF per route for its operator
    and passenger assistant (:mod:`transport.letters.packs`), printed by ``engine``
    (:func:`transport.letters.pdf.choose_engine`). Returns the summary (counts only).
    """
    from transport.runs.sheets import (
        SHEET_CSV,
        SHEET_HTML,
        pupil_postcodes,
        render_html,
        route_school_times,
        sheet_columns,
        sheet_rows,
    )
    from transport.runs.write import read_run

    clean_stale(Path(out_dir).resolve().parent, name=Path(out_dir).resolve().name)
    run = read_run(run_dir)
    data = read_dataset(data_dir)
    postcodes = pupil_postcodes(data_dir)
    columns = sheet_columns(redact=redact)
    rows = sheet_rows(data, run, redact=redact, postcodes=postcodes)
    html_page = render_html(columns, rows, redact=redact, schools=route_school_times(data, run))
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
    if packs:
        from transport.letters.packs import write_sheets_with_packs

        return write_sheets_with_packs(
            out_dir,
            run_dir=run_dir,
            data_dir=data_dir,
            data=data,
            run=run,
            postcodes=postcodes,
            summary=summary,
            sheets={SHEET_CSV: (columns, rows)},
            texts={SHEET_HTML: html_page},
            workers=workers,
            engine=engine,
        )
    write_run(
        out_dir,
        summary=summary,
        extra={SHEET_CSV: (columns, rows)},
        texts={SHEET_HTML: html_page},
        kind="sheets",
    )
    return summary


@writes_output(
    "out_dir",
    kind="budgets",
    inputs={
        "run_dir": "the run folder read",
        "data_dir": "the data folder",
        "districts_file": "the districts file",
    },
)
def budgets_job(
    data_dir: str | Path,
    run_dir: str | Path,
    out_dir: str | Path,
    *,
    scenario: Scenario | None = None,
    compare_countywide: bool = True,
    travel: TravelModel | None = None,
    cache_dir: str | Path | None = None,
    districts_file: str | Path | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Price personal transport budgets for a cohort of a solved run and write the export.

    Reads the data folder (and its optional attendance.csv) and the run folder written by
    ``sen-transport solve``; ``scenario`` holds the ``[budgets]`` settings (options already
    applied as overrides) and the ``[travel]`` network the run was planned on; routes are
    re-planned with the run's own parameters (its summary.json). Writes budgets.csv,
    budget-summary.md, budget-summary.html and summary.json to ``out_dir`` and returns the
    summary. When the cohort is not county-wide and ``compare_countywide``, the summary also
    holds the county-wide figures. ``executor``: where the re-plans and uptake draws run
    (a Dask cluster); the folder is written here.
    """
    from transport.budgets import read_attendance, run_parameters
    from transport.budgets.export import write_budget_run
    from transport.budgets.savings import read_solved_run

    scenario = (scenario or Scenario()).with_overrides({"budgets.offer": True}, source="command")
    _prepare(out_dir)
    run = read_solved_run(run_dir)
    data = read_data(data_dir, districts_file=districts_file)
    params, source = run_parameters(run.summary, scenario.parameters())
    scenario = replace(scenario, travel=params.travel, ride=params.ride, cost=params.cost)
    if source == "run":
        keys = [k for k, v in scenario_settings(scenario).items() if k.split(".")[0] in RUN_TABLES]
        scenario = replace(scenario, sources={**scenario.sources, **dict.fromkeys(keys, "run")})
    record_scenario(scenario)
    attendance = read_attendance(data_dir, set(data.pupil_by_id))
    with scenario_travel(scenario, travel, cache_dir=cache_dir, data_dir=data_dir) as model:
        result = run_scenario(
            scenario,
            data,
            model,
            solved=run,
            attendance=attendance,
            countywide=compare_countywide,
            executor=executor,
        )
    assert result.budgets is not None
    summary = dict(result.budgets.summary)
    write_budget_run(out_dir, summary=summary, rows=list(result.budgets.rows))
    return summary
