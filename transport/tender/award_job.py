"""The award job: a tender folder and bids in, the award folder out (``sen-transport award``).

Writes award.csv, unawarded.csv, bids-review.csv, route-operators.csv (the agreed format read
by ``letters --operators``), award-summary.json and summary.json, atomically.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from transport.audit import record_folder
from transport.errors import InputError, Problem
from transport.runs.manifest import MANIFEST, check_unchanged
from transport.runs.write import clean_stale, write_run, writes_output
from transport.tender.award import UNAWARDED_REASONS, AwardSettings, award_lots
from transport.tender.bids import read_bid_book
from transport.tender.lots import LOTS_CSV, LotRecord, read_lots

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


def read_tender(tender_dir: str | Path) -> tuple[tuple[LotRecord, ...], dict[str, Any]]:
    """A tender folder's lots (lots.csv) and summary.json (empty when absent)."""
    folder = Path(tender_dir)
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "tender folder not found")])
    check_unchanged(folder)
    record_folder(folder, [LOTS_CSV, "summary.json", MANIFEST], role="tender")
    lots = read_lots(folder / LOTS_CSV)
    summary: dict[str, Any] = {}
    if (folder / "summary.json").exists():
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError([Problem("summary.json", None, None, str(exc))]) from None
    return lots, summary


@writes_output(
    "out_dir",
    kind="award",
    inputs={
        "tender_dir": "the tender folder read",
        "bids_file": "the bids file",
        "operators_file": "the operators file",
    },
)
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
        kind="award",
    )
    return summary
