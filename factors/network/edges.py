"""Payment edges (aml.edges.v1): one committed customer leg with a counterparty -> payer -> payee.

`edges_for_leg` turns one leg into zero or one `Edge`; `edge_messages` gives the two keyed copies
the customer stage produces (Kafka Streams-style repartitioning: one copy keyed by the payer's
party id, one by the payee's, so the network-stage partition that owns an account sees all of
its in- and out-edges). Pure: no I/O, no clock.

Party ids. Every party is a canonical identity (`factors.identity.canonical_counterparty`). A
customer of the bank is ``id:<customer_id>``: a `counterparty_id` equal to a customer's id names
that customer, so both legs of a book transfer name the same two parties without any lookup. A
counterparty known by account number only is linked to its customer when the caller passes
`counterparty_customer_id` (it resolved the account, e.g. from profiles' `accounts`); otherwise
it is the ``acct:`` party. All accounts of one customer are one party.

Edge identity: one edge per transfer. Both legs of one book transfer (the payer's out-leg, the
payee's in-leg, with different `tx_id`s) give the same edge, and two transfers give two edges
even with one time and amount (a bulk upload, a split submitted at once):

- counterparty an ``id:`` party (a customer of the bank, or may be: its own leg may come too):
  `edge_id` digests (payer, payee, event time, CNY fen, occurrence), the occurrence being how many
  identical earlier legs (same direction, counterparty, time and amount) the leg's customer
  committed before it, counted in the trail the customer stage's item sees (`occurrence`:
  deterministic, independent of batching and redelivery). The k-th such transfer on the payer's
  side pairs with the k-th on the payee's; occurrence 0 gives the digest of earlier versions;
- any other counterparty (an outside account or name): no other leg can name this transfer, so
  `edge_id` also digests the leg's `tx_id`.

The network stage stores an edge once per `edge_id`, merging the two legs' `tx_id`s.

Retractions: a committed reversal of a leg that gave an edge gives that edge again as a
retraction (`retracted_by`: the reversal's tx_id; aml.edges.v1 `action: "retract"`), on the same
two keys, and the network stage removes the edge (see `streams.network.state`).

No edge: card payments (a shop is not a relationship, as in the customer stage), cash (no
counterparty account), own-account moves, reversals, corrections, returns, fees and interest
(`tx_type` other than payment), legs without any counterparty identifier, and a counterparty that
is the customer itself.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from factors.identity import canonical_counterparty, normalise_account
from factors.model import RecentTx, Transaction

SCHEMA_VERSION = 1
NO_EDGE_METHODS = frozenset(("card", "cash"))
KeyRole = Literal["payer", "payee"]


@dataclass(frozen=True, slots=True)
class Edge:
    """Money from `payer` to `payee` (party ids), at `ts_ms` (event time, epoch ms UTC), in CNY fen.

    `payer_customer_id` / `payee_customer_id`: the bank's customer on that side when known (the
    leg's own customer always; the counterparty when the caller resolved it or it is named by a
    customer id). `tx_id`/`leg_customer_id`: the leg that produced this copy. `peer_group`: the
    leg customer's peer group (kind x industry).
    `counterparty_name_id`: the name identity (``name:…[@bank]``) of the leg's counterparty when
    the leg names it and identifies it otherwise too (account or id): the network stage learns
    from it which party a later leg booked by name only (another bank's spelling) is."""

    edge_id: str
    payer: str
    payee: str
    ts_ms: int
    amount_fen: int
    tx_id: str
    leg_customer_id: str
    method: str
    payer_customer_id: str | None = None
    payee_customer_id: str | None = None
    peer_group: str | None = None
    counterparty_name_id: str | None = None
    retracted_by: str | None = None  # a retraction of this edge: the reversal's tx_id (None: the edge itself)

    def party(self, role: str) -> str:
        """The party on `role`'s side ("payer" or "payee"): the account that owns that copy."""
        return self.payer if role == "payer" else self.payee


def customer_party(customer_id: str) -> str:
    """The party id of a customer of the bank."""
    return f"id:{customer_id}"


def edge_id(payer: str, payee: str, ts_ms: int, amount_fen: int, occurrence: int = 0, tx_id: str | None = None) -> str:
    """32 hex of SHA-256 over the transfer: (payer, payee, time, fen) and its `occurrence` (both
    legs of a book transfer share it), or the leg's `tx_id` when given (a one-leg transfer)."""
    text = f"edge\x1f{payer}\x1f{payee}\x1f{ts_ms}\x1f{amount_fen}"
    if tx_id is not None:
        text += f"\x1ftx\x1f{tx_id}"
    elif occurrence:
        text += f"\x1f#{occurrence}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def occurrence(window: Sequence[RecentTx], seq: int) -> int:
    """How many legs identical to the trail entry `seq` (same direction, counterparty, event time,
    amount; flows only) come before it in `window` (the trail the customer stage's item sees: at
    most 256 legs, 72 hours before the customer's latest). 0 when the entry is not in the window
    (a leg more than 72 hours late: its identical siblings are not counted, see README)."""
    own = next((r for r in reversed(window) if r.seq == seq), None)
    if own is None or own.kind:
        return 0
    ts, same = own.ts_ms, (own.direction, own.counterparty, own.amount_fen)
    return sum(1 for r in window if r.ts_ms == ts and r.seq < seq and not r.kind and (r.direction, r.counterparty, r.amount_fen) == same)


def edges_for_leg(
    *,
    tx_id: str,
    customer_id: str,
    ts_ms: int,
    direction: str,
    amount_fen: int,
    method: str,
    counterparty_id: str | None = None,
    counterparty_account: str | None = None,
    counterparty_bank: str | None = None,
    counterparty_name: str | None = None,
    counterparty_customer_id: str | None = None,
    tx_type: str = "payment",
    own_account: bool = False,
    peer_group: str | None = None,
    occurrence: int = 0,
) -> Edge | None:
    """The edge of one committed leg, or None (see the module docstring for what gives none).

    `direction` is the leg's (``in``: the customer is the payee); `amount_fen` > 0 in CNY fen;
    `occurrence`: identical legs of the customer before it (see `occurrence`)."""
    if tx_type != "payment" or own_account or method in NO_EDGE_METHODS or amount_fen <= 0:
        return None
    own = customer_party(customer_id)
    if counterparty_customer_id:
        other: str | None = customer_party(counterparty_customer_id)
    else:
        other = canonical_counterparty(counterparty_id, counterparty_account, counterparty_bank, counterparty_name)
    if other is None or other == own:
        return None
    other_customer = counterparty_customer_id or None
    name_id = None if other_customer or other.startswith("name:") else canonical_counterparty(None, None, counterparty_bank, counterparty_name)
    if direction == "out":
        payer, payee, payer_cid, payee_cid = own, other, customer_id, other_customer
    elif direction == "in":
        payer, payee, payer_cid, payee_cid = other, own, other_customer, customer_id
    else:
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    return Edge(
        edge_id=edge_id(payer, payee, ts_ms, amount_fen, occurrence, None if other.startswith("id:") else tx_id),
        payer=payer,
        payee=payee,
        ts_ms=ts_ms,
        amount_fen=amount_fen,
        tx_id=tx_id,
        leg_customer_id=customer_id,
        method=method,
        payer_customer_id=payer_cid,
        payee_customer_id=payee_cid,
        peer_group=peer_group,
        counterparty_name_id=name_id,
    )


def leg_edge(tx: Transaction, *, counterparty_customer_id: str | None = None, peer_group: str | None = None, occurrence: int = 0) -> Edge | None:
    """The edge of one decoded leg, as both the customer stage and `network-replay` build it.

    `counterparty_customer_id`: the customer of the bank that holds the leg's counterparty
    account, when the caller resolved it (the account directory; profiles' `accounts`). A
    counterparty account equal to the leg's own `account_id` is an own-account move: no edge.
    `occurrence`: identical legs of the customer before it (`occurrence`)."""
    own_account = bool(tx.account_id) and normalise_account(tx.counterparty_account) == normalise_account(tx.account_id)
    return edges_for_leg(
        tx_id=tx.tx_id,
        customer_id=tx.customer_id,
        ts_ms=tx.ts_ms,
        direction=tx.direction,
        amount_fen=tx.amount_fen,
        method=tx.method,
        counterparty_id=tx.counterparty_id,
        counterparty_account=tx.counterparty_account,
        counterparty_bank=tx.counterparty_bank,
        counterparty_name=tx.counterparty_name,
        counterparty_customer_id=counterparty_customer_id,
        tx_type=tx.tx_type,
        own_account=own_account,
        peer_group=peer_group,
        occurrence=occurrence,
    )


def retraction(
    reversal: Transaction,
    original_tx_id: str,
    original_ts_ms: int,
    original_direction: str,
    *,
    counterparty_customer_id: str | None = None,
    peer_group: str | None = None,
    occurrence: int = 0,
) -> Edge | None:
    """The retraction of the edge of the leg `reversal` undid (None: that leg gave no edge). The
    original is rebuilt from the reversal (it carries the original's amount, method and, as posted,
    its counterparty), the original's tx_id, time and direction, and its `occurrence`."""
    original = replace(reversal, tx_id=original_tx_id, ts_ms=original_ts_ms, direction=original_direction, tx_type="payment", original_tx_id=None)  # type: ignore[arg-type]
    edge = leg_edge(original, counterparty_customer_id=counterparty_customer_id, peer_group=peer_group, occurrence=occurrence)
    return replace(edge, retracted_by=reversal.tx_id) if edge is not None else None


class LegEdges:
    """The edges and retractions of a stream of legs in order, as the customer stage emits them,
    for `network-replay`, which has no customer state: per customer a trail of its recent legs
    (at most `trail_max`, none more than `horizon_ms` before its latest), where a leg's
    `occurrence` is counted and a reversal finds its original, as in the customer stage.

    Differences from the customer stage (README › Network detection): a duplicated tx_id is
    recognised only within this trail; a reversal of an original not in it is taken to undo a
    leg at its `original_ts` posted against its own direction (without `original_ts`: it waits for
    its original, whose edge then never comes); nothing is dead-lettered."""

    def __init__(self, trail_max: int = 256, horizon_ms: int = 72 * 3_600_000) -> None:
        self.trail_max, self.horizon_ms = trail_max, horizon_ms
        self._occurrences: dict[tuple[str, str], int] = {}  # (customer, tx_id) -> occurrence, when > 0 (the customer stage's state "edge_k")
        self._trails: dict[str, deque[tuple[RecentTx, int]]] = {}  # customer -> (entry, its occurrence)
        self._latest: dict[str, int] = {}
        self._seq = 0
        self._waiting: set[tuple[str, str]] = set()  # (customer, tx_id) reversed before it came

    def _window(self, customer_id: str, ts_ms: int) -> deque[tuple[RecentTx, int]]:
        latest = self._latest[customer_id] = max(self._latest.get(customer_id, ts_ms), ts_ms)
        trail = self._trails.setdefault(customer_id, deque(maxlen=self.trail_max))
        while trail and trail[0][0].ts_ms < latest - self.horizon_ms:
            trail.popleft()
        return trail

    def leg(self, tx: Transaction, counterparty: str, *, counterparty_customer_id: str | None = None, peer_group: str | None = None) -> Edge | None:
        """The edge (or retraction) of the next leg; `counterparty`: its counterparty identity as
        the customer stage's trail records it (streams.engine.counterparty_identity)."""
        trail = self._window(tx.customer_id, tx.ts_ms)
        again = next(((r, k) for r, k in trail if r.tx_id == tx.tx_id), None)
        common = {"counterparty_customer_id": counterparty_customer_id, "peer_group": peer_group}
        if tx.tx_type == "reversal" and tx.original_tx_id:
            if again is None:
                self._seq += 1
                trail.append((RecentTx(self._seq, tx.ts_ms, tx.direction, tx.amount_fen, False, 0, tx.tx_id, kind="v", ref=tx.original_tx_id), 0))
            found = next(((r, k) for r, k in reversed(trail) if r.tx_id == tx.original_tx_id and not r.kind), None)
            if found is not None:
                return retraction(tx, found[0].tx_id, found[0].ts_ms, found[0].direction, occurrence=found[1], **common)  # type: ignore[arg-type]
            if tx.original_ts_ms is not None:
                opposite = "out" if tx.direction == "in" else "in"
                k = self._occurrences.get((tx.customer_id, tx.original_tx_id), 0)
                return retraction(tx, tx.original_tx_id, tx.original_ts_ms, opposite, occurrence=k, **common)  # type: ignore[arg-type]
            self._waiting.add((tx.customer_id, tx.original_tx_id))
            return None
        if tx.tx_type != "payment":
            return None
        if (tx.customer_id, tx.tx_id) in self._waiting:  # its reversal came first: it counts for nothing
            self._waiting.discard((tx.customer_id, tx.tx_id))
            return None
        if again is not None:
            k = again[1]
        else:
            self._seq += 1
            entry = RecentTx(self._seq, tx.ts_ms, tx.direction, tx.amount_fen, False, 0, tx.tx_id, counterparty=counterparty)
            trail.append((entry, 0))
            k = occurrence([r for r, _ in trail], entry.seq)
            trail[-1] = (entry, k)
            if k:
                self._occurrences[(tx.customer_id, tx.tx_id)] = k
        return leg_edge(tx, occurrence=k, **common)  # type: ignore[arg-type]


def edge_value(edge: Edge, key_role: KeyRole, occurred_at: str) -> dict[str, Any]:
    """The aml.edges.v1 event of one copy (`occurred_at`: the RFC 3339 rendering of `ts_ms`)."""
    value = {
        "event_type": "edge",
        "schema_version": SCHEMA_VERSION,
        "edge_id": edge.edge_id,
        "key_role": key_role,
        "payer": {"party_id": edge.payer, "customer_id": edge.payer_customer_id},
        "payee": {"party_id": edge.payee, "customer_id": edge.payee_customer_id},
        "occurred_at": occurred_at,
        "ts_ms": edge.ts_ms,
        "amount_fen": edge.amount_fen,
        "tx_id": edge.tx_id,
        "leg_customer_id": edge.leg_customer_id,
        "method": edge.method,
        "peer_group": edge.peer_group,
    }
    if edge.counterparty_name_id:
        value["counterparty_name_id"] = edge.counterparty_name_id
    if edge.retracted_by:
        value["action"] = "retract"
        value["retracted_by"] = edge.retracted_by
    return value


def edge_messages(edge: Edge, occurred_at: str) -> list[tuple[str, dict[str, Any]]]:
    """The two (key, value) copies to produce: keyed by the payer's party id, then by the payee's
    (the same event but `key_role`; the payee's copy is the payer's with it changed, sharing its
    nested party objects: an event is never changed once built)."""
    payer = edge_value(edge, "payer", occurred_at)
    return [(edge.payer, payer), (edge.payee, payer | {"key_role": "payee"})]


__all__ = ["Edge", "KeyRole", "LegEdges", "customer_party", "edge_id", "edge_messages", "edge_value", "edges_for_leg", "leg_edge", "occurrence", "retraction"]
