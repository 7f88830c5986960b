"""One batch of edge copies, end to end and independent of Kafka: decode -> store -> detect
(pure) -> detection and exposure events. The network worker and `amlstream network-replay` drive
it; delivery is the caller's job: emit `NetworkBatch.events`, wait for the acks, then `commit`.

The search runs in memory: the store holds the accounts this worker owns (see
`streams.network.state`), and each rule reads the accounts it needs from there. An account a rule
asks for that is not held is read from Redis for the batch and the rules are evaluated again for
that copy (rounds, each one pipelined round trip for the whole batch); on one worker, every
account with an edge is owned and the search reads no Redis at all.

Determinism: a rule sees the graph *as of* its anchor edge: edges no later than the anchor in
(event time, edge id) order, and the accounts as the copies before it in the stream left them (the
batch's copies are held one after the other, the rules anchored at each evaluated before the next
is held: hub flags, aliases, retention, customers and merged legs as of the anchor), so the outcome
does not depend on batch boundaries, nor on a redelivery. A copy that arrives after later edges of
its account also runs the rules anchored at those (`_later_views`), seeing the graph as held at
that copy's place in the stream, cut to each later anchor. Accounts owned by another worker
are read as they are in Redis: an edge written by another partition's worker moments later may be
missed, and the pattern is then found at its next edge instead (see README, "Network detection").
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from zlib import crc32

import orjson

from factors.network.edges import Edge, edge_messages
from factors.network.exposure import Exposure, measure_exposure
from factors.network.graph import Adjacency, Copy, Hop, NetworkHit, NetworkView, Party
from factors.network.rules import Rule, evaluate
from streams import events
from streams.events import OutputEvent, Source
from streams.network.decode import CopyOf, decode_message
from streams.network.events import detection_events, detection_key, exposure_event, party_marks, report_record
from streams.network.state import Applied, GraphStore

SEARCH_ROUNDS = 8  # fetch rounds for accounts not held, at most (one more hop of the longest path per round)
# later edges of an account whose rules run again when an edge arrives after them (NetworkEngine._later_views;
# the default of AMLSTREAM_NETWORK_LATE_ANCHORS): on `make demo`'s live edge order, 4 found what 8 did
# (recall 0.84 against 0.49 without), for 22,748 evaluations instead of 34,278 (2026-12-01, in
# process over the run's edge topic)
LATE_ANCHORS = 4


@dataclass(slots=True)
class NetworkBatch:
    events: list[OutputEvent] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # edge copies by outcome
    dead_letters: Counter[str] = field(default_factory=Counter)
    detections: Counter[str] = field(default_factory=Counter)  # by pattern
    done: dict[str, list[str]] = field(default_factory=dict)  # account -> edge ids to mark committed
    # (detection_key, pattern) -> (the party marks its reports named, comma-separated; event ms)
    emitted: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    search_seconds: float = 0.0
    accounts_read: int = 0
    hubs_skipped: int = 0
    exposures: int = 0  # exposure measurements emitted
    reanchored: int = 0  # rule evaluations at later edges of an account that an edge arrived after
    max_event_ms: int | None = None


class NetworkEngine:
    def __init__(
        self,
        store: GraphStore,
        rules: tuple[Rule, ...],
        model_version: str,
        *,
        check_keys: bool = True,
        risk: dict[str, str] | None = None,
        exposure_window_days: int = 90,
        late_anchors: int = LATE_ANCHORS,
    ) -> None:
        """`late_anchors`: later edges of an account at which the rules run again for a copy that
        arrives after them (`_later_views`; 0: none, each rule runs at its own anchor only)."""
        self.store = store
        self.rules = rules
        self.model_version = model_version
        self.check_keys = check_keys
        self.risk = risk if risk is not None else {}  # customer_id -> risk marker (its high-risk episodes, factors.patterns.high_risk_exposure.episodes)
        self.exposure_window_days = exposure_window_days
        if late_anchors < 0:
            raise ValueError(f"late_anchors must be >= 0, not {late_anchors}")
        self.late_anchors = late_anchors

    async def process(self, records: list[Source]) -> NetworkBatch:
        """One batch of edge messages (single copies or edge batches): decode (malformed messages
        or copies dead-lettered), then `process_copies`."""
        batch = NetworkBatch()
        copies: list[tuple[Edge, str]] = []
        sources: list[CopyOf] = []
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

    async def process_copies(self, copies: list[tuple[Edge, str]], sources: list[CopyOf] | None = None, batch: NetworkBatch | None = None) -> NetworkBatch:
        """Decoded edge copies (the replay builds them in process; `sources`: their messages, for
        dead letters, rendered from the copy when not given)."""
        batch = batch if batch is not None else NetworkBatch()
        reads_before = self.store.reads
        applied = await self.store.apply(copies)
        todo: set[int] = set()  # the copies whose rules run (new, or stored before with outputs not committed)
        firsts: set[tuple[str, str]] = set()  # (account, edge id) of the batch's copies so far
        for n, a in enumerate(applied):
            own = a.edge.party(a.copy)
            first = (own, a.edge.edge_id) not in firsts
            firsts.add((own, a.edge.edge_id))
            if a.status == "late":
                src = sources[n].source() if sources is not None else _message(a.edge, a.copy)
                detail = f"edge at {events.iso(a.edge.ts_ms)} is older than the retention before the account's latest edge"
                batch.events.append(events.dead_letter(src, "too_late", detail, self.model_version))
                batch.dead_letters["too_late"] += 1
                batch.outcomes["dead_letter"] += 1
                continue
            batch.max_event_ms = max(batch.max_event_ms or 0, a.edge.ts_ms)
            if a.status == "retracted":  # its edge was retracted before (a reversal): not stored, no rule runs
                batch.outcomes["retracted"] += 1
                continue
            if a.done or (not first and a.edge.retracted_by is None):  # a redelivery, or the other leg of a book transfer (in this batch or after it)
                batch.outcomes["duplicate"] += 1
                continue
            if a.edge.retracted_by is not None:  # held in stream order (the edge leaves its account); no rule runs at it
                batch.outcomes["retraction"] += 1
                batch.done.setdefault(own, []).append(a.edge.edge_id[:16])
                continue
            batch.outcomes["applied" if a.status == "new" else "pending"] += 1  # pending: stored before, outputs not yet committed
            batch.done.setdefault(own, []).append(a.edge.edge_id[:16])
            todo.add(n)
        started = time.perf_counter()
        await self._detect(applied, todo if self.rules else set(), batch)
        batch.search_seconds = time.perf_counter() - started
        batch.accounts_read += self.store.reads - reads_before
        self.store.end_batch()
        return batch

    def _view(self, a: Applied) -> NetworkView:
        e = a.edge
        hop = Hop(e.edge_id[:16], a.payer, a.payee, e.ts_ms, e.amount_fen, (e.tx_id,))  # the counterparty as the account knows it
        return self._view_at(hop, a.copy)

    def _adj(self) -> Mapping[str, Adjacency]:
        """The accounts a rule reads: held, and borrowed for this batch."""
        return self.store.view if self.store.borrowed else self.store.accounts  # the same lookups; the dict's own get is C (a rule reads ~11 accounts a copy)

    def _view_at(self, hop: Hop, copy: Copy) -> NetworkView:
        return NetworkView(
            hop,
            copy,
            self._adj(),
            self.store.customers,
            self.risk,
            origin_ms=self.store.origin_ms,  # type: ignore[arg-type]
        )

    async def _detect(self, applied: list[Applied], todo: set[int], batch: NetworkBatch) -> None:
        """Hold the copies in stream order, evaluating the rules anchored at each before holding
        the next (a rule sees its accounts as of its anchor: their edges, hub flag, aliases,
        retention and customers). Copies whose search needs accounts not held are evaluated
        again once those are read (one round trip for the batch): from the first of them, whose
        held state is kept (`GraphStore.snapshot`) for that, on."""
        # (copy index, 0 for its own anchor or k >= 1 for its later anchors in event-time order) -> (view, hits or None for a hub, exposure)
        found: dict[tuple[int, int], tuple[NetworkView, list[NetworkHit] | None, Exposure | None]] = {}
        held: list[Applied] = list(applied)
        last_copy = {a.edge.party(a.copy): n for n, a in enumerate(applied)}
        pending, start, resume = todo, 0, None
        for round_ in range(SEARCH_ROUNDS + 1):
            last = round_ == SEARCH_ROUNDS  # bound reached: evaluate with what is held (missing accounts count as empty)
            if resume is not None:
                start, snapshot = resume
                self.store.restore(snapshot)
            resume, retry, wanted = None, set(), set()
            for n in range(start, len(applied)):
                if applied[n].status in ("late", "retracted"):
                    continue
                if not round_ or n > start:  # a round resumes at a copy held in its snapshot
                    held[n] = self.store.hold(applied[n])
                    if self.rules and n in pending:
                        self.store.note_unknown_customers(held[n])
                    elif self.rules and self.store.names_awaited_customer(held[n]):
                        pending = pending | {n}  # the other customer's leg of an edge evaluated without it
                if n not in pending:
                    continue
                view = self._view(held[n])
                account = view.adj.get(view.account)
                if account is not None and account.hub:
                    found[n, 0] = (view, None, None)  # a hub: not searched
                    continue
                views = [view, *self._later_views(held[n], account)]
                hits = [evaluate(v, self.rules) for v in views]
                missing = set().union(*(v.missing for v in views))
                if missing and not last:
                    if resume is None:
                        resume = (n, self.store.snapshot(p for p, i in last_copy.items() if i > n))
                    retry.add(n)
                    wanted |= missing
                    continue
                found[n, 0] = (view, hits[0], measure_exposure(view, self.exposure_window_days) if self.risk else None)
                for k in range(1, len(views)):
                    found[n, k] = (views[k], hits[k], None)
            if not retry:
                break
            await self.store.borrow(wanted)
            pending = retry
        batch.reanchored += sum(1 for _, k in found if k)  # counted once, however many rounds evaluated them
        hits_by_anchor: list[tuple[Hop, list[NetworkHit]]] = []
        emitted = await self.store.emitted(detection_key(hit) for _, hits, _ in found.values() for hit in hits or ())
        for n in sorted(found):  # in stream order: the first anchor of an episode reports it
            view, hits, measured = found[n]
            if hits is None:
                batch.hubs_skipped += 1
                continue
            kept = []
            for hit in hits:
                record = (detection_key(hit), hit.pattern)
                before = batch.emitted.get(record) or emitted.get(record[0], {}).get(hit.pattern)
                after = report_record(party_marks(hit), before, view.anchor.ts_ms, self.store.retain_ms)
                if after is None:
                    continue  # no one new: every party was named by a report of this episode (by any member's edge)
                batch.emitted[record] = after
                kept.append(hit)
            if kept:
                hits_by_anchor.append((view.anchor, kept))
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

    def _later_views(self, a: Applied, account: Adjacency | None) -> list[NetworkView]:
        """Views anchored after the copy `a`, when it arrived after later edges of its account:
        the rules at those ran before this edge existed, and a pattern that needs it is found now,
        as in event-time order it would have been (customer-stage partitions in catch-up deliver
        edges days apart). The anchors: the account's first `late_anchors` later edges, each at
        the account's copy, and each of them that leaves the account also at its payee's copy
        (the backward path rules, cycles and layering chains, anchor at the payee: a cycle whose
        middle hop arrives after its closing hop is found at the closing hop). A payee that is
        not held is read like any account a search needs; a hub payee is not searched. A
        retraction re-anchors nothing (it only takes an edge out of later evaluations)."""
        if account is None or a.edge.retracted_by is not None or not self.late_anchors:
            return []
        order = (a.edge.ts_ms, a.edge.edge_id[:16])
        if not (account.ins and account.ins[-1].order() > order) and not (account.outs and account.outs[-1].order() > order):
            return []  # the account's newest edge: in event-time order, nothing was evaluated without it
        later = account.after(order, self.late_anchors)
        anchors: list[tuple[Hop, Copy]] = list(later)
        for hop, copy in later:
            payee = self._adj().get(hop.payee)
            if copy == "payer" and not (payee is not None and payee.hub):
                anchors.append((hop, "payee"))
        anchors.sort(key=lambda anchor: (anchor[0].order(), anchor[1]))  # event-time order: the first anchor of an episode reports it
        return [self._view_at(hop, copy) for hop, copy in anchors]

    async def _customers(self, parties: set[str]) -> dict[str, str]:
        """Customer ids of accounts not known from the edges seen as of their anchors (meta `c` in
        Redis), one round trip. The batch's own accounts are not read: Redis holds their customer
        as of the batch's end, and what was known of them before it is held (`GraphStore.own`)."""
        parties = {p for p in parties if p not in self.store.batch_accounts}
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
