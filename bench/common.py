"""What every bench section shares: topics, producing, generated inputs, workers as subprocesses,
the bench's Redis and the results file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from redis.asyncio import Redis

from streams.cli import create_topics
from streams.settings import Settings, Topics
from streams.state.store import STATE_HASH_LISTPACK_VALUE

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA = ROOT / ".local" / "bench"
BOOTSTRAP = "127.0.0.1:9092"
PARTITIONS = 4
WORKER = [sys.executable, "-m", "streams.cli", "worker"]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True)
class Bench:
    """One bench run's shared context: a tag for its topics and groups, the Redis URL the
    measured processes use (a private server by default, see `bench_redis`) and the size flags."""

    tag: str
    redis_url: str
    quick: bool = False
    own_server: bool = False  # redis_url is the bench's private server (not --redis)

    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url)

    async def flush(self) -> None:
        async with self.redis() as redis:
            await redis.flushdb()


@contextlib.asynccontextmanager
async def bench_redis(url: str | None, listpack_value: int | None = None) -> AsyncIterator[str]:
    """`url` as it is, else a throwaway redis-server on a free port (no persistence): the bench
    then disturbs no shared Redis, and `used_memory` deltas are the bench's own. It is configured
    as the project's own Redis configs are (hash-max-listpack-value), unless `listpack_value`
    says otherwise (64 is Redis' default)."""
    if url:
        yield url
        return
    if shutil.which("redis-server") is None:
        raise RuntimeError("the bench needs redis-server on PATH (apt-get install redis-server) or --redis URL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="amlstream-bench-redis-")
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no"]
    args += ["--hash-max-listpack-value", str(listpack_value or STATE_HASH_LISTPACK_VALUE)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        async with Redis.from_url(url) as client:
            for _ in range(200):
                with contextlib.suppress(Exception):
                    await client.ping()
                    break
                await asyncio.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


def new_tag() -> str:
    return uuid.uuid4().hex[:6]


def topics_for(tag: str) -> Topics:
    p = f"bench.{tag}"
    return Topics(
        transactions=f"{p}.tx",
        customers=f"{p}.customers",
        risk_changes=f"{p}.risk",
        patterns=f"{p}.patterns",
        large_value=f"{p}.lv",
        dead_letter=f"{p}.dead",
        edges=f"{p}.edges",
        network_detections=f"{p}.netdet",
        iso20022_pacs008=f"{p}.pacs008",
        iso20022_camt054=f"{p}.camt054",
    )


async def provision(topics: Topics) -> None:
    await create_topics(Settings(bootstrap_servers=BOOTSTRAP, topics=topics), PARTITIONS, 1)


def generated(customers: int, days: int, seed: int) -> Path:
    """A synthbank bank (customers.jsonl, transactions.jsonl), generated once and kept in .local/bench."""
    from synthbank import write

    out = DATA / f"gen-{customers}-{days}-{seed}"
    if not (out / "transactions.jsonl").exists():
        log(f"generating {customers} customers x {days} days")
        write(out, customers, days, seed)
    return out


def lines(path: Path, limit: int | None = None) -> list[bytes]:
    out = []
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                out.append(line.rstrip(b"\n"))
                if limit is not None and len(out) >= limit:
                    break
    return out


async def produce(topic: str, values: Iterable[bytes], with_offsets: bool = False) -> tuple[float, list[tuple[int, int]]]:
    """Send each value keyed by its customer_id; returns (messages/s, [(partition, offset)] in
    input order if asked)."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    started = time.monotonic()
    placed: list[tuple[int, int]] = []
    n = 0
    try:
        pending = []
        for value in values:
            key = orjson.loads(value)["customer_id"].encode()
            pending.append(await producer.send(topic, key=key, value=value))
            n += 1
            if len(pending) >= 20_000:
                done = await asyncio.gather(*pending)
                placed += [(m.partition, m.offset) for m in done] if with_offsets else []
                pending.clear()
        done = await asyncio.gather(*pending)
        placed += [(m.partition, m.offset) for m in done] if with_offsets else []
    finally:
        await producer.stop()
    return n / (time.monotonic() - started), placed


async def committed_total(topics: list[str], group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([(await consumer.committed(TopicPartition(t, p))) or 0 for t in topics for p in range(PARTITIONS)])
    finally:
        await consumer.stop()


def worker_env(bench: Bench, topics: Topics, group: str, port: int, batch: int = 500, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}
    env.update(
        AMLSTREAM_BOOTSTRAP_SERVERS=BOOTSTRAP,
        AMLSTREAM_REDIS_URL=bench.redis_url,
        AMLSTREAM_GROUP_ID=group,
        AMLSTREAM_METRICS_PORT=str(port),
        AMLSTREAM_TOPIC_TRANSACTIONS=topics.transactions,
        AMLSTREAM_TOPIC_CUSTOMERS=topics.customers,
        AMLSTREAM_TOPIC_RISK_CHANGES=topics.risk_changes,
        AMLSTREAM_TOPIC_PATTERNS=topics.patterns,
        AMLSTREAM_TOPIC_LARGE_VALUE=topics.large_value,
        AMLSTREAM_TOPIC_DEAD_LETTER=topics.dead_letter,
        AMLSTREAM_TOPIC_EDGES=topics.edges,
        AMLSTREAM_TOPIC_NETWORK_DETECTIONS=topics.network_detections,
        AMLSTREAM_LOG_LEVEL="warning",
        AMLSTREAM_BATCH_SIZE=str(batch),
        AMLSTREAM_PEER_PUBLISH_INTERVAL_S="0",
    )
    env.update(extra)
    return env


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    # stderr to a file, not a pipe: a chatty process must never block on a full pipe
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process (garbage-collected)
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    proc.err = err  # type: ignore[attr-defined]
    return proc


def stderr_tail(proc: subprocess.Popen) -> str:
    err = proc.err  # type: ignore[attr-defined]
    err.seek(0)
    return err.read().decode(errors="replace")[-2000:]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


async def run_until_committed(
    processes: list[tuple[list[str], dict[str, str]]], topics: list[str], group: str, expected: int, timeout_s: float, seen: dict[str, Any] | None = None
) -> float:
    """Start the processes, wait until the group committed every input offset; rate = inputs /
    (time from start to the last commit), so start-up and group join count against the rate.
    `seen`, if given, receives the processes' CPU seconds and the elapsed seconds."""
    started = time.monotonic()
    procs = [start(cmd, env) for cmd, env in processes]
    try:
        while True:
            done = await committed_total(topics, group)
            if done >= expected:
                elapsed = time.monotonic() - started
                if seen is not None:
                    seen.update(seconds=round(elapsed, 2), process_cpu_s=[round(cpu_seconds(p.pid), 2) for p in procs])
                return expected / elapsed
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args} exited {p.returncode}: {stderr_tail(p)}")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{done}/{expected} committed after {timeout_s}s")
            await asyncio.sleep(0.5)
    finally:
        stop(procs)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def redis_counters(redis: Redis) -> dict[str, float]:
    """Server CPU seconds and per-command totals, to diff around a run."""
    cpu = await redis.info("cpu")
    stats = await redis.info("commandstats")
    out = {"cpu_s": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])}
    for name, value in stats.items():
        out[f"{name.removeprefix('cmdstat_')}.calls"] = float(value["calls"])
        out[f"{name.removeprefix('cmdstat_')}.usec"] = float(value["usec"])
    return out


