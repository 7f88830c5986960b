"""Scatter-gather (分散转出、集中转入): money fans out from one source to several intermediaries
and re-converges on one sink, each intermediary forwarding most of what it got.

Anchor: the payee copy of an edge m -> v (v, the sink, owns the evaluation). Within
`window_days`, for every payer m' of v, the edges s -> m' that m' forwarded to v (conserved, within
`max_gap_days`, before the edge to v; both relationships new to m, first seen within the window:
a firm paying its usual supplier out of its usual client's money is no relay) are grouped by
their source s; a source reaching v through
at least `min_intermediaries` distinct accounts, one of them the anchor's payer, is the pattern.
Payroll and family gifts do not come back together to one payee. Source: AMLSim
"scatter-gather"; FATF money-mule typologies. Key: source and sink. Roles: `origin`,
`intermediary`, `sink`.
"""

from __future__ import annotations

from pydantic import Field

from factors.identity import digest
from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, Hop, NetworkHit, NetworkView, all_tx_ids, conserved, parties_of
from factors.network.params import ConservationParams

ID = "scatter_gather"


class Params(ConservationParams):
    window_days: float = Field(15, gt=0, le=90, description="first scatter to the last gather, days")
    min_intermediaries: int = Field(3, ge=2, le=50, description="distinct accounts between source and sink, at least")


DEFAULTS = Params()


def _relayed(view: NetworkView, params: Params, out_hop: Hop, start: int, sources: set[str] | None) -> list[Hop]:
    """The receipts the payer of `out_hop` (m -> sink) forwarded with it: from new payers (of
    `sources` when given), within `max_gap_days` before, conserved; none if m's relationship with
    the sink is not new (an ordinary relationship is no relay) or m is a hub."""
    m, sink = out_hop.payer, out_hop.payee
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    am = view.of(m)
    if out_hop.amount_fen < floor or am.hub:
        return []
    new_from = am.new_since(start, round(params.min_history_days * DAY_MS), view.origin_ms)
    if am.met(sink, out_hop.ts_ms) < new_from:
        return []
    lo = max(start, out_hop.ts_ms - round(params.max_gap_days * DAY_MS))
    return [
        h
        for h in am.ins_within(lo, out_hop.order())
        if h.payer not in (sink, m)
        and (sources is None or h.payer in sources)
        and h.amount_fen >= floor
        and am.met(h.payer, h.ts_ms) >= new_from
        and conserved(h.amount_fen, out_hop.amount_fen, params.min_forward_ratio, params.max_forward_ratio)
    ]


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payee" or view.of(view.anchor.payee).hub:
        return None
    sink, end = view.anchor.payee, view.end
    if view.of(sink).degree < params.min_intermediaries:
        return None  # its payers are among its counterparties: too few (cheaper than the window below)
    start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    into = view.of(sink).ins_within(start, end)
    payers: set[str] = set()
    for h in into:
        payers.add(h.payer)
        if len(payers) >= params.min_intermediaries:
            break
    else:
        return None  # cheap precondition: not enough payers to gather from
    first = _relayed(view, params, view.anchor, start, None)
    if not first:
        return None  # cheap precondition: the anchor's payer relays money from a new payer
    sources = {h.payer for h in first}
    by_source: dict[str, dict[str, list[Hop]]] = {}
    for out_hop in into + ([view.anchor] if view.anchor not in into else []):
        for in_hop in first if out_hop == view.anchor else _relayed(view, params, out_hop, start, sources):
            hops = by_source.setdefault(in_hop.payer, {}).setdefault(out_hop.payer, [])
            hops.extend(h for h in (in_hop, out_hop) if h not in hops)
    best = None
    for source, via in sorted(by_source.items()):
        if len(via) >= params.min_intermediaries and view.anchor.payer in via and (best is None or len(via) > len(best[1])):
            best = (source, via)
    if best is None:
        return None
    source, via = best
    hops = [h for hs in via.values() for h in hs]
    sent = sum(h.amount_fen for h in hops if h.payer == source)
    gathered = sum(h.amount_fen for h in hops if h.payee == sink)
    return NetworkHit(
        pattern=ID,
        key=digest(f"{source}|{sink}", 16),
        window_start_ms=min(h.ts_ms for h in hops),
        window_end_ms=max(h.ts_ms for h in hops),
        metrics={"intermediaries": len(via), "scattered_cny": yuan(sent), "gathered_cny": yuan(gathered), "gathered_ratio": round(gathered / sent, 4) if sent else None},
        thresholds={
            "min_intermediaries": params.min_intermediaries,
            "window_days": params.window_days,
            "min_forward_ratio": params.min_forward_ratio,
            "max_forward_ratio": params.max_forward_ratio,
            "max_gap_days": params.max_gap_days,
            "min_amount_cny": params.min_amount_cny,
        },
        parties=parties_of(view, hops, {source: "origin", sink: "sink", **{m: "intermediary" for m in via}}),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
