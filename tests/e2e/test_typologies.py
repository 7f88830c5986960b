"""End to end on the real broker and Redis: a scripted stream with one customer per typology
produces exactly the expected suspicious-pattern alerts and large-value reports, and a clean
stream of ordinary customers produces none (only their first ratings, all normal).

The stream lives in tests/e2e/typology_stream.py. peer_cash_outlier and peer_frequency_outlier
are not part of it: they need a published peer baseline (a worker timer publishes one hourly
from at least 20 customers of a group), so the unit tests of factors/patterns cover them.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import orjson
import pytest

from streams.model import load_model
from tests.e2e.harness import output_events, produce, read_all, wait_until_committed
from tests.e2e.typology_stream import TYPOLOGIES, clean_customers, is_round, large_value_customers, local_hour, message

CLEAN = 30


def test_the_scripted_stream_keeps_clear_of_the_other_rules():
    """The stream's own invariants, so a later edit cannot quietly make a customer hit two rules."""
    model = load_model()  # the packaged default standard, as the worker runs it
    night = model.standard.patterns["night_burst"]
    night_hours = range(night.night_start, night.night_end)
    high_risk = model.high_risk_countries
    assert "IR" in high_risk and "HK" not in high_risk
    clean = clean_customers(CLEAN)
    assert len({t["customer_id"] for t in clean}) == CLEAN
    for t in clean:
        assert not is_round(t["amount"]), t
        assert local_hour(t["ts"]) not in night_hours, t
        assert "counterparty_country" not in t and not t.get("cross_border"), t
        assert not (t["method"] == "cash" and float(t["amount"]) >= 1000), t
    for typ in TYPOLOGIES:
        for t in typ.txs:
            assert t["customer_id"] == typ.customer
            if typ.pattern != "round_amounts":
                assert not is_round(t["amount"]), t
            if typ.pattern != "night_burst":
                assert local_hour(t["ts"]) not in night_hours, t
            if typ.pattern != "high_risk_jurisdiction":
                assert t.get("counterparty_country") not in high_risk, t
            if typ.pattern != "structuring":
                assert not (t["method"] == "cash" and 40_000 <= float(t["amount"]) < 50_000), t
        assert [t["ts"] for t in typ.txs] == sorted(t["ts"] for t in typ.txs)
        assert typ.fires_at in {t["tx_id"] for t in typ.txs}
    # no day's cash (0501) or domestic transfers (0503) of a direction reach a reporting threshold
    daily: Counter[tuple[str, str, str, bool]] = Counter()
    for t in clean + [t for typ in TYPOLOGIES for t in typ.txs]:
        assert t["currency"] == "CNY", t
        daily[(t["customer_id"], t["ts"][:10], t["direction"], t["method"] == "cash")] += Decimal(t["amount"])
    assert all(total < (50_000 if cash else 200_000) for (_, _, _, cash), total in daily.items())
    tx_ids = [t["tx_id"] for t in clean] + [t["tx_id"] for typ in TYPOLOGIES for t in typ.txs] + [t["tx_id"] for t in large_value_customers()[0]]
    assert len(tx_ids) == len(set(tx_ids))


