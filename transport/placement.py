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
from dataclasses import dataclass
from typing import Any

import numpy as np

from transport.errors import PlacementError
from transport.model import (
    Dataset,
    Parameters,
    Placement,
    PlacementResult,
    Pupil,
    Shortfall,
    Unplaced,
)
from transport.travel import CrowFlyModel, TravelMatrix, TravelModel, as_points
from transport.units import to_pence

POLICIES = ("nearest-with-capacity", "nearest-suitable", "optimal", "keep")
FAR_MILES = 20.0


@dataclass(frozen=True)
class _Problem:
    """Schools sorted by id (so that argmin ties go to the lower id) and the pupil×school data."""

    school_ids: tuple[str, ...]
    capacity: np.ndarray
    suitable: np.ndarray
    matrix: TravelMatrix


def _setup(data: Dataset, travel: TravelModel) -> _Problem:
    schools = sorted(data.schools, key=lambda s: s.school_id)
    suitable = np.array(
        [[s.serves(p.need, p.age) for s in schools] for p in data.pupils], dtype=bool
    ).reshape(len(data.pupils), len(schools))
    matrix = travel.travel_matrix(as_points(data.pupils), as_points(schools))
    return _Problem(
        school_ids=tuple(s.school_id for s in schools),
        capacity=np.array([s.capacity for s in schools], dtype=np.int64),
        suitable=suitable,
        matrix=matrix,
    )


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
    data: Dataset, prob: _Problem, params: Parameters
) -> tuple[list[Placement], list[Unplaced]]:
    from ortools.graph.python import min_cost_flow

    n, m = prob.suitable.shape
    cost = params.cost
    school_cost = np.array([data.school_by_id[s].place_cost for s in prob.school_ids])
    annual = (
        school_cost[None, :]
        + cost.school_days * 2.0 * prob.matrix.miles * cost.est_cost_per_pupil_mile
    )
    pi, sj = np.nonzero(prob.suitable)
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = n + m, n + m + 1
    # arcs: source → pupil, pupil → school, school → sink
    tails = np.concatenate([np.full(n, source), pi, n + np.arange(m)])
    heads = np.concatenate([np.arange(n), n + sj, np.full(m, sink)])
    caps = np.concatenate([np.ones(n), np.ones(len(pi)), prob.capacity]).astype(np.int64)
    costs = np.concatenate([np.zeros(n), to_pence(annual[pi, sj]), np.zeros(m)]).astype(np.int64)
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise PlacementError(f"the optimal placement could not be solved (status {status})")
    placed_at: dict[int, int] = {}
    pupil_arcs = arcs[n : n + len(pi)]
    for k in np.nonzero(flow.flows(pupil_arcs) > 0)[0]:
        placed_at[int(pi[k])] = int(sj[k])
    placed: list[Placement] = []
    unplaced: list[Unplaced] = []
    for i, pupil in enumerate(data.pupils):
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
    travel: TravelModel | None = None,
    params: Parameters | None = None,
) -> PlacementResult:
    """Place every pupil under a policy; those who cannot be placed are listed with the reason.

    Parameters
    ----------
    data
        A validated data set.
    policy
        One of ``nearest-with-capacity``, ``nearest-suitable``, ``optimal``, ``keep``.
    travel
        The travel model (default: the contract's crow-fly model with ``params.travel``).
    params
        Run parameters; ``params.cost`` sets the estimate ``optimal`` minimises.

    Returns
    -------
    PlacementResult
        Placements in the pupils' file order, the unplaced with reasons, and (for
        ``nearest-suitable``) the shortfall by school and need.
    """
    if policy not in POLICIES:
        raise PlacementError(
            f"unknown placement policy {policy!r}; choose one of {', '.join(POLICIES)}"
        )
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    prob = _setup(data, travel)
    order = list(range(len(data.pupils)))
    shortfall: tuple[Shortfall, ...] = ()
    if policy == "nearest-with-capacity":
        placed, unplaced = _greedy(data, prob, order, prob.capacity.copy(), policy)
    elif policy == "nearest-suitable":
        placed, unplaced = _greedy(
            data, prob, order, prob.capacity.copy(), policy, use_capacity=False
        )
        shortfall = _shortfall(data, prob, placed)
    elif policy == "optimal":
        placed, unplaced = _optimal(data, prob, params)
    else:
        placed, unplaced = _keep(data, prob)
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    placed.sort(key=lambda pl: rank[pl.pupil_id])
    unplaced.sort(key=lambda u: rank[u.pupil_id])
    return PlacementResult(policy, tuple(placed), tuple(unplaced), shortfall)


def _keep(data: Dataset, prob: _Problem) -> tuple[list[Placement], list[Unplaced]]:
    column = {s: j for j, s in enumerate(prob.school_ids)}
    remaining = prob.capacity.copy()
    placed: list[Placement] = []
    new_entrants: list[int] = []
    for i, pupil in enumerate(data.pupils):
        if pupil.school_id is None:
            new_entrants.append(i)
            continue
        j = column[pupil.school_id]
        remaining[j] -= 1
        placed.append(_placement(prob, i, j, pupil, "keep"))
    more, unplaced = _greedy(data, prob, new_entrants, np.maximum(remaining, 0), "keep")
    return placed + more, unplaced


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
