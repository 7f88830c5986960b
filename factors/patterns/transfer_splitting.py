"""Splitting of non-cash transfers (拆分转账): repeated transfers between the same pair within a
day, against that pair's own habit. The transfer analogue of cash structuring.

Anchor: the payee copy of an edge u -> v (v's partition holds all of v's in-edges). Over the last
`day_hours` hours: at least `min_count` transfers u -> v totalling at least `min_total_cny`, and
more than `habit_multiple` times the pair's busiest earlier `day_hours` period within
`history_days` (a pair that always pays several times a day — a shop's supplier, a payroll — is
its own habit; a pair that never did is judged by `min_count`). Amount floors are relative by
default (`min_total_cny` is low): there is no regulatory line for transfers between two parties
below the large-value thresholds, so the pair's own history decides. Source: PBoC 2016 No. 3 art.
11 (拆分交易规避监测); AMLSim "fan" splits. Key: the pair and the day's first transfer.
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
    min_total_cny: float = Field(5000, ge=0, description="their total, CNY, at least")
    min_amount_cny: float = Field(100, ge=0, description="smaller transfers are ignored")
    habit_multiple: float = Field(2.0, ge=1, description="count must exceed this multiple of the pair's busiest earlier period")
    history_days: float = Field(90, gt=0, le=90, description="how far back the pair's habit is read, days")


DEFAULTS = Params()


def _busiest(times: list[int], span_ms: int) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= span_ms:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def detect(view: NetworkView, params: Params, severity: str = "medium") -> NetworkHit | None:
    if view.copy != "payee":
        return None
    payer, payee, end = view.anchor.payer, view.anchor.payee, view.end
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    span = round(params.day_hours * HOUR_MS)
    pair = [h for h in view.of(payee).ins_within(view.anchor.ts_ms - round(params.history_days * DAY_MS), end) if h.payer == payer and h.amount_fen >= floor]
    if view.anchor not in pair and view.anchor.amount_fen >= floor:
        pair.append(view.anchor)
    recent = [h for h in pair if h.ts_ms > view.anchor.ts_ms - span]
    earlier = [h.ts_ms for h in pair if h.ts_ms <= view.anchor.ts_ms - span]
    total = sum(h.amount_fen for h in recent)
    habit = _busiest(earlier, span)
    if len(recent) < params.min_count or total < round(params.min_total_cny * FEN_PER_YUAN) or len(recent) <= params.habit_multiple * habit:
        return None
    # fire once per episode: when the count first reaches the bar, not on every later transfer
    if (
        len(recent) - 1 >= params.min_count
        and len(recent) - 1 > params.habit_multiple * habit
        and total - view.anchor.amount_fen >= round(params.min_total_cny * FEN_PER_YUAN)
    ):
        return None
    return NetworkHit(
        pattern=ID,
        key=recent[0].edge_id[:16],
        window_start_ms=recent[0].ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={"count": len(recent), "total_cny": yuan(total), "max_cny": yuan(max(h.amount_fen for h in recent)), "habit_busiest_count": habit},
        thresholds={"min_count": params.min_count, "min_total_cny": params.min_total_cny, "habit_multiple": params.habit_multiple, "day_hours": params.day_hours},
        parties=parties_of(view, recent, {payer: "payer", payee: "payee"}),
        tx_ids=all_tx_ids(recent),
        severity=severity,
    )
