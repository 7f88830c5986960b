from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import PatternHit, Transaction, WindowStats
from factors.patterns.dormant_reactivation import ID, Params, detect
from tests.unit.factors.helpers import T0, recent, snapshot, tx, view

SETTING = Params(severity="medium")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SILENT_SINCE = T0 - 400 * DAY_MS  # the last transaction before the silence
SMALL = 1_000_00


def day_of(ts_ms: int) -> int:
    return (ts_ms + 8 * HOUR_MS) // DAY_MS  # business day in Asia/Shanghai


def leg(i: int, fen: int = SMALL, at_h: float = 0, direction: str = "in") -> Transaction:
    return tx(f"t{i}", ts_ms=T0 + round(at_h * HOUR_MS), fen=fen, direction=direction)


def stream(
    txs: list[Transaction], *, since: int | None = T0, trail_hours: float = 72, window: bool = True, setting: Params = SETTING, remember: bool = True
) -> list[PatternHit | None]:
    """Detect at every transaction of a run that started at `since` (T0: the first of `txs`).

    The trail keeps only `trail_hours` before the current transaction; the 7-day window holds the
    run's transactions of the last 7 business days when `window` is set (empty otherwise); the
    view's detections hold the earlier hits when `remember` is set.
    """
    entries, hits, detections = [], [], {}
    for i, t in enumerate(txs, 1):
        entries.append(recent(t, i, business_day=day_of(t.ts_ms)))
        asof = max(e.ts_ms for e in entries)
        trail = tuple(e for e in entries if e.ts_ms > t.ts_ms - trail_hours * HOUR_MS or e.tx_id == t.tx_id)
        in_window = [e for e in entries if e.business_day > day_of(asof) - 7] if window else []
        w7 = WindowStats(
            count=len(in_window),
            in_fen=sum(e.amount_fen for e in in_window if e.direction == "in"),
            out_fen=sum(e.amount_fen for e in in_window if e.direction == "out"),
        )
        snap = snapshot(seq=i, asof_ms=asof, w7d=w7, prev_event_ms=SILENT_SINCE if i == 1 else entries[-2].ts_ms, active_since_ms=since)
        hit = detect(view(t, snap, trail, business_day=day_of(t.ts_ms), detections=dict(detections) if remember else None), setting)
        if hit is not None:
            detections[ID] = max(detections.get(ID, 0), t.ts_ms)  # as the rating state keeps it
        hits.append(hit)
    return hits


def fired_at(hits: list[PatternHit | None]) -> list[int]:
    return [i for i, hit in enumerate(hits) if hit is not None]


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"dormant_days": 180, "min_count": 5, "min_amount_cny": 100_000, "burst_days": 7}


def test_the_fifth_transaction_fires_and_later_ones_do_not():
    assert fired_at(stream([leg(i, at_h=i) for i in range(8)])) == [4]


def test_four_small_transactions_are_quiet():
    assert fired_at(stream([leg(i, at_h=i) for i in range(4)])) == []


@pytest.mark.parametrize(("fen", "fires"), [(100_000_00, True), (99_999_99, False), (100_000_01, True)])
def test_the_reactivating_transaction_alone_can_reach_the_amount(fen, fires):
    hits = stream([leg(0, fen)])
    assert (hits[0] is not None) == fires
    if fires:
        assert hits[0].metrics["silence_days"] == 400 and hits[0].metrics["days_since_reactivation"] == 0


def test_amount_in_and_out_together_mixed_directions():
    hits = stream([leg(0, 60_000_00), leg(1, 39_999_99, 1, "out"), leg(2, 1, 2, "out"), leg(3, 50_000_00, 3)])
    assert fired_at(hits) == [2]  # 60,000 in + 40,000 out reaches 100,000 exactly at t2
    assert (hits[2].metrics["in_cny"], hits[2].metrics["out_cny"], hits[2].metrics["amount_cny"]) == (60_000, 40_000, 100_000)


@pytest.mark.parametrize(("offset_ms", "fires"), [(7 * DAY_MS - 1, True), (7 * DAY_MS, False)])
def test_only_within_the_burst_days(offset_ms, fires):
    txs = [leg(i, at_h=i) for i in range(4)] + [tx("t4", ts_ms=T0 + offset_ms, fen=SMALL)]
    assert (stream(txs, trail_hours=24 * 8)[-1] is not None) == fires


