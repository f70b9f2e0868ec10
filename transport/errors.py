"""Domain errors of the engine.

Every error a user can cause with their input is a :class:`TransportError`. The command-line
interface turns these into one clear message and exit status 2; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


class TransportError(Exception):
    """Base class of every error the engine raises for bad input or an impossible request."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input: where it is and what is wrong.

    ``row`` is the 1-based line number in the file as a spreadsheet shows it (the header is
    line 1, so the first data row is line 2); ``None`` when the problem concerns the whole file
    or a column.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class InputError(TransportError):
    """An input folder or file has one or more problems; all of them are listed at once."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, limit: int = 50) -> None:
        self.problems = tuple(problems)
        shown = [f"  - {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"  ... and {len(self.problems) - limit} more problems")
        n = len(self.problems)
        header = f"{n} problem{'s' if n != 1 else ''} in the input:"
        super().__init__("\n".join([header, *shown]))


class ParameterError(TransportError, ValueError):
    """A parameter (an option, a scenario key, a settings field) holds an impossible value.

    Also a :class:`ValueError`, so code that validates settings dataclasses in
    ``__post_init__`` can raise it where a ``ValueError`` is expected.
    """


class OutputError(TransportError):
    """An output cannot be written where asked: the destination is not one the engine may
    create or replace (an input, a folder it did not write, a broken link), another run is
    writing it, or the disk refused the write (full, read-only, permission denied). The
    previous output is left as it was."""


class ScenarioError(TransportError):
    """A scenario file or option names an unknown key or holds an impossible value."""


class PlacementError(TransportError):
    """A placement request cannot be carried out (for example an unknown policy)."""


class RoutingError(TransportError):
    """A routing request cannot be carried out (for example no vehicle types at all)."""


class TravelModelError(TransportError):
    """A travel backend cannot be built or queried (for example an unreadable map file)."""


class FarFromRoadWarning(UserWarning):
    """A point snapped to a road node far away (by default more than 1 km): check its location."""