# The default batch size takes the whole stream in a batch or two; batches of 5 commit between
# most transactions of a customer (trail trimming, pending snapshots): the alerts and reports
# must be the same either way (only trail-based evidence may be shorter).
@pytest.mark.parametrize("batch_size", [None, "5"], ids=["default-batches", "batches-of-5"])
async def test_each_typology_raises_exactly_its_alert_and_ordinary_customers_none(pipeline_env, batch_size):
    env = pipeline_env
    topics = env["topics"]
    started = time.monotonic()
    lv_txs, lv_expected = large_value_customers()
    clean = clean_customers(CLEAN)
    clean_ids = sorted({t["customer_id"] for t in clean})
    by_customer = {typ.customer: typ for typ in TYPOLOGIES}

    # The profile first, rated before any transaction of its customer, so profile_mismatch sees it.
    profiles = [typ.profile for typ in TYPOLOGIES if typ.profile is not None]
    await produce(topics.customers, [(p["customer_id"].encode(), orjson.dumps(p)) for p in profiles])
    worker = env["start_worker"](**({"AMLSTREAM_BATCH_SIZE": batch_size} if batch_size else {}))
    ratings = [orjson.loads(v) for *_, v in await read_all([topics.risk_changes], until=len(profiles), timeout_s=120)]
    assert sorted((e["customer_id"], e["cause"]["kind"]) for e in ratings) == sorted((p["customer_id"], "profile") for p in profiles), worker.log()[-5000:]

    # Then every transaction: per customer in event-time order (one key, one partition).
    stream = [t for typ in TYPOLOGIES for t in typ.txs] + lv_txs + clean
    await produce(topics.transactions, [message(t) for t in stream])
    await wait_until_committed(topics, env["group"], timeout_s=180)
    events = await output_events(topics, idle_s=3.0, timeout_s=60)
    by_type: dict[str, list[dict]] = {}
    for e in events:
        by_type.setdefault(e["event_type"], []).append(e)

    assert by_type.get("dead_letter", []) == []

    # Suspicious patterns: each typology customer its own pattern, once, and nothing else.
    alerts = by_type.get("suspicious_pattern", [])
    assert Counter((e["customer_id"], e["pattern"]) for e in alerts) == Counter((typ.customer, typ.pattern) for typ in TYPOLOGIES)
    for e in alerts:
        typ = by_customer[e["customer_id"]]
        assert e["occurrence"] == 1, e
        assert e["cause"] == {"kind": "transaction", "ref": typ.fires_at}, e
        own = {t["tx_id"] for t in typ.txs}
        assert typ.fires_at in e["tx_ids"] and set(e["tx_ids"]) <= own, e
        if typ.evidence is not None:
            assert tuple(e["tx_ids"]) == typ.evidence, e
        for name, value in typ.metrics.items():
            assert e["metrics"][name] == (pytest.approx(value, abs=0.005) if isinstance(value, float) else value), (name, e)
    by_pattern = {typ.pattern: typ for typ in TYPOLOGIES}
    assert all(by_pattern[p].evidence for p in ("structuring", "rapid_in_out", "same_day_cash", "dormant_reactivation", "round_amounts", "night_burst"))

    # Large-value reports: only the two large-value customers' (no typology crosses a threshold).
    reports = sorted((e["customer_id"], e["rule_code"], e["direction"], e["revision"], e["total_cny"], e["cause"]["ref"]) for e in by_type.get("large_value_report", []))
    assert reports == sorted((r.customer, r.rule_code, r.direction, r.revision, r.total_cny, r.cause) for r in lv_expected)

    # Risk changes: the clean customers are rated once each, normal, at their first transaction;
    # every other customer has exactly one first rating.
    changes = by_type.get("risk_change", [])
    clean_changes = sorted(
        (e["customer_id"], e["previous"], e["current"]["level"], e["cause"]["kind"], e["cause"]["ref"]) for e in changes if e["customer_id"] in clean_ids
    )
    first_tx = {c: min((t for t in clean if t["customer_id"] == c), key=lambda t: t["ts"])["tx_id"] for c in clean_ids}
    assert clean_changes == [(c, None, "normal", "transaction", first_tx[c]) for c in clean_ids]
    others = {typ.customer for typ in TYPOLOGIES} | {t["customer_id"] for t in lv_txs}
    assert Counter(e["customer_id"] for e in changes if e["previous"] is None) == Counter(clean_ids) + Counter(others)
    assert {e["customer_id"] for e in events} <= others | set(clean_ids)
    print(f"typology stream: {len(stream)} transactions, {len(events)} events, {time.monotonic() - started:.1f} s")
