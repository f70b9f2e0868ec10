"""The award: optimal (checked against brute force), lexicographic, within every operator's
limits, with the ratio rules; bad bids and operators files exit 2 naming every row."""

from __future__ import annotations

import csv
import itertools
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transport.cli.main import cli
from transport.tender.award import (
    ALL_TOO_HIGH,
    NO_BID,
    OPERATORS_FULL,
    AwardSettings,
    award_lots,
)
from transport.tender.bids import Bid, BidBook, Operator, parse_price
from transport.tender.lots import LOT_COLUMNS, LotRecord

TYPES = ("taxi", "mpv", "wav")


def lot(lot_id: str, daily: str, *types: str) -> LotRecord:
    types = types or ("taxi",)
    routes = tuple(f"R{lot_id}{k}" for k in range(len(types)))
    notional = Decimal(daily)
    return LotRecord(lot_id, routes, types, "S1", notional, notional * 190)


def book(bids: list[tuple[str, str, str]], operators: dict[str, Operator] | None = None):
    parsed = tuple(
        Bid(row, op, lot_id, parse_price(price))
        for row, (op, lot_id, price) in enumerate(bids, start=2)
    )
    ops = operators or {b.operator_id: Operator(b.operator_id) for b in parsed}
    return BidBook(parsed, ops, operators is not None)


# --------------------------------------------------------------------------------------------
# brute force


def brute_force(lots, bk: BidBook, st_: AwardSettings) -> tuple[int, int]:
    """(most lots, least annual pence among those) by trying every assignment."""
    by_id = {x.lot_id: x for x in lots}
    options = []
    for x in lots:
        mine = [None]
        for b in bk.bids:
            if b.lot_id != x.lot_id:
                continue
            if b.daily_pence > Decimal(repr(st_.max_ratio)) * x.notional_daily * 100:
                continue
            mine.append(b)
        options.append(mine)
    best = (0, 0)
    for choice in itertools.product(*options):
        won = [b for b in choice if b is not None]
        if not feasible(won, by_id, bk):
            continue
        key = (len(won), -sum(b.daily_pence * st_.school_days for b in won))
        if key > (best[0], -best[1]):
            best = (key[0], -key[1])
    return best


def feasible(won: list[Bid], lots: dict[str, LotRecord], bk: BidBook) -> bool:
    if len({b.lot_id for b in won}) != len(won):
        return False
    for op_id, op in bk.operators.items():
        mine = [b for b in won if b.operator_id == op_id]
        if op.max_lots is not None and len(mine) > op.max_lots:
            return False
        for t, limit in op.vehicles.items():
            if sum(lots[b.lot_id].vehicles().get(t, 0) for b in mine) > limit:
                return False
    return True


@st.composite
def instances(draw):
    n_lots = draw(st.integers(1, 4))
    lots = [
        lot(
            f"L{i}",
            str(draw(st.integers(30, 200))),
            *draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2)),
        )
        for i in range(n_lots)
    ]
    n_ops = draw(st.integers(1, 3))
    operators = {}
    for k in range(n_ops):
        caps = {t: draw(st.integers(0, 2)) for t in TYPES if draw(st.booleans())}
        max_lots = draw(st.one_of(st.none(), st.integers(0, 3)))
        operators[f"O{k}"] = Operator(f"O{k}", max_lots=max_lots, vehicles=caps)
    bids = []
    for x in lots:
        for op in operators:
            if draw(st.booleans()):
                ratio = draw(st.integers(50, 150)) / 100
                bids.append((op, x.lot_id, f"{x.notional_daily * Decimal(repr(ratio)):.2f}"))
    return lots, book(bids, operators)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_award_matches_brute_force(instance):
    lots, bk = instance
    s = AwardSettings()
    result = award_lots(lots, bk, settings=s)
    assert result.proven_optimal
    won = [
        next(b for b in bk.bids if b.lot_id == a.lot_id and b.operator_id == a.operator_id)
        for a in result.awarded
    ]
    assert feasible(won, {x.lot_id: x for x in lots}, bk)
    assert (len(result.awarded), result.annual_pence) == brute_force(lots, bk, s)
    assert len(result.awarded) + len(result.unawarded) == len(lots)


