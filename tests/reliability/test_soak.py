"""Soak (opt-in: `pytest -m soak tests/reliability`): a steady input at a fixed rate for 15 minutes,
sampling the worker's RSS (/proc/<pid>/status VmRSS) and Redis `used_memory` every 30 s. Both must
be flat after a 5-minute warm-up (last sample <= 1.2 x the sample at 5 minutes): the warm-up
covers the 90-day windows filling (below) and the state store's bounded cache of parsed trail
lines (50,000 entries, about 20 MB) filling once, which takes about 4 minutes at 300 tx/s. The
samples go to bench/results/soak-latest.json.

State is bounded by event time (90-day windows and dedup horizon per customer), so Redis memory
is only flat once the stream has covered more than 90 days of event time: the stream compresses
event time (one message every 400 s of event time, ~33 event-hours per wall second at 300/s), so
the warm-up spans ~420 event days. At real-time pace Redis would (rightly) grow for 90 days. The
stream ends a day before the run: the worker sets aside an event time more than a day ahead of
its Kafka record timestamp (the wall clock when produced).

Peer baselines are published (and the peer counters and distributions of days that left the
30-day window pruned) every 10 s of wall time instead of the hourly default: at ~33 event-hours
per wall second that is every ~14 event days, as an hourly publish is at real-time pace; with the
default, ten minutes of compressed stream would keep two years of day keys until the first one.

AMLSTREAM_SOAK_SECONDS (900), AMLSTREAM_SOAK_RATE (300 messages/s), AMLSTREAM_SOAK_CUSTOMERS
(1000), AMLSTREAM_SOAK_INTERVAL (30 s) and AMLSTREAM_SOAK_WARMUP (300 s) change the run."""

from __future__ import annotations

import asyncio
import os
import platform
import random
import time
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from tests.e2e.harness import ROOT
from tests.reliability.support import PrivateRedis, alive, free_port, processed, rss_kib, wait_until_committed

pytestmark = [pytest.mark.services, pytest.mark.soak]

SECONDS = float(os.environ.get("AMLSTREAM_SOAK_SECONDS", "900"))
RATE = float(os.environ.get("AMLSTREAM_SOAK_RATE", "300"))
CUSTOMERS = int(os.environ.get("AMLSTREAM_SOAK_CUSTOMERS", "1000"))
INTERVAL = float(os.environ.get("AMLSTREAM_SOAK_INTERVAL", "30"))
WARMUP = float(os.environ.get("AMLSTREAM_SOAK_WARMUP", "300"))
PUBLISH_INTERVAL_S = "10"  # peer baselines published and pruned (see above)
STEP_MS = 400_000  # event time between two consecutive messages
DAY_MS = 86_400_000
# the compressed stream ends a day before today (UTC midnight): its event times are never ahead of
# the Kafka record timestamps (wall clock), which the worker checks them against, and Kafka refuses
# record timestamps over an hour ahead (message.timestamp.after.max.ms), so they cannot follow it
BASE_MS = (int(time.time() * 1000) // DAY_MS - 1) * DAY_MS - int(SECONDS * RATE) * STEP_MS
RESULTS = ROOT / "bench" / "results" / "soak-latest.json"


def message(i: int, rng: random.Random) -> tuple[bytes, bytes]:
    c = f"s{rng.randrange(CUSTOMERS):05d}"
    ts = BASE_MS + i * STEP_MS - rng.randrange(0, 600_000)  # a little out of order
    doc = {
        "tx_id": f"s{i:08d}",
        "customer_id": c,
        "ts": datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "direction": rng.choice(("in", "out")),
        "amount": str(rng.choice((120, 880, 15_000, 26_000, 49_000, 120_000))),
        "currency": rng.choice(("CNY", "CNY", "CNY", "USD")),
        "method": "cash" if rng.random() < 0.3 else "transfer",
        "counterparty_id": f"p{rng.randrange(5000)}",
        "cross_border": rng.random() < 0.1,
    }
    return c.encode(), orjson.dumps(doc)


async def produce_steadily(bootstrap: str, topic: str, seconds: float, rate: float) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=10)
    await producer.start()
    rng = random.Random(7)
    started = time.monotonic()
    sent = 0
    pending = []
    try:
        while time.monotonic() - started < seconds:
            key, value = message(sent, rng)
            pending.append(await producer.send(topic, key=key, value=value))
            sent += 1
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0.002:
                await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def memory_by_kind(redis: Redis) -> dict[str, dict[str, int]]:
    """MEMORY USAGE summed per kind of key (customer:a, customer:x, ..., aml:peer, aml:levels)."""
    out: dict[str, dict[str, int]] = {}
    async for key in redis.scan_iter(count=1000):
        k = key.decode()
        kind = "customer:" + k.rsplit(":", 1)[-1] if k.startswith("aml:{") else k.split("{", 1)[0].rstrip(":")
        entry = out.setdefault(kind, {"keys": 0, "bytes": 0})
        entry["keys"] += 1
        entry["bytes"] += await redis.memory_usage(key) or 0
    return dict(sorted(out.items()))


