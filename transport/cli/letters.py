"""``sen-transport letters``: a letter to each family of a solved run, as PDFs and a merge file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from transport.cli.common import domain_errors
from transport.cli.options import WORKER_COUNT, data_option, engine_option


def _print_letters(summary: dict[str, Any], out_dir: Path) -> None:
    """Counts only: never an id, a name or an address."""
    kinds = ", ".join(f"{n:,} {k}" for k, n in summary["letters_by_kind"].items()) or "none"
    click.echo(
        f"{summary['letters']:,} letters ({kinds}), {summary['pages']:,} pages, effective "
        f"{summary['effective_date']}; {summary['not_sent']:,} pupils without a route listed "
        f"in not-sent.csv"
    )
    if summary["previous_run"] is not None and summary["home_moves_detectable"] is False:
        click.echo(
            "The two runs used different travel models: house moves cannot be told apart "
            "from re-planned journeys (those families are written to as disturbed)."
        )
    if not summary["contacts"]:
        click.echo("No --contacts: letters are addressed to the parent or carer of each pupil.")
    for warning in summary["engine_warnings"]:
        click.echo(f"Warning: {warning}", err=True)
    for warning in summary["template_warnings"]:
        click.echo(f"Template warning: {warning}", err=True)
    click.echo(f"Wrote {out_dir} (letters/, letters.pdf, letters.csv, not-sent.csv, summary.json)")


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@data_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to write letters/, letters.pdf, letters.csv, not-sent.csv and summary.json to "
    "(outside the run and data folders; replaced whole when complete).",
)
@click.option(
    "--contacts",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="CSV of pupil_id, parent_name, address_line_1..4, postcode, email: merged into the "
    "letters only, never logged or written elsewhere.",
)
@click.option(
    "--since",
    "since",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="PREVIOUS_RUN",
    help="Write only to families whose child is new, moved or disturbed since this run.",
)
@click.option(
    "--template",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The council's own Jinja2 letter template (HTML + CSS) [shipped letter.html].",
)
@click.option(
    "--effective",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="Date the arrangements apply from [the Monday at least 7 days from today].",
)
@click.option(
    "--operators",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="route-operators.csv (route_id, operator_id, operator_name, phone) written by 'award'.",
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="With --since: a pickup moving by more than this many minutes disturbs.",
)
@click.option(
    "--workers",
    type=WORKER_COUNT,
    default=None,
    help="Chunks of letters printed at the same time, 1-256 [up to 2, one per core].",
)
@engine_option
@domain_errors
def letters(
    run_dir: Path,
    data_dir: Path,
    out_dir: Path,
    contacts: Path | None,
    since: Path | None,
    template: Path | None,
    effective: dt.datetime | None,
    operators: Path | None,
    minutes: float,
    workers: int | None,
    engine: str,
) -> None:
    """Write a letter to each family of RUN_DIR (a run of 'sen-transport solve').

    Each letter gives the school, the date it applies from, the morning pickup point and time,
    the afternoon drop-off time (when the plan has one), the vehicle and whether it is
    wheelchair accessible, whether a passenger assistant travels, the route, the operator and
    phone (with --operators) and what to do if the vehicle is late. letters/<pupil_id>.pdf is
    each family's own letter, letters.pdf all of them to print, letters.csv the merge fields and
    not-sent.csv the pupils with no route and why. With --since only families whose child is
    new, moved or disturbed are written to, each letter saying what changes.

    \b
    Example:
      sen-transport letters runs/latest --data data/kent --out letters/2026-09 \\
          --contacts contacts.csv --operators award/route-operators.csv --effective 2026-09-07
      sen-transport letters runs/latest --data data/kent --out letters/tonight \\
          --since runs/2026-08-31 --contacts contacts.csv
    """
    from transport.letters import write_letters

    summary = write_letters(
        run_dir,
        data_dir,
        out_dir,
        contacts=contacts,
        since=since,
        template=template,
        effective=effective.date() if effective else None,
        operators=operators,
        minutes=minutes,
        workers=workers,
        engine=engine,
    )
    _print_letters(summary, out_dir)
