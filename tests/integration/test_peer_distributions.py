"""Population distributions on the real Redis: the engine keeps one sample per customer-day in its
peer group's histograms (moved within a day, whatever the batching), publishing turns them into
the baselines' distributions with a version, and a rule with a relative line names that version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from factors.distribution import bucket_of
from streams.events import Source
from streams.state.peers import DISTRIBUTION_PREFIX, distribution_key, load_baselines, publish_baselines

GROUP = "individual:unknown"  # customers without a profile
DAY0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


def leg(tx_id: str, customer: str, at: datetime, direction: str, yuan: int, counterparty: str) -> Source:
    value = {
        "tx_id": tx_id,
        "customer_id": customer,
        "ts": at.isoformat().replace("+00:00", "Z"),
        "direction": direction,
        "amount": f"{yuan}.00",
        "currency": "CNY",
        "method": "transfer",
        "channel": "online",
        "counterparty_id": counterparty,
    }
    return Source("aml.transactions.v1", 0, 0, customer.encode(), orjson.dumps(value))


async def run(engine, records: list[Source]):
    result = await engine.process(records)
    await engine.commit(result)
    return result


async def test_one_sample_per_customer_day_moved_within_the_day_and_published_with_a_version(engine, redis):
    # day 0: 120 customers receive 100 .. 12,000 yuan; the first 10 a second time, in a later batch
    await run(engine, [leg(f"a{i}", f"c{i}", DAY0, "in", 100 * (i + 1), f"p{i}") for i in range(120)])
    await run(engine, [leg(f"b{i}", f"c{i}", DAY0 + timedelta(hours=2), "in", 50_000, f"q{i}") for i in range(10)])
    day0 = engine.model.calendar.business_day(int(DAY0.timestamp() * 1000))
    key = distribution_key(GROUP, "in_7d", day0)
    counts = {int(f): int(v) for f, v in (await redis.hgetall(key)).items() if int(v)}
    assert await redis.object("encoding", key) == b"listpack"  # a day's buckets: a small hash
    assert sum(counts.values()) == 120  # the 10 customers' samples moved, not added
    assert counts[bucket_of(50_000 + 100)] + counts.get(bucket_of(50_000 + 1_000), 0) >= 10 - 1
    # day 1: 30 of them again: new samples (day 0's stay as they were)
    await run(engine, [leg(f"d{i}", f"c{i}", DAY0 + timedelta(days=1), "out", 10, f"r{i}") for i in range(30)])
    published = await publish_baselines(redis, min_customers=20)
    baseline = published[GROUP]
    dist = baseline.distributions["in_7d"]
    assert dist.total == 150 and baseline.distributions["payees_7d"].total == 150
    assert 10_000 < dist.quantile(0.9) < 60_000  # the 50,000 receipts of ten customers (counted on both days) are the top 10 %
    assert baseline.version.startswith(f"pb-{day0 + 1}-")
    assert (await load_baselines(redis))[GROUP] == baseline
    # 40 days on: day 0 and 1 leave the window, their keys are deleted when publishing
    await run(engine, [leg("late", "c0", DAY0 + timedelta(days=40), "in", 1, "p0")])
    again = await publish_baselines(redis, min_customers=1)
    assert again[GROUP].distributions["in_7d"].total == 1
    keys = [k.decode() async for k in redis.scan_iter(match=f"{DISTRIBUTION_PREFIX}*")]
    assert keys and {int(k.rsplit(":", 1)[1]) for k in keys} == {day0 + 40}


async def test_a_relative_line_names_the_baseline_version(engine, redis):
    # a group of 150 customers receiving 1,000 .. 15,000 yuan and keeping it
    await run(engine, [leg(f"a{i}", f"c{i}", DAY0, "in", 100 * (i + 1), f"p{i}") for i in range(150)])
    # before any publication a pass-through is held to the floor, and the alert says why
    early = await run(engine, [leg("e-in", "early", DAY0, "in", 60_000, "src"), leg("e-out", "early", DAY0 + timedelta(hours=1), "out", 57_000, "dst")])
    first = next(e.value for e in early.events if e.kind == "suspicious_pattern" and e.value["pattern"] == "rapid_in_out")
    floor_basis = first["thresholds"]["relative"]["min_in_cny"]
    assert floor_basis["from"] == "floor" and first["thresholds"]["min_in_cny"] == floor_basis["floor"]
    assert floor_basis["quantile"]["unavailable"] == "no published peer baseline for the customer's group"
    engine.peers.update(await publish_baselines(redis, min_customers=20))
    version = engine.peers[GROUP].version
    # the next day one of them passes 60,000 through within hours: rapid_in_out's relative line
    at = DAY0 + timedelta(days=1)
    result = await run(engine, [leg("z-in", "c0", at, "in", 60_000, "src"), leg("z-out", "c0", at + timedelta(hours=3), "out", 57_000, "dst")])
    alerts = [e.value for e in result.events if e.kind == "suspicious_pattern"]
    hit = next(a for a in alerts if a["pattern"] == "rapid_in_out")
    basis = hit["thresholds"]["relative"]["min_in_cny"]
    assert basis["quantile"]["peer_version"] == version and basis["quantile"]["peer_group"] == GROUP
    assert basis["quantile"]["samples"] == 151
    assert hit["thresholds"]["min_in_cny"] >= basis["floor"]
    assert hit["thresholds"]["min_in_cny"] <= 60_000
