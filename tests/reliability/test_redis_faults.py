"""Redis crashes and comes back from its AOF, then is unreachable for 30 s, while a worker runs
on a steady input: the worker never exits, pauses while Redis is away (/readyz 503, nothing
committed past the failing batch), resumes (/readyz 200) and skips nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from tests.e2e.test_crash_recovery import generated_stream
from tests.reliability.support import (
    PrivateRedis,
    alive,
    committed,
    free_port,
    http_status,
    processed,
    produce,
    verify_pipeline,
    wait_for_progress,
    wait_until_committed,
)

pytestmark = pytest.mark.services

OUTAGE_S = 30


async def wait_ready(port: int, timeout_s: float) -> float:
    started = time.monotonic()
    while (status := http_status(port, "/readyz"))[0] != 200:
        assert time.monotonic() - started < timeout_s, f"/readyz still {status} after {timeout_s}s"
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_redis_crash_restart_and_a_30s_outage(make_pipeline, tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir()
    # appendfsync always: every write the worker saw acknowledged is on disk when Redis is SIGKILLed
    # (with the default everysec a crash may drop the last second of writes, which no client can see)
    server = PrivateRedis(directory, free_port(6393), "--appendfsync", "always").start()
    pipeline = make_pipeline(redis_url=server.url)
    await pipeline.create_topics(replication=1)
    stop = asyncio.Event()
    producing = asyncio.create_task(
        produce(pipeline.bootstrap, pipeline.topics.transactions, generated_stream(seed=41, customers=100, count=20_000), rate=100, stop=stop)
    )
    redis = Redis.from_url(server.url)
    try:
        worker = pipeline.start_worker(AMLSTREAM_REDIS_RETRY_MAX_S="1", AMLSTREAM_BATCH_SIZE="50", AMLSTREAM_BATCH_WINDOW_MS="50")
        pid = worker.proc.pid
        await wait_ready(worker.port, 60)
        await wait_for_progress(pipeline, [worker], 300)

        # 1. crash: SIGKILL, then restart from the AOF at once
        server.kill()
        await asyncio.to_thread(server.start)
        before = processed([worker])
        await wait_for_progress(pipeline, [worker], before + 300, timeout_s=60)
        assert http_status(worker.port, "/readyz")[0] == 200

        # 2. unreachable for 30 s (connection refused), then back with its data
        errors_before = worker.counter("amlstream_redis_errors_total")
        await asyncio.to_thread(server.shutdown)
        down_at = time.monotonic()
        samples: list[tuple[float, int, str]] = []
        paused_at: tuple[float, dict[int, int]] | None = None
        while (elapsed := time.monotonic() - down_at) < OUTAGE_S:
            code, body = http_status(worker.port, "/readyz")
            samples.append((elapsed, code, body.strip()))
            if paused_at is None and elapsed >= 5:
                paused_at = (processed([worker]), await committed(pipeline.bootstrap, pipeline.group, pipeline.topics.transactions, pipeline.partitions))
            await asyncio.sleep(0.5)
        assert alive(worker) and worker.proc.pid == pid, "the worker must wait for Redis, not exit"
        assert paused_at is not None
        # paused: nothing processed or committed past the failing batch while Redis is away
        assert processed([worker]) == paused_at[0]
        assert await committed(pipeline.bootstrap, pipeline.group, pipeline.topics.transactions, pipeline.partitions) == paused_at[1]
        assert worker.counter("amlstream_redis_errors_total") > errors_before
        not_ready = [s for s in samples if s[1] == 503]
        assert not_ready and "redis unavailable" in not_ready[-1][2], samples
        first_503 = not_ready[0][0]
        assert first_503 < 10, f"/readyz took {first_503:.1f}s to report the outage"
        assert all(code == 503 for t, code, _ in samples if t >= first_503), samples

        await asyncio.to_thread(server.start)
        back_s = await wait_ready(worker.port, 30)
        before = processed([worker])
        await wait_for_progress(pipeline, [worker], before + 300, timeout_s=60)

        stop.set()
        await asyncio.wait_for(producing, 60)
        await wait_until_committed(pipeline, timeout_s=180, workers=[worker])
        assert alive(worker) and worker.proc.pid == pid
        await verify_pipeline(pipeline, redis)
        print(f"/readyz 503 {first_503:.1f}s after Redis went away, 200 again {back_s:.1f}s after it came back")
    finally:
        stop.set()
        if not producing.done():
            producing.cancel()
        await redis.aclose()
        pipeline.stop()
        server.stop()
