"""transport.letters: letters to families, checked against the run they render.

Fixtures: tests/data/letters/run-pm is a plan of the tiny data with an afternoon run (stops.csv
``dropoff``, ``pm_ride_min``), one pupil unplaced (P06) and one unrouted (P11);
run-before is the previous plan, made from older data (P03 not yet there, P02 living elsewhere,
P05 at another school), with journeys that the new plan disturbs.

Every family's letters are written by both PDF engines (headless Chromium, the default, and
WeasyPrint, the fallback) and checked the same way. Chromium is Debian's ``chromium``
(installed by .ci/run): without it the Chromium cases are skipped, except on CI, where they
fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import stat
import sys
import time
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from transport.changes import disturbances, journeys
from transport.cli.main import cli
from transport.letters.chromium import CHROMIUM_ENV, find_chromium
from transport.letters.job import default_effective_date, write_letters
from transport.letters.since import families_to_write, own_data_changes
from transport.runs.write import read_run

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
FIX = DATA / "letters"
RUN = FIX / "run-pm"
BEFORE = FIX / "run-before"
CONTACTS = FIX / "contacts.csv"
OPERATORS = FIX / "route-operators.csv"
DAY = dt.date(2026, 9, 7)
NO_CHROMIUM = find_chromium() is None and os.environ.get("CI") != "true"
CHROMIUM = pytest.param(
    "chromium",
    marks=pytest.mark.skipif(NO_CHROMIUM, reason="Debian's chromium is not installed"),
)
ENGINES = [CHROMIUM, "weasyprint"]


def pdf_text(path: Path) -> str:
    """All text of a PDF, whitespace collapsed (a name may wrap across lines)."""
    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def pages(path: Path) -> int:
    return len(pypdf.PdfReader(str(path)).pages)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module", params=ENGINES)
def full(request, tmp_path_factory) -> Path:
    """Every family's letter of run-pm, with contacts and operators, by each engine."""
    out = tmp_path_factory.mktemp("letters") / "out"
    summary = write_letters(
        RUN,
        TINY,
        out,
        contacts=CONTACTS,
        operators=OPERATORS,
        effective=DAY,
        today=dt.date(2026, 8, 1),
        workers=1,
        engine=request.param,
    )
    assert summary["engine"] == request.param and summary["engine_warnings"] == []
    return out


