from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import PatternHit, Transaction
from factors.patterns.structuring import ID, Params, detect
from tests.unit.factors.helpers import T0, recent, snapshot, tx, view

SETTING = Params(severity="high")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
NEAR = 45_000_00


def day_of(ts_ms: int) -> int:
    return (ts_ms + 8 * HOUR_MS) // DAY_MS  # business day in Asia/Shanghai


def cash(i: int, fen: int, at_h: float = 0, direction: str = "in", method: str = "cash") -> Transaction:
    return tx(f"t{i}", ts_ms=T0 + round(at_h * HOUR_MS), fen=fen, direction=direction, method=method)


def stream(txs: list[Transaction], setting: Params = SETTING) -> list[PatternHit | None]:
    """Detect at every transaction in processing order, each seeing the trail up to itself."""
    trail, hits, asof = [], [], 0
    for i, t in enumerate(txs, 1):
        trail.append(recent(t, i, business_day=day_of(t.ts_ms)))
        asof = max(asof, t.ts_ms)
        hits.append(detect(view(t, snapshot(seq=i, asof_ms=asof), tuple(trail), business_day=day_of(t.ts_ms)), setting))
    return hits


def fired_at(hits: list[PatternHit | None]) -> list[int]:
    return [i for i, hit in enumerate(hits) if hit is not None]


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"threshold_cny": 50_000, "near_ratio": 0.8, "min_count": 2, "window_hours": 24}


@pytest.mark.parametrize(
    ("amounts", "fires"),
    [
        ([40_000_00, 40_000_00], True),  # both exactly at 0.8 x threshold
        ([39_999_99, 45_000_00], False),  # the first just under the near band
        ([45_000_00, 39_999_99], False),  # the current one just under the near band
        ([45_000_00, 49_999_99], True),  # just under the threshold
        ([45_000_00, 50_000_00], False),  # at the threshold: a large-value transaction, not a split
        ([45_000_00], False),  # one is not a split
        ([10_000_00, 45_000_00], False),  # small cash is not near the threshold
    ],
)
def test_near_band_boundaries(amounts, fires):
    hits = stream([cash(i, fen, at_h=i) for i, fen in enumerate(amounts)])
    assert (hits[-1] is not None) == fires
    assert all(hit is None for hit in hits[:-1])


@pytest.mark.parametrize(
    ("second", "fires"),
    [(29_999_99, False), (30_000_00, True), (30_000_01, True)],  # total 49,999.99 / 50,000 exactly / just over
)
def test_the_total_must_reach_the_threshold(second, fires):
    setting = Params(severity="high", near_ratio=0.3)  # near band CNY 15,000 .. 49,999.99
    hits = stream([cash(0, 20_000_00), cash(1, second, at_h=1)], setting)
    assert (hits[-1] is not None) == fires


def test_min_count_is_a_count_of_near_threshold_transactions():
    setting = Params(severity="high", min_count=3)
    assert fired_at(stream([cash(i, NEAR, at_h=i) for i in range(5)], setting)) == [2]


@pytest.mark.parametrize(("gap_ms", "fires"), [(24 * HOUR_MS - 1, True), (24 * HOUR_MS, False)])
def test_window_is_half_open_24_hours(gap_ms, fires):
    first = cash(0, NEAR)
    second = tx("t1", ts_ms=T0 + gap_ms, fen=NEAR, method="cash")
    assert (stream([first, second])[-1] is not None) == fires


def test_hit_carries_key_evidence_metrics_and_thresholds():
    hit = stream([cash(0, 41_000_00), cash(1, 48_000_00, at_h=2.5)])[-1]
    assert hit is not None
    assert (hit.pattern, hit.key, hit.severity) == (ID, "in:t0", "high")
    assert hit.tx_ids == ("t0", "t1")
    assert (hit.window_start_ms, hit.window_end_ms) == (T0, T0 + 2.5 * HOUR_MS)
    assert hit.metrics == {
        "direction": "in",
        "near_threshold_count": 2,
        "total_cny": 89_000,
        "largest_cny": 48_000,
        "smallest_cny": 41_000,
        "span_hours": 2.5,
    }
    assert hit.thresholds == {"threshold_cny": 50_000, "near_low_cny": 40_000, "min_count": 2, "window_hours": 24}
    json.dumps([hit.metrics, hit.thresholds])


