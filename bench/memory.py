"""Redis memory per customer (bench sections `memory` and `scaling`).

Each figure replays a generated bank through the replay engine (the worker's engine, decoder,
scripts and rater) into an empty database and divides the growth of the server's `used_memory`
by the customers that have state. The breakdown by key kind uses `MEMORY USAGE key SAMPLES 0`
(exact: every element; it counts the key, its value and its main-dictionary entry) on every key
of a sample of customers; what `used_memory` grew by beyond the sum of `MEMORY USAGE` over all
keys is the per-key overhead that no key reports (the main dictionary's bucket array, allocator
rounding).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.common import Bench, bench_redis, generated, log

SAMPLE = 300  # customers whose keys are broken down by kind
MAIN_DICT_SLOT = 8  # bytes per bucket of Redis' main key dictionary (a pointer); the table is a power of two


def _kind(key: bytes) -> str:
    """Kind of an amlstream key: state hash, counterparties, trail, dedup, the account directory, or a shared key."""
    text = key.decode(errors="replace")
    if text.startswith("aml:acct:{"):
        return "account_directory"  # grows with the accounts that profiles list: per customer, not shared
    if text.startswith("aml:{") and "}:" in text:
        suffix = text.rsplit("}:", 1)[1]
        return {"s": "state_hash", "c": "counterparty_set", "t": "trail"}.get(suffix, "dedup_sets" if suffix.startswith("x") else f"other:{suffix}")
    return "shared"  # peer counters, level counts, layout marker, published baselines


def _shared_kind(key: bytes) -> str:
    """What a shared key is: `aml:peerq:{<group>|<metric>}:<day>` -> `aml:peerq` (peer-group
    distributions, one key per group x metric x day), `aml:peer:{<group>|<shard>}` -> `aml:peer`, ..."""
    text = key.decode(errors="replace")
    return text.split(":{", 1)[0] if ":{" in text else text


def _percentiles(values: list[int]) -> dict[str, int]:
    ordered = sorted(values) or [0]
    return {f"p{q}": ordered[min(len(ordered) - 1, len(ordered) * q // 100)] for q in (50, 90, 99)} | {"max": ordered[-1]}


async def listpack_value(redis: Any) -> int:
    """The server's hash-max-listpack-value (the figures depend on it: README › Performance)."""
    return int((await redis.config_get("hash-max-listpack-value"))["hash-max-listpack-value"])


async def _usage(redis: Any, keys: list[bytes]) -> list[int]:
    out: list[int] = []
    for i in range(0, len(keys), 1000):
        pipe = redis.pipeline(transaction=False)
        for key in keys[i : i + 1000]:
            pipe.memory_usage(key, samples=0)
        out += [n or 0 for n in await pipe.execute()]
    return out


