"""The network graph state on real Redis: bounded in time and size, hubs, cluster-safe keys,
one stored edge for both legs, at-least-once replays, and the replay evaluation on a small bank."""

from __future__ import annotations

import orjson
import pytest

from factors.network.edges import edge_messages, edges_for_leg
from factors.network.rules import load_rules
from streams.errors import DecodeError
from streams.events import Source, iso
from streams.model import load_model
from streams.network.batches import Partitioner, pack
from streams.network.engine import NetworkEngine
from streams.network.state import GraphStore, account_keys, alias_times_key, emitted_key

DAY = 86_400_000
T0 = 1_795_000_000_000
REDIS_DB = 14  # the `redis` fixture's database (tests/integration/conftest.py)


def copies(tx_id, customer, direction, cp, fen, ts):
    e = edges_for_leg(tx_id=tx_id, customer_id=customer, ts_ms=ts, direction=direction, amount_fen=fen, method="transfer", counterparty_id=cp)
    return [Source("edges", 0, 0, k.encode(), orjson.dumps(v)) for k, v in edge_messages(e, iso(ts))]


def cycle_stream():
    out = []
    for c in ("C1", "C2", "C3"):  # 40 days of history before: the rules judge new relationships against it
        out += copies(f"h{c}", c, "in", "EMPLOYER", 800_000, T0 - 40 * DAY)
    out += copies("a1", "C1", "out", "C2", 2_000_000, T0)
    out += copies("b1", "C2", "in", "C1", 2_000_000, T0)  # the other leg of the same book transfer
    out += copies("b2", "C2", "out", "C3", 1_950_000, T0 + DAY)
    out += copies("c2", "C3", "out", "C1", 1_900_000, T0 + 2 * DAY)
    return out


async def test_keys_of_one_account_share_one_hash_tag():
    keys = account_keys("id:}C-1001{")
    tags = {k[k.index("{") + 1 : k.index("}")] for k in keys}
    assert len(tags) == 1 and len(next(iter(tags))) == 16


async def test_an_accounts_alias_times_share_its_hash_tag_and_a_detection_record_has_its_own():
    tag = lambda k: k[k.index("{") + 1 : k.index("}")]  # noqa: E731
    assert tag(alias_times_key("id:C-1")) == tag(account_keys("id:C-1")[0])
    assert tag(emitted_key("ab" * 16)) == "ab" * 16


async def test_a_detection_record_keeps_the_latest_emission_and_expires(redis):
    store = GraphStore(redis, retain_days=90)
    await store.commit({}, {("k1", "closed_group"): ("d2", T0 + DAY)})
    await store.commit({}, {("k1", "closed_group"): ("d1", T0)})  # an older batch redelivered and committed late
    assert await store.emitted(["k1", "k2"]) == {"k1": {"closed_group": ("d2", T0 + DAY)}}
    assert 0 < await redis.pttl(emitted_key("k1")) <= 180 * DAY


async def test_an_accounts_keys_expire_when_no_edge_reaches_it_any_more(redis):
    engine = NetworkEngine(GraphStore(redis), (), load_model().version)
    await engine.commit(await engine.process(copies("t1", "C1", "out", "P1", 10_000, T0)))
    await engine.commit(await engine.process(copies("t2", "C2", "in", "P1", 10_000, T0 + 3_600_000)))  # P1's first out-edge: a key created
    keys = account_keys("id:P1")
    assert await redis.exists(*keys) == 4
    for key in keys:
        assert 170 * DAY < await redis.pttl(key) <= 180 * DAY


async def test_both_legs_stored_once_and_a_cycle_found_once(redis):
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    batch = await engine.process(cycle_stream())
    await engine.commit(batch)
    # 6 history copies, 6 cycle copies; 2 second legs, duplicates of their edges
    assert (batch.outcomes["applied"], batch.outcomes["duplicate"], batch.outcomes["pending"]) == (12, 2, 0)
    i, _, x, _ = account_keys("id:C2")
    assert await redis.zcard(i) == 2  # the salary and the cycle's edge from C1, stored once for both legs
    legs = await redis.hvals(x)
    assert sorted(legs[0].decode()[2:].split(",")) == ["a1", "b1"] or any(set(v.decode()[2:].split(",")) == {"a1", "b1"} for v in legs)
    detections = [e.value for e in batch.events if e.kind == "network_detection" and e.value["pattern"] == "network_cycle"]
    assert {d["customer_id"] for d in detections} == {"C1", "C2", "C3"}
    assert len({d["detection_key"] for d in detections}) == 1
    # at-least-once: the same input again after the commit changes nothing and emits nothing
    again = await engine.process(cycle_stream())
    assert again.outcomes["duplicate"] == 14 and not [e for e in again.events if e.kind == "network_detection"]


