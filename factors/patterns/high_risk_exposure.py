"""Exposure to a high-risk customer (与高风险客户的密切往来): a customer of the bank that starts
dealing with a customer rated `suspicious` or above (a listed customer is `prohibited` at once).

Anchor: either copy of an edge between a customer c (the copy's own account) and a counterparty
h that is a customer whose level, as of the anchor's event time, is in `levels` (the network
stage learns levels from aml.risk-changes.v1). Fires when c's transfers with h within
`window_days` number at least `min_transfers` and total at least `min_total_cny`, and the
relationship is new (c first dealt with h less than `window_days` before the anchor, or after h
became high-risk): money that starts flowing to or from a known high-risk customer. A customer's
long-standing relationships (a household) are not new exposure. Key: the pair. Parties: h
(`high_risk_party`) and c (`exposed`), with their transfers in the window. The customer stage
scores the exposure factor from the stage's exposure measurements (`kind: "exposure"`).
"""

from __future__ import annotations

from pydantic import Field

from factors.identity import digest
from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import RuleParams

ID = "high_risk_exposure"
HIGH_LEVELS = ("suspicious", "prohibited")


class Params(RuleParams):
    window_days: float = Field(45, gt=0, le=90, description="transfers with the high-risk customer counted over this many days")
    min_transfers: int = Field(1, ge=1, le=100, description="transfers with it, at least")
    min_total_cny: float = Field(1000, ge=0, description="their total, CNY, at least")
    min_amount_cny: float = Field(0, ge=0, description="smaller transfers are not counted")


DEFAULTS = Params()


def risk_since(view: NetworkView, customer_id: str | None) -> int | None:
    """Since when (event time, ms) the customer has been high-risk as of the anchor, or None."""
    if not customer_id:
        return None
    marker = view.risk.get(customer_id)
    if marker is None:
        return None
    level, _, since = marker.partition("@")
    since_ms = int(since or 0)
    return since_ms if level in HIGH_LEVELS and since_ms <= view.anchor.ts_ms else None


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if not view.risk:
        return None
    own = view.account
    other = view.anchor.payee if view.copy == "payer" else view.anchor.payer
    me, them = view.customer(own), view.customer(other)
    since = risk_since(view, them)
    if me is None or since is None or risk_since(view, me) is not None:
        return None
    a = view.of(own)
    start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    if a.first_seen.get(other, view.anchor.ts_ms) < min(start, since):
        return None  # a long-standing relationship, from before the counterparty became high-risk
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    hops = [h for h in a.ins_within(start, view.end) if h.payer == other] + [h for h in a.outs_within(start, view.end) if h.payee == other]
    hops = [h for h in hops if h.amount_fen >= floor and h.ts_ms >= since]
    total = sum(h.amount_fen for h in hops)
    if len(hops) < params.min_transfers or total < round(params.min_total_cny * FEN_PER_YUAN):
        return None
    return NetworkHit(
        pattern=ID,
        key=digest(f"{own}|{other}", 16),
        window_start_ms=min(h.ts_ms for h in hops),
        window_end_ms=view.anchor.ts_ms,
        metrics={"transfers": len(hops), "total_cny": yuan(total), "counterparty_level": view.risk[them].partition("@")[0]},  # type: ignore[index]
        thresholds={"window_days": params.window_days, "min_transfers": params.min_transfers, "min_total_cny": params.min_total_cny, "levels": list(HIGH_LEVELS)},
        parties=parties_of(view, hops, {other: "high_risk_party", own: "exposed"}),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
