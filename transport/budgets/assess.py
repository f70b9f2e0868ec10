"""Assess a cohort: price its budgets, measure savings, choose offers and simulate uptake.

The steps, each in its own module: cohort (:mod:`.cohorts`) → price (:mod:`.pricing`) →
savings (:mod:`.savings`) → offers (:mod:`.offers`) → uptake (:mod:`.uptake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transport.budgets.cohorts import cohort_label
from transport.budgets.offers import Candidate, OfferPlan, choose_offers, target_needs
from transport.budgets.pricing import PricedPupil, price_pupil
from transport.budgets.savings import SavingsModel
from transport.budgets.uptake import Simulation, simulate_uptake, uptake_probability
from transport.executor import Executor
from transport.model import Dataset
from transport.runs.write import RunFiles
from transport.scenario import BudgetSettings
from transport.travel import straight_line_miles


@dataclass(frozen=True)
class BudgetRow:
    """One line of budgets.csv: what a budget letter needs, nothing more."""

    pupil_id: str
    district: str
    school_id: str
    rule: str
    annual_budget: float
    marginal_saving: float
    net_saving: float
    offered: bool
    monthly_instalment: float
    basis: str
    straight_miles: float


@dataclass(frozen=True)
class CohortAssessment:
    """A cohort's budgets, savings, offers, simulated uptake and what the target needs."""

    label: str
    districts: tuple[str, ...] | None
    pupils: int
    priced: tuple[PricedPupil, ...]
    marginal: dict[str, float]
    plan: OfferPlan
    simulation: Simulation
    needs: dict[str, Any]
    unplaced: tuple[str, ...]
    unrouted: tuple[str, ...]
    routes: tuple[str, ...]
    transport_cost: float

    def rows(self) -> list[BudgetRow]:
        """budgets.csv: each priced pupil at the offered level (the rule's level if not offered)."""
        level = {o.pupil_id: o.level for o in self.plan.offers}
        out = []
        for p in sorted(self.priced, key=lambda p: p.pupil_id):
            lvl = level.get(p.pupil_id, 1.0)
            annual = p.annual(lvl)
            marginal = self.marginal[p.pupil_id]
            out.append(
                BudgetRow(
                    pupil_id=p.pupil_id,
                    district=p.district,
                    school_id=p.school_id,
                    rule=p.rule,
                    annual_budget=annual,
                    marginal_saving=marginal,
                    net_saving=round(marginal - annual, 2),
                    offered=p.pupil_id in level,
                    monthly_instalment=p.monthly(lvl),
                    basis=p.basis(lvl),
                    straight_miles=p.straight_miles,
                )
            )
        return out

    def totals(self) -> dict[str, Any]:
        """The cohort's figures for summary.json and the one-page summary."""
        rows = self.rows()
        return {
            "cohort": self.label,
            "districts": list(self.districts) if self.districts is not None else "all",
            "pupils": self.pupils,
            "priced": len(self.priced),
            "not_priced": {"unplaced": len(self.unplaced), "unrouted": len(self.unrouted)},
            "routes": len(self.routes),
            "annual_transport_cost_of_their_routes": round(self.transport_cost, 2),
            "budgets_at_rule_level": round(sum(p.annual() for p in self.priced), 2),
            "marginal_saving_total": round(sum(self.marginal.values()), 2),
            "pupils_saving_more_than_their_budget": sum(1 for r in rows if r.net_saving > 0),
            "offers": self.plan.expected(),
            "offers_by_level": _by_level(self.plan),
            "simulation": self.simulation.to_dict(),
            "target": self.needs,
        }


def _by_level(plan: OfferPlan) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in plan.offers:
        key = f"{o.level:g}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def assess_cohort(
    data: Dataset,
    run: RunFiles,
    savings: SavingsModel,
    *,
    settings: BudgetSettings,
    target: float,
    districts: tuple[str, ...] | None,
    attendance: dict[str, float],
    school_days: int,
    executor: Executor | None = None,
) -> CohortAssessment:
    """Price, save, offer and simulate for the pupils whose home is in ``districts``.

    Parameters
    ----------
    data, run, savings
        The data set, the solved run and its savings model.
    settings
        The scenario's budget settings.
    target
        The annual net saving target in £ (the strategy's £1.5m).
    districts
        The cohort's districts (the data set's spelling), ``None`` for county-wide.
    attendance
        Part-time fractions by pupil (pupils not listed attend full time).
    school_days
        School days a year (the mileage rule).
    executor
        Where the uptake draws run when there are many (the savings model has its own).
    """
    chosen = [p for p in data.pupils if districts is None or p.district in districts]
    placement = {p.pupil_id: p for p in run.placements}
    priced: list[PricedPupil] = []
    unplaced, unrouted = [], []
    for pupil in chosen:
        pl = placement.get(pupil.pupil_id)
        if pl is None:
            unplaced.append(pupil.pupil_id)
            continue
        rid = savings.route_of.get(pupil.pupil_id)
        if rid is None:
            unrouted.append(pupil.pupil_id)
            continue
        route = savings.routes[rid]
        priced.append(
            price_pupil(
                settings,
                pupil_id=pupil.pupil_id,
                district=pupil.district,
                age=pupil.age,
                school_id=pl.school_id,
                route_id=rid,
                straight_miles=straight_line_miles(pupil, data.school_by_id[pl.school_id]),
                road_miles=pl.road_miles,
                route_cost=route.annual_cost,
                route_pupils=len(route.pupils),
                school_days=school_days,
                attendance=attendance.get(pupil.pupil_id, 1.0),
            )
        )
    savings.prepare(p.pupil_id for p in priced)
    marginal = {p.pupil_id: savings.marginal_saving(p.pupil_id) for p in priced}
    candidates = [_candidate(p, settings, savings) for p in priced]
    plan = choose_offers(
        [c for c in candidates if c is not None], savings, allow_loss=settings.allow_loss
    )
    simulation = simulate_uptake(
        plan.packages, draws=settings.draws, seed=settings.seed, target=target, executor=executor
    )
    routes = tuple(sorted({p.route_id for p in priced}))
    return CohortAssessment(
        label=cohort_label(districts),
        districts=districts,
        pupils=len(chosen),
        priced=tuple(priced),
        marginal=marginal,
        plan=plan,
        simulation=simulation,
        needs=target_needs(plan, target),
        unplaced=tuple(unplaced),
        unrouted=tuple(unrouted),
        routes=routes,
        transport_cost=sum(savings.routes[r].annual_cost for r in routes),
    )


def _candidate(p: PricedPupil, settings: BudgetSettings, savings: SavingsModel) -> Candidate | None:
    """The offer levels open to a pupil (a level whose budget is £0 is no offer)."""
    levels = tuple(lvl for lvl in settings.offer_levels if p.annual(lvl) > 0)
    if not levels:
        return None
    current = savings.current_cost(p.pupil_id)
    return Candidate(
        pupil_id=p.pupil_id,
        route_id=p.route_id,
        levels=levels,
        budgets=tuple(p.annual(lvl) for lvl in levels),
        probabilities=tuple(
            uptake_probability(settings, budget=p.annual(lvl), current_cost=current)
            for lvl in levels
        ),
    )
