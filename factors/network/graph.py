"""The bounded local subgraph a network rule sees for one edge, and what a rule returns.

The network stage holds every account's adjacency it owns in memory (`Adjacency`, backed by Redis);
a rule evaluated at the edge being processed (the *anchor*) reads the few accounts it needs (both
ends, their direct counterparties, the backward search frontier), each cut to the rule window and
to edges no later than the anchor (event time, then `edge_id`), so a rule never sees the future
and a redelivered edge sees what it saw the first time (for a stream in event-time order). Hubs
(accounts with very many counterparties) are marked and not expanded. Split payments (the same
pair within minutes) are followed as one `Flow`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

from factors.identity import digest

DAY_MS = 86_400_000
NAME_ONLY = "name:"  # the canonical identity of a party known by its name only (factors.identity)
Copy = Literal["payer", "payee"]


@dataclass(frozen=True, slots=True, eq=False)
class Hop:
    """One stored edge: `payer` -> `payee`, event time, CNY fen, the legs' tx_ids (1 or 2).
    Two hops are the same edge when their `edge_id`s are (the stored prefix of 16 hex)."""

    edge_id: str
    payer: str
    payee: str
    ts_ms: int
    amount_fen: int
    tx_ids: tuple[str, ...] = ()

    def order(self) -> tuple[int, str]:
        return (self.ts_ms, self.edge_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hop) and other.edge_id == self.edge_id

    def __hash__(self) -> int:
        return hash(self.edge_id)


def alias_key(name_id: str) -> str:
    """The stored key of a counterparty's name identity (16 hex: names can be long)."""
    return digest(name_id, 8)


_ts = attrgetter("ts_ms")  # bisect keys: C, not a Python call per probe
_order = attrgetter("ts_ms", "edge_id")  # Hop.order as a C key


