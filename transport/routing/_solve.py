"""Solving sub-problems: backend choice, time budgets, parallel runs and the vehicle caps.

A budget in seconds becomes a *work* limit (PyVRP local-search moves, OR-Tools solutions)
through rates measured on the development machine (2 cores, otherwise idle; see
``benchmarks/routing_vs_peers.py --calibrate``), so the same seed and time limit give the same
plan. A wall-clock stop at ``TIME_CAP`` × the budget stays as a safety net: on a machine that
is slower or busy with other work the clock may stop a search first, and then two runs can
differ (they still keep every rule and the time limit).
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

import numpy as np

from transport.executor import Executor
from transport.routing._local import EXACT_MAX_PUPILS, solve_exact
from transport.routing._problem import Draft, SubProblem, SubSolution, best_variant, draft_cost
from transport.scenario import BACKENDS  # the choices, defined once

__all__ = ["BACKENDS"]


class RoutingWarning(UserWarning):
    """Routing carried on in a slower way than asked (for example without worker processes)."""


# Measured rates (see the module docstring): (pupils, PyVRP local-search moves or OR-Tools
# solutions per second), interpolated on log scales and extrapolated flat at the ends.
PYVRP_RATE = ((10, 11e6), (30, 10e6), (130, 7e6), (300, 5.5e6), (600, 3e6))
ORTOOLS_RATE = ((12, 400.0), (25, 195.0), (50, 88.0), (100, 44.0), (200, 34.0), (300, 16.0))
CAPS_BACKEND = "pyvrp"  # warm-started from the plan cut down to the caps
# The tables are conservative: on the Kent schools (2 cores, otherwise idle) a search measured
# 1.3-2 × their rates, so 1.5 × budget × table rate took 0.7-1.1 × the budget (median 0.95);
# the 120 s Kent plan ends its searches at about 90 s, before the 108 s deadline.
RATE_SAFETY = 1.5
ORTOOLS_SAFETY = 1.15  # the OR-Tools table is not known to be conservative
TIME_CAP = 2.0  # the wall-clock stop, as a multiple of the budget (and the plan's deadline)
BUDGET_EXPONENT = 1.3


def choose_backend(sub: SubProblem, backend: str) -> str:
    """The backend for one sub-problem; ``auto`` picks the one measured best for its kind."""
    if backend != "auto":
        return backend
    if sub.caps:
        return CAPS_BACKEND
    return "pyvrp"


def work_limit(
    n: int, budget_s: float, rate: tuple[tuple[int, float], ...], safety: float | None = None
) -> int:
    """Work (moves or solutions) for ``n`` pupils: ``safety`` (default ``RATE_SAFETY``) × the
    budget at the table's rate, which takes about the budget on the development machine."""
    xs = np.log([x for x, _ in rate])
    ys = np.log([y for _, y in rate])
    per_s = float(np.exp(np.interp(np.log(max(n, 1)), xs, ys)))
    return max(20, int((RATE_SAFETY if safety is None else safety) * budget_s * per_s))


def solve_subproblem(sub: SubProblem, backend: str, deadline: float | None = None) -> SubSolution:
    """Solve one sub-problem (a top-level function, so worker processes can run it).

    ``deadline`` (seconds since the epoch) is the plan's own: no search runs past it.
    """
    if sub.n <= 1 and not sub.caps:
        k = best_variant(sub, tuple(range(sub.n))) if sub.n else None
        if k is None:
            return SubSolution(sub.school_id, (), tuple(range(sub.n)), "trivial", "trivial")
        return SubSolution(sub.school_id, (Draft(k, (0,)),), (), "trivial", "trivial")
    if sub.n <= EXACT_MAX_PUPILS and not sub.caps:
        exact = solve_exact(sub)
        if exact is not None:
            return SubSolution(sub.school_id, tuple(exact), (), "optimal", "exact")
    chosen = choose_backend(sub, backend)
    if chosen == "pyvrp":
        from transport.routing._pyvrp import solve_pyvrp

        moves = work_limit(sub.n, sub.budget_s, PYVRP_RATE)
        sol = solve_pyvrp(sub, moves=moves, time_limit_s=_clock(sub, deadline))
    else:
        from transport.routing._ortools import solve_ortools

        sols = work_limit(sub.n, sub.budget_s, ORTOOLS_RATE, ORTOOLS_SAFETY)
        sol = solve_ortools(sub, solutions=sols, time_limit_s=_clock(sub, deadline))
    return _no_worse_than_start(sub, sol)


def _clock(sub: SubProblem, deadline: float | None) -> float:
    """The wall-clock stop of one search: ``TIME_CAP`` × its budget, and never the deadline."""
    limit = TIME_CAP * sub.budget_s
    if deadline is not None:
        limit = min(limit, deadline - time.time())
    return max(0.05, limit)


