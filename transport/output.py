"""Write a run folder: the contract's CSV files and summary.json, atomically.

A run is written into a temporary folder beside its destination and moved into place only when
every file is complete, so a run that is killed never leaves a partial folder and never
destroys the previous run. Files are created readable by their owner only (pupil data is
special-category personal data).

Formats (columns in order; money in £ with two decimals, times in minutes with one decimal):

``placements.csv``
    pupil_id, school_id, policy, road_miles, direct_min
``shortfall.csv`` (``nearest-suitable`` only)
    school_id, need, demand, capacity, missing
``routes.csv``
    route_id, school_id, vehicle_type, has_pa (0/1), pupils (pupil ids in pickup order,
    ``;``-separated), route_miles, annual_cost
``stops.csv``
    route_id, seq (1 = first pickup), pupil_id, pickup (HH:MM), ride_min
``summary.json``
    pupils, routes, annual_transport_cost, annual_place_cost, unplaced, unrouted,
    parameters, and whatever the stage adds.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.errors import InputError, Problem
from transport.model import Placement, PlacementResult, Route, Stop, format_hhmm

PLACEMENT_COLUMNS = ("pupil_id", "school_id", "policy", "road_miles", "direct_min")
SHORTFALL_COLUMNS = ("school_id", "need", "demand", "capacity", "missing")
ROUTE_COLUMNS = (
    "route_id",
    "school_id",
    "vehicle_type",
    "has_pa",
    "pupils",
    "route_miles",
    "annual_cost",
)
STOP_COLUMNS = ("route_id", "seq", "pupil_id", "pickup", "ride_min")
FILE_MODE = 0o600


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write one CSV file, readable by its owner only."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    os.chmod(path, FILE_MODE)


def placement_rows(result: PlacementResult) -> list[tuple[Any, ...]]:
    return [
        (p.pupil_id, p.school_id, p.policy, f"{p.road_miles:.2f}", f"{p.direct_min:.1f}")
        for p in result.placements
    ]


def route_rows(routes: Sequence[Route]) -> list[tuple[Any, ...]]:
    return [
        (
            r.route_id,
            r.school_id,
            r.vehicle_type,
            int(r.has_pa),
            ";".join(r.pupils),
            f"{r.route_miles:.2f}",
            f"{r.annual_cost:.2f}",
        )
        for r in routes
    ]


def stop_rows(stops: Sequence[Stop]) -> list[tuple[Any, ...]]:
    return [
        (s.route_id, s.seq, s.pupil_id, format_hhmm(s.pickup), f"{s.ride_min:.1f}") for s in stops
    ]


def write_run(
    out_dir: str | Path,
    *,
    summary: dict[str, Any],
    placements: PlacementResult | None = None,
    routes: Sequence[Route] | None = None,
    stops: Sequence[Stop] | None = None,
    extra: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] | None = None,
) -> Path:
    """Write a run folder atomically and return its path.

    Parameters
    ----------
    out_dir
        The run folder; an existing one is replaced only once the new one is complete.
    summary
        The JSON-able summary.
    placements, routes, stops
        Results to write as the contract's CSV files (each optional).
    extra
        More CSV files: ``{file_name: (columns, rows)}``.
    """
    target = Path(out_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        if placements is not None:
            write_csv(tmp / "placements.csv", PLACEMENT_COLUMNS, placement_rows(placements))
            if placements.shortfall:
                write_csv(
                    tmp / "shortfall.csv",
                    SHORTFALL_COLUMNS,
                    [
                        (s.school_id, s.need, s.demand, s.capacity, s.missing)
                        for s in placements.shortfall
                    ],
                )
        if routes is not None:
            write_csv(tmp / "routes.csv", ROUTE_COLUMNS, route_rows(routes))
        if stops is not None:
            write_csv(tmp / "stops.csv", STOP_COLUMNS, stop_rows(stops))
        for name, (columns, rows) in (extra or {}).items():
            write_csv(tmp / name, columns, rows)
        summary_path = tmp / "summary.json"
        summary_path.write_text(
            json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8"
        )
        os.chmod(summary_path, FILE_MODE)
        os.chmod(tmp, 0o700)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _replace_dir(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an existing ``target`` survives until the move is done."""
    if not target.exists():
        os.rename(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class RunFiles:
    """A run folder read back from its files (what a later stage or a checker starts from)."""

    folder: Path
    summary: dict[str, Any]
    placements: tuple[Placement, ...]
    routes: tuple[Route, ...]
    stops: tuple[Stop, ...]


def read_run(run_dir: str | Path) -> RunFiles:
    """Read a run folder written by :func:`write_run` (routes and stops may be absent).

    Raises
    ------
    InputError
        When the folder, placements.csv or summary.json is missing or a file is malformed.
    """
    folder = Path(run_dir)
    problems: list[Problem] = []
    for name in ("placements.csv", "summary.json"):
        if not (folder / name).exists():
            problems.append(Problem(name, None, None, f"missing from run folder {folder}"))
    if problems:
        raise InputError(problems)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        placements = tuple(
            Placement(
                r["pupil_id"],
                r["school_id"],
                r["policy"],
                float(r["road_miles"]),
                float(r["direct_min"]),
            )
            for r in _rows(folder / "placements.csv")
        )
        routes: tuple[Route, ...] = ()
        stops: tuple[Stop, ...] = ()
        if (folder / "routes.csv").exists():
            routes = tuple(
                Route(
                    r["route_id"],
                    r["school_id"],
                    r["vehicle_type"],
                    r["has_pa"] == "1",
                    tuple(p for p in r["pupils"].split(";") if p),
                    float(r["route_miles"]),
                    float(r["annual_cost"]),
                )
                for r in _rows(folder / "routes.csv")
            )
        if (folder / "stops.csv").exists():
            stops = tuple(
                Stop(
                    r["route_id"],
                    int(r["seq"]),
                    r["pupil_id"],
                    _minutes(r["pickup"]),
                    float(r["ride_min"]),
                )
                for r in _rows(folder / "stops.csv")
            )
    except (KeyError, ValueError, json.JSONDecodeError) as exc:
        raise InputError([Problem(str(folder), None, None, f"not a readable run: {exc}")]) from None
    return RunFiles(folder, summary, placements, routes, stops)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _minutes(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")[:2]
    return int(hours) * 60 + int(minutes)
