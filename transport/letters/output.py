"""All-or-nothing output folders for letters and crew packs, with a guard on the destination.

Everything is written into a hidden staging folder beside the destination and swapped into
place in one step once complete, with the run writer's helpers
(:mod:`transport.runs.write`: the same temporary names, stale-folder clean-up and atomic
exchange), so a failed or killed command leaves the previous folder as it was.

The destination is checked first. Letters carry names and addresses, which must never enter a
run folder, and an output replaces its destination whole, so the destination may not be (or
hold, or lie inside) the run, the previous run, the data folder or any other input; and an
existing destination must be empty or a folder this same command wrote (its summary.json says
so) — never a folder of the user's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from transport.errors import InputError, Problem
from transport.runs.write import (
    DIR_MODE,
    TMP_TAG,
    _replace_dir,
    clean_stale,
    make_private_dirs,
)


def check_destination(target: str | Path, *, stage: str, inputs: Sequence[str | Path]) -> Path:
    """Refuse a destination that is, holds or lies inside an input, or is not ours to replace.

    Parameters
    ----------
    target
        The output folder (``--out``).
    stage
        The command writing it (summary.json ``stage``): an existing folder is replaced only
        when it was written by the same command.
    inputs
        Every file and folder the command reads. The destination may not hold any of them,
        nor lie inside an input folder (a run folder must never receive names and addresses).

    Raises
    ------
    InputError
        Naming the destination and why.
    """
    out = Path(target).resolve()
    for path in inputs:
        given = Path(path).resolve()
        holds = out == given or out in given.parents  # replacing out would remove the input
        inside = given.is_dir() and given in out.parents  # a run or data folder holding out
        if holds or inside:
            raise InputError(
                [
                    Problem(
                        str(target),
                        None,
                        None,
                        f"the output folder must lie outside its inputs ({path}): "
                        "choose a folder of its own",
                    )
                ]
            )
    if out.exists():
        if not out.is_dir():
            raise InputError([Problem(str(target), None, None, "exists and is not a folder")])
        if any(out.iterdir()) and _stage_of(out) != stage:
            raise InputError(
                [
                    Problem(
                        str(target),
                        None,
                        None,
                        f"exists and was not written by '{stage}': it would be replaced whole; "
                        "choose a new folder",
                    )
                ]
            )
    return out


def safe_file_name(name: str) -> bool:
    """Whether ``name`` (a pupil or route id) can name a file: no path, no hidden file."""
    return bool(name) and not name.startswith(".") and all(c.isalnum() or c in "-_." for c in name)


def _stage_of(folder: Path) -> str | None:
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("stage")
    except (OSError, ValueError, AttributeError):
        return None


@contextlib.contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """A private staging folder that takes the place of ``target`` when the block succeeds.

    The previous ``target`` is untouched until then; on any error (or a signal that unwinds)
    the staging folder is removed.
    """
    out = Path(target).resolve()
    make_private_dirs(out.parent)
    clean_stale(out.parent, name=out.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_TAG}{os.getpid()}-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, DIR_MODE)
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
