"""Rendering of results on the terminal. Computes nothing new: it only shows summaries.

Nothing here prints a home location, nor a pupil id unless the user asked (``--verbose-ids``):
counts, reasons and totals only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from transport import formatting

if TYPE_CHECKING:
    from transport.pipeline import RunSummary

console = Console(highlight=False)


money = formatting.money


def print_left_out(
    what: str, ids: list[str], reasons: Mapping[str, str], *, verbose_ids: bool
) -> None:
    """Pupils left unplaced or unrouted: a count per reason, their ids only when asked."""
    if not ids:
        return
    by_reason: dict[str, int] = {}
    for pupil in ids:
        reason = reasons.get(pupil, "no reason given")
        by_reason[reason] = by_reason.get(reason, 0) + 1
    console.print(f"{len(ids):,} pupils could not be {what}:")
    for reason, count in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
        console.print(f"  {count:,} × {reason}")
    if verbose_ids:
        for pupil in ids:
            console.print(f"  {pupil}: {reasons.get(pupil, 'no reason given')}")
    else:
        console.print("  (ids in summary.json, or on the terminal with --verbose-ids)")


def print_placement(summary: RunSummary, out_dir: Path, *, verbose_ids: bool = False) -> None:
    totals = summary.placement
    table = Table(title=f"Placement: {summary.policy}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("pupils", f"{totals['pupils']:,}"),
        ("placed", f"{totals['placed']:,}"),
        ("unplaced", f"{totals['unplaced']:,}"),
        ("road miles, home to school (total)", f"{totals['total_road_miles']:,.0f}"),
        ("road miles, mean per pupil", f"{totals['mean_road_miles']:.2f}"),
        ("pupils over 20 miles from school", f"{totals['pupils_over_20_miles']:,}"),
        (
            "pupils in independent / out-of-county places",
            f"{totals['pupils_in_independent_places']:,}",
        ),
        ("annual place cost", money(totals["annual_place_cost"])),
        ("estimated annual transport cost", money(totals["estimated_annual_transport_cost"])),
    ]
    if totals["places_missing"]:
        rows.append(("places missing (nearest suitable)", f"{totals['places_missing']:,}"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if summary.shortfall_by_need:
        need_rows = ", ".join(f"{k} {v}" for k, v in summary.shortfall_by_need.items())
        console.print(f"Places missing by need: {need_rows} (by school: shortfall.csv)")
    print_left_out("placed", list(summary.unplaced), summary.unplaced, verbose_ids=verbose_ids)
    console.print(f"Wrote {out_dir}")


def print_diff(result: Any, *, verbose_ids: bool, out_file: Path | None) -> None:
    counts = result.counts()
    table = Table(title="Changes between the two runs")
    table.add_column("change")
    table.add_column("pupils", justify="right")
    for kind in ("school", "route", "vehicle", "pa", "pickup", "added", "removed"):
        table.add_row(kind, f"{counts.get(kind, 0):,}")
    console.print(table)
    console.print(f"{result.pupils_affected():,} of {result.pupils_compared:,} pupils affected")
    if getattr(result, "stability", None):
        console.print("As a re-plan counts it (summary.json stability):")
        for line in stability_lines(result.stability):
            console.print(f"  {line}")
    if verbose_ids:
        for c in result.changes:
            console.print(f"{c.pupil_id}  {c.change}: {c.before or '—'} → {c.after or '—'}")
    if out_file is not None:
        console.print(f"Wrote {out_file}")


def search_line(info: dict[str, Any]) -> str:
    """One line on how the searches spent their limit: the mode, time or work used."""
    mode = info.get("mode")
    converged = info.get("schools_converged", 0)
    if mode == "work":
        return (
            f"Search: deterministic work mode, {info.get('work_done', 0):,.1f} of "
            f"{info.get('work_limit') or 0:,g} units of work in {info.get('wall_s', 0):.0f} s "
            f"({converged:,} schools converged): the same data, seed and limit give this plan "
            "again on any machine"
        )
    if mode == "time":
        cut = info.get("schools_stopped_by_clock") or []
        line = (
            f"Search: time mode, {info.get('wall_s', 0):.0f} s of the "
            f"{info.get('time_limit_s') or 0:g} s limit used, {info.get('work_done', 0):,.1f} "
            f"units of work ({converged:,} schools converged)"
        )
        if cut:
            line += f"; {len(cut):,} schools cut short by the clock (a busy machine)"
        return line
    return ""


def print_solve(summary: RunSummary, out_dir: Path, *, verbose_ids: bool = False) -> None:
    """The plan of a solve run: vehicles, PAs, ride times, costs and solver status."""
    t = summary.transport
    by_reason = t.get("over_limit_by_reason") or {}
    table = Table(title=f"Routes: {summary.policy} placement", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("pupils", f"{summary.pupils:,}"),
        ("routed", f"{summary.pupils_routed:,}"),
        ("unplaced / unrouted", f"{len(summary.unplaced):,} / {len(summary.unrouted):,}"),
        ("routes", f"{summary.routes:,}"),
        ("pupils per route (mean)", f"{t['mean_pupils_per_route'] or 0:.2f}"),
        ("solo routes", f"{t['solo_routes']:,}"),
        ("passenger assistants", f"{t['passenger_assistants']:,}"),
        ("ride, mean / max (min)", f"{t['mean_ride_min'] or 0:.1f} / {t['max_ride_min'] or 0:.1f}"),
        (
            "pupils riding over 45 / 75 min",
            f"{t['pupils_over_45_min']:,} / {t['pupils_over_75_min']:,}",
        ),
        (
            "over own limit: long-direct / shared",
            f"{by_reason.get('long-direct', 0):,} / {by_reason.get('shared-saving', 0):,}",
        ),
        (
            "afternoon ride, mean / max (min)",
            f"{t.get('pm_mean_ride_min') or 0:.1f} / {t.get('pm_max_ride_min') or 0:.1f}",
        ),
        ("route miles (one way)", f"{t['route_miles']:,.0f}"),
        ("annual transport cost", money(summary.annual_transport_cost)),
        ("cost per pupil routed", money(summary.cost_per_pupil)),
        ("annual place cost", money(summary.annual_place_cost)),
    ]
    mixed = summary.routing.get("mixed_school")
    if mixed:
        rows.append(
            (
                "mixed-school routes (saving)",
                f"{mixed['mixed_routes']:,} ({money(mixed['annual_saving'])})",
            )
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    fleet = Table(title="Vehicles by type", show_header=True)
    fleet.add_column("type")
    fleet.add_column("routes", justify="right")
    for name, count in summary.vehicles_by_type.items():
        fleet.add_row(name, f"{count:,}")
    console.print(fleet)
    status = ", ".join(f"{k} {v}" for k, v in t["school_status_counts"].items())
    console.print(f"Schools: {status}; solved in {summary.wall_time_s:.0f} s")
    line = search_line(summary.routing or {})
    if line:
        console.print(line)
    if summary.time_limit_reached:
        console.print(
            f"Time limit reached at {len(summary.time_limit_schools):,} schools: their routes "
            "are the best found in the time given (time_limit_schools in summary.json)"
        )
    if summary.stability:
        print_stability(summary.stability)
    print_left_out("placed", list(summary.unplaced), summary.unplaced, verbose_ids=verbose_ids)
    print_left_out("routed", list(summary.unrouted), summary.unrouted, verbose_ids=verbose_ids)
    console.print(f"Wrote {out_dir}")


def stability_lines(stability: Mapping[str, Any]) -> list[str]:
    """The counts of a plan against the plan before it (summary.json ``stability``, or
    ``diff``'s): pupils new / left / changed, families disturbed by reason, routes, cost."""
    p = stability["pupils"]
    changed = f"{p['changed']:,} changed their own data ({p['moved']:,} moved home, stop or school)"
    if not p.get("changed_known", True):
        changed = "changed data unknown (the runs' pupil digests cannot be compared)"
    reasons = ", ".join(f"{k} {v:,}" for k, v in stability["disturbed_by_reason"].items() if v)
    r = stability["routes"]
    lines = [
        f"Pupils: {p['new']:,} new, {p['left']:,} left, {changed}",
        f"Families disturbed who did not change themselves: {stability['disturbed']:,}"
        + (f" ({reasons})" if reasons else ""),
        f"Routes: {r['kept']:,} kept, {r['changed']:,} changed, {r['new']:,} new, "
        f"{r['ended']:,} ended",
        f"Annual cost {money(stability['annual_cost_after'])}: "
        f"{_signed(stability['annual_cost_change'])} against the previous plan",
    ]
    return lines


def _signed(amount: float) -> str:
    return ("+" if amount > 0 else "−" if amount < 0 else "±") + money(abs(amount))


def print_stability(stability: Mapping[str, Any]) -> None:
    """A re-plan's (or a from-scratch plan's) stability against the plan in force."""
    mode = stability.get("mode", "")
    what = "Re-planned from" if mode == "replan" else "Planned from scratch; compared with"
    console.print(f"{what} the plan in force ({stability.get('previous_run', '')}):")
    for line in stability_lines(stability):
        console.print(f"  {line}")
    repairs = {k: v for k, v in (stability.get("repairs_by_reason") or {}).items() if v}
    if repairs:
        text = ", ".join(f"{v:,} × {k}" for k, v in repairs.items())
        console.print(f"  Routes repaired: {text} (route ids in summary.json)")
    locks = stability.get("locks")
    if locks and locks.get("requested"):
        console.print(
            f"  Locked routes: {locks['held']:,} held, {len(locks['ended']):,} ended (every "
            f"pupil left), {len(locks['broken']):,} could not hold"
        )
        for b in locks["broken"]:
            console.print(f"    {b['route_id']}: {'; '.join(b['reasons'])}")
    re = stability.get("reoptimised")
    if re and re.get("components_adopted"):
        console.print(
            f"  Re-optimised: {re['components_adopted']:,} groups of routes changed, saving "
            f"{money(re['annual_saving'])} a year for {re['families_disturbed']:,} families "
            f"disturbed (change cost {money(stability.get('change_cost', 0))} a family)"
        )


def print_sheets(summary: dict[str, Any], out_dir: Path) -> None:
    kind = "operator sheets (redacted)" if summary["redacted"] else "planner sheets"
    console.print(
        f"{_routes(summary['routes'])}, {summary['pickups']:,} pickups: {kind}, pickup point "
        f"{summary['pickup_point']}"
    )
    console.print(f"Wrote {out_dir} (route-sheets.csv, route-sheets.html, summary.json)")


def _routes(n: int) -> str:
    return f"{n:,} route{'' if n == 1 else 's'}"


def print_budgets(summary: dict[str, Any], out_dir: Path) -> None:
    """Personal transport budgets: the cohort (and county-wide) figures, counts and £ only."""
    blocks = [summary["budgets"]] + ([summary["countywide"]] if summary.get("countywide") else [])
    target = money(summary["target"]["annual_saving"])
    rule = summary["parameters"]["budgets"]["rule"]
    table = Table(title=f"Personal transport budgets (rule {rule})", show_header=True)
    table.add_column("measure")
    for b in blocks:
        table.add_column(b["cohort"], justify="right")

    def row(label: str, fn: Any) -> None:
        table.add_row(label, *(fn(b) for b in blocks))

    pct = formatting.percent

    row("pupils priced", lambda b: f"{b['priced']:,}")
    row("routes they ride", lambda b: f"{b['routes']:,}")
    row("budgets at the rule's level (all pupils)", lambda b: money(b["budgets_at_rule_level"]))
    row(
        "pupils saving more than their budget",
        lambda b: f"{b['pupils_saving_more_than_their_budget']:,}",
    )
    row("offers", lambda b: f"{b['offers']['offers']:,}")
    row("expected acceptances", lambda b: f"{b['offers']['expected_acceptances']:,.1f}")
    row("expected net saving", lambda b: money(b["offers"]["expected_net_saving"]))
    row(
        "simulated net saving, 5–95 %",
        lambda b: (
            f"{money(b['simulation']['p5_net_saving'])} – "
            f"{money(b['simulation']['p95_net_saving'])}"
        ),
    )
    row(f"probability of {target}", lambda b: pct(b["simulation"]["probability_of_target"]))
    row(
        f"offers needed for {target}",
        lambda b: (
            "—" if b["target"]["offers_needed"] is None else f"{b['target']['offers_needed']:,}"
        ),
    )
    row(
        "offers needed if every family accepts",
        lambda b: (
            "—"
            if b["target"]["offers_needed_at_full_take_up"] is None
            else f"{b['target']['offers_needed_at_full_take_up']:,}"
        ),
    )
    row(f"uptake needed for {target}", lambda b: pct(b["target"]["uptake_needed"]))
    console.print(table)
    s = summary["savings"]
    if s["routing_gain"] > 0:
        console.print(
            f"Re-planning alone would save {money(s['routing_gain'])} a year on "
            f"{_routes(s['routes_cheaper_replanned_with_everybody'])} (not credited to budgets)"
        )
    if s["routes_whose_cost_does_not_recompute"]:
        console.print(
            f"Warning: {s['routes_whose_cost_does_not_recompute']:,} routes' costs do not "
            "recompute from the run's parameters: do the run and the data folder match?"
        )
    not_priced = summary["budgets"]["not_priced"]
    if not_priced["unplaced"] or not_priced["unrouted"]:
        console.print(
            f"Not priced (no route in the run): {not_priced['unplaced']:,} unplaced, "
            f"{not_priced['unrouted']:,} unrouted; ids in summary.json"
        )
    console.print(f"Wrote {out_dir} (budgets.csv, budget-summary.md/.html, summary.json)")


def print_verify(result: Any, *, verbose_ids: bool = False) -> None:
    """A folder checked against its manifest: the files that differ, or that all match (a
    letter's file named by its pupil id only with ``verbose_ids``)."""
    outputs = sum(1 for c in result.checks if c.role == "output")
    inputs = len(result.checks) - outputs
    if result.ok:
        console.print(
            f"{result.folder}: all {outputs:,} files written and {inputs:,} inputs read match "
            "manifest.json"
        )
        return
    bad = result.differing
    console.print(f"{result.folder}: {len(bad):,} of {len(result.checks):,} files differ:")
    for check in bad:
        console.print(
            f"  {check.status:<16} {check.role:<10} {check.shown(verbose_ids=verbose_ids)}"
        )
