"""Per-customer state in Redis (layout 3), read and written only through the two atomic scripts.

Per batch: `apply_batch` runs for every touched customer (dedup, incremental window totals, day
accumulators, per-item snapshots; a busy customer's items go in chunks so that no script call
runs long), call after call, each sent while the customers of the one before are rated
(`StateStore.apply_parts`); after the batch's events are acknowledged by Kafka, one pipelined
round trip runs `commit_batch` per customer (new rating state, pending snapshots dropped, trail
trimmed), then the batch's counter increments once per batch (`guarded_counters`), then its
checkpoints.

Keys of a customer share a hash tag made from a digest of its id, so any valid id works on
Redis Cluster (the readable id is kept in the state hash): `aml:{<16 hex>}:s` state hash (with
the recent-transaction trail in its field T), `:c` counterparties (last-seen times), `:x<block>`
dedup sets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zlib import crc32

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ConnectionError, NoScriptError, ResponseError

from factors.identity import normalise_account
from factors.model import DAY_FIELDS, WINDOWS, DayTotals, RecentTx, Snapshot, Transaction, Undid, WindowStats
from streams.errors import StateLayoutError
from streams.state.codec import decode_state, encode_state

SCRIPTS = Path(__file__).parent / "scripts"
KEY_PREFIX = "aml"
LAYOUT = "3"  # 3: the rating state `r` in MessagePack (streams.state.codec), was JSON
LAYOUT_KEY = f"{KEY_PREFIX}:layout"
RETAIN_KEY = f"{LAYOUT_KEY}:retain_days"  # the late-arrival window (days) the state was built with
UNRECORDED_RETAIN_DAYS = 90  # what state written before RETAIN_KEY existed counts as built with (the default)
LEVEL_SHARDS = 16
CHUNK = 100  # a busy customer's items per script segment (its chunks follow each other in order)
CALL_ITEMS = 100  # items per script call on a single Redis: bounds how long one call holds it
# (the bench measured 155-265 us of Redis CPU per item: 100 items keep a call near 25 ms)
NW = 10  # metrics per window total
TRAIL_ENTRIES_KEPT = 50_000  # parsed trail lines a store keeps for reuse (~20 MB)
NB = len(DAY_FIELDS)
WINDOW_DAYS = 90  # the longest window: day accumulators are kept at least this long
# A customer's state hash stays listpack-encoded (fields inline, no dictionary entry, key object
# and allocation per field: README › Performance gives the bytes per customer) while its largest
# value, the aggregates array S, is at most the server's hash-max-listpack-value; Redis' default,
# 64 bytes, makes every state hash a hashtable. The project's own Redis configs set this.
STATE_HASH_LISTPACK_VALUE = 8192
GUARD_PREFIX = f"{KEY_PREFIX}:commit-guard:"  # aml:commit-guard:{<tag>}:<token>: a batch's counters were applied
# How long a commit guard lives. A worker retries a failed commit every redis_retry_max_s (5 s)
# at most, for as long as Redis fails, so the guard must outlive the outage after which a retry
# should still find it: 5 minutes cover a failover (Sentinel: 30 s down-after and an election;
# Cluster: 15 s node timeout) or a restart that reloads a few GB, 60 retry gaps at the default
# cap; a retry after a longer outage counts the batch's counters again. Not longer, so the keys
# stay few: commits per second x guard calls per commit (one on a single Redis, one per counter
# hash tag on a cluster) x 300, at 153 B of used_memory a key (104 B MEMORY USAGE): a worker at
# 50 commits a second keeps 15,000 on a single Redis, 2.3 MB. They level out one TTL after a start.
GUARD_TTL_S = 300
SINGLE_REDIS_TAG = "g"  # the guard's hash tag on a single Redis (one call for all counters)
# Redis errors that mean "the server cannot do it now", not "this customer's data is bad"
INFRASTRUCTURE_ERRORS = ("OOM", "BUSY", "LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS", "MISCONF")


def customer_tag(customer_id: str) -> str:
    """`{<16 hex>}`: a digest of the id, so braces or any other character in it cannot empty
    or move the Redis Cluster hash tag."""
    return "{" + hashlib.blake2b(customer_id.encode(), digest_size=8).hexdigest() + "}"


def new_token() -> str:
    """A batch's token: tells its own pending items from a redelivery's."""
    return os.urandom(6).hex()


def state_key(customer_id: str) -> str:
    return f"{KEY_PREFIX}:{customer_tag(customer_id)}:s"


def dedup_key(customer_id: str, block: str | int) -> str:
    """The set of a busy 30-day block's dedup digests (ordinary blocks keep theirs packed in S)."""
    return f"{KEY_PREFIX}:{customer_tag(customer_id)}:x{block}"


def event_time_key(topic: str) -> str:
    return f"{KEY_PREFIX}:eventtime:{{{topic}}}"


RAISE = """
for i = 1, #ARGV, 2 do
  local old = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > old then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 0
"""

