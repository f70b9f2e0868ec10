"""One scenario through the stages: capacity and placement → routes → prices → budgets.

:func:`run_scenario` is the engine's one pipeline: ``sen-transport place``, ``solve``,
``budgets`` and ``compare`` all call it and differ only in where it stops (``until``), what it
starts from (``solved``: an existing run for ``budgets``) and what they write. It computes; it
writes nothing (the jobs write folders).

Each stage is looked up in the cache first, when one is given (:mod:`.cache`): a placement by
the data set, policy, scope, capacity changes, travel model and (for ``optimal`` only) prices;
routes by the placement, the routing settings, the ride and cost parameters at the data's own
prices and the travel model; budgets by the routes, the re-priced costs and the ``[budgets]``
table. Routes are planned at the data's own prices and re-priced (one factor on every rate
keeps the optimum: see :mod:`transport.costing`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from transport.budgets import SavingsModel, assess_cohort, resolve_districts, run_parameters
from transport.budgets.assess import BudgetRow
from transport.budgets.export import budget_summary
from transport.budgets.savings import check_travel_backend
from transport.changes import plan_stability
from transport.costing import PriceFactors, reprice_dataset, reprice_params, reprice_routes
from transport.executor import Executor, InlineExecutor
from transport.model import (
    Dataset,
    Parameters,
    PlacementResult,
)
from transport.pipeline._forms import (
    as_written,
    placement_from,
    placement_json,
    plan_from,
    plan_json,
    travel_key,
)
from transport.pipeline.cache import StageCache, code_digest, dataset_digest, digest
from transport.pipeline.summary import (
    RunSummary,
    ScenarioDetails,
    placement_summary,
    scenario_details,
    solve_summary,
)
from transport.placement import place_pupils
from transport.placement.capacity import (
    CAPACITY_COLUMNS,
    CapacityRow,
    apply_capacity,
    with_capacity,
)
from transport.routing import PreviousPlan, ProgressEvent, RoutePlan, plan_routes, replan_routes
from transport.routing.explain import reprice_explanations
from transport.routing.replan import last_route_number, schools_in_force
from transport.runs.write import RunFiles
from transport.scenario import Scenario
from transport.travel import TravelModel

Stage = Literal["place", "route", "budgets"]


@dataclass(frozen=True)
class BudgetsResult:
    """Personal transport budgets of a scenario: the budgets run's summary.json and rows.

    ``summary["source_run"]`` is the run they were priced on; a job writing the folder
    elsewhere sets it to that folder.
    """

    summary: Mapping[str, Any]
    rows: tuple[BudgetRow, ...]


@dataclass(frozen=True)
class ScenarioResult:
    """What :func:`run_scenario` found.

    ``data`` and ``params`` are the scenario's own: capacity changes applied and unit costs at
    its prices. ``plan`` is ``None`` for a placement-only run, and for a run that started from
    a solved run (``solved``), whose routes are in ``solved``. ``details`` is what the scenario
    changed (``summary.details`` holds it only when it changed capacity or prices; compare
    writes it always).
    """

    scenario: Scenario
    data: Dataset
    params: Parameters
    travel: Mapping[str, Any]
    placements: PlacementResult
    capacity: tuple[CapacityRow, ...]
    prices: PriceFactors
    summary: RunSummary | None
    plan: RoutePlan | None = None
    budgets: BudgetsResult | None = None
    details: ScenarioDetails | None = None
    reused: tuple[str, ...] = ()
    wall_s: float = 0.0

    def extra_tables(self) -> dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]]:
        """The run folder's CSV files beyond the contract's: capacity.csv when places were
        added (``{file_name: (columns, rows)}``, as :func:`transport.runs.write.write_run`
        takes them)."""
        if not self.capacity:
            return {}
        rows = [(r.school_id, r.need, r.places_added, r.reason) for r in self.capacity]
        return {"capacity.csv": (CAPACITY_COLUMNS, rows)}


@dataclass
class _Run:
    """The state of one call: what every stage reads."""

    scenario: Scenario
    data: Dataset
    travel: TravelModel
    cache: StageCache
    executor: Executor
    progress: Callable[[str], None]
    data_key: str = ""
    reused: list[str] = field(default_factory=list)

    def key(self) -> str:
        if not self.data_key:
            self.data_key = dataset_digest(self.data)
        return self.data_key

    def stage(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one stage's computation as a task of the executor.

        The data set goes as the executor's ``shared`` value (sent to a worker once, not
        with every task): an argument that is ``self.data`` travels as a marker.
        """
        task = (fn, tuple(_DATA if a is self.data else a for a in args))
        for _, result in self.executor.map_unordered(_call_stage, [task], shared=self.data):
            return result
        raise RuntimeError("the executor returned no result")  # pragma: no cover


