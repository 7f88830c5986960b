"""Output event builders (contract v1.1, see docs/events.md and streams/schemas/).

`event_id` is a digest of the event's content (every field but `emitted_at` and the id itself):
the same input yields the same events and ids in any batching and on any replay, so consumers
deduplicate on it, and two events that say different things never share an id.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from factors.calendar import iso_date
from factors.profile import PeerBaseline
from factors.rating import Alert, Report, RiskChange, Withdrawal

SCHEMA_VERSION = 1
PAYLOAD_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class OutputEvent:
    kind: str  # risk_change | suspicious_pattern | large_value_report | dead_letter | edge | network_detection | peer_baseline
    key: str | None
    value: dict[str, Any]

    def encode(self) -> bytes:
        return orjson.dumps(self.value)


@dataclass(frozen=True, slots=True)
class Source:
    """Where an input message came from (topic, partition, offset), its raw bytes, and the
    reference clock its event time is checked against (the Kafka record timestamp; in replay,
    the line's timestamp or the stream's high-water mark, streams.replay.StreamClock), epoch ms or
    None for no check."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reference_ms: int | None = None


def key_digest(*parts: str) -> str:
    """32 hex characters naming something that several events share (an alert, a report, a detection)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def identify(value: dict[str, Any]) -> dict[str, Any]:
    """Set `event_id` to the digest of everything else the event says (but `emitted_at`)."""
    content = {k: v for k, v in value.items() if k not in ("event_id", "emitted_at")}
    value["event_id"] = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
    return value


DAY_MS = 86_400_000
_DATES: dict[int, str] = {}  # UTC day number -> "YYYY-MM-DD" (events of a stream fall on few days)


def iso(ts_ms: int) -> str:
    """Epoch ms -> RFC 3339 UTC with milliseconds ("2026-08-01T00:13:52.000Z"), as
    `datetime.isoformat(timespec="milliseconds")` writes it, in integer arithmetic: every edge
    and event states its time, and the datetime round trip was 1.5 µs of it."""
    day, ms = divmod(ts_ms, DAY_MS)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) >= 4096:
            _DATES.clear()
        date = _DATES[day] = iso_date(day)
    s, milli = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{date}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def now_iso() -> str:
    # emitted_at is metadata about delivery, the only wall-clock time in an event
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _base(kind: str, customer_id: str | None, occurred_ms: int | None, model_version: str) -> dict[str, Any]:
    return {
        "event_type": kind,
        "schema_version": SCHEMA_VERSION,
        "event_id": "",  # set by identify() once the content is complete
        "customer_id": customer_id,
        "occurred_at": iso(occurred_ms) if occurred_ms is not None else None,
        "emitted_at": now_iso(),
        "model_version": model_version,
    }


def risk_change(customer_id: str, change: RiskChange, model_version: str) -> OutputEvent:
    current = change.current
    value = _base("risk_change", customer_id, change.occurred_ms, model_version)
    value.update(
        previous=change.previous,
        current={"level": current.level, "score": current.score},
        contributions=[c.as_dict() for c in current.contributions],
        hard_rules=[r.as_dict() for r in current.hard_rules],
        cause={"kind": change.cause.kind, "ref": change.cause.ref},
    )
    return OutputEvent("risk_change", customer_id, identify(value))


def suspicious_pattern(customer_id: str, alert: Alert, model_version: str) -> OutputEvent:
    hit, tx = alert.hit, alert.tx
    occurred = tx.ts_ms if tx is not None else alert.occurred_ms
    cause = {"kind": "transaction", "ref": tx.tx_id} if tx is not None else {"kind": alert.cause.kind, "ref": alert.cause.ref} if alert.cause else None
    value = _base("suspicious_pattern", customer_id, occurred, model_version)
    value.update(
        pattern=hit.pattern,
        alert_key=alert.alert_key,
        status="open",
        occurrence=alert.occurrence,
        first_detected_at=iso(alert.first_ms),
        window={"start": iso(hit.window_start_ms), "end": iso(hit.window_end_ms)},
        metrics=hit.metrics,
        thresholds=hit.thresholds,
        tx_ids=list(hit.tx_ids[-100:]),
        tx_ids_truncated=hit.tx_ids_truncated or len(hit.tx_ids) > 100,
        severity=hit.severity,
        cause=cause,
        parties=list(alert.parties),
        role=alert.role,
    )
    return OutputEvent("suspicious_pattern", customer_id, identify(value))


def alert_withdrawn(customer_id: str, withdrawal: Withdrawal, model_version: str) -> OutputEvent:
    """The latest occurrence of an alert no longer stands: the leg that triggered it was reversed."""
    tx = withdrawal.tx
    value = _base("suspicious_pattern", customer_id, tx.ts_ms, model_version)
    value.update(
        pattern=withdrawal.pattern,
        alert_key=withdrawal.alert_key,
        status="withdrawn",
        occurrence=withdrawal.occurrence,
        first_detected_at=iso(withdrawal.first_ms),
        window={"start": iso(tx.ts_ms), "end": iso(tx.ts_ms)},
        metrics={"reversed_tx_id": withdrawal.original_tx_id, "reversal": tx.tx_type},
        thresholds={},
        tx_ids=[withdrawal.original_tx_id, tx.tx_id],
        tx_ids_truncated=False,
        severity=withdrawal.severity,
        cause={"kind": "reversal", "ref": tx.tx_id},
        parties=[],
        role=None,
    )
    return OutputEvent("suspicious_pattern", customer_id, identify(value))


def large_value_report(customer_id: str, report: Report, model_version: str) -> OutputEvent:
    u = report.update
    t = u.totals
    value = _base("large_value_report", customer_id, report.tx.ts_ms, model_version)
    value.update(
        report_key=report.report_key,
        action=u.action,
        revision=u.revision,
        rule_code=u.rule.code,
        direction=u.direction,
        business_date=iso_date(u.business_day),
        total_cny=t.fen / 100,
        totals_by_currency={ccy: milli / 1000 for ccy, milli in t.by_currency},
        usd_equivalent=t.usd_cents / 100,
        tx_ids=list(u.tx_ids),
        tx_ids_truncated=u.tx_ids_truncated,
        tx_count=t.count,
        thresholds={"cny": u.rule.cny, "usd": u.rule.usd},
        cause={"kind": "reversal" if report.tx.tx_type in ("reversal", "correction") else "transaction", "ref": report.tx.tx_id},
    )
    return OutputEvent("large_value_report", customer_id, identify(value))


def peer_baseline(baseline: PeerBaseline, model_version: str) -> OutputEvent:
    """A published peer baseline, as scoring used it (aml.peer-baselines.v1, keyed by
    "<group>|<version>", kept for good: the topic is compacted, one version per key), so that a
    relative threshold an alert names (version, quantile, its value and sample count) can be
    recomputed from the histogram it was taken from long after Redis has moved on."""
    day = baseline.extra.get("as_of_day")
    value = _base("peer_baseline", None, None, model_version)
    value.update(
        group=baseline.group,
        version=baseline.version,
        as_of_date=iso_date(day) if isinstance(day, int) else None,
        customers=baseline.customers,
        avg_cash_fen_30d=baseline.avg_cash_fen_30d,
        avg_count_30d=baseline.avg_count_30d,
        distributions={metric: d.counts() for metric, d in sorted(baseline.distributions.items())},
    )
    return OutputEvent("peer_baseline", f"{baseline.group}|{baseline.version}", identify(value))


def dead_letter(source: Source, code: str, detail: str, model_version: str, customer_id: str | None = None, occurred_ms: int | None = None) -> OutputEvent:
    value = _base("dead_letter", customer_id, occurred_ms, model_version)
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
    identify(value)
    return OutputEvent("dead_letter", source.key.decode("utf-8", "replace") if source.key else None, value)
