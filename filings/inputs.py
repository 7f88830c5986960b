"""Decode one input message of the filing stage and hand it to the Filer: the same code for the
worker (Kafka records) and `filings render` (file lines)."""

from __future__ import annotations

from typing import Any

from factors.calendar import BusinessCalendar
from factors.money import FxTable
from filings.errors import InvalidInput
from filings.identity import parse_identity
from filings.model import AlertEvent, Decision, Leg, ReportEvent, parse
from filings.service import DeadLetter, Filer
from filings.suspicious import on_decision
from streams.decode import decode_profile, decode_transaction, parse_json, parse_timestamp
from streams.errors import DecodeError

MAX_BYTES = 1_048_576
INPUTS = ("transaction", "profile", "risk_change", "alert", "report", "decision")
# inputs only this stage reads: one that cannot be decoded is dead-lettered here with its own code
INVALID_INPUT = {"decision": "invalid_decision", "report": "invalid_report", "alert": "invalid_alert"}


class Inputs:
    def __init__(self, filer: Filer, fx: FxTable, business: BusinessCalendar, max_bytes: int = MAX_BYTES) -> None:
        self.filer = filer
        self.fx = fx
        self.business = business
        self.max_bytes = max_bytes

    async def apply(self, kind: str, key: bytes | None, value: bytes | None, seq: int, source: dict[str, Any] | None) -> None:
        """Apply one message. Transactions and profiles the customer stage refuses are skipped here
        (it dead-letters them already); inputs only this stage reads are dead-lettered."""
        try:
            await getattr(self, "_" + kind)(key, value, seq, source)
        except InvalidInput as bad:
            self.filer.outcome.dead_letters.append(DeadLetter(bad.code, bad.detail, bad.customer_id, source))
        except DecodeError as bad:
            if kind in INVALID_INPUT:
                self.filer.outcome.dead_letters.append(DeadLetter(INVALID_INPUT[kind], f"{bad.code}: {bad.detail}", bad.customer_id, source))

    async def _transaction(self, key: bytes | None, value: bytes | None, seq: int, source: Any) -> None:
        tx = decode_transaction(key, value, self.fx, self.max_bytes)
        doc = parse_json(value, self.max_bytes)
        await self.filer.on_leg(Leg.of(tx, doc, seq, self.business.business_day(tx.ts_ms)))

    async def _profile(self, key: bytes | None, value: bytes | None, seq: int, source: Any) -> None:
        if value is None:  # a tombstone deletes the profile (and its identity)
            if key:
                await self.filer.on_profile(key.decode("utf-8", "replace"), None)
            return
        profile = decode_profile(key, value, self.max_bytes)
        doc = parse_json(value, self.max_bytes)
        kept: dict[str, Any] = {
            "kind": profile.kind,
            "country": profile.country,
            "occupation": profile.occupation,
            "industry": profile.industry,
            "updated_ms": profile.updated_ms,
            "onboarded_ms": profile.onboarded_ms,
            "accounts": list(profile.accounts),  # own-account moves are not listed in reports
            "identity": None,
        }
        try:
            if doc.get("identity") is not None:
                kept["identity"] = parse_identity(doc["identity"], profile.customer_id, set(self.filer.config.codes.id_types)).model_dump(mode="json")
        finally:
            await self.filer.on_profile(profile.customer_id, kept)  # kept without identity when it is invalid

    async def _risk_change(self, key: bytes | None, value: bytes | None, seq: int, source: Any) -> None:
        doc = parse_json(value, self.max_bytes)
        if doc.get("event_type") == "risk_change" and isinstance(doc.get("customer_id"), str):
            await self.filer.on_risk_change(doc["customer_id"], parse_timestamp(doc.get("occurred_at"), "occurred_at"))

    async def _alert(self, key: bytes | None, value: bytes | None, seq: int, source: Any) -> None:
        alert = parse(AlertEvent, parse_json(value, self.max_bytes), "invalid_alert")
        await self.filer.store.add_alert(alert.alert_key, alert.model_dump(mode="json"))

    async def _report(self, key: bytes | None, value: bytes | None, seq: int, source: Any) -> None:
        event = parse(ReportEvent, parse_json(value, self.max_bytes), "invalid_report")
        await self.filer.on_report(event, source)

    async def _decision(self, key: bytes | None, value: bytes | None, seq: int, source: Any) -> None:
        decision = parse(Decision, parse_json(value, self.max_bytes), "invalid_decision")
        if key is not None and key != decision.customer_id.encode():
            raise InvalidInput("key_mismatch", "message key differs from customer_id", decision.customer_id)
        await on_decision(self.filer, decision, source)