async def breakdown(redis: Any, customers: int) -> dict[str, Any]:
    """Bytes per customer by key kind (all keys, MEMORY USAGE), the state hash's fields by name
    (HSTRLEN on a sample) and the key overhead that MEMORY USAGE does not see."""
    keys = [k async for k in redis.scan_iter(count=5000)]
    usage = await _usage(redis, keys)
    by_kind: Counter[str] = Counter()
    keys_by_kind: Counter[str] = Counter()
    for key, n in zip(keys, usage, strict=True):
        by_kind[_kind(key)] += n
        keys_by_kind[_kind(key)] += 1
    shared: Counter[str] = Counter()
    shared_keys: Counter[str] = Counter()
    for key, n in zip(keys, usage, strict=True):
        if _kind(key) == "shared":
            shared[_shared_kind(key)] += n
            shared_keys[_shared_kind(key)] += 1
    fields: Counter[str] = Counter()
    all_states = [k for k in keys if _kind(k) == "state_hash"]
    s_sizes = []
    for i in range(0, len(all_states), 1000):
        pipe = redis.pipeline(transaction=False)
        for key in all_states[i : i + 1000]:
            pipe.hstrlen(key, "S")
        s_sizes += await pipe.execute()
    states = all_states[:SAMPLE]
    sampled = set(states)
    tags = {k.rsplit(b":", 1)[0] for k in sampled}
    encodings: Counter[str] = Counter()
    for key in keys:
        if key.rsplit(b":", 1)[0] in tags:
            encodings[f"{_kind(key)}:{(await redis.object('encoding', key)).decode()}"] += 1
    for key in states:
        for name, value in (await redis.hgetall(key)).items():
            label = name.decode()
            fields["p:* (pending snapshots)" if label.startswith("p:") else label] += len(name) + len(value)
    per = max(customers, 1)
    return {
        "keys": len(keys),
        "keys_per_customer": round(len(keys) / per, 2),
        "memory_usage_sum_bytes": sum(usage),
        "bytes_per_customer_by_kind": {k: round(v / per, 1) for k, v in by_kind.most_common()},
        "keys_by_kind": dict(keys_by_kind.most_common()),
        "shared_keys": {k: {"keys": shared_keys[k], "bytes": v} for k, v in shared.most_common()},
        "shared_bytes": sum(shared.values()),
        "state_aggregates_S_bytes": _percentiles(s_sizes),
        "state_hash_field_bytes_per_customer": {k: round(v / max(len(states), 1), 1) for k, v in fields.most_common()},
        "state_hash_fields_sampled_customers": len(states),
        "encodings_of_sampled_customers_keys": dict(sorted(encodings.items())),
    }


async def memory_per_customer(bench: Bench, customers: int, days: int, seed: int = 21, detail: bool = True) -> dict[str, Any]:
    """Redis memory per customer after `days` of generated history, through the replay engine."""
    from streams.model import load_model
    from streams.replay import replay
    from streams.settings import load_settings

    data = generated(customers, days, seed)
    await bench.flush()
    async with bench.redis() as redis:
        before = (await redis.info("memory"))["used_memory"]
        settings = load_settings({"AMLSTREAM_REDIS_URL": bench.redis_url})
        log(f"replaying {customers} customers x {days} days into Redis")
        stats_before = await redis.memory_stats()
        started = time.monotonic()
        result = await replay(settings, load_model(), str(data / "transactions.jsonl"), str(data / "customers.jsonl"), None, progress=False)
        log(f"replayed {result.inputs} inputs in {time.monotonic() - started:.0f} s")
        after = (await redis.info("memory"))["used_memory"]
        stats_after = await redis.memory_stats()
        active = max(len(result.final), 1)
        out: dict[str, Any] = {
            "customers": customers,
            "customers_with_state": len(result.final),
            "days": days,
            "hash_max_listpack_value": await listpack_value(redis),
            "transactions": result.inputs,
            "replay_tx_per_s": round(result.inputs / result.seconds, 1),
            "used_memory_delta_bytes": after - before,
            "redis_bytes_per_customer": round((after - before) / active, 1),
            "keys": await redis.dbsize(),
            # MEMORY STATS: what the server's own bookkeeping grew by (not per key)
            "server_overhead_delta_bytes": {
                k: stats_after.get(k, 0) - stats_before.get(k, 0)
                for k in ("overhead.total", "clients.normal", "lua.caches", "dataset.bytes")
                if isinstance(stats_after.get(k, 0), int)
            },
        }
        if detail:
            parts = await breakdown(redis, active)
            unseen = (after - before) - parts["memory_usage_sum_bytes"]
            parts["overhead_not_in_memory_usage_bytes_per_key"] = round(unseen / max(parts["keys"], 1), 1)
            out["breakdown"] = parts
            # the keys every deployment has once (peer-group statistics, level counts, markers):
            # bounded by groups x metrics, not by customers (README › Performance)
            out["redis_bytes_per_customer_without_shared_keys"] = round((after - before - parts["shared_bytes"]) / active, 1)
    log(f"{customers} x {days} days: {out['redis_bytes_per_customer']} B per customer ({out.get('redis_bytes_per_customer_without_shared_keys')} without shared keys)")
    return out