async def test_soak_memory_is_flat(make_pipeline, tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory, free_port(6400)).start()
    pipeline = make_pipeline(redis_url=server.url)
    await pipeline.create_topics(replication=1)
    redis = Redis.from_url(server.url)
    worker = pipeline.start_worker(AMLSTREAM_PEER_PUBLISH_INTERVAL_S=PUBLISH_INTERVAL_S)
    samples: list[dict] = []
    breakdown: dict[str, dict] = {}
    try:
        deadline = time.monotonic() + 60
        while processed([worker]) == 0 and worker.counter("amlstream_model_info") == 0:
            assert alive(worker) and time.monotonic() < deadline, pipeline.logs()
            await asyncio.sleep(0.5)
        producing = asyncio.create_task(produce_steadily(pipeline.bootstrap, pipeline.topics.transactions, SECONDS, RATE))
        started = time.monotonic()
        next_at = 0.0
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= next_at:
                assert alive(worker), pipeline.logs()
                info = await redis.info("memory")
                samples.append(
                    {
                        "t_s": round(elapsed, 1),
                        "worker_rss_kib": rss_kib(worker.proc.pid),
                        "redis_used_memory": int(info["used_memory"]),
                        "redis_keys": await redis.dbsize(),
                        "processed": processed([worker]),
                        "backlog": worker.counter("amlstream_consumer_lag"),
                    }
                )
                if WARMUP <= elapsed < WARMUP + INTERVAL:
                    breakdown["warmup"] = await memory_by_kind(redis)
                print(samples[-1])
                next_at += INTERVAL
            if producing.done():
                break
            await asyncio.sleep(min(1.0, max(0.05, next_at - elapsed)))
        produced = producing.result()
        breakdown["last"] = await memory_by_kind(redis)
        await wait_until_committed(pipeline, timeout_s=300, workers=[worker])
        applied = worker.counter("amlstream_transactions_total", outcome="applied")
        outcomes = {o: worker.counter("amlstream_transactions_total", outcome=o) for o in ("applied", "redelivered", "duplicate", "dead_letter")}
    finally:
        await redis.aclose()
        pipeline.stop()
        server.stop()
        await _delete_topics(pipeline)

    at_warmup = next(s for s in samples if s["t_s"] >= WARMUP - 1)
    last = samples[-1]
    verdict = {
        "rss_ratio": last["worker_rss_kib"] / at_warmup["worker_rss_kib"],
        "redis_ratio": last["redis_used_memory"] / at_warmup["redis_used_memory"],
    }
    result = {
        "test": "tests/reliability/test_soak.py",
        "finished_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "config": {
            "seconds": SECONDS,
            "rate_per_s": RATE,
            "customers": CUSTOMERS,
            "event_step_ms": STEP_MS,
            "sample_interval_s": INTERVAL,
            "warmup_s": WARMUP,
            "peer_publish_interval_s": float(PUBLISH_INTERVAL_S),
        },
        "produced": produced,
        "applied": applied,
        "outcomes": outcomes,
        "samples": samples,
        "redis_memory_by_key_kind": breakdown,
        "ratios_last_vs_warmup": verdict,
        "flat": verdict["rss_ratio"] <= 1.2 and verdict["redis_ratio"] <= 1.2,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(orjson.dumps(verdict).decode())
    assert applied == produced, "every message applied once"
    assert verdict["rss_ratio"] <= 1.2, f"worker RSS grew: {at_warmup['worker_rss_kib']} KiB at {WARMUP:.0f}s -> {last['worker_rss_kib']} KiB"
    assert verdict["redis_ratio"] <= 1.2, f"Redis used_memory grew: {at_warmup['redis_used_memory']} -> {last['redis_used_memory']}"


async def _delete_topics(pipeline) -> None:
    """The soak topics hold ~50 MB: do not leave them on the shared broker."""
    t = pipeline.topics
    admin = AIOKafkaAdminClient(bootstrap_servers=pipeline.bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([t.transactions, t.customers, t.risk_changes, t.patterns, t.large_value, t.dead_letter])
    finally:
        await admin.close()
