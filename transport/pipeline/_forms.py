"""Results in the forms they are kept in: as the run's files hold them, and as cached JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from transport.model import (
    Placement,
    PlacementResult,
    RideExplanation,
    Route,
    Shortfall,
    Stop,
    Unplaced,
    Unrouted,
)
from transport.routing import RoutePlan
from transport.runs.write import RunFiles, placement_rows, route_rows, stop_rows
from transport.travel import TravelModel


def as_written(placements: PlacementResult, plan: RoutePlan) -> RunFiles:
    """The run as :func:`transport.runs.write.read_run` reads it back from its files.

    Miles and money rounded as routes.csv and placements.csv write them (2 decimals; minutes
    1, pickups to the minute), through the writer's own row functions, so that what a later
    stage computes on a run just planned equals what it computes on the written folder.
    """
    placed = tuple(
        Placement(pid, sid, policy, float(miles), float(minutes), code, why, tuple(nearer))
        for pid, sid, policy, miles, minutes, code, why, nearer in (
            (*row[:7], [s for s in row[7].split(";") if s]) for row in placement_rows(placements)
        )
    )
    routes = tuple(
        Route(
            rid, sid, vtype, pa == 1, tuple(p for p in pupils.split(";") if p), float(m), float(c)
        )
        for rid, sid, vtype, pa, pupils, m, c in route_rows(plan.routes)
    )
    stops = tuple(
        Stop(rid, int(seq), pid, _minutes(pickup), float(ride))
        for rid, seq, pid, pickup, ride, *_ in stop_rows(plan.stops)
    )
    return RunFiles(Path(), {}, placed, routes, stops)


def _minutes(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")[:2]
    return int(hours) * 60 + int(minutes)


def travel_key(travel: TravelModel) -> dict[str, Any]:
    described = dict(travel.describe())
    described.pop("far_snaps", None)
    return described


def placement_json(result: PlacementResult) -> dict[str, Any]:
    return {
        "policy": result.policy,
        "placements": [asdict(p) for p in result.placements],
        "unplaced": [asdict(u) for u in result.unplaced],
        "shortfall": [asdict(s) for s in result.shortfall],
    }


def placement_from(doc: Mapping[str, Any]) -> PlacementResult:
    return PlacementResult(
        doc["policy"],
        tuple(
            Placement(**{**p, "nearer_full": tuple(p.get("nearer_full") or ())})
            for p in doc["placements"]
        ),
        tuple(Unplaced(**u) for u in doc["unplaced"]),
        tuple(Shortfall(**s) for s in doc["shortfall"]),
    )


def plan_json(plan: RoutePlan) -> dict[str, Any]:
    return {
        "routes": [asdict(r) for r in plan.routes],
        "stops": [asdict(s) for s in plan.stops],
        "unrouted": [asdict(u) for u in plan.unrouted],
        "school_status": plan.school_status,
        "info": plan.info,
        "explanations": [asdict(e) for e in plan.explanations],
    }


def plan_from(doc: Mapping[str, Any]) -> RoutePlan:
    return RoutePlan(
        routes=tuple(Route(**{**r, "pupils": tuple(r["pupils"])}) for r in doc["routes"]),
        stops=tuple(Stop(**s) for s in doc["stops"]),
        unrouted=tuple(Unrouted(**u) for u in doc["unrouted"]),
        school_status=dict(doc["school_status"]),
        info=dict(doc["info"]),
        explanations=tuple(
            RideExplanation(
                **{
                    **e,
                    "saving_basis": tuple(e["saving_basis"])
                    if e.get("saving_basis") is not None
                    else None,
                }
            )
            for e in doc.get("explanations") or ()
        ),
    )
