"""Capacity: apply a scenario's ``[[capacity]]`` changes to the schools before placement.

A change either names a school (``school_id``, ``add``: the school gains ``add`` places) or
asks for ``add`` places for ``needs`` *sited where they save most* (``where = "best"``), at
most ``max_per_school`` at any one candidate and at most ``max_growth`` × its places today
(1.0: a school may at most double; the two caps combine, the smaller wins).

Candidates default to the schools of ``kinds`` (default: special schools and resourced units;
independent schools only when listed, since the strategy asks for maintained places) serving
one of the change's needs; ``candidates`` lists them explicitly. A school has one capacity
shared by every need it serves, as in schools.csv: places added for ASD at a school that also
serves SLCN may be taken by an SLCN pupil if the placement puts one there.

Exact siting (``method = "exact"``, the default)
-----------------------------------------------
Every ``where = "best"`` change of a scenario is sited at once, exactly, by one min-cost flow
(:mod:`transport.placement._network`): each change is a *pool* of at most ``add`` places, with
an arc from each of its candidates (capacity ``max_per_school``); pupils flow to schools, and a
school's pupils beyond its places today flow through the pools. The flow places as many pupils
as the places allow, then minimises the ``optimal`` policy's objective (place cost +
school_days × 2 × road miles × est_cost_per_pupil_mile), then adds the fewest places: a place
no pupil takes is not sited (the rows say how many). Without yes/no decisions (no build costs)
the siting is a pure network flow, so OR-Tools' integer min-cost flow solves it exactly; the
scenario's own policy then places the pupils with the new capacities. Pupils who keep their
school (scope ``new-entrants``, policy ``keep``) hold their places; the others are placed by the
flow. Each row's ``estimated_saving`` is the annual place + transport cost the school's new
places save with every other school's capacity as sited (leave-one-out, re-placed exactly).

Greedy siting (``method = "greedy"``, the previous method, kept for comparison)
------------------------------------------------------------------------------
Places are sited ``batch`` at a time (default 25; the last batch takes what is left). Before
each batch the pupils are placed under the scenario's own policy and scope with the capacities
reached so far. The *candidate* schools that are full (as many pupils placed as places) are
ranked by a quick estimate of what the batch would save there: the sum of the ``batch``
largest cuts in road miles among the pupils it could serve who are placed farther away (or not
placed at all). The best ``SHORTLIST`` (8) of them are each tried exactly: the batch added,
the pupils placed again. The batch goes to the tried candidate with the least score, compared
in this order:

1. pupils left unplaced;
2. places missing (``nearest-suitable`` only: capacity it ignores);
3. the placement's estimated annual transport cost, ``school_days × 2 × road miles ×
   est_cost_per_pupil_mile`` (the same estimate the ``optimal`` policy minimises);
4. the annual place cost; then the lower ``school_id``.

A school with a free place is not tried: more places there change no placement that respects
capacity. When no candidate is full the batch goes to the candidate with the highest share of
its places taken (then the lower id), and its row says so. A candidate that has reached
``max_per_school`` is not tried again; a batch that would pass it is cut to fit. Each
evaluation is one placement (well under a second on the Kent data), so siting ``add`` places
costs about ``ceil(add / batch) × full candidates`` placements.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from transport.errors import ScenarioError
from transport.model import ANY_NEED, Dataset, Parameters, PlacementResult, School
from transport.placement import place_pupils, summarise_placement
from transport.scenario import CapacityChange
from transport.travel import TravelMatrix, TravelModel, as_points
from transport.units import from_pence

CAPACITY_COLUMNS = ("school_id", "need", "places_added", "reason")
CANDIDATE_KINDS = ("special", "resourced")
SHORTLIST = 8
"""Full candidates tried exactly for each batch (the best by the quick estimate)."""


@dataclass(frozen=True)
class CapacityRow:
    """Places added at one school by one change (one line of capacity.csv)."""

    school_id: str
    need: str
    places_added: int
    reason: str
    change: int
    estimated_saving: float = 0.0


@dataclass(frozen=True)
class CapacityResult:
    """The data set with its new capacities, the rows of capacity.csv and the work done."""

    data: Dataset
    rows: tuple[CapacityRow, ...]
    placements_evaluated: int = 0

    @property
    def places_added(self) -> int:
        return sum(r.places_added for r in self.rows)

    def csv_rows(self) -> list[tuple[Any, ...]]:
        return [(r.school_id, r.need, r.places_added, r.reason) for r in self.rows]


class MemoTravel:
    """A travel model that remembers matrices already computed (the siting asks many times)."""

    def __init__(self, inner: TravelModel) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "unknown")
        self.dwell_min = inner.dwell_min
        self._seen: dict[tuple[bytes, bytes], TravelMatrix] = {}

    def travel_matrix(self, origins: np.ndarray, destinations: np.ndarray) -> TravelMatrix:
        key = (np.asarray(origins).tobytes(), np.asarray(destinations).tobytes())
        if key not in self._seen:
            self._seen[key] = self.inner.travel_matrix(origins, destinations)
        return self._seen[key]

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def with_capacity(data: Dataset, capacity: dict[str, int]) -> Dataset:
    """The data set with the schools' capacities replaced by ``capacity`` (by school id)."""
    schools = tuple(
        replace(s, capacity=capacity[s.school_id]) if capacity[s.school_id] != s.capacity else s
        for s in data.schools
    )
    return Dataset(
        schools=schools,
        pupils=data.pupils,
        vehicles=data.vehicles,
        incompatible=data.incompatible,
        source=data.source,
    )


