"""Peer frequency outlier (交易频率超过同类客户平均值的一定倍数).

A customer makes many times more transactions over the "30d" window than an average customer
of the same peer group (customer kind x industry).

Condition, on any transaction, with a published peer baseline of at least `min_peers`
customers::

    count_30d >= max(multiple x peer.avg_count_30d, min_count)

where count_30d is the number of transactions of the "30d" window after this transaction, and
the same was false without it (count_30d - 1). Counts are whole, so the rule fires exactly on
the transaction that brings the count up to the bar; again only after the count fell back
below it and reached it anew. Both sides use the baseline in the view, so a newly published
baseline that lowers the bar raises nothing by itself. Key: the business date of the crossing.

Defaults: multiple 5 (five times the group's average is beyond ordinary variation inside a
peer group); min_count 30 (about one transaction a day: a group that averages two a month
does not make ten a month suspicious); min_peers 20 (a smaller group's average is noise).

Evidence: the 30-day aggregates (window span = the nominal 30 days up to the customer's
watermark) and the transactions of the recent trail within it. A transaction applied out of
order 28 days or more behind the watermark may lie outside the business-day buckets of the
window, so its own contribution is unknown: it never fires.
"""

from __future__ import annotations

import math

from factors.calendar import iso_date
from factors.config import Count, Multiple, PatternParams
from factors.model import PatternHit
from factors.money import yuan
from factors.view import CustomerView

ID = "peer_frequency_outlier"
MAX_TX_IDS = 100
WINDOW = "30d"
WINDOW_MS = 30 * 86_400_000
LATE_MS = 28 * 86_400_000  # this far behind the watermark a transaction may be outside the window


class Params(PatternParams):
    multiple: Multiple = 5.0
    """30-day transaction count at least this multiple of the peer group's average 30-day count ..."""
    min_count: Count = 30
    """... and at least this many transactions over 30 days."""
    min_peers: Count = 20
    """The baseline must average at least this many customers."""


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx, peer = view.tx, view.peer
    if tx is None or peer is None:
        return None
    multiple = params.multiple
    min_count = params.min_count
    min_peers = params.min_peers
    if peer.customers < min_peers or view.snapshot.asof_ms - tx.ts_ms >= LATE_MS:
        return None
    window = view.snapshot.windows[WINDOW]
    after = window.count
    before = after - 1
    bar = max(math.ceil(multiple * peer.avg_count_30d), min_count)  # counts are whole: >= ceil is >= the product
    if not before < bar <= after:
        return None
    start_ms = view.snapshot.asof_ms - WINDOW_MS
    trail = [r for r in view.recent if r.ts_ms > start_ms]
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=start_ms,
        window_end_ms=view.snapshot.asof_ms,
        metrics={
            "count_30d": after,
            "turnover_30d_cny": yuan(window.sum_fen),
            "peer_avg_count_30d": round(peer.avg_count_30d, 2),
            "multiple_observed": round(after / peer.avg_count_30d, 2) if peer.avg_count_30d > 0 else None,
            "peer_group": peer.group,
            "peer_version": peer.version,
            "peer_customers": peer.customers,
        },
        thresholds={"count_30d": bar, "multiple": multiple, "min_count": min_count, "min_peers": min_peers},
        tx_ids=tuple(r.tx_id for r in trail[-MAX_TX_IDS:]),
        tx_ids_truncated=len(trail) > MAX_TX_IDS or len(trail) < window.count,
        severity=params.severity,
    )
