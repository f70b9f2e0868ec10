"""The command line's error boundary, signals and entry point.

Errors of the user's making are :class:`transport.errors.TransportError`: one ``Error: …``
line, exit status 2 (a :class:`~transport.errors.ParameterError` names the option given, e.g.
``--time-limit``, where the engine names its scenario key, ``routing.time_limit_s``). Click's
own usage errors exit 2 too. Anything else is a fault of the engine: one ``Internal error: …``
line naming the exception's type and where it was raised (not its message, which may hold
pupil data) and exit status 1; ``sen-transport --debug …`` (or ``SEN_TRANSPORT_DEBUG=1``)
shows the traceback instead.
"""

from __future__ import annotations

import functools
import os
import re
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import click

from transport.errors import ParameterError, TransportError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
DEBUG_ENV = "SEN_TRANSPORT_DEBUG"


class DomainError(click.ClickException):
    """A :class:`TransportError` rendered as ``Error: …`` with exit status 2."""

    exit_code = EXIT_BAD_INPUT


def option_names(message: str) -> str:
    """A settings message in the command line's words: ``travel.network = "osm"`` reads
    ``--network osm`` and ``routing.time_limit_s`` reads ``--time-limit``."""
    from transport.cli.options import flags_by_key

    for key, flag in flags_by_key().items():
        pattern = rf"(?<![\w.]){re.escape(key)}(?![\w])"
        message = re.sub(pattern + r' = "([^"]*)"', lambda m, f=flag: f"{f} {m.group(1)}", message)
        message = re.sub(pattern, flag, message)
    return message


def domain_errors(func: F) -> F:
    """Turn the engine's own errors into a clean ``Error: …`` and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ParameterError as exc:
            raise DomainError(option_names(str(exc))) from None
        except TransportError as exc:
            raise DomainError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def debug_wanted(ctx: click.Context | None = None) -> bool:
    """Whether tracebacks were asked for (``--debug`` or ``SEN_TRANSPORT_DEBUG=1``)."""
    root = ctx.find_root() if ctx is not None else None
    if root is not None and root.params.get("debug"):
        return True
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


class Group(click.Group):
    """A command group whose commands' internal faults end in one line, exit status 1.

    Each command runs inside an audit session (:mod:`transport.audit`): the command line as
    typed, its start time, whether the user and host are recorded (not with ``--no-user``),
    and its options with where each value came from, for the manifest.json of every folder it
    writes.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra
    ) -> click.Context:
        argv = list(args)
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta[ARGV] = ["sen-transport", *argv]
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        from transport.audit import audit_session

        no_user = bool(ctx.params.get("no_user")) or _env_flag(NO_USER_ENV)
        try:
            with audit_session(ctx.meta.get(ARGV), include_user=not no_user) as record:
                record.options_from = command_options
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if debug_wanted(ctx):
                raise
            click.echo(
                f"Internal error: {fault_line(exc)} (run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


ARGV = "transport.argv"
"""Key of the root context's ``meta`` holding the command line as typed."""
NO_USER_ENV = "SEN_TRANSPORT_NO_USER"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def command_options() -> dict[str, dict[str, Any]]:
    """The running command's options for its manifest: ``{name: {"value", "from"}}``.

    ``from`` is ``option`` (given on the command line), ``environment`` or ``default``;
    settings that override scenario keys are listed by their key (``routing.time_limit_s``)
    and are in the manifest's scenario settings too.
    """
    from transport.cli.options import OVERRIDES

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, value in sorted(ctx.params.items()):
        source = ctx.get_parameter_source(name)
        given = source is not None and source.name in ("COMMANDLINE", "PROMPT")
        where = (
            "option"
            if given
            else "environment"
            if source is not None and (source.name == "ENVIRONMENT")
            else "default"
        )
        out[name] = {"value": _plain(value), "from": where}
    for key, value in sorted(ctx.meta.get(OVERRIDES, {}).items()):
        out[key] = {"value": _plain(value), "from": "option"}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def fault_line(exc: BaseException) -> str:
    """The exception's type and the engine's line that raised it, never its message (which
    may hold pupil data): ``ValueError in transport/jobs.py:153``."""
    import traceback

    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = frame.filename.replace("\\", "/")
        if "/transport/" in path:
            where = f" in transport/{path.rsplit('/transport/', 1)[1]}:{frame.lineno}"
    return f"{type(exc).__name__}{where}"


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
    """Run the group in standalone mode and return its exit status.

    Out of standalone mode click returns (rather than raises) the status of a command that
    exits early (``ctx.exit(1)``: an internal error, ``verify`` finding a difference).
    """
    try:
        status = group.main(args=args, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return status if isinstance(status, int) and not isinstance(status, bool) else 0
