"""Two workers in one group, one SIGKILLed mid-stream: the survivor takes over its partitions;
later a third joins while the input keeps flowing (a rebalance under load). Nothing is lost or
counted twice and the outputs equal a clean run. On the single-node broker, unique topics."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.test_crash_recovery import generated_stream
from tests.reliability.support import alive, committed, processed, produce, verify_pipeline, wait_for_progress, wait_until_committed

pytestmark = pytest.mark.services

SETTINGS = {"AMLSTREAM_BATCH_SIZE": "20", "AMLSTREAM_BATCH_WINDOW_MS": "20", "AMLSTREAM_SESSION_TIMEOUT_S": "6"}


async def test_member_killed_survivor_takes_over_and_a_third_joins_under_load(make_pipeline, worker_redis):
    pipeline = make_pipeline(partitions=6)
    await pipeline.create_topics(replication=1)
    stop = asyncio.Event()
    stream = generated_stream(seed=31, customers=150, count=12_000)
    producing = asyncio.create_task(produce(pipeline.bootstrap, pipeline.topics.transactions, stream, rate=150, stop=stop))
    try:
        victim, survivor = pipeline.start_worker(**SETTINGS), pipeline.start_worker(**SETTINGS)
        await wait_for_progress(pipeline, [victim, survivor], 500)
        deadline = time.monotonic() + 60
        while victim.counter("amlstream_transactions_total") == 0 or survivor.counter("amlstream_transactions_total") == 0:
            assert time.monotonic() < deadline, "both members should own partitions"
            await asyncio.sleep(0.2)

        at_kill = await committed(pipeline.bootstrap, pipeline.group, pipeline.topics.transactions, pipeline.partitions)
        assert victim.kill() == -9
        killed_at = time.monotonic()
        # every partition moves past where it was: the victim's ones too, now owned by the survivor
        while True:
            now = await committed(pipeline.bootstrap, pipeline.group, pipeline.topics.transactions, pipeline.partitions)
            if all(now[p] > at_kill[p] for p in now):
                break
            assert alive(survivor), pipeline.logs()
            assert time.monotonic() - killed_at < 90, f"the survivor did not take over: committed {now}, at the kill {at_kill}\n{pipeline.logs()}"
            await asyncio.sleep(0.5)
        takeover_s = time.monotonic() - killed_at

        joiner = pipeline.start_worker(**SETTINGS)
        joined_at = time.monotonic()
        while joiner.counter("amlstream_transactions_total") == 0:
            assert alive(joiner) and alive(survivor), pipeline.logs()
            assert not producing.done(), "the input ran out before the third worker joined"
            assert time.monotonic() - joined_at < 90, f"the third worker got no partitions\n{pipeline.logs()}"
            await asyncio.sleep(0.2)
        join_s = time.monotonic() - joined_at
        before = processed([survivor, joiner])
        await wait_for_progress(pipeline, [survivor, joiner], before + 500)  # both keep working after the rebalance
        stop.set()
        produced = await asyncio.wait_for(producing, 60)
        await wait_until_committed(pipeline, timeout_s=120, workers=[survivor, joiner])
        assert alive(survivor) and alive(joiner)
        inputs, _ = await verify_pipeline(pipeline, worker_redis[1])
        assert len(inputs) == produced
        print(f"produced {produced}; takeover after the kill {takeover_s:.1f}s; third worker processing {join_s:.1f}s after its start")
    finally:
        stop.set()
        if not producing.done():
            producing.cancel()
