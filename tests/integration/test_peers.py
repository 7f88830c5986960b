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


async def test_baselines_are_archived_before_scoring_can_use_them(redis):
    """The archive (aml.peer-baselines.v1 in the worker) gets every baseline before Redis does; a
    failed archive publishes nothing: a version a rating names is always in the archive."""
    import pytest

    from streams.state.peers import PUBLISHED_KEY

    await redis.delete(PUBLISHED_KEY)
    group = "individual:retail"
    for i in range(3):
        await redis.hincrby(peer_key(group, f"c{i}"), "members", 1)
        await redis.hincrby(peer_key(group, f"c{i}"), "20000:n", 1)

    async def failing(baselines):
        assert baselines and not await redis.exists(PUBLISHED_KEY)  # not stored yet
        raise ConnectionError("Kafka is away")

    with pytest.raises(ConnectionError):
        await publish_baselines(redis, archive=failing)
    assert await load_baselines(redis) == {}
    archived = []

    async def archive(baselines):
        assert not await redis.exists(PUBLISHED_KEY)
        archived.extend(baselines)

    published = await publish_baselines(redis, archive=archive)
    assert archived == [published[group]] and (await load_baselines(redis))[group] == published[group]
    published_again = await publish_baselines(redis, archive=archive)  # nothing changed: the same version, not archived again
    assert published_again == published and len(archived) == 1
