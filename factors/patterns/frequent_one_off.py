"""Frequent one-off business (频繁办理一次性金融业务).

Many transactions in a period, nearly each with a different counterparty that does not come
back: the shape of a customer who lends an account to a stream of strangers, or runs
one-time payments for others, rather than dealing with a stable set of partners.

Condition, on any transaction, over the snapshot window `window` ("30d")::

    count >= min_count  and  (counterparties_in + counterparties_out) / count >= distinct_ratio

counterparties_in/out are the distinct known counterparties of each direction in the window
(transactions with an unknown counterparty count in `count` but add no counterparty, so they
lower the ratio). Whether this transaction's counterparty is new to the window cannot be told
from the aggregates (the trail covers 72 hours, the window 30 days), so the "without this
transaction" side is unknown: the rule fires at most once per business day instead. Its key
is the business date, so every hit of one day is the same event and alert; and when
`view.detections` records a detection of this rule earlier the same business day (at an
earlier transaction of that day in the trail), it stays silent. While the condition holds the
rule is raised again on the next business day with activity.

Defaults: window "30d", min_count 20 (a few transactions with new counterparties are normal;
twenty in a month is a habit), distinct_ratio 0.8 (four of five transactions with a
counterparty seen only that once in the window; regular payees and employers pull it down).

Evidence: the window's aggregates (span = the nominal window up to the customer's watermark)
and the trail transactions in it whose counterparty occurs only once in the trail.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import model_validator

from factors.calendar import iso_date
from factors.config import PatternParams, Share
from factors.model import PatternHit
from factors.money import yuan
from factors.thresholds import CountThreshold, Relative, floor_of, resolve, thresholds
from factors.view import CustomerView

ID = "frequent_one_off"
MAX_TX_IDS = 100
RELATIVE_WINDOW = "30d"
WINDOW_MS = {"1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, "90d": 90 * 86_400_000}


class Params(PatternParams):
    window: Literal["1h", "24h", "7d", "30d", "90d"] = "30d"
    """The snapshot window counted."""
    min_count: CountThreshold = 20
    """At least this many transactions in the window; relative (window "30d" only): against the group's 30-day count (`count_30d`) and the customer's own."""
    distinct_ratio: Share = 0.8
    """(distinct counterparties in + out) / transactions in the window, at least."""

    @model_validator(mode="after")
    def _relative_needs_30d(self) -> Params:
        if isinstance(self.min_count, Relative) and self.window != RELATIVE_WINDOW:
            raise ValueError(f'a relative min_count needs window = "{RELATIVE_WINDOW}" (the published distribution is of 30-day counts)')
        return self


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None:
        return None
    window_name = params.window
    distinct_ratio = params.distinct_ratio
    window = view.snapshot.windows[window_name]
    if window.count <= 0 or window.count < floor_of(params.min_count, "count_30d"):
        return None  # not even the floor: no need to resolve the line
    count_line = resolve(params.min_count, "count_30d", view)
    min_count = count_line.minimum
    if window.count < min_count:
        return None
    distinct = window.counterparties_in + window.counterparties_out
    ratio = distinct / window.count
    if ratio < distinct_ratio or _detected_earlier_today(view):
        return None
    start_ms = view.snapshot.asof_ms - WINDOW_MS[window_name]
    trail = [r for r in view.recent if r.ts_ms > start_ms]
    seen = Counter((r.direction, r.counterparty) for r in trail if r.counterparty)
    one_off = [r for r in trail if r.counterparty and seen[(r.direction, r.counterparty)] == 1]
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=start_ms,
        window_end_ms=view.snapshot.asof_ms,
        metrics={
            "business_date": iso_date(view.business_day),
            "window": window_name,
            "tx_count": window.count,
            "counterparties_in": window.counterparties_in,
            "counterparties_out": window.counterparties_out,
            "distinct_ratio": round(ratio, 4),
            "turnover_cny": yuan(window.sum_fen),
            "recent_one_off_count": len(one_off),
        },
        thresholds=thresholds({"window": window_name, "min_count": (count_line, "count"), "distinct_ratio": distinct_ratio}),
        tx_ids=tuple(r.tx_id for r in one_off[-MAX_TX_IDS:]),
        tx_ids_truncated=len(one_off) > MAX_TX_IDS or len(trail) < window.count,
        severity=params.severity,
    )


def _detected_earlier_today(view: CustomerView) -> bool:
    """The last detection lies before this transaction and not before one of today's earlier ones.

    Business days follow event time, so a detection time between a transaction of this business
    day and this transaction is this business day. A detection at or after this transaction's
    own time (e.g. recorded for this very transaction before a redelivery) does not count.
    """
    last = view.detections.get(ID)
    if last is None or view.tx is None or last >= view.tx.ts_ms:
        return False
    return any(r.business_day == view.business_day and r.ts_ms <= last for r in view.recent if r.tx_id != view.tx.tx_id)
