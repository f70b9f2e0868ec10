"""``sen-transport place``: place pupils at schools under a policy."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.render import print_placement
from transport.jobs import place_job
from transport.scenario import PlacementSettings, Scenario

PLACE_DEFAULTS = Scenario(placement=PlacementSettings(policy="nearest-with-capacity"))
"""place's own defaults: current practice, not the scenario default ``keep``."""


@click.command()
@opt.POLICY.with_default_text("nearest-with-capacity")
@opt.data_option
@opt.districts_file_option
@opt.out_option
@opt.scenario_option
@opt.apply(*opt.TRAVEL)
@opt.network_options
@opt.EST_COST_PER_PUPIL_MILE
@opt.verbose_ids_option
@domain_errors
def place(
    data_dir: Path,
    districts_file: Path | None,
    out_dir: Path,
    scenario_file: Path | None,
    cache_dir: Path | None,
    verbose_ids: bool,
) -> None:
    """Place pupils at schools under a policy and write placements.csv and summary.json.

    The terminal shows totals and counts only; pupil ids only with --verbose-ids.

    \b
    Example:
      sen-transport place --policy nearest-suitable --data data/kent --out runs/ns
      sen-transport place --network osm --graphml kent.graphml --data data/kent --out runs/osm
    """
    scenario = opt.scenario_with_overrides(scenario_file, base=PLACE_DEFAULTS)
    summary = place_job(
        data_dir, out_dir, scenario=scenario, cache_dir=cache_dir, districts_file=districts_file
    )
    print_placement(summary, out_dir, verbose_ids=verbose_ids)
