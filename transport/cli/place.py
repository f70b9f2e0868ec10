"""``sen-transport place``: place pupils at schools under a policy."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli.common import (
    data_option,
    domain_errors,
    matrix_file,
    network_options,
    out_option,
    travel_options,
    verbose_ids_option,
)
from transport.cli.render import print_placement
from transport.jobs import place_job
from transport.model import CostParams, Parameters, TravelParams
from transport.placement import POLICIES
from transport.travel.network import travel_model_from_options


def parameters_from_options(
    circuity: float | None,
    speed_mph: float | None,
    dwell_min: float | None,
    dwell_per_pupil_min: float | None = None,
    **cost: float | None,
) -> Parameters:
    """Parameters with the defaults, overridden by whichever options were given."""
    given = (
        ("circuity", circuity),
        ("speed_mph", speed_mph),
        ("dwell_min", dwell_min),
        ("dwell_per_pupil_min", dwell_per_pupil_min),
    )
    travel = {k: v for k, v in given if v is not None}
    money = {k: v for k, v in cost.items() if v is not None}
    return Parameters(travel=TravelParams(**travel), cost=CostParams(**money))  # type: ignore[arg-type]


@click.command()
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default="nearest-with-capacity",
    show_default=True,
    help="Placement policy.",
)
@data_option
@out_option
@travel_options
@network_options
@click.option(
    "--est-cost-per-pupil-mile",
    type=float,
    default=None,
    help="£ per pupil-mile the optimal policy assumes [1.25].",
)
@verbose_ids_option
@domain_errors
def place(
    policy: str,
    data_dir: Path,
    out_dir: Path,
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
    est_cost_per_pupil_mile: float | None,
    verbose_ids: bool,
) -> None:
    """Place pupils at schools under a policy and write placements.csv and summary.json.

    The terminal shows totals and counts only; pupil ids only with --verbose-ids.

    \b
    Example:
      sen-transport place --policy nearest-suitable --data data/kent --out runs/ns
      sen-transport place --network osm --graphml kent.graphml --data data/kent --out runs/osm
    """
    params = parameters_from_options(
        circuity,
        speed_mph,
        dwell_min,
        dwell_per_pupil_min,
        est_cost_per_pupil_mile=est_cost_per_pupil_mile,
    )
    travel = travel_model_from_options(
        network=network,
        osm_file=osm_file,
        osm_place=osm_place,
        graphml=graphml,
        params=params.travel,
        cache_dir=cache_dir,
        peak_factor=peak_factor,
        matrix=matrix_file(network, matrix, data_dir),
    )
    summary = place_job(data_dir, out_dir, policy=policy, params=params, travel=travel)
    print_placement(summary, out_dir, verbose_ids=verbose_ids)
