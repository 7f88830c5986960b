"""Structuring (拆分交易, smurfing): cash split into amounts just under the large-value threshold.

Cash deposits and withdrawals of CNY 50,000 or more are large-value transactions (大额现金交易,
PBoC Order [2016] No. 3) and are reported; someone who wants to move more cash unnoticed splits it
into several transactions each just below that line. The rule looks for exactly that shape:

    at least `min_count` cash transactions in the same direction, each with an amount in
    [near_ratio * threshold, threshold), whose event times lie less than `window_hours` apart
    (a half-open window [s, s + window_hours)), and whose total reaches the threshold.

Defaults: threshold CNY 50,000, near_ratio 0.8 (amounts CNY 40,000.00 to 49,999.99), min_count 2,
window_hours 24: two cash deposits of 45,000 within a day fire; 45,000 and 10,000 do not (the small
one is not near the threshold). With these defaults the total follows from the count (2 x 40,000
already exceeds 50,000); it matters when near_ratio is set below 0.5. Directions are kept apart:
a 45,000 deposit and a 45,000 withdrawal do not split one amount (the day's combined cash is the
`same_day_cash` rule's business).

Fires once per episode, on the near-threshold cash transaction that makes the condition true: some
window containing its event time holds with it, and no window containing its event time holds
without it. Windows are placed around the transaction's own event time, so a late arrival is judged
with its event-time neighbours on both sides. The evidence comes from the trail (at least the last
72 hours, which covers the window). Key: direction and the first tx_id of the window that fired.
"""

from __future__ import annotations

import math

from factors.config import Cny, Count, Hours, PatternParams, Share
from factors.model import PatternHit
from factors.money import FEN_PER_YUAN, yuan
from factors.numbers import ratio
from factors.view import CustomerView

ID = "structuring"
MAX_TX_IDS = 100
HOUR_MS = 3_600_000


class Params(PatternParams):
    threshold_cny: Cny = 50_000.0
    """Large-value cash threshold, CNY: each amount stays below it, the total reaches it."""
    near_ratio: Share = 0.8
    """Just under: an amount counts when it is in [near_ratio x threshold, threshold)."""
    min_count: Count = 2
    """At least this many near-threshold cash transactions in one direction ..."""
    window_hours: Hours = 24.0
    """... whose event times lie less than this many hours apart (at most the trail horizon, 72 by default)."""


Leg = tuple[int, int, int, str]  # ts_ms, seq, amount_fen, tx_id


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None or not tx.is_cash:
        return None
    threshold_fen = round(params.threshold_cny * FEN_PER_YUAN)
    near_low = ratio(params.near_ratio) * threshold_fen
    min_count = params.min_count
    window_ms = round(params.window_hours * HOUR_MS)
    if not near_low <= tx.amount_fen < threshold_fen:
        return None

    current: Leg = (tx.ts_ms, view.snapshot.seq, tx.amount_fen, tx.tx_id)
    others: list[Leg] = [
        (r.ts_ms, r.seq, r.amount_fen, r.tx_id)
        for r in view.recent
        if r.tx_id != tx.tx_id and r.is_cash and r.direction == tx.direction and near_low <= r.amount_fen < threshold_fen and abs(r.ts_ms - tx.ts_ms) < window_ms
    ]
    legs = sorted([*others, current])
    # A window [s, s + window) containing the transaction's time holds no leg that the window
    # starting at its first leg (or at the transaction's time, if that leg is later) lacks: so
    # windows starting at those times are the only ones to try, with and without the current leg.
    starts = sorted({leg[0] for leg in legs if leg[0] <= tx.ts_ms})

    def first_window(with_current: bool) -> list[Leg] | None:
        for start in starts:
            group = [leg for leg in legs if start <= leg[0] < start + window_ms and (with_current or leg is not current)]
            if len(group) >= min_count and sum(leg[2] for leg in group) >= threshold_fen:
                return group
        return None

    group = first_window(True)
    if group is None or first_window(False) is not None:
        return None
    total = sum(leg[2] for leg in group)
    return PatternHit(
        pattern=ID,
        key=f"{tx.direction}:{group[0][3]}",
        window_start_ms=group[0][0],
        window_end_ms=group[-1][0],
        metrics={
            "direction": tx.direction,
            "near_threshold_count": len(group),
            "total_cny": yuan(total),
            "largest_cny": yuan(max(leg[2] for leg in group)),
            "smallest_cny": yuan(min(leg[2] for leg in group)),
            "span_hours": round((group[-1][0] - group[0][0]) / HOUR_MS, 2),
        },
        thresholds={
            "threshold_cny": yuan(threshold_fen),
            "near_low_cny": yuan(math.ceil(near_low)),
            "min_count": min_count,
            "window_hours": window_ms / HOUR_MS,
        },
        tx_ids=tuple(leg[3] for leg in group[-MAX_TX_IDS:]),
        tx_ids_truncated=len(group) > MAX_TX_IDS,
        severity=params.severity,
    )
