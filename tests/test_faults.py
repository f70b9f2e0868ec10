"""A run killed at any moment leaves the previous run intact and no partial folder behind.

Each test starts a real ``sen-transport solve`` in a child process (the console entry point,
``transport.cli.main.main``, wrapped so that it leaves a marker file as it enters placement,
routing and each file it writes), waits for the marker of a stage, kills it with SIGTERM or
SIGKILL and checks the run folder that was already there, byte for byte, and the folder around it.

SIGTERM unwinds (``transport.cli.common.install_signal_handlers``): no temporary folder is left
and the worker processes stop. SIGKILL cannot be caught: a kill while files are being written leaves
the hidden ``.<run>.tmp-<pid>-…`` folder, which the next run removes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from transport.jobs import solve_job
from transport.scenario import RoutingSettings, Scenario


def fast(seconds: float) -> Scenario:
    return Scenario(routing=RoutingSettings(time_limit_s=seconds, workers=1))


ROOT = Path(__file__).resolve().parents[1]
KENT = ROOT / "data" / "kent"

WRAPPER = """
import os, sys, time
from pathlib import Path
marks = Path(os.environ["FAULT_MARKS"])
place_pause = float(os.environ.get("FAULT_PLACE_PAUSE", "0"))
write_pause = float(os.environ.get("FAULT_WRITE_PAUSE", "0"))
import transport.pipeline.run as pipeline
import transport.runs.write as output

def mark(name):
    (marks / name).touch()

real_place, real_plan, real_csv = pipeline.place_pupils, pipeline.plan_routes, output.write_csv

def place(*a, **k):
    mark("placing")
    time.sleep(place_pause)
    return real_place(*a, **k)

def plan(*a, **k):
    mark("routing")
    return real_plan(*a, **k)

def write_csv(path, *a, **k):
    real_csv(path, *a, **k)
    mark("writing")
    time.sleep(write_pause)

pipeline.place_pupils, pipeline.plan_routes, output.write_csv = place, plan, write_csv
from transport.cli.main import main
sys.argv = ["sen-transport", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A complete run of the tiny data: the previous night's run every kill must leave alone."""
    folder = tmp_path_factory.mktemp("good") / "run"
    solve_job(
        ROOT / "tests" / "data" / "tiny",
        folder,
        scenario=fast(2),
    )
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def copy_run(src: Path, dst: Path) -> None:
    dst.mkdir(mode=0o700)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
        os.chmod(dst / p.name, 0o600)


def session_processes(sid: int) -> list[int]:
    """Processes of the session ``sid`` still alive (zombies aside)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(entry))
    return out


def kill_at(
    tmp_path: Path,
    *,
    stage: str,
    sig: signal.Signals,
    args: list[str],
    delay: float = 0.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Start a solve, wait for the marker of ``stage``, wait ``delay`` s more, send ``sig``."""
    marks = tmp_path / "marks"
    marks.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, "solve", "--quiet", *args],
        cwd=ROOT,
        env={**os.environ, "FAULT_MARKS": str(marks), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (marks / stage).exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, f"never reached {stage}"
            time.sleep(0.02)
        time.sleep(delay)
        assert proc.poll() is None, f"finished before the kill at {stage}"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sig == signal.SIGTERM:  # the handler stops the worker processes too
        deadline = time.monotonic() + 5
        while session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_processes(proc.pid) == []
    else:  # after SIGKILL, end orphaned workers of the session we started
        for pid in session_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def others(parent: Path, keep: str = "run", *, lock: bool = False) -> list[str]:
    """What else the folder holds; ``lock``: leave out the run's lock file (a run killed
    outright leaves it, holding no lock: the next run removes it)."""
    skip = {keep} | ({f".{keep}.sen-transport.lock"} if lock else set())
    return sorted(p.name for p in parent.iterdir() if p.name not in skip)


CASES = [
    # (stage, signal, data, extra args, delay after the marker)
    ("placing", signal.SIGTERM, KENT, ["--time-limit", "5", "--workers", "1"], 0.2),
    ("placing", signal.SIGKILL, KENT, ["--time-limit", "5", "--workers", "1"], 0.2),
    ("routing", signal.SIGTERM, KENT, ["--time-limit", "6", "--workers", "2"], 1.5),
    ("routing", signal.SIGKILL, KENT, ["--time-limit", "5", "--workers", "1"], 0.8),
    ("writing", signal.SIGTERM, None, ["--time-limit", "1", "--workers", "1"], 0.0),
    ("writing", signal.SIGKILL, None, ["--time-limit", "1", "--workers", "1"], 0.0),
]


@pytest.mark.parametrize(
    ("stage", "sig", "data", "extra", "delay"),
    CASES,
    ids=[f"{c[1].name}-{c[0]}" for c in CASES],
)
def test_killed_solve_leaves_previous_run(good_run, tmp_path, stage, sig, data, extra, delay):
    parent = tmp_path / "runs"
    parent.mkdir()
    out = parent / "run"
    copy_run(good_run, out)
    before = snapshot(out)
    data = data or ROOT / "tests" / "data" / "tiny"
    env = {"FAULT_PLACE_PAUSE": "1.0", "FAULT_WRITE_PAUSE": "30"}
    done = kill_at(
        tmp_path,
        stage=stage,
        sig=sig,
        args=["--data", str(data), "--out", str(out), *extra],
        delay=delay,
        env=env,
    )
    assert done.returncode == (143 if sig == signal.SIGTERM else -9), done.stderr
    assert snapshot(out) == before  # the previous run, byte for byte, still owner-only
    left = others(parent, lock=sig == signal.SIGKILL)
    if sig == signal.SIGTERM:
        assert b"Stopped by SIGTERM" in done.stderr
        assert b"Traceback" not in done.stderr
        assert left == []
    elif stage == "writing":
        # SIGKILL mid-write: only the hidden temporary folder of the killed process is left…
        assert len(left) == 1 and left[0].startswith(".run.tmp-"), left
        # …and the next run writing there removes it
        solve_job(data, out, scenario=fast(1))
        assert others(parent) == []
        assert {"placements.csv", "routes.csv", "stops.csv", "summary.json"} <= set(
            snapshot(out)
        )  # a fresh, complete run
    else:
        assert left == []  # killed before writing began: nothing to clean


def test_killed_nightly_run_keeps_latest(good_run, tmp_path):
    """``--runs-dir``: a run killed mid-write leaves ``latest`` on the previous night."""
    root = tmp_path / "runs"
    root.mkdir()
    copy_run(good_run, root / "2026-11-27")
    os.symlink("2026-11-27", root / "latest")
    before = snapshot(root / "latest")
    done = kill_at(
        tmp_path,
        stage="writing",
        sig=signal.SIGKILL,
        args=[
            "--data",
            str(ROOT / "tests" / "data" / "tiny"),
            "--runs-dir",
            str(root),
            "--time-limit",
            "1",
            "--workers",
            "1",
        ],
        env={"FAULT_WRITE_PAUSE": "30"},
    )
    assert done.returncode == -9
    assert os.readlink(root / "latest") == "2026-11-27"
    assert snapshot(root / "latest") == before
    visible = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert visible == ["2026-11-27", "latest"]  # no partial dated folder
    from transport.jobs import solve_nightly_job

    _, run_dir = solve_nightly_job(
        ROOT / "tests" / "data" / "tiny",
        root,
        scenario=fast(1),
    )
    assert sorted(p.name for p in root.iterdir()) == ["2026-11-27", run_dir.name, "latest"]
    assert (root / "latest").resolve() == run_dir.resolve()
