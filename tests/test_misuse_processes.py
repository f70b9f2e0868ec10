"""Misuse that needs real processes: two runs at once, signals, a non-root user, a full disk.

Every case starts the real console entry point (``transport.cli.main.main``) in child
processes and checks the exit status, the message, that no traceback is shown and no pupil
id or home coordinate, and that the inputs and the previous output are byte-identical with no
temporary folder or lock left behind:

* concurrency — two ``solve --runs-dir`` at once keep both runs under two dated names; a
  second ``solve --out`` into a folder being written exits 2 at once naming the other process;
* signals — SIGINT to the main process during routing stops the worker processes at once, as
  SIGTERM does; SIGTERM or SIGINT half-way through ``compare`` leaves the previous comparison;
* permissions — as the user ``nobody`` (``setpriv``): an unreadable data file, an unreadable
  run folder, a folder the user may not write in and an output folder it may not replace;
* a full disk — a 64 KB tmpfs: exit 2 saying so, the previous run intact.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests._misuse import (
    FAST,
    ROOT,
    TINY,
    changed,
    leftovers,
    private_hits,
    snapshot,
    solve_tiny,
)
from tests.checker import check_run
from tests.test_faults import WRAPPER, session_processes

KENT = ROOT / "data" / "kent"

HOLD_WRAPPER = """
import os, sys, time
from pathlib import Path
marks = Path(os.environ["FAULT_MARKS"])
go = Path(os.environ["FAULT_GO"])
import transport.pipeline.run as pipeline
real = pipeline.place_pupils

def place(*a, **k):
    (marks / "placing").touch()
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return real(*a, **k)

pipeline.place_pupils = place
from transport.cli.main import main
sys.argv = ["sen-transport", *sys.argv[1:]]
main()
"""

COMPARE_WRAPPER = """
import os, sys, time
from pathlib import Path
marks = Path(os.environ["FAULT_MARKS"])
import transport.pipeline.run as run
real = run.place_pupils
calls = []

def place(*a, **k):
    calls.append(1)
    (marks / f"placing-{len(calls)}").touch()
    if len(calls) >= 2:  # the second scenario: wait there to be stopped
        time.sleep(float(os.environ.get("FAULT_PLACE_PAUSE", "0")))
    return real(*a, **k)

