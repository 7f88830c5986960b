"""Population quantiles of the network metrics per peer group: sharded per-day histograms,
published with a version, the way `streams.state.peers` publishes peer baselines.

Each evaluated edge copy adds one observation of its account's metric (e.g. `new_payers` at an
edge into the account) to its peer group's histogram of that day (sharded by account, so no key
serialises the workers). Publishing sums the last 30 days of every shard and stores, per group,
the quantiles p50/p90/p95/p99/p999 with a version derived from the figures; rules read only
published quantiles and name the version they used.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from zlib import crc32

import orjson
from redis.asyncio import Redis

from factors.network.graph import Quantiles

SHARDS = 8
PUBLISHED_KEY = "aml:netq:published"
WINDOW_DAYS = 30
LEVELS = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}


def quantile_key(group: str, party: str) -> str:
    return f"aml:netq:{{{group}|{crc32(party.encode()) % SHARDS}}}"


def quantiles_of(histogram: dict[int, int]) -> dict[str, float]:
    """Quantiles (lower, nearest-rank) of a histogram value -> count."""
    total = sum(histogram.values())
    out = {}
    for name, q in LEVELS.items():
        rank, seen = max(1, -(-q * total // 1)), 0
        for value in sorted(histogram):
            seen += histogram[value]
            if seen >= rank:
                out[name] = float(value)
                break
    return out


async def publish_quantiles(redis: Redis, min_observations: int = 200) -> dict[str, Quantiles]:
    """Aggregate every group's shards over the last 30 days (by the newest day seen), drop older
    day counters, and publish groups with at least `min_observations` observations."""
    hist: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    raw: dict[bytes, dict[bytes, bytes]] = {}
    async for key in redis.scan_iter(match="aml:netq:{*}", count=1000):
        raw[key] = await redis.hgetall(key)
    newest = max((int(f.split(b":", 1)[0]) for fields in raw.values() for f in fields), default=None)
    if newest is None:
        return {}
    for key, fields in raw.items():
        group = key.decode()[len("aml:netq:{") :].rsplit("|", 1)[0]
        old = []
        for f, v in fields.items():
            day, metric, value = f.decode().split(":")
            if int(day) <= newest - WINDOW_DAYS:
                old.append(f)
            else:
                hist[group][metric][int(value)] += int(v)
        if old:
            await redis.hdel(key, *old)
    published = {}
    for group, metrics in sorted(hist.items()):
        counts = {m: sum(h.values()) for m, h in metrics.items()}
        if max(counts.values(), default=0) < min_observations:
            continue
        values = {m: quantiles_of(h) for m, h in sorted(metrics.items())}
        figures = orjson.dumps({"g": group, "d": newest, "v": values}, option=orjson.OPT_SORT_KEYS)
        version = f"nq-{newest}-{hashlib.sha256(figures).hexdigest()[:8]}"
        published[group] = Quantiles(group, version, max(counts.values()), values)
    if published:
        await redis.hset(
            PUBLISHED_KEY, mapping={g: orjson.dumps({"group": q.group, "version": q.version, "members": q.members, "values": q.values}) for g, q in published.items()}
        )
    return published


async def load_quantiles(redis: Redis) -> dict[str, Quantiles]:
    raw = await redis.hgetall(PUBLISHED_KEY)
    return {g.decode(): Quantiles(**orjson.loads(v)) for g, v in raw.items()}
