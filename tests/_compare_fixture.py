"""Build a compare folder in the agreed layout without the compare engine (report tests only).

The layout is /work/notes/compare-layout.md (documented in docs/formats.md): comparison.csv
and comparison.json at the top, one ordinary solve run folder per scenario under scenarios/.
Each scenario here is a real solve of the data folder under one placement policy; the PTB
figures, which need a budgets run, are stipulated by the caller (``ptb``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transport.data.validate import read_dataset
from transport.jobs import solve_job
from transport.routing import RoutingOptions

TARGET = 1_500_000.0


def columns(vehicle_types: Sequence[str]) -> list[str]:
    """comparison.csv's columns, in the agreed order."""
    return [
        "scenario", "description", "policy", "scope", "prices", "network", "pupils",
        "pupils_routed", "unrouted", "unplaced", "annual_transport_cost", "annual_place_cost",
        "ptb_offers", "ptb_expected_saving", "ptb_saving_p5", "ptb_saving_p95",
        "annual_total_cost", "saving_vs_baseline", "target", "target_progress", "routes",
        *(f"vehicles_{v}" for v in vehicle_types),
        "passenger_assistants", "mean_ride_min", "max_ride_min", "pupils_over_45_min",
        "pupils_over_75_min", "independent_or_out_of_county", "places_missing",
        "places_added", "wall_time_s",
    ]  # fmt: skip


def make_compare_dir(
    out: Path,
    data_dir: Path,
    scenarios: Sequence[tuple[str, str]] = (
        ("baseline", "keep"),
        ("nearest-suitable", "nearest-suitable"),
        ("optimal", "optimal"),
    ),
    *,
    ptb: Mapping[str, tuple[int, float, float, float]] | None = None,
    time_limit_s: float = 1.0,
    target: float = TARGET,
) -> Path:
    """Solve each (name, policy) and write comparison.csv/.json; return ``out``.

    ``ptb`` maps a scenario name to (offers, expected saving, p5, p95).
    """
    ptb = dict(ptb or {})
    data = read_dataset(data_dir)
    vtypes = [v.vehicle_type for v in data.vehicles]
    independent = {s.school_id for s in data.schools if s.kind == "independent"}
    rows: list[dict[str, Any]] = []
    for name, policy in scenarios:
        run = out / "scenarios" / name
        s = solve_job(
            data_dir,
            run,
            policy=policy,
            options=RoutingOptions(time_limit_s=time_limit_s, workers=1),
            scenario=name,
        )
        offers, saving, p5, p95 = ptb.get(name, (0, 0.0, 0.0, 0.0))
        placed = list(csv.DictReader((run / "placements.csv").open(encoding="utf-8")))
        shortfall = (run / "shortfall.csv").exists()
        missing = 0
        if shortfall:
            missing = sum(
                int(r["missing"])
                for r in csv.DictReader((run / "shortfall.csv").open(encoding="utf-8"))
            )
        transport, place = s["annual_transport_cost"], s["annual_place_cost"]
        row: dict[str, Any] = {
            "scenario": name,
            "description": f"Every pupil placed by the {policy} policy",
            "policy": policy,
            "scope": "all",
            "prices": "2013",
            "network": "crow-fly",
            "pupils": s["pupils"],
            "pupils_routed": s["pupils_routed"],
            "unrouted": len(s["unrouted"]),
            "unplaced": len(s["unplaced"]),
            "annual_transport_cost": round(transport, 2),
            "annual_place_cost": round(place, 2),
            "ptb_offers": offers,
            "ptb_expected_saving": saving,
            "ptb_saving_p5": p5,
            "ptb_saving_p95": p95,
            "annual_total_cost": round(transport + place - saving, 2),
            "routes": s["routes"],
            **{f"vehicles_{v}": s["vehicles_by_type"].get(v, 0) for v in vtypes},
            "passenger_assistants": s["passenger_assistants"],
            "mean_ride_min": s["mean_ride_min"],
            "max_ride_min": s["max_ride_min"],
            "pupils_over_45_min": s["pupils_over_45_min"],
            "pupils_over_75_min": s["pupils_over_75_min"],
            "independent_or_out_of_county": sum(r["school_id"] in independent for r in placed),
            "places_missing": missing,
            "places_added": 0,
            "wall_time_s": s["wall_time_s"],
        }
        rows.append(row)
    base = rows[0]["annual_total_cost"]
    for row in rows:
        row["saving_vs_baseline"] = round(base - row["annual_total_cost"], 2)
        row["target"] = target
        row["target_progress"] = round(row["saving_vs_baseline"] / target, 6)
    cols = columns(vtypes)
    with open(out / "comparison.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(cols)
        writer.writerows([[row[c] for c in cols] for row in rows])
    meta = {
        "baseline": rows[0]["scenario"],
        "target": target,
        "data": str(data_dir),
        "vehicle_types": vtypes,
        "scenarios": [
            {
                **{c: row[c] for c in cols},
                "run_dir": f"scenarios/{row['scenario']}",
                "budgets_dir": None,
                "shortfall_csv": (
                    f"scenarios/{row['scenario']}/shortfall.csv"
                    if (out / "scenarios" / row["scenario"] / "shortfall.csv").exists()
                    else None
                ),
                "capacity_csv": None,
                "vehicles_by_type": {v: row[f"vehicles_{v}"] for v in vtypes},
                "reused": [],
            }
            for row in rows
        ],
    }
    (out / "comparison.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out
