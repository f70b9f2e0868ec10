"""Offers: whom to offer a budget, and at which level, to maximise the expected net saving.

Savings interact only within a route (a route is re-planned without whoever leaves it), so the
expected net saving is a sum over routes and each route's offers are chosen on their own:

* every choice of offers (and levels) on a route is scored by its exact expected net saving,
  ``Σ over acceptance combinations of P(combination) × (joint saving − budgets paid)``;
* with ``allow_loss = false`` (the default) a choice is admissible only if *no* combination of
  acceptances costs more than it saves: ``joint saving(A) ≥ budgets of A`` for every set ``A``
  of families who might accept. So no offer costs more than it saves, whatever families decide
  (and a pupil whose own marginal saving is below the budget is never offered one).

The scores of every choice on a route come from two small tensor transforms of the route's
table of joint savings (one per offer dimension: expectation and worst case), searched exhaustively
when the route has few candidates and by steepest-ascent local search otherwise. Ties go to
fewer offers.

:func:`target_needs` then reports what the annual saving target needs: how many offers (best
first) at the modelled uptake, and what uniform take-up the chosen offers need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from transport.budgets.savings import MAX_SEARCH_CANDIDATES, SavingsModel
from transport.budgets.uptake import Offer, RoutePackage

EXHAUSTIVE_MAX = 1 << 16
"""Choices on a route scored all at once when there are at most this many."""

TIE = 1e-6
"""£ charged per offer so that ties go to fewer offers."""

LOSS_TOLERANCE = 0.005


@dataclass(frozen=True)
class Candidate:
    """A pupil who may be offered a budget: the levels allowed, their budgets and uptake."""

    pupil_id: str
    route_id: str
    levels: tuple[float, ...]
    budgets: tuple[float, ...]
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class OfferPlan:
    """The offers chosen, route by route, and their expected outcome (£ a year)."""

    packages: tuple[RoutePackage, ...]
    candidates: int
    allow_loss: bool

    @property
    def offers(self) -> tuple[Offer, ...]:
        return tuple(o for p in self.packages for o in p.offers)

    def expected(self) -> dict[str, float | None]:
        net = saving = uptake = 0.0
        for p in self.packages:
            n, s, u = p.expected()
            net, saving, uptake = net + n, saving + s, uptake + u
        budgets = sum(o.annual_budget * o.probability for o in self.offers)
        return {
            "offers": len(self.offers),
            "expected_acceptances": round(uptake, 2),
            "expected_uptake_rate": round(uptake / len(self.offers), 4) if self.offers else None,
            "expected_transport_saving": round(saving, 2),
            "expected_budgets_paid": round(budgets, 2),
            "expected_net_saving": round(net, 2),
            "net_saving_if_all_accept": round(sum(float(p.net[-1]) for p in self.packages), 2),
        }


def choose_offers(
    candidates: Sequence[Candidate], savings: SavingsModel, *, allow_loss: bool
) -> OfferPlan:
    """The offers that maximise the expected net saving, route by route.

    Parameters
    ----------
    candidates
        Pupils who may be offered a budget, with their levels, budgets and uptake.
    savings
        Joint savings of the run's routes.
    allow_loss
        Allow offers that cost more than they save in some combination of acceptances.
    """
    by_route: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_route.setdefault(c.route_id, []).append(c)
    groups = {rid: _group(rid, by_route[rid], savings) for rid in sorted(by_route)}
    savings.prefetch({rid: [c.pupil_id for c in group] for rid, group in groups.items()})
    packages = []
    for rid, group in groups.items():
        table = savings.route(rid)
        g = table.table([c.pupil_id for c in group])
        choice = _best_choice(group, g, allow_loss=allow_loss)
        chosen = [(c, lvl) for c, lvl in zip(group, choice, strict=True) if lvl > 0]
        if chosen:
            packages.append(_package(rid, chosen, g, group))
    return OfferPlan(tuple(packages), len(candidates), allow_loss)


def _group(rid: str, candidates: list[Candidate], savings: SavingsModel) -> list[Candidate]:
    """A route's candidates tabulated together: all of them, or on a searched route the
    ``MAX_SEARCH_CANDIDATES`` whose leaving alone saves most."""
    group = sorted(candidates, key=lambda c: c.pupil_id)
    if savings.route(rid).method == "search" and len(group) > MAX_SEARCH_CANDIDATES:
        group.sort(key=lambda c: (-savings.marginal_saving(c.pupil_id), c.pupil_id))
        group = sorted(group[:MAX_SEARCH_CANDIDATES], key=lambda c: c.pupil_id)
    return group


def _package(
    route_id: str, chosen: list[tuple[Candidate, int]], g: np.ndarray, group: list[Candidate]
) -> RoutePackage:
    offers = tuple(
        Offer(c.pupil_id, route_id, c.levels[k - 1], c.budgets[k - 1], c.probabilities[k - 1])
        for c, k in chosen
    )
    bits = np.array([1 << group.index(c) for c, _ in chosen], dtype=np.int64)
    accept = (np.arange(1 << len(bits))[:, None] >> np.arange(len(bits))) & 1
    saving = g[accept @ bits]
    net = saving - accept @ np.array([o.annual_budget for o in offers])
    return RoutePackage(route_id, offers, np.round(saving, 2), np.round(net, 2))


def _options(group: list[Candidate]) -> list[list[tuple[float, float] | None]]:
    """Per candidate: option 0 (no offer) then each level's (probability, budget)."""
    out: list[list[tuple[float, float] | None]] = []
    for c in group:
        levels = zip(c.probabilities, c.budgets, strict=True)
        out.append([(0.0, 0.0), *((p, b) if b > 0 else None for p, b in levels)])
    return out


