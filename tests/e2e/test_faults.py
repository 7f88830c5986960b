"""Start-up failures and a Redis outage while the worker runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.replay import redis_for_replay
from streams.settings import load_settings
from streams.state import StateStore
from tests.e2e.conftest import free_port
from tests.e2e.harness import BOOTSTRAP, ROOT, produce, wait_until_committed

PRIVATE_REDIS_PORT = 6392


def run_cli(env_overrides: dict[str, str], command: str = "worker") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")} | env_overrides
    return subprocess.run([sys.executable, "-m", "streams.cli", command], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)


def assert_refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2 and one line, `message` in it, no password."""
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("amlstream: ") and message in lines[0]
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AMLSTREAM_REDIS_URL": "redis://:s3cret@127.0.0.1:6399/0"}, "Redis at redis://:***@127.0.0.1:6399/0 is unreachable"),
        ({"AMLSTREAM_BOOTSTRAP_SERVERS": "127.0.0.1:9"}, "Kafka at 127.0.0.1:9 is unreachable"),
        ({"AMLSTREAM_TOPIC_TRANSACTIONS": "no.such.topic"}, "Kafka topic(s) no.such.topic missing"),
        ({"AMLSTREAM_BATCH_SIZE": "lots"}, "AMLSTREAM_BATCH_SIZE='lots': expected an integer"),
        ({"AMLSTREAM_MODEL_CONFIG": "/no/such/standard.toml"}, "cannot read"),
        ({"AMLSTREAM_REDIS_URL": "http://127.0.0.1"}, "AMLSTREAM_REDIS_URL: expected a redis://"),
    ],
)
def test_worker_refuses_to_start_with_one_line_naming_the_problem(local_services, env, message):
    assert_refused(run_cli(env), message)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AMLSTREAM_NETWORK_REDIS_URL": "redis://:s3cret@127.0.0.1:6399/0"}, "Redis at redis://:***@127.0.0.1:6399/0 is unreachable"),
        ({"AMLSTREAM_REDIS_URL": "redis://:s3cret@127.0.0.1:6399/0"}, "Redis at redis://:***@127.0.0.1:6399/0 is unreachable"),
        ({"AMLSTREAM_TOPIC_EDGES": "no.such.edges"}, "Kafka topic(s) no.such.edges missing"),
        ({"AMLSTREAM_TOPIC_RISK_CHANGES": "no.such.risk"}, "Kafka topic(s) no.such.risk missing"),
    ],
)
def test_network_worker_refuses_to_start_with_one_line_naming_the_problem(local_services, env, message):
    """As the customer worker: before, a missing Redis crashed an agent with a traceback (exit 1)."""
    assert_refused(run_cli(env | {"AMLSTREAM_NETWORK_METRICS_PORT": str(free_port())}, "network-worker"), message)


async def test_a_replay_on_a_redis_that_does_not_answer_stops_at_once():
    """replay and network-replay on AMLSTREAM_REDIS_URL: before, every batch was retried for ever;
    now the Redis error reaches the CLI (one line naming the masked URL, exit 1)."""
    settings = load_settings({"AMLSTREAM_REDIS_URL": "redis://:s3cret@127.0.0.1:6399/0"})
    with pytest.raises(RedisConnectionError):
        async with asyncio.timeout(30), redis_for_replay(settings):
            pytest.fail("no client for a Redis that does not answer")


@pytest.mark.parametrize("written_by", ["marker", "checkpoints"])
async def test_state_of_another_layout_is_refused_with_one_line(e2e_redis, written_by):
    """Redis holding state of layout 1 (marked, or recognised by its checkpoints): the worker
    says so in one line and exits 2, touching nothing."""
    url, client = e2e_redis
    if written_by == "marker":
        await client.set("aml:layout", "1")
    else:
        await client.hset("aml:checkpoints:{aml.transactions.v1}", "0", "41")
    result = run_cli({"AMLSTREAM_REDIS_URL": url})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "layout 1" in lines[0] and "Rebuild the state" in lines[0], result.stderr
    assert await client.get("aml:layout") == (b"1" if written_by == "marker" else None)


