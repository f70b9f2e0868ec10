"""Travel: road miles and minutes between points, as matrices.

``crowfly`` is the contract's default model (great-circle miles × circuity); ``network`` is the
OpenStreetMap road-network backend. Placement and routing see only :class:`TravelModel`;
:func:`travel_model` builds one from a scenario's ``[travel]`` settings.
"""

from transport.travel.crowfly import (
    EARTH_RADIUS_MILES,
    CrowFlyModel,
    Points,
    TravelMatrix,
    TravelModel,
    as_points,
    great_circle_miles,
    stack_points,
    straight_line_miles,
)
from transport.travel.factory import travel_model

__all__ = [
    "EARTH_RADIUS_MILES",
    "CrowFlyModel",
    "Points",
    "TravelMatrix",
    "TravelModel",
    "as_points",
    "great_circle_miles",
    "stack_points",
    "straight_line_miles",
    "travel_model",
]
