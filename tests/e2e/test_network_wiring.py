"""The customer stage's side of the network stage, on a real worker: committed payment legs
become payment edges (two copies, one for the payer's and one for the payee's party, each in the
edge batch of the partition that the party's key gives), and the network
stage's detections about a customer become that customer's alert naming every party, counted
once however often the detection is delivered, feeding its score."""

from __future__ import annotations

import re

import orjson

from streams.network.batches import partition_of
from tests.e2e.harness import ROOT, output_events, produce, read_all, wait_until_committed


def example_detection() -> dict:
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    body = re.search(r"<!-- example: network_detection -->\s*```json\n(.*?)```", text, re.S)
    assert body
    return orjson.loads(body.group(1))


async def test_edges_out_detections_in(pipeline_env):
    env = pipeline_env
    topics = env["topics"]
    worker = env["start_worker"]()
    leg = {
        "tx_id": "NW-1",
        "customer_id": "C-1001",
        "ts": "2026-11-02T09:00:00+08:00",
        "direction": "out",
        "amount": "20000.00",
        "currency": "CNY",
        "method": "transfer",
        "counterparty_id": "C-1002",
    }
    card = {**leg, "tx_id": "NW-2", "method": "card", "counterparty_id": "M-77"}  # a shop is not a relationship: no edge
    await produce(topics.transactions, [(b"C-1001", orjson.dumps(leg)), (b"C-1001", orjson.dumps(card))])
    await wait_until_committed(topics, env["group"])
    edges = []
    for _, partition, _, key, value in await read_all([topics.edges], idle_s=2, timeout_s=30):
        batch = orjson.loads(value)
        assert key is None and batch["event_type"] == "edge_batch" and batch["schema_version"] == 1
        for e in batch["copies"]:
            owner = e[e["key_role"]]["party_id"]
            assert partition_of(owner, batch["partitions"]) == partition  # where a message keyed by the owner would be
            edges.append((owner, e))
    assert sorted((owner, e["key_role"]) for owner, e in edges) == [("id:C-1001", "payer"), ("id:C-1002", "payee")]
    assert {e["tx_id"] for _, e in edges} == {"NW-1"} and len({e["edge_id"] for _, e in edges}) == 1

    detection = example_detection() | {"occurred_at": "2026-11-06T01:15:00.000Z"}
    message = (b"C-1001", orjson.dumps(detection))
    await produce(topics.network_detections, [message, message])  # delivered twice: counted once
    events = await output_events(topics, idle_s=3, timeout_s=60)
    alerts = [e for e in events if e["event_type"] == "suspicious_pattern"]
    assert len(alerts) == 1
    [alert] = alerts
    assert (alert["pattern"], alert["role"], alert["occurrence"], alert["status"]) == ("network_cycle", "origin", 1, "open")
    assert alert["parties"] == detection["parties"] and alert["cause"] == {"kind": "network", "ref": detection["detection_key"]}
    assert alert["occurred_at"] == "2026-11-06T01:15:00.000Z"
    rated = [e for e in events if e["event_type"] == "risk_change" and e["customer_id"] == "C-1001"]
    assert rated, "the customer was rated"
    assert worker.counter("amlstream_transactions_total", outcome="duplicate") >= 1