def default_candidates(
    data: Dataset, needs: Sequence[str], kinds: Sequence[str] = ()
) -> tuple[str, ...]:
    """Schools of ``kinds`` (default: special and resourced) serving one of ``needs``, by id."""
    wanted = set(needs)
    allowed = set(kinds or CANDIDATE_KINDS)
    return tuple(
        sorted(
            s.school_id
            for s in data.schools
            if s.kind in allowed and (ANY_NEED in s.needs or s.needs & wanted)
        )
    )


def _need_label(school: School, needs: Sequence[str]) -> str:
    if not needs:
        return ";".join(sorted(school.needs))
    served = [n for n in needs if ANY_NEED in school.needs or n in school.needs]
    return ";".join(served or needs)


Score = tuple[int, int, float, float]


def _score(
    data: Dataset, *, policy: str, scope: str, travel: TravelModel, params: Parameters
) -> tuple[PlacementResult, Score]:
    result = place_pupils(
        data, policy=policy, scope=scope, travel=travel, params=params, explain=False
    )
    t = summarise_placement(data, result, params)
    score = (
        int(t["unplaced"]),
        int(t["places_missing"]),
        round(float(t["estimated_annual_transport_cost"]), 2),
        round(float(t["annual_place_cost"]), 2),
    )
    return result, score


