"""The payment graph in Redis: per account, its in- and out-edges, bounded in time and size.

Keys of one account share the hash tag of a 16-hex digest of its party id (one Redis Cluster
slot per account; party ids may hold any character, so they are never put in a key directly):

    aml:net:{d}:i  sorted set of edges into the account, score = event time, member "eid|fen|payer"
    aml:net:{d}:o  the same for edges out of it, member "eid|fen|payee"
    aml:net:{d}:x  hash edge id -> "p|tx_id[,tx_id]" (outputs pending) or "d|…" (committed; a ',' in a tx_id stored as TX_COMMA);
                   a retracted edge (a reversal in the customer stage): "q<legs before>" (pending) or
                   "r|" (committed), its member kept in :i / :o as a tombstone for the retention
                   (an edge copy arriving later is not stored: status "retracted"); reads leave it out
    aml:net:{d}:m  hash: wm (event-time watermark), wc (the watermark at the last commit),
                   c (customer id), g (peer group), ce / ge (the edge that taught c / g), capped,
                   xp (the watermark when the keys' expiry was last renewed),
                   a:<alias key> (a counterparty's name identity -> its party, see Adjacency.aliases),
                   ae (aliases changed since the last commit, with their value and time before:
                   a retry reads them as they were)
    aml:net:{d}:t  sorted set alias key -> event time it was last named (an alias goes with the
                   retention, like the edges)
    aml:net:e:{k}  hash pattern -> "party marks|event ms" of a detection emitted (the marks of every
                   party and role its reports named, comma-separated), k = its
                   detection_key (one slot per detection, whichever account found it); expires
                   2 x the retention after the last emission (wall clock: storage only, the check
                   compares event time)
    aml:net:origin event time of the first edge the stage ever applied (its observed history begins there)

A batch's edge copies are applied by one script call (`net_apply`: each account's copies in
order, on its own keys only); on a Redis Cluster, one call per account (its keys are one slot).
Edges (and aliases) older than `retain_days` before the account's watermark are
dropped when the batch commits (net_apply drops only those before the last committed watermark's
retention, so a retry after failed outputs reads the account as the batch found it); at most `cap`
edges per direction are kept (the oldest go first). An account's keys expire 2 x the retention
after its watermark last moved (renewed once a week of event time, meta `xp`), so an account no
edge reaches any more does not stay.

Redis is the durable state; the worker also holds the adjacency of the accounts it *owns* (those
whose copies it applied: one partition of the edge topic owns an account's in- and out-edges) in
memory (`GraphStore.accounts`, least recently used evicted beyond `max_accounts`), written
through copy by copy as the batch is searched (`hold`), so the search reads memory, not Redis. An owned account not in memory
(after a restart or an eviction) is read once from Redis before its copy is applied. Accounts the
search needs that another worker owns are read from Redis for the current batch only
(`borrow`), so they are never stale by more than a batch. On a rebalance the worker drops what it
holds (`forget`): an account whose partition moved is owned by another worker now.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

from factors.identity import digest
from factors.network.edges import Edge
from factors.network.graph import NAME_ONLY, Adjacency, Hop, alias_key

SCRIPTS = Path(__file__).parent / "scripts"
DAY_MS = 86_400_000
ORIGIN_KEY = "aml:net:origin"
# An edge's legs are stored as "p|tx1,tx2": a ',' inside a tx_id (any printable character is a
# valid tx_id) is stored as this unit separator, which no tx_id holds (the decoders refuse it),
# and read back as ','. Values stored before hold no separator and read as they did.
TX_COMMA = "\x1f"
STATUS = {1: "new", 0: "stored", -1: "late", 2: "retracted"}  # net_apply's status code of a copy
# per script call on a single Redis (GraphStore._chunks): edge copies applied or committed, and
# accounts read (a read returns up to 2 x the edge cap of an account)
CALL_COPIES = 256
READ_ACCOUNTS = 16


def account_keys(party: str) -> tuple[str, str, str, str]:
    tag = digest(party, 8)
    return (f"aml:net:{{{tag}}}:i", f"aml:net:{{{tag}}}:o", f"aml:net:{{{tag}}}:x", f"aml:net:{{{tag}}}:m")


def alias_times_key(party: str) -> str:
    return f"aml:net:{{{digest(party, 8)}}}:t"


def meta_key(party: str) -> str:
    """The key the scripts are given for an account (its meta hash): they name its other keys from
    it (the same hash tag, so the same Cluster slot)."""
    return f"aml:net:{{{digest(party, 8)}}}:m"


def emitted_key(detection_key: str) -> str:
    """The record of a detection emitted (hash pattern -> "party marks|event ms"), its own slot."""
    return f"aml:net:e:{{{detection_key}}}"


@dataclass(frozen=True, slots=True)
class Applied:
    """One edge copy after the apply script: `status` new | stored (already there) | late |
    retracted (its edge was retracted before: not stored), `done` when its outputs were committed
    before (a redelivery or the second leg; for a retraction: the retraction committed)."""

    edge: Edge
    copy: str
    status: str
    done: bool
    counterparty: str = ""  # the copy's counterparty as the owning account knows it (a name-only party resolved, see Adjacency.resolve)
    alias: tuple[str, str, bool, bool] | None = None  # the name alias the copy teaches its account (see GraphStore._alias_writes)

    @property
    def payer(self) -> str:
        return self.counterparty if self.copy == "payee" and self.counterparty else self.edge.payer

    @property
    def payee(self) -> str:
        return self.counterparty if self.copy == "payer" and self.counterparty else self.edge.payee


class _Concurrent:
    def __init__(self, redis: RedisCluster) -> None:
        self.redis = redis
        self.pending: list[Awaitable[Any]] = []

    def evalsha(self, *args: Any) -> None:
        self.pending.append(self.redis.evalsha(*args))


class Accounts(Mapping[str, Adjacency]):
    """What a rule's view reads: owned accounts first, then the batch's borrowed ones."""

    def __init__(self, owned: Mapping[str, Adjacency], borrowed: Mapping[str, Adjacency]) -> None:
        self.owned, self.borrowed = owned, borrowed

    def get(self, party: str, default: Adjacency | None = None) -> Adjacency | None:  # type: ignore[override]
        found = self.owned.get(party)
        if found is not None:
            return found
        return self.borrowed.get(party, default) if self.borrowed else default

    def __getitem__(self, party: str) -> Adjacency:
        found = self.get(party)
        if found is None:
            raise KeyError(party)
        return found

    def __iter__(self) -> Iterator[str]:
        yield from self.owned
        yield from (p for p in self.borrowed if p not in self.owned)

    def __len__(self) -> int:
        return len(self.owned) + sum(1 for p in self.borrowed if p not in self.owned)


class GraphStore:
    def __init__(self, redis: Redis, *, retain_days: int = 90, cap: int = 500, hub_degree: int = 100, hub_window_days: int = 30, max_accounts: int = 2_000_000) -> None:
        self.redis = redis
        self.retain_ms = retain_days * DAY_MS
        self.cap = cap
        self.hub_degree = hub_degree
        self.hub_window_ms = hub_window_days * DAY_MS  # kept for the settings' meaning; the degree is counted over the retention
        self.max_accounts = max_accounts
        self._scripts = {name: (SCRIPTS / f"{name}.lua").read_text() for name in ("net_apply", "net_read", "net_commit", "net_emitted")}
        self._sha = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in self._scripts.items()}
        self.accounts: OrderedDict[str, Adjacency] = OrderedDict()  # owned, in memory
        self.borrowed: dict[str, Adjacency] = {}  # read for the current batch
        self.customers: dict[str, str] = {}  # party -> customer_id, from every edge seen
        self.view = Accounts(self.accounts, self.borrowed)
        self.reads = 0  # accounts read from Redis (cold or borrowed), for metrics
        self._meta_keys: dict[str, str] = {}  # party -> meta_key (a digest each): busy accounts recur, bounded
        self._forget = False  # set by a rebalance: drop what is held before the next batch
        self.batch_accounts: set[str] = set()  # the accounts that own a copy of the batch; held until its commit
        self._uncommitted = False  # a batch was held and not committed (a failed attempt)
        self._taught: list[str] = []  # parties whose customer the batch taught, in order
        # (account, edge id) -> the parties whose customer the account's rules did not know when
        # they ran at the edge (see `note_unknown_customers`); bounded like `max_accounts`
        self.unresolved: OrderedDict[tuple[str, str], tuple[str, ...]] = OrderedDict()
        self._unresolved_undo: list[tuple[tuple[str, str], tuple[str, ...] | None]] = []  # the batch's changes, undone if it is never committed
        self.origin_ms: int | None = None  # event time of the stage's first edge ever (ORIGIN_KEY): the observed history begins there

    def forget(self) -> None:
        """Drop everything held in memory at the next batch boundary (a rebalance: ownership may
        have moved; the callback may run while a batch is being searched, which must finish on
        what it holds). Owned accounts are read back from Redis on their next edge."""
        self._forget = True

    def _forget_now(self) -> None:
        if self._forget:
            self._forget = False
            self.accounts.clear()
            self.borrowed.clear()
            self.unresolved.clear()  # edges of accounts another worker may own now
            self._uncommitted = False

    def end_batch(self) -> None:
        self.borrowed.clear()
        while len(self.accounts) > self.max_accounts:
            self.accounts.popitem(last=False)

    def _keys(self, parties: list[str]) -> list[str]:
        """`meta_key` of each party, remembered (bounded like `max_accounts`)."""
        known = self._meta_keys
        if len(known) > self.max_accounts:
            known.clear()
        out = []
        for party in parties:
            key = known.get(party)
            if key is None:
                key = known[party] = meta_key(party)
            out.append(key)
        return out

    def _chunks(self, parties: list[str], weights: Mapping[str, int] | None = None, budget: int = CALL_COPIES) -> list[list[str]]:
        """Accounts per script call: one per call on a Cluster (a script touches one slot); on a
        single Redis as many as fit `budget` (each account's weight: its copies, default 1; an
        account heavier than the budget is a call of its own), every call in one pipeline (one
        round trip for the batch). Why a budget: Redis runs one script at a time, and a batch's
        copies in one call held every other client for its whole run: up to 42 ms for net_apply
        in a quick stages run of the bench (SLOWLOG, 2026-12-01), the customer stage's own calls waiting
        behind it."""
        if not parties:
            return []
        if isinstance(self.redis, RedisCluster):
            return [[p] for p in parties]
        out: list[list[str]] = []
        chunk: list[str] = []
        load = 0
        for p in parties:
            w = weights[p] if weights is not None else 1
            if chunk and load + w > budget:
                out.append(chunk)
                chunk, load = [], 0
            chunk.append(p)
            load += w
        out.append(chunk)
        return out

    async def _execute(self, fill: Callable[[Any], None]) -> list[Any]:
        """One pipelined round trip (concurrent calls on Redis Cluster); NOSCRIPT loads and retries."""
        for attempt in (1, 2):
            try:
                if isinstance(self.redis, RedisCluster):
                    calls = _Concurrent(self.redis)
                    fill(calls)
                    return list(await asyncio.gather(*calls.pending))
                pipe = self.redis.pipeline(transaction=False)
                fill(pipe)
                return await pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                for text in self._scripts.values():
                    await self.redis.script_load(text)
        raise AssertionError("unreachable")

    async def own(self, parties: Iterable[str], copies: Mapping[str, list[tuple[Edge, str]]] | None = None) -> None:
        """Make sure the accounts whose copies are about to be applied are held (cold ones read from
        Redis). A cold account is read as it was before the batch: the legs of its `copies` that
        an attempt never committed stored (a redelivery after a crash, a retry) are left out, since
        the batch holds them again, each as of its place in the stream."""
        missing = [p for p in dict.fromkeys(parties) if p not in self.accounts]
        for party in missing:
            found = self.borrowed.pop(party, None)
            if found is not None:
                self.accounts[party] = found
        missing = [p for p in missing if p not in self.accounts]
        if missing:
            known = {p: self.customers.get(p) for p in missing}
            uncommitted: dict[str, tuple[set[str], str, str]] = {}
            read = await self.read(missing, 0, 2**53, uncommitted)
            for party, a in read.items():
                pending, taught_customer, taught_group = uncommitted[party]
                stripped = {edge.edge_id[:16] for edge, _ in (copies or {}).get(party, ()) if edge.edge_id[:16] in pending}
                if not stripped:
                    self._retain(a)
                    continue
                for edge, copy in (copies or {}).get(party, ()):
                    if edge.edge_id[:16] in stripped:
                        a.unhold(edge.edge_id[:16], edge.ts_ms, copy == "payee", edge.tx_id)
                if taught_customer in stripped:  # the batch itself taught it: not known before it
                    a.customer_id = None
                    if known[party] is None:
                        self.customers.pop(party, None)
                    else:
                        self.customers[party] = known[party]  # type: ignore[assignment]
                if taught_group in stripped:
                    a.peer_group = None
                self._retain(a)
            self.accounts.update(read)

    def _retain(self, a: Adjacency) -> None:
        """Cut an account read from Redis to the retention before its newest edge, as held (Redis
        keeps older ones until a batch's commit, see net_apply.lua)."""
        newest = max(a.ins[-1].ts_ms if a.ins else 0, a.outs[-1].ts_ms if a.outs else 0)
        a.trim(newest - self.retain_ms, self.cap)
        a.hub = a.degree >= self.hub_degree

    async def _origin(self, first_ms: int) -> None:
        """Where the stage's observed history begins: the first edge it ever applied (kept in Redis,
        so a restarted or added worker agrees; the rules judge newness of relationships from it)."""
        await self.redis.set(ORIGIN_KEY, first_ms, nx=True)
        stored = await self.redis.get(ORIGIN_KEY)
        self.origin_ms = int(stored) if stored is not None else first_ms

    async def borrow(self, parties: Iterable[str]) -> None:
        """Read accounts the search needs that are not held, for the current batch."""
        missing = [p for p in dict.fromkeys(parties) if p not in self.accounts and p not in self.borrowed]
        if missing:
            self.borrowed.update(await self.read(missing, 0, 2**53))

    def snapshot(self, parties: Iterable[str]) -> tuple[dict[str, Adjacency | None], int]:
        """The held state of `parties` (None: not held) and of the customers taught, to `restore`."""
        return {p: (a.clone() if (a := self.accounts.get(p)) is not None else None) for p in parties}, len(self._taught)

    def restore(self, snapshot: tuple[dict[str, Adjacency | None], int]) -> None:
        accounts, taught = snapshot
        for party, held in accounts.items():
            if held is None:
                self.accounts.pop(party, None)
            else:
                self.accounts[party] = held.clone()
        while len(self._taught) > taught:
            self.customers.pop(self._taught.pop(), None)

    def _drop_uncommitted(self) -> None:
        """A batch was held and never committed (its outputs failed): what it held is dropped, and
        the accounts are read back from Redis, without the copies the batch's retry holds again (`own`)."""
        if self._uncommitted:
            for party in self.batch_accounts:
                self.accounts.pop(party, None)
            while self._taught:
                self.customers.pop(self._taught.pop(), None)
            while self._unresolved_undo:
                key, before = self._unresolved_undo.pop()
                if before is None:
                    self.unresolved.pop(key, None)
                else:
                    self.unresolved[key] = before
            self._uncommitted = False
        self._taught.clear()
        self._unresolved_undo.clear()

    async def apply(self, copies: list[tuple[Edge, str]]) -> list[Applied]:
        """Store each edge copy on its owning account (payer copy: out-edges of the payer; payee
        copy: in-edges of the payee), in input order per account, one script call per account
        and one round trip for the batch. Memory is not changed: the caller holds each copy in
        stream order (`hold`), evaluating the rules anchored at it before holding the next, so a
        rule sees the accounts as of its anchor whatever the batch boundaries."""
        if not copies:
            return []
        self._forget_now()
        self._drop_uncommitted()
        by_account: dict[str, list[int]] = {}
        for n, (edge, copy) in enumerate(copies):
            by_account.setdefault(edge.party(copy), []).append(n)
        self.batch_accounts = set(by_account)
        self._uncommitted = True
        await self.own(by_account, {own: [copies[n] for n in indices] for own, indices in by_account.items()})
        if self.origin_ms is None:
            await self._origin(min(edge.ts_ms for edge, _ in copies))
        sha = self._sha["net_apply"]

        aliases = {own: self._alias_writes(own, [copies[n] for n in indices]) for own, indices in by_account.items()}

        def packed(own: str) -> list[tuple[Any, ...]]:
            rows = []
            for j, n in enumerate(by_account[own]):
                edge, copy = copies[n]
                payer = copy == "payer"
                retract = edge.retracted_by is not None
                cid = "" if retract else (edge.payer_customer_id if payer else edge.payee_customer_id) or ""
                group = (edge.peer_group or "") if cid and cid == edge.leg_customer_id else ""
                eid = edge.edge_id[:16]
                key, value, new, timed = aliases[own].get(j, ("", "", False, False))
                member = f"{eid}|{edge.amount_fen}|{edge.payee if payer else edge.payer}"
                rows.append(
                    ("o" if payer else "i", edge.ts_ms, member, eid, edge.tx_id.replace(",", TX_COMMA), cid, group, key, value, int(new), int(timed), int(retract))
                )
            return rows

        chunks = self._chunks(list(by_account), {own: len(indices) for own, indices in by_account.items()})

        def fill(pipe: Any) -> None:
            for chunk in chunks:
                keys = self._keys(chunk)
                pipe.evalsha(sha, len(keys), *keys, self.retain_ms, self.cap, orjson.dumps([packed(own) for own in chunk]))

        replies = [r for reply in await self._execute(fill) for r in reply]
        status: list[tuple[int, bytes]] = [(0, b"")] * len(copies)
        learned: dict[int, tuple[str, str, bool, bool]] = {}
        for (own, indices), reply in zip(by_account.items(), replies, strict=True):
            for j, n in enumerate(indices):
                status[n] = (int(reply[2 * j]), reply[2 * j + 1])
                if j in aliases[own]:
                    learned[n] = aliases[own][j]
        out = []
        for n, ((edge, copy), (code, legs)) in enumerate(zip(copies, status, strict=True)):
            out.append(Applied(edge, copy, STATUS[code], bool(legs) and legs[:2] == (b"r|" if edge.retracted_by else b"d|"), alias=learned.get(n)))
        return out

    def hold(self, a: Applied) -> Applied:
        """Hold an applied copy in memory (its account's edges, customer, alias, retention and
        hub flag as of this copy); returns it with its counterparty as the account knows it."""
        edge = a.edge
        for party, cid in ((edge.payer, edge.payer_customer_id), (edge.payee, edge.payee_customer_id)):
            if cid and party not in self.customers:
                self._taught.append(party)
            if cid:
                self.customers[party] = cid
        return Applied(edge, a.copy, a.status, a.done, self._remember(edge, a.copy, a.alias), a.alias)

    def note_unknown_customers(self, a: Applied) -> None:
        """Remember the parties (the account's own and its counterparty, `id:` parties) whose
        customer is unknown as the rules run at the held copy `a`, for `names_awaited_customer`.

        Each leg of a book transfer knows its own customer only (a `counterparty_id` alone does
        not say that the counterparty is a customer; the account directory resolves accounts that
        profiles list), and both legs give one edge: whichever leg reaches an account first is
        evaluated, the other is a stored copy. Without this, what needs both customers (the
        high_risk_exposure rule, the exposure measurement) was found only when the legs came in
        one of their orders: the outcome hung on the order in which the customer stage's
        partitions delivered them (an e2e test that failed intermittently, 2026-12-01). In memory
        only: a worker restarted between the two legs does not run the rules again."""
        key, payer = self._edge_key(a)
        if key is None:
            return
        own, other = (a.edge.payer, a.edge.payee) if payer else (a.edge.payee, a.edge.payer)
        before = self.unresolved.get(key)
        missing = tuple(p for p in (own, other) if p.startswith("id:") and not self.customer_of(p))
        if missing == (before or ()):
            return
        self._unresolved_undo.append((key, before))
        if missing:
            self.unresolved[key] = missing
            while len(self.unresolved) > self.max_accounts:
                self.unresolved.popitem(last=False)
        else:
            del self.unresolved[key]

    def names_awaited_customer(self, a: Applied) -> bool:
        """Whether the held copy `a`, whose rules would not run otherwise, names a customer that
        the rules at its edge ran without (`note_unknown_customers`): they run again at it, once."""
        key, _ = self._edge_key(a)
        before = self.unresolved.get(key) if key is not None else None
        if before is None:
            return False
        e = a.edge
        if not {p for p, cid in ((e.payer, e.payer_customer_id), (e.payee, e.payee_customer_id)) if cid}.intersection(before):
            return False
        self._unresolved_undo.append((key, before))
        del self.unresolved[key]
        return True

    @staticmethod
    def _edge_key(a: Applied) -> tuple[tuple[str, str] | None, bool]:
        """((account, edge id) of a stored edge copy, or None for a retraction or a copy not
        stored; whether it is the payer's copy)."""
        payer = a.copy == "payer"
        if a.edge.retracted_by is not None or a.status not in ("new", "stored"):
            return None, payer
        return (a.edge.payer if payer else a.edge.payee, a.edge.edge_id[:16]), payer

    def customer_of(self, party: str) -> str | None:
        """The customer of a party as held (its account's, or one an edge named)."""
        held = self.view.get(party)
        return (held.customer_id if held is not None else None) or self.customers.get(party)

    def _alias_writes(self, own: str, copies: list[tuple[Edge, str]]) -> dict[int, tuple[str, str, bool, bool]]:
        """The name aliases the account's copies name (by position among them): a leg of the
        account's own customer that names an identified counterparty (see Edge.counterparty_name_id),
        as (alias key, party, whether it teaches the account something new, whether its time is
        recorded (Adjacency.named): the time keeps the alias for the retention)."""
        held = self.accounts.get(own)
        local: dict[str, str] = {}
        times: dict[str, int] = {}
        writes: dict[int, tuple[str, str, bool, bool]] = {}
        for j, (edge, copy) in enumerate(copies):
            if not edge.counterparty_name_id or own != f"id:{edge.leg_customer_id}" or edge.retracted_by:
                continue
            other = edge.payee if copy == "payer" else edge.payer
            key = alias_key(edge.counterparty_name_id)
            known = local.get(key, held.aliases.get(key) if held is not None else None)
            value = other if known is None or known == other else ""
            local[key] = value
            seen = times.get(key, held.alias_seen.get(key) if held is not None else None)
            timed = seen is None or edge.ts_ms >= seen + DAY_MS  # the rule of Adjacency.named
            if timed:
                times[key] = edge.ts_ms
            if value != known or timed:
                writes[j] = (key, value, value != known, timed)
        return writes

    def _remember(self, edge: Edge, copy: str, alias: tuple[str, str, bool, bool] | None = None) -> str:
        """Hold the applied copy in memory; returns its counterparty as the account knows it."""
        own = edge.party(copy)
        a = self.accounts.get(own)
        if a is None:  # evicted within the batch (tiny max_accounts): hold it again
            a = self.accounts[own] = Adjacency(own)
        else:
            self.accounts.move_to_end(own)
        if edge.retracted_by is not None:  # the edge goes (whichever of its legs are held)
            a.unhold(edge.edge_id[:16], edge.ts_ms, copy == "payee", None)
            a.hub = a.degree >= self.hub_degree
            return a.resolve(edge.payee if copy == "payer" else edge.payer)
        cid = edge.payer_customer_id if copy == "payer" else edge.payee_customer_id
        if cid:
            a.customer_id = cid
            if cid == edge.leg_customer_id and edge.peer_group:
                a.peer_group = edge.peer_group
        if alias is not None:
            key, party, new, timed = alias
            if new:
                a.set_alias(key, party)
            if timed:
                a.named(key, edge.ts_ms)
        payer = copy == "payer"
        stored = edge.payee if payer else edge.payer
        other = a.resolve(stored)
        if other != stored:
            a.bound_names[edge.edge_id[:16]] = stored
        a.add(Hop(edge.edge_id[:16], own if payer else other, other if payer else own, edge.ts_ms, edge.amount_fen, (edge.tx_id,)), incoming=not payer)
        newest = max(a.ins[-1].ts_ms if a.ins else 0, a.outs[-1].ts_ms if a.outs else 0)
        a.trim(newest - self.retain_ms, self.cap)
        a.hub = a.degree >= self.hub_degree  # a full cap only bounds memory: a busy firm with few counterparties is searched
        return other

    async def read(self, parties: Iterable[str], start_ms: int, end_ms: int, uncommitted: dict[str, tuple[set[str], str, str]] | None = None) -> dict[str, Adjacency]:
        """The adjacency of each account within [start_ms, end_ms], in one round trip. `uncommitted`
        gets, per account, the ids of its edges whose outputs are not committed and the edges that
        taught it its customer and peer group (meta `ce`, `ge`)."""
        order = list(dict.fromkeys(parties))
        if not order:
            return {}
        sha = self._sha["net_read"]
        chunks = self._chunks(order, budget=READ_ACCOUNTS)

        def fill(pipe: Any) -> None:
            for chunk in chunks:
                keys = self._keys(chunk)
                pipe.evalsha(sha, len(keys), *keys, start_ms, end_ms)

        replies = [r for reply in await self._execute(fill) for r in reply]
        self.reads += len(order)
        return {party: self._adjacency(party, reply, uncommitted) for party, reply in zip(order, replies, strict=True)}

    def _adjacency(self, party: str, reply: list[Any], uncommitted: dict[str, tuple[set[str], str, str]] | None = None) -> Adjacency:
        raw_in, raw_out, raw_meta, raw_times = reply
        meta = {raw_meta[i].decode(): raw_meta[i + 1].decode() for i in range(0, len(raw_meta), 2)}
        times = {raw_times[i].decode(): int(float(raw_times[i + 1])) for i in range(0, len(raw_times), 2)}  # oldest first
        aliases = {k[2:]: v for k, v in meta.items() if k.startswith("a:")}
        bound_names: dict[str, str] = {}
        pending: set[str] | None = None
        if uncommitted is not None:
            # learned by a batch never committed: it learns them again (the retention is applied
            # below, `_retain`, from the account's newest edge before the batch)
            for key, before, *seen in orjson.loads(meta.get("ae", "[]")):  # [key, value, time] (time absent: written before times were)
                if before is None:
                    aliases.pop(key, None)
                else:
                    aliases[key] = before
                if seen and seen[0] is None:
                    times.pop(key, None)
                elif seen:
                    times[key] = int(seen[0])
            pending = set()
            uncommitted[party] = (pending, meta.get("ce", ""), meta.get("ge", ""))
        else:
            oldest = int(meta.get("wm") or 0) - self.retain_ms  # Redis prunes aliases once a day: read as held (Adjacency.trim)
            aliases = {k: v for k, v in aliases.items() if times.get(k, oldest) >= oldest}
        ins = _hops(party, raw_in, incoming=True, aliases=aliases, bound_names=bound_names, pending=pending)
        outs = _hops(party, raw_out, incoming=False, aliases=aliases, bound_names=bound_names, pending=pending)
        a = Adjacency(party, ins, outs, meta.get("c") or None, meta.get("g") or None, False)
        a.aliases = aliases
        a.alias_seen = dict(sorted(((k, ms) for k, ms in times.items() if k in aliases), key=lambda kv: kv[1]))
        a.bound_names = bound_names
        if uncommitted is None:
            self._retain(a)
        else:
            a.hub = a.degree >= self.hub_degree
        if a.customer_id:
            self.customers[party] = a.customer_id
        return a

    async def emitted(self, detection_keys: Iterable[str]) -> dict[str, dict[str, tuple[str, int]]]:
        """The detections emitted under each detection_key: pattern -> (party marks, event ms), one round trip."""
        order = sorted(set(detection_keys))
        if not order:
            return {}
        if isinstance(self.redis, RedisCluster):
            replies = await asyncio.gather(*(self.redis.hgetall(emitted_key(k)) for k in order))
        else:
            pipe = self.redis.pipeline(transaction=False)
            for k in order:
                pipe.hgetall(emitted_key(k))
            replies = await pipe.execute()
        out: dict[str, dict[str, tuple[str, int]]] = {}
        for k, fields in zip(order, replies, strict=True):
            for pattern, value in fields.items():
                parties, _, ms = value.decode().partition("|")
                out.setdefault(k, {})[pattern.decode()] = (parties, int(ms or 0))
        return out

    async def commit(self, done: dict[str, list[str]], emitted: Mapping[tuple[str, str], tuple[str, int]] | None = None) -> None:
        """After the outputs are acknowledged: mark the copies committed and record the detections
        emitted ((detection_key, pattern) -> (party marks, event ms); each under its own key,
        kept unless a later emission is recorded there already)."""
        sha, emit_sha = self._sha["net_commit"], self._sha["net_emitted"]
        chunks = self._chunks(sorted(done), {party: len(eids) for party, eids in done.items()})
        records = [(k, p, d, ms) for (k, p), (d, ms) in sorted((emitted or {}).items())]
        # each detection key a slot of its own on a Cluster; bounded calls on a single Redis, as _chunks
        size = 1 if isinstance(self.redis, RedisCluster) else CALL_COPIES
        detections = [records[i : i + size] for i in range(0, len(records), size)]

        def fill(pipe: Any) -> None:
            for chunk in chunks:
                keys = self._keys(chunk)
                pipe.evalsha(sha, len(keys), *keys, orjson.dumps([done[party] for party in chunk]), self.retain_ms)
            for group in detections:
                keys = [emitted_key(k) for k, *_ in group]
                pipe.evalsha(emit_sha, len(keys), *keys, 2 * self.retain_ms, orjson.dumps([[p, f"{d}|{ms}", ms] for _, p, d, ms in group]))

        if chunks or detections:
            await self._execute(fill)
        self._uncommitted = False  # the batch is durable: what is held is the state now
        self._taught.clear()
        self._unresolved_undo.clear()


def _hops(party: str, raw: list[Any], incoming: bool, aliases: dict[str, str], bound_names: dict[str, str], pending: set[str] | None) -> tuple[Hop, ...]:
    hops = []
    for i in range(0, len(raw), 3):
        eid, fen, other = raw[i].decode().split("|", 2)
        if aliases and other.startswith(NAME_ONLY):
            bound = aliases.get(alias_key(other)) or other
            if bound != other:
                bound_names[eid] = other
                other = bound
        legs = raw[i + 2].decode() if raw[i + 2] else ""
        if legs[:1] in ("q", "r"):  # retracted; a retraction not committed: its batch's retry reads the edge as it was before
            if pending is None or legs[:1] == "r" or len(legs) < 2:
                continue
            legs = legs[1:]
        if pending is not None and legs[:2] == "p|":
            pending.add(eid)
        tx_ids = tuple(t.replace(TX_COMMA, ",") for t in legs[2:].split(",")) if legs else ()
        payer, payee = (other, party) if incoming else (party, other)
        hops.append(Hop(eid, payer, payee, int(float(raw[i + 1])), int(fen), tx_ids))
    hops.sort(key=Hop.order)
    return tuple(hops)
