"""Per-customer state in Redis, read and written only through the two atomic scripts.

Per batch: one pipelined round trip runs `apply_batch` once per touched customer (dedup,
bucket update, per-item snapshots); after the batch's events are acknowledged by Kafka, one
more runs `commit_batch` per customer (new rating state, pending snapshots dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zlib import crc32

import orjson
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

from factors.model import BUCKET_METRICS, WINDOWS, RecentTx, Snapshot, Transaction, WindowStats

SCRIPTS = Path(__file__).parent / "scripts"
KEY_PREFIX = "aml"
LEVEL_SHARDS = 16
NM = len(BUCKET_METRICS)
NW = NM + 2  # per window: the bucket metrics and distinct counterparties in / out


def customer_keys(customer_id: str) -> list[str]:
    """The customer's keys, sharing the `{customer_id}` hash tag (one Redis Cluster slot)."""
    tag = "{" + customer_id + "}"
    return [f"{KEY_PREFIX}:{tag}:{suffix}" for suffix in ("a", "c", "x", "t", "r")]


def level_shard_key(customer_id_or_shard: str | int) -> str:
    """Key of the per-level customer counts that a customer (or a shard number) belongs to."""
    shard = customer_id_or_shard if isinstance(customer_id_or_shard, int) else crc32(customer_id_or_shard.encode()) % LEVEL_SHARDS
    return f"{KEY_PREFIX}:levels:{{s{shard}}}"


@dataclass(frozen=True, slots=True)
class TxItem:
    """A transaction with what the script needs that only Python knows (calendar, digests)."""

    tx: Transaction
    fine: int
    day: int
    hour: int
    flags: str  # c cash, x cross-border, h high-risk country, r round amount
    counterparty: str

    def pack(self) -> str:
        t = self.tx
        fields = (
            "T",
            t.tx_id,
            str(t.ts_ms),
            t.direction,
            str(t.amount_fen),
            self.flags,
            str(self.fine),
            str(self.day),
            str(self.hour),
            self.counterparty,
            t.currency,
            t.amount,
        )
        return "\t".join(fields)


@dataclass(frozen=True, slots=True)
class ProfileItem:
    profile: Any  # factors.profile.Profile; opaque to the store
    updated_ms: int

    def pack(self) -> str:
        return f"P\t{self.updated_ms}"


@dataclass(frozen=True, slots=True)
class PeekItem:
    """A read-only snapshot at the customer's watermark (re-rating without new input)."""

    def pack(self) -> str:
        return "Q"


Item = TxItem | ProfileItem | PeekItem


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: Item
    status: str  # new | pend | done | late | stale | peek
    snapshot: Snapshot | None


@dataclass(frozen=True, slots=True)
class CustomerBatch:
    customer_id: str
    state: dict[str, Any]  # the committed rating state (JSON managed by factors.rating)
    trail: tuple[RecentTx, ...]
    results: tuple[ItemResult, ...]


@dataclass(frozen=True, slots=True)
class CustomerCommit:
    customer_id: str
    pending_ids: tuple[str, ...]  # tx_ids and "~P<updated_ms>" of the batch's new/pending items
    profile_updated_ms: int | None
    state: dict[str, Any]


def pending_id(item: Item) -> str:
    return item.tx.tx_id if isinstance(item, TxItem) else f"~P{item.updated_ms}" if isinstance(item, ProfileItem) else ""


def parse_snapshot(text: str) -> Snapshot:
    v = [int(x) for x in text.split(",")]
    windows = {name: WindowStats(*v[2 + i * NW : 2 + (i + 1) * NW]) for i, name in enumerate(WINDOWS)}
    base = 2 + len(WINDOWS) * NW
    tx_day = WindowStats(*v[base : base + NM])
    active, prev, since = v[base + NM : base + NM + 3]
    return Snapshot(seq=v[0], asof_ms=v[1], windows=windows, tx_day=tx_day, active_days_90d=active, prev_event_ms=prev or None, active_since_ms=since or None)


def parse_trail(entries: list[bytes]) -> tuple[RecentTx, ...]:
    trail = []
    for raw in entries:
        seq, ts, direction, fen, flags, day, hour, cp, ccy, amount, tx_id = raw.decode().split("|", 10)
        trail.append(
            RecentTx(int(seq), int(ts), direction, int(fen), "c" in flags, int(day), tx_id, int(hour), "x" in flags, "h" in flags, "r" in flags, cp, ccy, amount)  # type: ignore[arg-type]
        )
    return tuple(trail)


class _Concurrent:
    """The pipeline methods the store uses, as concurrent calls on a cluster client."""

    def __init__(self, redis: RedisCluster) -> None:
        self.redis = redis
        self.pending: list[Awaitable[Any]] = []

    def evalsha(self, *args: Any) -> None:
        self.pending.append(self.redis.evalsha(*args))

    def hincrby(self, *args: Any) -> None:
        self.pending.append(self.redis.hincrby(*args))

    def hset(self, *args: Any) -> None:
        self.pending.append(self.redis.hset(*args))

    def hgetall(self, *args: Any) -> None:
        self.pending.append(self.redis.hgetall(*args))

    def hget(self, *args: Any) -> None:
        self.pending.append(self.redis.hget(*args))


