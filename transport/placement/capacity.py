"""Capacity: apply a scenario's ``[[capacity]]`` changes to the schools before placement.

A change either names a school (``school_id``, ``add``: the school gains ``add`` places) or
asks for ``add`` places for ``needs`` *sited where they save most* (``where = "best"``).

Siting method (a documented greedy choice, not a proof of optimality)
---------------------------------------------------------------------
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
its places taken (then the lower id), and its row says so. Candidates default to the special
schools and resourced units serving one of the change's needs (independent schools are never
candidates: the strategy asks for maintained places); ``candidates`` lists them explicitly.

A school has one capacity shared by every need it serves, as in schools.csv: places added for
ASD at a school that also serves SLCN may be taken by an SLCN pupil if the policy puts one
there. Each evaluation is one placement (well under a second on the Kent data), so siting
``add`` places costs about ``ceil(add / batch) × full candidates`` placements.
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


def default_candidates(data: Dataset, needs: Sequence[str]) -> tuple[str, ...]:
    """Special schools and resourced units serving one of ``needs``, by school id."""
    wanted = set(needs)
    return tuple(
        sorted(
            s.school_id
            for s in data.schools
            if s.kind in CANDIDATE_KINDS and (ANY_NEED in s.needs or s.needs & wanted)
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
    """Apply the changes in order: named schools directly, ``where = "best"`` greedily.

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
    """
    schools = data.school_by_id
    capacity = {s.school_id: s.capacity for s in data.schools}
    rows: list[CapacityRow] = []
    evaluations = 0
    memo = MemoTravel(travel)
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
        candidates = change.candidates or default_candidates(data, change.needs)
        unknown = [c for c in candidates if c not in schools]
        if unknown:
            raise ScenarioError(
                f"capacity[{i}].candidates: no school {unknown[0]!r} in schools.csv"
            )
        if not candidates:
            raise ScenarioError(
                f"capacity[{i}]: no special school or resourced unit serves "
                f"{', '.join(change.needs)}; list candidates"
            )
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
            batches = "sited where it saves most"
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
    return CapacityResult(with_capacity(data, capacity), tuple(rows), evaluations)


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
    shortlist = _Estimate(data, candidates, travel)
    current, score = _score(
        with_capacity(data, capacity), policy=policy, scope=scope, travel=travel, params=params
    )
    evaluations += 1
    for _ in range(math.ceil(change.add / change.batch)):
        size = min(change.batch, left)
        placed = Counter(p.school_id for p in current.placements)
        full = [c for c in candidates if placed[c] >= capacity[c]]
        fallback = 0
        if full:
            best: tuple[Score, str, PlacementResult] | None = None
            for c in shortlist.best(full, current, size):
                trial = {**capacity, c: capacity[c] + size}
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
            chosen = min(candidates, key=lambda c: (-placed[c] / max(capacity[c], 1), c))
            new_score, fallback = score, 1
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
