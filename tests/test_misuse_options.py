"""The misuse corpus, continued: the numbers of options that are not scenario settings, the
road-graph cache folder, and the messages of the newer commands (issue #11, rules 4, 1, 7).

Each case runs one command in a fresh *world* (tests/_misuse.py) and must exit 2 with one
message naming the problem, show no traceback and no pupil id or home coordinate, and leave the
world byte-identical (nothing written, no temporary folder, lock or parent folder left).

Classes of case (the first word of each id), as in tests/test_misuse.py:

* ``num`` — ``nan``, ``inf`` and absurd values of ``site``, ``award``, ``letters``, ``data
  kent``, ``impact`` and ``diff`` options, refused before any work with the option named;
* ``dest`` — a ``--cache-dir`` that is, holds or lies inside an input (the data folder, the
  run read, the plan in force);
* ``msg`` — problems of the files read by ``letters``, ``impact`` and re-plans named by file,
  row and column, never by the pupil id a cell holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._misuse import (
    World,
    assert_refused,
    changed,
    invoke,
    leftovers,
    make_world,
    private_hits,
    snapshot,
    solve_tiny,
)
from transport.runs.write import write_folder


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    return solve_tiny(tmp_path_factory.mktemp("solved") / "run")


@pytest.fixture
def world(tmp_path, solved, monkeypatch) -> World:
    w = make_world(tmp_path, solved)
    monkeypatch.chdir(w.work)
    monkeypatch.setenv("HOME", str(w.home))
    return w


Args = Callable[[World], list]
Setup = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    id: str
    args: Args
    messages: tuple[str, ...]
    setup: Setup | None = None


def put(name: str, text: str) -> Setup:
    """A file in the working folder (an input the command is given)."""
    return lambda w: (w.work / name).write_text(text, encoding="utf-8")


def site(*extra: str) -> Args:
    return lambda w: ["site", "--data", w.data, "--candidates", w.data / "schools.csv",
                      "--out", w.out, *extra]  # fmt: skip


def award(*extra: str) -> Args:
    return lambda w: ["award", w.run, "--bids", w.work / "bids.csv", "--out", w.out, *extra]


def letters(*extra: str) -> Args:
    return lambda w: ["letters", w.run, "--data", w.data, "--out", w.out, "--engine",
                      "weasyprint", *extra]  # fmt: skip


HUGE = str(2**70)
TIME = "between 0 and 86400"
SEED = "whole number from 0 to 2,147,483,647"

CORPUS: list[Case] = [
    # ---- numbers of options that are not scenario settings (rule 4)
    Case("num-option-site-time-limit-1e300", site("--time-limit", "1e300"), ("--time-limit", TIME)),
    Case("num-option-site-time-limit-inf", site("--time-limit", "inf"), ("--time-limit", TIME)),
    Case("num-option-site-time-limit-zero", site("--time-limit", "0"),
         ("--time-limit", "more than 0")),
    Case("num-option-site-seed-huge", site("--seed", HUGE), ("--seed", SEED)),
    Case("num-option-site-seed-negative", site("--seed", "-1"), ("--seed", SEED)),
    Case("num-option-site-places-huge", site("--places", HUGE), ("--places", "100,000")),
    Case("num-option-site-max-sites-huge", site("--max-sites", "10000000000000"),
         ("--max-sites", "100,000")),
    Case("num-option-site-budget-nan", site("--budget", "nan"), ("--budget", "between 0 and")),
    Case("num-option-site-budget-1e300", site("--budget", "1e300"), ("--budget", "between 0 and")),
    Case("num-option-site-discount-rate-nan", site("--discount-rate", "nan"),
         ("discount rate must be in [0, 1)",)),
    Case("num-option-award-time-limit-inf", award("--time-limit", "inf"), ("--time-limit", TIME)),
    Case("num-option-award-seed-huge", award("--seed", HUGE), ("--seed", SEED)),
    Case("num-option-award-max-ratio-inf", award("--max-ratio", "inf"),
         ("--max-ratio", "between 0 and 100")),
    Case("num-option-award-low-ratio-nan", award("--low-ratio", "nan"),
         ("--low-ratio", "between 0 and 100")),
    Case("num-option-letters-minutes-nan",
         letters("--since", Path("../inputs/runs/b"), "--minutes", "nan"),
         ("minutes must be between 0 and 1440",)),
    Case("num-option-letters-workers-huge", letters("--workers", HUGE),
         ("--workers", "whole number from 1 to 256")),
    Case("num-option-data-kent-seed-negative",
         lambda w: ["data", "kent", "--seed", "-1", "--pupils", "10", "--out", w.out],
         ("--seed", SEED)),
    Case("num-option-data-kent-seed-not-whole",
         lambda w: ["data", "kent", "--seed", "1.5", "--pupils", "10", "--out", w.out],
         ("--seed", "not a whole number")),
    Case("num-option-impact-minutes-inf",
         lambda w: ["impact", w.run, w.run_b, "--data", w.data, "--out", w.out, "--minutes", "inf"],
         ("minutes must be between 0 and 1440",)),
    Case("num-option-diff-minutes-1e300",
         lambda w: ["diff", w.run, w.run_b, "--minutes", "1e300"],
         ("minutes must be between 0 and 1440",)),
    # ---- the road-graph cache folder (rule 1: it only adds files, never inside an input)
    Case("dest-place-cache-is-the-data-folder",
         lambda w: ["place", "--data", w.data, "--out", w.out, "--cache-dir", w.data],
         ("cache folder", "is the data folder")),
    Case("dest-budgets-cache-inside-its-run",
         lambda w: ["budgets", "--data", w.data, "--run", w.run, "--out", w.out, "--draws", "20",
                    "--cache-dir", w.run / "cache"],
         ("cache folder", "is inside the run folder read")),
    Case("dest-solve-cache-is-the-plan-in-force",
         lambda w: ["solve", "--data", w.data, "--out", w.out, "--previous", w.run_b, "--quiet",
                    "--time-limit", "2", "--workers", "1", "--cache-dir", w.run_b],
         ("cache folder", "is the previous run")),
    Case("dest-site-cache-holds-the-data",
         lambda w: [*site()(w), "--cache-dir", w.data.parent],
         ("cache folder", "holds the data folder")),
    # ---- messages name rows, never the pupil id a cell holds (rule 7)
    Case("msg-locks-cell-holds-a-pupil-id",
         lambda w: ["solve", "--data", w.data, "--out", w.out, "--previous", w.run_b, "--quiet",
                    "--time-limit", "2", "--workers", "1", "--locks", "locks.csv"],
         ("locks.csv", "row 2", "not a route of the previous plan"),
         put("locks.csv", "route_id\nP05\n")),
    Case("msg-impact-operators-cell-holds-a-pupil-id",
         lambda w: ["impact", w.run, w.run_b, "--data", w.data, "--out", w.out,
                    "--current-operators", "ops.csv"],
         ("ops.csv", "row 2", "not a route of the run"),
         put("ops.csv", "route_id,operator_id\nP05,O1\n")),
    Case("msg-site-candidates-are-the-pupils",
         lambda w: ["site", "--data", w.data, "--candidates", w.data / "pupils.csv", "--out",
                    w.out],
         ("pupils.csv", "required column is missing")),
    Case("msg-letters-contact-listed-twice", letters("--contacts", "contacts.csv"),
         ("contacts.csv", "row 3", "the same pupil as row 2"),
         put("contacts.csv", "pupil_id,parent_name,address_line_1,postcode\n"
                             "P05,A Parent,1 High St,TN24 9AA\nP05,A Parent,1 High St,TN24 9AA\n")),
]  # fmt: skip


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_misuse_is_refused_and_nothing_changes(world, case):
    if case.setup is not None:
        case.setup(world)
    before = snapshot(world.root)
    result = invoke(case.args(world))
    assert_refused(result, 2, *case.messages)
    assert changed(before, snapshot(world.root)) == []
    assert leftovers(world.root) == []


def test_every_case_is_named_by_its_class():
    classes = {c.id.split("-", 1)[0] for c in CORPUS}
    assert classes == {"num", "dest", "msg"}
    assert len({c.id for c in CORPUS}) == len(CORPUS)


def test_verify_never_names_a_letter_by_its_pupil_id(world):
    """letters/<pupil_id>.pdf that changed or went missing: verify exits 1 and names them as
    ``letters/<pupil id>.pdf``; with --verbose-ids by their names."""
    folder = world.root / "letters-out"

    def build(tmp: Path) -> None:
        (tmp / "letters").mkdir()
        for pupil in ("P01", "P05"):
            (tmp / "letters" / f"{pupil}.pdf").write_bytes(b"%PDF-1.7 " + pupil.encode())
        (tmp / "letters.csv").write_text("pupil_id\nP01\nP05\n")

    write_folder(folder, build, kind="letters")
    (folder / "letters" / "P05.pdf").write_bytes(b"%PDF-1.7 edited")
    (folder / "letters" / "P01.pdf").unlink()
    before = snapshot(world.root)
    result = invoke(["verify", folder])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("letters/<pupil id>.pdf") == 2, result.output
    assert private_hits(result.output) == [], result.output
    named = invoke(["verify", folder, "--verbose-ids"])
    assert named.exit_code == 1
    assert "letters/P01.pdf" in named.output and "letters/P05.pdf" in named.output
    assert changed(before, snapshot(world.root)) == []
