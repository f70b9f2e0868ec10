"""Output destinations: where a command may create or replace a folder or a file.

The one place that decides it (docs/formats.md, "Output folders and safety rules"). A command
creates or replaces a folder only when it is

* absent (its missing parents are created readable by their owner only, 0700), or
* empty, or
* a folder this engine wrote, of the same kind: it holds the marker file ``.sen-transport``
  naming the kind (``run``, ``sheets``, ``budgets``, ``compare``, ``data``, ``tender``,
  ``award``, ``impact``, ``site``), or — for folders written before the marker existed — its
  summary.json ``stage`` or comparison.json says so and it holds nothing but the files the
  engine writes there.

Anything else is refused with :class:`~transport.errors.OutputError` naming it: the root
folder, a home folder, the working folder, a folder holding any of those, an input of the
command (the data folder, a run folder read, a scenario file), a folder holding an input or
inside one, a file, a symbolic link (broken or not: the engine would replace the link, not the
folder it points to), a folder with files the engine did not write, or a folder of another kind.

A file output (``diff --out``, ``graph build --out``) never lands on or inside an input, is
never a folder or a link, and replaces an existing file only when it is one the command itself
writes (recognised by its content).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from transport.errors import OutputError

MARKER = ".sen-transport"
"""The marker file of every folder the engine writes: JSON ``{"kind": …, "files": […]}``."""

DIR_MODE = 0o700
KINDS = ("run", "sheets", "budgets", "compare", "data", "tender", "award", "impact", "site")
KINDS += ("letters",)  # letters to families (transport.letters)

# Every name the engine writes at the top of a folder of each kind (what a folder written
# before the marker existed may hold; a marked folder may also hold the files its marker lists).
KNOWN_FILES: dict[str, frozenset[str]] = {
    "run": frozenset(
        {
            "placements.csv",
            "shortfall.csv",
            "routes.csv",
            "stops.csv",
            "summary.json",
            "capacity.csv",
            "scenario.toml",
            "routes.geojson",
            "routes.gpkg",
            "budgets",
            "pupil-digests.csv",
        }
    ),
    "sheets": frozenset({"route-sheets.csv", "route-sheets.html", "summary.json", "packs"}),
    "budgets": frozenset(
        {"budgets.csv", "budget-summary.md", "budget-summary.html", "summary.json"}
    ),
    "compare": frozenset(
        {"comparison.csv", "comparison.json", "scenarios", "cache", "report.html"}
    ),
    "data": frozenset({"schools.csv", "pupils.csv", "vehicles.csv", "incompatible.csv"}),
    "tender": frozenset({"lots.csv", "specification.html", "specification.pdf", "summary.json"}),
    "award": frozenset(
        {
            "award.csv",
            "unawarded.csv",
            "bids-review.csv",
            "route-operators.csv",
            "award-summary.json",
            "summary.json",
        }
    ),
    "impact": frozenset({"impact.csv", "impact-by-school.csv", "impact.html", "summary.json"}),
    "site": frozenset(
        {"placements.csv", "sites.csv", "sites.geojson", "report.html", "summary.json"}
    ),
    "letters": frozenset({"letters", "letters.pdf", "letters.csv", "not-sent.csv", "summary.json"}),
}
KNOWN_FILES = {kind: names | {"manifest.json"} for kind, names in KNOWN_FILES.items()}
_LEGACY_STAGES = {
    "run": ("place", "solve"),
    "sheets": ("sheets",),
    "budgets": ("budgets",),
    "tender": ("tender",),
    "award": ("award",),
    "impact": ("impact",),
    "site": ("site",),
    "letters": ("letters",),
}
_KIND_NAMES = {
    "run": "a run folder",
    "sheets": "a route-sheets folder",
    "budgets": "a budgets folder",
    "compare": "a comparison folder",
    "data": "a data folder",
    "tender": "a tender folder",
    "award": "an award folder",
    "impact": "an impact folder",
    "site": "a siting folder",
    "letters": "a letters folder",
}

Inputs = Iterable[tuple[str, "str | Path | None"]]
"""What a command reads: ``(description, path)`` pairs, e.g. ``("the data folder", d)``."""


# --------------------------------------------------------------------------------------------
# The marker


def write_marker(folder: str | Path, kind: str) -> Path:
    """Write ``folder/.sen-transport`` naming the folder's kind and the files in it now."""
    if kind not in KINDS:
        raise ValueError(f"unknown folder kind {kind!r}")
    folder = Path(folder)
    files = sorted(p.name for p in folder.iterdir() if p.name != MARKER)
    doc = {"written_by": "sen-transport", "kind": kind, "files": files}
    path = folder / MARKER
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:  # in a folder not yet in place: no rename needed
        fh.write(json.dumps(doc, indent=1) + "\n")
    return path


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a folder the engine wrote (``None``: no marker, or not a valid one)."""
    path = Path(folder) / MARKER
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 1_000_000:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
        return None
    files = doc.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return doc


def folder_kind(folder: str | Path, entries: Iterable[str] | None = None) -> str | None:
    """The kind of a folder the engine wrote, from its marker or (older folders) its summary."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is not None:
        return str(marker["kind"])
    names = set(entries) if entries is not None else {p.name for p in folder.iterdir()}
    if "comparison.json" in names and names <= KNOWN_FILES["compare"]:
        return "compare"
    if "summary.json" not in names:
        return None
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    stage = summary.get("stage") if isinstance(summary, dict) else None
    for kind, stages in _LEGACY_STAGES.items():
        if stage in stages and names <= KNOWN_FILES[kind]:
            return kind
    return None


