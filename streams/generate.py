"""A synthetic bank: customer profiles, a transaction stream and ground-truth typology labels.

`generate(customers, days, seed)` returns the population (customer-profile.v1 dicts and the
labels of the injected typologies) and a lazy iterator of transaction.v1 dicts in event-time
order; `write` puts them in `customers.jsonl`, `transactions.jsonl` and `labels.csv`. Pure and
deterministic: the same arguments give the same bytes (no wall clock, no I/O but `write`, no
string hashing). Days run from local midnight (Asia/Shanghai, +08:00) of `start`'s date, default
2026-08-01 (a Saturday). All timestamps carry +08:00. Amounts are decimal strings; every ordinary
amount has non-zero cents (so none is a multiple of 1,000, the engine's round-amount flag) except
ATM withdrawals, which are multiples of CNY 100 as ATMs dispense them. Transactions carry
`tx_id` (T000000001, ... in stream order), `customer_id`, `account_id`, `ts`, `direction`,
`amount`, `currency`, `method`, `channel`, usually `counterparty_id`, and for cross-border legs
`cross_border: true` and `counterparty_country` (`cross_border` is omitted when false, its
default). Figures below are shares of all customers unless stated otherwise.

Population
----------
* Individuals 85 %. Occupations (share of individuals): salaried 60 % (employee 40, professional
  9, manager 5, civil_servant 3, finance_officer 2, soe_senior 0.4, judicial_official 0.2,
  military_official 0.2), self_employed 10, student 10, retired 14, farmer 3, unemployed 2.4,
  PEPs 0.8 (pep_domestic 0.6, pep_foreign 0.2; pep=true, industry government). Nationality CN
  93 %, HK 2 %, US/GB/SG/JP/KR/AU/CA/DE/FR 3.7 % together, 1.3 % from countries on the
  standard's country lists (VN, RU, MM, LA, KE, NP, MX, CO, PE, AF, SO); residence CN except
  for 30 % of foreigners. Industry: the employer's (salaried), the trade (self-employed),
  agriculture (farmers), government (PEPs), none otherwise.
* Entities 15 %, across every industry of the standard's [industries] table: about 85 % in
  industries scoring 0-5 points (manufacturing 14 %, retail 13 %, wholesale 11 %, catering 10 %,
  IT 8 %, logistics 6 %, ...), 14 % in 10-25-point ones (import_export, real_estate, finance,
  professional services, jewellery, karaoke, ...), about 2 % in 30-40-point ones (casino,
  gambling, arms, money_remitter, currency_exchange, offshore_company). Registration CN 92 %,
  HK 4 %, SG/US/GB/JP/KR/DE 3 %; offshore companies are registered in VG/KY/BM/SC/BS.
  ownership_opaque: 70 % of offshore companies, 2 % of other entities.
* Flags: listed 0.2 % of all customers; under_investigation and criminal_record 0.1 % each of
  individuals; high_risk_partners 20 % of offshore companies, money remitters and currency
  exchanges. Products from the standard's [products] table (e_banking ~90 %, self_service,
  investment, bills, agency, group_business, bearer rarely; the two remittance products for
  customers with cross-border flows).
* declared_annual_income (individuals: 12 monthly salaries x 1.05-1.4, pensions x 1.0-1.2, the
  expected receipts of the self-employed and farmers x 1.1-1.5; students and 70 % of the
  unemployed 0) or declared_annual_turnover (entities: the generated annual receipts x 0.9-1.3),
  so that the 90-day turnover (in + out) stays below the profile_mismatch bar.
  onboarded_at 1 month to 15 years before the start, updated_at = start - 1 day.

Ordinary behaviour
------------------
* Salaried: a monthly salary (CNY 3,000-80,000 by occupation) from the employer on its payday
  (moved to the Friday before when it falls on a weekend), 08:00-11:59. ~30 % work for an entity
  customer of the bank, whose payroll run pays them (both legs). Retirees get a pension from the
  social security fund, students a monthly allowance from a parent, farmers irregular receipts
  from 1-3 buyers, the unemployed a benefit. Self-employed: receipts from 3-10 regular clients
  (Mon-Sat), a weekly cash deposit now and then (at most CNY 5,000), a weekly supplier payment.
* Everyone: card payments (pos/online/mobile, 07:00-22:59) mostly at 3-8 favourite merchants of
  a shared merchant pool, monthly bills (electricity, water/gas, phone, rent for a third of the
  salaried) on fixed days, ATM withdrawals (CNY 200-3,000), transfers with 0-3 recurring
  personal counterparties (40 % of them customers of the bank: both legs are emitted with the
  same time and amount, each with the other customer as counterparty_id). 6 % of CN individuals
  and 60 % of foreigners (not those from high-risk-flows countries) make or receive a
  cross-border remittance about once every five weeks (USD, HKD, GBP, EUR, ... equivalent of CNY
  2,000-40,000, below the USD 10,000 large-value line), always with countries that are on no
  high-risk-flows list.
* Entities (annual receipts CNY 0.5-30 million for business-to-business firms, 0.6-4 million
  for consumer-facing ones; 1-80 employees) receive money on business days only: B2B firms from
  a pool of repeat clients (2-12 receipts a day from 1.2-2.5 x that many clients, Zipf weights,
  09:00-17:59; import/export and similar firms partly in USD/EUR/JPY from abroad),
  consumer-facing ones (retail, catering, healthcare, ...) as T+1 settlements of card and QR
  sales from three acquirers at 10:00-11:30 (Monday's covers Friday to Sunday), plus a few
  corporate clients and, for cash businesses, cash deposits of at most CNY 28,000. They pay in
  one weekly payment run on Monday 08:00-08:40, before any receipt of the day: 4-5 of their 5-15
  suppliers (45-60 % of the previous week's receipts, at fixed minutes of the run), and in the
  week of the 8th-14th also rent, utilities and the payroll (one leg per employee; employees who
  are customers get the second leg). B2B firms now and then withdraw petty cash (CNY
  2,000-10,000). So an entity's 48 h before an outflow hold no receipts (no rapid_in_out), every
  7 days show at least 4 payees and usually many payers (the three acquirers at least), money
  out stays well below money in (no fan-in or fan-out), and repeat clients keep the
  distinct-counterparty ratio below frequent_one_off's even in the first days of the stream.
* Sizes within a peer group (kind x industry) vary by at most ~3x, so nobody ordinary reaches 5x
  the group's average count or cash, and ordinary cash stays far below CNY 50,000 in 30 days
  for individuals. Nobody ordinary transacts between 00:00 and 06:59.

Injected typologies
-------------------
round(customers / 50) customers, individuals (never PEPs or listed) except for
high_risk_jurisdiction (40 % entities of trading industries), chosen by the seed, get one typology each, cycling through the typologies the number
of days allows in a seeded order; each is a row of labels.csv (typology = the pattern id of
factors/patterns, start/end = the first and last injected transaction). Injected customers have
only outside employers and counterparties, and for some typologies no ordinary activity in a
quiet period around the injection (a mule account used for one purpose), given below. Every
injection meets its rule with the default parameters:

* structuring: 2-3 cash deposits (25 %: withdrawals) of CNY 41,000-47,900 at the counter on
  consecutive days, each less than 24 h after the previous one; one a day, so no same_day_cash.
  Quiet on those days.
* rapid_in_out: CNY 60,000-280,000 in from one payer in the morning, 93-98 % of it paid on to two
  payees the same afternoon. Quiet the two days before.
* fan_in: 11-14 payers (CNY 9,500-16,000 each, over three days), then 85-95 % of the total to
  one or two payees two and a half days after the last payment in (outside rapid_in_out's 48 h).
  Quiet from 8 days before to 1 day after. Needs 6 days.
* fan_out: one lump of CNY 110,000-240,000, three days later 11-14 payees over two days
  receiving 92-99 % of it. Quiet from 8 days before to 2 days after. Needs 5 days.
* dormant_reactivation: ordinary activity on days 0-9 only, then silence, then from day 195 on
  6-8 transactions within 3 days (CNY 3,000-15,000 each). Needs days >= 200; with fewer days it
  is skipped (not assigned to anyone).
* high_risk_jurisdiction: 1-3 remittances (USD 800-4,500) to or from a counterparty in a country
  on one of the standard's high_risk_flows lists (IR, KP, MM, RU, SY, BY, VG, KY, PA, VN, LA,
  KE, LB, VE); for an entity 1-3 USD 8,000-60,000 supplier payments in its Monday runs (with no
  Monday left, one receipt).
* peer_cash_outlier: an individual of a peer group with at least 25 members deposits cash at
  the counter every 1-2 days (CNY 9,500-15,000, one a day) until CNY 68,000+ within about two
  weeks: above max(5 x the group's 30-day average cash, 50,000) (individual averages are a few
  thousand). The rule needs a published peer baseline. Needs 16 days.
* profile_mismatch: an employee, professional, civil servant, self-employed person, retiree or
  farmer receives 3 or more transfers from one payer totalling 1.1-1.3 x max(3 x declared income
  x 90 / 365, 200,000) within 80 days; nothing goes out.
* frequent_one_off: 22-28 small transfers in and out (CNY 300-2,500) within 4-13 days, each with
  a new counterparty. Quiet from 31 days before. Needs 4 days.
* round_amounts: 5-7 transfers out of CNY 4,000-9,000 in whole thousands within one day. Quiet
  the two days before.
* night_burst: 5-8 online payments of CNY 2,200-5,000 between 00:20 and 04:40.
same_day_cash and peer_frequency_outlier are not injected (no label); ordinary data should not
trigger them either.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

TZ = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2026, 8, 1, tzinfo=TZ)
DAY_S = 86_400
HOUR = 3_600
TYPOLOGY_SHARE = 1 / 50

# The default standard's FX table (factors/standards/default.toml [fx.cny_per_unit]).
CNY_PER_UNIT = {"CNY": 1.0, "USD": 7.10, "EUR": 7.70, "HKD": 0.91, "JPY": 0.047, "GBP": 9.00, "SGD": 5.30, "AUD": 4.65, "CAD": 5.10, "CHF": 8.10}
# Union of the standard's country lists marked high_risk_flows (sanctioned, FATF call for action,
# FATF increased monitoring, tax havens): ordinary flows never go there.
HIGH_RISK_FLOW_COUNTRIES = frozenset(
    (
        "KP",
        "IR",
        "CU",
        "SY",
        "RU",
        "BY",
        "MM",
        "DZ",
        "AO",
        "BO",
        "BG",
        "CM",
        "CI",
        "CD",
        "HT",
        "KE",
        "LA",
        "LB",
        "MC",
        "NA",
        "NP",
        "SS",
        "VE",
        "VN",
        "YE",
        "VG",
        "KY",
        "BM",
        "BS",
        "PA",
        "SC",
        "MH",
        "WS",
        "VU",
        "AI",
        "TC",
        "JE",
        "GG",
        "IM",
        "LI",
        "BZ",
    )
)
INJECTED_HRJ_COUNTRIES = ("IR", "KP", "MM", "RU", "SY", "BY", "VG", "KY", "PA", "VN", "LA", "KE", "LB", "VE")
# Countries ordinary cross-border flows go to, with their currency.
ORDINARY_ABROAD = {"US": "USD", "HK": "HKD", "GB": "GBP", "SG": "SGD", "JP": "JPY", "AU": "AUD", "CA": "CAD", "DE": "EUR", "FR": "EUR", "KR": "USD", "CH": "CHF"}
HOME_CURRENCY = ORDINARY_ABROAD | {"MX": "USD", "CO": "USD", "PE": "USD", "AF": "USD", "SO": "USD"}

TYPOLOGIES = (
    "structuring",
    "rapid_in_out",
    "fan_in",
    "fan_out",
    "dormant_reactivation",
    "high_risk_jurisdiction",
    "peer_cash_outlier",
    "profile_mismatch",
    "frequent_one_off",
    "round_amounts",
    "night_burst",
)
MIN_DAYS = {
    "structuring": 3,
    "rapid_in_out": 1,
    "fan_in": 6,
    "fan_out": 5,
    "dormant_reactivation": 200,
    "high_risk_jurisdiction": 1,
    "peer_cash_outlier": 16,
    "profile_mismatch": 1,
    "frequent_one_off": 4,
    "round_amounts": 1,
    "night_burst": 1,
}

OCCUPATIONS = (
    ("employee", 40.0),
    ("professional", 9.0),
    ("manager", 5.0),
    ("civil_servant", 3.0),
    ("finance_officer", 2.0),
    ("soe_senior", 0.4),
    ("judicial_official", 0.2),
    ("military_official", 0.2),
    ("self_employed", 10.0),
    ("student", 10.0),
    ("retired", 14.0),
    ("farmer", 3.0),
    ("unemployed", 2.4),
    ("pep_domestic", 0.6),
    ("pep_foreign", 0.2),
)
# Monthly net salary: median CNY, log-sigma.
SALARY = {
    "employee": (7_500, 0.45),
    "professional": (14_000, 0.45),
    "manager": (26_000, 0.5),
    "civil_servant": (9_000, 0.3),
    "finance_officer": (12_000, 0.35),
    "soe_senior": (35_000, 0.3),
    "judicial_official": (12_000, 0.3),
    "military_official": (12_000, 0.3),
    "pep_domestic": (20_000, 0.3),
    "pep_foreign": (30_000, 0.4),
}
GOVERNMENT_JOBS = frozenset(("civil_servant", "judicial_official", "military_official", "pep_domestic", "pep_foreign"))
INDIVIDUAL_COUNTRIES = (
    ("CN", 930),
    ("HK", 20),
    ("US", 8),
    ("SG", 6),
    ("GB", 5),
    ("JP", 4),
    ("KR", 4),
    ("AU", 3),
    ("CA", 3),
    ("DE", 2),
    ("FR", 2),
    ("VN", 2),
    ("RU", 2),
    ("MM", 1),
    ("LA", 1),
    ("KE", 1),
    ("NP", 1),
    ("MX", 1),
    ("CO", 1),
    ("PE", 1),
    ("AF", 1),
    ("SO", 1),
)
ENTITY_COUNTRIES = (("CN", 920), ("HK", 40), ("SG", 10), ("US", 7), ("GB", 5), ("JP", 3), ("KR", 3), ("DE", 2))
OFFSHORE_COUNTRIES = (("VG", 40), ("KY", 30), ("BM", 10), ("SC", 10), ("BS", 10))
PEP_FOREIGN_COUNTRIES = (("HK", 30), ("SG", 20), ("US", 15), ("GB", 15), ("JP", 10), ("KR", 10))
# Entity industries (every code of the standard's [industries] table), weight per mille.
INDUSTRIES = (
    ("manufacturing", 140),
    ("retail", 130),
    ("wholesale", 110),
    ("catering", 100),
    ("information_technology", 80),
    ("logistics", 60),
    ("import_export", 50),
    ("real_estate", 40),
    ("agriculture", 30),
    ("education", 30),
    ("healthcare", 30),
    ("finance", 20),
    ("travel_agency", 20),
    ("law_firm", 15),
    ("accounting", 15),
    ("cash_intensive", 15),
    ("investment_advisory", 10),
    ("government", 10),
    ("karaoke", 10),
    ("jewellery", 10),
    ("nightclub", 5),
    ("massage_sauna", 5),
    ("precious_metals", 5),
    ("pawnshop", 5),
    ("lottery", 5),
    ("offshore_company", 6),
    ("money_remitter", 4),
    ("currency_exchange", 4),
    ("art_antiques", 3),
    ("auction_house", 3),
    ("rare_minerals", 3),
    ("casino", 1.5),
    ("gambling", 1),
    ("arms", 0.5),
)
EMPLOYER_INDUSTRIES = (
    ("manufacturing", 20),
    ("information_technology", 12),
    ("retail", 8),
    ("education", 8),
    ("healthcare", 8),
    ("wholesale", 6),
    ("logistics", 6),
    ("finance", 6),
    ("catering", 5),
    ("real_estate", 4),
    ("import_export", 2),
    ("agriculture", 2),
    ("law_firm", 1),
    ("accounting", 1),
    ("investment_advisory", 1),
    ("travel_agency", 1),
)
TRADE_INDUSTRIES = (
    ("retail", 35),
    ("catering", 25),
    ("wholesale", 10),
    ("logistics", 8),
    ("information_technology", 6),
    ("travel_agency", 4),
    ("agriculture", 4),
    ("jewellery", 2),
    ("law_firm", 2),
    ("accounting", 2),
    ("art_antiques", 1),
    ("pawnshop", 1),
)
CONSUMER = frozenset(("retail", "catering", "karaoke", "nightclub", "massage_sauna", "cash_intensive", "travel_agency", "healthcare", "education"))
CONSUMER |= frozenset(("lottery", "pawnshop", "jewellery", "casino", "gambling"))
CASH_BUSINESS = frozenset(("retail", "catering", "karaoke", "nightclub", "massage_sauna", "cash_intensive", "pawnshop", "jewellery", "casino", "gambling", "lottery"))
CROSS_BORDER_SHARE = {
    "import_export": 0.6,
    "offshore_company": 0.5,
    "rare_minerals": 0.3,
    "money_remitter": 0.3,
    "precious_metals": 0.2,
    "art_antiques": 0.2,
    "currency_exchange": 0.2,
    "travel_agency": 0.15,
    "wholesale": 0.1,
    "manufacturing": 0.05,
}
HRJ_ENTITY_INDUSTRIES = frozenset(("import_export", "wholesale", "offshore_company", "money_remitter", "precious_metals", "jewellery", "rare_minerals", "manufacturing"))
PRODUCTS = ("self_service", "e_banking", "cross_border_remittance", "bills", "agency", "investment", "group_business", "bearer", "exchange_remittance")
ACQUIRERS = ("ACQ-UNIONPAY", "ACQ-ALIPAY", "ACQ-WECHATPAY")
REGIONS = 12

# Local hours drawn for card payments (07-22), online transfers (08-21) and counter business (09-16).
CARD_HOURS = tuple(itertools.chain.from_iterable([h] * w for h, w in zip(range(7, 23), (2, 5, 4, 4, 6, 10, 7, 4, 4, 4, 6, 9, 10, 8, 6, 3), strict=True)))
ONLINE_HOURS = tuple(itertools.chain.from_iterable([h] * w for h, w in zip(range(8, 22), (3, 5, 5, 5, 6, 5, 4, 4, 4, 5, 6, 6, 5, 3), strict=True)))
OFFICE_HOURS = tuple(range(9, 17))

Event = tuple[Any, ...]  # (second of day, seq, customer_id, account_id, direction, amount, currency, method, channel, counterparty_id, extra)


@dataclass(frozen=True)
class Label:
    customer_id: str
    typology: str
    start: str  # RFC 3339, first injected transaction
    end: str  # RFC 3339, last injected transaction


@dataclass
class Population:
    profiles: list[dict]
    labels: list[Label]


def money(fen: int) -> str:
    """CNY fen (or foreign cents) -> decimal string with non-zero cents (never a round amount)."""
    if fen < 1:
        fen = 1
    if fen % 100 == 0:
        fen += 7
    return f"{fen // 100}.{fen % 100:02d}"


@lru_cache(maxsize=1)
def _clock() -> tuple[str, ...]:
    """The local time of every second of a day, as "HH:MM:SS+08:00"."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}+08:00" for h in range(24) for m in range(60) for s in range(60))


