"""A worker on a Redis Cluster (3 masters + 3 replicas, `services.sh cluster-start redis`):
with AMLSTREAM_REDIS_CLUSTER=1 the worker uses redis.asyncio.RedisCluster, AMLSTREAM_REDIS_URL
naming one node. Aggregates read through a RedisCluster client equal a clean run, and the
customers' keys (one hash tag each) spread over all masters."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from streams.state import StateStore, customer_keys
from tests.e2e.harness import ROOT
from tests.e2e.test_crash_recovery import generated_stream
from tests.reliability.support import REDIS_CLUSTER_MASTERS, alive, produce, verify_pipeline, wait_until_committed

pytestmark = pytest.mark.services


async def test_worker_on_a_redis_cluster(redis_cluster, make_pipeline):
    cluster = RedisCluster.from_url(redis_cluster)
    try:
        await cluster.flushall()
        pipeline = make_pipeline(redis_url=redis_cluster)
        await pipeline.create_topics(replication=1)
        stream = generated_stream(seed=61, customers=120, count=1500)
        # the field case customer-id-with-braces: an id that would empty a "{id}" hash tag
        case = ROOT / "tests" / "integration" / "cases" / "customer-id-with-braces" / "transactions.jsonl"
        stream += [(orjson.loads(line)["customer_id"].encode(), line) for line in case.read_bytes().splitlines() if line.strip()]
        worker = pipeline.start_worker(AMLSTREAM_REDIS_CLUSTER="1")
        await produce(pipeline.bootstrap, pipeline.topics.transactions, stream)
        await wait_until_committed(pipeline, timeout_s=120, workers=[worker])
        assert alive(worker)
        await verify_pipeline(pipeline, cluster)

        braces = await StateStore(cluster).states(["}C-1001", "C-OK-2"])
        assert set(braces) == {"}C-1001", "C-OK-2"}  # rated, like every other customer
        # one customer's keys share one slot (hash tag); the customers spread over every master
        for customer in ("k000", "k001", "}C-1001"):
            slots = {await cluster.execute_command("CLUSTER KEYSLOT", key) for key in customer_keys(customer)}
            assert len(slots) == 1
            (slot,) = slots
            assert await cluster.execute_command("CLUSTER COUNTKEYSINSLOT", slot) >= 1
        masters = cluster.get_primaries()
        assert len(masters) == REDIS_CLUSTER_MASTERS
        for node in masters:
            direct = Redis(host=node.host, port=node.port)
            try:
                assert await direct.dbsize() > 0, f"master {node.name} holds no key"
            finally:
                await direct.aclose()
    finally:
        await cluster.aclose()
