from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import WindowStats
from factors.patterns.profile_mismatch import ID, Params, detect
from factors.profile import Profile
from tests.unit.factors.helpers import T0, peer, profile, recent, snapshot, tx, view

SETTING = Params(severity="high")
DAY_MS = 86_400_000
INCOME = profile(declared_annual_income_fen=365_000_00)  # bar: 3 x 365,000 x 90 / 365 = CNY 270,000 in 90 days
BAR = 270_000_00


def turnover_view(before_fen: int, amount_fen: int, prof: Profile | None = INCOME, *, with_tx: bool = True):
    """A view after a transaction of `amount_fen` on a 90-day turnover of `before_fen` (or a profile update)."""
    t = tx("t9", fen=amount_fen, direction="out")
    w90 = WindowStats(count=10, in_fen=before_fen, out_fen=amount_fen)
    trail = (recent(tx("t8", ts_ms=T0 - 60_000, fen=before_fen), 1), recent(t, 2))
    return view(t if with_tx else None, snapshot(seq=2, w90d=w90), trail, profile=prof)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"multiple": 3, "min_turnover_cny": 200_000}


@pytest.mark.parametrize(
    ("before", "amount", "fires"),
    [
        (BAR - 10_000_00, 9_999_99, False),  # one fen short of 3 x the declared income, annualised
        (BAR - 10_000_00, 10_000_00, True),  # exactly at it
        (100_000_00, 500_000_00, True),  # crossing well over
        (BAR, 1_00, False),  # already over before this transaction: fired at the crossing
    ],
)
def test_fires_when_the_annualised_turnover_reaches_the_multiple_of_the_declared_income(before, amount, fires):
    hit = detect(turnover_view(before, amount), SETTING)
    assert (hit is not None) == fires
    if hit:
        assert hit.pattern == ID and hit.key == "2024-10-04" and hit.severity == "high"
        assert hit.metrics["trigger"] == "transaction"
        assert hit.metrics["turnover_90d_cny"] == (before + amount) / 100
        assert hit.metrics["declared_annual_cny"] == 365_000 and hit.metrics["declared_basis"] == "income"
        assert hit.thresholds == {"turnover_90d_cny": 270_000, "multiple": 3.0, "min_turnover_cny": 200_000}
        assert (hit.window_start_ms, hit.window_end_ms) == (T0 - 90 * DAY_MS, T0)
        assert hit.tx_ids == ("t8", "t9")
        json.dumps([hit.metrics, hit.thresholds])


def test_annualised_metrics():
    hit = detect(turnover_view(BAR - 10_000_00, 10_000_00), SETTING)
    assert hit is not None
    assert hit.metrics["annualised_turnover_cny"] == 1_095_000  # 270,000 x 365 / 90
    assert hit.metrics["multiple_observed"] == 3.0


@pytest.mark.parametrize(("before", "amount", "fires"), [(190_000_00, 9_999_99, False), (190_000_00, 10_000_00, True)])
def test_min_turnover_is_the_bar_for_small_declared_incomes(before, amount, fires):
    small = profile(declared_annual_income_fen=36_500_00)  # 3 x annualised is only CNY 27,000 in 90 days
    hit = detect(turnover_view(before, amount, small), SETTING)
    assert (hit is not None) == fires
    if hit:
        assert hit.thresholds["turnover_90d_cny"] == 200_000


def test_entity_is_compared_with_its_declared_turnover():
    entity = profile("entity", declared_annual_turnover_fen=365_000_00, declared_annual_income_fen=1_00)
    hit = detect(turnover_view(BAR - 10_000_00, 10_000_00, entity), SETTING)
    assert hit is not None and hit.metrics["declared_basis"] == "turnover" and hit.metrics["customer_kind"] == "entity"


def test_falls_back_to_the_other_declared_figure():
    hit = detect(turnover_view(BAR - 10_000_00, 10_000_00, profile(declared_annual_turnover_fen=365_000_00)), SETTING)
    assert hit is not None and hit.metrics["declared_basis"] == "turnover"


@pytest.mark.parametrize("prof", [None, profile(), profile(declared_annual_income_fen=0)])
def test_no_declared_figure_no_hit(prof):
    assert detect(turnover_view(0, 10_000_000_00, prof), SETTING) is None


def test_fires_once_over_a_growing_turnover():
    hits = [detect(turnover_view(i * 20_000_00, 20_000_00), SETTING) for i in range(40)]  # 20k, 40k, ... 800k
    assert [h.metrics["turnover_90d_cny"] for h in hits if h] == [280_000]


def test_profile_update_that_lowers_the_declared_income_fires_keyed_by_month():
    lowered = profile(declared_annual_income_fen=100_000_00)  # bar: CNY 200,000 (the floor)
    hit = detect(turnover_view(300_000_00, 0, lowered, with_tx=False), SETTING)
    assert hit is not None
    assert hit.key == "2024-10" and hit.metrics["trigger"] == "profile_update"


def test_profile_update_within_the_declared_scale_does_not_fire():
    assert detect(turnover_view(200_000_00, 0, INCOME, with_tx=False), SETTING) is None


def test_needs_no_peer_baseline():
    v = turnover_view(BAR - 10_000_00, 10_000_00)
    assert detect(view(v.tx, v.snapshot, v.recent, profile=v.profile, peer=peer(customers=1)), SETTING) is not None


@given(
    turnover=st.integers(0, 10**11),
    amount=st.integers(0, 10**9),
    declared=st.integers(1, 10**10),
    multiple=st.sampled_from([1, 2, 3, 2.5, 10]),
    with_tx=st.booleans(),
)
def test_never_fires_below_the_multiple_of_the_declared_figure(turnover, amount, declared, multiple, with_tx):
    setting = Params(severity="high", multiple=multiple, min_turnover_cny=0)
    before = max(turnover - amount, 0)
    after = before + amount
    hit = detect(turnover_view(before, amount, profile(declared_annual_income_fen=declared), with_tx=with_tx), setting)
    if after * 365 < multiple * declared * 90:
        assert hit is None
    if hit is not None and with_tx:  # the crossing: under the bar without this transaction
        assert before * 365 < multiple * declared * 90
