"""Savings: the fall in annual transport cost when pupils leave council transport for a budget.

The only module of :mod:`transport.budgets` that calls the routing engine. A pupil who takes a
budget leaves their route; the pupils left on it are re-planned for their school
(:mod:`transport.routing.reoptimise`): a solo route disappears, a minibus may step down to an
MPV, a full taxi may not change at all. So

* ``marginal_saving(p) = baseline(route) − cost(route's pupils without p, re-planned)``
* ``joint_saving(P) = Σ over the routes P touches of baseline − cost(pupils left, re-planned)``

Savings are not additive: two pupils who empty a shared taxi save its whole cost together and
nothing one at a time.

The re-planned cost of a set of pupils is never more than driving them in the route's own
order with the leavers' stops skipped, in the cheapest vehicle type that fits (ride limits
checked). The *baseline* is the route's current annual cost, or its cost re-planned with every
pupil aboard when that is lower: what re-planning saves even without budgets
(``routing_gain``, reported apart) is never credited to a budget.

Routes are priced with the run's own parameters (its summary.json), so that a re-planned cost
compares with the cost in routes.csv. Vehicle caps: a re-plan may use a capped type only while
the run leaves routes of it (or the route's own type). A route whose pupils go to more than one
school (a mixed-school route) saves its cost only when all of them leave, nothing otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from transport.errors import InputError, Problem, ScenarioError
from transport.executor import Executor
from transport.model import (
    CostParams,
    Dataset,
    Parameters,
    RideParams,
    Route,
    TravelParams,
    route_schools,
)
from transport.routing.reoptimise import (
    EXACT_SUBSET_MAX,
    IMPOSSIBLE,
    keep_order_cost,
    replan_route,
    subset_costs,
)
from transport.runs.read import RunFiles, check_run_data
from transport.runs.read import read_solved_run as _read_solved_run
from transport.travel import TravelModel

SEARCH_TIME_LIMIT_S = 1.0
"""Time budget of one re-plan of a route too large for the exact table."""

MAX_SEARCH_CANDIDATES = 6
"""Pupils of a searched (large) route whose joint savings are tabulated (2**6 re-plans)."""


@dataclass
class RouteSavings:
    """Savings on one route: by the set of its pupils who leave (bit ``i`` = ``members[i]``)."""

    route: Route
    members: tuple[str, ...]
    baseline: float
    method: str
    recomputed: float | None
    _cost_pence: Callable[[int], int] = field(repr=False)
    _table: np.ndarray | None = field(default=None, repr=False)

    @property
    def full(self) -> int:
        return (1 << len(self.members)) - 1

    def mask(self, pupil_ids: Iterable[str]) -> int:
        bit = {p: i for i, p in enumerate(self.members)}
        out = 0
        for p in pupil_ids:
            out |= 1 << bit[p]
        return out

    def saving(self, leaving: Iterable[str]) -> float:
        """£ saved a year when these pupils of the route leave it."""
        return self._saving_pence(self.mask(leaving)) / 100.0

    def _saving_pence(self, leaving: int) -> int:
        if self._table is not None:
            return int(self._table[leaving])
        remaining = self.full ^ leaving
        base = int(round(self.baseline * 100))
        if self.method == "mixed-school":
            return base if remaining == 0 else 0
        cost = self._cost_pence(remaining)
        return base if remaining == 0 else max(0, base - (base if cost == IMPOSSIBLE else cost))

    def table(self, candidates: Sequence[str]) -> np.ndarray:
        """£ saved for every subset of ``candidates`` (bit ``j`` = ``candidates[j]``)."""
        bits = np.array([1 << self.members.index(c) for c in candidates], dtype=np.int64)
        combos = (np.arange(1 << len(bits))[:, None] >> np.arange(len(bits))) & 1
        leaving = combos @ bits if len(bits) else np.zeros(1, dtype=np.int64)
        if self._table is not None:
            pence = self._table[leaving]
        else:
            pence = np.array([self._saving_pence(int(m)) for m in leaving], dtype=np.int64)
        return pence / 100.0


def read_solved_run(run_dir: str | Path) -> RunFiles:
    """A run folder written by ``sen-transport solve`` (placements, routes and summary).

    Raises
    ------
    InputError
        When the folder is missing, has no routes.csv (a placement-only run) or any of its
        files is malformed (see :func:`transport.runs.read.read_run`).
    """
    return _read_solved_run(run_dir)


def run_parameters(summary: dict[str, Any], fallback: Parameters) -> tuple[Parameters, str]:
    """The parameters a run was planned with (its summary.json), else ``fallback``.

    Returns the parameters and where they came from: ``"run"`` or ``"scenario"``.
    """
    given = summary.get("parameters")
    if not isinstance(given, dict) or not all(
        isinstance(given.get(k), dict) for k in ("travel", "ride", "cost")
    ):
        return fallback, "scenario"

    def build(cls: type, key: str) -> Any:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in given[key].items() if k in names})

    try:
        travel = build(TravelParams, "travel")
        ride = build(RideParams, "ride")
        cost = build(CostParams, "cost")
    except (TypeError, ValueError) as exc:
        raise InputError([Problem("summary.json", None, "parameters", str(exc))]) from None
    return Parameters(travel=travel, ride=ride, cost=cost), "run"


def check_travel_backend(summary: dict[str, Any], travel: TravelModel) -> None:
    """Refuse to re-plan with another travel model than the run's own."""
    model = summary.get("parameters", {}).get("travel_model", {})
    backend = model.get("backend") if isinstance(model, dict) else None
    if backend is not None and backend != travel.name:
        raise ScenarioError(
            f"the run was planned with the {backend!r} travel model but budgets would re-plan "
            f"its routes with {travel.name!r}: savings would not compare with routes.csv"
        )


