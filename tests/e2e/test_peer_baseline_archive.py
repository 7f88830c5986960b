"""A worker archives every peer baseline it publishes on aml.peer-baselines.v1 before scoring uses
it: the version Redis holds is on the topic, with the histograms an auditor recomputes a relative
threshold from."""

from __future__ import annotations

import asyncio

import orjson

from factors.distribution import Distribution
from streams.state.peers import load_baselines
from tests.e2e.harness import produce, read_all, wait_until_committed


def leg(n: int, customer: str) -> tuple[bytes, bytes]:
    ts = f"2026-11-2{n}T10:00:00+08:00"
    doc = {"tx_id": f"T-{customer}-{n}", "customer_id": customer, "ts": ts, "direction": "in", "amount": str(1000 + 37 * n), "currency": "CNY", "method": "transfer"}
    return customer.encode(), orjson.dumps(doc)


async def test_published_baselines_are_archived_on_the_topic(pipeline_env):
    env = pipeline_env
    topics, redis = env["topics"], env["redis"]
    await produce(topics.transactions, [leg(n, f"C-{c:02d}") for c in range(24) for n in range(1, 4)])  # 24 customers of one group (>= 20)
    env["start_worker"](AMLSTREAM_PEER_PUBLISH_INTERVAL_S="1")
    await wait_until_committed(topics, env["group"])
    published: dict = {}
    for _ in range(60):  # the timer publishes every second once the counters are there
        published = await load_baselines(redis)
        if published:
            break
        await asyncio.sleep(0.5)
    assert set(published) == {"individual:unknown"} and published["individual:unknown"].distributions
    baseline = published["individual:unknown"]
    records = await read_all([topics.peer_baselines], timeout_s=30)
    archived = {key.decode(): orjson.loads(value) for _, _, _, key, value in records}
    doc = archived[f"individual:unknown|{baseline.version}"]  # the version scoring reads is archived
    assert doc["event_type"] == "peer_baseline" and doc["customers"] == baseline.customers == 24
    assert len(records) == len(archived)  # an unchanged baseline is not archived again
    for metric, d in baseline.distributions.items():
        assert Distribution.from_counts(tuple(p) for p in doc["distributions"][metric]).quantile(0.99) == d.quantile(0.99)
