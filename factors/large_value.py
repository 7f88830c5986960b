"""Large-value transaction reports (大额交易报告), PBOC rules 2016 as amended 2018.

One report per customer, rule code, direction and business day, raised when the single or
same-day cumulative amount reaches the threshold: CNY-denominated amounts against the CNY
threshold, foreign-currency amounts (in USD equivalent) against the USD threshold. Later
transactions of the same day update the report: same report key, next revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from factors.model import Transaction
from factors.money import FEN_PER_YUAN, FxTable

TRANSFER_METHODS = frozenset(("transfer", "remittance", "cheque", "card", "other"))
KEEP_DAYS = 7  # report state kept for late transactions of recent days


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


def _applies(rule: LargeValueRule, tx: Transaction, kind: str) -> bool:
    if rule.applies_to == "cash":
        return tx.is_cash
    if tx.is_cash or tx.method not in TRANSFER_METHODS:
        return False
    if rule.applies_to == "entity_transfer":
        return kind == "entity"
    if kind == "entity":
        return False
    return tx.cross_border == (rule.applies_to == "individual_cross_border")


@dataclass(frozen=True, slots=True)
class ReportUpdate:
    """A report to emit: its key fields and the accumulated figures after this transaction."""

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


def accumulate(state: dict[str, Any], tx: Transaction, kind: str, business_day: int, rules: tuple[LargeValueRule, ...], fx: FxTable) -> list[ReportUpdate]:
    """Add `tx` to its day's accumulators in `state` (mutated: it is the rating's own working
    copy) and return the reports it raises or revises."""
    updates = []
    for rule in rules:
        if not _applies(rule, tx, kind):
            continue
        key = f"{business_day}:{rule.code}:{tx.direction}"
        acc = state.setdefault(key, {"rev": 0, "total": 0, "cny": 0, "usd": 0, "ccy": {}, "tx": [], "n": 0})
        acc["total"] += tx.amount_fen
        if tx.currency == "CNY":
            acc["cny"] += tx.amount_fen
        else:
            acc["usd"] += int((Decimal(tx.amount_fen) / fx.cny_per_unit["USD"]).to_integral_value())
        acc["ccy"][tx.currency] = str(Decimal(acc["ccy"].get(tx.currency, "0")) + Decimal(tx.amount))
        acc["n"] += 1
        acc["tx"] = [*acc["tx"], tx.tx_id][-100:]
        reached = acc["cny"] >= rule.cny * FEN_PER_YUAN or acc["usd"] >= rule.usd * 100
        if reached:
            acc["rev"] += 1
            updates.append(ReportUpdate(rule, tx.direction, business_day, acc["rev"], acc["total"], acc["cny"], acc["usd"], dict(acc["ccy"]), tuple(acc["tx"]), acc["n"]))
    for key in [k for k in state if int(k.split(":", 1)[0]) < business_day - KEEP_DAYS]:
        del state[key]
    return updates