def _best_choice(group: list[Candidate], g: np.ndarray, *, allow_loss: bool) -> list[int]:
    """Each candidate's option (0 = no offer, ``k`` = level ``k``) maximising the score."""
    opts = _options(group)
    if not group:
        return []
    size = int(np.prod([len(o) for o in opts], dtype=float))
    if size <= EXHAUSTIVE_MAX:
        return _exhaustive(opts, g, allow_loss)
    return _local_search(opts, g, allow_loss)


def _exhaustive(opts: list, g: np.ndarray, allow_loss: bool) -> list[int]:
    """Score every choice at once: axis ``i`` goes from accept/decline to candidate i's option."""
    k = len(opts)
    expect = g.reshape((2,) * k).transpose(tuple(range(k))[::-1]).astype(float)
    worst = expect.copy()
    for i, options in enumerate(opts):
        e0, e1 = np.take(expect, 0, axis=i), np.take(expect, 1, axis=i)
        w0, w1 = np.take(worst, 0, axis=i), np.take(worst, 1, axis=i)
        e_parts, w_parts = [e0], [w0]
        for opt in options[1:]:
            if opt is None:
                e_parts.append(np.full_like(e0, -np.inf))
                w_parts.append(np.full_like(w0, -np.inf))
                continue
            p, b = opt
            e_parts.append((1.0 - p) * e0 + p * (e1 - b))
            w_parts.append(np.minimum(w0, w1 - b))
        expect = np.stack(e_parts, axis=i)
        worst = np.stack(w_parts, axis=i)
    offered = sum(
        (np.arange(len(o)) > 0).reshape([-1 if j == i else 1 for j in range(k)])
        for i, o in enumerate(opts)
    )
    score = expect - TIE * offered
    if not allow_loss:
        score = np.where(worst >= -LOSS_TOLERANCE, score, -np.inf)
    best = np.unravel_index(int(np.argmax(score)), score.shape)
    return [int(x) for x in best]


def _evaluate(opts: list, g: np.ndarray, choice: list[int]) -> tuple[float, float]:
    """Expected net saving and worst-case net saving of one choice."""
    on = [i for i, c in enumerate(choice) if c > 0]
    if not on:
        return 0.0, 0.0
    p = np.array([opts[i][choice[i]][0] for i in on])
    b = np.array([opts[i][choice[i]][1] for i in on])
    accept = (np.arange(1 << len(on))[:, None] >> np.arange(len(on))) & 1
    net = g[accept @ (1 << np.array(on))] - accept @ b
    w = np.prod(np.where(accept == 1, p, 1.0 - p), axis=1)
    return float(w @ net), float(net.min())


def _local_search(opts: list, g: np.ndarray, allow_loss: bool) -> list[int]:
    """Steepest ascent over single changes of one candidate's option, from no offers."""
    choice = [0] * len(opts)
    value = 0.0
    while True:
        best: tuple[float, int, int] | None = None
        for i, options in enumerate(opts):
            for k, opt in enumerate(options):
                if k == choice[i] or opt is None:
                    continue
                trial = choice[:i] + [k] + choice[i + 1 :]
                e, worst = _evaluate(opts, g, trial)
                score = e - TIE * sum(1 for c in trial if c > 0)
                if (allow_loss or worst >= -LOSS_TOLERANCE) and (best is None or score > best[0]):
                    best = (score, i, k)
        if best is None or best[0] <= value + 1e-9:
            return choice
        value, i, k = best
        choice[i] = k


# --------------------------------------------------------------------------------------------
# What the target needs


def target_needs(plan: OfferPlan, target: float, *, step: float = 0.001) -> dict[str, object]:
    """Offers and take-up the annual saving ``target`` needs with these offers.

    ``offers_needed``: routes' offers taken best first (expected net saving per offer, at the
    modelled uptake) until the expected net saving reaches the target; ``None`` when all the
    offers together fall short. ``offers_needed_at_full_take_up``: the same if every family
    accepted (best net saving per offer first). ``uptake_needed``: the least take-up, the same
    for every family, at which the chosen offers' expected net saving reaches the target (to 0.1 %);
    ``None`` when even full take-up falls short.
    """
    ranked = sorted(
        ((p.expected()[0], len(p.offers)) for p in plan.packages),
        key=lambda x: -x[0] / x[1],
    )
    total, count, offers_needed = 0.0, 0, None
    for net, k in ranked:
        total += net
        count += k
        if total >= target - LOSS_TOLERANCE:
            offers_needed = count
            break
    full_take_up = None
    total, count = 0.0, 0
    for net, k in sorted(
        ((float(p.net[-1]), len(p.offers)) for p in plan.packages), key=lambda x: -x[0] / x[1]
    ):
        total += net
        count += k
        if total >= target - LOSS_TOLERANCE:
            full_take_up = count
            break
    q = np.arange(0.0, 1.0 + step / 2, step)
    curve = np.zeros_like(q)
    for p in plan.packages:
        k = len(p.offers)
        coef = p.net_by_acceptances()
        j = np.arange(k + 1)
        curve += (coef[None, :] * q[:, None] ** j * (1.0 - q[:, None]) ** (k - j)).sum(axis=1)
    reach = np.flatnonzero(curve >= target - LOSS_TOLERANCE)
    uptake_needed = float(round(q[reach[0]], 4)) if reach.size else None
    return {
        "target": target,
        "offers_needed": offers_needed,
        "offers_needed_at_full_take_up": full_take_up,
        "uptake_needed": uptake_needed,
        "acceptances_needed": (
            round(uptake_needed * len(plan.offers), 1) if uptake_needed is not None else None
        ),
        "reachable_at_full_take_up": bool(curve[-1] >= target - LOSS_TOLERANCE),
    }
