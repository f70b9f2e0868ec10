"""One school's re-plan: the routes in force as seeds, repaired, completed and improved.

A :class:`SchoolReplan` holds one school's routes (``lines``) as drafts of the school's
sub-problem (:mod:`transport.routing._problem`: visits, integer ticks, pence, every rule of a
route), each with the previous route it continues (``origin``) and whether it is locked. The
steps, in the order :mod:`transport.routing.replan` calls them:

1. :meth:`SchoolReplan.seed` — each previous route keeps its visits of continuing pupils in
   its pickup order and its vehicle type; a visit with a new, moved or (on an unlocked route)
   changed pupil is *loose*.
2. :meth:`SchoolReplan.check` — a seed that breaks a rule now is repaired, with the reason:
   a withdrawn vehicle type takes the cheapest type that fits; a ride over its limit or an
   incompatible pair sends visits back to the loose ones (fewest first).
3. :meth:`SchoolReplan.insert` — each loose visit goes where it costs least, counting each
   family it disturbs at the change cost (:mod:`transport.changes`), or into a new route.
4. :meth:`SchoolReplan.downgrade` — a route that lost pupils steps down to a cheaper vehicle
   type only when the saving is worth the families it disturbs.
5. :meth:`SchoolReplan.adopt` — a search's plan of the school (warm-started from these
   routes) is taken *component by component*: the routes in force and the search's routes
   partition the same visits, so each smallest set of visits both plans route among
   themselves is an independent choice, taken when its saving exceeds the change cost of the
   families it disturbs.

Objective everywhere: annual cost in pence + ``change_pence`` × families disturbed, where a
family counts when the pupil was routed in the previous plan and did not move home, stop or
school (a pupil whose needs changed still counts here, so that they stay where they are
unless moving them is worth it; summary.json leaves them out of the disturbed count).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from transport.changes import Journey, disturbance
from transport.model import Parameters, Route
from transport.routing._local import CapLedger
from transport.routing._plan import SchoolTravel, Visits, rides_and_miles
from transport.routing._problem import (
    Draft,
    SubProblem,
    best_variant,
    draft_cost,
    fits,
    times_ok,
)

REASON_WITHDRAWN = "vehicle type withdrawn"
REASON_CAP = "vehicle type over its available cap"
REASON_FIT = "pupils no longer fit the vehicle"
REASON_RIDE = "a ride over its limit"
REASON_PAIR = "incompatible pupils on board"
REASON_SCHOOL = "school no longer in the data"
REASON_MOVED = "a pupil moved home, stop or school"
REASON_STOP = "its shared stop is one visit again (a pupil left)"
POLISH_NEIGHBOURS = 6
"""Routes near a visit that the local search tries it in."""
POLISH_MAX_MOVES = 200
"""At most this many moves per school and night."""
REPAIR_REASONS = (
    REASON_WITHDRAWN,
    REASON_CAP,
    REASON_FIT,
    REASON_RIDE,
    REASON_PAIR,
    REASON_SCHOOL,
    REASON_MOVED,
)
"""Why a route in force could not be kept as it was (summary.json ``stability.repairs``)."""


@dataclass
class Line:
    """One route of the school: its draft, the previous route it continues, its lock."""

    draft: Draft
    origin: str | None = None
    locked: bool = False
    touched: bool = False
    pinned: bool = False  # a part of a mixed-school route in force (:mod:`._replan_mixed`)


@dataclass(frozen=True)
class Context:
    """What every school's re-plan reads: the previous journeys and who counts."""

    before: Mapping[str, Journey]
    counted: frozenset[str]  # pupils whose disturbance the objective counts
    routed_now: frozenset[str]  # pupils routed tonight (for co-riders still routed)
    change_pence: int
    minutes: float
    params: Parameters


