"""Bad input, from a planner's spreadsheet: exit status 2, one readable message, no traceback.

The corpus below holds one broken data folder per case, each made from the tiny fixture by a
small edit; a hypothesis test then breaks the files at random and checks that validation never
raises anything but our own :class:`InputError`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.errors import InputError

TINY = Path(__file__).parent / "data" / "tiny"


def replace(name: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"corpus edit does not apply: {old!r}"
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    return edit


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return edit


def drop_last_column(name: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")

    return edit


def delete(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


# (case, edit, file named in the message, text expected in the message)
CORPUS: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("missing pupils file", delete("pupils.csv"), "pupils.csv", "missing"),
    ("missing schools file", delete("schools.csv"), "schools.csv", "missing"),
    ("missing vehicles file", delete("vehicles.csv"), "vehicles.csv", "missing"),
    ("empty pupils file", write("pupils.csv", ""), "pupils.csv", "empty"),
    ("header only pupils", write("pupils.csv", "pupil_id,lat,lon\n"), "pupils.csv", "required"),
    ("misspelt column", replace("pupils.csv", "needs_pa", "need_pa"), "pupils.csv", "did you mean"),
    ("missing column", drop_last_column("schools.csv"), "schools.csv", "arrive_by"),
    ("duplicate pupil id", replace("pupils.csv", "P02,", "P01,"), "pupils.csv", "duplicate id"),
    ("duplicate school id", replace("schools.csv", "S2,", "S1,"), "schools.csv", "duplicate id"),
    ("blank pupil id", replace("pupils.csv", "P03,", ","), "pupils.csv", "blank"),
    ("age as words", replace("pupils.csv", ",7,ASD", ",seven,ASD"), "pupils.csv", "whole number"),
    ("impossible age", replace("pupils.csv", ",7,ASD", ",47,ASD"), "pupils.csv", "impossible"),
    ("negative age", replace("pupils.csv", ",7,ASD", ",-1,ASD"), "pupils.csv", "impossible"),
    ("unknown need", replace("pupils.csv", ",SEMH,S3", ",BESD,S3"), "pupils.csv", "unknown need"),
    ("unknown school", replace("pupils.csv", ",SLD,S2", ",SLD,S9"), "pupils.csv", "unknown school"),
    (
        "swapped coordinates",
        replace("pupils.csv", "51.1500,0.8800", "0.8800,51.1500"),
        "pupils.csv",
        "swapped",
    ),
    ("NaN coordinate", replace("pupils.csv", "51.1500,0.8800", "NaN,0.8800"), "pupils.csv", "lat"),
    (
        "blank coordinate",
        replace("pupils.csv", "51.1500,0.8800", ",0.8800"),
        "pupils.csv",
        "missing",
    ),
    (
        "outside Britain",
        replace("pupils.csv", "51.1500,0.8800", "40.7,-74.0"),
        "pupils.csv",
        "outside",
    ),
    (
        "far outside county",
        replace("pupils.csv", "51.1500,0.8800", "55.95,-3.19"),
        "pupils.csv",
        "far outside",
    ),
    ("flag not 0/1", replace("pupils.csv", "S1,0,0,0,", "S1,2,0,0,"), "pupils.csv", "0 or 1"),
    (
        "ride limit words",
        replace("pupils.csv", ",60\n", ",an hour\n"),
        "pupils.csv",
        "whole number",
    ),
    ("ride limit zero", replace("pupils.csv", ",60\n", ",0\n"), "pupils.csv", "ride limit"),
    (
        "negative capacity",
        replace("schools.csv", ",3,20000", ",-3,20000"),
        "schools.csv",
        "negative",
    ),
    (
        "capacity as text",
        replace("schools.csv", ",3,20000", ",three,20000"),
        "schools.csv",
        "whole number",
    ),
    (
        "unparseable time",
        replace("schools.csv", "09:15", "quarter past nine"),
        "schools.csv",
        "HH:MM",
    ),
    ("time out of range", replace("schools.csv", "09:15", "29:15"), "schools.csv", "HH:MM"),
    ("unknown kind", replace("schools.csv", ",independent,", ",academy,"), "schools.csv", "kind"),
    (
        "age range reversed",
        replace("schools.csv", ",11,16,", ",16,11,"),
        "schools.csv",
        "below age_min",
    ),
    (
        "unknown need served",
        replace("schools.csv", "ASD;SLCN", "ASD;DYS"),
        "schools.csv",
        "unknown need",
    ),
    ("blank needs", replace("schools.csv", ",SEMH,", ",,"), "schools.csv", "blank"),
    (
        "vehicle with no seats",
        replace("vehicles.csv", "taxi,4,", "taxi,0,"),
        "vehicles.csv",
        "cannot carry",
    ),
    ("negative day rate", replace("vehicles.csv", "38.00", "-38.00"), "vehicles.csv", "negative"),
    (
        "no vehicle rows",
        write("vehicles.csv", "vehicle_type,seats,wheelchair_spaces,day_rate,per_mile,available\n"),
        "vehicles.csv",
        "no vehicle",
    ),
    (
        "incompatible unknown",
        write("incompatible.csv", "pupil_a,pupil_b\nP01,P77\n"),
        "incompatible.csv",
        "unknown pupil",
    ),
    (
        "incompatible with self",
        write("incompatible.csv", "pupil_a,pupil_b\nP01,P01\n"),
        "incompatible.csv",
        "themselves",
    ),
    (
        "too many cells",
        replace("pupils.csv", "P10,51.1450", "P10,extra,51.1450"),
        "pupils.csv",
        "cells",
    ),
    (
        "no location columns",
        replace("schools.csv", ",lat,lon,", ",x,y,"),
        "schools.csv",
        "location",
    ),
    ("binary garbage", write("pupils.csv", b"\x00\x01\x02\xff\xfe"), "pupils.csv", ""),
]


@pytest.mark.parametrize("case,edit,file,text", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_exits_2_naming_file_and_problem(tmp_path, case, edit, file, text):
    folder = tmp_path / "data"
    shutil.copytree(TINY, folder)
    edit(folder)
    result = CliRunner().invoke(
        cli, ["place", "--data", str(folder), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ")
    assert file in result.output and text in result.output
    assert not (tmp_path / "run").exists()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


def test_excel_quirks_are_accepted(tmp_path):
    """A BOM, CRLF, padded cells, upper-case headers and yes/no flags are not problems."""
    folder = tmp_path / "data"
    shutil.copytree(TINY, folder)
    text = (folder / "pupils.csv").read_text()
    text = text.replace("pupil_id,", "Pupil_ID ,").replace("P01,", " P01 ,").replace("\n", "\r\n")
    (folder / "pupils.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    data = read_dataset(folder)
    assert data.pupils[0].pupil_id == "P01"


MUTATIONS = st.sampled_from(
    ["drop_cell", "garble_cell", "drop_line", "truncate", "dup_line", "swap_cells"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["schools.csv", "pupils.csv", "vehicles.csv", "incompatible.csv"]),
    st.lists(
        st.tuples(MUTATIONS, st.integers(0, 10_000), st.text(max_size=8)), min_size=1, max_size=4
    ),
)
def test_random_breakage_never_raises_anything_but_input_error(tmp_path_factory, name, mutations):
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(TINY, folder, dirs_exist_ok=True)
    lines = (folder / name).read_text().splitlines()
    for kind, k, junk in mutations:
        if not lines:
            break
        i = k % len(lines)
        cells = lines[i].split(",")
        j = k % len(cells)
        if kind == "drop_cell":
            del cells[j]
        elif kind == "garble_cell":
            cells[j] = junk
        elif kind == "swap_cells":
            cells[j], cells[-1] = cells[-1], cells[j]
        elif kind == "drop_line":
            lines.pop(i)
            continue
        elif kind == "dup_line":
            lines.insert(i, lines[i])
            continue
        elif kind == "truncate":
            lines[i] = lines[i][: k % (len(lines[i]) + 1)]
            continue
        lines[i] = ",".join(cells)
    (folder / name).write_text("\n".join(lines) + "\n")
    try:
        read_dataset(folder)
    except InputError as exc:
        assert exc.problems and all(p.file for p in exc.problems)
