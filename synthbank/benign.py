"""Ordinary behaviour: the day-by-day transaction stream of every customer.

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
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from operator import itemgetter

from synthbank.lookalike_days import LookalikeDays
from synthbank.parties import NAME_VARIANT_SHARE
from synthbank.records import Event, Firm, Person, Plan, day_clock, foreign_money, money
from synthbank.tables import CARD_HOURS, HOUR, OFFICE_HOURS, ONLINE_HOURS


def payday_table(origin: date, days: int) -> list[frozenset[int]]:
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


def stream(plan: Plan) -> Iterator[dict]:
    rng = random.Random(plan.seed * 1_000_003 + 17)
    r = rng.random
    gauss = rng.gauss
    exp = math.exp
    sample = rng.sample
    bisect_right = bisect.bisect_right
    clock = day_clock()
    nxt = itertools.count().__next__
    merchants = plan.merchants
    n_merchants = len(merchants)
    card_hours, n_card_hours = CARD_HOURS, len(CARD_HOURS)
    online_hours, n_online_hours = ONLINE_HOURS, len(ONLINE_HOURS)
    office_hours, n_office_hours = OFFICE_HOURS, len(OFFICE_HOURS)
    paydays = payday_table(plan.origin, plan.days)
    persons, firms = plan.persons, plan.firms
    for f in firms:
        f.week_in = 0
        f.cash_pending = 0.0
    for p in persons:
        if p.biz is not None:
            p.biz[7] = 0
    ev: list[Event] = []
    add = ev.append
    later: dict[int, list[Event]] = {}  # events decided earlier for a later day
    d_now = [0]
    vr = random.Random(plan.seed * 7_919 + 11).random  # name variants: their own draws
    acquirers = plan.acquirers
    structures = LookalikeDays(plan, rng, nxt, later)

    def salary_split(p: Person, sod: int, fen: int) -> None:
        """Part of a salary moved 1-6 h after it arrived: to the own second account or to a family member."""
        share, to = p.split
        t = min(sod + HOUR + int(r() * 5 * HOUR), 21 * HOUR + int(r() * HOUR))
        amount = money(int(fen * share))
        channel = "mobile" if r() < 0.7 else "online"
        if to is None:
            add((t, nxt(), p.cid, p.acct, "out", amount, "CNY", "transfer", channel, p.party2, None))
            add((t, nxt(), p.cid, p.acct2, "in", amount, "CNY", "transfer", channel, p.party, None))
        else:
            add((t, nxt(), p.cid, p.acct, "out", amount, "CNY", "transfer", channel, to.party, None))
            add((t, nxt(), to.cid, to.acct, "in", amount, "CNY", "transfer", channel, p.party, None))

    def person_day(p: Person, wd: int, dom: int, pay: frozenset[int]) -> None:
        cid, acct = p.cid, p.acct
        if p.payday and p.payday in pay:
            sod = 8 * HOUR + int(r() * 4 * HOUR)
            fen = int(p.salary * (0.97 + 0.06 * r()))
            add((sod, nxt(), cid, acct, "in", money(fen), "CNY", "transfer", "online", p.employer, None))
            if p.split is not None:
                salary_split(p, sod, fen)
        allowance = p.allowance
        if allowance is not None and dom == allowance[0]:
            amount = money(int(allowance[1] * (0.9 + 0.2 * r())))
            sod = online_hours[int(r() * n_online_hours)] * HOUR + int(r() * HOUR)
            parent = allowance[3]
            if parent is not None:
                add((sod, nxt(), parent.cid, parent.acct, "out", amount, "CNY", "transfer", "mobile", p.party, None))
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
                for _ in range(1 + (r() < 0.06) * (1 + (r() < 0.3))):  # now and then 2-3 in a row (same-pair repeats)
                    if other is None:
                        add((sod, nxt(), cid, acct, "out" if out else "in", amount, "CNY", "transfer", channel, cp, None))
                    elif out:
                        add((sod, nxt(), cid, acct, "out", amount, "CNY", "transfer", channel, cp, None))
                        add((sod, nxt(), other.cid, other.acct, "in", amount, "CNY", "transfer", channel, p.party, None))
                    else:
                        add((sod, nxt(), other.cid, other.acct, "out", amount, "CNY", "transfer", channel, p.party, None))
                        add((sod, nxt(), cid, acct, "in", amount, "CNY", "transfer", channel, cp, None))
                    sod = min(sod + 300 + int(r() * 7_000), 22 * HOUR)
                    amount = money(int(exp(mu + 0.6 * gauss(0.0, 1.0))))
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
                    foreign_money(int(cny / xb[3]), xb[2]),
                    xb[2],
                    "remittance",
                    "online" if r() < 0.7 else "counter",
                    cps[int(r() * len(cps))],
                    xb[4],
                )
            )

    def firm_day(f: Firm, wd: int, dom: int) -> None:
        cid, acct = f.cid, f.acct
        if wd == 0:  # the weekly payment run, before any receipt of the day
            t0 = f.run_sod
            total = (f.week_in if f.week_in > 0 else f.expected_week) * f.cost_share
            f.week_in = 0
            weights = [0.6 + 0.8 * r() for _ in range(f.k_sup)]
            scale = total / sum(weights)
            run = sample(f.suppliers, f.k_sup)
            if r() < 0.1:  # two invoices of one supplier in the same run
                run.append(run[0])
                weights.append(weights[0] * (0.2 + 0.5 * r()))
            for i, (cp, currency, rate, extra) in enumerate(run):
                fen = int(scale * weights[i])
                if currency == "CNY":
                    add((t0 + 60 * i, nxt(), cid, acct, "out", money(fen), "CNY", "transfer", "online", cp, None))
                else:
                    add((t0 + 60 * i, nxt(), cid, acct, "out", foreign_money(int(fen / rate), currency), currency, "remittance", "online", cp, extra))
            if 8 <= dom <= 14:  # the monthly run: rent, utilities, payroll
                for j, (cp, fen) in enumerate(f.monthly):
                    add((t0 + 420 + 60 * j, nxt(), cid, acct, "out", money(int(fen * (0.9 + 0.2 * r()))), "CNY", "transfer", "online", cp, None))
                t = t0 + 660
                if f.payroll_via is not None:  # one lump to the payroll provider, which pays tomorrow
                    fens = [int(e.salary * (0.97 + 0.06 * r())) for e in f.employees]
                    add((t, nxt(), cid, acct, "out", money(int(sum(fens) * (1.03 + 0.05 * r()))), "CNY", "transfer", "online", f.payroll_via, None))
                    t += 3
                    sod = 9 * HOUR + int(r() * 2 * HOUR)
                    tomorrow = later.setdefault(d_now[0] + 1, [])
                    for e, fen in zip(f.employees, fens, strict=True):
                        tomorrow.append((sod, nxt(), e.cid, e.acct, "in", money(fen), "CNY", "transfer", "online", f.payroll_via, None))
                        sod += 2
                for e in f.employees if f.payroll_via is None else ():
                    fen = int(e.salary * (0.97 + 0.06 * r()))
                    amount = money(fen)
                    add((t, nxt(), cid, acct, "out", amount, "CNY", "transfer", "online", e.party, None))
                    add((t, nxt(), e.cid, e.acct, "in", amount, "CNY", "transfer", "online", f.party, None))
                    if e.split is not None:
                        salary_split(e, t, fen)
                    t += 3
                for wid, fen in f.ext_pay:
                    add((t, nxt(), cid, acct, "out", money(int(fen * (0.97 + 0.06 * r()))), "CNY", "transfer", "online", wid, None))
                    t += 3
        if wd == 2 and f.int_suppliers and r() < 0.5:  # suppliers that bank with us, paid on Wednesdays
            s = f.int_suppliers[int(r() * len(f.int_suppliers))]
            fen = int(f.expected_week * f.cost_share * (0.1 + 0.15 * r()))
            sod = 14 * HOUR + int(r() * 2 * HOUR)
            s.week_in += fen
            add((sod, nxt(), cid, acct, "out", money(fen), "CNY", "transfer", "online", s.party, None))
            add((sod, nxt(), s.cid, s.acct, "in", money(fen), "CNY", "transfer", "online", f.party, None))
        if f.cash_daily:
            f.cash_pending += f.cash_daily * (0.7 + 0.6 * r())
        if wd >= 5:
            return
        if f.b2c:  # T+1 settlement of card and QR sales; Monday's covers Friday to Sunday
            sales = f.daily_sales * (3 if wd == 0 else 1)
            for i, acquirer in enumerate(acquirers):
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
                    add((sod, nxt(), cid, acct, "in", foreign_money(int(fen / rate), currency), currency, "remittance", "online", cp, extra))

    n_tx = 0
    for d in range(plan.days):
        d_now[0] = d
        day = plan.origin + timedelta(days=d)
        wd, dom, pay = day.weekday(), day.day, paydays[d]
        prefix = day.isoformat() + "T"
        for p in persons:
            if not p.quiet_from <= d <= p.quiet_to:
                person_day(p, wd, dom, pay)
        for f in firms:
            firm_day(f, wd, dom)
        structures.day(d, wd, dom, add)
        ev.extend(plan.injected.get(d, ()))
        ev.extend(later.pop(d, ()))
        ev.sort(key=itemgetter(0, 1))
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
                if cp.__class__ is str:
                    doc["counterparty_id"] = cp
                elif cp.variants and vr() < NAME_VARIANT_SHARE:  # the id missing, the name as another bank spells it
                    variants = cp.variants
                    doc.update(variants[int(vr() * len(variants))])
                else:
                    doc["counterparty_id"] = cp.id
                    doc.update(cp.fields)
            if extra is not None:
                doc.update(extra)
            yield doc
        ev.clear()
