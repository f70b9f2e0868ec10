"""The impact job: two runs in, the impact folder out (``sen-transport impact``).

Writes impact.csv, impact-by-school.csv, impact.html and summary.json, atomically.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from transport.audit import record_folder
from transport.data.load import load_tables, read_csv_file
from transport.data.validate import validate_tables
from transport.errors import InputError, Problem
from transport.runs.manifest import MANIFEST, check_unchanged
from transport.runs.write import clean_stale, read_run, write_run, writes_output
from transport.tender.award_job import AWARD_SUMMARY, ROUTE_OPERATORS_CSV
from transport.tender.impact import (
    IMPACT_COLUMNS,
    IMPACT_KINDS,
    SCHOOL_COLUMNS,
    assess_impact,
    impact_rows,
    school_rows,
    vulnerable_by_reason,
)
from transport.tender.impact_page import render_impact

IMPACT_CSV = "impact.csv"
IMPACT_SCHOOLS_CSV = "impact-by-school.csv"
IMPACT_HTML = "impact.html"


def read_route_operators(path: str | Path, *, routes: set[str]) -> dict[str, str]:
    """``{route_id: operator_id}`` from a route-operators.csv (or an award folder holding one).

    Raises
    ------
    InputError
        Naming every row with a blank or duplicate route, a route not in the run, or a blank
        operator.
    """
    path = Path(path)
    if path.is_dir():
        path = path / ROUTE_OPERATORS_CSV
    if not path.is_file():
        raise InputError([Problem(path.name, None, None, f"file not found: {path}")])
    frame = read_csv_file(path)
    problems = [
        Problem(path.name, 1, c, "required column is missing")
        for c in ("route_id", "operator_id")
        if c not in frame.columns
    ]
    if problems:
        raise InputError(problems)
    out: dict[str, str] = {}
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2
        route, op = str(row["route_id"]).strip(), str(row["operator_id"]).strip()
        if not route:
            problems.append(Problem(path.name, line, "route_id", "is blank"))
        elif route in out:
            problems.append(Problem(path.name, line, "route_id", "route listed twice"))
        elif route not in routes:  # the row, not the value: a cell may hold a pupil id
            problems.append(Problem(path.name, line, "route_id", "not a route of the run"))
        if not op:
            problems.append(Problem(path.name, line, "operator_id", "is blank"))
        if route and op:
            out.setdefault(route, op)
    if problems:
        raise InputError(problems)
    return out


@writes_output(
    "out_dir",
    kind="impact",
    inputs={
        "current_run": "the current run folder",
        "proposed_run": "the proposed run folder",
        "data_dir": "the data folder",
        "award": "the award read",
        "current_operators": "the operators file",
    },
)
def impact_job(
    current_run: str | Path,
    proposed_run: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    award: str | Path | None = None,
    current_operators: str | Path | None = None,
    minutes: float = 10.0,
) -> dict[str, Any]:
    """Write the impact folder: impact.csv, impact-by-school.csv, impact.html, summary.json.

    Parameters
    ----------
    current_run, proposed_run
        The run in service and the proposed run (both written by the engine).
    data_dir
        The proposed run's data folder (pupils' needs, ages, school names).
    award
        The award folder of the proposed run's tender (or its route-operators.csv): the
        operator of each proposed route, and the awarded price.
    current_operators
        route-operators.csv of the current run (who runs each route today).
    minutes
        A pickup moving by more than this is a change.
    """
    start = time.perf_counter()
    clean_stale(Path(out_dir).resolve().parent, name=Path(out_dir).resolve().name)
    current, proposed = read_run(current_run), read_run(proposed_run)
    data = validate_tables(load_tables(data_dir))
    routed = {p for r in proposed.routes for p in r.pupils}
    unknown = sorted(routed - set(data.pupil_by_id))
    if unknown:
        raise InputError(
            [
                Problem(
                    str(proposed_run),
                    None,
                    None,
                    f"{len(unknown)} pupils of the proposed run are not in {data_dir}: was it "
                    "solved from another data folder?",
                )
            ]
        )
    problems: list[Problem] = []
    before_ops = after_ops = None
    award_summary = None
    for which, given, run in (
        ("current", current_operators, current),
        ("award", award, proposed),
    ):
        if given is None:
            continue
        try:
            ops = read_route_operators(given, routes={r.route_id for r in run.routes})
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if which == "current":
            before_ops = ops
        else:
            after_ops = ops
    if award is not None and Path(award).is_dir() and (Path(award) / AWARD_SUMMARY).exists():
        check_unchanged(Path(award))
        record_folder(Path(award), [AWARD_SUMMARY, MANIFEST], role="award")
        award_summary = json.loads((Path(award) / AWARD_SUMMARY).read_text(encoding="utf-8"))
    if problems:
        raise InputError(problems)
    impact = assess_impact(
        current,
        proposed,
        data,
        minutes=minutes,
        operators_before=before_ops,
        operators_after=after_ops,
    )
    html = render_impact(
        impact,
        current_name=str(current_run),
        proposed_name=str(proposed_run),
        award=award_summary,
    )
    summary: dict[str, Any] = {
        "stage": "impact",
        "current_run": str(current_run),
        "proposed_run": str(proposed_run),
        "data": data.source,
        "award": None if award is None else str(award),
        "current_operators": None if current_operators is None else str(current_operators),
        "minutes": minutes,
        "pupils": len(impact.pupils),
        "pupils_current": sum(1 for p in impact.pupils if p.before.school_id),
        "pupils_proposed": sum(1 for p in impact.pupils if p.after.school_id),
        "changed": impact.changed,
        "counts": {k: impact.counts.get(k, 0) for k in IMPACT_KINDS},
        "operator_changes_counted": all(impact.operators_known.values()),
        "disturbed": impact.disturbed,
        "disturbed_by_reason": impact.disturbed_by_reason,
        "vulnerable": impact.vulnerable,
        "vulnerable_changed": impact.vulnerable_changed,
        "vulnerable_disturbed": impact.vulnerable_disturbed,
        "vulnerable_disturbed_by_reason": vulnerable_by_reason(impact),
        "pupils_not_in_data": sum(1 for p in impact.pupils if p.vulnerable is None),
        "annual_cost_current": impact.cost_before,
        "annual_cost_proposed": impact.cost_after,
        "annual_cost_change": round(impact.cost_after - impact.cost_before, 2),
        "award_annual_price": None if award_summary is None else award_summary["annual_price"],
        "schools": len(impact.schools),
        "files": [IMPACT_CSV, IMPACT_SCHOOLS_CSV, IMPACT_HTML],
        "wall_time_s": round(time.perf_counter() - start, 2),
    }
    write_run(
        out_dir,
        summary=summary,
        extra={
            IMPACT_CSV: (IMPACT_COLUMNS, impact_rows(impact)),
            IMPACT_SCHOOLS_CSV: (SCHOOL_COLUMNS, school_rows(impact)),
        },
        texts={IMPACT_HTML: html},
        kind="impact",
    )
    return summary
