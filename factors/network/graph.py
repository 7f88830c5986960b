"""The bounded local subgraph a network rule sees for one edge, and what a rule returns.

The network stage gathers, for the edge being processed (the *anchor*), the adjacency of the few
accounts the rules need (both ends, their direct predecessors, the backward search frontier), each
cut to the rule window and to edges no later than the anchor (event time, then `edge_id`), so a
rule never sees the future and a redelivered edge sees what it saw the first time (for a stream in
event-time order). Hubs (accounts with very many counterparties) are marked and not expanded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DAY_MS = 86_400_000
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


@dataclass(frozen=True, slots=True)
class Adjacency:
    """An account's stored edges (oldest first), as far as fetched. `hub`: too many counterparties
    to expand (its edges are kept but no search goes through it). `customer_id`: the bank's
    customer when the account is one, else None. `peer_group`: the customer's, when known."""

    party: str
    ins: tuple[Hop, ...] = ()
    outs: tuple[Hop, ...] = ()
    customer_id: str | None = None
    peer_group: str | None = None
    hub: bool = False
    emitted: Mapping[str, str] = field(default_factory=dict)  # "k:<pattern>:<key>" -> parties digest of detections emitted

    def ins_within(self, start_ms: int, end: tuple[int, str]) -> list[Hop]:
        return [h for h in self.ins if h.ts_ms >= start_ms and h.order() <= end]

    def outs_within(self, start_ms: int, end: tuple[int, str]) -> list[Hop]:
        return [h for h in self.outs if h.ts_ms >= start_ms and h.order() <= end]


@dataclass(frozen=True, slots=True)
class Quantiles:
    """Published population quantiles of one peer group (version named in every event using it)."""

    group: str
    version: str
    members: int
    values: Mapping[str, Mapping[str, float]]  # metric -> {"p90": x, "p99": y, ...}

    def get(self, metric: str, q: str) -> float | None:
        return self.values.get(metric, {}).get(q)


@dataclass(frozen=True, slots=True)
class NetworkView:
    """What one rule evaluation sees: the anchor edge, which copy is processed (the payer's
    partition evaluates rules anchored at the payer, the payee's those anchored at the payee),
    the fetched adjacency and the backward conserved paths ending with the anchor."""

    anchor: Hop
    copy: Copy
    adj: Mapping[str, Adjacency]
    paths: tuple[tuple[Hop, ...], ...] = ()
    quantiles: Quantiles | None = None
    customer_of: Mapping[str, str] = field(default_factory=dict)  # party -> customer_id, known so far

    @property
    def end(self) -> tuple[int, str]:
        return self.anchor.order()

    @property
    def account(self) -> str:
        """The account whose partition evaluates: the payer for the payer copy, else the payee."""
        return self.anchor.payer if self.copy == "payer" else self.anchor.payee

    def of(self, party: str) -> Adjacency:
        return self.adj.get(party) or Adjacency(party)

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
        return {"party_id": self.party_id, "customer_id": self.customer_id, "role": self.role, "tx_ids": list(self.tx_ids)}


@dataclass(frozen=True, slots=True)
class NetworkHit:
    """A network pattern found at one edge. `key` identifies the episode (the same structure found
    again at a later edge has the same key, so it updates the alert instead of raising a new one)."""

    pattern: str
    key: str
    window_start_ms: int
    window_end_ms: int
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    parties: tuple[Party, ...]
    tx_ids: tuple[str, ...]
    severity: str


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
    return tuple(seen[-100:])


def conserved(received_fen: int, forwarded_fen: int, min_ratio: float, max_ratio: float) -> bool:
    """Forwarded money is between min_ratio and max_ratio of what was received (amount conservation)."""
    return received_fen > 0 and min_ratio * received_fen <= forwarded_fen <= max_ratio * received_fen


def extend_paths(
    paths: Iterable[tuple[Hop, ...]],
    adj: Mapping[str, Adjacency],
    *,
    start_ms: int,
    max_gap_ms: int,
    min_ratio: float,
    max_ratio: float,
    branching: int,
    limit: int,
) -> list[tuple[Hop, ...]]:
    """One backward step of the conserved-path search: each path (earliest hop first) is extended
    by the edges into its first payer that came before it (within `max_gap_ms`, after `start_ms`)
    and that it forwarded most of (`conserved`). At most `branching` extensions per path (those
    closest in amount) and `limit` paths in all; hubs and accounts already on the path are not
    entered (a path closing back on the anchor's payee is kept: that is a cycle)."""
    out: list[tuple[Hop, ...]] = []
    for path in paths:
        first = path[0]
        a = adj.get(first.payer)
        if a is None or a.hub:
            continue
        on_path = {h.payee for h in path} | {first.payer}
        candidates = []
        for h in a.ins:
            if h.ts_ms < start_ms or h.order() >= first.order() or first.ts_ms - h.ts_ms > max_gap_ms:
                continue
            if h.payer in on_path and h.payer != path[-1].payee:
                continue
            if not conserved(h.amount_fen, first.amount_fen, min_ratio, max_ratio):
                continue
            candidates.append(h)
        candidates.sort(key=lambda h: (abs(h.amount_fen - first.amount_fen), -h.ts_ms, h.edge_id))
        for h in candidates[:branching]:
            out.append((h, *path))
            if len(out) >= limit:
                return out
    return out


__all__ = ["DAY_MS", "Adjacency", "Copy", "Hop", "NetworkHit", "NetworkView", "Party", "Quantiles", "all_tx_ids", "conserved", "extend_paths", "parties_of"]
