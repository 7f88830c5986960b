"""Customers' risk levels for the network stage, from aml.risk-changes.v1 (the customer stage's
output): the exposure rule and the exposure measurements need to know, as of an edge's event
time, whether a counterparty is high-risk (`suspicious` or `prohibited`) and since when.

Every worker needs every customer's level (an edge's counterparty may be anyone), while the risk
topic's partitions are split among the workers of the group: each worker records the changes it
consumes in one Redis hash (`aml:net:risk`: the customers high-risk now and those whose level fell
below within the last `KEEP_DAYS`, for the exposure rule's monitoring period, so it stays small)
and reloads the whole hash every few seconds; the markers its own record sets go into its copy at
once (`RiskView.record`). A customer's changes arrive in the order its
customer stage emitted them (one partition), and the latest is its level now. A change reaches the rules when its worker has recorded
it and the others have reloaded: an edge processed in between is judged without it (the marker
carries its episodes' event times, so an edge *before* the change is never judged with it, and an
edge of an earlier episode judged after a new one began is judged by its own episode).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from factors.patterns.high_risk_exposure import HIGH_LEVELS, episodes
from streams.errors import DecodeError
from streams.network.evaluation import parse_ms

RISK_KEY = "aml:net:risk"  # customer_id -> its newest high-risk episode ("level@since[@until]")
PAST_KEY = "{aml:net:risk}:past"  # customer_id -> its ended earlier episodes, newest first, ';'-separated (RISK_KEY's slot)
SCRIPT = (Path(__file__).parent / "scripts" / "net_risk.lua").read_text()
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
DAY_MS = 86_400_000
KEEP_DAYS = 90  # a fallen customer's marker (and an ended episode in a marker) is kept this long (the longest monitoring period the exposure rule allows)
# delete a marker (its newest episode and its earlier ones) only if its newest is still the value
# read (another worker may have recorded a change since)
PRUNE = (
    "local n = 0 for i = 1, #ARGV, 2 do if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then "
    "n = n + redis.call('HDEL', KEYS[1], ARGV[i]) redis.call('HDEL', KEYS[2], ARGV[i]) end end return n"
)
PRUNE_SHA = hashlib.sha1(PRUNE.encode()).hexdigest()
READ = "return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}"
READ_SHA = hashlib.sha1(READ.encode()).hexdigest()


def _pairs(flat: list[bytes]) -> dict[str, str]:
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


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
    if not current["level"] or "@" in current["level"] or ";" in current["level"] or len(current["level"]) > 64:
        raise DecodeError("invalid_value", "current.level must be a level name (1-64 characters, no '@' or ';': the risk marker is level@since[@until][;...])")
    try:
        ts_ms = parse_ms(occurred) if isinstance(occurred, str) else None
    except ValueError:
        ts_ms = None
    if ts_ms is None:
        raise DecodeError("invalid_timestamp", "occurred_at must be RFC 3339")
    return customer_id, current["level"], ts_ms


async def _eval(redis: Redis, script: str, sha: str, args: list[Any]) -> Any:
    try:
        return await redis.evalsha(sha, 2, RISK_KEY, PAST_KEY, *args)
    except NoScriptError:
        await redis.script_load(script)
        return await redis.evalsha(sha, 2, RISK_KEY, PAST_KEY, *args)


async def record(redis: Redis, changes: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    """Apply risk changes (customer_id, level, event ms), in emission order, to the shared hash;
    returns the markers it set (customer_id -> marker, the last one per customer). Idempotent: a
    redelivered run of changes ends the same."""
    args: list[Any] = [",".join(HIGH_LEVELS), KEEP_DAYS * DAY_MS]
    for customer_id, level, ts_ms in changes:
        args += [customer_id, level, ts_ms]
    if len(args) == 2:
        return {}
    return _pairs(await _eval(redis, SCRIPT, SHA, args))


def stale(markers: dict[str, str], keep_days: float = KEEP_DAYS) -> list[str]:
    """The customers whose level fell below the high levels more than `keep_days` before the
    latest event time any marker carries (the risk topic's clock: event time, not wall-clock).
    A marker's newest episode decides (its earlier ones ended before it began)."""
    newest = {cid: episodes(text)[0] for cid, text in markers.items()}
    fell = {cid: until for cid, (_, _, until) in newest.items() if until is not None}
    if not fell:
        return []
    clock = max(max(since, until or 0) for _, since, until in newest.values())
    return sorted(cid for cid, ms in fell.items() if ms < clock - keep_days * DAY_MS)


async def load(redis: Redis, keep_days: float = KEEP_DAYS) -> dict[str, str]:
    """customer_id -> marker (its high-risk episodes, newest first, ';'-separated: "level@since_ms",
    or "level@since_ms@until_ms" for an episode that ended when its level fell below the high
    levels at until_ms; factors.patterns.high_risk_exposure.episodes) of every customer high-risk
    now or within the last `keep_days`; older markers are deleted from the hash."""
    newest, past = (_pairs(flat) for flat in await _eval(redis, READ, READ_SHA, []))  # both hashes as of one moment
    # a past entry without a newest episode (pruned by a worker of the version before) is ignored:
    # the customer's next high-risk episode replaces it (net_risk.lua)
    markers = {cid: value + (f";{past[cid]}" if cid in past else "") for cid, value in newest.items()}
    old = stale(markers, keep_days)
    if old:
        await _eval(redis, PRUNE, PRUNE_SHA, [x for cid in old for x in (cid, markers.pop(cid).partition(";")[0])])
    return markers


class RiskView:
    """A worker's copy of the shared hash (customer_id -> marker), which the rules read while edges
    are judged. Reloads are serialised: each reads the hash and replaces the copy under one lock, so
    a reload that read the hash *before* a change was recorded can never replace the copy a later
    reload made (the periodic refresh, the risk agent and the edge agent's start all reload; before
    this, a refresh in flight across a record overwrote a fresh copy with a stale one until the
    next refresh, and an edge judged in between missed its counterparty's level)."""

    def __init__(
        self,
        loader: Callable[[Redis], Awaitable[dict[str, str]]] | None = None,
        recorder: Callable[[Redis, list[tuple[str, str, int]]], Awaitable[dict[str, str]]] | None = None,
    ) -> None:
        self.markers: dict[str, str] = {}  # the dict the engine holds: updated in place
        self._loader = loader or load
        self._recorder = recorder or record
        self._lock = asyncio.Lock()

    async def reload(self, redis: Redis) -> int:
        """Replace the copy with the hash as read now; returns how many markers it holds."""
        async with self._lock:
            fresh = await self._loader(redis)
            self.markers.clear()
            self.markers.update(fresh)
            return len(self.markers)

    async def record(self, redis: Redis, changes: list[tuple[str, str, int]]) -> int:
        """Record this worker's risk changes in the shared hash and apply the markers set to the
        copy, under the reloads' lock (a reload either read the hash before the record and replaced
        the copy before it, or reads it after); returns how many markers the copy holds.

        The risk agent did a whole `reload` after every batch of changes: a read of every marker
        for a few changed ones, every batch window (the hash grows with the bank's high-risk
        customers). Other workers' changes still arrive with the periodic reload."""
        async with self._lock:
            self.markers.update(await self._recorder(redis, changes) if changes else {})
            return len(self.markers)


__all__ = ["KEEP_DAYS", "PAST_KEY", "RISK_KEY", "RiskView", "decode_risk_change", "load", "record", "stale"]
