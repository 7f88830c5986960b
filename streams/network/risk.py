"""Customers' risk levels for the network stage, from aml.risk-changes.v1 (the customer stage's
output): the exposure rule and the exposure measurements need to know, as of an edge's event
time, whether a counterparty is high-risk (`suspicious` or `prohibited`) and since when.

Every worker needs every customer's level (an edge's counterparty may be anyone), while the risk
topic's partitions are split among the workers of the group: each worker records the changes it
consumes in one Redis hash (`aml:net:risk`: only the customers high-risk now, so it stays small)
and reloads the whole hash every few seconds. A customer's changes arrive in the order its
customer stage emitted them (one partition), and the latest is its level now. A change reaches the rules when its worker has recorded
it and the others have reloaded: an edge processed in between is judged without it (the marker
carries its event time, so an edge *before* the change is never judged with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from factors.patterns.high_risk_exposure import HIGH_LEVELS
from streams.errors import DecodeError
from streams.network.evaluation import parse_ms

RISK_KEY = "aml:net:risk"
SCRIPT = (Path(__file__).parent / "scripts" / "net_risk.lua").read_text()
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()


def decode_risk_change(value: bytes | None) -> tuple[str, str, int] | None:
    """(customer_id, level, event time ms) of a risk_change message; None for other event types.
    Raises DecodeError for a malformed one."""
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise DecodeError("invalid_json", str(exc)[:200]) from None
    if not isinstance(doc, dict):
        raise DecodeError("not_an_object", "a risk_change is a JSON object")
    if doc.get("event_type") != "risk_change":
        return None
    customer_id, current, occurred = doc.get("customer_id"), doc.get("current"), doc.get("occurred_at")
    if not isinstance(customer_id, str) or not customer_id or not isinstance(current, dict) or not isinstance(current.get("level"), str):
        raise DecodeError("missing_field", "a risk_change needs customer_id and current.level")
    try:
        ts_ms = parse_ms(occurred) if isinstance(occurred, str) else None
    except ValueError:
        ts_ms = None
    if ts_ms is None:
        raise DecodeError("invalid_timestamp", "occurred_at must be RFC 3339")
    return customer_id, current["level"], ts_ms


async def record(redis: Redis, changes: Iterable[tuple[str, str, int]]) -> int:
    """Apply risk changes (customer_id, level, event ms), in emission order, to the shared hash;
    returns how many entries changed. Idempotent: a redelivered run of changes ends the same."""
    args: list[Any] = [",".join(HIGH_LEVELS)]
    for customer_id, level, ts_ms in changes:
        args += [customer_id, level, ts_ms]
    if len(args) == 1:
        return 0
    try:
        return int(await redis.evalsha(SHA, 1, RISK_KEY, *args))
    except NoScriptError:
        await redis.script_load(SCRIPT)
        return int(await redis.evalsha(SHA, 1, RISK_KEY, *args))


async def load(redis: Redis) -> dict[str, str]:
    """customer_id -> "level@since_ms" of every customer high-risk now."""
    out = {}
    for cid, value in (await redis.hgetall(RISK_KEY)).items():
        text = value.decode()  # already the rules' marker, "level@since_ms" (net_risk.lua)
        if text.partition("@")[0] in HIGH_LEVELS:
            out[cid.decode()] = text
    return out


__all__ = ["RISK_KEY", "decode_risk_change", "load", "record"]
