from __future__ import annotations

import socket
import uuid

import pytest
from redis.asyncio import Redis

from tests.e2e.harness import WorkerProcess, env_for, provision, unique_topics
from tests.services import redis_url

E2E_DB = 14  # end-to-end tests own this Redis database and flush it per test


def free_port() -> int:
    """A port nobody listens on now (several test sessions may run side by side)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def e2e_redis(local_services):
    url = redis_url(E2E_DB)
    client = Redis.from_url(url)
    await client.flushdb()
    yield url, client
    await client.aclose()


@pytest.fixture
async def pipeline_env(e2e_redis, tmp_path):
    """Fresh topics, a fresh consumer group and a clean Redis database for one test."""
    url, client = e2e_redis
    topics = unique_topics()
    await provision(topics)
    group = f"e2e-{uuid.uuid4().hex[:8]}"
    workers: list[WorkerProcess] = []

    def start_worker(**extra: str) -> WorkerProcess:
        env = env_for(topics, url, group, free_port(), **extra)
        worker = WorkerProcess(env, tmp_path / f"worker-{len(workers)}.log").start()
        workers.append(worker)
        return worker

    yield {"topics": topics, "group": group, "redis": client, "redis_url": url, "start_worker": start_worker, "workers": workers}
    for worker in workers:
        worker.stop()
