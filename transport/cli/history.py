"""``sen-transport diff``: what changed for pupils between two runs."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli.common import domain_errors
from transport.cli.render import print_diff
from transport.runs.history import check_changes_file, diff_runs, write_changes


@click.command()
@click.argument("run_a", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("run_b", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--minutes",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Report a pickup time only when it moves by more than this.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write every change to this CSV (pupil_id, change, before, after).",
)
@click.option("--verbose-ids", is_flag=True, help="Also print the pupils' ids on the terminal.")
@domain_errors
def diff(
    run_a: Path, run_b: Path, minutes: float, out_file: Path | None, verbose_ids: bool
) -> None:
    """List pupils whose school, route, vehicle or pickup time changed from RUN_A to RUN_B.

    \b
    Example:
      sen-transport diff runs/2026-11-27 runs/latest --minutes 10 --out changes.csv
    """
    read = [("the run folder read", run_a), ("the run folder read", run_b)]
    if out_file is not None:
        check_changes_file(out_file, inputs=read)  # before any work
    result = diff_runs(run_a, run_b, minutes=minutes)
    if out_file is not None:
        write_changes(out_file, result, inputs=read)
    print_diff(result, verbose_ids=verbose_ids, out_file=out_file)
