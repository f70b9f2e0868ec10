"""Families' names and addresses: read at letter time from ``--contacts``, used in letters only.

Names and addresses are not in the pupil data and never enter a run folder. They are read
here, validated like every input, merged into each family's own letter (and the mail-merge
file ``letters.csv``) and nowhere else: never logged, never in a message. Problems name the
file, row and column, never the value.

Columns (header case and spaces are forgiven; any other column is an error):

``pupil_id`` (required)
    a pupil of the data folder's pupils.csv, listed once;
``parent_name``
    whom to address (blank: "The parent or carer of pupil <id>");
``address_line_1`` … ``address_line_4``
    the postal address above the postcode;
``postcode``
    a UK postcode (normalised to upper case with one space);
``email``
    for the council's own emailing of ``letters/<pupil_id>.pdf``.

Each row needs a way to reach the family: a postal address (``address_line_1`` and
``postcode``) or an email.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from transport.errors import InputError, Problem
from transport.letters._table import read_table

ADDRESS_LINES = ("address_line_1", "address_line_2", "address_line_3", "address_line_4")
CONTACT_COLUMNS = ("pupil_id", "parent_name", *ADDRESS_LINES, "postcode", "email")
MAX_LENGTH = 200

_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Contact:
    """How to reach one pupil's family. Personal data: kept out of ``repr``."""

    pupil_id: str
    parent_name: str = field(repr=False)
    address_lines: tuple[str, ...] = field(repr=False)
    postcode: str = field(repr=False)
    email: str = field(repr=False)


def normalise_postcode(text: str) -> str:
    """``ct11aa`` → ``CT1 1AA`` (upper case, one space before the inward code)."""
    compact = "".join(text.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def read_contacts(path: str | Path, *, pupils: Collection[str]) -> dict[str, Contact]:
    """Read and validate a contacts file.

    Parameters
    ----------
    path
        The CSV file (``--contacts``).
    pupils
        Pupil ids of the data folder: a row for any other pupil is an error.

    Returns
    -------
    dict
        ``{pupil_id: Contact}``.

    Raises
    ------
    InputError
        Listing every problem (file, row, column; never the value): a missing or malformed
        file, an unknown or repeated pupil, a malformed postcode or email, a row with no way to
        reach the family.
    """
    name = str(path)
    rows = read_table(
        path, required=("pupil_id",), optional=CONTACT_COLUMNS[1:], what="contacts file"
    )
    known = set(pupils)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    out: dict[str, Contact] = {}
    for number, row in rows:
        bad = False
        for column, value in row.items():
            if len(value) > MAX_LENGTH:
                problems.append(
                    Problem(name, number, column, f"longer than {MAX_LENGTH} characters")
                )
                bad = True
            elif _CONTROL.search(value):
                problems.append(Problem(name, number, column, "holds control characters"))
                bad = True
        pupil = row["pupil_id"]
        if not pupil:
            problems.append(Problem(name, number, "pupil_id", "is blank"))
            continue
        if pupil in seen:
            problems.append(
                Problem(name, number, "pupil_id", f"the same pupil as row {seen[pupil]}")
            )
            continue
        seen[pupil] = number
        if pupil not in known:
            problems.append(
                Problem(name, number, "pupil_id", "not a pupil of the data folder's pupils.csv")
            )
            continue
        postcode = normalise_postcode(row["postcode"]) if row["postcode"] else ""
        if postcode and not _POSTCODE.match(postcode):
            problems.append(Problem(name, number, "postcode", "not a UK postcode"))
            bad = True
        email = row["email"]
        if email and not _EMAIL.match(email):
            problems.append(Problem(name, number, "email", "not an email address"))
            bad = True
        lines = tuple(row[c] for c in ADDRESS_LINES if row[c])
        if not email and not (row["address_line_1"] and postcode):
            problems.append(
                Problem(
                    name,
                    number,
                    None,
                    "no postal address (address_line_1 and postcode) and no email: "
                    "a letter cannot reach this family",
                )
            )
            bad = True
        if not bad:
            out[pupil] = Contact(pupil, row["parent_name"], lines, postcode, email)
    if problems:
        raise InputError(problems)
    return out
