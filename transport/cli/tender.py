"""``sen-transport tender``, ``award`` and ``impact``: tender packs, the optimal award, and
who a retender or re-plan affects.

Options are declared here (the shared decorators of :mod:`transport.cli.common` are being
reworked, #12); each command calls one job of :mod:`transport.tender.jobs` and renders its
summary: counts and money only, never a pupil id or a home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.render import console, money
from transport.tender.award import MAX_RATIO

_DIR = click.Path(path_type=Path, file_okay=False)
_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--data",
    "data_dir",
    type=_DIR,
    default=Path("data/kent"),
    show_default=True,
    help="The data folder RUN_DIR was solved from (schools, pupils, vehicle rates).",
)
@click.option(
    "--out", "out_dir", type=_DIR, required=True, help="Tender folder to write (replaced whole)."
)
@click.option(
    "--lot-by",
    type=click.Choice(["route", "school"]),
    default="route",
    show_default=True,
    help="One lot per route, or one lot per school (all its routes).",
)
@click.option(
    "--pdf/--no-pdf",
    default=True,
    show_default=True,
    help="Also print specification.pdf (WeasyPrint: about 0.1 s of CPU a page).",
)
@domain_errors
def tender(run_dir: Path, data_dir: Path, out_dir: Path, lot_by: str, pdf: bool) -> None:
    """Write a tender pack for RUN_DIR (a run of 'sen-transport solve').

    lots.csv gives each lot's routes, vehicles, PA, school times and its notional price as the
    rate card prices it (daily and annual, with the day-rate, mileage and PA parts);
    specification.html / .pdf give one page per lot for operators, with no pupil data
    (pickup areas as postcode districts).

    \b
    Example:
      sen-transport tender runs/latest --data data/kent --out tenders/2026 --lot-by route
    """
    from transport.tender.jobs import tender_job

    summary = tender_job(run_dir, data_dir, out_dir, lot_by=lot_by, pdf=pdf)
    print_tender(summary, out_dir)


def print_tender(summary: dict[str, Any], out_dir: Path) -> None:
    table = Table(title=f"Tender: lots by {summary['lot_by']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("lots", f"{summary['lots']:,}")
    table.add_row("routes", f"{summary['routes']:,}")
    table.add_row("pupils carried", f"{summary['pupils']:,}")
    table.add_row("passenger assistants", f"{summary['passenger_assistants']:,}")
    table.add_row("notional price a school day", f"£{summary['notional_daily']:,.2f}")
    table.add_row(
        f"notional price a year ({summary['school_days']} days)",
        money(summary["notional_annual"]),
    )
    console.print(table)
    vehicles = ", ".join(f"{n:,} {t}" for t, n in summary["vehicles_by_type"].items())
    console.print(f"Vehicles: {vehicles}")
    console.print(f"Wrote {out_dir} ({', '.join(summary['files'])}, summary.json)")


@click.command()
@click.argument("tender_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--bids",
    "bids_file",
    type=_FILE,
    required=True,
    help="bids.csv: operator_id, lot_id, daily_price (£ a school day).",
)
@click.option(
    "--operators",
    "operators_file",
    type=_FILE,
    default=None,
    help="operators.csv: operator_id, name, phone, max_lots, one column per vehicle type.",
)
@click.option(
    "--out", "out_dir", type=_DIR, required=True, help="Award folder to write (replaced whole)."
)
@click.option(
    "--max-ratio",
    type=opt.Bounded(float, 0.0, MAX_RATIO, low_open=True),
    default=1.3,
    show_default=True,
    help="Bids above this × the notional price are not awarded automatically (listed); "
    "more than 0, at most 100.",
)
@click.option(
    "--low-ratio",
    type=opt.Bounded(float, 0.0, MAX_RATIO),
    default=0.7,
    show_default=True,
    help="Bids below this × the notional price are flagged as abnormally low (0-100).",
)
@click.option(
    "--time-limit",
    "time_limit_s",
    type=opt.SECONDS,
    default=60.0,
    show_default=True,
    help="Seconds the solver may take in all (more than 0, at most 86,400).",
)
@click.option(
    "--seed",
    type=opt.SEED,
    default=0,
    show_default=True,
    help="Solver seed (0 to 2,147,483,647).",
)
@domain_errors
def award(
    tender_dir: Path,
    bids_file: Path,
    operators_file: Path | None,
    out_dir: Path,
    max_ratio: float,
    low_ratio: float,
    time_limit_s: float,
    seed: int,
) -> None:
    """Award TENDER_DIR's lots to bidders optimally (OR-Tools CP-SAT, exact).

    Each lot to at most one bidder; no operator over its max_lots or its vehicles of a type;
    first as many lots as possible, then the least total annual price. Writes award.csv,
    unawarded.csv, bids-review.csv, route-operators.csv (for letters) and award-summary.json.

    \b
    Example:
      sen-transport award tenders/2026 --bids bids.csv --operators operators.csv --out awards/2026
    """
    from transport.tender.jobs import award_job

    summary = award_job(
        tender_dir,
        bids_file,
        out_dir,
        operators_file=operators_file,
        max_ratio=max_ratio,
        low_ratio=low_ratio,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    print_award(summary, out_dir)


def print_award(summary: dict[str, Any], out_dir: Path) -> None:
    solver = summary["solver"]
    table = Table(title="Award")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("lots awarded", f"{summary['lots_awarded']:,} of {summary['lots']:,}")
    for reason, n in summary["unawarded_by_reason"].items():
        if n:
            table.add_row(f"  not awarded: {reason}", f"{n:,}")
    table.add_row("bids", f"{summary['bids']:,} from {summary['bidders']:,} operators")
    table.add_row(
        f"bids over {summary['max_ratio']:g} × notional (not awarded)",
        f"{summary['bids_over_max_ratio']:,}",
    )
    table.add_row(
        f"awarded bids under {summary['low_ratio']:g} × notional (flagged)",
        f"{len(summary['abnormally_low_awarded']):,}",
    )
    table.add_row("annual price of the awarded lots", money(summary["annual_price"]))
    table.add_row("their notional price", money(summary["notional_annual_awarded"]))
    table.add_row("saving against notional", money(summary["saving_vs_notional"]))
    console.print(table)
    proof = "proven optimal" if solver["proven_optimal"] else "NOT proven optimal (time limit)"
    statuses = ", ".join(p["status"] for p in solver["phases"])
    console.print(f"Solved exactly with {solver['engine']}: {proof} ({statuses})")
    if summary["abnormally_low_awarded"]:
        console.print(
            "Abnormally low awarded bids (ask the operator to explain the price): lots "
            + ", ".join(summary["abnormally_low_awarded"])
        )
    console.print(f"Wrote {out_dir} ({', '.join(summary['files'])}, summary.json)")


@click.command()
@click.argument("current_run", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("proposed_run", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--data",
    "data_dir",
    type=_DIR,
    default=Path("data/kent"),
    show_default=True,
    help="The data folder of PROPOSED_RUN (pupils' needs and ages, school names).",
)
@click.option(
    "--out", "out_dir", type=_DIR, required=True, help="Folder to write (replaced whole)."
)
@click.option(
    "--award",
    "award_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The award folder of PROPOSED_RUN's tender (or its route-operators.csv).",
)
@click.option(
    "--current-operators",
    type=_FILE,
    default=None,
    help="route-operators.csv of CURRENT_RUN: who runs each route today.",
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="A pickup moving by more than this is a change.",
)
@domain_errors
def impact(
    current_run: Path,
    proposed_run: Path,
    data_dir: Path,
    out_dir: Path,
    award_path: Path | None,
    current_operators: Path | None,
    minutes: float,
) -> None:
    """Who a retender or re-plan affects: CURRENT_RUN against PROPOSED_RUN, pupil by pupil.

    Changes of school, route, vehicle, PA, pickup time and operator; disturbed families (the
    nightly re-plan's definition); children vulnerable to change (travel alone, need a PA,
    wheelchair, ASD or SEMH, age 10 or under). Writes impact.csv (pseudonymous ids),
    impact-by-school.csv and impact.html (counts only, for a committee paper).

    \b
    Example:
      sen-transport impact runs/2026-07-01 runs/proposed --data data/kent --out impact \\
          --award awards/2026 --current-operators contracts/route-operators.csv
    """
    from transport.tender.jobs import impact_job

    summary = impact_job(
        current_run,
        proposed_run,
        data_dir,
        out_dir,
        award=award_path,
        current_operators=current_operators,
        minutes=minutes,
    )
    print_impact(summary, out_dir)


def print_impact(summary: dict[str, Any], out_dir: Path) -> None:
    table = Table(title="Impact on families")
    table.add_column("measure")
    table.add_column("pupils", justify="right")
    table.add_row("in either plan", f"{summary['pupils']:,}")
    table.add_row("any change", f"{summary['changed']:,}")
    for kind, n in summary["counts"].items():
        if kind == "operator" and not summary["operator_changes_counted"]:
            table.add_row("  operator", "not known")
        else:
            table.add_row(f"  {kind}", f"{n:,}")
    table.add_row("disturbed (re-planning definition)", f"{summary['disturbed']:,}")
    table.add_row("vulnerable to change and disturbed", f"{summary['vulnerable_disturbed']:,}")
    console.print(table)
    console.print(
        f"Annual cost {money(summary['annual_cost_current'])} → "
        f"{money(summary['annual_cost_proposed'])} "
        f"(change {money(summary['annual_cost_change'])})"
    )
    console.print(f"Wrote {out_dir} ({', '.join(summary['files'])}, summary.json)")
