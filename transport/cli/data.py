"""``sen-transport data``: build the embedded synthetic data sets."""

from __future__ import annotations

from pathlib import Path

import click

from transport.cli.common import domain_errors
from transport.cli.options import SEED


@click.group()
def data() -> None:
    """Build synthetic data sets (every pupil in them is synthetic)."""


@data.command("kent")
@click.option(
    "--seed", type=SEED, default=2013, show_default=True, help="Random seed (0 to 2,147,483,647)."
)
@click.option(
    "--pupils",
    type=click.IntRange(10, 100_000),
    default=4200,
    show_default=True,
    help="Number of pupils.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to write.",
)
@domain_errors
def kent(seed: int, pupils: int, out_dir: Path) -> None:
    """Build the synthetic Kent data set (real special schools, synthetic pupils).

    \b
    Example:
      sen-transport data kent --seed 2013 --out data/kent
    """
    from transport.datagen.kent import build_kent_dataset, write_kent_dataset
    from transport.runs.destination import check_output_dir
    from transport.runs.write import write_folder

    check_output_dir(out_dir, kind="data")  # before the work: a data folder it wrote, or new
    built = build_kent_dataset(seed=seed, pupils=pupils)
    names: list[str] = []

    def write(folder: Path) -> None:
        names.extend(p.name for p in write_kent_dataset(built, folder))

    write_folder(out_dir, write, kind="data", keep_foreign=True)
    for name in names:
        click.echo(f"Wrote {out_dir / name}")
