"""The field cases (tests/integration/cases) on a real worker through Kafka: what the topics
receive equals what `replay` writes for the same input (per topic and customer, in order), and
the cases whose outcome depends on the reference clock or on arrival order across the two input
topics are checked against their README's expectations directly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.state import StateStore
from tests.e2e.harness import ROOT, output_events, produce, wait_until_committed

CASES = ROOT / "tests" / "integration" / "cases"


def lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()] if path.exists() else []


def keyed(raw: list[bytes]) -> list[tuple[bytes, bytes]]:
    return [(orjson.loads(v)["customer_id"].encode(), v) for v in raw]


def comparable(event: dict) -> tuple:
    """What must be identical between a topic and a file: everything but delivery metadata; for
    dead letters, which input (its payload) and why (the source position differs)."""
    if event["event_type"] == "dead_letter":
        fields = ("event_type", "customer_id", "payload", "error_code", "error_detail")
        if event["error_code"] == "future_timestamp":
            fields = fields[:-1]  # its detail names the reference clock, which differs by design (record timestamp / stream high-water mark)
        event = {k: event[k] for k in fields}
    body = {k: v for k, v in event.items() if k not in ("emitted_at", "event_id")}
    return (event["event_type"], event.get("customer_id") or "", orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


def per_key(events: list[dict]) -> list[tuple]:
    return sorted((comparable(e) for e in events), key=lambda c: (c[0], c[1]))  # stable: each customer's order per topic kept


async def run_worker(env: dict, case: Path) -> list[dict]:
    topics = env["topics"]
    env["start_worker"]()
    customers = lines(case / "customers.jsonl")
    if customers:
        await produce(topics.customers, keyed(customers))
        await output_events(topics, until=len(customers), timeout_s=60)  # profiles rated before any transaction
    await produce(topics.transactions, keyed(lines(case / "transactions.jsonl")))
    await wait_until_committed(topics, env["group"])
    return await output_events(topics, idle_s=3, timeout_s=60)


def replay(case: Path, out: Path) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}  # a throwaway redis-server of its own
    args = [sys.executable, "-m", "streams.cli", "replay", "--transactions", str(case / "transactions.jsonl"), "--out", str(out)]
    if (case / "customers.jsonl").exists():
        args += ["--customers", str(case / "customers.jsonl")]
    subprocess.run(args, check=True, env=env, cwd=ROOT, capture_output=True)
    return [orjson.loads(line) for name in ("risk-changes", "suspicious-patterns", "large-value-reports", "dead-letter") for line in lines(out / f"{name}.jsonl")]


@pytest.mark.parametrize(
    "name",
    [
        "future-timestamp",
        "late-copies-in-one-batch",
        "customer-id-with-braces",
        "busy-merchant-daily-total",
        "own-account-transfers",
        "reversal-and-return",
        "counterparty-name-variants",
    ],
)
async def test_the_worker_emits_what_replay_writes(pipeline_env, tmp_path, name):
    case = CASES / name
    from_topics = await run_worker(pipeline_env, case)
    assert from_topics, "the worker emitted nothing"
    assert per_key(from_topics) == per_key(replay(case, tmp_path / "replay"))


async def test_late_postings_on_the_worker(pipeline_env):
    """The worker's reference clock is the Kafka record's timestamp (now): the postings dated
    before now move the customers' clocks, the one dated 2027 is set aside; the reports come out
    as the case says."""
    events = await run_worker(pipeline_env, CASES / "late-posting-large-value")
    reports = [e for e in events if e["event_type"] == "large_value_report"]

    def of(customer: str) -> list[tuple]:
        return [(r["revision"], r["action"], r["total_cny"], r["tx_count"]) for r in reports if r["customer_id"] == customer]

    assert of("C-L1") == [(1, "report", 60_000.0, 3), (2, "report", 80_000.0, 4)]
    assert of("C-L2") == [(1, "report", 55_000.0, 2)]
    assert of("C-L3") == [(1, "report", 60_000.0, 1), (2, "report", 115_000.0, 2)]
    assert of("C-L4") == [(1, "report", 60_000.0, 1)]  # P-1 (2027) never moved its clock
    dead = {orjson.loads(d["payload"])["tx_id"]: d["error_code"] for d in events if d["event_type"] == "dead_letter"}
    assert dead == {"P-1": "future_timestamp"}
    worker = pipeline_env["workers"][0]
    assert worker.counter("amlstream_dead_letters_total", error_code="future_timestamp") == 1


async def test_profile_tombstone_on_the_worker(pipeline_env):
    """Messages across the two input topics, each sent after the previous one was processed:
    after the tombstone PG is rated with no profile; nothing is dead-lettered."""
    env = pipeline_env
    topics = env["topics"]
    env["start_worker"]()
    messages = [orjson.loads(line) for line in lines(CASES / "profile-tombstone" / "messages.jsonl")]
    for n, m in enumerate(messages, 1):
        topic = topics.customers if m["topic"] == "customers" else topics.transactions
        await produce(topic, [(m["key"].encode(), orjson.dumps(m["value"]) if m["value"] is not None else None)])
        if m["topic"] == "transactions":
            await wait_until_committed(topics, env["group"])
        else:
            await wait_for_profile_version(env["redis"], "PG", deleted=m["value"] is None, timeout_s=60)
        del n
    events = await output_events(topics, idle_s=3, timeout_s=30)
    assert not [e for e in events if e["event_type"] == "dead_letter"]
    state = (await StateStore(env["redis"]).states(["PG"]))["PG"]
    assert "profile" not in state and state["score"] == 0.0


async def wait_for_profile_version(redis, customer: str, *, deleted: bool, timeout_s: float) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = (await StateStore(redis).states([customer])).get(customer, {})
        if ("profile" not in state) == deleted and (deleted or state.get("profile")):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{customer}'s profile was not {'deleted' if deleted else 'applied'}")
