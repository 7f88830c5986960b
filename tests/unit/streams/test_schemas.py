"""The JSON Schemas in streams/schemas/ against the code and docs/events.md.

Events are built by the real builders in streams/events.py and validated as they go on the
wire (encoded, then parsed back); sample inputs are checked against both the schema and the
decoder; the dead-letter error codes are kept in step with streams/decode.py.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from factors.distribution import Distribution
from factors.large_value import DEFAULT_RULES, ReportUpdate
from factors.model import Assessment, CategoryTotals, Contribution, HardRule, PatternHit, Transaction
from factors.money import FxTable
from factors.profile import PeerBaseline
from factors.rating import Alert, Cause, Report, RiskChange
from filings.errors import DEAD_LETTER_CODES as FILINGS_DEAD_LETTER_CODES
from iso20022.errors import CODES as ISO20022_CODES
from streams import events
from streams.decode import decode_transaction
from streams.errors import DecodeError
from streams.events import PAYLOAD_CAP, Source
from streams.sample import BAD_MESSAGES, sample_stream
from streams.settings import Topics

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_DIR = ROOT / "streams" / "schemas"
DOCS = ROOT / "docs" / "events.md"
SCHEMAS = (
    "transaction",
    "customer-profile",
    "risk_change",
    "suspicious_pattern",
    "dead_letter",
    "large_value_report",
    "case-decision",
    "edge",
    "edge_batch",
    "network_detection",
    "peer_baseline",
)
OUTPUTS = ("risk_change", "suspicious_pattern", "dead_letter", "large_value_report", "network_detection", "peer_baseline")

MV = "default-2026.11+3f9c0a1b2d4e"
TS_MS = 1_793_952_000_000  # 2026-11-06T08:00:00Z
FX = FxTable(as_of="2026-11-01", cny_per_unit={"CNY": Decimal(1), "USD": Decimal("7.10"), "JPY": Decimal("0.047")})
MAX_BYTES = 1_048_576


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.v1.schema.json").read_text(encoding="utf-8"))


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(name: str, doc: Any) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator(name).iter_errors(doc)]
    assert not errors, f"{name}: " + "; ".join(errors)


def assert_invalid(name: str, doc: Any) -> None:
    assert not validator(name).is_valid(doc), f"{name} accepted {doc!r}"


def wire(event: events.OutputEvent) -> dict[str, Any]:
    """The event as a consumer sees it: encoded by the builder's own encoder, parsed back."""
    return orjson.loads(event.encode())


def tx(tx_id: str = "T-1", **kw: Any) -> Transaction:
    fields: dict[str, Any] = {
        "customer_id": "C-1",
        "ts_ms": TS_MS,
        "direction": "in",
        "amount_fen": 3_000_000,
        "amount": "30000.00",
        "currency": "CNY",
        "method": "cash",
    }
    fields.update(kw)
    return Transaction(tx_id=tx_id, **fields)


def assessment(level: str = "watch") -> Assessment:
    return Assessment(
        score=30.0,
        level=level,
        contributions=(
            Contribution("behaviour", "cash_volume_30d", 10.0, {"cash_30d_cny": 182000.0, "value": 182000.0, "band_min": 100000.0}),
            Contribution("behaviour", "activity_vs_baseline", 20.0, {"count_7d": 13, "ratio": 6.5, "value": 6.5, "band_min": 6.0}),
        ),
    )


def hit(n_tx: int = 2) -> PatternHit:
    return PatternHit(
        pattern="same_day_cash",
        key="2026-11-06",
        window_start_ms=TS_MS - 7_200_000,
        window_end_ms=TS_MS,
        metrics={"business_date": "2026-11-06", "cash_total_cny": 52000.0, "cash_tx_count": n_tx},
        thresholds={"cash_total_cny": 50000.0},
        tx_ids=tuple(f"T-{i}" for i in range(n_tx)),
        severity="medium",
    )


