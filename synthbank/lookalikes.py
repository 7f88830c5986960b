"""Benign structure that looks like laundering, built into the population (the stream plays it).

Shares (of all individuals unless stated; measured figures are in the README):

* Households: 30 % of ordinary individuals live in a household of 2-4 customers of the bank
  (45 % pairs, 35 % threes, 20 % fours; China's mean household has 2.6 persons, and a family
  often banks in one place). Inside: a student's allowance comes from a household member;
  about 3 family transfers a month per household (CNY 100-10,000: pocket money, shared bills);
  a loan repaid in full 5-30 days later (a two-party cycle) about every 75 days; in households
  of three or more a sum passed on (A -> B -> C, 80-100 % of it within 0-2 days: a red envelope
  handed down, a short benign chain) about every 120 days; 40 % of households with an earner
  move 30-60 % of the salary to another member on payday.
* Salary splits to an own second account: 15 % of the other salaried move 20-50 % of each
  salary to their second account 1-6 h after it arrives (both legs; the profile lists both).
* Landlords: tenants (a third of the salaried) pay a fixed rent on days 1-5: 30 % to property
  managers that are entity customers (real_estate), 20 % to individual customers who let 2-5
  flats (and pay a mortgage), the rest to outside landlords shared by 1-6 tenants. Rent to a
  customer arrives on business days (a weekend due date on the Monday after).
* Installments: 20 % of individuals with an income pay a fixed monthly installment (car loan,
  consumer loan, mortgage) to one of 8 lenders: hubs with thousands of payers.
* Payroll providers: 10 % of individuals paid by an outside employer are paid by one of 6 HR
  outsourcing firms instead; 25 % of firms with employees at the bank pay their payroll
  through one (one lump with a 3-8 % fee; the provider pays each employee the next day).
* Shared suppliers: a firm's 5-15 suppliers come from a pool per industry of 1.5 x the firms
  of that industry (popular ones weighted up), so many firms pay the same suppliers; 30 % of
  ordinary firms also pay 1-2 suppliers that are customers of the bank (on Wednesdays).
* Same-pair repeats: 6 % of transfers with a recurring personal counterparty are followed by
  1-2 more to the same person within two hours; 10 % of weekly payment runs pay one supplier
  two invoices. Hubs (utilities, acquirers, social security funds) exist already.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from synthbank.parties import Party, customer_party
from synthbank.records import BenignMember, Firm, Ids, Person
from synthbank.tables import CNY_PER_UNIT, ORDINARY_ABROAD

HOUSEHOLD_SHARE = 0.30
OWN_SPLIT_SHARE = 0.15
FAMILY_SPLIT_SHARE = 0.40
INSTALLMENT_SHARE = 0.20
PROVIDER_SHARE = 0.10
PROVIDER_FIRM_SHARE = 0.25
SUPPLIER_INDUSTRIES = frozenset(("manufacturing", "wholesale", "logistics", "information_technology", "agriculture"))
LENDERS = (
    "上汽通用汽车金融有限责任公司",
    "丰田汽车金融（中国）有限公司",
    "招联消费金融股份有限公司",
    "马上消费金融股份有限公司",
    "中国工商银行个人贷款中心",
    "中国建设银行个人住房贷款中心",
    "平安普惠融资担保有限公司",
    "捷信消费金融有限公司",
)
PROVIDERS = (
    "上海外服（集团）有限公司",
    "北京外企人力资源服务有限公司",
    "中智经济技术合作股份有限公司",
    "FESCO Adecco人力资源",
    "科锐国际人力资源股份有限公司",
    "前程无忧人力资源服务有限公司",
)


@dataclass
class Structures:
    households: list[list[Person]] = field(default_factory=list)
    landlords: list[tuple[Person | Firm, list[tuple[Person, int, int]]]] = field(default_factory=list)
    providers: list[tuple[Party, Firm]] = field(default_factory=list)
    members: list[BenignMember] = field(default_factory=list)

    def add(self, sid: str, kind: str, role: str, who: Person | Firm | Party) -> None:
        if isinstance(who, Party):
            self.members.append(BenignMember(sid, kind, role, who.account, ""))
        else:
            self.members.append(BenignMember(sid, kind, role, who.acct, who.cid))


def assign_suppliers(rng: random.Random, ids: Ids, firms: list[Firm]) -> None:
    """Suppliers from shared pools per industry; some suppliers are customers of the bank."""
    by_industry: dict[str, list[Firm]] = {}
    for f in firms:
        by_industry.setdefault(f.industry, []).append(f)
    pools = {ind: [ids.party("S", "firm") for _ in range(max(6, round(1.5 * len(fs))))] for ind, fs in sorted(by_industry.items())}
    foreign = []
    for _ in range(30):
        country = rng.choice(("HK", "JP", "KR", "DE", "US", "SG", "AU"))
        currency = ORDINARY_ABROAD[country]
        foreign.append((ids.party("S", "foreign_firm", extra={"cross_border": True, "counterparty_country": country}), currency, CNY_PER_UNIT[currency], None))
    makers = [f for f in firms if f.industry in SUPPLIER_INDUSTRIES and f.typology is None and not f.listed]
    for f in firms:
        pool = pools[f.industry]
        weights = [1 / (i + 1) ** 0.8 for i in range(len(pool))]
        chosen: dict[str, tuple] = {}
        for _ in range(rng.randint(5, 15)):
            abroad = rng.random() < f.xb_share * 0.8
            entry = foreign[rng.randrange(len(foreign))] if abroad else (rng.choices(pool, weights)[0], "CNY", 1.0, None)
            chosen.setdefault(entry[0].id, entry)
        while len(chosen) < 5:  # a weekly run pays 4-5 distinct suppliers
            extra = pool[rng.randrange(len(pool))]
            chosen.setdefault(extra.id, (extra, "CNY", 1.0, None))
        f.suppliers = tuple(chosen.values())
        if f.typology is None and not f.listed and makers and rng.random() < 0.3:
            f.int_suppliers = [s for s in rng.sample(makers, min(len(makers), rng.randint(1, 2))) if s is not f]


def build_lookalikes(rng: random.Random, ids: Ids, persons: list[Person], firms: list[Firm], regular: list[Person]) -> Structures:
    st = Structures()
    _households(rng, st, regular, persons)
    _salary_splits(rng, st, regular)
    _landlords(rng, ids, st, persons, firms, regular)
    _installments(rng, ids, st, persons)
    _providers(rng, ids, st, persons, firms)
    _supplier_rows(st, firms)
    return st


def _households(rng: random.Random, st: Structures, regular: list[Person], persons: list[Person]) -> None:
    pool = regular[:]
    rng.shuffle(pool)
    target = round(HOUSEHOLD_SHARE * len(persons))
    placed = 0
    while placed < target and len(pool) >= 2:
        size = min(len(pool), rng.choices((2, 3, 4), (45, 35, 20))[0])
        members = [pool.pop() for _ in range(size)]
        placed += size
        for p in members:
            p.household = members
        st.households.append(members)
        sid = f"H{len(st.households):06d}"
        for p in members:
            st.add(sid, "household", "member", p)
        adults = [p for p in members if p.occ != "student"]
        for p in members:
            if p.allowance is not None and adults:  # pocket money from a household member
                parent = adults[rng.randrange(len(adults))]
                dom, fen, _, _ = p.allowance
                p.allowance = (dom, fen, parent.party, parent)
        earners = [p for p in members if p.salary and p.employer is not None and p.occ != "retired"]
        if earners and rng.random() < FAMILY_SPLIT_SHARE:
            earner = earners[0]
            others = [p for p in members if p is not earner]
            earner.split = (0.3 + 0.3 * rng.random(), others[rng.randrange(len(others))])


def _salary_splits(rng: random.Random, st: Structures, regular: list[Person]) -> None:
    for p in regular:
        if p.split is None and p.salary and p.payday and p.occ not in ("retired", "unemployed") and rng.random() < OWN_SPLIT_SHARE:
            p.acct2 = f"{p.acct}-2"
            p.party2 = customer_party(p.cid, p.acct2)
            p.split = (0.2 + 0.3 * rng.random(), None)
            sid = f"O{p.n:07d}"
            st.members.append(BenignMember(sid, "own_account_split", "salary_account", p.acct, p.cid))
            st.members.append(BenignMember(sid, "own_account_split", "second_account", p.acct2, p.cid))


def _landlords(rng: random.Random, ids: Ids, st: Structures, persons: list[Person], firms: list[Firm], regular: list[Person]) -> None:
    managers = [f for f in firms if f.industry == "real_estate" and f.typology is None and not f.listed]
    regular_set = {p.n for p in regular}
    owners = [p for p in regular if p.occ not in ("student", "unemployed") and p.rent is None and rng.random() < 0.015]
    capacity = {p.n: rng.randint(2, 5) for p in owners}
    tenants_of: dict[int, list[tuple[Person, int, int]]] = {}
    outside: list[tuple[Party, list[Person]]] = []
    for p in persons:
        if p.rent is None:
            continue
        dom, fen = p.rent
        u = rng.random()
        if p.n in regular_set and managers and u < 0.3:
            landlord: Person | Firm = managers[min(int(rng.paretovariate(1.2)) - 1, len(managers) - 1)]
        elif p.n in regular_set and u < 0.5 and (free := [o for o in owners[:50] if capacity[o.n] > 0 and o is not p]):
            landlord = free[rng.randrange(len(free))]
            capacity[landlord.n] -= 1
            if capacity[landlord.n] == 0:
                owners.remove(landlord)
        else:
            if not outside or len(outside[-1][1]) >= rng.randint(1, 6):
                outside.append((ids.party("L", "person" if rng.random() < 0.6 else "firm", 6), []))
            party, tenants = outside[rng.randrange(max(0, len(outside) - 3), len(outside))]
            tenants.append(p)
            p.bills.append((dom, party, math.log(fen), 0.0))
            continue
        if id(landlord) not in tenants_of:
            tenants_of[id(landlord)] = []
            st.landlords.append((landlord, tenants_of[id(landlord)]))
        tenants_of[id(landlord)].append((p, dom, fen))
    lenders = [ids.hub(f"LOAN-{i:02d}", name) for i, name in enumerate(LENDERS, 1)]
    for landlord, tenants in st.landlords:
        sid = f"R{landlord.n:07d}"
        st.add(sid, "landlord", "landlord", landlord)
        for tenant, _, _ in tenants:
            st.add(sid, "landlord", "tenant", tenant)
        if isinstance(landlord, Person):  # a mortgage on the let flats
            landlord.bills.append((rng.randint(10, 20), lenders[5], math.log(300_000 + 500_000 * rng.random()), 0.0))
    for party, tenants in outside:  # rows name ordinary tenants only (a labelled one pays rent too)
        ordinary = [t for t in tenants if t.typology is None]
        if len(ordinary) >= 2:
            for tenant in ordinary:
                st.add(party.id, "landlord", "tenant", tenant)
            st.add(party.id, "landlord", "landlord", party)


def _installments(rng: random.Random, ids: Ids, st: Structures, persons: list[Person]) -> None:
    lenders = [ids.hub(f"LOAN-{i:02d}", name) for i, name in enumerate(LENDERS, 1)]
    used = set()
    for p in persons:
        if p.salary and rng.random() < INSTALLMENT_SHARE:
            lender = lenders[rng.randrange(len(lenders))]
            fen = min(max(round(250_000 * math.exp(0.6 * rng.gauss(0.0, 1.0))), 80_000), 800_000)
            p.bills.append((rng.randint(1, 28), lender, math.log(fen), 0.0))
            if p.typology is None:
                st.add(lender.id, "installment", "payer", p)
                used.add(lender.id)
    for lender in lenders:
        if lender.id in used:
            st.add(lender.id, "installment", "lender", lender)


def _providers(rng: random.Random, ids: Ids, st: Structures, persons: list[Person], firms: list[Firm]) -> None:
    providers = [ids.hub(f"HR-{i:02d}", name) for i, name in enumerate(PROVIDERS, 1)]
    used = set()
    for p in persons:
        if p.payday and p.occ in ("employee", "professional", "manager", "finance_officer") and rng.random() < PROVIDER_SHARE:
            p.employer = providers[rng.randrange(len(providers))]
            if p.typology is None:
                st.add(p.employer.id, "payroll_provider", "employee", p)
                used.add(p.employer.id)
    for f in firms:
        if f.employees and rng.random() < PROVIDER_FIRM_SHARE:
            f.payroll_via = providers[rng.randrange(len(providers))]
            st.providers.append((f.payroll_via, f))
            st.add(f.payroll_via.id, "payroll_provider", "client_firm", f)
            for e in f.employees:
                st.add(f.payroll_via.id, "payroll_provider", "employee", e)
            used.add(f.payroll_via.id)
    for provider in providers:
        if provider.id in used:
            st.add(provider.id, "payroll_provider", "provider", provider)


def _supplier_rows(st: Structures, firms: list[Firm]) -> None:
    clients: dict[str, tuple[Party, list[Firm]]] = {}
    for f in firms:
        for party, *_ in f.suppliers:
            clients.setdefault(party.id, (party, []))[1].append(f)
        for s in f.int_suppliers:
            clients.setdefault(s.cid, (customer_party(s.cid, s.acct), []))[1].append(f)
    by_cid = {f.cid: f for f in firms}
    for sid, (party, buyers) in sorted(clients.items()):
        if len(buyers) < 2:
            continue
        supplier = by_cid.get(sid)
        st.add(sid, "shared_supplier", "supplier", supplier if supplier is not None else party)
        for f in buyers:
            st.add(sid, "shared_supplier", "client_firm", f)
