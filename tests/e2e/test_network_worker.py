"""The network worker as a real process: edges in, detections out, and the risk levels it learns
from the customer stage's aml.risk-changes.v1 (every worker records its risk partitions in one
Redis hash and reads the others'), without which the exposure rule could never fire."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
from redis.asyncio import Redis

from factors.network.edges import edge_messages, edges_for_leg
from streams.events import iso
from tests.e2e.conftest import free_port
from tests.e2e.harness import WorkerProcess, env_for, produce, read_all
from tests.services import redis_url

SUSPICIOUS_AT = "2026-11-01T00:00:00.000Z"
PAID_MS = 1_793_930_400_000  # 2026-11-06T02:00:00Z, after the counterparty became suspicious
HISTORY_MS = PAID_MS - 40 * 86_400_000  # the stage's first edge: its observed history begins 40 days before the payments


def legs_of_a_book_transfer(tx: str, payer: str, payee: str, fen: int, ts_ms: int) -> list[tuple[bytes, bytes]]:
    """Both legs of a transfer between two customers, as the customer stage produces their edge copies."""
    out = []
    for customer, direction, cp in ((payer, "out", payee), (payee, "in", payer)):
        edge = edges_for_leg(tx_id=f"{tx}-{direction}", customer_id=customer, ts_ms=ts_ms, direction=direction, amount_fen=fen, method="transfer", counterparty_id=cp)
        out += [(k.encode(), orjson.dumps(v)) for k, v in edge_messages(edge, iso(ts_ms))]
    return out


async def diagnosis(worker: WorkerProcess, redis, log: Path) -> str:
    """What an assertion message carries when the worker missed an output (an intermittent miss in
    make test / CI, 2026-12-01, left nothing to read): its counters, the shared Redis keys, its log."""
    counters = [line for line in worker.metrics().splitlines() if line.startswith("amlstream_network") and "_bucket" not in line and not line.startswith("#")]
    shared = {"aml:net:risk": await redis.hgetall("aml:net:risk"), "aml:net:origin": await redis.get("aml:net:origin")}
    return "\n".join([*counters, repr(shared), log.read_text(errors="replace")[-3000:]])


async def test_exposure_to_a_customer_the_customer_stage_rated_suspicious(pipeline_env, tmp_path):
    env = pipeline_env
    topics, redis = env["topics"], env["redis"]
    group = f"{env['group']}-net"
    net_env = env_for(
        topics, env["redis_url"], env["group"], free_port(), AMLSTREAM_NETWORK_GROUP_ID=group, AMLSTREAM_NETWORK_METRICS_PORT=str(free_port()), AMLSTREAM_LOG_LEVEL="info"
    )
    worker = WorkerProcess(net_env, tmp_path / "network-worker.log", "network-worker").start()
    env["workers"].append(worker)

    change = {"event_type": "risk_change", "customer_id": "C-H", "occurred_at": SUSPICIOUS_AT, "current": {"level": "suspicious", "score": 72.0}}
    await produce(topics.risk_changes, [(b"C-H", orjson.dumps(change)), (b"C-X", b"{not json")])
    deadline = time.monotonic() + 90
    while await redis.hget("aml:net:risk", "C-H") is None:
        assert time.monotonic() < deadline, (tmp_path / "network-worker.log").read_text()[-3000:]
        await asyncio.sleep(0.5)
    assert (await redis.hget("aml:net:risk", "C-H")).decode() == "suspicious@1793491200000"

    # a backfill edge first (newness of a relationship is judged against the history the stage has seen),
    # then two customers start dealing with C-H after it became suspicious: the second draws the alert
    await produce(topics.edges, legs_of_a_book_transfer("NX-0", "C-8", "C-9", 300_00, HISTORY_MS))
    while await redis.get("aml:net:origin") is None:
        assert time.monotonic() < deadline, (tmp_path / "network-worker.log").read_text()[-3000:]
        await asyncio.sleep(0.5)
    await produce(topics.edges, legs_of_a_book_transfer("NX-1", "C-1", "C-H", 5_000_00, PAID_MS))
    first = await read_all([topics.network_detections], idle_s=3, timeout_s=90)
    kinds = {orjson.loads(v)["kind"] for *_, v in first}
    assert kinds == {"exposure"}, await diagnosis(worker, redis, tmp_path / "network-worker.log")  # one customer exposed: measured, no alert yet
    await produce(topics.edges, legs_of_a_book_transfer("NX-2", "C-H", "C-2", 3_000_00, PAID_MS + 3_600_000))
    expected = {("C-1", "high_risk_exposure", "exposed"), ("C-2", "high_risk_exposure", "exposed"), ("C-H", "high_risk_exposure", "high_risk_party")}
    deadline = time.monotonic() + 90
    while True:  # read until the alert is there: a loaded worker may take longer than one idle window
        records = await read_all([topics.network_detections], idle_s=3, timeout_s=90)
        events = list({e["event_id"]: e for e in (orjson.loads(v) for *_, v in records)}.values())  # a redelivered copy repeats its event ids
        detections = [e for e in events if e["kind"] == "detection"]
        if len(detections) >= len(expected) or time.monotonic() > deadline:
            break
    found = {(e["customer_id"], e["pattern"], e["role"]) for e in detections}
    assert found == expected, await diagnosis(worker, redis, tmp_path / "network-worker.log")
    assert detections[0]["metrics"] == {"exposed_customers": 2, "transfers": 2, "total_cny": 8000.0, "high_risk_level": "suspicious", "high_risk_lapsed": False}
    assert len({e["event_id"] for e in detections}) == 3  # found once, at C-H's copy of the second edge
    exposures = [e for e in events if e["kind"] == "exposure"]
    # measured on each exposed customer's side: one content per edge, one event_id (consumers deduplicate on it)
    assert sorted((e["customer_id"], e["exposure"]["exposure_cny"]) for e in exposures) == [("C-1", 5000.0), ("C-2", 3000.0)]

    dead = [orjson.loads(v) for *_, v in await read_all([topics.dead_letter], idle_s=2, timeout_s=30)]
    assert [(d["error_code"], d["source"]["topic"]) for d in dead] == [("invalid_json", topics.risk_changes)]
    assert worker.counter("amlstream_network_risk_changes_total", outcome="recorded") == 1
    assert worker.counter("amlstream_network_risk_changes_total", outcome="invalid") == 1
    assert worker.counter("amlstream_network_high_risk_customers") == 1


NETWORK_DB = 8  # the network stage's own Redis in the next test (no other test uses it)


async def test_a_network_worker_with_its_own_redis_keeps_its_state_there(pipeline_env, tmp_path):
    """AMLSTREAM_NETWORK_REDIS_URL: the graph state and the risk levels go to the network stage's
    Redis; the customer stage's (AMLSTREAM_REDIS_URL) gets no key from it."""
    env = pipeline_env
    topics, shared = env["topics"], env["redis"]
    own = Redis.from_url(redis_url(NETWORK_DB))
    await own.flushdb()
    try:
        net_env = env_for(
            topics,
            env["redis_url"],
            env["group"],
            free_port(),
            AMLSTREAM_NETWORK_GROUP_ID=f"{env['group']}-net",
            AMLSTREAM_NETWORK_METRICS_PORT=str(free_port()),
            AMLSTREAM_NETWORK_REDIS_URL=redis_url(NETWORK_DB),
        )
        worker = WorkerProcess(net_env, tmp_path / "network-worker.log", "network-worker").start()
        env["workers"].append(worker)
        change = {"event_type": "risk_change", "customer_id": "C-H", "occurred_at": SUSPICIOUS_AT, "current": {"level": "suspicious", "score": 72.0}}
        await produce(topics.risk_changes, [(b"C-H", orjson.dumps(change))])
        deadline = time.monotonic() + 90
        while await own.hget("aml:net:risk", "C-H") is None:  # recorded before the edge is judged (two agents)
            assert time.monotonic() < deadline, (tmp_path / "network-worker.log").read_text()[-3000:]
            await asyncio.sleep(0.5)
        await produce(topics.edges, legs_of_a_book_transfer("NX-1", "C-1", "C-H", 5_000_00, PAID_MS))
        exposures = [orjson.loads(v) for *_, v in await read_all([topics.network_detections], idle_s=3, timeout_s=90)]
        assert {(e["kind"], e["customer_id"]) for e in exposures} == {("exposure", "C-1")}  # judged on the levels in its own Redis
        assert await own.get("aml:net:origin") is not None
        assert len([k async for k in own.scan_iter(match="aml:net:{*}:m")]) == 2  # the accounts of C-1 and C-H
        assert await shared.dbsize() == 0
    finally:
        await own.flushdb()
        await own.aclose()