@pytest.fixture(scope="module")
def since(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("since") / "out"
    write_letters(RUN, TINY, out, contacts=CONTACTS, since=BEFORE, effective=DAY, workers=1)
    return out


def test_one_letter_per_routed_pupil_matching_stops(full):
    stops = rows(RUN / "stops.csv")
    schools = {r["school_id"]: r["name"] for r in rows(TINY / "schools.csv")}
    routes = {r["route_id"]: r for r in rows(RUN / "routes.csv")}
    letters = sorted(p.stem for p in (full / "letters").glob("*.pdf"))
    assert letters == sorted(s["pupil_id"] for s in stops)  # every routed pupil, once
    summary = json.loads((full / "summary.json").read_text())
    assert summary["letters"] == len(stops) == 10
    assert summary["afternoon_times"] is True
    for stop in stops:
        text = pdf_text(full / "letters" / f"{stop['pupil_id']}.pdf")
        school = schools[routes[stop["route_id"]]["school_id"]]
        assert f"{stop['pickup']} from home" in text
        assert f"about {stop['dropoff']} at home" in text
        assert school in text
        assert f"Route {stop['route_id']}" in text
        assert "Monday 7 September 2026" in text and "If the vehicle is late" in text
        vehicle_accessible = routes[stop["route_id"]]["vehicle_type"].startswith("wav")
        assert f"Wheelchair accessible {'Yes' if vehicle_accessible else 'No'}" in text
        pa = routes[stop["route_id"]]["has_pa"] == "1"
        assert ("a passenger assistant travels" in text) == pa
    # letters.pdf: every letter, each starting on a new page, in pupil order
    per_letter = [pages(full / "letters" / f"{p}.pdf") for p in letters]
    assert pages(full / "letters.pdf") == sum(per_letter) == summary["pages"]
    reader = pypdf.PdfReader(str(full / "letters.pdf"))
    first_pages = [sum(per_letter[:i]) for i in range(len(letters))]
    for pupil, first in zip(letters, first_pages, strict=True):
        text = " ".join(reader.pages[first].extract_text().split()) + " "
        assert f"Our reference: pupil {pupil} " in text


def test_letters_csv_holds_the_merge_fields(full):
    merge = {r["pupil_id"]: r for r in rows(full / "letters.csv")}
    stops = {s["pupil_id"]: s for s in rows(RUN / "stops.csv")}
    contacts = {r["pupil_id"]: r for r in rows(CONTACTS)}
    assert set(merge) == set(stops)
    for pupil, row in merge.items():
        assert row["pickup_time"] == stops[pupil]["pickup"]
        assert row["dropoff_time"] == stops[pupil]["dropoff"]
        assert row["route_id"] == stops[pupil]["route_id"]
        assert row["kind"] == "plan" and row["effective_date"] == "2026-09-07"
        assert row["pdf"] == f"letters/{pupil}.pdf" and (full / row["pdf"]).is_file()
        contact = contacts.get(pupil)
        name = contact["parent_name"] if contact else ""
        assert row["addressee"] == (name or f"To the parent or carer of pupil {pupil}")
        if contact:
            assert row["address_line_1"] == contact["address_line_1"]
            assert row["email"] == contact["email"]
    assert merge["P02"]["postcode"] == "TN23 4BB"  # normalised
    # only what a mail merge needs: no need, age, home location or anything else
    assert set(next(iter(merge.values()))) == {
        "pupil_id", "kind", "changes", "effective_date", "addressee", "address_line_1",
        "address_line_2", "address_line_3", "address_line_4", "postcode", "email",
        "school_name", "pickup_point", "pickup_time", "arrive_by", "dropoff_time", "vehicle",
        "wheelchair_accessible", "passenger_assistant", "route_id", "operator_name",
        "operator_phone", "pdf",
    }  # fmt: skip


def test_operator_line_only_where_known(full):
    operators = {r["route_id"]: r for r in rows(OPERATORS)}
    for stop in rows(RUN / "stops.csv"):
        text = pdf_text(full / "letters" / f"{stop['pupil_id']}.pdf")
        op = operators.get(stop["route_id"])
        if op is None:
            assert "Transport operator" not in text
            assert "call the SEN Transport team on" in text
        else:
            assert f"Transport operator {op['operator_name']}" in text
            if op["phone"]:
                assert f"please call {op['operator_name']} on {op['phone']}" in text
            else:
                assert "telephone" not in text.split("Transport operator")[1][:60]


def test_addressed_with_contacts_else_to_the_parent_or_carer(full):
    text = pdf_text(full / "letters" / "P01.pdf")
    assert "Ms Alice Ashdown 1 Orchard Row Kennington Ashford TN24 9AA" in text
    assert "Dear Ms Alice Ashdown," in text
    assert "home (TN24 9AA)" in text  # the pickup point, never a coordinate
    assert "To the parent or carer of pupil P05" in pdf_text(full / "letters" / "P05.pdf")


def test_not_sent_lists_unplaced_and_unrouted_with_reasons(full):
    missing = {r["pupil_id"]: r for r in rows(full / "not-sent.csv")}
    assert set(missing) == {"P06", "P11"}
    assert missing["P06"]["status"] == "unplaced" and "free place" in missing["P06"]["reason"]
    assert missing["P11"]["status"] == "unrouted" and missing["P11"]["school_id"] == "S2"
    assert missing["P11"]["previously_routed"] == ""  # only known with --since


def test_since_writes_to_new_moved_and_disturbed_families_only(since):
    merge = {r["pupil_id"]: r for r in rows(since / "letters.csv")}
    kinds = {p: r["kind"] for p, r in merge.items()}
    assert kinds == {
        "P03": "new",
        "P02": "moved",  # house move: the same school, a longer journey alone before
        "P05": "moved",  # changed school: pupils.csv names the new one
        "P01": "disturbed",  # co-riders
        "P04": "disturbed",  # pickup 12 minutes later
        "P07": "disturbed",  # vehicle
        "P08": "disturbed",  # pickup 15 minutes later
        "P10": "disturbed",  # the engine moved school; co-riders
        "P12": "disturbed",  # a PA appears
    }
    assert "P09" not in merge  # routed in both plans, nothing changed: no letter
    assert sorted(p.stem for p in (since / "letters").glob("*.pdf")) == sorted(kinds)
    summary = json.loads((since / "summary.json").read_text())
    assert summary["letters"] == 9 and summary["home_moves_detectable"] is True
    assert summary["letters_by_kind"] == {"disturbed": 6, "moved": 2, "new": 1}
    missing = {r["pupil_id"]: r["previously_routed"] for r in rows(since / "not-sent.csv")}
    assert missing == {"P06": "yes", "P11": "yes"}  # lost a route: the team must call


def test_since_letters_say_what_changed(since):
    def text(pupil: str) -> str:
        return pdf_text(since / "letters" / f"{pupil}.pdf")

    assert "Morning pickup time 08:40 08:55" in text("P08")
    assert "Vehicle a people carrier (MPV) a taxi (car)" in text("P07")
    assert "School Independent Day Canterbury Special" in text("P05")
    assert "School Ashford Special Independent Day" in text("P10")
    assert "Passenger assistant none travels on the vehicle" in text("P12")
    assert "Pickup point your previous address home (TN23 4BB): your new address" in text("P02")
    assert "Changes to home to school transport" in text("P01")
    assert "What changes" not in text("P03") and "starting on Monday 7 September" in text("P03")
    merge = {r["pupil_id"]: r for r in rows(since / "letters.csv")}
    assert merge["P04"]["changes"].startswith("Morning pickup time: 08:30 → 08:42")


def test_since_agrees_with_the_one_definition_of_disturbed():
    previous, run = read_run(BEFORE), read_run(RUN)
    data_schools = {r["pupil_id"]: r["school_id"] or None for r in rows(TINY / "pupils.csv")}
    moved, detectable = own_data_changes(previous, run, school_in_data=data_schools)
    assert moved == {"P02": ("home",), "P05": ("school",)} and detectable
    old, new = journeys(previous.routes, previous.stops), journeys(run.routes, run.stops)
    fresh = set(new) - set(old)
    expected = disturbances(old, new, changed=set(moved) | fresh)
    result = families_to_write(previous, run, school_in_data=data_schools)
    got = {p: c.reasons for p, c in result.changes.items() if c.kind == "disturbed"}
    assert got == expected
    assert expected["P10"] == ("school", "co-riders")


def test_home_moves_not_guessed_across_travel_models(tmp_path):
    other = tmp_path / "before"
    shutil.copytree(BEFORE, other)
    summary = json.loads((other / "summary.json").read_text())
    summary["parameters"]["travel_model"]["circuity"] = 1.4
    (other / "summary.json").write_text(json.dumps(summary))
    data_schools = {r["pupil_id"]: r["school_id"] or None for r in rows(TINY / "pupils.csv")}
    moved, detectable = own_data_changes(
        read_run(other), read_run(RUN), school_in_data=data_schools
    )
    assert moved == {"P05": ("school",)} and not detectable


def test_since_the_same_run_writes_no_letter(tmp_path):
    summary = write_letters(RUN, TINY, tmp_path / "out", since=RUN, effective=DAY, workers=1)
    assert summary["letters"] == 0 and summary["pages"] == 0
    assert list((tmp_path / "out" / "letters").iterdir()) == []
    assert not (tmp_path / "out" / "letters.pdf").exists()
    assert len(rows(tmp_path / "out" / "letters.csv")) == 0


def test_default_effective_date_gives_a_weeks_notice():
    assert default_effective_date(dt.date(2026, 8, 1)) == dt.date(2026, 8, 10)  # a Saturday
    assert default_effective_date(dt.date(2026, 8, 3)) == dt.date(2026, 8, 10)  # a Monday
    assert default_effective_date(dt.date(2026, 8, 4)) == dt.date(2026, 8, 17)
    for day in range(1, 32):
        chosen = default_effective_date(dt.date(2026, 7, day))
        assert chosen.weekday() == 0 and 7 <= (chosen - dt.date(2026, 7, day)).days < 14


def test_files_private_and_nothing_left_behind(full):
    for path in [full, *full.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert not [p for p in full.parent.iterdir() if p.name.startswith(".")]
    assert not (full / ".chunks").exists()
    marker = json.loads((full / ".sen-transport").read_text())
    assert marker["kind"] == "letters"  # a letters folder: replaced only by letters


# ---------------------------------------------------------------------------------------------
# The command line


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, ["letters", *args], catch_exceptions=False)


def test_cli_letters_for_a_solved_run_count_equals_pupils_routed(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    solved = runner.invoke(
        cli,
        ["solve", "--data", str(TINY), "--out", str(run), "--time-limit", "2", "--workers", "1",
         "--quiet"],
        catch_exceptions=False,
    )  # fmt: skip
    assert solved.exit_code == 0, solved.output
    out = tmp_path / "letters"
    result = invoke(str(run), "--data", str(TINY), "--out", str(out), "--effective", "2026-09-07")
    assert result.exit_code == 0, result.output
    routed = json.loads((run / "summary.json").read_text())["pupils_routed"]
    assert len(list((out / "letters").glob("*.pdf"))) == routed
    assert f"{routed} letters" in result.output
    assert "No --contacts" in result.output
    stops = rows(run / "stops.csv")
    for stop in stops:  # the plan's afternoon run (stops.csv dropoff): the letter gives it
        text = pdf_text(out / "letters" / f"{stop['pupil_id']}.pdf")
        assert f"{stop['pickup']} from home" in text
        assert stop["dropoff"] and f"about {stop['dropoff']}" in text
        assert f"To the parent or carer of pupil {stop['pupil_id']}" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "contacts file not found"),
        ("", "the file is empty"),
        ("pupil,parent_name\nP01,A\n", "column 'pupil'"),
        ("pupil_id,parent_name,address_line_1,postcode\nP99,Ms Zed Zebedee,1 Road,CT1 1AA\n",
         "row 2, column 'pupil_id': not a pupil"),
        ("pupil_id,parent_name,email\nP01,Ms Zed Zebedee,z@example.org\n"
         "P01,Mr Yan Yellowlees,y@example.org\n", "row 3, column 'pupil_id': the same pupil"),
        ("pupil_id,parent_name,address_line_1,postcode\nP01,Ms Zed Zebedee,1 Road,QQQ 999\n",
         "row 2, column 'postcode': not a UK postcode"),
        ("pupil_id,parent_name,email\nP01,Ms Zed Zebedee,zebedee-at-example\n",
         "row 2, column 'email': not an email address"),
        ("pupil_id,parent_name\nP01,Ms Zed Zebedee\n", "row 2: no postal address"),
    ],
)  # fmt: skip
def test_bad_contacts_exit_2_naming_file_row_column_never_the_value(tmp_path, content, expected):
    contacts = tmp_path / "contacts.csv"
    if content is not None:
        contacts.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out), "--contacts", str(contacts))
    assert result.exit_code == 2, result.output
    assert "contacts.csv" in result.output and expected in result.output
    assert "Traceback" not in result.output
    for secret in ("Zebedee", "Yellowlees", "QQQ 999", "zebedee-at-example", "1 Road"):
        assert secret not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("<html><body>{% if %}</body></html>", "line 1: template syntax error"),
        ("<html><body>\n<p>{{ parent_name }}</p></body></html>",
         "line 2: uses a variable that does not exist: 'parent_name' is undefined"),
        ("<html><body>{{ changes[0].what }}</body></html>", "uses a variable that does not exist"),
        ("<p>{{ pupil_id }}</p>", "the page has no <body> element"),
        ("<html><body>{% include 'missing.html' %}</body></html>", "missing.html"),
    ],
)  # fmt: skip
def test_template_errors_exit_2_naming_the_template(tmp_path, template, expected):
    path = tmp_path / "council.html"
    path.write_text(template, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out), "--template", str(path))
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and expected in result.output, result.output
    assert not out.exists()


