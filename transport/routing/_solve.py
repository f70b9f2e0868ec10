"""Solving sub-problems: one school at a time, and the time (or work) shared among schools.

Two modes (:class:`Effort`):

*time* (``--time-limit``, the default)
    The searches run until the plan's search deadline. Each school's search runs in *slices*
    on worker processes, each slice warm-started from the school's best plan so far. A slice
    ends on its share of the time left, on the deadline, or when the school has *converged*
    (:func:`converge_after` iterations in a row without a better plan); a converged school
    hands its time back. When a worker is free it takes the school that has had least time for
    its weight (``pupils ** BUDGET_EXPONENT``), first every school once (largest first), then
    the unconverged ones again, and when no school waits it runs a second search (another
    seed) of the largest school still searching. Once every school has converged, the time
    left is spent searching converged schools *again* (least time for their weight first,
    new seeds from their best plan, and a new wait for convergence). So the plan uses the whole
    time limit, and plans of the same seed may differ from run to run (the machine's speed
    decides how far each search gets).

*work* (``--work-limit N``)
    Deterministic: the searches stop on work, never on the clock. ``N`` is in units of
    :data:`WORK_UNIT_MOVES` local-search move evaluations (PyVRP; for the OR-Tools backend one
    unit is :data:`WORK_UNIT_ORTOOLS` solutions). Work is shared in rounds: every school still
    searching gets a share of the work left in proportion to its weight; schools that converge
    hand back what they did not use, and the next round shares it again; when every school has
    converged with work left, they are all searched again (new seeds) in the next round. Every
    slice is a deterministic function of its inputs, so the same data, seed and work limit give
    the same plan on any machine under any load.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from transport.executor import Executor
from transport.routing._local import EXACT_MAX_VISITS, solve_exact
from transport.routing._problem import Draft, SubProblem, SubSolution, best_variant, draft_cost
from transport.scenario import BACKENDS  # the choices, defined once

__all__ = ["BACKENDS"]

CAPS_BACKEND = "pyvrp"  # warm-started from the plan cut down to the caps
BUDGET_EXPONENT = 1.3
WORK_UNIT_MOVES = 1_000_000
"""One unit of ``--work-limit``: a million local-search move evaluations (about 0.1-0.3 s of
one core of the development machine, depending on the size of the school)."""
WORK_UNIT_ORTOOLS = 10
"""OR-Tools solutions per unit of ``--work-limit`` (the ``ortools`` backend only)."""
MIN_SLICE_S = 0.25  # no slice shorter than this unless the deadline is nearer
MIN_SLICE_WORK = 2_000_000  # moves
WORK_ROUNDS = 12  # at most this many rounds of sharing in work mode
TWIN_MIN_S = 1.0  # a second search of one school only when this much time is left
SYNC_SLICES = 6  # a slice is at most this fraction of the search time (at least SYNC_MIN_S), so
SYNC_MIN_S = 5.0  # that two searches of one school restart from their common best now and then
GRACE_S = 0.5  # at most this long after the deadline (and 2 % of the time left) to wait for a
# worker's answer before stopping it


class RoutingWarning(UserWarning):
    """Routing carried on in a slower way than asked (for example without worker processes)."""


@dataclass(frozen=True)
class Effort:
    """How much search a plan buys: wall-clock seconds, or deterministic work.

    ``time_limit_s`` applies in time mode; ``work_limit`` (units of :data:`WORK_UNIT_MOVES`)
    switches to the deterministic work mode, where no clock stops a search.
    """

    time_limit_s: float = 120.0
    work_limit: float | None = None

    @property
    def mode(self) -> str:
        return "time" if self.work_limit is None else "work"


def choose_backend(sub: SubProblem, backend: str) -> str:
    """The backend for one sub-problem; ``auto`` picks the one measured best for its kind."""
    if backend != "auto":
        return backend
    if sub.caps:
        return CAPS_BACKEND
    return "pyvrp"


def converge_after(n: int) -> int:
    """Iterations in a row without a better plan after which a school's search is *converged*
    (more time is unlikely to help), at least: the search also waits three times the longest
    wait for a better plan it has seen (on the school-bus instances a bus was saved after
    8,000-9,000 iterations without a better plan)."""
    return 10_000 + 100 * n


def needs_search(sub: SubProblem) -> bool:
    """Whether a sub-problem needs a search (and a share of the time), not an exact answer."""
    return bool(sub.caps) or sub.n > EXACT_MAX_VISITS


def weight(sub: SubProblem) -> float:
    """A school's claim on search time: ``pupils ** BUDGET_EXPONENT``."""
    return float(max(sub.pupils, 1)) ** BUDGET_EXPONENT