run.place_pupils = place
from transport.cli.main import main
sys.argv = ["sen-transport", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solved") / "run"
    return solve_tiny(folder)


def start(args: list, *, wrapper: str = WRAPPER, marks: Path, env: dict | None = None, **kw):
    """Start ``sen-transport ARGS`` in its own session (so that its workers can be found)."""
    return subprocess.Popen(
        [sys.executable, "-c", wrapper, *map(str, args)],
        cwd=ROOT,
        env={
            **os.environ,
            "FAULT_MARKS": str(marks),
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kw,
    )


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"never reached {path.name}"
        time.sleep(0.02)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in session_processes(proc.pid):  # never leave a worker behind
            os.kill(pid, signal.SIGKILL)
    return out.decode(), err.decode()


def assert_clean_output(out: str, err: str) -> None:
    assert "Traceback" not in out + err
    assert private_hits(out + err) == []


# --------------------------------------------------------------------------------------------
# Concurrency


def test_two_nightly_runs_at_once_keep_both(tmp_path):
    """Two ``solve --runs-dir R`` started together: two dated runs, both complete; ``latest``
    names one of them; no lock or temporary folder left."""
    root = tmp_path / "nightly"
    procs = []
    for k in range(2):
        marks = tmp_path / f"marks{k}"
        marks.mkdir()
        procs.append(
            start(
                ["solve", "--quiet", "--data", TINY, "--runs-dir", root, *FAST],
                marks=marks,
                env={"FAULT_PLACE_PAUSE": "1.5"},
            )
        )
    results = [finish(p) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert_clean_output(out, err)
    runs = sorted(p.name for p in root.iterdir() if p.name != "latest")
    assert len(runs) == 2 and runs[1] == runs[0] + "-2", runs
    said = ["".join(out.split()) for out, _ in results]  # the terminal wraps long paths
    for name in runs:  # each process reports its own run
        wrote = re.compile(rf"Wrote{re.escape(str(root / name))}(?![-\d])")
        assert sum(bool(wrote.search(text)) for text in said) == 1, (name, said)
    assert os.readlink(root / "latest") in runs
    for name in runs:
        assert check_run(root / name, TINY) == []
    assert leftovers(root) == []


def test_a_second_run_into_a_folder_being_written_exits_2_at_once(tmp_path, solved):
    """``solve --out X`` while another solve writes X: the second stops at once with exit 2
    naming the other process; the first completes; X is never a mix of the two."""
    out = tmp_path / "run"
    shutil.copytree(solved, out)
    first_marks, second_marks = tmp_path / "m1", tmp_path / "m2"
    first_marks.mkdir()
    second_marks.mkdir()
    args = ["solve", "--quiet", "--data", TINY, "--out", out, *FAST]
    go = tmp_path / "go"
    first = start(args, wrapper=HOLD_WRAPPER, marks=first_marks, env={"FAULT_GO": str(go)})
    try:
        wait_for(first_marks / "placing", first)  # the first holds X and waits for "go"
        second = start(args, wrapper=HOLD_WRAPPER, marks=second_marks, env={"FAULT_GO": str(go)})
        out2, err2 = finish(second)
        assert second.returncode == 2, err2  # it did not wait: the first is still held
        assert f"another sen-transport run (process {first.pid}) is writing" in err2
        assert not (second_marks / "placing").exists()  # no work done
        assert_clean_output(out2, err2)
    finally:
        go.touch()
        out1, err1 = finish(first)
    assert first.returncode == 0, err1
    assert check_run(out, TINY) == []
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Signals


def test_sigint_to_the_main_process_stops_the_workers_at_once(tmp_path, solved):
    """Ctrl-C (SIGINT to the main process only) during routing with two worker processes:
    exit 130 with one line, no traceback, no worker left, the previous run byte-identical."""
    parent = tmp_path / "runs"
    parent.mkdir()
    out = parent / "run"
    shutil.copytree(solved, out)
    before = snapshot(parent)
    marks = tmp_path / "marks"
    marks.mkdir()
    proc = start(
        ["solve", "--quiet", "--data", KENT, "--out", out, "--time-limit", "8", "--workers", "2"],
        marks=marks,
    )
    try:
        wait_for(marks / "routing", proc)
        time.sleep(1.5)  # the workers are searching
        assert proc.poll() is None
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        took = time.monotonic() - stopped_at
        deadline = time.monotonic() + 5
        while session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_processes(proc.pid) == []  # the workers are gone too
    finally:
        out_text, err = finish(proc)
    assert proc.returncode == 130, err
    assert took < 5, took  # at once, not when the time limit ends
    assert "Stopped by SIGINT" in err
    assert_clean_output(out_text, err)
    assert changed(before, snapshot(parent)) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_half_way_through_compare_leaves_the_previous_comparison(tmp_path, sig):
    """compare stopped while its second scenario runs: the previous comparison folder (every
    scenario folder, comparison files, report, cache) is byte-identical, nothing is left."""
    from tests._misuse import invoke

    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "baseline.toml").write_text('name = "baseline"\n')
    (scenarios / "ns.toml").write_text('name = "ns"\n[placement]\npolicy = "nearest-suitable"\n')
    out = tmp_path / "compare"
    args = ["compare", scenarios / "baseline.toml", scenarios / "ns.toml", "--data", TINY,
            "--out", out, "--quiet", *FAST]  # fmt: skip
    assert invoke(args).exit_code == 0
    before = snapshot(tmp_path)
    marks = tmp_path.parent / f"marks-{tmp_path.name}"
    marks.mkdir()
    proc = start([*args, "--no-cache"], wrapper=COMPARE_WRAPPER, marks=marks,
                 env={"FAULT_PLACE_PAUSE": "30"})  # fmt: skip
    try:
        wait_for(marks / "placing-2", proc)
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        out_text, err = finish(proc)
    assert proc.returncode == 128 + sig, err
    assert f"Stopped by {sig.name}" in err
    assert_clean_output(out_text, err)
    assert changed(before, snapshot(tmp_path)) == []
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Permissions, as a user who is not root


NOBODY = 65534


def as_nobody(args: list, cwd: Path) -> subprocess.CompletedProcess:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a command as the user nobody")
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, "-m", "transport", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "HOME": str(cwd), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


@pytest.fixture
def shared(solved):
    """A world in a folder every user may enter: data and a run owned by root, a folder
    ``nobody`` owns to write in."""
    root = Path(tempfile.mkdtemp(prefix="misuse-nobody-"))
    try:
        os.chmod(root, 0o755)
        shutil.copytree(TINY, root / "data")
        shutil.copytree(solved, root / "run")
        mine = root / "mine"
        mine.mkdir()
        os.chown(mine, NOBODY, NOBODY)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                os.chmod(Path(dirpath) / name, 0o755)
            for name in filenames:
                os.chmod(Path(dirpath) / name, 0o644)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def refused_as_nobody(shared: Path, args: list, *messages: str) -> None:
    before = snapshot(shared)
    done = as_nobody(args, shared / "mine")
    assert done.returncode == 2, done.stderr
    assert "Error: " in done.stderr, done.stderr
    for message in messages:
        assert message.lower() in " ".join(done.stderr.split()).lower(), done.stderr
    assert_clean_output(done.stdout, done.stderr)
    assert changed(before, snapshot(shared)) == []


def test_an_unreadable_data_file_is_named(shared):
    os.chmod(shared / "data" / "pupils.csv", 0o600)
    refused_as_nobody(
        shared,
        ["place", "--data", shared / "data", "--out", shared / "mine" / "run"],
        "pupils.csv",
        "cannot be read: permission denied",
    )


def test_an_unreadable_run_file_or_folder_is_named(shared):
    os.chmod(shared / "run" / "stops.csv", 0o600)
    refused_as_nobody(
        shared,
        ["budgets", "--run", shared / "run", "--data", shared / "data", "--out",
         shared / "mine" / "b"],
        "stops.csv", "cannot be read: permission denied",
    )  # fmt: skip
    os.chmod(shared / "run", 0o700)
    refused_as_nobody(
        shared,
        ["sheets", shared / "run", "--data", shared / "data", "--out", shared / "mine" / "s"],
        "is not readable",
    )


def test_a_folder_the_user_may_not_write_in_is_refused_before_any_work(shared):
    refused_as_nobody(
        shared,
        ["solve", "--data", shared / "data", "--out", shared / "ro" / "run", "--quiet", *FAST],
        "no permission to write in",
    )


def test_an_output_folder_the_user_may_not_replace_is_refused(shared):
    """A run folder of the engine's, owned by someone else (root) in a folder of theirs."""
    refused_as_nobody(
        shared,
        ["place", "--data", shared / "data", "--out", shared / "run"],
        "cannot be replaced: no permission",
    )


# --------------------------------------------------------------------------------------------
# A full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KB tmpfs (root only: skipped where it cannot be mounted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_exit_2_and_the_previous_run_stays(small_disk, solved):
    """A run of 4,200 pupils does not fit in 64 KB: exit 2 saying the disk is full; the
    previous (small) run is byte-identical and no temporary folder is left."""
    out = small_disk / "run"
    first = subprocess.run(
        [sys.executable, "-m", "transport", "place", "--data", TINY, "--out", out],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = snapshot(small_disk)
    done = subprocess.run(
        [sys.executable, "-m", "transport", "place", "--data", KENT, "--out", out],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "the disk is full" in done.stderr and "nothing was changed" in done.stderr
    assert "Traceback" not in done.stderr
    assert changed(before, snapshot(small_disk)) == []
    assert leftovers(small_disk) == []
