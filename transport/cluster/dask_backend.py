"""The Dask backend of :class:`transport.executor.Executor`: tasks on a ``distributed`` cluster.

The only module of the engine that imports Dask. :class:`DaskExecutor` connects a
``distributed.Client`` to a running scheduler (``dask scheduler``; workers started with
``dask worker tcp://HOST:8786``), checks that every worker runs the same engine as this
process, and implements ``map_unordered``:

* ``shared`` (a data set, a savings context) is scattered to every worker once
  (``scatter(..., broadcast=True)``) and passed to each task by reference, never with a task;
* tasks are submitted in the order given as their priority (a plan lists its largest schools
  first), and results stream back as they finish (``as_completed``);
* a task of a worker that is lost runs again on another worker (the scheduler does that; every
  task of the engine is a pure function of its arguments, so the result is the same);
* a scheduler that cannot be reached, or that goes away mid-run, raises
  :class:`transport.cluster.ClusterError` (the command line: one message, exit status 2; the
  run folder is written only at the end, so the previous one is left as it was).

Engine identity: the package version, a digest of the engine's source (every ``*.py`` of
``transport/``) and the versions of Python and the solvers. Workers whose identity differs are
refused when the executor connects (naming both versions), and every task checks it again on
its worker, so a worker that joins later with other code cannot answer either.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import socket
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Executor, Future
from pathlib import Path
from typing import Any, TypeVar

from distributed import Client, as_completed
from distributed.client import FutureCancelledError

import transport
from transport.cluster import ClusterError
from transport.pipeline.cache import digest, versions

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT_S = 10.0
"""How long to try to reach the scheduler."""
WORKERS_TIMEOUT_S = 30.0
"""How long to wait for a first worker to join a scheduler that has none."""
ENGINE_ROOT = Path(transport.__file__).resolve().parent
_QUIET = ("distributed", "tornado", "asyncio")
"""Loggers muted while connected: their reconnect warnings and tracebacks would bury the one
clear message the command line prints."""


# ---------------------------------------------------------------------------------------------
# Engine identity


_IDENTITY: dict[str, str] = {}


def source_digest(root: Path = ENGINE_ROOT) -> str:
    """sha256 of the engine's source: every ``*.py`` under ``root``, with its path."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def engine_identity() -> dict[str, str]:
    """This process's engine: version, source digest, and digest of Python's and the solvers'
    versions (computed once per process; run on every worker by :meth:`DaskExecutor.check`)."""
    if not _IDENTITY:
        _IDENTITY.update(
            version=transport.__version__,
            source=source_digest(),
            packages=digest(versions()),
        )
    return dict(_IDENTITY)


def describe(identity: dict[str, str]) -> str:
    """``sen-transport 0.1.0 (source 1a2b3c4d5e6f)`` for a message."""
    return (
        f"sen-transport {identity.get('version', '?')} "
        f"(source {str(identity.get('source', '?'))[:12]}, "
        f"packages {str(identity.get('packages', '?'))[:12]})"
    )


def warm_up() -> bool:
    """Import the solvers and the stages in a worker, so that no task's time includes it."""
    import transport.budgets.savings  # noqa: F401
    import transport.placement  # noqa: F401
    import transport.routing._pyvrp  # noqa: F401

    return True


class EngineMismatch(Exception):
    """Raised by a task on a worker whose engine differs from the client's."""


class Sealed:
    """A task's arguments as Dask shows them (dashboard, worker logs): no pupil data."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<sealed>"


class TaskFailed(Exception):
    """A task's own exception, carried to the client; Dask's worker log shows only its type
    (an engine message may name a pupil)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


def _run_task(
    fn: Callable[[Any, T], R], shared: Any, task: Sealed, identity: dict[str, str]
) -> Sealed:
    """What a worker runs: the identity check, then ``fn(shared, task)``."""
    mine = engine_identity()
    if mine != identity:
        raise EngineMismatch(f"worker runs {describe(mine)}, the client {describe(identity)}")
    try:
        return Sealed(fn(shared, task.value))
    except Exception as exc:
        raise TaskFailed(exc) from None


