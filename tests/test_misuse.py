"""The misuse corpus: every command, used as a hostile new user would, is answered clearly.

Each case breaks one thing in a fresh *world* (tests/_misuse.py: a data folder, two solved
runs, scenario files, a working and a home folder) and runs one command through the CLI. It
must exit with status 2 and one message naming the problem, show no traceback and no pupil id
or home coordinate, and leave the whole world byte-identical: the inputs untouched, nothing
written or half-written, no temporary folder, lock or parent folder left behind.

Classes of case (the first word of each id):

* ``dest`` — output destinations of every command (rule 1 of issue #11): the data folder, an
  input run folder, the working folder, a home folder, ``/``, a folder holding or inside an
  input, a folder or file the engine did not write, a folder of another kind, links;
* ``num`` — non-finite and absurd numbers from CSV files, scenario files and options (rule 4);
* ``run`` — corrupt run folders read by sheets, diff and budgets (rule 5);
* ``fmt`` — encodings and file formats (rule 6);
* ``msg`` — messages that must name rows, never pupil ids or coordinates (rule 7).

Concurrency, signals, permissions as a non-root user and a full disk need real processes or
a mounted file system: they are in tests/test_misuse_processes.py; the hypothesis fuzz of run
folders is in tests/test_misuse_fuzz.py.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tests._misuse import (
    FAST,
    TINY,
    World,
    assert_refused,
    changed,
    invoke,
    leftovers,
    make_world,
    snapshot,
    solve_tiny,
)
from transport.routing import RoutingOptions
from transport.runs.destination import MARKER
from transport.runs.write import write_folder


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solved") / "run"
    return solve_tiny(folder)


@pytest.fixture
def world(tmp_path, solved, monkeypatch) -> World:
    w = make_world(tmp_path, solved)
    monkeypatch.chdir(w.work)
    monkeypatch.setenv("HOME", str(w.home))
    return w


Setup = Callable[[World], None]
Args = Callable[[World], list]


@dataclass(frozen=True)
class Case:
    id: str
    args: Args
    messages: tuple[str, ...]
    setup: Setup | None = None
    status: int = 2
    tags: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# Edits of a world


def edit(where: Callable[[World], Path], old: str, new: str) -> Setup:
    def apply(w: World) -> None:
        path = where(w)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"corpus edit does not apply: {old!r}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def put(where: Callable[[World], Path], content: str | bytes) -> Setup:
    def apply(w: World) -> None:
        path = where(w)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return apply


def both(*setups: Setup) -> Setup:
    def apply(w: World) -> None:
        for s in setups:
            s(w)

    return apply


def pupils(w: World) -> Path:
    return w.data / "pupils.csv"


def schools(w: World) -> Path:
    return w.data / "schools.csv"


def vehicles(w: World) -> Path:
    return w.data / "vehicles.csv"


def scenario(w: World) -> Path:
    return w.scenarios / "baseline.toml"


def run_file(name: str, run: str = "run") -> Callable[[World], Path]:
    return lambda w: getattr(w, run) / name


def symlink(name: str, target: Callable[[World], Path]) -> Setup:
    return lambda w: os.symlink(target(w), w.root / name)


def sheets_folder(w: World) -> None:
    folder = w.root / "sheets"
    folder.mkdir()
    (folder / "route-sheets.csv").write_text("route_id\n")
    (folder / MARKER).write_text(json.dumps({"kind": "sheets", "files": ["route-sheets.csv"]}))


def utf16_without_bom(w: World) -> None:
    text = pupils(w).read_text(encoding="utf-8")
    pupils(w).write_bytes(text.encode("utf-16-le"))


def as_directory(w: World) -> None:
    pupils(w).unlink()
    pupils(w).mkdir()
    (pupils(w) / "x.csv").write_text("x\n")


def latin1_scenario(w: World) -> None:
    scenario(w).write_bytes('name = "baseline"\ndescription = "Caf\xe9"\n'.encode("latin-1"))


def deep_toml(w: World) -> None:
    scenario(w).write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")


def deep_json(w: World) -> None:
    (w.run / "summary.json").write_text("[" * 100_000 + "]" * 100_000)


def pupil_on_two_routes(w: World) -> None:
    path = w.run / "routes.csv"
    lines = path.read_text().splitlines()
    first = lines[1].split(",")
    second = lines[2].split(",")
    second[4] = second[4] + ";" + first[4].split(";")[0]
    lines[2] = ",".join(second)
    path.write_text("\n".join(lines) + "\n")


def short_stop_row(w: World) -> None:
    path = w.run / "stops.csv"
    lines = path.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:3])
    path.write_text("\n".join(lines) + "\n")


def nul_in_placements(w: World) -> None:
    path = w.run_b / "placements.csv"
    data = path.read_bytes()
    path.write_bytes(data[:60] + b"\x00" + data[60:])


def bad_pickup_time(w: World) -> None:
    path = w.run_b / "stops.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[3] = "25:99"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def stop_on_unknown_route(w: World) -> None:
    path = w.run / "stops.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[0] = "R9999"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def infinite_route_cost(w: World) -> None:
    path = w.run / "routes.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[-1] = "inf"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def summary_edit(change: Callable[[dict], object]) -> Setup:
    def apply(w: World) -> None:
        path = w.run / "summary.json"
        doc = json.loads(path.read_text())
        path.write_text(json.dumps(change(doc)))
        (w.run / "manifest.json").unlink()  # a run from before manifests: the checks still hold

    return apply


def summary_circuity(doc: dict) -> dict:
    doc["parameters"]["travel"]["circuity"] = 99
    return doc


def rename_data_pupil(w: World) -> None:
    path = pupils(w)
    path.write_text(path.read_text().replace("P01,", "Q01,", 1))


def xlsx(w: World) -> None:
    pupils(w).write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200)


def xls(w: World) -> None:
    vehicles(w).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200)


def nul_in_schools(w: World) -> None:
    data = schools(w).read_bytes()
    schools(w).write_bytes(data[:150] + b"\x00" + data[150:])


D = lambda w: w.data  # noqa: E731
R = lambda w: w.run  # noqa: E731
B = lambda w: w.run_b  # noqa: E731


def place(*extra: str) -> Args:
    return lambda w: ["place", "--data", w.data, "--out", w.out, *extra]


def solve_with(*extra: str) -> Args:
    return lambda w: ["solve", "--data", w.data, "--out", w.out, "--quiet", *FAST, *extra]


def budgets_with(*extra: str) -> Args:
    return lambda w: ["budgets", "--data", w.data, "--run", w.run, "--out", w.out, "--draws",
                      "20", *extra]  # fmt: skip


def sheets_of(run: Callable[[World], Path] = R) -> Args:
    return lambda w: ["sheets", run(w), "--data", w.data, "--out", w.out]


def diff_of(*extra: str) -> Args:
    return lambda w: ["diff", w.run, w.run_b, *extra]


def compare_with(*extra: str) -> Args:
    return lambda w: ["compare", w.scenario, "--data", w.data, "--out", w.out, "--no-report",
                      "--quiet", *FAST, *extra]  # fmt: skip


# --------------------------------------------------------------------------------------------
# The corpus

CORPUS: list[Case] = [
    # ---- destinations (rule 1)
    Case("dest-place-into-data", lambda w: ["place", "--data", w.data, "--out", w.data],
         ("is the data folder",)),
    Case("dest-place-into-working-folder", lambda w: ["place", "--data", w.data, "--out", "."],
         ("is the working folder",)),
    Case("dest-place-over-folder-holding-data",
         lambda w: ["place", "--data", w.data, "--out", w.root / "inputs"],
         ("holds the data folder",)),
    Case("dest-place-inside-data", lambda w: ["place", "--data", w.data, "--out", w.data / "run"],
         ("inside the data folder",)),
    Case("dest-place-over-foreign-folder",
         lambda w: ["place", "--data", w.data, "--out", w.root / "mine"],
         ("did not write", "notes.txt"), put(lambda w: w.root / "mine" / "notes.txt", "mine\n")),
    Case("dest-place-over-file", lambda w: ["place", "--data", w.data, "--out", w.root / "f.txt"],
         ("is a file",), put(lambda w: w.root / "f.txt", "keep me\n")),
    Case("dest-place-into-broken-link",
         lambda w: ["place", "--data", w.data, "--out", w.root / "link"],
         ("broken symbolic link",), symlink("link", lambda w: w.root / "nowhere")),
    Case("dest-solve-through-link-to-run",
         lambda w: ["solve", "--data", w.data, "--out", w.root / "link", "--quiet", *FAST],
         ("symbolic link",), symlink("link", R)),
    Case("dest-place-into-root", lambda w: ["place", "--data", w.data, "--out", "/"],
         ("root folder",)),
    Case("dest-place-into-home", lambda w: ["place", "--data", w.data, "--out", w.home],
         ("home folder",)),
    Case("dest-place-under-a-file",
         lambda w: ["place", "--data", w.data, "--out", w.root / "f.txt" / "run"],
         ("is a file, not a folder",), put(lambda w: w.root / "f.txt", "keep me\n")),
    Case("dest-solve-over-sheets-folder",
         lambda w: ["solve", "--data", w.data, "--out", w.root / "sheets", "--quiet", *FAST],
         ("route-sheets folder", "not a run folder"), sheets_folder),
    Case("dest-sheets-over-its-run", lambda w: ["sheets", w.run, "--data", w.data, "--out", w.run],
         ("is the run folder read",)),
    Case("dest-sheets-inside-its-run",
         lambda w: ["sheets", w.run, "--data", w.data, "--out", w.run / "sheets"],
         ("inside the run folder read",)),
    Case("dest-budgets-over-its-run",
         lambda w: ["budgets", "--data", w.data, "--run", w.run, "--out", w.run],
         ("is the run folder read",)),
    Case("dest-budgets-into-data",
         lambda w: ["budgets", "--data", w.data, "--run", w.run, "--out", w.data],
         ("is the data folder",)),
    Case("dest-diff-into-a-run-file",
         lambda w: ["diff", w.run, w.run_b, "--out", w.run_b / "placements.csv"],
         ("inside the run folder read",)),
    Case("dest-diff-over-foreign-file",
         lambda w: ["diff", w.run, w.run_b, "--out", w.root / "notes.csv"],
         ("not a file this command wrote",), put(lambda w: w.root / "notes.csv", "a,b\n1,2\n")),
    Case("dest-compare-into-data",
         lambda w: ["compare", w.scenario, "--data", w.data, "--out", w.data, "--quiet"],
         ("is the data folder",)),
    Case("dest-compare-over-its-scenarios",
         lambda w: ["compare", w.scenario, "--data", w.data, "--out", w.scenarios, "--quiet"],
         ("holds a scenario file",)),
    Case("dest-compare-cache-inside-data",
         lambda w: [*compare_with()(w), "--cache-dir", w.data / "cache"],
         ("cache folder", "inside the data folder")),
    Case("dest-data-kent-over-a-run",
         lambda w: ["data", "kent", "--pupils", "10", "--out", w.run],
         ("is a run folder written by sen-transport", "not a data folder")),
    Case("dest-data-kent-over-foreign-folder",
         lambda w: ["data", "kent", "--pupils", "10", "--out", w.root / "mine"],
         ("did not write",), put(lambda w: w.root / "mine" / "pupils.csv", "real,pupils\n")),
    Case("dest-graph-over-its-osm-file",
         lambda w: ["graph", "build", "--osm-file", w.root / "map.osm", "--out",
                    w.root / "map.osm"],
         ("is the osm file read",), put(lambda w: w.root / "map.osm", "<osm/>\n")),
    Case("dest-graph-over-foreign-file",
         lambda w: ["graph", "build", "--osm-file", w.root / "map.osm", "--out", w.root / "n.txt"],
         ("not a file this command wrote",),
         both(put(lambda w: w.root / "map.osm", "<osm/>\n"), put(lambda w: w.root / "n.txt", "x"))),
    Case("dest-runs-dir-latest-is-folder",
         lambda w: ["solve", "--data", w.data, "--runs-dir", w.root / "nightly", "--quiet", *FAST],
         ("is a folder, not a link",), put(lambda w: w.root / "nightly" / "latest" / "x", "x")),
    Case("dest-runs-dir-latest-is-file",
         lambda w: ["solve", "--data", w.data, "--runs-dir", w.root / "nightly", "--quiet", *FAST],
         ("is a file, not a link",), put(lambda w: w.root / "nightly" / "latest", "keep me\n")),
    Case("dest-tender-over-its-run",
         lambda w: ["tender", w.run, "--data", w.data, "--out", w.run, "--no-pdf"],
         ("is the run folder read",)),
    Case("dest-award-inside-its-tender",
         lambda w: ["award", w.run, "--bids", w.run / "placements.csv", "--out", w.run / "award"],
         ("inside the tender folder read",)),
    Case("dest-impact-into-data",
         lambda w: ["impact", w.run, w.run_b, "--data", w.data, "--out", w.data],
         ("is the data folder",)),
    Case("dest-site-into-data",
         lambda w: ["site", "--data", w.data, "--candidates", w.data / "schools.csv", "--out",
                    w.data],
         ("is the data folder",)),
    Case("dest-site-over-the-folder-of-its-candidates",
         lambda w: ["site", "--data", w.data, "--candidates", w.root / "c" / "candidates.csv",
                    "--out", w.root / "c"],
         ("holds the candidates file",), put(lambda w: w.root / "c" / "candidates.csv", "x\n")),
    Case("num-option-impact-minutes-nan",
         lambda w: ["impact", w.run, w.run_b, "--data", w.data, "--out", w.out, "--minutes", "nan"],
         ("minutes",)),
    Case("dest-runs-dir-is-data",
         lambda w: ["solve", "--data", w.data, "--runs-dir", w.data, "--quiet", *FAST],
         ("is the data folder",)),
    # ---- numbers (rule 4)
    Case("num-day-rate-1e300", place(), ("vehicles.csv", "day_rate", "more than the possible"),
         edit(vehicles, "38.00", "1e300")),
    Case("num-per-mile-inf", solve_with(), ("vehicles.csv", "per_mile", "is not a number"),
         edit(vehicles, "0.95", "inf")),
    Case("num-place-cost-nan", place(), ("schools.csv", "place_cost", "is not a number"),
         edit(schools, ",3,20000,", ",3,nan,")),
    Case("num-capacity-1e12", place(), ("schools.csv", "capacity", "outside the possible"),
         edit(schools, ",3,20000,", ",1e12,20000,")),
    Case("num-arrive-by-00-05", solve_with(), ("schools.csv", "arrive_by", "midnight"),
         edit(schools, "09:00", "00:05")),
    Case("num-ride-limit-1e9", place(), ("pupils.csv", "max_ride_min", "not a possible ride"),
         edit(pupils, ",60\n", ",1e9\n")),
    Case("num-scenario-pa-day-rate-nan", solve_with("--scenario", Path("s.toml")),
         ("pa_day_rate",), put(lambda w: w.work / "s.toml", "[cost]\npa_day_rate = nan\n")),
    Case("num-scenario-band-amount-inf", budgets_with("--scenario", Path("s.toml")),
         ("budgets.bands",),
         put(lambda w: w.work / "s.toml", '[budgets]\nrule = "bands"\nbands = [[5, inf]]\n')),
    Case("num-scenario-draws-1e9", budgets_with("--scenario", Path("s.toml")),
         ("budgets.draws",), put(lambda w: w.work / "s.toml", "[budgets]\ndraws = 1000000000\n")),
    Case("num-scenario-time-limit-inf", solve_with("--scenario", Path("s.toml")),
         ("time_limit_s",), put(lambda w: w.work / "s.toml", "[routing]\ntime_limit_s = inf\n")),
    Case("num-option-time-limit-nan",
         lambda w: ["solve", "--data", w.data, "--out", w.out, "--quiet", "--time-limit", "nan"],
         ("--time-limit must be between 0 and 86400",)),
    Case("num-option-diff-minutes-nan", diff_of("--minutes", "nan"), ("minutes",)),
    Case("num-option-circuity-inf", place("--circuity", "inf"), ("--circuity",)),
    Case("num-option-seed-huge", solve_with("--seed", str(2**70)), ("--seed",)),
    Case("num-scenario-target-negative", compare_with(), ("annual_saving",),
         put(scenario, 'name = "baseline"\n[target]\nannual_saving = -1.0\n')),
    Case("num-scenario-transport-factor-inf", compare_with(), ("transport_factor",),
         put(scenario, 'name = "baseline"\n[prices]\ntransport_factor = inf\n')),
    Case("num-scenario-nested-too-deeply", compare_with(), ("nested too deeply",), deep_toml),
    Case("num-option-compare-circuity-nan", compare_with("--circuity", "nan"), ("--circuity",)),
    # ---- corrupt run folders (rule 5)
    Case("run-sheets-short-stop-row", sheets_of(), ("stops.csv", "row 3", "short row"),
         short_stop_row),
    Case("run-diff-nul-byte", diff_of(), ("placements.csv", "NUL"), nul_in_placements),
    Case("run-budgets-summary-a-list", budgets_with(), ("summary.json", "not a JSON object"),
         put(run_file("summary.json"), "[1, 2, 3]\n")),
    Case("run-budgets-summary-nan", budgets_with(), ("summary.json", "NaN"),
         put(run_file("summary.json"), '{"pupils": NaN}\n')),
    Case("run-sheets-pupil-on-two-routes", sheets_of(), ("routes.csv", "also on the route of row"),
         pupil_on_two_routes),
    Case("run-diff-pickup-25-99", diff_of(), ("stops.csv", "row 2", "not a time of day"),
         bad_pickup_time),
    Case("run-sheets-made-from-other-data", sheets_of(),
         ("placements.csv", "a pupil the data lacks", "another data folder"), rename_data_pupil),
    Case("run-budgets-run-is-a-file",
         lambda w: ["budgets", "--data", w.data, "--run", w.root / "f.txt", "--out", w.out],
         ("is a file",), put(lambda w: w.root / "f.txt", "x\n")),
    Case("run-sheets-missing-placements", sheets_of(), ("placements.csv", "missing"),
         lambda w: (w.run / "placements.csv").unlink()),
    Case("run-budgets-summary-nested-deeply", budgets_with(), ("nested too deeply",), deep_json),
    Case("run-diff-empty-routes", diff_of(), ("routes.csv", "empty"),
         put(run_file("routes.csv"), "")),
    Case("run-budgets-infinite-route-cost", budgets_with(), ("routes.csv", "annual_cost"),
         infinite_route_cost),
    Case("run-sheets-stop-on-unknown-route", sheets_of(), ("stops.csv", "a route routes.csv lacks"),
         stop_on_unknown_route),
    Case("run-budgets-impossible-parameters", budgets_with(),
         ("summary.json", "parameters", "circuity"), summary_edit(summary_circuity)),
    Case("run-budgets-placement-only-run", budgets_with(), ("has no routes.csv",),
         lambda w: [(w.run / n).unlink() for n in ("routes.csv", "stops.csv")]),
    # ---- formats (rule 6)
    Case("fmt-utf16-without-bom", place(), ("pupils.csv", "UTF-16"), utf16_without_bom),
    Case("fmt-xlsx-saved-as-csv", place(), ("pupils.csv", "Excel workbook"), xlsx),
    Case("fmt-xls-saved-as-csv", place(), ("vehicles.csv", "Excel 97-2003"), xls),
    Case("fmt-unclosed-quote", place(), ("pupils.csv", "row 4", "never closed"),
         edit(pupils, "P03,51.1300", 'P03,"51.1300')),
    Case("fmt-csv-is-a-folder", place(), ("pupils.csv", "is a folder"), as_directory),
    Case("fmt-id-with-separator", place(), ("pupils.csv", "row 3", "holds ';'"),
         edit(pupils, "P02,", "P02;X,")),
    Case("fmt-nul-byte", place(), ("schools.csv", "NUL"), nul_in_schools),
    Case("fmt-scenario-latin-1", solve_with("--scenario", Path("../scenarios/baseline.toml")),
         ("not UTF-8",), latin1_scenario),
    Case("fmt-id-formula", place(), ("pupils.csv", "formula"), edit(pupils, "P05,", "=P05,")),
    Case("fmt-attendance-is-a-folder", budgets_with(), ("attendance.csv", "is a folder"),
         put(lambda w: w.data / "attendance.csv" / "x", "x")),
    # ---- messages (rule 7): rows, never ids or coordinates
    Case("msg-duplicate-pupil-id", place(),
         ("pupils.csv", "row 3", "duplicate id (first on row 2)"),
         edit(pupils, "P02,", "P01,")),
    Case("msg-outside-great-britain", place(), ("pupils.csv", "row 2", "outside great britain"),
         edit(pupils, "51.1500,0.8800", "40.7000,-74.0000")),
    Case("msg-swapped-coordinates", place(), ("pupils.csv", "row 2", "look swapped"),
         edit(pupils, "51.1500,0.8800", "0.8800,51.1500")),
    Case("msg-incompatible-unknown-pupil", place(), ("incompatible.csv", "unknown pupil_id"),
         put(lambda w: w.data / "incompatible.csv", "pupil_a,pupil_b\nP01,P77\n")),
    Case("msg-attendance-unknown-pupil", budgets_with(),
         ("attendance.csv", "row 3", "a pupil not in pupils.csv"),
         put(lambda w: w.data / "attendance.csv", "pupil_id,fraction\nP01,0.5\nP77,0.5\n")),
]  # fmt: skip


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_misuse_is_refused_and_nothing_changes(world, case):
    if case.setup is not None:
        case.setup(world)
    before = snapshot(world.root)
    result = invoke(case.args(world))
    assert_refused(result, case.status, *case.messages)
    assert changed(before, snapshot(world.root)) == []  # inputs byte-identical, nothing written
    assert not world.out.exists()


def command_of(case: Case) -> str:
    fake = World(*(Path(f"/w/{n}") for n in ("r", "d", "a", "b", "s", "w", "h", "o")))
    args = [str(a) for a in case.args(fake)]
    return " ".join(args[:2]) if args[0] in ("data", "graph") else args[0]


def test_corpus_covers_every_command_and_class():
    assert len(CORPUS) >= 40
    assert {c.id.split("-")[0] for c in CORPUS} == {"dest", "num", "run", "fmt", "msg"}
    commands = {command_of(c) for c in CORPUS}
    assert commands == {"place", "solve", "sheets", "diff", "budgets", "compare", "data kent",
                        "graph build", "tender", "award", "impact", "site"}  # fmt: skip
    for command in commands:  # every command is refused its own input as its destination
        assert any(c.id.startswith("dest") and command_of(c) == command for c in CORPUS), command


# --------------------------------------------------------------------------------------------
# What is read and written when nothing is wrong


def test_utf16_with_bom_and_windows_1252_are_read(world):
    """Excel's "Unicode Text" (UTF-16 with a BOM) and Windows-1252 "CSV" give the same run."""
    plain = invoke(["place", "--data", world.data, "--out", world.root / "plain"])
    assert plain.exit_code == 0, plain.output
    text = (world.data / "pupils.csv").read_text(encoding="utf-8")
    (world.data / "pupils.csv").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    schools_text = (world.data / "schools.csv").read_text(encoding="utf-8")
    (world.data / "schools.csv").write_bytes(
        schools_text.replace(",20000,", ",£20000,").encode("cp1252")
    )
    result = invoke(["place", "--data", world.data, "--out", world.out])
    assert result.exit_code == 0, result.output
    assert (world.out / "placements.csv").read_bytes() == (
        world.root / "plain" / "placements.csv"
    ).read_bytes()


