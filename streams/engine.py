"""One batch, end to end and independent of Kafka: decode -> aggregate -> rate -> events.

The worker, `amlstream replay` and `amlstream rescore-all` all drive this class, so what is
tested and measured is what runs. Delivery is the caller's job: emit `BatchResult.events`, wait
for the acks, then `commit(result)`, then commit the input offsets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal

import orjson

from factors.calendar import BusinessCalendar, fine_bucket
from factors.identity import canonical_counterparty
from factors.large_value import foreign_amounts
from factors.model import Transaction
from factors.network.edges import edge_messages, leg_edge, retraction
from factors.postings import may_be_own, posting
from factors.profile import PeerBaseline, peer_group
from factors.rating import CustomerOutcome, RatedItem, Rater, Withdrawal
from streams import events
from streams.checkpoints import batch_offsets, checkpoint_key
from streams.decode import decode_network_event, decode_profile, decode_transaction
from streams.errors import DecodeError
from streams.events import OutputEvent, Source
from streams.model import Model
from streams.state import CustomerBatch, CustomerCommit, StateStore, level_shard_key
from streams.state.accounts import AccountChange, profile_accounts, resolve_counterparties
from streams.state.accounts import record as record_accounts
from streams.state.peers import peer_key, sample_moves
from streams.state.store import (
    DeletionItem,
    Item,
    ItemResult,
    NetworkItem,
    OtherItem,
    PeekItem,
    ProfileItem,
    ReversalItem,
    TxItem,
    account_digest,
    counterparty_digest,
    new_token,
    pending_id,
)

OUTCOME_BY_STATUS = {
    "new": "applied",
    "pend": "redelivered",
    "done": "duplicate",
    "late": "dead_letter",
    "stale": "stale_profile",
    "peek": "rescored",
    "own": "own_account",  # a move between the customer's own accounts: no flow
    "bank": "bank_posting",  # fees and interest: the bank's, not the customer's behaviour
    "reversed": "reversed_on_arrival",  # its reversal came first
    "orphan": "awaiting_original",  # a reversal kept until its original arrives
    "twice": "dead_letter",  # a reversal of a leg already reversed
    "unmatched": "dead_letter",  # a reversal that cannot be matched exactly
    "differs": "dead_letter",  # a reversal of another amount than its original's
    "chain": "dead_letter",  # a reversal or correction of a reversal
    "nosuch": "dead_letter",  # a reversal dated by original_ts whose day holds no such leg
}
DIFFERS = "its amount or currency is not the original's (a reversal undoes the whole leg; post a partial one as a correction)"
UNMATCHED = {
    "twice": "the leg it reverses or corrects was already reversed or corrected (or another reversal or correction of it waits for it)",
    "unmatched": "its original is older than the recent-transaction trail and it gives no original_ts (a correction needs its original in the trail: "
    "post a reversal with original_ts and a new leg instead)",
    "differs": DIFFERS,
    "chain": "it names a reversal, which cannot itself be undone: post the leg again as a new payment",
    "nosuch": "its original is older than the recent-transaction trail, and the day of its original_ts holds no leg it could undo "
    "(such a reversal is posted against the original's direction, with its amount and method)",
}
DEFAULT_MAX_SKEW_MS = 86_400_000
YIELD_EVERY = 8  # customers rated between two turns of the event loop


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
    token: str = field(default_factory=new_token)  # the batch's token in the state layer (see StateStore.apply)
    event_times: dict[int, int] = field(default_factory=dict)  # input partition -> latest transaction event time
    inputs: int = 0  # input messages of the batch (set by the processor)
    started: float = 0.0  # perf_counter when its processing started (set by the processor)
    # (customer, tx_id) -> the customer of the bank holding the leg's counterparty account
    counterparty_customers: dict[tuple[str, str], str | None] = field(default_factory=dict)
    account_changes: list[AccountChange] = field(default_factory=list)  # profiles whose accounts the directory must learn
    # customer -> the rating state this batch commits: the next batch, prepared while this one is
    # in delivery, is rated on top of these (its own, so a failed attempt of the next cannot touch them)
    states: dict[str, dict] = field(default_factory=dict)

    def commit_token(self) -> str:
        """The token of this batch's commit guard (StateStore.commit): the same for every retry of
        its commit, different for different batches; 24 hex.

        A batch with checkpoints (the worker) is named by its input: a digest of its sorted
        (topic, partition, last offset) and the latest event time per input partition. Kafka
        offsets name one record each, so two batches share it only if they end at the same
        records, which is a redelivery of the same input after a crash or a rebalance. That must
        count nothing the first attempt counted: its customers whose `commit_batch` ran find their
        items committed (`done`: no level move, no peer statistics again); the others rate them
        again from the same committed state and so give the same increments as the first attempt,
        which its guard (if that ran: then, on a single Redis, every commit_batch before it ran too)
        has counted. A redelivery cut differently gets another token and counts what it finds
        uncommitted, once. A batch without checkpoints (replay, rescore-all, tests) is named by its
        random `token`, distinct per batch and kept by every retry of its commit (the retry runs on
        this same BatchResult).

        Covered: retries of the commit after Redis ran part or all of its pipeline (within
        StateStore.guard_ttl_s: 5 minutes plus the retry backoff cap), the rerun after NOSCRIPT, and a redelivery ending at
        the same offsets (also on Redis Cluster, where the calls of one commit run in any order).
        Not covered: the pipeline is not atomic, so a crash after some customers' commit_batch ran
        but before the counters loses those customers' increments (their redelivery finds them
        committed); a retry later than the guard's TTL counts again; a topic deleted and recreated
        under the same name within the TTL, while Redis keeps its keys, could repeat a token (the
        event times make that unlikely).
        """
        if not self.checkpoints:
            return self.token
        named = (sorted((t, p, o) for (t, p), o in self.checkpoints.items()), sorted(self.event_times.items()))
        return hashlib.blake2b(orjson.dumps(named), digest_size=12).hexdigest()

    def dead_letter(self, source: Source, code: str, detail: str, model_version: str, customer_id: str | None = None, occurred_ms: int | None = None) -> None:
        self.events.append(events.dead_letter(source, code, detail, model_version, customer_id, occurred_ms))
        self.dead_letters[code] += 1
        self.outcomes["dead_letter"] += 1


def _through(results: tuple[ItemResult, ...]) -> tuple[int, int] | None:
    """(sequence, watermark) of the customer's state after the batch's last applied item."""
    snaps = [r.snapshot for r in results if r.snapshot is not None]
    return (max(s.seq for s in snaps), max(s.asof_ms for s in snaps)) if snaps else None


def counterparty_identity(tx: Transaction) -> str:
    """Who the counterparty is, for counting distinct counterparties; "" when unknown. The
    canonical identity (factors.identity: account, then id, then the normalised name and bank),
    so that one payer written ten ways is one counterparty.

    Card payments have none: a shop is not a relationship, and counting every merchant would
    make ordinary card spending look like fan-out or frequent one-off business."""
    if tx.method == "card":
        return ""
    return canonical_counterparty(tx.counterparty_id, tx.counterparty_account, tx.counterparty_bank, tx.counterparty_name) or ""


def edges_in_event_time(events: list[OutputEvent]) -> None:
    """Put a batch's edge copies in event-time order (time, edge id, payer copy first), in place
    among their own positions in `events`, between retractions: a retraction keeps its place and
    no copy moves across it (it carries the original edge's time but takes effect when the
    reversal is rated; an edge moved behind its own retraction would be stored as retracted and
    never evaluated).

    Why: customers are rated one after the other, so the copies came customer by customer, and an
    account's edges from other customers' legs reached the network stage after its own later
    ones, where they make it run the rules again at those (streams/network/engine.py,
    `_later_views`). Two live `make demo` runs (2026-12-01; their partitions interleave
    differently, so this is indicative): 26,014 such evaluations for the run without this order,
    22,748 with it, each replayed in process from its edge topic."""

    def order(e: OutputEvent) -> tuple[int, str, bool]:
        return (e.value["ts_ms"], e.value["edge_id"], e.value["key_role"] != "payer")

    slots: list[int] = []
    for i in [*range(len(events)), len(events)]:
        barrier = i == len(events) or (events[i].kind == "edge" and "retracted_by" in events[i].value)
        if barrier:
            for j, event in zip(slots, sorted((events[j] for j in slots), key=order), strict=True):
                events[j] = event
            slots = []
        elif events[i].kind == "edge":
            slots.append(i)


class Engine:
    """Runs batches through the state layer and the rater.

    `max_skew_ms` bounds how far a transaction's event time may lie ahead of its reference clock
    (`Source.reference_ms`: the Kafka record's timestamp in the worker, the stream's high-water
    mark in replay); one further ahead is set aside (`future_timestamp`) and never moves state. So
    is a profile whose `updated_at` lies that far ahead (it would make every later update stale).
    """

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
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
        detections_topic: str | None = None,
        emit_edges: bool = False,
        transactions_topic: str = "aml.transactions.v1",
    ) -> None:
        self.record_checkpoints = record_checkpoints
        self.store = store
        self.model = model
        self.profile_topic = profile_topic
        self.max_message_bytes = max_message_bytes
        self.check_keys = check_keys
        self.peers = peers if peers is not None else {}
        self.max_skew_ms = max_skew_ms
        self.detections_topic = detections_topic  # the network stage's events about customers (an input)
        self.emit_edges = emit_edges  # every committed payment leg with a counterparty becomes a payment edge (aml.edges.v1)
        self.transactions_topic = transactions_topic  # whose partitions' event times the sweep follows
        self._profiles: dict = {}  # parsed profiles by (customer, version), shared by the batches' raters

    def _item(self, tx: Transaction, model: Model, src: Source) -> Item:
        """The state layer's item for a leg, by what it is (contract v1.1 `tx_type`): fees and
        interest are the bank's, and a leg to the customer itself is an own-account move: neither
        is a flow of the customer's (the script also recognises a counterparty account among the
        profile's own accounts); reversals and corrections undo an earlier leg; returns count
        apart from the flows; everything else is a payment."""
        calendar = model.calendar
        day = calendar.business_day(tx.ts_ms)
        kind = posting(tx)  # own accounts by number: the state knows them (the account's digest, when it may be one)
        if kind in ("bank", "own"):
            return OtherItem(tx, kind, day)
        flags = ("c" if tx.is_cash else "") + ("x" if tx.cross_border else "")
        if tx.counterparty_country in model.high_risk_countries:
            flags += "h"
        if Decimal(tx.amount) % 1000 == 0:
            flags += "r"  # a round amount in the original currency
        usd, milli = foreign_amounts(tx, model.standard.fx)
        foreign = f"{usd}:{milli}" if tx.currency != "CNY" else ""
        fine, hour = fine_bucket(tx.ts_ms), calendar.local_hour(tx.ts_ms)
        if tx.tx_type in ("reversal", "correction"):
            original = tx.original_ts_ms
            coordinates = {"topic": src.topic, "partition": src.partition, "offset": src.offset, "key": (src.key or b"").decode("utf-8", "replace")}
            source = base64.b64encode(orjson.dumps({**coordinates, "value": base64.b64encode((src.value or b"")[:8192]).decode()})).decode()
            return ReversalItem(
                tx,
                fine,
                day,
                hour,
                flags,
                foreign,
                calendar.business_day(original) if original is not None else None,
                fine_bucket(original) if original is not None else None,
                source,
            )
        if tx.tx_type == "return":
            flags += "t"
        own = account_digest(tx.counterparty_account) if may_be_own(tx, model.standard.large_value.own_bank) else ""
        return TxItem(tx, fine, day, hour, flags, counterparty_digest(counterparty_identity(tx)), foreign, own)

    def _decode(self, records: list[Source], model: Model, result: BatchResult, arrivals: list[Item]) -> tuple[dict[str, list[Item]], dict[int, Source]]:
        """Items per customer in arrival order, and the source of each item (by identity: two
        copies of one tx_id are two items with two sources); `arrivals` gets every item in the
        batch's order."""
        by_customer: dict[str, list[Item]] = {}
        sources: dict[int, Source] = {}
        for src in records:
            key = (src.key or b"") if self.check_keys else None
            try:
                if src.topic == self.profile_topic:
                    if src.value is None:  # a tombstone on the compacted topic: the profile is deleted
                        customer = (src.key or b"").decode("utf-8", "replace")
                        if not customer:
                            raise DecodeError("missing_field", "a tombstone (null value) needs the customer_id as its message key")
                        deletion = DeletionItem(customer, src.reference_ms)
                        sources[id(deletion)] = src
                        by_customer.setdefault(customer, []).append(deletion)
                        arrivals.append(deletion)
                        continue
                    profile = decode_profile(key, src.value, self.max_message_bytes)
                    if src.reference_ms is not None and profile.updated_ms > src.reference_ms + self.max_skew_ms:
                        # a profile dated in the future would make every later update look stale
                        detail = f"updated_at {events.iso(profile.updated_ms)} is {self._ahead(profile.updated_ms, src.reference_ms)}"
                        result.dead_letter(src, "future_timestamp", detail, model.version, profile.customer_id, profile.updated_ms)
                        continue
                    update = ProfileItem(profile, profile.updated_ms)
                    sources[id(update)] = src
                    by_customer.setdefault(profile.customer_id, []).append(update)
                    arrivals.append(update)
                    continue
                if src.topic == self.detections_topic:
                    event = decode_network_event(key, src.value, self.max_message_bytes)
                    detection = NetworkItem(event, model.calendar.business_day(event["occurred_ms"]))
                    sources[id(detection)] = src
                    by_customer.setdefault(event["customer_id"], []).append(detection)
                    continue
                tx = decode_transaction(key, src.value, model.standard.fx, self.max_message_bytes)
            except DecodeError as err:
                result.dead_letter(src, err.code, err.detail, model.version, err.customer_id)
                continue
            if src.reference_ms is not None and tx.ts_ms > src.reference_ms + self.max_skew_ms:
                detail = f"event time {events.iso(tx.ts_ms)} is {self._ahead(tx.ts_ms, src.reference_ms)}"
                result.dead_letter(src, "future_timestamp", detail, model.version, tx.customer_id, tx.ts_ms)
                continue
            if tx.ts_ms > result.event_times.get(src.partition, 0):
                result.event_times[src.partition] = tx.ts_ms
            item = self._item(tx, model, src)
            sources[id(item)] = src
            by_customer.setdefault(tx.customer_id, []).append(item)
            arrivals.append(item)
        return by_customer, sources

    def _ahead(self, at_ms: int, reference_ms: int) -> str:
        ahead_h, allowed_h = (at_ms - reference_ms) / 3_600_000, self.max_skew_ms / 3_600_000
        return f"{ahead_h:,.1f} h ahead of the reference clock {events.iso(reference_ms)} (allowed: {allowed_h:g} h)"

    async def process(self, records: list[Source], delivering: BatchResult | None = None) -> BatchResult:
        """Decode, apply and rate one batch. `delivering`: this worker's previous batch when its
        outputs are still on their way (not committed yet); this one is rated on top of it."""
        model = self.model  # one model for the whole batch, even if a reload swaps it meanwhile
        result = BatchResult()
        if self.record_checkpoints:
            result.checkpoints = {tp: last for tp, (_, last) in batch_offsets(records).items()}
        arrivals: list[Item] = []
        by_customer, sources = self._decode(records, model, result, arrivals)
        if by_customer:
            lookup = None
            if self.emit_edges:
                # the account directory lookup travels beside the first apply call (its answer is
                # needed once the first customers are rated), not one Redis round trip before it
                before = delivering.account_changes if delivering is not None else []
                lookup = asyncio.ensure_future(resolve_counterparties(self.store.redis, arrivals, before))
            try:
                await self._rate(by_customer, sources, model, result, delivering, lookup)
            finally:
                if lookup is not None and not lookup.done():
                    lookup.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await lookup
            if self.emit_edges:
                edges_in_event_time(result.events)
        return result

    async def rescore(self, customer_ids: list[str]) -> BatchResult:
        """Re-rate customers at their current watermark (a new standard: cause `config`)."""
        result = BatchResult()
        await self._rate({c: [PeekItem()] for c in customer_ids}, {}, self.model, result, None)
        return result

    async def _rate(
        self,
        by_customer: dict[str, list[Item]],
        sources: dict[int, Source],
        model: Model,
        result: BatchResult,
        delivering: BatchResult | None,
        lookup: asyncio.Future[dict[tuple[str, str], str | None]] | None = None,
    ) -> None:
        rater = Rater(model.standard, self.peers, self.store.trail_horizon_ms, self.store.trail_max, self._profiles)
        # every batch before the one in delivery is committed: Redis has its states; the one in
        # delivery may not be, so its customers are rated on its states (BatchResult.states). Kept
        # on the batch, not in the engine: an attempt that fails part-way (Redis gone between two
        # calls) and is retried must find them as they were, whatever the attempt rated.
        in_delivery = delivering.token if delivering is not None else None
        newer = delivering.states if delivering is not None else {}
        # customers are rated part by part as their script calls return, while Redis applies the next part
        parts = self.store.apply_parts(by_customer, result.token, in_delivery)
        async with contextlib.aclosing(parts):
            async for applied in parts:
                if lookup is not None:  # the edges of the customers rated below need it
                    result.counterparty_customers = await lookup
                    lookup = None
                for n, (customer_id, batch) in enumerate(applied.items()):
                    if n % YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # let the next call go out (and the delivery in flight move on)
                    committed = newer.get(customer_id, batch.state)
                    self._rate_customer(customer_id, batch, committed, by_customer[customer_id], sources, model, rater, result)

    def _rate_customer(
        self,
        customer_id: str,
        batch: CustomerBatch,
        committed: dict,
        inputs: list[Item],
        sources: dict[int, Source],
        model: Model,
        rater: Rater,
        result: BatchResult,
    ) -> None:
        """Rate one customer's applied items on `committed`, its rating state before the batch;
        its events, commit and statistics go into `result`."""
        mv = model.version
        if batch.error is not None:
            self._failed(customer_id, inputs, sources, f"the customer's state could not be updated ({batch.error})", mv, result)
            return
        items = self._rated_items(customer_id, batch, sources, model, result)
        try:
            outcome = rater.rate(customer_id, committed, batch.trail, items)
        except Exception as exc:  # a defect met by one customer's data must not block the partition
            result.outcomes.subtract(OUTCOME_BY_STATUS[r.status] for r in batch.results)
            reason = f"rating failed ({type(exc).__name__}: {exc}); the transactions are counted in the aggregates"
            self._failed(customer_id, inputs, sources, reason, mv, result)
            pending = tuple(pending_id(r.item) for r in batch.results if r.status in ("new", "pend"))
            result.commits.append(CustomerCommit(customer_id, pending, None, committed, _through(batch.results)))
            result.states[customer_id] = committed
            return
        for late in outcome.late:
            assert late.tx is not None
            self._too_late(sources[late.source], late.tx, customer_id, mv, result)
        result.events.extend(events.risk_change(customer_id, change, mv) for change in outcome.changes)
        result.events.extend(
            events.alert_withdrawn(customer_id, e, mv) if isinstance(e, Withdrawal) else events.suspicious_pattern(customer_id, e, mv) for e in outcome.pattern_events
        )
        result.events.extend(events.large_value_report(customer_id, report, mv) for report in outcome.reports)
        result.stale_profiles += outcome.stale_profiles
        self._peer_statistics(customer_id, committed, outcome, result, model.calendar)
        before_profile, after_profile = committed.get("profile"), outcome.state.get("profile")
        if after_profile != before_profile:  # the account directory follows every profile change
            result.account_changes.append((customer_id, profile_accounts(before_profile), profile_accounts(after_profile)))
        if self.emit_edges:
            self._edges(customer_id, outcome, result)
        if outcome.committed_items or outcome.changes:
            ids = tuple(pending_id(r.item) for r in batch.results if r.status in ("new", "pend"))
            profile_ms = max((r.item.updated_ms for r in batch.results if isinstance(r.item, ProfileItem) and r.status in ("new", "pend")), default=None)
            result.commits.append(CustomerCommit(customer_id, ids, profile_ms, outcome.state, _through(batch.results)))
            result.states[customer_id] = outcome.state
            old, new = committed.get("level"), outcome.state.get("level")
            if new is not None and old != new:
                result.level_moves.append((customer_id, old, new))

    def _rated_items(self, customer_id: str, batch: CustomerBatch, sources: dict[int, Source], model: Model, result: BatchResult) -> list[RatedItem]:
        """What the rater sees of a customer's applied items; the items that are not the
        customer's behaviour (own-account moves, bank postings, reversals kept or refused) are
        counted, and dead-lettered where they must be, here."""
        mv = model.version
        items = []
        for r in batch.results:
            result.outcomes[OUTCOME_BY_STATUS[r.status]] += 1
            item = r.item
            if isinstance(item, TxItem | ReversalItem | OtherItem):
                tx = item.tx
                if result.max_event_ms is None or tx.ts_ms > result.max_event_ms:
                    result.max_event_ms = tx.ts_ms
                if r.status in UNMATCHED:
                    source = sources[id(item)]
                    result.dead_letter(source, "reversal_unmatched", f"{tx.tx_type} of {tx.original_tx_id}: {UNMATCHED[r.status]}", mv, customer_id, tx.ts_ms)
                    result.outcomes["dead_letter"] -= 1  # counted once, by dead_letter()
                elif isinstance(item, OtherItem):
                    if r.status == "late":
                        self._too_late(sources[id(item)], tx, customer_id, mv, result)
                elif r.status in ("new", "pend", "late"):
                    if r.corrected is not None:  # its correction came first: the corrected amount stands
                        tx = replace(tx, amount_fen=r.corrected[0], amount=r.corrected[1])
                    day = item.day
                    if isinstance(item, ReversalItem):  # the day it undid, as the state found it (trail or original_ts)
                        day = r.snapshot.day.business_day if r.snapshot is not None and r.snapshot.day.business_day is not None else item.original_day or item.day
                    items.append(RatedItem(r.status, r.snapshot, tx=tx, business_day=day, event_ms=tx.ts_ms, source=id(item), undid=r.undid))
            elif isinstance(item, NetworkItem):
                if r.status in ("new", "pend"):
                    items.append(RatedItem(r.status, r.snapshot, business_day=item.day, event_ms=item.event["occurred_ms"], network=item.event))
            else:
                snap = r.snapshot
                profile = item.profile if isinstance(item, ProfileItem) else None
                event_ms = profile.updated_ms if profile else (snap.asof_ms if snap else 0)
                if isinstance(item, DeletionItem) and item.at_ms is not None:
                    event_ms = max(event_ms, item.at_ms)  # dated no earlier than its record
                day = model.calendar.business_day(snap.asof_ms if snap and snap.asof_ms else event_ms)
                items.append(RatedItem(r.status, snap, profile=profile, business_day=day, event_ms=event_ms, deletion=isinstance(item, DeletionItem)))
        for record in batch.expired:
            why, what, tx_id, *_, packed = record.split("\t")
            src = orjson.loads(base64.b64decode(packed)) if packed else {}
            value = base64.b64decode(src.get("value", ""))
            source = Source(src.get("topic", ""), src.get("partition", 0), src.get("offset", -1), (src.get("key") or "").encode() or None, value)
            if why == "differs":
                detail = f"{what} {tx_id}: {DIFFERS}"
            else:
                detail = f"{what} {tx_id}: its original never arrived within the late-arrival window ({self.store.retain_days} days)"
            result.dead_letter(source, "reversal_unmatched", detail, mv, customer_id)
        return items

    def _too_late(self, source: Source, tx: Transaction, customer_id: str, model_version: str, result: BatchResult) -> None:
        window = f"{self.store.retain_days} days"
        if tx.tx_type == "reversal" and tx.original_ts_ms is not None:
            detail = (
                f"its original (original_ts {events.iso(tx.original_ts_ms)}) is older than the late-arrival window ({window}) before the customer's "
                "latest event: that day's reports need a manual revision (a manual large_value_report names them)"
            )
        else:
            detail = f"event time {events.iso(tx.ts_ms)} is older than the late-arrival window ({window}) before the customer's latest event"
        result.events.append(events.dead_letter(source, "too_late", detail, model_version, customer_id, tx.ts_ms))
        result.dead_letters["too_late"] += 1

    @staticmethod
    def _failed(customer_id: str, items: list[Item], sources: dict[int, Source], reason: str, model_version: str, result: BatchResult) -> None:
        """Dead-letter every input item of one customer (code `processing_error`: legs of every
        posting kind, profile updates and deletions, network detections); others go on."""
        for item in items:
            source = sources.get(id(item))
            if source is None:  # a re-rating without input (config change): nothing to set aside
                continue
            event_ms = item.tx.ts_ms if isinstance(item, TxItem | OtherItem | ReversalItem) else None
            result.dead_letter(source, "processing_error", reason, model_version, customer_id, event_ms)

    @staticmethod
    def _edges(customer_id: str, outcome: CustomerOutcome, result: BatchResult) -> None:
        """The payment edges of the batch's committed legs (two copies each: keyed by the payer's
        and by the payee's party, so the network stage that owns either account sees it), a
        counterparty account that a customer's profile lists resolved to that customer. A
        redelivered leg gives the same edge again (same edge_id): the network stage keeps it once.
        A reversal of a leg that gave an edge gives that edge's retraction, on the same keys."""
        profile = outcome.state.get("profile") or {}
        group = peer_group(profile.get("kind"), profile.get("industry"))
        for item in outcome.committed_items:
            tx = item.tx
            if tx is None:
                continue
            resolved = result.counterparty_customers.get((customer_id, tx.tx_id))
            if tx.tx_type == "payment":
                edge = leg_edge(tx, counterparty_customer_id=resolved, peer_group=group, occurrence=outcome.occurrences.get(tx.tx_id, 0))
            elif tx.tx_type == "reversal" and tx.tx_id in outcome.reversed_legs:
                original_tx_id, original_ms, k = outcome.reversed_legs[tx.tx_id]
                direction = item.undid.direction if item.undid is not None else ("out" if tx.direction == "in" else "in")
                edge = retraction(tx, original_tx_id, original_ms, direction, counterparty_customer_id=resolved, peer_group=group, occurrence=k)
            else:
                continue
            if edge is not None:
                result.events.extend(OutputEvent("edge", key, value) for key, value in edge_messages(edge, events.iso(edge.ts_ms)))

    @staticmethod
    def _peer_statistics(customer_id: str, before: dict, outcome: CustomerOutcome, result: BatchResult, calendar: BusinessCalendar | None = None) -> None:
        """Counter increments of the customer's peer group for the batch's committed items, and
        of its sample in the group's distributions (streams.state.peers.sample_moves)."""
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
            tx = item.tx
            if tx is None or tx.tx_type not in ("payment", "reversal"):
                continue  # returns and corrections: not a flow of their own (a correction's difference is left out)
            sign = -1 if tx.tx_type == "reversal" else 1  # a reversal takes its original out of its day
            key = peer_key(group, customer_id)
            result.peer_increments.append((key, f"{item.business_day}:n", sign))
            if tx.is_cash:
                result.peer_increments.append((key, f"{item.business_day}:c", sign * tx.amount_fen))
        flows = [i.snapshot for i in outcome.committed_items if i.tx is not None and i.snapshot is not None]
        if flows and calendar is not None:
            snap = max(flows, key=lambda s: s.seq)
            moves, outcome.state["peer_sample"] = sample_moves(outcome.state.get("peer_sample"), group, calendar.business_day(snap.asof_ms), snap)
            result.peer_increments.extend(moves)

    async def commit(self, result: BatchResult) -> None:
        """Store the batch's new rating states once its events are acknowledged downstream."""
        moves = [(level_shard_key(c), old, new) for c, old, new in result.level_moves]
        checkpoints = [(checkpoint_key(topic), str(partition), offset) for (topic, partition), offset in result.checkpoints.items()]
        if result.account_changes:  # before the states: a batch redelivered after a crash here writes them again
            await record_accounts(self.store.redis, result.account_changes)
        await self.store.commit(result.commits, moves, result.peer_increments, checkpoints, result.commit_token())  # summed per counter there
        if result.event_times and self.record_checkpoints:
            await self.store.record_event_times(self.transactions_topic, result.event_times)

    async def sweep(self) -> int:
        """Let go of the aggregates of customers inactive past the longest window (StateStore.sweep),
        at the event time of the slowest input partition."""
        now = await self.store.deployment_event_time(self.transactions_topic)
        if now is None:
            return 0
        return await self.store.sweep(now, self.model.calendar.business_day(now), fine_bucket(now))
