"""The OR-Tools backend: one sub-problem as a reversed vehicle routing problem.

Nodes: 0 is the school (every vehicle starts there), ``k + 1`` is visit ``k``, ``n + 1`` is a
dummy end reached at no cost or time. A vehicle drives the pickups backwards, so the time
dimension's cumul at a visit is its pupils' ride (a visit's dwell is the service time at its
node) and the ride limit is a plain upper bound on the cumul.

Vehicles are copies of each :class:`~transport.routing._problem.Variant`; visits needing a PA
may only use variants with one, visits with wheelchair users only variants with the spaces
(allowed vehicles); incompatible visits get different vehicles (``AllDifferentExcept``) and a
type cap is a bound on the sum of the copies' active flags. Every visit is a disjunction with a
large penalty, so the search always returns an answer; a dropped visit is repaired afterwards.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from transport.routing._problem import Draft, SubProblem, SubSolution

FIRST_SOLUTION = "PATH_CHEAPEST_ARC"  # measured best of five on a 130-pupil school


def _matrices(sub: SubProblem) -> tuple[np.ndarray, np.ndarray]:
    """Reversed time (with dwell) and distance over nodes ``[school, pupils…, end]``."""
    n = sub.n
    t = np.zeros((n + 2, n + 2), dtype=np.int64)
    d = np.zeros((n + 2, n + 2), dtype=np.int64)
    t[: n + 1, : n + 1] = sub.time_t.T
    d[: n + 1, : n + 1] = sub.dist_cm.T
    t[1 : n + 1, : n + 1] += sub.dwell_t[:, None]
    np.fill_diagonal(t, 0)
    t[:, n + 1] = 0
    d[:, n + 1] = 0
    return t, d


def solve_ortools(
    sub: SubProblem,
    *,
    solutions: int | None,
    time_limit_s: float | None,
    first_solution: str = FIRST_SOLUTION,
) -> SubSolution:
    """Solve one sub-problem with guided local search.

    Parameters
    ----------
    sub
        The sub-problem.
    solutions
        OR-Tools' solution limit (deterministic stop); ``None`` stops on time only.
    time_limit_s
        Wall-clock limit; ``None``: none (deterministic with ``solutions``).
    first_solution
        Name of an OR-Tools first solution strategy.
    """
    start = time.perf_counter()
    n = sub.n
    used = [sum(1 for d in sub.initial if d.variant == k) for k in range(len(sub.variants))]
    vehicle_variant = [k for k, v in enumerate(sub.variants) for _ in range(max(v.copies, used[k]))]
    nv = len(vehicle_variant)
    if n == 0 or nv == 0:
        return SubSolution(sub.school_id, (), tuple(range(n)), "failed: no vehicle", "ortools")
    manager = pywrapcp.RoutingIndexManager(n + 2, nv, [0] * nv, [n + 1] * nv)
    routing = pywrapcp.RoutingModel(manager)
    t, d = _matrices(sub)

    cost_cb: dict[int, int] = {}
    for per_cm in sorted({v.pence_per_cm for v in sub.variants}):
        cost_cb[per_cm] = routing.RegisterTransitMatrix((d * per_cm).tolist())
    for veh, k in enumerate(vehicle_variant):
        v = sub.variants[k]
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[v.pence_per_cm], veh)
        routing.SetFixedCostOfVehicle(v.fixed_pence, veh)

    time_cb = routing.RegisterTransitMatrix(t.tolist())
    horizon = int(sub.limit_t.max()) + int(t.max()) + 1
    routing.AddDimension(time_cb, 0, horizon, True, "ride")
    ride = routing.GetDimensionOrDie("ride")
    for i in range(n):
        ride.CumulVar(manager.NodeToIndex(i + 1)).SetRange(0, int(sub.limit_t[i]))

    seat = [0] + [int(x) for x in sub.seats] + [0]
    seat_cb = routing.RegisterUnaryTransitVector(seat)
    routing.AddDimensionWithVehicleCapacity(
        seat_cb, 0, [sub.variants[k].seats for k in vehicle_variant], True, "seats"
    )
    if sub.wheels.any():
        wheel = [0] + [int(x) for x in sub.wheels] + [0]
        wheel_cb = routing.RegisterUnaryTransitVector(wheel)
        routing.AddDimensionWithVehicleCapacity(
            wheel_cb, 0, [sub.variants[k].wheelchairs for k in vehicle_variant], True, "wheel"
        )

    max_solo = max(v.fixed_pence for v in sub.variants) + max(
        v.pence_per_cm for v in sub.variants
    ) * int(d.max())
    for i in range(n):
        index = manager.NodeToIndex(i + 1)
        ok = set(sub.allowed(i))
        allowed = [veh for veh, k in enumerate(vehicle_variant) if k in ok]
        if len(allowed) < nv:
            routing.VehicleVar(index).SetValues([-1, *allowed])
        routing.AddDisjunction([index], 10 * max_solo + 1)

    solver = routing.solver()
    for a, b in sub.incompatible:
        va = routing.VehicleVar(manager.NodeToIndex(a + 1))
        vb = routing.VehicleVar(manager.NodeToIndex(b + 1))
        solver.Add(solver.AllDifferentExcept([va, vb], -1))
    for name, cap in sub.caps.items():
        vehs = [
            veh for veh, k in enumerate(vehicle_variant) if sub.variants[k].vehicle_type == name
        ]
        if len(vehs) > cap:
            solver.Add(solver.Sum([routing.ActiveVehicleVar(veh) for veh in vehs]) <= cap)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    if solutions is not None:
        params.solution_limit = max(1, int(solutions))
    if time_limit_s is not None:
        params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    assignment = None
    search_start = time.perf_counter()
    if sub.initial:
        routing.CloseModelWithParameters(params)
        free = {k: [veh for veh, x in enumerate(vehicle_variant) if x == k] for k in set(used)}
        routes: list[list[int]] = [[] for _ in range(nv)]
        for d in sub.initial:
            veh = free[d.variant].pop(0)
            routes[veh] = [manager.NodeToIndex(i + 1) for i in reversed(d.seq)]
        start_from = routing.ReadAssignmentFromRoutes(routes, True)
        if start_from is not None:
            assignment = routing.SolveFromAssignmentWithParameters(start_from, params)
    if assignment is None:
        assignment = routing.SolveWithParameters(params)
    wall = time.perf_counter() - start
    clock = time_limit_s is not None and time.perf_counter() - search_start >= 0.98 * time_limit_s
    if assignment is None:
        return SubSolution(
            sub.school_id,
            (),
            tuple(range(n)),
            "failed: no solution within the time limit",
            "ortools",
            wall,
        )
    drafts: list[Draft] = []
    served: set[int] = set()
    for veh in range(nv):
        index = assignment.Value(routing.NextVar(routing.Start(veh)))
        rev: list[int] = []
        while not routing.IsEnd(index):
            rev.append(manager.IndexToNode(index) - 1)
            index = assignment.Value(routing.NextVar(index))
        if rev:
            drafts.append(Draft(vehicle_variant[veh], tuple(reversed(rev))))
            served.update(rev)
    dropped = tuple(i for i in range(n) if i not in served)
    return SubSolution(
        sub.school_id,
        tuple(drafts),
        dropped,
        "feasible (time limit)",
        "ortools",
        wall,
        int(solutions or 0),
        clock,
    )