def test_hit_carries_key_evidence_metrics_and_thresholds():
    hits = stream([leg(i, 30_000_00, at_h=10 * i) for i in range(4)])
    assert fired_at(hits) == [3]
    hit = hits[3]
    assert (hit.pattern, hit.key, hit.severity) == (ID, "2026-11-18", "medium")  # UTC date of the reactivation
    assert hit.tx_ids == ("t0", "t1", "t2", "t3")
    assert (hit.window_start_ms, hit.window_end_ms) == (T0, T0 + 30 * HOUR_MS)
    assert hit.metrics == {
        "reactivated_at": datetime.fromtimestamp(T0 / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "days_since_reactivation": 1.25,
        "silence_days": None,
        "tx_count": 4,
        "amount_cny": 120_000,
        "in_cny": 120_000,
        "out_cny": 0,
    }
    assert hit.thresholds == {"min_count": 5, "min_amount_cny": 100_000, "burst_days": 7}
    json.dumps([hit.metrics, hit.thresholds])


def test_the_window_completes_a_trail_that_lost_the_start_of_the_run():
    txs = [leg(i, at_h=24 * i) for i in range(5)]  # one a day: the 72-hour trail holds the last 4 at most
    assert fired_at(stream(txs, trail_hours=72)) == [4]
    assert fired_at(stream(txs, trail_hours=72, window=False)) == []  # the trail alone sees 4


def test_the_window_is_not_used_when_the_reactivation_is_older_than_a_week():
    txs = [leg(i, at_h=24 * i) for i in range(5)]  # asof at t4 is T0 + 4 days
    month = Params(severity="medium", burst_days=30)
    assert fired_at(stream(txs, since=T0 - 3 * DAY_MS + 1, setting=month)) == [4]  # within a week of asof: window used
    assert fired_at(stream(txs, since=T0 - 3 * DAY_MS - 1, setting=month)) == []  # over a week: the trail alone sees 3


def test_the_detections_guard_keeps_one_hit_when_neither_trail_nor_window_sees_the_run_start():
    # one on the reactivation day, four the next day, one 6 days later: at t5 the 7 business days no
    # longer hold the first day and the 72-hour trail is far behind, so t5 looks like the fifth again
    next_day = (day_of(T0) + 1) * DAY_MS - 8 * HOUR_MS  # the first local midnight after T0, UTC ms
    txs = [leg(0)] + [tx(f"t{i}", ts_ms=next_day + i * HOUR_MS, fen=SMALL) for i in range(1, 5)]
    txs.append(tx("t5", ts_ms=next_day + 6 * DAY_MS, fen=SMALL))
    assert fired_at(stream(txs)) == [4]
    assert fired_at(stream(txs, remember=False)) == [4, 5]  # without the guard the run is counted afresh


def test_a_detection_before_the_reactivation_belongs_to_an_earlier_run():
    t = leg(0, 200_000_00)
    snap = snapshot(active_since_ms=T0, w7d=WindowStats(count=1, in_fen=200_000_00))
    assert detect(view(t, snap, (recent(t, 1),), detections={ID: T0 - 200 * DAY_MS}), SETTING) is not None
    assert detect(view(t, snap, (recent(t, 1),), detections={ID: T0}), SETTING) is None


def test_not_dormant_before_no_hit():
    assert fired_at(stream([leg(i, 200_000_00, at_h=i) for i in range(6)], since=None)) == []


def test_a_late_transaction_from_before_the_reactivation_does_not_count():
    txs = [leg(i, at_h=i) for i in range(4)] + [tx("late", ts_ms=T0 - HOUR_MS, fen=SMALL)]
    assert fired_at(stream(txs)) == []


def test_no_transaction_no_hit():
    t = leg(0, 200_000_00)
    snap = snapshot(active_since_ms=T0, w7d=WindowStats(count=1, in_fen=200_000_00))
    assert detect(view(t, snap, (recent(t, 1),)), SETTING) is not None
    assert detect(view(None, snap, (recent(t, 1),)), SETTING) is None


def test_params_override_defaults():
    setting = Params(severity="high", min_count=2, min_amount_cny=1_000_000, burst_days=1)
    assert fired_at(stream([leg(0), leg(1, at_h=1), leg(2, at_h=2)], setting=setting)) == [1]
    assert fired_at(stream([leg(0), leg(1, at_h=25)], setting=setting)) == []


@given(
    legs=st.lists(st.tuples(st.integers(1_00, 60_000_00), st.integers(0, 10 * 24 * 60), st.sampled_from(["in", "out"])), min_size=1, max_size=12),
    trail_hours=st.sampled_from([72, 24 * 11]),
)
def test_fires_at_most_once_per_reactivation_and_only_when_a_threshold_is_reached(legs, trail_hours):
    ordered = sorted(legs, key=lambda x: x[1])
    start = ordered[0][1]
    txs = [tx(f"t{i}", ts_ms=T0 + (minute - start) * 60_000, fen=fen, direction=d) for i, (fen, minute, d) in enumerate(ordered)]
    hits = stream(txs, trail_hours=trail_hours)
    assert len(fired_at(hits)) <= 1
    for i in fired_at(hits):
        assert txs[i].ts_ms < T0 + 7 * DAY_MS
        assert i + 1 >= 5 or sum(t.amount_fen for t in txs[: i + 1]) >= 100_000_00
        assert hits[i].key == "2026-11-18"
    if trail_hours > 24 * 10:  # the whole run is in the trail: the first crossing within the burst fires
        within = [t for t in txs if t.ts_ms < T0 + 7 * DAY_MS]
        crossing = next((i for i in range(len(within)) if i + 1 >= 5 or sum(t.amount_fen for t in within[: i + 1]) >= 100_000_00), None)
        assert fired_at(hits) == ([] if crossing is None else [crossing])
