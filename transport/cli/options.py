"""Every command-line option, declared once.

Two kinds of option:

*Settings* override one scenario key each (``--time-limit`` → ``routing.time_limit_s``). They
are :class:`Setting` objects: used as a decorator, a setting adds its click option to a
command; the value given (and only a value given) is recorded as an override, and
:func:`scenario_with_overrides` applies every override of the command line to the scenario
file (or the defaults) through :meth:`transport.scenario.Scenario.with_overrides`, so every
setting is checked by the same settings class in every command, and every option overrides the
scenario, as the help says. The help shows the scenario key and its default.

*Inputs* say where things are (``--data``, ``--out``, ``--scenario``, ``--cache-dir``…).

Adding an option is one declaration here (and the key in :mod:`transport.scenario`), then its
name in the commands that take it, e.g. ``WORK_LIMIT = Setting("--work-limit",
"routing.work_limit", type=int, help="…")`` and ``@WORK_LIMIT`` on ``solve`` (or adding it to
:data:`ROUTING`, which every routing command takes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from transport.budgets.cohorts import COHORTS, split_districts
from transport.errors import ParameterError
from transport.letters.pdf import ENGINES
from transport.scenario import (
    BACKENDS,
    BUDGET_RULES,
    MAX_PLACES_ADDED,
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    MAX_WORKERS,
    NETWORKS,
    PLACEMENT_POLICIES,
    Scenario,
    finite_number,
    load_scenario,
    whole_number,
)

F = TypeVar("F", bound=Callable[..., Any])
OVERRIDES = "transport.overrides"
"""Key of the click context's ``meta`` that collects the overrides given."""

REGISTRY: list[Setting] = []
"""Every setting option declared (the error boundary names options by their key)."""


