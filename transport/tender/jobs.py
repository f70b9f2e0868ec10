"""Jobs of the tendering commands: from run folders to a written output folder.

Each job reads its inputs, calls the library (lots, specification, award, impact), writes one
output folder atomically (:func:`transport.runs.write.write_run`) and returns the summary it
wrote, for the command line to render and the tests to check.
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
from transport.runs.write import RunFiles, clean_stale, read_run, write_run
from transport.tender._rates import rate_card
from transport.tender.areas import pickup_districts
from transport.tender.lots import (
    DEFAULT_FINISH_AT,
    LOT_COLUMNS,
    build_lots,
    daily_decimals,
    lot_rows,
)
from transport.tender.spec import html_to_pdf, render_specification

LOTS_CSV = "lots.csv"
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
    )
    return summary


__all__ = ["read_solved_run", "school_finish_times", "tender_job"]


# --------------------------------------------------------------------------------------------
# award

AWARD_CSV = "award.csv"
UNAWARDED_CSV = "unawarded.csv"
REVIEW_CSV = "bids-review.csv"
ROUTE_OPERATORS_CSV = "route-operators.csv"
AWARD_SUMMARY = "award-summary.json"
AWARD_COLUMNS = ("lot_id", "operator_id", "daily_price", "annual_price", "ratio", "abnormally_low")
UNAWARDED_COLUMNS = (
    "lot_id",
    "reason",
    "bids",
    "bids_over_max_ratio",
    "lowest_daily_price",
    "notional_daily",
)
REVIEW_COLUMNS = (
    "operator_id",
    "lot_id",
    "daily_price",
    "notional_daily",
    "ratio",
    "status",
    "abnormally_low",
)
ROUTE_OPERATOR_COLUMNS = ("route_id", "operator_id", "operator_name", "phone")


def _pounds(pence: int) -> str:
    return f"{Decimal(pence) / 100:.2f}"


def _ratio(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _money(value: Decimal | int | float) -> float:
    return float(round(Decimal(value), 2))


def read_tender(tender_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """A tender folder's lots (lots.csv) and summary.json (empty when absent)."""
    import json

    from transport.tender.lots import read_lots

    folder = Path(tender_dir)
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "tender folder not found")])
    lots = read_lots(folder / LOTS_CSV)
    summary: dict[str, Any] = {}
    if (folder / "summary.json").exists():
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError([Problem("summary.json", None, None, str(exc))]) from None
    return lots, summary


