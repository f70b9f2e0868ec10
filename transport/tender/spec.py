"""The tender specification: one page per lot, free of pupil data, as HTML and PDF.

A report stage: it renders lots (:mod:`transport.tender.lots`) with a Jinja2 template shipped
in the package (``templates/specification.html.j2``) and prints the same HTML to PDF with
WeasyPrint. The page says what an operator needs to price a lot (school, times, vehicles,
passenger assistants, passengers and wheelchair users, pickup areas as postcode districts,
contract miles) and nothing that identifies a pupil: no id, no home, no need, no exact
pickup time (first pickups are rounded down to 5 minutes). The council's notional price is
not printed, so that it does not anchor the bids; it is in lots.csv.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from transport.model import AFTERNOON_GAP_MIN, format_hhmm
from transport.tender.lots import Lot

TEMPLATE = "specification.html.j2"


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("transport.tender", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_template(name: str, **context: Any) -> str:
    """Render one of the package's templates (HTML, autoescaped)."""
    return str(_environment().get_template(name).render(**context))


def _areas(counts: Sequence[tuple[str, int]]) -> str:
    if not counts:
        return "—"
    return ", ".join(f"{area} ({n})" if n > 1 else area for area, n in counts)


def _about(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    return format_hhmm(5 * (int(minutes) // 5))


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    return f"{max(5, 5 * round(minutes / 5)):.0f} min"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def lot_context(lot: Lot) -> dict[str, Any]:
    """What the template shows of one lot (strings, ready to print).

    ``schools`` lists every school of the lot in visiting order with its own times (a
    mixed-school route's lot has two or more); the top-level school fields are the first's.
    """
    vehicles = ", ".join(_plural(n, t) for t, n in lot.vehicles().items())
    pas = sum(1 for r in lot.routes if r.has_pa)
    return {
        "lot_id": lot.lot_id,
        "school_id": lot.school_id,
        "school_name": lot.school_name,
        "school_district": lot.school_district,
        "arrive_by": format_hhmm(lot.arrive_by),
        "finish_at": format_hhmm(lot.finish_at),
        "leave_at": format_hhmm(lot.finish_at + AFTERNOON_GAP_MIN),
        "schools": [  # in visiting order: two or more for a mixed-school route
            {
                "school_id": s.school_id,
                "school_name": s.name,
                "school_district": s.district,
                "arrive_by": format_hhmm(s.arrive_by),
                "finish_at": format_hhmm(s.finish_at),
                "leave_at": format_hhmm(s.finish_at + AFTERNOON_GAP_MIN),
            }
            for s in lot.schools
        ],
        "vehicles": vehicles,
        "pas": (
            "none"
            if pas == 0
            else ("required" if len(lot.routes) == 1 else f"required on {_plural(pas, 'route')}")
        ),
        "any_pa": pas > 0,
        "passengers": sum(r.passengers for r in lot.routes),
        "wheelchair_users": sum(r.wheelchair_users for r in lot.routes),
        "areas": _areas(lot.areas()),
        "daily_miles": f"{lot.daily_miles:.1f}",
        "routes": [
            {
                "route_id": r.route_id,
                "vehicle_type": r.vehicle_type,
                "seats": r.seats,
                "wheelchair_spaces": r.wheelchair_spaces,
                "has_pa": r.has_pa,
                "passengers": r.passengers,
                "wheelchair_users": r.wheelchair_users,
                "areas": _areas(r.areas),
                "first_pickup": _about(r.first_pickup),
                "morning": _duration(r.morning_minutes),
                "route_miles": f"{r.route_miles:.1f}",
            }
            for r in lot.routes
        ],
    }


def render_specification(
    lots: Sequence[Lot], *, school_days: int, lot_by: str, title: str | None = None
) -> str:
    """The specification as one self-contained HTML page (a cover, then a page per lot)."""
    return render_template(
        TEMPLATE,
        title=title or "Home-to-school transport: tender specification",
        lots=[lot_context(lot) for lot in lots],
        route_count=sum(len(lot.routes) for lot in lots),
        school_days=school_days,
        lot_by=lot_by,
        afternoon_gap=AFTERNOON_GAP_MIN,
    )


def html_to_pdf(html: str) -> bytes:
    """Print an HTML page to PDF with WeasyPrint (no network: the page has no links)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return bytes(HTML(string=html).write_pdf())
