"""Peer cash outlier (现金交易累计金额超过同类客户平均值的一定倍数).

The cash a customer deposited and withdrew over the "30d" window is a large multiple of what
an average customer of the same peer group (customer kind x industry) moves in cash.

Condition, on a cash transaction, with a published peer baseline of at least `min_peers`
customers::

    cash_30d >= max(multiple x peer.avg_cash_fen_30d, min_cash_cny)

where cash_30d is cash in + cash out of the "30d" window after this transaction, and the same
was false without it (cash_30d minus this transaction's amount). So the rule fires once, on the
cash transaction that takes the customer over the bar, and again only after the 30-day cash
fell back below the bar and crossed it anew. Both sides are compared with the baseline in the
view, so a newly published baseline that lowers the bar raises nothing by itself; the next
crossing does. Key: the business date of the crossing transaction.

Defaults: multiple 5 (five times the group's average is beyond ordinary seasonal or
business-size variation inside a peer group); min_cash_cny 50,000 (the large-cash reporting
amount, so groups with tiny averages do not flag pocket money); min_peers 20 (the average of
a smaller group is too noisy to compare anyone with).

Evidence: the 30-day aggregates (window span = the nominal 30 days up to the customer's
watermark) and the cash transactions of the recent trail within it. A transaction applied out
of order 28 days or more behind the watermark may lie outside the business-day buckets of the
window, so its own contribution is unknown: it never fires.
"""

from __future__ import annotations

import math

from factors.calendar import iso_date
from factors.config import Cny, Count, Multiple, PatternParams
from factors.model import PatternHit
from factors.money import FEN_PER_YUAN, yuan
from factors.view import CustomerView

ID = "peer_cash_outlier"
MAX_TX_IDS = 100
WINDOW = "30d"
WINDOW_MS = 30 * 86_400_000
LATE_MS = 28 * 86_400_000  # this far behind the watermark a transaction may be outside the window


class Params(PatternParams):
    multiple: Multiple = 5.0
    """30-day cash at least this multiple of the peer group's average 30-day cash ..."""
    min_cash_cny: Cny = 50_000.0
    """... and at least this much cash over 30 days, CNY (in + out)."""
    min_peers: Count = 20
    """The baseline must average at least this many customers."""


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx, peer = view.tx, view.peer
    if tx is None or not tx.is_cash or peer is None:
        return None
    multiple = params.multiple
    min_cash_fen = round(params.min_cash_cny * FEN_PER_YUAN)
    min_peers = params.min_peers
    if peer.customers < min_peers or view.snapshot.asof_ms - tx.ts_ms >= LATE_MS:
        return None
    window = view.snapshot.windows[WINDOW]
    after = window.cash_fen
    before = after - tx.amount_fen
    bar_fen = max(math.ceil(multiple * peer.avg_cash_fen_30d), min_cash_fen)  # cash is whole fen: >= ceil is >= the product
    if not before < bar_fen <= after:
        return None
    start_ms = view.snapshot.asof_ms - WINDOW_MS
    cash = [r for r in view.recent if r.is_cash and r.ts_ms > start_ms]
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=start_ms,
        window_end_ms=view.snapshot.asof_ms,
        metrics={
            "cash_30d_cny": yuan(after),
            "cash_in_30d_cny": yuan(window.cash_in_fen),
            "cash_out_30d_cny": yuan(window.cash_out_fen),
            "peer_avg_cash_30d_cny": round(peer.avg_cash_fen_30d / FEN_PER_YUAN, 2),
            "multiple_observed": round(after / peer.avg_cash_fen_30d, 2) if peer.avg_cash_fen_30d > 0 else None,
            "peer_group": peer.group,
            "peer_version": peer.version,
            "peer_customers": peer.customers,
        },
        thresholds={"cash_30d_cny": yuan(bar_fen), "multiple": multiple, "min_cash_cny": yuan(min_cash_fen), "min_peers": min_peers},
        tx_ids=tuple(r.tx_id for r in cash[-MAX_TX_IDS:]),
        tx_ids_truncated=len(cash) > MAX_TX_IDS or sum(r.amount_fen for r in cash) < window.cash_fen,
        severity=params.severity,
    )
