from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import WindowStats
from factors.patterns.peer_frequency_outlier import ID, Params, detect
from factors.profile import PeerBaseline
from tests.unit.factors.helpers import T0, peer, recent, snapshot, tx, view

SETTING = Params(severity="low")
DAY_MS = 86_400_000
PEER = peer(customers=50, avg_count=20.0)  # bar = 5 x 20 = 100 transactions


def count_view(count: int, *, pb: PeerBaseline | None = PEER, ts_ms: int = T0, asof_ms: int = T0):
    """A view after a transaction that brought the 30-day count to `count`."""
    t = tx("t9", ts_ms=ts_ms)
    trail = (recent(tx("t8", ts_ms=ts_ms - 60_000), 1), recent(t, 2))
    return view(t, snapshot(seq=2, asof_ms=asof_ms, w30d=WindowStats(count=count, in_fen=count * 100_00)), trail, peer=pb)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"multiple": 5, "min_count": 30, "min_peers": 20}


@pytest.mark.parametrize(("count", "fires"), [(99, False), (100, True), (101, False)])
def test_fires_when_the_30_day_count_reaches_the_multiple_of_the_peer_average(count, fires):
    hit = detect(count_view(count), SETTING)
    assert (hit is not None) == fires
    if hit:
        assert hit.pattern == ID and hit.key == "2024-10-04" and hit.severity == "low"
        assert hit.metrics["count_30d"] == 100 and hit.metrics["multiple_observed"] == 5.0
        assert hit.metrics["peer_avg_count_30d"] == 20 and hit.metrics["peer_version"] == "pb-test" and hit.metrics["peer_customers"] == 50
        assert hit.thresholds == {"count_30d": 100, "multiple": 5.0, "min_count": 30, "min_peers": 20}
        assert hit.tx_ids == ("t8", "t9")
        json.dumps([hit.metrics, hit.thresholds])


@pytest.mark.parametrize(("count", "fires"), [(29, False), (30, True), (31, False)])
def test_min_count_is_the_bar_for_quiet_peer_groups(count, fires):
    hit = detect(count_view(count, pb=peer(customers=50, avg_count=2.0)), SETTING)  # 5 x 2 = 10 < 30
    assert (hit is not None) == fires


@pytest.mark.parametrize(("count", "fires"), [(100, False), (101, True)])
def test_fractional_bar_rounds_up_to_whole_transactions(count, fires):
    hit = detect(count_view(count, pb=peer(customers=50, avg_count=20.1)), SETTING)  # 100.5 -> 101
    assert (hit is not None) == fires


def test_no_transaction_no_hit():
    v = count_view(100)
    assert detect(view(None, v.snapshot, v.recent, peer=PEER), SETTING) is None


def test_no_peer_baseline_no_hit():
    assert detect(count_view(100, pb=None), SETTING) is None


@pytest.mark.parametrize(("customers", "fires"), [(19, False), (20, True)])
def test_peer_group_must_be_large_enough(customers, fires):
    assert (detect(count_view(100, pb=peer(customers=customers, avg_count=20.0)), SETTING) is not None) == fires


def test_transaction_far_behind_the_watermark_never_fires():
    assert detect(count_view(100, ts_ms=T0 - 28 * DAY_MS), SETTING) is None


def test_fires_once_over_a_growing_count():
    hits = [detect(count_view(n), SETTING) for n in range(1, 300)]
    assert [h.metrics["count_30d"] for h in hits if h] == [100]


def test_zero_peer_average_reports_no_multiple():
    hit = detect(count_view(30, pb=peer(customers=50, avg_count=0.0)), SETTING)
    assert hit is not None and hit.metrics["multiple_observed"] is None


@given(count=st.integers(1, 10_000), avg=st.floats(0, 1_000, allow_nan=False), multiple=st.sampled_from([1, 2.5, 5, 10]), min_count=st.integers(0, 100))
def test_never_fires_below_the_multiple_and_at_most_once_per_run(count, avg, multiple, min_count):
    setting = Params(severity="low", multiple=multiple, min_count=min_count)
    pb = peer(customers=20, avg_count=avg)
    hit = detect(count_view(count, pb=pb), setting)
    if count < multiple * avg or count < min_count:
        assert hit is None
    if hit is not None:  # the previous count was under the bar, the next one will be over it
        assert count - 1 < multiple * avg or count - 1 < min_count
        assert detect(count_view(count + 1, pb=pb), setting) is None


def test_tx_ids_are_truncated_when_the_window_counts_more_than_the_trail_holds():
    hit = detect(count_view(100), SETTING)  # 100 in 30 days, 2 of them still in the trail
    assert hit is not None and hit.tx_ids == ("t8", "t9") and hit.tx_ids_truncated
