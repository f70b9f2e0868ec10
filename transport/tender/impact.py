"""What a retender or a re-plan changes for families, pupil by pupil, for a committee paper.

For every pupil placed in either run: the change of school, route, vehicle, passenger
assistant, pickup time and operator, whether the change *disturbs* the family under the one
definition the nightly re-plan uses (:func:`transport.changes.disturbances`), and whether the
child is **vulnerable to change**:

``travels alone``   the pupil must travel alone (``solo``);
``needs a PA``      the pupil needs a passenger assistant;
``wheelchair``      the pupil travels in a wheelchair;
``ASD``, ``SEMH``   the pupil's primary need (autism; social, emotional and mental health);
``age 10 or under`` a primary-age child.

The change kinds and their counts come from :mod:`transport.runs.changes_report`, the same
function ``sen-transport diff`` counts with, so the two always agree; ``operator`` is added
here (a change of the operator running the pupil's route, counted only where both runs'
operators are known).

Cost by school: a route's annual cost goes to its school; a mixed-school route's is shared
equally per pupil, each share going to the pupil's own school
(:func:`transport.costing.cost_by_school`), so the schools' costs sum to the routes'.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from transport.changes import (
    DISTURBANCE_REASONS,
    PICKUP_MINUTES,
    count_by_reason,
    disturbances,
    journeys,
)
from transport.costing import cost_by_school
from transport.model import Dataset, Pupil, format_hhmm
from transport.runs.changes_report import CHANGE_KINDS, count_changes, placed, run_changes
from transport.runs.write import RunFiles

VULNERABLE_AGE = 10
VULNERABILITIES: tuple[str, ...] = (
    "travels alone",
    "needs a PA",
    "wheelchair",
    "ASD",
    "SEMH",
    "age 10 or under",
)
IMPACT_KINDS: tuple[str, ...] = (*CHANGE_KINDS, "operator")
"""Change kinds of the impact report: diff's, then ``operator``."""


def vulnerabilities(pupil: Pupil) -> tuple[str, ...]:
    """Why a child is vulnerable to a change of transport (empty when not)."""
    out = []
    if pupil.solo:
        out.append("travels alone")
    if pupil.needs_pa:
        out.append("needs a PA")
    if pupil.wheelchair:
        out.append("wheelchair")
    if pupil.need in ("ASD", "SEMH"):
        out.append(pupil.need)
    if pupil.age <= VULNERABLE_AGE:
        out.append("age 10 or under")
    return tuple(out)


@dataclass(frozen=True)
class Side:
    """One pupil's journey in one run (blank where not placed or not routed)."""

    school_id: str = ""
    route_id: str = ""
    vehicle_type: str = ""
    has_pa: bool | None = None
    pickup: float | None = None
    operator_id: str = ""


@dataclass(frozen=True)
class PupilImpact:
    """What the proposal changes for one pupil."""

    pupil_id: str
    before: Side
    after: Side
    changes: tuple[str, ...]
    disturbed: tuple[str, ...]
    vulnerable: tuple[str, ...] | None  # None: the pupil is not in the data folder

    @property
    def school_id(self) -> str:
        return self.after.school_id or self.before.school_id

    @property
    def pickup_shift_min(self) -> float | None:
        if self.before.pickup is None or self.after.pickup is None:
            return None
        return self.after.pickup - self.before.pickup


@dataclass(frozen=True)
class SchoolImpact:
    school_id: str
    school_name: str
    pupils: int
    changed: int
    disturbed: int
    vulnerable_disturbed: int
    kinds: dict[str, int]
    cost_before: float
    cost_after: float


@dataclass(frozen=True)
class Impact:
    """The impact of a proposal: per pupil, counted, by school, and what it costs."""

    pupils: tuple[PupilImpact, ...]
    counts: dict[str, int]
    disturbed_by_reason: dict[str, int]
    schools: tuple[SchoolImpact, ...]
    cost_before: float
    cost_after: float
    operators_known: dict[str, bool] = field(default_factory=dict)
    minutes: float = PICKUP_MINUTES

    @property
    def changed(self) -> int:
        return sum(1 for p in self.pupils if p.changes)

    @property
    def disturbed(self) -> int:
        return sum(1 for p in self.pupils if p.disturbed)

    @property
    def vulnerable(self) -> int:
        return sum(1 for p in self.pupils if p.vulnerable)

    @property
    def vulnerable_disturbed(self) -> int:
        return sum(1 for p in self.pupils if p.vulnerable and p.disturbed)

    @property
    def vulnerable_changed(self) -> int:
        return sum(1 for p in self.pupils if p.vulnerable and p.changes)