def baseline() -> PeerBaseline:
    dists = {"in_7d": Distribution.from_counts({0: 15, 9: 3, 40: 22}), "payers_7d": Distribution.from_counts({1: 31, 2: 9})}
    return PeerBaseline("individual:retail", "pb-20762-5c1e9a07", 41, 1_283_550.0, 6.8, {"as_of_day": 20762}, dists)


def test_a_peer_baseline_is_keyed_by_group_and_version_and_its_histograms_give_back_the_quantiles() -> None:
    b = baseline()
    event = events.peer_baseline(b, MV)
    doc = wire(event)
    assert_valid("peer_baseline", doc)
    assert event.key == "individual:retail|pb-20762-5c1e9a07" and doc["as_of_date"] == "2026-11-05"
    for metric, d in b.distributions.items():  # what an auditor recomputes a relative threshold from
        assert Distribution.from_counts(tuple(pair) for pair in doc["distributions"][metric]).quantile(0.9) == d.quantile(0.9)
    assert_invalid("peer_baseline", {**doc, "customer_id": "C-1"})
    assert_invalid("peer_baseline", {**doc, "distributions": {"in_7d": [[1]]}})


def source(value: bytes | None, key: bytes | None = b"C-1", offset: int = 42) -> Source:
    return Source(topic="aml.transactions.v1", partition=3, offset=offset, key=key, value=value)


# ---- the schema files themselves -------------------------------------------------------------------


def test_every_schema_file_is_expected() -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(f"{n}.v1.schema.json" for n in SCHEMAS)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    doc = schema(name)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == f"https://amlstream.dev/schemas/{name}.v1.schema.json"
    assert doc["title"] and doc["description"]
    for field, spec in doc["properties"].items():
        described = "description" in spec or "description" in doc.get("$defs", {}).get(spec.get("$ref", "#/$defs/").split("/")[-1], {})
        assert described, f"{name}.{field} has no description"


@pytest.mark.parametrize("name", OUTPUTS)
def test_output_schemas_are_closed_and_share_the_common_fields(name: str) -> None:
    doc = schema(name)
    assert doc["additionalProperties"] is False
    common = ["event_type", "schema_version", "event_id", "customer_id", "occurred_at", "emitted_at", "model_version"]
    assert doc["required"][: len(common)] == common
    # every property is required: always, or (network_detection) by its kind
    assert set(doc["required"]) | set(doc.get("then", {}).get("required", [])) | set(doc.get("else", {}).get("required", [])) == set(doc["properties"])
    assert doc["properties"]["event_type"] == {"const": name, "description": doc["properties"]["event_type"]["description"]}
    assert doc["properties"]["schema_version"]["const"] == events.SCHEMA_VERSION


@pytest.mark.parametrize("name", ["transaction", "customer-profile"])
def test_input_schemas_allow_extra_fields(name: str) -> None:
    assert schema(name)["additionalProperties"] is True


# ---- events built by streams/events.py ----------------------------------------------------------


def change(t: Transaction, previous: dict | None, current: Assessment, kind: str = "transaction") -> RiskChange:
    return RiskChange(Cause(kind, t.tx_id), t.ts_ms, previous, current)


def alert(t: Transaction, h: PatternHit, occurrence: int = 1) -> Alert:
    return Alert(h, t, "a" * 32, occurrence, t.ts_ms)


def test_risk_change_first_rating() -> None:
    event = events.risk_change("C-1", change(tx(), None, assessment()), MV)
    doc = wire(event)
    assert_valid("risk_change", doc)
    assert doc["previous"] is None


def test_risk_change_level_move() -> None:
    moved = change(tx(counterparty_country="HK", cross_border=True), {"level": "normal", "score": 10.0}, assessment("suspicious"))
    doc = wire(events.risk_change("C-1", moved, MV))
    assert_valid("risk_change", doc)
    assert doc["previous"] == {"level": "normal", "score": 10.0}


