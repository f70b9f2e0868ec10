"""The impact report: per-pupil changes counted exactly as ``diff`` counts them, disturbed
families by the re-planning definition, vulnerable children flagged, no pupil in the HTML."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._tender_fixture import TINY, solve_tiny
from tests.test_history import two_runs
from tests.test_privacy import hits, home_patterns, pupil_ids
from transport.changes import disturbances, journeys
from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.model import Placement, PlacementResult, Route, Stop
from transport.runs.changes_report import CHANGE_KINDS, count_changes, run_changes
from transport.runs.history import diff_runs
from transport.runs.write import read_run, write_run
from transport.tender.impact import assess_impact, vulnerabilities


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    return solve_tiny(root / "keep"), solve_tiny(root / "optimal", policy="optimal")


def test_impact_counts_equal_diffs(runs, tmp_path):
    current, proposed = runs
    out = tmp_path / "impact"
    result = CliRunner().invoke(
        cli, ["impact", str(current), str(proposed), "--data", str(TINY), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert hits(pupil_ids(TINY) + home_patterns(TINY), result.output) == []
    summary = json.loads((out / "summary.json").read_text())
    diff = diff_runs(current, proposed).counts()
    assert {k: summary["counts"][k] for k in CHANGE_KINDS} == diff
    assert sum(diff.values()) > 0
    changes_csv = tmp_path / "changes.csv"
    assert (
        CliRunner()
        .invoke(cli, ["diff", str(current), str(proposed), "--out", str(changes_csv)])
        .exit_code
        == 0
    )
    by_kind: dict[str, int] = {}
    for row in read_rows(changes_csv):
        by_kind[row["change"]] = by_kind.get(row["change"], 0) + 1
    impact_rows = read_rows(out / "impact.csv")
    for kind in CHANGE_KINDS:
        in_csv = sum(1 for r in impact_rows if kind in r["changes"].split(";"))
        assert in_csv == by_kind.get(kind, 0) == summary["counts"][kind], kind


def test_disturbed_is_the_replanning_definition(runs, tmp_path):
    current, proposed = runs
    out = tmp_path / "impact"
    CliRunner().invoke(
        cli, ["impact", str(current), str(proposed), "--data", str(TINY), "--out", str(out)]
    )
    a, b = read_run(current), read_run(proposed)
    expected = disturbances(journeys(a.routes, a.stops), journeys(b.routes, b.stops))
    got = {
        r["pupil_id"]: tuple(r["disturbed_reasons"].split(";"))
        for r in read_rows(out / "impact.csv")
        if r["disturbed"] == "1"
    }
    assert got == expected and got
    summary = json.loads((out / "summary.json").read_text())
    assert summary["disturbed"] == len(expected)


def test_vulnerable_children_are_flagged(runs, tmp_path):
    current, proposed = runs
    out = tmp_path / "impact"
    CliRunner().invoke(
        cli, ["impact", str(current), str(proposed), "--data", str(TINY), "--out", str(out)]
    )
    pupils = read_dataset(TINY).pupil_by_id
    rows = read_rows(out / "impact.csv")
    assert {r["pupil_id"] for r in rows} == set(pupils)
    for r in rows:
        p = pupils[r["pupil_id"]]
        why = set(filter(None, r["vulnerable_because"].split(";")))
        assert ("travels alone" in why) == p.solo
        assert ("needs a PA" in why) == p.needs_pa
        assert ("wheelchair" in why) == p.wheelchair
        assert ("age 10 or under" in why) == (p.age <= 10)
        assert bool(why & {"ASD", "SEMH"}) == (p.need in ("ASD", "SEMH"))
        assert r["vulnerable"] == str(int(bool(why)))
    assert any(r["vulnerable"] == "1" and r["disturbed"] == "1" for r in rows)


def test_html_has_no_pupil_and_csv_only_ids(runs, tmp_path):
    current, proposed = runs
    out = tmp_path / "impact"
    CliRunner().invoke(
        cli, ["impact", str(current), str(proposed), "--data", str(TINY), "--out", str(out)]
    )
    html = (out / "impact.html").read_text(encoding="utf-8")
    assert hits(pupil_ids(TINY) + home_patterns(TINY), html) == []
    assert "Ashford Special" in html and "Disturbed families" in html
    for name in ("impact.csv", "impact-by-school.csv", "summary.json"):
        assert hits(home_patterns(TINY), (out / name).read_text()) == [], name


def test_operator_changes_from_route_operators(runs, tmp_path):
    current, proposed = runs
    a, b = read_run(current), read_run(proposed)
    before = tmp_path / "before.csv"
    before.write_text(
        "route_id,operator_id,operator_name,phone\n"
        + "".join(f"{r.route_id},OLD,Old Cars,\n" for r in a.routes)
    )
    award = tmp_path / "award"
    award.mkdir()
    first = b.routes[0].route_id
    (award / "route-operators.csv").write_text(
        "route_id,operator_id,operator_name,phone\n"
        + "".join(f"{r.route_id},{'OLD' if r.route_id == first else 'NEW'},x,\n" for r in b.routes)
    )
    out = tmp_path / "impact"
    result = CliRunner().invoke(
        cli,
        [
            "impact",
            str(current),
            str(proposed),
            "--data",
            str(TINY),
            "--out",
            str(out),
            "--award",
            str(award),
            "--current-operators",
            str(before),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = read_rows(out / "impact.csv")
    moved = {r["pupil_id"] for r in rows if "operator" in r["changes"].split(";")}
    assert moved == {p for r in b.routes if r.route_id != first for p in r.pupils}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["operator"] == len(moved) and summary["operator_changes_counted"]


def test_route_operators_naming_unknown_routes_exit_2(runs, tmp_path):
    current, proposed = runs
    bad = tmp_path / "ops.csv"
    bad.write_text("route_id,operator_id\nR0001,A\nR9999,B\nR0001,C\n,D\n")
    result = CliRunner().invoke(
        cli,
        [
            "impact",
            str(current),
            str(proposed),
            "--data",
            str(TINY),
            "--out",
            str(tmp_path / "i"),
            "--award",
            str(bad),
        ],
    )
    assert result.exit_code == 2
    assert "ops.csv, row 3, column 'route_id': not a route of the run" in result.output
    assert "row 4" in result.output and "row 5" in result.output


def test_synthetic_runs_count_like_diff(tmp_path):
    a, b = two_runs(tmp_path)
    impact = assess_impact(read_run(a), read_run(b), read_dataset(TINY))
    assert {k: impact.counts[k] for k in CHANGE_KINDS} == diff_runs(a, b).counts()
    assert all(p.vulnerable is None for p in impact.pupils)  # P1… are not tiny's pupils


PUPILS = [f"P{i:02d}" for i in range(1, 13)]


@st.composite
def plans(draw):
    placed = draw(st.lists(st.sampled_from(PUPILS), min_size=1, max_size=12, unique=True))
    routed = [p for p in placed if draw(st.booleans())]
    routes, stops = [], []
    k = 0
    while routed:
        size = draw(st.integers(1, min(4, len(routed))))
        members, routed = routed[:size], routed[size:]
        k += 1
        rid = f"R{k:04d}"
        routes.append(
            Route(
                rid,
                draw(st.sampled_from(["S1", "S2"])),
                draw(st.sampled_from(["taxi", "mpv"])),
                draw(st.booleans()),
                tuple(members),
                1.0,
                100.0,
            )
        )
        for seq, p in enumerate(members, start=1):
            stops.append(Stop(rid, seq, p, float(draw(st.integers(420, 520))), 10.0))
    school = {p: draw(st.sampled_from(["S1", "S2"])) for p in placed}
    placements = PlacementResult(
        "keep", tuple(Placement(p, school[p], "keep", 1.0, 2.0) for p in placed), ()
    )
    return placements, tuple(routes), tuple(stops)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), plans(), st.sampled_from([0.0, 5.0, 10.0]))
def test_impact_and_diff_count_alike_on_any_plans(before, after, minutes):
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for name, (placements, routes, stops) in (("a", before), ("b", after)):
            folders.append(
                write_run(
                    Path(tmp) / name, summary={}, placements=placements, routes=routes, stops=stops
                )
            )
        a, b = (read_run(f) for f in folders)
        impact = assess_impact(a, b, read_dataset(TINY), minutes=minutes)
        diff = diff_runs(*folders, minutes=minutes)
        assert {k: impact.counts[k] for k in CHANGE_KINDS} == diff.counts()
        assert count_changes(run_changes(a, b, minutes=minutes)) == diff.counts()
        assert impact.changed == diff.pupils_affected()


def test_vulnerabilities_of_a_pupil():
    p = read_dataset(TINY).pupil_by_id["P04"]  # 8, SLD, wheelchair, needs a PA
    assert vulnerabilities(p) == ("needs a PA", "wheelchair", "age 10 or under")


# --------------------------------------------------------------------------------------------
# mixed-school routes (pupils of two schools on one vehicle): tests/_mixed_fixture.py


def test_a_mixed_school_routes_cost_is_shared_per_pupil_and_no_school_changes(tmp_path):
    from tests._mixed_fixture import MIXED, mixed_route_of, solve_mixed
    from transport.model import route_schools

    plain_dir = solve_mixed(tmp_path / "plain", mixed=False)
    mixed_dir = solve_mixed(tmp_path / "mixed")
    route = mixed_route_of(mixed_dir)
    plain, mixed = read_run(plain_dir), read_run(mixed_dir)
    out = tmp_path / "impact"
    args = ["impact", str(plain_dir), str(mixed_dir), "--data", str(MIXED), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    by_school = {r["school_id"]: r for r in read_rows(out / "impact-by-school.csv")}
    data = read_dataset(MIXED)
    assert set(by_school) == set(data.school_by_id)  # no "S2;S1" row: costs go to schools
    for col, run in (("cost_before", plain), ("cost_after", mixed)):
        total = sum(float(r[col]) for r in by_school.values())
        assert total == pytest.approx(sum(r.annual_cost for r in run.routes), abs=0.005)
    # the mixed route's cost is shared equally per pupil, each share to the pupil's school
    placed = {p.pupil_id: p.school_id for p in mixed.placements}
    for sid in route_schools(route):
        own = sum(r.annual_cost for r in mixed.routes if r.school_id == sid)
        riders = sum(1 for p in route.pupils if placed[p] == sid)
        share = route.annual_cost * riders / len(route.pupils)
        assert float(by_school[sid]["cost_after"]) == pytest.approx(own + share, abs=0.01)
    # a route becoming mixed changes no pupil's school, nor disturbs for it
    impact = assess_impact(plain, mixed, data)
    assert impact.counts["school"] == 0
    assert impact.disturbed_by_reason["school"] == 0
    assert all(p.before.school_id == p.after.school_id for p in impact.pupils)


@settings(max_examples=60, deadline=None)
@given(
    pence=st.integers(0, 10**8),
    owners=st.lists(st.sampled_from(["S1", "S2", "S3"]), min_size=1, max_size=12),
    mixed=st.booleans(),
)
def test_cost_by_school_shares_sum_to_the_route_cost(pence, owners, mixed):
    from transport.costing import cost_by_school

    schools = "S1;S2;S3" if mixed else "S1"
    pupils = tuple(f"P{i}" for i in range(len(owners)))
    route = Route("R1", schools, "taxi", False, pupils, 1.0, pence / 100)
    shares = cost_by_school(route, dict(zip(pupils, owners, strict=True)))
    assert round(sum(v * 100 for v in shares.values())) == pence
    if not mixed:
        assert shares == {"S1": pence / 100}
    else:
        assert list(shares) == ["S1", "S2", "S3"]
        for sid, v in shares.items():
            fair = pence * owners.count(sid) / len(owners)
            assert abs(v * 100 - fair) <= len(shares)  # whole pence, remainder to the first
