"""Crew packs: one PDF per route for its operator (redacted) and its passenger assistant.

``sen-transport sheets RUN --data DIR --out OUT --packs`` writes, beside the route sheets,

``packs/operator/<route_id>.pdf``
    every route: school and arrive-by time (a mixed-school route: each of its schools in
    visiting order with its own arrive-by time, and each pupil's school), vehicle, whether a
    passenger assistant rides, and the stops in order both ways (morning pickup times;
    afternoon drop-off times when the plan has them, else the order), with each pupil's pickup
    point and whether they travel in a wheelchair. Redacted as ``sheets --redact`` is: no
    need, age, solo flag or other health data — those values are not even given to the
    template;
``packs/pa/<route_id>.pdf``
    routes with a passenger assistant: the same, plus which pupils need the assistant's help;
``packs/operator.pdf``, ``packs/pa.pdf``
    every pack of each kind, one route to a page, to print.

The rows are the route sheets' own (:func:`transport.runs.sheets.sheet_rows`), so a pack and a
sheet never disagree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transport.errors import InputError, Problem
from transport.letters.content import StopColumns, read_stop_columns
from transport.letters.output import safe_file_name
from transport.letters.pdf import Engine, Job, Printer, choose_engine
from transport.letters.render import (
    Template,
    base_url,
    load_template,
    render_page,
    split_page,
)
from transport.model import Dataset
from transport.runs.sheets import PLANNER_COLUMNS, SHEET_COLUMNS, route_school_times, sheet_rows
from transport.runs.write import RunFiles, write_csv, write_folder, write_text

PACK_TEMPLATE = "pack.html"
PACKS_DIR = "packs"
COPIES = ("operator", "pa")


def pack_contexts(
    data: Dataset,
    run: RunFiles,
    *,
    postcodes: Mapping[str, str],
    stops: StopColumns,
    vehicles_accessible: Mapping[str, bool] | None = None,
    today: dt.date | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The template variables of every pack: ``{"operator": [...], "pa": [...]}``, by route.

    The operator's stops carry no ``needs_pa`` (nor any other health field): a template that
    asks for one in an operator's copy fails instead of printing it. ``schools`` lists the
    route's schools in visiting order (``school_id``, ``school_name``, ``arrive_by``); the
    top-level ``school_*`` and ``arrive_by`` are the first one's (a single-school route's
    only one), and each stop names its pupil's own school (``school_name``).
    """
    columns = SHEET_COLUMNS + PLANNER_COLUMNS
    rows = [
        dict(zip(columns, r, strict=True))
        for r in sheet_rows(data, run, redact=False, postcodes=postcodes)
    ]
    accessible = vehicles_accessible or {
        v.vehicle_type: v.wheelchair_spaces > 0 for v in data.vehicles
    }
    dropoff = stops.dropoff or {}
    visits = route_school_times(data, run)
    by_route: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_route.setdefault(str(row["route_id"]), []).append(row)
    generated = (today or dt.date.today()).isoformat()
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in COPIES}
    for route_id, route_rows in by_route.items():
        first = route_rows[0]
        for copy in COPIES:
            if copy == "pa" and first["passenger_assistant"] != "yes":
                continue
            stops_out = []
            for row in route_rows:
                stop = {
                    "seq": row["seq"],
                    "pupil_id": row["pupil_id"],
                    "pickup_point": row["pickup_point"],
                    "pickup_time": row["pickup_time"],
                    "dropoff_time": dropoff.get(str(row["pupil_id"])),
                    "wheelchair": row["wheelchair"],
                    "school_id": row["school_id"],
                    "school_name": row["school_name"],
                }
                if copy == "pa":
                    stop["needs_pa"] = row["needs_pa"]
                stops_out.append(stop)
            out[copy].append(
                {
                    "copy": copy,
                    "route_id": route_id,
                    "school_id": first["school_id"],
                    "school_name": first["school_name"],
                    "arrive_by": first["arrive_by"],
                    "schools": [
                        {"school_id": sid, "school_name": name, "arrive_by": arrive}
                        for sid, name, arrive in visits.get(route_id)
                        or [(first["school_id"], first["school_name"], first["arrive_by"])]
                    ],
                    "vehicle_type": first["vehicle_type"],
                    "wheelchair_accessible": accessible.get(str(first["vehicle_type"]), False),
                    "passenger_assistant": first["passenger_assistant"] == "yes",
                    "wheelchairs": sum(1 for s in stops_out if s["wheelchair"] == "yes"),
                    "stops": stops_out,
                    "afternoon": list(reversed(stops_out)),
                    "has_afternoon": stops.dropoff is not None,
                    "generated": generated,
                }
            )
    return out


