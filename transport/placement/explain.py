"""Why each pupil is placed where they are: the reasons placements.csv writes.

A post-pass over a finished placement (it changes no placement). Each placed pupil gets one
reason code and a sentence a complaints officer can quote:

``current``
    The pupil keeps the school the data names (policy ``keep``, or scope ``new-entrants``).
``nearest-suitable``
    The school is the nearest suitable one (fewest road miles; ties to the lower school_id).
``nearer-full``
    Nearer suitable schools exist but every one of them is full; they are listed in
    ``nearer_full``, nearest first.
``optimal``
    The optimal policy chose a farther school although a nearer suitable one has a free place:
    the reason states the estimated annual saving (place cost + estimated transport, the
    objective the policy minimises) against the nearest suitable school with a free place.

*Full* is judged on the finished placement: a school is full when the pupils placed there
reach its capacity. Under ``nearest-with-capacity`` a school full when a pupil was placed stays
full (places only fill up), so every listed school is full and no nearer suitable school has a
free place.

The reasons hold no need, age or home location: placements.csv carries only what a placement
needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from transport.geo import BLOCK_ELEMENTS
from transport.model import Dataset, Parameters, Placement, Pupil

PLACEMENT_REASONS = ("current", "nearest-suitable", "nearer-full", "optimal")
"""The reason codes of placements.csv, in the order they are decided."""


@dataclass(frozen=True)
class PlacementGrid:
    """What the reasons are computed from: schools in id order and pupil × school arrays.

    ``miles`` are road miles (``inf`` where a travel matrix lacks a pair), ``suitable`` whether
    the school serves the pupil's need and age, ``capacity`` each school's places.
    """

    school_ids: tuple[str, ...]
    capacity: np.ndarray
    suitable: np.ndarray
    miles: np.ndarray


def _miles(value: float) -> str:
    return f"{value:.1f} road mile{'' if round(value, 1) == 1.0 else 's'}"


def _money(value: float) -> str:
    return f"£{value:,.2f}"


def explain_placements(
    data: Dataset,
    placements: Sequence[Placement],
    grid: PlacementGrid,
    *,
    policy: str,
    kept: frozenset[str] = frozenset(),
    params: Parameters | None = None,
) -> tuple[Placement, ...]:
    """The placements with ``reason_code``, ``reason`` and ``nearer_full`` filled in.

    Parameters
    ----------
    data
        The data set placed (capacity changes applied).
    placements
        The finished placement, in any order.
    grid
        Schools, suitability and road miles of the placement (see :class:`PlacementGrid`).
    policy
        The placement policy (``optimal`` explains a farther choice by its saving).
    kept
        Pupils who kept the school the data names (policy ``keep`` or scope ``new-entrants``).
    params
        Costs of the optimal policy's estimate (school days, £ per pupil-mile).

    Returns
    -------
    tuple[Placement, ...]
        The same placements, in the same order, each with its reason.
    """
    params = params or Parameters()
    if not placements:
        return ()
    column = {s: j for j, s in enumerate(grid.school_ids)}
    row = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    all_rows = np.array([row[p.pupil_id] for p in placements], dtype=np.int64)
    all_chosen = np.array([column[p.school_id] for p in placements], dtype=np.int64)
    placed = np.bincount(all_chosen, minlength=len(grid.school_ids))
    full = placed >= grid.capacity
    index = np.arange(len(grid.school_ids))[None, :]
    place_cost = np.array([data.school_by_id[s].place_cost for s in grid.school_ids])
    per_mile = params.cost.school_days * 2.0 * params.cost.est_cost_per_pupil_mile
    out: list[Placement] = []
    block = max(1, BLOCK_ELEMENTS // max(1, len(grid.school_ids)))
    for start in range(0, len(placements), block):
        # pupil × school arrays a block of placements at a time (they stay in cache)
        rows = all_rows[start : start + block]
        chosen = all_chosen[start : start + block]
        miles = np.where(np.isfinite(grid.miles[rows]), grid.miles[rows], np.inf)
        suitable = grid.suitable[rows] & np.isfinite(miles)
        own = miles[np.arange(len(rows)), chosen][:, None]
        # nearer = fewer road miles, or as many and a lower school_id (schools in id order)
        nearer = suitable & ((miles < own) | ((miles == own) & (index < chosen[:, None])))
        nearer_free = nearer & ~full[None, :]
        ctx = _Block(policy, kept, grid, full, placed, place_cost, per_mile)
        arrays = (chosen, miles, nearer, nearer_free)
        for k, pl in enumerate(placements[start : start + block]):
            out.append(_explain_one(pl, k, ctx, *arrays))
    return tuple(out)


@dataclass(frozen=True)
class _Block:
    """What every placement's reason reads beside its own row."""

    policy: str
    kept: frozenset[str]
    grid: PlacementGrid
    full: np.ndarray
    placed: np.ndarray
    place_cost: np.ndarray
    per_mile: float


