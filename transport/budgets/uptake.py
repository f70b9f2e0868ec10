"""Uptake: how likely a family is to accept an offer, and a seeded Monte Carlo of the outcome.

A budget is an offer, never an imposition: each family decides. Two models
(``[budgets] uptake_model``):

``fixed``
    every family accepts with probability ``uptake`` (default 0.3; Kent's take-up grew from
    654 budgets in 2019-20 to 1,531 in 2024-25, roughly a quarter of pupils with transport);
``logistic``
    the probability rises with the budget against what the pupil's transport costs now:
    ``p = 1 / (1 + exp(-(uptake_intercept + uptake_slope × budget / current_cost)))``; the
    defaults (−3, 3) give 5 % for a token budget, 18 % at half the current cost and 50 % at
    the full cost. Both are assumptions to calibrate against the trial's own take-up.

Families decide independently of each other. The simulation draws every family's decision,
looks up what each route's acceptances save together (the joint saving, from the route's
table: acceptances are not additive) and sums the routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from transport.executor import Executor
from transport.scenario import BudgetSettings

CHUNK_DRAWS = 1000
"""Draws generated at a time (memory stays small for any number of draws)."""


def uptake_probability(settings: BudgetSettings, *, budget: float, current_cost: float) -> float:
    """The probability that a family accepts a budget of ``budget`` a year.

    Examples
    --------
    >>> s = BudgetSettings(uptake_model="logistic")
    >>> round(uptake_probability(s, budget=4000, current_cost=4000), 2)
    0.5
    """
    if settings.uptake_model == "fixed":
        return settings.uptake
    ratio = budget / current_cost if current_cost > 0 else math.inf
    z = settings.uptake_intercept + settings.uptake_slope * ratio
    if math.isinf(z):
        return 1.0 if z > 0 else 0.0
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


@dataclass(frozen=True)
class Offer:
    """An offer of a budget to one pupil's family."""

    pupil_id: str
    route_id: str
    level: float
    annual_budget: float
    probability: float


@dataclass(frozen=True)
class RoutePackage:
    """The offers on one route and what every combination of acceptances saves.

    Bit ``j`` of an index stands for ``offers[j]``; ``saving`` is the joint transport saving
    (£ a year) and ``net`` the saving less the budgets paid.
    """

    route_id: str
    offers: tuple[Offer, ...]
    saving: np.ndarray
    net: np.ndarray

    @property
    def probabilities(self) -> np.ndarray:
        return np.array([o.probability for o in self.offers], dtype=float)

    def outcome_weights(self, probabilities: np.ndarray | None = None) -> np.ndarray:
        """The probability of every combination of acceptances."""
        p = self.probabilities if probabilities is None else probabilities
        k = len(self.offers)
        accept = (np.arange(1 << k)[:, None] >> np.arange(k)) & 1
        return np.prod(np.where(accept == 1, p, 1.0 - p), axis=1)

    def expected(self) -> tuple[float, float, float]:
        """Expected (net saving, transport saving, acceptances)."""
        w = self.outcome_weights()
        return float(w @ self.net), float(w @ self.saving), float(self.probabilities.sum())

    def net_by_acceptances(self) -> np.ndarray:
        """Net saving summed over the combinations with ``j`` acceptances, for each ``j``."""
        k = len(self.offers)
        count = np.array([bin(m).count("1") for m in range(1 << k)])
        return np.bincount(count, weights=self.net, minlength=k + 1)


@dataclass(frozen=True)
class Simulation:
    """What a seeded Monte Carlo of the families' decisions found (money in £ a year)."""

    draws: int
    seed: int
    target: float
    mean_net: float
    p5_net: float
    p95_net: float
    probability_of_target: float
    mean_saving: float
    mean_budgets: float
    mean_acceptances: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "draws": self.draws,
            "seed": self.seed,
            "mean_net_saving": round(self.mean_net, 2),
            "p5_net_saving": round(self.p5_net, 2),
            "p95_net_saving": round(self.p95_net, 2),
            "probability_of_target": round(self.probability_of_target, 4),
            "risk_of_missing_target": round(1.0 - self.probability_of_target, 4),
            "mean_transport_saving": round(self.mean_saving, 2),
            "mean_budgets_paid": round(self.mean_budgets, 2),
            "mean_acceptances": round(self.mean_acceptances, 2),
        }


def simulate_uptake(
    packages: tuple[RoutePackage, ...],
    *,
    draws: int,
    seed: int,
    target: float,
    executor: Executor | None = None,
) -> Simulation:
    """Draw every family's decision ``draws`` times and sum the joint savings of each draw.

    The same packages, draws and seed give the same result, in this process or with the draws
    spread over an ``executor``'s workers in blocks of :data:`DRAWS_PER_TASK`: draw ``d``
    always reads the same place of one random stream (each block starts the seed's stream
    advanced past the draws before it).
    """
    order = tuple(sorted(packages, key=lambda p: p.route_id))
    if executor is None or draws <= DRAWS_PER_TASK:
        parts = [_draw_block(order, (seed, 0, draws))]
    else:
        blocks = [
            (seed, at, min(DRAWS_PER_TASK, draws - at)) for at in range(0, draws, DRAWS_PER_TASK)
        ]
        found = sorted(executor.map_unordered(_draw_block, blocks, shared=order))
        parts = [part for _, part in found]
    net = np.concatenate([p[0] for p in parts])
    saving = np.concatenate([p[1] for p in parts])
    accepted = np.concatenate([p[2] for p in parts])
    p5, p95 = np.percentile(net, [5, 95])
    return Simulation(
        draws=draws,
        seed=seed,
        target=target,
        mean_net=float(net.mean()),
        p5_net=float(p5),
        p95_net=float(p95),
        probability_of_target=float((net >= target - 0.005).mean()),
        mean_saving=float(saving.mean()),
        mean_budgets=float((saving - net).mean()),
        mean_acceptances=float(accepted.mean()),
    )


DRAWS_PER_TASK = 50 * CHUNK_DRAWS
"""Draws per executor task when the draws are spread over workers."""


def _draw_block(
    order: tuple[RoutePackage, ...], block: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws ``first`` … ``first + size − 1`` of the seed's stream: (net, saving, acceptances).

    Each draw reads one uniform number per offer, so draw ``d`` starts ``d × offers`` numbers
    into the stream (PCG64 makes one 64-bit step per double, and jumps ahead in one step).
    """
    seed, first, size = block
    probs = np.concatenate([p.probabilities for p in order]) if order else np.zeros(0)
    rng = np.random.default_rng(seed)
    rng.bit_generator.advance(first * len(probs))
    nets, savings, accepted = [], [], []
    done = 0
    while done < size:
        n = min(CHUNK_DRAWS, size - done)
        accept = rng.random((n, len(probs))) < probs
        net = np.zeros(n)
        saving = np.zeros(n)
        col = 0
        for pkg in order:
            k = len(pkg.offers)
            masks = accept[:, col : col + k] @ (1 << np.arange(k))
            net += pkg.net[masks]
            saving += pkg.saving[masks]
            col += k
        nets.append(net)
        savings.append(saving)
        accepted.append(accept.sum(axis=1))
        done += n
    return np.concatenate(nets), np.concatenate(savings), np.concatenate(accepted)
