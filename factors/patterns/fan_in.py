"""Fan-in (分散转入、集中转出): money collected from many sources and passed on to one or two sinks.

The collection account of telecom fraud, illegal fund-raising or an underground bank: many
payers, a few payees, and the money does not stay. Over the 7-business-day window ("7d" in the
snapshot, after this transaction):

    counterparties_in >= min_sources, counterparties_out <= max_sinks, in >= min_in_cny,
    and balance_low <= out / in <= balance_high.

Defaults: min_sources 10, max_sinks 2, min_in_cny 100,000, balance 0.8..1.2 (what came in has
largely left again, and no more than came in). A business with many customers and many suppliers
has many sinks too; a salary account has one source; that is what the sink and source counts
keep out.

Fires on the transaction that makes the condition true: it holds with the window as it is and
not with this transaction's contribution taken away (its amount, and its counterparty unless the
trail shows the same counterparty in the same direction within the window already). The trail
covers three of the seven days, so a counterparty last seen earlier may be taken for a new one,
and the condition can also turn false and true again as amounts move the ratio across a bound;
so the rule fires at most once per business day as well: not again when `view.detections` holds
a detection of this pattern at an earlier transaction of the same business day. Key: the
business date. Evidence: the window's transactions still in the trail.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from factors.calendar import iso_date
from factors.model import PatternHit, Transaction
from factors.money import FEN_PER_YUAN, yuan
from factors.standard import PatternSetting
from factors.view import CustomerView

ID = "fan_in"
MAX_TX_IDS = 100
WINDOW = "7d"
WINDOW_DAYS = 7
DAY_MS = 86_400_000

DEFAULTS: dict[str, Any] = {
    "min_sources": 10,  # distinct payers in the window, at least
    "max_sinks": 2,  # distinct payees in the window, at most
    "min_in_cny": 100_000,  # money in over the window, CNY, at least
    "balance_low": 0.8,  # out / in at least this (the money has left) ...
    "balance_high": 1.2,  # ... and at most this (not an account that mostly pays out)
}


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


def _fired_today(view: CustomerView, tx: Transaction) -> bool:
    """Whether this pattern was detected at an earlier transaction of the same business day."""
    last = view.detections.get(ID)
    if last is None:
        return False
    earlier_today = [r.ts_ms for r in view.recent if r.business_day == view.business_day and r.tx_id != tx.tx_id]
    return bool(earlier_today) and min(earlier_today) <= last <= max(earlier_today)


def detect(view: CustomerView, setting: PatternSetting) -> PatternHit | None:
    tx = view.tx
    if tx is None:
        return None
    params = setting.params
    min_sources = int(params.get("min_sources", DEFAULTS["min_sources"]))
    max_sinks = int(params.get("max_sinks", DEFAULTS["max_sinks"]))
    min_in_fen = round(float(params.get("min_in_cny", DEFAULTS["min_in_cny"])) * FEN_PER_YUAN)
    low = Fraction(str(params.get("balance_low", DEFAULTS["balance_low"])))
    high = Fraction(str(params.get("balance_high", DEFAULTS["balance_high"])))

    def holds(in_fen: int, out_fen: int, sources: int, sinks: int) -> bool:
        return sources >= min_sources and sinks <= max_sinks and in_fen > 0 and in_fen >= min_in_fen and low * in_fen <= out_fen <= high * in_fen

    w = view.snapshot.windows[WINDOW]
    if not holds(w.in_fen, w.out_fen, w.counterparties_in, w.counterparties_out):
        return None
    last_day = max([view.business_day, *(r.business_day for r in view.recent)])
    if view.business_day <= last_day - WINDOW_DAYS:
        return None  # a late transaction outside the window changed nothing in it
    new_cp = _new_counterparty(view, tx)
    if tx.direction == "in":
        before = (w.in_fen - tx.amount_fen, w.out_fen, max(w.counterparties_in - new_cp, 0), w.counterparties_out)
    else:
        before = (w.in_fen, w.out_fen - tx.amount_fen, w.counterparties_in, max(w.counterparties_out - new_cp, 0))
    if holds(*before) or _fired_today(view, tx):
        return None

    evidence = [r for r in view.recent if r.business_day > last_day - WINDOW_DAYS]
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=min((r.ts_ms for r in evidence), default=tx.ts_ms),
        window_end_ms=max((r.ts_ms for r in evidence), default=tx.ts_ms),
        metrics={
            "window": WINDOW,
            "sources": w.counterparties_in,
            "sinks": w.counterparties_out,
            "in_cny": yuan(w.in_fen),
            "out_cny": yuan(w.out_fen),
            "out_in_ratio": round(w.out_fen / w.in_fen, 4),
            "tx_count": w.count,
        },
        thresholds={
            "min_sources": min_sources,
            "max_sinks": max_sinks,
            "min_in_cny": yuan(min_in_fen),
            "balance_low": float(low),
            "balance_high": float(high),
        },
        tx_ids=tuple(r.tx_id for r in evidence[-MAX_TX_IDS:]),
        severity=setting.severity,
    )
