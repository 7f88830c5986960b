"""The benchmark: one command, real local Kafka and Redis, a JSON result file and a table.

    python -m bench.run                     # the full run (1,000,000 transactions)
    python -m bench.run --transactions 100000 --quick

Measures, in one run on this machine: the rate of a plain aiokafka batch consumer, of a bare
faust pass-through and of one amlstream worker over the same pre-loaded topic (and their
ratios); 1 vs 2 workers in one group; event-time -> output latency percentiles at 50 % of the
measured maximum rate; Redis memory per customer after 90 days of history; throughput and
memory from 10k to 100k customers. Results: bench/results/latest.json (+ a dated copy).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from redis.asyncio import Redis

from streams.cli import create_topics
from streams.settings import Settings, Topics

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA = ROOT / ".local" / "bench"
BOOTSTRAP = "127.0.0.1:9092"
PARTITIONS = 4
BENCH_DB = 9


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def topics_for(tag: str) -> Topics:
    return Topics(f"bench.{tag}.tx", f"bench.{tag}.customers", f"bench.{tag}.risk", f"bench.{tag}.patterns", f"bench.{tag}.lv", f"bench.{tag}.dead")


async def provision(topics: Topics) -> None:
    await create_topics(Settings(bootstrap_servers=BOOTSTRAP, topics=topics), PARTITIONS, 1)


def generated(customers: int, days: int, seed: int) -> Path:
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


async def produce(topic: str, values: list[bytes]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for value in values:
            key = orjson.loads(value)["customer_id"].encode()
            pending.append(await producer.send(topic, key=key, value=value))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return len(values) / (time.monotonic() - started)


async def aiokafka_rate(topic: str, expected: int) -> float:
    """The client's own limit: a plain batch consumer (getmany) decoding every JSON value."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    seen = 0
    started = None
    try:
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if started is None and batch:
                started = time.monotonic()
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
    finally:
        await consumer.stop()
    return seen / (time.monotonic() - (started or time.monotonic()))


async def committed(topic: str, group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([(await consumer.committed(TopicPartition(topic, p))) or 0 for p in range(PARTITIONS)])
    finally:
        await consumer.stop()


async def run_until_committed(processes: list[tuple[list[str], dict[str, str]]], topic: str, group: str, expected: int, timeout_s: float) -> float:
    """Start the processes, wait until the group committed every input offset; rate = inputs /
    (time from start to the last commit)."""
    started = time.monotonic()
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for cmd, env in processes]
    try:
        while True:
            done = await committed(topic, group)
            if done >= expected:
                return expected / (time.monotonic() - started)
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args} exited {p.returncode}: {p.stderr.read().decode()[-2000:]}")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{done}/{expected} committed after {timeout_s}s")
            await asyncio.sleep(0.5)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


WORKER = [sys.executable, "-m", "streams.cli", "worker"]


def worker_env(topics: Topics, group: str, port: int, batch: int = 500) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}
    env.update(
        AMLSTREAM_BOOTSTRAP_SERVERS=BOOTSTRAP,
        AMLSTREAM_REDIS_URL=f"redis://127.0.0.1:6379/{BENCH_DB}",
        AMLSTREAM_GROUP_ID=group,
        AMLSTREAM_METRICS_PORT=str(port),
        AMLSTREAM_TOPIC_TRANSACTIONS=topics.transactions,
        AMLSTREAM_TOPIC_CUSTOMERS=topics.customers,
        AMLSTREAM_TOPIC_RISK_CHANGES=topics.risk_changes,
        AMLSTREAM_TOPIC_PATTERNS=topics.patterns,
        AMLSTREAM_TOPIC_LARGE_VALUE=topics.large_value,
        AMLSTREAM_TOPIC_DEAD_LETTER=topics.dead_letter,
        AMLSTREAM_LOG_LEVEL="warning",
        AMLSTREAM_BATCH_SIZE=str(batch),
        AMLSTREAM_PEER_PUBLISH_INTERVAL_S="0",
    )
    return env


