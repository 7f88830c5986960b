"""network_detection events (aml.network-detections.v1), keyed by customer_id: one per customer of
the bank among a detection's parties, each with its own role (see docs/events.md)."""

from __future__ import annotations

from factors.identity import digest
from factors.network.exposure import Exposure
from factors.network.graph import Hop, NetworkHit
from streams.events import OutputEvent, _base, identify, iso, key_digest

KIND = "network_detection"


def party_marks(hit: NetworkHit) -> set[str]:
    """One 8-hex digest per (party, role) of a detection: what its record of emissions keeps, so
    that a report naming no party (in no role) that earlier reports of the episode did not name
    is not emitted again (see NetworkEngine._detect)."""
    return {digest(f"{p.party_id}:{p.role}", 4) for p in hit.parties}


def report_record(marks: set[str], before: tuple[str, int] | None, at_ms: int, retain_ms: int) -> tuple[str, int] | None:
    """The record of an episode's emissions (marks comma-separated, event ms) after a report of
    `marks` anchored at `at_ms`, or None when it is not reported: every party (in its role) was
    named by a report of the episode recorded as `before` within `retain_ms` before the anchor.

    Not only the same set: with edges out of event-time order (partitions in catch-up) the demo of
    2026-12-01 found one closed group at 13 anchors whose party sets alternated, each change a new
    event for each of its customers."""
    if before is not None and before[1] >= at_ms - retain_ms:
        named = set(before[0].split(","))
        if marks <= named:
            return None
        marks, at_ms = marks | named, max(at_ms, before[1])
    return ",".join(sorted(marks)), at_ms


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
