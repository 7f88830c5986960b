"""The atomic per-customer scripts against the real Redis: windows, expiry, late events, dedup."""

from __future__ import annotations

import contextlib
from datetime import datetime

from factors.calendar import fine_bucket
from streams.state import CustomerCommit, StateStore, customer_keys
from streams.state.store import PeekItem, ProfileItem, TxItem, dedup_key
from tests.unit.factors.helpers import tx

DAY_MS = 86_400_000


BUCKET_KEYS = "local t, ks = cmsgpack.unpack(ARGV[1]), {} for i = 1, #t, 2 do ks[#ks + 1] = t[i] end return ks"


async def bucket_keys(store, field: str) -> list[int]:
    """The bucket numbers in one of the aggregates' MessagePack maps, read with Redis' own Lua library."""
    raw = (await store.inspect("c1")).get(field)
    return [] if not raw else list(await store.redis.eval(BUCKET_KEYS, 0, raw))


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def item(model, t, cp="", flags=None):
    flags = flags if flags is not None else ("c" if t.is_cash else "") + ("x" if t.cross_border else "")
    return TxItem(t, fine_bucket(t.ts_ms), model.calendar.business_day(t.ts_ms), model.calendar.local_hour(t.ts_ms), flags, cp)


async def apply(store, model, *txs, cp=""):
    return (await store.apply({"c1": [item(model, t, cp) for t in txs]}))["c1"]


async def test_windows_sum_by_event_time(store, model):
    now = ms("2026-11-27T12:00:00+08:00")
    txs = [
        tx("a", ts_ms=now - 89 * DAY_MS, fen=1_00),  # 90d only
        tx("b", ts_ms=now - 20 * DAY_MS, fen=10_00, method="cash"),  # 30d
        tx("c", ts_ms=now - 3 * DAY_MS, fen=100_00, direction="out"),  # 7d
        tx("d", ts_ms=now - 5 * 3_600_000, fen=1000_00, cross_border=True),  # 24h
        tx("e", ts_ms=now - 10 * 60_000, fen=10000_00, method="cash", direction="out"),  # 1h
    ]
    batch = await apply(store, model, *txs)
    assert [a.status for a in batch.results] == ["new"] * 5
    assert batch.results[-1].snapshot.prev_event_ms == now - 5 * 3_600_000
    w = batch.results[-1].snapshot.windows
    assert (w["1h"].count, w["1h"].out_fen, w["1h"].cash_out_fen) == (1, 10000_00, 10000_00)
    assert (w["24h"].count, w["24h"].sum_fen, w["24h"].xb_in_fen) == (2, 11000_00, 1000_00)
    assert (w["7d"].count, w["7d"].sum_fen) == (3, 11100_00)
    assert (w["30d"].count, w["30d"].cash_fen) == (4, 10010_00)
    assert (w["90d"].count, w["90d"].sum_fen) == (5, 11111_00)
    assert batch.results[-1].snapshot.active_days_90d == 4  # d and e share a business day
    # snapshots are per transaction: the first one saw only itself
    assert batch.results[0].snapshot.windows["90d"].count == 1
    assert batch.results[0].snapshot.seq == 1 and batch.results[-1].snapshot.seq == 5


async def test_day_windows_are_business_days_in_the_bank_timezone(store, model):
    # 23:30 and 00:30 Shanghai are one hour apart but on two business days
    late_evening = tx("a", ts_ms=ms("2026-11-26T23:30:00+08:00"), fen=5_00, method="cash")
    after_midnight = tx("b", ts_ms=ms("2026-11-27T00:30:00+08:00"), fen=7_00, method="cash")
    batch = await apply(store, model, late_evening, after_midnight)
    snap = batch.results[1].snapshot
    assert snap.tx_day.cash_fen == 7_00  # the new business day starts from zero
    assert snap.windows["1h"].count == 1 and snap.windows["24h"].count == 2


async def test_expired_buckets_are_removed_by_event_time(store, model, redis):
    start = ms("2026-01-01T10:00:00+08:00")
    await apply(store, model, tx("old", ts_ms=start, fen=1_00))
    batch = await apply(store, model, tx("new", ts_ms=start + 95 * DAY_MS, fen=2_00))
    w = batch.results[0].snapshot.windows
    assert (w["90d"].count, w["90d"].sum_fen) == (1, 2_00)
    assert await bucket_keys(store, "D") == [model.calendar.business_day(start + 95 * DAY_MS)]
    assert len(await bucket_keys(store, "F")) == 1  # only the new 5-minute bucket survives
    # the dedup digests of the old day's block left with the late-arrival window
    new_block = model.calendar.business_day(start + 95 * DAY_MS) // 30
    assert await bucket_keys(store, "X") == [new_block]


