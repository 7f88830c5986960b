from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import RecentTx, WindowStats
from factors.patterns.fan_out import ID, Params, detect
from tests.unit.factors.helpers import T0, recent, snapshot, tx, view

SETTING = Params(severity="high")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
DAY = (T0 + 8 * HOUR_MS) // DAY_MS  # business day of T0 in Asia/Shanghai
AMOUNT = 10_000_00


def fan_view(
    *,
    in_fen: int = 100_000_00,
    out_fen: int = 100_000_00,
    sources: int = 1,
    sinks: int = 10,
    direction: str = "out",
    fen: int = AMOUNT,
    counterparty: str = "cp-new",
    earlier: tuple[RecentTx, ...] = (),
    business_day: int = DAY,
    detections: dict[str, int] | None = None,
):
    """The view right after a transaction of `fen`; the 7-day window already includes it."""
    current = tx("now", ts_ms=T0, fen=fen, direction=direction, counterparty_id=counterparty)
    w7 = WindowStats(count=20, in_fen=in_fen, out_fen=out_fen, counterparties_in=sources, counterparties_out=sinks)
    trail = (*earlier, recent(current, len(earlier) + 1, business_day=business_day, counterparty=counterparty))
    return view(current, snapshot(seq=len(trail), w7d=w7), trail, business_day=business_day, detections=detections)


def earlier_tx(i: int, *, direction: str = "out", counterparty: str = "", hours_ago: float = 1, business_day: int = DAY) -> RecentTx:
    t = tx(f"e{i}", ts_ms=T0 - round(hours_ago * HOUR_MS), fen=AMOUNT, direction=direction)
    return recent(t, i + 1, business_day=business_day, counterparty=counterparty)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"min_sinks": 10, "max_sources": 2, "min_out_cny": 100_000, "balance_low": 0.8, "balance_high": 1.2}


@pytest.mark.parametrize(
    ("overrides", "fires"),
    [
        ({}, True),  # the 10th sink, out reaches 100,000 with this transaction
        ({"sinks": 9}, False),  # one sink short
        ({"sources": 2}, True),  # at the source limit
        ({"sources": 3}, False),  # one source too many
        ({"in_fen": 99_999_99, "out_fen": 99_999_99}, False),  # just under the minimum out
        ({"in_fen": 100_000_01, "out_fen": 100_000_01}, True),  # just over it
        ({"in_fen": 80_000_00}, True),  # in / out = 0.8 exactly
        ({"in_fen": 79_999_99}, False),  # just under the balance band
        ({"in_fen": 120_000_00}, True),  # in / out = 1.2 exactly
        ({"in_fen": 120_000_01}, False),  # just over the balance band
    ],
)
def test_thresholds(overrides, fires):
    assert (detect(fan_view(**overrides), SETTING) is not None) == fires


def test_hit_carries_key_evidence_metrics_and_thresholds():
    earlier = (earlier_tx(0, direction="in", hours_ago=30, business_day=DAY - 1), earlier_tx(1, hours_ago=2))
    hit = detect(fan_view(earlier=earlier, in_fen=105_000_00), SETTING)
    assert hit is not None
    assert (hit.pattern, hit.key, hit.severity) == (ID, "2026-11-18", "high")
    assert hit.tx_ids == ("e0", "e1", "now")
    assert (hit.window_start_ms, hit.window_end_ms) == (T0 - 30 * HOUR_MS, T0)
    assert hit.metrics == {"window": "7d", "sinks": 10, "sources": 1, "out_cny": 100_000, "in_cny": 105_000, "in_out_ratio": 1.05, "tx_count": 20}
    assert hit.thresholds == {"min_sinks": 10, "max_sources": 2, "min_out_cny": 100_000, "balance_low": 0.8, "balance_high": 1.2}
    json.dumps([hit.metrics, hit.thresholds])


def test_does_not_fire_when_it_held_before_this_transaction():
    assert detect(fan_view(in_fen=200_000_00, out_fen=200_000_00, sinks=11), SETTING) is None
    seen = (earlier_tx(0, counterparty="cp-old", hours_ago=5),)
    assert detect(fan_view(in_fen=190_000_00, out_fen=190_000_00, counterparty="cp-old", earlier=seen), SETTING) is None
    assert detect(fan_view(in_fen=190_000_00, out_fen=190_000_00, counterparty="cp-other", earlier=seen), SETTING) is not None


def test_mixed_directions_an_inflow_can_complete_the_pattern_and_a_third_source_breaks_it():
    # out 100,000 to 10 sinks already; in 70,000 -> 0.7; this inflow of 15,000 from a known source -> 0.85
    seen = (earlier_tx(0, direction="in", counterparty="src", hours_ago=20),)
    assert detect(fan_view(direction="in", fen=15_000_00, in_fen=85_000_00, counterparty="src", earlier=seen), SETTING) is not None
    assert detect(fan_view(direction="in", fen=15_000_00, in_fen=85_000_00, counterparty="src-3", sources=3), SETTING) is None


def test_fires_at_most_once_per_business_day():
    earlier = (earlier_tx(0, hours_ago=3), earlier_tx(1, hours_ago=1))
    assert detect(fan_view(earlier=earlier, detections={ID: T0 - HOUR_MS}), SETTING) is None
    assert detect(fan_view(earlier=earlier, detections={ID: T0 - 30 * HOUR_MS}), SETTING) is not None


def test_no_transaction_no_hit():
    v = fan_view()
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


@given(
    in_fen=st.integers(0, 300_000_00),
    out_fen=st.integers(0, 300_000_00),
    sources=st.integers(0, 5),
    sinks=st.integers(0, 20),
    direction=st.sampled_from(["in", "out"]),
    fen=st.integers(1, 100_000_00),
)
def test_a_hit_always_meets_every_condition(in_fen, out_fen, sources, sinks, direction, fen):
    hit = detect(fan_view(in_fen=in_fen, out_fen=out_fen, sources=sources, sinks=sinks, direction=direction, fen=fen), SETTING)
    if hit is not None:
        assert sinks >= 10 and sources <= 2 and out_fen >= 100_000_00 and 0.8 * out_fen <= in_fen <= 1.2 * out_fen
        before_in = in_fen - (fen if direction == "in" else 0)
        before_out = out_fen - (fen if direction == "out" else 0)
        before_sinks = sinks - (1 if direction == "out" else 0)
        held_before = before_sinks >= 10 and before_out >= 100_000_00 and 0.8 * before_out <= before_in <= 1.2 * before_out
        assert not held_before
