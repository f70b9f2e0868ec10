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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transport.compare._cache import StageCache, files_digest
from transport.compare._run import CompareOptions, Context, run_scenario
from transport.compare._run import _settings as scenario_settings
from transport.compare._table import add_savings, columns, write_comparison
from transport.data.validate import read_dataset
from transport.errors import ScenarioError
from transport.model import Dataset
from transport.runs.destination import check_not_input, check_output_dir
from transport.runs.write import link_copy, write_folder
from transport.scenario import Scenario, load_scenario

__all__ = ["CompareOptions", "columns", "compare_scenarios", "load_scenarios"]

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def load_scenarios(paths: Sequence[str | Path]) -> list[tuple[Scenario, Path]]:
    """Parse every scenario file (all before any is run), the baseline first.

    Raises
    ------
    ScenarioError
        No scenario, a bad file (its key named), a name unfit for a folder, or two scenarios
        of the same name.
    """
    if not paths:
        raise ScenarioError("compare needs at least one scenario file")
    loaded = [(load_scenario(p), Path(p)) for p in paths]
    seen: dict[str, Path] = {}
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


def check_scenarios_against(scenarios: list[tuple[Scenario, Path]], data: Dataset) -> None:
    """Refuse, before any scenario runs, a capacity change naming a school the data lacks."""
    known = set(data.school_by_id)
    for sc, path in scenarios:
        for i, change in enumerate(sc.capacity, start=1):
            named = [("school_id", change.school_id)] if change.school_id is not None else []
            for key, school in [*named, *(("candidates", c) for c in change.candidates)]:
                if school not in known:
                    raise ScenarioError(
                        f"{path.name}: capacity[{i}].{key}: no school {school!r} in schools.csv"
                    )


def compare_scenarios(
    scenario_files: Sequence[str | Path],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    options: CompareOptions | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Callable[[str], None] | None = None,
    finish: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Run every scenario on the data folder and write the comparison folder.

    Parameters
    ----------
    scenario_files
        Scenario TOML files; the first (or the one named ``baseline``) is the baseline.
    data_dir
        The data folder.
    out_dir
        The comparison folder: new, empty or one ``compare`` wrote. It is built whole in a
        temporary folder beside it and takes its place in one step when every scenario is
        done, so a failure or a signal leaves the previous comparison as it was.
    options
        Overrides applied to every scenario (time limit, seed, network, …).
    cache_dir
        Where stage results are cached (default ``out_dir/cache``).
    use_cache
        ``False`` recomputes every stage (and stores nothing).
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
    options = options or CompareOptions()
    say = progress or (lambda _msg: None)
    scenarios = load_scenarios(scenario_files)
    data_dir = Path(data_dir)
    inputs = [("the data folder", data_dir), *(("a scenario file", p) for _, p in scenarios)]
    out = check_output_dir(out_dir, kind="compare", inputs=inputs)
    if cache_dir is not None:
        check_not_input(cache_dir, inputs=inputs, what="cache folder")
    data = read_dataset(data_dir)
    check_scenarios_against(scenarios, data)
    doc: dict[str, Any] = {}

    def build(stage: Path) -> None:
        """Everything is written into ``stage``, which then replaces ``out`` in one step."""
        if cache_dir is None:
            link_copy(out / "cache", stage / "cache")  # the previous cache, carried over
        folder = Path(cache_dir) if cache_dir is not None else stage / "cache"
        ctx = Context(
            data=data,
            data_dir=data_dir,
            data_digest=files_digest(data_dir),
            cache=StageCache(folder if use_cache else None),
            options=options,
            progress=say,
        )
        rows: list[dict[str, Any]] = []
        extras: list[dict[str, Any]] = []
        try:
            for sc, _ in scenarios:  # every setting and travel model, before any scenario runs
                params, _routing = scenario_settings(sc, options)
                ctx.travel_model(options.network or sc.network, params)
            for sc, path in scenarios:
                say(f"{sc.name}: started")
                outcome = run_scenario(
                    ctx,
                    sc,
                    path,
                    stage / "scenarios" / sc.name,
                    final_dir=out / "scenarios" / sc.name,
                )
                reused = ", ".join(outcome.extra["reused"]) or "nothing"
                say(f"{sc.name}: done in {outcome.row['wall_time_s']:.1f} s (re-used: {reused})")
                rows.append(outcome.row)
                extras.append(outcome.extra)
        finally:
            for model in ctx.travel_models.values():
                close = getattr(model, "close", None)
                if close is not None:
                    close()
        add_savings(rows)
        doc.update(
            write_comparison(
                stage,
                rows=rows,
                extras=extras,
                vehicle_types=[v.vehicle_type for v in data.vehicles],
                data_source=data.source,
            )
        )
        if finish is not None:
            finish(stage)

    write_folder(out, build, kind="compare", inputs=inputs)
    doc["wall_time_s"] = round(time.perf_counter() - start, 1)
    return doc
