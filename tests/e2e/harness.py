"""Helpers for end-to-end tests: unique topics, a worker subprocess, produce and collect."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.cli import create_topics
from streams.settings import Settings, Topics
from tests.services import BOOTSTRAP as SERVICES_BOOTSTRAP

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = SERVICES_BOOTSTRAP


def unique_topics() -> Topics:
    """Every topic of the deployment under a name of this test's own."""
    tag = uuid.uuid4().hex[:8]
    return Topics(**{name: f"t{tag}.{name.replace('_', '-')}" for name in Topics.model_fields})


def env_for(topics: Topics, redis_url: str, group: str, metrics_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}
    env.update(
        AMLSTREAM_BOOTSTRAP_SERVERS=BOOTSTRAP,
        AMLSTREAM_REDIS_URL=redis_url,
        AMLSTREAM_GROUP_ID=group,
        AMLSTREAM_METRICS_PORT=str(metrics_port),
        AMLSTREAM_LOG_LEVEL="warning",
        AMLSTREAM_PEER_PUBLISH_INTERVAL_S="0",  # tests that need peer baselines publish them explicitly
    )
    env.update({f"AMLSTREAM_TOPIC_{name.upper()}": getattr(topics, name) for name in Topics.model_fields})
    env.update(extra)
    return env


async def provision(topics: Topics, partitions: int = 4) -> None:
    await create_topics(Settings(bootstrap_servers=BOOTSTRAP, topics=topics), partitions, 1)


class WorkerProcess:
    """`amlstream worker` as a real subprocess, so it can be SIGKILLed mid-stream."""

    def __init__(self, env: dict[str, str], log_path: Path, command: str = "worker") -> None:
        self.env = env
        self.log_path = log_path
        self.command = command  # worker or network-worker
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = int(env["AMLSTREAM_NETWORK_METRICS_PORT" if command == "network-worker" else "AMLSTREAM_METRICS_PORT"])

    def start(self) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", self.command], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as response:
                return response.read().decode()
        except OSError:
            return ""

    def counter(self, name: str, **labels: str) -> float:
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name + ("{" if labels else "")) and (not want or want in line):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def produce(topic: str, messages: Iterable[tuple[bytes | None, bytes]]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=5, max_request_size=16 * 1_048_576)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=key, value=value) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def read_all(topics: Iterable[str], *, idle_s: float = 2.0, timeout_s: float = 60.0, until: int | None = None) -> list[tuple[str, int, int, bytes | None, bytes]]:
    """Every record of the topics from the beginning: until `until` records were read, or none
    arrived for `idle_s` (after at least one, or after the timeout)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 * 1_048_576,
        fetch_max_bytes=64 * 1_048_576,
    )
    await consumer.start()
    out: list[tuple[str, int, int, bytes | None, bytes]] = []
    start = last = time.monotonic()
    try:
        while time.monotonic() - start < timeout_s:
            batch = await consumer.getmany(timeout_ms=300)
            for tp, records in batch.items():
                for r in records:
                    out.append((tp.topic, tp.partition, r.offset, r.key, r.value))
                    last = time.monotonic()
            if until is not None and len(out) >= until:
                break
            if until is None and out and time.monotonic() - last > idle_s:
                break
    finally:
        await consumer.stop()
    return out


async def output_events(topics: Topics, **kw) -> list[dict]:
    records = await read_all([topics.risk_changes, topics.patterns, topics.large_value, topics.dead_letter], **kw)
    return [orjson.loads(value) for *_, value in records]


async def wait_until_committed(topics: Topics, group: str, partitions: int = 4, timeout_s: float = 120.0) -> None:
    """Wait until the group's committed offsets reach the end of every input partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topics.transactions, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while True:
            committed = {tp: await consumer.committed(tp) for tp in tps}
            if all((committed[tp] or 0) >= ends[tp] for tp in tps):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"group {group} did not commit to the end: committed {committed}, ends {ends}")
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