# Record the retention a worker starts with unless it is larger than the recorded one (returned
# then, nothing written). ARGV: the worker's retention, the one to assume when none is recorded.
RECORD_RETAIN = """
local recorded = tonumber(redis.call('GET', KEYS[1]) or ARGV[2])
if tonumber(ARGV[1]) > recorded then return recorded end
redis.call('SET', KEYS[1], ARGV[1])
return 0
"""

INSPECT = """
local raw = redis.call('HGET', KEYS[1], 'S')
if not raw then return false end
local S = cmsgpack.unpack(raw)
return {S[2], S[3], S[4], S[5], S[7], S[8], S[10], S[9]}
"""


def customer_keys(customer_id: str) -> list[str]:
    """State hash and counterparty set of a customer (one Redis Cluster slot; its dedup sets share it)."""
    tag = customer_tag(customer_id)
    return [f"{KEY_PREFIX}:{tag}:{suffix}" for suffix in ("s", "c")]


def dedup_member(tx_id: str) -> str:
    """A transaction's dedup digest as the script takes it: "<12 hex>:<decimal>" — the first 48
    bits, packed 6 bytes a digest in the state hash for ordinary blocks, and a 62-bit integer for
    the set of a busy block (collisions: under 1e-9 a block at the packed sizes, under 1e-6 for a
    block of 1.5 million digests)."""
    digest = hashlib.blake2b(tx_id.encode(), digest_size=8).digest()
    return f"{digest[:6].hex()}:{int.from_bytes(digest, 'big') >> 2}"


def account_digest(account: str | None) -> str:
    """8 URL-safe characters for an account number (normalised: NFKC, case, spaces, punctuation);
    "" for none. The customer's own accounts and its legs' counterparty accounts meet as these."""
    return counterparty_digest(normalise_account(account)) if account else ""


def counterparty_digest(identity: str) -> str:
    """8 URL-safe characters (48 bits) for a counterparty identity; "" for none."""
    if not identity:
        return ""
    return base64.urlsafe_b64encode(hashlib.blake2b(identity.encode(), digest_size=6).digest()).decode()