class Adjacency:
    """An account's stored edges, each side sorted by (event time, edge id), as far as known.

    `hub`: too many counterparties to expand (its edges are kept but no search goes through it).
    `customer_id`: the bank's customer when the account is one, else None. `peer_group`: the
    customer's, when known. Mutable: the network stage keeps one per account
    in memory and adds edges as they come (`add`, `trim`); rules only read it, always cut to the
    anchor (`ins_within` / `outs_within` with `end` = the anchor's order), so later edges already
    added never change what a rule sees. `counterparties` counts stored edges per counterparty
    (both sides): its size is the account's degree over the retention. `bound_names`: edge id -> the
    name-only party (``name:…``) stored for an edge held under the party its name is an alias of
    (so an alias that becomes ambiguous gives the edge back its stored name)."""

    __slots__ = ("alias_seen", "aliases", "bound_names", "counterparties", "customer_id", "first_seen", "hub", "ins", "known_since", "outs", "party", "peer_group")

    def __init__(
        self,
        party: str,
        ins: Iterable[Hop] = (),
        outs: Iterable[Hop] = (),
        customer_id: str | None = None,
        peer_group: str | None = None,
        hub: bool = False,
    ) -> None:
        self.party = party
        self.ins: list[Hop] = sorted(ins, key=_order)
        self.outs: list[Hop] = sorted(outs, key=_order)
        self.customer_id = customer_id
        self.peer_group = peer_group
        self.hub = hub
        self.counterparties: dict[str, int] = {}
        # counterparty -> time of the first edge with it known: kept while an edge with it is stored
        # (so at most one per counterparty of the stored edges, bounded by the cap and the retention)
        self.first_seen: dict[str, int] = {}
        self.known_since: int | None = None  # time of the account's first edge known (its observed history starts there)
        self.aliases: dict[str, str] = {}  # alias_key(a counterparty's name identity) -> its party ("" when two parties share the name)
        self.alias_seen: dict[str, int] = {}  # alias key -> event time it was last named, oldest first: gone after the retention
        self.bound_names: dict[str, str] = {}  # edge id -> the name-only party stored for it, while held under the party the name is an alias of
        for h in self.ins:
            self._count(h.payer, h.ts_ms)
        for h in self.outs:
            self._count(h.payee, h.ts_ms)

    def _count(self, other: str, ts_ms: int) -> None:
        self.counterparties[other] = self.counterparties.get(other, 0) + 1
        if ts_ms < self.first_seen.get(other, 1 << 62):
            self.first_seen[other] = ts_ms
        if self.known_since is None or ts_ms < self.known_since:
            self.known_since = ts_ms

    def named(self, key: str, ts_ms: int) -> bool:
        """The alias `key` was named by an edge at `ts_ms`; it is kept for the retention after the
        time recorded, which moves when named at least a day after it (so storage rewrites it at
        most once a day). True if recorded (the network stage writes the same to Redis)."""
        seen = self.alias_seen.get(key)
        if seen is not None and ts_ms < seen + DAY_MS:
            return False
        self.alias_seen.pop(key, None)
        self.alias_seen[key] = ts_ms
        return True

    def set_alias(self, key: str, party: str, ts_ms: int | None = None) -> None:
        """The counterparty named by the name identity with `alias_key` `key` is `party` ("":
        ambiguous, two parties used that name), named by an edge at `ts_ms`. Edges already held
        with that name-only party are rebound to `party`, and those bound through the name go back
        to it when it becomes ambiguous, so what is held equals what a read from storage gives."""
        self.aliases[key] = party
        if ts_ms is not None:
            self.named(key, ts_ms)
        if not party:
            self._unbind(key)
            return
        for other in [p for p in self.counterparties if p.startswith(NAME_ONLY) and alias_key(p) == key]:
            for side, incoming in ((self.ins, True), (self.outs, False)):
                for i, h in enumerate(side):
                    if (h.payer if incoming else h.payee) == other:
                        side[i] = Hop(h.edge_id, party if incoming else h.payer, h.payee if incoming else party, h.ts_ms, h.amount_fen, h.tx_ids)
                        self.bound_names[h.edge_id] = other
            self.counterparties[party] = self.counterparties.get(party, 0) + self.counterparties.pop(other)
            seen = self.first_seen.pop(other, None)
            if seen is not None and seen < self.first_seen.get(party, 1 << 62):
                self.first_seen[party] = seen

    def _unbind(self, key: str) -> None:
        """Give the edges held under the party that the name with `alias_key` `key` stood for their stored name back."""
        names = {eid: name for eid, name in self.bound_names.items() if alias_key(name) == key}
        if not names:
            return
        for side, incoming in ((self.ins, True), (self.outs, False)):
            for i, h in enumerate(side):
                name = names.get(h.edge_id)
                if name is None:
                    continue
                bound = h.payer if incoming else h.payee
                side[i] = Hop(h.edge_id, name if incoming else h.payer, h.payee if incoming else name, h.ts_ms, h.amount_fen, h.tx_ids)
                n = self.counterparties.get(bound, 0) - 1
                if n > 0:
                    self.counterparties[bound] = n
                else:
                    self.counterparties.pop(bound, None)
                self.counterparties[name] = self.counterparties.get(name, 0) + 1
                if h.ts_ms < self.first_seen.get(name, 1 << 62):
                    self.first_seen[name] = h.ts_ms
                del self.bound_names[h.edge_id]

    def unhold(self, edge_id: str, ts_ms: int, incoming: bool, tx_id: str | None) -> None:
        """Take one leg (`tx_id`) of a stored edge out again; the edge goes when no leg is left
        (`tx_id` None: the whole edge goes, a retraction)."""
        side = self.ins if incoming else self.outs
        i = self.find(edge_id, ts_ms, incoming)
        if i is None or (tx_id is not None and tx_id not in side[i].tx_ids):
            return
        h = side[i]
        if tx_id is not None and len(h.tx_ids) > 1:
            side[i] = Hop(h.edge_id, h.payer, h.payee, h.ts_ms, h.amount_fen, tuple(t for t in h.tx_ids if t != tx_id))
            return
        del side[i]
        self.bound_names.pop(edge_id, None)
        other = h.payer if incoming else h.payee
        n = self.counterparties.get(other, 0) - 1
        if n > 0:
            self.counterparties[other] = n
        else:
            self.counterparties.pop(other, None)
        if self.first_seen.get(other) == ts_ms:  # as a read without the edge gives them
            seen = [x.ts_ms for x in self.ins if x.payer == other] + [x.ts_ms for x in self.outs if x.payee == other]
            if seen:
                self.first_seen[other] = min(seen)
            else:
                self.first_seen.pop(other, None)
        if self.known_since == ts_ms:
            self.known_since = min((x[0].ts_ms for x in (self.ins, self.outs) if x), default=None)

    def clone(self) -> Adjacency:
        """An independent copy (its lists and dicts copied; the hops are immutable and shared)."""
        c = Adjacency.__new__(Adjacency)
        for name in Adjacency.__slots__:
            value = getattr(self, name)
            setattr(c, name, value.copy() if isinstance(value, (list, dict)) else value)
        return c

    def resolve(self, party: str) -> str:
        """The party a counterparty known only by a name (``name:…``) is, when the account has
        dealt with it under its account or id and that name before; otherwise `party` itself."""
        if not self.aliases or not party.startswith(NAME_ONLY):
            return party
        return self.aliases.get(alias_key(party)) or party

    def met(self, other: str, default_ms: int) -> int:
        """When the account first dealt with `other` (`default_ms` if never, as far as known)."""
        return self.first_seen.get(other, default_ms)

    def new_since(self, start_ms: int, history_ms: int, origin_ms: int | None = None) -> int:
        """Counterparties first seen at or after the returned time are *new* for a rule whose
        window starts at `start_ms`: the window's start, but never less than `history_ms` after
        the observed history begins (before that, a first edge says nothing about newness).
        The history begins at `origin_ms`, the stage's first edge (its backfill's start), when
        given: an account first seen later has no earlier relationship at all, so all of its
        relationships are new (a fresh mule account, an outside account nobody here paid before);
        without it, at the account's own first known edge."""
        origin = origin_ms if origin_ms is not None else self.known_since
        return max(start_ms, (origin if origin is not None else start_ms) + history_ms)

    @staticmethod
    def _within(side: list[Hop], start_ms: int, end: tuple[int, str]) -> list[Hop]:
        lo = bisect_left(side, start_ms, key=_ts)
        hi = bisect_right(side, end[0], lo=lo, key=_ts)
        out = side[lo:hi]
        while out and out[-1].order() > end:  # same millisecond as the anchor, later edge id
            out.pop()
        return out

    def ins_within(self, start_ms: int, end: tuple[int, str]) -> list[Hop]:
        """Edges into the account with start_ms <= time and order <= end (a new list)."""
        return self._within(self.ins, start_ms, end)

    def outs_within(self, start_ms: int, end: tuple[int, str]) -> list[Hop]:
        return self._within(self.outs, start_ms, end)

    def after(self, order: tuple[int, str], limit: int) -> list[tuple[Hop, Copy]]:
        """The account's first `limit` edges after `order` (time, edge id), both sides merged in
        that order, each with the copy that anchors a rule at it on this account's partition
        ("payer" for an edge out of it, "payee" for an edge into it)."""
        i, o = bisect_right(self.ins, order, key=_order), bisect_right(self.outs, order, key=_order)
        later = [(h, "payee") for h in self.ins[i : i + limit]] + [(h, "payer") for h in self.outs[o : o + limit]]
        later.sort(key=lambda pair: _order(pair[0]))
        return later[:limit]  # type: ignore[return-value]

    def find(self, edge_id: str, ts_ms: int, incoming: bool) -> int | None:
        """Index of the stored edge `edge_id` at `ts_ms` on one side, or None."""
        side = self.ins if incoming else self.outs
        i = bisect_left(side, ts_ms, key=_ts)
        while i < len(side) and side[i].ts_ms == ts_ms:
            if side[i].edge_id == edge_id:
                return i
            i += 1
        return None

    def add(self, hop: Hop, incoming: bool) -> bool:
        """Store an edge (in order); an edge already stored gets the new hop's tx_ids merged. True if new."""
        side = self.ins if incoming else self.outs
        i = self.find(hop.edge_id, hop.ts_ms, incoming)
        if i is not None:
            old = side[i]
            merged = old.tx_ids + tuple(t for t in hop.tx_ids if t not in old.tx_ids)
            if merged != old.tx_ids:
                side[i] = Hop(old.edge_id, old.payer, old.payee, old.ts_ms, old.amount_fen, merged)
            return False
        insort(side, hop, key=_order)
        self._count(hop.payer if incoming else hop.payee, hop.ts_ms)
        return True

    def trim(self, oldest_ms: int, cap: int) -> bool:
        """Drop edges before `oldest_ms` and all but the newest `cap` per side. True if a side was capped.
        A counterparty keeps its first sight (`met`) while an edge with it is stored, even when that
        sight is older than the edges kept (the relationship stays old); one with no edge left is
        forgotten, and is new again if it comes back (see README, "Network detection")."""
        capped = False
        for incoming, side in ((True, self.ins), (False, self.outs)):
            if not side or (side[0].ts_ms >= oldest_ms and len(side) <= cap):
                continue  # the common case: nothing to drop
            cut = bisect_left(side, oldest_ms, key=_ts)
            if len(side) - cut > cap:
                cut, capped = len(side) - cap, True
            if cut:
                for h in side[:cut]:
                    if self.bound_names:
                        self.bound_names.pop(h.edge_id, None)
                    other = h.payer if incoming else h.payee
                    n = self.counterparties.get(other, 0) - 1
                    if n > 0:
                        self.counterparties[other] = n
                    else:  # no stored edge with it left: forgotten, as a read from Redis forgets it
                        self.counterparties.pop(other, None)
                        self.first_seen.pop(other, None)
                del side[:cut]
        while self.alias_seen:  # oldest first: stops at the first one kept (no copy of them all per edge held)
            key, seen = next(iter(self.alias_seen.items()))
            if seen >= oldest_ms:
                break
            del self.alias_seen[key]
            self.aliases.pop(key, None)
        return capped

    @property
    def degree(self) -> int:
        """Distinct counterparties among the stored edges."""
        return len(self.counterparties)


