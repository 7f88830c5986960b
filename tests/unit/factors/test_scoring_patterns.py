from __future__ import annotations

import pytest

from factors.catalog import FACTOR_GROUPS
from factors.model import AppliedTx, RecentTx, WindowStats
from factors.patterns import PATTERNS, same_day_cash
from factors.rating import RiskState, rate_customer
from factors.scoring import assess
from factors.standard import DEFAULT_STANDARD_PATH, PatternSetting, parse_standard
from tests.unit.factors.helpers import snapshot, tx, view

STANDARD = parse_standard(DEFAULT_STANDARD_PATH.read_bytes(), known_factors=FACTOR_GROUPS, known_patterns=set(PATTERNS))
CASH = PatternSetting("same_day_cash", True, "medium", {"threshold_cny": 50_000})


def test_quiet_customer_scores_zero_and_is_normal():
    a = assess(view(tx(), snapshot()), STANDARD)
    assert (a.score, a.level, a.contributions) == (0, "normal", ())


def test_contributions_sum_exactly_to_the_score_and_carry_evidence():
    w30 = WindowStats(count=40, in_fen=3_000_000_00, out_fen=0, cash_in_fen=2_500_000_00, xb_in_fen=2_000_000_00)
    w7 = WindowStats(count=30)
    w90 = WindowStats(count=44)
    a = assess(view(tx(), snapshot(w30d=w30, w7d=w7, w90d=w90, active_days=20)), STANDARD)
    by_factor = {c.factor: c for c in a.contributions}
    assert set(by_factor) == {"cash_volume_30d", "activity_vs_baseline", "cross_border_share"}
    assert by_factor["cash_volume_30d"].points == 40
    assert by_factor["cash_volume_30d"].evidence["cash_30d_cny"] == 2_500_000
    assert by_factor["cross_border_share"].evidence["share"] == pytest.approx(0.6667, abs=1e-4)
    assert sum(c.points for c in a.contributions) == a.score
    assert a.level == STANDARD.level_for(a.score)


def test_activity_baseline_needs_enough_history():
    busy = snapshot(w7d=WindowStats(count=50), w90d=WindowStats(count=52), active_days=3)
    assert not any(c.factor == "activity_vs_baseline" for c in assess(view(tx(), busy), STANDARD).contributions)


def cash_view(before_fen: int, amount_fen: int, method: str = "cash"):
    t = tx("t9", fen=amount_fen, method=method)
    after = before_fen + (amount_fen if method == "cash" else 0)
    recent = (RecentTx(1, t.ts_ms - 60_000, "in", before_fen, True, 20_000, "t8"), RecentTx(2, t.ts_ms, "in", amount_fen, method == "cash", 20_000, "t9"))
    return view(t, snapshot(tx_day=WindowStats(count=2, cash_in_fen=after)), recent, business_day=20_000)


@pytest.mark.parametrize(
    ("before", "amount", "fires"),
    [
        (40_000_00, 9_999_99, False),  # 49,999.99: just under
        (40_000_00, 10_000_00, True),  # exactly at the threshold
        (40_000_00, 30_000_00, True),  # crossing
        (50_000_00, 1_00, False),  # already over before: fired earlier that day
        (0, 60_000_00, True),  # one large cash transaction
    ],
)
def test_same_day_cash_fires_once_when_the_day_total_reaches_the_threshold(before, amount, fires):
    hit = same_day_cash.detect(cash_view(before, amount), CASH)
    assert (hit is not None) == fires
    if hit:
        assert hit.key == "2024-10-04"  # business day 20000
        assert hit.thresholds == {"cash_total_cny": 50_000}
        assert hit.metrics["cash_total_cny"] == (before + amount) / 100
        assert hit.tx_ids[-1] == "t9"


def test_same_day_cash_ignores_non_cash():
    assert same_day_cash.detect(cash_view(49_000_00, 5_000_00, method="transfer"), CASH) is None


def applied(i: int, cash_fen: int, status: str = "new") -> AppliedTx:
    t = tx(f"t{i}", ts_ms=1_795_000_000_000 + i * 1000, fen=cash_fen, method="cash")
    w30 = WindowStats(count=i, cash_in_fen=cash_fen * i)
    return AppliedTx(t, status, snapshot(seq=i, w30d=w30, tx_day=WindowStats(count=i, cash_in_fen=cash_fen * i)), 20_000)  # type: ignore[arg-type]


def test_rating_emits_a_first_rating_then_only_level_changes():
    items = tuple(applied(i, 200_000_00) for i in range(1, 5))  # 30-day cash 200k, 400k, 600k, 800k
    out = rate_customer("c1", RiskState(), None, (), items, STANDARD)
    assert [(c.previous.level if c.previous else None, c.current.level) for c in out.changes] == [(None, "normal")]
    assert out.state.level == "normal" and out.state.score == 25
    assert out.commit_tx_ids == ["t1", "t2", "t3", "t4"]
    assert [hit.pattern for _, hit in out.patterns] == ["same_day_cash"]  # crosses 50k at t1 only


def test_rating_skips_done_transactions_and_reports_late_ones():
    items = (applied(1, 100_00, "done"), AppliedTx(tx("old"), "late", None, 19_000), applied(2, 100_00))
    out = rate_customer("c1", RiskState("normal", 0.0, 1, "v"), None, (), items, STANDARD)
    assert [t.tx_id for t in out.late] == ["old"]
    assert out.commit_tx_ids == ["t2"]
    assert out.changes == []