def extrapolate(measured: dict[str, Any], target_customers: int = 1_000_000) -> dict[str, Any]:
    """Redis memory for `target_customers` with the same history per customer.

    Linear: used_memory delta / customers x target. Main-dictionary step: the key table grows in
    powers of two (8 bytes a slot), so the part of the delta it explains is taken out and the
    table for the target's key count put back in; the two figures bracket the expectation."""
    customers = measured["customers_with_state"]
    keys = measured["keys"]
    per_customer = measured["used_memory_delta_bytes"] / customers
    linear = per_customer * target_customers

    def table(n: int) -> int:
        return (1 << max(n - 1, 1).bit_length()) * MAIN_DICT_SLOT

    target_keys = round(keys / customers * target_customers)
    stepped = (measured["used_memory_delta_bytes"] - table(keys)) / customers * target_customers + table(target_keys)
    shared = measured.get("breakdown", {}).get("shared_bytes")
    once = {}
    if shared is not None:  # the shared keys counted once, not once per `customers` (they do not grow with customers)
        fixed = (measured["used_memory_delta_bytes"] - shared - table(keys)) / customers * target_customers + table(target_keys) + shared
        once = {"shared_keys_once_bytes": round(fixed), "shared_keys_once_gib": round(fixed / (1 << 30), 2)}
    return {
        "from_customers": customers,
        "to_customers": target_customers,
        "method": "used_memory delta / customers x target; the main key table (8 B a slot, a power of two) re-sized for the target's key count",
        "keys": target_keys,
        "linear_bytes": round(linear),
        "linear_gib": round(linear / (1 << 30), 2),
        "with_key_table_step_bytes": round(stepped),
        "with_key_table_step_gib": round(stepped / (1 << 30), 2),
        "key_table_bytes_per_key": round(table(target_keys) / target_keys, 1),
    } | once


async def warm_up(bench: Bench) -> dict[str, Any]:
    """A first replay into the server, so that what a server allocates once (Lua's heap for the
    scripts, their cache; about 0.3-0.7 MB measured) is not counted per customer of the measured
    runs; its figure, cold, is kept in the results."""
    return await memory_per_customer(bench, 300, 90, detail=False)


async def run_memory(bench: Bench, scale_customers: int, scale_days: int, ninety_customers: tuple[int, ...] = ()) -> dict[str, Any]:
    """The `memory` section: 90 days (the target's figure) for each of `ninety_customers` (default
    1,000; the shared keys weigh less per customer the more customers share them); the smallest
    (at most 1,000) again on a server with Redis' default hash-max-listpack-value (64: every state hash a
    hashtable) when the bench runs its own server; and `scale_customers` x `scale_days` with its
    extrapolation to 1 M customers. Each server is warmed up first (`warm_up`)."""
    sizes = ninety_customers or ((300,) if bench.quick else (1000,))
    out: dict[str, Any] = {"warm_up_cold_server": await warm_up(bench)}
    runs = [await memory_per_customer(bench, n, 90) for n in sizes]
    out |= {"memory_90d": runs[0], "memory_90d_runs": runs}
    if bench.own_server:
        async with bench_redis(None, listpack_value=64) as url:
            default = Bench(bench.tag, url, bench.quick)
            await warm_up(default)
            out["memory_90d_redis_default_listpack"] = await memory_per_customer(default, min(*sizes, 1000), 90)
    scale = await memory_per_customer(bench, scale_customers, scale_days)
    return out | {"memory_scale": scale, "extrapolated_1m": extrapolate(scale)}


async def run_scaling(bench: Bench) -> dict[str, Any]:
    """About the same number of transactions spread over 10x more customers (replay rate, memory)."""
    sizes = ((2_000, 10), (20_000, 1)) if bench.quick else ((10_000, 17), (100_000, 2))
    return {"runs": [await memory_per_customer(bench, n, d, detail=False) for n, d in sizes]}
