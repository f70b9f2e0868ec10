"""Place: assign pupils to schools under the contract's placement policies.

Policies
--------
``nearest-with-capacity``
    Current practice. Every pupil is re-placed in file order at the nearest suitable school
    that still has a free place (ties to the lower ``school_id``).
``nearest-suitable``
    Every pupil at the nearest suitable school, ignoring capacity; the shortfall report says
    how many places each school would be missing, by need.
``optimal``
    As many pupils as capacity allows and, among such assignments, the least annual place cost
    plus estimated transport cost, solved exactly as a min-cost flow (OR-Tools).
``keep``
    Pupils keep their current school; new entrants are placed nearest-with-capacity into the
    places left, in file order.

A school is *suitable* when it serves the pupil's need (or ``*``) and age. *Nearest* is fewest
road miles under the travel model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from transport.errors import PlacementError
from transport.model import (
    ANY_NEED,
    Dataset,
    Parameters,
    Placement,
    PlacementResult,
    Pupil,
    School,
    Shortfall,
    Unplaced,
)
from transport.placement.explain import PlacementGrid, explain_placements, kept_pupils
from transport.scenario import PLACEMENT_POLICIES
from transport.travel import CrowFlyModel, TravelMatrix, TravelModel, as_points
from transport.units import to_pence

POLICIES = PLACEMENT_POLICIES
SCOPES = ("all", "new-entrants")
FAR_MILES = 20.0


@dataclass(frozen=True)
class _Problem:
    """Schools sorted by id (so that argmin ties go to the lower id) and the pupil×school data."""

    school_ids: tuple[str, ...]
    capacity: np.ndarray
    suitable: np.ndarray
    matrix: TravelMatrix


def suitable_matrix(pupils: Sequence[Pupil], schools: Sequence[School]) -> np.ndarray:
    """``suitable[i, j]``: whether school ``j`` serves pupil ``i``'s need and age
    (:meth:`transport.model.School.serves` for every pair, one need at a time in numpy)."""
    out = np.zeros((len(pupils), len(schools)), dtype=bool)
    if not len(pupils) or not len(schools):
        return out
    ages = np.array([p.age for p in pupils])
    lo = np.array([s.age_min for s in schools])[None, :]
    hi = np.array([s.age_max for s in schools])[None, :]
    rows_of: dict[str, list[int]] = {}
    for i, p in enumerate(pupils):
        rows_of.setdefault(p.need, []).append(i)
    for need, rows in rows_of.items():
        serves = np.array([ANY_NEED in s.needs or need in s.needs for s in schools], dtype=bool)
        idx = np.array(rows)
        age = ages[idx][:, None]
        out[idx] = serves[None, :] & (lo <= age) & (age <= hi)
    return out


def _setup(data: Dataset, travel: TravelModel) -> _Problem:
    schools = sorted(data.schools, key=lambda s: s.school_id)
    suitable = suitable_matrix(data.pupils, schools)
    matrix = travel.travel_matrix(as_points(data.pupils), as_points(schools))
    return _Problem(
        school_ids=tuple(s.school_id for s in schools),
        capacity=np.array([s.capacity for s in schools], dtype=np.int64),
        suitable=suitable,
        matrix=matrix,
    )


def _check_travel(data: Dataset, prob: _Problem, *, keep_current: bool, source: str) -> None:
    """Every pupil → school pair the policy may use has a finite travel time (a travel matrix
    may lack pairs): pupils keeping their school need that one, the others every suitable one."""
    minutes = prob.matrix.minutes
    if np.isfinite(minutes).all():
        return
    from transport.errors import InputError
    from transport.travel.matrix import missing_pairs, missing_problem

    needed = prob.suitable.copy()
    if keep_current:
        column = {s: j for j, s in enumerate(prob.school_ids)}
        for i, pupil in enumerate(data.pupils):
            if pupil.school_id is not None:
                needed[i] = False
                needed[i, column[pupil.school_id]] = True
    ids = [p.travel_id for p in data.pupils]
    count, examples = missing_pairs(minutes, ids, prob.school_ids, needed)
    if count:
        from pathlib import Path

        file = Path(source).name
        raise InputError([missing_problem(count, examples, "placement needs", file)])


def _no_school_reason(pupil: Pupil) -> str:
    return f"no school serves need {pupil.need} at age {pupil.age}"


def _placement(prob: _Problem, i: int, j: int, pupil: Pupil, policy: str) -> Placement:
    return Placement(
        pupil_id=pupil.pupil_id,
        school_id=prob.school_ids[j],
        policy=policy,
        road_miles=round(float(prob.matrix.miles[i, j]), 3),
        direct_min=round(float(prob.matrix.minutes[i, j]), 3),
    )


def _greedy(
    data: Dataset,
    prob: _Problem,
    order: list[int],
    remaining: np.ndarray,
    policy: str,
    *,
    use_capacity: bool = True,
) -> tuple[list[Placement], list[Unplaced]]:
    placed: list[Placement] = []
    unplaced: list[Unplaced] = []
    miles = prob.matrix.miles
    for i in order:
        pupil = data.pupils[i]
        ok = prob.suitable[i]
        if not ok.any():
            unplaced.append(Unplaced(pupil.pupil_id, _no_school_reason(pupil)))
            continue
        if use_capacity:
            ok = ok & (remaining > 0)
            if not ok.any():
                unplaced.append(
                    Unplaced(
                        pupil.pupil_id,
                        f"every school serving {pupil.need} at age {pupil.age} is full",
                    )
                )
                continue
        j = int(np.argmin(np.where(ok, miles[i], np.inf)))
        if use_capacity:
            remaining[j] -= 1
        placed.append(_placement(prob, i, j, pupil, policy))
    return placed, unplaced


def _shortfall(data: Dataset, prob: _Problem, placed: list[Placement]) -> tuple[Shortfall, ...]:
    """Places missing per school, shared among needs in proportion to their demand."""
    pupil_need = {p.pupil_id: p.need for p in data.pupils}
    demand = Counter((pl.school_id, pupil_need[pl.pupil_id]) for pl in placed)
    by_school = Counter(pl.school_id for pl in placed)
    cap = dict(zip(prob.school_ids, prob.capacity.tolist(), strict=True))
    rows: list[Shortfall] = []
    for school_id in sorted(by_school):
        missing = by_school[school_id] - cap[school_id]
        if missing <= 0:
            continue
        needs = sorted(
            (n for (s, n) in demand if s == school_id), key=lambda n: (-demand[school_id, n], n)
        )
        total = by_school[school_id]
        shares = {n: missing * demand[school_id, n] / total for n in needs}
        alloc = {n: int(shares[n]) for n in needs}
        left = missing - sum(alloc.values())
        for n in sorted(needs, key=lambda n: (-(shares[n] - alloc[n]), n))[:left]:
            alloc[n] += 1
        for n in needs:
            if alloc[n]:
                rows.append(Shortfall(school_id, n, demand[school_id, n], cap[school_id], alloc[n]))
    return tuple(rows)


def _optimal(
    data: Dataset, prob: _Problem, order: list[int], capacity: np.ndarray, params: Parameters
) -> tuple[list[Placement], list[Unplaced]]:
    from ortools.graph.python import min_cost_flow

    m = len(prob.school_ids)
    n = len(order)
    idx = np.array(order, dtype=np.int64)
    cost = params.cost
    school_cost = np.array([data.school_by_id[s].place_cost for s in prob.school_ids])
    per_mile = cost.school_days * 2.0 * cost.est_cost_per_pupil_mile
    suitable = prob.suitable[idx] if n else np.zeros((0, m), dtype=bool)
    pi, sj = np.nonzero(suitable)
    annual = school_cost[sj] + per_mile * prob.matrix.miles[idx[pi], sj] if n else np.zeros(0)
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = n + m, n + m + 1
    # arcs: source → pupil (1), pupil → suitable school (1, annual cost), school → sink (places)
    tails = np.concatenate([np.full(n, source), pi, n + np.arange(m)]).astype(np.int64)
    heads = np.concatenate([np.arange(n), n + sj, np.full(m, sink)]).astype(np.int64)
    caps = np.concatenate([np.ones(n), np.ones(len(pi)), capacity]).astype(np.int64)
    costs = np.concatenate([np.zeros(n), to_pence(annual), np.zeros(m)]).astype(np.int64)
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise PlacementError(f"the optimal placement could not be solved (status {status})")
    placed_at: dict[int, int] = {}
    if len(pi):
        for k in np.nonzero(flow.flows(arcs[n : n + len(pi)]) > 0)[0]:
            placed_at[int(idx[pi[k]])] = int(sj[k])
    placed: list[Placement] = []
    unplaced: list[Unplaced] = []
    for i in order:
        pupil = data.pupils[i]
        if i in placed_at:
            placed.append(_placement(prob, i, placed_at[i], pupil, "optimal"))
        elif not prob.suitable[i].any():
            unplaced.append(Unplaced(pupil.pupil_id, _no_school_reason(pupil)))
        else:
            unplaced.append(
                Unplaced(
                    pupil.pupil_id,
                    f"not enough places for need {pupil.need} at age "
                    f"{pupil.age}: every suitable school is full",
                )
            )
    return placed, unplaced


def place_pupils(
    data: Dataset,
    *,
    policy: str = "nearest-with-capacity",
    scope: str = "all",
    travel: TravelModel | None = None,
    params: Parameters | None = None,
    explain: bool = True,
) -> PlacementResult:
    """Place every pupil under a policy; those who cannot be placed are listed with the reason.

    Parameters
    ----------
    data
        A validated data set.
    policy
        One of ``nearest-with-capacity``, ``nearest-suitable``, ``optimal``, ``keep``.
    scope
        ``all`` re-places every pupil; ``new-entrants`` lets pupils who have a school keep it
        (as in a real September) and applies the policy to the others, in the places left.
        ``keep`` is ``nearest-with-capacity`` with scope ``new-entrants``.
    travel
        The travel model (default: the contract's crow-fly model with ``params.travel``).
    params
        Run parameters; ``params.cost`` sets the estimate ``optimal`` minimises.
    explain
        Give each placement its reason (``False`` for trial placements that are scored and
        thrown away, such as siting capacity).

    Returns
    -------
    PlacementResult
        Placements in the pupils' file order, each with the reason the pupil is at that
        school (:mod:`transport.placement.explain`), the unplaced with reasons, and (for
        ``nearest-suitable``) the shortfall by school and need.
    """
    if policy not in POLICIES:
        raise PlacementError(
            f"unknown placement policy {policy!r}; choose one of {', '.join(POLICIES)}"
        )
    if scope not in SCOPES:
        raise PlacementError(
            f"unknown placement scope {scope!r}; choose one of {', '.join(SCOPES)}"
        )
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    prob = _setup(data, travel)
    _check_travel(
        data,
        prob,
        keep_current=policy == "keep" or scope == "new-entrants",
        source=str(travel.describe().get("file") or "travel model"),
    )
    placed: list[Placement] = []
    remaining = prob.capacity.copy()
    order = list(range(len(data.pupils)))
    if policy == "keep" or scope == "new-entrants":
        column = {s: j for j, s in enumerate(prob.school_ids)}
        order = []
        for i, pupil in enumerate(data.pupils):
            if pupil.school_id is None:
                order.append(i)
                continue
            j = column[pupil.school_id]
            remaining[j] -= 1
            placed.append(_placement(prob, i, j, pupil, policy))
        remaining = np.maximum(remaining, 0)
    shortfall: tuple[Shortfall, ...] = ()
    if policy in ("nearest-with-capacity", "keep"):
        more, unplaced = _greedy(data, prob, order, remaining, policy)
    elif policy == "nearest-suitable":
        more, unplaced = _greedy(data, prob, order, remaining, policy, use_capacity=False)
    else:
        more, unplaced = _optimal(data, prob, order, remaining, params)
    placed += more
    if policy == "nearest-suitable":
        shortfall = _shortfall(data, prob, placed)
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    placed.sort(key=lambda pl: rank[pl.pupil_id])
    if explain:
        grid = PlacementGrid(prob.school_ids, prob.capacity, prob.suitable, prob.matrix.miles)
        kept = kept_pupils(data.pupils, policy=policy, scope=scope)
        placed = list(
            explain_placements(data, placed, grid, policy=policy, kept=kept, params=params)
        )
    unplaced.sort(key=lambda u: rank[u.pupil_id])
    return PlacementResult(policy, tuple(placed), tuple(unplaced), shortfall)


def summarise_placement(
    data: Dataset, result: PlacementResult, params: Parameters | None = None
) -> dict[str, Any]:
    """Totals of a placement: miles, pupils far from home, independent places and costs."""
    params = params or Parameters()
    schools = data.school_by_id
    miles = np.array([p.road_miles for p in result.placements], dtype=float)
    place_cost = sum(schools[p.school_id].place_cost for p in result.placements)
    out_of_county = sum(1 for p in result.placements if schools[p.school_id].kind == "independent")
    est = params.cost.school_days * 2.0 * float(miles.sum()) * params.cost.est_cost_per_pupil_mile
    return {
        "policy": result.policy,
        "pupils": len(data.pupils),
        "placed": len(result.placements),
        "unplaced": len(result.unplaced),
        "total_road_miles": round(float(miles.sum()), 1),
        "mean_road_miles": round(float(miles.mean()), 2) if len(miles) else 0.0,
        f"pupils_over_{int(FAR_MILES)}_miles": int((miles > FAR_MILES).sum()),
        "pupils_in_independent_places": out_of_county,
        "annual_place_cost": round(place_cost, 2),
        "estimated_annual_transport_cost": round(est, 2),
        "places_missing": sum(s.missing for s in result.shortfall),
    }
