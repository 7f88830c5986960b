"""GraphStore._chunks: script calls on a single Redis are bounded (one script runs at a time and
holds every other client), still one pipeline for the batch."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.network.state import CALL_COPIES, GraphStore


def store() -> GraphStore:
    return GraphStore(Redis.from_url("redis://127.0.0.1:1/0"))  # never connected: _chunks is pure


def test_accounts_are_grouped_in_order_up_to_the_budget_and_a_heavy_one_goes_alone():
    weights = {"a": 100, "b": 100, "c": 100, "d": 600, "e": 1}
    assert store()._chunks(list(weights), weights, budget=256) == [["a", "b"], ["c"], ["d"], ["e"]]


def test_without_weights_each_account_counts_one():
    parties = [f"p{n}" for n in range(40)]
    chunks = store()._chunks(parties, budget=16)
    assert [len(c) for c in chunks] == [16, 16, 8] and [p for c in chunks for p in c] == parties


def test_the_default_budget_and_an_empty_batch():
    weights = {f"p{n}": 3 for n in range(200)}
    chunks = store()._chunks(list(weights), weights)
    assert all(sum(weights[p] for p in c) <= CALL_COPIES for c in chunks) and len(chunks) == 3
    assert store()._chunks([]) == []
