"""``letters``: a letter to each family from a solved run, as PDFs, a mail-merge file and a list
of the pupils who get none.

The output folder (``--out``) holds

``letters/<pupil_id>.pdf``
    each family's own letter (to email), holding only their own child's details;
``letters.pdf``
    every letter, each starting on a new page (to print and post);
``letters.csv``
    one row per letter: the merge fields, for a council that mail-merges in its own system;
``not-sent.csv``
    pupils of the data folder who get no letter because they have no route, with the reason;
``summary.json``
    counts and settings only (no id, name or address).

Everything is owner-only (files 0600, folders 0700) and written all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transport.data.load import load_tables
from transport.data.validate import read_dataset
from transport.errors import InputError, Problem
from transport.letters.contacts import ADDRESS_LINES, Contact, read_contacts
from transport.letters.content import (
    FamilyLetter,
    NotSent,
    StopColumns,
    check_run_matches,
    family_letters,
    not_sent,
    read_stop_columns,
)
from transport.letters.operators import read_route_operators
from transport.letters.output import safe_file_name
from transport.letters.pdf import Engine, Job, Rendered, choose_engine, render_pdfs
from transport.letters.render import (
    Template,
    base_url,
    load_template,
    render_page,
    split_page,
)
from transport.letters.since import SinceResult, families_to_write
from transport.model import Dataset
from transport.runs.changes_report import check_minutes
from transport.runs.sheets import pupil_postcodes
from transport.runs.write import (
    RunFiles,
    read_run,
    write_csv,
    write_folder,
    write_text,
    writes_output,
)

LETTER_TEMPLATE = "letter.html"
LETTERS_DIR = "letters"
LETTERS_PDF = "letters.pdf"
LETTERS_CSV = "letters.csv"
NOT_SENT_CSV = "not-sent.csv"
NOTICE_DAYS = 7
LETTER_COLUMNS = (
    "pupil_id",
    "kind",
    "changes",
    "effective_date",
    "addressee",
    *ADDRESS_LINES,
    "postcode",
    "email",
    "school_name",
    "pickup_point",
    "pickup_time",
    "arrive_by",
    "dropoff_time",
    "vehicle",
    "wheelchair_accessible",
    "passenger_assistant",
    "route_id",
    "operator_name",
    "operator_phone",
    "pdf",
)
NOT_SENT_COLUMNS = ("pupil_id", "status", "reason", "school_id", "previously_routed")


def default_effective_date(today: dt.date) -> dt.date:
    """The Monday at least :data:`NOTICE_DAYS` days after ``today``: a week's notice."""
    earliest = today + dt.timedelta(days=NOTICE_DAYS)
    return earliest + dt.timedelta(days=(7 - earliest.weekday()) % 7)


