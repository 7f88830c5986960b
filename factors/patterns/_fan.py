"""The shape shared by fan-in and fan-out: many counterparties on one side, one or two on the
other, and the money passing through. See `fan_in` and `fan_out` for the typologies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, model_validator

from factors.calendar import iso_date
from factors.config import PatternParams
from factors.model import PatternHit, Transaction
from factors.money import yuan
from factors.numbers import ratio
from factors.thresholds import Line, floor_of, resolve, thresholds
from factors.view import CustomerView

MAX_TX_IDS = 100
WINDOW = "7d"
WINDOW_DAYS = 7
DAY_MS = 86_400_000
NOUN = {"in": "sources", "out": "sinks"}
# the published distributions relative thresholds compare with (factors.distribution)
COUNT_METRIC = {"in": "payers_7d", "out": "payees_7d"}
AMOUNT_METRIC = {"in": "in_7d", "out": "out_7d"}

MaxCount = Annotated[int, Field(ge=0, le=1_000_000)]
Balance = Annotated[float, Field(gt=0, le=100)]


class FanParams(PatternParams):
    """The balance bounds shared by fan-in and fan-out (each module adds its counts and amount)."""

    balance_low: Balance = 0.8
    """The other side's money / the many side's money at least this ..."""
    balance_high: Balance = 1.2
    """... and at most this."""

    @model_validator(mode="after")
    def _bounds_ordered(self) -> FanParams:
        if self.balance_low > self.balance_high:
            raise ValueError("balance_low must not exceed balance_high (the rule could never fire)")
        return self


@dataclass(frozen=True, slots=True)
class Fan:
    id: str
    many: str  # the direction with many counterparties: "in" for fan-in, "out" for fan-out

    @property
    def few(self) -> str:
        return "out" if self.many == "in" else "in"


def _new_counterparty(view: CustomerView, tx: Transaction) -> int:
    """1 if the transaction's counterparty is counted in the window because of it alone (best effort)."""
    horizon = view.snapshot.asof_ms - WINDOW_DAYS * DAY_MS  # counterparties are counted by event time
    if tx.ts_ms <= horizon:
        return 0
    own = next((r for r in view.recent if r.tx_id == tx.tx_id), None)
    if own is None:
        return 1 if tx.counterparty_id else 0
    if not own.counterparty:
        return 0
    seen = any(r.tx_id != tx.tx_id and r.direction == tx.direction and r.counterparty == own.counterparty and r.ts_ms > horizon for r in view.recent)
    return 0 if seen else 1


def _fired_today(view: CustomerView, tx: Transaction, pattern: str) -> bool:
    """Whether this pattern was detected at an earlier transaction of the same business day."""
    last = view.detections.get(pattern)
    if last is None:
        return False
    earlier_today = [r.ts_ms for r in view.recent if r.business_day == view.business_day and r.tx_id != tx.tx_id]
    return bool(earlier_today) and min(earlier_today) <= last <= max(earlier_today)


def detect_fan(fan: Fan, view: CustomerView, params: FanParams) -> PatternHit | None:
    tx = view.tx
    if tx is None:
        return None
    many_noun, few_noun = NOUN[fan.many], NOUN[fan.few]
    many_param, amount_param = getattr(params, f"min_{many_noun}"), getattr(params, f"min_{fan.many}_cny")
    min_many, min_fen = floor_of(many_param, COUNT_METRIC[fan.many]), floor_of(amount_param, AMOUNT_METRIC[fan.many])  # first the floors
    max_few: int = getattr(params, f"max_{few_noun}")
    low, high = ratio(params.balance_low), ratio(params.balance_high)
    # exact bounds in integers: low <= other / many <= high
    low_n, low_d, high_n, high_d = low.numerator, low.denominator, high.numerator, high.denominator

    def holds(fen: dict[str, int], cps: dict[str, int]) -> bool:
        many_fen, other_fen = fen[fan.many], fen[fan.few]
        if cps[fan.many] < min_many or cps[fan.few] > max_few or many_fen <= 0 or many_fen < min_fen:
            return False
        return low_n * many_fen <= other_fen * low_d and other_fen * high_d <= high_n * many_fen

    w = view.snapshot.windows[WINDOW]
    fen = {"in": w.in_fen, "out": w.out_fen}
    cps = {"in": w.counterparties_in, "out": w.counterparties_out}
    if not holds(fen, cps):
        return None
    many_line: Line = resolve(many_param, COUNT_METRIC[fan.many], view)
    amount_line: Line = resolve(amount_param, AMOUNT_METRIC[fan.many], view)
    min_many, min_fen = many_line.minimum, amount_line.minimum  # `holds` reads these from here on
    if not holds(fen, cps):
        return None
    last_day = max([view.business_day, *(r.business_day for r in view.recent)])
    if view.business_day <= last_day - WINDOW_DAYS:
        return None  # a late transaction outside the window changed nothing in it
    before_fen, before_cps = dict(fen), dict(cps)
    before_fen[tx.direction] -= tx.amount_fen
    before_cps[tx.direction] = max(before_cps[tx.direction] - _new_counterparty(view, tx), 0)
    if holds(before_fen, before_cps) or _fired_today(view, tx, fan.id):
        return None

    evidence = [r for r in view.recent if r.business_day > last_day - WINDOW_DAYS]
    return PatternHit(
        pattern=fan.id,
        key=iso_date(view.business_day),
        window_start_ms=min((r.ts_ms for r in evidence), default=tx.ts_ms),
        window_end_ms=max((r.ts_ms for r in evidence), default=tx.ts_ms),
        metrics={
            "window": WINDOW,
            many_noun: cps[fan.many],
            few_noun: cps[fan.few],
            f"{fan.many}_cny": yuan(fen[fan.many]),
            f"{fan.few}_cny": yuan(fen[fan.few]),
            f"{fan.few}_{fan.many}_ratio": round(fen[fan.few] / fen[fan.many], 4),
            "tx_count": w.count,
        },
        thresholds=thresholds(
            {f"min_{many_noun}": (many_line, "count"), f"max_{few_noun}": max_few, f"min_{fan.many}_cny": (amount_line, "cny")},
            balance_low=float(low),
            balance_high=float(high),
        ),
        tx_ids=tuple(r.tx_id for r in evidence[-MAX_TX_IDS:]),
        tx_ids_truncated=len(evidence) > MAX_TX_IDS or len(evidence) < w.count,
        severity=params.severity,
    )
