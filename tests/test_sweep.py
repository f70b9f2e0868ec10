"""Sweep grids: every variant a valid scenario, named by its options; bad grids named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from transport.cli.main import cli
from transport.cluster.sweep import dump_toml, load_grid, sweep
from transport.errors import ScenarioError
from transport.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
TINY = Path(__file__).parent / "data" / "tiny"


def test_the_shipped_grid_is_every_combination_of_its_axes():
    grid = load_grid(SCENARIOS / "sweeps" / "ptb-grid.toml")
    assert [a.name for a in grid.axes] == ["budgets.rule", "places", "seed"]
    assert len(grid.variants) == 3 * 2 * 2
    names = [v.scenario.name for v in grid.variants]
    assert len(set(names)) == 12 and "ptb-grid-mileage-asd-semh-275-seed1" in names
    for v in grid.variants:
        rule, places, seed = v.labels
        sc = v.scenario
        assert sc.budgets.offer and sc.budgets.districts == ("*",) and sc.budgets.rule == rule
        assert sc.routing.seed == int(seed.removeprefix("seed"))
        assert (sum(c.add for c in sc.capacity) == 275) == (places == "asd-semh-275")
        assert sc.placement.policy == "nearest-with-capacity"  # from the base
        assert parse_scenario(v.text) == sc  # the text written is the scenario
    base = parse_scenario(grid.base_text)
    assert base.name == "baseline" and not base.budgets.offer  # [set] is the variants' only
    assert grid.keys == {"budgets.rule", "capacity", "routing.seed"}


def test_the_grid_stays_out_of_the_scenarios_glob():
    assert not list(SCENARIOS.glob("*grid*.toml"))


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_scenario_documents_written_as_toml_read_back_the_same(path):
    doc = tomllib.loads(path.read_text())
    assert parse_scenario(dump_toml(doc), default_name=path.stem) == load_scenario(path)


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "red"\n[axes]\n"routing.seed" = [0]\n', "unknown key 'colour'"),
        ("[axes]\n", "at least one axis"),
        ('[axes]\n"routing.seed" = []\n', "axis 'routing.seed' has no values"),
        ('[axes]\n"routing.seed" = 3\n', "must be a list of values"),
        ('[axes]\n"routing.seed" = [0, -1]\n', "variant g-seed-1"),
        ('[axes]\n"routing.colour" = [1]\n', "unknown key routing.colour"),
        ('[axes.x]\na = { budgets = { rule = "fair" } }\n', "variant g-a"),
        ('base = "nowhere.toml"\n[axes]\n"routing.seed" = [0]\n', "cannot read base"),
        ('name = "a b"\n[axes]\n"routing.seed" = [0]\n', "name must use"),
        ('[axes]\n"routing.seed" = [0, 0]\n', "same label"),
        ('[axes]\n"a.b.c" = [0]\n', "not a scenario key"),
    ],
)
def test_a_bad_grid_is_refused_with_its_key(tmp_path, text, message):
    text = text if text.startswith("name") else 'name = "g"\n' + text
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        load_grid(_grid(tmp_path, text))


def test_an_option_may_not_override_an_axis(tmp_path):
    path = _grid(tmp_path, 'name = "g"\n[axes]\n"routing.seed" = [0, 1]\n')
    with pytest.raises(ScenarioError, match="override the axis routing.seed"):
        sweep(path, TINY, tmp_path / "out", overrides={"routing.seed": 4})


def test_sweep_on_this_machine_writes_the_table_and_a_column_per_axis(tmp_path):
    path = _grid(
        tmp_path,
        'name = "g"\n[set]\n"routing.time_limit_s" = 2\n'
        '[axes]\n"placement.policy" = ["nearest-suitable", "optimal"]\n',
    )
    out = tmp_path / "out"
    args = ["sweep", str(path), "--data", str(TINY), "--out", str(out), "--workers", "1"]
    result = CliRunner().invoke(cli, [*args, "--quiet", "--no-report"])
    assert result.exit_code == 0, result.output
    lines = (out / "sweep.csv").read_text().splitlines()
    assert lines[0].startswith("scenario,placement.policy,annual_transport_cost")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["baseline", ""],
        ["g-nearest-suitable", "nearest-suitable"],
        ["g-optimal", "optimal"],
    ]
    assert (out / "scenarios" / "g-optimal" / "scenario.toml").exists()
    assert load_scenario(out / "scenarios" / "g-optimal" / "scenario.toml").name == "g-optimal"
