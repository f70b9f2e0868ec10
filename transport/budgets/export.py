"""Export: the PTB trial team's run folder — budgets.csv, a one-page summary and summary.json.

Only what a budget letter needs leaves the engine: no needs, no home locations, no routes.

``budgets.csv`` (one row per priced pupil of the cohort, by ``pupil_id``)
    pupil_id, district, school_id, rule, annual_budget, marginal_saving, net_saving
    (= marginal_saving − annual_budget), offered (0/1), monthly_instalment (annual / 11),
    basis (how the budget is worked out), straight_miles (home → school, straight line).
``budget-summary.md`` and ``budget-summary.html``
    one page: offers, expected uptake, expected net saving with its 5–95 % range, probability
    and risk of missing the target, offers and uptake the target needs; the HTML is
    self-contained (inline CSS, nothing fetched).
``summary.json``
    the contract's keys for the cohort, plus ``budgets`` (the cohort's figures),
    ``countywide`` (the same for every district, when the cohort is smaller) and
    ``parameters`` (every setting used).

The folder is written atomically with :func:`transport.runs.write.write_run`, files readable by
their owner only.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from transport.budgets.assess import BudgetRow, CohortAssessment
from transport.formatting import money, percent
from transport.runs.write import write_run

BUDGET_COLUMNS = (
    "pupil_id",
    "district",
    "school_id",
    "rule",
    "annual_budget",
    "marginal_saving",
    "net_saving",
    "offered",
    "monthly_instalment",
    "basis",
    "straight_miles",
)
SUMMARY_MD = "budget-summary.md"
SUMMARY_HTML = "budget-summary.html"


def budget_rows(rows: list[BudgetRow]) -> list[tuple[Any, ...]]:
    """budgets.csv rows (money with two decimals, miles with two)."""
    return [
        (
            r.pupil_id,
            r.district,
            r.school_id,
            r.rule,
            f"{r.annual_budget:.2f}",
            f"{r.marginal_saving:.2f}",
            f"{r.net_saving:.2f}",
            int(r.offered),
            f"{r.monthly_instalment:.2f}",
            r.basis,
            f"{r.straight_miles:.2f}",
        )
        for r in rows
    ]


def budget_summary(
    cohort: CohortAssessment,
    countywide: CohortAssessment | None,
    *,
    data_source: str,
    run_dir: str,
    target: float,
    savings: dict[str, Any],
    parameters: dict[str, Any],
    wall_s: float,
) -> dict[str, Any]:
    """summary.json of a budgets run: the contract's keys for the cohort, then its figures."""
    return {
        "stage": "budgets",
        "data": data_source,
        "source_run": run_dir,
        "pupils": cohort.pupils,
        "routes": len(cohort.routes),
        "annual_transport_cost": round(cohort.transport_cost, 2),
        "annual_place_cost": None,
        "unplaced": list(cohort.unplaced),
        "unrouted": list(cohort.unrouted),
        "budgets": cohort.totals(),
        "countywide": countywide.totals() if countywide is not None else None,
        "target": {"annual_saving": target},
        "savings": savings,
        "parameters": parameters,
        "wall_s": round(wall_s, 2),
    }


