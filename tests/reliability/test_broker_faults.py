"""A broker of the 3-node Kafka cluster (RF 3, min ISR 2) stopped or killed while a worker runs:
the worker never exits, consumes the whole input and the outcome equals a clean run."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.e2e.test_crash_recovery import generated_stream
from tests.reliability.support import (
    alive,
    coordinator_of,
    leader_of,
    processed,
    produce,
    services_async,
    verify_pipeline,
    wait_for_progress,
    wait_until_committed,
)

pytestmark = pytest.mark.services

RATE = 150  # input messages/s: the stream lasts ~20 s, so the fault always lands mid-stream


async def run_with_broker_fault(kafka_cluster, make_pipeline, worker_redis, *, kill: bool) -> dict[str, float]:
    pipeline = make_pipeline(bootstrap=kafka_cluster)
    await pipeline.create_topics(replication=3)
    stream = generated_stream(seed=23 if kill else 29, customers=120, count=3000)
    producing = asyncio.create_task(produce(kafka_cluster, pipeline.topics.transactions, stream, rate=RATE))
    worker = pipeline.start_worker(AMLSTREAM_BATCH_SIZE="20", AMLSTREAM_BATCH_WINDOW_MS="20")
    pid = worker.proc.pid
    timings: dict[str, float] = {}
    try:
        await wait_for_progress(pipeline, [worker], 400)
        # SIGTERM: the group coordinator (the worker must find the new one); SIGKILL: the leader of
        # input partition 0 (fetches and the emitter's produce requests must move to the new leader)
        if kill:
            node = await leader_of(kafka_cluster, pipeline.topics.transactions, 0)
            _, timings["node_kill_s"] = await services_async("cluster-node-stop", str(node), "--kill")
        else:
            node = await coordinator_of(kafka_cluster, pipeline.group)
            _, timings["node_sigterm_s"] = await services_async("cluster-node-stop", str(node))
        down_at, before = time.monotonic(), processed([worker])
        # with one broker of three down the worker keeps going (acks=all needs 2 in-sync replicas)
        await wait_for_progress(pipeline, [worker], before + 600, timeout_s=120)
        timings["progress_600_with_node_down_s"] = time.monotonic() - down_at
        await asyncio.sleep(max(0.0, 8 - (time.monotonic() - down_at)))  # down for 8 s at least
        _, timings["node_restart_s"] = await services_async("cluster-node-start", str(node))
        await asyncio.wait_for(producing, 180)
        await wait_until_committed(pipeline, timeout_s=180, workers=[worker])
        assert alive(worker) and worker.proc.pid == pid, "the worker must never exit"
        await verify_pipeline(pipeline, worker_redis[1])
        # and it still drains and leaves cleanly on SIGTERM (README: graceful SIGTERM drain)
        started = time.monotonic()
        assert worker.kill(signal.SIGTERM) == 0
        timings["worker_sigterm_exit_s"] = time.monotonic() - started
        assert timings["worker_sigterm_exit_s"] < 30, timings
        return timings
    finally:
        if not producing.done():
            producing.cancel()
        await services_async("cluster-start", "kafka")  # the next test gets three brokers whatever happened


async def test_broker_sigterm_mid_stream_then_restart(kafka_cluster, make_pipeline, worker_redis):
    timings = await run_with_broker_fault(kafka_cluster, make_pipeline, worker_redis, kill=False)
    print(timings)


async def test_partition_leader_sigkill_mid_stream_then_restart(kafka_cluster, make_pipeline, worker_redis):
    timings = await run_with_broker_fault(kafka_cluster, make_pipeline, worker_redis, kill=True)
    print(timings)
