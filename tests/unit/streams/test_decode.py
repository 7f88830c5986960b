from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factors.money import FxTable
from streams.decode import decode_transaction
from streams.errors import DecodeError

FX = FxTable("2026-11-01", {"CNY": Decimal(1), "USD": Decimal("7.10"), "JPY": Decimal("0.047")})
GOOD = {"tx_id": "t1", "customer_id": "c1", "ts": "2026-11-27T10:00:00+08:00", "direction": "in", "amount": "100.50", "currency": "CNY", "method": "cash"}


def decode(doc: dict | bytes, key: bytes | None = b"c1", max_bytes: int = 1 << 20):
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return decode_transaction(key, raw, FX, max_bytes)


def test_good_transaction_is_typed_and_converted_to_fen():
    tx = decode(GOOD | {"currency": "USD", "amount": 10, "cross_border": True, "counterparty_country": "HK", "channel": "counter"})
    assert (tx.tx_id, tx.customer_id, tx.direction, tx.method, tx.channel) == ("t1", "c1", "in", "cash", "counter")
    assert tx.ts_ms == 1_795_744_800_000 and tx.amount_fen == 7100 and tx.amount == "10" and tx.cross_border


def test_optional_fields_take_their_defaults():
    tx = decode(GOOD)
    assert (tx.channel, tx.cross_border, tx.counterparty_id, tx.account_id) == ("other", False, None, None)
    assert decode(GOOD | {"ts": "2026-11-27T02:00:00Z"}).ts_ms == tx.ts_ms


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        (b'{"tx_id": "t1"', "invalid_json"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b"[1, 2]", "not_an_object"),
        (b'{"amount": NaN}', "invalid_json"),
        ({k: v for k, v in GOOD.items() if k != "tx_id"}, "missing_field"),
        (GOOD | {"tx_id": 12}, "invalid_type"),
        (GOOD | {"tx_id": ""}, "invalid_value"),
        (GOOD | {"tx_id": "x" * 129}, "invalid_value"),
        (GOOD | {"tx_id": "a\tb"}, "invalid_value"),
        (GOOD | {"direction": "sideways"}, "invalid_value"),
        (GOOD | {"method": "barter"}, "invalid_value"),
        (GOOD | {"amount": 0}, "invalid_amount"),
        (GOOD | {"amount": -1}, "invalid_amount"),
        (GOOD | {"amount": 1e308}, "invalid_amount"),
        (GOOD | {"amount": "1e14"}, "invalid_amount"),
        (GOOD | {"amount": "NaN"}, "invalid_amount"),
        (GOOD | {"amount": "Infinity"}, "invalid_amount"),
        (GOOD | {"amount": "12,5"}, "invalid_amount"),
        (GOOD | {"amount": True}, "invalid_amount"),
        (GOOD | {"amount": "0.001"}, "invalid_amount"),  # less than one fen
        (GOOD | {"currency": "XXX"}, "unknown_currency"),
        (GOOD | {"currency": 156}, "invalid_type"),
        (GOOD | {"ts": "2026-11-27T10:00:00"}, "invalid_timestamp"),
        (GOOD | {"ts": "yesterday"}, "invalid_timestamp"),
        (GOOD | {"ts": "9999-01-01T00:00:00Z"}, "invalid_timestamp"),
        (GOOD | {"ts": 1795744800}, "invalid_timestamp"),
        (GOOD | {"cross_border": "yes"}, "invalid_type"),
        (GOOD | {"counterparty_country": "China"}, "invalid_value"),
    ],
)
def test_bad_input_is_refused_with_a_code(doc, code):
    with pytest.raises(DecodeError) as err:
        decode(doc)
    assert err.value.code == code and err.value.detail


def test_key_must_match_the_customer_for_per_customer_order():
    with pytest.raises(DecodeError, match="key_mismatch"):
        decode(GOOD, key=b"other")
    with pytest.raises(DecodeError, match="key_mismatch"):
        decode(GOOD, key=b"")
    assert decode(GOOD, key=None).customer_id == "c1"  # replay from a file has no key to check


def test_oversize_payload_is_refused_before_parsing():
    with pytest.raises(DecodeError, match="payload_too_large"):
        decode(GOOD | {"counterparty_name": "x" * 2000}, max_bytes=1000)


JSON_VALUES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
RANDOM_DOCS = st.dictionaries(st.sampled_from([*sorted(GOOD), "x"]), JSON_VALUES)
ONE_MUTATION = st.builds(lambda k, v: GOOD | {k: v}, st.sampled_from(sorted(GOOD)), st.none() | st.integers() | st.text(max_size=10) | st.floats())
ALL_CODES = {"invalid_json", "missing_field", "invalid_type", "invalid_value", "invalid_amount", "unknown_currency", "invalid_timestamp", "key_mismatch"}


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | st.builds(lambda d: json.dumps(d).encode(), RANDOM_DOCS))
def test_decoder_never_raises_anything_but_a_decode_error(raw):
    try:
        tx = decode_transaction(None, raw, FX, 1 << 20)
    except DecodeError as err:
        assert err.code and err.detail
    else:
        assert tx.amount_fen > 0 and tx.direction in ("in", "out") and 1 <= len(tx.tx_id) <= 128


@settings(max_examples=200, deadline=None)
@given(ONE_MUTATION)
def test_one_mutated_field_either_decodes_or_names_a_code(doc):
    try:
        decode(json.dumps(doc).encode())
    except DecodeError as err:
        assert err.code in ALL_CODES
