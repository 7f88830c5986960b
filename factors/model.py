"""Typed records the core works on: a transaction leg, the rolling aggregates, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["in", "out"]
Method = Literal["cash", "transfer", "card", "cheque", "remittance", "other"]
Channel = Literal["counter", "atm", "online", "mobile", "pos", "agent", "other"]

TxType = Literal["payment", "reversal", "correction", "return", "fee", "interest"]

METHODS: frozenset[str] = frozenset(("cash", "transfer", "card", "cheque", "remittance", "other"))
TX_TYPES: frozenset[str] = frozenset(("payment", "reversal", "correction", "return", "fee", "interest"))
CHANNELS: frozenset[str] = frozenset(("counter", "atm", "online", "mobile", "pos", "agent", "other"))


# Built for every leg, snapshot and trail entry: slots, not frozen (a frozen dataclass's __init__
# costs about six times as much, measured), hashable and treated as immutable all the same.
@dataclass(slots=True, unsafe_hash=True)
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
    counterparty_account: str | None = None
    tx_type: TxType = "payment"
    original_tx_id: str | None = None  # the leg a reversal, correction or return refers to
    original_ts_ms: int | None = None  # that leg's event time, when the posting system gives it

    @property
    def is_cash(self) -> bool:
        return self.method == "cash"


# The metrics kept per time bucket, in this order, by the Redis script and in snapshots.
BUCKET_METRICS: tuple[str, ...] = ("count", "in_fen", "out_fen", "cash_in_fen", "cash_out_fen", "xb_in_fen", "xb_out_fen", "hr_fen")


@dataclass(slots=True, unsafe_hash=True)
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
    returns: int = 0  # returned payments (counted apart from the flows above)
    returns_fen: int = 0

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

# Positions of a business day's accumulators (the state layer keeps them per day for the whole
# late-arrival window). Per direction: count and CNY fen of all legs, of cash legs, of
# cross-border legs, and of legs both cash and cross-border; high-risk-jurisdiction flows once.
DAY_FIELDS: tuple[str, ...] = (
    "n_in", "fen_in", "n_out", "fen_out",
    "cash_fen_in", "cash_n_in", "cash_fen_out", "cash_n_out",
    "xb_fen_in", "xb_n_in", "xb_fen_out", "xb_n_out",
    "hr_fen",
    "xbcash_fen_in", "xbcash_n_in", "xbcash_fen_out", "xbcash_n_out",
    "ret_n", "ret_fen",
)  # fmt: skip
Category = Literal["C", "D", "X"]  # large-value kinds of leg: cash, domestic non-cash, cross-border non-cash


@dataclass(frozen=True, slots=True)
class CategoryTotals:
    """One kind of leg in one direction on one business day: the figures a large-value report states.

    `fen` is the CNY equivalent of every leg; `cny_fen` the legs denominated in CNY;
    `usd_cents` the USD equivalent of the foreign-currency legs (each leg converted, then
    summed); `by_currency` the original amounts in thousandths of a unit.
    """

    count: int = 0
    fen: int = 0
    cny_fen: int = 0
    usd_cents: int = 0
    by_currency: tuple[tuple[str, int], ...] = ()

    def __add__(self, other: CategoryTotals) -> CategoryTotals:
        merged: dict[str, int] = dict(self.by_currency)
        for ccy, milli in other.by_currency:
            merged[ccy] = merged.get(ccy, 0) + milli
        return CategoryTotals(
            self.count + other.count, self.fen + other.fen, self.cny_fen + other.cny_fen, self.usd_cents + other.usd_cents, tuple(sorted(merged.items()))
        )


@dataclass(slots=True, unsafe_hash=True)
class DayTotals:
    """A customer's accumulators of one business day (exact, kept for the late-arrival window).

    `values` follow DAY_FIELDS; `foreign` maps category + direction ("i"/"o") + ISO 4217 code
    (e.g. "XiUSD") to (count, CNY fen, USD cents, original amount in thousandths).
    """

    values: tuple[int, ...] = (0,) * len(DAY_FIELDS)
    foreign: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    business_day: int | None = field(default=None, compare=False)  # which day, when the state says (days since 1970-01-01, local)

    def get(self, name: str) -> int:
        return self.values[DAY_FIELDS.index(name)]

    def category(self, category: Category, direction: Direction) -> CategoryTotals:
        v = self.values
        o = 0 if direction == "in" else 2  # positions of "out" follow those of "in" by two (DAY_FIELDS)
        if category == "C":
            count, fen = v[5 + o], v[4 + o]
        elif category == "X":
            count, fen = v[9 + o] - v[14 + o], v[8 + o] - v[13 + o]
        else:
            count = v[0 + o] - v[5 + o] - (v[9 + o] - v[14 + o])
            fen = v[1 + o] - v[4 + o] - (v[8 + o] - v[13 + o])
        foreign_fen = usd = 0
        by_currency: dict[str, int] = {}
        if self.foreign:
            prefix = category + ("i" if direction == "in" else "o")
            for key, e in self.foreign.items():
                if key[:2] == prefix:
                    foreign_fen += e[1]
                    usd += e[2]
                    by_currency[key[2:]] = e[3]
        if fen - foreign_fen:
            by_currency["CNY"] = (fen - foreign_fen) * 10  # fen -> thousandths of a yuan
        return CategoryTotals(count, fen, fen - foreign_fen, usd, tuple(sorted(by_currency.items())))

    @property
    def window_stats(self) -> WindowStats:
        v = self.values
        return WindowStats(v[0] + v[2], v[1], v[3], v[4], v[6], v[8], v[10], v[12], returns=v[17], returns_fen=v[18])


EMPTY_DAY = DayTotals()


@dataclass(slots=True, unsafe_hash=True)
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
    day: DayTotals = EMPTY_DAY  # the accumulators of the business day the item fell in


@dataclass(slots=True, unsafe_hash=True)
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
    kind: str = ""  # "" a flow; "t" a return; "v" a reversal and "k" a correction of the leg `ref`
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Undid:
    """The leg a reversal or correction undid, as the customer's state found it: the large-value
    reports of its day are revised for its direction and kind."""

    direction: Direction
    is_cash: bool
    cross_border: bool


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
    # true when tx_ids lists fewer transactions than the figures cover (the trail is bounded to
    # 72 h / 256 legs and the list to 100; window totals never are)
    tx_ids_truncated: bool = False


@dataclass(frozen=True, slots=True)
class ExposureMeasurement:
    """What the network stage measured for one customer at one edge: money exchanged within
    `window_days` with counterparties whose level is at least suspicious or who are listed."""

    measured_ms: int
    exposure_fen: int
    counterparties: int
    window_days: int = 90
