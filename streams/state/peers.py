"""Peer-group statistics (同类客户): rolling sharded counters, published baselines.

Every committed transaction adds its cash and count to its peer group's per-business-day
counters, in one of several shards per group chosen by customer, so no single key serialises
the workers. Baselines (30-day averages per customer) are *published* at discrete moments with
a version; scoring reads only published baselines, so every figure that used one names it.

Distributions (what relative thresholds take quantiles of, `factors.distribution`): each
customer-day of a group is one sample per metric, the customer's figures after its last committed
transaction of that day (windows ending at its watermark). A batch moves the customer's sample of
its watermark's day from the buckets it had to the ones it has now (-1, +1; nothing when the
bucket stays), or adds a new one on a new day; the sample's group, day and buckets are kept in the
customer's rating state (`peer_sample`), so the counters always hold each customer-day once,
whatever the batching. Keys: `aml:peerq:{<group>|<metric>}:<day>` (a hash of `<bucket>` ->
samples; a group's metric keeps its days in one slot on Redis Cluster); keys of days that left the
30-day window are deleted when publishing. One key a day, not one for all days: a few dozen fields
each, so Redis keeps them as small listpacks (one hash of 30 days x buckets was a hashtable of
~15 KB at 10,000 customers: 830 B of Redis per customer).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from zlib import crc32

import orjson
from redis.asyncio import Redis

from factors.distribution import METRIC_NAMES, METRICS, Distribution, sample
from factors.model import Snapshot
from factors.profile import PeerBaseline

PEER_SHARDS = 8
PUBLISHED_KEY = "aml:peer:published"
ARCHIVED_KEY = "aml:peer:archived"  # group -> the last version the archive topic acknowledged (archive_new)
WINDOW_DAYS = 30
DISTRIBUTION_PREFIX = "aml:peerq:"


def peer_key(group: str, customer_id: str) -> str:
    return f"aml:peer:{{{group}|{crc32(customer_id.encode()) % PEER_SHARDS}}}"


def distribution_key(group: str, metric: str, day: int) -> str:
    return f"{DISTRIBUTION_PREFIX}{{{group}|{metric}}}:{day}"


def sample_moves(record: list | None, group: str, day: int, snapshot: Snapshot) -> tuple[list[tuple[str, str, int]], list]:
    """The counter increments that make the customer's sample of `day` (its watermark's business
    day) the figures of `snapshot`, and the record to keep in its rating state.

    `record` is the kept [group, day, buckets] of its latest sample (None before the first): on
    the same day it is taken out where it was (the batch's increments are summed per counter, so
    a bucket that stays costs nothing), on a later day it stays as the final sample of its day.
    """
    buckets = sample(snapshot)
    moves = [(distribution_key(group, m, day), str(b), 1) for m, b in zip(METRIC_NAMES, buckets, strict=True)]
    if record and record[1] == day:
        moves += [(distribution_key(record[0], m, day), str(b), -1) for m, b in zip(METRIC_NAMES, record[2], strict=False)]
    return moves, [group, day, list(buckets)]


async def _distributions(redis: Redis) -> dict[str, dict[str, Distribution]]:
    """group -> metric -> histogram of the customer-days of the last 30 business days (by the
    newest day any group has a sample of); keys of older days are deleted."""
    raw: dict[tuple[str, str], dict[int, dict[bytes, bytes]]] = defaultdict(dict)
    async for key in redis.scan_iter(match=f"{DISTRIBUTION_PREFIX}{{*}}:*", count=1000):
        name, _, day = key.decode()[len(DISTRIBUTION_PREFIX) + 1 :].rpartition("}:")
        group, metric = name.rsplit("|", 1)
        raw[(group, metric)][int(day)] = await redis.hgetall(key)
    newest = max((day for days in raw.values() for day in days), default=None)
    out: dict[str, dict[str, Distribution]] = {}
    if newest is None:
        return out
    old = []
    for (group, metric), days in sorted(raw.items()):
        counts: dict[int, int] = defaultdict(int)
        for day, fields in days.items():
            if day <= newest - WINDOW_DAYS:
                old.append(distribution_key(group, metric, day))
                continue
            for bucket, n in fields.items():
                counts[int(bucket)] += int(n)
        dist = Distribution.from_counts(counts)
        if dist.total and metric in METRICS:
            out.setdefault(group, {})[metric] = dist
    for key in old:
        await redis.unlink(key)
    return out


async def publish_baselines(redis: Redis, min_customers: int = 1, archive: Callable[[list[PeerBaseline]], Awaitable[object]] | None = None) -> dict[str, PeerBaseline]:
    """Aggregate the shards of every group over the last 30 business days and publish, with the
    distributions of the group's customer-level figures. `archive`: called with every baseline
    before they are published (the worker sends the versions not archived yet to
    aml.peer-baselines.v1 and waits for the acknowledgement, `archive_new`): a version scoring can
    use is always in the archive; if it raises, nothing is published."""
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
    distributions = await _distributions(redis)
    published: dict[str, PeerBaseline] = {}
    for group, fields in sorted(totals.items()):
        members = fields.get("members", 0)
        days = sorted({int(f.split(":", 1)[0]) for f in fields if f[0].isdigit()})
        if members < min_customers or not days:
            continue
        last = days[-1]
        cash = sum(v for f, v in fields.items() if f.endswith(":c") and int(f.split(":", 1)[0]) > last - WINDOW_DAYS)
        count = sum(v for f, v in fields.items() if f.endswith(":n") and int(f.split(":", 1)[0]) > last - WINDOW_DAYS)
        dists = distributions.get(group, {})
        figures = f"{group}|{members}|{cash}|{count}|{last}" + "".join(f"|{m}:{d.counts()}" for m, d in sorted(dists.items()))
        version = f"pb-{last}-{hashlib.sha256(figures.encode()).hexdigest()[:8]}"
        published[group] = PeerBaseline(group, version, members, cash / members, count / members, {"as_of_day": last}, dists)
    if published:
        if archive is not None:
            await archive(list(published.values()))
        await redis.hset(PUBLISHED_KEY, mapping={g: orjson.dumps(_to_dict(b)) for g, b in published.items()})
    return published


async def archive_new(redis: Redis, baselines: list[PeerBaseline], send: Callable[[list[PeerBaseline]], Awaitable[object]]) -> None:
    """Send the baselines whose version the archive has not acknowledged yet (`ARCHIVED_KEY`: an
    unchanged group republishes the same version every interval), then record them as archived.
    A version stored before the archive existed, or by a worker whose send failed, is sent: the
    record is written only after the acknowledgement."""
    if not baselines:
        return
    marks = await redis.hmget(ARCHIVED_KEY, [b.group for b in baselines])
    new = [b for b, mark in zip(baselines, marks, strict=True) if mark is None or mark.decode() != b.version]
    if new:
        await send(new)
        await redis.hset(ARCHIVED_KEY, mapping={b.group: b.version for b in new})


def _to_dict(b: PeerBaseline) -> dict[str, object]:
    return {
        "group": b.group,
        "version": b.version,
        "customers": b.customers,
        "avg_cash_fen_30d": b.avg_cash_fen_30d,
        "avg_count_30d": b.avg_count_30d,
        "extra": b.extra,
        "distributions": {m: d.counts() for m, d in b.distributions.items()},
    }


def _from_dict(data: dict) -> PeerBaseline:
    dists = {m: Distribution.from_counts(tuple(pair) for pair in counts) for m, counts in (data.pop("distributions", None) or {}).items()}
    return PeerBaseline(**data, distributions=dists)


async def load_baselines(redis: Redis) -> dict[str, PeerBaseline]:
    raw = await redis.hgetall(PUBLISHED_KEY)
    return {g.decode(): _from_dict(orjson.loads(v)) for g, v in raw.items()}
