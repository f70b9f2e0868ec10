"""Exact siting by Benders decomposition: a small master MIP over the yes/no decisions and the
placement min-cost flow as the subproblem, all in integer pence.

The siting MIP (see :mod:`transport.placement.siting`) has a few dozen binaries (open a site,
make an expansion) and ~100,000 continuous flows whose LP is slow for general MIP solvers.
With the binaries fixed, what is left is a min-cost flow that OR-Tools solves exactly in a
fraction of a second. Benders decomposition exploits that:

* **subproblem** — for a choice ``ẑ``, the min-cost flow gives the least operating cost
  ``Q(ẑ)`` (place + transport, plus ``M`` per pupil left unplaced, see below) and, from its
  optimal node potentials ``p`` (shortest distances in the residual graph), a dual solution
  of the flow LP. Because the dual constraints do not depend on the capacities, the same dual
  point bounds every other choice: ``Q(z) ≥ Q(ẑ) − Σ_j g_j (z_j − ẑ_j)``, with ``g_j`` the
  capacity duals of the arcs that ``z_j`` opens times their capacities (an *optimality cut*).
  A closed site is an isolated node whose potential is free; it is set to make ``g_j`` least
  (a weighted median), which gives the strongest cut that point allows.
* **master** — ``min θ + Σ_j annual build_j z_j`` subject to every cut, at most ``max_sites``
  sites and the ``budget``, solved exactly by CP-SAT on integers. Its optimum is a lower
  bound; the best ``Q(ẑ) + build(ẑ)`` evaluated is an upper bound. The loop stops when they
  meet (proven optimal: the choice evaluated twice closes the gap, so it always ends) or at
  the time limit (the gap is reported).

Lexicographic objective in exact integers: the flow sends every pupil either to a school or
along an "unplaced" arc of cost ``M`` = (the dearest arc of each pupil, summed) + (every
build cost, annualised) + 1. A choice that places one more pupil then always costs less than
one that places fewer, whatever else it costs, so the optimum places the most pupils the
places allow and, among those choices, costs least.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from transport.placement._network import Network, Pool


@dataclass
class Evaluation:
    """One choice of decisions, priced exactly by the flow."""

    open: frozenset[int]
    operating: int
    """Q(ẑ): place + transport pence a year + M × pupils unplaced."""
    total: int
    """operating + the chosen decisions' annualised build pence."""
    coefficients: dict[int, int]
    """g_j of the cut, per decision column."""
    unplaced: int
    penalised: int
    """Pupils on the "unplaced" arcs (each costs ``M`` in ``operating``)."""


@dataclass
class BendersResult:
    best: Evaluation
    lower_bound: int
    optimal: bool
    iterations: int
    evaluations: int
    wall_s: float
    history: list[tuple[float, int, int]] = field(default_factory=list)
    """(seconds, lower bound, upper bound) after each iteration."""


