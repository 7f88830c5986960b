"""`network-replay` over files with bad records, on the real Redis: a profile the customer stage
would dead-letter is skipped and counted; a leg it would dead-letter is counted by error code and
written to network-dead-letter.jsonl; nothing is dropped silently and no line stops the run."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from streams.errors import InputFileError
from streams.model import load_model
from streams.network.replay import network_replay
from tests.services import redis_url

DB = 9  # no other test uses it
LEG = {
    "customer_id": "C-1",
    "ts": "2026-11-02T10:00:00+08:00",
    "direction": "out",
    "amount": "5000.00",
    "currency": "CNY",
    "method": "transfer",
    "counterparty_id": "C-2",
}
PROFILE = {"customer_id": "C-1", "kind": "individual", "updated_at": "2026-10-01T00:00:00+08:00", "accounts": ["A-1"]}


@pytest.fixture
async def redis(local_services):
    client = Redis.from_url(redis_url(DB))
    await client.flushdb()
    yield client
    await client.aclose()


async def test_bad_profiles_are_counted_and_bad_legs_dead_lettered(redis, tmp_path):
    customers = tmp_path / "customers.jsonl"
    customers.write_bytes(b'{"customer_id": "X"\n' + orjson.dumps(PROFILE) + b"\n" + orjson.dumps({**PROFILE, "customer_id": "C-3", "kind": "robot"}) + b"\n")
    transactions = tmp_path / "transactions.jsonl"
    lines = [
        orjson.dumps({**LEG, "tx_id": "T-1"}),
        b'{"tx_id": "T-2", "customer_id": "C-1"',  # not JSON
        b"[1, 2]",
        orjson.dumps({**LEG, "tx_id": "T-4", "amount": "-5"}),
        orjson.dumps({**LEG, "tx_id": "T-5", "method": "cash", "counterparty_id": None}),  # valid, no edge
        orjson.dumps({**LEG, "tx_id": "T-6", "ts": "2026-11-02T11:00:00+08:00"}),
    ]
    transactions.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    result = await network_replay(redis, load_model(), str(transactions), str(customers), out)
    summary = orjson.loads((out / "network-summary.json").read_bytes())
    assert summary["profiles_skipped"] == {"invalid_json": 1, "invalid_value": 1}
    assert summary["dead_letters"] == {"invalid_amount": 1, "invalid_json": 1, "not_an_object": 1}
    assert summary["edge_copies"] == result.copies == 4  # T-1 and T-6, two copies each
    letters = [orjson.loads(line) for line in (out / "network-dead-letter.jsonl").read_bytes().splitlines()]
    assert [(d["source"]["offset"], d["error_code"], d["customer_id"]) for d in letters] == [
        (1, "invalid_json", None),
        (2, "not_an_object", None),
        (3, "invalid_amount", "C-1"),
    ]
    assert letters[0]["payload"] == lines[1].decode() and letters[0]["source"]["topic"] == str(transactions)


async def test_a_risk_changes_file_that_is_not_replays_is_one_clear_error(redis, tmp_path):
    transactions = tmp_path / "transactions.jsonl"
    transactions.write_bytes(orjson.dumps({**LEG, "tx_id": "T-1"}) + b"\n")
    changes = tmp_path / "risk-changes.jsonl"
    changes.write_bytes(b'{"event_type": "risk_change", "customer_id": "C-1"}\n')
    with pytest.raises(InputFileError, match=r"risk-changes.jsonl: record 1 is not a risk_change event of amlstream replay \(KeyError"):
        await network_replay(redis, load_model(), str(transactions), None, tmp_path / "out", risk_changes=changes)