async def test_late_event_within_the_window_lands_in_its_own_bucket(store, model):
    now = ms("2026-11-27T12:00:00+08:00")
    await apply(store, model, tx("now", ts_ms=now, fen=1_00))
    batch = await apply(store, model, tx("late", ts_ms=now - 10 * DAY_MS, fen=40_00, method="cash"))
    item = batch.results[0]
    assert item.status == "new"
    assert item.snapshot.asof_ms == now  # the watermark does not move back
    assert item.snapshot.tx_day.cash_fen == 40_00 and item.snapshot.tx_day.count == 1
    assert item.snapshot.windows["7d"].count == 1 and item.snapshot.windows["30d"].count == 2


async def test_event_older_than_the_longest_window_is_late_and_not_counted(store, model):
    now = ms("2026-11-27T12:00:00+08:00")
    await apply(store, model, tx("now", ts_ms=now))
    batch = await apply(store, model, tx("ancient", ts_ms=now - 91 * DAY_MS), tx("next", ts_ms=now + 1000))
    assert [a.status for a in batch.results] == ["late", "new"]
    assert batch.results[1].snapshot.windows["90d"].count == 2


async def test_duplicate_tx_ids_are_never_counted_twice(store, model):
    t = tx("same", fen=5_00)
    batch = await apply(store, model, t, t)
    assert [a.status for a in batch.results] == ["new", "done"]  # a second copy in the same batch is a plain duplicate
    # redelivered before commit: pending, same snapshot
    again = await apply(store, model, t)
    assert again.results[0].status == "pend" and again.results[0].snapshot == batch.results[0].snapshot
    await store.commit([CustomerCommit("c1", ("same",), None, {"level": "normal"})])
    done = await apply(store, model, t, tx("other", fen=1_00))
    assert [a.status for a in done.results] == ["done", "new"]
    assert done.results[1].snapshot.windows["90d"].count == 2
    assert done.state == {"level": "normal"}


async def test_a_busy_block_keeps_its_first_digests_packed_and_the_rest_in_a_set(store, model, redis):
    """Dedup digests: 6 bytes each in the state hash, up to 340 per 30-day block; beyond, a set."""
    base = ms("2026-11-27T12:00:00+08:00")
    legs = [tx(f"b{i}", ts_ms=base + i) for i in range(400)]
    first = await apply(store, model, *legs)
    assert [r.status for r in first.results] == ["new"] * 400
    block = model.calendar.business_day(base) // 30
    assert len((await store.inspect("c1"))["X"]) > 340 * 6  # msgpack framing around 2,040 bytes of digests
    assert await redis.scard(dedup_key("c1", block)) == 60
    again = await apply(store, model, legs[0], legs[399], tx("b400", ts_ms=base + 400))
    assert [r.status for r in again.results] == ["pend", "pend", "new"]  # redelivered (uncommitted), then new
    await store.commit([CustomerCommit("c1", tuple(f"b{i}" for i in range(401)), None, {})])
    done = await apply(store, model, legs[0], legs[399])
    assert [r.status for r in done.results] == ["done", "done"]  # found packed, and in the set


async def test_distinct_counterparties_per_direction(store, model):
    base = ms("2026-11-27T12:00:00+08:00")
    prepared = [item(model, tx(f"t{i}", ts_ms=base + i), f"cp{i % 3}") for i in range(6)]
    prepared.append(item(model, tx("o", ts_ms=base + 10, direction="out"), "cp0"))
    batch = (await store.apply({"c1": prepared}))["c1"]
    w = batch.results[-1].snapshot.windows["24h"]
    assert (w.counterparties_in, w.counterparties_out) == (3, 1)


async def test_trail_keeps_recent_transactions_in_order(store, model):
    base = ms("2026-11-27T12:00:00+08:00")
    batch = await apply(store, model, *(tx(f"t{i}", ts_ms=base + i * 1000, method="cash") for i in range(3)))
    assert [(r.seq, r.tx_id, r.is_cash) for r in batch.trail] == [(1, "t0", True), (2, "t1", True), (3, "t2", True)]
    assert batch.trail[0].local_hour == 12


async def test_high_risk_flows_and_dormant_reactivation(store, model):
    base = ms("2026-01-01T12:00:00+08:00")
    await store.apply({"c1": [item(model, tx("a", ts_ms=base, fen=5_00), flags="h")]})
    woke = (await store.apply({"c1": [item(model, tx("b", ts_ms=base + 200 * DAY_MS, fen=7_00))]}))["c1"].results[0].snapshot
    assert woke.active_since_ms == base + 200 * DAY_MS and woke.prev_event_ms == base
    assert woke.windows["90d"].hr_fen == 0  # the flagged flow left the window
    again = (await store.apply({"c1": [item(model, tx("c", ts_ms=base + 201 * DAY_MS, fen=9_00), flags="h")]}))["c1"].results[0].snapshot
    assert again.active_since_ms == base + 200 * DAY_MS and again.windows["7d"].hr_fen == 9_00


