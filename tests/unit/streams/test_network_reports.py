"""Which findings of an episode the network stage reports again (streams.network.events.report_record):
pure, no Redis; the engine records what it returns in aml:net:e:{detection_key}."""

from __future__ import annotations

from factors.network.graph import NetworkHit, Party
from streams.network.events import party_marks, report_record

DAY = 86_400_000
RETAIN = 90 * DAY


def hit(*parties: tuple[str, str]) -> NetworkHit:
    return NetworkHit("closed_group", "k", 0, DAY, {}, {}, tuple(Party(p, None, role, ()) for p, role in parties), (), "medium")


def test_alternating_party_sets_of_one_episode_are_reported_once_each_new_party_once():
    """The demo of 2026-12-01: edges out of event-time order found one closed group at 13 anchors
    whose party sets alternated (with C172, with C54, with C172, ...): each was a new event."""
    a = party_marks(hit(("id:C1", "member"), ("id:C9", "member"), ("id:C172", "member")))
    b = party_marks(hit(("id:C1", "member"), ("id:C9", "member"), ("id:C54", "member")))
    record = None
    reported = []
    for n, marks in enumerate([a, b, a, b, a, b]):
        after = report_record(marks, record, n * 1_000, RETAIN)
        reported.append(after is not None)
        record = after or record
    assert reported == [True, True, False, False, False, False]
    assert record is not None and set(record[0].split(",")) == a | b and record[1] == 1_000


def test_a_new_role_is_news_a_subset_is_not_and_after_the_retention_all_is_news():
    full = party_marks(hit(("id:C1", "origin"), ("id:C2", "intermediary")))
    record = report_record(full, None, 10 * DAY, RETAIN)
    assert record is not None
    assert report_record(party_marks(hit(("id:C1", "origin"))), record, 11 * DAY, RETAIN) is None
    assert report_record(party_marks(hit(("id:C1", "intermediary"))), record, 11 * DAY, RETAIN) is not None
    later = report_record(full, record, 10 * DAY + RETAIN + 1, RETAIN)
    assert later == (record[0], 10 * DAY + RETAIN + 1)
    # an anchor earlier than the record (out of order) keeps the record's time
    assert report_record(party_marks(hit(("id:C3", "member"))), record, 5 * DAY, RETAIN)[1] == 10 * DAY
