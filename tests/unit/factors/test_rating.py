"""The re-rating state machine: first ratings, level changes and their causes, hysteresis,
alert consolidation, pattern feedback and large-value reports."""

from __future__ import annotations

from dataclasses import replace

from factors.large_value import add_leg
from factors.model import DayTotals, WindowStats
from factors.rating import RatedItem, Rater
from factors.standard import DEFAULT_STANDARD_PATH, parse_standard
from tests.unit.factors.helpers import T0, profile, recent, snapshot, tx

STANDARD = parse_standard(DEFAULT_STANDARD_PATH.read_bytes())
DAY = 86_400_000


def cash_item(i: int, cash_30d_fen: int, *, ts_ms: int | None = None, status: str = "new", fen: int = 100_00, day: int = 20_000):
    t = tx(f"t{i}", ts_ms=ts_ms or T0 + i * 1000, fen=fen, method="cash")
    snap = snapshot(seq=i, asof_ms=t.ts_ms, w30d=WindowStats(count=i, cash_in_fen=cash_30d_fen, in_fen=cash_30d_fen), tx_day=WindowStats(count=1, cash_in_fen=fen))
    return RatedItem(status, snap, tx=t, business_day=day, event_ms=t.ts_ms)


def with_day_totals(items):
    """Give each transaction's snapshot the accumulators of its business day, as the state layer does."""
    days: dict[int, DayTotals] = {}
    out = []
    for i in items:
        if i.tx is not None and i.snapshot is not None and i.status in ("new", "pend"):
            days[i.business_day] = add_leg(days.get(i.business_day, DayTotals()), i.tx, STANDARD.fx)
            i = replace(i, snapshot=replace(i.snapshot, day=days[i.business_day]))
        out.append(i)
    return out


def rate(items, state=None, trail=None):
    """Rate items; the trail defaults to the items' own transactions, as the Redis script keeps it."""
    if trail is None:
        trail = tuple(recent(i.tx, i.snapshot.seq, business_day=i.business_day) for i in items if i.tx is not None and i.snapshot is not None)
    return Rater(STANDARD).rate("c1", state or {}, trail, with_day_totals(items))


def test_first_rating_then_only_level_changes_with_their_cause():
    out = rate([cash_item(1, 50_000_00), cash_item(2, 90_000_00), cash_item(3, 600_000_00), cash_item(4, 2_100_000_00)])
    assert [(c.previous, c.current.level, c.cause.kind, c.cause.ref) for c in out.changes] == [
        (None, "normal", "transaction", "t1"),
        ({"level": "normal", "score": 25.0}, "watch", "transaction", "t4"),  # 30-day cash band of 2m: 40 points
    ]
    assert out.state["level"] == "watch" and out.state["since"] == T0 + 4000
    assert out.state["next_review"] == T0 + 4000 + int(24 * 30.4375 * DAY)
    assert [i.tx.tx_id for i in out.committed_items] == ["t1", "t2", "t3", "t4"]


def test_done_items_are_skipped_late_ones_reported_stale_profiles_counted():
    state = {"level": "normal", "score": 0.0}
    late = RatedItem("late", None, tx=tx("old"), event_ms=T0)
    stale = RatedItem("stale", None, profile=profile(), event_ms=T0)
    out = rate([cash_item(1, 100_00, status="done"), late, stale, cash_item(2, 100_00)], state)
    assert [t.tx.tx_id for t in out.late] == ["old"] and out.stale_profiles == 1
    assert [i.tx.tx_id for i in out.committed_items] == ["t2"] and out.changes == []


def test_downgrade_waits_for_the_cooling_period_upgrade_does_not():
    state = {"level": "watch", "score": 30.0, "since": T0}
    quiet = [cash_item(1, 0, ts_ms=T0 + DAY), cash_item(2, 0, ts_ms=T0 + 20 * DAY)]
    out = rate(quiet, state)
    assert out.changes == [] and out.state["level"] == "watch" and out.state["pending_down"] == {"since": T0 + DAY}
    later = rate([cash_item(3, 0, ts_ms=T0 + 31 * DAY)], out.state)
    assert [(c.previous["level"], c.current.level) for c in later.changes] == [("watch", "normal")]
    assert "pending_down" not in later.state
    # back above the cut-off before the cooling ends: the pending downgrade is forgotten
    bounce = rate([cash_item(1, 0, ts_ms=T0 + DAY), cash_item(2, 2_100_000_00, ts_ms=T0 + 2 * DAY)], state)
    assert bounce.changes == [] and "pending_down" not in bounce.state


def test_profile_update_rescores_with_cause_profile_and_emits_only_on_change():
    snap = snapshot(asof_ms=T0)
    state = {"level": "normal", "score": 0.0}
    harmless = RatedItem("new", snap, profile=profile(industry="education"), business_day=20_000, event_ms=T0)
    assert rate([harmless], state).changes == []
    listed = RatedItem("new", snap, profile=profile(listed=True, updated_ms=T0 + 5), business_day=20_000, event_ms=T0 + 5)
    [change] = rate([listed], state).changes
    assert change.cause.kind == "profile" and change.cause.ref == f"c1@{T0 + 5}"
    assert change.current.level == "prohibited" and [r.rule for r in change.current.hard_rules] == ["listed"]


