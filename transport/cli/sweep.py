"""``sen-transport sweep``: a grid of scenario variants compared in one table."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.compare import _write_report, print_comparison
from transport.cli.render import console


@click.command()
@click.argument("grid_file", metavar="GRID.toml", type=click.Path(path_type=Path, dir_okay=False))
@opt.data_option
@opt.districts_file_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Comparison folder to write (each variant's folder in it is replaced atomically).",
)
@opt.apply(*opt.ROUTING, opt.DRAWS)
@opt.comparison_options
@opt.apply(*opt.TRAVEL)
@opt.network_options
@opt.scheduler_option
@opt.quiet_option
@domain_errors
def sweep(
    grid_file: Path,
    data_dir: Path,
    districts_file: Path | None,
    out_dir: Path,
    no_cache: bool,
    no_report: bool,
    cache_dir: Path | None,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Plan a grid of scenario variants (capacity options × budget rules × seeds …) and compare.

    GRID.toml names a base scenario and axes (docs/formats.md, "Sweep grids"); every
    combination of one option per axis is a variant, compared against the base as
    'compare' does: the stage cache re-uses placements, routes and budgets that variants
    share, and with --scheduler every variant's stages run on the Dask cluster's workers.
    Options override every variant's setting, but not a key an axis varies. Writes
    OUT/comparison.csv and .json, OUT/sweep.csv (one column per axis), OUT/scenarios/NAME/
    (a solve run folder each, with its scenario.toml) and OUT/report.html.

    \b
    Example:
      sen-transport sweep scenarios/sweeps/ptb-grid.toml --data data/kent --out runs/ptb-grid
      sen-transport sweep scenarios/sweeps/ptb-grid.toml --data data/kent --out runs/ptb-grid \\
          --scheduler tcp://10.0.0.5:8786 --time-limit 60
    """
    from transport.cluster import cluster_executor
    from transport.cluster.sweep import sweep as run_sweep

    err = Console(stderr=True, highlight=False)
    with cluster_executor(scheduler) as executor:
        doc = run_sweep(
            grid_file,
            data_dir,
            out_dir,
            overrides=opt.given_overrides(),
            cache_dir=cache_dir / "compare" if cache_dir is not None else None,
            graph_cache_dir=cache_dir,
            use_cache=not no_cache,
            districts_file=districts_file,
            executor=executor,
            progress=None if quiet else (lambda msg: err.print(f"[dim]{msg}[/dim]")),
        )
    print_comparison(doc, out_dir)
    console.print(f"Wrote {out_dir / 'sweep.csv'} ({doc['sweep']['variants']} variants)")
    if not no_report:
        _write_report(out_dir, data_dir)
