"""The siting model as one MIP in an OR-Tools solver (``--solver scip|cbc|highs|cp-sat``).

The same model as :mod:`transport.placement.siting` solves by Benders decomposition, written
whole: continuous flows on the class → school arcs and on the "places added" arcs, a binary
per new site and per costly expansion, ``added ≤ extra × open`` and, to tighten the LP, each
class's flow to a site ``≤ pupils in the class × open``; at most ``max_sites`` sites and the
``budget``. Costs in pence (integers for CP-SAT). When the most pupils placed depends on the
choice, a first stage maximises it and the second minimises the cost with it fixed. The
relative gap is set to 0, so "optimal" means proven. A solver that stops with no solution
keeps the choice that is always feasible, opening nothing, and reports the gap.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from transport.errors import ParameterError
from transport.units import to_pence

if TYPE_CHECKING:
    from transport.placement.siting import SitingModel, SitingOptions

_PYWRAPLP = {"scip": "SCIP", "cbc": "CBC", "highs": "HIGHS"}


class _Mip:
    """The MIP over the model, built for one OR-Tools backend."""

    def __init__(self, model: SitingModel, options: SitingOptions) -> None:
        self.model = model
        self.options = options
        self.cp = options.solver == "cp-sat"
        self.vars = 0
        self.cons = 0

    def solve(self, *, maximise_placed: bool, target: int, time_limit_s: float) -> dict[str, Any]:
        if self.cp:
            return self._solve_cp(maximise_placed, target, time_limit_s)
        return self._solve_lp(maximise_placed, target, time_limit_s)

    # the same constraints, written once for either API -------------------------------------
    def _rows(self) -> dict[str, Any]:
        net, pool = self.model.net, self.model.pool
        arcs_in: list[list[int]] = [[] for _ in net.columns]
        for a, j in enumerate(net.arc_column.tolist()):
            arcs_in[j].append(a)
        arcs_of: list[list[int]] = [[] for _ in range(net.classes)]
        for a, c in enumerate(net.arc_class.tolist()):
            arcs_of[c].append(a)
        extra = {j: cap for j, cap in pool.extra.items() if cap > 0}
        return {"arcs_in": arcs_in, "arcs_of": arcs_of, "extra": extra}

    def _solve_lp(self, maximise: bool, target: int, limit: float) -> dict[str, Any]:
        from ortools.linear_solver import pywraplp

        solver = pywraplp.Solver.CreateSolver(_PYWRAPLP[self.options.solver])
        if solver is None:  # pragma: no cover - every OR-Tools wheel has SCIP, CBC and HiGHS
            raise ParameterError(f"the {self.options.solver} solver is not available")
        net, model = self.model.net, self.model
        rows = self._rows()
        count = net.count
        y = [solver.NumVar(0.0, float(count[c]), "") for c in net.arc_class.tolist()]
        e = {j: solver.NumVar(0.0, float(cap), "") for j, cap in rows["extra"].items()}
        z = {j: solver.BoolVar("") for j in model.gated}
        for c, arcs in enumerate(rows["arcs_of"]):
            if arcs:
                ct = solver.Constraint(-solver.infinity(), float(count[c]))
                for a in arcs:
                    ct.SetCoefficient(y[a], 1.0)
        for j, arcs in enumerate(rows["arcs_in"]):
            if not arcs:
                continue
            ct = solver.Constraint(-solver.infinity(), float(net.base[j]))
            for a in arcs:
                ct.SetCoefficient(y[a], 1.0)
            if j in e:
                ct.SetCoefficient(e[j], -1.0)
        if model.pool.capacity is not None and e:
            ct = solver.Constraint(-solver.infinity(), float(model.pool.capacity))
            for v in e.values():
                ct.SetCoefficient(v, 1.0)
        for j, zj in z.items():
            if j in e:
                solver.Add(e[j] <= rows["extra"][j] * zj)
            if j in model.sites:  # base 0: every pupil there is on an added place
                for a in rows["arcs_in"][j]:
                    solver.Add(y[a] <= float(count[net.arc_class[a]]) * zj)
        self._side_constraints(solver, z)
        if not maximise:
            placed = solver.Constraint(float(target), solver.infinity())
            for v in y:
                placed.SetCoefficient(v, 1.0)
        objective = solver.Objective()
        if maximise:
            for v in y:
                objective.SetCoefficient(v, 1.0)
            objective.SetMaximization()
        else:
            for a, v in enumerate(y):
                objective.SetCoefficient(v, float(net.arc_cost[a]))
            for j, zj in z.items():
                objective.SetCoefficient(zj, float(model.gated[j]))
            objective.SetMinimization()
        solver.SetTimeLimit(max(1, int(limit * 1000)))
        seed_param = {
            "scip": f"randomization/randomseedshift = {self.options.seed}",
            "highs": f"random_seed = {self.options.seed}",
        }.get(self.options.solver)
        if seed_param:
            solver.SetSolverSpecificParametersAsString(seed_param)
        params = pywraplp.MPSolverParameters()
        params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
        self.vars, self.cons = solver.NumVariables(), solver.NumConstraints()
        status = solver.Solve(params)
        names = {
            solver.OPTIMAL: "optimal",
            solver.FEASIBLE: "feasible (time limit)",
            solver.INFEASIBLE: "infeasible",
        }
        name = names.get(status, f"status {status}")
        if status == solver.INFEASIBLE:  # pragma: no cover - opening nothing is always feasible
            raise ParameterError(f"the siting model could not be solved: {name}")
        if status != solver.OPTIMAL and status != solver.FEASIBLE:
            return _nothing_found(objective.BestBound() if status == solver.NOT_SOLVED else 0.0)
        return {
            "status": name,
            "optimal": status == solver.OPTIMAL,
            "objective": objective.Value(),
            "bound": objective.BestBound(),
            "open": {j for j, zj in z.items() if zj.solution_value() > 0.5},
        }

    def _side_constraints(self, solver: Any, z: dict[int, Any]) -> None:
        model, opts = self.model, self.options
        if opts.max_sites is not None:
            sites = [zj for j, zj in z.items() if j in model.sites]
            if sites:
                solver.Add(sum(sites) <= opts.max_sites)
        if opts.budget is not None and z:
            solver.Add(sum(model.build[j] * zj for j, zj in z.items()) <= opts.budget)

    def _solve_cp(self, maximise: bool, target: int, limit: float) -> dict[str, Any]:
        from ortools.sat.python import cp_model

        net, model = self.model.net, self.model
        rows = self._rows()
        count = net.count.tolist()
        cp = cp_model.CpModel()
        y = [cp.NewIntVar(0, count[c], "") for c in net.arc_class.tolist()]
        e = {j: cp.NewIntVar(0, cap, "") for j, cap in rows["extra"].items()}
        z = {j: cp.NewBoolVar("") for j in model.gated}
        for c, arcs in enumerate(rows["arcs_of"]):
            if arcs:
                cp.Add(sum(y[a] for a in arcs) <= count[c])
        for j, arcs in enumerate(rows["arcs_in"]):
            if arcs:
                cp.Add(sum(y[a] for a in arcs) <= int(net.base[j]) + e.get(j, 0))
        if model.pool.capacity is not None and e:
            cp.Add(sum(e.values()) <= model.pool.capacity)
        for j, zj in z.items():
            if j in e:
                cp.Add(e[j] <= rows["extra"][j] * zj)
            if j in model.sites:
                for a in rows["arcs_in"][j]:
                    cp.Add(y[a] <= count[net.arc_class[a]] * zj)
        if self.options.max_sites is not None:
            sites = [zj for j, zj in z.items() if j in model.sites]
            if sites:
                cp.Add(sum(sites) <= self.options.max_sites)
        if self.options.budget is not None and z:
            cp.Add(
                sum(int(to_pence(model.build[j])) * zj for j, zj in z.items())
                <= int(to_pence(self.options.budget))
            )
        if maximise:
            cp.Maximize(sum(y))
        else:
            cp.Add(sum(y) >= target)
            cp.Minimize(
                sum(int(net.arc_cost[a]) * v for a, v in enumerate(y))
                + sum(model.gated[j] * zj for j, zj in z.items())
            )
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = limit
        solver.parameters.random_seed = self.options.seed
        solver.parameters.num_workers = 2
        self.vars = len(y) + len(e) + len(z)
        self.cons = len(cp.Proto().constraints)
        status = solver.Solve(cp)
        if status == cp_model.INFEASIBLE:  # pragma: no cover - opening nothing is feasible
            raise ParameterError("the siting model could not be solved: infeasible")
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _nothing_found(solver.BestObjectiveBound())
        return {
            "status": "optimal" if status == cp_model.OPTIMAL else "feasible (time limit)",
            "optimal": status == cp_model.OPTIMAL,
            "objective": solver.ObjectiveValue(),
            "bound": solver.BestObjectiveBound(),
            "open": {j for j, zj in z.items() if solver.Value(zj)},
        }


def _nothing_found(bound: float) -> dict[str, Any]:
    """The solver stopped with no solution: keep the choice that is always feasible (open
    nothing); its gap against the solver's bound (0 when it has none) is reported."""
    return {
        "status": "no solution within the time limit: nothing opened",
        "optimal": False,
        "objective": None,
        "bound": bound if math.isfinite(bound) else 0.0,
        "open": set(),
    }


def solve_mip(
    model: SitingModel, options: SitingOptions, low: int, high: int
) -> tuple[dict[str, Any], int, int, tuple[int, int]]:
    """The whole MIP in one solver (two stages when the most pupils placed depends on it)."""
    mip = _Mip(model, options)
    stages = 1
    target = low
    left = options.time_limit_s
    if not model.gated:  # nothing to decide: the network flow alone is exact
        out = {"status": "optimal", "optimal": True, "objective": None, "bound": None}
        out["open"] = set()
        return out, target, stages, (0, 0)
    if high > low:
        stages = 2
        t0 = time.perf_counter()
        first = mip.solve(maximise_placed=True, target=0, time_limit_s=left / 2)
        target = low if first["objective"] is None else int(round(first["objective"]))
        left = max(1.0, left - (time.perf_counter() - t0))
    out = mip.solve(maximise_placed=False, target=target, time_limit_s=left)
    return out, target, stages, (mip.vars, mip.cons)