def test_a_folder_the_engine_wrote_is_replaced_and_others_are_kept(world):
    """Re-running into a run folder the engine wrote replaces it (marker of the same kind);
    a data folder keeps the files it also holds (its README)."""
    for _ in range(2):
        result = invoke(["place", "--data", world.data, "--out", world.out])
        assert result.exit_code == 0, result.output
    marker = json.loads((world.out / MARKER).read_text())
    assert marker["kind"] == "run" and "placements.csv" in marker["files"]
    assert leftovers(world.root) == []
    data = world.root / "kent"
    result = invoke(["data", "kent", "--pupils", "10", "--out", data])
    assert result.exit_code == 0, result.output
    assert json.loads((data / MARKER).read_text())["kind"] == "data"
    (data / "README.md").write_text("hand-written notes\n")
    before = (data / "pupils.csv").read_bytes()

    def rebuild(folder: Path) -> None:  # what data kent writes, without building it again
        for name in ("schools.csv", "pupils.csv", "vehicles.csv", "incompatible.csv"):
            (folder / name).write_bytes((data / name).read_bytes().replace(b"P", b"Q"))

    write_folder(data, rebuild, kind="data", keep_foreign=True)
    assert (data / "README.md").read_text() == "hand-written notes\n"
    assert (data / "pupils.csv").read_bytes() == before.replace(b"P", b"Q")
    assert {p.name for p in data.iterdir()} == {
        MARKER, "README.md", "schools.csv", "pupils.csv", "vehicles.csv", "incompatible.csv",
        "manifest.json",
    }  # fmt: skip
    for p in data.iterdir():
        if p.name != "README.md":
            assert p.stat().st_mode & 0o777 == 0o600
    assert leftovers(world.root) == []


