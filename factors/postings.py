"""What a posting is to the customer's relationship (contract v1.1): one rule, used by the
customer stage (which counts and rates) and by the filing stage (which lists legs in a report), so
the two can never disagree about which legs a large-value report holds.

- fees and interest are the bank's postings, not the customer's behaviour;
- a transfer between two accounts of the customer's at this bank (its own id as the
  counterparty, or one of the profile's own accounts with `counterparty_bank` absent or naming
  this bank) is an own-account move: no flow in or out of the relationship, and not reportable
  (PBoC Order 2016 No. 3 art. 10 (1): moves between accounts of the same name at the same
  institution). Cash and cross-border legs never are: cash crosses the counter whoever's account
  it lands in, and a cross-border leg is another institution;
- reversals and corrections undo (or amend) an earlier leg; returns are payments sent back (退汇),
  counted apart from the flows;
- everything else is a payment: a flow.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from typing import Literal, Protocol, TypeVar

from factors.identity import normalise_account

Posting = Literal["payment", "own", "bank", "reversal", "correction", "return"]


class Posted(Protocol):
    """What `posting` reads of a leg (factors.model.Transaction and filings.model.Leg have it)."""

    @property
    def tx_type(self) -> str | None: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def counterparty_id(self) -> str | None: ...
    @property
    def counterparty_account(self) -> str | None: ...
    @property
    def counterparty_bank(self) -> str | None: ...
    @property
    def is_cash(self) -> bool: ...
    @property
    def cross_border(self) -> bool: ...


def posting(leg: Posted, own_accounts: Collection[str] = (), own_bank: Collection[str] = ()) -> Posting:
    """The kind of a leg. `own_accounts`: the customer's own account ids as the profile lists
    them; `own_bank`: this bank's names as `counterparty_bank` may give them (the standard's
    `large_value.own_bank`). Accounts and bank names compare after normalisation (NFKC, case,
    spaces and punctuation)."""
    kind = leg.tx_type or "payment"
    if kind in ("fee", "interest"):
        return "bank"
    if kind == "payment" and not leg.is_cash and not leg.cross_border:
        if leg.counterparty_id is not None and leg.counterparty_id == leg.customer_id:
            return "own"  # the bank's own customer id: at this bank by construction
        if own_account(leg, own_accounts, own_bank):
            return "own"
    return kind  # type: ignore[return-value]


def own_account(leg: Posted, own_accounts: Collection[str], own_bank: Collection[str]) -> bool:
    """Whether the leg's counterparty account is one of the customer's own at this bank (see `posting`)."""
    if not leg.counterparty_account or not own_accounts:
        return False
    if leg.counterparty_bank and normalise_account(leg.counterparty_bank) not in {normalise_account(b) for b in own_bank}:
        return False  # the same number at another bank is another account
    return normalise_account(leg.counterparty_account) in {normalise_account(a) for a in own_accounts}


def may_be_own(leg: Posted, own_bank: Collection[str]) -> bool:
    """Whether the leg could be an own-account move by its account number (the customer stage's
    state knows the profile's accounts; it is asked only about these legs)."""
    if (leg.tx_type or "payment") != "payment" or leg.is_cash or leg.cross_border or not leg.counterparty_account:
        return False
    return not leg.counterparty_bank or normalise_account(leg.counterparty_bank) in {normalise_account(b) for b in own_bank}


class LegLike(Protocol):
    tx_id: str
    tx_type: str | None
    amount: str
    currency: str
    amount_fen: int


L = TypeVar("L", bound=LegLike)


def undone(undoings: Iterable[tuple[str, str, str]]) -> tuple[set[str], dict[str, str]]:
    """What reversals and corrections did, given as (tx_id, "reversal" | "correction", the tx_id
    it names) in posting order: the ids of the legs reversed, and for each corrected leg the id
    of the correction in force. A correction may correct an earlier correction and a reversal may
    reverse one: both reach back along the chain to the leg at its root."""
    corrects: dict[str, str] = {}  # a correction's tx_id -> the tx_id it corrects
    reversed_ids: set[str] = set()
    in_force: dict[str, str] = {}

    def root(tx_id: str) -> str:
        for _ in range(16):  # chains are short; a cycle cannot be posted (ids are unique)
            if tx_id not in corrects:
                break
            tx_id = corrects[tx_id]
        return tx_id

    for tx_id, kind, original in undoings:
        if kind == "reversal":
            reversed_ids.add(root(original))
        elif kind == "correction":
            in_force[root(original)] = tx_id
            corrects[tx_id] = original
    return reversed_ids, in_force


def effective(legs: Iterable[L], undoings: Iterable[L]) -> list[L]:
    """`legs` as they stand after the reversals and corrections among `undoings` (each with an
    `original_tx_id`, in posting order): a reversed leg is gone, a corrected one carries the
    amount and currency of the correction in force (see `undone`), as `factors.rating.behaviour` has it."""
    undoings = [u for u in undoings if getattr(u, "original_tx_id", None) is not None and u.tx_type in ("reversal", "correction")]
    by_id = {u.tx_id: u for u in undoings}
    reversed_ids, in_force = undone((u.tx_id, u.tx_type, u.original_tx_id) for u in undoings)  # type: ignore[misc,attr-defined]
    out = []
    for leg in legs:
        if leg.tx_id in reversed_ids:
            continue
        fix = by_id.get(in_force.get(leg.tx_id, ""))
        out.append(replace(leg, amount=fix.amount, amount_fen=fix.amount_fen, currency=fix.currency) if fix is not None else leg)  # type: ignore[type-var]
    return out