def test_a_councils_own_template_and_a_failed_run_leaves_the_previous_folder(tmp_path):
    template = tmp_path / "mine.html"
    template.write_text(
        "<html><head><style>@page{size:A5}</style></head><body><p>Our ref {{ pupil_id }}: "
        "{{ school_name }} at {{ pickup_time }}{% if dropoff_time %}, home {{ dropoff_time }}"
        "{% endif %}.</p></body></html>",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out), "--template", str(template))
    assert result.exit_code == 0, result.output
    assert (
        pdf_text(out / "letters" / "P01.pdf")
        == "Our ref P01: Ashford Special at 08:49, home 15:27."
    )
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    template.write_text("<html><body>{{ nope }}</body></html>", encoding="utf-8")
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out), "--template", str(template))
    assert result.exit_code == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("engine", ENGINES)
def test_a_template_cannot_reach_the_network_or_other_files_nor_run_a_script(tmp_path, engine):
    template = tmp_path / "t" / "letter.html"
    template.parent.mkdir()
    secret = tmp_path / "secret.css"
    secret.write_text('p::after { content: " SECRET" }')
    (tmp_path / "t" / "mine.css").write_text('p::before { content: "BESIDE " }')
    template.write_text(
        '<html><head><link rel="stylesheet" href="mine.css">'
        f'<link rel="stylesheet" href="../secret.css"><link rel="stylesheet" '
        f'href="{secret.as_uri()}"></head><body>'
        '<img src="https://example.org/pixel.png?id={{ pupil_id }}"><p>{{ pupil_id }}</p>'
        "<script>document.body.append(' SCRIPT')</script></body></html>",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    summary = write_letters(RUN, TINY, out, template=template, effective=DAY, engine=engine)
    # the file beside the template is loaded; the one outside it, and the network, are not;
    # no script runs (it could copy one letter into another: they share a document)
    assert pdf_text(out / "letters" / "P01.pdf") == "BESIDE P01"
    assert "SECRET" not in pdf_text(out / "letters.pdf")
    warned = " ".join(summary["template_warnings"])
    assert "https://example.org/pixel.png?id=SAMPLE" in warned  # the synthetic sample only
    assert not re.search(r"\bP\d\d\b", warned)


def test_the_weasyprint_fetcher_loads_only_files_beside_the_template(tmp_path):
    from transport.letters.render import load_template
    from transport.letters.weasy import local_fetcher

    template = tmp_path / "t" / "letter.html"
    template.parent.mkdir()
    template.write_text("<html><body>{{ pupil_id }}</body></html>")
    secret = tmp_path / "secret.css"
    secret.write_text("p { color: red }")
    fetch = local_fetcher(load_template(template, default="letter.html").folder.as_uri() + "/")
    with pytest.raises(ValueError):
        fetch.fetch("https://example.org/pixel.png?id=P01")
    with pytest.raises(ValueError):
        fetch.fetch(secret.as_uri())


@pytest.mark.parametrize("where", ["run", "inside-run", "data"])
def test_output_never_replaces_or_enters_an_input(tmp_path, where):
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    out = {"run": run, "inside-run": run / "letters", "data": TINY}[where]
    result = invoke(str(run), "--data", str(TINY), "--out", str(out))
    assert result.exit_code == 2 and "an input of this command" in result.output
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in RUN.iterdir())


