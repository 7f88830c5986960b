"""Layering chain (多层转移): money passed along a chain of accounts, each forwarding most of it.

Anchor: the payee copy of an edge u -> v. Among the backward conserved paths ending with the
anchor's flow (see `network_cycle`), the longest one of at least `min_hops` flows that is not a
cycle, within `window_days` from first to last hop, each flow at least `min_amount_cny`, each
forwarding `min_forward_ratio`..`max_forward_ratio` of what it received within `max_gap_days`.
A salary paid on as rent, or a gift handed down in a family (A -> B -> C, 80-100 % within two
days), keeps part of the money or stops after two hops; three conserved hops in a row are
layering. Source: FATF layering typologies; AMLSim "stack" / chain. Key: the chain's first
transfer, family `path` (a longer chain found later updates the same alert; a chain that
closes into a cycle becomes that cycle's case, and at the closing edge only the cycle is
reported). Parties: the chain's accounts
only. Roles: `origin` (first payer), `layer` (intermediaries), `beneficiary` (last payee).
"""

from __future__ import annotations

from pydantic import Field

from factors.money import yuan
from factors.network.graph import DAY_MS, NetworkHit, NetworkView, all_tx_ids, flow_hops, meshed_path, parties_of
from factors.network.params import ConservationParams
from factors.patterns.network_cycle import search

ID = "layering_chain"


class Params(ConservationParams):
    window_days: float = Field(45, gt=0, le=90, description="first to last hop of the chain, days")
    min_hops: int = Field(3, ge=2, le=8, description="flows in the chain, at least")
    max_hops: int = Field(6, ge=2, le=8, description="flows followed back from the anchor, at most (bounds the search)")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payee" or view.of(view.anchor.payer).hub or view.of(view.anchor.payee).hub:
        return None
    paths = search(view, params)
    if any(path[0].payer == view.anchor.payee and len(path) >= params.min_hops for path in paths):
        return None  # the money came back to where it started: a cycle (network_cycle), not a chain
    best = None
    for path in paths:
        if len(path) < params.min_hops or len(path) > params.max_hops:
            continue
        accounts = {path[0].payer, *(f.payee for f in path)}
        if len(accounts) != len(path) + 1 or meshed_path(view, path):
            continue
        if best is None or (-len(path), path[0].first.order()) < (-len(best), best[0].first.order()):
            best = path
    if best is None:
        return None
    roles = {best[0].payer: "origin", best[-1].payee: "beneficiary", **{f.payee: "layer" for f in best[:-1]}}
    hops = flow_hops(best)
    return NetworkHit(
        pattern=ID,
        key=best[0].first.edge_id[:16],
        case="path",
        window_start_ms=best[0].ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={
            "hops": len(best),
            "start_cny": yuan(best[0].amount_fen),
            "end_cny": yuan(best[-1].amount_fen),
            "kept_ratio": round(best[-1].amount_fen / best[0].amount_fen, 4),
            "duration_days": round((view.anchor.ts_ms - best[0].ts_ms) / DAY_MS, 2),
        },
        thresholds={
            "min_hops": params.min_hops,
            "window_days": params.window_days,
            "min_forward_ratio": params.min_forward_ratio,
            "max_forward_ratio": params.max_forward_ratio,
            "max_gap_days": params.max_gap_days,
            "min_amount_cny": params.min_amount_cny,
        },
        parties=parties_of(view, hops, roles),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
