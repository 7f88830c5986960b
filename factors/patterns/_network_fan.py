"""What gather-scatter and the small-set fans report: one pass-through episode (see
`_pass_through`), told apart by its shape (how many sources, how many sinks)."""

from __future__ import annotations

from pydantic import Field

from factors.money import yuan
from factors.network.graph import NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.patterns._pass_through import Episode, PassParams, episode


class ShapeParams(PassParams):
    min_sources: int = Field(1, ge=1, le=50, description="distinct new payers of the episode, at least")
    max_sources: int = Field(1000, ge=1, description="... at most")
    min_sinks: int = Field(1, ge=1, le=50, description="distinct new payees of the episode, at least")
    max_sinks: int = Field(1000, ge=1, description="... at most")


def detect_shape(pattern: str, view: NetworkView, params: ShapeParams, severity: str, roles: tuple[str, str, str]) -> NetworkHit | None:
    """The episode completed by the anchor, if its shape fits; fires when it first fits and again
    only when it gains parties (the engine suppresses the same parties under the same key)."""
    ep: Episode | None = episode(view, params)
    if ep is None:
        return None
    k, m = len(ep.sources), len(ep.sinks)
    if not (params.min_sources <= k <= params.max_sources and params.min_sinks <= m <= params.max_sinks):
        return None
    source_role, account_role, sink_role = roles
    hops = [*ep.ins, *ep.outs]
    role_of = {h.payer: source_role for h in ep.ins} | {h.payee: sink_role for h in ep.outs} | {ep.account: account_role}
    return NetworkHit(
        pattern=pattern,
        key=ep.outs[0].edge_id[:16],  # the first payment: stays as the episode gains earlier sources and later sinks
        case="pass_through",
        window_start_ms=ep.ins[0].ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={"sources": k, "sinks": m, "in_cny": yuan(ep.fen_in), "out_cny": yuan(ep.fen_out), "out_in_ratio": round(ep.fen_out / ep.fen_in, 4)},
        thresholds={
            "min_sources": params.min_sources,
            "max_sources": params.max_sources,
            "min_sinks": params.min_sinks,
            "max_sinks": params.max_sinks,
            "window_days": params.window_days,
            "min_forward_ratio": params.min_forward_ratio,
            "max_forward_ratio": params.max_forward_ratio,
            "min_amount_cny": params.min_amount_cny,
        },
        parties=parties_of(view, hops, role_of),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