def test_output_never_replaces_a_folder_it_did_not_write(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(mine))
    assert result.exit_code == 2 and "holds files sen-transport did not write" in result.output
    assert (mine / "thesis.docx").read_text() == "years of work"


def test_bad_operators_file_and_mismatched_run_exit_2(tmp_path):
    ops = tmp_path / "route-operators.csv"
    ops.write_text("route_id,operator_id,operator_name,phone\nR9999,OP1,Acme,01233 100200\n"
                   "R0001,OP1,Acme,call us\n")  # fmt: skip
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(tmp_path / "o"), "--operators",
                    str(ops))  # fmt: skip
    assert result.exit_code == 2
    assert "row 2, column 'route_id': not a route of this run" in result.output
    assert "row 3, column 'phone': not a telephone number" in result.output
    empty = tmp_path / "placed"
    shutil.copytree(RUN, empty)
    (empty / "routes.csv").unlink()
    (empty / "stops.csv").unlink()
    result = invoke(str(empty), "--data", str(TINY), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "solve it first" in result.output


def test_cli_since_and_help(tmp_path):
    out = tmp_path / "o"
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out), "--since", str(BEFORE),
                    "--effective", "2026-09-07", "--workers", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "9 letters (6 disturbed, 2 moved, 1 new)" in result.output
    assert not re.search(r"\bP\d\d\b", result.output)  # counts only on the terminal
    assert "Example:" in invoke("--help").output