def render_packs(
    contexts: Mapping[str, Sequence[dict[str, Any]]],
    folder: Path,
    *,
    template: Template,
    workers: int = 1,
    engine: Engine | None = None,
) -> dict[str, int]:
    """Write every pack's PDF under ``folder/packs``; returns packs written per copy."""
    counts: dict[str, int] = {}
    with Printer(engine or choose_engine(), workers=workers) as printer:
        for copy, items in contexts.items():
            counts[copy] = len(items)
            if not items:
                continue
            for item in items:
                if not safe_file_name(str(item["route_id"])):
                    raise InputError(
                        [Problem("routes.csv", None, "route_id", "a route id cannot name a file")]
                    )
            pages = [render_page(template, c) for c in items]
            head, _ = split_page(pages[0])
            job = Job(
                head=head,
                documents=tuple(
                    (f"{PACKS_DIR}/{copy}/{c['route_id']}.pdf", split_page(p)[1])
                    for c, p in zip(items, pages, strict=True)
                ),
                base_url=base_url(template),
                title=f"Crew packs ({'operator' if copy == 'operator' else 'passenger assistant'})",
            )
            printer.render(job, folder, combined=f"{PACKS_DIR}/{copy}.pdf")
    return counts


def write_sheets_with_packs(
    out_dir: str | Path,
    *,
    run_dir: str | Path,
    data_dir: str | Path,
    data: Dataset,
    run: RunFiles,
    postcodes: Mapping[str, str],
    summary: dict[str, Any],
    sheets: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
    texts: Mapping[str, str],
    template: str | Path | None = None,
    workers: int = 1,
    engine: str = "auto",
) -> dict[str, Any]:
    """Write route sheets and crew packs into one folder, all or nothing.

    ``sheets`` and ``texts`` are the route sheets' files (as :func:`transport.jobs.sheets_job`
    makes them); ``summary`` gains ``packs`` (packs per copy). The folder is a ``sheets``
    folder, written by :func:`transport.runs.write.write_folder`. ``engine`` is the PDF engine
    (:func:`transport.letters.pdf.choose_engine`). Returns the summary.
    """
    pdf_engine = choose_engine(engine)
    pack_template = load_template(template, default=PACK_TEMPLATE)
    contexts = pack_contexts(data, run, postcodes=postcodes, stops=read_stop_columns(run_dir))
    result: dict[str, Any] = {}

    def build(tmp: Path) -> None:
        (tmp / PACKS_DIR).mkdir(mode=0o700)
        counts = render_packs(
            contexts, tmp, template=pack_template, workers=workers, engine=pdf_engine
        )
        written = {
            **summary,
            "packs": {
                "operator": counts.get("operator", 0),
                "pa": counts.get("pa", 0),
                "template": pack_template.name,
                "afternoon_times": any(c["has_afternoon"] for c in contexts["operator"]),
                "engine": pdf_engine.name,
                "engine_warnings": list(pdf_engine.warnings),
            },
        }
        for name, (columns, rows) in sheets.items():
            write_csv(tmp / name, columns, rows, staged=True)
        for name, text in texts.items():
            write_text(tmp / name, text, staged=True)
        write_text(tmp / "summary.json", json.dumps(written, indent=2) + "\n", staged=True)
        result.update(written)

    write_folder(
        out_dir,
        build,
        kind="sheets",
        inputs=[("the run folder read", run_dir), ("the data folder", data_dir)],
    )
    return result
