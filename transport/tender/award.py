"""The optimal award of lots to bidders, solved exactly with OR-Tools CP-SAT.

Rules (``sen-transport award``):

* each lot goes to at most one bidder, and only to an operator that bid for it;
* no operator gets more than its ``max_lots`` lots, nor lots needing more vehicles of a type
  than it can run (operators.csv; a blank or absent limit is no limit);
* a bid above ``max_ratio`` × the lot's notional daily price is never awarded automatically
  (it is listed for the commissioning officer); a bid below ``low_ratio`` × notional is
  *abnormally low*: it may be awarded and is flagged (public procurement expects the
  authority to ask the bidder to explain such a price before accepting it).

The award is **lexicographically optimal**: first as many lots awarded as possible, then, among
such awards, the least total annual price (daily price × school days, in whole pence), then,
among awards equally large and cheap, the one whose winning bids have the smallest sum of
bids.csv row numbers (a deterministic tie rule that favours bids listed first). Each step is
one CP-SAT solve of a 0/1 model (a variable per awardable bid) with the previous optimum fixed
as a constraint; every step reports its status, and the award is *proven optimal* when the
first two end ``OPTIMAL``. Integers at the solver boundary: pence and vehicle counts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from transport.tender.bids import Bid, BidBook
from transport.tender.lots import LotRecord

NO_BID = "no bid"
ALL_TOO_HIGH = "all bids too high"
OPERATORS_FULL = "operators full"
UNAWARDED_REASONS: tuple[str, ...] = (NO_BID, ALL_TOO_HIGH, OPERATORS_FULL)

AWARDED = "awarded"
NOT_AWARDED = "not awarded"
MAX_RATIO = 100.0
"""The largest ``--max-ratio`` / ``--low-ratio``: a bid 100 × its notional price."""
OVER_MAX_RATIO = "over max ratio"


@dataclass(frozen=True)
class AwardSettings:
    """How bids are judged and the solver run."""

    max_ratio: float = 1.3
    low_ratio: float = 0.7
    school_days: int = 190
    time_limit_s: float = 60.0
    workers: int = 1  # one worker: deterministic, and the fastest measured (README)
    seed: int = 0

    def __post_init__(self) -> None:
        from transport.errors import ParameterError
        from transport.scenario import MAX_SEED, MAX_TIME_LIMIT_S, finite_number, whole_number

        finite_number("max_ratio", self.max_ratio, 0.0, MAX_RATIO)
        if not self.max_ratio > 0:
            raise ParameterError(f"max_ratio must be positive, got {self.max_ratio}")
        if not 0 <= self.low_ratio <= self.max_ratio:
            raise ParameterError(f"low_ratio must be between 0 and max_ratio, got {self.low_ratio}")
        if not 1 <= self.school_days <= 366:
            raise ParameterError(f"school_days must be 1 to 366, got {self.school_days}")
        finite_number("time_limit_s", self.time_limit_s, 0.0, MAX_TIME_LIMIT_S)
        if not self.time_limit_s > 0:
            raise ParameterError(f"time_limit_s must be positive, got {self.time_limit_s}")
        whole_number("seed", self.seed, 0, MAX_SEED)
        if self.workers < 1:
            raise ParameterError(f"workers must be at least 1, got {self.workers}")


@dataclass(frozen=True)
class Phase:
    """One step of the lexicographic solve."""

    objective: str
    status: str
    value: int
    wall_s: float


@dataclass(frozen=True)
class BidReview:
    """One bid judged: its ratio to notional, whether it was awardable and awarded."""

    bid: Bid
    notional_daily: Decimal
    ratio: Decimal | None
    status: str  # awarded | not awarded | over max ratio
    abnormally_low: bool


@dataclass(frozen=True)
class AwardedLot:
    lot_id: str
    operator_id: str
    daily_pence: int
    annual_pence: int
    notional_daily: Decimal
    notional_annual: Decimal
    ratio: Decimal | None
    abnormally_low: bool


@dataclass(frozen=True)
class UnawardedLot:
    lot_id: str
    reason: str
    bids: int
    over_max_ratio: int
    lowest_daily_pence: int | None
    notional_daily: Decimal


@dataclass(frozen=True)
class Award:
    """The award: lots won, lots left and why, every bid judged, and how it was solved."""

    awarded: tuple[AwardedLot, ...]
    unawarded: tuple[UnawardedLot, ...]
    reviews: tuple[BidReview, ...]
    phases: tuple[Phase, ...]
    candidates: int

    @property
    def proven_optimal(self) -> bool:
        return all(p.status == "OPTIMAL" for p in self.phases[:2])

    @property
    def annual_pence(self) -> int:
        return sum(a.annual_pence for a in self.awarded)


def ratio_of(pence: int, notional_daily: Decimal) -> Decimal | None:
    """A bid's daily price ÷ the lot's notional daily price (None for a zero notional)."""
    if notional_daily <= 0:
        return None
    return Decimal(pence) / 100 / notional_daily


def award_lots(
    lots: Sequence[LotRecord], book: BidBook, *, settings: AwardSettings | None = None
) -> Award:
    """Award lots to bidders optimally (see the module docstring for the rules).

    Parameters
    ----------
    lots
        The tender's lots (lots.csv).
    book
        Validated bids and operators (:func:`transport.tender.bids.read_bid_book`).
    settings
        Ratios, school days and the solver's limits.

    Returns
    -------
    Award
        Awarded lots in lots.csv order, unawarded lots with their reason, every bid judged
        (in bids.csv order), and the solver's phases with their status.
    """
    settings = settings or AwardSettings()
    by_lot = {lot.lot_id: lot for lot in lots}
    max_ratio = Decimal(repr(settings.max_ratio))
    low_ratio = Decimal(repr(settings.low_ratio))
    judged: list[tuple[Bid, Decimal | None, bool, bool]] = []  # bid, ratio, too high, low
    for b in book.bids:
        notional = by_lot[b.lot_id].notional_daily
        ratio = ratio_of(b.daily_pence, notional)
        too_high = ratio is not None and ratio > max_ratio
        low = ratio is not None and ratio < low_ratio
        judged.append((b, ratio, too_high, low))
    candidates = [
        b
        for b, _, too_high, _ in judged
        if not too_high and book.operators[b.operator_id].can_run(by_lot[b.lot_id].vehicles())
    ]
    chosen, phases = _solve(candidates, by_lot, book, settings)
    won = {b.lot_id: b for b in chosen}
    reviews = tuple(
        BidReview(
            bid=b,
            notional_daily=by_lot[b.lot_id].notional_daily,
            ratio=ratio,
            status=OVER_MAX_RATIO
            if too_high
            else (AWARDED if won.get(b.lot_id) is b else NOT_AWARDED),
            abnormally_low=low,
        )
        for b, ratio, too_high, low in judged
    )
    awarded: list[AwardedLot] = []
    unawarded: list[UnawardedLot] = []
    bids_of: dict[str, list[tuple[Bid, bool]]] = {}
    for b, _, too_high, _ in judged:
        bids_of.setdefault(b.lot_id, []).append((b, too_high))
    for lot in lots:
        b = won.get(lot.lot_id)
        if b is not None:
            ratio = ratio_of(b.daily_pence, lot.notional_daily)
            awarded.append(
                AwardedLot(
                    lot_id=lot.lot_id,
                    operator_id=b.operator_id,
                    daily_pence=b.daily_pence,
                    annual_pence=b.daily_pence * settings.school_days,
                    notional_daily=lot.notional_daily,
                    notional_annual=lot.notional_annual,
                    ratio=ratio,
                    abnormally_low=ratio is not None and ratio < low_ratio,
                )
            )
            continue
        offers = bids_of.get(lot.lot_id, [])
        high = sum(1 for _, too_high in offers if too_high)
        if not offers:
            reason = NO_BID
        elif high == len(offers):
            reason = ALL_TOO_HIGH
        else:
            reason = OPERATORS_FULL
        unawarded.append(
            UnawardedLot(
                lot_id=lot.lot_id,
                reason=reason,
                bids=len(offers),
                over_max_ratio=high,
                lowest_daily_pence=min((b.daily_pence for b, _ in offers), default=None),
                notional_daily=lot.notional_daily,
            )
        )
    return Award(tuple(awarded), tuple(unawarded), reviews, phases, len(candidates))


def _solve(
    candidates: Sequence[Bid],
    lots: Mapping[str, LotRecord],
    book: BidBook,
    settings: AwardSettings,
) -> tuple[list[Bid], tuple[Phase, ...]]:
    """The lexicographic optimum over ``candidates``: max lots, min price, min row sum."""
    objectives = (
        "maximise lots awarded",
        "minimise total annual price (pence), lots awarded fixed",
        "tie-break: minimise the sum of winning bids' rows, lots and price fixed",
    )
    if not candidates:
        return [], tuple(Phase(o, "OPTIMAL", 0, 0.0) for o in objectives)
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"b{b.row}") for b in candidates]
    by_lot: dict[str, list[int]] = {}
    by_op: dict[str, list[int]] = {}
    for i, b in enumerate(candidates):
        by_lot.setdefault(b.lot_id, []).append(i)
        by_op.setdefault(b.operator_id, []).append(i)
    for idx in by_lot.values():
        if len(idx) > 1:
            model.add_at_most_one(x[i] for i in idx)
    for op_id, idx in by_op.items():
        op = book.operators[op_id]
        if op.max_lots is not None and op.max_lots < len(idx):
            model.add(cp_model.LinearExpr.sum([x[i] for i in idx]) <= op.max_lots)
        for vtype, limit in op.vehicles.items():
            terms = [(lots[candidates[i].lot_id].vehicles().get(vtype, 0), i) for i in idx]
            terms = [(n, i) for n, i in terms if n]
            if sum(n for n, _ in terms) > limit:
                model.add(
                    cp_model.LinearExpr.weighted_sum(
                        [x[i] for _, i in terms], [n for n, _ in terms]
                    )
                    <= limit
                )
    linear = cp_model.LinearExpr
    count = linear.sum(x)
    price = linear.weighted_sum(x, [b.daily_pence * settings.school_days for b in candidates])
    rows = linear.weighted_sum(x, [b.row for b in candidates])

    deadline = time.perf_counter() + settings.time_limit_s
    phases: list[Phase] = []
    values: list[int] | None = None
    for k, objective in enumerate(objectives):
        if k == 0:
            model.maximize(count)
        elif k == 1:
            model.add(count == phases[0].value)
            model.minimize(price)
        else:
            model.add(price == phases[1].value)
            model.minimize(rows)
        if values is not None:
            model.clear_hints()
            for var, v in zip(x, values, strict=True):
                model.add_hint(var, v)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.1, deadline - time.perf_counter())
        solver.parameters.num_workers = settings.workers
        # the LP relaxation with every constraint linearised: with one worker, this closes
        # the price phase of a 300-lot award in under a second; without it, not in 30 s
        solver.parameters.linearization_level = 2
        solver.parameters.random_seed = settings.seed
        start = time.perf_counter()
        status = solver.solve(model)
        wall = time.perf_counter() - start
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if values is None:  # phase 1 always has a solution (award nothing): keep it safe
                values = [0] * len(x)
            phases.append(Phase(objective, name, phases[-1].value if phases else 0, wall))
            break
        values = [int(solver.value(var)) for var in x]
        phases.append(Phase(objective, name, int(round(solver.objective_value)), wall))
    assert values is not None
    return [b for b, v in zip(candidates, values, strict=True) if v], tuple(phases)