@dataclass(frozen=True)
class Setting:
    """An option that overrides one scenario key.

    Parameters
    ----------
    flag
        The option, e.g. ``"--time-limit"`` (or ``"--allow-loss/--no-allow-loss"``).
    key
        The scenario key it overrides, e.g. ``"routing.time_limit_s"``.
    help
        What it does; the key and its default are added.
    type
        The click type that parses the text (the settings class checks the value).
    is_flag
        A flag without a value (``True`` when given).
    convert
        Turns the parsed value into the setting's (a path into text, a list into a tuple).
    metavar, default_text
        How the help shows the value and the default (default: the scenario's default).
    """

    flag: str
    key: str
    help: str
    type: Any = None
    is_flag: bool = False
    convert: Callable[[Any], Any] | None = None
    metavar: str | None = None
    default_text: str | None = None

    def __post_init__(self) -> None:
        REGISTRY.append(self)

    @property
    def name(self) -> str:
        """The option's first flag (``--allow-loss`` of ``--allow-loss/--no-allow-loss``)."""
        return self.flag.split("/")[0]

    def default(self) -> Any:
        """The scenario's default for the key."""
        return scenario_value(Scenario(), self.key)

    def with_default_text(self, text: str) -> Setting:
        """The same option showing another default (a command whose base scenario differs)."""
        return replace(self, default_text=text)

    def __call__(self, func: F) -> F:
        shown = self.default_text if self.default_text is not None else _text(self.default())
        extra: dict[str, Any] = {"is_flag": True} if self.is_flag else {"type": self.type}
        if self.metavar:
            extra["metavar"] = self.metavar
        return click.option(
            self.flag,
            f"{self.key}.{self.name}".replace(".", "__").replace("-", "_"),
            default=None,
            expose_value=False,
            callback=self._record,
            help=f"{self.help} [{self.key}; default {shown}]",
            **extra,
        )(func)

    def _record(self, ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return value
        given = ctx.meta.setdefault(OVERRIDES, {})
        flags = ctx.meta.setdefault(OVERRIDES + ".flags", {})
        if self.key in given and flags[self.key] != self.name:
            raise click.UsageError(f"give {flags[self.key]} or {self.name}, not both")
        given[self.key] = self.convert(value) if self.convert else value
        flags[self.key] = self.name
        return value


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def scenario_value(scenario: Scenario, key: str) -> Any:
    """The value of a scenario key (``"travel.network"`` lives in ``scenario.network``)."""
    table, _, name = key.partition(".")
    holder = getattr(scenario, table)
    if not hasattr(holder, name) and table == "travel":
        holder = scenario.network
    return getattr(holder, name)


def given_overrides() -> dict[str, Any]:
    """The overrides given on the command line of the command running now."""
    return dict(click.get_current_context().meta.get(OVERRIDES, {}))


def scenario_with_overrides(
    scenario_file: Path | None = None, *, base: Scenario | None = None
) -> Scenario:
    """The scenario file (or ``base``, or the defaults) with the command line's overrides."""
    scenario = load_scenario(scenario_file) if scenario_file is not None else base or Scenario()
    return scenario.with_overrides(given_overrides())


def apply(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply option decorators in the order listed (the help lists them in that order)."""

    def wrap(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return wrap


def _path(value: Any) -> str:
    return str(value)


class Bounded(click.ParamType):
    """A number of an option that is not a scenario setting (``site --time-limit``, ``award
    --seed``…): finite and within ``[low, high]``, checked by the settings' own bounds check
    (:func:`transport.scenario.finite_number`, :func:`~transport.scenario.whole_number`), so
    that ``nan``, ``inf`` and absurd values are refused (exit 2, naming the option) before any
    work.

    Parameters
    ----------
    kind
        ``int`` (a whole number) or ``float``.
    low, high
        The bounds (documented in the option's help).
    low_open
        ``low`` itself is refused (a time limit must be more than 0).
    """

    def __init__(self, kind: type, low: float, high: float, *, low_open: bool = False) -> None:
        self.kind, self.low, self.high, self.low_open = kind, low, high, low_open
        self.name = "integer" if kind is int else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        whole = self.kind is int
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = self.kind(str(value).strip())
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a {'whole number' if whole else 'number'}", param, ctx)
        try:
            if whole:
                whole_number("", value, int(self.low), int(self.high))
            else:
                value = finite_number("", value, self.low, self.high)
        except ParameterError as exc:
            self.fail(str(exc).strip(), param, ctx)
        if self.low_open and value <= self.low:
            self.fail(f"must be more than {self.low:g}, got {value!r}", param, ctx)
        return value

    def __repr__(self) -> str:
        return f"Bounded({self.kind.__name__}, {self.low:g}, {self.high:g})"


SECONDS = Bounded(float, 0.0, MAX_TIME_LIMIT_S, low_open=True)
"""A solver's time limit in seconds (more than 0, at most a day), as ``routing.time_limit_s``."""
SEED = Bounded(int, 0, MAX_SEED)
"""A random seed (0 to 2**31 - 1, what every solver takes), as ``routing.seed``."""
PLACES = Bounded(int, 0, MAX_PLACES_ADDED)
"""A count of school places or sites (at most the places a scenario may add)."""
WORKER_COUNT = Bounded(int, 1, MAX_WORKERS)
"""Processes or pages working at once (at most ``routing.workers``' bound)."""


# ---------------------------------------------------------------------------------------------
# Settings

POLICY = Setting(
    "--policy", "placement.policy", "Placement policy.", type=click.Choice(PLACEMENT_POLICIES)
)
EST_COST_PER_PUPIL_MILE = Setting(
    "--est-cost-per-pupil-mile",
    "cost.est_cost_per_pupil_mile",
    "£ per pupil-mile the optimal policy assumes.",
    type=float,
)

TIME_LIMIT = Setting(
    "--time-limit",
    "routing.time_limit_s",
    "Seconds for the whole plan (each scenario's, in compare).",
    type=float,
)
ROUTING_SEED = Setting("--seed", "routing.seed", "Routing seed.", type=int)
BACKEND = Setting("--backend", "routing.backend", "Routing solver.", type=click.Choice(BACKENDS))
WORKERS = Setting("--workers", "routing.workers", "Worker processes (0: one per CPU).", type=int)
MIXED_SCHOOL = Setting(
    "--mixed-school/--no-mixed-school",
    "routing.mixed_school",
    "Let pupils of nearby schools (arrive_by within 15 min) share a vehicle where that saves "
    "money and keeps every rule.",
)

WORK_LIMIT = Setting(
    "--work-limit",
    "routing.work_limit",
    "Deterministic mode: stop the searches after N units of work (a unit is a million "
    "local-search moves), never on the clock; the same data, seed and N give the same plan "
    "on any machine.",
    type=float,
    metavar="N",
)
STRICT_LIMITS = Setting(
    "--strict-limits",
    "routing.strict_limits",
    "No ride over the pupil's stated limit unless the direct journey itself is longer (then "
    "the pupil rides direct).",
    is_flag=True,
)
CHANGE_COST = Setting(
    "--change-cost",
    "routing.change_cost",
    "Re-plans: £ a year one disturbed family is worth; a journey in force is changed only "
    "where that saves more than this per family disturbed.",
    type=float,
    metavar="POUNDS",
)

CIRCUITY = Setting(
    "--circuity", "travel.circuity", "Road miles per straight-line mile.", type=float
)
SPEED_MPH = Setting("--speed-mph", "travel.speed_mph", "Average speed in mph.", type=float)
DWELL_MIN = Setting("--dwell-min", "travel.dwell_min", "Minutes added per pickup.", type=float)
DWELL_PER_PUPIL_MIN = Setting(
    "--dwell-per-pupil-min",
    "travel.dwell_per_pupil_min",
    "Minutes added to a pickup for each pupil boarding there.",
    type=float,
)

NETWORK = Setting(
    "--network",
    "travel.network",
    "Travel model: crow-fly miles × circuity, OpenStreetMap roads, or the council's own "
    "travel matrix (travel.csv in the data folder, or --matrix).",
    type=click.Choice(NETWORKS),
)
MATRIX = Setting(
    "--matrix",
    "travel.matrix",
    "Travel matrix CSV (from_id,to_id,miles,minutes) for --network matrix; default "
    "DATA/travel.csv.",
    type=click.Path(path_type=Path, dir_okay=False),
    convert=_path,
)
OSM_FILE = Setting(
    "--osm-file",
    "travel.osm_file",
    "OSM XML road map (.osm, .osm.bz2) for --network osm.",
    type=click.Path(path_type=Path, dir_okay=False),
    convert=_path,
)
OSM_PLACE = Setting(
    "--osm-place",
    "travel.osm_place",
    'Place to download once for --network osm, e.g. "Kent, England" (online).',
    metavar="NAME",
)
GRAPHML = Setting(
    "--graphml",
    "travel.graphml",
    "Road graph saved by 'sen-transport graph build' for --network osm.",
    type=click.Path(path_type=Path, dir_okay=False),
    convert=_path,
)
PEAK_FACTOR = Setting(
    "--peak-factor",
    "travel.peak_factor",
    "Multiplies road travel times (1.2 = 20% slower than free flow); --network osm.",
    type=float,
)

RULE = Setting(
    "--rule",
    "budgets.rule",
    "Pricing rule; 'bands' takes [budgets] bands from the scenario.",
    type=click.Choice(BUDGET_RULES),
)
DISTRICTS = Setting(
    "--districts",
    "budgets.districts",
    'Comma-separated districts of the cohort, e.g. Ashford,"Folkestone and Hythe" '
    '(Shepway accepted; "*" = county-wide).',
    metavar="LIST",
    convert=lambda text: tuple(split_districts(text)),
)
COHORT = Setting(
    "--cohort",
    "budgets.districts",
    "trial = Ashford + Folkestone and Hythe; countywide = every district.",
    type=click.Choice(sorted(COHORTS)),
    convert=lambda name: tuple(COHORTS[name]),
)
DRAWS = Setting(
    "--draws",
    "budgets.draws",
    "Budget uptake draws.",
    type=click.IntRange(1, 1_000_000),
)
BUDGET_SEED = Setting("--seed", "budgets.seed", "Random seed of the uptake draws.", type=int)
ALLOW_LOSS = Setting(
    "--allow-loss/--no-allow-loss",
    "budgets.allow_loss",
    "Allow offers that may cost more than they save.",
)

ROUTING: Sequence[Setting] = (
    TIME_LIMIT,
    WORK_LIMIT,
    STRICT_LIMITS,
    ROUTING_SEED,
    BACKEND,
    WORKERS,
    MIXED_SCHOOL,
)
TRAVEL: Sequence[Setting] = (CIRCUITY, SPEED_MPH, DWELL_MIN, DWELL_PER_PUPIL_MIN)
NETWORK_SETTINGS: Sequence[Setting] = (NETWORK, MATRIX, OSM_FILE, OSM_PLACE, GRAPHML, PEAK_FACTOR)


# ---------------------------------------------------------------------------------------------
# Inputs


def data_option(func: F) -> F:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("data/kent"),
        show_default=True,
        help="Data folder holding schools.csv, pupils.csv, vehicles.csv [, incompatible.csv].",
    )(func)


def districts_file_option(func: F) -> F:
    return click.option(
        "--districts-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="District boundaries (GeoJSON, GeoPackage, shapefile with a name per polygon): "
        "blank districts are filled from each home's location and stated ones checked.",
    )(func)


def out_option(func: F) -> F:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        required=True,
        help="Run folder to write (replaced atomically when complete).",
    )(func)


def scenario_option(func: F) -> F:
    return click.option(
        "--scenario",
        "scenario_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Scenario TOML with the run's settings; options given here override it.",
    )(func)


def cache_dir_option(func: F) -> F:
    return click.option(
        "--cache-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Road graph and matrix cache [$SEN_TRANSPORT_CACHE or ~/.cache/sen-transport].",
    )(func)


def previous_option(func: F) -> F:
    return click.option(
        "--previous",
        "previous_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Re-plan from this solved run (the plan in force): unchanged families keep their "
        "journeys where the rules allow [with --runs-dir: RUNS_DIR/latest].",
    )(func)


def from_scratch_option(func: F) -> F:
    return click.option(
        "--from-scratch",
        is_flag=True,
        help="Plan every route anew (the annual retender) instead of re-planning from the plan "
        "in force; it is still compared with it (summary.json stability).",
    )(func)


def locks_option(func: F) -> F:
    return click.option(
        "--locks",
        "locks_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="CSV with a route_id column (e.g. route-operators.csv): routes of the plan in force "
        "to keep exactly but for leavers; a lock that cannot hold is reported with its reason.",
    )(func)


def scheduler_option(func: F) -> F:
    """``--scheduler ADDRESS`` (or ``$SEN_TRANSPORT_SCHEDULER``): run on a Dask cluster."""
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        envvar="SEN_TRANSPORT_SCHEDULER",
        default=None,
        help="Run the independent work (route searches, scenarios' stages, budget re-plans, "
        "uptake draws) on the workers of this Dask scheduler, e.g. tcp://10.0.0.5:8786; the "
        "same plan as on this machine [$SEN_TRANSPORT_SCHEDULER; default: this machine].",
    )(func)


