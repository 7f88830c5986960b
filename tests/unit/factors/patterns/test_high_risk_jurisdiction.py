from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import RecentTx, Transaction, WindowStats
from factors.patterns.high_risk_jurisdiction import ID, Params, detect
from tests.unit.factors.helpers import T0, recent, snapshot, tx, view

SETTING = Params(severity="high", countries=("KP", "IR", "MM", "AF"))
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
DAY = (T0 + 8 * HOUR_MS) // DAY_MS  # business day of T0 in Asia/Shanghai


def hr_tx(tx_id: str = "now", country: str | None = "KP", fen: int = 5_000_00, direction: str = "out", at_h: float = 0) -> Transaction:
    return tx(tx_id, ts_ms=T0 + round(at_h * HOUR_MS), fen=fen, direction=direction, counterparty_country=country, cross_border=True)


def hr_view(t: Transaction | None, *, earlier: tuple[RecentTx, ...] = (), counterparty: str = "cp-kp", hr_30d: int = 0, business_day: int = DAY):
    own = (recent(t, len(earlier) + 1, business_day=business_day, high_risk=True, counterparty=counterparty),) if t else ()
    snap = snapshot(seq=len(earlier) + 1, tx_day=WindowStats(count=1, hr_fen=t.amount_fen if t else 0), w30d=WindowStats(hr_fen=hr_30d))
    return view(t, snap, (*earlier, *own), business_day=business_day)


def earlier_hr(i: int, *, counterparty: str = "cp-kp", fen: int = 5_000_00, business_day: int = DAY, high_risk: bool = True) -> RecentTx:
    return recent(hr_tx(f"e{i}", fen=fen, at_h=-1 - i), i + 1, business_day=business_day, high_risk=high_risk, counterparty=counterparty)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"countries": ("KP", "IR", "MM"), "min_amount_cny": 0}


def test_a_listed_country_fires_with_key_metrics_and_thresholds():
    hit = detect(hr_view(hr_tx(), hr_30d=12_000_00), SETTING)
    assert hit is not None
    assert (hit.pattern, hit.key, hit.severity) == (ID, "2026-11-18:KP", "high")
    assert hit.tx_ids == ("now",) and hit.window_start_ms == hit.window_end_ms == T0
    assert hit.metrics == {
        "country": "KP",
        "direction": "out",
        "amount_cny": 5_000,
        "cross_border": True,
        "high_risk_day_cny": 5_000,
        "high_risk_30d_cny": 12_000,
    }
    assert hit.thresholds == {"min_amount_cny": 0, "list_size": 4}
    json.dumps([hit.metrics, hit.thresholds])


@pytest.mark.parametrize(("country", "fires"), [("KP", True), ("kp", True), ("AF", True), ("US", False), ("", False), (None, False)])
def test_only_listed_countries(country, fires):
    assert (detect(hr_view(hr_tx(country=country)), SETTING) is not None) == fires


def test_defaults_apply_without_params():
    assert detect(hr_view(hr_tx(country="IR")), Params(severity="high")) is not None
    assert detect(hr_view(hr_tx(country="AF")), Params(severity="high")) is None


def test_the_injected_list_replaces_the_default():
    injected = Params(severity="high", countries=("SY",))
    assert detect(hr_view(hr_tx(country="SY")), injected) is not None
    assert detect(hr_view(hr_tx(country="KP")), injected) is None


@pytest.mark.parametrize(("fen", "fires"), [(9_999_99, False), (10_000_00, True), (10_000_01, True)])
def test_min_amount(fen, fires):
    setting = Params(severity="high", countries=("KP",), min_amount_cny=10_000)
    assert (detect(hr_view(hr_tx(fen=fen)), setting) is not None) == fires


def test_once_per_day_for_the_same_counterparty_in_either_direction():
    assert detect(hr_view(hr_tx(direction="in"), earlier=(earlier_hr(0),)), SETTING) is None  # out to it earlier today
    assert detect(hr_view(hr_tx(), earlier=(earlier_hr(0, business_day=DAY - 1),)), SETTING) is not None  # yesterday
    assert detect(hr_view(hr_tx(), earlier=(earlier_hr(0, high_risk=False),)), SETTING) is not None  # not flagged then


def test_an_earlier_transaction_under_the_minimum_was_no_hit():
    setting = Params(severity="high", countries=("KP",), min_amount_cny=10_000)
    assert detect(hr_view(hr_tx(fen=20_000_00), earlier=(earlier_hr(0, fen=1_000_00),)), setting) is not None
    assert detect(hr_view(hr_tx(fen=20_000_00), earlier=(earlier_hr(0, fen=10_000_00),)), setting) is None


def test_another_counterparty_the_same_day_fires_again_with_the_same_key():
    first = detect(hr_view(hr_tx()), SETTING)
    again = detect(hr_view(hr_tx(), earlier=(earlier_hr(0, counterparty="cp-other"),)), SETTING)
    assert first is not None and again is not None and first.key == again.key


def test_no_transaction_no_hit():
    assert detect(hr_view(None), SETTING) is None


@given(
    country=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    fen=st.integers(1, 10_000_000_00),
    direction=st.sampled_from(["in", "out"]),
    minimum=st.integers(0, 1_000_000),
)
def test_fires_exactly_for_listed_countries_at_or_over_the_minimum(country, fen, direction, minimum):
    setting = Params(severity="high", countries=("KP", "IR", "MM"), min_amount_cny=minimum)
    hit = detect(hr_view(hr_tx(country=country, fen=fen, direction=direction)), setting)
    assert (hit is not None) == (country in ("KP", "IR", "MM") and fen >= minimum * 100)
    if hit is not None:
        assert hit.key == f"2026-11-18:{country}" and hit.metrics["direction"] == direction
