"""A hypothesis fuzz of run folders, for every command that reads one.

A solved run of the tiny data is broken at random — bytes inserted (NUL and invalid UTF-8
among them), cut or replaced, lines dropped, repeated or swapped, cells replaced by junk
(``nan``, ``inf``, ``25:99``, ``;``, quotes, huge numbers, other pupils' ids), summary.json
values replaced by any JSON — and handed to each command's library function:

* ``sheets`` (:func:`transport.jobs.sheets_job`),
* ``diff`` (:func:`transport.runs.history.diff_runs`, both ways round),
* ``budgets`` (:func:`transport.jobs.budgets_job`),
* ``compare``'s report (:func:`transport.report.write_report` on a comparison folder whose
  scenario run or comparison.json is broken),
* ``tender`` (:func:`transport.tender.jobs.tender_job`) and ``impact``
  (:func:`transport.tender.impact_job.impact_job`, the broken run as the proposed one).

Each must either succeed or raise the engine's own :class:`~transport.errors.TransportError`
(never anything else: that would be a traceback), its message must name no pupil id, the run
folder read must be byte-identical afterwards, and a refused command must leave no output and
no temporary folder behind.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._misuse import TINY, changed, leftovers, private_hits, snapshot, solve_tiny
from transport.errors import TransportError
from transport.jobs import budgets_job, sheets_job
from transport.runs.history import diff_runs
from transport.scenario import Scenario

FILES = ["placements.csv", "routes.csv", "stops.csv", "summary.json"]
JUNK = st.sampled_from(
    ["", "nan", "inf", "-inf", "-1", "0", "1e308", "25:99", "-1:05", ";", "P01;P01", '"', "'",
     "P01", "P99", "S9", "taxi", "x" * 300, "\x00", "1,5", "é", "２", "09:00", "  "]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
MUTATION = st.one_of(
    st.tuples(st.just("bytes"), st.integers(0, 10**6), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.integers(1, 200)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(None)),
    st.tuples(st.just("drop_line"), st.integers(0, 10**6), st.just(None)),
    st.tuples(st.just("dup_line"), st.integers(0, 10**6), st.just(None)),
    st.tuples(st.just("swap_lines"), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("cell"), st.integers(0, 10**6), JUNK),
    st.tuples(st.just("json"), st.integers(0, 10**6), JSON),
)
FUZZ = settings(
    max_examples=int(os.environ.get("MISUSE_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def mutate(path: Path, kind: str, k: int, arg: object) -> None:
    data = path.read_bytes()
    if kind == "bytes":
        i = k % (len(data) + 1)
        path.write_bytes(data[:i] + arg + data[i:])  # type: ignore[operator]
    elif kind == "cut":
        i = k % (len(data) + 1)
        path.write_bytes(data[:i] + data[i + int(arg) :])  # type: ignore[call-overload]
    elif kind == "truncate":
        path.write_bytes(data[: k % (len(data) + 1)])
    elif kind == "json" and path.suffix == ".json":
        try:
            doc = json.loads(data)
        except ValueError:
            return
        if isinstance(doc, dict) and doc:
            keys = sorted(doc)
            doc[keys[k % len(keys)]] = arg
        else:
            doc = arg
        path.write_text(json.dumps(doc))
    else:
        lines = data.split(b"\n")
        i = k % len(lines)
        if kind == "drop_line":
            lines.pop(i)
        elif kind == "dup_line":
            lines.insert(i, lines[i])
        elif kind == "swap_lines":
            j = int(arg) % len(lines)  # type: ignore[call-overload]
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "cell":
            cells = lines[i].split(b",")
            cells[k % len(cells)] = str(arg).encode("utf-8")
            lines[i] = b",".join(cells)
        path.write_bytes(b"\n".join(lines))


BREAKS = st.lists(st.tuples(st.sampled_from(FILES), MUTATION), min_size=1, max_size=3)


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solved") / "run"
    return solve_tiny(folder)


def broken_copy(solved: Path, root: Path, breaks: list) -> Path:
    run = root / "run"
    shutil.copytree(solved, run)
    for name, (kind, k, arg) in breaks:
        mutate(run / name, kind, k, arg)
    return run


def refused_cleanly(exc: BaseException | None, root: Path, before: dict, out: Path | None) -> None:
    assert changed(before, {k: v for k, v in snapshot(root).items() if not _is_out(k, out)}) == []
    assert leftovers(root) == []
    if exc is not None:
        assert isinstance(exc, TransportError), repr(exc)
        assert private_hits(str(exc)) == [], str(exc)
        if out is not None:
            assert not out.exists()


def _is_out(rel: str, out: Path | None) -> bool:
    return out is not None and (rel == out.name or rel.startswith(out.name + "/"))


def attempt(call) -> BaseException | None:
    try:
        call()
    except Exception as exc:  # anything but a TransportError fails refused_cleanly
        return exc
    return None


@FUZZ
@given(breaks=BREAKS)
def test_sheets_of_a_broken_run(tmp_path_factory, solved, breaks):
    root = tmp_path_factory.mktemp("fuzz-sheets")
    run = broken_copy(solved, root, breaks)
    before = snapshot(root)
    out = root / "sheets"
    exc = attempt(lambda: sheets_job(run, TINY, out, redact=True))
    refused_cleanly(exc, root, before, out)


@FUZZ
@given(breaks=BREAKS)
def test_diff_of_a_broken_run(tmp_path_factory, solved, breaks):
    root = tmp_path_factory.mktemp("fuzz-diff")
    run = broken_copy(solved, root, breaks)
    before = snapshot(root)
    for a, b in ((solved, run), (run, solved)):
        exc = attempt(lambda a=a, b=b: diff_runs(a, b))
        refused_cleanly(exc, root, before, None)


@FUZZ
@given(breaks=BREAKS)
def test_budgets_of_a_broken_run(tmp_path_factory, solved, breaks):
    root = tmp_path_factory.mktemp("fuzz-budgets")
    run = broken_copy(solved, root, breaks)
    before = snapshot(root)
    out = root / "budgets"
    scenario = Scenario().with_overrides({"budgets.draws": 20, "budgets.districts": ["*"]})
    exc = attempt(lambda: budgets_job(TINY, run, out, scenario=scenario))
    refused_cleanly(exc, root, before, out)


@FUZZ
@given(breaks=BREAKS)
def test_tender_of_a_broken_run(tmp_path_factory, solved, breaks):
    from transport.tender.jobs import tender_job

    root = tmp_path_factory.mktemp("fuzz-tender")
    run = broken_copy(solved, root, breaks)
    before = snapshot(root)
    out = root / "tender"
    exc = attempt(lambda: tender_job(run, TINY, out, pdf=False))
    refused_cleanly(exc, root, before, out)


@FUZZ
@given(breaks=BREAKS)
def test_impact_of_a_broken_run(tmp_path_factory, solved, breaks):
    from transport.tender.impact_job import impact_job

    root = tmp_path_factory.mktemp("fuzz-impact")
    run = broken_copy(solved, root, breaks)
    before = snapshot(root)
    out = root / "impact"
    exc = attempt(lambda: impact_job(solved, run, TINY, out))
    refused_cleanly(exc, root, before, out)


@FUZZ
@given(
    breaks=st.lists(
        st.tuples(st.sampled_from([*FILES, "comparison.json"]), MUTATION), min_size=1, max_size=3
    )
)
def test_the_report_of_a_broken_comparison(tmp_path_factory, compare_dir, breaks):
    from transport.report import write_report

    root = tmp_path_factory.mktemp("fuzz-report")
    folder = root / "compare"
    shutil.copytree(compare_dir, folder)
    for name, (kind, k, arg) in breaks:
        path = folder / name if name == "comparison.json" else folder / "scenarios/baseline" / name
        mutate(path, kind, k, arg)
    before = snapshot(root)
    exc = attempt(lambda: write_report(folder, data_dir=TINY))
    if exc is None:
        for rel in changed(before, snapshot(root)):  # what the report writes, nothing else
            parts = rel.split("/")  # (and the manifests recording the files it adds)
            assert rel in ("compare/report.html", "compare/manifest.json") or (
                parts[:2] == ["compare", "scenarios"]
                and parts[-1] in ("routes.geojson", "routes.gpkg", "manifest.json")
                and len(parts) == 4
            ), rel
        return
    refused_cleanly(exc, root, before, None)