# Local-search moves a second by visits searched, relative (measured with
# ``benchmarks/routing_vs_peers.py --calibrate``): a small school's moves are cheaper.
MOVES_RATE = ((10, 11.0), (30, 10.0), (130, 7.0), (300, 5.5), (600, 3.0))


def work_weight(sub: SubProblem) -> float:
    """A school's claim on work: its claim on time × the moves a second of its size, so that
    the work mode shares work as the time mode shares time."""
    xs = np.log([x for x, _ in MOVES_RATE])
    ys = np.log([y for _, y in MOVES_RATE])
    rate = float(np.exp(np.interp(np.log(max(sub.n, 1)), xs, ys)))
    return weight(sub) * rate


def solve_subproblem(
    sub: SubProblem,
    backend: str,
    *,
    moves: int | None = None,
    seconds: float | None = None,
    converge: bool = True,
    seed: int | None = None,
    deadline: float | None = None,
    history: tuple[int, int] = (0, 0),
) -> SubSolution:
    """One slice of search on one sub-problem (a top-level function, for worker processes).

    Small sub-problems are solved exactly or trivially whatever the limits. ``moves`` is a
    work limit (PyVRP moves; OR-Tools: ``moves / WORK_UNIT_MOVES × WORK_UNIT_ORTOOLS``
    solutions), ``seconds`` a wall-clock limit and ``deadline`` (seconds since the epoch) a
    clock time no search runs past; with neither ``seconds`` nor ``deadline`` the answer is
    deterministic. ``converge`` stops early once the search has converged.
    """
    if sub.n <= 1 and not sub.caps:
        k = best_variant(sub, tuple(range(sub.n))) if sub.n else None
        if k is None:
            return SubSolution(sub.school_id, (), tuple(range(sub.n)), "trivial", "trivial")
        return SubSolution(
            sub.school_id, (Draft(k, (0,)),), (), "trivial", "trivial", converged=True
        )
    if sub.n <= EXACT_MAX_VISITS and not sub.caps:
        exact = solve_exact(sub)
        if exact is not None:
            return SubSolution(sub.school_id, tuple(exact), (), "optimal", "exact", converged=True)
    if deadline is not None:
        left = max(0.01, deadline - time.time())
        seconds = left if seconds is None else min(seconds, left)
    chosen = choose_backend(sub, backend)
    if chosen == "pyvrp":
        from transport.routing._pyvrp import solve_pyvrp

        sol = solve_pyvrp(
            sub,
            moves=moves,
            time_limit_s=seconds,
            converge_after=converge_after(sub.n) if converge else None,
            seed=seed,
            history=history,
        )
    else:
        from transport.routing._ortools import solve_ortools

        solutions = None
        if moves is not None:
            solutions = max(1, int(moves * WORK_UNIT_ORTOOLS / WORK_UNIT_MOVES))
        sol = solve_ortools(sub, solutions=solutions, time_limit_s=seconds)
        if moves is not None:
            sol = replace(sol, work=moves)
    return no_worse_than_start(sub, sol)


def _served_cost(sub: SubProblem, drafts: Iterable[Draft]) -> tuple[int, int]:
    drafts = list(drafts)
    served = sum(len(sub.members[k]) for d in drafts for k in d.seq)
    return served, -sum(draft_cost(sub, d) for d in drafts)


def no_worse_than_start(sub: SubProblem, sol: SubSolution) -> SubSolution:
    """The solver's answer, or the warm start when that serves more pupils or costs less."""
    if not sub.initial:
        return sol
    if _served_cost(sub, sol.drafts) >= _served_cost(sub, sub.initial):
        return sol
    seen = {i for d in sub.initial for i in d.seq}
    dropped = tuple(i for i in range(sub.n) if i not in seen)
    return replace(sol, drafts=sub.initial, dropped=dropped)


# --------------------------------------------------------------------------------------------
# Sharing the effort among schools


