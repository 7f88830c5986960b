"""The customer-level typologies: one customer each, meeting its rule in factors/patterns."""

from __future__ import annotations

import math

from synthbank.records import Firm, Person, money
from synthbank.tables import HOUR
from synthbank.typologies.base import Injector, quiet

TYPOLOGY_SHARE = 1 / 50
INJECTED_HRJ_COUNTRIES = ("IR", "KP", "MM", "RU", "SY", "BY", "VG", "KY", "PA", "VN", "LA", "KE", "LB", "VE")
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


def _structuring(inj: Injector, p: Person) -> None:
    rng = inj.rng
    n = rng.choice((2, 2, 3))
    d = rng.randint(0, inj.days - n)
    direction = "out" if rng.random() < 0.25 else "in"
    sod = inj.sod(14, 16)
    for k in range(n):
        inj.emit(p, d + k, sod, direction, money(rng.randint(4_100_000, 4_790_000)), "cash", "counter", None)
        # the next day, earlier in the day: less than 24 h later
        sod = inj.sod(9, 11) if k == 0 else max(8 * HOUR, sod - rng.randint(300, HOUR))
    quiet(p, d, d + n - 1)


def _rapid_in_out(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(min(2, inj.days - 1), inj.days - 1)
    x = rng.randint(6_000_000, 28_000_000)
    t = inj.sod(9, 10)
    inj.emit(p, d, t, "in", money(x), "transfer", "online", inj.party())
    first = round(x * (0.40 + 0.15 * rng.random()))
    t += rng.randint(2 * HOUR, 4 * HOUR)
    inj.emit(p, d, t, "out", money(first), "transfer", "mobile", inj.party())
    t += rng.randint(1 * HOUR, 3 * HOUR)
    inj.emit(p, d, t, "out", money(round(x * (0.93 + 0.05 * rng.random())) - first), "transfer", "mobile", inj.party())
    quiet(p, d - 2, d)


def _fan_in(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 6)
    n = rng.randint(11, 14)
    total = 0
    for k in range(n):
        fen = rng.randint(950_000, 1_600_000)
        total += fen
        inj.emit(p, d + k * 3 // n, inj.sod(9, 17), "in", money(fen), "transfer", "online", inj.party())
    out = round(total * (0.85 + 0.10 * rng.random()))
    t = inj.sod(9, 11)
    if rng.random() < 0.3:
        part = round(out * (0.3 + 0.3 * rng.random()))
        inj.emit(p, d + 5, t, "out", money(part), "transfer", "online", inj.party())
        out -= part
        t += rng.randint(600, 3 * HOUR)
    inj.emit(p, d + 5, t, "out", money(out), "transfer", "online", inj.party())
    quiet(p, d - 8, d + 6)


def _fan_out(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 5)
    lump = rng.randint(11_000_000, 24_000_000)
    inj.emit(p, d, rng.randint(9 * HOUR + 1800, 11 * HOUR + 1800), "in", money(lump), "transfer", "online", inj.party())
    n = rng.randint(11, 14)
    weights = [0.7 + 0.6 * rng.random() for _ in range(n)]
    total = lump * (0.92 + 0.07 * rng.random())
    times = sorted((d + 3 + (k >= n // 2), inj.sod(9, 17)) for k in range(n))
    for (day, sod), w in zip(times, weights, strict=True):
        inj.emit(p, day, sod, "out", money(round(total * w / sum(weights))), "transfer", "online", inj.party())
    quiet(p, d - 8, d + 6)


def _dormant_reactivation(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(195, inj.days - 4)
    payers = [inj.party() for _ in range(2)]
    payees = [inj.party() for _ in range(3)]
    n = rng.randint(6, 8)
    events = sorted((d + k * 3 // n, inj.sod(9, 20)) for k in range(n))
    for k, (day, sod) in enumerate(events):
        if k % 2 == 0:
            inj.emit(p, day, sod, "in", money(rng.randint(500_000, 1_500_000)), "transfer", "mobile", rng.choice(payers))
        else:
            inj.emit(p, day, sod, "out", money(rng.randint(300_000, 1_000_000)), "transfer", "mobile", rng.choice(payees))
    quiet(p, 10, inj.days)


def _high_risk_jurisdiction(inj: Injector, who: Person | Firm) -> None:
    rng = inj.rng
    country = rng.choice(INJECTED_HRJ_COUNTRIES)
    extra = {"cross_border": True, "counterparty_country": country}
    cp = inj.party("foreign_person")
    d = rng.randint(0, inj.days - 1)
    n = rng.randint(1, 3)
    days = sorted({min(d + rng.randint(0, 10) * (k > 0), inj.days - 1) for k in range(n)})
    if isinstance(who, Firm):
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


def _peer_cash_outlier(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(min(10, inj.days - 16), inj.days - 16)
    total = 0
    while total < 6_800_000:
        fen = rng.randint(950_000, 1_500_000)
        total += fen
        inj.emit(p, d, inj.sod(10, 16), "in", money(fen), "cash", "counter", None)
        d += rng.choice((1, 2))


def _profile_mismatch(inj: Injector, p: Person) -> None:
    rng = inj.rng
    declared_fen = p.declared * 100
    bar = max(math.ceil(3 * declared_fen * 90 / 365), 20_000_000)
    target = round(bar * (1.1 + 0.2 * rng.random()))
    n = max(3, math.ceil(target / 15_000_000))
    d = rng.randint(0, max(0, inj.days - 1 - 7 * (n - 1)))
    gap = min(20, 80 // (n - 1), (inj.days - 1 - d) // (n - 1))  # all within the 90-day window
    cp = inj.party()
    weights = [0.85 + 0.3 * rng.random() for _ in range(n)]
    for k, w in enumerate(weights):
        inj.emit(p, d + k * gap, inj.sod(10, 14) + k, "in", money(round(target * w / sum(weights))), "transfer", "online", cp)


def _frequent_one_off(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 4)
    span = min(12, inj.days - 1 - d)
    n = rng.randint(22, 28)
    times = sorted((d + k * (span + 1) // n, inj.sod(9, 20)) for k in range(n))
    for day, sod in times:
        direction = "in" if rng.random() < 0.5 else "out"
        inj.emit(p, day, sod, direction, money(rng.randint(30_000, 250_000)), "transfer", rng.choice(("online", "mobile")), inj.party())
    quiet(p, d - 31, d + span)


def _round_amounts(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 1)
    n = rng.randint(5, 7)
    payees = [inj.party() for _ in range(rng.randint(2, 4))]
    for sod in sorted(inj.sod(9, 16) for _ in range(n)):
        inj.emit(p, d, sod, "out", f"{rng.randint(4, 9) * 1000}.00", "transfer", rng.choice(("online", "mobile")), rng.choice(payees))
    quiet(p, d - 2, d)


def _night_burst(inj: Injector, p: Person) -> None:
    rng = inj.rng
    d = rng.randint(0, inj.days - 1)
    n = rng.randint(5, 8)
    shops = [inj.party() for _ in range(rng.randint(1, 3))]
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