def test_risk_change_with_no_contributions() -> None:
    empty = Assessment(score=0.0, level="normal", contributions=())
    assert_valid("risk_change", wire(events.risk_change("C-1", change(tx(), None, empty), MV)))


def test_risk_change_with_hard_rules_and_every_cause_kind() -> None:
    floored = Assessment(
        score=60.0, level="prohibited", contributions=(Contribution("customer", "listed", 60.0, {"listed": True}),), hard_rules=(HardRule("listed", "prohibited"),)
    )
    for kind in ("transaction", "profile", "pattern", "config"):
        doc = wire(events.risk_change("C-1", change(tx(), None, floored, kind), MV))
        assert_valid("risk_change", doc)
        assert doc["hard_rules"] == [{"rule": "listed", "min_level": "prohibited"}]


def test_large_value_report() -> None:
    totals = CategoryTotals(3, 5_710_100, 5_000_100, 100_000, (("CNY", 50_001_000), ("USD", 1_000_000)))
    update = ReportUpdate(DEFAULT_RULES[0], "in", 20_400, 2, totals, ("T-1", "T-2"), True)
    doc = wire(events.large_value_report("C-1", Report(tx(), update, "b" * 32), MV))
    assert_valid("large_value_report", doc)
    assert (doc["rule_code"], doc["revision"], doc["business_date"], doc["total_cny"]) == ("0501", 2, "2025-11-08", 57101.0)
    assert doc["totals_by_currency"] == {"CNY": 50001.0, "USD": 1000.0} and doc["usd_equivalent"] == 1000.0
    assert (doc["action"], doc["tx_count"], doc["tx_ids_truncated"]) == ("report", 3, True)
    manual = wire(events.large_value_report("C-1", Report(tx(), replace(update, revision=0, action="manual"), "b" * 32), MV))
    assert_valid("large_value_report", manual)
    assert manual["event_id"] != doc["event_id"]


def test_suspicious_pattern() -> None:
    doc = wire(events.suspicious_pattern("C-1", alert(tx(), hit()), MV))
    assert_valid("suspicious_pattern", doc)


def test_suspicious_pattern_caps_tx_ids_at_100() -> None:
    doc = wire(events.suspicious_pattern("C-1", alert(tx(), hit(n_tx=150), 3), MV))
    assert len(doc["tx_ids"]) == 100 and doc["tx_ids_truncated"] is True
    assert_valid("suspicious_pattern", doc)
    assert wire(events.suspicious_pattern("C-1", alert(tx(), hit(n_tx=100), 3), MV))["tx_ids_truncated"] is False


def test_suspicious_pattern_says_when_the_rule_listed_fewer_legs_than_its_figures_cover() -> None:
    doc = wire(events.suspicious_pattern("C-1", alert(tx(), replace(hit(n_tx=3), tx_ids_truncated=True), 3), MV))
    assert len(doc["tx_ids"]) == 3 and doc["tx_ids_truncated"] is True


def test_dead_letter_utf8_payload() -> None:
    doc = wire(events.dead_letter(source(b'{"tx_id": "T-1", "note": "\xe4\xbd\xa0\xe5\xa5\xbd"}'), "missing_field", "'customer_id' is required", MV))
    assert_valid("dead_letter", doc)
    assert doc["payload_encoding"] == "utf-8" and doc["customer_id"] is None and doc["occurred_at"] is None


def test_dead_letter_non_utf8_payload_is_base64() -> None:
    raw = b"\xff\xfe\x00garbage\x80"
    doc = wire(events.dead_letter(source(raw, key=b"\xffC-1"), "invalid_utf8", "payload is not valid UTF-8", MV))
    assert_valid("dead_letter", doc)
    assert doc["payload_encoding"] == "base64"
    assert base64.b64decode(doc["payload"]) == raw
    assert doc["key"] == "\ufffdC-1"


