from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import RecentTx, WindowStats
from factors.patterns.fan_in import ID, Params, detect
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
    sources: int = 10,
    sinks: int = 1,
    direction: str = "in",
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


def earlier_tx(i: int, *, direction: str = "in", counterparty: str = "", hours_ago: float = 1, business_day: int = DAY) -> RecentTx:
    t = tx(f"e{i}", ts_ms=T0 - round(hours_ago * HOUR_MS), fen=AMOUNT, direction=direction)
    return recent(t, i + 1, business_day=business_day, counterparty=counterparty)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"min_sources": 10, "max_sinks": 2, "min_in_cny": 100_000, "balance_low": 0.8, "balance_high": 1.2}


@pytest.mark.parametrize(
    ("overrides", "fires"),
    [
        ({}, True),  # the 10th source, in reaches 100,000 with this transaction
        ({"sources": 9}, False),  # one source short
        ({"sinks": 2}, True),  # at the sink limit
        ({"sinks": 3}, False),  # one sink too many
        ({"in_fen": 99_999_99, "out_fen": 99_999_99}, False),  # just under the minimum in
        ({"in_fen": 100_000_01, "out_fen": 100_000_01}, True),  # just over it
        ({"out_fen": 80_000_00}, True),  # out / in = 0.8 exactly
        ({"out_fen": 79_999_99}, False),  # just under the balance band
        ({"out_fen": 120_000_00}, True),  # out / in = 1.2 exactly
        ({"out_fen": 120_000_01}, False),  # just over the balance band
    ],
)
def test_thresholds(overrides, fires):
    assert (detect(fan_view(**overrides), SETTING) is not None) == fires


def test_hit_carries_key_evidence_metrics_and_thresholds():
    earlier = (earlier_tx(0, hours_ago=30, business_day=DAY - 1), earlier_tx(1, direction="out", hours_ago=2))
    hit = detect(fan_view(earlier=earlier, out_fen=95_000_00), SETTING)
    assert hit is not None
    assert (hit.pattern, hit.key, hit.severity) == (ID, "2026-11-18", "high")
    assert hit.tx_ids == ("e0", "e1", "now")
    assert (hit.window_start_ms, hit.window_end_ms) == (T0 - 30 * HOUR_MS, T0)
    assert hit.metrics == {"window": "7d", "sources": 10, "sinks": 1, "in_cny": 100_000, "out_cny": 95_000, "out_in_ratio": 0.95, "tx_count": 20}
    assert hit.thresholds == {"min_sources": 10, "max_sinks": 2, "min_in_cny": 100_000, "balance_low": 0.8, "balance_high": 1.2}
    json.dumps([hit.metrics, hit.thresholds])


def test_does_not_fire_when_it_held_before_this_transaction():
    seen = (earlier_tx(0, counterparty="cp-old", hours_ago=5),)
    big = dict(in_fen=200_000_00, out_fen=200_000_00, sources=11)
    assert detect(fan_view(**big), SETTING) is None  # 11 sources and 190,000 in without it
    # a counterparty the trail shows already is not new: the 10 sources were there before
    assert detect(fan_view(in_fen=190_000_00, out_fen=190_000_00, counterparty="cp-old", earlier=seen), SETTING) is None
    assert detect(fan_view(in_fen=190_000_00, out_fen=190_000_00, counterparty="cp-other", earlier=seen), SETTING) is not None
    # a counterparty seen only in the other direction is new as a source
    out_seen = (earlier_tx(0, direction="out", counterparty="cp-old", hours_ago=5),)
    assert detect(fan_view(in_fen=190_000_00, out_fen=190_000_00, counterparty="cp-old", earlier=out_seen), SETTING) is not None


def test_fires_on_the_outflow_that_brings_the_balance_into_the_band():
    assert detect(fan_view(direction="out", fen=20_000_00, counterparty="sink", out_fen=85_000_00), SETTING) is not None  # 0.65 -> 0.85
    assert detect(fan_view(direction="out", fen=2_000_00, counterparty="sink", out_fen=85_000_00), SETTING) is None  # 0.83 already


def test_an_outflow_to_a_third_sink_breaks_it():
    assert detect(fan_view(direction="out", fen=20_000_00, counterparty="sink-3", out_fen=85_000_00, sinks=3), SETTING) is None


def test_an_inflow_can_bring_the_balance_back_into_the_band():
    # before: in 90,000 with 10 sources (this source seen), out 110,000 = 1.22; after: 100,000 in, 1.1
    seen = (earlier_tx(0, counterparty="cp-old", hours_ago=5),)
    assert detect(fan_view(out_fen=110_000_00, counterparty="cp-old", earlier=seen), SETTING) is not None


def test_fires_at_most_once_per_business_day():
    earlier = (earlier_tx(0, hours_ago=3), earlier_tx(1, hours_ago=1))
    assert detect(fan_view(earlier=earlier, detections={ID: T0 - 3 * HOUR_MS}), SETTING) is None  # fired at e0 today
    assert detect(fan_view(earlier=earlier, detections={ID: T0 - 30 * HOUR_MS}), SETTING) is not None  # yesterday
    assert detect(fan_view(earlier=earlier, detections={"structuring": T0 - HOUR_MS}), SETTING) is not None  # another pattern


def test_a_late_transaction_outside_the_window_changes_nothing():
    newest = (earlier_tx(0, hours_ago=-24 * 8, business_day=DAY + 8),)  # the watermark is 8 days later
    assert detect(fan_view(earlier=newest), SETTING) is None


def test_no_transaction_no_hit():
    v = fan_view()
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


def test_params_override_defaults():
    setting = Params(severity="critical", min_sources=5, min_in_cny=50_000)
    hit = detect(fan_view(sources=5, in_fen=50_000_00, out_fen=50_000_00), setting)
    assert hit is not None and hit.severity == "critical" and hit.thresholds["min_sources"] == 5


@given(
    in_fen=st.integers(0, 300_000_00),
    out_fen=st.integers(0, 300_000_00),
    sources=st.integers(0, 20),
    sinks=st.integers(0, 5),
    direction=st.sampled_from(["in", "out"]),
    fen=st.integers(1, 100_000_00),
)
def test_a_hit_always_meets_every_condition(in_fen, out_fen, sources, sinks, direction, fen):
    hit = detect(fan_view(in_fen=in_fen, out_fen=out_fen, sources=sources, sinks=sinks, direction=direction, fen=fen), SETTING)
    if hit is not None:
        assert sources >= 10 and sinks <= 2 and in_fen >= 100_000_00 and 0.8 * in_fen <= out_fen <= 1.2 * in_fen
        before_in = in_fen - (fen if direction == "in" else 0)
        before_out = out_fen - (fen if direction == "out" else 0)
        before_sources = sources - (1 if direction == "in" else 0)
        held_before = before_sources >= 10 and before_in >= 100_000_00 and 0.8 * before_in <= before_out <= 1.2 * before_in
        assert not held_before
