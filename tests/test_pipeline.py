"""The one pipeline: run_scenario's results are what the jobs write; the stage cache's keys."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.checker import check_run
from transport.data.validate import read_dataset
from transport.executor import LocalExecutor
from transport.jobs import place_job, solve_job
from transport.pipeline import RunSummary, StageCache, as_written, run_scenario
from transport.pipeline import cache as stage_cache
from transport.runs.write import read_run
from transport.scenario import RoutingSettings, Scenario
from transport.travel import CrowFlyModel

TINY = Path(__file__).parent / "data" / "tiny"
FAST = Scenario(routing=RoutingSettings(time_limit_s=1, workers=1))


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> tuple[Path, RunSummary]:
    out = tmp_path_factory.mktemp("solve") / "run"
    return out, solve_job(TINY, out, scenario=FAST)


def test_the_job_writes_what_the_pipeline_returns(solved):
    out, summary = solved
    data = read_dataset(TINY)
    result = run_scenario(FAST, data, CrowFlyModel(FAST.travel), until="route")
    run = read_run(out)
    assert result.plan is not None and check_run(out, TINY) == []
    assert [r.route_id for r in run.routes] == [r.route_id for r in result.plan.routes]
    written = json.loads((out / "summary.json").read_text())
    assert written == summary.to_dict()
    drop = {"wall_time_s", "routing"}
    ours = {k: v for k, v in result.summary.to_dict().items() if k not in drop}
    assert ours == {k: v for k, v in written.items() if k not in drop}


def test_summary_json_round_trips(solved):
    out, summary = solved
    doc = json.loads((out / "summary.json").read_text())
    back = RunSummary.from_dict(doc)
    assert back.to_dict() == doc
    assert back.pupils_routed == doc["pupils_routed"] == sum(1 for _ in read_run(out).stops)
    assert back.time_limit_reached is doc["time_limit_reached"]


def test_summary_keys_are_the_documented_ones(solved, tmp_path):
    """summary.json keeps its keys, in order (docs/formats.md, "summary.json")."""
    out, _ = solved
    keys = list(json.loads((out / "summary.json").read_text()))
    assert keys == [
        "stage", "scenario", "policy", "data", "pupils", "routes", "annual_transport_cost",
        "annual_place_cost", "unplaced", "unrouted", "unplaced_reasons", "unrouted_reasons",
        "pupils_routed", "vehicles_by_type", "passenger_assistants", "mean_ride_min",
        "max_ride_min", "pupils_over_45_min", "pupils_over_75_min", "cost_per_pupil",
        "time_limit_reached", "time_limit_schools", "transport", "placement", "school_status",
        "routing", "wall_time_s", "parameters",
    ]  # fmt: skip
    place_job(TINY, tmp_path / "place")
    keys = list(json.loads((tmp_path / "place" / "summary.json").read_text()))
    assert keys == [
        "stage", "policy", "data", "pupils", "routes", "annual_transport_cost",
        "annual_place_cost", "unplaced", "unplaced_reasons", "unrouted", "placement",
        "shortfall_by_need", "parameters",
    ]  # fmt: skip


def test_as_written_is_what_read_run_reads(solved):
    out, _ = solved
    data = read_dataset(TINY)
    result = run_scenario(FAST, data, CrowFlyModel(), until="route")
    assert result.plan is not None
    mine, theirs = as_written(result.placements, result.plan), read_run(out)
    assert mine.placements == theirs.placements
    assert mine.routes == theirs.routes
    assert mine.stops == theirs.stops


def test_solve_applies_capacity_changes_and_prices(tmp_path):
    scenario = tmp_path / "more.toml"
    scenario.write_text(
        "[placement]\npolicy = 'nearest-with-capacity'\n"
        "[[capacity]]\nschool_id = 'S1'\nadd = 2\n[prices]\nbasis = 'today'\n"
        "[routing]\ntime_limit_s = 1\nworkers = 1\n"
    )
    from transport.scenario import load_scenario

    out = tmp_path / "run"
    summary = solve_job(TINY, out, scenario=load_scenario(scenario))
    doc = json.loads((out / "summary.json").read_text())
    assert doc["capacity"]["places_added"] == 2 and doc["prices"]["basis"] == "today"
    assert (out / "capacity.csv").read_text().startswith("school_id,need,places_added,reason")
    assert summary.details is not None and summary.details.capacity["places_added"] == 2


def test_stages_come_from_the_cache(tmp_path):
    data = read_dataset(TINY)
    cache = StageCache(tmp_path / "cache")
    first = run_scenario(FAST, data, CrowFlyModel(), cache=cache)
    again = run_scenario(FAST, data, CrowFlyModel(), cache=cache)
    assert first.reused == () and again.reused == ("placement", "routes")
    assert again.plan == first.plan and again.summary is not None
    assert replace(again.summary, wall_time_s=0, details=None) == replace(
        first.summary, wall_time_s=0, details=None
    )


def test_stages_through_another_executor(tmp_path):
    """The stages run as executor tasks (worker processes here) with the same results."""
    data = read_dataset(TINY)
    inline = run_scenario(FAST, data, CrowFlyModel())
    with LocalExecutor(2) as executor:
        elsewhere = run_scenario(FAST, data, CrowFlyModel(), executor=executor)
    assert elsewhere.placements == inline.placements
    assert elsewhere.plan is not None and inline.plan is not None
    assert elsewhere.plan.routes == inline.plan.routes


# -------------------------------------------------------------------------------------------
# The cache key: every engine module, found by walking the source, and the package versions


def test_code_digest_covers_every_module_of_the_stage_and_versions(tmp_path, monkeypatch):
    root = tmp_path / "transport"
    shutil.copytree(stage_cache.ENGINE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    before = {s: stage_cache.code_digest(s, root=root) for s in stage_cache.STAGE_LAYERS}

    def changed(rel: str) -> set[str]:
        path = root / rel
        text = path.read_text()
        path.write_text(text + "\n# edited\n")
        try:
            return {s for s in before if stage_cache.code_digest(s, root=root) != before[s]}
        finally:
            path.write_text(text)

    every = {"placement", "routes", "budgets"}
    assert changed("units.py") == every  # not in the old hand-made list
    assert changed("data/geocode.py") == every  # nor this
    assert changed("routing/_solve.py") == {"routes", "budgets"}
    assert changed("budgets/offers.py") == {"budgets"}
    assert changed("compare/_run.py") == every
    assert changed("report/html.py") == set()  # renders only
    (root / "travel" / "brand_new.py").write_text("X = 1\n")  # a new module counts at once
    assert {s for s in before if stage_cache.code_digest(s, root=root) != before[s]} == every
    (root / "travel" / "brand_new.py").unlink()
    monkeypatch.setattr(stage_cache, "versions", lambda: {"python": "3.11", "ortools": "0"})
    assert all(stage_cache.code_digest(s, root=root) != before[s] for s in before)


def test_versions_name_the_solvers():
    found = stage_cache.versions()
    assert {"python", "numpy", "ortools", "pyvrp"} <= set(found)