def test_dead_letter_oversized_payload_is_truncated() -> None:
    raw = b'{"pad": "' + b"x" * (PAYLOAD_CAP + 5000) + b'"}'
    doc = wire(events.dead_letter(source(raw), "payload_too_large", f"{len(raw)} bytes, limit 65536", MV))
    assert_valid("dead_letter", doc)
    assert doc["payload_truncated"] is True
    assert doc["payload_bytes"] == len(raw)
    assert doc["payload_encoding"] == "utf-8"
    assert len(doc["payload"]) == PAYLOAD_CAP


def test_dead_letter_truncation_splitting_a_character_falls_back_to_base64() -> None:
    raw = b"ab" + "你".encode() * (PAYLOAD_CAP // 3 + 10)  # 65536 - 2 is not a multiple of 3: the cap splits a character
    doc = wire(events.dead_letter(source(raw), "payload_too_large", "too large", MV))
    assert_valid("dead_letter", doc)
    assert doc["payload_encoding"] == "base64" and doc["payload_truncated"] is True
    assert base64.b64decode(doc["payload"]) == raw[:PAYLOAD_CAP]


def test_dead_letter_without_value_or_key() -> None:
    event = events.dead_letter(source(None, key=None), "invalid_json", "empty message (no value)", MV)
    doc = wire(event)
    assert_valid("dead_letter", doc)
    assert event.key is None and doc["key"] is None and doc["payload"] == "" and doc["payload_bytes"] == 0


def test_dead_letter_too_late_carries_customer_and_event_time() -> None:
    doc = wire(events.dead_letter(source(b"{}"), "too_late", "event time ... is older than the longest window", MV, "C-1", TS_MS))
    assert_valid("dead_letter", doc)
    assert doc["customer_id"] == "C-1" and doc["occurred_at"] == "2026-11-06T08:00:00.000Z"
    doc["customer_id"] = None
    assert_invalid("dead_letter", doc)


def test_dead_letter_long_detail_is_capped() -> None:
    assert_valid("dead_letter", wire(events.dead_letter(source(b"x"), "invalid_json", "d" * 5000, MV)))


@pytest.mark.parametrize(
    ("payload", "key", "code"),
    [
        (b"x" * (MAX_BYTES + 1), b"C-1", "payload_too_large"),
        (b"\xff\xfe not utf-8", b"C-1", "invalid_utf8"),
        (b'{"tx_id": ', b"C-1", "invalid_json"),
        (None, b"C-1", "invalid_json"),
        (b"[1, 2]", b"C-1", "not_an_object"),
        (b'{"customer_id": "C-1"}', b"C-1", "missing_field"),
        (b'{"customer_id": 17}', b"17", "invalid_type"),
        (b'{"customer_id": " C-1"}', b" C-1", "invalid_value"),
        (b'{"customer_id": "C-1"}', b"C-2", "key_mismatch"),
        (b'{"customer_id": "C-1", "tx_id": "T-1", "ts": "2026-11-06 08:00:00"}', b"C-1", "invalid_timestamp"),
        (b'{"customer_id": "C-1", "tx_id": "T-1", "ts": "2026-11-06T08:00:00Z", "direction": "in", "amount": -1}', b"C-1", "invalid_amount"),
        (
            b'{"customer_id": "C-1", "tx_id": "T-1", "ts": "2026-11-06T08:00:00Z", "direction": "in", "amount": 1, "currency": "XAU"}',
            b"C-1",
            "unknown_currency",
        ),
    ],
)
def test_dead_letters_from_real_decode_errors(payload: bytes | None, key: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_transaction(key, payload, FX, MAX_BYTES)
    err = caught.value
    assert err.code == code
    doc = wire(events.dead_letter(source(payload, key=key), err.code, err.detail, MV, err.customer_id))
    assert_valid("dead_letter", doc)


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("risk_change", lambda: events.risk_change("C-1", change(tx(), None, assessment()), MV)),
        ("suspicious_pattern", lambda: events.suspicious_pattern("C-1", alert(tx(), hit()), MV)),
        ("dead_letter", lambda: events.dead_letter(source(b"{}"), "invalid_json", "x", MV)),
        ("peer_baseline", lambda: events.peer_baseline(baseline(), MV)),
    ],
)
def test_output_schemas_catch_drift(name: str, event: Any) -> None:
    doc = wire(event())
    assert_valid(name, doc)
    assert_invalid(name, {**doc, "unexpected": 1})
    assert_invalid(name, {k: v for k, v in doc.items() if k != "event_id"})
    assert_invalid(name, {**doc, "event_id": doc["event_id"].upper()})
    assert_invalid(name, {**doc, "schema_version": 2})
    assert_invalid(name, {**doc, "emitted_at": "2026-11-06T16:00:00+08:00"})


