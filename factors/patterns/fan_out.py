"""Fan-out (集中转入、分散转出): money received from one or two sources and spread to many sinks.

The distribution side of a laundering network: a lump arrives and is split among many payees
(mule accounts, fake suppliers, gambling payouts) and the money does not stay. Over the
7-business-day window ("7d" in the snapshot, after this transaction):

    counterparties_out >= min_sinks, counterparties_in <= max_sources, out >= min_out_cny,
    and balance_low <= in / out <= balance_high.

Defaults: min_sinks 10, max_sources 2, min_out_cny 100,000, balance 0.8..1.2 (what went out had
just come in, and not much more came in than went out). The mirror image of `fan_in`. An ordinary
business has several sources (customers), which the source count keeps out; a payroll account (one
employer, many employees) has the same shape, and its monthly rhythm and known profile are for the
analyst to weigh.

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

ID = "fan_out"
MAX_TX_IDS = 100
WINDOW = "7d"
WINDOW_DAYS = 7
DAY_MS = 86_400_000

DEFAULTS: dict[str, Any] = {
    "min_sinks": 10,  # distinct payees in the window, at least
    "max_sources": 2,  # distinct payers in the window, at most
    "min_out_cny": 100_000,  # money out over the window, CNY, at least
    "balance_low": 0.8,  # in / out at least this (the money paid out had come in) ...
    "balance_high": 1.2,  # ... and at most this (not an account that mostly collects)
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
    min_sinks = int(params.get("min_sinks", DEFAULTS["min_sinks"]))
    max_sources = int(params.get("max_sources", DEFAULTS["max_sources"]))
    min_out_fen = round(float(params.get("min_out_cny", DEFAULTS["min_out_cny"])) * FEN_PER_YUAN)
    low = Fraction(str(params.get("balance_low", DEFAULTS["balance_low"])))
    high = Fraction(str(params.get("balance_high", DEFAULTS["balance_high"])))

    def holds(in_fen: int, out_fen: int, sources: int, sinks: int) -> bool:
        return sinks >= min_sinks and sources <= max_sources and out_fen > 0 and out_fen >= min_out_fen and low * out_fen <= in_fen <= high * out_fen

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
            "sinks": w.counterparties_out,
            "sources": w.counterparties_in,
            "out_cny": yuan(w.out_fen),
            "in_cny": yuan(w.in_fen),
            "in_out_ratio": round(w.in_fen / w.out_fen, 4),
            "tx_count": w.count,
        },
        thresholds={
            "min_sinks": min_sinks,
            "max_sources": max_sources,
            "min_out_cny": yuan(min_out_fen),
            "balance_low": float(low),
            "balance_high": float(high),
        },
        tx_ids=tuple(r.tx_id for r in evidence[-MAX_TX_IDS:]),
        severity=setting.severity,
    )
