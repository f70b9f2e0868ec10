"""The compare report: ``report.html`` and a ``routes.geojson`` per scenario.

Reads a folder written by ``sen-transport compare`` (see docs/formats.md, "Compare folder")
and the data folder; renders, computes nothing new. Homes are aggregated and pickups
generalised (:mod:`transport.report.geometry`), so no output holds a pupil id or a home.
"""

from transport.report.geometry import PrivacyOptions
from transport.report.html import ReportOptions, write_report

__all__ = ["PrivacyOptions", "ReportOptions", "write_report"]
