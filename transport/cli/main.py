"""The ``sen-transport`` command group.

Each command parses its options, calls one library function and renders the result. Domain
errors (:class:`transport.errors.TransportError`) become one clear message and exit status 2.
"""

from __future__ import annotations

import sys

import click

from transport.cli.budgets import budgets
from transport.cli.common import install_signal_handlers, run_command
from transport.cli.compare import compare
from transport.cli.data import data
from transport.cli.graph import graph
from transport.cli.history import diff
from transport.cli.place import place
from transport.cli.sheets import sheets
from transport.cli.site import site


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sen-transport")
def cli() -> None:
    """Plan SEN home-to-school transport and price personal transport budgets.

    \b
    Typical use:
      sen-transport place --policy nearest-suitable --data data/kent --out runs/ns
      sen-transport solve --data data/kent --out runs/tonight
    """


cli.add_command(place)
cli.add_command(data)
cli.add_command(graph)
cli.add_command(diff)
cli.add_command(budgets)
cli.add_command(compare)
cli.add_command(sheets)
cli.add_command(site)

try:  # commands of later stages register themselves here when their module exists
    from transport.cli.solve import solve

    cli.add_command(solve)
except ImportError:  # pragma: no cover - only while a stage is absent
    pass


def main() -> None:
    """Console entry point."""
    install_signal_handlers()
    sys.exit(run_command(cli))


if __name__ == "__main__":
    main()