def test_a_legacy_run_folder_without_marker_is_recognised(world):
    """Run folders written before the marker existed are recognised by their summary.json."""
    (world.run / MARKER).unlink()
    before = (world.run / "summary.json").read_bytes()
    result = invoke(["solve", "--data", world.data, "--out", world.run, "--quiet", *FAST])
    assert result.exit_code == 0, result.output
    assert (world.run / MARKER).exists() and (world.run / "summary.json").read_bytes() != before


def test_the_embedded_data_folder_may_be_regenerated():
    """data/kent carries the marker, so 'sen-transport data kent --out data/kent' works."""
    from transport.runs.destination import check_output_dir, folder_kind

    kent = TINY.parents[2] / "data" / "kent"
    assert folder_kind(kent) == "data"
    assert check_output_dir(kent, kind="data") == kent.resolve()


def test_a_pickup_before_midnight_is_never_written(world):
    """A school whose arrive_by leaves too little time for a far pupil's ride: that pupil is
    unrouted with the reason, never given a pickup before 00:00."""
    from transport.data.validate import read_dataset
    from transport.model import Parameters, RideParams
    from transport.placement import place_pupils
    from transport.routing import plan_routes

    data = read_dataset(world.data)
    # ride limits of 300 minutes, schools arriving by 04:59: every ride could start before 00:00
    params = Parameters(ride=RideParams(primary_limit_min=300, secondary_limit_min=300))
    data = replace(data, schools=tuple(replace(s, arrive_by=299) for s in data.schools))
    plan = plan_routes(
        data, place_pupils(data, policy="keep"), params=params,
        options=RoutingOptions(time_limit_s=2, workers=1),
    )  # fmt: skip
    placed = {p.pupil_id: p.direct_min for p in place_pupils(data, policy="keep").placements}
    early = {
        pid
        for pid, direct in placed.items()
        if params.ride.effective_limit(data.pupil_by_id[pid], direct) > 299
    }
    assert early and len(early) < len(placed)  # one pupil's own limit is 60 minutes
    unrouted = {u.pupil_id: u.reason for u in plan.unrouted}
    assert set(unrouted) == early
    assert all("would start before midnight" in r for r in unrouted.values())
    assert plan.stops and all(0 <= s.pickup < 24 * 60 for s in plan.stops)


