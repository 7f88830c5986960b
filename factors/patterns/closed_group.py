"""Closed group (闭环交易团伙): accounts that start paying each other around a small group.

Anchor: the payee copy of an edge u -> v whose pair is new (v first dealt with u within
`window_days`). The group grows from u and v along *new* relationships (pairs first seen within
the window, no hubs), at most `max_candidates` accounts; members are kept while each both pays
and receives inside the group. Fires when the group has at least `min_members` members and its
distinct paying pairs reach `min_pair_ratio` x its size (each member pays two others on
average: denser than a chain or a ring of payments that happened to meet), or
`min_pair_ratio_shared` x its size when the group also shares a new third party. Households pay
each other too, but sparsely (a family of four that pays within itself a few times a month shows
about 1.5 paying pairs per member over weeks, and its relationships look new to a short history),
along relationships that recur, and share only hubs or long-standing parties (utilities,
landlords); firms with a common supplier pay it, not each other.
Shared third parties (non-members, not hubs, that at least `min_shared_members` members newly
paid or were paid by within the window) are named with role `shared_counterparty`. Source:
AMLSim "bipartite"/"random" groups; FATF circular-payment typologies. Key: the group's first
internal transfer. Parties: members (`member`) and shared third parties, with the group's own
transfers only.
"""

from __future__ import annotations

from pydantic import Field

from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, Hop, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import RuleParams

ID = "closed_group"


class Params(RuleParams):
    window_days: float = Field(45, gt=0, le=90, description="the group's payments all fall within this many days before the anchor")
    min_members: int = Field(4, ge=3, le=30, description="accounts in the group, at least")
    min_pair_ratio: float = Field(2.0, ge=0.5, le=10, description="distinct paying pairs inside the group per member, at least")
    min_pair_ratio_shared: float = Field(1.5, ge=0.5, le=10, description="... at least, when the group also shares a new third party (see min_shared_members)")
    min_amount_cny: float = Field(500, ge=0, description="smaller payments are not group payments")
    max_candidates: int = Field(16, ge=3, le=64, description="accounts examined around the anchor, at most (bounds the search)")
    min_shared_members: int = Field(2, ge=2, le=30, description="members a shared third party deals with, at least")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payee":
        return None
    u, v, end = view.anchor.payer, view.anchor.payee, view.end
    start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    av = view.of(v)
    history = round(params.min_history_days * DAY_MS)
    if av.hub or av.met(u, view.anchor.ts_ms) < av.new_since(start, history, view.origin_ms) or view.of(u).hub:
        return None
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    cache: dict[str, list[Hop]] = {}

    def new_edges(party: str) -> list[Hop]:
        """The party's edges in the window with counterparties it first dealt with in the window."""
        if party not in cache:
            a = view.of(party)
            new_from = a.new_since(start, history, view.origin_ms)
            hops = [h for h in a.ins_within(start, end) if h.amount_fen >= floor and a.met(h.payer, h.ts_ms) >= new_from]
            hops += [h for h in a.outs_within(start, end) if h.amount_fen >= floor and a.met(h.payee, h.ts_ms) >= new_from]
            cache[party] = hops
        return cache[party]

    # cheap precondition: v both pays and receives along new relationships
    ev = new_edges(v)
    if not any(h.payer == v for h in ev):
        return None
    candidates = [u, v]
    i = 0
    while i < len(candidates) and len(candidates) < params.max_candidates:
        for h in new_edges(candidates[i]):
            other = h.payee if h.payer == candidates[i] else h.payer
            if other not in candidates and not view.of(other).hub:
                candidates.append(other)
                if len(candidates) >= params.max_candidates:
                    break
        i += 1
    members = set(candidates)
    internal: set[Hop] = set()
    while True:
        internal = {h for m in members for h in new_edges(m) if h.payer in members and h.payee in members}
        keep = {m for m in members if any(h.payer == m for h in internal) and any(h.payee == m for h in internal)}
        if keep == members:
            break
        members = keep
    if len(members) < params.min_members or u not in members or v not in members:
        return None
    pairs = {(h.payer, h.payee) for h in internal}
    if len(pairs) < min(params.min_pair_ratio, params.min_pair_ratio_shared) * len(members):
        return None
    shared_hops: dict[str, list[Hop]] = {}
    for m in sorted(members):
        for h in new_edges(m):
            other = h.payee if h.payer == m else h.payer
            if other not in members and not view.of(other).hub:
                shared_hops.setdefault(other, []).append(h)
    shared = {p: hs for p, hs in shared_hops.items() if len({h.payer if h.payee == p else h.payee for h in hs}) >= params.min_shared_members}
    if len(pairs) < (params.min_pair_ratio_shared if shared else params.min_pair_ratio) * len(members):
        return None
    group_hops = sorted(internal, key=Hop.order)
    hops = group_hops + [h for hs in shared.values() for h in hs]
    return NetworkHit(
        pattern=ID,
        key=group_hops[0].edge_id[:16],
        window_start_ms=group_hops[0].ts_ms,
        window_end_ms=group_hops[-1].ts_ms,
        metrics={
            "members": len(members),
            "paying_pairs": len(pairs),
            "internal_cny": yuan(sum(h.amount_fen for h in group_hops)),
            "payments": len(group_hops),
            "shared_counterparties": len(shared),
        },
        thresholds={
            "min_members": params.min_members,
            "min_pair_ratio": params.min_pair_ratio,
            "min_pair_ratio_shared": params.min_pair_ratio_shared,
            "window_days": params.window_days,
            "min_amount_cny": params.min_amount_cny,
            "min_shared_members": params.min_shared_members,
        },
        parties=parties_of(view, hops, {**dict.fromkeys(shared, "shared_counterparty"), **dict.fromkeys(members, "member")}),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