@dataclass
class _School:
    """The search state of one school across its slices."""

    sub: SubProblem
    weight: float
    best: SubSolution | None = None
    seconds: float = 0.0
    work: int = 0
    slices: int = 0
    running: int = 0
    converged: bool = False
    cut_short: bool = False
    history: tuple[int, int] = (0, 0)  # iterations since the best plan, longest wait for one
    again: bool = False  # converged, and searched again with new seeds (time or work left)
    restarts: int = 0

    @property
    def searching(self) -> bool:
        """Whether the school still claims a share of the effort."""
        return needs_search(self.sub) and (not self.converged or self.again)

    def search_again(self) -> None:
        """Search a converged school again: new seeds from its best plan, and a new wait for
        convergence (the longest wait for a better plan it has seen is kept)."""
        self.again = True
        self.restarts += 1
        self.history = (0, self.history[1])

    def take(self, sol: SubSolution) -> bool:
        """Keep the better of the best so far and a slice's answer; True if it improved."""
        self.slices += 1
        self.seconds += sol.wall_s
        self.work += sol.work
        self.converged = self.converged or sol.converged
        self.again = self.again and not sol.converged
        self.history = (sol.history[0], max(self.history[1], sol.history[1]))
        if self.best is None or _served_cost(self.sub, sol.drafts) > _served_cost(
            self.sub, self.best.drafts
        ):
            self.best = sol
            return True
        return False

    def task(self, backend: str, base_seed: int) -> dict[str, Any]:
        """The arguments of this school's next slice (after ``sub, backend``)."""
        sub = self.sub
        if self.best is not None and self.best.drafts:
            sub = sub.with_initial(self.best.drafts)
        seed = base_seed + 7919 * (self.slices + self.running)
        return {"sub": sub, "backend": backend, "seed": seed, "history": self.history}