def _explain_one(
    pl: Placement,
    k: int,
    ctx: _Block,
    chosen: np.ndarray,
    miles: np.ndarray,
    nearer: np.ndarray,
    nearer_free: np.ndarray,
) -> Placement:
    """Placement ``pl`` with its reason; ``k`` is its row of a block's arrays."""
    policy, kept, grid, full, placed = ctx.policy, ctx.kept, ctx.grid, ctx.full, ctx.placed
    place_cost, per_mile = ctx.place_cost, ctx.per_mile
    here = _miles(pl.road_miles)
    if pl.pupil_id in kept:
        code = "current"
        text = f"Keeps the school named in the data (the current school), {here} from home."
        return replace(pl, reason_code=code, reason=text, nearer_full=())
    if not nearer[k].any():
        code = "nearest-suitable"
        text = f"The nearest suitable school, {here} from home."
        if policy == "nearest-suitable" and full[chosen[k]]:
            over = int(placed[chosen[k]] - grid.capacity[chosen[k]])
            if over > 0:
                text += (
                    f" The policy ignores capacity: the school has {over} pupil"
                    f"{'' if over == 1 else 's'} more than places."
                )
        return replace(pl, reason_code=code, reason=text, nearer_full=())
    if policy == "optimal" and nearer_free[k].any():
        free = np.nonzero(nearer_free[k])[0]
        j = int(free[np.lexsort((free, miles[k, free]))[0]])
        c = int(chosen[k])
        saving = (place_cost[j] + per_mile * miles[k, j]) - (place_cost[c] + per_mile * miles[k, c])
        text = (
            f"Chosen by the optimal placement, {here} from home: it costs "
            f"{_money(saving)} a year less (place cost and estimated transport) than the "
            f"nearest suitable school with a free place, {grid.school_ids[j]}, "
            f"{_miles(float(miles[k, j]))} from home."
        )
        return replace(pl, reason_code="optimal", reason=text, nearer_full=())
    listed = np.nonzero(nearer[k])[0]
    listed = listed[np.lexsort((listed, miles[k, listed]))]
    names = tuple(grid.school_ids[j] for j in listed)
    shown = ", ".join(f"{grid.school_ids[j]} ({miles[k, j]:.1f} mi)" for j in listed[:5])
    if len(listed) > 5:
        shown += f" and {len(listed) - 5} more"
    if len(listed) == 1:
        first = f"The nearer suitable school, {shown}, was full"
    else:
        first = f"The {len(listed)} nearer suitable schools were full: {shown}"
    text = f"{first}. This is the nearest suitable school with a place, {here} from home."
    return replace(pl, reason_code="nearer-full", reason=text, nearer_full=names)


def kept_pupils(pupils: Sequence[Pupil], *, policy: str, scope: str) -> frozenset[str]:
    """Pupils who keep the school the data names under this policy and scope."""
    if policy != "keep" and scope != "new-entrants":
        return frozenset()
    return frozenset(p.pupil_id for p in pupils if p.school_id is not None)