class FlowSubproblem:
    """The placement flow as a function of the decisions, with its dual for the cuts."""

    def __init__(
        self, net: Network, pool: Pool, gated: dict[int, int], *, placed: int | None = None
    ) -> None:
        self.net = net
        n, m = net.classes, len(net.columns)
        self.n, self.m = n, m
        self.pool_node, self.source, self.sink = n + m, n + m + 1, n + m + 2
        self.gated = gated
        na = len(net.arc_class)
        extra = {j: cap for j, cap in pool.extra.items() if cap > 0}
        self.extra_cols = np.array(sorted(extra), dtype=np.int64)
        self.extra_caps = np.array([extra[j] for j in self.extra_cols], dtype=np.int64)
        pool_cap = pool.capacity if pool.capacity is not None else int(self.extra_caps.sum())
        worst = np.zeros(n, dtype=np.int64)
        if na:
            np.maximum.at(worst, net.arc_class, net.arc_cost)
        # the "unplaced" arcs, needed only when the pupils placed depend on the decisions
        self.penalise = placed is None
        self.big_m = int((worst * net.count).sum()) + sum(gated.values()) + 1
        m_cost = self.big_m if self.penalise else 0
        e = len(self.extra_cols)
        # arcs: source→class | class→column | class→sink (unplaced) | column→sink | column→pool
        #       | pool→sink
        self.tails = np.concatenate(
            [
                np.full(n, self.source),
                net.arc_class,
                np.arange(n),
                n + np.arange(m),
                n + self.extra_cols,
                [self.pool_node],
            ]
        ).astype(np.int64)
        self.heads = np.concatenate(
            [
                np.arange(n),
                n + net.arc_column,
                np.full(n, self.sink),
                np.full(m, self.sink),
                np.full(e, self.pool_node),
                [self.sink],
            ]
        ).astype(np.int64)
        self.costs = np.concatenate(
            [
                np.zeros(n, dtype=np.int64),
                net.arc_cost,
                np.full(n, m_cost, dtype=np.int64),
                np.zeros(m + e + 1, dtype=np.int64),
            ]
        ).astype(np.int64)
        unplaced_caps = net.count if self.penalise else np.zeros(n, dtype=np.int64)
        self.cap0 = np.concatenate(
            [net.count, net.count[net.arc_class], unplaced_caps, net.base, self.extra_caps]
            + [[pool_cap]]
        ).astype(np.int64)
        # which decision opens an arc: a site's class arcs and extra arc, an expansion's extra
        self.gate = np.full(len(self.tails), -1, dtype=np.int64)
        sites = {j for j in gated if net.base[j] == 0}
        self.site_cols = sites
        class_arcs = n + np.arange(na)
        for j in sites:
            self.gate[class_arcs[net.arc_column == j]] = j
        first_extra = n + na + n + m
        for k, j in enumerate(self.extra_cols.tolist()):
            if j in gated:
                self.gate[first_extra + k] = j
        self.gated_arcs = {j: np.nonzero(self.gate == j)[0] for j in gated}
        self.total = int(net.count.sum()) if placed is None else placed
        self.left_out = int(net.count.sum()) - self.total

    def capacities(self, open_: frozenset[int]) -> np.ndarray:
        caps = self.cap0.copy()
        shut = [a for j, arcs in self.gated_arcs.items() if j not in open_ for a in arcs]
        caps[np.array(shut, dtype=np.int64)] = 0
        return caps

    def evaluate(self, open_: frozenset[int]) -> Evaluation:
        """Solve the flow for ``open_`` and derive the optimality cut."""
        from ortools.graph.python import min_cost_flow

        caps = self.capacities(open_)
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(self.tails, self.heads, caps, self.costs)
        flow.set_node_supply(self.source, self.total)
        flow.set_node_supply(self.sink, -self.total)
        status = flow.solve()
        if status != flow.OPTIMAL:  # pragma: no cover - the unplaced arcs keep it feasible
            raise RuntimeError(f"placement flow not solved (status {status})")
        x = flow.flows(np.arange(len(self.tails))).astype(np.int64)
        operating = int(flow.optimal_cost())
        p = self._potentials(x, caps)
        coefficients = self._coefficients(p, open_)
        self._check_dual(p, caps, operating, open_)
        n = self.n
        penalised = int(x[n + len(self.net.arc_class) : 2 * n + len(self.net.arc_class)].sum())
        build = sum(self.gated[j] for j in open_)
        return Evaluation(
            open_, operating, operating + build, coefficients, penalised + self.left_out, penalised
        )

    # -- duals ------------------------------------------------------------------------------
    def _potentials(self, x: np.ndarray, caps: np.ndarray) -> np.ndarray:
        """Optimal node potentials p = −(shortest distance in the residual graph)."""
        from scipy.sparse.csgraph import csgraph_from_dense, floyd_warshall

        n = self.n
        hubs = self.m + 3  # columns, pool, source, sink: node n + h
        fwd = x < caps
        bwd = x > 0
        tails = np.concatenate([self.tails[fwd], self.heads[bwd]])
        heads = np.concatenate([self.heads[fwd], self.tails[bwd]])
        w = np.concatenate([self.costs[fwd], -self.costs[bwd]])
        into_class = heads < n
        from_class = tails < n
        direct = ~into_class & ~from_class
        dist = np.full((hubs, hubs), np.inf)
        np.minimum.at(dist, (tails[direct] - n, heads[direct] - n), w[direct].astype(float))
        # eliminate the classes: hub → class → hub becomes one edge
        in_c, in_h, in_w = heads[into_class], tails[into_class] - n, w[into_class]
        out_c, out_h, out_w = tails[from_class], heads[from_class] - n, w[from_class]
        order = np.argsort(out_c, kind="stable")
        out_c, out_h, out_w = out_c[order], out_h[order], out_w[order]
        start = np.searchsorted(out_c, in_c, side="left")
        stop = np.searchsorted(out_c, in_c, side="right")
        lengths = stop - start
        pair_in = np.repeat(np.arange(len(in_c)), lengths)
        offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
        pair_out = np.arange(int(lengths.sum())) - offsets + np.repeat(start, lengths)
        np.minimum.at(
            dist,
            (in_h[pair_in], out_h[pair_out]),
            (in_w[pair_in] + out_w[pair_out]).astype(float),
        )
        np.fill_diagonal(dist, np.minimum(np.diag(dist), 0.0))
        shortest = floyd_warshall(csgraph_from_dense(dist, null_value=np.inf), directed=True)
        d_hub = np.minimum(shortest.min(axis=0), 0.0)
        d_class = np.zeros(n)
        np.minimum.at(d_class, in_c, d_hub[in_h] + in_w)
        d = np.concatenate([d_class, d_hub])
        return -np.rint(d).astype(np.int64)

    def _coefficients(self, p: np.ndarray, open_: frozenset[int]) -> dict[int, int]:
        """g_j = Σ capacity × capacity dual over the arcs decision j opens."""
        out: dict[int, int] = {}
        n = self.n
        for j, arcs in self.gated_arcs.items():
            if j in open_ or j not in self.site_cols:
                full = self.cap0[arcs]
                reduced = p[self.tails[arcs]] - p[self.heads[arcs]] - self.costs[arcs]
                out[j] = int((full * np.maximum(reduced, 0)).sum())
                continue
            # a closed site is isolated: choose its potential to make the cut strongest
            arcs_in = arcs[self.heads[arcs] == n + j]
            values = p[self.tails[arcs_in]] - self.costs[arcs_in]
            weights = self.cap0[arcs_in]
            extra_arc = arcs[self.tails[arcs] == n + j]
            out[j] = _least_coefficient(
                values,
                weights,
                int(self.cap0[extra_arc].sum()),
                int(p[self.pool_node]),
            )
        return out

    def _check_dual(
        self, p: np.ndarray, caps: np.ndarray, operating: int, open_: frozenset[int]
    ) -> None:
        """Strong duality: the dual objective equals the flow's cost (else the cut is wrong)."""
        reduced = np.maximum(p[self.tails] - p[self.heads] - self.costs, 0)
        value = self.total * (int(p[self.source]) - int(p[self.sink])) - int((caps * reduced).sum())
        if value != operating:  # pragma: no cover - a bug, never bad input
            raise RuntimeError(f"Benders dual {value} differs from the flow cost {operating}")


