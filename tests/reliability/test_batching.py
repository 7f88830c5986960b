"""README, Guarantees: "Outcomes never depend on how the stream was cut into batches".

Regression tests for a defect found by the rebalance test (fixed in d0fbcd2): a transaction
resent by the bank's producer (same tx_id) that landed in the SAME batch as its original came
back from apply_batch.lua as `pend` (outcome `redelivered`) and was re-rated as a second
transaction: same_day_cash fired a second occurrence caused by the same tx_id and later
large-value report revisions shifted, while in a later batch the copy was a plain `duplicate`.
Whether a resend shares its original's batch depends on timing (input rate, batch window, lag),
so the same input produced different events. The engine runs in-process on the shared Redis."""

from __future__ import annotations

import orjson
import pytest

from streams.engine import Engine
from streams.events import Source
from streams.model import load_model
from streams.settings import Settings
from streams.state import make_store
from tests.e2e.test_crash_recovery import generated_stream
from tests.reliability.support import CLEAN_DB
from tests.services import redis_url

pytestmark = pytest.mark.services


async def events_of(redis_url: str, batches: list[list[Source]]) -> tuple[list[tuple], dict[str, int]]:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    model = load_model()
    engine = Engine(make_store(redis, Settings(), model), model)
    out: list[tuple] = []
    outcomes: dict[str, int] = {}
    try:
        for batch in batches:
            result = await engine.process(batch)
            for e in result.events:
                out.append((e.kind, e.value["event_id"], e.value.get("cause", {}).get("ref"), e.value.get("occurrence"), e.value.get("revision")))
            for k, n in result.outcomes.items():
                outcomes[k] = outcomes.get(k, 0) + n
            await engine.commit(result)
    finally:
        await redis.flushdb()
        await redis.aclose()
    return out, outcomes


def cash(i: int, direction: str, amount: str = "30000") -> Source:
    doc = {"tx_id": f"d{i}", "customer_id": "c1", "ts": f"2026-11-18T0{i}:00:00Z", "direction": direction, "amount": amount, "currency": "CNY", "method": "cash"}
    return Source("t", 0, i, b"c1", orjson.dumps(doc))


@pytest.mark.parametrize("different_content", [False, True], ids=["exact-resend", "same-tx-id-other-amount"])
async def test_a_resend_in_the_same_batch_changes_nothing(local_services, different_content):
    """Cash in 30,000 then out 30,000 the same day crosses the CNY 50,000 same_day_cash threshold
    once; the out transaction is resent (or re-used with another amount) before a third one."""
    url = redis_url(CLEAN_DB)
    a, b, c = cash(1, "in"), cash(2, "out"), cash(3, "out")
    copy = Source("t", 0, 9, b.key, cash(2, "out", "90000").value if different_content else b.value)
    later, later_outcomes = await events_of(url, [[a, b], [copy, c]])
    same, same_outcomes = await events_of(url, [[a, b, copy, c]])
    assert later_outcomes == {"applied": 3, "duplicate": 1}
    patterns = [e for e in same if e[0] == "suspicious_pattern"]
    assert len(patterns) == 1, f"same_day_cash fired {len(patterns)} times for one day: {patterns}"
    assert same == later
    assert same_outcomes == later_outcomes  # today: {"applied": 3, "redelivered": 1}


async def test_generated_stream_gives_the_same_events_in_batches_of_64_and_of_1(local_services):
    """generated_stream resends every 97th message right after its original."""
    url = redis_url(CLEAN_DB)
    records = [Source("t", 0, i, k, v) for i, (k, v) in enumerate(generated_stream(seed=31, customers=150, count=1500))]
    big, _ = await events_of(url, [records[i : i + 64] for i in range(0, len(records), 64)])
    single, _ = await events_of(url, [[r] for r in records])
    only_big = sorted({e[1:] for e in big} - {e[1:] for e in single})
    only_single = sorted({e[1:] for e in single} - {e[1:] for e in big})
    assert not only_big and not only_single, f"events only with batches of 64: {only_big}; only with batches of 1: {only_single}"
