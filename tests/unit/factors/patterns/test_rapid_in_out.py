from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import PatternHit, RecentTx, Transaction
from factors.patterns.rapid_in_out import ID, Params, detect
from tests.unit.factors.helpers import T0, recent, snapshot, tx, view

SETTING = Params(severity="medium")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def day_of(ts_ms: int) -> int:
    return (ts_ms + 8 * HOUR_MS) // DAY_MS  # business day in Asia/Shanghai


def leg(i: int, direction: str, fen: int, at_h: float = 0) -> Transaction:
    return tx(f"t{i}", ts_ms=T0 + round(at_h * HOUR_MS), fen=fen, direction=direction)


def stream(txs: list[Transaction], setting: Params = SETTING) -> list[PatternHit | None]:
    """Detect at every transaction in processing order, each seeing the trail up to itself."""
    trail, hits, asof = [], [], 0
    for i, t in enumerate(txs, 1):
        trail.append(recent(t, i, business_day=day_of(t.ts_ms)))
        asof = max(asof, t.ts_ms)
        hits.append(detect(view(t, snapshot(seq=i, asof_ms=asof), tuple(trail), business_day=day_of(t.ts_ms)), setting))
    return hits


def flows(*legs: tuple[str, int]) -> list[PatternHit | None]:
    return stream([leg(i, d, fen, at_h=i) for i, (d, fen) in enumerate(legs)])


def fired_at(hits: list[PatternHit | None]) -> list[int]:
    return [i for i, hit in enumerate(hits) if hit is not None]


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"window_hours": 48, "min_in_cny": 50_000, "out_ratio": 0.8}


@pytest.mark.parametrize(
    ("in_fen", "out_fen", "fires"),
    [
        (50_000_00, 40_000_00, True),  # the minimum in, exactly 0.8 of it out
        (50_000_00, 39_999_99, False),  # just under the ratio
        (50_000_00, 40_000_01, True),  # just over the ratio
        (49_999_99, 49_999_99, False),  # everything out, but just under the minimum in
        (50_000_00, 80_000_00, True),  # more out than in: only what came in counts
    ],
)
def test_thresholds(in_fen, out_fen, fires):
    hits = flows(("in", in_fen), ("out", out_fen))
    assert hits[0] is None and (hits[1] is not None) == fires


def test_hit_carries_key_evidence_metrics_and_thresholds():
    hits = flows(("in", 60_000_00), ("in", 40_000_00), ("out", 50_000_00), ("out", 35_000_00))
    assert fired_at(hits) == [3]
    hit = hits[3]
    assert (hit.pattern, hit.key, hit.severity) == (ID, "t3", "medium")
    assert hit.tx_ids == ("t0", "t1", "t2", "t3")
    assert (hit.window_start_ms, hit.window_end_ms) == (T0, T0 + 3 * HOUR_MS)
    assert hit.metrics == {
        "in_cny": 100_000,
        "out_cny": 85_000,
        "retained_cny": 15_000,
        "retained_ratio": 0.15,
        "in_count": 2,
        "out_count": 2,
        "span_hours": 3,
    }
    assert hit.thresholds == {"min_in_cny": 50_000, "out_ratio": 0.8, "window_hours": 48}
    json.dumps([hit.metrics, hit.thresholds])


def test_more_out_than_in_retains_nothing():
    hit = flows(("in", 50_000_00), ("out", 80_000_00))[1]
    assert hit is not None
    assert (hit.metrics["out_cny"], hit.metrics["retained_cny"], hit.metrics["retained_ratio"]) == (50_000, 0, 0)


def test_fires_once_on_the_out_that_crosses_the_ratio():
    hits = flows(("in", 100_000_00), ("out", 50_000_00), ("out", 30_000_00), ("out", 10_000_00), ("out", 10_000_00))
    assert fired_at(hits) == [2]


