"""transport.runs.atomic: a file is replaced whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from transport.runs.atomic import atomic_open, atomic_write_bytes, atomic_write_text


def test_writes_private_file(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01", mode=0o644)
    assert stat.S_IMODE(os.stat(tmp_path / "b.bin").st_mode) == 0o644


def test_failure_leaves_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_open(path) as fh:
        fh.write("new, half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
