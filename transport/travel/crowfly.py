"""Travel models: road miles and minutes between points, as matrices.

Placement and routing ask a :class:`TravelModel` for :class:`TravelMatrix` objects and never
look behind it, so the default crow-fly model of the contract and a road-network backend are
interchangeable.

Points are given as an ``(n, 2)`` array of ``(lat, lon)`` in WGS84 decimal degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from transport import geo
from transport.model import Pupil, School, TravelParams

EARTH_RADIUS_MILES = geo.EARTH_RADIUS_MILES


@dataclass(frozen=True)
class TravelMatrix:
    """Road miles and minutes from each origin (rows) to each destination (columns)."""

    miles: np.ndarray
    minutes: np.ndarray

    def __post_init__(self) -> None:
        if self.miles.shape != self.minutes.shape:
            raise ValueError("miles and minutes must have the same shape")


@runtime_checkable
class TravelModel(Protocol):
    """What placement and routing need from a travel backend."""

    name: str
    dwell_min: float

    def travel_matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        """Road miles and minutes from every origin to every destination."""
        ...

    def describe(self) -> dict[str, Any]:
        """Every parameter of the model, for summary.json."""
        ...


class Points(np.ndarray):
    """An ``(n, 2)`` array of ``(lat, lon)`` that also names each point's travel id.

    ``ids`` are what a travel matrix is keyed by (:mod:`transport.travel.matrix`): a school's
    ``school_id``, a pupil's ``stop_id`` or else their ``pupil_id``. Any array derived from a
    ``Points`` (a slice, a sum, :func:`numpy.vstack`) has no ids: use :func:`stack_points`.
    """

    ids: tuple[str, ...] | None

    def __new__(cls, array: Any, ids: Sequence[str] | None = None) -> Points:
        obj = np.asarray(array, dtype=float).reshape(-1, 2).view(cls)
        if ids is not None and len(ids) != obj.shape[0]:
            raise ValueError(f"{len(ids)} ids for {obj.shape[0]} points")
        obj.ids = tuple(ids) if ids is not None else None
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.ids = None  # a derived array's rows need not be the same points

    def __reduce__(self) -> Any:  # keep the ids through pickling (worker processes)
        return (Points, (np.asarray(self), self.ids))


def as_points(items: Sequence[Pupil | School] | np.ndarray) -> np.ndarray:
    """An ``(n, 2)`` float array of ``(lat, lon)`` for pupils, schools or an array.

    For pupils and schools the result is a :class:`Points` carrying their travel ids.
    """
    if isinstance(items, Points) and items.ids is not None:
        return items
    if isinstance(items, np.ndarray):
        return np.asarray(items).reshape(-1, 2).astype(float)
    ids = [x.school_id if isinstance(x, School) else x.travel_id for x in items]
    return Points([(x.lat, x.lon) for x in items], ids)


def stack_points(*parts: np.ndarray) -> np.ndarray:
    """Points one after another, keeping their travel ids when every part has them."""
    arrays = [as_points(p) for p in parts]
    stacked = np.vstack([np.asarray(a) for a in arrays]) if arrays else np.zeros((0, 2))
    ids = [getattr(a, "ids", None) for a in arrays]
    if all(i is not None for i in ids):
        return Points(stacked, [x for i in ids for x in i])  # type: ignore[union-attr]
    return stacked


def great_circle_miles(origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
    """Great-circle (haversine) miles between every origin and every destination."""
    return geo.great_circle_miles(as_points(origins), as_points(destinations))


class CrowFlyModel:
    """The contract's default model: great-circle miles × circuity at an average speed.

    Examples
    --------
    >>> import numpy as np
    >>> model = CrowFlyModel(TravelParams(circuity=1.3, speed_mph=25))
    >>> m = model.travel_matrix(np.array([[51.28, 1.08]]), np.array([[51.28, 1.08]]))
    >>> float(m.miles[0, 0]), float(m.minutes[0, 0])
    (0.0, 0.0)
    """

    name = "crow-fly"

    def __init__(self, params: TravelParams | None = None) -> None:
        self.params = params or TravelParams()
        self.dwell_min = self.params.dwell_min

    def travel_matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        miles = great_circle_miles(origins, destinations) * self.params.circuity
        minutes = miles / self.params.speed_mph * 60.0
        return TravelMatrix(miles=miles, minutes=minutes)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "circuity": self.params.circuity,
            "speed_mph": self.params.speed_mph,
            "dwell_min": self.params.dwell_min,
        }


def straight_line_miles(pupil: Pupil, school: School) -> float:
    """Straight-line (great-circle) miles from a pupil's home to a school."""
    return float(great_circle_miles(as_points([pupil]), as_points([school]))[0, 0])
