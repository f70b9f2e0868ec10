"""Scenario files: defaults, unknown keys and impossible values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from transport.errors import ScenarioError
from transport.scenario import Scenario, load_scenario, parse_scenario

SCENARIOS = Path(__file__).parents[1] / "scenarios"


def test_empty_scenario_is_all_defaults():
    s = parse_scenario("", default_name="x")
    assert s == Scenario(name="x")
    assert s.parameters().travel.circuity == 1.3
    assert s.placement.policy == "keep" and s.target.annual_saving == 1_500_000


def test_values_reach_the_parameters():
    s = parse_scenario(
        """
        name = "fast"
        [placement]
        policy = "optimal"
        scope = "new-entrants"
        [travel]
        circuity = 1.4
        speed_mph = 30
        network = "osm"
        graphml = "kent.graphml"
        [cost]
        pa_day_rate = 60
        [routing]
        seed = 7
        [[capacity]]
        needs = ["ASD", "SEMH"]
        add = 275
        where = "best"
        [budgets]
        districts = ["Ashford"]
        """
    )
    p = s.parameters()
    assert (p.travel.circuity, p.travel.speed_mph, p.cost.pa_day_rate) == (1.4, 30.0, 60.0)
    assert s.network.network == "osm" and s.network.graphml == "kent.graphml"
    assert s.routing.seed == 7 and s.placement.scope == "new-entrants"
    assert s.capacity[0].needs == ("ASD", "SEMH") and s.capacity[0].add == 275
    assert s.budgets.districts == ("Ashford",)


@pytest.mark.parametrize(
    "text,named",
    [
        ("colour = 'red'", "'colour'"),
        ("[placement]\npolicie = 'optimal'", "placement.policie"),
        ("[travel]\ncircuity = 0.2", "circuity"),
        ("[placement]\npolicy = 'nearest'", "placement.policy"),
        ("[routing]\ntime_limit_s = -1", "routing.time_limit_s"),
        ("[routing]\nmixed_school = 'yes'", "routing.mixed_school"),
        ("[cost]\nschool_days = 'many'", "cost.school_days"),
        ("[[capacity]]\nadd = 5", "school_id"),
        ("[[capacity]]\nschool_id = 'A'\nadd = -5", "negative"),
        ("[[capacity]]\nschool_id = 'A'\nadd = 5\nwher = 'best'", "capacity[1].wher"),
        ("[budgets]\nuptake = 2", "budgets.uptake"),
        ("name = ", "not valid TOML"),
    ],
)
def test_bad_scenarios_name_the_key(text, named):
    with pytest.raises(ScenarioError, match=None) as err:
        parse_scenario(text, source="bad.toml")
    assert named in str(err.value) and "bad.toml" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "nope.toml")


def test_shipped_scenarios_parse():
    files = sorted(SCENARIOS.glob("*.toml"))
    assert files, "scenarios/ ships at least the baseline"
    for path in files:
        s = load_scenario(path)
        assert s.name == path.stem


def test_shipped_scenarios_include_the_strategy_set():
    names = {load_scenario(p).name for p in SCENARIOS.glob("*.toml")}
    assert {
        "baseline",
        "nearest-suitable",
        "optimal-placement",
        "asd-semh-275",
        "ptb-trial",
        "ptb-countywide",
        "combined",
        "prices-today",
    } <= names
    asd = load_scenario(SCENARIOS / "asd-semh-275.toml")
    assert asd.capacity[0].add == 275 and asd.capacity[0].where == "best"
    assert set(asd.capacity[0].needs) == {"ASD", "SEMH"}
    trial = load_scenario(SCENARIOS / "ptb-trial.toml")
    assert trial.budgets.offer and set(trial.budgets.districts) == {
        "Ashford",
        "Folkestone and Hythe",
    }
    assert load_scenario(SCENARIOS / "ptb-countywide.toml").budgets.districts == ("*",)
    assert not load_scenario(SCENARIOS / "baseline.toml").budgets.offer
    assert load_scenario(SCENARIOS / "prices-today.toml").prices.factors().transport > 1.8


def test_compare_keys_have_defaults():
    s = parse_scenario("")
    assert s.budgets.offer is False
    f = s.prices.factors()
    assert (f.basis, f.transport, f.place) == ("2013", 1.0, 1.0)
    today = parse_scenario("[prices]\nbasis = 'today'").prices.factors()
    assert today.transport == pytest.approx(8100 / 4250) and today.place == 1.0
    own = parse_scenario("[prices]\nbasis = 'today'\ntransport_factor = 2\nplace_factor = 1.3")
    assert own.prices.factors().transport == 2.0 and own.prices.factors().place == 1.3
    cap = parse_scenario("[[capacity]]\nneeds = ['ASD']\nadd = 30\nwhere = 'best'").capacity[0]
    assert cap.batch == 25 and cap.candidates == () and cap.school_id is None


@pytest.mark.parametrize(
    "text,named",
    [
        ("[budgets]\noffer = 'yes'", "budgets.offer"),
        ("[budgets]\noffers = true", "budgets.offers"),
        ("[prices]\ntransport_factor = 0", "prices.transport_factor"),
        ("[prices]\nplace_factor = 'x'", "prices.place_factor"),
        ("[prices]\nfactor = 2", "prices.factor"),
        ("[[capacity]]\nneeds = ['ASD']\nadd = 5\nwhere = 'best'\nbatch = 0", "capacity.batch"),
        ("[[capacity]]\nadd = 5\nwhere = 'best'", "capacity.needs"),
        ("[[capacity]]\nneeds = ['AUT']\nadd = 5\nwhere = 'best'", "capacity.needs"),
        ("[[capacity]]\nschool_id = 'A'\nneeds = ['ASD']\nadd = 5\nwhere = 'best'", "not both"),
        ("[[capacity]]\nneeds = ['ASD']\nadd = 5\nwhere = 'near'", "capacity.where"),
    ],
)
def test_bad_compare_keys_are_named(text, named):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, source="bad.toml")
    assert named in str(err.value) and "bad.toml" in str(err.value)


# -------------------------------------------------------------------------------------------
# Overrides: what command-line options do, in one place


def test_overrides_replace_keys_and_keep_the_rest():
    s = parse_scenario("[routing]\nseed = 9\ntime_limit_s = 5\n[travel]\ncircuity = 1.5\n")
    o = s.with_overrides(
        {"routing.seed": 4, "travel.speed_mph": 30.0, "budgets.districts": ["Ashford"]}
    )
    assert (o.routing.seed, o.routing.time_limit_s) == (4, 5)
    assert (o.travel.circuity, o.travel.speed_mph) == (1.5, 30.0)
    assert o.budgets.districts == ("Ashford",)
    assert s.with_overrides({"routing.seed": None}) == s  # None: not given


def test_overrides_of_the_network_replace_the_map():
    roads = Scenario().with_overrides(
        {"travel.network": "osm", "travel.graphml": "kent.graphml", "travel.peak_factor": 1.2}
    )
    other_map = roads.with_overrides({"travel.osm_file": "kent.osm.bz2"})
    assert (other_map.network.osm_file, other_map.network.graphml) == ("kent.osm.bz2", None)
    assert other_map.network.peak_factor == 1.2
    flat = roads.with_overrides({"travel.network": "crow-fly"})
    assert flat.network == Scenario().network


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"routing.time_limit_s": 0}, "routing.time_limit_s must be positive"),
        ({"travel.circuity": 0.2}, "travel.circuity must be between 1 and 3"),
        ({"travel.osm_file": "a.osm"}, 'travel.osm_file needs travel.network = "osm"'),
        ({"budgets.rule": "fair"}, "budgets.rule must be one of"),
        ({"routing.speed": 1}, "unknown setting routing.speed"),
        ({"capacity.add": 1}, "unknown setting capacity.add"),
    ],
)
def test_bad_overrides_are_parameter_errors_naming_the_key(overrides, named):
    from transport.errors import ParameterError

    with pytest.raises(ParameterError) as err:
        Scenario().with_overrides(overrides)
    assert named in str(err.value)


def test_one_routing_settings_class():
    from transport.routing import RoutingOptions
    from transport.scenario import RoutingSettings

    assert RoutingOptions is RoutingSettings
    s = parse_scenario("[routing]\nmixed_school_radius_miles = 5.0\nworkers = 2\n")
    assert s.routing.to_dict()["workers_used"] == 2
