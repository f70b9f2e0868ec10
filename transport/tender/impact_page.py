"""impact.html: the impact report as one self-contained page for a committee paper.

Renders an :class:`transport.tender.impact.Impact` with the package's Jinja2 template
``templates/impact.html.j2``; it computes nothing new and names no pupil (counts only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transport.tender.impact import IMPACT_KINDS, Impact, vulnerable_by_reason
from transport.tender.spec import render_template

KIND_MEANINGS: dict[str, str] = {
    "school": "the pupil's school changes",
    "route": "the pupils they travel with change (any change of co-riders)",
    "vehicle": "their vehicle type changes",
    "pa": "a passenger assistant appears on or leaves their vehicle",
    "pickup": "their morning pickup time moves by more than {minutes} minutes",
    "added": "in the proposed plan only (new to transport)",
    "removed": "in the current plan only (leaving transport)",
    "operator": "the operator running their route changes",
}
SCHOOL_KINDS: tuple[str, ...] = ("school", "route", "vehicle", "pa", "pickup", "operator")


def _pounds(x: float) -> str:
    sign = "−" if x < 0 else ""
    return f"{sign}£{abs(x):,.0f}"


def render_impact(
    impact: Impact,
    *,
    current_name: str,
    proposed_name: str,
    award: dict[str, Any] | None = None,
    title: str = "Transport changes: who is affected",
) -> str:
    """The impact page (HTML) of ``impact``; ``award`` is an award-summary.json, if any."""
    pupils_current = sum(1 for p in impact.pupils if p.before.school_id)
    pupils_proposed = sum(1 for p in impact.pupils if p.after.school_id)
    award_ctx = None
    if award:
        award_ctx = {
            "lots": award.get("lots", 0),
            "lots_awarded": award.get("lots_awarded", 0),
            "annual_price": _pounds(float(award.get("annual_price", 0.0))),
            "notional_annual_awarded": _pounds(float(award.get("notional_annual_awarded", 0.0))),
            "notional_annual_unawarded": _pounds(
                float(award.get("notional_annual_unawarded", 0.0))
            ),
        }
    return render_template(
        "impact.html.j2",
        title=title,
        current_name=Path(current_name).name or current_name,
        proposed_name=Path(proposed_name).name or proposed_name,
        pupils_current=pupils_current,
        pupils_proposed=pupils_proposed,
        pupils_total=len(impact.pupils),
        changed=impact.changed,
        disturbed=impact.disturbed,
        vulnerable=impact.vulnerable,
        vulnerable_disturbed=impact.vulnerable_disturbed,
        kinds=[
            {
                "kind": k,
                "count": f"{impact.counts.get(k, 0):,}",
                "meaning": KIND_MEANINGS[k].format(minutes=f"{impact.minutes:g}"),
            }
            for k in IMPACT_KINDS
        ],
        operators_known=all(impact.operators_known.values()),
        minutes=f"{impact.minutes:g}",
        disturbed_by_reason=impact.disturbed_by_reason,
        vulnerable_by_reason=vulnerable_by_reason(impact),
        cost_before=_pounds(impact.cost_before),
        cost_after=_pounds(impact.cost_after),
        cost_change=_pounds(impact.cost_after - impact.cost_before),
        award=award_ctx,
        school_kinds=SCHOOL_KINDS,
        schools=[
            {
                "name": f"{s.school_name} ({s.school_id})" if s.school_name else s.school_id,
                "pupils": s.pupils,
                "changed": s.changed,
                "disturbed": s.disturbed,
                "vulnerable_disturbed": s.vulnerable_disturbed,
                "kinds": [s.kinds[k] for k in SCHOOL_KINDS],
                "cost_change": _pounds(s.cost_after - s.cost_before),
            }
            for s in impact.schools
        ],
    )
