"""Per-customer state in Redis, read and written only through the two atomic scripts.

Per batch: one pipelined round trip runs `apply_batch` once per touched customer (dedup,
bucket update, per-transaction snapshots); after the batch's events are acknowledged by Kafka,
one more runs `commit_batch` per customer (new risk state, pending snapshots dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zlib import crc32

import orjson
from redis.asyncio import Redis

from factors.model import WINDOWS, AppliedTx, RecentTx, Snapshot, Transaction, WindowStats

SCRIPTS = Path(__file__).parent / "scripts"
KEY_PREFIX = "aml"
LEVEL_SHARDS = 16


def customer_keys(customer_id: str) -> list[str]:
    """The customer's keys, sharing the `{customer_id}` hash tag (one Redis Cluster slot)."""
    tag = "{" + customer_id + "}"
    return [f"{KEY_PREFIX}:{tag}:{suffix}" for suffix in ("a", "c", "x", "t", "r", "p")]


def level_shard_key(customer_id_or_shard: str | int) -> str:
    """Key of the per-level customer counts that a customer (or a shard number) belongs to."""
    shard = customer_id_or_shard if isinstance(customer_id_or_shard, int) else crc32(customer_id_or_shard.encode()) % LEVEL_SHARDS
    return f"{KEY_PREFIX}:levels:{{s{shard}}}"


@dataclass(frozen=True, slots=True)
class CustomerBatch:
    customer_id: str
    risk_state: dict[str, str]
    profile: dict[str, Any] | None
    trail: tuple[RecentTx, ...]
    applied: tuple[AppliedTx, ...]


@dataclass(frozen=True, slots=True)
class CustomerCommit:
    customer_id: str
    tx_ids: tuple[str, ...]  # the batch's new and pending tx_ids
    risk_state: dict[str, str]  # fields to set


def _pack(tx: Transaction, fine: int, day: int, cp_hash: str) -> str:
    return "\t".join(
        (
            tx.tx_id,
            str(tx.ts_ms),
            tx.direction,
            str(tx.amount_fen),
            "1" if tx.is_cash else "0",
            "1" if tx.cross_border else "0",
            str(fine),
            str(day),
            cp_hash,
        )
    )


def _parse_snapshot(text: str) -> Snapshot:
    v = [int(x) for x in text.split(",")]
    windows = {}
    for i, name in enumerate(WINDOWS):
        base = 2 + i * 9
        windows[name] = WindowStats(*v[base : base + 9])
    day_base = 2 + len(WINDOWS) * 9
    tx_day = WindowStats(*v[day_base : day_base + 7])
    return Snapshot(seq=v[0], asof_ms=v[1], windows=windows, tx_day=tx_day, active_days_90d=v[day_base + 7])


def _parse_trail(entries: list[bytes]) -> tuple[RecentTx, ...]:
    trail = []
    for raw in entries:
        seq, ts, direction, fen, cash, day, tx_id = raw.decode().split("|", 6)
        trail.append(RecentTx(int(seq), int(ts), direction, int(fen), cash == "1", int(day), tx_id))  # type: ignore[arg-type]
    return tuple(trail)


class StateStore:
    def __init__(self, redis: Redis, *, retain_days: int = 90, trail_horizon_ms: int = 72 * 3_600_000, trail_max: int = 1000) -> None:
        self.redis = redis
        self.retain_days = retain_days
        self.trail_horizon_ms = trail_horizon_ms
        self.trail_max = trail_max
        self._apply = redis.register_script((SCRIPTS / "apply_batch.lua").read_text())
        self._commit = redis.register_script((SCRIPTS / "commit_batch.lua").read_text())

    async def apply(self, batches: dict[str, list[tuple[Transaction, int, int, str]]]) -> dict[str, CustomerBatch]:
        """Apply each customer's transactions (with their fine bucket, business day and
        counterparty hash) in order, in one round trip; return what rescoring needs."""
        pipe = self.redis.pipeline(transaction=False)
        order = list(batches)
        header = [self.retain_days, self.trail_horizon_ms, self.trail_max]
        for customer_id in order:
            args = header + [_pack(tx, fine, day, cp) for tx, fine, day, cp in batches[customer_id]]
            await self._apply(keys=customer_keys(customer_id), args=args, client=pipe)
        replies = await pipe.execute()
        out: dict[str, CustomerBatch] = {}
        for customer_id, (risk_flat, profile_raw, trail_raw, results) in zip(order, replies, strict=False):
            applied = []
            for (tx, _, day, _), result in zip(batches[customer_id], results, strict=False):
                status, _, snap = result.decode().partition("|")
                applied.append(AppliedTx(tx, status, _parse_snapshot(snap) if snap else None, day))  # type: ignore[arg-type]
            risk = {risk_flat[i].decode(): risk_flat[i + 1].decode() for i in range(0, len(risk_flat), 2)}
            out[customer_id] = CustomerBatch(
                customer_id=customer_id,
                risk_state=risk,
                profile=orjson.loads(profile_raw) if profile_raw else None,
                trail=_parse_trail(trail_raw),
                applied=tuple(applied),
            )
        return out

    async def commit(self, commits: list[CustomerCommit], level_moves: Sequence[tuple[str, str | None, str]] = ()) -> None:
        """Commit the customers' batches and move the per-level customer counts, one round trip.

        `level_moves` are (counter key, old level, new level); the counts back the
        customers-by-level gauge and are sharded so that no single key serialises workers.
        """
        if not commits:
            return
        pipe = self.redis.pipeline(transaction=False)
        for c in commits:
            keys = customer_keys(c.customer_id)
            flat = [x for kv in sorted(c.risk_state.items()) for x in kv]
            await self._commit(keys=[keys[0], keys[4]], args=[len(c.tx_ids), *c.tx_ids, *flat], client=pipe)
        for key, old, new in level_moves:
            if old is not None:
                pipe.hincrby(key, old, -1)
            pipe.hincrby(key, new, 1)
        await pipe.execute()

    async def level_counts(self) -> dict[str, int]:
        """Customers per current level, summed over the counter shards."""
        pipe = self.redis.pipeline(transaction=False)
        for shard in range(LEVEL_SHARDS):
            pipe.hgetall(level_shard_key(shard))
        totals: dict[str, int] = {}
        for reply in await pipe.execute():
            for level, count in reply.items():
                totals[level.decode()] = totals.get(level.decode(), 0) + int(count)
        return totals
