"""Round amounts (整数金额交易 / 交易金额多为整数).

A run of transactions in round sums (multiples of 1,000 in the original currency): amounts
that are agreed or split rather than owed, typical of structuring, underground banking and
cash couriers.

Condition, over the trail transactions in the `window_hours` (24) up to and including this
transaction (event time in (t - window, t], t = this transaction's time; later entries applied
before it out of order are left out)::

    round_count >= min_count
    and round_count / all_count >= min_share
    and sum(round amounts) >= min_amount_cny

and the same condition was false at the previous transaction (the trail minus its last entry,
its window ending at that entry's time: exactly what this rule saw there). So the rule fires
once per episode, a run of consecutive transactions at which the condition holds, on the
first of them: normally the round transaction that completes the run; again only after the
condition lapsed (old entries left the window, non-round ones diluted the share) and is met
anew. A run sustained by new round payments while old ones leave the window stays one
episode. Key: the business date of the first transaction of the episode. The trail covers at
least 72 hours, so window_hours should not exceed 72.

Defaults: window_hours 24 (one day's activity), min_count 5 (one or two round payments are
everyday life), min_share 0.8 (four in five: the customer deals almost only in round sums),
min_amount_cny 20,000 (keeps round household transfers of a few hundred yuan out).
"""

from __future__ import annotations

from factors.calendar import iso_date
from factors.config import Count, Hours, PatternParams, Share
from factors.model import PatternHit, RecentTx
from factors.money import yuan
from factors.thresholds import CnyThreshold, floor_of, resolve, thresholds
from factors.view import CustomerView

ID = "round_amounts"
MAX_TX_IDS = 100


class Params(PatternParams):
    window_hours: Hours = 24.0
    """Trail window ending at this transaction, hours (at most the trail horizon, 72 by default)."""
    min_count: Count = 5
    """At least this many round-amount transactions in the window ..."""
    min_share: Share = 0.8
    """... and at least this share of all transactions in the window ..."""
    min_amount_cny: CnyThreshold = 20_000.0
    """... and the round-amount transactions totalling at least this, CNY; relative: against the group's daily turnover (`sum_24h`) and its own per window."""


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None or not view.recent or view.recent[-1].tx_id != tx.tx_id:
        return None
    window_ms = round(params.window_hours * 3_600_000)
    min_count = params.min_count
    min_share = params.min_share
    current = view.recent[-1]
    entries = _window(view.recent, current.ts_ms, window_ms)
    if not _holds(entries, min_count, min_share, floor_of(params.min_amount_cny, "sum_24h")):
        return None  # not even the floor: no need to resolve the line
    amount_line = resolve(params.min_amount_cny, "sum_24h", view, span_days=params.window_hours / 24)
    min_amount_fen = amount_line.minimum
    if not _holds(entries, min_count, min_share, min_amount_fen):
        return None
    earlier = view.recent[:-1]
    if earlier and _holds(_window(earlier, earlier[-1].ts_ms, window_ms), min_count, min_share, min_amount_fen):
        return None  # held at the previous transaction already: the episode was reported there
    rounds = [r for r in entries if r.round_amount]
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=min(r.ts_ms for r in rounds),
        window_end_ms=max(r.ts_ms for r in rounds),
        metrics={
            "round_count": len(rounds),
            "tx_count": len(entries),
            "round_share": round(len(rounds) / len(entries), 4),
            "round_total_cny": yuan(sum(r.amount_fen for r in rounds)),
            "window_hours": window_ms / 3_600_000,
        },
        thresholds=thresholds({"min_count": min_count, "min_share": min_share, "min_amount_cny": (amount_line, "cny")}, window_hours=window_ms / 3_600_000),
        tx_ids=tuple(r.tx_id for r in rounds[-MAX_TX_IDS:]),
        tx_ids_truncated=len(rounds) > MAX_TX_IDS,
        severity=params.severity,
    )


def _window(trail: tuple[RecentTx, ...], end_ms: int, window_ms: int) -> list[RecentTx]:
    return [r for r in trail if end_ms - window_ms < r.ts_ms <= end_ms]


def _holds(entries: list[RecentTx], min_count: int, min_share: float, min_amount_fen: int) -> bool:
    rounds = [r for r in entries if r.round_amount]
    if not rounds or len(rounds) < min_count:
        return False
    return len(rounds) / len(entries) >= min_share and sum(r.amount_fen for r in rounds) >= min_amount_fen
