"""The audit record of one command: what it read, with which settings, when and by whom.

Every folder a command writes holds ``manifest.json`` (:mod:`transport.runs.manifest`), built
from the :class:`Audit` of the command that wrote it. The record is gathered where things
happen, so that no command can forget a part of it:

* the command line opens a session (:func:`audit_session`: the command as typed, the start
  time, whether the user and host may be recorded) and says how to find its own options'
  values and where they came from (:attr:`Audit.options`);
* every reader of an input file (data CSV files, scenario files, run folders, road maps,
  bids…) calls :func:`record_input` with the bytes it read, so the manifest holds the sha256
  of exactly what was read;
* a job records the settings it ran with (:func:`record_scenario`): every scenario key with
  its value and where it came from (``default``, ``scenario file``, ``option``).

A job called from the library (or a test) opens its own session (:func:`job_session`); its
manifests say the command line is unknown. Nothing here holds pupil data: paths, hashes and
settings only.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

SOURCES = ("default", "scenario file", "option", "command", "run")
"""Where a setting's value came from: its default, the scenario file, a command-line option,
the command itself (``budgets`` always prices budgets), or the run a command read (``budgets``
re-plans routes with the run's own travel, ride and cost parameters)."""

CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    """One input file read: its role (``data``, ``scenario``, ``run`` …), absolute path, the
    name it has in its folder, its size and the sha256 of the bytes read."""

    role: str
    path: str
    name: str
    sha256: str
    bytes: int


@dataclass
class Audit:
    """What one command did, gathered as it runs (see the module docstring).

    ``command`` is the command line as typed (``None`` for a library call); ``started`` the
    start in UTC; ``include_user`` whether the user name and host go into manifests;
    ``options`` returns the command's own options (not scenario settings) as ``{name:
    {"value": …, "from": …}}`` when asked; ``scenario`` the settings recorded by the job.
    """

    command: list[str] | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    include_user: bool = True
    inputs: dict[str, InputFile] = field(default_factory=dict)
    scenario: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenario_name: str | None = None
    options_from: Callable[[], dict[str, dict[str, Any]]] | None = None
    option_values: dict[str, dict[str, Any]] | None = None

    def options(self) -> dict[str, dict[str, Any]]:
        """The command's own options, ``{name: {"value": …, "from": …}}`` (empty outside a
        command line)."""
        if self.option_values is not None:
            return self.option_values
        if self.options_from is None:
            return {}
        try:
            return self.options_from()
        except Exception:  # noqa: BLE001 - outside its command the callback has nothing to say
            return {}

    def snapshot(self, **changes: Any) -> Audit:
        """A copy with the options read now (picklable: sent to worker processes), with
        ``changes`` applied."""
        copy = Audit(
            command=list(self.command) if self.command is not None else None,
            started=self.started,
            include_user=self.include_user,
            inputs=dict(self.inputs),
            scenario={k: dict(v) for k, v in self.scenario.items()},
            scenario_name=self.scenario_name,
            option_values=self.options(),
        )
        for key, value in changes.items():
            setattr(copy, key, value)
        return copy

    def for_scenario(self, scenario: Any) -> Audit:
        """A copy recording ``scenario``'s settings (one folder of a comparison)."""
        return self.snapshot(
            scenario=scenario_settings(scenario), scenario_name=getattr(scenario, "name", None)
        )


_CURRENT: contextvars.ContextVar[Audit | None] = contextvars.ContextVar(
    "transport_audit", default=None
)


def active() -> Audit | None:
    """The audit of the command running now, or ``None`` outside any."""
    return _CURRENT.get()


@contextlib.contextmanager
def audit_session(
    command: list[str] | None = None,
    *,
    include_user: bool = True,
    audit: Audit | None = None,
) -> Iterator[Audit]:
    """Record one command: everything read and written inside the block belongs to it.

    ``audit`` resumes a record made elsewhere (a worker process writing a folder of the
    command that started it).
    """
    record = audit or Audit(command=command, include_user=include_user)
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def job_session() -> Iterator[Audit]:
    """The command's audit when one is running, else a new one for this block (a job called
    from the library or a test records what it reads and writes all the same)."""
    audit = _CURRENT.get()
    if audit is not None:
        yield audit
        return
    with audit_session() as record:
        yield record


def audited(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a job inside :func:`job_session` (the command's audit, or one of its own)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with job_session():
            return func(*args, **kwargs)

    return wrapper


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def record_input(path: str | Path, data: bytes | None = None, *, role: str) -> None:
    """Record an input file read by the command: ``data`` is the bytes read (hashed as read);
    without it the file is hashed now. A file that cannot be read is not recorded (its reader
    reports it)."""
    audit = _CURRENT.get()
    if audit is None:
        return
    p = Path(path)
    try:
        resolved = p.resolve()
        if data is not None:
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
        else:
            if not resolved.is_file():
                return
            digest, size = sha256_file(resolved), resolved.stat().st_size
    except OSError:
        return
    audit.inputs[str(resolved)] = InputFile(role, str(resolved), p.name, digest, size)


def record_digest(path: str | Path, sha256: str, *, role: str) -> None:
    """Record an input file whose sha256 its reader computed already (a large road map)."""
    audit = _CURRENT.get()
    if audit is None:
        return
    p = Path(path)
    try:
        resolved, size = p.resolve(), p.stat().st_size
    except OSError:
        return
    audit.inputs[str(resolved)] = InputFile(role, str(resolved), p.name, sha256, size)


def record_folder(folder: str | Path, names: list[str], *, role: str) -> None:
    """Record the named files of an input folder (those present)."""
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            record_input(path, role=role)


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            out.update(_flatten(f"{prefix}.{f.name}" if prefix else f.name, getattr(value, f.name)))
        return out
    return {prefix: value}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, float) and not (value == value and abs(value) != float("inf")):
        return str(value)
    return value


def scenario_settings(scenario: Any) -> dict[str, dict[str, Any]]:
    """Every setting of a scenario as ``{key: {"value": …, "from": …}}``, keys as in a
    scenario file (``routing.seed``; ``[travel]``'s network keys under ``travel``)."""
    sources: Mapping[str, str] = getattr(scenario, "sources", {}) or {}
    out: dict[str, dict[str, Any]] = {}
    for f in fields(scenario):
        if f.name == "sources":
            continue
        value = getattr(scenario, f.name)
        table = "travel" if f.name == "network" else f.name
        if f.name == "capacity":
            out["capacity"] = {
                "value": _plain(value),
                "from": sources.get("capacity", "default"),
            }
            continue
        flat = _flatten(table, value) if is_dataclass(value) else {table: value}
        for key, v in flat.items():
            out[key] = {"value": _plain(v), "from": sources.get(key, "default")}
    return dict(sorted(out.items()))


def record_scenario(scenario: Any) -> None:
    """Record the settings a job runs with (a :class:`transport.scenario.Scenario`)."""
    audit = _CURRENT.get()
    if audit is None:
        return
    audit.scenario = scenario_settings(scenario)
    audit.scenario_name = getattr(scenario, "name", None)


def user_and_host() -> dict[str, str | None]:
    """The user name and host name of this process (``None`` where unknown)."""
    import getpass
    import socket

    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER")
    try:
        host: str | None = socket.gethostname()
    except OSError:
        host = None
    return {"user": user, "host": host}