def test_a_profile_update_applies_to_the_transactions_after_it_in_the_batch():
    items = [
        cash_item(1, 0),
        RatedItem("new", snapshot(asof_ms=T0 + 1500), profile=profile(pep=True), business_day=20_000, event_ms=T0 + 1500),
        cash_item(2, 0),
    ]
    out = rate(items)
    assert [c.current.level for c in out.changes] == ["normal", "watch"]
    assert out.state["profile"]["pep"] is True


def test_alerts_consolidate_within_the_monitoring_period_and_feed_the_score():
    big = [cash_item(1, 60_000_00, fen=60_000_00), cash_item(2, 120_000_00, ts_ms=T0 + DAY, fen=60_000_00, day=20_001)]
    out = rate(big)
    keys = [(a.hit.pattern, a.occurrence, a.alert_key) for a in out.alerts]
    assert [k[:2] for k in keys] == [("same_day_cash", 1), ("same_day_cash", 2)]
    assert keys[0][2] == keys[1][2]  # the same alert, updated
    assert out.state["detections"]["same_day_cash"] == T0 + DAY
    assert out.state["alerts"]["same_day_cash"]["n"] == 2
    # after the monitoring period a new alert opens
    after = rate([cash_item(3, 60_000_00, ts_ms=T0 + 91 * DAY, fen=60_000_00, day=20_091)], out.state)
    assert after.alerts[0].occurrence == 1 and after.alerts[0].alert_key != keys[0][2]


def test_a_detection_that_lifts_the_level_is_the_cause():
    # 30-day cash of 100,000 is 10 points; a same-day-cash detection adds 5: give the pattern 20
    factors = tuple(s.model_copy(update={"points": {"same_day_cash": 20}}) if s.id == "recent_detections" else s for s in STANDARD.factors)
    rater = Rater(STANDARD.model_copy(update={"factors": factors}))
    out = rater.rate("c1", {"level": "normal", "score": 0.0}, (), [cash_item(1, 100_000_00, fen=60_000_00)])
    [change] = out.changes
    assert change.current.level == "watch" and change.current.score == 30
    assert change.cause.kind == "pattern" and change.cause.ref == out.alerts[0].alert_key


def test_large_value_cash_report_and_its_revisions():
    out = rate([cash_item(1, 0, fen=30_000_00), cash_item(2, 0, fen=20_000_00), cash_item(3, 0, fen=1_00)])
    reports = [(r.update.rule.code, r.update.direction, r.update.revision, r.update.totals.fen, r.update.totals.count, r.update.tx_ids) for r in out.reports]
    assert reports == [("0501", "in", 1, 50_000_00, 2, ("t1", "t2")), ("0501", "in", 2, 50_001_00, 3, ("t1", "t2", "t3"))]
    assert out.reports[0].report_key == out.reports[1].report_key


def transfer(i: int, fen: int, *, direction: str = "out", cross_border: bool = False, currency: str = "CNY", amount: str | None = None):
    t = tx(f"x{i}", ts_ms=T0 + i, fen=fen, direction=direction, method="transfer", cross_border=cross_border, currency=currency, amount=amount or str(fen / 100))
    return RatedItem("new", snapshot(seq=i, asof_ms=t.ts_ms), tx=t, business_day=20_000, event_ms=t.ts_ms)


def test_large_value_transfer_rules_follow_the_customer_kind_and_border():
    entity = {"profile": profile("entity").to_dict()}
    assert [r.update.rule.code for r in rate([transfer(1, 2_000_000_00)], entity).reports] == ["0502"]
    assert rate([transfer(1, 1_999_999_99)], entity).reports == []
    assert [r.update.rule.code for r in rate([transfer(1, 500_000_00)]).reports] == ["0503"]  # no profile: natural person
    assert [r.update.rule.code for r in rate([transfer(1, 200_000_00, cross_border=True)]).reports] == ["0504"]
    # foreign currency is compared in USD: USD 10,000 cross-border reaches 0504 although CNY 71,000 < 200,000
    usd = rate([transfer(1, 71_000_00, cross_border=True, currency="USD", amount="10000")])
    assert [r.update.rule.code for r in usd.reports] == ["0504"]
    assert usd.reports[0].update.totals.by_currency == (("USD", 10_000_000),)  # thousandths of a dollar
    assert usd.reports[0].update.totals.usd_cents == 1_000_000 and usd.reports[0].update.totals.cny_fen == 0
    # each direction is its own report
    both = rate([transfer(1, 500_000_00, direction="in"), transfer(2, 500_000_00, direction="out")])
    assert sorted(r.update.direction for r in both.reports) == ["in", "out"]


def test_trail_view_excludes_later_transactions():
    t1, t2 = tx("a", fen=45_000_00, method="cash"), tx("b", ts_ms=T0 + 10, fen=45_000_00, method="cash")
    trail = (recent(t1, 1), recent(t2, 2))
    i1 = RatedItem("pend", snapshot(seq=1, tx_day=WindowStats(cash_in_fen=45_000_00)), tx=t1, business_day=20_000, event_ms=t1.ts_ms)
    i2 = RatedItem("new", snapshot(seq=2, tx_day=WindowStats(cash_in_fen=90_000_00)), tx=t2, business_day=20_000, event_ms=t2.ts_ms)
    out = rate([i1, i2], trail=trail)
    [alert] = [a for a in out.alerts if a.hit.pattern == "same_day_cash"]
    assert alert.hit.tx_ids == ("a", "b") and alert.tx.tx_id == "b"