def test_most_lots_first_then_least_price():
    # A is cheapest on both lots but may take one; B bids only L1, dearer. Cheapest single
    # award: A-L1 (£50). Most lots: A-L2 + B-L1 (£150 a day): two lots win over one.
    lots = [lot("L1", "100"), lot("L2", "100")]
    bk = book(
        [("A", "L1", "50"), ("A", "L2", "80"), ("B", "L1", "100")],
        {"A": Operator("A", max_lots=1), "B": Operator("B")},
    )
    result = award_lots(lots, bk)
    assert {(a.lot_id, a.operator_id) for a in result.awarded} == {("L1", "B"), ("L2", "A")}
    assert result.annual_pence == (10_000 + 8_000) * 190
    assert [p.status for p in result.phases] == ["OPTIMAL"] * 3
    assert result.phases[0].value == 2


def test_vehicle_limits_and_ratio_rules():
    lots = [
        lot("L1", "100", "wav"),
        lot("L2", "100", "wav"),
        lot("L3", "100"),
        lot("L4", "100"),
        lot("L5", "100"),
    ]
    bk = book(
        [
            ("A", "L1", "90"),
            ("A", "L2", "95"),
            ("A", "L3", "131"),  # over 1.3 × notional: never awarded
            ("B", "L4", "60"),  # abnormally low: awarded, flagged
            ("B", "L3", "130"),  # exactly 1.3 × notional: awardable
        ],
        {"A": Operator("A", vehicles={"wav": 1}), "B": Operator("B")},
    )
    result = award_lots(lots, bk)
    won = {a.lot_id: a for a in result.awarded}
    assert set(won) == {"L1", "L3", "L4"}  # A can run one wheelchair vehicle: the cheaper lot
    assert won["L4"].abnormally_low and not won["L1"].abnormally_low
    assert won["L3"].operator_id == "B"
    why = {u.lot_id: u.reason for u in result.unawarded}
    assert why == {"L2": OPERATORS_FULL, "L5": NO_BID}
    status = {(r.bid.operator_id, r.bid.lot_id): r.status for r in result.reviews}
    assert status[("A", "L3")] == "over max ratio" and status[("A", "L2")] == "not awarded"
    only_high = award_lots([lot("L1", "100")], book([("A", "L1", "200")]))
    assert only_high.unawarded[0].reason == ALL_TOO_HIGH


def test_larger_award_respects_every_limit():
    rng = random.Random(7)
    lots = [lot(f"L{i:03d}", str(rng.randint(40, 250)), rng.choice(TYPES)) for i in range(300)]
    operators = {
        f"O{k:02d}": Operator(
            f"O{k:02d}",
            max_lots=rng.choice([None, 5, 10, 20]),
            vehicles={t: rng.randint(0, 12) for t in TYPES if rng.random() < 0.7},
        )
        for k in range(25)
    }
    bids = []
    for x in lots:
        for op in rng.sample(sorted(operators), rng.randint(0, 6)):
            ratio = Decimal(str(round(rng.uniform(0.6, 1.4), 3)))
            bids.append((op, x.lot_id, f"{x.notional_daily * ratio:.2f}"))
    bk = book(bids, operators)
    result = award_lots(lots, bk, settings=AwardSettings(time_limit_s=30))
    assert result.proven_optimal
    by_id = {x.lot_id: x for x in lots}
    won = [
        next(b for b in bk.bids if b.lot_id == a.lot_id and b.operator_id == a.operator_id)
        for a in result.awarded
    ]
    assert feasible(won, by_id, bk)
    assert all(a.ratio is not None and a.ratio <= Decimal("1.3") for a in result.awarded)
    assert len(result.awarded) > 100
    # no unawarded lot could be given to a bidder with room left (optimality, checked cheaply)
    for u in result.unawarded:
        for b in bk.bids:
            if (
                b.lot_id == u.lot_id
                and b.daily_pence <= Decimal("1.3") * by_id[u.lot_id].notional_daily * 100
            ):
                assert not feasible([*won, b], by_id, bk)


