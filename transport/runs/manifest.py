"""manifest.json: the audit record of a folder the engine wrote, and checking a folder against it.

Every folder a command writes holds ``manifest.json`` (written by the one folder writer,
:mod:`transport.runs.write`, just before the folder takes its place), so that a council can show
which data and settings produced a plan and that nothing was changed after (docs/formats.md,
"manifest.json"):

* the engine (version, and the git commit when it runs from a checkout), Python, OR-Tools and
  PyVRP versions;
* the command line, its start and end (UTC), the user name and host (left out with
  ``sen-transport --no-user``);
* the sha256 of every input file read (:mod:`transport.audit` records them as they are read)
  and of every file written;
* every setting with where its value came from (``default``, ``scenario file``, ``option``),
  the command's own options likewise, the seeds, the time limit and whether it was reached.

:func:`verify_folder` re-hashes a folder's outputs (and inputs: the data folder may be given
where it now is) and lists every file that differs; :func:`check_unchanged` is what the run
reader calls, refusing a run whose files no longer match its manifest.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.audit import Audit, active, sha256_file, user_and_host
from transport.errors import TransportError
from transport.runs.atomic import atomic_write_text

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
IGNORED = frozenset({MANIFEST, ".sen-transport"})
"""Names never listed as outputs: the manifest itself and the destination marker."""
PACKAGES = ("ortools", "pyvrp")
PUPIL_NAMED_FOLDERS = frozenset({"letters"})
"""Folders of an output whose files are named by pupil id (``letters/<pupil_id>.pdf``, written
by ``sen-transport letters``): messages never show those names (issue #11, rule 7)."""


class RunChangedError(TransportError):
    """A folder whose files no longer match its manifest.json (edited, truncated, replaced)."""


@dataclass(frozen=True)
class FileCheck:
    """One file of a manifest checked again: ``status`` is ``ok``, ``changed``, ``missing``
    or ``not in manifest`` (a file the engine did not write there)."""

    role: str
    file: str
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def shown(self, *, verbose_ids: bool = False) -> str:
        """The file's name for a message: a file named by a pupil id (``letters/P05.pdf``)
        reads ``letters/<pupil id>.pdf`` unless ids are asked for (``--verbose-ids``)."""
        parts = self.file.split("/")
        if verbose_ids or not any(p in PUPIL_NAMED_FOLDERS for p in parts[:-1]):
            return self.file
        return "/".join([*parts[:-1], f"<pupil id>{Path(parts[-1]).suffix}"])


@dataclass(frozen=True)
class Verification:
    """Every file of a folder's manifest checked again (nested folders' manifests included)."""

    folder: Path
    checks: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def differing(self) -> tuple[FileCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)


# --------------------------------------------------------------------------------------------
# Writing


@functools.cache
def engine_info() -> dict[str, Any]:
    """The engine's version, and its git commit when it runs from a checkout."""
    from importlib import metadata

    try:
        version: str | None = metadata.version("sen-transport")
    except metadata.PackageNotFoundError:
        version = None
    info: dict[str, Any] = {"name": "sen-transport", "version": version, "git_commit": None}
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        commit = _git(root, "rev-parse", "HEAD")
        if commit:
            info["git_commit"] = commit
            status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", "transport")
            info["git_dirty"] = bool(status)
    return info


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _versions() -> dict[str, Any]:
    from importlib import metadata

    out: dict[str, Any] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def output_files(folder: Path, *, exclude: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every file written in ``folder`` with its sha256 and size, by path.

    A sub-folder with a manifest of its own is listed by that manifest only (which lists its
    files); ``exclude`` names top-level entries that are not outputs (a compare cache).
    """
    out: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        rel = here.relative_to(folder)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in exclude]
            names = [n for n in filenames if n not in IGNORED]
        else:
            if (here / MANIFEST).is_file():
                dirnames[:] = []
                names = [MANIFEST]
            else:
                names = [n for n in filenames if n != ".sen-transport"]
        dirnames.sort()
        for name in sorted(names):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            out.append(
                {
                    "file": (rel / name).as_posix(),
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                }
            )
    return sorted(out, key=lambda f: f["file"])


def _listing(folder: Path, *, exclude: Sequence[str]) -> list[dict[str, Any]]:
    """The files in a folder (as :func:`output_files` names them), unreadable ones too."""
    try:
        return output_files(folder, exclude=exclude)
    except OSError:
        names = []
        for dirpath, dirnames, filenames in os.walk(folder):
            rel = Path(dirpath).relative_to(folder)
            if rel == Path("."):
                dirnames[:] = [d for d in dirnames if d not in exclude]
            names += [{"file": (rel / n).as_posix()} for n in filenames if n not in IGNORED]
        return names


def _summary_of(folder: Path) -> Mapping[str, Any]:
    for name in ("summary.json", "comparison.json"):
        path = folder / name
        if path.is_file():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            return doc if isinstance(doc, dict) else {}
    return {}


def _run_limits(
    settings: Mapping[str, Mapping[str, Any]],
    options: Mapping[str, Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """Seeds, the time (or work) limit and whether the time limit was reached."""
    seeds = {k: v["value"] for k, v in settings.items() if k.endswith("seed")}
    seeds |= {k: v["value"] for k, v in options.items() if k.endswith("seed")}
    limit = settings.get("routing.time_limit_s", options.get("time_limit", {})).get("value")
    work = settings.get("routing.work_limit", {}).get("value")
    reached = summary.get("time_limit_reached")
    if reached is None and isinstance(summary.get("scenarios"), list):
        flags = [s.get("time_limit_reached") for s in summary["scenarios"] if isinstance(s, dict)]
        reached = any(flags) if any(f is not None for f in flags) else None
    return {
        "seed": seeds,
        "time_limit_s": limit,
        "work_limit": work,
        "time_limit_reached": reached if isinstance(reached, bool) else None,
        "time_limit_schools": list(summary.get("time_limit_schools") or []),
    }


def build_manifest(
    folder: str | Path,
    *,
    kind: str,
    audit: Audit | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, Any]:
    """The manifest of a folder just written (its files are hashed now).

    ``audit`` is the command's record (default: the one running now, if any).
    """
    folder = Path(folder)
    audit = audit if audit is not None else active()
    finished = dt.datetime.now(dt.UTC)
    options = audit.options() if audit is not None else {}
    settings = audit.scenario if audit is not None else {}
    inside = str(folder.resolve()) + os.sep
    inputs = [  # a folder's own files, read while it was built (the compare report), are not
        f
        for f in (audit.inputs.values() if audit is not None else ())
        if not f.path.startswith(inside)
    ]
    doc: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "engine": engine_info(),
        "versions": _versions(),
        "command": audit.command if audit is not None else None,
        "started_utc": _utc(audit.started if audit is not None else finished),
        "finished_utc": _utc(finished),
    }
    if audit is None or audit.include_user:
        doc.update(user_and_host())
    doc.update(
        {
            "scenario": audit.scenario_name if audit is not None else None,
            "parameters": {"settings": settings, "options": options},
            **_run_limits(settings, options, _summary_of(folder)),
            "inputs": [
                {
                    "role": f.role,
                    "path": f.path,
                    "name": f.name,
                    "sha256": f.sha256,
                    "bytes": f.bytes,
                }
                for f in sorted(inputs, key=lambda f: (f.role, f.path))
            ],
            "outputs": output_files(folder, exclude=exclude),
            "excluded": sorted(exclude),
        }
    )
    return doc


def write_manifest(
    folder: str | Path,
    *,
    kind: str,
    audit: Audit | None = None,
    exclude: Sequence[str] = (),
) -> Path:
    """Write ``folder/manifest.json`` (owner-only) for a folder whose files are all written.

    Called by the folder writer on the complete folder, before it takes its place.
    """
    folder = Path(folder)
    doc = build_manifest(folder, kind=kind, audit=audit, exclude=exclude)
    path = folder / MANIFEST
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return path


def add_outputs(folder: str | Path, files: Sequence[str]) -> Path | None:
    """Add files the engine has just written to a folder to its manifest (hashed now).

    For renderers that write into a folder after it was made (the compare report's
    routes.geojson and routes.gpkg in each scenario folder, report.html beside them). A
    sub-folder's manifest.json may be named to record it again after its own update. Returns
    the manifest's path (``None`` when the folder has none: nothing to update).
    """
    folder = Path(folder)
    doc = read_manifest(folder)
    if doc is None:
        return None
    listed = {f["file"]: f for f in doc["outputs"]}
    for name in files:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            listed[name] = {"file": name, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    doc["outputs"] = sorted(listed.values(), key=lambda f: f["file"])
    doc["updated_utc"] = _utc(dt.datetime.now(dt.UTC))
    path = folder / MANIFEST
    atomic_write_text(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return path


# --------------------------------------------------------------------------------------------
# Checking


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """A folder's manifest (``None`` when it has none).

    Raises
    ------
    RunChangedError
        When manifest.json is there but is not a manifest (edited or damaged).
    """
    path = Path(folder) / MANIFEST
    if not os.path.lexists(path):
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        doc = None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("outputs"), list)
        or not all(isinstance(f, dict) and isinstance(f.get("file"), str) for f in doc["outputs"])
    ):
        raise RunChangedError(f"{path} is not a readable manifest: the folder cannot be trusted")
    return doc


def _check_outputs(folder: Path, doc: Mapping[str, Any], prefix: str) -> list[FileCheck]:
    checks: list[FileCheck] = []
    listed = {f["file"]: f for f in doc["outputs"]}
    for name, entry in sorted(listed.items()):
        path = folder / name
        shown = f"{prefix}{name}"
        if not path.is_file() or path.is_symlink():
            checks.append(FileCheck("output", shown, "missing"))
            continue
        try:
            same = sha256_file(path) == entry.get("sha256")
        except OSError:
            checks.append(FileCheck("output", shown, "unreadable"))
            continue
        checks.append(FileCheck("output", shown, "ok" if same else "changed"))
        if same and name.endswith("/" + MANIFEST):
            sub = path.parent
            inner = read_manifest(sub) or {"outputs": []}
            checks += _check_outputs(sub, inner, shown[: -len(MANIFEST)])
    exclude = set(doc.get("excluded") or ())
    for entry in _listing(folder, exclude=tuple(exclude)):
        if entry["file"] not in listed:
            checks.append(FileCheck("output", f"{prefix}{entry['file']}", "not in manifest"))
    return checks


def verify_folder(folder: str | Path, *, data_dir: str | Path | None = None) -> Verification:
    """Re-hash every output and input a folder's manifest lists.

    Parameters
    ----------
    folder
        A folder the engine wrote (with manifest.json).
    data_dir
        Where the data folder is now (default: where it was read from): its files are looked
        up there by name.

    Raises
    ------
    RunChangedError
        When the folder has no manifest.json, or an unreadable one.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RunChangedError(f"{folder} is not a folder")
    doc = read_manifest(folder)
    if doc is None:
        raise RunChangedError(
            f"{folder} has no {MANIFEST}: it was not written by sen-transport, or before "
            "manifests were written"
        )
    checks = _check_outputs(folder, doc, "")
    for entry in doc.get("inputs") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            checks.append(FileCheck("input", "?", "changed"))
            continue
        path = Path(entry["path"])
        if data_dir is not None and entry.get("role") == "data":
            path = Path(data_dir) / str(entry.get("name") or path.name)
        if not path.is_file():
            checks.append(FileCheck(str(entry.get("role")), str(path), "missing"))
            continue
        try:
            same = sha256_file(path) == entry.get("sha256")
        except OSError:
            checks.append(FileCheck(str(entry.get("role")), str(path), "unreadable"))
            continue
        checks.append(FileCheck(str(entry.get("role")), str(path), "ok" if same else "changed"))
    return Verification(folder, tuple(checks))


CHANGED_HINT = (
    "edited after the run was written, so the run cannot be trusted: solve again, or see "
    "'sen-transport verify'"
)


def changed_files(folder: str | Path) -> list[FileCheck]:
    """The written files of a folder that no longer match its manifest (none without one).

    Raises
    ------
    RunChangedError
        When manifest.json is there but unreadable.
    """
    folder = Path(folder)
    doc = read_manifest(folder)
    if doc is None:
        return []
    return [c for c in _check_outputs(folder, doc, "") if not c.ok]


def check_unchanged(folder: str | Path) -> None:
    """Refuse a folder whose written files no longer match its manifest (a folder without a
    manifest, written before manifests existed, is accepted as it is).

    Raises
    ------
    RunChangedError
        Naming every file that was changed, removed or added since the folder was written.
    """
    bad = changed_files(folder)
    if bad:
        listed = "; ".join(f"{c.shown()} ({c.status})" for c in bad)
        raise RunChangedError(
            f"{folder} no longer matches its manifest.json: {listed}; {CHANGED_HINT}"
        )
