"""Tender packs: lots priced exactly as the rate card prices the plan, and a pupil-free
specification (lots.csv, specification.html and specification.pdf read back from the files)."""

from __future__ import annotations

import csv
import shutil
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._tender_fixture import TINY, solve_tiny
from tests.test_privacy import hits, home_patterns, pupil_ids
from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.runs.write import read_run
from transport.tender.areas import area_counts, outward_code, pickup_districts
from transport.tender.lots import LOT_COLUMNS, read_lots


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return solve_tiny(tmp_path_factory.mktemp("run") / "run")


@pytest.fixture(scope="module")
def tender_dir(solved: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tender") / "tender"
    result = CliRunner().invoke(
        cli, ["tender", str(solved), "--data", str(TINY), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert hits(pupil_ids(TINY) + home_patterns(TINY), result.output) == []
    return out


@pytest.fixture(scope="module")
def school_dir(solved: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tender") / "by-school"
    result = CliRunner().invoke(
        cli,
        [
            "tender",
            str(solved),
            "--data",
            str(TINY),
            "--out",
            str(out),
            "--lot-by",
            "school",
            "--no-pdf",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_lots_csv_has_exactly_the_issue_columns(tender_dir):
    header = (tender_dir / "lots.csv").read_text().splitlines()[0]
    assert (
        tuple(header.split(","))
        == LOT_COLUMNS
        == (
            "lot_id",
            "routes",
            "vehicle_type",
            "seats",
            "wheelchair_spaces",
            "has_pa",
            "school_id",
            "arrive_by",
            "finish_at",
            "daily_miles",
            "notional_daily",
            "notional_annual",
            "day_rate_part",
            "mileage_part",
            "pa_part",
        )
    )


def test_notional_daily_times_school_days_is_the_routes_annual_cost_to_the_penny(
    solved, tender_dir
):
    run = read_run(solved)
    cost = {r.route_id: f"{r.annual_cost:.2f}" for r in run.routes}
    lots = rows(tender_dir / "lots.csv")
    assert len(lots) == len(run.routes) and len(lots) >= 3
    vehicles = {v.vehicle_type: v for v in read_dataset(TINY).vehicles}
    miles = {r.route_id: Decimal(f"{r.route_miles:.2f}") for r in run.routes}
    for lot in lots:
        (route,) = lot["routes"].split(";")
        daily = Decimal(lot["notional_daily"])
        annual = (daily * 190).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        assert f"{annual:.2f}" == lot["notional_annual"] == cost[route]
        assert abs(daily * 190 - Decimal(lot["notional_annual"])) < Decimal("0.005")
        parts = [Decimal(lot[k]) for k in ("day_rate_part", "mileage_part", "pa_part")]
        assert sum(parts) == daily
        v = vehicles[lot["vehicle_type"]]
        assert parts[0] == Decimal(repr(v.day_rate))
        assert parts[1] == Decimal(repr(v.per_mile)) * 2 * miles[route]
        assert parts[2] == (Decimal("55") if lot["has_pa"] == "1" else 0)
        assert Decimal(lot["daily_miles"]) == 2 * miles[route]
        assert (lot["finish_at"], lot["seats"]) == ("15:15", str(v.seats))


def test_school_lots_sum_their_routes(solved, tender_dir, school_dir):
    by_route = {r["routes"]: r for r in rows(tender_dir / "lots.csv")}
    run = read_run(solved)
    school_lots = rows(school_dir / "lots.csv")
    assert len(school_lots) == len({r.school_id for r in run.routes}) < len(run.routes)
    for lot in school_lots:
        routes = lot["routes"].split(";")
        parts = [by_route[r] for r in routes]
        assert lot["vehicle_type"].split(";") == [p["vehicle_type"] for p in parts]
        assert lot["has_pa"].split(";") == [p["has_pa"] for p in parts]
        for col in (
            "notional_daily",
            "notional_annual",
            "day_rate_part",
            "mileage_part",
            "daily_miles",
        ):
            assert Decimal(lot[col]) == sum(Decimal(p[col]) for p in parts), col
        assert {p["school_id"] for p in parts} == {lot["school_id"]}
    assert {r for lot in school_lots for r in lot["routes"].split(";")} == set(by_route)
    assert not (school_dir / "specification.pdf").exists()


def test_read_lots_reads_what_tender_wrote(tender_dir):
    lots = read_lots(tender_dir / "lots.csv")
    assert [lot.lot_id for lot in lots] == [r["lot_id"] for r in rows(tender_dir / "lots.csv")]
    assert all(sum(lot.vehicles().values()) == len(lot.routes) for lot in lots)


def test_specification_holds_no_pupil_id_or_home(tender_dir):
    from pypdf import PdfReader

    patterns = pupil_ids(TINY) + home_patterns(TINY)
    html = (tender_dir / "specification.html").read_text(encoding="utf-8")
    pdf = PdfReader(tender_dir / "specification.pdf")
    text = "\n".join(page.extract_text() for page in pdf.pages)
    lots = (tender_dir / "lots.csv").read_text()
    summary = (tender_dir / "summary.json").read_text()
    for name, content in (("html", html), ("pdf", text), ("lots", lots), ("summary", summary)):
        assert hits(patterns, content) == [], name
    n_lots = len(rows(tender_dir / "lots.csv"))
    assert len(pdf.pages) == n_lots + 1  # a cover page, then one page per lot
    for lot in rows(tender_dir / "lots.csv"):
        assert f"Lot {lot['lot_id']}" in text
    assert "CT1" in text or "TN2" in text  # pickup areas as postcode districts


def test_pickup_areas_are_postcode_districts():
    data = read_dataset(TINY)
    areas = pickup_districts(data.pupils)
    assert set(areas) == {p.pupil_id for p in data.pupils}
    assert all(a[:2] in ("CT", "TN", "ME") and a[2:].isdigit() for a in areas.values()), areas
    given = pickup_districts(data.pupils[:2], postcodes={data.pupils[0].pupil_id: "tn23 1ab"})
    assert given[data.pupils[0].pupil_id] == "TN23"
    assert outward_code("ME104NL") == "ME10"
    assert area_counts(["CT10", "CT2", "CT2", "TN1"]) == (("CT2", 2), ("CT10", 1), ("TN1", 1))


def test_finish_at_and_postcodes_from_the_data_when_present(solved, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TINY, data)
    schools = (data / "schools.csv").read_text().splitlines()
    schools[0] += ",finish_at"
    schools[1:] = [s + (",15:30" if s.startswith("S1,") else ",") for s in schools[1:]]
    (data / "schools.csv").write_text("\n".join(schools) + "\n")
    pupils = (data / "pupils.csv").read_text().splitlines()
    pupils[0] += ",postcode"
    pupils[1:] = [p + ",CT2 7NZ" for p in pupils[1:]]
    (data / "pupils.csv").write_text("\n".join(pupils) + "\n")
    out = tmp_path / "tender"
    result = CliRunner().invoke(
        cli, ["tender", str(solved), "--data", str(data), "--out", str(out), "--no-pdf"]
    )
    assert result.exit_code == 0, result.output
    lots = rows(out / "lots.csv")
    assert {lot["school_id"]: lot["finish_at"] for lot in lots}["S1"] == "15:30"
    assert {lot["finish_at"] for lot in lots if lot["school_id"] != "S1"} == {"15:15"}
    html = (out / "specification.html").read_text()
    assert "CT2" in html and "CT2 7NZ" not in html
    assert "15:35" in html  # the afternoon run leaves 5 minutes after finish_at


def test_a_run_priced_from_other_rates_exits_2_naming_rows(solved, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TINY, data)
    vehicles = data / "vehicles.csv"
    vehicles.write_text(vehicles.read_text().replace("taxi,4,0,38.00", "taxi,4,0,39.00"))
    result = CliRunner().invoke(
        cli, ["tender", str(solved), "--data", str(data), "--out", str(tmp_path / "t")]
    )
    assert result.exit_code == 2
    assert "routes.csv, row 2, column 'annual_cost'" in result.output
    assert not (tmp_path / "t").exists()


def test_a_placement_only_run_exits_2(tmp_path):
    out = tmp_path / "placed"
    assert CliRunner().invoke(cli, ["place", "--data", str(TINY), "--out", str(out)]).exit_code == 0
    result = CliRunner().invoke(
        cli, ["tender", str(out), "--data", str(TINY), "--out", str(tmp_path / "t")]
    )
    assert result.exit_code == 2 and "solve it first" in result.output


# --------------------------------------------------------------------------------------------
# mixed-school routes (pupils of two schools on one vehicle): tests/_mixed_fixture.py


def test_a_mixed_school_routes_lot_names_all_its_schools_and_lots_sum_the_routes(tmp_path):
    from tests._mixed_fixture import MIXED, mixed_route_of, solve_mixed
    from transport.model import route_schools

    run_dir = solve_mixed(tmp_path / "run")
    route = mixed_route_of(run_dir)
    run = read_run(run_dir)
    schools = {r["school_id"]: r for r in rows(MIXED / "schools.csv")}
    visits = [schools[s] for s in route_schools(route)]
    total = sum(Decimal(f"{r.annual_cost:.2f}") for r in run.routes)
    for lot_by in ("route", "school"):
        out = tmp_path / lot_by
        args = ["tender", str(run_dir), "--data", str(MIXED), "--out", str(out), "--lot-by", lot_by]
        result = CliRunner().invoke(cli, args + ([] if lot_by == "route" else ["--no-pdf"]))
        assert result.exit_code == 0, result.output
        lots = rows(out / "lots.csv")
        # every route in exactly one lot, and the lots' prices sum to the routes' costs
        lotted = [r for lot in lots for r in lot["routes"].split(";")]
        assert sorted(lotted) == sorted(r.route_id for r in run.routes)
        assert sum(Decimal(lot["notional_annual"]) for lot in lots) == total
        (lot,) = [lot for lot in lots if route.route_id in lot["routes"].split(";")]
        assert lot["school_id"] == route.school_id == ";".join(s["school_id"] for s in visits)
        assert lot["arrive_by"] == ";".join(s["arrive_by"] for s in visits)
        assert lot["finish_at"] == ";".join(s["finish_at"] for s in visits)
        page = (out / "specification.html").read_text(encoding="utf-8")
        section = page[page.index(f"Lot {lot['lot_id']}</h2>") :].split("</section>")[0]
        for s in visits:
            assert f"{s['name']} {s['arrive_by']}" in section
            assert f"(school {s['school_id']})" in section
    lots = read_lots(tmp_path / "route" / "lots.csv")
    assert {lot.school_id for lot in lots} == {r.school_id for r in run.routes}
