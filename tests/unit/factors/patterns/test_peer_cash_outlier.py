from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import WindowStats
from factors.patterns import peer_cash_outlier
from factors.patterns.peer_cash_outlier import ID, Params, detect
from factors.profile import PeerBaseline
from tests.unit.factors.helpers import T0, peer, recent, snapshot, tx, view

SETTING = Params(severity="medium")
DAY_MS = 86_400_000
PEER = peer(customers=50, avg_cash_fen=20_000_00)  # bar = 5 x CNY 20,000 = CNY 100,000


def cash_view(before_fen: int, amount_fen: int, *, method: str = "cash", pb: PeerBaseline | None = PEER, ts_ms: int = T0, asof_ms: int = T0):
    """A view after a transaction of `amount_fen`, the 30-day cash having been `before_fen`."""
    t = tx("t9", ts_ms=ts_ms, fen=amount_fen, method=method)
    after = before_fen + (amount_fen if method == "cash" else 0)
    w30 = WindowStats(count=2, in_fen=before_fen + amount_fen, cash_in_fen=after)
    trail = (recent(tx("t8", ts_ms=ts_ms - 60_000, fen=before_fen, method="cash"), 1), recent(t, 2))
    return view(t, snapshot(seq=2, asof_ms=asof_ms, w30d=w30), trail, peer=pb)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"multiple": 5, "min_cash_cny": 50_000, "min_peers": 20}
    assert peer_cash_outlier.ID == "peer_cash_outlier"


@pytest.mark.parametrize(
    ("before", "amount", "fires"),
    [
        (90_000_00, 9_999_99, False),  # CNY 99,999.99: just under 5 x the peer average
        (90_000_00, 10_000_00, True),  # exactly 5 x
        (50_000_00, 80_000_00, True),  # crossing well over
        (100_000_00, 1_00, False),  # already over before this transaction: fired earlier
        (0, 100_000_00, True),  # one large cash transaction
    ],
)
def test_fires_when_the_30_day_cash_reaches_the_multiple_of_the_peer_average(before, amount, fires):
    hit = detect(cash_view(before, amount), SETTING)
    assert (hit is not None) == fires
    if hit:
        assert hit.pattern == ID and hit.key == "2024-10-04" and hit.severity == "medium"
        assert hit.metrics["cash_30d_cny"] == (before + amount) / 100
        assert hit.metrics["peer_avg_cash_30d_cny"] == 20_000
        assert hit.metrics["peer_version"] == "pb-test" and hit.metrics["peer_customers"] == 50
        assert hit.thresholds == {"cash_30d_cny": 100_000, "multiple": 5.0, "min_cash_cny": 50_000, "min_peers": 20}
        assert hit.tx_ids == ("t8", "t9")
        assert (hit.window_start_ms, hit.window_end_ms) == (T0 - 30 * DAY_MS, T0)
        json.dumps([hit.metrics, hit.thresholds])


def test_multiple_observed_is_reported():
    hit = detect(cash_view(90_000_00, 30_000_00), SETTING)
    assert hit is not None and hit.metrics["multiple_observed"] == 6.0


@pytest.mark.parametrize(("before", "amount", "fires"), [(40_000_00, 9_999_99, False), (40_000_00, 10_000_00, True)])
def test_min_cash_is_the_bar_when_the_peer_average_is_tiny(before, amount, fires):
    tiny = peer(customers=50, avg_cash_fen=1_000_00)  # 5 x = CNY 5,000, under the CNY 50,000 floor
    hit = detect(cash_view(before, amount, pb=tiny), SETTING)
    assert (hit is not None) == fires
    if hit:
        assert hit.thresholds["cash_30d_cny"] == 50_000


def test_zero_peer_average_reports_no_multiple():
    hit = detect(cash_view(0, 50_000_00, pb=peer(customers=50, avg_cash_fen=0.0)), SETTING)
    assert hit is not None and hit.metrics["multiple_observed"] is None


def test_params_override_defaults():
    setting = Params(severity="high", multiple=2, min_cash_cny=1_000, min_peers=5)
    hit = detect(cash_view(30_000_00, 10_000_00, pb=peer(customers=5, avg_cash_fen=20_000_00)), setting)
    assert hit is not None and hit.thresholds["cash_30d_cny"] == 40_000 and hit.severity == "high"


def test_non_cash_transaction_never_fires():
    assert detect(cash_view(99_000_00, 5_000_00, method="transfer"), SETTING) is None


def test_no_transaction_no_hit():
    v = cash_view(90_000_00, 10_000_00)
    assert detect(view(None, v.snapshot, v.recent, peer=PEER), SETTING) is None


def test_no_peer_baseline_no_hit():
    assert detect(cash_view(90_000_00, 10_000_00, pb=None), SETTING) is None


@pytest.mark.parametrize(("customers", "fires"), [(19, False), (20, True)])
def test_peer_group_must_be_large_enough(customers, fires):
    hit = detect(cash_view(90_000_00, 10_000_00, pb=peer(customers=customers, avg_cash_fen=20_000_00)), SETTING)
    assert (hit is not None) == fires


def test_transaction_far_behind_the_watermark_never_fires():
    late = cash_view(90_000_00, 10_000_00, ts_ms=T0 - 28 * DAY_MS, asof_ms=T0)
    assert detect(late, SETTING) is None
    recent_enough = cash_view(90_000_00, 10_000_00, ts_ms=T0 - 27 * DAY_MS, asof_ms=T0)
    assert detect(recent_enough, SETTING) is not None


def test_fires_once_over_a_growing_run_of_cash():
    hits = [detect(cash_view(i * 15_000_00, 15_000_00), SETTING) for i in range(20)]  # 15k, 30k, ... 300k
    assert [i for i, h in enumerate(hits) if h] == [6]  # 105k is the first total at or over 100k


def test_view_is_not_mutated():
    v = cash_view(90_000_00, 10_000_00)
    before = repr(v)
    detect(v, SETTING)
    assert repr(v) == before


@given(
    before=st.integers(0, 10**10),
    amount=st.integers(1, 10**9),
    avg=st.floats(0, 10**9, allow_nan=False),
    multiple=st.sampled_from([1, 2, 3.5, 5, 10]),
    min_cash=st.sampled_from([0, 1, 50_000]),
)
def test_never_fires_below_the_multiple_and_only_on_the_crossing(before, amount, avg, multiple, min_cash):
    setting = Params(severity="medium", multiple=multiple, min_cash_cny=min_cash)
    hit = detect(cash_view(before, amount, pb=peer(customers=20, avg_cash_fen=avg)), setting)
    after = before + amount
    if after < multiple * avg or after < min_cash * 100:
        assert hit is None
    if hit is not None:
        assert before < multiple * avg or before < min_cash * 100
