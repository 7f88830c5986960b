"""Cycle (资金回流): money that returns to its origin through other accounts, within a window.

Anchor: the payee copy of an edge u -> v. The backward conserved-path search
(`factors.network.graph.conserved_paths`) gives the paths x1 -> ... -> u -> v ending with the
anchor's flow (a payment split into transfers minutes apart is one flow); a path whose first
payer is v itself is a cycle: v's money went round and came back. Each hop forwards between
`min_forward_ratio` and `max_forward_ratio` of what it received, within `max_gap_days` of
receiving it, the whole cycle within `window_days`, at least `min_hops` hops (two hops, a loan
and its repayment, is ordinary between people: households do it every few months) and every flow
at least `min_amount_cny`. Source: FATF/Egmont typologies of round-tripping and layering;
AMLSim's "cycle" typology. Key: the cycle's first transfer, family `path`: a layering chain
that closes into this cycle is the same case (the same `detection_key`). Parties: exactly the accounts on the cycle, with the cycle's own transfers. Roles:
`origin` (where the money started and returned), `intermediary`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, NetworkHit, NetworkView, all_tx_ids, conserved_paths, flow_hops, meshed_path, parties_of
from factors.network.params import ConservationParams

ID = "network_cycle"


class Params(ConservationParams):
    window_days: float = Field(45, gt=0, le=90, description="first to last hop of the cycle, days")
    min_hops: int = Field(3, ge=2, le=8, description="edges in the cycle, at least")
    max_hops: int = Field(6, ge=2, le=8, description="edges in the cycle, at most (bounds the search)")


DEFAULTS = Params()


_BOUNDS: dict[int, tuple[object, dict[str, Any]]] = {}  # id(params) -> (params, search bounds): the rules ask on every payee copy


def _bounds(p: Any) -> dict[str, Any]:
    """The search bounds of a rule's parameters (frozen models: computed once per model)."""
    known = _BOUNDS.get(id(p))
    if known is not None and known[0] is p:
        return known[1]
    bounds = {
        "window_ms": round(p.window_days * DAY_MS),
        "max_gap_ms": round(p.max_gap_days * DAY_MS),
        "min_ratio": p.min_forward_ratio,
        "max_ratio": p.max_forward_ratio,
        "max_hops": p.max_hops,
        "merge_ms": round(p.merge_minutes * 60_000),
        "floor_fen": round(p.min_amount_cny * FEN_PER_YUAN),
        "history_ms": round(p.min_history_days * DAY_MS),
    }
    if len(_BOUNDS) > 64:  # parameter sets of the standards loaded in this process: a handful
        _BOUNDS.clear()
    _BOUNDS[id(p)] = (p, bounds)
    return bounds


def search(view: NetworkView, params: Params | object) -> list:
    """The shared backward search of the path rules (cached on the view for equal bounds)."""
    return conserved_paths(view, **_bounds(params))


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if view.copy != "payee" or view.of(view.anchor.payer).hub or view.of(view.anchor.payee).hub:
        return None
    best = None
    for path in search(view, params):
        if path[0].payer != view.anchor.payee or not params.min_hops <= len(path) <= params.max_hops or meshed_path(view, path):
            continue
        if best is None or (len(path), path[0].first.order()) < (len(best), best[0].first.order()):
            best = path
    if best is None:
        return None
    origin = view.anchor.payee
    members = sorted({f.payer for f in best})
    hops = flow_hops(best)
    return NetworkHit(
        pattern=ID,
        key=best[0].first.edge_id[:16],
        case="path",
        window_start_ms=best[0].ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={
            "hops": len(best),
            "accounts": len(members),
            "start_cny": yuan(best[0].amount_fen),
            "returned_cny": yuan(best[-1].amount_fen),
            "returned_ratio": round(best[-1].amount_fen / best[0].amount_fen, 4),
            "duration_days": round((view.anchor.ts_ms - best[0].ts_ms) / DAY_MS, 2),
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
        parties=parties_of(view, hops, {origin: "origin", **{p: "intermediary" for p in members if p != origin}}),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