# ---------------------------------------------------------------------------------------------
# The executor


class DaskExecutor:
    """Tasks on the workers of a Dask ``distributed`` scheduler.

    Parameters
    ----------
    address
        The scheduler, e.g. ``tcp://10.0.0.5:8786`` (``dask scheduler`` listens on port 8786;
        its dashboard on 8787).
    connect_timeout_s
        How long to try to reach the scheduler (default :data:`CONNECT_TIMEOUT_S`).
    workers_timeout_s
        How long to wait for a first worker when the scheduler has none (default
        :data:`WORKERS_TIMEOUT_S`).
    quiet
        Mute Dask's own log messages while connected (the command line's choice: its one
        message says what went wrong).
    client
        An existing ``distributed.Client`` to use instead of connecting (tests; it is not
        closed by :meth:`close`).

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, no worker joins it, or a worker runs another
        version of the engine (the message names both).
    """

    cluster = True

    def __init__(
        self,
        address: str,
        *,
        connect_timeout_s: float | None = None,
        workers_timeout_s: float | None = None,
        quiet: bool = True,
        client: Client | None = None,
    ) -> None:
        self.address = address
        connect_timeout_s = connect_timeout_s or CONNECT_TIMEOUT_S
        workers_timeout_s = workers_timeout_s or WORKERS_TIMEOUT_S
        self._levels: dict[str, int] = {}
        if quiet:
            for name in _QUIET:
                logger = logging.getLogger(name)
                self._levels[name] = logger.level
                logger.setLevel(logging.CRITICAL + 1)
        self._own_client = client is None
        try:
            if client is None:
                _probe(address, connect_timeout_s)
            self.client = client or Client(address, timeout=connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            self._restore_logs()
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} ({_reason(exc)}): start one with "
                "'dask scheduler' and workers with 'dask worker ADDRESS', or leave out "
                "--scheduler (and SEN_TRANSPORT_SCHEDULER) to run on this machine"
            ) from None
        self.identity = engine_identity()
        self._lock = threading.Lock()
        self._scattered: dict[int, Any] = {}
        self._warm: list[Any] = []
        try:
            try:
                self.client.wait_for_workers(1, timeout=workers_timeout_s)
            except (TimeoutError, OSError) as exc:
                raise ClusterError(
                    f"no worker joined the Dask scheduler at {address} within "
                    f"{workers_timeout_s:g} s ({_reason(exc)}): start workers with "
                    f"'dask worker {address}'"
                ) from None
            found = self.check()
            # the imports, on every worker while this process reads the data (not awaited)
            self._warm = [
                self.client.submit(warm_up, key=f"warm_up-{uuid.uuid4().hex[:12]}-{i}",
                                   workers=[addr], pure=False)
                for i, addr in enumerate(sorted(found))
            ]  # fmt: skip
        except BaseException:
            self.close()
            raise

    # -----------------------------------------------------------------------------------------

    @property
    def workers(self) -> int:  # type: ignore[override]
        """Worker threads of the cluster now (each runs one task at a time)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # the scheduler is gone: the next map_unordered says so
            return 1

    def check(self) -> dict[str, dict[str, str]]:
        """Every worker's engine identity; refuse the cluster when one differs from ours.

        Raises
        ------
        ClusterError
            Naming both versions (and the workers) when a worker runs another engine.
        """
        try:
            found = self.client.run(engine_identity)
        except (OSError, CancelledError) as exc:
            raise self._lost(exc) from None
        except Exception as exc:  # a worker that cannot run our check: another engine
            raise ClusterError(
                f"the workers of {self.address} cannot run this engine's version check "
                f"({type(exc).__name__}: {exc}); this machine runs {describe(self.identity)}: "
                "install the same sen-transport on every worker"
            ) from None
        wrong = {addr: ident for addr, ident in found.items() if ident != self.identity}
        if wrong:
            first = next(iter(sorted(wrong)))
            raise ClusterError(
                f"{len(wrong)} of {len(found)} workers of {self.address} run another engine: "
                f"{describe(wrong[first])} on {first} (and {len(wrong) - 1} more), this "
                f"machine {describe(self.identity)}; install the same sen-transport version "
                "(and source) on every worker, e.g. 'pip install sen-transport=="
                f"{self.identity['version']}' or the same checkout, and restart them"
            )
        return found

    def _share(self, shared: Any) -> tuple[Any, bool]:
        """``shared`` on every worker, as a reference for tasks, and whether it is kept.

        An object is scattered once and kept on the workers for as long as it lives here (the
        comparison's data set, for every scenario and stage); one that cannot be watched
        (a tuple) is sent for the one call and released after it.
        """
        if shared is None:
            return None, True
        with self._lock:
            held = self._scattered.get(id(shared))
            if held is not None:
                return held, True
            try:
                ref = self.client.scatter([shared], broadcast=True, hash=False)[0]
            except (OSError, CancelledError) as exc:
                raise self._lost(exc) from None
            try:
                weakref.finalize(shared, self._forget, id(shared))
            except TypeError:
                return ref, False
            self._scattered[id(shared)] = ref
            return ref, True

    def _forget(self, key: int) -> None:
        """``shared`` is gone here: let the workers drop their copies."""
        with self._lock:
            ref = self._scattered.pop(key, None)
        if ref is not None:
            with contextlib.suppress(Exception):
                ref.release()

    def map_unordered(
        self, fn: Callable[[Any, T], R], tasks: Sequence[T], *, shared: Any = None
    ) -> Iterator[tuple[int, R]]:
        """``(index, fn(shared, task))`` for every task, as each finishes on the cluster."""
        if not tasks:
            return
        ref, kept = self._share(shared)
        name = getattr(fn, "__name__", "task").strip("_") or "task"
        token = uuid.uuid4().hex[:12]
        try:
            futures = {
                self.client.submit(
                    _run_task,
                    fn,
                    ref,
                    Sealed(task),
                    self.identity,
                    key=f"{name}-{token}-{i}",
                    pure=False,
                    priority=len(tasks) - i,
                ): i
                for i, task in enumerate(tasks)
            }
        except (OSError, CancelledError) as exc:
            raise self._lost(exc) from None
        pending = set(futures)
        try:
            for fut in as_completed(list(futures), loop=self.client.loop):
                pending.discard(fut)
                try:
                    result = fut.result()
                except (Exception, CancelledError) as exc:
                    mapped = self._translate(exc, name)
                    if mapped is exc:
                        raise
                    raise mapped from None
                fut.release()
                yield futures[fut], result.value
        finally:
            if pending:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(pending))
            if not kept:
                with contextlib.suppress(Exception):
                    ref.release()

    def pool(self) -> ClusterPool:
        """A ``concurrent.futures`` executor on the cluster, for callers that schedule tasks
        one by one as others finish (``submit`` and ``concurrent.futures.wait``)."""
        return ClusterPool(self)

    def _translate(self, exc: BaseException, name: str) -> BaseException:
        """A task's exception as the caller should see it (cluster faults: ClusterError)."""
        if isinstance(exc, TaskFailed):
            return exc.error
        if isinstance(exc, EngineMismatch):
            return ClusterError(
                f"a worker of {self.address} joined with another engine: {exc}; "
                "install the same sen-transport on every worker"
            )
        if isinstance(exc, FutureCancelledError | CancelledError | OSError):
            return self._lost(exc)
        if type(exc).__name__ == "KilledWorker":
            return ClusterError(
                f"a task ({name}) was running on every worker that died under it "
                f"({exc}): the workers may be short of memory"
            )
        return exc

    def _lost(self, exc: BaseException) -> ClusterError:
        return ClusterError(
            f"lost the Dask scheduler at {self.address} mid-run ({_reason(exc)}); nothing was "
            "written and the previous run folder is unchanged: run again when the scheduler "
            "is back, or without --scheduler"
        )

    def close(self) -> None:
        """Release what was scattered and disconnect (the cluster keeps running)."""
        self._scattered = {}
        self._warm = []
        client = getattr(self, "client", None)
        if client is not None and self._own_client:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        self._restore_logs()

    def _restore_logs(self) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels = {}

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:  # pragma: no cover - a guard, not a feature
        raise TypeError("a DaskExecutor stays in the process that connected it")


class ClusterPool(Executor):
    """``concurrent.futures.Executor`` on a :class:`DaskExecutor`'s cluster.

    ``submit(fn, *args, **kwargs)`` runs ``fn`` on a worker (the engine identity checked
    there, as for :meth:`DaskExecutor.map_unordered`) and returns a
    ``concurrent.futures.Future``, so ``concurrent.futures.wait`` and ``as_completed`` work;
    cluster faults reach its ``result()`` as :class:`~transport.cluster.ClusterError`. One
    thread of this pool hands the cluster's answers over; :meth:`shutdown` stops it.
    """

    def __init__(self, executor: DaskExecutor) -> None:
        self._ex = executor
        self._live: dict[Any, tuple[Future, str]] = {}
        self._lock = threading.Lock()
        self._count = 0
        self._token = uuid.uuid4().hex[:12]
        self._answers = as_completed([], loop=executor.client.loop)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        with self._lock:
            self._count += 1
            count = self._count
            if not self._live:  # nothing outstanding: a new wave (the dashboard's task group)
                self._token = uuid.uuid4().hex[:12]
            token = self._token
            if self._thread is None:
                self._thread = threading.Thread(target=self._hand_over, daemon=True)
                self._thread.start()
        name = getattr(fn, "__name__", "task").strip("_") or "task"
        out: Future = Future()
        out.set_running_or_notify_cancel()
        try:
            remote = self._ex.client.submit(
                _run_task,
                _call_with,
                None,
                Sealed((fn, args, kwargs)),
                self._ex.identity,
                key=f"{name}-{token}-{count}",
                pure=False,
                priority=-count,  # in the order submitted
            )
        except (OSError, CancelledError) as exc:
            out.set_exception(self._ex._lost(exc))
            return out
        with self._lock:
            self._live[remote] = (out, name)
        self._answers.add(remote)
        return out

    def _hand_over(self) -> None:
        while not self._stop.is_set():
            if not self._answers.has_ready():
                self._stop.wait(0.01)
                continue
            for done in self._answers.next_batch(block=False):
                with self._lock:
                    out, name = self._live.pop(done, (None, ""))
                if out is None or out.done():
                    continue
                try:
                    answer, error = done.result().value, None
                except (Exception, CancelledError) as exc:
                    answer, error = None, self._ex._translate(exc, name)
                with contextlib.suppress(concurrent.futures.InvalidStateError):  # shut down
                    if error is None:
                        out.set_result(answer)
                    else:
                        out.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            live = dict(self._live)
        if cancel_futures and live:
            with contextlib.suppress(Exception):
                self._ex.client.cancel(list(live))
            for out, _ in live.values():
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    out.set_exception(CancelledError("the pool was shut down"))
        elif wait:
            concurrent.futures.wait([out for out, _ in live.values()])
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def _call_with(
    _shared: object, task: tuple[Callable[..., R], tuple[Any, ...], dict[str, Any]]
) -> R:
    fn, args, kwargs = task
    return fn(*args, **kwargs)


def _probe(address: str, timeout: float) -> None:
    """Reach a ``tcp://HOST:PORT`` scheduler's port before Dask tries (its client, when it
    cannot connect, retries until the timeout and leaves a thread behind)."""
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"not a scheduler address (tcp://HOST:PORT): {address}")
    with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
        pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