# ---- input samples: schema and decoder agree ------------------------------------------------------

GOOD_TRANSACTIONS = [
    {"tx_id": "T-1", "customer_id": "C-1", "ts": "2026-11-06T16:00:00+08:00", "direction": "in", "amount": 30000, "currency": "CNY", "method": "cash"},
    {
        "tx_id": "T-2",
        "customer_id": "C-1",
        "account_id": "A-88001",
        "ts": "2026-11-06T08:00:00.123Z",
        "direction": "out",
        "amount": "12500.50",
        "currency": "USD",
        "method": "remittance",
        "channel": "online",
        "cross_border": True,
        "counterparty_id": "CP-9",
        "counterparty_name": "Some Trading Ltd",
        "counterparty_bank": "HSBC Hong Kong",
        "counterparty_country": "HK",
        "producer_extra": {"batch": 7},
    },
    {
        "tx_id": "T-3",
        "customer_id": "C-1",
        "ts": "2026-11-05T23:59:59-05:00",
        "direction": "in",
        "amount": 0.5,
        "currency": "CNY",
        "method": "transfer",
        "channel": None,
        "account_id": None,
    },
    {"tx_id": "T-4", "customer_id": "C-1", "ts": "1990-01-01T14:00:00Z", "direction": "out", "amount": 1e13, "currency": "CNY", "method": "other"},
]

_T = GOOD_TRANSACTIONS[0]
BAD_TRANSACTIONS = {
    "missing tx_id": {k: v for k, v in _T.items() if k != "tx_id"},
    "direction sideways": {**_T, "direction": "sideways"},
    "amount -1": {**_T, "amount": -1},
    "amount 0": {**_T, "amount": 0},
    "amount as negative string": {**_T, "amount": "-1"},
    "amount above 1e13": {**_T, "amount": 1.5e13},
    "amount boolean": {**_T, "amount": True},
    "ts without offset": {**_T, "ts": "2026-11-06T16:00:00"},
    "ts date only": {**_T, "ts": "2026-11-06"},
    "ts before 1990": {**_T, "ts": "1989-12-31T23:59:59Z"},
    "ts epoch number": {**_T, "ts": 1794000000000},
    "currency lowercase": {**_T, "currency": "cny"},
    "method missing": {k: v for k, v in _T.items() if k != "method"},
    "method wire": {**_T, "method": "wire"},
    "channel branch": {**_T, "channel": "branch"},
    "cross_border null": {**_T, "cross_border": None},
    "cross_border string": {**_T, "cross_border": "yes"},
    "tx_id empty": {**_T, "tx_id": ""},
    "tx_id padded": {**_T, "tx_id": " T-1"},
    "tx_id too long": {**_T, "tx_id": "T" * 129},
    "customer_id number": {**_T, "customer_id": 17},
    "counterparty_country lowercase": {**_T, "counterparty_country": "hk"},
    "counterparty_name too long": {**_T, "counterparty_name": "n" * 513},
}


