"""The commit guard's calls (streams.state.store.guarded_counter_calls) and tokens
(BatchResult.commit_token), as pure functions: on Redis Cluster every call's keys share one slot
(by redis-py's own slot function), on a single Redis one call carries every counter; a batch's
token is the same for every retry of its commit and differs between batches."""

from __future__ import annotations

from zlib import crc32

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from streams.engine import BatchResult
from streams.state.peers import PEER_SHARDS, distribution_key, peer_key
from streams.state.store import GUARD_PREFIX, guarded_counter_calls, hash_tag, level_shard_key

INCREMENTS = [
    (level_shard_key(3), "normal", 1),
    (level_shard_key(3), "watch", -1),
    (level_shard_key(7), "normal", 1),
    (peer_key("individual:unknown", "c1"), "members", 1),
    (peer_key("individual:unknown", "c1"), "20759:n", 2),
    (distribution_key("individual:unknown", "in_7d", 20759), "59", 1),
    (distribution_key("individual:unknown", "in_7d", 20758), "12", -1),  # another day, the same tag
    (distribution_key("corporate:trade", "in_7d", 20759), "40", 1),
]


def applied(calls: list[tuple[list[str], list[str]]]) -> dict[tuple[str, str], int]:
    """What the script would add: (key, field) -> amount."""
    out: dict[tuple[str, str], int] = {}
    for keys, argv in calls:
        for i in range(1, len(argv), 3):
            key = keys[int(argv[i]) - 1]
            out[(key, argv[i + 1])] = out.get((key, argv[i + 1]), 0) + int(argv[i + 2])
    return out


def test_cluster_one_call_per_hash_tag_its_guard_in_the_same_slot():
    calls = guarded_counter_calls(INCREMENTS, "tok", 600, cluster=True)
    tags = [hash_tag(keys[0]) for keys, _ in calls]
    assert tags == ["s3", "s7", f"individual:unknown|{crc32(b'c1') % PEER_SHARDS}", "individual:unknown|in_7d", "corporate:trade|in_7d"]
    for keys, argv in calls:
        assert keys[0] == f"{GUARD_PREFIX}{{{hash_tag(keys[0])}}}:tok"
        assert len({key_slot(k.encode()) for k in keys}) == 1  # Redis Cluster takes the call
        assert len(set(keys)) == len(keys) and argv[0] == "600"
    assert applied(calls) == {(k, f): n for k, f, n in INCREMENTS}


def test_single_redis_one_call_for_all_counters():
    calls = guarded_counter_calls(INCREMENTS, "tok", 600, cluster=False)
    assert len(calls) == 1 and calls[0][0][0] == f"{GUARD_PREFIX}{{g}}:tok"
    assert applied(calls) == {(k, f): n for k, f, n in INCREMENTS}


def test_increments_of_one_counter_are_summed_and_zeros_dropped():
    key = level_shard_key(1)
    calls = guarded_counter_calls([(key, "normal", -1), (key, "watch", 1), (key, "normal", 1)], "t", 600, cluster=True)
    assert applied(calls) == {(key, "watch"): 1}
    assert guarded_counter_calls([(key, "normal", 1), (key, "normal", -1)], "t", 600, cluster=True) == []


@pytest.mark.parametrize("key", ["aml:levels", "aml:x:{}:y", "aml:x:{}}", "aml:x:}{"])
def test_a_counter_key_without_a_hash_tag_is_refused_on_a_cluster(key):
    with pytest.raises(ValueError, match="no hash tag"):
        guarded_counter_calls([(key, "f", 1)], "t", 600, cluster=True)
    assert len(guarded_counter_calls([(key, "f", 1)], "t", 600, cluster=False)) == 1


@given(st.text(max_size=20))
def test_any_key_with_a_hash_tag_gets_a_guard_in_its_slot(key):
    """Group names come from profiles (kind, industry): whatever braces they hold, the guard
    lands in the slot Redis Cluster gives the counter."""
    try:
        (keys, _), *rest = guarded_counter_calls([(key, "f", 1)], "t", 600, cluster=True)
    except ValueError:
        start = key.find("{")  # Redis hashes the whole key (no `{`, no `}` after it, or `{}` first): no tag to share
        assert start < 0 or key.find("}", start + 1) in (-1, start + 1)
        return
    assert not rest and key_slot(keys[0].encode()) == key_slot(key.encode())


def test_commit_token_names_the_input_for_the_worker_and_the_batch_for_replay():
    def batch(offsets: dict[tuple[str, int], int], times: dict[int, int] | None = None) -> BatchResult:
        return BatchResult(checkpoints=offsets, event_times=times or {0: 1_000})

    a = batch({("t", 0): 10, ("t", 1): 4})
    assert a.commit_token() == a.commit_token() == batch({("t", 1): 4, ("t", 0): 10}).commit_token()  # a retry, a redelivery ending there
    assert a.commit_token() != batch({("t", 0): 11, ("t", 1): 4}).commit_token()
    assert a.commit_token() != batch({("t", 0): 10}).commit_token()
    assert a.commit_token() != batch({("t", 0): 10, ("t", 1): 4}, {0: 2_000}).commit_token()  # other records at those offsets (a recreated topic)
    assert len(a.commit_token()) == 24
    replay_one, replay_two = BatchResult(), BatchResult()  # no checkpoints: the batch's own random token
    assert replay_one.commit_token() == replay_one.commit_token() != replay_two.commit_token()
