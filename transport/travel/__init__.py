"""Travel: road miles and minutes between points, as matrices.

``crowfly`` is the contract's default model (great-circle miles × circuity); ``network`` is the
OpenStreetMap road-network backend. Placement and routing see only :class:`TravelModel`.
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
]
