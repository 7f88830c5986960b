"""Relative thresholds: the type (absolute or relative, validated), the resolution of a line from
the peer group's published distribution and the customer's own history, and what events show."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from factors.distribution import Distribution, bucket_of
from factors.errors import StandardError
from factors.model import WindowStats
from factors.patterns import fan_in, frequent_one_off
from factors.profile import PeerBaseline
from factors.standard import DEFAULT_STANDARD_PATH, parse_standard
from factors.thresholds import Line, RelativeCny, RelativeCount, RelativeDistinct, floor_of, resolve, thresholds
from factors.view import CustomerView
from tests.unit.factors.helpers import T0, recent, snapshot, tx, view

DAY_MS = 86_400_000
DAY = (T0 + 8 * 3_600_000) // DAY_MS


def peer_with(metric: str, counts: dict[int, int], version: str = "pb-20410-abcdef01") -> PeerBaseline:
    """A baseline whose distribution of `metric` has `counts` samples at each value (bucketed)."""
    buckets: dict[int, int] = {}
    for value, n in counts.items():
        buckets[bucket_of(value)] = buckets.get(bucket_of(value), 0) + n
    return PeerBaseline("individual:retail", version, 120, 0.0, 0.0, {}, {metric: Distribution.from_counts(buckets)})


def a_view(peer: PeerBaseline | None = None, **windows: WindowStats):
    t = tx("now", ts_ms=T0)
    return view(t, snapshot(**windows), (recent(t, 1, business_day=DAY),), business_day=DAY, peer=peer)


# --- the type -------------------------------------------------------------------------------


def test_a_number_is_the_absolute_line_as_before():
    line = resolve(100_000.0, "in_7d", a_view())
    assert line == Line(100_000_00) and line.basis is None and line.shown("cny") == 100_000.0
    assert resolve(10, "payers_7d", a_view()) == Line(10)
    assert fan_in.Params(min_in_cny=50_000).min_in_cny == 50_000.0


def test_a_table_is_validated_with_clear_errors():
    RelativeCny.model_validate({"quantile": 0.99, "own_multiple": 3, "floor": 20_000})
    with pytest.raises(ValidationError, match="needs quantile and/or own_multiple"):
        RelativeCny.model_validate({"floor": 20_000})
    with pytest.raises(ValidationError, match="floor"):
        RelativeCny.model_validate({"quantile": 0.99})
    with pytest.raises(ValidationError, match=r"less than or equal to 0\.9999"):
        RelativeCny.model_validate({"quantile": 1.0, "floor": 1})
    with pytest.raises(ValidationError, match="not available for distinct counterparties"):
        RelativeDistinct.model_validate({"quantile": 0.99, "own_multiple": 2, "floor": 5})
    with pytest.raises(ValidationError):
        RelativeCount.model_validate({"quantile": 0.99, "floor": 2.5})  # a count floor is an integer


def _with(section: str, key: str, value: str, text: str | None = None) -> bytes:
    text = DEFAULT_STANDARD_PATH.read_text(encoding="utf-8") if text is None else text
    body = re.search(rf"\[patterns\.{section}\][^\[]*", text)
    assert body is not None
    changed = re.sub(rf"\n{key} = [^\n]*", f"\n{key} = {value}", body.group(0), count=1) if f"\n{key} = " in body.group(0) else body.group(0) + f"{key} = {value}\n"
    return (text[: body.start()] + changed + text[body.end() :]).encode()


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        (
            "fan_in",
            "min_in_cny",
            '"lots"',
            "patterns.fan_in.min_in_cny: expected a number from 0 to 1,000,000,000,000, or a table { quantile, own_multiple, peer_groups, floor }",
        ),
        ("fan_in", "min_in_cny", "{ quantile = 0.99 }", "patterns.fan_in.min_in_cny.floor: missing: this key is required"),
        ("fan_in", "min_in_cny", "{ quantile = 2, floor = 1 }", "patterns.fan_in.min_in_cny.quantile: expected a number from 0.5 to 0.9999"),
        ("fan_in", "min_in_cny", "{ quantil = 0.9, floor = 1 }", "patterns.fan_in.min_in_cny.quantil: unknown key (did you mean quantile?)"),
        ("fan_in", "min_in_cny", "{ floor = 1 }", "patterns.fan_in.min_in_cny: a relative threshold needs quantile and/or own_multiple"),
        ("fan_in", "min_sources", "{ own_multiple = 3, floor = 5 }", "patterns.fan_in.min_sources.own_multiple: not available for distinct counterparties"),
        ("frequent_one_off", "window", '"7d"', 'patterns.frequent_one_off: a relative min_count needs window = "30d"'),
        ("dormant_reactivation", "min_amount_cny", "{ own_multiple = 3, floor = 1 }", "patterns.dormant_reactivation.min_amount_cny: own_multiple is not available here"),
        (
            "fan_in",
            "min_in_cny",
            '{ quantile = 0.99, floor = 1, peer_groups = ["entity:shipbuilding"] }',
            "patterns.fan_in.min_in_cny.peer_groups[0]: unknown peer group",
        ),
        (
            "fan_in",
            "min_in_cny",
            '{ quantile = 0.99, floor = 1, peer_groups = ["trust:retail"] }',
            "patterns.fan_in.min_in_cny.peer_groups[0]: expected a string matching",
        ),
        ("fan_in", "min_in_cny", '{ own_multiple = 3, floor = 1, peer_groups = ["entity:retail"] }', "patterns.fan_in.min_in_cny: peer_groups needs quantile"),
    ],
)
def test_the_standard_names_the_path_and_never_the_value(section, key, value, expected):
    base = _with("frequent_one_off", "min_count", "{ quantile = 0.99, floor = 20 }").decode()  # the default's is absolute
    with pytest.raises(StandardError) as err:
        parse_standard(_with(section, key, value, base))
    messages = [str(p) for p in err.value.problems]
    assert any(m.startswith(expected) for m in messages), messages
    assert not any("lots" in m for m in messages)


def test_the_default_standard_uses_relative_lines_where_no_regulation_sets_one():
    standard = parse_standard(DEFAULT_STANDARD_PATH.read_bytes())
    patterns = standard.patterns
    assert isinstance(patterns["fan_in"].min_in_cny, RelativeCny) and isinstance(patterns["fan_in"].min_sources, RelativeDistinct)
    assert isinstance(patterns["fan_out"].min_out_cny, RelativeCny) and isinstance(patterns["rapid_in_out"].min_in_cny, RelativeCny)
    assert patterns["frequent_one_off"].min_count == 20  # a sample size for the ratio, not an amount
    for regulated in ("same_day_cash", "structuring"):  # the 50,000 cash line of PBoC Order 2016 No. 3
        assert patterns[regulated].threshold_cny == 50_000
    assert isinstance(frequent_one_off.Params.model_validate({"min_count": {"quantile": 0.99, "floor": 5}}).min_count, RelativeCount)


# --- resolution -----------------------------------------------------------------------------


def test_the_quantile_part_is_exceeded_strictly_and_names_the_baseline():
    peer = peer_with("payers_7d", {0: 60, 1: 30, 2: 8, 5: 2})  # p99 in the bucket of 5
    line = resolve(RelativeDistinct(quantile=0.99, floor=3), "payers_7d", a_view(peer))
    assert line.minimum == 6  # above the p99 of 5.5
    assert line.basis == {
        "floor": 3,
        "quantile": {"q": 0.99, "metric": "payers_7d", "value": 5.5, "peer_group": "individual:retail", "peer_version": "pb-20410-abcdef01", "samples": 100},
        "from": "quantile",
    }


def test_the_floor_holds_when_the_group_is_quiet():
    peer = peer_with("in_7d", {0: 95, 100: 5})
    line = resolve(RelativeCny(quantile=0.9, floor=20_000), "in_7d", a_view(peer))
    assert line.minimum == 20_000_00 and line.basis["from"] == "floor" and line.basis["quantile"]["value"] < 20_000


def test_the_quantile_drops_out_without_a_baseline_or_with_too_few_samples():
    no_peer = resolve(RelativeCny(quantile=0.99, floor=20_000), "in_7d", a_view())
    assert no_peer.minimum == 20_000_00 and no_peer.basis["quantile"]["unavailable"].startswith("no published peer baseline")
    few = resolve(RelativeCny(quantile=0.99, floor=20_000), "in_7d", a_view(peer_with("in_7d", {50_000: 99})))
    assert few.minimum == 20_000_00 and few.basis["quantile"] == {
        "q": 0.99,
        "metric": "in_7d",
        "value": None,
        "peer_group": "individual:retail",
        "peer_version": "pb-20410-abcdef01",
        "samples": 99,
        "unavailable": "fewer than 100 samples",
    }
    other_metric = resolve(RelativeCny(quantile=0.9, floor=1), "in_7d", a_view(peer_with("out_7d", {50_000: 500})))
    assert other_metric.minimum == 1_00 and other_metric.basis["quantile"]["samples"] == 0


def test_own_history_is_the_90_day_figure_outside_the_current_window():
    # 7-day inflow 9,000; 90-day 92,000: 83,000 over the 83 days before the window, 1,000 a day
    v = a_view(w7d=WindowStats(in_fen=9_000_00), w90d=WindowStats(in_fen=92_000_00))
    line = resolve(RelativeCny(own_multiple=3, floor=5_000), "in_7d", v)
    assert line.basis["own"] == {"multiple": 3, "metric": "in_7d", "daily_average": 1_000.0, "history_days": 83, "span_days": 7, "value": 21_000.0}
    assert line.minimum == 21_000_01 and line.basis["from"] == "own"
    # a 30-day count: (90-day - 30-day) over 60 days, times 30
    counts = a_view(w30d=WindowStats(count=40), w90d=WindowStats(count=100))
    assert resolve(RelativeCount(own_multiple=2, floor=1), "count_30d", counts).minimum == 61  # above 2 x 30
    # a rule shorter than a week: outside the 7-day window, per day times its span (at least a day)
    short = resolve(RelativeCny(own_multiple=2, floor=1), "in_24h", v, span_days=2)
    assert short.basis["own"]["span_days"] == 2 and short.minimum == 4_000_01
    assert resolve(RelativeCny(own_multiple=2, floor=1), "sum_24h", v, span_days=0.25).basis["own"]["span_days"] == 1


def test_a_quiet_customer_has_no_own_history_and_keeps_the_floor():
    line = resolve(RelativeCny(own_multiple=3, floor=20_000), "in_7d", a_view(w7d=WindowStats(in_fen=50_000_00), w90d=WindowStats(in_fen=50_000_00)))
    assert line.minimum == 20_000_00 and line.basis["own"]["value"] == 0 and line.basis["from"] == "floor"


def test_the_line_is_the_largest_part():
    v = a_view(peer_with("in_7d", {1_000: 99, 30_000: 1}), w7d=WindowStats(in_fen=1_00), w90d=WindowStats(in_fen=83_000_00 + 1_00))
    both = RelativeCny(quantile=0.99, own_multiple=3, floor=5_000)
    line = resolve(both, "in_7d", v)
    quantile, own = line.basis["quantile"]["value"], line.basis["own"]["value"]
    assert own == 21_000 and quantile < own and line.basis["from"] == "own" and line.minimum == 21_000_01
    busy = a_view(peer_with("in_7d", {1_000: 90, 60_000: 10}), w7d=WindowStats(), w90d=WindowStats(in_fen=83_000_00))
    line = resolve(both, "in_7d", busy)
    assert line.basis["from"] == "quantile" and line.minimum > 21_000_01


def test_events_show_the_numbers_as_before_and_the_basis_apart():
    absolute = thresholds({"min_sources": (Line(10), "count"), "max_sinks": 2, "min_in_cny": (Line(100_000_00), "cny")}, balance_low=0.8)
    assert absolute == {"min_sources": 10, "max_sinks": 2, "min_in_cny": 100_000.0, "balance_low": 0.8}
    basis = {"floor": 1.0, "own": {"value": 3.0}, "from": "own"}
    relative = thresholds({"min_in_cny": (Line(3_01, basis), "cny")})
    assert relative == {"min_in_cny": 3.01, "relative": {"min_in_cny": basis}}


def test_a_rule_with_relative_lines_fires_at_retail_amounts_and_explains_itself():
    params = fan_in.Params(min_sources={"quantile": 0.99, "floor": 3}, min_in_cny={"quantile": 0.99, "own_multiple": 3, "floor": 10_000})
    peer = PeerBaseline(
        "individual:retail",
        "pb-20410-0badcafe",
        300,
        0.0,
        0.0,
        {},
        {"payers_7d": Distribution.from_counts({0: 700, 1: 250, 2: 30, 3: 20}), "in_7d": Distribution.from_counts({bucket_of(2_000): 990, bucket_of(9_000): 10})},
    )
    current = tx("now", ts_ms=T0, fen=4_000_00, counterparty_id="p-new")
    w7 = WindowStats(count=8, in_fen=24_000_00, out_fen=23_000_00, counterparties_in=4, counterparties_out=1)
    snap = snapshot(w7d=w7, w90d=w7)
    hit = fan_in.detect(view(current, snap, (recent(current, 1, business_day=DAY, counterparty="p-new"),), business_day=DAY, peer=peer), params)
    assert hit is not None
    assert hit.thresholds["min_sources"] == 4 and hit.thresholds["min_in_cny"] == 10_000  # the floor: the group's p99 is about 2,048
    relative = hit.thresholds["relative"]
    assert relative["min_sources"]["from"] == "quantile" and relative["min_sources"]["quantile"]["value"] == pytest.approx(3.5)
    assert relative["min_in_cny"]["from"] == "floor" and relative["min_in_cny"]["quantile"]["peer_version"] == "pb-20410-0badcafe"
    assert relative["min_in_cny"]["own"]["value"] == 0  # no history outside the window
    absolute = fan_in.Params()  # 10 sources, CNY 100,000: too large for this retail mule
    assert fan_in.detect(view(current, snap, (recent(current, 1, business_day=DAY, counterparty="p-new"),), business_day=DAY), absolute) is None


def test_peer_groups_limit_the_quantile_to_the_named_groups():
    standard = parse_standard(_with("fan_in", "min_in_cny", '{ quantile = 0.99, floor = 1, peer_groups = ["individual:retail", "entity:unknown"] }'))
    assert standard.patterns["fan_in"].min_in_cny.peer_groups == ("individual:retail", "entity:unknown")
    peer = peer_with("in_7d", {50_000: 200})  # the group "individual:retail"
    inside = resolve(RelativeCny(quantile=0.9, floor=1, peer_groups=("individual:retail",)), "in_7d", a_view(peer))
    assert inside.basis["from"] == "quantile" and inside.minimum > 50_000_00
    outside = resolve(RelativeCny(quantile=0.9, floor=1, peer_groups=("entity:retail",)), "in_7d", a_view(peer))
    assert outside.minimum == 1_00 and outside.basis["quantile"] == {
        "q": 0.9,
        "metric": "in_7d",
        "value": None,
        "peer_group": "individual:retail",
        "unavailable": "the customer's peer group is not among the threshold's peer_groups",
    }
    no_baseline = resolve(RelativeCny(quantile=0.9, floor=1, peer_groups=("entity:retail",)), "in_7d", a_view())
    assert no_baseline.basis["quantile"]["peer_group"] == "individual:unknown"  # a customer without a profile


def test_own_history_counts_only_the_days_the_customer_has_been_active():
    t = tx("now", ts_ms=T0)

    def young(days: float) -> CustomerView:
        snap = snapshot(asof_ms=T0, active_since_ms=T0 - round(days * DAY_MS), w7d=WindowStats(in_fen=9_000_00), w90d=WindowStats(in_fen=22_000_00))
        return view(t, snap, (recent(t, 1, business_day=DAY),), business_day=DAY)

    # 20 days active: 13 days outside the 7-day window held 13,000: 1,000 a day, not 13,000 / 83
    line = resolve(RelativeCny(own_multiple=3, floor=5_000), "in_7d", young(19.5))
    assert line.basis["own"] == {"multiple": 3, "metric": "in_7d", "daily_average": 1_000.0, "history_days": 13, "span_days": 7, "value": 21_000.0}
    assert line.minimum == 21_000_01
    # 13 days: 6 days of history, too few: the part drops out and says so
    short = resolve(RelativeCny(own_multiple=3, floor=5_000), "in_7d", young(13))
    assert short.minimum == 5_000_00 and short.basis["from"] == "floor"
    assert short.basis["own"]["unavailable"] == "fewer than 7 days of own history outside the 7d window" and short.basis["own"]["history_days"] == 6
    # a brand-new customer (its first transaction): no history at all
    assert resolve(RelativeCny(own_multiple=3, floor=5_000), "in_7d", young(0)).basis["own"]["history_days"] == 0


def test_the_floor_is_the_lowest_line_resolve_can_give():
    assert floor_of(100_000.0, "in_7d") == 100_000_00 and floor_of(10, "payers_7d") == 10
    relative = RelativeCny(quantile=0.9, own_multiple=3, floor=20_000)
    assert floor_of(relative, "in_7d") == 20_000_00
    for v in (a_view(), a_view(peer_with("in_7d", {0: 500})), a_view(peer_with("in_7d", {90_000: 500}), w90d=WindowStats(in_fen=10**9))):
        assert resolve(relative, "in_7d", v).minimum >= floor_of(relative, "in_7d")
