"""``sen-transport compare``: run scenarios side by side and tabulate costs and savings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from transport.cli import options as opt
from transport.cli.common import domain_errors
from transport.cli.render import console
from transport.formatting import money_compact, percent

_pct = percent
_money = money_compact


MEASURES: list[tuple[str, Any]] = [
    ("placement", lambda r: r["policy"] + ("" if r["scope"] == "all" else f" ({r['scope']})")),
    ("prices / network", lambda r: f"{r['prices']} / {r['network']}"),
    ("pupils routed", lambda r: f"{r['pupils_routed']:,} of {r['pupils']:,}"),
    ("unplaced / unrouted", lambda r: f"{r['unplaced']:,} / {r['unrouted']:,}"),
    ("transport cost a year", lambda r: _money(r["annual_transport_cost"])),
    ("place cost a year", lambda r: _money(r["annual_place_cost"])),
    ("PTB offers", lambda r: f"{r['ptb_offers']:,}"),
    ("PTB expected net saving", lambda r: _money(r["ptb_expected_saving"])),
    (
        "  5–95% range",
        lambda r: (
            f"{_money(r['ptb_saving_p5'])} to {_money(r['ptb_saving_p95'])}"
            if r["ptb_offers"]
            else "—"
        ),
    ),
    ("annual total cost", lambda r: _money(r["annual_total_cost"])),
    ("saving vs baseline", lambda r: _money(r["saving_vs_baseline"])),
    ("progress to target", lambda r: _pct(r["target_progress"])),
    ("routes", lambda r: f"{r['routes']:,}"),
]
SERVICE: list[tuple[str, Any]] = [
    ("passenger assistants", lambda r: f"{r['passenger_assistants']:,}"),
    (
        "ride mean / max (min)",
        lambda r: f"{r['mean_ride_min'] or 0:.1f} / {r['max_ride_min'] or 0:.1f}",
    ),
    (
        "rides over 45 / 75 min",
        lambda r: f"{r['pupils_over_45_min']:,} / {r['pupils_over_75_min']:,}",
    ),
    (
        "over own limit: long-direct / shared",
        lambda r: f"{r['over_limit_long_direct']:,} / {r['over_limit_shared_saving']:,}",
    ),
    ("independent / out-of-county", lambda r: f"{r['independent_or_out_of_county']:,}"),
    ("places missing / added", lambda r: f"{r['places_missing']:,} / {r['places_added']:,}"),
    ("wall time (s)", lambda r: f"{r['wall_time_s']:.1f}"),
    ("re-used from cache", lambda r: ", ".join(r["reused"]) or "—"),
]


def _chunks(doc: dict[str, Any], width: int) -> list[list[dict[str, Any]]]:
    """Scenarios in groups whose tables fit the terminal's width (at least one a group)."""
    label = 31
    out: list[list[dict[str, Any]]] = [[]]
    used = label
    for r in doc["scenarios"]:
        col = max(14, min(len(r["scenario"]), 20)) + 3
        if out[-1] and used + col > width:
            out.append([])
            used = label
        out[-1].append(r)
        used += col
    return out


def print_comparison(doc: dict[str, Any], out_dir: Path) -> None:
    """The comparison as tables: one column per scenario (as many as the width allows)."""
    measures = [
        *MEASURES,
        *(
            (f"  {vt}", lambda r, vt=vt: f"{r['vehicles_by_type'][vt]:,}")
            for vt in doc["vehicle_types"]
        ),
        *SERVICE,
    ]
    groups = _chunks(doc, console.width)
    for k, group in enumerate(groups, start=1):
        title = f"Scenarios against {doc['baseline']} (target {_money(doc['target'])} a year)"
        if len(groups) > 1:
            title += f" — {k} of {len(groups)}"
        table = Table(title=title, show_header=True)
        table.add_column("measure", no_wrap=True)
        for r in group:
            width = max(14, min(len(r["scenario"]), 20))
            table.add_column(r["scenario"], justify="right", overflow="fold", min_width=width)
        for label, fmt in measures:
            table.add_row(label, *(fmt(r) for r in group))
        console.print(table)
    console.print(f"Wrote {out_dir / 'comparison.csv'} and comparison.json (every figure in full)")


def _write_report(out_dir: Path, data_dir: Path) -> None:
    """Render report.html and each scenario's routes.geojson from the compare folder (its
    temporary folder, before it takes its place)."""
    from transport.report import write_report

    write_report(out_dir, data_dir=data_dir)


@click.command()
@click.argument(
    "scenario_files",
    metavar="SCENARIO...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
@opt.data_option
@opt.districts_file_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Comparison folder to write (new, empty or one compare wrote; replaced whole when done).",
)
@opt.apply(*opt.ROUTING, opt.DRAWS)
@opt.comparison_options
@opt.apply(*opt.TRAVEL)
@opt.network_options
@opt.scheduler_option
@opt.quiet_option
@domain_errors
def compare(
    scenario_files: tuple[Path, ...],
    data_dir: Path,
    districts_file: Path | None,
    out_dir: Path,
    no_cache: bool,
    no_report: bool,
    cache_dir: Path | None,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Run scenarios on one data set and compare their costs, savings and service.

    The first scenario (or the one named "baseline") is the baseline. Each scenario is
    placed, routed, priced and (when its [budgets] table says offer = true) given budget
    offers; placements, routes and budgets whose inputs did not change are re-used from the
    cache (OUT/cache, or CACHE_DIR/compare with --cache-dir, which also holds road graphs).
    Options given here override every scenario's own setting of the same key (--network osm
    with a map replaces their [travel] network). Writes OUT/comparison.csv,
    OUT/comparison.json, OUT/scenarios/NAME/ (a solve run folder each), OUT/report.html with
    each scenario's routes.geojson and routes.gpkg, and the table below; totals only.

    \b
    Example:
      sen-transport compare scenarios/*.toml --data data/kent --out runs/compare
      sen-transport compare scenarios/baseline.toml scenarios/ptb-trial.toml \\
          --data data/kent --out runs/ptb --time-limit 60
    """
    from transport.cluster import cluster_executor
    from transport.compare import compare_scenarios

    err = Console(stderr=True, highlight=False)
    with cluster_executor(scheduler) as executor:
        doc = compare_scenarios(
            scenario_files,
            data_dir,
            out_dir,
            overrides=opt.given_overrides(),
            cache_dir=cache_dir / "compare" if cache_dir is not None else None,
            graph_cache_dir=cache_dir,
            use_cache=not no_cache,
            districts_file=districts_file,
            executor=executor,
            progress=None if quiet else (lambda msg: err.print(f"[dim]{msg}[/dim]")),
            finish=None if no_report else (lambda folder: _write_report(folder, data_dir)),
        )
    print_comparison(doc, out_dir)
    if not no_report:
        console.print(f"Wrote {out_dir / 'report.html'}")
