"""The comparison table: its columns, the savings against the baseline, CSV and JSON files."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transport.runs.atomic import atomic_open, atomic_write_text

HEAD_COLUMNS = (
    "scenario",
    "description",
    "policy",
    "scope",
    "prices",
    "network",
    "pupils",
    "pupils_routed",
    "unrouted",
    "unplaced",
    "annual_transport_cost",
    "annual_place_cost",
    "ptb_offers",
    "ptb_expected_saving",
    "ptb_saving_p5",
    "ptb_saving_p95",
    "annual_total_cost",
    "saving_vs_baseline",
    "target",
    "target_progress",
    "routes",
)
TAIL_COLUMNS = (
    "passenger_assistants",
    "mean_ride_min",
    "max_ride_min",
    "pupils_over_45_min",
    "pupils_over_75_min",
    "pupils_over_limit",
    "over_limit_long_direct",
    "over_limit_shared_saving",
    "pm_pupils_over_limit",
    "independent_or_out_of_county",
    "places_missing",
    "places_added",
    "wall_time_s",
)
MONEY = {
    "annual_transport_cost",
    "annual_place_cost",
    "ptb_expected_saving",
    "ptb_saving_p5",
    "ptb_saving_p95",
    "annual_total_cost",
    "saving_vs_baseline",
    "target",
}
ONE_DECIMAL = {"mean_ride_min", "max_ride_min", "wall_time_s"}


def columns(vehicle_types: Sequence[str]) -> tuple[str, ...]:
    """comparison.csv's columns: one ``vehicles_<type>`` per vehicle type, in file order."""
    return HEAD_COLUMNS + tuple(f"vehicles_{t}" for t in vehicle_types) + TAIL_COLUMNS


def add_savings(rows: list[dict[str, Any]]) -> None:
    """Fill ``saving_vs_baseline`` and ``target_progress``; the first row is the baseline."""
    base = rows[0]["annual_total_cost"]
    for row in rows:
        saving = round(base - row["annual_total_cost"], 2)
        row["saving_vs_baseline"] = saving
        row["target_progress"] = round(saving / row["target"], 4) if row["target"] else None


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in MONEY:
        return f"{value:.2f}"
    if name in ONE_DECIMAL:
        return f"{value:.1f}"
    if name == "target_progress":
        return f"{value:.4f}"
    return str(value)


def write_comparison(
    out_dir: Path,
    *,
    rows: list[dict[str, Any]],
    extras: list[dict[str, Any]],
    vehicle_types: Sequence[str],
    data_source: str,
) -> dict[str, Any]:
    """Write comparison.csv and comparison.json (each atomically, owner-only); return the JSON."""
    cols = columns(vehicle_types)
    with atomic_open(out_dir / "comparison.csv", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(cols)
        writer.writerows([[_cell(c, row.get(c)) for c in cols] for row in rows])
    doc = {
        "baseline": rows[0]["scenario"],
        "target": rows[0]["target"],
        "data": data_source,
        "vehicle_types": list(vehicle_types),
        "columns": list(cols),
        "scenarios": [
            {**{c: row.get(c) for c in cols}, **extra}
            for row, extra in zip(rows, extras, strict=True)
        ],
    }
    atomic_write_text(out_dir / "comparison.json", json.dumps(doc, indent=2) + "\n")
    return doc
