"""A worker SIGKILLed mid-stream and restarted: nothing lost, nothing counted twice, and every
event of a clean run is emitted with the same event_id (duplicates only as exact re-emissions)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import orjson
from redis.asyncio import Redis

from streams.engine import Engine
from streams.events import Source
from streams.model import load_model
from streams.state import StateStore
from tests.e2e.harness import output_events, produce, read_all, wait_until_committed

CLEAN_DB = 13


def generated_stream(seed: int = 11, customers: int = 120, count: int = 2400) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    out = []
    base_ms = 1_795_000_000_000
    for i in range(count):
        c = f"k{rng.randrange(customers):03d}"
        ts = base_ms + i * 37_000 + rng.randrange(-3_600_000, 0)  # a little out of order
        cash = rng.random() < 0.3
        doc = {
            "tx_id": f"x{i:05d}",
            "customer_id": c,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1000)) + "Z",
            "direction": rng.choice(("in", "out")),
            "amount": str(rng.choice((120, 880, 15_000, 26_000, 49_000))),
            "currency": rng.choice(("CNY", "CNY", "USD")),
            "method": "cash" if cash else "transfer",
            "counterparty_id": f"p{rng.randrange(30)}",
            "cross_border": rng.random() < 0.1,
        }
        out.append((c.encode(), orjson.dumps(doc)))
        if i % 97 == 0:  # the bank's producer resends some messages: same tx_id, same content
            out.append(out[-1])
        if i % 251 == 0:
            out.append((c.encode(), b'{"broken": '))
    return out


async def clean_run(records: list[tuple[str, int, int, bytes | None, bytes]], redis_url: str) -> tuple[set[str], Redis]:
    """The same input through the same engine, in-process, one partition after another."""
    redis = Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{CLEAN_DB}")
    await redis.flushdb()
    engine = Engine(StateStore(redis), load_model())
    ids: set[str] = set()
    ordered = sorted(records, key=lambda r: (r[1], r[2]))
    for start in range(0, len(ordered), 64):
        chunk = [Source(t, p, o, k, v) for t, p, o, k, v in ordered[start : start + 64]]
        result = await engine.process(chunk)
        ids.update(e.value["event_id"] for e in result.events)
        await engine.commit(result)
    return ids, redis


async def aggregate_state(redis: Redis, customers: set[str]) -> dict[str, dict]:
    return await StateStore(redis).aggregates(sorted(customers))


async def wait_for_progress(worker, at_least: float, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while worker.counter("amlstream_transactions_total") < at_least:
        assert worker.proc.poll() is None, worker.log()[-3000:]
        assert time.monotonic() < deadline, "worker made no progress"
        await asyncio.sleep(0.05)


async def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(pipeline_env):
    env = pipeline_env
    topics = env["topics"]
    stream = generated_stream()
    await produce(topics.transactions, stream)

    # small batches so the kills land mid-stream, between Redis apply, emit and commit
    settings = {"AMLSTREAM_BATCH_SIZE": "20", "AMLSTREAM_BATCH_WINDOW_MS": "20"}
    for threshold in (300, 400, 500):
        worker = env["start_worker"](**settings)
        await wait_for_progress(worker, threshold)
        assert worker.kill() == -9
    final = env["start_worker"](**settings)
    await wait_until_committed(topics, env["group"], timeout_s=180)

    inputs = await read_all([topics.transactions], until=len(stream))
    assert len(inputs) == len(stream)
    clean_ids, clean_redis = await clean_run(inputs, env["redis_url"])
    try:
        emitted = await output_events(topics, until=len(clean_ids), idle_s=3)
        emitted_ids = Counter(e["event_id"] for e in emitted)
        # (c) the same distinct events as a clean run; repeats are exact re-emissions
        extra = [e for e in emitted if e["event_id"] not in clean_ids]
        assert set(emitted_ids) == clean_ids, f"not in the clean run: {orjson.dumps(extra[:3]).decode()[:4000]}; missing: {len(clean_ids - set(emitted_ids))}"
        by_id = {}
        for e in emitted:
            stable = {k: v for k, v in e.items() if k != "emitted_at"}
            assert by_id.setdefault(e["event_id"], stable) == stable
        # (a) aggregates equal the clean recomputation, customer by customer
        customers = {orjson.loads(v)["customer_id"] for *_, v in inputs if v.startswith(b'{"tx_id"')}
        assert await aggregate_state(env["redis"], customers) == await aggregate_state(clean_redis, customers)
        # (b) every valid transaction counted exactly once: seq = distinct tx_ids per customer
        distinct: dict[str, set[str]] = {}
        for *_, v in inputs:
            if v.startswith(b'{"tx_id"'):
                doc = orjson.loads(v)
                distinct.setdefault(doc["customer_id"], set()).add(doc["tx_id"])
        for c, ids in distinct.items():
            assert await StateStore(env["redis"]).applied_count(c) == len(ids)
        dead = [e for e in emitted if e["event_type"] == "dead_letter"]
        broken = {(p, o) for _, p, o, _, v in inputs if v == b'{"broken": '}
        assert {(e["source"]["partition"], e["source"]["offset"]) for e in dead} == broken
        assert len({e["event_id"] for e in dead}) == len(broken)
        assert final.proc.poll() is None
    finally:
        await clean_redis.flushdb()
        await clean_redis.aclose()
