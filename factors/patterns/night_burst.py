"""Night burst (非正常时间段频繁交易 / 交易时间异常).

Several transactions in a short span at hours when the customer's kind of business does not
normally happen: scripted or remote-controlled accounts, fraud cash-out runs, gambling
settlements.

Condition, over the trail transactions in the `window_hours` (6) up to and including this
transaction (event time in (t - window, t], t = this transaction's time; later entries applied
before it out of order are left out), counting only those whose `local_hour` (bank timezone)
is a night hour::

    night_count >= max(min_count, 1)  and  sum(night amounts) >= min_amount_cny

and the same condition was false at the previous transaction (the trail minus its last entry,
its window ending at that entry's time: exactly what this rule saw there). So the rule fires
once per episode, a run of consecutive transactions at which the condition holds, on the
first of them: the night transaction that completes the burst (a day-time transaction only
removes entries from the window); again only after the burst lapsed and built up anew. A
burst kept going while its first transactions leave the window stays one episode.

Night hours are [night_start, night_end): 0..5 is 00:00-04:59; a night that wraps midnight is
given with night_start > night_end, e.g. 22..5 is 22:00-04:59; night_start == night_end means
no night hours (the rule never fires). Key: the business date of the first transaction of the
episode. The trail covers at least 72 hours, so window_hours should not exceed 72.

Defaults: window_hours 6 (covers a whole night), night 0..5 (after the late-evening leisure
hours and before early commuters), min_count 5 (one or two late payments are ordinary),
min_amount_cny 10,000 (keeps small night-time online shopping out).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from factors.calendar import iso_date
from factors.config import Count, Hours, PatternParams
from factors.model import PatternHit, RecentTx
from factors.money import yuan
from factors.thresholds import CnyThreshold, floor_of, resolve, thresholds
from factors.view import CustomerView

ID = "night_burst"
MAX_TX_IDS = 100


class Params(PatternParams):
    window_hours: Hours = 6.0
    """Trail window ending at this transaction, hours (at most the trail horizon, 72 by default)."""
    night_start: Annotated[int, Field(ge=0, le=23)] = 0
    """First night hour, local time (bank timezone), inclusive."""
    night_end: Annotated[int, Field(ge=0, le=24)] = 5
    """End of the night, local hour, exclusive; below night_start the night wraps midnight; equal to it: no night hours."""
    min_count: Count = 5
    """At least this many night transactions in the window ..."""
    min_amount_cny: CnyThreshold = 10_000.0
    """... totalling at least this, CNY (in + out); relative: against the group's daily turnover (`sum_24h`) and the customer's own turnover per day."""


def is_night(hour: int, start: int, end: int) -> bool:
    """Whether a local hour is in [start, end), wrapping midnight when start > end."""
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None or not view.recent or view.recent[-1].tx_id != tx.tx_id:
        return None
    window_ms = round(params.window_hours * 3_600_000)
    start = params.night_start
    end = params.night_end
    min_count = params.min_count
    current = view.recent[-1]
    night = _night(view.recent, current.ts_ms, window_ms, start, end)
    if not _holds(night, min_count, floor_of(params.min_amount_cny, "sum_24h")):
        return None  # not even the floor: no need to resolve the line
    amount_line = resolve(params.min_amount_cny, "sum_24h", view, span_days=params.window_hours / 24)
    min_amount_fen = amount_line.minimum
    if not _holds(night, min_count, min_amount_fen):
        return None
    earlier = view.recent[:-1]
    if earlier and _holds(_night(earlier, earlier[-1].ts_ms, window_ms, start, end), min_count, min_amount_fen):
        return None  # held at the previous transaction already: the episode was reported there
    return PatternHit(
        pattern=ID,
        key=iso_date(view.business_day),
        window_start_ms=min(r.ts_ms for r in night),
        window_end_ms=max(r.ts_ms for r in night),
        metrics={
            "night_count": len(night),
            "night_total_cny": yuan(sum(r.amount_fen for r in night)),
            "night_in_cny": yuan(sum(r.amount_fen for r in night if r.direction == "in")),
            "night_out_cny": yuan(sum(r.amount_fen for r in night if r.direction == "out")),
            "local_hours": sorted({r.local_hour for r in night}),
        },
        thresholds=thresholds({"min_count": min_count, "min_amount_cny": (amount_line, "cny")}, window_hours=window_ms / 3_600_000, night_start=start, night_end=end),
        tx_ids=tuple(r.tx_id for r in night[-MAX_TX_IDS:]),
        tx_ids_truncated=len(night) > MAX_TX_IDS,
        severity=params.severity,
    )


def _night(trail: tuple[RecentTx, ...], end_ms: int, window_ms: int, start: int, end: int) -> list[RecentTx]:
    return [r for r in trail if end_ms - window_ms < r.ts_ms <= end_ms and is_night(r.local_hour, start, end)]


def _holds(night: list[RecentTx], min_count: int, min_amount_fen: int) -> bool:
    return len(night) >= max(min_count, 1) and sum(r.amount_fen for r in night) >= min_amount_fen