def verbose_ids_option(func: F) -> F:
    return click.option(
        "--verbose-ids",
        is_flag=True,
        help="Also print pupil ids (unplaced, unrouted) on the terminal; counts only without it.",
    )(func)


def engine_option(func: F) -> F:
    """The PDF engine of letters and crew packs (:func:`transport.letters.pdf.choose_engine`)."""
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="auto",
        show_default=True,
        help="PDF engine: chromium (headless Chromium: about 10 ms a letter), weasyprint "
        "(about 8 times slower; needs no browser) or auto (Chromium when installed, else "
        "WeasyPrint with a warning).",
    )(func)


def quiet_option(func: F) -> F:
    return click.option("--quiet", is_flag=True, help="No progress messages.")(func)


def comparison_options(func: F) -> F:
    """``--no-cache`` and ``--no-report``: the comparison commands' (compare, sweep)."""
    func = click.option("--no-report", is_flag=True, help="Do not write report.html.")(func)
    return click.option(
        "--no-cache",
        is_flag=True,
        help="Recompute every stage (nothing read from or added to cache).",
    )(func)


def network_options(func: F) -> F:
    """The travel backend's settings and the road-graph cache folder."""
    return apply(*NETWORK_SETTINGS, cache_dir_option)(func)


@functools.cache
def flags_by_key() -> dict[str, str]:
    """Each scenario key with an option, and that option (the first declared)."""
    out: dict[str, str] = {}
    for setting in REGISTRY:
        out.setdefault(setting.key, setting.name)
    return out
