"""Typed records the core works on: a transaction leg, the rolling aggregates, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["in", "out"]
Method = Literal["cash", "transfer", "card", "cheque", "remittance", "other"]
Channel = Literal["counter", "atm", "online", "mobile", "pos", "agent", "other"]

METHODS: frozenset[str] = frozenset(("cash", "transfer", "card", "cheque", "remittance", "other"))
CHANNELS: frozenset[str] = frozenset(("counter", "atm", "online", "mobile", "pos", "agent", "other"))


@dataclass(frozen=True, slots=True)
class Transaction:
    """One leg of a transaction, as seen from the customer's side.

    Money is held as integer fen (CNY cents) after FX conversion, so sums are exact and
    reproducible; the original amount and currency are kept for evidence.
    """

    tx_id: str
    customer_id: str
    ts_ms: int  # event time, epoch milliseconds UTC
    direction: Direction
    amount_fen: int  # CNY equivalent, fen
    amount: str  # original amount as received, canonical decimal string
    currency: str
    method: Method
    channel: Channel = "other"
    cross_border: bool = False
    account_id: str | None = None
    counterparty_id: str | None = None
    counterparty_name: str | None = None
    counterparty_bank: str | None = None
    counterparty_country: str | None = None

    @property
    def is_cash(self) -> bool:
        return self.method == "cash"


# The metrics kept per time bucket, in this order, by the Redis script and in snapshots.
BUCKET_METRICS: tuple[str, ...] = ("count", "in_fen", "out_fen", "cash_in_fen", "cash_out_fen", "xb_in_fen", "xb_out_fen", "hr_fen")


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Totals of one rolling window (or one bucket), money in fen."""

    count: int = 0
    in_fen: int = 0
    out_fen: int = 0
    cash_in_fen: int = 0
    cash_out_fen: int = 0
    xb_in_fen: int = 0
    xb_out_fen: int = 0
    hr_fen: int = 0  # flows with counterparties in high-risk jurisdictions, both directions
    counterparties_in: int = 0
    counterparties_out: int = 0

    @property
    def sum_fen(self) -> int:
        return self.in_fen + self.out_fen

    @property
    def cash_fen(self) -> int:
        return self.cash_in_fen + self.cash_out_fen

    @property
    def cross_border_fen(self) -> int:
        return self.xb_in_fen + self.xb_out_fen


WINDOWS: tuple[str, ...] = ("1h", "24h", "7d", "30d", "90d")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A customer's rolling aggregates right after one transaction was applied.

    `asof_ms` is the customer's event-time watermark (latest event time seen), which is the
    end of every window; `tx_day` is the business-day bucket the transaction itself fell in.
    `prev_event_ms` is the watermark before this transaction (None for the first one) and
    `active_since_ms` the start of the current run of activity: the first transaction after a
    silence of at least the configured dormancy period (or the very first transaction).
    """

    seq: int
    asof_ms: int
    windows: dict[str, WindowStats]
    tx_day: WindowStats
    active_days_90d: int
    prev_event_ms: int | None = None
    active_since_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AppliedTx:
    """The state layer's verdict on one transaction of a batch.

    new: applied now; pend: applied before but its outputs were never committed (redelivery),
    so they are derived again from the stored snapshot; done: already fully processed;
    late: older than the longest window, not applied.
    """

    tx: Transaction
    status: Literal["new", "pend", "done", "late"]
    snapshot: Snapshot | None
    business_day: int


@dataclass(frozen=True, slots=True)
class RecentTx:
    """One entry of the compact per-customer trail of recent transactions (pattern evidence).

    `counterparty` is a short digest ("" when unknown); `local_hour` is the hour of day in the
    bank's timezone; `round_amount` means a multiple of 1,000 in the original currency.
    """

    seq: int
    ts_ms: int
    direction: Direction
    amount_fen: int
    is_cash: bool
    business_day: int
    tx_id: str
    local_hour: int = 12
    cross_border: bool = False
    high_risk_country: bool = False
    round_amount: bool = False
    counterparty: str = ""
    currency: str = "CNY"
    amount: str = ""  # the original amount in `currency` (evidence and per-currency report totals)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of an explanation: a factor's points and the evidence that earned them."""

    group: str
    factor: str
    points: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group, "factor": self.factor, "points": self.points, "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class HardRule:
    """A rule that sets a minimum level regardless of the score (e.g. a sanctions-list hit)."""

    rule: str
    min_level: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "min_level": self.min_level}


@dataclass(frozen=True, slots=True)
class Assessment:
    """A customer's score, its level and the contributions that sum to the score.

    `level` is the score's level raised to the highest minimum any applicable hard rule sets.
    """

    score: float
    level: str
    contributions: tuple[Contribution, ...]
    hard_rules: tuple[HardRule, ...] = ()


@dataclass(frozen=True, slots=True)
class PatternHit:
    """A suspicious pattern found for one customer at one transaction."""

    pattern: str
    key: str  # what makes one hit distinct from another (e.g. the business date)
    window_start_ms: int
    window_end_ms: int
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    tx_ids: tuple[str, ...]
    severity: str
