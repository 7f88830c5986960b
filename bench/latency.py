"""Latency at 50 % load (bench section `latency`).

A producer offers a steady rate of transactions of first-time customers (each yields a first
rating, so one risk change per transaction) with event time = the wall clock when it is sent;
latency = the risk change's Kafka record timestamp (set when the worker hands it to its
producer) - the transaction's event time. Run once per batch window (`AMLSTREAM_BATCH_WINDOW_MS`):
a transaction waits for its batch to fill or for the window to close, so at a rate that fills a
batch more slowly than the window, the window is a floor under the mean latency.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import BOOTSTRAP, WORKER, Bench, log, percentiles, provision, start, stop, topics_for, worker_env

WINDOWS_MS = (200, 50, 20)
BATCH = 200  # the worker's batch size in this run


async def offer(topic: str, rate: float, seconds: int, prefix: str) -> int:
    """Send `rate` transactions a second for `seconds`; returns how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=1)
    await producer.start()
    sent = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            target = int((time.monotonic() - started) * rate)
            while sent < target:
                now = datetime.now(tz=UTC)
                cid = f"{prefix}{sent:08d}"
                doc = {
                    "tx_id": f"{prefix}T{sent:09d}",
                    "customer_id": cid,
                    "ts": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "direction": "in",
                    "amount": "123.45",
                    "currency": "CNY",
                    "method": "transfer",
                }
                await producer.send(topic, key=cid.encode(), value=orjson.dumps(doc))
                sent += 1
            await asyncio.sleep(0.002)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def collect(topic: str, expected: int, timeout_s: float = 120) -> list[float]:
    """Record timestamp - occurred_at (ms) of every risk change on `topic`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    samples: list[float] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(samples) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for r in records:
                    event = orjson.loads(r.value)
                    occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp() * 1000
                    samples.append(r.timestamp - occurred)
    finally:
        await consumer.stop()
    return samples


async def latency(bench: Bench, rate: float, seconds: int, window_ms: int) -> dict[str, Any]:
    tag = f"{bench.tag}lat{window_ms}"
    topics = topics_for(tag)
    await provision(topics)
    await bench.flush()
    env = worker_env(bench, topics, f"bench-lat-{tag}", 19750, batch=BATCH, AMLSTREAM_BATCH_WINDOW_MS=str(window_ms))
    proc = start(WORKER, env)
    try:
        await asyncio.sleep(15)  # worker start-up and group join
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited {proc.returncode}")
        sent = await offer(topics.transactions, rate, seconds, f"L{window_ms}{tag[:4]}")
        samples = await collect(topics.risk_changes, sent)
    finally:
        stop([proc])
    return {
        "batch_window_ms": window_ms,
        "batch_size": BATCH,
        "offered_tx_per_s": round(rate, 1),
        "seconds": seconds,
        "sent": sent,
        "measured": len(samples),
        **percentiles(samples),
        "mean_ms": round(sum(samples) / len(samples), 1) if samples else None,
    }


async def run_latency(bench: Bench, rate: float, seconds: int) -> dict[str, Any]:
    runs = []
    for window in WINDOWS_MS:
        log(f"latency at {rate:.0f} tx/s, batch window {window} ms")
        runs.append(await latency(bench, rate, seconds, window))
    return {
        "method": "risk change record timestamp - event time (= send time) of first-time customers' transactions, at 50 % of the worker's measured rate",
        "batch_fill_ms_at_rate": round(BATCH / rate * 1000, 1),
        "runs": runs,
        "target_p99_ms": 150,
    }
