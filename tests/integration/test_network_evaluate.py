"""`amlstream network-evaluate`: a live run's network detections (the topic, read to its end on the
real Kafka, or a file) against a generated bank's labels, at node level."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from streams.cli import evaluation_table, main, topic_to_end
from streams.network.evaluation import evaluate_detections
from streams.settings import Settings
from tests.e2e.harness import BOOTSTRAP, produce, provision, unique_topics

HEADER = "group_id,typology,variant,role,account_id,customer_id,start,end,party_id,party_name,party_bank\n"
SPAN = "2026-10-01T00:00:00+08:00,2026-10-03T00:00:00+08:00"


def detection(key: str, pattern: str, at: str, customer: str, *parties: str) -> dict:
    return {
        "event_type": "network_detection",
        "kind": "detection",
        "event_id": f"{pattern}-{customer}",
        "occurred_at": at,
        "customer_id": customer,
        "detection_key": key,
        "pattern": pattern,
        "parties": [{"party_id": p} for p in parties],
    }


EVENTS = [  # the case closes into a cycle: classified by its latest event in event time, whatever the order read
    detection("k1", "network_cycle", "2026-10-02T08:00:00Z", "C1", "id:C1", "id:C2", "id:C9"),
    detection("k1", "network_cycle", "2026-10-02T08:00:00Z", "C9", "id:C1", "id:C2", "id:C9"),
    detection("k1", "layering_chain", "2026-10-01T08:00:00Z", "C2", "id:C1", "id:C2"),  # read last, happened first
    {"event_type": "network_detection", "kind": "exposure", "customer_id": "C4"},  # a measurement, not a detection
]


@pytest.fixture
def labels(tmp_path):
    path = tmp_path / "network_labels.csv"
    rows = [f"G1,cycle,fast,{role},A{c},{c},{SPAN},,," for role, c in (("origin", "C1"), ("intermediary", "C2"), ("intermediary", "C3"))]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    (tmp_path / "customers.jsonl").write_bytes(
        b"\n".join(orjson.dumps({"customer_id": c, "kind": "individual", "updated_at": "2026-09-01T00:00:00Z"}) for c in ("C1", "C2", "C3", "C9")) + b"\n"
    )
    return path


def test_a_case_counts_under_its_latest_pattern_with_every_party_it_named(labels):
    report = evaluate_detections(EVENTS, labels, {"C1", "C2", "C3", "C9"})
    cycle = report["per_pattern"]["network_cycle"]
    assert (report["detection_events"], report["cases"]) == (3, 1)
    assert evaluate_detections(EVENTS[::-1], labels, {"C1", "C2", "C3", "C9"}) == report
    assert (cycle["named"], cycle["true_positives"], cycle["labelled"]) == (3, 2, 3)
    assert report["per_pattern"]["layering_chain"]["named"] == 0
    assert report["benign_flagged"] == 1  # C9
    assert evaluation_table(report).splitlines()[-1].split() == ["overall", "3", "3", "0.67", "0.67", "0.67"]


def test_the_topic_is_read_to_its_end_and_gives_what_the_file_gives(local_services, labels, tmp_path, monkeypatch, capsys):
    """(Synchronous: the command runs its own event loop, as from a shell.)"""
    topics = unique_topics()
    asyncio.run(provision(topics, partitions=2))
    keyed = [(str(e["customer_id"]).encode(), orjson.dumps(e)) for e in EVENTS]  # each customer's partition, as the stage produces them
    asyncio.run(produce(topics.network_detections, [*keyed, (None, b"not json")]))
    read = asyncio.run(topic_to_end(Settings(bootstrap_servers=BOOTSTRAP, topics=topics), topics.network_detections))
    assert sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in read) == sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in EVENTS)
    monkeypatch.setenv("AMLSTREAM_BOOTSTRAP_SERVERS", BOOTSTRAP)
    monkeypatch.setenv("AMLSTREAM_TOPIC_NETWORK_DETECTIONS", topics.network_detections)
    customers = str(tmp_path / "customers.jsonl")
    assert main(["network-evaluate", "--labels", str(labels), "--customers", customers]) == 0
    from_topic = orjson.loads(capsys.readouterr().out)
    (tmp_path / "d.jsonl").write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    assert main(["network-evaluate", "--labels", str(labels), "--customers", customers, "--detections", str(tmp_path / "d.jsonl")]) == 0
    assert orjson.loads(capsys.readouterr().out) == from_topic
    assert from_topic["overall"]["true_positives"] == 2


def test_a_missing_topic_is_a_clear_error(local_services, labels, monkeypatch, capsys):
    monkeypatch.setenv("AMLSTREAM_BOOTSTRAP_SERVERS", BOOTSTRAP)
    monkeypatch.setenv("AMLSTREAM_TOPIC_NETWORK_DETECTIONS", "no-such-topic-7f3a")
    assert main(["network-evaluate", "--labels", str(labels)]) != 0
    assert "no-such-topic-7f3a" in capsys.readouterr().err
