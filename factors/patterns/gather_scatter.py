"""Gather-scatter (集中转入、分散转出 through one account): money converges from several sources
on one account, which then fans it out to several sinks, keeping little.

Anchor: the payer copy of an edge u -> w (u owns the evaluation: its in- and out-edges are both
keyed by u, so this rule reads only its own partition's state). Within `window_days`: at least
`min_sources` distinct payers into u and at least `min_sinks` distinct payees out of u after the
first of those receipts, the anchor among the payments; money out between `min_forward_ratio`
and `max_forward_ratio` of money in; and most money out after most money in (median payment not
before median receipt). A business paying suppliers keeps its margin and pays on its own rhythm
(out/in well below the ratio over a fortnight); the existing customer-level fan rules need ten
counterparties and CNY 100,000, this one follows small sets. Source: AMLSim "gather-scatter";
FATF money-mule typologies. Key: the account and its first receipt. Roles: `source`, `collector`,
`sink`.
"""

from __future__ import annotations

from statistics import median_low

from pydantic import Field

from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import ConservationParams

ID = "gather_scatter"


class Params(ConservationParams):
    min_sources: int = Field(3, ge=2, le=50, description="distinct payers into the account, at least")
    min_sinks: int = Field(3, ge=2, le=50, description="distinct payees of the account after the first receipt, at least")
    max_forward_ratio: float = Field(1.05, ge=1, le=2, description="money out at most this multiple of money in")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payer":
        return None
    account, end = view.anchor.payer, view.end
    a = view.of(account)
    if a.hub or view.customer(account) is None:
        return None
    start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    ins = [h for h in a.ins_within(start, end) if h.amount_fen >= floor and h.payer != account]
    if len({h.payer for h in ins}) < params.min_sources:
        return None
    first_in = ins[0].ts_ms
    outs = [h for h in a.outs_within(first_in, end) if h.amount_fen >= floor]
    if view.anchor not in outs:
        outs.append(view.anchor)
    sinks = {h.payee for h in outs}
    if len(sinks) < params.min_sinks:
        return None
    fen_in, fen_out = sum(h.amount_fen for h in ins), sum(h.amount_fen for h in outs)
    if not params.min_forward_ratio * fen_in <= fen_out <= params.max_forward_ratio * fen_in:
        return None
    if median_low([h.ts_ms for h in outs]) < median_low([h.ts_ms for h in ins]):
        return None
    hops = ins + outs
    roles = {h.payer: "source" for h in ins} | {h.payee: "sink" for h in outs} | {account: "collector"}
    return NetworkHit(
        pattern=ID,
        key=ins[0].edge_id[:16],
        window_start_ms=first_in,
        window_end_ms=view.anchor.ts_ms,
        metrics={
            "sources": len({h.payer for h in ins}),
            "sinks": len(sinks),
            "in_cny": yuan(fen_in),
            "out_cny": yuan(fen_out),
            "out_in_ratio": round(fen_out / fen_in, 4),
        },
        thresholds={
            "min_sources": params.min_sources,
            "min_sinks": params.min_sinks,
            "window_days": params.window_days,
            "min_forward_ratio": params.min_forward_ratio,
            "max_forward_ratio": params.max_forward_ratio,
            "min_amount_cny": params.min_amount_cny,
        },
        parties=parties_of(view, hops, roles),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