@pytest.mark.parametrize("engine", ENGINES)
def test_letters_of_several_pages_stay_whole_and_apart(tmp_path, monkeypatch, engine):
    import transport.letters.pdf

    # 4 chunks, printed two at a time (two Chromium pages, or two WeasyPrint processes)
    monkeypatch.setattr(transport.letters.pdf, "CHUNK_SIZE", {engine: 3})
    template = tmp_path / "long.html"
    template.write_text(
        "<html><body><p>Page one for {{ pupil_id }}</p>"
        '<p style="break-before: page">Page two for {{ pupil_id }}</p>'
        '{% if kind == "plan" %}<p style="break-before: page">Page three for {{ pupil_id }}</p>'
        "{% endif %}</body></html>",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    summary = write_letters(
        RUN, TINY, out, template=template, effective=DAY, workers=2, engine=engine
    )
    letters = sorted((out / "letters").glob("*.pdf"))
    assert len(letters) == 10 and summary["pages"] == 30
    for pdf in letters:
        texts = [p.extract_text().strip() for p in pypdf.PdfReader(str(pdf)).pages]
        assert texts == [f"Page {n} for {pdf.stem}" for n in ("one", "two", "three")]
    combined = [p.extract_text().strip() for p in pypdf.PdfReader(str(out / "letters.pdf")).pages]
    assert combined == [
        f"Page {n} for {pdf.stem}" for pdf in letters for n in ("one", "two", "three")
    ]


def png(width: int, height: int) -> bytes:
    """A red PNG image."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("engine", [CHROMIUM])  # WeasyPrint's files: the test above
def test_a_councils_font_and_logo_beside_the_template_are_printed(tmp_path, monkeypatch, engine):
    import transport.letters.pdf

    # chunks of 3 on two pages: the second page never printed the sample, which has them
    monkeypatch.setattr(transport.letters.pdf, "CHUNK_SIZE", {engine: 3})
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")  # fonts-dejavu-core
    if not font.exists():
        pytest.skip("fonts-dejavu-core is not installed")
    folder = tmp_path / "council"
    folder.mkdir()
    shutil.copy(font, folder / "council.ttf")
    (folder / "logo.png").write_bytes(png(40, 20))
    template = folder / "letter.html"
    template.write_text(
        "<html><head><style>@font-face { font-family: Council; src: url(council.ttf) }"
        " p { font-family: Council } .logo { width: 40px; height: 20px;"
        " background: url(logo.png) }</style></head>"
        '<body><div class="logo"></div><p>Ref {{ pupil_id }}</p></body></html>',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    write_letters(RUN, TINY, out, template=template, effective=DAY, engine=engine, workers=2)
    for pdf in (out / "letters").glob("*.pdf"):
        resources = pypdf.PdfReader(str(pdf)).pages[0]["/Resources"]
        names = [str(f.get_object()["/BaseFont"]) for f in resources["/Font"].values()]
        assert any("DejaVuSansMono" in n for n in names), names
        assert "/XObject" in resources, pdf.name  # the logo


@pytest.mark.parametrize("engine", [CHROMIUM])  # the split is the same for both engines
def test_a_family_pdf_keeps_web_links_and_never_points_into_another_letter(tmp_path, engine):
    template = tmp_path / "links.html"
    template.write_text(
        '<html><body><p id="top">Ref {{ pupil_id }}</p>'
        '<p><a href="https://www.kent.gov.uk/sen-transport">Our web page</a> '
        '<a href="#top">Back to the top</a></p></body></html>',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    write_letters(RUN, TINY, out, template=template, effective=DAY, engine=engine)
    for pdf in (out / "letters").glob("*.pdf"):
        reader = pypdf.PdfReader(str(pdf))
        assert len(reader.pages) == 1 and not reader.named_destinations and not reader.outline
        annotations = [a.get_object() for a in reader.pages[0].get("/Annots", [])]
        assert [a["/A"]["/URI"] for a in annotations] == ["https://www.kent.gov.uk/sen-transport"]
        assert not [a for a in annotations if "/Dest" in a or a["/A"].get("/S") != "/URI"]


# ---------------------------------------------------------------------------------------------
# The PDF engine


def children_of(pid: int) -> set[int]:
    """Every live descendant process of ``pid``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_line = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat_line.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found.update(kids)
        todo.extend(kids)
    return found


@pytest.mark.skipif(NO_CHROMIUM, reason="Debian's chromium is not installed")
def test_chromium_leaves_no_process_and_no_profile_behind(tmp_path):
    import tempfile

    profiles = set(Path(tempfile.gettempdir()).glob("sen-transport-chromium-*"))
    before = children_of(os.getpid())
    summary = write_letters(RUN, TINY, tmp_path / "out", effective=DAY, engine="chromium")
    assert summary["engine"] == "chromium" and summary["letters"] == 10
    assert children_of(os.getpid()) <= before
    assert set(Path(tempfile.gettempdir()).glob("sen-transport-chromium-*")) <= profiles


@pytest.mark.skipif(NO_CHROMIUM, reason="Debian's chromium is not installed")
@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's parent-death signal")
def test_a_killed_command_takes_its_browser_with_it(tmp_path):
    """A command killed outright (SIGKILL: no clean-up runs) leaves no browser behind, even
    while another process it forked (a pool worker) still holds the browser's pipe open."""
    import signal
    import subprocess

    ready, held = tmp_path / "browser.pid", tmp_path / "worker.pid"
    script = (
        "import sys, time\n"
        "from transport.letters.chromium import Browser, find_chromium\n"
        "import os\n"
        "with Browser.launch(find_chromium()) as browser:\n"
        "    if os.fork() == 0:\n"
        f"        open({str(held)!r}, 'w').write(str(os.getpid()))\n"
        "        time.sleep(600)\n"
        f"    open({str(ready)!r}, 'w').write(str(browser.pid))\n"
        "    time.sleep(600)\n"
    )
    command = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() or not ready.read_text():
            assert time.monotonic() < deadline and command.poll() is None
            time.sleep(0.05)
        browser = int(ready.read_text())
        os.kill(command.pid, signal.SIGKILL)
        command.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{browser}").exists() and _state(browser) != "Z":
            assert time.monotonic() < deadline, "the browser outlived the command"
            time.sleep(0.05)
    finally:
        command.kill()
        if held.exists() and held.read_text():
            os.kill(int(held.read_text()), signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def test_without_chromium_auto_falls_back_to_weasyprint_and_says_so(tmp_path, monkeypatch):
    import transport.letters.pdf

    monkeypatch.setattr(transport.letters.pdf, "find_chromium", lambda: None)
    result = CliRunner().invoke(
        cli, ["letters", str(RUN), "--data", str(TINY), "--out", str(tmp_path / "o"),
              "--since", str(RUN)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Warning: Chromium is not installed" in result.stderr
    assert "apt-get install chromium" in result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["engine"] == "weasyprint" and summary["engine_warnings"]
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(tmp_path / "c"), "--engine",
                    "chromium")  # fmt: skip
    assert result.exit_code == 2 and "no Chromium found" in result.output
    assert "--engine weasyprint" in result.output and not (tmp_path / "c").exists()


def test_a_browser_that_fails_to_start_exits_2_and_writes_nothing(tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display: no such thing' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv(CHROMIUM_ENV, str(fake))
    out = tmp_path / "out"
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out), "--engine", "chromium")
    assert result.exit_code == 2, result.output
    assert "did not start: cannot open display" in result.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "nothing-here"))
    result = invoke(str(RUN), "--data", str(TINY), "--out", str(out))
    assert result.exit_code == 2 and "not a program to run" in result.output


