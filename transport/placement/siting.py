"""Capacity planning: which candidate sites to open and where to add places, solved exactly.

One mixed-integer programme chooses the new sites to open (yes/no), the existing schools to
expand and the school of every pupil, minimising the annual cost of the whole county:

    Σ pupils (place cost + school_days × 2 × road miles × est_cost_per_pupil_mile)
      + Σ opened sites and expansions (build cost × annualisation factor)

— the ``optimal`` placement policy's own objective, plus the build costs — subject to the
places of every school and site, at most ``places`` places added in all, at most
``max_sites`` new sites and a capital ``budget``.

Every pupil that the places can take is placed first (a lexicographic objective), and a site
or expansion that no pupil uses is never opened.

How it is solved (``SitingOptions.solver``):

* ``benders`` (default, :mod:`transport.placement._benders`): Benders decomposition — a
  CP-SAT master over the yes/no decisions and OR-Tools' integer min-cost flow as the
  subproblem, in integer pence; proven optimal when the bounds meet;
* ``scip``, ``cbc``, ``highs``, ``cp-sat`` (:mod:`transport.placement._mip`): the same model as
  one MIP (two stages when the most pupils placed depends on the choice).

Pupils are grouped exactly into classes (:mod:`transport.placement._network`). Whatever the
solver, the pupils are placed at the end by the exact min-cost flow with the chosen sites open
and its cost is the objective reported.

Build costs are annualised by ``annuity_factor(years, discount_rate)``: simple division by
``years`` when the rate is 0 (the default), else the annuity ``r / (1 − (1 + r)^−years)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from transport.errors import ParameterError
from transport.model import Dataset, Parameters, PlacementResult, School
from transport.placement._mip import solve_mip
from transport.placement._network import Flow, Network, Pool, build_network, placements_of
from transport.placement._network import solve_flow as solve_network_flow
from transport.placement.candidates import Candidates
from transport.scenario import (
    MAX_PLACES_ADDED,
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    finite_number,
    whole_number,
)
from transport.travel import CrowFlyModel, TravelModel
from transport.units import from_pence, to_pence

SOLVERS = ("benders", "scip", "cbc", "highs", "cp-sat")
MAX_BUILD_BUDGET = 100_000_000_000.0
"""The largest build budget (£) ``site --budget`` takes: £100bn, beyond any council's."""


def annuity_factor(years: int, discount_rate: float = 0.0) -> float:
    """The share of a build cost counted each year: ``1 / years``, or the annuity factor.

    Examples
    --------
    >>> annuity_factor(30)
    0.03333333333333333
    >>> round(annuity_factor(30, 0.035), 5)
    0.05437
    """
    if discount_rate == 0:
        return 1.0 / years
    return discount_rate / (1.0 - (1.0 + discount_rate) ** -years)


