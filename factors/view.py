"""What a factor or a pattern rule sees of a customer at one moment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factors.model import RecentTx, Snapshot, Transaction


@dataclass(frozen=True, slots=True)
class CustomerView:
    """A customer right after one transaction: profile (if known), aggregates, recent trail.

    `recent` holds the customer's recent transactions up to and including `tx`, oldest first.
    `business_day` is the business-day number of `tx`.
    """

    customer_id: str
    profile: dict[str, Any] | None
    tx: Transaction
    snapshot: Snapshot
    recent: tuple[RecentTx, ...]
    business_day: int


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a factor measured: the value its bands are applied to, and the evidence."""

    value: float
    evidence: dict[str, Any]