def award_job(
    tender_dir: str | Path,
    bids_file: str | Path,
    out_dir: str | Path,
    *,
    operators_file: str | Path | None = None,
    max_ratio: float = 1.3,
    low_ratio: float = 0.7,
    time_limit_s: float = 60.0,
    workers: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Award a tender's lots to bidders, optimally, and write the award folder.

    Writes award.csv, unawarded.csv, bids-review.csv, route-operators.csv (for letters),
    award-summary.json and summary.json. School days come from the tender (its run's); the
    rules are :mod:`transport.tender.award`'s. Returns the award summary.
    """
    from ortools import __version__ as ortools_version

    from transport.tender.award import AwardSettings, award_lots
    from transport.tender.bids import read_bid_book

    start = time.perf_counter()
    clean_stale(Path(out_dir).resolve().parent, name=Path(out_dir).resolve().name)
    lots, tender = read_tender(tender_dir)
    by_id = {lot.lot_id: lot for lot in lots}
    vehicle_types = set((tender.get("rate_card") or {}).get("vehicles") or {})
    vehicle_types |= {t for lot in lots for t in lot.vehicle_types}
    book = read_bid_book(
        bids_file, lots=by_id, operators_path=operators_file, vehicle_types=vehicle_types
    )
    settings = AwardSettings(
        max_ratio=max_ratio,
        low_ratio=low_ratio,
        school_days=int(tender.get("school_days") or 190),
        time_limit_s=time_limit_s,
        workers=workers,
        seed=seed,
    )
    result = award_lots(lots, book, settings=settings)

    award_rows = [
        (
            a.lot_id,
            a.operator_id,
            _pounds(a.daily_pence),
            _pounds(a.annual_pence),
            _ratio(a.ratio),
            int(a.abnormally_low),
        )
        for a in result.awarded
    ]
    unawarded_rows = [
        (
            u.lot_id,
            u.reason,
            u.bids,
            u.over_max_ratio,
            "" if u.lowest_daily_pence is None else _pounds(u.lowest_daily_pence),
            f"{u.notional_daily}",
        )
        for u in result.unawarded
    ]
    review_rows = [
        (
            r.bid.operator_id,
            r.bid.lot_id,
            _pounds(r.bid.daily_pence),
            f"{r.notional_daily}",
            _ratio(r.ratio),
            r.status,
            int(r.abnormally_low),
        )
        for r in result.reviews
    ]
    route_rows = []
    for a in result.awarded:
        op = book.operators[a.operator_id]
        for route_id in by_id[a.lot_id].routes:
            route_rows.append((route_id, op.operator_id, op.name, op.phone))

    by_operator: dict[str, dict[str, Any]] = {}
    for a in result.awarded:
        lot = by_id[a.lot_id]
        entry = by_operator.setdefault(
            a.operator_id,
            {
                "name": book.operators[a.operator_id].name,
                "lots": 0,
                "routes": 0,
                "annual_price": Decimal(0),
                "notional_annual": Decimal(0),
                "vehicles": Counter(),
            },
        )
        entry["lots"] += 1
        entry["routes"] += len(lot.routes)
        entry["annual_price"] += Decimal(a.annual_pence) / 100
        entry["notional_annual"] += lot.notional_annual
        entry["vehicles"].update(lot.vehicle_types)
    lots_by_operator = {
        op: {
            **e,
            "annual_price": _money(e["annual_price"]),
            "notional_annual": _money(e["notional_annual"]),
            "vehicles": dict(e["vehicles"]),
        }
        for op, e in sorted(by_operator.items(), key=lambda kv: (-kv[1]["lots"], kv[0]))
    }
    price = Decimal(result.annual_pence) / 100
    notional_awarded = sum((a.notional_annual for a in result.awarded), Decimal(0))
    notional_all = sum((lot.notional_annual for lot in lots), Decimal(0))
    reasons = Counter(u.reason for u in result.unawarded)
    from transport.tender.award import UNAWARDED_REASONS

    summary: dict[str, Any] = {
        "stage": "award",
        "tender": str(tender_dir),
        "bids_file": str(bids_file),
        "operators_file": None if operators_file is None else str(operators_file),
        "solver": {
            "engine": f"OR-Tools CP-SAT {ortools_version}",
            "method": (
                "exact, lexicographic: maximise lots awarded; then minimise the total annual "
                "price in pence with that many lots; then the tie rule (smallest sum of the "
                "winning bids' rows in bids.csv) with both fixed"
            ),
            "proven_optimal": result.proven_optimal,
            "phases": [
                {
                    "objective": p.objective,
                    "status": p.status,
                    "value": p.value,
                    "wall_s": round(p.wall_s, 3),
                }
                for p in result.phases
            ],
            "variables": result.candidates,
            "time_limit_s": time_limit_s,
            "workers": workers,
            "seed": seed,
        },
        "school_days": settings.school_days,
        "max_ratio": max_ratio,
        "low_ratio": low_ratio,
        "lots": len(lots),
        "lots_awarded": len(result.awarded),
        "lots_unawarded": len(result.unawarded),
        "unawarded_by_reason": {r: reasons.get(r, 0) for r in UNAWARDED_REASONS},
        "routes_awarded": len(route_rows),
        "bids": len(book.bids),
        "bidders": len({b.operator_id for b in book.bids}),
        "operators": len(book.operators),
        "bids_over_max_ratio": sum(1 for r in result.reviews if r.status == "over max ratio"),
        "abnormally_low_bids": sum(1 for r in result.reviews if r.abnormally_low),
        "abnormally_low_awarded": [a.lot_id for a in result.awarded if a.abnormally_low],
        "annual_price": _money(price),
        "notional_annual_awarded": _money(notional_awarded),
        "saving_vs_notional": _money(notional_awarded - price),
        "price_to_notional": (
            None if notional_awarded == 0 else round(float(price / notional_awarded), 4)
        ),
        "notional_annual_all_lots": _money(notional_all),
        "notional_annual_unawarded": _money(notional_all - notional_awarded),
        "lots_by_operator": lots_by_operator,
        "operators_without_award": sorted(set(book.operators) - set(by_operator)),
        "over_max_ratio": [
            {
                "lot_id": r.bid.lot_id,
                "operator_id": r.bid.operator_id,
                "daily_price": _money(Decimal(r.bid.daily_pence) / 100),
                "ratio": None if r.ratio is None else round(float(r.ratio), 4),
            }
            for r in result.reviews
            if r.status == "over max ratio"
        ],
        "files": [AWARD_CSV, UNAWARDED_CSV, REVIEW_CSV, ROUTE_OPERATORS_CSV, AWARD_SUMMARY],
        "wall_time_s": round(time.perf_counter() - start, 2),
    }
    import json

    index = {
        k: summary[k] for k in ("stage", "tender", "lots", "lots_awarded", "annual_price", "files")
    } | {"proven_optimal": result.proven_optimal}
    write_run(
        out_dir,
        summary=index,
        extra={
            AWARD_CSV: (AWARD_COLUMNS, award_rows),
            UNAWARDED_CSV: (UNAWARDED_COLUMNS, unawarded_rows),
            REVIEW_CSV: (REVIEW_COLUMNS, review_rows),
            ROUTE_OPERATORS_CSV: (ROUTE_OPERATOR_COLUMNS, route_rows),
        },
        texts={AWARD_SUMMARY: json.dumps(summary, indent=2) + "\n"},
    )
    return summary


# --------------------------------------------------------------------------------------------
# impact

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
    from transport.data.load import read_csv_file

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
            problems.append(Problem(path.name, line, "route_id", f"route {route} listed twice"))
        elif route not in routes:
            problems.append(Problem(path.name, line, "route_id", f"no route {route} in the run"))
        if not op:
            problems.append(Problem(path.name, line, "operator_id", "is blank"))
        if route and op:
            out.setdefault(route, op)
    if problems:
        raise InputError(problems)
    return out


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
    import json

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
    )
    return summary