async def flush_bench_db() -> Redis:
    redis = Redis.from_url(f"redis://127.0.0.1:6379/{BENCH_DB}")
    await redis.flushdb()
    return redis


async def throughput(values: list[bytes], workers: int, tag: str) -> dict[str, float]:
    topics = topics_for(tag)
    await provision(topics)
    await produce(topics.transactions, values)
    await flush_bench_db()
    group = f"bench-w-{tag}"
    processes = [(WORKER, worker_env(topics, group, 19700 + i)) for i in range(workers)]
    rate = await run_until_committed(processes, topics.transactions, group, len(values), 3600)
    return {"transactions": len(values), "workers": workers, "tx_per_s": round(rate, 1)}


async def passthrough_rate(topic: str, expected: int, tag: str) -> float:
    sink = f"bench.{tag}.sink"
    await create_topics(Settings(bootstrap_servers=BOOTSTRAP, topics=Topics(sink, sink + ".c", sink + ".r", sink + ".p", sink + ".l", sink + ".d")), PARTITIONS, 1)
    group = f"bench-pt-{tag}"
    env = dict(os.environ, BENCH_SOURCE=topic, BENCH_SINK=sink, BENCH_GROUP=group, BENCH_BOOTSTRAP=BOOTSTRAP)
    return await run_until_committed([([sys.executable, "-m", "bench.passthrough", "worker"], env)], topic, group, expected, 3600)


async def latency(rate: float, seconds: int, tag: str) -> dict[str, float]:
    """Offer `rate` tx/s of first-time customers (each one yields a first-rating risk change) with
    event time = now; latency = output record timestamp - event time."""
    topics = topics_for(tag)
    await provision(topics)
    await flush_bench_db()
    group = f"bench-lat-{tag}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"], env=worker_env(topics, group, 19750, batch=200), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await asyncio.sleep(12)  # worker start-up and group join
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=1)
        await producer.start()
        sent = 0
        started = time.monotonic()
        try:
            while time.monotonic() - started < seconds:
                target = int((time.monotonic() - started) * rate)
                while sent < target:
                    now = datetime.now(tz=UTC)
                    cid = f"L{tag}{sent:08d}"
                    doc = {
                        "tx_id": f"LT{sent:09d}",
                        "customer_id": cid,
                        "ts": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                        "direction": "in",
                        "amount": "123.45",
                        "currency": "CNY",
                        "method": "transfer",
                    }
                    await producer.send(topics.transactions, key=cid.encode(), value=orjson.dumps(doc))
                    sent += 1
                await asyncio.sleep(0.002)
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topics.risk_changes, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        samples: list[float] = []
        deadline = time.monotonic() + 120
        try:
            while len(samples) < sent and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for r in records:
                        event = orjson.loads(r.value)
                        occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp() * 1000
                        samples.append(r.timestamp - occurred)
        finally:
            await consumer.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    samples.sort()

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * len(samples)))], 1) if samples else float("nan")

    return {
        "offered_tx_per_s": round(rate, 1),
        "seconds": seconds,
        "sent": sent,
        "measured": len(samples),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(samples[-1], 1) if samples else None,
    }


async def memory_per_customer(customers: int, days: int) -> dict[str, float]:
    """Redis memory per customer after `days` of history, through the replay engine."""
    from streams.model import load_model
    from streams.replay import replay
    from streams.settings import load_settings

    data = generated(customers, days, seed=21)
    redis = await flush_bench_db()
    before = (await redis.info("memory"))["used_memory"]
    settings = load_settings({"AMLSTREAM_REDIS_URL": f"redis://127.0.0.1:6379/{BENCH_DB}"})
    result = await replay(settings, load_model(), str(data / "transactions.jsonl"), str(data / "customers.jsonl"), None)
    after = (await redis.info("memory"))["used_memory"]
    keys = await redis.dbsize()
    await redis.aclose()
    active = len(result.final)
    return {
        "customers": customers,
        "days": days,
        "transactions": result.inputs,
        "replay_tx_per_s": round(result.inputs / result.seconds, 1),
        "redis_bytes_per_customer": round((after - before) / max(active, 1), 1),
        "keys": keys,
    }