@pytest.mark.parametrize("doc", GOOD_TRANSACTIONS, ids=[d["tx_id"] for d in GOOD_TRANSACTIONS])
def test_good_transactions_pass_schema_and_decoder(doc: dict[str, Any]) -> None:
    assert_valid("transaction", doc)
    decoded = decode_transaction(doc["customer_id"].encode(), orjson.dumps(doc), FX, MAX_BYTES)
    assert decoded.tx_id == doc["tx_id"]


@pytest.mark.parametrize("doc", list(BAD_TRANSACTIONS.values()), ids=list(BAD_TRANSACTIONS))
def test_bad_transactions_fail_schema_and_decoder(doc: dict[str, Any]) -> None:
    assert_invalid("transaction", doc)
    key = doc["customer_id"].encode() if isinstance(doc.get("customer_id"), str) else b"17"
    with pytest.raises(DecodeError):
        decode_transaction(key, orjson.dumps(doc), FX, MAX_BYTES)


def test_transaction_schema_only_accepts_plain_decimal_strings() -> None:
    """Stricter than the decoder (which reads any Decimal string): producers send plain decimals."""
    for amount in ("1e5", "1,000.00", " 100", "+100", ".5", "100."):
        assert_invalid("transaction", {**_T, "amount": amount})


def test_transaction_schema_cannot_see_the_fx_table() -> None:
    """Schema-valid yet rejected: the currency check needs configuration (documented in the schema)."""
    doc = {**_T, "currency": "XAU"}
    assert_valid("transaction", doc)
    assert "FX table" in schema("transaction")["properties"]["currency"]["description"]
    with pytest.raises(DecodeError, match="unknown_currency"):
        decode_transaction(b"C-1", orjson.dumps(doc), FX, MAX_BYTES)


def test_sample_stream_matches_the_schema() -> None:
    good = [(key, value) for key, value in sample_stream(customers=20, days=2, seed=7) if value not in BAD_MESSAGES]
    assert good
    for key, value in good:
        doc = orjson.loads(value)
        assert_valid("transaction", doc)
        assert key == doc["customer_id"].encode()


