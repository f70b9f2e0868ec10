"""Crew packs (``sheets --packs``): one PDF per route, stops in order both ways, redacted for
the operator; checked against the run's stops.csv."""

from __future__ import annotations

import csv
import json
import os
import re
import stat
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.letters.content import read_stop_columns
from transport.letters.packs import pack_contexts
from transport.runs.write import read_run

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
RUN = DATA / "letters" / "run-pm"
NEEDS = ("ASD", "SEMH", "SLCN", "MLD", "SLD", "PMLD", "PD", "HI", "VI", "MSI", "SpLD", "OTH")


def text_of(path: Path) -> str:
    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("packs") / "crews"
    result = CliRunner().invoke(
        cli, ["sheets", str(RUN), "--data", str(TINY), "--out", str(out), "--packs", "--redact"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5 operator copies (redacted), 3 passenger assistant copies" in result.output
    return out


def test_one_pack_per_route_stops_in_order_both_ways(packs):
    routes = {r["route_id"]: r for r in rows(RUN / "routes.csv")}
    stops = rows(RUN / "stops.csv")
    assert sorted(p.stem for p in (packs / "packs" / "operator").glob("*.pdf")) == sorted(routes)
    with_pa = sorted(r for r, row in routes.items() if row["has_pa"] == "1")
    assert sorted(p.stem for p in (packs / "packs" / "pa").glob("*.pdf")) == with_pa
    for copy in ("operator", "pa"):
        for pdf in (packs / "packs" / copy).glob("*.pdf"):
            route = pdf.stem
            text = text_of(pdf)
            mine = sorted((s for s in stops if s["route_id"] == route), key=lambda s: int(s["seq"]))
            morning, afternoon = text.split("Afternoon: drop-offs in order")
            # each pickup in order with its time, then each drop-off in reverse order
            expected_am = r".*".join(
                rf"{s['seq']} {s['pupil_id']} \S+, \S+ {s['pickup']}" for s in mine
            )
            assert re.search(expected_am, morning), (route, morning)
            expected_pm = r".*".join(
                rf"{n} {s['pupil_id']} \S+, \S+ {s['dropoff']}"
                for n, s in enumerate(reversed(mine), start=1)
            )
            assert re.search(expected_pm, afternoon), (route, afternoon)
            pa = "yes" if routes[route]["has_pa"] == "1" else "none"
            assert f"Passenger assistant {pa}" in text
            others = {s["pupil_id"] for s in stops} - {s["pupil_id"] for s in mine}
            assert not [p for p in others if re.search(rf"\b{p}\b", text)]  # its own pupils only
    assert len(pypdf.PdfReader(str(packs / "packs" / "operator.pdf")).pages) == len(routes)
    summary = json.loads((packs / "summary.json").read_text())
    assert summary["packs"]["operator"] == 5 and summary["packs"]["pa"] == 3
    assert summary["packs"]["afternoon_times"] is True
    assert (packs / "route-sheets.csv").exists() and (packs / "route-sheets.html").exists()


def test_operator_copy_redacted_pa_copy_says_who_needs_help(packs):
    data = read_dataset(TINY)

    def text_without_school_names(pdf: Path) -> str:
        text = text_of(pdf)
        for school in data.schools:  # a school's own name may say what it specialises in
            text = text.replace(school.name, "")
        return text

    for pdf in (packs / "packs" / "operator").glob("*.pdf"):
        text = text_without_school_names(pdf)
        assert "Needs PA help" not in text
        assert not re.findall(rf"\b({'|'.join(NEEDS)})\b", text)
        assert not re.search(r"\b(age|solo)\b", text, flags=re.IGNORECASE)
        assert "This copy holds no health or needs information" in text
    for pdf in (packs / "packs" / "pa").glob("*.pdf"):
        text = text_without_school_names(pdf)
        assert "Needs PA help" in text and not re.findall(rf"\b({'|'.join(NEEDS)})\b", text)
        found = re.findall(r"\d+ (P\d\d) \S+, \S+ \d\d:\d\d (yes|no) (yes|no)", text)
        assert found, text
        for pupil, wheelchair, needs_pa in found:
            p = data.pupil_by_id[pupil]
            assert (wheelchair, needs_pa) == (_yes(p.wheelchair), _yes(p.needs_pa))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def test_operator_context_has_no_health_field_at_all():
    data, run = read_dataset(TINY), read_run(RUN)
    contexts = pack_contexts(data, run, postcodes={}, stops=read_stop_columns(RUN))
    for ctx in contexts["operator"]:
        for stop in ctx["stops"]:
            assert set(stop) == {"seq", "pupil_id", "pickup_point", "pickup_time",
                                 "dropoff_time", "wheelchair", "school_id",
                                 "school_name"}  # fmt: skip
    assert all("needs_pa" in s for ctx in contexts["pa"] for s in ctx["stops"])


def test_packs_are_private(packs):
    for path in [packs, *packs.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


# --------------------------------------------------------------------------------------------
# mixed-school routes (pupils of two schools on one vehicle): tests/_mixed_fixture.py


def test_a_mixed_school_routes_sheet_and_pack_list_every_school_in_order(tmp_path):
    from tests._mixed_fixture import MIXED, mixed_route_of, solve_mixed
    from transport.model import format_hhmm, route_schools

    run_dir = solve_mixed(tmp_path / "run")
    route = mixed_route_of(run_dir)
    data, run = read_dataset(MIXED), read_run(run_dir)
    visits = [data.school_by_id[s] for s in route_schools(route)]
    assert len(visits) == 2
    placed = {p.pupil_id: p.school_id for p in run.placements}
    out = tmp_path / "sheets"
    result = CliRunner().invoke(
        cli, ["sheets", str(run_dir), "--data", str(MIXED), "--out", str(out), "--packs",
              "--redact", "--engine", "weasyprint"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # the sheet: each pupil's row names their own school and its arrive-by time
    sheet = [r for r in rows(out / "route-sheets.csv") if r["route_id"] == route.route_id]
    assert [r["pupil_id"] for r in sheet] == list(route.pupils)
    for r in sheet:
        school = data.school_by_id[placed[r["pupil_id"]]]
        assert (r["school_id"], r["school_name"]) == (school.school_id, school.name)
        assert r["arrive_by"] == format_hhmm(school.arrive_by)
    assert {r["school_id"] for r in sheet} == {s.school_id for s in visits}
    # the page: the route's heading names both schools, in visiting order, each with its time
    page = (out / "route-sheets.html").read_text(encoding="utf-8")
    heading = page[page.index(f"Route {route.route_id}</h2>") :].split("</p>")[0]
    named = [heading.index(f"{s.name} ({s.school_id}), arrive by {format_hhmm(s.arrive_by)}")
             for s in visits]  # fmt: skip
    assert named == sorted(named)
    # the crew pack: every school in order with its time, every pupil with their school
    (ctx,) = [
        c
        for c in pack_contexts(data, run, postcodes={}, stops=read_stop_columns(run_dir))[
            "operator"
        ]
        if c["route_id"] == route.route_id
    ]
    assert [(s["school_id"], s["arrive_by"]) for s in ctx["schools"]] == [
        (s.school_id, format_hhmm(s.arrive_by)) for s in visits
    ]
    assert all(s["school_id"] == placed[s["pupil_id"]] for s in ctx["stops"])
    text = text_of(out / "packs" / "operator" / f"{route.route_id}.pdf")
    for s in visits:
        assert f"{s.name} {format_hhmm(s.arrive_by)}" in text
        assert f"{s.name} by {format_hhmm(s.arrive_by)}" in text
