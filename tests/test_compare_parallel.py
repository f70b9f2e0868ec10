"""The comparison's cluster path: a stage shared by scenarios in flight is computed once."""

from __future__ import annotations

import threading
import time

from transport.compare._parallel import OnceCache, concurrent_scenarios
from transport.scenario import RoutingSettings, Scenario


def test_a_missing_entry_is_computed_by_one_thread_and_read_by_the_others(tmp_path):
    for folder in (tmp_path / "cache", None):
        cache = OnceCache(folder)
        computed, seen = [], []

        def scenario(name: str, cache=cache, computed=computed, seen=seen) -> None:
            try:
                hit = cache.get("routes", "k")
                if hit is None:
                    computed.append(name)
                    time.sleep(0.2)
                    cache.put("routes", "k", {"by": name})
                    hit = {"by": name}
                seen.append(hit["by"])
            finally:
                cache.release()

        threads = [threading.Thread(target=scenario, args=(f"s{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(computed) == 1
        assert seen == computed * 4


def test_a_thread_that_fails_lets_another_compute(tmp_path):
    cache = OnceCache(tmp_path)
    assert cache.get("placement", "k") is None  # taken on, then the computation fails
    result: list = []
    waiter = threading.Thread(target=lambda: result.append(cache.get("placement", "k")))
    waiter.start()
    time.sleep(0.1)
    assert waiter.is_alive()  # waits for this thread's result
    cache.release()
    waiter.join(5)
    assert result == [None]  # and now computes it itself


class _Cluster:
    cluster = True

    def __init__(self, workers: int) -> None:
        self.workers = workers


def test_plans_in_flight_fill_the_cluster_by_their_lanes():
    two_lanes = [Scenario(routing=RoutingSettings(workers=2)) for _ in range(40)]
    assert concurrent_scenarios(_Cluster(2), two_lanes) == 1
    assert concurrent_scenarios(_Cluster(32), two_lanes) == 16
    assert concurrent_scenarios(_Cluster(500), two_lanes) == 40
    one_lane = [Scenario(routing=RoutingSettings(workers=1)) for _ in range(3)]
    assert concurrent_scenarios(_Cluster(8), one_lane) == 3
