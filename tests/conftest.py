"""Shared fixtures: tiny data folders and a helper to build data sets in code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def tiny_dir() -> Path:
    return TINY


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny data folder, for tests that break it."""
    out = tmp_path / "tiny"
    shutil.copytree(TINY, out)
    return out