def test_fires_once_per_episode_and_again_after_it_lapsed():
    times = [0, 1, 2, 20, 50, 51, 52]
    hits = stream([cash(i, NEAR, at_h=h) for i, h in enumerate(times)])
    assert fired_at(hits) == [1, 5]  # t2 and t3 are inside the first episode; t4 alone; t5 starts another
    assert [hits[1].key, hits[5].key] == ["in:t0", "in:t4"]


def test_an_episode_lapses_when_no_window_holds_any_more():
    hits = stream([cash(0, NEAR, at_h=0), cash(1, NEAR, at_h=20), cash(2, NEAR, at_h=30)])
    assert fired_at(hits) == [1, 2]  # at 30 h the window (6 h, 30 h] held t1 alone: t1 + t2 is a new split
    assert [hits[1].key, hits[2].key] == ["in:t0", "in:t1"]


def test_no_transaction_no_hit():
    v = view(cash(1, NEAR), snapshot(), (recent(cash(0, NEAR), 1), recent(cash(1, NEAR), 2)))
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


def test_only_cash_counts():
    assert stream([cash(0, NEAR), cash(1, NEAR, at_h=1, method="transfer")]) == [None, None]
    assert stream([cash(0, NEAR, method="transfer"), cash(1, NEAR, at_h=1)]) == [None, None]


def test_directions_are_kept_apart():
    hits = stream([cash(0, NEAR), cash(1, NEAR, at_h=1, direction="out"), cash(2, NEAR, at_h=2), cash(3, NEAR, at_h=3, direction="out")])
    assert fired_at(hits) == [2, 3]
    assert [hits[2].key, hits[3].key] == ["in:t0", "out:t1"]
    assert hits[3].tx_ids == ("t1", "t3") and hits[3].metrics["direction"] == "out"


def test_a_late_arrival_is_judged_with_neighbours_on_both_sides():
    hits = stream([cash(0, NEAR, at_h=0), cash(1, NEAR, at_h=30), cash(2, NEAR, at_h=15), cash(3, NEAR, at_h=16)])
    assert fired_at(hits) == [2]  # t0 and t1 are 30 h apart; t2 (event time 15 h) pairs with t0
    assert hits[2].key == "in:t0" and hits[2].tx_ids == ("t0", "t2")


def test_a_trail_without_the_current_entry_still_counts_it_once():
    first, current = cash(0, NEAR), cash(1, NEAR, at_h=1)
    assert detect(view(current, snapshot(seq=2), (recent(first, 1),)), SETTING) is not None


amounts_st = st.integers(1_00, 100_000_00)


@given(
    legs=st.lists(st.tuples(amounts_st, st.integers(0, 48 * 60), st.sampled_from(["in", "out"])), min_size=1, max_size=12),
)
def test_never_fires_when_every_amount_is_at_or_over_the_threshold_or_the_total_is_under_it(legs):
    txs = [cash(i, fen, at_h=minute / 60, direction=d) for i, (fen, minute, d) in enumerate(sorted(legs, key=lambda leg: leg[1]))]
    hits = stream(txs)
    if all(t.amount_fen >= 50_000_00 for t in txs) or sum(t.amount_fen for t in txs) < 50_000_00:
        assert all(hit is None for hit in hits)
    for t, hit in zip(txs, hits, strict=True):
        if hit is not None:
            assert 40_000_00 <= t.amount_fen < 50_000_00 and hit.tx_ids[-1] == t.tx_id
            assert hit.metrics["near_threshold_count"] >= 2 and hit.metrics["total_cny"] >= 50_000


@given(amounts=st.lists(st.integers(40_000_00, 49_999_99), min_size=1, max_size=10), minutes=st.lists(st.integers(0, 23 * 60), min_size=10, max_size=10))
def test_fires_exactly_once_when_everything_is_inside_one_window(amounts, minutes):
    txs = [cash(i, fen, at_h=m / 60) for i, (fen, m) in enumerate(zip(amounts, sorted(minutes), strict=False))]
    assert len(fired_at(stream(txs))) == (1 if len(txs) >= 2 else 0)
