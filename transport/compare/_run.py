"""One scenario of a comparison: the pipeline's result, written as a scenario folder, tabulated.

The work is :func:`transport.pipeline.run_scenario` with the comparison's stage cache; this
module writes the scenario's folder (an ordinary solve run folder, plus scenario.toml,
capacity.csv and budgets/) in one atomic step and turns the result into its comparison row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from transport.audit import Audit, active, audit_session
from transport.budgets.export import write_budget_run
from transport.executor import Executor
from transport.model import Dataset
from transport.pipeline import RunSummary, ScenarioResult, StageCache, digest, run_scenario
from transport.runs.manifest import write_manifest
from transport.runs.write import _replace_dir, write_run
from transport.scenario import Scenario
from transport.travel import TravelModel, travel_model

_MODELS_LOCK = threading.Lock()


def _quiet(_message: str) -> None:
    """No progress messages (a context sent to worker processes cannot call back)."""


@dataclass
class Context:
    """What every scenario of one comparison shares: data, cache, travel models."""

    data: Dataset
    cache: StageCache
    attendance: Mapping[str, float] = field(default_factory=dict)
    graph_cache_dir: Path | None = None
    progress: Callable[[str], None] = _quiet
    travel_models: dict[str, TravelModel] = field(default_factory=dict)
    executor: Executor | None = None
    """Where each scenario's stages run (a cluster: see :mod:`transport.compare._parallel`);
    ``None``: in the process that runs the scenario."""
    audit: Audit | None = None
    """The command's audit record (what it read, its options), for each folder's manifest."""

    def travel_model(self, sc: Scenario) -> TravelModel:
        """The scenario's travel model, built once per distinct ``[travel]`` table."""
        key = digest([asdict(sc.network), asdict(sc.travel)])
        with _MODELS_LOCK:  # scenarios may run in threads of this process
            if key not in self.travel_models:
                self.travel_models[key] = travel_model(
                    sc.network,
                    sc.travel,
                    cache_dir=self.graph_cache_dir,
                    data_dir=Path(self.data.source) if self.data.source else None,
                )
            return self.travel_models[key]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "executor": None}

    def close(self) -> None:
        for model in self.travel_models.values():
            close = getattr(model, "close", None)
            if close is not None:
                close()


@dataclass(frozen=True)
class Outcome:
    """A finished scenario: its comparison row and the extra keys of comparison.json."""

    row: dict[str, Any]
    extra: dict[str, Any]


def compare_one(ctx: Context, task: tuple[Any, ...]) -> Outcome:
    """Run one scenario into its folder (replaced atomically) and return its comparison row.

    ``task`` is the scenario (overrides applied), its file's text, its folder and (optional)
    where that folder will be once the comparison's temporary folder takes its place: the path
    the budgets' summary names. The signature is an executor task's
    (:mod:`transport.executor`): ``ctx`` is shared.
    """
    sc, source_text, out_dir, *final = task
    start = time.perf_counter()
    result = run_scenario(
        sc,
        ctx.data,
        ctx.travel_model(sc),
        cache=ctx.cache,
        executor=ctx.executor,
        attendance=ctx.attendance,
        progress=ctx.progress,
    )
    assert result.summary is not None
    summary = replace(result.summary, details=result.details)
    base = ctx.audit or active() or Audit()
    with audit_session(audit=base.for_scenario(sc)):  # the folder's manifest: its own settings
        write_scenario_folder(
            out_dir, result, summary, source_text=source_text, final_dir=final[0] if final else None
        )
    return _outcome(ctx.data, result, summary, time.perf_counter() - start)


