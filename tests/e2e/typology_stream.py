"""A scripted transaction stream for the typology end-to-end test: one customer per pattern
rule, each with a short deterministic sequence that triggers exactly that rule and nothing
else, two customers that only cross a large-value reporting threshold, and a clean population
of ordinary customers that must trigger nothing.

All figures follow the default standard (factors/standards/default.toml). Event times are
RFC 3339 with +08:00 (the standard's Asia/Shanghai), on working days (the clean customers also shop on
a Saturday). Amounts are decimal strings and never a multiple of 1,000 (the `r` round-amount
flag) unless the round_amounts customer needs one. Counterparty countries appear only in the
high_risk_jurisdiction and the cross-border large-value customers. Why each sequence stays clear
of the other rules is written next to it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

Tx = dict[str, Any]


def at(day: str, hhmm: str) -> str:
    """Local (Asia/Shanghai) wall-clock time as RFC 3339 with the +08:00 offset."""
    return f"{day}T{hhmm}:00+08:00"


def tx(
    tx_id: str,
    customer: str,
    ts: str,
    direction: str,
    amount: str,
    method: str = "transfer",
    *,
    counterparty: str | None = None,
    channel: str = "online",
    currency: str = "CNY",
    **extra: Any,
) -> Tx:
    doc: Tx = {"tx_id": tx_id, "customer_id": customer, "ts": ts, "direction": direction, "amount": amount, "currency": currency, "method": method, "channel": channel}
    if counterparty is not None:
        doc["counterparty_id"] = counterparty
    return doc | extra


def is_round(amount: str) -> bool:
    """The engine's `r` flag: a multiple of 1,000 in the original currency."""
    return Decimal(amount) % 1000 == 0


def local_hour(ts: str) -> int:
    assert ts.endswith("+08:00"), ts
    return int(ts[11:13])


def message(doc: Tx) -> tuple[bytes, bytes]:
    return doc["customer_id"].encode(), orjson.dumps(doc)


@dataclass(frozen=True)
class Typology:
    """One customer whose stream triggers exactly `pattern`, once, at `fires_at`."""

    pattern: str
    customer: str
    txs: list[Tx]
    fires_at: str  # tx_id of the alert's cause
    evidence: tuple[str, ...] | None = None  # the alert's exact tx_ids, where they do not depend on the trail horizon
    profile: Tx | None = None  # a customer profile to produce (and have rated) before the transactions
    metrics: dict[str, Any] = field(default_factory=dict)  # metrics the alert must carry


@dataclass(frozen=True)
class LargeValue:
    """One expected large_value_report event."""

    customer: str
    rule_code: str
    direction: str
    revision: int
    total_cny: float
    cause: str


# ---- the typologies ---------------------------------------------------------------------------


def structuring() -> Typology:
    # Two cash deposits in [40,000, 50,000), 17 h 45 min apart (< 24 h) but on two business days:
    # each day's cash stays under 50,000, so neither same_day_cash nor a 0501 report; the card
    # payment before is ordinary and not near the threshold.
    c = "typ-structuring"
    return Typology(
        "structuring",
        c,
        [
            tx("STR-1", c, at("2026-09-10", "12:30"), "out", "86.40", "card", counterparty="m-canteen", channel="pos"),
            tx("STR-2", c, at("2026-09-14", "16:20"), "in", "46250.00", "cash", channel="counter"),
            tx("STR-3", c, at("2026-09-15", "10:05"), "in", "47380.50", "cash", channel="counter"),
        ],
        fires_at="STR-3",
        evidence=("STR-2", "STR-3"),
        metrics={"direction": "in", "near_threshold_count": 2, "total_cny": 93_630.5},
    )


def rapid_in_out() -> Typology:
    # 80,456.78 in, paid on in two transfers the same afternoon: 30,123.45 (37 %, not yet), then
    # 40,234.56 (87 % >= 80 %). One payer, two payees: far below the fan rules; transfers well
    # under 0503's 500,000; no cash.
    c = "typ-rapid"
    return Typology(
        "rapid_in_out",
        c,
        [
            tx("RIO-1", c, at("2026-09-16", "10:00"), "in", "80456.78", counterparty="co-alpha"),
            tx("RIO-2", c, at("2026-09-16", "13:00"), "out", "30123.45", counterparty="co-beta"),
            tx("RIO-3", c, at("2026-09-16", "16:00"), "out", "40234.56", counterparty="co-gamma"),
        ],
        fires_at="RIO-3",
        evidence=("RIO-1", "RIO-2", "RIO-3"),
        metrics={"in_cny": 80_456.78, "out_cny": 70_358.01, "in_count": 1, "out_count": 2},
    )