def foreign_entries(folder: str | Path, kind: str) -> list[str]:
    """Names in a folder of ``kind`` that the engine did not write there (sorted)."""
    folder = Path(folder)
    marker = read_marker(folder) or {}
    ours = KNOWN_FILES[kind] | set(marker.get("files", [])) | {MARKER}
    return sorted(p.name for p in folder.iterdir() if p.name not in ours)


# --------------------------------------------------------------------------------------------
# Paths


def absolute(path: str | Path) -> Path:
    """``path`` made absolute with its parent's links resolved; the last name is kept as is
    (so that a link given as the destination is seen as a link)."""
    text = os.path.abspath(os.fspath(path))
    head, name = os.path.split(text)
    if not name:
        return Path(text)
    return Path(os.path.realpath(head)) / name


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


def _within(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` is ``outer`` or lies inside it (paths already real)."""
    return inner == outer or outer in inner.parents


def _protected() -> list[tuple[Path, str]]:
    out = [(Path("/"), "the root folder")]
    with contextlib.suppress(OSError, RuntimeError, KeyError):
        out.append((_real(Path.home()), "your home folder"))
    with contextlib.suppress(OSError):
        out.append((_real(Path.cwd()), "the working folder"))
    return out


def _check_protected(target: Path, inputs: Inputs, *, what: str, protected: bool = True) -> None:
    """Refuse a destination that is, holds or lies inside an input, or (``protected``) is or
    holds the root, a home or the working folder. ``target`` is real (links resolved)."""
    for folder, name in _protected() if protected else ():
        if target == folder:
            raise OutputError(f"{what} {target} is {name}: choose a new or empty folder for it")
        if _within(folder, target):
            raise OutputError(
                f"{what} {target} holds {name} ({folder}): choose a new or empty folder for it"
            )
    for description, given in inputs:
        if given is None:
            continue
        real = _real(given)
        if target == real:
            raise OutputError(f"{what} {target} is {description}, an input of this command")
        if _within(real, target):
            raise OutputError(
                f"{what} {target} holds {description} ({given}), an input of this command"
            )
        if _within(target, real) and real.is_dir():
            raise OutputError(
                f"{what} {target} is inside {description} ({given}), an input of this command: "
                "outputs never go inside an input"
            )


def _check_link(path: Path, *, what: str) -> None:
    if path.is_symlink():
        if not path.exists():
            raise OutputError(
                f"{what} {path} is a broken symbolic link: remove it or choose another"
            )
        raise OutputError(
            f"{what} {path} is a symbolic link: give the folder or file itself, not a link to it"
        )


def _check_parent(target: Path, *, what: str) -> None:
    """The nearest existing ancestor must be a folder the user may write in."""
    parent = target.parent
    while not os.path.lexists(parent):
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{what} {target} cannot be created: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {target} cannot be created: no permission to write in {parent}")


def _entries(folder: Path, *, what: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError as exc:
        raise OutputError(f"{what} {folder} cannot be read: {exc.strerror}") from None


# --------------------------------------------------------------------------------------------
# Checks


def check_output_dir(path: str | Path, *, kind: str, inputs: Inputs = (), what: str = "") -> Path:
    """Check that a command may create or replace the folder ``path``; return it, absolute.

    Parameters
    ----------
    path
        The destination folder.
    kind
        What the command writes there: ``run``, ``sheets``, ``budgets``, ``compare``, ``data``.
    inputs
        ``(description, path)`` of everything the command reads (folders and files).
    what
        How the destination is named in messages (default: "output folder").

    Raises
    ------
    OutputError
        When the folder may not be written, saying why.
    """
    what = what or "output folder"
    target = absolute(path)
    if target == Path("/"):
        raise OutputError(f"{what} / is the root folder: choose a new or empty folder for it")
    _check_link(target, what=what)
    _check_protected(target, inputs, what=what)
    if not os.path.lexists(target):
        _check_parent(target, what=what)
        return target
    if not target.is_dir():
        raise OutputError(f"{what} {target} is a file, not a folder: choose a folder")
    if not os.access(target, os.R_OK | os.W_OK | os.X_OK) or not os.access(
        target.parent, os.W_OK | os.X_OK
    ):
        raise OutputError(f"{what} {target} cannot be replaced: no permission to write there")
    names = _entries(target, what=what)
    if not names:
        return target
    found = folder_kind(target, names)
    if found is None:
        example = ", ".join(repr(n) for n in names[:3])
        raise OutputError(
            f"{what} {target} holds files sen-transport did not write ({example}"
            f"{', …' if len(names) > 3 else ''}): it replaces only a new or empty folder or "
            f"{_KIND_NAMES[kind]} it wrote; choose another folder"
        )
    if found != kind:
        raise OutputError(
            f"{what} {target} is {_KIND_NAMES[found]} written by sen-transport, not "
            f"{_KIND_NAMES[kind]}: choose another folder"
        )
    if kind != "data":  # a data folder keeps the files it also holds (its README, …)
        foreign = foreign_entries(target, kind)
        if foreign:
            example = ", ".join(repr(n) for n in foreign[:3])
            raise OutputError(
                f"{what} {target} also holds files sen-transport did not write ({example}): "
                "move them away or choose another folder"
            )
    return target


def check_output_file(
    path: str | Path,
    *,
    inputs: Inputs = (),
    recognise: Callable[[Path], bool] | None = None,
    what: str = "output file",
) -> Path:
    """Check that a command may write the file ``path``; return it, absolute.

    An existing file is replaced only when ``recognise(path)`` says the command wrote it.

    Raises
    ------
    OutputError
        When the file may not be written, saying why.
    """
    target = absolute(path)
    if target == Path("/"):
        raise OutputError(f"{what} / is the root folder, not a file")
    _check_link(target, what=what)
    _check_protected(target, inputs, what=what)
    if not os.path.lexists(target):
        _check_parent(target, what=what)
        return target
    if target.is_dir():
        raise OutputError(f"{what} {target} is a folder, not a file")
    if not target.is_file():
        raise OutputError(f"{what} {target} is not a regular file")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {target} cannot be replaced: no permission to write there")
    if recognise is not None and not _safely(recognise, target):
        raise OutputError(
            f"{what} {target} exists and is not a file this command wrote: it is never "
            "overwritten; choose another name"
        )
    return target


def _safely(recognise: Callable[[Path], bool], path: Path) -> bool:
    try:
        return bool(recognise(path))
    except (OSError, ValueError):
        return False


def check_not_input(path: str | Path, *, inputs: Inputs, what: str) -> Path:
    """A folder the engine only adds files to (a cache) must not be an input, hold one or lie
    inside one, and must be a folder. Returns it, absolute."""
    target = absolute(path)
    if os.path.lexists(target) and not target.is_dir():
        raise OutputError(f"{what} {target} is not a folder")
    _check_protected(Path(os.path.realpath(target)), inputs, what=what, protected=False)
    return target


def check_runs_dir(path: str | Path, *, inputs: Inputs = ()) -> Path:
    """Check a folder of dated runs (``solve --runs-dir``); return it, absolute.

    It is created when missing; it must not be a file, a link, an input or inside one, or a
    protected folder (root, home, working folder). Its ``latest`` must be a symbolic link when
    present (see :func:`transport.runs.history.update_latest`).
    """
    from transport.runs.history import LATEST

    what = "runs folder"
    target = absolute(path)
    if target == Path("/"):
        raise OutputError("runs folder / is the root folder: choose a folder for the runs")
    _check_link(target, what=what)
    _check_protected(target, inputs, what=what)
    if not os.path.lexists(target):
        _check_parent(target, what=what)
        return target
    if not target.is_dir():
        raise OutputError(f"{what} {target} is a file, not a folder")
    if not os.access(target, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {target} cannot be written: no permission to write there")
    latest = target / LATEST
    if os.path.lexists(latest) and not latest.is_symlink():
        kind = "a folder" if latest.is_dir() else "a file"
        raise OutputError(
            f"{latest} is {kind}, not a link: sen-transport moves only a 'latest' link it made "
            "and never replaces anything else; move it away"
        )
    return target


# --------------------------------------------------------------------------------------------
# Folders


def make_private_dirs(folder: str | Path) -> list[Path]:
    """Create ``folder`` and any missing parents, readable by the owner only (0700).

    Returns the folders created (outermost first), so that a command that fails can remove
    them again.
    """
    folder = Path(folder)
    missing = []
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
        created.append(path)
    return created


def remove_created(created: list[Path]) -> None:
    """Remove folders :func:`make_private_dirs` created, innermost first, if still empty."""
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()


def private_tree(folder: str | Path) -> None:
    """Make every file under ``folder`` 0600 and every folder 0700 (links left alone)."""
    root = Path(folder)
    os.chmod(root, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, DIR_MODE)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
