"""Defects found in a review of the network stage, each proved on a private Redis (see the
report of branch netreview): a malformed edge must not poison an account's state, detections must
not depend on batch boundaries, tx_ids must survive storage as given."""

from __future__ import annotations

import orjson
import pytest

from factors.network.edges import edge_messages, edges_for_leg
from factors.network.rules import load_rules
from streams.events import Source, iso
from streams.model import load_model
from streams.network.engine import NetworkEngine
from streams.network.state import GraphStore, account_keys, alias_times_key

DAY = 86_400_000
HOUR = 3_600_000
T0 = 1_795_000_000_000
REDIS_DB = 13  # the `redis` fixture's database (tests/integration/conftest.py)


def leg(tx_id, customer, direction, fen, ts, **cp):
    e = edges_for_leg(tx_id=tx_id, customer_id=customer, ts_ms=ts, direction=direction, amount_fen=fen, method="transfer", **cp)
    return [Source("edges", 0, 0, k.encode(), orjson.dumps(v)) for k, v in edge_messages(e, iso(ts))]


def detections(batches):
    return sorted((e.value["pattern"], e.value["customer_id"], e.value["event_id"]) for b in batches for e in b.events if e.kind == "network_detection")


async def run(redis, legs, *, one_by_one, hub_degree=100, late_anchors=4):
    """The same legs through a fresh store: as one batch, or one leg (its two copies) per batch."""
    await redis.flushdb()
    model = load_model()
    engine = NetworkEngine(GraphStore(redis, hub_degree=hub_degree), load_rules(model.standard), model.version, late_anchors=late_anchors)
    out = []
    for chunk in legs if one_by_one else [[c for copies in legs for c in copies]]:
        batch = await engine.process(chunk)
        await engine.commit(batch)
        out.append(batch)
    return detections(out)


async def test_an_edge_id_that_is_not_32_hex_is_dead_lettered_and_does_not_poison_the_account(redis):
    """docs/events.md and edge.v1.schema.json say edge_id is 32 hex; the decoder took any string.
    A '|' in it broke the stored member 'eid|fen|other': the account applied fine in memory, but a
    restarted worker's read of it raised ValueError, which is not retried: exit 70, redelivery,
    the same crash, the partition blocked for good."""
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    payee_copy = leg("t1", "C1", "in", 100_000, T0, counterparty_id="P1")[1]
    value = orjson.loads(payee_copy.value)
    value["edge_id"] = "ab|cd" + value["edge_id"][5:]
    bad = Source("edges", 0, 1, payee_copy.key, orjson.dumps(value))
    batch = await engine.process([bad])
    await engine.commit(batch)
    assert batch.dead_letters == {"invalid_value": 1}
    restarted = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    later = await restarted.process(leg("t2", "C1", "in", 100_000, T0 + DAY, counterparty_id="P2"))  # reads id:C1 back from Redis
    assert later.outcomes["applied"] == 2


def splitting_then_a_fifth_counterparty():
    """C-V has 3 counterparties, then P-U pays it 6 x CNY 4,000 within 6 hours (transfer_splitting:
    a new pair, 6 transfers, CNY 24,000), then a 5th counterparty pays it: degree 5."""
    legs = [leg(f"h{n}", "C-V", "in", 50_000, T0 - 10 * DAY + n * HOUR, counterparty_id=f"P-W{n}") for n in range(3)]
    legs += [leg(f"s{n}", "C-V", "in", 400_000, T0 + n * HOUR, counterparty_id="P-U") for n in range(6)]
    legs += [leg("w5", "C-V", "in", 50_000, T0 + 7 * HOUR, counterparty_id="P-W5")]
    return legs


async def test_splitting_found_one_leg_per_batch(redis):
    """The control: with one leg per batch (and with hubs at 5 counterparties) the split is reported."""
    found = await run(redis, splitting_then_a_fifth_counterparty(), one_by_one=True, hub_degree=5)
    assert [p for p, *_ in found] == ["transfer_splitting"]


async def test_hub_flag_as_of_the_anchor_does_not_depend_on_batch_boundaries(redis):
    legs = splitting_then_a_fifth_counterparty()
    assert await run(redis, legs, one_by_one=False, hub_degree=5) == await run(redis, legs, one_by_one=True, hub_degree=5)


def splitting_by_name_then_identified():
    """C-V receives 6 x CNY 4,000 from a payer named only (another bank's spelling), then a leg of
    its own that names that payer *and* gives its account: the account learns the alias."""
    legs = [leg(f"h{n}", "C-V", "in", 50_000, T0 - 40 * DAY + n * HOUR, counterparty_id=f"P-W{n}") for n in range(3)]
    legs += [leg(f"s{n}", "C-V", "in", 400_000, T0 + n * HOUR, counterparty_name="Hengtong Trading", counterparty_bank="ICBC") for n in range(6)]
    legs += [leg("id1", "C-V", "in", 30_000, T0 + 30 * HOUR, counterparty_account="6222 0001", counterparty_name="HENGTONG TRADING CO LTD", counterparty_bank="ICBC")]
    return legs


