"""The PyVRP backend: one sub-problem as a reversed multi-depot problem.

Depot 0 is the school (every vehicle starts there at time 0), depot 1 a dummy end reached at no
cost or time. Clients are pickup visits with the time window ``[0, limit]`` and the visit's
dwell as service duration, so a client's arrival time is the ride of its pupils. Loads: seats,
wheelchair spaces and a PA flag (visits with a pupil needing a PA carry 1; variants without a
PA have capacity 0 in it).

Incompatible pairs are load dimensions of capacity 1 (see :func:`build_data`); a cap shared by
the two variants of a type is split between them. The caller's repair
(:func:`transport.routing._local.repair`) remains the safety net.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
from pyvrp import (
    Client,
    Depot,
    Location,
    ProblemData,
    RandomNumberGenerator,
    Route,
    Solution,
    VehicleType,
)
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.IteratedLocalSearch import IteratedLocalSearch, IteratedLocalSearchParams
from pyvrp.PenaltyManager import PenaltyManager, PenaltyParams
from pyvrp.Result import Result
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)

from transport.routing._problem import Draft, SubProblem, SubSolution

NEIGHBOURS = 20
LARGE_NEIGHBOURS_FROM = 150  # visits; larger problems get 40 neighbours
CONVERGE_GAP_FACTOR = 3  # converged: no better plan in 3 × the longest wait for one so far
MAX_PAIR_DIMENSIONS = 16  # more pairs in one school: the rest are repaired afterwards
MAX_PERTURB = 10
"""At most this many perturbations per iteration of the iterated local search, for every
school (PyVRP's default is 25; it was 5 from 80 visits before 30 November 2026). Measured on
Kent's own schools, each searched from scratch as ``benchmarks/tune_search.py --setting
perturbations`` does: six schools of 122-150 pupils for the 10 s a 120 s plan gives each, four
seeds, cost 2.9 % less in total with 10 than with 5 (3: 1.4 % more; 15 and 25: 1.8 % less);
four of 180-314 pupils for 20 s, three seeds, 2.8 % less (7: 2.0 %); two schools for 80 s,
1.3 % less. Every school was cheaper with 10 than with 5. Whole Kent plans at 120 s became
about 1.5 % cheaper and close to their 600 s plans (README, "What more time buys")."""
ACCEPT_HISTORY = 300
"""Late-acceptance history of the iterated local search (PyVRP's default). Measured with
``benchmarks/tune_search.py`` and whole Kent plans: a history of 10 gives plans 0.8 % cheaper at
the work of a 600 s plan (work mode, 10,898 units: £18,240,776 against £18,393,087) but no
cheaper at the work of a 120 s plan (£18,550,625 against £18,551,242 at 2,147 units), and its
searches converge sooner: on the school-bus benchmark every plan ended within 64 s of its 120 s
with 1,596 runs against 1,594 (two instances one run more). Kept at 300: at the default 120 s
it measured no better in time mode on an idle machine (seed 0, two runs each: £18,506,360 and
£18,561,404 against £18,498,145 and £18,543,198), and it would move every Kent figure. With
10 perturbations a history of 100 searched single schools 1 % cheaper at 10-20 s and 2 % at
80 s, but whole Kent plans at 120 s were no cheaper (seeds 0, 1, 2: +0.40 %, +0.15 %, 0.00 %)."""


def _matrices(sub: SubProblem) -> tuple[np.ndarray, np.ndarray]:
    """Reversed distance and time over locations ``[school, end, visits…]``."""
    n = sub.n
    order = [0, -1, *range(1, n + 1)]  # location → node (-1: dummy end)
    d = np.zeros((n + 2, n + 2), dtype=np.int64)
    t = np.zeros((n + 2, n + 2), dtype=np.int64)
    nodes = np.array([x for x in order if x >= 0])
    locs = np.array([k for k, x in enumerate(order) if x >= 0])
    d[np.ix_(locs, locs)] = sub.dist_cm[np.ix_(nodes, nodes)].T
    t[np.ix_(locs, locs)] = sub.time_t[np.ix_(nodes, nodes)].T
    d[1, :] = d[0, :]  # never used: no route leaves the end
    t[1, :] = t[0, :]
    d[:, 1] = 0
    t[:, 1] = 0
    return d, t


def _available(sub: SubProblem, k: int) -> int:
    """Vehicles of variant ``k``: its copies, or its share of its type's cap.

    PyVRP cannot cap two variants together, so a capped type's routes are split: each variant
    keeps what the warm start uses, and the rest goes to the PA variant in proportion to the
    pupils who need a PA.
    """
    v = sub.variants[k]
    used = sum(1 for d in sub.initial if d.variant == k)
    cap = sub.caps.get(v.vehicle_type)
    if cap is None:
        return max(v.copies, used)
    in_use = sum(1 for d in sub.initial if sub.variants[d.variant].vehicle_type == v.vehicle_type)
    spare = max(0, cap - in_use)
    pa_spare = math.ceil(spare * float(sub.needs_pa.mean())) if sub.n else 0
    return used + (pa_spare if v.has_pa else spare - pa_spare)


def build_data(sub: SubProblem) -> tuple[ProblemData | None, list[int]]:
    """The sub-problem as PyVRP problem data, and the variant of each PyVRP vehicle type.

    Load dimensions: seats; wheelchair spaces (if any pupil uses one); the PA flag (if any
    visit needs a PA); then one per incompatible pair, in which both visits carry 1 and every
    vehicle has capacity 1, so the two never share a vehicle (exact, at no cost elsewhere).
    """
    dims = [bool(sub.wheels.any()), bool(sub.needs_pa.any())]
    pairs = sub.incompatible[:MAX_PAIR_DIMENSIONS]
    d, t = _matrices(sub)
    clients = []
    for i in range(sub.n):
        w = int(sub.wheels[i])
        load = [int(sub.seats[i])] + ([w] if dims[0] else [])
        load += [int(sub.needs_pa[i])] if dims[1] else []
        load += [int(i in pair) for pair in pairs]
        clients.append(
            Client(
                location=2 + i,
                delivery=load,
                service_duration=int(sub.dwell_t[i]),
                tw_early=0,
                tw_late=int(sub.limit_t[i]),
            )
        )
    types, kinds = [], []
    for k, v in enumerate(sub.variants):
        if _available(sub, k) <= 0:
            continue
        kinds.append(k)
        cap = (
            [v.seats]
            + ([v.wheelchairs] if dims[0] else [])
            + ([sub.n if v.has_pa else 0] if dims[1] else [])
            + [1] * len(pairs)
        )
        types.append(
            VehicleType(
                num_available=_available(sub, k),
                capacity=cap,
                start_depot=0,
                end_depot=1,
                fixed_cost=v.fixed_pence,
                unit_distance_cost=v.pence_per_cm,
                tw_early=0,
                start_late=0,
                name=f"{v.vehicle_type}{'+pa' if v.has_pa else ''}",
            )
        )
    if not types:
        return None, []
    locations = [Location(0, 0) for _ in range(sub.n + 2)]
    return ProblemData(locations, clients, [Depot(0), Depot(1)], types, [d], [t]), kinds


class SliceStop:
    """When one slice of search stops: a work limit (local-search moves), a wall-clock limit,
    or convergence (``converge_after`` iterations in a row without a better plan).

    Moves evaluated are a steadier measure of work than iterations, whose cost varies by a
    factor of two between instances of the same size; the count is read from the local search
    after each iteration. Only the work limit and convergence are deterministic.
    """

    def __init__(
        self,
        ls: LocalSearch,
        moves: int | None,
        seconds: float | None,
        converge_after: int | None,
        history: tuple[int, int] = (0, 0),
    ) -> None:
        self.ls = ls
        self.limit = moves
        self.moves = 0
        self.deadline = None if seconds is None else time.perf_counter() + seconds
        self.converge_after = converge_after
        self.best = math.inf
        # iterations since the school's best plan, and the longest wait for a better one, over
        # this slice and the school's earlier slices
        self.since_best, self.longest_gap = history
        self.iterations = 0
        self.clock_stopped = False
        self.converged = False

    def __call__(self, best_cost: float) -> bool:
        self.moves += self.ls.statistics.num_moves
        if best_cost < self.best:
            if self.iterations:  # the first call only sees the warm start
                self.longest_gap = max(self.longest_gap, self.since_best)
                self.since_best = 0
            self.best = best_cost
        else:
            self.since_best += 1
        self.iterations += 1
        wait = None
        if self.converge_after is not None:
            wait = max(self.converge_after, CONVERGE_GAP_FACTOR * self.longest_gap)
        if wait is not None and self.since_best >= wait:
            self.converged = True
            return True
        if self.limit is not None and self.moves >= self.limit:
            return True
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self.clock_stopped = True
            return True
        return False


def neighbours_for(n: int) -> int:
    """Granular neighbourhood size: the measured 20 for school-sized problems, more for large
    ones (where a visit's nearest few are too local to join routes across an area)."""
    return int(min(max(n - 1, 1), NEIGHBOURS if n <= LARGE_NEIGHBOURS_FROM else 40))


def _search(
    data: ProblemData,
    stop_rule: tuple[int | None, float | None, int | None, tuple[int, int]],
    seed: int,
    scale: int,
    initial: Solution | None = None,
) -> tuple[Result, SliceStop]:
    """PyVRP's own ``solve``, with penalties scaled to our costs.

    Measured on generated Kent-like schools (``benchmarks/routing_vs_peers.py``): 20
    neighbours instead of PyVRP's 50 cost less at the same time; the perturbations are
    :data:`MAX_PERTURB`.

    PyVRP's default penalties (at most 100,000 per unit of violation) are below the fixed cost
    of one vehicle in pence, so the search would rather overload a vehicle than add one. Here
    one unit of excess load starts at the dearest vehicle's fixed cost (``scale``) and one
    tick of time warp at a six-hundredth of it.
    """
    rng = RandomNumberGenerator(seed=seed)
    params = NeighbourhoodParams(num_neighbours=neighbours_for(data.num_clients))
    neighbours = compute_neighbours(data, params)
    perturb = PerturbationManager(PerturbationParams(1, MAX_PERTURB))
    ls = LocalSearch(data, rng, neighbours, perturb)
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    pparams = PenaltyParams(min_penalty=1.0, max_penalty=100.0 * scale)
    penalties = ([float(scale)] * data.num_load_dimensions, scale / 600.0, float(scale))
    pm = PenaltyManager(penalties, pparams)
    stop = SliceStop(ls, *stop_rule)
    start = initial if initial is not None else Solution.make_random(data, rng)
    with warnings.catch_warnings():
        # a school the vehicles left cannot fully carry is expected under caps: the pupils
        # left out are repaired or reported as unrouted afterwards
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        init = ls(start, pm.max_cost_evaluator(), exhaustive=True)
        algo = IteratedLocalSearch(
            data, pm, ls, init, IteratedLocalSearchParams(history_length=ACCEPT_HISTORY)
        )
        return algo.run(stop, collect_stats=False, display=False), stop


def solve_pyvrp(
    sub: SubProblem,
    *,
    moves: int | None,
    time_limit_s: float | None,
    converge_after: int | None = None,
    seed: int | None = None,
    history: tuple[int, int] = (0, 0),
) -> SubSolution:
    """Search one sub-problem with PyVRP's iterated local search, from ``sub.initial`` if given.

    Parameters
    ----------
    sub
        The sub-problem.
    moves
        Local-search moves to evaluate (deterministic stop); ``None``: no work limit.
    time_limit_s
        Wall-clock limit; ``None``: none (deterministic).
    converge_after
        Stop after this many iterations in a row without a better plan (deterministic).
    seed
        Random seed (default ``sub.seed``).
    history
        Iterations since the school's best plan and the longest wait for a better one, from
        its earlier slices (for convergence).
    """
    start = time.perf_counter()
    if sub.n == 0 or not sub.variants:
        return SubSolution(sub.school_id, (), tuple(range(sub.n)), "failed: no vehicle", "pyvrp")
    data, kinds = build_data(sub)
    if data is None:
        return SubSolution(sub.school_id, (), tuple(range(sub.n)), "failed: no vehicle", "pyvrp")
    scale = max(v.fixed_pence for v in sub.variants)
    initial = None
    if sub.initial:
        where = {k: j for j, k in enumerate(kinds)}
        routes = [Route(data, list(reversed(d.seq)), where[d.variant]) for d in sub.initial]
        initial = Solution(data, routes)
    limit = None if time_limit_s is None else max(0.01, time_limit_s)
    result, stop = _search(
        data,
        (moves, limit, converge_after, history),
        sub.seed if seed is None else seed,
        scale,
        initial,
    )
    drafts: list[Draft] = []
    served: set[int] = set()
    for route in result.best.routes():
        if not route.is_feasible():
            continue
        rev = [a.idx for a in route.schedule() if a.is_client()]
        if rev:
            drafts.append(Draft(kinds[route.vehicle_type()], tuple(reversed(rev))))
            served.update(rev)
    dropped = tuple(i for i in range(sub.n) if i not in served)
    return SubSolution(
        sub.school_id,
        tuple(drafts),
        dropped,
        "feasible (time limit)",
        "pyvrp",
        time.perf_counter() - start,
        stop.moves,
        stop.clock_stopped,
        stop.converged,
        (stop.since_best, stop.longest_gap),
    )
