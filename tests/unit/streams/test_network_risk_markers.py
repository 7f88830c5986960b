"""The network stage's risk markers as network-replay keeps them (apply_risk) and which fallen
markers the worker prunes (stale): pure, no Redis (net_risk.lua's parity: test_network_state)."""

from __future__ import annotations

from streams.network.replay import apply_risk
from streams.network.risk import stale

DAY = 86_400_000


def test_a_marker_keeps_since_across_high_levels_and_when_it_fell():
    risk: dict[str, str] = {}
    apply_risk(risk, "C1", "normal", 1)
    assert risk == {}  # never high-risk: no marker
    apply_risk(risk, "C1", "suspicious", 5)
    apply_risk(risk, "C1", "prohibited", 7)
    assert risk == {"C1": "prohibited@5"}
    apply_risk(risk, "C1", "watch", 9)
    apply_risk(risk, "C1", "normal", 11)  # a further change below keeps when it fell
    assert risk == {"C1": "normal@5@9"}
    apply_risk(risk, "C1", "suspicious", 15)  # high-risk again: a new episode
    assert risk == {"C1": "suspicious@15"}


def test_fallen_markers_older_than_the_kept_days_are_stale_by_event_time():
    markers = {"C1": f"normal@0@{DAY}", "C2": f"watch@{DAY}@{50 * DAY}", "C3": f"suspicious@{95 * DAY}", "C4": f"prohibited@{2 * DAY}"}
    assert stale(markers, 90) == ["C1"]  # the latest event time any marker carries is day 95
    assert stale(markers, 40) == ["C1", "C2"]
    assert stale({"C3": "suspicious@1"}, 0) == []  # a customer high-risk now is never stale
