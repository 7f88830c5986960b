"""A batch whose preparation fails part-way (Redis goes away between two of its script calls)
and is retried while the batch before it is still being delivered: the retry must rate every
customer on top of the batch in delivery, exactly as an attempt without failure does.

The failure hit the reliability test `test_redis_crash_restart_and_a_30s_outage` once: a
customer rated in the failed attempt's first call lost the in-delivery batch's rating state, so
the retry rated it on the state committed before that batch (a risk change whose
`previous.score` was an older item's score, a report revision counted again).
"""

from __future__ import annotations

import orjson
import pytest
from redis.exceptions import ConnectionError

from streams.engine import BatchResult, Engine
from streams.events import Source
from streams.metrics import Metrics
from streams.processor import BatchProcessor
from streams.state import StateStore


class GoesAway(StateStore):
    """The real store on the real Redis, except that the connection drops once, on round trip
    number `drop_at` (what redis-py raises when the server is killed or unreachable)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.trips = 0
        self.drop_at: int | None = None
        self.dropped = 0

    async def _execute(self, fill):  # type: ignore[no-untyped-def]
        self.trips += 1
        if self.trips == self.drop_at:
            self.dropped += 1
            raise ConnectionError("Connection closed by server.")
        return await super()._execute(fill)


def leg(n: int, customer: str, hour: int) -> Source:
    doc = {
        "tx_id": f"r{n}",
        "customer_id": customer,
        "ts": f"2026-11-02T{hour:02d}:00:00+08:00",
        "direction": "in",
        "amount": "60000",
        "currency": "CNY",
        "method": "cash",
    }
    return Source("t", 0, n, None, orjson.dumps(doc))


def profile(n: int, customer: str, hour: int, **flags: bool) -> Source:
    doc = {"customer_id": customer, "kind": "individual", "updated_at": f"2026-11-02T{hour:02d}:30:00+08:00", **flags}
    return Source("customers", 0, n, customer.encode(), orjson.dumps(doc))


# Committed before: C's first leg (its first rating). A, in delivery: C's second leg (its score
# moves, its level does not). B: C becomes a PEP (a level change whose `previous` is the score
# after A) in B's first script call (call_items=5: the first call holds one item), then a new
# customer D in a second call, which fails once.
BEFORE = [leg(1, "C", 9)]
FIRST = [leg(2, "C", 10)]
SECOND = [profile(3, "C", 10, pep=True), leg(4, "D", 9)]


def stable(result: BatchResult) -> list[dict]:
    return [{k: v for k, v in e.value.items() if k != "emitted_at"} for e in result.events]


async def pipelined(redis, model, drop_second_call: bool) -> tuple[list[dict], dict, list[float]]:
    """The events of A and B, the customers' committed states, and C's score before and after A."""
    await redis.flushdb()
    store = GoesAway(redis, call_items=5)
    engine = Engine(store, model, profile_topic="customers", check_keys=False, record_checkpoints=False)
    processor = BatchProcessor(engine, emitter=None, metrics=Metrics(), retry_max_s=0.05)  # type: ignore[arg-type]
    before = await processor.prepare(BEFORE)
    await engine.commit(before)
    first = await processor.prepare(FIRST)
    if drop_second_call:
        store.drop_at = store.trips + 2  # B's first call returns (C is rated), its second never does
    second = await processor.prepare(SECOND, first)  # while A's outputs are on their way
    await engine.commit(first)  # A's acknowledgements come in only now
    await engine.commit(second)
    assert store.dropped == drop_second_call, "the failure was (not) injected"
    return stable(first) + stable(second), await store.states(["C", "D"]), [before.states["C"]["score"], first.states["C"]["score"]]


async def test_a_retried_preparation_rates_on_top_of_the_batch_in_delivery(redis, model):
    expected, expected_states, (score_before, score_after_a) = await pipelined(redis, model, drop_second_call=False)
    [change] = [e for e in expected if e["event_type"] == "risk_change" and e["customer_id"] == "C"]
    assert change["cause"]["kind"] == "profile" and change["previous"]["score"] == score_after_a != score_before  # the case is the one meant
    got, states, _ = await pipelined(redis, model, drop_second_call=True)
    assert got == expected
    assert states == expected_states


async def test_a_redelivered_item_becomes_the_redelivering_batchs_own(redis, model):
    """A batch applied under token t1 and never committed (its attempt failed, or its worker
    crashed) is applied again under t2: its item is a redelivery, rated again from its stored
    snapshot; a copy of it later in t2, or in t3 while t2 is in delivery, is a plain copy
    ("done"), as it is when nothing failed, not a second redelivery rated again."""
    store = StateStore(redis)
    first = [leg(1, "C", 9), leg(2, "C", 10)]
    engine = Engine(store, model, check_keys=False, record_checkpoints=False)
    lost = await engine.process(first)  # never delivered
    again = await engine.process([*first, first[0]])  # redelivered, with a copy of r1 after it
    assert again.outcomes == {"redelivered": 2, "duplicate": 1}
    assert stable(again)[: len(stable(lost))] == stable(lost)  # the redelivery derives the same events
    assert len(again.events) == len(lost.events)  # and the copy none
    later = await engine.process([first[1]], again)  # a copy of r2 while `again` is in delivery
    assert later.outcomes == {"duplicate": 1} and later.events == []
    await engine.commit(again)
    await engine.commit(later)


def posting(n: int, tx_id: str, amount: str, ts: str = "2026-11-02T10:00:00+08:00", **more: str) -> Source:
    doc = {"tx_id": tx_id, "customer_id": "C", "ts": ts, "direction": "in", "amount": amount, "currency": "CNY", "method": "transfer", "counterparty_id": "P1", **more}
    return Source("t", 0, n, None, orjson.dumps(doc))


LATER = "2026-11-02T11:00:00+08:00"
CASES = {
    # the correction came first: the leg counts (and its edge carries) the corrected amount
    "corrected": ([posting(1, "K", "60000", LATER, tx_type="correction", original_tx_id="X")], [posting(2, "X", "40000")]),
    # the reversal came first with another amount: set aside (a dead letter) when the leg arrives
    "differs": ([posting(1, "V", "50000", LATER, tx_type="reversal", original_tx_id="X", direction="out")], [posting(2, "X", "40000")]),
    # the reversal waited for an original that never came: set aside when a leg moves the clock past the window
    "never": (
        [posting(1, "V", "50000", LATER, tx_type="reversal", original_tx_id="GONE", direction="out")],
        [posting(2, "X", "40000", "2027-03-02T10:00:00+08:00")],
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_a_batch_redelivered_after_a_failure_gives_what_the_lost_attempt_gave(redis, model, case):
    """Its items come back as redeliveries ("pend", rated from their stored snapshots); what the
    lost attempt's state update did once and for all must come back with them, however often it
    is redelivered: the amount of a correction that came first, the reversals it set aside (their
    dead letters)."""
    committed, batch = CASES[case]
    engine = Engine(StateStore(redis), model, check_keys=False, record_checkpoints=False, emit_edges=True)
    await engine.commit(await engine.process(committed))
    lost = await engine.process(batch)  # its outputs never reach Kafka
    await engine.process(batch)  # nor do this redelivery's
    again = await engine.process(batch)
    assert (lost.outcomes["applied"], again.outcomes["redelivered"]) == (1, 1) and again.dead_letters == lost.dead_letters
    assert stable(again) == stable(lost)
    if case == "corrected":
        assert {e.value["amount_fen"] for e in lost.events if e.kind == "edge"} == {6_000_000}
    else:
        assert [e.value["error_code"] for e in lost.events if e.kind == "dead_letter"] == ["reversal_unmatched"]
    await engine.commit(again)
