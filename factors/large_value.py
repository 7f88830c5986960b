"""Large-value transaction reports (大额交易报告), PBOC rules 2016 as amended 2018.

One report per customer, rule code, direction and business day, raised when the single or
same-day cumulative amount reaches the threshold: CNY-denominated amounts against the CNY
threshold, foreign-currency amounts (in USD equivalent) against the USD threshold. Later
qualifying transactions of the same day revise the report: same report key, next revision.

The day's figures are summed from the customer's recent trail (which holds every transaction
of at least the last 72 hours, so a whole business day), and only the revision numbers are
kept as state. A transaction arriving later than the trail horizon revises its day's report
with the transactions the trail still holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from factors.model import RecentTx, Transaction
from factors.money import FEN_PER_YUAN, FxTable

KEEP_DAYS = 7  # revision numbers kept for late transactions of recent days


@dataclass(frozen=True, slots=True)
class LargeValueRule:
    code: str
    cny: float
    usd: float
    applies_to: str  # cash | entity_transfer | individual_domestic | individual_cross_border


DEFAULT_RULES: tuple[LargeValueRule, ...] = (
    LargeValueRule("0501", 50_000, 10_000, "cash"),
    LargeValueRule("0502", 2_000_000, 200_000, "entity_transfer"),
    LargeValueRule("0503", 500_000, 100_000, "individual_domestic"),
    LargeValueRule("0504", 200_000, 10_000, "individual_cross_border"),
)


def rules_from(params: dict[str, Any]) -> tuple[LargeValueRule, ...]:
    overrides = params.get("rules", {})
    return tuple(
        LargeValueRule(r.code, float(overrides.get(r.code, {}).get("cny", r.cny)), float(overrides.get(r.code, {}).get("usd", r.usd)), r.applies_to)
        for r in DEFAULT_RULES
    )


def applies(rule: LargeValueRule, is_cash: bool, cross_border: bool, kind: str) -> bool:
    """Cash is 0501 whoever the customer is; any other method is a transfer."""
    if rule.applies_to == "cash":
        return is_cash
    if is_cash:
        return False
    if rule.applies_to == "entity_transfer":
        return kind == "entity"
    return kind != "entity" and cross_border == (rule.applies_to == "individual_cross_border")


@dataclass(frozen=True, slots=True)
class ReportUpdate:
    """A report to emit: its key fields and the day's figures after this transaction."""

    rule: LargeValueRule
    direction: str
    business_day: int
    revision: int
    total_fen: int
    cny_fen: int
    foreign_usd_cents: int
    by_currency: dict[str, str]
    tx_ids: tuple[str, ...]
    tx_count: int


def reports(
    revisions: dict[str, int], tx: Transaction, kind: str, business_day: int, trail: tuple[RecentTx, ...], rules: tuple[LargeValueRule, ...], fx: FxTable
) -> list[ReportUpdate]:
    """The reports `tx` raises or revises; `revisions` (the rating's working copy) is updated."""
    updates = []
    usd_rate = fx.cny_per_unit["USD"]
    same_day = [r for r in trail if r.business_day == business_day and r.direction == tx.direction]
    for rule in rules:
        if not applies(rule, tx.is_cash, tx.cross_border, kind):
            continue
        qualifying = [r for r in same_day if applies(rule, r.is_cash, r.cross_border, kind)]
        cny = sum(r.amount_fen for r in qualifying if r.currency == "CNY")
        usd = sum(int((Decimal(r.amount_fen) / usd_rate).to_integral_value()) for r in qualifying if r.currency != "CNY")
        if cny < rule.cny * FEN_PER_YUAN and usd < rule.usd * 100:
            continue
        key = f"{business_day}:{rule.code}:{tx.direction}"
        revisions[key] = revisions.get(key, 0) + 1
        by_currency: dict[str, Decimal] = {}
        for r in qualifying:
            by_currency[r.currency] = by_currency.get(r.currency, Decimal(0)) + Decimal(r.amount or r.amount_fen / 100)
        updates.append(
            ReportUpdate(
                rule,
                tx.direction,
                business_day,
                revisions[key],
                sum(r.amount_fen for r in qualifying),
                cny,
                usd,
                {c: str(v) for c, v in sorted(by_currency.items())},
                tuple(r.tx_id for r in qualifying[-100:]),
                len(qualifying),
            )
        )
    for key in [k for k in revisions if int(k.split(":", 1)[0]) < business_day - KEEP_DAYS]:
        del revisions[key]
    return updates
