"""Integer units at the solver boundary, converted in this one place.

Solvers take integers: seconds (routing: tenths of a second), hundredths of a mile and pence.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_MINUTE = 60
TICKS_PER_MINUTE = 600
"""Routing solvers count time in ticks of a tenth of a second (exact for dwells such as 2.6 s)."""
CENTIMILES_PER_MILE = 100
PENCE_PER_POUND = 100


def to_seconds(minutes: np.ndarray | float) -> np.ndarray:
    """Minutes → whole seconds (rounded to nearest)."""
    return np.rint(np.asarray(minutes, dtype=float) * SECONDS_PER_MINUTE).astype(np.int64)


def to_ticks(minutes: np.ndarray | float) -> np.ndarray:
    """Minutes → whole tenths of a second (rounded to nearest)."""
    return np.rint(np.asarray(minutes, dtype=float) * TICKS_PER_MINUTE).astype(np.int64)


def from_ticks(ticks: np.ndarray | int) -> np.ndarray:
    return np.asarray(ticks, dtype=float) / TICKS_PER_MINUTE


def to_centimiles(miles: np.ndarray | float) -> np.ndarray:
    """Miles → whole hundredths of a mile (rounded to nearest)."""
    return np.rint(np.asarray(miles, dtype=float) * CENTIMILES_PER_MILE).astype(np.int64)


def to_pence(pounds: np.ndarray | float) -> np.ndarray:
    """Pounds → whole pence (rounded to nearest)."""
    return np.rint(np.asarray(pounds, dtype=float) * PENCE_PER_POUND).astype(np.int64)


def from_seconds(seconds: np.ndarray | int) -> np.ndarray:
    return np.asarray(seconds, dtype=float) / SECONDS_PER_MINUTE


def from_pence(pence: np.ndarray | int) -> np.ndarray:
    return np.asarray(pence, dtype=float) / PENCE_PER_POUND