def test_compare_failing_half_way_changes_nothing(world, monkeypatch):
    """A comparison that fails on its second scenario leaves the previous comparison
    byte-identical (scenario folders, comparison files, cache) and no temporary folder."""
    import transport.compare as compare
    from transport.errors import RoutingError

    more = world.scenarios / "more.toml"
    more.write_text('name = "more"\n[placement]\npolicy = "nearest-suitable"\n')
    args = ["compare", world.scenario, more, "--data", world.data, "--out", world.out,
            "--quiet", *FAST]  # fmt: skip
    good = invoke(args)
    assert good.exit_code == 0, good.output
    before = snapshot(world.root)
    real, calls = compare.compare_one, []

    def second_fails(ctx, task):
        calls.append(task[0].name)
        if len(calls) == 2:
            raise RoutingError("the second scenario failed")
        return real(ctx, task)

    monkeypatch.setattr(compare, "compare_one", second_fails)
    assert_refused(invoke(args), 2, "the second scenario failed")
    assert calls == ["baseline", "more"]
    assert changed(before, snapshot(world.root)) == []
    assert leftovers(world.root) == []


def test_compare_refuses_an_unknown_school_before_any_work(world, monkeypatch):
    """A capacity change naming a school the data lacks stops compare before any scenario."""
    import transport.compare as compare

    monkeypatch.setattr(compare, "compare_one", lambda *a, **k: pytest.fail("a scenario ran"))
    bad = world.scenarios / "more.toml"
    bad.write_text('name = "more"\n[[capacity]]\nschool_id = "NOPE"\nadd = 5\n')
    before = snapshot(world.root)
    result = invoke(compare_with()(world)[:1] + [world.scenario, bad] + compare_with()(world)[2:])
    assert_refused(result, 2, "more.toml", "capacity[1].school_id: no school 'NOPE'")
    assert changed(before, snapshot(world.root)) == []