def hash_tag(key: str) -> str:
    """The Redis Cluster hash tag of a key: the text between its first `{` and the next `}`.
    ValueError if it has none (the whole key would be hashed: no guard key can share its slot)."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    if end <= start + 1:
        raise ValueError(f"the counter key {key!r} has no hash tag")
    return key[start + 1 : end]


def guard_key(tag: str, token: str) -> str:
    return f"{GUARD_PREFIX}{{{tag}}}:{token}"


def guarded_counter_calls(increments: Sequence[tuple[str, str, int]], token: str, ttl_s: int, *, cluster: bool) -> list[tuple[list[str], list[str]]]:
    """The `guarded_counters` calls that apply (key, field, amount) increments once per `token`:
    (KEYS, ARGV) each. On Redis Cluster one call per hash tag of the counter keys (a call may
    touch one slot only), its guard carrying that tag; on a single Redis one call for all, guard
    tag SINGLE_REDIS_TAG. Increments of one (key, field) are summed, zeros dropped, keys and
    fields kept in their first order. ValueError (cluster) for a counter key without a hash tag."""
    summed: dict[tuple[str, str], int] = {}
    for key, name, amount in increments:
        summed[(key, name)] = summed.get((key, name), 0) + amount
    groups: dict[str, dict[str, int]] = {}  # tag -> counter key -> its index in KEYS
    args: dict[str, list[str]] = {}
    for (key, name), amount in summed.items():
        if not amount:
            continue
        tag = hash_tag(key) if cluster else SINGLE_REDIS_TAG
        keys = groups.setdefault(tag, {})
        index = keys.setdefault(key, len(keys) + 2)
        args.setdefault(tag, [str(ttl_s)]).extend((str(index), name, str(amount)))
    return [([guard_key(tag, token), *keys], args[tag]) for tag, keys in groups.items()]


def level_shard_key(customer_id_or_shard: str | int) -> str:
    """Key of the per-level customer counts that a customer (or a shard number) belongs to."""
    shard = customer_id_or_shard if isinstance(customer_id_or_shard, int) else crc32(customer_id_or_shard.encode()) % LEVEL_SHARDS
    return f"{KEY_PREFIX}:levels:{{s{shard}}}"


@dataclass(frozen=True, slots=True)
class TxItem:
    """A transaction with what the script needs that only Python knows (calendar, digests, FX)."""

    tx: Transaction
    fine: int
    day: int
    hour: int
    flags: str  # c cash, x cross-border, h high-risk country, r round amount, t a return
    counterparty: str  # counterparty_digest(...) or ""
    foreign: str = ""  # "" for CNY, else "<usd cents>:<original amount in thousandths>"
    counterparty_account: str = ""  # account_digest(...) of the counterparty's account, or ""

    def pack(self) -> str:
        t = self.tx
        fields = (
            "T",
            t.tx_id,
            dedup_member(t.tx_id),
            str(t.ts_ms),
            "i" if t.direction == "in" else "o",
            str(t.amount_fen),
            self.flags,
            str(self.fine),
            str(self.day),
            str(self.hour),
            self.counterparty,
            t.currency,
            t.amount,
            self.foreign,
            self.counterparty_account,
        )
        return "\t".join(fields)


@dataclass(frozen=True, slots=True)
class OtherItem:
    """A leg that is no flow of the customer's relationship: `kind` own (between the customer's
    own accounts) or bank (fees, interest). Deduplicated and counted, nothing else."""

    tx: Transaction
    kind: str
    day: int

    def pack(self) -> str:
        return f"O\t{self.tx.tx_id}\t{dedup_member(self.tx.tx_id)}\t{self.kind}\t{self.day}"


@dataclass(frozen=True, slots=True)
class ReversalItem:
    """A reversal or correction of an earlier leg (`tx.original_tx_id`): the original's effect is
    removed everywhere it counted (a correction's amount put in its place). `original_day` and
    `original_fine` come from `tx.original_ts_ms` when the posting system gives it; `source`
    (the input's coordinates, base64 JSON) is kept with the item while its original is unknown."""

    tx: Transaction
    fine: int
    day: int
    hour: int
    flags: str
    foreign: str
    original_day: int | None
    original_fine: int | None
    source: str

    def pack(self) -> str:
        t = self.tx
        assert t.original_tx_id is not None
        fields = (
            "V",
            t.tx_id,
            dedup_member(t.tx_id),
            str(t.ts_ms),
            "i" if t.direction == "in" else "o",
            str(t.amount_fen),
            self.flags,
            str(self.fine),
            str(self.day),
            str(self.hour),
            t.currency,
            t.amount,
            self.foreign,
            t.tx_type,
            t.original_tx_id,
            dedup_member(t.original_tx_id),
            "" if self.original_day is None else str(self.original_day),
            "" if self.original_fine is None else str(self.original_fine),
            self.source,
        )
        return "\t".join(fields)


@dataclass(frozen=True, slots=True)
class ProfileItem:
    profile: Any  # factors.profile.Profile; opaque to the store
    updated_ms: int

    def pack(self) -> str:
        accounts = ",".join(sorted({account_digest(a) for a in getattr(self.profile, "accounts", ()) or ()}))
        return f"P\t{self.updated_ms}\t{accounts}"


@dataclass(frozen=True, slots=True)
class NetworkItem:
    """A network-stage event about this customer (a detection it is a party of, or an exposure
    measurement): deduplicated by its event_id, then rated."""

    event: dict[str, Any]
    day: int

    def pack(self) -> str:
        event_id = self.event["event_id"]
        return f"N\t~N{event_id}\t{dedup_member('~N' + event_id)}\t{self.day}"


@dataclass(frozen=True, slots=True)
class DeletionItem:
    """A tombstone on the customers topic: the profile is deleted. A tombstone has no event time
    of its own: `at_ms` is its record's timestamp (the worker) or the stream's progress where it
    stands (replay), None when unknown."""

    customer_id: str
    at_ms: int | None = None

    def pack(self) -> str:
        return "D"


@dataclass(frozen=True, slots=True)
class PeekItem:
    """A read-only snapshot at the customer's watermark (re-rating without new input)."""

    def pack(self) -> str:
        return "Q"


Item = TxItem | OtherItem | ReversalItem | NetworkItem | ProfileItem | DeletionItem | PeekItem


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: Item
    status: str  # new pend done late stale peek | own bank reversed | orphan twice unmatched differs
    snapshot: Snapshot | None
    corrected: tuple[int, str] | None = None  # new/pend: (fen, amount) a correction that came first put in the leg's place
    undid: Undid | None = None  # a reversal's or correction's: the leg it undid, as the state found it


@dataclass(frozen=True, slots=True)
class CustomerBatch:
    customer_id: str
    state: dict[str, Any]  # the committed rating state (JSON managed by factors.rating)
    trail: tuple[RecentTx, ...]
    results: tuple[ItemResult, ...]
    error: str | None = None  # a per-customer failure (not an infrastructure one): its items are dead-lettered
    expired: tuple[str, ...] = ()  # set-aside waiting reversals, "why\trecord": never (no original within the late-arrival window) or differs (another amount)


@dataclass(frozen=True, slots=True)
class CustomerCommit:
    customer_id: str
    pending_ids: tuple[str, ...]  # tx_ids and "~P<updated_ms>" of the batch's new/pending items
    profile_updated_ms: int | None
    state: dict[str, Any]
    through: tuple[int, int] | None = None  # (sequence, watermark) the batch's items reached; None: all applied so far


def compact_state(state: dict[str, Any], customer_id: str) -> bytes:
    """The rating state as stored (one copy per customer in Redis): without empty entries, in
    the compact form of `streams.state.codec`."""
    return encode_state({k: v for k, v in state.items() if v not in ({}, [], None)}, customer_id)


def pending_id(item: Item) -> str:
    """The id of an item's pending snapshot (dropped when its batch commits)."""
    if isinstance(item, TxItem | ReversalItem):
        return item.tx.tx_id
    if isinstance(item, ProfileItem):
        return f"~P{item.updated_ms}"
    if isinstance(item, DeletionItem):
        return "~D"
    if isinstance(item, NetworkItem):
        return "~N" + item.event["event_id"]
    return ""


def snapshot_of(v: list[int], foreign_text: str) -> Snapshot:
    """A snapshot from apply_batch's reply: the integers (seq, asof, 5 windows x NW metrics, the
    windows' counterparties in then out, active days, previous event, activity start, the day's
    NB metrics, the day or -1) and the day's foreign-currency sums "key:n:fen:usd:milli;..."."""
    windows = {}
    cps = 2 + len(WINDOWS) * NW
    for i, name in enumerate(WINDOWS):
        at = 2 + i * NW
        windows[name] = WindowStats(*v[at : at + 8], v[cps + i], v[cps + len(WINDOWS) + i], v[at + 8], v[at + 9])
    base = cps + 2 * len(WINDOWS)
    active, prev, since = v[base : base + 3]
    foreign: dict[str, tuple[int, int, int, int]] = {}
    if foreign_text:
        for entry in foreign_text.split(";"):
            key, n, fen, usd, milli = entry.split(":")
            foreign[key] = (int(n), int(fen), int(usd), int(milli))
    which = v[base + 3 + NB]  # the day of these totals (an undoing's: its original's day); -1 none
    day = DayTotals(tuple(v[base + 3 : base + 3 + NB]), foreign, which if which >= 0 else None)
    return Snapshot(
        seq=v[0],
        asof_ms=v[1],
        windows=windows,
        tx_day=day.window_stats,
        active_days_90d=active,
        prev_event_ms=prev or None,
        active_since_ms=since or None,
        day=day,
    )


def trail_entry(raw: str) -> RecentTx:
    """One trail line: seq ts dir fen flags day hour cp ccy amount tx_id foreign ref
    (tab-separated; flags v/k/t mark reversals, corrections and returns, `ref` the leg a reversal
    undoes)."""
    seq, ts, direction, fen, flags, day, hour, cp, ccy, amount, tx_id, _, ref = raw.split("\t")
    kind = "v" if "v" in flags else "k" if "k" in flags else "t" if "t" in flags else ""
    return RecentTx(
        int(seq),
        int(ts),
        "in" if direction == "i" else "out",
        int(fen),
        "c" in flags,
        int(day),
        tx_id,
        int(hour),
        "x" in flags,
        "h" in flags,
        "r" in flags,
        cp,
        ccy,
        amount or (f"{int(fen) / 100:.2f}" if ccy == "CNY" else ""),  # CNY amounts are not stored twice
        kind,
        ref,
    )


def parse_trail(text: bytes, known: dict[str, RecentTx] | None = None) -> tuple[RecentTx, ...]:
    """The trail, one entry a line (trail_entry). `known`: entries parsed before, by line (a
    customer's trail comes back with every batch that touches it, mostly the same lines);
    new ones are added to it."""
    if not text:
        return ()
    if known is None:
        return tuple(trail_entry(raw) for raw in text.decode().split("\n"))
    out = []
    for raw in text.decode().split("\n"):
        entry = known.get(raw)
        if entry is None:
            entry = known[raw] = trail_entry(raw)
        out.append(entry)
    return tuple(out)


def _parse_call(
    call: list[tuple[str, list[Item]]],
    reply: Any,
    parsed: dict[str, list[ItemResult]],
    states: dict[str, dict[str, Any]],
    trails: dict[str, bytes],
    errors: dict[str, str],
    expired: dict[str, list[str]],
) -> None:
    """One apply_batch reply into the per-customer accumulators (a busy customer's chunks add up)."""
    per_customer = [reply] * len(call) if isinstance(reply, Exception) else reply
    for (customer_id, items), one in zip(call, per_customer, strict=True):
        if customer_id in errors:
            continue
        if isinstance(one, Exception):
            errors[customer_id] = f"{type(one).__name__}: {str(one)[:300]}"
            continue
        kind = one[0].decode()
        if kind == "layout":
            raise StateLayoutError(_layout_message(one[1].decode()))
        if kind == "error":
            message = one[1].decode()
            if message.startswith(INFRASTRUCTURE_ERRORS):
                raise ConnectionError(f"Redis refused a state update: {message}")  # retried with the batch
            errors[customer_id] = message[:300]
            continue
        _, state_raw, trail_raw, results, expired_raw = one
        expired.setdefault(customer_id, []).extend(e.decode() for e in expired_raw)
        if customer_id not in states:  # the committed state as the first chunk found it
            states[customer_id] = decode_state(state_raw, customer_id) if state_raw else {}
        trails[customer_id] = trail_raw  # the last chunk's trail holds every entry (parsed once, when the customer is complete)
        out = parsed.setdefault(customer_id, [])
        for item, result in zip(items, results, strict=True):
            status = result[0].decode()
            if len(result) == 1:
                out.append(ItemResult(item, status, None))
                continue
            corrected = None
            if status in ("newc", "pendc"):  # a correction that came first (or its redelivery): its amount takes the leg's place
                status, corrected = status[:-1], (result[4], result[5].decode())
            undid = None
            if result[3]:  # an undoing's snapshot names the leg it undid: direction and flags
                direction, flags = result[3].decode().split(",")
                undid = Undid("in" if direction == "i" else "out", "c" in flags, "x" in flags)
            out.append(ItemResult(item, status, snapshot_of(result[1], result[2].decode()), corrected, undid))


def _is_infrastructure(error: ResponseError) -> bool:
    return str(error).startswith(INFRASTRUCTURE_ERRORS)


class _Concurrent:
    """The pipeline methods the store uses, as concurrent calls on a cluster client, at most
    IN_FLIGHT at a time: redis-py's cluster client holds one connection per call in flight and
    refuses more than 100 per node (MaxConnectionsError), and a batch's commit carries hundreds
    of counter increments (peer statistics and distributions)."""

    IN_FLIGHT = 32

    def __init__(self, redis: RedisCluster) -> None:
        self.redis = redis
        self.pending: list[Awaitable[Any]] = []
        self.slots = asyncio.Semaphore(self.IN_FLIGHT)

    def __getattr__(self, name: str) -> Callable[..., None]:
        method = getattr(self.redis, name)

        async def bounded(*args: Any) -> Any:
            async with self.slots:
                return await method(*args)

        return lambda *args: self.pending.append(bounded(*args))


class StateStore:
    """The Redis state of the customer stage.

    `retain_days` bounds late arrival and deduplication (days before the customer's event-time
    watermark); the windows keep their fixed meanings whatever it says. The trail keeps, per
    customer, at most `trail_max` entries and none older than `trail_horizon_ms` before the
    watermark (evidence for the rules; events say when theirs was truncated).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        retain_days: int = 90,
        trail_horizon_ms: int = 72 * 3_600_000,
        trail_max: int = 256,
        dormant_days: int = 180,
        chunk: int = CHUNK,
        call_items: int = CALL_ITEMS,
        guard_ttl_s: int = GUARD_TTL_S,
    ) -> None:
        self.redis = redis
        self.guard_ttl_s = guard_ttl_s
        self.cluster = isinstance(redis, RedisCluster)
        self.chunk = chunk
        self.call_items = call_items
        self._trail_entries: dict[str, RecentTx] = {}  # parsed trail lines, reused across batches (bounded: see apply_parts)
        self.retain_days = retain_days
        self.trail_horizon_ms = trail_horizon_ms
        self.trail_max = trail_max
        self.header = f"{LAYOUT},{retain_days},{max(retain_days, WINDOW_DAYS)},{dormant_days * 86_400_000},{trail_max},{trail_horizon_ms}"
        self.trail_limits = f"{trail_max},{trail_horizon_ms}"
        self._scripts = {name: (SCRIPTS / f"{name}.lua").read_text() for name in ("apply_batch", "commit_batch", "guarded_counters", "sweep")}
        self._sha = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in self._scripts.items()}

    async def _execute(self, fill: Callable[[Any], None]) -> list[Any]:
        """One pipelined round trip (on Redis Cluster, where redis-py refuses scripts in
        pipelines, the same calls sent concurrently, each to its customer's node). Replies that
        are errors come back in the list; a server that lost its script cache (a restart, a new
        node) answers NOSCRIPT: load the scripts and run again, safe because every call is
        idempotent."""
        for attempt in (1, 2):
            if self.cluster:
                calls = _Concurrent(self.redis)
                fill(calls)
                replies = list(await asyncio.gather(*calls.pending, return_exceptions=True))
            else:
                pipe = self.redis.pipeline(transaction=False)
                fill(pipe)
                replies = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                for text in self._scripts.values():
                    await self.redis.script_load(text)  # a cluster client loads it on every primary
                continue
            for r in replies:
                if isinstance(r, Exception) and not (isinstance(r, ResponseError) and not _is_infrastructure(r)):
                    raise r  # connection, timeout, OOM, BUSY ...: the whole batch is retried
            return replies
        raise AssertionError("unreachable")

    async def ensure_layout(self) -> None:
        """Mark a fresh Redis with this layout, or refuse one that holds another (exit 2).

        Layout 1 kept no marker; its per-partition checkpoints are the sign it was there."""
        found = await self.redis.get(LAYOUT_KEY)
        if found is None:
            async for _ in self.redis.scan_iter(match=f"{KEY_PREFIX}:checkpoints:*", count=1000):
                found = b"1"
                break
        if found is None:
            await self.redis.set(LAYOUT_KEY, LAYOUT, nx=True)
        elif found.decode() != LAYOUT:
            raise StateLayoutError(_layout_message(found.decode()))
        await self.ensure_retention(fresh=found is None)

    async def ensure_retention(self, *, fresh: bool = False) -> None:
        """Refuse (StateLayoutError, one line, exit 2) a late-arrival window larger than the one
        the state was built with: the dedup digests and day buckets beyond the old window are
        gone, so a resend of a leg counted then would count again and a late leg would revise its
        day to a partial total. A smaller or equal one is recorded (what lies beyond it goes as
        days move). `fresh`: no state yet, any window is the first. State written before the
        record existed counts as built with UNRECORDED_RETAIN_DAYS."""
        assumed = self.retain_days if fresh else UNRECORDED_RETAIN_DAYS
        recorded = int(await self.redis.eval(RECORD_RETAIN, 1, RETAIN_KEY, str(self.retain_days), str(assumed)))
        if recorded:
            raise StateLayoutError(_retention_message(recorded, self.retain_days))

    def _calls(self, segments: list[tuple[str, Any]], weight: Callable[[Any], int]) -> list[list[tuple[str, Any]]]:
        """Group per-customer segments into script calls: one customer per call on Redis Cluster
        (a call may touch one slot only); on a single Redis as many as fit `call_items` (the first call a fifth of that), in order,
        so a batch costs a handful of commands instead of one per customer."""
        if self.cluster:
            return [[segment] for segment in segments]
        calls: list[list[tuple[str, Any]]] = []
        size = 0
        for segment in segments:
            w = weight(segment[1])
            # the first call is small: the worker waits for it with nothing else to do, later ones
            # are applied while it rates the customers of the one before (apply_parts)
            limit = self.call_items if len(calls) > 1 else max(1, self.call_items // 5)
            if not calls or size + w > limit:
                calls.append([])
                size = 0
            calls[-1].append(segment)
            size += w
        return calls

    async def apply(self, batches: dict[str, list[Item]], token: str | None = None, delivering: str | None = None) -> dict[str, CustomerBatch]:
        """Apply each customer's items in order; return what re-rating needs, per customer in
        the order of `batches` (all of `apply_parts` at once)."""
        done: dict[str, CustomerBatch] = {}
        async with contextlib.aclosing(self.apply_parts(batches, token, delivering)) as parts:
            async for part in parts:
                done.update(part)
        return {customer_id: done[customer_id] for customer_id in batches}

    def _waves(self, segments: list[tuple[str, list[Item]]]) -> list[list[list[tuple[str, list[Item]]]]]:
        """Script calls in waves, each wave one round trip, waves one after another. On a single
        Redis a wave is one call (CALL_ITEMS items of many customers, in order). On Redis Cluster
        (one customer per call, calls sent concurrently) wave k holds every customer's k-th
        chunk, so a busy customer's chunks are applied in order."""
        if not self.cluster:
            return [[call] for call in self._calls(segments, len)]
        waves: list[list[list[tuple[str, list[Item]]]]] = []
        chunk_of: dict[str, int] = {}
        for segment in segments:
            k = chunk_of[segment[0]] = chunk_of.get(segment[0], -1) + 1
            if k == len(waves):
                waves.append([])
            waves[k].append([segment])
        return waves

    async def apply_parts(self, batches: dict[str, list[Item]], token: str | None = None, delivering: str | None = None) -> AsyncIterator[dict[str, CustomerBatch]]:
        """Apply each customer's items in order; yield what re-rating needs, customer by customer
        as their last script call returns ({customer_id: CustomerBatch} per call or wave).

        The next call is sent before a part is yielded, so Redis applies it while the caller rates
        the part: the two sides work at the same time instead of in turn. Outputs do not depend on
        this (a customer's items are applied in order and it is rated once, with all of them).

        `token` names this batch (a fresh one if None); `delivering` the token of this worker's
        previous batch while its outputs are still on their way (pipelined delivery): copies of
        its items are duplicates, not redeliveries. A customer whose update fails for its own
        reasons (not an infrastructure error) comes back with `error` set and no results; the
        other customers are unaffected. Raises StateLayoutError (another layout's state) and the
        connection errors of `_execute` (the caller retries the whole batch: every call is
        idempotent, applied items come back as redeliveries)."""
        if len(self._trail_entries) > TRAIL_ENTRIES_KEPT:
            self._trail_entries.clear()  # simply start again: it refills with the customers of the next batches
        segments = [(c, items[i : i + self.chunk]) for c, items in batches.items() for i in range(0, len(items), self.chunk)]
        waves = self._waves(segments)
        if not waves:
            return
        last_wave = {customer_id: w for w, wave in enumerate(waves) for call in wave for customer_id, _ in call}
        sha = self._sha["apply_batch"]
        token = token or new_token()
        tokens = f"{token},{delivering}" if delivering else token

        def send(wave: list[list[tuple[str, list[Item]]]]) -> asyncio.Future[list[Any]]:
            def fill(pipe: Any) -> None:
                for call in wave:
                    args: list[str] = [self.header, tokens]
                    for customer_id, items in call:
                        # all of a customer's items in one argument: far cheaper to encode than one each
                        args += (customer_id, "\n".join(item.pack() for item in items))
                    pipe.evalsha(sha, len(call), *(state_key(c) for c, _ in call), *args)

            return asyncio.ensure_future(self._execute(fill))

        parsed: dict[str, list[ItemResult]] = {}
        states: dict[str, dict[str, Any]] = {}
        trails: dict[str, bytes] = {}
        errors: dict[str, str] = {}
        expired: dict[str, list[str]] = {}
        in_flight: asyncio.Future[list[Any]] | None = send(waves[0])
        try:
            for w, wave in enumerate(waves):
                assert in_flight is not None
                replies = await in_flight
                in_flight = send(waves[w + 1]) if w + 1 < len(waves) else None
                for call, reply in zip(wave, replies, strict=True):
                    _parse_call(call, reply, parsed, states, trails, errors, expired)
                part = {}
                for call in wave:
                    for customer_id, _ in call:
                        if last_wave[customer_id] != w or customer_id in part:
                            continue
                        if customer_id in errors:
                            part[customer_id] = CustomerBatch(customer_id, {}, (), (), errors[customer_id])
                        else:
                            trail = parse_trail(trails[customer_id], self._trail_entries)
                            gone = tuple(expired.get(customer_id, ()))
                            part[customer_id] = CustomerBatch(customer_id, states[customer_id], trail, tuple(parsed[customer_id]), None, gone)
                yield part
        finally:
            if in_flight is not None:  # the caller stopped early (an error): let the call end, quietly
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await in_flight

    async def commit(
        self,
        commits: Sequence[CustomerCommit],
        level_moves: Sequence[tuple[str, str | None, str]] = (),
        counter_increments: Sequence[tuple[str, str, int]] = (),
        checkpoints: Sequence[tuple[str, str, int]] = (),
        token: str | None = None,
    ) -> int:
        """Commit the customers' batches and move the per-level customer counts, one round trip.

        `level_moves` are (counter key, old level, new level); the counts back the
        customers-by-level gauge and are sharded so that no single key serialises workers.
        `counter_increments` are (key, field, amount) of other sharded statistics (peer groups);
        `checkpoints` (key, partition, offset) record the last input offset the batch covers.

        The pipeline: the customers' `commit_batch` calls (idempotent), then the counters through
        `guarded_counters` (per hash tag on Redis Cluster: `guarded_counter_calls`), which apply
        them only if the guard `aml:commit-guard:{<tag>}:<token>` was not set yet (it lives
        `guard_ttl_s`), then the checkpoints, last, after what they vouch for. A retry of this call
        with the same `token` (Redis ran part or all of the pipeline, the reply was lost; or the
        scripts were reloaded after NOSCRIPT) counts nothing twice. `token` names the batch (the
        same for every retry of its commit, see `BatchResult.commit_token`); None: a fresh one, so
        only the reruns inside this call are covered. Returns how many guarded calls found their
        counters applied already.
        """
        increments = [*counter_increments]
        for key, old, new in level_moves:
            if old is not None:
                increments.append((key, old, -1))
            increments.append((key, new, 1))
        guarded = guarded_counter_calls(increments, token or new_token(), self.guard_ttl_s, cluster=self.cluster)
        if not commits and not checkpoints and not guarded:
            return 0
        sha, guard_sha = self._sha["commit_batch"], self._sha["guarded_counters"]
        calls = self._calls([(c.customer_id, c) for c in commits], lambda c: 1 + len(c.pending_ids))

        def fill(pipe: Any) -> None:
            for call in calls:
                args: list[str | bytes] = [self.trail_limits]
                for _, c in call:
                    through = "" if c.through is None else f"{c.through[0]},{c.through[1]}"
                    profile = "" if c.profile_updated_ms is None else str(c.profile_updated_ms)
                    args += ("\t".join(c.pending_ids), profile, compact_state(c.state, c.customer_id), through)
                pipe.evalsha(sha, len(call), *(state_key(cid) for cid, _ in call), *args)
            for keys, argv in guarded:
                pipe.evalsha(guard_sha, len(keys), *keys, *argv)
            for key, partition, offset in checkpoints:
                pipe.hset(key, partition, offset)  # last, after the state it vouches for

        replies = await self._execute(fill)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply  # a commit that fails for one customer is a bug: stop, redeliver
        return sum(1 for reply in replies[len(calls) : len(calls) + len(guarded)] if not reply)

    async def record_event_times(self, topic: str, latest: dict[int, int]) -> None:
        """Each input partition's event-time high-water mark (kept, never moved back)."""
        if latest:
            await self.redis.eval(RAISE, 1, event_time_key(topic), *(x for p, ms in sorted(latest.items()) for x in (str(p), str(ms))))

    async def deployment_event_time(self, topic: str) -> int | None:
        """The slowest input partition's event-time high-water mark: no customer's own events are
        ahead of it. None before every partition has one."""
        marks = await self.redis.hgetall(event_time_key(topic))
        return min(int(v) for v in marks.values()) if marks else None

    async def sweep(self, now_ms: int, now_day: int, now_fine: int, *, page: int = 500) -> int:
        """Let go of the aggregates of customers inactive for longer than the longest window
        before `now_ms` (their rating state stays); returns how many were swept. Event time only."""
        sha, swept = self._sha["sweep"], 0
        header = f"{LAYOUT},{max(self.retain_days, WINDOW_DAYS)}"
        keys: list[bytes] = []

        async def run(batch: list[bytes]) -> int:
            groups = [[k] for k in batch] if self.cluster else [batch]

            def fill(pipe: Any) -> None:
                for group in groups:
                    pipe.evalsha(sha, len(group), *group, header, str(now_ms), str(now_day), str(now_fine))

            return sum(int(r) for r in await self._execute(fill))

        async for key in self.redis.scan_iter(match=f"{KEY_PREFIX}:{{*}}:s", count=page):
            keys.append(key)
            if len(keys) >= page:
                swept += await run(keys)
                keys = []
        if keys:
            swept += await run(keys)
        return swept

    async def level_counts(self) -> dict[str, int]:
        """Customers per current level, summed over the counter shards."""

        def fill(pipe: Any) -> None:
            for shard in range(LEVEL_SHARDS):
                pipe.hgetall(level_shard_key(shard))

        totals: dict[str, int] = {}
        for reply in await self._execute(fill):
            for level, count in reply.items():
                totals[level.decode()] = totals.get(level.decode(), 0) + int(count)
        return totals

    async def states(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        def fill(pipe: Any) -> None:
            for c in customer_ids:
                pipe.hget(customer_keys(c)[0], "r")

        return {c: decode_state(raw, c) for c, raw in zip(customer_ids, await self._execute(fill), strict=True) if raw}

    async def inspect(self, customer_id: str) -> dict[str, bytes]:
        """The parts of a customer's aggregates array, by name (for tests, audits and rebuild
        checks): m meta, W window totals, D day buckets, F 5-minute buckets, A own accounts,
        rv reversed legs, X dedup digests (MessagePack where packed), T trail; {} if none."""
        reply = await self.redis.eval(INSPECT, 1, state_key(customer_id))
        return dict(zip(("m", "W", "D", "F", "A", "rv", "X", "T"), reply, strict=True)) if reply else {}

    async def aggregates(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """A customer's aggregates as stored, without what depends on when batches were committed
        (pending snapshots, the rating state, commit markers, the trail): two runs over the same
        input, however cut and crashed, must give equal values. Keys: the aggregates array's
        parts, `cp` the counterparty last-seen times, `dedup` the sets of busy dedup blocks."""
        out: dict[str, dict[str, Any]] = {}
        for c in customer_ids:
            fields: dict[str, Any] = await self.inspect(c)
            fields.pop("T", None)
            if "m" in fields:
                meta = fields["m"].decode().split(",")
                meta[4] = meta[5] = meta[8] = ""  # cwm, cseq, pcu: when the last commit happened
                fields["m"] = ",".join(meta)
            fields["cp"] = await self.redis.zrange(customer_keys(c)[1], 0, -1, withscores=True)
            blocks = [b for b in (fields.get("m", "").split(",") + [""] * 10)[9].split(";") if b.endswith("!")]
            fields["dedup"] = {b: sorted(await self.redis.smembers(dedup_key(c, b[:-1]))) for b in blocks}
            out[c] = fields
        return out

    async def applied_count(self, customer_id: str) -> int:
        """How many transactions of the customer have been applied (its sequence number)."""
        meta = (await self.inspect(customer_id)).get("m")
        return int(meta.decode().split(",")[3]) if meta else 0

    async def customers(self, count: int = 1000):  # type: ignore[no-untyped-def]
        """Every customer id that has state (SCAN; works per node on a cluster)."""
        keys: list[bytes] = []
        async for key in self.redis.scan_iter(match=f"{KEY_PREFIX}:{{*}}:s", count=count):
            keys.append(key)
            if len(keys) >= count:
                for cid in await self._ids(keys):
                    yield cid
                keys = []
        for cid in await self._ids(keys):
            yield cid

    async def _ids(self, keys: list[bytes]) -> list[str]:
        if not keys:
            return []

        def fill(pipe: Any) -> None:
            for key in keys:
                pipe.hget(key, "id")

        return [raw.decode() for raw in await self._execute(fill) if raw]


async def listpack_value_limit(redis: Redis | RedisCluster) -> int | None:
    """The server's hash-max-listpack-value (hash-max-ziplist-value before Redis 7); None when
    CONFIG GET is not allowed (managed services often rename or forbid it)."""
    try:
        found = await redis.config_get("hash-max-*-value")
    except ResponseError:
        return None
    values = [int(v) for k, v in found.items() if k in ("hash-max-listpack-value", "hash-max-ziplist-value")]
    return min(values) if values else None


def _retention_message(recorded: int, wanted: int) -> str:
    return (
        f"Redis holds amlstream state built with AMLSTREAM_RETAIN_DAYS={recorded}; this process has {wanted}: raising the late-arrival window "
        "on live state counts resends again and revises older days to partial totals (their dedup digests and day totals are gone). "
        f"Keep {recorded}, or rebuild the state from the input topic with {wanted} (README: changing the late-arrival window)"
    )


def _layout_message(found: str) -> str:
    return (
        f"Redis holds amlstream state of layout {found}; this version reads and writes layout {LAYOUT}. "
        "Rebuild the state: stop the workers, use a fresh Redis (or delete the aml:* keys), reset the consumer group "
        "to the earliest offsets and start the workers: they replay the retained input topic (README: rebuilding state)"
    )
