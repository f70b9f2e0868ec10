"""Capacity planning: the exact siting model against brute force, its limits, its files."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.data.validate import read_dataset
from transport.errors import InputError
from transport.model import Dataset, Parameters, Pupil, School
from transport.placement import place_pupils, summarise_placement
from transport.placement._benders import FlowSubproblem
from transport.placement.candidates import Candidates, Expansion, NewSite, read_candidates
from transport.placement.siting import (
    SitingOptions,
    _model,
    annuity_factor,
    out_of_county,
    site_places,
)
from transport.travel import CrowFlyModel

PARAMS = Parameters()
TRAVEL = CrowFlyModel()
NEEDS = ("ASD", "SEMH", "SLD")
HEADER = (
    "site_id,name,lat,lon,needs,age_min,age_max,max_places,place_cost,build_cost,"
    "school_id,max_extra\n"
)


def random_case(seed: int, *, pupils: int = 28, unplaceable: bool = False):
    """A small random county: schools, pupils and candidates whose choice matters."""
    rng = np.random.default_rng(seed)

    def point() -> tuple[float, float]:
        return float(rng.uniform(51.0, 51.45)), float(rng.uniform(0.1, 1.4))

    schools = []
    for k in range(4):
        lat, lon = point()
        schools.append(
            School(
                f"S{k}",
                f"School {k}",
                lat,
                lon,
                "Kent",
                "special",
                4,
                19,
                frozenset(rng.choice(NEEDS, size=2, replace=False).tolist()),
                int(rng.integers(2, 6)),
                20000.0,
                540,
            )
        )
    if not unplaceable:  # an independent school far away takes anyone, at a price
        schools.append(
            School(
                "IND",
                "Independent",
                51.5,
                -0.1,
                "Elsewhere",
                "independent",
                4,
                19,
                frozenset({"*"}),
                pupils,
                45000.0,
                540,
            )  # fmt: skip
        )
    people = []
    for i in range(pupils):
        lat, lon = point()
        people.append(
            Pupil(
                f"P{i:02d}",
                lat,
                lon,
                "Kent",
                int(rng.integers(5, 18)),
                str(rng.choice(NEEDS)),
                None,
                False,
                False,
                False,
                None,
            )  # fmt: skip
        )
    data = Dataset(schools=tuple(schools), pupils=tuple(people), vehicles=())
    sites = []
    for k in range(4):
        lat, lon = point()
        sites.append(
            NewSite(
                f"N{k}",
                f"Site {k}",
                lat,
                lon,
                frozenset(rng.choice(NEEDS, size=2, replace=False).tolist()),
                4,
                19,
                int(rng.integers(3, 9)),
                float(rng.choice([15000.0, 20000.0])),
                float(rng.uniform(0.2e6, 6e6)),
            )
        )
    expansions = (
        Expansion("S0", int(rng.integers(1, 4)), float(rng.uniform(0.1e6, 2e6))),
        Expansion("S1", int(rng.integers(1, 4)), 0.0),
    )
    return data, Candidates(tuple(sites), expansions)


def brute_force(data: Dataset, cand: Candidates, opts: SitingOptions):
    """Every subset of the yes/no decisions placed by the ``optimal`` policy (independent code).

    Returns sorted (−placed, annual cost incl. annualised build, subset) of the feasible ones.
    """
    factor = opts.annual_factor
    free = {e.school_id: e.max_extra for e in cand.expansions if e.build_cost == 0}
    gated = [("site", s) for s in cand.sites] + [
        ("expansion", e) for e in cand.expansions if e.build_cost > 0
    ]
    out = []
    for r in range(len(gated) + 1):
        for subset in itertools.combinations(gated, r):
            sites = [s for kind, s in subset if kind == "site"]
            if opts.max_sites is not None and len(sites) > opts.max_sites:
                continue
            build = sum(x.build_cost for _, x in subset)
            if opts.budget is not None and build > opts.budget:
                continue
            extra = dict(free)
            for kind, x in subset:
                if kind == "expansion":
                    extra[x.school_id] = x.max_extra
            schools = [
                replace(s, capacity=s.capacity + extra.get(s.school_id, 0)) for s in data.schools
            ]
            schools += [s.as_school(s.max_places) for s in sites]
            trial = replace(data, schools=tuple(schools))
            result = place_pupils(trial, policy="optimal", travel=TRAVEL, params=PARAMS)
            t = summarise_placement(trial, result, PARAMS)
            cost = t["annual_place_cost"] + t["estimated_annual_transport_cost"] + build * factor
            names = frozenset(getattr(x, "site_id", None) or x.school_id for _, x in subset)
            out.append((-t["placed"], cost, names))
    return sorted(out, key=lambda x: (x[0], x[1]))


def chosen(result) -> frozenset[str]:
    return frozenset(r.site_id for r in result.rows if r.build_cost > 0 or r.type == "new site")


def total(result) -> float:
    return result.after.total + result.annual_build_cost


LIMITS = [
    SitingOptions(),
    SitingOptions(max_sites=1),
    SitingOptions(budget=4e6),
    SitingOptions(years=10, discount_rate=0.035),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("opts", LIMITS, ids=["free", "one-site", "budget", "annuity"])
def test_exact_choice_equals_brute_force(seed, opts):
    data, cand = random_case(seed)
    result = site_places(data, cand, options=opts, travel=TRAVEL, params=PARAMS)
    assert result.info.exact and result.info.gap == 0.0
    ranked = brute_force(data, cand, opts)
    best_placed, best_cost, best_set = ranked[0]
    tolerance = 0.5 * len(data.pupils)  # miles rounded to 3 decimals in the brute force
    assert -result.after.placed == best_placed
    assert total(result) == pytest.approx(best_cost, abs=tolerance)
    runner_up = next((c for p, c, _ in ranked[1:] if p == best_placed), math.inf)
    if runner_up - best_cost > 2 * tolerance:  # a clear optimum: the very same choice
        assert chosen(result) == best_set


@pytest.mark.parametrize("solver", ["scip", "cbc", "highs", "cp-sat"])
def test_every_mip_solver_agrees_with_benders(solver):
    data, cand = random_case(3)
    opts = SitingOptions(max_sites=2, places=12)
    bend = site_places(data, cand, options=opts, travel=TRAVEL, params=PARAMS)
    mip = site_places(data, cand, options=replace(opts, solver=solver), travel=TRAVEL)
    assert mip.info.exact and bend.info.exact
    assert total(mip) == pytest.approx(total(bend), abs=0.02)
    assert mip.after.placed == bend.after.placed


def test_the_most_pupils_are_placed_first_whatever_the_build_cost():
    data, cand = random_case(5, unplaceable=True)
    expensive = Candidates(
        tuple(replace(s, build_cost=5e9, needs=frozenset(NEEDS)) for s in cand.sites[:1]), ()
    )
    none = site_places(data, Candidates(), travel=TRAVEL, params=PARAMS)
    opened = site_places(data, expensive, travel=TRAVEL, params=PARAMS)
    assert none.after.placed < len(data.pupils)
    assert opened.after.placed > none.after.placed  # placed despite £5bn
    assert [r.site_id for r in opened.rows] == ["N0"]
    for solver in ("scip", "cp-sat"):  # the MIP's two-stage solve gives the same
        mip = site_places(data, expensive, options=SitingOptions(solver=solver), travel=TRAVEL)
        assert mip.info.stages == 2 and mip.after.placed == opened.after.placed


@pytest.mark.parametrize("seed", range(4))
def test_capacity_and_limits_are_never_exceeded(seed):
    data, cand = random_case(seed, pupils=40)
    opts = SitingOptions(places=9, max_sites=2, budget=7e6)
    result = site_places(data, cand, options=opts, travel=TRAVEL, params=PARAMS)
    capacity = {s.school_id: s.capacity for s in result.data.schools}
    placed: dict[str, int] = {}
    for p in result.placements.placements:
        placed[p.school_id] = placed.get(p.school_id, 0) + 1
    assert all(placed[s] <= capacity[s] for s in placed)
    assert sum(r.places for r in result.rows) <= 9
    assert sum(r.type == "new site" for r in result.rows) <= 2
    assert result.build_cost <= 7e6
    limit = {s.site_id: s.max_places for s in cand.sites}
    limit |= {e.school_id: e.max_extra for e in cand.expansions}
    today = data.school_by_id
    for row in result.rows:
        assert 0 < row.places <= limit[row.site_id]
        before = today[row.site_id].capacity if row.site_id in today else 0
        assert capacity[row.site_id] == before + row.places
    assert len(result.placements.placements) + len(result.placements.unplaced) == len(data.pupils)


def test_a_candidate_that_cannot_help_is_never_opened():
    data, cand = random_case(1)
    useless = (
        NewSite("VI", "Serves nobody", 51.2, 0.8, frozenset({"VI"}), 4, 19, 50, 0.0, 0.0),
        NewSite("OLD", "Too old for all", 51.2, 0.8, frozenset(NEEDS), 20, 25, 50, 0.0, 0.0),
    )
    free_school = data.schools[-1].school_id  # the independent school is never full
    cand = Candidates(cand.sites + useless, cand.expansions + (Expansion(free_school, 9, 0.0),))
    result = site_places(data, cand, travel=TRAVEL, params=PARAMS)
    assert not {"VI", "OLD", free_school} & {r.site_id for r in result.rows}


def test_benders_cuts_are_valid_lower_bounds():
    data, cand = random_case(2)
    model = _model(data, cand, SitingOptions(), travel=TRAVEL, params=PARAMS)
    sub = FlowSubproblem(model.net, model.pool, model.gated)
    decisions = sorted(model.gated)
    subsets = [
        frozenset(c)
        for r in (0, 1, 3, len(decisions))
        for c in itertools.combinations(decisions, r)
    ]
    evaluations = [sub.evaluate(z) for z in subsets]
    for cut in evaluations:
        for ev in evaluations:
            bound = cut.operating - sum(
                g * ((j in ev.open) - (j in cut.open)) for j, g in cut.coefficients.items()
            )
            assert ev.operating >= bound


def test_annualisation():
    assert annuity_factor(30) == pytest.approx(1 / 30)
    assert annuity_factor(30, 0.035) == pytest.approx(0.035 / (1 - 1.035**-30))
    data, cand = random_case(0)
    a = site_places(data, cand, options=SitingOptions(years=30), travel=TRAVEL)
    for row in a.rows:
        assert row.annual_build_cost == pytest.approx(row.build_cost / 30, abs=0.01)


def test_out_of_county_is_independent_or_outside_the_pupils_districts(tiny_dir):
    data = read_dataset(tiny_dir)
    schools = data.school_by_id
    assert out_of_county(data, schools["S4"])  # independent
    assert not out_of_county(data, schools["S1"])
    assert out_of_county(data, replace(schools["S1"], district="Medway"))
    assert not out_of_county(data, replace(schools["S1"], district=""))


# -------------------------------------------------------------------------------------------
# Files and the command line


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD = HEADER + (
    "N1,New Ashford ASD school,51.1500,0.8700,ASD;SLCN,4,19,6,20000,300000,,\n"
    "N2,New Folkestone SEMH unit,51.0900,1.1600,SEMH,11,16,4,20000,150000,,\n"
    "N3,New school for VI,51.2000,0.9000,VI,4,19,10,20000,0,,\n"
    ",,,,,,,,,500000,S2,3\n"
)


def test_cli_site_writes_files_whose_objective_recomputes(tiny_dir, tmp_path):
    cand = write(tmp_path / "candidates.csv", GOOD)
    out = tmp_path / "site"
    result = CliRunner().invoke(
        cli,
        ["site", "--data", str(tiny_dir), "--candidates", str(cand), "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "solved exactly" in result.output and "P01" not in result.output
    summary = json.loads((out / "summary.json").read_text())
    sites = pd.read_csv(out / "sites.csv", dtype={"site_id": str})
    placements = pd.read_csv(out / "placements.csv", dtype={"school_id": str})
    data = read_dataset(tiny_dir)
    assert summary["solved_exactly"] is True and summary["optimality_gap"] == 0.0
    assert set(sites.site_id) == {"N1", "N2"}  # N3 serves nobody; S2 is not full
    # capacity under the written places is never exceeded
    capacity = {s.school_id: s.capacity for s in data.schools}
    for row in sites.itertuples():
        capacity[row.site_id] = capacity.get(row.site_id, 0) + row.places
    load = placements.school_id.value_counts()
    assert all(load[s] <= capacity[s] for s in load.index)
    # the objective recomputed from the files
    place_cost = {s.school_id: s.place_cost for s in data.schools} | {"N1": 20000, "N2": 20000}
    per_mile = 190 * 2 * 1.25
    recomputed = (
        placements.school_id.map(place_cost).sum()
        + per_mile * placements.road_miles.sum()
        + sites.annual_build_cost.sum()
    )
    objective = summary["objective"]["annual_cost"]
    assert recomputed == pytest.approx(objective, abs=0.005 * per_mile * len(placements) + 0.01)
    assert objective == pytest.approx(summary["annual_cost_after"] + summary["annual_build_cost"])
    assert summary["build_cost"] == pytest.approx(sites.build_cost.sum())
    assert summary["annual_build_cost"] == pytest.approx(sites.build_cost.sum() / 30, abs=0.02)
    saving = summary["annual_cost_before"] - summary["annual_cost_after"]
    assert summary["annual_saving"] == pytest.approx(saving, abs=0.01)
    assert summary["payback_years"] == pytest.approx(summary["build_cost"] / saving, abs=0.01)
    assert summary["pupils_out_of_county"]["after"] <= summary["pupils_out_of_county"]["before"]
    geo = json.loads((out / "sites.geojson").read_text())
    assert {f["properties"]["site_id"] for f in geo["features"]} == {"N1", "N2"}
    html = (out / "report.html").read_text()
    assert "Places added / sites opened" in html and "P01" not in html


def test_cli_site_limits_reach_the_model(tiny_dir, tmp_path):
    cand = write(tmp_path / "candidates.csv", GOOD)
    out = tmp_path / "site"
    args = ["site", "--data", str(tiny_dir), "--candidates", str(cand), "--out", str(out)]
    args += ["--max-sites", "1", "--years", "10", "--needs", "SEMH", "--solver", "scip"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["siting"]["max_sites"] == 1
    assert summary["parameters"]["siting"]["needs"] == ["SEMH"]
    assert {r["site_id"] for r in summary["sites"]} <= {"N2"}


BAD = HEADER + (
    "N1,New Ashford ASD school,51.15,0.87,ASD;XYZ,4,19,6,-20000,300000,,\n"
    "N1,Duplicate,51.15,0.87,ASD,4,19,6,20000,inf,,\n"
    "N2,Not finite,51.15,nan,SEMH,11,16,4,20000,150000,,\n"
    ",,,,,,,,,1000,NOPE,3\n"
    ",,,,,,,,,-5,S2,0\n"
    "N4,Both,51.1,0.9,ASD,4,19,5,20000,1,S1,2\n"
    "S1,Clash with a school,51.1,0.9,ASD,12,5,5,20000,1,,\n"
)


def test_bad_candidates_exit_2_naming_every_problem(tiny_dir, tmp_path):
    cand = write(tmp_path / "candidates.csv", BAD)
    out = tmp_path / "site"
    result = CliRunner().invoke(
        cli, ["site", "--data", str(tiny_dir), "--candidates", str(cand), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not out.exists()
    text = result.output
    for expected in (
        "candidates.csv, row 2, column 'needs': unknown need code 'XYZ'",
        "row 2, column 'place_cost': -20000 is below the least allowed, 0",
        "row 3, column 'site_id': duplicate site id 'N1' (first on row 2)",
        "row 3, column 'build_cost': 'inf' is not a number",
        "row 4, column 'lon': 'nan' is not a number",
        "row 5, column 'school_id': no school 'NOPE' in schools.csv",
        "row 6, column 'max_extra': 0 is below the least allowed, 1",
        "row 6, column 'build_cost': -5 is below the least allowed, 0",
        "row 7, column 'school_id': give site_id (a new site) or school_id, not both",
        "row 8, column 'site_id': site id 'S1' is already a school in schools.csv",
        "row 8, column 'age_max': age_max 5 is below age_min 12",
    ):
        assert expected in text, expected
    with pytest.raises(InputError) as info:
        read_candidates(cand, read_dataset(tiny_dir))
    assert len(info.value.problems) == 11


def test_missing_columns_and_bad_options_exit_2(tiny_dir, tmp_path):
    cand = write(tmp_path / "candidates.csv", "site_id,name,lat,lon\nN1,x,51.1,0.9\n")
    base = ["site", "--data", str(tiny_dir), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(cli, [*base, "--candidates", str(cand)])
    assert result.exit_code == 2
    for col in ("needs", "age_min", "age_max", "max_places", "place_cost", "build_cost"):
        assert f"column {col!r}: required column is missing" in result.output
    good = write(tmp_path / "good.csv", GOOD)
    result = CliRunner().invoke(cli, [*base, "--candidates", str(good), "--needs", "ASD,FOO"])
    assert result.exit_code == 2 and "unknown need 'FOO'" in result.output
    missing = CliRunner().invoke(cli, [*base, "--candidates", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_kent_candidates_file_is_valid():
    kent = Path(__file__).resolve().parents[1] / "data" / "kent"
    data = read_dataset(kent)
    cand = read_candidates(kent / "candidates.csv", data)
    assert len(cand.sites) == 20 and all("synthetic" in s.name for s in cand.sites)
    assert all(e.school_id in data.school_by_id for e in cand.expansions)


def test_a_time_limit_keeps_the_best_choice_and_states_the_gap():
    data, cand = random_case(4)
    stopped = site_places(data, cand, options=SitingOptions(time_limit_s=1e-9), travel=TRAVEL)
    exact = site_places(data, cand, travel=TRAVEL)
    assert not stopped.info.exact and stopped.info.status == "feasible (time limit)"
    assert total(stopped) >= total(exact) - 0.01
    assert stopped.info.bound <= total(exact) + 0.01
    assert stopped.info.gap == pytest.approx(
        (stopped.info.objective - stopped.info.bound) / stopped.info.objective, abs=1e-6
    )
