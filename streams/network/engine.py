"""One batch of edge copies, end to end and independent of Kafka: decode -> store -> detect
(pure) -> detection and exposure events. The network worker and `amlstream network-replay` drive
it; delivery is the caller's job: emit `NetworkBatch.events`, wait for the acks, then `commit`.

The search runs in memory: the store holds the accounts this worker owns (see
`streams.network.state`), and each rule reads the accounts it needs from there. An account a rule
asks for that is not held is read from Redis for the batch and the rules are evaluated again for
that copy (rounds, each one pipelined round trip for the whole batch); on one worker, every
account with an edge is owned and the search reads no Redis at all.

Determinism: a rule sees the graph *as of* its anchor edge (edges no later than the anchor in
(event time, edge id) order), so the outcome does not depend on batch boundaries, nor on a
redelivery, for a stream whose edges arrive in event-time order. Accounts owned by another worker
are read as they are in Redis: an edge written by another partition's worker moments later may be
missed, and the pattern is then found at its next edge instead (see README, "Network detection").
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from zlib import crc32

import orjson

from factors.network.edges import Edge, edge_messages
from factors.network.exposure import measure_exposure
from factors.network.graph import Hop, NetworkHit, NetworkView, Party, Quantiles
from factors.network.rules import Rule, evaluate
from streams import events
from streams.events import OutputEvent, Source
from streams.network.decode import decode_message
from streams.network.events import detection_events, detection_key, exposure_event, parties_digest
from streams.network.state import Applied, GraphStore

SEARCH_ROUNDS = 8  # fetch rounds for accounts not held, at most (one more hop of the longest path per round)


@dataclass(slots=True)
class NetworkBatch:
    events: list[OutputEvent] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # edge copies by outcome
    dead_letters: Counter[str] = field(default_factory=Counter)
    detections: Counter[str] = field(default_factory=Counter)  # by pattern
    done: dict[str, list[str]] = field(default_factory=dict)  # account -> edge ids to mark committed
    emitted: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (detection_key, pattern) -> (parties digest, event ms)
    search_seconds: float = 0.0
    accounts_read: int = 0
    hubs_skipped: int = 0
    exposures: int = 0  # exposure measurements emitted
    max_event_ms: int | None = None


class NetworkEngine:
    def __init__(
        self,
        store: GraphStore,
        rules: tuple[Rule, ...],
        model_version: str,
        *,
        check_keys: bool = True,
        quantiles: dict[str, Quantiles] | None = None,
        risk: dict[str, str] | None = None,
        exposure_window_days: int = 90,
    ) -> None:
        self.store = store
        self.rules = rules
        self.model_version = model_version
        self.check_keys = check_keys
        self.quantiles = quantiles if quantiles is not None else {}
        self.risk = risk if risk is not None else {}  # customer_id -> "level@since_ms" (high-risk customers only)
        self.exposure_window_days = exposure_window_days

    async def process(self, records: list[Source]) -> NetworkBatch:
        """One batch of edge messages (single copies or edge batches): decode (malformed messages
        or copies dead-lettered), then `process_copies`."""
        batch = NetworkBatch()
        copies: list[tuple[Edge, str]] = []
        sources: list[Source] = []
        for src in records:
            good, refused = decode_message(src, self.check_keys)
            for edge, copy, copy_src in good:
                copies.append((edge, copy))
                sources.append(copy_src)
            for bad_src, err in refused:
                batch.events.append(events.dead_letter(bad_src, err.code, err.detail, self.model_version))
                batch.dead_letters[err.code] += 1
                batch.outcomes["dead_letter"] += 1
        return await self.process_copies(copies, sources, batch)

    async def process_copies(self, copies: list[tuple[Edge, str]], sources: list[Source] | None = None, batch: NetworkBatch | None = None) -> NetworkBatch:
        """Decoded edge copies (the replay builds them in process; `sources`: their messages, for
        dead letters, rendered from the copy when not given)."""
        batch = batch if batch is not None else NetworkBatch()
        reads_before = self.store.reads
        applied = await self.store.apply(copies)
        todo: list[Applied] = []
        for n, a in enumerate(applied):
            own = a.edge.party(a.copy)
            if a.status == "late":
                src = sources[n] if sources is not None else _message(a.edge, a.copy)
                detail = f"edge at {events.iso(a.edge.ts_ms)} is older than the retention before the account's latest edge"
                batch.events.append(events.dead_letter(src, "too_late", detail, self.model_version))
                batch.dead_letters["too_late"] += 1
                batch.outcomes["dead_letter"] += 1
                continue
            batch.max_event_ms = max(batch.max_event_ms or 0, a.edge.ts_ms)
            if a.done:
                batch.outcomes["duplicate"] += 1
                continue
            batch.outcomes["applied" if a.status == "new" else "pending"] += 1  # pending: stored before, outputs not yet committed
            batch.done.setdefault(own, []).append(a.edge.edge_id[:16])
            todo.append(a)
        if todo and self.rules:
            started = time.perf_counter()
            await self._detect(todo, batch)
            batch.search_seconds = time.perf_counter() - started
        batch.accounts_read += self.store.reads - reads_before
        self.store.end_batch()
        return batch

    def _view(self, a: Applied) -> NetworkView:
        e = a.edge
        hop = Hop(e.edge_id[:16], a.payer, a.payee, e.ts_ms, e.amount_fen, (e.tx_id,))  # the counterparty as the account knows it
        account = e.party(a.copy)
        held = self.store.view.get(account)
        group = held.peer_group if held else None
        return NetworkView(
            hop,
            a.copy,
            self.store.view,
            self.quantiles.get(group) if group else None,
            self.store.customers,
            self.risk,
            origin_ms=self.store.origin_ms,  # type: ignore[arg-type]
        )

    async def _detect(self, todo: list[Applied], batch: NetworkBatch) -> None:
        found: list[tuple[Applied, NetworkView, list[NetworkHit]]] = []
        pending = list(todo)
        for _ in range(SEARCH_ROUNDS):
            retry: list[Applied] = []
            wanted: set[str] = set()
            for a in pending:
                view = self._view(a)
                account = self.store.view.get(view.account)
                if account is not None and account.hub:
                    batch.hubs_skipped += 1
                    continue
                hits = evaluate(view, self.rules)
                if view.missing:
                    retry.append(a)
                    wanted |= view.missing
                else:
                    found.append((a, view, hits))
            if not retry:
                break
            await self.store.borrow(wanted)
            pending = retry
        else:
            for a in pending:  # bound reached: evaluate with what is held (missing accounts count as empty)
                view = self._view(a)
                found.append((a, view, evaluate(view, self.rules)))
        hits_by_anchor: list[tuple[Hop, list[NetworkHit]]] = []
        emitted = await self.store.emitted(detection_key(hit) for _, _, hits in found for hit in hits)
        for _, view, hits in found:
            kept = []
            for hit in hits:
                record, digest_value = (detection_key(hit), hit.pattern), parties_digest(hit)
                before = batch.emitted.get(record) or emitted.get(record[0], {}).get(hit.pattern)
                if before is not None and before[0] == digest_value and before[1] >= view.anchor.ts_ms - self.store.retain_ms:
                    continue  # this episode with these parties was reported already (by any member's edge) within the retention
                batch.emitted[record] = (digest_value, view.anchor.ts_ms)
                kept.append(hit)
            if kept:
                hits_by_anchor.append((view.anchor, kept))
            if self.risk:
                measured = measure_exposure(view, self.exposure_window_days)
                if measured is not None:
                    batch.events.append(exposure_event(measured, view.anchor, self.model_version))
                    batch.exposures += 1
        unknown = {p.party_id for _, hits in hits_by_anchor for h in hits for p in h.parties if p.customer_id is None and p.party_id.startswith("id:")}
        directory = await self._customers(unknown)
        for hop, hits in hits_by_anchor:
            for hit in hits:
                hit = replace(hit, parties=tuple(p if p.customer_id else Party(p.party_id, directory.get(p.party_id), p.role, p.tx_ids) for p in hit.parties))
                batch.detections[hit.pattern] += 1
                batch.events.extend(detection_events(hit, hop, self.model_version))

    async def _customers(self, parties: set[str]) -> dict[str, str]:
        """Customer ids of accounts not known from the edges seen (meta `c` in Redis), one round trip."""
        parties = {p for p in parties if p not in self.store.customers}
        if not parties:
            return {}
        found = await self.store.read(sorted(parties), 0, 0)
        return {p: a.customer_id for p, a in found.items() if a.customer_id}

    async def commit(self, batch: NetworkBatch) -> None:
        await self.store.commit(batch.done, batch.emitted)


def _message(edge: Edge, copy: str) -> Source:
    """The edge topic message of a copy (for a dead letter of a copy that came decoded)."""
    (payer_key, payer_value), (payee_key, payee_value) = edge_messages(edge, events.iso(edge.ts_ms))
    key, value = (payer_key, payer_value) if copy == "payer" else (payee_key, payee_value)
    return Source("edges", 0, 0, key.encode(), orjson.dumps(value))


def shard(party: str, shards: int = 8) -> int:
    return crc32(party.encode()) % shards