def long_date(day: dt.date, *, weekday: bool = False) -> str:
    """``Monday 7 September 2026`` (``7 September 2026`` without ``weekday``)."""
    text = f"{day.day} {day:%B %Y}"
    return f"{day:%A} {text}" if weekday else text


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@writes_output(
    "out_dir",
    kind="letters",
    inputs={
        "run_dir": "the run folder read",
        "data_dir": "the data folder",
        "contacts": "the contacts file",
        "since": "the previous run",
        "template": "the template",
        "operators": "the route operators file",
    },
)
def write_letters(
    run_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    contacts: str | Path | None = None,
    since: str | Path | None = None,
    template: str | Path | None = None,
    effective: dt.date | None = None,
    operators: str | Path | None = None,
    minutes: float = 10.0,
    today: dt.date | None = None,
    workers: int | None = None,
    engine: str = "auto",
) -> dict[str, Any]:
    """Write every family's letter for a solved run (see the module docstring).

    Parameters
    ----------
    run_dir
        A run of ``sen-transport solve``.
    data_dir
        The data folder the run was solved from.
    out_dir
        The output folder; replaced whole, atomically, and only when it is new, empty or a
        letters folder (:mod:`transport.runs.destination`: never an input, a folder holding or
        inside one, or a folder the engine did not write).
    contacts
        Families' names and addresses (:mod:`transport.letters.contacts`); without them a letter
        is addressed "To the parent or carer of pupil <id>".
    since
        A previous run: write only to families whose child is new, moved or disturbed since
        (:mod:`transport.letters.since`).
    template
        A council's own Jinja2 template (default: the shipped ``letter.html``).
    effective
        The date the arrangements apply from (default: :func:`default_effective_date`).
    operators
        ``route-operators.csv``: the operator (and phone) of each route.
    minutes
        With ``since``: a pickup moving by more than this disturbs.
    today
        The letter's date (default: today).
    workers
        Chunks of letters printed at the same time (default: up to 2, one per core).
    engine
        The PDF engine: ``chromium``, ``weasyprint`` or ``auto`` (Chromium when installed,
        else WeasyPrint, about 8 times slower, with a warning):
        :func:`transport.letters.pdf.choose_engine`.

    Returns
    -------
    dict
        The summary written to summary.json: counts and settings, no id, name or address.

    Raises
    ------
    InputError
        For a bad run, data folder, contacts or operators file, template or destination: every
        problem with its file, row and column, never a family's details.
    PdfEngineError
        For ``engine="chromium"`` when none is installed, or an engine that fails.
    """
    start = time.perf_counter()
    today = today or dt.date.today()
    effective = effective or default_effective_date(today)
    minutes = check_minutes(minutes)  # before any work: finite, 0 to 1,440
    pdf_engine = choose_engine(engine)
    letter_template = load_template(template, default=LETTER_TEMPLATE)
    sample = check_template(letter_template)

    run = read_run(run_dir)
    data = read_dataset(data_dir)
    check_run_matches(data, run)
    stops = read_stop_columns(run_dir)
    families = read_contacts(contacts, pupils=data.pupil_by_id) if contacts else {}
    route_operators = (
        read_route_operators(operators, routes=[r.route_id for r in run.routes])
        if operators
        else {}
    )
    since_result = _since(since, run, data, stops, minutes=minutes) if since else None
    previous_stops = read_stop_columns(since) if since else None
    letters = family_letters(
        data,
        run,
        pickup_points=pickup_points(data_dir, families),
        stops=stops,
        operators=route_operators,
        changes=since_result.changes if since_result else None,
        previous_stops=previous_stops,
    )
    missing = not_sent(
        data, run, routed_before=since_result.routed_before if since_result else None
    )
    if any(not safe_file_name(letter.pupil_id) for letter in letters):
        raise_unsafe_ids(letters)
    contexts = [
        letter_context(letter, families.get(letter.pupil_id), effective=effective, today=today)
        for letter in letters
    ]
    pages = [render_page(letter_template, c) for c in contexts]
    result: dict[str, Any] = {}

    def build(tmp: Path) -> None:
        rendered = _write_pdfs(
            tmp, letters, pages, letter_template, sample=sample, engine=pdf_engine, workers=workers
        )
        write_csv(tmp / LETTERS_CSV, LETTER_COLUMNS, [merge_row(c) for c in contexts], staged=True)
        missing_rows = [_not_sent_row(n) for n in missing]
        write_csv(tmp / NOT_SENT_CSV, NOT_SENT_COLUMNS, missing_rows, staged=True)
        summary = letters_summary(
            letters,
            missing,
            run_dir=run_dir,
            data=data.source,
            since=since,
            effective=effective,
            today=today,
            contacts=families,
            route_operators=len(route_operators),
            template=letter_template,
            rendered=rendered,
            stops=stops,
            detectable=since_result.home_moves_detectable if since_result else None,
            minutes=minutes,
            wall_s=time.perf_counter() - start,
        )
        write_text(tmp / "summary.json", json.dumps(summary, indent=2) + "\n", staged=True)
        result.update(summary)

    write_folder(out_dir, build, kind="letters")
    return result


def _since(
    since: str | Path, run: RunFiles, data: Dataset, stops: StopColumns, *, minutes: float
) -> SinceResult:
    """The families to write to after a re-plan (:mod:`transport.letters.since`)."""
    previous = read_run(since)
    if not previous.routes:
        raise_no_routes(since)
    previous_stops = read_stop_columns(since)
    return families_to_write(
        previous,
        run,
        school_in_data={p.pupil_id: p.school_id for p in data.pupils},
        previous_stop_ids=previous_stops.stop_id,
        stop_ids=stops.stop_id if previous_stops.stop_id is not None else None,
        minutes=minutes,
    )


def _write_pdfs(
    folder: Path,
    letters: list[FamilyLetter],
    pages: list[str],
    template: Template,
    *,
    sample: str,
    engine: Engine,
    workers: int | None,
) -> Rendered:
    """letters/<pupil_id>.pdf and letters.pdf (none without a letter)."""
    (folder / LETTERS_DIR).mkdir(mode=0o700)
    if not pages:
        return Rendered([], engine.name, [], engine.warnings)
    head, _ = split_page(pages[0])
    job = Job(
        head=head,
        documents=tuple(
            (f"{LETTERS_DIR}/{letter.pupil_id}.pdf", split_page(page)[1])
            for letter, page in zip(letters, pages, strict=True)
        ),
        base_url=base_url(template),
        title="Home to school transport",
        sample=sample,
    )
    return render_pdfs(
        job, folder, combined=LETTERS_PDF, workers=workers or default_workers(), engine=engine
    )


