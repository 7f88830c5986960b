"""Splitting of non-cash transfers (拆分转账): repeated transfers between the same pair within a
day, against that pair's own habit. The transfer analogue of cash structuring.

Anchor: the payee copy of an edge u -> v (v's partition holds all of v's in-edges). Over the last
`day_hours` hours: at least `min_count` transfers u -> v totalling at least `min_total_cny`, and
more than `habit_multiple` times the pair's busiest earlier `day_hours` period within
`history_days` (a pair that always pays several times a day — a shop's supplier, a payroll — is
its own habit; a pair that never did is judged by `min_count`). The amount floor
(`min_total_cny`, CNY 20,000 by default) keeps the rule to sums worth splitting: there is no
regulatory line for transfers between two parties below the large-value thresholds, so the
pair's own history decides the rest; below the floor, a day of a few ordinary payments between
two people is not an analyst's case (on the tuning banks every benign pair that met the
relative tests moved less than CNY 18,000 that day, every injected split more than 30,000). Source: PBoC 2016 No. 3 art.
11 (拆分交易规避监测); AMLSim "fan" splits. A pair with no earlier transfer needs `min_count_new_pair`; the
total must also exceed `habit_amount_multiple` x the pair's largest earlier period total (a
same-pair repeat of pocket money is two or three of the usual sums), and only transfers larger
than the pair's largest earlier single transfer (x `single_habit_multiple`) count: a sum split
into pieces each still larger than anything the pair moved before, not a few of its usual
payments in a row (a person paying a friend twice within two hours). Key: the day's first transfer.
Roles: `payer`, `payee`.
"""

from __future__ import annotations

from pydantic import Field

from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import RuleParams

ID = "transfer_splitting"
HOUR_MS = 3_600_000


class Params(RuleParams):
    window_days: float = Field(90, gt=0, le=90, description="unused here: see history_days")
    day_hours: float = Field(24, gt=0, le=72, description="the period transfers are counted in, hours")
    min_count: int = Field(3, ge=2, le=100, description="transfers of the pair in the period, at least")
    min_count_new_pair: int = Field(6, ge=2, le=100, description="... at least, for a pair with no earlier transfer (no habit to compare with)")
    min_total_cny: float = Field(20_000, ge=0, description="their total, CNY, at least (a floor: sums worth splitting)")
    min_amount_cny: float = Field(100, ge=0, description="smaller transfers are ignored")
    habit_multiple: float = Field(2.0, ge=1, description="count must exceed this multiple of the pair's busiest earlier period")
    habit_amount_multiple: float = Field(4.0, ge=1, description="total must exceed this multiple of the pair's largest earlier period total")
    history_days: float = Field(90, gt=0, le=90, description="how far back the pair's habit is read, days")
    single_habit_multiple: float = Field(
        1.0, ge=0, description="a transfer counts only if larger than this multiple of the pair's largest earlier single transfer (0: every transfer counts)"
    )
    min_pair_share: float = Field(
        0.5, ge=0, le=1, description="the pair's share of all the payee's receipts in the period, at least (a busy firm's client is not splitting)"
    )


DEFAULTS = Params()


def _busiest(hops: list, span_ms: int) -> tuple[int, int]:
    """(most transfers, largest total) in any period of span_ms among hops (oldest first)."""
    best, most, lo, total = 0, 0, 0, 0
    for hi, h in enumerate(hops):
        total += h.amount_fen
        while h.ts_ms - hops[lo].ts_ms >= span_ms:
            total -= hops[lo].amount_fen
            lo += 1
        best, most = max(best, hi - lo + 1), max(most, total)
    return best, most


def _meets(recent: list, habit: tuple[int, int], params: Params) -> bool:
    count, total = len(recent), sum(h.amount_fen for h in recent)
    need = params.min_count if habit[0] else params.min_count_new_pair
    return (
        count >= need
        and total >= round(params.min_total_cny * FEN_PER_YUAN)
        and count > params.habit_multiple * habit[0]
        and total > params.habit_amount_multiple * habit[1]
    )


def detect(view: NetworkView, params: Params, severity: str = "medium") -> NetworkHit | None:
    if view.copy != "payee":
        return None
    payer, payee, end = view.anchor.payer, view.anchor.payee, view.end
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    span = round(params.day_hours * HOUR_MS)
    own = view.of(payee)
    if own.hub or own.counterparties.get(payer, 0) < max(2, min(params.min_count, params.min_count_new_pair)):
        return None  # fewer stored edges with the payer than transfers to count (cheap precondition)
    recent_all = own.ins_within(view.anchor.ts_ms - span + 1, end)
    recent = [h for h in recent_all if h.payer == payer and h.amount_fen >= floor]
    if len(recent) < min(params.min_count, params.min_count_new_pair):
        return None
    upper = sum(h.amount_fen for h in recent)  # what the transfers counted below can total, at most
    if upper < round(params.min_total_cny * FEN_PER_YUAN) or upper < params.min_pair_share * sum(h.amount_fen for h in recent_all):
        return None  # the floors below fail whatever the pair's habit (cheaper than reading 90 days of it)
    earlier = [
        h
        for h in own.ins_within(view.anchor.ts_ms - round(params.history_days * DAY_MS), end)
        if h.payer == payer and h.amount_fen >= floor and h.ts_ms <= view.anchor.ts_ms - span
    ]
    habit = _busiest(earlier, span)
    largest = max((h.amount_fen for h in earlier), default=0)
    recent = [h for h in recent if h.amount_fen > params.single_habit_multiple * largest]  # pieces of a sum, each unusual for the pair
    if not _meets(recent, habit, params):
        return None
    if sum(h.amount_fen for h in recent) < params.min_pair_share * sum(h.amount_fen for h in recent_all):
        return None
    if view.anchor in recent and _meets([h for h in recent if h != view.anchor], habit, params):
        return None  # already met before this transfer: fired then (one alert per episode)
    total = sum(h.amount_fen for h in recent)
    return NetworkHit(
        pattern=ID,
        key=recent[0].edge_id[:16],
        window_start_ms=recent[0].ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={
            "count": len(recent),
            "total_cny": yuan(total),
            "max_cny": yuan(max(h.amount_fen for h in recent)),
            "habit_busiest_count": habit[0],
            "habit_largest_cny": yuan(habit[1]),
        },
        thresholds={
            "min_count": params.min_count,
            "min_count_new_pair": params.min_count_new_pair,
            "min_total_cny": params.min_total_cny,
            "habit_multiple": params.habit_multiple,
            "habit_amount_multiple": params.habit_amount_multiple,
            "day_hours": params.day_hours,
            "single_habit_multiple": params.single_habit_multiple,
        },
        parties=parties_of(view, recent, {payer: "payer", payee: "payee"}),
        tx_ids=all_tx_ids(recent),
        severity=severity,
    )
