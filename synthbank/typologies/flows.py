"""Money that moves along a path: cycles, layering chains, scatter-gather and gather-scatter.

* cycle: 3-6 accounts (an origin customer, intermediaries of which 70 % customers, never two
  outside accounts in a row); CNY 3,000-45,000 leaves the origin and comes back to it, each hop
  forwarding 95-99.5 % of what it received (a 0.5-5 % cut); a quarter of the hops in two
  transfers. fast: 10 min - 6 h a hop; slow: 1-6 days a hop.
* layering_chain: 4-7 accounts origin -> intermediaries -> beneficiary (origin and beneficiary
  outside the bank 40 % each), CNY 5,000-50,000, the same hops and cuts.
* scatter_gather: an origin customer splits CNY 3,000-30,000 per intermediary among 3-6
  intermediaries (70 % customers) within an hour (fast) or over 0-6 days (slow); each
  forwards 95-99.5 % to one collector customer after a hop.
* gather_scatter: 3-6 sources (60 % customers) pay CNY 2,000-25,000 each to a collector
  customer (an entity 20 %) within hours (fast) or over 7-20 days (slow), which pays 90-98 % of
  it on to 3-6 beneficiaries (60 % customers) right after (fast) or over 5-15 days (slow).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from synthbank.typologies.network import FAST_DAYS, SLOW_DAYS, Member, Net, Shape, fen


def _no_two_outside(rng: Any, n: int, p_customer: float, kind: str = "person") -> list[str]:
    kinds: list[str] = []
    for _ in range(n):
        kinds.append(kind if (kinds and kinds[-1] == "ext") or rng.random() < p_customer else "ext")
    return kinds


def cycle_shape(rng: Any) -> Shape:
    n = rng.randint(3, 6)
    return [("origin", "person")] + [("intermediary", k) for k in _no_two_outside(rng, n - 1, 0.7)]


def chain_shape(rng: Any) -> Shape:
    n = rng.randint(4, 7)
    origin = "ext" if rng.random() < 0.4 else "person"
    kinds = [origin, *_no_two_outside(rng, n - 2, 0.7, "any")]
    if kinds[0] == "ext" and kinds[1] == "ext":
        kinds[1] = "person"
    last = "ext" if kinds[-1] != "ext" and rng.random() < 0.4 else "person"
    return [("origin", kinds[0])] + [("intermediary", k) for k in kinds[1:]] + [("beneficiary", last)]


def scatter_gather_shape(rng: Any) -> Shape:
    k = rng.randint(3, 6)
    return [("origin", "person")] + [("intermediary", "person" if rng.random() < 0.7 else "ext") for _ in range(k)] + [("collector", "person")]


def gather_scatter_shape(rng: Any) -> Shape:
    sources = [("origin", "person" if rng.random() < 0.6 else "ext") for _ in range(rng.randint(3, 6))]
    beneficiaries = [("beneficiary", "person" if rng.random() < 0.6 else "ext") for _ in range(rng.randint(3, 6))]
    return [*sources, ("collector", "any"), *beneficiaries]


def members(net: Net, spec: list[tuple[str, Any]]) -> list[Member]:
    return [net.add(role, None if isinstance(who, str) else who, "person") for role, who in spec]


def _pass(net: Net, t: int, payer: Member, payee: Member, amount: int) -> int:
    """One hop's money, in two transfers a quarter of the time; returns the time of the last."""
    if amount > 4_000_00 and net.rng.random() < 0.25:
        first = round(amount * (0.3 + 0.4 * net.rng.random()))
        net.pay(t, payer, payee, first)
        t = net.daytime(t + net.rng.randint(300, 90 * 60))
        return net.pay(t, payer, payee, amount - first)
    return net.pay(t, payer, payee, amount)


def _path(net: Net, ms: list[Member], amount: int, t: int) -> None:
    for payer, payee in pairwise(ms):
        t = net.hop(_pass(net, t, payer, payee, amount))
        amount = round(amount * (1 - net.rng.uniform(0.005, 0.05)))


def cycle(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    d0 = net.start(FAST_DAYS if net.fast else SLOW_DAYS)
    if d0 is None:
        return False
    ms = members(net, spec)
    _path(net, [*ms, ms[0]], fen(net.rng, 3_000, 45_000), net.at(d0))
    return True


def layering_chain(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    d0 = net.start(FAST_DAYS if net.fast else SLOW_DAYS)
    if d0 is None:
        return False
    _path(net, members(net, spec), fen(net.rng, 5_000, 50_000), net.at(d0))
    return True


def scatter_gather(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    d0 = net.start(FAST_DAYS if net.fast else 15)
    if d0 is None:
        return False
    ms = members(net, spec)
    origin, middle, collector = ms[0], ms[1:-1], ms[-1]
    rng = net.rng
    t0 = net.at(d0)
    for m in middle:
        t = net.daytime(t0 + rng.randint(60, 3_600)) if net.fast else net.at(d0 + rng.randint(0, 6))
        part = fen(rng, 3_000, 30_000)
        net.pay(t, origin, m, part)
        net.pay(net.hop(t), m, collector, round(part * (1 - rng.uniform(0.005, 0.05))))
    return True


def gather_scatter(net: Net, spec: list[tuple[str, Any]], *_: Any) -> bool:
    d0 = net.start(FAST_DAYS if net.fast else SLOW_DAYS)
    if d0 is None:
        return False
    ms = members(net, spec)
    k = next(i for i, m in enumerate(ms) if m.role == "collector")
    sources, collector, beneficiaries = ms[:k], ms[k], ms[k + 1 :]
    rng = net.rng
    t0 = net.at(d0)
    total, last = 0, t0
    gather_days = rng.randint(7, 20)
    for s in sources:
        t = net.daytime(t0 + rng.randint(0, 8 * 3_600)) if net.fast else net.at(d0 + rng.randint(0, gather_days))
        amount = fen(rng, 2_000, 25_000)
        net.pay(t, s, collector, amount)
        total += amount
        last = max(last, t)
    out = total * rng.uniform(0.90, 0.98)
    weights = [rng.uniform(0.7, 1.3) for _ in beneficiaries]
    scatter_days = rng.randint(5, 15)
    start = net.hop(last) if net.fast else net.at(last // 86_400 + rng.randint(1, 5))
    for b, w in zip(beneficiaries, weights, strict=True):
        t = net.daytime(start + rng.randint(0, 3 * 3_600)) if net.fast else net.at(start // 86_400 + rng.randint(0, scatter_days))
        net.pay(t, collector, b, round(out * w / sum(weights)))
    return True