def raise_no_routes(run_dir: str | Path) -> None:
    raise InputError([Problem("routes.csv", None, None, f"no routes in {run_dir}: solve it first")])


def raise_unsafe_ids(letters: list[FamilyLetter]) -> None:
    bad = sum(1 for letter in letters if not safe_file_name(letter.pupil_id))
    raise InputError(
        [
            Problem(
                "pupils.csv",
                None,
                "pupil_id",
                f"{bad} pupil ids cannot name a file (letters/<pupil_id>.pdf): use letters, "
                "digits, '-', '_' and '.' only",
            )
        ]
    )


def pickup_points(data_dir: str | Path, contacts: Mapping[str, Contact]) -> dict[str, str]:
    """Each pupil's pickup point in a family's words.

    A shared pickup point (pupils.csv ``stop_id``) is named; otherwise the child is collected
    from home, shown with the home postcode (pupils.csv ``postcode``, else the contact's).
    Never a coordinate.
    """
    raw = load_tables(data_dir).pupils
    stop_ids: dict[str, str] = {}
    if "stop_id" in raw.columns:
        stop_ids = {
            str(p): str(s).strip()
            for p, s in zip(raw["pupil_id"], raw["stop_id"], strict=True)
            if str(s).strip()
        }
    postcodes = pupil_postcodes(data_dir)
    out: dict[str, str] = {}
    for pupil in raw["pupil_id"]:
        pupil = str(pupil)
        contact = contacts.get(pupil)
        postcode = postcodes.get(pupil) or (contact.postcode if contact else "")
        if pupil in stop_ids:
            out[pupil] = f"pickup point {stop_ids[pupil]}"
        elif postcode:
            out[pupil] = f"home ({postcode})"
        else:
            out[pupil] = "home"
    return out


def letter_context(
    letter: FamilyLetter,
    contact: Contact | None,
    *,
    effective: dt.date,
    today: dt.date,
) -> dict[str, Any]:
    """The template variables of one letter (documented in docs/formats.md)."""
    name = contact.parent_name if contact else ""
    return {
        "kind": letter.kind,
        "reasons": list(letter.reasons),
        "changes": [{"what": c.what, "before": c.before, "after": c.after} for c in letter.changes],
        "pupil_id": letter.pupil_id,
        "letter_date": long_date(today),
        "effective_date": long_date(effective, weekday=True),
        "effective_iso": effective.isoformat(),
        "has_contact": contact is not None,
        "addressee": name or f"To the parent or carer of pupil {letter.pupil_id}",
        "salutation": f"Dear {name}," if name else "Dear parent or carer,",
        "address_lines": list(contact.address_lines) if contact else [],
        "postcode": contact.postcode if contact else "",
        "email": contact.email if contact else "",
        "school_name": letter.school_name,
        "school_id": letter.school_id,
        "arrive_by": letter.arrive_by,
        "pickup_point": letter.pickup_point,
        "pickup_time": letter.pickup_time,
        "dropoff_time": letter.dropoff_time,
        "vehicle": letter.vehicle,
        "vehicle_type": letter.vehicle_type,
        "wheelchair_accessible": letter.wheelchair_accessible,
        "passenger_assistant": letter.passenger_assistant,
        "route_id": letter.route_id,
        "operator_name": letter.operator_name,
        "operator_phone": letter.operator_phone,
    }


def merge_row(context: Mapping[str, Any]) -> tuple[Any, ...]:
    """One letters.csv row: the merge fields of a letter, in :data:`LETTER_COLUMNS` order."""
    lines = list(context["address_lines"]) + [""] * len(ADDRESS_LINES)
    changes = "; ".join(f"{c['what']}: {c['before']} → {c['after']}" for c in context["changes"])
    return (
        context["pupil_id"],
        context["kind"],
        changes,
        context["effective_iso"],
        context["addressee"],
        *lines[: len(ADDRESS_LINES)],
        context["postcode"],
        context["email"],
        context["school_name"],
        context["pickup_point"],
        context["pickup_time"],
        context["arrive_by"],
        context["dropoff_time"] or "",
        context["vehicle"],
        "yes" if context["wheelchair_accessible"] else "no",
        "yes" if context["passenger_assistant"] else "no",
        context["route_id"],
        context["operator_name"] or "",
        context["operator_phone"] or "",
        f"{LETTERS_DIR}/{context['pupil_id']}.pdf",
    )


