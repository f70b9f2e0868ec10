"""Homes of the synthetic Kent pupils: households at real unit postcodes, spread like addresses.

A household (one pupil, or up to three siblings going to one school) is drawn in two steps:
its district in proportion to the district's weight, then a unit postcode of that district
uniformly and without replacement (at most one household per postcode). Its home is the
postcode's point moved within the postcode (a uniform draw in a disc whose radius is half the
distance to the nearest other postcode point, kept within 10-200 m), so that no two homes
coincide, as no two real addresses do. The ONS directory carries no population or household
counts; see ``_kent_facts.HOUSEHOLDS_PER_POSTCODE`` for why a uniform draw over postcodes is a
fair proxy for a draw over addresses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from transport.data.geocode import bng_to_wgs84
from transport.datagen import _kent_facts as facts


def household_sizes(
    rng: np.random.Generator, pupils: int, *, sibling_share: float, triple_share: float
) -> np.ndarray:
    """Sizes of households in file order (1 = a pupil alone, 2-3 = siblings) summing to ``pupils``.

    ``sibling_share`` of pupils (rounded) are in groups of two or three; ``triple_share`` of
    those are in groups of three. The order of households is a random permutation.
    """
    in_groups = int(round(min(max(sibling_share, 0.0), 1.0) * pupils))
    triples = int(round(triple_share * in_groups / 3))
    pairs = max(0, (in_groups - 3 * triples) // 2)
    singles = pupils - 2 * pairs - 3 * triples
    if singles < 0:
        raise ValueError("too many siblings for the number of pupils")
    sizes = np.array([1] * singles + [2] * pairs + [3] * triples, dtype=int)
    return sizes[rng.permutation(len(sizes))]


class HomePool:
    """The unit postcodes of each district, each usable by one household.

    Parameters
    ----------
    kent
        Postcode table of the Kent districts (``postcode``, ``district``, ``easting``,
        ``northing``), sorted by key.
    """

    def __init__(self, kent: pd.DataFrame) -> None:
        from scipy.spatial import cKDTree

        self._frame = kent.reset_index(drop=True)
        xy = self._frame[["easting", "northing"]].to_numpy(dtype=float)
        unique, inverse = np.unique(xy, axis=0, return_inverse=True)
        dist, _ = cKDTree(unique).query(unique, k=2)
        nearest = dist[:, 1][np.asarray(inverse).reshape(-1)]
        self.radius = np.clip(0.5 * nearest, facts.JITTER_MIN_M, facts.JITTER_MAX_M)
        self._used = np.zeros(len(self._frame), dtype=bool)
        district = self._frame["district"].to_numpy(dtype=object)
        self._rows = {str(d): np.flatnonzero(district == d) for d in sorted(set(district))}

    def draw(self, rng: np.random.Generator, districts: Sequence[str]) -> np.ndarray:
        """Row numbers of unused postcodes, one per household, each in its district.

        Once every postcode of a district has a household (only beyond about 45,000 pupils),
        the district's postcodes are used again, a second household each, and so on.
        """
        districts = np.asarray(districts, dtype=object)
        out = np.empty(len(districts), dtype=int)
        for name in sorted(set(districts.tolist())):
            at = np.flatnonzero(districts == name)
            rows = self._rows[name]
            taken: list[np.ndarray] = []
            need = len(at)
            while need > 0:
                free = rows[~self._used[rows]]
                if len(free) == 0:
                    self._used[rows] = False
                    continue
                pick = free[rng.choice(len(free), size=min(need, len(free)), replace=False)]
                self._used[pick] = True
                taken.append(pick)
                need -= len(pick)
            out[at] = np.concatenate(taken)
        return out

    def place(self, rng: np.random.Generator, rows: np.ndarray) -> pd.DataFrame:
        """Homes within the postcodes ``rows``: ``postcode``, ``lat``, ``lon`` (WGS84)."""
        sub = self._frame.iloc[rows]
        angle = rng.random(len(rows)) * 2.0 * np.pi
        dist = np.sqrt(rng.random(len(rows))) * self.radius[rows]
        east = sub["easting"].to_numpy(dtype=float) + dist * np.cos(angle)
        north = sub["northing"].to_numpy(dtype=float) + dist * np.sin(angle)
        lat, lon = bng_to_wgs84(east, north)
        return pd.DataFrame(
            {
                "postcode": sub["postcode"].to_numpy(dtype=object),
                "lat": np.round(lat, 6),
                "lon": np.round(lon, 6),
            }
        )