async def test_redelivery_before_the_commit_gives_the_same_event_ids(redis):
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    first = await engine.process(cycle_stream())  # crash: never committed
    second = await engine.process(cycle_stream())
    ids = lambda b: sorted(e.value["event_id"] for e in b.events if e.kind == "network_detection")  # noqa: E731
    assert ids(first) and ids(first) == ids(second)


async def test_state_bounded_in_time_and_size_and_hubs_marked(redis):
    store = GraphStore(redis, cap=10, hub_degree=5)
    model = load_model()
    engine = NetworkEngine(store, (), model.version)
    stream = []
    for n in range(30):
        stream += copies(f"t{n}", "C9", "in", f"P{n}", 10_000, T0 + n * 3_600_000)
    await engine.commit(await engine.process(stream))
    i, _, x, m = account_keys("id:C9")
    assert await redis.zcard(i) == 10 and await redis.hlen(x) == 10 and await redis.hget(m, "capped")
    adj = (await store.read(["id:C9"], 0, 2**53))["id:C9"]
    assert adj.hub and adj.customer_id == "C9"
    late = copies("late", "C9", "in", "PX", 10_000, T0 + 200 * DAY) + copies("old", "C9", "in", "PY", 10_000, T0)
    batch = await engine.process(late)
    assert batch.dead_letters["too_late"] == 1  # the payee copy: older than 90 days before C9's newest edge
    await engine.commit(batch)  # (until then the edges the batch put out of the retention stay, for a retry)
    assert await redis.zcard(i) == 1  # everything older than 90 days before the watermark is gone


async def test_a_late_copy_of_an_edge_batch_is_dead_lettered_as_its_own_message(redis):
    """A copy that arrives in an edge batch names, in its dead letter, the batch's place, its
    owner as key and its own JSON as payload (built only when needed: streams.network.decode.CopyOf)."""
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), (), model.version, check_keys=False)
    await engine.commit(await engine.process(copies("new", "C9", "in", "PX", 10_000, T0 + 200 * DAY)))
    late = [(src.key.decode(), src.value) for src in copies("old", "C9", "in", "PY", 10_000, T0)]
    [(partition, value, n)] = pack(late, 1, Partitioner())
    batch = await engine.process([Source("edges", partition, 41, None, value)])
    [dead] = [e.value for e in batch.events if e.kind == "dead_letter"]
    payee_key, payee_value = next((k, v) for k, v in late if orjson.loads(v)["key_role"] == "payee")
    assert n == 2 and dead["error_code"] == "too_late"
    assert (dead["source"], dead["key"]) == ({"topic": "edges", "partition": partition, "offset": 41}, payee_key)
    assert orjson.loads(dead["payload"]) == orjson.loads(payee_value)


async def test_malformed_edges_are_dead_lettered(redis):
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    good = copies("a1", "C1", "out", "C2", 100_000, T0)[0]
    bad = [Source("edges", 0, 1, b"id:C1", b"{not json"), Source("edges", 0, 2, b"id:WRONG", good.value), Source("edges", 0, 3, b"id:C1", b"[]")]
    batch = await engine.process([good, *bad])
    assert dict(batch.dead_letters) == {"invalid_json": 1, "key_mismatch": 1, "not_an_object": 1}
    assert batch.outcomes["applied"] == 1


def named_leg(tx_id, ts, **cp):
    e = edges_for_leg(tx_id=tx_id, customer_id="C5", ts_ms=ts, direction="in", amount_fen=300_000, method="transfer", **cp)
    return [Source("edges", 0, 0, k.encode(), orjson.dumps(v)) for k, v in edge_messages(e, iso(ts))]