async def test_profile_items_are_ordered_by_updated_at_and_never_applied_twice(store, model):
    p1, p2 = ProfileItem(None, 1000), ProfileItem(None, 2000)
    first = (await store.apply({"c1": [p2, p1]}))["c1"]
    assert [r.status for r in first.results] == ["new", "stale"]
    assert [r.status for r in (await store.apply({"c1": [p2]}))["c1"].results] == ["pend"]
    await store.commit([CustomerCommit("c1", ("~P2000",), 2000, {"level": "normal"})])
    assert [r.status for r in (await store.apply({"c1": [p2, PeekItem()]}))["c1"].results] == ["done", "peek"]


async def test_a_sweep_lets_inactive_customers_aggregates_go_and_keeps_their_rating(store, model, redis):
    base = ms("2026-06-01T12:00:00+08:00")
    await apply(store, model, tx("old", ts_ms=base, fen=5_00, counterparty_id="X"), cp="X-digest")
    await store.commit([CustomerCommit("c1", ("old",), None, {"level": "watch"})])
    active = (await store.apply({"c2": [item(model, tx("now", ts_ms=base + 100 * DAY_MS, customer_id="c2"))]}))["c2"]
    assert active.results[0].status == "new"
    now = base + 100 * DAY_MS
    # not yet: 60 days after the last event nothing has left every window
    assert await store.sweep(base + 60 * DAY_MS, model.calendar.business_day(base + 60 * DAY_MS), fine_bucket(base + 60 * DAY_MS)) == 0
    assert await store.sweep(now, model.calendar.business_day(now), fine_bucket(now)) == 1  # c1 only
    left = await store.inspect("c1")
    assert left["D"] == b"" and left["X"] == b"" and left["T"] == b""
    assert not await redis.exists(customer_keys("c1")[1])  # counterparties
    assert (await store.states(["c1"]))["c1"] == {"level": "watch"}
    # its clock follows the deployment's; a later event starts from empty windows, and the long
    # silence still counts as one (dormancy is measured from its own latest event)
    woke = (await apply(store, model, tx("back", ts_ms=now + DAY_MS, fen=7_00))).results[0].snapshot
    assert woke.windows["90d"].count == 1 and woke.prev_event_ms == base


async def test_one_customers_broken_state_dead_letters_its_items_only(redis, model):
    """A failure of one customer's data (here: its aggregates overwritten with garbage) is that
    customer's: its items are dead-lettered with the reason, every other customer goes on, and
    nothing blocks the partition."""
    import orjson

    from streams.engine import Engine
    from streams.events import Source

    engine = Engine(StateStore(redis), model, profile_topic="customers", check_keys=False, record_checkpoints=False)

    def leg(n: int, customer: str, **more: str) -> Source:
        doc = {
            "tx_id": f"k{n}",
            "customer_id": customer,
            "ts": "2026-11-02T09:00:00+08:00",
            "direction": "in",
            "amount": "60000",
            "currency": "CNY",
            "method": "cash",
            **more,
        }
        return Source("t", 0, n, None, orjson.dumps(doc))

    profile = {"customer_id": "broken", "kind": "individual", "updated_at": "2026-11-01T00:00:00+08:00", "listed": True}
    await engine.commit(await engine.process([leg(1, "good"), leg(2, "broken")]))
    await redis.hset(customer_keys("broken")[0], "S", b"\xc1 not MessagePack")
    batch = [
        leg(3, "broken"),
        leg(4, "good"),
        leg(5, "broken", tx_type="fee", method="transfer", amount="5"),
        leg(6, "broken", tx_type="reversal", original_tx_id="k2", direction="out"),
        Source("customers", 0, 7, b"broken", orjson.dumps(profile)),
    ]
    result = await engine.process(batch)
    dead = [e.value for e in result.events if e.kind == "dead_letter"]
    # every input of the customer is set aside with the reason — a fee, a reversal, a profile too
    assert [(d["source"]["offset"], d["error_code"]) for d in dead] == [
        (3, "processing_error"),
        (5, "processing_error"),
        (6, "processing_error"),
        (7, "processing_error"),
    ]
    assert sum(result.outcomes.values()) == len(batch)  # each input counted once
    assert "could not be updated" in dead[0]["error_detail"]
    assert [e.value["customer_id"] for e in result.events if e.kind == "large_value_report"] == ["good"]
    await engine.commit(result)


