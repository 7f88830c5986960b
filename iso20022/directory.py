"""The account directory: which customer of the bank holds an account (from the profiles' `accounts`).

Pure and in memory, like a Kafka Streams GlobalKTable: every adapter instance reads the whole
compacted customers topic, so every instance knows every account. Account ids compare without
whitespace and case-insensitively (`6222 0210 0000 1234` = `62220210000001234`, `gb29nwbk...` =
`GB29NWBK...`).

Deterministic whatever the arrival order across partitions: a profile older than the one held for
the same customer (`updated_at`) is ignored; an account claimed by several customers belongs to
the claimant with the latest `updated_at` (ties: the smallest customer_id); a tombstone removes
the customer's accounts.
"""

from __future__ import annotations

from collections.abc import Iterable


def account_key(account: str) -> str:
    return "".join(account.split()).upper()


class AccountDirectory:
    def __init__(self) -> None:
        self._customers: dict[str, tuple[int, frozenset[str]]] = {}  # customer -> (updated_ms, account keys)
        self._claims: dict[str, dict[str, int]] = {}  # account key -> {customer: updated_ms}

    def __len__(self) -> int:
        return len(self._claims)

    @property
    def customers(self) -> int:
        return len(self._customers)

    def apply(self, customer_id: str, updated_ms: int, accounts: Iterable[str]) -> str:
        """A profile (the customer's full current account list). Returns `applied` or `stale`."""
        held = self._customers.get(customer_id)
        if held is not None and updated_ms < held[0]:
            return "stale"
        keys = frozenset(account_key(a) for a in accounts)
        if held is not None:
            for key in held[1] - keys:
                self._unclaim(key, customer_id)
        for key in keys:
            self._claims.setdefault(key, {})[customer_id] = updated_ms
        self._customers[customer_id] = (updated_ms, keys)
        return "applied"

    def delete(self, customer_id: str) -> str:
        """A tombstone. Returns `deleted` or `absent`."""
        held = self._customers.pop(customer_id, None)
        if held is None:
            return "absent"
        for key in held[1]:
            self._unclaim(key, customer_id)
        return "deleted"

    def _unclaim(self, key: str, customer_id: str) -> None:
        claims = self._claims.get(key)
        if claims is not None:
            claims.pop(customer_id, None)
            if not claims:
                del self._claims[key]

    def lookup(self, account: str | None) -> str | None:
        """The customer holding `account`, or None."""
        if not account:
            return None
        claims = self._claims.get(account_key(account))
        if not claims:
            return None
        if len(claims) == 1:
            return next(iter(claims))
        return min(claims.items(), key=lambda c: (-c[1], c[0]))[0]

    def conflicts(self) -> int:
        """Accounts claimed by more than one customer."""
        return sum(1 for claims in self._claims.values() if len(claims) > 1)


def apply_profile_message(directory: AccountDirectory, key: bytes | None, value: bytes | None) -> str:
    """One message of the customers topic -> the directory. Returns the outcome: applied, stale,
    deleted, absent, or invalid (a profile the customer stage would dead-letter is ignored here:
    the stage reports it, the adapter must not report it twice)."""
    from streams.decode import parse_json, parse_timestamp  # the customer stage's own checks
    from streams.errors import DecodeError

    if value is None:
        if not key:
            return "invalid"
        return directory.delete(key.decode("utf-8", "replace"))
    try:
        doc = parse_json(value, 1 << 20)
        customer_id = doc.get("customer_id")
        if not isinstance(customer_id, str) or not _valid_id(customer_id) or (key is not None and key != customer_id.encode()):
            return "invalid"
        updated_ms = parse_timestamp(doc.get("updated_at"), "updated_at", customer_id)
    except DecodeError:
        return "invalid"
    accounts = doc.get("accounts") or []
    if not isinstance(accounts, list) or not all(isinstance(a, str) and _valid_id(a) for a in accounts):
        return "invalid"
    return directory.apply(customer_id, updated_ms, accounts)


def _valid_id(value: str) -> bool:
    return 1 <= len(value) <= 128 and value.isprintable() and value == value.strip()