def _sides(run: RunFiles, operators: Mapping[str, str] | None) -> dict[str, Side]:
    out = {p.pupil_id: Side(school_id=p.school_id) for p in run.placements}
    pickup = {s.pupil_id: s.pickup for s in run.stops}
    for r in run.routes:
        op = (operators or {}).get(r.route_id, "")
        for p in r.pupils:
            if p in out:
                out[p] = Side(
                    out[p].school_id, r.route_id, r.vehicle_type, r.has_pa, pickup.get(p), op
                )
    return out


def assess_impact(
    current: RunFiles,
    proposed: RunFiles,
    data: Dataset,
    *,
    minutes: float = PICKUP_MINUTES,
    operators_before: Mapping[str, str] | None = None,
    operators_after: Mapping[str, str] | None = None,
) -> Impact:
    """What ``proposed`` changes for each pupil of ``current`` (and who joins or leaves).

    Parameters
    ----------
    current, proposed
        The run in service and the proposed one (a re-plan, or the plan a retender lets).
    data
        The data folder of the proposed run: the pupils' needs and ages.
    minutes
        A pickup moving by more than this is a change (and disturbs).
    operators_before, operators_after
        ``{route_id: operator_id}`` of each run (route-operators.csv), when known.

    Returns
    -------
    Impact
        Pupils in id order; counts by kind (:data:`IMPACT_KINDS`; the first ones exactly
        ``diff``'s), disturbed pupils by reason, schools by id.
    """
    changes = run_changes(current, proposed, minutes=minutes)
    kinds: dict[str, list[str]] = {}
    for c in changes:
        kinds.setdefault(c.pupil_id, []).append(c.kind)
    disturbed = disturbances(
        journeys(current.routes, current.stops, school_of=placed(current)),
        journeys(proposed.routes, proposed.stops, school_of=placed(proposed)),
        minutes=minutes,
    )
    before = _sides(current, operators_before)
    after = _sides(proposed, operators_after)
    known = operators_before is not None and operators_after is not None
    pupils = data.pupil_by_id
    impacts: list[PupilImpact] = []
    operator_changes = 0
    for pid in sorted(set(before) | set(after)):
        b, a = before.get(pid, Side()), after.get(pid, Side())
        pupil_kinds = list(kinds.get(pid, ()))
        if known and b.operator_id and a.operator_id and b.operator_id != a.operator_id:
            pupil_kinds.append("operator")
            operator_changes += 1
        pupil = pupils.get(pid)
        impacts.append(
            PupilImpact(
                pupil_id=pid,
                before=b,
                after=a,
                changes=tuple(pupil_kinds),
                disturbed=disturbed.get(pid, ()),
                vulnerable=None if pupil is None else vulnerabilities(pupil),
            )
        )
    counts = count_changes(changes) | {"operator": operator_changes}
    return Impact(
        pupils=tuple(impacts),
        counts=counts,
        disturbed_by_reason=count_by_reason(disturbed),
        schools=_by_school(impacts, current, proposed, data),
        cost_before=round(sum(r.annual_cost for r in current.routes), 2),
        cost_after=round(sum(r.annual_cost for r in proposed.routes), 2),
        operators_known={
            "before": operators_before is not None,
            "after": operators_after is not None,
        },
        minutes=minutes,
    )


def _school_costs(run: RunFiles) -> Counter[str]:
    """The run's annual cost by school (a mixed-school route's shared per pupil)."""
    school_of = placed(run)
    out: Counter[str] = Counter()
    for r in run.routes:
        for sid, cost in cost_by_school(r, school_of).items():
            out[sid] += cost
    return out


