"""The ``sen-transport`` command group.

Each command parses its options, calls one library function and renders the result. Domain
errors (:class:`transport.errors.TransportError`) become one clear message and exit status 2.
"""

from __future__ import annotations

import sys

import click

from transport.cli.budgets import budgets
from transport.cli.common import (
    DEBUG_ENV,
    NO_USER_ENV,
    Group,
    install_signal_handlers,
    private_by_default,
    run_command,
)
from transport.cli.compare import compare
from transport.cli.data import data
from transport.cli.graph import graph
from transport.cli.history import diff
from transport.cli.letters import letters
from transport.cli.place import place
from transport.cli.sheets import sheets
from transport.cli.site import site
from transport.cli.solve import solve
from transport.cli.sweep import sweep
from transport.cli.tender import award, impact, tender
from transport.cli.verify import verify


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="sen-transport")
@click.option(
    "--debug",
    is_flag=True,
    help=f"Show the traceback of an internal error (or set {DEBUG_ENV}=1).",
)
@click.option(
    "--no-user",
    is_flag=True,
    help=f"Leave the user name and host out of manifest.json (or set {NO_USER_ENV}=1).",
)
def cli(debug: bool, no_user: bool) -> None:
    """Plan SEN home-to-school transport and price personal transport budgets.

    Bad input (data, scenario files, option values) is reported in one message with exit
    status 2; an internal error in one line with exit status 1 (--debug shows its traceback).
    Every folder written holds manifest.json (inputs, settings, versions, hashes of every
    file); 'sen-transport verify RUN' checks a folder against it.

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
cli.add_command(solve)
cli.add_command(sweep)
cli.add_command(tender)
cli.add_command(award)
cli.add_command(impact)
cli.add_command(verify)
cli.add_command(site)
cli.add_command(letters)


def main() -> None:
    """Console entry point."""
    install_signal_handlers()
    private_by_default()
    sys.exit(run_command(cli))


if __name__ == "__main__":
    main()
