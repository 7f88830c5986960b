"""Peer-group statistics (同类客户): rolling sharded counters, published baselines.

Every committed transaction adds its cash and count to its peer group's per-business-day
counters, in one of several shards per group chosen by customer, so no single key serialises
the workers. Baselines (30-day averages per customer) are *published* at discrete moments with
a version; scoring reads only published baselines, so every figure that used one names it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from zlib import crc32

import orjson
from redis.asyncio import Redis

from factors.profile import PeerBaseline

PEER_SHARDS = 8
PUBLISHED_KEY = "aml:peer:published"
WINDOW_DAYS = 30


def peer_key(group: str, customer_id: str) -> str:
    return f"aml:peer:{{{group}|{crc32(customer_id.encode()) % PEER_SHARDS}}}"


async def publish_baselines(redis: Redis, min_customers: int = 1) -> dict[str, PeerBaseline]:
    """Aggregate the shards of every group over the last 30 business days and publish."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    shards: dict[bytes, list[str]] = {}
    async for key in redis.scan_iter(match="aml:peer:{*}", count=1000):
        group = key.decode()[len("aml:peer:{") :].rsplit("|", 1)[0]
        fields = (await redis.hgetall(key)).items()
        shards[key] = [f.decode() for f, _ in fields]
        for field, value in fields:
            totals[group][field.decode()] += int(value)
    newest = max((int(f.split(":", 1)[0]) for fs in shards.values() for f in fs if f[0].isdigit()), default=None)
    if newest is not None:  # day counters that left every window are dropped, so the hashes stay bounded
        for key, fs in shards.items():
            old = [f for f in fs if f[0].isdigit() and int(f.split(":", 1)[0]) <= newest - WINDOW_DAYS]
            if old:
                await redis.hdel(key, *old)
    published: dict[str, PeerBaseline] = {}
    for group, fields in sorted(totals.items()):
        members = fields.get("members", 0)
        days = sorted({int(f.split(":", 1)[0]) for f in fields if f[0].isdigit()})
        if members < min_customers or not days:
            continue
        last = days[-1]
        cash = sum(v for f, v in fields.items() if f.endswith(":c") and int(f.split(":", 1)[0]) > last - WINDOW_DAYS)
        count = sum(v for f, v in fields.items() if f.endswith(":n") and int(f.split(":", 1)[0]) > last - WINDOW_DAYS)
        figures = f"{group}|{members}|{cash}|{count}|{last}"
        version = f"pb-{last}-{hashlib.sha256(figures.encode()).hexdigest()[:8]}"
        published[group] = PeerBaseline(group, version, members, cash / members, count / members, {"as_of_day": last})
    if published:
        await redis.hset(PUBLISHED_KEY, mapping={g: orjson.dumps(_to_dict(b)) for g, b in published.items()})
    return published


def _to_dict(b: PeerBaseline) -> dict[str, object]:
    return {"group": b.group, "version": b.version, "customers": b.customers, "avg_cash_fen_30d": b.avg_cash_fen_30d, "avg_count_30d": b.avg_count_30d, "extra": b.extra}


async def load_baselines(redis: Redis) -> dict[str, PeerBaseline]:
    raw = await redis.hgetall(PUBLISHED_KEY)
    return {g.decode(): PeerBaseline(**orjson.loads(v)) for g, v in raw.items()}