def redis_delta(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, Any]:
    """What Redis did during a run: CPU seconds and share of the run, and the script calls."""
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    out: dict[str, Any] = {"cpu_s": round(d["cpu_s"], 2), "busy_share": round(d["cpu_s"] / seconds, 3) if seconds else None}
    # commands run inside the scripts are counted too (commandstats counts redis.call)
    names = sorted({k.rsplit(".", 1)[0] for k in d if k.endswith(".calls") and d[k]}, key=lambda c: -d[f"{c}.usec"])
    out["commands"] = {
        c: {"calls": int(d[f"{c}.calls"]), "usec_per_call": round(d[f"{c}.usec"] / d[f"{c}.calls"], 1), "seconds": round(d[f"{c}.usec"] / 1e6, 2)} for c in names[:12]
    }
    return out


def percentiles(samples: list[float]) -> dict[str, float | None]:
    s = sorted(samples)

    def pct(p: float) -> float | None:
        return round(s[min(len(s) - 1, int(p * len(s)))], 1) if s else None

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": round(s[-1], 1) if s else None}


def merge_results(sections: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """Merge this run's sections into latest.json (keeping other sections' last results, each
    with the date it was measured) and write the same into a dated copy."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = RESULTS / "latest.json"
    merged: dict[str, Any] = orjson.loads(latest.read_bytes()) if latest.exists() else {}
    if "sections" not in merged:  # the flat layout of the earlier bench: start afresh
        merged = {"sections": {}}
    merged.update(header)
    for name, value in sections.items():
        merged["sections"][name] = {"measured_at": header["date"], **value}
    body = orjson.dumps(merged, option=orjson.OPT_INDENT_2)
    tmp = latest.with_suffix(".json.tmp")
    tmp.write_bytes(body)
    tmp.replace(latest)
    (RESULTS / f"{time.strftime('%Y-%m-%d')}.json").write_bytes(body)
    return merged