class SavingsModel:
    """Marginal and joint savings of a solved run's pupils, route tables built on demand.

    Parameters
    ----------
    data
        The data set the run was planned from.
    run
        The solved run (routes.csv and placements.csv).
    params, travel
        The run's parameters and travel model.
    seed
        Seed of the search used for routes too large for the exact table.
    executor
        Where route tables are built (:meth:`prepare`) and searched routes re-planned
        (:meth:`prefetch`), e.g. a Dask cluster; default: in this process, when first read.
    """

    def __init__(
        self,
        data: Dataset,
        run: RunFiles,
        *,
        params: Parameters,
        travel: TravelModel,
        seed: int = 0,
        executor: Executor | None = None,
    ) -> None:
        self.data, self.params, self.travel, self.seed = data, params, travel, seed
        self.executor = executor
        self._known: dict[str, dict[int, int]] = {}
        routing = (run.summary.get("parameters") or {}).get("routing") or {}
        self.strict = bool(routing.get("strict_limits", False))  # the run's own ride rule
        self._context = _Context(data, params, travel, seed, self.strict)
        self.routes = {r.route_id: r for r in run.routes}
        self.route_of = {p: r.route_id for r in run.routes for p in r.pupils}
        check_run_data(run, data)  # a run made from another data folder: file and row named
        self.school_of = {p.pupil_id: p.school_id for p in run.placements}
        self.used = Counter(r.vehicle_type for r in run.routes)
        self._routes: dict[str, RouteSavings] = {}

    # ---------------------------------------------------------------------------------------

    def current_cost(self, pupil_id: str) -> float:
        """The pupil's share of their route's annual cost (route cost ÷ pupils on it)."""
        r = self.routes[self.route_of[pupil_id]]
        return r.annual_cost / len(r.pupils)

    def route(self, route_id: str) -> RouteSavings:
        """The savings table of one route (built once)."""
        if route_id not in self._routes:
            self._routes[route_id] = self._build(self.routes[route_id])
        return self._routes[route_id]

    def prepare(self, pupil_ids: Iterable[str]) -> None:
        """Build the tables of every route these pupils ride (as executor tasks, with one)."""
        todo = [
            rid
            for rid in sorted({self.route_of[p] for p in pupil_ids if p in self.route_of})
            if rid not in self._routes
        ]
        if self.executor is not None and len(todo) > 1:
            self._build_all(todo)
        for rid in todo:
            self.route(rid)

    def marginal_saving(self, pupil_id: str) -> float:
        """£ a year saved when this pupil alone leaves council transport (0 if not routed)."""
        if pupil_id not in self.route_of:
            return 0.0
        return self.route(self.route_of[pupil_id]).saving([pupil_id])

    def joint_saving(self, pupil_ids: Iterable[str]) -> float:
        """£ a year saved when all these pupils leave together (each touched route re-planned
        once without all of them)."""
        by_route: dict[str, list[str]] = {}
        for p in set(pupil_ids):
            if p in self.route_of:
                by_route.setdefault(self.route_of[p], []).append(p)
        pence = sum(
            self.route(rid)._saving_pence(self.route(rid).mask(ps))
            for rid, ps in sorted(by_route.items())
        )
        return pence / 100.0

    def totals(self) -> dict[str, Any]:
        """What the tables built so far found, for summary.json."""
        built = list(self._routes.values())
        gain = sum(r.route.annual_cost - r.baseline for r in built)
        mismatch = [  # a mixed-school route's cost is not recomputed here: no mismatch
            r
            for r in built
            if (r.recomputed is None and r.method != "mixed-school")
            or (r.recomputed is not None and abs(r.recomputed - r.route.annual_cost) > 0.01)
        ]
        return {
            "routes_tabulated": len(built),
            "routes_by_method": dict(sorted(Counter(r.method for r in built).items())),
            "routing_gain": round(gain, 2),
            "routes_cheaper_replanned_with_everybody": sum(
                1 for r in built if r.baseline < r.route.annual_cost - 0.005
            ),
            "routes_whose_cost_does_not_recompute": len(mismatch),
        }

    # ---------------------------------------------------------------------------------------

    def _usable(self, route: Route) -> set[str]:
        return {
            v.vehicle_type
            for v in self.data.vehicles
            if v.available is None
            or self.used[v.vehicle_type] < v.available
            or v.vehicle_type == route.vehicle_type
        }

    def _task(self, route: Route, masks: Sequence[int] = ()) -> _RouteTask:
        mixed = any(self.school_of.get(p, route.school_id) != route.school_id for p in route.pupils)
        return _RouteTask(route, frozenset(self._usable(route)), mixed, tuple(masks))

    def _build(self, route: Route) -> RouteSavings:
        full = (1 << len(route.pupils)) - 1
        return self._assemble(route, _route_parts(self._context, self._task(route, [full])))

    def _build_all(self, route_ids: Sequence[str]) -> None:
        """Build routes' tables as tasks of the executor: exact tables whole, searched routes'
        re-plans with everybody and without each pupil in turn (what marginal savings read)."""
        tasks = []
        for rid in route_ids:
            route = self.routes[rid]
            full = (1 << len(route.pupils)) - 1
            singles = [full ^ (1 << i) for i in range(len(route.pupils))]
            tasks.append(self._task(route, [full, *singles]))
        assert self.executor is not None
        found = self.executor.map_unordered(_route_parts, tasks, shared=self._context)
        for i, parts in sorted(found, key=lambda item: item[0]):
            self._routes[route_ids[i]] = self._assemble(tasks[i].route, parts)

    def prefetch(self, wanted: dict[str, Sequence[str]]) -> None:
        """Re-plan, as tasks of the executor, every subset of these pupils leaving their
        searched route (``{route_id: pupil_ids}``; what :meth:`RouteSavings.table` will read).

        Nothing happens without an executor: the re-plans are then made when first read. The
        costs are the same either way (each re-plan is a function of its pupils and seed).
        """
        if self.executor is None:
            return
        tasks = []
        for rid, pupil_ids in sorted(wanted.items()):
            table = self.route(rid)
            if table.method != "search":
                continue
            known = self._known.setdefault(rid, {})
            bits = [1 << table.members.index(p) for p in pupil_ids]
            masks = sorted(
                {
                    table.full ^ sum(b for j, b in enumerate(bits) if k >> j & 1)
                    for k in range(1 << len(bits))
                }
                - set(known)
                - {0}
            )
            for at in range(0, len(masks), PREFETCH_MASKS_PER_TASK):
                chunk = masks[at : at + PREFETCH_MASKS_PER_TASK]
                tasks.append((rid, self._task(table.route, chunk)))
        found = self.executor.map_unordered(
            _route_parts, [t for _, t in tasks], shared=self._context
        )
        for i, parts in found:
            self._known.setdefault(tasks[i][0], {}).update(parts.known)

    def _assemble(self, route: Route, parts: _RouteParts) -> RouteSavings:
        """A route's savings table from what :func:`_route_parts` computed."""
        current = int(round(route.annual_cost * 100))
        if parts.method == "mixed-school":
            return RouteSavings(
                route, route.pupils, route.annual_cost, "mixed-school", parts.recomputed, _nothing
            )
        if parts.method == "exact":
            costs = parts.costs
            assert costs is not None
            full = costs[-1]
            base = current if full == IMPOSSIBLE else min(current, int(full))
            saving = np.where(costs == IMPOSSIBLE, 0, np.maximum(0, base - costs))[::-1].copy()
            saving[-1] = base  # everybody leaves: the route goes
            return RouteSavings(
                route,
                route.pupils,
                base / 100.0,
                "exact",
                parts.recomputed,
                _TableCost(costs),
                saving,
            )
        known = self._known.setdefault(route.route_id, {})
        known.update(parts.known)
        task = self._task(route)
        context = self._context

        def cost_pence(mask: int) -> int:
            if mask not in known:
                known[mask] = _search_cost(context, task, mask)
            return known[mask]

        full = cost_pence((1 << len(route.pupils)) - 1)
        base = current if full == IMPOSSIBLE else min(current, full)
        return RouteSavings(
            route, route.pupils, base / 100.0, "search", parts.recomputed, cost_pence
        )