def fan_in() -> Typology:
    # Ten payers, Mon-Wed (4 + 3 + 3), 11,123.45 .. 12,234.50 each (116,789.75 in total; at most
    # 45,234.50 a day, far below 0503); one payee on Friday 15:00, 98,765.43 (ratio 0.846). The
    # last payment came in on Wednesday 13:50, more than 48 h before the payout, so rapid_in_out's
    # window holds no inflow. 11 transactions: not frequent_one_off.
    c = "typ-fan-in"
    slots = [("2026-09-21", h) for h in ("09:10", "10:20", "11:30", "14:40")]
    slots += [("2026-09-22", h) for h in ("09:15", "11:45", "15:30")]
    slots += [("2026-09-23", h) for h in ("09:05", "10:35", "13:50")]
    txs = [tx(f"FIN-{i}", c, at(day, hm), "in", f"{11_000 + Decimal('123.45') * i:.2f}", counterparty=f"payer-{i:02d}") for i, (day, hm) in enumerate(slots, 1)]
    txs.append(tx("FIN-11", c, at("2026-09-25", "15:00"), "out", "98765.43", counterparty="sink-1"))
    return Typology("fan_in", c, txs, fires_at="FIN-11", metrics={"sources": 10, "sinks": 1, "in_cny": 116_789.75, "out_cny": 98_765.43})


def fan_out() -> Typology:
    # One payer on Monday 09:30 (115,432.10); ten payees Thu (5) and Fri (5), 11,111.11 ..
    # 12,111.10 each (116,111.05: in / out 0.994). The first payout is 72.5 h after the money
    # came in, so rapid_in_out's 48 h window holds no inflow; daily totals far below 0503.
    c = "typ-fan-out"
    txs = [tx("FOUT-0", c, at("2026-09-21", "09:30"), "in", "115432.10", counterparty="lump-1")]
    slots = [("2026-09-24", h) for h in ("10:00", "11:00", "13:00", "14:00", "15:00")]
    slots += [("2026-09-25", h) for h in ("09:30", "10:30", "11:30", "14:00", "16:00")]
    txs += [tx(f"FOUT-{i}", c, at(day, hm), "out", f"{11_000 + Decimal('111.11') * i:.2f}", counterparty=f"payee-{i:02d}") for i, (day, hm) in enumerate(slots, 1)]
    return Typology("fan_out", c, txs, fires_at="FOUT-10", metrics={"sinks": 10, "sources": 1, "out_cny": 116_111.05, "in_cny": 115_432.10})


def dormant_reactivation() -> Typology:
    # One card payment in January, then 229 days of silence (>= 180: the Redis script marks the
    # first transaction after it as the reactivation, judged against the customer's watermark;
    # the January bucket has long left the 90-day window by then), then five small transactions
    # within two days: count 5 reaches min_count at the fifth. Amounts small (no rapid_in_out).
    c = "typ-dormant"
    return Typology(
        "dormant_reactivation",
        c,
        [
            tx("DOR-0", c, at("2026-01-15", "10:00"), "out", "256.78", "card", counterparty="m-bookshop", channel="pos"),
            tx("DOR-1", c, at("2026-09-01", "09:10"), "in", "3456.78", counterparty="unknown-payer-1"),
            tx("DOR-2", c, at("2026-09-01", "11:40"), "out", "1234.56", counterparty="unknown-payee-1"),
            tx("DOR-3", c, at("2026-09-01", "15:25"), "out", "987.65", counterparty="unknown-payee-2"),
            tx("DOR-4", c, at("2026-09-02", "10:15"), "in", "2345.67", counterparty="unknown-payer-1"),
            tx("DOR-5", c, at("2026-09-02", "14:50"), "out", "1876.54", counterparty="unknown-payee-1"),
        ],
        fires_at="DOR-5",
        evidence=("DOR-1", "DOR-2", "DOR-3", "DOR-4", "DOR-5"),
        metrics={"tx_count": 5, "reactivated_at": "2026-09-01T01:10:00.000Z"},
    )


def high_risk_jurisdiction() -> Typology:
    # A salary, then one cross-border remittance to a counterparty in Iran (on the sanctioned and
    # FATF call-for-action lists): 8,765.43, far below 0504's CNY 200,000.
    c = "typ-high-risk"
    return Typology(
        "high_risk_jurisdiction",
        c,
        [
            tx("HRJ-1", c, at("2026-10-12", "09:00"), "in", "15432.10", counterparty="employer-hrj"),
            tx("HRJ-2", c, at("2026-10-13", "11:00"), "out", "8765.43", "remittance", counterparty="ir-trading-1", cross_border=True, counterparty_country="IR"),
        ],
        fires_at="HRJ-2",
        evidence=("HRJ-2",),
        metrics={"country": "IR", "direction": "out", "amount_cny": 8_765.43},
    )


