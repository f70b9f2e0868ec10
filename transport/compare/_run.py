"""One scenario of a comparison: capacity and placement, routes, prices, budgets, its run folder.

Each stage is looked up in the cache first (keyed by a hash of its inputs, see
:mod:`._cache`): a placement by the data files, policy, scope, capacity changes, travel model
and (for ``optimal`` only) prices; routes by the placement itself, the routing settings, the
ride and cost parameters at the data's own prices, the vehicle types and the travel model;
budgets by the routes, the re-priced costs and the ``[budgets]`` table.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from transport.budgets import SavingsModel, assess_cohort, read_attendance, resolve_districts
from transport.budgets.assess import BudgetRow
from transport.budgets.export import budget_summary, write_budget_run
from transport.compare._cache import StageCache, code_digest, digest
from transport.costing import PriceFactors, reprice_dataset, reprice_params, reprice_routes
from transport.jobs import solve_summary
from transport.model import (
    Dataset,
    Parameters,
    Placement,
    PlacementResult,
    Route,
    Shortfall,
    Stop,
    Unplaced,
    Unrouted,
)
from transport.placement import place_pupils
from transport.placement.capacity import (
    CAPACITY_COLUMNS,
    CapacityRow,
    apply_capacity,
    with_capacity,
)
from transport.routing import RoutePlan, RoutingOptions, plan_routes
from transport.runs.write import FILE_MODE, _replace_dir, read_run, write_run
from transport.scenario import NetworkSettings, Scenario
from transport.travel import TravelModel


@dataclass(frozen=True)
class CompareOptions:
    """Overrides applied to every scenario of a comparison (``None``: the scenario's own).

    ``network`` replaces every scenario's ``[travel]`` network settings; ``graph_cache_dir``
    is where road graphs and matrices are cached (``--cache-dir``).
    """

    time_limit_s: float | None = None
    seed: int | None = None
    workers: int | None = None
    backend: str | None = None
    draws: int | None = None
    circuity: float | None = None
    speed_mph: float | None = None
    dwell_min: float | None = None
    network: NetworkSettings | None = None
    graph_cache_dir: Path | None = None


@dataclass
class Context:
    """What every scenario of one comparison shares: data, cache, travel models, options."""

    data: Dataset
    data_dir: Path
    data_digest: str
    cache: StageCache
    options: CompareOptions
    progress: Callable[[str], None]
    travel_models: dict[str, TravelModel] = field(default_factory=dict)

    def travel_model(self, net: NetworkSettings, params: Parameters) -> TravelModel:
        from transport.travel.network import travel_model_from_options

        key = digest([asdict(net), asdict(params.travel)])
        if key not in self.travel_models:
            self.travel_models[key] = travel_model_from_options(
                network=net.network,
                osm_file=net.osm_file,
                osm_place=net.osm_place,
                graphml=net.graphml,
                params=params.travel,
                cache_dir=self.options.graph_cache_dir,
                peak_factor=net.peak_factor,
            )
        return self.travel_models[key]


@dataclass(frozen=True)
class Outcome:
    """A finished scenario: its comparison row and the extra keys of comparison.json."""

    row: dict[str, Any]
    extra: dict[str, Any]


def _settings(sc: Scenario, opts: CompareOptions) -> tuple[Parameters, RoutingOptions]:
    params = sc.parameters()
    given = {"circuity": opts.circuity, "speed_mph": opts.speed_mph, "dwell_min": opts.dwell_min}
    given = {k: v for k, v in given.items() if v is not None}
    if given:
        params = replace(params, travel=replace(params.travel, **given))
    r = sc.routing
    routing = RoutingOptions(
        backend=opts.backend or r.backend,
        time_limit_s=opts.time_limit_s if opts.time_limit_s is not None else r.time_limit_s,
        seed=opts.seed if opts.seed is not None else r.seed,
        workers=opts.workers if opts.workers is not None else r.workers,
        mixed_school=r.mixed_school,
    )
    return params, routing


def _travel_key(travel: TravelModel) -> dict[str, Any]:
    described = dict(travel.describe())
    described.pop("far_snaps", None)
    return described


# -------------------------------------------------------------------------------------------
# JSON forms of the cached results


def _placement_json(result: PlacementResult) -> dict[str, Any]:
    return {
        "policy": result.policy,
        "placements": [list(asdict(p).values()) for p in result.placements],
        "unplaced": [[u.pupil_id, u.reason] for u in result.unplaced],
        "shortfall": [list(asdict(s).values()) for s in result.shortfall],
    }


def _placement_from(doc: dict[str, Any]) -> PlacementResult:
    return PlacementResult(
        doc["policy"],
        tuple(Placement(*p) for p in doc["placements"]),
        tuple(Unplaced(*u) for u in doc["unplaced"]),
        tuple(Shortfall(*s) for s in doc["shortfall"]),
    )


def _plan_json(plan: RoutePlan) -> dict[str, Any]:
    return {
        "routes": [[*asdict(r).values()] for r in plan.routes],
        "stops": [list(asdict(s).values()) for s in plan.stops],
        "unrouted": [[u.pupil_id, u.reason] for u in plan.unrouted],
        "school_status": plan.school_status,
        "info": plan.info,
    }


def _plan_from(doc: dict[str, Any]) -> RoutePlan:
    routes = tuple(
        Route(r[0], r[1], r[2], bool(r[3]), tuple(r[4]), r[5], r[6]) for r in doc["routes"]
    )
    return RoutePlan(
        routes=routes,
        stops=tuple(Stop(*s) for s in doc["stops"]),
        unrouted=tuple(Unrouted(*u) for u in doc["unrouted"]),
        school_status=dict(doc["school_status"]),
        info=dict(doc["info"]),
    )


# -------------------------------------------------------------------------------------------
# Stages


def _placement_stage(
    ctx: Context,
    sc: Scenario,
    *,
    params: Parameters,
    factors: PriceFactors,
    travel: TravelModel,
    reused: list[str],
) -> tuple[PlacementResult, dict[str, int], list[CapacityRow], str]:
    """Capacity changes and placement; prices count only for ``optimal`` (see prices.py)."""
    own = factors if sc.placement.policy == "optimal" else PriceFactors()
    data = reprice_dataset(ctx.data, own)
    place_params = reprice_params(params, own)
    key = digest(
        {
            "stage": "placement",
            "code": code_digest("placement"),
            "data": ctx.data_digest,
            "policy": sc.placement.policy,
            "scope": sc.placement.scope,
            "capacity": [asdict(c) for c in sc.capacity],
            "travel": _travel_key(travel),
            "params": place_params.to_dict(),
            "prices": own.describe(),
        }
    )
    hit = ctx.cache.get("placement", key)
    if hit is not None:
        reused.append("placement")
        rows = [CapacityRow(**r) for r in hit["capacity_rows"]]
        return _placement_from(hit["placement"]), hit["capacity"], rows, key
    if sc.capacity:
        ctx.progress(f"{sc.name}: siting capacity changes")
    cap = apply_capacity(
        data,
        sc.capacity,
        policy=sc.placement.policy,
        scope=sc.placement.scope,
        travel=travel,
        params=place_params,
    )
    result = place_pupils(
        cap.data,
        policy=sc.placement.policy,
        scope=sc.placement.scope,
        travel=travel,
        params=place_params,
    )
    capacity = {s.school_id: s.capacity for s in cap.data.schools}
    ctx.cache.put(
        "placement",
        key,
        {
            "placement": _placement_json(result),
            "capacity": capacity,
            "capacity_rows": [asdict(r) for r in cap.rows],
        },
    )
    return result, capacity, list(cap.rows), key


def _routes_stage(
    ctx: Context,
    sc: Scenario,
    data: Dataset,
    placements: PlacementResult,
    *,
    params: Parameters,
    routing: RoutingOptions,
    travel: TravelModel,
    reused: list[str],
) -> tuple[RoutePlan, str]:
    """Routes planned at the data's own prices (a uniform re-pricing keeps the optimum)."""
    key = digest(
        {
            "stage": "routes",
            "code": code_digest("routes"),
            "data": ctx.data_digest,
            "placement": digest(_placement_json(placements)),
            "travel": _travel_key(travel),
            "params": params.to_dict(),
            "routing": asdict(routing),
        }
    )
    hit = ctx.cache.get("routes", key)
    if hit is not None:
        reused.append("routes")
        return _plan_from(hit), key
    ctx.progress(f"{sc.name}: planning routes (limit {routing.time_limit_s:g} s)")
    plan = plan_routes(data, placements, travel=travel, params=params, options=routing)
    ctx.cache.put("routes", key, _plan_json(plan))
    return plan, key


def _budgets_stage(
    ctx: Context,
    sc: Scenario,
    data: Dataset,
    run_dir: Path,
    final_dir: Path,
    *,
    params: Parameters,
    factors: PriceFactors,
    travel: TravelModel,
    routes_key: str,
    reused: list[str],
) -> tuple[dict[str, Any], list[BudgetRow]]:
    """Budgets for the scenario's cohort, priced on the run folder just written."""
    settings = sc.budgets
    if ctx.options.draws is not None:
        settings = replace(settings, draws=ctx.options.draws)
    key = digest(
        {
            "stage": "budgets",
            "code": code_digest("budgets"),
            "data": ctx.data_digest,
            "routes": routes_key,
            "prices": factors.describe(),
            "params": params.to_dict(),
            "settings": asdict(settings),
            "target": sc.target.annual_saving,
        }
    )
    hit = ctx.cache.get("budgets", key)
    if hit is not None:
        reused.append("budgets")
        summary = {**hit["summary"], "source_run": str(final_dir)}
        return summary, [BudgetRow(**r) for r in hit["rows"]]
    ctx.progress(f"{sc.name}: pricing personal transport budgets")
    start = time.perf_counter()
    run = read_run(run_dir)
    cohort = resolve_districts(settings.districts, {p.district for p in data.pupils})
    attendance = read_attendance(ctx.data_dir, set(data.pupil_by_id))
    savings = SavingsModel(data, run, params=params, travel=travel, seed=settings.seed)
    main = assess_cohort(
        data,
        run,
        savings,
        settings=settings,
        target=sc.target.annual_saving,
        districts=cohort,
        attendance=attendance,
        school_days=params.cost.school_days,
    )
    parameters = {
        **params.to_dict(),
        "parameters_from": "scenario",
        "travel_model": travel.describe(),
        "prices": factors.describe(),
        "budgets": asdict(settings),
        "target": asdict(sc.target),
        "attendance_file": bool(attendance),
    }
    summary = budget_summary(
        main,
        None,
        data_source=data.source,
        run_dir=str(final_dir),
        target=sc.target.annual_saving,
        savings=savings.totals(),
        parameters=parameters,
        wall_s=time.perf_counter() - start,
    )
    rows = main.rows()
    ctx.cache.put("budgets", key, {"summary": summary, "rows": [asdict(r) for r in rows]})
    return summary, rows


# -------------------------------------------------------------------------------------------
# One scenario


def run_scenario(
    ctx: Context,
    sc: Scenario,
    source: Path | None,
    out_dir: Path,
    *,
    final_dir: Path | None = None,
) -> Outcome:
    """Run one scenario into ``out_dir`` (replaced atomically) and return its comparison row.

    ``final_dir`` is where the folder will be once the comparison's temporary folder takes its
    place (default ``out_dir``): the path the budgets' summary names.
    """
    start = time.perf_counter()
    reused: list[str] = []
    params, routing = _settings(sc, ctx.options)
    factors = sc.prices.factors()
    net = ctx.options.network or sc.network
    travel = ctx.travel_model(net, params)
    placements, capacity, cap_rows, _ = _placement_stage(
        ctx, sc, params=params, factors=factors, travel=travel, reused=reused
    )
    data = with_capacity(ctx.data, capacity)
    plan, routes_key = _routes_stage(
        ctx, sc, data, placements, params=params, routing=routing, travel=travel, reused=reused
    )
    final_data = reprice_dataset(data, factors)
    final_params = reprice_params(params, factors)
    if factors.transport != 1.0:
        plan = replace(plan, routes=reprice_routes(plan.routes, final_data, final_params))
    summary = solve_summary(
        final_data,
        placements,
        plan,
        params=final_params,
        travel=travel,
        options=routing,
        wall_s=time.perf_counter() - start,
        scenario=sc.name,
    )
    summary["description"] = sc.description
    summary["scope"] = sc.placement.scope
    summary["prices"] = {
        **factors.describe(),
        "vehicles": {
            v.vehicle_type: {"day_rate": round(v.day_rate, 4), "per_mile": round(v.per_mile, 4)}
            for v in final_data.vehicles
        },
    }
    summary["capacity"] = {
        "places_added": sum(r.places_added for r in cap_rows),
        "changes": [asdict(r) for r in cap_rows],
    }
    summary["reused"] = list(reused)

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir.parent, 0o700)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.stage-", dir=out_dir.parent))
    stage.rmdir()
    budgets: dict[str, Any] | None = None
    try:
        extra = {}
        if cap_rows:
            extra["capacity.csv"] = (
                CAPACITY_COLUMNS,
                [(r.school_id, r.need, r.places_added, r.reason) for r in cap_rows],
            )
        write_run(
            stage,
            summary=summary,
            placements=placements,
            routes=plan.routes,
            stops=plan.stops,
            extra=extra,
        )
        toml = stage / "scenario.toml"
        fd = os.open(toml, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(source.read_text(encoding="utf-8-sig") if source else "")
        if sc.budgets.offer:
            budgets, rows = _budgets_stage(
                ctx,
                sc,
                final_data,
                stage,
                final_dir or out_dir,
                params=final_params,
                factors=factors,
                travel=travel,
                routes_key=routes_key,
                reused=reused,
            )
            write_budget_run(stage / "budgets", summary=budgets, rows=rows)
            # the run's summary lists every stage re-used, budgets included
            summary["reused"] = list(reused)
            (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        _replace_dir(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    wall = time.perf_counter() - start
    return _outcome(ctx, sc, summary, budgets, cap_rows, factors, travel, reused, wall)


def _outcome(
    ctx: Context,
    sc: Scenario,
    summary: dict[str, Any],
    budgets: dict[str, Any] | None,
    cap_rows: list[CapacityRow],
    factors: PriceFactors,
    travel: TravelModel,
    reused: list[str],
    wall: float,
) -> Outcome:
    offers, expected, p5, p95 = 0, 0.0, 0.0, 0.0
    if budgets is not None:
        b = budgets["budgets"]
        offers = int(b["offers"]["offers"])
        expected = float(b["offers"]["expected_net_saving"])
        p5 = float(b["simulation"]["p5_net_saving"])
        p95 = float(b["simulation"]["p95_net_saving"])
    transport = float(summary["annual_transport_cost"])
    place = float(summary["annual_place_cost"])
    placement = summary["placement"]
    row: dict[str, Any] = {
        "scenario": sc.name,
        "description": sc.description,
        "policy": sc.placement.policy,
        "scope": sc.placement.scope,
        "prices": factors.basis,
        "network": getattr(travel, "name", "crow-fly"),
        "pupils": summary["pupils"],
        "pupils_routed": summary["pupils_routed"],
        "unrouted": len(summary["unrouted"]),
        "unplaced": len(summary["unplaced"]),
        "annual_transport_cost": round(transport, 2),
        "annual_place_cost": round(place, 2),
        "ptb_offers": offers,
        "ptb_expected_saving": round(expected, 2),
        "ptb_saving_p5": round(p5, 2),
        "ptb_saving_p95": round(p95, 2),
        "annual_total_cost": round(transport + place - expected, 2),
        "saving_vs_baseline": None,
        "target": float(sc.target.annual_saving),
        "target_progress": None,
        "routes": summary["routes"],
    }
    by_type = summary["vehicles_by_type"]
    for v in ctx.data.vehicles:
        row[f"vehicles_{v.vehicle_type}"] = int(by_type.get(v.vehicle_type, 0))
    row.update(
        {
            "passenger_assistants": summary["passenger_assistants"],
            "mean_ride_min": summary["mean_ride_min"],
            "max_ride_min": summary["max_ride_min"],
            "pupils_over_45_min": summary["pupils_over_45_min"],
            "pupils_over_75_min": summary["pupils_over_75_min"],
            "independent_or_out_of_county": placement["pupils_in_independent_places"],
            "places_missing": placement["places_missing"],
            "places_added": sum(r.places_added for r in cap_rows),
            "wall_time_s": round(wall, 1),
        }
    )
    folder = f"scenarios/{sc.name}"
    extra = {
        "run_dir": folder,
        "budgets_dir": f"{folder}/budgets" if budgets is not None else None,
        "shortfall_csv": f"{folder}/shortfall.csv" if placement["places_missing"] else None,
        "capacity_csv": f"{folder}/capacity.csv" if cap_rows else None,
        "vehicles_by_type": {
            v.vehicle_type: row[f"vehicles_{v.vehicle_type}"] for v in ctx.data.vehicles
        },
        "reused": list(reused),
    }
    return Outcome(row, extra)
