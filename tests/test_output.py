import os
import stat

import pytest

from transport.output import write_run
from transport.placement import place_pupils
from transport.validate import read_dataset


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
    from transport.output import read_run

    result = place_pupils(read_dataset(tiny_dir), policy="optimal")
    write_run(tmp_path / "run", summary={"pupils": 12}, placements=result)
    back = read_run(tmp_path / "run")
    assert [p.school_id for p in back.placements] == [p.school_id for p in result.placements]
    assert back.summary == {"pupils": 12} and back.routes == () and back.stops == ()


def test_read_run_of_a_non_run_reports_missing_files(tmp_path):
    from transport.errors import InputError
    from transport.output import read_run

    with pytest.raises(InputError, match="placements.csv"):
        read_run(tmp_path)
