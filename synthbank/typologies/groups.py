"""Closed groups and small-set fan-in / fan-out over long windows.

* closed_group: 4-7 members (customers, an entity 20 % each, one outside member 30 % of the
  time) each paying 2-3 other members 1-2 times CNY 1,000-30,000, and 1-2 shared third parties
  (outside) that most customer members pay (75 %) or are paid by (25 %), CNY 2,000-20,000; over
  1-3 days (fast) or 21-42 days (slow).
* small_set_fan_in: 3-6 sources (50 % customers) pay a collector customer 1-2 (fast) or 1-3
  (slow) times CNY 1,000-20,000 each, over 1-2 days (fast) or 25-40 days (slow); a hop (fast)
  or 1-3 days (slow) after the last, the collector pays 85-95 % of it to one beneficiary (40 % a customer), in transfers
  of at most CNY 45,000.
* small_set_fan_out: an origin (40 % a customer) pays a distributor customer CNY
  10,000-100,000 in 1-2 transfers; the distributor pays 85-97 % of it to 3-6 beneficiaries
  (60 % customers) over 1-2 days (fast) or 25-40 days (slow), at most CNY 45,000 a transfer.
"""

from __future__ import annotations

from typing import Any

from synthbank.tables import DAY_S
from synthbank.typologies.flows import members
from synthbank.typologies.network import FAST_DAYS, SLOW_DAYS, Member, Net, Shape, fen

MAX_TRANSFER = 45_000_00


def closed_group_shape(rng: Any) -> Shape:
    shape = [("member", "any") for _ in range(rng.randint(4, 7))]
    if rng.random() < 0.3:
        shape[-1] = ("member", "ext")
    return shape + [("shared_counterparty", "ext") for _ in range(rng.randint(1, 2))]


def fan_in_shape(rng: Any) -> Shape:
    sources = [("origin", "person" if rng.random() < 0.5 else "ext") for _ in range(rng.randint(3, 6))]
    return [*sources, ("collector", "person"), ("beneficiary", "person" if rng.random() < 0.4 else "ext")]


def fan_out_shape(rng: Any) -> Shape:
    return [("origin", "person" if rng.random() < 0.4 else "ext"), ("distributor", "person")] + [
        ("beneficiary", "person" if rng.random() < 0.6 else "ext") for _ in range(rng.randint(3, 6))
    ]


def _when(net: Net, d0: int, span_days: int) -> int:
    return net.at(d0 + net.rng.randint(0, span_days))


def _in_parts(net: Net, t: int, payer: Member, payee: Member, amount: int) -> int:
    """amount in transfers of at most MAX_TRANSFER a few minutes apart; returns the last one's time."""
    while True:
        part = amount if amount <= MAX_TRANSFER else round(net.rng.uniform(0.6, 0.95) * MAX_TRANSFER)
        net.pay(t, payer, payee, part)
        amount -= part
        if amount <= 0:
            return t
        t = net.daytime(t + net.rng.randint(120, 1_800))


def closed_group(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    span = net.rng.randint(1, 3) if net.fast else net.rng.randint(21, 42)
    d0 = net.start(FAST_DAYS if net.fast else SLOW_DAYS)
    if d0 is None:
        return False
    rng = net.rng
    ms = members(net, spec)
    group = [m for m in ms if m.role == "member"]
    shared = [m for m in ms if m.role == "shared_counterparty"]
    for m in group:
        others = [o for o in group if o is not m and (m.who is not None or o.who is not None)]
        for o in rng.sample(others, min(len(others), rng.randint(2, 3))):
            for _ in range(rng.randint(1, 2)):
                net.pay(_when(net, d0, span), m, o, fen(rng, 1_000, 30_000))
    insiders = [m for m in group if m.who is not None]
    for s in shared:
        for m in rng.sample(insiders, max(2, round(len(insiders) * rng.uniform(0.6, 1.0)))):
            for _ in range(rng.randint(1, 2)):
                payer, payee = (m, s) if rng.random() < 0.75 else (s, m)
                net.pay(_when(net, d0, span), payer, payee, fen(rng, 2_000, 20_000))
    return True


def small_set_fan_in(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    rng = net.rng
    span = rng.randint(1, 2) if net.fast else rng.randint(25, 40)
    d0 = net.start(span + 4)
    if d0 is None:
        return False
    ms = members(net, spec)
    sources, collector, beneficiary = ms[:-2], ms[-2], ms[-1]
    total, last = 0, 0
    for s in sources:
        for _ in range(rng.randint(1, 2 if net.fast else 3)):
            t = _when(net, d0, span - 1)
            amount = fen(rng, 1_000, 20_000)
            net.pay(t, s, collector, amount)
            total, last = total + amount, max(last, t)
    onward = net.hop(last) if net.fast else net.at(last // DAY_S + rng.randint(1, 3))
    _in_parts(net, onward, collector, beneficiary, round(total * rng.uniform(0.85, 0.95)))
    return True


def small_set_fan_out(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    rng = net.rng
    span = rng.randint(1, 2) if net.fast else rng.randint(25, 40)
    d0 = net.start(span + 2)
    if d0 is None:
        return False
    ms = members(net, spec)
    origin, distributor, beneficiaries = ms[0], ms[1], ms[2:]
    lump = fen(rng, 10_000, 100_000)
    t = _in_parts(net, net.at(d0), origin, distributor, lump)
    out = lump * rng.uniform(0.85, 0.97)
    weights = [rng.uniform(0.6, 1.4) for _ in beneficiaries]
    for b, w in zip(beneficiaries, weights, strict=True):
        when = net.daytime(net.hop(t) + rng.randint(0, span * DAY_S)) if net.fast else net.at(d0 + 1 + rng.randint(0, span))
        _in_parts(net, when, distributor, b, round(out * w / sum(weights)))
    return True
