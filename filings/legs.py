"""Which archived legs a large-value report lists, and the auditor's check that they are exactly
the ones the customer stage counted (pure: no I/O).

The selection uses the customer stage's own rule (`factors.large_value.applies`: cash vs
transfer, cross-border, entity vs natural person) over the customer's legs of the report's
business day and direction, up to and including the leg that caused this revision (in the order
the customer stage read them), payment postings only (`filings.model.reportable_posting`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from factors.large_value import DEFAULT_RULES, LargeValueRule, applies
from factors.postings import effective
from filings.model import Leg, ReportEvent, reportable_posting

RULES: dict[str, LargeValueRule] = {r.code: r for r in DEFAULT_RULES}
# the rule code says whose transfers it covers; cash (0501) is anyone's
KIND_OF_RULE = {"0501": "individual", "0502": "entity", "0503": "individual", "0504": "individual"}


@dataclass(frozen=True, slots=True)
class Selection:
    legs: tuple[Leg, ...]
    problem: str | None  # None: the legs equal the event's count and totals exactly


def select(
    report: ReportEvent,
    day_legs: list[Leg],
    cause_seq: int,
    undoings: list[Leg] = (),
    own_accounts: Collection[str] = (),
    own_bank: Collection[str] = (),  # type: ignore[assignment]
) -> Selection:
    """The report's legs among `day_legs` (the customer's legs of that business day), as they stand
    after the reversals and corrections among `undoings` (the customer's archived legs up to the
    cause, any day), checked against the event."""
    rule = RULES[report.rule_code]
    kind = KIND_OF_RULE[report.rule_code]
    undone = sorted((u for u in undoings if u.seq <= cause_seq and u.tx_type in ("reversal", "correction")), key=lambda u: u.seq)
    chosen = sorted(
        (
            leg
            for leg in effective(day_legs, undone)
            if leg.seq <= cause_seq
            and leg.direction == report.direction
            and reportable_posting(leg, own_accounts, own_bank)
            and applies(rule, leg.is_cash, leg.cross_border, kind)
        ),
        key=lambda leg: leg.seq,
    )
    return Selection(tuple(chosen), mismatch(report, chosen))


def mismatch(report: ReportEvent, legs: list[Leg]) -> str | None:
    """Why `legs` are not exactly the report's transactions, or None."""
    if len(legs) != report.tx_count:
        return f"archive has {len(legs)} qualifying legs, the event counts {report.tx_count}"
    total_fen = sum(leg.amount_fen for leg in legs)
    if total_fen != round(Decimal(str(report.total_cny)) * 100):
        return f"archive total CNY {Decimal(total_fen) / 100}, the event says {report.total_cny}"
    by_currency: dict[str, Decimal] = {}
    for leg in legs:
        by_currency[leg.currency] = by_currency.get(leg.currency, Decimal(0)) + Decimal(leg.amount)
    expected = {c: Decimal(str(v)) for c, v in report.totals_by_currency.items()}
    if {c: v.normalize() for c, v in by_currency.items()} != {c: v.normalize() for c, v in expected.items()}:
        return f"archive totals by currency {dict(sorted((c, str(v)) for c, v in by_currency.items()))}, the event says {report.totals_by_currency}"
    missing = set(report.tx_ids) - {leg.tx_id for leg in legs}
    if missing:
        return f"the event lists {len(missing)} transaction(s) the selection lacks, e.g. {sorted(missing)[0]}"
    return None
