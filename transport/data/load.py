"""Load: read a data folder's CSV files as text tables, tolerant of spreadsheet quirks.

Nothing is interpreted here: every cell stays a string (stripped of stray whitespace) so that
:mod:`transport.data.validate` can report every problem with its file, row and column.
Excel's quirks are absorbed: a UTF-8 byte-order mark, ``\\r\\n`` line ends, padded headers,
header case, and blank trailing rows.
"""

from __future__ import annotations

import csv
import io
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


def parse_csv_text(text: str, *, file: str) -> pd.DataFrame:
    """Parse CSV text into a DataFrame of stripped strings with normalised headers.

    Raises
    ------
    InputError
        When the text is empty, has no header, or cannot be parsed as CSV.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError([Problem(file, None, None, "the file is empty (no header row)")])
    try:
        sample = text[:4096]
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel
        if ";" in sample.splitlines()[0] and "," not in sample.splitlines()[0]:
            dialect = csv.Sniffer().sniff(sample, delimiters=";")
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise InputError([Problem(file, None, None, f"not readable as CSV: {exc}")]) from exc
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    problems = []
    width = len(header)
    records = []
    for line_no, r in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in r):
            continue
        if len(r) > width and any(c.strip() for c in r[width:]):
            problems.append(
                Problem(file, line_no, None, f"has {len(r)} cells but the header has {width}")
            )
        cells = [c.strip() for c in r[:width]] + [""] * max(0, width - len(r))
        records.append(cells)
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    if any(header.count(h) > 1 for h in header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError([Problem(file, 1, c, "the column appears more than once") for c in dup])
    return frame


def read_csv_file(path: Path, *, role: str = "file") -> pd.DataFrame:
    """Read one CSV file (UTF-8, or Windows-1252 as Excel sometimes saves) as text.

    The bytes read are recorded for the command's manifest.json as an input of ``role``
    (``data`` for the data folder's files).
    """
    data = path.read_bytes()
    record_input(path, data, role=role)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return parse_csv_text(text, file=path.name)


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
        raise InputError([Problem(str(root), None, None, "is not a folder")])
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame | None] = {}
    for name in FILES + OPTIONAL_FILES:
        path = root / name
        if not path.exists():
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
