"""Tendering: lots with notional prices, a pupil-free specification, the optimal award of bids,
and the impact of a retender or re-plan on families.

A report stage over solved runs: it imports the data model, data, costing, runs and changes,
never the routing solver. The library calls behind the commands are in
:mod:`transport.tender.jobs` (``tender_job``, ``award_job``, ``impact_job``).
"""

from transport.tender.award import Award, AwardSettings, award_lots
from transport.tender.bids import BidBook, read_bid_book
from transport.tender.impact import Impact, assess_impact
from transport.tender.lots import Lot, LotRecord, build_lots, read_lots

__all__ = [
    "Award",
    "AwardSettings",
    "BidBook",
    "Impact",
    "Lot",
    "LotRecord",
    "assess_impact",
    "award_lots",
    "build_lots",
    "read_bid_book",
    "read_lots",
]
