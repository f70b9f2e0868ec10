"""Rendering of results on the terminal. Computes nothing new: it only shows summaries.

Nothing here prints a pupil id or a home location; only counts and totals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(highlight=False)


def money(value: float | None) -> str:
    return "—" if value is None else f"£{value:,.0f}"


def print_placement(summary: dict[str, Any], out_dir: Path) -> None:
    totals = summary["placement"]
    table = Table(title=f"Placement: {summary['policy']}", show_header=True)
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
    if summary.get("shortfall_by_need"):
        need_rows = ", ".join(f"{k} {v}" for k, v in summary["shortfall_by_need"].items())
        console.print(f"Places missing by need: {need_rows} (by school: shortfall.csv)")
    if summary["unplaced"]:
        console.print(
            f"{len(summary['unplaced'])} pupils could not be placed; reasons in summary.json"
        )
    console.print(f"Wrote {out_dir}")


def print_diff(result: Any, *, verbose_ids: bool, out_file: Path | None) -> None:
    counts = result.counts()
    table = Table(title="Changes between the two runs")
    table.add_column("change")
    table.add_column("pupils", justify="right")
    for kind in ("school", "route", "vehicle", "pickup", "added", "removed"):
        table.add_row(kind, f"{counts.get(kind, 0):,}")
    console.print(table)
    console.print(f"{result.pupils_affected():,} of {result.pupils_compared:,} pupils affected")
    if verbose_ids:
        for c in result.changes:
            console.print(f"{c.pupil_id}  {c.change}: {c.before or '—'} → {c.after or '—'}")
    if out_file is not None:
        console.print(f"Wrote {out_file}")
