"""Closed group (闭环交易团伙): accounts that pay each other around a small group within a window.

Anchor: the payee copy of an edge u -> v. The group is u, v and every account that, within
`window_days`, both paid and was paid by accounts among u and v (fetched adjacency; hubs are
never members). Kept when it has at least `min_members` accounts, every member both pays and
receives inside the group, and the group's distinct paying pairs are at least `min_pair_ratio`
times its size (a ring or denser). Money moved inside the group must reach `min_amount_cny` per
edge. Households pay each other too, but in pairs (spouses) or one way (a parent's allowance),
and share only hubs (utilities, landlords with many tenants, which are not members); firms with a
common supplier pay it, not each other. Source: AMLSim "bipartite"/"random" groups; FATF
trade-based and circular-payment typologies. Key: the group's accounts. Roles: `member`.
"""

from __future__ import annotations

from pydantic import Field

from factors.identity import digest
from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, Hop, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import RuleParams

ID = "closed_group"


class Params(RuleParams):
    window_days: float = Field(30, gt=0, le=90, description="the group's payments all fall within this many days before the anchor")
    min_members: int = Field(3, ge=3, le=30, description="accounts in the group, at least")
    min_pair_ratio: float = Field(1.0, ge=0.5, le=10, description="distinct paying pairs inside the group per member, at least")
    min_amount_cny: float = Field(1000, ge=0, description="smaller payments are not group payments")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payee":
        return None
    u, v, end = view.anchor.payer, view.anchor.payee, view.end
    if view.of(u).hub or view.of(v).hub:
        return None
    start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    floor = round(params.min_amount_cny * FEN_PER_YUAN)

    def edges(party: str) -> list[Hop]:
        a = view.of(party)
        hops = [h for h in a.ins_within(start, end) + a.outs_within(start, end) if h.amount_fen >= floor]
        return hops + ([view.anchor] if party in (u, v) and view.anchor not in hops else [])

    candidates = {u, v}
    for core in (u, v):
        for h in edges(core):
            other = h.payee if h.payer == core else h.payer
            if other not in candidates and not view.of(other).hub and other in view.adj:
                candidates.add(other)
    # keep only members that both pay and receive inside the group, until stable
    members = set(candidates)
    internal: set[Hop] = set()
    while True:
        internal = {h for m in members for h in edges(m) if h.payer in members and h.payee in members and h.payer != h.payee}
        keep = {m for m in members if any(h.payer == m for h in internal) and any(h.payee == m for h in internal)}
        if keep == members:
            break
        members = keep
    if len(members) < params.min_members or u not in members or v not in members:
        return None
    pairs = {(h.payer, h.payee) for h in internal}
    if len(pairs) < params.min_pair_ratio * len(members):
        return None
    hops = sorted(internal, key=Hop.order)
    return NetworkHit(
        pattern=ID,
        key=digest("|".join(sorted(members)), 16),
        window_start_ms=hops[0].ts_ms,
        window_end_ms=hops[-1].ts_ms,
        metrics={"members": len(members), "paying_pairs": len(pairs), "internal_cny": yuan(sum(h.amount_fen for h in hops)), "payments": len(hops)},
        thresholds={
            "min_members": params.min_members,
            "min_pair_ratio": params.min_pair_ratio,
            "window_days": params.window_days,
            "min_amount_cny": params.min_amount_cny,
        },
        parties=parties_of(view, hops, {}),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
