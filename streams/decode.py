"""Validate raw input messages into typed records; anything else is a DecodeError with a code.

Error codes (documented in docs/events.md): payload_too_large, invalid_utf8, invalid_json,
not_an_object, missing_field, invalid_type, invalid_value, invalid_amount, unknown_currency,
invalid_timestamp, key_mismatch.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from factors.iso_codes import is_country
from factors.model import CHANNELS, METHODS, TX_TYPES, Transaction
from factors.money import PLAIN_DECIMAL, FxTable, minor_unit_problem
from factors.profile import FLAGS, Profile
from streams.errors import DecodeError

MAX_AMOUNT = Decimal("1e13")
MIN_YEAR, MAX_YEAR = 1990, 2100  # as written (the schemas' pattern)
# and as an instant: its date is within 1990-2099 in every time zone (UTC-14 to UTC+14), the
# years a business date, a filing (PBoC HTDT) and the calendars can carry
MIN_MS = 631_202_400_000  # 1990-01-01T14:00:00Z
MAX_MS = 4_102_394_400_000  # 2099-12-31T10:00:00Z, excluded
ID_MAX = 128
MAX_ACCOUNTS = 1_000


class RejectedRecord(bytes):
    """A record the file reader already knows is bad (a CSV row with more cells than its header):
    its bytes as read, and the DecodeError it dead-letters with when decoded."""

    error: DecodeError

    def __new__(cls, raw: bytes, error: DecodeError) -> RejectedRecord:
        record = super().__new__(cls, raw)
        record.error = error
        return record


def json_object(line: bytes) -> dict[str, Any]:
    """One line of an input file as a JSON object; ValueError with the reason ("not JSON (...)",
    "not a JSON object but list") for a tool to name with its file and line."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"not a JSON object but {type(doc).__name__}")
    return doc


def parse_json(value: bytes | None, max_bytes: int) -> dict[str, Any]:
    if isinstance(value, RejectedRecord):
        raise value.error
    if value is None:
        raise DecodeError("invalid_json", "empty message (no value)")
    if len(value) > max_bytes:
        raise DecodeError("payload_too_large", f"{len(value)} bytes, limit {max_bytes}")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("invalid_utf8", "payload is not valid UTF-8") from exc
        raise DecodeError("invalid_json", str(exc)) from exc
    if not isinstance(doc, dict):
        raise DecodeError("not_an_object", f"expected a JSON object, got {type(doc).__name__}")
    return doc


def _id(doc: dict[str, Any], field: str, *, required: bool, customer_id: str | None = None) -> str | None:
    value = doc.get(field)
    if value is None:
        if required:
            raise DecodeError("missing_field", f"'{field}' is required", customer_id)
        return None
    if not isinstance(value, str):
        raise DecodeError("invalid_type", f"'{field}' must be a string, got {type(value).__name__}", customer_id)
    if not 1 <= len(value) <= ID_MAX or not value.isprintable() or value != value.strip():
        raise DecodeError("invalid_value", f"'{field}' must be 1-{ID_MAX} printable characters without surrounding spaces", customer_id)
    return value


def _text(doc: dict[str, Any], field: str, customer_id: str) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 512:
        raise DecodeError("invalid_type", f"'{field}' must be a string of at most 512 characters", customer_id)
    return value


# RFC 3339 section 5.6 date-time: 'T' (or 't'), seconds, an optional fraction, 'Z' (or 'z') or ±hh:mm.
# Python's fromisoformat alone also reads ISO 8601 forms RFC 3339 excludes (a space for 'T', the basic
# format 20261102T110000+0800, week dates, offsets with seconds or without minutes).
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def parse_timestamp(value: Any, field: str, customer_id: str | None = None) -> int:
    """RFC 3339 date-time with a UTC offset ('Z' or ±hh:mm), its date within 1990-2099 in every
    time zone (MIN_MS..MAX_MS) -> epoch milliseconds."""
    if value is None:
        raise DecodeError("missing_field", f"'{field}' is required", customer_id)
    if not isinstance(value, str):
        raise DecodeError("invalid_timestamp", f"'{field}' must be an RFC 3339 string", customer_id)
    if not RFC3339.fullmatch(value):
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?", value):
            raise DecodeError("invalid_timestamp", f"'{field}' has no UTC offset: {value[:64]!r}", customer_id)
        raise DecodeError("invalid_timestamp", f"'{field}' is not an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss[.fff] then Z or ±hh:mm): {value[:64]!r}", customer_id)
    try:
        moment = datetime.fromisoformat(value.upper())  # 't' and 'z' are RFC 3339's too
    except ValueError:
        raise DecodeError("invalid_timestamp", f"'{field}' is not a valid date and time: {value[:64]!r}", customer_id) from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise DecodeError("invalid_timestamp", f"'{field}' year {moment.year} outside {MIN_YEAR}-{MAX_YEAR}", customer_id)
    ms = int(moment.timestamp() * 1000)
    if not MIN_MS <= ms < MAX_MS:
        raise DecodeError(
            "invalid_timestamp", f"'{field}' {value[:64]} outside 1990-01-01T14:00Z to 2099-12-31T10:00Z: its date leaves 1990-2099 in some time zone", customer_id
        )
    return ms