# --------------------------------------------------------------------------------------------
# mixed-school routes (pupils of two schools on one vehicle): tests/_mixed_fixture.py


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory) -> tuple[Path, Path]:
    from tests._mixed_fixture import solve_mixed

    root = tmp_path_factory.mktemp("mixed")
    return solve_mixed(root / "plain", mixed=False), solve_mixed(root / "mixed")


def test_mixed_school_route_letters_name_each_pupils_own_school(mixed_runs, tmp_path):
    from tests._mixed_fixture import MIXED, mixed_route_of
    from transport.data.validate import read_dataset
    from transport.model import format_hhmm, route_schools

    run_dir = mixed_runs[1]
    route = mixed_route_of(run_dir)
    out = tmp_path / "letters"
    result = invoke(str(run_dir), "--data", str(MIXED), "--out", str(out),
                    "--engine", "weasyprint", "--effective", "2030-09-02")  # fmt: skip
    assert result.exit_code == 0, result.output
    data, run = read_dataset(MIXED), read_run(run_dir)
    placed = {p.pupil_id: p.school_id for p in run.placements}
    letters = {r["pupil_id"]: r for r in rows(out / "letters.csv")}
    assert sorted(letters) == sorted(s.pupil_id for s in run.stops)
    on_mixed = {letters[p]["school_name"] for p in route.pupils}
    assert on_mixed == {data.school_by_id[s].name for s in route_schools(route)}  # both schools
    for pupil, row in letters.items():
        school = data.school_by_id[placed[pupil]]
        assert (row["school_name"], row["arrive_by"]) == (
            school.name,
            format_hhmm(school.arrive_by),
        )
        assert school.name in pdf_text(out / row["pdf"])


def test_a_route_becoming_mixed_is_no_change_of_school(mixed_runs):
    plain, mixed = (read_run(p) for p in mixed_runs)
    result = families_to_write(plain, mixed, school_in_data={})
    assert result.changes  # the merged route moves pickups and co-riders
    for change in result.changes.values():
        assert "school" not in change.reasons
        assert change.before is None or change.before.school_id == change.after.school_id
