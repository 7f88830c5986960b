"""A replay outlives a stalled Redis: a step that times out is retried (its steps are idempotent)
and the outputs equal those of an undisturbed replay; a Redis that never comes back ends the
replay with one clear error instead of a hang.

The stall is real: `CLIENT PAUSE ... ALL` on a private redis-server holds every command past
redis-py's default 5 s socket timeout, the way a starved host did to a 3.4 M-leg replay.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from streams import retry as retry_module
from streams.errors import RuntimeFailure
from streams.model import load_model
from streams.network.replay import network_replay
from streams.replay import OUTPUT_FILES, replay
from streams.settings import load_settings
from synthbank import write
from tests.reliability.support import PrivateRedis, free_port

pytestmark = pytest.mark.services
PAUSE_MS = 6500  # longer than redis-py's 5 s socket timeout


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bank")
    write(out, customers=60, days=20, seed=23)
    return out


@pytest.fixture
def private_redis(tmp_path):
    (tmp_path / "redis").mkdir()
    server = PrivateRedis(tmp_path / "redis", free_port(26500)).start()
    yield server
    server.stop()


def outputs(directory: Path) -> dict[str, list[dict]]:
    """Each output file's events without `emitted_at` (the only wall-clock field)."""
    out = {}
    for name in OUTPUT_FILES.values():
        events = [orjson.loads(line) for line in (directory / name).read_bytes().splitlines()]
        for event in events:
            event.pop("emitted_at", None)
        out[name] = events
    return out


async def stall_once_started(url: str, pause_ms: int) -> float:
    """Wait until the replay has written state, then pause every client; returns when it did."""
    client = Redis.from_url(url)
    try:
        while await client.dbsize() == 0:
            await asyncio.sleep(0.01)
        await client.execute_command("CLIENT", "PAUSE", pause_ms, "ALL")
        return time.monotonic()
    finally:
        await client.aclose()


async def test_replay_retries_a_stalled_step_and_ends_as_undisturbed(bank, private_redis, tmp_path, caplog):
    settings = load_settings({"AMLSTREAM_REDIS_URL": private_redis.url})
    model = load_model()
    files = (str(bank / "transactions.jsonl"), str(bank / "customers.jsonl"))
    await replay(settings, model, *files, tmp_path / "calm")
    private_redis.cli("flushall")

    stall = asyncio.create_task(stall_once_started(private_redis.url, PAUSE_MS))
    started = time.monotonic()
    result = await replay(settings, model, *files, tmp_path / "stalled")
    paused_at = await stall
    assert time.monotonic() - paused_at >= PAUSE_MS / 1000, "the pause ended after the replay: nothing was stalled"
    assert result.inputs > 0 and started < paused_at
    retried = [r.getMessage() for r in caplog.records if r.name == "amlstream.retry"]
    assert any("TimeoutError" in m for m in retried), retried
    assert outputs(tmp_path / "stalled") == outputs(tmp_path / "calm")


async def test_network_replay_retries_a_stalled_step(bank, private_redis, tmp_path, caplog):
    model = load_model()
    files = (str(bank / "transactions.jsonl"), str(bank / "customers.jsonl"))
    calm = Redis.from_url(private_redis.url)
    await network_replay(calm, model, *files, tmp_path / "calm")
    await calm.flushall()
    await calm.aclose()

    stalled = Redis.from_url(private_redis.url)
    stall = asyncio.create_task(stall_once_started(private_redis.url, PAUSE_MS))
    await network_replay(stalled, model, *files, tmp_path / "stalled")
    await stall
    await stalled.aclose()
    assert any("TimeoutError" in r.getMessage() for r in caplog.records if r.name == "amlstream.retry")
    read = lambda d: [{k: v for k, v in orjson.loads(line).items() if k != "emitted_at"} for line in (d / "network-detections.jsonl").read_bytes().splitlines()]  # noqa: E731
    assert read(tmp_path / "stalled") == read(tmp_path / "calm")
    assert read(tmp_path / "calm"), "the bank has no network detection: the comparison would be empty"


async def test_replay_gives_up_on_a_redis_that_stays_away(bank, private_redis, tmp_path, monkeypatch):
    monkeypatch.setattr(retry_module, "JOB_GIVE_UP_S", 1.0)
    monkeypatch.setattr(retry_module, "JOB_MAX_DELAY_S", 0.2)
    settings = load_settings({"AMLSTREAM_REDIS_URL": private_redis.url})

    async def kill_once_started() -> None:
        client = Redis.from_url(private_redis.url)
        while await client.dbsize() == 0:
            await asyncio.sleep(0.01)
        await client.aclose()
        private_redis.kill()

    killer = asyncio.create_task(kill_once_started())
    with pytest.raises(RuntimeFailure, match=r"(replay apply|replay commit|peer baselines) failed for \d+ s, last with ConnectionError"):
        await replay(settings, load_model(), str(bank / "transactions.jsonl"), str(bank / "customers.jsonl"), tmp_path / "out")
    await killer