def parse_amount(value: Any, customer_id: str) -> Decimal:
    """`amount` as it may be written: a JSON number, or a plain decimal string (digits, optionally a
    point and digits: no sign, exponent, spaces, separators or underscores); > 0 and <= 1e13.
    Its decimal places are checked against the currency afterwards (check_minor_unit)."""
    if value is None:
        raise DecodeError("missing_field", "'amount' is required", customer_id)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DecodeError("invalid_amount", f"'amount' must be a number or decimal string, got {type(value).__name__}", customer_id)
    if isinstance(value, float) and not math.isfinite(value):
        raise DecodeError("invalid_amount", "'amount' must be finite", customer_id)
    if isinstance(value, str) and (len(value) > 64 or not PLAIN_DECIMAL.fullmatch(value)):
        raise DecodeError("invalid_amount", f"'amount' must be a plain decimal string such as \"50000.00\" (digits and one point), got {value[:64]!r}", customer_id)
    amount = Decimal(value) if isinstance(value, (int, str)) else Decimal(repr(value))
    if amount <= 0:
        raise DecodeError("invalid_amount", f"'amount' must be > 0, got {amount}", customer_id)
    if amount > MAX_AMOUNT:
        shown = value[:64] if isinstance(value, str) else repr(value)  # as given: a rounded 1.00000e+13 would look equal to the limit
        raise DecodeError("invalid_amount", f"'amount' {shown} exceeds the limit {MAX_AMOUNT:f}", customer_id)
    return amount


def check_minor_unit(value: Any, currency: str, customer_id: str) -> None:
    """An amount with more decimal places than its currency's minor unit (CNY "25000.005", JPY
    "100.5") is refused, never rounded: rounding could move a total across a reporting line."""
    problem = minor_unit_problem(value, currency)
    if problem is not None:
        raise DecodeError("invalid_amount", f"'amount' {problem}", customer_id)


def _choice(doc: dict[str, Any], field: str, allowed: frozenset[str], default: str | None, customer_id: str) -> str:
    value = doc.get(field)
    if value is None:
        if default is None:
            raise DecodeError("missing_field", f"'{field}' is required", customer_id)
        return default
    if value not in allowed:
        raise DecodeError("invalid_value", f"'{field}' must be one of {', '.join(sorted(allowed))}, got {str(value)[:32]!r}", customer_id)
    return value


