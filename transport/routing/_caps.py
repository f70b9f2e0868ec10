"""Vehicle caps shared among schools: which schools to solve again, and with which caps.

When a plan uses more routes of a capped vehicle type than ``available``, the routes left are
shared among schools in proportion to what they used (:func:`cap_shares`), and the schools
over their share are solved again with per-type caps (see
:mod:`transport.routing._pipeline`).
"""

from __future__ import annotations

import math
from collections import Counter

from transport.routing._problem import SubProblem, SubSolution


def largest_remainder(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (whole numbers, ties by key)."""
    wsum = sum(weights.values())
    if wsum <= 0 or total <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    share = {k: math.floor(x) for k, x in exact.items()}
    left = total - sum(share.values())
    for k in sorted(weights, key=lambda k: (-(exact[k] - share[k]), k))[:left]:
        share[k] += 1
    return share


def type_usage(subs: dict[str, SubProblem], sols: dict[str, SubSolution]) -> dict[str, Counter]:
    """Routes per vehicle type, per school."""
    return {
        sid: Counter(subs[sid].variants[d.variant].vehicle_type for d in sol.drafts)
        for sid, sol in sols.items()
    }


def cap_shares(
    left: dict[str, int], usage: dict[str, Counter]
) -> tuple[set[str], dict[str, dict[str, int]]]:
    """Schools to solve again, and their per-type caps, when the plan breaks a type's cap.

    Each over-used type's routes left are shared among schools in proportion to what they used;
    a school over its share is solved again with caps on every capped type (types within their
    cap: what it used plus an equal part of the unused routes).
    """
    total: Counter = Counter()
    for u in usage.values():
        total.update(u)
    over = sorted(t for t, k in left.items() if total[t] > k)
    if not over:
        return set(), {}
    shares = {t: largest_remainder(left[t], {s: u[t] for s, u in usage.items()}) for t in over}
    again = sorted({s for t in over for s, u in usage.items() if u[t] > shares[t][s]})
    caps: dict[str, dict[str, int]] = {s: {} for s in again}
    for t, k in left.items():
        if t in shares:
            for s in again:
                caps[s][t] = shares[t][s]
        else:
            spare = largest_remainder(max(0, k - total[t]), {s: 1 for s in again})
            for s in again:
                caps[s][t] = usage[s][t] + spare[s]
    return set(again), caps