async def test_a_name_only_leg_is_held_and_read_back_as_the_party_known_by_that_name(redis):
    model = load_model()
    store = GraphStore(redis)
    engine = NetworkEngine(store, (), model.version)
    stream = named_leg("n1", T0, counterparty_account="62220001", counterparty_name="张三", counterparty_bank="工商银行")
    stream += named_leg("n2", T0 + DAY, counterparty_name="张 三", counterparty_bank="工商银行")  # another bank's spelling, no account
    await engine.commit(await engine.process(stream))
    held = store.accounts["id:C5"]
    assert {h.payer for h in held.ins} == {"acct:62220001"} and held.counterparties == {"acct:62220001": 2}
    fresh = GraphStore(redis)  # a restarted worker reads the account back
    read = (await fresh.read(["id:C5"], 0, 2**53))["id:C5"]
    assert [h.payer for h in read.ins] == ["acct:62220001", "acct:62220001"]
    assert await redis.get("aml:net:origin") == str(T0).encode()  # the stage's observed history begins at its first edge
    assert fresh.origin_ms is None and store.origin_ms == T0


async def test_risk_levels_recorded_for_every_worker_latest_emitted_wins(redis):
    from streams.network.risk import PAST_KEY, RISK_KEY, decode_risk_change, load, record

    await redis.delete(RISK_KEY, PAST_KEY)
    change = {"event_type": "risk_change", "customer_id": "C7", "occurred_at": "2026-11-02T01:15:00.000Z", "current": {"level": "suspicious", "score": 70.0}}
    c7 = decode_risk_change(orjson.dumps(change))
    assert c7 == ("C7", "suspicious", 1_793_582_100_000)
    assert await record(redis, [c7, ("C8", "watch", T0)]) == {"C7": f"suspicious@{c7[2]}"}  # the markers it set
    assert await load(redis) == {"C7": f"suspicious@{c7[2]}"} and await redis.hlen(RISK_KEY) == 1  # a customer never high-risk has no marker
    assert await record(redis, [("C7", "suspicious", c7[2] + DAY)]) == {}  # the same level again: since stays, nothing set
    assert await load(redis) == {"C7": f"suspicious@{c7[2]}"}
    # a late posting re-rates with an older event time: the latest emitted is the level now
    # an escalation within the high levels keeps since (high-risk since then)
    await record(redis, [("C7", "prohibited", c7[2] + 2 * DAY), ("C9", "prohibited", T0), ("C9", "normal", T0 - DAY)])
    assert await load(redis) == {"C7": f"prohibited@{c7[2]}", "C9": f"normal@{T0}@{T0 - DAY}"}
    # falling below the high levels keeps the marker with when it fell (the exposure rule's monitoring period)
    await record(redis, [("C7", "watch", c7[2] + 3 * DAY), ("C7", "normal", c7[2] + 4 * DAY)])
    assert await load(redis) == {"C7": f"normal@{c7[2]}@{c7[2] + 3 * DAY}", "C9": f"normal@{T0}@{T0 - DAY}"}
    await record(redis, [("C7", "suspicious", c7[2] + 5 * DAY)])  # high-risk again: a new episode, the ended one kept
    assert await load(redis) == {"C7": f"suspicious@{c7[2] + 5 * DAY};normal@{c7[2]}@{c7[2] + 3 * DAY}", "C9": f"normal@{T0}@{T0 - DAY}"}
    # a marker that fell more than KEEP_DAYS before the latest event time of the hash is deleted on load
    await record(redis, [("C7", "normal", c7[2] + 6 * DAY), ("C10", "suspicious", c7[2] + 120 * DAY)])
    assert await load(redis) == {"C10": f"suspicious@{c7[2] + 120 * DAY}"} and await redis.hlen(RISK_KEY) == 1
    assert await load(redis, keep_days=0) == {"C10": f"suspicious@{c7[2] + 120 * DAY}"}
    assert decode_risk_change(orjson.dumps({"event_type": "suspicious_pattern"})) is None
    with pytest.raises(DecodeError, match="customer_id"):
        decode_risk_change(orjson.dumps({"event_type": "risk_change", "current": {"level": "watch"}}))
    with pytest.raises(DecodeError):
        decode_risk_change(b"{not json")