@dataclass(frozen=True, kw_only=True)
class SitingOptions:
    """Limits and settings of the siting model.

    Parameters
    ----------
    places
        At most this many places added in all (new sites and expansions); ``None``: no limit
        but each candidate's own.
    needs
        Consider only candidates serving one of these need codes (empty: all).
    years, discount_rate
        Build costs are annualised over ``years``: divided by it when ``discount_rate`` is 0,
        else by the annuity factor at that rate (e.g. 0.035, the Green Book rate).
    max_sites
        At most this many new sites opened (expansions do not count).
    budget
        At most this much build cost (£, not annualised) for sites and expansions together.
    time_limit_s
        Wall-clock limit of the MIP solver; when it stops the solve the best choice found is
        kept and the optimality gap reported.
    solver
        ``scip`` (default), ``cbc``, ``highs`` (OR-Tools pywraplp) or ``cp-sat``.
    seed
        The solver's random seed.
    scope
        ``all`` (every pupil placed by the model) or ``new-entrants`` (pupils with a school
        keep it).
    """

    places: int | None = None
    needs: tuple[str, ...] = ()
    years: int = 30
    discount_rate: float = 0.0
    max_sites: int | None = None
    budget: float | None = None
    time_limit_s: float = 60.0
    solver: str = "benders"
    seed: int = 0
    scope: str = "all"

    def __post_init__(self) -> None:
        from transport.model import NEED_CODES

        if self.places is not None:
            whole_number("places", self.places, 0, MAX_PLACES_ADDED)
        if not 1 <= self.years <= 200:
            raise ParameterError(f"years must be between 1 and 200, got {self.years}")
        if not (math.isfinite(self.discount_rate) and 0 <= self.discount_rate < 1):
            raise ParameterError(f"discount rate must be in [0, 1), got {self.discount_rate}")
        if self.max_sites is not None:
            whole_number("max sites", self.max_sites, 0, MAX_PLACES_ADDED)
        if self.budget is not None:
            finite_number("budget", self.budget, 0.0, MAX_BUILD_BUDGET)
        finite_number("time limit", self.time_limit_s, 0.0, MAX_TIME_LIMIT_S)
        if not self.time_limit_s > 0:
            raise ParameterError(f"time limit must be positive, got {self.time_limit_s}")
        whole_number("seed", self.seed, 0, MAX_SEED)
        if self.solver not in SOLVERS:
            raise ParameterError(f"solver must be one of {', '.join(SOLVERS)}")
        if self.scope not in ("all", "new-entrants"):
            raise ParameterError(f"scope must be all or new-entrants, got {self.scope!r}")
        unknown = [n for n in self.needs if n not in NEED_CODES]
        if unknown:
            raise ParameterError(f"unknown need {unknown[0]!r} (known: {', '.join(NEED_CODES)})")

    @property
    def annual_factor(self) -> float:
        return annuity_factor(self.years, self.discount_rate)


@dataclass(frozen=True)
class SiteRow:
    """One opened site or expanded school: a row of sites.csv."""

    site_id: str
    name: str
    type: str
    """``new site`` or ``expansion``."""
    kind: str
    district: str
    need: str
    places: int
    pupils: int
    build_cost: float
    annual_build_cost: float
    annual_saving: float
    """Leave-one-out: place + transport cost a year without this site (others as chosen,
    pupils re-placed exactly) minus with it."""
    net_annual_saving: float
    unplaced_without: int
    lat: float
    lon: float


SITE_COLUMNS = (
    "site_id",
    "name",
    "type",
    "kind",
    "district",
    "need",
    "places",
    "pupils",
    "build_cost",
    "annual_build_cost",
    "annual_saving",
    "net_annual_saving",
    "unplaced_without",
    "lat",
    "lon",
)


@dataclass(frozen=True)
class SolveInfo:
    """How the MIP went."""

    solver: str
    status: str
    exact: bool
    objective: float
    bound: float
    gap: float
    wall_s: float
    stages: int
    variables: int
    constraints: int
    binaries: int
    classes: int
    arcs: int
    pupils_target: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "solver": self.solver,
            "status": self.status,
            "solved_exactly": self.exact,
            "objective": round(self.objective, 2),
            "bound": round(self.bound, 2),
            "gap": self.gap,
            "wall_time_s": round(self.wall_s, 2),
            "stages": self.stages,
            "variables": self.variables,
            "constraints": self.constraints,
            "binaries": self.binaries,
            "pupil_classes": self.classes,
            "arcs": self.arcs,
            "pupils_placed_target": self.pupils_target,
        }


@dataclass(frozen=True)
class Costs:
    """Annual costs of one placement (£) and its counts."""

    place: float
    transport: float
    placed: int
    out_of_county: int

    @property
    def total(self) -> float:
        return self.place + self.transport

    def to_dict(self) -> dict[str, Any]:
        return {
            "annual_place_cost": round(self.place, 2),
            "estimated_annual_transport_cost": round(self.transport, 2),
            "annual_cost": round(self.total, 2),
            "pupils_placed": self.placed,
            "pupils_out_of_county": self.out_of_county,
        }