@dataclass
class SchoolReplan:
    """One school's routes while they are re-planned (see the module docstring)."""

    st: SchoolTravel
    sub: SubProblem
    ctx: Context
    lines: list[Line] = field(default_factory=list)
    loose: list[int] = field(default_factory=list)
    repairs: list[tuple[str, str]] = field(default_factory=list)  # (route id, reason)
    touched: bool = False
    sunk: frozenset[str] | None = None  # while polishing: families already disturbed
    # a pinned line's whole mixed route: its objective with this part as a draft (None: broken)
    mixed: dict[str, Callable[[Draft], int | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.visit_of = {
            self.sub.pupil_ids[i]: k for k, g in enumerate(self.sub.members) for i in g
        }
        self._rank = {p: i for i, p in enumerate(self.sub.pupil_ids)}

    # -- journeys and disturbance ------------------------------------------------------------

    def visits(self, seq: Sequence[int]) -> Visits:
        return self.sub.visit_pupils(seq)

    def journeys(self, d: Draft) -> dict[str, Journey]:
        """Each pupil's journey on a draft, as build_routes will write it."""
        visits = self.visits(d.seq)
        rides, _ = rides_and_miles(self.st, visits, self.ctx.params.travel)
        vtype = self.sub.variants[d.variant].vehicle_type
        has_pa = bool(self.sub.needs_pa[list(d.seq)].any())
        riders = frozenset(p for v in visits for p in v)
        sid = self.st.school.school_id
        arrive = float(self.st.school.arrive_by)
        pupils = [p for v in visits for p in v]
        return {
            p: Journey(p, "", sid, vtype, has_pa, float(math.floor(arrive - ride)), riders - {p})
            for p, ride in zip(pupils, rides, strict=True)
        }

    def disturbed_pupils(self, d: Draft) -> list[str]:
        """Pupils on a draft whose journey it disturbs (only those the objective counts)."""
        ctx = self.ctx
        return [
            p
            for p, j in self.journeys(d).items()
            if p in ctx.counted
            and disturbance(ctx.before[p], j, still_routed=ctx.routed_now, minutes=ctx.minutes)
        ]

    def disturbed(self, d: Draft) -> int:
        """Families on a draft whose journey it disturbs (only those the objective counts)."""
        return len(self.disturbed_pupils(d))

    def value(self, d: Draft) -> int:
        """The objective of one draft: pence a year + the change cost of its disturbances.

        While polishing (``sunk`` set), only families not already disturbed count: a move may
        not disturb one family to undo another's disturbance (a leaver's re-timed route must
        not pull in a pupil from a route the leaver never rode)."""
        if self.sunk is None:
            return draft_cost(self.sub, d) + self.ctx.change_pence * self.disturbed(d)
        fresh = sum(1 for p in self.disturbed_pupils(d) if p not in self.sunk)
        return draft_cost(self.sub, d) + self.ctx.change_pence * fresh

    # -- 1. seeds ------------------------------------------------------------------------------

    def seed(
        self,
        previous: Sequence[Route],
        *,
        route_of: Mapping[str, str],
        seedable: Collection[str],
        locked: Collection[str],
        stays_if_locked: Collection[str],
    ) -> None:
        """Routes in force as seeds (see the module docstring); the other visits are loose.

        ``route_of`` maps each pupil routed in the previous plan to their route; ``seedable``
        are the pupils who may stay (routed before at this school, not moved); on a route of
        ``locked``, ``stays_if_locked`` pupils (changed needs) stay too.
        """
        owner: dict[int, str] = {}
        for k, g in enumerate(self.sub.members):
            pupils = [self.sub.pupil_ids[i] for i in g]
            routes = {route_of.get(p) for p in pupils}
            rid = next(iter(routes)) if len(routes) == 1 else None
            ok = rid is not None and all(
                p in seedable or (rid in locked and p in stays_if_locked) for p in pupils
            )
            if ok and rid is not None:
                owner[k] = rid
            else:
                self.loose.append(k)
        for r in previous:
            seq: list[int] = []
            for p in r.pupils:
                k = self.visit_of.get(p)
                if k is not None and owner.get(k) == r.route_id and k not in seq:
                    seq.append(k)
            # this school's pupils of the route (a mixed-school route's other part is not lost)
            sid = self.st.school.school_id
            mine = [p for p in r.pupils if (b := self.ctx.before.get(p)) and b.school_id == sid]
            lost = sum(len(self.sub.members[k]) for k in seq) < len(mine)
            self.touched = self.touched or lost  # a leaver, a mover or a pupil now elsewhere
            if seq:
                variant = self._variant(r.vehicle_type, seq)
                self.lines.append(
                    Line(Draft(variant, tuple(seq)), r.route_id, r.route_id in locked, lost)
                )

    def _variant(self, vehicle_type: str, seq: Sequence[int]) -> int:
        """The variant of this type with a PA iff one is needed (-1: the type is gone)."""
        pa = bool(self.sub.needs_pa[list(seq)].any())
        for j, v in enumerate(self.sub.variants):
            if v.vehicle_type == vehicle_type and v.has_pa == pa:
                return j
        return -1

    # -- 2. rules checked again ------------------------------------------------------------

    def check(self, ledger: CapLedger) -> None:
        """Repair every seed that breaks a rule now, recording the reason by route."""
        for line in self.lines:
            d = line.draft
            seq = list(d.seq)
            reasons: list[str] = []
            if d.variant < 0 or not fits(self.sub, self.sub.variants[d.variant], seq):
                reasons.append(REASON_WITHDRAWN if d.variant < 0 else REASON_FIT)
            pairs = self._clashes(seq)
            if pairs:
                reasons.append(REASON_PAIR)
                seq = [k for k in seq if k not in pairs]
            if not times_ok(self.sub, seq):
                reasons.append(REASON_RIDE)
                seq, out = self._trim(seq)
                self.loose.extend(out)
            self.loose.extend(pairs)
            if not reasons:
                continue
            variant = d.variant
            if seq and (variant < 0 or not fits(self.sub, self.sub.variants[variant], seq)):
                j = best_variant(self.sub, seq, usable=ledger.usable())
                while j is None and seq:  # nothing carries them all: fewer pupils
                    self.loose.append(seq.pop())
                    j = best_variant(self.sub, seq, usable=ledger.usable()) if seq else None
                variant = -1 if j is None else j
            line.draft = Draft(variant, tuple(seq))
            line.touched = self.touched = True
            for reason in dict.fromkeys(reasons):
                self.repairs.append((line.origin or "", reason))
        self.lines = [ln for ln in self.lines if ln.draft.seq]

    def _clashes(self, seq: Sequence[int]) -> list[int]:
        """Visits to take off so that no incompatible pair rides together (the later one)."""
        members = set(seq)
        pos = {k: i for i, k in enumerate(seq)}
        out: list[int] = []
        for a, b in self.sub.incompatible:
            if a in members and b in members and a not in out and b not in out:
                out.append(a if pos[a] > pos[b] else b)
        return out

    def _trim(self, seq: list[int]) -> tuple[list[int], list[int]]:
        """Take visits off until every ride keeps its limit, the fewest and cheapest first."""
        out: list[int] = []
        while seq and not times_ok(self.sub, seq):
            best = None
            for i in range(len(seq)):
                rest = seq[:i] + seq[i + 1 :]
                key = (not times_ok(self.sub, rest) if rest else False, self._excess(rest), -i)
                if best is None or key < best[0]:
                    best = (key, i)
            assert best is not None
            out.append(seq.pop(best[1]))
        return seq, out

    def _excess(self, seq: Sequence[int]) -> int:
        if not seq:
            return 0
        from transport.routing._problem import route_rides_t

        rides = route_rides_t(self.sub, seq)
        return sum(max(0, r - int(self.sub.limit_t[k])) for r, k in zip(rides, seq, strict=True))

    # -- 3. insertion --------------------------------------------------------------------------

    def insert_loose(self, ledger: CapLedger) -> list[int]:
        """Insert every loose visit (in data order); returns those nothing can carry."""
        left: list[int] = []
        order = sorted(set(self.loose), key=lambda k: min(self.sub.members[k]))
        self.loose = []
        for k in order:
            self.touched = True
            if not self.insert(k, ledger):
                left.append(k)
        return left

    def insert(self, k: int, ledger: CapLedger) -> bool:
        """Insert visit ``k`` where the objective grows least; False when nothing carries it."""
        best: tuple[int, int, Draft] | None = None  # (delta, line index or -1, draft)
        for r, line in enumerate(self.lines):
            if line.locked:
                continue
            d = line.draft
            whole = self.mixed.get(line.origin or "") if line.pinned else None
            value = self.value if whole is None else whole
            current = value(d)
            if current is None:
                continue
            own = self.sub.variants[d.variant].vehicle_type
            usable = ledger.usable(own)
            for pos in range(len(d.seq) + 1):
                seq = d.seq[:pos] + (k,) + d.seq[pos:]
                if not times_ok(self.sub, seq):
                    continue
                choices = self._choices(seq, own, usable)
                for j in choices[:1] if whole is not None else choices:
                    got = value(Draft(j, seq))
                    if got is None:
                        continue
                    delta = got - current
                    if best is None or delta < best[0]:
                        best = (delta, r, Draft(j, seq))
        j = best_variant(self.sub, (k,), usable=ledger.usable())
        if j is not None:
            alone = Draft(j, (k,))
            delta = self.value(alone)
            if best is None or delta < best[0]:
                best = (delta, -1, alone)
        if best is None:
            return False
        _, r, new = best
        vtype = self.sub.variants[new.variant].vehicle_type
        if r < 0:
            ledger.swap(None, vtype)
            self.lines.append(Line(new, None, False, True))
        else:
            line = self.lines[r]
            ledger.swap(self.sub.variants[line.draft.variant].vehicle_type, vtype)
            line.draft, line.touched = new, True
        return True

    def _choices(self, seq: Sequence[int], own: str, usable: object) -> list[int]:
        """Variants to try for a route: its own type (a PA added if needed), the cheapest."""
        out = []
        same = self._variant(own, seq)
        if same >= 0 and fits(self.sub, self.sub.variants[same], seq):
            out.append(same)
        cheapest = best_variant(self.sub, seq, usable=usable)  # type: ignore[arg-type]
        if cheapest is not None and cheapest not in out:
            out.append(cheapest)
        return out

    # -- 4. cheaper vehicles --------------------------------------------------------------------

    def downgrade(self, ledger: CapLedger) -> None:
        """A changed route steps down to a cheaper type when that is worth its disturbance."""
        for line in self.lines:
            if line.locked or line.pinned or not line.touched:
                continue
            d = line.draft
            own = self.sub.variants[d.variant].vehicle_type
            j = best_variant(self.sub, d.seq, usable=ledger.usable(own))
            if j is None or j == d.variant:
                continue
            new = Draft(j, d.seq)
            if self.value(new) < self.value(d):
                ledger.swap(own, self.sub.variants[j].vehicle_type)
                line.draft = new

    # -- 6. a local search with the objective itself ---------------------------------------

    def polish(self, ledger: CapLedger, *, max_moves: int = POLISH_MAX_MOVES) -> dict[str, int]:
        """Improve the unlocked routes with moves priced by the objective (cost + change cost
        × families disturbed): a visit relocated to another route (or a route of its own),
        and a route of one visit emptied by relocating its visit into a nearby route whose
        displaced visit goes to a third (one ejection). The best improving move is made until
        none improves (at most ``max_moves``). Returns the moves made and the pence saved.
        """
        made = pence = disturbed = 0
        while made < max_moves:
            self.sunk = frozenset(p for ln in self.lines for p in self.disturbed_pupils(ln.draft))
            try:
                move = self._best_move(ledger)
            finally:
                self.sunk = None
            if move is None:
                break
            _, changes = move
            for r, new in changes:
                old = self.lines[r].draft
                pence += draft_cost(self.sub, old) - (draft_cost(self.sub, new) if new.seq else 0)
                disturbed += (self.disturbed(new) if new.seq else 0) - self.disturbed(old)
                self._retype(ledger, old, new if new.seq else None)
                self.lines[r].draft, self.lines[r].touched = new, True
            self.lines = [ln for ln in self.lines if ln.draft.seq]
            made += 1
        return {"moves": made, "pence_saved": pence, "disturbed": disturbed}

    def _retype(self, ledger: CapLedger, old: Draft | None, new: Draft | None) -> None:
        a = self.sub.variants[old.variant].vehicle_type if old is not None else None
        b = self.sub.variants[new.variant].vehicle_type if new is not None else None
        if a != b:
            ledger.swap(a, b)

    def _near_lines(self, k: int, among: list[int]) -> list[int]:
        """The lines of ``among`` nearest visit ``k`` (least time to or from any visit)."""
        t = self.sub.time_t

        def gap(r: int) -> int:
            return min(
                min(int(t[k + 1, j + 1]), int(t[j + 1, k + 1])) for j in self.lines[r].draft.seq
            )

        return sorted(among, key=lambda r: (gap(r), r))[:POLISH_NEIGHBOURS]

    def _placed(
        self, r: int, k: int, ledger: CapLedger, values: dict[int, int]
    ) -> list[tuple[int, Draft]]:
        """Visit ``k`` put into line ``r`` at each feasible position: (objective change, draft)."""
        d = self.lines[r].draft
        own = self.sub.variants[d.variant].vehicle_type
        usable = ledger.usable(own)
        out = []
        for pos in range(len(d.seq) + 1):
            seq = d.seq[:pos] + (k,) + d.seq[pos:]
            if not times_ok(self.sub, seq):
                continue
            for j in self._choices(seq, own, usable):
                new = Draft(j, seq)
                out.append((self.value(new) - values[r], new))
        return out

    def _without(
        self, r: int, k: int, ledger: CapLedger, values: dict[int, int]
    ) -> tuple[int, Draft] | None:
        """Line ``r`` without visit ``k`` (its own type, or a cheaper one if that is better)."""
        d = self.lines[r].draft
        seq = tuple(x for x in d.seq if x != k)
        if not seq:
            return -values[r], Draft(d.variant, ())
        own = self.sub.variants[d.variant].vehicle_type
        best = None
        for j in self._choices(seq, own, ledger.usable(own)):
            new = Draft(j, seq)
            delta = self.value(new) - values[r]
            if best is None or delta < best[0]:
                best = (delta, new)
        return best

    def _best_move(self, ledger: CapLedger) -> tuple[int, list[tuple[int, Draft]]] | None:
        free = [r for r, ln in enumerate(self.lines) if not (ln.locked or ln.pinned)]
        if len(free) < 2:
            return None
        values = {r: self.value(self.lines[r].draft) for r in free}
        best: tuple[int, list[tuple[int, Draft]]] | None = None
        for a in free:
            for k in self.lines[a].draft.seq:
                out = self._without(a, k, ledger, values)
                if out is None:
                    continue
                d_out, new_a = out
                others = [r for r in free if r != a]
                for b in self._near_lines(k, others):
                    for d_in, new_b in self._placed(b, k, ledger, values):
                        delta = d_out + d_in
                        move = (delta, [(a, new_a), (b, new_b)])
                        if (
                            delta < 0
                            and (best is None or delta < best[0])
                            and self._fits(ledger, move)
                        ):
                            best = move
                if len(self.lines[a].draft.seq) == 1:  # empty a route: one ejection
                    for move in self._ejections(a, k, d_out, new_a, others, ledger, values):
                        if (best is None or move[0] < best[0]) and self._fits(ledger, move):
                            best = move
        return best

    def _fits(self, ledger: CapLedger, move: tuple[int, list[tuple[int, Draft]]]) -> bool:
        """Whether a move keeps every capped vehicle type within its cap."""
        types = self.sub.variants
        out = [types[self.lines[r].draft.variant].vehicle_type for r, _ in move[1]]
        into = [types[d.variant].vehicle_type for _, d in move[1] if d.seq]
        return _caps_allow(ledger, out, into)

    def _ejections(
        self,
        a: int,
        k: int,
        d_out: int,
        new_a: Draft,
        others: list[int],
        ledger: CapLedger,
        values: dict[int, int],
    ) -> list[tuple[int, list[tuple[int, Draft]]]]:
        """Visit ``k`` (alone on line ``a``) into a nearby line ``b`` in place of one of its
        visits ``u``, which goes to a third line ``c`` near it: the improving ones."""
        out = []
        for b in self._near_lines(k, others):
            for u in self.lines[b].draft.seq:
                rest = self._without(b, u, ledger, values)
                if rest is None or not rest[1].seq:
                    continue
                values_b = {**values, b: values[b] + rest[0]}
                saved_lines = self.lines[b].draft
                self.lines[b].draft = rest[1]
                try:
                    into_b = self._placed(b, k, ledger, values_b)
                finally:
                    self.lines[b].draft = saved_lines
                if not into_b:
                    continue
                d_b, new_b = min(into_b, key=lambda x: x[0])
                for c in self._near_lines(u, [r for r in others if r != b]):
                    for d_c, new_c in self._placed(c, u, ledger, values):
                        delta = d_out + rest[0] + d_b + d_c
                        if delta < 0:
                            out.append((delta, [(a, new_a), (b, new_b), (c, new_c)]))
        return out

    # -- 5. a search's plan, component by component ------------------------------------------

    def free_lines(self) -> list[Line]:
        """The lines a search may re-plan: neither locked nor a pinned mixed route's part."""
        return [ln for ln in self.lines if not (ln.locked or ln.pinned)]

    def adopt(self, search: Sequence[Draft], ledger: CapLedger) -> dict[str, int]:
        """Take the search's routes where they are worth it (see the module docstring).

        ``search`` are drafts of this school's sub-problem covering exactly the visits of the
        unlocked lines. Returns counts: components, components adopted, pence saved a year and
        families disturbed by what was adopted.
        """
        free = self.free_lines()
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(seq: Iterable[int]) -> None:
            seq = list(seq)
            for x in seq[1:]:
                parent[find(x)] = find(seq[0])

        for line in free:
            union(line.draft.seq)
        for d in search:
            union(d.seq)
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for i, line in enumerate(free):
            groups.setdefault(find(line.draft.seq[0]), ([], []))[0].append(i)
        for i, d in enumerate(search):
            groups.setdefault(find(d.seq[0]), ([], []))[1].append(i)
        choices = []
        for root in sorted(groups, key=lambda g: min(self.sub.members[g])):
            mine, theirs = groups[root]
            if not mine or not theirs:
                continue
            old = [free[i].draft for i in mine]
            new = [search[i] for i in theirs]
            if sorted(d.seq for d in old) == sorted(d.seq for d in new) and sorted(
                (d.seq, d.variant) for d in old
            ) == sorted((d.seq, d.variant) for d in new):
                continue
            cost = sum(draft_cost(self.sub, d) for d in new) - sum(
                draft_cost(self.sub, d) for d in old
            )
            moved = sum(self.disturbed(d) for d in new) - sum(self.disturbed(d) for d in old)
            delta = cost + self.ctx.change_pence * moved
            if delta < 0:
                choices.append((delta, root, mine, theirs, cost, moved))
        choices.sort(key=lambda c: (c[0], min(self.sub.members[c[1]])))
        taken: set[int] = set()
        counts = {"components": len(groups), "adopted": 0, "pence_saved": 0, "disturbed": 0}
        for _, _, mine, theirs, cost, moved in choices:
            out = [self.sub.variants[free[i].draft.variant].vehicle_type for i in mine]
            into = [self.sub.variants[search[i].variant].vehicle_type for i in theirs]
            if not _caps_allow(ledger, out, into):
                continue
            for t in out:
                ledger.swap(t, None)
            for t in into:
                ledger.swap(None, t)
            taken.update(mine)
            for i in theirs:
                self.lines.append(Line(search[i], None, False, True))
            counts["adopted"] += 1
            counts["pence_saved"] -= cost
            counts["disturbed"] += moved
        gone = {id(free[i]) for i in taken}
        self.lines = [ln for ln in self.lines if id(ln) not in gone]
        return counts


def _caps_allow(ledger: CapLedger, out: Sequence[str], into: Sequence[str]) -> bool:
    """Whether giving back the types ``out`` and taking ``into`` keeps every capped type."""
    for t, left in ledger.left.items():
        if left + out.count(t) - into.count(t) < 0 and into.count(t) > out.count(t):
            return False
    return True