@pytest.mark.parametrize("value", BAD_MESSAGES)
def test_sample_bad_messages_are_rejected_by_the_schema_unless_only_config_can_tell(value: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_transaction(b"C9001", value, FX, MAX_BYTES)
    if caught.value.code in ("invalid_json", "invalid_utf8"):
        return  # not JSON: nothing for a schema to judge
    doc = orjson.loads(value)
    if caught.value.code == "unknown_currency":
        assert_valid("transaction", doc)  # the FX table is configuration, not schema
    else:
        assert_invalid("transaction", doc)


def test_customer_profiles() -> None:
    full = {
        "customer_id": "C-1",
        "kind": "entity",
        "country": "CN",
        "residence_country": "HK",
        "industry": "F51",
        "pep": False,
        "ownership_opaque": True,
        "products": ["e_banking", "cross_border_remittance", "group_business"],
        "declared_annual_turnover": 12_000_000,
        "onboarded_at": "2018-05-02T09:00:00+08:00",
        "updated_at": "2026-11-01T12:00:00Z",
        "crm_extra": "ignored",
    }
    assert_valid("customer-profile", full)
    assert_valid("customer-profile", {"customer_id": "C-2", "kind": "individual", "updated_at": "2026-11-01T12:00:00Z"})
    assert_invalid("customer-profile", {k: v for k, v in full.items() if k != "kind"})
    assert_invalid("customer-profile", {k: v for k, v in full.items() if k != "updated_at"})
    assert_invalid("customer-profile", {**full, "kind": "trust"})
    assert_invalid("customer-profile", {**full, "products": ["crypto"]})
    assert_invalid("customer-profile", {**full, "products": ["bills", "bills"]})
    assert_invalid("customer-profile", {**full, "pep": "no"})
    assert_invalid("customer-profile", {**full, "declared_annual_turnover": -1})
    assert_invalid("customer-profile", {**full, "updated_at": "2026-11-01T12:00:00"})


def test_large_value_report_contract() -> None:
    report = {
        "event_type": "large_value_report",
        "schema_version": 1,
        "event_id": "0" * 32,
        "customer_id": "C-1",
        "occurred_at": events.iso(TS_MS),
        "emitted_at": events.now_iso(),
        "model_version": MV,
        "report_key": "1" * 32,
        "action": "report",
        "revision": 2,
        "rule_code": "0501",
        "direction": "out",
        "business_date": "2026-11-06",
        "total_cny": 71000.0,
        "totals_by_currency": {"CNY": 50000.0, "USD": 2957.75},
        "usd_equivalent": 2957.75,
        "tx_ids": ["T-1", "T-2", "T-3"],
        "tx_ids_truncated": False,
        "tx_count": 3,
        "thresholds": {"cny": 50000, "usd": 10000},
        "cause": {"kind": "transaction", "ref": "T-3"},
    }
    assert_valid("large_value_report", report)
    assert_invalid("large_value_report", {**report, "rule_code": "0505"})
    assert_invalid("large_value_report", {**report, "revision": -1})
    assert_invalid("large_value_report", {**report, "action": "delete"})
    assert_invalid("large_value_report", {**report, "business_date": "2026-11-31"})
    assert_invalid("large_value_report", {**report, "totals_by_currency": {"usd": 1.0}})
    assert_invalid("large_value_report", {**report, "tx_ids": [f"T-{i}" for i in range(101)]})


# ---- consistency with decode.py, engine.py and the docs ------------------------------------------


def _decode_codes() -> set[str]:
    source_text = (ROOT / "streams" / "decode.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'DecodeError\(\s*"([a-z0-9_]+)"', source_text))
    assert codes, "no DecodeError codes found in streams/decode.py"
    return codes


def _docstring_codes() -> set[str]:
    source_text = (ROOT / "streams" / "decode.py").read_text(encoding="utf-8")
    listed = re.search(r"Error codes[^:]*:(.*?)\.\n", source_text, re.S)
    assert listed, "streams/decode.py docstring no longer lists its error codes"
    return {c.strip() for c in listed.group(1).split(",")}


def _engine_codes() -> set[str]:
    source_text = (ROOT / "streams" / "engine.py").read_text(encoding="utf-8")
    return set(re.findall(r'dead_letter\([^()]*?,\s*"([a-z0-9_]+)"', source_text))


def test_every_decode_error_code_is_in_the_dead_letter_schema() -> None:
    enum = set(schema("dead_letter")["properties"]["error_code"]["enum"])
    assert _decode_codes() <= enum, f"missing from dead_letter error_code enum: {sorted(_decode_codes() - enum)}"
    assert _engine_codes() <= enum, f"missing from dead_letter error_code enum: {sorted(_engine_codes() - enum)}"


def test_dead_letter_enum_is_exactly_the_documented_codes() -> None:
    enum = schema("dead_letter")["properties"]["error_code"]["enum"]
    assert len(enum) == len(set(enum))
    assert set(enum) == _docstring_codes() | _engine_codes() | set(FILINGS_DEAD_LETTER_CODES) | set(ISO20022_CODES)
    assert _decode_codes() == _docstring_codes()


def test_every_error_code_is_documented() -> None:
    table = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    missing = set(schema("dead_letter")["properties"]["error_code"]["enum"]) - table
    assert not missing, f"error codes without a row in docs/events.md: {sorted(missing)}"


def _doc_examples() -> list[tuple[str, str]]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(r"<!-- example: ([\w-]+) -->\s*```json\n(.*?)```", text, re.S)


def test_docs_have_an_example_of_every_event() -> None:
    assert sorted(name for name, _ in _doc_examples()) == sorted(SCHEMAS)


@pytest.mark.parametrize(("name", "body"), _doc_examples(), ids=[name for name, _ in _doc_examples()])
def test_docs_examples_are_valid(name: str, body: str) -> None:
    assert_valid(name, json.loads(body))


def test_schema_titles_name_the_configured_default_topics() -> None:
    topics = Topics()
    expected = {"transaction": topics.transactions, "customer-profile": topics.customers, **topics.by_event_kind()}
    for name, topic in expected.items():
        assert f"({topic})" in schema(name)["title"], f"{name}: title does not name {topic}"


def test_docs_name_every_schema_and_topic() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in SCHEMAS:
        assert schema(name)["$id"] in text
    for topic in re.findall(r"aml\.[a-z-]+\.v1", " ".join(schema(n)["title"] for n in SCHEMAS)):
        assert f"`{topic}`" in text


def test_network_detection_lists_the_latest_100_transactions_and_says_it_cut() -> None:
    from factors.network.graph import Hop, NetworkHit, Party
    from streams.network.events import detection_events

    ids = tuple(f"T-{i:03d}" for i in range(150))
    parties = (Party("id:C-1", "C-1", "origin", ids), Party("acct:X", None, "intermediary", ids[:3]))
    hit = NetworkHit("network_cycle", "k", 1_000, 2_000, {"hops": 3}, {"min_hops": 3}, parties, ids, "high")
    anchor = Hop("ab" * 8, "id:C-1", "acct:X", 2_000, 100)
    (doc,) = [wire(e) for e in detection_events(hit, anchor, MV)]
    assert doc["tx_ids"] == list(ids[-100:]) and doc["tx_ids_truncated"] is True and len(doc["parties"][0]["tx_ids"]) == 100
    assert_valid("network_detection", doc)
    small = replace(hit, tx_ids=ids[:3], parties=(Party("id:C-1", "C-1", "origin", ids[:3]), parties[1]))
    (short,) = [wire(e) for e in detection_events(small, anchor, MV)]
    assert short["tx_ids_truncated"] is False
    assert_valid("network_detection", short)


def test_network_exposure_measurement_is_a_network_detection_of_its_own_kind() -> None:
    from factors.model import ExposureMeasurement
    from factors.network.exposure import Exposure
    from factors.network.graph import Hop
    from streams.network.events import exposure_event

    ids = tuple(f"T-{i:03d}" for i in range(120))
    exposure = Exposure("C-1", ExposureMeasurement(2_000, 5_000_00, 2, 90), (("acct:X", None), ("id:C-9", "C-9")), ids)
    doc = wire(exposure_event(exposure, Hop("ab" * 8, "id:C-1", "acct:X", 2_000, 100), MV))
    assert doc["kind"] == "exposure" and doc["exposure"]["exposure_cny"] == 5_000 and doc["tx_ids_truncated"] is True
    assert_valid("network_detection", doc)
    assert_invalid("network_detection", {k: v for k, v in doc.items() if k != "exposure"})
    assert_invalid("network_detection", {**doc, "severity": "high"})  # detection fields on an exposure


def test_edge_batches_as_produced_are_valid() -> None:
    from factors.network.edges import edge_messages, edges_for_leg
    from streams.network.batches import Partitioner, pack

    edge = edges_for_leg(tx_id="T-1", customer_id="C-1", ts_ms=TS_MS, direction="out", amount_fen=500_00, method="transfer", counterparty_id="C-2")
    assert edge is not None
    copies = [(key, orjson.dumps(value)) for key, value in edge_messages(edge, events.iso(TS_MS))]
    for _, value, _ in pack(copies, 12, Partitioner()):
        doc = orjson.loads(value)
        assert_valid("edge_batch", doc)
        for copy in doc["copies"]:
            assert_valid("edge", copy)
    assert_invalid("edge_batch", {"event_type": "edge_batch", "schema_version": 1, "partitions": 12, "copies": []})
