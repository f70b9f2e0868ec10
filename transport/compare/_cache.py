"""The compare engine's private cache: stage results stored as JSON under a hash of their inputs.

A stage's key is the sha256 of a canonical JSON document of everything its result depends on
(data files, settings, the travel model's description, the engine's own source code), so a
result is re-used only when none of its inputs changed. Files are written atomically and
readable by their owner only; an unreadable entry is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from transport.runs.write import FILE_MODE

PLACEMENT_SOURCES = (
    "model.py",
    "units.py",
    "data",
    "travel",
    "placement",
    "costing.py",
    "scenario.py",
    "compare/_cache.py",
    "compare/_run.py",
)
STAGE_SOURCES = {
    "placement": PLACEMENT_SOURCES,
    "routes": (*PLACEMENT_SOURCES, "routing"),
    "budgets": (*PLACEMENT_SOURCES, "routing", "budgets"),
}
"""Modules (files or packages of :mod:`transport`) whose source is part of each stage's key."""


def digest(value: Any) -> str:
    """sha256 of a value's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files_digest(folder: str | Path, names: list[str] | None = None) -> str:
    """sha256 over the named files of a folder (default: every ``*.csv``), names included."""
    folder = Path(folder)
    paths = (
        sorted(folder / n for n in names)
        if names is not None
        else sorted(p for p in folder.glob("*.csv") if p.is_file())
    )
    h = hashlib.sha256()
    for path in paths:
        if not path.exists():
            continue
        h.update(path.name.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


_CODE: dict[str, str] = {}


def code_digest(stage: str) -> str:
    """sha256 of the engine's source files that produce a stage's result (computed once)."""
    if stage not in _CODE:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for name in STAGE_SOURCES[stage]:
            path = root / name
            files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
            for f in files:
                if f.exists():
                    h.update(str(f.relative_to(root)).encode("utf-8") + b"\0")
                    h.update(hashlib.sha256(f.read_bytes()).digest())
        _CODE[stage] = h.hexdigest()
    return _CODE[stage]


class StageCache:
    """JSON entries ``<folder>/<stage>/<key>.json``; ``folder=None`` caches nothing."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def _path(self, stage: str, key: str) -> Path | None:
        return None if self.folder is None else self.folder / stage / f"{key}.json"

    def get(self, stage: str, key: str) -> Any | None:
        path = self._path(stage, key)
        if path is None or not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, stage: str, key: str, value: Any) -> None:
        path = self._path(stage, key)
        if path is None:
            return
        for folder in (path.parent.parent, path.parent):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=path.parent)
        try:
            with open(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, separators=(",", ":"), default=str)
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
