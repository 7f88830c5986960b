"""high_risk_exposure on small hand-made graphs: new dealings with a high-risk customer, the
customers it draws in, and the long-standing relationships and small sums that are not exposure."""

from __future__ import annotations

from dataclasses import replace

from factors.network.graph import NetworkView
from factors.patterns import high_risk_exposure
from factors.patterns.high_risk_exposure import Params, detect
from streams.model import load_model
from tests.unit.factors.network.helpers import T0, Graph

DAY_H = 24
LISTED = {"CH": "prohibited@0"}
ONE = Params(min_exposed=1)
TWO = Params(min_exposed=2)


def at(hours: float) -> int:
    return T0 + round(hours * 3_600_000)


def test_a_new_dealing_with_a_listed_customer_names_both_parties():
    g = Graph()
    anchor = g.pay("id:CH", "id:C1", 8000, 0)
    hit = detect(g.view(anchor, "payer", risk=LISTED), ONE)
    assert hit is not None and hit.pattern == high_risk_exposure.ID
    assert {(p.party_id, p.role) for p in hit.parties} == {("id:CH", "high_risk_party"), ("id:C1", "exposed")}
    assert hit.metrics["exposed_customers"] == 1 and hit.metrics["total_cny"] == 8000.0 and hit.metrics["high_risk_level"] == "prohibited"
    assert hit.thresholds["min_exposed"] == 1 and hit.thresholds["min_history_days"] == 30


def test_the_rule_runs_at_the_high_risk_customers_copy_for_a_counterparty_not_high_risk():
    g = Graph()
    anchor = g.pay("id:CH", "id:C1", 8000, 0)
    assert detect(g.view(anchor, "payee", risk=LISTED), ONE) is None  # the exposed customer's copy
    assert detect(g.view(anchor, "payer", risk=LISTED | {"C1": "suspicious@0"}), ONE) is None
    outside = g.pay("id:CH", "id:X9", 8000, 1)  # an outside account is no customer of the bank
    assert detect(g.view(outside, "payer", risk=LISTED), ONE) is None


def test_one_exposed_customer_is_not_enough_by_default_two_are():
    g = Graph()
    g.pay("id:C1", "id:CH", 6000, 0)
    g.pay("id:CH", "id:X9", 9000, 5)  # an outside account is no customer of the bank: not counted
    second = g.pay("id:CH", "id:C2", 4000, 2 * DAY_H)
    assert detect(g.view(g.hops[0], "payee", risk=LISTED), TWO) is None
    hit = detect(g.view(second, "payer", risk=LISTED), TWO)
    assert hit is not None
    assert {(p.party_id, p.role) for p in hit.parties} == {("id:CH", "high_risk_party"), ("id:C1", "exposed"), ("id:C2", "exposed")}
    assert hit.metrics["exposed_customers"] == 2 and hit.metrics["transfers"] == 2 and hit.metrics["total_cny"] == 10000.0
    # the same episode found at the first customer's next transfer is the same case (same key)
    again = g.pay("id:C1", "id:CH", 2000, 3 * DAY_H)
    later = detect(g.view(again, "payee", risk=LISTED), TWO)
    assert later is not None and later.key == hit.key and later.metrics["transfers"] == 3
    # a transfer with a long-standing counterparty (not newly exposed) changes nothing
    g.pay("id:C0", "id:CH", 900, -50 * DAY_H)
    old = g.pay("id:CH", "id:C0", 9000, 4 * DAY_H)
    assert detect(g.view(old, "payer", risk=LISTED), TWO) is None


def test_the_default_standard_asks_for_two_exposed_customers_and_sets_the_defaults():
    params = load_model().standard.patterns[high_risk_exposure.ID]
    assert params.min_exposed == high_risk_exposure.DEFAULTS.min_exposed == 2
    assert (params.min_total_cny, params.lapsed_days, params.circle) == (high_risk_exposure.DEFAULTS.min_total_cny, high_risk_exposure.DEFAULTS.lapsed_days, True)