def json_safe(value: Any) -> Any:
    """Infinite numbers (an open-ended band) as the string ``"inf"``: strict JSON has none."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_budget_run(
    out_dir: str | Path, *, summary: dict[str, Any], rows: list[BudgetRow]
) -> Path:
    """Write budgets.csv, the one-page summaries and summary.json as one run folder, atomically."""
    return write_run(
        out_dir,
        summary=json_safe(summary),
        extra={"budgets.csv": (BUDGET_COLUMNS, budget_rows(rows))},
        texts={SUMMARY_MD: render_markdown(summary), SUMMARY_HTML: render_html(summary)},
        kind="budgets",
    )


# --------------------------------------------------------------------------------------------
# The one-page summary: rows computed once, rendered as Markdown and as HTML


_money = money


def _pct(x: float | None) -> str:
    return percent(x, decimals=0 if x in (0.0, 1.0) else 1)


def _needs(t: dict[str, Any], offers: dict[str, Any]) -> tuple[str, str, str]:
    """What the target needs, in words: offers at the modelled uptake, at full take-up, uptake."""

    def count(n: int | None, short: str) -> str:
        return f"{n:,} of {offers['offers']:,}" if n is not None else short

    never = "not reached even if every family accepts"
    if t["uptake_needed"] is not None:
        uptake = f"{t['uptake_needed']:.1%} ({t['acceptances_needed']:,.0f} acceptances)"
    else:
        uptake = never
    return (
        count(t["offers_needed"], "not reached at the modelled uptake"),
        count(t["offers_needed_at_full_take_up"], never),
        uptake,
    )


def summary_rows(summary: dict[str, Any]) -> tuple[list[str], list[tuple[str, ...]]]:
    """The summary table: a header and one row per measure (cohort, then county-wide)."""
    blocks = [summary["budgets"]] + ([summary["countywide"]] if summary.get("countywide") else [])
    target = _money(summary["target"]["annual_saving"])
    header = ["measure"] + [
        "trial cohort" if b["cohort"] == "trial" else b["cohort"] for b in blocks
    ]
    rows: list[tuple[str, ...]] = []

    def add(label: str, fn: Any) -> None:
        rows.append((label, *(fn(b) for b in blocks)))

    add("pupils priced", lambda b: f"{b['priced']:,}")
    add(
        "budgets at the rule's level, if all took one", lambda b: _money(b["budgets_at_rule_level"])
    )
    add(
        "pupils who save more than their budget",
        lambda b: f"{b['pupils_saving_more_than_their_budget']:,}",
    )
    add("offers", lambda b: f"{b['offers']['offers']:,}")
    add(
        "expected uptake",
        lambda b: (
            f"{b['offers']['expected_acceptances']:,.1f} families "
            f"({_pct(b['offers']['expected_uptake_rate'])})"
        ),
    )
    add("expected transport saving", lambda b: _money(b["offers"]["expected_transport_saving"]))
    add("expected budgets paid", lambda b: _money(b["offers"]["expected_budgets_paid"]))
    add("expected net saving a year", lambda b: _money(b["offers"]["expected_net_saving"]))
    add(
        "simulated net saving: mean (5–95 % range)",
        lambda b: (
            f"{_money(b['simulation']['mean_net_saving'])} "
            f"({_money(b['simulation']['p5_net_saving'])} – "
            f"{_money(b['simulation']['p95_net_saving'])})"
        ),
    )
    add(
        "net saving if every offer is accepted",
        lambda b: _money(b["offers"]["net_saving_if_all_accept"]),
    )
    add(
        f"probability of reaching {target}",
        lambda b: _pct(b["simulation"]["probability_of_target"]),
    )
    add(f"risk of missing {target}", lambda b: _pct(b["simulation"]["risk_of_missing_target"]))
    add(
        f"offers needed for {target} at the modelled uptake",
        lambda b: _needs(b["target"], b["offers"])[0],
    )
    add(
        f"offers needed for {target} if every family accepts",
        lambda b: _needs(b["target"], b["offers"])[1],
    )
    add(f"uptake needed for {target}", lambda b: _needs(b["target"], b["offers"])[2])
    return header, rows


def _notes(summary: dict[str, Any]) -> list[str]:
    p = summary["parameters"]["budgets"]
    b = summary["budgets"]
    model = (
        f"every family accepts with probability {p['uptake']:.0%}"
        if p["uptake_model"] == "fixed"
        else f"logistic in budget ÷ current cost (intercept {p['uptake_intercept']}, "
        f"slope {p['uptake_slope']})"
    )
    sim = b["simulation"]
    savings = summary["savings"]
    notes = [
        f"Budgets: rule **{p['rule']}**, pro rata for part-time pupils, "
        f"£{p['travel_saver_cost']:,.0f} 16+ Travel Saver deducted at ages 16–19 "
        "(an assumption to set), paid in 11 monthly instalments (September to July).",
        "Savings: each route is re-planned without the pupils who leave it; acceptances on "
        "the same route are counted together, never added up one by one.",
        "Offers: "
        + (
            "no combination of acceptances may cost more than it saves."
            if not p["allow_loss"]
            else "offers that may lose money are allowed (allow_loss)."
        )
        + f" Levels offered: {', '.join(f'{x:g}' for x in p['offer_levels'])} × the rule's budget.",
        f"Uptake: {model}; {sim['draws']:,} simulated draws, seed {sim['seed']}.",
    ]
    if savings["routing_gain"] > 0:
        notes.append(
            f"Re-planning alone would save {_money(savings['routing_gain'])} a year on "
            f"{savings['routes_cheaper_replanned_with_everybody']} route"
            f"{'' if savings['routes_cheaper_replanned_with_everybody'] == 1 else 's'}; "
            "that is not credited to budgets."
        )
    if savings["routes_whose_cost_does_not_recompute"]:
        notes.append(
            f"Warning: {savings['routes_whose_cost_does_not_recompute']} routes' costs do not "
            "recompute from the run's parameters; check the run and the data folder match."
        )
    return notes


def _title(summary: dict[str, Any]) -> str:
    b = summary["budgets"]
    where = "all districts" if b["districts"] == "all" else ", ".join(b["districts"])
    return f"Personal transport budgets: {b['cohort']} ({where})"


def render_markdown(summary: dict[str, Any]) -> str:
    """The one-page summary as Markdown."""
    header, rows = summary_rows(summary)
    lines = [
        f"# {_title(summary)}",
        "",
        f"Run `{summary['source_run']}` · target: cut SEN transport cost by "
        f"{_money(summary['target']['annual_saving'])} a year, net of budgets paid.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", *[f"- {n}" for n in _notes(summary)], ""]
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.45rem;margin-bottom:.3rem}p.meta{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{padding:.4rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f2f5f8}
tr.key td{font-weight:600;background:#fbfbf4}ul{padding-left:1.2rem}li{margin:.25rem 0}
@media print{body{margin:0}}
"""

KEY_ROWS = ("expected net saving", "simulated net saving", "probability of reaching")


def render_html(summary: dict[str, Any]) -> str:
    """The one-page summary as a self-contained HTML page (inline CSS, no scripts)."""
    header, rows = summary_rows(summary)
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "\n".join(
        ('<tr class="key">' if r[0].startswith(KEY_ROWS) else "<tr>")
        + "".join(f"<td>{esc(c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    notes = "\n".join(f"<li>{esc(n).replace('**', '')}</li>" for n in _notes(summary))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(_title(summary))}</title><style>{CSS}</style></head><body>\n"
        f"<h1>{esc(_title(summary))}</h1>\n"
        f'<p class="meta">Run <code>{esc(str(summary["source_run"]))}</code> · target: cut SEN '
        f"transport cost by {esc(_money(summary['target']['annual_saving']))} a year, net of "
        "budgets paid.</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>\n"
        f"<ul>\n{notes}\n</ul>\n</body></html>\n"
    )
