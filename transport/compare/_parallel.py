"""A comparison on a cluster: scenarios driven from threads here, their stages on the workers.

With a cluster executor (``executor.cluster``, e.g. :class:`transport.cluster.dask_backend.
DaskExecutor`), each scenario runs :func:`transport.compare._run.compare_one` in a thread of
this process: the stage cache, the scenario folders and the progress messages stay here, and
each stage's work goes to the cluster as tasks (a placement, the plan's per-school searches,
the budgets' re-plans and uptake draws), so that the scenarios' tasks share the workers.

Scenarios that share a stage (the same placement, the same routes) compute it once: a stage
missing from the cache is computed by the first thread that asks, and the others wait for
its result (:class:`OnceCache`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from transport.compare._run import Context, Outcome, compare_one
from transport.executor import Executor
from transport.pipeline import StageCache
from transport.scenario import Scenario

MAX_THREADS = 64
"""At most this many scenarios in flight at once."""


class OnceCache(StageCache):
    """A :class:`StageCache` shared by threads that computes each missing entry once.

    ``get`` of an entry another thread is computing waits until that thread has ``put`` it
    (or given up: :meth:`release`), then reads it. Without a folder (``--no-cache``) the
    entries are kept in memory for the length of the comparison.
    """

    def __init__(self, folder: str | Path | None) -> None:
        super().__init__(folder)
        self._lock = threading.Lock()
        self._busy: dict[tuple[str, str], threading.Event] = {}
        self._memory: dict[tuple[str, str], Any] = {}
        self._held = threading.local()

    @property
    def active(self) -> bool:
        """Always: without a folder the entries are kept in memory."""
        return True

    def get(self, stage: str, key: str) -> Any | None:
        item = (stage, key)
        while True:
            with self._lock:
                if item in self._memory:
                    return self._memory[item]
                event = self._busy.get(item)
                if event is None:
                    hit = super().get(stage, key)
                    if hit is not None:
                        return hit
                    self._busy[item] = threading.Event()
                    self._mine().add(item)
                    return None
            event.wait()

    def put(self, stage: str, key: str, value: Any) -> None:
        item = (stage, key)
        super().put(stage, key, value)
        with self._lock:
            if self.folder is None:
                self._memory[item] = value
            self._done(item)

    def release(self) -> None:
        """Let others compute what this thread took on and did not finish (it failed)."""
        with self._lock:
            for item in list(self._mine()):
                self._done(item)

    def _mine(self) -> set[tuple[str, str]]:
        if not hasattr(self._held, "items"):
            self._held.items = set()
        return self._held.items

    def _done(self, item: tuple[str, str]) -> None:
        self._mine().discard(item)
        event = self._busy.pop(item, None)
        if event is not None:
            event.set()


def concurrent_scenarios(executor: Executor, scenarios: Sequence[Scenario]) -> int:
    """How many scenarios run at once on a cluster.

    Each plan shares its time limit among ``routing.workers`` lanes (the plan is the same on
    any executor), so about ``cluster workers ÷ lanes`` plans fill the cluster without making
    one plan's searches wait behind another's past their deadline.
    """
    lanes = max((sc.routing.worker_count for sc in scenarios), default=1)
    return max(1, min(len(scenarios), MAX_THREADS, executor.workers // max(1, lanes)))


def run_on_cluster(
    ctx: Context,
    tasks: Sequence[tuple[Any, ...]],
    *,
    executor: Executor,
    say: Callable[[str], None],
) -> Iterator[tuple[int, Outcome]]:
    """``(index, outcome)`` of every scenario as each finishes (see the module docstring)."""
    cache = ctx.cache
    threads = concurrent_scenarios(executor, [t[0] for t in tasks])

    def one(i: int) -> Outcome:
        say(f"{tasks[i][0].name}: started")
        try:
            return compare_one(ctx, tasks[i])
        finally:
            if isinstance(cache, OnceCache):
                cache.release()

    with ThreadPoolExecutor(threads, thread_name_prefix="scenario") as pool:
        futures: dict[Future[Outcome], int] = {}
        queue = list(range(len(tasks)))
        try:
            while queue or futures:
                while queue and len(futures) < threads:
                    i = queue.pop(0)
                    futures[pool.submit(one, i)] = i
                done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: futures[f]):
                    i = futures.pop(fut)
                    yield i, fut.result()
        finally:
            queue.clear()
            for fut in futures:
                fut.cancel()