def _by_school(
    impacts: list[PupilImpact], current: RunFiles, proposed: RunFiles, data: Dataset
) -> tuple[SchoolImpact, ...]:
    cost_before = _school_costs(current)
    cost_after = _school_costs(proposed)
    groups: dict[str, list[PupilImpact]] = {}
    for p in impacts:
        groups.setdefault(p.school_id, []).append(p)
    out = []
    for sid in sorted(set(groups) | set(cost_before) | set(cost_after)):
        members = groups.get(sid, [])
        kinds = dict.fromkeys(IMPACT_KINDS, 0)
        for p in members:
            for k in p.changes:
                kinds[k] += 1
        school = data.school_by_id.get(sid)
        out.append(
            SchoolImpact(
                school_id=sid,
                school_name=school.name if school else "",
                pupils=len(members),
                changed=sum(1 for p in members if p.changes),
                disturbed=sum(1 for p in members if p.disturbed),
                vulnerable_disturbed=sum(1 for p in members if p.vulnerable and p.disturbed),
                kinds=kinds,
                cost_before=round(cost_before.get(sid, 0.0), 2),
                cost_after=round(cost_after.get(sid, 0.0), 2),
            )
        )
    return tuple(out)


IMPACT_COLUMNS: tuple[str, ...] = (
    "pupil_id",
    "school_id",
    "school_before",
    "school_after",
    "route_before",
    "route_after",
    "vehicle_before",
    "vehicle_after",
    "pa_before",
    "pa_after",
    "pickup_before",
    "pickup_after",
    "pickup_shift_min",
    "operator_before",
    "operator_after",
    "changes",
    "disturbed",
    "disturbed_reasons",
    "vulnerable",
    "vulnerable_because",
)
SCHOOL_COLUMNS: tuple[str, ...] = (
    "school_id",
    "school_name",
    "pupils",
    "changed",
    "disturbed",
    "vulnerable_disturbed",
    *IMPACT_KINDS,
    "cost_before",
    "cost_after",
    "cost_change",
)


def _pa(value: bool | None) -> str:
    return "" if value is None else str(int(value))


def _time(value: float | None) -> str:
    return "" if value is None else format_hhmm(value)


def impact_rows(impact: Impact) -> list[tuple[object, ...]]:
    """impact.csv's rows, in :data:`IMPACT_COLUMNS` order."""
    rows = []
    for p in impact.pupils:
        shift = p.pickup_shift_min
        rows.append(
            (
                p.pupil_id,
                p.school_id,
                p.before.school_id,
                p.after.school_id,
                p.before.route_id,
                p.after.route_id,
                p.before.vehicle_type,
                p.after.vehicle_type,
                _pa(p.before.has_pa),
                _pa(p.after.has_pa),
                _time(p.before.pickup),
                _time(p.after.pickup),
                "" if shift is None else f"{shift:.0f}",
                p.before.operator_id,
                p.after.operator_id,
                ";".join(p.changes),
                int(bool(p.disturbed)),
                ";".join(p.disturbed),
                "" if p.vulnerable is None else int(bool(p.vulnerable)),
                "" if p.vulnerable is None else ";".join(p.vulnerable),
            )
        )
    return rows


def school_rows(impact: Impact) -> list[tuple[object, ...]]:
    """impact-by-school.csv's rows, in :data:`SCHOOL_COLUMNS` order."""
    return [
        (
            s.school_id,
            s.school_name,
            s.pupils,
            s.changed,
            s.disturbed,
            s.vulnerable_disturbed,
            *(s.kinds[k] for k in IMPACT_KINDS),
            f"{s.cost_before:.2f}",
            f"{s.cost_after:.2f}",
            f"{s.cost_after - s.cost_before:.2f}",
        )
        for s in impact.schools
    ]


def vulnerable_by_reason(impact: Impact, *, disturbed_only: bool = True) -> dict[str, int]:
    """Disturbed (or all changed) vulnerable pupils, by vulnerability."""
    counts = dict.fromkeys(VULNERABILITIES, 0)
    for p in impact.pupils:
        if not p.vulnerable or not (p.disturbed if disturbed_only else p.changes):
            continue
        for v in p.vulnerable:
            counts[v] += 1
    return counts


__all__ = [
    "DISTURBANCE_REASONS",
    "IMPACT_COLUMNS",
    "IMPACT_KINDS",
    "SCHOOL_COLUMNS",
    "VULNERABILITIES",
    "Impact",
    "assess_impact",
    "impact_rows",
    "school_rows",
    "vulnerabilities",
    "vulnerable_by_reason",
]
