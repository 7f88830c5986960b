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

    from streams.state.peers import ARCHIVED_KEY, PUBLISHED_KEY, archive_new

    await redis.delete(PUBLISHED_KEY, ARCHIVED_KEY)
    group = "individual:retail"
    for i in range(3):
        await redis.hincrby(peer_key(group, f"c{i}"), "members", 1)
        await redis.hincrby(peer_key(group, f"c{i}"), "20000:n", 1)

    async def failing(baselines):
        assert baselines and not await redis.exists(PUBLISHED_KEY)  # not stored yet
        raise ConnectionError("Kafka is away")

    with pytest.raises(ConnectionError):
        await publish_baselines(redis, archive=lambda baselines: archive_new(redis, baselines, failing))
    assert await load_baselines(redis) == {} and not await redis.exists(ARCHIVED_KEY)
    sent = []

    async def send(baselines):
        assert not await redis.exists(PUBLISHED_KEY)
        sent.extend(baselines)

    published = await publish_baselines(redis, archive=lambda baselines: archive_new(redis, baselines, send))
    assert sent == [published[group]] and (await load_baselines(redis))[group] == published[group]
    # nothing changed: the same version, not sent again
    assert await publish_baselines(redis, archive=lambda baselines: archive_new(redis, baselines, send)) == published and len(sent) == 1


async def test_a_version_published_before_the_archive_existed_is_archived_once(redis):
    """A baseline stored by a release without the archive (or while its send failed) is still in
    use: the next publication archives it though it did not change."""
    from streams.state.peers import ARCHIVED_KEY, PUBLISHED_KEY, archive_new

    await redis.delete(PUBLISHED_KEY, ARCHIVED_KEY)
    group = "individual:retail"
    await redis.hincrby(peer_key(group, "c0"), "members", 1)
    await redis.hincrby(peer_key(group, "c0"), "20000:n", 1)
    before = await publish_baselines(redis)  # the release before: no archive
    sent = []

    async def send(baselines):
        sent.extend(baselines)

    again = await publish_baselines(redis, archive=lambda baselines: archive_new(redis, baselines, send))
    assert again == before and sent == [before[group]]
