"""``sen-transport budgets``: price personal transport budgets for a cohort of a solved run."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli.common import (
    data_option,
    domain_errors,
    matrix_file,
    network_options,
    out_option,
)
from transport.cli.render import print_budgets
from transport.errors import ScenarioError


@click.command()
@data_option
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Run folder written by 'sen-transport solve' (placements.csv, routes.csv, …).",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Scenario TOML with a [budgets] table; options given here override it.",
)
@out_option
@click.option(
    "--rule",
    type=click.Choice(["kent-bands", "mileage", "share", "bands"]),
    default=None,
    help="Pricing rule [kent-bands]; 'bands' takes [budgets] bands from the scenario.",
)
@click.option(
    "--districts",
    default=None,
    metavar="LIST",
    help='Comma-separated districts of the cohort, e.g. Ashford,"Folkestone and Hythe" '
    '(Shepway accepted; "*" = county-wide).',
)
@click.option(
    "--cohort",
    type=click.Choice(["trial", "countywide"]),
    default=None,
    help="trial = Ashford + Folkestone and Hythe; countywide = every district.",
)
@click.option("--draws", type=click.IntRange(1, 1_000_000), default=None, help="Draws [1000].")
@click.option("--seed", type=click.IntRange(0), default=None, help="Random seed [0].")
@click.option(
    "--allow-loss/--no-allow-loss",
    default=None,
    help="Allow offers that may cost more than they save [no].",
)
@click.option(
    "--compare-countywide/--no-compare-countywide",
    default=True,
    show_default=True,
    help="Also report the county-wide figures when the cohort is smaller.",
)
@network_options
@domain_errors
def budgets(
    data_dir: Path,
    run_dir: Path,
    scenario_file: Path | None,
    out_dir: Path,
    rule: str | None,
    districts: str | None,
    cohort: str | None,
    draws: int | None,
    seed: int | None,
    allow_loss: bool | None,
    compare_countywide: bool,
    network: str,
    matrix: Path | None,
    osm_file: Path | None,
    osm_place: str | None,
    graphml: Path | None,
    peak_factor: float,
    cache_dir: Path | None,
) -> None:
    """Price personal transport budgets (PTBs) for a cohort and the savings they bring.

    Each pupil's budget follows the rule; their saving is the fall in their route's cost when
    the route is re-planned without them. Offers go where they are expected to save most
    without ever costing more than they save; a seeded simulation of families' decisions
    gives the expected net saving, its 5-95 % range and the chance of reaching the target
    (£1.5m a year). Writes budgets.csv, budget-summary.md, budget-summary.html and
    summary.json to OUT; the terminal shows counts and totals only.

    \b
    Example:
      sen-transport solve --data data/kent --out runs/kent
      sen-transport budgets --data data/kent --run runs/kent --cohort trial --out runs/ptb
      sen-transport budgets --data data/kent --run runs/kent --rule mileage \\
          --districts Ashford,Shepway --draws 5000 --seed 7 --out runs/ptb-mileage
    """
    from transport.budgets.cohorts import COHORTS, split_districts
    from transport.jobs import budgets_job
    from transport.scenario import Scenario, load_scenario
    from transport.travel.network import travel_model_from_options

    if districts is not None and cohort is not None:
        raise ScenarioError("give --districts or --cohort, not both")
    chosen = split_districts(districts) if districts is not None else None
    if cohort is not None:
        chosen = COHORTS[cohort]
    scenario = load_scenario(scenario_file) if scenario_file is not None else Scenario()
    travel = None
    if network != "crow-fly" or osm_file or osm_place or graphml or matrix or peak_factor != 1.0:
        travel = travel_model_from_options(
            network=network,
            osm_file=osm_file,
            osm_place=osm_place,
            graphml=graphml,
            params=scenario.travel,
            cache_dir=cache_dir,
            peak_factor=peak_factor,
            matrix=matrix_file(network, matrix, data_dir),
        )
    summary = budgets_job(
        data_dir,
        run_dir,
        out_dir,
        scenario=scenario,
        rule=rule,
        districts=chosen,
        draws=draws,
        seed=seed,
        allow_loss=allow_loss,
        compare_countywide=compare_countywide,
        travel=travel,
    )
    print_budgets(summary, out_dir)
