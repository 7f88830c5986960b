"""Large-value transaction reports (大额交易报告), PBoC Order [2016] No. 3 as amended 2018.

One report per customer, rule code, direction and business day, raised when the single or
same-day cumulative amount reaches the threshold: CNY-denominated amounts against the CNY
threshold, foreign-currency amounts (in USD equivalent, each leg converted) against the USD one.
Every later change of a reportable day is the report's next revision (same report key).

The day's figures come from the customer's day accumulators (`DayTotals`: every leg of the day,
exact, kept for the whole late-arrival window), never from the trail; the trail only lists the
evidence (tx_ids), and a report says when that list is shorter than the day's legs. A leg that
arrives after the late-arrival window cannot revise anything: when it would have changed a
report (it reaches a threshold alone, or its day was reported) it yields a `manual` report: the
obligation does not lapse, a person completes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from factors.model import DAY_FIELDS, Category, CategoryTotals, DayTotals, RecentTx, Transaction
from factors.money import FEN_PER_YUAN, FxTable

MAX_TX_IDS = 100
MEMORY_DAYS = 366  # revision numbers of reported days are kept this long (a late leg of such a day asks for a manual report)
Action = Literal["report", "withdraw", "manual"]


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
CATEGORIES: dict[str, tuple[Category, ...]] = {
    "cash": ("C",),
    "entity_transfer": ("D", "X"),
    "individual_domestic": ("D",),
    "individual_cross_border": ("X",),
}


def rules_from(params: dict[str, Any]) -> tuple[LargeValueRule, ...]:
    overrides = params.get("rules", {})
    return tuple(
        LargeValueRule(r.code, float(overrides.get(r.code, {}).get("cny", r.cny)), float(overrides.get(r.code, {}).get("usd", r.usd)), r.applies_to)
        for r in DEFAULT_RULES
    )


def category(is_cash: bool, cross_border: bool) -> Category:
    """Cash is one kind whoever the customer is; any other method is a transfer, domestic or not."""
    return "C" if is_cash else ("X" if cross_border else "D")


def applies(rule: LargeValueRule, is_cash: bool, cross_border: bool, kind: str) -> bool:
    """Cash is 0501 whoever the customer is; any other method is a transfer."""
    if rule.applies_to == "cash":
        return is_cash
    if is_cash:
        return False
    if rule.applies_to == "entity_transfer":
        return kind == "entity"
    return kind != "entity" and cross_border == (rule.applies_to == "individual_cross_border")


def foreign_amounts(tx: Transaction, fx: FxTable) -> tuple[int, int]:
    """(USD cents, original amount in thousandths) of a leg; (0, 0) for CNY.

    The USD equivalent is the leg's CNY fen over the USD rate, rounded half-even to the cent."""
    if tx.currency == "CNY":
        return 0, 0
    usd = int((Decimal(tx.amount_fen) / fx.cny_per_unit["USD"]).to_integral_value(ROUND_HALF_EVEN))
    milli = int((Decimal(tx.amount) * 1000).to_integral_value(ROUND_HALF_EVEN))
    return usd, milli


def add_leg(day: DayTotals, tx: Transaction, fx: FxTable, high_risk: bool = False) -> DayTotals:
    """The day's accumulators with one more leg: what the state layer's script does, in Python
    (the reference its tests compare with)."""
    v = dict(zip(DAY_FIELDS, day.values, strict=True))
    d = "in" if tx.direction == "in" else "out"
    v[f"n_{d}"] += 1
    v[f"fen_{d}"] += tx.amount_fen
    if tx.is_cash:
        v[f"cash_fen_{d}"] += tx.amount_fen
        v[f"cash_n_{d}"] += 1
    if tx.cross_border:
        v[f"xb_fen_{d}"] += tx.amount_fen
        v[f"xb_n_{d}"] += 1
        if tx.is_cash:
            v[f"xbcash_fen_{d}"] += tx.amount_fen
            v[f"xbcash_n_{d}"] += 1
    if high_risk:
        v["hr_fen"] += tx.amount_fen
    foreign = dict(day.foreign)
    usd, milli = foreign_amounts(tx, fx)
    if tx.currency != "CNY":
        key = category(tx.is_cash, tx.cross_border) + d[0] + tx.currency
        n, fen, u, m = foreign.get(key, (0, 0, 0, 0))
        foreign[key] = (n + 1, fen + tx.amount_fen, u + usd, m + milli)
    return DayTotals(tuple(v[f] for f in DAY_FIELDS), foreign)


def rule_totals(rule: LargeValueRule, day: DayTotals, direction: str) -> CategoryTotals:
    totals = CategoryTotals()
    for cat in CATEGORIES[rule.applies_to]:
        totals = totals + day.category(cat, direction)  # type: ignore[arg-type]
    return totals