@dataclass(frozen=True, slots=True)
class NetworkView:
    """What one rule evaluation sees: the anchor edge, which copy is processed (the payer's
    partition evaluates rules anchored at the payer, the payee's those anchored at the payee) and
    the accounts' adjacency (`adj`: every account the stage holds; a rule reads only what it needs,
    each side cut to the anchor). An account a rule asks for that `adj` does not hold is recorded
    in `missing`: the stage fetches those and evaluates again (pure rules, no I/O). `scratch`
    caches what several rules share (the conserved paths, the pass-through episode) for this view.
    `risk`: customer_id -> risk marker (its high-risk episodes with their event times,
    factors.patterns.high_risk_exposure.episodes; each rule reads it as of the anchor), for the
    exposure rule and the exposure measurements."""

    anchor: Hop
    copy: Copy
    adj: Mapping[str, Adjacency]
    customer_of: Mapping[str, str] = field(default_factory=dict)  # party -> customer_id, known so far
    risk: Mapping[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    scratch: dict[Any, Any] = field(default_factory=dict)
    origin_ms: int | None = None  # event time of the stage's first edge (where the observed history begins)

    @property
    def end(self) -> tuple[int, str]:
        return self.anchor.order()

    @property
    def account(self) -> str:
        """The account whose partition evaluates: the payer for the payer copy, else the payee."""
        return self.anchor.payer if self.copy == "payer" else self.anchor.payee

    def of(self, party: str) -> Adjacency:
        a = self.adj.get(party)
        if a is None:
            self.missing.add(party)
            return Adjacency(party)
        return a

    def customer(self, party: str) -> str | None:
        a = self.adj.get(party)
        return (a.customer_id if a else None) or self.customer_of.get(party)


@dataclass(frozen=True, slots=True)
class Party:
    """One account of a detected pattern: its role and the pattern's own transactions it took part in."""

    party_id: str
    customer_id: str | None
    role: str
    tx_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        # the latest 100, as the event's own list (the event says when the pattern has more)
        return {"party_id": self.party_id, "customer_id": self.customer_id, "role": self.role, "tx_ids": list(self.tx_ids[-100:])}


@dataclass(frozen=True, slots=True)
class NetworkHit:
    """A network pattern found at one edge. `key` identifies the episode (the same structure found
    again at a later edge has the same key, so it updates the alert instead of raising a new one).
    `case`: the family of patterns an episode moves through as it grows ("path": a layering chain
    that closes into a cycle; "pass_through": a fan-in that pays a third sink and is a
    gather-scatter); episodes of one family with one key are one case (one `detection_key`), whose
    latest event gives its classification. Empty: the pattern is its own family."""

    pattern: str
    key: str
    window_start_ms: int
    window_end_ms: int
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    parties: tuple[Party, ...]
    tx_ids: tuple[str, ...]
    severity: str
    case: str = ""


def parties_of(view: NetworkView, hops: Iterable[Hop], roles: Mapping[str, str]) -> tuple[Party, ...]:
    """One `Party` per account of the hops, with its role (default "member") and the tx_ids of the
    hops it took part in; ordered by role then party id (deterministic)."""
    txs: dict[str, list[str]] = {}
    for h in sorted(set(hops), key=Hop.order):
        for p in (h.payer, h.payee):
            bucket = txs.setdefault(p, [])
            bucket.extend(t for t in h.tx_ids if t not in bucket)
    out = [Party(p, view.customer(p), roles.get(p, "member"), tuple(ts[-100:])) for p, ts in txs.items()]
    return tuple(sorted(out, key=lambda x: (x.role, x.party_id)))


def all_tx_ids(hops: Iterable[Hop]) -> tuple[str, ...]:
    seen: list[str] = []
    for h in sorted(set(hops), key=Hop.order):
        seen.extend(t for t in h.tx_ids if t not in seen)
    return tuple(seen)  # all of them: the event lists the latest 100 and says when it cut


def conserved(received_fen: int, forwarded_fen: int, min_ratio: float, max_ratio: float) -> bool:
    """Forwarded money is between min_ratio and max_ratio of what was received (amount conservation)."""
    return received_fen > 0 and min_ratio * received_fen <= forwarded_fen <= max_ratio * received_fen


@dataclass(frozen=True, slots=True)
class Flow:
    """Money from `payer` to `payee` in one go: one transfer, or several of the same pair within
    `merge_ms` of each other (a payment split in two or three: the generator and real mules do).
    `amount_fen` is their sum; `hops` the transfers, oldest first."""

    payer: str
    payee: str
    hops: tuple[Hop, ...]
    amount_fen: int

    @property
    def first(self) -> Hop:
        return self.hops[0]

    @property
    def ts_ms(self) -> int:
        return self.hops[0].ts_ms


def flows_of(hops: list[Hop], merge_ms: int) -> list[Flow]:
    """Group transfers (oldest first) by pair, then into runs whose gaps are at most `merge_ms`."""
    by_pair: dict[tuple[str, str], list[Hop]] = {}
    for h in hops:
        by_pair.setdefault((h.payer, h.payee), []).append(h)
    out = []
    for (payer, payee), run in by_pair.items():
        cur = [run[0]]
        for h in run[1:]:
            if h.ts_ms - cur[-1].ts_ms <= merge_ms:
                cur.append(h)
            else:
                out.append(Flow(payer, payee, tuple(cur), sum(x.amount_fen for x in cur)))
                cur = [h]
        out.append(Flow(payer, payee, tuple(cur), sum(x.amount_fen for x in cur)))
    return out


def anchor_flow(view: NetworkView, merge_ms: int) -> Flow:
    """The anchor with the same pair's transfers just before it (within `merge_ms`, chained)."""
    a = view.anchor
    owner = view.of(view.account)
    side = owner.ins_within(a.ts_ms - 4 * merge_ms, view.end) if view.copy == "payee" else owner.outs_within(a.ts_ms - 4 * merge_ms, view.end)
    same = [h for h in side if h.payer == a.payer and h.payee == a.payee and h != a]
    run = [a]
    for h in reversed(same):
        if run[0].ts_ms - h.ts_ms > merge_ms:
            break
        run.insert(0, h)
    return Flow(a.payer, a.payee, tuple(run), sum(h.amount_fen for h in run))


def conserved_paths(
    view: NetworkView,
    *,
    window_ms: int,
    max_gap_ms: int,
    min_ratio: float,
    max_ratio: float,
    max_hops: int,
    merge_ms: int,
    floor_fen: int,
    history_ms: int = 0,
    branching: int = 3,
    limit: int = 24,
) -> list[tuple[Flow, ...]]:
    """The backward conserved paths ending with the anchor's flow (earliest flow first): each step
    goes to the flows into the path's first payer that came before it (within `max_gap_ms`, after
    the window's start) and that it forwarded `min_ratio`..`max_ratio` of. At most `branching`
    extensions per path (closest in amount), `limit` paths per step, `max_hops` flows; hubs and
    accounts already on the path are not entered, except the anchor's payee (a closed cycle,
    which is kept and not extended). Every flow of a path is along a *new* relationship of its
    payee (first seen within the window and at least `history_ms` after the payee's history
    begins, `Adjacency.new_since`): rent, salary and family money move along recurring ones.
    Cached per view and bounds."""
    key = ("paths", window_ms, max_gap_ms, min_ratio, max_ratio, max_hops, merge_ms, floor_fen, history_ms)
    if key in view.scratch:
        return view.scratch[key]
    start = view.anchor.ts_ms - window_ms
    result: list[tuple[Flow, ...]] = []

    def new(payer: str, payee: str) -> bool:
        b = view.of(payee)
        return b.met(payer, view.anchor.ts_ms) >= b.new_since(start, history_ms, view.origin_ms)

    if view.copy == "payee" and not new(view.anchor.payer, view.anchor.payee):
        # the anchor's flow has the anchor's pair, so no path starts (the usual case: a recurring
        # relationship); anchor_flow would read only the payee, which `new` read already
        view.scratch[key] = result
        return result
    first = anchor_flow(view, merge_ms)
    frontier: list[tuple[Flow, ...]] = [(first,)] if first.amount_fen >= floor_fen and new(first.payer, first.payee) else []
    for _ in range(max_hops - 1):
        nxt: list[tuple[Flow, ...]] = []
        for path in frontier:
            head = path[0]
            a = view.of(head.payer)
            if a.hub:
                continue
            on_path = {f.payee for f in path} | {head.payer}
            t0 = head.first.order()
            lo = max(start, head.ts_ms - max_gap_ms)
            ins = [h for h in a.ins_within(lo, t0) if h.order() < t0 and (h.payer not in on_path or h.payer == view.anchor.payee)]
            cands = [f for f in flows_of(ins, merge_ms) if f.amount_fen >= floor_fen and conserved(f.amount_fen, head.amount_fen, min_ratio, max_ratio)]
            cands = [f for f in cands if (not view.of(f.payer).hub or f.payer == view.anchor.payee) and new(f.payer, head.payer)]
            cands.sort(key=lambda f: (abs(f.amount_fen - head.amount_fen), -f.ts_ms, f.first.edge_id))
            for f in cands[:branching]:
                nxt.append((f, *path))
                if len(nxt) >= limit:
                    break
            if len(nxt) >= limit:
                break
        result.extend(nxt)
        frontier = [p for p in nxt if p[0].payer != view.anchor.payee]
        if not frontier:
            break
    view.scratch[key] = result
    return result


def flow_hops(flows: Iterable[Flow]) -> list[Hop]:
    return [h for f in flows for h in f.hops]


def meshed_path(view: NetworkView, path: tuple[Flow, ...]) -> bool:
    """Whether two accounts of the path paid each other other than along the path itself (from
    its first flow to the anchor): a layering path runs one way through accounts that do not
    otherwise deal with each other; accounts that pay each other in several directions are a
    mesh (a closed group, a family), in which a conserved chain can appear by coincidence."""
    accounts = {path[0].payer, *(f.payee for f in path)}
    own = {h.edge_id for f in path for h in f.hops}
    start = path[0].ts_ms
    for p in sorted(accounts):
        b = view.of(p)
        for h in b.outs_within(start, view.end):
            if h.payee in accounts and h.edge_id not in own:
                return True
    return False


__all__ = [
    "DAY_MS",
    "Adjacency",
    "Copy",
    "Flow",
    "Hop",
    "NetworkHit",
    "NetworkView",
    "Party",
    "all_tx_ids",
    "anchor_flow",
    "conserved",
    "conserved_paths",
    "flow_hops",
    "flows_of",
    "meshed_path",
    "parties_of",
]