async def network_stage(customers: int, days: int) -> dict[str, float]:
    """The network stage alone over a generated bank's edges (replay engine, real Redis): edges/s,
    search cost per edge and Redis memory per account of the graph state."""
    from streams.model import load_model
    from streams.network.replay import network_replay

    data = generated(customers, days, seed=21)
    redis = await flush_bench_db()
    before = (await redis.info("memory"))["used_memory"]
    result = await network_replay(redis, load_model(), str(data / "transactions.jsonl"), str(data / "customers.jsonl"), None)
    after = (await redis.info("memory"))["used_memory"]
    accounts = len([k async for k in redis.scan_iter(match="aml:net:*:m", count=1000)])
    await redis.aclose()
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


def combined_throughput_ratio(customer_stage_alone_tx_per_s: float, both_stages_tx_per_s: float) -> float:
    """Done-when figure: throughput of the customer stage while the network stage runs beside it
    (both consuming the same input's edges), over the customer stage alone; the lead calls this
    once the customer stage produces aml.edges.v1 (target >= 0.8)."""
    return round(both_stages_tx_per_s / customer_stage_alone_tx_per_s, 3) if customer_stage_alone_tx_per_s else 0.0


async def committed_total(topics: list[str], group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([(await consumer.committed(TopicPartition(t, p))) or 0 for t in topics for p in range(PARTITIONS)])
    finally:
        await consumer.stop()


async def iso20022_rate(data: Path, legs_limit: int, tag: str) -> dict[str, float]:
    """The ISO 20022 adapter alone: the generated stream's first `legs_limit` legs rendered as
    pacs.008 / camt.054 messages (50 transactions or entries per message) and pre-loaded with the
    customers' account directory; rate = messages / (adapter start to the last input offset
    committed, which follows the acknowledgement of every leg)."""
    import tempfile

    from iso20022.convert import message_files, message_type_of, render_files

    topics = topics_for(tag).model_copy(update={"iso20022_pacs008": f"bench.{tag}.pacs008", "iso20022_camt054": f"bench.{tag}.camt054"})
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
    env = worker_env(topics, f"bench-unused-{tag}", 19760) | {
        "AMLSTREAM_TOPIC_ISO20022_PACS008": topics.iso20022_pacs008,
        "AMLSTREAM_TOPIC_ISO20022_CAMT054": topics.iso20022_camt054,
        "AMLSTREAM_ISO20022_GROUP_ID": group,
    }
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "iso20022", "adapter"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while (done := await committed_total(list(by_topic), group)) < messages:
            if proc.poll() is not None:
                raise RuntimeError(f"adapter exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() - started > 3600:
                raise TimeoutError(f"{done}/{messages} committed")
            await asyncio.sleep(0.25)
        seconds = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "messages": messages,
        "pacs008_messages": counts.get("pacs.008", 0),
        "camt054_messages": counts.get("camt.054", 0),
        "legs": counts["legs"],
        "seconds": round(seconds, 2),
        "messages_per_s": round(messages / seconds, 1),
        "legs_per_s": round(counts["legs"] / seconds, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="shorter latency run, smaller scale-out and scaling runs")
    parser.add_argument("--iso20022-only", action="store_true", help="only the ISO 20022 adapter measure (bench/results/iso20022-latest.json)")
    args = parser.parse_args()
    subprocess.run(["bash", str(ROOT / "deploy/local/services.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    tag = uuid.uuid4().hex[:6]
    results: dict = {
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "note": "Kafka broker, Redis and the measured processes share these cores",
        },
    }

    customers = max(1000, args.transactions // 45)
    data = generated(customers, 30, seed=7)
    iso_legs = min(args.transactions, 100_000)
    if args.iso20022_only:
        log(f"ISO 20022 adapter over the first {iso_legs} legs rendered as messages")
        results["iso20022_adapter"] = await iso20022_rate(data, iso_legs, tag + "iso")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "iso20022-latest.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(orjson.dumps(results["iso20022_adapter"]).decode())
        return
    values = lines(data / "transactions.jsonl", args.transactions)
    log(f"{len(values)} transactions from {customers} customers; producing to the input topic")
    topics = topics_for(tag)
    await provision(topics)
    results["produce_tx_per_s"] = round(await produce(topics.transactions, values), 1)

    log("plain aiokafka getmany consumer")
    results["aiokafka_getmany_msgs_per_s"] = round(await aiokafka_rate(topics.transactions, len(values)), 1)
    log("bare faust pass-through")
    results["faust_passthrough_msgs_per_s"] = round(await passthrough_rate(topics.transactions, len(values), tag), 1)
    log("one amlstream worker")
    await flush_bench_db()
    group = f"bench-w1-{tag}"
    rate = await run_until_committed([(WORKER, worker_env(topics, group, 19700))], topics.transactions, group, len(values), 7200)
    results["worker_tx_per_s"] = round(rate, 1)
    results["worker_vs_passthrough"] = round(rate / results["faust_passthrough_msgs_per_s"], 3)
    results["worker_vs_aiokafka"] = round(rate / results["aiokafka_getmany_msgs_per_s"], 4)

    scale_n = min(len(values), 100_000 if args.quick else 300_000)
    log(f"scale-out: 1 vs 2 workers over {scale_n} transactions")
    one = await throughput(values[:scale_n], 1, tag + "s1")
    two = await throughput(values[:scale_n], 2, tag + "s2")
    results["scale_out"] = {"one_worker": one, "two_workers": two, "ratio": round(two["tx_per_s"] / one["tx_per_s"], 3) if one["tx_per_s"] else None}

    log("latency at 50 % of the measured single-worker rate")
    results["latency"] = await latency(rate * 0.5, 30 if args.quick else 60, tag + "lat")

    log("Redis memory per customer with 90 days of history")
    results["memory_90d"] = await memory_per_customer(300 if args.quick else 1000, 90)
    log("scaling with the customer count (about the same number of transactions spread over 10x more customers)")
    results["scaling"] = [await memory_per_customer(n, d) for n, d in (((2_000, 10), (20_000, 1)) if args.quick else ((10_000, 17), (100_000, 2)))]

    log("network stage: edges/s and Redis memory per account (replay engine)")
    results["network_stage"] = await network_stage(1_000 if args.quick else 2_000, 30 if args.quick else 45)
    log(f"ISO 20022 adapter over the first {iso_legs} legs rendered as messages")
    results["iso20022_adapter"] = await iso20022_rate(data, iso_legs, tag + "iso")

    RESULTS.mkdir(parents=True, exist_ok=True)
    body = orjson.dumps(results, option=orjson.OPT_INDENT_2)
    (RESULTS / "latest.json").write_bytes(body)
    (RESULTS / f"{time.strftime('%Y-%m-%d')}.json").write_bytes(body)
    print(table(results))


def table(r: dict) -> str:
    rows = [
        ("plain aiokafka getmany (msgs/s)", r["aiokafka_getmany_msgs_per_s"]),
        ("bare faust pass-through (msgs/s)", r["faust_passthrough_msgs_per_s"]),
        ("one amlstream worker (tx/s)", r["worker_tx_per_s"]),
        ("worker / pass-through", r["worker_vs_passthrough"]),
        ("2 workers / 1 worker", r["scale_out"]["ratio"]),
        ("latency p50 / p95 / p99 (ms) at 50 %", f"{r['latency']['p50_ms']} / {r['latency']['p95_ms']} / {r['latency']['p99_ms']}"),
        ("Redis bytes per customer, 90 days", r["memory_90d"]["redis_bytes_per_customer"]),
    ] + [(f"{s['customers']} customers: replay tx/s, bytes/customer", f"{s['replay_tx_per_s']}, {s['redis_bytes_per_customer']}") for s in r["scaling"]]
    if "iso20022_adapter" in r:
        iso = r["iso20022_adapter"]
        rows.append(("ISO 20022 adapter messages/s (legs/s)", f"{iso['messages_per_s']} ({iso['legs_per_s']})"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


if __name__ == "__main__":
    asyncio.run(main())
