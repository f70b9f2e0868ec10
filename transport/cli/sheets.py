"""``sen-transport sheets``: route sheets of a solved run, for planners or (redacted) operators."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli.common import domain_errors
from transport.cli.options import data_option, engine_option
from transport.cli.render import print_sheets
from transport.jobs import sheets_job


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@data_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to write route-sheets.csv, route-sheets.html and summary.json to.",
)
@click.option(
    "--redact",
    is_flag=True,
    help="For operators: pickup point and time, wheelchair and PA only; no needs or health data.",
)
@click.option(
    "--packs",
    is_flag=True,
    help="Also write a crew pack PDF per route: packs/operator/ (redacted) and packs/pa/.",
)
@engine_option
@domain_errors
def sheets(
    run_dir: Path, data_dir: Path, out_dir: Path, redact: bool, packs: bool, engine: str
) -> None:
    """Write route sheets of RUN_DIR (a run of 'sen-transport solve'): each route's pickups.

    One row per pickup: route, school, arrive-by, vehicle, PA on board, order, pupil id,
    pickup point (postcode, or home lat/lon to 4 decimals), pickup time, wheelchair. Planner
    sheets add need, needs PA, solo, age and ride minutes; --redact leaves those out.
    --packs adds a crew pack PDF per route (stops in order both ways): the operator's copy
    redacted, the passenger assistant's with who needs their help.

    \b
    Example:
      sen-transport sheets runs/latest --data data/kent --out sheets/operators --redact
      sen-transport sheets runs/latest --data data/kent --out sheets/crews --packs
    """
    summary = sheets_job(
        run_dir, data_dir, out_dir, redact=redact, packs=packs, workers=2, engine=engine
    )
    print_sheets(summary, out_dir)
    if packs:
        for warning in summary["packs"]["engine_warnings"]:
            click.echo(f"Warning: {warning}", err=True)
        click.echo(
            f"Crew packs: {summary['packs']['operator']:,} operator copies (redacted), "
            f"{summary['packs']['pa']:,} passenger assistant copies in {out_dir}/packs"
        )
