"""What every injection uses: the injector that records injected legs and their time span."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

from synthbank.parties import Party
from synthbank.records import Event, Firm, Ids, Person
from synthbank.tables import DAY_S, HOUR


class Injector:
    def __init__(self, rng: random.Random, days: int, origin: date, ids: Ids, injected: dict[int, list[Event]]) -> None:
        self.rng = rng
        self.days = days
        self.origin = origin
        self.ids = ids
        self.injected = injected
        self.seq = itertools.count(-1, -1)  # injected events sort before ordinary ones of the same second
        self.span: list[tuple[int, int]] = []

    def emit(
        self,
        who: Person | Firm,
        day: int,
        sod: int,
        direction: str,
        amount: str,
        method: str,
        channel: str,
        cp: Party | str | None,
        currency: str = "CNY",
        extra: dict | None = None,
    ) -> None:
        assert 0 <= day < self.days and 0 <= sod < DAY_S
        self.injected.setdefault(day, []).append((sod, next(self.seq), who.cid, who.acct, direction, amount, currency, method, channel, cp, extra))
        self.span.append((day, sod))

    def party(self, kind: str = "person") -> Party:
        """A new outside counterparty (named, always with its id: the customer-level rules count them)."""
        return self.ids.party("X", kind, variants=False)

    def sod(self, first_hour: int, last_hour: int) -> int:
        return self.rng.randint(first_hour * HOUR, last_hour * HOUR + HOUR - 1)

    def weekday(self, day: int) -> int:
        return (self.origin + timedelta(days=day)).weekday()


def quiet(p: Person, first: int, last: int) -> None:
    p.quiet_from, p.quiet_to = max(first, 0), last
