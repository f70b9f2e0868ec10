"""Shared fixtures: tiny data folders, and a real compare folder of the tiny data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
COMPARED = ("baseline", "nearest-suitable", "optimal-placement", "ptb-trial")
"""The shipped scenarios compared by :func:`compare_dir` (every report section has data)."""


@pytest.fixture
def tiny_dir() -> Path:
    return TINY


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny data folder, for tests that break it."""
    out = tmp_path / "tiny"
    shutil.copytree(TINY, out)
    return out


@pytest.fixture(scope="session")
def compare_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ``sen-transport compare`` of shipped scenarios on the tiny data, report included.

    Run once per session through the command line, so the report tests read exactly what
    compare writes. Tests that rewrite report.html leave it as the command wrote it.
    """
    from click.testing import CliRunner

    from transport.cli.main import cli

    out = tmp_path_factory.mktemp("compare") / "out"
    files = [str(SCENARIOS / f"{name}.toml") for name in COMPARED]
    args = ["compare", *files, "--data", str(TINY), "--out", str(out)]
    fast = ["--time-limit", "2", "--workers", "1", "--draws", "200", "--quiet"]
    result = CliRunner().invoke(cli, [*args, *fast], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out