async def test_windows_keep_their_meaning_whatever_the_late_arrival_window(redis, model):
    """AMLSTREAM_RETAIN_DAYS=365 lets a posting 200 days late in (its day's accumulators are kept
    that long), but the window named 90d still covers 90 days."""
    store = StateStore(redis, retain_days=365)
    now = ms("2026-11-27T12:00:00+08:00")
    await store.apply({"c1": [item(model, tx("now", ts_ms=now, fen=1_00))]})
    late = (await store.apply({"c1": [item(model, tx("late", ts_ms=now - 200 * DAY_MS, fen=40_00, method="cash"))]}))["c1"].results[0]
    assert late.status == "new"
    assert late.snapshot.day.get("cash_fen_in") == 40_00  # its own day counts it (a large-value report could revise)
    assert late.snapshot.windows["90d"].count == 1 and late.snapshot.windows["90d"].sum_fen == 1_00
    ancient = (await store.apply({"c1": [item(model, tx("ancient", ts_ms=now - 400 * DAY_MS))]}))["c1"].results[0]
    assert ancient.status == "late"


async def test_parts_come_as_their_calls_return_and_add_up_to_the_whole_batch(redis, model):
    """apply_parts yields each customer once, after its last script call (a busy customer's
    chunks span calls); the parts together are what apply() returns for the same input."""
    now = ms("2026-11-27T12:00:00+08:00")

    def batches():
        out = {f"c{i}": [item(model, tx(f"t{i}", ts_ms=now + i, fen=100_00 + i))] for i in range(5)}
        out["busy"] = [item(model, tx(f"b{k}", ts_ms=now + k * 1000, fen=10_00)) for k in range(7)]
        out["c9"] = [item(model, tx("t9", ts_ms=now, fen=1_00))]
        return out

    # calls of at most 4 items, the first of 4 // 5 -> 1: c0 | c1-c4 | busy 1-3 | busy 4-6, busy 7 | c9
    store = StateStore(redis, chunk=3, call_items=4)
    parts = [part async for part in store.apply_parts(batches(), "t1")]
    assert [sorted(part) for part in parts] == [["c0"], ["c1", "c2", "c3", "c4"], [], ["busy"], ["c9"]]
    busy = next(i for i, part in enumerate(parts) if "busy" in part)
    assert [r.snapshot.seq for r in parts[busy]["busy"].results] == list(range(1, 8))  # in order, all chunks
    await redis.flushdb()
    whole = await StateStore(redis, chunk=3, call_items=4).apply(batches(), "t1")
    for part in parts:
        for customer, batch in part.items():
            assert batch == whole[customer]


async def test_a_state_hash_is_listpack_encoded_while_its_values_fit_the_servers_limit(store, model, redis):
    """README › Per-customer state: the per-customer hash costs less as a listpack; it stays one
    while its largest value (S) fits hash-max-listpack-value, which the worker's preflight reads."""
    from streams.state.store import listpack_value_limit

    limit = await listpack_value_limit(redis)
    assert limit == int((await redis.config_get("hash-max-listpack-value"))["hash-max-listpack-value"])
    await apply(store, model, tx("a", ts_ms=ms("2026-03-02T10:00:00+08:00"), fen=5_00, counterparty_id="X"), cp="X-digest")
    await store.commit([CustomerCommit("c1", ("a",), None, {"level": "normal", "score": 3.0})])
    key = customer_keys("c1")[0]
    largest = max(len(v) for v in (await redis.hgetall(key)).values())
    assert largest > 64  # the aggregates array: over Redis' default limit
    assert (await redis.object("encoding", key)) == (b"listpack" if limit >= largest else b"hashtable")


async def test_the_worker_preflight_warns_in_one_line_when_the_servers_listpack_limit_is_low(redis, caplog):
    from streams.errors import ConfigError
    from streams.settings import load_settings
    from streams.state.store import STATE_HASH_LISTPACK_VALUE, listpack_value_limit
    from streams.worker import preflight

    kw = redis.connection_pool.connection_kwargs
    settings = load_settings({"AMLSTREAM_REDIS_URL": f"redis://{kw['host']}:{kw['port']}/{kw['db']}", "AMLSTREAM_TOPIC_TRANSACTIONS": "no.such.topic.listpack"})
    with caplog.at_level("WARNING", logger="amlstream.worker"), contextlib.suppress(ConfigError):  # the made-up input topic: Kafka's check comes after Redis'
        await preflight(settings)
    warnings = [r.getMessage() for r in caplog.records if "hash-max-listpack-value" in r.getMessage()]
    low = (await listpack_value_limit(redis)) < STATE_HASH_LISTPACK_VALUE
    assert len(warnings) == (1 if low else 0) and all("\n" not in w for w in warnings)
