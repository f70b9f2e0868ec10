"""``sen-transport graph``: build a county road graph once (online) for offline runs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from transport.cli.common import domain_errors
from transport.cli.options import cache_dir_option
from transport.travel.network import load_graph, save_graph


def is_graphml(path: Path) -> bool:
    """Whether ``path`` is a GraphML file (one this command may replace)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    return head.lstrip().startswith(b"<?xml") and b"<graphml" in head


@click.group()
def graph() -> None:
    """Road graphs for the OpenStreetMap travel model (--network osm)."""


@graph.command()
@click.option(
    "--place", default=None, metavar="NAME", help='Place to download, e.g. "Kent, England".'
)
@click.option(
    "--osm-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="OSM XML file (.osm, .osm.bz2) to convert instead of downloading.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="GraphML file to write (replaced atomically).",
)
@cache_dir_option
@domain_errors
def build(place: str | None, osm_file: Path | None, out_file: Path, cache_dir: Path | None) -> None:
    """Build a drivable road graph with speeds and travel times and save it as GraphML.

    Downloading a place needs the internet once; afterwards every run can work offline from
    the file.

    \b
    Example:
      sen-transport graph build --place "Kent, England" --out kent.graphml
      sen-transport place --network osm --graphml kent.graphml --data data/kent --out runs/osm
    """
    from transport.runs.destination import (
        check_not_input,
        check_output_file,
        make_private_dirs,
    )
    from transport.runs.lock import output_lock

    read = [("the OSM file read", osm_file)]
    out_file = check_output_file(out_file, inputs=read, recognise=is_graphml, what="graph file")
    if cache_dir is not None:
        check_not_input(cache_dir, inputs=read, what="cache folder")
    G = load_graph(osm_file=osm_file, place=place, cache_dir=cache_dir)
    make_private_dirs(out_file.parent)
    with output_lock(out_file, what="graph file"):
        save_graph(G, out_file)
        os.chmod(out_file, 0o600)
    click.echo(f"{out_file}: {len(G):,} nodes, {G.number_of_edges():,} edges")
