"""Injected network typologies: groups of accounts, customers of the bank or outside it, that
move money among themselves at retail amounts; every member account is labelled with its role.

round(customers / 1000) groups per typology (at least one when the population has room),
half `fast` (the whole group within hours to 4 days), half `slow` (days to weeks; fast when the
period is too short for it). Member customers are individuals (some entities where firms do
it: closed groups, collectors, chain intermediaries) that are in no other injected group and no
benign structure; they keep their ordinary life, but no internal links. Outside members are
new external parties (`X...` ids, names, accounts); no transfer runs between two outside
accounts, so every transfer of a group shows in at least one customer's legs (both legs when
both sides are customers). Amounts are CNY 300-50,000 a transfer (non-round). The shapes,
amounts and windows of each typology are in `synthbank.typologies.flows`, `.groups` and
`.pairs`; labels: `NetworkLabel` (one per member account and group; the span is the group's
first to last injected transfer).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from synthbank.parties import Party
from synthbank.records import Event, Firm, Ids, NetworkLabel, Person, money, rfc3339
from synthbank.tables import DAY_S, HOUR

NETWORK_SHARE = 1 / 1000  # groups per typology per customer
FAST_DAYS = 4  # a fast group's window fits in this many days
SLOW_DAYS = 45

# (role, kind): kind is person | firm | ext | listed | suspicious | any (person, sometimes a firm)
Shape = list[tuple[str, str]]


@dataclass
class Member:
    role: str
    party: Party
    who: Person | Firm | None  # None outside the bank

    @property
    def account(self) -> str:
        return self.party.account


class Net:
    """One injected group: its members and the legs of its transfers."""

    def __init__(
        self, rng: random.Random, days: int, origin: date, ids: Ids, injected: dict[int, list[Event]], variant: str, seq: Iterator[int], first_day: int = 0
    ) -> None:
        self.rng, self.days, self.origin, self.ids, self.injected = rng, days, origin, ids, injected
        self.first_day = first_day  # no group starts before this day (`generate --network-from-day`)
        self.seq = seq  # shared by all groups: injected legs sort before ordinary ones of the same second, out-leg first
        self.variant = variant
        self.fast = variant == "fast"
        self.members: list[Member] = []
        self.span: list[int] = []

    def add(self, role: str, who: Person | Firm | None, kind: str = "person") -> Member:
        party = who.party if who is not None else self.ids.party("X", "firm" if kind == "firm" else "person")
        m = Member(role, party, who)
        self.members.append(m)
        return m

    def daytime(self, t: int) -> int:
        """t moved into 08:00-21:59 local (the next morning if later, 08:00-09:59)."""
        day, sod = divmod(t, DAY_S)
        if sod < 8 * HOUR:
            return day * DAY_S + 8 * HOUR + self.rng.randint(0, 2 * HOUR)
        if sod >= 22 * HOUR:
            return (day + 1) * DAY_S + 8 * HOUR + self.rng.randint(0, 2 * HOUR)
        return t

    def at(self, day: int) -> int:
        return self.daytime(day * DAY_S + self.rng.randint(8 * HOUR, 21 * HOUR))

    def hop(self, t: int) -> int:
        """When a member passes money on: 10 min - 6 h later (fast) or 1-6 days later (slow)."""
        if self.fast:
            return self.daytime(t + self.rng.randint(600, 6 * HOUR))
        return self.at(t // DAY_S + self.rng.randint(1, 6))

    def pay(self, t: int, payer: Member, payee: Member, fen: int, channel: str | None = None) -> int:
        """One transfer at t (absolute seconds from the origin): the customer sides' legs."""
        day, sod = divmod(t, DAY_S)
        assert 0 <= day < self.days, (day, self.days)
        amount = money(fen)
        channel = channel or self.rng.choice(("mobile", "mobile", "online"))
        legs = self.injected.setdefault(day, [])
        if payer.who is not None:
            legs.append((sod, next(self.seq), payer.who.cid, payer.who.acct, "out", amount, "CNY", "transfer", channel, payee.party, None))
        if payee.who is not None:
            legs.append((sod, next(self.seq), payee.who.cid, payee.who.acct, "in", amount, "CNY", "transfer", channel, payer.party, None))
        self.span.append(t)
        return t

    def start(self, window_days: int) -> int | None:
        """A first day, not before `first_day`, with window_days left; or None."""
        if self.days < self.first_day + window_days + 1:
            return None
        return self.rng.randint(self.first_day, self.days - window_days - 1)

    def labels(self, gid: str, typology: str) -> list[NetworkLabel]:
        first, last = min(self.span), max(self.span)
        start, end = rfc3339(self.origin, *divmod(first, DAY_S)), rfc3339(self.origin, *divmod(last, DAY_S))
        out = []
        for m in self.members:
            if m.who is not None:
                out.append(NetworkLabel(gid, typology, self.variant, m.role, m.account, m.who.cid, start, end))
            else:
                p = m.party
                out.append(NetworkLabel(gid, typology, self.variant, m.role, m.account, "", start, end, p.id, p.name, p.fields["counterparty_bank"]))
        return out


def fen(rng: random.Random, low_cny: float, high_cny: float) -> int:
    return rng.randint(round(low_cny * 100), round(high_cny * 100))
