"""The filing stage's durable state in Redis: the leg archive, customer identities, alerts, filing
statuses with their history, deadlines, file sequence numbers and pending work.

Leg archive keys (hash tag: the customer): `legs:{cid}:{day}` tx_id -> leg, `txix:{cid}` tx_id ->
day, `days:{cid}` the days held, `undo:{cid}` tx_id -> JSON list of the reversals and corrections
that name it (whatever their day), pruned with the undoing legs.

Single writer: one filing worker per reporting institution holds a lease (`acquire_lease`),
so plain commands and MULTI blocks suffice; every write is idempotent (keyed by what it records),
so a redelivered input changes nothing the first delivery did not.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis.asyncio import Redis

from filings.model import Leg

ALLOCATE = """
local name = redis.call('HGET', KEYS[1], ARGV[1])
if name then return name end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], seq)
return tostring(seq)
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class FilingStore:
    def __init__(self, redis: Redis, prefix: str = "aml:filings:") -> None:
        self.redis = redis
        self.p = prefix
        self._allocate = redis.register_script(ALLOCATE)
        self._renew = redis.register_script(RENEW)

    # --- single writer ------------------------------------------------------------------------
    async def acquire_lease(self, token: str, ttl_ms: int) -> bool:
        if await self.redis.set(self.p + "lease", token, nx=True, px=ttl_ms):
            return True
        return bool(await self._renew(keys=[self.p + "lease"], args=[token, ttl_ms]))

    async def renew_lease(self, token: str, ttl_ms: int) -> bool:
        return bool(await self._renew(keys=[self.p + "lease"], args=[token, ttl_ms]))

    async def release_lease(self, token: str) -> None:
        if (await self.redis.get(self.p + "lease")) == token.encode():
            await self.redis.delete(self.p + "lease")

    # --- leg archive (per customer and business day, pruned by event time) ---------------------
    async def add_leg(self, leg: Leg, keep_days: int) -> bool:
        """Archive a leg unless its tx_id is known (first copy wins, as in the customer stage)."""
        cid = leg.customer_id
        if await self.redis.hexists(self.p + f"txix:{{{cid}}}", leg.tx_id):
            return False
        undo = None
        if leg.original_tx_id is not None:  # index the undoing under the leg it names, whatever the days of the two
            known = await self.redis.hget(self.p + f"undo:{{{cid}}}", leg.original_tx_id)
            undo = orjson.dumps([*(orjson.loads(known) if known else []), leg.tx_id])
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.p + f"legs:{{{cid}}}:{leg.business_day}", leg.tx_id, leg.encode())
        pipe.hset(self.p + f"txix:{{{cid}}}", leg.tx_id, leg.business_day)
        pipe.zadd(self.p + f"days:{{{cid}}}", {str(leg.business_day): leg.business_day})
        if undo is not None:
            pipe.hset(self.p + f"undo:{{{cid}}}", leg.original_tx_id, undo)
        await pipe.execute()
        await self._prune(cid, leg.business_day - keep_days)
        return True

    async def _prune(self, cid: str, before_day: int) -> None:
        old = await self.redis.zrangebyscore(self.p + f"days:{{{cid}}}", "-inf", f"({before_day}")
        for raw in old:
            day = int(raw)
            key = self.p + f"legs:{{{cid}}}:{day}"
            legs = [Leg.decode(v) for v in (await self.redis.hgetall(key)).values()]
            undo_key = self.p + f"undo:{{{cid}}}"
            gone = {leg.tx_id for leg in legs}
            originals = sorted({leg.original_tx_id for leg in legs if leg.original_tx_id is not None})
            kept = dict(zip(originals, await self.redis.hmget(undo_key, originals), strict=True)) if originals else {}
            pipe = self.redis.pipeline(transaction=True)
            if gone:
                pipe.hdel(self.p + f"txix:{{{cid}}}", *gone)
            for original, raw_ids in kept.items():
                rest = [i for i in (orjson.loads(raw_ids) if raw_ids else []) if i not in gone]
                if rest:
                    pipe.hset(undo_key, original, orjson.dumps(rest))
                else:
                    pipe.hdel(undo_key, original)
            pipe.delete(key)
            pipe.zrem(self.p + f"days:{{{cid}}}", raw)
            await pipe.execute()

    async def legs_of_day(self, cid: str, day: int) -> list[Leg]:
        return sorted((Leg.decode(v) for v in (await self.redis.hgetall(self.p + f"legs:{{{cid}}}:{day}")).values()), key=lambda leg: leg.seq)

    async def undoings(self, cid: str, tx_ids: list[str]) -> list[Leg]:
        """The archived reversals and corrections that name one of `tx_ids`, and those that name
        them in turn (a reversal or correction of a correction), on any day, in archive order."""
        found: dict[str, Leg] = {}
        ask = list(dict.fromkeys(tx_ids))
        for _ in range(16):  # chains are short
            if not ask:
                break
            ids = [i for raw in await self.redis.hmget(self.p + f"undo:{{{cid}}}", ask) if raw for i in orjson.loads(raw) if i not in found]
            new = await self.legs(cid, list(dict.fromkeys(ids)))
            found.update(new)
            ask = list(new)
        return sorted(found.values(), key=lambda leg: leg.seq)

    async def legs(self, cid: str, tx_ids: list[str]) -> dict[str, Leg]:
        if not tx_ids:
            return {}
        days = await self.redis.hmget(self.p + f"txix:{{{cid}}}", tx_ids)
        out = {}
        for tx_id, day in zip(tx_ids, days, strict=True):
            if day is not None:
                raw = await self.redis.hget(self.p + f"legs:{{{cid}}}:{int(day)}", tx_id)
                if raw is not None:
                    out[tx_id] = Leg.decode(raw)
        return out

    # --- profiles, first ratings, alerts -------------------------------------------------------
    async def profile(self, cid: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.p + f"profile:{{{cid}}}")
        return orjson.loads(raw) if raw else None

    async def set_profile(self, cid: str, profile: dict[str, Any] | None) -> None:
        if profile is None:
            await self.redis.delete(self.p + f"profile:{{{cid}}}")
        else:
            await self.redis.set(self.p + f"profile:{{{cid}}}", orjson.dumps(profile))

    async def mark_rated(self, cid: str, at_ms: int) -> bool:
        """Record the customer's first rating; False if one was recorded already."""
        return bool(await self.redis.hsetnx(self.p + "rated", cid, at_ms))

    async def rated(self, cid: str) -> bool:
        return bool(await self.redis.hexists(self.p + "rated", cid))

    async def add_alert(self, alert_key: str, doc: dict[str, Any]) -> None:
        key = self.p + f"alert:{alert_key}"
        old = await self.redis.get(key)
        if old:
            prev = orjson.loads(old)
            doc = {**doc, "tx_ids": list(dict.fromkeys([*prev["tx_ids"], *doc["tx_ids"]]))}
        await self.redis.set(key, orjson.dumps(doc))

    async def alert(self, alert_key: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.p + f"alert:{alert_key}")
        return orjson.loads(raw) if raw else None

    # --- filings: status, history, deadlines ---------------------------------------------------
    async def filing(self, fid: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.p + f"filing:{fid}")
        return orjson.loads(raw) if raw else None

    async def put_filing(self, filing: dict[str, Any], note: str, open_due_ms: int | None) -> None:
        """Store the filing; add a history entry when its status, file or detail changed; keep the
        deadline index: open (with its due time) or closed."""
        fid, kind = filing["id"], filing["kind"]
        old = await self.filing(fid)
        changed = old is None or any(old.get(k) != filing.get(k) for k in ("status", "file", "detail", "revision"))
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.p + f"filing:{fid}", orjson.dumps(filing))
        pipe.sadd(self.p + f"customer:{{{filing['customer_id']}}}", fid)
        if changed:
            entry = {"at": _now_iso(), "status": filing["status"], "file": filing.get("file"), "note": note}
            pipe.rpush(self.p + f"history:{fid}", orjson.dumps(entry))
        if open_due_ms is None:
            pipe.zrem(self.p + f"open:{kind}", fid)
        else:
            pipe.zadd(self.p + f"open:{kind}", {fid: open_due_ms})
        await pipe.execute()

    async def history(self, fid: str) -> list[dict[str, Any]]:
        return [orjson.loads(v) for v in await self.redis.lrange(self.p + f"history:{fid}", 0, -1)]

    async def customer_filings(self, cid: str) -> list[str]:
        return sorted(v.decode() for v in await self.redis.smembers(self.p + f"customer:{{{cid}}}"))

    async def all_filings(self) -> list[str]:
        out = []
        async for key in self.redis.scan_iter(match=self.p + "filing:*", count=500):
            out.append(key.decode()[len(self.p) + len("filing:") :])
        return sorted(out)

    async def open_items(self, kind: str, due_before_ms: float = float("inf")) -> list[tuple[str, int]]:
        rows = await self.redis.zrangebyscore(self.p + f"open:{kind}", "-inf", "+inf" if due_before_ms == float("inf") else f"({int(due_before_ms)}", withscores=True)
        return [(m.decode(), int(s)) for m, s in rows]

    async def set_open(self, kind: str, item: str, due_ms: int | None) -> None:
        if due_ms is None:
            await self.redis.zrem(self.p + f"open:{kind}", item)
        else:
            await self.redis.zadd(self.p + f"open:{kind}", {item: due_ms})

    # --- names and sequence numbers ------------------------------------------------------------
    async def allocate(self, purpose: str, counter: str) -> int:
        """The sequence number for `purpose` (e.g. the filing and its revision): allocated once,
        the same number on every later call (so a redelivery rewrites the same file)."""
        return int(await self._allocate(keys=[self.p + "alloc", self.p + f"seq:{counter}"], args=[purpose]))

    async def set_owner(self, name_key: str, fid: str) -> None:
        await self.redis.hset(self.p + "names", name_key, fid)

    async def owner(self, name_key: str) -> str | None:
        v = await self.redis.hget(self.p + "names", name_key)
        return v.decode() if v else None

    # --- pending work ----------------------------------------------------------------------------
    async def pend(self, queue: str, item_id: str, doc: dict[str, Any]) -> None:
        await self.redis.hsetnx(self.p + f"pending:{queue}", item_id, orjson.dumps(doc))

    async def pending(self, queue: str) -> dict[str, dict[str, Any]]:
        return {k.decode(): orjson.loads(v) for k, v in (await self.redis.hgetall(self.p + f"pending:{queue}")).items()}

    async def unpend(self, queue: str, item_id: str) -> None:
        await self.redis.hdel(self.p + f"pending:{queue}", item_id)

    async def case(self, cid: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.p + f"case:{{{cid}}}")
        return orjson.loads(raw) if raw else None

    async def put_case(self, cid: str, case: dict[str, Any] | None) -> None:
        if case is None:
            await self.redis.delete(self.p + f"case:{{{cid}}}")
        else:
            await self.redis.set(self.p + f"case:{{{cid}}}", orjson.dumps(case))

    async def open_cases(self) -> list[str]:
        return sorted(v.decode() for v in await self.redis.smembers(self.p + "cases"))

    async def track_case(self, cid: str, is_open: bool) -> None:
        if is_open:
            await self.redis.sadd(self.p + "cases", cid)
        else:
            await self.redis.srem(self.p + "cases", cid)


def _now_iso() -> str:
    # history timestamps record when the stage acted (operational, wall clock)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
