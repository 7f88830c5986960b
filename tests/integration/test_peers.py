"""Peer-group baselines: published from the sharded day counters, which stay bounded."""

from __future__ import annotations

from streams.state.peers import load_baselines, peer_key, publish_baselines


async def test_baselines_average_the_last_30_days_and_old_counters_are_dropped(redis):
    group = "individual:retail"
    for i in range(25):  # 25 customers spread over the shards
        await redis.hincrby(peer_key(group, f"c{i}"), "members", 1)
    key = peer_key(group, "c0")
    for day in range(20_000, 20_060):  # 60 business days of 2 transactions and CNY 100 cash a day
        await redis.hincrby(key, f"{day}:n", 2)
        await redis.hincrby(key, f"{day}:c", 100_00)
    published = await publish_baselines(redis, min_customers=20)
    baseline = published[group]
    assert baseline.customers == 25
    assert baseline.avg_count_30d == 2 * 30 / 25 and baseline.avg_cash_fen_30d == 100_00 * 30 / 25
    assert baseline.version.startswith("pb-20059-")
    assert (await load_baselines(redis))[group] == baseline
    days = {int(f.decode().split(":")[0]) for f in await redis.hkeys(key) if f[:1].isdigit()}
    assert min(days) == 20_030 and max(days) == 20_059  # older day counters were dropped
    assert await publish_baselines(redis, min_customers=30) == {}  # too small a group: nothing published
