"""Throughput (bench sections `throughput` and `scale-out`).

Every rate is inputs / (process start to the last input offset committed by its group), over
one pre-loaded 4-partition topic of generated transactions; the pass-through and the worker read
the same topic in the same run, so their ratio is not skewed by what else the machine does
between runs as much as two separate runs would be.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from bench.common import (
    BOOTSTRAP,
    PARTITIONS,
    WORKER,
    Bench,
    log,
    produce,
    provision,
    redis_counters,
    redis_delta,
    run_until_committed,
    topics_for,
    worker_env,
)
from streams.cli import create_topics
from streams.settings import Settings


async def aiokafka_rate(topic: str, expected: int) -> float:
    """The client's own limit: a plain batch consumer (getmany) decoding every JSON value."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    seen = 0
    started = None
    try:
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batch:
                started = time.monotonic()
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
    finally:
        await consumer.stop()
    return seen / (time.monotonic() - (started or time.monotonic()))


async def passthrough_rate(topic: str, expected: int, tag: str) -> float:
    """bench/passthrough.py: faust consume -> produce with the worker's delivery pattern."""
    sink = topics_for(tag + "pt")
    await create_topics(Settings(bootstrap_servers=BOOTSTRAP, topics=sink), PARTITIONS, 1)
    group = f"bench-pt-{tag}"
    env = {"BENCH_SOURCE": topic, "BENCH_SINK": sink.transactions, "BENCH_GROUP": group, "BENCH_BOOTSTRAP": BOOTSTRAP}
    return await run_until_committed([([sys.executable, "-m", "bench.passthrough", "worker"], dict(os.environ, **env))], [topic], group, expected, 3600)


async def worker_rate(bench: Bench, topic_tag: str, group: str, expected: int, workers: int = 1) -> dict[str, Any]:
    """`workers` amlstream workers in one group over the tag's pre-loaded topic, on an empty
    Redis; with the workers' and Redis' CPU seconds over the run."""
    topics = topics_for(topic_tag)
    await bench.flush()
    seen: dict[str, Any] = {}
    async with bench.redis() as redis:
        await redis.config_resetstat()
        before = await redis_counters(redis)
        processes = [(WORKER, worker_env(bench, topics, group, 19700 + i)) for i in range(workers)]
        rate = await run_until_committed(processes, [topics.transactions], group, expected, 7200, seen)
        after = await redis_counters(redis)
    return {
        "transactions": expected,
        "workers": workers,
        "tx_per_s": round(rate, 1),
        "seconds": seen["seconds"],
        "worker_cpu_s": seen["process_cpu_s"],
        "redis": redis_delta(before, after, seen["seconds"]),
    }


async def run_throughput(bench: Bench, values: list[bytes], repeat: int = 1) -> dict[str, Any]:
    """The pass-through and the worker over one topic, `repeat` times alternately (P W P W ...):
    the medians of each and of the per-pair ratios."""
    topics = topics_for(bench.tag)
    await provision(topics)
    log(f"{len(values)} transactions; producing to {topics.transactions}")
    produced, _ = await produce(topics.transactions, values)
    log("plain aiokafka getmany consumer")
    raw = await aiokafka_rate(topics.transactions, len(values))
    pairs = []
    for i in range(repeat):
        log(f"bare faust pass-through ({i + 1}/{repeat})")
        passthrough = await passthrough_rate(topics.transactions, len(values), f"{bench.tag}r{i}")
        log(f"one amlstream worker ({i + 1}/{repeat})")
        worker = await worker_rate(bench, bench.tag, f"bench-w1-{bench.tag}-r{i}", len(values))
        pairs.append({"faust_passthrough_msgs_per_s": round(passthrough, 1), "worker": worker, "worker_vs_passthrough": round(worker["tx_per_s"] / passthrough, 3)})
    passthrough = statistics.median(p["faust_passthrough_msgs_per_s"] for p in pairs)
    rate = statistics.median(p["worker"]["tx_per_s"] for p in pairs)
    return {
        "transactions": len(values),
        "repeat": repeat,
        "produce_tx_per_s": round(produced, 1),
        "aiokafka_getmany_msgs_per_s": round(raw, 1),
        "faust_passthrough_msgs_per_s": passthrough,
        "worker_tx_per_s": rate,
        "worker_vs_passthrough": statistics.median(p["worker_vs_passthrough"] for p in pairs),
        "worker_vs_aiokafka": round(rate / raw, 4),
        "worker": pairs[0]["worker"] if repeat == 1 else None,
        "runs": pairs if repeat > 1 else None,
        "targets": {"worker_vs_passthrough": 0.5, "stretch": 0.7},
    }


async def run_scale_out(bench: Bench, values: list[bytes]) -> dict[str, Any]:
    """1 vs 2 workers in one group over the same input (each run on an empty Redis)."""
    runs = {}
    for workers in (1, 2):
        tag = f"{bench.tag}s{workers}"
        topics = topics_for(tag)
        await provision(topics)
        await produce(topics.transactions, values)
        log(f"{workers} worker(s) over {len(values)} transactions")
        runs[workers] = await worker_rate(bench, tag, f"bench-w-{tag}", len(values), workers)
    return {"one_worker": runs[1], "two_workers": runs[2], "ratio": round(runs[2]["tx_per_s"] / runs[1]["tx_per_s"], 3)}
