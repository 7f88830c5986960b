"""network_detection events (aml.network-detections.v1), keyed by customer_id: one per customer of
the bank among a detection's parties, each with its own role (see docs/events.md)."""

from __future__ import annotations

from factors.identity import digest
from factors.network.exposure import Exposure
from factors.network.graph import Hop, NetworkHit
from streams.events import OutputEvent, _base, identify, iso, key_digest

KIND = "network_detection"


def parties_digest(hit: NetworkHit) -> str:
    return digest("|".join(f"{p.party_id}:{p.role}" for p in hit.parties), 8)


def detection_key(hit: NetworkHit) -> str:
    """32 hex: the episode (its pattern, or its family of patterns, and the rule's key), shared by
    every party's event: a layering chain that closes into a cycle, or a fan-in that becomes a
    gather-scatter, stays one case (see `NetworkHit.case`)."""
    return key_digest("network_detection_key", hit.case or hit.pattern, hit.key)


def detection_events(hit: NetworkHit, anchor: Hop, model_version: str) -> list[OutputEvent]:
    """One event per bank customer among the parties (several accounts of one customer: one event,
    the roles joined). `event_id` is the digest of the content, like every event's: a redelivery
    or replay gives the same id; the same episode with more parties, a new one."""
    key = detection_key(hit)
    roles: dict[str, list[str]] = {}
    for p in hit.parties:
        if p.customer_id:
            roles.setdefault(p.customer_id, [])
            if p.role not in roles[p.customer_id]:
                roles[p.customer_id].append(p.role)
    out = []
    for customer_id in sorted(roles):
        value = _base(KIND, customer_id, anchor.ts_ms, model_version)
        value.update(
            kind="detection",
            pattern=hit.pattern,
            detection_key=key,
            role=",".join(roles[customer_id]),
            parties=[p.as_dict() for p in hit.parties],
            window={"start": iso(hit.window_start_ms), "end": iso(hit.window_end_ms)},
            metrics=hit.metrics,
            thresholds=hit.thresholds,
            tx_ids=list(hit.tx_ids[-100:]),
            tx_ids_truncated=len(hit.tx_ids) > 100,
            severity=hit.severity,
            cause={"kind": "edge", "ref": anchor.edge_id},
        )
        out.append(OutputEvent(KIND, customer_id, identify(value)))
    return out


def exposure_event(exposure: Exposure, anchor: Hop, model_version: str) -> OutputEvent:
    """A `network_detection` event of `kind: "exposure"` for the exposed customer: the measurement
    the customer stage's exposure factor scores (see docs/events.md). Content-addressed id."""
    m = exposure.measurement
    value = _base(KIND, exposure.customer_id, anchor.ts_ms, model_version)
    value.update(
        kind="exposure",
        pattern="high_risk_counterparty_exposure",
        exposure={"measured_at": iso(m.measured_ms), "exposure_cny": m.exposure_fen / 100, "counterparties": m.counterparties, "window_days": m.window_days},
        parties=[{"party_id": p, "customer_id": c, "role": "high_risk_party", "tx_ids": []} for p, c in exposure.counterparties],
        tx_ids=list(exposure.tx_ids[-100:]),
        tx_ids_truncated=len(exposure.tx_ids) > 100,
        cause={"kind": "edge", "ref": anchor.edge_id},
    )
    return OutputEvent(KIND, exposure.customer_id, identify(value))