class _DataMarker:
    """Stands for the run's data set in a stage task's arguments (it travels as ``shared``)."""


_DATA = _DataMarker()


def _call_stage(shared: Any, task: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
    fn, args = task
    return fn(*(shared if isinstance(a, _DataMarker) else a for a in args))


def run_scenario(
    scenario: Scenario,
    data: Dataset,
    travel: TravelModel,
    *,
    cache: StageCache | None = None,
    executor: Executor | None = None,
    until: Stage = "budgets",
    solved: RunFiles | None = None,
    attendance: Mapping[str, float] | None = None,
    countywide: bool = False,
    progress: Callable[[str], None] | None = None,
    route_progress: Callable[[ProgressEvent], None] | None = None,
    previous: PreviousPlan | None = None,
    from_scratch: bool = False,
) -> ScenarioResult:
    """Run one scenario on a data set: place, route, price and (when it offers them) budgets.

    Parameters
    ----------
    scenario
        Every setting of the run (:class:`transport.scenario.Scenario`, overrides applied).
    data
        The validated data set.
    travel
        The travel model of ``scenario.network`` and ``scenario.travel``
        (:func:`transport.travel.travel_model`).
    cache
        Where stage results are looked up and stored (default: nowhere).
    executor
        Where the stages' computations run (default: in this process; routing spreads each
        plan's per-school searches over ``scenario.routing.workers`` local processes).
    until
        ``"place"`` stops after placement, ``"route"`` after routes and prices, ``"budgets"``
        prices budgets too when ``scenario.budgets.offer`` (or ``solved``) says so.
    solved
        Start from this solved run instead of placing and routing (``sen-transport budgets``):
        its placements and routes, and the parameters in its summary.json.
    attendance
        Pupils' attendance fractions (``attendance.csv``) for budget prices.
    countywide
        Also assess budgets county-wide when the cohort is smaller (``budgets`` command).
    progress
        Called with a short message (no pupil data) as each stage starts.
    route_progress
        Receives :class:`transport.routing.ProgressEvent` objects while routes are planned.
    previous
        The plan in force (``solve --previous``): routes are re-planned from it
        (:func:`transport.routing.replan_routes`) unless ``from_scratch``; either way the
        summary's ``stability`` compares the plan with it and new route ids follow its last.
    from_scratch
        Plan from scratch even when ``previous`` is given (the annual retender).

    Returns
    -------
    ScenarioResult

    Raises
    ------
    TransportError
        A scenario that does not fit the data (an unknown school in a capacity change, a
        cohort of no known district) or a solved run that does not fit the scenario.
    """
    start = time.perf_counter()
    run = _Run(
        scenario,
        data,
        travel,
        cache or StageCache(None),
        executor or InlineExecutor(),
        progress or (lambda _msg: None),
    )
    if solved is not None:
        return _from_solved(run, solved, attendance or {}, countywide, start)
    params = scenario.parameters()
    factors = scenario.prices.factors()
    keeps = scenario.placement.policy == "keep" or scenario.placement.scope == "new-entrants"
    if previous is not None and not from_scratch and keeps:
        run.data = schools_in_force(data, previous)  # new entrants only into places left
    placements, capacity, cap_rows = _placement_stage(run, params, factors)
    planned_data = with_capacity(data, capacity) if scenario.capacity else data
    if until == "place":
        summary = placement_summary(planned_data, placements, params, travel)
        return ScenarioResult(
            scenario,
            planned_data,
            params,
            travel.describe(),
            placements,
            tuple(cap_rows),
            factors,
            summary,
            reused=tuple(run.reused),
            wall_s=time.perf_counter() - start,
        )
    plan, routes_key = _routes_stage(
        run, planned_data, placements, params, route_progress, previous, from_scratch
    )
    final_data = reprice_dataset(planned_data, factors)
    final_params = reprice_params(params, factors)
    if factors.transport != 1.0:
        routes = reprice_routes(plan.routes, final_data, final_params)
        explained = reprice_explanations(plan.explanations, routes, final_data, final_params)
        plan = replace(plan, routes=routes, explanations=explained)
    budgets = None
    if until == "budgets" and scenario.budgets.offer:
        budgets = _budgets_stage(
            run,
            final_data,
            final_params,
            as_written(placements, plan),
            routes_key=routes_key,
            attendance=attendance or {},
            countywide=countywide,
            prices=factors,
            parameters_from="scenario",
        )
    wall = time.perf_counter() - start
    details = scenario_details(scenario, final_data, factors, cap_rows, run.reused)
    summary = solve_summary(
        final_data,
        placements,
        plan,
        final_params,
        travel,
        scenario,
        wall,
        details if scenario.capacity or not factors.is_identity else None,
    )
    last = last_route_number(plan.routes, previous.last_route_number if previous else 0)
    summary = replace(summary, route_ids={"last": last}, stability=plan.stability)
    return ScenarioResult(
        scenario,
        final_data,
        final_params,
        travel.describe(),
        placements,
        tuple(cap_rows),
        factors,
        summary,
        plan=plan,
        budgets=budgets,
        details=details,
        reused=tuple(run.reused),
        wall_s=wall,
    )


# -------------------------------------------------------------------------------------------
# Placement


def _placement_stage(
    run: _Run, params: Parameters, factors: PriceFactors
) -> tuple[PlacementResult, dict[str, int], list[CapacityRow]]:
    """Capacity changes and placement; prices count only for ``optimal`` (see costing.py)."""
    sc = run.scenario
    own = factors if sc.placement.policy == "optimal" else PriceFactors()
    data = reprice_dataset(run.data, own)
    place_params = reprice_params(params, own)
    key = None
    if run.cache.active:  # no key (a digest of the whole data set) for a cache of nothing
        key = digest(
            {
                "stage": "placement",
                "code": code_digest("placement"),
                "data": run.key(),
                "policy": sc.placement.policy,
                "scope": sc.placement.scope,
                "capacity": [asdict(c) for c in sc.capacity],
                "travel": travel_key(run.travel),
                "params": place_params.to_dict(),
                "prices": own.describe(),
            }
        )
        hit = run.cache.get("placement", key)
        if hit is not None:
            run.reused.append("placement")
            rows = [CapacityRow(**r) for r in hit["capacity_rows"]]
            return placement_from(hit["placement"]), dict(hit["capacity"]), rows
    if sc.capacity:
        run.progress(f"{sc.name}: siting capacity changes")
    result, capacity, rows = run.stage(_place, sc, data, run.travel, place_params)
    if key is not None:
        run.cache.put(
            "placement",
            key,
            {
                "placement": placement_json(result),
                "capacity": capacity,
                "capacity_rows": [asdict(r) for r in rows],
            },
        )
    return result, capacity, rows


def _place(
    sc: Scenario, data: Dataset, travel: TravelModel, params: Parameters
) -> tuple[PlacementResult, dict[str, int], list[CapacityRow]]:
    rows: list[CapacityRow] = []
    if sc.capacity:
        cap = apply_capacity(
            data,
            sc.capacity,
            policy=sc.placement.policy,
            scope=sc.placement.scope,
            travel=travel,
            params=params,
        )
        data, rows = cap.data, list(cap.rows)
    result = place_pupils(
        data, policy=sc.placement.policy, scope=sc.placement.scope, travel=travel, params=params
    )
    return result, {s.school_id: s.capacity for s in data.schools}, rows


# -------------------------------------------------------------------------------------------
# Routes


def _routes_stage(
    run: _Run,
    data: Dataset,
    placements: PlacementResult,
    params: Parameters,
    route_progress: Callable[[ProgressEvent], None] | None,
    previous: PreviousPlan | None = None,
    from_scratch: bool = False,
) -> tuple[RoutePlan, str | None]:
    """Routes planned at the data's own prices (a uniform re-pricing keeps the optimum).

    With a plan in force the routes are re-planned from it (never cached: they depend on it),
    or planned from scratch numbered after its routes, and compared with it.
    """
    sc = run.scenario
    routing = sc.routing
    if previous is not None:
        if from_scratch:
            run.progress(f"{sc.name}: planning routes from scratch")
            plan = plan_routes(
                data,
                placements,
                travel=run.travel,
                params=params,
                options=routing,
                progress=route_progress,
                last_route_number=previous.last_route_number,
                executor=run.executor if run.executor.cluster else None,
            )
            stability = {"mode": "from-scratch", "previous_run": previous.source}
            stability |= plan_stability(
                (previous.routes, previous.stops),
                (plan.routes, plan.stops),
                pupils=previous.pupils,
                school_of=(previous.school_of, placements.school_of),
            )
            plan = replace(plan, stability=stability)
        else:
            run.progress(f"{sc.name}: re-planning routes from the plan in force")
            plan = replan_routes(
                data,
                placements,
                previous,
                travel=run.travel,
                params=params,
                options=routing,
                progress=run.progress,
            )
        return plan, None
    key = None
    if run.cache.active:  # no key and no JSON form of the plan for a cache of nothing
        key = digest(
            {
                "stage": "routes",
                "code": code_digest("routes"),
                "data": run.key(),
                "placement": digest(placement_json(placements)),
                "travel": travel_key(run.travel),
                "params": params.to_dict(),
                "routing": asdict(routing),
            }
        )
        hit = run.cache.get("routes", key)
        if hit is not None:
            run.reused.append("routes")
            return plan_from(hit), key
    run.progress(f"{sc.name}: planning routes (limit {routing.time_limit_s:g} s)")
    if isinstance(run.executor, InlineExecutor) or run.executor.cluster:
        # here; on a cluster the per-school searches go to its workers, progress comes back
        plan = plan_routes(
            data,
            placements,
            travel=run.travel,
            params=params,
            options=routing,
            progress=route_progress,
            executor=run.executor if run.executor.cluster else None,
        )
    else:  # elsewhere: progress events cannot come back from another process
        plan = run.stage(_plan, data, placements, run.travel, params, routing)
    if key is not None:
        run.cache.put("routes", key, plan_json(plan))
    return plan, key


def _plan(
    data: Dataset,
    placements: PlacementResult,
    travel: TravelModel,
    params: Parameters,
    routing: Any,
) -> RoutePlan:
    return plan_routes(data, placements, travel=travel, params=params, options=routing)


# -------------------------------------------------------------------------------------------
# Budgets


def _budgets_stage(
    run: _Run,
    data: Dataset,
    params: Parameters,
    solved: RunFiles,
    *,
    routes_key: str | None,
    attendance: Mapping[str, float],
    countywide: bool,
    prices: PriceFactors | None,
    parameters_from: str,
) -> BudgetsResult:
    """Budgets for the scenario's cohort, priced on a solved run (just planned, or read)."""
    sc = run.scenario
    settings = sc.budgets
    key = None
    if routes_key is not None:
        key = digest(
            {
                "stage": "budgets",
                "code": code_digest("budgets"),
                "data": run.key(),
                "attendance": dict(sorted(attendance.items())),
                "routes": routes_key,
                "prices": prices.describe() if prices else None,
                "params": params.to_dict(),
                "settings": asdict(settings),
                "target": sc.target.annual_saving,
                "countywide": countywide,
            }
        )
        hit = run.cache.get("budgets", key)
        if hit is not None:
            run.reused.append("budgets")
            return BudgetsResult(hit["summary"], tuple(BudgetRow(**r) for r in hit["rows"]))
    run.progress(f"{sc.name}: pricing personal transport budgets")
    args = (sc, data, params, solved, run.travel, dict(attendance), countywide, prices)
    if run.executor.cluster:  # here, its re-plans and uptake draws on the cluster's workers
        result = _assess(*args, parameters_from, executor=run.executor)
    else:
        result = run.stage(_assess, *args, parameters_from)
    if key is not None:
        run.cache.put(
            "budgets",
            key,
            {"summary": dict(result.summary), "rows": [asdict(r) for r in result.rows]},
        )
    return result


def _assess(
    sc: Scenario,
    data: Dataset,
    params: Parameters,
    solved: RunFiles,
    travel: TravelModel,
    attendance: dict[str, float],
    countywide: bool,
    prices: PriceFactors | None,
    parameters_from: str,
    executor: Executor | None = None,
) -> BudgetsResult:
    start = time.perf_counter()
    settings = sc.budgets
    cohort = resolve_districts(settings.districts, {p.district for p in data.pupils})
    savings = SavingsModel(
        data, solved, params=params, travel=travel, seed=settings.seed, executor=executor
    )
    common = {
        "settings": settings,
        "target": sc.target.annual_saving,
        "attendance": attendance,
        "school_days": params.cost.school_days,
        "executor": executor,
    }
    main = assess_cohort(data, solved, savings, districts=cohort, **common)
    county = None
    if countywide and cohort is not None:
        county = assess_cohort(data, solved, savings, districts=None, **common)
    parameters: dict[str, Any] = {
        **params.to_dict(),
        "parameters_from": parameters_from,
        "travel_model": travel.describe(),
    }
    if prices is not None:
        parameters["prices"] = prices.describe()
    parameters.update(
        budgets=asdict(settings), target=asdict(sc.target), attendance_file=bool(attendance)
    )
    summary = budget_summary(
        main,
        county,
        data_source=data.source,
        run_dir=str(solved.folder) if solved.folder != Path() else "",
        target=sc.target.annual_saving,
        savings=savings.totals(),
        parameters=parameters,
        wall_s=time.perf_counter() - start,
    )
    return BudgetsResult(summary, tuple(main.rows()))


def _from_solved(
    run: _Run,
    solved: RunFiles,
    attendance: Mapping[str, float],
    countywide: bool,
    start: float,
) -> ScenarioResult:
    """Budgets priced on a run written earlier, with the parameters it was planned with."""
    sc = run.scenario
    params, source = run_parameters(solved.summary, sc.parameters())
    check_travel_backend(solved.summary, run.travel)
    budgets = _budgets_stage(
        run,
        run.data,
        params,
        solved,
        routes_key=None,
        attendance=attendance,
        countywide=countywide,
        prices=None,
        parameters_from=source,
    )
    placements = PlacementResult(str(solved.summary.get("policy", "")), solved.placements, (), ())
    return ScenarioResult(
        sc,
        run.data,
        params,
        run.travel.describe(),
        placements,
        (),
        PriceFactors(),
        None,
        budgets=budgets,
        wall_s=time.perf_counter() - start,
    )
