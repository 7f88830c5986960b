from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.catalog import FACTORS, GROUPS
from factors.model import RecentTx, WindowStats
from factors.patterns import same_day_cash
from factors.profile import FLAGS
from factors.scoring import assess
from factors.standard import DEFAULT_STANDARD_PATH, parse_standard
from tests.unit.factors.helpers import T0, peer, profile, snapshot, tx, view

STANDARD = parse_standard(DEFAULT_STANDARD_PATH.read_bytes())
CASH = same_day_cash.Params(threshold_cny=50_000)


def factor(assessment, factor_id):
    return next((c for c in assessment.contributions if c.factor == factor_id), None)


def test_every_group_of_the_material_has_factors_and_the_default_weights_them_all():
    assert {f.group for f in FACTORS.values()} == set(GROUPS)
    assert {s.id for s in STANDARD.factors} == set(FACTORS)


def test_quiet_customer_scores_zero_and_is_normal():
    a = assess(view(tx(), snapshot()), STANDARD)
    assert (a.score, a.level, a.contributions, a.hard_rules) == (0, "normal", (), ())


def test_contributions_sum_exactly_to_the_score_and_carry_evidence():
    w30 = WindowStats(count=40, in_fen=3_000_000_00, out_fen=0, cash_in_fen=2_500_000_00, xb_in_fen=2_000_000_00)
    a = assess(view(tx(), snapshot(w30d=w30, w7d=WindowStats(count=60), w90d=WindowStats(count=80), active_days=40)), STANDARD)
    assert {c.factor for c in a.contributions} == {"cash_volume_30d", "activity_vs_baseline", "cross_border_share"}
    assert factor(a, "cash_volume_30d").points == 40
    assert factor(a, "cash_volume_30d").evidence["cash_30d_cny"] == 2_500_000
    assert factor(a, "cross_border_share").evidence["share"] == pytest.approx(0.6667, abs=1e-4)
    assert sum(c.points for c in a.contributions) == a.score
    assert a.level == STANDARD.level_for(a.score)


def test_activity_baseline_needs_enough_history():
    busy = snapshot(w7d=WindowStats(count=50), w90d=WindowStats(count=52), active_days=3)
    assert factor(assess(view(tx(), busy), STANDARD), "activity_vs_baseline") is None


@pytest.mark.parametrize(
    ("country", "points", "list_name"),
    [("KP", 60, "sanctioned"), ("MM", 45, "fatf_call_for_action"), ("VN", 20, "fatf_increased_monitoring"), ("KY", 15, "tax_havens"), ("CN", None, None)],
)
def test_customer_country_scores_the_riskiest_list(country, points, list_name):
    a = assess(view(tx(), snapshot(), profile=profile(country=country, residence_country="CN")), STANDARD)
    c = factor(a, "customer_country")
    assert (c.points if c else None) == points
    if c:
        assert c.evidence["list"] == list_name and c.evidence["lists_as_of"] == "2025-10-24"


def test_industry_table_and_unknown_codes_are_flagged_not_refused():
    casino = assess(view(tx(), snapshot(), profile=profile("entity", industry="casino")), STANDARD)
    assert factor(casino, "industry").points == 40
    odd = factor(assess(view(tx(), snapshot(), profile=profile("entity", industry="space_mining")), STANDARD), "industry")
    assert odd.points == 10 and odd.evidence["unknown_code"] is True


def test_high_risk_industry_manager_and_occupation():
    a = assess(view(tx(), snapshot(), profile=profile(industry="casino", occupation="finance_officer")), STANDARD)
    assert factor(a, "high_risk_industry_role").points == 10
    assert factor(assess(view(tx(), snapshot(), profile=profile(occupation="pep_foreign")), STANDARD), "occupation").points == 30


@pytest.mark.parametrize(
    ("flags", "level", "rules"),
    [
        ({"listed": True}, "prohibited", ["listed"]),
        ({"pep": True}, "watch", ["pep"]),
        ({"ownership_opaque": True}, "watch", ["ownership_opaque"]),
    ],
)
def test_hard_rules_set_a_minimum_level_regardless_of_score(flags, level, rules):
    kind = "entity" if "ownership_opaque" in flags else "individual"
    a = assess(view(tx(), snapshot(), profile=profile(kind, **flags)), STANDARD)
    assert a.level == level
    assert [r.rule for r in a.hard_rules] == rules
    assert sum(c.points for c in a.contributions) == a.score  # the explanation still adds up


def test_repeated_suspicious_reports_floor_at_suspicious():
    v = view(tx(), snapshot())
    assert assess(v, STANDARD).level == "normal"
    from dataclasses import replace

    assert assess(replace(v, alerts_in_period=2), STANDARD).level == "suspicious"


def test_products_are_summed_and_capped():
    a = assess(view(tx(), snapshot(), profile=profile(products=("bearer", "cross_border_remittance", "agency"))), STANDARD)
    assert factor(a, "products").points == 20  # 12 + 6 + 5 capped at 20
    assert factor(a, "products").evidence["products"] == {"agency": 5.0, "bearer": 12.0, "cross_border_remittance": 6.0}


def test_turnover_against_declared_income():
    snap = snapshot(w90d=WindowStats(count=10, in_fen=1_000_000_00))  # 1m in 90 days = 4.06m a year
    a = assess(view(tx(), snap, profile=profile(declared_annual_income_fen=400_000_00)), STANDARD)
    c = factor(a, "turnover_vs_declared")
    assert c.points == 30 and c.evidence["annualised_multiple"] == pytest.approx(10.139, abs=1e-3)