def test_a_long_standing_relationship_is_no_new_exposure():
    g = Graph()
    g.pay("id:C1", "id:CH", 3000, -50 * DAY_H)  # a household or landlord, long before the rating
    anchor = g.pay("id:C1", "id:CH", 3000, 0)
    risk = {"CH": f"suspicious@{at(-10 * DAY_H)}"}
    assert detect(g.view(anchor, "payee", risk=risk), ONE) is None


def test_a_relationship_first_seen_early_in_the_history_is_not_new():
    g = Graph()
    g.pay("id:C1", "id:CH", 3000, 0)
    anchor = g.pay("id:C1", "id:CH", 3000, 40 * DAY_H)
    view = g.view(anchor, "payee", risk=LISTED)
    # the helper's accounts are observed from 60 days before T0: the first transfer is new
    assert detect(view, ONE) is not None
    # observed only from 10 days before T0: the first transfer falls in the first 30 days, which say nothing about newness
    early = replace(view, origin_ms=at(-10 * DAY_H))
    assert detect(early, ONE) is None
    assert detect(replace(view, origin_ms=at(-30 * DAY_H)), ONE) is not None


def test_money_before_the_counterparty_became_high_risk_does_not_count():
    g = Graph()
    g.pay("id:C1", "id:CH", 20000, 0)
    anchor = g.pay("id:C1", "id:CH", 500, 3 * DAY_H)
    view = g.view(anchor, "payee", risk={"CH": f"suspicious@{at(DAY_H)}"})
    assert detect(view, ONE) is None  # CNY 500 since the rating, under the CNY 1,000 floor
    assert detect(view, Params(min_exposed=1, min_total_cny=500)) is not None


def test_a_relationship_that_began_after_the_rating_is_new_even_beyond_the_window():
    g = Graph()
    g.pay("id:C1", "id:CH", 4000, 0)
    anchor = g.pay("id:C1", "id:CH", 4000, 60 * DAY_H)
    hit = detect(g.view(anchor, "payee", risk={"CH": f"suspicious@{at(-DAY_H)}"}), ONE)
    assert hit is not None and hit.metrics["transfers"] == 1  # only the transfer within the 45-day window counts


def test_a_small_sum_is_not_close_dealing():
    g = Graph()
    g.pay("id:C1", "id:CH", 400, 0)
    anchor = g.pay("id:CH", "id:C2", 300, DAY_H)
    assert detect(g.view(anchor, "payer", risk=LISTED), TWO) is None


def test_another_high_risk_counterparty_is_not_counted_as_exposed():
    g = Graph()
    g.pay("id:C1", "id:CH", 6000, 0)
    anchor = g.pay("id:CH", "id:C2", 4000, DAY_H)
    risk = LISTED | {"C1": "suspicious@0"}
    assert detect(g.view(anchor, "payer", risk=risk), TWO) is None


def test_the_counting_reads_the_high_risk_customers_own_account_the_circle_test_the_exposed_ones():
    g = Graph()
    g.pay("id:C1", "id:CH", 6000, 0)
    anchor = g.pay("id:CH", "id:C2", 4000, DAY_H)
    full = g.view(anchor, "payer", risk=LISTED)
    own = NetworkView(anchor, "payer", {"id:CH": full.adj["id:CH"]}, {"id:C1": "C1", "id:C2": "C2"}, LISTED)
    hit = detect(own, Params(min_exposed=2, circle=False))
    assert hit is not None and own.missing == set()
    detect(own, TWO)  # the stage fetches what a rule asked for and not held, and evaluates again
    assert own.missing == {"id:C1", "id:C2"}


def test_transfers_shortly_before_the_rating_count_when_configured():
    g = Graph()
    g.pay("id:C1", "id:CH", 6000, 0)  # a day before the customer stage rated CH: the activity that drew C1 in
    anchor = g.pay("id:CH", "id:C2", 4000, 2 * DAY_H)
    view = g.view(anchor, "payer", risk={"CH": f"suspicious@{at(DAY_H)}"})
    assert detect(view, TWO) is None
    hit = detect(view, Params(min_exposed=2, before_rating_days=3))
    assert hit is not None and hit.metrics["exposed_customers"] == 2 and hit.thresholds["before_rating_days"] == 3
    assert detect(view, Params(min_exposed=2, before_rating_days=0.5)) is None  # C1's transfer is earlier than that


