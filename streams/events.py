"""Output event builders (contract v1, see docs/events.md and streams/schemas/).

`event_id` is derived from what caused the event, never from time or position in a batch, so
replaying the same input yields the same ids and consumers can deduplicate on it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from factors.calendar import iso_date
from factors.rating import Alert, Report, RiskChange

SCHEMA_VERSION = 1
PAYLOAD_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class OutputEvent:
    kind: str  # risk_change | suspicious_pattern | large_value_report | dead_letter
    key: str | None
    value: dict[str, Any]

    def encode(self) -> bytes:
        return orjson.dumps(self.value)


@dataclass(frozen=True, slots=True)
class Source:
    """Where an input message came from (topic, partition, offset) and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def event_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    # emitted_at is metadata about delivery, the only wall-clock time in an event
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _base(kind: str, eid: str, customer_id: str | None, occurred_ms: int | None, model_version: str) -> dict[str, Any]:
    return {
        "event_type": kind,
        "schema_version": SCHEMA_VERSION,
        "event_id": eid,
        "customer_id": customer_id,
        "occurred_at": iso(occurred_ms) if occurred_ms is not None else None,
        "emitted_at": now_iso(),
        "model_version": model_version,
    }


def risk_change(customer_id: str, change: RiskChange, model_version: str) -> OutputEvent:
    current = change.current
    eid = event_id("risk_change", customer_id, change.cause.kind, change.cause.ref, current.level, str(change.occurred_ms))
    value = _base("risk_change", eid, customer_id, change.occurred_ms, model_version)
    value.update(
        previous=change.previous,
        current={"level": current.level, "score": current.score},
        contributions=[c.as_dict() for c in current.contributions],
        hard_rules=[r.as_dict() for r in current.hard_rules],
        cause={"kind": change.cause.kind, "ref": change.cause.ref},
    )
    return OutputEvent("risk_change", customer_id, value)


def suspicious_pattern(customer_id: str, alert: Alert, model_version: str) -> OutputEvent:
    hit, tx = alert.hit, alert.tx
    eid = event_id("suspicious_pattern", customer_id, alert.alert_key, str(alert.occurrence))
    value = _base("suspicious_pattern", eid, customer_id, tx.ts_ms, model_version)
    value.update(
        pattern=hit.pattern,
        alert_key=alert.alert_key,
        occurrence=alert.occurrence,
        first_detected_at=iso(alert.first_ms),
        window={"start": iso(hit.window_start_ms), "end": iso(hit.window_end_ms)},
        metrics=hit.metrics,
        thresholds=hit.thresholds,
        tx_ids=list(hit.tx_ids[-100:]),
        severity=hit.severity,
        cause={"kind": "transaction", "ref": tx.tx_id},
    )
    return OutputEvent("suspicious_pattern", customer_id, value)


def large_value_report(customer_id: str, report: Report, model_version: str) -> OutputEvent:
    u = report.update
    eid = event_id("large_value_report", report.report_key, str(u.revision))
    value = _base("large_value_report", eid, customer_id, report.tx.ts_ms, model_version)
    value.update(
        report_key=report.report_key,
        revision=u.revision,
        rule_code=u.rule.code,
        direction=u.direction,
        business_date=iso_date(u.business_day),
        total_cny=u.total_fen / 100,
        totals_by_currency={ccy: float(amount) for ccy, amount in sorted(u.by_currency.items())},
        tx_ids=list(u.tx_ids),
        tx_count=u.tx_count,
        thresholds={"cny": u.rule.cny, "usd": u.rule.usd},
        cause={"kind": "transaction", "ref": report.tx.tx_id},
    )
    return OutputEvent("large_value_report", customer_id, value)


def dead_letter(source: Source, code: str, detail: str, model_version: str, customer_id: str | None = None, occurred_ms: int | None = None) -> OutputEvent:
    eid = event_id("dead_letter", source.topic, str(source.partition), str(source.offset), code)
    value = _base("dead_letter", eid, customer_id, occurred_ms, model_version)
    raw = source.value or b""
    truncated = len(raw) > PAYLOAD_CAP
    capped = raw[:PAYLOAD_CAP]
    try:
        payload, encoding = capped.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(capped).decode(), "base64"
    value.update(
        source={"topic": source.topic, "partition": source.partition, "offset": source.offset},
        key=source.key.decode("utf-8", "replace") if source.key is not None else None,
        payload=payload,
        payload_encoding=encoding,
        payload_truncated=truncated,
        payload_bytes=len(raw),
        error_code=code,
        error_detail=detail[:1000],
    )
    return OutputEvent("dead_letter", source.key.decode("utf-8", "replace") if source.key else None, value)
