"""A corpus of poison messages interleaved with good ones: every bad one is dead-lettered with the
expected error_code, every good one is processed exactly once, and the worker never restarts."""

from __future__ import annotations

import orjson
import pytest

from streams.state import StateStore
from tests.e2e.test_crash_recovery import aggregate_state, generated_stream
from tests.reliability.support import BROKEN, alive, clean_run, produce, verify_pipeline, wait_until_committed

pytestmark = pytest.mark.services

TEN_MIB = 10 * 1_048_576


def tx(tx_id: str, customer: str = "k001", **over: object) -> dict:
    doc = {
        "tx_id": tx_id,
        "customer_id": customer,
        "ts": "2026-11-18T10:00:00Z",
        "direction": "in",
        "amount": "120.50",
        "currency": "CNY",
        "method": "transfer",
    }
    doc.update(over)
    return doc


def raw(tx_id: str, fragment: str) -> bytes:
    """A transaction whose `amount` is written literally (to carry NaN / Infinity / big numbers)."""
    return f'{{"tx_id":"{tx_id}","customer_id":"k002","ts":"2026-11-18T10:00:00Z","direction":"in","amount":{fragment},"currency":"CNY","method":"cash"}}'.encode()


def poison() -> list[tuple[str, bytes | None, bytes | None, str]]:
    """(label, key, value, expected error_code)."""
    j = orjson.dumps
    no_direction = tx("p25")
    del no_direction["direction"]
    return [
        ("truncated JSON", b"k001", b'{"tx_id": "p01", "customer_id": "k001", "amo', "invalid_json"),
        ("customer_id is a number", b"17", j(tx("p02", customer=17)), "invalid_type"),  # type: ignore[arg-type]
        ("tx_id is a number", b"k001", j(tx(3)), "invalid_type"),  # type: ignore[arg-type]
        ("cross_border is a string", b"k001", j(tx("p04", cross_border="yes")), "invalid_type"),
        ("amount is a list", b"k001", j(tx("p05", amount=[1])), "invalid_amount"),
        ("a JSON array", b"k001", b'[{"tx_id": "p06"}]', "not_an_object"),
        ("a JSON string", b"k001", b'"hello"', "not_an_object"),
        ("NaN literal", b"k002", raw("p07", "NaN"), "invalid_json"),
        ("Infinity literal", b"k002", raw("p08", "Infinity"), "invalid_json"),
        ("-Infinity literal", b"k002", raw("p09", "-Infinity"), "invalid_json"),
        ('"NaN" string', b"k001", j(tx("p10", amount="NaN")), "invalid_amount"),
        ('"Infinity" string', b"k001", j(tx("p11", amount="Infinity")), "invalid_amount"),
        ("negative amount", b"k001", j(tx("p12", amount="-120.50")), "invalid_amount"),
        ("zero amount (string)", b"k001", j(tx("p13", amount="0")), "invalid_amount"),
        ("zero amount (number)", b"k001", j(tx("p14", amount=0)), "invalid_amount"),
        ("1e308 (number)", b"k002", raw("p15", "1e308"), "invalid_amount"),
        ('"1e308" string', b"k001", j(tx("p16", amount="1e308")), "invalid_amount"),
        ("below one fen", b"k001", j(tx("p17", amount="0.001")), "invalid_amount"),
        ("unknown currency", b"k001", j(tx("p18", currency="XYZ")), "unknown_currency"),
        ("invalid timestamp", b"k001", j(tx("p19", ts="yesterday")), "invalid_timestamp"),
        ("timestamp without offset", b"k001", j(tx("p20", ts="2026-11-18T10:00:00")), "invalid_timestamp"),
        ("year 9999", b"k001", j(tx("p21", ts="9999-12-31T23:59:59Z")), "invalid_timestamp"),
        ("empty payload", b"k001", b"", "invalid_json"),
        ("no value (tombstone)", b"k001", None, "invalid_json"),
        ("10 MiB payload", b"k001", j(tx("p24", note="x" * TEN_MIB)), "payload_too_large"),
        ("missing direction", b"k001", j(no_direction), "missing_field"),
        ("direction sideways", b"k001", j(tx("p26", direction="sideways")), "invalid_value"),
        ("invalid UTF-8", b"k001", b'{"tx_id": "p27", "customer_id": "k001", "counterparty_name": "\xff\xfe\xc3"}', "invalid_utf8"),
        ("key differs from customer_id", b"k002", j(tx("p28", customer="k001")), "key_mismatch"),
        ("no key", None, j(tx("p29", customer="k001")), "key_mismatch"),
        ("empty key", b"", j(tx("p30", customer="k001")), "key_mismatch"),
    ]


