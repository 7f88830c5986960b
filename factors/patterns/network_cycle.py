"""Cycle (资金回流): money that returns to its origin through other accounts, within a window.

Anchor: the payee copy of an edge u -> v. The stage's backward conserved-path search (see
`factors.network.graph.extend_paths`) gives the paths x1 -> ... -> u -> v ending with the anchor;
a path whose first payer is v itself is a cycle: v's money went round and came back. Each hop
forwards between `min_forward_ratio` and `max_forward_ratio` of what it received, within
`max_gap_days` of receiving it, the whole cycle within `window_days`, at least `min_hops` hops
(two hops, a loan and its repayment, is ordinary between people) and every hop at least
`min_amount_cny`. Source: FATF/Egmont typologies of round-tripping and layering; AMLSim's
"cycle" typology. Key: the cycle's accounts (the same ring found again updates its alert).
Roles: `origin` (where the money started and returned), `intermediary`.
"""

from __future__ import annotations

from pydantic import Field

from factors.identity import digest
from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import ConservationParams

ID = "network_cycle"


class Params(ConservationParams):
    window_days: float = Field(30, gt=0, le=90, description="first to last hop of the cycle, days")
    min_hops: int = Field(3, ge=2, le=8, description="edges in the cycle, at least")
    max_hops: int = Field(6, ge=2, le=8, description="edges in the cycle, at most (bounds the search)")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payee":
        return None
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    best = None
    for path in view.paths:
        if path[0].payer != view.anchor.payee or not params.min_hops <= len(path) <= params.max_hops:
            continue
        if path[0].ts_ms < start or any(h.amount_fen < floor for h in path):
            continue
        if best is None or (len(path), path[0].order()) < (len(best), best[0].order()):
            best = path
    if best is None:
        return None
    origin = view.anchor.payee
    members = sorted({h.payer for h in best})
    return NetworkHit(
        pattern=ID,
        key=digest("|".join(members), 16),
        window_start_ms=best[0].ts_ms,
        window_end_ms=best[-1].ts_ms,
        metrics={
            "hops": len(best),
            "accounts": len(members),
            "start_cny": yuan(best[0].amount_fen),
            "returned_cny": yuan(best[-1].amount_fen),
            "returned_ratio": round(best[-1].amount_fen / best[0].amount_fen, 4),
            "duration_days": round((best[-1].ts_ms - best[0].ts_ms) / DAY_MS, 2),
        },
        thresholds={
            "min_hops": params.min_hops,
            "max_hops": params.max_hops,
            "window_days": params.window_days,
            "min_forward_ratio": params.min_forward_ratio,
            "max_forward_ratio": params.max_forward_ratio,
            "max_gap_days": params.max_gap_days,
            "min_amount_cny": params.min_amount_cny,
        },
        parties=parties_of(view, best, {origin: "origin", **{p: "intermediary" for p in members if p != origin}}),
        tx_ids=all_tx_ids(best),
        severity=severity,
    )
