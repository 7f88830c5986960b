"""What the benign look-alike structures do each day: rent collected by landlords that are
customers, and the transfers inside households (see `synthbank.lookalikes` for the shares)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import timedelta

from synthbank.records import Event, Firm, Person, Plan, money
from synthbank.tables import HOUR

FAMILY_TRANSFER_P = 0.1  # per household and day: about 3 a month
LOAN_P = 1 / 75
FORWARD_P = 1 / 120


class LookalikeDays:
    def __init__(self, plan: Plan, rng: random.Random, nxt: Callable[[], int], later: dict[int, list[Event]]) -> None:
        self.plan = plan
        self.rng = rng
        self.nxt = nxt
        self.later = later

    def _transfer(self, out: list[Event] | Callable, sod: int, payer: Person | Firm, payee: Person | Firm, fen: int) -> None:
        add = out if callable(out) else out.append
        nxt = self.nxt
        amount = money(fen)
        channel = "mobile" if self.rng.random() < 0.75 else "online"
        add((sod, nxt(), payer.cid, payer.acct, "out", amount, "CNY", "transfer", channel, payee.party, None))
        add((sod, nxt(), payee.cid, payee.acct, "in", amount, "CNY", "transfer", channel, payer.party, None))

    def _sod(self) -> int:
        return 8 * HOUR + int(self.rng.random() * 13.5 * HOUR)

    def day(self, d: int, wd: int, dom: int, add: Callable[[Event], None]) -> None:
        r = self.rng.random
        if wd < 5:  # rent to customers arrives on business days; Monday's includes the weekend's
            due = {dom}
            if wd == 0:
                today = self.plan.origin + timedelta(days=d)
                due |= {(today - timedelta(days=1)).day, (today - timedelta(days=2)).day}
            for landlord, tenants in self.plan.landlords:
                for tenant, rent_dom, fen in tenants:
                    if rent_dom in due:
                        self._transfer(add, self._sod(), tenant, landlord, fen)
                        if isinstance(landlord, Firm):
                            landlord.week_in += fen
        days = self.plan.days
        for members in self.plan.households:
            n = len(members)
            if r() < FAMILY_TRANSFER_P:  # pocket money, a share of a bill, a present
                i = int(r() * n)
                j = (i + 1 + int(r() * (n - 1))) % n
                self._transfer(add, self._sod(), members[i], members[j], _fen(self.rng, 600, 0.9, 100, 10_000))
            if r() < LOAN_P:  # lent and repaid in full: a two-party cycle
                i = int(r() * n)
                j = (i + 1 + int(r() * (n - 1))) % n
                fen = _fen(self.rng, 6_000, 0.7, 2_000, 30_000)
                self._transfer(add, self._sod(), members[i], members[j], fen)
                back = d + 5 + int(r() * 26)
                if back < days:
                    self._transfer(self.later.setdefault(back, []), self._sod(), members[j], members[i], fen)
            if n >= 3 and r() < FORWARD_P:  # a sum handed on: a short benign chain
                a, b, c = self.rng.sample(members, 3)
                fen = _fen(self.rng, 5_000, 0.7, 1_000, 20_000)
                sod = 8 * HOUR + int(r() * 6 * HOUR)
                self._transfer(add, sod, a, b, fen)
                onward = int(fen * (0.8 + 0.2 * r()))
                lag = int(r() * 3)
                if lag == 0:
                    self._transfer(add, sod + HOUR + int(r() * 6 * HOUR), b, c, onward)
                elif d + lag < days:
                    self._transfer(self.later.setdefault(d + lag, []), self._sod(), b, c, onward)


def _fen(rng: random.Random, median_cny: float, sigma: float, low_cny: float, high_cny: float) -> int:
    return round(min(max(median_cny * math.exp(sigma * rng.gauss(0.0, 1.0)), low_cny), high_cny) * 100)