def test_a_customer_whose_level_fell_counts_during_the_monitoring_period():
    g = Graph()
    g.pay("id:CH", "id:C1", 6000, 0)
    anchor = g.pay("id:C2", "id:CH", 4000, 2 * DAY_H)
    fell = {"CH": f"normal@{at(-40 * DAY_H)}@{at(-10 * DAY_H)}"}  # suspicious from day -40, lowered on day -10
    view = g.view(anchor, "payee", risk=fell)
    assert detect(view, Params(min_exposed=2, lapsed_days=0)) is None  # without a monitoring period it is no longer high-risk
    hit = detect(view, Params(min_exposed=2, lapsed_days=30))
    assert hit is not None and hit.metrics["high_risk_level"] == "normal" and hit.metrics["high_risk_lapsed"] is True
    assert hit.thresholds["lapsed_days"] == 30
    assert detect(view, Params(min_exposed=2, lapsed_days=9)) is None  # the period ended a day before the first transfer counted
    # the measurements (the customer stage's exposure factor) read the level as of the edge only
    assert high_risk_exposure.risk_since(view, "CH") is None and high_risk_exposure.counted_since(view, "CH", 30) == at(-40 * DAY_H)


def test_a_marker_is_read_as_of_the_anchor():
    g = Graph()
    anchor = g.pay("id:CH", "id:C1", 6000, 0)
    view = g.view(anchor, "payer", risk={"CH": f"normal@{at(-5 * DAY_H)}@{at(DAY_H)}", "C1": f"suspicious@{at(DAY_H)}"})
    assert high_risk_exposure.risk_since(view, "CH") == at(-5 * DAY_H)  # it fell after the anchor: high-risk then
    assert high_risk_exposure.risk_since(view, "C1") is None  # rated after the anchor
    late = {"CH": f"normal@{at(-5 * DAY_H)}@{at(-9 * DAY_H)}"}  # a late posting dated the fall before the rating
    assert high_risk_exposure.counted_since(g.view(anchor, "payer", risk=late), "CH", 4) is None
    assert high_risk_exposure.counted_since(g.view(anchor, "payer", risk=late), "CH", 6) == at(-5 * DAY_H)


def test_a_customer_in_the_high_risk_customers_circle_is_not_drawn_in():
    g = Graph()
    g.pay("id:C3", "id:C1", 800, -40 * DAY_H)  # C1 and C2 both deal with C3 (a household's third member)
    g.pay("id:C2", "id:C3", 500, -35 * DAY_H)
    g.pay("id:CH", "id:C1", 6000, 0)
    g.pay("id:C3", "id:CH", 700, DAY_H)
    anchor = g.pay("id:C2", "id:CH", 4000, 2 * DAY_H)
    view = g.view(anchor, "payee", risk=LISTED)
    assert detect(view, Params(min_exposed=2, circle=False)) is not None  # without the circle test: C1 and C2 are new counterparties of CH
    circle = Params(min_exposed=2, circle=True)
    assert detect(view, circle) is None
    assert high_risk_exposure.in_circle(view, "id:CH", "id:C1") and high_risk_exposure.in_circle(view, "id:CH", "id:C2")
    # a shared hub (a utility, an acquirer) is no circle
    assert detect(g.view(anchor, "payee", risk=LISTED, hub={"id:C3"}), circle) is not None


def test_strangers_drawn_in_are_exposed_with_the_circle_test():
    g = Graph()
    g.pay("id:C1", "id:M1", 300, -20 * DAY_H)  # both pay a shop that is a hub
    g.pay("id:CH", "id:M1", 200, -10 * DAY_H)
    g.pay("id:CH", "id:C1", 6000, 0)
    anchor = g.pay("id:C2", "id:CH", 4000, 2 * DAY_H)
    hit = detect(g.view(anchor, "payee", risk=LISTED, hub={"id:M1"}), Params(min_exposed=2, circle=True))
    assert hit is not None and hit.metrics["exposed_customers"] == 2 and hit.thresholds["circle"] is True