def frequent_one_off() -> Typology:
    # Twenty small transactions over ten working days (2 a day, 10 in and 10 out), each with a
    # counterparty seen only once: count reaches 20 at the last one with a distinct ratio of 1.0.
    # Money in totals ~16,000: nowhere near the fan rules' 100,000 or rapid_in_out's 50,000.
    c = "typ-one-off"
    days = ["2026-10-12", "2026-10-13", "2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22", "2026-10-23"]
    txs = []
    for d, day in enumerate(days):
        for k, hm in enumerate(("10:30", "15:45")):
            n = 2 * d + k + 1
            direction = "in" if k == 0 else "out"
            txs.append(tx(f"ONE-{n:02d}", c, at(day, hm), direction, f"{Decimal('1234.56') + Decimal('37.11') * n:.2f}", counterparty=f"stranger-{n:02d}"))
    return Typology("frequent_one_off", c, txs, fires_at="ONE-20", metrics={"tx_count": 20, "distinct_ratio": 1.0})


def profile_mismatch() -> Typology:
    # Declared income CNY 60,000 a year: the bar is max(3 x 60,000 x 90 / 365, 200,000) = 200,000
    # of 90-day turnover. Four incoming transfers of 52,345.67 from one payer, two weeks apart:
    # 157,037.01 after the third, 209,382.68 after the fourth. Nothing goes out (rapid_in_out
    # looks at outflows only); one payer; far below 0503.
    c = "typ-profile"
    profile = {
        "customer_id": c,
        "kind": "individual",
        "country": "CN",
        "residence_country": "CN",
        "industry": "education",
        "occupation": "employee",
        "onboarded_at": "2020-03-02T10:00:00+08:00",
        "declared_annual_income": 60000,
        "updated_at": "2026-07-01T09:00:00+08:00",
    }
    days = ["2026-08-03", "2026-08-17", "2026-08-31", "2026-09-14"]
    txs = [tx(f"PRM-{i}", c, at(day, "10:00"), "in", "52345.67", counterparty="payer-prm") for i, day in enumerate(days, 1)]
    return Typology("profile_mismatch", c, txs, fires_at="PRM-4", profile=profile, metrics={"turnover_90d_cny": 209_382.68, "declared_annual_cny": 60_000.0})


def round_amounts() -> Typology:
    # Five transfers out, all multiples of 1,000, in one day: 25,000 >= 20,000, share 5/5.
    # Nothing comes in (no rapid_in_out); three payees; daytime.
    c = "typ-round"
    times = ["10:00", "11:30", "13:00", "14:30", "16:00"]
    amounts = ["4000", "5000", "6000", "3000", "7000"]
    txs = [tx(f"RND-{i}", c, at("2026-10-14", hm), "out", a, counterparty=f"payee-rnd-{i % 3}") for i, (hm, a) in enumerate(zip(times, amounts, strict=True), 1)]
    return Typology("round_amounts", c, txs, fires_at="RND-5", evidence=tuple(f"RND-{i}" for i in range(1, 6)), metrics={"round_count": 5, "round_total_cny": 25_000.0})


def night_burst() -> Typology:
    # Five card-not-present payments between 01:05 and 03:30 local time: 11,134.53 >= 10,000.
    c = "typ-night"
    spec = [("01:05", "2345.67"), ("01:40", "1987.65"), ("02:15", "2456.78"), ("02:50", "2109.87"), ("03:30", "2234.56")]
    txs = [tx(f"NGT-{i}", c, at("2026-10-15", hm), "out", a, "card", counterparty=f"m-online-{i % 2}") for i, (hm, a) in enumerate(spec, 1)]
    return Typology("night_burst", c, txs, fires_at="NGT-5", evidence=tuple(f"NGT-{i}" for i in range(1, 6)), metrics={"night_count": 5, "night_total_cny": 11_134.53})


def same_day_cash() -> Typology:
    # Cash in 18,250.40 and 12,400.00, cash out 21,330.75 the same day: 51,981.15 in and out
    # together reaches 50,000 at the withdrawal, while each direction stays below 0501's 50,000
    # (no large-value report) and no amount is near the threshold (no structuring). The
    # withdrawal follows 30,650.40 of inflows: under rapid_in_out's 50,000.
    c = "typ-cash"
    return Typology(
        "same_day_cash",
        c,
        [
            tx("SDC-1", c, at("2026-10-16", "09:30"), "in", "18250.40", "cash", channel="counter"),
            tx("SDC-2", c, at("2026-10-16", "11:00"), "in", "12400.00", "cash", channel="counter"),
            tx("SDC-3", c, at("2026-10-16", "15:00"), "out", "21330.75", "cash", channel="counter"),
        ],
        fires_at="SDC-3",
        evidence=("SDC-1", "SDC-2", "SDC-3"),
        metrics={"business_date": "2026-10-16", "cash_total_cny": 51_981.15, "cash_in_cny": 30_650.4, "cash_out_cny": 21_330.75, "cash_tx_count": 3},
    )


