"""Injected customer-level typologies: who gets one, and the labels.

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

import random
from datetime import date
from typing import Any

from synthbank.records import Event, Firm, Ids, Label, Person, rfc3339
from synthbank.tables import HRJ_ENTITY_INDUSTRIES
from synthbank.typologies.base import Injector
from synthbank.typologies.customer import INJECTIONS, MIN_DAYS, TYPOLOGIES, TYPOLOGY_SHARE


def choose_typologies(rng: random.Random, persons: list[Person], firms: list[Firm], days: int) -> list[tuple[str, Any]]:
    feasible = [t for t in TYPOLOGIES if days >= MIN_DAYS[t]]
    count = round((len(persons) + len(firms)) * TYPOLOGY_SHARE)
    if not feasible or count == 0:
        return []
    order = feasible[:]
    rng.shuffle(order)
    candidates = [p for p in persons if not p.occ.startswith("pep_") and not p.listed]
    rng.shuffle(candidates)
    chosen: list[tuple[str, Any]] = []
    used: set[int] = set()
    hrj_firms = [f for f in firms if f.industry in HRJ_ENTITY_INDUSTRIES and not f.listed]
    for i in range(count):
        typology = order[i % len(order)]
        if typology == "high_risk_jurisdiction" and hrj_firms and rng.random() < 0.4:
            f = hrj_firms.pop(rng.randrange(len(hrj_firms)))
            f.typology = typology
            used.add(f.n)
            chosen.append((typology, f))
            continue
        pick = next((p for p in candidates if p.n not in used and eligible(typology, p)), None)
        if pick is None:
            continue
        used.add(pick.n)
        pick.typology = typology
        chosen.append((typology, pick))
    return chosen


def eligible(typology: str, p: Person) -> bool:
    if typology == "profile_mismatch":  # a modest declared income
        return p.occ in ("employee", "professional", "civil_servant", "self_employed", "retired", "farmer")
    return True


def inject(rng: random.Random, plan: list[tuple[str, Any]], persons: list[Person], days: int, origin: date, ids: Ids, injected: dict[int, list[Event]]) -> list[Label]:
    groups: dict[str, int] = {}
    for p in persons:
        groups[p.industry or "unknown"] = groups.get(p.industry or "unknown", 0) + 1
    labels = []
    for typology, who in plan:
        inj = Injector(rng, days, origin, ids, injected)
        if typology == "peer_cash_outlier" and groups.get(who.industry or "unknown", 0) < 25:
            # The rule needs a peer baseline of at least 20 customers: move to the largest individual group.
            big = max(groups, key=lambda g: (groups[g], g))
            groups[who.industry or "unknown"] -= 1
            groups[big] += 1
            who.industry = None if big == "unknown" else big
        INJECTIONS[typology](inj, who)
        first, last = min(inj.span), max(inj.span)
        labels.append(Label(who.cid, typology, rfc3339(origin, *first), rfc3339(origin, *last)))
    labels.sort(key=lambda lab: lab.customer_id)
    return labels