@dataclass(frozen=True)
class SiteResult:
    """What :func:`site_places` returns."""

    data: Dataset
    """The data set with the new capacities and the opened sites as schools."""
    placements: PlacementResult
    rows: tuple[SiteRow, ...]
    before: Costs
    after: Costs
    info: SolveInfo
    options: SitingOptions
    candidates: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def build_cost(self) -> float:
        return sum(r.build_cost for r in self.rows)

    @property
    def annual_build_cost(self) -> float:
        return sum(r.annual_build_cost for r in self.rows)

    @property
    def annual_saving(self) -> float:
        """Place + transport a year before minus after (build cost not included)."""
        return self.before.total - self.after.total

    @property
    def net_annual_saving(self) -> float:
        return self.annual_saving - self.annual_build_cost

    @property
    def payback_years(self) -> float | None:
        """Build cost over the annual saving; ``None`` when nothing is saved."""
        if self.annual_saving <= 0:
            return None if self.build_cost > 0 else 0.0
        return self.build_cost / self.annual_saving


# -------------------------------------------------------------------------------------------
# The model


@dataclass
class SitingModel:
    """The network plus the candidates' decisions, by column."""

    net: Network
    pool: Pool
    gated: dict[int, int]
    """Column → annualised build cost in pence, for every yes/no decision."""
    build: dict[int, float]
    """Column → build cost in £."""
    sites: frozenset[int]
    """Columns that are new sites."""
    per_mile: float
    """£ a year per road mile of one pupil's home → school distance (the estimate)."""


def _model(
    data: Dataset,
    candidates: Candidates,
    options: SitingOptions,
    *,
    travel: TravelModel,
    params: Parameters,
) -> SitingModel:
    schools = sorted(data.schools, key=lambda s: s.school_id)
    columns: list[School] = [*schools, *(s.as_school(0) for s in candidates.sites)]
    column = {s.school_id: j for j, s in enumerate(columns)}
    net = build_network(data, columns, scope=options.scope, travel=travel, params=params)
    extra: dict[int, int] = {}
    gated: dict[int, int] = {}
    build: dict[int, float] = {}
    for e in candidates.expansions:
        j = column[e.school_id]
        extra[j] = e.max_extra
        if e.build_cost > 0:
            gated[j] = int(to_pence(e.build_cost * options.annual_factor))
            build[j] = e.build_cost
    sites = set()
    for s in candidates.sites:
        j = column[s.site_id]
        extra[j] = s.max_places
        gated[j] = int(to_pence(s.build_cost * options.annual_factor))
        build[j] = s.build_cost
        sites.add(j)
    pool = Pool("places", options.places, extra)
    per_mile = params.cost.school_days * 2.0 * params.cost.est_cost_per_pupil_mile
    return SitingModel(net, pool, gated, build, frozenset(sites), per_mile)


def _flow(model: SitingModel, open_: set[int]) -> Flow:
    """The exact placement with the decisions ``open_`` taken (the others not)."""
    closed = frozenset(j for j in model.gated if j not in open_)
    return solve_network_flow(model.net, [model.pool], closed=closed)