def _least_coefficient(values: np.ndarray, weights: np.ndarray, extra: int, p_pool: int) -> int:
    """min over q of Σ w (v − q)⁺ + extra (q − p_pool)⁺ (the closed site's potential q).

    The function is convex and piecewise linear in q, so its least value is at ``p_pool`` or
    at one of the ``values`` above it; each is evaluated with suffix sums.
    """
    order = np.argsort(values, kind="stable")
    v = values[order].astype(np.int64)
    w = weights[order].astype(np.int64)
    suffix_w = np.concatenate([np.cumsum(w[::-1])[::-1], [0]])
    suffix_wv = np.concatenate([np.cumsum((w * v)[::-1])[::-1], [0]])
    q = np.unique(np.concatenate([v[v >= p_pool], [p_pool]]))
    above = np.searchsorted(v, q, side="right")
    h = suffix_wv[above] - q * suffix_w[above] + extra * (q - p_pool)
    return int(h.min())


def solve_benders(
    sub: FlowSubproblem,
    *,
    sites: frozenset[int],
    build: dict[int, float],
    max_sites: int | None,
    budget: float | None,
    time_limit_s: float,
    seed: int,
    start: list[frozenset[int]] | None = None,
) -> BendersResult:
    """Benders loop until the bounds meet or the time is up."""
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    decisions = sorted(sub.gated)
    seen: dict[frozenset[int], Evaluation] = {}
    cuts: list[Evaluation] = []

    def feasible(open_: frozenset[int]) -> bool:
        if max_sites is not None and len(open_ & sites) > max_sites:
            return False
        return budget is None or sum(build[j] for j in open_) <= budget + 1e-6

    def evaluate(open_: frozenset[int]) -> Evaluation:
        if open_ not in seen:
            seen[open_] = sub.evaluate(open_)
            cuts.append(seen[open_])
        return seen[open_]

    best: Evaluation | None = None
    for open_ in start or [frozenset()]:
        ev = evaluate(frozenset(open_))
        if feasible(ev.open) and (best is None or ev.total < best.total):
            best = ev
    assert best is not None, "the start must hold a feasible choice (nothing opened)"
    lower = 0
    history: list[tuple[float, int, int]] = []
    iterations = 0
    hint: frozenset[int] = best.open
    while True:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            break
        iterations += 1
        model = cp_model.CpModel()
        z = {j: model.NewBoolVar(f"z{j}") for j in decisions}
        theta = model.NewIntVar(0, best.operating + sub.big_m * sub.total, "theta")
        for ev in cuts:
            g = ev.coefficients
            rhs = ev.operating + sum(g[j] for j in ev.open)
            model.Add(theta + sum(g[j] * z[j] for j in decisions if g[j]) >= rhs)
        if max_sites is not None:
            model.Add(sum(z[j] for j in decisions if j in sites) <= max_sites)
        if budget is not None:
            pence = {j: int(round(build[j] * 100)) for j in decisions}
            model.Add(sum(pence[j] * z[j] for j in decisions) <= int(round(budget * 100)))
        model.Minimize(theta + sum(sub.gated[j] * z[j] for j in decisions))
        for j in decisions:
            model.AddHint(z[j], j in hint)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(left, 0.1)
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = seed
        status = solver.Solve(model)
        if status == cp_model.OPTIMAL:
            lower = max(lower, int(round(solver.ObjectiveValue())))
        elif status == cp_model.FEASIBLE:
            lower = max(lower, int(round(solver.BestObjectiveBound())))
        else:
            break
        history.append((time.perf_counter() - t0, lower, best.total))
        if lower >= best.total or status != cp_model.OPTIMAL:
            break
        choice = frozenset(j for j in decisions if solver.Value(z[j]))
        if choice in seen:  # its cut is tight there, so the master cannot go below it
            lower = max(lower, min(best.total, seen[choice].total))
            history[-1] = (history[-1][0], lower, best.total)
            break
        ev = evaluate(choice)
        hint = choice
        if ev.total < best.total:
            best = ev
    return BendersResult(
        best=best,
        lower_bound=min(lower, best.total),
        optimal=lower >= best.total,
        iterations=iterations,
        evaluations=len(seen),
        wall_s=time.perf_counter() - t0,
        history=history,
    )