# --------------------------------------------------------------------------------------------
# the command, its files and bad input


@pytest.fixture
def tender_dir(tmp_path: Path) -> Path:
    out = tmp_path / "tender"
    out.mkdir()
    with open(out / "lots.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LOT_COLUMNS)
        w.writerow(
            [
                "L001",
                "R0001",
                "taxi",
                "4",
                "0",
                "0",
                "S1",
                "09:00",
                "15:15",
                "10.00",
                "47.5000",
                "9025.00",
                "38.0000",
                "9.5000",
                "0.0000",
            ]
        )
        w.writerow(
            [
                "L002",
                "R0002;R0003",
                "taxi;wav_minibus",
                "4;8",
                "0;4",
                "0;1",
                "S2",
                "08:45",
                "15:15",
                "30.00",
                "210.0000",
                "39900.00",
                "148.0000",
                "7.0000",
                "55.0000",
            ]
        )
        w.writerow(
            [
                "L003",
                "R0004",
                "mpv",
                "6",
                "0",
                "1",
                "S2",
                "08:45",
                "15:15",
                "5.00",
                "112.5000",
                "21375.00",
                "52.0000",
                "5.5000",
                "55.0000",
            ]
        )
    (out / "summary.json").write_text(
        json.dumps(
            {
                "school_days": 190,
                "rate_card": {"vehicles": {"taxi": {}, "mpv": {}, "wav_minibus": {}}},
            }
        )
    )
    return out


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_award_command_writes_its_files(tender_dir, tmp_path):
    bids = write(
        tmp_path / "bids.csv",
        "operator_id,lot_id,daily_price\n"
        "OP1,L001,45.00\nOP2,L001,44.00\nOP1,L002,£205.50\nOP2,L003,30.00\n",
    )
    ops = write(
        tmp_path / "operators.csv",
        "operator_id,name,phone,max_lots,taxi,wav_minibus\n"
        "OP1,One Cars,01227 000001,,,1\nOP2,Two Taxis,01227 000002,1,,\n",
    )
    out = tmp_path / "award"
    result = CliRunner().invoke(
        cli,
        ["award", str(tender_dir), "--bids", str(bids), "--operators", str(ops), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "proven optimal" in result.output
    award = read_rows(out / "award.csv")
    assert list(award[0])[:5] == ["lot_id", "operator_id", "daily_price", "annual_price", "ratio"]
    got = {a["lot_id"]: a for a in award}
    # OP2 may take one lot: L003 at 30.00 is abnormally low but awardable; L001 then to OP1
    assert {k: v["operator_id"] for k, v in got.items()} == {
        "L001": "OP1",
        "L002": "OP1",
        "L003": "OP2",
    }
    assert got["L002"]["annual_price"] == "39045.00" and got["L002"]["ratio"] == "0.9786"
    assert got["L003"]["abnormally_low"] == "1"
    for a in award:
        assert Decimal(a["annual_price"]) == Decimal(a["daily_price"]) * 190
    routes = read_rows(out / "route-operators.csv")
    assert list(routes[0]) == ["route_id", "operator_id", "operator_name", "phone"]
    assert {r["route_id"]: r["operator_name"] for r in routes} == {
        "R0001": "One Cars",
        "R0002": "One Cars",
        "R0003": "One Cars",
        "R0004": "Two Taxis",
    }
    summary = json.loads((out / "award-summary.json").read_text())
    assert summary["solver"]["proven_optimal"] and "CP-SAT" in summary["solver"]["engine"]
    assert summary["lots_awarded"] == 3 and summary["abnormally_low_awarded"] == ["L003"]
    assert summary["annual_price"] == pytest.approx((45 + 205.5 + 30) * 190)
    assert summary["lots_by_operator"]["OP1"]["vehicles"] == {"taxi": 2, "wav_minibus": 1}


def test_unawarded_lots_and_their_reasons(tender_dir, tmp_path):
    bids = write(
        tmp_path / "bids.csv", "operator_id,lot_id,daily_price\nOP1,L001,80.00\nOP1,L003,100\n"
    )
    ops = write(tmp_path / "ops.csv", "operator_id,mpv\nOP1,0\n")
    out = tmp_path / "award"
    result = CliRunner().invoke(
        cli,
        ["award", str(tender_dir), "--bids", str(bids), "--operators", str(ops), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    why = {r["lot_id"]: r["reason"] for r in read_rows(out / "unawarded.csv")}
    assert why == {"L001": "all bids too high", "L002": "no bid", "L003": "operators full"}
    review = read_rows(out / "bids-review.csv")
    assert [r["status"] for r in review] == ["over max ratio", "not awarded"]


def test_bad_bids_and_operators_exit_2_naming_every_row(tender_dir, tmp_path):
    bids = write(
        tmp_path / "bids.csv",
        "operator_id,lot_id,daily_price\n"
        "OP1,L009,50\n"  # 2: unknown lot
        "OP9,L001,50\n"  # 3: bidder not in operators.csv
        "OP1,L001,-5\n"  # 4: negative
        "OP1,L002,cheap\n"  # 5: not a number
        "OP1,L003,inf\n"  # 6: not finite
        "OP2,L001,50\n"  # 7: fine
        "OP2,L001,49\n"  # 8: duplicate of row 7
        "OP2,L002,49.999\n"  # 9: fractions of a penny
        "OP2,L003,\n",  # 10: blank price
    )
    ops = write(tmp_path / "ops.csv", "operator_id,max_lots,minibuss\nOP1,2,\nOP2,-1,\n")
    result = CliRunner().invoke(
        cli,
        [
            "award",
            str(tender_dir),
            "--bids",
            str(bids),
            "--operators",
            str(ops),
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert result.exit_code == 2, result.output
    out = result.output
    assert "column 'minibuss': unknown column" in out
    for row in range(2, 11):
        if row != 7:
            assert f"bids.csv, row {row}," in out, row
    assert "no lot L009" in out and "operator OP9 is not in ops.csv" in out
    assert "is negative" in out and "'inf' is not a finite amount" in out
    assert "already bid for lot L001 on row 7" in out and "fractions of a penny" in out
    assert not (tmp_path / "a").exists()
    ops_ok = write(tmp_path / "ops2.csv", "operator_id,max_lots\nOP1,2\nOP2,x\n")
    result = CliRunner().invoke(
        cli,
        [
            "award",
            str(tender_dir),
            "--bids",
            str(bids),
            "--operators",
            str(ops_ok),
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert result.exit_code == 2 and "ops2.csv, row 3, column 'max_lots'" in result.output


def test_bidders_missing_from_operators_file_and_missing_columns(tender_dir, tmp_path):
    bids = write(
        tmp_path / "bids.csv", "operator_id,lot_id,daily_price\nOP1,L001,40\nOP2,L002,150\n"
    )
    ops = write(tmp_path / "ops.csv", "operator_id,name\nOP1,One\n")
    result = CliRunner().invoke(
        cli,
        [
            "award",
            str(tender_dir),
            "--bids",
            str(bids),
            "--operators",
            str(ops),
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert result.exit_code == 2 and "bids.csv, row 3, column 'operator_id'" in result.output
    no_price = write(tmp_path / "b2.csv", "operator_id,lot_id\nOP1,L001\n")
    result = CliRunner().invoke(
        cli, ["award", str(tender_dir), "--bids", str(no_price), "--out", str(tmp_path / "a")]
    )
    assert result.exit_code == 2 and "column 'daily_price': required column" in result.output


def test_parse_price():
    assert parse_price("61.45") == 6145 and parse_price("£1,061.4") == 106_140
    for bad in ("nan", "-0.01", "1e999999", "abc", "", "1.234"):
        with pytest.raises(ValueError):
            parse_price(bad)
