"""README, Network detection: the same edge stream in any batching gives the same detections with
the same event_ids, and a restarted worker (reading its accounts from Redis) gives what one that
held them in memory gives. A rule anchored at an edge copy sees the accounts as of that copy: hub
flags, name aliases, retention and customers learned from later copies of the batch play no part.

The stream: small hand-made episodes (a cycle, transfer splits by account and by a name learned
later, a split against a habit near the retention edge, an account that becomes a hub, a name that
becomes ambiguous) inside random background payments between customers, outside accounts and
named payers, with some legs arriving after later ones; cut into batches of 1, 7 and 500 copies
and at random points, on a real Redis.
"""

from __future__ import annotations

import random
from functools import cache

import orjson
from redis.asyncio import Redis

from factors.network.edges import edge_messages, edges_for_leg
from factors.network.rules import load_rules
from streams.events import Source, iso
from streams.model import load_model
from streams.network.engine import NetworkEngine
from streams.network.state import GraphStore, account_keys

DAY = 86_400_000
HOUR = 3_600_000
T0 = 1_795_000_000_000
REDIS_DB = 11  # no other test uses it
HUB_DEGREE = 6  # low, so that accounts become hubs within the stream


def leg(tx_id: str, customer: str, direction: str, fen: int, ts: int, **cp: str) -> list[Source]:
    e = edges_for_leg(tx_id=tx_id, customer_id=customer, ts_ms=ts, direction=direction, amount_fen=fen, method="transfer", **cp)
    assert e is not None
    return [Source("edges", 0, 0, k.encode(), orjson.dumps(v)) for k, v in edge_messages(e, iso(ts))]


def episodes(t: int) -> list[tuple[int, list[Source]]]:
    """(event time, copies) of the hand-made episodes, starting around `t`."""
    out: list[tuple[int, list[Source]]] = []

    def add(tx_id: str, customer: str, direction: str, fen: int, ts: int, **cp: str) -> None:
        out.append((ts, leg(tx_id, customer, direction, fen, ts, **cp)))

    for c in ("CY1", "CY2", "CY3"):  # a cycle, with the members' history 40 days before
        add(f"h-{c}", c, "in", 800_000, t - 40 * DAY, counterparty_id="EMPLOYER")
    add("cy-a", "CY1", "out", 2_000_000, t, counterparty_id="CY2")
    add("cy-b", "CY2", "in", 2_000_000, t, counterparty_id="CY1")
    add("cy-c", "CY2", "out", 1_950_000, t + DAY, counterparty_id="CY3")
    add("cy-d", "CY3", "out", 1_900_000, t + 2 * DAY, counterparty_id="CY1")
    for n in range(4):  # a split, then the account's counterparties reach the hub degree
        add(f"hb-h{n}", "HB", "in", 50_000, t - 10 * DAY + n * HOUR, counterparty_id=f"HB-W{n}")
    for n in range(6):
        add(f"hb-s{n}", "HB", "in", 400_000, t + n * HOUR, counterparty_id="HB-U")
    add("hb-w", "HB", "in", 50_000, t + 7 * HOUR, counterparty_id="HB-W9")
    for n in range(3):  # a split by a payer named only, whose account a later leg gives
        add(f"al-h{n}", "AL", "in", 50_000, t - 40 * DAY + n * HOUR, counterparty_id=f"AL-W{n}")
    for n in range(6):
        add(f"al-s{n}", "AL", "in", 400_000, t + 2 * DAY + n * HOUR, counterparty_name="Hengtong Trading", counterparty_bank="ICBC")
    add("al-id", "AL", "in", 30_000, t + 3 * DAY, counterparty_account="6222 0001", counterparty_name="HENGTONG TRADING CO LTD", counterparty_bank="ICBC")
    for n in range(3):  # the pair's habit 89.5 days before a larger split, then a receipt a day later
        add(f"rt-h{n}", "RT", "in", 400_000, t - 89 * DAY - 12 * HOUR + n * HOUR, counterparty_id="RT-U")
    for n in range(6):
        add(f"rt-s{n}", "RT", "in", 500_000, t + n * HOUR, counterparty_id="RT-U")
    add("rt-w", "RT", "in", 50_000, t + DAY, counterparty_id="RT-W")
    named = {"counterparty_name": "张三", "counterparty_bank": "工商银行"}  # a name that becomes ambiguous
    add("am-1", "AM", "in", 300_000, t, counterparty_account="62220001", **named)
    for n in range(6):
        add(f"am-s{n}", "AM", "in", 400_000, t + DAY + n * HOUR, **named)
    add("am-2", "AM", "in", 300_000, t + 2 * DAY, counterparty_account="62229999", **named)
    add("am-3", "AM", "in", 300_000, t + 3 * DAY, **named)
    return out


@cache
def stream(names: bool = True) -> tuple[Source, ...]:
    """The episodes in random background traffic, in event-time order but for a few late legs
    (`names`: with the legs that teach name aliases)."""
    rng = random.Random(13)
    timed = [x for x in episodes(T0) if names or b"counterparty_name_id" not in x[1][0].value]
    customers = [f"C{n:02d}" for n in range(24)]
    for n in range(700):
        ts = T0 - 95 * DAY + rng.randrange(100 * DAY)
        customer = rng.choice(customers)
        fen = rng.choice((100_000, 250_000, 400_000, 980_000, rng.randrange(5_000, 3_000_000)))
        kind = rng.random()
        if kind < 0.5:
            cp = {"counterparty_id": rng.choice([c for c in customers if c != customer])}
        elif kind < 0.8:
            cp = {"counterparty_account": f"6222 {rng.randrange(40):04d}", "counterparty_name": f"Payee {rng.randrange(30)}", "counterparty_bank": "CCB"}
        else:
            cp = {"counterparty_name": f"Payee {rng.randrange(30)}", "counterparty_bank": "CCB"}
        if not names and "counterparty_account" in cp:
            del cp["counterparty_name"]
        timed.append((ts, leg(f"bg{n}", customer, rng.choice(("in", "out")), fen, ts, **cp)))
        if rng.random() < 0.2:  # a burst of transfers of one pair within hours
            for k in range(rng.randrange(2, 7)):
                timed.append((ts + (k + 1) * HOUR, leg(f"bg{n}-{k}", customer, "out", fen, ts + (k + 1) * HOUR, **cp)))
    timed.sort(key=lambda x: x[0])
    legs = [copies for _, copies in timed]
    for _ in range(15):  # late legs: a leg arrives some legs after later ones
        i = rng.randrange(len(legs) - 40)
        legs.insert(i + rng.randrange(2, 40), legs.pop(i))
    return tuple(c for copies in legs for c in copies)


