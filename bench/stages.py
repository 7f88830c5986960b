"""The other stages: alone (bench sections `network` and `iso20022`) and beside the customer stage (`stages`)."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from redis.asyncio import Redis

from bench.common import (
    BOOTSTRAP,
    PARTITIONS,
    WORKER,
    Bench,
    bench_redis,
    committed_total,
    cpu_seconds,
    generated,
    lines,
    log,
    produce,
    provision,
    redis_counters,
    start,
    stderr_tail,
    stop,
    topics_for,
    worker_env,
)


async def network_stage(bench: Bench, customers: int, days: int) -> dict[str, Any]:
    """The network stage alone over a generated bank's edges (replay engine, real Redis): edges/s,
    search cost per edge and Redis memory per account of the graph state."""
    from streams.model import load_model
    from streams.network.replay import network_replay

    data = generated(customers, days, seed=21)
    await bench.flush()
    async with bench.redis() as redis:
        before = (await redis.info("memory"))["used_memory"]
        result = await network_replay(redis, load_model(), str(data / "transactions.jsonl"), str(data / "customers.jsonl"), None)
        after = (await redis.info("memory"))["used_memory"]
        accounts = len([k async for k in redis.scan_iter(match="aml:net:*:m", count=1000)])
    summary = result.summary()
    return {
        "customers": customers,
        "days": days,
        "edges": result.copies // 2,
        "network_edges_per_s": summary["edges_per_second"],
        "network_search_seconds_share": round(result.search_seconds / result.seconds, 3) if result.seconds else None,
        "network_accounts_read_per_edge_copy": summary["accounts_read_per_edge_copy"],
        "network_accounts": accounts,
        "network_redis_bytes_per_account": round((after - before) / max(accounts, 1), 1),
    }


async def _edge_ends(topic: str) -> int:
    """Messages on the edge topic so far (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def _edge_copies(topic: str) -> int:
    """Edge copies on the edge topic (a batch message counts its copies), read after the timing."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        copies, left = 0, {tp for tp, end in ends.items() if end > 0}
        while left:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    doc = orjson.loads(record.value)
                    copies += len(doc["copies"]) if doc.get("event_type") == "edge_batch" else 1
                    if record.offset + 1 >= ends[tp]:
                        left.discard(tp)
        return copies
    finally:
        await consumer.stop()


NETWORK_METRICS_PORT = 19781  # the network worker's, beside the customer worker's 19780


def _metric_total(port: int, name: str) -> float | None:
    """The sum of a Prometheus metric's samples on a worker's metrics port (None if unreachable)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    except OSError:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _broker_pid() -> int | None:
    """The local Kafka broker's pid (deploy/local/services.sh's pid file), None if not found."""
    local = Path(os.environ.get("AMLSTREAM_LOCAL_DIR") or Path(__file__).resolve().parent.parent / ".local")
    try:
        pid = int((local / "kafka" / "kafka.pid").read_text().strip())
        cpu_seconds(pid)
    except (OSError, ValueError):
        return None
    return pid


def _ratio(a: float | None, b: float | None) -> float | None:
    """a / b to 3 places, or None when either rate could not be timed."""
    return round(a / b, 3) if a is not None and b else None


def _rate(inputs: int, seconds: float) -> float | None:
    """inputs / seconds, or None when the span is too short to time (a tenth and all of the inputs in one poll)."""
    return round(inputs / seconds, 1) if seconds > 0 else None


async def _stages_run(bench: Bench, tag: str, run: str, expected: int, network: bool, network_redis: str | None = None) -> dict[str, Any]:
    """One run over the tag's pre-loaded topic on an empty Redis: the customer stage alone
    (AMLSTREAM_NETWORK=false: no edges, no detections consumed) or with the network stage beside
    it (edges emitted, one network worker consuming them, its detections consumed back), on the
    customer stage's Redis or, with `network_redis`, on that one of its own
    (AMLSTREAM_NETWORK_REDIS_URL). Times: from the processes' start to the customer group's last
    input offset committed, and, with the network stage, to the network group's last edge
    committed after that (both stages done), each as first seen by the 0.5 s poll; `steady`
    rates count from the poll that first saw a tenth of the inputs committed (process start-up,
    paid once per deployment, left out)."""
    # each run its own output topics: a later run's network worker must not read an earlier run's
    # edges, nor its risk changes (it consumes aml.risk-changes.v1 from the earliest offset: with a
    # shared topic, run n read the risk changes of all n runs before it, and its CPU grew by about
    # 4 s a run, 24.4 -> 41.8 s over 5 pairs on 2026-12-01). The pre-loaded input topics are
    # shared, read by a new group each run.
    outputs = ("risk_changes", "patterns", "large_value", "dead_letter", "edges", "network_detections")
    topics = topics_for(tag).model_copy(update={name: f"bench.{run}.{name.replace('_', '-')}" for name in outputs})
    await provision(topics)
    await bench.flush()
    group, net_group = f"bench-st-{run}", f"bench-stn-{run}"
    env = worker_env(bench, topics, group, 19780, AMLSTREAM_NETWORK="true" if network else "false")
    broker = _broker_pid()
    broker_before = cpu_seconds(broker) if broker else None
    async with bench.redis() as redis:
        redis_before = await redis_counters(redis)
    if network_redis is not None:
        async with Redis.from_url(network_redis) as own:
            await own.flushdb()
            own_before = await redis_counters(own)
    processes = [start(WORKER, env)]
    if network:
        network_env = env | {"AMLSTREAM_NETWORK_GROUP_ID": net_group, "AMLSTREAM_NETWORK_METRICS_PORT": str(NETWORK_METRICS_PORT)}
        if network_redis is not None:
            network_env["AMLSTREAM_NETWORK_REDIS_URL"] = network_redis
        processes.append(start([sys.executable, "-m", "streams.cli", "network-worker"], network_env))
    started = time.monotonic()
    customer_s: float | None = None
    steady: tuple[float, int] | None = None  # (elapsed, inputs committed) once a tenth of the inputs is committed
    edges = 0  # messages on the edge topic once the customer stage is done
    try:
        while True:
            elapsed = time.monotonic() - started
            committed = await committed_total([topics.transactions], group) if customer_s is None else expected
            if steady is None and committed >= expected // 10:
                steady = (elapsed, committed)
            if customer_s is None and committed >= expected:
                customer_s = elapsed
                edges = await _edge_ends(topics.edges) if network else 0
            if customer_s is not None and (not network or await committed_total([topics.edges], net_group) >= edges):
                both_s = elapsed  # not the shutdown below: the alone run's time ends at its last commit too
                break
            for proc in processes:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args} exited {proc.returncode}: {stderr_tail(proc)}")
            if elapsed > 7200:
                raise TimeoutError(f"stages run {run} not done after {elapsed:.0f} s")
            await asyncio.sleep(0.5)
        cpu = [round(cpu_seconds(proc.pid), 2) for proc in processes]
        reanchored = _metric_total(NETWORK_METRICS_PORT, "amlstream_network_reanchored_evaluations_total") if network else None
        broker_cpu = round(cpu_seconds(broker) - broker_before, 2) if broker and broker_before is not None else None
        async with bench.redis() as redis:
            redis_cpu = round((await redis_counters(redis))["cpu_s"] - redis_before["cpu_s"], 2)
        if network_redis is not None:
            async with Redis.from_url(network_redis) as own:
                network_redis_cpu = round((await redis_counters(own))["cpu_s"] - own_before["cpu_s"], 2)
    finally:
        stop(processes)
    assert steady is not None and customer_s is not None
    steady_s, steady_n = steady
    out: dict[str, Any] = {
        "customer_stage_seconds": round(customer_s, 2),
        "customer_stage_tx_per_s": round(expected / customer_s, 1),
        # the rate once running: from a tenth of the inputs committed on (no process start-up)
        "customer_stage_steady_tx_per_s": _rate(expected - steady_n, customer_s - steady_s),
        "worker_cpu_s": cpu[0],
        "redis_cpu_s": redis_cpu,
        "broker_cpu_s": broker_cpu,
    }
    if network:
        out |= {
            "edge_messages": edges,
            "edge_copies": await _edge_copies(topics.edges),
            "both_done_seconds": round(both_s, 2),
            "both_tx_per_s": round(expected / both_s, 1),
            "both_steady_tx_per_s": _rate(expected - steady_n, both_s - steady_s),
            "network_worker_cpu_s": cpu[1],
            "network_reanchored_evaluations": reanchored,
        }
        if network_redis is not None:
            out["network_redis_cpu_s"] = network_redis_cpu
    return out


