"""Helpers of the reliability tests: any bootstrap servers (the single-node broker or the 3-node
cluster of `services.sh cluster-start kafka`), paced producers, reading topics to their end, a
clean in-process run and the invariant checks of tests/e2e/test_crash_recovery.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from factors.standard import DEFAULT_STANDARD_PATH
from streams.decode import decode_transaction
from streams.engine import Engine
from streams.errors import DecodeError
from streams.events import Source
from streams.model import load_model
from streams.settings import Settings, Topics
from streams.state import StateStore, make_store
from tests.e2e.harness import ROOT, WorkerProcess, env_for, unique_topics
from tests.e2e.test_crash_recovery import aggregate_state
from tests.services import redis_url

SERVICES = ROOT / "deploy" / "local" / "services.sh"
LOCAL_BOOTSTRAP = "127.0.0.1:9092"
_KAFKA_CLUSTER_PORT = int(os.environ.get("KAFKA_CLUSTER_PORT", "19092"))
CLUSTER_BOOTSTRAP = ",".join(f"127.0.0.1:{_KAFKA_CLUSTER_PORT + i}" for i in range(3))
REDIS_CLUSTER_PORT = int(os.environ.get("REDIS_CLUSTER_PORT", "7001"))
REDIS_CLUSTER_MASTERS = 3
WORKER_DB = 12  # the reliability tests' worker state in the shared Redis (flushed per test)
CLEAN_DB = 11  # their clean recomputations (flushed per use)
MAX_BYTES = 16 * 1_048_576
BROKEN = b'{"broken": '  # the invalid messages of generated_stream
Record = tuple[str, int, int, bytes | None, bytes | None]  # topic, partition, offset, key, value


# --- services.sh --------------------------------------------------------------------------------
def services(*args: str, timeout: float = 300) -> str:
    """Run `deploy/local/services.sh ARGS...` (blocking; for fixtures)."""
    result = subprocess.run(["bash", str(SERVICES), *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"services.sh {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


async def services_async(*args: str, timeout: float = 300) -> tuple[str, float]:
    """The same from a test coroutine, without blocking the event loop (background producers keep
    producing meanwhile). Returns the output and how long the command took."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec("bash", str(SERVICES), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"services.sh {' '.join(args)} failed ({proc.returncode}):\n{out.decode()}")
    return out.decode(), time.monotonic() - started


# --- ports --------------------------------------------------------------------------------------
_taken: set[int] = set()


def free_port(start: int) -> int:
    """A loopback port from `start` on that nothing listens on and this session did not hand out."""
    port = start
    while True:
        if port not in _taken:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    pass
                else:
                    _taken.add(port)
                    return port
        port += 1


