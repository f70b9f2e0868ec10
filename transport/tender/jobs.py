"""Jobs of the tendering commands: from run folders to a written output folder.

Each job reads its inputs, calls the library (lots, specification, award, impact), writes one
output folder atomically (:func:`transport.runs.write.write_run`) and returns the summary it
wrote, for the command line to render and the tests to check. :func:`tender_job` is here;
:func:`award_job` (:mod:`transport.tender.award_job`) and :func:`impact_job`
(:mod:`transport.tender.impact_job`) are re-exported.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from transport.data.load import RawTables, load_tables
from transport.data.validate import parse_hhmm, validate_tables
from transport.errors import InputError, Problem
from transport.runs.write import RunFiles, clean_stale, read_run, write_run, writes_output
from transport.tender._rates import rate_card
from transport.tender.areas import pickup_districts
from transport.tender.award_job import award_job
from transport.tender.impact_job import impact_job
from transport.tender.lots import (
    DEFAULT_FINISH_AT,
    LOT_COLUMNS,
    LOTS_CSV,
    build_lots,
    daily_decimals,
    lot_rows,
)
from transport.tender.spec import html_to_pdf, render_specification

SPEC_HTML = "specification.html"
SPEC_PDF = "specification.pdf"


def read_solved_run(run_dir: str | Path) -> RunFiles:
    """A run folder with its routes (a run of ``sen-transport solve``)."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "run folder not found")])
    run = read_run(folder)
    if not run.routes:
        raise InputError(
            [
                Problem(
                    str(folder),
                    None,
                    None,
                    "has no routes.csv: solve it first (sen-transport solve)",
                )
            ]
        )
    return run


def school_finish_times(raw: RawTables) -> dict[str, int]:
    """``finish_at`` of each school from schools.csv (optional column; blank = 15:15).

    Raises
    ------
    InputError
        Naming every row whose ``finish_at`` is not a time of day.
    """
    frame = raw.schools
    if "finish_at" not in frame.columns:
        return {}
    out: dict[str, int] = {}
    problems: list[Problem] = []
    for i, (sid, text) in enumerate(zip(frame["school_id"], frame["finish_at"], strict=True)):
        text = str(text).strip()
        if not text:
            out[str(sid).strip()] = DEFAULT_FINISH_AT
            continue
        try:
            out[str(sid).strip()] = parse_hhmm(text)
        except ValueError:
            problems.append(
                Problem("schools.csv", i + 2, "finish_at", f"{text!r} is not a time (HH:MM)")
            )
    if problems:
        raise InputError(problems)
    return out


def raw_postcodes(raw: RawTables) -> dict[str, str]:
    """Each pupil's postcode as pupils.csv gives it (optional column)."""
    frame = raw.pupils
    if "postcode" not in frame.columns:
        return {}
    return {
        str(pid).strip(): str(pc).strip()
        for pid, pc in zip(frame["pupil_id"], frame["postcode"], strict=True)
        if str(pc).strip()
    }


@writes_output(
    "out_dir",
    kind="tender",
    inputs={"run_dir": "the run folder read", "data_dir": "the data folder"},
)
def tender_job(
    run_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    lot_by: str = "route",
    pdf: bool = True,
) -> dict[str, Any]:
    """Write a tender folder: lots.csv, specification.html, specification.pdf, summary.json.

    Parameters
    ----------
    run_dir
        A solved run (routes.csv, stops.csv, summary.json).
    data_dir
        The data folder it was solved from (schools, pupils, vehicle rates).
    out_dir
        The tender folder to write (replaced atomically when complete).
    lot_by
        ``"route"`` (one lot per route) or ``"school"`` (one lot per school).
    pdf
        Also print the specification to PDF (WeasyPrint).

    Returns
    -------
    dict
        The summary written (totals only, no pupil data).
    """
    start = time.perf_counter()
    clean_stale(Path(out_dir).resolve().parent, name=Path(out_dir).resolve().name)
    run = read_solved_run(run_dir)
    raw = load_tables(data_dir)
    data = validate_tables(raw)
    card = rate_card(run.summary, data)
    finish = school_finish_times(raw)
    postcodes = raw_postcodes(raw)
    routed = {p for r in run.routes for p in r.pupils}
    areas = pickup_districts([p for p in data.pupils if p.pupil_id in routed], postcodes=postcodes)
    lots = build_lots(run, data, card, lot_by=lot_by, finish_at=finish, areas=areas)
    decimals = daily_decimals(lots, card.school_days)
    html = render_specification(lots, school_days=card.school_days, lot_by=lot_by)
    binaries = {SPEC_PDF: html_to_pdf(html)} if pdf else {}
    notional_annual = sum((lot.notional_annual for lot in lots), Decimal(0))
    notional_daily = sum((lot.notional_daily for lot in lots), Decimal(0))
    vehicles = Counter(r.vehicle_type for lot in lots for r in lot.routes)
    summary: dict[str, Any] = {
        "stage": "tender",
        "source_run": str(run_dir),
        "data": data.source,
        "lot_by": lot_by,
        "lots": len(lots),
        "routes": sum(len(lot.routes) for lot in lots),
        "pupils": sum(r.passengers for lot in lots for r in lot.routes),
        "notional_daily": float(notional_daily),
        "notional_annual": float(notional_annual),
        "routes_annual_cost": round(sum(r.annual_cost for r in run.routes), 2),
        "vehicles_by_type": dict(vehicles),
        "passenger_assistants": sum(1 for lot in lots for r in lot.routes if r.has_pa),
        "daily_decimals": decimals,
        "school_days": card.school_days,
        "rate_card": card.describe(),
        "pickup_areas": "postcode" if postcodes else "nearest ONS postcode",
        "finish_at_from": "schools.csv" if finish else "default 15:15",
        "files": [LOTS_CSV, SPEC_HTML, *binaries],
        "wall_time_s": round(time.perf_counter() - start, 2),
    }
    write_run(
        out_dir,
        summary=summary,
        extra={LOTS_CSV: (LOT_COLUMNS, lot_rows(lots, decimals=decimals))},
        texts={SPEC_HTML: html},
        binaries=binaries,
        kind="tender",
    )
    return summary


__all__ = ["award_job", "impact_job", "read_solved_run", "school_finish_times", "tender_job"]
