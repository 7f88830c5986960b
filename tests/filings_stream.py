"""A small filing scenario: profiles with identity, transaction legs, the large-value report events
the customer stage emits for them (first, revised, withdrawn; entity and natural person; CNY and
foreign currency; several customers and days), alerts and analysts' decisions.

The report events are computed here from the legs with the customer stage's own rule
(factors.large_value) so their totals are what the stage would emit; `withdraw` and `manual`
(contract v1.1, not emitted by the customer stage yet) are written directly, as the filing
stage's contract allows.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import orjson

from factors.calendar import BusinessCalendar, iso_date
from factors.large_value import DEFAULT_RULES, applies
from streams.model import load_model

MODEL = load_model()
FX = MODEL.standard.fx
CAL = BusinessCalendar("Asia/Shanghai")


def _h(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def identity_person(name: str, number: str) -> dict[str, Any]:
    return {
        "legal_name": name,
        "id_type": "110001",
        "id_number": number,
        "nationality": "CN",
        "occupation_code": "4-01-02",
        "phones": ["13800000001"],
        "addresses": ["上海市浦东新区世纪大道1号"],
    }


def identity_entity(name: str, code: str) -> dict[str, Any]:
    return {
        "legal_name": name,
        "id_type": "610001",
        "id_number": code,
        "industry_code": "F5131",
        "phones": ["021-55550000"],
        "addresses": ["上海市黄浦区中山东一路2号"],
        "legal_representative": {"name": "李四", "id_type": "110001", "id_number": "310101197001011234"},
        "controllers": [{"name": "王五", "id_type": "110001", "id_number": "310101196501011234"}],
    }


PROFILES: list[dict[str, Any]] = [
    {
        "customer_id": "F-P1",
        "kind": "individual",
        "country": "CN",
        "onboarded_at": "2024-01-10T10:00:00+08:00",
        "updated_at": "2026-10-01T10:00:00+08:00",
        "identity": identity_person("张三", "110101199001011234"),
    },
    {
        "customer_id": "F-P2",
        "kind": "individual",
        "country": "CN",
        "onboarded_at": "2024-02-10T10:00:00+08:00",
        "updated_at": "2026-10-01T10:00:00+08:00",
        "identity": identity_person("赵六", "110101198502021234"),
    },
    {
        "customer_id": "F-E1",
        "kind": "entity",
        "country": "CN",
        "industry": "F51",
        "onboarded_at": "2023-05-05T10:00:00+08:00",
        "updated_at": "2026-10-01T10:00:00+08:00",
        "identity": identity_entity("上海示例贸易有限公司", "91310000MA1K000001"),
    },
    # no identity: its report must be held (missing_identity), never filed with invented data
    {"customer_id": "F-N1", "kind": "individual", "country": "CN", "onboarded_at": "2024-03-01T10:00:00+08:00", "updated_at": "2026-10-01T10:00:00+08:00"},
    # a new customer without any rating: first rating due 10 working days after onboarding
    {
        "customer_id": "F-NEW",
        "kind": "individual",
        "country": "CN",
        "onboarded_at": "2026-09-01T10:00:00+08:00",
        "updated_at": "2026-09-01T10:00:00+08:00",
        "identity": identity_person("孙七", "110101199912121234"),
    },
]


def _tx(tx_id: str, cid: str, ts: str, direction: str, amount: str, currency: str, method: str, **extra: Any) -> dict[str, Any]:
    return {
        "tx_id": tx_id,
        "customer_id": cid,
        "account_id": f"A-{cid}",
        "ts": ts,
        "direction": direction,
        "amount": amount,
        "currency": currency,
        "method": method,
        **extra,
    }


TRANSACTIONS: list[dict[str, Any]] = [
    # F-P1, 2026-11-02: cash in 30,000 + 25,000 -> 0501 rev 1 (55,000, 2 tx), then 10,000 -> rev 2 (65,000, 3 tx)
    _tx("P1-1", "F-P1", "2026-11-02T09:00:00+08:00", "in", "30000.00", "CNY", "cash", channel="counter"),
    _tx("P1-2", "F-P1", "2026-11-02T10:30:00+08:00", "in", "25000.00", "CNY", "cash", channel="counter"),
    _tx("P1-X", "F-P1", "2026-11-02T11:00:00+08:00", "out", "800.00", "CNY", "card", channel="pos"),
    _tx("P1-3", "F-P1", "2026-11-02T23:30:00+08:00", "in", "10000.00", "CNY", "cash", channel="counter"),
    # F-P1, 2026-11-03 (local date; 2026-11-02T17:00Z is 01:00 on 11-03 in Shanghai): USD cross-border transfer in -> 0504 (USD 12,000 >= 10,000)
    _tx(
        "P1-4",
        "F-P1",
        "2026-11-02T17:00:00Z",
        "in",
        "12000.00",
        "USD",
        "remittance",
        channel="online",
        cross_border=True,
        counterparty_name="John Smith",
        counterparty_bank="HSBC Hong Kong",
        counterparty_country="HK",
        counterparty_account="HK-0012345",
    ),
    # F-P2, 2026-11-04: domestic transfers out 300,000 + 250,000 -> 0503 rev 1; then withdrawn (a reversal took the day below the line)
    _tx(
        "P2-1",
        "F-P2",
        "2026-11-04T09:00:00+08:00",
        "out",
        "300000.00",
        "CNY",
        "transfer",
        channel="online",
        counterparty_name="某某房地产",
        counterparty_bank="中国银行",
        counterparty_account="6216-0001",
    ),
    _tx("P2-2", "F-P2", "2026-11-04T14:00:00+08:00", "out", "250000.00", "CNY", "transfer", channel="mobile", counterparty_id="CP-9", counterparty_account="6216-0002"),
    # F-E1, 2026-11-05: entity transfers in: CNY 1.5M (< 2M) and EUR 100,000 (< USD 200k) stay below the
    # lines, CNY 600,000 more takes the CNY sum to 2.1M -> 0502 with all three legs (CNY and EUR)
    _tx(
        "E1-1",
        "F-E1",
        "2026-11-05T09:00:00+08:00",
        "in",
        "1500000.00",
        "CNY",
        "transfer",
        channel="online",
        counterparty_name="北京供应链公司",
        counterparty_bank="工商银行",
    ),
    _tx(
        "E1-2",
        "F-E1",
        "2026-11-05T10:00:00+08:00",
        "in",
        "100000.00",
        "EUR",
        "transfer",
        channel="online",
        cross_border=True,
        counterparty_name="Muster GmbH",
        counterparty_country="DE",
    ),
    _tx("E1-3", "F-E1", "2026-11-05T11:00:00+08:00", "in", "600000.00", "CNY", "transfer", channel="online", counterparty_name="广州贸易公司"),
    # F-N1, 2026-11-06: cash out 60,000 -> 0501, but no identity on file
    _tx("N1-1", "F-N1", "2026-11-06T09:00:00+08:00", "out", "60000.00", "CNY", "cash", channel="counter"),
    # F-P2 later: evidence of two alerts (suspicious reports)
    _tx("P2-3", "F-P2", "2026-11-10T01:00:00+08:00", "in", "49000.00", "CNY", "cash", channel="atm"),
    _tx("P2-4", "F-P2", "2026-11-10T02:00:00+08:00", "in", "48000.00", "CNY", "cash", channel="atm"),
    _tx("P2-5", "F-P2", "2026-11-20T02:00:00+08:00", "in", "47000.00", "CNY", "cash", channel="atm"),
]


def report_events() -> list[dict[str, Any]]:
    """The large-value report events for TRANSACTIONS (plus one withdraw and one manual)."""
    kinds = {p["customer_id"]: p["kind"] for p in PROFILES}
    revisions: dict[str, int] = {}
    events = []
    seen: list[dict[str, Any]] = []
    for doc in TRANSACTIONS:
        from streams.decode import decode_transaction

        tx = decode_transaction(None, orjson.dumps(doc), FX, 1 << 20)
        day = CAL.business_day(tx.ts_ms)
        seen.append({"tx": tx, "day": day})
        kind = kinds[tx.customer_id]
        for rule in DEFAULT_RULES:
            if not applies(rule, tx.is_cash, tx.cross_border, kind):
                continue
            same = [s["tx"] for s in seen if s["tx"].customer_id == tx.customer_id and s["day"] == day and s["tx"].direction == tx.direction]
            q = [t for t in same if applies(rule, t.is_cash, t.cross_border, kind)]
            cny = sum(t.amount_fen for t in q if t.currency == "CNY")
            usd = sum(int((Decimal(t.amount_fen) / FX.cny_per_unit["USD"]).to_integral_value()) for t in q if t.currency != "CNY")
            if cny < rule.cny * 100 and usd < rule.usd * 100:
                continue
            key = _h(tx.customer_id, rule.code, tx.direction, iso_date(day))
            revisions[key] = revisions.get(key, 0) + 1
            by_ccy: dict[str, Decimal] = {}
            for t in q:
                by_ccy[t.currency] = by_ccy.get(t.currency, Decimal(0)) + Decimal(t.amount)
            events.append(
                _event(
                    tx.customer_id,
                    key,
                    revisions[key],
                    rule.code,
                    tx.direction,
                    iso_date(day),
                    sum(t.amount_fen for t in q) / 100,
                    {c: float(v) for c, v in by_ccy.items()},
                    [t.tx_id for t in q],
                    tx.tx_id,
                )
            )
    p2 = next(e for e in events if e["customer_id"] == "F-P2" and e["rule_code"] == "0503")
    events.append({**_event("F-P2", p2["report_key"], p2["revision"] + 1, "0503", "out", "2026-11-04", 0.0, {}, [], "P2-2"), "action": "withdraw", "tx_count": 0})
    events.append({**_event("F-P1", _h("F-P1", "0501", "out", "2026-06-01"), 0, "0501", "out", "2026-06-01", 0.0, {}, [], "P1-OLD"), "action": "manual", "tx_count": 0})
    return events


def _event(
    cid: str, key: str, revision: int, code: str, direction: str, day: str, total: float, by_ccy: dict[str, float], tx_ids: list[str], cause: str
) -> dict[str, Any]:
    return {
        "event_type": "large_value_report", "schema_version": 1, "event_id": _h("large_value_report", key, str(revision)), "customer_id": cid,
        "occurred_at": "2026-11-02T01:15:00.000Z", "emitted_at": "2026-11-02T01:15:00.184Z", "model_version": MODEL.version,
        "report_key": key, "revision": revision, "rule_code": code, "direction": direction, "business_date": day,
        "total_cny": total, "totals_by_currency": by_ccy, "tx_ids": tx_ids[-100:], "tx_count": len(tx_ids),
        "thresholds": {"cny": 0, "usd": 0}, "cause": {"kind": "transaction", "ref": cause},
    }  # fmt: skip


ALERT_1 = _h("alert", "F-P2", "1")
ALERT_2 = _h("alert", "F-P2", "2")
ALERTS: list[dict[str, Any]] = [
    {
        "event_type": "suspicious_pattern",
        "customer_id": "F-P2",
        "alert_key": ALERT_1,
        "occurrence": 1,
        "pattern": "structuring",
        "severity": "high",
        "tx_ids": ["P2-3", "P2-4"],
        "metrics": {},
    },
    {
        "event_type": "suspicious_pattern",
        "customer_id": "F-P2",
        "alert_key": ALERT_2,
        "occurrence": 1,
        "pattern": "night_burst",
        "severity": "medium",
        "tx_ids": ["P2-5"],
        "metrics": {},
    },
]
DECISIONS: list[dict[str, Any]] = [
    {"decision_id": "D-1", "customer_id": "F-P2", "decided_at": "2026-11-11T10:00:00+08:00", "decision": "confirmed", "analyst": "an-01", "alert_keys": [ALERT_1],
     "analysis": "客户在凌晨分两笔存入略低于5万元的现金，规避大额报告，疑似拆分交易。", "crime_types": ["1106"], "characteristic_codes": ["0101"]},
    {"decision_id": "D-2", "customer_id": "F-P2", "decided_at": "2026-11-21T10:00:00+08:00", "decision": "confirmed", "analyst": "an-01", "alert_keys": [ALERT_2],
     "analysis": "同一客户再次于凌晨存入现金，与前次报告的行为一致。", "crime_types": ["1106"], "characteristic_codes": ["0101"]},
    {"decision_id": "D-3", "customer_id": "F-P1", "decided_at": "2026-11-21T11:00:00+08:00", "decision": "dismissed", "analyst": "an-02", "alert_keys": []},
]  # fmt: skip


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)
