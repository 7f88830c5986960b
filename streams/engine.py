"""One batch, end to end and independent of Kafka: decode -> aggregate -> rate -> events.

The worker, `amlstream replay` and `amlstream rescore-all` all drive this class, so what is
tested and measured is what runs. Delivery is the caller's job: emit `BatchResult.events`, wait
for the acks, then `commit(result)`, then commit the input offsets.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from factors.calendar import fine_bucket
from factors.model import Transaction
from factors.profile import PeerBaseline, peer_group
from factors.rating import CustomerOutcome, RatedItem, Rater
from streams import events
from streams.checkpoints import batch_offsets, checkpoint_key
from streams.decode import decode_profile, decode_transaction
from streams.errors import DecodeError
from streams.events import OutputEvent, Source
from streams.model import Model
from streams.state import CustomerCommit, StateStore, level_shard_key
from streams.state.peers import peer_key
from streams.state.store import Item, PeekItem, ProfileItem, TxItem, pending_id

OUTCOME_BY_STATUS = {"new": "applied", "pend": "redelivered", "done": "duplicate", "late": "dead_letter", "stale": "stale_profile", "peek": "rescored"}


@dataclass(slots=True)
class BatchResult:
    events: list[OutputEvent] = field(default_factory=list)
    commits: list[CustomerCommit] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # input messages by outcome
    dead_letters: Counter[str] = field(default_factory=Counter)  # by error_code
    level_moves: list[tuple[str, str | None, str]] = field(default_factory=list)  # customer, from, to
    peer_increments: list[tuple[str, str, int]] = field(default_factory=list)  # (key, field, amount)
    stale_profiles: int = 0
    max_event_ms: int | None = None
    checkpoints: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> last offset


def counterparty_hash(tx: Transaction) -> str:
    """A short stable digest of the counterparty: bounded memory per distinct counterparty.

    Card payments have none: a shop is not a relationship, and counting every merchant would
    make ordinary card spending look like fan-out or frequent one-off business."""
    if tx.method == "card":
        return ""
    ident = tx.counterparty_id or (f"{tx.counterparty_name or ''}|{tx.counterparty_bank or ''}" if tx.counterparty_name else "")
    return hashlib.blake2b(ident.encode(), digest_size=6).hexdigest() if ident else ""


class Engine:
    def __init__(
        self,
        store: StateStore,
        model: Model,
        *,
        profile_topic: str | None = None,
        max_message_bytes: int = 1_048_576,
        check_keys: bool = True,
        peers: dict[str, PeerBaseline] | None = None,
        record_checkpoints: bool = True,
    ) -> None:
        self.record_checkpoints = record_checkpoints
        self.store = store
        self.model = model
        self.profile_topic = profile_topic
        self.max_message_bytes = max_message_bytes
        self.check_keys = check_keys
        self.peers = peers if peers is not None else {}

    def _tx_item(self, tx: Transaction, model: Model) -> TxItem:
        calendar = model.calendar
        flags = ("c" if tx.is_cash else "") + ("x" if tx.cross_border else "")
        if tx.counterparty_country in model.high_risk_countries:
            flags += "h"
        if Decimal(tx.amount) % 1000 == 0:
            flags += "r"  # a round amount in the original currency
        return TxItem(tx, fine_bucket(tx.ts_ms), calendar.business_day(tx.ts_ms), calendar.local_hour(tx.ts_ms), flags, counterparty_hash(tx))

    def _decode(self, records: list[Source], model: Model, result: BatchResult) -> tuple[dict[str, list[Item]], dict[tuple[str, str], Source]]:
        by_customer: dict[str, list[Item]] = {}
        sources: dict[tuple[str, str], Source] = {}
        for src in records:
            key = (src.key or b"") if self.check_keys else None
            try:
                if src.topic == self.profile_topic:
                    profile = decode_profile(key, src.value, self.max_message_bytes)
                    by_customer.setdefault(profile.customer_id, []).append(ProfileItem(profile, profile.updated_ms))
                    continue
                tx = decode_transaction(key, src.value, model.standard.fx, self.max_message_bytes)
            except DecodeError as err:
                result.events.append(events.dead_letter(src, err.code, err.detail, model.version, err.customer_id))
                result.dead_letters[err.code] += 1
                result.outcomes["dead_letter"] += 1
                continue
            sources[(tx.customer_id, tx.tx_id)] = src
            by_customer.setdefault(tx.customer_id, []).append(self._tx_item(tx, model))
        return by_customer, sources

    async def process(self, records: list[Source]) -> BatchResult:
        model = self.model  # one model for the whole batch, even if a reload swaps it meanwhile
        result = BatchResult()
        if self.record_checkpoints:
            result.checkpoints = {tp: last for tp, (_, last) in batch_offsets(records).items()}
        by_customer, sources = self._decode(records, model, result)
        if by_customer:
            await self._rate(by_customer, sources, model, result)
        return result

    async def rescore(self, customer_ids: list[str]) -> BatchResult:
        """Re-rate customers at their current watermark (a new standard: cause `config`)."""
        result = BatchResult()
        await self._rate({c: [PeekItem()] for c in customer_ids}, {}, self.model, result)
        return result

    async def _rate(self, by_customer: dict[str, list[Item]], sources: dict[tuple[str, str], Source], model: Model, result: BatchResult) -> None:
        mv = model.version
        rater = Rater(model.standard, self.peers, self.store.trail_horizon_ms)
        applied = await self.store.apply(by_customer)
        for customer_id, batch in applied.items():
            items = []
            for r in batch.results:
                result.outcomes[OUTCOME_BY_STATUS[r.status]] += 1
                item = r.item
                if isinstance(item, TxItem):
                    items.append(RatedItem(r.status, r.snapshot, tx=item.tx, business_day=item.day, event_ms=item.tx.ts_ms))
                    if result.max_event_ms is None or item.tx.ts_ms > result.max_event_ms:
                        result.max_event_ms = item.tx.ts_ms
                else:
                    snap = r.snapshot
                    profile = item.profile if isinstance(item, ProfileItem) else None
                    event_ms = profile.updated_ms if profile else (snap.asof_ms if snap else 0)
                    day = model.calendar.business_day(snap.asof_ms if snap and snap.asof_ms else event_ms)
                    items.append(RatedItem(r.status, snap, profile=profile, business_day=day, event_ms=event_ms))
            outcome = rater.rate(customer_id, batch.state, batch.trail, items)
            for tx in outcome.late:
                detail = f"event time {events.iso(tx.ts_ms)} is older than the longest window ({self.store.retain_days} days) before the customer's latest event"
                result.events.append(events.dead_letter(sources[(customer_id, tx.tx_id)], "too_late", detail, mv, customer_id, tx.ts_ms))
                result.dead_letters["too_late"] += 1
            result.events.extend(events.risk_change(customer_id, change, mv) for change in outcome.changes)
            result.events.extend(events.suspicious_pattern(customer_id, alert, mv) for alert in outcome.alerts)
            result.events.extend(events.large_value_report(customer_id, report, mv) for report in outcome.reports)
            result.stale_profiles += outcome.stale_profiles
            self._peer_statistics(customer_id, batch.state, outcome, result)
            if outcome.committed_items or outcome.changes:
                ids = tuple(pending_id(r.item) for r in batch.results if r.status in ("new", "pend"))
                profile_ms = max((r.item.updated_ms for r in batch.results if isinstance(r.item, ProfileItem) and r.status in ("new", "pend")), default=None)
                result.commits.append(CustomerCommit(customer_id, ids, profile_ms, outcome.state))
                old, new = batch.state.get("level"), outcome.state.get("level")
                if new is not None and old != new:
                    result.level_moves.append((customer_id, old, new))

    @staticmethod
    def _peer_statistics(customer_id: str, before: dict, outcome: CustomerOutcome, result: BatchResult) -> None:
        """Counter increments of the customer's peer group for the batch's committed items."""
        group_before = before.get("peer_group")
        profile = outcome.state.get("profile") or {}
        group = peer_group(profile.get("kind"), profile.get("industry"))
        if not outcome.committed_items:
            return
        outcome.state["peer_group"] = group
        if group != group_before:
            result.peer_increments.append((peer_key(group, customer_id), "members", 1))
            if group_before:
                result.peer_increments.append((peer_key(group_before, customer_id), "members", -1))
        for item in outcome.committed_items:
            if item.tx is not None:
                key = peer_key(group, customer_id)
                result.peer_increments.append((key, f"{item.business_day}:n", 1))
                if item.tx.is_cash:
                    result.peer_increments.append((key, f"{item.business_day}:c", item.tx.amount_fen))

    async def commit(self, result: BatchResult) -> None:
        """Store the batch's new rating states once its events are acknowledged downstream."""
        moves = [(level_shard_key(c), old, new) for c, old, new in result.level_moves]
        summed: Counter[tuple[str, str]] = Counter()
        for key, name, amount in result.peer_increments:
            summed[(key, name)] += amount  # one HINCRBY per counter per batch, not per transaction
        checkpoints = [(checkpoint_key(topic), str(partition), offset) for (topic, partition), offset in result.checkpoints.items()]
        await self.store.commit(result.commits, moves, [(k, f, n) for (k, f), n in summed.items() if n], checkpoints)