async def test_splitting_by_name_found_one_leg_per_batch(redis):
    found = await run(redis, splitting_by_name_then_identified(), one_by_one=True)
    assert [p for p, *_ in found] == ["transfer_splitting"]


async def test_name_alias_learned_later_in_the_batch_does_not_change_earlier_detections(redis):
    legs = splitting_by_name_then_identified()
    assert await run(redis, legs, one_by_one=False) == await run(redis, legs, one_by_one=True)


async def test_a_tx_id_with_a_comma_reads_back_as_given(redis):
    """The legs of an edge were stored 'p|tx1,tx2' and split on ',' when read: the customer stage
    accepts any printable tx_id, so '20261102,000123' came back as two tx_ids in parties."""
    engine = NetworkEngine(GraphStore(redis), (), load_model().version)
    out_leg = leg("20261102,000123", "C1", "out", 100_000, T0, counterparty_id="C2")
    in_leg = leg("20261102,000124", "C2", "in", 100_000, T0, counterparty_id="C1")  # the other leg of the same book transfer
    await engine.commit(await engine.process(out_leg + in_leg))
    read = await GraphStore(redis).read(["id:C1", "id:C2"], 0, 2**53)  # a restarted worker
    assert [h.tx_ids for h in read["id:C1"].outs] == [h.tx_ids for h in read["id:C2"].ins] == [("20261102,000123", "20261102,000124")]
    again = await engine.process(out_leg + in_leg)  # a redelivery: the same legs, not new ones
    assert again.outcomes["duplicate"] == 4


async def test_two_transfers_of_one_leg_customer_with_the_same_time_and_amount_are_two_edges(redis):
    store = GraphStore(redis)
    engine = NetworkEngine(store, (), load_model().version)
    stream = leg("x1", "C1", "out", 500_000, T0, counterparty_account="6222 9999") + leg("x2", "C1", "out", 500_000, T0, counterparty_account="6222 9999")
    await engine.commit(await engine.process(stream))
    held = store.accounts["id:C1"]
    assert sum(h.amount_fen for h in held.outs) == 1_000_000


async def test_the_meta_hash_is_bounded_by_the_retention(redis):
    """The meta hash's name aliases (a:<digest>) were never pruned: now each goes once not named for
    the retention (event time), with its time in the account's :t sorted set; the memory held too."""
    store = GraphStore(redis, retain_days=90)
    engine = NetworkEngine(store, (), load_model().version)
    for n in range(200):  # one new identified counterparty a day, named: the account learns one alias a day
        stream = leg(f"t{n}", "C-V", "in", 100_000, T0 + n * DAY, counterparty_account=f"6222{n:04d}", counterparty_name=f"Payer {n}", counterparty_bank="ICBC")
        await engine.commit(await engine.process(stream))
    i, _, _, m = account_keys("id:C-V")
    assert await redis.zcard(i) <= 91
    aliases = [k for k in await redis.hkeys(m) if k.startswith(b"a:")]
    assert len(aliases) <= 91
    assert await redis.zcard(alias_times_key("id:C-V")) == len(aliases)
    held, read = store.accounts["id:C-V"], (await GraphStore(redis).read(["id:C-V"], 0, 2**53))["id:C-V"]
    assert len(held.aliases) == len(aliases) and (read.aliases, read.alias_seen) == (held.aliases, held.alias_seen)
    assert not [k for k in await redis.hkeys(m) if k.startswith(b"k:")]


async def test_a_closed_group_found_again_at_another_member_with_the_same_parties_emits_nothing(redis):
    """The emitted digests lived in the anchor's meta hash: a closed group found again at another
    member's copy re-emitted the same key with the same parties. Now one record per detection_key."""
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    members = ["C1", "C2", "C3", "C4"]
    legs = [leg("old", "C0", "out", 100_000, T0 - 40 * DAY, counterparty_id="P0")]  # the stage's history begins 40 days before
    t = T0
    for i, m in enumerate(members):
        for j in (1, 2):
            legs.append(leg(f"g{i}{j}", m, "out", 300_000 + 10_000 * i, t, counterparty_id=members[(i + j) % 4]))
            t += 5 * HOUR
    legs.append(leg("x1", "C1", "out", 400_000, t, counterparty_id="X9"))
    legs.append(leg("x3", "C3", "out", 400_000, t + HOUR, counterparty_id="X9"))
    legs.append(leg("last", "C4", "out", 250_000, t + 2 * HOUR, counterparty_id="C1"))
    legs.append(leg("again", "C1", "out", 260_000, t + 3 * HOUR, counterparty_id="C4"))  # a new pair inside the same group, payee C4
    events = []
    for copies in legs:
        batch = await engine.process(copies)
        await engine.commit(batch)
        events += [e.value for e in batch.events if e.kind == "network_detection" and e.value["pattern"] == "closed_group"]
    assert events, "the group is found"
    seen: dict[tuple, int] = {}
    for e in events:
        what = (e["detection_key"], e["customer_id"], tuple(sorted((p["party_id"], p["role"]) for p in e["parties"])))
        seen[what] = seen.get(what, 0) + 1
    assert max(seen.values()) == 1


