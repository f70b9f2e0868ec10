"""Personal transport budgets (PTBs): price them, measure what they save, choose offers.

A budget is money paid to a family who then arrange their own travel, offered only with their
consent. This package answers a finance officer's questions for a cohort of a solved run:

* what each pupil's budget is under the scenario's rule (:mod:`.pricing`);
* what the council saves when pupils leave their routes, alone or together, with the routes
  re-planned without them (:mod:`.savings`, the only module that calls the routing engine);
* whom to offer a budget, and at which level, for the largest expected net saving without
  ever losing money (:mod:`.offers`);
* how likely the annual saving target is, given that families decide (:mod:`.uptake`);
* the trial team's export: budgets.csv and a one-page summary (:mod:`.export`).
"""

from __future__ import annotations

from transport.budgets.assess import BudgetRow, CohortAssessment, assess_cohort
from transport.budgets.cohorts import COHORTS, TRIAL, resolve_districts
from transport.budgets.offers import Candidate, OfferPlan, choose_offers, target_needs
from transport.budgets.pricing import (
    INSTALMENTS,
    PricedPupil,
    custom_band,
    kent_band,
    price_pupil,
    read_attendance,
)
from transport.budgets.savings import SavingsModel, run_parameters
from transport.budgets.uptake import (
    Offer,
    RoutePackage,
    Simulation,
    simulate_uptake,
    uptake_probability,
)

__all__ = [
    "COHORTS",
    "INSTALMENTS",
    "TRIAL",
    "BudgetRow",
    "Candidate",
    "CohortAssessment",
    "Offer",
    "OfferPlan",
    "PricedPupil",
    "RoutePackage",
    "SavingsModel",
    "Simulation",
    "assess_cohort",
    "choose_offers",
    "custom_band",
    "kent_band",
    "price_pupil",
    "read_attendance",
    "resolve_districts",
    "run_parameters",
    "simulate_uptake",
    "target_needs",
    "uptake_probability",
]