def _cum(pairs: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float], float]:
    keys = tuple(k for k, _ in pairs)
    cum = list(itertools.accumulate(w for _, w in pairs))
    return keys, cum, cum[-1]


def _pick(rng: random.Random, table: tuple[tuple[str, ...], list[float], float]) -> str:
    keys, cum, total = table
    return keys[bisect.bisect_right(cum, rng.random() * total)]


def _lognormal_fen(rng: random.Random, median_cny: float, sigma: float, low_cny: float, high_cny: float) -> int:
    value = median_cny * math.exp(sigma * rng.gauss(0.0, 1.0))
    return round(min(max(value, low_cny), high_cny) * 100)


class _Person:
    __slots__ = (
        "acct",
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
        "industry",
        "internal_employer",
        "n",
        "occ",
        "partners",
        "payday",
        "quiet_from",
        "quiet_to",
        "salary",
        "typology",
        "xb",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.cid = f"C{n:07d}"
        self.acct = f"A{n:07d}"
        self.typology: str | None = None
        self.quiet_from = 1 << 30
        self.quiet_to = -1
        self.salary = 0  # fen a month (salary, pension, benefit)
        self.payday = 0  # target day of month of `salary`, 0 if none or paid by an internal employer
        self.employer: str | None = None
        self.internal_employer: _Firm | None = None
        self.allowance: tuple[int, int, str, _Person | None] | None = None  # day of month, fen, parent id, parent if a customer
        self.partners: list[tuple[str, _Person | None, float, float, float]] = []  # id, customer, p/day, p(out), median fen
        self.xb: tuple[float, float, str, float, dict, tuple[str, ...], float] | None = None
        self.biz: list | None = None
        self.bills: list[tuple[int, str, float, float]] = []
        self.industry: str | None = None
        self.declared = 0


class _Firm:
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
        "k_sup",
        "lam_exp",
        "monthly",
        "n",
        "petty_p",
        "run_sod",
        "staff",
        "suppliers",
        "ticket_mu",
        "turnover",
        "week_in",
        "xb_share",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.cid = f"C{n:07d}"
        self.acct = f"A{n:07d}"
        self.employees: list[_Person] = []  # customers of the bank on the payroll
        self.week_in = 0
        self.cash_pending = 0.0


class _Ids:
    def __init__(self) -> None:
        self.counters: dict[str, itertools.count] = {}

    def __call__(self, prefix: str, width: int = 7) -> str:
        counter = self.counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}{next(counter):0{width}d}"


