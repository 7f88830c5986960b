"""Exposure measurements (与高风险客户的往来金额): what the customer stage's exposure factor
(`factors.catalog.exposure`) scores, measured by the network stage at an edge.

At an edge copy whose counterparty is a customer that is high-risk as of the edge's event time
(`suspicious` or `prohibited`; a listed customer is `prohibited`), the copy's own account being a
customer that is not high-risk itself: the CNY exchanged (both directions) within `window_days`
before the edge with every counterparty that is high-risk as of the edge, and how many such
counterparties. Event time only: the same edges and risk changes give the same measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

from factors.model import ExposureMeasurement
from factors.network.graph import DAY_MS, NetworkView
from factors.patterns.high_risk_exposure import risk_since


@dataclass(frozen=True, slots=True)
class Exposure:
    customer_id: str
    measurement: ExposureMeasurement
    counterparties: tuple[tuple[str, str | None], ...]  # (party id, customer id) of the high-risk counterparties
    tx_ids: tuple[str, ...]


def measure_exposure(view: NetworkView, window_days: int = 90) -> Exposure | None:
    own = view.account
    other = view.anchor.payee if view.copy == "payer" else view.anchor.payer
    me = view.customer(own)
    if me is None or risk_since(view, view.customer(other)) is None or risk_since(view, me) is not None:
        return None
    a = view.of(own)
    start = view.anchor.ts_ms - window_days * DAY_MS
    total, parties, tx_ids = 0, set(), []
    high: dict[str, bool] = {}
    for h in [*a.ins_within(start, view.end), *a.outs_within(start, view.end)]:
        cp = h.payer if h.payee == own else h.payee
        if cp not in high:
            high[cp] = risk_since(view, view.customer(cp)) is not None
        if high[cp]:
            total += h.amount_fen
            parties.add(cp)
            tx_ids.extend(t for t in h.tx_ids if t not in tx_ids)
    if not total:
        return None
    named = tuple((p, view.customer(p)) for p in sorted(parties))
    return Exposure(me, ExposureMeasurement(view.anchor.ts_ms, total, len(parties), window_days), named, tuple(tx_ids))
