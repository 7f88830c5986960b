"""Replay writes exactly what the topics receive from a worker for the same input."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from streams.sample import sample_stream
from tests.e2e.harness import ROOT, output_events, produce, wait_until_committed


def profiles() -> list[tuple[bytes, bytes]]:
    out = []
    for i, (industry, flags) in enumerate((("casino", {}), ("education", {"pep": True}), ("real_estate", {"refused_cdd": True}))):
        cid = f"C{i * 10 + 3:04d}"  # some of the sample's cash-heavy customers
        doc = {
            "customer_id": cid,
            "kind": "individual",
            "country": "CN",
            "industry": industry,
            "occupation": "manager",
            "updated_at": "2026-11-01T00:00:00Z",
            "declared_annual_income": 120000,
        } | flags
        out.append((cid.encode(), orjson.dumps(doc)))
    return out


def comparable(event: dict) -> bytes:
    """What must be identical: everything but delivery metadata; for dead letters, which input
    (its payload) and why, since the source position differs between a file and a topic."""
    if event["event_type"] == "dead_letter":
        event = {k: event[k] for k in ("event_type", "payload", "error_code", "error_detail")}
    return orjson.dumps({k: v for k, v in event.items() if k != "emitted_at"}, option=orjson.OPT_SORT_KEYS)


async def test_replay_writes_what_the_topics_receive(pipeline_env, tmp_path):
    env = pipeline_env
    topics = env["topics"]
    stream = list(sample_stream(customers=40, days=4, seed=3))
    (tmp_path / "customers.jsonl").write_bytes(b"".join(v + b"\n" for _, v in profiles()))
    (tmp_path / "transactions.jsonl").write_bytes(b"".join(v + b"\n" for _, v in stream))

    worker = env["start_worker"]()
    await produce(topics.customers, profiles())
    await output_events(topics, until=3, timeout_s=60)  # profiles rated before any transaction
    await produce(topics.transactions, stream)
    await wait_until_committed(topics, env["group"])
    from_topics = await output_events(topics, idle_s=3, timeout_s=60)
    assert worker.proc.poll() is None

    replay_env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}  # a throwaway redis-server of its own
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "replay",
            "--transactions",
            str(tmp_path / "transactions.jsonl"),
            "--customers",
            str(tmp_path / "customers.jsonl"),
            "--out",
            str(tmp_path / "out"),
            "--peer-baselines",
            "none",  # the worker publishes none during the test either
        ],
        env=replay_env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    from_files = []
    for name in ("risk-changes.jsonl", "suspicious-patterns.jsonl", "large-value-reports.jsonl", "dead-letter.jsonl"):
        from_files += [orjson.loads(line) for line in (tmp_path / "out" / name).read_bytes().splitlines()]
    summary = orjson.loads((tmp_path / "out" / "summary.json").read_bytes())

    assert sorted(map(comparable, from_files)) == sorted(map(comparable, from_topics))
    assert len(from_files) == len(from_topics) > 40
    assert summary["events"]["risk_change"] == sum(1 for e in from_topics if e["event_type"] == "risk_change")
    assert summary["inputs"] == len(stream) + 3 and summary["customers_by_level"]