def apply_capacity(
    data: Dataset,
    changes: Sequence[CapacityChange],
    *,
    policy: str,
    scope: str = "all",
    travel: TravelModel,
    params: Parameters,
) -> CapacityResult:
    """Apply the changes: named schools directly, ``where = "best"`` exactly (or greedily).

    Named changes and greedy changes apply in file order; the exact changes are then sited
    together, in one flow, on the capacities those reached.

    Parameters
    ----------
    data
        The validated data set.
    changes
        The scenario's ``[[capacity]]`` tables.
    policy, scope
        The scenario's placement policy and scope (the siting places pupils with them).
    travel, params
        The travel model and parameters of the placement.

    Returns
    -------
    CapacityResult
        The data set with the new capacities and one row per school and change.

    Raises
    ------
    ScenarioError
        A change names a school, or a candidate, missing from schools.csv, or no school is a
        candidate for its needs.

    Notes
    -----
    Rows come in the order of the changes applied (named and greedy first, then the exact
    ones, by change and school id).
    """
    schools = data.school_by_id
    capacity = {s.school_id: s.capacity for s in data.schools}
    rows: list[CapacityRow] = []
    evaluations = 0
    memo = MemoTravel(travel)
    exact: list[tuple[int, CapacityChange, tuple[str, ...]]] = []
    for i, change in enumerate(changes, start=1):
        if change.add == 0:
            continue
        if change.school_id is not None:
            if change.school_id not in schools:
                raise ScenarioError(
                    f"capacity[{i}].school_id: no school {change.school_id!r} in schools.csv"
                )
            capacity[change.school_id] += change.add
            school = schools[change.school_id]
            rows.append(
                CapacityRow(
                    change.school_id,
                    _need_label(school, change.needs),
                    change.add,
                    "named in the scenario",
                    i,
                )
            )
            continue
        candidates = change.candidates or default_candidates(data, change.needs, change.kinds)
        unknown = [c for c in candidates if c not in schools]
        if unknown:
            raise ScenarioError(
                f"capacity[{i}].candidates: no school {unknown[0]!r} in schools.csv"
            )
        if not candidates:
            kinds = " or ".join(change.kinds or CANDIDATE_KINDS)
            raise ScenarioError(
                f"capacity[{i}]: no school of kind {kinds} serves "
                f"{', '.join(change.needs)}; list candidates"
            )
        if change.method == "exact":
            exact.append((i, change, tuple(candidates)))
            continue
        sited, n = _site_best(
            data,
            change,
            candidates,
            capacity,
            policy=policy,
            scope=scope,
            travel=memo,
            params=params,
        )
        evaluations += n
        for school_id in sorted(sited):
            added, saving, fallback = sited[school_id]
            batches = "sited where it saves most (greedy)"
            if fallback:
                batches += f"; {fallback} batch(es) with no full candidate: at the fullest"
            rows.append(
                CapacityRow(
                    school_id,
                    _need_label(schools[school_id], change.needs),
                    added,
                    f"{batches} (est. transport −£{saving:,.0f} a year)",
                    i,
                    round(saving, 2),
                )
            )
    if exact:
        rows += _site_exact(data, exact, capacity, scope=scope, travel=memo, params=params)
        evaluations += 1
    return CapacityResult(with_capacity(data, capacity), tuple(rows), evaluations)


def school_cap(change: CapacityChange, school: School) -> int:
    """The most places ``change`` may add at ``school``: ``add``, ``max_per_school`` and
    ``max_growth`` × the school's places today (rounded down), whichever is least."""
    cap = change.add
    if change.max_per_school is not None:
        cap = min(cap, change.max_per_school)
    if change.max_growth is not None:
        cap = min(cap, math.floor(change.max_growth * school.capacity + 1e-9))
    return max(cap, 0)


def _site_exact(
    data: Dataset,
    changes: Sequence[tuple[int, CapacityChange, tuple[str, ...]]],
    capacity: dict[str, int],
    *,
    scope: str,
    travel: TravelModel,
    params: Parameters,
) -> list[CapacityRow]:
    """Site every exact change at once by one min-cost flow; ``capacity`` is updated in place."""
    from transport.placement._network import Pool, build_network, solve_flow

    columns = [
        replace(s, capacity=capacity[s.school_id])
        for s in sorted(data.schools, key=lambda s: s.school_id)
    ]
    column = {s.school_id: j for j, s in enumerate(columns)}
    net = build_network(data, columns, scope=scope, travel=travel, params=params)
    pools = [
        Pool(
            f"capacity[{i}]",
            change.add,
            {column[c]: school_cap(change, data.school_by_id[c]) for c in candidates},
        )
        for i, change, candidates in changes
    ]
    flow = solve_flow(net, pools)
    chosen = net.base.copy()
    for (_, j), n in flow.added.items():
        chosen[j] += n
    rows: list[CapacityRow] = []
    for p, (i, change, _) in enumerate(changes):
        sited = {j: n for (q, j), n in flow.added.items() if q == p}
        unsited = change.add - sum(sited.values())
        note = (
            f"; {unsited} of the change's {change.add} places would be taken by no pupil: not sited"
            if unsited
            else ""
        )
        for j in sorted(sited, key=lambda j: columns[j].school_id):
            less = chosen.copy()
            less[j] -= sited[j]
            without = solve_flow(net, [], base=less)
            saving = float(from_pence(without.cost_pence - flow.cost_pence))
            lost = flow.placed - without.placed
            left_out = f"; without them {lost} pupils would be unplaced" if lost else ""
            school = columns[j]
            capacity[school.school_id] += sited[j]
            rows.append(
                CapacityRow(
                    school.school_id,
                    _need_label(school, change.needs),
                    sited[j],
                    "sited exactly for the least-cost placement (min-cost flow; est. place + "
                    f"transport −£{saving:,.0f} a year){left_out}{note}",
                    i,
                    round(saving, 2),
                )
            )
    return rows