# --- a pipeline under test ----------------------------------------------------------------------
@dataclass
class Pipeline:
    """Unique topics and group on some bootstrap servers, and the worker subprocesses of one test."""

    bootstrap: str
    redis_url: str
    log_dir: Path
    partitions: int = 4
    model_path: Path | None = None  # a pinned copy of the scoring standard (see pin_standard)
    topics: Topics = field(default_factory=unique_topics)
    group: str = field(default_factory=lambda: f"rel-{uuid.uuid4().hex[:8]}")
    workers: list[WorkerProcess] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        if self.model_path is not None:
            extra = {"AMLSTREAM_MODEL_CONFIG": str(self.model_path)} | extra
        return env_for(self.topics, self.redis_url, self.group, free_port(19800), AMLSTREAM_BOOTSTRAP_SERVERS=self.bootstrap, **extra)

    async def create_topics(self, replication: int) -> None:
        """Through the CLI, as an operator would: `amlstream create-topics --replication N`."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streams.cli",
            "create-topics",
            "--partitions",
            str(self.partitions),
            "--replication",
            str(replication),
            env=self.env(),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()

    def start_worker(self, **extra: str) -> WorkerProcess:
        worker = WorkerProcess(self.env(**extra), self.log_dir / f"worker-{self.group}-{len(self.workers)}.log").start()
        self.workers.append(worker)
        return worker

    def stop(self) -> list[float]:
        """SIGTERM every worker still running (SIGKILL after 30 s); returns how long each took."""
        took = []
        for worker in self.workers:
            started = time.monotonic()
            worker.stop()
            took.append(time.monotonic() - started)
        return took

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(
            f"--- worker {i} (pid {w.proc.pid if w.proc else '?'}, rc {w.proc.poll() if w.proc else '?'}):\n{w.log()[-tail:]}" for i, w in enumerate(self.workers)
        )


def alive(worker: WorkerProcess) -> bool:
    return worker.proc is not None and worker.proc.poll() is None


def processed(workers: Iterable[WorkerProcess]) -> float:
    return sum(w.counter("amlstream_transactions_total") for w in workers if alive(w))


async def wait_for_progress(pipeline: Pipeline, workers: Sequence[WorkerProcess], at_least: float, timeout_s: float = 90) -> float:
    """Until the live `workers` together report `at_least` input messages processed."""
    deadline = time.monotonic() + timeout_s
    while (done := processed(workers)) < at_least:
        for w in workers:
            assert alive(w), f"a worker exited\n{pipeline.logs()}"
        assert time.monotonic() < deadline, f"no progress to {at_least} (at {done}) within {timeout_s}s\n{pipeline.logs()}"
        await asyncio.sleep(0.1)
    return done


# --- Kafka --------------------------------------------------------------------------------------
async def produce(bootstrap: str, topic: str, messages: Sequence[tuple[bytes | None, bytes | None]], rate: float | None = None, stop: asyncio.Event | None = None) -> int:
    """Produce in order (idempotent, acks=all); at `rate` messages/s if given; only until `stop`
    is set if given. Returns how many were produced."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, max_request_size=MAX_BYTES, request_timeout_ms=60_000)
    await producer.start()
    started = time.monotonic()
    try:
        futures = []
        for i, (key, value) in enumerate(messages):
            if stop is not None and stop.is_set():
                break
            futures.append(await producer.send(topic, key=key, value=value))
            if rate:
                ahead = (i + 1) / rate - (time.monotonic() - started)
                if ahead > 0.002:
                    await asyncio.sleep(ahead)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def read_to_end(bootstrap: str, topics: Iterable[str], partitions: int, timeout_s: float = 120) -> list[Record]:
    """Every record of the topics (each with `partitions` partitions), from the beginning to the
    end offsets at the time of the call."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=MAX_BYTES, fetch_max_bytes=4 * MAX_BYTES)
    await consumer.start()
    out: list[Record] = []
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            assert time.monotonic() < deadline, f"could not read {tps} to {ends}"
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                out.extend((tp.topic, tp.partition, r.offset, r.key, r.value) for r in records if r.offset < ends[tp])
    finally:
        await consumer.stop()
    return out


async def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: (await consumer.committed(TopicPartition(topic, p))) or 0 for p in range(partitions)}
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def wait_until_committed(pipeline: Pipeline, timeout_s: float = 180, workers: Sequence[WorkerProcess] = ()) -> None:
    """Until the group's committed offsets reach the end of every input partition; fails at once
    if one of `workers` exits meanwhile."""
    t = pipeline.topics.transactions
    ends = await end_offsets(pipeline.bootstrap, t, pipeline.partitions)
    deadline = time.monotonic() + timeout_s
    while True:
        done = await committed(pipeline.bootstrap, pipeline.group, t, pipeline.partitions)
        if all(done[p] >= ends[p] for p in ends):
            return
        for w in workers:
            assert alive(w), f"a worker exited before the end of the input\n{pipeline.logs()}"
        assert time.monotonic() < deadline, f"group {pipeline.group} did not commit to the end: committed {done}, ends {ends}\n{pipeline.logs()}"
        await asyncio.sleep(0.5)


async def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return next(p["leader"] for p in described["partitions"] if p["partition"] == partition)
    finally:
        await admin.close()


async def coordinator_of(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await admin.find_coordinator(group)
    finally:
        await admin.close()


# --- HTTP ---------------------------------------------------------------------------------------
def http_status(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


# --- clean recomputation and invariants ---------------------------------------------------------
def pin_standard(directory: Path) -> Path:
    """A private copy (mode 600) of the packaged scoring standard. Workers started at different
    moments of a test, and its clean run, then rate with the same standard even if the packaged
    file is edited meanwhile (its digest is part of every event's model_version)."""
    path = directory / "standard.toml"
    path.write_bytes(DEFAULT_STANDARD_PATH.read_bytes())
    path.chmod(0o600)
    return path


async def clean_run(records: Sequence[Record], model_path: Path | None = None, redis_url: str = redis_url(CLEAN_DB)) -> tuple[dict[str, dict], Redis]:
    """The same input through the same engine (as the worker builds it), in-process, one partition
    after another, on a flushed database. Returns its events by event_id, and that database."""
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    model = load_model(model_path)
    engine = Engine(make_store(redis, Settings(), model), model)
    events: dict[str, dict] = {}
    ordered = sorted(records, key=lambda r: (r[1], r[2]))
    for start in range(0, len(ordered), 64):
        result = await engine.process([Source(t, p, o, k, v) for t, p, o, k, v in ordered[start : start + 64]])
        events.update((e.value["event_id"], e.value) for e in result.events)
        await engine.commit(result)
    return events, redis


def valid_transactions(inputs: Iterable[Record], model_path: Path | None = None) -> dict[str, set[str]]:
    """customer -> distinct tx_ids of the inputs that decode (what must be counted exactly once)."""
    fx = load_model(model_path).standard.fx
    out: dict[str, set[str]] = {}
    for _, _, _, key, value in inputs:
        try:
            tx = decode_transaction(key or b"", value, fx, Settings().max_message_bytes)
        except DecodeError:
            continue
        out.setdefault(tx.customer_id, set()).add(tx.tx_id)
    return out


def _brief(event: dict) -> str:
    keys = ("event_type", "customer_id", "cause", "current", "previous", "pattern", "alert_key", "occurrence", "report_key", "revision", "error_code", "source")
    return str({k: event[k] for k in keys if event.get(k) is not None})


async def check_invariants(
    inputs: Sequence[Record], emitted: Sequence[dict], worker_redis: Redis, clean_events: dict[str, dict], clean_redis: Redis, model_path: Path | None = None
) -> None:
    """(a) aggregates equal a clean recomputation, (b) each valid transaction counted once,
    (c) the distinct output event_ids equal a clean run's, repeats being exact re-emissions."""
    emitted_ids = Counter(e["event_id"] for e in emitted)
    missing, extra = set(clean_events) - set(emitted_ids), set(emitted_ids) - set(clean_events)
    if missing or extra:
        extras = [e for e in emitted if e["event_id"] in extra]
        detail = "\n".join(["missing (a clean run emits them):", *(_brief(clean_events[i]) for i in sorted(missing)), "extra:", *(_brief(e) for e in extras)])
        raise AssertionError(f"(c) event ids differ from a clean run: {len(missing)} missing, {len(extra)} extra\n{detail}")
    by_id: dict[str, dict] = {}
    for e in emitted:
        stable = {k: v for k, v in e.items() if k != "emitted_at"}
        first = by_id.setdefault(e["event_id"], stable)
        if first != stable:
            diff = {k: (first.get(k), stable.get(k)) for k in first.keys() | stable.keys() if first.get(k) != stable.get(k)}
            clean = clean_events.get(e["event_id"], {})
            raise AssertionError(f"(c) a repeated event_id with different content: {_brief(first)}\nfields (first, repeat): {diff}\nclean run: {_brief(clean)}")
    distinct = valid_transactions(inputs, model_path)
    customers = set(distinct)
    worker_state, clean_state = await aggregate_state(worker_redis, customers), await aggregate_state(clean_redis, customers)
    differing = sorted(c for c in customers if worker_state[c] != clean_state[c])
    assert not differing, f"(a) aggregates differ from a clean recomputation for {len(differing)} customers, e.g. {differing[:5]}"
    for c, ids in distinct.items():
        seq = await StateStore(worker_redis).applied_count(c)
        assert seq == len(ids), f"(b) customer {c}: seq {seq!r}, {len(ids)} distinct valid transactions"


async def verify_pipeline(pipeline: Pipeline, worker_redis: Redis) -> tuple[list[Record], list[dict]]:
    """Read the input and outputs back, recompute cleanly, check the invariants; returns both."""
    t = pipeline.topics
    inputs = await read_to_end(pipeline.bootstrap, [t.transactions], pipeline.partitions)
    outputs = await read_to_end(pipeline.bootstrap, [t.risk_changes, t.patterns, t.large_value, t.dead_letter], pipeline.partitions)
    emitted = [orjson.loads(v) for *_, v in outputs if v is not None]
    clean_events, clean_redis = await clean_run(inputs, pipeline.model_path)
    try:
        await check_invariants(inputs, emitted, worker_redis, clean_events, clean_redis, pipeline.model_path)
    finally:
        await clean_redis.flushdb()
        await clean_redis.aclose()
    return inputs, emitted


# --- private redis-server -----------------------------------------------------------------------
class PrivateRedis:
    """A redis-server of the test's own, in a tmp dir, AOF on (the shared one stays untouched)."""

    def __init__(self, directory: Path, port: int, *extra: str) -> None:
        self.directory, self.port, self.extra = directory, port, extra
        self.url = f"redis://127.0.0.1:{port}/0"
        self.pidfile = directory / "redis.pid"

    def start(self) -> PrivateRedis:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory), "--appendonly", "yes", "--save", "", "--hash-max-listpack-value", "8192"]
        args += ["--daemonize", "yes", "--pidfile", str(self.pidfile), "--logfile", str(self.directory / "redis.log"), *self.extra]
        subprocess.run(["redis-server", *args], check=True)
        deadline = time.monotonic() + 20
        while self.cli("ping") != "PONG":  # PONG only once the AOF is loaded
            assert time.monotonic() < deadline, (self.directory / "redis.log").read_text()[-2000:]
            time.sleep(0.05)
        return self

    def cli(self, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True).stdout.strip()

    def pid(self) -> int:
        return int(self.pidfile.read_text())

    def kill(self) -> None:
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def shutdown(self) -> None:
        """SHUTDOWN: the AOF is flushed and fsynced, then the server exits."""
        pid = self.pid()
        self.cli("shutdown")
        _wait_gone(pid)

    def stop(self) -> None:
        if self.pidfile.exists():
            try:
                pid = self.pid()
                os.kill(pid, signal.SIGTERM)
                _wait_gone(pid)
            except (ProcessLookupError, ValueError):
                pass


def _wait_gone(pid: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return
        except OSError:
            return
        time.sleep(0.02)
