"""``sen-transport site``: where to open places and new schools, chosen exactly.

The siting options are declared here for now (#12 moved the shared settings to
:mod:`transport.cli.options`; these are not scenario keys); the data, output, travel and cost
options are the shared ones, and ``--scenario`` supplies the travel and cost settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.render import console, money, print_left_out
from transport.errors import ParameterError
from transport.model import NEED_CODES
from transport.placement.siting import MAX_BUILD_BUDGET, SOLVERS, SitingOptions
from transport.site_job import site_job


def _needs(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    lookup = {n.upper(): n for n in NEED_CODES}
    out = []
    for part in text.replace(";", ",").split(","):
        code = part.strip()
        if not code:
            continue
        if code.upper() not in lookup:
            raise ParameterError(f"--needs: unknown need {code!r} (known: {', '.join(NEED_CODES)})")
        out.append(lookup[code.upper()])
    return tuple(out)


def print_site(summary: dict[str, Any], out_dir: Path, *, verbose_ids: bool = False) -> None:
    """The siting run on the terminal: counts and totals, never a pupil id unless asked."""
    from rich.table import Table

    solve = summary["solve"]
    if summary["solved_exactly"]:
        status = f"solved exactly (proven optimal) in {solve['wall_time_s']:.1f} s"
    else:
        status = (
            f"time limit reached after {solve['wall_time_s']:.1f} s: best choice found, "
            f"optimality gap {summary['optimality_gap']:.2%}"
        )
    console.print(f"Capacity planning ({solve['solver']}): {status}")
    table = Table(show_header=True)
    table.add_column("site")
    table.add_column("name", no_wrap=True, max_width=44, overflow="ellipsis")
    for col in ("type", "need"):
        table.add_column(col)
    for col in ("places", "build £", "saves £ a year"):
        table.add_column(col, justify="right")
    rows = summary["sites"]
    for r in rows:
        table.add_row(
            r["site_id"],
            r["name"],
            r["type"],
            r["need"],
            f"{r['places']:,}",
            money(r["build_cost"]),
            money(r["annual_saving"]),
        )
    if rows:
        console.print(table)
    else:
        console.print("No site is worth opening and no school worth expanding.")
    out = summary["pupils_out_of_county"]
    payback = summary["payback_years"]
    lines = [
        ("annual cost before (optimal placement, today's places)", summary["annual_cost_before"]),
        ("annual cost after (places + estimated transport)", summary["annual_cost_after"]),
        ("annual saving", summary["annual_saving"]),
        ("build cost", summary["build_cost"]),
        (f"build cost a year ({summary['definitions']['annualisation']})", None),
        ("net annual saving", summary["net_annual_saving"]),
    ]
    for label, value in lines:
        shown = money(summary["annual_build_cost"]) if value is None else money(value)
        console.print(f"  {label}: {shown}")
    console.print(f"  payback: {'never' if payback is None else f'{payback:.1f} years'}")
    console.print(f"  pupils out of county: {out['before']:,} → {out['after']:,}")
    print_left_out(
        "placed",
        summary["unplaced"],
        summary.get("unplaced_reasons") or {},
        verbose_ids=verbose_ids,
    )
    console.print(f"Wrote {out_dir} (sites.csv, placements.csv, summary.json, report.html)")


@click.command()
@opt.data_option
@opt.districts_file_option
@click.option(
    "--candidates",
    "candidates_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="candidates.csv: new sites (site_id, ...) and expansions (school_id, max_extra).",
)
@opt.out_option
@opt.scenario_option
@click.option(
    "--places", type=opt.PLACES, default=None, help="At most N places added (up to 100,000)."
)
@click.option(
    "--needs", default=None, metavar="LIST", help="Only candidates serving these needs (ASD,SEMH)."
)
@click.option(
    "--years",
    type=click.IntRange(1, 200),
    default=30,
    show_default=True,
    help="Years the build cost is spread over.",
)
@click.option(
    "--discount-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="0: build cost / years; else the annuity at this rate (e.g. 0.035).",
)
@click.option(
    "--max-sites", type=opt.PLACES, default=None, help="At most K new sites (up to 100,000)."
)
@click.option(
    "--budget",
    type=opt.Bounded(float, 0.0, MAX_BUILD_BUDGET),
    default=None,
    metavar="£",
    help="At most this much build cost (up to £100bn).",
)
@click.option(
    "--solver",
    type=click.Choice(SOLVERS),
    default="benders",
    show_default=True,
    help="Benders decomposition (exact, fast), or the whole MIP in SCIP, CBC, HiGHS, CP-SAT.",
)
@click.option(
    "--time-limit",
    type=opt.SECONDS,
    default=60.0,
    show_default=True,
    help="Seconds for the solver (more than 0, at most 86,400).",
)
@click.option(
    "--seed",
    type=opt.SEED,
    default=0,
    show_default=True,
    help="The solver's random seed (0 to 2,147,483,647).",
)
@click.option(
    "--scope",
    type=click.Choice(["all", "new-entrants"]),
    default="all",
    show_default=True,
    help="Re-place every pupil, or only the new entrants (the others keep their school).",
)
@opt.apply(*opt.TRAVEL)
@opt.network_options
@opt.EST_COST_PER_PUPIL_MILE
@opt.verbose_ids_option
@domain_errors
def site(
    data_dir: Path,
    districts_file: Path | None,
    candidates_file: Path,
    out_dir: Path,
    scenario_file: Path | None,
    places: int | None,
    needs: str | None,
    years: int,
    discount_rate: float,
    max_sites: int | None,
    budget: float | None,
    solver: str,
    time_limit: float,
    seed: int,
    scope: str,
    cache_dir: Path | None,
    verbose_ids: bool,
) -> None:
    """Choose which candidate sites to open and where to add places, exactly.

    Minimises the county's annual cost: place costs + estimated transport (the optimal
    policy's objective) + each opened site's build cost spread over --years, after placing
    every pupil the places allow. Writes sites.csv, placements.csv, summary.json,
    sites.geojson and report.html.

    \b
    Example:
      sen-transport site --data data/kent --candidates data/kent/candidates.csv \\
          --out runs/site --max-sites 3
    """
    scenario = opt.scenario_with_overrides(scenario_file)
    options = SitingOptions(
        places=places,
        needs=_needs(needs),
        years=years,
        discount_rate=discount_rate,
        max_sites=max_sites,
        budget=budget,
        time_limit_s=time_limit,
        solver=solver,
        seed=seed,
        scope=scope,
    )
    summary = site_job(
        data_dir,
        candidates_file,
        out_dir,
        options=options,
        scenario=scenario,
        cache_dir=cache_dir,
        districts_file=districts_file,
    )
    print_site(summary, out_dir, verbose_ids=verbose_ids)
