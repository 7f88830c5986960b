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

Both legs of one book transfer (the payer's out-leg, the payee's in-leg) give the same edge:
`edge_id` is a digest of (payer, payee, event time, CNY fen), not of the leg, and the network
stage stores an edge once per `edge_id`, merging the two legs' `tx_id`s. A core-banking book
transfer posts both legs with one time and amount; legs that differ in either are two edges.

No edge: card payments (a shop is not a relationship, as in the customer stage), cash (no
counterparty account), own-account moves, reversals, corrections, returns, fees and interest
(`tx_type` other than payment), legs without any counterparty identifier, and a counterparty that
is the customer itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from factors.identity import canonical_counterparty, normalise_account
from factors.model import Transaction

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

    def party(self, role: str) -> str:
        """The party on `role`'s side ("payer" or "payee"): the account that owns that copy."""
        return self.payer if role == "payer" else self.payee


def customer_party(customer_id: str) -> str:
    """The party id of a customer of the bank."""
    return f"id:{customer_id}"


def edge_id(payer: str, payee: str, ts_ms: int, amount_fen: int) -> str:
    """32 hex of SHA-256 over the transfer itself (not the leg): both legs of a book transfer share it."""
    return hashlib.sha256(f"edge\x1f{payer}\x1f{payee}\x1f{ts_ms}\x1f{amount_fen}".encode()).hexdigest()[:32]


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
) -> Edge | None:
    """The edge of one committed leg, or None (see the module docstring for what gives none).

    `direction` is the leg's (``in``: the customer is the payee); `amount_fen` > 0 in CNY fen."""
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
        edge_id=edge_id(payer, payee, ts_ms, amount_fen),
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


def leg_edge(tx: Transaction, *, counterparty_customer_id: str | None = None, peer_group: str | None = None) -> Edge | None:
    """The edge of one decoded leg, as both the customer stage and `network-replay` build it.

    `counterparty_customer_id`: the customer of the bank that holds the leg's counterparty
    account, when the caller resolved it (the account directory; profiles' `accounts`). A
    counterparty account equal to the leg's own `account_id` is an own-account move: no edge."""
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
    )


def edge_value(edge: Edge, key_role: KeyRole, occurred_at: str) -> dict[str, Any]:
    """The aml.edges.v1 event of one copy (`occurred_at`: the RFC 3339 rendering of `ts_ms`)."""
    return {
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
    } | ({"counterparty_name_id": edge.counterparty_name_id} if edge.counterparty_name_id else {})


def edge_messages(edge: Edge, occurred_at: str) -> list[tuple[str, dict[str, Any]]]:
    """The two (key, value) copies to produce: keyed by the payer's party id, then by the payee's."""
    return [(edge.payer, edge_value(edge, "payer", occurred_at)), (edge.payee, edge_value(edge, "payee", occurred_at))]


__all__ = ["Edge", "KeyRole", "customer_party", "edge_id", "edge_messages", "edge_value", "edges_for_leg", "leg_edge"]
