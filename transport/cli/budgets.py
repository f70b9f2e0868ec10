"""``sen-transport budgets``: price personal transport budgets for a cohort of a solved run."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.render import print_budgets


@click.command()
@opt.data_option
@opt.districts_file_option
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Run folder written by 'sen-transport solve' (placements.csv, routes.csv, …).",
)
@opt.scenario_option
@opt.out_option
@opt.RULE
@opt.DISTRICTS
@opt.COHORT
@opt.DRAWS
@opt.BUDGET_SEED
@opt.ALLOW_LOSS
@click.option(
    "--compare-countywide/--no-compare-countywide",
    default=True,
    show_default=True,
    help="Also report the county-wide figures when the cohort is smaller.",
)
@opt.network_options
@opt.scheduler_option
@domain_errors
def budgets(
    data_dir: Path,
    districts_file: Path | None,
    run_dir: Path,
    scenario_file: Path | None,
    out_dir: Path,
    compare_countywide: bool,
    cache_dir: Path | None,
    scheduler: str | None,
) -> None:
    """Price personal transport budgets (PTBs) for a cohort and the savings they bring.

    Each pupil's budget follows the rule; their saving is the fall in their route's cost when
    the route is re-planned without them (with the run's own parameters, on the travel
    network of the scenario's [travel] table or --network). Offers go where they are
    expected to save most without ever costing more than they save; a seeded simulation of
    families' decisions gives the expected net saving, its 5-95 % range and the chance of
    reaching the target (£1.5m a year). Writes budgets.csv, budget-summary.md,
    budget-summary.html and summary.json to OUT; the terminal shows counts and totals only.

    \b
    Example:
      sen-transport solve --data data/kent --out runs/kent
      sen-transport budgets --data data/kent --run runs/kent --cohort trial --out runs/ptb
      sen-transport budgets --data data/kent --run runs/kent --rule mileage \\
          --districts Ashford,Shepway --draws 5000 --seed 7 --out runs/ptb-mileage
    """
    from transport.cluster import cluster_executor
    from transport.jobs import budgets_job

    scenario = opt.scenario_with_overrides(scenario_file)
    with cluster_executor(scheduler) as executor:
        summary = budgets_job(
            data_dir,
            run_dir,
            out_dir,
            scenario=scenario,
            compare_countywide=compare_countywide,
            cache_dir=cache_dir,
            districts_file=districts_file,
            executor=executor,
        )
    print_budgets(summary, out_dir)