def site_places(
    data: Dataset,
    candidates: Candidates,
    *,
    options: SitingOptions | None = None,
    travel: TravelModel | None = None,
    params: Parameters | None = None,
) -> SiteResult:
    """Choose the sites to open and the places to add, exactly; place every pupil.

    Parameters
    ----------
    data
        The validated data set.
    candidates
        New sites and expansions (:func:`~transport.placement.candidates.read_candidates`).
    options
        Limits (places, needs, sites, budget), annualisation, solver, time limit and seed.
    travel, params
        The travel model and parameters (``params.cost`` sets the transport estimate).

    Returns
    -------
    SiteResult
        The data set with the new places (opened sites appended as schools), the placement
        under it, one row per opened site or expanded school, the costs before (the
        ``optimal`` placement with today's places) and after, and how the solve went.
    """
    options = options or SitingOptions()
    params = params or Parameters()
    travel = travel or CrowFlyModel(params.travel)
    start = time.perf_counter()
    candidates = candidates.only_serving(options.needs, data)
    model = _model(data, candidates, options, travel=travel, params=params)
    net = model.net
    today = solve_network_flow(net, [])
    low = _flow(model, set())
    high = _flow(model, set(model.gated))
    if options.solver == "benders" and model.gated:
        fixed_flow = low.placed if low.placed == high.placed else None
        out, target, stages, sizes = _solve_benders(model, options, fixed_flow)
    else:
        out, target, stages, sizes = solve_mip(model, options, low.placed, high.placed)
    flow = _flow(model, out["open"])
    # a site or expansion nobody uses is never opened
    used = {j for (_, j) in flow.added}
    opened = {j for j in out["open"] if j in used}
    if opened != out["open"]:
        flow = _flow(model, opened)
    annual_pence = sum(model.gated[j] for j in opened)
    objective = from_pence(flow.cost_pence + annual_pence)
    bound = objective if out["bound"] is None else min(float(out["bound"]) / 100, objective)
    exact = bool(out["optimal"])
    gap = 0.0 if exact or objective == 0 else max(0.0, (objective - bound) / objective)
    info = SolveInfo(
        solver=options.solver,
        status=out["status"],
        exact=exact,
        objective=float(objective),
        bound=float(bound),
        gap=round(gap, 6),
        wall_s=time.perf_counter() - start,
        stages=stages,
        variables=sizes[0],
        constraints=sizes[1],
        binaries=len(model.gated),
        classes=net.classes,
        arcs=len(net.arc_class),
        pupils_target=target + len(net.fixed),
    )
    extra = {
        "mip_objective": None if out["objective"] is None else round(out["objective"] / 100, 2),
        "flow_objective": round(float(objective), 2),
    }
    if "benders" in out:
        extra["benders"] = out["benders"]
    return _result(data, model, flow, today, opened, info, options, candidates, extra)


# -------------------------------------------------------------------------------------------
# Results


def _solve_benders(
    model: SitingModel, options: SitingOptions, placed: int | None
) -> tuple[dict[str, Any], int, int, tuple[int, int]]:
    """Benders decomposition (:mod:`._benders`): exact, in integers.

    ``placed`` is the pupils every choice places (when the most and the fewest any choice
    could place are equal), else ``None`` (the flow then prices each pupil left unplaced).
    """
    from transport.placement._benders import FlowSubproblem, solve_benders

    sub = FlowSubproblem(model.net, model.pool, model.gated, placed=placed)
    result = solve_benders(
        sub,
        sites=model.sites,
        build=model.build,
        max_sites=options.max_sites,
        budget=options.budget,
        time_limit_s=options.time_limit_s,
        seed=options.seed,
        start=[frozenset(), frozenset(model.gated)],
    )
    best = result.best
    out = {
        "status": "optimal" if result.optimal else "feasible (time limit)",
        "optimal": result.optimal,
        "objective": float(best.total - sub.big_m * best.penalised),
        "bound": float(result.lower_bound - sub.big_m * best.penalised),
        "open": set(best.open),
        "benders": {
            "iterations": result.iterations,
            "evaluations": result.evaluations,
            "wall_time_s": round(result.wall_s, 2),
        },
    }
    target = int(model.net.count.sum()) - best.unplaced
    return out, target, 1, (len(model.gated) + 1, result.evaluations)


def out_of_county(data: Dataset, school: School) -> bool:
    """Independent or non-maintained, or in a district none of the pupils lives in.

    The county is the districts of the pupils' homes (Kent's 12 on the Kent data), so a
    maintained school in Medway or Bexley is out of county; a new site whose district is
    blank counts as in county (the council builds it for its own pupils).
    """
    if school.kind == "independent":
        return True
    return bool(school.district) and school.district not in _home_districts(data)