PREFETCH_MASKS_PER_TASK = 8
"""Re-plans of a searched route per executor task (each takes up to about a second)."""


def _nothing(_mask: int) -> int:
    return 0


@dataclass(frozen=True)
class _TableCost:
    """A route's re-planned cost in pence by the set of pupils left (the exact table)."""

    costs: np.ndarray

    def __call__(self, mask: int) -> int:
        return int(self.costs[mask])


@dataclass(frozen=True)
class _Context:
    """What every route's re-plans read: shared with an executor's workers once."""

    data: Dataset
    params: Parameters
    travel: TravelModel
    seed: int
    strict: bool = False


@dataclass(frozen=True)
class _RouteTask:
    """One route to tabulate: its usable vehicle types, whether it is mixed-school, and the
    sets of pupils left (bit ``i`` = ``route.pupils[i]``) to re-plan by search."""

    route: Route
    usable: frozenset[str]
    mixed: bool
    masks: tuple[int, ...]


@dataclass(frozen=True)
class _RouteParts:
    method: str
    recomputed: float | None
    costs: np.ndarray | None = None
    known: dict[int, int] = field(default_factory=dict)


def _route_parts(ctx: _Context, task: _RouteTask) -> _RouteParts:
    """A route's table (exact), or the re-plans of the masks asked (search): a pure function,
    run here or as an executor task."""
    data, route = ctx.data, task.route
    if len(route_schools(route)) > 1:  # a mixed-school route: its schools in visiting order
        return _RouteParts("mixed-school", None)
    school = data.school_by_id[route.school_id]
    pupils = [data.pupil_by_id[p] for p in route.pupils]
    recomputed = keep_order_cost(
        school,
        pupils,
        data.vehicles,
        params=ctx.params,
        travel=ctx.travel,
        usable=task.usable,
        strict_limits=ctx.strict,
    )
    if task.mixed:
        return _RouteParts("mixed-school", recomputed)
    if len(pupils) <= EXACT_SUBSET_MAX:
        costs = subset_costs(
            school,
            pupils,
            data.vehicles,
            params=ctx.params,
            travel=ctx.travel,
            incompatible=data.incompatible,
            usable=task.usable,
            strict_limits=ctx.strict,
        ).pence
        return _RouteParts("exact", recomputed, costs)
    return _RouteParts(
        "search", recomputed, None, {m: _search_cost(ctx, task, m) for m in task.masks}
    )


def _search_cost(ctx: _Context, task: _RouteTask, mask: int) -> int:
    """The re-planned cost (pence) of a searched route's pupils in ``mask``."""
    data, route = ctx.data, task.route
    if len(route_schools(route)) > 1:  # a mixed-school route: its schools in visiting order
        return _RouteParts("mixed-school", None)
    school = data.school_by_id[route.school_id]
    left = [data.pupil_by_id[p] for i, p in enumerate(route.pupils) if mask >> i & 1]
    found = [
        replan_route(
            school,
            left,
            data.vehicles,
            params=ctx.params,
            travel=ctx.travel,
            incompatible=data.incompatible,
            usable=task.usable,
            time_limit_s=SEARCH_TIME_LIMIT_S,
            seed=ctx.seed,
            strict_limits=ctx.strict,
        ),
        keep_order_cost(
            school,
            left,
            data.vehicles,
            params=ctx.params,
            travel=ctx.travel,
            usable=task.usable,
            strict_limits=ctx.strict,
        ),
    ]
    ok = [int(round(c * 100)) for c in found if c is not None]
    return min(ok) if ok else IMPOSSIBLE
