"""What a factor or a pattern rule sees of a customer at one moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factors.model import ExposureMeasurement, RecentTx, Snapshot, Transaction
from factors.profile import PeerBaseline, Profile


@dataclass(frozen=True, slots=True)
class CustomerView:
    """A customer right after one event: profile (if known), aggregates, recent trail.

    `recent` holds the customer's recent transactions up to and including `tx`, oldest first.
    `tx` is None when the event is a profile update (re-rating without a transaction);
    `business_day` is the business day of the event; `peer` the published baseline of the
    customer's peer group, if there is one.
    """

    customer_id: str
    profile: Profile | None
    tx: Transaction | None
    snapshot: Snapshot
    recent: tuple[RecentTx, ...]
    business_day: int
    peer: PeerBaseline | None = None
    detections: dict[str, int] = field(default_factory=dict)  # pattern -> event time of its last detection
    alerts_in_period: int = 0  # new alerts raised within the repeated-reports period
    rated_at_ms: int | None = None  # event time of what is rated when it is not a transaction
    exposure: ExposureMeasurement | None = None  # the network stage's latest exposure measurement (high-risk counterparties)

    @property
    def event_ms(self) -> int:
        """Event time of what is being rated: the transaction, the profile update's time, or
        the customer's watermark."""
        if self.tx is not None:
            return self.tx.ts_ms
        return self.rated_at_ms if self.rated_at_ms is not None else self.snapshot.asof_ms


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a factor measured: the value its bands are applied to, and the evidence."""

    value: float
    evidence: dict[str, Any]
