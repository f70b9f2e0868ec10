"""Compare: run several scenarios on one data set and tabulate what each costs and saves.

``compare_scenarios([...toml], data_dir, out_dir)`` runs every scenario (capacity changes,
placement, routes, prices, budgets), re-using from its cache every stage whose inputs have not
changed, and writes the folder agreed with the report (docs/formats.md, "Comparing
scenarios")::

    OUT/comparison.csv          one row per scenario, the baseline first
    OUT/comparison.json         the same, typed, with each scenario's files and stages re-used
    OUT/scenarios/NAME/         an ordinary solve run folder (+ scenario.toml, capacity.csv,
                                budgets/ when the scenario offers budgets)
    OUT/cache/                  cached placements, routes and budgets (or CACHE_DIR/compare)

The first scenario is the baseline that savings are measured against; a scenario named
``baseline`` is moved first when present. ``annual_total_cost = annual_transport_cost +
annual_place_cost − ptb_expected_saving``; ``saving_vs_baseline`` is the baseline's total
minus the scenario's; ``target_progress`` is that saving over the £1.5m target.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.audit import active, audited
from transport.budgets import read_attendance
from transport.compare._parallel import OnceCache, run_on_cluster
from transport.compare._run import Context, Outcome, compare_one
from transport.compare._table import add_savings, columns, write_comparison
from transport.data.districts import read_dataset_in_districts
from transport.data.validate import read_dataset
from transport.errors import ScenarioError
from transport.executor import Executor, InlineExecutor
from transport.model import Dataset
from transport.pipeline import StageCache
from transport.runs.destination import check_not_input, check_output_dir
from transport.runs.write import link_copy, write_folder
from transport.scenario import Scenario, load_scenario

__all__ = ["columns", "compare_scenarios", "load_scenarios"]

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


ScenarioSource = str | Path | tuple[Scenario, str]
"""A scenario file, or a scenario already parsed with its TOML text (a sweep's variants)."""


@dataclass(frozen=True)
class ParsedSource:
    """Where a scenario given parsed came from: a name (``NAME.toml``) and its TOML text."""

    name: str
    text: str


def scenario_text(path: Path | ParsedSource) -> str:
    """The TOML text of a scenario: its file's, or the one it was given with."""
    if isinstance(path, ParsedSource):
        return path.text
    return path.read_text(encoding="utf-8-sig")


def load_scenarios(
    paths: Sequence[ScenarioSource], *, overrides: Mapping[str, Any] | None = None
) -> list[tuple[Scenario, Path | ParsedSource]]:
    """Parse every scenario file and apply the overrides (all before any is run), baseline first.

    An item that is a ``(Scenario, text)`` pair is taken as parsed (its source a
    :class:`ParsedSource`); :func:`scenario_text` gives the text of either.

    Raises
    ------
    ScenarioError
        No scenario, a bad file (its key named), a name unfit for a folder, or two scenarios
        of the same name.
    ParameterError
        An override that does not fit a scenario (its key named).
    """
    if not paths:
        raise ScenarioError("compare needs at least one scenario file")
    loaded = [
        (p[0].with_overrides(overrides or {}), ParsedSource(f"{p[0].name}.toml", p[1]))
        if isinstance(p, tuple)
        else (load_scenario(p).with_overrides(overrides or {}), Path(p))
        for p in paths
    ]
    seen: dict[str, Path | ParsedSource] = {}
    for sc, path in loaded:
        if not set(sc.name) <= NAME_CHARS or sc.name.startswith("."):
            raise ScenarioError(
                f"{path.name}: name {sc.name!r} must use letters, digits, '-', '_' or '.' only"
            )
        if sc.name in seen:
            raise ScenarioError(
                f"two scenarios are named {sc.name!r} ({seen[sc.name].name}, {path.name})"
            )
        seen[sc.name] = path
    loaded.sort(key=lambda item: item[0].name != "baseline")
    return loaded


def check_scenarios_against(
    scenarios: list[tuple[Scenario, Path | ParsedSource]], data: Dataset
) -> None:
    """Refuse, before any scenario runs, a capacity change naming a school the data lacks or
    a road map file that is not there."""
    known = set(data.school_by_id)
    for sc, path in scenarios:
        for i, change in enumerate(sc.capacity, start=1):
            named = [("school_id", change.school_id)] if change.school_id is not None else []
            for key, school in [*named, *(("candidates", c) for c in change.candidates)]:
                if school not in known:
                    raise ScenarioError(
                        f"{path.name}: capacity[{i}].{key}: no school {school!r} in schools.csv"
                    )
        for key in ("osm_file", "graphml"):
            value = getattr(sc.network, key)
            if value and not Path(value).is_file():
                raise ScenarioError(f"{path.name}: travel.{key}: no file {value}")


def _map_files(scenarios: list[tuple[Scenario, Path | ParsedSource]]) -> list[tuple[str, Path]]:
    return [
        ("a road map read", Path(value))
        for sc, _ in scenarios
        for value in (sc.network.osm_file, sc.network.graphml)
        if value
    ]


@audited
def compare_scenarios(
    scenario_files: Sequence[ScenarioSource],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    graph_cache_dir: str | Path | None = None,
    use_cache: bool = True,
    districts_file: str | Path | None = None,
    executor: Executor | None = None,
    progress: Callable[[str], None] | None = None,
    finish: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Run every scenario on the data folder and write the comparison folder.

    Parameters
    ----------
    scenario_files
        Scenario TOML files (or ``(Scenario, text)`` pairs already parsed); the first (or the
        one named ``baseline``) is the baseline.
    data_dir
        The data folder.
    out_dir
        The comparison folder: new, empty or one ``compare`` wrote. It is built whole in a
        temporary folder beside it and takes its place in one step when every scenario is
        done, so a failure or a signal leaves the previous comparison as it was.
    overrides
        Settings applied to every scenario (:meth:`Scenario.with_overrides` keys, e.g.
        ``{"routing.time_limit_s": 60, "budgets.draws": 500}``).
    cache_dir
        Where stage results are cached (default ``out_dir/cache``).
    graph_cache_dir
        Where road graphs and matrices are cached (``--network osm``).
    use_cache
        ``False`` recomputes every stage (and stores nothing).
    districts_file
        District boundaries: blank districts filled from locations, stated ones checked
        (:mod:`transport.data.districts`).
    executor
        Where the scenarios run (default: one after another in this process, each plan
        spreading its per-school searches over the local cores; scenarios that share a
        placement or routes then plan them once). A local
        :class:`transport.executor.Executor` runs them as independent tasks; a cluster's
        (``executor.cluster``) runs them from threads here, their stages' work on its
        workers, each shared stage computed once (:mod:`transport.compare._parallel`).
    progress
        Called with a short message (no pupil data) as each stage starts.
    finish
        Called with the temporary folder once the comparison is written there, before it
        takes its place (the report is written this way, so that it is swapped in with it).

    Returns
    -------
    dict
        The comparison.json document.
    """
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    scenarios = load_scenarios(scenario_files, overrides=overrides)
    data_dir = Path(data_dir)
    inputs = [
        ("the data folder", data_dir),
        *(("a scenario file", p) for _, p in scenarios if isinstance(p, Path)),
        *_map_files(scenarios),
        ("the districts file", districts_file),
    ]
    out = check_output_dir(out_dir, kind="compare", inputs=inputs)
    if cache_dir is not None:
        check_not_input(cache_dir, inputs=inputs, what="cache folder")
    if districts_file is not None:
        data = read_dataset_in_districts(data_dir, districts_file)
    else:
        data = read_dataset(data_dir)
    check_scenarios_against(scenarios, data)
    attendance = read_attendance(data_dir, set(data.pupil_by_id))
    executor = executor or InlineExecutor()
    inline = isinstance(executor, InlineExecutor)
    doc: dict[str, Any] = {}

    def build(stage: Path) -> None:
        """Everything is written into ``stage``, which then replaces ``out`` in one step."""
        if cache_dir is None:
            link_copy(out / "cache", stage / "cache")  # the previous cache, carried over
        folder = Path(cache_dir) if cache_dir is not None else stage / "cache"
        here = inline or executor.cluster  # scenarios driven in this process
        ctx = Context(
            data=data,
            cache=(OnceCache if executor.cluster else StageCache)(folder if use_cache else None),
            attendance=attendance,
            graph_cache_dir=Path(graph_cache_dir) if graph_cache_dir is not None else None,
            progress=say if here else Context.progress,
            executor=executor if executor.cluster else None,
            audit=audit.snapshot() if (audit := active()) is not None else None,
        )
        tasks = [
            (
                sc,
                scenario_text(path),
                stage / "scenarios" / sc.name,
                out / "scenarios" / sc.name,
            )
            for sc, path in scenarios
        ]
        outcomes: list[Outcome | None] = [None] * len(tasks)
        if executor.cluster:
            finished = run_on_cluster(ctx, tasks, executor=executor, say=say)
        else:
            for sc, *_ in tasks[:1] if inline else tasks:
                say(f"{sc.name}: started")
            finished = executor.map_unordered(compare_one, tasks, shared=ctx)
        try:
            for i, outcome in finished:
                outcomes[i] = outcome
                reused = ", ".join(outcome.extra["reused"]) or "nothing"
                wall = outcome.row["wall_time_s"]
                say(f"{tasks[i][0].name}: done in {wall:.1f} s (re-used: {reused})")
                if inline and i + 1 < len(tasks):
                    say(f"{tasks[i + 1][0].name}: started")
        finally:
            close = getattr(finished, "close", None)
            if close is not None:  # stop what is left of the fan-out when a scenario failed
                close()
            ctx.close()
        done = [o for o in outcomes if o is not None]
        rows = [o.row for o in done]
        add_savings(rows)
        doc.update(
            write_comparison(
                stage,
                rows=rows,
                extras=[o.extra for o in done],
                vehicle_types=[v.vehicle_type for v in data.vehicles],
                data_source=data.source,
            )
        )
        if finish is not None:
            finish(stage)

    write_folder(out, build, kind="compare", inputs=inputs)
    doc["wall_time_s"] = round(time.perf_counter() - start, 1)
    return doc
