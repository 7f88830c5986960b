"""The other stages alone (bench sections `network` and `iso20022`)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from bench.common import BOOTSTRAP, Bench, committed_total, generated, lines, produce, provision, start, stderr_tail, stop, topics_for, worker_env


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


def combined_throughput_ratio(customer_stage_alone_tx_per_s: float, both_stages_tx_per_s: float) -> float:
    """Done-when figure of the network issue: throughput of the customer stage while the network
    stage runs beside it, over the customer stage alone (target >= 0.8)."""
    return round(both_stages_tx_per_s / customer_stage_alone_tx_per_s, 3) if customer_stage_alone_tx_per_s else 0.0


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
