"""What one state-script call costs in Redis (bench section `scripts`; diagnosis).

Drives the state layer (`StateStore.apply` and `.commit`, the worker's own calls) without Kafka
or rating, and reads each call's server-side execution time from SLOWLOG (threshold 0, reset
before every call). Two shapes:
  ordinary  one call carrying CALL_ITEMS customers with one transaction each (a bank-sized batch)
  busy      one customer's chunk of CHUNK receipts from distinct payers, measured after 0, 10k,
            20k and 40k earlier receipts (its counterparty set and dedup set grow)
so per-item and per-customer costs can be told apart.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from bench.common import Bench, log
from streams.events import Source
from streams.state.store import CALL_ITEMS, CHUNK, CustomerCommit, Item, StateStore, pending_id

DAY_MS = 1_785_513_600_000  # 2026-08-01T00:00+08:00


def _items(engine: Any, model: Any, customer: str, start: int, n: int, payers: int, rng: random.Random) -> list[Item]:
    from streams.decode import decode_transaction

    out = []
    for i in range(start, start + n):
        doc = {
            "tx_id": f"{customer}-{i:07d}",
            "customer_id": customer,
            "ts": f"2026-08-01T{(i * 86_000 // 60_000) // 3600 % 24:02d}:{(i * 86_000 // 60_000) // 60 % 60:02d}:{(i * 86_000 // 60_000) % 60:02d}+08:00",
            "direction": "in",
            "amount": f"{rng.randint(100, 20_000)}.00",
            "currency": "CNY",
            "method": "transfer",
            "counterparty_id": f"P{rng.randrange(payers):06d}" if payers else f"P{i:06d}",
        }
        tx = decode_transaction(customer.encode(), orjson.dumps(doc), model.standard.fx, 1 << 20)
        out.append(engine._item(tx, model, Source("bench", 0, i, customer.encode(), b"", None)))  # the engine's own item building (calendar, digests)
    return out


async def _cpu_us(redis: Any) -> float:
    cpu = await redis.info("cpu")
    return (float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])) * 1e6


async def _timed(redis: Any, call: Any) -> tuple[list[int], float]:
    """Server-side durations (us) of the EVALSHA commands `call` sends (SLOWLOG: wall time while
    executing, so time the server was not scheduled counts too), and the server's CPU time (us)
    over the call (INFO cpu: unaffected by other processes competing for the cores)."""
    await redis.config_set("slowlog-log-slower-than", 0)
    await redis.slowlog_reset()
    before = await _cpu_us(redis)
    await call()
    cpu = await _cpu_us(redis) - before
    entries = await redis.slowlog_get(-1)
    return [e["duration"] for e in entries if "evalsha" in str(e["command"]).lower()], cpu


async def _apply_commit(store: StateStore, redis: Any, batches: dict[str, list[Item]]) -> dict[str, Any]:
    holder: dict[str, Any] = {}

    async def apply() -> None:
        holder["applied"] = await store.apply(batches)

    apply_us, apply_cpu = await _timed(redis, apply)
    commits = [CustomerCommit(c, tuple(pending_id(r.item) for r in b.results if r.status == "new"), None, {"level": "low"}) for c, b in holder["applied"].items()]

    async def commit() -> None:
        await store.commit(commits)

    commit_us, commit_cpu = await _timed(redis, commit)
    items = sum(len(v) for v in batches.values())
    return {
        "items": items,
        "customers": len(batches),
        "apply_calls_us": apply_us,
        "apply_us_per_item": round(sum(apply_us) / items, 1),
        "apply_cpu_us_per_item": round(apply_cpu / items, 1),
        "commit_calls_us": commit_us,
        "commit_us_per_item": round(sum(commit_us) / items, 1),
        "commit_cpu_us_per_item": round(commit_cpu / items, 1),
    }


async def run_scripts(bench: Bench) -> dict[str, Any]:
    from streams.engine import Engine
    from streams.model import load_model

    model = load_model()
    rng = random.Random(3)
    await bench.flush()
    async with bench.redis() as redis:
        saved = (await redis.config_get("slowlog-log-slower-than"))["slowlog-log-slower-than"]
        saved_len = (await redis.config_get("slowlog-max-len"))["slowlog-max-len"]
        await redis.config_set("slowlog-max-len", 100_000)
        try:
            store = StateStore(redis)
            await store.ensure_layout()
            engine = Engine(store, model)
            log(f"scripts: {CALL_ITEMS} ordinary customers, one transaction each")
            ordinary = {f"O{c:06d}": _items(engine, model, f"O{c:06d}", 0, 1, 0, rng) for c in range(CALL_ITEMS)}
            first = await _apply_commit(store, redis, ordinary)
            again = await _apply_commit(store, redis, {c: _items(engine, model, c, 1, 1, 0, rng) for c in ordinary})
            busy: dict[str, Any] = {}
            done = 0
            for mark in (0, 10_000, 20_000, 40_000):
                while done < mark:  # fill up to the mark in chunks, as the worker would
                    await store.apply({"BUSY": _items(engine, model, "BUSY", done, CHUNK, 20_000, rng)})
                    done += CHUNK
                log(f"scripts: busy customer, one chunk after {done} receipts")
                busy[str(done)] = await _apply_commit(store, redis, {"BUSY": _items(engine, model, "BUSY", done, CHUNK, 20_000, rng)})
                done += CHUNK
        finally:
            await redis.config_set("slowlog-log-slower-than", saved)
            await redis.config_set("slowlog-max-len", saved_len)
    return {
        "method": "SLOWLOG with threshold 0 (wall time of each EVALSHA) and INFO cpu (server CPU time) around StateStore.apply / .commit calls",
        "call_items": CALL_ITEMS,
        "chunk": CHUNK,
        "ordinary_first_tx": first,
        "ordinary_second_tx": again,
        "busy_chunk_after": busy,
    }
