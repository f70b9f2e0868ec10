"""A travel matrix given by the council: miles and minutes between named points, from a CSV file.

``travel.csv`` (in the data folder, or any file given with ``--matrix``) has one row per
ordered pair::

    from_id,to_id,miles,minutes
    S1,P0001,3.2,9.5
    P0001,S1,3.4,10.0

Ids are school ids, stop ids (pupils.csv ``stop_id``) and the pupil ids of pupils without a
stop; the matrix may be asymmetric. A point to itself is 0 whatever the file says. Every number
must be finite and not negative, and a pair may appear once; ids the data does not use are
ignored. Rows are checked all at once (:class:`~transport.errors.InputError`, exit 2).

A pair the file does not give is infinitely far: :meth:`MatrixModel.travel_matrix` returns
``inf`` for it, and each stage checks that every pair it needs is finite (placement: each pupil
to each school it may be placed at; routing: within each school's pupils and to the school), so
missing pairs are reported once, counted, with a few examples.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transport.errors import InputError, Problem, TravelModelError
from transport.travel.crowfly import TravelMatrix

COLUMNS = ("from_id", "to_id", "miles", "minutes")
EXAMPLES = 5


class MatrixModel:
    """Travel from a council's own matrix of miles and minutes between named points.

    Parameters
    ----------
    from_ids, to_ids
        The pairs, one entry per ordered pair.
    miles, minutes
        Their road miles and minutes (finite, not negative).
    dwell_min
        Minutes added per pickup visit (the contract's dwell).
    source
        The file the matrix came from (for summary.json).

    Examples
    --------
    >>> from transport.travel import Points
    >>> m = MatrixModel(["A", "B"], ["B", "A"], [1.0, 2.0], [3.0, 4.0])
    >>> pts = Points([[51.0, 1.0], [51.1, 1.0]], ["A", "B"])
    >>> m.travel_matrix(pts, pts).minutes.tolist()
    [[0.0, 3.0], [4.0, 0.0]]
    """

    name = "matrix"

    def __init__(
        self,
        from_ids: Any,
        to_ids: Any,
        miles: Any,
        minutes: Any,
        *,
        dwell_min: float = 2.0,
        source: str = "<matrix>",
        digest: str | None = None,
    ) -> None:
        if not 0.0 <= dwell_min <= 30.0:
            raise ValueError(f"dwell_min must be between 0 and 30, got {dwell_min}")
        self.dwell_min = float(dwell_min)
        self.source = source
        self.digest = digest
        f = np.asarray(from_ids, dtype=object).astype(str)
        t = np.asarray(to_ids, dtype=object).astype(str)
        names, codes = np.unique(np.concatenate([f, t]), return_inverse=True)
        self.index = {str(x): k for k, x in enumerate(names)}
        self.size = len(names)
        keys = codes[: len(f)].astype(np.int64) * self.size + codes[len(f) :].astype(np.int64)
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.miles = np.asarray(miles, dtype=float)[order]
        self.minutes = np.asarray(minutes, dtype=float)[order]
        self.pairs = int(len(self.keys))

    @classmethod
    def from_csv(cls, path: str | Path, *, dwell_min: float = 2.0) -> MatrixModel:
        """Read and check a travel matrix file; every problem is reported at once."""
        p = Path(path).expanduser()
        if not p.is_file():
            raise TravelModelError(
                f"travel matrix not found: {p} (--network matrix reads travel.csv in the data "
                "folder, or the file given with --matrix)"
            )
        name = p.name
        try:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError([Problem(name, None, None, f"cannot read the file: {exc}")]) from None
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        problems = [
            Problem(name, None, c, "required column is missing")
            for c in COLUMNS
            if c not in frame.columns
        ]
        if problems:
            raise InputError(problems)
        f = frame["from_id"].str.strip().to_numpy()
        t = frame["to_id"].str.strip().to_numpy()
        values = {}
        for col in ("miles", "minutes"):
            numbers = pd.to_numeric(frame[col].str.strip(), errors="coerce").to_numpy(float)
            bad = ~np.isfinite(numbers) | (numbers < 0)
            for i in np.flatnonzero(bad)[:50]:
                text = frame[col].iat[i]
                what = "is blank" if not text.strip() else f"{text!r} is not a number ≥ 0"
                problems.append(Problem(name, int(i) + 2, col, what))
            values[col] = numbers
        for col, ids in (("from_id", f), ("to_id", t)):
            for i in np.flatnonzero(ids == "")[:50]:
                problems.append(Problem(name, int(i) + 2, col, "is blank"))
        pair = pd.Series(f + "\x00" + t)
        dup = pair.duplicated(keep="first").to_numpy()
        first = pd.Series(np.arange(len(pair))).groupby(pair.to_numpy()).transform("min")
        for i in np.flatnonzero(dup)[:50]:
            problems.append(
                Problem(
                    name,
                    int(i) + 2,
                    None,
                    f"the pair {f[i]} → {t[i]} is also on row {int(first.iat[i]) + 2}",
                )
            )
        if problems:
            raise InputError(problems)
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        return cls(
            f,
            t,
            values["miles"],
            values["minutes"],
            dwell_min=dwell_min,
            source=str(p),
            digest=digest,
        )

    def _codes(self, points: np.ndarray, what: str) -> np.ndarray:
        ids = getattr(points, "ids", None)
        if ids is None:
            raise TravelModelError(
                f"the matrix travel model needs the ids of the {what} (school, stop or pupil "
                "ids); this caller passed bare coordinates"
            )
        return np.array([self.index.get(x, -1) for x in ids], dtype=np.int64)

    def travel_matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        """Miles and minutes for every origin × destination (``inf`` where the file has no
        pair; 0 from a point to itself)."""
        o = self._codes(origins, "origins")
        d = self._codes(destinations, "destinations")
        keys = o[:, None] * self.size + d[None, :]
        miles = np.full(keys.shape, np.inf)
        minutes = np.full(keys.shape, np.inf)
        known = (o[:, None] >= 0) & (d[None, :] >= 0)
        if self.pairs and known.any():
            pos = np.minimum(np.searchsorted(self.keys, keys[known]), self.pairs - 1)
            hit = self.keys[pos] == keys[known]
            m = np.full(hit.shape, np.inf)
            t = np.full(hit.shape, np.inf)
            m[hit] = self.miles[pos[hit]]
            t[hit] = self.minutes[pos[hit]]
            miles[known] = m
            minutes[known] = t
        o_ids = origins.ids  # type: ignore[attr-defined]
        d_ids = destinations.ids  # type: ignore[attr-defined]
        same = np.array(o_ids, dtype=object)[:, None] == np.array(d_ids, dtype=object)[None, :]
        miles[same] = 0.0
        minutes[same] = 0.0
        return TravelMatrix(miles=miles, minutes=minutes)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "file": self.source,
            "sha256": self.digest,
            "pairs": self.pairs,
            "dwell_min": self.dwell_min,
        }


def missing_pairs(
    minutes: np.ndarray,
    from_ids: list[str] | tuple[str, ...],
    to_ids: list[str] | tuple[str, ...],
    needed: np.ndarray | None = None,
) -> tuple[int, list[str]]:
    """How many needed pairs (of distinct ids) have no finite travel time, and a few of them
    as ``A → B``."""
    bad = ~np.isfinite(minutes)
    if needed is not None:
        bad &= needed
    rows, cols = np.nonzero(bad)
    pairs = sorted({(from_ids[i], to_ids[j]) for i, j in zip(rows, cols, strict=True)})
    return len(pairs), [f"{a} → {b}" for a, b in pairs[:EXAMPLES]]


def missing_problem(
    count: int, examples: list[str], what: str, file: str = "travel matrix"
) -> Problem:
    """One problem naming how many pairs ``what`` needs are missing, with examples."""
    more = f" (first {len(examples)}: {', '.join(examples)})" if examples else ""
    return Problem(
        file,
        None,
        None,
        f"{count:,} pair{'s' if count != 1 else ''} {what} "
        f"{'have' if count != 1 else 'has'} no travel time{more}",
    )
