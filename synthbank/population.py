"""The population: customer profiles and the parameters of their ordinary behaviour.

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
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from synthbank.lookalikes import assign_suppliers, build_lookalikes
from synthbank.parties import CITIES, Party
from synthbank.records import Event, Firm, Ids, Person, Plan, Population, cum_table, local_origin, lognormal_fen, pick, rfc3339
from synthbank.tables import (
    ACQUIRERS,
    CASH_BUSINESS,
    CNY_PER_UNIT,
    CONSUMER,
    CROSS_BORDER_SHARE,
    EMPLOYER_INDUSTRIES,
    ENTITY_COUNTRIES,
    GOVERNMENT_JOBS,
    HIGH_RISK_FLOW_COUNTRIES,
    HOME_CURRENCY,
    HOUR,
    INDIVIDUAL_COUNTRIES,
    INDUSTRIES,
    OCCUPATIONS,
    OFFSHORE_COUNTRIES,
    ORDINARY_ABROAD,
    PEP_FOREIGN_COUNTRIES,
    PRODUCTS,
    REGIONS,
    SALARY,
    TRADE_INDUSTRIES,
)
from synthbank.typologies import choose_typologies, inject
from synthbank.typologies.registry import choose_networks, inject_networks


def _products(rng: random.Random, shares: dict[str, float]) -> list[str]:
    return [p for p in PRODUCTS if rng.random() < shares.get(p, 0.0)]


def _build_firm(f: Firm, rng: random.Random, ids: Ids) -> None:
    industry = f.industry
    f.b2c = industry in CONSUMER
    if f.b2c:
        f.turnover = lognormal_fen(rng, 1_500_000, 0.45, 600_000, 4_000_000)
        f.daily_sales = f.turnover / 365
        shares = [0.6 + 0.8 * rng.random() for _ in ACQUIRERS]
        f.acq_share = tuple(s / sum(shares) for s in shares)
        f.cash_daily = min(f.daily_sales * (0.15 + 0.15 * rng.random()), 800_000) if industry in CASH_BUSINESS else 0.0
        f.lam_exp = math.exp(-0.3)  # corporate clients paying directly, per business day
        f.ticket_mu = math.log(f.turnover / 250 / 20)
        n_clients = rng.randint(4, 10)
    else:
        f.turnover = lognormal_fen(rng, 3_000_000, 0.8, 500_000, 30_000_000)
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
            clients.append((ids.party("K", "foreign_firm", extra={"cross_border": True, "counterparty_country": country}), currency, CNY_PER_UNIT[currency], None))
        else:
            clients.append((ids.party("K", "firm"), "CNY", 1.0, None))
    f.clients = tuple(clients)
    f.client_cum = list(itertools.accumulate(1 / (i + 1) ** 1.3 for i in range(n_clients)))
    f.k_sup = rng.randint(4, 5)
    f.cost_share = 0.45 + 0.15 * rng.random()
    f.run_sod = 8 * HOUR + rng.randint(0, 900)
    f.staff = max(1, min(80, round(f.turnover / (400_000 + 400_000 * rng.random()) / 100)))
    region = rng.randrange(REGIONS)
    f.region = region
    monthly = [(utility(ids, "U-SGCC", region), f.turnover * 0.004 / 12), (utility(ids, "U-WATER", region), f.turnover * 0.001 / 12)]
    if rng.random() < 0.8:
        monthly.append((ids.party("L", "firm", 6), f.turnover * (0.03 + 0.04 * rng.random()) / 12))
    f.monthly = tuple((cp, max(fen, 20_000)) for cp, fen in monthly)
    f.petty_p = 0.0 if f.b2c else 0.08


def build(customers: int, days: int, seed: int, start: datetime | None, network_from_day: int = 0) -> tuple[Plan, Population]:
    rng = random.Random(seed)
    ids = Ids(seed)
    origin = local_origin(start)
    n_entities = round(customers * 0.15)
    kinds = ["entity"] * n_entities + ["individual"] * (customers - n_entities)
    rng.shuffle(kinds)
    occupations = cum_table(OCCUPATIONS)
    ind_countries = cum_table(INDIVIDUAL_COUNTRIES)
    ent_countries = cum_table(ENTITY_COUNTRIES)
    offshore_countries = cum_table(OFFSHORE_COUNTRIES)
    pep_countries = cum_table(PEP_FOREIGN_COUNTRIES)
    industries = cum_table(INDUSTRIES)
    employer_industries = cum_table(EMPLOYER_INDUSTRIES)
    trades = cum_table(TRADE_INDUSTRIES)

    persons: list[Person] = []
    firms: list[Firm] = []
    for n, kind in enumerate(kinds, 1):
        if kind == "entity":
            f = Firm(n)
            f.industry = pick(rng, industries)
            f.country = pick(rng, offshore_countries if f.industry == "offshore_company" else ent_countries)
            _build_firm(f, rng, ids)
            firms.append(f)
        else:
            p = Person(n)
            p.occ = pick(rng, occupations)
            p.country = pick(rng, pep_countries) if p.occ == "pep_foreign" else "CN" if p.occ == "pep_domestic" else pick(rng, ind_countries)
            persons.append(p)

    # Listed customers are decided first: ordinary customers keep no internal links with them.
    for who in itertools.chain(persons, firms):
        who.listed = rng.random() < 0.002
    # Employers outside the bank: party, industry, payday.
    paydays = (5, 10, 10, 15, 15, 20, 25, 28)
    external_employers = [(ids.party("E", "firm", 5), pick(rng, employer_industries), rng.choice(paydays)) for _ in range(max(20, len(persons) // 25))]
    merchants = tuple(ids("M", 6) for _ in range(max(200, customers // 5)))

    # Typology customers first: they get no internal employer or counterparty; then the members
    # of injected networks (the same).
    labels_plan = choose_typologies(rng, persons, firms, days)
    network_plan = choose_networks(rng, persons, firms, days - network_from_day)  # the days the groups may use

    # Incomes and behaviour of individuals.
    slots = [f for f in firms if f.typology is None for _ in range(f.staff)]
    rng.shuffle(slots)
    regular = [p for p in persons if p.typology is None and not p.listed]
    for p in persons:
        _build_person(p, rng, ids, external_employers, merchants, slots, regular, trades)
    for f in firms:
        f.ext_pay = tuple((ids.party("W"), lognormal_fen(rng, 6_500, 0.35, 3_000, 40_000)) for _ in range(max(0, f.staff - len(f.employees))))
    assign_suppliers(rng, ids, firms)
    structures = build_lookalikes(rng, ids, persons, firms, regular)

    injected: dict[int, list[Event]] = {}
    labels = inject(rng, labels_plan, persons, days, origin, ids, injected)
    network_labels = inject_networks(rng, network_plan, labels, persons, days, origin, ids, injected, network_from_day)
    profiles = _profiles(rng, persons, firms, origin)
    acquirers = tuple(ids.hub(a, name) for a, name in zip(ACQUIRERS, ACQUIRER_NAMES, strict=True))
    plan = Plan(seed, days, origin, persons, firms, merchants, injected, structures.households, structures.landlords, structures.providers, acquirers)
    return plan, Population(profiles, labels, network_labels, structures.members)


ACQUIRER_NAMES = ("银联商务股份有限公司", "支付宝（中国）网络技术有限公司", "财付通支付科技有限公司")


def utility(ids: Ids, prefix: str, region: int) -> Party:
    """The regional utility (or the national carrier for U-CMCC/U-CUCC/U-CTCC) as one party."""
    city = CITIES[region % len(CITIES)]
    names = {
        "U-SGCC": f"国网{city}市电力公司",
        "U-WATER": f"{city}市自来水有限公司",
        "U-GAS": f"{city}燃气（集团）有限公司",
        "U-CMCC": "中国移动通信集团有限公司",
        "U-CUCC": "中国联合网络通信有限公司",
        "U-CTCC": "中国电信股份有限公司",
    }
    pid = prefix if prefix in ("U-CMCC", "U-CUCC", "U-CTCC") else f"{prefix}-{region:02d}"
    return ids.hub(pid, names[prefix])


def hub(ids: Ids, prefix: str, region: int) -> Party:
    """A public payer of a region: G-GOV (government payroll), G-SSF (social security fund)."""
    city = CITIES[region % len(CITIES)]
    name = f"{city}市财政局" if prefix == "G-GOV" else f"{city}市社会保险事业管理中心"
    return ids.hub(f"{prefix}-{region:02d}", name)


def _build_person(
    p: Person,
    rng: random.Random,
    ids: Ids,
    employers: list[tuple[str, str, int]],
    merchants: tuple[str, ...],
    slots: list[Firm],
    regular: list[Person],
    trades: Any,
) -> None:
    occ = p.occ
    region = rng.randrange(REGIONS)
    income = 0  # expected fen a month
    if occ in SALARY:
        median, sigma = SALARY[occ]
        p.salary = lognormal_fen(rng, median, sigma, 3_000, 80_000)
        income = p.salary
        if occ in GOVERNMENT_JOBS:
            p.employer, p.payday, p.industry = hub(ids, "G-GOV", region), 15, "government"
        elif p.typology is None and slots and rng.random() < 0.3:
            firm = slots.pop()
            p.internal_employer = firm
            firm.employees.append(p)
            p.employer, p.industry = firm.party, firm.industry
        else:
            p.employer, p.industry, p.payday = rng.choice(employers)
        p.declared = round(12 * p.salary * (1.05 + 0.35 * rng.random()) / 100_000) * 1000
    elif occ == "retired":
        p.salary = lognormal_fen(rng, 4_200, 0.4, 1_500, 15_000)
        p.employer, p.payday = hub(ids, "G-SSF", region), rng.choice((5, 10, 15))
        income = p.salary
        p.declared = round(12 * p.salary * (1.0 + 0.2 * rng.random()) / 100_000) * 1000
    elif occ == "unemployed":
        p.salary = lognormal_fen(rng, 1_900, 0.15, 1_200, 3_000)
        p.employer, p.payday = hub(ids, "G-SSF", region), 20
        income = p.salary
        p.declared = 0 if rng.random() < 0.7 else round(12 * p.salary / 100_000) * 1000
    elif occ == "student":
        parent = rng.choice(regular) if p.typology is None and regular and rng.random() < 0.5 else None
        if parent is p:
            parent = None
        fen = lognormal_fen(rng, 2_200, 0.3, 1_000, 5_000)
        p.allowance = (rng.randint(1, 28), fen, parent.party if parent else ids.party("P"), parent)
        income = fen
        p.declared = 0
    elif occ in ("self_employed", "farmer"):
        farmer = occ == "farmer"
        p.industry = "agriculture" if farmer else pick(rng, trades)
        lam = 0.15 + 0.15 * rng.random() if farmer else 0.8 + 1.7 * rng.random()
        ticket = lognormal_fen(rng, 4_000 if farmer else 1_800, 0.4, 500, 15_000 if farmer else 3_000) / 100
        clients = tuple(ids.party("K", "firm" if farmer else "person") for _ in range(rng.randint(1, 3) if farmer else rng.randint(3, 10)))
        cash_p = 0.05 if farmer else 0.12
        suppliers = tuple(ids.party("S", "firm") for _ in range(rng.randint(2, 4)))
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
        (rng.randint(1, 28), utility(ids, "U-SGCC", region), math.log(9_000 + 15_000 * rng.random()), 0.3),
        (rng.randint(1, 28), utility(ids, rng.choice(("U-CMCC", "U-CUCC", "U-CTCC")), region), math.log(5_000 + 10_000 * rng.random()), 0.2),
    ]
    if rng.random() < 0.6:
        p.bills.append((rng.randint(1, 28), utility(ids, "U-GAS", region), math.log(4_000 + 8_000 * rng.random()), 0.3))
    if occ in SALARY and rng.random() < 0.33:
        p.rent = (rng.randint(1, 5), round(min(max(p.salary * (0.15 + 0.2 * rng.random()), 150_000), 900_000)))

    p.atm_p = {"retired": 2.5, "farmer": 2.0, "student": 0.8}.get(occ, 1.2) / 30
    p.atm_hi = max(2, min(30, round(max(income, 100_000) * 0.2 / 10_000)))  # hundreds of CNY

    # Recurring personal counterparties.
    for _ in range(rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0]):
        other = None
        if p.typology is None and regular and rng.random() < 0.4:
            other = rng.choice(regular)
            if other is p:
                other = None
        cp = other.party if other else ids.party("P")
        p.partners.append((cp, other, 0.7 / 30 * (0.5 + rng.random()), 0.6, math.log(max(income, 150_000) * (0.02 + 0.05 * rng.random()))))

    # Cross-border remittances, never with high-risk-flow countries.
    foreign = p.country != "CN"
    if rng.random() < (0.6 if foreign else 0.06) and p.country not in HIGH_RISK_FLOW_COUNTRIES:
        country = p.country if foreign and p.country in HOME_CURRENCY else rng.choice(("US", "HK", "GB", "SG", "AU", "CA", "JP"))
        currency = HOME_CURRENCY[country]
        xb_fields = {"cross_border": True, "counterparty_country": country}
        cps = tuple(ids.party("F", "foreign_person", 6, extra=xb_fields) for _ in range(rng.randint(1, 2)))
        median = min(max(income * 0.15, 250_000), 2_000_000)
        p.xb = (
            0.8 / 30 * (0.5 + rng.random()),
            0.7 if not foreign else 0.5,
            currency,
            CNY_PER_UNIT[currency],
            None,
            cps,
            median,
        )


def _profiles(rng: random.Random, persons: list[Person], firms: list[Firm], origin: date) -> list[dict]:
    updated = rfc3339(origin - timedelta(days=1), 0, 0)
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
            "listed": p.listed,
        }
        if rng.random() < 0.001:
            doc["under_investigation"] = True
        if rng.random() < 0.001:
            doc["criminal_record"] = True
        doc |= {
            "products": products,
            "declared_annual_income": p.declared,
            "onboarded_at": rfc3339(origin, -age_days, rng.randint(9 * HOUR, 17 * HOUR)),
            "updated_at": updated,
            "accounts": [p.acct] if p.acct2 is None else [p.acct, p.acct2],
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
            "listed": f.listed,
            "ownership_opaque": rng.random() < (0.7 if industry == "offshore_company" else 0.02),
        }
        if risky and rng.random() < 0.2:
            doc["high_risk_partners"] = True
        doc |= {
            "products": _products(rng, shares),
            "declared_annual_turnover": round(f.turnover * (0.9 + 0.4 * rng.random()) / 1_000_000) * 10_000,
            "onboarded_at": rfc3339(origin, -rng.randint(30, 5_475), rng.randint(9 * HOUR, 17 * HOUR)),
            "updated_at": updated,
            "accounts": [f.acct],
        }
        docs[f.n] = doc
    return [docs[n] for n in sorted(docs)]
