"""Load: read a data folder's CSV files as text tables, tolerant of spreadsheet quirks.

Nothing is interpreted here: every cell stays a string (stripped of stray whitespace) so that
:mod:`transport.data.validate` can report every problem with its file, row and column.
Excel's quirks are absorbed: a UTF-8 byte-order mark, UTF-16 with a byte-order mark ("Unicode
Text"), Windows-1252 text, ``\\r\\n`` line ends, padded headers, header case, and blank rows.
What cannot be read is named with its file and row: an Excel workbook saved under a ``.csv``
name, UTF-16 without a byte-order mark, NUL bytes, a quote left open, a folder or an unreadable
file where a CSV file should be. Rows are numbered as a spreadsheet shows them (the header is
row 1; blank rows count), and each table carries its data rows' numbers in
``frame.attrs["rows"]``.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transport.audit import record_input
from transport.errors import InputError, Problem

FILES = ("schools.csv", "pupils.csv", "vehicles.csv")
OPTIONAL_FILES = ("incompatible.csv",)


@dataclass(frozen=True)
class RawTables:
    """The text tables of a data folder; ``incompatible`` is ``None`` when the file is absent."""

    schools: pd.DataFrame
    pupils: pd.DataFrame
    vehicles: pd.DataFrame
    incompatible: pd.DataFrame | None
    source: str


XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_FILE_BYTES = 2 * 2**30
"""A CSV file larger than this (2 GB) is refused before it is read."""


def read_file_bytes(path: Path, *, file: str | None = None) -> bytes:
    """The bytes of one input file, or an :class:`InputError` saying why it cannot be read."""
    file = file or path.name
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError([Problem(file, None, None, f"missing from {path.parent}")]) from None
    except OSError as exc:
        raise InputError([Problem(file, None, None, f"cannot be read: {exc.strerror}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError([Problem(file, None, None, "is a folder, not a file")])
    if not stat.S_ISREG(info.st_mode):
        raise InputError([Problem(file, None, None, "is not a regular file")])
    if info.st_size > MAX_FILE_BYTES:
        raise InputError([Problem(file, None, None, "is larger than 2 GB: not a data file")])
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(file, None, None, f"cannot be read: {exc.strerror}")]) from None


def decode_text(data: bytes, *, file: str) -> str:
    """Decode a CSV file's bytes: UTF-8 (with or without a byte-order mark), UTF-16 with a
    byte-order mark, or Windows-1252 (what Excel saves as "CSV"); anything else is named.

    Raises
    ------
    InputError
        An Excel workbook, UTF-16 without a byte-order mark, NUL bytes or undecodable bytes.
    """

    def fail(message: str, row: int | None = None) -> InputError:
        return InputError([Problem(file, row, None, message)])

    if data.startswith(XLSX_MAGIC):
        raise fail(
            "is an Excel workbook (.xlsx) saved under a .csv name, not CSV text: in Excel use "
            "File > Save As > CSV UTF-8"
        )
    if data.startswith(XLS_MAGIC):
        raise fail(
            "is an Excel 97-2003 workbook (.xls) saved under a .csv name, not CSV text: in "
            "Excel use File > Save As > CSV UTF-8"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise fail("starts as UTF-16 text but is not valid UTF-16") from None
    else:
        if b"\x00" in data:
            head = data[:400]
            if head.count(b"\x00") * 3 >= len(head):
                raise fail("looks like UTF-16 text without a byte-order mark: save it as CSV UTF-8")
            row = data[: data.index(b"\x00")].count(b"\n") + 1
            raise fail("holds a NUL byte: not CSV text (a damaged file, or another format?)", row)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise fail("is neither UTF-8 nor Windows-1252 text: save it as CSV UTF-8") from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        raise fail("holds a NUL character: not CSV text", row)
    return text


def csv_records(text: str, *, file: str) -> list[tuple[int, list[str]]]:
    """Split CSV text into ``(row number, cells)`` records, the header first (row 1).

    A ``;``-separated file (Excel in some locales) is read as such. Blank rows are kept (as
    empty lists) so that every row keeps the number a spreadsheet shows.

    Raises
    ------
    InputError
        A quote left open (named with the row where it opens), or text the csv module
        cannot parse.
    """
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    row = 0
    while True:
        row += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                message = 'a quote (") opened on this row is never closed'
            else:
                message = f'not readable as CSV ({exc}): is a quote (") misplaced?'
            problems.append(Problem(file, row, None, message))
            break
        if any("\n" in c or "\r" in c for c in cells):
            problems.append(
                Problem(
                    file,
                    row,
                    None,
                    'a cell runs over several lines: is a quote (") left open on this row?',
                )
            )
        records.append((row, cells))
    if problems:
        raise InputError(problems)
    return records


def parse_csv_text(text: str, *, file: str) -> pd.DataFrame:
    """Parse CSV text into a DataFrame of stripped strings with normalised headers.

    The data rows' spreadsheet row numbers are in ``frame.attrs["rows"]``.

    Raises
    ------
    InputError
        When the text is empty, has no header, or cannot be parsed as CSV.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError([Problem(file, None, None, "the file is empty (no header row)")])
    records = csv_records(text, file=file)
    while records and not any(c.strip() for c in records[0][1]):
        records.pop(0)  # blank rows above the header
    if not records:
        raise InputError([Problem(file, None, None, "the file is empty (no header row)")])
    header_row, header_cells = records[0]
    header = [h.strip().lower().replace(" ", "_") for h in header_cells]
    problems = []
    width = len(header)
    cells_out = []
    rows = []
    for line_no, r in records[1:]:
        if not any(cell.strip() for cell in r):
            continue
        if len(r) > width and any(c.strip() for c in r[width:]):
            problems.append(
                Problem(file, line_no, None, f"has {len(r)} cells but the header has {width}")
            )
        cells = [c.strip() for c in r[:width]] + [""] * max(0, width - len(r))
        cells_out.append(cells)
        rows.append(line_no)
    if problems:
        raise InputError(problems)
    if any(header.count(h) > 1 for h in header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(
            [Problem(file, header_row, c, "the column appears more than once") for c in dup]
        )
    frame = pd.DataFrame(cells_out, columns=header, dtype=object)
    frame.attrs["rows"] = RowNumbers(rows)
    return frame


class RowNumbers(tuple):
    """The spreadsheet row numbers of a frame's data rows (``frame.attrs["rows"]``).

    Immutable, so a deep copy is the object itself: pandas deep-copies ``attrs`` on every
    column taken from a frame, which for a list of 42,000 row numbers cost seconds a read.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> RowNumbers:
        return self


def read_csv_file(path: Path, *, role: str = "file") -> pd.DataFrame:
    """Read one CSV file (UTF-8, UTF-16 with a BOM, or Windows-1252 as Excel saves) as text.

    The bytes read are recorded for the command's manifest.json as an input of ``role``
    (``data`` for the data folder's files).
    """
    raw = read_file_bytes(path)
    record_input(path, raw, role=role)
    return parse_csv_text(decode_text(raw, file=path.name), file=path.name)


def load_tables(folder: str | Path) -> RawTables:
    """Read the data folder's files as text tables.

    Parameters
    ----------
    folder
        A folder holding schools.csv, pupils.csv, vehicles.csv and optionally
        incompatible.csv, as the data contract describes.

    Raises
    ------
    InputError
        Listing every file that is missing, empty or unreadable.
    """
    root = Path(folder)
    if not root.is_dir():
        what = ": it does not exist" if not os.path.lexists(root) else ""
        raise InputError([Problem(str(root), None, None, f"is not a folder{what}")])
    if not os.access(root, os.R_OK | os.X_OK):
        raise InputError(
            [Problem(str(root), None, None, "data folder cannot be read: permission denied")]
        )
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame | None] = {}
    for name in FILES + OPTIONAL_FILES:
        path = root / name
        if not os.path.lexists(path):
            if name in FILES:
                problems.append(Problem(name, None, None, f"missing from {root}"))
            tables[name] = None
            continue
        try:
            tables[name] = read_csv_file(path, role="data")
        except InputError as exc:
            problems.extend(exc.problems)
            tables[name] = None
    if problems:
        raise InputError(problems)
    schools, pupils, vehicles = (tables[n] for n in FILES)
    assert schools is not None and pupils is not None and vehicles is not None
    return RawTables(
        schools=schools,
        pupils=pupils,
        vehicles=vehicles,
        incompatible=tables["incompatible.csv"],
        source=str(root),
    )
