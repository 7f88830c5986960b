"""Decode aml.edges.v1 messages into `Edge` copies: a keyed single copy (edge.v1) or an edge batch
(edge_batch.v1, streams.network.batches). Anything malformed raises DecodeError (a dead letter): a
whole message when its envelope is, one copy when only that copy is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from factors.network.edges import Edge
from streams.decode import ID_MAX, MAX_MS, MIN_MS
from streams.errors import DecodeError
from streams.events import Source
from streams.network.batches import Partitioner

_partition_of = Partitioner()
EDGE_ID = re.compile(r"[0-9a-f]{32}")  # edge.v1.schema.json; the state stores "eid|fen|other", so a '|' would break every later read of the account


@dataclass(frozen=True, slots=True)
class CopyOf:
    """Where a decoded copy came from: its message, and for a copy of an edge batch its own JSON
    object. The copy's own Source (what its dead letter names) is built only when a dead letter
    needs it: encoding every copy back to JSON was 6 % of the network worker's CPU (py-spy,
    2026-12-01), for the few copies that ever become dead letters."""

    message: Source
    item: Any = None  # the copy as decoded from an edge batch's `copies`
    batched: bool = False  # False: the message is a single copy

    def source(self) -> Source:
        """The copy as a message of its own: the batch's topic, partition and offset, its owner's
        party id as key and its own JSON as payload (a single copy: the message itself)."""
        if not self.batched:
            return self.message
        owner = _owner(self.item)
        src = self.message
        return Source(src.topic, src.partition, src.offset, owner.encode() if owner else None, orjson.dumps(self.item), src.reference_ms)


def _text(obj: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise DecodeError("missing_field", f"{name} is required")
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 1024:
        raise DecodeError("invalid_type", f"{name} must be a non-empty string of at most 1024 characters")
    return value


def _tx_id(obj: dict[str, Any]) -> str:
    """The leg's tx_id: printable, as the customer stage's decoder requires (the state stores a ',' in it as a control character)."""
    tx_id = _text(obj, "tx_id") or ""
    if not tx_id.isprintable() or len(tx_id) > ID_MAX:
        raise DecodeError("invalid_value", f"tx_id must be 1-{ID_MAX} printable characters (edge.v1.schema.json)")
    return tx_id


def _party(obj: dict[str, Any], name: str) -> tuple[str, str | None]:
    side = obj.get(name)
    if not isinstance(side, dict):
        raise DecodeError("missing_field" if side is None else "invalid_type", f"{name} must be an object with party_id")
    return _text(side, "party_id") or "", _text(side, "customer_id", required=False)


def _parse(value: bytes | None, max_bytes: int) -> Any:
    if value is None:
        raise DecodeError("invalid_json", "the message has no value")
    if len(value) > max_bytes:
        raise DecodeError("payload_too_large", f"{len(value)} bytes exceeds {max_bytes}")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("invalid_json", str(exc)[:200]) from None


def decode_message(src: Source, check_keys: bool = True, max_bytes: int = 1_048_576) -> tuple[list[tuple[Edge, str, CopyOf]], list[tuple[Source, DecodeError]]]:
    """The copies of one message, each with where it came from (`CopyOf.source()`: the Source a
    dead letter of it names), and the copies (or the whole message) refused, each with its error.

    A copy of an edge batch is named by the batch's topic, partition and offset, its owner's party
    id as key and its own JSON as payload. `check_keys`: a single copy's key must be its owner;
    a batched copy's owner must belong to the message's partition (`partitions` as produced)."""
    try:
        obj = _parse(src.value, max_bytes)
        if not isinstance(obj, dict) or obj.get("event_type") != "edge_batch":
            edge, copy = _edge_of(obj)
            if check_keys and (src.key or b"").decode("utf-8", "replace") != edge.party(copy):
                raise DecodeError("key_mismatch", f"the key must be the {copy}'s party_id")
            return [(edge, copy, CopyOf(src))], []
        partitions, copies = obj.get("partitions"), obj.get("copies")
        if obj.get("schema_version") != 1:
            raise DecodeError("invalid_value", "edge_batch schema_version must be 1")
        if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1 or not isinstance(copies, list):
            raise DecodeError("invalid_type", "edge_batch needs partitions (an integer >= 1) and copies (an array)")
    except DecodeError as err:
        return [], [(src, err)]
    good: list[tuple[Edge, str, CopyOf]] = []
    refused: list[tuple[Source, DecodeError]] = []
    for item in copies:
        try:
            edge, copy = _edge_of(item)
            if check_keys and _partition_of(edge.party(copy), partitions) != src.partition:
                raise DecodeError("key_mismatch", f"the {copy}'s party belongs to another partition of {partitions}, not {src.partition}")
        except DecodeError as err:
            refused.append((CopyOf(src, item, batched=True).source(), err))
        else:
            good.append((edge, copy, CopyOf(src, item, batched=True)))
    return good, refused


def _owner(item: Any) -> str | None:
    """The owner's party id of a copy, as far as it can be read (for naming a refused copy)."""
    if isinstance(item, dict) and item.get("key_role") in ("payer", "payee"):
        side = item.get(item["key_role"])
        if isinstance(side, dict) and isinstance(side.get("party_id"), str):
            return side["party_id"]
    return None


def _edge_of(obj: Any) -> tuple[Edge, str]:
    if not isinstance(obj, dict):
        raise DecodeError("not_an_object", "an edge is a JSON object")
    copy = obj.get("key_role")
    if copy not in ("payer", "payee"):
        raise DecodeError("invalid_value", "key_role must be payer or payee")
    edge_id = _text(obj, "edge_id") or ""
    if not EDGE_ID.fullmatch(edge_id):
        raise DecodeError("invalid_value", "edge_id must be 32 lowercase hex characters")
    payer, payer_cid = _party(obj, "payer")
    payee, payee_cid = _party(obj, "payee")
    if payer == payee:
        raise DecodeError("invalid_value", "payer and payee are the same party")
    ts_ms, fen = obj.get("ts_ms"), obj.get("amount_fen")
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool) or not MIN_MS <= ts_ms < MAX_MS:
        raise DecodeError("invalid_timestamp", "ts_ms must be epoch milliseconds from 1990-01-01T14:00Z to 2099-12-31T10:00Z")
    if not isinstance(fen, int) or isinstance(fen, bool) or not 0 < fen <= 10**15:
        raise DecodeError("invalid_amount", "amount_fen must be a positive integer number of fen")
    edge = Edge(
        edge_id=edge_id,
        payer=payer,
        payee=payee,
        ts_ms=ts_ms,
        amount_fen=fen,
        tx_id=_tx_id(obj),
        leg_customer_id=_text(obj, "leg_customer_id") or "",
        method=_text(obj, "method", required=False) or "other",
        payer_customer_id=payer_cid,
        payee_customer_id=payee_cid,
        peer_group=_text(obj, "peer_group", required=False),
        counterparty_name_id=_text(obj, "counterparty_name_id", required=False),
        retracted_by=_retraction(obj),
    )
    return edge, copy


def _retraction(obj: dict[str, Any]) -> str | None:
    """`retracted_by` of a retraction (`action: "retract"`: the reversal's tx_id), None for an edge."""
    action = obj.get("action", "edge")
    if action == "edge":
        return None
    if action != "retract":
        raise DecodeError("invalid_value", "action must be edge or retract")
    retracted_by = _text(obj, "retracted_by") or ""
    if not retracted_by.isprintable() or len(retracted_by) > ID_MAX:
        raise DecodeError("invalid_value", f"retracted_by must be 1-{ID_MAX} printable characters (edge.v1.schema.json)")
    return retracted_by
