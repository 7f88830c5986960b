"""One batch of edge copies, end to end and independent of Kafka: decode -> store -> search ->
detect (pure) -> detection events. The network worker and `amlstream network-replay` drive it;
delivery is the caller's job: emit `NetworkBatch.events`, wait for the acks, then `commit`.

Determinism: a rule sees the graph *as of* its anchor edge (edges no later than the anchor in
(event time, edge id) order), so the outcome does not depend on batch boundaries, nor on a
redelivery, for a stream whose edges arrive in event-time order. Other accounts' adjacency is
read as it is in Redis; on one worker (or in replay) that is everything before in the input, with
several workers an edge written by another partition's worker moments later may be missed, and
the pattern is then found at its next edge instead (see README, "Network detection").
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from zlib import crc32

from factors.network.graph import DAY_MS, Adjacency, Hop, NetworkHit, NetworkView, Party, Quantiles, extend_paths
from factors.network.rules import Rule, evaluate, observations, search_bounds
from streams import events
from streams.errors import DecodeError
from streams.events import OutputEvent, Source
from streams.network.decode import decode_edge
from streams.network.events import detection_events, parties_digest
from streams.network.quantiles import quantile_key
from streams.network.state import Applied, GraphStore

NEIGHBOURS_CAP = 20  # accounts expanded around an anchor per purpose (most recent first)
PATH_BRANCHING = 3  # backward extensions kept per path per step (closest in amount)
PATH_LIMIT = 24  # paths kept per search step
HISTOGRAM_CAP = 50  # observations above this count go into the top bucket


@dataclass(slots=True)
class NetworkBatch:
    events: list[OutputEvent] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # edge copies by outcome
    dead_letters: Counter[str] = field(default_factory=Counter)
    detections: Counter[str] = field(default_factory=Counter)  # by pattern
    done: dict[str, list[str]] = field(default_factory=dict)  # account -> edge ids to mark committed
    emitted: dict[str, dict[str, str]] = field(default_factory=dict)  # anchor account -> detection fields
    increments: Counter[tuple[str, str]] = field(default_factory=Counter)  # quantile histogram counters
    search_seconds: float = 0.0
    accounts_read: int = 0
    hubs_skipped: int = 0
    max_event_ms: int | None = None


class NetworkEngine:
    def __init__(self, store: GraphStore, rules: tuple[Rule, ...], model_version: str, *, check_keys: bool = True, quantiles: dict[str, Quantiles] | None = None) -> None:
        self.store = store
        self.rules = rules
        self.model_version = model_version
        self.check_keys = check_keys
        self.quantiles = quantiles if quantiles is not None else {}
        self.bounds = search_bounds(rules)

    async def process(self, records: list[Source]) -> NetworkBatch:
        batch = NetworkBatch()
        copies, sources = [], []
        for src in records:
            try:
                copies.append(decode_edge(src.key if self.check_keys else None, src.value))
                sources.append(src)
            except DecodeError as err:
                batch.events.append(events.dead_letter(src, err.code, err.detail, self.model_version))
                batch.dead_letters[err.code] += 1
                batch.outcomes["dead_letter"] += 1
        applied = await self.store.apply(copies)
        todo: list[Applied] = []
        for a, src in zip(applied, sources, strict=True):
            own = a.edge.payer if a.copy == "payer" else a.edge.payee
            if a.status == "late":
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
        return batch

    async def _detect(self, todo: list[Applied], batch: NetworkBatch) -> None:
        b = self.bounds
        first_ms = min(a.edge.ts_ms for a in todo)
        long_lo = first_ms - round((b["window_days"] + b["history_days"]) * DAY_MS)  # the anchors' own history (fan rules)
        short_lo = first_ms - round(max(b["window_days"], b["path_window_days"]) * DAY_MS)  # accounts the search passes through
        cache: dict[str, Adjacency] = {}
        read_from: dict[str, int] = {}
        reads_before = self.store.reads

        async def fetch(parties: set[str], lo: int = short_lo) -> None:
            missing = {p for p in parties if read_from.get(p, 2**53) > lo}
            if missing:
                cache.update(await self.store.read(sorted(missing), lo, 2**53))
                read_from.update(dict.fromkeys(missing, lo))

        anchors = [(a, Hop(a.edge.edge_id[:16], a.edge.payer, a.edge.payee, a.edge.ts_ms, a.edge.amount_fen, (a.edge.tx_id,))) for a in todo]
        await fetch({a.edge.payer if a.copy == "payer" else a.edge.payee for a, _ in anchors}, long_lo)
        await fetch({a.edge.payer for a, _ in anchors if a.copy == "payee"})
        # step 1: neighbours for scatter-gather and closed groups, and the first path step
        paths: dict[int, list[tuple[Hop, ...]]] = {}
        frontier: dict[int, list[tuple[Hop, ...]]] = {}
        wanted: set[str] = set()
        gap, hops = round(b["max_gap_days"] * DAY_MS), int(b["max_hops"])
        for n, (a, hop) in enumerate(anchors):
            if a.copy != "payee":
                continue
            u, v = cache[hop.payer], cache[hop.payee]
            if v.hub or u.hub:
                batch.hubs_skipped += 1
                continue
            start = hop.ts_ms - round(b["window_days"] * DAY_MS)
            wanted |= _recent_neighbours(v, start, hop.order(), ins_only=True)
            wanted |= _recent_neighbours(u, start, hop.order()) | _recent_neighbours(v, start, hop.order())
            paths[n] = []
            frontier[n] = [(hop,)]
        for step in range(max(hops - 1, 0)):
            extended = {}
            for n, fr in frontier.items():
                hop = anchors[n][1]
                nxt = extend_paths(
                    fr,
                    cache,
                    start_ms=hop.ts_ms - round(b["path_window_days"] * DAY_MS),
                    max_gap_ms=gap,
                    min_ratio=b["min_forward_ratio"],
                    max_ratio=b["max_forward_ratio"],
                    branching=PATH_BRANCHING,
                    limit=PATH_LIMIT,
                )
                paths[n].extend(nxt)
                extended[n] = [p for p in nxt if p[0].payer != hop.payee]  # a closed cycle is not extended
            frontier = {n: fr for n, fr in extended.items() if fr}
            needed = {p[0].payer for fr in frontier.values() for p in fr} | (wanted if step == 0 else set())
            if not needed and step > 0:
                break
            await fetch(needed)
        if hops <= 1:
            await fetch(wanted)
        batch.accounts_read += self.store.reads - reads_before
        customer_of = {}
        for a, _ in anchors:
            for party, cid in ((a.edge.payer, a.edge.payer_customer_id), (a.edge.payee, a.edge.payee_customer_id)):
                if cid:
                    customer_of[party] = cid
        hits_by_anchor: list[tuple[Applied, Hop, list[NetworkHit]]] = []
        for n, (a, hop) in enumerate(anchors):
            account = hop.payer if a.copy == "payer" else hop.payee
            group = cache[account].peer_group
            view = NetworkView(hop, a.copy, cache, tuple(paths.get(n, ())), self.quantiles.get(group) if group else None, customer_of)  # type: ignore[arg-type]
            if cache[account].hub:
                batch.hubs_skipped += a.copy == "payer"
                continue
            for metric, value in observations(view, self.rules).items():
                batch.increments[(quantile_key(group or "unknown", account), f"{hop.ts_ms // DAY_MS}:{metric}:{min(value, HISTOGRAM_CAP)}")] += 1
            found = []
            for hit in evaluate(view, self.rules):
                field_name, digest_value = f"k:{hit.pattern}:{hit.key}", parties_digest(hit)
                seen = cache[account].emitted.get(field_name) or batch.emitted.get(account, {}).get(field_name)
                if seen == digest_value:
                    continue  # this episode with these parties was reported already
                batch.emitted.setdefault(account, {})[field_name] = digest_value
                found.append(hit)
            if found:
                hits_by_anchor.append((a, hop, found))
        unknown = {p.party_id for _, _, hits in hits_by_anchor for h in hits for p in h.parties if p.customer_id is None and p.party_id.startswith("id:")}
        directory = await self._customers(unknown - set(customer_of))
        for _, hop, hits in hits_by_anchor:
            for hit in hits:
                hit = replace(hit, parties=tuple(p if p.customer_id else Party(p.party_id, directory.get(p.party_id), p.role, p.tx_ids) for p in hit.parties))
                batch.detections[hit.pattern] += 1
                batch.events.extend(detection_events(hit, hop, self.model_version))

    async def _customers(self, parties: set[str]) -> dict[str, str]:
        """Customer ids of accounts not fetched for the search (meta `c`), one round trip."""
        if not parties:
            return {}
        found = await self.store.read(sorted(parties), 0, 0)
        return {p: a.customer_id for p, a in found.items() if a.customer_id}

    async def commit(self, batch: NetworkBatch) -> None:
        await self.store.commit(batch.done, batch.emitted, dict(batch.increments))


def _recent_neighbours(a: Adjacency, start: int, end: tuple[int, str], ins_only: bool = False) -> set[str]:
    """Up to NEIGHBOURS_CAP most recent counterparties of an account in [start, end]."""
    hops = a.ins_within(start, end) + ([] if ins_only else a.outs_within(start, end))
    hops.sort(key=Hop.order, reverse=True)
    out: list[str] = []
    for h in hops:
        other = h.payer if h.payee == a.party else h.payee
        if other not in out:
            out.append(other)
        if len(out) >= NEIGHBOURS_CAP:
            break
    return set(out)


def shard(party: str, shards: int = 8) -> int:
    return crc32(party.encode()) % shards
