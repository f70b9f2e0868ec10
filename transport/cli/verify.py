"""``sen-transport verify``: check a folder the engine wrote against its manifest.json."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli.common import domain_errors
from transport.cli.options import verbose_ids_option
from transport.cli.render import print_verify
from transport.runs.manifest import verify_folder

EXIT_DIFFERS = 1


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the data folder the run was made from is now (default: where it was read).",
)
@verbose_ids_option
@domain_errors
def verify(run_dir: Path, data_dir: Path | None, verbose_ids: bool) -> None:
    """Re-hash RUN_DIR's files and the inputs its manifest.json lists; exit 0 when every one
    matches, else exit 1 naming each file that differs (changed, missing, or not written by
    the engine). A folder without a manifest exits 2.

    \b
    Example:
      sen-transport verify runs/latest --data data/kent
    """
    result = verify_folder(run_dir, data_dir=data_dir)
    print_verify(result, verbose_ids=verbose_ids)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_DIFFERS)
