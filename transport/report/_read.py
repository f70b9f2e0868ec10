"""Read a compare folder (see docs/formats.md, "Compare folder") for the report."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.data.validate import read_dataset
from transport.errors import InputError, Problem
from transport.model import Dataset
from transport.runs.manifest import check_unchanged
from transport.runs.write import RunFiles, read_run


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
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        rows = list(meta["scenarios"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError([Problem(str(path), None, None, f"not readable: {exc}")]) from None
    if not rows:
        raise InputError([Problem(str(path), None, None, "holds no scenario")])
    check_unchanged(folder)
    data_path = Path(data_dir) if data_dir is not None else _data_from(meta, path)
    data = read_dataset(data_path)

    scenarios = []
    for row in rows:
        name = str(row.get("scenario", ""))
        run_dir = folder / str(row.get("run_dir") or f"scenarios/{name}")
        scenarios.append(
            ScenarioView(
                name=name,
                row=row,
                folder=run_dir,
                run=read_run(run_dir),
                shortfall=_optional_csv(folder, row.get("shortfall_csv")),
                capacity=_optional_csv(folder, row.get("capacity_csv")),
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


def _data_from(meta: Mapping[str, Any], path: Path) -> Path:
    data = meta.get("data")
    if data and Path(str(data)).is_dir():
        return Path(str(data))
    raise InputError(
        [Problem(str(path), None, None, f"data folder {data!r} not found: give the data folder")]
    )


def _optional_csv(folder: Path, rel: Any) -> tuple[Mapping[str, str], ...]:
    if not rel:
        return ()
    path = folder / str(rel)
    if not path.exists():
        return ()
    with open(path, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))
