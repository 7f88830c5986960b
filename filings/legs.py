"""Which archived legs a large-value report lists, and the auditor's check that they are exactly
the ones the customer stage counted (pure: no I/O).

The selection uses the customer stage's own rule (`factors.large_value.applies`: cash vs
transfer, cross-border, entity vs natural person) over the customer's legs of the report's
business day and direction, up to and including the leg that caused this revision (in the order
the customer stage read them), payment postings only (`filings.model.reportable_posting`), as
they stand after the reversals and corrections posted up to the cause (`factors.postings.effective`).

The archive holds every reversal and correction, also those the customer stage refused
(`reversal_unmatched`: another amount than the original's, a second undoing of a leg, ...): it
cannot tell them apart from the leg alone, because the customer stage decides with its trail and
state. The report event can: its `tx_count`, totals and `tx_ids` are what the customer stage
counted. So the undoings are applied all together first; when that does not match the event,
the fewest undoings are set aside that make it match exactly (the cause itself, when it is an
undoing, is never set aside: it made this revision). Two different selections that both match are
ambiguous and are not filed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations
from math import comb

from factors.large_value import DEFAULT_RULES, LargeValueRule, applies, foreign_amounts
from factors.money import FxTable
from factors.postings import effective
from filings.model import Leg, ReportEvent, reportable_posting

RULES: dict[str, LargeValueRule] = {r.code: r for r in DEFAULT_RULES}
# the rule code says whose transfers it covers; cash (0501) is anyone's
KIND_OF_RULE = {"0501": "individual", "0502": "entity", "0503": "individual", "0504": "individual"}
UNDOINGS = ("reversal", "correction")
MAX_TRIES = 4096  # selections tried when undoings must be set aside (12 undoings of one day's legs)


@dataclass(frozen=True, slots=True)
class Selection:
    legs: tuple[Leg, ...]
    problem: str | None  # None: the legs equal the event's count and totals exactly
    set_aside: tuple[str, ...] = ()  # undoings in the archive the event does not reflect (refused by the customer stage)


def select(
    report: ReportEvent,
    day_legs: list[Leg],
    cause_seq: int,
    undoings: Iterable[Leg] = (),
    own_accounts: Collection[str] = (),
    fx: FxTable | None = None,
    own_bank: Collection[str] = (),
) -> Selection:
    """The report's legs among `day_legs` (the customer's legs of that business day), as they stand
    after the reversals and corrections among `undoings` (archived legs of any day: those that name
    a leg of the day, directly or along a chain of corrections), checked against the event.
    `fx`: the standard's FX table, needed when a leg is not in CNY (per-currency totals)."""
    rule = RULES[report.rule_code]
    kind = KIND_OF_RULE[report.rule_code]
    base = [
        leg
        for leg in day_legs
        if leg.seq <= cause_seq
        and leg.direction == report.direction
        and reportable_posting(leg, own_accounts, own_bank)
        and applies(rule, leg.is_cash, leg.cross_border, kind)
    ]
    relevant = _touching(base, undoings, cause_seq)
    forced = [u for u in relevant if u.tx_id == report.cause_tx]
    optional = [u for u in relevant if u.tx_id != report.cause_tx]

    def standing(applied: list[Leg]) -> list[Leg]:
        return sorted(effective(base, sorted(applied, key=lambda u: u.seq)), key=lambda leg: leg.seq)

    everything = standing(relevant)
    problem = mismatch(report, everything, fx)
    if problem is None or not optional:
        return Selection(tuple(everything), problem)
    tried = 0
    for k in range(1, len(optional) + 1):  # the fewest set aside first: a refusal is the exception
        if tried + comb(len(optional), k) > MAX_TRIES:
            return Selection(tuple(everything), f"{problem} (and too many reversals or corrections of the day's legs, {len(optional)}, to find the ones it refused)")
        tried += comb(len(optional), k)
        found: dict[tuple[tuple[str, str, int], ...], tuple[list[Leg], tuple[str, ...]]] = {}
        for left_out in combinations(optional, k):
            out_ids = {u.tx_id for u in left_out}
            legs = standing([*forced, *(u for u in optional if u.tx_id not in out_ids)])
            if mismatch(report, legs, fx) is None:
                found.setdefault(tuple((leg.tx_id, leg.amount, leg.amount_fen) for leg in legs), (legs, tuple(sorted(out_ids))))
        if len(found) == 1:
            legs, set_aside = next(iter(found.values()))
            return Selection(tuple(legs), None, set_aside)
        if found:
            options = " or ".join("+".join(aside) for _, aside in found.values())
            return Selection(tuple(everything), f"ambiguous: the event matches the day's legs with different undoings set aside ({options})")
    return Selection(tuple(everything), problem)


def _touching(base: list[Leg], undoings: Iterable[Leg], cause_seq: int) -> list[Leg]:
    """The reversals and corrections up to the cause that reach a leg of `base`, directly or
    through the corrections they name, in posting order (each once)."""
    pool = {u.tx_id: u for u in undoings if u.seq <= cause_seq and u.tx_type in UNDOINGS and u.original_tx_id is not None}
    corrects = {u.tx_id: u.original_tx_id for u in pool.values() if u.tx_type == "correction"}
    ids = {leg.tx_id for leg in base}

    def root(tx_id: str) -> str:
        for _ in range(16):
            if tx_id not in corrects:
                break
            tx_id = corrects[tx_id]  # type: ignore[assignment]
        return tx_id

    return sorted((u for u in pool.values() if root(u.original_tx_id) in ids), key=lambda u: u.seq)  # type: ignore[arg-type]


def milli(leg: Leg, fx: FxTable | None) -> int:
    """A leg's amount in thousandths of its currency, as the customer stage sums it per currency:
    CNY from its fen, other currencies rounded half-even (`factors.large_value.foreign_amounts`)."""
    if leg.currency == "CNY":
        return leg.amount_fen * 10
    if fx is None:
        raise ValueError(f"leg {leg.tx_id} in {leg.currency}: the per-currency check needs the FX table")
    return foreign_amounts(leg, fx)[1]  # type: ignore[arg-type]  # reads currency, amount and amount_fen only


def mismatch(report: ReportEvent, legs: list[Leg], fx: FxTable | None = None) -> str | None:
    """Why `legs` are not exactly the report's transactions, or None."""
    if len(legs) != report.tx_count:
        return f"archive has {len(legs)} qualifying legs, the event counts {report.tx_count}"
    total_fen = sum(leg.amount_fen for leg in legs)
    if total_fen != round(Decimal(str(report.total_cny)) * 100):
        return f"archive total CNY {Decimal(total_fen) / 100}, the event says {report.total_cny}"
    by_currency: dict[str, int] = {}
    for leg in legs:
        by_currency[leg.currency] = by_currency.get(leg.currency, 0) + milli(leg, fx)
    expected = {c: round(Decimal(str(v)) * 1000) for c, v in report.totals_by_currency.items()}
    if {c: v for c, v in by_currency.items() if v} != {c: v for c, v in expected.items() if v}:  # a currency whose legs were all undone may stay at 0
        return f"archive totals by currency {dict(sorted((c, str(Decimal(v) / 1000)) for c, v in by_currency.items()))}, the event says {report.totals_by_currency}"
    ids = {leg.tx_id for leg in legs}
    missing = set(report.tx_ids) - ids
    if missing:
        return f"the event lists {len(missing)} transaction(s) the selection lacks, e.g. {sorted(missing)[0]}"
    return None