async def test_poison_corpus_is_dead_lettered_and_good_input_processed_once(make_pipeline, worker_redis):
    pipeline = make_pipeline()
    await pipeline.create_topics(replication=1)
    good = [m for m in dict.fromkeys(generated_stream(seed=51, customers=40, count=600)) if m[1] != BROKEN]
    bad = poison()
    corpus: list[tuple[bytes | None, bytes | None]] = []
    step = len(good) // len(bad)
    for i, (key, value) in enumerate(good):
        corpus.append((key, value))
        if i % step == step // 2 and i // step < len(bad):
            _, bkey, bvalue, _ = bad[i // step]
            corpus.append((bkey, bvalue))
    assert sum(1 for m in corpus if m not in good) == len(bad)

    worker = pipeline.start_worker()
    pid = worker.proc.pid
    await produce(pipeline.bootstrap, pipeline.topics.transactions, corpus)
    await wait_until_committed(pipeline, timeout_s=120, workers=[worker])

    # the same tx_id again for one customer, with DIFFERENT content (another amount), once the
    # original is committed. Today it is a duplicate of the first copy: not counted again, not
    # dead-lettered, no event (the first copy wins; the difference is not reported anywhere).
    original_key, original_value = good[100]
    changed = orjson.loads(original_value) | {"amount": "777777", "counterparty_id": "p-other"}
    await produce(pipeline.bootstrap, pipeline.topics.transactions, [(original_key, orjson.dumps(changed))])
    await wait_until_committed(pipeline, timeout_s=60, workers=[worker])

    assert alive(worker) and worker.proc.pid == pid, f"the worker must never restart\n{pipeline.logs()}"
    inputs, emitted = await verify_pipeline(pipeline, worker_redis[1])
    assert len(inputs) == len(corpus) + 1

    # every bad message dead-lettered once, with the expected code
    expected = {(key, value): (label, code) for label, key, value, code in bad}
    bad_sources = {(p, o): expected[(k, v)] for _, p, o, k, v in inputs if (k, v) in expected}
    assert len(bad_sources) == len(bad)
    dead = [e for e in emitted if e["event_type"] == "dead_letter"]
    got = {(e["source"]["partition"], e["source"]["offset"]): e for e in dead}
    assert len(got) == len(dead) == len(bad), f"{len(dead)} dead letters ({len(got)} distinct) for {len(bad)} bad messages"
    codes = {label: (code, got[src]["error_code"] if src in got else None) for src, (label, code) in bad_sources.items()}
    wrong = {label: pair for label, pair in codes.items() if pair[0] != pair[1]}
    assert not wrong, f"label: (expected, got) {wrong}"
    big = next(e for src, e in got.items() if bad_sources[src][0] == "10 MiB payload")
    assert big["payload_truncated"] and big["payload_bytes"] > TEN_MIB and len(big["payload"]) <= 64 * 1024

    # metrics: one process saw it all
    assert worker.counter("amlstream_transactions_total", outcome="dead_letter") == len(bad)
    assert worker.counter("amlstream_transactions_total", outcome="applied") == len(good)
    assert worker.counter("amlstream_transactions_total", outcome="duplicate") == 1
    assert worker.counter("amlstream_transactions_total", outcome="redelivered") == 0

    # the changed copy left the customer exactly as without it
    customer = orjson.loads(original_value)["customer_id"]
    without = [r for r in inputs if (r[3], r[4]) != (original_key, orjson.dumps(changed))]
    _, clean_redis = await clean_run(without, pipeline.model_path)
    try:
        assert await aggregate_state(worker_redis[1], {customer}) == await aggregate_state(clean_redis, {customer})
        assert await StateStore(worker_redis[1]).applied_count(customer) == sum(1 for k, _ in good if k == original_key)
    finally:
        await clean_redis.flushdb()
        await clean_redis.aclose()