class StateStore:
    def __init__(self, redis: Redis, *, retain_days: int = 90, trail_horizon_ms: int = 72 * 3_600_000, trail_max: int = 1000, dormant_days: int = 180) -> None:
        self.redis = redis
        self.retain_days = retain_days
        self.trail_horizon_ms = trail_horizon_ms
        self.header = [retain_days, trail_horizon_ms, trail_max, dormant_days * 86_400_000]
        self._scripts = {name: (SCRIPTS / f"{name}.lua").read_text() for name in ("apply_batch", "commit_batch")}
        self._sha = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in self._scripts.items()}

    async def _execute(self, fill: Callable[[Any], None]) -> list[Any]:
        """One pipelined round trip of EVALSHA calls (on Redis Cluster, where redis-py refuses
        scripts in pipelines, the same calls sent concurrently, each to its customer's node). A
        server that lost its script cache (a restart, a new node) answers NOSCRIPT: load the
        scripts and run it again, which is safe because every script call is idempotent."""
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
                    await self.redis.script_load(text)  # a cluster client loads it on every primary
        raise AssertionError("unreachable")

    async def apply(self, batches: dict[str, list[Item]]) -> dict[str, CustomerBatch]:
        """Apply each customer's items in order, in one round trip; return what re-rating needs."""
        order = list(batches)
        sha = self._sha["apply_batch"]

        def fill(pipe: Any) -> None:
            for customer_id in order:
                # all items in one argument: far cheaper to encode than one argument each
                pipe.evalsha(sha, 5, *customer_keys(customer_id), *self.header, "\n".join(item.pack() for item in batches[customer_id]))

        replies = await self._execute(fill)
        out: dict[str, CustomerBatch] = {}
        for customer_id, (state_raw, trail_raw, results) in zip(order, replies, strict=True):
            parsed = []
            for item, result in zip(batches[customer_id], results, strict=True):
                status, _, snap = result.decode().partition("|")
                parsed.append(ItemResult(item, status, parse_snapshot(snap) if snap else None))
            state = orjson.loads(state_raw) if state_raw else {}
            out[customer_id] = CustomerBatch(customer_id, state, parse_trail(trail_raw), tuple(parsed))
        return out

    async def commit(
        self,
        commits: Sequence[CustomerCommit],
        level_moves: Sequence[tuple[str, str | None, str]] = (),
        counter_increments: Sequence[tuple[str, str, int]] = (),
        checkpoints: Sequence[tuple[str, str, int]] = (),
    ) -> None:
        """Commit the customers' batches and move the per-level customer counts, one round trip.

        `level_moves` are (counter key, old level, new level); the counts back the
        customers-by-level gauge and are sharded so that no single key serialises workers.
        `counter_increments` are (key, field, amount) of other sharded statistics (peer groups);
        `checkpoints` (key, partition, offset) record the last input offset the batch covers.
        """
        if not commits and not checkpoints:
            return
        sha = self._sha["commit_batch"]

        def fill(pipe: Any) -> None:
            for c in commits:
                keys = customer_keys(c.customer_id)
                profile_version = "" if c.profile_updated_ms is None else str(c.profile_updated_ms)
                pipe.evalsha(sha, 2, keys[0], keys[4], len(c.pending_ids), *c.pending_ids, profile_version, orjson.dumps(c.state))
            for key, old, new in level_moves:
                if old is not None:
                    pipe.hincrby(key, old, -1)
                pipe.hincrby(key, new, 1)
            for key, name, amount in counter_increments:
                pipe.hincrby(key, name, amount)
            for key, partition, offset in checkpoints:
                pipe.hset(key, partition, offset)  # last, after the state it vouches for

        await self._execute(fill)

    async def level_counts(self) -> dict[str, int]:
        """Customers per current level, summed over the counter shards."""

        def fill(pipe: Any) -> None:
            for shard in range(LEVEL_SHARDS):
                pipe.hgetall(level_shard_key(shard))

        totals: dict[str, int] = {}
        for reply in await self._execute(fill):
            for level, count in reply.items():
                totals[level.decode()] = totals.get(level.decode(), 0) + int(count)
        return totals

    async def states(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        def fill(pipe: Any) -> None:
            for c in customer_ids:
                pipe.hget(customer_keys(c)[4], "s")

        return {c: orjson.loads(raw) for c, raw in zip(customer_ids, await self._execute(fill), strict=True) if raw}

    async def customers(self, count: int = 1000):  # type: ignore[no-untyped-def]
        """Every customer id that has rating state (SCAN; works per node on a cluster)."""
        async for key in self.redis.scan_iter(match=f"{KEY_PREFIX}:{{*}}:r", count=count):
            text = key.decode()
            yield text[text.index("{") + 1 : text.rindex("}")]
