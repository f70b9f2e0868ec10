"""Coordinates of the road-network backend: British National Grid metres and a Z-order."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

GRID_CRS = "EPSG:27700"


@functools.lru_cache(maxsize=1)
def _grid_transformer() -> Any:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", GRID_CRS, always_xy=True)


def to_grid(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """British National Grid metres ``(x, y)`` of WGS84 points."""
    x, y = _grid_transformer().transform(lon, lat)
    return np.column_stack([x, y])


def spatial_order(xy: np.ndarray) -> np.ndarray:
    """Indices of points along a Z-order (Morton) curve over their bounding box."""
    span = max(float(np.ptp(xy, axis=0).max()), 1.0)
    q = ((xy - xy.min(axis=0)) / span * 65535).astype(np.uint64)
    code = np.zeros(len(xy), dtype=np.uint64)
    for bit in range(16):
        one = np.uint64(1)
        code |= ((q[:, 0] >> np.uint64(bit)) & one) << np.uint64(2 * bit)
        code |= ((q[:, 1] >> np.uint64(bit)) & one) << np.uint64(2 * bit + 1)
    return np.argsort(code, kind="stable")
