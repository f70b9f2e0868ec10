"""The placement flow network shared by the exact siting model and the scenario siting.

Pupils who are placed by the model (all of them, or the new entrants) are grouped into
*classes*: pupils at the same home point whose suitable schools are the same are
interchangeable (every arc cost is the same), so one class with a count replaces them. This is
an exact reduction: no optimum changes.

The network of one placement, in integer pence (:mod:`transport.units`)::

    source → class c            capacity n_c (pupils in the class)
    class c → column j          capacity n_c, cost a_cj = pence(place_cost_j + school_days × 2
                                 × est_cost_per_pupil_mile × road_miles_cj), j suitable for c
    column j → sink             capacity base_j (places free today), cost 0
    column j → pool p → sink    capacity extra_pj (places that may be added), cost ε per place;
                                 pool p → sink capacity cap_p (places the pool may add)

A *column* is an existing school or a new site (base 0). ``ε`` is a tie-break: costs are
scaled by ``S`` = (every place that may be added + 1) and each added place costs 1, so among
assignments of least cost the one adding fewest places wins, and a place is only ever added
where a pupil takes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from transport.model import Dataset, Parameters, Placement, Pupil, School, Unplaced
from transport.travel import TravelMatrix, TravelModel, as_points
from transport.units import to_pence


@dataclass(frozen=True)
class Pool:
    """Places that may be added: at most ``capacity`` in all (``None``: no limit but the
    columns' own), at most ``extra[j]`` at column ``j``."""

    name: str
    capacity: int | None
    extra: dict[int, int]


@dataclass
class Network:
    """Classes of pupils, columns (schools and new sites) and the arcs between them."""

    pupils: tuple[Pupil, ...]
    columns: tuple[School, ...]
    matrix: TravelMatrix
    movable: np.ndarray
    """Pupil indices the model places (file order)."""
    fixed: dict[int, int]
    """Pupil index → column of the pupils who keep their school (scope new-entrants)."""
    base: np.ndarray
    """Free places at each column today (after the fixed pupils)."""
    class_of: np.ndarray
    """Class of each movable pupil (aligned with ``movable``)."""
    count: np.ndarray
    arc_class: np.ndarray
    arc_column: np.ndarray
    arc_cost: np.ndarray
    """Pence a year for one pupil on the arc (int64)."""
    members: list[np.ndarray] = field(default_factory=list)
    """Pupil indices of each class, in file order."""

    @property
    def classes(self) -> int:
        return len(self.count)


def build_network(
    data: Dataset,
    columns: Sequence[School],
    *,
    scope: str,
    travel: TravelModel,
    params: Parameters,
) -> Network:
    """The placement network of ``data``'s pupils over ``columns``.

    Parameters
    ----------
    data
        The data set; its pupils are placed (all of them, or only the new entrants when
        ``scope`` is ``new-entrants``: the others keep their school and its place).
    columns
        Existing schools, then new sites, each with the capacity it has today (0 for a site).
    scope
        ``all`` or ``new-entrants``.
    travel, params
        The travel model and the cost parameters of the estimate.
    """
    pupils = data.pupils
    column_of = {s.school_id: j for j, s in enumerate(columns)}
    base = np.array([s.capacity for s in columns], dtype=np.int64)
    fixed: dict[int, int] = {}
    if scope == "new-entrants":
        for i, p in enumerate(pupils):
            if p.school_id is not None:
                fixed[i] = column_of[p.school_id]
                base[fixed[i]] -= 1
        base = np.maximum(base, 0)
    movable = np.array([i for i in range(len(pupils)) if i not in fixed], dtype=np.int64)
    matrix = travel.travel_matrix(as_points(pupils), as_points(columns))
    suitable = np.array(
        [[s.serves(pupils[i].need, pupils[i].age) for s in columns] for i in movable], dtype=bool
    ).reshape(len(movable), len(columns))
    # exact classes: same home point and same suitable columns
    if len(movable):
        homes = np.array([(pupils[i].lat, pupils[i].lon) for i in movable], dtype=float)
        keys = np.concatenate([homes.view(np.int64), np.packbits(suitable, axis=1)], axis=1)
        _, first, class_of, count = np.unique(
            keys, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        class_of = class_of.reshape(-1)
        # number classes in the order their first pupil appears in the file
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        class_of = rank[class_of]
        count = count[order]
        first = first[order]
    else:
        class_of = np.zeros(0, dtype=np.int64)
        count = np.zeros(0, dtype=np.int64)
        first = np.zeros(0, dtype=np.int64)
    members = [movable[class_of == c] for c in range(len(count))]
    rep = movable[first] if len(first) else np.zeros(0, dtype=np.int64)
    ci, cj = np.nonzero(suitable[first]) if len(first) else (np.zeros(0, int), np.zeros(0, int))
    place_cost = np.array([s.place_cost for s in columns], dtype=float)
    per_mile = params.cost.school_days * 2.0 * params.cost.est_cost_per_pupil_mile
    annual = place_cost[cj] + per_mile * matrix.miles[rep[ci], cj] if len(ci) else np.zeros(0)
    return Network(
        pupils=pupils,
        columns=tuple(columns),
        matrix=matrix,
        movable=movable,
        fixed=fixed,
        base=base,
        class_of=class_of.astype(np.int64),
        count=count.astype(np.int64),
        arc_class=ci.astype(np.int64),
        arc_column=cj.astype(np.int64),
        arc_cost=to_pence(annual).astype(np.int64),
        members=members,
    )


@dataclass(frozen=True)
class Flow:
    """A solved placement flow: pupils per arc and places added per pool and column."""

    arc_flow: np.ndarray
    added: dict[tuple[int, int], int]
    """(pool index, column) → places added there."""
    placed: int
    cost_pence: int
    """Place cost + estimated transport of the movable pupils, pence a year."""

    def load(self, net: Network) -> np.ndarray:
        """Pupils placed at each column (movable and fixed)."""
        out = np.bincount(net.arc_column, weights=self.arc_flow, minlength=len(net.columns))
        for j in net.fixed.values():
            out[j] += 1
        return out.astype(np.int64)


def solve_flow(
    net: Network,
    pools: Sequence[Pool],
    *,
    closed: frozenset[int] = frozenset(),
    base: np.ndarray | None = None,
) -> Flow:
    """Place as many pupils as the places allow, then at least cost, then adding fewest places.

    ``closed`` columns take no added places (a new site not opened, an expansion not made);
    ``base`` replaces the network's places of today (e.g. the capacities a siting chose).
    Exact: OR-Tools' min-cost flow on integers.
    """
    from ortools.graph.python import min_cost_flow

    n, m, k = net.classes, len(net.columns), len(pools)
    source, sink = n + m + k, n + m + k + 1
    pool_node = n + m
    extra_tails: list[int] = []
    extra_heads: list[int] = []
    extra_caps: list[int] = []
    extra_keys: list[tuple[int, int]] = []
    pool_tails: list[int] = []
    pool_caps: list[int] = []
    for p, pool in enumerate(pools):
        for j, cap in sorted(pool.extra.items()):
            if cap > 0 and j not in closed:
                extra_tails.append(n + j)
                extra_heads.append(pool_node + p)
                extra_caps.append(cap)
                extra_keys.append((p, j))
        limit = pool.capacity if pool.capacity is not None else sum(pool.extra.values())
        pool_tails.append(pool_node + p)
        pool_caps.append(limit)
    scale = sum(extra_caps) + 1
    a = len(net.arc_class)
    tails = np.concatenate(
        [
            np.full(n, source),
            net.arc_class,
            n + np.arange(m),
            np.array(extra_tails, dtype=np.int64),
            np.array(pool_tails, dtype=np.int64),
        ]
    ).astype(np.int64)
    heads = np.concatenate(
        [
            np.arange(n),
            n + net.arc_column,
            np.full(m, sink),
            np.array(extra_heads, dtype=np.int64),
            np.full(k, sink),
        ]
    ).astype(np.int64)
    caps = np.concatenate(
        [
            net.count,
            net.count[net.arc_class],
            net.base if base is None else base,
            np.array(extra_caps, dtype=np.int64),
            np.array(pool_caps, dtype=np.int64),
        ]
    ).astype(np.int64)
    costs = np.concatenate(
        [
            np.zeros(n, dtype=np.int64),
            net.arc_cost * scale,
            np.zeros(m, dtype=np.int64),
            np.ones(len(extra_caps), dtype=np.int64),
            np.zeros(k, dtype=np.int64),
        ]
    ).astype(np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    total = int(net.count.sum())
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:  # pragma: no cover - the network is always feasible
        raise RuntimeError(f"placement flow not solved (status {status})")
    arc_flow = flow.flows(arcs[n : n + a]).astype(np.int64)
    start = n + a + m
    extra_flow = flow.flows(arcs[start : start + len(extra_caps)]) if extra_caps else []
    added = {key: int(f) for key, f in zip(extra_keys, extra_flow, strict=True) if f > 0}
    return Flow(
        arc_flow=arc_flow,
        added=added,
        placed=int(arc_flow.sum()),
        cost_pence=int((arc_flow * net.arc_cost).sum()),
    )


def placements_of(net: Network, flow: Flow, policy: str) -> tuple[list[Placement], list[Unplaced]]:
    """Each pupil's placement from the class flows (a class's pupils in file order)."""
    placed: list[Placement] = []
    unplaced: list[Unplaced] = []
    queue: list[list[int]] = [[] for _ in range(net.classes)]
    for k in np.nonzero(flow.arc_flow)[0]:
        queue[net.arc_class[k]].extend([int(net.arc_column[k])] * int(flow.arc_flow[k]))
    has_arc = np.zeros(net.classes, dtype=bool)
    has_arc[net.arc_class] = True
    for c, members in enumerate(net.members):
        for t, i in enumerate(members.tolist()):
            if t < len(queue[c]):
                placed.append(_placement(net, i, queue[c][t], policy))
                continue
            pupil = net.pupils[i]
            reason = (
                f"not enough places for need {pupil.need} at age {pupil.age}: "
                "every suitable school is full"
                if has_arc[c]
                else f"no school serves need {pupil.need} at age {pupil.age}"
            )
            unplaced.append(Unplaced(pupil.pupil_id, reason))
    for i, j in net.fixed.items():
        placed.append(_placement(net, i, j, policy))
    return placed, unplaced


def _placement(net: Network, i: int, j: int, policy: str) -> Placement:
    return Placement(
        pupil_id=net.pupils[i].pupil_id,
        school_id=net.columns[j].school_id,
        policy=policy,
        road_miles=round(float(net.matrix.miles[i, j]), 3),
        direct_min=round(float(net.matrix.minutes[i, j]), 3),
    )
