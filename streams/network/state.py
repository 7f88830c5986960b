"""The payment graph in Redis: per account, its in- and out-edges, bounded in time and size.

Keys of one account share the hash tag of a 16-hex digest of its party id (one Redis Cluster
slot per account; party ids may hold any character, so they are never put in a key directly):

    aml:net:{d}:i  sorted set of edges into the account, score = event time, member "eid|fen|payer"
    aml:net:{d}:o  the same for edges out of it, member "eid|fen|payee"
    aml:net:{d}:x  hash edge id -> "p|tx_id[,tx_id]" (outputs pending) or "d|…" (committed)
    aml:net:{d}:m  hash: wm (event-time watermark), c (customer id), g (peer group), capped,
                   k:<pattern>:<key> (detections emitted, with the parties digest)

Each edge copy is applied by one atomic script on its own account's keys (no multi-key
operation across accounts). Edges older than `retain_days` before the account's watermark are
dropped; at most `cap` edges per direction are kept (the oldest go first). Reads of other
accounts (the search) are plain script calls, pipelined per search step.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

from factors.identity import digest
from factors.network.edges import Edge
from factors.network.graph import Adjacency, Hop

SCRIPTS = Path(__file__).parent / "scripts"
DAY_MS = 86_400_000


def account_keys(party: str) -> tuple[str, str, str, str]:
    tag = digest(party, 8)
    return (f"aml:net:{{{tag}}}:i", f"aml:net:{{{tag}}}:o", f"aml:net:{{{tag}}}:x", f"aml:net:{{{tag}}}:m")


@dataclass(frozen=True, slots=True)
class Applied:
    """One edge copy after the apply script: `status` new | stored (already there) | late,
    `done` when its outputs were committed before (a redelivery or the second leg)."""

    edge: Edge
    copy: str
    status: str
    done: bool


class _Concurrent:
    def __init__(self, redis: RedisCluster) -> None:
        self.redis = redis
        self.pending: list[Awaitable[Any]] = []

    def evalsha(self, *args: Any) -> None:
        self.pending.append(self.redis.evalsha(*args))

    def hincrby(self, *args: Any) -> None:
        self.pending.append(self.redis.hincrby(*args))


class GraphStore:
    def __init__(self, redis: Redis, *, retain_days: int = 90, cap: int = 150, hub_degree: int = 40, hub_window_days: int = 30) -> None:
        self.redis = redis
        self.retain_ms = retain_days * DAY_MS
        self.cap = cap
        self.hub_degree = hub_degree
        self.hub_window_ms = hub_window_days * DAY_MS
        self._scripts = {name: (SCRIPTS / f"{name}.lua").read_text() for name in ("net_apply", "net_read", "net_commit")}
        self._sha = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in self._scripts.items()}
        self.reads = 0  # accounts read (search cost), for metrics

    async def _execute(self, fill: Callable[[Any], None]) -> list[Any]:
        """One pipelined round trip (concurrent calls on Redis Cluster); NOSCRIPT loads and retries."""
        for attempt in (1, 2):
            try:
                if isinstance(self.redis, RedisCluster):
                    calls = _Concurrent(self.redis)
                    fill(calls)
                    return list(await asyncio.gather(*calls.pending))
                pipe = self.redis.pipeline(transaction=False)
                fill(pipe)
                return await pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                for text in self._scripts.values():
                    await self.redis.script_load(text)
        raise AssertionError("unreachable")

    async def apply(self, copies: list[tuple[Edge, str]]) -> list[Applied]:
        """Store each edge copy on its owning account (payer copy: out-edges of the payer; payee
        copy: in-edges of the payee), in input order, in one round trip."""
        sha = self._sha["net_apply"]

        def fill(pipe: Any) -> None:
            for edge, copy in copies:
                own, other = (edge.payer, edge.payee) if copy == "payer" else (edge.payee, edge.payer)
                i, o, x, m = account_keys(own)
                cid = (edge.payer_customer_id if copy == "payer" else edge.payee_customer_id) or ""
                group = (edge.peer_group or "") if cid and cid == edge.leg_customer_id else ""
                member = f"{edge.edge_id[:16]}|{edge.amount_fen}|{other}"
                pipe.evalsha(sha, 3, o if copy == "payer" else i, x, m, edge.ts_ms, member, edge.edge_id[:16], edge.tx_id, cid, group, self.retain_ms, self.cap)

        if not copies:
            return []
        replies = await self._execute(fill)
        out = []
        for (edge, copy), (status, legs) in zip(copies, replies, strict=True):
            kind = {1: "new", 0: "stored", -1: "late"}[int(status)]
            out.append(Applied(edge, copy, kind, bool(legs) and legs[:2] == b"d|"))
        return out

    async def read(self, parties: Iterable[str], start_ms: int, end_ms: int) -> dict[str, Adjacency]:
        """The adjacency of each account within [start_ms, end_ms], in one round trip."""
        order = list(dict.fromkeys(parties))
        if not order:
            return {}
        sha = self._sha["net_read"]

        def fill(pipe: Any) -> None:
            for party in order:
                pipe.evalsha(sha, 4, *account_keys(party), start_ms, end_ms)

        replies = await self._execute(fill)
        self.reads += len(order)
        return {party: self._adjacency(party, reply, end_ms) for party, reply in zip(order, replies, strict=True)}

    def _adjacency(self, party: str, reply: list[Any], end_ms: int) -> Adjacency:
        raw_in, raw_out, raw_meta = reply
        ins = _hops(party, raw_in, incoming=True)
        outs = _hops(party, raw_out, incoming=False)
        meta = {raw_meta[i].decode(): raw_meta[i + 1].decode() for i in range(0, len(raw_meta), 2)}
        recent = end_ms - self.hub_window_ms
        degree = len({h.payer for h in ins if h.ts_ms >= recent} | {h.payee for h in outs if h.ts_ms >= recent})
        hub = degree >= self.hub_degree or len(ins) >= self.cap or len(outs) >= self.cap
        return Adjacency(party, ins, outs, meta.get("c") or None, meta.get("g") or None, hub, {k: v for k, v in meta.items() if k.startswith("k:")})

    async def commit(self, done: dict[str, list[str]], detections: dict[str, dict[str, str]], increments: dict[tuple[str, str], int]) -> None:
        """After the outputs are acknowledged: mark the copies committed, record the detections
        emitted per anchor account, add the batch's quantile observations."""
        sha = self._sha["net_commit"]
        parties = sorted(set(done) | set(detections))

        def fill(pipe: Any) -> None:
            for party in parties:
                _, _, x, m = account_keys(party)
                eids = done.get(party, [])
                pairs = [v for kv in sorted(detections.get(party, {}).items()) for v in kv]
                pipe.evalsha(sha, 2, x, m, len(eids), *eids, *pairs)
            for (key, name), amount in sorted(increments.items()):
                pipe.hincrby(key, name, amount)

        if parties or increments:
            await self._execute(fill)


def _hops(party: str, raw: list[Any], incoming: bool) -> tuple[Hop, ...]:
    hops = []
    for i in range(0, len(raw), 3):
        eid, fen, other = raw[i].decode().split("|", 2)
        legs = raw[i + 2].decode() if raw[i + 2] else ""
        tx_ids = tuple(legs[2:].split(",")) if legs else ()
        payer, payee = (other, party) if incoming else (party, other)
        hops.append(Hop(eid, payer, payee, int(float(raw[i + 1])), int(fen), tx_ids))
    hops.sort(key=Hop.order)
    return tuple(hops)
