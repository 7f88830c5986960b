"""The account directory: which customer of the bank holds an account number.

A leg that names its counterparty by account number only (`counterparty_account`, as core
banking and ISO 20022 write a book transfer) is a transfer to another customer of the bank when
that number is in a customer profile's `accounts`. The customer stage resolves it here before it
builds the leg's payment edge, so both legs of a transfer between two customers are one edge
``id:C1 -> id:C2``, and chains, cycles and parties run through the bank's customers (the network
stage has no other way to learn who holds an account).

Layout: hashes ``aml:acct:{hhhh}`` (hhhh = the first 4 hex of the digest: 65,536 buckets, each
its own hash slot), field = 32 hex of BLAKE2b-128 over the normalised number
(`factors.identity.normalise_account`: NFKC, upper case, letters and digits), value = the
customer id. 128-bit digests: a false match among 10^8 accounts is about 10^-23 likely.

Written when a profile's accounts change (the engine's commit step, before the rating states, so
a redelivered batch writes them again: idempotent); an account a profile no longer lists is
removed only if it still names that customer (another profile may have claimed it since). Two
customers listing one account: the later profile wins. Read once per batch (one pipelined round
trip of HGETs, grouped per node on Redis Cluster).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from factors.identity import normalise_account
from streams.state.store import DeletionItem, Item, ProfileItem

AccountChange = tuple[str, frozenset[str], frozenset[str]]  # (customer_id, accounts before, accounts after)

PREFIX = "aml:acct:"
# delete a field only while it still names the customer whose profile dropped it
_RELEASE = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"


def _slot(key: str) -> tuple[str, str]:
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"{PREFIX}{{{digest[:4]}}}", digest


def _normalised(accounts: Iterable[str]) -> frozenset[str]:
    return frozenset(k for k in map(normalise_account, accounts) if k)


def profile_accounts(profile: dict | None) -> frozenset[str]:
    """The normalised accounts of a profile as the rating state holds it (`Profile.to_dict`)."""
    return _normalised((profile or {}).get("accounts") or ())


def _paid_account(item: Item) -> str:
    """The normalised counterparty account of a payment leg or a reversal (its retraction names the original's counterparty; "" for any other item)."""
    tx = getattr(item, "tx", None)
    return normalise_account(tx.counterparty_account) if tx is not None and tx.tx_type in ("payment", "reversal") else ""


async def lookup(redis: Redis, accounts: Iterable[str]) -> dict[str, str]:
    """Normalised account -> customer id, for those of `accounts` (normalised) a profile lists."""
    wanted = sorted(set(accounts))
    if not wanted:
        return {}
    pipe = redis.pipeline(transaction=False)
    for key in wanted:
        pipe.hget(*_slot(key))
    answers = await pipe.execute()
    return {key: (v.decode() if isinstance(v, bytes) else v) for key, v in zip(wanted, answers, strict=True) if v is not None}


async def record(redis: Redis, changes: Iterable[AccountChange]) -> None:
    """Apply (customer_id, accounts before, accounts after) in order: claim the new ones, release
    the dropped ones that still name the customer. Idempotent."""
    claims: list[tuple[str, str, str]] = []
    releases: list[tuple[str, str, str]] = []
    for customer_id, before, after in changes:
        claims.extend((*_slot(a), customer_id) for a in sorted(after))
        releases.extend((*_slot(a), customer_id) for a in sorted(before - after))
    if claims:
        pipe = redis.pipeline(transaction=False)
        for key, field, customer_id in claims:
            pipe.hset(key, field, customer_id)
        await pipe.execute()
    for key, field, customer_id in releases:  # rare (an account closed): one small script each
        await redis.eval(_RELEASE, 1, key, field, customer_id)


async def resolve_counterparties(redis: Redis, arrivals: Sequence[Item], delivering: Sequence[AccountChange] = ()) -> dict[tuple[str, str], str | None]:
    """(customer_id, tx_id) -> the customer holding each payment leg's counterparty account (None:
    no customer of the bank), as the directory stands at that leg: Redis, then the account
    changes of the batch still in delivery (`delivering`, not committed yet), then the profiles
    and tombstones earlier in `arrivals` (the batch in arrival order). So the answer does not
    depend on where the stream is cut into batches. A profile the state later finds stale (older
    than the one it holds) still counts here: a documented approximation (README › Network
    detection)."""
    wanted = {key for key in map(_paid_account, arrivals) if key}
    if not wanted:
        return {}
    known = await lookup(redis, wanted)
    holds: dict[str, frozenset[str]] = {}  # customer -> its accounts, where this batch or the one in delivery says so
    claimed: dict[str, str] = {}  # account -> the customer that claimed it last here
    for customer_id, _, after in delivering:
        holds[customer_id] = after
        claimed.update(dict.fromkeys(after, customer_id))
    out: dict[tuple[str, str], str | None] = {}
    for item in arrivals:
        if isinstance(item, ProfileItem):
            after = _normalised(item.profile.accounts)
            holds[item.profile.customer_id] = after
            claimed.update(dict.fromkeys(after, item.profile.customer_id))
        elif isinstance(item, DeletionItem):
            holds[item.customer_id] = frozenset()
        elif key := _paid_account(item):
            holder = claimed.get(key) or known.get(key)
            if holder is not None and key not in holds.get(holder, frozenset((key,))):
                holder = None  # that customer's newest profile here no longer lists it
            out.setdefault((item.tx.customer_id, item.tx.tx_id), holder)  # type: ignore[union-attr]  # _paid_account: a leg
    return out