@dataclass
class _Plan:
    seed: int
    days: int
    origin: date
    persons: list[_Person]
    firms: list[_Firm]
    merchants: tuple[str, ...]
    injected: dict[int, list[Event]]


# ---- population --------------------------------------------------------------------------------


def _local_origin(start: datetime | None) -> date:
    moment = start or DEFAULT_START
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TZ)
    return moment.astimezone(TZ).date()


def _rfc3339(origin: date, day: int, sod: int) -> str:
    return f"{(origin + timedelta(days=day)).isoformat()}T{_clock()[sod]}"


def _products(rng: random.Random, shares: dict[str, float]) -> list[str]:
    return [p for p in PRODUCTS if rng.random() < shares.get(p, 0.0)]


def _build_firm(f: _Firm, rng: random.Random, ids: _Ids) -> None:
    industry = f.industry
    f.b2c = industry in CONSUMER
    if f.b2c:
        f.turnover = _lognormal_fen(rng, 1_500_000, 0.45, 600_000, 4_000_000)
        f.daily_sales = f.turnover / 365
        shares = [0.6 + 0.8 * rng.random() for _ in ACQUIRERS]
        f.acq_share = tuple(s / sum(shares) for s in shares)
        f.cash_daily = min(f.daily_sales * (0.15 + 0.15 * rng.random()), 800_000) if industry in CASH_BUSINESS else 0.0
        f.lam_exp = math.exp(-0.3)  # corporate clients paying directly, per business day
        f.ticket_mu = math.log(f.turnover / 250 / 20)
        n_clients = rng.randint(4, 10)
    else:
        f.turnover = _lognormal_fen(rng, 3_000_000, 0.8, 500_000, 30_000_000)
        lam = min(max(2.0 + 5.0 * math.log10(f.turnover / 50_000_000), 2.0), 12.0)
        f.lam_exp = math.exp(-lam)
        f.ticket_mu = math.log(f.turnover / 250 / lam / 1.28)  # lognormal sigma 0.7: mean = median x 1.28
        f.daily_sales = 0.0
        f.cash_daily = 0.0
        n_clients = max(4, round(lam * (1.2 + 1.3 * rng.random())))  # repeat clients: a few make most of the receipts
    f.expected_week = f.turnover * 7 / 365
    xb = CROSS_BORDER_SHARE.get(industry, 0.0)
    f.xb_share = xb
    clients = []
    for _ in range(n_clients):
        if rng.random() < xb:
            country = rng.choice(("US", "DE", "JP", "KR", "GB", "AU", "SG", "HK", "FR", "CA"))
            currency = "USD" if country in ("US", "KR", "SG", "HK", "AU", "CA") else ORDINARY_ABROAD[country]
            clients.append((ids("K"), currency, CNY_PER_UNIT[currency], {"cross_border": True, "counterparty_country": country}))
        else:
            clients.append((ids("K"), "CNY", 1.0, None))
    f.clients = tuple(clients)
    f.client_cum = list(itertools.accumulate(1 / (i + 1) ** 1.3 for i in range(n_clients)))
    suppliers = []
    for _ in range(rng.randint(5, 15)):
        if rng.random() < xb * 0.8:
            country = rng.choice(("HK", "JP", "KR", "DE", "US", "SG", "AU"))
            currency = ORDINARY_ABROAD[country]
            suppliers.append((ids("S"), currency, CNY_PER_UNIT[currency], {"cross_border": True, "counterparty_country": country}))
        else:
            suppliers.append((ids("S"), "CNY", 1.0, None))
    f.suppliers = tuple(suppliers)
    f.k_sup = rng.randint(4, 5)
    f.cost_share = 0.45 + 0.15 * rng.random()
    f.run_sod = 8 * HOUR + rng.randint(0, 900)
    f.staff = max(1, min(80, round(f.turnover / (400_000 + 400_000 * rng.random()) / 100)))
    region = rng.randrange(REGIONS)
    monthly = [(f"U-SGCC-{region:02d}", f.turnover * 0.004 / 12), (f"U-WATER-{region:02d}", f.turnover * 0.001 / 12)]
    if rng.random() < 0.8:
        monthly.append((ids("L", 6), f.turnover * (0.03 + 0.04 * rng.random()) / 12))
    f.monthly = tuple((cp, max(fen, 20_000)) for cp, fen in monthly)
    f.petty_p = 0.0 if f.b2c else 0.08


