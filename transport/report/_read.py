"""Read a compare folder (see docs/formats.md, "Compare folder") for the report."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.data.load import csv_records, decode_text, read_file_bytes
from transport.data.validate import read_dataset
from transport.errors import InputError, Problem
from transport.model import Dataset
from transport.runs.manifest import check_unchanged
from transport.runs.read import RunFiles, read_run


@dataclass(frozen=True)
class ScenarioView:
    """One scenario of a compare folder: its comparison row and its run folder's files."""

    name: str
    row: Mapping[str, Any]
    folder: Path
    run: RunFiles
    shortfall: tuple[Mapping[str, str], ...]
    capacity: tuple[Mapping[str, str], ...]

    def number(self, key: str, default: float = 0.0) -> float:
        """A numeric field of the comparison row (a list counts its items; blank → default)."""
        value = self.row.get(key)
        if isinstance(value, list | tuple):
            return float(len(value))
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            return default


@dataclass(frozen=True)
class CompareView:
    """A compare folder read back: scenarios in order (the first is the baseline)."""

    folder: Path
    baseline: str
    target: float
    vehicle_types: tuple[str, ...]
    scenarios: tuple[ScenarioView, ...]
    data: Dataset
    meta: Mapping[str, Any]

    def best(self) -> ScenarioView | None:
        """The scenario with the largest saving against the baseline (None with one scenario)."""
        others = [s for s in self.scenarios if s.name != self.baseline]
        if not others:
            return None
        return max(others, key=lambda s: s.number("saving_vs_baseline"))


def read_compare(compare_dir: str | Path, *, data_dir: str | Path | None = None) -> CompareView:
    """Read comparison.json, every scenario's run folder and the data folder.

    Parameters
    ----------
    compare_dir
        The folder written by ``sen-transport compare``.
    data_dir
        The data folder the scenarios were run on (school and home locations); by default the
        ``data`` named in comparison.json.

    Raises
    ------
    InputError
        When comparison.json, a run folder or the data folder is missing or unreadable.
    """
    folder = Path(compare_dir)
    path = folder / "comparison.json"
    if not path.exists():
        raise InputError([Problem(str(path), None, None, "missing: not a compare folder")])
    meta, rows = _comparison(path)
    check_unchanged(folder)
    data_path = Path(data_dir) if data_dir is not None else _data_from(meta, path)
    data = read_dataset(data_path)

    scenarios = []
    for row in rows:
        name = str(row.get("scenario", ""))
        run_dir = _inside(folder, row.get("run_dir") or f"scenarios/{name}", path)
        scenarios.append(
            ScenarioView(
                name=name,
                row=row,
                folder=run_dir,
                run=read_run(run_dir, routes=True, data=data),
                shortfall=_optional_csv(folder, row.get("shortfall_csv"), path),
                capacity=_optional_csv(folder, row.get("capacity_csv"), path),
            )
        )
    baseline = str(meta.get("baseline") or scenarios[0].name)
    vehicle_types = tuple(meta.get("vehicle_types") or (v.vehicle_type for v in data.vehicles))
    return CompareView(
        folder=folder,
        baseline=baseline,
        target=float(meta.get("target") or 1_500_000.0),
        vehicle_types=vehicle_types,
        scenarios=tuple(scenarios),
        data=data,
        meta=meta,
    )


def _comparison(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """comparison.json: an object whose ``scenarios`` is a non-empty list of objects."""

    def fail(message: str) -> InputError:
        return InputError([Problem(str(path), None, None, message)])

    try:
        meta = json.loads(read_file_bytes(path).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise fail(f"not readable: {exc}") from None
    except RecursionError:
        raise fail("not readable: nested too deeply") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("scenarios"), list):
        raise fail("not readable: not an object with a list of scenarios")
    rows = meta["scenarios"]
    if not rows:
        raise fail("holds no scenario")
    if not all(isinstance(r, dict) for r in rows):
        raise fail("not readable: each scenario must be an object")
    for key in ("vehicle_types",):
        if key in meta and not (
            isinstance(meta[key], list) and all(isinstance(v, str) for v in meta[key])
        ):
            raise fail(f"not readable: {key} must list names")
    if "target" in meta and not isinstance(meta["target"], int | float | type(None)):
        raise fail("not readable: target must be a number")
    return meta, rows


def _inside(folder: Path, rel: Any, source: Path) -> Path:
    """``folder/rel``, refused unless it stays inside ``folder`` (a report writes there)."""
    path = folder / str(rel)
    real, root = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    if not isinstance(rel, str) or Path(rel).is_absolute() or root not in real.parents:
        raise InputError(
            [Problem(str(source), None, None, f"names {rel!r}, which is not inside the folder")]
        )
    return path


def _data_from(meta: Mapping[str, Any], path: Path) -> Path:
    data = meta.get("data")
    if data and Path(str(data)).is_dir():
        return Path(str(data))
    raise InputError(
        [Problem(str(path), None, None, f"data folder {data!r} not found: give the data folder")]
    )


def _optional_csv(folder: Path, rel: Any, source: Path) -> tuple[Mapping[str, str], ...]:
    if not rel:
        return ()
    path = _inside(folder, rel, source)
    if not path.exists():
        return ()
    records = csv_records(decode_text(read_file_bytes(path), file=path.name), file=path.name)
    if not records:
        return ()
    header = [h.strip() for h in records[0][1]]
    return tuple(dict(zip(header, cells, strict=False)) for _, cells in records[1:] if any(cells))
