"""Fixtures of the reliability tests: the 3-node Kafka cluster and the Redis Cluster of
`deploy/local/services.sh cluster-start` (session scope, fresh each session, stopped at the end),
a flushed database of the shared Redis, and pipelines (unique topics, group, worker processes).

Set AMLSTREAM_TEST_KEEP_CLUSTERS=1 to reuse running clusters as they are and leave them running
(quicker when iterating on one test)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from tests.reliability.support import CLUSTER_BOOTSTRAP, LOCAL_BOOTSTRAP, REDIS_CLUSTER_PORT, WORKER_DB, Pipeline, pin_standard, services
from tests.services import redis_url

KEEP = os.environ.get("AMLSTREAM_TEST_KEEP_CLUSTERS") == "1"


def _cluster(name: str) -> float:
    started = time.monotonic()
    if not KEEP:
        services("cluster-reset", name)
    services("cluster-start", name)
    return time.monotonic() - started


@pytest.fixture(scope="session")
def kafka_cluster(local_services) -> str:
    """Bootstrap servers of the 3-broker cluster (RF 3, min ISR 2), fresh for the session."""
    took = _cluster("kafka")
    print(f"\nkafka cluster started in {took:.1f}s")
    yield CLUSTER_BOOTSTRAP
    if not KEEP:
        services("cluster-stop", "kafka")


@pytest.fixture(scope="session")
def redis_cluster(local_services) -> str:
    """URL of one node (a master) of the Redis Cluster (3 masters, 1 replica each), fresh."""
    took = _cluster("redis")
    print(f"\nredis cluster started in {took:.1f}s")
    yield f"redis://127.0.0.1:{REDIS_CLUSTER_PORT}/0"
    if not KEEP:
        services("cluster-stop", "redis")


@pytest.fixture
async def worker_redis(local_services):
    """A flushed database of the shared Redis for the workers of one test."""
    url = redis_url(WORKER_DB)
    client = Redis.from_url(url)
    await client.flushdb()
    yield url, client
    await client.aclose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_failed] = report.failed
    return report


_failed = pytest.StashKey[bool]()


@pytest.fixture
def make_pipeline(request, tmp_path, worker_redis) -> Callable[..., Pipeline]:
    """make_pipeline(bootstrap=..., redis_url=..., partitions=...) -> a Pipeline whose workers are
    stopped at the end of the test (their logs printed if it failed)."""
    made: list[Pipeline] = []

    def make(bootstrap: str = LOCAL_BOOTSTRAP, redis_url: str | None = None, partitions: int = 4) -> Pipeline:
        pipeline = Pipeline(bootstrap, redis_url or worker_redis[0], tmp_path, partitions, model_path=pin_standard(tmp_path))
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        took = pipeline.stop()
        if any(t > 10 for t in took):
            print(f"slow worker stop on SIGTERM: {[round(t, 1) for t in took]} s")
        if request.node.stash.get(_failed, False) or any(t > 10 for t in took):
            print(pipeline.logs(8000))