def test_compare_refuses_a_bad_scenario_before_any_work(world, monkeypatch):
    """Every scenario file is parsed before the first one runs."""
    import transport.compare as compare

    ran = []
    monkeypatch.setattr(compare, "read_dataset", lambda *a, **k: ran.append(1))
    bad = world.scenarios / "bad.toml"
    bad.write_text("[routing]\ntime_limit_s = nan\n")
    result = invoke(["compare", world.scenario, bad, "--data", world.data, "--out", world.out])
    assert_refused(result, 2, "bad.toml", "time_limit_s")
    assert ran == [] and not world.out.exists()


def test_a_full_disk_is_a_clear_error_and_the_previous_run_stays(world, monkeypatch):
    """ENOSPC while a run is written: exit 2 saying the disk is full; the previous run is
    byte-identical and no temporary folder is left (in-process; a real small file system is
    in tests/test_misuse_processes.py)."""
    import errno

    import transport.runs.write as write

    assert invoke(solve_with()(world)).exit_code == 0
    before = snapshot(world.root)
    real = write._open_text

    def full(path, **kwargs):
        if Path(path).name == "stops.csv":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(write, "_open_text", full)
    result = invoke(solve_with()(world))
    assert_refused(result, 2, "the disk is full", "nothing was changed")
    assert changed(before, snapshot(world.root)) == []


def test_a_second_latest_update_never_replaces_a_file_made_meanwhile(world):
    """A 'latest' that appears as a file while a nightly run works is never replaced."""
    from transport.errors import OutputError
    from transport.runs.history import update_latest

    root = world.root / "nightly"
    root.mkdir()
    (root / "latest").write_text("keep me\n")
    with pytest.raises(OutputError, match="not a link"):
        update_latest(root, world.run)
    assert (root / "latest").read_text() == "keep me\n"
    shutil.rmtree(root)