def splitting_against_a_habit_near_the_retention_edge():
    """P-U paid C-V 3 x CNY 4,000 89.5 days ago (its habit: 3 a day); now 6 x CNY 5,000 within 6 hours
    (not more than 2 x the habit: no split); a day later a small receipt from someone else."""
    legs = [leg(f"h{n}", "C-V", "in", 400_000, T0 - 89 * DAY - 12 * HOUR + n * HOUR, counterparty_id="P-U") for n in range(3)]
    legs += [leg(f"s{n}", "C-V", "in", 500_000, T0 + n * HOUR, counterparty_id="P-U") for n in range(6)]
    legs += [leg("w", "C-V", "in", 50_000, T0 + DAY, counterparty_id="P-W")]
    return legs


async def test_retention_trimming_by_a_later_edge_of_the_batch_does_not_change_earlier_detections(redis):
    legs = splitting_against_a_habit_near_the_retention_edge()
    assert await run(redis, legs, one_by_one=False) == await run(redis, legs, one_by_one=True)


async def test_a_risk_change_with_an_at_sign_in_its_level_is_dead_lettered_and_does_not_poison_the_edges(redis):
    """A marker is 'level@since[@until]': a level holding '@' was accepted and stored, and every
    edge copy with that customer on the other side then raised ValueError in the rules (int() of
    the mangled marker), which is not retried: exit 70, redelivery, the same crash, on every
    worker (the hash is shared), for every partition with an edge of that customer."""
    from streams.errors import DecodeError
    from streams.network.risk import decode_risk_change, load, record

    await record(redis, [("C7", "suspicious", T0 - DAY)])
    bad = {"event_type": "risk_change", "customer_id": "C7", "occurred_at": "2026-11-02T01:15:00.000Z", "current": {"level": "watch@2"}}
    with pytest.raises(DecodeError, match="level"):
        await record(redis, [decode_risk_change(orjson.dumps(bad))])
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version, risk=await load(redis))
    batch = await engine.process(leg("t0", "C7", "in", 500_000, T0 - HOUR, counterparty_id="P1") + leg("t1", "C8", "out", 500_000, T0, counterparty_id="C7"))
    assert batch.outcomes["applied"] == 4


def cycle_legs():
    legs = [leg(f"h{c}", c, "in", 800_000, T0 - 40 * DAY, counterparty_id="EMPLOYER") for c in ("C1", "C2", "C3")]
    legs += [leg("a1", "C1", "out", 2_000_000, T0, counterparty_id="C2")]
    legs += [leg("b2", "C2", "out", 1_950_000, T0 + DAY, counterparty_id="C3")]
    legs += [leg("c2", "C3", "out", 1_900_000, T0 + 2 * DAY, counterparty_id="C1")]
    return legs


async def test_a_cycle_is_found_when_its_middle_hop_arrives_after_its_closing_hop(redis):
    """Customer-stage partitions in catch-up deliver edges days of event time apart: the edge that
    arrives late runs the rules again at the later edges of its account and at their payees'
    copies (NetworkEngine._later_views), so the cycle is reported at its closing hop, with the
    events event-time order gives (same event ids), in one batch or one leg a batch."""
    in_order = await run(redis, cycle_legs(), one_by_one=True)
    legs = cycle_legs()
    legs[-2], legs[-1] = legs[-1], legs[-2]  # C2 -> C3 arrives after C3 -> C1
    assert [p for p, *_ in in_order].count("network_cycle") == 3
    assert await run(redis, legs, one_by_one=True) == in_order
    assert await run(redis, legs, one_by_one=False) == in_order


async def test_late_anchors_0_runs_each_rule_at_its_own_anchor_only(redis):
    """AMLSTREAM_NETWORK_LATE_ANCHORS=0 (a bank that trades these detections for CPU): in event
    time the cycle is found as with re-anchoring; its middle hop arriving last finds nothing."""
    in_order = await run(redis, cycle_legs(), one_by_one=True)
    assert await run(redis, cycle_legs(), one_by_one=True, late_anchors=0) == in_order
    legs = cycle_legs()
    legs[-2], legs[-1] = legs[-1], legs[-2]
    assert [p for p, *_ in await run(redis, legs, one_by_one=True, late_anchors=0)].count("network_cycle") == 0
    assert [p for p, *_ in await run(redis, legs, one_by_one=True, late_anchors=1)].count("network_cycle") == 3
    with pytest.raises(ValueError, match="late_anchors"):
        NetworkEngine(GraphStore(redis), (), load_model().version, late_anchors=-1)


