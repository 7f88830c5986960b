"""README, Guarantees: the same input in any batching gives byte-identical outputs (but
`emitted_at`), also when the worker prepares a batch while the previous one is still being
delivered (pipelined: the next batch is applied and rated before the previous one is committed).

The stream: a generated bank's first days, a busy merchant (hundreds of receipts in a day, with
many counterparties, crossing the 0502 line), legs posted late (days after their event time),
resends of earlier tx_ids, and one leg too old to apply. Each example cuts it at random points and
runs the engine on the real Redis; every output must equal the unbatched run's.
"""

from __future__ import annotations

import random
from functools import cache

import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from streams.engine import BatchResult, Engine
from streams.events import Source
from streams.metrics import Metrics
from streams.model import load_model
from streams.processor import BatchProcessor
from streams.settings import Settings
from streams.state import make_store
from synthbank import generate
from tests.integration.test_retried_batches import GoesAway
from tests.services import redis_url

DB = 8  # no other test uses it


@cache
def stream() -> tuple[Source, ...]:
    _, legs = generate(40, 6, seed=5)
    rng = random.Random(5)
    docs = [dict(leg) for leg in legs]
    # a busy merchant: 400 card receipts of CNY 5,200 in one morning, then a few transfers out
    for i in range(400):
        docs.insert(
            min(len(docs), 50 + i * 2),
            {"tx_id": f"BUSY-{i}", "customer_id": "C-BUSY", "ts": f"2026-08-02T0{1 + i // 100}:{(i % 100) * 36 // 60:02d}:{(i * 7) % 60:02d}+08:00",
             "direction": "in", "amount": "5200.00", "currency": "CNY", "method": "transfer", "counterparty_id": f"PAYER-{i % 170}"},
        )  # fmt: skip
    # late postings: some legs move 40-400 positions later in the stream, event time unchanged
    for _ in range(30):
        i = rng.randrange(len(docs) - 500)
        docs.insert(i + rng.randrange(40, 400), docs.pop(i))
    # resends of earlier tx_ids (exact copies and copies with another amount)
    for _ in range(12):
        i = rng.randrange(len(docs) - 50)
        copy = dict(docs[i])
        if rng.random() < 0.5:
            copy["amount"] = "1.00"
        docs.insert(i + rng.randrange(1, 50), copy)
    # a leg far older than the late-arrival window
    docs.append({**docs[10], "tx_id": "ANCIENT", "ts": "2026-01-01T10:00:00+08:00"})
    return tuple(Source("t", 0, n, None, orjson.dumps(doc)) for n, doc in enumerate(docs))


def per_key(events: list[bytes]) -> list[bytes]:
    """What Kafka promises to keep: the order of each customer's events within each topic.
    (A batch groups its events by customer and kind, so the order across customers and across
    topics follows the batching; each customer's sequence per topic must not.)"""
    decoded = [(orjson.loads(e), e) for e in events]
    return [raw for _, raw in sorted(decoded, key=lambda d: (d[0]["event_type"], d[0]["customer_id"] or ""))]


async def run(cuts: list[int], pipelined: bool, drops: bool = False) -> list[bytes]:
    """`drops`: Redis goes away once during every batch's preparation, after its first script
    call returned (that call's customers are rated), and the processor retries the batch."""
    client = Redis.from_url(redis_url(DB))
    await client.flushdb()
    model = load_model()
    store = make_store(client, Settings(), model)
    if drops:
        store = GoesAway(client, retain_days=store.retain_days, trail_horizon_ms=store.trail_horizon_ms, trail_max=store.trail_max, call_items=10)
    engine = Engine(store, model, check_keys=False, record_checkpoints=False)
    processor = BatchProcessor(engine, emitter=None, metrics=Metrics(), retry_max_s=0.05)  # type: ignore[arg-type]
    records = list(stream())
    out: list[bytes] = []
    previous: BatchResult | None = None
    position, sizes, batches = 0, iter(cuts), 0
    try:
        while position < len(records):
            size = next(sizes, 97)
            batch = records[position : position + size]
            position += size
            batches += 1
            if drops:
                store.drop_at = store.trips + 2
            result = await processor.prepare(batch, previous if pipelined else None)
            if pipelined and previous is not None:
                await engine.commit(previous)  # the previous batch is committed only now
            out += [orjson.dumps({k: v for k, v in e.value.items() if k != "emitted_at"}, option=orjson.OPT_SORT_KEYS) for e in result.events]
            if pipelined:
                previous = result
            else:
                await engine.commit(result)
        if previous is not None:
            await engine.commit(previous)
    finally:
        await client.flushdb()
        await client.aclose()
    if drops:
        assert isinstance(store, GoesAway) and store.dropped == batches  # each preparation failed once, none of the commits
    return per_key(out)


REFERENCE: list[list[bytes]] = []


async def reference() -> list[bytes]:
    if not REFERENCE:
        REFERENCE.append(await run([len(stream())], pipelined=False))
    return REFERENCE[0]


async def test_the_stream_exercises_what_it_should(local_services):
    events = [orjson.loads(e) for e in await reference()]
    kinds = {e["event_type"] for e in events}
    assert {"risk_change", "large_value_report", "dead_letter"} <= kinds
    busy = [e for e in events if e["customer_id"] == "C-BUSY" and e["event_type"] == "large_value_report"]
    assert busy and busy[-1]["total_cny"] == 400 * 5200 and busy[-1]["tx_count"] == 400
    assert any(e.get("error_code") == "too_late" for e in events)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], phases=[Phase.generate])
@given(cuts=st.lists(st.integers(1, 150), min_size=1, max_size=40), pipelined=st.booleans())
async def test_outputs_do_not_depend_on_batch_cuts_or_pipelining(local_services, cuts, pipelined):
    assert await run(cuts, pipelined) == await reference()


async def test_batches_of_one_pipelined(local_services):
    assert await run([1] * len(stream()), pipelined=True) == await reference()


async def test_pipelined_batches_whose_preparation_fails_once_each(local_services):
    """The worker's cut (50 messages), every batch's first attempt lost after its first script
    call, retried while the batch before it is still in delivery."""
    assert await run([50] * (len(stream()) // 50 + 1), pipelined=True, drops=True) == await reference()
