"""Executors: where independent tasks run — this process, local worker processes, a cluster.

The engine fans out work that needs no other result of the same fan-out: shortest-path trees of
a road matrix, the scenarios of a comparison, the per-school route searches, the re-plans behind
budget savings, uptake draws. Each such fan-out goes through one small interface,
:class:`Executor`, so that another backend (a Dask cluster: :mod:`transport.cluster`) plugs in
by implementing one method:

``map_unordered(fn, tasks, *, shared=None)``
    calls ``fn(shared, task)`` for every task and yields ``(index, result)`` pairs as tasks
    finish (``index`` is the task's position, so a caller that needs order sorts). ``shared``
    is what every task reads (a data set, a road graph): an executor sends it to each worker
    once, not with every task. ``fn`` must be a module-level function (it is pickled).

:class:`LocalExecutor`, a pool of worker processes on this machine, is the default;
:class:`InlineExecutor` runs tasks one after another in this process (tests, and fan-outs
whose tasks already use every core).

An executor whose ``cluster`` attribute is true runs tasks on other machines: a caller then
drives each stage in this process and sends the stage's parts as tasks (a plan's per-school
searches, not the whole plan), and writes files here, never in a task. A cluster's executor
also offers ``pool()``, a ``concurrent.futures.Executor`` on its workers, for a caller that
submits tasks one by one as others finish (routing's search slices).

Examples
--------
>>> with InlineExecutor() as ex:
...     sorted(ex.map_unordered(pow, [1, 2, 3], shared=2))
[(0, 2), (1, 4), (2, 8)]
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar, runtime_checkable

log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


@runtime_checkable
class Executor(Protocol):
    """Runs independent tasks; see the module docstring."""

    workers: int
    """How many tasks may run at once."""

    cluster: bool
    """Whether tasks run on other machines (see the module docstring)."""

    def map_unordered(
        self, fn: Callable[[Any, T], R], tasks: Sequence[T], *, shared: Any = None
    ) -> Iterator[tuple[int, R]]:
        """``(index, fn(shared, task))`` for every task, as each finishes."""
        ...

    def close(self) -> None:
        """Release workers (an executor may keep them between calls)."""
        ...


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class InlineExecutor:
    """Every task in this process, one after another, in order."""

    workers = 1
    cluster = False

    def map_unordered(
        self, fn: Callable[[Any, T], R], tasks: Sequence[T], *, shared: Any = None
    ) -> Iterator[tuple[int, R]]:
        for i, task in enumerate(tasks):
            yield i, fn(shared, task)

    def close(self) -> None:
        pass

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SHARED: dict[str, Any] = {}


def _init_worker(shared: Any) -> None:
    _SHARED["value"] = shared


def _call(fn: Callable[[Any, T], R], task: T) -> R:
    return fn(_SHARED.get("value"), task)


class LocalExecutor:
    """Worker processes on this machine: the engine's default executor.

    Parameters
    ----------
    workers
        Worker processes; 0 means one per CPU this process may use.
    start_method
        ``"fork"``, ``"forkserver"`` or ``"spawn"``; by default ``fork`` on Linux while no other
        thread runs (``shared`` is then inherited, not copied), else a fork server or spawn.

    Notes
    -----
    The pool starts at the first call with more than one task and is kept for later calls with
    the same ``shared`` object (a new one restarts it); :meth:`close` stops it. A call with one
    task, or with one worker, runs in this process. When worker processes cannot start or die
    (a script without an ``if __name__ == "__main__":`` guard, a machine out of processes), the
    tasks not yet done run in this process and a warning is logged: the results are the same.
    """

    cluster = False

    def __init__(self, workers: int = 0, *, start_method: str | None = None) -> None:
        if not isinstance(workers, int) or workers < 0:
            raise ValueError(f"workers must be a whole number ≥ 0, got {workers!r}")
        self.workers = workers or cpu_count()
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None
        self._shared_id: int | None = None

    def _method(self) -> str:
        if self.start_method is not None:
            return self.start_method
        methods = multiprocessing.get_all_start_methods()
        if sys.platform.startswith("linux") and threading.active_count() == 1:
            return "fork"
        return "forkserver" if "forkserver" in methods else "spawn"

    def _pool_for(self, shared: Any) -> ProcessPoolExecutor:
        if self._pool is not None and self._shared_id != id(shared):
            self.close()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context(self._method()),
                initializer=_init_worker,
                initargs=(shared,),
            )
            self._shared_id = id(shared)
        return self._pool

    def map_unordered(
        self, fn: Callable[[Any, T], R], tasks: Sequence[T], *, shared: Any = None
    ) -> Iterator[tuple[int, R]]:
        if self.workers <= 1 or len(tasks) <= 1:
            yield from InlineExecutor().map_unordered(fn, tasks, shared=shared)
            return
        done: set[int] = set()
        try:
            pool = self._pool_for(shared)
            futures: dict[Future, int] = {pool.submit(_call, fn, t): i for i, t in enumerate(tasks)}
        except (BrokenProcessPool, OSError) as exc:  # the pool could not start
            failed: BaseException | None = exc
        else:
            failed = None
            pending = set(futures)
            while pending and failed is None:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    try:
                        result = fut.result()
                    except BrokenProcessPool as exc:  # a worker died; the task's own errors rise
                        failed = exc
                        break
                    done.add(futures[fut])
                    yield futures[fut], result
        if failed is not None:
            log.warning("worker processes failed (%s): the tasks left run in this process", failed)
            self.close()
            for i, task in enumerate(tasks):
                if i not in done:
                    yield i, fn(shared, task)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._shared_id = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pool": None, "_shared_id": None}


def default_executor(workers: int = 0) -> Executor:
    """The executor the engine uses when none is given: :class:`LocalExecutor`."""
    return LocalExecutor(workers)