async def run_stages(bench: Bench, values: list[bytes], repeat: int = 1) -> dict[str, Any]:
    """Done-when figure of the network issue (#13): the two stages together keep >= 0.8 of the
    customer stage's throughput alone. Over one pre-loaded topic, `repeat` times in turn: the
    customer stage alone; both stages on one Redis (the customer worker emitting edges, a network
    worker consuming them); both stages with the network stage on a Redis of its own (a second
    private redis-server, AMLSTREAM_NETWORK_REDIS_URL) on the same machine. `together` = inputs /
    time until both stages are done, `customer_beside_network` = the customer stage's own rate in
    that run, `steady` = the same from a tenth of the inputs committed on. Medians of the per-run
    ratios to the alone run before them."""
    tag = bench.tag + "st"
    await provision(topics_for(tag))
    log(f"stages: {len(values)} transactions")
    await produce(topics_for(tag).transactions, values)
    runs = []
    async with bench_redis(None) as network_redis:
        for i in range(repeat):
            log(f"stages: customer stage alone ({i + 1}/{repeat})")
            alone = await _stages_run(bench, tag, f"{tag}a{i}", len(values), network=False)
            log(f"stages: customer and network stages, one Redis ({i + 1}/{repeat})")
            both = await _stages_run(bench, tag, f"{tag}b{i}", len(values), network=True)
            log(f"stages: customer and network stages, the network stage on its own Redis ({i + 1}/{repeat})")
            own = await _stages_run(bench, tag, f"{tag}o{i}", len(values), network=True, network_redis=network_redis)
            base = alone["customer_stage_tx_per_s"]
            runs.append(
                {
                    "alone": alone,
                    "both": both,
                    "both_own_redis": own,
                    "together_vs_alone": _ratio(both["both_tx_per_s"], base),
                    "customer_beside_network_vs_alone": _ratio(both["customer_stage_tx_per_s"], base),
                    "together_own_redis_vs_alone": _ratio(own["both_tx_per_s"], base),
                    "customer_beside_network_own_redis_vs_alone": _ratio(own["customer_stage_tx_per_s"], base),
                    "together_steady_vs_alone_steady": _ratio(both["both_steady_tx_per_s"], alone["customer_stage_steady_tx_per_s"]),
                    "together_own_redis_steady_vs_alone_steady": _ratio(own["both_steady_tx_per_s"], alone["customer_stage_steady_tx_per_s"]),
                }
            )

    def median(key: str) -> float | None:  # to 3 places as the ratios (an even count averages two)
        values = [r[key] for r in runs if r[key] is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "transactions": len(values),
        "repeat": repeat,
        "customer_stage_alone_tx_per_s": statistics.median(r["alone"]["customer_stage_tx_per_s"] for r in runs),
        "both_stages_tx_per_s": statistics.median(r["both"]["both_tx_per_s"] for r in runs),
        "both_stages_own_redis_tx_per_s": statistics.median(r["both_own_redis"]["both_tx_per_s"] for r in runs),
        "together_vs_alone": median("together_vs_alone"),
        "customer_beside_network_vs_alone": median("customer_beside_network_vs_alone"),
        "together_own_redis_vs_alone": median("together_own_redis_vs_alone"),
        "customer_beside_network_own_redis_vs_alone": median("customer_beside_network_own_redis_vs_alone"),
        "together_steady_vs_alone_steady": median("together_steady_vs_alone_steady"),
        "together_own_redis_steady_vs_alone_steady": median("together_own_redis_steady_vs_alone_steady"),
        "runs": runs,
        "targets": {"together_vs_alone": 0.8},
    }