def _build(customers: int, days: int, seed: int, start: datetime | None) -> tuple[_Plan, list[dict], list[Label]]:
    rng = random.Random(seed)
    ids = _Ids()
    origin = _local_origin(start)
    n_entities = round(customers * 0.15)
    kinds = ["entity"] * n_entities + ["individual"] * (customers - n_entities)
    rng.shuffle(kinds)
    occupations = _cum(OCCUPATIONS)
    ind_countries = _cum(INDIVIDUAL_COUNTRIES)
    ent_countries = _cum(ENTITY_COUNTRIES)
    offshore_countries = _cum(OFFSHORE_COUNTRIES)
    pep_countries = _cum(PEP_FOREIGN_COUNTRIES)
    industries = _cum(INDUSTRIES)
    employer_industries = _cum(EMPLOYER_INDUSTRIES)
    trades = _cum(TRADE_INDUSTRIES)

    persons: list[_Person] = []
    firms: list[_Firm] = []
    for n, kind in enumerate(kinds, 1):
        if kind == "entity":
            f = _Firm(n)
            f.industry = _pick(rng, industries)
            f.country = _pick(rng, offshore_countries if f.industry == "offshore_company" else ent_countries)
            _build_firm(f, rng, ids)
            firms.append(f)
        else:
            p = _Person(n)
            p.occ = _pick(rng, occupations)
            p.country = _pick(rng, pep_countries) if p.occ == "pep_foreign" else "CN" if p.occ == "pep_domestic" else _pick(rng, ind_countries)
            persons.append(p)

    # Employers outside the bank: id, industry, payday.
    external_employers = [(ids("E", 5), _pick(rng, employer_industries), rng.choice((5, 10, 10, 15, 15, 20, 25, 28))) for _ in range(max(20, len(persons) // 25))]
    merchants = tuple(ids("M", 6) for _ in range(max(200, customers // 5)))

    # Typology customers first: they get no internal employer or counterparty.
    labels_plan = _choose_typologies(rng, persons, firms, days)

    # Incomes and behaviour of individuals.
    slots = [f for f in firms for _ in range(f.staff)]
    rng.shuffle(slots)
    regular = [p for p in persons if p.typology is None]
    for p in persons:
        _build_person(p, rng, ids, external_employers, merchants, slots, regular, trades)
    for f in firms:
        f.ext_pay = tuple((ids("W"), _lognormal_fen(rng, 6_500, 0.35, 3_000, 40_000)) for _ in range(max(0, f.staff - len(f.employees))))

    injected: dict[int, list[Event]] = {}
    labels = _inject(rng, labels_plan, persons, days, origin, ids, injected)
    profiles = _profiles(rng, persons, firms, origin)
    return _Plan(seed, days, origin, persons, firms, merchants, injected), profiles, labels


def _choose_typologies(rng: random.Random, persons: list[_Person], firms: list[_Firm], days: int) -> list[tuple[str, Any]]:
    feasible = [t for t in TYPOLOGIES if days >= MIN_DAYS[t]]
    count = round((len(persons) + len(firms)) * TYPOLOGY_SHARE)
    if not feasible or count == 0:
        return []
    order = feasible[:]
    rng.shuffle(order)
    candidates = [p for p in persons if not p.occ.startswith("pep_")]
    rng.shuffle(candidates)
    chosen: list[tuple[str, Any]] = []
    used: set[int] = set()
    hrj_firms = [f for f in firms if f.industry in HRJ_ENTITY_INDUSTRIES]
    for i in range(count):
        typology = order[i % len(order)]
        if typology == "high_risk_jurisdiction" and hrj_firms and rng.random() < 0.4:
            f = hrj_firms.pop(rng.randrange(len(hrj_firms)))
            used.add(f.n)
            chosen.append((typology, f))
            continue
        pick = next((p for p in candidates if p.n not in used and _eligible(typology, p)), None)
        if pick is None:
            continue
        used.add(pick.n)
        pick.typology = typology
        chosen.append((typology, pick))
    return chosen


def _eligible(typology: str, p: _Person) -> bool:
    if typology == "profile_mismatch":  # a modest declared income
        return p.occ in ("employee", "professional", "civil_servant", "self_employed", "retired", "farmer")
    return True


def _build_person(
    p: _Person,
    rng: random.Random,
    ids: _Ids,
    employers: list[tuple[str, str, int]],
    merchants: tuple[str, ...],
    slots: list[_Firm],
    regular: list[_Person],
    trades: Any,
) -> None:
    occ = p.occ
    region = rng.randrange(REGIONS)
    income = 0  # expected fen a month
    if occ in SALARY:
        median, sigma = SALARY[occ]
        p.salary = _lognormal_fen(rng, median, sigma, 3_000, 80_000)
        income = p.salary
        if occ in GOVERNMENT_JOBS:
            p.employer, p.payday, p.industry = f"G-GOV-{region:02d}", 15, "government"
        elif p.typology is None and slots and rng.random() < 0.3:
            firm = slots.pop()
            p.internal_employer = firm
            firm.employees.append(p)
            p.employer, p.industry = firm.cid, firm.industry
        else:
            p.employer, p.industry, p.payday = rng.choice(employers)
        p.declared = round(12 * p.salary * (1.05 + 0.35 * rng.random()) / 100_000) * 1000
    elif occ == "retired":
        p.salary = _lognormal_fen(rng, 4_200, 0.4, 1_500, 15_000)
        p.employer, p.payday = f"G-SSF-{region:02d}", rng.choice((5, 10, 15))
        income = p.salary
        p.declared = round(12 * p.salary * (1.0 + 0.2 * rng.random()) / 100_000) * 1000
    elif occ == "unemployed":
        p.salary = _lognormal_fen(rng, 1_900, 0.15, 1_200, 3_000)
        p.employer, p.payday = f"G-SSF-{region:02d}", 20
        income = p.salary
        p.declared = 0 if rng.random() < 0.7 else round(12 * p.salary / 100_000) * 1000
    elif occ == "student":
        parent = rng.choice(regular) if p.typology is None and regular and rng.random() < 0.5 else None
        if parent is p:
            parent = None
        fen = _lognormal_fen(rng, 2_200, 0.3, 1_000, 5_000)
        p.allowance = (rng.randint(1, 28), fen, parent.cid if parent else ids("P"), parent)
        income = fen
        p.declared = 0
    elif occ in ("self_employed", "farmer"):
        farmer = occ == "farmer"
        p.industry = "agriculture" if farmer else _pick(rng, trades)
        lam = 0.15 + 0.15 * rng.random() if farmer else 0.8 + 1.7 * rng.random()
        ticket = _lognormal_fen(rng, 4_000 if farmer else 1_800, 0.4, 500, 15_000 if farmer else 3_000) / 100
        clients = tuple(ids("K") for _ in range(rng.randint(1, 3) if farmer else rng.randint(3, 10)))
        cash_p = 0.05 if farmer else 0.12
        suppliers = tuple(ids("S") for _ in range(rng.randint(2, 4)))
        # lambda exp, workdays (< 6: Mon-Sat), clients, ticket log-median, cash p/day, supplier weekday, supplier share, [receipts since payment]
        p.biz = [math.exp(-lam), clients, math.log(ticket), cash_p, suppliers, rng.randrange(5), 0.3 + 0.2 * rng.random(), 0]
        income = round(lam * 26 * ticket * 1.08 * 100 + cash_p * 30 * 3_250 * 100)
        p.declared = round(12 * income * (1.1 + 0.4 * rng.random()) / 100_000) * 1000

    # Card spending: a share of income, at a few favourite merchants.
    base_rate = {"student": 1.4, "retired": 0.6, "farmer": 0.5, "unemployed": 0.6, "manager": 1.3}.get(occ, 1.0)
    rate = base_rate * (0.6 + 0.8 * rng.random())
    p.card_exp = math.exp(-rate)
    monthly_spend = max(income, 150_000) * (0.8 if occ == "student" else 0.35 + 0.15 * rng.random())
    mean_ticket = monthly_spend / (30 * rate)
    p.card_mu = math.log(max(mean_ticket / 1.5, 300))  # lognormal sigma 0.9: mean = median x 1.5
    p.card_hi = int(max(income * 0.4, 300_000))
    p.favs = tuple(rng.sample(merchants, rng.randint(3, 8)))

    # Bills on fixed days; rent for a third of the salaried.
    p.bills = [
        (rng.randint(1, 28), f"U-SGCC-{region:02d}", math.log(9_000 + 15_000 * rng.random()), 0.3),
        (rng.randint(1, 28), rng.choice(("U-CMCC", "U-CUCC", "U-CTCC")), math.log(5_000 + 10_000 * rng.random()), 0.2),
    ]
    if rng.random() < 0.6:
        p.bills.append((rng.randint(1, 28), f"U-GAS-{region:02d}", math.log(4_000 + 8_000 * rng.random()), 0.3))
    if occ in SALARY and rng.random() < 0.33:
        p.bills.append((rng.randint(1, 5), ids("L", 6), math.log(min(max(p.salary * (0.15 + 0.2 * rng.random()), 150_000), 900_000)), 0.0))

    p.atm_p = {"retired": 2.5, "farmer": 2.0, "student": 0.8}.get(occ, 1.2) / 30
    p.atm_hi = max(2, min(30, round(max(income, 100_000) * 0.2 / 10_000)))  # hundreds of CNY

    # Recurring personal counterparties.
    for _ in range(rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0]):
        other = None
        if p.typology is None and regular and rng.random() < 0.4:
            other = rng.choice(regular)
            if other is p:
                other = None
        cp = other.cid if other else ids("P")
        p.partners.append((cp, other, 0.7 / 30 * (0.5 + rng.random()), 0.6, math.log(max(income, 150_000) * (0.02 + 0.05 * rng.random()))))

    # Cross-border remittances, never with high-risk-flow countries.
    foreign = p.country != "CN"
    if rng.random() < (0.6 if foreign else 0.06) and p.country not in HIGH_RISK_FLOW_COUNTRIES:
        country = p.country if foreign and p.country in HOME_CURRENCY else rng.choice(("US", "HK", "GB", "SG", "AU", "CA", "JP"))
        currency = HOME_CURRENCY[country]
        cps = tuple(ids("F", 6) for _ in range(rng.randint(1, 2)))
        median = min(max(income * 0.15, 250_000), 2_000_000)
        p.xb = (
            0.8 / 30 * (0.5 + rng.random()),
            0.7 if not foreign else 0.5,
            currency,
            CNY_PER_UNIT[currency],
            {"cross_border": True, "counterparty_country": country},
            cps,
            median,
        )


def _profiles(rng: random.Random, persons: list[_Person], firms: list[_Firm], origin: date) -> list[dict]:
    updated = _rfc3339(origin - timedelta(days=1), 0, 0)
    docs: dict[int, dict] = {}
    for p in persons:
        occ = p.occ
        residence = "CN" if p.country == "CN" or rng.random() < 0.7 else p.country
        shares = {"e_banking": 0.88 if occ != "retired" else 0.6, "self_service": 0.75, "investment": 0.18, "bills": 0.03, "agency": 0.02, "bearer": 0.003}
        products = _products(rng, shares)
        if p.xb is not None:
            products = [x for x in PRODUCTS if x in products or x == "cross_border_remittance" or (x == "exchange_remittance" and p.n % 2 == 0)]
        age_days = rng.randint(30, 1_500 if occ == "student" else 5_475)
        doc: dict[str, Any] = {
            "customer_id": p.cid,
            "kind": "individual",
            "country": p.country,
            "residence_country": residence,
            "industry": p.industry,
            "occupation": occ,
            "pep": occ.startswith("pep_"),
            "listed": rng.random() < 0.002 and p.typology is None,
        }
        if rng.random() < 0.001:
            doc["under_investigation"] = True
        if rng.random() < 0.001:
            doc["criminal_record"] = True
        doc |= {
            "products": products,
            "declared_annual_income": p.declared,
            "onboarded_at": _rfc3339(origin, -age_days, rng.randint(9 * HOUR, 17 * HOUR)),
            "updated_at": updated,
        }
        docs[p.n] = doc
    for f in firms:
        industry = f.industry
        residence = "CN" if f.country == "CN" or rng.random() < 0.8 else "HK"
        shares = {
            "e_banking": 0.95,
            "bills": 0.35,
            "agency": 0.5 if f.staff >= 10 else 0.1,
            "group_business": 0.04,
            "investment": 0.12,
            "self_service": 0.2,
            "bearer": 0.01,
        }
        if f.xb_share:
            shares |= {"cross_border_remittance": 1.0, "exchange_remittance": 0.6}
        risky = industry in ("offshore_company", "money_remitter", "currency_exchange")
        doc = {
            "customer_id": f.cid,
            "kind": "entity",
            "country": f.country,
            "residence_country": residence,
            "industry": industry,
            "pep": False,
            "listed": rng.random() < 0.002,
            "ownership_opaque": rng.random() < (0.7 if industry == "offshore_company" else 0.02),
        }
        if risky and rng.random() < 0.2:
            doc["high_risk_partners"] = True
        doc |= {
            "products": _products(rng, shares),
            "declared_annual_turnover": round(f.turnover * (0.9 + 0.4 * rng.random()) / 1_000_000) * 10_000,
            "onboarded_at": _rfc3339(origin, -rng.randint(30, 5_475), rng.randint(9 * HOUR, 17 * HOUR)),
            "updated_at": updated,
        }
        docs[f.n] = doc
    return [docs[n] for n in sorted(docs)]


# ---- injected typologies -----------------------------------------------------------------------


class _Injector:
    def __init__(self, rng: random.Random, days: int, origin: date, ids: _Ids, injected: dict[int, list[Event]]) -> None:
        self.rng = rng
        self.days = days
        self.origin = origin
        self.ids = ids
        self.injected = injected
        self.seq = itertools.count(-1, -1)  # injected events sort before ordinary ones of the same second
        self.span: list[tuple[int, int]] = []

    def emit(
        self,
        who: _Person | _Firm,
        day: int,
        sod: int,
        direction: str,
        amount: str,
        method: str,
        channel: str,
        cp: str | None,
        currency: str = "CNY",
        extra: dict | None = None,
    ) -> None:
        assert 0 <= day < self.days and 0 <= sod < DAY_S
        self.injected.setdefault(day, []).append((sod, next(self.seq), who.cid, who.acct, direction, amount, currency, method, channel, cp, extra))
        self.span.append((day, sod))

    def sod(self, first_hour: int, last_hour: int) -> int:
        return self.rng.randint(first_hour * HOUR, last_hour * HOUR + HOUR - 1)

    def weekday(self, day: int) -> int:
        return (self.origin + timedelta(days=day)).weekday()


def _inject(rng: random.Random, plan: list[tuple[str, Any]], persons: list[_Person], days: int, origin: date, ids: _Ids, injected: dict[int, list[Event]]) -> list[Label]:
    groups: dict[str, int] = {}
    for p in persons:
        groups[p.industry or "unknown"] = groups.get(p.industry or "unknown", 0) + 1
    labels = []
    for typology, who in plan:
        inj = _Injector(rng, days, origin, ids, injected)
        if typology == "peer_cash_outlier" and groups.get(who.industry or "unknown", 0) < 25:
            # The rule needs a peer baseline of at least 20 customers: move to the largest individual group.
            big = max(groups, key=lambda g: (groups[g], g))
            groups[who.industry or "unknown"] -= 1
            groups[big] += 1
            who.industry = None if big == "unknown" else big
        INJECTIONS[typology](inj, who)
        first, last = min(inj.span), max(inj.span)
        labels.append(Label(who.cid, typology, _rfc3339(origin, *first), _rfc3339(origin, *last)))
    labels.sort(key=lambda lab: lab.customer_id)
    return labels


def _quiet(p: _Person, first: int, last: int) -> None:
    p.quiet_from, p.quiet_to = max(first, 0), last


def _structuring(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    n = rng.choice((2, 2, 3))
    d = rng.randint(0, inj.days - n)
    direction = "out" if rng.random() < 0.25 else "in"
    sod = inj.sod(14, 16)
    for k in range(n):
        inj.emit(p, d + k, sod, direction, money(rng.randint(4_100_000, 4_790_000)), "cash", "counter", None)
        # the next day, earlier in the day: less than 24 h later
        sod = inj.sod(9, 11) if k == 0 else max(8 * HOUR, sod - rng.randint(300, HOUR))
    _quiet(p, d, d + n - 1)


def _rapid_in_out(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(min(2, inj.days - 1), inj.days - 1)
    x = rng.randint(6_000_000, 28_000_000)
    t = inj.sod(9, 10)
    inj.emit(p, d, t, "in", money(x), "transfer", "online", inj.ids("X"))
    first = round(x * (0.40 + 0.15 * rng.random()))
    t += rng.randint(2 * HOUR, 4 * HOUR)
    inj.emit(p, d, t, "out", money(first), "transfer", "mobile", inj.ids("X"))
    t += rng.randint(1 * HOUR, 3 * HOUR)
    inj.emit(p, d, t, "out", money(round(x * (0.93 + 0.05 * rng.random())) - first), "transfer", "mobile", inj.ids("X"))
    _quiet(p, d - 2, d)


def _fan_in(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 6)
    n = rng.randint(11, 14)
    total = 0
    for k in range(n):
        fen = rng.randint(950_000, 1_600_000)
        total += fen
        inj.emit(p, d + k * 3 // n, inj.sod(9, 17), "in", money(fen), "transfer", "online", inj.ids("X"))
    out = round(total * (0.85 + 0.10 * rng.random()))
    t = inj.sod(9, 11)
    if rng.random() < 0.3:
        part = round(out * (0.3 + 0.3 * rng.random()))
        inj.emit(p, d + 5, t, "out", money(part), "transfer", "online", inj.ids("X"))
        out -= part
        t += rng.randint(600, 3 * HOUR)
    inj.emit(p, d + 5, t, "out", money(out), "transfer", "online", inj.ids("X"))
    _quiet(p, d - 8, d + 6)


def _fan_out(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 5)
    lump = rng.randint(11_000_000, 24_000_000)
    inj.emit(p, d, rng.randint(9 * HOUR + 1800, 11 * HOUR + 1800), "in", money(lump), "transfer", "online", inj.ids("X"))
    n = rng.randint(11, 14)
    weights = [0.7 + 0.6 * rng.random() for _ in range(n)]
    total = lump * (0.92 + 0.07 * rng.random())
    times = sorted((d + 3 + (k >= n // 2), inj.sod(9, 17)) for k in range(n))
    for (day, sod), w in zip(times, weights, strict=True):
        inj.emit(p, day, sod, "out", money(round(total * w / sum(weights))), "transfer", "online", inj.ids("X"))
    _quiet(p, d - 8, d + 6)


def _dormant_reactivation(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(195, inj.days - 4)
    payers = [inj.ids("X") for _ in range(2)]
    payees = [inj.ids("X") for _ in range(3)]
    n = rng.randint(6, 8)
    events = sorted((d + k * 3 // n, inj.sod(9, 20)) for k in range(n))
    for k, (day, sod) in enumerate(events):
        if k % 2 == 0:
            inj.emit(p, day, sod, "in", money(rng.randint(500_000, 1_500_000)), "transfer", "mobile", rng.choice(payers))
        else:
            inj.emit(p, day, sod, "out", money(rng.randint(300_000, 1_000_000)), "transfer", "mobile", rng.choice(payees))
    _quiet(p, 10, inj.days)


def _high_risk_jurisdiction(inj: _Injector, who: _Person | _Firm) -> None:
    rng = inj.rng
    country = rng.choice(INJECTED_HRJ_COUNTRIES)
    extra = {"cross_border": True, "counterparty_country": country}
    cp = inj.ids("X")
    d = rng.randint(0, inj.days - 1)
    n = rng.randint(1, 3)
    days = sorted({min(d + rng.randint(0, 10) * (k > 0), inj.days - 1) for k in range(n)})
    if isinstance(who, _Firm):
        mondays = [x for x in range(d, inj.days) if inj.weekday(x) == 0]
        workdays = [x for x in range(d, inj.days) if inj.weekday(x) < 5] or [x for x in range(inj.days) if inj.weekday(x) < 5]
        for day in mondays[:n]:
            inj.emit(who, day, who.run_sod + 1200, "out", money(rng.randint(800_000, 6_000_000)), "remittance", "online", cp, "USD", extra)
        if not mondays:
            day = workdays[0] if workdays else d
            inj.emit(who, day, inj.sod(10, 15), "in", money(rng.randint(800_000, 6_000_000)), "remittance", "online", cp, "USD", extra)
        return
    for day in days:
        direction = "out" if rng.random() < 0.75 else "in"
        inj.emit(who, day, inj.sod(10, 15), direction, money(rng.randint(80_000, 450_000)), "remittance", rng.choice(("online", "counter")), cp, "USD", extra)


def _peer_cash_outlier(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(min(10, inj.days - 16), inj.days - 16)
    total = 0
    while total < 6_800_000:
        fen = rng.randint(950_000, 1_500_000)
        total += fen
        inj.emit(p, d, inj.sod(10, 16), "in", money(fen), "cash", "counter", None)
        d += rng.choice((1, 2))


def _profile_mismatch(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    declared_fen = p.declared * 100
    bar = max(math.ceil(3 * declared_fen * 90 / 365), 20_000_000)
    target = round(bar * (1.1 + 0.2 * rng.random()))
    n = max(3, math.ceil(target / 15_000_000))
    d = rng.randint(0, max(0, inj.days - 1 - 7 * (n - 1)))
    gap = min(20, 80 // (n - 1), (inj.days - 1 - d) // (n - 1))  # all within the 90-day window
    cp = inj.ids("X")
    weights = [0.85 + 0.3 * rng.random() for _ in range(n)]
    for k, w in enumerate(weights):
        inj.emit(p, d + k * gap, inj.sod(10, 14) + k, "in", money(round(target * w / sum(weights))), "transfer", "online", cp)


def _frequent_one_off(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 4)
    span = min(12, inj.days - 1 - d)
    n = rng.randint(22, 28)
    times = sorted((d + k * (span + 1) // n, inj.sod(9, 20)) for k in range(n))
    for day, sod in times:
        direction = "in" if rng.random() < 0.5 else "out"
        inj.emit(p, day, sod, direction, money(rng.randint(30_000, 250_000)), "transfer", rng.choice(("online", "mobile")), inj.ids("X"))
    _quiet(p, d - 31, d + span)


def _round_amounts(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 1)
    n = rng.randint(5, 7)
    payees = [inj.ids("X") for _ in range(rng.randint(2, 4))]
    for sod in sorted(inj.sod(9, 16) for _ in range(n)):
        inj.emit(p, d, sod, "out", f"{rng.randint(4, 9) * 1000}.00", "transfer", rng.choice(("online", "mobile")), rng.choice(payees))
    _quiet(p, d - 2, d)


def _night_burst(inj: _Injector, p: _Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 1)
    n = rng.randint(5, 8)
    shops = [inj.ids("X") for _ in range(rng.randint(1, 3))]
    for sod in sorted(rng.randint(20 * 60, 4 * HOUR + 40 * 60) for _ in range(n)):
        inj.emit(p, d, sod, "out", money(rng.randint(220_000, 500_000)), "card", "online", rng.choice(shops))


INJECTIONS = {
    "structuring": _structuring,
    "rapid_in_out": _rapid_in_out,
    "fan_in": _fan_in,
    "fan_out": _fan_out,
    "dormant_reactivation": _dormant_reactivation,
    "high_risk_jurisdiction": _high_risk_jurisdiction,
    "peer_cash_outlier": _peer_cash_outlier,
    "profile_mismatch": _profile_mismatch,
    "frequent_one_off": _frequent_one_off,
    "round_amounts": _round_amounts,
    "night_burst": _night_burst,
}


# ---- the stream --------------------------------------------------------------------------------


def _paydays(origin: date, days: int) -> list[frozenset[int]]:
    """Per day: the target days of month (1-28) paid that day (a weekend payday moves to the Friday before)."""
    out: list[set[int]] = [set() for _ in range(days)]
    end = origin + timedelta(days=days)
    y, m = origin.year, origin.month
    while date(y, m, 1) <= end + timedelta(days=31):
        for target in range(1, 29):
            pay = date(y, m, target)
            while pay.weekday() >= 5:
                pay -= timedelta(days=1)
            idx = (pay - origin).days
            if 0 <= idx < days:
                out[idx].add(target)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return [frozenset(s) for s in out]


def _stream(plan: _Plan) -> Iterator[dict]:
    rng = random.Random(plan.seed * 1_000_003 + 17)
    r = rng.random
    gauss = rng.gauss
    exp = math.exp
    sample = rng.sample
    bisect_right = bisect.bisect_right
    clock = _clock()
    nxt = itertools.count().__next__
    merchants = plan.merchants
    n_merchants = len(merchants)
    card_hours, n_card_hours = CARD_HOURS, len(CARD_HOURS)
    online_hours, n_online_hours = ONLINE_HOURS, len(ONLINE_HOURS)
    office_hours, n_office_hours = OFFICE_HOURS, len(OFFICE_HOURS)
    paydays = _paydays(plan.origin, plan.days)
    persons, firms = plan.persons, plan.firms
    for f in firms:
        f.week_in = 0
        f.cash_pending = 0.0
    for p in persons:
        if p.biz is not None:
            p.biz[7] = 0
    ev: list[Event] = []
    add = ev.append

    def person_day(p: _Person, wd: int, dom: int, pay: frozenset[int]) -> None:
        cid, acct = p.cid, p.acct
        if p.payday and p.payday in pay:
            add((8 * HOUR + int(r() * 4 * HOUR), nxt(), cid, acct, "in", money(int(p.salary * (0.97 + 0.06 * r()))), "CNY", "transfer", "online", p.employer, None))
        allowance = p.allowance
        if allowance is not None and dom == allowance[0]:
            amount = money(int(allowance[1] * (0.9 + 0.2 * r())))
            sod = online_hours[int(r() * n_online_hours)] * HOUR + int(r() * HOUR)
            parent = allowance[3]
            if parent is not None:
                add((sod, nxt(), parent.cid, parent.acct, "out", amount, "CNY", "transfer", "mobile", cid, None))
            add((sod, nxt(), cid, acct, "in", amount, "CNY", "transfer", "mobile", allowance[2], None))
        biz = p.biz
        if biz is not None:
            if wd < 6:
                k, t, lam_exp = 0, r(), biz[0]
                while t > lam_exp:
                    k += 1
                    t *= r()
                clients = biz[1]
                for _ in range(k):
                    fen = min(int(exp(biz[2] + 0.4 * gauss(0.0, 1.0)) * 100), 1_500_000)
                    biz[7] += fen
                    add((9 * HOUR + int(r() * 9 * HOUR), nxt(), cid, acct, "in", money(fen), "CNY", "transfer", "mobile", clients[int(r() * len(clients))], None))
                if r() < biz[3]:
                    fen = 150_000 + int(r() * 350_000)
                    biz[7] += fen
                    add((15 * HOUR + int(r() * 2 * HOUR), nxt(), cid, acct, "in", money(fen), "CNY", "cash", "counter", None, None))
            if wd == biz[5] and biz[7] > 0:
                fen = int(biz[7] * biz[6])
                biz[7] = 0
                suppliers = biz[4]
                add((10 * HOUR + int(r() * 6 * HOUR), nxt(), cid, acct, "out", money(fen), "CNY", "transfer", "online", suppliers[int(r() * len(suppliers))], None))
        # card payments: Poisson count (Knuth), lognormal amounts, mostly at favourite merchants
        k, t, lam_exp = 0, r(), p.card_exp
        while t > lam_exp:
            k += 1
            t *= r()
        if k:
            favs = p.favs
            n_favs = len(favs)
            mu, hi = p.card_mu, p.card_hi
            for _ in range(k):
                fen = int(exp(mu + 0.9 * gauss(0.0, 1.0)))
                if fen < 150:
                    fen = 150 + int(r() * 300)
                elif fen > hi:
                    fen = hi - int(r() * hi * 0.2)
                cp = favs[int(r() * n_favs)] if r() < 0.88 else merchants[int(r() * n_merchants)]
                u = r()
                channel = "pos" if u < 0.6 else "online" if u < 0.88 else "mobile"
                add((card_hours[int(r() * n_card_hours)] * HOUR + int(r() * HOUR), nxt(), cid, acct, "out", money(fen), "CNY", "card", channel, cp, None))
        for bill_dom, cp, mu, sigma in p.bills:
            if dom == bill_dom:
                sod = online_hours[int(r() * n_online_hours)] * HOUR + int(r() * HOUR)
                add((sod, nxt(), cid, acct, "out", money(int(exp(mu + sigma * gauss(0.0, 1.0)))), "CNY", "transfer", "online" if r() < 0.6 else "mobile", cp, None))
        if r() < p.atm_p:
            hundreds = 2 + int(r() * (p.atm_hi - 1))
            add(((8 + int(r() * 14)) * HOUR + int(r() * HOUR), nxt(), cid, acct, "out", f"{hundreds * 100}.00", "CNY", "cash", "atm", None, None))
        for cp, other, p_day, p_out, mu in p.partners:
            if r() < p_day:
                out = r() < p_out
                amount = money(int(exp(mu + 0.6 * gauss(0.0, 1.0))))
                sod = online_hours[int(r() * n_online_hours)] * HOUR + int(r() * HOUR)
                channel = "mobile" if r() < 0.7 else "online"
                if other is None:
                    add((sod, nxt(), cid, acct, "out" if out else "in", amount, "CNY", "transfer", channel, cp, None))
                elif out:
                    add((sod, nxt(), cid, acct, "out", amount, "CNY", "transfer", channel, cp, None))
                    add((sod, nxt(), other.cid, other.acct, "in", amount, "CNY", "transfer", channel, cid, None))
                else:
                    add((sod, nxt(), other.cid, other.acct, "out", amount, "CNY", "transfer", channel, cid, None))
                    add((sod, nxt(), cid, acct, "in", amount, "CNY", "transfer", channel, cp, None))
        xb = p.xb
        if xb is not None and r() < xb[0]:
            cny = min(max(xb[6] * exp(0.5 * gauss(0.0, 1.0)), 200_000), 4_000_000)
            cps = xb[5]
            add(
                (
                    office_hours[int(r() * n_office_hours)] * HOUR + int(r() * HOUR),
                    nxt(),
                    cid,
                    acct,
                    "out" if r() < xb[1] else "in",
                    money(int(cny / xb[3])),
                    xb[2],
                    "remittance",
                    "online" if r() < 0.7 else "counter",
                    cps[int(r() * len(cps))],
                    xb[4],
                )
            )

    def firm_day(f: _Firm, wd: int, dom: int) -> None:
        cid, acct = f.cid, f.acct
        if wd == 0:  # the weekly payment run, before any receipt of the day
            t0 = f.run_sod
            total = (f.week_in if f.week_in > 0 else f.expected_week) * f.cost_share
            f.week_in = 0
            weights = [0.6 + 0.8 * r() for _ in range(f.k_sup)]
            scale = total / sum(weights)
            for i, (cp, currency, rate, extra) in enumerate(sample(f.suppliers, f.k_sup)):
                fen = int(scale * weights[i])
                if currency == "CNY":
                    add((t0 + 60 * i, nxt(), cid, acct, "out", money(fen), "CNY", "transfer", "online", cp, None))
                else:
                    add((t0 + 60 * i, nxt(), cid, acct, "out", money(int(fen / rate)), currency, "remittance", "online", cp, extra))
            if 8 <= dom <= 14:  # the monthly run: rent, utilities, payroll
                for j, (cp, fen) in enumerate(f.monthly):
                    add((t0 + 420 + 60 * j, nxt(), cid, acct, "out", money(int(fen * (0.9 + 0.2 * r()))), "CNY", "transfer", "online", cp, None))
                t = t0 + 660
                for e in f.employees:
                    amount = money(int(e.salary * (0.97 + 0.06 * r())))
                    add((t, nxt(), cid, acct, "out", amount, "CNY", "transfer", "online", e.cid, None))
                    add((t, nxt(), e.cid, e.acct, "in", amount, "CNY", "transfer", "online", cid, None))
                    t += 3
                for wid, fen in f.ext_pay:
                    add((t, nxt(), cid, acct, "out", money(int(fen * (0.97 + 0.06 * r()))), "CNY", "transfer", "online", wid, None))
                    t += 3
        if f.cash_daily:
            f.cash_pending += f.cash_daily * (0.7 + 0.6 * r())
        if wd >= 5:
            return
        if f.b2c:  # T+1 settlement of card and QR sales; Monday's covers Friday to Sunday
            sales = f.daily_sales * (3 if wd == 0 else 1)
            for i, acquirer in enumerate(ACQUIRERS):
                fen = int(sales * f.acq_share[i] * (0.75 + 0.5 * r()))
                f.week_in += fen
                add((10 * HOUR + int(r() * 5400), nxt(), cid, acct, "in", money(fen), "CNY", "transfer", "other", acquirer, None))
            if f.cash_daily and r() < 0.6:
                fen = min(int(f.cash_pending), 2_800_000)
                if fen >= 10_000:
                    f.cash_pending -= fen
                    f.week_in += fen
                    add((15 * HOUR + int(r() * 2 * HOUR), nxt(), cid, acct, "in", money(fen), "CNY", "cash", "counter", None, None))
        elif r() < f.petty_p:
            add((10 * HOUR + int(r() * 6 * HOUR), nxt(), cid, acct, "out", money(200_000 + int(r() * 800_000)), "CNY", "cash", "counter", None, None))
        k, t, lam_exp = 0, r(), f.lam_exp
        while t > lam_exp:
            k += 1
            t *= r()
        if k:
            clients, cum = f.clients, f.client_cum
            total_w = cum[-1]
            for _ in range(k):
                cp, currency, rate, extra = clients[bisect_right(cum, r() * total_w)]
                fen = int(exp(f.ticket_mu + 0.7 * gauss(0.0, 1.0)))
                f.week_in += fen
                sod = 9 * HOUR + int(r() * 9 * HOUR)
                if currency == "CNY":
                    add((sod, nxt(), cid, acct, "in", money(fen), "CNY", "transfer", "online", cp, None))
                else:
                    add((sod, nxt(), cid, acct, "in", money(int(fen / rate)), currency, "remittance", "online", cp, extra))

    n_tx = 0
    for d in range(plan.days):
        day = plan.origin + timedelta(days=d)
        wd, dom, pay = day.weekday(), day.day, paydays[d]
        prefix = day.isoformat() + "T"
        for p in persons:
            if not p.quiet_from <= d <= p.quiet_to:
                person_day(p, wd, dom, pay)
        for f in firms:
            firm_day(f, wd, dom)
        ev.extend(plan.injected.get(d, ()))
        ev.sort()
        for sod, _seq, cid, acct, direction, amount, currency, method, channel, cp, extra in ev:
            n_tx += 1
            doc = {
                "tx_id": f"T{n_tx:09d}",
                "customer_id": cid,
                "account_id": acct,
                "ts": prefix + clock[sod],
                "direction": direction,
                "amount": amount,
                "currency": currency,
                "method": method,
                "channel": channel,
            }
            if cp is not None:
                doc["counterparty_id"] = cp
            if extra is not None:
                doc.update(extra)
            yield doc
        ev.clear()


# ---- public API ----------------------------------------------------------------------------------


def generate(customers: int, days: int, seed: int, start: datetime | None = None) -> tuple[Population, Iterator[dict]]:
    """Profiles (customer-profile.v1 dicts) with the labels of the injected typologies, and a lazily
    generated iterator of transaction.v1 dicts in event-time order (ts non-decreasing), so a large
    stream never sits in memory. Deterministic for (customers, days, seed, start)."""
    if customers < 0 or days < 0:
        raise ValueError("customers and days must be >= 0")
    plan, profiles, labels = _build(customers, days, seed, start)
    return Population(profiles, labels), _stream(plan)


def write(out_dir: Path, customers: int, days: int, seed: int, start: datetime | None = None) -> dict:
    """Write out_dir/customers.jsonl, out_dir/transactions.jsonl and out_dir/labels.csv; return the counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    population, stream = generate(customers, days, seed, start)
    dumps = orjson.dumps
    with open(out_dir / "customers.jsonl", "wb") as f:
        f.write(b"".join(dumps(doc) + b"\n" for doc in population.profiles))
    count = 0
    with open(out_dir / "transactions.jsonl", "wb") as f:
        buffer = bytearray()  # orjson's bytes are over-allocated: copy each one out at once
        for doc in stream:
            buffer += dumps(doc, option=orjson.OPT_APPEND_NEWLINE)
            count += 1
            if len(buffer) >= 1 << 20:
                f.write(buffer)
                buffer.clear()
        f.write(buffer)
    with open(out_dir / "labels.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(("customer_id", "typology", "start", "end"))
        out.writerows((lab.customer_id, lab.typology, lab.start, lab.end) for lab in population.labels)
    return {"customers": len(population.profiles), "transactions": count, "labels": len(population.labels)}
