"""Splitting between one pair, and exposure to high-risk customers.

* transfer_splitting: a customer with a habit of paying one counterparty (a customer 50 %) a
  modest sum every 10-25 days (CNY 300-5,000, from the first day on, not labelled as part of
  the span) splits CNY 30,000-300,000 into 4-10 transfers of CNY 5,000-49,900 to it within a
  few hours of one day (fast), or 3-6 a day on 2-4 days within 10 days (slow).
* high_risk_exposure: 2-5 customers transact with a high-risk customer: a listed one (listed in
  its profile, half the groups) or one that becomes suspicious (a structuring or fan-out
  customer, the customer-level typologies the default standard rates suspicious, from the day
  after its injection ends): 1-4 transfers each of CNY 1,000-30,000 (60 %
  from the high-risk customer), within 1-3 days (fast) or over 14-40 days (slow).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from synthbank.records import Person
from synthbank.tables import DAY_S
from synthbank.typologies.flows import members
from synthbank.typologies.network import Member, Net, Shape, fen


def splitting_shape(rng: Any) -> Shape:
    return [("origin", "person"), ("beneficiary", "person" if rng.random() < 0.5 else "ext")]


def exposure_shape(rng: Any) -> Shape:
    hub = "listed" if rng.random() < 0.5 else "suspicious"
    return [("high_risk_party", hub)] + [("exposed", "person") for _ in range(rng.randint(2, 5))]


def transfer_splitting(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    rng = net.rng
    window = 1 if net.fast else 10
    d0 = net.start(window)
    if d0 is None:
        return False
    payer, payee = members(net, spec)
    split_days = [d0] if net.fast else sorted(rng.sample(range(d0, d0 + window), rng.randint(2, 4)))
    for day in split_days:
        n = rng.randint(4, 10) if net.fast else rng.randint(3, 6)
        t = net.daytime(day * DAY_S + rng.randint(9 * 3_600, 15 * 3_600))
        for _ in range(n):
            net.pay(t, payer, payee, fen(rng, 5_000, 49_900))
            t = min(t + rng.randint(180, 40 * 60), day * DAY_S + 21 * 3_600 + rng.randint(0, 3_000))
    span = net.span[:]
    day = rng.randint(0, 12)  # the pair's habit, before and after (not part of the span)
    while day < net.days:
        if all(abs(day - s) > 3 for s in split_days):
            net.pay(net.at(day), payer, payee, fen(rng, 300, 5_000))
        day += rng.randint(10, 25)
    net.span = span
    return True


def high_risk_exposure(net: Net, spec: list[tuple[str, Any]], suspicious: list[tuple[str, str]], by_cid: dict[str, Person]) -> bool:
    rng = net.rng
    window = rng.randint(1, 3) if net.fast else rng.randint(14, 40)
    (hub_role, hub), *rest = spec
    first = 0
    if hub == "suspicious":
        hub = None
        while suspicious:
            end, cid = suspicious.pop()  # earliest end first
            first = (datetime.fromisoformat(end).date() - net.origin).days + 1
            if max(first, net.first_day) + window + 1 < net.days:
                hub = by_cid[cid]
                break
        if hub is None:  # no suspicious customer fits: an exposed one is listed instead
            hub, rest = rest[0][1], rest[1:]
            hub.listed = True
            first = 0
    first = max(first, net.first_day)
    if net.days < first + window + 2:
        return False
    d0 = rng.randint(first, net.days - window - 2)
    h: Member = net.add(hub_role, hub)
    for m in members(net, rest):
        for _ in range(rng.randint(1, 4)):
            t = net.at(d0 + rng.randint(0, window))
            if rng.random() < 0.6:
                net.pay(t, h, m, fen(rng, 1_000, 30_000))
            else:
                net.pay(t, m, h, fen(rng, 1_000, 30_000))
    return True