def _home_districts(data: Dataset) -> frozenset[str]:
    return frozenset(p.district for p in data.pupils)


def _costs(data: Dataset, model: SitingModel, flow: Flow) -> Costs:
    """Place cost, estimated transport, pupils placed and out of county, of a flow."""
    net = model.net
    loads = flow.load(net)
    place = float(sum(net.columns[j].place_cost * n for j, n in enumerate(loads.tolist())))
    firsts = np.array([m[0] for m in net.members], dtype=np.int64)
    miles = float((flow.arc_flow * net.matrix.miles[firsts[net.arc_class], net.arc_column]).sum())
    miles += sum(float(net.matrix.miles[i, j]) for i, j in net.fixed.items())
    away = sum(n for j, n in enumerate(loads.tolist()) if out_of_county(data, net.columns[j]))
    return Costs(place, model.per_mile * miles, int(loads.sum()), int(away))


def _result(
    data: Dataset,
    model: SitingModel,
    flow: Flow,
    today: Flow,
    opened: set[int],
    info: SolveInfo,
    options: SitingOptions,
    candidates: Candidates,
    extra: dict[str, Any],
) -> SiteResult:
    net = model.net
    added: dict[int, int] = {}
    for (_, j), n in flow.added.items():
        added[j] = added.get(j, 0) + n
    loads = flow.load(net)
    chosen = net.base.copy()
    for j, n in added.items():
        chosen[j] += n
    rows: list[SiteRow] = []
    for j in sorted(added, key=lambda j: net.columns[j].school_id):
        school = net.columns[j]
        less = chosen.copy()
        less[j] -= added[j]
        without = solve_network_flow(net, [], base=less)
        saving = from_pence(without.cost_pence - flow.cost_pence)
        build = model.build.get(j, 0.0) if j in opened else 0.0
        annual_build = from_pence(model.gated[j]) if j in opened else 0.0
        rows.append(
            SiteRow(
                site_id=school.school_id,
                name=school.name,
                type="new site" if j in model.sites else "expansion",
                kind=school.kind,
                district=school.district,
                need=_need_label(school.needs),
                places=added[j],
                pupils=int(loads[j]),
                build_cost=round(build, 2),
                annual_build_cost=round(float(annual_build), 2),
                annual_saving=round(float(saving), 2),
                net_annual_saving=round(float(saving - annual_build), 2),
                unplaced_without=flow.placed - without.placed,
                lat=school.lat,
                lon=school.lon,
            )
        )
    schools = [
        replace(s, capacity=s.capacity + added.get(j, 0)) if added.get(j) else s
        for j, s in enumerate(net.columns)
        if j not in model.sites
    ]
    schools += [
        replace(net.columns[j], capacity=added[j]) for j in sorted(model.sites) if j in added
    ]
    order = {s.school_id: k for k, s in enumerate(data.schools)}
    schools.sort(key=lambda s: order.get(s.school_id, len(order)))
    new_data = Dataset(
        schools=tuple(schools),
        pupils=data.pupils,
        vehicles=data.vehicles,
        incompatible=data.incompatible,
        source=data.source,
    )
    placed, unplaced = placements_of(net, flow, "optimal")
    rank = {p.pupil_id: i for i, p in enumerate(data.pupils)}
    placed.sort(key=lambda pl: rank[pl.pupil_id])
    unplaced.sort(key=lambda u: rank[u.pupil_id])
    return SiteResult(
        data=new_data,
        placements=PlacementResult("optimal", tuple(placed), tuple(unplaced)),
        rows=tuple(rows),
        before=_costs(data, model, today),
        after=_costs(data, model, flow),
        info=info,
        options=options,
        candidates=len(candidates.sites) + len(candidates.expansions),
        extra=extra,
    )


def _need_label(needs: Sequence[str] | frozenset[str]) -> str:
    return ";".join(sorted(needs))
