from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from factors.model import WindowStats
from factors.patterns.frequent_one_off import ID, Params, detect
from tests.unit.factors.helpers import T0, peer, recent, snapshot, tx, view

SETTING = Params(severity="medium")
DAY = 20_000  # business day 2024-10-04 in the helpers


def one_off_view(count: int, cp_in: int, cp_out: int = 0, *, window: str = "30d", detections: dict[str, int] | None = None, day: int = DAY):
    """A view whose `window` holds `count` transactions with cp_in + cp_out distinct counterparties."""
    t = tx("t9", ts_ms=T0)
    trail = (
        recent(tx("t6", ts_ms=T0 - 3_600_000), 1, day, counterparty="aa"),
        recent(tx("t7", ts_ms=T0 - 1_800_000), 2, day, counterparty="aa"),  # a repeat: not one-off
        recent(tx("t8", ts_ms=T0 - 60_000), 3, day, counterparty="bb"),
        recent(t, 4, day, counterparty="cc"),
    )
    stats = WindowStats(count=count, in_fen=count * 1_000_00, counterparties_in=cp_in, counterparties_out=cp_out)
    return view(t, snapshot(seq=4, **{f"w{window}": stats}), trail, business_day=day, detections=detections)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"window": "30d", "min_count": 20, "distinct_ratio": 0.8}


@pytest.mark.parametrize(
    ("count", "cp_in", "cp_out", "fires"),
    [
        (20, 10, 6, True),  # 16 / 20 = 0.8 exactly
        (20, 10, 5, False),  # 15 / 20 = 0.75
        (19, 19, 0, False),  # all distinct but one transaction short
        (20, 20, 0, True),
        (40, 0, 32, True),  # outgoing counterparties count too
        (0, 0, 0, False),
    ],
)
def test_fires_on_many_transactions_with_distinct_counterparties(count, cp_in, cp_out, fires):
    hit = detect(one_off_view(count, cp_in, cp_out), SETTING)
    assert (hit is not None) == fires
    if hit:
        assert hit.pattern == ID and hit.key == "2024-10-04" and hit.severity == "medium"
        assert hit.metrics["tx_count"] == count and hit.metrics["distinct_ratio"] == round((cp_in + cp_out) / count, 4)
        assert hit.thresholds == {"window": "30d", "min_count": 20, "distinct_ratio": 0.8}
        assert hit.tx_ids == ("t8", "t9")  # the trail's one-off counterparties; "aa" came twice
        json.dumps([hit.metrics, hit.thresholds])


def test_window_is_configurable():
    setting = Params(severity="medium", window="7d", min_count=10)
    assert detect(one_off_view(10, 8, window="7d"), setting) is not None
    assert detect(one_off_view(10, 8, window="30d"), setting) is None  # the 7d window is empty there


def test_unknown_window_is_refused_when_the_parameters_are_built():
    with pytest.raises(ValidationError, match="window"):
        Params(severity="medium", window="2w")


def test_no_transaction_no_hit():
    v = one_off_view(20, 20)
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


def test_needs_no_peer_baseline():
    v = one_off_view(20, 20)
    assert detect(v, SETTING) is not None
    assert detect(view(v.tx, v.snapshot, v.recent, peer=peer(customers=1)), SETTING) is not None


@pytest.mark.parametrize(
    ("detected_at", "fires"),
    [
        (T0 - 1_800_000, False),  # detected earlier today (at t7)
        (T0 - 3_600_000, False),  # at the first transaction of the day
        (T0 - 2 * 86_400_000, True),  # before any transaction of today: another day
        (T0, True),  # at this very transaction (redelivery): derive it again
    ],
)
def test_at_most_once_per_business_day(detected_at, fires):
    assert (detect(one_off_view(20, 20, detections={ID: detected_at}), SETTING) is not None) == fires


def test_fires_once_per_business_day_over_a_stream():
    """Drive the rule like the worker: record the event time of each detection."""
    detections: dict[str, int] = {}
    trail: tuple = ()
    keys = []
    for i in range(60):
        day = DAY + i // 30  # 30 transactions a business day
        t = tx(f"t{i}", ts_ms=T0 + i * 1_800_000)
        trail = (*trail, recent(t, i + 1, day, counterparty=f"cp{i}"))
        stats = WindowStats(count=i + 1, in_fen=(i + 1) * 100_00, counterparties_in=i + 1)
        hit = detect(view(t, snapshot(seq=i + 1, asof_ms=t.ts_ms, w30d=stats), trail, business_day=day, detections=dict(detections)), SETTING)
        if hit:
            keys.append((i, hit.key))
            detections[ID] = t.ts_ms
    assert keys == [(19, "2024-10-04"), (30, "2024-10-05")]


@given(count=st.integers(0, 500), distinct=st.integers(0, 500), ratio=st.sampled_from([0.5, 0.8, 0.9, 1.0]), min_count=st.integers(0, 50))
def test_fires_exactly_when_count_and_ratio_are_met(count, distinct, ratio, min_count):
    setting = Params(severity="medium", distinct_ratio=ratio, min_count=min_count)
    hit = detect(one_off_view(count, distinct), setting)
    expected = count > 0 and count >= min_count and distinct / count >= ratio
    assert (hit is not None) == expected