def decode_transaction(key: bytes | None, value: bytes | None, fx: FxTable, max_bytes: int) -> Transaction:
    """A raw `aml.transactions.v1` message -> Transaction, or DecodeError."""
    doc = parse_json(value, max_bytes)
    customer_id = _id(doc, "customer_id", required=True)
    assert customer_id is not None
    if key is not None and key != customer_id.encode():
        raise DecodeError("key_mismatch", "message key differs from customer_id (per-customer order needs key = customer_id)", customer_id)
    tx_id = _id(doc, "tx_id", required=True, customer_id=customer_id)
    ts_ms = parse_timestamp(doc.get("ts"), "ts", customer_id)
    direction = _choice(doc, "direction", frozenset(("in", "out")), None, customer_id)
    amount = parse_amount(doc.get("amount"), customer_id)
    currency = doc.get("currency")
    if currency is None:
        raise DecodeError("missing_field", "'currency' is required", customer_id)
    if not isinstance(currency, str):
        raise DecodeError("invalid_type", "'currency' must be a string", customer_id)
    if currency not in fx:
        raise DecodeError("unknown_currency", f"currency {currency[:8]!r} is not in the FX table (as of {fx.as_of})", customer_id)
    check_minor_unit(doc["amount"], currency, customer_id)
    amount_fen = fx.to_fen(amount, currency)
    if amount_fen <= 0:
        raise DecodeError("invalid_amount", f"'amount' {amount} {currency} is less than one fen", customer_id)
    cross_border = doc.get("cross_border", False)
    if not isinstance(cross_border, bool):
        raise DecodeError("invalid_type", "'cross_border' must be a boolean", customer_id)
    country = _country(doc, "counterparty_country", customer_id)
    tx_type = _choice(doc, "tx_type", TX_TYPES, "payment", customer_id)
    original_tx_id = _id(doc, "original_tx_id", required=tx_type in ("reversal", "correction", "return"), customer_id=customer_id)
    if original_tx_id is not None and original_tx_id == tx_id:
        raise DecodeError("invalid_value", "'original_tx_id' must name another leg than the message's own tx_id", customer_id)
    original_ts = doc.get("original_ts")
    return Transaction(
        tx_id=tx_id,  # type: ignore[arg-type]
        customer_id=customer_id,
        ts_ms=ts_ms,
        direction=direction,  # type: ignore[arg-type]
        amount_fen=amount_fen,
        amount=str(amount),
        currency=currency,
        method=_choice(doc, "method", METHODS, None, customer_id),  # type: ignore[arg-type]
        channel=_choice(doc, "channel", CHANNELS, "other", customer_id),  # type: ignore[arg-type]
        cross_border=cross_border,
        account_id=_id(doc, "account_id", required=False, customer_id=customer_id),
        counterparty_id=_id(doc, "counterparty_id", required=False, customer_id=customer_id),
        counterparty_name=_text(doc, "counterparty_name", customer_id),
        counterparty_bank=_text(doc, "counterparty_bank", customer_id),
        counterparty_country=country,
        counterparty_account=_id(doc, "counterparty_account", required=False, customer_id=customer_id),
        tx_type=tx_type,  # type: ignore[arg-type]
        original_tx_id=original_tx_id,
        original_ts_ms=parse_timestamp(original_ts, "original_ts", customer_id) if original_ts is not None else None,
    )


def _country(doc: dict[str, Any], field: str, customer_id: str) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not is_country(value):
        raise DecodeError("invalid_value", f"'{field}' must be an assigned ISO 3166-1 alpha-2 code (upper case, e.g. CN), got {str(value)[:8]!r}", customer_id)
    return value


def _code(doc: dict[str, Any], field: str, customer_id: str) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise DecodeError("invalid_type", f"'{field}' must be a code of 1-64 printable characters", customer_id)
    return value


def _money_fen(doc: dict[str, Any], field: str, customer_id: str) -> int | None:
    value = doc.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DecodeError("invalid_type", f"'{field}' must be a number (CNY)", customer_id)
    if isinstance(value, str) and (len(value) > 64 or not PLAIN_DECIMAL.fullmatch(value)):
        raise DecodeError("invalid_value", f"'{field}' must be a number or a plain decimal string, got {value[:64]!r}", customer_id)
    try:
        amount = Decimal(value) if isinstance(value, (int, str)) else Decimal(repr(value))
    except InvalidOperation:
        raise DecodeError("invalid_value", f"'{field}' is not a number", customer_id) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise DecodeError("invalid_value", f"'{field}' must be between 0 and 1e13", customer_id)
    return int(amount * 100)