def _site_best(
    data: Dataset,
    change: CapacityChange,
    candidates: Sequence[str],
    capacity: dict[str, int],
    *,
    policy: str,
    scope: str,
    travel: TravelModel,
    params: Parameters,
) -> tuple[dict[str, tuple[int, float, int]], int]:
    """Site ``change.add`` places batch by batch; ``capacity`` is updated in place.

    Returns ``{school_id: (places, estimated transport saving, fallback batches)}`` and the
    number of placements evaluated.
    """
    sited: dict[str, tuple[int, float, int]] = {}
    evaluations = 0
    left = change.add
    schools = data.school_by_id

    def room(c: str) -> int:
        """Places the change may still add at ``c``."""
        return min(left, school_cap(change, schools[c]) - sited.get(c, (0, 0.0, 0))[0])

    shortlist = _Estimate(data, candidates, travel)
    current, score = _score(
        with_capacity(data, capacity), policy=policy, scope=scope, travel=travel, params=params
    )
    evaluations += 1
    while left > 0:
        size = min(change.batch, left)
        open_ = [c for c in candidates if room(c) > 0]
        if not open_:  # every candidate at max_per_school: the rest cannot be sited
            break
        placed = Counter(p.school_id for p in current.placements)
        full = [c for c in open_ if placed[c] >= capacity[c]]
        fallback = 0
        if full:
            best: tuple[Score, str, PlacementResult] | None = None
            for c in shortlist.best(full, current, size):
                trial = {**capacity, c: capacity[c] + min(size, room(c))}
                result, s = _score(
                    with_capacity(data, trial),
                    policy=policy,
                    scope=scope,
                    travel=travel,
                    params=params,
                )
                evaluations += 1
                if best is None or (s, c) < (best[0], best[1]):
                    best = (s, c, result)
            assert best is not None
            new_score, chosen, current = best
        else:
            chosen = min(open_, key=lambda c: (-placed[c] / max(capacity[c], 1), c))
            new_score, fallback = score, 1
        size = min(size, room(chosen))
        saving = score[2] - new_score[2]
        capacity[chosen] += size
        places, saved, fell = sited.get(chosen, (0, 0.0, 0))
        sited[chosen] = (places + size, saved + saving, fell + fallback)
        score = new_score
        left -= size
    return sited, evaluations


class _Estimate:
    """The quick estimate that shortlists full candidates: road miles a batch would cut."""

    def __init__(self, data: Dataset, candidates: Sequence[str], travel: TravelModel) -> None:
        self.data = data
        self.schools = {s.school_id: j for j, s in enumerate(data.schools)}
        self.matrix = travel.travel_matrix(as_points(data.pupils), as_points(data.schools))
        schools = data.school_by_id
        self.serves = {
            c: np.array([schools[c].serves(p.need, p.age) for p in data.pupils], dtype=bool)
            for c in candidates
        }

    def best(self, full: Sequence[str], current: PlacementResult, size: int) -> list[str]:
        """The ``SHORTLIST`` full candidates of the largest estimate (ties: lower id)."""
        if len(full) <= SHORTLIST:
            return sorted(full)
        miles = self.matrix.miles
        school_of = current.school_of
        now = np.array(
            [
                miles[i, self.schools[school_of[p.pupil_id]]] if p.pupil_id in school_of else np.inf
                for i, p in enumerate(self.data.pupils)
            ]
        )
        estimate = {}
        for c in full:
            cut = np.where(self.serves[c], now - miles[:, self.schools[c]], 0.0)
            cut = np.minimum(cut[cut > 0], 1e6)
            estimate[c] = float(np.sort(cut)[::-1][:size].sum())
        return sorted(sorted(full, key=lambda c: (-estimate[c], c))[:SHORTLIST])