async def iso20022_rate(bench: Bench, data: Path, legs_limit: int) -> dict[str, Any]:
    """The ISO 20022 adapter alone: the generated stream's first `legs_limit` legs rendered as
    pacs.008 / camt.054 messages and pre-loaded with the customers' account directory; rate =
    messages / (adapter start to the last input offset committed, which follows the
    acknowledgement of every leg)."""
    from iso20022.convert import message_files, message_type_of, render_files

    tag = bench.tag + "iso"
    topics = topics_for(tag)
    await provision(topics)
    with tempfile.TemporaryDirectory(prefix="amlstream-bench-iso-") as tmp:
        source = Path(tmp) / "legs.jsonl"
        source.write_bytes(b"\n".join(lines(data / "transactions.jsonl", legs_limit)) + b"\n")
        counts = render_files(str(source), Path(tmp) / "iso")
        accounts = [orjson.loads(line) for line in (Path(tmp) / "iso" / "accounts.jsonl").read_bytes().splitlines()]
        updated = "2026-07-31T00:00:00+08:00"
        profiles = [orjson.dumps({"customer_id": a["customer_id"], "kind": "individual", "updated_at": updated, "accounts": a["accounts"]}) for a in accounts]
        await produce(topics.customers, profiles)
        by_topic: dict[str, list[bytes]] = {topics.iso20022_pacs008: [], topics.iso20022_camt054: []}
        for file in message_files(str(Path(tmp) / "iso" / "messages")):
            raw = file.read_bytes()
            by_topic[topics.iso20022_pacs008 if message_type_of(raw) == "pacs.008" else topics.iso20022_camt054].append(raw)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20, max_request_size=4 << 20)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value=raw) for topic, values in by_topic.items() for raw in values])
    finally:
        await producer.stop()
    messages = sum(len(v) for v in by_topic.values())
    group = f"bench-iso-{tag}"
    env = worker_env(bench, topics, f"bench-unused-{tag}", 19760) | {
        "AMLSTREAM_TOPIC_ISO20022_PACS008": topics.iso20022_pacs008,
        "AMLSTREAM_TOPIC_ISO20022_CAMT054": topics.iso20022_camt054,
        "AMLSTREAM_ISO20022_GROUP_ID": group,
    }
    started = time.monotonic()
    proc = start([sys.executable, "-m", "streams.cli", "iso20022", "adapter"], env)
    try:
        while (done := await committed_total(list(by_topic), group)) < messages:
            if proc.poll() is not None:
                raise RuntimeError(f"adapter exited {proc.returncode}: {stderr_tail(proc)}")
            if time.monotonic() - started > 3600:
                raise TimeoutError(f"{done}/{messages} committed")
            await asyncio.sleep(0.25)
        seconds = time.monotonic() - started
    finally:
        stop([proc])
    return {
        "messages": messages,
        "pacs008_messages": counts.get("pacs.008", 0),
        "camt054_messages": counts.get("camt.054", 0),
        "legs": counts["legs"],
        "seconds": round(seconds, 2),
        "messages_per_s": round(messages / seconds, 1),
        "legs_per_s": round(counts["legs"] / seconds, 1),
    }