def write_scenario_folder(
    out_dir: Path,
    result: ScenarioResult,
    summary: RunSummary,
    *,
    source_text: str,
    final_dir: Path | None = None,
) -> Path:
    """The scenario's folder, written beside ``out_dir`` and swapped into place when complete:
    the solve run's files, scenario.toml (the file as given), capacity.csv, budgets/."""
    assert result.plan is not None
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir.parent, 0o700)
    stage = Path(
        tempfile.mkdtemp(prefix=f".{out_dir.name}.stage-{os.getpid()}-", dir=out_dir.parent)
    )
    stage.rmdir()
    try:
        write_run(
            stage,
            summary=summary.to_dict(),
            placements=result.placements,
            routes=result.plan.routes,
            stops=result.plan.stops,
            explanations=result.plan.explanations,
            extra=result.extra_tables(),
            texts={"scenario.toml": source_text},
        )
        if result.budgets is not None:
            budgets = {**result.budgets.summary, "source_run": str(final_dir or out_dir)}
            write_budget_run(stage / "budgets", summary=budgets, rows=list(result.budgets.rows))
            write_manifest(stage, kind="run")  # again: the budgets folder is one of its files
        _replace_dir(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out_dir


def _outcome(data: Dataset, result: ScenarioResult, summary: RunSummary, wall: float) -> Outcome:
    sc = result.scenario
    offers, expected, p5, p95 = 0, 0.0, 0.0, 0.0
    if result.budgets is not None:
        b = result.budgets.summary["budgets"]
        offers = int(b["offers"]["offers"])
        expected = float(b["offers"]["expected_net_saving"])
        p5 = float(b["simulation"]["p5_net_saving"])
        p95 = float(b["simulation"]["p95_net_saving"])
    transport = float(summary.annual_transport_cost or 0.0)
    place = float(summary.annual_place_cost)
    added = sum(r.places_added for r in result.capacity)
    row: dict[str, Any] = {
        "scenario": sc.name,
        "description": sc.description,
        "policy": sc.placement.policy,
        "scope": sc.placement.scope,
        "prices": result.prices.basis,
        "network": str(result.travel.get("backend", "crow-fly")),
        "pupils": summary.pupils,
        "pupils_routed": summary.pupils_routed,
        "unrouted": len(summary.unrouted),
        "unplaced": len(summary.unplaced),
        "annual_transport_cost": round(transport, 2),
        "annual_place_cost": round(place, 2),
        "ptb_offers": offers,
        "ptb_expected_saving": round(expected, 2),
        "ptb_saving_p5": round(p5, 2),
        "ptb_saving_p95": round(p95, 2),
        "annual_total_cost": round(transport + place - expected, 2),
        "saving_vs_baseline": None,
        "target": float(sc.target.annual_saving),
        "target_progress": None,
        "routes": summary.routes,
    }
    by_type = summary.vehicles_by_type
    for v in data.vehicles:
        row[f"vehicles_{v.vehicle_type}"] = int(by_type.get(v.vehicle_type, 0))
    row.update(
        {
            "passenger_assistants": summary.passenger_assistants,
            "mean_ride_min": summary.mean_ride_min,
            "max_ride_min": summary.max_ride_min,
            "pupils_over_45_min": summary.pupils_over_45_min,
            "pupils_over_75_min": summary.pupils_over_75_min,
            "pupils_over_limit": summary.pupils_over_limit,
            "over_limit_long_direct": summary.over_limit_by_reason.get("long-direct", 0),
            "over_limit_shared_saving": summary.over_limit_by_reason.get("shared-saving", 0),
            "pm_pupils_over_limit": summary.pm_pupils_over_limit,
            "independent_or_out_of_county": summary.pupils_in_independent_places,
            "places_missing": summary.places_missing,
            "places_added": added,
            "wall_time_s": round(wall, 1),
        }
    )
    folder = f"scenarios/{sc.name}"
    extra = {
        "run_dir": folder,
        "budgets_dir": f"{folder}/budgets" if result.budgets is not None else None,
        "shortfall_csv": f"{folder}/shortfall.csv" if summary.places_missing else None,
        "capacity_csv": f"{folder}/capacity.csv" if result.capacity else None,
        "vehicles_by_type": {
            v.vehicle_type: row[f"vehicles_{v.vehicle_type}"] for v in data.vehicles
        },
        "reused": list(result.reused),
    }
    return Outcome(row, extra)