# peer_cash_outlier and peer_frequency_outlier are not scripted: they need a published peer
# baseline (at least 20 customers of a peer group, published by a worker timer every hour), which
# this stream does not set up. The unit tests of factors/patterns cover them.
TYPOLOGIES: tuple[Typology, ...] = (
    structuring(),
    rapid_in_out(),
    fan_in(),
    fan_out(),
    dormant_reactivation(),
    high_risk_jurisdiction(),
    frequent_one_off(),
    profile_mismatch(),
    round_amounts(),
    night_burst(),
    same_day_cash(),
)


# ---- large-value reports without a pattern ---------------------------------------------------


def large_value_customers() -> tuple[list[Tx], list[LargeValue]]:
    """A domestic transfer over 0503's CNY 500,000 and a later one the same day (revision 2), and
    a USD remittance from Hong Kong over 0504's USD 10,000. No cash, nothing comes in and goes
    out again, Hong Kong is on no list: no pattern fires."""
    dom, xb = "lv-domestic", "lv-cross-border"
    txs = [
        tx("LVD-1", dom, at("2026-10-20", "10:00"), "out", "612345.60", counterparty="developer-1"),
        tx("LVD-2", dom, at("2026-10-20", "14:00"), "out", "1234.56", counterparty="notary-1"),
        tx(
            "LVX-1",
            xb,
            at("2026-10-21", "10:30"),
            "in",
            "15250.00",
            "remittance",
            currency="USD",
            counterparty="hk-employer",
            cross_border=True,
            counterparty_country="HK",
        ),
    ]
    expected = [
        LargeValue(dom, "0503", "out", 1, 612_345.60, "LVD-1"),
        LargeValue(dom, "0503", "out", 2, 613_580.16, "LVD-2"),
        LargeValue(xb, "0504", "in", 1, 108_275.00, "LVX-1"),  # 15,250 USD x 7.10
    ]
    return txs, expected


# ---- ordinary customers ---------------------------------------------------------------------


def _amount(rng: random.Random, low: float, high: float) -> str:
    value = Decimal(f"{rng.uniform(low, high):.2f}")
    if value % 1000 == 0:
        value += Decimal("0.37")
    return f"{value:.2f}"


def clean_customers(n: int = 30) -> list[Tx]:
    """`n` ordinary customers, one working week plus a Saturday each: a salary, card spending at
    a few regular merchants, a utility bill, a transfer to family and back, one ATM withdrawal.
    Daytime, no amount a multiple of 1,000, domestic, ten transactions and six counterparties a
    customer, cash under a thousand: nothing for any rule to find."""
    out: list[Tx] = []
    for i in range(n):
        c = f"clean-{i:02d}"
        rng = random.Random(c)

        def hm(low: int, high: int, rng: random.Random = rng) -> str:
            return f"{rng.randint(low, high):02d}:{rng.randint(0, 59):02d}"

        plan = [
            ("2026-11-02", hm(8, 9), "in", _amount(rng, 6_500, 24_000), "transfer", f"employer-{i % 4}", "online"),
            ("2026-11-02", hm(11, 13), "out", _amount(rng, 25, 95), "card", f"merchant-{i % 6}", "pos"),
            ("2026-11-03", hm(18, 20), "out", _amount(rng, 120, 480), "card", f"merchant-{(i + 1) % 6}", "pos"),
            ("2026-11-04", hm(10, 11), "out", _amount(rng, 150, 400), "transfer", f"utility-{i % 3}", "online"),
            ("2026-11-04", hm(18, 20), "out", _amount(rng, 25, 95), "card", f"merchant-{i % 6}", "mobile"),
            ("2026-11-05", hm(12, 13), "out", _amount(rng, 500, 2_500), "transfer", f"family-{i:02d}", "mobile"),
            ("2026-11-05", hm(19, 21), "out", _amount(rng, 60, 300), "card", f"merchant-{(i + 2) % 6}", "pos"),
            ("2026-11-06", hm(8, 9), "out", _amount(rng, 300, 800), "cash", None, "atm"),
            ("2026-11-06", hm(14, 16), "in", _amount(rng, 80, 300), "transfer", f"family-{i:02d}", "mobile"),
            ("2026-11-07", hm(10, 17), "out", _amount(rng, 120, 480), "card", f"merchant-{(i + 1) % 6}", "pos"),
        ]
        for k, (day, time, direction, amount, method, cp, channel) in enumerate(plan, 1):
            out.append(tx(f"CLN-{i:02d}-{k:02d}", c, at(day, time), direction, amount, method, counterparty=cp, channel=channel))
    return out
