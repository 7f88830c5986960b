"""The busy customer (bench section `busy`).

Input: a generated bank's ordinary customers for one business day (2026-08-01, Asia/Shanghai)
and one entity customer that receives `receipts` transfers from `payers` distinct payers spread
over that day (every payer at least once, the rest drawn at random) and pays out a few large
transfers; merged in event-time order into a fresh 4-partition topic; one worker.

The profiles are applied first (the worker is started on them alone: there is no order across
topics, and a receipt rated before its customer's profile is judged as an individual's), then
the transactions are produced and timed.

Per-receipt completion time: the busy customer's day total reaches the 0502 line (2,000,000 CNY)
at its receipt k0, and from then on every receipt revises that day's report (naming the receipt
in `cause.ref`); a receipt's completion time is that event's Kafka record timestamp (set when the
worker hands the event to its producer, after the batch was applied in Redis and rated). Rate over receipts a..b = (b - a) / (T[b] - T[a]): the first
window is max(k0, 1)..10,000, the last 40,000..50,000 (window = 10,000 or receipts / 5).

Redis: the longest single command, server-side, from SLOWLOG (threshold 1 ms, long enough a log
that nothing is dropped; durations are execution time in microseconds, without network or
queueing), cross-checked with LATENCY LATEST (the `command` event's maximum, ms) and the
per-command percentiles of INFO latencystats (Redis 7).

Report check: each (customer, rule, direction, business day) recomputed from the input file with
no amlstream code: the local date in Asia/Shanghai, rule by method and customer kind (cash 0501;
other methods 0502 for entities, 0503 domestic / 0504 cross-border for individuals), compared
with the last revision of each emitted report.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import (
    BOOTSTRAP,
    WORKER,
    Bench,
    committed_total,
    generated,
    lines,
    log,
    produce,
    provision,
    redis_counters,
    redis_delta,
    start,
    stderr_tail,
    stop,
    topics_for,
    worker_env,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUSY_ID = "B-BUSY-0001"
DAY = datetime(2026, 8, 1, tzinfo=SHANGHAI)  # synthbank's first day
OUTGOING = 20
THRESHOLDS_CNY = {"0501": 50_000, "0502": 2_000_000, "0503": 500_000, "0504": 200_000}
SLOWLOG_US = 1000


def busy_input(receipts: int, payers: int, seed: int = 5) -> tuple[bytes, list[tuple[float, bytes]]]:
    """The busy customer's profile and its legs as (epoch seconds, JSON)."""
    rng = random.Random(seed)
    profile = {
        "customer_id": BUSY_ID,
        "kind": "entity",
        "country": "CN",
        "residence_country": "CN",
        "industry": "wholesale",
        "products": ["e_banking"],
        "declared_annual_turnover": 20_000_000_000,
        "onboarded_at": "2015-03-02T10:00:00+08:00",
        "updated_at": "2026-07-31T00:00:00+08:00",
    }
    who = list(range(payers)) + [rng.randrange(payers) for _ in range(receipts - payers)]
    rng.shuffle(who)
    times = sorted(rng.uniform(0, 86_399) for _ in range(receipts))
    legs = []
    for i, (second, payer) in enumerate(zip(times, who, strict=True)):
        fen = int(min(max(rng.lognormvariate(0, 0.9) * 600_000, 10_000), 20_000_000))
        doc = {
            "tx_id": f"BR{i:07d}",
            "customer_id": BUSY_ID,
            "ts": (DAY + timedelta(seconds=second)).isoformat(timespec="milliseconds"),
            "direction": "in",
            "amount": f"{fen // 100}.{fen % 100:02d}",
            "currency": "CNY",
            "method": "transfer",
            "channel": "online",
            "counterparty_id": f"P{payer:06d}",
            "counterparty_account": f"62220{payer:011d}",
            "counterparty_bank": "中国建设银行",
        }
        legs.append((DAY.timestamp() + second, orjson.dumps(doc)))
    for j in range(OUTGOING):
        second = 3600 * 9 + j * 1500
        doc = {
            "tx_id": f"BO{j:04d}",
            "customer_id": BUSY_ID,
            "ts": (DAY + timedelta(seconds=second)).isoformat(timespec="milliseconds"),
            "direction": "out",
            "amount": "500000.00",
            "currency": "CNY",
            "method": "transfer",
            "channel": "online",
            "counterparty_id": f"S{j % 5:04d}",
            "counterparty_account": f"11001{j % 5:011d}",
        }
        legs.append((DAY.timestamp() + second, orjson.dumps(doc)))
    return orjson.dumps(profile), legs


