"""File names of the letters stage.

Where letters and packs may be written, and how (all or nothing, owner-only, never over an
input or a folder the engine did not write), is decided once for every command by
:mod:`transport.runs.destination` and :func:`transport.runs.write.write_folder`: a letters
folder is of kind ``letters``, crew packs go into the ``sheets`` folder they belong to.
"""

from __future__ import annotations


def safe_file_name(name: str) -> bool:
    """Whether ``name`` (a pupil or route id) can name a file: no path, no hidden file."""
    return bool(name) and not name.startswith(".") and all(c.isalnum() or c in "-_." for c in name)
