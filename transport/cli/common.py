"""Shared option decorators and the error boundary of the command-line interface."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from transport.errors import TransportError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2


class DomainError(click.ClickException):
    """A :class:`TransportError` rendered as ``Error: …`` with exit status 2."""

    exit_code = EXIT_BAD_INPUT


def domain_errors(func: F) -> F:
    """Turn the engine's own errors (and bad parameter values) into a clean exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TransportError as exc:
            raise DomainError(str(exc)) from None
        except ValueError as exc:  # parameter dataclasses reject impossible values this way
            raise DomainError(f"invalid value: {exc}") from None

    return wrapper  # type: ignore[return-value]


def data_option(func: F) -> F:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("data/kent"),
        show_default=True,
        help="Data folder holding schools.csv, pupils.csv, vehicles.csv [, incompatible.csv].",
    )(func)


def out_option(func: F) -> F:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        required=True,
        help="Run folder to write (replaced atomically when complete).",
    )(func)


def travel_options(func: F) -> F:
    func = click.option(
        "--circuity", type=float, default=None, help="Road miles per straight-line mile [1.3]."
    )(func)
    func = click.option("--speed-mph", type=float, default=None, help="Average speed in mph [25].")(
        func
    )
    func = click.option(
        "--dwell-min", type=float, default=None, help="Minutes added per pickup [2]."
    )(func)
    return func


def network_options(func: F) -> F:
    """Options choosing the travel backend: crow-fly (default) or an OpenStreetMap road graph."""
    options = [
        click.option(
            "--network",
            type=click.Choice(["crow-fly", "osm"]),
            default="crow-fly",
            show_default=True,
            help="Travel model: crow-fly miles × circuity, or OpenStreetMap roads.",
        ),
        click.option(
            "--osm-file",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            help="OSM XML road map (.osm, .osm.bz2) for --network osm.",
        ),
        click.option(
            "--osm-place",
            default=None,
            metavar="NAME",
            help='Place to download once for --network osm, e.g. "Kent, England" (online).',
        ),
        click.option(
            "--graphml",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            help="Road graph saved by 'sen-transport graph build' for --network osm.",
        ),
        click.option(
            "--peak-factor",
            type=float,
            default=1.0,
            show_default=True,
            help="Multiplies road travel times (1.2 = 20% slower than free flow).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            default=None,
            help="Road graph and matrix cache [$SEN_TRANSPORT_CACHE or ~/.cache/sen-transport].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def verbose_ids_option(func: F) -> F:
    return click.option(
        "--verbose-ids",
        is_flag=True,
        help="Also print pupil ids (unplaced, unrouted) on the terminal; counts only without it.",
    )(func)


_MAIN_PID: int | None = None


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM/SIGINT/SIGHUP: stop worker processes at once and unwind, so that no temporary
    folder is left."""
    if os.getpid() != _MAIN_PID:  # a forked child: end as the signal would
        os._exit(128 + signum)
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()
    name = signal.Signals(signum).name
    os.write(
        2,
        f"Stopped by {name}: nothing was left half-written (each output is as it was, or "
        "complete).\n".encode(),
    )
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """Make SIGTERM, SIGINT (Ctrl-C) and SIGHUP unwind like an exception (``finally`` blocks
    run, temporary folders are removed, worker processes stopped at once) instead of ending
    the process on the spot. Exit status 128 + the signal's number, as a shell reports it."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)


def private_by_default() -> None:
    """Files and folders a command creates are its user's only (0600, 0700), whatever the
    umask it was started with (pupil data is special-category personal data)."""
    os.umask(0o077)


def run_command(group: click.Group, args: list[str] | None = None) -> int:
    """Run the group in standalone mode and return its exit status."""
    try:
        group.main(args=args, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0
