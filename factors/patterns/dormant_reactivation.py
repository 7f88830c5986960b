"""Dormant account reactivation (长期睡眠账户突然启用): a long-silent account suddenly moves a lot.

An account that was idle for a long time and then, without an evident reason, starts receiving
and paying large sums within a short time is a classic sign of a bought, rented or taken-over
account (a mule, 买卖账户). The worker marks the start of the current run of activity in
`snapshot.active_since_ms` when the run began after a silence of at least the configured
dormancy period (None otherwise); this rule decides whether the run is a burst:

    within `burst_days` of the reactivation (active_since_ms <= tx time < active_since_ms +
    burst_days), the transactions since the reactivation number at least `min_count` or amount
    (in and out together) to at least `min_amount_cny`.

Activity since the reactivation is counted from the trail (entries at or after active_since_ms)
and, when the reactivation lies within 7 days of the watermark, also from the "7d" window (which
then holds nothing from before the silence); both are lower bounds of the true figure (the trail
keeps at least 72 hours, the window starts at a business-day boundary), so the larger one is used.

Defaults: min_count 5, min_amount_cny 100,000, burst_days 7: five transactions, or CNY 100,000,
in the first week after waking up. A dormant account that is used again now and then stays quiet.

Fires once per reactivation: on the transaction that makes the activity reach a threshold (reached
with it, not without it), and not at all when `view.detections` shows this pattern already
detected at or after active_since_ms (the same run). That guard matters when neither lower bound
sees the start of the run: a run whose first day falls just outside the 7 business days and beyond
the trail. Key: the reactivation date (UTC date of active_since_ms), so one reactivation gives one
alert. A profile update (no transaction) does not fire.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, field_validator

from factors.calendar import iso_date
from factors.config import Count, PatternParams
from factors.model import PatternHit
from factors.money import yuan
from factors.thresholds import CnyThreshold, Relative, resolve, thresholds
from factors.view import CustomerView

ID = "dormant_reactivation"
MAX_TX_IDS = 100
DAY_MS = 86_400_000
WINDOW = "7d"
WINDOW_DAYS = 7


class Params(PatternParams):
    dormant_days: Annotated[int, Field(ge=1, le=3_650)] = 180
    """Silence, in days, that makes an account dormant (applied by the Redis script when it marks a reactivation)."""
    min_count: Count = 5
    """Transactions since the reactivation, at least (either this ..."""
    min_amount_cny: CnyThreshold = 100_000.0
    """... or this much money, in and out together, CNY); relative: a quantile of the group's 7-day turnover (`sum_7d`), no own multiple."""
    burst_days: Annotated[float, Field(gt=0, le=90)] = 7.0
    """Only activity reached within this many days of the reactivation counts."""

    @field_validator("min_amount_cny")
    @classmethod
    def _no_own_history(cls, value: float | Relative) -> float | Relative:
        if isinstance(value, Relative) and value.own_multiple is not None:
            raise ValueError("own_multiple is not available here: a dormant account has no recent history of its own (use quantile)")
        return value


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    since = view.snapshot.active_since_ms
    if tx is None or since is None:
        return None
    min_count = params.min_count
    burst_ms = round(params.burst_days * DAY_MS)
    if not since <= tx.ts_ms < since + burst_ms:
        return None
    last = view.detections.get(ID)
    if last is not None and last >= since:
        return None  # already detected during this run of activity
    amount_line = resolve(params.min_amount_cny, "sum_7d", view)
    min_amount_fen = amount_line.minimum

    run = [r for r in view.recent if r.ts_ms >= since and r.tx_id != tx.tx_id]
    own_in = tx.amount_fen if tx.direction == "in" else 0
    # Activity before this transaction: (count, amount, in) from the trail, and from the window when
    # it holds nothing from before the silence. Both are lower bounds; the larger is kept.
    sources = [(len(run), sum(r.amount_fen for r in run), sum(r.amount_fen for r in run if r.direction == "in"))]
    if since >= view.snapshot.asof_ms - WINDOW_DAYS * DAY_MS:
        w = view.snapshot.windows[WINDOW]
        sources.append((w.count - 1, w.sum_fen - tx.amount_fen, w.in_fen - own_in))
    count_before = max(s[0] for s in sources)
    amount_before, in_before = max((s[1], s[2]) for s in sources)

    def reached(count: int, amount_fen: int) -> bool:
        return count >= min_count or amount_fen >= min_amount_fen

    count, amount, in_fen = count_before + 1, amount_before + tx.amount_fen, in_before + own_in
    if not reached(count, amount) or reached(count_before, amount_before):
        return None
    evidence = sorted([*((r.ts_ms, r.seq, r.tx_id) for r in run), (tx.ts_ms, view.snapshot.seq, tx.tx_id)])
    prev = view.snapshot.prev_event_ms
    return PatternHit(
        pattern=ID,
        key=iso_date(since // DAY_MS),
        window_start_ms=since,
        window_end_ms=evidence[-1][0],
        metrics={
            "reactivated_at": datetime.fromtimestamp(since / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "days_since_reactivation": round((tx.ts_ms - since) / DAY_MS, 2),
            "silence_days": round((since - prev) / DAY_MS, 1) if tx.ts_ms == since and prev is not None else None,
            "tx_count": count,
            "amount_cny": yuan(amount),
            "in_cny": yuan(in_fen),
            "out_cny": yuan(amount - in_fen),
        },
        thresholds=thresholds({"min_count": min_count, "min_amount_cny": (amount_line, "cny")}, burst_days=burst_ms / DAY_MS),
        tx_ids=tuple(e[2] for e in evidence[-MAX_TX_IDS:]),
        tx_ids_truncated=len(evidence) > MAX_TX_IDS or len(evidence) < count,
        severity=params.severity,
    )