def test_a_new_cycle_of_money_is_a_new_episode_with_its_own_key():
    hits = flows(("in", 100_000_00), ("out", 80_000_00), ("in", 100_000_00), ("out", 90_000_00))
    assert fired_at(hits) == [1, 3]  # 170,000 of 200,000 out by t3; 80,000 of 200,000 without it
    assert [hits[1].key, hits[3].key] == ["t1", "t3"]


def test_money_paid_out_before_it_came_in_does_not_count():
    hits = flows(("out", 80_000_00), ("in", 100_000_00), ("out", 10_000_00))
    assert hits == [None, None, None]


def test_an_incoming_transaction_never_fires():
    assert flows(("out", 90_000_00), ("in", 100_000_00))[1] is None
    assert flows(("in", 100_000_00))[0] is None


@pytest.mark.parametrize(("age_ms", "fires"), [(48 * HOUR_MS - 1, True), (48 * HOUR_MS, False)])
def test_window_is_48_hours_up_to_the_outflow(age_ms, fires):
    hits = stream([tx("t0", ts_ms=T0, fen=100_000_00), tx("t1", ts_ms=T0 + age_ms, fen=90_000_00, direction="out")])
    assert (hits[1] is not None) == fires


def test_no_transaction_no_hit():
    v = view(leg(1, "out", 90_000_00, 1), snapshot(seq=2), (recent(leg(0, "in", 100_000_00), 1), recent(leg(1, "out", 90_000_00, 1), 2)))
    assert detect(v, SETTING) is not None
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


def test_entries_later_in_event_time_are_left_out():
    current = leg(2, "out", 90_000_00, at_h=2)
    later_in = RecentTx(2, T0 + 5 * HOUR_MS, "in", 100_000_00, False, day_of(T0), "later")  # applied before, event time after
    trail = (recent(leg(0, "in", 20_000_00), 1), later_in, recent(current, 3))
    assert detect(view(current, snapshot(seq=3), trail), SETTING) is None


def test_cash_and_transfers_count_alike():
    hits = stream([tx("t0", fen=100_000_00, method="cash"), tx("t1", ts_ms=T0 + HOUR_MS, fen=90_000_00, direction="out", method="transfer")])
    assert hits[1] is not None


legs_st = st.lists(st.tuples(st.sampled_from(["in", "out"]), st.integers(1_00, 120_000_00), st.integers(0, 96 * 60)), min_size=1, max_size=14)


@given(legs=legs_st)
def test_hits_are_outflows_whose_figures_meet_the_thresholds(legs):
    txs = [tx(f"t{i}", ts_ms=T0 + minute * 60_000, fen=fen, direction=d) for i, (d, fen, minute) in enumerate(sorted(legs, key=lambda x: x[2]))]
    hits = stream(txs)
    total_in = sum(t.amount_fen for t in txs if t.direction == "in")
    if total_in < 50_000_00:
        assert all(hit is None for hit in hits)
    for t, hit in zip(txs, hits, strict=True):
        if hit is not None:
            assert t.direction == "out" and hit.key == t.tx_id and hit.tx_ids[-1] == t.tx_id
            m = hit.metrics
            assert m["in_cny"] >= 50_000 and m["out_cny"] >= 0.8 * m["in_cny"] - 0.01
            assert m["retained_cny"] == pytest.approx(m["in_cny"] - m["out_cny"]) and 0 <= m["retained_ratio"] <= 0.2
            assert hit.window_end_ms - hit.window_start_ms < 48 * HOUR_MS


@given(legs=legs_st)
def test_never_fires_on_two_outflows_in_a_row_inside_one_window(legs):
    txs = [tx(f"t{i}", ts_ms=T0 + i * 60_000, fen=fen, direction=d) for i, (d, fen, _) in enumerate(legs)]
    hits = stream(txs)
    for i in range(len(hits) - 1):
        if hits[i] is not None and txs[i + 1].direction == "out":
            assert hits[i + 1] is None  # no money came in between: the ratio was already met
