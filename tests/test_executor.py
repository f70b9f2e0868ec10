"""Executors: the same results inline and in worker processes; shared data sent once."""

from __future__ import annotations

import os

import pytest

from transport.executor import Executor, InlineExecutor, LocalExecutor


def scaled(shared: int, task: int) -> tuple[int, int]:
    return shared * task, os.getpid()


def fails(shared: object, task: int) -> int:
    raise KeyError(task)


def dies_in_a_worker(shared: object, task: int) -> int:
    """A worker lost (killed, out of memory); in the parent process the task succeeds."""
    if str(os.getpid()) != os.environ["EXECUTOR_TEST_PARENT"]:
        os._exit(3)
    return task * 10


@pytest.mark.parametrize("make", [InlineExecutor, lambda: LocalExecutor(2)])
def test_results_by_index_whatever_the_order(make):
    with make() as ex:
        assert isinstance(ex, Executor)
        got = dict(ex.map_unordered(scaled, list(range(8)), shared=3))
    assert sorted(got) == list(range(8))
    assert [got[i][0] for i in range(8)] == [3 * i for i in range(8)]


def test_worker_processes_do_the_work_and_keep_their_pool():
    with LocalExecutor(2) as ex:
        first = dict(ex.map_unordered(scaled, list(range(6)), shared=2))
        pool = ex._pool
        again = dict(ex.map_unordered(scaled, list(range(6)), shared=2))
        assert ex._pool is pool  # the same shared object: the same workers
    assert {pid for _, pid in first.values()} - {os.getpid()}
    assert {i: v for i, (v, _) in again.items()} == {i: v for i, (v, _) in first.items()}


def test_one_task_or_one_worker_runs_here():
    assert dict(LocalExecutor(4).map_unordered(scaled, [5], shared=1))[0][1] == os.getpid()
    assert {pid for _, (_, pid) in LocalExecutor(1).map_unordered(scaled, [1, 2], shared=1)} == {
        os.getpid()
    }


def test_a_tasks_own_error_rises():
    with LocalExecutor(2) as ex, pytest.raises(KeyError):
        list(ex.map_unordered(fails, [1, 2, 3]))


def test_lost_workers_leave_the_tasks_to_this_process(monkeypatch, caplog):
    monkeypatch.setenv("EXECUTOR_TEST_PARENT", str(os.getpid()))
    with LocalExecutor(2) as ex:
        got = dict(ex.map_unordered(dies_in_a_worker, [1, 2, 3]))
    assert got == {0: 10, 1: 20, 2: 30}
    assert "worker processes failed" in caplog.text


def test_workers_must_be_a_count():
    with pytest.raises(ValueError, match="workers"):
        LocalExecutor(-1)