def test_peer_factors_need_a_published_baseline_of_enough_customers():
    snap = snapshot(w30d=WindowStats(count=100, cash_in_fen=1_000_000_00))
    assert factor(assess(view(tx(), snap), STANDARD), "peer_cash_multiple") is None
    assert factor(assess(view(tx(), snap, peer=peer(customers=5)), STANDARD), "peer_cash_multiple") is None
    a = assess(view(tx(), snap, peer=peer(customers=50, avg_cash_fen=50_000_00, avg_count=5)), STANDARD)
    assert factor(a, "peer_cash_multiple").points == 30 and factor(a, "peer_cash_multiple").evidence["baseline"] == "pb-test"
    assert factor(a, "peer_frequency_multiple").points == 25


def test_recent_detections_decay_linearly_over_90_days():
    day = 86_400_000
    fresh = assess(view(tx(ts_ms=T0), snapshot(), detections={"structuring": T0}), STANDARD)
    half = assess(view(tx(ts_ms=T0 + 45 * day), snapshot(), detections={"structuring": T0}), STANDARD)
    gone = assess(view(tx(ts_ms=T0 + 90 * day), snapshot(), detections={"structuring": T0}), STANDARD)
    assert factor(fresh, "recent_detections").points == 30
    assert factor(half, "recent_detections").points == 15
    assert factor(gone, "recent_detections") is None


@given(st.sets(st.sampled_from(FLAGS)), st.sampled_from(FLAGS), st.sampled_from(("individual", "entity")))
def test_adding_a_risk_flag_never_lowers_the_score_or_level(flags, extra, kind):
    base = profile(kind, **dict.fromkeys(flags, True))
    more = profile(kind, **dict.fromkeys(flags | {extra}, True))
    a, b = assess(view(tx(), snapshot(), profile=base), STANDARD), assess(view(tx(), snapshot(), profile=more), STANDARD)
    assert b.score >= a.score
    assert STANDARD.rank(b.level) >= STANDARD.rank(a.level)


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_more_cash_never_lowers_the_score(cash, more):
    a = assess(view(tx(), snapshot(w30d=WindowStats(count=1, cash_in_fen=cash, in_fen=cash))), STANDARD)
    b = assess(view(tx(), snapshot(w30d=WindowStats(count=1, cash_in_fen=cash + more, in_fen=cash + more))), STANDARD)
    assert b.score >= a.score


def cash_view(before_fen: int, amount_fen: int, method: str = "cash"):
    t = tx("t9", fen=amount_fen, method=method)
    after = before_fen + (amount_fen if method == "cash" else 0)
    trail = (RecentTx(1, t.ts_ms - 60_000, "in", before_fen, True, 20_000, "t8"), RecentTx(2, t.ts_ms, "in", amount_fen, method == "cash", 20_000, "t9"))
    return view(t, snapshot(tx_day=WindowStats(count=2, cash_in_fen=after)), trail, business_day=20_000)


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


def test_same_day_cash_ignores_non_cash_and_profile_updates():
    assert same_day_cash.detect(cash_view(49_000_00, 5_000_00, method="transfer"), CASH) is None
    assert same_day_cash.detect(view(None, snapshot(tx_day=WindowStats(cash_in_fen=90_000_00))), CASH) is None


def test_profile_only_factors_do_not_read_the_aggregates_or_the_event():
    """What the profile cache relies on: the same profile gives the same measurement whatever
    the transaction and the windows."""
    from factors.catalog import PROFILE_ONLY

    p = profile("entity", industry="casino", country="KY", pep=True, products=("bearer",), refused_cdd=True, occupation="manager")
    quiet = view(tx("a"), snapshot(), profile=p)
    busy = view(tx("b", ts_ms=T0 + 10**9, fen=10**9, method="cash"), snapshot(w30d=WindowStats(count=999, cash_in_fen=10**12), active_days=90), profile=p)
    for factor_id in PROFILE_ONLY:
        setting = next(s for s in STANDARD.factors if s.id == factor_id)
        assert FACTORS[factor_id].measure(quiet, setting, STANDARD) == FACTORS[factor_id].measure(busy, setting, STANDARD), factor_id
    cache: dict = {}
    assert assess(busy, STANDARD, cache) == assess(busy, STANDARD) and set(cache) == PROFILE_ONLY


def test_same_day_cash_says_when_its_tx_ids_miss_legs_the_day_total_counts():
    """The day's cash total comes from the accumulator; the tx_ids from the bounded trail."""
    complete = same_day_cash.detect(cash_view(40_000_00, 20_000_00), CASH)
    assert complete is not None and not complete.tx_ids_truncated
    t = tx("t9", fen=20_000_00, method="cash")
    # an earlier 40,000 of cash that day has left the trail (only t9 is still in it)
    partial = view(t, snapshot(tx_day=WindowStats(count=2, cash_in_fen=60_000_00)), (RecentTx(2, t.ts_ms, "in", 20_000_00, True, 20_000, "t9"),), business_day=20_000)
    hit = same_day_cash.detect(partial, CASH)
    assert hit is not None and hit.tx_ids == ("t9",) and hit.tx_ids_truncated