@dataclass
class SearchReport:
    """What the searches of a plan did: per school, and in total."""

    mode: str
    solutions: dict[str, SubSolution]
    seconds: dict[str, float] = field(default_factory=dict)
    work: dict[str, int] = field(default_factory=dict)
    slices: dict[str, int] = field(default_factory=dict)
    converged: list[str] = field(default_factory=list)
    cut_short: list[str] = field(default_factory=list)
    searched_again: list[str] = field(default_factory=list)  # converged, then searched again
    wall_s: float = 0.0

    def merge(self, other: SearchReport) -> None:
        self.solutions.update(other.solutions)
        for name in ("seconds", "work", "slices"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        self.converged = sorted(set(self.converged) | set(other.converged))
        self.cut_short = sorted(set(self.cut_short) | set(other.cut_short))
        self.searched_again = sorted(set(self.searched_again) | set(other.searched_again))
        self.wall_s += other.wall_s


class _Inline:
    """An executor that runs each task at once in this process (one worker)."""

    def submit(self, fn: Callable[..., SubSolution], *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _warm_worker() -> None:
    """Worker start: ignore Ctrl-C (the main process stops the workers, and says so once) and
    import the solvers once, so no slice's time includes an import."""
    _leave_interrupts()
    import transport.routing._pyvrp  # noqa: F401


def _close(pool: Any, *, interrupted: bool = False) -> None:
    """Shut a pool down. Normally without waiting for its idle processes to exit (that can
    take seconds on a busy machine); workers still busy after the plan's deadline are stopped.
    Interrupted (Ctrl-C, a signal), every worker is stopped and waited for, so that nothing
    is left running when the process exits."""
    if interrupted or getattr(pool, "_abandoned", False):
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
    pool.shutdown(wait=interrupted, cancel_futures=True)


def _executor(lanes: int) -> Any:
    if lanes <= 1:
        return _Inline()
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=lanes, mp_context=ctx, initializer=_warm_worker)


def run_searches(
    subs: list[SubProblem],
    *,
    backend: str,
    workers: int,
    effort: Effort,
    deadline: float | None = None,
    work_moves: int | None = None,
    seed: int = 0,
    on_first: Callable[[SubSolution], None] | None = None,
    executor: Executor | None = None,
    search_again: bool = True,
) -> SearchReport:
    """Solve every sub-problem: small ones at once, the others searched with the effort given.

    Time mode searches until ``deadline`` (seconds since the epoch); work mode shares
    ``work_moves`` local-search moves. ``on_first`` is called once per school with its first
    answer (progress). ``search_again``: once every school has converged, spend the time or
    work left searching them again (new seeds); without it the searches end there.
    """
    started = time.perf_counter()
    schools = {s.school_id: _School(s, weight(s)) for s in subs}
    light = [s for s in subs if not needs_search(s)]
    heavy = sorted((s for s in subs if needs_search(s)), key=lambda s: (-s.n, s.school_id))
    report = SearchReport(effort.mode, {})
    seen_first: set[str] = set()

    def first(sid: str) -> None:
        if sid not in seen_first and on_first is not None:
            seen_first.add(sid)
            best = schools[sid].best
            if best is not None:
                on_first(best)

    for s in light:
        schools[s.school_id].take(solve_subproblem(s, backend))
        first(s.school_id)
    lanes = max(1, min(workers, len(heavy) + (1 if effort.mode == "time" else 0)))
    if heavy:
        pool = (
            executor.pool()  # type: ignore[attr-defined]  # a cluster's: see transport.cluster
            if executor is not None and hasattr(executor, "pool")
            else _executor(lanes if effort.mode == "time" else min(workers, len(heavy)))
        )
        try:
            if effort.mode == "work":
                _work_rounds(
                    schools, heavy, pool, backend, work_moves or 0, seed, first, search_again
                )
            else:
                _time_slices(
                    schools, heavy, pool, backend, deadline, lanes, seed, first, search_again
                )
        except BrokenProcessPool:
            warnings.warn(
                "routing worker processes could not start (a script that plans routes needs "
                'an `if __name__ == "__main__":` guard); solving in this process instead',
                RoutingWarning,
                stacklevel=3,
            )
            inline = _Inline()
            if effort.mode == "work":
                _work_rounds(
                    schools, heavy, inline, backend, work_moves or 0, seed, first, search_again
                )
            else:
                _time_slices(
                    schools, heavy, inline, backend, deadline, 1, seed, first, search_again
                )
        except BaseException:
            _close(pool, interrupted=True)
            raise
        _close(pool)
    for sid, st in schools.items():
        best = st.best or SubSolution(sid, (), tuple(range(st.sub.n)), "failed: no search", backend)
        status = best.status
        if needs_search(st.sub):
            if st.converged:
                status = "feasible (converged)"
            elif effort.mode == "work":
                status = "feasible (work limit)"
            else:
                status = "feasible (time limit)"
            if not best.drafts and st.sub.n:
                status = "failed: no solution within the limit"
        report.solutions[sid] = replace(best, status=status, converged=st.converged)
        if needs_search(st.sub):
            report.seconds[sid] = round(st.seconds, 3)
            report.work[sid] = st.work
            report.slices[sid] = st.slices
            if st.converged:
                report.converged.append(sid)
            if st.cut_short:
                report.cut_short.append(sid)
            if st.restarts:
                report.searched_again.append(sid)
    report.converged.sort()
    report.cut_short.sort()
    report.searched_again.sort()
    report.wall_s = time.perf_counter() - started
    return report


def _time_slices(
    schools: dict[str, _School],
    heavy: list[SubProblem],
    pool: Any,
    backend: str,
    deadline: float | None,
    lanes: int,
    seed: int,
    first: Callable[[str], None],
    search_again: bool = True,
) -> None:
    """Time mode: slices on free workers until the deadline (see the module docstring).

    A school is *cut short* when the deadline came before its first slice had the time it was
    given (or before it started at all): on a busy machine, where worker processes start late.
    """
    end = deadline if deadline is not None else time.time() + 60.0
    grace_s = min(GRACE_S, max(0.05, 0.02 * (end - time.time())))
    longest = max(SYNC_MIN_S, (end - time.time()) / SYNC_SLICES)
    pending = [s.school_id for s in heavy]
    running: dict[Future, tuple[str, float, float]] = {}  # future → school, seconds, start

    def searching(sid: str) -> bool:
        return schools[sid].searching

    def fair_slice(sid: str, now: float) -> float:
        left = end - now
        committed = sum(max(0.0, min(end, t0 + given) - now) for _, given, t0 in running.values())
        claim = {s for s in schools if searching(s) and not schools[s].running} | {sid}
        total = sum(schools[s].weight for s in claim)
        share = (lanes * left - committed) * schools[sid].weight / total
        return min(left, longest, max(MIN_SLICE_S, share))

    def pick(now: float) -> tuple[str, bool] | None:
        if pending:
            return pending.pop(0), False
        idle = [s for s in schools if searching(s) and not schools[s].running and schools[s].slices]
        if idle:
            return max(
                idle, key=lambda s: (schools[s].weight / (schools[s].seconds + 1e-3), s)
            ), False
        if end - now < MIN_SLICE_S:
            return None
        twins = [s for s in schools if searching(s) and schools[s].running == 1]
        if twins and end - now >= TWIN_MIN_S:
            return max(twins, key=lambda s: (schools[s].weight, s)), True
        # every school has converged or is running: time is left, so search the converged
        # school that has had least time for its weight again, with new seeds
        again = [s for s in schools if needs_search(schools[s].sub) and not schools[s].running]
        if again and search_again:
            sid = max(again, key=lambda s: (schools[s].weight / (schools[s].seconds + 1e-3), s))
            schools[sid].search_again()
            return sid, False
        return None

    while True:
        now = time.time()
        while len(running) < lanes and end - now > 0.05:
            choice = pick(now)
            if choice is None:
                break
            sid, twin = choice
            st = schools[sid]
            seconds = min(end - now, longest) if twin else fair_slice(sid, now)
            fut = pool.submit(
                solve_subproblem, **st.task(backend, seed), seconds=seconds, deadline=end
            )
            st.running += 1
            running[fut] = (sid, seconds, now)
            now = time.time()
        if not running:
            break
        grace = end + grace_s - time.time()
        done, _ = wait(list(running), timeout=max(0.0, grace), return_when=FIRST_COMPLETED)
        if not done:
            # the deadline has passed and the workers have not answered (a busy machine, or
            # worker processes still starting): stop them, keep what the schools have
            for sid, _, _ in running.values():
                schools[sid].cut_short = schools[sid].best is None or schools[sid].cut_short
            pool._abandoned = True
            running.clear()
            break
        for fut in done:
            sid, given, _ = running.pop(fut)
            st = schools[sid]
            st.running -= 1
            sol = fut.result()
            if st.slices == 0 and sol.clock_stopped and sol.wall_s < 0.5 * given:
                st.cut_short = True  # started late: the deadline came first
            st.take(sol)
            first(sid)
    for sid in pending:
        schools[sid].cut_short = True
    _rescue(schools, backend, seed)


RESCUE_S = 0.01


def _rescue(schools: dict[str, _School], backend: str, seed: int) -> None:
    """Schools the clock left without any plan get the search's first local optimum, found in
    this process when the solver is already loaded here (milliseconds a school); otherwise the
    repair inserts their visits (importing the solver could take longer than that)."""
    import sys

    if "transport.routing._pyvrp" not in sys.modules or backend == "ortools":
        for st in schools.values():
            st.cut_short = st.cut_short or (st.best is None and needs_search(st.sub))
        return
    for sid in sorted(schools):
        st = schools[sid]
        if st.best is None and needs_search(st.sub):
            st.cut_short = True
            st.take(solve_subproblem(st.sub, backend, seconds=RESCUE_S, converge=False, seed=seed))


def _work_rounds(
    schools: dict[str, _School],
    heavy: list[SubProblem],
    pool: Any,
    backend: str,
    total: int,
    seed: int,
    first: Callable[[str], None],
    search_again: bool = True,
) -> None:
    """Work mode: rounds of slices sharing the work left (see the module docstring)."""
    left = total
    longest = max(MIN_SLICE_WORK, total // SYNC_SLICES)  # restarts from the best, as in time mode
    for _ in range(WORK_ROUNDS):
        if left < MIN_SLICE_WORK:
            break
        claim = [s.school_id for s in heavy if schools[s.school_id].searching]
        if not claim:  # every school converged with work left: search them all again
            if not search_again:
                break
            for s in heavy:
                schools[s.school_id].search_again()
            claim = [s.school_id for s in heavy]
        weights = {sid: work_weight(schools[sid].sub) for sid in claim}
        wsum = sum(weights.values())
        floor = min(MIN_SLICE_WORK, left // len(claim))  # every school some work, in total
        rest = left - floor * len(claim)  # no more than the work left
        allot = {sid: min(longest, floor + int(rest * w / wsum)) for sid, w in weights.items()}
        futures = {}
        for sid in claim:
            futures[sid] = pool.submit(
                solve_subproblem, **schools[sid].task(backend, seed), moves=allot[sid]
            )
        for sid in claim:
            sol = futures[sid].result()
            schools[sid].take(sol)
            left -= sol.work
            first(sid)


def _leave_interrupts() -> None:
    """Worker processes ignore Ctrl-C: the main process stops them (and says so once)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
