"""End to end on the real broker and Redis: input topic -> worker -> output topics."""

from __future__ import annotations

import orjson

from tests.e2e.harness import output_events, produce, wait_until_committed


def tx(tx_id: str, customer: str, ts: str, amount: str, method: str = "transfer", direction: str = "in", **kw) -> tuple[bytes, bytes]:
    doc = {"tx_id": tx_id, "customer_id": customer, "ts": ts, "direction": direction, "amount": amount, "currency": "CNY", "method": method, **kw}
    return customer.encode(), orjson.dumps(doc)


async def test_transactions_yield_risk_changes_patterns_and_dead_letters(pipeline_env):
    env = pipeline_env
    topics = env["topics"]
    messages = [
        # a cash-heavy customer: three deposits in one Shanghai business day reach CNY 50,000 at the third
        tx("A1", "cust-a", "2026-11-27T01:00:00+08:00", "20000", method="cash"),
        tx("A2", "cust-a", "2026-11-27T09:00:00+08:00", "20000", method="cash"),
        tx("A3", "cust-a", "2026-11-27T23:59:00+08:00", "10000.00", method="cash"),
        tx("A4", "cust-a", "2026-11-28T00:01:00+08:00", "49999.99", method="cash"),  # next day, just under
        # an ordinary customer
        tx("B1", "cust-b", "2026-11-27T10:00:00+08:00", "88.50", method="card", direction="out"),
        # cross-border customer: 30-day turnover >= 10,000 and 100 % cross-border (20 points); the
        # cash follows the same day and adds the 30-day cash band (10 points): normal, then watch
        tx("C1", "cust-c", "2026-11-27T10:00:00+08:00", "150000", method="remittance", cross_border=True, counterparty_country="HK"),
        tx("C2", "cust-c", "2026-11-27T11:00:00+08:00", "100000", method="cash", direction="out"),
        # bad input
        (b"cust-d", b'{"tx_id": "D1", "customer_id": "cust-d", "ts": "2026-11-27T10:00:00+08:00"'),
        tx("D2", "cust-d", "2026-11-27T10:00:00+08:00", "0", method="cash"),
        tx("D3", "cust-d", "2026-11-27T10:00:00+08:00", "12", method="cash", currency="ZZZ"),
        (b"someone-else", tx("D4", "cust-d", "2026-11-27T10:00:00+08:00", "12")[1]),
    ]
    await produce(topics.transactions, messages)
    worker = env["start_worker"]()
    await wait_until_committed(topics, env["group"])
    events = await output_events(topics, until=12, timeout_s=30)

    by_type: dict[str, list[dict]] = {}
    for e in events:
        by_type.setdefault(e["event_type"], []).append(e)

    changes = by_type["risk_change"]
    first_ratings = {e["customer_id"]: e for e in changes if e["previous"] is None}
    assert set(first_ratings) == {"cust-a", "cust-b", "cust-c"}
    assert all(e["cause"]["kind"] == "transaction" for e in changes)
    assert first_ratings["cust-b"]["current"] == {"level": "normal", "score": 0}
    c1 = first_ratings["cust-c"]
    assert c1["cause"]["ref"] == "C1" and c1["current"] == {"level": "normal", "score": 20}
    [c2] = [e for e in changes if e["previous"] is not None]
    assert c2["customer_id"] == "cust-c" and c2["cause"]["ref"] == "C2"
    assert c2["previous"] == {"level": "normal", "score": 20}
    assert c2["current"] == {"level": "watch", "score": 35}
    assert c2["current"]["score"] == sum(x["points"] for x in c2["contributions"])
    contributions = {x["factor"]: x for x in c2["contributions"]}
    assert set(contributions) == {"cross_border_share", "cash_volume_30d", "recent_detections"}
    assert contributions["recent_detections"]["points"] == 5  # its same-day cash alert feeds back
    assert contributions["cash_volume_30d"]["evidence"]["cash_30d_cny"] == 100_000
    assert contributions["cash_volume_30d"]["evidence"]["band_min"] == 100_000
    assert contributions["cross_border_share"]["evidence"]["share"] == 0.6

    patterns = {e["customer_id"]: e for e in by_type["suspicious_pattern"]}
    assert sorted(patterns) == ["cust-a", "cust-c"] and len(by_type["suspicious_pattern"]) == 2  # cust-c: one cash out of 100,000
    pattern = patterns["cust-a"]
    assert pattern["pattern"] == "same_day_cash"
    assert pattern["metrics"]["business_date"] == "2026-11-27" and pattern["metrics"]["cash_total_cny"] == 50_000
    assert pattern["tx_ids"] == ["A1", "A2", "A3"] and pattern["cause"]["ref"] == "A3"
    assert pattern["window"] == {"start": "2026-11-26T17:00:00.000Z", "end": "2026-11-27T15:59:00.000Z"}

    reports = sorted((e["customer_id"], e["rule_code"], e["direction"], e["revision"], e["total_cny"], tuple(e["tx_ids"])) for e in by_type["large_value_report"])
    assert reports == [("cust-a", "0501", "in", 1, 50_000, ("A1", "A2", "A3")), ("cust-c", "0501", "out", 1, 100_000, ("C2",))]
    assert {e["business_date"] for e in by_type["large_value_report"]} == {"2026-11-27"}

    codes = sorted(e["error_code"] for e in by_type["dead_letter"])
    assert codes == ["invalid_amount", "invalid_json", "key_mismatch", "unknown_currency"]
    for e in by_type["dead_letter"]:
        assert e["source"]["topic"] == topics.transactions and e["error_detail"]
        assert e["payload"].startswith('{"tx_id": "D') or e["payload"].startswith('{"tx_id":"D')
    assert len(events) == 4 + 2 + 2 + 4

    # the metrics endpoint shows what happened
    assert worker.counter("amlstream_transactions_total", outcome="applied") == 7
    assert worker.counter("amlstream_dead_letters_total", error_code="invalid_json") == 1
    assert worker.counter("amlstream_events_emitted_total", topic=topics.risk_changes) == 4
    assert worker.counter("amlstream_events_emitted_total", topic=topics.patterns) == 2
    assert worker.counter("amlstream_batch_size_count") >= 1
    assert worker.counter("amlstream_redis_script_seconds_count", script="apply_batch") >= 1
    assert "amlstream_event_time_lag_seconds" in worker.metrics()
