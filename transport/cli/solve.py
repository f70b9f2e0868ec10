"""``sen-transport solve``: place pupils and plan the routes that take them to school."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from transport.cli.common import (
    data_option,
    domain_errors,
    matrix_file,
    network_options,
    travel_options,
    verbose_ids_option,
)
from transport.cli.place import parameters_from_options
from transport.cli.render import print_solve
from transport.errors import ScenarioError
from transport.jobs import solve_job, solve_nightly_job
from transport.placement import POLICIES
from transport.routing import BACKENDS, ProgressEvent, RoutingOptions


def _progress_bar() -> tuple[Any, Any]:
    """A rich progress bar on stderr and the callback that moves it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]routing[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("schools · {task.fields[pupils]:,} pupils · £{task.fields[cost]:,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("routing", total=None, pupils=0, cost=0.0)

    def update(event: ProgressEvent) -> None:
        bar.update(
            task,
            total=event.schools_total,
            completed=event.schools_done,
            pupils=event.pupils_routed,
            cost=event.annual_cost,
        )

    return bar, update


def _from_scenario(path: Path) -> dict[str, Any]:
    """Settings of a scenario file that solve applies (it refuses those it cannot)."""
    from transport.scenario import load_scenario

    sc = load_scenario(path)
    if sc.capacity:
        raise ScenarioError(f"{path.name}: solve does not apply [[capacity]] changes")
    if sc.prices.basis != "2013":
        raise ScenarioError(f"{path.name}: solve prices at the data's own rates (basis 2013)")
    return {
        "name": sc.name,
        "params": sc.parameters(),
        "policy": sc.placement.policy,
        "scope": sc.placement.scope,
        "routing": sc.routing,
        "network": sc.network,
    }


def _routing_options(routing: Any, **given: Any) -> RoutingOptions:
    """Routing options: the scenario's ``[routing]`` table, overridden by the options given."""
    base = RoutingOptions()
    if routing is not None:
        base = RoutingOptions(
            backend=routing.backend,
            time_limit_s=routing.time_limit_s,
            seed=routing.seed,
            workers=routing.workers,
            mixed_school=routing.mixed_school,
            work_limit=routing.work_limit,
            strict_limits=routing.strict_limits,
        )
    return replace(base, **{k: v for k, v in given.items() if v is not None})


@click.command()
@data_option
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Scenario TOML (policy, limits, prices, routing); options given here override it.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Run folder to write (replaced atomically when complete).",
)
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Instead of --out: write RUNS_DIR/YYYY-MM-DD (-2, -3… if taken), then point "
    "RUNS_DIR/latest at it.",
)
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default=None,
    help="Placement policy [keep].",
)
@click.option(
    "--time-limit",
    type=float,
    default=None,
    help="Seconds for the whole plan [120]: used in full while schools still have searching to do.",
)
@click.option(
    "--work-limit",
    type=float,
    default=None,
    help="Deterministic mode: stop the searches after N units of work (a unit is a million "
    "local-search moves), never on the clock; the same data, seed and N give the same plan "
    "on any machine.",
)
@click.option(
    "--strict-limits",
    is_flag=True,
    default=None,
    help="No ride over the pupil's stated limit unless the direct journey itself is longer "
    "(then the pupil rides direct).",
)
@click.option("--seed", type=int, default=None, help="Random seed [0].")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help="Routing solver [auto].")
@click.option(
    "--mixed-school",
    is_flag=True,
    default=None,
    help="Let pupils of nearby schools (arrive_by within 15 min) share a vehicle.",
)
@click.option("--workers", type=int, default=None, help="Worker processes [one per CPU].")
@travel_options
@network_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
@verbose_ids_option
@domain_errors
def solve(
    data_dir: Path,
    scenario_file: Path | None,
    out_dir: Path | None,
    runs_dir: Path | None,
    policy: str | None,
    time_limit: float | None,
    work_limit: float | None,
    strict_limits: bool | None,
    seed: int | None,
    backend: str | None,
    mixed_school: bool | None,
    workers: int | None,
    circuity: float | None,
    speed_mph: float | None,
    dwell_min: float | None,
    dwell_per_pupil_min: float | None,
    network: str,
    matrix: Path | None,
    osm_file: Path | None,
    osm_place: str | None,
    graphml: Path | None,
    peak_factor: float,
    cache_dir: Path | None,
    quiet: bool,
    verbose_ids: bool,
) -> None:
    """Place pupils, plan their routes and write placements, routes, stops and summary.

    Every route keeps the data contract's rules (vehicle seats and wheelchair spaces, a
    passenger assistant where needed, solo pupils alone, incompatible pupils apart, ride
    limits, arrival by the school's arrive_by). The terminal shows totals and counts only;
    pupil ids only with --verbose-ids. Give exactly one of --out and --runs-dir.

    \b
    Example:
      sen-transport solve --data data/kent --out runs/tonight --time-limit 300
      sen-transport solve --data data/kent --runs-dir runs   # runs/2026-11-28, runs/latest
    """
    from transport.travel.network import travel_model_from_options

    if (out_dir is None) == (runs_dir is None):
        raise click.UsageError("give exactly one of --out and --runs-dir")
    sc = _from_scenario(scenario_file) if scenario_file is not None else None
    params = parameters_from_options(circuity, speed_mph, dwell_min, dwell_per_pupil_min)
    if sc is not None:
        given = {
            "circuity": circuity,
            "speed_mph": speed_mph,
            "dwell_min": dwell_min,
            "dwell_per_pupil_min": dwell_per_pupil_min,
        }
        travel_params = replace(
            sc["params"].travel, **{k: v for k, v in given.items() if v is not None}
        )
        params = replace(sc["params"], travel=travel_params)
    options = _routing_options(
        sc["routing"] if sc is not None else None,
        backend=backend,
        time_limit_s=time_limit,
        work_limit=work_limit,
        strict_limits=strict_limits,
        seed=seed,
        workers=workers,
        mixed_school=mixed_school,
    )
    net = sc["network"] if sc is not None and network == "crow-fly" else None
    travel = travel_model_from_options(
        network=net.network if net else network,
        osm_file=osm_file or (net.osm_file if net else None),
        osm_place=osm_place or (net.osm_place if net else None),
        graphml=graphml or (net.graphml if net else None),
        params=params.travel,
        cache_dir=cache_dir,
        peak_factor=peak_factor if peak_factor != 1.0 or not net else net.peak_factor,
        matrix=matrix_file(
            net.network if net else network,
            matrix or (Path(net.matrix) if net and net.matrix else None),
            data_dir,
        ),
    )
    policy = policy or (sc["policy"] if sc else "keep")
    scope = sc["scope"] if sc else "all"
    bar, update = (None, None) if quiet else _progress_bar()
    if bar is not None:
        bar.start()
    job = {
        "policy": policy,
        "scope": scope,
        "params": params,
        "travel": travel,
        "options": options,
        "progress": update,
        "scenario": sc["name"] if sc else None,
    }
    try:
        if runs_dir is not None:
            summary, out_dir = solve_nightly_job(data_dir, runs_dir, **job)
        else:
            assert out_dir is not None
            summary = solve_job(data_dir, out_dir, **job)
    finally:
        if bar is not None:
            bar.stop()
    print_solve(summary, out_dir, verbose_ids=verbose_ids)
