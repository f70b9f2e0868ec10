"""Run history: dated folders, the latest pointer, and diffs between two runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from transport.cli.main import cli
from transport.runs.history import dated_run_dir, diff_runs, update_latest


def make_run(
    folder: Path, placements: list[tuple], routes: list[tuple], stops: list[tuple]
) -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    (folder / "placements.csv").write_text(
        "pupil_id,school_id,policy,road_miles,direct_min\n"
        + "".join(f"{p},{s},keep,1.00,2.0\n" for p, s in placements)
    )
    (folder / "routes.csv").write_text(
        "route_id,school_id,vehicle_type,has_pa,pupils,route_miles,annual_cost\n"
        + "".join(f"{r},{s},{v},0,{';'.join(ps)},3.00,100.00\n" for r, s, v, ps in routes)
    )
    (folder / "stops.csv").write_text(
        "route_id,seq,pupil_id,pickup,ride_min\n"
        + "".join(f"{r},{i},{p},{t},10.0\n" for r, i, p, t in stops)
    )
    return folder


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a = make_run(
        tmp_path / "a",
        [("P1", "S1"), ("P2", "S1"), ("P3", "S1"), ("P4", "S2"), ("P5", "S2")],
        [("R1", "S1", "mpv", ["P1", "P2", "P3"]), ("R2", "S2", "taxi", ["P4", "P5"])],
        [
            ("R1", 1, "P1", "08:00"),
            ("R1", 2, "P2", "08:10"),
            ("R1", 3, "P3", "08:20"),
            ("R2", 1, "P4", "08:30"),
            ("R2", 2, "P5", "08:35"),
        ],
    )
    b = make_run(
        tmp_path / "b",
        # P3 moves school; P1+P2 keep their route (new id) and pickup within 10 min;
        # P4 gets a bigger vehicle; P5's pickup moves by 15 min; P6 is new
        [("P1", "S1"), ("P2", "S1"), ("P3", "S2"), ("P4", "S2"), ("P5", "S2"), ("P6", "S1")],
        [("X1", "S1", "mpv", ["P1", "P2", "P6"]), ("X2", "S2", "minibus", ["P4", "P5", "P3"])],
        [
            ("X1", 1, "P1", "08:05"),
            ("X1", 2, "P2", "08:12"),
            ("X1", 3, "P6", "08:25"),
            ("X2", 1, "P4", "08:30"),
            ("X2", 2, "P5", "08:50"),
            ("X2", 3, "P3", "08:55"),
        ],
    )
    return a, b


def test_diff_reports_each_kind_of_change(tmp_path):
    a, b = two_runs(tmp_path)
    result = diff_runs(a, b, minutes=10)
    got = {(c.pupil_id, c.change) for c in result.changes}
    assert ("P3", "school") in got and ("P6", "added") in got
    assert ("P4", "vehicle") in got and ("P4", "route") in got
    assert ("P5", "pickup") in got
    assert ("P1", "route") in got  # P3 left and P6 joined: the co-riders changed
    assert not any(c.change == "pickup" and c.pupil_id in ("P1", "P2") for c in result.changes)
    assert result.pupils_compared == 5


def test_diff_of_a_run_with_itself_is_empty(tmp_path):
    a, _ = two_runs(tmp_path)
    assert diff_runs(a, a).changes == ()


def test_dated_folders_and_latest_pointer(tmp_path):
    day = dt.date(2026, 11, 28)
    first = dated_run_dir(tmp_path, today=day)
    assert first.name == "2026-11-28"
    first.mkdir()
    second = dated_run_dir(tmp_path, today=day)
    assert second.name == "2026-11-28-2"
    second.mkdir()
    link = update_latest(tmp_path, first)
    assert link.resolve() == first.resolve()
    update_latest(tmp_path, second)
    assert (tmp_path / "latest").resolve() == second.resolve()


def test_diff_command_prints_counts_not_ids_unless_asked(tmp_path):
    a, b = two_runs(tmp_path)
    out = tmp_path / "changes.csv"
    result = CliRunner().invoke(cli, ["diff", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "P3" not in result.output and "pupils affected" in result.output
    rows = out.read_text().splitlines()
    assert rows[0] == "pupil_id,change,before,after" and any(
        r.startswith("P3,school,S1,S2") for r in rows
    )
    verbose = CliRunner().invoke(cli, ["diff", str(a), str(b), "--verbose-ids"])
    assert "P3" in verbose.output


def test_diff_of_a_folder_that_is_not_a_run_exits_2(tmp_path):
    a, _ = two_runs(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["diff", str(a), str(empty)])
    assert result.exit_code == 2 and "placements.csv" in result.output


def test_nightly_job_dates_runs_and_moves_latest_last(tiny_dir, tmp_path):
    import os

    from transport.jobs import solve_nightly_job
    from transport.runs.write import read_run
    from transport.scenario import RoutingSettings, Scenario

    day = dt.date(2026, 11, 28)
    fast = Scenario(routing=RoutingSettings(time_limit_s=1, workers=1))
    optimal = fast.with_overrides({"placement.policy": "optimal"})
    root = tmp_path / "runs"
    (root / ".latest.tmp-999999999-link").parent.mkdir()
    os.symlink("nowhere", root / ".latest.tmp-999999999-link")  # left by a killed run
    _, first = solve_nightly_job(tiny_dir, root, today=day, scenario=fast)
    summary, second = solve_nightly_job(tiny_dir, root, today=day, scenario=optimal)
    assert (first.name, second.name) == ("2026-11-28", "2026-11-28-2")
    assert os.readlink(root / "latest") == "2026-11-28-2"
    assert sorted(p.name for p in root.iterdir()) == ["2026-11-28", "2026-11-28-2", "latest"]
    assert read_run(root / "latest").summary["policy"] == "optimal" == summary.policy
    assert diff_runs(first, first).changes == ()


def test_moving_latest_waits_for_another_run_moving_it(tmp_path):
    """Two runs finishing together: the second waits the instant the first holds the
    ``latest`` link's lock instead of failing (a lock held longer is still refused)."""
    import subprocess
    import sys
    import time

    import pytest

    from transport.errors import OutputError
    from transport.runs.lock import output_lock

    root = tmp_path / "runs"
    (root / "2026-09-01").mkdir(parents=True)
    link = root / "latest"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from transport.runs.lock import output_lock\n"
         f"with output_lock({str(link)!r}):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(float(sys.argv[1]))\n", "0.8"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        with (
            pytest.raises(OutputError, match="another sen-transport run"),
            output_lock(link, what="the latest link"),
        ):
            pass
        started = time.monotonic()
        update_latest(root, root / "2026-09-01")  # waits for the holder, then moves latest
        assert time.monotonic() - started < 10
        assert link.is_symlink() and link.resolve() == (root / "2026-09-01").resolve()
    finally:
        holder.kill()
        holder.wait()
