"""Exact routing of small schools, and the repairs every backend's answer goes through.

* :func:`solve_exact` solves a school of up to :data:`EXACT_MAX_VISITS` visits to optimality:
  the best feasible pickup order of every subset (depth-first search on the reversed route),
  then the best partition of the pupils into subsets (dynamic programming over bit masks).
* :func:`repair` makes any set of drafts correct and complete: it removes pupils from routes
  that break a rule (for example an incompatible pair, which PyVRP cannot express), inserts
  every missing pupil at the cheapest feasible place (or in a new route) and gives each route
  the cheapest vehicle type that fits it, within the vehicle caps left.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from transport.routing._problem import (
    Draft,
    SubProblem,
    best_variant,
    draft_cost,
    draft_ok,
    route_cm,
    times_ok,
)

EXACT_MAX_VISITS = 8


def solve_exact(sub: SubProblem) -> list[Draft] | None:
    """The optimal drafts of a small uncapped sub-problem, or ``None`` when it is not small."""
    n = sub.n
    if n > EXACT_MAX_VISITS or sub.caps:
        return None
    max_seats = max((v.seats for v in sub.variants), default=0)
    max_wheels = max((v.wheelchairs for v in sub.variants), default=0)
    best_cm: dict[int, tuple[int, tuple[int, ...]]] = {}
    conflict = [0] * n
    for a, b in sub.incompatible:
        conflict[a] |= 1 << b
        conflict[b] |= 1 << a
    seats = [int(x) for x in sub.seats]
    wheels = [int(x) for x in sub.wheels]

    def dfs(mask: int, rev: list[int], t: int, cm: int, prev: int, s: int, w: int) -> None:
        for x in range(n):
            bit = 1 << x
            if mask & bit or conflict[x] & mask:
                continue
            s2, w2 = s + seats[x], w + wheels[x]
            if s2 > max_seats or w2 > max_wheels:
                continue
            arrive = t + int(sub.time_t[x + 1, prev])
            if arrive > int(sub.limit_t[x]):
                continue
            d = cm + int(sub.dist_cm[x + 1, prev])
            m2 = mask | bit
            rev.append(x)
            old = best_cm.get(m2)
            if old is None or d < old[0]:
                best_cm[m2] = (d, tuple(reversed(rev)))
            dfs(m2, rev, arrive + int(sub.dwell_t[x]), d, x + 1, s2, w2)
            rev.pop()

    dfs(0, [], 0, 0, 0, 0, 0)
    cost: dict[int, tuple[int, Draft]] = {}
    for mask, (cm, seq) in best_cm.items():
        k = best_variant(sub, seq, cm=cm)
        if k is not None:
            v = sub.variants[k]
            cost[mask] = (v.fixed_pence + v.pence_per_cm * cm, Draft(k, seq))
    full = (1 << n) - 1
    inf = float("inf")
    f: list[float] = [inf] * (full + 1)
    choice: list[int] = [0] * (full + 1)
    f[0] = 0.0
    for mask in range(1, full + 1):
        low = mask & -mask
        rest = mask ^ low
        sub_mask = rest
        while True:
            t_mask = sub_mask | low
            entry = cost.get(t_mask)
            if entry is not None and entry[0] + f[mask ^ t_mask] < f[mask]:
                f[mask] = entry[0] + f[mask ^ t_mask]
                choice[mask] = t_mask
            if sub_mask == 0:
                break
            sub_mask = (sub_mask - 1) & rest
    if f[full] == inf:
        return None
    drafts: list[Draft] = []
    mask = full
    while mask:
        drafts.append(cost[choice[mask]][1])
        mask ^= choice[mask]
    return sorted(drafts, key=lambda d: d.seq)


# --------------------------------------------------------------------------------------------
# Repair


class CapLedger:
    """Vehicle routes left per capped type, shared by every repair of a plan."""

    def __init__(self, left: dict[str, int]) -> None:
        self.left = dict(left)

    def usable(self, current: str | None = None) -> Container[str] | None:
        """Type names a route may take (``None`` = every type); ``current`` is its own."""
        if not self.left:
            return None
        blocked = {t for t, k in self.left.items() if k <= 0 and t != current}
        return _AllBut(blocked)

    def swap(self, old: str | None, new: str | None) -> None:
        if old is not None and old in self.left:
            self.left[old] += 1
        if new is not None and new in self.left:
            self.left[new] -= 1


class _AllBut:
    """Every type name except the blocked ones (for ``name in usable``)."""

    def __init__(self, blocked: set[str]) -> None:
        self.blocked = blocked

    def __contains__(self, name: object) -> bool:
        return name not in self.blocked


def _type(sub: SubProblem, d: Draft) -> str:
    return sub.variants[d.variant].vehicle_type


def repair(
    sub: SubProblem, drafts: Sequence[Draft], ledger: CapLedger
) -> tuple[list[Draft], list[int]]:
    """Correct and complete drafts: every pupil routed if the caps allow, every rule kept.

    The ledger must already count the drafts' own vehicles. Returns the drafts and the pupils
    that no vehicle left can carry.
    """
    kept: list[Draft] = []
    seen: set[int] = set()
    missing: list[int] = []
    for d in drafts:
        seq = [i for i in d.seq if i not in seen]
        seen.update(seq)
        evicted = _evict(sub, seq)
        missing.extend(evicted)
        seq = [i for i in seq if i not in evicted]
        if not seq:
            ledger.swap(_type(sub, d), None)
            continue
        k = best_variant(sub, seq, usable=ledger.usable(_type(sub, d)))
        if k is None:  # should not happen: a subset of a fitting route fits
            ledger.swap(_type(sub, d), None)
            missing.extend(seq)
            continue
        new = Draft(k, tuple(seq))
        ledger.swap(_type(sub, d), _type(sub, new))
        kept.append(new)
    missing.extend(i for i in range(sub.n) if i not in seen)
    unplaced: list[int] = []
    for i in sorted(set(missing)):
        if not _insert(sub, kept, i, ledger):
            unplaced.append(i)
    return downgrade(sub, kept, ledger), unplaced


def _evict(sub: SubProblem, seq: list[int]) -> list[int]:
    """Pupils to take off a route until the rest keeps every rule (latest first)."""
    evicted: list[int] = []
    cur = list(seq)
    while cur and not (times_ok(sub, cur) and best_variant(sub, cur) is not None):
        members = set(cur)
        clash = [b for a, b in sub.incompatible if a in members and b in members]
        clash += [a for a, b in sub.incompatible if a in members and b in members]
        out = clash[0] if clash else cur[-1]
        cur.remove(out)
        evicted.append(out)
    return evicted


def _insert(sub: SubProblem, drafts: list[Draft], i: int, ledger: CapLedger) -> bool:
    """Insert pupil ``i`` where it costs least (or alone); False when nothing can carry it."""
    best: tuple[int, int, Draft] | None = None  # (delta, draft index or -1, new draft)
    for r, d in enumerate(drafts):
        old = draft_cost(sub, d)
        for pos in range(len(d.seq) + 1):
            seq = d.seq[:pos] + (i,) + d.seq[pos:]
            if not times_ok(sub, seq):
                continue
            cm = route_cm(sub, seq)
            k = best_variant(sub, seq, cm=cm, usable=ledger.usable(_type(sub, d)))
            if k is None:
                continue
            v = sub.variants[k]
            delta = v.fixed_pence + v.pence_per_cm * cm - old
            if best is None or delta < best[0]:
                best = (delta, r, Draft(k, seq))
    k = best_variant(sub, (i,), usable=ledger.usable())
    if k is not None:
        alone = Draft(k, (i,))
        if best is None or draft_cost(sub, alone) < best[0]:
            best = (draft_cost(sub, alone), -1, alone)
    if best is None:
        return False
    _, r, new = best
    if r < 0:
        ledger.swap(None, _type(sub, new))
        drafts.append(new)
    else:
        ledger.swap(_type(sub, drafts[r]), _type(sub, new))
        drafts[r] = new
    return True


def downgrade(sub: SubProblem, drafts: Sequence[Draft], ledger: CapLedger) -> list[Draft]:
    """Give each route the cheapest vehicle type that fits it (caps permitting)."""
    out: list[Draft] = []
    for d in drafts:
        k = best_variant(sub, d.seq, usable=ledger.usable(_type(sub, d)))
        if k is not None and k != d.variant:
            new = Draft(k, d.seq)
            if draft_cost(sub, new) < draft_cost(sub, d):
                ledger.swap(_type(sub, d), _type(sub, new))
                d = new
        out.append(d)
    return out


def all_ok(sub: SubProblem, drafts: Sequence[Draft]) -> bool:
    """Every draft keeps every rule and no pupil is on two routes."""
    seen = [i for d in drafts for i in d.seq]
    return len(seen) == len(set(seen)) and all(draft_ok(sub, d) for d in drafts)


def enforce_caps(sub: SubProblem, drafts: Sequence[Draft], ledger: CapLedger) -> list[Draft]:
    """Bring routes within the ledger's caps (its counts must include these drafts).

    A route of an over-used type moves to the cheapest other type that fits it, the routes
    whose move costs least first; a route no other type fits is dropped, and its pupils are
    left for :func:`repair` to insert.
    """
    out = list(drafts)
    for t in sorted(ledger.left):
        if ledger.left[t] >= 0:
            continue
        moves = []
        for r, d in enumerate(out):
            if _type(sub, d) != t:
                continue
            k = best_variant(sub, d.seq, usable=_AllBut({t}))
            extra = None if k is None else draft_cost(sub, Draft(k, d.seq)) - draft_cost(sub, d)
            moves.append((extra is None, extra or 0, r, k))
        moves.sort()
        gone: set[int] = set()
        for _, _, r, k in moves:
            if ledger.left[t] >= 0:
                break
            usable = ledger.usable()
            if k is not None and usable is not None and sub.variants[k].vehicle_type in usable:
                new = Draft(k, out[r].seq)
                ledger.swap(t, _type(sub, new))
                out[r] = new
            else:
                ledger.swap(t, None)
                gone.add(r)
        out = [d for r, d in enumerate(out) if r not in gone]
    return out


def warm_start(sub: SubProblem, drafts: Sequence[Draft], caps: dict[str, int]) -> list[Draft]:
    """A plan of one school within its own caps, made from a plan that broke them."""
    ledger = CapLedger(caps)
    for d in drafts:
        ledger.swap(None, _type(sub, d))
    kept = enforce_caps(sub, drafts, ledger)
    fixed, _ = repair(sub, kept, ledger)
    return fixed
