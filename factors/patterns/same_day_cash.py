"""Same-business-day cash total reaching the threshold (default CNY 50,000, in and out together).

Fires once per customer and business day: on the transaction whose cash takes the day's total
from below the threshold to at or above it, so redelivery or later cash that day adds nothing.
"""

from __future__ import annotations

from factors.calendar import iso_date
from factors.config import Cny, PatternParams
from factors.model import PatternHit
from factors.money import FEN_PER_YUAN, yuan
from factors.view import CustomerView

ID = "same_day_cash"
MAX_TX_IDS = 100


class Params(PatternParams):
    threshold_cny: Cny = 50_000.0
    """Cash in + out of one business day, CNY, that fires the rule when the day's total reaches it."""


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None or not tx.is_cash:
        return None
    threshold_fen = round(params.threshold_cny * FEN_PER_YUAN)
    after = view.snapshot.tx_day.cash_fen
    before = after - tx.amount_fen
    if not before < threshold_fen <= after:
        return None
    day_cash = [r for r in view.recent if r.is_cash and r.business_day == view.business_day]
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=min((r.ts_ms for r in day_cash), default=tx.ts_ms),
        window_end_ms=max((r.ts_ms for r in day_cash), default=tx.ts_ms),
        metrics={
            "business_date": iso_date(view.business_day),
            "cash_total_cny": yuan(after),
            "cash_in_cny": yuan(view.snapshot.tx_day.cash_in_fen),
            "cash_out_cny": yuan(view.snapshot.tx_day.cash_out_fen),
            "cash_tx_count": len(day_cash),
        },
        thresholds={"cash_total_cny": yuan(threshold_fen)},
        tx_ids=tuple(r.tx_id for r in day_cash[-MAX_TX_IDS:]),
        tx_ids_truncated=len(day_cash) > MAX_TX_IDS or sum(r.amount_fen for r in day_cash) < after,
        severity=params.severity,
    )
