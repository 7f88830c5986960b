from __future__ import annotations

import pytest
from redis.asyncio import Redis

from streams.engine import Engine
from streams.model import load_model
from streams.state import StateStore

TEST_DB = 15  # integration tests own this database and flush it


@pytest.fixture
async def redis(local_services, request):
    """A flushed client on the test module's `REDIS_DB` if it names one, else TEST_DB."""
    db = getattr(request.module, "REDIS_DB", TEST_DB)
    client = Redis.from_url(local_services["redis_url"].rsplit("/", 1)[0] + f"/{db}")
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def model():
    return load_model()


@pytest.fixture
def store(redis):
    return StateStore(redis)


@pytest.fixture
def engine(store, model):
    return Engine(store, model)
