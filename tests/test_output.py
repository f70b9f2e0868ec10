import os
import stat

import pytest

from transport.data.validate import read_dataset
from transport.errors import OutputError
from transport.placement import place_pupils
from transport.runs.write import write_run


def test_files_are_owner_only_and_replaced_atomically(tiny_dir, tmp_path):
    result = place_pupils(read_dataset(tiny_dir), policy="keep")
    out = tmp_path / "run"
    write_run(out, summary={"n": 1}, placements=result)
    for path in out.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    write_run(out, summary={"n": 2}, placements=result)
    assert (out / "summary.json").read_text().strip().endswith("}")
    assert '"n": 2' in (out / "summary.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folders left


def test_failed_write_keeps_previous_run(tiny_dir, tmp_path):
    result = place_pupils(read_dataset(tiny_dir), policy="keep")
    out = tmp_path / "run"
    write_run(out, summary={"n": 1}, placements=result)
    with pytest.raises(TypeError):
        write_run(out, summary={"n": object()}, placements=result)  # not JSON-able
    assert '"n": 1' in (out / "summary.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_read_run_round_trips_placements(tiny_dir, tmp_path):
    from transport.runs.write import read_run

    result = place_pupils(read_dataset(tiny_dir), policy="optimal")
    write_run(tmp_path / "run", summary={"pupils": 12}, placements=result)
    back = read_run(tmp_path / "run")
    assert [p.school_id for p in back.placements] == [p.school_id for p in result.placements]
    assert back.summary == {"pupils": 12} and back.routes == () and back.stops == ()


def test_read_run_of_a_non_run_reports_missing_files(tmp_path):
    from transport.errors import InputError
    from transport.runs.write import read_run

    with pytest.raises(InputError, match="placements.csv"):
        read_run(tmp_path)


def test_stale_temporary_folders_of_dead_runs_are_removed(tiny_dir, tmp_path):
    import subprocess
    import sys
    import time

    from transport.runs.write import STALE_AFTER_S, clean_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    mine = os.getpid()
    names = {
        f".run.tmp-{dead.pid}-abc": False,  # a killed run: removed
        f".run.old-{dead.pid}-abc": False,
        f".run.tmp-{mine}-abc": True,  # a run still writing (this process): kept
        ".run.stage-xyz": True,  # no process id, recent: kept
        ".run.stage-old": False,  # no process id, old: removed
        f".other.tmp-{dead.pid}-abc": True,  # another run's: not ours to clean
        "run2": True,
        ".hidden": True,
    }
    for name in names:
        (tmp_path / name).mkdir()
    past = time.time() - STALE_AFTER_S - 60
    os.utime(tmp_path / ".run.stage-old", (past, past))
    removed = clean_stale(tmp_path, name="run")
    assert sorted(p.name for p in removed) == sorted(k for k, keep in names.items() if not keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(k for k, v in names.items() if v)
    # without a name, every run's stale folders (a runs/ folder of dated runs)
    clean_stale(tmp_path)
    assert not (tmp_path / f".other.tmp-{dead.pid}-abc").exists()


def test_write_run_cleans_stale_folders_and_keeps_the_old_until_done(tiny_dir, tmp_path):
    import subprocess
    import sys

    result = place_pupils(read_dataset(tiny_dir), policy="keep")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "run"
    write_run(out, summary={"n": 1}, placements=result)
    stale = tmp_path / f".run.tmp-{dead.pid}-zz"
    stale.mkdir()
    (stale / "placements.csv").write_text("partial")
    write_run(out, summary={"n": 2}, placements=result, texts={"note.html": "<p>x</p>"})
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert (out / "note.html").read_text() == "<p>x</p>"
    assert stat.S_IMODE(os.stat(out / "note.html").st_mode) == 0o600


def test_replace_without_an_atomic_exchange(tiny_dir, tmp_path, monkeypatch):
    """Where renameat2 is missing: two renames, the previous run back if the second fails."""
    import transport.runs.write as output

    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    result = place_pupils(read_dataset(tiny_dir), policy="keep")
    out = tmp_path / "run"
    write_run(out, summary={"n": 1}, placements=result)
    write_run(out, summary={"n": 2}, placements=result)
    assert '"n": 2' in (out / "summary.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    real_rename = os.rename

    def failing(src, dst):
        if ".tmp-" in str(src):
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", failing)
    with pytest.raises(OutputError, match="disk full"):  # a domain error: exit 2
        write_run(out, summary={"n": 3}, placements=result)
    monkeypatch.undo()
    assert '"n": 2' in (out / "summary.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_missing_parent_folders_are_created_owner_only(tiny_dir, tmp_path):
    result = place_pupils(read_dataset(tiny_dir), policy="keep")
    out = tmp_path / "a" / "b" / "run"
    write_run(out, summary={}, placements=result)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", out):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_a_run_too_large_for_memory_stops_with_a_clear_message(tiny_dir, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from transport.cli.main import cli
    from transport.jobs import LimitError, check_memory

    assert check_memory(42_000, 860, available=8 * 2**30) < 8 * 2**30 * 0.8
    with pytest.raises(LimitError, match="run the counties"):
        check_memory(42_000, 860, available=2 * 2**30)
    monkeypatch.setenv("SEN_TRANSPORT_MEMORY_MB", "0.001")
    for command in ("place", "solve"):
        result = CliRunner().invoke(
            cli, [command, "--data", str(tiny_dir), "--out", str(tmp_path / command)]
        )
        assert result.exit_code == 2 and "more than this machine has free" in result.output
        assert "Traceback" not in result.output and not (tmp_path / command).exists()
