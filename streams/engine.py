"""One batch, end to end and independent of Kafka: decode -> aggregate -> rate -> events.

The worker and `amlstream replay` both drive this class, so what is tested and measured is
what runs. Delivery is the caller's job: emit `BatchResult.events`, wait for the acks, then
`commit(result)`, then commit the input offsets.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from factors.calendar import fine_bucket
from factors.model import Transaction
from factors.rating import RiskState, rate_customer
from streams import events
from streams.decode import decode_transaction
from streams.errors import DecodeError
from streams.events import OutputEvent, Source
from streams.model import Model
from streams.state import CustomerCommit, StateStore, level_shard_key


@dataclass(slots=True)
class BatchResult:
    events: list[OutputEvent] = field(default_factory=list)
    commits: list[CustomerCommit] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # transactions by outcome
    dead_letters: Counter[str] = field(default_factory=Counter)  # by error_code
    level_moves: list[tuple[str, str | None, str]] = field(default_factory=list)  # customer, from, to
    max_event_ms: int | None = None


def counterparty_hash(tx: Transaction) -> str:
    """A short stable digest of the counterparty: bounded memory per distinct counterparty."""
    ident = tx.counterparty_id or (f"{tx.counterparty_name or ''}|{tx.counterparty_bank or ''}" if tx.counterparty_name else "")
    return hashlib.blake2b(ident.encode(), digest_size=6).hexdigest() if ident else ""


class Engine:
    def __init__(self, store: StateStore, model: Model, *, max_message_bytes: int = 1_048_576, check_keys: bool = True) -> None:
        self.store = store
        self.model = model
        self.max_message_bytes = max_message_bytes
        self.check_keys = check_keys

    async def process(self, records: list[Source]) -> BatchResult:
        model = self.model  # one model for the whole batch, even if a reload swaps it meanwhile
        mv = model.version
        result = BatchResult()
        by_customer: dict[str, list[tuple[Transaction, int, int, str]]] = {}
        sources: dict[tuple[str, str], Source] = {}
        for src in records:
            key = (src.key or b"") if self.check_keys else None
            try:
                tx = decode_transaction(key, src.value, model.standard.fx, self.max_message_bytes)
            except DecodeError as err:
                result.events.append(events.dead_letter(src, err.code, err.detail, mv, err.customer_id))
                result.dead_letters[err.code] += 1
                result.outcomes["dead_letter"] += 1
                continue
            sources[(tx.customer_id, tx.tx_id)] = src
            day = model.calendar.business_day(tx.ts_ms)
            by_customer.setdefault(tx.customer_id, []).append((tx, fine_bucket(tx.ts_ms), day, counterparty_hash(tx)))
        if not by_customer:
            return result

        applied = await self.store.apply(by_customer)
        for customer_id, batch in applied.items():
            stored = RiskState.from_fields(batch.risk_state)
            outcome = rate_customer(customer_id, stored, batch.profile, batch.trail, batch.applied, model.standard)
            for item in batch.applied:
                result.outcomes[{"new": "applied", "pend": "redelivered", "done": "duplicate", "late": "dead_letter"}[item.status]] += 1
                if result.max_event_ms is None or item.tx.ts_ms > result.max_event_ms:
                    result.max_event_ms = item.tx.ts_ms
            for tx in outcome.late:
                src = sources[(customer_id, tx.tx_id)]
                detail = (
                    f"event time {events.iso(tx.ts_ms)} is older than the longest window ({self.store.retain_days} days) before the customer's latest event"
                )
                result.events.append(events.dead_letter(src, "too_late", detail, mv, customer_id, tx.ts_ms))
                result.dead_letters["too_late"] += 1
            for change in outcome.changes:
                result.events.append(events.risk_change(customer_id, change, mv))
            for tx, hit in outcome.patterns:
                result.events.append(events.suspicious_pattern(customer_id, tx, hit, mv))
            if outcome.commit_tx_ids:
                result.commits.append(CustomerCommit(customer_id, tuple(outcome.commit_tx_ids), outcome.state.to_fields()))
                if outcome.state.level != stored.level:
                    result.level_moves.append((customer_id, stored.level, outcome.state.level))  # type: ignore[arg-type]
        return result

    async def commit(self, result: BatchResult) -> None:
        """Store the batch's new risk states once its events are acknowledged downstream."""
        await self.store.commit(result.commits, [(level_shard_key(c), old, new) for c, old, new in result.level_moves])
