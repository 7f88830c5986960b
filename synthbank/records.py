"""Records shared by the generator stages: the people and firms of the bank while it is built,
the labels, and small helpers for money, time and weighted choice."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from factors.iso_codes import minor_unit
from synthbank.parties import Parties, Party, customer_party
from synthbank.tables import DEFAULT_START, TZ

Event = tuple[Any, ...]  # (second of day, seq, customer_id, account_id, direction, amount, currency, method, channel, counterparty_id, extra)


@dataclass(frozen=True)
class Label:
    customer_id: str
    typology: str
    start: str  # RFC 3339, first injected transaction
    end: str  # RFC 3339, last injected transaction


@dataclass(frozen=True)
class NetworkLabel:
    """One member account of one injected network group (a row of network_labels.csv)."""

    group_id: str
    typology: str
    variant: str  # fast | slow
    role: str
    account_id: str
    customer_id: str  # "" for an account outside the bank
    start: str  # RFC 3339, the group's first injected transaction
    end: str  # RFC 3339, the group's last injected transaction
    party_id: str = ""  # outside the bank: the counterparty_id its legs carry (X...), its name and bank
    party_name: str = ""
    party_bank: str = ""


@dataclass(frozen=True)
class BenignMember:
    """One account of one benign structure that looks like laundering (benign_structures.csv)."""

    structure_id: str
    kind: str
    role: str
    account_id: str
    customer_id: str  # "" outside the bank


@dataclass
class Population:
    profiles: list[dict]
    labels: list[Label]
    network_labels: list[NetworkLabel] = field(default_factory=list)
    benign: list[BenignMember] = field(default_factory=list)


def money(fen: int) -> str:
    """CNY fen (or foreign cents) -> decimal string with non-zero cents (never a round amount)."""
    if fen < 1:
        fen = 1
    if fen % 100 == 0:
        fen += 7
    return f"{fen // 100}.{fen % 100:02d}"


def foreign_money(cents: int, currency: str) -> str:
    """Hundredths of a foreign currency -> its decimal string, written with the currency's ISO 4217
    minor unit (JPY in whole yen: the decoder refuses decimals a currency does not have)."""
    if minor_unit(currency) != 0:
        return money(cents)
    units = max(1, round(cents / 100))
    return str(units + 7 if units % 100 == 0 else units)  # never a round amount


@lru_cache(maxsize=1)
def day_clock() -> tuple[str, ...]:
    """The local time of every second of a day, as "HH:MM:SS+08:00"."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}+08:00" for h in range(24) for m in range(60) for s in range(60))


def cum_table(pairs: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float], float]:
    keys = tuple(k for k, _ in pairs)
    cum = list(itertools.accumulate(w for _, w in pairs))
    return keys, cum, cum[-1]


def pick(rng: random.Random, table: tuple[tuple[str, ...], list[float], float]) -> str:
    keys, cum, total = table
    return keys[bisect.bisect_right(cum, rng.random() * total)]


def lognormal_fen(rng: random.Random, median_cny: float, sigma: float, low_cny: float, high_cny: float) -> int:
    value = median_cny * math.exp(sigma * rng.gauss(0.0, 1.0))
    return round(min(max(value, low_cny), high_cny) * 100)