def tx_messages(start: int, count: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(start, start + count):
        c = f"r{i % 17:02d}"
        doc = {
            "tx_id": f"r{i:05d}",
            "customer_id": c,
            "ts": f"2026-11-27T{i % 24:02d}:00:00+08:00",
            "direction": "in",
            "amount": "10",
            "currency": "CNY",
            "method": "card",
        }
        out.append((c.encode(), orjson.dumps(doc)))
    return out


async def committed_total(topic: str, group: str, partitions: int = 4) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([(await consumer.committed(TopicPartition(topic, p))) or 0 for p in range(partitions)])
    finally:
        await consumer.stop()


def start_private_redis(directory) -> None:
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(PRIVATE_REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--appendonly",
            "yes",
            "--hash-max-listpack-value",  # the project's Redis setting (README › Per-customer state)
            "8192",
            "--save",
            "",
            "--daemonize",
            "yes",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(PRIVATE_REDIS_PORT), "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
        assert time.monotonic() < deadline
        time.sleep(0.1)


async def test_redis_outage_pauses_the_worker_without_skipping(pipeline_env, tmp_path):
    env = pipeline_env
    topics, group = env["topics"], env["group"]
    start_private_redis(tmp_path)
    url = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    redis = Redis.from_url(url)
    try:
        worker = env["start_worker"](AMLSTREAM_REDIS_URL=url, AMLSTREAM_REDIS_RETRY_MAX_S="0.5")
        await produce(topics.transactions, tx_messages(0, 100))
        await wait_until_committed(topics, group)

        subprocess.run(["redis-cli", "-p", str(PRIVATE_REDIS_PORT), "shutdown"], check=False)  # AOF keeps the data
        await produce(topics.transactions, tx_messages(100, 100))
        await asyncio.sleep(5)
        assert worker.proc.poll() is None, "the worker must wait for Redis, not exit"
        assert worker.counter("amlstream_redis_errors_total") > 0
        assert await committed_total(topics.transactions, group) == 100  # nothing past the failing batch

        start_private_redis(tmp_path)
        await wait_until_committed(topics, group, timeout_s=60)
        for c in {f"r{i % 17:02d}" for i in range(200)}:
            expected = sum(1 for i in range(200) if f"r{i % 17:02d}" == c)
            assert await StateStore(redis).applied_count(c) == expected
        assert worker.counter("amlstream_transactions_total", outcome="applied") == 200
    finally:
        await redis.aclose()
        subprocess.run(["redis-cli", "-p", str(PRIVATE_REDIS_PORT), "shutdown", "nosave"], capture_output=True, check=False)


@pytest.mark.parametrize("loss", ["flushed", "older_snapshot"])
async def test_redis_state_behind_the_committed_offsets_is_refused(pipeline_env, loss):
    env = pipeline_env
    topics, group, redis = env["topics"], env["group"], env["redis"]
    worker = env["start_worker"](AMLSTREAM_BATCH_SIZE="20")
    await produce(topics.transactions, tx_messages(0, 200))
    await wait_until_committed(topics, group)
    worker.stop()
    if loss == "flushed":
        await redis.flushdb()
    else:  # a restore from an older snapshot: state (and its checkpoints) from before the last batches
        [key] = [k async for k in redis.scan_iter(match="aml:checkpoints:*")]
        for partition, offset in (await redis.hgetall(key)).items():
            await redis.hset(key, partition, max(0, int(offset) - 30))
    await produce(topics.transactions, tx_messages(200, 40))
    second = env["start_worker"]()
    assert second.proc.wait(timeout=90) == 3  # refuses instead of continuing with wrong aggregates
    assert "refusing to continue" in second.log() and ("lost its data" in second.log() or "older snapshot" in second.log())
