"""`amlstream produce` on the real Kafka: each line to its input topic keyed by its customer_id,
profiles first, at most --limit in all (the lines are checked before anything is sent: see
tests/unit/streams/test_cli_errors.py)."""

from __future__ import annotations

import orjson
import pytest

from streams.cli import produce_generated
from streams.settings import Settings
from tests.e2e.harness import BOOTSTRAP, provision, read_all, unique_topics

PROFILES = [{"customer_id": f"C-{i}", "kind": "individual", "updated_at": "2026-11-01T00:00:00Z"} for i in (1, 2)]
LEGS = [
    {"tx_id": f"T-{i}", "customer_id": f"C-{i % 2 + 1}", "ts": "2026-11-02T10:00:00Z", "direction": "in", "amount": "1.00", "currency": "CNY", "method": "cash"}
    for i in range(3)
]


@pytest.mark.parametrize(("limit", "expected"), [(None, 5), (3, 3)])
async def test_produce_sends_profiles_then_legs_keyed_by_customer(local_services, tmp_path, limit, expected):
    (tmp_path / "customers.jsonl").write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in PROFILES) + b"\n")  # a blank line is skipped
    (tmp_path / "transactions.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in LEGS))
    topics = unique_topics()
    await provision(topics, partitions=1)
    sent = await produce_generated(Settings(bootstrap_servers=BOOTSTRAP, topics=topics), tmp_path, None, limit)
    records = await read_all([topics.customers, topics.transactions], until=expected, timeout_s=30)
    assert sent == len(records) == expected
    wanted = [(topics.customers, p) for p in PROFILES] + [(topics.transactions, t) for t in LEGS]
    got = sorted((topic, offset, key, orjson.loads(value)) for topic, _, offset, key, value in records)
    assert got == sorted((topic, i if topic == topics.customers else i - 2, doc["customer_id"].encode(), doc) for i, (topic, doc) in enumerate(wanted[:expected]))
