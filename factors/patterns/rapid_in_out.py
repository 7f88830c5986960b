"""Rapid in and out (快进快出): money received leaves again almost at once, the account a mere pass-through.

Funds that arrive and are paid on within a day or two, leaving little behind, are the layering
stage in miniature: the account is a transit point (过渡账户) between the source and the real
destination. The rule measures, within the `window_hours` ending at an outgoing transaction
(entries applied before it but later in event time are left out):

    in  = every incoming amount in the window (all methods, cash or not);
    out = the outgoing amounts paid from that money, matched first-in-first-out in event-time
          order, so an outflow counts only up to what came in before it (out after in; outflows
          paid from money that was on the account already do not count);
    fires when in >= min_in_cny and out >= out_ratio * in.

Defaults: window_hours 48 (the window is (t - 48 h, t] for an outflow at t), min_in_cny 50,000
(the large-value cash line, so small household flows stay out), out_ratio 0.8 (at most a fifth of
the money stays). Metrics: in, out, the retained balance (in - out) and retained_ratio.

Fires once per episode, on the outgoing transaction that crosses the ratio: the condition holds
with it and not without it (same window, the trail minus this transaction). An incoming
transaction can never make it true, so the rule only looks at outflows. A second cycle of fresh
money through the account is a new episode. The evidence comes from the trail (at least the last
72 hours, which covers the window). Key: the tx_id of the outflow that crossed the ratio.
"""

from __future__ import annotations

from factors.config import Hours, PatternParams, Share
from factors.model import PatternHit
from factors.money import yuan
from factors.numbers import ratio
from factors.thresholds import CnyThreshold, floor_of, resolve, thresholds
from factors.view import CustomerView

ID = "rapid_in_out"
MAX_TX_IDS = 100
HOUR_MS = 3_600_000


class Params(PatternParams):
    window_hours: Hours = 48.0
    """Inflows and outflows within this many hours up to the outflow (at most the trail horizon, 72 by default)."""
    min_in_cny: CnyThreshold = 50_000.0
    """The money that came in must total at least this much, CNY; relative: against the group's daily inflow (`in_24h`) and the customer's own inflow per window."""
    out_ratio: Share = 0.8
    """Fires when the outflows paid from it reach this share of it."""


Leg = tuple[int, int, str, int, str]  # ts_ms, seq, direction, amount_fen, tx_id


def _flows(legs: list[Leg]) -> tuple[int, int, list[Leg]]:
    """Incoming total, outgoing amount paid from it (first in, first out), and the legs involved."""
    pool = in_fen = out_fen = 0
    used: list[Leg] = []
    for leg in legs:
        amount = leg[3]
        if leg[2] == "in":
            pool += amount
            in_fen += amount
            used.append(leg)
        elif pool > 0:
            paid = min(amount, pool)
            pool -= paid
            out_fen += paid
            used.append(leg)
    return in_fen, out_fen, used


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None or tx.direction != "out":
        return None
    window_ms = round(params.window_hours * HOUR_MS)
    min_in_fen = floor_of(params.min_in_cny, "in_24h")  # first the floor: `holds` reads it from here
    out_ratio = ratio(params.out_ratio)

    before = sorted((r.ts_ms, r.seq, r.direction, r.amount_fen, r.tx_id) for r in view.recent if r.tx_id != tx.tx_id and tx.ts_ms - window_ms < r.ts_ms <= tx.ts_ms)
    current: Leg = (tx.ts_ms, view.snapshot.seq, tx.direction, tx.amount_fen, tx.tx_id)

    def holds(in_fen: int, out_fen: int) -> bool:
        return in_fen > 0 and in_fen >= min_in_fen and out_fen >= out_ratio * in_fen

    in_fen, out_fen, used = _flows(sorted([*before, current]))
    if not holds(in_fen, out_fen):
        return None  # not even the floor: no need to resolve the line
    in_line = resolve(params.min_in_cny, "in_24h", view, span_days=params.window_hours / 24)
    min_in_fen = in_line.minimum
    if not holds(in_fen, out_fen) or holds(*_flows(before)[:2]):
        return None
    retained = in_fen - out_fen
    return PatternHit(
        pattern=ID,
        key=tx.tx_id,
        window_start_ms=used[0][0],
        window_end_ms=used[-1][0],
        metrics={
            "in_cny": yuan(in_fen),
            "out_cny": yuan(out_fen),
            "retained_cny": yuan(retained),
            "retained_ratio": round(retained / in_fen, 4),
            "in_count": sum(1 for leg in used if leg[2] == "in"),
            "out_count": sum(1 for leg in used if leg[2] == "out"),
            "span_hours": round((used[-1][0] - used[0][0]) / HOUR_MS, 2),
        },
        thresholds=thresholds({"min_in_cny": (in_line, "cny")}, out_ratio=float(out_ratio), window_hours=window_ms / HOUR_MS),
        tx_ids=tuple(leg[4] for leg in used[-MAX_TX_IDS:]),
        tx_ids_truncated=len(used) > MAX_TX_IDS,
        severity=params.severity,
    )