def merged_input(ordinary_customers: int, receipts: int, payers: int) -> tuple[list[bytes], list[bytes]]:
    """(profiles, transactions in event-time order) of the ordinary bank's day plus the busy customer."""
    data = generated(ordinary_customers, 1, seed=11)
    profiles = lines(data / "customers.jsonl")
    legs = [(datetime.fromisoformat(orjson.loads(raw)["ts"]).timestamp(), raw) for raw in lines(data / "transactions.jsonl")]
    busy_profile, busy_legs = busy_input(receipts, payers)
    merged = sorted(legs + busy_legs, key=lambda pair: pair[0])  # stable: the busy legs keep their order
    return [*profiles, busy_profile], [raw for _, raw in merged]


async def read_topic(topic: str) -> list[tuple[int, dict[str, Any]]]:
    """(record timestamp ms, value) of every record on `topic` now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, max_partition_fetch_bytes=16 << 20, fetch_max_bytes=64 << 20)
    await consumer.start()
    out: list[tuple[int, dict[str, Any]]] = []
    try:
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or await _partitions(consumer, topic))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                out += [(r.timestamp, orjson.loads(r.value)) for r in records]
    finally:
        await consumer.stop()
    return out


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # aiokafka has no public metadata refresh
    return consumer.partitions_for_topic(topic) or set()


def expected_reports(profiles: list[bytes], transactions: list[bytes]) -> tuple[dict[tuple[str, str, str, str], dict[str, Any]], set[tuple[str, str, str, str]]]:
    """Day totals per (customer, rule, direction, local date) recomputed from the input, and the
    keys whose legs are all in CNY (only those can be judged against the CNY line here)."""
    kinds = {(doc := orjson.loads(raw))["customer_id"]: doc.get("kind") for raw in profiles}
    totals: dict[tuple[str, str, str, str], dict[str, Any]] = defaultdict(lambda: {"count": 0, "by_currency": defaultdict(Decimal)})
    foreign: set[tuple[str, str, str, str]] = set()
    for raw in transactions:
        tx = orjson.loads(raw)
        if tx.get("tx_type", "payment") != "payment":
            continue  # synthbank writes payments only; reversals would need their own recomputation
        cash = tx["method"] == "cash"
        entity = kinds.get(tx["customer_id"]) == "entity"
        rule = "0501" if cash else "0502" if entity else "0504" if tx.get("cross_border") else "0503"
        date = datetime.fromisoformat(tx["ts"].replace("Z", "+00:00")).astimezone(SHANGHAI).date().isoformat()
        key = (tx["customer_id"], rule, tx["direction"], date)
        totals[key]["count"] += 1
        totals[key]["by_currency"][tx["currency"]] += Decimal(tx["amount"])
        if tx["currency"] != "CNY":
            foreign.add(key)
    cny_only = {k for k in totals if k not in foreign}
    return totals, cny_only


def check_reports(reports: list[dict[str, Any]], expected: dict, cny_only: set) -> dict[str, Any]:
    last: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in reports:
        if r.get("action", "report") == "manual":
            continue
        key = (r["customer_id"], r["rule_code"], r["direction"], r["business_date"])
        if key not in last or r["revision"] > last[key]["revision"]:
            last[key] = r
    mismatches = []
    for key, r in last.items():
        want = expected.get(key)
        got = {ccy: Decimal(str(v)).quantize(Decimal("0.01")) for ccy, v in r["totals_by_currency"].items()}
        if want is None or r["tx_count"] != want["count"] or got != {c: v.quantize(Decimal("0.01")) for c, v in want["by_currency"].items()}:
            recomputed = want and {"tx_count": want["count"], "totals": {c: str(v) for c, v in want["by_currency"].items()}}
            mismatches.append({"key": key, "reported": {"tx_count": r["tx_count"], "totals": r["totals_by_currency"]}, "recomputed": recomputed})
    missing = [k for k in cny_only if expected[k]["by_currency"]["CNY"] >= THRESHOLDS_CNY[k[1]] and k not in last]
    busy = [k for k in last if k[0] == BUSY_ID]
    busy_expected = [k for k in cny_only if k[0] == BUSY_ID and expected[k]["by_currency"]["CNY"] >= THRESHOLDS_CNY[k[1]]]
    return {
        "reports_checked": len(last),
        "mismatches": len(mismatches),
        "mismatch_examples": mismatches[:5],
        "missing_cny_reports": len(missing),
        "missing_examples": [list(k) for k in missing[:5]],
        "busy_customer_reports": {
            f"{k[1]}:{k[2]}:{k[3]}": {
                "revision": last[k]["revision"],
                "tx_count": last[k]["tx_count"],
                "total_cny": last[k]["total_cny"],
                "recomputed": str(expected[k]["by_currency"]["CNY"]),
            }
            for k in busy
        },
        "busy_customer_equal": bool(busy) and sorted(busy) == sorted(busy_expected) and not any(m["key"][0] == BUSY_ID for m in mismatches),
    }


def completion_times(reports: list[tuple[int, dict[str, Any]]], receipt_ids: list[str]) -> dict[int, int]:
    """{receipt number (1-based): completion ms} from the busy customer's 0502 in-reports; each
    names the leg that caused it (`cause.ref`)."""
    number = {tx_id: k for k, tx_id in enumerate(receipt_ids, start=1)}
    done: dict[int, int] = {}
    for stamp, r in reports:
        if r["customer_id"] == BUSY_ID and r["rule_code"] == "0502" and r["direction"] == "in" and r["cause"]["ref"] in number:
            k = number[r["cause"]["ref"]]
            done[k] = min(done.get(k, stamp), stamp)
    return done


async def redis_watch_start(redis: Any) -> dict[str, Any]:
    saved = {name: (await redis.config_get(name))[name] for name in ("slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold")}
    await redis.config_set("slowlog-log-slower-than", SLOWLOG_US)
    await redis.config_set("slowlog-max-len", 1_000_000)
    await redis.config_set("latency-monitor-threshold", 1)
    await redis.slowlog_reset()
    await redis.execute_command("LATENCY", "RESET")
    await redis.config_resetstat()
    return saved


async def redis_watch_end(redis: Any, saved: dict[str, Any]) -> dict[str, Any]:
    entries = await redis.slowlog_get(-1)
    latest = await redis.execute_command("LATENCY", "LATEST")
    stats = await redis.execute_command("INFO", "latencystats")
    commands = await redis.info("commandstats")
    for name, value in saved.items():
        await redis.config_set(name, value)
    slowest = max(entries, key=lambda e: e["duration"], default=None)
    durations = sorted(e["duration"] for e in entries)
    command_max = {(row[0].decode() if isinstance(row[0], bytes) else row[0]): row[3] for row in latest}
    evalsha = commands.get("cmdstat_evalsha", {})
    return {
        "method": f"SLOWLOG (every command slower than {SLOWLOG_US} us, execution time only) + LATENCY LATEST + INFO latencystats",
        "slowest_call_ms": round(slowest["duration"] / 1000, 2) if slowest else 0.0,
        "slowest_call": _command(slowest["command"]) if slowest else None,
        "calls_over_1ms": len(durations),
        "calls_over_10ms": sum(1 for d in durations if d > 10_000),
        "calls_over_50ms": sum(1 for d in durations if d > 50_000),
        "latency_monitor_max_ms": command_max,
        "evalsha_percentiles_usec": stats.get("latency_percentiles_usec_evalsha"),
        "evalsha_calls": evalsha.get("calls"),
        "evalsha_usec_per_call": evalsha.get("usec_per_call"),
    }


def _command(command: Any) -> str:
    """The command name and key count of a SLOWLOG entry (a script's arguments are its input)."""
    text = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
    return " ".join(text.split()[:4])


async def _committed(proc: Any, topics: list[str], group: str, expected: int, timeout_s: float) -> None:
    started = time.monotonic()
    while (done := await committed_total(topics, group)) < expected:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited {proc.returncode}: {stderr_tail(proc)}")
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{done}/{expected} committed")
        await asyncio.sleep(0.5)


async def run_busy(bench: Bench, receipts: int, payers: int) -> dict[str, Any]:
    ordinary = 2_000 if bench.quick else 20_000
    profiles, transactions = merged_input(ordinary, receipts, payers)
    topics = topics_for(bench.tag + "busy")
    await provision(topics)
    log(f"busy customer: {receipts} receipts from {payers} payers among {len(transactions) - receipts - OUTGOING} ordinary legs of {ordinary} customers")
    await bench.flush()
    group = f"bench-busy-{bench.tag}"
    await produce(topics.customers, profiles)
    async with bench.redis() as redis:
        saved = await redis_watch_start(redis)
        proc = start(WORKER, worker_env(bench, topics, group, 19770))
        try:
            # there is no order across topics: the profiles are applied before any transaction is sent
            await _committed(proc, [topics.customers], group, len(profiles), 600)
            started = time.monotonic()
            counters = await redis_counters(redis)
            await produce(topics.transactions, transactions)
            await _committed(proc, [topics.transactions], group, len(transactions), 3600)
            seconds = time.monotonic() - started
        finally:
            stop([proc])
        work = redis_delta(counters, await redis_counters(redis), seconds)
        watch = await redis_watch_end(redis, saved)
        from streams.state.store import customer_keys

        busy_keys = {k.rsplit(":", 1)[1]: await redis.memory_usage(k, samples=0) for k in customer_keys(BUSY_ID)}
    reports = await read_topic(topics.large_value)
    legs = [orjson.loads(raw) for raw in transactions]
    receipt_ids = [tx["tx_id"] for tx in legs if tx["customer_id"] == BUSY_ID and tx["direction"] == "in"]
    done_at = completion_times(reports, receipt_ids)
    k0 = min(done_at, default=0)
    window = min(10_000, receipts // 5)
    first_a, first_b, last_a, last_b = max(k0, 1), window, receipts - window, receipts
    missing = [k for k in (first_a, first_b, last_a, last_b) if k not in done_at]
    if missing:
        raise RuntimeError(f"no report revision for busy receipts {missing} (k0={k0}, {len(done_at)} revisions)")
    first = (first_b - first_a) / ((done_at[first_b] - done_at[first_a]) / 1000)
    last = (last_b - last_a) / ((done_at[last_b] - done_at[last_a]) / 1000)
    expected_totals, cny_only = expected_reports(profiles, transactions)
    return {
        "ordinary_customers": ordinary,
        "transactions": len(transactions),
        "busy_receipts": receipts,
        "busy_payers": payers,
        "busy_outgoing": OUTGOING,
        "run_seconds": round(seconds, 1),
        "run_tx_per_s": round(len(transactions) / seconds, 1),
        "k0_receipt_reaching_0502": k0,
        "window": window,
        "first_window_receipts_per_s": round(first, 1),
        "last_window_receipts_per_s": round(last, 1),
        "last_vs_first": round(last / first, 3),
        "large_value_events": len(reports),
        "busy_large_value_events": sum(1 for _, r in reports if r["customer_id"] == BUSY_ID),
        "busy_customer_key_bytes": busy_keys,
        "redis": watch,
        "redis_work": work,
        "report_check": check_reports([r for _, r in reports], expected_totals, cny_only),
        "targets": {"last_vs_first": 0.8, "slowest_call_ms": 50},
    }
