"""Running the engine on a Dask cluster, and grids of scenarios (sweeps).

``--scheduler tcp://HOST:8786`` (or ``SEN_TRANSPORT_SCHEDULER``) on ``solve``, ``compare``,
``budgets`` and ``sweep`` sends the engine's independent work to the workers of a Dask
``distributed`` scheduler (:class:`transport.cluster.dask_backend.DaskExecutor`, an
:class:`transport.executor.Executor`): each plan's per-school route searches, the stages of each
scenario of a comparison, the re-plans behind budget savings and the uptake draws. This process
keeps the data set, the stage cache and every file it writes; workers only compute. Without a
scheduler nothing here is imported and the engine runs on this machine's worker processes.

Only :mod:`transport.cluster.dask_backend` imports Dask (``tests/test_cluster.py`` holds that),
so a run without ``--scheduler`` never loads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from transport.errors import TransportError
from transport.executor import Executor

SCHEDULER_ENV = "SEN_TRANSPORT_SCHEDULER"
"""The environment variable that gives the scheduler's address when ``--scheduler`` is not."""


class ClusterError(TransportError):
    """The cluster cannot do the work: no scheduler at the address, the scheduler lost
    mid-run, no workers, workers of another engine version, a task that kills its workers."""


@contextlib.contextmanager
def cluster_executor(address: str | None, **options: object) -> Iterator[Executor | None]:
    """A :class:`~transport.cluster.dask_backend.DaskExecutor` connected to ``address``
    (closed after), or ``None`` when no address is given (the engine's local default).

    ``options`` are :class:`~transport.cluster.dask_backend.DaskExecutor`'s.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, has no workers, or its workers run another version
        of the engine.
    """
    if not address:
        yield None
        return
    from transport.cluster.dask_backend import DaskExecutor

    with DaskExecutor(address, **options) as executor:  # type: ignore[arg-type]
        yield executor


__all__ = ["SCHEDULER_ENV", "ClusterError", "cluster_executor"]
