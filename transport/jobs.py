"""Jobs: the whole pipeline for one command, from a data folder to a written run folder.

This is the top of the one-way pipeline: it may import every stage. Each job returns the
summary it wrote, so that the command line can render it and tests can check it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transport.model import Dataset, Parameters, PlacementResult
from transport.output import write_run
from transport.placement import place_pupils, summarise_placement
from transport.travel import CrowFlyModel, TravelModel
from transport.validate import read_dataset


def placement_summary(
    data: Dataset, result: PlacementResult, *, params: Parameters, travel: TravelModel
) -> dict[str, Any]:
    """The summary.json of a placement run (contract keys first)."""
    totals = summarise_placement(data, result, params)
    return {
        "stage": "place",
        "policy": result.policy,
        "data": data.source,
        "pupils": len(data.pupils),
        "routes": 0,
        "annual_transport_cost": None,
        "annual_place_cost": totals["annual_place_cost"],
        "unplaced": [u.pupil_id for u in result.unplaced],
        "unplaced_reasons": {u.pupil_id: u.reason for u in result.unplaced},
        "unrouted": [],
        "placement": totals,
        "shortfall_by_need": _shortfall_by_need(result),
        "parameters": {
            **params.to_dict(),
            "travel_model": travel.describe(),
            "policy": result.policy,
        },
    }


def _shortfall_by_need(result: PlacementResult) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in result.shortfall:
        out[s.need] = out.get(s.need, 0) + s.missing
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def place_job(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    policy: str,
    params: Parameters | None = None,
    travel: TravelModel | None = None,
) -> dict[str, Any]:
    """Read a data folder, place every pupil under ``policy`` and write the run folder.

    Writes placements.csv, summary.json and, for ``nearest-suitable``, shortfall.csv.
    Returns the summary.
    """
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    data = read_dataset(data_dir)
    result = place_pupils(data, policy=policy, travel=travel, params=params)
    summary = placement_summary(data, result, params=params, travel=travel)
    write_run(out_dir, summary=summary, placements=result)
    return summary
