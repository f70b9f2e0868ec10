"""Read a small CSV input of the letters stage (contacts, route operators) with its row numbers.

Spreadsheet quirks are absorbed as the data folder's loader does (a UTF-8 byte-order mark, a
file saved as Windows-1252, header case and padding, blank rows). Problems name the file, the
row as a spreadsheet shows it (the header is row 1) and the column — never a cell's value,
which may be personal data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from pathlib import Path

from transport.errors import InputError, Problem

Row = tuple[int, dict[str, str]]


def read_table(
    path: str | Path,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
    what: str,
) -> list[Row]:
    """The rows of a CSV file as ``(row number, {column: stripped text})``.

    Parameters
    ----------
    path
        The file.
    required, optional
        Columns that must be present, and columns that may be; any other column is an error
        (a misspelt column would otherwise be dropped without a word).
    what
        What the file is, for messages ("contacts file").

    Raises
    ------
    InputError
        When the file is missing, unreadable, empty, has a duplicated, missing or unknown
        column, or a row with more cells than the header.
    """
    file = Path(path)
    name = str(path)
    if not file.is_file():
        raise InputError([Problem(name, None, None, f"{what} not found")])
    try:
        raw = file.read_bytes()
    except OSError as exc:
        problem = Problem(name, None, None, f"cannot read the {what}: {exc.strerror}")
        raise InputError([problem]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise InputError([Problem(name, None, None, f"not a CSV text file ({what})")])
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError([Problem(name, None, None, f"not readable as CSV: {exc}")]) from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError([Problem(name, None, None, "the file is empty (no header row)")])
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    problems: list[Problem] = []
    known = set(required) | set(optional)
    for column in sorted({h for h in header if header.count(h) > 1}):
        problems.append(Problem(name, 1, column, "the column appears more than once"))
    for column in header:
        if column not in known:
            expected = ", ".join([*required, *optional])
            problems.append(Problem(name, 1, column, f"unknown column (expected {expected})"))
    for column in required:
        if column not in header:
            problems.append(Problem(name, 1, column, "required column is missing"))
    if problems:
        raise InputError(problems)
    out: list[Row] = []
    width = len(header)
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            problems.append(
                Problem(name, number, None, f"has {len(cells)} cells but the header has {width}")
            )
            continue
        padded = [c.strip() for c in cells[:width]] + [""] * max(0, width - len(cells))
        record = dict(zip(header, padded, strict=True))
        for column in optional:
            record.setdefault(column, "")
        out.append((number, record))
    if problems:
        raise InputError(problems)
    return out
