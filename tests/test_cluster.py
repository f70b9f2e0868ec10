"""A real Dask cluster on 127.0.0.1: the same plan as on this machine, and its faults.

One scheduler (``python -m dask scheduler``) and two worker processes (``dask worker
--no-nanny``) are started for the module and stopped after it. Plans are made in routing's
deterministic mode (``--work-limit``: the searches stop on work, never on the clock), so they
compare byte for byte on a machine busy with other work.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_routing import school, spread, write_data
from transport.cli.main import cli
from transport.cluster import ClusterError
from transport.jobs import solve_job
from transport.scenario import RoutingSettings, Scenario

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
SOLVE = ["--work-limit", "20", "--workers", "2", "--seed", "3", "--quiet"]
ROUTING = RoutingSettings(work_limit=20, workers=2, seed=3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def start_worker(
    address: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--no-nanny"]
    cmd += ["--no-dashboard", "--death-timeout", "60"]
    return subprocess.Popen(
        cmd, env=env or _env(), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Cluster:
    """A scheduler and its workers, all processes of this test module."""

    def __init__(self) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        port = self.address.rsplit(":", 1)[1]
        cmd = [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", port]
        self.scheduler = subprocess.Popen(
            [*cmd, "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.workers = [start_worker(self.address) for _ in range(2)]

    def client(self, workers: int = 2):  # noqa: ANN201 - distributed.Client
        from distributed import Client

        client = Client(self.address, timeout=60, set_as_default=False)
        client.wait_for_workers(workers, timeout=120)
        return client

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            _stop(proc)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.client().close()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Six schools of 14 pupils: six searches (more than 8 pupils each) to spread."""
    schools = [school(f"S{k}", 0.25 * (k % 3), -0.3 * (k // 3)) for k in range(6)]
    pupils = []
    for k in range(6):
        pupils += spread(14, f"S{k}", seed=10 + k, dlat=0.25 * (k % 3), dlon=-0.3 * (k // 3))
    return write_data(tmp_path_factory.mktemp("cluster") / "data", pupils, schools=schools)


@pytest.fixture(scope="module")
def local_run(data_dir, tmp_path_factory) -> Path:
    """The plan made on this machine (two local worker processes)."""
    out = tmp_path_factory.mktemp("local") / "run"
    args = ["solve", "--data", str(data_dir), "--out", str(out), *SOLVE]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _summary(out)["routing"]["schools_stopped_by_clock"] == []
    return out


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def _searched(run: Path) -> int:
    return sum(1 for b in _summary(run)["routing"]["backend_by_school"].values() if b == "pyvrp")


def test_the_cluster_makes_the_local_plan(cluster, data_dir, local_run, tmp_path):
    out = tmp_path / "run"
    args = ["solve", "--data", str(data_dir), "--out", str(out), *SOLVE]
    result = CliRunner().invoke(cli, [*args, "--scheduler", cluster.address])
    assert result.exit_code == 0, result.output
    assert _searched(out) == 6  # six searches went to the workers
    assert (out / "routes.csv").read_bytes() == (local_run / "routes.csv").read_bytes()
    assert (out / "stops.csv").read_bytes() == (local_run / "stops.csv").read_bytes()
    assert _summary(out)["routing"]["schools_stopped_by_clock"] == []


def test_the_scheduler_address_may_come_from_the_environment(
    cluster, data_dir, local_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("SEN_TRANSPORT_SCHEDULER", cluster.address)
    from transport.cluster import dask_backend

    made = []
    real = dask_backend.DaskExecutor.__init__

    def spy(self, address, **kw):
        made.append(address)
        real(self, address, **kw)

    monkeypatch.setattr(dask_backend.DaskExecutor, "__init__", spy)
    out = tmp_path / "run"
    args = ["solve", "--data", str(data_dir), "--out", str(out), *SOLVE]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert made == [cluster.address]
    assert (out / "routes.csv").read_bytes() == (local_run / "routes.csv").read_bytes()


def test_a_worker_killed_mid_solve_leaves_the_plan_unchanged(
    cluster, data_dir, local_run, tmp_path
):
    from transport.cluster.dask_backend import DaskExecutor

    killed: list[int] = []
    with DaskExecutor(cluster.address) as ex:
        pids = ex.client.run(os.getpid)

        def kill_a_busy_worker(event) -> None:
            if killed or event.stage != "solve":
                return
            busy = [addr for addr, keys in ex.client.processing().items() if keys]
            if busy:
                killed.append(pids[busy[0]])
                os.kill(pids[busy[0]], signal.SIGKILL)

        out = tmp_path / "run"
        scenario = Scenario(routing=ROUTING)
        solve_job(data_dir, out, scenario=scenario, progress=kill_a_busy_worker, executor=ex)
    assert killed, "no worker was busy when the first school came back"
    assert any(w.poll() is not None for w in cluster.workers)  # it is gone
    assert (out / "routes.csv").read_bytes() == (local_run / "routes.csv").read_bytes()
    cluster.workers = [w for w in cluster.workers if w.poll() is None]
    cluster.workers.append(start_worker(cluster.address))  # two again, for the tests after


def test_budgets_on_the_cluster_are_the_local_budgets(cluster, data_dir, local_run, tmp_path):
    outs = []
    for extra in ([], ["--scheduler", cluster.address]):
        out = tmp_path / ("cluster" if extra else "local")
        args = ["budgets", "--data", str(data_dir), "--run", str(local_run), "--out", str(out)]
        args += ["--cohort", "countywide", "--rule", "share", "--draws", "120000", *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        outs.append(out)
    local, remote = (json.loads((o / "summary.json").read_text()) for o in outs)
    assert (outs[0] / "budgets.csv").read_bytes() == (outs[1] / "budgets.csv").read_bytes()
    assert local["budgets"] == remote["budgets"]  # offers, savings and the 120,000 draws
    assert local["budgets"]["offers"]["offers"] > 0


def test_a_sweep_on_the_cluster_gives_the_local_table(cluster, data_dir, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        f'name = "g"\nbase = "{ROOT / "scenarios" / "baseline.toml"}"\n'
        '[set]\n"budgets.offer" = true\n"budgets.districts" = ["*"]\n'
        '[axes]\n"budgets.rule" = ["kent-bands", "mileage"]\n'
    )
    # one lane a plan: two scenarios in flight on the two workers, sharing one plan
    opts = ["--work-limit", "10", "--workers", "1", "--draws", "70000", "--quiet", "--no-report"]
    tables, reused = [], []
    for extra in ([], ["--scheduler", cluster.address]):
        out = tmp_path / ("cluster" if extra else "local")
        args = ["sweep", str(grid), "--data", str(data_dir), "--out", str(out), *opts, *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        doc = json.loads((out / "comparison.json").read_text())
        reused.append([row["reused"] for row in doc["scenarios"]])
        for row in doc["scenarios"]:
            row.pop("wall_time_s")
            row.pop("reused")
        tables.append(doc["scenarios"])
        assert (out / "sweep.csv").read_text().count("\n") == 1 + 1 + 2
    assert tables[0] == tables[1]
    assert [r["scenario"] for r in tables[0]] == ["baseline", "g-kent-bands", "g-mileage"]
    assert tables[0][1]["ptb_offers"] > 0
    for stage in ("placement", "routes"):  # each made once, for all three scenarios
        assert sum(stage not in r for r in reused[1]) == 1, reused


def test_workers_of_another_engine_version_are_refused(cluster, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(ROOT / "transport", other / "transport", ignore=shutil.ignore_patterns("*.pyc"))
    init = other / "transport" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', '__version__ = "0.0.9"'))
    env = {**os.environ, "PYTHONPATH": str(other)}
    stranger = start_worker(cluster.address, env, cwd=other)  # ``-m`` puts the cwd first
    from transport.cluster.dask_backend import DaskExecutor

    try:
        client = cluster.client(workers=3)
        client.close()
        with pytest.raises(ClusterError) as err:
            DaskExecutor(cluster.address)
        message = str(err.value)
        assert "sen-transport 0.0.9" in message and "sen-transport 0.1.0" in message
        assert "1 of 3 workers" in message
    finally:
        _stop(stranger)
    deadline = time.time() + 60
    client = cluster.client()
    try:
        while len(client.scheduler_info()["workers"]) > 2 and time.time() < deadline:
            time.sleep(0.2)
    finally:
        client.close()


def test_a_pool_on_the_cluster_answers_through_concurrent_futures(cluster):
    from concurrent.futures import FIRST_COMPLETED, wait

    from transport.cluster.dask_backend import DaskExecutor

    with DaskExecutor(cluster.address) as ex:
        pool = ex.pool()
        futures = [pool.submit(pow, 2, k) for k in range(6)]
        done, _ = wait(futures, return_when=FIRST_COMPLETED, timeout=60)
        assert done
        assert [f.result(timeout=60) for f in futures] == [1, 2, 4, 8, 16, 32]
        with pytest.raises(ValueError):
            pool.submit(int, "not a number").result(timeout=60)
        pool.shutdown(cancel_futures=True)


def test_shared_data_is_sent_once_and_dropped_when_gone(cluster):
    import gc
    import operator
    from collections import UserDict

    from transport.cluster.dask_backend import DaskExecutor

    with DaskExecutor(cluster.address) as ex:
        shared = UserDict({"a": 1, "b": 2})
        for _ in range(2):
            got = dict(ex.map_unordered(operator.getitem, ["a", "b"], shared=shared))
            assert got == {0: 1, 1: 2}
        assert len(ex._scattered) == 1  # once, for both calls
        del shared
        gc.collect()
        assert ex._scattered == {}
        assert dict(ex.map_unordered(operator.getitem, [1], shared=(5, 6))) == {0: 6}
        assert ex._scattered == {}  # a tuple cannot be watched: sent for the call only


def test_an_unreachable_scheduler_exits_2_and_keeps_the_previous_run(
    data_dir, local_run, tmp_path, monkeypatch
):
    from transport.cluster import dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "run"
    shutil.copytree(local_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    nobody = f"tcp://127.0.0.1:{_free_port()}"
    args = ["solve", "--data", str(data_dir), "--out", str(out), *SOLVE, "--scheduler", nobody]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert f"cannot reach the Dask scheduler at {nobody}" in result.output
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_scheduler_lost_mid_run_stops_it_and_keeps_the_previous_run(
    cluster, data_dir, local_run, tmp_path
):
    """The last test of the module: it stops the module's scheduler."""
    from transport.cluster.dask_backend import DaskExecutor

    out = tmp_path / "run"
    shutil.copytree(local_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def kill_the_scheduler(event) -> None:
        if event.stage == "solve" and cluster.scheduler.poll() is None:
            cluster.scheduler.kill()
            cluster.scheduler.wait()

    with DaskExecutor(cluster.address) as ex, pytest.raises(ClusterError) as err:
        solve_job(
            data_dir,
            out,
            scenario=Scenario(routing=ROUTING),
            progress=kill_the_scheduler,
            executor=ex,
        )
    assert "lost the Dask scheduler" in str(err.value)
    assert "previous run folder is unchanged" in str(err.value)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".run*"))  # no partial folder beside it


# --------------------------------------------------------------------------------------------
# Without a cluster


def test_only_the_backend_imports_dask_and_local_runs_never_load_it():
    import ast

    from transport.layers import DASK, DASK_BACKEND

    wrong = []
    for path in sorted((ROOT / "transport").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(n.split(".")[0] in DASK for n in names) and module != DASK_BACKEND:
                wrong.append(f"{module}:{node.lineno}")
    assert not wrong
    code = (
        "import sys, transport.cli.main, transport.compare, transport.jobs, transport.cluster;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert found.stdout.strip() == "[]"


def test_the_engine_identity_covers_version_source_and_packages(tmp_path):
    from transport.cluster.dask_backend import describe, engine_identity, source_digest

    mine = engine_identity()
    assert set(mine) == {"version", "source", "packages"}
    assert mine["source"] == source_digest()
    shutil.copytree(ROOT / "transport", tmp_path / "t", ignore=shutil.ignore_patterns("*.pyc"))
    (tmp_path / "t" / "units.py").write_text((ROOT / "transport" / "units.py").read_text() + "#\n")
    assert source_digest(tmp_path / "t") != mine["source"]
    assert describe(mine).startswith("sen-transport 0.1.0 (source ")