async def run(redis: Redis, cuts: list[int], *, restart: bool = False, crash: bool = False, names: bool = True) -> list[tuple[str, str, str]]:
    """Detections of the stream cut before the given copy positions (`restart`: a new worker, with
    nothing in memory, for every batch; `crash`: every batch is first processed by a worker that
    stops before the commit, its outputs lost, and must give the same outputs)."""
    await redis.flushdb()
    model = load_model()

    def engine() -> NetworkEngine:
        return NetworkEngine(GraphStore(redis, hub_degree=HUB_DEGREE), load_rules(model.standard), model.version)

    worker = engine()
    copies = stream(names)
    found = []
    for lo, hi in zip([0, *cuts], [*cuts, len(copies)], strict=True):
        if restart:
            worker = engine()
        lost = await (engine() if restart else worker).process(list(copies[lo:hi])) if crash else None
        batch = await worker.process(list(copies[lo:hi]))
        await worker.commit(batch)
        assert not batch.dead_letters
        found += [(e.value["pattern"], e.value["customer_id"], e.value["event_id"]) for e in batch.events if e.kind == "network_detection"]
        if lost is not None:
            assert [(e.value["event_id"], e.value.get("parties")) for e in lost.events] == [(e.value["event_id"], e.value.get("parties")) for e in batch.events]
    return found


def every(size: int, names: bool = True) -> list[int]:
    return list(range(size, len(stream(names)), size))


async def test_the_same_detections_and_event_ids_in_any_batching(redis):
    one = await run(redis, every(1))
    patterns = {p for p, *_ in one}
    assert {"network_cycle", "transfer_splitting"} <= patterns, patterns
    assert sum(1 for p, c, _ in one if p == "transfer_splitting" and c in ("HB", "AL", "AM")) == 3  # each split found once
    assert await run(redis, every(7)) == one
    assert await run(redis, every(500)) == one
    rng = random.Random(7)
    for _ in range(2):
        cuts = sorted(rng.sample(range(1, len(stream())), rng.randrange(5, 60)))
        assert await run(redis, cuts) == one, cuts


async def test_a_restarted_worker_finds_what_one_that_held_the_accounts_finds(redis):
    held = await run(redis, every(7))
    assert await run(redis, every(7), restart=True) == held


async def test_a_batch_processed_again_after_a_failed_attempt_gives_the_same_outputs(redis):
    """At least once: the attempt stored its copies in Redis and stopped before the commit; the
    same worker retrying the batch, or a restarted one reading its accounts, gives the same events
    (legs, customers, retention and hub flags as of each copy; without name aliases, see below)."""
    cuts = every(500, names=False)
    held = await run(redis, cuts, names=False)
    assert {p for p, *_ in held} == {"network_cycle", "transfer_splitting"}
    assert await run(redis, cuts, crash=True, names=False) == held
    assert await run(redis, cuts, crash=True, restart=True, names=False) == held


async def test_an_alias_taught_by_a_failed_attempt_does_not_change_its_retry(redis):
    """The attempt's later copy taught a name alias (meta a:<digest>, and 'ae' until the commit):
    its retry reads the account with the alias as it was, and binds the earlier name-only legs as
    the attempt did."""
    cuts = every(500)
    assert await run(redis, cuts, crash=True) == await run(redis, cuts)


async def test_an_alias_time_moved_by_a_failed_attempt_is_read_back_as_before(redis):
    """A name alias's time (the :t sorted set, Adjacency.alias_seen: it keeps the alias for the
    retention) moved by an attempt stopped before its commit is read back by the retry as it was
    ('ae' keeps the value and the time before); the commit makes the attempt's time the state."""
    await redis.flushdb()
    model = load_model()
    worker = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version)
    named = {"counterparty_account": "6222 0001", "counterparty_name": "HENGTONG TRADING CO LTD", "counterparty_bank": "ICBC"}
    await worker.commit(await worker.process(leg("n-1", "AL", "in", 30_000, T0, **named)))
    attempt = await worker.process(leg("n-2", "AL", "in", 30_000, T0 + 2 * DAY, **named))  # its outputs fail: no commit
    meta = account_keys("id:AL")[3]
    assert await redis.hexists(meta, "ae")
    reader = GraphStore(redis)
    retried = (await reader.read(["id:AL"], 0, 2**53, {}))["id:AL"]  # as a retry reads it
    assert list(retried.alias_seen.values()) == [T0] and len(retried.aliases) == 1
    assert list((await reader.read(["id:AL"], 0, 2**53))["id:AL"].alias_seen.values()) == [T0 + 2 * DAY]
    await worker.commit(attempt)
    committed = (await reader.read(["id:AL"], 0, 2**53, {}))["id:AL"]
    assert list(committed.alias_seen.values()) == [T0 + 2 * DAY]
    assert not await redis.hexists(meta, "ae")
