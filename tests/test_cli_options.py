"""Options declared once: each overrides its scenario key, in every command, checked alike;
only domain errors exit 2, anything else is an internal error (exit 1, --debug for more)."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_compare import HAND_MADE_OSM, write_data
from transport.cli import options as opt
from transport.cli.common import option_names
from transport.cli.main import cli
from transport.errors import ParameterError
from transport.scenario import Scenario

TINY = Path(__file__).parent / "data" / "tiny"
FAST = ["--time-limit", "1", "--workers", "1", "--quiet"]


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), **kwargs)


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


@pytest.fixture
def osm(tmp_path) -> tuple[Path, Path]:
    """A hand-made road map and a data folder on it."""
    path = tmp_path / "hand.osm.bz2"
    path.write_bytes(bz2.compress(HAND_MADE_OSM.encode()))
    points = [(52.65, -0.70), (52.65, -0.69), (52.66, -0.70), (52.64, -0.70), (52.66, -0.69)]
    return path, write_data(tmp_path / "data", points)


@pytest.mark.parametrize("setting", opt.REGISTRY, ids=lambda s: f"{s.name}:{s.key}")
def test_every_setting_names_a_scenario_key(setting):
    Scenario().with_overrides({setting.key: None})  # a known key (None changes nothing)
    assert opt.scenario_value(Scenario(), setting.key) == setting.default()


def test_options_override_every_scenario_setting(tmp_path):
    scenario = tmp_path / "sc.toml"
    scenario.write_text(
        "[placement]\npolicy = 'nearest-suitable'\n"
        "[travel]\ncircuity = 1.5\nspeed_mph = 30\ndwell_min = 3\n"
        "[routing]\ntime_limit_s = 5\nseed = 9\nbackend = 'ortools'\nmixed_school = true\n"
    )
    out = tmp_path / "run"
    result = invoke(
        "solve", "--data", str(TINY), "--out", str(out), "--scenario", str(scenario),
        "--policy", "optimal", "--circuity", "1.2", "--speed-mph", "20", "--dwell-min", "1",
        "--dwell-per-pupil-min", "0.25", "--seed", "4", "--backend", "pyvrp", "--strict-limits",
        *FAST,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    p = summary_of(out)["parameters"]
    assert p["policy"] == "optimal"
    assert p["travel"] == {
        "circuity": 1.2,
        "speed_mph": 20.0,
        "dwell_min": 1.0,
        "dwell_per_pupil_min": 0.25,
    }
    r = p["routing"]
    assert (r["time_limit_s"], r["seed"], r["backend"], r["workers"]) == (1.0, 4, "pyvrp", 1)
    assert r["mixed_school"] is True  # not given: the scenario's own
    assert r["strict_limits"] is True and r["work_limit"] is None


def test_network_crow_fly_overrides_a_scenario_on_roads(tmp_path, osm):
    """Before: --network crow-fly was the default, so it could not override a scenario."""
    osm_file, data = osm
    scenario = tmp_path / "roads.toml"
    scenario.write_text(f"[travel]\nnetwork = 'osm'\nosm_file = '{osm_file}'\npeak_factor = 1.5\n")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    roads, fly = tmp_path / "roads", tmp_path / "fly"
    common = ["solve", "--data", str(data), "--scenario", str(scenario), *cache, *FAST]
    assert invoke(*common, "--out", str(roads)).exit_code == 0
    assert invoke(*common, "--out", str(fly), "--network", "crow-fly").exit_code == 0
    model = summary_of(roads)["parameters"]["travel_model"]
    assert model["backend"] == "osm" and model["peak_factor"] == 1.5
    assert summary_of(fly)["parameters"]["travel_model"]["backend"] == "crow-fly"
    free = tmp_path / "free"
    assert invoke(*common, "--out", str(free), "--peak-factor", "1.0").exit_code == 0
    assert summary_of(free)["parameters"]["travel_model"]["peak_factor"] == 1.0


def test_budgets_take_the_scenarios_travel_network(tmp_path, osm):
    """Before: budgets --scenario ignored [travel], and refused a run planned on roads."""
    osm_file, data = osm
    scenario = tmp_path / "roads.toml"
    scenario.write_text(f"[travel]\nnetwork = 'osm'\nosm_file = '{osm_file}'\n")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    run, ptb = tmp_path / "run", tmp_path / "ptb"
    solved = invoke("solve", "--data", str(data), "--scenario", str(scenario), "--out", str(run),
                    *cache, *FAST)  # fmt: skip
    assert solved.exit_code == 0, solved.output
    args = ["budgets", "--data", str(data), "--run", str(run), "--out", str(ptb)]
    priced = invoke(*args, "--scenario", str(scenario), "--cohort", "countywide", *cache)
    assert priced.exit_code == 0, priced.output
    assert summary_of(ptb)["parameters"]["travel_model"]["backend"] == "osm"
    crow = invoke(*args, "--cohort", "countywide")  # no scenario: crow-fly, not the run's
    assert crow.exit_code == 2 and "'osm' travel model" in crow.output


@pytest.mark.parametrize("command", ["solve", "compare", "place"])
def test_an_impossible_value_is_refused_alike_in_every_command(command, tmp_path):
    """Before: --peak-factor 4 worked in solve and failed in compare."""
    base = [command, "--data", str(TINY), "--out", str(tmp_path / "o")]
    if command == "compare":
        base.insert(1, str(Path(__file__).parents[1] / "scenarios" / "baseline.toml"))
    args = [*base, "--network", "osm", "--graphml", "k.graphml", "--peak-factor", "4"]
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Error: --peak-factor must be between 0.5 and 3, got 4.0" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_two_options_for_one_setting_are_refused(tmp_path):
    result = invoke("budgets", "--run", str(tmp_path), "--out", str(tmp_path / "o"),
                    "--districts", "Ashford", "--cohort", "trial")  # fmt: skip
    assert result.exit_code == 2 and "give --districts or --cohort, not both" in result.output


def test_messages_speak_in_option_names():
    assert option_names('travel.osm_file needs travel.network = "osm"') == (
        "--osm-file needs --network osm"
    )
    assert option_names("routing.time_limit_s must be positive") == "--time-limit must be positive"
    with pytest.raises(ParameterError, match="unknown setting routing.nope"):
        Scenario().with_overrides({"routing.nope": 1})


# -------------------------------------------------------------------------------------------
# The error boundary


@pytest.fixture
def broken(monkeypatch):
    """A fault inside the engine (a bug, not bad input)."""
    import transport.jobs

    def boom(*args, **kwargs):
        raise ValueError("an engine fault")

    monkeypatch.setattr(transport.jobs, "run_scenario", boom)


def test_internal_error_is_one_line_exit_1(broken, tmp_path):
    result = invoke("place", "--data", str(TINY), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert result.output.startswith("Internal error: ValueError in transport/")
    assert result.output.strip().endswith("(run with --debug for the traceback)")
    assert len(result.output.strip().splitlines()) == 1
    assert "an engine fault" not in result.output  # a message may hold pupil data


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_shows_the_traceback(broken, tmp_path, how, monkeypatch):
    args = ["place", "--data", str(TINY), "--out", str(tmp_path / "o")]
    if how == "flag":
        args.insert(0, "--debug")
    else:
        monkeypatch.setenv("SEN_TRANSPORT_DEBUG", "1")
    result = invoke(*args)
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert "Internal error" not in result.output


def test_domain_errors_still_exit_2(tmp_path):
    result = invoke("place", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "is not a folder" in result.output
