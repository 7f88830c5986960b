"""README, Network detection › The second leg of a book transfer: each leg of a transfer between
two customers knows its own customer only, and both legs give one edge. Whichever leg reaches an
account first, and however the copies are cut into batches, the network stage finds the same
exposure measurements and the same high_risk_exposure alert (tests/e2e/test_network_worker.py's
stream, which missed the alert in 2 of 65 runs under load when the high-risk customer's leg came
second). On a real Redis."""

from __future__ import annotations

import random

import orjson

from factors.network.edges import edge_messages, edges_for_leg
from factors.network.rules import load_rules
from streams.events import Source, iso
from streams.model import load_model
from streams.network.engine import NetworkEngine
from streams.network.state import GraphStore

DAY = 86_400_000
PAID_MS = 1_793_930_400_000  # 2026-11-06T02:00:00Z
RISK = {"C-H": "suspicious@1793491200000"}  # suspicious since 2026-11-01


def book_transfer(tx: str, payer: str, payee: str, fen: int, ts_ms: int) -> list[tuple[bytes, bytes]]:
    """The four edge copies of a transfer between two customers: the payer's and the payee's leg,
    each keyed by the payer's and by the payee's party, as the customer stage produces them when
    `counterparty_id` names the other customer and no account resolves it."""
    out = []
    for customer, direction, cp in ((payer, "out", payee), (payee, "in", payer)):
        edge = edges_for_leg(tx_id=f"{tx}-{direction}", customer_id=customer, ts_ms=ts_ms, direction=direction, amount_fen=fen, method="transfer", counterparty_id=cp)
        assert edge is not None
        out += [(k.encode(), orjson.dumps(v)) for k, v in edge_messages(edge, iso(ts_ms))]
    return out


def delivery(rng: random.Random, copies: list[tuple[bytes, bytes]]) -> list[list[tuple[bytes, bytes]]]:
    """One order a consumer may see: each key's copies in produced order (one partition each),
    the keys interleaved at random, cut into batches at random points."""
    queues = {}
    for key, value in copies:
        queues.setdefault(key, []).append((key, value))
    order = []
    while any(queues.values()):
        key = rng.choice(sorted(k for k, q in queues.items() if q))
        order.append(queues[key].pop(0))
    cuts = sorted(rng.sample(range(1, len(order)), rng.randint(0, len(order) - 1)))
    return [order[i:j] for i, j in zip([0, *cuts], [*cuts, len(order)], strict=True)]


async def outputs(redis, batches: list[list[tuple[bytes, bytes]]]) -> list[dict]:
    await redis.flushdb()
    model = load_model()
    engine = NetworkEngine(GraphStore(redis), load_rules(model.standard), model.version, check_keys=False, risk=dict(RISK))
    out, offset = [], 0
    for batch in batches:
        sources = [Source("edges", 0, offset + n, key, value) for n, (key, value) in enumerate(batch)]
        offset += len(batch)
        result = await engine.process(sources)
        await engine.commit(result)
        out += [e.value for e in result.events]
    return out


async def test_the_alert_and_the_exposures_do_not_depend_on_which_leg_comes_first(redis):
    history = book_transfer("NX-0", "C-8", "C-9", 300_00, PAID_MS - 40 * DAY)  # the stage's observed history begins here
    later = book_transfer("NX-1", "C-1", "C-H", 5_000_00, PAID_MS) + book_transfer("NX-2", "C-H", "C-2", 3_000_00, PAID_MS + 3_600_000)
    rng = random.Random(20261201)
    seen = set()
    for _ in range(60):
        batches = delivery(rng, later)
        seen.add(tuple(len(b) for b in batches))
        events = await outputs(redis, [history, *batches])
        detections = [e for e in events if e["kind"] == "detection"]
        exposures = sorted((e["customer_id"], e["exposure"]["exposure_cny"]) for e in events if e["kind"] == "exposure")
        assert {(e["customer_id"], e["pattern"], e["role"]) for e in detections} == {
            ("C-1", "high_risk_exposure", "exposed"),
            ("C-2", "high_risk_exposure", "exposed"),
            ("C-H", "high_risk_exposure", "high_risk_party"),
        }, batches
        assert len({e["event_id"] for e in detections}) == 3  # found once
        assert exposures == [("C-1", 5000.0), ("C-2", 3000.0)], batches  # measured once on each exposed customer's side
    assert len(seen) > 20  # the trials cut the stream in many ways


async def test_a_redelivered_leg_does_not_run_the_rules_again(redis):
    """The rules run again only at the copy that names a customer they did not know: the same
    leg delivered twice (a redelivery) gives nothing more."""
    history = book_transfer("NX-0", "C-8", "C-9", 300_00, PAID_MS - 40 * DAY)
    legs = book_transfer("NX-1", "C-1", "C-H", 5_000_00, PAID_MS)
    out_leg, in_leg = legs[:2], legs[2:]
    once = await outputs(redis, [history, out_leg, in_leg])
    twice = await outputs(redis, [history, out_leg, out_leg, in_leg, in_leg])
    assert [e["event_id"] for e in twice] == [e["event_id"] for e in once]
    assert [(e["kind"], e["customer_id"]) for e in once] == [("exposure", "C-1")]  # measured at the high-risk customer's leg