async def test_the_workers_risk_markers_equal_network_replays(redis):
    """net_risk.lua (the worker) and apply_risk (network-replay) keep the same markers for one sequence of changes."""
    from streams.network.replay import apply_risk
    from streams.network.risk import PAST_KEY, RISK_KEY, load, record

    await redis.delete(RISK_KEY, PAST_KEY)
    changes = [
        ("A", "watch", T0),
        ("A", "suspicious", T0 + DAY),
        ("B", "prohibited", T0 + DAY),
        ("A", "prohibited", T0 + 2 * DAY),
        ("A", "watch", T0 + 3 * DAY),
        ("B", "suspicious", T0 + 3 * DAY),
        ("A", "normal", T0 + 4 * DAY),
        ("C", "normal", T0 + 4 * DAY),
        ("A", "suspicious", T0 + 5 * DAY),
        ("B", "normal", T0 + 6 * DAY),
        # more episodes than a marker keeps, and one whose predecessors ended too long before
        *[(cid, level, T0 + (10 + 2 * n + (level == "normal")) * DAY) for n in range(10) for cid in ("D",) for level in ("suspicious", "normal")],
        ("D", "prohibited", T0 + 200 * DAY),
        ("D", "watch", T0 + 201 * DAY),
        ("E", "suspicious", T0),
        ("E", "normal", T0 - DAY),  # a late posting re-rates with an older event time
        ("E", "prohibited", T0 + 2 * DAY),
    ]
    expected: dict[str, str] = {}
    copy: dict[str, str] = {}  # a worker's copy, kept from what record returns (RiskView.record)
    for n, (cid, level, ms) in enumerate(changes):
        apply_risk(expected, cid, level, ms)
        copy.update(await record(redis, changes[n : n + 1]))
        assert await load(redis, keep_days=1000) == expected == copy, (n, cid, level)
    assert expected["A"] == f"suspicious@{T0 + 5 * DAY};normal@{T0 + DAY}@{T0 + 3 * DAY}" and expected["B"] == f"normal@{T0 + DAY}@{T0 + 6 * DAY}"
    assert expected["D"] == f"watch@{T0 + 200 * DAY}@{T0 + 201 * DAY}"  # its ten earlier episodes ended more than 90 days before
    assert expected["E"] == f"prohibited@{T0 + 2 * DAY};normal@{T0}@{T0 - DAY}"


async def test_earlier_episodes_are_stored_beside_the_markers_a_worker_of_the_version_before_reads(redis):
    """The risk hash keeps each customer's newest episode as a marker was before earlier episodes
    were kept ("level@since[@until]", no ';'): during a rolling update a network worker of that
    version reads and writes it as it did. The earlier episodes are in the past hash."""
    from streams.network.risk import PAST_KEY, PRUNE, PRUNE_SHA, RISK_KEY, _eval, load, record

    await redis.delete(RISK_KEY, PAST_KEY)
    await record(redis, [("H", "suspicious", T0), ("H", "normal", T0 + DAY), ("H", "prohibited", T0 + 2 * DAY)])
    assert await redis.hget(RISK_KEY, "H") == f"prohibited@{T0 + 2 * DAY}".encode()
    assert await redis.hget(PAST_KEY, "H") == f"normal@{T0}@{T0 + DAY}".encode()
    assert await load(redis) == {"H": f"prohibited@{T0 + 2 * DAY};normal@{T0}@{T0 + DAY}"}
    # a worker of the version before prunes the newest only: the past entry left is ignored, and
    # the customer's next episode starts without it
    await redis.hdel(RISK_KEY, "H")
    assert await load(redis) == {}
    await record(redis, [("H", "suspicious", T0 + 3 * DAY)])
    assert await load(redis) == {"H": f"suspicious@{T0 + 3 * DAY}"} and not await redis.hexists(PAST_KEY, "H")
    # this version's prune takes both, and only if the newest is still the value read
    await record(redis, [("H", "normal", T0 + 4 * DAY), ("H", "suspicious", T0 + 5 * DAY), ("H", "normal", T0 + 6 * DAY)])
    assert await redis.hexists(PAST_KEY, "H")
    await _eval(redis, PRUNE, PRUNE_SHA, ["H", "normal@0@1"])  # not the value stored: kept
    assert await redis.hexists(RISK_KEY, "H")
    await _eval(redis, PRUNE, PRUNE_SHA, ["H", f"normal@{T0 + 5 * DAY}@{T0 + 6 * DAY}"])
    assert not await redis.hexists(RISK_KEY, "H") and not await redis.hexists(PAST_KEY, "H")