async def test_re_anchored_evaluations_are_counted_once_and_only_for_late_copies(redis):
    model = load_model()

    async def reanchored(legs):
        await redis.flushdb()
        engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
        total = 0
        for chunk in legs:
            batch = await engine.process(chunk)
            await engine.commit(batch)
            total += batch.reanchored
        return total

    legs = cycle_legs()
    # in event-time order only ties re-anchor: the employer's three payments share a millisecond,
    # and those of its copies whose edge id sorts after a later one's arrive "after" it
    in_order = await reanchored(legs)
    assert in_order == await reanchored(cycle_legs())
    legs[-2], legs[-1] = legs[-1], legs[-2]
    # C2 -> C3's payee copy reaches C3 after C3 -> C1: the rules run again at C3's copy of it and
    # at C1's (its payee); its payer copy is C2's newest edge
    assert await reanchored(legs) == in_order + 2


async def test_a_late_middle_hop_finds_the_cycle_whose_closing_copy_another_worker_owns(redis):
    """Two workers: one owns id:C1 and has committed its copies (the closing hop's payee copy among
    them) before the middle hop exists; the other owns id:C2 and id:C3 and gets the middle hop
    last. It reads id:C1 back from Redis for the re-anchored search and reports the cycle as a
    single worker in event-time order does."""
    in_order = await run(redis, cycle_legs(), one_by_one=True)
    await redis.flushdb()
    model = load_model()
    legs = cycle_legs()
    legs[-2], legs[-1] = legs[-1], legs[-2]
    copies = [c for pair in legs for c in pair]
    mine = [c for c in copies if c.key == b"id:C1"]
    others = [c for c in copies if c.key != b"id:C1"]
    assert mine and others
    out = []
    for owned in (mine, others):
        engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
        for src in owned:
            batch = await engine.process([src])
            await engine.commit(batch)
            out.append(batch)
    assert detections(out[: len(mine)]) == []  # the first worker never saw the middle hop
    assert detections(out) == in_order


async def test_reversed_payments_do_not_make_a_split(redis):
    from streams.engine import Engine
    from streams.settings import Settings
    from streams.state import make_store

    model = load_model()
    customer_stage = Engine(make_store(redis, Settings(), model), model, check_keys=False, record_checkpoints=False, emit_edges=True)
    docs = []
    for n in range(6):  # six attempts of CNY 5,000 from one payer within an hour, each booked back ten minutes later
        at = f"2026-11-02T10:{n * 8:02d}:00+08:00"
        docs.append({"tx_id": f"S{n}", "customer_id": "C-V", "ts": at, "direction": "in", "amount": "5000.00", "currency": "CNY", "method": "transfer"})
        docs[-1] |= {"channel": "online", "counterparty_id": "P-U"}
        back = f"2026-11-02T10:{n * 8 + 5:02d}:00+08:00"
        docs.append({**docs[-1], "tx_id": f"S{n}-REV", "ts": back, "direction": "out", "tx_type": "reversal", "original_tx_id": f"S{n}"})
    result = await customer_stage.process([Source("aml.transactions.v1", 0, n, b"C-V", orjson.dumps(d)) for n, d in enumerate(docs)])
    await customer_stage.commit(result)
    edges = [Source("edges", 0, n, e.key.encode(), e.encode()) for n, e in enumerate(e for e in result.events if e.kind == "edge")]
    assert edges, "the customer stage produced the payments' edges"
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    batch = await engine.process(edges)
    assert [e.value["pattern"] for e in batch.events if e.kind == "network_detection"] == []


async def test_what_is_held_equals_what_a_restarted_worker_reads_when_a_name_becomes_ambiguous(redis):
    store = GraphStore(redis)
    engine = NetworkEngine(store, (), load_model().version)
    cp = {"counterparty_name": "张三", "counterparty_bank": "工商银行"}
    stream = leg("n1", "C5", "in", 300_000, T0, counterparty_account="62220001", **cp)
    stream += leg("n2", "C5", "in", 300_000, T0 + DAY, **cp)  # name only: bound to acct:62220001
    stream += leg("n3", "C5", "in", 300_000, T0 + 2 * DAY, counterparty_account="62229999", **cp)  # another 张三 at the same bank
    await engine.commit(await engine.process(stream))
    held = sorted((h.tx_ids, h.payer) for h in store.accounts["id:C5"].ins)
    read = sorted((h.tx_ids, h.payer) for h in (await GraphStore(redis).read(["id:C5"], 0, 2**53))["id:C5"].ins)
    assert held == read