def decode_profile(key: bytes | None, value: bytes | None, max_bytes: int) -> Profile:
    """A raw `aml.customers.v1` message -> Profile, or DecodeError. Unknown industry, occupation
    or product codes are kept (the standard scores them as unknown), never refused."""
    doc = parse_json(value, max_bytes)
    customer_id = _id(doc, "customer_id", required=True)
    assert customer_id is not None
    if key is not None and key != customer_id.encode():
        raise DecodeError("key_mismatch", "message key differs from customer_id", customer_id)
    kind = _choice(doc, "kind", frozenset(("individual", "entity")), None, customer_id)
    flags = {}
    for flag in FLAGS:
        v = doc.get(flag, False)
        if v is None:
            v = False
        if not isinstance(v, bool):
            raise DecodeError("invalid_type", f"'{flag}' must be a boolean", customer_id)
        flags[flag] = v
    products = doc.get("products") or []
    if not isinstance(products, list) or not all(isinstance(p, str) and 1 <= len(p) <= 64 for p in products):
        raise DecodeError("invalid_type", "'products' must be a list of product codes", customer_id)
    onboarded = doc.get("onboarded_at")
    accounts = doc.get("accounts") or []
    if not isinstance(accounts, list) or len(accounts) > MAX_ACCOUNTS or not all(isinstance(a, str) and 1 <= len(a) <= ID_MAX and a.isprintable() for a in accounts):
        raise DecodeError("invalid_type", f"'accounts' must be a list of at most {MAX_ACCOUNTS} account ids", customer_id)
    return Profile(
        customer_id=customer_id,
        kind=kind,  # type: ignore[arg-type]
        updated_ms=parse_timestamp(doc.get("updated_at"), "updated_at", customer_id),
        country=_country(doc, "country", customer_id),
        residence_country=_country(doc, "residence_country", customer_id),
        industry=_code(doc, "industry", customer_id),
        occupation=_code(doc, "occupation", customer_id),
        products=tuple(dict.fromkeys(products)),
        declared_annual_income_fen=_money_fen(doc, "declared_annual_income", customer_id),
        declared_annual_turnover_fen=_money_fen(doc, "declared_annual_turnover", customer_id),
        onboarded_ms=parse_timestamp(onboarded, "onboarded_at", customer_id) if onboarded is not None else None,
        accounts=tuple(dict.fromkeys(accounts)),
        **flags,
    )


def _event_ms(doc: dict[str, Any], field: str, customer_id: str) -> int:
    value = doc.get(field)
    if value is None:
        raise DecodeError("missing_field", f"'{field}' is required", customer_id)
    return parse_timestamp(value, field, customer_id)


def decode_network_event(key: bytes | None, value: bytes | None, max_bytes: int) -> dict[str, Any]:
    """A raw `aml.network-detections.v1` message (the network stage's detection or exposure
    event about one customer) -> its fields with event times as epoch ms, or DecodeError. The
    event is the network stage's own output: checked for what the customer stage relies on."""
    doc = parse_json(value, max_bytes)
    customer_id = _id(doc, "customer_id", required=True)
    assert customer_id is not None
    if key is not None and key != customer_id.encode():
        raise DecodeError("key_mismatch", "message key differs from customer_id", customer_id)
    event_id = _id(doc, "event_id", required=True, customer_id=customer_id)
    kind = _choice(doc, "kind", frozenset(("detection", "exposure")), "detection", customer_id)
    out = {**doc, "customer_id": customer_id, "event_id": event_id, "kind": kind, "occurred_ms": _event_ms(doc, "occurred_at", customer_id)}
    if kind == "exposure":
        exposure = doc.get("exposure")
        if not isinstance(exposure, dict) or not isinstance(exposure.get("exposure_cny"), (int, float)) or not isinstance(exposure.get("counterparties"), int):
            raise DecodeError("invalid_value", "'exposure' must hold exposure_cny and counterparties", customer_id)
        out["exposure"] = {"exposure_cny": exposure["exposure_cny"], "counterparties": exposure["counterparties"], "window_days": int(exposure.get("window_days", 90))}
        return out
    for name in ("pattern", "detection_key", "severity"):
        if not isinstance(doc.get(name), str) or not doc[name]:
            raise DecodeError("missing_field", f"'{name}' is required", customer_id)
    window = doc.get("window")
    if not isinstance(window, dict):
        raise DecodeError("missing_field", "'window' is required", customer_id)
    out["window_start_ms"] = _event_ms(window, "start", customer_id)
    out["window_end_ms"] = _event_ms(window, "end", customer_id)
    for name, kind_ in (("metrics", dict), ("thresholds", dict), ("tx_ids", list), ("parties", list)):
        if not isinstance(doc.get(name), kind_):
            raise DecodeError("invalid_type", f"'{name}' must be a {kind_.__name__}", customer_id)
    return out
