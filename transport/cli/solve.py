"""``sen-transport solve``: place pupils and plan the routes that take them to school."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.render import print_solve
from transport.cluster import cluster_executor
from transport.jobs import solve_job, solve_nightly_job
from transport.routing import ProgressEvent


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


@click.command()
@opt.data_option
@opt.districts_file_option
@opt.scenario_option
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
@opt.previous_option
@opt.from_scratch_option
@opt.locks_option
@opt.CHANGE_COST
@opt.POLICY
@opt.apply(*opt.ROUTING, *opt.TRAVEL)
@opt.network_options
@opt.scheduler_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@opt.verbose_ids_option
@domain_errors
def solve(
    data_dir: Path,
    districts_file: Path | None,
    scenario_file: Path | None,
    out_dir: Path | None,
    runs_dir: Path | None,
    previous_dir: Path | None,
    from_scratch: bool,
    locks_file: Path | None,
    cache_dir: Path | None,
    scheduler: str | None,
    quiet: bool,
    verbose_ids: bool,
) -> None:
    """Place pupils, plan their routes and write placements, routes, stops and summary.

    Every route keeps the data contract's rules (vehicle seats and wheelchair spaces, a
    passenger assistant where needed, solo pupils alone, incompatible pupils apart, ride
    limits, arrival by the school's arrive_by). A --scenario file gives every setting
    (placement, capacity changes, prices, travel, routing); options given here override it.
    The terminal shows totals and counts only; pupil ids only with --verbose-ids. Give
    exactly one of --out and --runs-dir.

    Nightly re-planning: with --previous RUN (or --runs-dir, whose latest run is the plan in
    force) families whose data did not change keep their journeys where the rules allow;
    new and changed pupils are inserted where they cost least, each family disturbed priced
    at --change-cost; routes that break a rule are repaired, with the reason. --from-scratch
    plans anew (the annual retender). summary.json's stability counts who changed, who was
    disturbed and which routes were kept.

    \b
    Example:
      sen-transport solve --data data/kent --out runs/tonight --time-limit 300
      sen-transport solve --data data/kent --runs-dir runs   # runs/2026-11-28, runs/latest
      sen-transport solve --data data/kent --out runs/tue --previous runs/mon --locks locks.csv
      sen-transport solve --data data/kent --out runs/tonight --scheduler tcp://10.0.0.5:8786
    """
    if (out_dir is None) == (runs_dir is None):
        raise click.UsageError("give exactly one of --out and --runs-dir")
    if locks_file is not None and from_scratch:
        raise click.UsageError("--locks keeps routes of a re-plan: not with --from-scratch")
    if locks_file is not None and previous_dir is None and runs_dir is None:
        raise click.UsageError("--locks needs a plan in force: --previous RUN or --runs-dir")
    scenario = opt.scenario_with_overrides(scenario_file)
    with cluster_executor(scheduler) as executor:
        bar, update = (None, None) if quiet else _progress_bar()
        if bar is not None:
            bar.start()
        job: dict[str, Any] = {
            "scenario": scenario,
            "unnamed": scenario_file is None,
            "cache_dir": cache_dir,
            "districts_file": districts_file,
            "progress": update,
            "executor": executor,
            "previous_dir": previous_dir,
            "from_scratch": from_scratch,
            "locks_file": locks_file,
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
