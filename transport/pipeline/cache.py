"""The stage cache: stage results stored as JSON under a hash of everything they depend on.

A stage's key is the sha256 of a canonical JSON document of its inputs (the data set, settings,
the travel model's description) and of the code that computes it: the source of every engine
module in the layers the stage runs (:func:`code_digest`, found by walking ``transport/``, so a
new module is covered without a list to maintain) and the versions of Python and of every
package the engine depends on (the solvers among them). A result is re-used only when none of
these changed. Entries are written atomically and readable by their owner only; an unreadable
entry is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from transport.layers import layer_of, rank
from transport.model import Dataset
from transport.runs.atomic import atomic_write_text

STAGE_LAYERS = {"placement": "placement", "routes": "routing", "budgets": "budgets"}
"""The last layer whose code computes each stage's result."""
ASSEMBLY_LAYERS = ("pipeline", "compare")
"""Layers that assemble the stages (and key them): part of every stage's key."""
FALLBACK_PACKAGES = ("numpy", "scipy", "pandas", "ortools", "pyvrp", "networkx", "osmnx", "pyproj")
"""The packages versioned when the engine runs from a source tree without its metadata."""

ENGINE_ROOT = Path(__file__).resolve().parents[1]


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


def dataset_digest(data: Dataset) -> str:
    """sha256 of a data set's content (schools, pupils, vehicles, pairs; not its folder name)."""
    return digest(
        {
            "schools": [_row(s) for s in data.schools],
            "pupils": [_row(p) for p in data.pupils],
            "vehicles": [_row(v) for v in data.vehicles],
            "incompatible": [list(pair) for pair in data.incompatible],
        }
    )


def _row(item: Any) -> list[Any]:
    return [sorted(v) if isinstance(v, frozenset) else v for v in asdict(item).values()]


def engine_modules(stage: str, root: Path = ENGINE_ROOT) -> list[Path]:
    """The source files whose code a stage's result depends on, found by walking ``root``.

    Every ``*.py`` of the engine in a layer up to the stage's own (and the layers that assemble
    the stages); a module of no known layer counts for every stage.
    """
    last = rank(STAGE_LAYERS[stage])
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        layer = layer_of(".".join(parts))
        if layer is None or rank(layer) <= last or layer in ASSEMBLY_LAYERS:
            out.append(path)
    return out


def versions() -> dict[str, str]:
    """Python's version and the installed version of every package the engine requires."""
    try:
        names = [_requirement_name(r) for r in metadata.requires("sen-transport") or ()]
    except metadata.PackageNotFoundError:
        names = list(FALLBACK_PACKAGES)
    out = {"python": platform.python_version()}
    for name in sorted({n for n in names if n}):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _requirement_name(requirement: str) -> str | None:
    """The package name of a requirement, None for an optional extra's (``; extra == …``)."""
    if "extra ==" in requirement:
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return match.group(0).lower() if match else None


_CODE: dict[str, str] = {}


def code_digest(stage: str, *, root: Path | None = None) -> str:
    """sha256 of the engine's code behind a stage (its modules' source and the versions).

    Computed once per process for the installed engine; ``root`` digests another source tree
    (tests).
    """
    if root is None and stage in _CODE:
        return _CODE[stage]
    base = root or ENGINE_ROOT
    h = hashlib.sha256()
    for path in engine_modules(stage, base):
        h.update(str(path.relative_to(base)).encode("utf-8") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(digest(versions()).encode("ascii"))
    if root is None:
        _CODE[stage] = h.hexdigest()
    return h.hexdigest()


class StageCache:
    """JSON entries ``<folder>/<stage>/<key>.json``; ``folder=None`` caches nothing."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    @property
    def active(self) -> bool:
        """Whether entries are kept at all: without, a caller skips computing keys and the
        JSON forms of results (seconds on a large data set) that nothing would read."""
        return self.folder is not None

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
        atomic_write_text(path, json.dumps(value, separators=(",", ":"), default=str))
