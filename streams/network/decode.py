"""Decode aml.edges.v1 messages into `Edge` copies; anything malformed raises DecodeError (dead letter)."""

from __future__ import annotations

from typing import Any

import orjson

from factors.network.edges import Edge
from streams.decode import MAX_MS, MIN_MS
from streams.errors import DecodeError


def _text(obj: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise DecodeError("missing_field", f"{name} is required")
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 1024:
        raise DecodeError("invalid_type", f"{name} must be a non-empty string of at most 1024 characters")
    return value


def _party(obj: dict[str, Any], name: str) -> tuple[str, str | None]:
    side = obj.get(name)
    if not isinstance(side, dict):
        raise DecodeError("missing_field" if side is None else "invalid_type", f"{name} must be an object with party_id")
    return _text(side, "party_id") or "", _text(side, "customer_id", required=False)


def decode_edge(key: bytes | None, value: bytes | None, max_bytes: int = 1_048_576) -> tuple[Edge, str]:
    """(edge, copy) of one message; the key must be the party id of the copy's side."""
    if value is None:
        raise DecodeError("invalid_json", "the message has no value")
    if len(value) > max_bytes:
        raise DecodeError("payload_too_large", f"{len(value)} bytes exceeds {max_bytes}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("invalid_json", str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise DecodeError("not_an_object", "an edge is a JSON object")
    copy = obj.get("key_role")
    if copy not in ("payer", "payee"):
        raise DecodeError("invalid_value", "key_role must be payer or payee")
    edge_id = _text(obj, "edge_id") or ""
    payer, payer_cid = _party(obj, "payer")
    payee, payee_cid = _party(obj, "payee")
    if payer == payee:
        raise DecodeError("invalid_value", "payer and payee are the same party")
    ts_ms, fen = obj.get("ts_ms"), obj.get("amount_fen")
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool) or not MIN_MS <= ts_ms < MAX_MS:
        raise DecodeError("invalid_timestamp", "ts_ms must be epoch milliseconds from 1990-01-01T14:00Z to 2099-12-31T10:00Z")
    if not isinstance(fen, int) or isinstance(fen, bool) or not 0 < fen <= 10**15:
        raise DecodeError("invalid_amount", "amount_fen must be a positive integer number of fen")
    if key is not None and key.decode("utf-8", "replace") != (payer if copy == "payer" else payee):
        raise DecodeError("key_mismatch", f"the key must be the {copy}'s party_id")
    edge = Edge(
        edge_id=edge_id,
        payer=payer,
        payee=payee,
        ts_ms=ts_ms,
        amount_fen=fen,
        tx_id=_text(obj, "tx_id") or "",
        leg_customer_id=_text(obj, "leg_customer_id") or "",
        method=_text(obj, "method", required=False) or "other",
        payer_customer_id=payer_cid,
        payee_customer_id=payee_cid,
        peer_group=_text(obj, "peer_group", required=False),
        counterparty_name_id=_text(obj, "counterparty_name_id", required=False),
    )
    return edge, copy
