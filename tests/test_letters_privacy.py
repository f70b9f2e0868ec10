"""Letters are private: each family's PDF holds only its own child's details, and no name,
address or pupil id reaches the terminal or the logs.

The text of every PDF is extracted with pypdf and searched for every other pupil's id, and for
every other family's postcode, name, address and email (whitespace collapsed, so a name that
wraps across lines is still found). Both PDF engines are checked (headless Chromium prints many
letters to one document before splitting it, so a leak between letters would show here).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from tests.test_letters import ENGINES
from tests.test_privacy import hits, home_patterns
from transport.cli.main import cli
from transport.letters.contacts import normalise_postcode

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
FIX = DATA / "letters"
CONTACTS = FIX / "contacts.csv"


def contacts() -> dict[str, dict[str, str]]:
    import csv

    with open(CONTACTS, encoding="utf-8") as fh:
        return {r["pupil_id"]: r for r in csv.DictReader(fh)}


def pupil_ids() -> list[str]:
    import csv

    with open(TINY / "pupils.csv", encoding="utf-8") as fh:
        return [r["pupil_id"] for r in csv.DictReader(fh)]


def secrets(row: dict[str, str]) -> list[str]:
    """What identifies a family: postcode, each part of the name, address lines, email."""
    out = [normalise_postcode(row["postcode"])] if row["postcode"] else []
    out += [w for w in row["parent_name"].split() if len(w) > 3]  # surnames and first names
    out += [row[c] for c in ("address_line_1", "email") if row[c]]
    return out


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture(scope="module", params=ENGINES)
def outputs(request, tmp_path_factory) -> tuple[list[Path], str, list[str]]:
    """Letters for every family and after a re-plan, with all terminal output and log lines."""
    tmp = tmp_path_factory.mktemp("private")
    runner = CliRunner()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    texts = []
    try:
        for name, extra in (("all", []), ("since", ["--since", str(FIX / "run-before")])):
            result = runner.invoke(
                cli,
                ["letters", str(FIX / "run-pm"), "--data", str(TINY), "--out", str(tmp / name),
                 "--contacts", str(CONTACTS), "--operators", str(FIX / "route-operators.csv"),
                 "--engine", request.param, *extra],
                catch_exceptions=False,
            )  # fmt: skip
            assert result.exit_code == 0, result.output
            texts += [result.output, result.stderr]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    folders = [tmp / "all", tmp / "since"]
    return folders, "\n".join(texts), records


def test_each_familys_pdf_holds_only_its_own_childs_details(outputs):
    folders, _, _ = outputs
    families = contacts()
    ids = pupil_ids()
    checked = 0
    for folder in folders:
        for pdf in sorted((folder / "letters").glob("*.pdf")):
            own = pdf.stem
            text = pdf_text(pdf)
            assert re.search(rf"(?<!\w){own}(?!\w)", text)
            for other in ids:
                if other != own:
                    assert not re.search(rf"(?<!\w){re.escape(other)}(?!\w)", text), (own, other)
            for pupil, row in families.items():
                if pupil == own:  # the family's own name and postcode head the letter
                    name, postcode = row["parent_name"], normalise_postcode(row["postcode"])
                    assert (not name or name in text) and (not postcode or postcode in text)
                    continue
                for secret in secrets(row):
                    assert secret not in text, (own, pupil, secret)
            reader = pypdf.PdfReader(str(pdf))
            assert not reader.outline  # no bookmarks naming other letters
            meta = " ".join(str(v) for v in (reader.metadata or {}).values())
            assert not re.search(r"\bP\d\d\b", meta)
            for page in reader.pages:
                assert "/Annots" not in page  # no links carrying another family's details
            checked += 1
    assert checked == 10 + 9


def test_letters_hold_no_home_coordinate(outputs):
    folders, _, _ = outputs
    homes = home_patterns(TINY)
    for folder in folders:
        for pdf in [*(folder / "letters").glob("*.pdf"), folder / "letters.pdf"]:
            assert hits(homes, pdf_text(pdf)) == [], pdf
        for name in ("letters.csv", "not-sent.csv", "summary.json"):
            assert hits(homes, (folder / name).read_text(encoding="utf-8")) == []


def test_no_name_address_or_id_on_the_terminal_or_in_the_logs(outputs):
    _, terminal, records = outputs
    text = terminal + "\n".join(records)
    for row in contacts().values():
        for secret in secrets(row):
            assert secret not in text
    for pupil in pupil_ids():
        assert not re.search(rf"(?<!\w){pupil}(?!\w)", text)


def test_contacts_reach_only_the_letters_and_the_merge_file(outputs):
    folders, _, _ = outputs
    every = [s for row in contacts().values() for s in secrets(row)]
    for folder in folders:
        for name in ("not-sent.csv", "summary.json"):
            content = (folder / name).read_text(encoding="utf-8")
            assert not [s for s in every if s in content], name
        assert [p.name for p in folder.glob(".*")] == [".sen-transport"]  # the marker only


def test_contact_errors_never_echo_the_personal_data(tmp_path):
    bad = tmp_path / "contacts.csv"
    bad.write_text(
        "pupil_id,parent_name,address_line_1,postcode,email\n"
        "P01,Ms Quilla Quenby,9 Secret Lane,NOT A CODE,quilla@@example\n"
        "P77,Mr Rufus Rendlesham,8 Hidden Way,CT1 1AA,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        ["letters", str(FIX / "run-pm"), "--data", str(TINY), "--out", str(tmp_path / "o"),
         "--contacts", str(bad)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "row 2, column 'postcode'" in result.output
    assert "row 2, column 'email'" in result.output
    assert "row 3, column 'pupil_id'" in result.output
    for secret in ("Quilla", "Quenby", "Secret Lane", "NOT A CODE", "quilla@@", "Rufus", "P77",
                   "Hidden Way"):  # fmt: skip
        assert secret not in result.output