class Person:
    __slots__ = (
        "acct",
        "acct2",
        "allowance",
        "atm_hi",
        "atm_p",
        "bills",
        "biz",
        "card_exp",
        "card_hi",
        "card_mu",
        "cid",
        "country",
        "declared",
        "employer",
        "favs",
        "household",
        "industry",
        "internal_employer",
        "listed",
        "n",
        "occ",
        "partners",
        "party",
        "party2",
        "payday",
        "quiet_from",
        "quiet_to",
        "rent",
        "salary",
        "split",
        "typology",
        "xb",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.cid = f"C{n:07d}"
        self.acct = f"A{n:07d}"
        self.acct2: str | None = None  # a second own account (salary split)
        self.party = customer_party(self.cid, self.acct)
        self.party2: Party | None = None  # the second account as a counterparty
        self.typology: str | None = None
        self.listed = False
        self.household: list[Person] | None = None
        self.rent: tuple[int, int] | None = None  # day of month, fen: a tenant (the landlord is chosen later)
        self.split: tuple[float, Person | None] | None = None  # share of the salary moved on payday, to whom (None: own second account)
        self.quiet_from = 1 << 30
        self.quiet_to = -1
        self.salary = 0  # fen a month (salary, pension, benefit)
        self.payday = 0  # target day of month of `salary`, 0 if none or paid by an internal employer
        self.employer: str | None = None
        self.internal_employer: Firm | None = None
        self.allowance: tuple[int, int, str, Person | None] | None = None  # day of month, fen, parent id, parent if a customer
        self.partners: list[tuple[str, Person | None, float, float, float]] = []  # id, customer, p/day, p(out), median fen
        self.xb: tuple[float, float, str, float, dict, tuple[str, ...], float] | None = None
        self.biz: list | None = None
        self.bills: list[tuple[int, str, float, float]] = []
        self.industry: str | None = None
        self.declared = 0


class Firm:
    __slots__ = (
        "acct",
        "acq_share",
        "b2c",
        "cash_daily",
        "cash_pending",
        "cid",
        "client_cum",
        "clients",
        "cost_share",
        "country",
        "daily_sales",
        "employees",
        "expected_week",
        "ext_pay",
        "industry",
        "int_suppliers",
        "k_sup",
        "lam_exp",
        "listed",
        "monthly",
        "n",
        "party",
        "payroll_via",
        "petty_p",
        "region",
        "run_sod",
        "staff",
        "suppliers",
        "ticket_mu",
        "turnover",
        "typology",
        "week_in",
        "xb_share",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.cid = f"C{n:07d}"
        self.acct = f"A{n:07d}"
        self.party = customer_party(self.cid, self.acct)
        self.typology: str | None = None
        self.listed = False
        self.int_suppliers: list[Firm] = []  # suppliers that are customers of the bank (paid on Wednesdays)
        self.payroll_via: Party | None = None  # a payroll provider paying the employees
        self.employees: list[Person] = []  # customers of the bank on the payroll
        self.week_in = 0
        self.cash_pending = 0.0


class Ids:
    """Sequential ids per prefix, and the external parties behind them (names from their own rng,
    so that naming never shifts the behaviour's random draws)."""

    def __init__(self, seed: int = 0) -> None:
        self.counters: dict[str, itertools.count] = {}
        self.parties = Parties(random.Random(seed * 7_919 + 3))
        self.named: dict[str, Party] = {}

    def __call__(self, prefix: str, width: int = 7) -> str:
        counter = self.counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}{next(counter):0{width}d}"

    def party(self, prefix: str, kind: str = "person", width: int = 7, extra: dict | None = None, variants: bool = True) -> Party:
        """A new external party with the next id of `prefix`."""
        return self.parties.new(self(prefix, width), kind, extra=extra, variants=variants)

    def hub(self, pid: str, name: str, kind: str = "firm") -> Party:
        """The one party of a fixed id (a utility, an acquirer, a social security fund, ...)."""
        if pid not in self.named:
            self.named[pid] = self.parties.new(pid, kind, name=name)
        return self.named[pid]


@dataclass
class Plan:
    seed: int
    days: int
    origin: date
    persons: list[Person]
    firms: list[Firm]
    merchants: tuple[str, ...]
    injected: dict[int, list[Event]]
    households: list[list[Person]] = field(default_factory=list)
    landlords: list[tuple[Person | Firm, list[tuple[Person, int, int]]]] = field(default_factory=list)  # landlord, (tenant, day of month, fen)
    providers: list[tuple[Party, Firm]] = field(default_factory=list)  # payroll provider, the firm whose employees it pays
    acquirers: tuple[Party, ...] = ()


def local_origin(start: datetime | None) -> date:
    moment = start or DEFAULT_START
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TZ)
    return moment.astimezone(TZ).date()


def rfc3339(origin: date, day: int, sod: int) -> str:
    return f"{(origin + timedelta(days=day)).isoformat()}T{day_clock()[sod]}"