def reaches(rule: LargeValueRule, totals: CategoryTotals) -> bool:
    return totals.cny_fen >= rule.cny * FEN_PER_YUAN or totals.usd_cents >= rule.usd * 100


@dataclass(frozen=True, slots=True)
class ReportUpdate:
    """A report to emit: its key fields and the day's figures after this leg."""

    rule: LargeValueRule
    direction: str
    business_day: int
    revision: int  # 0 for a manual report
    totals: CategoryTotals
    tx_ids: tuple[str, ...]
    tx_ids_truncated: bool
    action: Action = "report"

    @property
    def key(self) -> str:
        return f"{self.business_day}:{self.rule.code}:{self.direction}"


def _evidence(rule: LargeValueRule, kind: str, business_day: int, direction: str, trail: tuple[RecentTx, ...], count: int) -> tuple[tuple[str, ...], bool]:
    legs = [r.tx_id for r in trail if r.business_day == business_day and r.direction == direction and applies(rule, r.is_cash, r.cross_border, kind)]
    return tuple(legs[-MAX_TX_IDS:]), len(legs) < count or len(legs) > MAX_TX_IDS


def reports(
    revisions: dict[str, int], tx: Transaction, kind: str, business_day: int, day: DayTotals, trail: tuple[RecentTx, ...], rules: tuple[LargeValueRule, ...]
) -> list[ReportUpdate]:
    """The reports `tx` raises or revises; `revisions` (the rating's working copy) is updated.

    `day` holds the accumulators of the leg's business day after the leg; `trail` the recent
    legs this leg may cite as evidence."""
    updates = []
    for rule in rules:
        if not applies(rule, tx.is_cash, tx.cross_border, kind):
            continue
        totals = rule_totals(rule, day, tx.direction)
        if not reaches(rule, totals):
            continue
        key = f"{business_day}:{rule.code}:{tx.direction}"
        revisions[key] = abs(revisions.get(key, 0)) + 1  # a withdrawn report (negative) comes back at its next revision
        tx_ids, truncated = _evidence(rule, kind, business_day, tx.direction, trail, totals.count)
        updates.append(ReportUpdate(rule, tx.direction, business_day, revisions[key], totals, tx_ids, truncated))
    return updates


def revise(
    revisions: dict[str, int],
    direction: str,
    is_cash: bool,
    cross_border: bool,
    kind: str,
    business_day: int,
    day: DayTotals,
    trail: tuple[RecentTx, ...],
    rules: tuple[LargeValueRule, ...],
) -> list[ReportUpdate]:
    """After a reversal or correction of a leg of `business_day`: every report that leg counted in
    gets its next revision — `withdraw` when the day fell below the line, `report` when it still
    reaches it; a day a correction lifted over the line gets its first report."""
    updates = []
    for rule in rules:
        if not applies(rule, is_cash, cross_border, kind):
            continue
        key = f"{business_day}:{rule.code}:{direction}"
        totals = rule_totals(rule, day, direction)
        over = reaches(rule, totals)
        last = revisions.get(key, 0)
        if not over and last <= 0:
            continue  # never reported, or withdrawn already
        revision = abs(last) + 1
        revisions[key] = revision if over else -revision  # negative: withdrawn at that revision
        tx_ids, truncated = _evidence(rule, kind, business_day, direction, trail, totals.count)
        updates.append(ReportUpdate(rule, direction, business_day, revision, totals, tx_ids, truncated, "report" if over else "withdraw"))
    return updates


def manual_reports(revisions: dict[str, int], tx: Transaction, kind: str, business_day: int, rules: tuple[LargeValueRule, ...], fx: FxTable) -> list[ReportUpdate]:
    """Reports a leg older than the late-arrival window would have raised or changed."""
    usd, milli = foreign_amounts(tx, fx)
    alone = CategoryTotals(1, tx.amount_fen, 0 if usd else tx.amount_fen, usd, ((tx.currency, milli if usd else tx.amount_fen * 10),))
    updates = []
    for rule in rules:
        if not applies(rule, tx.is_cash, tx.cross_border, kind):
            continue
        key = f"{business_day}:{rule.code}:{tx.direction}"
        if reaches(rule, alone) or key in revisions:
            updates.append(ReportUpdate(rule, tx.direction, business_day, 0, alone, (tx.tx_id,), False, "manual"))
    return updates


def forget_before(revisions: dict[str, int], business_day: int) -> None:
    """Drop revision numbers of days older than MEMORY_DAYS before `business_day`."""
    for key in [k for k in revisions if int(k.split(":", 1)[0]) < business_day - MEMORY_DAYS]:
        del revisions[key]