def _not_sent_row(row: NotSent) -> tuple[str, ...]:
    return (row.pupil_id, row.status, row.reason, row.school_id, row.previously_routed)


def sample_contexts() -> list[dict[str, Any]]:
    """Synthetic letters that take every branch of a template: checked before real data."""
    from transport.letters.content import Change

    base = FamilyLetter(
        pupil_id="SAMPLE",
        kind="plan",
        reasons=(),
        school_id="S0",
        school_name="Sample School",
        arrive_by="08:50",
        pickup_point="home (ZZ1 1ZZ)",
        pickup_time="08:05",
        dropoff_time=None,
        vehicle_type="minibus",
        vehicle="a minibus",
        wheelchair_accessible=False,
        passenger_assistant=False,
        route_id="R0",
        operator_name=None,
        operator_phone=None,
    )
    contact = Contact("SAMPLE", "A Parent", ("1 Sample Street", "Sampletown"), "ZZ1 1ZZ", "a@b.c")
    changed = (Change("Morning pickup time", "07:50", "08:05"),)
    variants = [
        (base, None),
        (
            FamilyLetter(**{**_fields(base), "kind": "new", "reasons": ("new",),
                            "dropoff_time": "15:45", "operator_name": "Sample Cars",
                            "operator_phone": "01234 567890", "passenger_assistant": True,
                            "wheelchair_accessible": True}),
            contact,
        ),
        (
            FamilyLetter(**{**_fields(base), "kind": "moved", "reasons": ("home",),
                            "changes": changed, "operator_name": "Sample Cars"}),
            contact,
        ),
        (
            FamilyLetter(**{**_fields(base), "kind": "disturbed", "reasons": ("pickup",),
                            "changes": changed}),
            None,
        ),
    ]  # fmt: skip
    day = dt.date(2026, 9, 7)
    return [letter_context(letter, c, effective=day, today=day) for letter, c in variants]


def _fields(letter: FamilyLetter) -> dict[str, Any]:
    return {f: getattr(letter, f) for f in letter.__dataclass_fields__}


def check_template(template: Template) -> str:
    """Render the synthetic sample letters (every branch of the template) before any family's.

    Returns the sample letter that takes the most branches, for the PDF engine to lay out
    first (its complaints are the template's warnings in summary.json).

    Raises
    ------
    InputError
        Naming the template and line of any error (an undefined variable, a syntax error).
    """
    samples = [render_page(template, c, sample=True) for c in sample_contexts()]
    return samples[1]


def letters_summary(
    letters: list[FamilyLetter],
    missing: list[NotSent],
    *,
    run_dir: str | Path,
    data: str,
    since: str | Path | None,
    effective: dt.date,
    today: dt.date,
    contacts: Mapping[str, Contact],
    route_operators: int,
    template: Template,
    rendered: Rendered,
    stops: StopColumns,
    detectable: bool | None,
    minutes: float,
    wall_s: float,
) -> dict[str, Any]:
    """summary.json of a letters folder: counts and settings, no id, name or address."""
    reasons: Counter[str] = Counter()
    for letter in letters:
        for reason in letter.reasons:
            reasons[f"{letter.kind}:{reason}"] += 1
    return {
        "stage": "letters",
        "source_run": str(run_dir),
        "previous_run": str(since) if since is not None else None,
        "data": data,
        "letter_date": today.isoformat(),
        "effective_date": effective.isoformat(),
        "letters": len(letters),
        "pages": sum(rendered.pages),
        "letters_by_kind": dict(sorted(Counter(letter.kind for letter in letters).items())),
        "reasons": dict(sorted(reasons.items())),
        "pickup_minutes": minutes if since is not None else None,
        "home_moves_detectable": detectable,
        "not_sent": len(missing),
        "not_sent_by_status": dict(sorted(Counter(m.status for m in missing).items())),
        "contacts": bool(contacts),
        "letters_without_contact": sum(1 for letter in letters if letter.pupil_id not in contacts),
        "routes_with_operator": route_operators,
        "afternoon_times": stops.dropoff is not None,
        "template": template.name,
        "template_warnings": rendered.warnings,
        "engine": rendered.engine,
        "engine_warnings": list(rendered.engine_warnings),
        "files": [f"{LETTERS_DIR}/", LETTERS_PDF, LETTERS_CSV, NOT_SENT_CSV, "summary.json"]
        if letters
        else [f"{LETTERS_DIR}/", LETTERS_CSV, NOT_SENT_CSV, "summary.json"],
        "wall_time_s": round(wall_s, 2),
    }