def _no_worse_than_start(sub: SubProblem, sol: SubSolution) -> SubSolution:
    """The solver's answer, or the warm start when that serves more pupils or costs less."""
    if not sub.initial:
        return sol
    served = sum(len(d.seq) for d in sol.drafts)
    start = sum(len(d.seq) for d in sub.initial)
    cost = sum(draft_cost(sub, d) for d in sol.drafts)
    if (served, -cost) >= (start, -sum(draft_cost(sub, d) for d in sub.initial)):
        return sol
    seen = {i for d in sub.initial for i in d.seq}
    dropped = tuple(i for i in range(sub.n) if i not in seen)
    return replace(sol, drafts=sub.initial, dropped=dropped, status="feasible (time limit)")


def needs_search(sub: SubProblem) -> bool:
    """Whether a sub-problem needs a search (and a share of the time budget)."""
    return bool(sub.caps) or sub.n > EXACT_MAX_PUPILS


def share_budget(subs: Iterable[SubProblem], seconds: float, workers: int) -> dict[str, float]:
    """Seconds per searched sub-problem over ``workers`` cores, in proportion to
    ``pupils ** BUDGET_EXPONENT`` (large schools gain most from time)."""
    heavy = [s for s in subs if needs_search(s)]
    weight = {s.school_id: float(s.n) ** BUDGET_EXPONENT for s in heavy}
    total = sum(weight.values())
    if not heavy:
        return {}
    lanes = min(workers, len(heavy))
    return {sid: max(0.05, min(seconds, seconds * lanes * w / total)) for sid, w in weight.items()}


def run_subproblems(
    subs: list[SubProblem],
    *,
    backend: str,
    workers: int,
    on_done: Callable[[SubSolution], None] | None = None,
    deadline: float | None = None,
    executor: Executor | None = None,
) -> dict[str, SubSolution]:
    """Solve every sub-problem, searched ones in parallel (largest first): on ``executor``
    when given (a cluster), else on ``workers`` local processes."""
    heavy = sorted((s for s in subs if needs_search(s)), key=lambda s: (-s.n, s.school_id))
    light = [s for s in subs if not needs_search(s)]
    out: dict[str, SubSolution] = {}

    def done(sol: SubSolution) -> None:
        out[sol.school_id] = sol
        if on_done is not None:
            on_done(sol)

    if executor is not None and heavy:
        for s in light:
            done(solve_subproblem(s, backend))
        tasks = [(s, backend, deadline) for s in heavy]
        for _, sol in executor.map_unordered(_search_task, tasks):
            done(sol)
    elif workers > 1 and len(heavy) > 1:
        ctx = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(heavy)), mp_context=ctx, initializer=_leave_interrupts
            ) as pool:
                futures = [pool.submit(solve_subproblem, s, backend, deadline) for s in heavy]
                for s in light:
                    done(solve_subproblem(s, backend))
                for fut in as_completed(futures):
                    done(fut.result())
        except BrokenProcessPool:
            warnings.warn(
                "routing worker processes could not start (a script that plans routes needs "
                'an `if __name__ == "__main__":` guard); solving in this process instead',
                RoutingWarning,
                stacklevel=3,
            )
    for s in heavy + light:
        if s.school_id not in out:
            done(solve_subproblem(s, backend, deadline))
    return out


def _search_task(_shared: object, task: tuple[SubProblem, str, float | None]) -> SubSolution:
    """One school's search as an executor task (:mod:`transport.executor`)."""
    return solve_subproblem(*task)


def _leave_interrupts() -> None:
    """Worker processes ignore Ctrl-C: the main process stops them (and says so once)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------------------------
# Vehicle caps shared among schools


def largest_remainder(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (whole numbers, ties by key)."""
    wsum = sum(weights.values())
    if wsum <= 0 or total <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    share = {k: math.floor(x) for k, x in exact.items()}
    left = total - sum(share.values())
    for k in sorted(weights, key=lambda k: (-(exact[k] - share[k]), k))[:left]:
        share[k] += 1
    return share


def type_usage(subs: dict[str, SubProblem], sols: dict[str, SubSolution]) -> dict[str, Counter]:
    """Routes per vehicle type, per school."""
    return {
        sid: Counter(subs[sid].variants[d.variant].vehicle_type for d in sol.drafts)
        for sid, sol in sols.items()
    }


def cap_shares(
    left: dict[str, int], usage: dict[str, Counter]
) -> tuple[set[str], dict[str, dict[str, int]]]:
    """Schools to solve again, and their per-type caps, when the plan breaks a type's cap.

    Each over-used type's routes left are shared among schools in proportion to what they used;
    a school over its share is solved again with caps on every capped type (types within their
    cap: what it used plus an equal part of the unused routes).
    """
    total = Counter()
    for u in usage.values():
        total.update(u)
    over = sorted(t for t, k in left.items() if total[t] > k)
    if not over:
        return set(), {}
    shares = {t: largest_remainder(left[t], {s: u[t] for s, u in usage.items()}) for t in over}
    again = sorted({s for t in over for s, u in usage.items() if u[t] > shares[t][s]})
    caps: dict[str, dict[str, int]] = {s: {} for s in again}
    for t, k in left.items():
        if t in shares:
            for s in again:
                caps[s][t] = shares[t][s]
        else:
            spare = largest_remainder(max(0, k - total[t]), {s: 1 for s in again})
            for s in again:
                caps[s][t] = usage[s][t] + spare[s]
    return set(again), caps
