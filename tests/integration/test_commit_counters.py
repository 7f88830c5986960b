"""A batch's counter increments (per-level customer counts, peer statistics and distributions) are
counted once on the real Redis, however often its commit is retried: the retry of a commit whose
pipeline Redis ran before the connection dropped, and the rerun after Redis lost its script
cache. Two different batches with the same increments both count."""

from __future__ import annotations

from dataclasses import replace
from zlib import crc32

import orjson
import pytest
from redis.exceptions import ConnectionError

from streams.engine import Engine
from streams.events import Source
from streams.retry import retry
from streams.state import StateStore
from streams.state.store import GUARD_TTL_S, LEVEL_SHARDS


class LosesReply(StateStore):
    """The real store on the real Redis, except that the reply of round trip `lose_at` is lost:
    Redis ran every command of the pipeline, then the connection dropped (what redis-py raises)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.trips = 0
        self.lose_at: int | None = None

    async def _execute(self, fill):  # type: ignore[no-untyped-def]
        self.trips += 1
        replies = await super()._execute(fill)
        if self.trips == self.lose_at:
            raise ConnectionError("Connection closed by server.")
        return replies


def leg(offset: int, customer: str, yuan: int = 60_000, hour: int = 10) -> Source:
    doc = {
        "tx_id": f"{customer}-{offset}",
        "customer_id": customer,
        "ts": f"2026-11-02T{hour:02d}:00:00+08:00",
        "direction": "in",
        "amount": f"{yuan}.00",
        "currency": "CNY",
        "method": "cash",
        "counterparty_id": "p1",
    }
    return Source("aml.transactions.v1", 0, offset, customer.encode(), orjson.dumps(doc))


async def counters(redis) -> dict[str, dict[str, int]]:
    """Every level count, peer statistic and distribution counter, without zeros."""
    out = {}
    for pattern in ("aml:levels:*", "aml:peer:{*", "aml:peerq:*"):
        async for key in redis.scan_iter(match=pattern):
            fields = {f.decode(): int(v) for f, v in (await redis.hgetall(key)).items() if int(v)}
            if fields:
                out[key.decode()] = fields
    return out


async def test_a_retried_commit_after_redis_ran_the_pipeline_counts_once(redis, model):
    store = LosesReply(redis)
    engine = Engine(store, model)
    result = await engine.process([leg(1, "a"), leg(2, "b"), leg(3, "c", 120_000), leg(4, "a", 1_000, 11)])
    assert result.level_moves and result.peer_increments  # there is something to count twice
    store.lose_at = store.trips + 1
    await retry("commit", lambda: engine.commit(result), max_delay_s=0.01)
    assert store.trips == store.lose_at + 1  # one lost reply, one retry
    after = await counters(redis)
    assert sum(after[k]["normal"] for k in after if k.startswith("aml:levels:")) == 3  # three customers, each counted once
    members = sum(fields.get("members", 0) for k, fields in after.items() if k.startswith("aml:peer:{"))
    assert members == 3
    # the same batch's commit once more (a later retry): nothing moves
    await engine.commit(result)
    assert await counters(redis) == after


async def test_a_commit_rerun_after_redis_lost_its_scripts_counts_once(redis, model):
    """Redis restarted between the batch's apply and its commit: the commit scripts answer
    NOSCRIPT while the rest of the pipeline runs; the store loads the scripts and runs it again."""
    engine = Engine(StateStore(redis), model)
    clean = await engine.process([leg(1, "a"), leg(2, "b")])
    await engine.commit(clean)
    expected = await counters(redis)
    await redis.flushdb()
    result = await engine.process([leg(1, "a"), leg(2, "b")])
    await redis.script_flush()
    await engine.commit(result)
    assert await counters(redis) == expected


def same_shards(n: int) -> list[str]:
    """n customer ids whose level counts and peer statistics fall in the same shards."""
    ids = [f"s{i}" for i in range(2000)]
    first = crc32(ids[0].encode()) % LEVEL_SHARDS  # PEER_SHARDS divides LEVEL_SHARDS
    return [c for c in ids if crc32(c.encode()) % LEVEL_SHARDS == first][:n]


@pytest.mark.parametrize("checkpoints", [True, False], ids=["worker", "replay"])
async def test_b_two_batches_with_the_same_increments_both_count(redis, model, checkpoints):
    one, two = same_shards(2)
    engine = Engine(StateStore(redis), model, record_checkpoints=checkpoints)
    first = await engine.process([leg(1, one)])
    await engine.commit(first)
    once = await counters(redis)
    second = await engine.process([leg(2, two)])  # another customer in the same shards, the same leg
    assert first.peer_increments == second.peer_increments and len(first.level_moves) == len(second.level_moves) == 1
    await engine.commit(second)
    assert await counters(redis) == {key: {f: 2 * n for f, n in fields.items()} for key, fields in once.items()}


async def test_on_a_cluster_each_hash_tag_is_guarded_on_its_own(redis, model):
    """The cluster path (one call per customer and per counter hash tag, sent concurrently) on the
    single test Redis: a retry after only some of the calls ran applies the others, once."""
    store = StateStore(redis)
    store.cluster = True
    engine = Engine(store, model)
    batch = [leg(1, "a"), leg(2, "b"), leg(3, "c", 120_000)]
    await engine.commit(await engine.process(batch))
    expected = await counters(redis)
    tags = {key.split("{", 1)[1].split("}", 1)[0] for key in expected}
    guards = [key async for key in redis.scan_iter(match="aml:commit-guard:*")]
    assert sorted(g.decode().split("{", 1)[1].split("}", 1)[0] for g in guards) == sorted(tags)  # one guard per tag
    assert all(GUARD_TTL_S - 60 < ttl <= GUARD_TTL_S for ttl in [await redis.ttl(g) for g in guards])
    await redis.flushdb()
    result = await engine.process(batch)
    # the first attempt: Redis ran the customers' commits and the level counts' calls, not the peer statistics'
    await engine.commit(replace(result, peer_increments=[]))
    await engine.commit(result)  # the retry
    assert await counters(redis) == expected
